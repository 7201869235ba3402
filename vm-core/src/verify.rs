//! The bytecode verifier: checks once, when a chunk is loaded, the facts
//! about a prototype that the interpreter relies on without checking them
//! on every instruction (`vm::execute` reads registers, constants and
//! instructions without bounds checks).
//!
//! A prototype is valid when, for every instruction:
//! - every register it names (including the fixed ranges it implies, such
//!   as `R[A+3]` of `FORLOOP`) is below `max_stack`;
//! - every constant, upvalue and nested prototype index is in range, and
//!   nested closures capture registers and upvalues that exist;
//! - every instruction it may continue with (the next one, a skipped one,
//!   a jump target) exists, so the program counter never leaves the code;
//!
//! and its nested prototypes are valid. Register ranges sized at run time
//! (`CALL` with `B = 0`, `VARARG` with `C = 0`, ...) are not covered: the
//! interpreter checks those.
//!
//! It also checks the shape the code generator gives code, which the
//! interpreter's handlers assume: a function ends with a return; a vararg
//! function starts with `VARARGPREP` and only it uses `VARARG`; every
//! comparison or test is followed by its jump; `FORPREP` and `FORLOOP`,
//! `TFORPREP`, `TFORCALL` and `TFORLOOP` come in matching groups; field
//! names are string constants and arithmetic constants numbers; local
//! variable ranges lie inside the code.
//!
//! Only the compiler makes prototypes today, so a failure here is a
//! compiler bug, reported as an error instead of undefined behaviour; a
//! loader of binary chunks must pass its prototypes through here too.

use crate::func::Proto;
use crate::opcodes::Op;

/// Checks a main chunk: valid, with the one upvalue (`_ENV`) that `load`
/// gives it.
pub(crate) fn verify_main(proto: &Proto) -> Result<(), String> {
    if proto.upvalues.len() != 1 {
        return Err("invalid bytecode: a main chunk has one upvalue".into());
    }
    verify(proto)
}

/// Checks `proto` and its nested prototypes (see the module docs).
pub(crate) fn verify(proto: &Proto) -> Result<(), String> {
    let v = Verifier { p: proto };
    for (pc, op) in proto.code.iter().enumerate() {
        v.instruction(pc, *op)
            .map_err(|e| format!("invalid bytecode: {} at instruction {pc}: {e}", op.name()))?;
    }
    v.function().map_err(|e| format!("invalid bytecode: {e}"))?;
    proto.protos.iter().try_for_each(|p| verify(p))
}

struct Verifier<'a> {
    p: &'a Proto,
}

impl Verifier<'_> {
    /// The checks on the function as a whole.
    fn function(&self) -> Result<(), String> {
        let p = self.p;
        // A stripped function has none.
        if !p.lines.is_empty() && p.lines.len() != p.code.len() {
            return Err("line information does not match the code".into());
        }
        if p.num_params > p.max_stack {
            return Err("more parameters than registers".into());
        }
        if !matches!(
            p.code.last(),
            Some(Op::Return { .. } | Op::Return0 {} | Op::Return1 { .. })
        ) {
            return Err("a function ends with a return".into());
        }
        if p.is_vararg && p.code[0] != (Op::VarArgPrep { a: p.num_params }) {
            return Err("a vararg function starts with VARARGPREP".into());
        }
        // A closure's upvalues come from this frame's registers or this
        // function's own upvalues (`CLOSURE`).
        for (i, child) in p.protos.iter().enumerate() {
            for d in &child.upvalues {
                let (limit, what) = if d.in_stack {
                    (p.max_stack as usize, "register")
                } else {
                    (p.upvalues.len(), "upvalue")
                };
                if d.index as usize >= limit {
                    return Err(format!(
                        "prototype {i} captures {what} {} out of range",
                        d.index
                    ));
                }
            }
        }
        for var in &p.locvars {
            if var.start_pc > var.end_pc || var.end_pc as usize > p.code.len() {
                return Err(format!("local {} has a range outside the code", var.name));
            }
        }
        Ok(())
    }

    /// Instruction `pc` is `want` (the partner of a loop instruction).
    fn is_at(&self, pc: i64, want: impl Fn(Op) -> bool, what: &str) -> Result<(), String> {
        match usize::try_from(pc).ok().and_then(|pc| self.p.code.get(pc)) {
            Some(&op) if want(op) => Ok(()),
            _ => Err(format!("instruction {pc} is not its {what}")),
        }
    }

    /// A string constant (a field name).
    fn name_k(&self, k: u32) -> Result<(), String> {
        self.konst(k)?;
        match self.p.consts[k as usize] {
            crate::value::Value::Str(_) => Ok(()),
            _ => Err(format!("constant {k} is not a string")),
        }
    }

    /// A number constant (an arithmetic operand).
    fn number_k(&self, k: u32) -> Result<(), String> {
        self.konst(k)?;
        match self.p.consts[k as usize] {
            crate::value::Value::Int(_) | crate::value::Value::Num(_) => Ok(()),
            _ => Err(format!("constant {k} is not a number")),
        }
    }

    /// Registers `first .. first + count` exist; with no registers,
    /// `first` is only a position, at most the frame's extent.
    fn regs(&self, first: u8, count: usize) -> Result<(), String> {
        let (first, max) = (first as usize, self.p.max_stack as usize);
        let end = first + count;
        if end > max || first > max {
            let last = if count == 0 { first } else { end - 1 };
            return Err(format!(
                "register {last} beyond the frame's {max} registers"
            ));
        }
        Ok(())
    }

    fn reg(&self, r: u8) -> Result<(), String> {
        self.regs(r, 1)
    }

    fn konst(&self, k: u32) -> Result<(), String> {
        if k as usize >= self.p.consts.len() {
            return Err(format!("constant {k} out of range"));
        }
        Ok(())
    }

    fn upval(&self, u: u8) -> Result<(), String> {
        if u as usize >= self.p.upvalues.len() {
            return Err(format!("upvalue {u} out of range"));
        }
        Ok(())
    }

    /// `RK(C)`: a constant when `k` is set, else a register.
    fn rk(&self, c: u8, k: bool) -> Result<(), String> {
        if k {
            self.konst(c as u32)
        } else {
            self.reg(c)
        }
    }

    /// The instruction at `pc + 1 + offset` exists.
    fn target(&self, pc: usize, offset: i64) -> Result<(), String> {
        let t = pc as i64 + 1 + offset;
        if t < 0 || t >= self.p.code.len() as i64 {
            return Err(format!("jump to {t}, outside the code"));
        }
        Ok(())
    }

    fn instruction(&self, pc: usize, op: Op) -> Result<(), String> {
        // Every instruction but the returns may go on with the next one.
        let falls_through = !matches!(
            op,
            Op::Return { .. } | Op::Return0 {} | Op::Return1 { .. } | Op::Jmp { .. }
        );
        if falls_through {
            self.target(pc, 0)?;
        }
        match op {
            Op::Move { a, b }
            | Op::Unm { a, b }
            | Op::BNot { a, b }
            | Op::Not { a, b }
            | Op::Len { a, b }
            | Op::TestSet { a, b, .. }
            | Op::Eq { a, b, .. }
            | Op::Lt { a, b, .. }
            | Op::Le { a, b, .. }
            | Op::AddI { a, b, .. }
            | Op::SubI { a, b, .. }
            | Op::ShrI { a, b, .. }
            | Op::ShlI { a, b, .. } => {
                self.reg(a)?;
                self.reg(b)?;
            }
            Op::LoadI { a, .. }
            | Op::LoadF { a, .. }
            | Op::LoadFalse { a }
            | Op::LoadTrue { a }
            | Op::NewTable { a, .. }
            | Op::Close { a }
            | Op::Tbc { a }
            | Op::Test { a, .. }
            | Op::EqI { a, .. }
            | Op::LtI { a, .. }
            | Op::LeI { a, .. }
            | Op::GtI { a, .. }
            | Op::GeI { a, .. }
            | Op::Return1 { a } => self.reg(a)?,
            Op::LFalseSkip { a } => {
                self.reg(a)?;
                self.target(pc, 1)?;
            }
            Op::LoadK { a, bx } => {
                self.reg(a)?;
                self.konst(bx)?;
            }
            Op::LoadNil { a, b } => self.regs(a, b as usize + 1)?,
            Op::GetUpval { a, b } | Op::SetUpval { a, b } => {
                self.reg(a)?;
                self.upval(b)?;
            }
            Op::GetTabUp { a, b, c } => {
                self.reg(a)?;
                self.upval(b)?;
                self.name_k(c)?;
            }
            Op::GetTable { a, b, c }
            | Op::Add { a, b, c }
            | Op::Sub { a, b, c }
            | Op::Mul { a, b, c }
            | Op::Mod { a, b, c }
            | Op::Pow { a, b, c }
            | Op::Div { a, b, c }
            | Op::IDiv { a, b, c }
            | Op::BAnd { a, b, c }
            | Op::BOr { a, b, c }
            | Op::BXor { a, b, c }
            | Op::Shl { a, b, c }
            | Op::Shr { a, b, c } => {
                self.reg(a)?;
                self.reg(b)?;
                self.reg(c)?;
            }
            Op::GetI { a, b, .. } => {
                self.reg(a)?;
                self.reg(b)?;
            }
            Op::GetField { a, b, c } => {
                self.reg(a)?;
                self.reg(b)?;
                self.name_k(c)?;
            }
            Op::AddK { a, b, c }
            | Op::AddKL { a, b, c }
            | Op::MulKL { a, b, c }
            | Op::SubK { a, b, c }
            | Op::MulK { a, b, c }
            | Op::ModK { a, b, c }
            | Op::PowK { a, b, c }
            | Op::DivK { a, b, c }
            | Op::IDivK { a, b, c }
            | Op::BAndK { a, b, c }
            | Op::BOrK { a, b, c }
            | Op::BXorK { a, b, c } => {
                self.reg(a)?;
                self.reg(b)?;
                self.number_k(c)?;
            }
            Op::SetTabUp { a, b, c, k } => {
                self.upval(a)?;
                self.name_k(b)?;
                self.rk(c, k)?;
            }
            Op::SetTable { a, b, c, k } => {
                self.reg(a)?;
                self.reg(b)?;
                self.rk(c, k)?;
            }
            Op::SetI { a, c, k, .. } => {
                self.reg(a)?;
                self.rk(c, k)?;
            }
            Op::SetField { a, b, c, k } => {
                self.reg(a)?;
                self.name_k(b)?;
                self.rk(c, k)?;
            }
            Op::SelfOp { a, b, c } => {
                self.regs(a, 2)?;
                self.reg(b)?;
                self.name_k(c)?;
            }
            Op::Concat { a, b } => {
                if b < 2 {
                    return Err("concatenates fewer than two values".into());
                }
                self.regs(a, b as usize)?
            }
            Op::Jmp { sj } => self.target(pc, sj as i64)?,
            Op::EqK { a, b, .. } => {
                self.reg(a)?;
                self.konst(b)?;
            }
            Op::Call { a, b, c } => {
                self.regs(a, (b as usize).max(1))?;
                self.regs(a, (c as usize).saturating_sub(1))?;
            }
            Op::TailCall { a, b } => self.regs(a, (b as usize).max(1))?,
            // B <= 1: no values, or values from R[A] up to the top; R[A] may
            // be the first register past the frame's own.
            Op::Return { a, b } => self.regs(a, (b as usize).saturating_sub(1))?,
            Op::Return0 {} => {}
            Op::ForLoop { a, bx } | Op::TForLoop { a, bx } => {
                self.regs(
                    a,
                    if matches!(op, Op::ForLoop { .. }) {
                        4
                    } else {
                        5
                    },
                )?;
                self.target(pc, -(bx as i64))?;
            }
            // FORPREP skips to just past its FORLOOP, which jumps back to
            // the body; TFORPREP jumps to its TFORCALL.
            Op::ForPrep { a, bx } => {
                self.regs(a, 4)?;
                self.target(pc, bx as i64)?;
                let pair = |o| matches!(o, Op::ForLoop { a: la, bx: lb } if la == a && lb == bx);
                self.is_at(pc as i64 + bx as i64, pair, "FORLOOP")?;
            }
            Op::TForPrep { a, bx } => {
                self.regs(a, 4)?;
                self.target(pc, bx as i64)?;
                let call = |o| matches!(o, Op::TForCall { a: ca, .. } if ca == a);
                self.is_at(pc as i64 + 1 + bx as i64, call, "TFORCALL")?;
            }
            // The iterator, state and control are copied to `R[A+4..A+6]`
            // for the call, whose results land from `R[A+4]`.
            Op::TForCall { a, c } => {
                self.regs(a, 4 + (c as usize).max(3))?;
                let lp = |o| matches!(o, Op::TForLoop { a: la, .. } if la == a);
                self.is_at(pc as i64 + 1, lp, "TFORLOOP")?;
            }
            Op::SetList { a, b, .. } => self.regs(a, b as usize + 1)?,
            Op::Closure { a, bx } => {
                self.reg(a)?;
                if bx as usize >= self.p.protos.len() {
                    return Err(format!("prototype {bx} out of range"));
                }
            }
            Op::VarArg { a, c } => {
                if !self.p.is_vararg {
                    return Err("VARARG outside a vararg function".into());
                }
                self.regs(a, (c as usize).saturating_sub(1))?
            }
            Op::VarArgPrep { .. } => {
                if pc != 0 {
                    return Err("VARARGPREP after the first instruction".into());
                }
            }
        }
        // A comparison or test skips the next instruction, its jump, when
        // its condition fails.
        if op.condition_mut_copy().is_some() || matches!(op, Op::Test { .. } | Op::TestSet { .. }) {
            self.is_at(pc as i64 + 1, |o| matches!(o, Op::Jmp { .. }), "jump")?;
        }
        Ok(())
    }
}

impl Op {
    /// `condition_mut` on a copy: whether this is a conditional skip.
    fn condition_mut_copy(mut self) -> Option<bool> {
        self.condition_mut().map(|k| *k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    fn proto(code: Vec<Op>, max_stack: u8) -> Proto {
        Proto {
            lines: vec![1; code.len()],
            code,
            max_stack,
            consts: vec![Value::Int(1)],
            ..Proto::default()
        }
    }

    /// Each code, in a prototype of `max_stack` registers, is rejected
    /// with a message containing its expected words.
    fn assert_rejected<const N: usize>(cases: [(Vec<Op>, &str); N], max_stack: u8) {
        for (code, want) in cases {
            let err = verify(&proto(code.clone(), max_stack)).expect_err("invalid code");
            assert!(err.contains(want), "{code:?}: {err}");
        }
    }

    #[test]
    fn accepts_valid_code() {
        let p = proto(
            vec![
                Op::LoadK { a: 0, bx: 0 },
                Op::ForPrep { a: 1, bx: 1 },
                Op::ForLoop { a: 1, bx: 1 },
                Op::Return1 { a: 0 },
            ],
            5,
        );
        assert_eq!(verify(&p), Ok(()));
    }

    #[test]
    fn rejects_out_of_range_operands() {
        let cases = [
            (vec![Op::Move { a: 0, b: 3 }, Op::Return0 {}], "register 3"),
            (
                vec![Op::LoadK { a: 0, bx: 1 }, Op::Return0 {}],
                "constant 1",
            ),
            (
                vec![Op::GetUpval { a: 0, b: 0 }, Op::Return0 {}],
                "upvalue 0",
            ),
            (
                vec![Op::ForLoop { a: 0, bx: 0 }, Op::Return0 {}],
                "register 3",
            ),
            (
                vec![Op::Closure { a: 0, bx: 0 }, Op::Return0 {}],
                "prototype 0",
            ),
            (vec![Op::Jmp { sj: 5 }, Op::Return0 {}], "jump to 6"),
            (vec![Op::Jmp { sj: -2 }, Op::Return0 {}], "jump to -1"),
            (vec![Op::Move { a: 0, b: 1 }], "jump to 1"),
            (
                vec![Op::Return0 {}, Op::Test { a: 0, k: true }],
                "jump to 2",
            ),
        ];
        assert_rejected(cases, 3);
    }

    #[test]
    fn rejects_code_not_shaped_as_the_compiler_shapes_it() {
        let cases = [
            (
                vec![
                    Op::Lt {
                        a: 0,
                        b: 1,
                        k: false,
                    },
                    Op::Return0 {},
                    Op::Return0 {},
                ],
                "not its jump",
            ),
            (
                vec![Op::ForPrep { a: 0, bx: 0 }, Op::Return0 {}],
                "not its FORLOOP",
            ),
            (
                vec![Op::TForCall { a: 0, c: 1 }, Op::Return0 {}],
                "not its TFORLOOP",
            ),
            (
                vec![Op::GetField { a: 0, b: 0, c: 0 }, Op::Return0 {}],
                "not a string",
            ),
            (
                vec![Op::VarArg { a: 0, c: 2 }, Op::Return0 {}],
                "outside a vararg",
            ),
            (
                vec![Op::Concat { a: 0, b: 1 }, Op::Return0 {}],
                "fewer than two",
            ),
            (
                vec![Op::Return0 {}, Op::Jmp { sj: -2 }],
                "ends with a return",
            ),
        ];
        assert_rejected(cases, 8);
    }

    #[test]
    fn closures_capture_only_what_their_parent_has() {
        for (in_stack, want) in [(true, "register 5"), (false, "upvalue 5")] {
            let mut child = proto(vec![Op::Return0 {}], 1);
            child.upvalues.push(crate::func::UpvalDesc {
                name: "x".into(),
                in_stack,
                index: 5,
            });
            let mut p = proto(vec![Op::Closure { a: 0, bx: 0 }, Op::Return0 {}], 2);
            p.protos.push(std::sync::Arc::new(child));
            let err = verify(&p).expect_err("out-of-range capture");
            assert!(err.contains(want), "{err}");
        }
    }

    #[test]
    fn a_main_chunk_has_one_upvalue() {
        let p = proto(vec![Op::Return0 {}], 1);
        assert!(verify_main(&p).unwrap_err().contains("one upvalue"));
    }

    #[test]
    fn checks_nested_prototypes_and_line_info() {
        let mut p = proto(vec![Op::Return0 {}], 1);
        p.protos.push(std::sync::Arc::new(proto(
            vec![Op::Move { a: 0, b: 9 }, Op::Return0 {}],
            2,
        )));
        assert!(verify(&p).unwrap_err().contains("register 9"));
        let mut q = proto(vec![Op::Return0 {}], 1);
        q.lines = vec![1, 1];
        assert!(verify(&q).unwrap_err().contains("line information"));
        q.lines.clear();
        assert!(verify(&q).is_ok(), "stripped line information");
    }
}
