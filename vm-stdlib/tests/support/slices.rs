//! Driving a chunk in slices of an instruction budget, as a scheduler
//! would (`support::slices`): the preemption, limits and cost tests share
//! it.

use vm_core::{Outcome, Vm};

/// How a chunk ended when it was not finished after the slices allowed.
pub(crate) const STILL_RUNNING: &str = "still running";

/// A run in slices.
#[derive(Debug)]
pub(crate) struct Sliced {
    /// Slices run (the `start` and every `resume`).
    pub(crate) slices: usize,
    /// The most fuel one slice used.
    pub(crate) most: u64,
    /// The chunk's first result rendered (empty without one), or
    /// [`STILL_RUNNING`], or the error.
    pub(crate) end: Result<String, String>,
}

impl Sliced {
    /// `(slices, most, end)`, as most tests take a run apart.
    pub(crate) fn parts(self) -> (usize, u64, Result<String, String>) {
        (self.slices, self.most, self.end)
    }
}

/// Loads `src` on `vm` and runs it with a budget of `slice` units per
/// driver call, at most `cap` calls, with a full collection between two
/// when `collect`.
pub(crate) fn run(vm: &mut Vm, src: &str, slice: u64, cap: usize, collect: bool) -> Sliced {
    let f = vm.load(src.as_bytes(), "=sliced").unwrap();
    let main = vm.main_thread();
    let mut out = vm.start(f, &[], slice);
    let (mut slices, mut most) = (1, vm.fuel_used());
    let end = loop {
        match out {
            Ok(Outcome::OutOfFuel) if slices < cap => {
                if collect {
                    vm.full_gc();
                }
                out = vm.resume(main, &[], slice);
                slices += 1;
                most = most.max(vm.fuel_used());
            }
            Ok(Outcome::OutOfFuel) => break Err(STILL_RUNNING.to_string()),
            Ok(Outcome::Return(v)) => {
                break Ok(v.first().map_or(String::new(), |&v| vm.to_display(v)))
            }
            Ok(other) => break Err(format!("unexpected {other:?}")),
            Err(e) => break Err(vm.error_to_string(&e)),
        }
    };
    Sliced { slices, most, end }
}

/// [`run`] on a new VM with every library (`support::vm`), without
/// collections between slices, at most `cap` slices of `slice` units: the
/// slices run, the most fuel one used, and how the run ended.
pub(crate) fn sliced(src: &str, slice: u64, cap: usize) -> (usize, u64, Result<String, String>) {
    run(&mut super::vm(), src, slice, cap, false).parts()
}
