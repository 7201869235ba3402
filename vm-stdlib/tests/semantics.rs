//! Language details that depend on code generation choices, checked end to
//! end with the base library.

mod support;

use support::{eval, vm};

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

/// A `goto` to a label ending a loop body, out of an inner block holding a
/// to-be-closed variable whose slot a later local of the body reuses,
/// closes the variable exactly once. (PUC Lua 5.4.4 closes from one slot
/// too high and skips it; found by the random-program tests.)
#[test]
fn goto_out_of_a_block_closes_its_variable_at_the_label() {
    let src = "local log = ''
               local mt = { __close = function(v) log = log .. v[1] .. ' ' end }
               for i = 1, 3 do
                 do
                   local c <close> = setmetatable({ 'c' .. i }, mt)
                   if i == 2 then goto cont end
                   log = log .. 'body' .. i .. ' '
                 end
                 local x = i * 2
                 log = log .. 'x' .. x .. ' '
                 ::cont::
               end
               return log";
    assert_eq!(eval(src), "body1 c1 x2 c2 body3 c3 x6 ");
}

/// A loop whose only allocations are made by natives (no `NEWTABLE`,
/// `CONCAT` or `CLOSURE`) still gets its garbage collected: returning from
/// a native is a collector safe point.
#[test]
fn garbage_made_by_natives_is_collected_in_tight_loops() {
    let mut vm = vm();
    let before = vm.memory_used();
    vm.exec(b"for i = 1, 300000 do local s = tostring(i) end", "=t")
        .unwrap();
    let grown = vm.memory_used().saturating_sub(before);
    // 300,000 distinct strings would take well over 10 MiB if kept.
    assert!(grown < 4 << 20, "grew by {grown} bytes");
}
