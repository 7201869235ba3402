//! Static strings: the names every VM of the process shares (metamethod
//! names, the standard library's names, type names, statuses), fixed at
//! compile time. `ltm.c`'s `luaT_init` and `llex.c`'s reserved words
//! intern such names once per state and fix them; here they are interned
//! once per process, so a VM made for an agent pays nothing for them, a
//! library table's keys cost no string each, and a prototype whose
//! constants are only such names refers to no VM's heap.
//!
//! A static string's handle is a `StrRef` whose slot index has the top bit
//! set (arenas never reach that index: `arena::MAX_SLOTS`), so it is the
//! same value in every VM. Interning (`Heap::intern`) returns it for these
//! bytes, so the rule "equal strings have equal handles" holds across the
//! static and per-VM strings. Static strings are never collected.

use std::sync::OnceLock;

use hashbrown::HashTable;
use slotmap::{Key, KeyData};

use crate::value::StrRef;

/// The tag bit of a static string's slot index.
const STATIC_BIT: u64 = 1 << 31;

/// The version every static handle carries (slotmap keeps versions odd).
const STATIC_VERSION: u64 = 1;

/// The handle of static string `i` (an index into `NAMES`).
#[inline]
pub(crate) fn handle(i: usize) -> StrRef {
    // slotmap's layout: the version in the high half, the index in the low.
    StrRef::from(KeyData::from_ffi(
        (STATIC_VERSION << 32) | STATIC_BIT | i as u64,
    ))
}

/// The index into `NAMES` of a static handle, or `None` for a VM's own
/// string (or a forged handle past the table).
#[inline(always)]
pub(crate) fn index(s: StrRef) -> Option<usize> {
    let ffi = s.data().as_ffi();
    if ffi & STATIC_BIT == 0 {
        return None;
    }
    let i = (ffi & 0x7fff_ffff) as usize;
    (ffi >> 32 == STATIC_VERSION && i < NAMES.len()).then_some(i)
}

/// Whether `s` has the static tag (valid or not): such a handle names no
/// slot of any arena, so the collector neither marks nor sweeps it.
#[inline(always)]
pub(crate) fn is_static(s: StrRef) -> bool {
    s.data().as_ffi() & STATIC_BIT != 0
}

/// The bytes of static handle `s` (empty for a forged one).
#[inline]
pub(crate) fn bytes(s: StrRef) -> &'static [u8] {
    index(s).map_or(b"", |i| NAMES[i].as_bytes())
}

/// The static string with content `bytes`, if there is one.
#[inline]
pub(crate) fn find(bytes: &[u8]) -> Option<StrRef> {
    if bytes.len() > MAX_LEN || bytes.is_empty() {
        return None;
    }
    let table = TABLE.get_or_init(build);
    // Every string a VM makes that it did not have comes here: most are
    // told apart by their length and first and last bytes (two bit
    // tests), before any hashing.
    let (first, last, len) = (bytes[0], bytes[bytes.len() - 1], bytes.len());
    if !table.firsts[len].has(first) || !table.lasts[len].has(last) {
        return None;
    }
    table
        .names
        .find(hash(bytes), |&i| NAMES[i as usize].as_bytes() == bytes)
        .map(|&i| handle(i as usize))
}

/// The lookup table, made on first use: the names by hash, and the
/// bytes they start and end with, by length.
struct Table {
    names: HashTable<u16>,
    firsts: [Bytes; MAX_LEN + 1],
    lasts: [Bytes; MAX_LEN + 1],
}

/// A set of bytes.
#[derive(Clone, Copy, Default)]
struct Bytes([u64; 4]);

impl Bytes {
    fn add(&mut self, b: u8) {
        self.0[usize::from(b / 64)] |= 1 << (b % 64);
    }

    #[inline]
    fn has(self, b: u8) -> bool {
        self.0[usize::from(b / 64)] & (1 << (b % 64)) != 0
    }
}

static TABLE: OnceLock<Table> = OnceLock::new();

fn build() -> Table {
    let mut t = Table {
        names: HashTable::with_capacity(NAMES.len()),
        firsts: [Bytes::default(); MAX_LEN + 1],
        lasts: [Bytes::default(); MAX_LEN + 1],
    };
    for (i, name) in NAMES.iter().enumerate() {
        let b = name.as_bytes();
        t.firsts[b.len()].add(b[0]);
        t.lasts[b.len()].add(b[b.len() - 1]);
        t.names
            .insert_unique(hash(b), i as u16, |&j| hash(NAMES[j as usize].as_bytes()));
    }
    t
}

/// A fixed hash of a string of at most `MAX_LEN` bytes, two words at a
/// time: the table never grows, so it needs no secret key against chosen
/// collisions.
#[inline]
fn hash(bytes: &[u8]) -> u64 {
    let word = |part: &[u8]| {
        let mut w = [0u8; 8];
        w[..part.len()].copy_from_slice(part);
        u64::from_le_bytes(w)
    };
    let split = bytes.len().min(8);
    let (a, b) = (word(&bytes[..split]), word(&bytes[split..]));
    let m = u128::from(a ^ 0x243f_6a88_85a3_08d3)
        * u128::from(b ^ 0x1319_8a2e_0370_7344 ^ bytes.len() as u64);
    (m as u64) ^ ((m >> 64) as u64)
}

/// The longest static string (`find` looks no further).
const MAX_LEN: usize = 16;

/// The handle of static name `name`, found at compile time (a name not in
/// `NAMES` does not compile): for the names the VM itself stores at
/// every VM's start, which then cost no lookup.
macro_rules! name {
    ($name:literal) => {
        $crate::names::handle({
            const AT: usize = $crate::names::position($name);
            AT
        })
    };
}
pub(crate) use name;

/// Where `name` is in `NAMES` (at compile time; see `name!`).
pub(crate) const fn position(name: &str) -> usize {
    let mut i = 0;
    while i < NAMES.len() {
        if same(NAMES[i].as_bytes(), name.as_bytes()) {
            return i;
        }
        i += 1;
    }
    panic!("not a static name")
}

const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Every static string. The first 29 are the metamethod names in `Tm`
/// order (`state/meta.rs`), so an event's name is `handle(tm as usize)`.
/// A test checks there are no duplicates and none is longer than
/// `MAX_LEN`; another (vm-stdlib) that every library and function name
/// of the standard library is here.
pub(crate) static NAMES: &[&str] = &[
    // Metamethods, in `Tm` order.
    "__index",
    "__newindex",
    "__gc",
    "__mode",
    "__len",
    "__eq",
    "__call",
    "__close",
    "__add",
    "__sub",
    "__mul",
    "__mod",
    "__pow",
    "__div",
    "__idiv",
    "__band",
    "__bor",
    "__bxor",
    "__shl",
    "__shr",
    "__unm",
    "__bnot",
    "__lt",
    "__le",
    "__concat",
    "__tostring",
    "__name",
    "__metatable",
    "__pairs",
    // Type names and statuses.
    "nil",
    "boolean",
    "number",
    "string",
    "table",
    "function",
    "thread",
    "userdata",
    "integer",
    "float",
    "suspended",
    "running",
    "normal",
    "dead",
    "blocked",
    "finished",
    "failed",
    "down",
    "closed file",
    "file",
    "no value",
    // Libraries and the globals of the base library.
    "_G",
    "_VERSION",
    "_ENV",
    "Lua 5.4",
    "agent",
    "coroutine",
    "debug",
    "io",
    "math",
    "os",
    "package",
    "utf8",
    "assert",
    "collectgarbage",
    "dofile",
    "error",
    "getmetatable",
    "ipairs",
    "load",
    "loadfile",
    "next",
    "pairs",
    "pcall",
    "print",
    "rawequal",
    "rawget",
    "rawlen",
    "rawset",
    "require",
    "select",
    "setmetatable",
    "tonumber",
    "tostring",
    "type",
    "warn",
    "xpcall",
    // `agent`.
    "spawn",
    "send",
    "receive",
    "self",
    "status",
    "kill",
    "monitor",
    // `coroutine`.
    "close",
    "create",
    "isyieldable",
    "resume",
    "wrap",
    "yield",
    // `debug`.
    "gethook",
    "getinfo",
    "getlocal",
    "getregistry",
    "getupvalue",
    "getuservalue",
    "sethook",
    "setlocal",
    "setupvalue",
    "setuservalue",
    "traceback",
    "upvalueid",
    "upvaluejoin",
    "setcstacklimit",
    // `debug.getinfo`'s fields and what they hold.
    "source",
    "short_src",
    "linedefined",
    "lastlinedefined",
    "what",
    "currentline",
    "nups",
    "nparams",
    "isvararg",
    "name",
    "namewhat",
    "istailcall",
    "func",
    "activelines",
    "ftransfer",
    "ntransfer",
    "main",
    "Lua",
    "C",
    "global",
    "local",
    "method",
    "field",
    "upvalue",
    "constant",
    "metamethod",
    "hook",
    "for iterator",
    "call",
    "return",
    "line",
    "count",
    "tail call",
    // `io` and file methods.
    "input",
    "lines",
    "open",
    "output",
    "popen",
    "read",
    "tmpfile",
    "write",
    "stdin",
    "stdout",
    "stderr",
    "flush",
    "seek",
    "setvbuf",
    "set",
    "cur",
    "end",
    "no",
    "full",
    // `math`.
    "abs",
    "ceil",
    "cos",
    "deg",
    "exp",
    "floor",
    "fmod",
    "huge",
    "log",
    "max",
    "maxinteger",
    "min",
    "mininteger",
    "modf",
    "pi",
    "rad",
    "random",
    "randomseed",
    "sin",
    "sqrt",
    "tan",
    "tointeger",
    "ult",
    "acos",
    "asin",
    "atan",
    "cosh",
    "sinh",
    "tanh",
    "pow",
    "frexp",
    "ldexp",
    "log10",
    "atan2",
    // `os` and `os.date`'s fields.
    "clock",
    "date",
    "difftime",
    "execute",
    "exit",
    "getenv",
    "remove",
    "rename",
    "setlocale",
    "time",
    "tmpname",
    "year",
    "month",
    "day",
    "hour",
    "sec",
    "wday",
    "yday",
    "isdst",
    "all",
    "collate",
    "ctype",
    "monetary",
    "numeric",
    // `package`.
    "config",
    "cpath",
    "path",
    "loaded",
    "loadlib",
    "preload",
    "searchers",
    "searchpath",
    "_LOADED",
    "_PRELOAD",
    "_CLIBS",
    // `string`.
    "byte",
    "char",
    "dump",
    "find",
    "format",
    "gmatch",
    "gsub",
    "len",
    "lower",
    "match",
    "rep",
    "reverse",
    "sub",
    "upper",
    "pack",
    "packsize",
    "unpack",
    // `table`.
    "concat",
    "insert",
    "move",
    "sort",
    // `utf8`.
    "charpattern",
    "codes",
    "codepoint",
    "offset",
    // `collectgarbage`'s options and answers.
    "collect",
    "step",
    "isrunning",
    "incremental",
    "generational",
    "stop",
    "restart",
    "setpause",
    "setstepmul",
    // Fields and formats: `table.pack`'s count, `io.read`'s formats.
    "n",
    "a",
    "l",
    "L",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_short_and_found_by_their_bytes() {
        let mut seen = std::collections::HashSet::new();
        for (i, name) in NAMES.iter().enumerate() {
            assert!(seen.insert(*name), "{name:?} listed twice");
            assert!(!name.is_empty() && name.len() <= MAX_LEN, "{name:?}");
            let s = find(name.as_bytes()).expect("found");
            assert_eq!(index(s), Some(i));
            assert_eq!(bytes(s), name.as_bytes());
            assert!(is_static(s));
        }
        assert!(NAMES.len() <= 384, "Resolved::name_bits holds 384 bits");
        assert_eq!(find(b"not a name"), None);
        assert_eq!(find(b""), None);
        assert_eq!(name!("_LOADED"), find(b"_LOADED").unwrap());
        assert_eq!(name!("__index"), handle(0));
        assert_eq!(find(&[b'x'; 40]), None);
    }

    #[test]
    fn metamethod_names_come_first_in_tm_order() {
        use crate::state::Tm;
        assert_eq!(NAMES[Tm::Index as usize], "__index");
        assert_eq!(NAMES[Tm::Pairs as usize], "__pairs");
        assert_eq!(NAMES[Tm::Pairs as usize + 1], "nil");
    }

    #[test]
    fn forged_static_handles_name_nothing() {
        let past = StrRef::from(KeyData::from_ffi((1 << 32) | STATIC_BIT | 9999));
        assert_eq!(index(past), None);
        assert_eq!(bytes(past), b"");
        let other_version = StrRef::from(KeyData::from_ffi((3 << 32) | STATIC_BIT));
        assert_eq!(index(other_version), None);
    }
}
