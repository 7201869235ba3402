//! Light natives (`lua_pushcfunction`'s light C functions): a native
//! function with no upvalues is a value, not an object. Its handle is a
//! `NativeRef` whose slot index has the top bit set and names the native
//! in a process-wide table, so it is the same value in every VM: it costs
//! a VM nothing, the collector neither marks nor sweeps it, and two of
//! the same function are equal (`pairs({})` returns `next` itself), as
//! two light C functions are in PUC Lua.
//!
//! The table only grows (a native is `'static`): reading it takes no
//! lock, and a handle past what it holds names nothing (`native`), so a
//! forged handle is refused like a stale one.

use hashbrown::HashMap;
use std::cell::RefCell;
use std::sync::{OnceLock, RwLock};

use slotmap::{Key, KeyData};

use crate::native::NativeFunction;
use crate::table::Table;
use crate::value::{NativeRef, StrRef, Value};

/// The tag bit of a light native's slot index (as a static string's:
/// `arena::MAX_SLOTS`).
const LIGHT_BIT: u64 = 1 << 31;

/// The version every light handle carries (slotmap keeps versions odd).
const LIGHT_VERSION: u64 = 1;

/// Natives per segment of the table, and segments: at most 2^18 distinct
/// light natives in a process (past that, natives are objects again).
const SEGMENT: usize = 256;
const SEGMENTS: usize = 1024;

/// The natives by index, in segments made as they fill, each with its
/// name's static handle if it has one (`Vm::register` stores it as a key
/// without looking the name up).
static TABLE: [OnceLock<Box<[OnceLock<Light>]>>; SEGMENTS] = [const { OnceLock::new() }; SEGMENTS];

type Light = (&'static NativeFunction, Option<StrRef>);

/// The index of each native in `TABLE`, by address.
fn indices() -> &'static RwLock<HashMap<usize, u32>> {
    static INDICES: OnceLock<RwLock<HashMap<usize, u32>>> = OnceLock::new();
    INDICES.get_or_init(Default::default)
}

/// The light handle of `f`, giving it an index the first time; `None`
/// when the table is full.
pub(crate) fn handle(f: &'static NativeFunction) -> Option<NativeRef> {
    let addr = std::ptr::from_ref(f) as usize;
    let known = indices()
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&addr)
        .copied();
    let index = match known {
        Some(i) => i,
        None => {
            let mut map = indices()
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let next = map.len();
            if next >= SEGMENT * SEGMENTS {
                return None;
            }
            let i = *map.entry(addr).or_insert(next as u32);
            if i as usize == next {
                let segment = TABLE[next / SEGMENT]
                    .get_or_init(|| (0..SEGMENT).map(|_| OnceLock::new()).collect());
                let name = crate::names::find(f.name.as_bytes());
                let _ = segment[next % SEGMENT].set((f, name));
            }
            i
        }
    };
    Some(NativeRef::from(KeyData::from_ffi(
        (LIGHT_VERSION << 32) | LIGHT_BIT | u64::from(index),
    )))
}

/// Whether `n` has the light tag (valid or not): such a handle names no
/// slot of any arena.
#[inline(always)]
pub(crate) fn is_light(n: NativeRef) -> bool {
    n.data().as_ffi() & LIGHT_BIT != 0
}

/// The native a light handle names, or `None` for any other handle (a
/// VM's own native closure, or a forged one).
#[inline]
pub(crate) fn native(n: NativeRef) -> Option<&'static NativeFunction> {
    entry(n).map(|e| e.0)
}

/// The static handle of the name of the native a light handle names, if
/// that name is static (`names.rs`).
pub(crate) fn static_name(n: NativeRef) -> Option<StrRef> {
    entry(n)?.1
}

#[inline]
fn entry(n: NativeRef) -> Option<&'static Light> {
    let ffi = n.data().as_ffi();
    if ffi & LIGHT_BIT == 0 || ffi >> 32 != LIGHT_VERSION {
        return None;
    }
    let i = (ffi & 0x7fff_ffff) as usize;
    TABLE.get(i / SEGMENT)?.get()?.get(i % SEGMENT)?.get()
}

/// Most distinct lists [`library`] keeps a table for, per thread (the
/// standard library and an agent's have about fifteen; an embedder
/// registering lists made on the fly gets no template past this).
const LIBRARIES: usize = 64;

/// The table `Vm::register` makes of `funcs` in a fresh table, when
/// every one is a light native whose name is static: then the table is
/// the same in every VM (keys and values are process-wide handles, and a
/// table hashes handles, not VM state), so it is built once per thread
/// and cloned, one allocation, where each VM of an agent would insert
/// every key again. `None` when a native is not light or its name not
/// static.
pub(crate) fn library(funcs: &[&'static NativeFunction]) -> Option<Table> {
    thread_local! {
        static MADE: RefCell<Vec<Template>> = const { RefCell::new(Vec::new()) };
    }
    // By content, not by the slice's address: a list built on the
    // stack may sit where another was.
    let addrs = || funcs.iter().map(|&f| std::ptr::from_ref(f) as usize);
    MADE.with_borrow_mut(|made| {
        if let Some((_, table)) = made
            .iter()
            .find(|(list, _)| list.iter().copied().eq(addrs()))
        {
            return table.clone();
        }
        let table = build(funcs);
        if made.len() < LIBRARIES {
            made.push((addrs().collect(), table.clone()));
        }
        table
    })
}

/// A list of natives (their addresses) and the table [`library`] makes
/// of it.
type Template = (Box<[usize]>, Option<Table>);

/// The table of [`library`], if every native is light with a static
/// name.
fn build(funcs: &[&'static NativeFunction]) -> Option<Table> {
    let mut table = Table::with_capacity(0, funcs.len());
    for &f in funcs {
        let n = handle(f)?;
        table
            .set(Value::Str(static_name(n)?), Value::Native(n))
            .ok()?;
    }
    table.take_growth();
    Some(table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::LuaResult;
    use crate::native::{Args, Step};
    use crate::state::Vm;

    fn nothing(_: &mut Vm, _: Args) -> LuaResult<Step> {
        Ok(Step::Return(0))
    }

    static A: NativeFunction = NativeFunction::new("a", nothing).with_id("test.light_a");
    static B: NativeFunction = NativeFunction::new("b", nothing).with_id("test.light_b");

    #[test]
    fn one_handle_per_function_naming_it_back() {
        let (a, b) = (handle(&A).unwrap(), handle(&B).unwrap());
        assert_eq!(handle(&A), Some(a));
        assert_ne!(a, b);
        assert!(is_light(a) && is_light(b));
        assert!(std::ptr::eq(native(a).unwrap(), &A));
        assert!(std::ptr::eq(native(b).unwrap(), &B));
    }

    static PRINT: NativeFunction = NativeFunction::new("print", nothing).with_id("test.print");
    static TYPE: NativeFunction = NativeFunction::new("type", nothing).with_id("test.type");

    /// Library tables made from templates hold their own list's natives,
    /// also when two lists are built at the same place on the stack, and
    /// a list with a name that is not static is registered key by key.
    #[test]
    fn library_tables_hold_their_own_lists() {
        let mut vm = Vm::new();
        let lists: [&[&'static NativeFunction]; 4] =
            [&[&PRINT], &[&TYPE], &[&PRINT, &TYPE], &[&PRINT, &A]];
        for round in 0..2 {
            for list in lists {
                let on_stack: Vec<&'static NativeFunction> = list.to_vec();
                let t = vm.new_table();
                vm.register(t, &on_stack).unwrap();
                for f in list {
                    let got = vm.raw_get_str(t, f.name);
                    let want = vm.new_native(f);
                    assert!(got.raw_eq(want), "round {round}, {}", f.name);
                }
                assert_eq!(vm.raw_len(t), 0);
                let mut keys = 0;
                let mut k = Value::Nil;
                while let Some((next, _)) = vm.next(t, k).unwrap() {
                    keys += 1;
                    k = next;
                }
                assert_eq!(keys, list.len());
            }
        }
    }

    #[test]
    fn forged_handles_name_nothing() {
        let past = NativeRef::from(KeyData::from_ffi((1 << 32) | LIGHT_BIT | 0x7fff_0000));
        assert!(native(past).is_none());
        let other = NativeRef::from(KeyData::from_ffi((5 << 32) | LIGHT_BIT));
        assert!(native(other).is_none());
        assert!(native(NativeRef::default()).is_none());
    }
}
