//! Function prototypes and closures (`lfunc.c`, `lobject.h`'s `Proto`).
//!
//! A `Proto` is immutable once compiled and shared through `Arc` by every
//! closure made from it (and by its parent prototype).

use std::sync::atomic::AtomicU32;
use std::sync::Arc;

use crate::opcodes::Op;
use crate::value::{UpvalRef, Value};

/// Where a closure finds one of its upvalues when it is created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpvalDesc {
    /// Variable name (for debug information and error messages).
    pub name: String,
    /// True: a register of the enclosing function; false: one of the
    /// enclosing function's own upvalues.
    pub in_stack: bool,
    /// The register or upvalue index in the enclosing function.
    pub index: u8,
}

/// A local variable's name and the instruction range where it is live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocVar {
    /// Variable name.
    pub name: String,
    /// First instruction where the variable is active.
    pub start_pc: u32,
    /// First instruction where the variable is dead.
    pub end_pc: u32,
}

/// Per-instruction hints for field lookups by constant name (`GETFIELD`,
/// `GETTABUP`, `SELF`): the position in a table's hash part where the last
/// lookup by that instruction found its key. Tables built by the same code
/// put their fields in the same order, so the hint usually hits and the
/// lookup costs one comparison instead of hashing and probing. A stale or
/// foreign hint only costs that comparison: the lookup then probes as
/// usual.
///
/// Atomics with relaxed ordering, because prototypes are shared (`Arc`)
/// and a hint is only ever a guess.
#[derive(Default)]
pub struct FieldCache(Box<[AtomicU32]>);

impl FieldCache {
    /// One hint per instruction of a function of `len` instructions.
    pub fn new(len: usize) -> Self {
        FieldCache((0..len).map(|_| AtomicU32::new(0)).collect())
    }

    /// The hint of instruction `pc` (none for a prototype built without
    /// hints).
    #[inline(always)]
    pub(crate) fn at(&self, pc: usize) -> Option<&AtomicU32> {
        self.0.get(pc)
    }
}

impl Clone for FieldCache {
    fn clone(&self) -> Self {
        FieldCache::new(self.0.len())
    }
}

impl std::fmt::Debug for FieldCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FieldCache({} slots)", self.0.len())
    }
}

/// What a compiled function is made of, whatever VM runs it: code and
/// debug information, shared (`Arc`) by every VM that has the function,
/// since it names nothing of any VM.
///
/// Invariant: `lines.len() == code.len()`; every register operand is below
/// `max_stack`.
#[derive(Debug, Default)]
pub struct Code {
    /// Chunk name as given to `load` (`@file.lua`, `=stdin`, or source text).
    pub source: Arc<str>,
    /// Line where the function starts (0 for the main chunk).
    pub line_defined: u32,
    /// Line where the function ends (0 for the main chunk).
    pub last_line_defined: u32,
    /// Number of fixed parameters.
    pub num_params: u8,
    /// Whether the function is variadic (`...`).
    pub is_vararg: bool,
    /// Registers needed by this function.
    pub max_stack: u8,
    /// The instructions.
    pub code: Vec<Op>,
    /// Source line of each instruction.
    pub lines: Vec<u32>,
    /// Upvalue descriptions.
    pub upvalues: Vec<UpvalDesc>,
    /// Local variable debug information, in order of declaration.
    pub locvars: Vec<LocVar>,
    /// Lookup hints of the field instructions (see [`FieldCache`]).
    pub field_cache: FieldCache,
}

/// A compiled function in one VM: its shared [`Code`] (which `Deref`
/// reaches, so `proto.code` is the instructions), and the parts that name
/// the VM's objects: the constants (its strings) and the nested
/// functions. A function sent to another VM shares its code and gets
/// constants of its own (`transfer.rs`), so a million agents spawned with
/// one function hold one copy of its code.
///
/// Invariant: `consts` holds only nil, booleans, numbers and strings of
/// the VM (or static strings); `protos` are prototypes of the same VM.
#[derive(Clone, Debug, Default)]
pub struct Proto {
    /// The code, shared.
    pub shared: Arc<Code>,
    /// Constants referenced by `K[...]` operands.
    pub consts: Vec<Value>,
    /// Nested function prototypes referenced by `CLOSURE`.
    pub protos: Vec<Arc<Proto>>,
    /// Copies of `Code::num_params`, `is_vararg` and `max_stack`, which
    /// every call reads: here they cost no load through `shared` (1% of
    /// the instructions of a call-heavy program).
    pub num_params: u8,
    /// See `num_params`.
    pub is_vararg: bool,
    /// See `num_params`.
    pub max_stack: u8,
}

impl Proto {
    /// A prototype of `shared` with these constants and nested
    /// prototypes.
    pub(crate) fn new(shared: Arc<Code>, consts: Vec<Value>, protos: Vec<Arc<Proto>>) -> Proto {
        Proto {
            num_params: shared.num_params,
            is_vararg: shared.is_vararg,
            max_stack: shared.max_stack,
            shared,
            consts,
            protos,
        }
    }
}

impl std::ops::Deref for Proto {
    type Target = Code;

    #[inline(always)]
    fn deref(&self) -> &Code {
        &self.shared
    }
}

/// A prototype being built (by the compiler, or read from a binary
/// chunk): every field of [`Code`] and [`Proto`] in one place, to change
/// freely until [`Proto::from`] seals it.
#[derive(Debug, Default)]
pub struct ProtoDraft {
    /// See [`Code::source`].
    pub source: Arc<str>,
    /// See [`Code::line_defined`].
    pub line_defined: u32,
    /// See [`Code::last_line_defined`].
    pub last_line_defined: u32,
    /// See [`Code::num_params`].
    pub num_params: u8,
    /// See [`Code::is_vararg`].
    pub is_vararg: bool,
    /// See [`Code::max_stack`].
    pub max_stack: u8,
    /// See [`Code::code`].
    pub code: Vec<Op>,
    /// See [`Code::lines`].
    pub lines: Vec<u32>,
    /// See [`Proto::consts`].
    pub consts: Vec<Value>,
    /// See [`Proto::protos`].
    pub protos: Vec<Arc<Proto>>,
    /// See [`Code::upvalues`].
    pub upvalues: Vec<UpvalDesc>,
    /// See [`Code::locvars`].
    pub locvars: Vec<LocVar>,
}

impl From<ProtoDraft> for Proto {
    fn from(d: ProtoDraft) -> Proto {
        let field_cache = FieldCache::new(d.code.len());
        Proto::new(
            Arc::new(Code {
                source: d.source,
                line_defined: d.line_defined,
                last_line_defined: d.last_line_defined,
                num_params: d.num_params,
                is_vararg: d.is_vararg,
                max_stack: d.max_stack,
                code: d.code,
                lines: d.lines,
                upvalues: d.upvalues,
                locvars: d.locvars,
                field_cache,
            }),
            d.consts,
            d.protos,
        )
    }
}

impl Proto {
    /// Approximate bytes of this prototype alone (its nested prototypes
    /// not included).
    pub(crate) fn own_bytes(&self) -> usize {
        use std::mem::size_of;
        let names: usize = self.upvalues.iter().map(|u| u.name.len()).sum::<usize>()
            + self.locvars.iter().map(|l| l.name.len()).sum::<usize>();
        // Each non-empty vector is a heap block: a header and rounding.
        let blocks = [
            self.code.len(),
            self.consts.len(),
            self.protos.len(),
            self.upvalues.len(),
            self.locvars.len(),
        ]
        .iter()
        .filter(|&&n| n > 0)
        .count()
            + self.upvalues.len()
            + self.locvars.len();
        // (Two blocks, the `Proto` and its `Code`, each with an `Arc`'s
        // counts and the allocator's rounding.)
        size_of::<Proto>()
            + size_of::<Code>()
            + 64
            + 24 * (blocks + 2)
            + self.code.len() * (size_of::<Op>() + size_of::<u32>() + size_of::<AtomicU32>())
            + self.consts.len() * size_of::<Value>()
            + self.protos.len() * size_of::<Arc<Proto>>()
            + self.upvalues.len() * size_of::<UpvalDesc>()
            + self.locvars.len() * size_of::<LocVar>()
            + names
    }

    /// Approximate bytes of this prototype and all those nested in it,
    /// their sources included.
    pub(crate) fn tree_bytes(&self) -> usize {
        let mut sources = Sources::default();
        let mut total = 0;
        let mut todo = vec![self];
        while let Some(p) = todo.pop() {
            total += p.own_bytes() + sources.first_time(&p.source);
            todo.extend(p.protos.iter().map(|c| &**c));
        }
        total
    }
}

/// The sources (chunk names) already counted: a chunk's prototypes share
/// one, which may be as long as the chunk (`load` of a string names the
/// chunk by its text), so it is counted once.
#[derive(Default)]
struct Sources(std::collections::HashSet<*const u8>);

impl Sources {
    /// `source`'s length if it was not counted yet, else 0.
    fn first_time(&mut self, source: &Arc<str>) -> usize {
        if self.0.insert(source.as_ptr()) {
            source.len()
        } else {
            0
        }
    }
}

/// Approximate bytes of the prototypes that `roots` (the prototypes of the
/// live closures) keep alive, each counted once however many closures or
/// prototypes share it.
pub(crate) fn protos_bytes<'a>(roots: impl Iterator<Item = &'a Arc<Proto>>) -> usize {
    let mut seen = std::collections::HashSet::new();
    let mut todo: Vec<&Arc<Proto>> = Vec::new();
    // Closures of one prototype are often made one after another.
    let mut last = std::ptr::null();
    for p in roots {
        if Arc::as_ptr(p) != last {
            last = Arc::as_ptr(p);
            todo.push(p);
        }
    }
    let (mut total, mut sources) = (0, Sources::default());
    while let Some(p) = todo.pop() {
        if seen.insert(Arc::as_ptr(p)) {
            total += p.own_bytes() + sources.first_time(&p.source);
            todo.extend(p.protos.iter());
        }
    }
    total
}

/// A Lua closure: a prototype plus its upvalue cells.
#[derive(Debug)]
pub(crate) struct LuaClosure {
    /// The function's code.
    pub proto: Arc<Proto>,
    /// One cell per entry of `proto.upvalues`. Frames record the address
    /// of this slice (`raw::upvals_addr`): rebind a cell in place, never
    /// replace the slice.
    pub upvals: Box<[UpvalRef]>,
}
