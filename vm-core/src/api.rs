//! The embedding API (`lapi.c`): loading chunks, calling functions,
//! reading arguments and pushing results from natives, tables, strings,
//! rooting values. The argument checks and positioned errors built on it
//! are in `auxlib.rs`, as `lauxlib.c` is built on `lapi.c`.

use crate::arena::Arena;
use crate::convert::IntoLua;
use crate::error::{LuaError, LuaResult};
use crate::heap::{NativeClosure, Upval};
use crate::native::{Args, NativeFunction};
use crate::number;
use crate::state::{RootKey, Tm, Vm};
use crate::table::Table;
use crate::value::{StrRef, TableRef, Value};

/// Handle to a value rooted by the embedder (`Vm::root`). Like an object
/// handle it is generational and per VM: after `unroot`, or given to
/// another VM, it names nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RootId(pub(crate) RootKey);

/// The outcome of an operation that may have to call a metamethod, for a
/// native that must stay suspendable ([`Vm::index_k`], [`Vm::set_index_k`],
/// [`Vm::len_k`], [`Vm::less_than_k`], [`Vm::tostring_k`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meta<T> {
    /// Done without calling Lua.
    Done(T),
    /// The metamethod and its arguments (this many) are pushed on top of
    /// the native's frame: return `vm.callk(nargs, k, ctx)` and take the
    /// answer from the call's first result in continuation `k`.
    Call(usize),
}

/// The first of a call's results (nil if none).
fn first_value(r: Vec<Value>) -> Value {
    r.first().copied().unwrap_or_default()
}

/// Checking what comes from outside the VM.
///
/// The interpreter reads the objects that handles on its stacks and in its
/// tables name without checking them (`raw.rs`), so a handle that names no
/// object of this heap (one kept by Rust across the collection that freed
/// its object, one made up, one from another VM) must never get there.
/// Every public function that takes values checks them first: a bad one
/// is an `Err` ("bad handle"), or, for the functions that write a native's
/// frame and return nothing (`push`, `set_arg`, `frame_insert`), a nil in
/// its place and the same error when the native returns.
impl Vm {
    /// Whether `v` belongs to this VM: an immediate value, or a handle that
    /// names a live object of this VM's heap. A native function without
    /// upvalues ([`Vm::new_native`]) and a static string are values, not
    /// objects, and belong to every VM, as a C function does to every
    /// state in PUC Lua: an embedder that hands one to a VM gives that VM
    /// the function, whatever its libraries.
    pub fn owns(&self, v: Value) -> bool {
        self.heap.owns(v)
    }

    /// Fails with the "bad handle" error unless this VM owns `v`
    /// (`what` names the function it was given to).
    pub(crate) fn check_owned(&mut self, what: &str, v: Value) -> LuaResult<()> {
        if self.owns(v) {
            return Ok(());
        }
        Err(self.bad_handle(what, v))
    }

    /// `check_owned` of each value.
    pub(crate) fn check_all_owned(&mut self, what: &str, vs: &[Value]) -> LuaResult<()> {
        match vs.iter().find(|&&v| !self.owns(v)) {
            Some(&v) => Err(self.bad_handle(what, v)),
            None => Ok(()),
        }
    }

    /// `check_owned` of a table handle.
    pub(crate) fn check_table_ref(&mut self, what: &str, t: TableRef) -> LuaResult<()> {
        self.check_owned(what, Value::Table(t))
    }

    /// `v` if this VM owns it; otherwise nil, and the "bad handle" error is
    /// kept for the running native to raise when it returns (the writers
    /// of a native's frame return nothing, and the frame must hold only
    /// values of this VM).
    fn owned_or_nil(&mut self, what: &str, v: Value) -> Value {
        if self.owns(v) {
            return v;
        }
        let e = self.bad_handle(what, v);
        self.note_misuse(e);
        Value::Nil
    }

    /// Keeps `e` for the running native to raise when it returns (the
    /// first misuse wins), or for the next driver call outside natives.
    #[cold]
    fn note_misuse(&mut self, e: LuaError) {
        let rare = self.rare();
        if rare.misuse.is_none() {
            rare.misuse = Some(e);
        }
    }

    /// The base of the running native's frame, when a native is running
    /// (the running thread's top frame is a native's).
    #[inline]
    fn native_base(&self) -> Option<usize> {
        match self.th.frames.last() {
            Some(ci) if matches!(ci.kind, crate::state::FrameKind::Native(_)) => Some(ci.base),
            _ => None,
        }
    }

    /// Whether a native is running. Only then may values be pushed (the
    /// top of a parked Lua frame is inside its registers).
    #[inline]
    pub(crate) fn in_native(&self) -> bool {
        self.native_base().is_some()
    }

    /// Whether `args` is the running native's own. An `Args` kept past its
    /// call names the slots of whatever frame sits there now (a Lua
    /// caller's registers, which the interpreter trusts), so the writers of
    /// a native's frame refuse it.
    #[inline]
    fn own_frame(&self, args: Args) -> bool {
        self.native_base() == Some(args.base)
    }

    /// `own_frame`, noting the misuse by `what` when it is not.
    fn check_frame(&mut self, what: &str, args: Args) -> bool {
        if self.own_frame(args) {
            return true;
        }
        let e = self.api_error(&format!(
            "{what} was given the Args of a call that is over (or was used \
             outside any native)"
        ));
        self.note_misuse(e);
        false
    }

    /// The error kept by `owned_or_nil`, if any.
    #[inline]
    pub(crate) fn take_misuse(&mut self) -> LuaResult<()> {
        match self.take_noted_misuse() {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn bad_handle(&mut self, what: &str, v: Value) -> LuaError {
        self.api_error(&format!(
            "bad handle given to {what}: a {} handle that names no object of this VM \
             (its object was collected while only Rust held it, or it was made up, \
             or it comes from another VM)",
            v.type_name()
        ))
    }

    /// An error about a use of the API: a plain message, with no position.
    /// `e` with its rendering for the embedder ([`LuaError::message`]).
    #[cold]
    pub(crate) fn with_message(&mut self, mut e: LuaError) -> LuaError {
        if e.0.message.is_none() {
            e.0.message = Some(self.error_to_string(&e));
        }
        e
    }

    /// `with_message` without running Lua: a `__tostring` is not called
    /// (for errors met where a native may be running).
    #[cold]
    pub(crate) fn with_text(&mut self, mut e: LuaError) -> LuaError {
        if e.0.message.is_none() {
            e.0.message = Some(self.error_text(e.0.value));
        }
        e
    }

    pub(crate) fn api_error(&mut self, msg: &str) -> LuaError {
        let v = self.new_str(msg.as_bytes());
        let mut e = LuaError::new(v);
        e.0.message = Some(msg.to_string());
        e
    }
}

impl Vm {
    /// The binary chunk of Lua function `f` (`lua_dump`), which
    /// [`Vm::load`] turns back into a function with the same code; `strip`
    /// leaves out the source name, the line information and the names of
    /// locals and upvalues.
    /// `None` when `f` is not a Lua function.
    pub fn dump(&self, f: Value, strip: bool) -> Option<Vec<u8>> {
        match f {
            Value::LuaFn(cl) => {
                let proto = &self.heap.lfns.get(cl)?.proto;
                Some(crate::dump::dump(proto, &self.heap, strip))
            }
            _ => None,
        }
    }

    /// Calls `f` with `args` and returns all results (`lua_pcall` from the
    /// embedder's side). On error the VM is left usable, with the error's
    /// text available through [`LuaError::message`].
    ///
    /// # Errors
    /// Any Lua error raised by the call.
    pub fn call(&mut self, f: Value, args: &[Value]) -> LuaResult<Vec<Value>> {
        let r = self.call_value(f, args);
        // Called from outside any run: no interpreter holds the stack, so a
        // stack left large by a deep call (or an overflow) goes back.
        if self.th.frames.is_empty() && !self.suspendable {
            self.th.shrink();
            match &r {
                Ok(results) => self.run_finalizers_keeping(results),
                Err(e) => self.run_finalizers_keeping(&[e.0.value]),
            }
        }
        match r {
            Ok(v) => Ok(v),
            Err(e) => Err(self.with_message(e)),
        }
    }

    /// Loads and runs a chunk, returning its results.
    ///
    /// # Errors
    /// A syntax error or any error raised while running.
    pub fn exec(&mut self, text: &[u8], chunkname: &str) -> LuaResult<Vec<Value>> {
        let f = self.load(text, chunkname)?;
        self.call(f, &[])
    }

    /// Renders an error value as the `lua` command prints it: strings and
    /// numbers as themselves, values with `__tostring` through it, others as
    /// "(error object is a X value)". `__tostring` runs as [`Vm::call`]
    /// runs Lua: to its end, with no budget.
    pub fn error_to_string(&mut self, e: &LuaError) -> String {
        let v = e.0.value;
        if !self.owns(v) {
            return "(bad handle)".to_string();
        }
        if !matches!(v, Value::Str(_) | Value::Int(_) | Value::Num(_))
            && !self.tm_of_value(v, Tm::ToString).is_nil()
        {
            if let Ok(s) = self.tostring(v) {
                return self.to_display(s);
            }
        }
        self.error_text(v)
    }

    /// An error value as text without running Lua: strings and numbers as
    /// themselves, others as "(error object is a X value)".
    pub(crate) fn error_text(&self, v: Value) -> String {
        match v {
            Value::Str(_) | Value::Int(_) | Value::Num(_) => self.to_display(v),
            _ => format!("(error object is a {} value)", v.type_name()),
        }
    }

    /// Whether `v` is one of the strings every VM of the process shares
    /// (the standard library's names, metamethod and type names), which
    /// cost a VM nothing: a library whose names are all shared adds no
    /// string to the heap of a VM that opens it.
    ///
    /// ```
    /// let mut vm = vm_core::Vm::new();
    /// let print = vm.new_str(b"print");
    /// let mine = vm.new_str(b"my_function");
    /// assert!(vm.is_shared_string(print) && !vm.is_shared_string(mine));
    /// ```
    pub fn is_shared_string(&self, v: Value) -> bool {
        matches!(v, Value::Str(s) if crate::names::index(s).is_some())
    }

    /// Interns a string.
    pub fn new_str(&mut self, bytes: &[u8]) -> Value {
        Value::Str(self.heap.intern(bytes))
    }

    /// [`Vm::new_str`] of a buffer, which a new string takes instead of
    /// copying it (for large results).
    pub fn new_str_from_vec(&mut self, bytes: Vec<u8>) -> Value {
        Value::Str(self.heap.intern_vec(bytes))
    }

    /// The bytes of a string value (`None` for other types, and for a
    /// handle that names no string of this VM).
    pub fn str_bytes(&self, v: Value) -> Option<&[u8]> {
        match v {
            Value::Str(s) => self.heap.try_str_bytes(s),
            _ => None,
        }
    }

    /// Creates an empty table ([`Vm::create_table`] is the owned handle).
    pub fn new_table(&mut self) -> TableRef {
        self.heap.new_table(Table::new())
    }

    /// Creates an empty table with room for `narray` keys `1..=narray`
    /// and `nhash` others (`lua_createtable`; hints above 2^20 are
    /// capped). It never collects, so raw values held meanwhile stay
    /// valid.
    ///
    /// # Errors
    /// "not enough memory" when the room would pass the memory limit.
    pub fn new_table_with_capacity(&mut self, narray: usize, nhash: usize) -> LuaResult<TableRef> {
        self.reserve_memory(Table::room_bytes(narray, nhash))?;
        Ok(self.heap.new_table(Table::with_capacity(narray, nhash)))
    }

    /// Creates a full userdata holding `data`, without a metatable
    /// (`lua_newuserdatauv`; give it one with [`Vm::set_metatable`], which
    /// registers a `__gc` there as a finalizer, as `setmetatable` does).
    pub fn new_userdata(&mut self, data: Box<dyn std::any::Any + Send>) -> Value {
        self.make_userdata(data, None)
    }

    /// `new_userdata` with a metatable of this VM.
    pub(crate) fn make_userdata(
        &mut self,
        data: Box<dyn std::any::Any + Send>,
        mt: Option<TableRef>,
    ) -> Value {
        let u = self.heap.new_userdata(crate::heap::UserData {
            metatable: None,
            user_value: Value::Nil,
            data,
            payload: 0,
        });
        let v = Value::UserData(u);
        self.set_mt(v, mt);
        v
    }

    /// The payload of userdata `v` if it is a `T` (`luaL_testudata` with
    /// the type standing for the metatable check).
    pub fn userdata_ref<T: std::any::Any>(&self, v: Value) -> Option<&T> {
        match v {
            Value::UserData(u) => self.heap.userdata.get(u)?.data.downcast_ref(),
            _ => None,
        }
    }

    /// `userdata_ref` for writing.
    pub fn userdata_mut<T: std::any::Any>(&mut self, v: Value) -> Option<&mut T> {
        match v {
            Value::UserData(u) => self.heap.userdata.get_mut(u)?.data.downcast_mut(),
            _ => None,
        }
    }

    /// The bytes userdata `v`'s payload is known to hold
    /// ([`Vm::set_userdata_size`]; 0 if `v` is not a userdata).
    pub(crate) fn userdata_size(&self, v: Value) -> usize {
        match v {
            Value::UserData(u) => self.heap.userdata.get(u).map_or(0, |d| d.payload),
            _ => 0,
        }
    }

    /// Records that userdata `v`'s payload holds about `bytes` bytes (a
    /// buffer a native keeps across calls, a loader's text): they count in
    /// [`Vm::memory_used`] and against the memory limit, up at once and
    /// down at the next collection. Check the room first
    /// ([`Vm::reserve_memory`]); this only records.
    pub fn set_userdata_size(&mut self, v: Value, bytes: usize) {
        if let Value::UserData(u) = v {
            if let Some(d) = self.heap.userdata.get_mut(u) {
                let grown = bytes.saturating_sub(d.payload);
                d.payload = bytes;
                self.heap.debt = self.heap.debt.saturating_add(grown);
            }
        }
    }

    /// Creates a native function value.
    pub fn new_native(&mut self, f: &'static NativeFunction) -> Value {
        Value::Native(self.heap.new_light(f))
    }

    /// Creates a native closure with upvalues.
    ///
    /// # Errors
    /// "bad handle" if an upvalue is not a value of this VM.
    pub fn new_native_closure(
        &mut self,
        f: &'static NativeFunction,
        upvals: Vec<Value>,
    ) -> LuaResult<Value> {
        self.check_all_owned("Vm::new_native_closure", &upvals)?;
        Ok(Value::Native(self.heap.new_native(NativeClosure {
            func: f,
            upvals,
            closure: None,
        })))
    }

    /// Sets global `name`.
    ///
    /// # Errors
    /// "bad handle" if `v` is not a value of this VM.
    pub fn set_global<V: IntoLua>(&mut self, name: &str, v: V) -> LuaResult<()> {
        let v = self.to_value(v)?;
        let k = self.heap.intern(name.as_bytes());
        self.raw_set(self.globals, Value::Str(k), v)
    }

    /// Sets global `name` as a library's opening does: unless the program
    /// changed it while the library was waiting to be opened lazily
    /// ([`Vm::open_lazily`]), when the program's value stays.
    ///
    /// # Errors
    /// "bad handle" if `v` is not a value of this VM.
    pub fn install_global(&mut self, name: &str, v: Value) -> LuaResult<()> {
        self.check_all_owned("Vm::install_global", &[v])?;
        let k = self.heap.intern_name(name.as_bytes());
        self.provide(self.globals, Value::Str(k), v)
    }

    /// Reads global `name` (raw; a lazy global is made first, and nil if
    /// that fails).
    pub fn get_global(&mut self, name: &str) -> Value {
        let k = self.heap.intern(name.as_bytes());
        self.raw_get(self.globals, Value::Str(k))
    }

    /// The table of loaded modules (`registry._LOADED`, Lua's
    /// `package.loaded`), created on first use.
    pub fn loaded_table(&mut self) -> TableRef {
        let k = crate::names::name!("_LOADED");
        match self.heap.tables[self.registry].get_str(k) {
            Value::Table(t) => t,
            _ => {
                // A first library (`_G` is made on first use: an agent's
                // first is `agent`).
                let t = self
                    .heap
                    .new_table(crate::table::Table::with_capacity(0, 1));
                self.heap.tables[self.registry].set_str(k, Value::Table(t));
                t
            }
        }
    }

    /// Installs a library table: global `name` and `_LOADED[name]`
    /// (`luaL_requiref`). Error messages and tracebacks name the functions
    /// found there as `name.field`.
    ///
    /// # Errors
    /// "bad handle" if `t` names no table of this VM.
    pub fn register_library(&mut self, name: &str, t: TableRef) -> LuaResult<()> {
        self.check_table_ref("Vm::register_library", t)?;
        let loaded = self.loaded_table();
        let k = self.heap.intern_name(name.as_bytes());
        self.provide(loaded, Value::Str(k), Value::Table(t))?;
        if name != "_G" {
            self.provide(self.globals, Value::Str(k), Value::Table(t))?;
        }
        Ok(())
    }

    /// Registers natives as fields of table `t`.
    ///
    /// # Errors
    /// "bad handle" if `t` names no table of this VM.
    pub fn register(&mut self, t: TableRef, funcs: &[&'static NativeFunction]) -> LuaResult<()> {
        self.check_table_ref("Vm::register", t)?;
        // A library's table, new and empty, gets its room at once rather
        // than growing (and rehashing) key by key.
        let fresh = &self.heap.tables[t];
        if fresh.positions() == 0 && fresh.metatable.is_none() {
            // Not a lazy table (those have the sentinel metatable), nor
            // one the lazy state remembers a change of: nothing for
            // `provide` to weigh, so a whole template may stand in.
            let remembered = self
                .lazy
                .as_ref()
                .is_some_and(|l| l.changed.iter().any(|c| c.0 == t));
            if !remembered {
                if let Some(made) = crate::light::library(funcs) {
                    self.heap.debt += made.approx_bytes();
                    self.heap.tables[t] = made;
                    return Ok(());
                }
            }
            let sized = Table::with_capacity(0, funcs.len());
            self.heap.debt += sized.approx_bytes();
            self.heap.tables[t] = sized;
        }
        for f in funcs {
            let v = self.new_native(f);
            let k = match v {
                Value::Native(n) => crate::light::static_name(n),
                _ => None,
            };
            let k = k.unwrap_or_else(|| self.heap.intern(f.name.as_bytes()));
            self.provide(t, Value::Str(k), v)?;
        }
        Ok(())
    }

    /// Raw `t[k]` (nil if `t` names no table of this VM: reads through a
    /// bad handle find nothing, writes fail). A lazy global is made first
    /// (nil if that fails: [`Vm::open_lazily`]).
    pub fn raw_get(&mut self, t: TableRef, k: Value) -> Value {
        let v = self.heap.tables.get(t).map_or(Value::Nil, |tab| tab.get(k));
        if v.is_nil() && self.is_lazy(t) && matches!(self.materialize(t, k), Ok(true)) {
            return self.heap.tables[t].get(k);
        }
        v
    }

    /// Raw `t[k]` as the table stands, without `&mut`: a lazy global not
    /// made yet reads nil ([`Vm::is_plain_table`] says when none can be).
    pub fn raw_peek(&self, t: TableRef, k: Value) -> Value {
        self.heap.tables.get(t).map_or(Value::Nil, |tab| tab.get(k))
    }

    /// Raw `t[k] = v`.
    ///
    /// # Errors
    /// "index is nil" / "index is NaN"; "bad handle" if `t`, `k` or `v`
    /// is not of this VM.
    pub fn raw_set(&mut self, t: TableRef, k: Value, v: Value) -> LuaResult<()> {
        self.check_table_ref("Vm::raw_set", t)?;
        self.check_all_owned("Vm::raw_set", &[k, v])?;
        if self.is_lazy(t) && self.heap.tables[t].get(k).is_nil() {
            self.lazy_write(t, k)?;
        }
        self.raw_store(t, k, v)
    }

    /// `raw_set` of checked values.
    pub(crate) fn raw_store(&mut self, t: TableRef, k: Value, v: Value) -> LuaResult<()> {
        match self.heap.tables[t].set(k, v) {
            Ok(()) => {
                let grown = self.heap.tables[t].take_growth();
                if self.heap.table_grew(grown) && self.heap.over_limit(0) {
                    return Err(self.memory_error());
                }
                Ok(())
            }
            Err(e) => Err(self.rt_error(e.message())),
        }
    }

    /// Raw `t[k]` with a string key (nil for a bad handle, as
    /// [`Vm::raw_get`]).
    pub fn raw_get_str(&mut self, t: TableRef, k: &str) -> Value {
        let k = self.heap.intern(k.as_bytes());
        self.raw_get(t, Value::Str(k))
    }

    /// Raw `t[k] = v` with a string key.
    ///
    /// # Errors
    /// As [`Vm::raw_set`].
    pub fn raw_set_str(&mut self, t: TableRef, k: &str, v: Value) -> LuaResult<()> {
        let k = self.heap.intern(k.as_bytes());
        self.raw_set(t, Value::Str(k), v)
    }

    /// The table border `#t` (raw; 0 for a bad handle, as
    /// [`Vm::raw_get`]).
    pub fn raw_len(&self, t: TableRef) -> i64 {
        self.heap.tables.get(t).map_or(0, |tab| tab.len())
    }

    /// `next(t, k)` (raw).
    ///
    /// # Errors
    /// "invalid key to 'next'" for a key not in the table.
    pub fn next(&mut self, t: TableRef, k: Value) -> LuaResult<Option<(Value, Value)>> {
        self.check_table_ref("Vm::next", t)?;
        if self.is_lazy(t) {
            self.materialize_all(t)?;
        }
        match self.heap.tables[t].next_scanning(k) {
            Ok((r, skipped)) => {
                // Stepping over removed keys is paid for: one unit every
                // 16 slots.
                if skipped >= 16 {
                    self.charge((skipped / 16) as u64)?;
                }
                Ok(r)
            }
            Err(e) => Err(self.rt_error(e.message())),
        }
    }

    /// `t[k]` with `__index` (non-yieldable when it calls a metamethod:
    /// natives that may be suspended use [`Vm::index_k`]).
    ///
    /// # Errors
    /// Errors raised while indexing.
    pub fn index(&mut self, t: Value, k: Value) -> LuaResult<Value> {
        match self.index_k(t, k)? {
            Meta::Done(v) => Ok(v),
            Meta::Call(n) => self.call_pushed(n).map(first_value),
        }
    }

    /// `t[k]` with `__index`, for a native that must stay suspendable:
    /// the value, or the `__index` function's call pushed for the native
    /// to request (see [`Meta`]); its first result is the value.
    ///
    /// # Errors
    /// "attempt to index a T value", or a chain of `__index` too long.
    pub fn index_k(&mut self, t: Value, k: Value) -> LuaResult<Meta<Value>> {
        use crate::vm::IndexTarget;
        self.check_all_owned("Vm::index", &[t, k])?;
        // The common case first, as `luaV_fastgeti`: a value in a table.
        if let (Value::Table(tr), Value::Int(i)) = (t, k) {
            let v = *self.heap.tables[tr].get_int_ref(i);
            if !v.is_nil() {
                return Ok(Meta::Done(v));
            }
        }
        match self.index_target(t, k)? {
            IndexTarget::Value(v) => Ok(Meta::Done(v)),
            IndexTarget::Call(h, obj) => Ok(self.push_call(&[h, obj, k])),
            IndexTarget::NotIndexable(obj, _) => {
                let tn = self.type_name_of(obj);
                Err(self.rt_error(&format!("attempt to index a {tn} value")))
            }
            IndexTarget::TooLong => Err(self.rt_error(crate::vm::INDEX_LOOP)),
        }
    }

    /// `t[k] = v` with `__newindex` (non-yieldable when it calls a
    /// metamethod: natives that may be suspended use [`Vm::set_index_k`]).
    ///
    /// # Errors
    /// Errors raised while assigning ("index is nil", a metamethod's).
    pub fn set_index(&mut self, t: Value, k: Value, v: Value) -> LuaResult<()> {
        match self.set_index_k(t, k, v)? {
            Meta::Done(()) => Ok(()),
            Meta::Call(n) => self.call_pushed(n).map(drop),
        }
    }

    /// `t[k] = v` with `__newindex`, for a native that must stay
    /// suspendable: done, or the `__newindex` function's call pushed for
    /// the native to request (see [`Meta`]).
    ///
    /// # Errors
    /// "index is nil", "attempt to index a T value", a chain too long.
    pub fn set_index_k(&mut self, t: Value, k: Value, v: Value) -> LuaResult<Meta<()>> {
        use crate::vm::NewIndexTarget;
        self.check_all_owned("Vm::set_index", &[t, k, v])?;
        // The common case first, as `luaV_fastseti`: an array slot that is
        // in use, or any array slot of a table without a metatable.
        if let (Value::Table(tr), Value::Int(i)) = (t, k) {
            let tab = &mut self.heap.tables[tr];
            let plain = tab.metatable.is_none();
            if let Some(slot) = tab.array_slot_mut(i) {
                if plain || !slot.is_nil() {
                    *slot = v;
                    return Ok(Meta::Done(()));
                }
            }
        }
        match self.newindex_target(t, k, v)? {
            NewIndexTarget::Stored if self.heap.over_limit(0) => Err(self.memory_error()),
            NewIndexTarget::Stored => Ok(Meta::Done(())),
            NewIndexTarget::Call(h, obj) => Ok(self.push_call(&[h, obj, k, v])),
            NewIndexTarget::NotIndexable(obj, _) => {
                let tn = self.type_name_of(obj);
                Err(self.rt_error(&format!("attempt to index a {tn} value")))
            }
            NewIndexTarget::TooLong => Err(self.rt_error(crate::vm::NEWINDEX_LOOP)),
        }
    }

    /// `#v` with `__len` (`lua_len`; non-yieldable when it calls a
    /// metamethod: natives that may be suspended use [`Vm::len_k`]).
    ///
    /// # Errors
    /// "attempt to get length of a T value", or a metamethod's error.
    pub fn len(&mut self, v: Value) -> LuaResult<Value> {
        match self.len_k(v)? {
            Meta::Done(n) => Ok(n),
            Meta::Call(n) => self.call_pushed(n).map(first_value),
        }
    }

    /// `#v` with `__len`, for a native that must stay suspendable: the
    /// length, or the `__len` call pushed (see [`Meta`]); its first result
    /// is the length.
    ///
    /// # Errors
    /// "attempt to get length of a T value".
    pub fn len_k(&mut self, v: Value) -> LuaResult<Meta<Value>> {
        self.check_owned("Vm::len", v)?;
        let h = match v {
            Value::Str(s) => {
                return Ok(Meta::Done(Value::Int(self.heap.str_bytes(s).len() as i64)))
            }
            Value::Table(t) => match self.heap.tables[t].metatable {
                Some(mt) => self.tm_of(mt, Tm::Len),
                None => Value::Nil,
            },
            _ => self.tm_of_value(v, Tm::Len),
        };
        if h.is_nil() {
            if let Value::Table(t) = v {
                return Ok(Meta::Done(Value::Int(self.heap.tables[t].len())));
            }
            let tn = self.type_name_of(v);
            return Err(self.rt_error(&format!("attempt to get length of a {tn} value")));
        }
        Ok(self.push_call(&[h, v, v]))
    }

    /// `a < b` with `__lt` (`lua_compare(L, a, b, LUA_OPLT)`;
    /// non-yieldable when it calls a metamethod: natives that may be
    /// suspended use [`Vm::less_than_k`]).
    ///
    /// # Errors
    /// "attempt to compare ...", or a metamethod's error.
    pub fn less_than(&mut self, a: Value, b: Value) -> LuaResult<bool> {
        match self.less_than_k(a, b)? {
            Meta::Done(r) => Ok(r),
            Meta::Call(n) => self.call_pushed(n).map(|r| first_value(r).truthy()),
        }
    }

    /// `a < b` with `__lt`, for a native that must stay suspendable: the
    /// answer, or the `__lt` call pushed (see [`Meta`]); the truth of its
    /// first result is the answer.
    ///
    /// # Errors
    /// "attempt to compare ...".
    pub fn less_than_k(&mut self, a: Value, b: Value) -> LuaResult<Meta<bool>> {
        self.check_all_owned("Vm::less_than", &[a, b])?;
        if let Some(r) = self.raw_order(true, a, b) {
            self.charge_order(a, b)?;
            return Ok(Meta::Done(r));
        }
        let h = self.order_handler(Tm::Lt, a, b)?;
        Ok(self.push_call(&[h, a, b]))
    }

    /// `tostring(v)` (`luaL_tolstring`): `__tostring`, `__name`, numbers
    /// and the `type: 0x...` form for objects (non-yieldable when it calls
    /// `__tostring`: natives that may be suspended use
    /// [`Vm::tostring_k`]).
    ///
    /// # Errors
    /// Errors raised by `__tostring`, or "'__tostring' must return a string".
    pub fn tostring(&mut self, v: Value) -> LuaResult<Value> {
        let r = match self.tostring_k(v) {
            Ok(Meta::Done(s)) => Ok(s),
            Ok(Meta::Call(n)) => self
                .call_pushed(n)
                .map(first_value)
                .and_then(|r| self.tostring_result(r)),
            Err(e) => Err(e),
        };
        r.map_err(|e| self.with_message(e))
    }

    /// `tostring(v)`, for a native that must stay suspendable: the string,
    /// or the `__tostring` call pushed (see [`Meta`]), whose first result
    /// goes through [`Vm::tostring_result`].
    ///
    /// # Errors
    /// "not enough memory" when a long `__name` makes the result pass the
    /// memory limit.
    pub fn tostring_k(&mut self, v: Value) -> LuaResult<Meta<Value>> {
        self.check_owned("Vm::tostring", v)?;
        let h = self.tm_of_value(v, Tm::ToString);
        if !h.is_nil() {
            return Ok(self.push_call(&[h, v]));
        }
        let s = match v {
            Value::Str(_) => return Ok(Meta::Done(v)),
            Value::Nil => "nil".to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Int(_) | Value::Num(_) => self.to_display(v),
            _ => {
                // A `__name` may be long: checked before it is copied.
                let n = self.type_name_len(v).unwrap_or(0);
                self.reserve_memory(n)?;
                self.charge((n / 32) as u64)?;
                let tn = self.type_name_of(v);
                format!("{tn}: {}", self.address(v))
            }
        };
        Ok(Meta::Done(self.new_str(s.as_bytes())))
    }

    /// What a `__tostring` handler returned, made the string `tostring`
    /// gives.
    ///
    /// # Errors
    /// "'__tostring' must return a string".
    pub fn tostring_result(&mut self, r: Value) -> LuaResult<Value> {
        self.check_owned("Vm::tostring_result", r)?;
        match r {
            Value::Str(_) => Ok(r),
            // Numbers are strings to `lua_isstring`.
            // Formatted directly: a number's own `__tostring` is not run
            // again (it would recurse without end).
            Value::Int(_) | Value::Num(_) => {
                let text = self.to_display(r);
                Ok(self.new_str(text.as_bytes()))
            }
            _ => Err(self.error("'__tostring' must return a string")),
        }
    }

    /// Pushes a metamethod call (function then arguments) for a native to
    /// request.
    fn push_call<T>(&mut self, call: &[Value]) -> Meta<T> {
        for &v in call {
            self.th.push(v);
        }
        Meta::Call(call.len() - 1)
    }

    /// Runs the call pushed by a `*_k` operation through the recursive
    /// path and returns its results.
    fn call_pushed(&mut self, nargs: usize) -> LuaResult<Vec<Value>> {
        let func = self.th.top - nargs - 1;
        let call = self.th.stack[func..self.th.top].to_vec();
        self.th.top = func;
        self.call_value(call[0], &call[1..])
    }

    /// A stable pseudo-address for an object, as `%p` prints it: the kind,
    /// the slot and how many objects the slot held before, so the same
    /// for the same program whatever else the process runs.
    pub fn address(&self, v: Value) -> String {
        use slotmap::Key;
        let h = &self.heap;
        let (tag, index, generation) = match v {
            Value::Table(r) => (1u64, r.data(), h.tables.generation(h.base, r)),
            Value::LuaFn(r) => (2, r.data(), h.lfns.generation(h.base, r)),
            // A light native by its identity, not by its slot in the
            // process's table, which depends on the order natives were
            // first used in (by any VM, on any thread).
            Value::Native(r) if crate::light::is_light(r) => {
                let id = crate::light::native(r).map_or("", |f| f.id);
                let hash = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                    (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
                });
                let index = (1 << 35) | (hash & ((1 << 35) - 1));
                return format!("0x{:014x}", (3 << 52) | (index << 4));
            }
            Value::Native(r) => (3, r.data(), h.natives.generation(h.base, r)),
            Value::Thread(r) => (4, r.data(), h.threads.generation(h.base, r)),
            Value::UserData(r) => (5, r.data(), h.userdata.generation(h.base, r)),
            // (A static string's slot index has its own top bit.)
            Value::Str(r) if crate::names::is_static(r) => (7, r.data(), 0),
            Value::Str(r) => (6, r.data(), h.strings.generation(h.base, r)),
            _ => return format!("0x{:014x}", 0),
        };
        let index = index.as_ffi() & 0xffff_ffff;
        format!(
            "0x{:014x}",
            (tag << 52) | ((u64::from(generation) & 0xfff) << 40) | (index << 4)
        )
    }

    /// Plain rendering of strings and numbers (no metamethods); a handle
    /// that names no object of this VM as "(bad handle)".
    pub fn to_display(&self, v: Value) -> String {
        let mut buf = Vec::new();
        if !self.owns(v) {
            return "(bad handle)".to_string();
        }
        match v {
            Value::Str(s) => buf.extend_from_slice(self.heap.str_bytes(s)),
            Value::Int(i) => number::fmt_int(i, &mut buf),
            Value::Num(f) => number::fmt_float(f, &mut buf),
            Value::Nil => buf.extend_from_slice(b"nil"),
            Value::Bool(b) => buf.extend_from_slice(if b { b"true" } else { b"false" }),
            _ => buf.extend_from_slice(self.address(v).as_bytes()),
        }
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// Converts a number or numeric string to a number (`lua_tonumber`;
    /// `None` for other values, and for a handle of another VM).
    pub fn to_number_value(&self, v: Value) -> Option<Value> {
        if !self.owns(v) {
            return None;
        }
        self.to_number(v)
    }

    /// Keeps `v` alive until `unroot` (`luaL_ref` on the registry).
    ///
    /// # Errors
    /// "bad handle" if `v` is not a value of this VM.
    pub fn root(&mut self, v: Value) -> LuaResult<RootId> {
        self.check_owned("Vm::root", v)?;
        Ok(self.root_value(v))
    }

    /// `root` of a value of this VM.
    pub(crate) fn root_value(&mut self, v: Value) -> RootId {
        let roots = self.roots.get_or_insert_with(|| Box::new(Arena::new()));
        RootId(roots.insert(self.heap.base, v))
    }

    /// The value behind a root (nil once released, or for another VM's
    /// root).
    pub fn rooted(&self, id: RootId) -> Value {
        self.roots
            .as_ref()
            .and_then(|roots| roots.get(id.0).copied())
            .unwrap_or_default()
    }

    /// Releases a root (nothing for one released already, or another
    /// VM's).
    pub fn unroot(&mut self, id: RootId) {
        if let Some(roots) = &mut self.roots {
            roots.remove(id.0);
        }
    }

    /// Emits a warning (`lua_warning` of one piece) through the warning
    /// handler, if any. For [`Vm::warn_to_stderr`]'s handler a message
    /// starting with `@` is a control message.
    pub fn warn(&mut self, msg: &str) {
        self.emit_warning(msg, true);
    }

    /// Emits a warning made of several pieces (Lua's `warn` with more than
    /// one argument): never a control message, even when it starts with
    /// `@`, as in PUC Lua.
    pub fn warn_pieces(&mut self, msg: &str) {
        self.emit_warning(msg, false);
    }

    fn emit_warning(&mut self, msg: &str, may_be_control: bool) {
        use crate::state::WarnStderr;
        if let Some(h) = self.warn_handler.as_mut() {
            h(msg);
            return;
        }
        match (msg, self.warn_stderr) {
            (_, WarnStderr::None) => {}
            ("@on", _) if may_be_control => self.warn_stderr = WarnStderr::On,
            ("@off", _) if may_be_control => self.warn_stderr = WarnStderr::Off,
            (m, _) if may_be_control && m.starts_with('@') => {}
            (m, WarnStderr::On) => {
                use std::io::Write;
                let _ = writeln!(std::io::stderr(), "Lua warning: {m}");
            }
            (_, WarnStderr::Off) => {}
        }
    }

    /// Gives the VM the embedder's data (`lua_getextraspace`), in place of
    /// what it had: what a driver keeps about the VM it runs (an agent's
    /// context), which natives reach with [`Vm::extra`] without a lookup
    /// in the registry or an object in the heap. Lua never sees it.
    ///
    /// Shared (an `Arc`), so that data the driver holds anyway (an agent's
    /// context) costs the VM no box of its own.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let mut vm = vm_core::Vm::new();
    /// vm.set_extra(Some(Arc::new(42u32)));
    /// assert_eq!(vm.extra::<u32>(), Some(&42));
    /// assert_eq!(vm.extra::<i64>(), None);
    /// assert_eq!(vm.extra_shared::<u32>().as_deref(), Some(&42));
    /// ```
    pub fn set_extra(&mut self, data: Option<crate::Extra>) -> Option<crate::Extra> {
        std::mem::replace(&mut self.extra, data)
    }

    /// The embedder's data, shared, if it is a `T` ([`Vm::set_extra`]).
    pub fn extra_shared<T: std::any::Any + Send + Sync>(&self) -> Option<std::sync::Arc<T>> {
        std::sync::Arc::clone(self.extra.as_ref()?).downcast().ok()
    }

    /// The embedder's data, if it is a `T` ([`Vm::set_extra`]).
    pub fn extra<T: std::any::Any>(&self) -> Option<&T> {
        self.extra.as_deref()?.downcast_ref()
    }

    /// Installs the handler that receives warnings (`None`: warnings are
    /// dropped). It replaces [`Vm::warn_to_stderr`]'s.
    pub fn set_warn_handler(&mut self, h: Option<crate::state::WarnHandler>) {
        self.warn_handler = h;
        self.warn_stderr = crate::state::WarnStderr::None;
    }

    /// Installs the warning handler `luaL_newstate` installs (the base
    /// library does): off until a `@on` control message, then one
    /// `Lua warning: ...` line on standard error per warning; `@off`
    /// turns it off again and other messages starting with `@` are
    /// controls, ignored. It replaces a handler set before.
    ///
    /// ```
    /// let mut vm = vm_core::Vm::new();
    /// vm.warn_to_stderr();
    /// vm.warn("not shown: warnings start off");
    /// vm.warn("@on");
    /// vm.warn("shown on standard error");
    /// ```
    pub fn warn_to_stderr(&mut self) {
        self.warn_handler = None;
        self.warn_stderr = crate::state::WarnStderr::Off;
    }

    // ----- native-side helpers -----

    /// Argument `i` (1-based) of a native call, nil when absent.
    #[inline]
    pub fn arg(&self, args: Args, i: usize) -> Value {
        if i >= 1 && i <= args.count {
            // An `Args` kept past its call may point past the stack.
            self.th
                .stack
                .get(args.base + i - 1)
                .copied()
                .unwrap_or_default()
        } else {
            Value::Nil
        }
    }

    /// Upvalue `i` (1-based) of the running native closure
    /// (`lua_upvalueindex`); nil when absent.
    pub fn upvalue(&self, args: Args, i: usize) -> Value {
        match self.th.stack.get(args.base.wrapping_sub(1)) {
            Some(Value::Native(n)) => self
                .heap
                .native_upvals(*n)
                .get(i.wrapping_sub(1))
                .copied()
                .unwrap_or_default(),
            _ => Value::Nil,
        }
    }

    /// Replaces the value at offset `i - 1` of the native's frame: argument
    /// `i`, or a value the native pushed above its arguments (nothing
    /// happens past the frame's top). A handle that names no object of
    /// this VM is written as nil, and the native fails with "bad handle"
    /// when it returns.
    pub fn set_arg(&mut self, args: Args, i: usize, v: Value) {
        let v = self.owned_or_nil("Vm::set_arg", v);
        if !self.check_frame("Vm::set_arg", args) {
            return;
        }
        if i >= 1 && args.base + i - 1 < self.th.top {
            self.th.stack[args.base + i - 1] = v;
        }
    }

    /// Pushes a value on the running thread's stack (a native's results are
    /// the values it pushed last). A handle that names no object of this VM
    /// is pushed as nil, and the native fails with "bad handle" when it
    /// returns.
    ///
    /// A push outside any native, or past the stack's limit or the memory
    /// limit, pushes nothing and is raised the same way ("stack overflow"
    /// or "not enough memory"; a native that pushes a number of values its
    /// arguments choose asks [`Vm::has_stack_room`] first).
    #[inline]
    pub fn push(&mut self, v: Value) {
        let v = self.owned_or_nil("Vm::push", v);
        if self.th.top < self.th.stack.len() && self.in_native() {
            let th = &mut self.th;
            th.stack[th.top] = v;
            th.top += 1;
        } else {
            self.push_slow(v);
        }
    }

    /// `push` where the stack must grow, or outside any native.
    #[cold]
    #[inline(never)]
    fn push_slow(&mut self, v: Value) {
        if !self.in_native() {
            let e = self.api_error("Vm::push was used outside any native");
            return self.note_misuse(e);
        }
        let top = self.th.top;
        if let Err(e) = self.grow_stack(top + 1) {
            return self.note_misuse(e);
        }
        self.th.push(v);
    }

    /// Number of values above the native frame's base (arguments plus
    /// whatever it pushed).
    pub fn frame_top(&self, args: Args) -> usize {
        // (0 for an `Args` kept past its call, above the top now.)
        self.th.top.saturating_sub(args.base)
    }

    /// Value at offset `i` (0-based) from the native frame's base.
    pub fn frame_get(&self, args: Args, i: usize) -> Value {
        if args.base + i < self.th.top {
            self.th.stack[args.base + i]
        } else {
            Value::Nil
        }
    }

    /// Absolute stack slot of offset `i` from the frame's base (for
    /// `Vm::pcallk` handlers).
    pub fn frame_slot(&self, args: Args, i: usize) -> usize {
        args.base + i
    }

    /// Inserts `v` at offset `i` from the frame's base, shifting values up
    /// (at the top if `i` is past it). A bad handle is written as nil, as
    /// by [`Vm::push`].
    pub fn frame_insert(&mut self, args: Args, i: usize, v: Value) {
        let v = self.owned_or_nil("Vm::frame_insert", v);
        if !self.check_frame("Vm::frame_insert", args) {
            return;
        }
        let top = self.th.top;
        if top >= self.th.stack.len() {
            if let Err(e) = self.grow_stack(top + 1) {
                return self.note_misuse(e);
            }
        }
        let at = args.base.saturating_add(i).min(top);
        self.th.stack.copy_within(at..top, at + 1);
        self.th.stack[at] = v;
        self.th.top = top + 1;
    }

    /// Truncates the native frame's values to `n` above its base.
    pub fn frame_truncate(&mut self, args: Args, n: usize) {
        if self.check_frame("Vm::frame_truncate", args) {
            self.th.top = self.th.top.min(args.base.saturating_add(n));
        }
    }

    /// Interned string handle for a Rust string.
    pub fn intern(&mut self, s: &str) -> StrRef {
        self.heap.intern(s.as_bytes())
    }

    /// The existing string with content `bytes`, if any, without making
    /// one: a string no table holds as a key need not be created to look
    /// it up.
    pub fn find_str(&self, bytes: &[u8]) -> Option<StrRef> {
        self.heap.find_str(bytes)
    }

    /// Number of live objects of every kind (statistics: what a
    /// collection left, plus what was made since).
    pub fn object_count(&self) -> usize {
        self.heap.object_count()
    }

    /// Number of memory bytes in use, approximately (`collectgarbage("count")`).
    pub fn memory_used(&self) -> usize {
        self.heap.approx_bytes()
    }

    /// Collector switches for `collectgarbage("stop"/"restart"/"isrunning")`.
    pub fn gc_set_running(&mut self, on: bool) {
        self.gc.running = on;
        if on {
            // A stopped heap's threshold only paced its watch.
            self.gc.threshold = self.gc.threshold.min(self.heap.debt);
        }
    }

    /// Whether the collector is running.
    pub fn gc_is_running(&self) -> bool {
        self.gc.running
    }

    /// Sets the collector's pause (percent) and returns the previous one.
    pub fn gc_set_pause(&mut self, pause: u32) -> u32 {
        std::mem::replace(&mut self.gc.pause, pause)
    }

    /// Sets the collector's mode (`collectgarbage("generational")` or
    /// `("incremental")`) and returns whether it was generational.
    pub fn gc_set_generational(&mut self, on: bool) -> bool {
        std::mem::replace(&mut self.gc.generational, on)
    }

    /// Sets the collector's step multiplier and returns the previous one.
    pub fn gc_set_stepmul(&mut self, m: u32) -> u32 {
        std::mem::replace(&mut self.gc.stepmul, m)
    }

    /// Stress mode: a full collection at every safe point (every
    /// allocating instruction and native return), so that a value the
    /// interpreter holds unrooted, or a handle it trusts to be live, meets
    /// a collection as soon as possible. For testing the collector and its
    /// callers; programs run many times slower.
    pub fn gc_set_stress(&mut self, on: bool) {
        self.gc.set_stress(on);
    }

    /// Number of frames on the running thread (for debuggers).
    pub fn frame_count(&self) -> usize {
        self.th.frames.len()
    }

    /// Checks internal invariants of the running thread's stacks and of
    /// thread switching (call it between driven runs); returns a
    /// description of the first violation. A diagnostic for fuzzers and
    /// for an embedder chasing a misbehaving native: a violation is a bug
    /// of this crate.
    pub fn check_invariants(&self) -> Result<(), String> {
        let th = &self.th;
        if th.open_upvals.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err("open upvalues not sorted by slot".into());
        }
        if th.tbc.windows(2).any(|w| w[0] >= w[1]) {
            return Err("to-be-closed list not sorted".into());
        }
        for f in &th.frames {
            if f.base > th.stack.len() || f.top > th.stack.len() || f.func >= f.base {
                return Err(format!(
                    "frame out of stack: func {} base {}",
                    f.func, f.base
                ));
            }
        }
        if th.top > th.stack.len() {
            return Err("top above the allocated stack".into());
        }
        if th.top > crate::state::MAX_STACK + 2 * crate::state::EXTRA_STACK {
            return Err("stack above its limit".into());
        }
        // The running thread's state is in `Vm::th`, its arena slot empty.
        match self.heap.threads.get(self.cur) {
            Some(slot) if slot.is_running() => {}
            _ => return Err("the running thread's arena slot is not empty".into()),
        }
        if self.suspend.is_some() || self.suspendable {
            return Err("a driver-level suspension outside a driven run".into());
        }
        self.check_heap()
    }

    /// Every handle stored anywhere in the heap or on the running stack
    /// points at a live object (the collector freed nothing reachable).
    fn check_heap(&self) -> Result<(), String> {
        let h = &self.heap;
        let live = |v: Value| self.owns(v);
        let check = |v: Value, what: &str| {
            if live(v) {
                Ok(())
            } else {
                Err(format!("dangling {v:?} in {what}"))
            }
        };
        for &v in &self.th.stack {
            check(v, "the running stack")?;
        }
        for (_, t) in &h.tables {
            for (k, v) in t.iter() {
                check(k, "a table key")?;
                check(v, "a table value")?;
            }
            if let Some(mt) = t.metatable {
                check(Value::Table(mt), "a metatable")?;
            }
        }
        for (_, cl) in &h.lfns {
            for &uv in cl.upvals.iter() {
                match h.upvals.get(uv) {
                    None => return Err("dangling upvalue cell".into()),
                    Some(Upval::Closed(v)) => check(*v, "a closed upvalue")?,
                    Some(Upval::Open { thread, .. }) => {
                        check(Value::Thread(*thread), "an open upvalue")?
                    }
                }
            }
            for &k in &cl.proto.consts {
                check(k, "a constant")?;
            }
        }
        for (_, n) in &h.natives {
            for &v in &n.upvals {
                check(v, "a native upvalue")?;
            }
        }
        Ok(())
    }
}
