//! Driving a parked coroutine costs no allocation when the outcome carries
//! no values, however many other chains are parked: the driver's
//! bookkeeping is a map, not a list it scans or grows.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use vm_core::{Function, Outcome, Vm};

/// Counts the allocations of the current thread (tests run in parallel).
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the counter is a const
// thread-local, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn resuming_parked_chains_does_not_allocate() {
    let mut vm = Vm::new();
    let body: Function = vm
        .eval(
            b"return function()
                local i = 0
                while true do i = i + 1 if i % 7 == 0 then coroutine_yield() end end
              end",
            "=spin",
        )
        .unwrap();
    let yield_ = vm.create_raw_function("coroutine_yield", |vm, _args| Ok(vm.yieldk(0, None, 0)));
    vm.set_global("coroutine_yield", yield_).unwrap();
    let threads: Vec<_> = (0..2000)
        .map(|_| vm.create_thread(&body).unwrap())
        .collect();
    // Warm up: every thread parked or suspended, every table at size.
    for _ in 0..3 {
        for t in &threads {
            vm.resume(t.raw(), &[], 5).unwrap();
        }
    }
    let before = allocations();
    let (mut out_of_fuel, mut yields) = (0, 0);
    for _ in 0..5 {
        for t in &threads {
            match vm.resume(t.raw(), &[], 5).unwrap() {
                Outcome::OutOfFuel => out_of_fuel += 1,
                Outcome::Yield(values) => {
                    assert!(values.is_empty());
                    yields += 1;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    let made = allocations() - before;
    assert!(
        out_of_fuel > 1000 && yields > 1000,
        "{out_of_fuel} {yields}"
    );
    assert_eq!(made, 0, "allocations in 10,000 resumes");
}
