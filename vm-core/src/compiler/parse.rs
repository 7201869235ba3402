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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compiler::parse;

    fn parse_ok(src: &str) -> Chunk {
        parse(src.as_bytes(), "src").unwrap_or_else(|e| panic!("{src:?}: {e}"))
    }

    fn parse_err(src: &str) -> String {
        match parse(src.as_bytes(), "src") {
            Ok(chunk) => panic!("{src:?} parsed: {chunk:?}"),
            Err(e) => e.0,
        }
    }

    /// The expression `src`, parsed as `return src`.
    fn expr(src: &str) -> Expr {
        let chunk = parse_ok(&format!("return {src}"));
        let mut exprs = chunk.block.ret.expect("a return").exprs;
        assert_eq!(exprs.len(), 1, "{src}");
        exprs.remove(0)
    }

    /// The statements of `src`.
    fn stats(src: &str) -> Vec<StatKind> {
        parse_ok(src)
            .block
            .stats
            .into_iter()
            .map(|s| s.kind)
            .collect()
    }

    /// A compact prefix notation of an expression, for shape assertions.
    fn sexp(e: &Expr) -> String {
        let list = |items: &[Expr]| {
            items
                .iter()
                .map(|e| format!(" {}", sexp(e)))
                .collect::<String>()
        };
        match &e.kind {
            ExprKind::Nil => "nil".into(),
            ExprKind::True => "true".into(),
            ExprKind::False => "false".into(),
            ExprKind::Int(i) => i.to_string(),
            ExprKind::Float(f) => format!("{f:?}"),
            ExprKind::Str(s) => format!("'{}'", String::from_utf8_lossy(s)),
            ExprKind::Vararg => "...".into(),
            ExprKind::Function(f) => {
                let dots = if f.is_vararg { " ..." } else { "" };
                format!(
                    "(fn{}{dots})",
                    f.params.iter().map(|p| format!(" {p}")).collect::<String>()
                )
            }
            ExprKind::Table(fields, _) => {
                let fields: Vec<String> = fields
                    .iter()
                    .map(|f| match f {
                        Field::Positional(v) => sexp(v),
                        Field::Named(n, v) => format!("{n}={}", sexp(v)),
                        Field::Keyed(k, v) => format!("[{}]={}", sexp(k), sexp(v)),
                    })
                    .collect();
                format!("{{{}}}", fields.join(" "))
            }
            ExprKind::Binary(op, l, r) => format!("({op:?} {} {})", sexp(l), sexp(r)),
            ExprKind::Unary(op, x) => format!("({op:?} {})", sexp(x)),
            ExprKind::Name(n) => n.clone(),
            ExprKind::Index(o, k) => format!("(idx {} {})", sexp(o), sexp(k)),
            ExprKind::Call(f, args) => format!("(call {}{})", sexp(f), list(args)),
            ExprKind::Method(o, m, args) => format!("(method {} {m}{})", sexp(o), list(args)),
            ExprKind::Paren(x) => format!("(paren {})", sexp(x)),
        }
    }

    fn shape(src: &str) -> String {
        sexp(&expr(src))
    }

    #[test]
    fn binary_operators_follow_lua_precedence() {
        let cases = [
            ("1 + 2 * 3", "(Add 1 (Mul 2 3))"),
            ("1 * 2 + 3", "(Add (Mul 1 2) 3)"),
            ("1 - 2 - 3", "(Sub (Sub 1 2) 3)"),
            ("1 / 2 // 3 % 4", "(Mod (IDiv (Div 1 2) 3) 4)"),
            ("a .. b .. c", "(Concat a (Concat b c))"),
            ("2 ^ 3 ^ 2", "(Pow 2 (Pow 3 2))"),
            ("a or b and c", "(Or a (And b c))"),
            ("a and b or c and d", "(Or (And a b) (And c d))"),
            ("1 < 2 == true", "(Eq (Lt 1 2) true)"),
            ("a ~= b <= c >= d > e", "(Gt (Ge (Le (Ne a b) c) d) e)"),
            ("a .. b == c", "(Eq (Concat a b) c)"),
            ("1 + 2 .. 3", "(Concat (Add 1 2) 3)"),
            (
                "a | b ~ c & d << 1 .. x + 1",
                "(BOr a (BXor b (BAnd c (Shl d (Concat 1 (Add x 1))))))",
            ),
            ("a >> 1 << 2", "(Shl (Shr a 1) 2)"),
            ("a == b and c or d", "(Or (And (Eq a b) c) d)"),
            ("(1 + 2) * 3", "(Mul (paren (Add 1 2)) 3)"),
        ];
        for (src, expected) in cases {
            assert_eq!(shape(src), expected, "{src}");
        }
    }

    #[test]
    fn unary_operators_bind_tighter_than_all_but_power() {
        let cases = [
            ("-x ^ 2", "(Neg (Pow x 2))"),
            ("2 ^ -3", "(Pow 2 (Neg 3))"),
            ("-2 ^ -3 ^ 2", "(Neg (Pow 2 (Neg (Pow 3 2))))"),
            ("not a == b", "(Eq (Not a) b)"),
            ("#t + 1", "(Add (Len t) 1)"),
            ("- - x", "(Neg (Neg x))"),
            ("~x ~ y", "(BXor (BNot x) y)"),
            ("not not x", "(Not (Not x))"),
            ("-a.b", "(Neg (idx a 'b'))"),
            ("#f()", "(Len (call f))"),
            ("1 - -1", "(Sub 1 (Neg 1))"),
        ];
        for (src, expected) in cases {
            assert_eq!(shape(src), expected, "{src}");
        }
    }

    #[test]
    fn simple_and_suffixed_expressions() {
        let cases = [
            ("nil, true, false", ""),
            ("a.b.c", "(idx (idx a 'b') 'c')"),
            ("a[1][k]", "(idx (idx a 1) k)"),
            ("a:b(1)(2)", "(call (method a b 1) 2)"),
            ("f'x'", "(call f 'x')"),
            ("f[[x]]", "(call f 'x')"),
            ("f{1}", "(call f {1})"),
            ("f{}'s'", "(call (call f {}) 's')"),
            ("o:m{}", "(method o m {})"),
            ("o:m'x'", "(method o m 'x')"),
            ("(f())", "(paren (call f))"),
            ("((x))", "(paren (paren x))"),
            ("(f).x", "(idx (paren f) 'x')"),
            ("{1, x = 2, [3] = 4; 5,}", "{1 x=2 [3]=4 5}"),
            ("{x == 1, y}", "{(Eq x 1) y}"),
            ("{f(), ...}", "{(call f) ...}"),
            ("function(a, ...) end", "(fn a ...)"),
            ("function() end", "(fn)"),
            ("function(...) end", "(fn ...)"),
            ("0x10, 1.5, 'a\\tb'", ""),
        ];
        for (src, expected) in cases {
            if expected.is_empty() {
                parse_ok(&format!("return {src}"));
            } else {
                assert_eq!(shape(src), expected, "{src}");
            }
        }
        assert_eq!(parse_err("return {;}"), "src:1: unexpected symbol near ';'");
        assert_eq!(shape("1e2"), "100.0");
        assert_eq!(shape("'\\65\\z  \n b'"), "'Ab'");
    }

    #[test]
    fn a_call_may_start_on_the_next_line() {
        let kinds = stats("f\n(a)\ng\n{}\nh\n'x'");
        assert_eq!(kinds.len(), 3);
        assert!(kinds.iter().all(|k| matches!(k, StatKind::Call(_))));
        // `local x = f` then `(g)()` is one statement: `local x = f(g)()`.
        let kinds = stats("local x = f\n(g)()");
        assert_eq!(kinds.len(), 1);
    }

    #[test]
    fn statements() {
        let kinds = stats(
            "local a, b <const>, c <close> = 1, 2 \
             a, t.x, t[1] = 1, 2, 3 \
             f(1) o:m() \
             do end \
             while a do break end \
             repeat local r until r \
             if a then elseif b then else end \
             for i = 1, 2 do end for i = 1, 2, 3 do end \
             for k, v in pairs(t) do end \
             function a.b.c:m(x) end function f(...) end \
             local function g() end \
             goto l ::l:: ; ;",
        );
        let expected_names = vec![
            ("a".to_owned(), Attrib::None),
            ("b".to_owned(), Attrib::Const),
            ("c".to_owned(), Attrib::Close),
        ];
        assert!(
            matches!(&kinds[0], StatKind::Local { names, exprs } if *names == expected_names && exprs.len() == 2)
        );
        assert!(
            matches!(&kinds[1], StatKind::Assign { targets, exprs } if targets.len() == 3 && exprs.len() == 3)
        );
        assert!(matches!(
            &kinds[2],
            StatKind::Call(Expr {
                kind: ExprKind::Call(..),
                ..
            })
        ));
        assert!(matches!(
            &kinds[3],
            StatKind::Call(Expr {
                kind: ExprKind::Method(..),
                ..
            })
        ));
        assert!(matches!(&kinds[4], StatKind::Do(b) if b.stats.is_empty()));
        assert!(
            matches!(&kinds[5], StatKind::While { body, .. } if body.stats[0].kind == StatKind::Break)
        );
        assert!(
            matches!(&kinds[6], StatKind::Repeat { body, cond } if body.stats.len() == 1 && sexp(cond) == "r")
        );
        assert!(matches!(&kinds[7], StatKind::If { arms, else_block: Some(_) } if arms.len() == 2));
        assert!(matches!(&kinds[8], StatKind::NumFor { var, step: None, .. } if var == "i"));
        assert!(matches!(&kinds[9], StatKind::NumFor { step: Some(_), .. }));
        assert!(
            matches!(&kinds[10], StatKind::GenFor { names, exprs, .. } if *names == ["k", "v"] && exprs.len() == 1)
        );
        let StatKind::Function { path, method, func } = &kinds[11] else {
            panic!("{:?}", kinds[11]);
        };
        assert_eq!(path, &["a", "b", "c"]);
        assert_eq!(method.as_deref(), Some("m"));
        assert_eq!(func.params, ["self", "x"]);
        assert!(!func.is_vararg);
        assert!(
            matches!(&kinds[12], StatKind::Function { method: None, func, .. } if func.is_vararg && func.params.is_empty())
        );
        assert!(matches!(&kinds[13], StatKind::LocalFunction { name, .. } if name == "g"));
        assert_eq!(kinds[14], StatKind::Goto("l".into()));
        assert_eq!(kinds[15], StatKind::Label("l".into()));
        assert_eq!(kinds.len(), 16, "empty statements leave no trace");
    }

    #[test]
    fn returns_end_blocks() {
        let chunk = parse_ok("do return end while x do return 1, 2; end return;");
        assert_eq!(chunk.block.ret.as_ref().map(|r| r.exprs.len()), Some(0));
        let StatKind::While { body, .. } = &chunk.block.stats[1].kind else {
            panic!()
        };
        assert_eq!(body.ret.as_ref().map(|r| r.exprs.len()), Some(2));
        let chunk = parse_ok("repeat return until x");
        assert!(
            matches!(&chunk.block.stats[0].kind, StatKind::Repeat { body, .. } if body.ret.is_some())
        );
        assert_eq!(
            parse_err("return 1 x = 2"),
            "src:1: <eof> expected near 'x'"
        );
    }

    #[test]
    fn consecutive_labels_keep_their_order() {
        let kinds = stats("::a:: ;; ::b:: ; ::c:: x = 1");
        let labels: Vec<_> = kinds
            .iter()
            .filter_map(|k| match k {
                StatKind::Label(l) => Some(l.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(labels, ["a", "b", "c"]);
        assert!(matches!(kinds[3], StatKind::Assign { .. }));
    }

    #[test]
    fn checks_left_to_the_code_generator_parse() {
        // PUC Lua rejects these while generating code, not while parsing.
        for src in [
            "local x <const> = 1; x = 2",
            "break",
            "goto nowhere",
            "::a:: ::a::",
            "do goto l end local x ::l:: print(x)",
        ] {
            parse_ok(src);
        }
    }

    #[test]
    fn line_numbers() {
        let chunk = parse_ok(
            "local a =\n  1 +\n  2\nf(\n x,\n y)\nfunction g()\n\nend\nt\n.k = {\n}\nreturn\n a\n\n",
        );
        let lines: Vec<u32> = chunk.block.stats.iter().map(|s| s.line).collect();
        assert_eq!(lines, [1, 4, 7, 10]);
        let StatKind::Local { exprs, .. } = &chunk.block.stats[0].kind else {
            panic!()
        };
        // A binary expression has its operator's line.
        assert_eq!(exprs[0].line, 2);
        let ExprKind::Binary(_, lhs, rhs) = &exprs[0].kind else {
            panic!()
        };
        assert_eq!((lhs.line, rhs.line), (2, 3));
        let StatKind::Call(call) = &chunk.block.stats[1].kind else {
            panic!()
        };
        // A call has the line where the called expression starts.
        assert_eq!(call.line, 4);
        let StatKind::Function { func, .. } = &chunk.block.stats[2].kind else {
            panic!()
        };
        assert_eq!((func.line, func.end_line), (7, 9));
        let StatKind::Assign { targets, exprs } = &chunk.block.stats[3].kind else {
            panic!()
        };
        // Indexing has the line of its `.` or `[`; a table its `{`.
        assert_eq!(targets[0].line, 11);
        assert_eq!(exprs[0].line, 11);
        let ret = chunk.block.ret.as_ref().unwrap();
        assert_eq!((ret.line, ret.exprs[0].line), (13, 14));
        assert_eq!(chunk.end_line, 16);
        let body = match &expr("function()\nend").kind {
            ExprKind::Function(f) => (f.line, f.end_line),
            _ => panic!(),
        };
        assert_eq!(body, (1, 2));
    }

    #[test]
    fn a_shebang_line_is_no_syntax() {
        // Files skip it before parsing (`luaL_loadfilex`); strings do not.
        assert_eq!(
            parse_err("#!lua\nx = 1"),
            "src:1: unexpected symbol near '#'"
        );
        assert_eq!(parse_err(" #!lua"), "src:1: unexpected symbol near '#'");
    }

    #[test]
    fn syntax_errors_match_lua() {
        // Expected messages are PUC Lua 5.4's, from `load(src, "=src")`.
        let cases: &[(&str, &str)] = &[
            ("x = 1 +", "src:1: unexpected symbol near <eof>"),
            ("x = = 1", "src:1: unexpected symbol near '='"),
            ("x", "src:1: syntax error near <eof>"),
            ("x y", "src:1: syntax error near 'y'"),
            ("f() = 1", "src:1: syntax error near '='"),
            ("(f) = 1", "src:1: syntax error near '='"),
            ("(a) = 1", "src:1: syntax error near '='"),
            ("a.b:c() = 1", "src:1: syntax error near '='"),
            ("a, f() = 1", "src:1: syntax error near '='"),
            ("a, b x", "src:1: '=' expected near 'x'"),
            ("a, (b) = 1", "src:1: syntax error near '='"),
            ("(f())", "src:1: syntax error near <eof>"),
            ("x = (1", "src:1: ')' expected near <eof>"),
            (
                "x = (1\n\n",
                "src:3: ')' expected (to close '(' at line 1) near <eof>",
            ),
            (
                "f(1,\n2",
                "src:2: ')' expected (to close '(' at line 1) near <eof>",
            ),
            ("f(1", "src:1: ')' expected near <eof>"),
            ("t = {1, 2", "src:1: '}' expected near <eof>"),
            (
                "t = {\n1,\n2",
                "src:3: '}' expected (to close '{' at line 1) near <eof>",
            ),
            ("t = {x = }", "src:1: unexpected symbol near '}'"),
            ("t = {[1] 2}", "src:1: '=' expected near '2'"),
            ("t = {[1 = 2}", "src:1: ']' expected near '='"),
            ("x = a[1", "src:1: ']' expected near <eof>"),
            ("x = a.1", "src:1: unexpected symbol near '.1'"),
            ("x = a:b", "src:1: function arguments expected near <eof>"),
            ("x = a:b.c", "src:1: function arguments expected near '.'"),
            ("a:1()", "src:1: <name> expected near '1'"),
            ("local", "src:1: <name> expected near <eof>"),
            ("local 1", "src:1: <name> expected near '1'"),
            ("local x <", "src:1: <name> expected near <eof>"),
            ("local x <const", "src:1: '>' expected near <eof>"),
            ("local x <foo> = 1", "src:1: unknown attribute 'foo'"),
            (
                "local x <close>, y <close> = 1",
                "src:1: multiple to-be-closed variables in local list",
            ),
            (
                "local x <const>, y <close>, z <close>",
                "src:1: multiple to-be-closed variables in local list",
            ),
            ("local function", "src:1: <name> expected near <eof>"),
            ("local function f", "src:1: '(' expected near <eof>"),
            (
                "local function f(",
                "src:1: <name> or '...' expected near <eof>",
            ),
            ("local function f()", "src:1: 'end' expected near <eof>"),
            ("function", "src:1: <name> expected near <eof>"),
            ("function f", "src:1: '(' expected near <eof>"),
            ("function f.", "src:1: <name> expected near <eof>"),
            ("function f:", "src:1: <name> expected near <eof>"),
            ("function f:g.h() end", "src:1: '(' expected near '.'"),
            (
                "function f(a,) end",
                "src:1: <name> or '...' expected near ')'",
            ),
            ("function f(a b) end", "src:1: ')' expected near 'b'"),
            ("function f(..., a) end", "src:1: ')' expected near ','"),
            (
                "function f() return return end",
                "src:1: unexpected symbol near 'return'",
            ),
            ("if", "src:1: unexpected symbol near <eof>"),
            ("if x", "src:1: 'then' expected near <eof>"),
            ("if x then", "src:1: 'end' expected near <eof>"),
            (
                "if x then else else end",
                "src:1: 'end' expected near 'else'",
            ),
            (
                "if x then elseif end",
                "src:1: unexpected symbol near 'end'",
            ),
            (
                "if x then\n\nelse\n",
                "src:4: 'end' expected (to close 'if' at line 1) near <eof>",
            ),
            ("if x then end end", "src:1: <eof> expected near 'end'"),
            ("while", "src:1: unexpected symbol near <eof>"),
            ("while x", "src:1: 'do' expected near <eof>"),
            ("while x do", "src:1: 'end' expected near <eof>"),
            (
                "while x do\n\n",
                "src:3: 'end' expected (to close 'while' at line 1) near <eof>",
            ),
            ("while x then end", "src:1: 'do' expected near 'then'"),
            ("for", "src:1: <name> expected near <eof>"),
            ("for 1", "src:1: <name> expected near '1'"),
            ("for i", "src:1: '=' or 'in' expected near <eof>"),
            ("for i =", "src:1: unexpected symbol near <eof>"),
            ("for i = 1", "src:1: ',' expected near <eof>"),
            ("for i = 1, 2", "src:1: 'do' expected near <eof>"),
            ("for i = 1, 2 then", "src:1: 'do' expected near 'then'"),
            ("for i = 1, 2, 3, 4 do end", "src:1: 'do' expected near ','"),
            ("for a, b", "src:1: 'in' expected near <eof>"),
            ("for a, 1 in x do end", "src:1: <name> expected near '1'"),
            ("for a, b in do end", "src:1: unexpected symbol near 'do'"),
            (
                "for a in x\ndo\n",
                "src:3: 'end' expected (to close 'for' at line 1) near <eof>",
            ),
            (
                "for a.b = 1, 2 do end",
                "src:1: '=' or 'in' expected near '.'",
            ),
            ("repeat", "src:1: 'until' expected near <eof>"),
            ("repeat x = 1", "src:1: 'until' expected near <eof>"),
            ("repeat until", "src:1: unexpected symbol near <eof>"),
            ("repeat\n\nuntil", "src:3: unexpected symbol near <eof>"),
            ("do", "src:1: 'end' expected near <eof>"),
            (
                "do\n\n",
                "src:3: 'end' expected (to close 'do' at line 1) near <eof>",
            ),
            ("do end end", "src:1: <eof> expected near 'end'"),
            ("goto", "src:1: <name> expected near <eof>"),
            ("goto 1", "src:1: <name> expected near '1'"),
            ("::", "src:1: <name> expected near <eof>"),
            ("::a", "src:1: '::' expected near <eof>"),
            ("::a:", "src:1: '::' expected near ':'"),
            ("::1::", "src:1: <name> expected near '1'"),
            ("break x", "src:1: syntax error near <eof>"),
            ("return 1 x", "src:1: <eof> expected near 'x'"),
            ("return return", "src:1: unexpected symbol near 'return'"),
            ("return 1,", "src:1: unexpected symbol near <eof>"),
            ("return;;", "src:1: <eof> expected near ';'"),
            ("x = 1 end", "src:1: <eof> expected near 'end'"),
            ("x = 1 until", "src:1: <eof> expected near 'until'"),
            ("x = 1 else", "src:1: <eof> expected near 'else'"),
            ("x = 1 elseif", "src:1: <eof> expected near 'elseif'"),
            ("x = ...", "OK"),
            (
                "function f() return ... end",
                "src:1: cannot use '...' outside a vararg function near '...'",
            ),
            (
                "function f(...) return function() return ... end end",
                "src:1: cannot use '...' outside a vararg function near '...'",
            ),
            (
                "function f(a) local x = ... end",
                "src:1: cannot use '...' outside a vararg function near '...'",
            ),
            ("x = function(...) end", "OK"),
            ("local function f(...) return ... end", "OK"),
            ("x = not", "src:1: unexpected symbol near <eof>"),
            ("x = #", "src:1: unexpected symbol near <eof>"),
            ("x = -", "src:1: unexpected symbol near <eof>"),
            ("x = ~", "src:1: unexpected symbol near <eof>"),
            ("x = 1 ~", "src:1: unexpected symbol near <eof>"),
            ("x = a..", "src:1: unexpected symbol near <eof>"),
            ("x = {...}", "OK"),
            ("x = @", "src:1: unexpected symbol near '@'"),
            ("x = $", "src:1: unexpected symbol near '$'"),
            ("x = ?", "src:1: unexpected symbol near '?'"),
            ("x = `", "src:1: unexpected symbol near '`'"),
            ("x = !", "src:1: unexpected symbol near '!'"),
            ("x = \\", "src:1: unexpected symbol near '\\'"),
            ("f(\n)", "OK"),
            ("f\n(a)", "OK"),
            ("x = f\n'str' .. g", "OK"),
            ("f{}", "OK"),
            ("f'x'", "OK"),
            ("f[[x]]", "OK"),
            ("a.b.c = 1", "OK"),
            ("a[b][c] = 1", "OK"),
            ("x = 1 2", "src:1: unexpected symbol near '2'"),
            ("x = 'a' 'b'", "src:1: unexpected symbol near ''b''"),
            ("x = 1.5 2.5", "src:1: unexpected symbol near '2.5'"),
            ("x = a b", "src:1: syntax error near <eof>"),
            ("x = true false", "src:1: unexpected symbol near 'false'"),
            ("x = nil nil", "src:1: unexpected symbol near 'nil'"),
            ("x = {} {}", "src:1: unexpected symbol near '{'"),
            ("x = function", "src:1: '(' expected near <eof>"),
            (
                "x = function(",
                "src:1: <name> or '...' expected near <eof>",
            ),
            ("x = function()", "src:1: 'end' expected near <eof>"),
            ("x = function() end end", "src:1: <eof> expected near 'end'"),
            ("f(a,)", "src:1: unexpected symbol near ')'"),
            ("f(a b)", "src:1: ')' expected near 'b'"),
            ("f(,)", "src:1: unexpected symbol near ','"),
            ("a.b.c", "src:1: syntax error near <eof>"),
            ("a[1]", "src:1: syntax error near <eof>"),
            ("a:b()", "OK"),
            ("a:b'x'", "OK"),
            ("a:b{}", "OK"),
            ("::a:: ::b:: ::c", "src:1: '::' expected near <eof>"),
            ("x = 1;;;", "OK"),
            (";;;", "OK"),
            ("x = 0x1p", "src:1: malformed number near '0x1p'"),
            ("x = 1e+", "src:1: malformed number near '1e+'"),
            ("x = 08", "OK"),
            ("x = 0x1.8p1", "OK"),
            ("x = 1//2", "OK"),
            ("x = 1 // // 2", "src:1: unexpected symbol near '//'"),
            ("\n\n  x = 'abc\n", "src:3: unfinished string near ''abc'"),
            (
                "x = [==[\n\n",
                "src:3: unfinished long string (starting at line 1) near <eof>",
            ),
            (
                "--[==[\n\n",
                "src:3: unfinished long comment (starting at line 1) near <eof>",
            ),
            ("--[==[ ]] ]==] x = ", "src:1: unexpected symbol near <eof>"),
        ];
        for (src, expected) in cases {
            match parse(src.as_bytes(), "src") {
                Ok(_) => assert_eq!(*expected, "OK", "{src:?}"),
                Err(e) => assert_eq!(e.0, *expected, "{src:?}"),
            }
        }
    }

    #[test]
    fn stray_bytes() {
        assert_eq!(
            parse_err("x = \x01"),
            "src:1: unexpected symbol near '<\\1>'"
        );
        assert_eq!(
            parse(b"x = \x80", "src").unwrap_err().0,
            "src:1: unexpected symbol near '<\\128>'"
        );
        // PUC Lua's token 0 is "false", so the message has no "near" part.
        assert_eq!(parse_err("x = 1 \0 y"), "src:1: unexpected symbol");
        // A string or name quoted in a message is cut at a NUL byte.
        assert_eq!(
            parse_err("x = 1 'a\\0b'"),
            "src:1: unexpected symbol near ''a'"
        );
    }

    /// `depth` copies of `open`, a core, then `depth` copies of `close`.
    fn nested(open: &str, core: &str, close: &str, depth: usize) -> String {
        format!("{}{core}{}", open.repeat(depth), close.repeat(depth))
    }

    /// Constructs that nest, as (prefix, open, core, close, syntax levels
    /// per nesting).
    const NESTINGS: &[(&str, &str, &str, &str, usize)] = &[
        ("x = ", "(", "1", ")", 1),
        ("x = ", "{", "", "}", 1),
        ("x = ", "{", "1", "}", 1),
        ("", "do ", "", " end", 1),
        ("", "while x do ", "", " end", 1),
        ("", "if x then else ", "", " end", 1),
        ("", "function f() ", "", " end", 1),
        ("x = ", "function() return ", "1", " end", 2),
        ("x = ", "- ", "1", "", 1),
        ("x = ", "not ", "1", "", 1),
        ("x = ", "a .. ", "1", "", 1),
        ("x = ", "2 ^ ", "1", "", 1),
        ("x = ", "f(", "1", ")", 1),
        ("x = ", "a[", "1", "]", 1),
        ("a", ", a", " = 1", "", 1),
        ("", "::l:: ", "", "", 1),
        ("x = ", "f{", "", "}", 1),
        ("x = ", "a:b{", "", "}", 1),
        ("x = ", "{[", "1", "] = 1}", 1),
        ("x = ", "{x = ", "1", "}", 1),
        ("x = ", "a.b(", "1", ")", 1),
        ("x = ", "f(1, ", "1", ")", 1),
        ("", "local x = function() ", "", " end", 2),
        ("", "for i = 1, 2 do ", "", " end", 1),
        ("", "for k, v in next, t do ", "", " end", 1),
        ("", "repeat ", "", " until x", 1),
        ("", "if x then ", "", " end", 1),
    ];

    /// Chains, as (prefix, link, suffix): no nesting, however many links.
    const CHAINS: &[(&str, &str, &str)] = &[
        ("x = a", " + a", ""),
        ("x = a", " - a * a // a", ""),
        ("x = a", " or a", ""),
        ("x = a", " and a", ""),
        ("x = a", " == a", ""),
        ("x = a", " < a and a", ""),
        ("x = a", " or a and a == a", ""),
        ("x = (a)", " + (a)", ""),
        ("x = a", " | a ~ a & a << a", ""),
        ("x = a", " + -a", ""),
        ("x = a", " .. a == a", ""),
        ("x = a", ".b", ""),
        ("x = a", "[1]", ""),
        ("x = a", "[a + a]", ""),
        ("x = f", "()", ""),
        ("x = f", "(a, a)", ""),
        ("x = a", ":b()", ""),
        ("f", "'s'", ""),
        ("f", "{}", ""),
        ("a", ".b", " = 1"),
        ("a", "[k]", " = 1"),
        ("x = a", ".b(1)[2]:c'd'{} + a", ""),
    ];

    /// The deepest nesting of each construct that parses.
    fn deepest_ok(levels: usize) -> usize {
        (MAX_SYNTAX_DEPTH - 3) / levels
    }

    #[test]
    fn deep_nesting_is_an_error_like_lua() {
        for &(prefix, open, core, close, levels) in NESTINGS {
            let src = format!("{prefix}{}", nested(open, core, close, deepest_ok(levels)));
            assert!(parse(src.as_bytes(), "src").is_ok(), "{prefix}{open}...");
            // PUC Lua's test suite requires 500 levels to fail.
            let src = format!("{prefix}{}", nested(open, core, close, 500));
            assert_eq!(parse_err(&src), "C stack overflow", "{prefix}{open}...");
        }
    }

    #[test]
    fn nesting_limit_is_max_syntax_depth() {
        // `x = (...)`: one level for the statement, one for the outer
        // expression, one per parenthesis.
        let ok = format!("x = {}", nested("(", "1", ")", MAX_SYNTAX_DEPTH - 2));
        parse_ok(&ok);
        let too_deep = format!("x = {}", nested("(", "1", ")", MAX_SYNTAX_DEPTH - 1));
        assert_eq!(parse_err(&too_deep), "C stack overflow");
    }

    /// How many links the chain ending at `e` has (its left spine).
    fn links(e: &Expr) -> usize {
        std::iter::successors(e.first_operand(), |e| e.first_operand()).count()
    }

    /// The expression that `src`, one statement, computes or assigns.
    fn stat_expr(chunk: &Chunk) -> &Expr {
        match &chunk.block.stats[0].kind {
            StatKind::Assign { targets, exprs } => match exprs[0].kind {
                ExprKind::Int(_) => &targets[0],
                _ => &exprs[0],
            },
            StatKind::Call(call) => call,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn chains_cost_no_levels() {
        for &(prefix, link, suffix) in CHAINS {
            // 500 levels of nesting fail; 500 links do not.
            let src = format!("{prefix}{}{suffix}", link.repeat(500));
            let chunk = parse_ok(&src);
            assert!(links(stat_expr(&chunk)) >= 500, "{src}");
            // Nor in nesting: inside parentheses, as deep as two links can
            // be (the second one may nest deeper, as a right operand), 300
            // links parse too, and one level more fails.
            let parens = |depth, links: usize| {
                let core = format!("(a{})", link.repeat(links));
                format!("x = {}", nested("(", &core, ")", depth))
            };
            let deepest = (0..MAX_SYNTAX_DEPTH)
                .rev()
                .find(|&depth| parse(parens(depth, 2).as_bytes(), "src").is_ok())
                .expect("some depth parses");
            assert!(deepest > MAX_SYNTAX_DEPTH - 10, "{link}: {deepest}");
            parse_ok(&parens(deepest, 300));
            assert_eq!(parse_err(&parens(deepest + 1, 2)), "C stack overflow");
            assert_eq!(parse_err(&parens(deepest + 1, 300)), "C stack overflow");
        }
    }

    /// 100,000 levels of nesting fail cleanly even on a 256 KiB stack.
    #[test]
    fn very_deep_nesting_on_a_small_stack() {
        let handle = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| {
                for &(prefix, open, core, close, levels) in NESTINGS {
                    let src = format!("{prefix}{}", nested(open, core, close, 100_000));
                    let result = parse(src.as_bytes(), "src");
                    assert_eq!(
                        result.unwrap_err().0,
                        "C stack overflow",
                        "{prefix}{open}..."
                    );
                    // The deepest accepted input fits too.
                    let src = format!("{prefix}{}", nested(open, core, close, deepest_ok(levels)));
                    assert!(parse(src.as_bytes(), "src").is_ok(), "{prefix}{open}...");
                }
                // And chains of any length, which are parsed, and dropped,
                // without recursing on their length.
                for &(prefix, link, suffix) in CHAINS {
                    let src = format!("{prefix}{}{suffix}", link.repeat(100_000));
                    let chunk = parse(src.as_bytes(), "src").map_err(|e| e.0);
                    let chunk = chunk.unwrap_or_else(|e| panic!("{prefix}{link}...: {e}"));
                    assert!(links(stat_expr(&chunk)) >= 100_000, "{prefix}{link}...");
                }
            })
            .unwrap();
        handle.join().unwrap();
    }
}
