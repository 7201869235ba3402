//! Lua values (`lobject.h`'s `TValue`): a 16-byte `Copy` enum of immediates and heap handles.

use slotmap::new_key_type;

new_key_type! {
    /// Handle to an interned byte string in the heap.
    pub struct StrRef;
    /// Handle to a table in the heap.
    pub struct TableRef;
    /// Handle to a Lua closure (prototype plus upvalues).
    pub struct LuaFnRef;
    /// Handle to a native closure (registered native plus upvalues).
    pub struct NativeRef;
    /// Handle to a thread (coroutine) state.
    pub struct ThreadRef;
    /// Handle to a full userdata.
    pub struct UserDataRef;
    /// Handle to an upvalue cell (open or closed).
    pub struct UpvalRef;
}

/// A Lua value.
///
/// Strings are interned (every string, short or long), so two string values
/// are equal exactly when their handles are equal.
///
/// Layout: an 8-byte tag, then every payload at offset 8 (`repr(u64)`).
/// With the default layout a boolean sat at offset 1 and handles at offset
/// 4, so copying a value of unknown type moved bytes 1..16 piecewise, and
/// the next 16-byte load of that slot missed store-to-load forwarding:
/// 10-13% of the run time of calls and method lookups (BENCHMARKS.md).
#[derive(Clone, Copy, Debug, Default)]
#[repr(u64)]
pub enum Value {
    /// `nil`
    #[default]
    Nil,
    /// `true` / `false`
    Bool(bool),
    /// An integer (subtype of number).
    Int(i64),
    /// A float (subtype of number).
    Num(f64),
    /// A byte string.
    Str(StrRef),
    /// A table.
    Table(TableRef),
    /// A Lua function.
    LuaFn(LuaFnRef),
    /// A native (Rust) function.
    Native(NativeRef),
    /// A coroutine.
    Thread(ThreadRef),
    /// A full userdata.
    UserData(UserDataRef),
}

impl Value {
    /// True for everything except `nil` and `false`.
    #[inline]
    pub fn truthy(self) -> bool {
        !matches!(self, Value::Nil | Value::Bool(false))
    }

    /// True for `nil`.
    #[inline]
    pub fn is_nil(self) -> bool {
        matches!(self, Value::Nil)
    }

    /// True for the values that name a heap object.
    #[inline]
    pub(crate) fn is_collectable(self) -> bool {
        !matches!(
            self,
            Value::Nil | Value::Bool(_) | Value::Int(_) | Value::Num(_)
        )
    }

    /// The name `type()` returns for this value.
    pub fn type_name(self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Bool(_) => "boolean",
            Value::Int(_) | Value::Num(_) => "number",
            Value::Str(_) => "string",
            Value::Table(_) => "table",
            Value::LuaFn(_) | Value::Native(_) => "function",
            Value::Thread(_) => "thread",
            Value::UserData(_) => "userdata",
        }
    }

    /// Raw equality (`rawequal`): numbers compare by mathematical value,
    /// everything else by identity (strings are interned).
    #[inline]
    pub fn raw_eq(self, other: Value) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Num(a), Value::Num(b)) => a == b,
            (Value::Int(a), Value::Num(b)) | (Value::Num(b), Value::Int(a)) => {
                crate::number::int_eq_float(a, b)
            }
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Table(a), Value::Table(b)) => a == b,
            (Value::LuaFn(a), Value::LuaFn(b)) => a == b,
            (Value::Native(a), Value::Native(b)) => a == b,
            (Value::Thread(a), Value::Thread(b)) => a == b,
            (Value::UserData(a), Value::UserData(b)) => a == b,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_is_16_bytes() {
        assert_eq!(std::mem::size_of::<Value>(), 16);
    }

    #[test]
    fn truthiness() {
        assert!(!Value::Nil.truthy());
        assert!(!Value::Bool(false).truthy());
        assert!(Value::Bool(true).truthy());
        assert!(Value::Int(0).truthy());
    }
}
