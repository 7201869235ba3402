//! Expression descriptors (`lcode.c`'s `expdesc` machinery): where the
//! value of an expression is, and how it is moved into a register, a
//! constant operand, a conditional jump or a variable.

use super::state::{JumpList, MAX_INDEX_RK};
use super::{CResult, Compiler};
use crate::opcodes::Op;
use crate::value::{StrRef, Value};

/// Where the value of an expression is (`expkind`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum ExpKind {
    /// No value: an empty expression list.
    Void,
    /// `nil`.
    Nil,
    /// `true`.
    True,
    /// `false`.
    False,
    /// Constant `K[i]`.
    K(u32),
    /// A float literal.
    Float(f64),
    /// An integer literal.
    Int(i64),
    /// A string literal.
    Str(StrRef),
    /// A value in a fixed register.
    NonReloc(u8),
    /// A local variable: its register and its index among the function's
    /// active variables.
    Local { reg: u8, vidx: usize },
    /// An upvalue.
    Upval(u8),
    /// A compile-time constant local: its index in the shared variable list.
    Const(usize),
    /// `R[t][R[key]]`.
    Indexed { t: u8, key: u8 },
    /// `UpValue[t][K[key]]` (`K[key]` a string).
    IndexUp { t: u8, key: u32 },
    /// `R[t][key]` with a small integer key.
    IndexInt { t: u8, key: u8 },
    /// `R[t][K[key]]` (`K[key]` a string).
    IndexStr { t: u8, key: u32 },
    /// A comparison: the index of its jump, taken when the comparison is true.
    Jmp(usize),
    /// The instruction at this index computes the value; its target
    /// register `A` is still to be chosen.
    Reloc(usize),
    /// The `CALL` at this index (open: its result count may change).
    Call(usize),
    /// The `VARARG` at this index (open: its result count may change).
    Vararg(usize),
}

/// An expression descriptor: where the value is, plus the jumps to patch
/// when the expression is known to be true (`t`) or false (`f`).
#[derive(Clone, Copy, Debug)]
pub(super) struct ExpDesc {
    pub(super) k: ExpKind,
    pub(super) t: JumpList,
    pub(super) f: JumpList,
}

impl ExpDesc {
    pub(super) fn new(k: ExpKind) -> Self {
        ExpDesc {
            k,
            t: None,
            f: None,
        }
    }

    /// The empty expression.
    pub(super) fn void() -> Self {
        Self::new(ExpKind::Void)
    }

    pub(super) fn has_jumps(&self) -> bool {
        self.t.is_some() || self.f.is_some()
    }

    /// Whether the expression can produce any number of values.
    pub(super) fn has_multret(&self) -> bool {
        matches!(self.k, ExpKind::Call(_) | ExpKind::Vararg(_))
    }

    /// Whether it is an assignable variable.
    pub(super) fn is_var(&self) -> bool {
        matches!(
            self.k,
            ExpKind::Local { .. } | ExpKind::Upval(_) | ExpKind::Const(_)
        ) || self.is_indexed()
    }

    /// Whether it is a table field.
    pub(super) fn is_indexed(&self) -> bool {
        matches!(
            self.k,
            ExpKind::Indexed { .. }
                | ExpKind::IndexUp { .. }
                | ExpKind::IndexInt { .. }
                | ExpKind::IndexStr { .. }
        )
    }

    /// The value of a numeric literal without jumps (`tonumeral`).
    pub(super) fn numeral(&self) -> Option<Value> {
        match self.k {
            _ if self.has_jumps() => None,
            ExpKind::Int(i) => Some(Value::Int(i)),
            ExpKind::Float(f) => Some(Value::Num(f)),
            _ => None,
        }
    }

    /// The register of an expression already in one.
    pub(super) fn reg(&self) -> Option<u8> {
        match self.k {
            ExpKind::NonReloc(r) => Some(r),
            _ => None,
        }
    }
}

/// The descriptor of a constant value.
pub(super) fn const_exp(v: Value) -> ExpKind {
    match v {
        Value::Bool(true) => ExpKind::True,
        Value::Bool(false) => ExpKind::False,
        Value::Int(i) => ExpKind::Int(i),
        Value::Num(f) => ExpKind::Float(f),
        Value::Str(s) => ExpKind::Str(s),
        _ => ExpKind::Nil,
    }
}

/// Sets the target register of a relocatable instruction.
fn set_target(op: &mut Op, reg: u8) {
    match op.result_register_mut() {
        Some(a) => *a = reg,
        None => debug_assert!(false, "not a relocatable instruction: {op:?}"),
    }
}

impl Compiler<'_> {
    fn op_at(&mut self, pc: usize) -> Option<&mut Op> {
        self.fs.proto.code.get_mut(pc)
    }

    /// Frees the register of an expression that holds a temporary.
    pub(super) fn free_exp(&mut self, e: &ExpDesc) {
        if let ExpKind::NonReloc(r) = e.k {
            self.fs.free_register(r);
        }
    }

    /// Frees the registers of two expressions, in stack order.
    pub(super) fn free_exps(&mut self, e1: &ExpDesc, e2: &ExpDesc) {
        match (e1.reg(), e2.reg()) {
            (Some(r1), Some(r2)) => self.fs.free_registers(r1, r2),
            (Some(r), None) | (None, Some(r)) => self.fs.free_register(r),
            (None, None) => {}
        }
    }

    /// Sets the number of results of an open call or vararg (`None`: all
    /// of them) (`luaK_setreturns`).
    pub(super) fn set_returns(&mut self, e: &mut ExpDesc, nresults: Option<usize>) -> CResult<()> {
        let c = match nresults {
            None => 0,
            Some(n) => u8::try_from(n + 1)
                .map_err(|_| self.error("function or expression needs too many registers"))?,
        };
        match e.k {
            ExpKind::Call(pc) => {
                if let Some(Op::Call { c: field, .. }) = self.op_at(pc) {
                    *field = c;
                }
            }
            ExpKind::Vararg(pc) => {
                let a = self.fs.free_reg_u8();
                if let Some(Op::VarArg { a: fa, c: fc }) = self.op_at(pc) {
                    *fa = a;
                    *fc = c;
                }
                self.fs.reserve_regs(1)?;
            }
            _ => debug_assert!(false, "set_returns on {:?}", e.k),
        }
        Ok(())
    }

    /// Lets an open call or vararg produce all its values.
    pub(super) fn set_mult_ret(&mut self, e: &mut ExpDesc) -> CResult<()> {
        self.set_returns(e, None)
    }

    /// Fixes an open call or vararg to produce one value
    /// (`luaK_setoneret`).
    pub(super) fn set_one_ret(&mut self, e: &mut ExpDesc) {
        match e.k {
            // A call already returns one value, in its base register.
            ExpKind::Call(pc) => {
                if let Some(&Op::Call { a, .. }) = self.fs.proto.code.get(pc) {
                    e.k = ExpKind::NonReloc(a);
                }
            }
            ExpKind::Vararg(pc) => {
                if let Some(Op::VarArg { c, .. }) = self.op_at(pc) {
                    *c = 2;
                }
                e.k = ExpKind::Reloc(pc);
            }
            _ => {}
        }
    }

    /// Turns a variable into a value: reads upvalues and fields, resolves
    /// compile-time constants (`luaK_dischargevars`).
    #[inline(never)]
    pub(super) fn discharge_vars(&mut self, e: &mut ExpDesc) {
        e.k = match e.k {
            ExpKind::Const(i) => match self.actvar.get(i).and_then(|v| v.constant()) {
                Some(v) => const_exp(v),
                None => ExpKind::Nil,
            },
            ExpKind::Local { reg, .. } => ExpKind::NonReloc(reg),
            ExpKind::Upval(b) => ExpKind::Reloc(self.fs.emit(Op::GetUpval { a: 0, b })),
            ExpKind::IndexUp { t, key } => {
                ExpKind::Reloc(self.fs.emit(Op::GetTabUp { a: 0, b: t, c: key }))
            }
            ExpKind::IndexInt { t, key } => {
                self.fs.free_register(t);
                ExpKind::Reloc(self.fs.emit(Op::GetI { a: 0, b: t, c: key }))
            }
            ExpKind::IndexStr { t, key } => {
                self.fs.free_register(t);
                ExpKind::Reloc(self.fs.emit(Op::GetField { a: 0, b: t, c: key }))
            }
            ExpKind::Indexed { t, key } => {
                self.fs.free_registers(t, key);
                ExpKind::Reloc(self.fs.emit(Op::GetTable { a: 0, b: t, c: key }))
            }
            ExpKind::Call(_) | ExpKind::Vararg(_) => {
                self.set_one_ret(e);
                e.k
            }
            other => other,
        };
    }

    /// Puts the value (not its jumps) into register `reg`
    /// (`discharge2reg`). Comparisons are left as they are.
    fn discharge_to_reg(&mut self, e: &mut ExpDesc, reg: u8) {
        self.discharge_vars(e);
        match e.k {
            ExpKind::Nil => self.fs.nil(reg, 1),
            ExpKind::False => {
                self.fs.emit(Op::LoadFalse { a: reg });
            }
            ExpKind::True => {
                self.fs.emit(Op::LoadTrue { a: reg });
            }
            ExpKind::Str(s) => {
                let bx = self.fs.str_k(s);
                self.fs.emit(Op::LoadK { a: reg, bx });
            }
            ExpKind::K(bx) => {
                self.fs.emit(Op::LoadK { a: reg, bx });
            }
            ExpKind::Float(f) => self.fs.load_float(reg, f),
            ExpKind::Int(i) => self.fs.load_int(reg, i),
            ExpKind::Reloc(pc) => {
                if let Some(op) = self.op_at(pc) {
                    set_target(op, reg);
                }
            }
            ExpKind::NonReloc(r) => {
                if r != reg {
                    self.fs.emit(Op::Move { a: reg, b: r });
                }
            }
            // A comparison has no value yet; `exp_to_reg` materialises it.
            _ => return,
        }
        e.k = ExpKind::NonReloc(reg);
    }

    /// Puts the value into some register, a new one if needed.
    pub(super) fn discharge_to_any_reg(&mut self, e: &mut ExpDesc) -> CResult<()> {
        if !matches!(e.k, ExpKind::NonReloc(_)) {
            self.fs.reserve_regs(1)?;
            let reg = self.fs.free_reg_u8() - 1;
            self.discharge_to_reg(e, reg);
        }
        Ok(())
    }

    /// Emits a boolean load that may be a jump target.
    fn code_load_bool(&mut self, op: Op) -> usize {
        self.fs.get_label();
        self.fs.emit(op)
    }

    /// Puts the whole expression, jumps included, into register `reg`
    /// (`exp2reg`): `TESTSET`s store their operand there, other jumps land
    /// on `LOADTRUE`/`LFALSESKIP` pairs.
    #[inline(never)]
    fn exp_to_reg(&mut self, e: &mut ExpDesc, reg: u8) {
        self.discharge_to_reg(e, reg);
        if let ExpKind::Jmp(pc) = e.k {
            self.fs.concat(&mut e.t, Some(pc));
        }
        if e.has_jumps() {
            let mut load_false = None;
            let mut load_true = None;
            if self.fs.need_value(e.t) || self.fs.need_value(e.f) {
                let skip = match e.k {
                    ExpKind::Jmp(_) => None,
                    _ => Some(self.fs.jump()),
                };
                load_false = Some(self.code_load_bool(Op::LFalseSkip { a: reg }));
                load_true = Some(self.code_load_bool(Op::LoadTrue { a: reg }));
                self.fs.patch_to_here(skip);
            }
            let end = self.fs.get_label();
            self.fs
                .patch_list_aux(e.f, end, Some(reg), load_false.unwrap_or(end));
            self.fs
                .patch_list_aux(e.t, end, Some(reg), load_true.unwrap_or(end));
        }
        e.t = None;
        e.f = None;
        e.k = ExpKind::NonReloc(reg);
    }

    /// Puts the expression into the next free register
    /// (`luaK_exp2nextreg`).
    pub(super) fn exp_to_next_reg(&mut self, e: &mut ExpDesc) -> CResult<()> {
        self.discharge_vars(e);
        self.free_exp(e);
        self.fs.reserve_regs(1)?;
        let reg = self.fs.free_reg_u8() - 1;
        self.exp_to_reg(e, reg);
        Ok(())
    }

    /// Puts the expression into some register and returns it
    /// (`luaK_exp2anyreg`).
    pub(super) fn exp_to_any_reg(&mut self, e: &mut ExpDesc) -> CResult<u8> {
        self.discharge_vars(e);
        if let ExpKind::NonReloc(reg) = e.k {
            if !e.has_jumps() {
                return Ok(reg);
            }
            // A temporary can take the values of the jumps; a local cannot.
            if usize::from(reg) >= self.fs.nvarstack {
                self.exp_to_reg(e, reg);
                return Ok(reg);
            }
        }
        self.exp_to_next_reg(e)?;
        Ok(e.reg().unwrap_or_default())
    }

    /// Like `exp_to_any_reg`, but leaves a plain upvalue where it is
    /// (`luaK_exp2anyregup`).
    pub(super) fn exp_to_any_reg_up(&mut self, e: &mut ExpDesc) -> CResult<()> {
        if !matches!(e.k, ExpKind::Upval(_)) || e.has_jumps() {
            self.exp_to_any_reg(e)?;
        }
        Ok(())
    }

    /// Makes the expression a value in a register or a constant
    /// (`luaK_exp2val`).
    pub(super) fn exp_to_val(&mut self, e: &mut ExpDesc) -> CResult<()> {
        if e.has_jumps() {
            self.exp_to_any_reg(e)?;
        } else {
            self.discharge_vars(e);
        }
        Ok(())
    }

    /// Turns a constant expression into `K(index)` if its index is at most
    /// `max_index`; returns the index if it did (`luaK_exp2K`).
    pub(super) fn exp_to_k(&mut self, e: &mut ExpDesc, max_index: u32) -> Option<u32> {
        if e.has_jumps() {
            return None;
        }
        let index = match e.k {
            ExpKind::True => self.fs.bool_k(true),
            ExpKind::False => self.fs.bool_k(false),
            ExpKind::Nil => self.fs.nil_k(),
            ExpKind::Int(i) => self.fs.int_k(i),
            ExpKind::Float(f) => self.fs.num_k(f),
            ExpKind::Str(s) => self.fs.str_k(s),
            ExpKind::K(index) => index,
            _ => return None,
        };
        if index <= max_index {
            e.k = ExpKind::K(index);
            Some(index)
        } else {
            None
        }
    }

    /// Makes the expression an `RK` operand: returns the constant index or
    /// register, and whether it is a constant (`luaK_exp2RK`).
    pub(super) fn exp_to_rk(&mut self, e: &mut ExpDesc) -> CResult<(u8, bool)> {
        match self.exp_to_k(e, MAX_INDEX_RK) {
            // `MAX_INDEX_RK` is `u8::MAX`.
            Some(index) => Ok((index as u8, true)),
            None => Ok((self.exp_to_any_reg(e)?, false)),
        }
    }

    /// Stores `ex` into the variable `var` (`luaK_storevar`).
    #[inline(never)]
    pub(super) fn store_var(&mut self, var: &ExpDesc, mut ex: ExpDesc) -> CResult<()> {
        match var.k {
            ExpKind::Local { reg, .. } => {
                self.free_exp(&ex);
                self.exp_to_reg(&mut ex, reg);
                return Ok(());
            }
            ExpKind::Upval(b) => {
                let a = self.exp_to_any_reg(&mut ex)?;
                self.fs.emit(Op::SetUpval { a, b });
            }
            ExpKind::IndexUp { t, key } => {
                let (c, k) = self.exp_to_rk(&mut ex)?;
                self.fs.emit(Op::SetTabUp { a: t, b: key, c, k });
            }
            ExpKind::IndexInt { t, key } => {
                let (c, k) = self.exp_to_rk(&mut ex)?;
                self.fs.emit(Op::SetI { a: t, b: key, c, k });
            }
            ExpKind::IndexStr { t, key } => {
                let (c, k) = self.exp_to_rk(&mut ex)?;
                self.fs.emit(Op::SetField { a: t, b: key, c, k });
            }
            ExpKind::Indexed { t, key } => {
                let (c, k) = self.exp_to_rk(&mut ex)?;
                self.fs.emit(Op::SetTable { a: t, b: key, c, k });
            }
            _ => return Err(self.error("syntax error")),
        }
        self.free_exp(&ex);
        Ok(())
    }

    /// Makes `t` the indexing `t[k]` (`luaK_indexed`): a constant string key
    /// gives a field access (on an upvalue or a register), a small integer
    /// key an integer access, anything else a key in a register.
    #[inline(never)]
    pub(super) fn indexed(&mut self, t: &mut ExpDesc, mut k: ExpDesc) -> CResult<()> {
        if let ExpKind::Str(s) = k.k {
            k.k = ExpKind::K(self.fs.str_k(s));
        }
        let str_key = match k.k {
            ExpKind::K(index) if !k.has_jumps() && self.fs.is_str_k(index) => Some(index),
            _ => None,
        };
        let upvalue = match t.k {
            ExpKind::Upval(u) if !t.has_jumps() => Some(u),
            _ => None,
        };
        if let (Some(u), Some(key)) = (upvalue, str_key) {
            t.k = ExpKind::IndexUp { t: u, key };
            return Ok(());
        }
        let table = match t.k {
            ExpKind::Local { reg, .. } if !t.has_jumps() => reg,
            ExpKind::NonReloc(reg) if !t.has_jumps() => reg,
            _ => self.exp_to_any_reg(t)?,
        };
        t.k = if let Some(key) = str_key {
            ExpKind::IndexStr { t: table, key }
        } else if let Some(key) = small_int_key(&k) {
            ExpKind::IndexInt { t: table, key }
        } else {
            let key = self.exp_to_any_reg(&mut k)?;
            ExpKind::Indexed { t: table, key }
        };
        Ok(())
    }

    /// Emits `SELF` for `e:key(...)`: the method in a new register and `e`
    /// in the one above (`luaK_self`).
    #[inline(never)]
    pub(super) fn self_op(&mut self, e: &mut ExpDesc, key: StrRef) -> CResult<()> {
        let obj = self.exp_to_any_reg(e)?;
        self.free_exp(e);
        let base = self.fs.free_reg_u8();
        e.k = ExpKind::NonReloc(base);
        self.fs.reserve_regs(2)?;
        let c = self.fs.str_k(key);
        self.fs.emit(Op::SelfOp { a: base, b: obj, c });
        Ok(())
    }

    /// Flips the condition of a comparison (`negatecondition`).
    fn negate_condition(&mut self, jump: usize) {
        if let Some(op) = self.fs.jump_control_mut(jump) {
            match op.condition_mut() {
                Some(k) => *k = !*k,
                None => debug_assert!(false, "not a comparison: {op:?}"),
            }
        }
    }

    /// Emits a jump taken when `e` is `cond` (`jumponcond`). `not x` is
    /// tested directly on `x`.
    fn jump_on_cond(&mut self, e: &mut ExpDesc, cond: bool) -> CResult<usize> {
        if let ExpKind::Reloc(pc) = e.k {
            if let Some(&Op::Not { b, .. }) = self.fs.proto.code.get(pc) {
                if pc + 1 == self.fs.pc() {
                    self.fs.remove_last();
                    return Ok(self.fs.cond_jump(Op::Test { a: b, k: !cond }));
                }
            }
        }
        self.discharge_to_any_reg(e)?;
        self.free_exp(e);
        // The target register is chosen when the jump list is patched
        // (or the instruction becomes a `TEST`).
        let b = e.reg().unwrap_or_default();
        Ok(self.fs.cond_jump(Op::TestSet {
            a: u8::MAX,
            b,
            k: cond,
        }))
    }

    /// Goes on if `e` is true, jumps (through `e.f`) if false
    /// (`luaK_goiftrue`).
    #[inline(never)]
    pub(super) fn go_if_true(&mut self, e: &mut ExpDesc) -> CResult<()> {
        self.discharge_vars(e);
        let jump = match e.k {
            ExpKind::Jmp(pc) => {
                self.negate_condition(pc);
                Some(pc)
            }
            // Always true: nothing to test.
            ExpKind::K(_)
            | ExpKind::Float(_)
            | ExpKind::Int(_)
            | ExpKind::Str(_)
            | ExpKind::True => None,
            _ => Some(self.jump_on_cond(e, false)?),
        };
        self.push_new_jump(&mut e.f, jump);
        self.fs.patch_to_here(e.t);
        e.t = None;
        Ok(())
    }

    /// Goes on if `e` is false, jumps (through `e.t`) if true
    /// (`luaK_goiffalse`).
    #[inline(never)]
    pub(super) fn go_if_false(&mut self, e: &mut ExpDesc) -> CResult<()> {
        self.discharge_vars(e);
        let jump = match e.k {
            ExpKind::Jmp(pc) => Some(pc),
            // Always false: nothing to test.
            ExpKind::Nil | ExpKind::False => None,
            _ => Some(self.jump_on_cond(e, true)?),
        };
        self.push_new_jump(&mut e.t, jump);
        self.fs.patch_to_here(e.f);
        e.f = None;
        Ok(())
    }

    /// Adds `jump`, if any, a jump in no list yet, to `list`. In constant
    /// time, where `luaK_goiftrue` and `luaK_goiffalse` walk the list
    /// (`luaK_concat`): each link of a chain `a and b and c ...` adds a jump
    /// to the same list, so walking it would make the chain quadratic
    /// (lua5.4 takes 12 s to compile 100,000 links). The code is the same:
    /// a list's order no longer matters once it is patched.
    fn push_new_jump(&mut self, list: &mut JumpList, jump: Option<usize>) {
        if let Some(jump) = jump {
            self.fs.push_jump(list, jump);
        }
    }

    /// `not e` (`codenot`): folded on constants, a flipped comparison, or
    /// a `NOT` instruction.
    pub(super) fn code_not(&mut self, e: &mut ExpDesc) -> CResult<()> {
        match e.k {
            ExpKind::Nil | ExpKind::False => e.k = ExpKind::True,
            ExpKind::K(_)
            | ExpKind::Float(_)
            | ExpKind::Int(_)
            | ExpKind::Str(_)
            | ExpKind::True => e.k = ExpKind::False,
            ExpKind::Jmp(pc) => self.negate_condition(pc),
            _ => {
                self.discharge_to_any_reg(e)?;
                self.free_exp(e);
                let b = e.reg().unwrap_or_default();
                e.k = ExpKind::Reloc(self.fs.emit(Op::Not { a: 0, b }));
            }
        }
        std::mem::swap(&mut e.t, &mut e.f);
        // The values are useless once negated.
        self.fs.remove_values(e.f);
        self.fs.remove_values(e.t);
        Ok(())
    }
}

/// The key of `GETI`/`SETI` for an integer literal in `0..=255`.
fn small_int_key(k: &ExpDesc) -> Option<u8> {
    match k.k {
        ExpKind::Int(i) if !k.has_jumps() => u8::try_from(i).ok(),
        _ => None,
    }
}
