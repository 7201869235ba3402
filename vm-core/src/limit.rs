//! Limits that hold whatever a program does: the hard instruction limit
//! and the nesting of calls made by natives (`LUAI_MAXCCALLS`).
//!
//! **The instruction limit** ([`Vm::set_instruction_limit`]) counts every
//! unit of fuel the VM spends, in driven runs and in recursive calls alike
//! (where a budget cannot suspend the run, the limit still stops it). It
//! rides on the budget's slow path: the interpreter's share of the budget
//! (`Vm::fuel`) never exceeds the distance to the limit, the rest waiting
//! in `Vm::fuel_reserve` as a hook's does, so the fast path checks nothing
//! new. The limit is the level of the real budget (`Vm::real_fuel`) at
//! which it is exceeded, `limit_mark`; whenever a driver resets the budget
//! the mark moves with it (`Vm::set_budget`).
//!
//! Past the limit, the error "instruction limit exceeded" is raised at the
//! next instruction or native start, and again at every one after it, so
//! a `pcall` that catches it cannot go on. Only a message handler
//! (`xpcall`'s, the `vm` command's traceback) runs with a small grace of
//! its own (`LIMIT_GRACE` units), so that the error can be reported.
//!
//! **The memory limit** ([`Vm::set_memory_limit`]) bounds the heap's
//! accounting (`Heap::approx_bytes`: objects, strings, table parts, thread
//! stacks and frames). The collector's threshold never lets the debt run
//! past the limit, so a safe point collects before it is reached. Where
//! the heap grows between safe points (a table growing in a loop, a
//! stack, a concatenation), the growth is checked: past the limit the VM
//! collects if it safely can and otherwise, or if that is not enough,
//! raises "not enough memory" (no position, as PUC Lua's), which `pcall`
//! catches; the VM stays usable. Natives about to make a large object
//! check first ([`Vm::reserve_memory`]). Without a limit, large buffers
//! are reserved fallibly, so an allocation the system refuses is the same
//! error rather than an abort, and the thread stacks of all coroutines
//! together stay under `STACK_CAP` ("stack overflow").
//!
//! **Native call nesting.** Natives call Lua through the interpreter loop
//! (`Vm::callk`, `Vm::pcallk`), which costs no Rust stack, but a chain such
//! as `local function f() return pcall(f) end` must still end as it does
//! in PUC Lua: each native frame waiting for a call it requested counts
//! (`CALLING` flag, `Thread::ncalls`), and past `MAX_CCALLS` on one thread
//! the request fails with "C stack overflow". Lua-to-Lua calls, tail calls
//! and coroutine resumes do not count.

use crate::error::{LuaError, LuaResult};
use crate::state::{InstructionLimit, Vm, CALLING, MAX_CCALLS, MSGH};

/// The total size of all thread stacks without a memory limit: a chain of
/// thousands of coroutines, each deep in calls, ends in "stack overflow"
/// rather than taking all memory.
pub(crate) const STACK_CAP: usize = 1 << 30;

/// What a compilation may take without a memory limit (estimated, see
/// `compiler::parse::TOKEN_BYTES`): a `load` from an endless reader, or
/// of a string of hundreds of megabytes, ends in "not enough memory".
pub(crate) const COMPILE_CAP: usize = 4 << 30;

/// What a heap over its memory limit may allocate before its next
/// collection (and error), for the handlers of the error just raised. The
/// graces of successive errors come out of one margin over the limit
/// (1/16 of it, plus one grace), not each on top of the last.
const ERROR_GRACE: usize = 64 << 10;

/// The error value of a failed allocation (`LUA_ERRMEM`'s message).
pub const MEMORY_MESSAGE: &str = "not enough memory";

/// Values a `VARARG` or a switch between coroutines moves for the price
/// of the instruction or native that makes it.
const FREE_MOVES: usize = 64;

/// Units a message handler may spend past the instruction limit.
const LIMIT_GRACE: i64 = 10_000;

/// The message of the error raised past the instruction limit.
pub const LIMIT_MESSAGE: &str = "instruction limit exceeded";

impl Vm {
    /// Sets a hard limit on the fuel (instructions plus natives' costs)
    /// that this VM may spend from now on, counted across every driven run
    /// and recursive call (`None`: no limit, the default). Past it, the
    /// running code gets the Lua error "instruction limit exceeded" (a
    /// short grace lets message handlers run; every other instruction
    /// fails again, but for message handlers); setting a new limit re-arms it.
    pub fn set_instruction_limit(&mut self, limit: Option<u64>) {
        let limit = limit.map(|n| InstructionLimit {
            mark: self
                .real_fuel()
                .saturating_sub(i64::try_from(n).unwrap_or(i64::MAX)),
            grace: 0,
            exceeded: false,
        });
        // No box for a VM that never had a limit.
        if limit.is_some() || self.rare.is_some() {
            self.rare().limit = limit;
        }
        self.rewindow();
    }

    /// Whether the instruction limit's error has been raised since the
    /// limit was set, even where nothing reports it: caught by a `pcall`,
    /// or turned into a warning in a finalizer that [`Vm::close`] ran.
    pub fn instruction_limit_exceeded(&self) -> bool {
        self.instruction_limit().is_some_and(|l| l.exceeded)
    }

    /// The fuel left before the instruction limit (`None` without one).
    pub fn instruction_limit_left(&self) -> Option<u64> {
        self.instruction_limit()
            .map(|l| u64::try_from(self.real_fuel().saturating_sub(l.mark)).unwrap_or(0))
    }

    /// How far the interpreter may count down before the limit's check:
    /// the distance from the real budget `real` to the limit's mark.
    #[inline]
    pub(crate) fn limit_distance(&self, real: i64) -> i64 {
        match self.instruction_limit() {
            Some(l) => real.saturating_sub(l.mark),
            None => i64::MAX,
        }
    }

    /// Makes `real` the budget left (a driver starting or ending a run):
    /// the limit's mark moves by the same amount, so what is left of the
    /// limit is unchanged.
    pub(crate) fn set_budget(&mut self, real: i64) {
        let fuel = self.fuel + self.fuel_reserve;
        if let Some(l) = self.instruction_limit_mut() {
            let left = fuel.saturating_sub(l.mark);
            l.mark = real.saturating_sub(left);
        }
        self.set_fuel(real);
    }

    /// Raises the limit's error when spending `cost` more units would go
    /// past it. Called on the budget's slow paths only.
    #[inline]
    pub(crate) fn check_limit(&mut self, cost: i64) -> LuaResult<()> {
        match self.instruction_limit() {
            Some(l) if self.real_fuel().saturating_sub(cost) < l.mark => Err(self.limit_exceeded()),
            _ => Ok(()),
        }
    }

    #[cold]
    #[inline(never)]
    fn limit_exceeded(&mut self) -> LuaError {
        // The limit is where it was found exceeded: work spent before its
        // check (values moved by one instruction) may have taken the
        // budget past the mark, and a charge refused before it left some
        // units unspent. Either way every later instruction fails too, and
        // a message handler's grace starts from here.
        let real = self.real_fuel();
        if let Some(l) = self.instruction_limit_mut() {
            l.mark = real;
            l.exceeded = true;
        }
        // The interpreter's share of the budget ends at the new mark.
        self.rewindow();
        self.rt_error(LIMIT_MESSAGE)
    }

    /// Gives a message handler about to run up to `LIMIT_GRACE` units past
    /// the instruction limit, shared with every handler running already
    /// (so nested or retried handlers cannot multiply it). Returns how far
    /// the limit moved, for `end_handler_grace`; the amount, unlike a
    /// mark, stays right when a driver resets the budget meanwhile.
    pub(crate) fn grant_handler_grace(&mut self) -> i64 {
        let real = self.real_fuel();
        let Some(l) = self.instruction_limit_mut() else {
            return 0;
        };
        let floor = (l.mark + l.grace).saturating_sub(LIMIT_GRACE);
        let mark = l.mark.min(real.saturating_sub(LIMIT_GRACE)).max(floor);
        let moved = l.mark - mark;
        l.mark = mark;
        l.grace += moved;
        self.rewindow();
        moved
    }

    /// Ends a grace of `moved` units (`grant_handler_grace`).
    pub(crate) fn end_handler_grace(&mut self, moved: i64) {
        if let Some(l) = self.instruction_limit_mut() {
            l.mark += moved;
            l.grace -= moved;
            self.rewindow();
        }
    }

    /// Runs a message handler `f` with a grace past the instruction limit
    /// (`grant_handler_grace`); what it spends still counts.
    pub(crate) fn with_handler_grace<T>(&mut self, f: impl FnOnce(&mut Vm) -> T) -> T {
        let moved = self.grant_handler_grace();
        let r = f(self);
        self.end_handler_grace(moved);
        r
    }

    /// Limits the memory this VM's heap may use (`None`, or `usize::MAX`,
    /// which no heap reaches: no limit, the default), in the units of [`Vm::memory_used`]. Past it, allocations
    /// made by Lua code raise "not enough memory"; a limit below what is
    /// in use takes effect at the next allocation.
    pub fn set_memory_limit(&mut self, bytes: Option<usize>) {
        self.heap.set_limit(bytes);
        self.cap_threshold();
    }

    /// The memory limit, if any.
    pub fn memory_limit(&self) -> Option<usize> {
        self.heap.limit()
    }

    /// Fails with "not enough memory" when `bytes` more would take the heap
    /// past its limit: what a native checks before it makes a large object
    /// (a long string, a big table). It does not collect (the native may
    /// hold unrooted values).
    ///
    /// # Errors
    /// "not enough memory".
    pub fn reserve_memory(&mut self, bytes: usize) -> LuaResult<()> {
        if self.heap.over_limit(bytes) {
            return Err(self.memory_error());
        }
        Ok(())
    }

    /// [`Vm::reserve_memory`], collecting garbage first when `bytes` more
    /// would pass the limit, as PUC Lua's allocator does before it fails.
    /// Call it only where every value the native still needs is on the
    /// stack (its arguments, what it pushed): the collection frees the
    /// rest.
    ///
    /// # Errors
    /// "not enough memory" if the room is still lacking after collecting.
    pub fn make_room(&mut self, bytes: usize) -> LuaResult<()> {
        if !self.heap.over_limit(bytes) {
            return Ok(());
        }
        self.collect_for_room()?;
        // A collection that leaves less than a 64th of the limit free
        // fails too: live data that nears the limit would otherwise make
        // each allocation collect the whole heap to free just enough for
        // itself. (A program that catches the error and goes on still
        // collects at each failure, as PUC's emergency collection does:
        // it may have let data go, and only a collection can tell; the
        // instruction limit bounds it, `collection_failed`.)
        let margin = self.heap.limit().map_or(0, |l| l / 64);
        if self.heap.over_limit(bytes.saturating_add(margin)) {
            return Err(self.collection_failed());
        }
        Ok(())
    }

    /// How far past the limit the graces of caught "not enough memory"
    /// errors may take the heap, all together (`cap_threshold`).
    fn ceiling(&self) -> usize {
        self.heap.limit().map_or(usize::MAX, |limit| {
            limit.saturating_add(limit / 16).saturating_add(ERROR_GRACE)
        })
    }

    /// A full collection to make room for an allocation, unless the
    /// instruction limit is already passed: then its error, at once. A
    /// finalizer runs a few instructions without reaching a check of the
    /// limit, and one that allocates past the memory limit would otherwise
    /// collect before it fails, again for each of thousands of finalizers.
    pub(crate) fn collect_for_room(&mut self) -> LuaResult<()> {
        if let Err(e) = self.check_limit(1) {
            // The next safe point must not raise it again before whatever
            // catches it (a protected frame about to continue) has run.
            self.gc.threshold = self.heap.debt.saturating_add(ERROR_GRACE);
            return Err(e);
        }
        self.full_gc();
        Ok(())
    }

    /// The error after a collection made for room that did not free
    /// enough, charged as `collectgarbage()` is (one unit per 32 bytes in
    /// use): a program that catches "not enough memory" and asks again
    /// collects again, and the budget and the instruction limit must bound
    /// that as they bound a loop of `collectgarbage()`.
    #[cold]
    pub(crate) fn collection_failed(&mut self) -> LuaError {
        self.spend(self.heap.live as u64 / 32);
        self.memory_error()
    }

    /// The "not enough memory" error (a plain message, as `lua_error` of
    /// PUC's memory error gives).
    #[cold]
    #[inline(never)]
    pub fn memory_error(&mut self) -> LuaError {
        // The refusal that led here, if one did, is reported.
        self.heap.refused = false;
        LuaError::new(self.new_str(MEMORY_MESSAGE.as_bytes()))
    }

    /// Keeps the collector's threshold under the memory limit, so that a
    /// safe point collects before the limit is reached.
    pub(crate) fn cap_threshold(&mut self) {
        if let Some(limit) = self.heap.limit() {
            let live = self.heap.live;
            // Collect when half the room is used, so that garbage made
            // between two safe points rarely reaches the limit; but not
            // more often than every 1/16 of the limit, or a heap whose
            // live data nears the limit would collect at every safe point
            // (the growth checks raise the error there).
            //
            // A heap still over the limit (its collection raised the
            // error) gets a grace for the error's handlers, but one taken
            // from a fixed margin over the limit, not renewed by each
            // error: a program that catches the error and keeps what it
            // allocates collects (and fails) at every allocation once the
            // margin is spent, so it can never creep past it.
            let pace = if live < limit {
                ((limit - live) / 2).max(limit / 16)
            } else {
                self.ceiling().saturating_sub(live).clamp(1, ERROR_GRACE)
            };
            self.gc.threshold = self.gc.threshold.min(pace);
        }
    }

    /// Called where the heap grew past its limit at a point where a
    /// collection is safe (every live value on a stack): collects, then
    /// fails if the heap is still over the limit.
    #[cold]
    #[inline(never)]
    pub(crate) fn memory_breach(&mut self) -> LuaResult<()> {
        self.make_room(0)
    }

    /// Accounts for the running thread's stack growth where raising an
    /// error is not possible (values moved between threads): the limit is
    /// checked at the next safe point, which the debt brings closer.
    #[cold]
    #[inline(never)]
    pub(crate) fn note_stack_growth(&mut self) {
        let grown = self.th.take_growth();
        self.heap.debt += grown;
        self.stack_bytes += grown;
    }

    /// Spends the fuel of moving `n` values (varargs, values passed
    /// between threads; a native's results are paid by the native that
    /// makes them): one unit every two values (32 bytes) past
    /// the first `FREE_MOVES`, which the instruction or call pays. Where
    /// raising is not possible: the budget's check at the next instruction
    /// or native start sees it.
    #[inline]
    pub(crate) fn spend_moves(&mut self, n: usize) {
        if n > FREE_MOVES {
            self.spend(((n - FREE_MOVES) / 2) as u64);
        }
    }

    /// Spends `units` where raising is not possible: the budget's check at
    /// the next instruction or native start sees them.
    pub(crate) fn spend(&mut self, units: u64) {
        let units = i64::try_from(units).unwrap_or(i64::MAX);
        self.fuel = self.fuel.saturating_sub(units);
    }

    /// Accounts for `bytes` of thread stack growth: against the memory
    /// limit, or without one against `STACK_CAP` for all stacks together.
    #[cold]
    #[inline(never)]
    pub(crate) fn stack_grew(&mut self, bytes: usize) -> LuaResult<()> {
        self.heap.debt += bytes;
        self.stack_bytes += bytes;
        if self.heap.limit().is_some() {
            return self.memory_breach();
        }
        if self.stack_bytes > STACK_CAP {
            self.full_gc();
            if self.stack_bytes > STACK_CAP {
                self.spend(self.heap.live as u64 / 32);
                return Err(self.rt_error("stack overflow"));
            }
        }
        Ok(())
    }

    /// Marks the native frame on top as waiting for a call it requested,
    /// or fails with "C stack overflow" when `MAX_CCALLS` such frames are
    /// waiting on this thread already.
    #[inline]
    pub(crate) fn enter_ccall(&mut self) -> LuaResult<()> {
        if self.th.ncalls + self.n_ccalls + 1 >= MAX_CCALLS && !self.handler_room() {
            return Err(self.rt_error("C stack overflow"));
        }
        self.th.ncalls += 1;
        if let Some(ci) = self.th.frames.last_mut() {
            ci.flags |= CALLING;
        }
        Ok(())
    }

    /// Whether a message handler is running on this thread and may use the
    /// extra tenth of `MAX_CCALLS` PUC Lua keeps for error handling
    /// (`luaE_checkcstack`).
    #[cold]
    fn handler_room(&self) -> bool {
        self.th.ncalls + self.n_ccalls + 1 < MAX_CCALLS + MAX_CCALLS / 10
            && self.th.frames.iter().any(|ci| ci.flags & MSGH != 0)
    }

    /// The waiting native frames of the running thread, counted (what
    /// `Thread::ncalls` keeps).
    pub(crate) fn count_ccalls(&self) -> u32 {
        let calling = self.th.frames.iter().filter(|ci| ci.flags & CALLING != 0);
        calling.count() as u32
    }
}
