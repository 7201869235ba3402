//! The interpreter's slow paths (`lvm.c`'s `luaV_finishget`,
//! `luaV_finishset`, `luaV_concat`, `luaV_equalobj`, `luaV_lessthan`;
//! `ltm.c`'s `luaT_trybinTM`): type coercions, metamethod dispatch and
//! error messages, plus `finish_op` (`luaV_finishOp`).
//!
//! Every function returning `LuaResult<Option<Value>>` answers `None` when
//! it started a metamethod call instead of producing a value: the frame is
//! then flagged `FINISH_OP` and `finish_op` completes the instruction.

use crate::error::{LuaError, LuaResult};
use crate::number::{self, ArithOp};
use crate::opcodes::Op;
use crate::state::{FrameKind, Tm, Vm, FINISH_OP};
use crate::value::Value;

/// The operator of a binary arithmetic or bitwise instruction.
fn arith_op_of(ins: Op) -> ArithOp {
    match ins {
        Op::Add { .. } | Op::AddK { .. } | Op::AddI { .. } | Op::AddKL { .. } => ArithOp::Add,
        Op::Sub { .. } | Op::SubK { .. } | Op::SubI { .. } => ArithOp::Sub,
        Op::Mul { .. } | Op::MulK { .. } | Op::MulKL { .. } => ArithOp::Mul,
        Op::Mod { .. } | Op::ModK { .. } => ArithOp::Mod,
        Op::Pow { .. } | Op::PowK { .. } => ArithOp::Pow,
        Op::Div { .. } | Op::DivK { .. } => ArithOp::Div,
        Op::IDiv { .. } | Op::IDivK { .. } => ArithOp::IDiv,
        Op::BAnd { .. } | Op::BAndK { .. } => ArithOp::BAnd,
        Op::BOr { .. } | Op::BOrK { .. } => ArithOp::BOr,
        Op::BXor { .. } | Op::BXorK { .. } => ArithOp::BXor,
        Op::Shl { .. } | Op::ShlI { .. } => ArithOp::Shl,
        _ => ArithOp::Shr,
    }
}

/// Where an indexing operation leads (see `Vm::index_target`).
pub(crate) enum IndexTarget {
    /// The result: a raw hit, or nil when no metamethod applies.
    Value(Value),
    /// Call this `__index` function with the object reached and the key.
    Call(Value, Value),
    /// This object, reached after this many `__index` steps, cannot be
    /// indexed.
    NotIndexable(Value, usize),
    /// The chain is longer than `MAX_TAG_LOOP`.
    TooLong,
}

/// The error for an `__index` chain longer than `MAX_TAG_LOOP`.
pub(crate) const INDEX_LOOP: &str = "'__index' chain too long; possible loop";

/// Where an assignment `t[k] = v` leads (see `Vm::newindex_target`).
pub(crate) enum NewIndexTarget {
    /// Stored in a table raw.
    Stored,
    /// Call this `__newindex` function with the object reached, the key
    /// and the value.
    Call(Value, Value),
    /// This object, reached after this many `__newindex` steps, cannot be
    /// indexed.
    NotIndexable(Value, usize),
    /// The chain is longer than `MAX_TAG_LOOP`.
    TooLong,
}

/// The error for a `__newindex` chain longer than `MAX_TAG_LOOP`.
pub(crate) const NEWINDEX_LOOP: &str = "'__newindex' chain too long; possible loop";

/// Longest `__index`/`__newindex` chain followed (`MAXTAGLOOP`).
const MAX_TAG_LOOP: usize = 2000;

/// Where an operand of the failing instruction came from, for error
/// messages that name variables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Src {
    Reg(u8),
    Upval(u8),
    Const(u32),
    Imm,
}

fn is_callable(v: Value) -> bool {
    matches!(v, Value::LuaFn(_) | Value::Native(_))
}

fn is_strnum(v: Value) -> bool {
    matches!(v, Value::Str(_) | Value::Int(_) | Value::Num(_))
}

fn is_number(v: Value) -> bool {
    matches!(v, Value::Int(_) | Value::Num(_))
}

impl Vm {
    /// Starts a call of metamethod `h` with `args` from Lua frame `fi`
    /// (placed above everything on the stack; one result).
    #[inline(never)]
    fn call_meta(&mut self, fi: usize, h: Value, args: &[Value]) -> LuaResult<()> {
        let top = self.th.frames[fi].top;
        let at = self.th.top.max(top);
        self.th.top = at;
        self.th.push(h);
        for &a in args {
            self.th.push(a);
        }
        self.th.frames[fi].flags |= FINISH_OP;
        self.precall(at, 1)?;
        Ok(())
    }

    /// Arithmetic and bitwise operators on anything but two numbers of the
    /// same kind.
    #[cold]
    pub(crate) fn arith_slow(
        &mut self,
        fi: usize,
        op: ArithOp,
        x: Value,
        y: Value,
        sx: Src,
        sy: Src,
    ) -> LuaResult<Option<Value>> {
        let bitwise = matches!(
            op,
            ArithOp::BAnd
                | ArithOp::BOr
                | ArithOp::BXor
                | ArithOp::Shl
                | ArithOp::Shr
                | ArithOp::BNot
        );
        // Lua 5.4 converts no string here: numeric strings take part in
        // arithmetic through the string metatable's metamethods.
        let (nx, ny) = (
            Some(x).filter(|v| is_number(*v)),
            Some(y).filter(|v| is_number(*v)),
        );
        if let (Some(a), Some(b)) = (nx, ny) {
            match number::arith(op, a, b) {
                Some(Ok(v)) => return Ok(Some(v)),
                Some(Err(number::ArithError::NoIntegerRep)) => {
                    // `luaG_tointerror`: name the operand that is not integral.
                    let src = if number::tointeger(a).is_none() {
                        sx
                    } else {
                        sy
                    };
                    let info = self.varinfo(fi, src);
                    return Err(
                        self.rt_error(&format!("number{info} has no integer representation"))
                    );
                }
                Some(Err(e)) => return Err(self.rt_error(e.message())),
                None => {}
            }
        }
        let ev = Tm::from_arith(op);
        let mut h = self.tm_of_value(x, ev);
        if h.is_nil() {
            h = self.tm_of_value(y, ev);
        }
        if !h.is_nil() {
            self.call_meta(fi, h, &[x, y])?;
            return Ok(None);
        }
        if bitwise {
            if is_number(x) && is_number(y) {
                return Err(self.rt_error("number has no integer representation"));
            }
            let (bad, src) = if is_number(x) { (y, sy) } else { (x, sx) };
            return Err(self.type_error(fi, bad, src, "perform bitwise operation on"));
        }
        let (bad, src) = if nx.is_some() { (y, sy) } else { (x, sx) };
        Err(self.type_error(fi, bad, src, "perform arithmetic on"))
    }

    /// The slow path of an arithmetic or bitwise instruction of Lua frame
    /// `fi`, decoding its operands itself so that the interpreter's fast
    /// paths stay small (see `arith_slow`).
    #[cold]
    #[inline(never)]
    pub(crate) fn arith_fallback(&mut self, fi: usize, ins: Op) -> LuaResult<Option<Value>> {
        use ArithOp as A;
        let ci = self.th.frames[fi];
        let FrameKind::Lua(cl) = ci.kind else {
            unreachable!("arithmetic in a native frame")
        };
        let r = |vm: &Vm, x: u8| vm.th.stack[ci.base + x as usize];
        let k = |vm: &Vm, c: u32| vm.heap.lfns[cl].proto.consts[c as usize];
        let (op, x, y, sx, sy) = match ins {
            Op::AddI { b, sc, .. } => (
                A::Add,
                r(self, b),
                Value::Int(sc.into()),
                Src::Reg(b),
                Src::Imm,
            ),
            Op::SubI { b, sc, .. } => (
                A::Sub,
                r(self, b),
                Value::Int(-i64::from(sc)),
                Src::Reg(b),
                Src::Imm,
            ),
            Op::ShrI { b, sc, .. } => (
                A::Shr,
                r(self, b),
                Value::Int(sc.into()),
                Src::Reg(b),
                Src::Imm,
            ),
            Op::ShlI { b, sc, .. } => (
                A::Shl,
                Value::Int(sc.into()),
                r(self, b),
                Src::Imm,
                Src::Reg(b),
            ),
            Op::AddKL { b, c, .. } => (A::Add, k(self, c), r(self, b), Src::Const(c), Src::Reg(b)),
            Op::MulKL { b, c, .. } => (A::Mul, k(self, c), r(self, b), Src::Const(c), Src::Reg(b)),
            Op::AddK { b, c, .. }
            | Op::SubK { b, c, .. }
            | Op::MulK { b, c, .. }
            | Op::ModK { b, c, .. }
            | Op::PowK { b, c, .. }
            | Op::DivK { b, c, .. }
            | Op::IDivK { b, c, .. }
            | Op::BAndK { b, c, .. }
            | Op::BOrK { b, c, .. }
            | Op::BXorK { b, c, .. } => (
                arith_op_of(ins),
                r(self, b),
                k(self, c),
                Src::Reg(b),
                Src::Const(c),
            ),
            Op::Add { b, c, .. }
            | Op::Sub { b, c, .. }
            | Op::Mul { b, c, .. }
            | Op::Mod { b, c, .. }
            | Op::Pow { b, c, .. }
            | Op::Div { b, c, .. }
            | Op::IDiv { b, c, .. }
            | Op::BAnd { b, c, .. }
            | Op::BOr { b, c, .. }
            | Op::BXor { b, c, .. }
            | Op::Shl { b, c, .. }
            | Op::Shr { b, c, .. } => (
                arith_op_of(ins),
                r(self, b),
                r(self, c),
                Src::Reg(b),
                Src::Reg(c),
            ),
            _ => unreachable!("arith_fallback on {}", ins.name()),
        };
        self.arith_slow(fi, op, x, y, sx, sy)
    }

    /// `t[key]` when the raw lookup missed or `t` is not a table.
    #[cold]
    pub(crate) fn index_slow(
        &mut self,
        fi: usize,
        t: Value,
        key: Value,
        src: Src,
    ) -> LuaResult<Option<Value>> {
        match self.index_target(t, key)? {
            IndexTarget::Value(v) => Ok(Some(v)),
            IndexTarget::Call(h, obj) => {
                self.call_meta(fi, h, &[obj, key])?;
                Ok(None)
            }
            IndexTarget::NotIndexable(obj, depth) => {
                Err(self.index_error(fi, obj, (depth == 0).then_some(src)))
            }
            IndexTarget::TooLong => Err(self.rt_error(INDEX_LOOP)),
        }
    }

    /// Follows `t[key]` through `__index` tables (`luaV_finishget`'s loop),
    /// for the interpreter and for `Vm::index`, which differ only in how
    /// they call an `__index` function and word their errors.
    ///
    /// # Errors
    /// A lazy global's making failed (`lazy.rs`).
    pub(crate) fn index_target(&mut self, t: Value, key: Value) -> LuaResult<IndexTarget> {
        let mut t = t;
        for depth in 0..MAX_TAG_LOOP {
            let h = match t {
                Value::Table(tr) => {
                    let v = self.heap.tables[tr].get(key);
                    if !v.is_nil() {
                        return Ok(IndexTarget::Value(v));
                    }
                    let Some(mt) = self.heap.tables[tr].metatable else {
                        return Ok(IndexTarget::Value(Value::Nil));
                    };
                    if self.is_sentinel(mt) {
                        if self.materialize(tr, key)? {
                            return Ok(IndexTarget::Value(self.heap.tables[tr].get(key)));
                        }
                        return Ok(IndexTarget::Value(Value::Nil));
                    }
                    let h = self.tm_of(mt, Tm::Index);
                    if h.is_nil() {
                        return Ok(IndexTarget::Value(Value::Nil));
                    }
                    h
                }
                _ => {
                    let h = self.tm_of_value(t, Tm::Index);
                    if h.is_nil() {
                        return Ok(IndexTarget::NotIndexable(t, depth));
                    }
                    h
                }
            };
            if is_callable(h) {
                return Ok(IndexTarget::Call(h, t));
            }
            self.spend_hop(depth);
            t = h;
        }
        Ok(IndexTarget::TooLong)
    }

    /// Pays for following a chain of `__index`/`__newindex` tables: a
    /// unit every eight hops (one lookup each), so that a loop of lookups
    /// through long chains is bounded by the budget like the instructions
    /// it stands for.
    #[inline(always)]
    fn spend_hop(&mut self, depth: usize) {
        if depth % 8 == 7 {
            self.spend(1);
        }
    }

    /// `t[key] = v` when the raw store is not possible.
    #[cold]
    pub(crate) fn newindex_slow(
        &mut self,
        fi: usize,
        t: Value,
        key: Value,
        v: Value,
        src: Src,
    ) -> LuaResult<Option<Value>> {
        match self.newindex_target(t, key, v)? {
            NewIndexTarget::Stored => {
                // The fast paths send a store that grew a table past the
                // memory limit here, where a collection is safe.
                if self.heap.over_limit(0) {
                    self.memory_breach()?;
                }
                Ok(Some(Value::Nil))
            }
            NewIndexTarget::Call(h, obj) => {
                self.call_meta(fi, h, &[obj, key, v])?;
                Ok(None)
            }
            NewIndexTarget::NotIndexable(obj, depth) => {
                Err(self.index_error(fi, obj, (depth == 0).then_some(src)))
            }
            NewIndexTarget::TooLong => Err(self.rt_error(NEWINDEX_LOOP)),
        }
    }

    /// Follows `t[key] = v` through `__newindex` tables (`luaV_finishset`'s
    /// loop), storing it where no metamethod intervenes: shared by the
    /// interpreter and `Vm::set_index`.
    pub(crate) fn newindex_target(
        &mut self,
        t: Value,
        key: Value,
        v: Value,
    ) -> LuaResult<NewIndexTarget> {
        let mut t = t;
        for depth in 0..MAX_TAG_LOOP {
            let h = match t {
                Value::Table(tr) => {
                    let tab = &self.heap.tables[tr];
                    let mt = tab.metatable;
                    let h = match mt {
                        Some(mt) if self.is_sentinel(mt) => {
                            if tab.get(key).is_nil() {
                                self.lazy_write(tr, key)?;
                            }
                            Value::Nil
                        }
                        Some(mt) if tab.get(key).is_nil() => self.tm_of(mt, Tm::NewIndex),
                        _ => Value::Nil,
                    };
                    if h.is_nil() {
                        if let Err(e) = self.heap.tables[tr].set(key, v) {
                            return Err(self.rt_error(e.message()));
                        }
                        let grown = self.heap.tables[tr].take_growth();
                        self.heap.table_grew(grown);
                        return Ok(NewIndexTarget::Stored);
                    }
                    h
                }
                _ => {
                    let h = self.tm_of_value(t, Tm::NewIndex);
                    if h.is_nil() {
                        return Ok(NewIndexTarget::NotIndexable(t, depth));
                    }
                    h
                }
            };
            if is_callable(h) {
                return Ok(NewIndexTarget::Call(h, t));
            }
            self.spend_hop(depth);
            t = h;
        }
        Ok(NewIndexTarget::TooLong)
    }

    /// `<` and `<=` on anything but two numbers of the same kind.
    #[cold]
    pub(crate) fn compare_slow(
        &mut self,
        fi: usize,
        ev: Tm,
        x: Value,
        y: Value,
    ) -> LuaResult<Option<Value>> {
        if let Some(r) = self.raw_order(ev == Tm::Lt, x, y) {
            self.charge_order(x, y)?;
            return Ok(Some(Value::Bool(r)));
        }
        let h = self.order_handler(ev, x, y)?;
        self.call_meta(fi, h, &[x, y])?;
        Ok(None)
    }

    /// Charges the comparison of two long strings (the bytes of the
    /// shorter, scanned at worst).
    pub(crate) fn charge_order(&mut self, x: Value, y: Value) -> LuaResult<()> {
        if let (Value::Str(a), Value::Str(b)) = (x, y) {
            let n = self
                .heap
                .str_bytes(a)
                .len()
                .min(self.heap.str_bytes(b).len());
            if n >= 32 {
                self.charge((n / 32) as u64)?;
            }
        }
        Ok(())
    }

    /// `x < y` (`lt`) or `x <= y` between two numbers or two strings,
    /// without metamethods; `None` for other operands.
    pub(crate) fn raw_order(&self, lt: bool, x: Value, y: Value) -> Option<bool> {
        match (x, y) {
            (Value::Int(i), Value::Int(j)) => Some(if lt { i < j } else { i <= j }),
            (Value::Num(p), Value::Num(q)) => Some(if lt { p < q } else { p <= q }),
            (Value::Int(i), Value::Num(f)) => Some(if lt {
                number::int_lt_float(i, f)
            } else {
                number::int_le_float(i, f)
            }),
            (Value::Num(f), Value::Int(i)) => Some(if lt {
                number::float_lt_int(f, i)
            } else {
                number::float_le_int(f, i)
            }),
            (Value::Str(a), Value::Str(b)) => {
                let (a, b) = (self.heap.str_bytes(a), self.heap.str_bytes(b));
                Some(if lt { a < b } else { a <= b })
            }
            _ => None,
        }
    }

    /// The `__lt`/`__le` metamethod of either operand, or the "attempt to
    /// compare" error.
    pub(crate) fn order_handler(&mut self, ev: Tm, x: Value, y: Value) -> LuaResult<Value> {
        let mut h = self.tm_of_value(x, ev);
        if h.is_nil() {
            h = self.tm_of_value(y, ev);
        }
        if h.is_nil() {
            return Err(self.order_error(x, y));
        }
        Ok(h)
    }

    /// `==` between two different tables or userdata: `__eq`.
    #[cold]
    pub(crate) fn eq_slow(&mut self, fi: usize, x: Value, y: Value) -> LuaResult<Option<Value>> {
        let mut h = self.tm_of_value(x, Tm::Eq);
        if h.is_nil() {
            h = self.tm_of_value(y, Tm::Eq);
        }
        if h.is_nil() {
            return Ok(Some(Value::Bool(false)));
        }
        self.call_meta(fi, h, &[x, y])?;
        Ok(None)
    }

    /// The `#` operator.
    #[inline(never)]
    pub(crate) fn len_op(&mut self, fi: usize, x: Value, src: Src) -> LuaResult<Option<Value>> {
        match x {
            Value::Str(s) => return Ok(Some(Value::Int(self.heap.str_bytes(s).len() as i64))),
            Value::Table(t) => {
                let h = match self.heap.tables[t].metatable {
                    Some(mt) => self.tm_of(mt, Tm::Len),
                    None => Value::Nil,
                };
                if h.is_nil() {
                    return Ok(Some(Value::Int(self.heap.tables[t].len())));
                }
                self.call_meta(fi, h, &[x, x])?;
                return Ok(None);
            }
            _ => {}
        }
        let h = self.tm_of_value(x, Tm::Len);
        if h.is_nil() {
            return Err(self.type_error(fi, x, src, "get length of"));
        }
        self.call_meta(fi, h, &[x, x])?;
        Ok(None)
    }

    /// A buffer for the concatenation of the strings and numbers in
    /// `slots`, its size checked against the memory limit and reserved
    /// fallibly: "not enough memory" rather than an abort.
    fn concat_buffer(&mut self, slots: std::ops::Range<usize>) -> LuaResult<Vec<u8>> {
        let end = slots.end;
        // A number's text is at most 44 bytes (`%.14g` of a float).
        let len = slots.fold(0usize, |n, i| {
            n.saturating_add(match self.th.stack[i] {
                Value::Str(s) => self.heap.str_bytes(s).len(),
                _ => 44,
            })
        });
        if self.heap.over_limit(len) {
            // Operands are on the stack: a collection is safe here, with
            // the top above them.
            let top = self.th.top;
            self.th.top = top.max(end);
            let room = self.make_room(len);
            self.th.top = top;
            room?;
        }
        let mut buf = Vec::new();
        if buf.try_reserve_exact(len).is_err() {
            return Err(self.memory_error());
        }
        Ok(buf)
    }

    /// Concatenates stack slots `first..end` into `first`, right to left
    /// (`luaV_concat`); false when a `__concat` call was started (the
    /// remaining end is kept in the frame's `aux`).
    #[inline(never)]
    pub(crate) fn concat(&mut self, fi: usize, first: usize, mut end: usize) -> LuaResult<bool> {
        while end - first > 1 {
            let (x, y) = (self.th.stack[end - 2], self.th.stack[end - 1]);
            if is_strnum(x) && is_strnum(y) {
                let mut n = 2;
                while end - n > first && is_strnum(self.th.stack[end - n - 1]) {
                    n += 1;
                }
                let mut buf = self.concat_buffer(end - n..end)?;
                // One unit every 32 bytes copied, as natives pay.
                if buf.capacity() >= 32 {
                    self.charge((buf.capacity() / 32) as u64)?;
                }
                for i in end - n..end {
                    let v = self.th.stack[i];
                    self.append_strnum(v, &mut buf);
                }
                // The buffer becomes the string (no second copy, which
                // could fail where the buffer's room was checked).
                let s = self.heap.intern_vec(buf);
                self.th.stack[end - n] = Value::Str(s);
                end -= n - 1;
            } else {
                let mut h = self.tm_of_value(x, Tm::Concat);
                if h.is_nil() {
                    h = self.tm_of_value(y, Tm::Concat);
                }
                if h.is_nil() {
                    let (bad, pos) = if is_strnum(x) {
                        (y, end - 1)
                    } else {
                        (x, end - 2)
                    };
                    let base = self.th.frames[fi].base;
                    return Err(self.type_error(
                        fi,
                        bad,
                        Src::Reg((pos - base) as u8),
                        "concatenate",
                    ));
                }
                self.th.frames[fi].aux = end as u32;
                self.call_meta(fi, h, &[x, y])?;
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Appends a string or the decimal form of a number.
    pub(crate) fn append_strnum(&self, v: Value, buf: &mut Vec<u8>) {
        match v {
            Value::Str(s) => buf.extend_from_slice(self.heap.str_bytes(s)),
            Value::Int(i) => number::fmt_int(i, buf),
            Value::Num(f) => number::fmt_float(f, buf),
            _ => {}
        }
    }

    /// Marks stack slot `slot` as a to-be-closed variable (`TBC`).
    #[inline(never)]
    pub(crate) fn mark_tbc(&mut self, slot: usize) -> LuaResult<()> {
        let v = self.th.stack[slot];
        if matches!(v, Value::Nil | Value::Bool(false)) {
            return Ok(());
        }
        if self.tm_of_value(v, Tm::Close).is_nil() {
            let name = self.local_name_at(slot).unwrap_or_else(|| "?".to_string());
            return Err(self.rt_error(&format!("variable '{name}' got a non-closable value")));
        }
        self.th.tbc.push(slot);
        Ok(())
    }

    /// Closes upvalues and calls the next pending `__close` of frame `fi`
    /// at or above `level` (`luaF_close`). False when a `__close` call was
    /// started: the instruction runs again when it returns, to close the
    /// next one.
    #[inline(never)]
    pub(crate) fn close_frame_vars(&mut self, fi: usize, level: usize) -> LuaResult<bool> {
        self.close_upvals(level);
        if let Some(&slot) = self.th.tbc.last() {
            if slot >= level {
                self.th.tbc.pop();
                let v = self.th.stack[slot];
                let h = self.tm_of_value(v, Tm::Close);
                if h.is_nil() {
                    let name = self.local_name_at(slot).unwrap_or_else(|| "?".to_string());
                    return Err(
                        self.rt_error(&format!("metamethod 'close' of variable '{name}' is nil"))
                    );
                }
                self.call_meta(fi, h, &[v, Value::Nil])?;
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Completes the instruction of Lua frame `fi` that was interrupted by
    /// a metamethod call whose result is on top of the stack
    /// (`luaV_finishOp`). Completing a `CONCAT` may start another call;
    /// the interpreter looks at the top frame again either way.
    #[inline(never)]
    pub(crate) fn finish_op(&mut self, fi: usize) -> LuaResult<()> {
        let ci = self.th.frames[fi];
        let FrameKind::Lua(cl) = ci.kind else {
            unreachable!("finish_op on a native frame")
        };
        let op = self.heap.lfns[cl].proto.code[ci.pc as usize - 1];
        let base = ci.base;
        let res = self.th.stack[self.th.top - 1];
        let restore = |vm: &mut Vm| {
            vm.th.top = vm.th.frames[fi].top;
        };
        let mut probe = op;
        if let Some(&mut k) = probe.condition_mut() {
            // A comparison: skip the jump that follows when the result
            // differs from `k`.
            restore(self);
            if res.truthy() != k {
                self.th.frames[fi].pc += 1;
            }
            return Ok(());
        }
        match op {
            Op::SetTabUp { .. } | Op::SetTable { .. } | Op::SetI { .. } | Op::SetField { .. } => {
                restore(self)
            }
            Op::Concat { a, .. } => {
                let end = ci.aux as usize;
                restore(self);
                self.th.stack[end - 2] = res;
                self.concat(fi, base + a as usize, end - 1)?;
            }
            Op::Close { .. } => {
                restore(self);
                self.th.frames[fi].pc -= 1;
                self.hook_redo(fi);
            }
            Op::Return { a, .. } | Op::Return1 { a } => {
                self.th.top = base + a as usize + ci.aux as usize;
                self.th.frames[fi].pc -= 1;
                self.hook_redo(fi);
            }
            Op::Return0 {} => {
                self.th.top = base;
                self.th.frames[fi].pc -= 1;
                self.hook_redo(fi);
            }
            _ => match op.result_register() {
                // Table reads, arithmetic, `#`: the result goes to `R[A]`.
                Some(a) => {
                    restore(self);
                    self.th.stack[base + a as usize] = res;
                }
                None => unreachable!("finish_op after {}", op.name()),
            },
        }
        Ok(())
    }

    /// "attempt to <op> a <type> value (<variable>)".
    pub(crate) fn type_error(&mut self, fi: usize, v: Value, src: Src, op: &str) -> LuaError {
        let tn = self.type_name_of(v);
        let info = self.varinfo(fi, src);
        self.rt_error(&format!("attempt to {op} a {tn} value{info}"))
    }

    fn index_error(&mut self, fi: usize, t: Value, src: Option<Src>) -> LuaError {
        match src {
            Some(src) => self.type_error(fi, t, src, "index"),
            None => {
                let tn = self.type_name_of(t);
                self.rt_error(&format!("attempt to index a {tn} value"))
            }
        }
    }

    /// "attempt to compare ..." (`luaG_ordererror`).
    pub(crate) fn order_error(&mut self, x: Value, y: Value) -> LuaError {
        let (t1, t2) = (self.type_name_of(x), self.type_name_of(y));
        if t1 == t2 {
            self.rt_error(&format!("attempt to compare two {t1} values"))
        } else {
            self.rt_error(&format!("attempt to compare {t1} with {t2}"))
        }
    }
}
