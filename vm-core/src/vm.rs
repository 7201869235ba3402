//! The interpreter loop (`lvm.c`): executes Lua frames of the running
//! thread without recursing in Rust. Calls, returns and metamethod calls
//! push or pop `CallInfo`s and jump back to the top of the loop; natives
//! with a step other than `Return` hand control to the driver (`call::run`).
//!
//! Fast paths (integer and float arithmetic, raw table hits, and misses
//! in tables without a metatable, which are nil) are inline;
//! everything else goes through `#[cold]` helpers in `vm::slow`, which
//! either produce a value, raise an error, or start a metamethod call (the
//! frame is flagged `FINISH_OP` and `finish_op` completes the instruction
//! when the metamethod returns, like `luaV_finishOp`).

mod arith;
mod slow;

use std::sync::Arc;

use crate::error::LuaResult;
use crate::func::{LuaClosure, Proto};
use crate::heap::Upval;
use crate::native::Step;
use crate::number::{self, ArithOp};
use crate::opcodes::Op;
use crate::state::{FrameKind, Vm, FINISH_OP};
use crate::table::Table;
use crate::value::{LuaFnRef, UpvalRef, Value};

pub(crate) use slow::{IndexTarget, NewIndexTarget, Src, INDEX_LOOP, NEWINDEX_LOOP};

/// Values a `SETLIST` stores for the price of its instruction: a table
/// constructor flushes at most 50 (`LFIELDS_PER_FLUSH`).
const SETLIST_FREE: usize = 64;

impl Vm {
    /// Executes Lua frames until the running thread is down to
    /// `exec_floor` frames or a native frame is on top (the driver loop then
    /// takes over). A native's step may switch threads (a coroutine resume
    /// or yield): the loop simply goes on with the new thread's top frame.
    pub(crate) fn execute(&mut self) -> LuaResult<()> {
        self.thin().execute_loop()
    }

    #[inline(always)]
    fn execute_loop(&mut self) -> LuaResult<()> {
        'newframe: loop {
            if self.th.frames.len() <= self.exec_floor {
                return Ok(());
            }
            let mut fi = self.th.frames.len() - 1;
            // One read of the frame (each indexing is a bounds check).
            let ci = &self.th.frames[fi];
            let FrameKind::Lua(_) = ci.kind else {
                return Ok(());
            };
            let (mut base, pc, proto_addr, mut upvals) = (ci.base, ci.pc, ci.proto, ci.upvals);
            if ci.flags & FINISH_OP != 0 {
                // Finish the interrupted instruction, then look at the top
                // frame again (the finish may have started another call).
                self.th.frames[fi].flags &= !FINISH_OP;
                self.finish_op(fi)?;
                continue 'newframe;
            }
            // SAFETY: frame `fi` recorded the address of the prototype of the
            // closure `cl` it runs (`precall`); that closure is rooted in the
            // frame's function slot until the frame is popped and owns an
            // `Arc` of the prototype. `proto` is only used while frame `fi`
            // runs: every frame change goes through `continue 'newframe` or
            // `enter_frame!`, which take the new frame's prototype.
            let mut proto: &Proto = unsafe { crate::raw::proto_at(proto_addr) };
            let mut code = &proto.code[..];
            let mut k = &proto.consts[..];
            let mut pc = pc as usize;
            // The frame's registers. Valid until the stack is reallocated
            // (it grows, or a collection shrinks it to its frames' extents)
            // or the running thread changes, so it is
            // re-derived (`sync!`) after anything that may call a function,
            // collect garbage or grow the stack.
            let mut regs: *mut Value = self.th.stack.as_mut_ptr().wrapping_add(base);
            // The instruction budget, in a register: counting down
            // `self.fuel` in memory made every instruction wait on the
            // previous one's store (BENCHMARKS.md). `self.fuel` is the true
            // count outside the instructions' inline paths: the local is
            // written back (`flush!`, which `savepc!` does) before anything
            // that may read or charge fuel, raise an error or leave this
            // frame (`continue 'newframe`), and read again (`sync!`) after.
            let mut fuel = self.fuel;

            macro_rules! flush {
                () => {
                    self.fuel = fuel
                };
            }
            macro_rules! savepc {
                () => {{
                    // SAFETY: `fi` is the running frame, on the stack of
                    // frames until the loop leaves it.
                    unsafe {
                        debug_assert!(fi < self.th.frames.len());
                        self.th.frames.get_unchecked_mut(fi).pc = pc as u32;
                    }
                    flush!();
                }};
            }
            // Goes on with Lua frame `$fi` (registers from `$base`, next instruction `$pc`, prototype and upvalue handles
            // at the addresses the frame recorded), which is not waiting to
            // finish an instruction and is above the floor: what `continue
            // 'newframe` would find, without looking.
            macro_rules! enter_frame {
                ($fi:expr, $base:expr, $pc:expr, $proto:expr, $upvals:expr) => {{
                    fi = $fi;
                    debug_assert!(fi >= self.exec_floor);
                    base = $base;
                    pc = $pc;
                    upvals = $upvals;
                    // SAFETY: as for the frame entry above.
                    proto = unsafe { crate::raw::proto_at($proto) };
                    code = &proto.code[..];
                    k = &proto.consts[..];
                    rebase!();
                }};
            }
            // `enter_frame!` from a copy of the frame's `CallInfo`.
            macro_rules! enter {
                ($fi:expr, $ci:expr) => {{
                    let ci: crate::state::CallInfo = $ci;
                    debug_assert!(ci.is_lua() && ci.flags & FINISH_OP == 0);
                    enter_frame!($fi, ci.base, ci.pc as usize, ci.proto, ci.upvals);
                }};
            }
            // Re-derives the register window.
            macro_rules! rebase {
                () => {
                    regs = self.th.stack.as_mut_ptr().wrapping_add(base)
                };
            }
            // After a call out that `savepc!` prepared: the register
            // window and the budget.
            macro_rules! sync {
                () => {{
                    rebase!();
                    fuel = self.fuel;
                }};
            }
            // Register `$r`, read (`reg!`) or written (`w!`).
            // SAFETY (both): the verifier (`verify.rs`) checked that every
            // register operand, with the fixed offsets the instructions
            // add, is below the prototype's `max_stack`; `precall` made
            // the stack hold `base + max_stack` slots, and it never
            // shrinks below a frame's extent; `regs` is re-derived after every operation that may
            // reallocate it or switch threads (checked by the assertion).
            macro_rules! reg {
                ($r:expr) => {
                    (*unsafe {
                        debug_assert!(self.regs_valid(regs, base, $r as usize, fi));
                        &*regs.add($r as usize)
                    })
                };
            }
            macro_rules! w {
                ($r:expr) => {
                    (*unsafe {
                        debug_assert!(self.regs_valid(regs, base, $r as usize, fi));
                        &mut *regs.add($r as usize)
                    })
                };
            }
            // The value of upvalue `$i` of the running closure, read
            // (`upval_get!`) or written (`upval_set!`). SAFETY (both): the
            // frame recorded its closure's handles (`precall`), the closure
            // is rooted by the frame, and the verifier checked upvalue
            // indices against the prototype's count, which is the
            // closure's (`Heap::new_lua_closure`); a running closure's
            // upvalue cells are live.
            macro_rules! upval_get {
                ($i:expr) => {
                    unsafe { self.upval_get(crate::raw::upval_at(upvals, $i)) }
                };
            }
            macro_rules! upval_set {
                ($i:expr, $v:expr) => {
                    unsafe { self.upval_set(crate::raw::upval_at(upvals, $i), $v) }
                };
            }
            // Constant `$i`. SAFETY: the verifier checked constant indices.
            macro_rules! konst {
                ($i:expr) => {
                    (*unsafe {
                        debug_assert!(($i as usize) < k.len());
                        k.get_unchecked($i as usize)
                    })
                };
            }
            // Runs a slow path that may start a metamethod call (`None`).
            macro_rules! slow {
                ($e:expr) => {{
                    savepc!();
                    match $e? {
                        Some(v) => {
                            sync!();
                            v
                        }
                        None => continue 'newframe,
                    }
                }};
            }
            // Each arm writes its register itself: a result merged from
            // several arms would be built in memory and copied byte-range
            // by byte-range into the register.
            macro_rules! arith_fallback {
                ($ins:expr, $a:expr) => {{
                    let v = slow!(self.arith_fallback(fi, $ins));
                    w!($a) = v;
                }};
            }
            // Arithmetic: `$int` gives the integer result, or `None` when
            // the slow path must decide (division by zero); `$flt` the float
            // one.
            macro_rules! arith {
                // `/` and `^`: float results for integer operands too.
                ($ins:expr, $a:expr, $x:expr, $y:expr, float: $flt:expr) => {
                    arith!(
                        $ins,
                        $a,
                        $x,
                        $y,
                        |i: i64, j: i64| Some(Value::Num($flt(i as f64, j as f64))),
                        $flt
                    )
                };
                ($ins:expr, $a:expr, $x:expr, $y:expr, $int:expr, $flt:expr) => {{
                    match (&$x, &$y) {
                        (&Value::Int(i), &Value::Int(j)) => match $int(i, j) {
                            Some(v) => w!($a) = v,
                            None => arith_fallback!($ins, $a),
                        },
                        (&Value::Num(p), &Value::Num(q)) => w!($a) = Value::Num($flt(p, q)),
                        (&Value::Int(i), &Value::Num(q)) => w!($a) = Value::Num($flt(i as f64, q)),
                        (&Value::Num(p), &Value::Int(j)) => w!($a) = Value::Num($flt(p, j as f64)),
                        _ => arith_fallback!($ins, $a),
                    }
                }};
            }
            macro_rules! bitwise {
                ($ins:expr, $a:expr, $x:expr, $y:expr, $int:expr) => {{
                    match (&$x, &$y) {
                        (&Value::Int(i), &Value::Int(j)) => w!($a) = Value::Int($int(i, j)),
                        _ => arith_fallback!($ins, $a),
                    }
                }};
            }
            // A comparison or test is followed by its jump (checked by the
            // verifier): skip it when the condition fails, otherwise take
            // it here (`donextjump`) rather than in a dispatch of its own.
            // Like PUC Lua's count hook, the budget counts dispatches, so
            // the pair costs one unit.
            macro_rules! cond_jump {
                ($res:expr, $k:expr) => {
                    if $res != $k {
                        pc += 1;
                    } else {
                        // SAFETY: the verifier checked that the next
                        // instruction exists (it is the jump).
                        let next = unsafe {
                            debug_assert!(pc < code.len());
                            *code.get_unchecked(pc)
                        };
                        if let Op::Jmp { sj } = next {
                            pc = (pc as i64 + 1 + sj as i64) as usize;
                        }
                    }
                };
            }
            macro_rules! cmp_imm {
                ($a:expr, $sb:expr, $k:expr, $isf:expr, $iop:tt, $ev:expr, $flip:expr) => {{
                    let res = match reg!($a) {
                        Value::Int(i) => i $iop ($sb as i64),
                        Value::Num(f) => f $iop ($sb as f64),
                        _ => {
                            let x = reg!($a);
                            let imm = if $isf { Value::Num($sb as f64) } else { Value::Int($sb as i64) };
                            let (l, r) = if $flip { (imm, x) } else { (x, imm) };
                            let v = slow!(self.compare_slow(fi, $ev, l, r));
                            v.truthy()
                        }
                    };
                    cond_jump!(res, $k);
                }};
            }

            loop {
                // The instruction budget: one unit per instruction; when
                // it is spent, stop before the next one (if this run can
                // be suspended; otherwise overrun). A thread with a hook
                // spends it at every instruction (`hook.rs`).
                fuel -= 1;
                if fuel < 0 {
                    savepc!();
                    if self.before_instruction(fi)? {
                        return Ok(());
                    }
                    // A hook may have run.
                    sync!();
                }
                // SAFETY: the verifier checked that no instruction goes
                // on past the end of the code, and frames only record
                // program counters of instructions.
                let op = unsafe {
                    debug_assert!(pc < code.len());
                    *code.get_unchecked(pc)
                };
                pc += 1;
                match op {
                    Op::Move { a, b } => w!(a) = reg!(b),
                    Op::LoadI { a, sbx } => w!(a) = Value::Int(sbx as i64),
                    Op::LoadF { a, sbx } => w!(a) = Value::Num(sbx as f64),
                    Op::LoadK { a, bx } => w!(a) = konst!(bx),
                    Op::LoadFalse { a } => w!(a) = Value::Bool(false),
                    Op::LFalseSkip { a } => {
                        w!(a) = Value::Bool(false);
                        pc += 1;
                    }
                    Op::LoadTrue { a } => w!(a) = Value::Bool(true),
                    Op::LoadNil { a, b } => {
                        for r in a as usize..=a as usize + b as usize {
                            w!(r) = Value::Nil;
                        }
                    }
                    Op::GetUpval { a, b } => w!(a) = upval_get!(b),
                    Op::SetUpval { a, b } => {
                        let v = reg!(a);
                        upval_set!(b, v);
                        rebase!();
                    }
                    Op::GetTabUp { a, b, c } => {
                        let t = upval_get!(b);
                        match (t, &konst!(c)) {
                            (Value::Table(tr), &Value::Str(s)) => {
                                // SAFETY: a table in a register or an upvalue is live.
                                let tab = unsafe { crate::raw::live(&self.heap.tables, tr) };
                                let v = tab.get_str_hinted(s, proto.field_cache.at(pc - 1));
                                if v.is_nil() && tab.metatable.is_some() {
                                    let v =
                                        slow!(self.index_slow(fi, t, Value::Str(s), Src::Upval(b)));
                                    w!(a) = v;
                                } else {
                                    w!(a) = *v;
                                }
                            }
                            _ => {
                                let v = slow!(self.index_slow(fi, t, konst!(c), Src::Upval(b)));
                                w!(a) = v;
                            }
                        }
                    }
                    Op::GetTable { a, b, c } => match reg!(b) {
                        Value::Table(tr) => {
                            // SAFETY: a table in a register or an upvalue is live.
                            let tab = unsafe { crate::raw::live(&self.heap.tables, tr) };
                            let v = match reg!(c) {
                                Value::Int(i) => tab.get_int_ref(i),
                                key => tab.get_ref(key),
                            };
                            if v.is_nil() && tab.metatable.is_some() {
                                let v = slow!(self.index_slow(
                                    fi,
                                    Value::Table(tr),
                                    reg!(c),
                                    Src::Reg(b)
                                ));
                                w!(a) = v;
                            } else {
                                w!(a) = *v;
                            }
                        }
                        t => {
                            let v = slow!(self.index_slow(fi, t, reg!(c), Src::Reg(b)));
                            w!(a) = v;
                        }
                    },
                    Op::GetI { a, b, c } => match reg!(b) {
                        Value::Table(tr) => {
                            // SAFETY: a table in a register or an upvalue is live.
                            let tab = unsafe { crate::raw::live(&self.heap.tables, tr) };
                            let v = tab.get_int_ref(c as i64);
                            if v.is_nil() && tab.metatable.is_some() {
                                let t = Value::Table(tr);
                                let v = slow!(self.index_slow(
                                    fi,
                                    t,
                                    Value::Int(c as i64),
                                    Src::Reg(b)
                                ));
                                w!(a) = v;
                            } else {
                                w!(a) = *v;
                            }
                        }
                        t => {
                            let v =
                                slow!(self.index_slow(fi, t, Value::Int(c as i64), Src::Reg(b)));
                            w!(a) = v;
                        }
                    },
                    Op::GetField { a, b, c } => match (&reg!(b), &konst!(c)) {
                        (&Value::Table(tr), &Value::Str(s)) => {
                            // SAFETY: a table in a register or an upvalue is live.
                            let tab = unsafe { crate::raw::live(&self.heap.tables, tr) };
                            let v = tab.get_str_hinted(s, proto.field_cache.at(pc - 1));
                            if v.is_nil() && tab.metatable.is_some() {
                                let t = Value::Table(tr);
                                let v = slow!(self.index_slow(fi, t, Value::Str(s), Src::Reg(b)));
                                w!(a) = v;
                            } else {
                                w!(a) = *v;
                            }
                        }
                        _ => {
                            let v = slow!(self.index_slow(fi, reg!(b), konst!(c), Src::Reg(b)));
                            w!(a) = v;
                        }
                    },
                    Op::SetTabUp { a, b, c, k: isk } => {
                        let t = upval_get!(a);
                        let v = if isk { konst!(c) } else { reg!(c) };
                        // SAFETY: a table in an upvalue is live.
                        let done = match (t, &konst!(b)) {
                            (Value::Table(tr), &Value::Str(s)) => unsafe {
                                self.fast_set_str(tr, s, v)
                            },
                            _ => false,
                        };
                        if !done {
                            slow!(self.newindex_slow(fi, t, konst!(b), v, Src::Upval(a)));
                        }
                    }
                    Op::SetTable { a, b, c, k: isk } => {
                        let v = if isk { konst!(c) } else { reg!(c) };
                        // SAFETY: a table in a register is live.
                        let done = match (&reg!(a), &reg!(b)) {
                            (&Value::Table(tr), &Value::Int(i)) => unsafe {
                                self.fast_set_int(tr, i, v)
                            },
                            (&Value::Table(tr), &Value::Str(s)) => unsafe {
                                self.fast_set_str(tr, s, v)
                            },
                            _ => false,
                        };
                        if !done {
                            slow!(self.newindex_slow(fi, reg!(a), reg!(b), v, Src::Reg(a)));
                        }
                    }
                    Op::SetI { a, b, c, k: isk } => {
                        let v = if isk { konst!(c) } else { reg!(c) };
                        // SAFETY: a table in a register is live.
                        let done = match reg!(a) {
                            Value::Table(tr) => unsafe { self.fast_set_int(tr, b as i64, v) },
                            _ => false,
                        };
                        if !done {
                            slow!(self.newindex_slow(
                                fi,
                                reg!(a),
                                Value::Int(b as i64),
                                v,
                                Src::Reg(a)
                            ));
                        }
                    }
                    Op::SetField { a, b, c, k: isk } => {
                        let v = if isk { konst!(c) } else { reg!(c) };
                        // SAFETY: a table in a register is live.
                        let done = match (&reg!(a), &konst!(b)) {
                            (&Value::Table(tr), &Value::Str(s)) => unsafe {
                                self.fast_set_str(tr, s, v)
                            },
                            _ => false,
                        };
                        if !done {
                            slow!(self.newindex_slow(fi, reg!(a), konst!(b), v, Src::Reg(a)));
                        }
                    }
                    Op::NewTable { a, hash, array } => {
                        savepc!();
                        self.new_table_op(base + a as usize, hash, array)?;
                        sync!();
                    }
                    Op::SelfOp { a, b, c } => {
                        let t = reg!(b);
                        w!(a as usize + 1) = t;
                        match (t, &konst!(c)) {
                            (Value::Table(tr), &Value::Str(s)) => {
                                // SAFETY: a table in a register or an upvalue is live.
                                let tab = unsafe { crate::raw::live(&self.heap.tables, tr) };
                                let v = tab.get_str_hinted(s, proto.field_cache.at(pc - 1));
                                if v.is_nil() && tab.metatable.is_some() {
                                    let v =
                                        slow!(self.index_slow(fi, t, Value::Str(s), Src::Reg(b)));
                                    w!(a) = v;
                                } else {
                                    w!(a) = *v;
                                }
                            }
                            _ => {
                                let v = slow!(self.index_slow(fi, t, konst!(c), Src::Reg(b)));
                                w!(a) = v;
                            }
                        }
                    }
                    Op::AddI { a, b, sc } | Op::SubI { a, b, sc } => arith!(
                        op,
                        a,
                        reg!(b),
                        Value::Int(sc as i64),
                        |i: i64, j: i64| Some(Value::Int(i.wrapping_add(j))),
                        |p: f64, q: f64| p + q
                    ),
                    Op::AddK { a, b, c } => arith!(
                        op,
                        a,
                        reg!(b),
                        konst!(c),
                        |i: i64, j: i64| Some(Value::Int(i.wrapping_add(j))),
                        |p: f64, q: f64| p + q
                    ),
                    Op::AddKL { a, b, c } => arith!(
                        op,
                        a,
                        konst!(c),
                        reg!(b),
                        |i: i64, j: i64| Some(Value::Int(i.wrapping_add(j))),
                        |p: f64, q: f64| p + q
                    ),
                    Op::MulKL { a, b, c } => arith!(
                        op,
                        a,
                        konst!(c),
                        reg!(b),
                        |i: i64, j: i64| Some(Value::Int(i.wrapping_mul(j))),
                        |p: f64, q: f64| p * q
                    ),
                    Op::SubK { a, b, c } => arith!(
                        op,
                        a,
                        reg!(b),
                        konst!(c),
                        |i: i64, j: i64| Some(Value::Int(i.wrapping_sub(j))),
                        |p: f64, q: f64| p - q
                    ),
                    Op::MulK { a, b, c } => arith!(
                        op,
                        a,
                        reg!(b),
                        konst!(c),
                        |i: i64, j: i64| Some(Value::Int(i.wrapping_mul(j))),
                        |p: f64, q: f64| p * q
                    ),
                    Op::ModK { a, b, c } => arith!(
                        op,
                        a,
                        reg!(b),
                        konst!(c),
                        |i: i64, j: i64| (j != 0).then(|| Value::Int(number::int_mod(i, j))),
                        number::float_mod
                    ),
                    Op::PowK { a, b, c } => {
                        arith!(
                            op,
                            a,
                            reg!(b),
                            konst!(c),
                            float: arith::pow
                        )
                    }
                    Op::DivK { a, b, c } => arith!(
                        op,
                        a,
                        reg!(b),
                        konst!(c),
                        float: |p: f64, q: f64| p / q
                    ),
                    Op::IDivK { a, b, c } => arith!(
                        op,
                        a,
                        reg!(b),
                        konst!(c),
                        |i: i64, j: i64| (j != 0).then(|| Value::Int(number::int_idiv(i, j))),
                        number::float_idiv
                    ),
                    Op::BAndK { a, b, c } => {
                        bitwise!(op, a, reg!(b), konst!(c), |i: i64, j: i64| i & j)
                    }
                    Op::BOrK { a, b, c } => {
                        bitwise!(op, a, reg!(b), konst!(c), |i: i64, j: i64| i | j)
                    }
                    Op::BXorK { a, b, c } => {
                        bitwise!(op, a, reg!(b), konst!(c), |i: i64, j: i64| i ^ j)
                    }
                    Op::ShrI { a, b, sc } => {
                        bitwise!(op, a, reg!(b), Value::Int(sc as i64), |i: i64, j: i64| {
                            number::shift_left(i, j.wrapping_neg())
                        })
                    }
                    Op::ShlI { a, b, sc } => {
                        bitwise!(op, a, Value::Int(sc as i64), reg!(b), number::shift_left)
                    }
                    Op::Add { a, b, c } => arith!(
                        op,
                        a,
                        reg!(b),
                        reg!(c),
                        |i: i64, j: i64| Some(Value::Int(i.wrapping_add(j))),
                        |p: f64, q: f64| p + q
                    ),
                    Op::Sub { a, b, c } => arith!(
                        op,
                        a,
                        reg!(b),
                        reg!(c),
                        |i: i64, j: i64| Some(Value::Int(i.wrapping_sub(j))),
                        |p: f64, q: f64| p - q
                    ),
                    Op::Mul { a, b, c } => arith!(
                        op,
                        a,
                        reg!(b),
                        reg!(c),
                        |i: i64, j: i64| Some(Value::Int(i.wrapping_mul(j))),
                        |p: f64, q: f64| p * q
                    ),
                    Op::Mod { a, b, c } => {
                        arith!(
                            op,
                            a,
                            reg!(b),
                            reg!(c),
                            |i: i64, j: i64| (j != 0).then(|| Value::Int(number::int_mod(i, j))),
                            number::float_mod
                        )
                    }
                    Op::Pow { a, b, c } => {
                        arith!(
                            op,
                            a,
                            reg!(b),
                            reg!(c),
                            float: arith::pow
                        )
                    }
                    Op::Div { a, b, c } => {
                        arith!(
                            op,
                            a,
                            reg!(b),
                            reg!(c),
                            float: |p: f64, q: f64| p / q
                        )
                    }
                    Op::IDiv { a, b, c } => arith!(
                        op,
                        a,
                        reg!(b),
                        reg!(c),
                        |i: i64, j: i64| (j != 0).then(|| Value::Int(number::int_idiv(i, j))),
                        number::float_idiv
                    ),
                    Op::BAnd { a, b, c } => {
                        bitwise!(op, a, reg!(b), reg!(c), |i: i64, j: i64| i & j)
                    }
                    Op::BOr { a, b, c } => {
                        bitwise!(op, a, reg!(b), reg!(c), |i: i64, j: i64| i | j)
                    }
                    Op::BXor { a, b, c } => {
                        bitwise!(op, a, reg!(b), reg!(c), |i: i64, j: i64| i ^ j)
                    }
                    Op::Shl { a, b, c } => {
                        bitwise!(op, a, reg!(b), reg!(c), number::shift_left)
                    }
                    Op::Shr { a, b, c } => {
                        bitwise!(op, a, reg!(b), reg!(c), |i: i64, j: i64| {
                            number::shift_left(i, j.wrapping_neg())
                        })
                    }
                    Op::Unm { a, b } => match reg!(b) {
                        Value::Int(i) => w!(a) = Value::Int(i.wrapping_neg()),
                        Value::Num(f) => w!(a) = Value::Num(-f),
                        x => {
                            let v = slow!(self.arith_slow(
                                fi,
                                ArithOp::Unm,
                                x,
                                x,
                                Src::Reg(b),
                                Src::Reg(b)
                            ));
                            w!(a) = v;
                        }
                    },
                    Op::BNot { a, b } => match reg!(b) {
                        Value::Int(i) => w!(a) = Value::Int(!i),
                        x => {
                            let v = slow!(self.arith_slow(
                                fi,
                                ArithOp::BNot,
                                x,
                                x,
                                Src::Reg(b),
                                Src::Reg(b)
                            ));
                            w!(a) = v;
                        }
                    },
                    Op::Not { a, b } => w!(a) = Value::Bool(!reg!(b).truthy()),
                    Op::Len { a, b } => {
                        let x = reg!(b);
                        // The length of a table without a metatable inline.
                        let raw = match x {
                            Value::Table(tr) => {
                                // SAFETY: a table in a register is live.
                                let tab = unsafe { crate::raw::live(&self.heap.tables, tr) };
                                tab.metatable.is_none().then(|| tab.len())
                            }
                            _ => None,
                        };
                        match raw {
                            Some(n) => w!(a) = Value::Int(n),
                            None => w!(a) = slow!(self.len_op(fi, x, Src::Reg(b))),
                        }
                    }
                    Op::Concat { a, b } => {
                        savepc!();
                        let first = base + a as usize;
                        if !self.concat(fi, first, first + b as usize)? {
                            continue 'newframe;
                        }
                        self.gc_safe_point(first + 1)?;
                        sync!();
                    }
                    Op::Close { a } => {
                        savepc!();
                        if !self.close_frame_vars(fi, base + a as usize)? {
                            continue 'newframe;
                        }
                        sync!();
                    }
                    Op::Tbc { a } => {
                        savepc!();
                        self.mark_tbc(base + a as usize)?;
                    }
                    Op::Jmp { sj } => pc = (pc as i64 + sj as i64) as usize,
                    Op::Eq { a, b, k: kk } => {
                        let res = match (&reg!(a), &reg!(b)) {
                            (&Value::Int(i), &Value::Int(j)) => i == j,
                            (&Value::Str(p), &Value::Str(q)) => p == q,
                            (&Value::Table(p), &Value::Table(q)) if p != q => {
                                slow!(self.eq_slow(fi, Value::Table(p), Value::Table(q))).truthy()
                            }
                            (&Value::UserData(p), &Value::UserData(q)) if p != q => {
                                slow!(self.eq_slow(fi, Value::UserData(p), Value::UserData(q)))
                                    .truthy()
                            }
                            _ => reg!(a).raw_eq(reg!(b)),
                        };
                        cond_jump!(res, kk);
                    }
                    Op::Lt { a, b, k: kk } => {
                        let res = match (&reg!(a), &reg!(b)) {
                            (&Value::Int(i), &Value::Int(j)) => i < j,
                            (&Value::Num(p), &Value::Num(q)) => p < q,
                            _ => {
                                slow!(self.compare_slow(fi, crate::state::Tm::Lt, reg!(a), reg!(b)))
                                    .truthy()
                            }
                        };
                        cond_jump!(res, kk);
                    }
                    Op::Le { a, b, k: kk } => {
                        let res = match (&reg!(a), &reg!(b)) {
                            (&Value::Int(i), &Value::Int(j)) => i <= j,
                            (&Value::Num(p), &Value::Num(q)) => p <= q,
                            _ => {
                                slow!(self.compare_slow(fi, crate::state::Tm::Le, reg!(a), reg!(b)))
                                    .truthy()
                            }
                        };
                        cond_jump!(res, kk);
                    }
                    Op::EqK { a, b, k: kk } => {
                        let res = reg!(a).raw_eq(konst!(b));
                        cond_jump!(res, kk);
                    }
                    Op::EqI {
                        a,
                        sb,
                        k: kk,
                        isf: _,
                    } => {
                        let res = match reg!(a) {
                            Value::Int(i) => i == sb as i64,
                            Value::Num(f) => f == sb as f64,
                            _ => false,
                        };
                        cond_jump!(res, kk);
                    }
                    Op::LtI { a, sb, k: kk, isf } => {
                        cmp_imm!(a, sb, kk, isf, <, crate::state::Tm::Lt, false)
                    }
                    Op::LeI { a, sb, k: kk, isf } => {
                        cmp_imm!(a, sb, kk, isf, <=, crate::state::Tm::Le, false)
                    }
                    Op::GtI { a, sb, k: kk, isf } => {
                        cmp_imm!(a, sb, kk, isf, >, crate::state::Tm::Lt, true)
                    }
                    Op::GeI { a, sb, k: kk, isf } => {
                        cmp_imm!(a, sb, kk, isf, >=, crate::state::Tm::Le, true)
                    }
                    Op::Test { a, k: kk } => cond_jump!(reg!(a).truthy(), kk),
                    Op::TestSet { a, b, k: kk } => {
                        let v = reg!(b);
                        let t = v.truthy();
                        if t == kk {
                            w!(a) = v;
                        }
                        cond_jump!(t, kk);
                    }
                    Op::Call { a, b, c } => {
                        let func = base + a as usize;
                        if b != 0 {
                            self.th.top = func + b as usize;
                        }
                        savepc!();
                        // The common case inline: a Lua function with fixed
                        // parameters.
                        if let Value::LuaFn(callee) = reg!(a) {
                            // SAFETY: a function in a register is live.
                            let shape = unsafe { self.frame_shape(callee) };
                            if !shape.vararg {
                                self.push_fixed_frame(func, callee, shape, c as i32 - 1)?;
                                // The frame `precall` just pushed, not read back.
                                enter_frame!(fi + 1, func + 1, 0, shape.addr, shape.upvals);
                                continue;
                            }
                        }
                        if self.precall(func, c as i32 - 1)? {
                            // A fresh Lua frame (flags clear) right above.
                            let callee = *self.th.frames.last().expect("pushed frame");
                            enter!(fi + 1, callee);
                            continue;
                        }
                        if !self.run_native_inline()? {
                            continue 'newframe;
                        }
                        sync!();
                    }
                    Op::TailCall { a, b } => {
                        let func = base + a as usize;
                        if b != 0 {
                            self.th.top = func + b as usize;
                        }
                        savepc!();
                        if self.tail_call(base, func)? {
                            continue 'newframe;
                        }
                        sync!();
                    }
                    Op::Return { a, b } => {
                        let first = base + a as usize;
                        let n = if b == 0 {
                            self.th.top - first
                        } else {
                            b as usize - 1
                        };
                        savepc!();
                        if self.has_closables(base)
                            && !self.close_before_return(fi, base, first, n)?
                        {
                            continue 'newframe;
                        }
                        self.postcall(first, n);
                        continue 'newframe;
                    }
                    Op::Return0 {} => {
                        // RETURN0 and RETURN1 come only from functions with
                        // no captured local and no to-be-closed variable
                        // (`FuncState::finish`): nothing to close, as in
                        // PUC Lua.
                        debug_assert!(!self.has_closables(base));
                        if let [.., caller, ci] = &self.th.frames[..] {
                            if ci.nresults == 0 && caller.is_lua() {
                                let (top, caller) = (ci.func.max(caller.top), *caller);
                                self.th.frames.pop();
                                self.th.top = top;
                                if caller.flags & FINISH_OP == 0 && fi > self.exec_floor {
                                    enter!(fi - 1, caller);
                                    continue;
                                }
                                flush!();
                                continue 'newframe;
                            }
                        }
                        self.postcall(base, 0);
                        flush!();
                        continue 'newframe;
                    }
                    Op::Return1 { a } => {
                        debug_assert!(!self.has_closables(base));
                        // The common case, one result into a Lua caller that
                        // wants one: `postcall` reduced to a move.
                        if let [.., caller, ci] = &self.th.frames[..] {
                            if ci.nresults == 1 && caller.is_lua() {
                                let (func, caller) = (ci.func, *caller);
                                let v = reg!(a);
                                // SAFETY: a frame's function slot is below
                                // its registers, which the stack holds.
                                unsafe {
                                    debug_assert!(func < base);
                                    *self.th.stack.get_unchecked_mut(func) = v;
                                }
                                self.th.frames.pop();
                                self.th.top = (func + 1).max(caller.top);
                                if caller.flags & FINISH_OP == 0 && fi > self.exec_floor {
                                    enter!(fi - 1, caller);
                                    continue;
                                }
                                flush!();
                                continue 'newframe;
                            }
                        }
                        self.postcall(base + a as usize, 1);
                        flush!();
                        continue 'newframe;
                    }
                    Op::ForLoop { a, bx } => {
                        let a = a as usize;
                        match (&reg!(a), &reg!(a + 2)) {
                            (&Value::Int(i), &Value::Int(step)) => {
                                let Value::Int(count) = reg!(a + 1) else {
                                    unreachable!()
                                };
                                if count as u64 > 0 {
                                    w!(a + 1) = Value::Int((count as u64 - 1) as i64);
                                    let i = i.wrapping_add(step);
                                    w!(a) = Value::Int(i);
                                    w!(a + 3) = Value::Int(i);
                                    pc -= bx as usize;
                                }
                            }
                            (&Value::Num(i), &Value::Num(step)) => {
                                let Value::Num(limit) = reg!(a + 1) else {
                                    unreachable!()
                                };
                                let i = i + step;
                                if if step > 0.0 { i <= limit } else { limit <= i } {
                                    w!(a) = Value::Num(i);
                                    w!(a + 3) = Value::Num(i);
                                    pc -= bx as usize;
                                }
                            }
                            _ => unreachable!("FORLOOP on unprepared registers"),
                        }
                    }
                    Op::ForPrep { a, bx } => {
                        let a = a as usize;
                        // The common loop inline: integer bounds, step 1
                        // (the iteration count is `limit - init`).
                        if let (Value::Int(init), Value::Int(limit), Value::Int(1)) =
                            (reg!(a), reg!(a + 1), reg!(a + 2))
                        {
                            if init > limit {
                                pc += bx as usize;
                            } else {
                                w!(a + 1) = Value::Int(limit.wrapping_sub(init));
                                w!(a + 3) = Value::Int(init);
                            }
                        } else {
                            savepc!();
                            if self.for_prep(base + a)? {
                                pc += bx as usize;
                            }
                        }
                    }
                    Op::TForPrep { a, bx } => {
                        savepc!();
                        self.mark_tbc(base + a as usize + 3)?;
                        sync!();
                        pc += bx as usize;
                    }
                    Op::TForCall { a, c } => {
                        let ra = a as usize;
                        for i in 0..3 {
                            w!(ra + 4 + i) = reg!(ra + i);
                        }
                        let ra = base + ra;
                        self.th.top = ra + 7;
                        savepc!();
                        if self.precall(ra + 4, c as i32)? {
                            continue 'newframe;
                        }
                        if !self.run_native_inline()? {
                            continue 'newframe;
                        }
                        sync!();
                    }
                    Op::TForLoop { a, bx } => {
                        let v = reg!(a as usize + 4);
                        if !v.is_nil() {
                            w!(a as usize + 2) = v;
                            pc -= bx as usize;
                        }
                    }
                    Op::SetList { a, b, c } => slow!(self.set_list(fi, base + a as usize, b, c)),
                    Op::Closure { a, bx } => {
                        savepc!();
                        self.closure_op(fi, base, a, &proto.protos[bx as usize])?;
                        sync!();
                    }
                    Op::VarArg { a, c } => {
                        flush!();
                        self.vararg(fi, base + a as usize, c);
                        sync!();
                    }
                    Op::VarArgPrep { .. } => {}
                }
            }
        }
    }

    /// Whether `regs` is the register window of frame `fi` (based at
    /// `base`) and register `r` is one of the frame's: the interpreter's
    /// discipline for its unchecked register accesses.
    fn regs_valid(&self, regs: *mut Value, base: usize, r: usize, fi: usize) -> bool {
        let ci = &self.th.frames[fi];
        std::ptr::eq(regs, self.th.stack.as_ptr().wrapping_add(base))
            && ci.base == base
            && base + r < ci.top
            && ci.top <= self.th.stack.len()
    }

    /// Before a return of `n` values from slot `first`: closes the frame's
    /// upvalues and runs its next pending `__close`. False when a `__close`
    /// call was started (the return instruction runs again afterwards).
    #[cold]
    #[inline(never)]
    fn close_before_return(
        &mut self,
        fi: usize,
        base: usize,
        first: usize,
        n: usize,
    ) -> LuaResult<bool> {
        self.th.frames[fi].aux = n as u32;
        self.th.top = first + n;
        self.close_frame_vars(fi, base)
    }

    /// `NEWTABLE` into slot `ra`, then a collector safe point.
    #[inline(never)]
    fn new_table_op(&mut self, ra: usize, hash: u16, array: u32) -> LuaResult<()> {
        let t = self
            .heap
            .new_table(Table::with_capacity(array as usize, hash as usize));
        self.th.stack[ra] = Value::Table(t);
        self.gc_safe_point(ra + 1)
    }

    /// `CLOSURE` of prototype `p` into register `a`, then a collector safe
    /// point.
    #[inline(never)]
    fn closure_op(&mut self, fi: usize, base: usize, a: u8, p: &Arc<Proto>) -> LuaResult<()> {
        let FrameKind::Lua(parent) = self.th.frames[fi].kind else {
            unreachable!("CLOSURE in a native frame")
        };
        let f = self.make_closure(parent, base, p.clone());
        let ra = base + a as usize;
        self.th.stack[ra] = Value::LuaFn(f);
        self.gc_safe_point(ra + 1)
    }

    /// `TAILCALL` of the function at slot `func` from the frame whose
    /// registers start at `base`. True when the interpreter must go on with
    /// the top frame (`continue 'newframe`), false for the next instruction.
    #[inline(never)]
    fn tail_call(&mut self, base: usize, func: usize) -> LuaResult<bool> {
        // A callable object's `__call` handler is the function tail-called
        // (`luaD_pretailcall`'s `tryfuncTM`); the common case, a Lua
        // function, is decided here without the call.
        let lua = matches!(self.th.stack[func], Value::LuaFn(_))
            || matches!(self.resolve_call(func)?, Value::LuaFn(_));
        if !lua {
            // Natives are called as PUC Lua does: above this frame, which
            // stays for their error positions; the RETURN that follows
            // every TAILCALL returns their results.
            self.precall(func, crate::state::MULTRET)?;
            self.hook_tail_return(self.th.frames.len() - 2);
            return Ok(!self.run_native_inline()?);
        }
        self.close_upvals(base);
        let ci = self.th.frames.pop().expect("frame");
        let n = self.th.top - func;
        self.th.stack.copy_within(func..func + n, ci.func);
        self.th.top = ci.func + n;
        self.precall(ci.func, ci.nresults)?;
        let callee = self.th.frames.last_mut().expect("pushed frame");
        callee.flags |= crate::state::TAIL;
        Ok(true)
    }

    /// `SETLIST`: stores `n` values above table `R[A]` (at slot `ra`).
    #[inline(never)]
    fn set_list(&mut self, fi: usize, ra: usize, b: u8, c: u32) -> LuaResult<Option<()>> {
        let n = if b == 0 {
            self.th.top - ra - 1
        } else {
            b as usize
        };
        let Value::Table(t) = self.th.stack[ra] else {
            unreachable!("SETLIST on a non-table")
        };
        // A constructor's flushes are paid by its instructions; a list of
        // many values (`{...}`, `{f()}`) pays for the rest.
        if n > SETLIST_FREE {
            self.charge((n - SETLIST_FREE) as u64)?;
        }
        let (stack, tables) = (&self.th.stack, &mut self.heap.tables);
        let tab = &mut tables[t];
        tab.grow_array(c as usize + n);
        for i in 1..=n {
            tab.set_int(c as i64 + i as i64, stack[ra + i]);
        }
        let grown = tab.take_growth();
        self.heap.table_grew(grown);
        if b == 0 {
            self.th.top = self.th.frames[fi].top;
        }
        if self.heap.over_limit(0) {
            self.memory_breach()?;
        }
        Ok(Some(()))
    }

    /// `VARARG`: copies the frame's extra arguments to slot `ra` and up;
    /// many of them are paid for as they are copied.
    #[inline(never)]
    fn vararg(&mut self, fi: usize, ra: usize, c: u8) {
        let ci = self.th.frames[fi];
        let nvar = ci.nvarargs as usize;
        let from = ci.base - 1 - nvar;
        if c == 0 {
            let len = self.th.stack.len();
            self.th.ensure(ra + nvar + crate::state::EXTRA_STACK);
            if self.th.stack.len() != len {
                self.note_stack_growth();
            }
            self.spend_moves(nvar);
            self.th.stack.copy_within(from..from + nvar, ra);
            self.th.top = ra + nvar;
        } else {
            for i in 0..c as usize - 1 {
                self.th.stack[ra + i] = if i < nvar {
                    self.th.stack[from + i]
                } else {
                    Value::Nil
                };
            }
        }
    }

    /// Runs the native frame `precall` just pushed. True when it returned at
    /// once (its results are in place and the calling frame goes on); false
    /// when its step pushed other frames for the driver or the loop to run.
    #[inline(never)]
    fn run_native_inline(&mut self) -> LuaResult<bool> {
        let Some(&crate::state::CallInfo {
            kind: FrameKind::Native(n),
            ..
        }) = self.th.frames.last()
        else {
            unreachable!("run_native_inline without a native frame")
        };
        // SAFETY: `n` is the native of the frame on top.
        let Some(step) = (unsafe { self.start_native(n) }) else {
            return Ok(false);
        };
        match step? {
            Step::Return(n) => {
                if !self.return_native(n)? {
                    return Ok(false);
                }
                // A safe point: natives allocate (strings, tables) and a
                // loop of native calls may hold no other one.
                self.gc_safe_point(self.th.top)?;
                Ok(true)
            }
            step => {
                self.apply_step(step)?;
                Ok(false)
            }
        }
    }

    /// Reads upvalue cell `uv`.
    ///
    /// # Safety
    /// `uv` must be live: one of a running closure's upvalue handles.
    #[inline(always)]
    pub(crate) unsafe fn upval_get(&self, uv: UpvalRef) -> Value {
        // SAFETY: the caller guarantees that `uv` is live.
        match *unsafe { crate::raw::live(&self.heap.upvals, uv) } {
            Upval::Closed(v) => v,
            Upval::Open { thread, slot } => {
                // SAFETY: a live open cell's thread is live (the collector
                // marks it), and its slot was on that thread's stack when
                // the cell opened; stacks never shrink.
                let stack = if thread == self.cur {
                    &self.th.stack
                } else {
                    &unsafe { crate::raw::live(&self.heap.threads, thread).idle_unchecked() }.stack
                };
                debug_assert!(slot < stack.len(), "an open upvalue beyond its stack");
                *unsafe { stack.get_unchecked(slot) }
            }
        }
    }

    /// Writes upvalue cell `uv`.
    ///
    /// # Safety
    /// As for `upval_get`.
    #[inline]
    pub(crate) unsafe fn upval_set(&mut self, uv: UpvalRef, v: Value) {
        // SAFETY: the caller guarantees that `uv` is live.
        let cell = unsafe { crate::raw::live_mut(&mut self.heap.upvals, uv) };
        match *cell {
            Upval::Closed(_) => *cell = Upval::Closed(v),
            Upval::Open { thread, slot } => {
                // SAFETY: as in `upval_get`.
                let stack = if thread == self.cur {
                    &mut self.th.stack
                } else {
                    &mut unsafe {
                        crate::raw::live_mut(&mut self.heap.threads, thread).idle_unchecked_mut()
                    }
                    .stack
                };
                debug_assert!(slot < stack.len(), "an open upvalue beyond its stack");
                *unsafe { stack.get_unchecked_mut(slot) } = v;
            }
        }
    }

    /// The open upvalue for stack slot `slot` of the running thread,
    /// created if needed (`luaF_findupval`).
    #[inline(never)]
    pub(crate) fn find_upval(&mut self, slot: usize) -> UpvalRef {
        let list = &self.th.open_upvals;
        match list.binary_search_by_key(&slot, |&(s, _)| s) {
            Ok(i) => list[i].1,
            Err(i) => {
                let uv = self.heap.new_upval(Upval::Open {
                    thread: self.cur,
                    slot,
                });
                self.th.open_upvals.insert(i, (slot, uv));
                uv
            }
        }
    }

    #[inline(never)]
    fn make_closure(&mut self, parent: LuaFnRef, base: usize, proto: Arc<Proto>) -> LuaFnRef {
        let mut upvals = Vec::with_capacity(proto.upvalues.len());
        for d in &proto.upvalues {
            let uv = if d.in_stack {
                self.find_upval(base + d.index as usize)
            } else {
                self.heap.lfns[parent].upvals[d.index as usize]
            };
            upvals.push(uv);
        }
        self.heap.new_lua_closure(LuaClosure {
            proto,
            upvals: upvals.into_boxed_slice(),
        })
    }

    /// `t[i] = v` when no metamethod can be involved (`luaV_fastseti`);
    /// false means the slow path must decide.
    ///
    /// # Safety
    /// `t` must be live: read from a register or an upvalue.
    #[inline(always)]
    unsafe fn fast_set_int(&mut self, t: crate::value::TableRef, i: i64, v: Value) -> bool {
        // SAFETY: the caller guarantees that `t` is live.
        let tab = unsafe { crate::raw::live_mut(&mut self.heap.tables, t) };
        let no_meta = tab.metatable.is_none();
        // A store into the array part, inline: it cannot grow the table.
        if let Some(slot) = tab.array_slot_mut(i) {
            if no_meta || !slot.is_nil() {
                *slot = v;
                return true;
            }
            return false;
        }
        match set_int_outside_array(tab, i, v) {
            Some(grown) => !grown.any() || self.fast_store_grew(grown),
            None => false,
        }
    }

    /// `t.s = v` when no metamethod can be involved; false means the slow
    /// path must decide.
    ///
    /// # Safety
    /// As for `fast_set_int`.
    #[inline]
    unsafe fn fast_set_str(
        &mut self,
        t: crate::value::TableRef,
        s: crate::value::StrRef,
        v: Value,
    ) -> bool {
        // SAFETY: the caller guarantees that `t` is live.
        let tab = unsafe { crate::raw::live_mut(&mut self.heap.tables, t) };
        if tab.metatable.is_some() && tab.get_str(s).is_nil() {
            return false;
        }
        tab.set_str(s, v);
        if !tab.grew() {
            return true;
        }
        let grown = tab.take_growth();
        self.fast_store_grew(grown)
    }

    /// Accounts for a table's growth by a fast store; false when the heap
    /// is past its limit (the value is stored: the slow path stores it
    /// again and checks the limit) or the allocator refused the room (not
    /// stored: the slow path's store fails the same way).
    #[cold]
    #[inline(never)]
    fn fast_store_grew(&mut self, grown: crate::table::Growth) -> bool {
        !self.heap.table_grew(grown) || !self.heap.over_limit(0)
    }

    /// Whether the frame with registers from `base` has open upvalues or
    /// pending to-be-closed variables.
    #[inline]
    fn has_closables(&self, base: usize) -> bool {
        self.th.open_upvals.last().is_some_and(|&(s, _)| s >= base)
            || self.th.tbc.last().is_some_and(|&s| s >= base)
    }

    /// A collector safe point: all live values are on stacks, those of the
    /// running frame below `live_top` (registers above the instruction's
    /// target are free).
    #[inline]
    pub(crate) fn gc_safe_point(&mut self, live_top: usize) -> LuaResult<()> {
        if self.heap.debt >= self.gc.threshold {
            return self.collect_at_safe_point(live_top);
        }
        Ok(())
    }

    /// Collects, then raises "not enough memory" if the heap is still past
    /// its limit (`Vm::make_room`). A stopped collector only watches the
    /// allocator's room, but still collects past the limit or when the
    /// room is refused (PUC Lua's emergency collection): otherwise the
    /// error would be raised again at every safe point, the one after a
    /// `pcall` catches it too.
    #[cold]
    #[inline(never)]
    fn collect_at_safe_point(&mut self, live_top: usize) -> LuaResult<()> {
        if !self.gc.running && !self.heap.over_limit(0) {
            self.watch_stopped_heap();
            if !self.heap.over_limit(0) {
                return Ok(());
            }
        }
        let top = self.th.top;
        self.th.top = live_top;
        let room = if self.heap.over_limit(0) {
            self.make_room(0)
        } else {
            self.full_gc();
            // The collection's own headroom probe may refuse the room.
            if self.heap.over_limit(0) {
                Err(self.collection_failed())
            } else {
                Ok(())
            }
        };
        self.th.top = top;
        room
    }

    /// `FORPREP` (`forprep` in lvm.c); returns true when the loop must be
    /// skipped.
    #[inline(never)]
    fn for_prep(&mut self, ra: usize) -> LuaResult<bool> {
        let st = &self.th.stack;
        let (init, limit, step) = (st[ra], st[ra + 1], st[ra + 2]);
        if let (Value::Int(i), Value::Int(s)) = (init, step) {
            if s == 0 {
                return Err(self.rt_error("'for' step is zero"));
            }
            let Some(lim) = self.for_limit(i, limit, s)? else {
                return Ok(true);
            };
            let count = if s > 0 {
                let c = (lim as u64).wrapping_sub(i as u64);
                if s != 1 {
                    c / (s as u64)
                } else {
                    c
                }
            } else {
                let c = (i as u64).wrapping_sub(lim as u64);
                c / ((-(s + 1)) as u64 + 1)
            };
            let st = &mut self.th.stack;
            st[ra + 1] = Value::Int(count as i64);
            st[ra + 3] = Value::Int(i);
            return Ok(false);
        }
        let lim = self.for_num(limit, "limit")?;
        let s = self.for_num(step, "step")?;
        let i = self.for_num(init, "initial value")?;
        if s == 0.0 {
            return Err(self.rt_error("'for' step is zero"));
        }
        if if s > 0.0 { lim < i } else { i < lim } {
            return Ok(true);
        }
        let st = &mut self.th.stack;
        st[ra] = Value::Num(i);
        st[ra + 1] = Value::Num(lim);
        st[ra + 2] = Value::Num(s);
        st[ra + 3] = Value::Num(i);
        Ok(false)
    }

    /// The integer limit of an integer loop (`forlimit`); `None` when the
    /// loop must not run.
    fn for_limit(&mut self, init: i64, limit: Value, step: i64) -> LuaResult<Option<i64>> {
        let lim = match self.to_number(limit) {
            Some(Value::Int(l)) => l,
            Some(Value::Num(f)) => {
                let conv = if step < 0 {
                    number::float_ceil_to_int(f)
                } else {
                    number::float_floor_to_int(f)
                };
                match conv {
                    Some(l) => l,
                    None if f.is_nan() => return Ok(None),
                    None if f > 0.0 => {
                        if step < 0 {
                            return Ok(None);
                        }
                        i64::MAX
                    }
                    None => {
                        if step > 0 {
                            return Ok(None);
                        }
                        i64::MIN
                    }
                }
            }
            _ => return Err(self.for_error(limit, "limit")),
        };
        let skip = if step > 0 { init > lim } else { init < lim };
        Ok(if skip { None } else { Some(lim) })
    }

    fn for_num(&mut self, v: Value, what: &str) -> LuaResult<f64> {
        match self.to_number(v) {
            Some(Value::Int(i)) => Ok(i as f64),
            Some(Value::Num(f)) => Ok(f),
            _ => Err(self.for_error(v, what)),
        }
    }

    fn for_error(&mut self, v: Value, what: &str) -> crate::error::LuaError {
        let tn = self.type_name_of(v);
        self.rt_error(&format!("bad 'for' {what} (number expected, got {tn})"))
    }

    /// A number, or a string convertible to one (`tonumber` in lvm.h).
    pub(crate) fn to_number(&self, v: Value) -> Option<Value> {
        match v {
            Value::Int(_) | Value::Num(_) => Some(v),
            Value::Str(s) => number::str_to_number(self.heap.str_bytes(s)),
            _ => None,
        }
    }
}

/// `Vm::fast_set_int` for a key outside the array part: the bytes the
/// table grew by, or `None` when a `__newindex` may apply.
#[inline(never)]
fn set_int_outside_array(tab: &mut Table, i: i64, v: Value) -> Option<crate::table::Growth> {
    if tab.metatable.is_some() && tab.get_int(i).is_nil() {
        return None;
    }
    tab.set_int(i, v);
    Some(tab.take_growth())
}
