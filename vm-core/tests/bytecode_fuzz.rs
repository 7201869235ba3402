//! No chunk and no program crashes the VM: structure-aware fuzzing of
//! binary chunks, and `debug.setlocal` on the registers the interpreter
//! trusts.
//!
//! Seed programs (hand-written ones that use every instruction the
//! verifier has rules for, and random ones from `progen`) are compiled and
//! dumped; a dump is decoded into its structure (this file reads and writes
//! the format of `vm-core/src/dump.rs`), mutated (operands, opcodes, jump
//! offsets, instructions inserted or deleted with the jumps across them
//! fixed up, `max_stack`, constants, parameters, upvalues, nested
//! functions, debug information), encoded again and loaded. A chunk that
//! loads runs under an instruction budget, in slices of random sizes,
//! sometimes with the collector in stress mode. The property: no Rust
//! panic (not even one that a native's guard turns into a Lua error), no
//! abort, no hang, and the VM's invariants hold afterwards.
//!
//! Case counts scale with `VM_TEST_SCALE`; `VM_FUZZ_SEED` picks another
//! seed for the deterministic loop.

use std::cell::RefCell;
use std::sync::OnceLock;

use proptest::prelude::*;
use vm_core::{Hook, HookEvent, HookMask, HookStep, LuaResult, Outcome, Value, Vm};

mod support;
use support::scale::cases;
#[path = "../../vm-stdlib/tests/support/progen.rs"]
mod progen;

// ---------------------------------------------------------------------
// The binary chunk format, as a structure
// ---------------------------------------------------------------------

/// Each opcode's operands in `opcodes.rs`'s declaration order (chunks store
/// an opcode's position): `R` a `u8` (registers, counts), `X` a `u32`
/// (constant and prototype indices, loop offsets), `H` a `u16`, `S` an
/// `i32`, `s` an `i16`, `B` a flag. The seeds' round trip
/// (`seeds_round_trip_and_run`) checks the table against the VM.
const OPCODES: &[(&str, &str)] = &[
    ("MOVE", "RR"),
    ("LOADI", "RS"),
    ("LOADF", "RS"),
    ("LOADK", "RX"),
    ("LOADFALSE", "R"),
    ("LFALSESKIP", "R"),
    ("LOADTRUE", "R"),
    ("LOADNIL", "RR"),
    ("GETUPVAL", "RR"),
    ("SETUPVAL", "RR"),
    ("GETTABUP", "RRX"),
    ("GETTABLE", "RRR"),
    ("GETI", "RRR"),
    ("GETFIELD", "RRX"),
    ("SETTABUP", "RXRB"),
    ("SETTABLE", "RRRB"),
    ("SETI", "RRRB"),
    ("SETFIELD", "RXRB"),
    ("NEWTABLE", "RHX"),
    ("SELF", "RRX"),
    ("ADDI", "RRs"),
    ("SUBI", "RRs"),
    ("ADDK", "RRX"),
    ("ADDKL", "RRX"),
    ("MULKL", "RRX"),
    ("SUBK", "RRX"),
    ("MULK", "RRX"),
    ("MODK", "RRX"),
    ("POWK", "RRX"),
    ("DIVK", "RRX"),
    ("IDIVK", "RRX"),
    ("BANDK", "RRX"),
    ("BORK", "RRX"),
    ("BXORK", "RRX"),
    ("SHRI", "RRs"),
    ("SHLI", "RRs"),
    ("ADD", "RRR"),
    ("SUB", "RRR"),
    ("MUL", "RRR"),
    ("MOD", "RRR"),
    ("POW", "RRR"),
    ("DIV", "RRR"),
    ("IDIV", "RRR"),
    ("BAND", "RRR"),
    ("BOR", "RRR"),
    ("BXOR", "RRR"),
    ("SHL", "RRR"),
    ("SHR", "RRR"),
    ("UNM", "RR"),
    ("BNOT", "RR"),
    ("NOT", "RR"),
    ("LEN", "RR"),
    ("CONCAT", "RR"),
    ("CLOSE", "R"),
    ("TBC", "R"),
    ("JMP", "S"),
    ("EQ", "RRB"),
    ("LT", "RRB"),
    ("LE", "RRB"),
    ("EQK", "RXB"),
    ("EQI", "RsBB"),
    ("LTI", "RsBB"),
    ("LEI", "RsBB"),
    ("GTI", "RsBB"),
    ("GEI", "RsBB"),
    ("TEST", "RB"),
    ("TESTSET", "RRB"),
    ("CALL", "RRR"),
    ("TAILCALL", "RR"),
    ("RETURN", "RR"),
    ("RETURN0", ""),
    ("RETURN1", "R"),
    ("FORLOOP", "RX"),
    ("FORPREP", "RX"),
    ("TFORPREP", "RX"),
    ("TFORCALL", "RR"),
    ("TFORLOOP", "RX"),
    ("SETLIST", "RRX"),
    ("CLOSURE", "RX"),
    ("VARARG", "RR"),
    ("VARARGPREP", "R"),
];

/// The opcode number of `name`.
fn opcode(name: &str) -> u8 {
    OPCODES
        .iter()
        .position(|&(n, _)| n == name)
        .unwrap_or_else(|| panic!("no opcode {name}")) as u8
}

fn fields(op: u8) -> &'static [u8] {
    OPCODES[op as usize].1.as_bytes()
}

/// The signature and the first bytes after it, up to the first function.
const HEADER_LEN: usize = 4 + 1 + 1 + 6 + 1 + 8 + 8;

#[derive(Clone, Debug, PartialEq)]
enum Const {
    Nil,
    False,
    True,
    Int(i64),
    Num(u64),
    Str(Vec<u8>),
}

#[derive(Clone, Debug, PartialEq)]
struct Ins {
    op: u8,
    args: Vec<i64>,
}

impl Ins {
    fn new(name: &str, args: &[i64]) -> Ins {
        let op = opcode(name);
        assert_eq!(fields(op).len(), args.len(), "{name}");
        Ins {
            op,
            args: args.to_vec(),
        }
    }

    fn is(&self, name: &str) -> bool {
        OPCODES[self.op as usize].0 == name
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Func {
    source: Option<Vec<u8>>,
    line_defined: u64,
    last_line: u64,
    num_params: u8,
    is_vararg: u8,
    max_stack: u8,
    code: Vec<Ins>,
    consts: Vec<Const>,
    /// `(in_stack, index)`.
    upvals: Vec<(u8, u8)>,
    protos: Vec<Func>,
    lines: Vec<u64>,
    /// `(name, start_pc, end_pc)`.
    locvars: Vec<(Vec<u8>, u64, u64)>,
    upnames: Vec<Vec<u8>>,
}

#[derive(Clone, Debug, PartialEq)]
struct Chunk {
    header: Vec<u8>,
    main: Func,
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.b.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }

    fn byte(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn uint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn int(&mut self) -> Option<i64> {
        let z = self.uint()?;
        Some((z >> 1) as i64 ^ -((z & 1) as i64))
    }

    fn bytes(&mut self) -> Option<Option<Vec<u8>>> {
        match self.uint()? {
            0 => Some(None),
            n => Some(Some(self.take(usize::try_from(n - 1).ok()?)?.to_vec())),
        }
    }

    fn count(&mut self) -> Option<usize> {
        usize::try_from(self.uint()?).ok()
    }

    fn function(&mut self) -> Option<Func> {
        let source = self.bytes()?;
        let (line_defined, last_line) = (self.uint()?, self.uint()?);
        let (num_params, is_vararg, max_stack) = (self.byte()?, self.byte()?, self.byte()?);
        let mut code = Vec::new();
        for _ in 0..self.count()? {
            let op = self.byte()?;
            let n = OPCODES.get(op as usize)?.1.len();
            let args = (0..n).map(|_| self.int()).collect::<Option<_>>()?;
            code.push(Ins { op, args });
        }
        let mut consts = Vec::new();
        for _ in 0..self.count()? {
            consts.push(match self.byte()? {
                0 => Const::Nil,
                1 => Const::False,
                2 => Const::True,
                3 => Const::Int(self.int()?),
                4 => Const::Num(u64::from_le_bytes(self.take(8)?.try_into().ok()?)),
                5 => {
                    let n = self.count()?;
                    Const::Str(self.take(n)?.to_vec())
                }
                _ => return None,
            });
        }
        let mut upvals = Vec::new();
        for _ in 0..self.count()? {
            upvals.push((self.byte()?, self.byte()?));
        }
        let mut protos = Vec::new();
        for _ in 0..self.count()? {
            protos.push(self.function()?);
        }
        let lines = (0..self.count()?)
            .map(|_| self.uint())
            .collect::<Option<_>>()?;
        let mut locvars = Vec::new();
        for _ in 0..self.count()? {
            let name = self.bytes()??;
            locvars.push((name, self.uint()?, self.uint()?));
        }
        let upnames = (0..self.count()?)
            .map(|_| self.bytes()?)
            .collect::<Option<_>>()?;
        Some(Func {
            source,
            line_defined,
            last_line,
            num_params,
            is_vararg,
            max_stack,
            code,
            consts,
            upvals,
            protos,
            lines,
            locvars,
            upnames,
        })
    }
}

fn decode(b: &[u8]) -> Option<Chunk> {
    let mut r = Reader { b, pos: 0 };
    let header = r.take(HEADER_LEN)?.to_vec();
    let main = r.function()?;
    (r.pos == b.len()).then_some(Chunk { header, main })
}

#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn uint(&mut self, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(byte);
                return;
            }
            self.0.push(byte | 0x80);
        }
    }

    fn int(&mut self, v: i64) {
        self.uint(((v << 1) ^ (v >> 63)) as u64);
    }

    fn bytes(&mut self, b: Option<&[u8]>) {
        match b {
            None => self.uint(0),
            Some(b) => {
                self.uint(b.len() as u64 + 1);
                self.0.extend_from_slice(b);
            }
        }
    }

    fn function(&mut self, f: &Func) {
        self.bytes(f.source.as_deref());
        self.uint(f.line_defined);
        self.uint(f.last_line);
        self.0.extend([f.num_params, f.is_vararg, f.max_stack]);
        self.uint(f.code.len() as u64);
        for ins in &f.code {
            self.0.push(ins.op);
            for &a in &ins.args {
                self.int(a);
            }
        }
        self.uint(f.consts.len() as u64);
        for k in &f.consts {
            match k {
                Const::Nil => self.0.push(0),
                Const::False => self.0.push(1),
                Const::True => self.0.push(2),
                Const::Int(i) => {
                    self.0.push(3);
                    self.int(*i);
                }
                Const::Num(bits) => {
                    self.0.push(4);
                    self.0.extend_from_slice(&bits.to_le_bytes());
                }
                Const::Str(s) => {
                    self.0.push(5);
                    self.uint(s.len() as u64);
                    self.0.extend_from_slice(s);
                }
            }
        }
        self.uint(f.upvals.len() as u64);
        for &(in_stack, index) in &f.upvals {
            self.0.extend([in_stack, index]);
        }
        self.uint(f.protos.len() as u64);
        for p in &f.protos {
            self.function(p);
        }
        self.uint(f.lines.len() as u64);
        for &l in &f.lines {
            self.uint(l);
        }
        self.uint(f.locvars.len() as u64);
        for (name, start, end) in &f.locvars {
            self.bytes(Some(name));
            self.uint(*start);
            self.uint(*end);
        }
        self.uint(f.upnames.len() as u64);
        for n in &f.upnames {
            self.bytes(Some(n));
        }
    }
}

fn encode(c: &Chunk) -> Vec<u8> {
    let mut w = Writer(c.header.clone());
    w.function(&c.main);
    w.0
}

// ---------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------

/// The random choices of one mutant: numbers read in turn (as zeros once
/// the tape is exhausted, so that proptest shrinks towards simple cases).
struct Tape<'a> {
    t: &'a [u64],
    i: usize,
}

impl Tape<'_> {
    /// A number below `n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        let v = self.t.get(self.i).copied().unwrap_or(0);
        self.i += 1;
        if n == 0 {
            0
        } else {
            (v % n as u64) as usize
        }
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }

    fn pick_cloned<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())].clone()
    }
}

fn count_funcs(f: &Func) -> usize {
    1 + f.protos.iter().map(count_funcs).sum::<usize>()
}

/// Function `n` of the tree in pre-order.
fn nth_func(f: &mut Func, n: usize) -> &mut Func {
    fn path(f: &Func, n: &mut usize, out: &mut Vec<usize>) -> bool {
        if *n == 0 {
            return true;
        }
        *n -= 1;
        for (i, c) in f.protos.iter().enumerate() {
            out.push(i);
            if path(c, n, out) {
                return true;
            }
            out.pop();
        }
        false
    }
    let (mut n, mut p) = (n, Vec::new());
    path(f, &mut n, &mut p);
    p.iter().fold(f, |f, &i| &mut f.protos[i])
}

/// The instruction a jump operand of `ins` at `pc` refers to: the operand's
/// position and the referred instruction (a jump's target, a loop
/// instruction's partner).
fn jump_ref(pc: usize, ins: &Ins) -> Option<(usize, i64)> {
    let pc = pc as i64;
    let name = OPCODES[ins.op as usize].0;
    match name {
        "JMP" => Some((0, pc + 1 + ins.args[0])),
        "FORPREP" => Some((1, pc + ins.args[1])),
        "TFORPREP" => Some((1, pc + 1 + ins.args[1])),
        "FORLOOP" | "TFORLOOP" => Some((1, pc - ins.args[1])),
        _ => None,
    }
}

/// Makes the jump operand of `ins` (now at `pc`) refer to `to`.
fn set_jump_ref(pc: usize, ins: &mut Ins, to: i64) {
    let pc = pc as i64;
    let name = OPCODES[ins.op as usize].0;
    match name {
        "JMP" => ins.args[0] = to - pc - 1,
        "FORPREP" => ins.args[1] = to - pc,
        "TFORPREP" => ins.args[1] = to - pc - 1,
        "FORLOOP" | "TFORLOOP" => ins.args[1] = pc - to,
        _ => {}
    }
}

/// Inserts `ins` before instruction `at`, moving jumps across it so that
/// they still reach the instructions they reached.
fn insert(f: &mut Func, at: usize, ins: Ins) {
    let refs: Vec<_> = f
        .code
        .iter()
        .enumerate()
        .map(|(pc, i)| jump_ref(pc, i))
        .collect();
    f.code.insert(at, ins);
    let moved = |x: i64| if x >= at as i64 { x + 1 } else { x };
    for (old_pc, r) in refs.into_iter().enumerate() {
        if let Some((_, to)) = r {
            let pc = moved(old_pc as i64) as usize;
            set_jump_ref(pc, &mut f.code[pc], moved(to));
        }
    }
    if !f.lines.is_empty() && at <= f.lines.len() {
        let l = f.lines[at.min(f.lines.len() - 1)];
        f.lines.insert(at, l);
    }
    for v in &mut f.locvars {
        v.1 += (v.1 > at as u64) as u64;
        v.2 += (v.2 > at as u64) as u64;
    }
}

/// Deletes instruction `at`, moving jumps across it (a jump to it goes to
/// the instruction after it).
fn delete(f: &mut Func, at: usize) {
    if f.code.len() < 2 {
        return;
    }
    let refs: Vec<_> = f
        .code
        .iter()
        .enumerate()
        .map(|(pc, i)| jump_ref(pc, i))
        .collect();
    f.code.remove(at);
    let moved = |x: i64| if x > at as i64 { x - 1 } else { x };
    for (old_pc, r) in refs.into_iter().enumerate() {
        if old_pc == at {
            continue;
        }
        if let Some((_, to)) = r {
            let pc = moved(old_pc as i64) as usize;
            set_jump_ref(pc, &mut f.code[pc], moved(to));
        }
    }
    if at < f.lines.len() {
        f.lines.remove(at);
    }
    for v in &mut f.locvars {
        v.1 -= (v.1 > at as u64) as u64;
        v.2 -= (v.2 > at as u64) as u64;
    }
}

/// A value for an operand of kind `kind` near `old`, mostly in range.
fn plausible(kind: u8, old: i64, f: &Func, t: &mut Tape) -> i64 {
    let ms = i64::from(f.max_stack);
    let len = f.code.len() as i64;
    // A random number for the choices that need one.
    let x = t.below(1 << 16) as i64;
    let v = match kind {
        b'R' => t.pick(&[
            0,
            1,
            old + 1,
            old - 1,
            ms - 1,
            ms,
            ms + 1,
            x % (ms + 2),
            255,
        ]),
        b'X' => t.pick(&[
            0,
            old + 1,
            old - 1,
            f.consts.len() as i64 - 1,
            f.consts.len() as i64,
            f.protos.len() as i64,
            x % 64,
            old + 2,
            1 << 20,
            u32::MAX as i64,
        ]),
        b'H' => t.pick(&[0, old + 1, x % 100, 65535]),
        b'S' => t.pick(&[
            old + 1,
            old - 1,
            old + 2,
            old - 2,
            -old,
            0,
            x % (2 * len + 1) - len,
        ]),
        b's' => t.pick(&[old + 1, old - 1, 0, -1, x % 512 - 256, 32767, -32768]),
        _ => 1 - old,
    };
    clamp(kind, v)
}

/// `v` in the range of an operand of kind `kind`.
fn clamp(kind: u8, v: i64) -> i64 {
    let (lo, hi) = match kind {
        b'R' => (0, 255),
        b'X' => (0, u32::MAX as i64),
        b'H' => (0, 65535),
        b'S' => (i32::MIN as i64, i32::MAX as i64),
        b's' => (i16::MIN as i64, i16::MAX as i64),
        _ => (0, 1),
    };
    v.clamp(lo, hi)
}

/// A random instruction with plausible operands.
fn random_ins(f: &Func, t: &mut Tape) -> Ins {
    let op = t.below(OPCODES.len()) as u8;
    let args = fields(op)
        .iter()
        .map(|&k| plausible(k, t.below(4) as i64, f, t))
        .collect();
    Ins { op, args }
}

/// An instruction that writes register `r`.
fn write_to(r: i64, f: &Func, t: &mut Tape) -> Ins {
    match t.below(5) {
        0 => Ins::new("LOADI", &[r, t.below(5) as i64]),
        1 => Ins::new("LOADNIL", &[r, 0]),
        2 => Ins::new("LOADK", &[r, t.below(f.consts.len().max(1)) as i64]),
        3 => Ins::new("MOVE", &[r, t.below(f.max_stack as usize + 1) as i64]),
        _ => Ins::new("NEWTABLE", &[r, 0, 0]),
    }
}

/// Positions of the instructions named `name`.
fn find(f: &Func, name: &str) -> Vec<usize> {
    (0..f.code.len())
        .filter(|&pc| f.code[pc].is(name))
        .collect()
}

/// One mutation of function `f`.
fn mutate_func(f: &mut Func, t: &mut Tape) {
    let n = f.code.len();
    let at = t.below(n);
    match t.below(24) {
        // An operand.
        0..=4 => {
            let ins = f.code[at].clone();
            let kinds = fields(ins.op);
            if !kinds.is_empty() {
                let i = t.below(kinds.len());
                let v = plausible(kinds[i], ins.args[i], f, t);
                f.code[at].args[i] = v;
            }
        }
        // Another opcode with the same operands.
        5 => {
            let sig = OPCODES[f.code[at].op as usize].1;
            let same: Vec<u8> = (0..OPCODES.len() as u8)
                .filter(|&o| OPCODES[o as usize].1 == sig)
                .collect();
            f.code[at].op = t.pick(&same);
        }
        // Any opcode, keeping what operands fit.
        6 => {
            let op = t.below(OPCODES.len()) as u8;
            let old = f.code[at].args.clone();
            let args = fields(op)
                .iter()
                .enumerate()
                .map(|(i, &k)| match old.get(i) {
                    Some(&v) if t.below(3) > 0 => clamp(k, v),
                    _ => plausible(k, 0, f, t),
                })
                .collect();
            f.code[at] = Ins { op, args };
        }
        // A jump offset.
        7 | 8 => {
            let jumps: Vec<usize> = (0..n)
                .filter(|&pc| jump_ref(pc, &f.code[pc]).is_some())
                .collect();
            if !jumps.is_empty() {
                let pc = t.pick(&jumps);
                let (i, _) = jump_ref(pc, &f.code[pc]).expect("a jump");
                let delta = t.pick(&[-3, -2, -1, 1, 2, 3]);
                let kind = fields(f.code[pc].op)[i];
                f.code[pc].args[i] = clamp(kind, f.code[pc].args[i] + delta);
            }
        }
        // Instructions inserted, deleted, copied, swapped.
        9 => {
            let ins = random_ins(f, t);
            insert(f, at, ins);
        }
        10 => {
            let ins = f.code[t.below(n)].clone();
            insert(f, at, ins);
        }
        11 => delete(f, at),
        12 => {
            let other = t.below(n);
            f.code.swap(at, other);
        }
        // Targeted at the verifier's rules: a loop's state, a constructor's
        // table, what the top and the closing of registers need.
        13 => {
            let preps = find(f, "FORPREP");
            if !preps.is_empty() {
                let p = t.pick(&preps);
                let (a, bx) = (f.code[p].args[0], f.code[p].args[1]);
                let r = a + t.below(4) as i64;
                let ins = write_to(r, f, t);
                let pos = p + 1 + t.below((bx.max(0) as usize).min(n));
                insert(f, pos.min(f.code.len()), ins);
            }
        }
        14 => {
            for name in ["FORPREP", "NEWTABLE", "CLOSE", "TBC", "TFORPREP"] {
                let found = find(f, name);
                if !found.is_empty() && t.below(2) == 0 {
                    let pc = t.pick(&found);
                    let a = f.code[pc].args.first().copied().unwrap_or(0);
                    f.code[pc] = match t.below(3) {
                        0 => Ins::new("JMP", &[0]),
                        1 => write_to(a, f, t),
                        _ => random_ins(f, t),
                    };
                    break;
                }
            }
        }
        15 => {
            let lists = find(f, "SETLIST");
            if !lists.is_empty() {
                let pc = t.pick(&lists);
                let i = t.below(3);
                let v = if i == 1 {
                    0
                } else {
                    plausible(b'R', f.code[pc].args[i], f, t)
                };
                f.code[pc].args[i] = v;
            }
        }
        16 => {
            // A count from the top (B or C of 0).
            let ops: Vec<usize> = (0..n)
                .filter(|&pc| {
                    ["CALL", "TAILCALL", "RETURN", "SETLIST", "VARARG"]
                        .iter()
                        .any(|name| f.code[pc].is(name))
                })
                .collect();
            if !ops.is_empty() {
                let pc = t.pick(&ops);
                let i = 1 + t.below(f.code[pc].args.len() - 1);
                f.code[pc].args[i] = 0;
            }
        }
        17 => {
            let rets = find(f, "RETURN");
            if !rets.is_empty() {
                let pc = t.pick(&rets);
                let a = f.code[pc].args[0];
                f.code[pc] = if t.below(2) == 0 {
                    Ins::new("RETURN0", &[])
                } else {
                    Ins::new("RETURN1", &[a])
                };
            }
        }
        // The frame size, constants, parameters, upvalues.
        18 => {
            let ms = i64::from(f.max_stack);
            f.max_stack = clamp(b'R', plausible(b'R', ms, f, t)) as u8;
        }
        19 => {
            if !f.consts.is_empty() {
                let i = t.below(f.consts.len());
                let strings: Vec<Const> = f
                    .consts
                    .iter()
                    .filter(|k| matches!(k, Const::Str(_)))
                    .cloned()
                    .collect();
                f.consts[i] = match (&f.consts[i], t.below(6)) {
                    (Const::Int(x), 0) => Const::Int(x.wrapping_add(1)),
                    (Const::Int(x), 1) => Const::Num((*x as f64).to_bits()),
                    (_, 2) => Const::Int(t.pick(&[0, -1, 1 << 40, i64::MIN, 3])),
                    (_, 3) => Const::Num(t.pick(&[0.5, f64::NAN, -0.0, 1e300]).to_bits()),
                    (_, 4) if !strings.is_empty() => t.pick_cloned(&strings),
                    _ => t.pick_cloned(&[Const::Nil, Const::True, Const::False]),
                };
            }
        }
        20 => match t.below(3) {
            0 => f.num_params = clamp(b'R', plausible(b'R', f.num_params.into(), f, t)) as u8,
            1 => f.is_vararg ^= 1,
            _ => {
                if let Some(p) = f.code.iter().position(|i| i.is("VARARGPREP")) {
                    f.code[p].args[0] = i64::from(f.num_params);
                }
            }
        },
        21 => {
            if !f.upvals.is_empty() {
                let i = t.below(f.upvals.len());
                match t.below(3) {
                    0 => f.upvals[i].0 ^= 1,
                    _ => {
                        let idx = plausible(b'R', f.upvals[i].1.into(), f, t);
                        f.upvals[i].1 = idx as u8;
                    }
                }
            } else {
                f.upvals.push((1, t.below(4) as u8));
            }
        }
        22 => {
            if !f.protos.is_empty() {
                let i = t.below(f.protos.len());
                match t.below(3) {
                    0 => {
                        let c = f.protos[i].clone();
                        f.protos.push(c);
                    }
                    1 => {
                        f.protos.remove(i);
                    }
                    _ => {
                        let j = t.below(f.protos.len());
                        f.protos.swap(i, j);
                    }
                }
            }
        }
        // Debug information.
        _ => {
            if !f.locvars.is_empty() && t.below(2) == 0 {
                let i = t.below(f.locvars.len());
                f.locvars[i].1 = t.below(n + 2) as u64;
                f.locvars[i].2 = t.below(n + 2) as u64;
            } else {
                f.lines.truncate(t.below(n + 1));
            }
        }
    }
}

/// A mutant of `seed`: one to three mutations (up to `VM_FUZZ_MUTATIONS`),
/// each of a function of the tree.
fn mutant(seed: &Chunk, tape: &[u64]) -> Vec<u8> {
    static MAX: OnceLock<usize> = OnceLock::new();
    let max = *MAX.get_or_init(|| {
        std::env::var("VM_FUZZ_MUTATIONS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(3)
    });
    let mut c = seed.clone();
    let mut t = Tape { t: tape, i: 0 };
    for _ in 0..1 + t.below(max) {
        let n = count_funcs(&c.main);
        let f = nth_func(&mut c.main, t.below(n));
        if !f.code.is_empty() {
            mutate_func(f, &mut t);
        }
    }
    encode(&c)
}

// ---------------------------------------------------------------------
// Seeds
// ---------------------------------------------------------------------

/// Hand-written seeds: every instruction the verifier has rules for, in
/// the shapes the code generator gives them. They use only the base
/// library, `coroutine` and `debug.getlocal`/`setlocal` (nothing that
/// reaches outside the VM or builds big strings from small arguments).
const PROGRAMS: &[&str] = &[
    // Numeric loops: integer, float, negative steps, nested, break,
    // closures over the control variable.
    "local s, fs = 0, {}
     for i = 1, 10 do s = s + i if i == 8 then break end end
     for x = 0.5, 3, 0.75 do s = s + x end
     for i = 10, 1, -3 do for j = i, i + 2 do s = s + j end end
     for i = 1, 3 do fs[i] = function() return i end end
     return s, fs[1]() + fs[3]()",
    // Generic loops: pairs, ipairs, a stateless iterator, a closing value.
    "local t, s = {10, 20, 30, x = 1, y = 2}, 0
     for k, v in pairs(t) do s = s + v end
     for i, v in ipairs(t) do s = s + i * v end
     local function iter(n, i) if i < n then return i + 1, i * i end end
     for i, sq in iter, 5, 0 do s = s + sq end
     local closed = 0
     local mt = {__close = function() closed = closed + 1 end}
     for i in iter, 3, 0, setmetatable({}, mt) do s = s + i end
     return s, closed",
    // Table constructors: more items than one SETLIST stores, open calls
    // and varargs last, nested and keyed items.
    "local function f(...) return ... end
     local t = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
       21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
       41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, f(56, 57, 58)}
     local u = {f(1, 2, 3)}
     local v = {x = 1, {2, {3}}, [10] = 4, f(5, 6)}
     local w = {nil, nil, 3}
     return #t, #u, #v, v[1][2][1], w[3]",
    // Varargs and calls: select, passing through, multiple results,
    // method calls, tail calls.
    "local function pass(...) return ... end
     local function count(...) return select('#', ...) end
     local function tail(n, ...) if n == 0 then return count(...) end return tail(n - 1, n, ...) end
     local obj = {v = 3}
     function obj:get(k, ...) return self.v * k + count(...) end
     local a, b, c = pass(1, 2, 3)
     return count(pass(1, nil, 3)), tail(5), obj:get(2, 1, 2), a + b + c, {pass(...)}",
    // Metamethods.
    "local mt = {}
     mt.__add = function(a, b) return setmetatable({v = a.v + b.v}, mt) end
     mt.__unm = function(a) return setmetatable({v = -a.v}, mt) end
     mt.__eq = function(a, b) return a.v == b.v end
     mt.__lt = function(a, b) return a.v < b.v end
     mt.__le = function(a, b) return a.v <= b.v end
     mt.__len = function(a) return a.v end
     mt.__concat = function(a, b) return 7 end
     mt.__call = function(self, x) return self.v + x end
     mt.__index = function(t, k) return k end
     mt.__newindex = function(t, k, v) rawset(t, k, v * 2) end
     local a, b = setmetatable({v = 1}, mt), setmetatable({v = 2}, mt)
     local c = a + b
     c.w = 5
     return c.v, (-c).v, a == b, a < b, a <= b, #b, a .. b, a(10), a.zz, rawget(c, 'w')",
    // Upvalues, loops with closures, break, goto continue, repeat.
    "local function counter() local n = 0 return function() n = n + 1 return n end end
     local c1, c2 = counter(), counter()
     c1() c1() c2()
     local fs, i = {}, 0
     while i < 6 do
       i = i + 1
       local j = i
       fs[#fs + 1] = function() return j end
       if i % 2 == 0 then goto continue end
       if i > 4 then break end
       ::continue::
     end
     local k = 0
     repeat local m = k k = k + 1 fs[#fs + 1] = function() return m end until m >= 3
     return c1(), c2(), #fs, fs[1]() + fs[#fs]()",
    // Errors, pcall, to-be-closed variables, coroutines.
    "local log = 0
     local ok, e = pcall(function() error({code = 7}) end)
     local ok2, e2 = pcall(function() local x = nil; return x.y end)
     do
       local x <close> = setmetatable({}, {__close = function() log = log + 1 end})
       local y <const> = 5
       log = log + y
     end
     local co = coroutine.wrap(function(a)
       local b = coroutine.yield(a + 1)
       local ok = pcall(function() b = b + coroutine.yield(b * 2) end)
       return b
     end)
     return e.code, ok2, log, co(1), co(10), co(5)",
    // Arithmetic, bitwise operators, comparisons with constants and
    // immediates, booleans from comparisons, strings.
    "local x, y, f = 7, 3, 2.5
     local r = {x + 1, x - 1, x * y, x / y, x // y, x % y, x ^ 2, -x, x & y, x | y, x ~ y,
       x << 2, x >> 1, ~x, 2 << y, f * 2, f // 1, 1 // 0.0 == math, x == 7, x ~= 3,
       x < 10, x <= 7, x > 1, x >= 8, y == 'a', f == 2.5, not x, x < y, 'a' < 'b', #'abc',
       'n' .. x .. 1.5}
     local b = x < y
     local c = x > 2 and 'yes' or 'no'
     return #r, b, c",
    // debug.setlocal on a loop's state and a constructor's table.
    "local n = 0
     for i = 1, 4 do
       local ok = pcall(debug.setlocal, 2, 2, 'x')
       if i == 2 then debug.setlocal(1, 2, 3) end
       n = n + i
     end
     local t = {debug.setlocal(1, 2, {}), pcall(debug.setlocal, 2, 2, 5), 3}
     local names = {}
     for i = 1, 6 do names[i] = debug.getlocal(1, i) or '-' end
     local calls = 0
     debug.sethook(function(e, line) calls = calls + 1 end, 'crl', 3)
     local info = debug.getinfo(1, 'nSltufrL')
     local tb = debug.traceback('x', 1)
     debug.sethook()
     return n, #t, #names, calls > 0, info.currentline",
];

struct Seed {
    name: String,
    bytes: Vec<u8>,
    chunk: Chunk,
}

/// The random programs among the seeds.
const RANDOM_SEEDS: u64 = 10;

/// The seeds, compiled and dumped once.
fn seeds() -> &'static [Seed] {
    static SEEDS: OnceLock<Vec<Seed>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut vm = Vm::new();
        let mut sources: Vec<(String, String)> = PROGRAMS
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("program {i}"), p.to_string()))
            .collect();
        let mut rng = Rng(0x005e_ed0f_c0de);
        for i in 0..RANDOM_SEEDS {
            let tape: Vec<u32> = (0..2500).map(|_| rng.next() as u32).collect();
            sources.push((format!("progen {i}"), progen::generate(&tape, i % 2 == 1)));
        }
        sources
            .into_iter()
            .map(|(name, src)| {
                let f = vm
                    .load(src.as_bytes(), "=seed")
                    .unwrap_or_else(|e| panic!("{name}: {}", vm.error_to_string(&e)));
                let bytes = vm.dump(f, false).expect("a Lua function");
                let chunk = decode(&bytes).unwrap_or_else(|| panic!("{name}: undecodable dump"));
                Seed { name, bytes, chunk }
            })
            .collect()
    })
}

/// xorshift64*: the deterministic loop's randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

// ---------------------------------------------------------------------
// Running a chunk
// ---------------------------------------------------------------------

/// Fuel a mutant may spend in all (instructions, plus what long string
/// operations and large value moves are charged: the seeds build strings
/// in loops).
const CAP: u64 = 40_000;
/// Memory a mutant may use, checked before every instruction of mutants
/// that concatenate (a loop of `s = s .. s` grows exponentially within a
/// budget).
const MEMORY_CAP: usize = 4 << 20;

thread_local! {
    /// The last panic on this thread, even one caught by the VM.
    static PANICKED: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Records panics in `PANICKED` (and reports them as usual).
fn record_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICKED.with(|p| *p.borrow_mut() = Some(info.to_string()));
            prev(info);
        }));
    });
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// The chunk did not load.
    Rejected,
    Returned,
    /// A Lua error.
    Raised,
    /// Yielded to the driver, or asked for an offload.
    Other,
    /// Still running at the cap.
    Stopped,
}

/// How to run a mutant.
#[derive(Clone, Copy, Debug)]
struct Run {
    /// Instructions per resume.
    slice: u64,
    /// The collector in stress mode.
    stress: bool,
}

impl Run {
    fn from_tape(t: &[u64]) -> Run {
        let mut t = Tape {
            t,
            i: t.len().saturating_sub(1),
        };
        let choice = t.below(64);
        Run {
            slice: [CAP, 1, 2, 7, 60, 500][choice % 6],
            stress: choice % 7 == 3,
        }
    }
}

fn memory_guard(vm: &mut Vm, _event: HookEvent) -> LuaResult<HookStep> {
    if vm.memory_used() > MEMORY_CAP {
        return Err(vm.error("fuzz: memory cap"));
    }
    Ok(HookStep::Done)
}

fn has_concat(f: &Func) -> bool {
    f.code.iter().any(|i| i.is("CONCAT")) || f.protos.iter().any(has_concat)
}

/// A VM with the sandbox's libraries and `debug` but for `debug.debug`
/// (which reads the standard input).
fn sandbox() -> Box<Vm> {
    let mut vm = Vm::new();
    vm_stdlib::open_sandboxed(&mut vm).unwrap();
    for (name, open) in vm_stdlib::LIBRARIES {
        if *name == "debug" {
            open(&mut vm).unwrap();
        }
    }
    vm.exec(b"debug.debug = nil", "=sandbox")
        .expect("debug is open");
    vm
}

/// Runs `f`: `Err` when it panicked, even where the VM caught the panic
/// (a native's guard makes it a Lua error).
fn without_panic<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    record_panics();
    PANICKED.with(|p| p.borrow_mut().take());
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    let panic = PANICKED.with(|p| p.borrow_mut().take());
    match (result, panic) {
        (_, Some(msg)) => Err(format!("panic: {msg}")),
        (Err(_), None) => Err("panic".into()),
        (Ok(r), None) => r,
    }
}

/// Loads `bytes` and runs what loads: `Err` when the VM panicked or its
/// invariants broke.
fn run_chunk(bytes: &[u8], run: Run) -> Result<Ending, String> {
    without_panic(|| run_unchecked(bytes, run))
}

fn run_unchecked(bytes: &[u8], run: Run) -> Result<Ending, String> {
    let mut vm = sandbox();
    let Ok(f) = vm.load_chunk(bytes, "=fuzz", "b", None) else {
        return Ok(Ending::Rejected);
    };
    let main = vm.main_thread();
    if decode(bytes).is_some_and(|c| has_concat(&c.main)) {
        vm.set_hook(
            main,
            Some(Hook {
                func: memory_guard,
                mask: HookMask::default(),
                count: 1,
                data: Value::Nil,
            }),
        )
        .unwrap();
    }
    vm.gc_set_stress(run.stress);
    // Code that no budget can suspend (a hook, a finalizer, a `__tostring`
    // called by a native) stops at the hard limit.
    vm.set_instruction_limit(Some(2 * CAP));
    let mut spent = 0;
    // Errors escape the driven run, so the `__close` handlers of the
    // abandoned frames run on that path too (`Vm::close_from`).
    let mut out = vm.start(f, &[], run.slice);
    let ending = loop {
        spent += vm.fuel_used();
        match out {
            Ok(Outcome::OutOfFuel) if spent < CAP => out = vm.resume(main, &[], run.slice),
            Ok(Outcome::OutOfFuel) => break Ending::Stopped,
            Ok(Outcome::Return(_)) => break Ending::Returned,
            Ok(_) => break Ending::Other,
            Err(_) => break Ending::Raised,
        }
    };
    vm.check_invariants()?;
    Ok(ending)
}

/// Counts of endings, for the report and to check that mutants do run.
#[derive(Debug, Default)]
struct Tally {
    cases: usize,
    rejected: usize,
    returned: usize,
    raised: usize,
    stopped: usize,
}

impl Tally {
    fn add(&mut self, e: Ending) {
        self.cases += 1;
        match e {
            Ending::Rejected => self.rejected += 1,
            Ending::Returned => self.returned += 1,
            Ending::Raised => self.raised += 1,
            Ending::Other | Ending::Stopped => self.stopped += 1,
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// ---------------------------------------------------------------------
// The fuzz tests
// ---------------------------------------------------------------------

/// The seeds decode and encode back to the same bytes (which checks
/// `OPCODES` and the format against the VM), load, and run to the end with
/// any slice size.
#[test]
fn seeds_round_trip_and_run() {
    for seed in seeds() {
        assert_eq!(encode(&seed.chunk), seed.bytes, "{}", seed.name);
        for slice in [1, 3, CAP] {
            let got = run_chunk(
                &seed.bytes,
                Run {
                    slice,
                    stress: false,
                },
            );
            assert_eq!(got, Ok(Ending::Returned), "{} (slice {slice})", seed.name);
        }
    }
}

/// Everything the compiler makes passes the verifier: the Lua corpus, the
/// benchmarks and random programs (a rule that rejected some compiled code
/// would be a bug of the rule, or of the compiler).
#[test]
fn compiled_code_passes_the_verifier() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut vm = Vm::new();
    let mut loaded = 0;
    for dir in ["tests/lua", "tests/lua-pending", "bench"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in entries {
            let path = e.expect("a directory entry").path();
            if path.extension().is_some_and(|x| x == "lua") {
                let src = std::fs::read(&path).expect("readable");
                // Some pending scripts do not compile yet; those that do
                // must pass.
                if let Err(e) = vm.load(&src, "=corpus") {
                    let msg = vm.error_to_string(&e);
                    assert!(
                        !msg.contains("invalid bytecode"),
                        "{}: {msg}",
                        path.display()
                    );
                }
                loaded += 1;
            }
        }
    }
    assert!(loaded > 30, "{loaded} scripts");
    let mut rng = Rng(0x00c0_ffee);
    for i in 0..cases(300) {
        let tape: Vec<u32> = (0..2500).map(|_| rng.next() as u32).collect();
        let src = progen::generate(&tape, i % 2 == 0);
        if let Err(e) = vm.load(src.as_bytes(), "=prog") {
            panic!("{}\n{src}", vm.error_to_string(&e));
        }
    }
}

/// Mutants from a seeded generator: thousands of cases, no panic. The
/// tally shows how many loaded and how they ended.
#[test]
fn seeded_mutants_never_crash() {
    let seeds = seeds();
    let start: u64 = std::env::var("VM_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x0123_4567_89ab_cdef);
    let mut rng = Rng(start);
    let mut tally = Tally::default();
    for case in 0..cases(8000) {
        let seed = &seeds[rng.next() as usize % seeds.len()];
        let tape: Vec<u64> = (0..64).map(|_| rng.next()).collect();
        let bytes = mutant(&seed.chunk, &tape);
        let run = Run::from_tape(&tape);
        match run_chunk(&bytes, run) {
            Ok(e) => tally.add(e),
            Err(why) => panic!(
                "case {case} (VM_FUZZ_SEED={start}), mutant of {} run as {run:?}: {why}\nchunk: {}",
                seed.name,
                hex(&bytes)
            ),
        }
    }
    println!("{tally:?}");
    // The mutants must exercise the interpreter, not only the loader.
    assert!(tally.returned + tally.raised > tally.cases / 4, "{tally:?}");
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(500),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Mutants that proptest shrinks when one crashes.
    #[test]
    fn mutants_never_crash(seed in 0..PROGRAMS.len() + RANDOM_SEEDS as usize,
                           tape in prop::collection::vec(any::<u64>(), 1..24)) {
        let seed = &seeds()[seed];
        let bytes = mutant(&seed.chunk, &tape);
        let run = Run::from_tape(&tape);
        let got = run_chunk(&bytes, run);
        prop_assert!(got.is_ok(), "mutant of {} run as {run:?}: {:?}\nchunk: {}",
            seed.name, got, hex(&bytes));
    }
}

// ---------------------------------------------------------------------
// debug.setlocal on the registers the interpreter trusts
// ---------------------------------------------------------------------

/// The error `src` raises (run with the libraries the fuzz tests open).
fn error_of(vm: &mut Vm, src: &str) -> String {
    match vm.exec(src.as_bytes(), "=src") {
        Ok(_) => panic!("{src}: no error"),
        Err(e) => vm.error_to_string(&e),
    }
}

/// A numeric loop's state and a constructor's table take only values of
/// their kind: another is refused with an argument error, and the
/// register keeps its value. (PUC Lua stores it, then reads its bits as a
/// number or a table: a runaway loop, a crash. A value of the right kind
/// does what it does in PUC Lua: `tests/lua/debug_setlocal.lua`.)
#[test]
fn setlocal_keeps_the_kind_of_trusted_registers() {
    let cases = [
        (
            "for i = 1, 3 do debug.setlocal(1, 1, 'x') end",
            "bad argument #3 to 'setlocal' (integer expected for '(for state)', got string)",
        ),
        (
            "for i = 1, 3 do debug.setlocal(1, 2, 1.5) end",
            "(integer expected for '(for state)', got float)",
        ),
        (
            "for x = 1, 2, 0.5 do debug.setlocal(1, 3, 1) end",
            "(float expected for '(for state)', got integer)",
        ),
        (
            "local t = {debug.setlocal(1, 1, 5), 2, 3}",
            "bad argument #3 to 'setlocal' (table expected for '(temporary)', got integer)",
        ),
        (
            "local t = {1, 2, {debug.setlocal(1, 1, nil)}}",
            "(table expected for '(temporary)', got nil)",
        ),
        (
            "local co = coroutine.create(function() for i = 1, 3 do coroutine.yield() end end)
             coroutine.resume(co)
             debug.setlocal(co, 1, 3, {})",
            "bad argument #4 to 'setlocal' (integer expected for '(for state)', got table)",
        ),
    ];
    let mut vm = sandbox();
    for (src, want) in cases {
        let got = error_of(&mut vm, src);
        assert!(got.contains(want), "{src}: {got}");
    }
    // The loop goes on as if nothing happened.
    let r = vm
        .exec(
            b"local n = 0
              for i = 1, 3 do
                assert(not pcall(debug.setlocal, 2, 2, 'x'))
                n = n + i
              end
              return n",
            "=src",
        )
        .unwrap();
    assert!(matches!(r[..], [Value::Int(6)]));
    // Without names (a stripped chunk), the same registers are refused.
    let f = vm
        .load(b"for i = 1, 2 do debug.setlocal(1, 1, 'x') end", "=src")
        .unwrap();
    let bin = vm.dump(f, true).unwrap();
    let g = vm.load_chunk(&bin, "=bin", "b", None).unwrap();
    let e = vm.call(g, &[]).unwrap_err();
    let got = vm.error_to_string(&e);
    assert!(
        got.contains("integer expected for '(temporary)', got string"),
        "{got}"
    );
}

thread_local! {
    /// What `clobber` does: set local `.1` to a value of kind `.2` once
    /// it has counted `.0` instructions.
    static CLOBBER: std::cell::Cell<(u32, i64, u8)> = const { std::cell::Cell::new((0, 0, 0)) };
}

thread_local! {
    /// Locals `clobber` set and those it was refused.
    static CLOBBERED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    static REFUSED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A count hook that sets a local of the running function once (see
/// `CLOBBER`), whatever the registers hold, as `debug.setlocal` from a hook
/// may.
fn clobber(vm: &mut Vm, _event: HookEvent) -> LuaResult<HookStep> {
    let (left, n, kind) = CLOBBER.with(|c| c.get());
    if left == 0 {
        return Ok(HookStep::Done);
    }
    CLOBBER.with(|c| c.set((left - 1, n, kind)));
    if left == 1 {
        let v = match kind {
            0 => vm.new_str(b"clobbered"),
            1 => Value::Nil,
            2 => Value::Num(0.5),
            _ => Value::Int(-7),
        };
        // Refused for the registers the interpreter trusts.
        let refused = vm.set_local(0, n, v).is_err();
        CLOBBERED.with(|c| c.set(c.get() + 1 - refused as usize));
        REFUSED.with(|c| c.set(c.get() + refused as usize));
    }
    Ok(HookStep::Done)
}

/// `debug.setlocal` at any instruction of loops and constructors, on any
/// register, with values of any kind: what it accepts, the interpreter
/// copes with (errors, never panics).
#[test]
fn setlocal_anywhere_never_crashes() {
    let mut runs = 0;
    for src in &PROGRAMS[..3] {
        for at in (1..400).step_by(3) {
            for n in 1..=12 {
                let kind = ((at + n as u32) % 4) as u8;
                let r = without_panic(|| {
                    let mut vm = sandbox();
                    let f = vm.load(src.as_bytes(), "=src").expect("a seed compiles");
                    CLOBBER.with(|c| c.set((at, n, kind)));
                    let main = vm.main_thread();
                    vm.set_hook(
                        main,
                        Some(Hook {
                            func: clobber,
                            mask: HookMask::default(),
                            count: 1,
                            data: Value::Nil,
                        }),
                    )
                    .unwrap();
                    // Budgeted: a loop count set to -1 is a long loop,
                    // as in PUC Lua.
                    vm.set_instruction_limit(Some(2 * CAP));
                    let _ = vm.start(f, &[], CAP);
                    vm.check_invariants()
                });
                assert!(r.is_ok(), "{src}: local {n} at instruction {at}: {r:?}");
                runs += 1;
            }
        }
    }
    let (clobbered, refused) = (CLOBBERED.with(|c| c.get()), REFUSED.with(|c| c.get()));
    println!("{runs} runs: {clobbered} locals set, {refused} refused");
    assert!(
        runs > 1000 && clobbered > runs / 4 && refused > 100,
        "{runs} {clobbered} {refused}"
    );
}

/// Replays one chunk as a failure prints it, listing it first: the chunk
/// in `VM_FUZZ_CHUNK` (hex) with `VM_FUZZ_SLICE` and `VM_FUZZ_STRESS`, for
/// investigating a failure (`VM_FUZZ_CHUNK=... cargo test --test
/// bytecode_fuzz replay -- --nocapture`). Without it, it replays the first
/// seed through the same hex path, which must run to its end.
#[test]
fn replay() {
    let given = std::env::var("VM_FUZZ_CHUNK").ok();
    let h = given.clone().unwrap_or_else(|| hex(&seeds()[0].bytes));
    let bytes: Vec<u8> = (0..h.len() / 2)
        .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).expect("hex"))
        .collect();
    let slice = std::env::var("VM_FUZZ_SLICE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(CAP);
    let stress = std::env::var("VM_FUZZ_STRESS").is_ok_and(|s| s == "1");
    let mut vm = sandbox();
    match vm.load_chunk(&bytes, "=fuzz", "b", None) {
        Ok(f) => println!("{}", vm.listing(f, true).unwrap_or_default()),
        Err(e) => println!("rejected: {}", vm.error_to_string(&e)),
    }
    let ending = run_chunk(&bytes, Run { slice, stress });
    println!("{ending:?}");
    if given.is_none() {
        assert_eq!(ending, Ok(Ending::Returned), "{}", seeds()[0].name);
    }
    // The seed it came from, if named, for a diff.
    if let Ok(name) = std::env::var("VM_FUZZ_SEED_NAME") {
        let seed = seeds().iter().find(|s| s.name == name).expect("a seed");
        let f = vm.load_chunk(&seed.bytes, "=fuzz", "b", None).unwrap();
        println!("SEED\n{}", vm.listing(f, true).unwrap_or_default());
    }
}
