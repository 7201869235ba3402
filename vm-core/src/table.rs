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
#[cfg(test)]
mod tests;

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

    /// About the bytes `with_capacity(narray, nhash)` allocates.
    pub(crate) fn room_bytes(narray: usize, nhash: usize) -> usize {
        Table::with_capacity(0, 0).approx_bytes()
            + narray.min(MAX_PREALLOC) * std::mem::size_of::<Value>()
            + nhash.min(MAX_PREALLOC) * HashPart::BYTES_PER_ENTRY
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
    /// About the bytes a key of `with_capacity` takes: its entry and its
    /// index slots (the index is twice the rounded capacity).
    const BYTES_PER_ENTRY: usize = std::mem::size_of::<Entry>() + 4 * std::mem::size_of::<u32>();

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
