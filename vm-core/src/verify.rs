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
//! (`CALL` with `B = 0`, `VARARG` with `C = 0`, ...) are not bounded by
//! `max_stack`: the interpreter sizes the stack for them (and rule 3 below
//! makes sure they start at a sound top).
//!
//! It also checks the shape the code generator gives code, which the
//! interpreter's handlers assume: a function ends with a return; a vararg
//! function starts with `VARARGPREP` and only it uses `VARARG`; every
//! comparison or test is followed by its jump; `FORPREP` and `FORLOOP`,
//! `TFORPREP`, `TFORCALL` and `TFORLOOP` come in matching groups (the same
//! `A`, offsets pairing up as the code generator sets them); field names
//! are string constants and arithmetic constants numbers; local variable
//! ranges lie inside the code.
//!
//! Last, a dataflow pass (`Facts`, over every path through the code)
//! proves what the interpreter trusts about register contents:
//! 1. `FORLOOP` finds the state its `FORPREP` set up in `R[A..A+2]` (three
//!    integers or three floats): nothing else wrote them on any path.
//! 2. `SETLIST` finds the table a `NEWTABLE` put in `R[A]`.
//! 3. An instruction that uses the values "up to the top" (`B = 0` of
//!    `CALL`, `TAILCALL`, `SETLIST`, `RETURN`) follows one that set the top
//!    at or above its first register (`CALL` or `VARARG` with `C = 0`,
//!    `TAILCALL`), or the top is the frame's.
//! 4. No code runs in registers that have an open upvalue or a pending
//!    `__close`: a call's frame starts above them, and so do the frames a
//!    collection's finalizers get at `NEWTABLE`, `CONCAT` and `CLOSURE`
//!    (which treat the registers above their result as free, so the facts
//!    of those registers are forgotten there) and while the top is below
//!    the frame's; `RETURN0` and `RETURN1`, which close nothing, and
//!    `TAILCALL`, which closes no `__close` variable, have none to close.
//!    So a function's registers are written only by its own instructions
//!    (and by `debug.setlocal`, which keeps the kinds this pass proved:
//!    `trusted_kind`).
//! 5. `TBC` and `TFORPREP` mark a variable to be closed above those already
//!    marked (the thread keeps them in stack order), never one twice.
//!
//! Only the compiler makes prototypes today, so a failure here is a
//! compiler bug, reported as an error instead of undefined behaviour; a
//! loader of binary chunks must pass its prototypes through here too.

use crate::func::Proto;
use crate::opcodes::Op;

/// Checks a main chunk: valid, with the one upvalue (`_ENV`) that `load`
/// gives it. Its first `checked` nested prototypes passed [`verify`]
/// already (a chunk loaded in pieces checks each function as it is
/// finished).
pub(crate) fn verify_main(proto: &Proto, checked: usize) -> Result<(), String> {
    if proto.upvalues.len() != 1 {
        return Err("invalid bytecode: a main chunk has one upvalue".into());
    }
    verify_function(proto)?;
    let rest = proto.protos.get(checked..).unwrap_or_default();
    rest.iter().try_for_each(|p| verify(p))
}

/// Checks `proto` and its nested prototypes (see the module docs).
pub(crate) fn verify(proto: &Proto) -> Result<(), String> {
    verify_function(proto)?;
    proto.protos.iter().try_for_each(|p| verify(p))
}

/// Checks `proto`'s own code (how its closures capture included).
fn verify_function(proto: &Proto) -> Result<(), String> {
    let v = Verifier { p: proto };
    let at = |pc: usize, e: String| {
        let name = proto.code[pc].name();
        format!("invalid bytecode: {name} at instruction {pc}: {e}")
    };
    for (pc, op) in proto.code.iter().enumerate() {
        v.instruction(pc, *op).map_err(|e| at(pc, e))?;
    }
    v.function().map_err(|e| format!("invalid bytecode: {e}"))?;
    Flow::run(&v).map_err(|(pc, e)| at(pc, e))?;
    Ok(())
}

/// What the interpreter relies on register `reg` of a frame of `proto`
/// holding when the frame goes on, from its saved program counter `pc`:
/// `debug.setlocal` must not change that kind of value into another.
/// `proto` passed the verifier.
///
/// The frame goes on at instruction `pc` (after a call, or when a budget
/// stopped it) or at `pc - 1` (a hook reports the instruction it traces as
/// the current one, the one before the saved pc): a register is trusted if
/// it is at either.
pub(crate) fn trusted_kind(proto: &Proto, pc: usize, reg: usize) -> Option<Trusted> {
    let v = Verifier { p: proto };
    let flow = Flow::run(&v).ok()?;
    [pc.checked_sub(1), Some(pc)]
        .into_iter()
        .flatten()
        .find_map(|pc| match flow.facts_at(&v, pc)?.kinds.get(reg)? {
            Kind::Any => None,
            Kind::Table => Some(Trusted::Table),
            Kind::For(_) => Some(Trusted::LoopState),
        })
}

/// A kind of value the interpreter trusts a register to hold
/// (`trusted_kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trusted {
    /// The table a constructor is filling (`SETLIST`'s `R[A]`).
    Table,
    /// Part of a numeric `for` loop's state (`FORLOOP`'s `R[A..A+2]`):
    /// all integers or all floats, so a value of the same number kind.
    LoopState,
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
            // The loop instructions pair up as the code generator emits
            // them. With FORPREP at p and FORLOOP at q, both carry
            // `bx = q - p`: FORPREP skips to just past its FORLOOP, which
            // jumps back to the body at p + 1. With TFORPREP at p, its
            // TFORCALL at q - 1 and TFORLOOP at q, TFORPREP jumps to the
            // TFORCALL (`bx = q - p - 2`) and TFORLOOP back to the body
            // (`bx = q - p`).
            Op::ForLoop { a, bx } => {
                self.regs(a, 4)?;
                self.target(pc, -(bx as i64))?;
                let prep = |o| matches!(o, Op::ForPrep { a: pa, bx: pb } if pa == a && pb == bx);
                self.is_at(pc as i64 - bx as i64, prep, "FORPREP")?;
            }
            Op::TForLoop { a, bx } => {
                self.regs(a, 5)?;
                self.target(pc, -(bx as i64))?;
                let call = |o| matches!(o, Op::TForCall { a: ca, .. } if ca == a);
                self.is_at(pc as i64 - 1, call, "TFORCALL")?;
                let prep = |o| matches!(o, Op::TForPrep { a: pa, bx: pb } if pa == a && pb as i64 == bx as i64 - 2);
                self.is_at(pc as i64 - bx as i64, prep, "TFORPREP")?;
            }
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
                let lp = |o| matches!(o, Op::TForLoop { a: la, bx: lb } if la == a && lb as i64 == bx as i64 + 2);
                self.is_at(pc as i64 + 2 + bx as i64, lp, "TFORLOOP")?;
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
        if op.is_conditional_skip() {
            self.is_at(pc as i64 + 1, |o| matches!(o, Op::Jmp { .. }), "jump")?;
        }
        Ok(())
    }
}

/// What the dataflow pass knows a register holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Anything.
    Any,
    /// A table (`NEWTABLE`'s result).
    Table,
    /// Part of the state `FORPREP` at register `A` set up in `R[A..A+2]`.
    For(u8),
}

/// Where the top of the stack is, for the instructions that use the values
/// up to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Top {
    /// At or above the frame's last register (`CallInfo::top`).
    Frame,
    /// Set by a call or `VARARG` with results up to the top: at or above
    /// register `t`, possibly below the frame's last register.
    Open(u8),
}

/// A set of registers (a frame has at most 256).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct RegSet([u64; 4]);

impl RegSet {
    fn insert(&mut self, r: usize) {
        if r < 256 {
            self.0[r / 64] |= 1 << (r % 64);
        }
    }

    /// The bits of word `w` for registers `r` and above.
    fn mask_from(r: usize, w: usize) -> u64 {
        match r.checked_sub(w * 64) {
            None | Some(0) => !0,
            Some(d) if d >= 64 => 0,
            Some(d) => !0 << d,
        }
    }

    /// Removes registers `r` and above.
    fn clear_from(&mut self, r: usize) {
        for (w, bits) in self.0.iter_mut().enumerate() {
            *bits &= !Self::mask_from(r, w);
        }
    }

    /// The first register `r` or above in the set.
    fn first_from(&self, r: usize) -> Option<usize> {
        self.0.iter().enumerate().find_map(|(w, bits)| {
            let b = bits & Self::mask_from(r, w);
            (b != 0).then(|| w * 64 + b.trailing_zeros() as usize)
        })
    }

    fn union(&self, other: &RegSet) -> RegSet {
        RegSet(std::array::from_fn(|w| self.0[w] | other.0[w]))
    }

    fn is_empty(&self) -> bool {
        self.0 == [0; 4]
    }

    /// The registers in the set, in order.
    fn iter(self) -> impl Iterator<Item = usize> {
        let mut set = self;
        std::iter::from_fn(move || {
            let r = set.first_from(0)?;
            set.0[r / 64] &= !(1 << (r % 64));
            Some(r)
        })
    }
}

/// What holds on every path to an instruction (the dataflow pass's state,
/// see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Facts {
    /// One per register.
    kinds: Vec<Kind>,
    /// Registers that may have an open upvalue (a closure may write them
    /// at any call). Their kind is always `Any`.
    captured: RegSet,
    /// Registers that may be to-be-closed variables not closed yet.
    tbc: RegSet,
    top: Top,
}

impl Facts {
    /// A frame's start: no facts, the top at the frame's.
    fn entry(max_stack: u8) -> Facts {
        Facts {
            kinds: vec![Kind::Any; max_stack as usize],
            captured: RegSet::default(),
            tbc: RegSet::default(),
            top: Top::Frame,
        }
    }

    fn write(&mut self, r: usize) {
        if let Some(k) = self.kinds.get_mut(r) {
            *k = Kind::Any;
        }
    }

    /// Forgets registers `from .. to`.
    fn write_range(&mut self, from: usize, to: usize) {
        let n = self.kinds.len();
        self.kinds[from.min(n)..to.min(n)].fill(Kind::Any);
    }

    /// Forgets registers `from` and above.
    fn write_from(&mut self, from: usize) {
        self.write_range(from, usize::MAX);
    }

    /// Facts that hold for both: a register's kind when they agree on it,
    /// the union of the marked registers, the lower top. Returns whether
    /// `self` changed.
    fn join(&mut self, other: &Facts) -> bool {
        let mut changed = false;
        for (k, o) in self.kinds.iter_mut().zip(&other.kinds) {
            if *k != *o && *k != Kind::Any {
                *k = Kind::Any;
                changed = true;
            }
        }
        let (captured, tbc) = (
            self.captured.union(&other.captured),
            self.tbc.union(&other.tbc),
        );
        let top = match (self.top, other.top) {
            (Top::Frame, t) | (t, Top::Frame) => t,
            (Top::Open(x), Top::Open(y)) => Top::Open(x.min(y)),
        };
        changed |= captured != self.captured || tbc != self.tbc || top != self.top;
        (self.captured, self.tbc, self.top) = (captured, tbc, top);
        changed
    }

    /// Forgets what may change behind the instructions' backs: registers
    /// with an open upvalue, and those at or above a top below the
    /// frame's (a collection clears them, and code may run there).
    fn normalize(&mut self) {
        if !self.captured.is_empty() {
            for r in self.captured.iter() {
                self.write(r);
            }
        }
        if let Top::Open(t) = self.top {
            self.write_from(t as usize);
        }
    }

    /// No register `r` or above has an open upvalue or a pending close
    /// (code is about to run there).
    fn unmarked_from(&self, r: usize, why: &str) -> Result<(), String> {
        match self.captured.union(&self.tbc).first_from(r) {
            Some(m) => Err(format!("register {m}, captured or to be closed, is {why}")),
            None => Ok(()),
        }
    }

    /// Marks register `r` to be closed. The thread's list of variables to
    /// close is in stack order, so no register at or above `r` may be
    /// marked already (not even `r`: a `TBC` run again).
    fn mark_tbc(&mut self, r: usize) -> Result<(), String> {
        if let Some(m) = self.tbc.first_from(r) {
            return Err(format!("register {m} may already be to be closed"));
        }
        self.tbc.insert(r);
        Ok(())
    }

    /// The top is at or above register `r`.
    fn top_reaches(&self, r: usize) -> Result<(), String> {
        match self.top {
            Top::Open(t) if (t as usize) < r => Err(format!(
                "uses the values up to the top, which may be below register {r}"
            )),
            _ => Ok(()),
        }
    }
}

/// The dataflow pass: the facts at the start of each block of straight
/// code (an instruction that is jumped to or follows a branch), computed
/// to a fixed point over every path from the function's start.
struct Flow {
    /// The first instruction of each block, in order.
    leaders: Vec<usize>,
    /// The facts at each leader; `None` for code never reached.
    entry: Vec<Option<Facts>>,
}

impl Flow {
    /// Runs the pass over code that passed `Verifier::instruction`; an
    /// error names the instruction whose requirement does not hold.
    fn run(v: &Verifier<'_>) -> Result<Flow, (usize, String)> {
        let code = &v.p.code;
        let mut is_leader = vec![false; code.len()];
        if let Some(first) = is_leader.first_mut() {
            *first = true;
        }
        for (pc, &op) in code.iter().enumerate() {
            let next = successors(pc, op);
            if next[..] != [pc + 1] {
                for &t in &next {
                    is_leader[t] = true;
                }
            }
        }
        let leaders: Vec<usize> = (0..code.len()).filter(|&pc| is_leader[pc]).collect();
        let mut flow = Flow {
            entry: vec![None; leaders.len()],
            leaders,
        };
        if code.is_empty() {
            return Ok(flow);
        }
        flow.entry[0] = Some(Facts::entry(v.p.max_stack));
        let mut work = vec![0];
        let mut queued = vec![false; flow.leaders.len()];
        queued[0] = true;
        while let Some(id) = work.pop() {
            queued[id] = false;
            let mut pc = flow.leaders[id];
            let mut facts = flow.entry[id].clone().expect("a queued block has facts");
            loop {
                let op = code[pc];
                // `FORPREP` sets the loop's state up only when the loop runs.
                let skipped = matches!(op, Op::ForPrep { .. }).then(|| facts.clone());
                v.step(op, &mut facts).map_err(|e| (pc, e))?;
                let next = successors(pc, op);
                if next[..] == [pc + 1] && !is_leader[pc + 1] {
                    pc += 1;
                    continue;
                }
                for &t in &next {
                    let edge = match &skipped {
                        Some(before) if t != pc + 1 => before,
                        _ => &facts,
                    };
                    let id = flow.leader_of(t);
                    let changed = match &mut flow.entry[id] {
                        Some(old) => old.join(edge),
                        slot @ None => {
                            *slot = Some(edge.clone());
                            true
                        }
                    };
                    if changed && !queued[id] {
                        queued[id] = true;
                        work.push(id);
                    }
                }
                break;
            }
        }
        Ok(flow)
    }

    /// The block that contains instruction `pc`.
    fn leader_of(&self, pc: usize) -> usize {
        self.leaders.partition_point(|&l| l <= pc) - 1
    }

    /// The facts just before instruction `pc`, or `None` if it is never
    /// reached.
    fn facts_at(&self, v: &Verifier<'_>, pc: usize) -> Option<Facts> {
        if pc >= v.p.code.len() {
            return None;
        }
        let id = self.leader_of(pc);
        let mut facts = self.entry[id].clone()?;
        for at in self.leaders[id]..pc {
            let op = v.p.code[at];
            if successors(at, op)[..] != [at + 1] {
                return None;
            }
            v.step(op, &mut facts).ok()?;
        }
        Some(facts)
    }
}

/// The instructions `op` at `pc` may go on with (all inside the code, as
/// `Verifier::instruction` checked).
fn successors(pc: usize, op: Op) -> smallvec::SmallVec<[usize; 2]> {
    let to = |offset: i64| (pc as i64 + 1 + offset) as usize;
    match op {
        Op::Return { .. } | Op::Return0 {} | Op::Return1 { .. } => smallvec::smallvec![],
        Op::Jmp { sj } => smallvec::smallvec![to(sj as i64)],
        Op::LFalseSkip { .. } => smallvec::smallvec![pc + 2],
        Op::ForPrep { bx, .. } => smallvec::smallvec![pc + 1, to(bx as i64)],
        Op::ForLoop { bx, .. } | Op::TForLoop { bx, .. } => {
            smallvec::smallvec![pc + 1, to(-(bx as i64))]
        }
        Op::TForPrep { bx, .. } => smallvec::smallvec![to(bx as i64)],
        _ if op.is_conditional_skip() => smallvec::smallvec![pc + 1, pc + 2],
        _ => smallvec::smallvec![pc + 1],
    }
}

impl Verifier<'_> {
    /// What instruction `pc` needs from the facts before it, and what it
    /// makes of them (see the module docs for the rules).
    fn step(&self, op: Op, f: &mut Facts) -> Result<(), String> {
        if let Top::Open(t) = f.top {
            f.unmarked_from(t as usize, "at or above the top")?;
        }
        match op {
            Op::ForPrep { a, .. } => {
                let r = a as usize;
                f.kinds[r..r + 3].fill(Kind::For(a));
                f.write(r + 3);
            }
            Op::ForLoop { a, .. } => {
                let r = a as usize;
                if let Some(bad) = (r..r + 3).find(|&i| f.kinds[i] != Kind::For(a)) {
                    return Err(format!(
                        "register {bad} may not hold the state its FORPREP set up"
                    ));
                }
                f.write(r + 3);
            }
            Op::TForPrep { a, .. } => f.mark_tbc(a as usize + 3)?,
            Op::TForCall { a, .. } => {
                let func = a as usize + 4;
                f.unmarked_from(func, "in the iterator's frame")?;
                f.write_from(func);
                f.top = Top::Frame;
            }
            Op::TForLoop { a, .. } => f.write(a as usize + 2),
            Op::SetList { a, b, .. } => {
                if f.kinds[a as usize] != Kind::Table {
                    return Err(format!("register {a} may not hold a table"));
                }
                if b == 0 {
                    f.top_reaches(a as usize + 1)?;
                    f.top = Top::Frame;
                }
            }
            Op::Call { a, b, c } => {
                let func = a as usize;
                if b == 0 {
                    f.top_reaches(func + 1)?;
                }
                f.unmarked_from(func, "in the called function's frame")?;
                f.write_from(func);
                f.top = if c == 0 { Top::Open(a) } else { Top::Frame };
            }
            // A Lua callee replaces the frame, closing its upvalues but
            // not its to-be-closed variables; a native is called as by
            // `CALL` with `C = 0`.
            Op::TailCall { a, b } => {
                let func = a as usize;
                if b == 0 {
                    f.top_reaches(func + 1)?;
                }
                if let Some(r) = f.tbc.first_from(0) {
                    return Err(format!("a tail call leaves register {r} to be closed"));
                }
                f.unmarked_from(func, "in the called function's frame")?;
                f.write_from(func);
                f.top = Top::Open(a);
            }
            Op::Return { a, b } => {
                if b == 0 {
                    f.top_reaches(a as usize)?;
                }
            }
            Op::Return0 {} | Op::Return1 { .. } => {
                f.unmarked_from(0, "not closed by a return that closes nothing")?;
            }
            Op::Tbc { a } => f.mark_tbc(a as usize)?,
            Op::Close { a } => {
                f.captured.clear_from(a as usize);
                f.tbc.clear_from(a as usize);
            }
            // Collector safe points: finalizers may run from `R[A+1]` up.
            Op::NewTable { a, .. } | Op::Concat { a, .. } => {
                f.unmarked_from(a as usize + 1, "above a collector safe point")?;
                f.write_from(a as usize);
                if let Op::NewTable { .. } = op {
                    f.kinds[a as usize] = Kind::Table;
                }
            }
            Op::Closure { a, bx } => {
                for d in &self.p.protos[bx as usize].upvalues {
                    if d.in_stack {
                        f.captured.insert(d.index as usize);
                    }
                }
                f.unmarked_from(a as usize + 1, "above a collector safe point")?;
                f.write_from(a as usize);
            }
            Op::VarArg { a, c } => {
                let r = a as usize;
                if c == 0 {
                    f.write_from(r);
                    f.top = Top::Open(a);
                } else {
                    f.write_range(r, r + c as usize - 1);
                }
            }
            Op::SelfOp { a, .. } => f.write_range(a as usize, a as usize + 2),
            Op::LoadNil { a, b } => f.write_range(a as usize, a as usize + b as usize + 1),
            _ => {
                if let Some(a) = op.result_register() {
                    f.write(a as usize);
                }
            }
        }
        f.normalize();
        Ok(())
    }
}

impl Op {
    /// Whether this is a comparison or test: it skips the next
    /// instruction, its jump, when its condition fails.
    fn is_conditional_skip(mut self) -> bool {
        self.condition_mut().is_some() || matches!(self, Op::Test { .. } | Op::TestSet { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    fn proto(code: Vec<Op>, max_stack: u8) -> Proto {
        draft(code, max_stack).into()
    }

    fn draft(code: Vec<Op>, max_stack: u8) -> crate::func::ProtoDraft {
        crate::func::ProtoDraft {
            lines: vec![1; code.len()],
            code,
            max_stack,
            consts: vec![Value::Int(1)],
            ..Default::default()
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

    /// A prototype whose only child captures register `r`.
    fn capturing(code: Vec<Op>, max_stack: u8, r: u8) -> Proto {
        let mut child = draft(vec![Op::Return0 {}], 1);
        child.upvalues.push(crate::func::UpvalDesc {
            name: "x".into(),
            in_stack: true,
            index: r,
        });
        let mut p = draft(code, max_stack);
        p.protos.push(std::sync::Arc::new(child.into()));
        p.into()
    }

    #[test]
    fn loop_instructions_pair_up_both_ways() {
        let cases = [
            // A FORLOOP without its FORPREP (it names itself).
            (
                vec![Op::ForLoop { a: 0, bx: 0 }, Op::Return0 {}],
                "not its FORPREP",
            ),
            // Its FORPREP names another loop register.
            (
                vec![
                    Op::ForPrep { a: 0, bx: 1 },
                    Op::ForLoop { a: 1, bx: 1 },
                    Op::Return0 {},
                ],
                "not its FORLOOP",
            ),
            // A TFORCALL and TFORLOOP without their TFORPREP.
            (
                vec![
                    Op::LoadNil { a: 0, b: 0 },
                    Op::TForCall { a: 0, c: 1 },
                    Op::TForLoop { a: 0, bx: 2 },
                    Op::Return0 {},
                ],
                "not its TFORPREP",
            ),
            // TFORLOOP jumps back past its TFORPREP.
            (
                vec![
                    Op::TForPrep { a: 0, bx: 0 },
                    Op::TForCall { a: 0, c: 1 },
                    Op::TForLoop { a: 0, bx: 3 },
                    Op::Return0 {},
                ],
                "not its TFORLOOP",
            ),
        ];
        assert_rejected(cases, 8);
    }

    #[test]
    fn the_interpreter_finds_what_it_trusts() {
        let cases = [
            // A write into a loop's state inside its body.
            (
                vec![
                    Op::ForPrep { a: 0, bx: 2 },
                    Op::LoadI { a: 1, sbx: 5 },
                    Op::ForLoop { a: 0, bx: 2 },
                    Op::Return0 {},
                ],
                "register 1 may not hold the state",
            ),
            // A jump into the body, past the FORPREP.
            (
                vec![
                    Op::Jmp { sj: 1 },
                    Op::ForPrep { a: 0, bx: 1 },
                    Op::ForLoop { a: 0, bx: 1 },
                    Op::Return0 {},
                ],
                "register 0 may not hold the state",
            ),
            // A call whose frame covers the loop's state.
            (
                vec![
                    Op::ForPrep { a: 0, bx: 2 },
                    Op::Call { a: 2, b: 1, c: 1 },
                    Op::ForLoop { a: 0, bx: 2 },
                    Op::Return0 {},
                ],
                "register 2 may not hold the state",
            ),
            // SETLIST into something else than a new table.
            (
                vec![
                    Op::LoadI { a: 0, sbx: 1 },
                    Op::SetList { a: 0, b: 0, c: 0 },
                    Op::Return0 {},
                ],
                "register 0 may not hold a table",
            ),
            (
                vec![
                    Op::NewTable {
                        a: 0,
                        hash: 0,
                        array: 0,
                    },
                    Op::Move { a: 0, b: 1 },
                    Op::SetList { a: 0, b: 1, c: 0 },
                    Op::Return0 {},
                ],
                "register 0 may not hold a table",
            ),
            // A table in a register below another NEWTABLE's is kept, but
            // one above it may be cleared by the collection there.
            (
                vec![
                    Op::NewTable {
                        a: 1,
                        hash: 0,
                        array: 0,
                    },
                    Op::NewTable {
                        a: 0,
                        hash: 0,
                        array: 0,
                    },
                    Op::SetList { a: 1, b: 1, c: 0 },
                    Op::Return0 {},
                ],
                "register 1 may not hold a table",
            ),
            // Values up to a top that a call's results left below them.
            (
                vec![
                    Op::Call { a: 2, b: 1, c: 0 },
                    Op::Call { a: 2, b: 0, c: 1 },
                    Op::Return0 {},
                ],
                "may be below register 3",
            ),
            (
                vec![
                    Op::Call { a: 3, b: 1, c: 0 },
                    Op::Jmp { sj: 0 },
                    Op::Return { a: 4, b: 0 },
                ],
                "may be below register 4",
            ),
            // Returns and tail calls that would leave a variable open.
            (
                vec![Op::Tbc { a: 0 }, Op::Return1 { a: 0 }],
                "register 0, captured or to be closed",
            ),
            (
                vec![
                    Op::Tbc { a: 0 },
                    Op::TailCall { a: 1, b: 1 },
                    Op::Return { a: 1, b: 0 },
                ],
                "leaves register 0 to be closed",
            ),
            // A variable marked to be closed twice (a jump back to its
            // TBC), or below another.
            (
                vec![Op::Tbc { a: 1 }, Op::Jmp { sj: -2 }, Op::Return0 {}],
                "register 1 may already be to be closed",
            ),
            (
                vec![
                    Op::Tbc { a: 4 },
                    Op::TForPrep { a: 0, bx: 0 },
                    Op::TForCall { a: 0, c: 1 },
                    Op::TForLoop { a: 0, bx: 2 },
                    Op::Return { a: 0, b: 1 },
                ],
                "register 4 may already be to be closed",
            ),
            // A call or a collection's finalizers running in registers that
            // are to be closed.
            (
                vec![
                    Op::Tbc { a: 3 },
                    Op::Call { a: 1, b: 1, c: 1 },
                    Op::Return0 {},
                ],
                "in the called function's frame",
            ),
            (
                vec![
                    Op::Tbc { a: 3 },
                    Op::NewTable {
                        a: 1,
                        hash: 0,
                        array: 0,
                    },
                    Op::Return { a: 0, b: 1 },
                ],
                "above a collector safe point",
            ),
        ];
        assert_rejected(cases, 8);
    }

    #[test]
    fn captured_registers_are_nobody_s_to_trust() {
        // A closure may write the table's register at any call.
        let p = capturing(
            vec![
                Op::NewTable {
                    a: 0,
                    hash: 0,
                    array: 0,
                },
                Op::Closure { a: 1, bx: 0 },
                Op::SetList { a: 0, b: 0, c: 0 },
                Op::Return { a: 0, b: 1 },
            ],
            3,
            0,
        );
        assert!(verify(&p).unwrap_err().contains("may not hold a table"));
        // RETURN0 closes nothing; CLOSE closes, after which they may.
        let p = capturing(vec![Op::Closure { a: 0, bx: 0 }, Op::Return0 {}], 2, 0);
        assert!(verify(&p).unwrap_err().contains("captured or to be closed"));
        let p = capturing(
            vec![
                Op::Closure { a: 0, bx: 0 },
                Op::Close { a: 0 },
                Op::Return0 {},
            ],
            2,
            0,
        );
        assert_eq!(verify(&p), Ok(()));
        // Captured registers above a call's function are in its frame.
        let p = capturing(
            vec![
                Op::Closure { a: 0, bx: 0 },
                Op::Call { a: 0, b: 1, c: 1 },
                Op::Return { a: 0, b: 1 },
            ],
            2,
            0,
        );
        assert!(verify(&p)
            .unwrap_err()
            .contains("in the called function's frame"));
    }

    #[test]
    fn trusted_kinds_follow_the_code() {
        let p = proto(
            vec![
                Op::NewTable {
                    a: 0,
                    hash: 0,
                    array: 0,
                },
                Op::LoadI { a: 1, sbx: 1 },
                Op::LoadI { a: 2, sbx: 3 },
                Op::LoadI { a: 3, sbx: 1 },
                Op::ForPrep { a: 1, bx: 2 },
                Op::LoadI { a: 5, sbx: 0 },
                Op::ForLoop { a: 1, bx: 2 },
                Op::SetList { a: 0, b: 0, c: 0 },
                Op::Return { a: 0, b: 2 },
            ],
            6,
        );
        assert_eq!(verify(&p), Ok(()));
        let at = |pc, r| trusted_kind(&p, pc, r);
        assert_eq!(at(1, 0), Some(Trusted::Table));
        assert_eq!(at(4, 1), None, "FORPREP next");
        for r in 1..4 {
            assert_eq!(at(5, r), Some(Trusted::LoopState), "register {r}");
            assert_eq!(at(6, r), Some(Trusted::LoopState), "register {r}");
        }
        assert_eq!(at(5, 4), None, "the control variable");
        assert_eq!(at(5, 5), None);
        assert_eq!(at(6, 0), Some(Trusted::Table));
        assert_eq!(at(9, 0), Some(Trusted::Table), "RETURN next");
        assert_eq!(at(10, 0), None, "past the code");
    }

    #[test]
    fn closures_capture_only_what_their_parent_has() {
        for (in_stack, want) in [(true, "register 5"), (false, "upvalue 5")] {
            let mut child = draft(vec![Op::Return0 {}], 1);
            child.upvalues.push(crate::func::UpvalDesc {
                name: "x".into(),
                in_stack,
                index: 5,
            });
            let mut p = proto(vec![Op::Closure { a: 0, bx: 0 }, Op::Return0 {}], 2);
            p.protos.push(std::sync::Arc::new(child.into()));
            let err = verify(&p).expect_err("out-of-range capture");
            assert!(err.contains(want), "{err}");
        }
    }

    #[test]
    fn a_main_chunk_has_one_upvalue() {
        let p = proto(vec![Op::Return0 {}], 1);
        assert!(verify_main(&p, 0).unwrap_err().contains("one upvalue"));
    }

    #[test]
    fn checks_nested_prototypes_and_line_info() {
        let mut p = proto(vec![Op::Return0 {}], 1);
        p.protos.push(std::sync::Arc::new(proto(
            vec![Op::Move { a: 0, b: 9 }, Op::Return0 {}],
            2,
        )));
        assert!(verify(&p).unwrap_err().contains("register 9"));
        let mut q = draft(vec![Op::Return0 {}], 1);
        q.lines = vec![1, 1];
        let bad: Proto = q.into();
        assert!(verify(&bad).unwrap_err().contains("line information"));
        let mut q = draft(vec![Op::Return0 {}], 1);
        q.lines.clear();
        assert!(verify(&q.into()).is_ok(), "stripped line information");
    }
}
