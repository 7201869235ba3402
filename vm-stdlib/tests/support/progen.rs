//! Random Lua 5.4 programs for property tests (include with
//! `#[path = "support/progen.rs"] mod progen;`).
//!
//! [`program`] and [`program_with_coroutines`] generate whole chunks that
//! exercise most instruction kinds and control paths: locals, globals and
//! upvalues; integer, float and string arithmetic (with coercions);
//! comparisons; `..`; numeric, generic, `while`, `repeat` and `goto` loops
//! with `break` and `goto continue`; `if` chains; tables (constructors,
//! fields, indexes, `#`, appends); closures and counters; recursive, vararg
//! and multiple-result functions, tail calls; `pcall`/`xpcall`/`error` with
//! string, number and table errors and runtime errors; metatables (`__index`
//! tables and functions, `__newindex`, `__add`, `__eq`, `__lt`, `__le`,
//! `__call`, `__concat`, `__len`, `__tostring`, `__close`); and, for
//! [`program_with_coroutines`], coroutines (`wrap` generators, chained
//! filters, `resume`/`yield` passing values, `status`, `close`, yields
//! across `pcall`, metamethods and iterators).
//!
//! Every program is deterministic (no addresses, no NaN, no order of a hash
//! traversal in the output), terminates quickly (a cost model bounds loop
//! iterations, call chains and yields; typically a few thousand
//! instructions), raises errors only inside `pcall` or a coroutine, needs
//! only the base library (and `coroutine`), and prints nothing: it appends
//! to a log with `emit(...)` and returns the log joined with `,`. Run it
//! with the chunk name `=prog` so that error positions agree across
//! implementations.
//!
//! Programs are generated from a tape of random choices (Hypothesis style):
//! an exhausted tape reads as zeros, which always picks the simplest
//! alternative, so proptest shrinks a failing program by shortening and
//! zeroing its tape.

// Each test file uses a subset of this module, and its items are `pub`
// only as an interface to the including file.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashSet;
use std::rc::Rc;

use proptest::prelude::*;

/// Number of proptest cases: `base` times `VM_TEST_SCALE` (default 1).
pub fn cases(base: u32) -> u32 {
    let scale: u32 = std::env::var("VM_TEST_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    base * scale
}

/// Random programs without coroutines.
pub fn program() -> impl Strategy<Value = String> {
    tape().prop_map(|t| generate(&t, false))
}

/// Random programs that also use the `coroutine` library.
pub fn program_with_coroutines() -> impl Strategy<Value = String> {
    tape().prop_map(|t| generate(&t, true))
}

fn tape() -> impl Strategy<Value = Vec<u32>> {
    prop::collection::vec(any::<u32>(), 0..TAPE_LEN)
}

/// The program a tape of choices describes.
pub fn generate(tape: &[u32], coroutines: bool) -> String {
    let mut g = Gen::new(tape, coroutines);
    g.program();
    g.out
}

const TAPE_LEN: usize = 2500;
/// Cost units (about one VM instruction each) for the whole program.
const BUDGET: u64 = 7000;
/// Cost units for one call of a generated function.
const FN_BUDGET: u64 = 700;
/// Yields one coroutine body may perform.
const YIELD_LIMIT: u64 = 30;
/// Nesting of blocks.
const MAX_NEST: usize = 4;
/// Nesting of expressions.
const EXPR_DEPTH: u32 = 3;
/// Local variables a function may hold (Lua's limit is 200).
const MAX_LOCALS: usize = 110;

const PRELUDE: &str = r#"local out = {}
local function emit(...)
  for i = 1, select('#', ...) do
    out[#out + 1] = tostring((select(i, ...)))
  end
end
local function cf(x)
  if x ~= x then return 0.5 end
  if x > 1e9 or x < -1e9 then return x % 1000.25 end
  return x
end
local function cs(s)
  if #s > 40 then return "L" .. #s end
  return s
end
local function ev(e)
  if type(e) == "table" then return "T" .. tostring(e.code) end
  return e
end
local V = {}
V.__index = V
local function vx(v)
  if type(v) == "table" then return v.x end
  return v
end
local function newV(x) return setmetatable({x = x}, V) end
V.__add = function(a, b) return newV(vx(a) + vx(b)) end
V.__eq = function(a, b) return a.x == b.x end
V.__lt = function(a, b) return vx(a) < vx(b) end
V.__le = function(a, b) return vx(a) <= vx(b) end
V.__call = function(self, d) return self.x * 2 + d end
V.__len = function(self) return self.x % 100 end
V.__concat = function(a, b)
  if type(a) == "table" then a = "V" .. a.x end
  if type(b) == "table" then b = "V" .. b.x end
  return a .. b
end
V.__tostring = function(self) return "V<" .. self.x .. ">" end
function V.get(self) return self.x end
function V:bump(d) self.x = self.x + d return self end
local W = setmetatable({}, {__index = V})
W.__index = W
W.__tostring = function(self) return "W<" .. self.x .. ">" end
function W:twice() return self:get() * 2 end
local function newW(x) return setmetatable({x = x}, W) end
local D = setmetatable({}, {__index = function(t, k) return k .. "?" end})
local N = setmetatable({}, {__newindex = function(t, k, v) rawset(t, k, v * 2) end})
local function closer(name)
  return setmetatable({}, {__close = function(o, e)
    if e == nil then emit("close " .. name) else emit("close " .. name .. " " .. tostring(ev(e))) end
  end})
end
local function counter(n)
  return function(d) n = n + d return n end
end
local function cell(v)
  return function() return v end, function(x) v = x end
end
local function range(n)
  local i = 0
  return function()
    if i < n then i = i + 1 return i end
  end
end
local function evens(t, i)
  i = i + 2
  local v = t[i]
  if v ~= nil then return i, v end
end
"#;

/// Locals the prelude declares in the main function.
const PRELUDE_LOCALS: usize = 17;

const FINALE: &str = r#"local res = ""
for i = 1, #out do
  if i > 1 then res = res .. "," end
  res = res .. out[i]
end
return res
"#;

const INT_DIVISORS: &[&str] = &["1", "2", "3", "7", "10", "16", "1000", "(-1)", "(-3)"];
const FLT_DIVISORS: &[&str] = &["2", "0.5", "(-4)", "3.0", "0.25", "1.5", "(-0.5)", "10"];
const FLOATS: &[&str] = &[
    "0.5",
    "1.25",
    "(-2.5)",
    "3.0",
    "1e3",
    "1.5e-3",
    ".75",
    "2.",
    "0x1p4",
    "0x.8",
    "1e15",
    "123.456",
    "100.0",
    "(-0.0)",
    "0.1",
    "1e-7",
    "2.5e10",
    "(-7.75)",
    "9007199254740993.0",
    "1E2",
];
const STRINGS: &[&str] = &[
    "\"\"",
    "\"a\"",
    "\"abc\"",
    "'q'",
    "\"x y\"",
    "\"\\n\"",
    "\"\\t|\"",
    "\"\\\\\"",
    "\"\\\"\"",
    "\"\\65\\066\"",
    "\"\\x41\"",
    "\"\\u{48}\\u{49}\"",
    "\"a\\z   b\"",
    "[[long]]",
    "[==[a]]b]==]",
    "\"10\"",
    "\"0x1F\"",
    "\"  7  \"",
    "\"1e2\"",
    "\"3.5\"",
    "\"-4\"",
    "\"Z\"",
    "\"zz\"",
    "\"1\\0\"",
    "\"ff\"",
    "\"0x\"",
];
const FIELDS: &[&str] = &["a", "b", "c", "d", "e"];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum S {
    Int,
    Flt,
    Str,
    Bool,
}

const SCALARS: [S; 4] = [S::Int, S::Flt, S::Str, S::Bool];

#[derive(Clone, Debug)]
enum Ty {
    S(S),
    /// A dense sequence of integers.
    Seq,
    /// A record: some of `FIELDS` mapped to integers.
    Rec,
    /// An instance of the `V` class (field `x` an integer).
    Obj,
    /// An instance of the `W` class (inherits `V`'s methods).
    Wobj,
    Fun(Rc<Sig>),
    /// A local the generator never reads (counted against `MAX_LOCALS`).
    Hidden,
}

#[derive(Debug)]
struct Sig {
    params: Vec<S>,
    variadic: bool,
    rets: Vec<S>,
    cost: u64,
}

#[derive(Clone, Debug)]
struct Var {
    /// How to refer to it (a call target for functions: `t.f`, `t:m`).
    name: String,
    ty: Ty,
    mutable: bool,
    /// Function nesting level where it was declared.
    level: usize,
    /// Upper bound of a sequence's length.
    len: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Co {
    /// A generator driven by a generic `for`: yields get `nil, control`.
    ForWrap,
    /// Driven by `resume` with integers: each yield returns an integer.
    Resume,
}

#[derive(Clone, Debug)]
enum Ctx {
    Func {
        /// Called once, right where it is defined (a `pcall` body).
        immediate: bool,
        co: Option<Co>,
        rets: Vec<S>,
    },
    Loop {
        label: Option<String>,
        /// A generic `for` with a closing value: PUC Lua 5.4.4 miscompiles
        /// a `break` out of it when the body has upvalues or `<close>`
        /// variables (the loop then calls a nil value), so none is
        /// generated there.
        no_break: bool,
    },
}

#[derive(Clone, Copy, Debug)]
struct Frame {
    cost: u64,
    yields: u64,
    mult: u64,
    limit: u64,
}

struct Gen<'a> {
    tape: &'a [u32],
    pos: usize,
    coroutines: bool,
    out: String,
    indent: usize,
    vars: Vec<Var>,
    scopes: Vec<usize>,
    ctx: Vec<Ctx>,
    frames: Vec<Frame>,
    /// Indexes into `vars` of tables being traversed.
    frozen: Vec<usize>,
    next: u32,
}

fn num(v: i64) -> String {
    if v < 0 {
        format!("({v})")
    } else {
        v.to_string()
    }
}

impl<'a> Gen<'a> {
    fn new(tape: &'a [u32], coroutines: bool) -> Self {
        Gen {
            tape,
            pos: 0,
            coroutines,
            out: String::new(),
            indent: 0,
            vars: Vec::new(),
            scopes: Vec::new(),
            ctx: Vec::new(),
            frames: vec![Frame {
                cost: 0,
                yields: 0,
                mult: 1,
                limit: BUDGET,
            }],
            frozen: Vec::new(),
            next: 0,
        }
    }

    // ----- choices -----

    fn pick(&mut self, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        let v = self.tape.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        v as usize % n
    }

    /// An index into `w`, with probability proportional to its weight; an
    /// exhausted tape picks the first option with a nonzero weight.
    fn weighted(&mut self, w: &[u32]) -> usize {
        let total: u32 = w.iter().sum();
        if total == 0 {
            return 0;
        }
        let mut r = self.pick(total as usize) as u32;
        for (i, &x) in w.iter().enumerate() {
            if r < x {
                return i;
            }
            r -= x;
        }
        0
    }

    /// True with `pct` percent probability; false on an exhausted tape.
    fn chance(&mut self, pct: usize) -> bool {
        self.pick(100) >= 100 - pct
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.pick((hi - lo + 1) as usize) as i64
    }

    fn select<'s>(&mut self, items: &[&'s str]) -> &'s str {
        items[self.pick(items.len())]
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}{}", self.next)
    }

    // ----- cost model -----

    fn frame(&self) -> Frame {
        *self.frames.last().expect("a frame")
    }

    fn frame_mut(&mut self) -> &mut Frame {
        self.frames.last_mut().expect("a frame")
    }

    fn charge(&mut self, units: u64) {
        let f = self.frame_mut();
        f.cost += units * f.mult;
    }

    fn afford(&self, units: u64) -> bool {
        let f = self.frame();
        f.cost + units * f.mult <= f.limit
    }

    /// Units left for code run once per execution of the current point.
    fn remaining(&self) -> u64 {
        let f = self.frame();
        f.limit.saturating_sub(f.cost) / f.mult
    }

    /// An iteration count in `0..=max` that the budget allows with at least
    /// `per` units per iteration.
    fn count(&mut self, max: u64, per: u64) -> u64 {
        let n = self.pick(max as usize + 1) as u64;
        n.min(self.remaining() / per.max(1))
    }

    fn with_mult(&mut self, n: u64) {
        self.frame_mut().mult *= n.max(1);
    }

    fn end_mult(&mut self, n: u64) {
        self.frame_mut().mult /= n.max(1);
    }

    /// Product of the iteration multipliers from `level` up.
    fn eff_mult(&self, level: usize) -> u64 {
        self.frames[level.min(self.frames.len() - 1)..]
            .iter()
            .map(|f| f.mult)
            .product()
    }

    // ----- output -----

    fn line(&mut self, text: &str) {
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    // ----- scopes and variables -----

    fn level(&self) -> usize {
        self.frames.len() - 1
    }

    fn push_scope(&mut self) {
        self.scopes.push(self.vars.len());
    }

    fn pop_scope(&mut self) {
        let n = self.scopes.pop().expect("a scope");
        self.vars.truncate(n);
        self.frozen.retain(|&i| i < n);
    }

    fn declare(&mut self, name: &str, ty: Ty, mutable: bool) -> usize {
        let level = self.level();
        self.vars.push(Var {
            name: name.to_string(),
            ty,
            mutable,
            level,
            len: 0,
        });
        self.vars.len() - 1
    }

    /// Locals active in the current function.
    fn locals(&self) -> usize {
        let level = self.level();
        let own = self.vars.iter().filter(|v| v.level == level).count();
        own + if level == 0 { PRELUDE_LOCALS } else { 0 }
    }

    fn can_declare(&self) -> bool {
        self.locals() < MAX_LOCALS
    }

    /// Indexes of the visible variables (not shadowed) satisfying `pred`.
    fn find(&self, pred: impl Fn(&Var) -> bool) -> Vec<usize> {
        let mut seen = HashSet::new();
        let mut found = Vec::new();
        for (i, v) in self.vars.iter().enumerate().rev() {
            if seen.insert(v.name.as_str()) && pred(v) {
                found.push(i);
            }
        }
        found.reverse();
        found
    }

    fn pick_var(&mut self, pred: impl Fn(&Var) -> bool) -> Option<usize> {
        let found = self.find(pred);
        if found.is_empty() {
            None
        } else {
            Some(found[self.pick(found.len())])
        }
    }

    /// The name of one of the variables `idxs` (not empty).
    fn name_of(&mut self, idxs: &[usize]) -> String {
        let i = idxs[self.pick(idxs.len())];
        self.vars[i].name.clone()
    }

    fn scalar_var(&mut self, s: S, mutable: bool) -> Option<usize> {
        self.pick_var(|v| matches!(v.ty, Ty::S(t) if t == s) && (v.mutable || !mutable))
    }

    fn table_var(&mut self, seq: bool) -> Option<usize> {
        self.pick_var(|v| {
            if seq {
                matches!(v.ty, Ty::Seq)
            } else {
                matches!(v.ty, Ty::Rec)
            }
        })
    }

    /// Whether the table `i` may gain or lose keys here: not being
    /// traversed, and declared in this function or reached only through
    /// functions called on the spot (so no traversal can interleave).
    fn can_reshape(&self, i: usize) -> bool {
        if self.frozen.contains(&i) {
            return false;
        }
        let mut levels = self.level() - self.vars[i].level;
        for c in self.ctx.iter().rev() {
            if levels == 0 {
                break;
            }
            if let Ctx::Func { immediate, co, .. } = c {
                if !immediate || co.is_some() {
                    return false;
                }
                levels -= 1;
            }
        }
        true
    }

    fn reshapeable(&mut self, seq: bool) -> Option<usize> {
        let found = self.find(|v| {
            if seq {
                matches!(v.ty, Ty::Seq)
            } else {
                matches!(v.ty, Ty::Rec)
            }
        });
        let ok: Vec<usize> = found.into_iter().filter(|&i| self.can_reshape(i)).collect();
        if ok.is_empty() {
            None
        } else {
            Some(ok[self.pick(ok.len())])
        }
    }

    fn grow(&mut self, i: usize, n: u64) {
        let m = self.eff_mult(self.vars[i].level);
        self.vars[i].len += n * m;
    }

    /// Freezes every table visible now (while a generator may interleave).
    fn freeze_all(&mut self) -> usize {
        let mark = self.frozen.len();
        for i in self.find(|v| matches!(v.ty, Ty::Seq | Ty::Rec)) {
            self.frozen.push(i);
        }
        mark
    }

    // ----- contexts -----

    fn in_loop(&self) -> bool {
        self.innermost_loop().is_some()
    }

    /// Whether the innermost loop of this function may be left by `break`.
    fn innermost_loop(&self) -> Option<bool> {
        match self.ctx.last() {
            Some(Ctx::Loop { no_break, .. }) => Some(!no_break),
            _ => None,
        }
    }

    fn labels(&self) -> Vec<String> {
        let mut found = Vec::new();
        for c in self.ctx.iter().rev() {
            match c {
                Ctx::Loop { label: Some(l), .. } => found.push(l.clone()),
                Ctx::Loop { label: None, .. } => {}
                Ctx::Func { .. } => break,
            }
        }
        found
    }

    fn func(&self) -> Option<(Option<Co>, Vec<S>)> {
        self.ctx.iter().rev().find_map(|c| match c {
            Ctx::Func { co, rets, .. } => Some((*co, rets.clone())),
            Ctx::Loop { .. } => None,
        })
    }

    /// The kind of coroutine a `coroutine.yield` here would yield from.
    fn yield_kind(&self) -> Option<Co> {
        for c in self.ctx.iter().rev() {
            match c {
                Ctx::Loop { .. } => {}
                Ctx::Func { co: Some(k), .. } => return Some(*k),
                Ctx::Func {
                    immediate: true, ..
                } => {}
                Ctx::Func { .. } => return None,
            }
        }
        None
    }

    fn can_yield(&self) -> bool {
        // The coroutine body's frame is the innermost one of a function
        // with `co` set; the frames above it (immediate functions) merge
        // their yields into it, multiplied by the iterations around them.
        if self.yield_kind().is_none() {
            return false;
        }
        let funcs: Vec<bool> = self
            .ctx
            .iter()
            .filter_map(|c| match c {
                Ctx::Func { co, .. } => Some(co.is_some()),
                Ctx::Loop { .. } => None,
            })
            .collect();
        let Some(k) = funcs.iter().rposition(|&co| co) else {
            return false;
        };
        let (mut total, mut outer) = (0, 1);
        for f in &self.frames[k + 1..] {
            total += f.yields * outer;
            outer *= f.mult;
        }
        total + outer <= YIELD_LIMIT
    }

    fn enter_fn(&mut self, immediate: bool, co: Option<Co>, rets: Vec<S>, limit: u64) {
        self.ctx.push(Ctx::Func {
            immediate,
            co,
            rets,
        });
        self.frames.push(Frame {
            cost: 0,
            yields: 0,
            mult: 1,
            limit: limit.max(20),
        });
        self.push_scope();
    }

    fn leave_fn(&mut self) -> Frame {
        self.pop_scope();
        self.ctx.pop();
        self.frames.pop().expect("a function frame")
    }

    /// Ends a function that runs right away: its cost and yields count at
    /// the call site.
    fn leave_immediate(&mut self) {
        let f = self.leave_fn();
        let parent = self.frame_mut();
        parent.cost += (f.cost + 3) * parent.mult;
        parent.yields += f.yields * parent.mult;
    }

    // ----- the program -----

    fn program(&mut self) {
        self.out.push_str(PRELUDE);
        self.push_scope();
        let n = 1 + self.pick(30);
        for _ in 0..n {
            self.stmt();
        }
        self.dump_state();
        self.out.push_str(FINALE);
    }

    /// Emits every visible variable holding a printable value.
    fn dump_state(&mut self) {
        let mut names = Vec::new();
        for i in self.find(|_| true) {
            let v = self.vars[i].clone();
            match v.ty {
                Ty::S(_) => names.push(v.name),
                Ty::Seq => {
                    let x = self.fresh("x");
                    self.line(&format!(
                        "for _, {x} in ipairs({}) do emit({x}) end",
                        v.name
                    ));
                }
                Ty::Obj | Ty::Wobj => names.push(format!("{}.x", v.name)),
                Ty::Rec => {
                    for f in FIELDS {
                        names.push(format!("{}.{f}", v.name));
                    }
                }
                Ty::Fun(_) | Ty::Hidden => {}
            }
        }
        for chunk in names.chunks(8) {
            self.line(&format!("emit({})", chunk.join(", ")));
        }
    }

    fn block(&mut self, max: usize) {
        self.push_scope();
        self.indent += 1;
        self.stmts(max);
        self.indent -= 1;
        self.pop_scope();
    }

    fn stmts(&mut self, max: usize) {
        let n = self.pick(max + 1);
        for _ in 0..n {
            self.stmt();
        }
    }

    fn stmt(&mut self) {
        self.charge(1);
        let nest = self.indent < MAX_NEST && self.remaining() > 30;
        let decl = self.can_declare();
        let n = |b: bool, w: u32| if b { w } else { 0 };
        let in_fn = self.func().is_some();
        let weights = [
            8,                                       // 0 emit
            n(decl, 8),                              // 1 local
            6,                                       // 2 assign
            n(nest, 5),                              // 3 if
            n(nest, 4),                              // 4 numeric for
            n(nest && decl, 2),                      // 5 while
            n(nest && decl, 2),                      // 6 repeat
            n(nest, 4),                              // 7 generic for
            n(nest, 2),                              // 8 do with <close>
            n(nest && decl, 3),                      // 9 function
            n(decl, 2),                              // 10 closures
            4,                                       // 11 sequence
            3,                                       // 12 record
            3,                                       // 13 object
            n(nest, 3),                              // 14 pcall
            n(decl, 1),                              // 15 recursion
            n(decl, 1),                              // 16 varargs
            1,                                       // 17 multiple assignment
            2,                                       // 18 global
            n(self.in_loop(), 3),                    // 19 break / continue
            n(in_fn, 1),                             // 20 early return
            n(self.coroutines && nest && decl, 4),   // 21 coroutine
            n(self.can_yield(), 4),                  // 22 yield
            n(nest && decl, 1),                      // 23 goto loop
            2,                                       // 24 call
            n(decl, 1),                              // 25 <close> local
            n(nest && decl && self.level() == 0, 1), // 26 error corner cases
        ];
        match self.weighted(&weights) {
            0 => self.s_emit(),
            1 => self.s_local(),
            2 => self.s_assign(),
            3 => self.s_if(),
            4 => self.s_numfor(),
            5 => self.s_while(),
            6 => self.s_repeat(),
            7 => self.s_genfor(),
            8 => self.s_do_close(),
            9 => self.s_function(),
            10 => self.s_closures(),
            11 => self.s_seq(),
            12 => self.s_rec(),
            13 => self.s_obj(),
            14 => self.s_pcall(),
            15 => self.s_recursive(),
            16 => self.s_varargs(),
            17 => self.s_multi_assign(),
            18 => self.s_global(),
            19 => self.s_break(),
            20 => self.s_return(),
            21 => self.s_coroutine(),
            22 => self.s_yield(),
            23 => self.s_goto_loop(),
            24 => self.s_call(),
            25 => self.s_close_local(),
            _ => self.s_errors(),
        }
    }

    // ----- simple statements -----

    fn s_emit(&mut self) {
        let n = 1 + self.pick(3);
        let args: Vec<String> = (0..n).map(|_| self.any_expr(EXPR_DEPTH)).collect();
        self.line(&format!("emit({})", args.join(", ")));
    }

    /// Wraps a value assigned to a variable of type `s` so that repeated
    /// assignments in loops keep it small.
    fn clamp(s: S, e: String) -> String {
        match s {
            S::Flt => format!("cf({e})"),
            S::Str => format!("cs({e})"),
            _ => e,
        }
    }

    fn s_local(&mut self) {
        let s = SCALARS[self.weighted(&[5, 3, 3, 2])];
        match self.weighted(&[6, 2, 1, 1]) {
            0 => {
                let e = self.expr(s, EXPR_DEPTH);
                let name = self.fresh(prefix(s));
                self.line(&format!("local {name} = {e}"));
                self.declare(&name, Ty::S(s), true);
            }
            1 => {
                let t = SCALARS[self.pick(4)];
                let (a, b) = (self.expr(s, 2), self.expr(t, 2));
                let (x, y) = (self.fresh(prefix(s)), self.fresh(prefix(t)));
                self.line(&format!("local {x}, {y} = {a}, {b}"));
                self.declare(&x, Ty::S(s), true);
                self.declare(&y, Ty::S(t), true);
            }
            2 => {
                let e = self.expr(s, 2);
                let name = self.fresh(prefix(s));
                self.line(&format!("local {name} <const> = {e}"));
                self.declare(&name, Ty::S(s), false);
            }
            _ => {
                // Shadow a variable, possibly reading the old one.
                match self.scalar_var(s, true) {
                    Some(i) => {
                        let name = self.vars[i].name.clone();
                        if name.starts_with('G') {
                            return self.s_emit();
                        }
                        let e = self.expr(s, 2);
                        self.line(&format!("local {name} = {e}"));
                        self.declare(&name, Ty::S(s), true);
                    }
                    None => self.s_emit(),
                }
            }
        }
    }

    fn s_assign(&mut self) {
        let s = SCALARS[self.weighted(&[5, 3, 3, 2])];
        let Some(i) = self.scalar_var(s, true) else {
            return self.s_emit();
        };
        let name = self.vars[i].name.clone();
        let e = match (s, self.pick(3)) {
            (S::Int, 0) => format!("{name} + {}", self.expr(S::Int, 2)),
            (S::Flt, 0) => format!("{name} * 0.5 + {}", self.expr(S::Flt, 2)),
            (S::Str, 0) => format!("{name} .. {}", self.expr(S::Str, 1)),
            (S::Bool, 0) => format!("not {name}"),
            _ => self.expr(s, EXPR_DEPTH),
        };
        self.line(&format!("{name} = {}", Self::clamp(s, e)));
    }

    fn s_global(&mut self) {
        let s = SCALARS[self.weighted(&[5, 3, 3, 2])];
        let e = self.expr(s, 2);
        let name = self.fresh(&format!("G{}", prefix(s)));
        self.line(&format!("{name} = {e}"));
        self.declare(&name, Ty::S(s), true);
        // Globals live in `_ENV`, whatever the function level.
        let last = self.vars.len() - 1;
        self.vars[last].level = 0;
    }

    fn s_multi_assign(&mut self) {
        let s = SCALARS[self.weighted(&[5, 3, 3, 2])];
        let found = self.find(|v| matches!(v.ty, Ty::S(t) if t == s) && v.mutable);
        if found.len() < 2 {
            return self.s_assign();
        }
        let a = found[self.pick(found.len())];
        let b = found[self.pick(found.len())];
        if a == b {
            return self.s_assign();
        }
        let (x, y) = (self.vars[a].name.clone(), self.vars[b].name.clone());
        if self.chance(50) {
            self.line(&format!("{x}, {y} = {y}, {x}"));
        } else {
            let (e1, e2) = (self.expr(s, 2), self.expr(s, 2));
            let (e1, e2) = (Self::clamp(s, e1), Self::clamp(s, e2));
            self.line(&format!("{x}, {y} = {e1}, {e2}"));
        }
    }

    fn s_break(&mut self) {
        let c = self.bool_expr(2);
        let labels = self.labels();
        let can_break = self.innermost_loop() == Some(true);
        if !can_break && labels.is_empty() {
            return self.s_emit();
        }
        if !labels.is_empty() && (!can_break || self.chance(50)) {
            let l = labels[self.pick(labels.len())].clone();
            self.line(&format!("if {c} then goto {l} end"));
        } else {
            self.line(&format!("if {c} then break end"));
        }
    }

    fn s_return(&mut self) {
        let Some((co, rets)) = self.func() else {
            return self.s_emit();
        };
        let c = self.bool_expr(2);
        let vals = if co == Some(Co::ForWrap) {
            String::new()
        } else {
            self.ret_values(&rets)
        };
        self.line(&format!("if {c} then return {vals} end"));
    }

    fn ret_values(&mut self, rets: &[S]) -> String {
        let es: Vec<String> = rets.iter().map(|&s| self.expr(s, 2)).collect();
        es.join(", ")
    }

    fn s_call(&mut self) {
        let m = self.remaining();
        let found = self.find(|v| matches!(&v.ty, Ty::Fun(sig) if sig.cost + 2 <= m));
        if found.is_empty() || self.chance(20) {
            // Method calls on objects.
            return match self.pick_var(|v| matches!(v.ty, Ty::Obj | Ty::Wobj)) {
                Some(i) => {
                    let o = self.vars[i].name.clone();
                    let d = self.int_expr(1);
                    self.line(&format!("{o}:bump({d})"));
                }
                None => self.s_emit(),
            };
        }
        let i = found[self.pick(found.len())];
        let call = self.call_of(i, 1);
        if self.chance(30) {
            self.line(&format!("emit({call})"));
        } else {
            self.line(&call);
        }
    }

    /// A call of the function variable `i` (charged), with typed arguments.
    fn call_of(&mut self, i: usize, d: u32) -> String {
        let Ty::Fun(sig) = self.vars[i].ty.clone() else {
            unreachable!("not a function")
        };
        self.charge(sig.cost + 2);
        let mut args: Vec<String> = sig.params.iter().map(|&p| self.expr(p, d)).collect();
        if sig.variadic {
            for _ in 0..self.pick(4) {
                args.push(self.expr(S::Int, d));
            }
        }
        format!("{}({})", self.vars[i].name, args.join(", "))
    }

    /// A callable function returning `s` first, if one is affordable.
    fn callable(&mut self, s: S) -> Option<usize> {
        let m = self.remaining();
        self.pick_var(
            |v| matches!(&v.ty, Ty::Fun(sig) if sig.rets.first() == Some(&s) && sig.cost + 2 <= m),
        )
    }

    // ----- blocks and loops -----

    fn s_if(&mut self) {
        let c = self.cond_expr();
        self.line(&format!("if {c} then"));
        self.block(4);
        for _ in 0..self.weighted(&[4, 2, 1, 1]) {
            let c = self.cond_expr();
            self.line(&format!("elseif {c} then"));
            self.block(3);
        }
        if self.chance(50) {
            self.line("else");
            self.block(3);
        }
        self.line("end");
    }

    /// A loop body: a block with the loop context, run up to `n` times.
    fn loop_body(&mut self, n: u64, vars: &[(String, Ty)], no_break: bool) {
        let label = self.chance(50).then(|| self.fresh("cont"));
        self.ctx.push(Ctx::Loop {
            label: label.clone(),
            no_break,
        });
        self.with_mult(n);
        self.push_scope();
        for (name, ty) in vars {
            self.declare(name, ty.clone(), false);
        }
        self.indent += 1;
        if let Some(l) = &label {
            // The body's locals stay inside `do ... end`: PUC Lua 5.4.4
            // miscompiles a `goto` out of a block with a `<close>` variable
            // to a label at the end of a block when locals are declared in
            // between (its CLOSE starts above the closed variable).
            self.line("do");
            self.indent += 1;
            self.stmts(4);
            self.indent -= 1;
            self.line("end");
            self.line(&format!("::{l}::"));
        } else {
            self.stmts(4);
        }
        self.indent -= 1;
        self.pop_scope();
        self.end_mult(n);
        self.ctx.pop();
    }

    fn s_numfor(&mut self) {
        let i = self.fresh("i");
        let (header, n, ty) = match self.weighted(&[6, 2, 2, 1, 1, 1, 1, 1]) {
            0 => {
                let a = self.range(-2, 3);
                let n = self.count(8, 4) as i64;
                let b = a + n - 1;
                (format!("{} = {}, {}", i, num(a), num(b)), n as u64, S::Int)
            }
            1 => {
                let n = self.count(6, 4) as i64;
                let a = self.range(0, 10);
                let step = -self.range(1, 3);
                let b = a + step * (n - 1);
                (
                    format!("{} = {}, {}, {}", i, num(a), num(b), num(step)),
                    n as u64,
                    S::Int,
                )
            }
            2 => {
                let n = self.count(4, 4);
                let e = self.int_expr(1);
                (format!("{i} = 1, ({e}) % {}", n + 1), n, S::Int)
            }
            3 => {
                let k = self.count(3, 4);
                (
                    format!("{i} = 9223372036854775807 - {k}, 9223372036854775807"),
                    k + 1,
                    S::Int,
                )
            }
            4 => {
                let k = self.count(3, 4);
                (
                    format!("{i} = -9223372036854775807 - 1, -9223372036854775807 + {k}, 2"),
                    k + 1,
                    S::Int,
                )
            }
            5 => {
                let step = self.select(&["0.5", "0.25", "0.1", "(-0.5)"]);
                let (a, b) = if step.starts_with('(') {
                    ("2", "0.5")
                } else {
                    ("0.5", "2")
                };
                let n = 1
                    + (1.5
                        / step
                            .trim_matches(&['(', ')', '-'][..])
                            .parse::<f64>()
                            .unwrap_or(1.0)) as u64;
                if !self.afford(n * 4) {
                    return self.s_emit();
                }
                (format!("{i} = {a}, {b}, {step}"), n, S::Flt)
            }
            6 => {
                let n = self.count(4, 4);
                (format!("{i} = 1, {n}.75"), n, S::Int)
            }
            _ => (
                format!("{i} = 1, 9223372036854775807, 4611686018427387903"),
                3,
                S::Int,
            ),
        };
        self.line(&format!("for {header} do"));
        self.loop_body(n, &[(i, Ty::S(ty))], false);
        self.line("end");
    }

    fn s_while(&mut self) {
        let w = self.fresh("w");
        let n = self.count(6, 6);
        self.line(&format!("local {w} = 0"));
        match self.pick(3) {
            0 => self.line(&format!("while {w} < {n} do")),
            1 => {
                let c = self.bool_expr(1);
                self.line(&format!("while {w} < {n} and {c} do"));
            }
            _ => {
                self.line("while true do");
                self.line(&format!("  if {w} >= {n} then break end"));
            }
        }
        self.line(&format!("  {w} = {w} + 1"));
        self.loop_body(n, &[], false);
        self.line("end");
        self.declare(&w, Ty::S(S::Int), false);
    }

    fn s_repeat(&mut self) {
        let r = self.fresh("r");
        let n = self.count(6, 6).max(1);
        self.line(&format!("local {r} = 0"));
        self.line("repeat");
        self.line(&format!("  {r} = {r} + 1"));
        // The body's scope stays open for the condition after `until`.
        self.ctx.push(Ctx::Loop {
            label: None,
            no_break: false,
        });
        self.with_mult(n);
        self.push_scope();
        self.indent += 1;
        self.stmts(4);
        self.indent -= 1;
        let extra = if self.chance(40) {
            format!(" or {}", self.bool_expr(2))
        } else {
            String::new()
        };
        self.line(&format!("until {r} >= {n}{extra}"));
        self.pop_scope();
        self.end_mult(n);
        self.ctx.pop();
        self.declare(&r, Ty::S(S::Int), false);
    }

    fn s_goto_loop(&mut self) {
        let g = self.fresh("g");
        let top = self.fresh("top");
        let n = self.count(5, 6).max(1);
        self.line(&format!("local {g} = 0"));
        self.line(&format!("::{top}::"));
        self.line(&format!("{g} = {g} + 1"));
        self.declare(&g, Ty::S(S::Int), false);
        self.with_mult(n);
        // The body's locals stay in the enclosing block.
        for _ in 0..self.pick(3) {
            self.stmt();
        }
        self.end_mult(n);
        self.line(&format!("if {g} < {n} then goto {top} end"));
    }

    fn s_genfor(&mut self) {
        let k = self.fresh("k");
        let v = self.fresh("v");
        match self.weighted(&[3, 3, 2, 2, 1, 1, 1, 1]) {
            0 => {
                let n = self.count(6, 5);
                self.line(&format!("for {k} in range({n}) do"));
                self.loop_body(n, &[(k, Ty::S(S::Int))], false);
            }
            1 | 2 | 7 => {
                let Some(t) = self.table_var(true) else {
                    return self.for_literal(&k, &v);
                };
                let name = self.vars[t].name.clone();
                let n = self.vars[t].len;
                if !self.afford(n * 5) {
                    return self.s_emit();
                }
                let iter = match self.pick(4) {
                    0 => format!("pairs({name})"),
                    1 => format!("next, {name}"),
                    _ => format!("ipairs({name})"),
                };
                self.line(&format!("for {k}, {v} in {iter} do"));
                self.frozen.push(t);
                self.loop_body(n, &[(k, Ty::S(S::Int)), (v, Ty::S(S::Int))], false);
                self.frozen.pop();
            }
            3 => {
                // Order-independent aggregation over a record.
                let Some(r) = self.table_var(false) else {
                    return self.s_emit();
                };
                let name = self.vars[r].name.clone();
                let (c, s, l) = (self.fresh("cnt"), self.fresh("sum"), self.fresh("kl"));
                self.charge(30);
                self.line(&format!("local {c}, {s}, {l} = 0, 0, 0"));
                for name in [&c, &s, &l] {
                    self.declare(name, Ty::Hidden, false);
                }
                self.line(&format!("for {k}, {v} in pairs({name}) do"));
                self.line(&format!(
                    "  {c} = {c} + 1; {s} = {s} + {v}; {l} = {l} + #{k}"
                ));
                self.line("end");
                self.line(&format!("emit({c}, {s}, {l})"));
                return;
            }
            4 => {
                let Some(t) = self.table_var(true) else {
                    return self.for_literal(&k, &v);
                };
                let name = self.vars[t].name.clone();
                let n = self.vars[t].len / 2 + 1;
                if !self.afford(n * 5) {
                    return self.s_emit();
                }
                self.line(&format!("for {k}, {v} in evens, {name}, 0 do"));
                self.frozen.push(t);
                self.loop_body(n, &[(k, Ty::S(S::Int)), (v, Ty::S(S::Int))], false);
                self.frozen.pop();
            }
            5 => {
                let n = self.count(4, 5);
                let c = self.fresh("fc");
                self.line(&format!(
                    "for {k} in range({n}), nil, nil, closer(\"{c}\") do"
                ));
                self.loop_body(n, &[(k, Ty::S(S::Int))], true);
            }
            _ => return self.for_literal(&k, &v),
        }
        self.line("end");
    }

    /// A generic `for` over a table constructor (its items are in the
    /// array part, so every iterator visits them in order).
    fn for_literal(&mut self, k: &str, v: &str) {
        let n = self.pick(5);
        let items: Vec<String> = (0..n).map(|_| self.int_expr(1)).collect();
        if !self.afford(n as u64 * 5) {
            return self.s_emit();
        }
        let t = format!("{{{}}}", items.join(", "));
        let iter = match self.pick(4) {
            0 => format!("pairs({t})"),
            1 => format!("next, {t}"),
            2 => format!("evens, {t}, 0"),
            _ => format!("ipairs({t})"),
        };
        self.line(&format!("for {k}, {v} in {iter} do"));
        self.loop_body(
            n as u64,
            &[
                (k.to_string(), Ty::S(S::Int)),
                (v.to_string(), Ty::S(S::Int)),
            ],
            false,
        );
        self.line("end");
    }

    fn s_do_close(&mut self) {
        self.line("do");
        self.indent += 1;
        self.push_scope();
        for _ in 0..1 + self.pick(2) {
            let c = self.fresh("c");
            self.line(&format!("local {c} <close> = closer(\"{c}\")"));
            self.declare(&c, Ty::Hidden, false);
        }
        if self.chance(20) {
            let z = self.fresh("z");
            self.line(&format!("local {z} <close> = nil"));
            self.declare(&z, Ty::Hidden, false);
        }
        self.stmts(4);
        self.pop_scope();
        self.indent -= 1;
        self.line("end");
    }

    fn s_close_local(&mut self) {
        let c = self.fresh("c");
        self.line(&format!("local {c} <close> = closer(\"{c}\")"));
        self.declare(&c, Ty::Hidden, false);
    }

    // ----- functions -----

    fn s_function(&mut self) {
        let nparams = self.weighted(&[2, 4, 3, 1]);
        let params: Vec<S> = (0..nparams)
            .map(|_| SCALARS[self.weighted(&[5, 2, 2, 1])])
            .collect();
        let nrets = self.weighted(&[1, 6, 2, 1]);
        let rets: Vec<S> = (0..nrets)
            .map(|_| SCALARS[self.weighted(&[5, 2, 2, 1])])
            .collect();
        let names: Vec<String> = params.iter().map(|&s| self.fresh(prefix(s))).collect();
        let plist = names.join(", ");
        let f = self.fresh("fn");
        let (open, callee, close) = match self.weighted(&[4, 2, 1, 1, 1]) {
            0 => (
                format!("local function {f}({plist})"),
                f.clone(),
                "end".to_string(),
            ),
            1 => (
                format!("local {f} = function({plist})"),
                f.clone(),
                "end".to_string(),
            ),
            2 => {
                let g = format!("G{f}");
                (format!("function {g}({plist})"), g, "end".to_string())
            }
            3 => {
                self.line(&format!("local T{f} = {{}}"));
                self.declare(&format!("T{f}"), Ty::Hidden, false);
                (
                    format!("function T{f}.m({plist})"),
                    format!("T{f}.m"),
                    "end".to_string(),
                )
            }
            _ => {
                self.line(&format!("local T{f} = {{k = 3}}"));
                self.declare(&format!("T{f}"), Ty::Hidden, false);
                (
                    format!("function T{f}:m({plist})"),
                    format!("T{f}:m"),
                    "end".to_string(),
                )
            }
        };
        self.line(&open);
        let limit = FN_BUDGET.min(self.remaining() / 2);
        self.enter_fn(false, None, rets.clone(), limit);
        for (name, &s) in names.iter().zip(&params) {
            self.declare(name, Ty::S(s), true);
        }
        self.indent += 1;
        self.stmts(5);
        self.fn_return(&rets);
        self.indent -= 1;
        let frame = self.leave_fn();
        self.line(&close);
        self.declare(
            &callee,
            Ty::Fun(Rc::new(Sig {
                params,
                variadic: false,
                rets,
                cost: frame.cost + 3,
            })),
            false,
        );
        if callee.starts_with('G') {
            let last = self.vars.len() - 1;
            self.vars[last].level = 0;
        }
    }

    /// The final `return` of a function body: values of the types `rets`,
    /// sometimes a tail call of a function with the same results.
    fn fn_return(&mut self, rets: &[S]) {
        if !rets.is_empty() && self.chance(25) {
            let m = self.remaining();
            let want = rets.to_vec();
            if let Some(i) = self.pick_var(
                |v| matches!(&v.ty, Ty::Fun(sig) if sig.rets == want && sig.cost + 2 <= m),
            ) {
                let call = self.call_of(i, 1);
                self.line(&format!("return {call}"));
                return;
            }
        }
        if rets.is_empty() && self.chance(50) {
            return;
        }
        let vals = self.ret_values(rets);
        self.line(&format!("return {vals}"));
    }

    fn s_closures(&mut self) {
        match self.pick(4) {
            0 => {
                let c = self.fresh("ctr");
                let e = self.int_expr(1);
                self.line(&format!("local {c} = counter({e})"));
                self.declare(&c, fun(&[S::Int], &[S::Int], 4), false);
            }
            1 => {
                let (g, s) = (self.fresh("get"), self.fresh("set"));
                let e = self.int_expr(1);
                self.line(&format!("local {g}, {s} = cell({e})"));
                self.declare(&g, fun(&[], &[S::Int], 3), false);
                self.declare(&s, fun(&[S::Int], &[], 3), false);
            }
            2 => {
                // A fresh upvalue per iteration.
                let n = 1 + self.count(4, 12);
                let (fs, i, x) = (self.fresh("fs"), self.fresh("i"), self.fresh("x"));
                let k = self.int_expr(1);
                self.charge(12 * n + 20);
                self.line(&format!("local {fs} = {{}}"));
                self.declare(&fs, Ty::Hidden, false);
                self.line(&format!("for {i} = 1, {n} do"));
                self.line(&format!("  local {x} = {i} * {k}"));
                self.line(&format!(
                    "  {fs}[{i}] = function(d) {x} = {x} + d return {x} + {i} end"
                ));
                self.line("end");
                let a = self.int_expr(1);
                self.line(&format!(
                    "emit({fs}[1]({a}), {fs}[{n}](2), {fs}[1](3), #{fs})"
                ));
            }
            _ => {
                // Two closures sharing one upvalue.
                let (sh, inc, get) = (self.fresh("sh"), self.fresh("inc"), self.fresh("peek"));
                let e = self.int_expr(1);
                self.line(&format!("local {sh} = {e}"));
                self.line(&format!(
                    "local function {inc}(d) {sh} = {sh} + d return {sh} end"
                ));
                self.line(&format!("local function {get}() return {sh} * 10 end"));
                self.declare(&sh, Ty::S(S::Int), true);
                self.declare(&inc, fun(&[S::Int], &[S::Int], 5), false);
                self.declare(&get, fun(&[], &[S::Int], 4), false);
            }
        }
    }

    fn s_recursive(&mut self) {
        let f = self.fresh("rec");
        let k = self.range(0, 9);
        match self.pick(6) {
            0 => {
                self.line(&format!(
                    "local function {f}(n) n = n % 9 if n <= 1 then return 1 end return n * {f}(n - 1) + {k} end"
                ));
                self.declare(&f, fun(&[S::Int], &[S::Int], 90), false);
            }
            1 => {
                self.line(&format!(
                    "local function {f}(n) n = n % 10 if n < 2 then return n + {k} end return {f}(n - 1) + {f}(n - 2) end"
                ));
                self.declare(&f, fun(&[S::Int], &[S::Int], 1300), false);
            }
            2 => {
                self.line(&format!(
                    "local function {f}(n) n = n % 6 if n == 0 then return \".\" end return \"(\" .. {f}(n - 1) .. n .. \")\" end"
                ));
                self.declare(&f, fun(&[S::Int], &[S::Str], 70), false);
            }
            3 => {
                let g = self.fresh("odd");
                self.line(&format!("local {g}"));
                self.line(&format!(
                    "local function {f}(n) if n == 0 then return true end return {g}(n - 1) end"
                ));
                self.line(&format!(
                    "{g} = function(n) if n == 0 then return false end return {f}(n - 1) end"
                ));
                // Called with a bounded argument only, through a wrapper.
                self.declare(&g, Ty::Hidden, false);
                self.declare(&f, Ty::Hidden, false);
                let w = self.fresh("even");
                self.line(&format!("local function {w}(n) return {f}(n % 12) end"));
                self.declare(&w, fun(&[S::Int], &[S::Bool], 80), false);
            }
            4 => {
                self.line(&format!(
                    "local function {f}(n, acc) if n <= 0 then return acc end return {f}(n - 1, acc + n * {k}) end"
                ));
                self.declare(&f, Ty::Hidden, false);
                let w = self.fresh("tail");
                self.line(&format!("local function {w}(n) return {f}(n % 40, 0) end"));
                self.declare(&w, fun(&[S::Int], &[S::Int], 300), false);
            }
            _ => {
                // Recursion through an upvalue.
                self.line(&format!("local {f}"));
                self.line(&format!(
                    "{f} = function(n, s) if n <= 0 then return s end return {f}(n - 1, s .. n) end"
                ));
                self.declare(&f, Ty::Hidden, false);
                let w = self.fresh("up");
                self.line(&format!(
                    "local function {w}(n) return {f}(n % 8, \"\") end"
                ));
                self.declare(&w, fun(&[S::Int], &[S::Str], 80), false);
            }
        }
    }

    fn s_varargs(&mut self) {
        let f = self.fresh("va");
        match self.pick(4) {
            0 => {
                self.line(&format!(
                    "local function {f}(...) local s = 0 for i = 1, select('#', ...) do s = s + (select(i, ...)) end return s end"
                ));
                self.declare(&f, variadic_fun(&[S::Int], 40), false);
            }
            1 => {
                self.line(&format!(
                    "local function {f}(...) local a, b = ... local t = {{...}} return select('#', ...), #t, ... end"
                ));
                let n = self.pick(4);
                let args: Vec<String> = (0..n).map(|_| self.int_expr(1)).collect();
                self.charge(20);
                self.line(&format!("emit({f}({}))", args.join(", ")));
                self.line(&format!(
                    "emit(({f}({})))",
                    args.first().cloned().unwrap_or_default()
                ));
            }
            2 => {
                self.line(&format!(
                    "local function {f}(first, ...) if first == nil then return 0 end return first + {f}(...) end"
                ));
                self.declare(&f, variadic_fun(&[S::Int], 40), false);
            }
            _ => {
                let a = self.any_expr(1);
                let b = self.int_expr(1);
                self.charge(10);
                self.line(&format!(
                    "emit(select('#'), select('#', nil, nil), select(-1, {a}, {b}), select(2, {a}, {b}, 3))"
                ));
            }
        }
    }

    // ----- tables and objects -----

    fn s_seq(&mut self) {
        let w = [if self.can_declare() { 3 } else { 0 }, 3, 1, 2, 1, 1, 1];
        match self.weighted(&w) {
            0 => {
                let t = self.fresh("t");
                if self.chance(25) {
                    let m = self.remaining();
                    if let Some(i) = self.pick_var(|v| matches!(&v.ty, Ty::Fun(sig) if !sig.rets.is_empty() && sig.rets.iter().all(|&r| r == S::Int) && sig.cost + 2 <= m)) {
                        let Ty::Fun(sig) = self.vars[i].ty.clone() else {
                            unreachable!()
                        };
                        let call = self.call_of(i, 1);
                        self.line(&format!("local {t} = {{{call}}}"));
                        let j = self.declare(&t, Ty::Seq, true);
                        self.vars[j].len = sig.rets.len() as u64;
                        return;
                    }
                }
                let n = self.pick(6);
                let items: Vec<String> = (0..n).map(|_| self.int_expr(1)).collect();
                self.line(&format!("local {t} = {{{}}}", items.join(", ")));
                let j = self.declare(&t, Ty::Seq, true);
                self.vars[j].len = n as u64;
            }
            1 => {
                let Some(t) = self.reshapeable(true) else {
                    return self.s_emit();
                };
                let name = self.vars[t].name.clone();
                let e = self.int_expr(2);
                if self.chance(20) {
                    self.line(&format!("rawset({name}, #{name} + 1, {e})"));
                } else {
                    self.line(&format!("{name}[#{name} + 1] = {e}"));
                }
                self.grow(t, 1);
            }
            2 => {
                let Some(t) = self.reshapeable(true) else {
                    return self.s_emit();
                };
                let name = self.vars[t].name.clone();
                self.line(&format!("{name}[#{name}] = nil"));
            }
            3 => {
                let Some(t) = self.table_var(true) else {
                    return self.s_emit();
                };
                let name = self.vars[t].name.clone();
                let (i, e) = (self.int_expr(1), self.int_expr(2));
                self.line(&format!(
                    "if #{name} > 0 then {name}[({i}) % #{name} + 1] = {e} end"
                ));
            }
            4 => {
                let Some(t) = self.reshapeable(true) else {
                    return self.s_emit();
                };
                let name = self.vars[t].name.clone();
                let n = self.count(8, 6);
                let i = self.fresh("i");
                self.with_mult(n);
                let e = self.int_expr(1);
                self.end_mult(n);
                self.charge(6 * n);
                self.line(&format!(
                    "for {i} = 1, {n} do {name}[#{name} + 1] = {e} + {i} end"
                ));
                self.grow(t, n);
            }
            5 => {
                let Some(t) = self.table_var(true) else {
                    return self.s_emit();
                };
                let name = self.vars[t].name.clone();
                self.line(&format!(
                    "if #{name} > 1 then {name}[1], {name}[#{name}] = {name}[#{name}], {name}[1] end"
                ));
            }
            _ => {
                let Some(t) = self.table_var(true) else {
                    return self.s_emit();
                };
                let name = self.vars[t].name.clone();
                self.line(&format!(
                    "emit(#{name}, rawlen({name}), {name}[1], {name}[#{name}], {name}[1.0])"
                ));
            }
        }
    }

    fn s_rec(&mut self) {
        let w = [if self.can_declare() { 3 } else { 0 }, 3, 1, 1, 1];
        match self.weighted(&w) {
            0 => {
                let r = self.fresh("r");
                let mut items = Vec::new();
                for f in FIELDS {
                    if self.chance(50) {
                        let e = self.int_expr(1);
                        if self.chance(30) {
                            items.push(format!("[\"{f}\"] = {e}"));
                        } else {
                            items.push(format!("{f} = {e}"));
                        }
                    }
                }
                self.line(&format!("local {r} = {{{}}}", items.join(", ")));
                self.declare(&r, Ty::Rec, true);
            }
            1 => {
                let Some(r) = self.reshapeable(false) else {
                    return self.s_emit();
                };
                let name = self.vars[r].name.clone();
                let f = self.select(FIELDS);
                let e = self.int_expr(2);
                match self.pick(3) {
                    0 => self.line(&format!("{name}.{f} = {e}")),
                    1 => self.line(&format!("{name}[\"{f}\"] = {e}")),
                    _ => self.line(&format!("rawset({name}, \"{f}\", {e})")),
                }
            }
            2 => {
                let Some(r) = self.reshapeable(false) else {
                    return self.s_emit();
                };
                let name = self.vars[r].name.clone();
                let f = self.select(FIELDS);
                self.line(&format!("{name}.{f} = nil"));
            }
            3 => {
                let e = self.int_expr(1);
                let k = self.select(&["p", "q", "r"]);
                self.line(&format!("N.{k} = {e}"));
            }
            _ => {
                let Some(r) = self.table_var(false) else {
                    return self.s_emit();
                };
                let name = self.vars[r].name.clone();
                let f = self.select(FIELDS);
                self.line(&format!(
                    "emit({name}.{f}, rawget({name}, \"{f}\"), next({{}}), type(next({name})))"
                ));
            }
        }
    }

    fn s_obj(&mut self) {
        let objs = self.find(|v| matches!(v.ty, Ty::Obj));
        let w = [if self.can_declare() { 3 } else { 0 }, 2, 2, 1];
        match self.weighted(&w) {
            0 => {
                let o = self.fresh("o");
                let e = match self.pick(5) {
                    0 | 1 => format!("newV({})", self.int_expr(1)),
                    2 if !objs.is_empty() => {
                        let a = self.name_of(&objs);
                        let b = self.name_of(&objs);
                        format!("{a} + {b}")
                    }
                    3 if !objs.is_empty() => {
                        let a = self.name_of(&objs);
                        let e = self.int_expr(1);
                        if self.chance(50) {
                            format!("{a} + {e}")
                        } else {
                            format!("{e} + {a}")
                        }
                    }
                    4 => {
                        let e = self.int_expr(1);
                        self.line(&format!("local {o} = newW({e})"));
                        self.declare(&o, Ty::Wobj, false);
                        return;
                    }
                    _ => format!("setmetatable({{x = {}}}, V)", self.int_expr(1)),
                };
                self.charge(8);
                self.line(&format!("local {o} = {e}"));
                self.declare(&o, Ty::Obj, false);
            }
            1 => {
                let Some(i) = self.pick_var(|v| matches!(v.ty, Ty::Obj | Ty::Wobj)) else {
                    return self.s_emit();
                };
                let o = self.vars[i].name.clone();
                let e = self.int_expr(2);
                self.charge(6);
                if self.chance(50) {
                    self.line(&format!("{o}:bump({e})"));
                } else {
                    self.line(&format!("{o}.x = {e}"));
                }
            }
            2 => {
                let Some(i) = self.pick_var(|v| matches!(v.ty, Ty::Obj | Ty::Wobj)) else {
                    return self.s_emit();
                };
                let o = self.vars[i].name.clone();
                self.charge(10);
                self.line(&format!(
                    "emit(tostring({o}), {o}:get(), getmetatable({o}) == V, rawequal({o}, {o}), rawget({o}, \"get\"))"
                ));
            }
            _ => {
                let e = self.str_expr(1);
                let i = self.int_expr(1);
                self.line(&format!("emit(D.abc, D[{i}], D[ {e} ])"));
            }
        }
    }

    // ----- errors -----

    fn s_pcall(&mut self) {
        let ok = self.fresh("ok");
        let e = self.fresh("e");
        match self.weighted(&[6, 2, 2]) {
            0 => {
                let p = self.fresh("p");
                let arg = self.int_expr(1);
                let xp = self.chance(25);
                self.line("do");
                self.indent += 1;
                self.line(&format!(
                    "local {ok}, {e} = {}(function({p})",
                    if xp { "xpcall" } else { "pcall" }
                ));
                let limit = self.remaining().min(FN_BUDGET);
                self.enter_fn(true, None, vec![S::Int], limit);
                self.declare(&p, Ty::S(S::Int), true);
                self.indent += 1;
                self.stmts(4);
                match self.weighted(&[2, 3, 3]) {
                    0 => {}
                    1 => {
                        let v = self.error_value();
                        if self.chance(50) {
                            let c = self.bool_expr(1);
                            self.line(&format!("if {c} then error({v}) end"));
                        } else {
                            self.line(&format!("error({v})"));
                        }
                    }
                    _ => self.runtime_error(),
                }
                self.fn_return(&[S::Int]);
                self.indent -= 1;
                self.leave_immediate();
                if xp {
                    self.line(&format!(
                        "end, function(m) return \"H:\" .. tostring(ev(m)) end, {arg})"
                    ));
                } else {
                    self.line(&format!("end, {arg})"));
                }
                self.line(&format!("emit({ok}, ev({e}))"));
                self.indent -= 1;
                self.line("end");
            }
            1 => {
                let v = self.error_value();
                self.charge(10);
                self.line(&format!("local {ok}, {e} = pcall(error, {v})"));
                self.line(&format!("emit({ok}, ev({e}))"));
                self.declare(&ok, Ty::S(S::Bool), true);
                self.declare(&e, Ty::Hidden, false);
            }
            _ => {
                self.charge(20);
                let s = self.select(STRINGS);
                match self.pick(4) {
                    0 => self.line(&format!("emit(select('#', pcall(error)), pcall(pcall, error, {s}))")),
                    1 => {
                        let i = self.int_expr(1);
                        self.line(&format!(
                            "emit(pcall(function(...) return select('#', ...), ... end, {i}, {s}))"
                        ));
                    }
                    2 => self.line(&format!(
                        "emit(xpcall(function() error({s}, 0) end, function(m) return m .. \"!\" end))"
                    )),
                    _ => self.line(&format!(
                        "emit(pcall(function() local ok, e = pcall(error, {s}, 0) error(e .. \"+\", 0) end))"
                    )),
                }
            }
        }
    }

    fn error_value(&mut self) -> String {
        match self.weighted(&[3, 2, 2, 1, 2, 1]) {
            0 => format!("\"boom{}\"", self.pick(10)),
            1 => format!("\"lvl0-{}\", 0", self.pick(10)),
            2 => "\"lvl2\", 2".to_string(),
            3 => self.int_expr(1),
            4 => format!("{{code = {}}}", self.int_expr(1)),
            _ => "nil".to_string(),
        }
    }

    /// A statement that raises a runtime error (inside a `pcall` body).
    fn runtime_error(&mut self) {
        let z = self.fresh("z");
        let c = if self.chance(40) {
            format!("if {} then ", self.bool_expr(1))
        } else {
            String::new()
        };
        let end = if c.is_empty() { "" } else { " end" };
        let body = match self.pick(24) {
            0 => format!("local {z}; {z} = {z} + 1"),
            1 => format!("local {z} = {{}}; emit({z}.a.b)"),
            2 => format!("emit(undef{z}.x)"),
            3 => format!("undef{z}()"),
            4 => "emit({} < {})".to_string(),
            5 => "emit(1 < \"x\")".to_string(),
            // Not `// 0` nor `% 0`: PUC Lua 5.4.4 reports them with a stale
            // line number (the line of the last call or table access).
            6 => format!("local {z} = {{}}; {z}[nil] = 1"),
            7 => format!("local {z} = {{}}; local d{z} = 0; {z}[d{z} / d{z}] = 1"),
            8 => format!("local {z} = \"abc\"; emit({z} + 1)"),
            9 => format!("emit(#({}))", self.int_expr(1)),
            10 => "emit(1.5 | 1)".to_string(),
            11 => format!("for {z} = 1, 3, 0 do end"),
            12 => "setmetatable(1, {})".to_string(),
            13 => format!("local {z} = newV(1); emit({z}:nomethod())"),
            14 => format!("local {z} = nil; local function f{z}() return {z}.x end; f{z}()"),
            15 => "emit(\"x\" .. {})".to_string(),
            16 => "emit(-{})".to_string(),
            17 => format!("local {z} = {{}}; {z}.f()"),
            18 => "emit(1 < nil)".to_string(),
            19 => format!("local {z} = true; emit({z} .. \"\")"),
            20 => "emit(\"abc\" | 1)".to_string(),
            21 => format!(
                "local {z} = setmetatable({{}}, {{__index = function(t, k) error(\"idx:\" .. k, 0) end}}); emit({z}.foo)"
            ),
            22 => format!("local function f{z}(m) error(m, 2) end; f{z}(\"up\")"),
            _ => "error(setmetatable({}, {__tostring = function() return \"TS\" end}))".to_string(),
        };
        self.line(&format!("{c}{body}{end}"));
    }

    /// Error corner cases of the base and coroutine libraries (main
    /// function only, never inside a coroutine).
    fn s_errors(&mut self) {
        self.charge(40);
        match self.pick(if self.coroutines { 8 } else { 3 }) {
            0 => self.line("emit(pcall(setmetatable, 1, {}), select('#', pcall(error)))"),
            1 => self.line("emit(pcall(function() local t = setmetatable({}, {__index = function(t, k) return k * 2 end}) return t[21] end))"),
            2 => self.line("emit(tonumber(\"0x10\"), tonumber(\"1e1\"), tonumber(\"  12  \"), tonumber(\"z\", 36), tonumber(\"ff\", 16), tonumber(\"8\", 8), tonumber(\"1e\"), tonumber(\"\"))"),
            3 => self.line("emit(pcall(coroutine.yield, 1))"),
            4 => self.line("emit(coroutine.resume(coroutine.running()))"),
            5 => self.line("emit(coroutine.isyieldable(), select(2, coroutine.running()))"),
            6 => {
                let g = self.fresh("g");
                self.line("do");
                self.line(&format!("  local {g} = coroutine.wrap(function() error(\"wrapped\", 0) end)"));
                self.line(&format!("  emit(pcall({g}))"));
                self.line(&format!("  local {g}b = coroutine.wrap(function() return 1 end)"));
                self.line(&format!("  emit({g}b())"));
                self.line(&format!("  emit(pcall(function() return {g}b() end))"));
                self.line("  local ok, e = pcall(coroutine.wrap(function() error({code = 5}) end))");
                self.line("  emit(ok, ev(e))");
                self.line("end");
            }
            _ => {
                let co = self.fresh("co");
                self.line("do");
                self.line(&format!("  local {co} = coroutine.create(function() error(\"x\") end)"));
                self.line(&format!("  emit(coroutine.resume({co}))"));
                self.line(&format!("  emit(coroutine.status({co}), coroutine.close({co}))"));
                self.line("  emit(coroutine.close(coroutine.create(print)))");
                self.line("end");
            }
        }
    }

    // ----- coroutines -----

    fn s_yield(&mut self) {
        let Some(kind) = self.yield_kind() else {
            return self.s_emit();
        };
        let m = self.frame().mult;
        self.frame_mut().yields += m;
        let e = self.any_expr(2);
        match (kind, self.pick(3)) {
            (Co::Resume, 0) if self.can_declare() => {
                let y = self.fresh("y");
                self.line(&format!("local {y} = coroutine.yield({e})"));
                self.declare(&y, Ty::S(S::Int), true);
            }
            (_, 1) => self.line(&format!("emit(\"y\", coroutine.yield({e}))")),
            _ => self.line(&format!("coroutine.yield({e})")),
        }
    }

    fn s_coroutine(&mut self) {
        match self.weighted(&[4, 3, 1, 1, 1, 1, 1, 1]) {
            0 => self.co_wrap_for(),
            1 => self.co_resume(),
            2 => self.co_close(),
            3 => self.co_chain(),
            4 => self.co_walk(),
            5 => self.co_perm(),
            6 => self.co_across(),
            _ => self.co_wrap_calls(),
        }
    }

    /// The body of a coroutine function, in its own frame; returns it.
    fn co_body(&mut self, kind: Co, params: &[String]) -> Frame {
        let limit = self.remaining().min(FN_BUDGET) / 2;
        self.enter_fn(false, Some(kind), vec![], limit);
        for p in params {
            self.declare(p, Ty::S(S::Int), true);
        }
        self.indent += 1;
        if self.chance(30) {
            self.line("emit(coroutine.isyieldable(), select(2, coroutine.running()))");
        }
        self.stmts(3);
        // At least one loop of yields.
        let i = self.fresh("i");
        let n = self.count(5, 6);
        self.with_mult(n);
        let e = self.any_expr(1);
        let m = self.frame().mult;
        self.frame_mut().yields += m;
        self.charge(4);
        self.end_mult(n);
        self.line(&format!("for {i} = 1, {n} do coroutine.yield({e}) end"));
        self.stmts(3);
        self.indent -= 1;
        self.leave_fn()
    }

    fn co_wrap_for(&mut self) {
        let v = self.fresh("v");
        self.line(&format!("for {v} in coroutine.wrap(function()"));
        let f = self.co_body(Co::ForWrap, &[]);
        let closes = self.chance(30);
        let closing = if closes {
            format!(", nil, nil, closer(\"{v}\")")
        } else {
            String::new()
        };
        self.line(&format!("end){closing} do"));
        self.charge(f.cost + 10);
        let n = f.yields + 1;
        let mark = self.freeze_all();
        self.ctx.push(Ctx::Loop {
            label: None,
            no_break: closes,
        });
        self.with_mult(n);
        self.push_scope();
        self.indent += 1;
        self.line(&format!("emit({v})"));
        // The value's type is unknown: hide it from expressions.
        self.declare(&v, Ty::Hidden, false);
        self.stmts(3);
        self.indent -= 1;
        self.pop_scope();
        self.end_mult(n);
        self.ctx.pop();
        self.frozen.truncate(mark);
        self.line("end");
    }

    fn co_resume(&mut self) {
        let co = self.fresh("co");
        let (a, b) = (self.fresh("a"), self.fresh("b"));
        self.line("do");
        self.indent += 1;
        self.line(&format!("local {co}"));
        self.line(&format!("{co} = coroutine.create(function({a}, {b})"));
        self.indent += 1;
        self.line(&format!(
            "emit(\"in\", coroutine.status({co}), coroutine.running() == {co})"
        ));
        if self.chance(30) {
            let inner = self.fresh("co");
            self.line(&format!(
                "local {inner} = coroutine.create(function() emit(coroutine.status({co})) coroutine.yield() end)"
            ));
            self.line(&format!(
                "emit(coroutine.resume({inner}), coroutine.status({inner}))"
            ));
        }
        self.indent -= 1;
        let f = self.co_body(Co::Resume, &[a.clone(), b.clone()]);
        self.indent += 1;
        match self.pick(4) {
            0 => self.line(&format!("error(\"co\" .. {a}, 0)")),
            1 => self.line("error(\"co\")"),
            _ => self.line(&format!("return {a} + {b}, \"r\"")),
        }
        self.indent -= 1;
        self.line("end)");
        self.charge(f.cost + 20);
        self.line(&format!("emit(coroutine.status({co}))"));
        let (x, y) = (self.int_expr(1), self.int_expr(1));
        self.line(&format!("emit(coroutine.resume({co}, {x}, {y}))"));
        for _ in 0..self.pick(6) {
            let x = self.int_expr(1);
            self.line(&format!(
                "emit(coroutine.resume({co}, {x}), coroutine.status({co}))"
            ));
        }
        self.indent -= 1;
        self.line("end");
    }

    fn co_close(&mut self) {
        let co = self.fresh("co");
        let k = self.int_expr(1);
        self.charge(60);
        self.line("do");
        self.line(&format!("  local {co} = coroutine.create(function(x)"));
        self.line(&format!("    local c <close> = closer(\"{co}\")"));
        self.line("    coroutine.yield(x + 1)");
        self.line("    emit(\"unreached\")");
        self.line("  end)");
        self.line(&format!("  emit(coroutine.resume({co}, {k}))"));
        self.line(&format!("  emit(coroutine.status({co}))"));
        if self.chance(70) {
            self.line(&format!("  emit(coroutine.close({co}))"));
            self.line(&format!(
                "  emit(coroutine.status({co}), coroutine.close({co}))"
            ));
        }
        self.line(&format!("  emit(coroutine.resume({co}))"));
        self.line("end");
    }

    fn co_chain(&mut self) {
        let n = self.range(0, 12);
        let (m, k) = (self.range(1, 4), self.range(-3, 5));
        let acc = self.fresh("acc");
        let v = self.fresh("v");
        self.charge(40 * n as u64 + 50);
        self.line("do");
        self.indent += 1;
        self.line("local function gen(n) return coroutine.wrap(function() for i = 1, n do coroutine.yield(i) end end) end");
        self.line("local function filt(g, m) return coroutine.wrap(function() for x in g do if x % m == 0 then coroutine.yield(x) end end end) end");
        self.line("local function map(g, k) return coroutine.wrap(function() for x in g do coroutine.yield(x * k + 1) end end) end");
        let src = match self.pick(4) {
            0 => format!("gen({n})"),
            1 => format!("filt(gen({n}), {m})"),
            2 => format!("map(filt(gen({n}), {m}), {})", num(k)),
            _ => format!("filt(map(gen({n}), {}), {m})", num(k)),
        };
        self.line(&format!("local {acc} = 0"));
        self.line(&format!(
            "for {v} in {src} do {acc} = {acc} + {v} emit({v}) end"
        ));
        self.line(&format!("emit({acc})"));
        self.indent -= 1;
        self.line("end");
    }

    fn co_walk(&mut self) {
        let d = self.range(0, 4);
        let v = self.fresh("v");
        self.charge(20 << d);
        self.line("do");
        self.line("  local function walk(n, d)");
        self.line(
            "    if d > 0 then walk(n * 2, d - 1) coroutine.yield(n) walk(n * 2 + 1, d - 1) end",
        );
        self.line("  end");
        self.line(&format!(
            "  for {v} in coroutine.wrap(function() walk(1, {d}) end) do emit({v}) end"
        ));
        self.line("end");
    }

    fn co_perm(&mut self) {
        let n = self.range(1, 4);
        let items: Vec<String> = (1..=n).map(|i| (i * 3).to_string()).collect();
        let p = self.fresh("p");
        self.charge(300);
        self.line("do");
        self.line("  local function permgen(a, n)");
        self.line("    if n <= 1 then coroutine.yield(a) else");
        self.line("      for i = 1, n do");
        self.line("        a[n], a[i] = a[i], a[n]");
        self.line("        permgen(a, n - 1)");
        self.line("        a[n], a[i] = a[i], a[n]");
        self.line("      end");
        self.line("    end");
        self.line("  end");
        self.line(&format!(
            "  for {p} in coroutine.wrap(function() permgen({{{}}}, {n}) end) do",
            items.join(", ")
        ));
        let mut cat = format!("{p}[1]");
        for i in 2..=n {
            cat.push_str(&format!(" .. \"-\" .. {p}[{i}]"));
        }
        self.line(&format!("    emit({cat})"));
        self.line("  end");
        self.line("end");
    }

    fn co_across(&mut self) {
        let v = self.fresh("v");
        let y = self.fresh("Y");
        self.charge(200);
        self.line(&format!("for {v} in coroutine.wrap(function()"));
        self.indent += 1;
        if self.chance(70) {
            let err = if self.chance(50) {
                format!("\"in{}\", 0", self.pick(9))
            } else {
                format!("{{code = {}}}", self.pick(9))
            };
            let k = self.pick(9);
            self.line(&format!(
                "local ok, e = pcall(function() coroutine.yield({k}) error({err}) end)"
            ));
            self.line("coroutine.yield(tostring(ok) .. \":\" .. tostring(ev(e)))");
        }
        self.line(&format!("local {y} = setmetatable({{}}, {{"));
        self.line("  __index = function(t, k) coroutine.yield(\"idx\") return k * 2 end,");
        self.line("  __add = function(a, b) coroutine.yield(\"add\") return 7 end,");
        self.line("  __lt = function(a, b) coroutine.yield(\"lt\") return true end,");
        self.line("  __concat = function(a, b) coroutine.yield(\"cat\") return \"c\" end,");
        self.line("  __len = function(a) coroutine.yield(\"len\") return 3 end,");
        self.line("  __eq = function(a, b) coroutine.yield(\"eq\") return true end,");
        self.line("  __call = function(self, x) coroutine.yield(\"call\") return x + 1 end,");
        self.line("})");
        let uses = [
            format!("coroutine.yield({y}[{}] + 1)", self.pick(9)),
            format!("coroutine.yield({y} + 1)"),
            format!("coroutine.yield({y} < {y})"),
            format!("coroutine.yield({y} .. \"s\")"),
            format!("coroutine.yield(#{y})"),
            format!("coroutine.yield({y} == setmetatable({{}}, getmetatable({y})))"),
            format!("coroutine.yield({y}({}))", self.pick(9)),
            "for i in function(s, c) if c < 3 then coroutine.yield(\"it\") return c + 1 end end, nil, 0 do coroutine.yield(i) end".to_string(),
        ];
        for u in uses {
            if self.chance(60) {
                self.line(&u);
            }
        }
        self.indent -= 1;
        self.line(&format!("end) do emit({v}) end"));
    }

    fn co_wrap_calls(&mut self) {
        let g = self.fresh("gw");
        let a = self.fresh("a");
        self.line("do");
        self.indent += 1;
        self.line(&format!("local {g} = coroutine.wrap(function({a}, {a}b)"));
        let f = self.co_body(Co::Resume, &[a.clone(), format!("{a}b")]);
        self.line("end)");
        self.charge(f.cost + 20);
        let (x, y) = (self.int_expr(1), self.int_expr(1));
        self.line(&format!("emit(pcall({g}, {x}, {y}))"));
        for _ in 0..self.pick(6) {
            let x = self.int_expr(1);
            self.line(&format!("emit(pcall({g}, {x}))"));
        }
        self.indent -= 1;
        self.line("end");
    }

    // ----- expressions -----

    fn expr(&mut self, s: S, d: u32) -> String {
        self.charge(1);
        match s {
            S::Int => self.int_expr(d),
            S::Flt => self.flt_expr(d),
            S::Str => self.str_expr(d),
            S::Bool => self.bool_expr(d),
        }
    }

    /// Any printable value: a scalar, or a few values at once.
    fn any_expr(&mut self, d: u32) -> String {
        match self.weighted(&[12, 1, 1, 1, 1]) {
            0 => {
                let s = SCALARS[self.weighted(&[4, 3, 3, 2])];
                self.expr(s, d)
            }
            1 => "nil".to_string(),
            2 => {
                let s = self.str_expr(1);
                format!("tonumber({s})")
            }
            3 => {
                let m = self.remaining();
                match self.pick_var(
                    |v| matches!(&v.ty, Ty::Fun(sig) if !sig.rets.is_empty() && sig.cost + 2 <= m),
                ) {
                    Some(i) => self.call_of(i, 1),
                    None => "false".to_string(),
                }
            }
            _ => {
                let e = self.int_expr(1);
                format!("rawequal({e}, {})", self.any_leaf())
            }
        }
    }

    fn any_leaf(&mut self) -> String {
        let s = SCALARS[self.pick(4)];
        self.expr(s, 0)
    }

    fn cond_expr(&mut self) -> String {
        match self.weighted(&[8, 1, 1]) {
            0 => self.bool_expr(EXPR_DEPTH),
            1 => self.int_expr(1),
            _ => match self.table_var(false) {
                Some(r) => {
                    let f = self.select(FIELDS);
                    format!("{}.{f}", self.vars[r].name)
                }
                None => "nil".to_string(),
            },
        }
    }

    fn var_ref(&mut self, i: usize) -> String {
        let name = self.vars[i].name.clone();
        if name.starts_with('G') && self.chance(20) {
            if self.chance(50) {
                format!("_ENV.{name}")
            } else {
                format!("_G[\"{name}\"]")
            }
        } else {
            name
        }
    }

    fn int_lit(&mut self) -> String {
        match self.weighted(&[6, 3, 2, 1, 1]) {
            0 => self.pick(10).to_string(),
            1 => num(self.range(-20, 20)),
            2 => self.pick(100_000).to_string(),
            3 => self
                .select(&[
                    "0x10",
                    "0xff",
                    "0x7fffffffffffffff",
                    "0xffffffffffffffff",
                    "0X1F",
                ])
                .to_string(),
            _ => self
                .select(&[
                    "9223372036854775807",
                    "(-9223372036854775807 - 1)",
                    "2147483647",
                    "4294967296",
                    "9007199254740993",
                    "(-2147483648)",
                ])
                .to_string(),
        }
    }

    fn int_leaf(&mut self) -> String {
        match self.weighted(&[4, 5, 1, 1]) {
            0 => self.int_lit(),
            1 => match self.scalar_var(S::Int, false) {
                Some(i) => self.var_ref(i),
                None => self.int_lit(),
            },
            2 => match self.table_var(true) {
                Some(t) => format!("#{}", self.vars[t].name),
                None => self.int_lit(),
            },
            _ => format!("#{}", self.select(STRINGS)),
        }
    }

    fn int_expr(&mut self, d: u32) -> String {
        if d == 0 {
            return self.int_leaf();
        }
        let d1 = d - 1;
        match self.weighted(&[6, 5, 2, 2, 1, 1, 2, 2, 2, 1, 2]) {
            0 => self.int_leaf(),
            1 => {
                let op = self.select(&["+", "-", "*"]);
                let (a, b) = (self.int_expr(d1), self.int_expr(d1));
                format!("({a} {op} {b})")
            }
            2 => {
                let op = self.select(&["//", "%"]);
                let a = self.int_expr(d1);
                if self.chance(40) {
                    let b = self.int_expr(d1);
                    let k = self.range(1, 9);
                    format!("({a} {op} ({b} % {k} + 1))")
                } else {
                    format!("({a} {op} {})", self.select(INT_DIVISORS))
                }
            }
            3 => {
                let op = self.select(&["&", "|", "~", "<<", ">>"]);
                let a = self.int_expr(d1);
                let b = if op.len() == 2 && self.chance(70) {
                    num(self.range(-3, 66))
                } else {
                    self.int_expr(d1)
                };
                format!("({a} {op} {b})")
            }
            4 => {
                let op = self.select(&["-", "~"]);
                format!("({op}{})", self.int_expr(d1))
            }
            5 => {
                let c = self.bool_expr(d1);
                let (a, b) = (self.int_expr(d1), self.int_expr(d1));
                format!("({c} and {a} or {b})")
            }
            6 => match self.pick(4) {
                0 => match self.table_var(true) {
                    Some(t) => {
                        let name = self.vars[t].name.clone();
                        format!("({name}[{}] or 0)", self.int_expr(d1))
                    }
                    None => self.int_leaf(),
                },
                1 => match self.table_var(false) {
                    Some(r) => {
                        let name = self.vars[r].name.clone();
                        let f = self.select(FIELDS);
                        if self.chance(50) {
                            format!("({name}.{f} or 0)")
                        } else {
                            format!("({name}[\"{f}\"] or 0)")
                        }
                    }
                    None => self.int_leaf(),
                },
                2 => format!("(N.{} or 0)", self.select(&["p", "q", "r"])),
                _ => match self.table_var(true) {
                    Some(t) => format!("rawlen({})", self.vars[t].name),
                    None => self.int_leaf(),
                },
            },
            7 => match self.callable(S::Int) {
                Some(i) => format!("({})", self.call_of(i, d1)),
                None => self.int_leaf(),
            },
            8 => match self.pick_var(|v| matches!(v.ty, Ty::Obj | Ty::Wobj)) {
                Some(i) => {
                    let o = self.vars[i].name.clone();
                    self.charge(6);
                    let w = matches!(self.vars[i].ty, Ty::Wobj);
                    match self.pick(5) {
                        0 => format!("{o}.x"),
                        1 => format!("{o}:get()"),
                        2 if w => format!("{o}:twice()"),
                        2 => format!("{o}({})", self.int_expr(d1)),
                        3 if !w => format!("#{o}"),
                        _ => format!("rawget({o}, \"x\")"),
                    }
                }
                None => self.int_leaf(),
            },
            9 => match self.pick(3) {
                0 => format!(
                    "({} + {})",
                    self.select(&["\"10\"", "\" 0x10 \"", "\"-4\"", "\"  7  \""]),
                    self.int_expr(d1)
                ),
                1 => format!("(({} .. \"\") + 0)", self.int_expr(d1)),
                _ => format!("#({} .. \"\")", self.int_expr(d1)),
            },
            _ => match self.pick(4) {
                0 => {
                    let n = self.pick(4);
                    let es: Vec<String> =
                        (0..n).map(|_| format!(", {}", self.any_expr(0))).collect();
                    format!("select('#'{})", es.concat())
                }
                1 => {
                    let (a, b, c) = (self.int_expr(d1), self.int_expr(d1), self.int_expr(d1));
                    format!("(select(2, {a}, {b}, {c}))")
                }
                2 => {
                    let n = self.pick(4);
                    let es: Vec<String> = (0..n).map(|_| self.int_expr(d1)).collect();
                    format!("#{{{}}}", es.join(", "))
                }
                _ => {
                    let p = self.fresh("q");
                    self.push_scope();
                    self.declare(&p, Ty::S(S::Int), true);
                    let body = self.int_expr(d1);
                    self.pop_scope();
                    let arg = self.int_expr(d1);
                    self.charge(5);
                    format!("(function({p}) return {body} end)({arg})")
                }
            },
        }
    }

    fn flt_leaf(&mut self) -> String {
        match self.scalar_var(S::Flt, false) {
            Some(i) if self.chance(60) => self.var_ref(i),
            _ => self.select(FLOATS).to_string(),
        }
    }

    fn flt_expr(&mut self, d: u32) -> String {
        if d == 0 {
            return self.flt_leaf();
        }
        let d1 = d - 1;
        match self.weighted(&[5, 4, 2, 2, 2, 1, 1, 1, 2, 1, 2]) {
            0 => self.flt_leaf(),
            1 => {
                let op = self.select(&["+", "-"]);
                let a = self.flt_expr(d1);
                let int = self.chance(30);
                let b = if int {
                    self.int_expr(d1)
                } else {
                    self.flt_expr(d1)
                };
                // Not `float - integer constant`: luac compiles `x - 0` to
                // `ADDI x 0`, which turns -0.0 into 0.0, and the VM does not.
                if (int && op == "-") || self.chance(50) {
                    format!("({b} {op} {a})")
                } else {
                    format!("({a} {op} {b})")
                }
            }
            2 => {
                let a = self.flt_expr(d1);
                let k = self.select(&["2", "0.5", "(-1.5)", "3", "0.1", "(-1)"]);
                format!("({a} * {k})")
            }
            3 => {
                let a = if self.chance(40) {
                    self.int_expr(d1)
                } else {
                    self.flt_expr(d1)
                };
                format!("({a} / {})", self.select(FLT_DIVISORS))
            }
            4 => {
                let op = self.select(&["//", "%"]);
                let a = self.flt_expr(d1);
                format!("({a} {op} {})", self.select(FLT_DIVISORS))
            }
            5 => {
                let b = self.select(&["2", "1.5", "0.5", "10", "3", "(-2)"]);
                format!("({b} ^ {})", num(self.range(-2, 6)))
            }
            6 => format!("(-{})", self.flt_expr(d1)),
            7 => {
                let c = self.bool_expr(d1);
                let (a, b) = (self.flt_expr(d1), self.flt_expr(d1));
                format!("({c} and {a} or {b})")
            }
            8 => match self.callable(S::Flt) {
                Some(i) => format!("({})", self.call_of(i, d1)),
                None => self.flt_leaf(),
            },
            9 => match self.pick(3) {
                0 => format!("(\"3.5\" * {})", self.int_expr(d1)),
                1 => format!("(\"1e2\" + {})", self.flt_expr(d1)),
                _ => format!("(({} .. \"\") + 0)", self.flt_expr(d1)),
            },
            _ => format!("({} + 0.0)", self.int_expr(d1)),
        }
    }

    fn str_leaf(&mut self) -> String {
        match self.scalar_var(S::Str, false) {
            Some(i) if self.chance(60) => self.var_ref(i),
            _ => self.select(STRINGS).to_string(),
        }
    }

    fn str_expr(&mut self, d: u32) -> String {
        if d == 0 {
            return self.str_leaf();
        }
        let d1 = d - 1;
        match self.weighted(&[5, 6, 2, 1, 1, 2, 2, 1]) {
            0 => self.str_leaf(),
            1 => {
                let n = 2 + self.weighted(&[4, 1, 1]);
                let parts: Vec<String> = (0..n)
                    .map(|_| match self.weighted(&[4, 2, 1]) {
                        0 => self.str_expr(d1),
                        1 => self.int_expr(d1),
                        _ => self.flt_expr(d1),
                    })
                    .collect();
                format!("({})", parts.join(" .. "))
            }
            2 => {
                let s = SCALARS[self.pick(4)];
                let e = if s == S::Str {
                    "nil".to_string()
                } else {
                    self.expr(s, d1)
                };
                format!("tostring({e})")
            }
            3 => format!("type({})", self.any_expr(d1)),
            4 => {
                let c = self.bool_expr(d1);
                let (a, b) = (self.str_expr(d1), self.str_expr(d1));
                format!("({c} and {a} or {b})")
            }
            5 => match self.callable(S::Str) {
                Some(i) => format!("({})", self.call_of(i, d1)),
                None => self.str_leaf(),
            },
            6 => match self.pick_var(|v| matches!(v.ty, Ty::Obj | Ty::Wobj)) {
                Some(i) => {
                    let o = self.vars[i].name.clone();
                    self.charge(8);
                    let w = matches!(self.vars[i].ty, Ty::Wobj);
                    match self.pick(4) {
                        0 => format!("tostring({o})"),
                        1 if !w => format!("({o} .. {})", self.str_expr(d1)),
                        2 if !w => format!("({} .. {o})", self.int_expr(d1)),
                        _ => format!("tostring({o})"),
                    }
                }
                None => self.str_leaf(),
            },
            _ => match self.pick(2) {
                0 => format!("D.f{}", self.pick(5)),
                _ => format!("D[{}]", self.int_expr(d1)),
            },
        }
    }

    fn bool_expr(&mut self, d: u32) -> String {
        if d == 0 {
            return match self.scalar_var(S::Bool, false) {
                Some(i) if self.chance(50) => self.var_ref(i),
                _ => self.select(&["true", "false"]).to_string(),
            };
        }
        let d1 = d - 1;
        match self.weighted(&[3, 1, 2, 4, 2, 2, 1, 2, 2, 1, 1]) {
            0 => self.bool_expr(0),
            1 => format!("not {}", self.bool_expr(d1)),
            2 => {
                let op = self.select(&["and", "or"]);
                let (a, b) = (self.bool_expr(d1), self.bool_expr(d1));
                format!("({a} {op} {b})")
            }
            3 => {
                let op = self.select(&["<", "<=", ">", ">=", "==", "~="]);
                let (a, b) = (self.int_expr(d1), self.int_expr(d1));
                format!("({a} {op} {b})")
            }
            4 => {
                let op = self.select(&["<", "<=", ">", ">=", "==", "~="]);
                let a = self.flt_expr(d1);
                let b = if self.chance(50) {
                    self.int_expr(d1)
                } else {
                    self.flt_expr(d1)
                };
                format!("({a} {op} {b})")
            }
            5 => {
                let op = self.select(&["<", "<=", ">", ">=", "==", "~="]);
                let (a, b) = (self.str_expr(d1), self.str_expr(d1));
                format!("({a} {op} {b})")
            }
            6 => {
                let op = self.select(&["==", "~="]);
                let (a, b) = (self.any_leaf(), self.any_leaf());
                format!("({a} {op} {b})")
            }
            7 => {
                let objs = self.find(|v| matches!(v.ty, Ty::Obj));
                if objs.is_empty() {
                    return self.bool_expr(0);
                }
                let a = self.name_of(&objs);
                let b = self.name_of(&objs);
                self.charge(8);
                match self.pick(5) {
                    0 => format!("({a} == {b})"),
                    1 => format!("({a} < {b})"),
                    2 => format!("({a} <= {b})"),
                    3 => format!("({a} < {})", self.int_expr(d1)),
                    _ => format!("({} <= {a})", self.int_expr(d1)),
                }
            }
            8 => match self.pick(3) {
                0 => match self.table_var(true) {
                    Some(t) => {
                        let name = self.vars[t].name.clone();
                        format!("({name}[{}] == nil)", self.int_expr(d1))
                    }
                    None => self.bool_expr(0),
                },
                1 => match self.table_var(false) {
                    Some(r) => {
                        let name = self.vars[r].name.clone();
                        if self.chance(50) {
                            format!("(next({name}) == nil)")
                        } else {
                            format!("({name}.{} == nil)", self.select(FIELDS))
                        }
                    }
                    None => self.bool_expr(0),
                },
                _ => {
                    let (a, b) = (self.any_leaf(), self.any_leaf());
                    format!("rawequal({a}, {b})")
                }
            },
            9 => match self.callable(S::Bool) {
                Some(i) => format!("({})", self.call_of(i, d1)),
                None => self.bool_expr(0),
            },
            _ => format!(
                "(type({}) == \"{}\")",
                self.any_expr(d1),
                self.select(&["number", "string", "boolean", "nil"])
            ),
        }
    }
}

fn prefix(s: S) -> &'static str {
    match s {
        S::Int => "n",
        S::Flt => "f",
        S::Str => "s",
        S::Bool => "b",
    }
}

/// The type of a function taking any number of integers.
fn variadic_fun(rets: &[S], cost: u64) -> Ty {
    Ty::Fun(Rc::new(Sig {
        params: vec![],
        variadic: true,
        rets: rets.to_vec(),
        cost,
    }))
}

fn fun(params: &[S], rets: &[S], cost: u64) -> Ty {
    Ty::Fun(Rc::new(Sig {
        params: params.to_vec(),
        variadic: false,
        rets: rets.to_vec(),
        cost,
    }))
}
