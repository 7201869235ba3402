//! Limits that hold whatever a program does: the hard instruction limit
//! (in driven runs and inside callbacks that cannot be suspended) and the
//! nesting of calls made by natives ("C stack overflow").

mod support;

use support::slices::{self, sliced};
use support::vm;
use vm_core::{
    Args, Cancelled, Continuation, Job, JobValue, LuaResult, NativeFunction, Outcome, Status, Step,
    Value, Vm,
};

static SLOW: NativeFunction = NativeFunction::new("slow", slow);
static SLOW_K: Continuation = Continuation::new("slow_k", slow_k);

/// `slow()`: offloads a job that answers 1.
fn slow(vm: &mut Vm, _args: Args) -> LuaResult<Step> {
    Ok(vm.offloadk(Job::new(|| Ok(vec![JobValue::Int(1)])), &SLOW_K, 0))
}

fn slow_k(_vm: &mut Vm, _args: Args, _status: Status, _ctx: i64) -> LuaResult<Step> {
    Ok(Step::Return(1))
}

/// Runs `src` to its end through `Vm::exec`; the error message on failure.
fn exec(vm: &mut Vm, src: &str) -> Result<Vec<Value>, String> {
    vm.exec(src.as_bytes(), "=test")
        .map_err(|e| vm.error_to_string(&e))
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        other => panic!("not an integer: {other:?}"),
    }
}

/// Endless loops in every place the standard library calls Lua from.
const ENDLESS: &[(&str, &str)] = &[
    ("main chunk", "while true do end"),
    ("pcall loop", "while true do pcall(function() while true do end end) end"),
    ("pcall of error", "while true do pcall(error, 'x') end"),
    ("sort comparator", "table.sort({3, 1, 2, 5, 4}, function(a, b) while true do end end)"),
    ("gsub callback", "string.gsub('abc', '%w', function(c) while true do end end)"),
    ("__tostring", "tostring(setmetatable({}, {__tostring = function() while true do end end}))"),
    ("__index from table.concat", "table.concat(setmetatable({}, {__index = function() while true do end end, __len = function() return 2 end}))"),
    ("__gc", "setmetatable({}, {__gc = function() while true do end end}) collectgarbage() collectgarbage()"),
    ("load reader", "load(function() while true do end end)"),
    // Blank text is not kept: the reading, not the memory, has no end.
    ("endless blank chunk", "load(function() return string.rep(' ', 1 << 16) end)"),
    ("endless comment", "local n = 0 load(function() n = n + 1 return n == 1 and '--[[' or string.rep('x', 1 << 16) end)"),
    ("xpcall handler", "xpcall(error, function() while true do end end)"),
    ("__close", "do local x <close> = setmetatable({}, {__close = function() while true do end end}) end"),
    ("__close from coroutine.close", "local co = coroutine.create(function() local x <close> = setmetatable({}, {__close = function() while true do end end}) coroutine.yield() end) coroutine.resume(co) coroutine.close(co)"),
    ("__close from a wrapped coroutine's error", "pcall(coroutine.wrap(function() local x <close> = setmetatable({}, {__close = function() while true do end end}) error('x') end))"),
    ("__lt from sort", "local mt = {__lt = function() while true do end end} table.sort({setmetatable({}, mt), setmetatable({}, mt)})"),
];

#[test]
fn the_instruction_limit_stops_endless_loops_everywhere() {
    for (what, src) in ENDLESS {
        let mut vm = vm();
        vm.set_instruction_limit(Some(100_000));
        let r = exec(&mut vm, src);
        match r {
            Err(msg) => assert!(msg.contains("instruction limit exceeded"), "{what}: {msg}"),
            Ok(_) => panic!("{what}: finished"),
        }
        // The VM is usable again once the limit is lifted.
        vm.set_instruction_limit(None);
        let r = exec(&mut vm, "return 1 + 1").unwrap();
        assert_eq!(int(&r[0]), 2, "{what}");
    }
}

#[test]
fn the_instruction_limit_counts_across_driven_slices() {
    let mut vm = vm();
    vm.set_instruction_limit(Some(10_000));
    let f = vm
        .load(b"local s = 0 for i = 1, 1e9 do s = s + i end", "=slices")
        .unwrap();
    let main = vm.main_thread();
    let mut out = vm.start(f, &[], 7);
    let mut slices = 0;
    let err = loop {
        match out {
            Ok(Outcome::OutOfFuel) => {
                slices += 1;
                out = vm.resume(main, &[], 7);
            }
            Ok(other) => panic!("unexpected {other:?}"),
            Err(e) => break vm.error_to_string(&e),
        }
    };
    assert!(err.contains("instruction limit exceeded"), "{err}");
    // 10,000 units in slices of 7: about 1,430 slices, none of them longer.
    assert!((1400..=1440).contains(&slices), "{slices} slices");
    assert_eq!(vm.instruction_limit_left(), Some(0));
}

#[test]
fn a_pcall_cannot_outlive_the_instruction_limit() {
    let mut vm = vm();
    vm.set_instruction_limit(Some(50_000));
    let r = exec(
        &mut vm,
        "local caught = 0
         while true do
           local ok = pcall(function() while true do end end)
           if not ok then caught = caught + 1 end
         end",
    );
    assert!(r.unwrap_err().contains("instruction limit exceeded"));
}

#[test]
fn a_message_handler_may_still_run_past_the_limit() {
    let mut vm = vm();
    vm.set_instruction_limit(Some(20_000));
    let r = exec(
        &mut vm,
        "local got
         xpcall(function() while true do end end, function(m) got = 'handled: ' .. m end)
         return got",
    );
    // The handler ran (and built its string); the chunk itself then failed.
    assert!(r.unwrap_err().contains("instruction limit exceeded"));
}

#[test]
fn a_limit_well_above_the_work_changes_nothing() {
    let mut vm = vm();
    vm.set_instruction_limit(Some(10_000_000));
    let r = exec(
        &mut vm,
        "local s = 0 for i = 1, 1000 do s = s + i end return s",
    )
    .unwrap();
    assert_eq!(int(&r[0]), 500_500);
    let left = vm.instruction_limit_left().unwrap();
    // Two instructions an iteration (ADD, FORLOOP) and a few around.
    let used = 10_000_000 - left;
    assert!((2000..2020).contains(&used), "{used}");
}

#[test]
fn pcall_recursion_ends_with_c_stack_overflow() {
    let mut vm = vm();
    let r = exec(
        &mut vm,
        "local n = 0
         local function f() n = n + 1 return pcall(f) end
         local t = table.pack(f())
         return n, t.n, t[t.n], t[1], t[t.n - 1]",
    )
    .unwrap();
    let n = int(&r[0]);
    assert!((190..=200).contains(&n), "{n} levels");
    assert_eq!(int(&r[1]), n + 1);
    assert_eq!(vm.str_bytes(r[2]), Some(&b"C stack overflow"[..]));
    assert!(matches!(r[3], Value::Bool(true)));
    assert!(matches!(r[4], Value::Bool(false)));
    // The count unwinds with the calls: the same depth is available again.
    let again = exec(
        &mut vm,
        "local n = 0
         local function f() n = n + 1 return pcall(f) end
         f() return n",
    )
    .unwrap();
    assert_eq!(int(&again[0]), n);
}

#[test]
fn errors_unwinding_native_calls_give_their_depth_back() {
    let mut vm = vm();
    let r = exec(
        &mut vm,
        "local n = 0
         local function f(d) if d == 0 then error('bottom') end n = n + 1 return select(2, pcall(f, d - 1)) end
         for i = 1, 50 do n = 0 local ok = pcall(function() f(150) error('x') end) end
         n = 0
         local function g() n = n + 1 return pcall(g) end
         g() return n",
    )
    .unwrap();
    assert!((190..=200).contains(&int(&r[0])), "{:?}", r[0]);
}

#[test]
fn lua_recursion_and_coroutine_chains_are_not_native_nesting() {
    let mut vm = vm();
    let r = exec(
        &mut vm,
        "local function depth(n) if n == 0 then return 0 end return 1 + depth(n - 1) end
         local d = depth(100000)
         local function chain(n)
           if n == 0 then return 0 end
           return 1 + select(2, coroutine.resume(coroutine.create(chain), n - 1))
         end
         return d, chain(5000)",
    )
    .unwrap();
    assert_eq!(int(&r[0]), 100_000);
    assert_eq!(int(&r[1]), 5000);
}

/// Endless loops inside callbacks that run through the interpreter loop:
/// every slice comes back to the driver within its budget plus a small
/// overshoot.
#[test]
fn endless_callbacks_come_back_to_the_driver_every_slice() {
    let cases = [
        "table.sort({3, 1, 2, 5, 4}, function(a, b) while true do end end)",
        "local mt = {__lt = function() while true do end end} table.sort({setmetatable({}, mt), setmetatable({}, mt)})",
        "tostring(setmetatable({}, {__tostring = function() while true do end end}))",
        "print(1, setmetatable({}, {__tostring = function() while true do end end}))",
        "xpcall(error, function() while true do end end)",
        "setmetatable({}, {__gc = function() while true do end end}) for i = 1, 1e7 do local t = {} end",
        "xpcall(function() local x = nil; return x.y end, function(m) return select(2, pcall(function() while true do end end)) end)",
        "table.sort(setmetatable({}, {__len = function() while true do end end, __index = rawget, __newindex = rawset}))",
        "table.sort(setmetatable({}, {__len = function() return 3 end, __index = function() while true do end end, __newindex = rawset}))",
        "local co = coroutine.create(function() local x <close> = setmetatable({}, {__close = function() while true do end end}) coroutine.yield() end)
         coroutine.resume(co) coroutine.close(co)",
        "local co = coroutine.create(function() local x <close> = setmetatable({}, {__close = function() while true do end end}) error('x') end)
         coroutine.resume(co) coroutine.close(co)",
        "pcall(coroutine.wrap(function() local x <close> = setmetatable({}, {__close = function() while true do end end}) error('x') end))",
        "local x <close> = setmetatable({}, {__close = function() while true do end end}) error('x')",
        "setmetatable({}, {__gc = function() while true do end end}) collectgarbage()",
        "local mt = {__lt = function() while true do end end} math.max(setmetatable({}, mt), setmetatable({}, mt))",
        "local mt = {__lt = function() while true do end end} math.min(1, setmetatable({}, mt))",
        "debug.sethook(function() while true do end end, 'l')\nlocal x = 1",
        "debug.sethook(function() while true do end end, 'c') print()",
        "debug.sethook(function() while true do end end, 'r') local x = 1",
        "debug.sethook(function() while true do end end, '', 1) local x = 1",
        "local co = coroutine.create(function() local x = 1 end)
         debug.sethook(co, function() while true do end end, 'l') coroutine.resume(co)",
    ];
    // One `collectgarbage()`'s charge: a unit per 32 bytes of this small
    // heap (the standard library's, after a collection), plus what the
    // test's code holds.
    let mut fresh = vm();
    fresh.full_gc();
    let collection = fresh.memory_used() as u64 / 32;
    for src in cases {
        let (slices, most, end) = sliced(src, 1000, 50);
        assert_eq!(end, Err("still running".to_string()), "{src}");
        assert_eq!(slices, 50, "{src}");
        // K: a few units, or one collection's charge run alone in a slice.
        assert!(
            most <= collection + collection / 4 + 100,
            "{src}: a slice used {most}, a collection costs {collection}"
        );
    }
}

/// A stack overflow leaving the main call (driven or through `Vm::call`),
/// or killing a coroutine, still runs the pending `__close` handlers with
/// its error, as PUC's `luaD_pcall` does: they run just above their
/// variables, where there is room (they used to be skipped).
#[test]
fn a_stack_overflow_still_closes_pending_variables() {
    let src =
        "local x <close> = setmetatable({}, {__close = function(_, e) CLOSED = tostring(e) end})
               local function f() return 1 + f() end
               f()";
    let co_src = "local co = coroutine.create(function() \
                    local x <close> = setmetatable({}, {__close = function(_, e) CLOSED = tostring(e) end}) \
                    local function f() return 1 + f() end f() end) \
                  assert(not coroutine.resume(co)) \
                  local ok, e = coroutine.close(co) \
                  return ok, tostring(e)";
    for driven in [false, true] {
        let mut vm = vm();
        let r = if driven {
            let f = vm.load(src.as_bytes(), "=s").unwrap();
            vm.start(f, &[], 1 << 40)
                .map(drop)
                .map_err(|e| e.to_string())
        } else {
            exec(&mut vm, src).map(drop)
        };
        let err = r.expect_err("the overflow leaves the call");
        assert!(err.contains("stack overflow"), "{err}");
        let closed = vm.get_global("CLOSED");
        let closed = vm.to_display(closed);
        assert!(
            closed.contains("stack overflow"),
            "driven: {driven}: {closed}"
        );
        let r = exec(&mut vm, co_src).unwrap();
        assert!(matches!(r[0], Value::Bool(false)));
        let closed = vm.get_global("CLOSED");
        assert_eq!(vm.to_display(closed), vm.to_display(r[1]));
        vm.check_invariants().unwrap();
    }
}

/// An error leaving a driven run is rendered for the embedder without
/// running Lua: an endless `__tostring` cannot hold the driver call (it
/// used to run to its end there, with no budget).
#[test]
fn an_escaping_error_is_rendered_without_running_lua() {
    let mut vm = vm();
    let f = vm
        .load(
            b"error(setmetatable({}, {__tostring = function() while true do end end}))",
            "=e",
        )
        .unwrap();
    let e = vm.start(f, &[], 1000).unwrap_err();
    assert_eq!(e.message(), Some("(error object is a table value)"));
    assert!(vm.fuel_used() <= 1000);
    assert_eq!(int(&exec(&mut vm, "return 1 + 1").unwrap()[0]), 2);
}

/// Lua hooks run in slices like any Lua code: a program traced by line,
/// call, return and count hooks reports the same events (and its hooks
/// see the same stack) whatever the slice, down to a single unit.
#[test]
fn a_sliced_hooked_run_reports_the_same_events() {
    let src = "
        local log = {}
        local function hook(event, line)
          local info = debug.getinfo(2, 'nSl')
          log[#log + 1] = event .. ':' .. tostring(line) .. ':' .. tostring(info.name)
            .. ':' .. info.currentline
          -- The hook's own work is budgeted too.
          local s = 0
          for i = 1, 20 do s = s + i end
        end
        local function f(n)
          if n == 0 then return 0 end
          return 1 + f(n - 1)
        end
        debug.sethook(hook, 'crl', 7)
        local t = {}
        for i = 1, 3 do t[i] = f(i) end
        table.sort(t, function(a, b) return a > b end)
        local s = tostring(t[1]) .. string.rep('x', 2)
        debug.sethook()
        return table.concat(log, ' ') .. '|' .. s
    ";
    let whole = slices::run(&mut vm(), src, u64::MAX / 4, 1, false);
    let Ok(expected) = whole.end else {
        panic!("{:?}", whole.end)
    };
    assert!(expected.contains("line:") && expected.contains("count:"));
    for slice in [1, 2, 3, 7, 50] {
        let r = slices::run(&mut vm(), src, slice, 1_000_000, false);
        assert_eq!(r.end.as_deref(), Ok(expected.as_str()), "slice {slice}");
        // A native whose work is bounded by its input (the final
        // `table.concat`, about 40 units) runs whole as a slice's first step.
        assert!(
            r.most <= slice.max(64) + 10,
            "slice {slice}: a slice used {}",
            r.most
        );
    }
}

/// A run parked inside a Lua hook can be cancelled; the thread's hook
/// state is whole again (a new run is traced as before).
#[test]
fn cancel_a_run_parked_inside_a_hook() {
    let mut vm = vm();
    park_main(
        &mut vm,
        "debug.sethook(function() while true do end end, 'l')\nlocal x = 1",
        100,
        3,
    );
    let main = vm.main_thread();
    assert!(matches!(vm.cancel(main, 1000), Ok(Cancelled::Closed(None))));
    // The endless hook is still set, as a hook outlives the run that set it.
    assert!(vm.hook(main).is_some());
    vm.set_hook(main, None).unwrap();
    let r = exec(
        &mut vm,
        "local n = 0
         debug.sethook(function() n = n + 1 end, 'l')
         local a = 1
         local b = 2
         debug.sethook()
         return n",
    )
    .unwrap();
    assert_eq!(int(&r[0]), 3);
    vm.check_invariants().unwrap();
}

/// Sorting in slices gives the same comparator calls and result as
/// sorting in one go, including the metamethods of a proxy list.
#[test]
fn a_sliced_sort_is_the_same_sort() {
    let src = "
        local log = {}
        local store = {}
        for i = 1, 300 do store[i] = (i * 7919) % 1009 end
        local proxy = setmetatable({}, {
          __len = function() return #store end,
          __index = function(_, i) log[#log + 1] = i return store[i] end,
          __newindex = function(_, i, v) store[i] = v end,
        })
        local calls = 0
        table.sort(proxy, function(a, b) calls = calls + 1 return a > b end)
        for i = 2, #store do assert(store[i - 1] >= store[i]) end
        local plain = {}
        for i = 1, 2000 do plain[i] = (i * 31) % 977 end
        table.sort(plain)
        for i = 2, #plain do assert(plain[i - 1] <= plain[i]) end
        RESULT = calls * 100000 + #log
    ";
    let whole = {
        let mut vm = vm();
        vm.exec(src.as_bytes(), "=whole").unwrap();
        vm.get_global("RESULT")
    };
    for slice in [1, 7, 100, 5000] {
        let mut vm = vm();
        let f = vm.load(src.as_bytes(), "=sliced").unwrap();
        let main = vm.main_thread();
        let mut out = vm.start(f, &[], slice);
        while let Ok(Outcome::OutOfFuel) = out {
            vm.full_gc();
            out = vm.resume(main, &[], slice);
        }
        assert!(matches!(out, Ok(Outcome::Return(_))), "{out:?}");
        assert!(vm.get_global("RESULT").raw_eq(whole), "slice {slice}");
    }
}

/// A sort of a large plain list pays for its work: it is suspended many
/// times instead of running in one unit.
#[test]
fn a_long_sort_is_paid_for_and_suspended() {
    let src = "local t = {} for i = 1, 20000 do t[i] = (i * 7919) % 10007 end
               table.sort(t)
               for i = 2, #t do assert(t[i - 1] <= t[i]) end";
    let (slices, most, end) = sliced(src, 10_000, 100_000);
    assert!(end.is_ok(), "{end:?}");
    assert!(slices > 20, "{slices} slices");
    assert!(most <= 10_100, "a slice used {most}");
}

/// Starts `src` on the main thread with a budget of `slice` and resumes it
/// `slices - 1` more times: the run is then parked.
fn park_main(vm: &mut Vm, src: &str, slice: u64, slices: usize) {
    let f = vm.load(src.as_bytes(), "=parked").unwrap();
    let main = vm.main_thread();
    let mut out = vm.start(f, &[], slice);
    for _ in 1..slices {
        assert!(matches!(out, Ok(Outcome::OutOfFuel)), "{out:?}");
        out = vm.resume(main, &[], slice);
    }
    assert!(matches!(out, Ok(Outcome::OutOfFuel)), "{out:?}");
}

#[test]
fn cancel_unwinds_a_parked_main_run_and_leaves_the_vm_usable() {
    let mut vm = vm();
    vm.gc_set_stress(true);
    park_main(
        &mut vm,
        "local outer <close> = setmetatable({}, {__close = function(_, e) CLOSED = (CLOSED or '') .. 'outer:' .. tostring(e) .. ';' end})
         pcall(function()
           local inner <close> = setmetatable({}, {__close = function(_, e) CLOSED = (CLOSED or '') .. 'inner:' .. tostring(e) .. ';' end})
           while true do end
         end)",
        100,
        3,
    );
    let main = vm.main_thread();
    assert!(matches!(vm.cancel(main, 1000), Ok(Cancelled::Closed(None))));
    let closed = vm.get_global("CLOSED");
    assert_eq!(
        vm.str_bytes(closed),
        Some(&b"inner:cancelled;outer:cancelled;"[..])
    );
    // Nothing is left to resume; a new call runs.
    assert!(vm.resume(main, &[], 100).is_err());
    assert!(vm.cancel(main, 1000).is_err());
    let r = exec(&mut vm, "return 6 * 7").unwrap();
    assert_eq!(int(&r[0]), 42);
    vm.check_invariants().unwrap();
}

#[test]
fn cancel_unwinds_every_coroutine_of_a_parked_chain() {
    let mut vm = vm();
    exec(
        &mut vm,
        "LOG = {}
         local function closer(name)
           return setmetatable({}, {__close = function(_, e) LOG[#LOG + 1] = name .. ':' .. tostring(e) end})
         end
         INNER = coroutine.create(function()
           local c <close> = closer('inner')
           while true do end
         end)
         OUTER = coroutine.create(function()
           local c <close> = closer('outer')
           coroutine.resume(INNER)
         end)",
    )
    .unwrap();
    let Value::Thread(outer) = vm.get_global("OUTER") else {
        panic!("a thread")
    };
    let Value::Thread(inner) = vm.get_global("INNER") else {
        panic!("a thread")
    };
    assert!(matches!(vm.resume(outer, &[], 500), Ok(Outcome::OutOfFuel)));
    assert!(matches!(
        vm.cancel(outer, 1000),
        Ok(Cancelled::Closed(None))
    ));
    let log = exec(&mut vm, "return table.concat(LOG, ' ')").unwrap();
    assert_eq!(
        vm.str_bytes(log[0]),
        Some(&b"inner:cancelled outer:cancelled"[..])
    );
    assert_eq!(vm.thread_status(outer), vm_core::ThreadStatus::Dead);
    assert_eq!(vm.thread_status(inner), vm_core::ThreadStatus::Dead);
    assert!(vm.resume(outer, &[], 100).is_err());
    let r = exec(
        &mut vm,
        "return coroutine.status(INNER), coroutine.close(INNER)",
    )
    .unwrap();
    assert_eq!(vm.str_bytes(r[0]), Some(&b"dead"[..]));
    vm.check_invariants().unwrap();
}

#[test]
fn cancel_drops_a_pending_offload_and_closes_a_yielded_coroutine() {
    let mut vm = vm();
    // A run waiting for its job is cancelled; the job's result has no
    // taker any more.
    let slow = vm.new_native(&SLOW);
    vm.set_global("slow", slow).unwrap();
    let f = vm
        .load(b"local c <close> = setmetatable({}, {__close = function(_, e) OFF = e end}) return slow()", "=off")
        .unwrap();
    let main = vm.main_thread();
    let Ok(Outcome::Offload(job)) = vm.start(f, &[], 1000) else {
        panic!("an offload")
    };
    assert!(matches!(vm.cancel(main, 1000), Ok(Cancelled::Closed(None))));
    let off = vm.get_global("OFF");
    assert_eq!(vm.str_bytes(off), Some(&b"cancelled"[..]));
    assert!(vm.complete_offload(main, job.run()).is_err());
    // A yielded coroutine is closed as coroutine.close would.
    exec(
        &mut vm,
        "CO = coroutine.create(function()
           local c <close> = setmetatable({}, {__close = function(_, e) CLOSED_WITH = e end})
           coroutine.yield(1)
         end)",
    )
    .unwrap();
    let Value::Thread(co) = vm.get_global("CO") else {
        panic!("a thread")
    };
    assert!(matches!(vm.resume(co, &[], 1000), Ok(Outcome::Yield(_))));
    assert!(matches!(vm.cancel(co, 1000), Ok(Cancelled::Closed(None))));
    assert_eq!(vm.thread_status(co), vm_core::ThreadStatus::Dead);
    let with = vm.get_global("CLOSED_WITH");
    assert_eq!(vm.str_bytes(with), Some(&b"cancelled"[..]));
    // A __close handler's error is reported.
    park_main(
        &mut vm,
        "local c <close> = setmetatable({}, {__close = function() error('in close', 0) end})
         while true do end",
        50,
        1,
    );
    let main = vm.main_thread();
    let Ok(Cancelled::Closed(Some(raised))) = vm.cancel(main, 1000) else {
        panic!("the handler's error")
    };
    assert_eq!(vm.str_bytes(raised), Some(&b"in close"[..]));
    let r = exec(&mut vm, "return 1").unwrap();
    assert_eq!(int(&r[0]), 1);
}

/// A cancel runs the `__close` handlers under its budget: an endless one
/// parks the cancel like any run (it used to hold the embedder's call for
/// good), `resume` continues it, and a second cancel abandons it.
#[test]
fn cancel_runs_the_handlers_under_a_budget() {
    const ENDLESS_CLOSE: &str = "
        local a <close> = setmetatable({}, {__close = function() A = true end})
        local b <close> = setmetatable({}, {__close = function() while true do end end})
        while true do end";
    let mut vm = vm();
    park_main(&mut vm, ENDLESS_CLOSE, 100, 2);
    let main = vm.main_thread();
    for _ in 0..20 {
        assert!(matches!(
            vm.cancel(main, 1000),
            Ok(Cancelled::Parked(Outcome::OutOfFuel))
        ));
        assert!(vm.fuel_used() <= 1000 + 160, "{}", vm.fuel_used());
        // The closing is a parked run: resume goes on with it.
        assert!(matches!(vm.resume(main, &[], 1000), Ok(Outcome::OutOfFuel)));
        // Cancelled again: abandoned, `a`'s handler never runs.
        assert!(matches!(vm.cancel(main, 1000), Ok(Cancelled::Closed(None))));
        assert!(vm.get_global("A").is_nil());
        let r = exec(&mut vm, "return 6 * 7").unwrap();
        assert_eq!(int(&r[0]), 42);
        park_main(&mut vm, ENDLESS_CLOSE, 100, 2);
    }
    vm.check_invariants().unwrap();
}

/// Cancelling in slices of any size runs the same handlers, in the same
/// order, with the same errors, as one cancel with a large budget: a
/// protected call of the run closes its variables but does not catch the
/// cancel, each coroutine of the chain closes its own, a handler's own
/// `pcall` works, a failing handler passes its error on, and a handler
/// cannot yield.
#[test]
fn a_sliced_cancel_runs_the_same_handlers() {
    let src = "LOG = {}
        local function log(s) LOG[#LOG + 1] = s end
        local function spin(n) local x = 0 for i = 1, n do x = x + i end return x end
        local function closer(name, f)
          return setmetatable({}, {__close = function(_, e)
            spin(300)
            log(name .. ':' .. tostring(e))
            if f then f() end
          end})
        end
        local inner = coroutine.create(function()
          local i1 <close> = closer('i1', function()
            log('yield: ' .. tostring(select(2, pcall(coroutine.yield))))
          end)
          local i2 <close> = closer('i2', function() error('i2 failed', 0) end)
          pcall(function()
            local i3 <close> = closer('i3', function()
              log('pcall in handler: ' .. tostring(select(2, pcall(error, 'own', 0))))
            end)
            while true do spin(10) end
          end)
          log('inner caught it')
        end)
        local o1 <close> = closer('o1', function()
          log('yield: ' .. tostring(select(2, pcall(coroutine.yield))))
        end)
        local ok, e = pcall(coroutine.resume, inner)
        log('outer caught it')";
    let mut expected: Option<(Vec<u8>, Option<String>)> = None;
    for slice in [1_000_000u64, 50, 200, 1000, 7] {
        let mut vm = vm();
        vm.gc_set_stress(slice == 50);
        park_main(&mut vm, src, 3000, 1);
        let main = vm.main_thread();
        let mut r = vm.cancel(main, slice);
        let mut slices = 1;
        while let Ok(Cancelled::Parked(Outcome::OutOfFuel)) = r {
            slices += 1;
            r = match vm.resume(main, &[], slice) {
                Ok(Outcome::OutOfFuel) => Ok(Cancelled::Parked(Outcome::OutOfFuel)),
                Ok(o) => panic!("{o:?}"),
                Err(e) => Ok(Cancelled::Closed(Some(e.value()))),
            };
        }
        let Ok(Cancelled::Closed(raised)) = r else {
            panic!("{r:?}")
        };
        let raised = raised.map(|v| vm.to_display(v));
        let log = exec(&mut vm, "return table.concat(LOG, ' ')").unwrap();
        let log = vm.str_bytes(log[0]).unwrap().to_vec();
        if slice == 1_000_000 {
            assert_eq!(slices, 1);
            assert_eq!(
                String::from_utf8_lossy(&log),
                "i3:cancelled pcall in handler: own i2:cancelled i1:i2 failed \
                 yield: attempt to yield across a C-call boundary \
                 o1:i2 failed yield: attempt to yield from outside a coroutine"
            );
            assert_eq!(raised.as_deref(), Some("i2 failed"));
            expected = Some((log, raised));
        } else {
            assert!(slices > 2, "{slice}: {slices}");
            let (elog, eraised) = expected.as_ref().unwrap();
            assert_eq!(&log, elog, "{slice}");
            // A resumed cancel ends as its run: with the error.
            assert!(
                raised.is_none() || raised == *eraised,
                "{slice}: {raised:?}"
            );
        }
        let r = exec(&mut vm, "return 6 * 7").unwrap();
        assert_eq!(int(&r[0]), 42);
        vm.check_invariants().unwrap();
    }
}

/// Memory bombs under a limit: each raises "not enough memory", which
/// `pcall` catches, and the VM goes on (the garbage is collected).
const BOMBS: &[(&str, &str)] = &[
    (
        "table growth",
        "local t = {} for i = 1, 1e9 do t[i] = i end",
    ),
    (
        "hash growth",
        "local t = {} for i = 1, 1e9 do t['k' .. i] = true end",
    ),
    (
        "string doubling",
        "local s = 'x' while true do s = s .. s end",
    ),
    (
        "tables of tables",
        "local t = {} for i = 1, 1e9 do t[i] = {i, i, i} end",
    ),
    (
        "constructor",
        "local t = {} for i = 1, 1e9 do t[#t + 1] = {1, 2, 3, 4, 5, 6, 7, 8} end",
    ),
    (
        "closures",
        "local t = {} for i = 1, 1e9 do t[i] = function() return i end end",
    ),
    (
        "deep recursion",
        "local function f(n) return f(n + 1) + 1 end f(1)",
    ),
    (
        "coroutines",
        "local t = {} for i = 1, 1e9 do t[i] = coroutine.create(print) end",
    ),
    (
        "table.concat of one string many times",
        "local s = string.rep('x', 1 << 20) local t = {} for i = 1, 10000 do t[i] = s end
         table.concat(t)",
    ),
    (
        "string.format of one string many times",
        "local s = string.rep('x', 1 << 20) local t = {} for i = 1, 200 do t[i] = s end
         string.format(string.rep('%s', 200), table.unpack(t))",
    ),
    (
        "string.pack of one string many times",
        "local s = string.rep('x', 1 << 20) local t = {} for i = 1, 200 do t[i] = s end
         string.pack(string.rep('z', 200), table.unpack(t))",
    ),
    ("string.pack padding", "string.pack('c2000000000', 'x')"),
    (
        "load from an endless reader",
        "local f, e = load(function() return 'x = 1 ' end) error(e, 0)",
    ),
    (
        "load from a reader of large pieces",
        "local s = string.rep('a=1;', 1 << 18) local f, e = load(function() return s end) error(e, 0)",
    ),
    (
        "load of a long unfinished string",
        "local n = 0 local f, e = load(function() n = n + 1 return n == 1 and 'a = \\'' or 'xxxxxxxx' end)
         error(e, 0)",
    ),
    (
        "load of a large chunk",
        "local f, e = load(string.rep('a = 1 ', 3e6)) error(e, 0)",
    ),
    (
        "a path search's names and \"no file\" list",
        "local f, e = package.searchpath(('x'):rep(1e6), ('?;'):rep(1e5)) error(e, 0)",
    ),
    (
        "values kept by parked coroutines",
        "local big = {} for i = 1, 1e5 do big[i] = i end local t = {}
         for i = 1, 1e9 do
           local co = coroutine.create(function(...) coroutine.yield() end)
           coroutine.resume(co, table.unpack(big)) t[i] = co
         end",
    ),
];

/// A chain of 10,000 coroutines resuming each other, each returning all
/// the results of the one it resumed (quadratic values in all, most of
/// them garbage at once): it works under a tight limit, as the values
/// moved between stacks are counted and collected.
#[test]
fn a_deep_chain_of_resumes_runs_under_a_tight_limit() {
    let mut vm = vm();
    vm.set_memory_limit(Some(32 << 20));
    let r = exec(
        &mut vm,
        "local depth = 0
         local function dd()
           depth = depth + 1
           if depth == 10000 then return 'bottom' end
           return coroutine.resume(coroutine.create(dd))
         end
         local r = table.pack(dd())
         return r.n, r[r.n]",
    )
    .unwrap();
    assert_eq!(int(&r[0]), 10_000);
    assert_eq!(vm.to_display(r[1]), "bottom");
    assert!(vm.memory_used() < 32 << 20);
}

#[test]
fn memory_bombs_raise_not_enough_memory_and_the_vm_goes_on() {
    for (what, src) in BOMBS {
        let mut vm = vm();
        vm.set_memory_limit(Some(32 << 20));
        let r = exec(
            &mut vm,
            &format!("local ok, e = pcall(function() {src} end) return ok, e"),
        );
        let r = r.unwrap_or_else(|e| panic!("{what}: escaped: {e}"));
        assert!(matches!(r[0], Value::Bool(false)), "{what}");
        let msg = String::from_utf8_lossy(vm.str_bytes(r[1]).unwrap_or(b"?")).into_owned();
        assert!(
            msg == "not enough memory" || msg.ends_with("stack overflow"),
            "{what}: {msg}"
        );
        // The garbage goes and the VM works normally again.
        let r = exec(
            &mut vm,
            "collectgarbage() local t = {} for i = 1, 1000 do t[i] = i .. '' end return #t",
        )
        .unwrap();
        assert_eq!(int(&r[0]), 1000, "{what}");
        assert!(vm.memory_used() < 32 << 20, "{what}: {}", vm.memory_used());
        vm.check_invariants().unwrap();
    }
}

/// Loading in pieces or from a string under a limit that garbage fills,
/// with the collector stopped: a parse that runs out of room collects and
/// tries again, as PUC's allocator does before it fails, and so does a
/// safe point past the limit (which used to raise "not enough memory"
/// again at once after the `pcall` caught it, for ever).
#[test]
fn loads_collect_before_they_fail() {
    for (what, lines, load) in [
        (
            "reader",
            8000,
            "load(function() i = i + 1 return pieces[i] end)",
        ),
        ("string", 8000, "load(table.concat(pieces))"),
        (
            "pcall reader",
            5000,
            "select(2, pcall(load, function() i = i + 1 return pieces[i] end))",
        ),
    ] {
        let mut vm = vm();
        vm.set_memory_limit(Some(16 << 20));
        let r = exec(
            &mut vm,
            &format!(
                "pieces = {{}}
                 for k = 1, {lines} do pieces[k] = 'a' .. k .. ' = {{' .. k .. ', \"x\"}}\\n' end
                 collectgarbage()
                 collectgarbage('stop')
                 -- Garbage: 10 MB that only a collection frees.
                 for k = 1, 160 do local _ = string.rep('g', 65536) .. k end
                 i = 0
                 local f, e = {load}
                 collectgarbage('restart')
                 return f ~= nil, tostring(e)"
            ),
        )
        .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            matches!(r[0], Value::Bool(true)),
            "{what}: {}",
            vm.to_display(r[1])
        );
    }
}

/// Found by a hostile pass: a program that catches "not enough memory"
/// and keeps what it allocated got a fresh grace for its handlers at each
/// error, so the heap crept past the limit by 64 KB per caught error
/// (under `ulimit -v` until a slot map's doubling aborted the process).
/// The graces now come out of one margin over the limit; once it is spent
/// every allocation fails, and dropping the data brings the VM back.
#[test]
fn catching_memory_errors_cannot_creep_past_the_limit() {
    const LIMIT: usize = 8 << 20;
    let mut vm = vm();
    vm.set_memory_limit(Some(LIMIT));
    let r = exec(
        &mut vm,
        "local caught, peak = 0, 0
         -- Closures: a table constructor's growth would check the limit.
         local function fill() while true do local prev = HEAD HEAD = function() return prev end end end
         for i = 1, 100 do
           if not pcall(fill) then caught = caught + 1 end
           local kb = collectgarbage('count')
           if kb > peak then peak = kb end
         end
         return caught, peak * 1024",
    )
    .unwrap();
    assert_eq!(int(&r[0]), 100);
    let Value::Num(peak) = r[1] else {
        panic!("peak: {:?}", r[1])
    };
    // The margin: 1/16 of the limit and one 64 KB grace (a small slack
    // for what the last safe point allocated).
    let ceiling = LIMIT + LIMIT / 16 + (64 << 10) + (8 << 10);
    assert!(peak as usize <= ceiling, "peak {peak} over {ceiling}");
    assert!(vm.memory_used() <= ceiling, "{}", vm.memory_used());
    // Allocating fails until the data goes (even loading a chunk, as in
    // PUC); then all is as before.
    let r = exec(&mut vm, "return 1");
    assert_eq!(r.unwrap_err(), "not enough memory");
    vm.set_global("HEAD", Value::Nil).unwrap();
    let r = exec(
        &mut vm,
        "local t = {} for i = 1, 1000 do t[i] = i .. '' end return #t",
    );
    assert_eq!(int(&r.unwrap()[0]), 1000);
    assert!(vm.memory_used() < LIMIT / 2, "{}", vm.memory_used());
}

/// Found by a hostile pass: a collection made for room that did not free
/// enough was free of charge, so a program holding data near the limit
/// that kept catching "not enough memory" (or finalizers that kept failing
/// for room) ran for minutes past the instruction limit. Each is paid as
/// `collectgarbage()` is, and none is made once the limit is passed.
#[test]
fn failed_collections_are_paid_for() {
    let fill = "local keep = {} pcall(function() local i = 0 while true do i = i + 1 keep[i] = {i} end end)";
    for (what, src) in [
        (
            "caught growth",
            format!("{fill} while true do pcall(function() local t = {{}} for i = 1, 1e6 do t[i] = i end end) end"),
        ),
        (
            "caught string.rep",
            format!("{fill} while true do pcall(string.rep, 'x', 1 << 20) end"),
        ),
        (
            "finalizers that keep their objects",
            "KEEP = {} local mt = {__gc = function(o) KEEP[#KEEP + 1] = o end}
             for i = 1, 1e7 do setmetatable({}, mt) end"
                .to_string(),
        ),
    ] {
        let mut vm = vm();
        vm.set_memory_limit(Some(8 << 20));
        vm.set_instruction_limit(Some(3_000_000));
        // (The finalizers' objects may also fill the heap first.)
        let r = exec(&mut vm, &src);
        assert!(
            matches!(&r, Err(m) if m.contains("instruction limit exceeded")
                || (what.starts_with("finalizers") && m == "not enough memory")),
            "{what}: {r:?}"
        );
    }
}

#[test]
fn garbage_heavy_programs_run_under_a_tight_limit() {
    let mut vm = vm();
    vm.set_memory_limit(Some(4 << 20));
    // Far more than 4 MiB allocated in all, little of it live at once.
    let r = exec(
        &mut vm,
        "local n = 0
         for i = 1, 20000 do
           local t = {i, tostring(i), {i}}
           local s = string.rep('x', 100) .. i
           n = n + #t + #s
         end
         return n",
    )
    .unwrap();
    assert!(int(&r[0]) > 20000 * 100);
}

#[test]
fn memory_used_counts_thread_stacks() {
    let mut vm = vm();
    vm.full_gc();
    let before = vm.memory_used();
    exec(
        &mut vm,
        "COS = {}
         for i = 1, 100 do
           local co = coroutine.create(function(n)
             local function deep(k) if k == 0 then coroutine.yield() return 0 end return deep(k - 1) + 1 end
             deep(n)
           end)
           coroutine.resume(co, 1000)
           COS[i] = co
         end",
    )
    .unwrap();
    vm.full_gc();
    let grown = vm.memory_used() - before;
    // 100 stacks of at least 1,000 frames' registers (16 bytes a slot).
    assert!(grown > 100 * 1000 * 16, "{grown}");
}

/// Found by a hostile pass: a number's `__tostring` returning a number
/// recursed until the Rust stack overflowed; `%s` of a string with a
/// `__tostring` in the string metatable hit `unreachable!`.
#[test]
fn tostring_metamethods_of_numbers_and_strings() {
    let mut vm = vm();
    let r = exec(
        &mut vm,
        "debug.setmetatable(0, {__tostring = function() return 5 end})
         local a = tostring(1)
         debug.setmetatable(0, nil)
         getmetatable('').__tostring = function(s) return '<' .. #s .. '>' end
         local b = string.format('%s|%5s', 'abc', 1)
         getmetatable('').__tostring = nil
         return a, b",
    )
    .unwrap();
    assert_eq!(vm.str_bytes(r[0]), Some(&b"5"[..]));
    assert_eq!(vm.str_bytes(r[1]), Some(&b"<3>|    1"[..]));
}

/// Found by a hostile pass: every nested message handler got a grace of
/// its own, and a failing one is retried, so handlers that loop and call
/// `xpcall` again ran past any instruction limit. They share one grace now.
#[test]
fn nested_message_handlers_cannot_outlive_the_instruction_limit() {
    let mut vm = vm();
    vm.set_instruction_limit(Some(1000));
    let r = exec(
        &mut vm,
        "local function h(m) return xpcall(function() while true do end end, h) end
         xpcall(function() while true do end end, h)",
    );
    let msg = r.unwrap_err();
    assert!(
        msg.contains("instruction limit exceeded") || msg.contains("error in error handling"),
        "{msg}"
    );
    // The whole run stayed within the limit plus one grace.
    vm.set_instruction_limit(None);
    assert_eq!(int(&exec(&mut vm, "return 7").unwrap()[0]), 7);
}

/// A native's charge or an instruction's moves can take the budget past the
/// instruction limit in one step; the limit's error is raised there, and a
/// message handler still gets its grace to handle it (the code after it
/// fails again: the limit stays exceeded).
#[test]
fn a_handler_runs_after_one_large_step_crosses_the_limit() {
    let cases = [
        "local a = string.rep('a', 1e7)
         xpcall(string.upper, function(m) H = 'handled: ' .. m end, a)",
        "local big = {} for i = 1, 2e4 do big[i] = i end
         local function g(...) for i = 1, 1e6 do local t = {...} end end
         xpcall(g, function(m) H = 'handled: ' .. m end, table.unpack(big))",
    ];
    for src in cases {
        let mut vm = vm();
        vm.set_instruction_limit(Some(500_000));
        let err = exec(&mut vm, src).unwrap_err();
        assert!(err.contains("instruction limit exceeded"), "{src}: {err}");
        let h = vm.get_global("H");
        let h = vm.to_display(h);
        assert!(
            h.starts_with("handled: ") && h.ends_with("instruction limit exceeded"),
            "{src}: {h}"
        );
    }
}

/// A charge the limit refuses (a native's work that would pass it) trips
/// the limit as any other excess does: a `pcall` that catches the error
/// cannot go on running with what the refused work left unspent.
#[test]
fn a_refused_charge_trips_the_limit() {
    let mut vm = vm();
    vm.set_instruction_limit(Some(400_000));
    let err = exec(
        &mut vm,
        "local s = string.rep('x', 1e7)
         local ok = pcall(string.upper, s)
         N = 1",
    )
    .unwrap_err();
    assert!(err.contains("instruction limit exceeded"), "{err}");
    assert_eq!(vm.instruction_limit_left(), Some(0));
    vm.set_instruction_limit(None);
    assert!(vm.get_global("N").is_nil());
}

/// An error leaving a driven main call runs the pending `__close`
/// handlers in slices like any code, newest first, each with the current
/// error, and the run ends with the last error.
#[test]
fn an_error_leaving_the_main_call_closes_in_slices() {
    let src = "LOG = ''
        local a <close> = setmetatable({}, {__close = function(_, e)
          for i = 1, 1000 do end LOG = LOG .. ' a:' .. tostring(e) end})
        local b <close> = setmetatable({}, {__close = function(_, e)
          for i = 1, 1000 do end LOG = LOG .. ' b:' .. tostring(e) error('from b', 0) end})
        error('boom', 0)";
    for slice in [1, 7, 100, 1_000_000] {
        let mut vm = vm();
        let r = slices::run(&mut vm, src, slice, 100_000, false);
        assert_eq!(r.end, Err("from b".to_string()), "slice {slice}");
        if slice < 100 {
            assert!(r.slices > 100, "slice {slice}: {} slices", r.slices);
        }
        let log = vm.get_global("LOG");
        assert_eq!(vm.to_display(log), " b:boom a:from b", "slice {slice}");
        // The main thread is ready for the next call.
        let again = exec(&mut vm, "return 1 + 1").unwrap();
        assert_eq!(int(&again[0]), 2);
    }
}

/// A run parked while `coroutine.close` runs a coroutine's handlers (or
/// while an error leaving the main call does) can be cancelled like any
/// other: the VM is usable afterwards, and the coroutine is dead.
#[test]
fn cancel_a_run_parked_in_a_closing() {
    let sources = [
        "CO = coroutine.create(function()
           local x <close> = setmetatable({}, {__close = function() while true do end end})
           coroutine.yield()
         end)
         coroutine.resume(CO)
         coroutine.close(CO)",
        "local x <close> = setmetatable({}, {__close = function() while true do end end})
         error('boom')",
    ];
    for src in sources {
        let mut vm = vm();
        vm.gc_set_stress(true);
        park_main(&mut vm, src, 100, 5);
        let main = vm.main_thread();
        assert!(
            matches!(vm.cancel(main, 1000), Ok(Cancelled::Closed(None))),
            "{src}"
        );
        if let Value::Thread(co) = vm.get_global("CO") {
            assert_eq!(vm.thread_status(co), vm_core::ThreadStatus::Dead);
        }
        let r = exec(&mut vm, "return 6 * 7").unwrap();
        assert_eq!(int(&r[0]), 42);
        vm.check_invariants().unwrap();
    }
}

/// A file's chunk is read and parsed a piece at a time, as a reader's is:
/// an 8 MB file that is mostly a comment loads under a 2 MB limit (the
/// whole file used to be read first), a string literal larger than the
/// limit fails with "not enough memory", and a file that is no chunk
/// (`/dev/zero`) fails at its first token instead of being read for ever.
#[test]
fn files_load_a_piece_at_a_time() {
    let dir = std::env::temp_dir().join(format!("vm-limits-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let comment = dir.join("comment.lua");
    let mut text = b"-- ".to_vec();
    text.resize(8 << 20, b'x');
    text.extend_from_slice(b"\nreturn 7\n");
    std::fs::write(&comment, &text).unwrap();
    let literal = dir.join("literal.lua");
    let mut text = b"return #'".to_vec();
    text.resize(8 << 20, b'x');
    text.extend_from_slice(b"'\n");
    std::fs::write(&literal, &text).unwrap();
    let mut vm = vm();
    vm.set_memory_limit(Some(2 << 20));
    let r = exec(
        &mut vm,
        &format!(
            "local a = dofile('{}')
             local f, e = loadfile('{}')
             local z, ze = loadfile('/dev/zero')
             return a, f, e, z, ze",
            comment.display(),
            literal.display()
        ),
    )
    .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(int(&r[0]), 7);
    assert!(matches!(r[1], Value::Nil));
    assert_eq!(vm.to_display(r[2]), "not enough memory");
    assert!(matches!(r[3], Value::Nil));
    assert!(
        vm.to_display(r[4])
            .starts_with("/dev/zero:1: unexpected symbol"),
        "{}",
        vm.to_display(r[4])
    );
}

/// The top of a parked chain is running, not suspended: Lua code run
/// meanwhile (through `exec`, or a handler run by a cancel) cannot close
/// it, even with pending `__close` variables (it used to be killed, and the
/// next resume of its chain panicked).
#[test]
fn a_parked_coroutine_cannot_be_closed_from_outside_its_run() {
    let mut vm = vm();
    let f = vm
        .load(
            b"X = coroutine.create(function()
                local z <close> = setmetatable({}, {__close = function() coroutine.close(CO) end})
                coroutine.yield()
              end)
              coroutine.resume(X)
              CO = coroutine.create(function()
                local y <close> = setmetatable({}, {__close = function() CLOSED = true end})
                while true do end
              end)
              coroutine.resume(CO)",
            "=t",
        )
        .unwrap();
    let main = vm.main_thread();
    assert!(matches!(vm.start(f, &[], 1000), Ok(Outcome::OutOfFuel)));
    let r = exec(&mut vm, "return coroutine.status(CO), coroutine.close(CO)");
    let e = r.expect_err("refused");
    assert!(e.ends_with("cannot close a running coroutine"), "{e}");
    let Value::Thread(x) = vm.get_global("X") else {
        panic!("a thread")
    };
    let Ok(Cancelled::Closed(Some(e))) = vm.cancel(x, 1000) else {
        panic!("the handler's error")
    };
    assert!(vm
        .to_display(e)
        .ends_with("cannot close a running coroutine"));
    assert!(matches!(vm.resume(main, &[], 1000), Ok(Outcome::OutOfFuel)));
    assert!(matches!(vm.cancel(main, 1000), Ok(Cancelled::Closed(None))));
    let closed = vm.get_global("CLOSED");
    assert!(matches!(closed, Value::Bool(true)));
    vm.check_invariants().unwrap();
}

/// What the limit counts for an object is what it costs the process
/// (its slot, its index entries, its bytes as the allocator rounds them),
/// not its payload alone: short strings cost about 100 bytes each where
/// 47 were counted, so a limit let the process grow to twice its size.
#[test]
fn the_limit_counts_what_objects_really_cost() {
    const LIMIT: usize = 8 << 20;
    for (what, make) in [
        ("short strings", "'s' .. i"),
        ("empty tables", "{}"),
        ("tables with finalizers", "setmetatable({}, mt)"),
        ("coroutines", "coroutine.create(print)"),
    ] {
        let mut vm = vm();
        vm.set_memory_limit(Some(LIMIT));
        let r = exec(
            &mut vm,
            &format!(
                "local t, mt = {{}}, {{__gc = function() end}}
                 local ok = pcall(function() for i = 1, 1e9 do t[i] = {make} end end)
                 return #t"
            ),
        )
        .unwrap_or_else(|e| panic!("{what}: {e}"));
        let n = int(&r[0]) as usize;
        // Resident bytes per object, measured (BENCHMARKS.md, "Memory
        // accounting"), plus the keeping table's slot: at most this many
        // fit.
        let real = match what {
            "short strings" => 115,
            "empty tables" => 88,
            "tables with finalizers" => 140,
            _ => 472,
        } + 16;
        assert!(
            n <= LIMIT * 11 / 10 / real,
            "{what}: {n} objects fit in {LIMIT} bytes"
        );
        assert!(n >= LIMIT / 2 / real, "{what}: only {n} objects fit");
    }
}

/// An open file counts its buffer against the limit: 20,000 handles open
/// on a 20 MB limit held 168 MB.
#[test]
fn open_files_count_their_buffers() {
    let mut vm = vm();
    vm.set_memory_limit(Some(2 << 20));
    let cycles = vm.gc_cycles();
    let r = exec(
        &mut vm,
        "local files = {}
         local ok, e = pcall(function()
           for i = 1, 1e6 do files[i] = assert(io.open('/dev/null')) end
         end)
         for _, f in ipairs(files) do f:close() end
         return e, #files",
    )
    .unwrap();
    assert_eq!(vm.to_display(r[0]), "not enough memory");
    assert!(int(&r[1]) < 260, "{} files open in 2 MB", int(&r[1]));
    // It collected on the way (the statistics count each cycle).
    assert!(vm.gc_cycles() > cycles);
}
