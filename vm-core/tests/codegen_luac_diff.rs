//! Differential test of the code generator against `luac5.4 -l -l`
//! (`lcode.c`, `lparser.c`): the same sources are compiled by
//! `vm_core::compiler` and by `luac5.4`, and every function must get the
//! same instructions, once `luac`'s listing is normalised to our
//! instruction set:
//! - `MMBIN*` and `EXTRAARG` are dropped (jump targets renumbered);
//! - jumps and loops compare by absolute target, since `FORPREP` counts
//!   its offset differently;
//! - `NEWTABLE` compares the array size and the log2 hash size;
//! - `RETURN`/`TAILCALL` compare `A B` only (no `k`/`C` flags).
//!
//! Functions where `luac` swaps operands or codes an operator as another
//! (`1 + x`, `x - 1` as `ADDI -1`, `x << 1` as `SHRI -1`: an `MMBIN*`
//! with the flip bit or another event) are compiled differently on
//! purpose and are only counted. So are functions with more than 256
//! constants, though they are reported as failures: our constant
//! operands are 32 bits wide, so where `luac` loads constant 256 and up
//! into a register first (`LOADK` + `EQ`, `GETUPVAL` + `GETTABLE`), we
//! keep the `K` form (`tests/lua/string_format.lua` and
//! `string_lib.lua` have such functions).
//!
//! It needs `luac5.4` on the `PATH` (`.ci/run` installs it) and is
//! skipped, with a message, without it.
//! `CODEGEN_DIFF_FILES` may name more source files (separated by
//! whitespace) to compare; `CODEGEN_DIFF_LINES` prints the functions whose
//! line information differs (it is reported, not an error).

mod support;

use std::collections::HashMap;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::Arc;

use slotmap::SlotMap;
use support::{lua54, scale};
use vm_core::tools::Op;
use vm_core::tools::Proto;
use vm_core::tools::{generate, parse, Interner};
use vm_core::{StrRef, Value};

/// Snippets covering the code generator's cases.
const CORPUS: &[&str] = &[
    "local a, b = ... local x = a + b * 2 - 3 // a % 0.5 ^ b / 7 return x",
    "local a = ... return a & 0xff, a | 1, a ~ 2, a >> 3, ~a, -a, #a, not a",
    "local a, b = ... return a < b, a <= 1, a > 2.0, a >= b, a == 'x', a ~= nil, 1.5 == a",
    "local a, b, c = ... x = a and b or c y = not (a and b) z = (a or b) and c",
    "local a, b = ... if a < b and b ~= 3 or not a then f() elseif b then g() else h() end",
    "local s = 'a' .. 'b' .. x .. y .. 1 .. 2.5 t = s .. (s .. s)",
    "local t = {1, 2, 3, x = 1, ['y'] = 2, [3] = 4, f(), g()} local u = {...} local v = {f(), nil}",
    "local t = {} t.x, t[1], t[300], t[x], t['long key'] = 1, 2, 3, 4, nil",
    "a, b, c = f() local d, e = g(), h(), i() local t = {} t[d], d = d, 1",
    "local o = {} function o.f(a, ...) return ... end function o:m(x) return self, x end",
    "function a.b.c:m() end local function r(n) if n > 0 then return r(n - 1) end return 0 end",
    "for i = 1, 10 do f(i) end for i = 10, 1, -1 do local x = i g(function() return x end) end",
    "for k, v in pairs(t) do if v then break end f(k) end for a, b, c in next, t do end",
    "while x do if y then break end x = f(x) end repeat local z = g() until z",
    "repeat local d = g(); h(function() return d end) until d",
    "do local x <close> = f() local y <const> = 10 local z <const> = x return y + 1 end",
    "local k <const> = 'key' local n <const> = 2^53 t[k] = n; t.x = k .. k",
    "local i = 1 ::top:: local x = i if x then goto done end i = i + 1 goto top ::done::",
    "for j = 1, 3 do if j == 2 then goto continue end local y = j f(function() return y end) ::continue:: end",
    "local function f(...) local a, b = ... return select('#', ...), (...) end return f(1, 2)",
    "local _ENV = {} x = 1 y = x return z",
    "local a = {} a.b.c.d = a.b.c a[1][2] = a[2][1] return a:m(1):n(2)",
    "return f(x), (g(y)), h(...)",
    "local x <const> = 1 local y = x + 2 * 3 - 4 // 1 return y, 7 // 0, 1 / 0, 0/0, -0.0, 3 | 1.0",
    "if x then else end while false do end repeat until true if nil then f() end",
    "local a = {...} return #a, a[#a], a[1] == a[2]",
    "local function counter() local c = 0 return function() c = c + 1 return c end end",
];

/// A deduplicating interner for the test.
#[derive(Default)]
struct Strings {
    map: SlotMap<StrRef, Vec<u8>>,
    index: HashMap<Vec<u8>, StrRef>,
}

impl Interner for Strings {
    fn intern(&mut self, bytes: &[u8]) -> StrRef {
        if let Some(&s) = self.index.get(bytes) {
            return s;
        }
        let s = self.map.insert(bytes.to_vec());
        self.index.insert(bytes.to_vec(), s);
        s
    }
}

/// One function of a `luac` listing.
struct LuacFunction {
    slots: u32,
    /// Instructions as (line, name, operands, comment).
    code: Vec<(u32, String, Vec<String>, String)>,
    /// Constants as `luac -l -l` prints them (`S "x"`, `I 1`, ...).
    consts: Vec<String>,
}

/// Parses `luac -l -l` output into its functions, in print order.
fn parse_listing(text: &str) -> Vec<LuacFunction> {
    let mut functions = Vec::new();
    let mut in_consts = false;
    for line in text.lines() {
        if line.starts_with("main <") || line.starts_with("function <") {
            functions.push(LuacFunction {
                slots: 0,
                code: Vec::new(),
                consts: Vec::new(),
            });
            in_consts = false;
        } else if line.starts_with("constants (") {
            in_consts = true;
        } else if line.starts_with("locals (") || line.starts_with("upvalues (") {
            in_consts = false;
        } else if let Some(rest) = line.split_once(" slots,").map(|(a, _)| a) {
            if let (Some(f), Some(n)) = (functions.last_mut(), rest.rsplit(' ').next()) {
                f.slots = n.parse().unwrap_or(0);
            }
        } else if let (true, Some(f)) = (line.starts_with('\t'), functions.last_mut()) {
            let fields: Vec<&str> = line.splitn(4, '\t').collect();
            if in_consts {
                // "", index, type, value
                if fields.len() == 4 {
                    f.consts.push(format!("{} {}", fields[2], fields[3]));
                }
                continue;
            }
            let fields: Vec<&str> = line.split('\t').collect();
            // "", pc, [line], NAME, operands, ; comment
            if fields.len() >= 4 && fields[2].starts_with('[') {
                let line_no = fields[2]
                    .trim_matches(|c| c == '[' || c == ']')
                    .parse()
                    .unwrap_or(0);
                let name = fields[3].trim().to_string();
                let operands = fields
                    .get(4)
                    .map(|s| s.split_whitespace().map(str::to_string).collect())
                    .unwrap_or_default();
                let comment = fields
                    .get(5)
                    .map_or("", |s| s.trim_start_matches("; "))
                    .to_string();
                f.code.push((line_no, name, operands, comment));
            }
        }
    }
    functions
}

/// The event each arithmetic instruction calls for its metamethod.
fn natural_event(op: &str) -> Option<&'static str> {
    Some(match op {
        "ADD" | "ADDI" | "ADDK" => "__add",
        "SUB" | "SUBK" => "__sub",
        "MUL" | "MULK" => "__mul",
        "MOD" | "MODK" => "__mod",
        "POW" | "POWK" => "__pow",
        "DIV" | "DIVK" => "__div",
        "IDIV" | "IDIVK" => "__idiv",
        "BAND" | "BANDK" => "__band",
        "BOR" | "BORK" => "__bor",
        "BXOR" | "BXORK" => "__bxor",
        "SHL" | "SHLI" => "__shl",
        "SHR" | "SHRI" => "__shr",
        _ => return None,
    })
}

/// Which operands of an instruction (in our operand order, stores with
/// their `k` flag last) are constant indices.
fn constant_operands(name: &str, ops: &[String]) -> Vec<usize> {
    let flagged = ops.last().is_some_and(|k| k == "1");
    match name {
        "LOADK" | "EQK" => vec![1],
        "GETTABUP" | "GETFIELD" | "SELF" => vec![2],
        "ADDK" | "SUBK" | "MULK" | "MODK" | "POWK" | "DIVK" | "IDIVK" | "BANDK" | "BORK"
        | "BXORK" => vec![2],
        "SETTABUP" | "SETFIELD" if flagged => vec![1, 2],
        "SETTABUP" | "SETFIELD" => vec![1],
        "SETTABLE" | "SETI" if flagged => vec![2],
        _ => vec![],
    }
}

/// `NAME operands` with constant indices replaced by the constants.
fn render(name: &str, mut ops: Vec<String>, consts: &[String]) -> String {
    for i in constant_operands(name, &ops) {
        if let Some(op) = ops.get_mut(i) {
            let k: usize = op.parse().unwrap_or(usize::MAX);
            *op = format!("<{}>", consts.get(k).map_or("?", String::as_str));
        }
    }
    let mut text = name.to_string();
    for op in ops {
        text.push(' ');
        text.push_str(&op);
    }
    text
}

/// `luac`'s function normalised to comparable strings with lines, or
/// `None` when it swaps operands or codes an operator as another.
fn normalise_luac(f: &LuacFunction) -> Option<Vec<(u32, String)>> {
    let dropped = |name: &str| name.starts_with("MMBIN") || name == "EXTRAARG";
    let mut new_pc = Vec::with_capacity(f.code.len() + 1);
    let mut next = 0usize;
    for (_, name, ..) in &f.code {
        new_pc.push(next);
        if !dropped(name) {
            next += 1;
        }
    }
    new_pc.push(next);
    // 1-based luac pc in a comment ("to 12", "exit to 13") to our index.
    let target = |comment: &str| -> String {
        let n: usize = comment
            .rsplit(' ')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        format!(
            "->{}",
            new_pc
                .get(n.saturating_sub(1))
                .copied()
                .unwrap_or(usize::MAX)
        )
    };
    let mut out = Vec::new();
    for (i, (line, name, ops, comment)) in f.code.iter().enumerate() {
        if name.starts_with("MMBIN") {
            let flip = ops.get(3).is_some_and(|k| k == "1");
            let event = comment.split_whitespace().next().unwrap_or("");
            let previous = i.checked_sub(1).map(|p| f.code[p].1.as_str()).unwrap_or("");
            if flip || natural_event(previous) != Some(event) {
                return None;
            }
            continue;
        }
        if name == "EXTRAARG" {
            continue;
        }
        // A `k` suffix marks a constant operand; stores always carry the flag.
        let mut ops: Vec<String> = ops.clone();
        let is_store = ["SETTABUP", "SETTABLE", "SETI", "SETFIELD"].contains(&name.as_str());
        if let Some(last) = ops.last().cloned() {
            match last.strip_suffix('k') {
                Some(n) if is_store => {
                    *ops.last_mut().unwrap_or(&mut String::new()) = n.to_string();
                    ops.push("1".into());
                }
                Some(n) => *ops.last_mut().unwrap_or(&mut String::new()) = n.to_string(),
                None if is_store => ops.push("0".into()),
                None => {}
            }
        }
        let text = match name.as_str() {
            "JMP" => format!("JMP {}", target(comment)),
            "FORPREP" | "FORLOOP" | "TFORPREP" | "TFORLOOP" => {
                format!("{name} {} {}", ops[0], target(comment))
            }
            "NEWTABLE" => {
                let extra: usize = match f.code.get(i + 1) {
                    Some((_, n, o, _)) if n == "EXTRAARG" => o[0].parse().unwrap_or(0),
                    _ => 0,
                };
                let c: usize = ops[2].parse().unwrap_or(0);
                format!("NEWTABLE {} {} {}", ops[0], ops[1], c + extra * 256)
            }
            "RETURN" | "TAILCALL" => format!("{name} {} {}", ops[0], ops[1]),
            // Ours carries `isf` too.
            "EQI" | "LTI" | "LEI" | "GTI" | "GEI" => format!("{name} {}", ops[..3].join(" ")),
            _ => render(name, ops, &f.consts),
        };
        out.push((*line, text));
    }
    Some(out)
}

/// A constant as `luac -l -l` prints it.
fn luac_constant(v: &Value, strings: &Strings) -> String {
    match *v {
        Value::Nil => "N nil".into(),
        Value::Bool(b) => format!("B {b}"),
        Value::Int(i) => format!("I {i}"),
        Value::Num(f) => {
            let mut out = Vec::new();
            vm_core::number::fmt_float(f, &mut out);
            format!("F {}", String::from_utf8_lossy(&out))
        }
        Value::Str(s) => {
            let mut text = String::from("S \"");
            for &c in strings.map.get(s).map_or(&[][..], Vec::as_slice) {
                match c {
                    b'"' => text.push_str("\\\""),
                    b'\\' => text.push_str("\\\\"),
                    7 => text.push_str("\\a"),
                    8 => text.push_str("\\b"),
                    12 => text.push_str("\\f"),
                    b'\n' => text.push_str("\\n"),
                    b'\r' => text.push_str("\\r"),
                    b'\t' => text.push_str("\\t"),
                    11 => text.push_str("\\v"),
                    32..=126 => text.push(char::from(c)),
                    _ => text.push_str(&format!("\\{c:03}")),
                }
            }
            text.push('"');
            text
        }
        _ => "?".into(),
    }
}

/// Our function as comparable strings with lines.
fn normalise_ours(p: &Proto, strings: &Strings) -> Vec<(u32, String)> {
    let consts: Vec<String> = p.consts.iter().map(|v| luac_constant(v, strings)).collect();
    let ceil_log2_plus1 = |n: u16| {
        if n == 0 {
            0
        } else {
            32 - (u32::from(n) - 1).leading_zeros() + 1
        }
    };
    p.code
        .iter()
        .enumerate()
        .map(|(pc, op)| {
            let next = pc as i64 + 1;
            let text = match *op {
                Op::Jmp { sj } => format!("JMP ->{}", next + i64::from(sj)),
                Op::ForPrep { a, bx } => format!("FORPREP {a} ->{}", next + i64::from(bx)),
                Op::ForLoop { a, bx } => format!("FORLOOP {a} ->{}", next - i64::from(bx)),
                Op::TForPrep { a, bx } => format!("TFORPREP {a} ->{}", next + i64::from(bx)),
                Op::TForLoop { a, bx } => format!("TFORLOOP {a} ->{}", next - i64::from(bx)),
                Op::NewTable { a, hash, array } => {
                    format!("NEWTABLE {a} {} {array}", ceil_log2_plus1(hash))
                }
                Op::EqI { a, sb, k, .. } => format!("EQI {a} {sb} {}", u8::from(k)),
                Op::LtI { a, sb, k, .. } => format!("LTI {a} {sb} {}", u8::from(k)),
                Op::LeI { a, sb, k, .. } => format!("LEI {a} {sb} {}", u8::from(k)),
                Op::GtI { a, sb, k, .. } => format!("GTI {a} {sb} {}", u8::from(k)),
                Op::GeI { a, sb, k, .. } => format!("GEI {a} {sb} {}", u8::from(k)),
                _ => {
                    let ops = op.operands().iter().map(|o| o.to_string()).collect();
                    render(op.name(), ops, &consts)
                }
            };
            (p.lines[pc], text)
        })
        .collect()
}

/// Prototypes in `luac`'s print order (each function, then its children).
fn preorder<'p>(p: &'p Proto, out: &mut Vec<&'p Proto>) {
    out.push(p);
    for child in &p.protos {
        preorder(child, out);
    }
}

/// `luac5.4 -l -l` of `src`, or its error message.
fn luac_listing(src: &str) -> Result<String, String> {
    let mut child = Command::new(lua54::LUAC)
        .args(["-l", "-l", "-o", "/dev/null", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("luac5.4 starts");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(src.as_bytes()).expect("write to luac5.4");
    }
    let out = child.wait_with_output().expect("luac5.4 runs");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// An error message without program name, chunk name, line and "near"
/// part (our generator's line for an error is not always PUC's, and it
/// has no tokens to quote).
fn bare_message(msg: &str) -> String {
    let msg = msg.trim().trim_start_matches("luac5.4: ");
    let msg = msg.split_once(':').map_or(msg, |(_, rest)| rest);
    let msg = msg.split_once(": ").map_or(msg, |(_, rest)| rest);
    msg.split(" near ").next().unwrap_or(msg).to_string()
}

/// Whether two normalised instructions agree. Lua 5.4.4 closes from a
/// higher register at the exit of a loop left by `break` (its
/// `leaveblock` removes the loop's variables after creating the `break`
/// label, fixed in 5.4.6); closing from a lower one is what 5.4.6 does.
fn same_instruction(ours: &str, luac: &str) -> bool {
    match (ours.strip_prefix("CLOSE "), luac.strip_prefix("CLOSE ")) {
        (Some(a), Some(b)) => a.parse::<u32>().ok() <= b.parse::<u32>().ok(),
        _ => ours == luac,
    }
}

#[derive(Default)]
struct Tally {
    compared: usize,
    /// Sources both compilers reject (with the same message).
    errors: usize,
    divergent: usize,
    line_mismatches: usize,
    failures: Vec<String>,
}

fn compare(name: &str, src: &str, tally: &mut Tally) {
    let mut strings = Strings::default();
    let chunk = parse(src.as_bytes(), "=src");
    let parsed = chunk.is_ok();
    let ours = chunk.and_then(|chunk| generate(&chunk, Arc::from("=src"), "src", &mut strings));
    let (listing, proto) = match (luac_listing(src), ours) {
        (Ok(listing), Ok(proto)) => (listing, proto),
        (Ok(_), Err(e)) => {
            tally
                .failures
                .push(format!("{name}: luac compiles it, we fail: {e}\n{src}"));
            return;
        }
        (Err(e), Ok(_)) => {
            tally.failures.push(format!(
                "{name}: luac fails ({}), we compile it\n{src}",
                e.trim()
            ));
            return;
        }
        (Err(theirs), Err(ours)) => {
            tally.errors += 1;
            // PUC Lua generates code as it parses, so a code generation
            // error can come before a syntax error further on; we parse
            // first. Syntax errors are the parser's differential test's.
            if parsed && bare_message(&theirs) != bare_message(&ours.0) {
                tally.failures.push(format!(
                    "{name}: luac says {}, we say {ours}\n{src}",
                    theirs.trim()
                ));
            }
            return;
        }
    };
    let mut ours = Vec::new();
    preorder(&proto, &mut ours);
    let theirs = parse_listing(&listing);
    if ours.len() != theirs.len() {
        tally.failures.push(format!(
            "{name}: {} functions vs luac's {}",
            ours.len(),
            theirs.len()
        ));
        return;
    }
    for (index, (p, f)) in ours.iter().zip(&theirs).enumerate() {
        let Some(expected) = normalise_luac(f) else {
            tally.divergent += 1;
            continue;
        };
        tally.compared += 1;
        let actual = normalise_ours(p, &strings);
        let same = actual.len() == expected.len()
            && actual
                .iter()
                .zip(&expected)
                .all(|((_, a), (_, e))| same_instruction(a, e));
        if !same || u32::from(p.max_stack) != f.slots {
            let mut report = format!(
                "{name}, function {index}: max_stack {} vs {}\n",
                p.max_stack, f.slots
            );
            let n = actual.len().max(expected.len());
            for i in 0..n {
                let a = actual.get(i).map_or("", |(_, t)| t.as_str());
                let e = expected.get(i).map_or("", |(_, t)| t.as_str());
                let mark = if same_instruction(a, e) { " " } else { "*" };
                report.push_str(&format!("{mark} {i:3} {a:<28} {e}\n"));
            }
            tally.failures.push(report);
        } else if actual
            .iter()
            .map(|(l, _)| l)
            .ne(expected.iter().map(|(l, _)| l))
        {
            tally.line_mismatches += 1;
            if std::env::var_os("CODEGEN_DIFF_LINES").is_some() {
                eprintln!("{name}, function {index}: other line numbers");
                for ((la, a), (le, _)) in actual.iter().zip(&expected) {
                    let mark = if la == le { " " } else { "*" };
                    eprintln!("{mark} {a:<30} {la:4} {le:4}");
                }
            }
        }
    }
}

#[test]
fn generated_code_matches_luac() {
    if !lua54::luac_available("generated_code_matches_luac") {
        return;
    }
    let mut tally = Tally::default();
    for (i, src) in CORPUS.iter().enumerate() {
        compare(&format!("snippet {i}"), src, &mut tally);
    }
    if let Ok(files) = std::env::var("CODEGEN_DIFF_FILES") {
        for path in files.split_whitespace() {
            match std::fs::read_to_string(path) {
                Ok(src) => compare(path, &src, &mut tally),
                Err(e) => tally.failures.push(format!("{path}: {e}")),
            }
        }
    }
    eprintln!(
        "{} functions compared, {} divergent on purpose, {} with other line numbers, \
         {} sources rejected by both",
        tally.compared, tally.divergent, tally.line_mismatches, tally.errors
    );
    assert!(tally.failures.is_empty(), "\n{}", tally.failures.join("\n"));
}

/// Generates random Lua programs (mostly valid) from a seed: every
/// statement and expression form, locals captured by closures, `<const>`
/// and `<close>` locals, loops with `break` and `goto continue`.
struct RandomLua {
    state: u64,
    out: String,
    /// Locals in scope, innermost last.
    locals: Vec<String>,
    /// Enclosing loops in the current function.
    loops: usize,
    vararg: bool,
    next_name: usize,
}

impl RandomLua {
    fn program(seed: u64) -> String {
        let mut g = RandomLua {
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            out: String::new(),
            locals: Vec::new(),
            loops: 0,
            vararg: true,
            next_name: 0,
        };
        g.block(3);
        g.out
    }

    fn next(&mut self) -> u64 {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'s>(&mut self, items: &[&'s str]) -> &'s str {
        items[self.below(items.len() as u64) as usize]
    }

    fn fresh(&mut self) -> String {
        self.next_name += 1;
        format!("v{}", self.next_name)
    }

    fn name(&mut self) -> String {
        if !self.locals.is_empty() && self.chance(70) {
            let i = self.below(self.locals.len() as u64) as usize;
            self.locals[i].clone()
        } else {
            self.pick(&["g", "h", "t", "print", "_ENV"]).to_string()
        }
    }

    fn literal(&mut self) -> String {
        let lits = [
            "nil",
            "true",
            "false",
            "0",
            "1",
            "2",
            "-1",
            "7",
            "127",
            "128",
            "129",
            "-128",
            "300",
            "65535",
            "65536",
            "65537",
            "-65536",
            "0x7fffffffffffffff",
            "1.0",
            "0.5",
            "-0.0",
            "2.5",
            "1e300",
            "3.0",
            "'a'",
            "\"b\"",
            "'x'",
            "[[long]]",
        ];
        self.pick(&lits).to_string()
    }

    fn exp(&mut self, depth: u32) -> String {
        if depth == 0 || self.chance(30) {
            return match self.below(4) {
                0 | 1 => self.literal(),
                2 if self.vararg && self.chance(20) => "...".to_string(),
                _ => self.name(),
            };
        }
        let d = depth - 1;
        match self.below(11) {
            0..=3 => {
                let ops = [
                    "+", "-", "*", "/", "//", "%", "^", "..", "==", "~=", "<", "<=", ">", ">=",
                    "and", "or", "&", "|", "~", "<<", ">>",
                ];
                let op = self.pick(&ops);
                format!("{} {op} {}", self.exp(d), self.exp(d))
            }
            4 => {
                let op = self.pick(&["-", "not ", "#", "~"]);
                format!("{op}{}", self.operand(d))
            }
            5 => format!("({})", self.exp(d)),
            6 => match self.below(3) {
                0 => format!("{}.{}", self.prefix(d), self.pick(&["x", "y", "n"])),
                _ => format!("{}[{}]", self.prefix(d), self.exp(d)),
            },
            7 => self.call(d),
            8 => {
                let mut fields = Vec::new();
                for _ in 0..self.below(5) {
                    fields.push(match self.below(3) {
                        0 => format!("{} = {}", self.pick(&["x", "y", "z"]), self.exp(d)),
                        1 => format!("[{}] = {}", self.exp(d), self.exp(d)),
                        _ => self.exp(d),
                    });
                }
                format!("{{{}}}", fields.join(", "))
            }
            9 => self.function(d),
            _ => self.operand(d),
        }
    }

    /// An expression safe as an operand of a unary operator.
    fn operand(&mut self, depth: u32) -> String {
        match self.below(3) {
            0 => self.literal(),
            1 => self.name(),
            _ => format!("({})", self.exp(depth)),
        }
    }

    /// An expression that can be indexed or called.
    fn prefix(&mut self, depth: u32) -> String {
        match self.below(3) {
            0 => format!("({})", self.exp(depth)),
            1 if depth > 0 => self.call(depth - 1),
            _ => self.name(),
        }
    }

    fn args(&mut self, depth: u32) -> String {
        let n = self.below(4);
        (0..n)
            .map(|_| self.exp(depth))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn call(&mut self, depth: u32) -> String {
        let f = self.prefix(depth);
        match self.below(4) {
            0 => format!("{f}:{}({})", self.pick(&["m", "n"]), self.args(depth)),
            1 => format!("{f} '{}'", self.pick(&["s", "t"])),
            _ => format!("{f}({})", self.args(depth)),
        }
    }

    fn function(&mut self, depth: u32) -> String {
        let saved = (self.locals.len(), self.loops, self.vararg);
        let params: Vec<String> = (0..self.below(3)).map(|_| self.fresh()).collect();
        self.vararg = self.chance(50);
        let mut head = params.join(", ");
        if self.vararg {
            head.push_str(if params.is_empty() { "..." } else { ", ..." });
        }
        self.locals.extend(params);
        self.loops = 0;
        let outer = std::mem::take(&mut self.out);
        self.block(depth.min(2));
        let body = std::mem::replace(&mut self.out, outer);
        self.locals.truncate(saved.0);
        (self.loops, self.vararg) = (saved.1, saved.2);
        format!("function({head})\n{body}end")
    }

    fn line(&mut self, text: &str) {
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn block(&mut self, depth: u32) {
        let scope = self.locals.len();
        for _ in 0..self.below(5) {
            self.statement(depth);
        }
        if self.chance(15) {
            let values = self.args(depth);
            self.line(&format!("return {values}"));
        }
        self.locals.truncate(scope);
    }

    fn statement(&mut self, depth: u32) {
        let d = depth.saturating_sub(1);
        match self.below(if depth == 0 { 5 } else { 12 }) {
            0 | 1 => {
                let n = self.below(3) + 1;
                let names: Vec<String> = (0..n).map(|_| self.fresh()).collect();
                let close = names.len() == 1 && self.chance(10);
                let decl: Vec<String> = names
                    .iter()
                    .map(|v| match self.below(8) {
                        0 => format!("{v} <const>"),
                        _ if close => format!("{v} <close>"),
                        _ => v.clone(),
                    })
                    .collect();
                let values = if close {
                    "nil".to_string()
                } else {
                    self.args(d)
                };
                let text = if values.is_empty() {
                    format!("local {}", decl.join(", "))
                } else {
                    format!("local {} = {values}", decl.join(", "))
                };
                self.line(&text);
                self.locals.extend(names);
            }
            2 => {
                let n = self.below(3) + 1;
                let targets: Vec<String> = (0..n)
                    .map(|_| match self.below(3) {
                        0 => format!("{}.{}", self.prefix(d), self.pick(&["x", "y"])),
                        1 => format!("{}[{}]", self.prefix(d), self.exp(d)),
                        _ => self.name(),
                    })
                    .collect();
                let values = match self.args(d) {
                    v if v.is_empty() => "nil".to_string(),
                    v => v,
                };
                self.line(&format!("{} = {values}", targets.join(", ")));
            }
            3 => {
                let c = self.call(d);
                self.line(&c);
            }
            4 if self.loops > 0 => self.line("break"),
            4 => self.line(";"),
            5 => {
                let c = self.exp(d);
                self.line(&format!("if {c} then"));
                self.block(d);
                if self.chance(40) {
                    let c = self.exp(d);
                    self.line(&format!("elseif {c} then"));
                    self.block(d);
                }
                if self.chance(40) {
                    self.line("else");
                    self.block(d);
                }
                self.line("end");
            }
            6 => {
                let c = self.exp(d);
                self.line(&format!("while {c} do"));
                self.loop_body(d);
                self.line("end");
            }
            7 => {
                self.line("repeat");
                let scope = self.locals.len();
                self.loops += 1;
                for _ in 0..self.below(4) {
                    self.statement(d);
                }
                self.loops -= 1;
                let c = self.exp(d);
                self.line(&format!("until {c}"));
                self.locals.truncate(scope);
            }
            8 => {
                let v = self.fresh();
                let (a, b) = (self.exp(d), self.exp(d));
                let step = if self.chance(50) {
                    format!(", {}", self.exp(d))
                } else {
                    String::new()
                };
                self.line(&format!("for {v} = {a}, {b}{step} do"));
                self.locals.push(v);
                self.loop_body(d);
                self.locals.pop();
                self.line("end");
            }
            9 => {
                let names: Vec<String> = (0..self.below(3) + 1).map(|_| self.fresh()).collect();
                let exps = match self.args(d) {
                    e if e.is_empty() => "pairs(t)".to_string(),
                    e => e,
                };
                self.line(&format!("for {} in {exps} do", names.join(", ")));
                let scope = self.locals.len();
                self.locals.extend(names);
                self.loop_body(d);
                self.locals.truncate(scope);
                self.line("end");
            }
            10 => {
                self.line("do");
                self.block(d);
                self.line("end");
            }
            _ => {
                let f = self.function(d);
                match self.below(3) {
                    0 => {
                        let v = self.fresh();
                        self.locals.push(v.clone());
                        let f = f.replacen("function", &format!("local function {v}"), 1);
                        self.line(&f);
                    }
                    1 => {
                        let f = f.replacen("function", "function g.h:m", 1);
                        self.line(&f);
                    }
                    _ => {
                        let v = self.name();
                        self.line(&format!("{v} = {f}"));
                    }
                }
            }
        }
    }

    /// A loop body, sometimes with `goto continue` and its label.
    fn loop_body(&mut self, depth: u32) {
        self.loops += 1;
        let scope = self.locals.len();
        let with_continue = self.chance(30);
        for _ in 0..self.below(4) {
            if with_continue && self.chance(30) {
                let c = self.exp(depth);
                self.line(&format!("if {c} then goto continue end"));
            }
            self.statement(depth);
        }
        if with_continue {
            self.line("::continue::");
        }
        self.locals.truncate(scope);
        self.loops -= 1;
    }
}

#[test]
fn random_programs_match_luac() {
    if !lua54::luac_available("random_programs_match_luac") {
        return;
    }
    let scale = u64::from(scale::scale());
    let mut tally = Tally::default();
    for seed in 0..300 * scale.max(1) {
        let src = RandomLua::program(seed);
        compare(&format!("random program {seed}"), &src, &mut tally);
    }
    eprintln!(
        "{} functions compared, {} divergent on purpose, {} with other line numbers, \
         {} sources rejected by both",
        tally.compared, tally.divergent, tally.line_mismatches, tally.errors
    );
    let shown: Vec<&String> = tally.failures.iter().take(8).collect();
    assert!(
        tally.failures.is_empty(),
        "{} failures, first ones:\n{}",
        tally.failures.len(),
        shown
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
