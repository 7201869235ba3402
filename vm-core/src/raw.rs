//! `unsafe` helpers, each use justified by a benchmark. (The interpreter's
//! unchecked register, constant and instruction reads are in `vm.rs`, next
//! to the discipline that makes them sound: see `verify.rs`.)
//!
//! Prototype addresses: the interpreter reads the running function's code
//! on every instruction. Holding it through `Arc::clone` cost two atomic
//! operations per call and per return (half the run time of
//! `bench/closures.lua`), and looking the closure up in its arena on every
//! frame entry cost about 4% of `bench/fib.lua` (BENCHMARKS.md). So a frame
//! records its prototype's address when it is pushed (`proto_addr`) and the
//! interpreter turns it back into a reference (`proto_at`). This is sound
//! because the running closure is always rooted (it sits in its frame's
//! function slot, which the collector marks) and owns its `Arc<Proto>`, so
//! the prototype outlives the frame; prototypes are never mutated once
//! shared.
//!
//! Upvalue handles: `GETUPVAL` looked its closure up in the arena and then
//! its upvalue; a frame now records the address of the closure's boxed
//! upvalue handles (`upvals_addr`), one lookup fewer per access (oop -5%
//! instructions, fib -2.6%). Sound for the same reason, and because a
//! closure's box of handles is never replaced while it lives (anything
//! that rebinds an upvalue, such as `debug.upvaluejoin`, must write the
//! handle in place).
//!
//! Live handles: an arena lookup (`SlotMap` indexing) checks the slot's
//! bounds and version, seven instructions and three branches. The
//! interpreter's hot paths (`GETFIELD` and the other table accesses,
//! `GETUPVAL`/`SETUPVAL`, the callee of `CALL`, the native a frame starts)
//! only dereference handles read from a register or a frame's function
//! slot, from a running closure's upvalue handles, or from an upvalue's
//! value, and those name live objects: the collector marks every stack
//! slot below `top` and clears the slots above it, a closure marks its
//! upvalue cells, a closed cell its value and an open cell its thread
//! (the heap invariant in `heap.rs`). An open cell's slot also stays
//! within its thread's stack: a stack shrinks only down to its frames'
//! extents (`Thread::shrink`), and an open cell is a local of a frame.
//! So they skip the check (`live`, `live_mut`; debug builds still assert
//! it): fib -8.6% instructions, closures -7.6%, oop -5.8%, generators
//! -4.4%.

use std::sync::Arc;

use slotmap::Key;

use crate::arena::Arena;

use crate::func::{LuaClosure, Proto};
use crate::value::UpvalRef;

/// The object `key` names in `arena`, without the bounds and version
/// checks of indexing.
///
/// # Safety
/// `key` must name a live object of `arena`: a handle read from a stack
/// slot below `top`, from a running closure's upvalue handles, or from a
/// live object's fields (see the module docs).
#[inline(always)]
pub(crate) unsafe fn live<K: Key, V>(arena: &Arena<K, V>, key: K) -> &V {
    debug_assert!(arena.contains_key(key), "a dead handle in a live place");
    // SAFETY: the caller guarantees that the slot is occupied by `key`.
    unsafe { arena.get_unchecked(key) }
}

/// `live` for writing.
///
/// # Safety
/// As for `live`.
#[inline(always)]
pub(crate) unsafe fn live_mut<K: Key, V>(arena: &mut Arena<K, V>, key: K) -> &mut V {
    debug_assert!(arena.contains_key(key), "a dead handle in a live place");
    // SAFETY: the caller guarantees that the slot is occupied by `key`.
    unsafe { arena.get_unchecked_mut(key) }
}

/// The address of a prototype, kept in its frames' `CallInfo` so that
/// entering a frame needs no arena lookup (see `proto_at`).
#[inline(always)]
pub(crate) fn proto_addr(proto: &Arc<Proto>) -> usize {
    Arc::as_ptr(proto).expose_provenance()
}

/// The prototype at an address taken by `proto_addr`.
///
/// # Safety
/// `addr` must come from `proto_addr`, and an `Arc` owning that prototype
/// must outlive every use of the reference: in the interpreter, the closure
/// running in the frame that recorded the address.
#[inline(always)]
pub(crate) unsafe fn proto_at<'a>(addr: usize) -> &'a Proto {
    // SAFETY: `addr` came from `proto_addr` on a live `Arc<Proto>` (its
    // provenance exposed there), and the caller guarantees the allocation
    // outlives the reference; prototypes are immutable once shared.
    unsafe { &*std::ptr::with_exposed_provenance::<Proto>(addr) }
}

/// The address of a closure's upvalue handles, kept in its frames'
/// `CallInfo` so that `GETUPVAL` needs no arena lookup (see `upval_at`).
/// The handles live in the closure's boxed slice, which stays put when the
/// closure arena grows, and a running closure is rooted by its frame.
#[inline(always)]
pub(crate) fn upvals_addr(cl: &LuaClosure) -> usize {
    cl.upvals.as_ptr().expose_provenance()
}

/// Upvalue handle `idx` of the closure whose handles are at `addr`.
///
/// # Safety
/// `addr` must come from `upvals_addr` on a closure that is still alive
/// (the one running in the frame that recorded it), and `idx` must be below
/// its number of upvalues (`Proto::upvalues.len()`, which the verifier
/// checked every upvalue operand against).
#[inline(always)]
pub(crate) unsafe fn upval_at(addr: usize, idx: u8) -> UpvalRef {
    // SAFETY: as the caller guarantees, `addr` points to a live slice of
    // more than `idx` handles (its provenance exposed by `upvals_addr`).
    unsafe { *std::ptr::with_exposed_provenance::<UpvalRef>(addr).add(idx as usize) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prototype_addresses_round_trip() {
        let owner = Arc::new(Proto::from(crate::func::ProtoDraft {
            num_params: 3,
            ..Default::default()
        }));
        // SAFETY: `owner` lives until the end of the test, past every use.
        let p = unsafe { proto_at(proto_addr(&owner)) };
        assert_eq!(p.num_params, 3);
        assert!(std::ptr::eq(p, Arc::as_ptr(&owner)));
    }
}
