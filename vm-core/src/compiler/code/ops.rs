//! Unary and binary operators (`lcode.c`'s `luaK_prefix`, `luaK_infix`,
//! `luaK_posfix`): constant folding, immediate and constant operand forms,
//! comparisons as conditional jumps, `and`/`or` as jump lists, and `..`
//! chains merged into one `CONCAT`.
//!
//! Unlike PUC Lua, the instruction set has no `MMBIN*` to remember the
//! original operand order for metamethods, so operands are never swapped
//! where a metamethod could tell (see the module docs of `code`).

use super::exp::{ExpDesc, ExpKind};
use super::state::fits_sc;
use super::{CResult, Compiler};
use crate::compiler::ast::{BinOp, UnOp};
use crate::number::{arith, float_to_int_exact, ArithOp};
use crate::opcodes::Op;
use crate::value::Value;

/// The arithmetic operation of a foldable binary operator.
fn arith_op(op: BinOp) -> Option<ArithOp> {
    Some(match op {
        BinOp::Add => ArithOp::Add,
        BinOp::Sub => ArithOp::Sub,
        BinOp::Mul => ArithOp::Mul,
        BinOp::Div => ArithOp::Div,
        BinOp::IDiv => ArithOp::IDiv,
        BinOp::Mod => ArithOp::Mod,
        BinOp::Pow => ArithOp::Pow,
        BinOp::BAnd => ArithOp::BAnd,
        BinOp::BOr => ArithOp::BOr,
        BinOp::BXor => ArithOp::BXor,
        BinOp::Shl => ArithOp::Shl,
        BinOp::Shr => ArithOp::Shr,
        _ => return None,
    })
}

/// Whether folding `op` on these operands is safe at compile time
/// (`validop`): bitwise operands must have integer values and divisors
/// must not be zero, so run-time errors stay run-time errors.
fn valid_fold(op: ArithOp, a: Value, b: Value) -> bool {
    let has_int = |v: Value| match v {
        Value::Int(_) => true,
        Value::Num(f) => float_to_int_exact(f).is_some(),
        _ => false,
    };
    match op {
        ArithOp::BAnd
        | ArithOp::BOr
        | ArithOp::BXor
        | ArithOp::Shl
        | ArithOp::Shr
        | ArithOp::BNot => has_int(a) && has_int(b),
        ArithOp::Div | ArithOp::IDiv | ArithOp::Mod => match b {
            Value::Int(i) => i != 0,
            Value::Num(f) => f != 0.0,
            _ => false,
        },
        _ => true,
    }
}

/// Folds `e1 op e2` when both are numerals (`constfolding`). NaN and float
/// zero results are not folded (a constant `-0.0` would be merged with
/// `0.0`).
fn const_fold(op: ArithOp, e1: &mut ExpDesc, e2: &ExpDesc) -> bool {
    let (Some(a), Some(b)) = (e1.numeral(), e2.numeral()) else {
        return false;
    };
    if !valid_fold(op, a, b) {
        return false;
    }
    match arith(op, a, b) {
        Some(Ok(Value::Int(i))) => e1.k = ExpKind::Int(i),
        Some(Ok(Value::Num(f))) if !f.is_nan() && f != 0.0 => e1.k = ExpKind::Float(f),
        _ => return false,
    }
    true
}

/// The signed 8-bit immediate of a numeral with an integer value, and
/// whether it was a float (`isSCnumber`).
fn sc_number(e: &ExpDesc) -> Option<(i16, bool)> {
    let (i, is_float) = match e.numeral()? {
        Value::Int(i) => (i, false),
        Value::Num(f) => (float_to_int_exact(f)?, true),
        _ => return None,
    };
    fits_sc(i).then_some((i as i16, is_float))
}

/// The immediate of an integer literal in the signed 8-bit range
/// (`isSCint`).
fn sc_int(e: &ExpDesc) -> Option<i16> {
    match e.k {
        ExpKind::Int(i) if !e.has_jumps() && fits_sc(i) => Some(i as i16),
        _ => None,
    }
}

/// Builds a register-register arithmetic instruction.
fn reg_op(op: BinOp, a: u8, b: u8, c: u8) -> Op {
    match op {
        BinOp::Add => Op::Add { a, b, c },
        BinOp::Sub => Op::Sub { a, b, c },
        BinOp::Mul => Op::Mul { a, b, c },
        BinOp::Div => Op::Div { a, b, c },
        BinOp::IDiv => Op::IDiv { a, b, c },
        BinOp::Mod => Op::Mod { a, b, c },
        BinOp::Pow => Op::Pow { a, b, c },
        BinOp::BAnd => Op::BAnd { a, b, c },
        BinOp::BOr => Op::BOr { a, b, c },
        BinOp::BXor => Op::BXor { a, b, c },
        BinOp::Shl => Op::Shl { a, b, c },
        _ => Op::Shr { a, b, c },
    }
}

/// Builds a register-constant arithmetic instruction.
fn const_op(op: BinOp, a: u8, b: u8, c: u32) -> Op {
    match op {
        BinOp::Add => Op::AddK { a, b, c },
        BinOp::Sub => Op::SubK { a, b, c },
        BinOp::Mul => Op::MulK { a, b, c },
        BinOp::Div => Op::DivK { a, b, c },
        BinOp::IDiv => Op::IDivK { a, b, c },
        BinOp::Mod => Op::ModK { a, b, c },
        BinOp::Pow => Op::PowK { a, b, c },
        BinOp::BAnd => Op::BAndK { a, b, c },
        BinOp::BOr => Op::BOrK { a, b, c },
        _ => Op::BXorK { a, b, c },
    }
}

impl Compiler<'_> {
    /// Applies a unary operator (`luaK_prefix`).
    #[inline(never)]
    pub(super) fn prefix(&mut self, op: UnOp, e: &mut ExpDesc, line: u32) -> CResult<()> {
        self.discharge_vars(e);
        let zero = ExpDesc::new(ExpKind::Int(0));
        match op {
            UnOp::Neg if const_fold(ArithOp::Unm, e, &zero) => Ok(()),
            UnOp::BNot if const_fold(ArithOp::BNot, e, &zero) => Ok(()),
            UnOp::Neg => self.code_unary(|b| Op::Unm { a: 0, b }, e, line),
            UnOp::BNot => self.code_unary(|b| Op::BNot { a: 0, b }, e, line),
            UnOp::Len => self.code_unary(|b| Op::Len { a: 0, b }, e, line),
            UnOp::Not => self.code_not(e),
        }
    }

    /// Emits a unary instruction on the operand's register
    /// (`codeunexpval`).
    fn code_unary(
        &mut self,
        make: impl FnOnce(u8) -> Op,
        e: &mut ExpDesc,
        line: u32,
    ) -> CResult<()> {
        let r = self.exp_to_any_reg(e)?;
        self.free_exp(e);
        e.k = ExpKind::Reloc(self.fs.emit(make(r)));
        self.fs.fix_line(line);
        Ok(())
    }

    /// Prepares the first operand of a binary operator before the second
    /// is compiled (`luaK_infix`).
    #[inline(never)]
    pub(super) fn infix(&mut self, op: BinOp, v: &mut ExpDesc) -> CResult<()> {
        self.discharge_vars(v);
        match op {
            BinOp::And => self.go_if_true(v),
            BinOp::Or => self.go_if_false(v),
            BinOp::Concat => self.exp_to_next_reg(v),
            BinOp::Eq | BinOp::Ne => {
                // Numerals may become immediates; other constants `K` operands.
                if v.numeral().is_none() && self.exp_to_k(v, u32::MAX).is_none() {
                    self.exp_to_any_reg(v)?;
                }
                Ok(())
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                if sc_number(v).is_none() {
                    self.exp_to_any_reg(v)?;
                }
                Ok(())
            }
            _ => {
                // Arithmetic: numerals may be folded or become operands.
                if v.numeral().is_none() {
                    self.exp_to_any_reg(v)?;
                }
                Ok(())
            }
        }
    }

    /// Completes a binary operator once both operands are compiled
    /// (`luaK_posfix`); the result is left in `e1`.
    #[inline(never)]
    pub(super) fn posfix(
        &mut self,
        op: BinOp,
        e1: &mut ExpDesc,
        mut e2: ExpDesc,
        line: u32,
    ) -> CResult<()> {
        self.discharge_vars(&mut e2);
        if let Some(aop) = arith_op(op) {
            if const_fold(aop, e1, &e2) {
                return Ok(());
            }
        }
        match op {
            BinOp::And => {
                self.fs.concat(&mut e2.f, e1.f);
                *e1 = e2;
            }
            BinOp::Or => {
                self.fs.concat(&mut e2.t, e1.t);
                *e1 = e2;
            }
            BinOp::Concat => {
                self.exp_to_next_reg(&mut e2)?;
                self.code_concat(e1, &e2, line);
            }
            BinOp::Add | BinOp::Mul if e1.numeral().is_some() && e2.numeral().is_none() => {
                self.code_arith_const_left(op, e1, e2, line)?;
            }
            BinOp::Add => match sc_int(&e2) {
                Some(sc) => self.finish_binary(e1, &e2, |a, b| Op::AddI { a, b, sc }, line)?,
                None => self.code_arith(op, e1, e2, line)?,
            },
            // `x - k` is `x + -k` (`finishbinexpneg`), with `__sub` as its
            // metamethod.
            BinOp::Sub => match sc_int(&e2).filter(|&k| fits_sc(-i64::from(k))) {
                Some(k) => {
                    let sc = -k;
                    self.finish_binary(e1, &e2, |a, b| Op::SubI { a, b, sc }, line)?
                }
                None => self.code_arith(op, e1, e2, line)?,
            },
            BinOp::Mul | BinOp::Div | BinOp::IDiv | BinOp::Mod | BinOp::Pow => {
                self.code_arith(op, e1, e2, line)?;
            }
            BinOp::BAnd | BinOp::BOr | BinOp::BXor => {
                let k = match e2.k {
                    ExpKind::Int(_) => self.exp_to_k(&mut e2, u32::MAX),
                    _ => None,
                };
                self.code_binary_k_or_reg(op, e1, e2, k, line)?;
            }
            BinOp::Shl => match sc_int(e1) {
                // `k << x` is `SHLI`; `x << k` has no immediate form.
                Some(sc) => {
                    let (k, x) = (*e1, e2);
                    *e1 = x;
                    self.finish_binary(e1, &k, |a, b| Op::ShlI { a, b, sc }, line)?;
                }
                None => self.code_binary_regs(op, e1, e2, line)?,
            },
            BinOp::Shr => match sc_int(&e2) {
                Some(sc) => self.finish_binary(e1, &e2, |a, b| Op::ShrI { a, b, sc }, line)?,
                None => self.code_binary_regs(op, e1, e2, line)?,
            },
            BinOp::Eq | BinOp::Ne => self.code_eq(op == BinOp::Eq, e1, e2)?,
            // `a > b` is `b < a`, `a >= b` is `b <= a`.
            BinOp::Gt | BinOp::Ge => {
                let less = if op == BinOp::Gt {
                    BinOp::Lt
                } else {
                    BinOp::Le
                };
                let a = *e1;
                *e1 = e2;
                self.code_order(less, e1, a)?;
            }
            BinOp::Lt | BinOp::Le => self.code_order(op, e1, e2)?,
        }
        Ok(())
    }

    /// `e1 op e2` with `e2` as a constant operand when it is a numeral
    /// (`codearith`).
    fn code_arith(
        &mut self,
        op: BinOp,
        e1: &mut ExpDesc,
        mut e2: ExpDesc,
        line: u32,
    ) -> CResult<()> {
        let k = match e2.numeral() {
            Some(_) => self.exp_to_k(&mut e2, u32::MAX),
            None => None,
        };
        self.code_binary_k_or_reg(op, e1, e2, k, line)
    }

    /// `k + x` and `k * x` with the numeral `k` as a constant operand that
    /// stays on the left (`ADDKL`/`MULKL`), so metamethods see the operands
    /// in source order.
    fn code_arith_const_left(
        &mut self,
        op: BinOp,
        e1: &mut ExpDesc,
        e2: ExpDesc,
        line: u32,
    ) -> CResult<()> {
        let mut k = *e1;
        let Some(c) = self.exp_to_k(&mut k, u32::MAX) else {
            return self.code_arith(op, e1, e2, line);
        };
        *e1 = e2;
        let make = |a, b| match op {
            BinOp::Add => Op::AddKL { a, b, c },
            _ => Op::MulKL { a, b, c },
        };
        self.finish_binary(e1, &k, make, line)
    }

    /// `e1 op K[k]` if the constant `k` is given, else `e1 op e2` on registers.
    fn code_binary_k_or_reg(
        &mut self,
        op: BinOp,
        e1: &mut ExpDesc,
        e2: ExpDesc,
        k: Option<u32>,
        line: u32,
    ) -> CResult<()> {
        match k {
            Some(c) => self.finish_binary(e1, &e2, |a, b| const_op(op, a, b, c), line),
            None => self.code_binary_regs(op, e1, e2, line),
        }
    }

    /// `e1 op e2` with both operands in registers (`codebinexpval`).
    fn code_binary_regs(
        &mut self,
        op: BinOp,
        e1: &mut ExpDesc,
        mut e2: ExpDesc,
        line: u32,
    ) -> CResult<()> {
        let c = self.exp_to_any_reg(&mut e2)?;
        self.finish_binary(e1, &e2, |a, b| reg_op(op, a, b, c), line)
    }

    /// Puts `e1` in a register and emits the instruction `make(0, r1)`,
    /// whose result is relocatable (`finishbinexpval`).
    fn finish_binary(
        &mut self,
        e1: &mut ExpDesc,
        e2: &ExpDesc,
        make: impl FnOnce(u8, u8) -> Op,
        line: u32,
    ) -> CResult<()> {
        let b = self.exp_to_any_reg(e1)?;
        let pc = self.fs.emit(make(0, b));
        self.free_exps(e1, e2);
        e1.k = ExpKind::Reloc(pc);
        self.fs.fix_line(line);
        Ok(())
    }

    /// `e1 .. e2` with both in consecutive registers; when `e2` is itself a
    /// concatenation just emitted, it is extended instead (`codeconcat`).
    fn code_concat(&mut self, e1: &ExpDesc, e2: &ExpDesc, line: u32) {
        let Some(r1) = e1.reg() else { return };
        if let Some(Op::Concat { a, b }) = self.fs.previous_instruction() {
            if usize::from(*a) == usize::from(r1) + 1 {
                *a = r1;
                *b = b.saturating_add(1);
                self.free_exp(e2);
                return;
            }
        }
        self.fs.emit(Op::Concat { a: r1, b: 2 });
        self.free_exp(e2);
        self.fs.fix_line(line);
    }

    /// Equality as a conditional jump (`codeeq`): `EQI` for a small
    /// integral numeral, `EQK` for other constants, else `EQ`.
    fn code_eq(&mut self, is_eq: bool, e1: &mut ExpDesc, mut e2: ExpDesc) -> CResult<()> {
        if !matches!(e1.k, ExpKind::NonReloc(_)) {
            // `e1` is a constant kept by `infix`: equality is symmetric.
            std::mem::swap(e1, &mut e2);
        }
        let a = self.exp_to_any_reg(e1)?;
        let test = if let Some((sb, isf)) = sc_number(&e2) {
            Op::EqI {
                a,
                sb,
                k: is_eq,
                isf,
            }
        } else if let Some(b) = self.exp_to_k(&mut e2, u32::MAX) {
            Op::EqK { a, b, k: is_eq }
        } else {
            let b = self.exp_to_any_reg(&mut e2)?;
            Op::Eq { a, b, k: is_eq }
        };
        self.free_exps(e1, &e2);
        e1.k = ExpKind::Jmp(self.fs.cond_jump(test));
        Ok(())
    }

    /// `<`/`<=` as a conditional jump (`codeorder`), with an immediate
    /// operand when either side is a small integral numeral.
    fn code_order(&mut self, op: BinOp, e1: &mut ExpDesc, mut e2: ExpDesc) -> CResult<()> {
        let less = op == BinOp::Lt;
        let test = if let Some((sb, isf)) = sc_number(&e2) {
            let a = self.exp_to_any_reg(e1)?;
            if less {
                Op::LtI {
                    a,
                    sb,
                    k: true,
                    isf,
                }
            } else {
                Op::LeI {
                    a,
                    sb,
                    k: true,
                    isf,
                }
            }
        } else if let Some((sb, isf)) = sc_number(e1) {
            // `k < x` is `x > k`, `k <= x` is `x >= k`.
            let a = self.exp_to_any_reg(&mut e2)?;
            if less {
                Op::GtI {
                    a,
                    sb,
                    k: true,
                    isf,
                }
            } else {
                Op::GeI {
                    a,
                    sb,
                    k: true,
                    isf,
                }
            }
        } else {
            let a = self.exp_to_any_reg(e1)?;
            let b = self.exp_to_any_reg(&mut e2)?;
            if less {
                Op::Lt { a, b, k: true }
            } else {
                Op::Le { a, b, k: true }
            }
        };
        self.free_exps(e1, &e2);
        e1.k = ExpKind::Jmp(self.fs.cond_jump(test));
        Ok(())
    }
}
