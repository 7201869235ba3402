//! The instruction set (`lopcodes.h`): each opcode declared once, with its
//! meaning; the `Op` enum and `Op::name` (for listings) come from the one
//! table. Every instruction costs one unit of the instruction budget.
//!
//! Notation: `R[X]` is register X of the current frame, `K[X]` constant X of
//! the prototype, `UpValue[X]` upvalue X of the running closure, `RK(C)` is
//! `K[C]` when the instruction's `k` flag is set and `R[C]` otherwise.
//! `pc` is the index of the *next* instruction when an instruction runs, so
//! "pc++" skips one instruction and a jump of `sj` lands on `pc + sj`.
//! Registers are `u8`; constant indices are `u32`.

macro_rules! opcodes {
    ($( $(#[doc = $doc:literal])* $name:ident $lname:literal { $($field:ident : $ty:ty),* }, )*) => {
        /// One VM instruction.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Op {
            $( $(#[doc = $doc])* #[allow(missing_docs)] $name { $($field: $ty),* }, )*
        }

        impl Op {
            /// The opcode's name in listings (`MOVE`, `GETTABUP`, ...).
            pub fn name(&self) -> &'static str {
                match self { $( Op::$name { .. } => $lname, )* }
            }

            /// The operands in declaration order (booleans as 0/1), for listings.
            pub fn operands(&self) -> smallvec::SmallVec<[i64; 4]> {
                match *self {
                    $( Op::$name { $($field),* } => smallvec::smallvec![$($field as i64),*], )*
                }
            }

            /// The opcode's number: its position in the instruction set
            /// (binary chunks store it).
            pub(crate) fn code(&self) -> u8 {
                match self { $( Op::$name { .. } => OpCode::$name as u8, )* }
            }

            /// The number of operands of the instructions with opcode number
            /// `code`, or `None` for an unknown opcode.
            pub(crate) fn operand_count(code: u8) -> Option<usize> {
                $(
                    if code == OpCode::$name as u8 {
                        let fields: &[&str] = &[$(stringify!($field)),*];
                        return Some(fields.len());
                    }
                )*
                None
            }

            /// The instruction with opcode number `code` and these operands
            /// (as `operands` gives them); `None` for an unknown opcode, a
            /// wrong operand count or an operand out of its field's range.
            pub(crate) fn from_parts(code: u8, operands: &[i64]) -> Option<Op> {
                $(
                    if code == OpCode::$name as u8 {
                        let mut it = operands.iter().copied();
                        let op = Op::$name { $($field: <$ty as Operand>::from_i64(it.next()?)?),* };
                        return if it.next().is_none() { Some(op) } else { None };
                    }
                )*
                None
            }
        }

        /// Opcode numbers, in declaration order.
        #[repr(u8)]
        enum OpCode { $($name),* }
    };
    }

/// An instruction field's type, converted back from `Op::operands`' `i64`.
trait Operand: Sized {
    fn from_i64(v: i64) -> Option<Self>;
}

macro_rules! int_operand {
    ($($t:ty),*) => {
        $(impl Operand for $t {
            fn from_i64(v: i64) -> Option<Self> {
                <$t>::try_from(v).ok()
            }
        })*
    };
}
int_operand!(u8, u16, u32, i16, i32);

impl Operand for bool {
    fn from_i64(v: i64) -> Option<Self> {
        match v {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
}

opcodes! {
    /// `R[A] := R[B]`
    Move "MOVE" { a: u8, b: u8 },
    /// `R[A] := sbx` (an integer)
    LoadI "LOADI" { a: u8, sbx: i32 },
    /// `R[A] := (float) sbx`
    LoadF "LOADF" { a: u8, sbx: i32 },
    /// `R[A] := K[bx]`
    LoadK "LOADK" { a: u8, bx: u32 },
    /// `R[A] := false`
    LoadFalse "LOADFALSE" { a: u8 },
    /// `R[A] := false; pc++` (used to materialise comparison results)
    LFalseSkip "LFALSESKIP" { a: u8 },
    /// `R[A] := true`
    LoadTrue "LOADTRUE" { a: u8 },
    /// `R[A], R[A+1], ..., R[A+B] := nil`
    LoadNil "LOADNIL" { a: u8, b: u8 },
    /// `R[A] := UpValue[B]`
    GetUpval "GETUPVAL" { a: u8, b: u8 },
    /// `UpValue[B] := R[A]`
    SetUpval "SETUPVAL" { a: u8, b: u8 },
    /// `R[A] := UpValue[B][K[C]]` (`K[C]` a string; global reads through `_ENV`)
    GetTabUp "GETTABUP" { a: u8, b: u8, c: u32 },
    /// `R[A] := R[B][R[C]]`
    GetTable "GETTABLE" { a: u8, b: u8, c: u8 },
    /// `R[A] := R[B][C]` (C an integer key 0..=255)
    GetI "GETI" { a: u8, b: u8, c: u8 },
    /// `R[A] := R[B][K[C]]` (`K[C]` a string)
    GetField "GETFIELD" { a: u8, b: u8, c: u32 },
    /// `UpValue[A][K[B]] := RK(C)` (`K[B]` a string; global writes through `_ENV`)
    SetTabUp "SETTABUP" { a: u8, b: u32, c: u8, k: bool },
    /// `R[A][R[B]] := RK(C)`
    SetTable "SETTABLE" { a: u8, b: u8, c: u8, k: bool },
    /// `R[A][B] := RK(C)` (B an integer key 0..=255)
    SetI "SETI" { a: u8, b: u8, c: u8, k: bool },
    /// `R[A][K[B]] := RK(C)` (`K[B]` a string)
    SetField "SETFIELD" { a: u8, b: u32, c: u8, k: bool },
    /// `R[A] := {}` with room for `array` array items and `hash` hash items
    NewTable "NEWTABLE" { a: u8, hash: u16, array: u32 },
    /// `R[A+1] := R[B]; R[A] := R[B][K[C]]` (`K[C]` a string: method lookup)
    SelfOp "SELF" { a: u8, b: u8, c: u32 },
    /// `R[A] := R[B] + sc`
    AddI "ADDI" { a: u8, b: u8, sc: i16 },
    /// `R[A] := R[B] - (-sc)`, computed as `R[B] + sc` (so `-0.0 - 0` is
    /// `0.0`, as luac's `ADDI` for `x - k` gives); its metamethod is
    /// `__sub` with the operand `-sc`. Listed as `ADDI`.
    SubI "ADDI" { a: u8, b: u8, sc: i16 },
    /// `R[A] := R[B] + K[C]` (`K[C]` a number)
    AddK "ADDK" { a: u8, b: u8, c: u32 },
    /// `R[A] := K[C] + R[B]` (`K[C]` a number; a metamethod sees `K[C]` first)
    AddKL "ADDKL" { a: u8, b: u8, c: u32 },
    /// `R[A] := K[C] * R[B]` (`K[C]` a number; a metamethod sees `K[C]` first)
    MulKL "MULKL" { a: u8, b: u8, c: u32 },
    /// `R[A] := R[B] - K[C]` (`K[C]` a number)
    SubK "SUBK" { a: u8, b: u8, c: u32 },
    /// `R[A] := R[B] * K[C]` (`K[C]` a number)
    MulK "MULK" { a: u8, b: u8, c: u32 },
    /// `R[A] := R[B] % K[C]` (`K[C]` a number)
    ModK "MODK" { a: u8, b: u8, c: u32 },
    /// `R[A] := R[B] ^ K[C]` (`K[C]` a number)
    PowK "POWK" { a: u8, b: u8, c: u32 },
    /// `R[A] := R[B] / K[C]` (`K[C]` a number)
    DivK "DIVK" { a: u8, b: u8, c: u32 },
    /// `R[A] := R[B] // K[C]` (`K[C]` a number)
    IDivK "IDIVK" { a: u8, b: u8, c: u32 },
    /// `R[A] := R[B] & K[C]` (`K[C]` an integer)
    BAndK "BANDK" { a: u8, b: u8, c: u32 },
    /// `R[A] := R[B] | K[C]` (`K[C]` an integer)
    BOrK "BORK" { a: u8, b: u8, c: u32 },
    /// `R[A] := R[B] ~ K[C]` (`K[C]` an integer)
    BXorK "BXORK" { a: u8, b: u8, c: u32 },
    /// `R[A] := R[B] >> sc`
    ShrI "SHRI" { a: u8, b: u8, sc: i16 },
    /// `R[A] := sc << R[B]`
    ShlI "SHLI" { a: u8, b: u8, sc: i16 },
    /// `R[A] := R[B] + R[C]`
    Add "ADD" { a: u8, b: u8, c: u8 },
    /// `R[A] := R[B] - R[C]`
    Sub "SUB" { a: u8, b: u8, c: u8 },
    /// `R[A] := R[B] * R[C]`
    Mul "MUL" { a: u8, b: u8, c: u8 },
    /// `R[A] := R[B] % R[C]`
    Mod "MOD" { a: u8, b: u8, c: u8 },
    /// `R[A] := R[B] ^ R[C]`
    Pow "POW" { a: u8, b: u8, c: u8 },
    /// `R[A] := R[B] / R[C]`
    Div "DIV" { a: u8, b: u8, c: u8 },
    /// `R[A] := R[B] // R[C]`
    IDiv "IDIV" { a: u8, b: u8, c: u8 },
    /// `R[A] := R[B] & R[C]`
    BAnd "BAND" { a: u8, b: u8, c: u8 },
    /// `R[A] := R[B] | R[C]`
    BOr "BOR" { a: u8, b: u8, c: u8 },
    /// `R[A] := R[B] ~ R[C]`
    BXor "BXOR" { a: u8, b: u8, c: u8 },
    /// `R[A] := R[B] << R[C]`
    Shl "SHL" { a: u8, b: u8, c: u8 },
    /// `R[A] := R[B] >> R[C]`
    Shr "SHR" { a: u8, b: u8, c: u8 },
    /// `R[A] := -R[B]`
    Unm "UNM" { a: u8, b: u8 },
    /// `R[A] := ~R[B]`
    BNot "BNOT" { a: u8, b: u8 },
    /// `R[A] := not R[B]`
    Not "NOT" { a: u8, b: u8 },
    /// `R[A] := #R[B]`
    Len "LEN" { a: u8, b: u8 },
    /// `R[A] := R[A] .. ... .. R[A+B-1]` (B >= 2 values)
    Concat "CONCAT" { a: u8, b: u8 },
    /// close upvalues and to-be-closed variables at registers `>= A`
    Close "CLOSE" { a: u8 },
    /// mark register A as a to-be-closed variable
    Tbc "TBC" { a: u8 },
    /// `pc += sj`
    Jmp "JMP" { sj: i32 },
    /// `if ((R[A] == R[B]) ~= k) then pc++` (always followed by a `JMP`)
    Eq "EQ" { a: u8, b: u8, k: bool },
    /// `if ((R[A] < R[B]) ~= k) then pc++`
    Lt "LT" { a: u8, b: u8, k: bool },
    /// `if ((R[A] <= R[B]) ~= k) then pc++`
    Le "LE" { a: u8, b: u8, k: bool },
    /// `if ((R[A] == K[B]) ~= k) then pc++` (`K[B]` any constant)
    EqK "EQK" { a: u8, b: u32, k: bool },
    /// `if ((R[A] == sb) ~= k) then pc++` (`isf`: the literal was a float)
    EqI "EQI" { a: u8, sb: i16, k: bool, isf: bool },
    /// `if ((R[A] < sb) ~= k) then pc++`
    LtI "LTI" { a: u8, sb: i16, k: bool, isf: bool },
    /// `if ((R[A] <= sb) ~= k) then pc++`
    LeI "LEI" { a: u8, sb: i16, k: bool, isf: bool },
    /// `if ((R[A] > sb) ~= k) then pc++`
    GtI "GTI" { a: u8, sb: i16, k: bool, isf: bool },
    /// `if ((R[A] >= sb) ~= k) then pc++`
    GeI "GEI" { a: u8, sb: i16, k: bool, isf: bool },
    /// `if (not R[A] == k) then pc++`
    Test "TEST" { a: u8, k: bool },
    /// `if (not R[B] == k) then pc++ else R[A] := R[B]`
    TestSet "TESTSET" { a: u8, b: u8, k: bool },
    /// `R[A], ..., R[A+C-2] := R[A](R[A+1], ..., R[A+B-1])`;
    /// B = 0: arguments run up to the top; C = 0: keep all results (sets top)
    Call "CALL" { a: u8, b: u8, c: u8 },
    /// `return R[A](R[A+1], ..., R[A+B-1])`; B = 0: arguments up to the top
    TailCall "TAILCALL" { a: u8, b: u8 },
    /// `return R[A], ..., R[A+B-2]`; B = 0: values up to the top
    Return "RETURN" { a: u8, b: u8 },
    /// `return`
    Return0 "RETURN0" {},
    /// `return R[A]`
    Return1 "RETURN1" { a: u8 },
    /// numeric for step: `R[A]` init/internal, `R[A+1]` limit/count, `R[A+2]`
    /// step, `R[A+3]` the control variable; if the loop goes on, update them
    /// and `pc -= bx` (back to the body, i.e. the instruction after FORPREP;
    /// with FORPREP at index p and FORLOOP at q, both carry `bx = q - p`)
    ForLoop "FORLOOP" { a: u8, bx: u32 },
    /// numeric for setup: check and convert `R[A..A+2]`, set `R[A+3]`;
    /// if the loop does not run at all, `pc += bx` (past the FORLOOP)
    ForPrep "FORPREP" { a: u8, bx: u32 },
    /// generic for setup: `R[A]` iterator, `R[A+1]` state, `R[A+2]` control,
    /// `R[A+3]` closing value (marked to-be-closed); `pc += bx` (to TFORCALL)
    TForPrep "TFORPREP" { a: u8, bx: u32 },
    /// `R[A+4], ..., R[A+3+C] := R[A](R[A+1], R[A+2])`
    TForCall "TFORCALL" { a: u8, c: u8 },
    /// `if R[A+4] ~= nil then { R[A+2] := R[A+4]; pc -= bx }` (back to the body)
    TForLoop "TFORLOOP" { a: u8, bx: u32 },
    /// `R[A][C+i] := R[A+i]` for `1 <= i <= B`; B = 0: values up to the top
    SetList "SETLIST" { a: u8, b: u8, c: u32 },
    /// `R[A] := closure(protos[bx])`
    Closure "CLOSURE" { a: u8, bx: u32 },
    /// `R[A], ..., R[A+C-2] := vararg`; C = 0: all of them (sets top)
    VarArg "VARARG" { a: u8, c: u8 },
    /// adjust the vararg frame of a function with `a` fixed parameters
    VarArgPrep "VARARGPREP" { a: u8 },
}

impl Op {
    /// The register that receives the instruction's result, `R[A]` (for
    /// `VARARG`, the first of its results; for `SELF`, the method), or
    /// `None` for instructions without one. Code generation, metamethod
    /// completion and debug information all rely on this one list.
    pub fn result_register(&self) -> Option<u8> {
        let mut op = *self;
        op.result_register_mut().map(|a| *a)
    }

    /// The `k` flag of a comparison (`EQ` ... `GEI`): the instruction skips
    /// the following jump when the comparison's result differs from it.
    /// `None` for other instructions.
    pub fn condition_mut(&mut self) -> Option<&mut bool> {
        match self {
            Op::Eq { k, .. }
            | Op::Lt { k, .. }
            | Op::Le { k, .. }
            | Op::EqK { k, .. }
            | Op::EqI { k, .. }
            | Op::LtI { k, .. }
            | Op::LeI { k, .. }
            | Op::GtI { k, .. }
            | Op::GeI { k, .. } => Some(k),
            _ => None,
        }
    }

    /// Mutable access to the result register (see `result_register`).
    pub fn result_register_mut(&mut self) -> Option<&mut u8> {
        match self {
            Op::Move { a, .. }
            | Op::LoadI { a, .. }
            | Op::LoadF { a, .. }
            | Op::LoadK { a, .. }
            | Op::LoadFalse { a, .. }
            | Op::LFalseSkip { a, .. }
            | Op::LoadTrue { a, .. }
            | Op::GetUpval { a, .. }
            | Op::GetTabUp { a, .. }
            | Op::GetTable { a, .. }
            | Op::GetI { a, .. }
            | Op::GetField { a, .. }
            | Op::NewTable { a, .. }
            | Op::SelfOp { a, .. }
            | Op::AddI { a, .. }
            | Op::SubI { a, .. }
            | Op::AddK { a, .. }
            | Op::AddKL { a, .. }
            | Op::MulKL { a, .. }
            | Op::SubK { a, .. }
            | Op::MulK { a, .. }
            | Op::ModK { a, .. }
            | Op::PowK { a, .. }
            | Op::DivK { a, .. }
            | Op::IDivK { a, .. }
            | Op::BAndK { a, .. }
            | Op::BOrK { a, .. }
            | Op::BXorK { a, .. }
            | Op::ShrI { a, .. }
            | Op::ShlI { a, .. }
            | Op::Add { a, .. }
            | Op::Sub { a, .. }
            | Op::Mul { a, .. }
            | Op::Mod { a, .. }
            | Op::Pow { a, .. }
            | Op::Div { a, .. }
            | Op::IDiv { a, .. }
            | Op::BAnd { a, .. }
            | Op::BOr { a, .. }
            | Op::BXor { a, .. }
            | Op::Shl { a, .. }
            | Op::Shr { a, .. }
            | Op::Unm { a, .. }
            | Op::BNot { a, .. }
            | Op::Not { a, .. }
            | Op::Len { a, .. }
            | Op::Concat { a, .. }
            | Op::TestSet { a, .. }
            | Op::Closure { a, .. }
            | Op::VarArg { a, .. } => Some(a),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_are_eight_bytes() {
        assert_eq!(std::mem::size_of::<Op>(), 8);
    }

    #[test]
    fn names_and_operands() {
        let op = Op::SetField {
            a: 1,
            b: 7,
            c: 2,
            k: true,
        };
        assert_eq!(op.name(), "SETFIELD");
        assert_eq!(op.operands().as_slice(), &[1, 7, 2, 1]);
        assert_eq!(Op::Return0 {}.operands().len(), 0);
    }

    #[test]
    fn result_registers() {
        assert_eq!(Op::AddK { a: 3, b: 1, c: 0 }.result_register(), Some(3));
        assert_eq!(
            Op::SetField {
                a: 1,
                b: 0,
                c: 2,
                k: false
            }
            .result_register(),
            None
        );
        let mut op = Op::GetField { a: 0, b: 1, c: 2 };
        *op.result_register_mut().unwrap() = 7;
        assert_eq!(op, Op::GetField { a: 7, b: 1, c: 2 });
    }
}
