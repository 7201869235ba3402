//! One function under construction (`lparser.h`'s `FuncState`) and the
//! low-level half of `lcode.c`: emitting instructions with line info, jump
//! lists, register allocation, the constant table and the final pass.

use std::collections::HashMap;
use std::sync::Arc;

use super::{CResult, CompileError};
use crate::func::ProtoDraft;
use crate::number::float_to_int_exact;
use crate::opcodes::Op;
use crate::value::{StrRef, Value};

/// Registers must stay below this (`MAXREGS`).
const MAX_REGS: usize = 255;
/// Largest constant index an `RK` operand (8 bits) can name (`MAXINDEXRK`).
pub(super) const MAX_INDEX_RK: u32 = 255;
/// Range of `LOADI`/`LOADF` immediates, as PUC's 17-bit `sBx`, so that
/// listings match `luac`.
const SBX_RANGE: std::ops::RangeInclusive<i64> = -65535..=65536;
/// Range of the 8-bit signed immediates of `ADDI`, `SHRI`, `SHLI`, `EQI`,
/// `LTI`, ... (PUC's `sC`/`sB`).
const SC_RANGE: std::ops::RangeInclusive<i64> = -127..=128;

/// Whether `i` fits a signed 8-bit immediate operand (`fitsC`).
pub(super) fn fits_sc(i: i64) -> bool {
    SC_RANGE.contains(&i)
}

/// A list of pending jumps, linked through their `sj` fields; `None` is
/// the empty list (`NO_JUMP`).
pub(super) type JumpList = Option<usize>;

/// The `sj` of a jump that ends its list (a real offset never has it).
const NO_LINK: i32 = i32::MIN;

/// Key of the constant table, distinguishing `1` from `1.0` and keeping
/// floats by their bits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum ConstKey {
    Nil,
    Bool(bool),
    Int(i64),
    Float(u64),
    Str(StrRef),
}

/// A lexical block of the function (`BlockCnt`).
#[derive(Clone, Copy, Debug)]
pub(super) struct BlockCnt {
    /// Active locals outside the block.
    pub(super) nactvar: usize,
    /// Index of the block's first label in the label list.
    pub(super) first_label: usize,
    /// Index of the block's first pending goto in the goto list.
    pub(super) first_goto: usize,
    /// Some local of the block is captured or to be closed.
    pub(super) upval: bool,
    /// The block is inside the scope of a to-be-closed variable.
    pub(super) inside_tbc: bool,
    /// The block is a loop (`break` jumps to its end).
    pub(super) is_loop: bool,
}

/// A function being compiled.
///
/// Invariant: `nvarstack <= free_reg <= max_stack < MAX_REGS`; registers
/// below `nvarstack` hold active locals, those from `nvarstack` to
/// `free_reg` temporaries allocated and freed in stack order.
pub(super) struct FuncState {
    /// The prototype being filled in.
    pub(super) proto: ProtoDraft,
    /// Open blocks, innermost last.
    pub(super) blocks: Vec<BlockCnt>,
    /// Index of this function's first local in the shared variable list.
    pub(super) first_local: usize,
    /// Index of this function's first label in the shared label list.
    pub(super) first_label: usize,
    /// Number of active locals (compile-time constants included).
    pub(super) nactvar: usize,
    /// Number of registers holding active locals (`luaY_nvarstack`).
    pub(super) nvarstack: usize,
    /// First free register.
    pub(super) free_reg: usize,
    /// Whether each upvalue refers to a read-only (`<const>`/`<close>`) variable.
    pub(super) upval_readonly: Vec<bool>,
    /// Some local is captured or to be closed: returns must close.
    pub(super) need_close: bool,
    /// Source line given to the next instruction.
    pub(super) line: u32,
    /// Last instruction that is a jump target (`lasttarget`).
    last_target: usize,
    /// Index of each constant already in `proto.consts`.
    const_index: HashMap<ConstKey, u32>,
    /// A jump offset or an index did not fit its field.
    too_long: bool,
}

impl FuncState {
    /// A new function defined at `line_defined` whose locals and labels
    /// start at the given indices of the shared lists.
    pub(super) fn new(
        source: Arc<str>,
        line_defined: u32,
        first_local: usize,
        first_label: usize,
    ) -> Self {
        FuncState {
            proto: ProtoDraft {
                source,
                line_defined,
                // Registers 0 and 1 are always valid, as in PUC Lua.
                max_stack: 2,
                ..ProtoDraft::default()
            },
            blocks: Vec::new(),
            first_local,
            first_label,
            nactvar: 0,
            nvarstack: 0,
            free_reg: 0,
            upval_readonly: Vec::new(),
            need_close: false,
            line: line_defined,
            last_target: 0,
            const_index: HashMap::new(),
            too_long: false,
        }
    }

    /// An error reported at the current line.
    pub(super) fn error(&self, msg: impl Into<String>) -> CompileError {
        CompileError {
            line: self.line,
            msg: msg.into(),
        }
    }

    /// Index of the next instruction.
    pub(super) fn pc(&self) -> usize {
        self.proto.code.len()
    }

    /// Appends an instruction at the current line; returns its index.
    pub(super) fn emit(&mut self, op: Op) -> usize {
        self.proto.code.push(op);
        self.proto.lines.push(self.line);
        self.proto.code.len() - 1
    }

    /// Gives the last instruction the line `line` (`luaK_fixline`).
    pub(super) fn fix_line(&mut self, line: u32) {
        if let Some(last) = self.proto.lines.last_mut() {
            *last = line;
        }
    }

    /// Removes the last instruction.
    pub(super) fn remove_last(&mut self) {
        self.proto.code.pop();
        self.proto.lines.pop();
    }

    /// Converts an index to a `u32` operand; an index too large is reported
    /// by `finish`.
    pub(super) fn index_u32(&mut self, n: usize) -> u32 {
        u32::try_from(n).unwrap_or_else(|_| {
            self.too_long = true;
            u32::MAX
        })
    }

    // ---- jumps ----

    /// Emits a jump whose target is not known yet.
    pub(super) fn jump(&mut self) -> usize {
        self.emit(Op::Jmp { sj: NO_LINK })
    }

    /// Emits a test instruction followed by its (pending) jump.
    pub(super) fn cond_jump(&mut self, test: Op) -> usize {
        self.emit(test);
        self.jump()
    }

    /// Marks the current position as a jump target and returns it
    /// (`luaK_getlabel`); instructions before it are never merged with the
    /// ones after.
    pub(super) fn get_label(&mut self) -> usize {
        self.last_target = self.pc();
        self.last_target
    }

    /// The next jump of the list after the one at `pc`.
    fn next_jump(&self, pc: usize) -> JumpList {
        match self.proto.code.get(pc) {
            Some(&Op::Jmp { sj }) if sj != NO_LINK => {
                usize::try_from(pc as i64 + 1 + i64::from(sj)).ok()
            }
            _ => None,
        }
    }

    /// Points the jump at `pc` to `dest`.
    fn fix_jump(&mut self, pc: usize, dest: usize) {
        let offset = dest as i64 - (pc as i64 + 1);
        let sj = match i32::try_from(offset) {
            Ok(sj) if sj != NO_LINK => sj,
            _ => {
                self.too_long = true;
                0
            }
        };
        if let Some(Op::Jmp { sj: field }) = self.proto.code.get_mut(pc) {
            *field = sj;
        }
    }

    /// Appends list `l2` to list `l1` (`luaK_concat`).
    pub(super) fn concat(&mut self, l1: &mut JumpList, l2: JumpList) {
        let Some(l2) = l2 else { return };
        match *l1 {
            None => *l1 = Some(l2),
            Some(mut last) => {
                while let Some(next) = self.next_jump(last) {
                    last = next;
                }
                self.fix_jump(last, l2);
            }
        }
    }

    /// Adds the jump at `pc`, in no list yet, to the list `l` in constant
    /// time: it becomes the head, linked to the old one. `concat` walks
    /// `l` to its end, so building a long list with it is quadratic (an
    /// `if` with many `elseif`s); the order of a list makes no difference
    /// once it is patched.
    pub(super) fn push_jump(&mut self, l: &mut JumpList, pc: usize) {
        debug_assert!(self.next_jump(pc).is_none(), "jump {pc} is in a list");
        if let Some(head) = *l {
            self.fix_jump(pc, head);
        }
        *l = Some(pc);
    }

    /// The instruction that controls the jump at `pc`: the test before it,
    /// or the jump itself if it is unconditional.
    fn jump_control(&self, pc: usize) -> usize {
        match pc.checked_sub(1).and_then(|p| self.proto.code.get(p)) {
            Some(op) if is_test(op) => pc - 1,
            _ => pc,
        }
    }

    /// The instruction that controls the jump at `pc`.
    pub(super) fn jump_control_mut(&mut self, pc: usize) -> Option<&mut Op> {
        let i = self.jump_control(pc);
        self.proto.code.get_mut(i)
    }

    /// If the jump at `node` is controlled by a `TESTSET`, makes it store
    /// into `reg`, or turns it into a plain `TEST` when there is no
    /// register or the value is already there. Returns whether it was a
    /// `TESTSET` (`patchtestreg`).
    fn patch_test_reg(&mut self, node: usize, reg: Option<u8>) -> bool {
        let Some(op) = self.jump_control_mut(node) else {
            return false;
        };
        let Op::TestSet { b, k, .. } = *op else {
            return false;
        };
        *op = match reg {
            Some(r) if r != b => Op::TestSet { a: r, b, k },
            _ => Op::Test { a: b, k },
        };
        true
    }

    /// Turns every `TESTSET` of the list into a `TEST` (`removevalues`).
    pub(super) fn remove_values(&mut self, mut list: JumpList) {
        while let Some(pc) = list {
            self.patch_test_reg(pc, None);
            list = self.next_jump(pc);
        }
    }

    /// Patches the list: jumps controlled by a `TESTSET` go to `vtarget`
    /// storing into `reg`, the others to `dtarget` (`patchlistaux`).
    pub(super) fn patch_list_aux(
        &mut self,
        mut list: JumpList,
        vtarget: usize,
        reg: Option<u8>,
        dtarget: usize,
    ) {
        while let Some(pc) = list {
            let next = self.next_jump(pc);
            let target = if self.patch_test_reg(pc, reg) {
                vtarget
            } else {
                dtarget
            };
            self.fix_jump(pc, target);
            list = next;
        }
    }

    /// Points every jump of the list to `target` (`luaK_patchlist`).
    pub(super) fn patch_list(&mut self, list: JumpList, target: usize) {
        self.patch_list_aux(list, target, None, target);
    }

    /// Points every jump of the list to the next instruction.
    pub(super) fn patch_to_here(&mut self, list: JumpList) {
        let here = self.get_label();
        self.patch_list(list, here);
    }

    /// Whether some jump of the list needs a boolean value to be produced
    /// (is not controlled by a `TESTSET`).
    pub(super) fn need_value(&self, mut list: JumpList) -> bool {
        while let Some(pc) = list {
            let control = self.proto.code.get(self.jump_control(pc));
            if !matches!(control, Some(Op::TestSet { .. })) {
                return true;
            }
            list = self.next_jump(pc);
        }
        false
    }

    /// The last instruction, if nothing jumps to the next one (so it may be
    /// merged with it).
    pub(super) fn previous_instruction(&mut self) -> Option<&mut Op> {
        if self.pc() > self.last_target {
            self.proto.code.last_mut()
        } else {
            None
        }
    }

    // ---- registers ----

    /// Makes sure `n` more registers above `free_reg` exist
    /// (`luaK_checkstack`).
    pub(super) fn check_stack(&mut self, n: usize) -> CResult<()> {
        let needed = self.free_reg + n;
        if needed > usize::from(self.proto.max_stack) {
            if needed >= MAX_REGS {
                return Err(self.error("function or expression needs too many registers"));
            }
            self.proto.max_stack = needed as u8;
        }
        Ok(())
    }

    /// Allocates `n` registers (`luaK_reserveregs`).
    pub(super) fn reserve_regs(&mut self, n: usize) -> CResult<()> {
        self.check_stack(n)?;
        self.free_reg += n;
        Ok(())
    }

    /// The first free register as an operand (always below `MAX_REGS`).
    pub(super) fn free_reg_u8(&self) -> u8 {
        debug_assert!(self.free_reg < MAX_REGS);
        self.free_reg as u8
    }

    /// Frees `reg` if it is a temporary; temporaries are freed in stack
    /// order (`freereg`).
    pub(super) fn free_register(&mut self, reg: u8) {
        if usize::from(reg) >= self.nvarstack {
            self.free_reg = self.free_reg.saturating_sub(1);
            debug_assert_eq!(
                usize::from(reg),
                self.free_reg,
                "registers freed out of order"
            );
        }
    }

    /// Frees two registers, the higher first (`freeregs`).
    pub(super) fn free_registers(&mut self, r1: u8, r2: u8) {
        if r1 > r2 {
            self.free_register(r1);
            self.free_register(r2);
        } else {
            self.free_register(r2);
            self.free_register(r1);
        }
    }

    // ---- loads ----

    /// Sets `n` registers from `from` to nil, merging with a `LOADNIL` just
    /// before when the ranges touch (`luaK_nil`). The registers must exist.
    pub(super) fn nil(&mut self, from: u8, n: usize) {
        let mut first = usize::from(from);
        let mut last = first + n.max(1) - 1;
        if let Some(Op::LoadNil { a, b }) = self.previous_instruction() {
            let (pfirst, plast) = (usize::from(*a), usize::from(*a) + usize::from(*b));
            if (pfirst <= first && first <= plast + 1) || (first <= pfirst && pfirst <= last + 1) {
                first = first.min(pfirst);
                last = last.max(plast);
                *a = first as u8;
                *b = (last - first) as u8;
                return;
            }
        }
        self.emit(Op::LoadNil {
            a: first as u8,
            b: (last - first) as u8,
        });
    }

    /// Loads an integer constant (`luaK_int`).
    pub(super) fn load_int(&mut self, reg: u8, i: i64) {
        if SBX_RANGE.contains(&i) {
            self.emit(Op::LoadI {
                a: reg,
                sbx: i as i32,
            });
        } else {
            let k = self.int_k(i);
            self.emit(Op::LoadK { a: reg, bx: k });
        }
    }

    /// Loads a float constant (`luaK_float`): `LOADF` for small integral
    /// values (never for `-0.0`, which `LOADF` cannot express).
    pub(super) fn load_float(&mut self, reg: u8, f: f64) {
        match float_to_int_exact(f) {
            Some(i) if SBX_RANGE.contains(&i) && !(f == 0.0 && f.is_sign_negative()) => {
                self.emit(Op::LoadF {
                    a: reg,
                    sbx: i as i32,
                });
            }
            _ => {
                let k = self.num_k(f);
                self.emit(Op::LoadK { a: reg, bx: k });
            }
        }
    }

    /// Emits a return of `nret` values from `first` (`None`: up to the top).
    /// `finish` turns it into `RETURN0`/`RETURN1` where that is allowed.
    pub(super) fn ret(&mut self, first: usize, nret: Option<usize>) -> CResult<()> {
        let b = match nret {
            None => 0,
            Some(n) => n + 1,
        };
        let (Ok(a), Ok(b)) = (u8::try_from(first), u8::try_from(b)) else {
            return Err(self.error("function or expression needs too many registers"));
        };
        self.emit(Op::Return { a, b });
        Ok(())
    }

    // ---- constants ----

    fn add_k(&mut self, key: ConstKey, value: Value) -> u32 {
        if let Some(&index) = self.const_index.get(&key) {
            return index;
        }
        let index = self.index_u32(self.proto.consts.len());
        self.proto.consts.push(value);
        self.const_index.insert(key, index);
        index
    }

    /// Index of a string constant.
    pub(super) fn str_k(&mut self, s: StrRef) -> u32 {
        self.add_k(ConstKey::Str(s), Value::Str(s))
    }

    /// Index of an integer constant.
    pub(super) fn int_k(&mut self, i: i64) -> u32 {
        self.add_k(ConstKey::Int(i), Value::Int(i))
    }

    /// Index of a float constant.
    pub(super) fn num_k(&mut self, f: f64) -> u32 {
        self.add_k(ConstKey::Float(f.to_bits()), Value::Num(f))
    }

    /// Index of a boolean constant.
    pub(super) fn bool_k(&mut self, b: bool) -> u32 {
        self.add_k(ConstKey::Bool(b), Value::Bool(b))
    }

    /// Index of the nil constant.
    pub(super) fn nil_k(&mut self) -> u32 {
        self.add_k(ConstKey::Nil, Value::Nil)
    }

    /// Whether constant `k` is a string.
    pub(super) fn is_str_k(&self, k: u32) -> bool {
        matches!(self.proto.consts.get(k as usize), Some(Value::Str(_)))
    }

    // ---- final pass ----

    /// Final pass over the code (`luaK_finish`): returns become `RETURN0`/
    /// `RETURN1` when nothing needs closing and the frame is not vararg,
    /// and jumps to jumps go straight to the final target.
    pub(super) fn finish(&mut self) -> CResult<()> {
        let plain_returns = !(self.need_close || self.proto.is_vararg);
        for pc in 0..self.proto.code.len() {
            match self.proto.code[pc] {
                Op::Return { b: 1, .. } if plain_returns => self.proto.code[pc] = Op::Return0 {},
                Op::Return { a, b: 2 } if plain_returns => self.proto.code[pc] = Op::Return1 { a },
                Op::Jmp { .. } => {
                    let target = final_target(&self.proto.code, pc);
                    self.fix_jump(pc, target);
                }
                _ => {}
            }
        }
        if self.too_long {
            return Err(self.error("control structure too long"));
        }
        debug_assert_eq!(self.proto.code.len(), self.proto.lines.len());
        Ok(())
    }
}

/// Follows a chain of jumps (at most 100, against loops) to its end
/// (`finaltarget`).
fn final_target(code: &[Op], mut pc: usize) -> usize {
    for _ in 0..100 {
        match code.get(pc) {
            Some(&Op::Jmp { sj }) if sj != NO_LINK => {
                match usize::try_from(pc as i64 + 1 + i64::from(sj)) {
                    Ok(next) => pc = next,
                    Err(_) => break,
                }
            }
            _ => break,
        }
    }
    pc
}

/// Whether `op` is a test, always followed by the jump it controls.
fn is_test(op: &Op) -> bool {
    matches!(
        op,
        Op::Eq { .. }
            | Op::Lt { .. }
            | Op::Le { .. }
            | Op::EqK { .. }
            | Op::EqI { .. }
            | Op::LtI { .. }
            | Op::LeI { .. }
            | Op::GtI { .. }
            | Op::GeI { .. }
            | Op::Test { .. }
            | Op::TestSet { .. }
    )
}
