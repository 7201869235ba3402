//! Language details that depend on code generation choices, checked end to
//! end with the base library.

use vm_core::Vm;

fn eval(src: &str) -> String {
    let mut vm = Vm::new();
    vm_stdlib::open_all(&mut vm);
    let r = vm
        .exec(src.as_bytes(), "=t")
        .unwrap_or_else(|e| panic!("{src}: {e}"));
    r.iter()
        .map(|v| vm.to_display(*v))
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn constant_left_operands_reach_metamethods_in_source_order() {
    // `k * x` and `k + x` compile to MULKL/ADDKL: the constant stays first.
    let src = "local mt = {__mul = function(a, b) return type(a) .. '*' .. type(b) end,
                           __add = function(a, b) return type(a) .. '+' .. type(b) end}
               local o = setmetatable({}, mt)
               return 2 * o, o * 2, 1.5 + o, o + 1";
    assert_eq!(
        eval(src),
        "number*table,table*number,number+table,table+number"
    );
}

#[test]
fn constant_left_arithmetic_keeps_integer_and_float_results() {
    assert_eq!(
        eval("local x, y = 3, 2.5 return 2 * x, 2.0 * x, 1 + x, 1 + y, 7 * y"),
        "6,6.0,4,3.5,17.5"
    );
    assert_eq!(
        eval("local x = math_max or 9223372036854775807 return 2 * x, 1 + x"),
        "-2,-9223372036854775808"
    );
}

#[test]
fn to_be_closed_variables_close_when_a_recursive_call_fails() {
    // `tostring` runs `__tostring` through the recursive API; the error
    // leaving it still closes its `<close>` variable, with the error.
    let src = "local closed
               local mt = {__tostring = function(o)
                 local c <close> = setmetatable({}, {__close = function(_, e) closed = e end})
                 error('boom', 0)
               end}
               local ok, e = pcall(tostring, setmetatable({}, mt))
               return ok, e, closed";
    assert_eq!(eval(src), "false,boom,boom");
}

#[test]
fn collectgarbage_reports_the_previous_mode() {
    let src = "return collectgarbage('generational'), collectgarbage('incremental'), collectgarbage('incremental')";
    assert_eq!(eval(src), "incremental,generational,incremental");
}
