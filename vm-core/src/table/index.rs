//! The hash part's index: open-addressing slots (linear probing) holding
//! entry positions.
//!
//! Up to [`INLINE_CAPACITY`] entries the slots live in the table header
//! itself, one byte each. Most tables are small (an object with a few
//! fields, a tree node), and for them a lookup then touches only the header
//! and the entries: with a separate index allocation, a miss such as
//! `node.left` on a leaf paid a cache miss on the index alone (6% of
//! `bench/generators.lua`). It also saves the table an allocation. Larger
//! tables have a boxed slice of `u32` positions.

use super::{Entry, Value};

/// Entries an inline index can address.
pub(super) const INLINE_CAPACITY: usize = 8;

const INLINE_SLOTS: usize = 2 * INLINE_CAPACITY;

/// An empty inline slot: beyond any entry position of a small table.
const INLINE_EMPTY: u8 = u8::MAX;

/// An empty slot of a boxed index.
pub(super) const EMPTY: u32 = u32::MAX;

/// Slot -> entry position. Every empty slot holds a value beyond any entry
/// position, so looking the entry up misses on it: probing needs no
/// separate emptiness test.
#[derive(Clone, Debug)]
pub(super) enum Index {
    /// `len` slots (0 or a power of two up to `INLINE_SLOTS`); the slots
    /// from `len` on stay empty.
    Inline { len: u8, slots: [u8; INLINE_SLOTS] },
    /// A power-of-two number of slots.
    Boxed(Box<[u32]>),
}

impl Default for Index {
    fn default() -> Self {
        Index::Inline {
            len: 0,
            slots: [INLINE_EMPTY; INLINE_SLOTS],
        }
    }
}

impl Index {
    /// An empty index of `len` slots (0 or a power of two).
    pub(super) fn with_slots(len: usize) -> Self {
        debug_assert!(len == 0 || len.is_power_of_two());
        match u8::try_from(len) {
            Ok(len) if usize::from(len) <= INLINE_SLOTS => Index::Inline {
                len,
                slots: [INLINE_EMPTY; INLINE_SLOTS],
            },
            _ => Index::Boxed(vec![EMPTY; len].into_boxed_slice()),
        }
    }

    /// Number of slots.
    #[inline]
    pub(super) fn len(&self) -> usize {
        match self {
            Index::Inline { len, .. } => usize::from(*len),
            Index::Boxed(slots) => slots.len(),
        }
    }

    /// Looks a key up: `Ok(position)` of the entry whose key satisfies
    /// `is_key`, or `Err(slot)`, the empty slot that ended the search (where
    /// the key would be recorded; meaningless when there are no slots).
    #[inline(always)]
    pub(super) fn probe(
        &self,
        hash: u64,
        entries: &[Entry],
        is_key: impl Fn(Value) -> bool,
    ) -> Result<usize, usize> {
        match self {
            // With no slots the mask is 15 and every slot is empty.
            Index::Inline { len, slots } => {
                let mask = usize::from(*len).wrapping_sub(1) & (INLINE_SLOTS - 1);
                probe_slots(slots, mask, hash, entries, is_key)
            }
            Index::Boxed(slots) => {
                let mask = slots.len().wrapping_sub(1);
                probe_slots(slots, mask, hash, entries, is_key)
            }
        }
    }

    /// Whether `slot` exists and is empty.
    pub(super) fn is_vacant(&self, slot: usize) -> bool {
        slot < self.len()
            && match self {
                Index::Inline { slots, .. } => slots[slot] == INLINE_EMPTY,
                Index::Boxed(slots) => slots[slot] == EMPTY,
            }
    }

    /// Records entry `pos` in `slot`, which `is_vacant` approved.
    pub(super) fn set(&mut self, slot: usize, pos: usize) {
        match self {
            Index::Inline { slots, .. } => {
                debug_assert!(pos < INLINE_CAPACITY);
                slots[slot] = pos as u8;
            }
            Index::Boxed(slots) => {
                debug_assert!(pos < EMPTY as usize);
                slots[slot] = pos as u32;
            }
        }
    }

    /// Records entry `pos` in the first empty slot of its probe sequence.
    pub(super) fn insert(&mut self, hash: u64, pos: usize) {
        let Some(mask) = self.len().checked_sub(1) else {
            return;
        };
        let mut slot = hash as usize & mask;
        // At most half the slots are used, so an empty one is found; the
        // bound only makes termination evident.
        for _ in 0..=mask {
            if self.is_vacant(slot) {
                self.set(slot, pos);
                return;
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Heap bytes the index owns.
    pub(super) fn heap_bytes(&self) -> usize {
        match self {
            Index::Inline { .. } => 0,
            Index::Boxed(slots) => std::mem::size_of_val::<[u32]>(slots),
        }
    }

    /// Number of used slots.
    #[cfg(test)]
    pub(super) fn used(&self) -> usize {
        (0..self.len()).filter(|&s| !self.is_vacant(s)).count()
    }
}

/// The probe loop over slots of either width.
#[inline(always)]
fn probe_slots<S: Copy + Into<u32>>(
    slots: &[S],
    mask: usize,
    hash: u64,
    entries: &[Entry],
    is_key: impl Fn(Value) -> bool,
) -> Result<usize, usize> {
    let mut slot = hash as usize & mask;
    loop {
        let Some(&pos) = slots.get(slot) else {
            return Err(slot);
        };
        let pos = pos.into() as usize;
        match entries.get(pos) {
            None => return Err(slot),
            Some(entry) if is_key(entry.key) => return Ok(pos),
            Some(_) => slot = (slot + 1) & mask,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(n: i64) -> Vec<Entry> {
        (0..n)
            .map(|i| Entry {
                key: Value::Int(i),
                value: Value::Bool(true),
            })
            .collect()
    }

    /// Every entry is found through an index of `slots` slots, and a key
    /// that is absent misses.
    fn check(slots: usize, n: i64) -> Index {
        let entries = entries(n);
        let mut index = Index::with_slots(slots);
        for (pos, e) in entries.iter().enumerate() {
            index.insert(poor_hash(e), pos);
        }
        for (pos, e) in entries.iter().enumerate() {
            let key = e.key;
            let found = index.probe(poor_hash(e), &entries, |k| same(k, key));
            assert_eq!(found, Ok(pos));
        }
        let absent = Value::Int(n);
        let miss = index.probe(n as u64, &entries, |k| same(k, absent));
        assert!(matches!(miss, Err(slot) if index.is_vacant(slot)));
        assert_eq!(index.used(), n as usize);
        index
    }

    fn same(a: Value, b: Value) -> bool {
        matches!((a, b), (Value::Int(x), Value::Int(y)) if x == y)
    }

    /// A poor hash: pairs of keys collide, and neighbours probe into each
    /// other's slots.
    fn poor_hash(e: &Entry) -> u64 {
        match e.key {
            Value::Int(i) => i as u64 / 2,
            _ => 0,
        }
    }

    #[test]
    fn small_indexes_are_inline_and_large_ones_boxed() {
        for (slots, n) in [(2, 1), (4, 2), (8, 4), (16, 8)] {
            let index = check(slots, n);
            assert!(matches!(index, Index::Inline { .. }), "{slots} slots");
            assert_eq!(index.heap_bytes(), 0);
        }
        let index = check(32, 16);
        assert!(matches!(index, Index::Boxed(_)));
        assert_eq!(index.heap_bytes(), 32 * 4);
    }

    #[test]
    fn an_empty_index_misses_at_once() {
        let index = Index::default();
        assert_eq!(index.len(), 0);
        assert!(index.probe(12345, &[], |_| true).is_err());
        let entries = entries(1);
        // Without slots not even a present entry is reachable: the table
        // rebuilds before it records one.
        assert!(index.probe(0, &entries, |_| true).is_err());
    }
}
