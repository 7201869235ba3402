//! The work-stealing scheduler under load: many tasks with random work,
//! messages, sleeps and offloaded jobs lose nothing and never deadlock;
//! removal hands a task over intact; kills; statuses and counters.
//!
//! Task counts scale with `VM_TEST_SCALE` (default 1); the random scripts
//! come from `VM_TEST_SEED` (printed, default fixed). Only orderings and
//! counters are checked, never wall-clock time.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use vm_sched::{
    Block, Clock, End, Job, ManualClock, Message, Poll, RoundRobin, Scheduler, Slice, Task, TaskId,
    TaskStatus, Weighted, WorkStealing,
};

/// `base` times `VM_TEST_SCALE` (default 1).
fn scaled(base: usize) -> usize {
    let scale = std::env::var("VM_TEST_SCALE")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(1);
    base.saturating_mul(scale.max(1))
}

fn seed() -> u64 {
    let seed = std::env::var("VM_TEST_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0x5eed_cafe);
    eprintln!("VM_TEST_SEED={seed}");
    seed
}

/// xorshift64*: enough for scripts, no dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// In `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap()
}

// ---------------------------------------------------------------------
// Scripted tasks

#[derive(Clone, Debug)]
enum Op {
    /// Units of work (may take several slices).
    Work(u64),
    /// Sends the next message to the task's successor.
    Send,
    /// Takes the next message from the predecessor, blocking if none.
    Receive,
    Sleep(Duration),
    /// Offloads a job whose output is `2 * value`.
    Offload(u64),
}

/// What the tasks share with the test.
#[derive(Default)]
struct World {
    /// (to, from, seq), in send order.
    outbox: Mutex<Vec<(usize, usize, u64)>>,
    /// Task indices, in the order they finished.
    finished: Mutex<Vec<usize>>,
    /// Per finished task: (its own count of `run` calls, messages
    /// received, jobs whose output matched).
    reports: Mutex<HashMap<usize, (u64, u64, u64)>>,
    errors: Mutex<Vec<String>>,
}

struct Scripted {
    idx: usize,
    n: usize,
    ops: Vec<Op>,
    pc: usize,
    /// Units done of the current `Work`.
    done: u64,
    inbox: VecDeque<(usize, u64)>,
    sent: u64,
    received: u64,
    awaiting: Option<u64>,
    jobs_ok: u64,
    runs: u64,
    world: Arc<World>,
}

impl Scripted {
    fn new(idx: usize, n: usize, ops: Vec<Op>, world: Arc<World>) -> Scripted {
        Scripted {
            idx,
            n,
            ops,
            pc: 0,
            done: 0,
            inbox: VecDeque::new(),
            sent: 0,
            received: 0,
            awaiting: None,
            jobs_ok: 0,
            runs: 0,
            world,
        }
    }

    fn error(&self, e: String) {
        lock(&self.world.errors).push(format!("task {}: {e}", self.idx));
    }
}

impl Task for Scripted {
    fn run(&mut self, budget: u64) -> Slice {
        self.runs += 1;
        if self.awaiting.is_some() {
            self.error("ran before its job's output came".into());
        }
        let mut used = 0;
        loop {
            let Some(op) = self.ops.get(self.pc).cloned() else {
                lock(&self.world.finished).push(self.idx);
                lock(&self.world.reports)
                    .insert(self.idx, (self.runs, self.received, self.jobs_ok));
                return Slice {
                    used,
                    poll: Poll::Finished,
                };
            };
            match op {
                Op::Work(n) => {
                    if used == budget {
                        return Slice::ready(used);
                    }
                    let step = (n - self.done).min(budget - used);
                    used += step;
                    self.done += step;
                    if self.done == n {
                        self.done = 0;
                        self.pc += 1;
                    }
                }
                Op::Send => {
                    let to = (self.idx + 1) % self.n;
                    lock(&self.world.outbox).push((to, self.idx, self.sent));
                    self.sent += 1;
                    self.pc += 1;
                }
                Op::Receive => {
                    let Some((from, seq)) = self.inbox.pop_front() else {
                        return Slice {
                            used,
                            poll: Poll::Blocked(Block::Receive(None)),
                        };
                    };
                    let pred = (self.idx + self.n - 1) % self.n;
                    if from != pred || seq != self.received {
                        self.error(format!(
                            "got ({from}, {seq}), expected ({pred}, {})",
                            self.received
                        ));
                    }
                    self.received += 1;
                    self.pc += 1;
                }
                Op::Sleep(d) => {
                    self.pc += 1;
                    return Slice {
                        used,
                        poll: Poll::Blocked(Block::Sleep(d)),
                    };
                }
                Op::Offload(v) => {
                    self.pc += 1;
                    self.awaiting = Some(v);
                    let job = Job::new(move || Box::new(v * 2) as Message);
                    return Slice {
                        used,
                        poll: Poll::Blocked(Block::Offload(job)),
                    };
                }
            }
        }
    }

    fn receive(&mut self, msg: Message) {
        match msg.downcast::<(usize, u64)>() {
            Ok(m) => self.inbox.push_back(*m),
            Err(_) => self.error("a message of the wrong type".into()),
        }
    }

    fn job_done(&mut self, output: Message) {
        let expected = self.awaiting.take().map(|v| v * 2);
        match (output.downcast::<u64>(), expected) {
            (Ok(out), Some(e)) if *out == e => self.jobs_ok += 1,
            _ => self.error("a job output it did not expect".into()),
        }
    }

    fn name(&self) -> &str {
        "scripted"
    }
}

/// A random script: sends and receives paired so that the j-th send
/// comes before the j-th receive (then the ring of tasks cannot
/// deadlock), with work, sleeps and jobs between. Returns the script and
/// its count of offloads.
fn script(rng: &mut Rng, messages: u64) -> (Vec<Op>, u64) {
    let mut ops = Vec::new();
    let (mut sends, mut receives, mut offloads) = (0, 0, 0);
    let extra = rng.range(2, 8);
    let mut others = 0;
    while sends < messages || receives < messages || others < extra {
        match rng.range(0, 5) {
            0 if sends < messages => {
                ops.push(Op::Send);
                sends += 1;
            }
            1 if receives < sends => {
                ops.push(Op::Receive);
                receives += 1;
            }
            2 => {
                ops.push(Op::Sleep(Duration::from_micros(rng.range(1, 500))));
                others += 1;
            }
            3 => {
                ops.push(Op::Offload(rng.next() >> 2));
                offloads += 1;
                others += 1;
            }
            _ => {
                ops.push(Op::Work(rng.range(1, 300)));
                others += 1;
            }
        }
    }
    (ops, offloads)
}

/// Runs until every task is dead, delivering the tasks' messages between
/// executes; returns the sum of the executes' slices.
fn drive(ws: &mut WorkStealing, ids: &[TaskId], world: &World, rng: &mut Rng) -> u64 {
    let mut slices = 0;
    let mut rounds = 0u64;
    loop {
        let budget = rng.range(1, 4_000);
        let e = ws.execute(budget);
        assert!(e.used <= budget, "{e:?} over a budget of {budget}");
        slices += e.slices;
        let out = std::mem::take(&mut *lock(&world.outbox));
        for &(to, from, seq) in &out {
            ws.deliver(ids[to], Box::new((from, seq)))
                .unwrap_or_else(|_| panic!("task {to} is live for its message"));
        }
        if e.live == 0 {
            return slices;
        }
        if e.runnable == 0 && out.is_empty() {
            assert!(e.wakeable, "deadlock: {e:?}");
            ws.wait(None);
        }
        rounds += 1;
        assert!(rounds < 10_000_000, "no end in sight");
    }
}

fn many_tasks(workers: usize, n: usize, weighted: bool) {
    let mut rng = Rng::new(seed() ^ (workers as u64) << 32 ^ n as u64);
    let world = Arc::new(World::default());
    let mut ws = WorkStealing::new(workers).with_clock(ManualClock::new());
    let statuses: Arc<Mutex<HashMap<TaskId, Vec<TaskStatus>>>> = Arc::default();
    {
        let statuses = Arc::clone(&statuses);
        ws.on_status(Box::new(move |id, st| {
            lock(&statuses).entry(id).or_default().push(st.clone());
        }));
    }
    let mut ids = Vec::new();
    let mut expected = Vec::new();
    for idx in 0..n {
        // Every task sends as many messages as its successor receives.
        let (ops, offloads) = script(&mut rng, 3);
        let priority = u32::try_from(rng.range(0, 500)).unwrap();
        ids.push(ws.insert(
            Box::new(Scripted::new(idx, n, ops, Arc::clone(&world))),
            priority,
        ));
        expected.push(offloads);
    }
    assert_eq!(ws.live(), n);
    if weighted {
        ws.set_policy(Box::new(Weighted::new()));
    }
    let slices = drive(&mut ws, &ids, &world, &mut rng);

    let errors = lock(&world.errors);
    assert!(errors.is_empty(), "{:?}", &errors[..errors.len().min(10)]);
    // Every task finished exactly once.
    let mut finished = lock(&world.finished).clone();
    finished.sort_unstable();
    assert_eq!(finished, (0..n).collect::<Vec<_>>());
    let dead = ws.dead();
    assert_eq!(dead.len(), n);
    assert_eq!(dead.iter().collect::<HashSet<_>>().len(), n);
    assert_eq!(ws.live(), 0);

    let reports = lock(&world.reports);
    let mut task_slices = 0;
    for (idx, &id) in ids.iter().enumerate() {
        assert_eq!(ws.status(id), Some(TaskStatus::Dead(End::Finished)));
        assert_eq!(ws.name(id).as_deref(), Some("scripted"));
        let stats = ws.stats(id).unwrap();
        let (runs, received, jobs_ok) = reports[&idx];
        assert_eq!(stats.slices, runs, "task {idx}'s slices");
        assert_eq!(stats.messages, 3, "task {idx}'s messages");
        assert_eq!(received, 3, "task {idx}'s messages received");
        assert_eq!(jobs_ok, expected[idx], "task {idx}'s jobs");
        task_slices += stats.slices;
        // Statuses: virgin first, dead last, no repeats.
        let sts = &lock(&statuses)[&id];
        assert_eq!(
            sts.first(),
            Some(&TaskStatus::Virgin),
            "task {idx}: {sts:?}"
        );
        assert_eq!(sts.last(), Some(&TaskStatus::Dead(End::Finished)));
        assert!(sts.windows(2).all(|w| w[0] != w[1]), "task {idx}: {sts:?}");
        assert_eq!(
            sts.iter()
                .filter(|s| matches!(s, TaskStatus::Dead(_)))
                .count(),
            1
        );
    }
    // The counters agree: workers', tasks' and executes' slices.
    let workers_stats = ws.worker_stats();
    assert_eq!(workers_stats.len(), workers);
    let worker_slices: u64 = workers_stats.iter().map(|w| w.slices).sum();
    assert_eq!(worker_slices, task_slices);
    assert_eq!(slices, task_slices);
    // Every worker parked at the end of every execute that ran slices.
    assert!(
        workers_stats.iter().all(|w| w.parks > 0),
        "{workers_stats:?}"
    );
    eprintln!("{workers} workers, {n} tasks: {workers_stats:?}");

    for id in dead {
        assert_eq!(ws.release(id), Some(TaskStatus::Dead(End::Finished)));
        assert_eq!(ws.status(id), None);
    }
    assert!(ws.dead().is_empty());
}

#[test]
fn many_tasks_on_two_workers_lose_nothing() {
    many_tasks(2, scaled(1_000), false);
}

#[test]
fn many_tasks_under_the_weighted_policy() {
    many_tasks(2, scaled(300), true);
}

#[test]
fn many_tasks_on_one_and_on_four_workers() {
    many_tasks(1, scaled(200), false);
    many_tasks(4, scaled(500), false);
}

// ---------------------------------------------------------------------
// The budget

/// Works `n` units, never more than its budget.
struct Count {
    at: u64,
    n: u64,
}

impl Task for Count {
    fn run(&mut self, budget: u64) -> Slice {
        let steps = budget.min(self.n - self.at);
        self.at += steps;
        let poll = if self.at == self.n {
            Poll::Finished
        } else {
            Poll::Ready
        };
        Slice { used: steps, poll }
    }

    fn receive(&mut self, _msg: Message) {}
}

#[test]
fn an_execute_spends_its_budget_and_no_more() {
    let mut rng = Rng::new(seed());
    let mut ws = WorkStealing::new(2);
    let n = scaled(200);
    let mut total = 0;
    for _ in 0..n {
        let units = rng.range(1, 2_000);
        total += units;
        let slice = u32::try_from(rng.range(1, 300)).unwrap();
        ws.insert(Box::new(Count { at: 0, n: units }), slice);
    }
    let mut used = 0;
    let mut slices = 0;
    loop {
        let budget = rng.range(1, 5_000);
        let e = ws.execute(budget);
        assert!(e.used <= budget, "{e:?} over {budget}");
        if e.runnable > 0 {
            // Tasks were left: the budget was spent.
            assert_eq!(e.used, budget, "{e:?}");
        }
        used += e.used;
        slices += e.slices;
        if e.live == 0 {
            break;
        }
    }
    assert_eq!(used, total);
    let worker_slices: u64 = ws.worker_stats().iter().map(|w| w.slices).sum();
    assert_eq!(worker_slices, slices);
    assert_eq!(ws.execute(1_000), vm_sched::Execution::default());
}

#[test]
fn a_zero_budget_runs_nothing() {
    let mut ws = WorkStealing::new(2);
    let id = ws.insert(Box::new(Count { at: 0, n: 10 }), 0);
    let e = ws.execute(0);
    assert_eq!((e.used, e.slices, e.live, e.runnable), (0, 0, 1, 1));
    assert_eq!(ws.status(id), Some(TaskStatus::Virgin));
    ws.run(100);
    assert_eq!(ws.status(id), Some(TaskStatus::Dead(End::Finished)));
}

// ---------------------------------------------------------------------
// Waking a parked worker

/// Offloads a job that waits for `go`, then (woken by its output) sets
/// `ran`.
struct Waiter {
    go: Option<mpsc::Receiver<()>>,
    ran: Arc<AtomicBool>,
}

impl Task for Waiter {
    fn run(&mut self, _budget: u64) -> Slice {
        if let Some(go) = self.go.take() {
            let job = Job::new(move || {
                let _ = go.recv();
                Box::new(())
            });
            return Slice {
                used: 1,
                poll: Poll::Blocked(Block::Offload(job)),
            };
        }
        self.ran.store(true, Ordering::SeqCst);
        Slice {
            used: 1,
            poll: Poll::Finished,
        }
    }

    fn receive(&mut self, _msg: Message) {}
}

/// One long slice: lets the waiter's job finish, then waits (inside its
/// slice) until the waiter ran again, which only another worker can do.
struct Holder {
    go: mpsc::Sender<()>,
    ran: Arc<AtomicBool>,
    saw: Arc<AtomicBool>,
}

impl Task for Holder {
    fn run(&mut self, _budget: u64) -> Slice {
        let _ = self.go.send(());
        // A guard against a hang, not a timing check: the test fails if
        // the waiter did not run meanwhile.
        for _ in 0..20_000 {
            if self.ran.load(Ordering::SeqCst) {
                self.saw.store(true, Ordering::SeqCst);
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Slice {
            used: 1,
            poll: Poll::Finished,
        }
    }

    fn receive(&mut self, _msg: Message) {}
}

#[test]
fn a_finished_job_wakes_a_parked_worker() {
    for _ in 0..scaled(20) {
        let mut ws = WorkStealing::new(2);
        let (tx, rx) = mpsc::channel();
        let ran = Arc::new(AtomicBool::new(false));
        let saw = Arc::new(AtomicBool::new(false));
        ws.insert(
            Box::new(Waiter {
                go: Some(rx),
                ran: Arc::clone(&ran),
            }),
            0,
        );
        ws.insert(
            Box::new(Holder {
                go: tx,
                ran: Arc::clone(&ran),
                saw: Arc::clone(&saw),
            }),
            0,
        );
        ws.run(1_000);
        assert!(
            saw.load(Ordering::SeqCst),
            "the waiter waited for the holder"
        );
        assert_eq!(ws.live(), 0);
    }
}

// ---------------------------------------------------------------------
// Removal and kill

/// What a migrating task saw, shared with the test.
#[derive(Default)]
struct Log {
    messages: Vec<u32>,
    jobs: Vec<u32>,
    counted: u64,
    killed: bool,
}

/// Counts to `n` (slices of its budget), offloading a slow job once at
/// half way; logs its messages and job outputs.
struct Migrant {
    at: u64,
    n: u64,
    offloaded: bool,
    /// The job waits for this (a sender dropped: not at all).
    go: Option<mpsc::Receiver<()>>,
    log: Arc<Mutex<Log>>,
}

impl Task for Migrant {
    fn run(&mut self, budget: u64) -> Slice {
        let steps = budget.min(self.n - self.at);
        self.at += steps;
        lock(&self.log).counted = self.at;
        if self.at >= self.n / 2 && !self.offloaded {
            self.offloaded = true;
            let go = self.go.take();
            let job = Job::new(move || {
                if let Some(go) = go {
                    let _ = go.recv();
                }
                Box::new(7u32)
            });
            return Slice {
                used: steps,
                poll: Poll::Blocked(Block::Offload(job)),
            };
        }
        let poll = if self.at == self.n {
            Poll::Finished
        } else {
            Poll::Ready
        };
        Slice { used: steps, poll }
    }

    fn receive(&mut self, msg: Message) {
        lock(&self.log)
            .messages
            .push(*msg.downcast::<u32>().unwrap());
    }

    fn job_done(&mut self, output: Message) {
        lock(&self.log)
            .jobs
            .push(*output.downcast::<u32>().unwrap());
    }

    fn kill(&mut self) {
        lock(&self.log).killed = true;
    }
}

#[test]
fn a_removed_task_continues_intact_in_a_round_robin() {
    let mut ws = WorkStealing::new(2);
    // Company, so that the workers have something else to do.
    for _ in 0..10 {
        ws.insert(Box::new(Count { at: 0, n: 1_000 }), 10);
    }
    let log = Arc::new(Mutex::new(Log::default()));
    let (go, go_rx) = mpsc::channel();
    let m = ws.insert(
        Box::new(Migrant {
            at: 0,
            n: 100,
            offloaded: false,
            go: Some(go_rx),
            log: Arc::clone(&log),
        }),
        10,
    );
    ws.deliver(m, Box::new(1u32)).unwrap();
    // Until it offloads its job (at 50 units).
    while lock(&log).counted < 50 {
        ws.execute(50);
    }
    ws.deliver(m, Box::new(2u32)).unwrap();
    ws.deliver(m, Box::new(3u32)).unwrap();
    assert_eq!(ws.status(m), Some(TaskStatus::Blocking));
    // The job is (most likely) in flight when `remove` starts: it is
    // waited for and handed over.
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        go.send(()).unwrap();
    });
    let task = ws.remove(m).expect("a live task");
    releaser.join().unwrap();
    assert_eq!(ws.status(m), None);
    assert_eq!(ws.remove(m).map(|_| ()), None);
    assert!(ws.deliver(m, Box::new(4u32)).is_err());
    assert!(!ws.kill(m));
    {
        let log = lock(&log);
        assert_eq!(log.messages, [1, 2, 3]);
        assert_eq!(log.jobs, [7]);
        assert_eq!(log.counted, 50);
    }
    let mut rr = RoundRobin::new();
    let id = rr.insert(task, 10);
    rr.run(1_000);
    assert_eq!(rr.status(id), Some(TaskStatus::Dead(End::Finished)));
    assert_eq!(rr.stats(id).unwrap().slices, 5);
    assert_eq!(lock(&log).counted, 100);
    // The others still finish where they are.
    ws.run(1_000);
    assert_eq!(ws.live(), 0);
    assert_eq!(ws.dead().len(), 10);
}

/// Runs for ever; does not accept exceptions while `shielded` says so.
struct Spinner {
    shielded: Arc<AtomicBool>,
    killed: Arc<AtomicBool>,
    slices: Arc<AtomicU64>,
}

impl Task for Spinner {
    fn run(&mut self, budget: u64) -> Slice {
        self.slices.fetch_add(1, Ordering::SeqCst);
        Slice::ready(budget)
    }

    fn receive(&mut self, _msg: Message) {}

    fn accepts_exceptions(&self) -> bool {
        !self.shielded.load(Ordering::SeqCst)
    }

    fn kill(&mut self) {
        self.killed.store(true, Ordering::SeqCst);
    }
}

fn spinner(shielded: bool) -> (Spinner, Arc<AtomicBool>, Arc<AtomicBool>) {
    let shield = Arc::new(AtomicBool::new(shielded));
    let killed = Arc::new(AtomicBool::new(false));
    let task = Spinner {
        shielded: Arc::clone(&shield),
        killed: Arc::clone(&killed),
        slices: Arc::default(),
    };
    (task, shield, killed)
}

#[test]
fn kill_ends_runnable_blocked_and_shielded_tasks() {
    let mut ws = WorkStealing::new(2);
    let (a, _, a_killed) = spinner(false);
    let a = ws.insert(Box::new(a), 10);
    let log = Arc::new(Mutex::new(Log::default()));
    // Blocks at once (n / 2 == 0 units) on a job that waits for `go`.
    let (go, go_rx) = mpsc::channel();
    let b = ws.insert(
        Box::new(Migrant {
            at: 0,
            n: 1,
            offloaded: false,
            go: Some(go_rx),
            log: Arc::clone(&log),
        }),
        10,
    );
    let (c, c_shield, c_killed) = spinner(true);
    let c = ws.insert(Box::new(c), 10);
    // Until C ran (the injector is looked at every few slices).
    for _ in 0..1_000 {
        if ws.stats(c).unwrap().slices > 0 {
            break;
        }
        ws.execute(100);
    }
    assert_eq!(ws.status(c), Some(TaskStatus::RunningWithoutExceptions));

    assert!(ws.kill(a));
    assert!(a_killed.load(Ordering::SeqCst));
    assert_eq!(ws.status(a), Some(TaskStatus::Dead(End::Killed)));
    assert!(!ws.kill(a));
    assert!(ws.remove(a).is_none());
    assert!(ws.deliver(a, Box::new(0u32)).is_err());

    assert_eq!(ws.status(b), Some(TaskStatus::Blocking));
    assert!(ws.kill(b));
    assert_eq!(ws.status(b), Some(TaskStatus::Dead(End::Killed)));
    assert!(lock(&log).killed);

    // Shielded: the kill waits until it accepts exceptions again.
    assert!(ws.kill(c));
    assert_eq!(ws.status(c), Some(TaskStatus::RunningWithoutExceptions));
    ws.execute(100);
    assert!(!c_killed.load(Ordering::SeqCst));
    assert_eq!(ws.live(), 1);
    c_shield.store(false, Ordering::SeqCst);
    let e = ws.execute(100);
    assert!(c_killed.load(Ordering::SeqCst));
    assert_eq!(ws.status(c), Some(TaskStatus::Dead(End::Killed)));
    assert_eq!((e.live, e.runnable), (0, 0));
    assert_eq!(ws.dead(), [a, b, c]);

    assert_eq!(ws.release(a), Some(TaskStatus::Dead(End::Killed)));
    assert_eq!(ws.release(a), None);
    assert_eq!(ws.dead(), [b, c]);
    // B's job still finishes; its output is dropped and nothing wakes.
    go.send(()).unwrap();
    ws.wait(None);
    assert!(lock(&log).jobs.is_empty());
    assert_eq!(ws.execute(100).slices, 0);
}

/// Panics in its first slice.
struct Panicky;

impl Task for Panicky {
    fn run(&mut self, _budget: u64) -> Slice {
        panic!("on purpose");
    }

    fn receive(&mut self, _msg: Message) {}
}

#[test]
fn a_panicking_task_fails_and_the_others_go_on() {
    let mut ws = WorkStealing::new(2);
    let p = ws.insert(Box::new(Panicky), 0);
    let ids: Vec<_> = (0..20)
        .map(|_| ws.insert(Box::new(Count { at: 0, n: 500 }), 100))
        .collect();
    ws.run(1_000);
    match ws.status(p) {
        Some(TaskStatus::Dead(End::Failed(e))) => assert!(e.message.contains("on purpose")),
        other => panic!("{other:?}"),
    }
    for id in ids {
        assert_eq!(ws.status(id), Some(TaskStatus::Dead(End::Finished)));
    }
}

#[test]
fn sleepers_wake_on_the_manual_clock_in_deadline_order() {
    /// Sleeps once, then logs its index.
    struct Sleeper {
        idx: usize,
        d: Option<Duration>,
        order: Arc<Mutex<Vec<usize>>>,
    }
    impl Task for Sleeper {
        fn run(&mut self, _budget: u64) -> Slice {
            if let Some(d) = self.d.take() {
                return Slice {
                    used: 1,
                    poll: Poll::Blocked(Block::Sleep(d)),
                };
            }
            lock(&self.order).push(self.idx);
            Slice {
                used: 1,
                poll: Poll::Finished,
            }
        }
        fn receive(&mut self, _msg: Message) {}
    }
    let clock = ManualClock::new();
    let mut ws = WorkStealing::new(2).with_clock(clock.clone());
    let order = Arc::new(Mutex::new(Vec::new()));
    let n = 10;
    for idx in 0..n {
        ws.insert(
            Box::new(Sleeper {
                idx,
                // Later tasks sleep less.
                d: Some(Duration::from_secs(u64::try_from(n - idx).unwrap())),
                order: Arc::clone(&order),
            }),
            0,
        );
    }
    // One execute per timer: each `wait` advances the clock to the next
    // deadline only.
    ws.run(1_000);
    assert_eq!(*lock(&order), (0..n).rev().collect::<Vec<_>>());
    assert_eq!(clock.now(), Duration::from_secs(10));
}

/// `with_clock` and `with_pool` took the shared state by `Arc::get_mut`,
/// so they panicked once a stats handle existed or the workers ran;
/// a worker count past the machine's means panicked allocating them.
#[test]
fn configuring_at_any_time_and_absurd_worker_counts_do_not_panic() {
    let ws = WorkStealing::new(2);
    let handle = ws.stats_handle();
    let clock = vm_sched::ManualClock::new();
    let mut ws = ws
        .with_clock(clock.clone())
        .with_pool(vm_sched::BlockingPool::new(2));
    ws.insert(
        Box::new(SleepOnce {
            slept: false,
            nap: Duration::from_secs(3600),
        }),
        0,
    );
    ws.execute(10);
    // After the workers started: the new clock times the sleep.
    let clock2 = vm_sched::ManualClock::new();
    let mut ws = ws.with_clock(clock2.clone());
    ws.run(100);
    assert_eq!(ws.live(), 0);
    assert_eq!(clock2.now(), Duration::from_secs(3600));
    assert!(handle.get().iter().map(|w| w.slices).sum::<u64>() >= 2);
    assert_eq!(
        WorkStealing::new(usize::MAX).workers(),
        vm_sched::MAX_WORKERS
    );
    assert_eq!(WorkStealing::new(0).workers(), 1);
}

/// Sleeps once for `nap`, then finishes.
struct SleepOnce {
    slept: bool,
    nap: Duration,
}

impl Task for SleepOnce {
    fn run(&mut self, _budget: u64) -> Slice {
        if self.slept {
            return Slice {
                used: 1,
                poll: Poll::Finished,
            };
        }
        self.slept = true;
        Slice {
            used: 1,
            poll: Poll::Blocked(vm_sched::Block::Sleep(self.nap)),
        }
    }
    fn receive(&mut self, _msg: Message) {}
}
