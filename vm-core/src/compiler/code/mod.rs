//! Code generator (`lcode.c`, plus the code-emitting half of `lparser.c`):
//! walks an `ast::Chunk` and produces the main function's `Proto`.
//!
//! The generator follows PUC Lua 5.4 closely, so `luac5.4 -l` listings are
//! a faithful guide to its output: one pass over the tree, expression
//! descriptors that delay emitting code until the use of a value is known
//! (`exp`), operators with constant folding and immediate/constant operand
//! forms (`ops`), registers allocated as a stack above the active locals
//! (`state`), lexical scopes, upvalues and `goto` resolution (`scope`).
//!
//! Module map:
//! - `state`: one function being compiled (code buffer, line info, jump
//!   lists, registers, constant table, the final pass),
//! - `exp`: expression descriptors and how they are discharged into
//!   registers, constants, jumps and stores,
//! - `ops`: unary and binary operators,
//! - `expr`: expressions of the tree (chains of operators and suffixes,
//!   constructors, functions),
//! - `scope`: variables, upvalues, blocks, labels and gotos,
//! - `stat`: statements.
//!
//! The walk recurses as the tree nests, which the parser bounds
//! ([`super::MAX_SYNTAX_DEPTH`]), and never along a chain, whose length is
//! unbounded: `expr::chain` follows a chain's left spine with a loop, and
//! jumps are added to the lists of `and`/`or` chains in constant time.
//!
//! Conventions the interpreter relies on (see also `opcodes.rs`):
//! - A vararg function starts with `VARARGPREP a` where `a` is its number of
//!   fixed parameters; the main chunk starts with `VARARGPREP 0`.
//! - `RETURN0`/`RETURN1` are only emitted in functions that are not vararg
//!   and have no captured locals or to-be-closed variables, so they need no
//!   closing and no vararg frame fix-up; everywhere else returns are `RETURN`.
//! - `TBC a` follows the initialisation of a `<close>` local in register `a`.
//!   `CLOSE a` is emitted when leaving a block (or jumping out of it with
//!   `break`/`goto`) whose locals are captured or to be closed, and before a
//!   backward `goto` that leaves the scope of a local. `RETURN` and
//!   `TAILCALL` carry no flag: the interpreter closes what is open itself.
//!   No tail call is emitted inside the scope of a to-be-closed variable.
//! - A generic `for` at base `a` keeps iterator, state, control and closing
//!   value in `R[a..a+3]` (`TFORPREP` marks `R[a+3]` to be closed); loop
//!   variables start at `R[a+4]`, and `max_stack` leaves room for the three
//!   slots `R[a+4..a+6]` that `TFORCALL` uses to call the iterator.
//! - Operands are never swapped in a way a metamethod could observe:
//!   `k + x` and `k * x` load `k` into a register, `x - k` is `SUBK` (not
//!   `ADDI` with `-k`), `x << k` uses `SHL`. Order comparisons with a constant
//!   on the left are `GTI`/`GEI`: `k < x` is `GTI x k`, which means
//!   `k < R[x]` (so `__lt(k, x)` and "attempt to compare number with ...").
//! - `consts` may hold `nil` (for `t.x = nil`, `x == nil`) besides booleans,
//!   numbers and strings.

mod exp;
mod expr;
mod ops;
mod scope;
mod stat;
mod state;
#[cfg(test)]
mod tests;

use std::mem;
use std::sync::Arc;

use super::{ast, Interner, SyntaxError};
use crate::func::{Proto, ProtoDraft, UpvalDesc};
use crate::opcodes::Op;
use crate::value::{StrRef, Value};
use exp::ExpDesc;
use scope::{Gotos, Labels, VarDesc};
use state::FuncState;

/// An error found while generating code: a message and the line it is
/// reported at. `generate` adds the chunk name.
#[derive(Clone, Debug)]
pub(super) struct CompileError {
    line: u32,
    msg: String,
}

/// Result of a code generation step.
type CResult<T> = Result<T, CompileError>;

/// Compiles a chunk into the prototype of its main function.
pub(crate) fn generate(
    chunk: &ast::Chunk,
    source: Arc<str>,
    chunkname: &str,
    interner: &mut dyn Interner,
) -> Result<Proto, SyntaxError> {
    let mut compiler = Compiler::new(source, interner);
    compiler.main_func(chunk).map_err(|e| located(chunkname, e))
}

/// A chunk's main function generated a statement at a time, as a chunk
/// loaded in pieces is parsed (`compiler::stream`): each statement's tree
/// is dropped once its code exists, so the work of code generation is
/// spread over the pieces too, and the last step is only the last
/// statements. Its strings are heap strings that nothing else refers to
/// yet: a collection between two statements must mark them
/// ([`MainGen::protos`], [`MainGen::constant_locals`]).
///
/// An error is reported by the statement that has it, before the text
/// after that statement is parsed: in source order, as PUC Lua's one-pass
/// compiler finds errors (but for a syntax error later in the same
/// statement, which the parse of the statement finds first).
pub(crate) struct MainGen {
    parts: Parts,
    /// The main function's prologue has been generated.
    opened: bool,
    /// Labels waiting for the statement after them, which decides whether
    /// they end the chunk (`label_run`).
    labels: Vec<ast::Stat>,
    /// Line of the last statement's last token.
    last_line: Option<u32>,
    /// The first error, after which statements are only dropped.
    error: Option<CompileError>,
}

impl MainGen {
    /// The generator of a chunk whose prototypes record `source`.
    pub(crate) fn new(source: Arc<str>) -> Self {
        MainGen {
            parts: Parts::new(source),
            opened: false,
            labels: Vec::new(),
            last_line: None,
            error: None,
        }
    }

    /// Generates the code of the next top-level statement; an error is the
    /// chunk's (as `chunkname:line: message`), and later calls repeat it.
    pub(crate) fn statement(
        &mut self,
        stat: ast::Stat,
        chunkname: &str,
        interner: &mut dyn Interner,
    ) -> Result<(), SyntaxError> {
        if matches!(stat.kind, ast::StatKind::Label(_)) {
            self.labels.push(stat);
            return Ok(());
        }
        self.last_line = Some(stat.end_line);
        let labels = mem::take(&mut self.labels);
        self.step(interner, |c| {
            if !labels.is_empty() {
                let after = std::slice::from_ref(&stat);
                c.label_run(&labels, after, None, stat::BlockEnd::at(stat.line))?;
            }
            c.statement(&stat)
        })
        .map_err(|e| located(chunkname, e))
    }

    /// The error in the labels waiting for the statement after them, if
    /// any (a label defined twice): where a syntax error ends the chunk
    /// after them, it comes first, as PUC Lua meets the labels first.
    pub(crate) fn check_labels(
        &mut self,
        chunkname: &str,
        interner: &mut dyn Interner,
    ) -> Result<(), SyntaxError> {
        let labels = mem::take(&mut self.labels);
        let Some(line) = labels.last().map(|l| l.line) else {
            return Ok(());
        };
        self.step(interner, |c| {
            c.label_run(&labels, &[], None, stat::BlockEnd::at(line))
        })
        .map_err(|e| located(chunkname, e))
    }

    /// Generates the last statements and the final `return` of a chunk
    /// whose end is at `end_line`, and returns its main function, or the
    /// first error (as `chunkname:line: message`).
    pub(crate) fn finish(
        &mut self,
        rest: ast::Block,
        end_line: u32,
        chunkname: &str,
        interner: &mut dyn Interner,
    ) -> Result<Proto, SyntaxError> {
        let mut stats = mem::take(&mut self.labels);
        stats.extend(rest.stats);
        let last_line = stats.last().map(|s| s.end_line).or(self.last_line);
        self.step(interner, |c| {
            c.stat_slice(&stats, rest.ret.as_ref(), stat::BlockEnd::at(end_line))?;
            if let (Some(line), None) = (last_line, &rest.ret) {
                c.fs.line = line;
            }
            c.close_func(end_line)
        })
        .map_err(|e| located(chunkname, e))
    }

    /// The prototypes being built (the main function's, and those of
    /// functions open around the statement being generated): their
    /// constants, and the prototypes finished inside them, are alive.
    pub(crate) fn protos(&self) -> impl Iterator<Item = &ProtoDraft> {
        let p = &self.parts;
        p.outer.iter().chain([&p.fs]).map(|fs| &fs.proto)
    }

    /// The functions finished in the main function, in order.
    pub(crate) fn functions(&self) -> &[Arc<Proto>] {
        &self.parts.fs.proto.protos
    }

    /// The values of the compile-time constant locals in scope.
    pub(crate) fn constant_locals(&self) -> impl Iterator<Item = Value> + '_ {
        self.parts.actvar.iter().filter_map(VarDesc::constant)
    }

    /// Runs `f` on the resumed generator, unless an error came first; the
    /// first error is kept.
    fn step<T>(
        &mut self,
        interner: &mut dyn Interner,
        f: impl FnOnce(&mut Compiler<'_>) -> CResult<T>,
    ) -> CResult<T> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let empty = Parts::new(self.parts.source.clone());
        let parts = mem::replace(&mut self.parts, empty);
        let mut c = Compiler::resume(parts, interner);
        if !self.opened {
            c.open_main();
            self.opened = true;
        }
        let r = f(&mut c);
        self.parts = c.suspend();
        if let Err(e) = &r {
            self.error = Some(e.clone());
        }
        r
    }
}

/// `chunkname:line: message`.
fn located(chunkname: &str, e: CompileError) -> SyntaxError {
    SyntaxError(format!("{chunkname}:{}: {}", e.line, e.msg))
}

/// A [`Compiler`] without its interner: what a generation keeps between
/// two statements.
struct Parts {
    fs: FuncState,
    outer: Vec<FuncState>,
    actvar: Vec<VarDesc>,
    labels: Labels,
    gotos: Gotos,
    source: Arc<str>,
}

impl Parts {
    fn new(source: Arc<str>) -> Self {
        Parts {
            fs: FuncState::new(source.clone(), 0, 0, 0),
            outer: Vec::new(),
            actvar: Vec::new(),
            labels: Labels::default(),
            gotos: Gotos::default(),
            source,
        }
    }
}

/// The state of one compilation: the function being compiled, the functions
/// enclosing it, and the variable, label and goto lists they share (like
/// `lparser.c`'s `Dyndata`; each function knows where its part starts).
struct Compiler<'i> {
    /// The function being compiled.
    fs: FuncState,
    /// Enclosing functions, innermost last.
    outer: Vec<FuncState>,
    /// Declared local variables of all open functions.
    actvar: Vec<VarDesc>,
    /// Visible labels of all open blocks.
    labels: Labels,
    /// Pending (forward) gotos and breaks of all open blocks.
    gotos: Gotos,
    interner: &'i mut dyn Interner,
    source: Arc<str>,
}

impl<'i> Compiler<'i> {
    fn new(source: Arc<str>, interner: &'i mut dyn Interner) -> Self {
        Compiler::resume(Parts::new(source), interner)
    }

    /// An error reported at the current line.
    fn error(&self, msg: impl Into<String>) -> CompileError {
        self.fs.error(msg)
    }

    fn intern(&mut self, bytes: &[u8]) -> StrRef {
        self.interner.intern(bytes)
    }

    /// Compiles the main function (`mainfunc`).
    fn main_func(&mut self, chunk: &ast::Chunk) -> CResult<Proto> {
        self.open_main();
        self.stat_list(&chunk.block, stat::BlockEnd::at(chunk.end_line))?;
        self.close_func(chunk.end_line)
    }

    /// Starts the main function: variadic, with `_ENV` as its only upvalue.
    fn open_main(&mut self) {
        self.fs.line = 1;
        self.enter_block(false);
        self.set_vararg(0);
        self.fs.proto.upvalues.push(UpvalDesc {
            name: scope::ENV.to_string(),
            in_stack: true,
            index: 0,
        });
        self.fs.upval_readonly.push(false);
    }

    /// Resumes a generation suspended between two statements.
    fn resume(parts: Parts, interner: &'i mut dyn Interner) -> Self {
        let Parts {
            fs,
            outer,
            actvar,
            labels,
            gotos,
            source,
        } = parts;
        Compiler {
            fs,
            outer,
            actvar,
            labels,
            gotos,
            interner,
            source,
        }
    }

    /// Suspends the generation (it no longer borrows the interner).
    fn suspend(self) -> Parts {
        Parts {
            fs: self.fs,
            outer: self.outer,
            actvar: self.actvar,
            labels: self.labels,
            gotos: self.gotos,
            source: self.source,
        }
    }

    /// Starts compiling a nested function defined at `line` (`open_func`).
    #[inline(never)]
    fn open_func(&mut self, line: u32) {
        let child = FuncState::new(
            self.source.clone(),
            line,
            self.actvar.len(),
            self.labels.len(),
        );
        let parent = mem::replace(&mut self.fs, child);
        self.outer.push(parent);
        self.enter_block(false);
    }

    /// Finishes the current function (`close_func`): final return, closing
    /// of its outermost block (where unresolved gotos are errors, reported
    /// at `end_line`) and the final pass. Returns its prototype and makes
    /// the enclosing function current again.
    #[inline(never)]
    fn close_func(&mut self, end_line: u32) -> CResult<Proto> {
        self.fs.ret(self.fs.nvarstack, Some(0))?;
        self.fs.line = end_line;
        self.leave_block()?;
        self.fs.finish()?;
        let parent = self.outer.pop();
        let done = match parent {
            Some(parent) => mem::replace(&mut self.fs, parent),
            None => mem::replace(&mut self.fs, FuncState::new(self.source.clone(), 0, 0, 0)),
        };
        Ok(done.proto.into())
    }

    /// Marks the current function variadic and emits its `VARARGPREP`.
    fn set_vararg(&mut self, num_params: u8) {
        self.fs.proto.is_vararg = true;
        self.fs.emit(Op::VarArgPrep { a: num_params });
    }

    /// Compiles a function body and leaves the new closure in the next free
    /// register (`body` + `codeclosure`).
    #[inline(never)]
    fn body(&mut self, func: &ast::FuncBody) -> CResult<ExpDesc> {
        self.open_func(func.line);
        self.fs.line = func.line;
        for param in &func.params {
            self.new_local(param, scope::VarKind::Regular)?;
        }
        self.adjust_local_vars(func.params.len());
        let num_params = self.fs.nactvar;
        // At most `MAX_VARS` (200) parameters got past `new_local`.
        self.fs.proto.num_params = u8::try_from(num_params).unwrap_or(u8::MAX);
        if func.is_vararg {
            self.set_vararg(self.fs.proto.num_params);
        }
        self.fs.reserve_regs(num_params)?;
        self.fs.proto.last_line_defined = func.end_line;
        self.stat_list(&func.body, stat::BlockEnd::at(func.end_line))?;
        // The final return and the `CLOSURE` are on the line of `end`.
        self.fs.line = func.end_line;
        let proto = self.close_func(func.end_line)?;
        self.fs.line = func.end_line;
        let index = self.fs.index_u32(self.fs.proto.protos.len());
        self.fs.proto.protos.push(Arc::new(proto));
        let pc = self.fs.emit(Op::Closure { a: 0, bx: index });
        let mut e = ExpDesc::new(exp::ExpKind::Reloc(pc));
        self.exp_to_next_reg(&mut e)?;
        Ok(e)
    }
}
