//! Owned handles: Lua objects held by Rust code, alive while Rust holds
//! them (what mlua's `Table`, `Function`, ... are to its users).
//!
//! A raw [`Value`] names an object only while Lua reaches it; natives use
//! raw values because the stack roots them. Rust code outside natives
//! holds [`Table`], [`Function`], [`LuaString`], [`Thread`] and
//! [`AnyUserData`] instead. Each is an `Arc` cell holding the value and
//! the identity of its VM; the VM keeps a `Weak` to every cell and marks
//! the values of the live ones at each collection (`Handles::mark`; the
//! cell and the list are declared in `state/handle.rs`). So a handle keeps
//! its object while any clone of it lives, dropping the last clone needs
//! no access to the VM (the next collection finds the `Weak` dead and
//! forgets it), and handles are `Send` like the VM itself.
//!
//! Every method takes the VM and checks that the handle is one of its
//! own: a handle used with another VM is an `Err`, never a read of
//! whatever that VM keeps in the same slot. A handle held by an object of
//! its own VM (a Rust closure capturing a table) keeps that object alive
//! as long as the closure lives, as a registry reference would.

use std::sync::Arc;

use crate::convert::{owned, ConvertError, FromLua, FromLuaMulti, IntoLua, IntoLuaMulti};
use crate::error::{LuaError, LuaResult};
use crate::state::{Cell, ThreadStatus, Vm};
use crate::value::{TableRef, ThreadRef, Value};

// ---------------------------------------------------------------------------
// The handle types
// ---------------------------------------------------------------------------

/// Defines a handle type: an owned reference to an object of one kind.
macro_rules! handle_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name(Held);

        impl $name {
            /// The object as a raw value of its VM, for the functions of
            /// [`Vm`] that take values (valid while this handle lives).
            pub fn value(&self) -> Value {
                self.0.cell.value
            }

            /// The raw value, if the handle belongs to `vm`.
            fn checked(&self, vm: &mut Vm, what: &str) -> LuaResult<Value> {
                self.0.checked(vm, what)
            }
        }

        impl IntoLua for $name {
            fn into_lua(self, vm: &mut Vm) -> LuaResult<Value> {
                self.checked(vm, concat!($what, " handle"))
            }
        }

        impl IntoLua for &$name {
            fn into_lua(self, vm: &mut Vm) -> LuaResult<Value> {
                self.checked(vm, concat!($what, " handle"))
            }
        }
    };
}

handle_type! {
    /// A table held by Rust: [`Table::get`], [`Table::set`], [`Table::len`],
    /// [`Table::pairs`] and [`Table::sequence_values`] convert keys and
    /// values through [`IntoLua`] and [`FromLua`].
    ///
    /// ```
    /// use vm_core::{Function, Table, Vm};
    ///
    /// let mut vm = Vm::new();
    /// vm.exec(b"config = {name = 'demo', sizes = {1, 2, 3}}
    ///           function area(w, h) return w * h end", "=doc").unwrap();
    /// let config: Table = vm.globals().get(&mut vm, "config").unwrap();
    /// let area: Function = vm.globals().get(&mut vm, "area").unwrap();
    /// vm.exec(b"config, area = nil, nil", "=doc").unwrap();
    ///
    /// // Only Rust holds them now; they survive every collection.
    /// for _ in 0..10 {
    ///     vm.exec(b"local t = {} for i = 1, 1000 do t[i] = {i} end", "=churn").unwrap();
    ///     vm.full_gc();
    /// }
    /// let name: String = config.get(&mut vm, "name").unwrap();
    /// let sizes: Table = config.get(&mut vm, "sizes").unwrap();
    /// let total: i64 = sizes
    ///     .sequence_values::<i64>(&mut vm)
    ///     .map(Result::unwrap)
    ///     .sum();
    /// let a: i64 = area.call(&mut vm, (total, 7)).unwrap();
    /// assert_eq!((name.as_str(), a), ("demo", 42));
    /// ```
    Table, "table"
}

handle_type! {
    /// A function (Lua or native) held by Rust; [`Function::call`] calls
    /// it with typed arguments and results.
    Function, "function"
}

handle_type! {
    /// A string held by Rust.
    LuaString, "string"
}

handle_type! {
    /// A coroutine held by Rust; drive it with [`Vm::resume`] and
    /// [`Thread::raw`].
    Thread, "thread"
}

handle_type! {
    /// A full userdata held by Rust; [`AnyUserData::borrow`] reads its
    /// payload.
    AnyUserData, "userdata"
}

/// The shared part of every handle.
#[derive(Clone, Debug)]
pub(crate) struct Held {
    cell: Arc<Cell>,
}

impl PartialEq for Held {
    /// The same object: what Lua's raw equality says of the two values.
    fn eq(&self, other: &Held) -> bool {
        self.cell.vm == other.cell.vm && self.cell.value.raw_eq(other.cell.value)
    }
}

impl Held {
    fn checked(&self, vm: &mut Vm, what: &str) -> LuaResult<Value> {
        let v = self.cell.value;
        if vm.rare.as_ref().map(|r| r.handles.id) != Some(self.cell.vm) {
            return Err(vm.api_error(&format!(
                "{what} used with another VM than the one it belongs to"
            )));
        }
        // The VM has marked it at every collection since it was made.
        debug_assert!(vm.owns(v), "a held {what} was collected");
        Ok(v)
    }
}

// ---------------------------------------------------------------------------
// Typed access
// ---------------------------------------------------------------------------

impl Table {
    /// `t[key]`, with `__index` (`lua_gettable`), converted to `V`.
    ///
    /// # Errors
    /// An error of a metamethod, or a value that does not convert.
    pub fn get<K: IntoLua, V: FromLua>(&self, vm: &mut Vm, key: K) -> LuaResult<V> {
        let t = self.checked(vm, "Table::get")?;
        vm.with_scratch(|vm| {
            let k = vm.to_value(key)?;
            vm.keep(k);
            let v = vm.index(t, k).map_err(|e| vm.with_text(e))?;
            field(vm, k, v)
        })
    }

    /// `t[key] = value`, with `__newindex` (`lua_settable`).
    ///
    /// # Errors
    /// A nil or NaN key, an error of a metamethod, "not enough memory".
    pub fn set<K: IntoLua, V: IntoLua>(&self, vm: &mut Vm, key: K, value: V) -> LuaResult<()> {
        let t = self.checked(vm, "Table::set")?;
        vm.with_scratch(|vm| {
            // The value's conversion may run Lua, and collect the key.
            let k = vm.to_value(key)?;
            vm.keep(k);
            let v = vm.to_value(value)?;
            vm.set_index(t, k, v).map_err(|e| vm.with_text(e))
        })
    }

    /// `t[key]` without metamethods (`lua_rawget`).
    ///
    /// # Errors
    /// A value that does not convert.
    pub fn raw_get<K: IntoLua, V: FromLua>(&self, vm: &mut Vm, key: K) -> LuaResult<V> {
        let t = self.raw_checked(vm, "Table::raw_get")?;
        vm.with_scratch(|vm| {
            let k = vm.to_value(key)?;
            vm.keep(k);
            let v = vm.raw_get(t, k);
            field(vm, k, v)
        })
    }

    /// `t[key] = value` without metamethods (`lua_rawset`).
    ///
    /// # Errors
    /// A nil or NaN key, "not enough memory".
    pub fn raw_set<K: IntoLua, V: IntoLua>(&self, vm: &mut Vm, key: K, value: V) -> LuaResult<()> {
        let t = self.raw_checked(vm, "Table::raw_set")?;
        self.store(vm, t, key, value)
    }

    /// `raw_set` of a checked table.
    fn store<K: IntoLua, V: IntoLua>(
        &self,
        vm: &mut Vm,
        t: TableRef,
        key: K,
        value: V,
    ) -> LuaResult<()> {
        vm.with_scratch(|vm| {
            let k = vm.to_value(key)?;
            vm.keep(k);
            let v = vm.to_value(value)?;
            vm.raw_set(t, k, v).map_err(|e| vm.with_text(e))
        })
    }

    /// `#t`, with `__len` (`luaL_len`).
    ///
    /// # Errors
    /// An error of `__len`, or a length that is not an integer.
    pub fn len(&self, vm: &mut Vm) -> LuaResult<i64> {
        let t = self.checked(vm, "Table::len")?;
        let n = vm.len(t).map_err(|e| vm.with_text(e))?;
        vm.from_value(n)
            .map_err(|_| vm.api_error("object length is not an integer"))
    }

    /// `#t` without `__len` (`lua_rawlen`).
    ///
    /// # Errors
    /// A handle of another VM.
    pub fn raw_len(&self, vm: &mut Vm) -> LuaResult<i64> {
        let t = self.raw_checked(vm, "Table::raw_len")?;
        Ok(vm.raw_len(t))
    }

    /// Appends `value` at `raw_len + 1` (`table.insert(t, v)` without
    /// metamethods).
    ///
    /// # Errors
    /// "not enough memory".
    pub fn push<V: IntoLua>(&self, vm: &mut Vm, value: V) -> LuaResult<()> {
        let t = self.raw_checked(vm, "Table::push")?;
        let n = vm.raw_len(t);
        self.store(vm, t, n.wrapping_add(1), value)
    }

    /// The metatable, if any.
    ///
    /// # Errors
    /// A handle of another VM.
    pub fn metatable(&self, vm: &mut Vm) -> LuaResult<Option<Table>> {
        let t = self.checked(vm, "Table::metatable")?;
        Ok(vm.metatable(t).map(|mt| vm.hold_table(mt)))
    }

    /// Sets (or with `None` removes) the metatable, as `lua_setmetatable`
    /// does: a `__gc` field makes the table finalizable, and a
    /// `__metatable` field, which protects a metatable from Lua's
    /// `setmetatable`, does not protect it from Rust.
    ///
    /// # Errors
    /// A handle of another VM.
    pub fn set_metatable(&self, vm: &mut Vm, mt: Option<&Table>) -> LuaResult<()> {
        let t = self.checked(vm, "Table::set_metatable")?;
        let mt = match mt {
            Some(mt) => Some(mt.raw_checked(vm, "Table::set_metatable")?),
            None => None,
        };
        vm.set_metatable(t, mt).map_err(|e| vm.with_text(e))
    }

    /// The key-value pairs in `next` order, without metamethods, each
    /// converted to `(K, V)`; a pair that does not convert is an `Err`
    /// item, and the iteration goes on. The iterator borrows the VM: to
    /// change the table, collect the keys first (assigning to existing
    /// fields between two iterations is fine, as with `next`).
    pub fn pairs<'vm, K: FromLua, V: FromLua>(&self, vm: &'vm mut Vm) -> Pairs<'vm, K, V> {
        Pairs {
            vm,
            table: self.clone(),
            key: Some(Value::Nil),
            _types: std::marker::PhantomData,
        }
    }

    /// `t[1]`, `t[2]`, ... up to the first nil, without metamethods,
    /// each converted to `V`.
    pub fn sequence_values<'vm, V: FromLua>(&self, vm: &'vm mut Vm) -> Sequence<'vm, V> {
        Sequence {
            vm,
            table: self.clone(),
            next: Some(1),
            _types: std::marker::PhantomData,
        }
    }

    /// The table as a raw handle, for the functions of [`Vm`] that take
    /// one (valid while this handle lives).
    pub fn raw(&self) -> TableRef {
        match self.value() {
            Value::Table(t) => t,
            _ => unreachable!("a Table handle holds a table"),
        }
    }

    fn raw_checked(&self, vm: &mut Vm, what: &str) -> LuaResult<TableRef> {
        self.checked(vm, what)?;
        Ok(self.raw())
    }
}

/// The iterator of [`Table::pairs`].
pub struct Pairs<'vm, K, V> {
    vm: &'vm mut Vm,
    table: Table,
    /// The last key returned (nil before the first), `None` once done.
    key: Option<Value>,
    _types: std::marker::PhantomData<fn() -> (K, V)>,
}

impl<K: FromLua, V: FromLua> Iterator for Pairs<'_, K, V> {
    type Item = LuaResult<(K, V)>;

    fn next(&mut self) -> Option<Self::Item> {
        let key = self.key.take()?;
        let t = match self.table.raw_checked(self.vm, "Table::pairs") {
            Ok(t) => t,
            Err(e) => return Some(Err(e)),
        };
        let (k, v) = match self.vm.next(t, key) {
            Ok(Some(kv)) => kv,
            Ok(None) => return None,
            Err(e) => return Some(Err(self.vm.with_text(e))),
        };
        self.key = Some(k);
        let pair = self
            .vm
            .from_value(k)
            .and_then(|k| Ok((k, self.vm.from_value(v)?)));
        Some(pair)
    }
}

/// The iterator of [`Table::sequence_values`].
pub struct Sequence<'vm, V> {
    vm: &'vm mut Vm,
    table: Table,
    /// The next index, `None` once done.
    next: Option<i64>,
    _types: std::marker::PhantomData<fn() -> V>,
}

impl<V: FromLua> Iterator for Sequence<'_, V> {
    type Item = LuaResult<V>;

    fn next(&mut self) -> Option<Self::Item> {
        let i = self.next.take()?;
        let t = match self.table.raw_checked(self.vm, "Table::sequence_values") {
            Ok(t) => t,
            Err(e) => return Some(Err(e)),
        };
        let v = self.vm.raw_get(t, Value::Int(i));
        if v.is_nil() {
            return None;
        }
        self.next = i.checked_add(1);
        Some(self.vm.from_value(v))
    }
}

impl Function {
    /// Calls the function with `args` (a value, a tuple, [`Variadic`] or
    /// `()`) and converts its results to `R` (likewise), running to its
    /// end as [`Vm::call`] does.
    ///
    /// [`Variadic`]: crate::Variadic
    ///
    /// # Errors
    /// An error raised by the call, or results that do not convert.
    pub fn call<A: IntoLuaMulti, R: FromLuaMulti>(&self, vm: &mut Vm, args: A) -> LuaResult<R> {
        let f = self.checked(vm, "Function::call")?;
        let results = vm.with_scratch(|vm| {
            // Each argument stays alive while the next ones convert.
            let mut argv = Vec::new();
            args.into_values(vm, &mut argv)?;
            vm.call(f, &argv)
        })?;
        R::from_lua_multi(results, vm).map_err(|e| e.into_lua_error(vm))
    }
}

impl LuaString {
    /// The string's bytes.
    ///
    /// # Errors
    /// A handle of another VM.
    pub fn as_bytes<'vm>(&self, vm: &'vm mut Vm) -> LuaResult<&'vm [u8]> {
        let v = self.checked(vm, "LuaString::as_bytes")?;
        Ok(vm.str_bytes(v).unwrap_or_default())
    }

    /// The string as UTF-8 text.
    ///
    /// # Errors
    /// A string that is not UTF-8, or a handle of another VM.
    pub fn to_str<'vm>(&self, vm: &'vm mut Vm) -> LuaResult<&'vm str> {
        let v = self.checked(vm, "LuaString::to_str")?;
        if std::str::from_utf8(vm.str_bytes(v).unwrap_or_default()).is_err() {
            return Err(vm.api_error("string is not valid UTF-8"));
        }
        Ok(std::str::from_utf8(vm.str_bytes(v).unwrap_or_default()).unwrap_or_default())
    }
}

impl Thread {
    /// The coroutine as a raw handle, for [`Vm::resume`] and the other
    /// functions of [`Vm`] that take one (valid while this handle lives).
    pub fn raw(&self) -> ThreadRef {
        match self.value() {
            Value::Thread(t) => t,
            _ => unreachable!("a Thread handle holds a thread"),
        }
    }

    /// The coroutine's status (`coroutine.status`).
    ///
    /// # Errors
    /// A handle of another VM.
    pub fn status(&self, vm: &mut Vm) -> LuaResult<ThreadStatus> {
        self.checked(vm, "Thread::status")?;
        Ok(vm.thread_status(self.raw()))
    }
}

impl AnyUserData {
    /// The payload, if it is a `T`.
    ///
    /// # Errors
    /// "the userdata does not hold a value of type T", or a handle of
    /// another VM.
    pub fn borrow<'vm, T: std::any::Any>(&self, vm: &'vm mut Vm) -> LuaResult<&'vm T> {
        let v = self.checked(vm, "AnyUserData::borrow")?;
        if vm.userdata_ref::<T>(v).is_none() {
            return Err(wrong_payload::<T>(vm));
        }
        Ok(vm.userdata_ref::<T>(v).expect("checked above"))
    }

    /// The payload for writing, if it is a `T`.
    ///
    /// # Errors
    /// "the userdata does not hold a value of type T", or a handle of
    /// another VM.
    pub fn borrow_mut<'vm, T: std::any::Any>(&self, vm: &'vm mut Vm) -> LuaResult<&'vm mut T> {
        let v = self.checked(vm, "AnyUserData::borrow_mut")?;
        if vm.userdata_ref::<T>(v).is_none() {
            return Err(wrong_payload::<T>(vm));
        }
        Ok(vm.userdata_mut::<T>(v).expect("checked above"))
    }
}

/// Field `k`'s value `v`, converted; a failure names the field.
fn field<V: FromLua>(vm: &mut Vm, k: Value, v: Value) -> LuaResult<V> {
    vm.keep(v);
    V::from_lua(v, vm).map_err(|e| {
        let key = match k {
            Value::Str(_) => format!("field '{}'", vm.to_display(k)),
            Value::Int(_) | Value::Num(_) => format!("field [{}]", vm.to_display(k)),
            _ => format!("a field with a {} key", k.type_name()),
        };
        e.within(&key).into_lua_error(vm)
    })
}

#[cold]
fn wrong_payload<T>(vm: &mut Vm) -> LuaError {
    vm.api_error(&format!(
        "the userdata does not hold a value of type {}",
        std::any::type_name::<T>()
    ))
}

// ---------------------------------------------------------------------------
// Conversions from values
// ---------------------------------------------------------------------------

impl FromLua for Table {
    fn from_lua(value: Value, vm: &mut Vm) -> Result<Self, ConvertError> {
        match value {
            Value::Table(_) => {
                owned(value, vm)?;
                Ok(Table(vm.hold(value)))
            }
            _ => Err(ConvertError::expected("table", value)),
        }
    }
}

impl FromLua for Function {
    fn from_lua(value: Value, vm: &mut Vm) -> Result<Self, ConvertError> {
        match value {
            Value::LuaFn(_) | Value::Native(_) => {
                owned(value, vm)?;
                Ok(Function(vm.hold(value)))
            }
            _ => Err(ConvertError::expected("function", value)),
        }
    }
}

impl FromLua for LuaString {
    /// A string, or a number converted to a new string (`lua_tolstring`).
    fn from_lua(value: Value, vm: &mut Vm) -> Result<Self, ConvertError> {
        owned(value, vm)?;
        let s = crate::value::StrRef::from_lua(value, vm)?;
        Ok(LuaString(vm.hold(Value::Str(s))))
    }
}

impl FromLua for Thread {
    fn from_lua(value: Value, vm: &mut Vm) -> Result<Self, ConvertError> {
        match value {
            Value::Thread(_) => {
                owned(value, vm)?;
                Ok(Thread(vm.hold(value)))
            }
            _ => Err(ConvertError::expected("thread", value)),
        }
    }
}

impl FromLua for AnyUserData {
    fn from_lua(value: Value, vm: &mut Vm) -> Result<Self, ConvertError> {
        match value {
            Value::UserData(_) => {
                owned(value, vm)?;
                Ok(AnyUserData(vm.hold(value)))
            }
            _ => Err(ConvertError::expected("userdata", value)),
        }
    }
}

// ---------------------------------------------------------------------------
// Making handles
// ---------------------------------------------------------------------------

impl Vm {
    /// The globals table (`_G`) as a handle.
    pub fn globals(&mut self) -> Table {
        let g = Value::Table(self.globals);
        Table(self.hold(g))
    }

    /// Creates an empty table.
    ///
    /// # Errors
    /// "not enough memory" past the memory limit.
    pub fn create_table(&mut self) -> LuaResult<Table> {
        self.alloc_point(crate::heap::TABLE_OVERHEAD)?;
        let t = Value::Table(self.new_table());
        Ok(Table(self.hold(t)))
    }

    /// Creates (interns) a string.
    ///
    /// # Errors
    /// "not enough memory" past the memory limit.
    pub fn create_string(&mut self, bytes: impl AsRef<[u8]>) -> LuaResult<LuaString> {
        let bytes = bytes.as_ref();
        self.alloc_point(bytes.len())?;
        let s = self.new_str(bytes);
        Ok(LuaString(self.hold(s)))
    }

    /// Creates a full userdata holding `data`, without a metatable (see
    /// [`Vm::new_userdata`]).
    ///
    /// # Errors
    /// "not enough memory" past the memory limit.
    pub fn create_userdata<T: std::any::Any + Send>(&mut self, data: T) -> LuaResult<AnyUserData> {
        self.alloc_point(std::mem::size_of::<T>())?;
        let u = self.new_userdata(Box::new(data));
        Ok(AnyUserData(self.hold(u)))
    }

    /// Creates a coroutine running `f` (`coroutine.create`), to drive with
    /// [`Vm::resume`].
    ///
    /// # Errors
    /// A handle of another VM, "not enough memory" past the memory limit.
    pub fn create_thread(&mut self, f: &Function) -> LuaResult<Thread> {
        let f = f.checked(self, "Vm::create_thread")?;
        self.alloc_point(crate::heap::THREAD_OVERHEAD)?;
        let t = self.new_thread(f).map_err(|e| self.with_text(e))?;
        Ok(Thread(self.hold(Value::Thread(t))))
    }

    /// Where this layer allocates `bytes`: past the memory limit, "not
    /// enough memory"; and when no run is in progress (no native holds
    /// raw values in Rust locals), a collection that is due happens here,
    /// as at an interpreter safe point, so that a Rust loop making and
    /// dropping handles does not grow the heap without bound. (Raw values
    /// the embedder keeps go stale at any collection, this one included.)
    fn alloc_point(&mut self, bytes: usize) -> LuaResult<()> {
        let at_rest = self.cur == self.main
            && self.th.frames.is_empty()
            && !self.suspendable
            && self.n_ccalls == 0;
        if at_rest {
            self.gc_safe_point(self.th.top)
                .map_err(|e| self.with_text(e))?;
        }
        self.reserve_memory(bytes).map_err(|e| self.with_text(e))
    }

    /// Loads and runs a chunk and converts its results to `R` (a value, a
    /// tuple, [`Variadic`](crate::Variadic) or `()`).
    ///
    /// # Errors
    /// A syntax error, an error raised while running, or results that do
    /// not convert.
    pub fn eval<R: FromLuaMulti>(&mut self, text: &[u8], chunkname: &str) -> LuaResult<R> {
        let results = self.exec(text, chunkname)?;
        R::from_lua_multi(results, self).map_err(|e| e.into_lua_error(self))
    }

    /// Runs `f`, keeping alive the values it passes to [`Vm::keep`] until
    /// it returns: the conversions of this layer run user code (`FromLua`
    /// and `IntoLua` impls, and Lua they call) that may collect while they
    /// hold values nothing else roots.
    pub(crate) fn with_scratch<R>(&mut self, f: impl FnOnce(&mut Vm) -> R) -> R {
        let mark = self.scratch.len();
        self.scratch_depth += 1;
        // A user conversion that panics unwinds to the embedder: the VM
        // must not keep its values (or the open scope) for ever.
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(self)));
        self.scratch_depth -= 1;
        self.scratch.truncate(mark);
        r.unwrap_or_else(|p| std::panic::resume_unwind(p))
    }

    /// Keeps `v` alive until the innermost `with_scratch` returns (nothing
    /// outside one).
    pub(crate) fn keep(&mut self, v: Value) -> Value {
        if self.scratch_depth > 0 && v.is_collectable() {
            self.scratch.push(v);
        }
        v
    }

    /// A handle on `v`, an object of this VM.
    pub(crate) fn hold(&mut self, v: Value) -> Held {
        Held {
            cell: self.rare().handles.hold(v),
        }
    }

    /// [`Vm::hold`] of a function, as a [`Function`].
    pub(crate) fn hold_function(&mut self, f: Value) -> Function {
        Function(self.hold(f))
    }

    /// [`Vm::hold`] of a table, as a [`Table`].
    pub(crate) fn hold_table(&mut self, t: TableRef) -> Table {
        Table(self.hold(Value::Table(t)))
    }
}
