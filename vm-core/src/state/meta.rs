//! The declarations of metamethods (`ltm.h`): the events (`Tm`) with
//! their names, whose handles are static strings (`names.rs`; `lstate.h`'s
//! `tmname`), and the metatables of types (`TypeMetatables`). Lookups and
//! the absent-metamethod cache are in `meta.rs`.

use crate::value::{StrRef, TableRef};

/// Metamethod events (`TMS`). The first eight are cached as "absent" bits
/// in a metatable's `flags` (`fasttm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Tm {
    /// `__index`
    Index,
    /// `__newindex`
    NewIndex,
    /// `__gc`
    Gc,
    /// `__mode`
    Mode,
    /// `__len`
    Len,
    /// `__eq`
    Eq,
    /// `__call`
    Call,
    /// `__close`
    Close,
    /// `__add`
    Add,
    /// `__sub`
    Sub,
    /// `__mul`
    Mul,
    /// `__mod`
    Mod,
    /// `__pow`
    Pow,
    /// `__div`
    Div,
    /// `__idiv`
    IDiv,
    /// `__band`
    BAnd,
    /// `__bor`
    BOr,
    /// `__bxor`
    BXor,
    /// `__shl`
    Shl,
    /// `__shr`
    Shr,
    /// `__unm`
    Unm,
    /// `__bnot`
    BNot,
    /// `__lt`
    Lt,
    /// `__le`
    Le,
    /// `__concat`
    Concat,
    /// `__tostring`
    ToString,
    /// `__name`
    Name,
    /// `__metatable`
    Metatable,
    /// `__pairs`
    Pairs,
}

impl Tm {
    /// The event's name, e.g. `"__index"` (the first static names are
    /// the events', in this order: `names.rs`).
    pub fn name(self) -> &'static str {
        crate::names::NAMES[self as usize]
    }

    /// The event's name as a string handle: a static string
    /// (`names.rs`), the same in every VM.
    #[inline(always)]
    pub(crate) fn key(self) -> StrRef {
        crate::names::handle(self as usize)
    }

    /// The arithmetic event for an arithmetic operator.
    pub(crate) fn from_arith(op: crate::number::ArithOp) -> Tm {
        use crate::number::ArithOp as A;
        match op {
            A::Add => Tm::Add,
            A::Sub => Tm::Sub,
            A::Mul => Tm::Mul,
            A::Mod => Tm::Mod,
            A::Pow => Tm::Pow,
            A::Div => Tm::Div,
            A::IDiv => Tm::IDiv,
            A::BAnd => Tm::BAnd,
            A::BOr => Tm::BOr,
            A::BXor => Tm::BXor,
            A::Shl => Tm::Shl,
            A::Shr => Tm::Shr,
            A::Unm => Tm::Unm,
            A::BNot => Tm::BNot,
        }
    }
}

/// Metatables of the types that share one (`G(L)->mt`): strings' in line,
/// read by every method call on a string; the others, which few programs
/// set (`debug.setmetatable`), in a box made for the first.
#[derive(Debug, Default)]
pub(crate) struct TypeMetatables {
    string: Option<TableRef>,
    others: Option<Box<[Option<TableRef>; 8]>>,
}

impl TypeMetatables {
    /// `type_index` of strings.
    pub(crate) const STRING: usize = 3;

    /// The metatable of the type at `index` (`type_index`).
    #[inline]
    pub(crate) fn get(&self, index: usize) -> Option<TableRef> {
        if index == Self::STRING {
            self.string
        } else {
            self.others.as_ref()?.get(index).copied().flatten()
        }
    }

    pub(crate) fn set(&mut self, index: usize, mt: Option<TableRef>) {
        if index == Self::STRING {
            self.string = mt;
        } else if let Some(slot) = match &mut self.others {
            Some(all) => all.get_mut(index),
            None if mt.is_none() => None,
            None => self.others.insert(Box::default()).get_mut(index),
        } {
            *slot = mt;
        }
    }

    /// Every metatable set.
    pub(crate) fn iter(&self) -> impl Iterator<Item = TableRef> + '_ {
        let others = self.others.iter().flat_map(|all| all.iter().flatten());
        self.string.into_iter().chain(others.copied())
    }
}
