//! Agents' benchmarks (`cargo xtask bench` runs this after the
//! schedulers'): a message round trip between two agents, the cost of
//! spawning one, the memory an idle agent holds, and skynet (agent 0
//! spawns 10 children, each of which spawns 10 more, down to the leaves;
//! each leaf sends its number up, each parent the sum of its children's)
//! on each scheduler.
//!
//! ```sh
//! cargo run --release -p vm-sched --features vm --example agents_bench [LEAVES [SCHEDULER]]
//! ```
//!
//! LEAVES (a power of 10, default 10,000) sizes skynet; the full
//! benchmark has 1,000,000 leaves. SCHEDULER (`rr`, `tick` or `ws`)
//! runs on that one only, so that `/usr/bin/time -v` reports its peak
//! memory.

use std::time::Instant;

use vm_sched::{
    AgentConfig, Agents, End, RoundRobin, Scheduler, TaskStatus, TickScheduler, WorkStealing,
};

type Make = fn() -> Box<dyn Scheduler>;

fn schedulers() -> [(&'static str, Make); 3] {
    [
        ("rr", || Box::new(RoundRobin::new())),
        ("tick", || Box::new(TickScheduler::new())),
        ("ws (2 workers)", || Box::new(WorkStealing::new(2))),
    ]
}

/// Runs `src` as the main agent under a scheduler from `make`; the
/// seconds from insertion to its end.
fn run(make: Make, src: &str) -> f64 {
    let mut sched = make();
    // Skynet's million leaves need more agents alive at once than the
    // default limit allows (half the memory at 64 KB an agent).
    let config = AgentConfig {
        max_agents: Some(2_000_000),
        ..AgentConfig::default()
    };
    let agents = Agents::install(&mut *sched, config, None);
    let main = agents
        .from_source("main", src.as_bytes())
        .expect("compiles");
    let t = Instant::now();
    let id = sched.insert(Box::new(main), 0);
    sched.run(100_000);
    let elapsed = t.elapsed().as_secs_f64();
    match sched.status(id) {
        Some(TaskStatus::Dead(End::Finished)) => elapsed,
        other => panic!("the benchmark's main agent ended with {other:?}"),
    }
}

/// Resident memory of this process, in bytes (Linux), if known.
fn resident() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn main() {
    let leaves: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    // Idle agents, each blocked in receive (first: memory freed by the
    // other runs would be reused, not counted).
    let idle = 10_000u64;
    let mut rr = RoundRobin::new();
    let agents = Agents::install(&mut rr, AgentConfig::default(), None);
    let before = resident();
    let main = agents
        .from_source(
            "idle",
            format!("for i = 1, {idle} do agent.spawn(function() agent.receive() end) end")
                .as_bytes(),
        )
        .expect("compiles");
    rr.insert(Box::new(main), 0);
    rr.run(100_000);
    if let (Some(a), Some(b)) = (before, resident()) {
        println!(
            "agents: {} bytes per idle agent (resident, {idle} agents blocked in receive)",
            b.saturating_sub(a) / idle
        );
    }
    let trips = 20_000;
    let round_trip = format!(
        "local echo = agent.spawn(function()
           while true do
             local from, k = agent.receive()
             if not k then return end
             agent.send(from, k)
           end
         end)
         local me = agent.self()
         for i = 1, {trips} do agent.send(echo, me, i) assert(agent.receive() == i) end
         agent.send(echo, me)"
    );
    let spawns = 2_000;
    let spawn = format!("for i = 1, {spawns} do agent.spawn(function() end) end");
    let skynet = format!(
        "local function skynet(parent, num, size)
           if size == 1 then agent.send(parent, num) return end
           local me, step = agent.self(), size // 10
           for i = 0, 9 do agent.spawn(skynet, me, num + i * step, step) end
           local sum = 0
           for _ = 1, 10 do sum = sum + agent.receive() end
           if parent then agent.send(parent, sum) else result = sum end
         end
         skynet(nil, 0, {leaves})
         assert(result == {expected}, result)",
        expected = leaves * (leaves - 1) / 2
    );
    let only = std::env::args().nth(2);
    for (name, make) in schedulers() {
        if only.as_deref().is_some_and(|o| !name.starts_with(o)) {
            continue;
        }
        let t = run(make, &round_trip);
        println!(
            "agents, {name}: message round trip {:.0} ns ({trips} trips)",
            t / f64::from(trips) * 1e9
        );
        let t = run(make, &spawn);
        println!(
            "agents, {name}: spawn {:.1} us each ({spawns} agents that end at once)",
            t / f64::from(spawns) * 1e6
        );
        let t = run(make, &skynet);
        println!(
            "agents, {name}: skynet with {leaves} leaves ({} agents): {t:.2} s",
            leaves * 10 / 9
        );
    }
}
