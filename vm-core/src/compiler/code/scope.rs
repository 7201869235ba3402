//! Scopes (`lparser.c`): local variables and their registers, name
//! resolution through enclosing functions into upvalues, blocks, and the
//! resolution of `goto`/`break` against labels with Lua 5.4's rules.

use std::collections::HashMap;
use std::sync::Arc;

use super::exp::{ExpDesc, ExpKind};
use super::state::{BlockCnt, FuncState, JumpList};
use super::{CResult, CompileError, Compiler};
use crate::func::{LocVar, UpvalDesc};
use crate::opcodes::Op;
use crate::value::Value;

/// A variable's or label's name, owned so that a generator's state does
/// not borrow the syntax tree (a chunk loaded in pieces drops each
/// statement once its code is generated).
pub(super) type Name = Arc<str>;

/// Name of the environment upvalue/variable.
pub(super) const ENV: &str = "_ENV";
/// Name of the implicit label at the end of a loop, target of `break`
/// (a reserved word, so no user label can have it).
pub(super) const BREAK: &str = "break";
/// Maximum number of local variables per function (`MAXVARS`).
const MAX_VARS: usize = 200;
/// Maximum number of upvalues per function (`MAXUPVAL`).
const MAX_UPVALS: usize = 255;

/// What kind of local a variable is.
#[derive(Clone, Copy, Debug)]
pub(super) enum VarKind {
    /// A plain local.
    Regular,
    /// `<const>` held in a register (read-only).
    Const,
    /// `<close>` (read-only, closed when it goes out of scope).
    Close,
    /// `<const>` with a constant value: occupies no register.
    CompileTime(Value),
}

/// A declared local variable (`Vardesc`).
#[derive(Clone, Debug)]
pub(super) struct VarDesc {
    pub(super) name: Name,
    pub(super) kind: VarKind,
    /// Register (not for compile-time constants).
    reg: u8,
    /// Index of its debug entry in `locvars` (not for compile-time constants).
    locvar: usize,
}

impl VarDesc {
    /// The value of a compile-time constant.
    pub(super) fn constant(&self) -> Option<Value> {
        match self.kind {
            VarKind::CompileTime(v) => Some(v),
            _ => None,
        }
    }

    fn in_register(&self) -> bool {
        !matches!(self.kind, VarKind::CompileTime(_))
    }
}

/// A visible label (`Labeldesc`).
#[derive(Clone, Debug)]
pub(super) struct Label {
    name: Name,
    line: u32,
    pc: usize,
    /// Active locals at the label.
    nactvar: usize,
    /// The label of the same name it hides in [`Labels::last`], if any
    /// (one of an enclosing function; in one function, names are unique).
    hides: Option<usize>,
}

/// The visible labels of all open blocks of all open functions, innermost
/// last (`Dyndata.label`), indexed by name so that finding one does not
/// scan the others (which made `goto`s and labels quadratic).
#[derive(Default)]
pub(super) struct Labels {
    list: Vec<Label>,
    /// For each name, the index in `list` of its last label.
    last: HashMap<Name, usize>,
}

impl Labels {
    /// Number of labels, where the next block or function starts its own.
    pub(super) fn len(&self) -> usize {
        self.list.len()
    }

    fn push(&mut self, mut label: Label) {
        label.hides = self.last.insert(label.name.clone(), self.list.len());
        self.list.push(label);
    }

    /// The label named `name` among those from index `first` on. Names are
    /// unique among the visible labels of a function, so only the last
    /// label of that name can be one of the current function's.
    fn find(&self, name: &str, first: usize) -> Option<&Label> {
        let &index = self.last.get(name)?;
        if index < first {
            return None;
        }
        self.list.get(index)
    }

    /// Forgets the labels from index `len` on (at the end of their block).
    fn truncate(&mut self, len: usize) {
        while self.list.len() > len {
            let Some(label) = self.list.pop() else { break };
            match label.hides {
                Some(hidden) => self.last.insert(label.name, hidden),
                None => self.last.remove(&label.name),
            };
        }
    }
}

/// A pending forward `goto` or `break` (`Labeldesc` of the goto list).
#[derive(Clone, Debug)]
pub(super) struct Goto {
    name: Name,
    line: u32,
    /// The jumps to patch when the label is found.
    jumps: JumpList,
    /// Active locals at the goto, lowered as it leaves blocks.
    nactvar: usize,
    /// It leaves the scope of a captured or to-be-closed variable.
    close: bool,
}

/// The pending gotos of all open blocks of all open functions, in the
/// order they were met (`Dyndata.gt`), indexed by name: a label takes its
/// gotos without scanning (or shifting) the others, which made a label
/// cost as much as all pending gotos and resolving `n` gotos quadratic.
///
/// A goto resolved before some goto met after it stays as a hole (`None`)
/// until those are resolved too, so indices never change; holes are
/// dropped from the end. Leaving a block visits its gotos and holes (to
/// lower their levels, `movegotosout`), so each goto is visited at most
/// once per block around it, a number the parser's nesting limit bounds.
#[derive(Default)]
pub(super) struct Gotos {
    list: Vec<Option<Goto>>,
    /// For each name, the indices in `list` of its pending gotos, in order.
    by_name: HashMap<Name, Vec<usize>>,
}

impl Gotos {
    /// Number of entries, where the next block starts its own.
    pub(super) fn len(&self) -> usize {
        self.list.len()
    }

    fn push(&mut self, goto: Goto) {
        self.by_name
            .entry(goto.name.clone())
            .or_default()
            .push(self.list.len());
        self.list.push(Some(goto));
    }

    /// Removes and returns, in order, the pending gotos named `name` from
    /// index `first` on (those of the current block).
    fn take(&mut self, name: &str, first: usize) -> Vec<Goto> {
        let Some(indices) = self.by_name.get_mut(name) else {
            return Vec::new();
        };
        let start = indices.partition_point(|&i| i < first);
        let list = &mut self.list;
        let taken = indices
            .drain(start..)
            .filter_map(|i| list.get_mut(i).and_then(Option::take))
            .collect();
        if indices.is_empty() {
            self.by_name.remove(name);
        }
        while self.list.len() > first && matches!(self.list.last(), Some(None)) {
            self.list.pop();
        }
        taken
    }

    /// The pending gotos from index `first` on, in order.
    fn pending_mut(&mut self, first: usize) -> impl Iterator<Item = &mut Goto> {
        self.list
            .get_mut(first..)
            .unwrap_or_default()
            .iter_mut()
            .flatten()
    }

    /// The first pending goto from index `first` on.
    fn first_pending(&self, first: usize) -> Option<&Goto> {
        self.list
            .get(first..)
            .unwrap_or_default()
            .iter()
            .flatten()
            .next()
    }

    /// Drops the entries from index `len` on, all resolved (at the end of
    /// a function).
    fn truncate(&mut self, len: usize) {
        debug_assert!(self.first_pending(len).is_none());
        self.list.truncate(len);
    }
}

/// Searches the active locals of `fs` for `name` (`searchvar`).
fn search_var(actvar: &[VarDesc], fs: &FuncState, name: &str) -> Option<ExpKind> {
    (0..fs.nactvar).rev().find_map(|vidx| {
        let index = fs.first_local + vidx;
        let var = actvar.get(index)?;
        (*var.name == *name).then_some(match var.kind {
            VarKind::CompileTime(_) => ExpKind::Const(index),
            _ => ExpKind::Local { reg: var.reg, vidx },
        })
    })
}

/// Searches the upvalues of `fs` for `name` (`searchupvalue`).
fn search_upvalue(fs: &FuncState, name: &str) -> Option<u8> {
    let index = fs.proto.upvalues.iter().position(|u| u.name == name)?;
    u8::try_from(index).ok()
}

/// "too many X (limit is N) in F" (`errorlimit`).
fn limit_error(fs: &FuncState, limit: usize, what: &str) -> CompileError {
    let place = match fs.proto.line_defined {
        0 => "main function".to_string(),
        line => format!("function at line {line}"),
    };
    fs.error(format!("too many {what} (limit is {limit}) in {place}"))
}

impl Compiler<'_> {
    /// The variable with index `vidx` among the current function's.
    fn var(&self, vidx: usize) -> Option<&VarDesc> {
        self.actvar.get(self.fs.first_local + vidx)
    }

    /// Number of registers used by the first `nvar` active variables of the
    /// current function (`reglevel`).
    pub(super) fn reg_level(&self, nvar: usize) -> usize {
        let first = self.fs.first_local;
        let end = (first + nvar).min(self.actvar.len());
        self.actvar[first.min(end)..end]
            .iter()
            .rev()
            .find(|v| v.in_register())
            .map_or(0, |v| usize::from(v.reg) + 1)
    }

    /// Declares a local, not yet active (`new_localvar`); returns its index
    /// among the function's variables.
    pub(super) fn new_local(&mut self, name: &str, kind: VarKind) -> CResult<usize> {
        let count = self.actvar.len() + 1 - self.fs.first_local;
        if count > MAX_VARS {
            return Err(limit_error(&self.fs, MAX_VARS, "local variables"));
        }
        self.actvar.push(VarDesc {
            name: name.into(),
            kind,
            reg: 0,
            locvar: 0,
        });
        Ok(count - 1)
    }

    /// Activates the next `n` declared locals, giving them consecutive
    /// registers and debug entries starting here (`adjustlocalvars`).
    pub(super) fn adjust_local_vars(&mut self, n: usize) {
        let mut level = self.fs.nvarstack;
        let pc = self.fs.index_u32(self.fs.pc());
        for _ in 0..n {
            let index = self.fs.first_local + self.fs.nactvar;
            self.fs.nactvar += 1;
            let Some(var) = self.actvar.get_mut(index) else {
                continue;
            };
            // At most `MAX_VARS` (200) locals exist, so registers fit.
            var.reg = level as u8;
            level += 1;
            var.locvar = self.fs.proto.locvars.len();
            self.fs.proto.locvars.push(LocVar {
                name: var.name.to_string(),
                start_pc: pc,
                end_pc: pc,
            });
        }
        self.fs.nvarstack = level;
    }

    /// Activates the last declared local as a compile-time constant.
    pub(super) fn activate_compile_time_const(&mut self, value: Value) {
        let index = self.fs.first_local + self.fs.nactvar;
        if let Some(var) = self.actvar.get_mut(index) {
            var.kind = VarKind::CompileTime(value);
        }
        self.fs.nactvar += 1;
    }

    /// The kind of the last declared local.
    pub(super) fn last_var_kind(&self) -> Option<VarKind> {
        self.actvar.last().map(|v| v.kind)
    }

    /// Makes a local's debug entry start at the current instruction.
    pub(super) fn restart_local_debug_info(&mut self, vidx: usize) {
        let pc = self.fs.index_u32(self.fs.pc());
        if let Some(locvar) = self.var(vidx).map(|v| v.locvar) {
            if let Some(info) = self.fs.proto.locvars.get_mut(locvar) {
                info.start_pc = pc;
            }
        }
    }

    /// Ends the scope of the locals beyond the first `to_level`
    /// (`removevars`).
    fn remove_vars(&mut self, to_level: usize) {
        let pc = self.fs.index_u32(self.fs.pc());
        for vidx in to_level..self.fs.nactvar {
            let var = self.var(vidx).filter(|v| v.in_register());
            let locvar = var.map(|v| v.locvar);
            if let Some(info) = locvar.and_then(|i| self.fs.proto.locvars.get_mut(i)) {
                info.end_pc = pc;
            }
        }
        self.actvar.truncate(self.fs.first_local + to_level);
        self.fs.nactvar = to_level;
        self.fs.nvarstack = self.reg_level(to_level);
    }

    /// The function `depth` levels out (0: the current one).
    fn func_at(&mut self, depth: usize) -> Option<&mut FuncState> {
        match depth {
            0 => Some(&mut self.fs),
            _ => {
                let index = self.outer.len().checked_sub(depth)?;
                self.outer.get_mut(index)
            }
        }
    }

    /// Marks the block of the function `depth` levels out that declares
    /// local `vidx` as having a captured variable (`markupval`).
    fn mark_upval(&mut self, depth: usize, vidx: usize) {
        if let Some(fs) = self.func_at(depth) {
            if let Some(block) = fs.blocks.iter_mut().rev().find(|b| b.nactvar <= vidx) {
                block.upval = true;
            }
            fs.need_close = true;
        }
    }

    /// Marks the current block as holding a to-be-closed variable
    /// (`marktobeclosed`).
    pub(super) fn mark_to_be_closed(&mut self) {
        if let Some(block) = self.fs.blocks.last_mut() {
            block.upval = true;
            block.inside_tbc = true;
        }
        self.fs.need_close = true;
    }

    /// Adds an upvalue to the function `depth` levels out, for `var` found
    /// in its enclosing function (`newupvalue`).
    fn new_upvalue(&mut self, depth: usize, name: &str, var: ExpKind) -> CResult<u8> {
        let (in_stack, index, readonly) = match var {
            ExpKind::Local { reg, vidx } => {
                let enclosing = self.func_at(depth + 1).map(|fs| fs.first_local + vidx);
                let kind = enclosing.and_then(|i| self.actvar.get(i)).map(|v| v.kind);
                (
                    true,
                    reg,
                    kind.is_some_and(|k| !matches!(k, VarKind::Regular)),
                )
            }
            ExpKind::Upval(u) => {
                let readonly = self
                    .func_at(depth + 1)
                    .and_then(|fs| fs.upval_readonly.get(usize::from(u)).copied());
                (false, u, readonly.unwrap_or(false))
            }
            _ => return Err(self.error("syntax error")),
        };
        let current_line = self.fs.line;
        let Some(fs) = self.func_at(depth) else {
            return Err(self.error("syntax error"));
        };
        let count = fs.proto.upvalues.len();
        if count + 1 > MAX_UPVALS {
            let mut err = limit_error(fs, MAX_UPVALS, "upvalues");
            err.line = current_line;
            return Err(err);
        }
        fs.proto.upvalues.push(UpvalDesc {
            name: name.to_string(),
            in_stack,
            index,
        });
        fs.upval_readonly.push(readonly);
        Ok(count as u8)
    }

    /// Resolves `name` in the function `depth` levels out: a local, an
    /// upvalue (created along the way), a compile-time constant, or `Void`
    /// for a global (`singlevaraux`). `base` is false when the lookup comes
    /// from a nested function, so a local found is captured.
    fn single_var_aux(&mut self, depth: usize, name: &str, base: bool) -> CResult<ExpKind> {
        let Some(fs) = self.func_ref(depth) else {
            return Ok(ExpKind::Void);
        };
        if let Some(found) = search_var(&self.actvar, fs, name) {
            if let (ExpKind::Local { vidx, .. }, false) = (found, base) {
                self.mark_upval(depth, vidx);
            }
            return Ok(found);
        }
        let index = match search_upvalue(fs, name) {
            Some(index) => index,
            None => match self.single_var_aux(depth + 1, name, false)? {
                found @ (ExpKind::Local { .. } | ExpKind::Upval(_)) => {
                    self.new_upvalue(depth, name, found)?
                }
                // A global or a compile-time constant: nothing to capture.
                other => return Ok(other),
            },
        };
        Ok(ExpKind::Upval(index))
    }

    /// The function `depth` levels out, shared.
    fn func_ref(&self, depth: usize) -> Option<&FuncState> {
        match depth {
            0 => Some(&self.fs),
            _ => self.outer.get(self.outer.len().checked_sub(depth)?),
        }
    }

    /// Resolves a variable name (`singlevar`): globals become `_ENV.name`.
    pub(super) fn single_var(&mut self, name: &str) -> CResult<ExpDesc> {
        let found = self.single_var_aux(0, name, true)?;
        if found != ExpKind::Void {
            return Ok(ExpDesc::new(found));
        }
        let env = self.single_var_aux(0, ENV, true)?;
        if env == ExpKind::Void {
            return Err(self.error("syntax error"));
        }
        let mut var = ExpDesc::new(env);
        // `_ENV` may be a local, even a compile-time constant.
        self.exp_to_any_reg_up(&mut var)?;
        let key = ExpDesc::new(ExpKind::Str(self.intern(name.as_bytes())));
        self.indexed(&mut var, key)?;
        Ok(var)
    }

    /// Fails if `e` is a read-only variable (`check_readonly`).
    pub(super) fn check_readonly(&self, e: &ExpDesc) -> CResult<()> {
        let name = match e.k {
            ExpKind::Const(index) => self.actvar.get(index).map(|v| &*v.name),
            ExpKind::Local { vidx, .. } => self
                .var(vidx)
                .filter(|v| !matches!(v.kind, VarKind::Regular))
                .map(|v| &*v.name),
            ExpKind::Upval(u) => {
                let u = usize::from(u);
                match self.fs.upval_readonly.get(u) {
                    Some(true) => self.fs.proto.upvalues.get(u).map(|d| d.name.as_str()),
                    _ => None,
                }
            }
            _ => None,
        };
        match name {
            Some(name) => Err(self.error(format!("attempt to assign to const variable '{name}'"))),
            None => Ok(()),
        }
    }

    // ---- blocks ----

    /// Opens a block (`enterblock`).
    pub(super) fn enter_block(&mut self, is_loop: bool) {
        let inside_tbc = self.fs.blocks.last().is_some_and(|b| b.inside_tbc);
        self.fs.blocks.push(BlockCnt {
            nactvar: self.fs.nactvar,
            first_label: self.labels.len(),
            first_goto: self.gotos.len(),
            upval: false,
            inside_tbc,
            is_loop,
        });
        debug_assert_eq!(self.fs.free_reg, self.fs.nvarstack);
    }

    /// Closes the innermost block (`leaveblock`): ends its locals, resolves
    /// `break`s of a loop, emits the `CLOSE` its captured or to-be-closed
    /// locals need, and hands its pending gotos to the enclosing block (or
    /// reports them, at a function's outermost block). Returns the block.
    pub(super) fn leave_block(&mut self) -> CResult<BlockCnt> {
        let Some(&block) = self.fs.blocks.last() else {
            return Err(self.error("syntax error"));
        };
        let stack_level = self.reg_level(block.nactvar);
        // Before the block's locals go: the first of them in a register,
        // to know which pending gotos leave the scope of one.
        let first_reg_var = (block.nactvar..self.fs.nactvar)
            .find(|&vidx| self.var(vidx).is_some_and(|v| v.in_register()));
        self.remove_vars(block.nactvar);
        let mut has_close = false;
        if block.is_loop {
            has_close = self.create_label(BREAK, 0, false, self.fs.line)?;
        }
        let nested = self.fs.blocks.len() > 1;
        if !has_close && nested && block.upval {
            let a = self.stack_level_u8(stack_level);
            self.fs.emit(Op::Close { a });
        }
        self.fs.free_reg = stack_level;
        self.labels.truncate(block.first_label);
        self.fs.blocks.pop();
        if nested {
            // `movegotosout`
            for goto in self.gotos.pending_mut(block.first_goto) {
                if first_reg_var.is_some_and(|v| v < goto.nactvar) {
                    goto.close |= block.upval;
                }
                goto.nactvar = block.nactvar;
            }
        } else {
            if let Some(goto) = self.gotos.first_pending(block.first_goto) {
                return Err(self.undefined_goto(goto));
            }
            self.gotos.truncate(block.first_goto);
        }
        Ok(block)
    }

    /// A register level as an operand (levels of locals are below 200).
    pub(super) fn stack_level_u8(&self, level: usize) -> u8 {
        u8::try_from(level).unwrap_or(u8::MAX)
    }

    fn undefined_goto(&self, goto: &Goto) -> CompileError {
        if *goto.name == *BREAK {
            self.error(format!("break outside loop at line {}", goto.line))
        } else {
            self.error(format!(
                "no visible label '{}' for <goto> at line {}",
                goto.name, goto.line
            ))
        }
    }

    // ---- labels and gotos ----

    /// A label visible from the current block (`findlabel`).
    fn find_label(&self, name: &str) -> Option<Label> {
        self.labels.find(name, self.fs.first_label).cloned()
    }

    /// Records a pending goto (`newgotoentry`).
    pub(super) fn new_goto(&mut self, name: &str, line: u32, jumps: JumpList) {
        self.gotos.push(Goto {
            name: name.into(),
            line,
            jumps,
            nactvar: self.fs.nactvar,
            close: false,
        });
    }

    /// `goto name` (`gotostat`): a backward jump is resolved now (closing
    /// the locals it leaves), a forward one waits for its label.
    pub(super) fn goto_stat(&mut self, name: &str, line: u32) {
        match self.find_label(name) {
            Some(label) => {
                let level = self.reg_level(label.nactvar);
                if self.fs.nvarstack > level {
                    let a = self.stack_level_u8(level);
                    self.fs.emit(Op::Close { a });
                }
                let jump = self.fs.jump();
                self.fs.patch_list(Some(jump), label.pc);
            }
            None => {
                let jump = self.fs.jump();
                self.new_goto(name, line, Some(jump));
            }
        }
    }

    /// `::name::` (`labelstat`). `last`: only no-op statements follow it in
    /// its block, so the block's locals are already out of scope there.
    /// Errors are reported at `err_line`, the line of what follows.
    pub(super) fn label_stat(
        &mut self,
        name: &str,
        line: u32,
        last: bool,
        err_line: u32,
    ) -> CResult<()> {
        if let Some(previous) = self.find_label(name) {
            let mut err = self.error(format!(
                "label '{name}' already defined on line {}",
                previous.line
            ));
            err.line = err_line;
            return Err(err);
        }
        self.create_label(name, line, last, err_line)?;
        Ok(())
    }

    /// Creates a label here and resolves the pending gotos of the current
    /// block that target it, closing variables if one of them needs it;
    /// returns whether it emitted a `CLOSE` (`createlabel`).
    fn create_label(&mut self, name: &str, line: u32, last: bool, err_line: u32) -> CResult<bool> {
        let pc = self.fs.get_label();
        let nactvar = match self.fs.blocks.last() {
            Some(block) if last => block.nactvar,
            _ => self.fs.nactvar,
        };
        let label = Label {
            name: name.into(),
            line,
            pc,
            nactvar,
            hides: None,
        };
        self.labels.push(label.clone());
        if self.solve_gotos(&label, err_line)? {
            // Close from the label's own level: a label ending its block is
            // outside the scope of the block's locals, so a goto that left
            // an inner block with a to-be-closed variable closes it here.
            // (luac 5.4.4 uses the current level, which misses a variable
            // whose slot a later local of the block has taken.)
            let a = self.stack_level_u8(self.reg_level(nactvar));
            self.fs.emit(Op::Close { a });
            return Ok(true);
        }
        Ok(false)
    }

    /// Points the current block's pending gotos for `label` to it
    /// (`solvegotos`); returns whether one of them needs a `CLOSE`.
    fn solve_gotos(&mut self, label: &Label, err_line: u32) -> CResult<bool> {
        let first = self.fs.blocks.last().map_or(0, |b| b.first_goto);
        let mut need_close = false;
        for goto in self.gotos.take(&label.name, first) {
            if goto.nactvar < label.nactvar {
                let local = self.var(goto.nactvar).map_or("?", |v| &v.name);
                let mut err = self.error(format!(
                    "<goto {}> at line {} jumps into the scope of local '{local}'",
                    goto.name, goto.line
                ));
                err.line = err_line;
                return Err(err);
            }
            need_close |= goto.close;
            self.fs.patch_list(goto.jumps, label.pc);
        }
        Ok(need_close)
    }
}
