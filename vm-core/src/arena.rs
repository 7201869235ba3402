//! The heap's object arenas: generational slot maps (as `slotmap`'s) whose
//! versions start at a base chosen per VM.
//!
//! A handle is a slot index and the version the slot had when the object
//! was put there; freeing the object bumps the version, so a stale handle
//! no longer matches (`Arena::get` is `None`). With every VM's versions
//! starting at 1, as `slotmap` starts them, the handle of one VM's object
//! would name whatever another VM keeps in the same slot: the globals
//! table of one VM is the globals table of any other. Starting each VM's
//! versions at its own odd base makes a foreign handle miss as a stale one
//! does (unless the two bases are within twice the number of times a slot
//! was reused of each other, about one chance in a billion for two VMs),
//! at no cost where handles are used: the check is the version compare
//! that every checked lookup already makes.
//!
//! Keys are `slotmap` key types (`new_key_type!`), built from the index
//! and version with `KeyData::from_ffi`, so that the rest of the crate and
//! its tests keep them; only the storage is this module's.

use std::marker::PhantomData;

use slotmap::{Key, KeyData};

/// The most slots an arena holds: slot indices with the top bit set are
/// static strings' handles (`names.rs`), which name no slot.
pub(crate) const MAX_SLOTS: usize = 1 << 31;

/// A slot map whose versions start at a base its owner keeps (`Heap::base`,
/// the same for every arena of a VM: one word less in each of them) and
/// passes to `insert` and `generation`.
pub(crate) struct Arena<K, V> {
    slots: Vec<Slot<V>>,
    /// The first vacant slot, or `slots.len()` when none is.
    free_head: u32,
    len: u32,
    _key: PhantomData<fn(K) -> K>,
}

/// The (odd) version of a slot's first object, from a VM's base.
#[inline]
pub(crate) fn first_version(base: u32) -> u32 {
    base | 1
}

struct Slot<V> {
    /// Odd while occupied, even while vacant.
    version: u32,
    state: State<V>,
}

enum State<V> {
    Occupied(V),
    Vacant { next_free: u32 },
}

/// The slot index and version a key holds.
#[inline(always)]
fn split(key: KeyData) -> (usize, u32) {
    let ffi = key.as_ffi();
    ((ffi & 0xffff_ffff) as usize, (ffi >> 32) as u32)
}

#[inline(always)]
fn join<K: Key>(index: usize, version: u32) -> K {
    K::from(KeyData::from_ffi((u64::from(version) << 32) | index as u64))
}

impl<K: Key, V> Arena<K, V> {
    /// An empty arena.
    pub(crate) fn new() -> Self {
        Arena {
            slots: Vec::new(),
            free_head: 0,
            len: 0,
            _key: PhantomData,
        }
    }

    /// Room for `n` more objects without growing.
    pub(crate) fn reserve_exact(&mut self, n: usize) {
        self.slots.reserve_exact(n);
    }

    /// Room for `n` more objects at once when no slot is vacant (a batch
    /// about to be made, such as a message's objects), rather than
    /// doubling from one slot to the next.
    pub(crate) fn reserve_batch(&mut self, n: usize) {
        if self.free_head as usize >= self.slots.len() {
            self.slots.reserve_exact(n);
        }
    }

    /// How many times the slot of `key` was filled before `key`'s object:
    /// the same for every VM, whatever its base (object addresses that
    /// `tostring` prints do not depend on it).
    pub(crate) fn generation(&self, base: u32, key: K) -> u32 {
        let (_, version) = split(key.data());
        version.wrapping_sub(first_version(base)) / 2
    }

    /// Puts `value` in a slot and returns its handle.
    ///
    /// # Panics
    /// When the arena already holds `MAX_SLOTS` slots (a heap that large
    /// is refused by the memory checks long before).
    pub(crate) fn insert(&mut self, base: u32, value: V) -> K {
        let head = self.free_head as usize;
        self.len += 1;
        if let Some(slot) = self.slots.get_mut(head) {
            let State::Vacant { next_free } = slot.state else {
                unreachable!("the free list names an occupied slot")
            };
            self.free_head = next_free;
            slot.version = slot.version.wrapping_add(1);
            slot.state = State::Occupied(value);
            return join(head, slot.version);
        }
        assert!(head < MAX_SLOTS, "arena full");
        if self.slots.len() == self.slots.capacity() {
            // Doubling from one slot, not `Vec`'s four: a VM (an agent)
            // starts with one thread, one closure, one upvalue.
            self.slots.reserve_exact(self.slots.len().max(1));
        }
        let version = first_version(base);
        self.slots.push(Slot {
            version,
            state: State::Occupied(value),
        });
        self.free_head = self.slots.len() as u32;
        join(head, version)
    }

    /// Removes the object `key` names, if it is there.
    pub(crate) fn remove(&mut self, key: K) -> Option<V> {
        let (index, version) = split(key.data());
        let slot = self.slots.get_mut(index)?;
        if slot.version != version {
            return None;
        }
        Some(self.vacate(index))
    }

    /// Empties occupied slot `index`.
    fn vacate(&mut self, index: usize) -> V {
        let slot = &mut self.slots[index];
        slot.version = slot.version.wrapping_add(1);
        let state = std::mem::replace(
            &mut slot.state,
            State::Vacant {
                next_free: self.free_head,
            },
        );
        self.free_head = index as u32;
        self.len -= 1;
        match state {
            State::Occupied(value) => value,
            State::Vacant { .. } => unreachable!("vacated a vacant slot"),
        }
    }

    /// Whether `key` names an object of this arena.
    #[inline]
    pub(crate) fn contains_key(&self, key: K) -> bool {
        self.get(key).is_some()
    }

    #[inline]
    pub(crate) fn get(&self, key: K) -> Option<&V> {
        let (index, version) = split(key.data());
        let slot = self.slots.get(index)?;
        if slot.version != version {
            return None;
        }
        match &slot.state {
            State::Occupied(value) => Some(value),
            // SAFETY: a key's version is odd (`KeyData::from_ffi` makes it
            // so) and a vacant slot's is even: the slot is occupied.
            State::Vacant { .. } => unsafe { std::hint::unreachable_unchecked() },
        }
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, key: K) -> Option<&mut V> {
        let (index, version) = split(key.data());
        let slot = self.slots.get_mut(index)?;
        if slot.version != version {
            return None;
        }
        match &mut slot.state {
            State::Occupied(value) => Some(value),
            // SAFETY: as in `get`.
            State::Vacant { .. } => unsafe { std::hint::unreachable_unchecked() },
        }
    }

    /// The object `key` names, without the checks.
    ///
    /// # Safety
    /// `key` must name an object of this arena.
    #[inline(always)]
    pub(crate) unsafe fn get_unchecked(&self, key: K) -> &V {
        let (index, _) = split(key.data());
        // SAFETY: the caller guarantees that slot `index` exists and is
        // occupied.
        match unsafe { &self.slots.get_unchecked(index).state } {
            State::Occupied(value) => value,
            // SAFETY: as above.
            State::Vacant { .. } => unsafe { std::hint::unreachable_unchecked() },
        }
    }

    /// `get_unchecked` for writing.
    ///
    /// # Safety
    /// As for `get_unchecked`.
    #[inline(always)]
    pub(crate) unsafe fn get_unchecked_mut(&mut self, key: K) -> &mut V {
        let (index, _) = split(key.data());
        // SAFETY: as for `get_unchecked`.
        match unsafe { &mut self.slots.get_unchecked_mut(index).state } {
            State::Occupied(value) => value,
            // SAFETY: as above.
            State::Vacant { .. } => unsafe { std::hint::unreachable_unchecked() },
        }
    }

    /// Keeps the objects for which `keep` is true, in slot order.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(K, &mut V) -> bool) {
        for index in 0..self.slots.len() {
            let slot = &mut self.slots[index];
            let version = slot.version;
            if let State::Occupied(value) = &mut slot.state {
                if !keep(join(index, version), value) {
                    self.vacate(index);
                }
            }
        }
    }

    /// The number of objects.
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    /// The slots allocated (occupied or not): what a growth doubles.
    pub(crate) fn capacity(&self) -> usize {
        self.slots.capacity()
    }

    /// The objects with their handles, in slot order.
    pub(crate) fn iter(&self) -> Iter<'_, K, V> {
        Iter {
            slots: self.slots.iter().enumerate(),
            _key: PhantomData,
        }
    }

    /// The handles, in slot order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = K> + '_ {
        self.iter().map(|(k, _)| k)
    }

    /// The objects, in slot order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.iter().map(|(_, v)| v)
    }
}

impl<K: Key, V> std::ops::Index<K> for Arena<K, V> {
    type Output = V;

    /// # Panics
    /// When `key` names no object (internal use, where it always does;
    /// handles from outside are checked with `get` first).
    #[inline]
    fn index(&self, key: K) -> &V {
        match self.get(key) {
            Some(v) => v,
            None => panic!("invalid arena key used"),
        }
    }
}

impl<K: Key, V> std::ops::IndexMut<K> for Arena<K, V> {
    #[inline]
    fn index_mut(&mut self, key: K) -> &mut V {
        match self.get_mut(key) {
            Some(v) => v,
            None => panic!("invalid arena key used"),
        }
    }
}

impl<'a, K: Key, V> IntoIterator for &'a Arena<K, V> {
    type Item = (K, &'a V);
    type IntoIter = Iter<'a, K, V>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// [`Arena::iter`].
pub(crate) struct Iter<'a, K, V> {
    slots: std::iter::Enumerate<std::slice::Iter<'a, Slot<V>>>,
    _key: PhantomData<fn(K) -> K>,
}

impl<'a, K: Key, V> Iterator for Iter<'a, K, V> {
    type Item = (K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        self.slots.find_map(|(index, slot)| match &slot.state {
            State::Occupied(value) => Some((join(index, slot.version), value)),
            State::Vacant { .. } => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::TableRef;

    #[test]
    fn stale_and_foreign_keys_miss() {
        let (base_a, base_b) = (1, 0x9e37_79b9);
        let mut a: Arena<TableRef, &str> = Arena::new();
        let mut b: Arena<TableRef, &str> = Arena::new();
        let ka = a.insert(base_a, "a");
        let kb = b.insert(base_b, "b");
        assert_eq!(a.get(ka), Some(&"a"));
        assert_eq!(b.get(kb), Some(&"b"));
        // Same slot, other VM's version.
        assert_eq!(a.get(kb), None);
        assert_eq!(b.get(ka), None);
        assert_eq!(a.remove(ka), Some("a"));
        assert_eq!(a.get(ka), None);
        let ka2 = a.insert(base_a, "a2");
        assert_ne!(ka, ka2);
        assert_eq!(a.get(ka), None);
        assert_eq!(a.generation(base_a, ka), 0);
        assert_eq!(a.generation(base_a, ka2), 1);
        assert_eq!(a.get(TableRef::default()), None);
    }

    #[test]
    fn retain_iterates_and_frees_in_slot_order() {
        let mut a: Arena<TableRef, u32> = Arena::new();
        let keys: Vec<TableRef> = (0..10).map(|i| a.insert(7, i)).collect();
        a.retain(|_, v| *v % 2 == 0);
        assert_eq!(a.len(), 5);
        assert_eq!(a.values().copied().collect::<Vec<_>>(), [0, 2, 4, 6, 8]);
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(a.contains_key(*k), i % 2 == 0);
        }
        // Freed slots are reused, last freed first, with a new version.
        let k = a.insert(7, 42);
        assert_eq!(k.data().as_ffi() & 0xffff_ffff, 9);
        assert!(!a.contains_key(keys[9]));
        assert_eq!(a[k], 42);
    }
}
