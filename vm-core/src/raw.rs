//! The crate's only `unsafe` code, each use justified by a benchmark.
//!
//! `detach_proto`: the interpreter reads the running function's code on
//! every instruction. Holding it through `Arc::clone` costs two atomic
//! operations per call and per return; in `bench/closures.lua`, where calls
//! alternate between many functions, that was half of the run time
//! (BENCHMARKS.md). The running closure is always rooted (it sits in its
//! frame's function slot), and it owns its `Arc<Proto>`, so the prototype
//! outlives the frame without any count being taken.

use std::sync::Arc;

use crate::func::Proto;

/// Borrows the prototype behind `proto` for a caller-chosen lifetime,
/// without touching its reference count.
///
/// # Safety
/// For as long as the returned reference is used, some `Arc` keeping the
/// prototype alive must exist and must not be dropped: in the interpreter,
/// the closure running in the current frame (which the collector marks
/// through the frame's function slot, and which owns its `Arc<Proto>`).
#[inline(always)]
pub(crate) unsafe fn detach_proto<'a>(proto: &Arc<Proto>) -> &'a Proto {
    // SAFETY: `Arc::as_ptr` points at the live allocation; the caller
    // guarantees an owning `Arc` outlives every use of the reference, and
    // `Proto` is immutable once shared, so no `&mut` to it can exist.
    unsafe { &*Arc::as_ptr(proto) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detached_prototype_reads_the_shared_one() {
        let owner = Arc::new(Proto {
            num_params: 3,
            ..Proto::default()
        });
        // SAFETY: `owner` lives until the end of the test, past every use.
        let p = unsafe { detach_proto(&owner) };
        assert_eq!(p.num_params, 3);
        assert!(std::ptr::eq(p, Arc::as_ptr(&owner)));
    }
}
