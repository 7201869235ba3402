//! Metatables and metamethods (`ltm.c`): metatable lookup for every type,
//! and the absent-metamethod cache kept in each table's `flags`. The
//! events (`Tm`) and their names are declared in `state/meta.rs`.

use crate::error::LuaResult;
use crate::state::{Tm, TypeMetatables, Vm};
use crate::value::{TableRef, Value};

/// Index of a value's type in `Vm::type_mt` (tables and userdata carry
/// their own metatables).
pub(crate) fn type_index(v: Value) -> usize {
    // `TypeMetatables` keeps strings' apart.
    const _: () = assert!(TypeMetatables::STRING == 3);
    match v {
        Value::Nil => 0,
        Value::Bool(_) => 1,
        Value::Int(_) | Value::Num(_) => 2,
        Value::Str(_) => 3,
        Value::Table(_) => 4,
        Value::LuaFn(_) | Value::Native(_) => 5,
        Value::Thread(_) => 6,
        Value::UserData(_) => 7,
    }
}

impl Vm {
    /// The metatable of any value (`None` also for a handle that names no
    /// object of this VM).
    pub fn metatable(&self, v: Value) -> Option<TableRef> {
        if !self.owns(v) {
            return None;
        }
        // (The lazy globals' sentinel is no metatable to the program.)
        self.mt_of(v).filter(|&mt| !self.is_sentinel(mt))
    }

    /// Whether `v` is a table whose raw contents are all there is to it:
    /// no metatable, and no lazy global still owed ([`Vm::open_lazily`]).
    /// Natives read such a table directly (`gsub`'s replacement table).
    pub fn is_plain_table(&self, v: Value) -> bool {
        matches!(v, Value::Table(t) if self.heap.tables.get(t).is_some_and(|tab| tab.metatable.is_none()))
    }

    /// `metatable` of a value of this VM.
    #[inline]
    pub(crate) fn mt_of(&self, v: Value) -> Option<TableRef> {
        match v {
            Value::Table(t) => self.heap.tables[t].metatable,
            Value::UserData(u) => self.heap.userdata[u].metatable,
            _ => self.type_mt.get(type_index(v)),
        }
    }

    /// Sets the metatable shared by all values of `v`'s type (strings,
    /// numbers, ...); for tables and userdata, sets `v`'s own metatable.
    ///
    /// # Errors
    /// "bad handle" if `v` or `mt` is not of this VM.
    pub fn set_metatable(&mut self, v: Value, mt: Option<TableRef>) -> LuaResult<()> {
        if let Value::Table(t) = v {
            if self.is_lazy(t) {
                self.materialize_all(t)?;
            }
        }
        // The checks are the lookups the store makes anyway (`setmetatable`
        // of every new object is hot in object-oriented code).
        self.try_set_mt(v, mt)
            .map_err(|bad| self.bad_handle("Vm::set_metatable", bad))
    }

    /// `set_metatable` of values of this VM.
    pub(crate) fn set_mt(&mut self, v: Value, mt: Option<TableRef>) {
        let stored = self.try_set_mt(v, mt);
        debug_assert!(stored.is_ok(), "set_mt of a bad handle");
    }

    /// `set_metatable`, or the value (`v`, or `mt` as a table) that names
    /// no object of this VM; nothing changes then.
    fn try_set_mt(&mut self, v: Value, mt: Option<TableRef>) -> Result<(), Value> {
        let has_gc = match mt {
            None => false,
            Some(mt) => match self.heap.tables.get(mt) {
                Some(m) => m.get_str(Tm::Gc.key()).truthy(),
                None => return Err(Value::Table(mt)),
            },
        };
        match v {
            Value::Table(t) => match self.heap.tables.get_mut(t) {
                Some(tab) => tab.metatable = mt,
                None => return Err(v),
            },
            Value::UserData(u) => match self.heap.userdata.get_mut(u) {
                Some(ud) => ud.metatable = mt,
                None => return Err(v),
            },
            _ if !self.owns(v) => return Err(v),
            _ => self.type_mt.set(type_index(v), mt),
        }
        if has_gc {
            if let Some(key) = crate::state::fin_key(v) {
                if self.fin.finobj_keys.insert(key) {
                    self.heap.debt += crate::heap::FIN_OVERHEAD;
                    self.fin.finobj.push(v);
                }
            }
        }
        Ok(())
    }

    /// A metamethod from metatable `mt`, or nil; caches absence for the
    /// first eight events in the metatable's `flags`.
    #[inline]
    pub(crate) fn tm_of(&mut self, mt: TableRef, event: Tm) -> Value {
        let bit = event as u8;
        let t = &mut self.heap.tables[mt];
        if bit < 8 && t.flags & (1 << bit) != 0 {
            return Value::Nil;
        }
        let v = t.get_str(event.key());
        if v.is_nil() {
            // (A metatable with a metatable: the lazy one of strings?)
            if t.metatable.is_some() {
                return self.tm_of_lazy(mt, event);
            }
            if bit < 8 {
                t.flags |= 1 << bit;
            }
        }
        v
    }

    /// `tm_of` missing in a metatable that has a metatable: if that is
    /// the lazy state's sentinel, the library it is owed makes it and the
    /// lookup is made again. A failure to make it (out of memory) reads
    /// as an absent metamethod, not cached.
    #[cold]
    #[inline(never)]
    fn tm_of_lazy(&mut self, mt: TableRef, event: Tm) -> Value {
        let lazy = self.heap.tables[mt]
            .metatable
            .is_some_and(|m| self.is_sentinel(m));
        if lazy && matches!(self.materialize(mt, Value::Str(event.key())), Ok(true)) {
            return self.tm_of(mt, event);
        }
        if !lazy && (event as u8) < 8 {
            self.heap.tables[mt].flags |= 1 << event as u8;
        }
        self.heap.tables[mt].get_str(event.key())
    }

    /// The metamethod for `event` of value `v`, or nil (also for a handle
    /// that names no object of this VM).
    pub fn metamethod(&mut self, v: Value, event: Tm) -> Value {
        if !self.owns(v) {
            return Value::Nil;
        }
        self.tm_of_value(v, event)
    }

    /// `metamethod` of a value of this VM.
    #[inline]
    pub(crate) fn tm_of_value(&mut self, v: Value, event: Tm) -> Value {
        match self.mt_of(v) {
            Some(mt) => self.tm_of(mt, event),
            None => Value::Nil,
        }
    }

    /// The length of `v`'s `__name`, if its metatable has a string there.
    pub(crate) fn type_name_len(&self, v: Value) -> Option<usize> {
        let mt = self.mt_of(v)?;
        match self.heap.tables[mt].get_str(Tm::Name.key()) {
            Value::Str(s) => Some(self.heap.str_bytes(s).len()),
            _ => None,
        }
    }

    /// The `__name` of `v`'s metatable if it is a string (`luaT_objtypename`),
    /// paid for by its bytes (a name can be as long as a string can).
    pub fn type_name_of(&mut self, v: Value) -> String {
        if let Some(mt) = self.metatable(v) {
            if let Value::Str(s) = self.heap.tables[mt].get_str(Tm::Name.key()) {
                let name = String::from_utf8_lossy(self.heap.str_bytes(s)).into_owned();
                self.spend(name.len() as u64 / 32);
                return name;
            }
        }
        v.type_name().to_string()
    }
}
