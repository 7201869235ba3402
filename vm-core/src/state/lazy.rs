//! The declarations of lazy globals (`lazy.rs` has the behaviour): what
//! a VM makes on first use ([`Lazy`]), and what it still owes
//! (`LazyState`, declared in `Vm` as `lazy`).

use crate::error::LuaResult;
use crate::native::NativeFunction;
use crate::state::Vm;
use crate::value::{TableRef, Value};

/// A global that a VM makes the first time a program touches it
/// (`Vm::open_lazily`), so that a VM pays only for the libraries it
/// uses.
#[derive(Clone, Copy)]
pub enum Lazy {
    /// A global function: the native, with no upvalues, under its name.
    Function(&'static NativeFunction),
    /// A global value that `make` makes (a closure with upvalues).
    Global {
        /// The global's name.
        name: &'static str,
        /// Makes the value.
        make: fn(&mut Vm) -> LuaResult<Value>,
    },
    /// A library: `open` installs it as if eagerly, through
    /// `Vm::register_library`, `Vm::install_global` and
    /// `Vm::library_metatable`, which store only what the program has not
    /// changed meanwhile.
    Library {
        /// Its name: global `name` and `package.loaded[name]`.
        name: &'static str,
        /// The other globals it installs (`require` for `package`).
        globals: &'static [&'static str],
        /// Whether it fills the metatable of strings (`string`).
        string_metatable: bool,
        /// Its natives: one of them arriving from another VM (a message,
        /// `Vm::unpack`) makes the library first, since they may need its
        /// state (`io.write`, the default output), and is named by it in
        /// errors.
        natives: Option<&'static crate::native::NativeList>,
        /// Installs it.
        open: fn(&mut Vm) -> LuaResult<()>,
    },
}

impl Lazy {
    /// Whether `other` is the same entry (opening it twice makes it once).
    pub(crate) fn same(self, other: Lazy) -> bool {
        match (self, other) {
            (Lazy::Function(f), Lazy::Function(g)) => std::ptr::eq(f, g),
            (Lazy::Global { name, make }, Lazy::Global { name: n, make: m }) => {
                name == n && make as usize == m as usize
            }
            (
                Lazy::Library { name, open, .. },
                Lazy::Library {
                    name: n, open: o, ..
                },
            ) => name == n && open as usize == o as usize,
            _ => false,
        }
    }

    /// The global it makes (a library's name).
    pub fn name(&self) -> &'static str {
        match self {
            Lazy::Function(f) => f.name,
            Lazy::Global { name, .. } | Lazy::Library { name, .. } => name,
        }
    }
}

impl std::fmt::Debug for Lazy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Lazy({})", self.name())
    }
}

/// What a lazy table is owed, one bit per entry of `LazyState::lists`
/// (in order, across the lists).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Owed {
    /// The globals, `package.loaded`, or the metatable of strings.
    pub(crate) table: TableRef,
    /// The entries not made yet whose keys this table holds.
    pub(crate) entries: u64,
}

/// The most entries a VM makes lazily; those past it are made at once.
pub(crate) const MAX_LAZY: usize = 64;

/// What a VM still owes of its lazy globals.
///
/// Invariant: a table owed something has `sentinel` as its metatable, so
/// the interpreter's fast paths take their slow paths (`index_target`,
/// `newindex_target`) where a key is missing; that metatable is never
/// shown to the program, and has no fields. A table owed nothing has its
/// metatable back (none).
#[derive(Debug)]
pub(crate) struct LazyState {
    pub(crate) sentinel: TableRef,
    /// The entries (`Vm::open_lazily`'s lists, shared by every VM), each
    /// with its names resolved (`Resolved`, made once in the process); an
    /// agent opens three (base, the libraries, `agent`).
    pub(crate) lists: smallvec::SmallVec<[std::sync::Arc<Resolved>; 3]>,
    pub(crate) owed: smallvec::SmallVec<[Owed; 3]>,
    /// Keys (static-name indices) the program set or removed while they
    /// were owed: an entry made later does not overwrite them.
    pub(crate) changed: thin_vec::ThinVec<(TableRef, u32)>,
    /// The metatable of strings made lazily, and whether its library has
    /// filled it (`Vm::library_metatable`).
    pub(crate) string_mt: Option<(TableRef, bool)>,
    /// An entry is being made: its stores are the library's, not an
    /// embedder's (`Vm::provide`).
    pub(crate) making: bool,
}

impl LazyState {
    /// Entry `i`, counting across the lists, with its names.
    pub(crate) fn entry(&self, i: usize) -> Option<(Lazy, &Names)> {
        let mut i = i;
        for list in &self.lists {
            match (list.entries.get(i), list.names.get(i)) {
                (Some(&e), Some(n)) => return Some((e, n)),
                _ => i -= list.entries.len(),
            }
        }
        None
    }

    /// Whether every key of `t` is owed, not only the entries' names: the
    /// metatable of strings made lazily, whose first lookup opens `string`.
    pub(crate) fn every_key(&self, t: TableRef) -> bool {
        self.string_mt.is_some_and(|(mt, _)| mt == t)
    }

    /// How many entries the lists hold.
    pub(crate) fn len(&self) -> usize {
        self.lists.iter().map(|l| l.entries.len()).sum()
    }
}

/// A list of entries resolved once in the process: each entry's names,
/// and what a VM opening the whole list owes, so that a VM (an agent)
/// owes it in a few stores rather than entry by entry.
#[derive(Debug)]
pub(crate) struct Resolved {
    /// The list.
    pub(crate) entries: &'static [Lazy],
    pub(crate) names: Box<[Names]>,
    /// Every entry's names are static and no two entries share one: the
    /// list can be owed at once.
    pub(crate) distinct: bool,
    /// The union of the entries' names (static-name indices, `names.rs`),
    /// one bit each.
    pub(crate) name_bits: [u64; 6],
    /// The entries that are libraries (`package.loaded` holds them too),
    /// by position in the list.
    pub(crate) libraries: u64,
    /// The first library that fills the metatable of strings.
    pub(crate) string_metatable: Option<usize>,
}

/// An entry's names as static-name indices (`names.rs`): its own, and a
/// library's other globals. `None` when one of them is not static (the
/// entry is then made at once).
#[derive(Debug)]
pub(crate) struct Names(pub(crate) Option<(u32, Vec<u32>)>);

impl Names {
    /// Whether `key` is one of the names, counting a library's other
    /// globals only `in_globals`.
    pub(crate) fn has(&self, key: u32, in_globals: bool) -> bool {
        match &self.0 {
            Some((name, more)) => *name == key || (in_globals && more.contains(&key)),
            None => false,
        }
    }
}
