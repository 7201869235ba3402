//! Probes of the process allocator, for the containers that have no
//! fallible reservation: a declaration-layer helper (see `state.rs`) that
//! the heap, tables, the compiler and the memory limit share.

/// Whether the allocator grants `bytes` now: a probe for what has no
/// fallible reservation (`ThinVec`, `Arc<str>`), made just before the
/// allocation it stands for, so that without a memory limit a request too
/// large for the machine is "not enough memory" rather than an abort
/// (unless another thread takes the room in between).
///
/// Requests under 64 KiB are granted without asking: the probe would cost
/// an allocation at every growth of a small table, and a process refused
/// that little is past saving anyway (the `vm` command's default limit is
/// the net under those).
pub fn can_allocate(bytes: usize) -> bool {
    bytes < PROBE_FROM || Vec::<u8>::new().try_reserve_exact(bytes).is_ok()
}

/// The smallest request [`can_allocate`] probes.
const PROBE_FROM: usize = 64 << 10;
