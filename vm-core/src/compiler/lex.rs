//! Lexer, the counterpart of PUC Lua's `llex.c`: source bytes to tokens.
//!
//! Tokens are small `Copy` values. A name's or numeral's text stays in the
//! source (read it with [`Lexer::token_text`]); a string literal's bytes sit
//! in one buffer reused from literal to literal ([`Lexer::string_value`]).
//! That buffer holds exactly what `llex.c`'s buffer holds (delimiters kept,
//! escapes decoded as they are read), so that error messages quote the same
//! text as PUC Lua: `unfinished string near '"abc'`.
//!
//! Errors are formatted as `luaX_syntaxerror` does:
//! `chunkname:line: message near 'token'`.

use std::borrow::Cow;
use std::cell::Cell;

use super::SyntaxError;
use crate::number::str_to_number;
use crate::value::Value;

/// A token. Names and string literals carry no payload: their text is in
/// the lexer ([`Lexer::token_text`], [`Lexer::string_value`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Token {
    // Reserved words.
    And,
    Break,
    Do,
    Else,
    ElseIf,
    End,
    False,
    For,
    Function,
    Goto,
    If,
    In,
    Local,
    Nil,
    Not,
    Or,
    Repeat,
    Return,
    Then,
    True,
    Until,
    While,
    // Symbols of more than one character.
    /// `//`
    IDiv,
    /// `..`
    Concat,
    /// `...`
    Dots,
    /// `==`
    Eq,
    /// `>=`
    Ge,
    /// `<=`
    Le,
    /// `~=`
    Ne,
    /// `<<`
    Shl,
    /// `>>`
    Shr,
    /// `::`
    DbColon,
    /// End of the source.
    Eof,
    /// A float numeral.
    Float(f64),
    /// An integer numeral.
    Int(i64),
    /// A name that is not a reserved word.
    Name,
    /// A string literal, short or long.
    Str,
    /// Any other byte: one-character symbols (`+`, `{`, ...) and stray bytes
    /// such as `@` or `\0`, which the parser rejects.
    Char(u8),
}

impl Token {
    /// The source spelling of reserved words and multi-character symbols.
    fn spelling(self) -> Option<&'static str> {
        use Token::*;
        Some(match self {
            And => "and",
            Break => "break",
            Do => "do",
            Else => "else",
            ElseIf => "elseif",
            End => "end",
            False => "false",
            For => "for",
            Function => "function",
            Goto => "goto",
            If => "if",
            In => "in",
            Local => "local",
            Nil => "nil",
            Not => "not",
            Or => "or",
            Repeat => "repeat",
            Return => "return",
            Then => "then",
            True => "true",
            Until => "until",
            While => "while",
            IDiv => "//",
            Concat => "..",
            Dots => "...",
            Eq => "==",
            Ge => ">=",
            Le => "<=",
            Ne => "~=",
            Shl => "<<",
            Shr => ">>",
            DbColon => "::",
            Eof | Float(_) | Int(_) | Name | Str | Char(_) => return None,
        })
    }

    /// How error messages name a kind of token (`luaX_token2str`):
    /// `'end'`, `'='`, `'<\1>'`, `<name>`, `<eof>`.
    pub(crate) fn describe(self) -> Cow<'static, str> {
        match self {
            Token::Eof => "<eof>".into(),
            Token::Float(_) => "<number>".into(),
            Token::Int(_) => "<integer>".into(),
            Token::Name => "<name>".into(),
            Token::Str => "<string>".into(),
            Token::Char(c) if is_print(c) => format!("'{}'", char::from(c)).into(),
            Token::Char(c) => format!("'<\\{c}>'").into(),
            _ => format!("'{}'", self.spelling().unwrap_or_default()).into(),
        }
    }
}

/// The reserved word spelled `name`, if it is one.
fn reserved_word(name: &[u8]) -> Option<Token> {
    use Token::*;
    Some(match name {
        b"and" => And,
        b"break" => Break,
        b"do" => Do,
        b"else" => Else,
        b"elseif" => ElseIf,
        b"end" => End,
        b"false" => False,
        b"for" => For,
        b"function" => Function,
        b"goto" => Goto,
        b"if" => If,
        b"in" => In,
        b"local" => Local,
        b"nil" => Nil,
        b"not" => Not,
        b"or" => Or,
        b"repeat" => Repeat,
        b"return" => Return,
        b"then" => Then,
        b"true" => True,
        b"until" => Until,
        b"while" => While,
        _ => return None,
    })
}

/// True for the words the lexer reserves (the pretty-printer uses it to
/// decide whether a string can be written as a name).
#[cfg(test)]
pub(crate) fn is_reserved(name: &[u8]) -> bool {
    reserved_word(name).is_some()
}

// Character classes of `lctype.h` (ASCII only, as PUC Lua builds them).

/// May start a name.
pub(crate) fn is_alpha(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

/// May continue a name.
pub(crate) fn is_alnum(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Printable ASCII, quoted as itself in messages.
fn is_print(c: u8) -> bool {
    (0x20..0x7f).contains(&c)
}

/// C's `isspace` (skipped by `\z`).
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn is_newline(c: Option<u8>) -> bool {
    matches!(c, Some(b'\n' | b'\r'))
}

/// PUC Lua refuses a chunk whose line count reaches `INT_MAX`.
const MAX_LINE: u32 = i32::MAX as u32;

/// What an error message quotes after "near".
enum Near<'a> {
    /// No "near" part at all.
    Nothing,
    /// `near <eof>`
    Eof,
    /// `near 'text'`
    Text(&'a [u8]),
}

/// The lexer state: a cursor over the source plus the last token's text.
pub(crate) struct Lexer<'s> {
    src: &'s [u8],
    chunkname: &'s str,
    /// Index of the next unread byte (`ls->current`).
    pos: usize,
    /// Current line (`ls->linenumber`): after a token is read, the line
    /// where it ends.
    line: u32,
    /// Where the last token starts in `src`.
    start: usize,
    /// The line at `start`.
    start_line: u32,
    /// `llex.c`'s buffer for the last string literal or long bracket.
    buf: Vec<u8>,
    /// Length of the delimiter at each end of `buf` (1 for a quoted
    /// string, level + 2 for a long one).
    delim: usize,
    /// Whether `src` is only the text received so far (a chunk read
    /// piece by piece): its end is not the chunk's end.
    partial: bool,
    /// The allocator refused the buffer room for the token being read.
    refused: bool,
    /// Set when a partial source's end was read as if it ended the chunk:
    /// whatever was lexed or parsed since may change with more text.
    starved: Cell<bool>,
    /// Where the blanks (spaces, line breaks, comments) that end a
    /// partial source start and where the last one read whole ends (each
    /// with its line), once the end was read between tokens.
    blank_tail: Option<((usize, u32), (usize, u32))>,
    /// A comment that a partial source's end cut short.
    open_comment: Option<OpenComment>,
}

/// A comment running to the end of a partial source: its text matters
/// only for where it ends and the line breaks it holds, so a chunk read in
/// pieces need not keep it (`ChunkStream`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum OpenComment {
    /// A short comment starting at `start` (known not to be long).
    Short { start: usize },
    /// A long comment whose text starts at `body`; the last `tail` bytes
    /// may begin its closing bracket.
    Long { body: usize, tail: usize },
}

/// The part of the lexer state that a lookahead must restore.
#[derive(Clone, Copy)]
struct Mark {
    pos: usize,
    line: u32,
    start: usize,
    start_line: u32,
}

impl<'s> Lexer<'s> {
    /// A lexer at line 1 of `src`; `chunkname` prefixes error messages.
    pub(crate) fn new(src: &'s [u8], chunkname: &'s str) -> Self {
        Lexer {
            src,
            chunkname,
            pos: 0,
            line: 1,
            start: 0,
            start_line: 1,
            buf: Vec::new(),
            delim: 0,
            partial: false,
            refused: false,
            starved: Cell::new(false),
            blank_tail: None,
            open_comment: None,
        }
    }

    /// A lexer over the rest of a chunk, which starts at line `line`.
    pub(crate) fn resume(src: &'s [u8], chunkname: &'s str, line: u32) -> Self {
        Lexer {
            line,
            start_line: line,
            ..Lexer::new(src, chunkname)
        }
    }

    /// A lexer over text received so far, starting at line `line`: the
    /// end of `src` marks the lexer starved (see [`Lexer::starved`])
    /// instead of ending the chunk.
    pub(crate) fn partial(src: &'s [u8], chunkname: &'s str, line: u32) -> Self {
        Lexer {
            partial: true,
            ..Lexer::resume(src, chunkname, line)
        }
    }

    /// Whether a partial source's end was reached: the tokens read since
    /// the lexer started may be cut short, and the end is not the chunk's.
    pub(crate) fn starved(&self) -> bool {
        self.starved.get()
    }

    /// If a partial source's end was read between tokens: the range of
    /// the blanks before it that were read whole, and the line breaks they
    /// hold. As many line breaks (or a space) can replace them.
    pub(crate) fn blank_tail(&self) -> Option<(std::ops::Range<usize>, u32)> {
        self.blank_tail
            .map(|((from, line), (to, end_line))| (from..to, end_line - line))
    }

    /// The comment that the end of a partial source cut short, if any.
    pub(crate) fn open_comment(&self) -> Option<OpenComment> {
        self.open_comment
    }

    /// Length of the last token's spelling.
    pub(crate) fn token_len(&self) -> usize {
        self.pos - self.start
    }

    /// Where the last token starts in the source, and the line there.
    pub(crate) fn token_start(&self) -> (usize, u32) {
        (self.start, self.start_line)
    }

    /// The current line (`ls->linenumber`): the line where the last token
    /// read ends.
    pub(crate) fn line(&self) -> u32 {
        self.line
    }

    /// Source text of the last token read (a name's or numeral's spelling).
    pub(crate) fn token_text(&self) -> &'s [u8] {
        &self.src[self.start..self.pos]
    }

    /// Contents of the last string literal read, escapes decoded.
    pub(crate) fn string_value(&self) -> &[u8] {
        let end = self.buf.len().saturating_sub(self.delim);
        self.buf.get(self.delim..end).unwrap_or_default()
    }

    /// The kind of the token after the last one read, leaving the lexer
    /// where it was (`luaX_lookahead`, used after a name in a table
    /// constructor). The last token must be a name or a symbol: a string's
    /// contents would be overwritten.
    pub(crate) fn peek(&mut self) -> Result<Token, SyntaxError> {
        let mark = Mark {
            pos: self.pos,
            line: self.line,
            start: self.start,
            start_line: self.start_line,
        };
        let token = self.next_token();
        self.pos = mark.pos;
        self.line = mark.line;
        self.start = mark.start;
        self.start_line = mark.start_line;
        token
    }

    /// Reads the next token (`llex`).
    pub(crate) fn next_token(&mut self) -> Result<Token, SyntaxError> {
        let token = self.scan_token();
        if std::mem::take(&mut self.refused) {
            return Err(super::parse::out_of_memory());
        }
        token
    }

    fn scan_token(&mut self) -> Result<Token, SyntaxError> {
        let from = (self.pos, self.line);
        // The end of the last blank read whole: one that reached the end
        // (a comment, a `\r` that a `\n` may follow) may go on.
        let mut whole = from;
        loop {
            if !self.starved() {
                whole = (self.pos, self.line);
            }
            self.start = self.pos;
            self.start_line = self.line;
            let Some(c) = self.current() else {
                if whole.0 > from.0 {
                    self.blank_tail = Some((from, whole));
                }
                return Ok(Token::Eof);
            };
            match c {
                b'\n' | b'\r' => self.inc_line()?,
                b' ' | b'\t' | 0x0b | 0x0c => self.pos += 1,
                b'-' if self.byte_at(1) == Some(b'-') => self.skip_comment()?,
                b'[' => return self.read_bracket(),
                b'"' | b'\'' => {
                    self.read_string(c)?;
                    return Ok(Token::Str);
                }
                b'.' => return self.read_dot(),
                b'0'..=b'9' => return self.read_numeral(),
                _ if is_alpha(c) => return Ok(self.read_name()),
                _ => return Ok(self.read_symbol(c)),
            }
        }
    }

    // ---------------------------------------------------------------------
    // Errors

    /// A syntax error about the token `current` (`luaX_syntaxerror`): the
    /// message is followed by "near" and the token as written in the source.
    #[cold]
    #[inline(never)]
    pub(crate) fn syntax_error(&self, msg: &str, current: Token) -> SyntaxError {
        match current {
            Token::Name | Token::Int(_) | Token::Float(_) => {
                self.error(msg, Near::Text(self.token_text()))
            }
            Token::Str => self.error(msg, Near::Text(&self.buf)),
            // Token 0 is false in C: `lexerror` then omits the "near" part.
            Token::Char(0) => self.error(msg, Near::Nothing),
            _ => SyntaxError(format!(
                "{}:{}: {} near {}",
                self.chunkname,
                self.line,
                msg,
                current.describe()
            )),
        }
    }

    /// An error with no "near" part (`luaK_semerror`).
    #[cold]
    #[inline(never)]
    pub(crate) fn plain_error(&self, msg: &str) -> SyntaxError {
        self.error(msg, Near::Nothing)
    }

    /// `lexerror`: `chunkname:line: msg near 'text'`. The text ends at its
    /// first NUL byte, as C's `%s` does.
    #[cold]
    #[inline(never)]
    fn error(&self, msg: &str, near: Near<'_>) -> SyntaxError {
        let mut text = format!("{}:{}: {}", self.chunkname, self.line, msg);
        match near {
            Near::Nothing => {}
            Near::Eof => text.push_str(" near <eof>"),
            Near::Text(bytes) => {
                let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
                text.push_str(" near '");
                text.push_str(&String::from_utf8_lossy(&bytes[..end]));
                text.push('\'');
            }
        }
        SyntaxError(text)
    }

    /// An error inside a string literal, quoting the buffer read so far.
    #[cold]
    #[inline(never)]
    fn string_error(&self, msg: &str) -> SyntaxError {
        self.error(msg, Near::Text(&self.buf))
    }

    /// `esccheck` failed: quote the offending byte too, then fail.
    #[cold]
    #[inline(never)]
    fn escape_error(&mut self, msg: &str) -> SyntaxError {
        if self.current().is_some() {
            self.save_and_next();
        }
        self.string_error(msg)
    }

    // ---------------------------------------------------------------------
    // Cursor

    fn current(&self) -> Option<u8> {
        let c = self.src.get(self.pos).copied();
        if c.is_none() {
            self.at_end();
        }
        c
    }

    fn byte_at(&self, offset: usize) -> Option<u8> {
        let c = self.src.get(self.pos + offset).copied();
        if c.is_none() {
            self.at_end();
        }
        c
    }

    /// The end of `src` was read.
    #[cold]
    fn at_end(&self) {
        if self.partial {
            self.starved.set(true);
        }
    }

    /// Consumes the current byte if it is `c`.
    fn eat(&mut self, c: u8) -> bool {
        let found = self.current() == Some(c);
        if found {
            self.pos += 1;
        }
        found
    }

    /// Appends the current byte to the buffer and consumes it.
    fn save_and_next(&mut self) {
        if let Some(c) = self.current() {
            self.save(c);
            self.pos += 1;
        }
    }

    /// Appends `c` to the buffer. A token's text may be as long as the
    /// chunk: a growth the allocator refuses makes the token "not enough
    /// memory" (`refused`) instead of an abort.
    fn save(&mut self, c: u8) {
        let buf = &mut self.buf;
        // Once refused, the rest of the token is only scanned (asking
        // again at every byte made a long token crawl).
        if self.refused {
            return;
        }
        if buf.len() == buf.capacity() && buf.try_reserve(buf.len().max(32)).is_err() {
            self.refused = true;
            return;
        }
        buf.push(c);
    }

    /// Consumes a line break: `\n`, `\r`, `\r\n` or `\n\r`.
    fn inc_line(&mut self) -> Result<(), SyntaxError> {
        let first = self.current();
        self.pos += 1;
        if is_newline(self.current()) && self.current() != first {
            self.pos += 1;
        }
        self.line += 1;
        if self.line >= MAX_LINE {
            return Err(self.plain_error("chunk has too many lines"));
        }
        Ok(())
    }

    // ---------------------------------------------------------------------
    // Tokens

    fn read_name(&mut self) -> Token {
        let len = self.src[self.pos..]
            .iter()
            .take_while(|&&c| is_alnum(c))
            .count();
        self.pos += len;
        if self.pos == self.src.len() {
            self.at_end();
        }
        reserved_word(self.token_text()).unwrap_or(Token::Name)
    }

    /// Symbols other than `[`, `.` and `--` (which start longer tokens).
    fn read_symbol(&mut self, c: u8) -> Token {
        self.pos += 1;
        let (second, token) = match c {
            b'=' => (b'=', Token::Eq),
            b'<' if self.current() == Some(b'<') => (b'<', Token::Shl),
            b'<' => (b'=', Token::Le),
            b'>' if self.current() == Some(b'>') => (b'>', Token::Shr),
            b'>' => (b'=', Token::Ge),
            b'/' => (b'/', Token::IDiv),
            b'~' => (b'=', Token::Ne),
            b':' => (b':', Token::DbColon),
            _ => return Token::Char(c),
        };
        if self.eat(second) {
            token
        } else {
            Token::Char(c)
        }
    }

    /// `.`, `..`, `...` or a numeral such as `.5`.
    fn read_dot(&mut self) -> Result<Token, SyntaxError> {
        self.pos += 1;
        if self.eat(b'.') {
            return Ok(if self.eat(b'.') {
                Token::Dots
            } else {
                Token::Concat
            });
        }
        match self.current() {
            Some(c) if c.is_ascii_digit() => self.read_numeral(),
            _ => Ok(Token::Char(b'.')),
        }
    }

    /// Reads the characters of a numeral as `read_numeral` does (digits,
    /// dots, exponent marks with their signs, and one touching letter so
    /// that `3x` is malformed), then converts them with `str_to_number`.
    fn read_numeral(&mut self) -> Result<Token, SyntaxError> {
        let first = self.current();
        self.pos += 1;
        let mut exponent = *b"Ee";
        if first == Some(b'0') && matches!(self.current(), Some(b'x' | b'X')) {
            self.pos += 1;
            exponent = *b"Pp";
        }
        while let Some(c) = self.current() {
            if exponent.contains(&c) {
                self.pos += 1;
                if matches!(self.current(), Some(b'+' | b'-')) {
                    self.pos += 1;
                }
            } else if c.is_ascii_hexdigit() || c == b'.' {
                self.pos += 1;
            } else {
                break;
            }
        }
        if self.current().is_some_and(is_alpha) {
            self.pos += 1;
        }
        match str_to_number(self.token_text()) {
            Some(Value::Int(i)) => Ok(Token::Int(i)),
            Some(Value::Num(f)) => Ok(Token::Float(f)),
            _ => Err(self.error("malformed number", Near::Text(self.token_text()))),
        }
    }

    /// Reads `[` followed by `=`s into the buffer (`skip_sep`). Returns the
    /// level + 2 of a well-formed long bracket, 1 for a lone bracket, 0 for
    /// `[=` not followed by a second bracket.
    fn skip_sep(&mut self) -> usize {
        let bracket = self.current();
        self.save_and_next();
        let mut count = 0;
        while self.current() == Some(b'=') {
            self.save_and_next();
            count += 1;
        }
        if self.current() == bracket {
            count + 2
        } else if count == 0 {
            1
        } else {
            0
        }
    }

    /// `[`, or a long string `[==[ ... ]==]`.
    fn read_bracket(&mut self) -> Result<Token, SyntaxError> {
        self.buf.clear();
        match self.skip_sep() {
            1 => Ok(Token::Char(b'[')),
            0 => Err(self.string_error("invalid long string delimiter")),
            sep => {
                self.read_long_string(sep, true)?;
                Ok(Token::Str)
            }
        }
    }

    /// Skips `--` and the comment after it, short or long.
    fn skip_comment(&mut self) -> Result<(), SyntaxError> {
        let start = self.pos;
        self.pos += 2;
        if self.current() == Some(b'[') {
            self.buf.clear();
            let sep = self.skip_sep();
            if sep >= 2 {
                let body = self.pos + 1;
                let r = self.read_long_string(sep, false);
                if self.partial && r.is_err() && self.pos == self.src.len() {
                    // Unfinished; a closing `]=*` may have begun.
                    let tail = sep - 1;
                    self.open_comment = Some(OpenComment::Long { body, tail });
                }
                return r;
            }
        }
        let body = self.pos;
        let len = self.src[self.pos..]
            .iter()
            .take_while(|&&c| c != b'\n' && c != b'\r')
            .count();
        self.pos += len;
        if self.pos == self.src.len() {
            self.at_end();
            // Past its first byte, the text could not have made a long
            // bracket with more text.
            if self.partial && body < self.pos {
                self.open_comment = Some(OpenComment::Short { start });
            }
        }
        Ok(())
    }

    /// Reads a long string or comment after its opening `[==` (the current
    /// byte is the second `[`). A newline right after the opening bracket
    /// is skipped; line breaks inside are stored as `\n`. Only strings
    /// (`keep`) are buffered.
    fn read_long_string(&mut self, sep: usize, keep: bool) -> Result<(), SyntaxError> {
        let first_line = self.line;
        self.save_and_next();
        if is_newline(self.current()) {
            self.inc_line()?;
        }
        loop {
            match self.current() {
                None => {
                    let what = if keep { "string" } else { "comment" };
                    let msg = format!("unfinished long {what} (starting at line {first_line})");
                    return Err(self.error(&msg, Near::Eof));
                }
                Some(b']') => {
                    if self.skip_sep() == sep {
                        self.save_and_next();
                        break;
                    }
                }
                Some(b'\n' | b'\r') => {
                    self.save(b'\n');
                    self.inc_line()?;
                }
                Some(_) if keep => self.save_and_next(),
                Some(_) => self.pos += 1,
            }
            if !keep {
                // A comment's text is never needed: keep the buffer small.
                self.buf.clear();
            }
        }
        self.delim = sep;
        Ok(())
    }

    /// Reads a quoted string (`read_string`), decoding escapes.
    fn read_string(&mut self, quote: u8) -> Result<(), SyntaxError> {
        self.buf.clear();
        self.save_and_next();
        loop {
            match self.current() {
                Some(c) if c == quote => break,
                None => return Err(self.error("unfinished string", Near::Eof)),
                Some(b'\n' | b'\r') => return Err(self.string_error("unfinished string")),
                Some(b'\\') => self.read_escape()?,
                Some(_) => self.save_and_next(),
            }
        }
        self.save_and_next();
        self.delim = 1;
        Ok(())
    }

    /// Decodes one escape sequence; the current byte is the backslash. The
    /// backslash stays in the buffer until the escape is known to be valid,
    /// so that errors quote it.
    fn read_escape(&mut self) -> Result<(), SyntaxError> {
        self.save_and_next();
        let Some(c) = self.current() else {
            // The string loop reports the unfinished string.
            return Ok(());
        };
        let decoded = match c {
            b'a' => 0x07,
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'v' => 0x0b,
            b'\\' | b'"' | b'\'' => c,
            b'x' => self.read_hex_escape()?,
            b'u' => return self.read_utf8_escape(),
            b'z' => {
                self.buf.pop();
                self.pos += 1;
                return self.skip_spaces();
            }
            b'\n' | b'\r' => {
                self.inc_line()?;
                self.replace_backslash(b'\n');
                return Ok(());
            }
            _ if c.is_ascii_digit() => {
                let value = self.read_decimal_escape()?;
                self.replace_backslash(value);
                return Ok(());
            }
            _ => return Err(self.escape_error("invalid escape sequence")),
        };
        self.pos += 1;
        self.replace_backslash(decoded);
        Ok(())
    }

    /// Replaces the backslash at the end of the buffer by the decoded byte.
    fn replace_backslash(&mut self, decoded: u8) {
        self.buf.pop();
        self.buf.push(decoded);
    }

    /// `\z`: skips the following white space, line breaks included.
    fn skip_spaces(&mut self) -> Result<(), SyntaxError> {
        while let Some(c) = self.current().filter(|&c| is_space(c)) {
            if c == b'\n' || c == b'\r' {
                self.inc_line()?;
            } else {
                self.pos += 1;
            }
        }
        Ok(())
    }

    /// Saves the current byte (the `x` or a digit read before) and checks
    /// that the next one is a hex digit (`gethexa`).
    fn hex_digit(&mut self) -> Result<u8, SyntaxError> {
        self.save_and_next();
        match self.current() {
            Some(c) if c.is_ascii_hexdigit() => Ok(hex_value(c)),
            _ => Err(self.escape_error("hexadecimal digit expected")),
        }
    }

    /// `\xXX`: exactly two hex digits. Leaves the second digit current.
    fn read_hex_escape(&mut self) -> Result<u8, SyntaxError> {
        let high = self.hex_digit()?;
        let low = self.hex_digit()?;
        // Drop the `x` and first digit saved for error messages.
        self.buf.truncate(self.buf.len().saturating_sub(2));
        Ok(high << 4 | low)
    }

    /// `\ddd`: up to three decimal digits, at most 255.
    fn read_decimal_escape(&mut self) -> Result<u8, SyntaxError> {
        let mut value: u32 = 0;
        let mut digits = 0;
        while digits < 3 {
            match self.current() {
                Some(c) if c.is_ascii_digit() => {
                    value = 10 * value + u32::from(c - b'0');
                    self.save_and_next();
                    digits += 1;
                }
                _ => break,
            }
        }
        let Ok(byte) = u8::try_from(value) else {
            return Err(self.escape_error("decimal escape too large"));
        };
        self.buf.truncate(self.buf.len().saturating_sub(digits));
        Ok(byte)
    }

    /// `\u{XXX}`: a code point below 2^31, written as (extended) UTF-8 of
    /// up to six bytes.
    fn read_utf8_escape(&mut self) -> Result<(), SyntaxError> {
        // Bytes saved for error messages: `\`, `u`, `{` and the digits.
        let mut saved = 4;
        self.save_and_next();
        if self.current() != Some(b'{') {
            return Err(self.escape_error("missing '{'"));
        }
        let mut value = u32::from(self.hex_digit()?);
        loop {
            self.save_and_next();
            let Some(digit) = self.current().filter(u8::is_ascii_hexdigit) else {
                break;
            };
            saved += 1;
            if value > 0x7FFF_FFFF >> 4 {
                return Err(self.escape_error("UTF-8 value too large"));
            }
            value = value << 4 | u32::from(hex_value(digit));
        }
        if self.current() != Some(b'}') {
            return Err(self.escape_error("missing '}'"));
        }
        self.pos += 1;
        self.buf.truncate(self.buf.len().saturating_sub(saved));
        push_utf8(&mut self.buf, value);
        Ok(())
    }
}

fn hex_value(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        _ => (c | 0x20) - b'a' + 10,
    }
}

/// Appends `code` (below 2^31) in UTF-8 extended to six bytes, as
/// `luaO_utf8esc` does.
fn push_utf8(out: &mut Vec<u8>, mut code: u32) {
    if code < 0x80 {
        out.push(code as u8);
        return;
    }
    let mut tail = [0u8; 5];
    let mut n = 0;
    // Largest value that still fits in the first byte beside its length bits.
    let mut first_max = 0x3f;
    while code > first_max {
        tail[n] = 0x80 | (code & 0x3f) as u8;
        n += 1;
        code >>= 6;
        first_max >>= 1;
    }
    out.push(((!first_max << 1) | code) as u8);
    out.extend(tail[..n].iter().rev());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every token of `src` up to the end, or the first error.
    fn lex_all(src: &[u8]) -> Result<Vec<Token>, SyntaxError> {
        let mut lexer = Lexer::new(src, "src");
        let mut tokens = Vec::new();
        loop {
            match lexer.next_token()? {
                Token::Eof => return Ok(tokens),
                token => tokens.push(token),
            }
        }
    }

    fn tokens(src: &str) -> Vec<Token> {
        lex_all(src.as_bytes()).unwrap()
    }

    fn lex_error(src: &[u8]) -> String {
        lex_all(src).unwrap_err().0
    }

    /// The value of the string literal that `src` consists of.
    fn string(src: &[u8]) -> Vec<u8> {
        let mut lexer = Lexer::new(src, "src");
        assert_eq!(lexer.next_token().unwrap(), Token::Str, "{src:?}");
        let value = lexer.string_value().to_vec();
        assert_eq!(lexer.next_token().unwrap(), Token::Eof, "{src:?}");
        value
    }

    /// The single numeral `src` consists of.
    fn numeral(src: &str) -> Token {
        let all = tokens(src);
        assert_eq!(all.len(), 1, "{src}: {all:?}");
        all[0]
    }

    #[test]
    fn reserved_words_and_names() {
        use Token::*;
        let src = "and break do else elseif end false for function goto if in \
                   local nil not or repeat return then true until while";
        let expected = [
            And, Break, Do, Else, ElseIf, End, False, For, Function, Goto, If, In, Local, Nil, Not,
            Or, Repeat, Return, Then, True, Until, While,
        ];
        assert_eq!(tokens(src), expected);
        assert_eq!(tokens("And _end end_ goto1 _ x9"), [Name; 6]);
        let mut lexer = Lexer::new(b"  _Foo9 bar", "src");
        assert_eq!(lexer.next_token().unwrap(), Name);
        assert_eq!(lexer.token_text(), b"_Foo9");
    }

    #[test]
    fn symbols() {
        use Token::*;
        let src = "+ - * / // % ^ # & ~ | << >> == ~= <= >= < > = ( ) { } [ ] :: ; : , . .. ...";
        let expected = [
            Char(b'+'),
            Char(b'-'),
            Char(b'*'),
            Char(b'/'),
            IDiv,
            Char(b'%'),
            Char(b'^'),
            Char(b'#'),
            Char(b'&'),
            Char(b'~'),
            Char(b'|'),
            Shl,
            Shr,
            Eq,
            Ne,
            Le,
            Ge,
            Char(b'<'),
            Char(b'>'),
            Char(b'='),
            Char(b'('),
            Char(b')'),
            Char(b'{'),
            Char(b'}'),
            Char(b'['),
            Char(b']'),
            DbColon,
            Char(b';'),
            Char(b':'),
            Char(b','),
            Char(b'.'),
            Concat,
            Dots,
        ];
        assert_eq!(tokens(src), expected);
        // Longest match, as `llex` reads them.
        assert_eq!(tokens("...."), [Dots, Char(b'.')]);
        assert_eq!(tokens("<<=>>="), [Shl, Char(b'='), Shr, Char(b'=')]);
        assert_eq!(tokens("~==:::"), [Ne, Char(b'='), DbColon, Char(b':')]);
        assert_eq!(tokens("a-1"), [Name, Char(b'-'), Int(1)]);
        // Stray bytes are tokens the parser rejects.
        assert_eq!(
            lex_all(b"@$\0\x80").unwrap(),
            [Char(b'@'), Char(b'$'), Char(0), Char(0x80)]
        );
    }

    #[test]
    fn numerals() {
        assert_eq!(numeral("0"), Token::Int(0));
        assert_eq!(numeral("42"), Token::Int(42));
        assert_eq!(numeral("9223372036854775807"), Token::Int(i64::MAX));
        // A decimal integer that overflows becomes a float.
        assert_eq!(
            numeral("9223372036854775808"),
            Token::Float(9_223_372_036_854_775_808.0)
        );
        // Hex integers wrap modulo 2^64.
        assert_eq!(numeral("0xff"), Token::Int(255));
        assert_eq!(numeral("0XA"), Token::Int(10));
        assert_eq!(numeral("0xffffffffffffffff"), Token::Int(-1));
        assert_eq!(numeral("0x10000000000000000"), Token::Int(0));
        assert_eq!(numeral("3.0"), Token::Float(3.0));
        assert_eq!(numeral("3."), Token::Float(3.0));
        assert_eq!(numeral(".5"), Token::Float(0.5));
        assert_eq!(numeral("1e2"), Token::Float(100.0));
        assert_eq!(numeral("1E+2"), Token::Float(100.0));
        assert_eq!(numeral("25e-2"), Token::Float(0.25));
        assert_eq!(numeral("0x.8"), Token::Float(0.5));
        assert_eq!(numeral("0xA.8p1"), Token::Float(21.0));
        assert_eq!(numeral("0x1P-2"), Token::Float(0.25));
        assert_eq!(numeral("1e9999"), Token::Float(f64::INFINITY));
        // `e` is a hex digit in hex numerals, so `+` ends them.
        assert_eq!(
            tokens("0xe+1"),
            [Token::Int(14), Token::Char(b'+'), Token::Int(1)]
        );
    }

    #[test]
    fn malformed_numerals() {
        for (src, near) in [
            ("3x", "3x"),
            ("3xyz", "3x"),
            ("3..2", "3..2"),
            ("1..2", "1..2"),
            ("0x", "0x"),
            ("1e", "1e"),
            ("1e+", "1e+"),
            (".0x5", ".0x5"),
            ("0x1p", "0x1p"),
            ("08_", "08_"),
            ("1.2.3", "1.2.3"),
        ] {
            assert_eq!(
                lex_error(src.as_bytes()),
                format!("src:1: malformed number near '{near}'"),
                "{src}"
            );
        }
    }

    #[test]
    fn short_strings_and_escapes() {
        assert_eq!(string(b"'abc'"), b"abc");
        assert_eq!(string(b"\"it's\""), b"it's");
        assert_eq!(string(b"''"), b"");
        assert_eq!(
            string(br#""\a\b\f\n\r\t\v\\\"\'""#),
            b"\x07\x08\x0c\n\r\t\x0b\\\"'"
        );
        assert_eq!(string(br#""\x41\x7a\xFF""#), b"Az\xff");
        assert_eq!(string(br#""\65\0066\255\0""#), b"A\x066\xff\0");
        assert_eq!(string(br#""\1234""#), b"{4");
        // `\z` skips white space, line breaks included.
        assert_eq!(string(b"\"a\\z  \n\t\r\n  b\""), b"ab");
        assert_eq!(string(b"\"a\\zb\""), b"ab");
        // An escaped line break is one `\n`, whatever its spelling.
        assert_eq!(string(b"\"a\\\nb\""), b"a\nb");
        assert_eq!(string(b"\"a\\\r\nb\""), b"a\nb");
        assert_eq!(string(b"\"a\\\n\rb\""), b"a\nb");
        assert_eq!(string(b"\"a\\\rb\""), b"a\nb");
        // Bytes are not required to be UTF-8.
        assert_eq!(string(b"'\xff\xfe'"), b"\xff\xfe");
    }

    #[test]
    fn utf8_escapes() {
        assert_eq!(string(br#""\u{41}""#), b"A");
        assert_eq!(string(br#""\u{0}""#), b"\0");
        assert_eq!(string(br#""\u{7F}\u{80}""#), b"\x7f\xc2\x80");
        assert_eq!(string(br#""\u{20AC}""#), "\u{20ac}".as_bytes());
        assert_eq!(string(br#""\u{10FFFF}""#), "\u{10ffff}".as_bytes());
        assert_eq!(string(br#""\u{000000000041}""#), b"A");
        // Beyond Unicode, as far as 2^31 - 1, in extended UTF-8.
        assert_eq!(string(br#""\u{110000}""#), b"\xf4\x90\x80\x80");
        assert_eq!(string(br#""\u{200000}""#), b"\xf8\x88\x80\x80\x80");
        assert_eq!(string(br#""\u{7FFFFFFF}""#), b"\xfd\xbf\xbf\xbf\xbf\xbf");
    }

    #[test]
    fn string_errors_quote_what_was_read() {
        let cases: &[(&[u8], &str)] = &[
            (b"'abc", "src:1: unfinished string near <eof>"),
            (b"'abc\ndef'", "src:1: unfinished string near ''abc'"),
            (b"\"a\\65\rb\"", "src:1: unfinished string near '\"aA'"),
            (b"\"\\", "src:1: unfinished string near <eof>"),
            (br#""\q""#, r#"src:1: invalid escape sequence near '"\q'"#),
            (br#""ab\"#, "src:1: unfinished string near <eof>"),
            (
                br#""\xg""#,
                r#"src:1: hexadecimal digit expected near '"\xg'"#,
            ),
            (
                br#""\x5g""#,
                r#"src:1: hexadecimal digit expected near '"\x5g'"#,
            ),
            (
                br#""\x""#,
                r#"src:1: hexadecimal digit expected near '"\x"'"#,
            ),
            (
                br#""\256""#,
                r#"src:1: decimal escape too large near '"\256"'"#,
            ),
            (
                br#""\9999""#,
                r#"src:1: decimal escape too large near '"\9999'"#,
            ),
            (br#""\u12""#, r#"src:1: missing '{' near '"\u1'"#),
            (br#""\u{12""#, r#"src:1: missing '}' near '"\u{12"'"#),
            (
                br#""\u{}""#,
                r#"src:1: hexadecimal digit expected near '"\u{}'"#,
            ),
            (
                br#""\u{80000000}""#,
                r#"src:1: UTF-8 value too large near '"\u{80000000'"#,
            ),
            // Decoded escapes appear decoded; a NUL ends the quote, as in C.
            (
                b"'a\\x41\\0b\\q'",
                "src:1: invalid escape sequence near ''aA'",
            ),
        ];
        for (src, expected) in cases {
            assert_eq!(
                lex_error(src),
                *expected,
                "{:?}",
                String::from_utf8_lossy(src)
            );
        }
    }

    #[test]
    fn long_strings() {
        assert_eq!(string(b"[[abc]]"), b"abc");
        assert_eq!(string(b"[==[a]]b]=]c]==]"), b"a]]b]=]c");
        assert_eq!(string(b"[=[a]]=]"), b"a]");
        assert_eq!(string(b"[[]]"), b"");
        // No escapes inside.
        assert_eq!(string(b"[[\\n]]"), b"\\n");
        // The first line break is skipped; the others become `\n`.
        assert_eq!(string(b"[[\nx]]"), b"x");
        assert_eq!(string(b"[[\r\nx]]"), b"x");
        assert_eq!(string(b"[[\n\nx]]"), b"\nx");
        assert_eq!(string(b"[[a\r\nb\n\rc\rd\ne]]"), b"a\nb\nc\nd\ne");
        assert_eq!(tokens("[=[x]=] ["), [Token::Str, Token::Char(b'[')]);
    }

    #[test]
    fn long_bracket_errors() {
        assert_eq!(
            lex_error(b"x = [=a"),
            "src:1: invalid long string delimiter near '[='"
        );
        assert_eq!(
            lex_error(b"[==x"),
            "src:1: invalid long string delimiter near '[=='"
        );
        assert_eq!(
            lex_error(b"x = [[abc\n\n"),
            "src:3: unfinished long string (starting at line 1) near <eof>"
        );
        assert_eq!(
            lex_error(b"\n[==[abc]=]"),
            "src:2: unfinished long string (starting at line 2) near <eof>"
        );
        assert_eq!(
            lex_error(b"--[[abc\n"),
            "src:2: unfinished long comment (starting at line 1) near <eof>"
        );
    }

    #[test]
    fn comments() {
        assert_eq!(
            tokens("-- line\nx --[[ long\n ]] y"),
            [Token::Name, Token::Name]
        );
        assert_eq!(tokens("--[==[ ]] ]=] ]==] x"), [Token::Name]);
        // Not a long bracket: a short comment to the end of the line.
        assert_eq!(tokens("--[= x\ny"), [Token::Name]);
        assert_eq!(tokens("--[x\ny"), [Token::Name]);
        assert_eq!(tokens("x--"), [Token::Name]);
    }

    #[test]
    fn line_counting() {
        // Each of \n, \r, \r\n and \n\r is one line break; \n\n is two.
        for (src, line) in [
            (&b"\nx"[..], 2),
            (b"\rx", 2),
            (b"\r\nx", 2),
            (b"\n\rx", 2),
            (b"\n\nx", 3),
            (b"\r\rx", 3),
            (b"\r\n\r\nx", 3),
            (b"\n\r\n\rx", 3),
            (b"--c\n--[[\n\n]]\n'\\\n'x", 6),
            (b"[[\n\n]]x", 3),
        ] {
            let mut lexer = Lexer::new(src, "src");
            while lexer.next_token().unwrap() != Token::Name {}
            assert_eq!(lexer.line(), line, "{:?}", String::from_utf8_lossy(src));
        }
    }

    #[test]
    fn peek_leaves_the_lexer_unchanged() {
        let mut lexer = Lexer::new(b"name\n = 'x'", "src");
        assert_eq!(lexer.next_token().unwrap(), Token::Name);
        assert_eq!(lexer.peek().unwrap(), Token::Char(b'='));
        assert_eq!(lexer.token_text(), b"name");
        assert_eq!(lexer.line(), 1);
        assert_eq!(lexer.next_token().unwrap(), Token::Char(b'='));
        assert_eq!(lexer.line(), 2);
        assert_eq!(lexer.next_token().unwrap(), Token::Str);
        assert_eq!(lexer.string_value(), b"x");
    }

    #[test]
    fn describe_tokens_as_lua_does() {
        assert_eq!(Token::End.describe(), "'end'");
        assert_eq!(Token::Concat.describe(), "'..'");
        assert_eq!(Token::Char(b'=').describe(), "'='");
        assert_eq!(Token::Char(1).describe(), "'<\\1>'");
        assert_eq!(Token::Char(0x80).describe(), "'<\\128>'");
        assert_eq!(Token::Eof.describe(), "<eof>");
        assert_eq!(Token::Name.describe(), "<name>");
        assert_eq!(Token::Str.describe(), "<string>");
        assert_eq!(Token::Int(1).describe(), "<integer>");
        assert_eq!(Token::Float(1.0).describe(), "<number>");
    }

    #[test]
    fn syntax_errors_quote_the_token_as_written() {
        let near = |src: &[u8]| {
            let mut lexer = Lexer::new(src, "chunk");
            let token = lexer.next_token().unwrap();
            lexer.syntax_error("oops", token).0
        };
        assert_eq!(near(b"\n  foo"), "chunk:2: oops near 'foo'");
        assert_eq!(near(b"0x1F"), "chunk:1: oops near '0x1F'");
        assert_eq!(near(b"1e5"), "chunk:1: oops near '1e5'");
        assert_eq!(near(b"'a\\tb'"), "chunk:1: oops near ''a\tb''");
        assert_eq!(
            near(b"[==[\nx\r\ny]==]"),
            "chunk:3: oops near '[==[x\ny]==]'"
        );
        assert_eq!(near(b"end"), "chunk:1: oops near 'end'");
        assert_eq!(near(b"~="), "chunk:1: oops near '~='");
        assert_eq!(near(b""), "chunk:1: oops near <eof>");
        assert_eq!(near(b"\x01"), "chunk:1: oops near '<\\1>'");
        assert_eq!(near(b"\0"), "chunk:1: oops");
    }
}
