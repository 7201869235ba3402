//! Making a VM (`lua_newstate` in `lstate.c`): the heap, the main thread,
//! the registry and the globals, the interned metamethod names, and
//! vm-core's own natives registered by identity (`CORE_NATIVES`).
//!
//! The `Vm` this fills in is declared in `state.rs`; making one is
//! behaviour, since vm-core's natives are defined in the modules that push
//! them (`finalize`, `hook`, `msgh`, `closethread`), which the state does
//! not import (ARCHITECTURE.md, "Layering").

use crate::heap::{HashKeys, Heap};
use crate::native::{NativeList, NativeRegistry};
use crate::state::{GcParams, ThreadStatus, TypeMetatables, Vm};
use crate::table::Table;
use crate::value::Value;

/// vm-core's own natives and continuations (runners pushed on stacks by
/// the interpreter), registered in every VM. The native standing for a
/// Rust closure (`convert.rs`) is not among them: a Rust closure cannot
/// be persisted, whatever its native says.
pub(crate) static CORE_NATIVES: NativeList = NativeList {
    natives: &[
        &crate::finalize::RUNNER,
        &crate::hook::RUNNER,
        &crate::msgh::TRAMPOLINE,
        &crate::closethread::MAIN_CLOSER,
        &crate::closethread::CLOSER,
    ],
    continuations: &[
        &crate::finalize::RUNNER_K,
        &crate::hook::RUNNER_K,
        &crate::msgh::TRAMPOLINE_K,
        &crate::closethread::MAIN_CLOSER_K,
        &crate::closethread::CLOSER_K,
    ],
};

impl Vm {
    /// Creates a VM with an empty globals table and no libraries.
    pub fn new() -> Box<Vm> {
        Vm::with_heap(Heap::default())
    }

    /// A VM whose string hash is keyed by `seed` instead of a random
    /// secret: for runs that must be replayed exactly, down to the intern
    /// table's layout. Programs cannot tell the difference (tables order
    /// their keys by insertion); a fixed seed only gives up the
    /// protection against strings chosen to collide.
    pub fn with_hash_seed(seed: u64) -> Box<Vm> {
        Vm::with_heap(Heap::with_keys(std::sync::Arc::new(HashKeys::from_seed(
            seed,
        ))))
    }

    fn with_heap(mut heap: Heap) -> Box<Vm> {
        // The tables a VM with the standard library opened lazily makes
        // at once: the registry, the globals, `package.loaded`, the lazy
        // sentinel, the string metatable, and a first library.
        heap.tables.reserve_exact(6);
        let main = heap
            .threads
            .insert(heap.base, crate::state::ThreadSlot::default());
        // Sized for what nearly every VM stores at once: the registry's
        // main thread, globals and `_LOADED`; one global (an agent's
        // `agent`: the standard library's are made on first use).
        let registry = heap.new_table(Table::with_capacity(2, 1));
        let globals = heap.new_table(Table::with_capacity(0, 1));
        let mut vm = Vm {
            heap,
            th: Box::default(),
            cur: main,
            main,
            registry,
            globals,
            type_mt: TypeMetatables::default(),
            n_ccalls: 0,
            roots: None,
            rare: None,
            scratch: thin_vec::ThinVec::new(),
            scratch_depth: 0,
            fin: crate::state::OnDemand::default(),
            gc: GcParams::default(),
            warn_handler: None,
            warn_stderr: crate::state::WarnStderr::None,
            fuel: i64::MAX,
            fuel_reserve: 0,
            stack_bytes: 0,
            starting_handler: false,
            fin_due: false,
            hooks_seen: false,
            slice_fuel: i64::MAX,
            last_fuel_used: 0,
            suspend: None,
            anchor: main,
            anchor_stop: 0,
            exec_floor: 0,
            main_call: None,
            parked: crate::state::Parked::new(main),
            suspendable: false,
            natives: NativeRegistry::new(&CORE_NATIVES),
            lazy: None,
            extra: None,
            unmovable: [],
        };
        vm.th.status = ThreadStatus::Running;
        // registry[1] = main thread, registry[2] = globals, as in PUC Lua.
        let reg = &mut vm.heap.tables[registry];
        reg.set_int(1, Value::Thread(main));
        reg.set_int(2, Value::Table(globals));
        Box::new(vm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_cores_own_natives_are_registered_under_unique_core_identities() {
        let vm = Vm::new();
        let mut ids: Vec<&str> = CORE_NATIVES.natives.iter().map(|f| f.id).collect();
        ids.extend(CORE_NATIVES.continuations.iter().map(|k| k.id));
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n, "an identity is used twice");
        for &f in CORE_NATIVES.natives {
            assert!(f.id.starts_with("core."), "{}", f.id);
            assert!(std::ptr::eq(vm.find_native(f.id).unwrap(), f), "{}", f.id);
        }
        for &k in CORE_NATIVES.continuations {
            assert!(k.id.starts_with("core."), "{}", k.id);
            assert!(
                std::ptr::eq(vm.find_continuation(k.id).unwrap(), k),
                "{}",
                k.id
            );
        }
        // The stand-in for Rust closures (`convert.rs`, identity "?") is
        // not registered: they cannot be persisted.
        assert!(vm.find_native("?").is_none());
    }
}
