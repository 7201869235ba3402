//! The garbage collector (`lgc.c`): precise, stop-the-world mark-and-sweep
//! over the heap's arenas, paced by allocation debt, with weak tables
//! (`__mode`, including ephemerons) and finalizers (`__gc`).
//!
//! A collection:
//! 1. marks from the roots (every thread's stack and open upvalues, the
//!    registry, the globals, type metatables, the runtime's interned names,
//!    the embedder's roots and owned handles, finalizers already due),
//! 2. propagates through ephemeron tables until nothing changes,
//! 3. clears weak values that point at unmarked objects,
//! 4. moves unmarked objects that have a `__gc` to the "to be finalized"
//!    list and marks them again (they are resurrected until finalized),
//! 5. clears weak keys and values again, then sweeps every arena.
//!
//! Finalizers run later, at a safe point, through `Vm::run_finalizers`.
//!
//! Architecture invariant: the collector only runs at interpreter safe
//! points (`Vm::gc_safe_point`) or when Lua or the embedder asks for it, never
//! inside an allocation, so Rust code between safe points may hold
//! unrooted values.

use std::collections::HashSet;
use std::sync::Arc;

use slotmap::Key;

use crate::func::Proto;
use crate::heap::Upval;
use crate::heap::{
    lua_closure_cost, native_cost, str_cost, userdata_cost, FIN_OVERHEAD, TABLE_OVERHEAD,
    THREAD_OVERHEAD, UPVAL_SIZE,
};
use crate::state::{fin_key, Tm, Vm, FIN, MIN_THRESHOLD};
use crate::value::{TableRef, Value};

impl Vm {
    /// At a safe point past the threshold with the collector stopped (and
    /// room under any limit): no collection, but the allocator's room is
    /// still watched, as after a collection (`Heap::check_headroom`), or
    /// the arenas would grow until one's doubling aborted the process; a
    /// refusal makes the safe point collect (PUC's emergency collection)
    /// and, if that does not help, fail. The next look comes after as much
    /// again is allocated.
    pub(crate) fn watch_stopped_heap(&mut self) {
        let stretch = self.heap.debt.max(MIN_THRESHOLD);
        let next = self.heap.check_headroom(stretch, MIN_THRESHOLD);
        self.gc.threshold = self.heap.debt.saturating_add(next);
    }
}

/// One mark bit per arena slot, indexed by the slot's index.
#[derive(Default)]
struct Bits(Vec<u64>);

impl Bits {
    #[inline]
    fn index<K: Key>(k: K) -> usize {
        // The low 32 bits of a slotmap key are the slot index.
        (k.data().as_ffi() & 0xffff_ffff) as usize
    }

    /// Sets the bit; returns true if it was clear.
    #[inline]
    fn set<K: Key>(&mut self, k: K) -> bool {
        let i = Self::index(k);
        let (w, b) = (i / 64, i % 64);
        if w >= self.0.len() {
            self.0.resize(w + 1, 0);
        }
        let was = self.0[w] & (1 << b) != 0;
        self.0[w] |= 1 << b;
        !was
    }

    #[inline]
    fn get<K: Key>(&self, k: K) -> bool {
        let i = Self::index(k);
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Weakness {
    Strong,
    Keys,
    Values,
    Both,
}

/// Positions of a table traced in one go (see `Vm::trace_entries`).
const TRACE_STEP: usize = 256;

/// Marking state of one collection.
#[derive(Default)]
struct Marker {
    strings: Bits,
    tables: Bits,
    lfns: Bits,
    natives: Bits,
    upvals: Bits,
    threads: Bits,
    userdata: Bits,
    gray: Vec<Value>,
    gray_upvals: Vec<crate::value::UpvalRef>,
    /// Tables traced in part: the position of the `next` order to go on
    /// from, and their weakness (see `Vm::trace_table`).
    partial: Vec<(TableRef, usize, Weakness)>,
    /// The last metatable whose `__mode` was read, and what it said:
    /// objects of one class share one, so a heap of a million of them
    /// reads it once, not a million times (35% of the collections of
    /// such a heap).
    last_mode: Option<(TableRef, Weakness)>,
    weak: Vec<(TableRef, Weakness)>,
    protos: HashSet<*const Proto>,
}

impl Marker {
    /// Marks a value; objects with children go to the gray list.
    fn mark(&mut self, v: Value) {
        match v {
            Value::Str(s) => {
                self.mark_str(s);
            }
            Value::Table(t) => {
                if self.tables.set(t) {
                    self.gray.push(v);
                }
            }
            Value::LuaFn(f) => {
                if self.lfns.set(f) {
                    self.gray.push(v);
                }
            }
            Value::Native(n) => {
                // (Light natives are values: nothing to mark.)
                if !crate::light::is_light(n) && self.natives.set(n) {
                    self.gray.push(v);
                }
            }
            Value::Thread(t) => {
                if self.threads.set(t) {
                    self.gray.push(v);
                }
            }
            Value::UserData(u) => {
                if self.userdata.set(u) {
                    self.gray.push(v);
                }
            }
            Value::Nil | Value::Bool(_) | Value::Int(_) | Value::Num(_) => {}
        }
    }

    /// Marks a string; true if it was not marked yet. Static strings
    /// (`names.rs`) belong to no heap and are never swept.
    #[inline]
    fn mark_str(&mut self, s: crate::value::StrRef) -> bool {
        !crate::names::is_static(s) && self.strings.set(s)
    }

    /// Whether a value would survive (non-objects and strings always do:
    /// strings are values, not objects, for weak tables).
    fn is_live(&self, v: Value) -> bool {
        match v {
            Value::Table(t) => self.tables.get(t),
            Value::LuaFn(f) => self.lfns.get(f),
            Value::Native(n) => crate::light::is_light(n) || self.natives.get(n),
            Value::Thread(t) => self.threads.get(t),
            Value::UserData(u) => self.userdata.get(u),
            _ => true,
        }
    }

    /// Marks the value of ephemeron entry `k`, `v` if its key is live;
    /// true when that marked something new.
    fn mark_ephemeron_value(&mut self, k: Value, v: Value) -> bool {
        if !self.is_live(k) {
            return false;
        }
        match v {
            // `is_live` calls every string live; its mark is what keeps it.
            Value::Str(s) => self.mark_str(s),
            _ if !self.is_live(v) => {
                self.mark(v);
                true
            }
            _ => false,
        }
    }

    /// The strings of a chunk's code being generated (a chunk loader's),
    /// which no closure refers to yet.
    fn mark_generating(&mut self, gen: &crate::compiler::code::MainGen) {
        for p in gen.protos() {
            for &k in &p.consts {
                self.mark(k);
            }
            for child in &p.protos {
                self.mark_proto(child);
            }
        }
        for k in gen.constant_locals() {
            self.mark(k);
        }
    }

    fn mark_proto(&mut self, p: &Arc<Proto>) {
        if !self.protos.insert(Arc::as_ptr(p)) {
            return;
        }
        for &k in &p.consts {
            self.mark(k);
        }
        for child in &p.protos {
            self.mark_proto(child);
        }
    }
}

/// Strings are values, not objects, for weak tables (`iscleared` in
/// `lgc.c`): a weak table keeps the strings it holds, so they are marked
/// like strong references.
#[inline]
fn mark_if_string(m: &mut Marker, v: Value) {
    if let Value::Str(s) = v {
        m.mark_str(s);
    }
}

/// Marks a thread's live slots (and its hook's value) and clears the dead
/// slots above them, so no slot keeps a handle the sweep may free.
fn mark_stack(m: &mut Marker, th: &mut crate::state::Thread) {
    if let Some(h) = th.hook.hook {
        m.mark(h.data);
    }
    let limit = th.live_limit();
    for &v in &th.stack[..limit] {
        m.mark(v);
    }
    for slot in &mut th.stack[limit..] {
        *slot = Value::Nil;
    }
}

impl Vm {
    /// How many full collections this VM has made (statistics: every
    /// collection is a full cycle here).
    pub fn gc_cycles(&self) -> u64 {
        self.gc.cycles
    }

    /// Runs a full collection cycle now (`collectgarbage("collect")`),
    /// without running finalizers (see `run_finalizers`).
    pub fn full_gc(&mut self) {
        self.gc.cycles += 1;
        let mut m = Marker::default();
        self.mark_roots(&mut m);
        self.propagate_all(&mut m);
        self.clear_weak(&m, false);
        self.separate_finalizable(&mut m);
        if !self.fin.tobefnz.is_empty() && !self.gc.in_finalizers {
            // The interpreter starts them at its next instruction.
            self.fin_due = true;
            self.rewindow();
        }
        self.propagate_all(&mut m);
        self.clear_weak(&m, true);
        let live = self.sweep(&m);
        self.heap.live = live;
        self.heap.debt = 0;
        let pause = self.gc.pause.max(100) as usize;
        self.gc.threshold = if self.gc.stress {
            0
        } else {
            (live / 100 * (pause - 100)).max(MIN_THRESHOLD)
        };
        self.cap_threshold();
        self.gc.threshold = self.heap.check_headroom(self.gc.threshold, MIN_THRESHOLD);
    }

    fn mark_roots(&mut self, m: &mut Marker) {
        m.mark(Value::Table(self.registry));
        m.mark(Value::Table(self.globals));
        m.mark(Value::Thread(self.cur));
        m.mark(Value::Thread(self.main));
        for mt in self.type_mt.iter() {
            m.mark(Value::Table(mt));
        }
        for t in self.lazy_roots() {
            m.mark(Value::Table(t));
        }
        for v in self.roots.iter().flat_map(|roots| roots.values()) {
            m.mark(*v);
        }
        // A handle only ever holds a value its VM owned when it was made,
        // and marked since; the check keeps a bug elsewhere from becoming
        // a collector panic.
        let heap = &self.heap;
        if let Some(rare) = &mut self.rare {
            rare.handles.mark(|v| {
                if heap.owns(v) {
                    m.mark(v);
                }
            });
        }
        for &v in &self.scratch {
            m.mark(v);
        }
        // A misuse noted by a native's frame writer waits there for the
        // native to return, across the collections its next pushes make.
        if let Some(rare) = &self.rare {
            if let Some(e) = &rare.misuse {
                m.mark(e.0.value);
            }
            if let Some(n) = rare.hook_runner {
                m.mark(Value::Native(n));
            }
        }
        for &v in &self.fin.tobefnz {
            m.mark(v);
        }
        for (root, top) in self.parked.iter() {
            m.mark(Value::Thread(root));
            m.mark(Value::Thread(top));
        }
        if let Some(p) = self.th.parent {
            m.mark(Value::Thread(p));
        }
        // The running thread's state is outside the arena.
        mark_stack(m, &mut self.th);
        for &(_, uv) in &self.th.open_upvals {
            m.upvals.set(uv);
        }
    }

    /// Propagates marks until the gray list is empty and no ephemeron
    /// table can mark anything more.
    fn propagate_all(&mut self, m: &mut Marker) {
        let mut backward = false;
        loop {
            self.propagate(m);
            if !self.converge_ephemerons(m, backward) {
                break;
            }
            // Each pass goes the other way (PUC's `convergeephemerons`):
            // a chain of entries, each key kept by the entry before or
            // after it, is then marked in one pass, not one link a pass.
            backward = !backward;
        }
    }

    fn propagate(&mut self, m: &mut Marker) {
        loop {
            if let Some(uv) = m.gray_upvals.pop() {
                self.trace_upval(m, uv);
                continue;
            }
            let Some(v) = m.gray.pop() else {
                match m.partial.pop() {
                    Some((t, from, weak)) => {
                        self.trace_entries(m, t, weak, from);
                        continue;
                    }
                    None => break,
                }
            };
            match v {
                Value::Table(t) => self.trace_table(m, t),
                Value::LuaFn(f) => {
                    let cl = &self.heap.lfns[f];
                    m.mark_proto(&cl.proto);
                    for &uv in cl.upvals.iter() {
                        if m.upvals.set(uv) {
                            m.gray_upvals.push(uv);
                        }
                    }
                }
                Value::Native(n) => {
                    for &u in &self.heap.natives[n].upvals {
                        m.mark(u);
                    }
                }
                Value::Thread(t) => {
                    // (The running thread's slot is empty: its state,
                    // `Vm::th`, is marked with the roots.)
                    let Some(th) = self.heap.threads[t].get_mut() else {
                        continue;
                    };
                    mark_stack(m, th);
                    if let Some(p) = th.parent {
                        m.mark(Value::Thread(p));
                    }
                    for &(_, uv) in &th.open_upvals {
                        m.upvals.set(uv);
                    }
                }
                Value::UserData(u) => {
                    let ud = &self.heap.userdata[u];
                    if let Some(mt) = ud.metatable {
                        m.mark(Value::Table(mt));
                    }
                    m.mark(ud.user_value);
                    if let Some(gen) = crate::load::generating(&*ud.data) {
                        m.mark_generating(gen);
                    }
                }
                _ => {}
            }
        }
    }

    fn trace_upval(&self, m: &mut Marker, uv: crate::value::UpvalRef) {
        match self.heap.upvals[uv] {
            Upval::Closed(v) => m.mark(v),
            Upval::Open { thread, slot } => {
                m.mark(Value::Thread(thread));
                let v = if thread == self.cur {
                    self.th.stack.get(slot).copied()
                } else {
                    self.heap.threads[thread]
                        .get()
                        .and_then(|th| th.stack.get(slot).copied())
                };
                m.mark(v.unwrap_or_default());
            }
        }
    }

    fn weakness(&self, m: &mut Marker, t: TableRef) -> Weakness {
        let Some(mt) = self.heap.tables[t].metatable else {
            return Weakness::Strong;
        };
        // The metatable cannot change during a collection.
        if let Some((last, weak)) = m.last_mode {
            if last == mt {
                return weak;
            }
        }
        let weak = self.mode_of(mt);
        m.last_mode = Some((mt, weak));
        weak
    }

    /// What the `__mode` of metatable `mt` asks for.
    fn mode_of(&self, mt: TableRef) -> Weakness {
        let mode = self.heap.tables[mt].get_str(Tm::Mode.key());
        let Value::Str(s) = mode else {
            return Weakness::Strong;
        };
        let bytes = self.heap.str_bytes(s);
        match (bytes.contains(&b'k'), bytes.contains(&b'v')) {
            (true, true) => Weakness::Both,
            (true, false) => Weakness::Keys,
            (false, true) => Weakness::Values,
            (false, false) => Weakness::Strong,
        }
    }

    fn trace_table(&self, m: &mut Marker, t: TableRef) {
        let weak = self.weakness(m, t);
        if let Some(mt) = self.heap.tables[t].metatable {
            m.mark(Value::Table(mt));
        }
        if weak != Weakness::Strong {
            m.weak.push((t, weak));
        }
        self.trace_entries(m, t, weak, 0);
    }

    /// Marks what the entries of table `t` from position `from` keep
    /// alive, `TRACE_STEP` positions at a time: the rest waits in
    /// `Marker::partial` until what these entries made gray is traced, so
    /// the gray list stays short however many objects a table holds (its
    /// growth, which cannot fail gracefully, is what a collection needs).
    fn trace_entries(&self, m: &mut Marker, t: TableRef, weak: Weakness, from: usize) {
        let table = &self.heap.tables[t];
        let to = from.saturating_add(TRACE_STEP).min(table.positions());
        if to < table.positions() {
            m.partial.push((t, to, weak));
        }
        let pairs = table.pairs_in(from, to);
        match weak {
            Weakness::Strong => {
                for (k, v) in pairs {
                    m.mark(k);
                    m.mark(v);
                }
            }
            Weakness::Values => {
                for (k, v) in pairs {
                    m.mark(k);
                    mark_if_string(m, v);
                }
            }
            Weakness::Keys => {
                // Ephemeron: a value is marked only once its key is.
                for (k, v) in pairs {
                    mark_if_string(m, k);
                    if m.is_live(k) {
                        m.mark(v);
                    }
                }
            }
            Weakness::Both => {
                for (k, v) in pairs {
                    mark_if_string(m, k);
                    mark_if_string(m, v);
                }
            }
        }
    }

    /// Marks values of ephemeron entries whose keys became marked, going
    /// through the tables and their entries `backward` or forward; returns
    /// whether anything new was marked.
    fn converge_ephemerons(&self, m: &mut Marker, backward: bool) -> bool {
        let mut changed = false;
        let n = m.weak.len();
        for j in 0..n {
            let (t, w) = m.weak[if backward { n - 1 - j } else { j }];
            if w != Weakness::Keys {
                continue;
            }
            let entries = self.heap.tables[t].iter();
            let mut visit = |(k, v)| changed |= m.mark_ephemeron_value(k, v);
            if backward {
                entries.rev().for_each(&mut visit);
            } else {
                entries.for_each(&mut visit);
            }
        }
        changed || !m.gray.is_empty()
    }

    fn clear_weak(&mut self, m: &Marker, keys_too: bool) {
        for &(t, w) in &m.weak {
            let clear_keys = keys_too && matches!(w, Weakness::Keys | Weakness::Both);
            let clear_values = matches!(w, Weakness::Values | Weakness::Both);
            self.heap.tables[t].clear_where(|k, v| {
                (clear_keys && !m.is_live(k)) || (clear_values && !m.is_live(v))
            });
        }
    }

    /// Moves unreachable objects with finalizers to `tobefnz`, marking them
    /// (and what they reference) so they survive until finalized.
    fn separate_finalizable(&mut self, m: &mut Marker) {
        if self.fin.finobj.is_empty() {
            return;
        }
        // Finalizers run in the reverse order of `setmetatable` calls.
        let (live, dead): (Vec<Value>, Vec<Value>) = std::mem::take(&mut self.fin.finobj)
            .into_iter()
            .partition(|&v| m.is_live(v));
        self.fin.finobj = live;
        for v in &dead {
            if let Some(key) = fin_key(*v) {
                self.fin.finobj_keys.remove(&key);
            }
        }
        for v in dead.into_iter().rev() {
            self.fin.tobefnz.push_back(v);
            m.mark(v);
        }
    }

    /// Frees every unmarked object; returns an estimate of live bytes.
    fn sweep(&mut self, m: &Marker) -> usize {
        let mut live = 0usize;
        let dead_strings: Vec<_> = self
            .heap
            .strings
            .keys()
            .filter(|&s| !m.strings.get(s))
            .collect();
        for s in dead_strings {
            self.heap.free_string(s);
        }
        for (_, s) in &self.heap.strings {
            live += str_cost(s.as_bytes().len());
        }
        self.heap.tables.retain(|t, tab| {
            let keep = m.tables.get(t);
            if keep {
                live += tab.approx_bytes() + TABLE_OVERHEAD;
            }
            keep
        });
        self.heap.lfns.retain(|f, cl| {
            let keep = m.lfns.get(f);
            live += if keep {
                lua_closure_cost(cl.upvals.len())
            } else {
                0
            };
            keep
        });
        self.heap.natives.retain(|n, nc| {
            let keep = m.natives.get(n);
            if keep {
                live += native_cost(nc.upvals.len());
            }
            keep
        });
        self.heap.upvals.retain(|u, _| m.upvals.get(u));
        // The running thread's stack shrinks too: the interpreter re-derives
        // its register window after every safe point, as after a growth.
        self.th.shrink();
        let mut stacks = self.th.bytes();
        self.heap.threads.retain(|t, th| {
            let keep = m.threads.get(t);
            if let Some(th) = th.get_mut().filter(|_| keep) {
                // Not running: no interpreter holds its stack.
                th.shrink();
                stacks += th.bytes();
                th.accounted = th.bytes();
            }
            keep
        });
        self.th.accounted = self.th.bytes();
        self.stack_bytes = stacks;
        live += stacks;
        // Payloads are the embedder's values, whose `drop` may panic: they
        // are dropped once the sweep is over, each on its own, so that a
        // panic neither stops the sweep nor reaches the interpreter.
        let mut payloads: Vec<Box<dyn std::any::Any + Send>> = Vec::new();
        self.heap.userdata.retain(|u, d| {
            let keep = m.userdata.get(u);
            if keep {
                live += userdata_cost(d);
            } else {
                payloads.push(std::mem::replace(&mut d.data, Box::new(())));
            }
            keep
        });
        for p in payloads {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(p)));
        }
        live += crate::func::protos_bytes(self.heap.lfns.values().map(|cl| &cl.proto));
        live += UPVAL_SIZE * self.heap.upvals.len();
        live += THREAD_OVERHEAD * self.heap.threads.len() + FIN_OVERHEAD * self.fin.finobj.len();
        live
    }

    /// Runs the finalizers (`__gc`) of objects found unreachable, in the
    /// order they were marked for finalization. Errors in finalizers are
    /// reported through `warn` and otherwise ignored, as in Lua 5.4. Once
    /// the instruction limit is exceeded, the finalizers left are dropped.
    pub fn run_finalizers(&mut self) {
        if self.gc.in_finalizers || self.fin.tobefnz.is_empty() {
            return;
        }
        self.gc.in_finalizers = true;
        while let Some(obj) = self.fin.tobefnz.pop_front() {
            if self.instruction_limit_exceeded() {
                // Each would fail at its first instruction: a program
                // stopped by the limit may leave millions.
                self.fin.tobefnz.clear();
                break;
            }
            let gc = self.tm_of_value(obj, Tm::Gc);
            if gc.is_nil() {
                continue;
            }
            let root = self.root_value(obj);
            // As PUC Lua's `GCTM`: no hook events inside, and the
            // finalizer is named "__gc" (`CIST_FIN` on the frame below).
            // Finalizers do not nest (`in_finalizers`), so no frame below
            // has the mark already.
            let allowed = self.set_hooks_allowed(false);
            self.set_top_frame_flag(FIN, true);
            let r = self.call_value(gc, &[obj]);
            self.set_top_frame_flag(FIN, false);
            self.set_hooks_allowed(allowed);
            self.unroot(root);
            if let Err(e) = r {
                let msg = self.error_to_string(&e);
                self.warn(&format!("error in __gc ({msg})"));
            }
        }
        self.gc.in_finalizers = false;
    }

    /// `run_finalizers` at the end of a call from Rust, keeping `kept` (the
    /// call's results or error value, which only Rust holds) alive through
    /// the collections the finalizers may make: on the stack, above its top
    /// as the call left it.
    pub(crate) fn run_finalizers_keeping(&mut self, kept: &[Value]) {
        if self.gc.in_finalizers || self.fin.tobefnz.is_empty() {
            return;
        }
        let top = self.th.top;
        for &v in kept {
            self.th.push(v);
        }
        self.run_finalizers();
        self.th.top = top;
    }

    /// Runs every pending and remaining finalizer (`lua_close`).
    pub fn close(&mut self) {
        if self.fin.finobj.is_empty() && self.fin.tobefnz.is_empty() {
            return;
        }
        let all: Vec<Value> = std::mem::take(&mut self.fin.finobj);
        self.fin.finobj_keys.clear();
        self.fin.tobefnz.extend(all);
        self.run_finalizers();
    }
}
