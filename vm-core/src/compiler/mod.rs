//! The front end: source text to `Proto` (`llex.c`, `lparser.c`, `lcode.c`).
//!
//! Data flow: `lex` turns bytes into tokens, `parse` builds the tree of
//! each top-level statement (bounding nesting depth so deep input is an
//! error, not a Rust stack overflow), `code` walks it and emits
//! register-based bytecode with constant folding and upvalue resolution,
//! then the tree is dropped and the next statement parsed.

pub mod ast;
pub(crate) mod code;
pub(crate) mod lex;
pub(crate) mod parse;
#[cfg(test)]
pub(crate) mod pretty;
pub(crate) mod stream;

use std::fmt;
use std::sync::Arc;

use crate::func::Proto;
use crate::value::StrRef;

/// Maximum nesting of syntactic constructs (blocks, expressions, calls) the
/// parser accepts, like `LUAI_MAXCCALLS` (200) in PUC Lua. Chains of binary
/// operators and of suffixes (`a + b + c`, `a.b:c()`) do not nest, however
/// long. The code generator's recursion is bounded by the same limit.
pub const MAX_SYNTAX_DEPTH: usize = 200;

/// A compile-time error, already formatted as Lua formats it:
/// `chunkname:line: message near 'token'`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError(pub String);

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SyntaxError {}

impl SyntaxError {
    /// Whether this is "not enough memory": the compilation may be tried
    /// again after a collection, and it decides nothing about the text.
    pub(crate) fn is_memory(&self) -> bool {
        self.0 == crate::limit::MEMORY_MESSAGE
    }
}

/// Turns string literals into heap strings while compiling.
pub trait Interner {
    /// Returns the interned string with these bytes.
    fn intern(&mut self, bytes: &[u8]) -> StrRef;
}

/// Parses a chunk. `chunkname` is the display name used in error messages
/// (`script.lua`, `stdin`, `[string "..."]`).
///
/// # Errors
/// Returns the first syntax error.
pub fn parse(source: &[u8], chunkname: &str) -> Result<ast::Chunk, SyntaxError> {
    parse::parse_chunk(source, chunkname)
}

/// Compiles a parsed chunk into the prototype of its main function. The main
/// function is variadic and has exactly one upvalue, `_ENV` (`in_stack`,
/// index 0), which the loader sets to the globals table.
///
/// `source` is the raw chunk name stored in every prototype (`@file.lua`,
/// `=stdin`, or the source text); `chunkname` its display form for errors.
///
/// # Errors
/// Returns errors found while generating code (`goto` into the scope of a
/// local, assignment to a `<const>` variable, too many registers, ...).
pub fn generate(
    chunk: &ast::Chunk,
    source: Arc<str>,
    chunkname: &str,
    interner: &mut dyn Interner,
) -> Result<Proto, SyntaxError> {
    code::generate(chunk, source, chunkname, interner)
}

/// Parses and compiles in one step.
///
/// # Errors
/// Returns the first syntax or code-generation error.
pub fn compile(
    text: &[u8],
    source: Arc<str>,
    chunkname: &str,
    interner: &mut dyn Interner,
) -> Result<Proto, SyntaxError> {
    compile_within(text, source, chunkname, interner, usize::MAX)
}

/// [`compile`], failing with "not enough memory" where the estimated
/// memory of the compilation (see [`parse::TOKEN_BYTES`]) passes `budget`.
pub(crate) fn compile_within(
    text: &[u8],
    source: Arc<str>,
    chunkname: &str,
    interner: &mut dyn Interner,
    budget: usize,
) -> Result<Proto, SyntaxError> {
    let mut gen = code::MainGen::new(source);
    // Each top-level statement's code is generated as soon as it is
    // parsed (and its tree dropped), so errors come in source order, as
    // PUC Lua's one-pass compiler finds them.
    let mut parse = |gen: &mut code::MainGen| {
        let mut p = parse::Parser::new(lex::Lexer::new(text, chunkname), budget)?;
        let mut stats = Vec::new();
        let mut ret = None;
        while !p.block_follow(true) {
            if p.tok == lex::Token::Return {
                ret = Some(p.final_return()?);
                break;
            }
            p.statement(&mut stats)?;
            for stat in stats.drain(..) {
                gen.statement(stat, chunkname, &mut *interner)?;
            }
        }
        p.check(lex::Token::Eof)?;
        Ok::<_, SyntaxError>((ret, p.line()))
    };
    match parse(&mut gen) {
        Ok((ret, end_line)) => {
            let rest = ast::Block {
                stats: Vec::new(),
                ret,
            };
            gen.finish(rest, end_line, chunkname, interner)
        }
        // Labels waiting for the statement that failed come before it.
        Err(e) if !e.is_memory() => {
            gen.check_labels(chunkname, interner)?;
            Err(e)
        }
        Err(e) => Err(e),
    }
}
