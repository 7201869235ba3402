//! Global and per-thread state (`lstate.h`, `lstate.c`): the `Vm` (global
//! state plus the running thread), `Thread` (a `lua_State`: one value stack
//! and one list of `CallInfo` frames), `CallInfo`, and the types of their
//! fields. The submodules declare the larger ones: `hook` (`HookState` and
//! the public hook types), `meta` (`Tm`) and `handle` (the
//! owned handles' cells, `Handles`). `newstate.rs` makes a `Vm`.
//!
//! Architecture invariant: the running thread's `Thread` lives in `Vm::th`;
//! its slot in the heap's thread arena is empty (`ThreadSlot`) until the
//! thread stops running. Everything else about a thread is in the arena.
//!
//! Architecture invariant (layering): the state declares its fields
//! itself, as `lstate.h` does. This module and the other declaration
//! modules (`value`, `arena`, `alloc`, `error`, `number`, `opcodes`, `func`,
//! `table`, `heap`, `native`) import only one another; the behaviour
//! modules (`call`, `vm`, `gc`, `hook`, `resume`, `meta`, `api`, ...) work on
//! the state and import it, never the other way round. Where a behaviour
//! has data of its own in the state, its type is declared here (`GcParams`,
//! `Suspend`, `InstructionLimit`, `RootKey`) or in a submodule named after
//! the behaviour module (`state/hook.rs` for `hook.rs`), and the logic
//! stays with the behaviour, in its own `impl Vm`. The tidy test
//! `declaration_modules_import_no_behaviour_module` checks the import rule
//! (`xtask/src/tidy.rs` lists both kinds; ARCHITECTURE.md, "Layering").

mod handle;
mod hook;
mod lazy;
mod meta;

use std::collections::{HashSet, VecDeque};

use slotmap::Key;

use crate::arena::Arena;
use crate::error::LuaError;
use crate::heap::Heap;
use crate::native::{Continuation, Job, NativeRegistry};
use crate::value::{LuaFnRef, NativeRef, TableRef, ThreadRef, UpvalRef, Value};

pub(crate) use self::handle::{Cell, Handles};
pub(crate) use self::hook::{Active, Done, HookState, Redo, Stage};
pub use self::hook::{Hook, HookEvent, HookFn, HookMask, HookStep};
pub use self::lazy::Lazy;
pub(crate) use self::lazy::{LazyState, Names, Owed, Resolved, MAX_LAZY};
pub use self::meta::Tm;
pub(crate) use self::meta::TypeMetatables;

/// Maximum number of stack slots of one thread (`LUAI_MAXSTACK`).
pub const MAX_STACK: usize = 1_000_000;
/// Slots every frame keeps above its registers (PUC's `EXTRA_STACK`), for
/// a metamethod's call and a native's first pushes. Only a reserve: every
/// push past it is checked and grows the stack (natives have no unchecked
/// pushes to guarantee `LUA_MINSTACK` for), so it is as small as PUC's.
pub(crate) const EXTRA_STACK: usize = 5;
/// Slots a thread's stack starts with (PUC's `BASIC_STACK_SIZE` is 40),
/// and frames its frame list starts with: an agent blocked in `receive`
/// holds three frames and 13 slots with their reserves, and a million
/// agents hold a million of each. (A coroutine that needs more grows
/// once: no change in the coroutine benchmarks' instruction counts.)
const BASIC_STACK: usize = 13;
const BASIC_FRAMES: usize = 3;
/// Maximum nesting of recursive (non-yieldable) native-to-Lua calls
/// (`LUAI_MAXCCALLS`).
pub const MAX_CCALLS: u32 = 200;
/// Maximum length of a chain of coroutines each resuming the next. Resumes
/// do not nest in Rust, so this only bounds the memory a runaway chain can
/// take; past it, resuming fails with "C stack overflow", as PUC Lua's
/// (much shorter, C-stack-bound) chains do.
pub(crate) const MAX_RESUME_DEPTH: u32 = 20_000;
/// `nresults` value meaning "all results" (`LUA_MULTRET`).
pub(crate) const MULTRET: i32 = -1;

/// Frame flag: when a callee returns into this Lua frame, finish the
/// instruction that called it (a metamethod call) before going on.
pub(crate) const FINISH_OP: u16 = 1;
/// Native frame flag: a protected call caught an error and the frame runs
/// the pending `__close` handlers above its callee, one call at a time (so
/// they may yield), before its continuation gets the error.
pub(crate) const CLOSING: u16 = 2;
/// Frame flag: this native frame is a protected call boundary (`pcall`).
pub(crate) const PROTECTED: u16 = 4;
/// Native frame flag: the native function itself has been called.
pub(crate) const STARTED: u16 = 8;
/// Native frame flag: the native yielded (`Vm::yieldk`); resuming the
/// coroutine delivers the resume arguments to it.
pub(crate) const YIELDED: u16 = 16;
/// Native frame flag: its continuation is due with `Status::Error` (the
/// error value is on top of the stack).
pub(crate) const K_ERROR: u16 = 32;
/// Native frame flag: its continuation is due with `Status::Yield`.
pub(crate) const K_YIELD: u16 = 64;
/// Native frame flag: waiting for an offloaded job's result.
pub(crate) const OFFLOADED: u16 = 128;
/// Lua frame flag: the frame was entered by a tail call (`CIST_TAIL`).
pub(crate) const TAIL: u16 = 256;
/// Frame flag: a hook has seen this frame (its call event is past), so the
/// next instruction traced in it is not a function entry (`hook.rs`).
pub(crate) const TRACED: u16 = 512;
/// Frame flag: a hook is running on top of this frame (`CIST_HOOKED`).
pub(crate) const HOOKED: u16 = 1024;
/// Native frame flag: its results are on top of the stack from slot
/// `callee` up, and the driver loop returns them (`Vm::return_native`), so a
/// return hook sees them: a resume or yield delivered to a thread with a
/// return hook (`Vm::defer_return`).
pub(crate) const RETURNING: u16 = 2048;
/// Frame flag: a finalizer is running on top of this frame (`CIST_FIN`).
pub(crate) const FIN: u16 = 4096;
/// Native frame flag: waiting for a call it requested (`Vm::callk`,
/// `Vm::pcallk`); such frames count towards `MAX_CCALLS` (`limit.rs`).
pub(crate) const CALLING: u16 = 8192;
/// Native frame flag: a message handler's trampoline (`msgh.rs`).
pub(crate) const MSGH: u16 = 16384;
/// A frame that is no stack level for the debug library: a closer running
/// a coroutine's `__close` handlers (`closethread.rs`), which PUC Lua runs
/// from C with no frame of its own.
pub(crate) const HIDDEN: u16 = 32768;
/// Frames that stack levels skip.
pub(crate) const NO_LEVEL: u16 = MSGH | HIDDEN;

/// What a frame is running.
#[derive(Clone, Copy, Debug)]
pub(crate) enum FrameKind {
    Lua(LuaFnRef),
    Native(NativeRef),
}

/// One activation record (`CallInfo`).
///
/// Which fields are meaningful: `pc`, `top`, `nvarargs` for Lua frames;
/// `k`, `ctx`, `handler`, `callee` for native frames waiting in a
/// continuation; `aux` while a Lua frame is in the middle of a `CONCAT` or a
/// `RETURN`/`CLOSE` that calls `__close` handlers, and for a native frame
/// that resumed a coroutine, how its values come back (`Deliver`, recorded
/// by `Vm::resumek`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct CallInfo {
    /// Slot of the called function; results are moved here on return.
    pub(crate) func: usize,
    /// First register (Lua) or first argument (native).
    pub(crate) base: usize,
    /// Lua frames: `base + max_stack`, the frame's stack extent.
    pub(crate) top: usize,
    /// Results the caller wants (`MULTRET` for all).
    pub(crate) nresults: i32,
    /// Lua frames: index of the next instruction.
    pub(crate) pc: u32,
    /// Lua frames: number of extra (vararg) arguments, stored just below
    /// `func`'s copy (see `call::precall`).
    pub(crate) nvarargs: u32,
    pub(crate) kind: FrameKind,
    pub(crate) flags: u16,
    pub(crate) aux: u32,
    pub(crate) k: Option<&'static Continuation>,
    pub(crate) ctx: i64,
    /// Native frames in a protected call: slot of the message handler.
    pub(crate) handler: Option<u32>,
    /// Native frames in a call: the slot where the callee was.
    pub(crate) callee: u32,
    /// Native frames: number of arguments the native was called with.
    pub(crate) nargs: u32,
    /// Lua frames: the running prototype's address (`raw::proto_addr`).
    pub(crate) proto: usize,
    /// Lua frames: the address of the running closure's upvalue handles
    /// (`raw::upvals_addr`).
    pub(crate) upvals: usize,
}

impl CallInfo {
    pub(crate) fn new(func: usize, base: usize, nresults: i32, kind: FrameKind) -> Self {
        CallInfo {
            func,
            base,
            top: base,
            nresults,
            pc: 0,
            nvarargs: 0,
            kind,
            flags: 0,
            aux: 0,
            k: None,
            ctx: 0,
            handler: None,
            callee: 0,
            nargs: 0,
            proto: 0,
            upvals: 0,
        }
    }

    #[inline]
    pub(crate) fn is_lua(&self) -> bool {
        matches!(self.kind, FrameKind::Lua(_))
    }
}

/// A thread's execution state (`lua_State`).
///
/// Invariants: `stack` holds the allocated slots, all initialised (it only
/// grows, nil-filled); `top` is the first free slot: natives' values and
/// variable numbers of results (a call with `C = 0`, `VARARG` with `C = 0`)
/// end there. Every slot holds nil or a live value: the collector marks
/// the slots below `top` and clears the slots above.
/// `open_upvals` is sorted by slot and holds at most one cell per slot;
/// `tbc` (slots of to-be-closed variables) is sorted.
///
/// A thread's slot in the heap's arena: its state, boxed, or nothing for
/// the running thread, whose state is in `Vm::th` (see the module
/// invariant). Nothing, not an empty thread: a VM that never switches
/// threads (an agent) boxes one thread, not two.
#[derive(Debug, Default)]
pub(crate) struct ThreadSlot(Option<Box<Thread>>);

impl ThreadSlot {
    /// The slot of a thread not running.
    pub(crate) fn new(th: Box<Thread>) -> ThreadSlot {
        ThreadSlot(Some(th))
    }

    /// The state of a thread not running (`None` for the running one).
    #[inline]
    pub(crate) fn get(&self) -> Option<&Thread> {
        self.0.as_deref()
    }

    /// [`ThreadSlot::get`], to change it.
    #[inline]
    pub(crate) fn get_mut(&mut self) -> Option<&mut Thread> {
        self.0.as_deref_mut()
    }

    /// The state of a thread known not to be running.
    ///
    /// # Safety
    /// The slot is not the running thread's.
    #[inline(always)]
    pub(crate) unsafe fn idle_unchecked(&self) -> &Thread {
        debug_assert!(self.0.is_some(), "the running thread's slot read as idle");
        // SAFETY: only the running thread's slot is empty.
        unsafe { self.0.as_deref().unwrap_unchecked() }
    }

    /// [`ThreadSlot::idle_unchecked`], to change it.
    ///
    /// # Safety
    /// As for `idle_unchecked`.
    #[inline(always)]
    pub(crate) unsafe fn idle_unchecked_mut(&mut self) -> &mut Thread {
        debug_assert!(self.0.is_some(), "the running thread's slot read as idle");
        // SAFETY: only the running thread's slot is empty.
        unsafe { self.0.as_deref_mut().unwrap_unchecked() }
    }

    /// Whether this is the running thread's (empty) slot.
    pub(crate) fn is_running(&self) -> bool {
        self.0.is_none()
    }

    /// Takes the state out: the slot becomes the running thread's.
    #[inline(always)]
    pub(crate) fn take(&mut self) -> Option<Box<Thread>> {
        self.0.take()
    }

    /// Puts a stopped thread's state back.
    #[inline(always)]
    pub(crate) fn put(&mut self, th: Box<Thread>) {
        self.0 = Some(th);
    }
}

/// Coroutine state: `status` (the running thread's is `Running`), `parent`
/// (the thread that resumed this one, while it runs or is normal), `nny`
/// (how many non-yieldable native-to-Lua calls are in progress on it).
/// A thread that died by an error keeps its frames (for tracebacks and
/// `coroutine.close`) and has the error value on top of its stack.
#[derive(Debug, Default)]
pub(crate) struct Thread {
    pub(crate) stack: Vec<Value>,
    pub(crate) top: usize,
    pub(crate) frames: Vec<CallInfo>,
    pub(crate) open_upvals: thin_vec::ThinVec<(usize, UpvalRef)>,
    /// A `ThinVec` (one word): few threads have to-be-closed variables.
    pub(crate) tbc: thin_vec::ThinVec<usize>,
    pub(crate) status: ThreadStatus,
    pub(crate) parent: Option<ThreadRef>,
    pub(crate) nny: u32,
    /// Native frames waiting for a call they requested (`CALLING`).
    pub(crate) ncalls: u32,
    pub(crate) errored: bool,
    /// Position in the chain of resumes (0 for the main thread and for a
    /// thread the driver resumed).
    pub(crate) depth: u32,
    /// The debug hook and its tracing state (`hook.rs`).
    pub(crate) hook: OnDemand<HookState>,
    /// Bytes of stack and frame list already counted in the heap's debt.
    pub(crate) accounted: usize,
    /// While the thread is being cancelled (`Vm::cancel`): its frames
    /// below this index are the cancelled run's, whose protected calls
    /// close their variables but do not catch the error.
    pub(crate) cancel_depth: Option<u32>,
}

/// A coroutine's status, as `coroutine.status` reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ThreadStatus {
    /// Not started, or yielded: `resume` may run it.
    #[default]
    Suspended,
    /// Running (or the top of a chain suspended by its driver).
    Running,
    /// Resumed another coroutine and waits for it.
    Normal,
    /// Returned or died by an error.
    Dead,
}

impl ThreadStatus {
    /// The name `coroutine.status` gives.
    pub fn name(self) -> &'static str {
        match self {
            ThreadStatus::Suspended => "suspended",
            ThreadStatus::Running => "running",
            ThreadStatus::Normal => "normal",
            ThreadStatus::Dead => "dead",
        }
    }
}

/// An embedder's data kept by a VM ([`Vm::set_extra`]).
pub type Extra = std::sync::Arc<dyn std::any::Any + Send + Sync>;

/// Receives warnings emitted with `warn` (the text of one warning).
pub type WarnHandler = Box<dyn FnMut(&str) + Send>;

/// The built-in warning handler's state (`Vm::warn_to_stderr`): a byte in
/// the VM rather than a boxed closure, since every VM opening the base
/// library has it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum WarnStderr {
    /// No built-in handler: warnings go to `warn_handler`, if any.
    #[default]
    None,
    /// Installed, off until a `@on` control message.
    Off,
    /// Installed and on.
    On,
}

impl Thread {
    /// Makes the slots below `end` exist.
    #[inline]
    pub(crate) fn ensure(&mut self, end: usize) {
        if self.stack.len() < end {
            self.grow(end);
        }
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, end: usize) {
        if !self.try_grow(end) {
            // Where the caller cannot raise, the growth is made anyway.
            self.stack.resize(end, Value::Nil);
        }
    }

    /// Makes the slots below `end` exist, or returns false when the
    /// allocator refuses the room (the stack is then unchanged).
    pub(crate) fn try_ensure(&mut self, end: usize) -> bool {
        self.stack.len() >= end || self.try_grow(end)
    }

    fn try_grow(&mut self, end: usize) -> bool {
        // Headroom for amortised growth, but never past the stack limit
        // (`call::grow_stack` refuses frames beyond it).
        let limit = MAX_STACK + 2 * EXTRA_STACK;
        let len = (end + end / 2).max(BASIC_STACK).min(limit).max(end);
        if self
            .stack
            .try_reserve_exact(len - self.stack.len())
            .is_err()
        {
            return false;
        }
        self.stack.resize(len, Value::Nil);
        true
    }

    /// Makes room for one more frame, or returns false when the allocator
    /// refuses it: frames are pushed only where the push cannot fail.
    #[cold]
    #[inline(never)]
    pub(crate) fn try_grow_frames(&mut self) -> bool {
        let more = self.frames.len().max(BASIC_FRAMES);
        self.frames.try_reserve_exact(more).is_ok()
    }

    /// Bytes the stack and frame list hold.
    pub(crate) fn bytes(&self) -> usize {
        self.stack.capacity() * std::mem::size_of::<Value>()
            + self.frames.capacity() * std::mem::size_of::<CallInfo>()
    }

    /// Bytes the stack and frame list grew by since last asked.
    pub(crate) fn take_growth(&mut self) -> usize {
        let now = self.bytes();
        let grown = now.saturating_sub(self.accounted);
        self.accounted = now;
        grown
    }

    /// Gives back the stack and frame space beyond what the frames use
    /// (`luaD_shrinkstack`): every frame keeps its extent and
    /// `EXTRA_STACK` twice over, and twice that is left. Only a list four
    /// times too large shrinks: a run that grew its stack a little (an
    /// agent's, which ends and is dropped) costs no reallocation. Only
    /// where a growth could happen too (a collection, the end of a run):
    /// the interpreter re-derives its register window after both.
    pub(crate) fn shrink(&mut self) {
        let used = self
            .frames
            .iter()
            .map(|ci| ci.top)
            .max()
            .unwrap_or(0)
            .max(self.top)
            + 2 * EXTRA_STACK;
        if self.stack.capacity() > 4 * used.max(BASIC_STACK) {
            self.stack
                .truncate(used.max(BASIC_STACK).min(self.stack.len()));
            self.stack.shrink_to(2 * used.max(BASIC_STACK));
        }
        if self.frames.capacity() > 4 * self.frames.len().max(BASIC_FRAMES) {
            self.frames
                .shrink_to(2 * self.frames.len().max(BASIC_FRAMES));
        }
        self.accounted = self.accounted.min(self.bytes());
    }

    /// Pushes a value at `top`.
    #[inline]
    pub(crate) fn push(&mut self, v: Value) {
        self.ensure(self.top + 1);
        self.stack[self.top] = v;
        self.top += 1;
    }

    /// Pops the top frame and stores its `n` results, `get(stack, i)` for
    /// `i` in `0..n`, from the frame's function slot up (`luaD_poscall`):
    /// as many as the caller wants (`nresults`), missing ones nil. A Lua
    /// caller gets its frame extent back as `top` (or just above a
    /// metamethod's result, which `finish_op` takes). `get` must not read
    /// a slot below one already written (results only move down, or come
    /// from another stack), and the stack must hold the results.
    #[inline(always)]
    pub(crate) fn pop_frame_with(&mut self, n: usize, get: impl Fn(&[Value], usize) -> Value) {
        let (res, nresults) = match self.frames.pop() {
            Some(ci) => (ci.func, ci.nresults),
            None => unreachable!("a frame to return from"),
        };
        // Few values: an element loop beats a `memmove` call.
        let copy = if nresults == MULTRET {
            n
        } else {
            n.min(nresults as usize)
        };
        for i in 0..copy {
            let v = get(&self.stack, i);
            self.stack[res + i] = v;
        }
        if nresults == MULTRET {
            self.top = res + n;
            return;
        }
        let wanted = nresults as usize;
        for slot in &mut self.stack[res + copy..res + wanted] {
            *slot = Value::Nil;
        }
        let mut top = res + wanted;
        if let Some(caller) = self.frames.last() {
            if caller.is_lua() {
                top = top.max(caller.top);
            }
        }
        self.top = top;
    }

    /// Slots that may hold live values: those below `top`. The interpreter
    /// lowers `top` to just above its target register at a collection safe
    /// point (registers above it are free), as `checkGC` does in PUC Lua.
    pub(crate) fn live_limit(&self) -> usize {
        self.top.min(self.stack.len())
    }
}

// The types of `Vm` fields that one behaviour module each works on (named
// beside each type); the larger ones are in the submodules.

slotmap::new_key_type! {
    /// A slot of `Vm::roots` (`api.rs`: `Vm::root`, `RootId`).
    pub(crate) struct RootKey;
}

/// Collector tuning (`collectgarbage("incremental", pause, stepmul)`;
/// `gc.rs`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct GcParams {
    /// Collect when memory grows to `pause`% of what was live after the last
    /// collection.
    pub(crate) pause: u32,
    /// Kept for `collectgarbage` compatibility.
    pub(crate) stepmul: u32,
    /// False after `collectgarbage("stop")`.
    pub(crate) running: bool,
    /// Bytes of debt that trigger the next collection.
    pub(crate) threshold: usize,
    /// Set while finalizers run, so they do not nest.
    pub(crate) in_finalizers: bool,
    /// The mode `collectgarbage` reports. Collections are full,
    /// stop-the-world cycles in either mode.
    pub(crate) generational: bool,
    /// Collect at every safe point (`Vm::gc_set_stress`).
    pub(crate) stress: bool,
    /// Full collections so far (`Vm::gc_cycles`).
    pub(crate) cycles: u64,
}

/// Debt allowed before the first collection.
pub(crate) const MIN_THRESHOLD: usize = 512 * 1024;

impl Default for GcParams {
    fn default() -> Self {
        GcParams {
            pause: 200,
            stepmul: 100,
            running: true,
            threshold: MIN_THRESHOLD,
            in_finalizers: false,
            generational: false,
            cycles: 0,
            stress: false,
        }
    }
}

impl GcParams {
    /// Enters or leaves stress mode (`Vm::gc_set_stress`). Leaving it
    /// re-arms the first collection's threshold rather than collecting at
    /// the next safe point.
    pub(crate) fn set_stress(&mut self, on: bool) {
        self.stress = on;
        self.threshold = if on { 0 } else { MIN_THRESHOLD };
    }
}

/// A VM's objects with finalizers (`lgc.c`'s `finobj` and `tobefnz`
/// lists).
#[derive(Debug, Default)]
pub(crate) struct Finalizers {
    /// Objects with `__gc` whose finalizer has not run yet.
    pub(crate) finobj: Vec<Value>,
    /// Identities of the objects in `finobj` (`fin_key`), for O(1)
    /// membership checks in `setmetatable`.
    pub(crate) finobj_keys: HashSet<(u8, u64)>,
    /// Unreachable objects whose finalizers are due.
    pub(crate) tobefnz: VecDeque<Value>,
}

impl Unused for Finalizers {
    fn none() -> &'static Finalizers {
        static NONE: std::sync::OnceLock<Finalizers> = std::sync::OnceLock::new();
        NONE.get_or_init(Finalizers::default)
    }
}

/// A part of the state that most VMs or threads never use (a hook,
/// finalizers), in a box made on the first write: a million idle agents
/// then hold a pointer each, not the part. Reads before that see the
/// type's empty one (`Unused::none`).
#[derive(Debug, Default)]
pub(crate) struct OnDemand<T>(Option<Box<T>>);

/// A type kept `OnDemand`: its empty value, shared.
pub(crate) trait Unused: Default + 'static {
    /// The empty value every `OnDemand` without a box reads.
    fn none() -> &'static Self;
}

impl<T: Unused> OnDemand<T> {
    /// A box holding `value`.
    pub(crate) fn new(value: T) -> OnDemand<T> {
        OnDemand(Some(Box::new(value)))
    }
}

impl<T: Unused> std::ops::Deref for OnDemand<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        match self.0.as_deref() {
            Some(part) => part,
            None => T::none(),
        }
    }
}

impl<T: Unused> std::ops::DerefMut for OnDemand<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        self.0.get_or_insert_with(Box::default)
    }
}

/// Identity of an object that can have a finalizer (tables and userdata):
/// what `Vm::finobj_keys` holds (added by `meta.rs`'s `setmetatable`,
/// removed by `gc.rs`).
pub(crate) fn fin_key(v: Value) -> Option<(u8, u64)> {
    match v {
        Value::Table(t) => Some((0, t.data().as_ffi())),
        Value::UserData(u) => Some((1, u.data().as_ffi())),
        _ => None,
    }
}

/// State of the instruction limit (`Vm::limit`; `limit.rs`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct InstructionLimit {
    /// The real budget's level below which the limit is exceeded.
    pub(crate) mark: i64,
    /// How far running message handlers' graces have lowered `mark`: at
    /// most `limit::LIMIT_GRACE` in all, however handlers nest or retry.
    pub(crate) grace: i64,
    /// The limit's error has been raised.
    pub(crate) exceeded: bool,
}

/// Why the driver loop stopped before its frames finished (`resume.rs`).
#[derive(Debug)]
pub(crate) enum Suspend {
    /// The instruction budget ran out.
    OutOfFuel,
    /// A native offloaded a job.
    Offload(Job),
    /// The driven thread yielded this many values to its driver.
    Yield(usize),
    /// A native waits for what the driver provides (`Vm::waitk`).
    Wait,
}

/// One Lua virtual machine: a heap, a registry and globals, and the running
/// thread.
///
/// A `Vm` is unsized and lives in the `Box` that [`Vm::new`] returns, so
/// the `&mut Vm` that natives and hooks receive cannot be swapped with or
/// replaced by another VM's state (`std::mem::swap` and `*vm = ..` need a
/// sized type) while the interpreter is in the middle of running it. The
/// type parameter only makes that unsizing possible: always write `Vm`.
///
/// ```compile_fail
/// fn native(vm: &mut vm_core::Vm, other: &mut vm_core::Vm) {
///     std::mem::swap(vm, other); // `Vm` is not `Sized`
/// }
/// ```
///
/// ```compile_fail
/// fn native(vm: &mut vm_core::Vm) {
///     *vm = *vm_core::Vm::new(); // nor can it be assigned
/// }
/// ```
pub struct Vm<Unmovable: ?Sized = [()]> {
    pub(crate) heap: Heap,
    /// The running thread's state (see the module invariant).
    pub(crate) th: Box<Thread>,
    pub(crate) cur: ThreadRef,
    pub(crate) main: ThreadRef,
    pub(crate) registry: TableRef,
    pub(crate) globals: TableRef,
    /// Metatables of non-table types, by `meta::type_index`.
    pub(crate) type_mt: TypeMetatables,
    /// Current depth of recursive native-to-Lua calls.
    pub(crate) n_ccalls: u32,
    /// Values rooted by the embedder (`Vm::root`), in an arena of the
    /// heap's version base (a `RootId` of another VM names nothing), made
    /// at the first root: most agents never root anything.
    pub(crate) roots: Option<Box<Arena<RootKey, Value>>>,
    /// Values the conversions of the handle layer hold while user code
    /// (a `FromLua` or `IntoLua` impl, Lua it calls) may collect
    /// (`Vm::with_scratch`), marked by the collector; `scratch_depth`
    /// counts the scopes open, outside of which nothing is kept.
    pub(crate) scratch: thin_vec::ThinVec<Value>,
    pub(crate) scratch_depth: u32,
    /// What few VMs use, boxed at first use (`Rare`).
    pub(crate) rare: Option<Box<Rare>>,
    /// Objects with `__gc`, and those whose finalizers are due (`gc.rs`,
    /// `finalize.rs`), in a box made when the first one comes.
    pub(crate) fin: OnDemand<Finalizers>,
    /// Collector parameters and switches.
    pub(crate) gc: GcParams,
    /// Receives warnings (`warn`); none by default.
    pub(crate) warn_handler: Option<WarnHandler>,
    /// Where warnings go without a handler: nowhere, or standard error
    /// (`Vm::warn_to_stderr`), on or off.
    pub(crate) warn_stderr: WarnStderr,
    /// Instruction budget left in the current `start`/`resume`.
    pub(crate) fuel: i64,
    /// Budget held back from `fuel` while the running thread's hook traps
    /// every instruction (`Vm::set_fuel`); the budget left is the sum.
    pub(crate) fuel_reserve: i64,
    /// Bytes of all thread stacks and frame lists, as of the last
    /// collection plus growth since (`limit.rs`).
    pub(crate) stack_bytes: usize,
    /// Finalizers are due: the next instruction boundary starts their
    /// runner (`finalize.rs`).
    pub(crate) fin_due: bool,
    /// A message handler's trampoline is being pushed (`msgh.rs`): it may
    /// use the error-handling stack space.
    pub(crate) starting_handler: bool,
    /// Some thread has had a hook: thread switches and native returns
    /// then look for one.
    pub(crate) hooks_seen: bool,
    /// The budget the current `start`/`resume` began with.
    pub(crate) slice_fuel: i64,
    /// Fuel the last `start`/`resume` used (`Vm::fuel_used`).
    pub(crate) last_fuel_used: u64,
    /// Why the driver loop must stop (set by fuel exhaustion, an offload
    /// or a yield to the driver).
    pub(crate) suspend: Option<Suspend>,
    /// The thread and frame depth the innermost driver loop runs down to
    /// (`call::run_anchored`).
    pub(crate) anchor: ThreadRef,
    pub(crate) anchor_stop: usize,
    /// The frame depth of the running thread at which the interpreter
    /// returns to the driver loop: `anchor_stop` on the anchor thread, 0
    /// on the coroutines it resumed (kept in step by `switch_to`).
    pub(crate) exec_floor: usize,
    /// The call `Vm::start` runs on the main thread: its function slot and
    /// the frame depth below it.
    pub(crate) main_call: Option<(u32, u32)>,
    /// Chains suspended by their driver, kept alive by the collector.
    pub(crate) parked: Parked,
    /// True while a driver runs a thread (`Vm::start`/`Vm::resume`): the
    /// base run may then be suspended.
    pub(crate) suspendable: bool,
    /// Natives and continuations by identity (`Vm::register_natives`).
    pub(crate) natives: NativeRegistry,
    /// The lazy globals not made yet (`lazy.rs`).
    pub(crate) lazy: Option<Box<LazyState>>,
    /// The embedder's data (`Vm::set_extra`, `lua_getextraspace`).
    pub(crate) extra: Option<Extra>,
    /// The unsized tail (see the type's documentation); always empty.
    #[allow(dead_code)]
    pub(crate) unmovable: Unmovable,
}

impl Vm {
    /// `self` again, with its tail's length as a visible constant: code
    /// that calls out of line at every turn (the interpreter loop) then
    /// passes a constant instead of keeping the length in a register.
    #[inline(always)]
    pub(crate) fn thin(&mut self) -> &mut Vm {
        let empty = std::ptr::slice_from_raw_parts_mut(std::ptr::from_mut(self).cast::<()>(), 0);
        // SAFETY: every `Vm` is made by unsizing one with an empty tail
        // (`Vm::new`), so this is the pointer `self` already is.
        unsafe { &mut *(empty as *mut Vm) }
    }

    /// The globals table (`_G`) as a raw handle, for natives ([`Vm::globals`]
    /// is the owned handle).
    pub fn globals_ref(&self) -> TableRef {
        self.globals
    }

    /// The registry table.
    pub fn registry(&self) -> TableRef {
        self.registry
    }

    /// The main thread.
    pub fn main_thread(&self) -> ThreadRef {
        self.main
    }

    /// The running thread.
    pub fn current_thread(&self) -> ThreadRef {
        self.cur
    }

    /// Sets (`on`) or clears `flag` on the running thread's top frame, if
    /// it has one.
    pub(crate) fn set_top_frame_flag(&mut self, flag: u16, on: bool) {
        if let Some(ci) = self.th.frames.last_mut() {
            if on {
                ci.flags |= flag;
            } else {
                ci.flags &= !flag;
            }
        }
    }

    /// The state of thread `t`, running or not (`None` if it was
    /// collected).
    pub(crate) fn thread(&self, t: ThreadRef) -> Option<&Thread> {
        if t == self.cur {
            Some(&self.th)
        } else {
            self.heap.threads.get(t).and_then(ThreadSlot::get)
        }
    }

    /// [`Vm::thread`], to change it.
    pub(crate) fn thread_mut(&mut self, t: ThreadRef) -> Option<&mut Thread> {
        if t == self.cur {
            Some(&mut self.th)
        } else {
            self.heap.threads.get_mut(t).and_then(ThreadSlot::get_mut)
        }
    }
}

/// The parts of a `Vm` that few VMs use, in a box made at first use: a
/// million agents carry one word for them.
#[derive(Default)]
pub(crate) struct Rare {
    /// The cells of the owned handles given out (`handle.rs`), marked
    /// at every collection while Rust holds them.
    pub(crate) handles: Handles,
    /// A "bad handle" error that a writer of a native's frame noted, for
    /// the native to raise when it returns (`Vm::take_misuse`).
    pub(crate) misuse: Option<LuaError>,
    /// The hard instruction limit, if any (`limit.rs`).
    pub(crate) limit: Option<InstructionLimit>,
    /// The native closure every hook's runner frame calls (`hook.rs`),
    /// made once.
    pub(crate) hook_runner: Option<NativeRef>,
    /// The operands of the last `Vm::resumek` / `Vm::offloadk` that do not
    /// fit in a `Step` (its single word is the value count).
    pub(crate) request_thread: Option<ThreadRef>,
    pub(crate) request_job: Option<Job>,
}

impl Vm {
    /// The rare parts, made if they were not.
    pub(crate) fn rare(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }

    /// The instruction limit, if any.
    #[inline]
    pub(crate) fn instruction_limit(&self) -> Option<InstructionLimit> {
        self.rare.as_ref().and_then(|r| r.limit)
    }

    /// The instruction limit, to change it.
    #[inline]
    pub(crate) fn instruction_limit_mut(&mut self) -> Option<&mut InstructionLimit> {
        self.rare.as_mut().and_then(|r| r.limit.as_mut())
    }

    /// The misuse noted, taken.
    #[inline]
    pub(crate) fn take_noted_misuse(&mut self) -> Option<LuaError> {
        self.rare.as_mut().and_then(|r| r.misuse.take())
    }
}

/// Chains suspended by their driver (`Vm::parked`): the thread the driver
/// resumed to the thread that was running. The main thread's chain, which
/// a program driven slice after slice parks and resumes at every slice,
/// has its own field; the others are in a map, so that resuming one of
/// many parked coroutines is O(1).
pub(crate) struct Parked {
    main: ThreadRef,
    main_top: Option<ThreadRef>,
    /// Made when a coroutine's chain is first parked.
    others: Option<Box<hashbrown::HashMap<ThreadRef, ThreadRef>>>,
}

impl Parked {
    pub(crate) fn new(main: ThreadRef) -> Parked {
        Parked {
            main,
            main_top: None,
            others: None,
        }
    }

    /// The top of `root`'s parked chain.
    #[inline]
    pub(crate) fn get(&self, root: ThreadRef) -> Option<ThreadRef> {
        if root == self.main {
            self.main_top
        } else {
            self.others.as_ref()?.get(&root).copied()
        }
    }

    #[inline]
    pub(crate) fn remove(&mut self, root: ThreadRef) -> Option<ThreadRef> {
        if root == self.main {
            self.main_top.take()
        } else {
            self.others.as_mut()?.remove(&root)
        }
    }

    #[inline]
    pub(crate) fn insert(&mut self, root: ThreadRef, top: ThreadRef) {
        if root == self.main {
            self.main_top = Some(top);
        } else {
            self.others
                .get_or_insert_with(Box::default)
                .insert(root, top);
        }
    }

    /// Every (root, top) pair.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (ThreadRef, ThreadRef)> + '_ {
        let main = self.main_top.map(|top| (self.main, top));
        main.into_iter().chain(
            self.others
                .iter()
                .flat_map(|m| m.iter())
                .map(|(&root, &top)| (root, top)),
        )
    }
}
