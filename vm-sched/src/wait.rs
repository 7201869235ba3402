//! What a blocked task of a single-threaded scheduler (round-robin,
//! tick) waits for, and the counts such a scheduler keeps of its waits:
//! every change of a task's wait goes through [`Waits`], so the counts
//! cannot drift from the tasks.

/// What a task waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    None,
    Receive,
    Sleep,
    Job,
}

/// The live tasks that wait, and those that wait for a job (a job in
/// flight whose task was killed meanwhile wakes nobody).
#[derive(Debug, Default)]
pub(crate) struct Waits {
    pub(crate) blocked: usize,
    pub(crate) on_jobs: usize,
}

impl Waits {
    /// A task that waited for nothing now waits for `to`.
    pub(crate) fn start(&mut self, wait: &mut Wait, to: Wait) {
        debug_assert!(*wait == Wait::None && to != Wait::None);
        *wait = to;
        self.blocked += 1;
        if to == Wait::Job {
            self.on_jobs += 1;
        }
    }

    /// The task's wait ends (it is woken, dies or leaves); false when it
    /// was not waiting.
    pub(crate) fn stop(&mut self, wait: &mut Wait) -> bool {
        match std::mem::replace(wait, Wait::None) {
            Wait::None => false,
            was => {
                self.blocked -= 1;
                if was == Wait::Job {
                    self.on_jobs -= 1;
                }
                true
            }
        }
    }
}
