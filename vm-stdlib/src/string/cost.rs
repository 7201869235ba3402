//! What natives that produce or scan bytes pay (issue 12, point 2): the
//! cost model of `string`, `utf8`, `io`, `os` and `package`.
//!
//! A native pays its declared cost when it starts (one unit for these
//! libraries) and, on top of it, **one unit of fuel per [`BYTES_PER_UNIT`]
//! bytes it produces or scans** (`Vm::charge`), rounded down per charge so
//! that short calls cost just their declared unit. "Produced" is the
//! length of the strings it builds or writes; "scanned" the bytes it
//! reads or examines (the pattern matcher counts its steps, one per
//! pattern item tried at a subject position plus the bytes repetitions,
//! back-references and balances scan). Copying a finished result into a
//! Lua string is covered by the charge for producing it. A file probe of
//! `package.searchpath` costs one more unit.
//!
//! Natives whose work is known before they start charge first, so that
//! an instruction limit stops them before the work; the others charge as
//! they go. How that bounds a driven run:
//!
//! - Natives that may produce or scan without bound in one call
//!   (`string.rep`, `gsub`, the searches of `find`, `match` and `gmatch`,
//!   `io` reads) work in steps of about [`STEP_BYTES`] bytes (128 units),
//!   check the budget after each step, and when it is spent return
//!   `Vm::pausek` with their state in their frame: a driver's slice
//!   overshoots its budget by at most one step. A pattern search's step
//!   ends once its matcher work reaches `STEP_BYTES`, between two match
//!   attempts or inside one (an attempt can take time exponential in the
//!   pattern's length): the attempt then pauses at its next pause point
//!   and its state goes to the frame, to go on in the continuation
//!   (`pattern`, "Pausing an attempt"). Such a step may go past
//!   `STEP_BYTES` by what the matcher does between two pause points, work
//!   linear in the pattern's length plus one scan of the subject: strings
//!   the program already paid to build. Under an instruction limit the
//!   matcher also stops at the limit (`MatchState::set_work_cap`) and
//!   raises its error.
//! - The others charge their whole work in one go (`Vm::charge` lowers
//!   the fuel; the next budget check stops the run): the slice in which
//!   such a call ends may overshoot by that call's charge. Their work is
//!   bounded by their input (a string or file the program already paid
//!   to build or open) or by small formats, so the overshoot is that of
//!   work already in the program's hands.

use vm_core::{LuaResult, Vm};

/// Bytes produced or scanned per unit of fuel.
pub(crate) const BYTES_PER_UNIT: usize = 32;

/// Bytes a stepped native handles between two budget checks (a step of
/// `gsub` may go past it by one match and its replacement).
pub(crate) const STEP_BYTES: usize = 4096;

/// Charges the work of `bytes` bytes produced or scanned.
///
/// # Errors
/// "instruction limit exceeded" past the VM's instruction limit.
#[inline]
pub(crate) fn charge_bytes(vm: &mut Vm, bytes: usize) -> LuaResult<()> {
    if bytes < BYTES_PER_UNIT {
        return Ok(());
    }
    vm.charge((bytes / BYTES_PER_UNIT) as u64)
}

/// [`charge_bytes`] for a count of matcher steps or other `u64` work.
#[inline]
pub(crate) fn charge_work(vm: &mut Vm, work: u64) -> LuaResult<()> {
    charge_bytes(vm, usize::try_from(work).unwrap_or(usize::MAX))
}
