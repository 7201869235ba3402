//! Agents: Lua programs that share nothing but messages, on every
//! scheduler. Each test runs a main agent that reports through a Rust
//! function `report(...)`, and checks what it reported.

mod support;

use std::sync::{Arc, Mutex};

use vm_sched::{
    AgentConfig, Agents, End, RoundRobin, Scheduler, TaskId, TaskStatus, TickScheduler,
    WorkStealing,
};

/// Each scheduler under test, made fresh.
fn schedulers() -> Vec<(&'static str, support::Make)> {
    vec![
        ("round-robin", || Box::new(RoundRobin::new())),
        ("tick", || Box::new(TickScheduler::new())),
        ("work-stealing", || Box::new(WorkStealing::new(2))),
    ]
}

/// Runs `src` as the main agent on a scheduler made by `make` (with
/// `config` for every agent); returns what it reported, one line per
/// `report` call (values joined by spaces), and its end.
fn run_main(
    make: support::Make,
    config: AgentConfig,
    src: &str,
) -> (Vec<String>, Option<TaskStatus>) {
    let mut sched = make();
    let (_, id, lines) = insert_main(&mut *sched, config, src);
    sched.run(10_000);
    let out = lines.lock().unwrap().clone();
    (out, sched.status(id))
}

/// Inserts `src` as the main agent of new agents on `sched`, with a Rust
/// function `report(...)` that adds a line to the lines returned.
fn insert_main(
    sched: &mut dyn vm_sched::Scheduler,
    config: AgentConfig,
    src: &str,
) -> (Agents, vm_sched::TaskId, Arc<Mutex<Vec<String>>>) {
    let agents = Agents::install(sched, config, None);
    let mut main = agents
        .from_source("main", src.as_bytes())
        .expect("compiles");
    let lines = add_report(&mut main);
    let id = sched.insert(Box::new(main), 0);
    (agents, id, lines)
}

/// Gives `main` a Rust function `report(...)` that adds a line (its
/// values joined by spaces) to the lines returned.
fn add_report(main: &mut vm_sched::LuaTask) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    let report = main.vm().create_function(
        "report",
        move |vm, args: vm_core::Variadic<vm_core::Value>| {
            let words: Vec<String> = args.iter().map(|&v| vm.to_display(v)).collect();
            sink.lock().unwrap().push(words.join(" "));
        },
    );
    main.vm().set_global("report", report).unwrap();
    lines
}

/// `src` reports `want` on every scheduler, each agent under memory
/// limit `limit`.
fn reports_under_limit(limit: usize, src: &str, want: &[&str]) {
    let config = AgentConfig {
        memory_limit: Some(limit),
        ..AgentConfig::default()
    };
    for (name, make) in schedulers() {
        let (out, _) = run_main(make, config.clone(), src);
        assert_eq!(out, want, "{name}");
    }
}

fn finished() -> Option<TaskStatus> {
    Some(TaskStatus::Dead(End::Finished))
}

#[test]
fn a_ping_pong_loses_duplicates_and_reorders_nothing() {
    let n = 2_000 * support::scale();
    let src = format!(
        "local echo = agent.spawn(function()
           while true do
             local from, k = agent.receive()
             if k == nil then break end
             agent.send(from, k)
           end
         end)
         local ok = 0
         for i = 1, {n} do
           agent.send(echo, agent.self(), i)
           local k = agent.receive()
           if k == i then ok = ok + 1 end
         end
         agent.send(echo, agent.self())
         report(ok)"
    );
    for (name, make) in schedulers() {
        let (out, end) = run_main(make, AgentConfig::default(), &src);
        assert_eq!(out, [n.to_string()], "{name}");
        assert_eq!(end, finished(), "{name}");
    }
}

/// An agent spawned with a function is born at its first slice; a
/// first slice that runs out of budget (or waits) goes on at the next.
#[test]
fn an_agent_preempted_in_its_first_slice_goes_on() {
    let src = "local me = agent.self()
         for k = 1, 3 do
           agent.spawn(function(n)
             local s = 0
             for i = 1, n do s = s + i end
             agent.send(me, k, s)
           end, 50000 * k)
         end
         local got = {}
         for _ = 1, 3 do
           local k, s = agent.receive()
           got[k] = s
         end
         report(got[1], got[2], got[3])";
    let want = ["1250025000 5000050000 11250075000"];
    for (name, make) in schedulers() {
        let (out, end) = run_main(make, AgentConfig::default(), src);
        assert_eq!(out, want, "{name}");
        assert_eq!(end, finished(), "{name}");
    }
}

#[test]
fn spawned_agents_get_copies_of_functions_upvalues_and_arguments() {
    let src = "local base = 100
         local function fact(k) if k <= 1 then return 1 end return k * fact(k - 1) end
         local me = agent.self()
         agent.spawn(function(t, extra)
           agent.send(me, fact(t.n) + base + extra, t.self == t)
         end, (function() local t = {n = 5} t.self = t return t end)(), 1)
         agent.spawn('local to, x = ... agent.send(to, x .. \"!\")', me, 'src')
         -- (Two senders: their messages may come in either order.)
         local got = {}
         for _ = 1, 2 do
           for _, v in ipairs({agent.receive()}) do got[#got + 1] = tostring(v) end
         end
         table.sort(got)
         report(table.concat(got, ','))
         base = 0";
    for (name, make) in schedulers() {
        let (out, end) = run_main(make, AgentConfig::default(), src);
        assert_eq!(out, ["221,src!,true"], "{name}");
        assert_eq!(end, finished(), "{name}");
    }
}

#[test]
fn receive_times_out_with_nil() {
    let src = "report(agent.receive(0), agent.receive(0.01))";
    for (name, make) in schedulers() {
        let (out, end) = run_main(make, AgentConfig::default(), src);
        assert_eq!(out, ["nil nil"], "{name}");
        assert_eq!(end, finished(), "{name}");
    }
}

#[test]
fn monitors_statuses_and_kill() {
    let src = "local me = agent.self()
         local normal = agent.spawn(function() end)
         local failing = agent.spawn(function() error('boom') end)
         local looping = agent.spawn(function() while true do end end)
         local waiting = agent.spawn(function() agent.receive() end)
         agent.monitor(normal)
         agent.monitor(failing)
         agent.monitor(looping)
         agent.monitor(123456)
         local seen = {}
         for _ = 1, 4 do
           local what, id, reason = agent.receive()
           seen[#seen + 1] = what .. ':' .. (id == normal and 'normal' or id == failing and 'failing'
             or id == looping and 'looping' or tostring(id)) .. ':' .. reason:match('^[^\\n]*')
           if #seen == 3 then
             report('status', agent.status(looping), agent.status(waiting))
             agent.kill(looping)
           end
         end
         table.sort(seen)
         report(table.concat(seen, ' '))
         report('status', agent.status(normal), agent.status(failing), agent.status(looping), agent.status(-1))
         agent.send(normal, 'to the dead: dropped')
         agent.kill(waiting)";
    for (name, make) in schedulers() {
        let (out, end) = run_main(make, AgentConfig::default(), src);
        assert_eq!(out.len(), 3, "{name}: {out:?}");
        assert!(
            out[0] == "status running blocked" || out[0] == "status running running",
            "{name}: {out:?}"
        );
        assert_eq!(
            out[1],
            "down:123456:noproc down:failing:main:3: boom down:looping:killed down:normal:normal",
            "{name}"
        );
        assert_eq!(out[2], "status finished failed failed nil", "{name}");
        assert_eq!(end, finished(), "{name}");
    }
}

#[test]
fn a_memory_bomb_fails_alone() {
    let config = AgentConfig {
        memory_limit: Some(16 << 20),
        ..AgentConfig::default()
    };
    let src = "local bomb = agent.spawn(function()
           local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(100) .. i end
         end)
         agent.monitor(bomb)
         local _, _, reason = agent.receive()
         local ok = agent.spawn(function(to) agent.send(to, 'still here') end, agent.self())
         report(reason:match('not enough memory') or reason, agent.receive())";
    for (name, make) in schedulers() {
        let (out, end) = run_main(make, config.clone(), src);
        assert_eq!(out, ["not enough memory still here"], "{name}");
        assert_eq!(end, finished(), "{name}");
    }
}

#[test]
fn what_cannot_travel_is_a_lua_error_and_sends_nothing() {
    let src = "local ok, e = pcall(agent.send, agent.self(), 1, coroutine.create(print))
         report(ok, e)
         report(agent.receive(0))
         local ok2, e2 = pcall(agent.spawn, 42)
         report(ok2, (e2:gsub('^.-: ', '')))";
    for (name, make) in schedulers() {
        let (out, _) = run_main(make, AgentConfig::default(), src);
        assert_eq!(
            out,
            [
                // (Called by pcall: no Lua position, as PUC's luaL_error.)
                "false cannot send a thread (coroutine)",
                "nil",
                "false bad argument #1 to 'agent.spawn' (function or string expected, got number)"
            ],
            "{name}"
        );
    }
}

#[test]
fn the_library_outside_an_agent_says_so() {
    let mut vm = vm_core::Vm::new();
    vm_stdlib::open_all(&mut vm).unwrap();
    vm_sched::open_agent(&mut vm).unwrap();
    let e = vm.exec(b"return agent.self()", "=plain").unwrap_err();
    assert!(e.to_string().contains("not an agent"), "{e}");
}

/// Every agent's `agent` library is made on first use, by whichever way
/// the program reaches it first: `require`, `package.loaded`, a traversal
/// of the globals, or one of its functions received in a message.
#[test]
fn the_agent_library_is_made_by_every_way_in() {
    let src = "
        local me = agent.self()
        local child = agent.spawn(function(parent)
          local f = agent.receive()
          -- The received native made the library first: it works.
          local ok, id = pcall(f)
          agent.send(parent, 'received', ok, math.type(id), rawget(_G, 'agent') ~= nil)
        end, me)
        agent.send(child, agent.self)
        agent.spawn(function(parent)
          agent.send(parent, 'require', require('agent') == agent, package.loaded.agent == agent)
        end, me)
        agent.spawn(function(parent)
          local spawn = package.loaded.agent.spawn
          package.loaded.agent.send(parent, 'loaded', type(spawn))
        end, me)
        agent.spawn(function(parent)
          local seen = false
          for k in pairs(_G) do if k == 'agent' then seen = true end end
          agent.send(parent, 'pairs', seen)
        end, me)
        agent.spawn(function(parent)
          local a = agent
          agent = 42
          a.send(parent, 'replaced', agent, package.loaded.agent ~= nil)
        end, me)
        for _ = 1, 5 do report(agent.receive()) end";
    for (name, make) in schedulers() {
        let (mut out, end) = run_main(make, AgentConfig::default(), src);
        out.sort();
        assert_eq!(
            out,
            [
                "loaded function",
                "pairs true",
                "received true integer true",
                "replaced 42 true",
                "require true true",
            ],
            "{name}"
        );
        assert_eq!(end, finished(), "{name}");
    }
}

/// Agents waiting for messages nobody can send end the run (they stay
/// blocked): the handles agents hold do not count as senders while
/// every agent waits.
#[test]
fn agents_that_all_wait_end_the_run() {
    let src = "agent.spawn(function() agent.receive() end) report('waiting') agent.receive()";
    for (name, make) in schedulers() {
        let (out, end) = run_main(make, AgentConfig::default(), src);
        assert_eq!(out, ["waiting"], "{name}");
        assert_eq!(end, Some(TaskStatus::Blocking), "{name}");
    }
}

/// An agent removed from one scheduler mid-run (waiting in `receive`)
/// and inserted into another kind continues there with its state, its
/// new id, and the new scheduler's agents; it finishes with the output
/// an unmoved run gives.
#[test]
fn an_agent_moves_between_schedulers_mid_run() {
    let kinds = schedulers();
    for (from_name, from) in &kinds {
        for (to_name, to) in &kinds {
            if from_name == to_name {
                continue;
            }
            let (mut a, mut b) = (from(), to());
            let agents_a = Agents::install(&mut *a, AgentConfig::default(), None);
            let agents_b = Agents::install(&mut *b, AgentConfig::default(), None);
            let lines = Arc::new(Mutex::new(Vec::new()));
            let sink = Arc::clone(&lines);
            let mut mover = agents_a
                .from_source(
                    "mover",
                    b"local before = agent.self()
                      local acc = {}
                      for i = 1, 3 do acc[i] = i * i end
                      local from, word = agent.receive()
                      agent.send(from, word .. ' ' .. table.concat(acc, ','), before ~= agent.self())",
                )
                .expect("compiles");
            let report = mover.vm().create_function("report", move |_vm, s: String| {
                sink.lock().unwrap().push(s);
            });
            mover.vm().set_global("report", report).unwrap();
            let id = a.insert(Box::new(mover), 0);
            a.run(1_000);
            assert_eq!(a.status(id), Some(TaskStatus::Blocking), "{from_name}");
            let task = a.remove(id).expect("a live task");
            let moved = b.insert(task, 0);
            let asker = agents_b
                .from_source(
                    "asker",
                    format!(
                        "agent.send({}, agent.self(), 'squares')
                         local text = agent.receive()
                         assert(text == 'squares 1,4,9', text)
                         assert(agent.status({}) ~= nil)",
                        moved.get(),
                        moved.get()
                    )
                    .as_bytes(),
                )
                .expect("compiles");
            let asker = b.insert(Box::new(asker), 0);
            b.run(1_000);
            let pair = format!("{from_name} -> {to_name}");
            assert_eq!(
                b.status(moved),
                Some(TaskStatus::Dead(End::Finished)),
                "{pair}"
            );
            assert_eq!(
                b.status(asker),
                Some(TaskStatus::Dead(End::Finished)),
                "{pair}: {:?}",
                b.status(asker)
            );
        }
    }
}

/// What a hostile review found: a receive that fails keeps its message,
/// an endless timeout is for ever (the run ends), a message to oneself is
/// there at once, a `__close` handler of a killed agent cannot wait but
/// can catch that, a copy past the sender's memory limit is an error.
#[test]
fn receives_and_sends_at_the_edges() {
    let config = AgentConfig {
        memory_limit: Some(24 << 20),
        ..AgentConfig::default()
    };
    let src = "local me = agent.self()
         local r = agent.spawn(function(boss)
           local hog = {} for i = 1, 1000000 do hog[i] = i end
           local ok, e = pcall(agent.receive, 1)
           hog = nil collectgarbage()
           local big = agent.receive(1)
           agent.send(boss, ok, (tostring(e):gsub('^.-: ', '')), #big, agent.receive(1))
         end, me)
         local big = {} for i = 1, 400000 do big[i] = i end
         agent.send(r, big) agent.send(r, 'small')
         big = nil collectgarbage()
         report(agent.receive())
         agent.send(me, 'to myself') report(agent.receive(0))
         local huge = {} for i = 1, 700000 do huge[i] = i end
         report(pcall(agent.send, me, huge))
         huge = nil collectgarbage()
         local k = agent.spawn(function(boss)
           local guard <close> = setmetatable({}, {__close = function()
             agent.send(boss, 'closing', pcall(agent.receive, 0.01))
           end})
           agent.send(boss, 'ready')
           agent.receive()
         end, me)
         assert(agent.receive() == 'ready')
         agent.kill(k)
         local what, ok, e = agent.receive()
         report(what, ok, (tostring(e):gsub('^.-: ', '')))
         report('waiting for ever') agent.receive(math.huge)";
    for (name, make) in schedulers() {
        let (out, end) = run_main(make, config.clone(), src);
        assert_eq!(
            out,
            [
                "false not enough memory 400000 small",
                "to myself",
                "false not enough memory",
                "closing false the agent is being killed",
                "waiting for ever",
            ],
            "{name}"
        );
        assert_eq!(end, Some(TaskStatus::Blocking), "{name}");
    }
}

/// Messages a handle delivered before a remove are the task's: they
/// travel with it.
#[test]
fn a_remove_takes_the_messages_sent_before() {
    for (name, make) in schedulers() {
        let (mut a, mut b) = (make(), make());
        let agents_a = Agents::install(&mut *a, AgentConfig::default(), None);
        Agents::install(&mut *b, AgentConfig::default(), None);
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let mut t = agents_a
            .from_source("t", b"for _ = 1, 3 do report(agent.receive()) end")
            .unwrap();
        let report = t.vm().create_function("report", move |_vm, s: String| {
            sink.lock().unwrap().push(s);
        });
        t.vm().set_global("report", report).unwrap();
        let id = a.insert(Box::new(t), 0);
        a.run(1_000);
        let handle = a.handle();
        for word in ["one", "two", "three"] {
            let p = vm_core::Packet::from_values([vm_core::JobValue::Str(word.into())]);
            handle.deliver(id, Box::new(p)).unwrap();
        }
        let task = a.remove(id).expect("live");
        let moved = b.insert(task, 0);
        b.run(1_000);
        assert_eq!(*lines.lock().unwrap(), ["one", "two", "three"], "{name}");
        assert_eq!(
            b.status(moved),
            Some(TaskStatus::Dead(End::Finished)),
            "{name}"
        );
    }
}

#[test]
fn a_sandboxed_agent_spawns_no_binary_chunk() {
    let config = AgentConfig {
        sandboxed: true,
        ..AgentConfig::default()
    };
    let src = "local ok, e = pcall(agent.spawn, string.dump(function() end)) report(ok, e)";
    let (out, _) = run_main(schedulers()[0].1, config.clone(), src);
    assert_eq!(out.len(), 1);
    // (The sandbox has no string.dump: a binary chunk comes from outside.)
    assert!(out[0].starts_with("false"), "{out:?}");
    let mut rr = RoundRobin::new();
    let agents = Agents::install(&mut rr, config, None);
    let e = agents
        .from_source("bin", b"\x1bLuaT\x00")
        .err()
        .expect("binary refused");
    assert!(e.message.contains("binary"), "{e:?}");
}

/// A spawn bomb meets the agent limit as a catchable error; a mailbox
/// flooded past its agent's memory limit fails that agent alone.
#[test]
fn spawn_bombs_and_floods_stop_at_the_limits() {
    let config = AgentConfig {
        max_agents: Some(50),
        memory_limit: Some(8 << 20),
        ..AgentConfig::default()
    };
    let src = "local sink = agent.spawn(function() for _ = 1, 1e8 do end agent.receive() end)
         agent.monitor(sink)
         local n, ok, e = 0, true, nil
         while ok do
           ok, e = pcall(agent.spawn, function() agent.receive() end)
           if ok then n = n + 1 end
         end
         report(n, e)
         local chunk = {} for i = 1, 20000 do chunk[i] = i end
         for _ = 1, 30 do agent.send(sink, chunk) end
         local what, id, reason = agent.receive()
         report(what, id == sink, reason)";
    for (name, make) in schedulers() {
        let (out, _) = run_main(make, config.clone(), src);
        assert_eq!(out.len(), 2, "{name}: {out:?}");
        assert_eq!(out[0], "48 too many agents (the limit is 50)", "{name}");
        assert_eq!(
            out[1], "down true not enough memory (a message did not fit in the mailbox)",
            "{name}"
        );
    }
}

/// Messages that hold no object (numbers, booleans, library names, which
/// travel as shared handles) still take room in a mailbox: a flood of
/// them fails the agent that does not read them.
#[test]
fn a_flood_of_small_messages_fills_a_mailbox() {
    let src = "local sink = agent.spawn(function() for _ = 1, 1e9 do end agent.receive() end)
         agent.monitor(sink)
         for i = 1, 20000 do agent.send(sink, 'print', i, true, 'down') end
         local what, id, reason = agent.receive()
         report(what, id == sink, reason)";
    let want = "down true not enough memory (a message did not fit in the mailbox)";
    reports_under_limit(1 << 20, src, &[want]);
}

/// A chunk spawned with arguments, under a memory limit that its
/// compilation meets (and collects at): the arguments arrive whole.
#[test]
fn a_spawned_chunk_compiled_short_of_memory_keeps_its_arguments() {
    let src = "local parts = {'local s, t = ... local x = 0 '}
         for i = 0, 5999 do parts[#parts + 1] = ('x = x + %d * 2 + #tostring(%d) '):format(i, i) end
         parts[#parts + 1] = 'agent.send(' .. agent.self() .. ', #s, #t[1])'
         local ok, e = pcall(agent.spawn, table.concat(parts), string.rep('x', 3000000),
                             {string.rep('y', 1000)})
         report(ok, agent.receive(5))";
    reports_under_limit(12 << 20, src, &["true 3000000 1000"]);
}

/// Agents spawned by agents are forgotten by the scheduler when they die
/// (no dead-list entry: a program spawning for ever does not grow it),
/// while their agents still say how each ended.
#[test]
fn the_dead_are_forgotten_but_their_ends_are_known() {
    let src = "local ids = {}
         for i = 1, 300 do
           ids[i] = agent.spawn(function(i) if i % 3 == 0 then error('no') end end, i)
           agent.monitor(ids[i])
         end
         for i = 1, 300 do agent.receive() end
         local count = {}
         for i = 1, 300 do
           local s = agent.status(ids[i])
           count[s] = (count[s] or 0) + 1
         end
         agent.monitor(ids[3])
         local _, id, reason = agent.receive()
         report(count.finished, count.failed, id == ids[3], reason ~= 'normal')";
    for (name, make) in schedulers() {
        let mut sched = make();
        let (agents, id, lines) = insert_main(&mut *sched, AgentConfig::default(), src);
        sched.run(10_000);
        assert_eq!(*lines.lock().unwrap(), ["200 100 true true"], "{name}");
        // Only the main agent, inserted by the embedder, is on the dead
        // list; the spawned ones are known to their agents alone.
        assert_eq!(sched.dead(), [id], "{name}");
        assert_eq!(sched.status(id), finished(), "{name}");
        assert_eq!(agents.status(id), finished(), "{name}");
    }
}

/// Killing oneself ends the agent at once; a monitor of an id that names
/// no agent reports that id.
#[test]
fn killing_oneself_is_at_once() {
    let src = "local me = agent.self()
         local k = agent.spawn(function(boss) agent.send(boss, 'before') agent.kill(agent.self()) agent.send(boss, 'after') end, me)
         agent.monitor(k)
         agent.monitor(-7)
         local seen = {}
         for _ = 1, 3 do
           local a, b, c = agent.receive()
           seen[#seen + 1] = table.concat({tostring(a), tostring(b), tostring(c)}, ' ')
         end
         table.sort(seen)
         report(table.concat(seen, '; '))
         report(agent.receive(0))";
    for (name, make) in schedulers() {
        let (out, end) = run_main(make, AgentConfig::default(), src);
        let k = "2";
        assert_eq!(
            out,
            [
                format!("before nil nil; down -7 noproc; down {k} killed"),
                "nil".to_string()
            ],
            "{name}"
        );
        assert_eq!(end, finished(), "{name}");
    }
}

/// Every (id, status) a scheduler reported.
type StatusLog = Arc<Mutex<Vec<(TaskId, TaskStatus)>>>;

/// Records every (id, status) a scheduler reports.
fn install_logged(s: &mut dyn Scheduler, config: AgentConfig) -> (Agents, StatusLog) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&log);
    let a = Agents::install(
        s,
        config,
        Some(Box::new(move |id, st: &TaskStatus| {
            sink.lock().unwrap().push((id, st.clone()))
        })),
    );
    (a, log)
}

/// The first id in `log` that `pick` takes.
fn logged_id(log: &StatusLog, pick: impl Fn(TaskId) -> bool) -> TaskId {
    log.lock()
        .unwrap()
        .iter()
        .map(|(id, _)| *id)
        .find(|&id| pick(id))
        .expect("a logged task")
}

/// Agents not run yet (unborn) that another tick scheduler steals are
/// born as their spawner's agents make them: sandboxed.
#[test]
fn a_stolen_unborn_agent_is_born_in_its_spawners_sandbox() {
    let mut a = TickScheduler::new().with_tick_size(1);
    let (agents_a, _) = install_logged(
        &mut a,
        AgentConfig {
            sandboxed: true,
            ..AgentConfig::default()
        },
    );
    let main = agents_a
        .from_source(
            "main",
            b"
        for i = 1, 4 do agent.spawn(function() error('io=' .. tostring(io ~= nil), 0) end) end
        for i = 1, 1e10 do end",
        )
        .unwrap();
    let mid = a.insert(Box::new(main), 0);
    a.tick(); // main spawns 4 children (requests)
    a.tick(); // children taken (Virgin), main polled again
    let mut b = TickScheduler::new();
    let (_agents_b, log_b) = install_logged(&mut b, AgentConfig::default());
    assert!(b.steal_from(&a.stealer()) > 0);
    b.run(10_000);
    a.kill(mid);
    let ends: Vec<String> = log_b
        .lock()
        .unwrap()
        .iter()
        .filter_map(|(_, s)| match s {
            TaskStatus::Dead(End::Failed(e)) => Some(e.message.clone()),
            _ => None,
        })
        .collect();
    assert!(!ends.is_empty());
    assert!(
        ends.iter().all(|m| m == "io=false"),
        "sandboxed agents born outside the sandbox: {ends:?}"
    );
}

/// A spawned agent that the embedder moves into another scheduler is kept
/// there at its death, as any task is (only its spawner's scheduler
/// forgets it).
#[test]
fn a_moved_spawned_agent_keeps_its_end() {
    let mut a = RoundRobin::new();
    let (agents_a, log_a) = install_logged(&mut a, AgentConfig::default());
    let main = agents_a
        .from_source(
            "main",
            b"agent.spawn(function() agent.receive() error('child fails') end) agent.receive()",
        )
        .unwrap();
    a.insert(Box::new(main), 0);
    a.run(10_000);
    let child = logged_id(&log_a, |id| id.get() == 2);
    let task = a.remove(child).expect("live child");
    let mut b = RoundRobin::new(); // no agents installed: the embedder keeps ends itself
    let nid = b.insert(task, 0);
    b.deliver(
        nid,
        Box::new(vm_core::Packet::from_values([vm_core::JobValue::Int(1)])),
    )
    .unwrap();
    b.run(10_000);
    assert_eq!(b.live(), 0);
    assert!(
        matches!(b.status(nid), Some(TaskStatus::Dead(End::Failed(_)))),
        "B.status {:?}, B.dead {:?}",
        b.status(nid),
        b.dead()
    );
}

/// A killed agent, monitored after its death: the reason is `killed`.
#[test]
fn a_killed_agents_reason_outlives_it() {
    let mut a = RoundRobin::new();
    let (agents, _) = install_logged(&mut a, AgentConfig::default());
    let mut main = agents
        .from_source(
            "main",
            b"
        local k = agent.spawn(function() agent.receive() end)
        agent.kill(k)
        agent.receive(0.01)
        agent.monitor(k)
        local _, _, reason = agent.receive()
        assert(reason == 'killed', ('reason %q'):format(reason))",
        )
        .unwrap();
    let _ = main.vm();
    let id = a.insert(Box::new(main), 0);
    a.run(10_000);
    assert_eq!(
        a.status(id),
        Some(TaskStatus::Dead(End::Finished)),
        "{:?}",
        a.status(id)
    );
}

/// What a main agent reports when its child is removed from their
/// scheduler and given to `then` (whose result is kept until the
/// scheduler has run again). The scheduler allows two agents; main
/// spawns a child (which waits in `receive`), monitors it, reports a
/// spawn refused for want of room, then what its monitor is told and
/// another spawn.
fn reports_after_removing_the_child<R>(
    then: impl FnOnce(&mut RoundRobin, Box<dyn vm_sched::Task>) -> R,
) -> Vec<String> {
    let mut a = RoundRobin::new();
    let config = AgentConfig {
        max_agents: Some(2),
        ..AgentConfig::default()
    };
    let (agents, log) = install_logged(&mut a, config);
    let src = "local child = agent.spawn(function() agent.receive() end)
         agent.monitor(child)
         report(pcall(agent.spawn, function() end))
         local what, id, reason = agent.receive()
         report(what, id == child, reason, agent.status(child))
         -- Room again: the child no longer counts here.
         report(pcall(agent.spawn, function() end))";
    let mut main = agents.from_source("main", src.as_bytes()).unwrap();
    let lines = add_report(&mut main);
    let main = a.insert(Box::new(main), 0);
    a.run(10_000);
    let child = logged_id(&log, |id| id != main);
    let task = a.remove(child).expect("the child waits");
    let kept = then(&mut a, task);
    a.run(10_000);
    drop(kept);
    let out = lines.lock().unwrap().clone();
    out
}

/// An agent moved to another scheduler leaves its first agents: it no
/// longer counts toward their agent limit or reads as running there, and
/// their monitors of it are told `"down", id, "moved"`.
#[test]
fn a_moved_agent_leaves_its_first_agents() {
    let out = reports_after_removing_the_child(|_, task| {
        let mut b = TickScheduler::new();
        let others = Agents::install(&mut b, AgentConfig::default(), None);
        b.insert(task, 0);
        (b, others)
    });
    assert_eq!(
        out,
        [
            "false too many agents (the limit is 2)",
            "down true moved nil",
            "true 3"
        ]
    );
}

/// An agent removed from its scheduler and dropped, not inserted into
/// another, ends as far as its agents know: it fails with "dropped", no
/// longer counts toward their limit, and their monitors of it are told.
#[test]
fn a_removed_and_dropped_agent_ends_for_its_agents() {
    let out = reports_after_removing_the_child(|_, task| drop(task));
    assert_eq!(
        out,
        [
            "false too many agents (the limit is 2)",
            "down true dropped failed",
            "true 3"
        ]
    );
}

/// An agent moved into a scheduler without agents, where it gets the id
/// of an agent of its first scheduler, ends there without touching that
/// agent: its first scheduler's agents lost it when it moved.
#[test]
fn a_moved_agent_ending_elsewhere_leaves_its_old_id_alone() {
    let mut a = RoundRobin::new();
    let (agents, log) = install_logged(&mut a, AgentConfig::default());
    // A watcher of main passes on what its monitor tells it.
    let src = "local me = agent.self()
         agent.spawn(function() agent.monitor(me) agent.send(me, 'told', agent.receive()) end)
         agent.spawn(function() agent.receive() end)
         report(agent.receive())";
    let mut main = agents.from_source("main", src.as_bytes()).unwrap();
    let lines = add_report(&mut main);
    let main = a.insert(Box::new(main), 0);
    a.run(10_000);
    let child = logged_id(&log, |id| id.get() == 3);
    let task = a.remove(child).expect("the child waits");
    let mut b = RoundRobin::new(); // no agents installed
    let moved = b.insert(task, 0);
    assert_eq!(
        moved, main,
        "the test needs the child to get main's id in b"
    );
    b.deliver(
        moved,
        Box::new(vm_core::Packet::from_values([vm_core::JobValue::Int(1)])),
    )
    .unwrap();
    b.run(10_000);
    assert_eq!(b.status(moved), Some(TaskStatus::Dead(End::Finished)));
    a.run(10_000);
    a.deliver(
        main,
        Box::new(vm_core::Packet::from_values([vm_core::JobValue::Int(2)])),
    )
    .unwrap();
    a.run(10_000);
    assert_eq!(*lines.lock().unwrap(), ["2"]);
}

/// An agent removed and inserted again into its scheduler, under a new
/// id, leaves its old id: the old id no longer reads as live and its
/// watchers are told it moved.
#[test]
fn an_agent_reinserted_into_its_scheduler_leaves_its_old_id() {
    let out = reports_after_removing_the_child(|a, task| {
        a.insert(task, 0);
    });
    assert_eq!(
        out,
        [
            "false too many agents (the limit is 2)",
            "down true moved nil",
            "false too many agents (the limit is 2)"
        ]
    );
}

/// On work-stealing, a monitor's notice sent while the controller applies
/// a kill is delivered at once: the watcher waiting with a timeout gets
/// it without the controller first sleeping until that timeout (on a
/// manual clock, no time passes). It used to sleep to the next timer
/// every time the notice queued behind the batch.
#[test]
fn a_kills_notice_reaches_a_timed_receive_without_a_sleep() {
    let clock = vm_sched::ManualClock::new();
    let mut ws = WorkStealing::new(2).with_clock(clock.clone());
    let agents = Agents::install(&mut ws, AgentConfig::default(), None);
    let src = "for i = 1, 500 do
           local id = agent.spawn(function() agent.receive() end)
           agent.monitor(id)
           agent.kill(id)
           local what, who, reason = agent.receive(3)
           assert(what == 'down' and who == id and reason == 'killed', i)
         end";
    let main = agents.from_source("main", src.as_bytes()).unwrap();
    let id = ws.insert(Box::new(main), 0);
    ws.run(100_000);
    assert_eq!(
        ws.status(id),
        Some(TaskStatus::Dead(End::Finished)),
        "{:?}",
        ws.status(id)
    );
    assert!(
        vm_sched::Clock::now(&clock) < std::time::Duration::from_secs(3),
        "the controller slept to a timer: {:?}",
        vm_sched::Clock::now(&clock)
    );
}
