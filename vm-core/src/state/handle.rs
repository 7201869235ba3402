//! The declarations of owned handles' VM side (`handle.rs` has the handle
//! types): the cell every handle shares, and the list of cells a VM gave
//! out (`Vm::handles`), which the collector marks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use crate::value::Value;

/// What the clones of one handle share: the value and its VM.
#[derive(Debug)]
pub(crate) struct Cell {
    /// The VM the value belongs to.
    pub(crate) vm: VmId,
    /// The object (marked while the cell lives).
    pub(crate) value: Value,
}

/// Identity of a VM for its handles, unique in the process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct VmId(u64);

/// The cells of the handles a VM gave out (declared in `Vm` as
/// `handles`).
pub(crate) struct Handles {
    /// The VM's identity, which its cells carry.
    pub(crate) id: VmId,
    /// A `ThinVec`: one word in every VM, most of which give out none.
    cells: thin_vec::ThinVec<Weak<Cell>>,
    /// `cells.len()` after dead cells were last dropped: the list is
    /// pruned when it doubles, so it stays within twice the live handles
    /// plus what one collection cycle makes.
    pruned_len: usize,
}

impl Default for Handles {
    /// The cells of a VM that gave out none yet, with a new identity.
    fn default() -> Handles {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Handles {
            id: VmId(NEXT.fetch_add(1, Ordering::Relaxed)),
            cells: thin_vec::ThinVec::new(),
            pruned_len: 0,
        }
    }
}

impl Handles {
    /// A new cell holding `value`, listed.
    pub(crate) fn hold(&mut self, value: Value) -> Arc<Cell> {
        if self.cells.len() >= self.pruned_len.saturating_mul(2).max(64) {
            self.cells.retain(|w| w.strong_count() > 0);
            self.pruned_len = self.cells.len();
        }
        let cell = Arc::new(Cell { vm: self.id, value });
        self.cells.push(Arc::downgrade(&cell));
        cell
    }

    /// Calls `mark` with the value of every live handle and forgets the
    /// dead ones (for the collector's roots).
    pub(crate) fn mark(&mut self, mut mark: impl FnMut(Value)) {
        self.cells.retain(|w| match w.upgrade() {
            Some(cell) => {
                mark(cell.value);
                true
            }
            None => false,
        });
        self.pruned_len = self.cells.len();
    }
}
