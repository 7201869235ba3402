//! Tests of the argument helpers natives use (`lauxlib.c`'s `luaL_check*`,
//! `luaL_opt*`, `luaL_checkoption`, `luaL_argerror`): values accepted and
//! converted, and the exact messages Lua gives, method calls included.

mod support;

use vm_core::{Args, LuaResult, NativeFunction, Step, Value, Vm};

/// `f(n, s, [i], [opt])`: returns `n` (subtype kept), `n` as a float, `s`,
/// `i` (default 7) and the index of option `opt` (default "b").
fn probe(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let n = vm.check_number(args, 1)?;
    let f = vm.check_float(args, 1)?;
    let s = vm.check_string(args, 2)?;
    let i = vm.opt_integer(args, 3, 7)?;
    let o = vm.check_option(args, 4, Some("b"), &["a", "b", "c"])?;
    vm.push(n);
    vm.push(Value::Num(f));
    vm.push(s);
    vm.push(Value::Int(i));
    vm.push(Value::Int(o as i64));
    Ok(Step::Return(5))
}

/// `obj:method(n)`: a receiver of any type, then a number.
fn method(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    vm.check_table(args, 1)?;
    let n = vm.check_number(args, 2)?;
    vm.push(n);
    Ok(Step::Return(1))
}

/// `ops(t, k, v, a, b)`: `t[k] = v`, then returns `#t` and `a < b`, all
/// through the metamethod-aware API.
fn ops(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let t = vm.arg(args, 1);
    vm.set_index(t, vm.arg(args, 2), vm.arg(args, 3))?;
    let n = vm.len(t)?;
    let lt = vm.less_than(vm.arg(args, 4), vm.arg(args, 5))?;
    vm.push(n);
    vm.push(Value::Bool(lt));
    Ok(Step::Return(2))
}

static OPS: NativeFunction = NativeFunction::new("ops", ops);
static PROBE: NativeFunction = NativeFunction::new("probe", probe);
static METHOD: NativeFunction = NativeFunction::new("method", method);

fn vm() -> Box<Vm> {
    let mut vm = support::vm();
    let f = vm.new_native(&PROBE);
    vm.set_global("probe", f).unwrap();
    let f = vm.new_native(&OPS);
    vm.set_global("ops", f).unwrap();
    let f = vm.new_native(&METHOD);
    vm.set_global("method", f).unwrap();
    // Booleans get `method` as a method, for a receiver of the wrong type.
    let mt = vm
        .exec(b"return {__index = {method = method}}", "=mt")
        .unwrap()[0];
    let Value::Table(mt) = mt else { unreachable!() };
    vm.set_metatable(Value::Bool(true), Some(mt)).unwrap();
    vm
}

/// What `src` returns, each value as `tostring` shows it, or the message of
/// the error it raises.
fn run(src: &str) -> String {
    let mut vm = vm();
    match vm.exec(src.as_bytes(), "=t") {
        Ok(vals) => vals
            .iter()
            .map(|&v| {
                let t = match v {
                    Value::Int(_) => "i:",
                    Value::Num(_) => "f:",
                    _ => "",
                };
                format!("{t}{}", vm.to_display(v))
            })
            .collect::<Vec<_>>()
            .join(" "),
        Err(e) => e.message().unwrap_or("").to_string(),
    }
}

#[test]
fn values_are_accepted_and_converted() {
    assert_eq!(run("return probe(3, 'x')"), "i:3 f:3.0 x i:7 i:1");
    assert_eq!(
        run("return probe(2.5, 10, nil, 'c')"),
        "f:2.5 f:2.5 10 i:7 i:2"
    );
    assert_eq!(
        run("return probe('0x10', 'y', 4.0, 'a')"),
        "i:16 f:16.0 y i:4 i:0"
    );
    // A number given as the string argument is converted in place.
    assert_eq!(run("return probe(1, 2.0)"), "i:1 f:1.0 2.0 i:7 i:1");
}

#[test]
fn bad_arguments_get_lua_messages() {
    assert_eq!(
        run("return probe()"),
        "t:1: bad argument #1 to 'probe' (number expected, got no value)"
    );
    assert_eq!(
        run("return probe({})"),
        "t:1: bad argument #1 to 'probe' (number expected, got table)"
    );
    assert_eq!(
        run("return probe('z')"),
        "t:1: bad argument #1 to 'probe' (number expected, got string)"
    );
    assert_eq!(
        run("return probe(1, true)"),
        "t:1: bad argument #2 to 'probe' (string expected, got boolean)"
    );
    assert_eq!(
        run("return probe(1, 's', 1.5)"),
        "t:1: bad argument #3 to 'probe' (number has no integer representation)"
    );
    assert_eq!(
        run("return probe(1, 's', 1, 'd')"),
        "t:1: bad argument #4 to 'probe' (invalid option 'd')"
    );
    assert_eq!(
        run("return probe(1, 's', 1, {})"),
        "t:1: bad argument #4 to 'probe' (string expected, got table)"
    );
}

#[test]
fn method_calls_do_not_count_the_receiver() {
    let obj = "local obj = {method = method}";
    assert_eq!(run(&format!("{obj} return obj:method(2)")), "i:2");
    assert_eq!(
        run(&format!("{obj} return obj:method(true)")),
        "t:1: bad argument #1 to 'method' (number expected, got boolean)"
    );
    assert_eq!(
        run(&format!("{obj} return obj:method()")),
        "t:1: bad argument #1 to 'method' (number expected, got no value)"
    );
    // Called as a field, the receiver is an ordinary argument.
    assert_eq!(
        run(&format!("{obj} return obj.method(obj, true)")),
        "t:1: bad argument #2 to 'method' (number expected, got boolean)"
    );
    // A bad receiver.
    assert_eq!(
        run("return method(1, 2)"),
        "t:1: bad argument #1 to 'method' (table expected, got number)"
    );
    assert_eq!(
        run("return (true):method(1)"),
        "t:1: calling 'method' on bad self (table expected, got boolean)"
    );
}

#[test]
fn the_api_honours_metamethods() {
    assert_eq!(
        run("local t = {} return ops(t, 1, 'x', 1, 2.5)"),
        "i:1 true"
    );
    // Raised by the API inside a native, as `lua_settable` would: no
    // position (the running function is not Lua).
    assert_eq!(
        run("return ops('abc', 1, 2, 'b', 'a')"),
        "attempt to index a string value"
    );
    let proxy = "local log = {} local t = setmetatable({}, {
        __newindex = function(t, k, v) log[#log + 1] = k rawset(t, k, v) end,
        __len = function() return 42 end,
        __lt = function(a, b) return a.n < b.n end})";
    assert_eq!(
        run(&format!(
            "{proxy} local a, b = ops(t, 'k', 1, 2, 1) return a, b, log[1], rawget(t, 'k')"
        )),
        "i:42 false k i:1"
    );
    assert_eq!(
        run(&format!(
            "{proxy} t.n = 1 local u = setmetatable({{n = 2}}, getmetatable(t)) \
                       return select(2, ops({{}}, 1, 1, t, u))"
        )),
        "true"
    );
    assert_eq!(
        run("return ops({}, 1, 1, {}, {})"),
        "attempt to compare two table values"
    );
    assert_eq!(run("return ops({}, nil, 1, 1, 2)"), "table index is nil");
    assert_eq!(
        run("return ops(setmetatable({}, {__newindex = function() error('no') end}), 1, 1, 1, 2)"),
        "t:1: no"
    );
}

#[test]
fn userdata_carry_a_typed_payload_and_a_metatable() {
    let mut vm = vm();
    let mt = vm
        .exec(
            b"return {__index = {kind = 'counter'}, __name = 'Counter'}",
            "=mt",
        )
        .unwrap()[0];
    let Value::Table(mt) = mt else { unreachable!() };
    let u = vm.new_userdata(Box::new(41_u32));
    vm.set_metatable(u, Some(mt)).unwrap();
    *vm.userdata_mut::<u32>(u).unwrap() += 1;
    assert_eq!(vm.userdata_ref::<u32>(u), Some(&42));
    // The wrong type, or not a userdata: no payload.
    assert_eq!(vm.userdata_ref::<i64>(u), None);
    assert_eq!(vm.userdata_ref::<u32>(Value::Int(1)), None);
    vm.set_global("u", u).unwrap();
    let r = vm
        .exec(b"return type(u), u.kind, tostring(u):sub(1, 9)", "=t")
        .unwrap();
    let shown: Vec<String> = r.iter().map(|&v| vm.to_display(v)).collect();
    assert_eq!(shown, ["userdata", "counter", "Counter: "]);
}

#[test]
fn stack_room_is_bounded_by_the_stack_limit() {
    let vm = vm();
    assert!(vm.has_stack_room(1000));
    assert!(!vm.has_stack_room(vm_core::MAX_STACK));
    assert!(!vm.has_stack_room(usize::MAX));
    // From Lua: `table.unpack` asks before pushing.
    assert_eq!(
        run("return pcall(table.unpack, {}, 1, 1e6)"),
        "false too many results to unpack"
    );
    assert_eq!(
        run("return select('#', table.unpack({}, 1, 1000))"),
        "i:1000"
    );
}
