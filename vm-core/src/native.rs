//! The native-function ABI (`lua_CFunction`, `lua_KFunction`).
//!
//! A native never calls back into the interpreter to run Lua code that may
//! need to be resumable: it returns a [`Step`] saying what the interpreter
//! must do next. Calls requested this way ([`Vm::callk`], [`Vm::pcallk`])
//! run on the interpreter's own loop, and when they finish the interpreter
//! calls the named [`Continuation`] recorded on the native's frame with the
//! results on the stack. The same holds for yields ([`Vm::yieldk`]),
//! coroutine resumes ([`Vm::resumek`]) and blocking work handed to the
//! driver ([`Vm::offloadk`] with a [`Job`]). A native is charged its declared
//! fuel cost each time it starts; a panic inside it becomes a Lua error.
//!
//! Natives and continuations are plain `fn` items in `static`s, each with
//! a unique identity ([`NativeFunction::id`], [`Continuation::id`]) under
//! which a VM registers it ([`Vm::register_natives`]) and finds it again
//! ([`Vm::find_native`], [`Vm::find_continuation`]); their state is Lua
//! values on the stack plus a small integer context, never a captured
//! closure. That is what makes a suspended native frame persistable: a
//! snapshot names its native and continuation by identity.

use crate::error::LuaResult;
use crate::state::{FrameKind, Vm};
use crate::value::{ThreadRef, Value};

/// Where a native frame's values live: stack slots `base..` of the running
/// thread. Argument `i` (1-based) is `vm.arg(args, i)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Args {
    pub(crate) base: usize,
    pub(crate) count: usize,
}

impl Args {
    /// Number of arguments the native was called with.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the native was called without arguments.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// Signature of a native function.
pub type NativeFn = fn(&mut Vm, Args) -> LuaResult<Step>;

/// Signature of a continuation: called with the frame's `Args` (the stack
/// may hold more values above them: the results of the requested call),
/// the outcome of that call, and the context integer given with the step.
pub type ContinuationFn = fn(&mut Vm, Args, Status, i64) -> LuaResult<Step>;

/// A native function: its identity, its name, the function and its cost.
///
/// The identity ([`NativeFunction::id`]) is unique among everything a VM
/// registers; the name ([`NativeFunction::name`]) is the field
/// [`Vm::register`] stores it under, which several natives may share
/// (`io.close` and a file's `close`). The `const` constructors give a
/// native its name as its identity; [`NativeFunction::with_id`] sets one
/// of its own:
///
/// ```
/// use vm_core::{Args, LuaResult, NativeFunction, Step, Vm};
///
/// fn close(_vm: &mut Vm, _args: Args) -> LuaResult<Step> {
///     Ok(Step::Return(0))
/// }
///
/// static CLOSE: NativeFunction = NativeFunction::new("close", close).with_id("mylib.close");
/// assert_eq!((CLOSE.id, CLOSE.name), ("mylib.close", "close"));
/// ```
#[derive(Debug)]
pub struct NativeFunction {
    /// Identity: unique among the natives and continuations registered in
    /// the process ([`Vm::register_natives`]), and stable across versions,
    /// since a snapshot refers to the native by it. The standard library's
    /// are `library.name` (`"string.gsub"`, `"base.load"`), with the type
    /// for methods (`"io.file:close"`), and vm-core's own are `core.*`.
    pub id: &'static str,
    /// The name [`Vm::register`] gives it as a table field (`"close"`);
    /// not unique. (Error messages name a native by how it was called,
    /// or by where `package.loaded` holds it, as Lua does.)
    pub name: &'static str,
    /// The function.
    pub func: NativeFn,
    /// Fuel charged each time the native is started (the instruction
    /// budget counts one unit per VM instruction dispatched). A native that the rest
    /// of a slice's budget cannot pay for waits for the next slice, unless
    /// it is the first thing that slice does.
    pub cost: u32,
}

impl NativeFunction {
    /// A native named `name`, which is also its identity, costing one
    /// unit of fuel per call.
    pub const fn new(name: &'static str, func: NativeFn) -> Self {
        NativeFunction {
            id: name,
            name,
            func,
            cost: 1,
        }
    }

    /// A native costing `cost` units of fuel per call (for natives whose
    /// work is worth many instructions); its name is its identity.
    pub const fn with_cost(name: &'static str, func: NativeFn, cost: u32) -> Self {
        NativeFunction {
            id: name,
            name,
            func,
            cost,
        }
    }

    /// The same native with identity `id` (its name unchanged).
    #[must_use]
    pub const fn with_id(self, id: &'static str) -> Self {
        NativeFunction { id, ..self }
    }
}

/// A continuation: its identity and the function.
#[derive(Debug)]
pub struct Continuation {
    /// Identity, unique among the natives and continuations registered in
    /// the process (see [`NativeFunction::id`]): the standard library's are
    /// `library.name_k` (`"string.gsub_k"`).
    pub id: &'static str,
    /// The function.
    pub func: ContinuationFn,
}

impl Continuation {
    /// A continuation with identity `id`.
    pub const fn new(id: &'static str, func: ContinuationFn) -> Self {
        Continuation { id, func }
    }
}

/// The natives and continuations of a library, registered together by
/// [`Vm::register_natives`]: all of them, those stored in tables and those
/// that only ever appear on a stack or in a frame (iterators a function
/// returns, continuations).
///
/// ```
/// use vm_core::{Args, Continuation, LuaResult, NativeFunction, NativeList, Status, Step, Vm};
///
/// fn f(_vm: &mut Vm, _args: Args) -> LuaResult<Step> {
///     Ok(Step::Return(0))
/// }
/// fn f_k(_vm: &mut Vm, _args: Args, _status: Status, _ctx: i64) -> LuaResult<Step> {
///     Ok(Step::Return(0))
/// }
///
/// static F: NativeFunction = NativeFunction::new("f", f).with_id("mylib.f");
/// static F_K: Continuation = Continuation::new("mylib.f_k", f_k);
/// static MYLIB: NativeList = NativeList {
///     natives: &[&F],
///     continuations: &[&F_K],
/// };
///
/// let mut vm = Vm::new();
/// vm.register_natives(&MYLIB).unwrap();
/// assert!(std::ptr::eq(vm.find_native("mylib.f").unwrap(), &F));
/// assert!(std::ptr::eq(vm.find_continuation("mylib.f_k").unwrap(), &F_K));
/// assert!(vm.find_native("mylib.f_k").is_none());
/// ```
#[derive(Debug)]
pub struct NativeList {
    /// The natives.
    pub natives: &'static [&'static NativeFunction],
    /// The continuations.
    pub continuations: &'static [&'static Continuation],
}

/// What an identity names in a VM's registry.
#[derive(Clone, Copy, Debug)]
enum Registered {
    Native(&'static NativeFunction),
    Continuation(&'static Continuation),
}

impl Registered {
    /// Whether `self` and `other` are the same `static`.
    fn same(self, other: Registered) -> bool {
        match (self, other) {
            (Registered::Native(a), Registered::Native(b)) => std::ptr::eq(a, b),
            (Registered::Continuation(a), Registered::Continuation(b)) => std::ptr::eq(a, b),
            _ => false,
        }
    }

    fn id(self) -> &'static str {
        match self {
            Registered::Native(f) => f.id,
            Registered::Continuation(k) => k.id,
        }
    }
}

/// The natives and continuations a VM has registered
/// (`Vm::register_natives`): the lists themselves, so that a VM costs no
/// map of its own (a process may run a million agents, each with the
/// standard library). Identities are looked up in the process-wide
/// `INDEX`, then checked to belong to one of the VM's lists: a sandboxed
/// VM does not find what only another VM registered.
#[derive(Debug)]
pub(crate) struct NativeRegistry {
    /// The lists, last registered first, as a chain shared by every VM
    /// that registered the same lists in the same order (`Chain`): one
    /// word a VM.
    chain: &'static Chain,
}

/// A VM's lists (`NativeRegistry`): `lists`, registered after those of
/// `prev`. Made once in the process for each sequence of registrations
/// (`Chain::then`), and kept for the process's life: programs register
/// their lists in a few orders (an agent: vm-core's, the standard
/// library, `docall`'s, the `agent` library's).
#[derive(Debug)]
struct Chain {
    lists: Lists,
    prev: Option<&'static Chain>,
}

impl Chain {
    /// The chain of `prev`'s lists and then `lists`.
    fn then(prev: Option<&'static Chain>, lists: Lists) -> &'static Chain {
        type Recent = [Option<((usize, usize, bool), &'static Chain)>; 4];
        thread_local! {
            // The last steps taken on this thread: each VM made here
            // (an agent) registers the same lists, which then costs no
            // lock.
            static RECENT: std::cell::Cell<Recent> = const { std::cell::Cell::new([None; 4]) };
        }
        let key = (
            prev.map_or(0, |p| std::ptr::from_ref(p) as usize),
            lists.addr(),
            matches!(lists, Lists::Group(_)),
        );
        let mut recent = RECENT.get();
        if let Some((_, chain)) = recent.iter().flatten().find(|(k, _)| *k == key) {
            return chain;
        }
        let chain = Chain::find_or_make(key, prev, lists);
        recent.rotate_right(1);
        recent[0] = Some((key, chain));
        RECENT.set(recent);
        chain
    }

    fn find_or_make(
        key: (usize, usize, bool),
        prev: Option<&'static Chain>,
        lists: Lists,
    ) -> &'static Chain {
        type Chains = hashbrown::HashMap<(usize, usize, bool), &'static Chain>;
        static CHAINS: std::sync::OnceLock<std::sync::RwLock<Chains>> = std::sync::OnceLock::new();
        let chains = CHAINS.get_or_init(Default::default);
        let known = chains
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
            .copied();
        known.unwrap_or_else(|| {
            *chains
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .entry(key)
                .or_insert_with(|| Box::leak(Box::new(Chain { lists, prev })))
        })
    }

    /// Every list, last registered first.
    fn iter(&'static self) -> impl Iterator<Item = &'static NativeList> {
        std::iter::successors(Some(self), |c| c.prev).flat_map(|c| c.lists.iter())
    }
}

/// What a VM registered at once: a list, or a group of them (a whole
/// standard library, `Vm::register_native_lists`).
#[derive(Clone, Copy, Debug)]
enum Lists {
    One(&'static NativeList),
    Group(&'static [&'static NativeList]),
}

impl Lists {
    /// The list's or the group's address.
    fn addr(self) -> usize {
        match self {
            Lists::One(l) => std::ptr::from_ref(l) as usize,
            Lists::Group(g) => g.as_ptr() as usize,
        }
    }

    fn iter(self) -> impl Iterator<Item = &'static NativeList> {
        let (one, group): (Option<&'static NativeList>, &'static [&'static NativeList]) = match self
        {
            Lists::One(l) => (Some(l), &[]),
            Lists::Group(g) => (None, g),
        };
        one.into_iter().chain(group.iter().copied())
    }
}

/// Every identity any VM of the process registered, to what it names.
/// Identities are unique in the process, not only in a VM: a snapshot
/// names natives by identity, and may be restored by another VM (or
/// process) than the one that saved it.
#[derive(Default)]
struct Index {
    by_id: hashbrown::HashMap<&'static str, Registered>,
    /// The lists added to `by_id` already (their addresses).
    lists: hashbrown::HashSet<usize>,
}

fn index() -> &'static std::sync::RwLock<Index> {
    static INDEX: std::sync::OnceLock<std::sync::RwLock<Index>> = std::sync::OnceLock::new();
    INDEX.get_or_init(Default::default)
}

impl Index {
    /// Adds every entry of `list`, or none: `Err` with the identity that
    /// names something else already (or twice in `list`).
    fn add(&mut self, list: &'static NativeList) -> Result<(), (Registered, Registered)> {
        let entries = || {
            list.natives.iter().map(|&f| Registered::Native(f)).chain(
                list.continuations
                    .iter()
                    .map(|&k| Registered::Continuation(k)),
            )
        };
        let mut fresh = hashbrown::HashMap::new();
        for e in entries() {
            match self.by_id.get(e.id()).or_else(|| fresh.get(e.id())) {
                Some(&old) if old.same(e) => {}
                Some(&old) => return Err((old, e)),
                None => {
                    fresh.insert(e.id(), e);
                }
            }
        }
        self.by_id.extend(fresh);
        self.lists.insert(std::ptr::from_ref(list) as usize);
        Ok(())
    }
}

/// Adds `list` to the process-wide index unless it is there already.
fn index_list(list: &'static NativeList) -> Result<(), (Registered, Registered)> {
    let known = index()
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .lists
        .contains(&(std::ptr::from_ref(list) as usize));
    if known {
        return Ok(());
    }
    index()
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .add(list)
}

impl NativeRegistry {
    /// A registry holding `core`, vm-core's own natives
    /// (`newstate::CORE_NATIVES`).
    pub(crate) fn new(core: &'static NativeList) -> Self {
        let added = index_list(core);
        debug_assert!(added.is_ok(), "vm-core's natives have unique ids");
        NativeRegistry {
            chain: Chain::then(None, Lists::One(core)),
        }
    }

    fn add(&mut self, list: &'static NativeList) -> Result<(), (Registered, Registered)> {
        if self.holds(list) {
            return Ok(());
        }
        index_list(list)?;
        self.chain = Chain::then(Some(self.chain), Lists::One(list));
        Ok(())
    }

    /// `add` of every list of `group`, as one entry (one lookup of the
    /// process-wide index once the group is known there).
    fn add_group(
        &mut self,
        group: &'static [&'static NativeList],
    ) -> Result<(), (Registered, Registered)> {
        let key = group.as_ptr() as usize;
        let known = index()
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .lists
            .contains(&key);
        if !known {
            let mut index = index()
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for &list in group {
                if !index.lists.contains(&(std::ptr::from_ref(list) as usize)) {
                    index.add(list)?;
                }
            }
            index.lists.insert(key);
        }
        self.chain = Chain::then(Some(self.chain), Lists::Group(group));
        Ok(())
    }

    /// Whether `list` is one of this VM's.
    fn holds(&self, list: &'static NativeList) -> bool {
        self.chain.iter().any(|l| std::ptr::eq(l, list))
    }

    /// What `id` names, if one of this VM's lists holds it.
    fn find(&self, id: &str) -> Option<Registered> {
        let found = *index()
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .by_id
            .get(id)?;
        let held = self.chain.iter().any(|l| match found {
            Registered::Native(f) => l.natives.iter().any(|&g| std::ptr::eq(f, g)),
            Registered::Continuation(k) => l.continuations.iter().any(|&g| std::ptr::eq(k, g)),
        });
        held.then_some(found)
    }
}

/// Outcome of a call requested by a native, as seen by its continuation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The call returned; its results are on top of the stack, starting at
    /// the slot where the called function was.
    Ok,
    /// A protected call failed (or an offloaded job failed, or the resumed
    /// coroutine died); the error value is on top of the stack, at the slot
    /// where the called function was.
    Error,
    /// The native yielded (`Vm::yieldk` with a continuation) and was
    /// resumed: the values passed to `resume` are on top of the stack.
    Yield,
}

/// What the interpreter must do after a native function (or continuation)
/// returns.
///
/// Returns and tail calls are plain values. Everything after which the
/// native goes on in a continuation (a call, a protected call, a yield, a
/// coroutine resume, an offloaded job) is made by the `Vm` method that
/// also records the continuation, its context and the request's other
/// operands on the native's frame, as `lua_callk` does: [`Vm::callk`],
/// [`Vm::pcallk`], [`Vm::yieldk`], [`Vm::resumek`], [`Vm::offloadk`]. Such
/// a step must be returned at once (a later request replaces the record).
///
/// Every variant holds one word, so a `LuaResult<Step>` comes back from a
/// native in two registers: a bigger step, written to memory by the native
/// and copied by the interpreter, cost a store-forwarding stall per call.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Return the top `n` values of the stack to the caller.
    Return(usize),
    /// Replace this native's frame with a call of the value `nargs + 1`
    /// slots below the top (a tail call).
    TailCall {
        /// Number of arguments on top of the stack.
        nargs: usize,
    },
    /// Made by [`Vm::callk`].
    Call(Request),
    /// Made by [`Vm::pcallk`].
    PCall(Request),
    /// Made by [`Vm::yieldk`].
    Yield(Request),
    /// Made by [`Vm::resumek`].
    Resume(Request),
    /// Made by [`Vm::offloadk`].
    Offload(Request),
    /// Made by [`Vm::pausek`].
    Pause(Request),
    /// Made by [`Vm::waitk`].
    Wait(Request),
}

/// The value count of a request whose other operands are recorded on the
/// native's frame (see [`Step`]); only the `Vm` methods that record them
/// make one.
#[derive(Debug, PartialEq, Eq)]
pub struct Request(pub(crate) usize);

impl Vm {
    /// Registers every native and continuation of `list` under its
    /// identity, so that [`Vm::find_native`] and [`Vm::find_continuation`]
    /// find them (what a snapshot's restore does). Each library of
    /// vm-stdlib registers its list when it is opened; vm-core's own
    /// natives are registered in every VM. Registering a `static` that is
    /// registered already does nothing. A VM keeps only a pointer to the
    /// list; the identities go to an index shared by the process, where
    /// the first VM to register a list puts them.
    ///
    /// # Errors
    /// When an identity of `list` names another native or continuation
    /// already, in any VM of the process (natives and continuations share
    /// one namespace; a snapshot may be restored by another VM than the
    /// one that saved it), or two entries of `list`: then nothing of
    /// `list` is registered.
    pub fn register_natives(&mut self, list: &'static NativeList) -> LuaResult<()> {
        let added = self.natives.add(list);
        self.registered(added)
    }

    /// [`Vm::register_natives`] of every list of `lists` at once (a whole
    /// standard library): one entry in the VM, which a million agents
    /// each with every library then pay once, not once a library.
    ///
    /// # Errors
    /// As [`Vm::register_natives`]; the lists before the failing one stay
    /// registered in the process, none in this VM.
    pub fn register_native_lists(
        &mut self,
        lists: &'static [&'static NativeList],
    ) -> LuaResult<()> {
        let added = self.natives.add_group(lists);
        self.registered(added)
    }

    /// The error of a registration that failed.
    fn registered(&mut self, added: Result<(), (Registered, Registered)>) -> LuaResult<()> {
        match added {
            Ok(()) => Ok(()),
            Err((old, new)) => {
                let what = |r: Registered| match r {
                    Registered::Native(_) => "native",
                    Registered::Continuation(_) => "continuation",
                };
                let msg = format!(
                    "Vm::register_natives: cannot register a {} as '{}': \
                     that identity names another {} already",
                    what(new),
                    new.id(),
                    what(old)
                );
                Err(self.api_error(&msg))
            }
        }
    }

    /// The native registered under identity `id` ([`NativeFunction::id`]),
    /// if any.
    pub fn find_native(&self, id: &str) -> Option<&'static NativeFunction> {
        match self.natives.find(id) {
            Some(Registered::Native(f)) => Some(f),
            _ => None,
        }
    }

    /// The continuation registered under identity `id`
    /// ([`Continuation::id`]), if any.
    pub fn find_continuation(&self, id: &str) -> Option<&'static Continuation> {
        match self.natives.find(id) {
            Some(Registered::Continuation(k)) => Some(k),
            _ => None,
        }
    }

    /// The native function a native value calls (what a snapshot records
    /// of it, by its [`NativeFunction::id`], with its upvalues); `None`
    /// for any other value, a bad handle, and a Rust closure
    /// ([`Vm::create_function`]), which has no identity.
    pub fn native_function(&self, f: Value) -> Option<&'static NativeFunction> {
        match f {
            Value::Native(r) if crate::light::is_light(r) => crate::light::native(r),
            Value::Native(r) => self
                .heap
                .natives
                .get(r)
                .filter(|nc| nc.closure.is_none())
                .map(|nc| nc.func),
            _ => None,
        }
    }

    /// Records continuation `k` with context `ctx` on the native frame on
    /// top (the native that is running).
    /// (Outside any native there is no such frame, and the request the
    /// caller makes is refused where it is used.)
    fn set_continuation(&mut self, k: Option<&'static Continuation>, ctx: i64) {
        if let Some(ci) = self.th.frames.last_mut() {
            if matches!(ci.kind, FrameKind::Native(_)) {
                ci.k = k;
                ci.ctx = ctx;
            }
        }
    }

    /// Call the value `nargs + 1` slots below the top with the `nargs`
    /// values above it as arguments, keeping all results; then call `k`
    /// with `Status::Ok` (`lua_callk`).
    pub fn callk(&mut self, nargs: usize, k: &'static Continuation, ctx: i64) -> Step {
        self.set_continuation(Some(k), ctx);
        Step::Call(Request(nargs))
    }

    /// As [`Vm::callk`], but errors raised by the call are caught: `k`
    /// receives `Status::Error` with the error value (`lua_pcallk`). With a
    /// `handler` (an absolute stack slot of this frame holding a function),
    /// the handler is applied to the error first, as `xpcall` does.
    pub fn pcallk(
        &mut self,
        nargs: usize,
        handler: Option<usize>,
        k: &'static Continuation,
        ctx: i64,
    ) -> Step {
        self.set_continuation(Some(k), ctx);
        if let Some(ci) = self.th.frames.last_mut() {
            if matches!(ci.kind, FrameKind::Native(_)) {
                // A slot outside the frame becomes one beyond the stack,
                // where the request fails.
                ci.handler = handler.map(|h| {
                    (h >= ci.base)
                        .then(|| u32::try_from(h).ok())
                        .flatten()
                        .unwrap_or(u32::MAX)
                });
            }
        }
        Step::PCall(Request(nargs))
    }

    /// Yield the top `nresults` values to the resumer (`lua_yieldk`). When
    /// the coroutine is resumed, `k` (if any) is called with
    /// `Status::Yield` and the resume arguments on top of the stack;
    /// without `k`, the resume arguments are the native's results.
    pub fn yieldk(&mut self, nresults: usize, k: Option<&'static Continuation>, ctx: i64) -> Step {
        self.set_continuation(k, ctx);
        Step::Yield(Request(nresults))
    }

    /// Resume coroutine `thread` with the top `nargs` values as arguments
    /// (`lua_resume`, stackless). When it yields or returns, the values it
    /// transfers are delivered as `deliver` says; when it dies with an
    /// error, `k` is called with `Status::Error` and the error value pushed
    /// where the arguments were. A coroutine that cannot be resumed (dead,
    /// running, normal) is reported the same way with the message
    /// `coroutine.resume` gives, except that under `Deliver::Results` it is
    /// raised, with the caller's position.
    pub fn resumek(
        &mut self,
        thread: ThreadRef,
        nargs: usize,
        deliver: Deliver,
        k: &'static Continuation,
        ctx: i64,
    ) -> Step {
        self.set_continuation(Some(k), ctx);
        if let Some(ci) = self.th.frames.last_mut() {
            ci.aux = deliver as u32;
        }
        self.rare().request_thread = Some(thread);
        Step::Resume(Request(nargs))
    }

    /// Charges `units` of fuel for work the native does (bytes produced or
    /// scanned, elements moved), on top of its declared cost: a long native
    /// pays in proportion, and once the budget is spent it should return
    /// [`Vm::pausek`] at its next consistent point.
    ///
    /// # Errors
    /// "instruction limit exceeded" past the VM's instruction limit.
    pub fn charge(&mut self, units: u64) -> LuaResult<()> {
        let units = i64::try_from(units).unwrap_or(i64::MAX);
        // Checked before spending: a charge refused by the limit leaves
        // the budget at the limit, where a message handler's grace starts.
        if self.fuel < units {
            self.check_limit(units)?;
        }
        self.fuel = self.fuel.saturating_sub(units);
        Ok(())
    }

    /// Charges the scan of `v` if it is a string (converting it to a
    /// number, comparing it): one unit every 32 bytes, as the standard
    /// library's cost model has it.
    ///
    /// # Errors
    /// As [`Vm::charge`].
    pub fn charge_scan(&mut self, v: Value) -> LuaResult<()> {
        match v {
            Value::Str(s) => {
                // (A bad handle has no bytes to scan.)
                let units = self.heap.try_str_bytes(s).map_or(0, <[u8]>::len) / 32;
                if units > 0 {
                    self.charge(units as u64)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Whether the budget of this run is spent: a native working in steps
    /// should then return [`Vm::pausek`].
    pub fn budget_spent(&self) -> bool {
        self.fuel <= 0 && self.real_fuel() <= 0
    }

    /// Continue in `k` (with `Status::Ok` and the frame as it is), after
    /// letting the driver suspend the run if its budget is spent: what a
    /// native doing long work in steps returns between two steps. Where the
    /// run cannot be suspended, `k` is called at once.
    pub fn pausek(&mut self, k: &'static Continuation, ctx: i64) -> Step {
        self.set_continuation(Some(k), ctx);
        Step::Pause(Request(0))
    }

    /// Suspend the run until the driver resumes it, then continue in `k`
    /// (with `Status::Ok` and the frame as it is): the driver learns that
    /// the program waits for something the driver provides
    /// ([`Outcome::Wait`](crate::Outcome::Wait)), such as a message, that
    /// the native recorded where the driver looks. As with an offload,
    /// the whole chain of coroutines being resumed is suspended. Where the
    /// run cannot be suspended (inside a non-yieldable native call, or
    /// outside any driver) it is the error "attempt to wait across a
    /// C-call boundary".
    pub fn waitk(&mut self, k: &'static Continuation, ctx: i64) -> Step {
        self.set_continuation(Some(k), ctx);
        Step::Wait(Request(0))
    }

    /// Run `job` outside the VM (it may block) and continue in `k` with its
    /// result: values pushed (`Status::Ok`) or an error message
    /// (`Status::Error`). The whole chain of coroutines being resumed is
    /// suspended and the job is handed to the driver; where the VM cannot
    /// be suspended (inside a non-yieldable native call) the job runs in
    /// place.
    pub fn offloadk(&mut self, job: Job, k: &'static Continuation, ctx: i64) -> Step {
        self.set_continuation(Some(k), ctx);
        self.rare().request_job = Some(job);
        Step::Offload(Request(0))
    }
}

/// How a native that resumed a coroutine (`Vm::resumek`) receives the
/// values the coroutine yields or returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deliver {
    /// Its continuation is called with `Status::Ok` and the values pushed
    /// where the arguments were.
    Continuation,
    /// The values are the native's results (what `coroutine.wrap`'s
    /// functions return), without calling the continuation.
    Results,
    /// `true` followed by the values are the native's results (what
    /// `coroutine.resume` returns), without calling the continuation.
    TrueAndResults,
}

/// A Lua value that can cross OS threads: what an offloaded job receives
/// from and returns to the VM.
#[derive(Clone, Debug, PartialEq)]
pub enum JobValue {
    /// `nil`
    Nil,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Num(f64),
    /// A string (bytes).
    Str(Vec<u8>),
}

/// What a job produces: values, or an error message.
pub type JobResult = Result<Vec<JobValue>, String>;

/// Blocking work requested by a native (`Vm::offloadk`). It owns its
/// inputs and touches no VM state, so the driver may run it on any thread.
///
/// One word (the work boxed twice): a VM holds one while it waits for
/// the driver (`Suspend::Offload`), and every VM carries that slot.
pub struct Job(Box<Box<dyn FnOnce() -> JobResult + Send>>);

impl Job {
    /// Wraps the work.
    pub fn new(f: impl FnOnce() -> JobResult + Send + 'static) -> Job {
        Job(Box::new(Box::new(f)))
    }

    /// Runs the work (a panic inside it becomes an error message).
    pub fn run(self) -> JobResult {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(*self.0)) {
            Ok(r) => r,
            Err(p) => Err(format!("job {}", panic_message(&*p))),
        }
    }
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

/// "panicked: <message>" for a panic payload.
pub(crate) fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        format!("panicked: {s}")
    } else if let Some(s) = p.downcast_ref::<String>() {
        format!("panicked: {s}")
    } else {
        "panicked".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_native_result_fits_in_two_registers() {
        assert_eq!(std::mem::size_of::<Step>(), 16);
        assert_eq!(std::mem::size_of::<LuaResult<Step>>(), 16);
    }
}
