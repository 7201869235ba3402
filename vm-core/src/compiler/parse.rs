//! Parser, the counterpart of PUC Lua's `lparser.c`: a recursive-descent
//! parser from tokens to an [`ast::Chunk`].
//!
//! The functions follow `lparser.c`'s grammar functions one for one
//! (`statement`, `subexpr`, `suffixedexp`, ...) so that every syntax error
//! is detected at the same token, with the same message, as in PUC Lua.
//! Checks that PUC Lua makes while generating code (`goto` and labels,
//! `break` outside a loop, assignment to `<const>` variables, register and
//! local-variable limits) are left to the code generator.
//!
//! Recursion goes through `statement` and `subexpr` (plus multiple
//! assignment), each counting one syntax level like `enterlevel`; past
//! [`MAX_SYNTAX_DEPTH`] levels parsing fails with PUC Lua's
//! "C stack overflow" (without a position, as PUC's) instead of
//! overflowing the Rust stack. So only real nesting is limited:
//! blocks, function bodies, parentheses, constructors, call arguments,
//! index keys, operands of unary operators, and chains of the
//! right-associative `..` and `^`, which nest in their right operands.
//! PUC Lua counts the C calls already under the parser as well (three for
//! a `load` in a script that `lua` runs: 197 nested `do` blocks load
//! there, 200 here), so its limit comes those few levels sooner.
//!
//! Chains do not nest: `subexpr`'s loop reads `a + b * c == d and e ...`
//! and `suffixedexp`'s loop reads `a.b[c]:m(d)(e){f}'g' ...` without
//! recursing on their length, as in PUC Lua, so they are as long as
//! memory allows (and the compile budget, see [`TOKEN_BYTES`]). Their
//! trees are as deep as they are long, leaning left, so whatever walks a
//! tree goes down its left spine with a loop: the code generator (see
//! `code::expr`) and dropping it (`Drop for ast::Expr`).
//!
//! Frames on the recursive paths are kept small (under 1 KiB per level
//! with the test profile's `opt-level = 1`, so the deepest input fits in a
//! 256 KiB stack): expression parsers return boxed nodes, statement parsers
//! push into their block's list, and large values are built out of line
//! (`node`, `push_built`).

#[cfg(test)]
mod tests;

use super::ast::{
    Attrib, BinOp, Block, Chunk, Expr, ExprKind, Field, FuncBody, Return, Stat, StatKind, UnOp,
    UNARY_PRIORITY,
};
use super::lex::{Lexer, Token};
use super::{SyntaxError, MAX_SYNTAX_DEPTH};

type PResult<T> = Result<T, SyntaxError>;

/// Parses a whole chunk. (A first line starting with `#` is no syntax:
/// loading a file skips it before, as `luaL_loadfilex` does.)
pub(crate) fn parse_chunk(source: &[u8], chunkname: &str) -> PResult<Chunk> {
    Parser::new(Lexer::new(source, chunkname), usize::MAX)?.main_chunk()
}

/// `'c'` as a token.
const fn sym(c: u8) -> Token {
    Token::Char(c)
}

fn unary_op(token: Token) -> Option<UnOp> {
    Some(match token {
        Token::Not => UnOp::Not,
        Token::Char(b'-') => UnOp::Neg,
        Token::Char(b'~') => UnOp::BNot,
        Token::Char(b'#') => UnOp::Len,
        _ => return None,
    })
}

fn binary_op(token: Token) -> Option<BinOp> {
    Some(match token {
        Token::Char(b'+') => BinOp::Add,
        Token::Char(b'-') => BinOp::Sub,
        Token::Char(b'*') => BinOp::Mul,
        Token::Char(b'/') => BinOp::Div,
        Token::Char(b'%') => BinOp::Mod,
        Token::Char(b'^') => BinOp::Pow,
        Token::IDiv => BinOp::IDiv,
        Token::Char(b'&') => BinOp::BAnd,
        Token::Char(b'|') => BinOp::BOr,
        Token::Char(b'~') => BinOp::BXor,
        Token::Shl => BinOp::Shl,
        Token::Shr => BinOp::Shr,
        Token::Concat => BinOp::Concat,
        Token::Eq => BinOp::Eq,
        Token::Ne => BinOp::Ne,
        Token::Char(b'<') => BinOp::Lt,
        Token::Le => BinOp::Le,
        Token::Char(b'>') => BinOp::Gt,
        Token::Ge => BinOp::Ge,
        Token::And => BinOp::And,
        Token::Or => BinOp::Or,
        _ => return None,
    })
}

/// Names are ASCII (`lctype.h` letters, digits and `_`), so this never
/// needs to replace anything.
fn name_string(bytes: &[u8]) -> PResult<String> {
    let mut name = String::new();
    name.try_reserve_exact(bytes.len())
        .map_err(|_| out_of_memory())?;
    name.extend(bytes.iter().map(|&b| char::from(b)));
    Ok(name)
}

/// A string literal's bytes, copied out of the lexer's buffer: a literal
/// may be as long as the chunk, and a copy the allocator refuses is "not
/// enough memory".
fn literal_bytes(bytes: &[u8]) -> PResult<Vec<u8>> {
    let mut copy = Vec::new();
    copy.try_reserve_exact(bytes.len())
        .map_err(|_| out_of_memory())?;
    copy.extend_from_slice(bytes);
    Ok(copy)
}

/// A new expression node. The node is built in this frame, out of line:
/// expression parsers recurse, and anything they build inline would take
/// room in every frame of the recursion.
#[inline(never)]
fn node(line: u32, kind: impl FnOnce() -> ExprKind) -> Box<Expr> {
    Box::new(Expr { kind: kind(), line })
}

/// The memory that one token is estimated to cost once parsed and
/// compiled: the tree node it may create (an expression, a table field, a
/// slot in a list) and its instructions with their line numbers. A
/// statement costs [`STAT_BYTES`] more, and a name or string its bytes.
/// The estimate errs high: for 8 MB chunks of short statements or of a
/// table constructor, it is 1.2 times the process's peak memory.
pub(crate) const TOKEN_BYTES: usize = std::mem::size_of::<Expr>() + 48;

/// The estimate at which the parser first probes the allocator.
const FIRST_PROBE: usize = 64 << 20;

/// What a statement costs beyond its tokens.
pub(crate) const STAT_BYTES: usize = std::mem::size_of::<Stat>() + 64;

pub(super) struct Parser<'s> {
    pub(super) lex: Lexer<'s>,
    /// Estimated bytes of the tree built so far and of its code.
    pub(super) cost: usize,
    /// Where `cost` makes parsing fail with "not enough memory".
    budget: usize,
    /// Where `cost` next asks the allocator for as much again (see
    /// `spend`).
    probe_at: usize,
    /// The current token (`ls->t`).
    pub(super) tok: Token,
    /// Line of the last token consumed (`ls->lastline`).
    pub(super) last_line: u32,
    /// Syntax levels entered (`enterlevel`), at most `MAX_SYNTAX_DEPTH`.
    depth: usize,
    /// Whether the function being parsed is variadic.
    vararg: bool,
}

impl<'s> Parser<'s> {
    pub(super) fn new(mut lex: Lexer<'s>, budget: usize) -> PResult<Self> {
        let tok = lex.next_token()?;
        Ok(Parser::start(lex, tok, budget))
    }

    /// A parser whose current token `tok` was read from `lex`.
    pub(super) fn start(lex: Lexer<'s>, tok: Token, budget: usize) -> Self {
        Parser {
            lex,
            cost: 0,
            budget,
            probe_at: FIRST_PROBE,
            tok,
            last_line: 1,
            depth: 0,
            vararg: true,
        }
    }

    // ---------------------------------------------------------------------
    // Token helpers

    /// The current line (`ls->linenumber`).
    pub(super) fn line(&self) -> u32 {
        self.lex.line()
    }

    /// Moves to the next token. Out of line: inlined, its temporaries
    /// would grow every recursive frame.
    #[inline(never)]
    fn next(&mut self) -> PResult<()> {
        self.last_line = self.line();
        self.tok = self.lex.next_token()?;
        self.spend(TOKEN_BYTES + self.lex.token_len())
    }

    /// Counts `bytes` more of the estimated cost against the budget.
    fn spend(&mut self, bytes: usize) -> PResult<()> {
        self.cost = self.cost.saturating_add(bytes);
        if self.cost > self.budget {
            return Err(out_of_memory());
        }
        if self.cost > self.probe_at {
            self.probe()?;
        }
        Ok(())
    }

    /// Each time the estimate doubles, asks the allocator for twice what
    /// it has used: the tree's lists grow by doubling, and their growth
    /// (like the code generator's, which follows) cannot be refused, so a
    /// chunk too large for the memory the system grants (without a memory
    /// limit, the budget is only a cap) fails here rather than aborting
    /// before the next probe.
    #[cold]
    #[inline(never)]
    fn probe(&mut self) -> PResult<()> {
        if !crate::alloc::can_allocate(self.cost.saturating_mul(2)) {
            return Err(out_of_memory());
        }
        self.probe_at = self.cost.saturating_mul(2);
        Ok(())
    }

    /// Consumes the current token if it is `token`.
    fn test_next(&mut self, token: Token) -> PResult<bool> {
        if self.tok == token {
            self.next()?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    pub(super) fn check(&self, token: Token) -> PResult<()> {
        if self.tok == token {
            Ok(())
        } else {
            Err(self.error_expected(token))
        }
    }

    fn check_next(&mut self, token: Token) -> PResult<()> {
        self.check(token)?;
        self.next()
    }

    /// Consumes `what`, which closes `who` opened at line `line`.
    fn check_match(&mut self, what: Token, who: Token, line: u32) -> PResult<()> {
        if self.test_next(what)? {
            Ok(())
        } else if line == self.line() {
            Err(self.error_expected(what))
        } else {
            Err(self.error_unmatched(what, who, line))
        }
    }

    /// Consumes a name and returns it.
    fn check_name(&mut self) -> PResult<String> {
        self.check(Token::Name)?;
        let name = name_string(self.lex.token_text())?;
        self.next()?;
        Ok(name)
    }

    /// True at a token that ends a block (`block_follow`).
    pub(super) fn block_follow(&self, with_until: bool) -> bool {
        match self.tok {
            Token::Else | Token::ElseIf | Token::End | Token::Eof => true,
            Token::Until => with_until,
            _ => false,
        }
    }

    /// `enterlevel`: one more level of syntactic nesting.
    fn enter_level(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_SYNTAX_DEPTH {
            return Err(stack_overflow());
        }
        Ok(())
    }

    fn leave_level(&mut self) {
        self.depth -= 1;
    }

    // ---------------------------------------------------------------------
    // Errors (out of line, to keep the recursive frames small)

    /// `luaX_syntaxerror`: the message, then "near" the current token.
    #[cold]
    #[inline(never)]
    fn error(&self, msg: &str) -> SyntaxError {
        self.lex.syntax_error(msg, self.tok)
    }

    #[cold]
    #[inline(never)]
    fn error_expected(&self, token: Token) -> SyntaxError {
        self.error(&format!("{} expected", token.describe()))
    }

    #[cold]
    #[inline(never)]
    fn error_unmatched(&self, what: Token, who: Token, line: u32) -> SyntaxError {
        self.error(&format!(
            "{} expected (to close {} at line {})",
            what.describe(),
            who.describe(),
            line
        ))
    }

    // ---------------------------------------------------------------------
    // Blocks and statements

    /// `mainfunc`: the chunk is a variadic function's body.
    pub(super) fn main_chunk(&mut self) -> PResult<Chunk> {
        let mut stats = Vec::new();
        let (ret, end_line) = self.main_chunk_into(&mut stats)?;
        Ok(Chunk {
            block: Block { stats, ret },
            end_line,
        })
    }

    /// The rest of a chunk: its statements into `stats` (after an error,
    /// the complete ones before it), then its final `return` and the line
    /// of its end.
    pub(super) fn main_chunk_into(
        &mut self,
        stats: &mut Vec<Stat>,
    ) -> PResult<(Option<Return>, u32)> {
        let mut ret = None;
        while !self.block_follow(true) {
            if self.tok == Token::Return {
                ret = Some(self.return_stat()?);
                break;
            }
            let before = stats.len();
            if let Err(e) = self.statement(stats) {
                stats.truncate(before);
                return Err(e);
            }
        }
        self.check(Token::Eof)?;
        Ok((ret, self.line()))
    }

    /// A `return` ending the chunk, and the chunk's end after it.
    pub(super) fn final_return(&mut self) -> PResult<Return> {
        let r = self.return_stat()?;
        self.check(Token::Eof)?;
        Ok(r)
    }

    /// `statlist`: statements up to the end of the block; a `return` must
    /// be the last one. Boxed, like expressions, to keep frames small.
    fn block(&mut self) -> PResult<Box<Block>> {
        let mut block = Box::<Block>::default();
        while !self.block_follow(true) {
            if self.tok == Token::Return {
                block.ret = Some(self.return_stat()?);
                break;
            }
            self.statement(&mut block.stats)?;
        }
        Ok(block)
    }

    /// `statement`: parses one statement and appends it to `stats` (an
    /// empty statement `;` appends nothing).
    pub(super) fn statement(&mut self, stats: &mut Vec<Stat>) -> PResult<()> {
        let line = self.line();
        self.enter_level()?;
        if self.tok != Token::Char(b';') {
            self.spend(STAT_BYTES)?;
        }
        match self.tok {
            Token::Char(b';') => self.next()?,
            Token::If => self.if_stat(line, stats)?,
            Token::While => self.while_stat(line, stats)?,
            Token::Do => self.do_stat(line, stats)?,
            Token::For => self.for_stat(line, stats)?,
            Token::Repeat => self.repeat_stat(line, stats)?,
            Token::Function => self.func_stat(line, stats)?,
            Token::Local => self.local_stat(line, stats)?,
            Token::DbColon => self.label_stat(line, stats)?,
            Token::Break => {
                self.next()?;
                push_stat(stats, line, self.last_line, || StatKind::Break)?;
            }
            Token::Goto => {
                self.next()?;
                let label = self.check_name()?;
                push_stat(stats, line, self.last_line, || StatKind::Goto(label))?;
            }
            _ => self.expr_stat(line, stats)?,
        }
        self.leave_level();
        Ok(())
    }

    /// `IF cond THEN block {ELSEIF cond THEN block} [ELSE block] END`
    #[inline(never)]
    fn if_stat(&mut self, line: u32, stats: &mut Vec<Stat>) -> PResult<()> {
        let mut arms = Vec::new();
        loop {
            self.next()?; // skip `if` or `elseif`
            let cond = self.expr()?;
            self.check_next(Token::Then)?;
            let block = self.block()?;
            push_built(&mut arms, || (*cond, *block))?;
            if self.tok != Token::ElseIf {
                break;
            }
        }
        let else_block = if self.test_next(Token::Else)? {
            Some(self.block()?)
        } else {
            None
        };
        self.check_match(Token::End, Token::If, line)?;
        push_stat(stats, line, self.last_line, || StatKind::If {
            arms,
            else_block: else_block.map(|b| *b),
        })?;
        Ok(())
    }

    /// `WHILE cond DO block END`
    #[inline(never)]
    fn while_stat(&mut self, line: u32, stats: &mut Vec<Stat>) -> PResult<()> {
        self.next()?;
        let cond = self.expr()?;
        self.check_next(Token::Do)?;
        let body = self.block()?;
        self.check_match(Token::End, Token::While, line)?;
        push_stat(stats, line, self.last_line, || StatKind::While {
            cond: *cond,
            body: *body,
        })?;
        Ok(())
    }

    /// `DO block END`
    #[inline(never)]
    fn do_stat(&mut self, line: u32, stats: &mut Vec<Stat>) -> PResult<()> {
        self.next()?;
        let body = self.block()?;
        self.check_match(Token::End, Token::Do, line)?;
        push_stat(stats, line, self.last_line, || StatKind::Do(*body))?;
        Ok(())
    }

    /// `REPEAT block UNTIL cond`
    #[inline(never)]
    fn repeat_stat(&mut self, line: u32, stats: &mut Vec<Stat>) -> PResult<()> {
        self.next()?;
        let body = self.block()?;
        self.check_match(Token::Until, Token::Repeat, line)?;
        let cond = self.expr()?;
        push_stat(stats, line, self.last_line, || StatKind::Repeat {
            body: *body,
            cond: *cond,
        })?;
        Ok(())
    }

    /// `FOR (fornum | forlist) END`
    #[inline(never)]
    fn for_stat(&mut self, line: u32, stats: &mut Vec<Stat>) -> PResult<()> {
        self.next()?;
        let var = self.check_name()?;
        match self.tok {
            Token::Char(b'=') => self.numeric_for(var, line, stats),
            Token::Char(b',') | Token::In => self.generic_for(var, line, stats),
            _ => Err(self.error("'=' or 'in' expected")),
        }
    }

    /// `NAME = exp, exp [, exp] DO block END`
    fn numeric_for(&mut self, var: String, line: u32, stats: &mut Vec<Stat>) -> PResult<()> {
        self.next()?; // skip `=`
        let start = self.expr()?;
        self.check_next(sym(b','))?;
        let limit = self.expr()?;
        let step = if self.test_next(sym(b','))? {
            Some(self.expr()?)
        } else {
            None
        };
        let body = self.for_body(line)?;
        push_stat(stats, line, self.last_line, || StatKind::NumFor {
            var,
            start: *start,
            limit: *limit,
            step: step.map(|s| *s),
            body: *body,
        })?;
        Ok(())
    }

    /// `NAME {, NAME} IN explist DO block END`
    fn generic_for(&mut self, first: String, line: u32, stats: &mut Vec<Stat>) -> PResult<()> {
        let mut names = vec![first];
        while self.test_next(sym(b','))? {
            names.push(self.check_name()?);
        }
        self.check_next(Token::In)?;
        let exprs = self.expr_list()?;
        let body = self.for_body(line)?;
        push_stat(stats, line, self.last_line, || StatKind::GenFor {
            names,
            exprs,
            body: *body,
        })?;
        Ok(())
    }

    /// `DO block END` closing a `for` at `line`.
    fn for_body(&mut self, line: u32) -> PResult<Box<Block>> {
        self.check_next(Token::Do)?;
        let body = self.block()?;
        self.check_match(Token::End, Token::For, line)?;
        Ok(body)
    }

    /// `FUNCTION NAME {'.' NAME} [':' NAME] body`
    #[inline(never)]
    fn func_stat(&mut self, line: u32, stats: &mut Vec<Stat>) -> PResult<()> {
        self.next()?;
        let mut path = vec![self.check_name()?];
        while self.test_next(sym(b'.'))? {
            path.push(self.check_name()?);
        }
        let method = if self.test_next(sym(b':'))? {
            Some(self.check_name()?)
        } else {
            None
        };
        let func = self.body(method.is_some(), line, line)?;
        push_stat(stats, line, self.last_line, || StatKind::Function {
            path,
            method,
            func: *func,
        })?;
        Ok(())
    }

    /// `LOCAL FUNCTION NAME body` or
    /// `LOCAL NAME attrib {',' NAME attrib} ['=' explist]`
    #[inline(never)]
    fn local_stat(&mut self, line: u32, stats: &mut Vec<Stat>) -> PResult<()> {
        self.next()?;
        if self.tok == Token::Function {
            let function_line = self.line();
            self.next()?;
            let name = self.check_name()?;
            let func = self.body(false, function_line, self.line())?;
            push_stat(stats, line, self.last_line, || StatKind::LocalFunction {
                name,
                func: *func,
            })?;
            return Ok(());
        }
        let mut names = Vec::new();
        let mut has_close = false;
        loop {
            let name = self.check_name()?;
            let attrib = self.local_attrib()?;
            if attrib == Attrib::Close {
                if has_close {
                    let msg = "multiple to-be-closed variables in local list";
                    return Err(self.lex.plain_error(msg));
                }
                has_close = true;
            }
            names.push((name, attrib));
            if !self.test_next(sym(b','))? {
                break;
            }
        }
        let exprs = if self.test_next(sym(b'='))? {
            self.expr_list()?
        } else {
            Vec::new()
        };
        push_stat(stats, line, self.last_line, || StatKind::Local {
            names,
            exprs,
        })?;
        Ok(())
    }

    /// `['<' NAME '>']` after a local's name.
    fn local_attrib(&mut self) -> PResult<Attrib> {
        if !self.test_next(sym(b'<'))? {
            return Ok(Attrib::None);
        }
        let attrib = self.check_name()?;
        self.check_next(sym(b'>'))?;
        match attrib.as_str() {
            "const" => Ok(Attrib::Const),
            "close" => Ok(Attrib::Close),
            _ => Err(self
                .lex
                .plain_error(&format!("unknown attribute '{attrib}'"))),
        }
    }

    /// `'::' NAME '::'`. Like `labelstat`, the empty statements and labels
    /// that follow are parsed as nested statements (which counts levels).
    #[inline(never)]
    fn label_stat(&mut self, line: u32, stats: &mut Vec<Stat>) -> PResult<()> {
        self.next()?;
        let name = self.check_name()?;
        self.check_next(Token::DbColon)?;
        push_stat(stats, line, self.last_line, || StatKind::Label(name))?;
        while matches!(self.tok, Token::Char(b';') | Token::DbColon) {
            self.statement(stats)?;
        }
        Ok(())
    }

    /// `RETURN [explist] [';']`, counted as a statement level.
    #[inline(never)]
    fn return_stat(&mut self) -> PResult<Return> {
        let line = self.line();
        self.enter_level()?;
        self.next()?;
        let exprs = if self.block_follow(true) || self.tok == sym(b';') {
            Vec::new()
        } else {
            self.expr_list()?
        };
        self.test_next(sym(b';'))?;
        self.leave_level();
        Ok(Return { exprs, line })
    }

    /// A function call or an assignment (`exprstat`).
    #[inline(never)]
    fn expr_stat(&mut self, line: u32, stats: &mut Vec<Stat>) -> PResult<()> {
        let first = self.suffixed_expr()?;
        if matches!(self.tok, Token::Char(b'=' | b',')) {
            return self.assignment(*first, line, stats);
        }
        if !matches!(first.kind, ExprKind::Call(..) | ExprKind::Method(..)) {
            return Err(self.error("syntax error"));
        }
        push_stat(stats, line, self.last_line, || StatKind::Call(*first))?;
        Ok(())
    }

    /// `target {',' target} '=' explist` after the first target. As in
    /// `restassign`, each further target counts one syntax level.
    fn assignment(&mut self, first: Expr, line: u32, stats: &mut Vec<Stat>) -> PResult<()> {
        let mut targets = vec![first];
        let mut levels = 0;
        loop {
            let is_var = targets
                .last()
                .is_some_and(|t| matches!(t.kind, ExprKind::Name(_) | ExprKind::Index(..)));
            if !is_var {
                return Err(self.error("syntax error"));
            }
            if !self.test_next(sym(b','))? {
                break;
            }
            targets.push(*self.suffixed_expr()?);
            self.enter_level()?;
            levels += 1;
        }
        self.check_next(sym(b'='))?;
        let exprs = self.expr_list()?;
        self.depth -= levels;
        push_stat(stats, line, self.last_line, || StatKind::Assign {
            targets,
            exprs,
        })?;
        Ok(())
    }

    /// `'(' parlist ')' block END`. `line` is the `function` keyword's;
    /// `match_line` is where PUC Lua says the function opened in "'end'
    /// expected" messages (for anonymous and local functions, the line of
    /// the token after the name or keyword).
    #[inline(never)]
    fn body(&mut self, is_method: bool, line: u32, match_line: u32) -> PResult<Box<FuncBody>> {
        let mut params = Vec::new();
        if is_method {
            params.push("self".to_owned());
        }
        self.check_next(sym(b'('))?;
        let is_vararg = self.param_list(&mut params)?;
        self.check_next(sym(b')'))?;
        let outer_vararg = std::mem::replace(&mut self.vararg, is_vararg);
        let body = self.block()?;
        self.vararg = outer_vararg;
        let end_line = self.line();
        self.check_match(Token::End, Token::Function, match_line)?;
        Ok(box_built(|| FuncBody {
            params,
            is_vararg,
            body: *body,
            line,
            end_line,
        }))
    }

    /// `[ {NAME ','} (NAME | '...') ]`; returns whether it ends with `...`.
    fn param_list(&mut self, params: &mut Vec<String>) -> PResult<bool> {
        if self.tok == sym(b')') {
            return Ok(false);
        }
        loop {
            match self.tok {
                Token::Name => params.push(self.check_name()?),
                Token::Dots => {
                    self.next()?;
                    return Ok(true);
                }
                _ => return Err(self.error("<name> or '...' expected")),
            }
            if !self.test_next(sym(b','))? {
                return Ok(false);
            }
        }
    }

    // ---------------------------------------------------------------------
    // Expressions
    //
    // Expression parsers return boxed nodes: most end up boxed in the tree
    // anyway, and passing a pointer instead of a 64-byte `Expr` keeps the
    // frames on the recursive paths small.

    /// `expr`: a whole expression.
    fn expr(&mut self) -> PResult<Box<Expr>> {
        self.subexpr(0)
    }

    /// `expr {',' expr}`
    #[inline(never)]
    fn expr_list(&mut self) -> PResult<Vec<Expr>> {
        let mut exprs = Vec::new();
        loop {
            let expr = self.expr()?;
            push_built(&mut exprs, || *expr)?;
            if !self.test_next(sym(b','))? {
                return Ok(exprs);
            }
        }
    }

    /// `(simpleexp | unop subexpr) {binop subexpr}`, where only binary
    /// operators whose left priority is above `limit` are taken.
    ///
    /// A chain of operators that bind no tighter than the one before
    /// (`a + b - c == d and e`) is read by the loop, each operator taking
    /// the tree built so far as its left operand: the length of a chain
    /// costs no levels (see the module docs).
    fn subexpr(&mut self, limit: u8) -> PResult<Box<Expr>> {
        self.enter_level()?;
        let mut lhs = match unary_op(self.tok) {
            Some(op) => self.unary_expr(op)?,
            None => self.simple_expr()?,
        };
        while let Some(op) = binary_op(self.tok) {
            if op.priority().0 <= limit {
                break;
            }
            lhs = self.binary_expr(op, lhs)?;
        }
        self.leave_level();
        Ok(lhs)
    }

    /// `unop subexpr`
    #[inline(never)]
    fn unary_expr(&mut self, op: UnOp) -> PResult<Box<Expr>> {
        let line = self.line();
        self.next()?;
        let operand = self.subexpr(UNARY_PRIORITY)?;
        Ok(node(line, || ExprKind::Unary(op, operand)))
    }

    /// `lhs binop subexpr`, the right operand taking only operators that
    /// bind tighter than `op` on its right.
    #[inline(never)]
    fn binary_expr(&mut self, op: BinOp, lhs: Box<Expr>) -> PResult<Box<Expr>> {
        let line = self.line();
        self.next()?;
        let rhs = self.subexpr(op.priority().1)?;
        Ok(node(line, || ExprKind::Binary(op, lhs, rhs)))
    }

    /// Literals, `...`, constructors, anonymous functions, or a
    /// `suffixedexp`.
    #[inline(never)]
    fn simple_expr(&mut self) -> PResult<Box<Expr>> {
        match self.tok {
            Token::Char(b'{') => self.constructor(),
            Token::Function => self.function_expr(),
            Token::Name | Token::Char(b'(') => self.suffixed_expr(),
            _ => self.literal(),
        }
    }

    /// A constant or `...`.
    fn literal(&mut self) -> PResult<Box<Expr>> {
        let kind = match self.tok {
            Token::Float(f) => ExprKind::Float(f),
            Token::Int(i) => ExprKind::Int(i),
            Token::Str => ExprKind::Str(literal_bytes(self.lex.string_value())?),
            Token::Nil => ExprKind::Nil,
            Token::True => ExprKind::True,
            Token::False => ExprKind::False,
            Token::Dots if self.vararg => ExprKind::Vararg,
            Token::Dots => return Err(self.error("cannot use '...' outside a vararg function")),
            _ => return Err(self.error("unexpected symbol")),
        };
        let line = self.line();
        self.next()?;
        Ok(node(line, || kind))
    }

    /// `FUNCTION body`
    #[inline(never)]
    fn function_expr(&mut self) -> PResult<Box<Expr>> {
        let line = self.line();
        self.next()?;
        let func = self.body(false, line, self.line())?;
        Ok(node(line, || ExprKind::Function(func)))
    }

    /// `primaryexp { '.' NAME | '[' exp ']' | ':' NAME funcargs | funcargs }`
    #[inline(never)]
    fn suffixed_expr(&mut self) -> PResult<Box<Expr>> {
        let line = self.line();
        let primary = self.primary_expr(line)?;
        if matches!(
            self.tok,
            Token::Char(b'.' | b'[' | b':' | b'(' | b'{') | Token::Str
        ) {
            self.suffixes(primary, line)
        } else {
            Ok(primary)
        }
    }

    /// `NAME | '(' expr ')'`
    #[inline(never)]
    fn primary_expr(&mut self, line: u32) -> PResult<Box<Expr>> {
        match self.tok {
            Token::Name => {
                let name = name_string(self.lex.token_text())?;
                self.next()?;
                Ok(node(line, || ExprKind::Name(name)))
            }
            Token::Char(b'(') => {
                self.next()?;
                let inner = self.expr()?;
                self.check_match(sym(b')'), sym(b'('), line)?;
                Ok(node(line, || ExprKind::Paren(inner)))
            }
            _ => Err(self.error("unexpected symbol")),
        }
    }

    /// The suffix loop of `suffixedexp`, applied to `expr`: each suffix
    /// takes the tree built so far as its object, so the length of a
    /// chain costs no levels (see the module docs). Indexing
    /// gets the line of its `.` or `[`; calls get `line`, where the whole
    /// expression starts (as `funcargs` fixes it).
    #[inline(never)]
    fn suffixes(&mut self, mut expr: Box<Expr>, line: u32) -> PResult<Box<Expr>> {
        loop {
            expr = match self.tok {
                Token::Char(b'.') => {
                    let index_line = self.line();
                    self.next()?;
                    let key_line = self.line();
                    let key = self.check_name()?.into_bytes();
                    let key = node(key_line, || ExprKind::Str(key));
                    node(index_line, || ExprKind::Index(expr, key))
                }
                Token::Char(b'[') => {
                    let index_line = self.line();
                    let key = self.index_key()?;
                    node(index_line, || ExprKind::Index(expr, key))
                }
                Token::Char(b':') => {
                    self.next()?;
                    let name = self.check_name()?;
                    self.call(expr, Some(name), line)?
                }
                Token::Char(b'(' | b'{') | Token::Str => self.call(expr, None, line)?,
                _ => return Ok(expr),
            };
        }
    }

    /// `'[' expr ']'`
    #[inline(never)]
    fn index_key(&mut self) -> PResult<Box<Expr>> {
        self.next()?;
        let key = self.expr()?;
        self.check_next(sym(b']'))?;
        Ok(key)
    }

    /// A call of `callee` (of its method `method`, if any) with the
    /// arguments that follow (`funcargs`): `'(' [explist] ')'`, a table
    /// constructor or a string.
    #[inline(never)]
    fn call(&mut self, callee: Box<Expr>, method: Option<String>, line: u32) -> PResult<Box<Expr>> {
        let args = match self.tok {
            Token::Char(b'(') => {
                self.next()?;
                let args = if self.tok == sym(b')') {
                    Vec::new()
                } else {
                    self.expr_list()?
                };
                self.check_match(sym(b')'), sym(b'('), line)?;
                args
            }
            Token::Char(b'{') => vec![*self.constructor()?],
            Token::Str => vec![*self.literal()?],
            _ => return Err(self.error("function arguments expected")),
        };
        Ok(node(line, || match method {
            Some(name) => ExprKind::Method(callee, name, args),
            None => ExprKind::Call(callee, args),
        }))
    }

    /// `'{' [field {sep field} [sep]] '}'` with `sep` being `,` or `;`.
    #[inline(never)]
    fn constructor(&mut self) -> PResult<Box<Expr>> {
        let line = self.line();
        self.check_next(sym(b'{'))?;
        let mut fields = Vec::new();
        while self.tok != sym(b'}') {
            self.field(&mut fields)?;
            if !(self.test_next(sym(b','))? || self.test_next(sym(b';'))?) {
                break;
            }
        }
        self.check_match(sym(b'}'), sym(b'{'), line)?;
        let end_line = self.last_line;
        Ok(node(line, || ExprKind::Table(fields, end_line)))
    }

    /// `NAME '=' expr | '[' expr ']' '=' expr | expr`, appended to `fields`.
    #[inline(never)]
    fn field(&mut self, fields: &mut Vec<Field>) -> PResult<()> {
        let tok = self.tok;
        match tok {
            Token::Name if self.next_is_assign()? => self.named_field(fields),
            Token::Char(b'[') => self.keyed_field(fields),
            _ => {
                let value = self.expr()?;
                push_built(fields, || Field::Positional(*value))?;
                Ok(())
            }
        }
    }

    /// Whether the token after the current one is `=` (a name followed by
    /// `=` starts a named field, not an expression).
    #[inline(never)]
    fn next_is_assign(&mut self) -> PResult<bool> {
        Ok(self.lex.peek()? == sym(b'='))
    }

    /// `NAME '=' expr`
    #[inline(never)]
    fn named_field(&mut self, fields: &mut Vec<Field>) -> PResult<()> {
        let name = self.check_name()?;
        self.next()?; // skip `=`
        let value = self.expr()?;
        push_built(fields, || Field::Named(name, *value))?;
        Ok(())
    }

    /// `'[' expr ']' '=' expr`
    #[inline(never)]
    fn keyed_field(&mut self, fields: &mut Vec<Field>) -> PResult<()> {
        let key = self.index_key()?;
        self.check_next(sym(b'='))?;
        let value = self.expr()?;
        push_built(fields, || Field::Keyed(*key, *value))?;
        Ok(())
    }
}

/// Appends the statement `build()` to `stats`.
fn push_stat(
    stats: &mut Vec<Stat>,
    line: u32,
    end_line: u32,
    build: impl FnOnce() -> StatKind,
) -> PResult<()> {
    push_built(stats, || Stat {
        kind: build(),
        line,
        end_line,
    })
}

/// Appends `build()` to `list`. Out of line so that the new element, which
/// can be large (a `Stat` is a few hundred bytes), is built in this
/// short-lived frame rather than in the frame of a parser function that
/// stays on the stack while it recurses.
/// The list's growth is fallible: a list as long as the chunk fails with
/// "not enough memory" rather than aborting.
#[inline(never)]
fn push_built<T>(list: &mut Vec<T>, build: impl FnOnce() -> T) -> PResult<()> {
    if list.len() == list.capacity() && list.try_reserve(list.len().max(4)).is_err() {
        return Err(out_of_memory());
    }
    list.push(build());
    Ok(())
}

/// `Box::new(build())`, out of line for the same reason as `push_built`.
#[inline(never)]
fn box_built<T>(build: impl FnOnce() -> T) -> Box<T> {
    Box::new(build())
}

/// The error of a chunk too large for the memory left (`LUA_ERRMEM`).
#[cold]
#[inline(never)]
pub(crate) fn out_of_memory() -> SyntaxError {
    SyntaxError(crate::limit::MEMORY_MESSAGE.to_owned())
}

/// PUC Lua's message when nesting exceeds its C-call limit: it has no
/// position, because `luaE_checkcstack` raises it outside any Lua function.
#[cold]
#[inline(never)]
fn stack_overflow() -> SyntaxError {
    SyntaxError("C stack overflow".to_owned())
}
