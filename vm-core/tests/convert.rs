//! Tests of the typed conversions (`vm_core::convert`): every `IntoLua` and
//! `FromLua` type, range errors, Lua-exact bad-argument messages, Rust
//! closures with captured state, `Option` arguments, and `Result` errors
//! caught by a protected call.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use support::{int, lua54, run, vm};
use vm_core::{
    ConvertError, FromLua, Function, IntoLua, LuaError, LuaResult, Step, Value, Variadic, Vm,
};
use vm_core::{StrRef, TableRef, ThreadRef};

/// The message of the error `src` raises.
fn err(vm: &mut Vm, src: &str) -> String {
    match vm.exec(src.as_bytes(), "=test") {
        Ok(v) => panic!("{src}: expected an error, got {v:?}"),
        Err(e) => e.message().unwrap_or("").to_string(),
    }
}

fn string(vm: &Vm, v: Value) -> String {
    String::from_utf8_lossy(vm.str_bytes(v).expect("a string")).into_owned()
}

/// `vm.from_value::<T>` of the value Lua expression `expr` evaluates to.
fn from_lua<T: FromLua>(vm: &mut Vm, expr: &str) -> Result<T, String> {
    let v = run(vm, &format!("return {expr}"))[0];
    vm.from_value::<T>(v).map_err(|e| vm.error_to_string(&e))
}

// ----- FromLua -----

#[test]
fn integers_follow_lua_tointegerx() {
    let mut vm = vm();
    assert_eq!(from_lua::<i64>(&mut vm, "42"), Ok(42));
    assert_eq!(from_lua::<i64>(&mut vm, "-7.0"), Ok(-7));
    assert_eq!(from_lua::<i64>(&mut vm, "'10'"), Ok(10));
    assert_eq!(from_lua::<i64>(&mut vm, "' 0x10 '"), Ok(16));
    assert_eq!(from_lua::<i64>(&mut vm, "'3.0'"), Ok(3));
    assert_eq!(from_lua::<i64>(&mut vm, "'1e2'"), Ok(100));
    assert_eq!(
        from_lua::<i64>(&mut vm, "nil"),
        Err("number expected, got nil".into())
    );
    assert_eq!(
        from_lua::<i64>(&mut vm, "1.5"),
        Err("number has no integer representation".into())
    );
    assert_eq!(
        from_lua::<i64>(&mut vm, "'1.5'"),
        Err("number has no integer representation".into())
    );
    assert_eq!(
        from_lua::<i64>(&mut vm, "2^63"),
        Err("number has no integer representation".into())
    );
    assert_eq!(
        from_lua::<i64>(&mut vm, "0/0"),
        Err("number has no integer representation".into())
    );
    assert_eq!(
        from_lua::<i64>(&mut vm, "'abc'"),
        Err("number expected, got string".into())
    );
    assert_eq!(
        from_lua::<i64>(&mut vm, "true"),
        Err("number expected, got boolean".into())
    );
    assert_eq!(
        from_lua::<i64>(&mut vm, "{}"),
        Err("number expected, got table".into())
    );
    assert_eq!(from_lua::<i64>(&mut vm, "-2^63"), Ok(i64::MIN));
}

#[test]
fn narrow_integers_are_range_checked() {
    let mut vm = vm();
    assert_eq!(from_lua::<i32>(&mut vm, "-2147483648"), Ok(i32::MIN));
    assert_eq!(
        from_lua::<i32>(&mut vm, "2147483648"),
        Err("value out of range".into())
    );
    assert_eq!(from_lua::<u32>(&mut vm, "4294967295"), Ok(u32::MAX));
    assert_eq!(
        from_lua::<u32>(&mut vm, "4294967296"),
        Err("value out of range".into())
    );
    assert_eq!(
        from_lua::<u32>(&mut vm, "-1"),
        Err("value out of range".into())
    );
    assert_eq!(from_lua::<usize>(&mut vm, "'12'"), Ok(12));
    assert_eq!(
        from_lua::<usize>(&mut vm, "-1"),
        Err("value out of range".into())
    );
    assert_eq!(
        from_lua::<u64>(&mut vm, "9223372036854775807"),
        Ok(i64::MAX as u64)
    );
    assert_eq!(
        from_lua::<u64>(&mut vm, "-1"),
        Err("value out of range".into())
    );
    assert_eq!(from_lua::<i8>(&mut vm, "-128"), Ok(-128));
    assert_eq!(
        from_lua::<i8>(&mut vm, "128"),
        Err("value out of range".into())
    );
    assert_eq!(
        from_lua::<i16>(&mut vm, "-32769"),
        Err("value out of range".into())
    );
    assert_eq!(from_lua::<u16>(&mut vm, "65535.0"), Ok(u16::MAX));
    assert_eq!(from_lua::<isize>(&mut vm, "-5"), Ok(-5));
    assert_eq!(
        from_lua::<u32>(&mut vm, "0.5"),
        Err("number has no integer representation".into())
    );
}

#[test]
fn floats_accept_integers_and_numeric_strings() {
    let mut vm = vm();
    assert_eq!(from_lua::<f64>(&mut vm, "1.5"), Ok(1.5));
    assert_eq!(from_lua::<f64>(&mut vm, "3"), Ok(3.0));
    assert_eq!(from_lua::<f64>(&mut vm, "'0x1p4'"), Ok(16.0));
    assert_eq!(from_lua::<f64>(&mut vm, "' 2.5 '"), Ok(2.5));
    assert_eq!(from_lua::<f32>(&mut vm, "0.5"), Ok(0.5));
    assert_eq!(from_lua::<f32>(&mut vm, "7"), Ok(7.0));
    assert_eq!(
        from_lua::<f64>(&mut vm, "'x'"),
        Err("number expected, got string".into())
    );
    assert_eq!(
        from_lua::<f64>(&mut vm, "nil"),
        Err("number expected, got nil".into())
    );
}

#[test]
fn strings_accept_numbers_formatted_as_tostring() {
    let mut vm = vm();
    assert_eq!(from_lua::<String>(&mut vm, "'héllo'"), Ok("héllo".into()));
    assert_eq!(from_lua::<String>(&mut vm, "12"), Ok("12".into()));
    assert_eq!(from_lua::<String>(&mut vm, "1.0"), Ok("1.0".into()));
    assert_eq!(from_lua::<String>(&mut vm, "1.5"), Ok("1.5".into()));
    assert_eq!(from_lua::<String>(&mut vm, "1e100"), Ok("1e+100".into()));
    assert_eq!(
        from_lua::<String>(&mut vm, "2^63"),
        Ok("9.2233720368548e+18".into())
    );
    assert_eq!(from_lua::<String>(&mut vm, "-0.0"), Ok("-0.0".into()));
    assert_eq!(
        from_lua::<String>(&mut vm, "{}"),
        Err("string expected, got table".into())
    );
    assert_eq!(
        from_lua::<String>(&mut vm, "false"),
        Err("string expected, got boolean".into())
    );
    assert_eq!(
        from_lua::<String>(&mut vm, "'\\xff'"),
        Err("string is not valid UTF-8".into())
    );
    assert_eq!(
        from_lua::<Vec<u8>>(&mut vm, "'\\xff\\0a'"),
        Ok(vec![0xff, 0, b'a'])
    );
    assert_eq!(from_lua::<Vec<u8>>(&mut vm, "-3"), Ok(b"-3".to_vec()));
    assert_eq!(
        from_lua::<Vec<u8>>(&mut vm, "nil"),
        Err("string expected, got nil".into())
    );
    let s = from_lua::<StrRef>(&mut vm, "'k'").unwrap();
    assert_eq!(vm.str_bytes(Value::Str(s)), Some(&b"k"[..]));
    let s = from_lua::<StrRef>(&mut vm, "0.25").unwrap();
    assert_eq!(vm.str_bytes(Value::Str(s)), Some(&b"0.25"[..]));
    assert_eq!(
        from_lua::<StrRef>(&mut vm, "{}").err(),
        Some("string expected, got table".into())
    );
}

#[test]
fn booleans_options_and_values() {
    let mut vm = vm();
    for (expr, b) in [
        ("nil", false),
        ("false", false),
        ("true", true),
        ("0", true),
        ("''", true),
    ] {
        assert_eq!(from_lua::<bool>(&mut vm, expr), Ok(b), "{expr}");
    }
    assert_eq!(from_lua::<Option<i64>>(&mut vm, "nil"), Ok(None));
    assert_eq!(from_lua::<Option<i64>>(&mut vm, "5"), Ok(Some(5)));
    assert_eq!(
        from_lua::<Option<i64>>(&mut vm, "'x'"),
        Err("number expected, got string".into())
    );
    assert_eq!(from_lua::<Option<bool>>(&mut vm, "false"), Ok(Some(false)));
    assert!(matches!(from_lua::<Value>(&mut vm, "nil"), Ok(Value::Nil)));
    assert!(matches!(
        from_lua::<Value>(&mut vm, "{}"),
        Ok(Value::Table(_))
    ));
    assert!(matches!(from_lua::<Value>(&mut vm, "2.5"), Ok(Value::Num(f)) if f == 2.5));
}

#[test]
fn handles_name_the_expected_type() {
    let mut vm = vm();
    let t = from_lua::<TableRef>(&mut vm, "{10, 20}").unwrap();
    assert_eq!(vm.raw_len(t), 2);
    assert_eq!(
        from_lua::<TableRef>(&mut vm, "1").err(),
        Some("table expected, got number".into())
    );
    assert!(from_lua::<Function>(&mut vm, "function() end").is_ok());
    assert!(from_lua::<Function>(&mut vm, "pcall").is_ok());
    assert_eq!(
        from_lua::<Function>(&mut vm, "{}").err(),
        Some("function expected, got table".into())
    );
    assert_eq!(
        from_lua::<ThreadRef>(&mut vm, "'co'").err(),
        Some("thread expected, got string".into())
    );
    let main = vm.main_thread();
    let v = vm.to_value(main).unwrap();
    assert_eq!(vm.from_value::<ThreadRef>(v).unwrap(), main);
    assert_eq!(
        from_lua::<vm_core::UserDataRef>(&mut vm, "nil").err(),
        Some("userdata expected, got nil".into())
    );
}

#[test]
fn custom_conversions_of_a_table() {
    #[derive(Debug, PartialEq)]
    struct Point {
        x: f64,
        y: f64,
    }
    impl FromLua for Point {
        fn from_lua(value: Value, vm: &mut Vm) -> Result<Self, ConvertError> {
            let Value::Table(_) = value else {
                return Err(ConvertError::expected("point", value));
            };
            let (kx, ky) = (vm.new_str(b"x"), vm.new_str(b"y"));
            let x = vm.index(value, kx)?;
            let y = vm.index(value, ky)?;
            Ok(Point {
                x: f64::from_lua(x, vm)?,
                y: f64::from_lua(y, vm)?,
            })
        }
    }
    impl IntoLua for Point {
        fn into_lua(self, vm: &mut Vm) -> LuaResult<Value> {
            let tr = vm.new_table();
            let (x, y) = (self.x.into_lua(vm)?, self.y.into_lua(vm)?);
            vm.raw_set_str(tr, "x", x).unwrap();
            vm.raw_set_str(tr, "y", y).unwrap();
            Ok(Value::Table(tr))
        }
    }
    let mut vm = vm();
    vm.set_global_function("norm", |_, p: Point| (p.x * p.x + p.y * p.y).sqrt())
        .unwrap();
    vm.set_global_function("swap", |_, p: Point| Point { x: p.y, y: p.x })
        .unwrap();
    let r = run(&mut vm, "return norm({x = 3, y = 4})");
    assert!(matches!(r[0], Value::Num(f) if f == 5.0));
    let r = run(&mut vm, "local p = swap({x = 1, y = 2}) return p.x, p.y");
    assert!(matches!(r[..], [Value::Num(x), Value::Num(y)] if x == 2.0 && y == 1.0));
    assert_eq!(
        err(&mut vm, "return norm(1)"),
        "test:1: bad argument #1 to 'norm' (point expected, got number)"
    );
    assert_eq!(
        err(&mut vm, "return norm({x = 1})"),
        "test:1: bad argument #1 to 'norm' (number expected, got nil)"
    );
}

// ----- IntoLua -----

#[test]
fn rust_values_become_lua_values() {
    let mut vm = vm();
    assert!(matches!(vm.to_value(7i64), Ok(Value::Int(7))));
    assert!(matches!(vm.to_value(-7i32), Ok(Value::Int(-7))));
    assert!(matches!(vm.to_value(7u32), Ok(Value::Int(7))));
    assert!(matches!(vm.to_value(7usize), Ok(Value::Int(7))));
    assert!(matches!(vm.to_value(-1i8), Ok(Value::Int(-1))));
    assert!(matches!(vm.to_value(1u16), Ok(Value::Int(1))));
    assert!(matches!(vm.to_value(-1isize), Ok(Value::Int(-1))));
    assert!(matches!(
        vm.to_value(i64::MAX as u64),
        Ok(Value::Int(i64::MAX))
    ));
    assert!(matches!(vm.to_value(0.5f64), Ok(Value::Num(f)) if f == 0.5));
    assert!(matches!(vm.to_value(0.5f32), Ok(Value::Num(f)) if f == 0.5));
    assert!(
        matches!(vm.to_value(2.0f64), Ok(Value::Num(_))),
        "floats stay floats"
    );
    assert!(matches!(vm.to_value(true), Ok(Value::Bool(true))));
    assert!(matches!(vm.to_value(None::<i64>), Ok(Value::Nil)));
    assert!(matches!(vm.to_value(Some(3i64)), Ok(Value::Int(3))));
    assert!(matches!(
        vm.to_value(Value::Bool(false)),
        Ok(Value::Bool(false))
    ));
    for v in [
        vm.to_value("abc").unwrap(),
        vm.to_value(String::from("abc")).unwrap(),
        vm.to_value(&b"abc"[..]).unwrap(),
        vm.to_value(b"abc".to_vec()).unwrap(),
    ] {
        assert_eq!(vm.str_bytes(v), Some(&b"abc"[..]));
    }
    let t = vm.globals_ref();
    assert!(matches!(vm.to_value(t), Ok(Value::Table(g)) if g == t));
}

#[test]
fn integers_beyond_i64_are_errors() {
    let mut vm = vm();
    let e = vm.to_value(u64::MAX).unwrap_err();
    assert_eq!(
        vm.error_to_string(&e),
        "18446744073709551615 does not fit in a Lua integer"
    );
    assert!(vm.to_value(usize::MAX).is_err());
    vm.set_global_function("big", |_, ()| u64::MAX).unwrap();
    assert_eq!(
        err(&mut vm, "return big()"),
        "test:1: 18446744073709551615 does not fit in a Lua integer"
    );
}

#[test]
fn vectors_become_sequences() {
    let mut vm = vm();
    vm.set_global_function("seq", |_, n: i64| {
        (1..=n).map(|i| i * i).collect::<Vec<i64>>()
    })
    .unwrap();
    vm.set_global_function("words", |_, ()| vec!["a", "b"])
        .unwrap();
    vm.set_global_function("nested", |_, ()| vec![vec![1i64], vec![2, 3]])
        .unwrap();
    vm.set_global_function("holes", |_, ()| vec![Some(1i64), None, Some(3)])
        .unwrap();
    let r = run(
        &mut vm,
        "local t = seq(4) local w = words() local n = nested()
         return #t, t[1], t[4], t[5], #w, w[2], #n[2], n[2][2], holes()[3]",
    );
    assert_eq!(string(&vm, r[5]), "b");
    let ints: Vec<Option<i64>> = [0, 1, 2, 3, 4, 6, 7, 8]
        .iter()
        .map(|&i| vm.from_value(r[i]).unwrap())
        .collect();
    assert_eq!(
        ints,
        [
            Some(4),
            Some(1),
            Some(16),
            None,
            Some(2),
            Some(2),
            Some(3),
            Some(3)
        ]
    );
    let empty = vm.to_value(Vec::<i64>::new()).unwrap();
    let Value::Table(t) = empty else { panic!() };
    assert_eq!(vm.raw_len(t), 0);
}

// ----- Arguments -----

/// The bad-argument messages `lua5.4` gives for `string.rep` (see
/// `matches_lua54_string_rep` below), reproduced by a closure with the
/// same signature.
#[test]
fn bad_argument_messages_are_lua_exact() {
    let mut vm = vm();
    vm.set_global_function("rep", |_, (s, n): (String, i64)| {
        s.repeat(usize::try_from(n).unwrap_or(0))
    })
    .unwrap();
    let cases = [
        (
            "rep()",
            "test:1: bad argument #1 to 'rep' (string expected, got no value)",
        ),
        (
            "rep('x')",
            "test:1: bad argument #2 to 'rep' (number expected, got no value)",
        ),
        (
            "rep('x', nil)",
            "test:1: bad argument #2 to 'rep' (number expected, got nil)",
        ),
        (
            "rep('x', 'a')",
            "test:1: bad argument #2 to 'rep' (number expected, got string)",
        ),
        (
            "rep({}, 1)",
            "test:1: bad argument #1 to 'rep' (string expected, got table)",
        ),
        (
            "rep('x', 1.5)",
            "test:1: bad argument #2 to 'rep' (number has no integer representation)",
        ),
        (
            "local f = rep; f()",
            "test:1: bad argument #1 to 'f' (string expected, got no value)",
        ),
        (
            "local t = {r = rep}; t.r(1, {})",
            "test:1: bad argument #2 to 'r' (number expected, got table)",
        ),
    ];
    for (src, want) in cases {
        assert_eq!(err(&mut vm, src), want, "{src}");
    }
    let r = run(&mut vm, "return rep('ab', '3'), rep(12, 2.0)");
    assert_eq!(string(&vm, r[0]), "ababab");
    assert_eq!(string(&vm, r[1]), "1212");
    // Called by a native (no position, the registered name), as `lua5.4`
    // prints `pcall(tonumber)`.
    let r = run(&mut vm, "return pcall(rep)");
    assert!(matches!(r[0], Value::Bool(false)));
    assert_eq!(
        string(&vm, r[1]),
        "bad argument #1 to 'rep' (string expected, got no value)"
    );
}

#[test]
fn range_errors_name_the_argument() {
    let mut vm = vm();
    vm.set_global_function("char", |_, (a, b): (u32, Option<i32>)| {
        i64::from(a) + i64::from(b.unwrap_or(0))
    })
    .unwrap();
    assert_eq!(
        err(&mut vm, "return char(-1)"),
        "test:1: bad argument #1 to 'char' (value out of range)"
    );
    assert_eq!(
        err(&mut vm, "return char(1, 2^40)"),
        "test:1: bad argument #2 to 'char' (value out of range)"
    );
    assert_eq!(
        int(&run(&mut vm, "return char(4294967295, -1)")),
        4294967294
    );
}

#[test]
fn option_arguments_are_nil_or_absent() {
    let mut vm = vm();
    vm.set_global_function("opt", |_, (a, b, c): (i64, Option<i64>, Option<String>)| {
        format!("{a} {b:?} {c:?}")
    })
    .unwrap();
    let r = run(
        &mut vm,
        "return opt(1), opt(1, nil), opt(1, 2), opt(1, nil, 'z'), opt(1, 2, 3, 'extra')",
    );
    let got: Vec<String> = r.iter().map(|&v| string(&vm, v)).collect();
    assert_eq!(
        got,
        [
            "1 None None",
            "1 None None",
            "1 Some(2) None",
            "1 None Some(\"z\")",
            "1 Some(2) Some(\"3\")"
        ]
    );
    assert_eq!(
        err(&mut vm, "return opt(1, 'two')"),
        "test:1: bad argument #2 to 'opt' (number expected, got string)"
    );
    assert_eq!(
        err(&mut vm, "return opt(nil, 2)"),
        "test:1: bad argument #1 to 'opt' (number expected, got nil)"
    );
}

#[test]
fn arities_zero_to_eight_and_variadic() {
    let mut vm = vm();
    vm.set_global_function("zero", |_, ()| 0i64).unwrap();
    vm.set_global_function("one", |_, a: i64| a).unwrap();
    vm.set_global_function("one_t", |_, (a,): (i64,)| a)
        .unwrap();
    vm.set_global_function(
        "eight",
        |_, (a, b, c, d, e, f, g, h): (i64, i64, i64, i64, i64, i64, i64, i64)| {
            a + b + c + d + e + f + g + h
        },
    )
    .unwrap();
    vm.set_global_function("sum", |_, xs: Variadic<f64>| xs.iter().sum::<f64>())
        .unwrap();
    let r = run(
        &mut vm,
        "return zero(1, 2), one(5), one_t(6), eight(1, 2, 3, 4, 5, 6, 7, 8), sum(), sum(1, '2', 3.5)",
    );
    assert!(
        matches!(r[..], [Value::Int(0), Value::Int(5), Value::Int(6), Value::Int(36), Value::Num(a), Value::Num(b)] if a == 0.0 && b == 6.5)
    );
    assert_eq!(
        err(&mut vm, "return eight(1, 2, 3, 4, 5, 6, 7)"),
        "test:1: bad argument #8 to 'eight' (number expected, got no value)"
    );
    assert_eq!(
        err(&mut vm, "return sum(1, 2, {})"),
        "test:1: bad argument #3 to 'sum' (number expected, got table)"
    );
}

// ----- Results -----

#[test]
fn results_unit_single_tuple_and_variadic() {
    let mut vm = vm();
    vm.set_global_function("none", |_, ()| ()).unwrap();
    vm.set_global_function("three", |_, ()| (1i64, "two", 3.0f64))
        .unwrap();
    vm.set_global_function("eight", |_, ()| {
        (1i64, 2i64, 3i64, 4i64, 5i64, 6i64, 7i64, true)
    })
    .unwrap();
    vm.set_global_function("many", |_, n: usize| {
        Variadic((0..n as i64).collect::<Vec<_>>())
    })
    .unwrap();
    assert!(run(&mut vm, "return none()").is_empty());
    let r = run(&mut vm, "return three()");
    assert_eq!(r.len(), 3);
    assert!(matches!(r[0], Value::Int(1)));
    assert_eq!(string(&vm, r[1]), "two");
    assert!(matches!(r[2], Value::Num(f) if f == 3.0));
    let r = run(&mut vm, "return eight()");
    assert_eq!(r.len(), 8);
    assert!(matches!(r[7], Value::Bool(true)));
    assert_eq!(run(&mut vm, "return many(0)").len(), 0);
    assert_eq!(run(&mut vm, "return many(300)").len(), 300);
    // Results adjust to what the caller wants.
    assert_eq!(int(&run(&mut vm, "local a, b = three() return a")), 1);
    assert!(matches!(
        run(&mut vm, "local a, b, c, d = three() return d")[0],
        Value::Nil
    ));
    assert_eq!(
        err(&mut vm, "return many(1000001)"),
        "test:1: stack overflow (too many results)"
    );
    vm.check_invariants().unwrap();
}

#[test]
fn result_errors_are_catchable_lua_errors() {
    let mut vm = vm();
    vm.set_global_function("div", |_, (a, b): (i64, i64)| -> Result<i64, String> {
        if b == 0 {
            Err("division by zero".into())
        } else {
            Ok(a / b)
        }
    })
    .unwrap();
    vm.set_global_function("fail_table", |vm, ()| -> Result<(), LuaError> {
        let t = vm.new_table();
        let v = vm.new_str(b"payload");
        let tr = t;
        vm.raw_set_str(tr, "code", v)?;
        Err(LuaError::new(Value::Table(t)))
    })
    .unwrap();
    vm.set_global_function("io_fail", |_, ()| -> Result<i64, std::io::Error> {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no such file",
        ))
    })
    .unwrap();
    // Uncaught: positioned like `luaL_error`.
    assert_eq!(err(&mut vm, "return div(1, 0)"), "test:1: division by zero");
    assert_eq!(err(&mut vm, "\n\nreturn io_fail()"), "test:3: no such file");
    // Caught by `pcall`, called directly (no Lua caller to position) and
    // from a Lua function.
    let r = run(&mut vm, "return pcall(div, 1, 0)");
    assert!(matches!(r[0], Value::Bool(false)));
    assert_eq!(string(&vm, r[1]), "division by zero");
    let r = run(&mut vm, "return pcall(function() return div(1, 0) end)");
    assert!(matches!(r[0], Value::Bool(false)));
    assert_eq!(string(&vm, r[1]), "test:1: division by zero");
    let r = run(&mut vm, "return pcall(div, 7, 2)");
    assert!(matches!(r[..], [Value::Bool(true), Value::Int(3)]));
    // A `LuaError` passes through with its value.
    let r = run(&mut vm, "local ok, e = pcall(fail_table) return ok, e.code");
    assert!(matches!(r[0], Value::Bool(false)));
    assert_eq!(string(&vm, r[1]), "payload");
    // Argument errors are catchable too; the VM stays usable.
    let r = run(&mut vm, "return pcall(div, 'x')");
    assert_eq!(
        string(&vm, r[1]),
        "bad argument #1 to 'div' (number expected, got string)"
    );
    assert_eq!(int(&run(&mut vm, "return div(9, 3)")), 3);
    vm.check_invariants().unwrap();
}

// ----- Closures -----

#[test]
fn closures_capture_state() {
    let mut vm = vm();
    let count = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&count);
    vm.set_global_function("tick", move |_, ()| c.fetch_add(1, Ordering::SeqCst) + 1)
        .unwrap();
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let l = Arc::clone(&log);
    vm.set_global_function("log", move |_, s: String| {
        let mut log = l.lock().map_err(|_| "poisoned".to_string())?;
        log.push(s);
        Ok::<usize, String>(log.len())
    })
    .unwrap();
    let r = run(
        &mut vm,
        "local last for i = 1, 100 do last = tick() end log('a') log(last) return log('c')",
    );
    assert_eq!(int(&r), 3);
    assert_eq!(count.load(Ordering::SeqCst), 100);
    assert_eq!(*log.lock().unwrap(), ["a", "100", "c"]);
}

#[test]
fn captured_state_is_dropped_with_the_function() {
    let mut vm = vm();
    let state = Arc::new(());
    let s = Arc::clone(&state);
    let f = vm.create_function("keep", move |_, ()| Arc::strong_count(&s) as i64);
    vm.set_global("keep", f).unwrap();
    assert_eq!(int(&run(&mut vm, "return keep()")), 2);
    vm.full_gc();
    assert_eq!(Arc::strong_count(&state), 2, "reachable from a global");
    run(&mut vm, "keep = nil");
    vm.full_gc();
    assert_eq!(Arc::strong_count(&state), 1, "collected with the function");
}

#[test]
fn closures_may_call_back_into_lua() {
    let mut vm = vm();
    vm.set_global_function("twice", |vm, (f, x): (Function, i64)| -> LuaResult<i64> {
        let r = vm.call_value(f.value(), &[Value::Int(x)])?;
        let once = vm.from_value::<i64>(r.first().copied().unwrap_or_default())?;
        let r = vm.call_value(f.value(), &[Value::Int(once)])?;
        vm.from_value::<i64>(r.first().copied().unwrap_or_default())
    })
    .unwrap();
    assert_eq!(
        int(&run(
            &mut vm,
            "return twice(function(n) return n * 3 end, 2)"
        )),
        18
    );
    assert_eq!(
        err(&mut vm, "return twice(function(n) return 'x' end, 2)"),
        "test:1: number expected, got string"
    );
    assert_eq!(
        err(
            &mut vm,
            "return twice(function(n) local t; return t.x end, 2)"
        ),
        "test:1: attempt to index a nil value (local 't')"
    );
    assert_eq!(
        err(&mut vm, "return twice(2)"),
        "test:1: bad argument #1 to 'twice' (function expected, got number)"
    );
    // Recursion through Lua is bounded by the C-call limit, not Rust's stack.
    run(&mut vm, "function rec(n) return twice(rec, n) end");
    // As `lua5.4` reports it for `string.gsub` recursing through Lua.
    assert_eq!(err(&mut vm, "return rec(1)"), "C stack overflow");
}

#[test]
fn plain_and_raw_functions() {
    let mut vm = vm();
    let f = vm.create_plain_function("add", |(a, b): (i64, i64)| a + b);
    vm.set_global("add", f).unwrap();
    let g = vm.create_raw_function("raw", |vm, args| {
        vm.push(Value::Int(args.len() as i64));
        Ok(Step::Return(1))
    });
    vm.set_global("raw", g).unwrap();
    assert_eq!(int(&run(&mut vm, "return add(2, 3)")), 5);
    assert_eq!(int(&run(&mut vm, "return raw(1, nil, 3)")), 3);
    let r = run(&mut vm, "return pcall(add)");
    assert_eq!(
        string(&vm, r[1]),
        "bad argument #1 to 'add' (number expected, got no value)"
    );
}

#[test]
fn the_vm_stays_send() {
    fn send<T: Send + ?Sized>() {}
    send::<Vm>();
    let mut vm = vm();
    let n = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&n);
    vm.set_global_function("inc", move |_, ()| {
        c.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap();
    let r = std::thread::spawn(move || {
        run(&mut vm, "inc() inc()");
        vm
    })
    .join()
    .expect("no panic");
    drop(r);
    assert_eq!(n.load(Ordering::SeqCst), 2);
}

/// Compares with `lua5.4`: the same calls of `string.rep` (stored in a
/// global `rep`) and of a closure with its signature give the same errors.
#[test]
fn matches_lua54_string_rep() {
    if !lua54::lua_available("matches_lua54_string_rep") {
        return;
    }
    let cases = [
        "rep()",
        "rep('x')",
        "rep('x', nil)",
        "rep('x', 'a')",
        "rep({}, 1)",
        "rep('x', 1.5)",
        "rep('x', '1.5')",
        "rep(true, 1)",
        "local f = rep; f()",
        "local t = {r = rep}; t.r(1, {})",
    ];
    for src in cases {
        let out = std::process::Command::new(lua54::LUA)
            .arg("-e")
            .arg(format!("rep = string.rep {src}"))
            .output()
            .expect("lua5.4 starts");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lua = stderr
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("lua5.4: "))
            .unwrap_or("")
            .to_string();
        assert!(!lua.is_empty(), "{src}: lua5.4 gave no error");
        let mut vm = vm();
        vm.set_global_function("rep", |_, (s, n): (Vec<u8>, i64)| {
            s.repeat(usize::try_from(n).unwrap_or(0))
        })
        .unwrap();
        let ours = match vm.exec(format!("rep = rep {src}").as_bytes(), "=(command line)") {
            Ok(_) => String::new(),
            Err(e) => e.message().unwrap_or("").to_string(),
        };
        assert_eq!(ours, lua, "{src}");
    }
}
