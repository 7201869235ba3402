//! The trait-level test suite's pieces: scripted tasks that log what they
//! do, and the schedulers under test.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use vm_sched::{
    Block, Job, ManualClock, Message, Poll, RoundRobin, Scheduler, Slice, Task, TickScheduler,
    WorkStealing,
};

/// `VM_TEST_SCALE` (default 1): `cargo test` runs small, `cargo xtask
/// fuzz` large.
pub(crate) fn scale() -> u32 {
    std::env::var("VM_TEST_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

/// Makes a scheduler under test.
pub(crate) type Make = fn() -> Box<dyn Scheduler>;

/// Each scheduler under test, by name, made with a manual clock (sleeps
/// pass at once, in order).
pub(crate) fn schedulers() -> Vec<(&'static str, Make)> {
    vec![
        ("round-robin", || {
            Box::new(RoundRobin::new().with_clock(ManualClock::new()))
        }),
        ("tick", || {
            Box::new(TickScheduler::new().with_clock(ManualClock::new()))
        }),
        ("work-stealing", || {
            Box::new(WorkStealing::new(2).with_clock(ManualClock::new()))
        }),
    ]
}

/// One step of a scripted task.
#[derive(Clone, Debug)]
pub(crate) enum Step {
    /// Uses this many units (over as many slices as it takes).
    Work(u64),
    /// Waits for a message.
    Receive,
    /// Sleeps this many milliseconds.
    Sleep(u64),
    /// Offloads a job that doubles this value.
    Offload(u64),
}

/// What the scripted tasks did, shared by all of them.
#[derive(Debug, Default)]
pub(crate) struct Log {
    /// (task, units) per slice, in order.
    pub(crate) slices: Vec<(usize, u64)>,
    /// Tasks that finished, in order.
    pub(crate) finished: Vec<usize>,
    /// Per task: the messages it took, in order.
    pub(crate) received: Vec<Vec<u64>>,
    /// Per task: the job outputs it took, in order.
    pub(crate) jobs: Vec<Vec<u64>>,
}

/// A task following a script and logging it.
pub(crate) struct Script {
    pub(crate) id: usize,
    steps: Vec<Step>,
    pc: usize,
    /// Units left in the current `Work` step.
    left: Option<u64>,
    mailbox: std::collections::VecDeque<u64>,
    /// Waiting for the end of a sleep or a job (resumed past it).
    waiting: bool,
    log: Arc<Mutex<Log>>,
}

impl Script {
    pub(crate) fn new(id: usize, steps: Vec<Step>, log: &Arc<Mutex<Log>>) -> Script {
        {
            let mut l = log.lock().unwrap();
            while l.received.len() <= id {
                l.received.push(Vec::new());
                l.jobs.push(Vec::new());
            }
        }
        Script {
            id,
            steps,
            pc: 0,
            left: None,
            mailbox: Default::default(),
            waiting: false,
            log: Arc::clone(log),
        }
    }
}

impl Task for Script {
    fn run(&mut self, budget: u64) -> Slice {
        let mut used = 0;
        let poll = loop {
            let Some(step) = self.steps.get(self.pc).cloned() else {
                self.log.lock().unwrap().finished.push(self.id);
                break Poll::Finished;
            };
            match step {
                Step::Work(n) => {
                    let left = self.left.unwrap_or(n);
                    let take = left.min(budget - used);
                    used += take;
                    if take == left {
                        self.left = None;
                        self.pc += 1;
                    } else {
                        self.left = Some(left - take);
                    }
                    if used == budget {
                        break Poll::Ready;
                    }
                }
                Step::Receive => match self.mailbox.pop_front() {
                    Some(m) => {
                        self.log.lock().unwrap().received[self.id].push(m);
                        self.pc += 1;
                    }
                    None => break Poll::Blocked(Block::Receive(None)),
                },
                Step::Sleep(ms) => {
                    if self.waiting {
                        self.waiting = false;
                        self.pc += 1;
                    } else {
                        self.waiting = true;
                        break Poll::Blocked(Block::Sleep(Duration::from_millis(ms)));
                    }
                }
                Step::Offload(v) => {
                    if self.waiting {
                        // Run before its job is done (a scheduler must
                        // not): a slice that does nothing.
                        break Poll::Ready;
                    }
                    self.waiting = true;
                    let job = Job::new(move || Box::new(v * 2) as Message);
                    break Poll::Blocked(Block::Offload(job));
                }
            }
        };
        self.log.lock().unwrap().slices.push((self.id, used));
        Slice { used, poll }
    }

    fn receive(&mut self, msg: Message) {
        let m = *msg.downcast::<u64>().expect("a u64 message");
        self.mailbox.push_back(m);
    }

    fn job_done(&mut self, output: Message) {
        let v = *output.downcast::<u64>().expect("a u64 output");
        self.log.lock().unwrap().jobs[self.id].push(v);
        self.waiting = false;
        self.pc += 1;
    }
}
