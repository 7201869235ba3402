//! Tables (`ltable.c`): Lua's one data structure, an array part for the
//! integer keys `1..=n` plus an insertion-ordered hash part for every other
//! key.
//!
//! # Design note: why insertion order
//!
//! PUC Lua traverses its hash part in node order, and a key's node follows
//! from its hash: for strings a hash seeded per state, for tables and
//! functions their address. `pairs` order therefore changes between runs and
//! builds. We promise more (DESIGN.md section 3): the same program gives the
//! same `pairs` order on every run and after a snapshot is restored. Our
//! handles are arena slots, whose values depend on allocation and collection
//! history, so any order derived from a hash would break that promise the
//! moment the heap layout, the hash function or an index capacity differed.
//! So the hash part keeps its entries in a vector in the order keys were
//! inserted, and the hash only finds entries, never orders them: the order is
//! a function of the program's sequence of insertions alone. As a bonus,
//! `next` is "this entry's position + 1" and traversal is a linear scan of
//! dense memory. The price is one indirection (index slot, then entry) and
//! tombstones for removed keys, which are dropped when the index is rebuilt.
//!
//! # Layout
//!
//! - `array`: values of the keys `1..=n` (`n = array.len()`); a removed key
//!   leaves a `nil` hole. Appending `t[n+1] = v` pushes.
//! - hash part: `entries` in insertion order and `index`, an open-addressing
//!   (linear probing) table of entry positions with load at most 1/2, so a
//!   miss stops after ~2.5 probes. Up to 8 entries the index is inline in
//!   the table (`table/index.rs`). Setting a key to nil keeps its entry as a
//!   tombstone (nil value), so `next` from that key still works during a
//!   traversal; setting it again revives the entry in place.
//! - When the hash part is full, [`Table`] rehashes like `luaH_resize`: it
//!   counts integer keys per power-of-two slice (`computesizes`), picks the
//!   largest array size that stays more than half full, moves keys between
//!   the parts accordingly and rebuilds the hash part without tombstones.
//!   Inserting a new key during a traversal is undefined in Lua, so
//!   reorganising then is allowed; assigning to existing keys never
//!   reorganises anything.
//!
//! # Invariants (checked by `check_invariants` in tests)
//!
//! 1. Keys are normalised: never nil or NaN; a float with an integer value
//!    is stored as that integer (`-0.0` is `0`).
//! 2. No live hash entry has an integer key in `1..=n+1`. Hence `t[n+1] = v`
//!    can push without looking at the hash part, and if `array[n-1]` is
//!    non-nil then `n` is a border: `#t` never searches the hash part.
//! 3. Every entry is reachable from its hash through `index`, keys are
//!    unique, and `entries.len() <= index.len() / 2`.
//! 4. `live_ints` counts the entries with an integer key and a non-nil
//!    value.

mod index;

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::alloc::can_allocate;
use slotmap::Key;
use thin_vec::ThinVec;

use crate::number::float_to_int_exact;
use crate::value::{StrRef, TableRef, Value};
use index::Index;

/// Largest preallocation honoured by [`Table::with_capacity`] and
/// [`Table::grow_array`]: sizes come from bytecode, and a hint must not be
/// able to allocate gigabytes (larger tables still grow on demand).
const MAX_PREALLOC: usize = 1 << 20;

/// Integer keys above `2^MAX_ARRAY_BITS` are never counted for the array
/// part (`MAXABITS`).
const MAX_ARRAY_BITS: usize = 30;

/// What a lookup of an absent key refers to.
static NIL: Value = Value::Nil;

/// Error from a raw table operation; the VM raises it as a Lua error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TableError {
    /// Assignment with a `nil` key.
    NilIndex,
    /// Assignment with a NaN key.
    NaNIndex,
    /// `next` was given a key that is not in the table.
    BadNext,
}

impl TableError {
    /// The error message, without position information.
    pub(crate) fn message(self) -> &'static str {
        match self {
            TableError::NilIndex => "table index is nil",
            TableError::NaNIndex => "table index is NaN",
            TableError::BadNext => "invalid key to 'next'",
        }
    }
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for TableError {}

/// A Lua table: raw (metamethod-free) access to keys and values.
///
/// Traversal order (`next`, `iter`) is the array part `1..=n`, then the other
/// keys in the order they were first inserted; it depends only on the
/// sequence of operations, never on handle values or addresses.
#[derive(Clone, Debug, Default)]
pub(crate) struct Table {
    /// The metatable, if any. Read and written by the VM (`setmetatable`).
    pub metatable: Option<TableRef>,
    /// Cache of absent metamethods, owned by the VM: the VM sets a bit when it
    /// finds a metamethod absent, and the table resets the whole byte to 0
    /// whenever a string key goes from absent to present (a new key or a
    /// revived one), so a cached absence is never stale.
    pub flags: u8,
    /// Values of the keys `1..=array.len()`; nil for holes.
    array: Vec<Value>,
    /// Every other key (see the invariants in the module docs).
    hash: HashPart,
    /// Bytes allocated by growth since the last `take_growth` (the heap
    /// adds them to the collector's debt), or [`REFUSED`]. One field, so
    /// that the store's fast path checks one word.
    grown: u32,
}

/// `Table::grown` when the allocator refused a growth since the last
/// `take_growth`: the insertion that needed it did not happen.
const REFUSED: u32 = u32::MAX;

/// What a table's growth took since it was last asked
/// ([`Table::take_growth`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Growth {
    /// Bytes allocated.
    pub bytes: usize,
    /// The allocator refused room for a new key, which was not inserted:
    /// the store must fail with "not enough memory".
    pub refused: bool,
}

impl Growth {
    /// Whether the table grew or was refused room.
    #[inline]
    pub(crate) fn any(&self) -> bool {
        self.bytes > 0 || self.refused
    }
}

impl Table {
    /// An empty table with no preallocated storage.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// An empty table with room for `narray` array keys and `nhash` other
    /// keys (`lua_createtable`). Like PUC Lua, the keys `1..=narray` belong
    /// to the array part from the start, so a constructor such as
    /// `{nil, nil, 3}` has the border 3. Hints above 2^20 are capped.
    pub(crate) fn with_capacity(narray: usize, nhash: usize) -> Self {
        Table {
            metatable: None,
            flags: 0,
            array: vec![Value::Nil; narray.min(MAX_PREALLOC)],
            hash: HashPart::with_capacity(nhash.min(MAX_PREALLOC)),
            grown: 0,
        }
    }

    /// Raw get (`rawget`): the value of `key`, or nil when absent. Nil and
    /// NaN keys are never present, so they give nil.
    #[inline]
    pub(crate) fn get(&self, key: Value) -> Value {
        *self.get_ref(key)
    }

    /// `get` as a reference (see `get_int_ref`).
    #[inline]
    pub(crate) fn get_ref(&self, key: Value) -> &Value {
        match key {
            Value::Int(i) => self.get_int_ref(i),
            Value::Str(s) => self.hash.get_str(s),
            Value::Nil => &NIL,
            Value::Num(f) => match float_to_int_exact(f) {
                Some(i) => self.get_int_ref(i),
                // A NaN is never stored, so its lookup simply misses.
                None => self.hash.get(key),
            },
            _ => self.hash.get(key),
        }
    }

    /// Raw get of an integer key.
    #[inline]
    pub(crate) fn get_int(&self, key: i64) -> Value {
        *self.get_int_ref(key)
    }

    /// `get_int` as a reference to the value in the table (or to a nil).
    /// The interpreter tests and copies it in place: a `Value` returned by
    /// value was spilled to the stack to test its tag, and the reload
    /// waited on the spill.
    #[inline]
    pub(crate) fn get_int_ref(&self, key: i64) -> &Value {
        if let Some(value) = self.array.get(array_index(key)) {
            return value;
        }
        if self.hash.live_ints == 0 {
            return &NIL;
        }
        self.hash.get_int(key)
    }

    /// The array slot of integer key `key`, if the array part has one
    /// (storing there never reorganises the table).
    #[inline(always)]
    pub(crate) fn array_slot_mut(&mut self, key: i64) -> Option<&mut Value> {
        self.array.get_mut(array_index(key))
    }

    /// Raw get of a string key.
    #[inline]
    pub(crate) fn get_str(&self, key: StrRef) -> Value {
        *self.hash.get_str(key)
    }

    /// `get_str` as a reference (see `get_int_ref`), trying position `hint`
    /// of the hash part first and recording where the key was found (see
    /// `func::FieldCache`).
    #[inline(always)]
    pub(crate) fn get_str_hinted(&self, key: StrRef, hint: Option<&AtomicU32>) -> &Value {
        match hint {
            Some(hint) => self.hash.get_str_hinted(key, hint),
            None => self.hash.get_str(key),
        }
    }

    /// Raw set (`rawset`). A float key with an integer value is stored as
    /// that integer. Setting nil removes the key (an absent key stays
    /// absent).
    ///
    /// # Errors
    ///
    /// [`TableError::NilIndex`] or [`TableError::NaNIndex`] for a nil or NaN key,
    /// whatever the value (as PUC Lua); the table is then unchanged.
    #[inline]
    pub(crate) fn set(&mut self, key: Value, value: Value) -> Result<(), TableError> {
        match normalise(key)? {
            Value::Int(i) => self.set_int(i, value),
            Value::Str(s) => self.set_str(s, value),
            key => self.set_hashed(key, value),
        }
        Ok(())
    }

    /// Raw set of an integer key. Keys inside the array part are a store;
    /// the key just past it (`t[#t+1] = v` on a table without holes) is a
    /// push.
    #[inline]
    pub(crate) fn set_int(&mut self, key: i64, value: Value) {
        let index = array_index(key);
        if let Some(slot) = self.array.get_mut(index) {
            *slot = value;
        } else if index == self.array.len() {
            // Key n+1 is never in the hash part (invariant 2).
            if !value.is_nil() {
                self.push(value);
            }
        } else {
            let hash = hash_int(key);
            self.set_in_hash(
                Value::Int(key),
                hash,
                |k| matches!(k, Value::Int(i) if i == key),
                value,
            );
        }
    }

    /// Raw set of a string key.
    #[inline]
    pub(crate) fn set_str(&mut self, key: StrRef, value: Value) {
        let hash = hash_str(key);
        self.set_in_hash(
            Value::Str(key),
            hash,
            |k| matches!(k, Value::Str(s) if s == key),
            value,
        );
    }

    /// The length operator without metamethods (`luaH_getn`): a border, that
    /// is `0` if `t[1]` is nil, otherwise some `n` with `t[n]` non-nil and
    /// `t[n+1]` nil. When the array part ends with a non-nil value this is
    /// its size, otherwise a binary search finds a border inside it.
    pub(crate) fn len(&self) -> i64 {
        match self.array.last() {
            // With invariant 2, an empty array part means t[1] is nil and a
            // non-nil last slot means t[n+1] is nil.
            None => 0,
            Some(last) if !last.is_nil() => lua_int(self.array.len()),
            Some(_) => self.border_in_array(),
        }
    }

    /// True when the table holds no key at all (`next(t) == nil`); unlike
    /// `len() == 0`, which only says that `t[1]` is nil.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.hash.live_entries().next().is_none() && self.array.iter().all(|v| v.is_nil())
    }

    /// The pair after `key` in traversal order (`next`): `key == nil` starts
    /// the traversal, `Ok(None)` ends it. Assigning nil (or any value) to
    /// existing keys during a traversal is allowed and does not disturb it.
    ///
    /// # Errors
    ///
    /// [`TableError::BadNext`] when `key` is not in the table.
    #[cfg(test)]
    pub(crate) fn next(&self, key: Value) -> Result<Option<(Value, Value)>, TableError> {
        self.next_scanning(key).map(|(pair, _)| pair)
    }

    /// [`Table::next`], and how many empty slots it stepped over to find
    /// the pair (a traversal of a table whose keys were mostly removed
    /// steps over them all: the caller may charge for it).
    pub(crate) fn next_scanning(
        &self,
        key: Value,
    ) -> Result<(Option<(Value, Value)>, usize), TableError> {
        let start = match key {
            Value::Nil => 0,
            key => self.position_after(key)?,
        };
        Ok(self.pair_from(start))
    }

    /// The live pairs in `next` order.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = (Value, Value)> + '_ {
        let array = self
            .array
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.is_nil())
            .map(|(i, &v)| (int_key(i), v));
        let hash = self.hash.live_entries().map(|e| (e.key, e.value));
        array.chain(hash)
    }

    /// Positions of the `next` order (array slots, then hash entries,
    /// live or not), for going through a table in pieces.
    pub(crate) fn positions(&self) -> usize {
        self.array.len() + self.hash.entries.len()
    }

    /// The live pairs at positions `from..to` of the `next` order.
    pub(crate) fn pairs_in(
        &self,
        from: usize,
        to: usize,
    ) -> impl Iterator<Item = (Value, Value)> + '_ {
        let (alen, elen) = (self.array.len(), self.hash.entries.len());
        let (a0, a1) = (from.min(alen), to.min(alen));
        let array = self.array[a0..a1]
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.is_nil())
            .map(move |(i, &v)| (int_key(a0 + i), v));
        let (h0, h1) = ((from - a0).min(elen), (to - a1).min(elen));
        let hash = self.hash.entries[h0..h1]
            .iter()
            .filter(|e| !e.value.is_nil())
            .map(|e| (e.key, e.value));
        array.chain(hash)
    }

    /// For weak tables: sets to nil every entry for which `dead(key, value)`
    /// is true (array entries have integer keys). Returns how many were
    /// cleared. Removed keys stay valid for `next`, so the collector may run
    /// this in the middle of a traversal.
    pub(crate) fn clear_where(&mut self, mut dead: impl FnMut(Value, Value) -> bool) -> usize {
        let mut cleared = 0;
        for (i, slot) in self.array.iter_mut().enumerate() {
            if !slot.is_nil() && dead(int_key(i), *slot) {
                *slot = Value::Nil;
                cleared += 1;
            }
        }
        cleared + self.hash.clear_where(dead)
    }

    /// Bytes allocated by this table's growth since the last call (for the
    /// collector's pacing), and whether the allocator refused one; resets
    /// both.
    #[inline]
    pub(crate) fn take_growth(&mut self) -> Growth {
        match std::mem::take(&mut self.grown) {
            REFUSED => Growth {
                bytes: 0,
                refused: true,
            },
            bytes => Growth {
                bytes: bytes as usize,
                refused: false,
            },
        }
    }

    /// Whether the table grew (or was refused room) since the last
    /// [`Table::take_growth`]: the stores' fast paths look no further
    /// when it did not.
    #[inline]
    pub(crate) fn grew(&self) -> bool {
        self.grown != 0
    }

    /// Records that the allocator refused a growth.
    fn refuse(&mut self) {
        self.grown = REFUSED;
    }

    fn refused(&self) -> bool {
        self.grown == REFUSED
    }

    /// Records the bytes allocated since `approx_bytes` was `before`.
    fn note_growth(&mut self, before: usize) {
        if self.refused() {
            return;
        }
        let delta = self.approx_bytes().saturating_sub(before);
        let delta = u32::try_from(delta).unwrap_or(REFUSED);
        self.grown = self.grown.saturating_add(delta).min(REFUSED - 1);
    }

    /// Approximate heap bytes owned by this table (for the collector's
    /// pacing), the `Table` itself included.
    pub(crate) fn approx_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.array.capacity() * std::mem::size_of::<Value>()
            + self.hash.approx_bytes()
    }

    /// Makes the keys `1..=len` part of the array part (`luaH_resizearray`
    /// before `OP_SETLIST`), so that `{f()}` keeps PUC Lua's border when `f`
    /// returns nils. Never shrinks; lengths above 2^20 are capped. Like any
    /// insertion, not to be called during a traversal.
    pub(crate) fn grow_array(&mut self, len: usize) {
        let old_len = self.array.len();
        let len = len.min(MAX_PREALLOC);
        if len > old_len {
            let before = self.approx_bytes();
            if self.array.try_reserve_exact(len - old_len).is_err() {
                self.refuse();
                return;
            }
            self.array.resize(len, Value::Nil);
            self.hash.move_ints_to_array(&mut self.array, old_len);
            self.absorb_from_hash();
            self.note_growth(before);
        }
    }

    /// Sets a normalised key that is neither an integer nor a string.
    fn set_hashed(&mut self, key: Value, value: Value) {
        self.set_in_hash(key, hash_key(key), |k| same_key(k, key), value);
    }

    /// Assigns `value` to `key` in the hash part; `is_key` recognises `key`
    /// (a specialised comparison for the hot key types).
    #[inline]
    fn set_in_hash(&mut self, key: Value, hash: u64, is_key: impl Fn(Value) -> bool, value: Value) {
        match self.hash.probe(hash, is_key) {
            Ok(pos) => {
                if self.hash.assign(pos, value) && matches!(key, Value::Str(_)) {
                    self.flags = 0;
                }
            }
            Err(_) if value.is_nil() => {}
            Err(vacant) => self.insert_new(key, hash, value, vacant),
        }
    }

    /// Inserts a key that is absent from both parts, with a non-nil value;
    /// `vacant` is where a probe for it ended in the index.
    fn insert_new(&mut self, key: Value, hash: u64, value: Value, vacant: usize) {
        if matches!(key, Value::Str(_)) {
            self.flags = 0;
        }
        if self.hash.is_full() && !self.hash.has_many_tombstones() {
            self.rehash_and_insert(key, value);
        } else {
            // A hash part full of tombstones is only compacted (by
            // `HashPart::insert_new`): a full rehash scans the array part,
            // and churning keys through a small hash part next to a large
            // array would pay that scan on every insertion.
            if !self.hash.insert_new(key, hash, value, Some(vacant)) {
                self.refuse();
            }
        }
    }

    /// Appends the value of key `n+1`.
    #[inline]
    fn push(&mut self, value: Value) {
        if self.array.len() == self.array.capacity() {
            self.push_at_capacity(value);
        } else {
            self.array.push(value);
            self.absorb_from_hash();
        }
    }

    /// A push that needs a reallocation: first check, at amortised O(1) cost,
    /// whether the array part has become mostly holes (a queue that pops at
    /// the front), in which case it is resized like on a rehash instead of
    /// doubled, so memory stays proportional to the live keys.
    #[cold]
    #[inline(never)]
    fn push_at_capacity(&mut self, value: Value) {
        let before = self.approx_bytes();
        self.push_growing(value);
        self.note_growth(before);
    }

    fn push_growing(&mut self, value: Value) {
        let len = self.array.len();
        let live = self.array.iter().filter(|v| !v.is_nil()).count();
        if 2 * (live + 1) > len + 1 {
            if self.array.try_reserve(1).is_err() {
                self.refuse();
                return;
            }
            self.array.push(value);
            self.absorb_from_hash();
        } else {
            self.rehash_and_insert(int_key(len), value);
        }
    }

    /// Moves the keys `n+1, n+2, ...` from the hash part to the array part
    /// while they are present, restoring invariant 2 after the array grew.
    #[inline]
    fn absorb_from_hash(&mut self) {
        if self.hash.live_ints != 0 {
            self.absorb_run();
        }
    }

    #[inline(never)]
    fn absorb_run(&mut self) {
        while self.hash.live_ints != 0 {
            match self.hash.take_int(lua_int(self.array.len()) + 1) {
                Some(value) => self.array.push(value),
                None => break,
            }
        }
    }

    /// Rehashes (`luaH_resize` with `computesizes`) counting `key` as
    /// present, then inserts `key`, absent so far, wherever it now belongs.
    #[cold]
    #[inline(never)]
    fn rehash_and_insert(&mut self, key: Value, value: Value) {
        self.rehash(key);
        if self.refused() {
            return;
        }
        if let Value::Int(i) = key {
            let index = array_index(i);
            if let Some(slot) = self.array.get_mut(index) {
                *slot = value;
                return;
            }
            if index == self.array.len() {
                self.array.push(value);
                self.absorb_from_hash();
                return;
            }
        }
        if !self.hash.insert_new(key, hash_key(key), value, None) {
            self.refuse();
        }
    }

    /// Resizes the array part to the size `computesizes` picks (counting
    /// `extra` as a key), moving keys across the parts, and rebuilds the hash
    /// part without tombstones and with room for at least one more key.
    fn rehash(&mut self, extra: Value) {
        let before = self.approx_bytes();
        self.resize_parts(extra);
        self.note_growth(before);
    }

    fn resize_parts(&mut self, extra: Value) {
        let old_len = self.array.len();
        let new_len = self.new_array_len(extra);
        // Both parts' room first, so that a refusal changes nothing (the
        // hash part's entries, tombstones included, bound its live ones).
        let spilling = old_len.saturating_sub(new_len);
        let hash_room = grown_capacity(self.hash.entries.len() + spilling + 1);
        let array_room = new_len.saturating_sub(old_len);
        if !can_allocate(hash_bytes(hash_room)) || self.array.try_reserve_exact(array_room).is_err()
        {
            self.refuse();
            return;
        }
        let mut spilled = Vec::new();
        if new_len < old_len {
            // Array keys above the new size join the hash part after its
            // current entries, in key order: deterministic.
            spilled.extend(
                self.array[new_len..]
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| !v.is_nil())
                    .map(|(i, &value)| Entry {
                        key: int_key(new_len + i),
                        value,
                    }),
            );
            self.array.truncate(new_len);
            self.array.shrink_to_fit();
        } else if new_len > old_len {
            self.array.resize(new_len, Value::Nil);
            self.hash.move_ints_to_array(&mut self.array, old_len);
        }
        let needed = self.hash.live_entries().count() + spilled.len() + 1;
        self.hash.rebuild(grown_capacity(needed), spilled);
    }

    /// The array size after a rehash: the largest power of two `2^i` such
    /// that more than half of the keys `1..=2^i` are present (`computesizes`),
    /// extended over any run of present keys just above it (invariant 2).
    fn new_array_len(&self, extra: Value) -> usize {
        let mut nums = [0usize; MAX_ARRAY_BITS + 1];
        let mut total = 0;
        let mut count = |key: usize| {
            if let Some(n) = nums.get_mut(ceil_log2(key)) {
                *n += 1;
                total += 1;
            }
        };
        for (i, v) in self.array.iter().enumerate() {
            if !v.is_nil() {
                count(i + 1);
            }
        }
        for entry in self.hash.live_entries() {
            if let Value::Int(k) = entry.key {
                if let Ok(k @ 1..) = usize::try_from(k) {
                    count(k);
                }
            }
        }
        if let Value::Int(k) = extra {
            if let Ok(k @ 1..) = usize::try_from(k) {
                count(k);
            }
        }
        let mut len = optimal_array_len(&nums, total);
        while self.is_present_int(len + 1) {
            len += 1;
        }
        len
    }

    /// Whether the (positive) integer key is present, in either part.
    fn is_present_int(&self, key: usize) -> bool {
        match self.array.get(key - 1) {
            Some(v) => !v.is_nil(),
            None => !self.hash.get_int(lua_int(key)).is_nil(),
        }
    }

    /// Binary search for a border inside an array part whose last slot is
    /// nil: keeps `lo == 0 || t[lo] ~= nil` and `t[hi] == nil`.
    fn border_in_array(&self) -> i64 {
        let (mut lo, mut hi) = (0, self.array.len());
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.array[mid - 1].is_nil() {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        lua_int(lo)
    }

    /// The traversal position just after `key`: positions `0..n` are the
    /// array slots, `n + p` is hash entry `p`.
    fn position_after(&self, key: Value) -> Result<usize, TableError> {
        let key = normalise(key).map_err(|_| TableError::BadNext)?;
        if let Value::Int(i) = key {
            let index = array_index(i);
            if index < self.array.len() {
                return Ok(index + 1);
            }
        }
        match self.hash.position_for_next(key) {
            Some(pos) => Ok(self.array.len() + pos + 1),
            None => Err(TableError::BadNext),
        }
    }

    /// The first live pair at or after traversal position `start`, and
    /// the empty slots before it.
    fn pair_from(&self, start: usize) -> (Option<(Value, Value)>, usize) {
        let len = self.array.len();
        if let Some(rest) = self.array.get(start..) {
            if let Some((i, &v)) = rest.iter().enumerate().find(|(_, v)| !v.is_nil()) {
                return (Some((int_key(start + i), v)), i);
            }
        }
        let from = start.saturating_sub(len);
        let skipped = len.saturating_sub(start);
        match self.hash.live_from(from) {
            Some((e, offset)) => (Some((e.key, e.value)), skipped + offset),
            None => (None, skipped + self.hash.entries.len().saturating_sub(from)),
        }
    }
}

/// One key of the hash part; a nil `value` makes it a tombstone.
#[derive(Clone, Copy, Debug)]
struct Entry {
    key: Value,
    value: Value,
}

/// The hash part: entries in insertion order plus an index to find them.
#[derive(Clone, Debug, Default)]
struct HashPart {
    /// Entries in insertion order, tombstones included. Never longer than
    /// `capacity()` (the index holds positions, so a push that reallocates
    /// them moves nothing it refers to). A `ThinVec` (length and capacity in its allocation): one word in
    /// the table, which a table without a hash part (an array, a tree node
    /// of array fields) does not use.
    entries: ThinVec<Entry>,
    /// Open-addressing index: each slot holds an entry position or is
    /// empty. Its length is 0 or twice `capacity()` (a power of two), so at
    /// least half the slots are empty and every probe sequence ends.
    index: Index,
    /// Entries with a non-nil value and an integer key.
    live_ints: u32,
    /// Where `next` found its last pair.
    next_hint: PositionHint,
}

/// The position of the entry `next` returned last: a traversal passes that
/// entry's key back, and checking this guess first spares it an index probe,
/// which on a large table is a cache miss per step. Only a guess, always
/// checked against the key, so a stale value costs nothing but the probe;
/// it never changes a result. Atomic (relaxed: plain loads and stores) only
/// so that `Table` stays `Sync` although `next` takes `&self`.
#[derive(Debug, Default)]
struct PositionHint(AtomicU32);

impl PositionHint {
    #[inline]
    fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed) as usize
    }

    #[inline]
    fn set(&self, pos: usize) {
        // Positions fit in u32 (see `rebuild`).
        self.0.store(pos as u32, Ordering::Relaxed);
    }
}

impl Clone for PositionHint {
    fn clone(&self) -> Self {
        PositionHint(AtomicU32::new(self.0.load(Ordering::Relaxed)))
    }
}

impl HashPart {
    /// An empty hash part with room for `n` entries (rounded up to a power
    /// of two).
    fn with_capacity(n: usize) -> Self {
        if n == 0 {
            return HashPart::default();
        }
        // What `rebuild` makes from nothing, without its passes over the
        // (absent) entries: table constructors make many of these. The
        // entries get exactly the `n` a constructor asks for (a record of
        // three fields takes three, not four): a key beyond `n` reallocates
        // them, as a push past a vector's capacity does, before the table
        // is full.
        let capacity = n.next_power_of_two();
        HashPart {
            entries: ThinVec::with_capacity(n),
            index: Index::with_slots(2 * capacity),
            ..HashPart::default()
        }
    }

    /// How many entries (tombstones included) fit before a rebuild.
    #[inline]
    fn capacity(&self) -> usize {
        self.index.len() / 2
    }

    #[inline]
    fn is_full(&self) -> bool {
        self.entries.len() >= self.capacity()
    }

    /// True when at least a quarter of the entries are tombstones, so that
    /// compacting frees enough room to amortise its cost.
    fn has_many_tombstones(&self) -> bool {
        let len = self.entries.len();
        len > 0 && 4 * self.live_entries().count() <= 3 * len
    }

    /// The position of the entry whose key satisfies `is_key`, tombstones
    /// included.
    #[inline]
    fn find(&self, hash: u64, is_key: impl Fn(Value) -> bool) -> Option<usize> {
        self.probe(hash, is_key).ok()
    }

    /// Looks a key up: `Ok(position)` of its entry, tombstones included, or
    /// `Err(slot)`, the empty index slot that ended the search, where the key
    /// would be recorded (meaningless when the index is empty).
    #[inline]
    fn probe(&self, hash: u64, is_key: impl Fn(Value) -> bool) -> Result<usize, usize> {
        self.index.probe(hash, &self.entries, is_key)
    }

    #[inline]
    fn value_at(&self, pos: Option<usize>) -> &Value {
        pos.and_then(|p| self.entries.get(p))
            .map_or(&NIL, |e| &e.value)
    }

    #[inline]
    fn get_int(&self, key: i64) -> &Value {
        let pos = self.find(hash_int(key), |k| matches!(k, Value::Int(i) if i == key));
        self.value_at(pos)
    }

    #[inline]
    fn get_str(&self, key: StrRef) -> &Value {
        let pos = self.find(hash_str(key), |k| matches!(k, Value::Str(s) if s == key));
        self.value_at(pos)
    }

    /// `get_str` through a position hint. Keys are unique among the entries
    /// (a removed key keeps its entry until a rebuild, and comes back to
    /// it), so an entry holding the key is the key's entry.
    #[inline(always)]
    fn get_str_hinted(&self, key: StrRef, hint: &AtomicU32) -> &Value {
        if let Some(e) = self.entries.get(hint.load(Ordering::Relaxed) as usize) {
            if matches!(e.key, Value::Str(s) if s == key) {
                return &e.value;
            }
        }
        self.get_str_recording(key, hint)
    }

    /// `get_str`, recording where the key was found in `hint`.
    #[inline(never)]
    fn get_str_recording(&self, key: StrRef, hint: &AtomicU32) -> &Value {
        let is_key = |k: Value| matches!(k, Value::Str(s) if s == key);
        let pos = self.find(hash_str(key), is_key);
        if let Some(p) = pos {
            // Positions stay below 2^32 (see `rebuild`).
            hint.store(p as u32, Ordering::Relaxed);
        }
        self.value_at(pos)
    }

    /// The position of a normalised key for `next`, tombstones included:
    /// the traversal hint first, then the index.
    fn position_for_next(&self, key: Value) -> Option<usize> {
        let hint = self.next_hint.get();
        if self.entries.get(hint).is_some_and(|e| same_key(e.key, key)) {
            return Some(hint);
        }
        self.find(hash_key(key), |k| same_key(k, key))
    }

    /// The first live entry at or after position `from`, remembered as the
    /// traversal hint.
    fn live_from(&self, from: usize) -> Option<(&Entry, usize)> {
        let rest = self.entries.get(from..)?;
        let (offset, entry) = rest.iter().enumerate().find(|(_, e)| !e.value.is_nil())?;
        self.next_hint.set(from + offset);
        Some((entry, offset))
    }

    /// Lookup of any normalised key.
    fn get(&self, key: Value) -> &Value {
        self.value_at(self.find(hash_key(key), |k| same_key(k, key)))
    }

    /// Overwrites the value of entry `pos`, keeping the counters right.
    /// Returns true when this revived a tombstone (the key became present).
    fn assign(&mut self, pos: usize, value: Value) -> bool {
        let Some(entry) = self.entries.get_mut(pos) else {
            return false;
        };
        let was_absent = entry.value.is_nil();
        entry.value = value;
        if let Value::Int(_) = entry.key {
            match (was_absent, value.is_nil()) {
                (true, false) => self.live_ints += 1,
                (false, true) => self.live_ints -= 1,
                _ => {}
            }
        }
        was_absent && !value.is_nil()
    }

    /// Appends a key known to be absent, with a non-nil value. `vacant` is
    /// the index slot a `probe` for it just returned, if any: reusing it
    /// saves a second walk of the probe sequence (a cache miss on a large
    /// table).
    /// Inserts a key known to be absent; false (and nothing inserted)
    /// when the allocator refuses the room it needs.
    fn insert_new(&mut self, key: Value, hash: u64, value: Value, vacant: Option<usize>) -> bool {
        let mut vacant = vacant;
        if self.is_full() {
            // Compacts tombstones (the table's own rehash, if it wanted one,
            // has run already), which also invalidates `vacant`.
            let capacity = grown_capacity(self.live_entries().count() + 1);
            if !can_allocate(hash_bytes(capacity)) {
                return false;
            }
            self.rebuild(capacity, Vec::new());
            vacant = None;
        } else if self.entries.len() == self.entries.capacity()
            && !can_allocate(hash_bytes(self.capacity()))
        {
            return false;
        }
        let pos = self.entries.len();
        self.entries.push(Entry { key, value });
        match vacant {
            Some(slot) if self.index.is_vacant(slot) => self.index.set(slot, pos),
            _ => self.index.insert(hash, pos),
        }
        if matches!(key, Value::Int(_)) {
            self.live_ints += 1;
        }
        true
    }

    /// Removes the integer key (leaving a tombstone) and returns its value,
    /// if it is present.
    fn take_int(&mut self, key: i64) -> Option<Value> {
        let pos = self.find(hash_int(key), |k| matches!(k, Value::Int(i) if i == key))?;
        let value = self.entries.get(pos)?.value;
        if value.is_nil() {
            return None;
        }
        self.assign(pos, Value::Nil);
        Some(value)
    }

    /// Moves the live integer keys in `old_len+1..=array.len()` into the
    /// freshly grown `array`, leaving tombstones.
    fn move_ints_to_array(&mut self, array: &mut [Value], old_len: usize) {
        if self.live_ints == 0 {
            return;
        }
        for pos in 0..self.entries.len() {
            let Entry { key, value } = self.entries[pos];
            let Value::Int(k) = key else { continue };
            let index = array_index(k);
            if !value.is_nil() && index >= old_len {
                if let Some(slot) = array.get_mut(index) {
                    *slot = value;
                    self.assign(pos, Value::Nil);
                }
            }
        }
    }

    /// Rebuilds entries and index for `capacity` entries (at least the live
    /// ones plus `extra`, rounded up to a power of two), dropping tombstones
    /// and appending `extra` after the live entries.
    fn rebuild(&mut self, capacity: usize, extra: Vec<Entry>) {
        // Compacting in place and resizing the same allocation lets a large
        // `realloc` remap pages instead of copying them.
        self.entries.retain(|e| !e.value.is_nil());
        let capacity = capacity.max(self.entries.len() + extra.len());
        if capacity == 0 {
            *self = HashPart::default();
            return;
        }
        let capacity = capacity.next_power_of_two();
        if self.entries.capacity() > capacity {
            self.entries.shrink_to_fit();
        }
        self.entries.reserve_exact(capacity - self.entries.len());
        self.entries.extend(extra);
        let mut index = Index::with_slots(2 * capacity);
        for (pos, entry) in self.entries.iter().enumerate() {
            index.insert(hash_key(entry.key), pos);
        }
        self.index = index;
        let live_ints = self
            .entries
            .iter()
            .filter(|e| matches!(e.key, Value::Int(_)))
            .count();
        // Capacities stay far below 2^32 entries (each is 32 bytes), as
        // `Index::set` also relies on.
        self.live_ints = live_ints as u32;
    }

    /// Tombstones every live entry for which `dead(key, value)` holds.
    fn clear_where(&mut self, mut dead: impl FnMut(Value, Value) -> bool) -> usize {
        let mut cleared = 0;
        for pos in 0..self.entries.len() {
            let Entry { key, value } = self.entries[pos];
            if !value.is_nil() && dead(key, value) {
                self.assign(pos, Value::Nil);
                cleared += 1;
            }
        }
        cleared
    }

    fn live_entries(&self) -> impl DoubleEndedIterator<Item = &Entry> + '_ {
        self.entries.iter().filter(|e| !e.value.is_nil())
    }

    fn approx_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<Entry>() + self.index.heap_bytes()
    }
}

/// Entry capacity for a rebuild that must hold `needed` entries: a quarter
/// more, rounded up to a power of two, so that a table churning through
/// insertions and removals rebuilds only after O(capacity) insertions, and a
/// growing table doubles.
fn grown_capacity(needed: usize) -> usize {
    (needed + needed / 4).next_power_of_two()
}

/// Bytes of a hash part with room for `capacity` entries: the entries and
/// the index's two slots per entry.
fn hash_bytes(capacity: usize) -> usize {
    let per_entry = std::mem::size_of::<Entry>() + 2 * std::mem::size_of::<u32>();
    capacity.saturating_mul(per_entry)
}

/// `computesizes`: the largest `2^i` such that more than `2^i / 2` of the
/// keys `1..=2^i` are present; `nums[i]` counts the keys in
/// `2^(i-1)+1..=2^i` and `total` all of them.
fn optimal_array_len(nums: &[usize], total: usize) -> usize {
    let mut present = 0;
    let mut best = 0;
    for (bits, &n) in nums.iter().enumerate() {
        let size = 1usize << bits;
        if total <= size / 2 {
            break;
        }
        present += n;
        if present > size / 2 {
            best = size;
        }
    }
    best
}

/// `ceil(log2(key))` for `key >= 1`: the slice of `computesizes` counts.
fn ceil_log2(key: usize) -> usize {
    (usize::BITS - key.saturating_sub(1).leading_zeros()) as usize
}

/// The array index of integer key `key` (`usize::MAX` when `key < 1`, which
/// no array reaches).
#[inline]
fn array_index(key: i64) -> usize {
    usize::try_from(key.wrapping_sub(1)).unwrap_or(usize::MAX)
}

/// The integer key of array index `index`.
#[inline]
fn int_key(index: usize) -> Value {
    Value::Int(lua_int(index) + 1)
}

/// An array length or index as a Lua integer: both are bounded by memory,
/// far below `i64::MAX`.
#[inline]
fn lua_int(n: usize) -> i64 {
    n as i64
}

/// Validates a key and brings numbers to their canonical form.
#[inline]
fn normalise(key: Value) -> Result<Value, TableError> {
    match key {
        Value::Nil => Err(TableError::NilIndex),
        Value::Num(f) => match float_to_int_exact(f) {
            Some(i) => Ok(Value::Int(i)),
            None if f.is_nan() => Err(TableError::NaNIndex),
            None => Ok(key),
        },
        _ => Ok(key),
    }
}

/// Key identity for normalised keys (no cross-type number comparison is
/// needed: an integral float is never a key).
#[inline]
fn same_key(a: Value, b: Value) -> bool {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Num(x), Value::Num(y)) => x.to_bits() == y.to_bits(),
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Table(x), Value::Table(y)) => x == y,
        (Value::LuaFn(x), Value::LuaFn(y)) => x == y,
        (Value::Native(x), Value::Native(y)) => x == y,
        (Value::Thread(x), Value::Thread(y)) => x == y,
        (Value::UserData(x), Value::UserData(y)) => x == y,
        _ => false,
    }
}

/// Folded multiply (the 128-bit product's halves xor-ed): one `mul`, and
/// every input bit reaches the low bits the index uses.
#[inline]
fn mix(bits: u64) -> u64 {
    let product = u128::from(bits) * 0x9E37_79B9_7F4A_7C15;
    (product as u64) ^ ((product >> 64) as u64)
}

/// Per-type offsets so that, say, `Int(5)` and a handle with the same bits
/// do not share a probe sequence.
const SEED_NUM: u64 = 0x243F_6A88_85A3_08D3;
const SEED_STR: u64 = 0x1319_8A2E_0370_7344;
const SEED_BOOL: u64 = 0xA409_3822_299F_31D0;
const SEED_HANDLE: [u64; 5] = [
    0x082E_FA98_EC4E_6C89,
    0x4528_21E6_38D0_1377,
    0xBE54_66CF_34E9_0C6C,
    0xC0AC_29B7_C97C_50DD,
    0x3F84_D5B5_B547_0917,
];

#[inline]
fn hash_int(key: i64) -> u64 {
    mix(key as u64)
}

#[inline]
fn hash_str(key: StrRef) -> u64 {
    mix(key.data().as_ffi() ^ SEED_STR)
}

/// Hash of a normalised key.
fn hash_key(key: Value) -> u64 {
    let handle = |seed: usize, data: slotmap::KeyData| mix(data.as_ffi() ^ SEED_HANDLE[seed]);
    match key {
        Value::Int(i) => hash_int(i),
        Value::Str(s) => hash_str(s),
        Value::Num(f) => mix(f.to_bits() ^ SEED_NUM),
        Value::Bool(b) => mix(u64::from(b) ^ SEED_BOOL),
        Value::Table(r) => handle(0, r.data()),
        Value::LuaFn(r) => handle(1, r.data()),
        Value::Native(r) => handle(2, r.data()),
        Value::Thread(r) => handle(3, r.data()),
        Value::UserData(r) => handle(4, r.data()),
        Value::Nil => 0,
    }
}

#[cfg(test)]
impl Table {
    /// Asserts the invariants listed in the module docs.
    pub(crate) fn check_invariants(&self) {
        let n = self.array.len();
        let hash = &self.hash;
        assert!(hash.index.len() == 0 || hash.index.len().is_power_of_two());
        assert!(hash.entries.len() <= hash.capacity());
        let mut live_ints = 0;
        for (pos, entry) in hash.entries.iter().enumerate() {
            assert!(matches!(normalise(entry.key), Ok(k) if same_key(k, entry.key)));
            assert_eq!(
                hash.find(hash_key(entry.key), |k| same_key(k, entry.key)),
                Some(pos),
                "entry {pos} unreachable or duplicated"
            );
            if !entry.value.is_nil() {
                if let Value::Int(k) = entry.key {
                    live_ints += 1;
                    assert!(
                        !(1..=lua_int(n) + 1).contains(&k),
                        "live key {k} belongs in array"
                    );
                }
            }
        }
        assert_eq!(hash.live_ints, live_ints);
        assert_eq!(hash.index.used(), hash.entries.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use slotmap::SlotMap;

    fn strings(n: usize) -> Vec<StrRef> {
        let mut arena = SlotMap::<StrRef, ()>::with_key();
        (0..n).map(|_| arena.insert(())).collect()
    }

    /// Same value (nil included); floats by bits.
    fn same(a: Value, b: Value) -> bool {
        (a.is_nil() && b.is_nil()) || same_key(a, b)
    }

    fn int(i: i64) -> Value {
        Value::Int(i)
    }

    /// A full traversal with `next`, checked against `iter`.
    fn traverse(t: &Table) -> Vec<(Value, Value)> {
        let mut pairs = Vec::new();
        let mut key = Value::Nil;
        while let Some((k, v)) = t.next(key).expect("traversal key") {
            pairs.push((k, v));
            key = k;
        }
        let iterated: Vec<_> = t.iter().collect();
        assert_eq!(pairs.len(), iterated.len());
        for (a, b) in pairs.iter().zip(&iterated) {
            assert!(same(a.0, b.0) && same(a.1, b.1), "next and iter disagree");
        }
        pairs
    }

    #[test]
    fn hinted_lookups_agree_with_plain_ones_whatever_the_hint() {
        let k = strings(4);
        let mut a = Table::new();
        let mut b = Table::new();
        // The same fields in different orders, one removed and put back.
        for (i, &s) in k[..3].iter().enumerate() {
            a.set_str(s, int(i as i64));
            b.set_str(k[2 - i], int(10 + i as i64));
        }
        a.set_str(k[1], Value::Nil);
        let hint = AtomicU32::new(u32::MAX);
        for _ in 0..3 {
            for t in [&a, &b] {
                for &s in &k {
                    let plain = t.get_str(s);
                    assert!(same(*t.get_str_hinted(s, Some(&hint)), plain));
                    assert!(same(*t.get_str_hinted(s, None), plain));
                }
            }
            a.set_str(k[1], int(7));
        }
        // A hit records where the key is: the next lookup takes the hint.
        a.get_str_hinted(k[2], Some(&hint));
        assert_eq!(hint.load(Ordering::Relaxed), 2);
    }

    fn assert_border(t: &Table) {
        let n = t.len();
        assert!(n >= 0);
        assert!(n == 0 || !t.get_int(n).is_nil(), "t[{n}] is nil");
        assert!(t.get_int(n + 1).is_nil(), "t[{n}+1] is not nil");
    }

    fn assert_int_keys(pairs: &[(Value, Value)], expected: &[i64]) {
        let keys: Vec<i64> = pairs
            .iter()
            .map(|(k, _)| match k {
                Value::Int(i) => *i,
                other => panic!("unexpected key {other:?}"),
            })
            .collect();
        assert_eq!(keys, expected);
    }

    /// The examples the type's documentation used to carry.
    #[test]
    fn documented_behaviour() {
        let name = strings(1)[0];
        let mut t = Table::new();
        t.set_int(1, int(10));
        t.set_int(2, int(20));
        t.set_str(name, Value::Bool(true));
        t.set(Value::Num(3.0), int(30)).unwrap(); // the key is normalised to 3
        assert_eq!(t.len(), 3);
        assert!(matches!(t.get_int(3), Value::Int(30)));
        let keys: Vec<Value> = t.iter().map(|(k, _)| k).collect();
        assert!(matches!(
            keys[..],
            [Value::Int(1), Value::Int(2), Value::Int(3), Value::Str(_)]
        ));

        let mut t = Table::with_capacity(4, 0); // as for `{1, 2, nil, 4}`
        for k in [1, 2, 4] {
            t.set_int(k, int(k));
        }
        assert_eq!(t.len(), 4);
        t.set_int(4, Value::Nil);
        assert_eq!(t.len(), 2);

        let mut t = Table::new();
        t.set_int(1, Value::Bool(true));
        t.set(Value::Num(0.5), Value::Bool(false)).unwrap();
        let (k1, _) = t.next(Value::Nil).unwrap().unwrap();
        let (k2, _) = t.next(k1).unwrap().unwrap();
        assert!(matches!((k1, k2), (Value::Int(1), Value::Num(f)) if f == 0.5));
        assert!(t.next(k2).unwrap().is_none());
        assert!(t.next(int(7)).is_err());
        assert_eq!(TableError::BadNext.message(), "invalid key to 'next'");
    }

    #[test]
    fn table_is_small_send_and_sync() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Table>();
        // Tables are many: the header holds the inline index
        // (`table/index.rs`) but only a pointer to the entries.
        assert!(std::mem::size_of::<Table>() <= 80);
    }

    #[test]
    fn get_and_set_every_key_type() {
        let s = strings(2);
        let mut tables = SlotMap::<TableRef, ()>::with_key();
        let tref = tables.insert(());
        let keys = [
            int(7),
            Value::Num(0.25),
            Value::Str(s[0]),
            Value::Bool(true),
            Value::Bool(false),
            Value::Table(tref),
        ];
        let mut t = Table::new();
        for (i, &k) in keys.iter().enumerate() {
            t.set(k, int(i as i64)).unwrap();
        }
        for (i, &k) in keys.iter().enumerate() {
            assert!(same(t.get(k), int(i as i64)), "key {k:?}");
        }
        assert!(t.get(Value::Str(s[1])).is_nil());
        assert!(t.get_str(s[1]).is_nil());
        assert!(same(t.get_str(s[0]), int(2)));
        assert!(t.get(Value::Num(0.5)).is_nil());
        t.check_invariants();
    }

    #[test]
    fn integral_floats_are_integer_keys() {
        let mut t = Table::new();
        t.set(Value::Num(1.0), int(10)).unwrap();
        t.set(Value::Num(-0.0), int(0)).unwrap();
        t.set(Value::Num(2f64.powi(53)), int(53)).unwrap();
        assert!(same(t.get_int(1), int(10)));
        assert!(same(t.get(int(1)), int(10)));
        assert!(same(t.get_int(0), int(0)));
        assert!(same(t.get(Value::Num(0.0)), int(0)));
        assert!(same(t.get_int(1 << 53), int(53)));
        let pairs = traverse(&t);
        assert_int_keys(&pairs, &[1, 0, 1 << 53]);
        // Non-integral and infinite floats stay floats.
        t.set(Value::Num(1.5), int(15)).unwrap();
        t.set(Value::Num(f64::INFINITY), int(99)).unwrap();
        assert!(same(t.get(Value::Num(1.5)), int(15)));
        assert!(same(t.get(Value::Num(f64::INFINITY)), int(99)));
        assert!(t.get(Value::Num(f64::NEG_INFINITY)).is_nil());
        // The i64 range ends exactly: -2^63 is an integer, 2^63 is not.
        t.set(Value::Num(-TWO_63), int(-63)).unwrap();
        t.set(Value::Num(TWO_63), int(63)).unwrap();
        assert!(same(t.get_int(i64::MIN), int(-63)));
        assert!(t.get_int(i64::MAX).is_nil());
        assert!(same(t.get(Value::Num(TWO_63)), int(63)));
        assert!(matches!(t.next(int(1 << 53)).unwrap(), Some((Value::Num(f), _)) if f == 1.5));
        t.check_invariants();
    }

    #[test]
    fn nil_and_nan_keys() {
        let mut t = Table::new();
        assert_eq!(t.set(Value::Nil, int(1)), Err(TableError::NilIndex));
        assert_eq!(t.set(Value::Nil, Value::Nil), Err(TableError::NilIndex));
        assert_eq!(
            t.set(Value::Num(f64::NAN), int(1)),
            Err(TableError::NaNIndex)
        );
        assert_eq!(
            t.set(Value::Num(f64::NAN), Value::Nil),
            Err(TableError::NaNIndex)
        );
        assert!(t.get(Value::Nil).is_nil());
        assert!(t.get(Value::Num(f64::NAN)).is_nil());
        assert_eq!(
            t.next(Value::Num(f64::NAN)).err(),
            Some(TableError::BadNext)
        );
        assert!(t.is_empty());
        assert_eq!(TableError::NilIndex.message(), "table index is nil");
        assert_eq!(TableError::NaNIndex.message(), "table index is NaN");
        assert_eq!(TableError::BadNext.to_string(), "invalid key to 'next'");
    }

    #[test]
    fn nil_on_absent_key_inserts_nothing() {
        let s = strings(1);
        let mut t = Table::new();
        let before = t.approx_bytes();
        t.set_int(1, Value::Nil);
        t.set_int(5, Value::Nil);
        t.set_int(-5, Value::Nil);
        t.set_str(s[0], Value::Nil);
        t.set(Value::Num(0.5), Value::Nil).unwrap();
        assert!(t.is_empty());
        assert_eq!(t.approx_bytes(), before);
        assert_eq!(t.hash.entries.len(), 0);
        assert_eq!(t.array.len(), 0);
        assert!(matches!(t.next(Value::Nil), Ok(None)));
    }

    #[test]
    fn zero_negative_and_huge_integer_keys() {
        let mut t = Table::new();
        let keys = [0, -1, i64::MIN, i64::MAX, i64::MAX - 1, 1 << 40];
        for (i, &k) in keys.iter().enumerate() {
            t.set_int(k, int(i as i64));
        }
        for (i, &k) in keys.iter().enumerate() {
            assert!(same(t.get_int(k), int(i as i64)));
        }
        assert_eq!(t.len(), 0);
        assert_int_keys(&traverse(&t), &keys);
        t.set_int(1, int(1));
        assert_eq!(t.len(), 1);
        assert!(t.get_int(2).is_nil());
        t.check_invariants();
    }

    #[test]
    fn appends_use_the_array_part() {
        let mut t = Table::new();
        for i in 1..=1000 {
            t.set_int(t.len() + 1, int(i));
        }
        assert_eq!(t.len(), 1000);
        assert_eq!(t.array.len(), 1000);
        assert!(t.hash.entries.is_empty());
        assert!(same(t.get_int(500), int(500)));
        t.check_invariants();
    }

    #[test]
    fn reverse_fill_migrates_into_the_array() {
        let mut t = Table::new();
        for i in (1..=100).rev() {
            t.set_int(i, int(i));
            t.check_invariants();
        }
        assert_eq!(t.len(), 100);
        assert!(t.array.len() >= 100);
        assert_eq!(t.hash.live_entries().count(), 0);
        let expected: Vec<i64> = (1..=100).collect();
        assert_int_keys(&traverse(&t), &expected);
    }

    #[test]
    fn dense_keys_without_one_move_to_the_array_on_rehash() {
        let mut t = Table::new();
        for i in 2..=64 {
            t.set_int(i, int(i));
            t.check_invariants();
        }
        assert!(
            !t.array.is_empty(),
            "computesizes should pick an array part"
        );
        assert_border(&t);
        t.set_int(1, int(1));
        assert_eq!(t.len(), 64);
        t.check_invariants();
    }

    #[test]
    fn len_borders() {
        let mut t = Table::new();
        assert_eq!(t.len(), 0);
        // Only hash keys: t[1] is nil, so 0 is the border.
        t.set_int(2, int(2));
        assert_eq!(t.len(), 0);
        // `{nil, nil, 3}` as a constructor builds it.
        let mut c = Table::with_capacity(3, 0);
        c.set_int(1, Value::Nil);
        c.set_int(2, Value::Nil);
        c.set_int(3, int(3));
        assert_eq!(c.len(), 3);
        // Holes: a border inside the array when its last slot is nil.
        let mut h = Table::new();
        for i in 1..=10 {
            h.set_int(i, int(i));
        }
        h.set_int(5, Value::Nil);
        assert_eq!(h.len(), 10, "last slot non-nil: n is a border");
        h.set_int(10, Value::Nil);
        assert_border(&h);
        for i in (1..=10).rev() {
            h.set_int(i, Value::Nil);
            assert_border(&h);
        }
        assert_eq!(h.len(), 0);
        // Preallocated but empty.
        assert_eq!(Table::with_capacity(8, 0).len(), 0);
        // Key n+1 present after a migration: still a border.
        let mut m = Table::new();
        m.set_int(3, int(3));
        m.set_int(1, int(1));
        assert_eq!(m.len(), 1);
        m.set_int(2, int(2));
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn grow_array_keeps_constructor_borders() {
        // `{f()}` where f returns nil, 2.
        let mut t = Table::new();
        t.grow_array(2);
        t.set_int(1, Value::Nil);
        t.set_int(2, int(2));
        assert_eq!(t.len(), 2);
        // Existing hash keys move into the grown array, and the run above.
        let mut u = Table::new();
        u.set_int(3, int(3));
        u.set_int(4, int(4));
        u.set_int(6, int(6));
        u.grow_array(2);
        assert_eq!(u.array.len(), 4);
        assert_eq!(u.len(), 4);
        assert!(same(u.get_int(6), int(6)));
        u.check_invariants();
        u.grow_array(1);
        assert_eq!(u.array.len(), 4, "never shrinks");
    }

    #[test]
    fn traversal_order_is_array_then_insertion_order() {
        let s = strings(4);
        let mut t = Table::new();
        // Insert strings in the reverse of their handle order.
        for (i, &k) in s.iter().enumerate().rev() {
            t.set_str(k, int(i as i64));
        }
        t.set_int(2, int(2));
        t.set_int(1, int(1));
        t.set(Value::Num(0.5), int(5)).unwrap();
        let pairs = traverse(&t);
        let keys: Vec<String> = pairs.iter().map(|(k, _)| format!("{k:?}")).collect();
        let mut expected = vec![format!("{:?}", int(1)), format!("{:?}", int(2))];
        expected.extend(s.iter().rev().map(|&k| format!("{:?}", Value::Str(k))));
        expected.push(format!("{:?}", Value::Num(0.5)));
        assert_eq!(keys, expected);
    }

    #[test]
    fn order_is_deterministic_across_handle_values() {
        // Two heaps whose handles differ (the second skips slots) give the
        // same order for the same insertion history.
        let mut a = SlotMap::<StrRef, ()>::with_key();
        let mut b = SlotMap::<StrRef, ()>::with_key();
        let ka: Vec<_> = (0..50).map(|_| a.insert(())).collect();
        let kb: Vec<_> = (0..100).map(|_| b.insert(())).filter(|_| true).collect();
        let kb: Vec<_> = kb.into_iter().rev().step_by(2).collect();
        let (mut ta, mut tb) = (Table::new(), Table::new());
        for i in 0..50 {
            ta.set_str(ka[i], int(i as i64));
            tb.set_str(kb[i], int(i as i64));
            if i % 7 == 3 {
                ta.set_str(ka[i / 2], Value::Nil);
                tb.set_str(kb[i / 2], Value::Nil);
            }
        }
        let va: Vec<_> = traverse(&ta).into_iter().map(|(_, v)| v).collect();
        let vb: Vec<_> = traverse(&tb).into_iter().map(|(_, v)| v).collect();
        assert_eq!(va.len(), vb.len());
        assert!(va.iter().zip(&vb).all(|(x, y)| same(*x, *y)));
    }

    #[test]
    fn next_errors_and_edges() {
        let s = strings(2);
        let mut t = Table::new();
        t.set_int(1, int(1));
        t.set_int(2, int(2));
        t.set_str(s[0], int(3));
        assert_eq!(t.next(int(5)).err(), Some(TableError::BadNext));
        assert_eq!(t.next(Value::Str(s[1])).err(), Some(TableError::BadNext));
        assert_eq!(t.next(Value::Bool(true)).err(), Some(TableError::BadNext));
        assert!(matches!(t.next(Value::Str(s[0])), Ok(None)));
        // A float key that normalises to an array key.
        assert!(matches!(
            t.next(Value::Num(1.0)),
            Ok(Some((Value::Int(2), _)))
        ));
        // An array hole is still a valid position.
        t.set_int(1, Value::Nil);
        assert!(matches!(t.next(int(1)), Ok(Some((Value::Int(2), _)))));
        assert!(matches!(t.next(Value::Nil), Ok(Some((Value::Int(2), _)))));
    }

    #[test]
    fn removing_during_traversal_visits_everything_once() {
        let s = strings(20);
        let mut t = Table::new();
        for i in 1..=20 {
            t.set_int(i, int(i));
            t.set_int(100 + i, int(100 + i));
            t.set_str(s[i as usize - 1], int(200 + i));
        }
        let mut seen = Vec::new();
        let mut key = Value::Nil;
        while let Some((k, v)) = t.next(key).unwrap() {
            seen.push(v);
            t.set(k, Value::Nil).unwrap();
            // Overwriting other existing keys is allowed too.
            t.set_int(20, int(20));
            key = k;
        }
        assert_eq!(seen.len(), 60);
        let mut values: Vec<i64> = seen
            .iter()
            .map(|v| match v {
                Value::Int(i) => *i,
                _ => panic!(),
            })
            .collect();
        values.sort_unstable();
        values.dedup();
        assert_eq!(values.len(), 60);
        // Only t[20] survives (it was reassigned after its removal).
        assert_int_keys(&traverse(&t), &[20]);
        t.check_invariants();
    }

    #[test]
    fn flags_reset_only_when_a_string_key_appears() {
        let s = strings(2);
        let mut t = Table::new();
        t.flags = 0xFF;
        t.set_str(s[0], int(1));
        assert_eq!(t.flags, 0, "new string key");
        t.flags = 0xFF;
        t.set_str(s[0], int(2));
        t.set(Value::Str(s[0]), int(3)).unwrap();
        assert_eq!(t.flags, 0xFF, "overwrite");
        t.set_str(s[0], Value::Nil);
        t.set_str(s[1], Value::Nil);
        assert_eq!(t.flags, 0xFF, "removal, or nil on an absent key");
        t.set_int(1, int(1));
        t.set_int(-1, int(1));
        t.set(Value::Bool(true), int(1)).unwrap();
        assert_eq!(t.flags, 0xFF, "non-string keys");
        t.set(Value::Str(s[0]), int(4)).unwrap();
        assert_eq!(t.flags, 0, "revived string key");
    }

    #[test]
    fn clear_where_keeps_traversal_valid() {
        let mut t = Table::new();
        for i in 1..=10 {
            t.set_int(i, int(i));
            t.set_int(-i, int(-i));
        }
        let (k, _) = t.next(int(-3)).unwrap().unwrap();
        let cleared = t.clear_where(|_, v| matches!(v, Value::Int(i) if i % 2 == 0));
        assert_eq!(cleared, 10);
        // `next` continues from keys that were just cleared.
        assert!(t.next(k).is_ok());
        assert!(t.next(int(-4)).is_ok());
        let rest: Vec<i64> = t
            .iter()
            .map(|(k, _)| match k {
                Value::Int(i) => i,
                _ => panic!(),
            })
            .collect();
        assert_eq!(rest, [1, 3, 5, 7, 9, -1, -3, -5, -7, -9]);
        assert!(!t.is_empty());
        assert_eq!(t.clear_where(|_, _| true), 10);
        assert!(t.is_empty());
        t.check_invariants();
    }

    #[test]
    fn queue_memory_stays_bounded() {
        let mut t = Table::new();
        let (mut head, mut tail) = (1, 0);
        let mut peak = 0;
        for round in 0..100_000 {
            tail += 1;
            t.set_int(tail, int(tail));
            if round >= 10 {
                assert!(same(t.get_int(head), int(head)));
                t.set_int(head, Value::Nil);
                head += 1;
            }
            if round > 1000 {
                peak = peak.max(t.approx_bytes());
            }
        }
        t.check_invariants();
        assert!(peak < 4096, "queue of 10 uses {peak} bytes");
    }

    #[test]
    fn churn_next_to_a_large_array_does_not_rescan_it() {
        // Each insertion of a new key into a full hash part of tombstones
        // must compact the hash part, not rehash the whole table: rescanning
        // the 100k array every time would make this loop take seconds.
        let s = strings(20_000);
        let mut t = Table::new();
        for i in 1..=100_000 {
            t.set_int(i, int(i));
        }
        for &k in &s {
            t.set_str(k, int(1));
            t.set_str(k, Value::Nil);
        }
        assert!(t.hash.capacity() <= 2);
        assert_eq!(t.len(), 100_000);
        t.check_invariants();
    }

    #[test]
    fn churn_compacts_tombstones() {
        let s = strings(1000);
        let mut t = Table::new();
        for i in 0..1000 {
            t.set_str(s[i], int(i as i64));
            if i >= 8 {
                t.set_str(s[i - 8], Value::Nil);
            }
        }
        t.check_invariants();
        assert!(t.hash.capacity() <= 32, "capacity {}", t.hash.capacity());
        assert_eq!(t.iter().count(), 8);
    }

    #[test]
    fn sparse_array_shrinks_on_rehash() {
        let s = strings(1);
        let mut t = Table::new();
        for i in 1..=1024 {
            t.set_int(i, int(i));
        }
        for i in 1..=1020 {
            t.set_int(i, Value::Nil);
        }
        t.set_str(s[0], int(0));
        assert!(t.array.len() < 1024);
        assert_int_keys(&traverse(&t)[..4], &[1021, 1022, 1023, 1024]);
        assert_border(&t);
        t.check_invariants();
    }

    #[test]
    fn with_capacity_preallocates_and_caps() {
        let t = Table::with_capacity(4, 5);
        assert_eq!(t.array.len(), 4);
        assert_eq!(t.hash.capacity(), 8);
        assert!(t.is_empty());
        let big = Table::with_capacity(usize::MAX, usize::MAX);
        assert_eq!(big.array.len(), MAX_PREALLOC);
        assert!(big.approx_bytes() > MAX_PREALLOC * 16);
        big.check_invariants();
    }

    #[test]
    fn approx_bytes_grows_with_contents() {
        let mut t = Table::new();
        let empty = t.approx_bytes();
        for i in 1..=100 {
            t.set_int(i, int(i));
            t.set_int(-i, int(i));
        }
        assert!(t.approx_bytes() >= empty + 100 * 16 + 100 * 32);
    }

    // ---- Model-based property test ----

    /// A key as generated: strings are indices into a pool of handles.
    #[derive(Clone, Copy, Debug)]
    enum GenKey {
        Int(i64),
        Float(f64),
        Str(usize),
        Bool(bool),
        Nil,
    }

    /// A normalised key, as the model stores it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
    enum ModelKey {
        Int(i64),
        Float(u64),
        Str(usize),
        Bool(bool),
    }

    #[derive(Clone, Debug)]
    enum Op {
        Set(GenKey, Option<i64>),
        Get(GenKey),
        Next(GenKey),
        /// A full traversal that removes the values divisible by the modulus.
        Traverse(i64),
        ClearWhere(i64),
        GrowArray(usize),
        /// `Set` on each integer key of a range: builds dense arrays, then
        /// holes and sparse arrays when the value is nil.
        SetRange(i64, i64, Option<i64>),
    }

    const POOL: usize = 40;
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;

    fn gen_key(max_int: i64) -> impl Strategy<Value = GenKey> {
        prop_oneof![
            8 => (-3..max_int).prop_map(GenKey::Int),
            1 => prop::sample::select(vec![i64::MIN, i64::MAX, 0, -1, 1 << 40]).prop_map(GenKey::Int),
            2 => prop::sample::select(vec![1.0, 2.0, 3.0, -0.0, 0.5, 2.5, -TWO_63, TWO_63, f64::INFINITY, f64::NAN])
                .prop_map(GenKey::Float),
            3 => (0..POOL).prop_map(GenKey::Str),
            1 => any::<bool>().prop_map(GenKey::Bool),
            1 => Just(GenKey::Nil),
        ]
    }

    fn gen_op(max_int: i64, present: f64) -> impl Strategy<Value = Op> {
        let value = move || prop::option::weighted(present, 0..1000i64);
        prop_oneof![
            12 => (gen_key(max_int), value()).prop_map(|(k, v)| Op::Set(k, v)),
            1 => (-2..max_int, 0..max_int, value()).prop_map(|(a, n, v)| Op::SetRange(a, n, v)),
            3 => gen_key(max_int).prop_map(Op::Get),
            2 => gen_key(max_int).prop_map(Op::Next),
            1 => (2..6i64).prop_map(Op::Traverse),
            1 => (2..6i64).prop_map(Op::ClearWhere),
            1 => (0..64usize).prop_map(Op::GrowArray),
        ]
    }

    fn gen_case() -> impl Strategy<Value = Vec<Op>> {
        (prop_oneof![Just(40i64), Just(300i64)], 0.4..0.9f64).prop_flat_map(|(max_int, present)| {
            prop::collection::vec(gen_op(max_int, present), 0..300)
        })
    }

    fn to_value(key: GenKey, pool: &[StrRef]) -> Value {
        match key {
            GenKey::Int(i) => Value::Int(i),
            GenKey::Float(f) => Value::Num(f),
            GenKey::Str(i) => Value::Str(pool[i]),
            GenKey::Bool(b) => Value::Bool(b),
            GenKey::Nil => Value::Nil,
        }
    }

    /// The model's own normalisation (independent of `normalise`).
    fn model_key(key: GenKey) -> Result<ModelKey, TableError> {
        Ok(match key {
            GenKey::Int(i) => ModelKey::Int(i),
            GenKey::Float(f) if f.is_nan() => return Err(TableError::NaNIndex),
            GenKey::Float(f) if f.fract() == 0.0 && (-TWO_63..TWO_63).contains(&f) => {
                ModelKey::Int(f as i64)
            }
            GenKey::Float(f) => ModelKey::Float(f.to_bits()),
            GenKey::Str(i) => ModelKey::Str(i),
            GenKey::Bool(b) => ModelKey::Bool(b),
            GenKey::Nil => return Err(TableError::NilIndex),
        })
    }

    fn from_value(key: Value, pool: &[StrRef]) -> ModelKey {
        match key {
            Value::Int(i) => ModelKey::Int(i),
            Value::Num(f) => ModelKey::Float(f.to_bits()),
            Value::Str(s) => ModelKey::Str(pool.iter().position(|&p| p == s).unwrap()),
            Value::Bool(b) => ModelKey::Bool(b),
            other => panic!("unexpected key {other:?}"),
        }
    }

    fn value_int(v: Value) -> i64 {
        match v {
            Value::Int(i) => i,
            other => panic!("unexpected value {other:?}"),
        }
    }

    /// Live pairs: the order is not modelled, only the contents.
    #[derive(Default)]
    struct Model(Vec<(ModelKey, i64)>);

    impl Model {
        fn get(&self, key: ModelKey) -> Option<i64> {
            self.0.iter().find(|(k, _)| *k == key).map(|&(_, v)| v)
        }
        fn set(&mut self, key: ModelKey, value: Option<i64>) {
            self.0.retain(|(k, _)| *k != key);
            if let Some(v) = value {
                self.0.push((key, v));
            }
        }
        fn sorted(&self) -> Vec<(ModelKey, i64)> {
            let mut pairs = self.0.clone();
            pairs.sort_unstable();
            pairs
        }
    }

    fn sorted_pairs(pairs: &[(Value, Value)], pool: &[StrRef]) -> Vec<(ModelKey, i64)> {
        let mut out: Vec<_> = pairs
            .iter()
            .map(|&(k, v)| (from_value(k, pool), value_int(v)))
            .collect();
        out.sort_unstable();
        out
    }

    fn apply(t: &mut Table, model: &mut Model, op: &Op, pool: &[StrRef]) {
        match *op {
            Op::Set(key, value) => {
                let v = value.map_or(Value::Nil, Value::Int);
                let result = t.set(to_value(key, pool), v);
                match model_key(key) {
                    Ok(k) => {
                        assert_eq!(result, Ok(()));
                        model.set(k, value);
                    }
                    Err(e) => assert_eq!(result, Err(e)),
                }
            }
            Op::Get(key) => {
                let got = t.get(to_value(key, pool));
                let expected = model_key(key).ok().and_then(|k| model.get(k));
                assert_eq!(got.is_nil(), expected.is_none());
                if let Some(e) = expected {
                    assert_eq!(value_int(got), e);
                }
            }
            Op::Next(key) => {
                // A present key (or nil) must give its successor in `iter`
                // order; absent keys may be array holes or tombstones, which
                // `next` also accepts, so only "no panic" is checked for them.
                let order: Vec<ModelKey> = t.iter().map(|(k, _)| from_value(k, pool)).collect();
                let position = match model_key(key) {
                    Ok(k) if model.get(k).is_some() => {
                        order.iter().position(|&o| o == k).map(|p| p + 1)
                    }
                    Err(TableError::NilIndex) => Some(0),
                    _ => None,
                };
                let result = t.next(to_value(key, pool));
                if let Some(p) = position {
                    let got = result.unwrap().map(|(k, _)| from_value(k, pool));
                    assert_eq!(got, order.get(p).copied());
                }
            }
            Op::Traverse(modulus) => {
                let before = model.sorted();
                let mut visited = Vec::new();
                let mut key = Value::Nil;
                while let Some((k, v)) = t.next(key).unwrap() {
                    visited.push((k, v));
                    if value_int(v) % modulus == 0 {
                        t.set(k, Value::Nil).unwrap();
                        model.set(from_value(k, pool), None);
                    }
                    key = k;
                }
                assert_eq!(sorted_pairs(&visited, pool), before);
            }
            Op::ClearWhere(modulus) => {
                let cleared = t.clear_where(|_, v| value_int(v) % modulus == 0);
                let before = model.0.len();
                model.0.retain(|&(_, v)| v % modulus != 0);
                assert_eq!(cleared, before - model.0.len());
            }
            Op::GrowArray(len) => t.grow_array(len),
            Op::SetRange(start, n, value) => {
                for i in start..start + n {
                    apply(t, model, &Op::Set(GenKey::Int(i), value), pool);
                }
            }
        }
    }

    fn test_scale() -> u32 {
        std::env::var("VM_TEST_SCALE")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128 * test_scale()))]

        #[test]
        fn table_matches_model(ops in gen_case()) {
            let pool = strings(POOL);
            let mut t = Table::new();
            let mut model = Model::default();
            for op in &ops {
                // Only a string key going from absent to present resets flags.
                t.flags = 0xA5;
                let resets = matches!(*op, Op::Set(GenKey::Str(i), Some(_))
                    if model.get(ModelKey::Str(i)).is_none());
                apply(&mut t, &mut model, op, &pool);
                prop_assert_eq!(t.flags, if resets { 0 } else { 0xA5 });
                t.check_invariants();
                assert_border(&t);
                for &(k, v) in &model.0 {
                    let key = match k {
                        ModelKey::Int(i) => Value::Int(i),
                        ModelKey::Float(b) => Value::Num(f64::from_bits(b)),
                        ModelKey::Str(i) => Value::Str(pool[i]),
                        ModelKey::Bool(b) => Value::Bool(b),
                    };
                    prop_assert_eq!(value_int(t.get(key)), v);
                }
            }
            prop_assert_eq!(sorted_pairs(&traverse(&t), &pool), model.sorted());
            prop_assert_eq!(t.is_empty(), model.0.is_empty());

            // Determinism: replaying the history gives the same order.
            let mut replay = Table::new();
            let mut replay_model = Model::default();
            for op in &ops {
                apply(&mut replay, &mut replay_model, op, &pool);
            }
            let (a, b) = (traverse(&t), traverse(&replay));
            prop_assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(&b) {
                prop_assert!(same(x.0, y.0) && same(x.1, y.1));
            }
        }
    }
}
