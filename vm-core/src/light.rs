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
use std::sync::{OnceLock, RwLock};

use slotmap::{Key, KeyData};

use crate::native::NativeFunction;
use crate::value::{NativeRef, StrRef};

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

    #[test]
    fn forged_handles_name_nothing() {
        let past = NativeRef::from(KeyData::from_ffi((1 << 32) | LIGHT_BIT | 0x7fff_0000));
        assert!(native(past).is_none());
        let other = NativeRef::from(KeyData::from_ffi((5 << 32) | LIGHT_BIT));
        assert!(native(other).is_none());
        assert!(native(NativeRef::default()).is_none());
    }
}
