//! Chunks loaded in pieces (`Vm::load_start`, `load_piece`, `load_finish`,
//! what `load` with a reader uses) parse as it arrives but must give
//! exactly what a load of the whole text gives: the same function (its
//! binary dump, debug information included) or the same error message,
//! whatever the pieces' sizes. The sources are the project's Lua corpus,
//! the benchmarks, and mutations of them that make syntax errors at random
//! places.

mod support;

use proptest::prelude::*;
use support::scale::cases;
use vm_core::{Value, Vm};

/// The corpus: every Lua file of `tests/lua` and `bench`.
fn corpus() -> Vec<Vec<u8>> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut files = Vec::new();
    for dir in ["tests/lua", "bench"] {
        let mut paths: Vec<_> = std::fs::read_dir(format!("{root}/{dir}"))
            .expect("corpus directory")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "lua"))
            .collect();
        paths.sort();
        for p in paths {
            let text = std::fs::read(&p).expect("corpus file");
            // A string load skips a first `#` line; a reader does not.
            if text.first() != Some(&b'#') {
                files.push(text);
            }
        }
    }
    assert!(files.len() > 40, "the corpus was found");
    files
}

/// What a load gives, comparable: the dump of the function, or the error.
fn outcome(vm: &mut Vm, r: Result<Value, vm_core::LuaError>) -> Result<Vec<u8>, String> {
    match r {
        Ok(f) => Ok(vm.dump(f, false).expect("a Lua function")),
        Err(e) => Err(vm.error_to_string(&e)),
    }
}

/// Loads `text` whole.
fn whole(vm: &mut Vm, text: &[u8]) -> Result<Vec<u8>, String> {
    let r = vm.load_chunk(text, "=chunk", "bt", None);
    outcome(vm, r)
}

/// Loads `text` in pieces of the given sizes (cycled), stopping at the
/// first error as `load` does.
fn pieces(vm: &mut Vm, text: &[u8], sizes: &[usize]) -> Result<Vec<u8>, String> {
    pieces_with(vm, text, sizes, |_| {})
}

/// [`pieces`] with a full collection between two pieces: the code
/// generated so far (its strings, which no function refers to yet) must
/// survive it.
fn pieces_collecting(vm: &mut Vm, text: &[u8], sizes: &[usize]) -> Result<Vec<u8>, String> {
    pieces_with(vm, text, sizes, Vm::full_gc)
}

fn pieces_with(
    vm: &mut Vm,
    text: &[u8],
    sizes: &[usize],
    between: impl Fn(&mut Vm),
) -> Result<Vec<u8>, String> {
    let loader = vm.load_start("=chunk", "bt");
    let root = vm.root(loader).unwrap();
    let mut at = 0;
    let mut i = 0;
    let r = loop {
        if at >= text.len() {
            break vm.load_finish(loader, None);
        }
        let n = sizes[i % sizes.len()].max(1);
        let end = (at + n).min(text.len());
        if let Err(e) = vm.load_piece(loader, &text[at..end]) {
            break Err(e);
        }
        between(vm);
        at = end;
        i += 1;
    };
    vm.unroot(root);
    outcome(vm, r)
}

#[test]
fn corpus_in_pieces_loads_as_whole() {
    let mut vm = Vm::new();
    for text in corpus() {
        let expected = whole(&mut vm, &text);
        assert!(expected.is_ok(), "{:?}", expected.err());
        for sizes in [&[1][..], &[2], &[3], &[7], &[64], &[1, 100, 5], &[4096]] {
            assert_eq!(
                pieces(&mut vm, &text, sizes),
                expected,
                "pieces of {sizes:?} of {}",
                String::from_utf8_lossy(&text[..text.len().min(80)])
            );
        }
        assert_eq!(
            pieces_collecting(&mut vm, &text, &[256]),
            expected,
            "pieces with collections of {}",
            String::from_utf8_lossy(&text[..text.len().min(80)])
        );
    }
}

/// Bits of Lua text where pieces may be cut badly: line breaks of every
/// kind, comments and long brackets holding them, strings, numerals.
const BITS: [&str; 25] = [
    "x",
    " = ",
    "1",
    "0x1p4",
    " ",
    "\n",
    "\r",
    "\r\n",
    "\n\r",
    "-- c",
    "--[==[a\r\nb]==]",
    "'s'",
    "[[l\rm]]",
    ";",
    "return x",
    "(",
    ")",
    ",",
    "local y",
    "error('e')",
    "--[=[",
    "]=]",
    "--[",
    "]",
    "=",
];

/// Statements whose code depends on what came before or after them:
/// labels (a label ending the chunk is outside its locals' scope), gotos
/// forward and back, locals, compile-time constants holding strings,
/// closures capturing them, blocks, and code-generation errors (a goto
/// into a local's scope, an assignment to a constant, an undefined label).
const STATEMENTS: [&str; 20] = [
    "::a:: ",
    "::b:: ",
    "goto a ",
    "goto b ",
    "local x = 'lx' ",
    "local k <const> = 'kay' .. 'pee' ",
    "local n <const> = 42 ",
    "x = k ",
    "k = 1 ",
    "do ",
    "end ",
    "g = function() return x, k, 'in' end ",
    "t = {k, 'field', [k] = 'v'} ",
    "; ",
    "if x then goto a end ",
    "\n",
    "while x do break end ",
    "local function f() return f, 'rec' end ",
    "return k ",
    "return ",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(512)))]

    /// Chunks of the statements above, cut anywhere and collected between
    /// pieces, load in pieces as they load whole: the code generated a
    /// statement at a time is the code of the whole chunk, with the same
    /// errors.
    #[test]
    fn statements_in_pieces_generate_as_whole(
        stats in prop::collection::vec(0usize..STATEMENTS.len(), 0..40),
        sizes in prop::collection::vec(1usize..24, 1..6),
    ) {
        let text: String = stats.iter().map(|&s| STATEMENTS[s]).collect();
        let mut vm = Vm::new();
        let expected = whole(&mut vm, text.as_bytes());
        prop_assert_eq!(&pieces(&mut vm, text.as_bytes(), &sizes), &expected);
        prop_assert_eq!(pieces_collecting(&mut vm, text.as_bytes(), &sizes), expected);
    }

    /// Text made of the awkward bits above, cut anywhere, loads in pieces
    /// as it loads whole: the same function (line numbers included) or
    /// the same error.
    #[test]
    fn awkward_text_in_pieces_loads_as_whole(
        bits in prop::collection::vec(0usize..BITS.len(), 0..60),
        sizes in prop::collection::vec(1usize..9, 1..6),
    ) {
        let text: String = bits.iter().map(|&b| BITS[b]).collect();
        let mut vm = Vm::new();
        let expected = whole(&mut vm, text.as_bytes());
        prop_assert_eq!(pieces(&mut vm, text.as_bytes(), &sizes), expected);
    }

    /// Mutated corpus files (bytes replaced by Lua's punctuation and
    /// keywords, or the text cut short) give the same error, at the same
    /// place, as when loaded whole.
    #[test]
    fn mutations_fail_as_whole(
        file in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0usize..12), 0..4),
        cut in proptest::option::of(any::<prop::sample::Index>()),
        sizes in prop::collection::vec(1usize..40, 1..5),
    ) {
        let files = corpus();
        let mut text = files[file.index(files.len())].clone();
        const INSERTS: [&[u8]; 12] = [
            b"=", b"(", b")", b"end", b"[[", b"\"", b"--[[", b"local", b"\n", b"0x", b"..", b"'",
        ];
        for (at, what) in edits {
            let at = at.index(text.len());
            text.splice(at..at, INSERTS[what].iter().copied());
        }
        if let Some(cut) = cut {
            text.truncate(cut.index(text.len()));
        }
        prop_assume!(text.first() != Some(&b'#'));
        let mut vm = Vm::new();
        let expected = whole(&mut vm, &text);
        prop_assert_eq!(pieces(&mut vm, &text, &sizes), expected);
    }
}

/// An endless reader of statements ends in "not enough memory" under a
/// memory limit, and the VM goes on.
#[test]
fn endless_chunk_runs_out_of_memory() {
    let mut vm = Vm::new();
    vm.set_memory_limit(Some(8 << 20));
    let loader = vm.load_start("=endless", "t");
    let root = vm.root(loader).unwrap();
    let mut err = None;
    for _ in 0..10_000_000 {
        if let Err(e) = vm.load_piece(loader, b"a = 1; ") {
            err = Some(vm.error_to_string(&e));
            break;
        }
    }
    assert_eq!(err.as_deref(), Some("not enough memory"));
    vm.unroot(root);
    vm.full_gc();
    assert!(vm.memory_used() < 1 << 20, "{}", vm.memory_used());
    let f = vm.load(b"return 6 * 7", "=after").expect("loads");
    let r = vm.call(f, &[]).expect("runs");
    assert!(matches!(r[..], [Value::Int(42)]));
}

/// An endless comment or run of blank lines is not kept: only the
/// statement being read is.
#[test]
fn endless_blank_text_is_not_buffered() {
    let mut vm = Vm::new();
    vm.set_memory_limit(Some(8 << 20));
    let loader = vm.load_start("=blank", "t");
    let root = vm.root(loader).unwrap();
    vm.load_piece(loader, b"x = 1\n").expect("a statement");
    let before = vm.memory_used();
    let line = b"-- a comment line, long enough to matter\n  ";
    for _ in 0..200_000 {
        vm.load_piece(loader, line)
            .expect("comments take no memory");
    }
    // 8.6 MB of text, one byte a line kept.
    let grown = vm.memory_used() - before;
    assert!(grown < 1 << 20, "{grown}");
    vm.load_piece(loader, b"return x + 1").expect("the end");
    let f = vm.load_finish(loader, None).expect("compiles");
    vm.unroot(root);
    let r = vm.call(f, &[]).expect("runs");
    assert!(matches!(r[..], [Value::Int(2)]));
}

/// A single endless comment, short or long, at the top level or inside a
/// statement being read, is not kept either: a long one keeps its line
/// breaks (one byte each), and the line numbers after it are right.
#[test]
fn endless_comments_are_not_buffered() {
    const MB: usize = 1 << 20;
    // The text, the bytes it may keep, the line of its end.
    for (head, filler, most, end, line) in [
        ("--", "x".repeat(1000), MB, "\nreturn x +", 3),
        (
            "--[==[",
            "x".repeat(999) + "\n",
            MB,
            "]=]]==] return x +",
            8002,
        ),
        (
            "x = x + --[=[",
            "]".repeat(999) + "\r",
            MB,
            "]=] 1 return x +",
            8002,
        ),
        // Nothing but line breaks (4 M): a byte each is kept.
        (
            "x = x + --[=[",
            "\n\r".repeat(500),
            6 * MB,
            "]=] 1 return x +",
            4_000_002,
        ),
    ] {
        let mut vm = Vm::new();
        vm.set_memory_limit(Some(8 << 20));
        let loader = vm.load_start("=comment", "t");
        let root = vm.root(loader).unwrap();
        vm.load_piece(loader, b"x = 1\n").expect("a statement");
        vm.load_piece(loader, head.as_bytes()).expect("the start");
        let before = vm.memory_used();
        for _ in 0..8000 {
            vm.load_piece(loader, filler.as_bytes())
                .expect("comments take no memory");
        }
        // 8 MB of text.
        let grown = vm.memory_used() - before;
        assert!(grown < most, "{head}: {grown}");
        vm.load_piece(loader, end.as_bytes()).expect("the end");
        // The text loads as it would whole: the error is on the right line.
        let e = vm.load_finish(loader, None).expect_err("unfinished");
        vm.unroot(root);
        assert_eq!(
            vm.error_to_string(&e),
            format!("comment:{line}: unexpected symbol near <eof>"),
            "{head}"
        );
    }
}

/// A large string chunk under a limit fails with "not enough memory" while
/// compiling, before the syntax tree takes the memory.
#[test]
fn huge_string_chunk_runs_out_of_memory() {
    let mut vm = Vm::new();
    vm.set_memory_limit(Some(16 << 20));
    let text = "a = 1;".repeat(2_000_000);
    let err = vm.load(text.as_bytes(), "=big").expect_err("too large");
    assert_eq!(vm.error_to_string(&err), "not enough memory");
    let f = vm.load(b"return 1", "=after").expect("loads");
    let r = vm.call(f, &[]).expect("runs");
    assert!(matches!(r[..], [Value::Int(1)]));
}
