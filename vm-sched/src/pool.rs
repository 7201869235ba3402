//! The blocking pool: OS threads that run offloaded jobs
//! ([`Block::Offload`](crate::Block::Offload)) away from the threads that
//! run tasks, and send each job's output back to its scheduler.
//!
//! Threads start on demand, up to a cap, and park when idle (reused by
//! the next job before a new one starts); at the cap, jobs queue.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use crate::task::{Job, Message};

/// A pool of threads for blocking jobs. Clones share the pool.
#[derive(Clone)]
pub struct BlockingPool {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    work: Condvar,
    cap: usize,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Box<dyn FnOnce() + Send>>,
    threads: usize,
    idle: usize,
    /// Set when the last handle goes: idle threads exit.
    closed: bool,
}

impl Default for BlockingPool {
    fn default() -> Self {
        BlockingPool::new(DEFAULT_CAP)
    }
}

/// Threads a pool starts at most by default.
pub const DEFAULT_CAP: usize = 64;

impl BlockingPool {
    /// A pool of at most `cap` threads (at least one).
    pub fn new(cap: usize) -> BlockingPool {
        BlockingPool {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                work: Condvar::new(),
                cap: cap.max(1),
            }),
        }
    }

    /// Runs `job` on a pool thread and hands its output to `reply` there
    /// (which takes it to the job's scheduler, if that is still there).
    pub(crate) fn spawn(&self, job: Job, reply: impl FnOnce(Message) + Send + 'static) {
        let work: Box<dyn FnOnce() + Send> = Box::new(move || reply(job.run()));
        let mut st = self.lock();
        st.queue.push_back(work);
        if st.idle > 0 {
            self.shared.work.notify_one();
        } else if st.threads < self.shared.cap {
            st.threads += 1;
            let shared = Arc::clone(&self.shared);
            drop(st);
            std::thread::Builder::new()
                .name("vm-sched-blocking".into())
                .spawn(move || worker(&shared))
                .expect("a blocking-pool thread starts");
        }
    }

    /// Threads started so far and still alive.
    pub fn threads(&self) -> usize {
        self.lock().threads
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for BlockingPool {
    fn drop(&mut self) {
        // The last handle besides the workers' own: let idle ones exit.
        if Arc::strong_count(&self.shared) == 1 + self.lock().threads {
            self.lock().closed = true;
            self.shared.work.notify_all();
        }
    }
}

fn worker(shared: &Shared) {
    let mut st = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        if let Some(work) = st.queue.pop_front() {
            drop(st);
            work();
            st = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
            continue;
        }
        if st.closed {
            st.threads -= 1;
            return;
        }
        st.idle += 1;
        st = shared.work.wait(st).unwrap_or_else(PoisonError::into_inner);
        st.idle -= 1;
    }
}
