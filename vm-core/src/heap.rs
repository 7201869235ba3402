//! The heap (`lstring.c`, `lfunc.c` allocation, `lgc.c` accounting): one
//! `slotmap` arena per kind of object, the string intern table, and the
//! allocation debt that paces the collector.
//!
//! Architecture invariant: a handle (`StrRef`, `TableRef`, ...) is only ever
//! dereferenced while the object is reachable from a root; the collector
//! (`gc.rs`) runs only at interpreter safe points, so values held in Rust
//! locals between two safe points need no rooting.

use std::any::Any;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use crate::arena::Arena;
use hashbrown::HashTable;

use crate::error::LuaResult;
use crate::func::LuaClosure;
use crate::native::{Args, NativeFunction, Step};
use crate::state::{ThreadSlot, Vm};
use crate::table::Table;
use crate::value::{
    LuaFnRef, NativeRef, StrRef, TableRef, ThreadRef, UpvalRef, UserDataRef, Value,
};

/// An interned, immutable byte string.
pub(crate) struct LuaStr {
    bytes: Box<[u8]>,
    hash: u64,
}

impl LuaStr {
    /// The string's bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// A native closure: a registered native function plus its upvalues.
#[derive(Debug)]
pub(crate) struct NativeClosure {
    /// The function.
    pub func: &'static NativeFunction,
    /// Upvalues (`lua_upvalueindex`), readable by the native.
    pub upvals: Vec<Value>,
    /// A Rust closure run instead of `func` (`Vm::create_function`).
    /// Not persistable: it may capture state the VM cannot see.
    pub closure: Option<Arc<RustClosure>>,
}

/// The body of a Rust closure made a native function
/// ([`Vm::create_raw_function`]): the native ABI, as a closure.
pub type RustFn = dyn Fn(&mut Vm, Args) -> LuaResult<Step> + Send + Sync;

/// A Rust closure registered as a native function (`Vm::create_function`).
///
/// Unlike a [`NativeFunction`] it may capture state of its own, so it is
/// not persistable: saving a VM that holds one must fail with an error
/// naming it (DESIGN.md section 3).
pub(crate) struct RustClosure {
    /// The name it was registered under (argument errors name a function
    /// as Lua does: by how it was called, or its global name).
    pub name: &'static str,
    /// The body, with the native ABI.
    pub func: Box<RustFn>,
}

impl fmt::Debug for RustClosure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RustClosure")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// An upvalue cell: open while the variable still lives in a stack slot,
/// closed (holding its own value) after the variable went out of scope.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Upval {
    Open { thread: ThreadRef, slot: usize },
    Closed(Value),
}

/// A full userdata: an opaque Rust value with a metatable and a user value.
pub(crate) struct UserData {
    /// Metatable (`__index`, `__gc`, `__name`, ...).
    pub metatable: Option<TableRef>,
    /// The associated Lua value (`debug.getuservalue`).
    pub user_value: Value,
    /// The payload.
    pub data: Box<dyn Any + Send>,
    /// Bytes the payload holds, as far as the VM knows (a chunk loader's
    /// buffers): counted in the heap while the userdata lives.
    pub(crate) payload: usize,
}

impl fmt::Debug for UserData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserData")
            .field("metatable", &self.metatable)
            .finish_non_exhaustive()
    }
}

/// All heap objects of one VM.
pub(crate) struct Heap {
    pub(crate) strings: Arena<StrRef, LuaStr>,
    pub(crate) tables: Arena<TableRef, Table>,
    pub(crate) lfns: Arena<LuaFnRef, LuaClosure>,
    pub(crate) natives: Arena<NativeRef, NativeClosure>,
    pub(crate) upvals: Arena<UpvalRef, Upval>,
    pub(crate) threads: Arena<ThreadRef, ThreadSlot>,
    pub(crate) userdata: Arena<UserDataRef, UserData>,
    intern: HashTable<StrRef>,
    /// The version base of every arena (see `arena`).
    pub(crate) base: u32,
    /// The keys of the string hash (`hash_bytes`), shared.
    keys: Arc<HashKeys>,
    /// Bytes allocated since the last collection (approximate).
    pub(crate) debt: usize,
    /// Bytes found live by the last collection (approximate).
    pub(crate) live: usize,
    /// The memory limit (`Vm::set_memory_limit`); `usize::MAX`: none
    /// (no heap reaches it: one word, not an `Option`, in every VM).
    limit: usize,
    /// The allocator refused a table room for a new key since the last
    /// memory error: the store that needed it must fail.
    pub(crate) refused: bool,
}

impl Default for Heap {
    /// An empty heap whose handles no other heap of the process accepts
    /// (see `arena`): each heap's arenas start their versions at a base of
    /// its own, spread over the version space by a multiplicative hash of
    /// a process-wide count, and the same for the same order of creation.
    fn default() -> Self {
        static SHARED: OnceLock<Arc<HashKeys>> = OnceLock::new();
        Heap::with_keys(Arc::clone(
            SHARED.get_or_init(|| Arc::new(HashKeys::random())),
        ))
    }
}

impl Heap {
    /// An empty heap (see `Default`) whose string hash has `keys`.
    pub(crate) fn with_keys(keys: Arc<HashKeys>) -> Self {
        static HEAPS: AtomicU32 = AtomicU32::new(0);
        let n = HEAPS.fetch_add(1, Ordering::Relaxed);
        let base = n.wrapping_mul(0x9E37_79B9) | 1;
        Heap {
            strings: Arena::new(),
            tables: Arena::new(),
            lfns: Arena::new(),
            natives: Arena::new(),
            upvals: Arena::new(),
            threads: Arena::new(),
            userdata: Arena::new(),
            intern: HashTable::default(),
            base,
            keys,
            debt: 0,
            live: 0,
            limit: usize::MAX,
            refused: false,
        }
    }
}

/// Approximate per-object costs, counted when allocating (`debt`) and
/// when the sweep counts what is live, so that the memory limit bounds
/// the process's resident memory and not only the objects' payloads.
/// Calibrated on resident memory per object kept (a million of each
/// kind, BENCHMARKS.md "Memory accounting"): an arena slot with the
/// arena's growth, the intern table's entry, each heap block's allocator
/// header and rounding.
pub(crate) const STR_OVERHEAD: usize = 96;
pub(crate) const CLOSURE_OVERHEAD: usize = 64;
pub(crate) const UPVAL_SIZE: usize = 32;
/// A native closure's slot and its upvalue vector's block.
pub(crate) const NATIVE_OVERHEAD: usize = 80;
/// A userdata's slot and its payload's block header.
pub(crate) const USERDATA_OVERHEAD: usize = 96;

/// The cost of a userdata: its slot, its payload's box, and the heap data
/// the payload holds as far as the VM knows (`Vm::set_userdata_size`).
#[inline]
pub(crate) fn userdata_cost(ud: &UserData) -> usize {
    USERDATA_OVERHEAD + std::mem::size_of_val(&*ud.data) + ud.payload
}

/// The cost of a Lua closure with `n` upvalues.
#[inline]
pub(crate) fn lua_closure_cost(n: usize) -> usize {
    CLOSURE_OVERHEAD + 8 * n
}

/// The cost of a native closure with `n` upvalues.
#[inline]
pub(crate) fn native_cost(n: usize) -> usize {
    NATIVE_OVERHEAD + 16 * n
}
/// A table's slot and its parts' block headers; `Table::approx_bytes`
/// counts the parts themselves.
pub(crate) const TABLE_OVERHEAD: usize = 16;
/// An object with a finalizer: its entries in `Vm::finobj` and
/// `Vm::finobj_keys`.
pub(crate) const FIN_OVERHEAD: usize = 48;
/// A thread's boxed state beside its stack and frames (`Thread::bytes`).
pub(crate) const THREAD_OVERHEAD: usize = 384;

/// The cost of a string of `len` bytes: its slot and entries, and its
/// bytes as the allocator rounds them.
#[inline]
pub(crate) fn str_cost(len: usize) -> usize {
    STR_OVERHEAD + (len.saturating_add(8 + 15) & !15)
}

/// The secret the string hash is keyed with: random by default, drawn
/// once per process and shared by its VMs (an agent's VM does not pay
/// for keys of its own), so that a program cannot choose strings that all
/// land in one bucket of the intern table (which every string creation
/// probes); or fixed for a VM whose run must be replayed exactly
/// (`Vm::with_hash_seed`). Nothing a program sees depends on it: tables
/// order their keys by insertion, and no program can read a hash.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HashKeys([u64; 4]);

impl HashKeys {
    /// Keys derived from `seed` (splitmix64).
    pub(crate) fn from_seed(seed: u64) -> Self {
        let mut state = seed;
        let mut next = || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        HashKeys([next(), next(), next(), next()])
    }

    /// Keys from the operating system's randomness, as `std`'s hash maps
    /// take theirs.
    pub(crate) fn random() -> Self {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x5EED);
        HashKeys::from_seed(h.finish())
    }
}

/// The high and low halves of the full product, folded: each input bit
/// reaches every output bit.
#[inline(always)]
fn folded_multiply(x: u64, y: u64) -> u64 {
    let p = u128::from(x) * u128::from(y);
    (p as u64) ^ ((p >> 64) as u64)
}

/// Up to eight bytes, little-endian, zero-padded.
#[inline(always)]
fn read_padded(b: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    buf[..b.len()].copy_from_slice(b);
    u64::from_le_bytes(buf)
}

/// A fast keyed hash of a byte string: 16 bytes at a time, each pair of
/// words folded with the keys through a full multiply (after foldhash and
/// wyhash), so that colliding strings cannot be made without the keys.
pub(crate) fn hash_bytes(keys: &HashKeys, bytes: &[u8]) -> u64 {
    let [k0, k1, k2, k3] = keys.0;
    let mut h = k0 ^ (bytes.len() as u64);
    let mut chunks = bytes.chunks_exact(16);
    for c in &mut chunks {
        let (a, b) = (read_padded(&c[..8]), read_padded(&c[8..]));
        h = folded_multiply(a ^ k1, b ^ k2 ^ h);
    }
    let rest = chunks.remainder();
    let (a, b) = if rest.len() > 8 {
        (read_padded(&rest[..8]), read_padded(&rest[8..]))
    } else {
        (read_padded(rest), 0)
    };
    h = folded_multiply(a ^ k1 ^ h, b ^ k2);
    folded_multiply(h ^ k3, k0 | 1)
}

impl Heap {
    /// Interns `bytes`, returning the one string handle with that content.
    pub(crate) fn intern(&mut self, bytes: &[u8]) -> StrRef {
        let hash = hash_bytes(&self.keys, bytes);
        match self.interned(hash, bytes) {
            Some(r) => r,
            None => self.insert_str(hash, bytes.into()),
        }
    }

    /// [`Heap::intern`] of a name a library installs: most are static
    /// (`names.rs`), found without hashing the bytes for this heap.
    pub(crate) fn intern_name(&mut self, bytes: &[u8]) -> StrRef {
        match crate::names::find(bytes) {
            Some(r) => r,
            None => self.intern(bytes),
        }
    }

    /// [`Heap::intern`] of a buffer: a new string takes the buffer (shrunk
    /// to its length) instead of a copy, so a large result is never held
    /// twice.
    pub(crate) fn intern_vec(&mut self, bytes: Vec<u8>) -> StrRef {
        let hash = hash_bytes(&self.keys, &bytes);
        match self.interned(hash, &bytes) {
            Some(r) => r,
            None => self.insert_str(hash, bytes.into_boxed_slice()),
        }
    }

    /// The string with content `bytes` (of hash `hash`), if interned: one
    /// of this heap's or a static one (`names.rs`), which this heap's
    /// intern table never holds.
    #[inline]
    fn interned(&self, hash: u64, bytes: &[u8]) -> Option<StrRef> {
        let strings = &self.strings;
        match self.intern.find(hash, |&r| &*strings[r].bytes == bytes) {
            Some(&r) => Some(r),
            None => crate::names::find(bytes),
        }
    }

    /// Adds a string known not to be interned yet.
    #[inline]
    fn insert_str(&mut self, hash: u64, bytes: Box<[u8]>) -> StrRef {
        self.debt += str_cost(bytes.len());
        let r = self.strings.insert(self.base, LuaStr { bytes, hash });
        let strings = &self.strings;
        self.intern.insert_unique(hash, r, |&r| strings[r].hash);
        r
    }

    /// The interned string with content `bytes`, if one exists (no
    /// allocation).
    pub(crate) fn find_str(&self, bytes: &[u8]) -> Option<StrRef> {
        self.interned(hash_bytes(&self.keys, bytes), bytes)
    }

    /// Whether `v` is an immediate value or names a live object of this
    /// heap (`Vm::owns`).
    pub(crate) fn owns(&self, v: Value) -> bool {
        match v {
            Value::Nil | Value::Bool(_) | Value::Int(_) | Value::Num(_) => true,
            Value::Str(r) => self.strings.contains_key(r) || crate::names::index(r).is_some(),
            Value::Table(r) => self.tables.contains_key(r),
            Value::LuaFn(r) => self.lfns.contains_key(r),
            Value::Native(r) => self.natives.contains_key(r) || crate::light::native(r).is_some(),
            Value::Thread(r) => self.threads.contains_key(r),
            Value::UserData(r) => self.userdata.contains_key(r),
        }
    }

    /// The bytes of a string.
    #[inline]
    pub(crate) fn str_bytes(&self, s: StrRef) -> &[u8] {
        if crate::names::is_static(s) {
            return crate::names::bytes(s);
        }
        &self.strings[s].bytes
    }

    /// The bytes of a string, or `None` for a handle that names no string
    /// of this heap (nor a static one).
    #[inline]
    pub(crate) fn try_str_bytes(&self, s: StrRef) -> Option<&[u8]> {
        if crate::names::is_static(s) {
            return crate::names::index(s).map(|_| crate::names::bytes(s));
        }
        self.strings.get(s).map(|s| s.as_bytes())
    }

    /// Allocates a table.
    pub(crate) fn new_table(&mut self, table: Table) -> TableRef {
        self.debt += table.approx_bytes() + TABLE_OVERHEAD;
        self.tables.insert(self.base, table)
    }

    /// Allocates a Lua closure.
    pub(crate) fn new_lua_closure(&mut self, closure: LuaClosure) -> LuaFnRef {
        // The interpreter reads upvalue handles unchecked (`raw::upval_at`),
        // trusting the verifier's bound: the prototype's upvalue count.
        assert_eq!(
            closure.upvals.len(),
            closure.proto.upvalues.len(),
            "a closure has one upvalue cell per upvalue of its prototype"
        );
        self.debt += lua_closure_cost(closure.upvals.len());
        self.lfns.insert(self.base, closure)
    }

    /// A native function with no upvalues as a value: light (no object,
    /// `light.rs`), or an object if the process has too many light ones.
    pub(crate) fn new_light(&mut self, f: &'static NativeFunction) -> NativeRef {
        match crate::light::handle(f) {
            Some(r) => r,
            None => self.new_native(NativeClosure {
                func: f,
                upvals: Vec::new(),
                closure: None,
            }),
        }
    }

    /// The function of native `n` (light or not), or `None` for a handle
    /// that names none.
    #[inline]
    pub(crate) fn native_fn(&self, n: NativeRef) -> Option<&'static NativeFunction> {
        if crate::light::is_light(n) {
            return crate::light::native(n);
        }
        self.natives.get(n).map(|c| c.func)
    }

    /// The upvalues of native `n` (none for a light one or a bad handle).
    #[inline]
    pub(crate) fn native_upvals(&self, n: NativeRef) -> &[Value] {
        self.natives.get(n).map_or(&[], |c| &c.upvals)
    }

    /// Allocates a native closure.
    pub(crate) fn new_native(&mut self, closure: NativeClosure) -> NativeRef {
        self.debt += native_cost(closure.upvals.len());
        self.natives.insert(self.base, closure)
    }

    /// Allocates an upvalue cell.
    pub(crate) fn new_upval(&mut self, uv: Upval) -> UpvalRef {
        self.debt += UPVAL_SIZE;
        self.upvals.insert(self.base, uv)
    }

    /// Allocates a userdata.
    pub(crate) fn new_userdata(&mut self, ud: UserData) -> UserDataRef {
        self.debt += userdata_cost(&ud);
        self.userdata.insert(self.base, ud)
    }

    /// Removes a string from the arena and the intern table (collector only).
    pub(crate) fn free_string(&mut self, r: StrRef) {
        if let Some(s) = self.strings.remove(r) {
            if let Ok(e) = self.intern.find_entry(s.hash, |&x| x == r) {
                e.remove();
            }
        }
    }

    /// Number of live objects of every kind (for tests and statistics).
    pub(crate) fn object_count(&self) -> usize {
        self.strings.len()
            + self.tables.len()
            + self.lfns.len()
            + self.natives.len()
            + self.upvals.len()
            + self.threads.len()
            + self.userdata.len()
    }

    /// Approximate bytes in use: what the last collection found live plus
    /// what was allocated since.
    pub(crate) fn approx_bytes(&self) -> usize {
        self.live + self.debt
    }

    /// The memory limit, if any.
    #[inline]
    pub(crate) fn limit(&self) -> Option<usize> {
        Some(self.limit).filter(|&l| l != usize::MAX)
    }

    /// Sets the memory limit (`None`, or `usize::MAX`: none).
    pub(crate) fn set_limit(&mut self, limit: Option<usize>) {
        self.limit = limit.unwrap_or(usize::MAX);
    }

    /// Whether `extra` more bytes would take the heap past its limit, or
    /// an allocation was refused.
    #[inline]
    pub(crate) fn over_limit(&self, extra: usize) -> bool {
        self.refused
            || self
                .limit()
                .is_some_and(|l| self.approx_bytes().saturating_add(extra) > l)
    }

    /// After a collection, with `threshold` the debt allowed before the
    /// next one: whether the allocator would give each arena its next
    /// doubling, and returns the threshold to use. A slot map or the
    /// string index grows by doubling while its old storage is still held,
    /// and that growth cannot be refused (an insert has no error path), so
    /// when the room for the doublings that may come before the next
    /// collection is lacking, the heap is marked refused: the safe point
    /// that collected raises "not enough memory" there, before such a
    /// growth aborts.
    ///
    /// The collector also paces itself on the room the allocator grants
    /// (with a memory limit too, which may be set above what the system
    /// gives): most of what a program allocates between two collections
    /// comes in requests too small to fail gracefully, and it may take the
    /// room the doublings were probed for, so the threshold is halved
    /// until the doublings and twice the threshold fit (refused below
    /// `min`), and the garbage of a program near the edge (an error
    /// unwinding, say) is collected before it takes the rest.
    pub(crate) fn check_headroom(&mut self, threshold: usize, min: usize) -> usize {
        fn doubling<T>(len: usize, capacity: usize) -> usize {
            // Slots hold a value and a version.
            let slot = std::mem::size_of::<T>() + 8;
            if 2 * len < capacity {
                return 0;
            }
            capacity.saturating_mul(2).saturating_mul(slot)
        }
        let needed = [
            doubling::<LuaStr>(self.strings.len(), self.strings.capacity()),
            doubling::<Table>(self.tables.len(), self.tables.capacity()),
            doubling::<LuaClosure>(self.lfns.len(), self.lfns.capacity()),
            doubling::<NativeClosure>(self.natives.len(), self.natives.capacity()),
            doubling::<Upval>(self.upvals.len(), self.upvals.capacity()),
            doubling::<ThreadSlot>(self.threads.len(), self.threads.capacity()),
            doubling::<UserData>(self.userdata.len(), self.userdata.capacity()),
            doubling::<StrRef>(self.intern.len(), self.intern.capacity()),
        ];
        let needed = needed.iter().fold(0usize, |a, &b| a.saturating_add(b));
        let mut threshold = threshold;
        // Twice the threshold: what is left when the next collection comes
        // lets a program refused there unwind (its error messages, its
        // handlers) while the collector frees what it leaves behind.
        while !crate::alloc::can_allocate(needed.saturating_add(threshold.saturating_mul(2))) {
            if threshold <= min {
                self.refused = true;
                break;
            }
            threshold = (threshold / 2).max(min);
        }
        threshold
    }

    /// Accounts for a table's growth; true when the table grew or was
    /// refused room, so that the caller must check [`Heap::over_limit`].
    #[inline]
    pub(crate) fn table_grew(&mut self, growth: crate::table::Growth) -> bool {
        if !growth.any() {
            return false;
        }
        self.debt += growth.bytes;
        self.refused |= growth.refused;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_dedups() {
        let mut h = Heap::default();
        let a = h.intern(b"hello");
        let b = h.intern(b"hello");
        let c = h.intern(b"world");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(h.str_bytes(c), b"world");
        h.free_string(a);
        let d = h.intern(b"hello");
        assert_ne!(a, d, "a freed handle is never reused with the same version");
        assert_eq!(h.str_bytes(d), b"hello");
    }

    #[test]
    fn hash_depends_on_every_byte_and_the_keys() {
        let k = HashKeys::from_seed(7);
        let h = |b: &[u8]| hash_bytes(&k, b);
        assert_ne!(h(b"abcdefgh1"), h(b"abcdefgh2"));
        assert_ne!(h(b""), h(b"\0"));
        // Every byte of every length, in every position of a 16-byte block
        // and of the tail, and the length itself, change the hash.
        for len in 0..40usize {
            let base = vec![b'a'; len];
            assert_ne!(h(&base), h(&[base.as_slice(), b"\0"].concat()), "{len}");
            for i in 0..len {
                let mut other = base.clone();
                other[i] = b'b';
                assert_ne!(h(&base), h(&other), "{len} {i}");
            }
        }
        // A fixed seed gives the same hash; another seed another one.
        assert_eq!(hash_bytes(&HashKeys::from_seed(7), b"key"), h(b"key"));
        assert_ne!(hash_bytes(&HashKeys::from_seed(8), b"key"), h(b"key"));
        // Random keys differ between heaps (one chance in 2^64 otherwise).
        let (a, b) = (HashKeys::random(), HashKeys::random());
        assert_ne!(hash_bytes(&a, b"key"), hash_bytes(&b, b"key"));
    }
}
