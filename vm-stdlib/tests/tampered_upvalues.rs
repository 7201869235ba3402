//! Natives that keep their state in upvalues, which `debug.setupvalue`
//! can replace from Lua: each then fails with a Lua error (or goes on with
//! what it can use), never a Rust panic or an allocation abort.

mod support;

use support::eval;

#[test]
fn replaced_upvalues_give_lua_errors() {
    let cases = [
        // `require`'s package table (lua5.4 says the same).
        (
            "debug.setupvalue(require, 1, 5) return pcall(require, 'm')",
            "false,attempt to index a number value",
        ),
        (
            "local it = string.gmatch('ab', '%a') debug.setupvalue(it, 3, 1) return pcall(it)",
            "false,gmatch iterator lost its state",
        ),
        (
            "debug.setupvalue(math.random, 1, 'x') return pcall(math.random)",
            "false,random state lost",
        ),
        (
            "local w = coroutine.wrap(function() end) debug.setupvalue(w, 1, 5) return pcall(w)",
            "false,wrapped coroutine lost its thread",
        ),
    ];
    for (src, want) in cases {
        let got = eval(src);
        assert!(got.ends_with(want), "{src}: {got}");
    }
}

#[test]
fn a_lines_iterator_with_a_huge_format_count_reads_at_most_its_formats() {
    // The count is capped at what `lines` can store: no 2^40-element
    // allocation, an argument error for the formats it does not have.
    let dir = std::env::temp_dir().join(format!("vm-tampered-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("lines.txt");
    std::fs::write(&path, "one\ntwo\n").unwrap();
    let src = format!(
        "local l = io.lines({:?}) debug.setupvalue(l, 2, 1 << 40) return pcall(l)",
        path.to_str().unwrap()
    );
    let got = eval(&src);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(got.starts_with("false,bad argument #2"), "{got}");
}
