//! Lazy globals: the standard library made piece by piece, the first time
//! a program touches each piece, so that a VM (an agent) pays only for
//! what it uses. A program cannot tell: every way of reaching a global
//! (an access, `rawget`, `next`, `require`, the metatable of strings)
//! makes it first, and a global the program sets or removes before it
//! was made stays as the program left it.
//!
//! How: a table owed keys (the globals, `package.loaded`, the metatable
//! of strings) gets a hidden, empty metatable (the sentinel, `LazyState`),
//! so every fast path that misses a key or adds one takes its slow path,
//! which asks this module first (`Vm::materialize`, `Vm::lazy_write`). A
//! library opened lazily stores only what the program has not changed
//! (`Vm::provide`). Only static names (`names.rs`) can be owed, so a
//! lookup compares handles, never bytes, until a name matches.

use hashbrown::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use crate::error::LuaResult;
use crate::names;
use crate::native::NativeFunction;
use crate::state::{Lazy, LazyState, Names, Owed, Resolved, Vm, MAX_LAZY};
use crate::table::Table;
use crate::value::{TableRef, Value};

impl Vm {
    /// Makes each of `entries` a global of this VM that is made the first
    /// time a program touches it, as if it had been installed now. An
    /// entry whose names are not all shared names
    /// ([`Vm::is_shared_string`]), that is a global already, or past the
    /// 64th of the VM's lazy entries is installed at once.
    ///
    /// ```
    /// use vm_core::{Lazy, Vm};
    /// static LAZY: [Lazy; 1] = [Lazy::Global {
    ///     name: "_VERSION",
    ///     make: |vm| Ok(vm.new_str(b"made on first use")),
    /// }];
    /// let mut vm = Vm::new();
    /// vm.open_lazily(&LAZY).unwrap();
    /// let r = vm.exec(b"return _VERSION", "=lazy").unwrap();
    /// assert_eq!(vm.to_display(r[0]), "made on first use");
    /// ```
    ///
    /// # Errors
    /// "not enough memory", or an error of an entry installed at once.
    pub fn open_lazily(&mut self, entries: &'static [Lazy]) -> LuaResult<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let globals = self.globals;
        if self.heap.tables[globals].metatable.is_some() && !self.is_lazy(globals) {
            // The program's own metatable on the globals: nothing lazy.
            for &e in entries {
                self.make_now(e)?;
            }
            return Ok(());
        }
        let loaded = self.loaded_table();
        let first = self.lazy_state().len();
        let resolved = resolve(entries);
        if self.owe_list(entries, &resolved, loaded) {
            return Ok(());
        }
        self.lazy_state().lists.push(Arc::clone(&resolved));
        let strings = crate::meta::type_index(Value::Str(names::handle(0)));
        for (i, (&e, names)) in entries.iter().zip(resolved.names.iter()).enumerate() {
            let bit = first + i;
            let Some((index, more)) = &names.0 else {
                self.make_now(e)?;
                continue;
            };
            let name = names::handle(*index as usize);
            if owed_name(self.lazy_state(), *index) {
                if let Some(old) = self.owed_entry(globals, Value::Str(name)) {
                    let same = self
                        .lazy
                        .as_ref()
                        .and_then(|l| l.entry(old))
                        .is_some_and(|(o, _)| o.same(e));
                    if same {
                        // Opened lazily twice: made once.
                        continue;
                    }
                    // Another entry under that name replaces it, as an
                    // eager opening would: the first is made now, and
                    // this one over it.
                    self.make(old)?;
                }
            }
            let table = &self.heap.tables[globals];
            let present = std::iter::once(index)
                .chain(more)
                .any(|&k| !table.get_str(names::handle(k as usize)).is_nil());
            // A metatable of strings the embedder set is replaced at
            // once, as an eager opening replaces it.
            let ours = self.lazy.as_ref().and_then(|l| l.string_mt).map(|m| m.0);
            let replaces_mt = matches!(
                e,
                Lazy::Library {
                    string_metatable: true,
                    ..
                }
            ) && self.type_mt.get(strings).is_some_and(|mt| Some(mt) != ours);
            if present || replaces_mt || bit >= MAX_LAZY {
                self.make_now(e)?;
                continue;
            }
            let lazy = self.lazy_state();
            for &k in std::iter::once(index).chain(more) {
                if !lazy.changed.is_empty() {
                    lazy.changed
                        .retain(|&c| c != (globals, k) && c != (loaded, k));
                }
            }
            self.owe(globals, 1 << bit);
            if let Lazy::Library {
                string_metatable, ..
            } = e
            {
                self.owe(loaded, 1 << bit);
                if string_metatable && self.type_mt.get(strings).is_none() {
                    self.owe_string_metatable(bit);
                }
            }
        }
        Ok(())
    }

    /// Owes the whole list at once, as the loop of `open_lazily` would,
    /// when nothing makes an entry differ: every name static, none a
    /// global yet or owed already, room for every entry, no key changed.
    /// False (nothing done) otherwise.
    fn owe_list(
        &mut self,
        entries: &'static [Lazy],
        resolved: &Arc<Resolved>,
        loaded: TableRef,
    ) -> bool {
        let first = self.lazy_state().len();
        let clash = |lazy: &LazyState| {
            lazy.lists.iter().any(|owed| {
                owed.name_bits
                    .iter()
                    .zip(&resolved.name_bits)
                    .any(|(a, b)| a & b != 0)
            })
        };
        let strings = crate::meta::type_index(Value::Str(names::handle(0)));
        let string_mt_set = self.type_mt.get(strings).is_some();
        let lazy = self.lazy_state();
        if !resolved.distinct
            || first + entries.len() > MAX_LAZY
            || (resolved.string_metatable.is_some() && string_mt_set)
            || !lazy.changed.is_empty()
            || clash(lazy)
        {
            return false;
        }
        let present = self.heap.tables[self.globals].iter().any(|(k, _)| {
            static_key(k)
                .is_some_and(|k| resolved.name_bits[k as usize / 64] & (1 << (k % 64)) != 0)
        });
        if present {
            return false;
        }
        self.lazy_state().lists.push(Arc::clone(resolved));
        let every = if entries.len() == 64 {
            u64::MAX
        } else {
            (1 << entries.len()) - 1
        };
        self.owe(self.globals, every << first);
        if resolved.libraries != 0 {
            self.owe(loaded, resolved.libraries << first);
        }
        if let Some(i) = resolved.string_metatable {
            self.owe_string_metatable(first + i);
        }
        true
    }

    /// Gives strings an empty metatable owed every key of entry `bit`
    /// (the `string` library), filled on its first lookup.
    fn owe_string_metatable(&mut self, bit: usize) {
        let strings = crate::meta::type_index(Value::Str(names::handle(0)));
        let mt = self.heap.new_table(Table::new());
        self.type_mt.set(strings, Some(mt));
        self.lazy_state().string_mt = Some((mt, false));
        self.owe(mt, 1 << bit);
    }

    /// The lazy state, made on first use with its sentinel.
    fn lazy_state(&mut self) -> &mut LazyState {
        if self.lazy.is_none() {
            let sentinel = self.heap.new_table(Table::new());
            self.lazy = Some(Box::new(LazyState {
                sentinel,
                lists: smallvec::SmallVec::new(),
                owed: smallvec::SmallVec::new(),
                changed: thin_vec::ThinVec::new(),
                string_mt: None,
                making: false,
            }));
        }
        self.lazy.as_mut().expect("made above")
    }

    /// Table `t` is owed the entries of mask `entries` (all its keys, if
    /// it is the metatable of strings made lazily: `LazyState::every_key`).
    fn owe(&mut self, t: TableRef, entries: u64) {
        let lazy = self.lazy_state();
        let sentinel = lazy.sentinel;
        match lazy.owed.iter_mut().find(|o| o.table == t) {
            Some(o) => o.entries |= entries,
            None => lazy.owed.push(Owed { table: t, entries }),
        }
        self.heap.tables[t].metatable = Some(sentinel);
    }

    /// Whether `mt` is the sentinel metatable (`LazyState`).
    #[inline]
    pub(crate) fn is_sentinel(&self, mt: TableRef) -> bool {
        self.lazy.as_ref().is_some_and(|l| l.sentinel == mt)
    }

    /// Whether table `t` is owed keys.
    #[inline]
    pub(crate) fn is_lazy(&self, t: TableRef) -> bool {
        match (&self.lazy, self.heap.tables.get(t)) {
            (Some(lazy), Some(tab)) => tab.metatable == Some(lazy.sentinel),
            _ => false,
        }
    }

    /// The entry that makes key `key` of table `t`, if it is owed.
    pub(crate) fn owed_entry(&self, t: TableRef, key: Value) -> Option<usize> {
        let lazy = self.lazy.as_ref()?;
        let owed = lazy.owed.iter().find(|o| o.table == t && o.entries != 0)?;
        if lazy.every_key(t) {
            return Some(owed.entries.trailing_zeros() as usize);
        }
        let k = static_key(key)?;
        if t == self.globals && !owed_name(lazy, k) {
            return None;
        }
        if lazy.changed.contains(&(t, k)) {
            return None;
        }
        let in_globals = t == self.globals;
        // List by list, skipping a list none of whose names is `k` (one
        // bit test), then its owed entries in order.
        let mut first = 0;
        for list in &lazy.lists {
            let len = list.entries.len().min(64);
            let owed_here = owed.entries.checked_shr(first as u32).unwrap_or(0)
                & u64::MAX.checked_shr(64 - len as u32).unwrap_or(0);
            if owed_here != 0 && list.name_bits[k as usize / 64] & (1 << (k % 64)) != 0 {
                if let Some(i) = bits(owed_here).find(|&i| list.names[i].has(k, in_globals)) {
                    return Some(first + i);
                }
            }
            first += list.entries.len();
        }
        None
    }

    /// Makes what key `key` of table `t` is owed, if it is: true when
    /// something was made (look again).
    ///
    /// # Errors
    /// An error of the making ("not enough memory").
    pub(crate) fn materialize(&mut self, t: TableRef, key: Value) -> LuaResult<bool> {
        match self.owed_entry(t, key) {
            Some(bit) => self.make(bit).map(|()| true),
            None => Ok(false),
        }
    }

    /// Makes every key owed of table `t` (before it is traversed or gets
    /// a metatable).
    ///
    /// # Errors
    /// As [`Vm::materialize`].
    pub(crate) fn materialize_all(&mut self, t: TableRef) -> LuaResult<()> {
        while let Some(bit) = self
            .lazy
            .as_ref()
            .and_then(|l| l.owed.iter().find(|o| o.table == t && o.entries != 0))
            .map(|o| o.entries.trailing_zeros() as usize)
        {
            self.make(bit)?;
        }
        Ok(())
    }

    /// The program stores into key `key` of lazy table `t`, which does
    /// not hold it: an owed key is no longer owed (the program's value
    /// wins over the library's); a table owed as a whole is made first.
    ///
    /// # Errors
    /// As [`Vm::materialize`].
    pub(crate) fn lazy_write(&mut self, t: TableRef, key: Value) -> LuaResult<()> {
        let every_key = self.lazy.as_ref().is_some_and(|l| {
            l.every_key(t) && l.owed.iter().any(|o| o.table == t && o.entries != 0)
        });
        if every_key {
            return self.materialize_all(t);
        }
        if let (Some(_), Some(k)) = (self.owed_entry(t, key), static_key(key)) {
            self.lazy_state().changed.push((t, k));
        }
        Ok(())
    }

    /// A library's store of `v` into key `key` of `t` (`register_library`,
    /// `install_global`, `register`): made unless the program changed
    /// that key while it was owed.
    ///
    /// # Errors
    /// "not enough memory".
    pub(crate) fn provide(&mut self, t: TableRef, key: Value, v: Value) -> LuaResult<()> {
        if let (Some(lazy), Some(k)) = (&self.lazy, static_key(key)) {
            if lazy.making {
                if lazy.changed.contains(&(t, k)) {
                    return Ok(());
                }
            } else if self.owed_entry(t, key).is_some() {
                // The embedder installs its own (or opens a library at
                // once): what is owed for that key is not made over it.
                self.lazy_state().changed.push((t, k));
            }
        }
        self.raw_store(t, key, v)
    }

    /// The metatable a library's opening fills for the values of `v`'s
    /// type (the `string` library, for strings): the one made lazily for
    /// it while it is unfilled (whether or not the program has set
    /// another meanwhile), else a new one, set now.
    ///
    /// # Errors
    /// "bad argument" for a table or a userdata, which have metatables of
    /// their own.
    pub fn library_metatable(&mut self, v: Value) -> LuaResult<Option<TableRef>> {
        if matches!(v, Value::Table(_) | Value::UserData(_)) {
            return Err(self.rt_error(
                "Vm::library_metatable: tables and userdata have metatables of their own",
            ));
        }
        let index = crate::meta::type_index(v);
        if index == crate::meta::type_index(Value::Str(names::handle(0))) {
            if let Some(lazy) = &mut self.lazy {
                if let Some((mt, filled @ false)) = &mut lazy.string_mt {
                    // The one made lazily, filled even if the program
                    // set another meanwhile (it may put this one back).
                    *filled = true;
                    return Ok(Some(*mt));
                }
            }
        }
        let mt = self.heap.new_table(Table::new());
        self.type_mt.set(index, Some(mt));
        Ok(Some(mt))
    }

    /// Makes entry `bit` and forgets what it owed.
    fn make(&mut self, bit: usize) -> LuaResult<()> {
        // Owed no more before it is made: the making looks its own names
        // up (and a program's change to the metatable of strings may
        // leave a key unprovided), so it must not be made twice; and a
        // bit naming no entry is cleared too, so no loop over what is
        // owed can spin on it.
        let mut tables = smallvec::SmallVec::<[TableRef; 3]>::new();
        if let Some(lazy) = &mut self.lazy {
            for o in lazy.owed.iter_mut().filter(|o| o.entries & (1 << bit) != 0) {
                o.entries &= !(1 << bit);
                tables.push(o.table);
            }
        }
        let Some(e) = self
            .lazy
            .as_ref()
            .and_then(|l| l.entry(bit))
            .map(|(e, _)| e)
        else {
            for t in tables {
                self.settle(t);
            }
            return Ok(());
        };
        // Made as if it had been at the start (when the eager libraries
        // are): counted in the heap, but not refused by the memory limit,
        // which the next allocation past it meets as usual. Only the
        // allocator's refusal fails it.
        let limit = self.heap.limit();
        self.heap.set_limit(None);
        let filled = self.lazy.as_ref().and_then(|l| l.string_mt);
        let was_making = std::mem::replace(&mut self.lazy_state().making, true);
        let made = self.make_now(e);
        self.lazy_state().making = was_making;
        self.heap.set_limit(limit);
        if made.is_err() {
            // Owed again: the next look tries again, from the start.
            if let Some(lazy) = &mut self.lazy {
                for o in lazy.owed.iter_mut().filter(|o| tables.contains(&o.table)) {
                    o.entries |= 1 << bit;
                }
                lazy.string_mt = filled;
            }
            return made;
        }
        for t in tables {
            self.settle(t);
        }
        Ok(())
    }

    /// Installs an entry (made lazily or at once).
    fn make_now(&mut self, e: Lazy) -> LuaResult<()> {
        match e {
            Lazy::Function(f) => {
                let v = self.new_native(f);
                self.install_global(f.name, v)
            }
            Lazy::Global { name, make } => {
                let v = make(self)?;
                self.install_global(name, v)
            }
            Lazy::Library { open, .. } => open(self),
        }
    }

    /// Gives table `t` its metatable back (none) once it is owed nothing.
    fn settle(&mut self, t: TableRef) {
        let Some(lazy) = &mut self.lazy else { return };
        let Some(i) = lazy.owed.iter().position(|o| o.table == t) else {
            return;
        };
        if lazy.owed[i].entries != 0 {
            return;
        }
        lazy.owed.swap_remove(i);
        let sentinel = lazy.sentinel;
        if let Some(tab) = self.heap.tables.get_mut(t) {
            if tab.metatable == Some(sentinel) {
                tab.metatable = None;
            }
        }
    }

    /// The global name of function `f` if it is a native still owed
    /// (`pairs` returns `next` before `next` is made; a library's native
    /// may arrive from another VM), for error messages that name
    /// functions by their globals: `next`, `string.rep`.
    pub(crate) fn owed_function_name(&self, f: Value) -> Option<String> {
        let Value::Native(n) = f else { return None };
        let native = crate::light::native(n)?;
        let bit = self.owed_entry_of(native)?;
        match self.lazy.as_ref()?.entry(bit)?.0 {
            Lazy::Function(g) => Some(g.name.to_string()),
            Lazy::Library { name, .. } => Some(format!("{name}.{}", native.name)),
            Lazy::Global { .. } => None,
        }
    }

    /// The owed entry that makes native `f`: a global function, or a
    /// library listing it.
    fn owed_entry_of(&self, f: &'static NativeFunction) -> Option<usize> {
        let lazy = self.lazy.as_ref()?;
        let owed = lazy.owed.iter().find(|o| o.table == self.globals)?;
        bits(owed.entries).find(|&bit| match lazy.entry(bit).map(|(e, _)| e) {
            Some(Lazy::Function(g)) => std::ptr::eq(g, f),
            Some(Lazy::Library {
                natives: Some(list),
                ..
            }) => list.natives.iter().any(|&g| std::ptr::eq(g, f)),
            _ => false,
        })
    }

    /// Makes the library (or global) that native `f` belongs to, if it is
    /// still owed: a native received from another VM finds its library's
    /// state (`io`'s default output) as it would in an eager VM.
    ///
    /// # Errors
    /// As [`Vm::materialize`].
    pub(crate) fn make_owner_of(&mut self, f: &'static NativeFunction) -> LuaResult<()> {
        match self.owed_entry_of(f) {
            Some(bit) => self.make(bit),
            None => Ok(()),
        }
    }

    /// The tables the lazy state refers to, for the collector.
    pub(crate) fn lazy_roots(&self) -> impl Iterator<Item = TableRef> + '_ {
        self.lazy.iter().flat_map(|l| {
            std::iter::once(l.sentinel)
                .chain(l.owed.iter().map(|o| o.table))
                .chain(l.changed.iter().map(|c| c.0))
                .chain(l.string_mt.map(|m| m.0))
        })
    }
}

/// Whether static name `k` is one that the lists' entries give the
/// globals, made or not: a miss of any other global is no business of
/// the lazy state.
fn owed_name(lazy: &LazyState, k: u32) -> bool {
    lazy.lists
        .iter()
        .any(|list| list.name_bits[k as usize / 64] & (1 << (k % 64)) != 0)
}

/// The names of each entry of `list` as static-name indices, resolved
/// once in the process (a VM is made for every agent: each would look up
/// the same sixty names).
fn resolve(list: &'static [Lazy]) -> Arc<Resolved> {
    type Cache = RwLock<HashMap<(usize, usize), Arc<Resolved>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    // A list and its prefix start at the same address.
    let key = (list.as_ptr() as usize, list.len());
    let known = cache
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&key)
        .cloned();
    if let Some(resolved) = known {
        return resolved;
    }
    let index = |s: &str| {
        names::find(s.as_bytes())
            .and_then(names::index)
            .map(|i| i as u32)
    };
    let names: Box<[Names]> = list
        .iter()
        .map(|&e| {
            let more: &'static [&'static str] = match e {
                Lazy::Library { globals, .. } => globals,
                _ => &[],
            };
            let more: Option<Vec<u32>> = more.iter().map(|g| index(g)).collect();
            Names(index(e.name()).zip(more))
        })
        .collect();
    let mut name_bits = [0u64; 6];
    for (name, more) in names.iter().filter_map(|n| n.0.as_ref()) {
        for &k in std::iter::once(name).chain(more) {
            name_bits[k as usize / 64] |= 1 << (k % 64);
        }
    }
    let is_library = |e: &Lazy| matches!(e, Lazy::Library { .. });
    let count: usize = names
        .iter()
        .filter_map(|n| n.0.as_ref())
        .map(|(_, more)| 1 + more.len())
        .sum();
    let union: u32 = name_bits.iter().map(|w| w.count_ones()).sum();
    let resolved = Arc::new(Resolved {
        entries: list,
        distinct: names.iter().all(|n| n.0.is_some()) && union as usize == count,
        name_bits,
        libraries: list
            .iter()
            .enumerate()
            .filter(|(i, e)| *i < 64 && is_library(e))
            .fold(0, |m, (i, _)| m | 1 << i),
        string_metatable: list.iter().position(|e| {
            matches!(
                e,
                Lazy::Library {
                    string_metatable: true,
                    ..
                }
            )
        }),
        names,
    });
    cache
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(key, Arc::clone(&resolved));
    resolved
}

/// The set bits of `mask`, lowest first.
fn bits(mut mask: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        let bit = mask.trailing_zeros() as usize;
        mask &= mask.wrapping_sub(1);
        (bit < 64).then_some(bit)
    })
}

/// The static-name index of a key, if it is one.
fn static_key(key: Value) -> Option<u32> {
    match key {
        Value::Str(s) => names::index(s).map(|i| i as u32),
        _ => None,
    }
}
