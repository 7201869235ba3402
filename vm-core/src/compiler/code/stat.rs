//! Statements (`lparser.c`'s `statement` and the functions it calls):
//! locals, assignments, calls, control structures, loops, `return`,
//! `goto`/labels and function definitions.

use super::exp::{ExpDesc, ExpKind};
use super::scope::{VarKind, BREAK};
use super::state::JumpList;
use super::{CResult, Compiler};
use crate::compiler::ast::{Attrib, Block, Expr, FuncBody, Return, Stat, StatKind};
use crate::opcodes::Op;
use crate::value::Value;

/// Name of the hidden locals of `for` loops.
const FOR_STATE: &str = "(for state)";

/// What ends a statement list, for `label` rules and error lines.
#[derive(Clone, Copy)]
pub(super) struct BlockEnd {
    /// Best known line of the token after the block (for error messages).
    line: u32,
    /// The block is a `repeat` body, whose locals the `until` condition
    /// still sees.
    until: bool,
}

impl BlockEnd {
    /// A block ended by `end`, `else`, `elseif` or the end of the chunk at
    /// `line`.
    pub(super) fn at(line: u32) -> Self {
        BlockEnd { line, until: false }
    }
}

impl Compiler<'_> {
    /// Compiles a block's statements in the current scope (`statlist`).
    pub(super) fn stat_list(&mut self, block: &Block, end: BlockEnd) -> CResult<()> {
        self.stat_slice(&block.stats, block.ret.as_ref(), end)?;
        // What ends the block (a `CLOSE`, a loop's jump back, the jump over
        // an `else`) is on the line of its last token, as in PUC Lua.
        if let (Some(last), None) = (block.stats.last(), &block.ret) {
            self.fs.line = last.end_line;
        }
        Ok(())
    }

    /// Compiles statements and an optional final `return`.
    pub(super) fn stat_slice(
        &mut self,
        stats: &[Stat],
        ret: Option<&Return>,
        end: BlockEnd,
    ) -> CResult<()> {
        let mut i = 0;
        while i < stats.len() {
            if matches!(stats[i].kind, StatKind::Label(_)) {
                let run = stats[i..]
                    .iter()
                    .take_while(|s| matches!(s.kind, StatKind::Label(_)))
                    .count();
                self.label_run(&stats[i..i + run], &stats[i + run..], ret, end)?;
                i += run;
            } else {
                self.statement(&stats[i])?;
                i += 1;
            }
        }
        if let Some(ret) = ret {
            self.ret_stat(ret)?;
            self.fs.free_reg = self.fs.nvarstack;
        }
        Ok(())
    }

    /// Consecutive labels. PUC Lua reads the no-op statements after a label
    /// before creating it, so a run of labels is created last to first,
    /// all seeing what follows the run.
    pub(super) fn label_run(
        &mut self,
        labels: &[Stat],
        after: &[Stat],
        ret: Option<&Return>,
        end: BlockEnd,
    ) -> CResult<()> {
        let last = after.is_empty() && ret.is_none() && !end.until;
        let next_line = after
            .first()
            .map(|s| s.line)
            .or(ret.map(|r| r.line))
            .unwrap_or(end.line);
        for stat in labels.iter().rev() {
            if let StatKind::Label(name) = &stat.kind {
                self.fs.line = stat.line;
                self.label_stat(name, stat.line, last, next_line.max(stat.line))?;
            }
        }
        Ok(())
    }

    /// Compiles a block in its own scope (`block`); `end_line` is the line
    /// of the token that ends it, where errors found at its end are reported.
    pub(super) fn block(&mut self, block: &Block, end_line: u32) -> CResult<()> {
        self.enter_block(false);
        self.stat_list(block, BlockEnd::at(end_line))?;
        self.leave_block()?;
        Ok(())
    }

    /// Compiles one statement; its temporaries are freed after it.
    pub(super) fn statement(&mut self, stat: &Stat) -> CResult<()> {
        self.fs.line = stat.line;
        let line = stat.line;
        match &stat.kind {
            StatKind::Local { names, exprs } => self.local_stat(names, exprs)?,
            StatKind::Assign { targets, exprs } => {
                self.assign_stat(targets, exprs, stat.end_line)?;
            }
            StatKind::Call(call) => self.call_stat(call)?,
            StatKind::Do(block) => self.block(block, stat.end_line)?,
            StatKind::While { cond, body } => self.while_stat(cond, body, stat.end_line)?,
            StatKind::Repeat { body, cond } => self.repeat_stat(body, cond)?,
            StatKind::If { arms, else_block } => {
                self.if_stat(arms, else_block.as_ref(), stat.end_line)?;
            }
            StatKind::NumFor {
                var,
                start,
                limit,
                step,
                body,
            } => self.num_for(
                var,
                [start, limit],
                step.as_ref(),
                body,
                [line, stat.end_line],
            )?,
            StatKind::GenFor { names, exprs, body } => {
                self.gen_for(names, exprs, body, [line, stat.end_line])?;
            }
            StatKind::Function { path, method, func } => {
                self.func_stat(path, method.as_deref(), func, line)?;
            }
            StatKind::LocalFunction { name, func } => self.local_func(name, func)?,
            StatKind::Break => {
                let jump = self.fs.jump();
                self.new_goto(BREAK, line, Some(jump));
            }
            StatKind::Goto(name) => self.goto_stat(name, line),
            StatKind::Label(name) => self.label_stat(name, line, false, line)?,
        }
        debug_assert!(
            self.fs.nvarstack <= self.fs.free_reg
                && self.fs.free_reg <= usize::from(self.fs.proto.max_stack)
        );
        self.fs.free_reg = self.fs.nvarstack;
        Ok(())
    }

    /// `local n1 <attr>, ... = explist` (`localstat`).
    #[inline(never)]
    fn local_stat(&mut self, names: &[(String, Attrib)], exprs: &[Expr]) -> CResult<()> {
        let mut to_close = None;
        for (i, (name, attrib)) in names.iter().enumerate() {
            let kind = match attrib {
                Attrib::None => VarKind::Regular,
                Attrib::Const => VarKind::Const,
                Attrib::Close => VarKind::Close,
            };
            self.new_local(name, kind)?;
            if matches!(kind, VarKind::Close) {
                if to_close.is_some() {
                    return Err(self.error("multiple to-be-closed variables in local list"));
                }
                to_close = Some(self.fs.nactvar + i);
            }
        }
        let (nexps, mut e) = self.exp_list(exprs)?;
        let nvars = names.len();
        let constant = match self.last_var_kind() {
            Some(VarKind::Const) if nvars == nexps && nvars > 0 => self.exp_to_const(&e),
            _ => None,
        };
        match constant {
            // The last variable is a compile-time constant: no register.
            Some(value) => {
                self.adjust_local_vars(nvars - 1);
                self.activate_compile_time_const(value);
            }
            None => {
                self.adjust_assign(nvars, nexps, &mut e)?;
                self.adjust_local_vars(nvars);
            }
        }
        if let Some(level) = to_close {
            // `checktoclose`
            self.mark_to_be_closed();
            let a = self.stack_level_u8(self.reg_level(level));
            self.fs.emit(Op::Tbc { a });
        }
        Ok(())
    }

    /// The value of an expression that is a compile-time constant
    /// (`luaK_exp2const`).
    fn exp_to_const(&self, e: &ExpDesc) -> Option<Value> {
        if e.has_jumps() {
            return None;
        }
        match e.k {
            ExpKind::False => Some(Value::Bool(false)),
            ExpKind::True => Some(Value::Bool(true)),
            ExpKind::Nil => Some(Value::Nil),
            ExpKind::Str(s) => Some(Value::Str(s)),
            ExpKind::Const(index) => self.actvar.get(index).and_then(|v| v.constant()),
            _ => e.numeral(),
        }
    }

    /// Adjusts `nexps` values, the last one `e`, to `nvars` registers:
    /// an open call or `...` supplies what is missing, nils fill the rest,
    /// extra values are dropped (`adjust_assign`).
    #[inline(never)]
    fn adjust_assign(&mut self, nvars: usize, nexps: usize, e: &mut ExpDesc) -> CResult<()> {
        if e.has_multret() {
            let extra = (nvars + 1).saturating_sub(nexps);
            self.set_returns(e, Some(extra))?;
        } else {
            if !matches!(e.k, ExpKind::Void) {
                self.exp_to_next_reg(e)?;
            }
            if nvars > nexps {
                let from = self.fs.free_reg_u8();
                self.fs.check_stack(nvars - nexps)?;
                self.fs.nil(from, nvars - nexps);
            }
        }
        if nvars > nexps {
            self.fs.reserve_regs(nvars - nexps)?;
        } else {
            // Drop the extra values.
            self.fs.free_reg -= nexps - nvars;
        }
        Ok(())
    }

    /// `t1, t2, ... = explist` (`restassign`): targets are evaluated left to
    /// right, values into consecutive registers, then stored right to left.
    #[inline(never)]
    fn assign_stat(&mut self, targets: &[Expr], exprs: &[Expr], end_line: u32) -> CResult<()> {
        let mut vars: Vec<ExpDesc> = Vec::with_capacity(targets.len());
        for target in targets {
            let var = self.chain(target)?;
            if !var.is_var() {
                return Err(self.error("syntax error"));
            }
            self.check_readonly(&var)?;
            if !var.is_indexed() {
                self.check_conflict(&mut vars, &var)?;
            }
            vars.push(var);
        }
        let (nexps, mut e) = self.exp_list(exprs)?;
        // The stores come once the whole statement is read.
        self.fs.line = end_line;
        if nexps == vars.len() {
            self.set_one_ret(&mut e);
            if let Some(last) = vars.pop() {
                self.store_var(&last, e)?;
            }
        } else {
            self.adjust_assign(vars.len(), nexps, &mut e)?;
        }
        while let Some(var) = vars.pop() {
            let top = self.fs.free_reg_u8().saturating_sub(1);
            self.store_var(&var, ExpDesc::new(ExpKind::NonReloc(top)))?;
        }
        Ok(())
    }

    /// Before assigning to local or upvalue `v`, makes earlier targets that
    /// index through it use a copy of its old value (`check_conflict`), as
    /// in `a[i], a = 1, 2` or `t[i], i = 1, 2`.
    #[inline(never)]
    fn check_conflict(&mut self, earlier: &mut [ExpDesc], v: &ExpDesc) -> CResult<()> {
        let extra = self.fs.free_reg_u8();
        let mut conflict = false;
        for lh in earlier.iter_mut() {
            match (&mut lh.k, v.k) {
                (ExpKind::IndexUp { t, key }, ExpKind::Upval(u)) if *t == u => {
                    conflict = true;
                    lh.k = ExpKind::IndexStr {
                        t: extra,
                        key: *key,
                    };
                }
                (ExpKind::Indexed { t, key }, ExpKind::Local { reg, .. }) => {
                    if *t == reg {
                        conflict = true;
                        *t = extra;
                    }
                    if *key == reg {
                        conflict = true;
                        *key = extra;
                    }
                }
                (
                    ExpKind::IndexInt { t, .. } | ExpKind::IndexStr { t, .. },
                    ExpKind::Local { reg, .. },
                ) if *t == reg => {
                    conflict = true;
                    *t = extra;
                }
                _ => {}
            }
        }
        if conflict {
            match v.k {
                ExpKind::Local { reg, .. } => self.fs.emit(Op::Move { a: extra, b: reg }),
                ExpKind::Upval(b) => self.fs.emit(Op::GetUpval { a: extra, b }),
                _ => 0,
            };
            self.fs.reserve_regs(1)?;
        }
        Ok(())
    }

    /// A call statement: the call keeps no results (`exprstat`).
    #[inline(never)]
    fn call_stat(&mut self, call: &Expr) -> CResult<()> {
        let e = self.chain(call)?;
        let ExpKind::Call(pc) = e.k else {
            return Err(self.error("syntax error"));
        };
        if let Some(Op::Call { c, .. }) = self.fs.proto.code.get_mut(pc) {
            *c = 1;
        }
        Ok(())
    }

    /// A loop condition: falls through when true; returns the jumps taken
    /// when false (`cond`).
    fn cond(&mut self, cond: &Expr) -> CResult<JumpList> {
        let mut v = self.expr(cond)?;
        if v.k == ExpKind::Nil {
            // All falses are equal here.
            v.k = ExpKind::False;
        }
        self.go_if_true(&mut v)?;
        Ok(v.f)
    }

    /// `while cond do body end`.
    #[inline(never)]
    fn while_stat(&mut self, cond: &Expr, body: &Block, end_line: u32) -> CResult<()> {
        let init = self.fs.get_label();
        let exit = self.cond(cond)?;
        self.enter_block(true);
        self.block(body, end_line)?;
        let back = self.fs.jump();
        self.fs.patch_list(Some(back), init);
        // Leaving the loop (a `CLOSE` for `break`) is at its `end`.
        self.fs.line = end_line;
        self.leave_block()?;
        self.fs.patch_to_here(exit);
        Ok(())
    }

    /// `repeat body until cond`: the condition is inside the body's scope.
    /// If the body's locals are captured, going round again must close
    /// them, so the repeat jump goes through a `CLOSE`.
    #[inline(never)]
    fn repeat_stat(&mut self, body: &Block, cond: &Expr) -> CResult<()> {
        let init = self.fs.get_label();
        self.enter_block(true);
        self.enter_block(false);
        let end = BlockEnd {
            line: cond.line,
            until: true,
        };
        self.stat_list(body, end)?;
        let mut repeat = self.cond(cond)?;
        let scope = self.leave_block()?;
        if scope.upval {
            let exit = self.fs.jump();
            self.fs.patch_to_here(repeat);
            let a = self.stack_level_u8(self.reg_level(scope.nactvar));
            self.fs.emit(Op::Close { a });
            repeat = Some(self.fs.jump());
            self.fs.patch_to_here(Some(exit));
        }
        self.fs.patch_list(repeat, init);
        self.leave_block()?;
        Ok(())
    }

    /// `if c1 then b1 elseif c2 then b2 else b3 end` (`ifstat`).
    #[inline(never)]
    /// `end_line` is the line of its `end`.
    fn if_stat(
        &mut self,
        arms: &[(Expr, Block)],
        else_block: Option<&Block>,
        end_line: u32,
    ) -> CResult<()> {
        let mut escape = None;
        for (i, (cond, block)) in arms.iter().enumerate() {
            let more = i + 1 < arms.len() || else_block.is_some();
            // The line of the `elseif` or `else` after an arm is not known.
            let block_end = if more { None } else { Some(end_line) };
            self.test_then_block(cond, block, more, block_end, &mut escape)?;
        }
        if let Some(block) = else_block {
            self.block(block, end_line)?;
        }
        self.fs.patch_to_here(escape);
        Ok(())
    }

    /// One `cond then block` arm (`test_then_block`). `if c then break`
    /// jumps straight out of the loop when `c` is true. `more`: another arm
    /// or an `else` follows, so the block ends with a jump to the end.
    /// `end_line`: the line of the token after the block, if known.
    #[inline(never)]
    fn test_then_block(
        &mut self,
        cond: &Expr,
        block: &Block,
        more: bool,
        end_line: Option<u32>,
        escape: &mut JumpList,
    ) -> CResult<()> {
        let mut v = self.expr(cond)?;
        let skip;
        let rest = match block.stats.first() {
            Some(Stat {
                kind: StatKind::Break,
                line,
                ..
            }) => {
                self.go_if_false(&mut v)?;
                self.enter_block(false);
                self.new_goto(BREAK, *line, v.t);
                if block.stats.len() == 1 && block.ret.is_none() {
                    // The jump is the whole block.
                    self.leave_block()?;
                    return Ok(());
                }
                skip = Some(self.fs.jump());
                &block.stats[1..]
            }
            _ => {
                self.go_if_true(&mut v)?;
                self.enter_block(false);
                skip = v.f;
                &block.stats[..]
            }
        };
        let end = BlockEnd::at(end_line.unwrap_or(self.fs.line));
        self.stat_slice(rest, block.ret.as_ref(), end)?;
        self.leave_block()?;
        if more {
            let jump = self.fs.jump();
            self.fs.push_jump(escape, jump);
        }
        self.fs.patch_to_here(skip);
        Ok(())
    }

    /// `for var = start, limit [, step] do body end` (`fornum`): three
    /// hidden locals, then the control variable.
    #[inline(never)]
    fn num_for(
        &mut self,
        var: &str,
        bounds: [&Expr; 2],
        step: Option<&Expr>,
        body: &Block,
        [line, end_line]: [u32; 2],
    ) -> CResult<()> {
        self.enter_block(true);
        let base = self.fs.free_reg_u8();
        for _ in 0..3 {
            self.new_local(FOR_STATE, VarKind::Regular)?;
        }
        self.new_local(var, VarKind::Regular)?;
        for e in bounds {
            self.exp_to_next_reg_of(e)?;
        }
        match step {
            Some(e) => self.exp_to_next_reg_of(e)?,
            None => {
                let reg = self.fs.free_reg_u8();
                self.fs.load_int(reg, 1);
                self.fs.reserve_regs(1)?;
            }
        }
        self.adjust_local_vars(3);
        self.for_body(base, [line, end_line], 1, false, body)?;
        // Leaving the loop (a `CLOSE` for `break`) is at its `end`.
        self.fs.line = end_line;
        self.leave_block()?;
        Ok(())
    }

    /// `for n1, n2, ... in explist do body end` (`forlist`): four hidden
    /// locals (iterator, state, control, closing value), then the names.
    #[inline(never)]
    fn gen_for(
        &mut self,
        names: &[String],
        exprs: &[Expr],
        body: &Block,
        [line, end_line]: [u32; 2],
    ) -> CResult<()> {
        self.enter_block(true);
        let base = self.fs.free_reg_u8();
        for _ in 0..4 {
            self.new_local(FOR_STATE, VarKind::Regular)?;
        }
        for name in names {
            self.new_local(name, VarKind::Regular)?;
        }
        let call_line = exprs.first().map_or(line, |e| e.line);
        let (nexps, mut e) = self.exp_list(exprs)?;
        self.adjust_assign(4, nexps, &mut e)?;
        self.adjust_local_vars(4);
        // The closing value is to be closed (by `TFORPREP`).
        self.mark_to_be_closed();
        // Room for `TFORCALL` to call the iterator.
        self.fs.check_stack(3)?;
        self.for_body(base, [call_line, end_line], names.len(), true, body)?;
        // Leaving the loop closes its closing value, at its `end`.
        self.fs.line = end_line;
        self.leave_block()?;
        Ok(())
    }

    /// Compiles an expression into the next register (`exp1`).
    fn exp_to_next_reg_of(&mut self, e: &Expr) -> CResult<()> {
        let mut v = self.expr(e)?;
        self.exp_to_next_reg(&mut v)
    }

    /// The loop part of both `for`s (`forbody`): prepare, body with the
    /// `nvars` declared variables ending at `end_line`, and the loop
    /// instruction(s) at `line`.
    #[inline(never)]
    fn for_body(
        &mut self,
        base: u8,
        [line, end_line]: [u32; 2],
        nvars: usize,
        generic: bool,
        body: &Block,
    ) -> CResult<()> {
        let prep = self.fs.emit(if generic {
            Op::TForPrep { a: base, bx: 0 }
        } else {
            Op::ForPrep { a: base, bx: 0 }
        });
        self.enter_block(false);
        self.adjust_local_vars(nvars);
        self.fs.reserve_regs(nvars)?;
        self.block(body, end_line)?;
        self.leave_block()?;
        let target = self.fs.get_label();
        if generic {
            let c = self.stack_level_u8(nvars);
            self.fs.emit(Op::TForCall { a: base, c });
            self.fs.fix_line(line);
            let bx = self.fs.index_u32(target + 1 - prep);
            self.fs.emit(Op::TForLoop { a: base, bx });
            let to_call = self.fs.index_u32(target - (prep + 1));
            self.set_loop_offset(prep, to_call);
        } else {
            let bx = self.fs.index_u32(target - prep);
            self.fs.emit(Op::ForLoop { a: base, bx });
            self.set_loop_offset(prep, bx);
        }
        self.fs.fix_line(line);
        Ok(())
    }

    /// Sets the jump offset of a `FORPREP`/`TFORPREP`.
    fn set_loop_offset(&mut self, prep: usize, offset: u32) {
        if let Some(Op::ForPrep { bx, .. } | Op::TForPrep { bx, .. }) =
            self.fs.proto.code.get_mut(prep)
        {
            *bx = offset;
        }
    }

    /// `function a.b.c:m(params) body end` (`funcstat`).
    #[inline(never)]
    fn func_stat(
        &mut self,
        path: &[String],
        method: Option<&str>,
        func: &FuncBody,
        line: u32,
    ) -> CResult<()> {
        let Some((first, fields)) = path.split_first() else {
            return Err(self.error("syntax error"));
        };
        let mut v = self.single_var(first)?;
        for name in fields.iter().map(String::as_str).chain(method) {
            self.exp_to_any_reg_up(&mut v)?;
            let key = ExpDesc::new(ExpKind::Str(self.intern(name.as_bytes())));
            self.indexed(&mut v, key)?;
        }
        let closure = self.body(func)?;
        self.check_readonly(&v)?;
        self.store_var(&v, closure)?;
        // The definition "happens" on its first line.
        self.fs.fix_line(line);
        Ok(())
    }

    /// `local function name(params) body end` (`localfunc`): the name is in
    /// scope inside the body, for recursion.
    #[inline(never)]
    fn local_func(&mut self, name: &str, func: &FuncBody) -> CResult<()> {
        let vidx = self.new_local(name, VarKind::Regular)?;
        self.adjust_local_vars(1);
        self.body(func)?;
        // Debug information sees the variable only once it has its value.
        self.restart_local_debug_info(vidx);
        Ok(())
    }

    /// `return explist` (`retstat`): a single call becomes a tail call
    /// (outside the scope of to-be-closed variables).
    #[inline(never)]
    fn ret_stat(&mut self, ret: &Return) -> CResult<()> {
        self.fs.line = ret.line;
        let mut first = self.fs.nvarstack;
        let (nret, mut e) = self.exp_list(&ret.exprs)?;
        let count = if e.has_multret() {
            self.set_mult_ret(&mut e)?;
            let inside_tbc = self.fs.blocks.last().is_some_and(|b| b.inside_tbc);
            if let (ExpKind::Call(pc), 1, false) = (e.k, nret, inside_tbc) {
                if let Some(op) = self.fs.proto.code.get_mut(pc) {
                    if let Op::Call { a, b, .. } = *op {
                        *op = Op::TailCall { a, b };
                    }
                }
            }
            None
        } else if nret == 1 {
            first = usize::from(self.exp_to_any_reg(&mut e)?);
            Some(1)
        } else {
            if nret > 0 {
                self.exp_to_next_reg(&mut e)?;
            }
            Some(nret)
        };
        self.fs.ret(first, count)
    }
}
