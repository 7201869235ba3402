//! A chunk parsed while its text arrives piece by piece: `load` with a
//! reader function (`lua_load` reading through a `ZIO`).
//!
//! PUC Lua's parser pulls characters from the reader as it goes. Here the
//! reader is Lua code that the budget may suspend, so the parser cannot
//! wait for it in the middle of a statement; instead the text is pushed in,
//! and each push parses the complete top-level statements it holds. At the
//! top level the parser's state is only the statements parsed so far and a
//! position (line numbers included), so the text of parsed statements is
//! dropped: what is buffered is the statement being read, not the chunk.
//!
//! A statement is complete when it parsed without the lexer reading the
//! end of the text received (a token at the end may go on in the next
//! piece, and the token after a statement decides where it ends). A
//! statement cut short is parsed again from its start when more text has
//! come: at every piece while the buffer is small (so that a syntax error
//! stops the reading as soon as PUC's would), then only when the buffered
//! text has doubled, which keeps that linear.
//! An error found without reading the end is the chunk's error, exactly
//! as a parse of the whole text would report it, and no more text is
//! needed. The rest (the last statements, a final `return`, the check for
//! `<eof>`) is parsed by [`ChunkStream::finish`] over the whole remainder,
//! the same code as for a string.
//!
//! Each complete statement goes at once to the code generator
//! ([`MainGen`]), and its tree is dropped: the work of generating code is
//! spread over the pieces as the parsing is.

use std::sync::Arc;

use super::ast::Stat;
use super::code::MainGen;
use super::lex::{Lexer, OpenComment, Token};
use super::parse::{out_of_memory, Parser};
use super::{Interner, SyntaxError};
use crate::func::Proto;

type PResult<T> = Result<T, SyntaxError>;

/// Up to this many bytes buffered, every piece is parsed at once.
const EAGER: usize = 4096;

/// The buffer keeps at least this capacity when it shrinks.
const MIN_CAPACITY: usize = 256;

impl ChunkStream {
    /// A stream for a chunk displayed as `chunkname` in errors, whose
    /// prototypes record `source`.
    pub(crate) fn new(chunkname: String, source: Arc<str>) -> Self {
        ChunkStream {
            chunkname,
            pending: Vec::new(),
            line: 1,
            last_line: 1,
            gen: MainGen::new(source),
            cost: 0,
            attempted: 0,
        }
    }

    /// The code generated so far, whose strings a collection must keep.
    pub(crate) fn generator(&self) -> &MainGen {
        &self.gen
    }

    /// Estimated bytes held: the buffered text plus the tree parsed.
    pub(crate) fn bytes(&self) -> usize {
        self.pending.capacity() + self.cost
    }

    /// Adds `piece`, parses the complete statements buffered and generates
    /// their code (interning its strings with `interner`), failing with
    /// "not enough memory" where [`ChunkStream::bytes`] would pass
    /// `budget`. A failed push leaves the stream as it was (the piece not
    /// added), so the caller may collect garbage and push it again.
    pub(crate) fn push(
        &mut self,
        piece: &[u8],
        budget: usize,
        interner: &mut dyn Interner,
    ) -> PResult<()> {
        self.make_room(piece.len(), budget)?;
        let len = self.pending.len();
        self.pending.extend_from_slice(piece);
        // Small statements are tried at every piece, as PUC's parser
        // reads on demand (a syntax error stops the reading at once);
        // long ones when the buffer has doubled, which keeps re-parsing
        // linear.
        if self.pending.len() > EAGER && self.pending.len() < 2 * self.attempted {
            return Ok(());
        }
        let mut stats = Vec::new();
        if let Err(e) = self.parse_complete(budget, &mut stats) {
            // Nothing of this parse is kept (it changes `pending` only
            // when it succeeds).
            self.pending.truncate(len);
            return Err(self.first_error(e, stats, interner));
        }
        self.generate(stats, interner)
    }

    /// Generates the code of complete top-level statements.
    fn generate(&mut self, stats: Vec<Stat>, interner: &mut dyn Interner) -> PResult<()> {
        stats
            .into_iter()
            .try_for_each(|stat| self.gen.statement(stat, &self.chunkname, interner))
    }

    /// The chunk's error when parsing failed with `e` after the complete
    /// statements `stats`: an error in their code comes first in the
    /// source. A lack of memory ends nothing (the caller may collect and
    /// push again), so then nothing is generated.
    fn first_error(
        &mut self,
        e: SyntaxError,
        stats: Vec<Stat>,
        interner: &mut dyn Interner,
    ) -> SyntaxError {
        if e.is_memory() {
            return e;
        }
        let earlier = self
            .generate(stats, interner)
            .and_then(|()| self.gen.check_labels(&self.chunkname, interner));
        earlier.err().unwrap_or(e)
    }

    /// Reserves room for `more` bytes of text: doubling the buffer where
    /// the budget allows it, else just enough (the buffer's capacity is
    /// what [`ChunkStream::bytes`] counts, so it never passes `budget`).
    fn make_room(&mut self, more: usize, budget: usize) -> PResult<()> {
        let (len, capacity) = (self.pending.len(), self.pending.capacity());
        let needed = len.saturating_add(more);
        if needed <= capacity {
            return Ok(());
        }
        let room = budget.saturating_sub(self.cost);
        if needed > room {
            return Err(out_of_memory());
        }
        let wanted = needed.max(capacity.saturating_mul(2)).min(room);
        // As much again must remain for parsing the text, whose small
        // allocations cannot fail gracefully.
        if !crate::alloc::can_allocate(wanted.saturating_mul(2)) {
            return Err(out_of_memory());
        }
        self.pending
            .try_reserve_exact(wanted - len)
            .map_err(|_| out_of_memory())
    }

    /// Parses the top-level statements that end before the buffered end
    /// into `stats` (after an error, those before it).
    fn parse_complete(&mut self, budget: usize, stats: &mut Vec<Stat>) -> PResult<()> {
        let room = budget.saturating_sub(self.bytes());
        let mut lex = Lexer::partial(&self.pending, &self.chunkname, self.line);
        let first = lex.next_token();
        if lex.starved() {
            // Only blanks before the end, and maybe a token cut short: the
            // blanks read whole go, counted as lines.
            let (comment, blanks) = (lex.open_comment(), lex.blank_tail());
            compact_comment(&mut self.pending, comment);
            if let Some((blanks, breaks)) = blanks {
                self.pending.drain(blanks);
                self.line += breaks;
            }
            self.shrink();
            return Ok(());
        }
        let mut p = Parser::start(lex, first?, room);
        p.last_line = self.last_line;
        // The parsed prefix: its length, the line after it, and its cost.
        let mut parsed = (0, self.line, self.last_line, 0);
        while !p.lex.starved() && !p.block_follow(true) {
            if p.tok == Token::Return {
                // The chunk's end: what follows `return` is an error as
                // soon as it is seen.
                let r = p.final_return();
                if !p.lex.starved() {
                    r?;
                }
                break;
            }
            let before = stats.len();
            let r = p.statement(stats);
            if p.lex.starved() || r.is_err() {
                stats.truncate(before);
            }
            // A statement cut short is read again with more text, unless
            // memory is lacking already: more text needs more.
            let memory = matches!(&r, Err(e) if e.is_memory());
            if p.lex.starved() && !memory {
                break;
            }
            r?;
            let (at, line) = p.lex.token_start();
            parsed = (at, line, p.last_line, p.cost);
        }
        let (at, line, last_line, cost) = parsed;
        let (comment, blanks) = (p.lex.open_comment(), p.lex.blank_tail());
        // A comment at the end goes first: the blanks are before it.
        compact_comment(&mut self.pending, comment);
        // Blanks at the end (comments, empty lines) after the statement
        // being read are kept only as the line breaks they hold.
        if let Some((blanks, breaks)) = blanks {
            if blanks.start >= at {
                // The space keeps the last `\n` from pairing with a `\r`
                // or `\n` that follows (`\n\r` is one line break).
                let mut fill = vec![b'\n'; breaks as usize];
                fill.push(b' ');
                self.pending.splice(blanks, fill);
            }
        }
        self.pending.drain(..at);
        self.line = line;
        self.last_line = last_line;
        self.cost += cost;
        self.shrink();
        Ok(())
    }

    /// After a parse: frees the room the buffer no longer needs, and the
    /// next parse waits until the text has doubled (past `EAGER`).
    fn shrink(&mut self) {
        self.pending
            .shrink_to(MIN_CAPACITY.max(2 * self.pending.len()));
        self.attempted = self.pending.len();
    }

    /// The chunk's main function, once the text has ended: the rest is
    /// parsed as a chunk's text would be, and its code generated. A syntax
    /// error in the rest comes before an error found generating code. A
    /// failed parse leaves the stream as it was, so that the caller may
    /// collect garbage and try again.
    pub(crate) fn finish(&mut self, budget: usize, interner: &mut dyn Interner) -> PResult<Proto> {
        let room = budget.saturating_sub(self.cost);
        let mut p = Parser::new(
            Lexer::resume(&self.pending, &self.chunkname, self.line),
            room,
        )?;
        p.last_line = self.last_line;
        let mut stats = Vec::new();
        let rest = p.main_chunk_into(&mut stats);
        drop(p);
        let (ret, end_line) = match rest {
            Ok(rest) => rest,
            Err(e) => return Err(self.first_error(e, stats, interner)),
        };
        let rest = super::ast::Block { stats, ret };
        self.gen.finish(rest, end_line, &self.chunkname, interner)
    }
}

/// Replaces the text of a comment that runs to the end of `text` with
/// what decides the same tokens and lines: a short comment with `-- ` (more
/// text continues it), a long one with its line breaks (as `\n`s, then a
/// space so that none pairs with a `\r` after it) and the bytes that may
/// begin its closing bracket. PUC Lua's lexer skips a comment without
/// buffering it; so memory holds a long comment's line breaks at most.
fn compact_comment(text: &mut Vec<u8>, comment: Option<OpenComment>) {
    match comment {
        Some(OpenComment::Short { start }) if text.len() > start + 3 => {
            text.truncate(start);
            text.extend_from_slice(b"-- ");
        }
        None | Some(OpenComment::Short { .. }) => {}
        Some(OpenComment::Long { body, tail }) => {
            // Count line breaks as `inc_line` reads them (`\r\n` and
            // `\n\r` are one), stopping before the tail; a step that ends
            // there never splits a pair, as its next byte was seen.
            let end = text.len().saturating_sub(tail);
            let (mut at, mut breaks) = (body, 0);
            while at < end {
                let c = text[at];
                at += 1;
                if c == b'\n' || c == b'\r' {
                    breaks += 1;
                    if matches!(text.get(at), Some(&d) if (d == b'\n' || d == b'\r') && d != c) {
                        at += 1;
                    }
                }
            }
            if at - body > breaks + 1 {
                let mut fill = vec![b'\n'; breaks];
                fill.push(b' ');
                text.splice(body..at, fill);
            }
        }
    }
}

/// The state of a chunk being pushed in (see the module documentation).
pub(crate) struct ChunkStream {
    chunkname: String,
    /// Text not parsed yet, from the start of the first top-level
    /// statement not parsed.
    pending: Vec<u8>,
    /// The line at the start of `pending`.
    line: u32,
    /// The line of the last token parsed (`ls->lastline`).
    last_line: u32,
    /// The code of the top-level statements parsed.
    gen: MainGen,
    /// Estimated bytes of the statements parsed and of their code.
    cost: usize,
    /// `pending`'s length after the last parse: the next waits until it
    /// doubles.
    attempted: usize,
}
