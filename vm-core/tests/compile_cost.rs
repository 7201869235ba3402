//! The code generator's cost on long flat inputs, and the `goto`, label and
//! `break` rules its indexed resolution must keep.
//!
//! Finding a label used to scan every visible label, and a label scanned
//! (and shifted) every pending goto, so `string.rep("goto l ", n) ..
//! "::l::"` cost `n²` (15 s for 1 MB); an `if` with `n` `elseif`s walked
//! the list of its exit jumps once per arm. The smoke tests compile inputs
//! of 1 to 2 MB of each such kind: linear, each takes well under a second
//! (a fraction of that in release builds); quadratic, minutes. They assert
//! no times, only that the compilation ends and is right.
//!
//! The expected messages and results are those of `lua5.4` (5.4.4).

mod support;

use support::vm;
use vm_core::Value;
use vm_core::Vm;

/// The message of the error compiling `src` fails with, or "OK".
fn compile_msg(vm: &mut Vm, src: &str) -> String {
    match vm.load(src.as_bytes(), "=t") {
        Ok(_) => "OK".to_string(),
        Err(e) => vm.error_to_string(&e),
    }
}

/// What running `src` returns, as a string.
fn run(vm: &mut Vm, src: &str) -> String {
    match vm.exec(src.as_bytes(), "=t") {
        Ok(v) => {
            let first = v.first().copied().unwrap_or(Value::Nil);
            vm.to_display(first)
        }
        Err(e) => panic!("{src}\n{}", vm.error_to_string(&e)),
    }
}

// ---- errors ----

#[test]
fn undefined_gotos_are_reported_first_met_first() {
    let mut vm = vm();
    for (src, msg) in [
        (
            "goto a goto b",
            "t:1: no visible label 'a' for <goto> at line 1",
        ),
        // `a` resolved before `b` stays as a hole in the pending list.
        (
            "goto a goto b ::a::",
            "t:1: no visible label 'b' for <goto> at line 1",
        ),
        (
            "goto b goto a ::a::",
            "t:1: no visible label 'b' for <goto> at line 1",
        ),
        (
            "do goto x end goto y",
            "t:1: no visible label 'x' for <goto> at line 1",
        ),
        (
            "goto a goto b goto a goto c ::a:: ::c::",
            "t:1: no visible label 'b' for <goto> at line 1",
        ),
        // Labels of an enclosing function are not visible.
        (
            "::l:: local f = function() goto l end",
            "t:1: no visible label 'l' for <goto> at line 1",
        ),
        // Nor are the labels of a closed block.
        (
            "do ::l1:: end goto l1",
            "t:1: no visible label 'l1' for <goto> at line 1",
        ),
        ("break", "t:1: break outside loop at line 1"),
        (
            "while x do f = function() break end end",
            "t:1: break outside loop at line 1",
        ),
        (
            "for i = 1, 2 do\nlocal x\nend\nbreak",
            "t:4: break outside loop at line 4",
        ),
    ] {
        assert_eq!(compile_msg(&mut vm, src), msg, "{src}");
    }
}

#[test]
fn gotos_into_the_scope_of_a_local() {
    let mut vm = vm();
    for (src, msg) in [
        // The first goto met is reported.
        (
            "goto l\ngoto l\nlocal a\n::l:: f()",
            "t:4: <goto l> at line 1 jumps into the scope of local 'a'",
        ),
        (
            "do local a goto l end\ngoto l\nlocal b\n::l:: f()",
            "t:4: <goto l> at line 1 jumps into the scope of local 'b'",
        ),
        // The `until` condition sees the body's locals.
        (
            "repeat goto c; local x ::c:: until x",
            "t:1: <goto c> at line 1 jumps into the scope of local 'x'",
        ),
        (
            "goto l local x ::l:: ::m:: ; f()",
            "t:1: <goto l> at line 1 jumps into the scope of local 'x'",
        ),
        // A label at the end of its block is outside its locals' scope.
        ("goto l local x ::l:: ::m:: ;", "OK"),
        ("do goto l; local z; ::l:: end", "OK"),
    ] {
        assert_eq!(compile_msg(&mut vm, src), msg, "{src}");
    }
}

#[test]
fn repeated_labels() {
    let mut vm = vm();
    for (src, msg) in [
        (
            "::a::\ndo\n::a::\nend",
            "t:4: label 'a' already defined on line 1",
        ),
        // The run of labels is created last to first; the error is on the
        // line of the token after the run.
        (
            "do\n::a::\n::b::\n::a::\nend",
            "t:5: label 'a' already defined on line 4",
        ),
        (
            "while x do\n::a::\n::a::\nend",
            "t:4: label 'a' already defined on line 3",
        ),
        (
            "for i = 1, 2 do\nlocal y\n::a::\n::a::\nend",
            "t:5: label 'a' already defined on line 4",
        ),
        (
            "for k in pairs(t) do\n::a::\n::a::\nend",
            "t:4: label 'a' already defined on line 3",
        ),
        (
            "if x then\n::a::\n::a::\nend",
            "t:4: label 'a' already defined on line 3",
        ),
        (
            "if x then\nelse\n::a::\n::a::\nend",
            "t:5: label 'a' already defined on line 4",
        ),
        // Labels of a closed block, or of an enclosing function, are gone.
        ("do\n::a::\nend\n::a::", "OK"),
        ("::l:: f = function() ::l:: end", "OK"),
        ("goto l; do ::l:: end; ::l::", "OK"),
    ] {
        assert_eq!(compile_msg(&mut vm, src), msg, "{src}");
    }
}

// ---- behaviour ----

#[test]
fn gotos_and_breaks_run_as_in_lua() {
    let mut vm = vm();
    let chain = {
        let mut t = vec!["local x = ... local r if x == 1 then r = 1".to_string()];
        for i in 2..=300 {
            t.push(format!("elseif x == {i} then r = {i}"));
        }
        t.push("else r = -1 end return r".to_string());
        t.join("\n")
    };
    let cases: Vec<(String, &str)> = vec![
        (
            format!(
                "local n = 0 {} n = -n ::l:: return n",
                "n = n + 1 if n % 2 == 0 then goto l end ".repeat(50)
            ),
            "2",
        ),
        (
            "local t = {} goto l3 ::l1:: t[#t+1] = 'a' goto l4 ::l2:: t[#t+1] = 'b' goto l1 \
             ::l3:: t[#t+1] = 'c' goto l2 ::l4:: return table.concat(t)"
                .into(),
            "cba",
        ),
        // A backward goto closes the upvalue of each round.
        (
            "local t = {} local i = 1 ::top:: local x = i t[i] = function() return x end \
             i = i + 1 if i <= 3 then goto top end return t[1]() .. t[2]() .. t[3]()"
                .into(),
            "123",
        ),
        // Gotos out of nested blocks whose locals are captured.
        (
            "local fs = {} for i = 1, 3 do do local y = i * 10 \
             fs[i] = function() y = y + 1 return y end \
             if i < 3 then goto continue end end fs[0] = 0 ::continue:: end \
             return fs[1]() .. ',' .. fs[1]() .. ',' .. fs[2]() .. ',' .. fs[3]() .. ',' .. tostring(fs[0])"
                .into(),
            "11,12,21,31,0",
        ),
        // Gotos out of blocks with to-be-closed variables close them.
        (
            "local log = {} local function mk(n) return setmetatable({}, {__close = function() \
             log[#log+1] = n end}) end do local a <close> = mk('a') do local b <close> = mk('b') \
             goto out end end ::out:: log[#log+1] = 'x' return table.concat(log)"
                .into(),
            "bax",
        ),
        (
            "local log = {} local function mk(n) return setmetatable({}, {__close = function() \
             log[#log+1] = n end}) end local i = 0 ::again:: do local c <close> = mk('c' .. i) \
             i = i + 1 if i < 3 then goto again end end return table.concat(log, ' ')"
                .into(),
            "c0 c1 c2",
        ),
        (
            "local n = 0 while true do n = n + 1 if n > 5 then break end \
             if n > 100 then break end break end return n"
                .into(),
            "1",
        ),
        (
            "local s = '' for i = 1, 10 do if i == 3 then break elseif i == 1 then s = s .. 'a' \
             elseif i == 2 then s = s .. 'b' else s = s .. 'z' end end return s"
                .into(),
            "ab",
        ),
        (
            "local n, s = 0, '' repeat n = n + 1 local done = n >= 3 \
             if n == 2 then goto skip end s = s .. n ::skip:: until done return s"
                .into(),
            "13",
        ),
        // The same label name in sibling blocks and in a nested function.
        (
            "local s = '' do goto l s = s .. 'x' ::l:: s = s .. 'a' end \
             do goto l s = s .. 'y' ::l:: s = s .. 'b' end ::l:: \
             local f = function() goto l s = s .. 'z' ::l:: s = s .. 'c' end f() return s"
                .into(),
            "abc",
        ),
        // A pending goto of the outer block is not taken by a label of the
        // same name in an inner block.
        (
            "local s = '' goto l do s = s .. 'x' ::l:: s = s .. 'y' end ::l:: s = s .. 'z' return s"
                .into(),
            "z",
        ),
        (
            format!(
                "local f = load({chain:?}) return f(1) .. f(2) .. f(150) .. f(300) .. f(301)"
            ),
            "12150300-1",
        ),
    ];
    for (src, expected) in &cases {
        assert_eq!(run(&mut vm, src), *expected, "{src}");
    }
}

// ---- cost smoke tests ----

/// Compiles `src` (which must compile) and returns the main function.
fn compile_ok(vm: &mut Vm, src: &str) -> Value {
    match vm.load(src.as_bytes(), "=big") {
        Ok(f) => f,
        Err(e) => panic!("{}", vm.error_to_string(&e)),
    }
}

/// What calling `f` with `args` returns first, as a string.
fn call(vm: &mut Vm, f: Value, args: &[Value]) -> String {
    match vm.call(f, args) {
        Ok(v) => {
            let first = v.first().copied().unwrap_or(Value::Nil);
            vm.to_display(first)
        }
        Err(e) => panic!("{}", vm.error_to_string(&e)),
    }
}

/// `n` copies of what `item` makes of `1..=n`, concatenated.
fn items(n: usize, item: impl Fn(usize) -> String) -> String {
    (1..=n).map(item).collect()
}

#[test]
fn many_gotos_to_one_label_compile_in_linear_time() {
    let mut vm = vm();
    // 200,000 forward gotos to one label (1.4 MB), the hostile case.
    let n = 200_000;
    let src = format!(
        "local n = 0 goto l {} ::l:: return n",
        "n = n + 1 goto l ".repeat(n / 2) + &"goto l ".repeat(n / 2)
    );
    let f = compile_ok(&mut vm, &src);
    assert_eq!(call(&mut vm, f, &[]), "0");
    // The same, backward.
    compile_ok(&mut vm, &format!("::l:: {}", "goto l ".repeat(n)));
    // 200,000 `break`s in one loop.
    compile_ok(&mut vm, &format!("while x do {} end", "break ".repeat(n)));
    // Nested blocks the gotos leave, each with a local.
    compile_ok(
        &mut vm,
        &format!("{} ::l::", "do local a goto l end ".repeat(n / 4)),
    );
}

#[test]
fn many_labels_and_distinct_gotos_compile_in_linear_time() {
    let mut vm = vm();
    let n = 50_000;
    // Each goto followed by its label.
    compile_ok(&mut vm, &items(n, |i| format!("goto l{i} ::l{i}:: ")));
    // All gotos first, then their labels, in order and in reverse.
    let gotos = items(n, |i| format!("goto l{i} "));
    let labels = items(n, |i| format!("::l{i}:: f() "));
    compile_ok(&mut vm, &format!("{gotos}{labels}"));
    let reversed = items(n, |i| format!("::l{}:: f() ", n + 1 - i));
    compile_ok(&mut vm, &format!("{gotos}{reversed}"));
    // Many pending gotos while many other labels come.
    compile_ok(&mut vm, &format!("{}{labels} ::z::", "goto z ".repeat(n)));
    // Many labels, then backward gotos to the first.
    compile_ok(&mut vm, &format!("{labels}{}", "goto l1 ".repeat(n)));
    // Gotos resolved out of order inside deep blocks leave holes in the
    // pending list that every enclosing block visits once.
    let depth = 150;
    let body = items(n / 2, |i| format!("goto a{i} goto z ::a{i}:: "));
    compile_ok(
        &mut vm,
        &format!(
            "{}{body}{} ::z::",
            "do ".repeat(depth),
            "end ".repeat(depth)
        ),
    );
}

#[test]
fn long_elseif_chains_compile_in_linear_time() {
    let mut vm = vm();
    let n = 100_000;
    let src = format!(
        "local x, r = ... if x == 0 then r = 0 {} else r = -1 end return r",
        items(n, |i| format!("elseif x == {i} then r = {i} "))
    );
    let f = compile_ok(&mut vm, &src);
    for x in [0, 1, 77_777, n as i64, n as i64 + 1] {
        let expected = if x <= n as i64 { x } else { -1 };
        assert_eq!(call(&mut vm, f, &[Value::Int(x)]), expected.to_string());
    }
    // `if c then break` arms inside a loop.
    compile_ok(
        &mut vm,
        &format!(
            "while true do if x then {} end end",
            "elseif x then break ".repeat(n)
        ),
    );
}

#[test]
fn other_long_flat_inputs_compile() {
    let mut vm = vm();
    let n = 20_000;
    for src in [
        "do local a = 1 end ".repeat(n),
        "f = function() return function() end end ".repeat(n),
        "do local a, b = 1, 2 f = function() return a + b end end ".repeat(n),
        format!("return {{{}}}", "1, ".repeat(4 * n)),
        format!("return {{{}}}", items(n, |i| format!("a{i} = {i}.5, "))),
        items(n, |i| format!("x = 's{i}' ")),
        "for i = 1, 2 do if x then goto c end x = i ::c:: end ".repeat(n),
        "do local x <close> = nil end ".repeat(n),
    ] {
        compile_ok(&mut vm, &src);
    }
}
