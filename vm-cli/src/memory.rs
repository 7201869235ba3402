//! The heap limit `vm` sets when `--memory-limit` is not given.
//!
//! Most of the VM's allocations are checked (a limit raises "not enough
//! memory", and without one large buffers are reserved fallibly), but not
//! all can be: a small object, a collector's work list or a slot map
//! growing when the address space is exhausted aborts the process, and
//! past physical memory the kernel's out-of-memory killer ends it. So, as
//! a JVM sizes its default maximum heap from the machine, `vm` limits the
//! heap to half the smaller of the address-space limit (`ulimit -v`) and
//! physical memory, where the system reports them (Linux's `/proc`): a
//! program that runs out gets PUC Lua's "not enough memory", a Lua error
//! it can catch. Half, because the heap's accounting is approximate: the
//! process maps up to about 1.4 times what it counts (coroutines, by
//! their stacks and the allocator's overhead). `--memory-limit none`
//! removes it.

/// The default limit in bytes, if the system reports what bounds it.
pub(crate) fn default_limit() -> Option<u64> {
    let bound = [address_space_limit(), physical_memory()]
        .into_iter()
        .flatten()
        .min()?;
    Some(bound / 2)
}

/// The soft address-space limit (`ulimit -v`), if there is one.
fn address_space_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max address space"))?;
    // "<soft> <hard> bytes", or "unlimited", which does not parse.
    line.split_whitespace().next()?.parse().ok()
}

/// The machine's physical memory.
fn physical_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find_map(|l| l.strip_prefix("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().next()?.parse().ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(target_os = "linux")]
    fn the_default_is_under_physical_memory() {
        let physical = super::physical_memory().expect("Linux reports MemTotal");
        let limit = super::default_limit().expect("a default on Linux");
        assert!(limit > 0 && limit <= physical / 2, "{limit} of {physical}");
    }
}
