//! The tick scheduler: tick reports, wakers and injectors used from other
//! threads, stealing between schedulers, timers on a manual clock,
//! offloaded jobs, messages, kill/remove/re-insert, and the local
//! variant. No test reads the wall clock: cross-thread tests check
//! counts and orders once every thread is joined.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use vm_sched::{
    Block, BlockingPool, Clock, End, Job, LocalTask, LocalTickScheduler, ManualClock, Message,
    Poll, RoundRobin, Scheduler, Slice, Task, TaskBuilder, TaskError, TaskId, TaskStatus,
    TickScheduler, Weighted, DEFAULT_TICK_SIZE,
};

// ---- tasks used below ----

/// Runs `n` slices of one unit each, logging `(tag, slice)` per slice,
/// then finishes. Keeps the messages (u32s) it receives.
struct Steps {
    tag: usize,
    at: u64,
    n: u64,
    log: Arc<Mutex<Vec<(usize, u64)>>>,
    got: Vec<u32>,
    killed: Arc<AtomicBool>,
}

impl Steps {
    fn new(tag: usize, n: u64, log: &Arc<Mutex<Vec<(usize, u64)>>>) -> Steps {
        Steps {
            tag,
            at: 0,
            n,
            log: Arc::clone(log),
            got: Vec::new(),
            killed: Arc::default(),
        }
    }
}

impl Task for Steps {
    fn run(&mut self, _budget: u64) -> Slice {
        self.log.lock().unwrap().push((self.tag, self.at));
        self.at += 1;
        let poll = if self.at == self.n {
            Poll::Finished
        } else {
            Poll::Ready
        };
        Slice { used: 1, poll }
    }

    fn receive(&mut self, msg: Message) {
        self.got.push(*msg.downcast::<u32>().expect("a u32"));
    }

    fn name(&self) -> &str {
        "steps"
    }

    fn kill(&mut self) {
        self.killed.store(true, Ordering::SeqCst);
    }
}

/// Finishes in its first slice, logging its tag.
struct Once {
    tag: usize,
    log: Arc<Mutex<Vec<usize>>>,
}

impl Task for Once {
    fn run(&mut self, _budget: u64) -> Slice {
        self.log.lock().unwrap().push(self.tag);
        Slice {
            used: 1,
            poll: Poll::Finished,
        }
    }

    fn receive(&mut self, _msg: Message) {}
}

/// Waits (on `Receive(None)`) for events another thread counts in
/// `events` and signals with a waker; finishes once it consumed `want`.
struct Consumer {
    events: Arc<AtomicU64>,
    consumed: u64,
    want: u64,
    done: Arc<AtomicU64>,
}

impl Task for Consumer {
    fn run(&mut self, _budget: u64) -> Slice {
        self.consumed += self.events.swap(0, Ordering::AcqRel);
        if self.consumed >= self.want {
            self.done.fetch_add(self.consumed, Ordering::SeqCst);
            return Slice {
                used: 1,
                poll: Poll::Finished,
            };
        }
        Slice {
            used: 1,
            poll: Poll::Blocked(Block::Receive(None)),
        }
    }

    fn receive(&mut self, _msg: Message) {}
}

/// Blocks on `Receive(timeout)` until it has `want` messages (u32s),
/// keeping them in order in `got`; counts its timeouts.
struct Receiver {
    want: usize,
    timeout: Option<Duration>,
    got: Arc<Mutex<Vec<u32>>>,
    pending: usize,
    timeouts: Arc<AtomicUsize>,
    started: bool,
}

impl Receiver {
    fn new(want: usize, timeout: Option<Duration>, got: &Arc<Mutex<Vec<u32>>>) -> Receiver {
        Receiver {
            want,
            timeout,
            got: Arc::clone(got),
            pending: 0,
            timeouts: Arc::default(),
            started: false,
        }
    }
}

impl Task for Receiver {
    fn run(&mut self, _budget: u64) -> Slice {
        if self.started && self.pending == 0 {
            self.timeouts.fetch_add(1, Ordering::SeqCst);
        }
        self.started = true;
        self.pending = 0;
        if self.got.lock().unwrap().len() >= self.want {
            return Slice {
                used: 1,
                poll: Poll::Finished,
            };
        }
        Slice {
            used: 1,
            poll: Poll::Blocked(Block::Receive(self.timeout)),
        }
    }

    fn receive(&mut self, msg: Message) {
        self.pending += 1;
        self.got
            .lock()
            .unwrap()
            .push(*msg.downcast::<u32>().expect("a u32"));
    }
}

/// Sleeps `naps` times for `nap`, logging the clock at each wake.
struct Sleeper {
    naps: u32,
    nap: Duration,
    clock: ManualClock,
    woke_at: Arc<Mutex<Vec<Duration>>>,
}

impl Task for Sleeper {
    fn run(&mut self, _budget: u64) -> Slice {
        self.woke_at.lock().unwrap().push(self.clock.now());
        if self.naps == 0 {
            return Slice {
                used: 1,
                poll: Poll::Finished,
            };
        }
        self.naps -= 1;
        Slice {
            used: 1,
            poll: Poll::Blocked(Block::Sleep(self.nap)),
        }
    }

    fn receive(&mut self, _msg: Message) {}
}

/// Offloads one job, then finishes with its output.
struct Offloader {
    job: Option<Job>,
    out: Arc<Mutex<Option<Message>>>,
}

impl Task for Offloader {
    fn run(&mut self, _budget: u64) -> Slice {
        match self.job.take() {
            Some(job) => Slice {
                used: 1,
                poll: Poll::Blocked(Block::Offload(job)),
            },
            None => Slice {
                used: 1,
                poll: Poll::Finished,
            },
        }
    }

    fn receive(&mut self, _msg: Message) {}

    fn job_done(&mut self, output: Message) {
        *self.out.lock().unwrap() = Some(output);
    }
}

fn log<T>() -> Arc<Mutex<Vec<T>>> {
    Arc::new(Mutex::new(Vec::new()))
}

/// Ticks (parking when nothing remains) until no task is live.
fn run_to_end(sched: &mut TickScheduler) {
    loop {
        let tick = sched.tick();
        sched.advance_timers();
        if sched.live() == 0 {
            return;
        }
        if !tick.has_remaining {
            sched.wait(None);
        }
    }
}

// ---- tick reports ----

#[test]
fn a_tick_polls_at_most_the_tick_size_and_counts_right() {
    let ran = log();
    let mut sched = TickScheduler::new();
    for tag in 0..300 {
        sched.insert(
            Box::new(Once {
                tag,
                log: Arc::clone(&ran),
            }),
            0,
        );
    }
    let t = sched.tick();
    assert_eq!(DEFAULT_TICK_SIZE, 256);
    assert_eq!(
        (t.polled, t.completed, t.spawned, t.has_remaining),
        (256, 256, 300, true)
    );
    assert_eq!((t.woken_external, t.woken_internal), (0, 0));
    let t = sched.tick();
    assert_eq!(
        (t.polled, t.completed, t.spawned, t.has_remaining),
        (44, 44, 0, false)
    );
    let t = sched.tick();
    assert_eq!((t.polled, t.has_remaining), (0, false));
    // FIFO: every task once, in insertion order.
    assert_eq!(*ran.lock().unwrap(), (0..300).collect::<Vec<_>>());
    assert_eq!(sched.dead().len(), 300);
}

#[test]
fn a_runnable_task_may_be_polled_again_in_the_same_tick() {
    let l = log();
    let mut sched = TickScheduler::new().with_tick_size(10);
    let a = sched.insert(Box::new(Steps::new(0, 100, &l)), 0);
    let b = sched.insert(Box::new(Steps::new(1, 3, &l)), 0);
    let t = sched.tick();
    assert_eq!((t.polled, t.completed, t.has_remaining), (10, 1, true));
    // Round-robin between the two until b finishes, then a alone.
    let tags: Vec<usize> = l.lock().unwrap().iter().map(|&(t, _)| t).collect();
    assert_eq!(tags, [0, 1, 0, 1, 0, 1, 0, 0, 0, 0]);
    assert_eq!(sched.stats(a).unwrap().slices, 7);
    assert_eq!(sched.status(b), Some(TaskStatus::Dead(End::Finished)));
}

#[test]
fn each_poll_runs_one_slice_of_the_tasks_own_budget() {
    /// Records the budgets it is given.
    struct Budgets(Arc<Mutex<Vec<u64>>>);
    impl Task for Budgets {
        fn run(&mut self, budget: u64) -> Slice {
            self.0.lock().unwrap().push(budget);
            Slice {
                used: budget,
                poll: Poll::Finished,
            }
        }
        fn receive(&mut self, _msg: Message) {}
    }
    let seen = log();
    let mut sched = TickScheduler::new().with_slices(50, 1_000);
    let built = TaskBuilder::new()
        .name("built")
        .priority(7)
        .budget(123)
        .spawn(&mut sched, Budgets(Arc::clone(&seen)));
    sched.insert(Box::new(Budgets(Arc::clone(&seen))), 9); // priority as slice
    sched.insert(Box::new(Budgets(Arc::clone(&seen))), 0); // the default
    sched.insert(Box::new(Budgets(Arc::clone(&seen))), 5_000); // too long: default
    assert_eq!(sched.tick().polled, 4);
    assert_eq!(*seen.lock().unwrap(), [123, 9, 50, 50]);
    assert_eq!(sched.name(built).as_deref(), Some("built"));
    assert_eq!(sched.stats(built).unwrap().used, 123);
}

#[test]
fn execute_stops_at_its_budget() {
    let l = log();
    let mut sched = TickScheduler::new();
    let a = sched.insert(Box::new(Steps::new(0, 1_000, &l)), 0);
    let e = sched.execute(25);
    assert_eq!((e.used, e.slices, e.live, e.runnable), (25, 25, 1, 1));
    assert_eq!(sched.stats(a).unwrap().slices, 25);
}

// ---- wakers ----

#[test]
fn a_waker_from_another_thread_wakes_a_blocked_task() {
    let events = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let mut sched = TickScheduler::new();
    let id = sched.insert(
        Box::new(Consumer {
            events: Arc::clone(&events),
            consumed: 0,
            want: 1,
            done: Arc::clone(&done),
        }),
        0,
    );
    let waker = sched.waker(id).unwrap();
    let t = sched.tick();
    assert_eq!((t.polled, t.has_remaining), (1, false));
    assert_eq!(sched.status(id), Some(TaskStatus::Blocking));

    // A wake before anything happened: the task runs, finds nothing,
    // blocks again.
    let w = waker.clone();
    thread::spawn(move || assert!(w.wake())).join().unwrap();
    let t = sched.tick();
    assert_eq!((t.polled, t.woken_external, t.completed), (1, 1, 0));

    // The event, then the wake: the task sees the event.
    let (e, w) = (Arc::clone(&events), waker.clone());
    thread::spawn(move || {
        e.fetch_add(1, Ordering::Release);
        w.wake();
    })
    .join()
    .unwrap();
    let t = sched.tick();
    assert_eq!((t.polled, t.woken_external, t.completed), (1, 1, 1));
    assert_eq!(done.load(Ordering::SeqCst), 1);
    // The task is dead: its waker has nobody to wake.
    assert!(!waker.wake());
    assert_eq!(sched.tick().woken_external, 0);
}

#[test]
fn a_wake_of_a_task_that_is_not_blocked_does_nothing() {
    let l = log();
    let mut sched = TickScheduler::new();
    let id = sched.insert(Box::new(Steps::new(0, 3, &l)), 0);
    let waker = sched.waker(id).unwrap();
    assert!(waker.wake());
    assert!(waker.wake());
    let t = sched.tick();
    assert_eq!((t.woken_external, t.polled), (0, 3));
}

#[test]
fn wakers_on_many_threads_lose_no_wake() {
    const TASKS: usize = 40;
    const THREADS: usize = 4;
    const EVENTS: u64 = 25;
    let done = Arc::new(AtomicU64::new(0));
    let mut sched = TickScheduler::new();
    let mut per_thread: Vec<Vec<_>> = (0..THREADS).map(|_| Vec::new()).collect();
    for i in 0..TASKS {
        let events = Arc::new(AtomicU64::new(0));
        let id = sched.insert(
            Box::new(Consumer {
                events: Arc::clone(&events),
                consumed: 0,
                want: EVENTS,
                done: Arc::clone(&done),
            }),
            0,
        );
        per_thread[i % THREADS].push((events, sched.waker(id).unwrap()));
    }
    let threads: Vec<_> = per_thread
        .into_iter()
        .map(|tasks| {
            thread::spawn(move || {
                for _ in 0..EVENTS {
                    for (events, waker) in &tasks {
                        events.fetch_add(1, Ordering::Release);
                        waker.wake();
                    }
                    thread::yield_now();
                }
            })
        })
        .collect();
    let mut external = 0;
    let mut polled = 0;
    loop {
        let t = sched.tick();
        external += t.woken_external;
        polled += t.polled;
        if sched.live() == 0 {
            break;
        }
        if !t.has_remaining {
            sched.wait(None);
        }
    }
    for t in threads {
        t.join().unwrap();
    }
    // Every event consumed exactly once, by a task that finished.
    assert_eq!(done.load(Ordering::SeqCst), TASKS as u64 * EVENTS);
    // Each wake that found its task blocked made exactly one extra poll.
    // (A task whose events all came before its first poll needs none.)
    assert_eq!(polled, TASKS + external);
    assert!(external <= TASKS * EVENTS as usize);
}

// ---- injector ----

#[test]
fn tasks_injected_from_other_threads_run_once_each_in_order() {
    let ran = log();
    let mut sched = TickScheduler::new();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let injector = sched.injector();
            let ran = Arc::clone(&ran);
            thread::spawn(move || {
                for i in 0..50 {
                    let task = Once {
                        tag: t * 1_000 + i,
                        log: Arc::clone(&ran),
                    };
                    if i % 2 == 0 {
                        injector.spawn(task, 0).ok().unwrap();
                    } else {
                        TaskBuilder::new()
                            .name(format!("injected {t}/{i}"))
                            .inject(&injector, task)
                            .ok()
                            .unwrap();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(sched.live(), 0, "injected tasks arrive at the next tick");
    let t = sched.tick();
    assert_eq!((t.spawned, t.polled, t.completed), (200, 200, 200));
    let ran = ran.lock().unwrap();
    assert_eq!(ran.len(), 200);
    for t in 0..4 {
        let mine: Vec<usize> = ran.iter().copied().filter(|x| x / 1_000 == t).collect();
        assert_eq!(mine, (0..50).map(|i| t * 1_000 + i).collect::<Vec<_>>());
    }
    let named = sched.dead().into_iter().filter_map(|id| sched.name(id));
    assert_eq!(named.filter(|n| n.starts_with("injected")).count(), 100);
}

#[test]
fn a_parked_scheduler_wakes_for_an_injected_task() {
    let ran = log();
    let mut sched = TickScheduler::new();
    let injector = sched.injector();
    let r = Arc::clone(&ran);
    let t = thread::spawn(move || {
        injector
            .spawn(
                Once {
                    tag: 7,
                    log: r.clone(),
                },
                0,
            )
            .ok()
            .unwrap();
    });
    // Nothing is live; with an injector out, wait parks until it spawns.
    while ran.lock().unwrap().is_empty() {
        sched.wait(None);
        sched.tick();
    }
    t.join().unwrap();
    assert_eq!(*ran.lock().unwrap(), [7]);
}

#[test]
fn an_injector_of_a_dropped_scheduler_hands_the_task_back() {
    let sched = TickScheduler::new();
    let injector = sched.injector();
    drop(sched);
    let task = Once { tag: 0, log: log() };
    assert!(injector.spawn(task, 0).is_err());
}

// ---- stealing ----

#[test]
fn stealing_moves_half_the_runnable_tasks_with_their_state() {
    let l = log();
    let mut a = TickScheduler::new();
    let ids: Vec<TaskId> = (0..5)
        .map(|tag| a.insert(Box::new(Steps::new(tag, 4, &l)), 0))
        .collect();
    a.execute(5); // every task one slice
                  // A message waiting for task 4, and a waker for it.
    a.deliver(ids[4], Box::new(99u32)).unwrap();
    let waker = a.waker(ids[4]).unwrap();
    let mut b = TickScheduler::new();
    assert_eq!(b.steal_from(&a.stealer()), 3);
    assert_eq!((a.live(), b.live()), (2, 3));
    assert_eq!(a.stealer().ready(), 2);
    // The stolen ones (the newest: 2, 3, 4) are gone from a.
    assert_eq!(a.status(ids[4]), None);
    assert!(a.deliver(ids[4], Box::new(1u32)).is_err());
    // Run both to the end: every task ran each of its 4 slices once.
    run_to_end(&mut a);
    run_to_end(&mut b);
    let mut seen = l.lock().unwrap().clone();
    seen.sort_unstable();
    let want: Vec<(usize, u64)> = (0..5).flat_map(|t| (0..4).map(move |s| (t, s))).collect();
    assert_eq!(seen, want);
    // b kept the counters (4 slices each) of the tasks it stole.
    for id in b.dead() {
        assert_eq!(b.stats(id).unwrap().slices, 4);
    }
    assert_eq!(b.dead().len(), 3);
    assert!(!waker.wake(), "the task is dead in b");
    // Stealing from itself, or from an empty scheduler, takes nothing.
    assert_eq!(b.steal_from(&b.stealer()), 0);
    assert_eq!(b.steal_from(&a.stealer()), 0);
}

#[test]
fn a_waker_follows_a_stolen_task() {
    let events = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let mut a = TickScheduler::new();
    let id = a.insert(
        Box::new(Consumer {
            events: Arc::clone(&events),
            consumed: 0,
            want: 1,
            done: Arc::clone(&done),
        }),
        0,
    );
    let waker = a.waker(id).unwrap();
    let mut b = TickScheduler::new();
    assert_eq!(b.steal_from(&a.stealer()), 1);
    let t = b.tick();
    assert_eq!((t.polled, t.completed), (1, 0)); // blocked in b
    events.fetch_add(1, Ordering::Release);
    let w = waker.clone();
    thread::spawn(move || assert!(w.wake())).join().unwrap();
    assert_eq!(a.tick().woken_external, 0);
    let t = b.tick();
    assert_eq!((t.woken_external, t.completed), (1, 1));
    assert_eq!(done.load(Ordering::SeqCst), 1);
}

#[test]
fn two_schedulers_on_two_threads_steal_without_losing_or_repeating() {
    const TASKS: usize = 64;
    const SLICES: u64 = 20;
    let l = log();
    let finished = Arc::new(AtomicUsize::new(0));
    let mut a = TickScheduler::new().with_tick_size(8);
    for tag in 0..TASKS {
        a.insert(Box::new(Steps::new(tag, SLICES, &l)), 0);
    }
    let mut b = TickScheduler::new().with_tick_size(8);
    let (sa, sb) = (a.stealer(), b.stealer());
    // One steal before the threads start, so that tasks surely move;
    // the threads then steal from each other whenever they run dry.
    let stolen = Arc::new(AtomicUsize::new(b.steal_from(&sa)));
    let worker = |mut s: TickScheduler, victim: vm_sched::Stealer| {
        let finished = Arc::clone(&finished);
        let stolen = Arc::clone(&stolen);
        thread::spawn(move || {
            while finished.load(Ordering::SeqCst) < TASKS {
                let t = s.tick();
                finished.fetch_add(t.completed, Ordering::SeqCst);
                if t.polled == 0 {
                    stolen.fetch_add(s.steal_from(&victim), Ordering::SeqCst);
                    thread::yield_now();
                }
            }
            s
        })
    };
    let ta = worker(a, sb);
    let tb = worker(b, sa);
    let (a, b) = (ta.join().unwrap(), tb.join().unwrap());
    assert!(stolen.load(Ordering::SeqCst) >= TASKS / 2);
    assert_eq!(a.dead().len() + b.dead().len(), TASKS);
    assert_eq!(a.live() + b.live(), 0);
    // Each task's slices ran once each, in order.
    let l = l.lock().unwrap();
    assert_eq!(l.len(), TASKS * SLICES as usize);
    for tag in 0..TASKS {
        let mine: Vec<u64> = l.iter().filter(|e| e.0 == tag).map(|e| e.1).collect();
        assert_eq!(mine, (0..SLICES).collect::<Vec<_>>());
    }
}

// ---- timers ----

#[test]
fn sleepers_wake_when_the_manual_clock_passes_their_deadline() {
    let clock = ManualClock::new();
    let woke = log();
    let mut sched = TickScheduler::new().with_clock(clock.clone());
    let ids: Vec<TaskId> = [10, 20, 30]
        .into_iter()
        .map(|ms| {
            sched.insert(
                Box::new(Sleeper {
                    naps: 1,
                    nap: Duration::from_millis(ms),
                    clock: clock.clone(),
                    woke_at: Arc::clone(&woke),
                }),
                0,
            )
        })
        .collect();
    let t = sched.tick();
    assert_eq!((t.polled, t.has_remaining), (3, false));
    assert_eq!(sched.advance_timers(), 0);
    clock.advance(Duration::from_millis(15));
    assert_eq!(sched.advance_timers(), 1);
    let t = sched.tick();
    assert_eq!((t.woken_internal, t.polled, t.completed), (1, 1, 1));
    assert_eq!(sched.status(ids[0]), Some(TaskStatus::Dead(End::Finished)));
    assert_eq!(sched.status(ids[1]), Some(TaskStatus::Blocking));
    clock.advance(Duration::from_millis(100));
    assert_eq!(sched.advance_timers(), 2);
    let t = sched.tick();
    assert_eq!((t.woken_internal, t.completed), (2, 2));
    let ms: Vec<u128> = woke.lock().unwrap().iter().map(|d| d.as_millis()).collect();
    assert_eq!(ms, [0, 0, 0, 15, 115, 115]);
}

#[test]
fn run_on_a_manual_clock_jumps_from_deadline_to_deadline() {
    let clock = ManualClock::new();
    let woke = log();
    let mut sched: Box<dyn Scheduler> = Box::new(TickScheduler::new().with_clock(clock.clone()));
    sched.insert(
        Box::new(Sleeper {
            naps: 3,
            nap: Duration::from_millis(7),
            clock: clock.clone(),
            woke_at: Arc::clone(&woke),
        }),
        0,
    );
    sched.run(1_000);
    assert_eq!(clock.now(), Duration::from_millis(21));
    let ms: Vec<u128> = woke.lock().unwrap().iter().map(|d| d.as_millis()).collect();
    assert_eq!(ms, [0, 7, 14, 21]);
}

#[test]
fn a_receive_times_out_unless_a_message_comes_first() {
    let clock = ManualClock::new();
    let got = log();
    let mut sched = TickScheduler::new().with_clock(clock.clone());
    let r = Receiver::new(2, Some(Duration::from_millis(10)), &got);
    let timeouts = Arc::clone(&r.timeouts);
    let id = sched.insert(Box::new(r), 0);
    sched.tick();
    clock.advance(Duration::from_millis(10));
    assert_eq!(sched.advance_timers(), 1);
    sched.tick();
    assert_eq!(timeouts.load(Ordering::SeqCst), 1);
    // A message before the deadline: the timer is cancelled.
    clock.advance(Duration::from_millis(5));
    sched.deliver(id, Box::new(1u32)).unwrap();
    assert_eq!(sched.tick().woken_internal, 1);
    clock.advance(Duration::from_millis(5));
    assert_eq!(sched.advance_timers(), 0, "the first deadline is stale");
    assert_eq!(timeouts.load(Ordering::SeqCst), 1);
    sched.deliver(id, Box::new(2u32)).unwrap();
    assert_eq!(sched.tick().completed, 1);
    assert_eq!(*got.lock().unwrap(), [1, 2]);
}

// ---- offload ----

#[test]
fn an_offloaded_job_runs_on_the_pool_and_wakes_its_task() {
    let pool = BlockingPool::new(2);
    let out = Arc::new(Mutex::new(None));
    let mut sched = TickScheduler::new().with_pool(pool.clone());
    let id = sched.insert(
        Box::new(Offloader {
            job: Some(Job::new(|| Box::new(21u32 * 2))),
            out: Arc::clone(&out),
        }),
        0,
    );
    // (has_remaining may already be true: the job's output may be back.)
    assert_eq!(sched.tick().polled, 1);
    assert_eq!(sched.status(id), Some(TaskStatus::Blocking));
    let e = sched.execute(0);
    assert!(e.wakeable, "a job is in flight");
    assert_eq!(e.runnable, 0);
    sched.wait(None); // until the job is done
    let t = sched.tick();
    assert_eq!((t.woken_internal, t.completed), (1, 1));
    let v = out.lock().unwrap().take().unwrap();
    assert_eq!(*v.downcast::<u32>().unwrap(), 42);
    assert!(pool.threads() >= 1);
}

#[test]
fn a_panicking_job_hands_over_an_error() {
    let out = Arc::new(Mutex::new(None));
    let mut sched = TickScheduler::new();
    sched.insert(
        Box::new(Offloader {
            job: Some(Job::new(|| panic!("boom"))),
            out: Arc::clone(&out),
        }),
        0,
    );
    sched.run(100);
    let v = out.lock().unwrap().take().unwrap();
    let err = v.downcast::<TaskError>().unwrap();
    assert!(err.message.contains("boom"));
}

#[test]
fn removing_a_task_waits_for_its_job_and_hands_it_over() {
    let out = Arc::new(Mutex::new(None));
    let mut sched = TickScheduler::new();
    let id = sched.insert(
        Box::new(Offloader {
            job: Some(Job::new(|| Box::new("done"))),
            out: Arc::clone(&out),
        }),
        0,
    );
    sched.tick();
    let task = sched.remove(id).expect("a live task");
    assert!(out.lock().unwrap().is_some());
    assert_eq!(sched.live(), 0);
    // It continues elsewhere: it finishes in its next slice.
    let mut rr = RoundRobin::new();
    let id2 = rr.insert(task, 0);
    rr.run(10);
    assert_eq!(rr.status(id2), Some(TaskStatus::Dead(End::Finished)));
}

// ---- messages ----

#[test]
fn messages_arrive_in_order_none_lost_or_duplicated() {
    let got = log();
    let mut sched = TickScheduler::new();
    let id = sched.insert(Box::new(Receiver::new(100, None, &got)), 0);
    let mut internal = 0;
    let mut sent = 0u32;
    while sent < 100 {
        // Bursts of 1 to 7 messages between ticks.
        for _ in 0..=(sent % 7) {
            if sent < 100 {
                sched.deliver(id, Box::new(sent)).unwrap();
                sent += 1;
            }
        }
        internal += sched.tick().woken_internal;
    }
    internal += sched.tick().woken_internal;
    assert_eq!(*got.lock().unwrap(), (0..100).collect::<Vec<u32>>());
    assert_eq!(sched.status(id), Some(TaskStatus::Dead(End::Finished)));
    assert_eq!(sched.stats(id).unwrap().messages, 100);
    assert!(internal >= 1);
    // Dead: the message comes back.
    let back = sched.deliver(id, Box::new(5u32)).unwrap_err();
    assert_eq!(*back.downcast::<u32>().unwrap(), 5);
}

// ---- kill, remove, re-insert ----

#[test]
fn a_removed_task_continues_intact_under_another_scheduler() {
    let l = log();
    let mut a = TickScheduler::new().with_tick_size(3);
    let id = a.insert(Box::new(Steps::new(0, 10, &l)), 0);
    a.tick(); // 3 slices
    a.deliver(id, Box::new(7u32)).unwrap();
    let task = a.remove(id).expect("live");
    assert_eq!((a.live(), a.status(id)), (0, None));
    assert!(a.remove(id).is_none());
    // Into another tick scheduler, through the trait object.
    let mut b: Box<dyn Scheduler> = Box::new(TickScheduler::new());
    let id_b = b.insert(task, 0);
    b.run(100);
    assert_eq!(b.status(id_b), Some(TaskStatus::Dead(End::Finished)));
    assert_eq!(b.stats(id_b).unwrap().slices, 7);
    let slices: Vec<u64> = l.lock().unwrap().iter().map(|e| e.1).collect();
    assert_eq!(slices, (0..10).collect::<Vec<_>>());
}

#[test]
fn a_task_from_round_robin_continues_under_a_tick_scheduler() {
    let l = log();
    let mut rr = RoundRobin::new();
    let id = rr.insert(Box::new(Steps::new(0, 6, &l)), 0);
    rr.execute(2);
    let task = rr.remove(id).unwrap();
    let mut t = TickScheduler::new();
    t.insert(task, 0);
    run_to_end(&mut t);
    let slices: Vec<u64> = l.lock().unwrap().iter().map(|e| e.1).collect();
    assert_eq!(slices, (0..6).collect::<Vec<_>>());
}

#[test]
fn kill_ends_a_task_and_release_drops_it() {
    let l = log();
    let statuses = log();
    let mut sched = TickScheduler::new();
    let s = Arc::clone(&statuses);
    sched.on_status(Box::new(move |id, st| {
        s.lock().unwrap().push((id, st.clone()));
    }));
    let task = Steps::new(0, 100, &l);
    let killed = Arc::clone(&task.killed);
    let id = sched.insert(Box::new(task), 0);
    sched.execute(3);
    assert!(sched.kill(id));
    assert!(killed.load(Ordering::SeqCst));
    assert!(!sched.kill(id));
    assert_eq!(sched.status(id), Some(TaskStatus::Dead(End::Killed)));
    assert_eq!(sched.dead(), [id]);
    assert!(sched.remove(id).is_none());
    assert!(sched.deliver(id, Box::new(1u32)).is_err());
    assert_eq!(sched.tick().polled, 0);
    assert_eq!(sched.release(id), Some(TaskStatus::Dead(End::Killed)));
    assert_eq!(sched.status(id), None);
    let seen: Vec<TaskStatus> = statuses
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.1.clone())
        .collect();
    assert_eq!(
        seen,
        [
            TaskStatus::Virgin,
            TaskStatus::Running,
            TaskStatus::Dead(End::Killed)
        ]
    );
}

#[test]
fn a_kill_waits_until_the_task_accepts_exceptions() {
    /// Refuses exceptions for its first `guarded` slices.
    struct Guarded {
        slices: u32,
        guarded: u32,
    }
    impl Task for Guarded {
        fn run(&mut self, _budget: u64) -> Slice {
            self.slices += 1;
            Slice::ready(1)
        }
        fn receive(&mut self, _msg: Message) {}
        fn accepts_exceptions(&self) -> bool {
            self.slices >= self.guarded
        }
    }
    let mut sched = TickScheduler::new();
    let id = sched.insert(
        Box::new(Guarded {
            slices: 0,
            guarded: 3,
        }),
        0,
    );
    sched.execute(1);
    assert_eq!(sched.status(id), Some(TaskStatus::RunningWithoutExceptions));
    assert!(sched.kill(id));
    assert_eq!(sched.live(), 1);
    sched.execute(10);
    assert_eq!(sched.status(id), Some(TaskStatus::Dead(End::Killed)));
    assert_eq!(sched.stats(id).unwrap().slices, 3);
}

#[test]
fn a_weighted_policy_shares_slices_by_priority() {
    let l = log();
    let mut sched = TickScheduler::new().with_tick_size(40);
    sched.set_policy(Box::new(Weighted::new()));
    let heavy = TaskBuilder::new()
        .priority(3)
        .budget(1)
        .spawn(&mut sched, Steps::new(0, 1_000, &l));
    let light = TaskBuilder::new()
        .priority(1)
        .budget(1)
        .spawn(&mut sched, Steps::new(1, 1_000, &l));
    sched.tick();
    let (h, li) = (
        sched.stats(heavy).unwrap().slices,
        sched.stats(light).unwrap().slices,
    );
    assert_eq!(h + li, 40);
    assert!((29..=31).contains(&h), "heavy ran {h} of 40");
}

// ---- the local variant ----

/// Holds an `Rc`: not `Send`.
struct RcTask {
    seen: Rc<RefCell<Vec<u32>>>,
    left: u32,
}

impl LocalTask for RcTask {
    fn run(&mut self, _budget: u64) -> Slice {
        self.seen.borrow_mut().push(self.left);
        if self.left == 0 {
            return Slice {
                used: 1,
                poll: Poll::Finished,
            };
        }
        self.left -= 1;
        Slice {
            used: 1,
            poll: Poll::Blocked(Block::Receive(None)),
        }
    }

    fn receive(&mut self, msg: Message) {
        self.seen
            .borrow_mut()
            .push(1_000 + *msg.downcast::<u32>().unwrap());
    }

    fn name(&self) -> &str {
        "rc"
    }
}

#[test]
fn the_local_scheduler_runs_tasks_that_hold_an_rc() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let mut sched = LocalTickScheduler::new();
    let id = sched.spawn(
        RcTask {
            seen: Rc::clone(&seen),
            left: 2,
        },
        0,
    );
    assert_eq!(sched.name(id).as_deref(), Some("rc"));
    let t = sched.tick();
    assert_eq!((t.polled, t.spawned), (1, 1));
    // A message wakes it (internal); a waker from another thread too.
    sched.deliver(id, Box::new(5u32)).unwrap();
    let t = sched.tick();
    assert_eq!((t.woken_internal, t.polled), (1, 1));
    let waker = sched.waker(id).unwrap();
    thread::spawn(move || assert!(waker.wake())).join().unwrap();
    let t = sched.tick();
    assert_eq!((t.woken_external, t.completed), (1, 1));
    assert_eq!(*seen.borrow(), [2, 1_005, 1, 0]);
    // Send tasks injected from another thread run here too.
    let ran = log();
    let injector = sched.injector();
    let r = Arc::clone(&ran);
    thread::spawn(move || {
        injector.spawn(Once { tag: 3, log: r }, 0).ok().unwrap();
    })
    .join()
    .unwrap();
    let t = sched.tick();
    assert_eq!((t.spawned, t.completed), (1, 1));
    assert_eq!(*ran.lock().unwrap(), [3]);
    // Remove and re-insert, state intact.
    let id = TaskBuilder::new().name("again").spawn_local(
        &mut sched,
        RcTask {
            seen: Rc::clone(&seen),
            left: 2,
        },
    );
    sched.tick();
    let task = sched.remove(id).unwrap();
    let mut other = LocalTickScheduler::new();
    let id2 = other.insert(task, 0);
    let t = other.tick();
    assert_eq!(t.polled, 1);
    assert_eq!(other.status(id2), Some(TaskStatus::Blocking));
    other.deliver(id2, Box::new(9u32)).unwrap();
    other.tick();
    assert_eq!(other.status(id2), Some(TaskStatus::Dead(End::Finished)));
    assert_eq!(seen.borrow()[4..], [2, 1, 1_009, 0]);
}

/// A `Stealer` that outlives its scheduler takes nothing (a hostile pass
/// saw it hand out the dropped scheduler's tasks).
#[test]
fn a_stealer_outliving_its_scheduler_takes_nothing() {
    struct Idle;
    impl vm_sched::Task for Idle {
        fn run(&mut self, _budget: u64) -> vm_sched::Slice {
            vm_sched::Slice::ready(1)
        }
        fn receive(&mut self, _msg: vm_sched::Message) {}
    }
    let mut victim = vm_sched::TickScheduler::new();
    for _ in 0..4 {
        vm_sched::Scheduler::insert(&mut victim, Box::new(Idle), 0);
    }
    let stealer = victim.stealer();
    assert_eq!(stealer.ready(), 4);
    drop(victim);
    assert_eq!(stealer.ready(), 0);
    let mut thief = vm_sched::TickScheduler::new();
    assert_eq!(thief.steal_from(&stealer), 0);
}

/// The crate docs' run loop parked with `wait(None)` while the only task
/// waited for a message nobody could send, and `wait` returned at once:
/// the loop spun. `wakeable` says when parking would never end.
#[test]
fn wakeable_says_when_nothing_can_wake_a_blocked_task() {
    struct Waits;
    impl Task for Waits {
        fn run(&mut self, _budget: u64) -> Slice {
            Slice {
                used: 1,
                poll: Poll::Blocked(vm_sched::Block::Receive(None)),
            }
        }
        fn receive(&mut self, _msg: Message) {}
    }
    let mut sched = TickScheduler::new();
    let id = sched.insert(Box::new(Waits), 0);
    assert!(sched.wakeable(), "it is runnable");
    sched.tick();
    let waker = sched.waker(id).expect("a live task");
    assert!(sched.wakeable(), "a waker is held");
    // A wake-up sent, then the waker dropped: the wake-up counts.
    assert!(waker.wake());
    drop(waker);
    assert!(sched.wakeable(), "woken from outside");
    sched.tick();
    assert!(!sched.wakeable(), "nothing can wake it now");
    assert_eq!(sched.live(), 1);
}
