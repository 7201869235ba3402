//! Debug hooks through the embedding API (`Vm::set_hook`): the events a
//! Rust hook sees and where, count hooks against the instruction budget,
//! hooks on driven runs sliced at any budget, inheritance by new threads,
//! and hooks that fail or panic.

use std::cell::RefCell;

use vm_core::{
    Args, Hook, HookEvent, HookMask, HookStep, LuaResult, NativeFunction, Outcome, Step, Value, Vm,
};

thread_local! {
    /// What `recorder` saw, one line per event (each test runs on its own
    /// thread).
    static EVENTS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Records the event with the hooked function's name and current line.
fn recorder(vm: &mut Vm, event: HookEvent) -> LuaResult<HookStep> {
    let info = vm.level_info(0).expect("the hooked function is at level 0");
    let line = match event {
        HookEvent::Line(l) => format!(" {l}"),
        _ => String::new(),
    };
    let name = info.name.unwrap_or_else(|| "?".to_string());
    let entry = format!("{}{line} {name}@{}", event.name(), info.current_line);
    EVENTS.with(|e| e.borrow_mut().push(entry));
    Ok(HookStep::Done)
}

fn take_events() -> Vec<String> {
    EVENTS.with(|e| std::mem::take(&mut *e.borrow_mut()))
}

fn hook(mask: HookMask, count: u32) -> Option<Hook> {
    Some(Hook {
        func: recorder,
        mask,
        count,
        data: Value::Nil,
    })
}

const ALL: HookMask = HookMask {
    call: true,
    ret: true,
    line: true,
};

const LINE: HookMask = HookMask {
    call: false,
    ret: false,
    line: true,
};

const SCRIPT: &[u8] = b"local function sq(x)
  return x * x
end
local s = 0
for i = 1, 2 do
  s = s + sq(i)
end
return s";

#[test]
fn call_return_and_line_events_arrive_in_order() {
    let mut vm = Vm::new();
    let f = vm.load(SCRIPT, "=script").unwrap();
    let main = vm.main_thread();
    vm.set_hook(main, hook(ALL, 0)).unwrap();
    let r = vm.call(f, &[]).unwrap();
    assert!(matches!(r[..], [Value::Int(5)]));
    // A vararg function (the main chunk) reports its call after VARARGPREP,
    // at the next instruction's line, as PUC Lua does.
    let expected = [
        "call ?@3",
        "line 3 ?@3",
        "line 4 ?@4",
        "line 5 ?@5",
        "line 6 ?@6",
        "call sq@2",
        "line 2 sq@2",
        "return sq@2",
        "line 5 ?@5",
        "line 6 ?@6",
        "call sq@2",
        "line 2 sq@2",
        "return sq@2",
        "line 5 ?@5",
        "line 8 ?@8",
        "return ?@8",
    ];
    assert_eq!(take_events(), expected);
}

#[test]
fn a_count_hook_counts_instructions_and_the_budget_stays_exact() {
    let mut vm = Vm::new();
    let f = vm.load(SCRIPT, "=script").unwrap();
    let main = vm.main_thread();
    assert!(matches!(
        vm.start(f, &[], 1_000_000),
        Ok(Outcome::Return(_))
    ));
    let plain = vm.fuel_used();

    vm.set_hook(main, hook(HookMask::default(), 1)).unwrap();
    assert!(matches!(
        vm.start(f, &[], 1_000_000),
        Ok(Outcome::Return(_))
    ));
    // The hook spends no fuel of its own (it runs no Lua code), and every
    // instruction but the main chunk's VARARGPREP is counted.
    assert_eq!(vm.fuel_used(), plain);
    let events = take_events();
    assert_eq!(events.len() as u64, plain - 1);
    assert!(events.iter().all(|e| e.starts_with("count ")));

    vm.set_hook(main, hook(HookMask::default(), 5)).unwrap();
    vm.call(f, &[]).unwrap();
    assert_eq!(take_events().len() as u64, (plain - 1) / 5);
}

/// `double(x)`: a native costing 5 units, so that budgets often run out
/// right before it starts.
static DOUBLE: NativeFunction = NativeFunction::with_cost("double", double, 5);

fn double(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let x = vm.check_integer(args, 1)?;
    vm.push(Value::Int(2 * x));
    Ok(Step::Return(1))
}

/// Natives called and tail-called by Lua functions.
const NATIVE_SCRIPT: &[u8] = b"local function tail(x)
  return double(x)
end
local function plain(x)
  local y = double(x)
  return y
end
local s = 0
for i = 1, 3 do
  s = s + tail(i) + plain(i)
end
return s";

/// The events of `script` run whole, then run in slices of `budget`.
fn events_whole_and_sliced(script: &[u8], budget: u64) -> (Vec<String>, Vec<String>, usize) {
    let setup = |vm: &mut Vm| {
        let g = vm.globals_ref();
        vm.register(g, &[&DOUBLE]).unwrap();
        let f = vm.load(script, "=script").unwrap();
        let main = vm.main_thread();
        vm.set_hook(main, hook(ALL, 3)).unwrap();
        (f, main)
    };
    let mut vm = Vm::new();
    let (f, _) = setup(&mut vm);
    let whole_results = vm.call(f, &[]).unwrap();
    let whole = take_events();
    let mut vm = Vm::new();
    let (f, main) = setup(&mut vm);
    let mut out = vm.start(f, &[], budget).unwrap();
    let mut slices = 1;
    while let Outcome::OutOfFuel = out {
        out = vm.resume(main, &[], budget).unwrap();
        slices += 1;
    }
    let Outcome::Return(results) = out else {
        panic!("the script returns")
    };
    assert_eq!(format!("{results:?}"), format!("{whole_results:?}"));
    (whole, take_events(), slices)
}

#[test]
fn a_sliced_run_sees_the_same_events_at_any_budget() {
    for script in [SCRIPT, NATIVE_SCRIPT] {
        for budget in [1, 2, 3, 5, 6, 7, 1000] {
            let (whole, sliced, slices) = events_whole_and_sliced(script, budget);
            assert!(budget > 3 || slices > 5, "budget {budget}: {slices} slices");
            assert_eq!(sliced, whole, "budget {budget}");
        }
    }
    // A tail-called native returns, then its caller, at the tail call's
    // line (2), with no line event for the RETURN after it (line 3).
    let (whole, _, _) = events_whole_and_sliced(NATIVE_SCRIPT, 1000);
    let at = whole.iter().position(|e| e == "call double@-1").unwrap();
    assert_eq!(whole[at + 1..at + 3], ["return double@-1", "return tail@2"]);
}

#[test]
fn removing_the_hook_and_empty_hooks() {
    let mut vm = Vm::new();
    let main = vm.main_thread();
    assert!(vm.hook(main).is_none());
    vm.set_hook(main, hook(HookMask::default(), 0)).unwrap();
    assert!(vm.hook(main).is_none(), "a hook with no event is no hook");
    vm.set_hook(main, hook(ALL, 7)).unwrap();
    let h = vm.hook(main).unwrap();
    assert_eq!((h.mask, h.count), (ALL, 7));
    vm.set_hook(main, None).unwrap();
    assert!(vm.hook(main).is_none());
    vm.exec(b"local x = 1 return x", "=quiet").unwrap();
    assert!(take_events().is_empty());
}

#[test]
fn new_threads_inherit_the_creators_hook() {
    let mut vm = Vm::new();
    let main = vm.main_thread();
    vm.set_hook(main, hook(LINE, 2)).unwrap();
    let f = vm.load(b"return 1", "=body").unwrap();
    let t = vm.new_thread(f).unwrap();
    let h = vm.hook(t).expect("inherited");
    assert_eq!((h.mask, h.count), (LINE, 2));
    vm.set_hook(main, None).unwrap();
    assert!(vm.hook(t).is_some(), "each thread keeps its own hook");
    take_events();
    assert!(matches!(vm.resume(t, &[], 100), Ok(Outcome::Return(_))));
    // `return 1` runs LOADI and RETURN: the count falls due at the second.
    assert_eq!(take_events(), ["line 1 ?@1", "count ?@1"]);
}

fn failing(vm: &mut Vm, event: HookEvent) -> LuaResult<HookStep> {
    match event {
        // Level 0 is the hooked function.
        HookEvent::Line(3) => Err(vm.error_at(0, "stopped at line 3")),
        _ => Ok(HookStep::Done),
    }
}

fn panicking(_: &mut Vm, _: HookEvent) -> LuaResult<HookStep> {
    panic!("hook bug")
}

#[test]
fn a_hook_error_is_raised_where_the_event_happened() {
    let mut vm = Vm::new();
    let main = vm.main_thread();
    vm.set_hook(
        main,
        Some(Hook {
            func: failing,
            mask: LINE,
            count: 0,
            data: Value::Nil,
        }),
    )
    .unwrap();
    let f = vm
        .load(
            b"local a = 1\nlocal b = 2\nlocal c = 3\nreturn a + b + c",
            "=f",
        )
        .unwrap();
    let e = vm.call(f, &[]).unwrap_err();
    assert_eq!(e.to_string(), "f:3: stopped at line 3");
    // The VM goes on: the same event fails the same way again.
    let e = vm.call(f, &[]).unwrap_err();
    assert_eq!(e.to_string(), "f:3: stopped at line 3");

    vm.set_hook(
        main,
        Some(Hook {
            func: panicking,
            mask: LINE,
            count: 0,
            data: Value::Nil,
        }),
    )
    .unwrap();
    let e = vm.call(f, &[]).unwrap_err();
    assert!(e.to_string().contains("hook bug"), "{e}");
    vm.set_hook(main, None).unwrap();
    assert!(matches!(vm.call(f, &[]).unwrap()[..], [Value::Int(6)]));
}
