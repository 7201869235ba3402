//! Typed conversions between Rust values and Lua values ([`IntoLua`],
//! [`FromLua`], their multi-value forms) and Rust closures as Lua
//! functions; the crate documentation's "Typed conversions" section is
//! their user guide, with the table of conversions.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, Mutex};

use crate::error::{LuaError, LuaResult};
use crate::handle::Function;
use crate::heap::{NativeClosure, RustClosure};
use crate::native::{Args, NativeFunction, Step};
use crate::number;
use crate::state::{Vm, MAX_STACK};
use crate::table::Table;
use crate::value::{StrRef, TableRef, ThreadRef, UserDataRef, Value};

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Why a Lua value could not be converted to a Rust type.
///
/// It becomes a Lua error with [`ConvertError::into_arg_error`] (for a
/// native's argument) or [`ConvertError::into_lua_error`] (elsewhere).
#[derive(Clone, Debug)]
pub enum ConvertError {
    /// The value has the wrong type; `expected` names the wanted type as
    /// Lua messages do ("number", "string", "table").
    Type {
        /// The expected type's name.
        expected: Cow<'static, str>,
        /// The value that was found instead (a nested conversion reports
        /// the field it failed on, not the whole argument).
        got: Value,
    },
    /// The value has a suitable type but not a suitable value; the message
    /// is what Lua puts in parentheses ("number has no integer
    /// representation", "value out of range").
    Invalid(Cow<'static, str>),
    /// A Lua error raised while converting (by a metamethod, say); passed
    /// on unchanged.
    Lua(LuaError),
}

impl ConvertError {
    /// A type error: `expected` is the wanted type's name, `got` the
    /// value found instead.
    pub fn expected(expected: impl Into<Cow<'static, str>>, got: Value) -> Self {
        ConvertError::Type {
            expected: expected.into(),
            got,
        }
    }

    /// An invalid-value error with `msg`.
    pub fn invalid(msg: impl Into<Cow<'static, str>>) -> Self {
        ConvertError::Invalid(msg.into())
    }

    /// The error for a handle that names no object of the VM: one kept by
    /// Rust across the collection that freed it, made up, or another VM's.
    pub fn bad_handle(got: Value) -> Self {
        ConvertError::Invalid(
            format!(
                "bad handle: a {} handle that names no object of this VM",
                got.type_name()
            )
            .into(),
        )
    }

    /// `self` with `what` (a field, a result) in front of its message.
    pub(crate) fn within(self, what: &str) -> Self {
        match self {
            ConvertError::Lua(e) => ConvertError::Lua(e),
            e => ConvertError::Invalid(format!("{what}: {e}").into()),
        }
    }

    /// The Lua error for argument `i` (1-based) of the running native:
    /// `bad argument #i to 'name' (T expected, got U)` (`luaL_typeerror`,
    /// with "no value" for a missing argument) or `bad argument #i to
    /// 'name' (msg)` (`luaL_argerror`).
    pub fn into_arg_error(self, vm: &mut Vm, args: Args, i: usize) -> LuaError {
        match self {
            ConvertError::Type { expected, got } => vm.type_error_for(args, i, &expected, got),
            ConvertError::Invalid(msg) => vm.arg_error(i, &msg),
            ConvertError::Lua(e) => e,
        }
    }

    /// The Lua error for a failed conversion outside an argument list:
    /// "T expected, got U" or the message, positioned like `luaL_error`'s.
    pub fn into_lua_error(self, vm: &mut Vm) -> LuaError {
        match self {
            ConvertError::Type { expected, got } => {
                let got = vm.type_name_of(got);
                let e = vm.error(&format!("{expected} expected, got {got}"));
                vm.with_text(e)
            }
            ConvertError::Invalid(msg) => {
                let e = vm.error(&msg);
                vm.with_text(e)
            }
            ConvertError::Lua(e) => e,
        }
    }
}

impl From<LuaError> for ConvertError {
    fn from(e: LuaError) -> Self {
        ConvertError::Lua(e)
    }
}

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConvertError::Type { expected, got } => {
                write!(f, "{expected} expected, got {}", got.type_name())
            }
            ConvertError::Invalid(msg) => f.write_str(msg),
            ConvertError::Lua(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl std::error::Error for ConvertError {}

const NO_INTEGER: &str = "number has no integer representation";
const OUT_OF_RANGE: &str = "value out of range";

// ---------------------------------------------------------------------------
// The traits
// ---------------------------------------------------------------------------

/// A Rust value that can become a Lua value.
pub trait IntoLua {
    /// Converts `self`, allocating in `vm` if needed.
    ///
    /// # Errors
    /// A value Lua cannot represent (an integer beyond `i64`).
    fn into_lua(self, vm: &mut Vm) -> LuaResult<Value>;
}

/// A Rust value that can be read from a Lua value.
pub trait FromLua: Sized {
    /// Converts `value` following Lua's rules for the type.
    ///
    /// # Errors
    /// A [`ConvertError`] saying what was expected.
    fn from_lua(value: Value, vm: &mut Vm) -> Result<Self, ConvertError>;

    /// Converts argument `i` (1-based) of a native call; an absent argument
    /// reads as nil. Failures are Lua's bad-argument errors.
    ///
    /// # Errors
    /// `bad argument #i to 'name' (...)`.
    fn from_arg(vm: &mut Vm, args: Args, i: usize) -> LuaResult<Self> {
        let v = vm.arg(args, i);
        Self::from_lua(v, vm).map_err(|e| e.into_arg_error(vm, args, i))
    }
}

/// A native's whole argument list as a Rust value: `()` (no arguments
/// read), any [`FromLua`] type (argument 1), a tuple of up to 8 `FromLua`
/// types (arguments 1 to n), or [`Variadic`] (all arguments). Arguments
/// beyond those read are ignored, as in Lua.
pub trait FromLuaArgs: Sized {
    /// Reads the arguments.
    ///
    /// # Errors
    /// The bad-argument error of the first argument that does not convert.
    fn from_lua_args(vm: &mut Vm, args: Args) -> LuaResult<Self>;
}

/// A native's results as a Rust value: `()` (no results), any [`IntoLua`]
/// type (one result), a tuple of up to 8 `IntoLua` types, [`Variadic`], or
/// a `Result` whose `Err` is raised as a Lua error.
pub trait IntoLuaMulti {
    /// Pushes the results on the running thread's stack (above the native's
    /// arguments) and returns how many there are.
    ///
    /// # Errors
    /// A result that does not convert, or the `Err` of a `Result`.
    fn push_multi(self, vm: &mut Vm) -> LuaResult<usize>;

    /// Appends the values to `out` (the arguments of a call made from
    /// Rust, [`Function::call`](crate::Function::call), which keeps each
    /// alive while the next ones convert).
    ///
    /// # Errors
    /// A value that does not convert, or the `Err` of a `Result`.
    fn into_values(self, vm: &mut Vm, out: &mut Vec<Value>) -> LuaResult<()>;
}

/// A call's results as a Rust value: `()` (none read), any [`FromLua`]
/// type (the first result, nil if there is none), a tuple of up to 8
/// `FromLua` types (missing results read as nil), or [`Variadic`] (all
/// of them). Results beyond those read are dropped, as in Lua.
pub trait FromLuaMulti: Sized {
    /// Converts `values`.
    ///
    /// # Errors
    /// A [`ConvertError`] for the first value that does not convert.
    fn from_lua_multi(values: Vec<Value>, vm: &mut Vm) -> Result<Self, ConvertError>;
}

// ---------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------

/// `lua_tointegerx`: integers, floats with an exact integer value, and
/// strings convertible to one of those.
fn to_integer(v: Value, vm: &Vm) -> Result<i64, ConvertError> {
    owned(v, vm)?;
    vm.to_integer(v).map_err(|has_number| {
        if has_number {
            ConvertError::Invalid(NO_INTEGER.into())
        } else {
            ConvertError::expected("number", v)
        }
    })
}

/// `Ok` if `vm` owns `v` (the conversions that read a string check first:
/// `FromLua` is public, and may be given any value).
pub(crate) fn owned(v: Value, vm: &Vm) -> Result<(), ConvertError> {
    if vm.owns(v) {
        Ok(())
    } else {
        Err(ConvertError::bad_handle(v))
    }
}

/// `lua_tonumberx`: numbers and numeric strings, as a float.
fn to_float(v: Value, vm: &Vm) -> Result<f64, ConvertError> {
    owned(v, vm)?;
    match vm.to_number(v) {
        Some(Value::Int(i)) => Ok(i as f64),
        Some(Value::Num(f)) => Ok(f),
        _ => Err(ConvertError::expected("number", v)),
    }
}

/// Integer types: range-checked both ways ("value out of range" from Lua,
/// an error for a value beyond `i64` to Lua; both checks vanish for `i64`).
macro_rules! int_conversions {
    ($($t:ty),*) => {$(
        impl IntoLua for $t {
            fn into_lua(self, vm: &mut Vm) -> LuaResult<Value> {
                match i64::try_from(self) {
                    Ok(i) => Ok(Value::Int(i)),
                    Err(_) => Err(vm.error(&format!("{self} does not fit in a Lua integer"))),
                }
            }
        }

        impl FromLua for $t {
            fn from_lua(value: Value, vm: &mut Vm) -> Result<Self, ConvertError> {
                <$t>::try_from(to_integer(value, vm)?)
                    .map_err(|_| ConvertError::Invalid(OUT_OF_RANGE.into()))
            }
        }
    )*};
}

int_conversions!(i8, i16, i32, i64, u16, u32, isize, u64, usize);

impl IntoLua for f64 {
    fn into_lua(self, _vm: &mut Vm) -> LuaResult<Value> {
        Ok(Value::Num(self))
    }
}

impl FromLua for f64 {
    fn from_lua(value: Value, vm: &mut Vm) -> Result<Self, ConvertError> {
        to_float(value, vm)
    }
}

impl IntoLua for f32 {
    fn into_lua(self, _vm: &mut Vm) -> LuaResult<Value> {
        Ok(Value::Num(f64::from(self)))
    }
}

impl FromLua for f32 {
    /// Rounds to the nearest `f32` (beyond its range: infinity).
    fn from_lua(value: Value, vm: &mut Vm) -> Result<Self, ConvertError> {
        Ok(to_float(value, vm)? as f32)
    }
}

// ---------------------------------------------------------------------------
// Booleans, strings, nil
// ---------------------------------------------------------------------------

impl IntoLua for bool {
    fn into_lua(self, _vm: &mut Vm) -> LuaResult<Value> {
        Ok(Value::Bool(self))
    }
}

impl FromLua for bool {
    /// Lua truthiness (`lua_toboolean`): only nil and false are false.
    fn from_lua(value: Value, _vm: &mut Vm) -> Result<Self, ConvertError> {
        Ok(value.truthy())
    }
}

/// `lua_tolstring` without the metamethods: strings as they are, numbers
/// formatted as `tostring` does.
fn to_bytes(v: Value, vm: &Vm) -> Result<Vec<u8>, ConvertError> {
    owned(v, vm)?;
    let mut out = Vec::new();
    match v {
        Value::Str(s) => out.extend_from_slice(vm.heap.str_bytes(s)),
        Value::Int(i) => number::fmt_int(i, &mut out),
        Value::Num(f) => number::fmt_float(f, &mut out),
        _ => return Err(ConvertError::expected("string", v)),
    }
    Ok(out)
}

impl IntoLua for &str {
    fn into_lua(self, vm: &mut Vm) -> LuaResult<Value> {
        Ok(vm.new_str(self.as_bytes()))
    }
}

impl IntoLua for String {
    fn into_lua(self, vm: &mut Vm) -> LuaResult<Value> {
        Ok(vm.new_str(self.as_bytes()))
    }
}

impl FromLua for String {
    /// Strings must be valid UTF-8 (use `Vec<u8>` for arbitrary bytes).
    fn from_lua(value: Value, vm: &mut Vm) -> Result<Self, ConvertError> {
        String::from_utf8(to_bytes(value, vm)?)
            .map_err(|_| ConvertError::invalid("string is not valid UTF-8"))
    }
}

impl IntoLua for &[u8] {
    fn into_lua(self, vm: &mut Vm) -> LuaResult<Value> {
        Ok(vm.new_str(self))
    }
}

impl IntoLua for Vec<u8> {
    fn into_lua(self, vm: &mut Vm) -> LuaResult<Value> {
        Ok(vm.new_str(&self))
    }
}

impl FromLua for Vec<u8> {
    fn from_lua(value: Value, vm: &mut Vm) -> Result<Self, ConvertError> {
        to_bytes(value, vm)
    }
}

impl<T: IntoLua> IntoLua for Option<T> {
    fn into_lua(self, vm: &mut Vm) -> LuaResult<Value> {
        match self {
            Some(x) => x.into_lua(vm),
            None => Ok(Value::Nil),
        }
    }
}

impl<T: FromLua> FromLua for Option<T> {
    /// Nil (or an absent argument) is `None`; anything else must convert.
    fn from_lua(value: Value, vm: &mut Vm) -> Result<Self, ConvertError> {
        match value {
            Value::Nil => Ok(None),
            v => T::from_lua(v, vm).map(Some),
        }
    }
}

impl IntoLua for Value {
    fn into_lua(self, _vm: &mut Vm) -> LuaResult<Value> {
        Ok(self)
    }
}

impl FromLua for Value {
    /// Any value; an absent argument is nil.
    fn from_lua(value: Value, _vm: &mut Vm) -> Result<Self, ConvertError> {
        Ok(value)
    }
}

impl<T: IntoLua> IntoLua for Vec<T> {
    /// A new sequence table `{self[0], self[1], ...}` (a `None` element
    /// leaves a hole).
    fn into_lua(self, vm: &mut Vm) -> LuaResult<Value> {
        vm.reserve_memory(self.len().saturating_mul(std::mem::size_of::<Value>()))?;
        let t = vm.heap.new_table(Table::with_capacity(self.len(), 0));
        // The elements' conversions may run Lua, and collect.
        vm.with_scratch(|vm| {
            vm.keep(Value::Table(t));
            for (i, x) in (1..).zip(self) {
                let v = x.into_lua(vm)?;
                vm.check_owned("IntoLua for Vec", v)?;
                vm.heap.tables[t].set_int(i, v);
            }
            let grown = vm.heap.tables[t].take_growth();
            if vm.heap.table_grew(grown) && vm.heap.over_limit(0) {
                return Err(vm.memory_error());
            }
            Ok(Value::Table(t))
        })
    }
}

// ---------------------------------------------------------------------------
// Handles
// ---------------------------------------------------------------------------

/// `IntoLua` and `FromLua` for a handle type and its `Value` variant.
macro_rules! handle {
    ($($t:ty => $variant:ident, $name:literal;)*) => {$(
        impl IntoLua for $t {
            fn into_lua(self, _vm: &mut Vm) -> LuaResult<Value> {
                Ok(Value::$variant(self))
            }
        }

        impl FromLua for $t {
            fn from_lua(value: Value, _vm: &mut Vm) -> Result<Self, ConvertError> {
                match value {
                    Value::$variant(r) => Ok(r),
                    _ => Err(ConvertError::expected($name, value)),
                }
            }
        }
    )*};
}

handle! {
    TableRef => Table, "table";
    ThreadRef => Thread, "thread";
    UserDataRef => UserData, "userdata";
}

impl IntoLua for StrRef {
    fn into_lua(self, _vm: &mut Vm) -> LuaResult<Value> {
        Ok(Value::Str(self))
    }
}

impl FromLua for StrRef {
    /// A string, or a number converted to a new string (`lua_tolstring`).
    fn from_lua(value: Value, vm: &mut Vm) -> Result<Self, ConvertError> {
        match value {
            Value::Str(s) => Ok(s),
            Value::Int(_) | Value::Num(_) => {
                let bytes = to_bytes(value, vm)?;
                Ok(vm.heap.intern(&bytes))
            }
            _ => Err(ConvertError::expected("string", value)),
        }
    }
}

// ---------------------------------------------------------------------------
// Argument lists and results
// ---------------------------------------------------------------------------

/// Any number of values of one type: as [`FromLuaArgs`], all the
/// arguments (argument errors name each one's position); as
/// [`IntoLuaMulti`], that many results.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Variadic<T>(pub Vec<T>);

impl<T> std::ops::Deref for Variadic<T> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

impl<T> std::ops::DerefMut for Variadic<T> {
    fn deref_mut(&mut self) -> &mut Vec<T> {
        &mut self.0
    }
}

impl<T> From<Vec<T>> for Variadic<T> {
    fn from(v: Vec<T>) -> Self {
        Variadic(v)
    }
}

impl<T: FromLua> FromLuaArgs for Variadic<T> {
    fn from_lua_args(vm: &mut Vm, args: Args) -> LuaResult<Self> {
        (1..=args.len())
            .map(|i| T::from_arg(vm, args, i))
            .collect::<LuaResult<Vec<T>>>()
            .map(Variadic)
    }
}

impl<T: IntoLua> IntoLuaMulti for Variadic<T> {
    fn push_multi(self, vm: &mut Vm) -> LuaResult<usize> {
        let n = self.0.len();
        if vm.th.top.saturating_add(n) > MAX_STACK {
            return Err(vm.error("stack overflow (too many results)"));
        }
        for x in self.0 {
            let v = x.into_lua(vm)?;
            vm.push(v);
        }
        Ok(n)
    }

    fn into_values(self, vm: &mut Vm, out: &mut Vec<Value>) -> LuaResult<()> {
        for x in self.0 {
            let v = x.into_lua(vm)?;
            out.push(vm.keep(v));
        }
        Ok(())
    }
}

impl<T: FromLua> FromLuaMulti for Variadic<T> {
    fn from_lua_multi(values: Vec<Value>, vm: &mut Vm) -> Result<Self, ConvertError> {
        vm.with_scratch(|vm| {
            values.iter().for_each(|&v| {
                vm.keep(v);
            });
            (1..)
                .zip(values)
                .map(|(i, v)| from_result(v, i, vm))
                .collect::<Result<Vec<T>, _>>()
                .map(Variadic)
        })
    }
}

/// Result `i` (1-based) of a call, converted.
fn from_result<T: FromLua>(v: Value, i: usize, vm: &mut Vm) -> Result<T, ConvertError> {
    owned(v, vm)?;
    T::from_lua(v, vm).map_err(|e| e.within(&format!("result #{i}")))
}

impl FromLuaArgs for () {
    fn from_lua_args(_vm: &mut Vm, _args: Args) -> LuaResult<Self> {
        Ok(())
    }
}

impl<T: FromLua> FromLuaArgs for T {
    fn from_lua_args(vm: &mut Vm, args: Args) -> LuaResult<Self> {
        T::from_arg(vm, args, 1)
    }
}

impl FromLuaMulti for () {
    fn from_lua_multi(_values: Vec<Value>, _vm: &mut Vm) -> Result<Self, ConvertError> {
        Ok(())
    }
}

impl<T: FromLua> FromLuaMulti for T {
    fn from_lua_multi(values: Vec<Value>, vm: &mut Vm) -> Result<Self, ConvertError> {
        let v = values.first().copied().unwrap_or_default();
        vm.with_scratch(|vm| {
            vm.keep(v);
            owned(v, vm)?;
            T::from_lua(v, vm)
        })
    }
}

impl IntoLuaMulti for () {
    fn push_multi(self, _vm: &mut Vm) -> LuaResult<usize> {
        Ok(0)
    }

    fn into_values(self, _vm: &mut Vm, _out: &mut Vec<Value>) -> LuaResult<()> {
        Ok(())
    }
}

impl<T: IntoLua> IntoLuaMulti for T {
    fn push_multi(self, vm: &mut Vm) -> LuaResult<usize> {
        let v = self.into_lua(vm)?;
        vm.push(v);
        Ok(1)
    }

    fn into_values(self, vm: &mut Vm, out: &mut Vec<Value>) -> LuaResult<()> {
        let v = self.into_lua(vm)?;
        out.push(vm.keep(v));
        Ok(())
    }
}

impl<T: IntoLuaMulti, E: fmt::Display + 'static> IntoLuaMulti for Result<T, E> {
    /// `Ok` pushes its results; `Err` is raised: a [`LuaError`] as it is,
    /// anything else as its `Display` text positioned like `luaL_error`'s
    /// ("chunk:line: message" when called from Lua code).
    fn push_multi(self, vm: &mut Vm) -> LuaResult<usize> {
        match self {
            Ok(x) => x.push_multi(vm),
            Err(e) => Err(raised(vm, e)),
        }
    }

    fn into_values(self, vm: &mut Vm, out: &mut Vec<Value>) -> LuaResult<()> {
        match self {
            Ok(x) => x.into_values(vm, out),
            Err(e) => Err(raised(vm, e)),
        }
    }
}

/// The `Err` of a Rust function's result as a Lua error.
fn raised<E: fmt::Display + 'static>(vm: &mut Vm, e: E) -> LuaError {
    let any: &dyn Any = &e;
    match any.downcast_ref::<LuaError>() {
        Some(le) => le.clone(),
        None => vm.error(&e.to_string()),
    }
}

/// `FromLuaArgs` and `IntoLuaMulti` for tuples: `(Type field_index
/// argument_number)` per element.
macro_rules! tuples {
    ($( ($($t:ident $f:tt $arg:literal),+) )*) => {$(
        impl<$($t: FromLua),+> FromLuaArgs for ($($t,)+) {
            fn from_lua_args(vm: &mut Vm, args: Args) -> LuaResult<Self> {
                Ok(($($t::from_arg(vm, args, $arg)?,)+))
            }
        }

        impl<$($t: FromLua),+> FromLuaMulti for ($($t,)+) {
            fn from_lua_multi(values: Vec<Value>, vm: &mut Vm) -> Result<Self, ConvertError> {
                // Each conversion may run Lua, and collect the others.
                vm.with_scratch(|vm| {
                    values.iter().for_each(|&v| {
                vm.keep(v);
            });
                    Ok(($(from_result::<$t>(
                        values.get($f).copied().unwrap_or_default(), $arg, vm)?,)+))
                })
            }
        }

        impl<$($t: IntoLua),+> IntoLuaMulti for ($($t,)+) {
            fn push_multi(self, vm: &mut Vm) -> LuaResult<usize> {
                let mut n = 0;
                $(
                    let v = self.$f.into_lua(vm)?;
                    vm.push(v);
                    n += 1;
                )+
                Ok(n)
            }

            fn into_values(self, vm: &mut Vm, out: &mut Vec<Value>) -> LuaResult<()> {
                $(
                    let v = self.$f.into_lua(vm)?;
                    out.push(vm.keep(v));
                )+
                Ok(())
            }
        }
    )*};
}

tuples! {
    (A 0 1)
    (A 0 1, B 1 2)
    (A 0 1, B 1 2, C 2 3)
    (A 0 1, B 1 2, C 2 3, D 3 4)
    (A 0 1, B 1 2, C 2 3, D 3 4, E 4 5)
    (A 0 1, B 1 2, C 2 3, D 3 4, E 4 5, F 5 6)
    (A 0 1, B 1 2, C 2 3, D 3 4, E 4 5, F 5 6, G 6 7)
    (A 0 1, B 1 2, C 2 3, D 3 4, E 4 5, F 5 6, G 6 7, H 7 8)
}

// ---------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------

/// The `NativeFunction` a Rust closure's `NativeClosure` points at. The
/// interpreter runs the closure instead (`NativeClosure::closure`), so this
/// body is never reached through a call.
static RUST_CLOSURE: NativeFunction = NativeFunction::new("?", rust_closure_body_missing);

fn rust_closure_body_missing(vm: &mut Vm, _args: Args) -> LuaResult<Step> {
    Err(vm.error("Rust closure called without its body"))
}

impl Vm {
    /// Converts a Rust value to a Lua value.
    ///
    /// # Errors
    /// A value Lua cannot represent (an integer beyond `i64`); "bad
    /// handle" for a handle that names no object of this VM.
    pub fn to_value<T: IntoLua>(&mut self, x: T) -> LuaResult<Value> {
        let v = x.into_lua(self).map_err(|e| self.with_text(e))?;
        // A handle converted as itself (`Value`, `Option<Value>`, `StrRef`).
        self.check_owned("Vm::to_value", v)?;
        Ok(v)
    }

    /// Converts a Lua value to a Rust value.
    ///
    /// # Errors
    /// "T expected, got U" or the conversion's message (positioned like
    /// `luaL_error`'s when a native is running).
    pub fn from_value<T: FromLua>(&mut self, v: Value) -> LuaResult<T> {
        self.check_owned("Vm::from_value", v)?;
        // The conversion may run Lua (a field read through `__index`).
        self.with_scratch(|vm| {
            vm.keep(v);
            T::from_lua(v, vm).map_err(|e| e.into_lua_error(vm))
        })
    }

    /// Creates a Lua function running a Rust closure with the raw native
    /// ABI (arguments in [`Args`], results pushed, a [`Step`] returned).
    /// `name` identifies it. Not persistable.
    pub fn create_raw_function<F>(&mut self, name: &'static str, f: F) -> Function
    where
        F: Fn(&mut Vm, Args) -> LuaResult<Step> + Send + Sync + 'static,
    {
        let closure = Arc::new(RustClosure {
            name,
            func: Box::new(f),
        });
        let f = Value::Native(self.heap.new_native(NativeClosure {
            func: &RUST_CLOSURE,
            upvals: Vec::new(),
            closure: Some(closure),
        }));
        self.hold_function(f)
    }

    /// Creates a Lua function running `f`: its arguments are converted to
    /// `A` ([`FromLuaArgs`], with Lua's bad-argument errors naming the
    /// function as called, else by its global name) and its result `R` becomes the
    /// function's results ([`IntoLuaMulti`]; an `Err` is a Lua error).
    ///
    /// `f` may capture state (counters, handles): such a function is not
    /// persistable (a snapshot cannot save Rust state), unlike a
    /// [`NativeFunction`].
    /// It may be called again while it runs (it calls Lua, which calls
    /// it); a closure that needs `&mut` state is [`Vm::create_function_mut`].
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// use vm_core::{Value, Vm};
    ///
    /// let mut vm = Vm::new();
    /// let calls = Arc::new(AtomicUsize::new(0));
    /// let c = Arc::clone(&calls);
    /// let f = vm.create_function("tick", move |_, step: Option<usize>| {
    ///     c.fetch_add(step.unwrap_or(1), Ordering::Relaxed) + step.unwrap_or(1)
    /// });
    /// vm.set_global("tick", f).unwrap();
    /// vm.exec(b"tick() tick(5)", "=doc").unwrap();
    /// assert_eq!(calls.load(Ordering::Relaxed), 6);
    /// ```
    pub fn create_function<A, R, F>(&mut self, name: &'static str, f: F) -> Function
    where
        A: FromLuaArgs,
        R: IntoLuaMulti,
        F: Fn(&mut Vm, A) -> R + Send + Sync + 'static,
    {
        self.create_raw_function(name, move |vm: &mut Vm, args: Args| {
            let a = A::from_lua_args(vm, args)?;
            f(vm, a).push_multi(vm).map(Step::Return)
        })
    }

    /// [`Vm::create_function`] for a closure that changes its own state
    /// (`FnMut`) and need not be `Sync`. A call that reaches the function
    /// again while it runs (through Lua code it calls) is the error
    /// "Rust function 'name' called while it is running".
    ///
    /// ```
    /// use vm_core::Vm;
    ///
    /// let mut vm = Vm::new();
    /// let mut seen = Vec::new();
    /// let log = vm.create_function_mut("log", move |_, line: String| {
    ///     seen.push(line);
    ///     seen.len()
    /// });
    /// vm.set_global("log", log).unwrap();
    /// let n: i64 = vm.eval(b"log('a') return log('b')", "=doc").unwrap();
    /// assert_eq!(n, 2);
    /// ```
    pub fn create_function_mut<A, R, F>(&mut self, name: &'static str, f: F) -> Function
    where
        A: FromLuaArgs,
        R: IntoLuaMulti,
        F: FnMut(&mut Vm, A) -> R + Send + 'static,
    {
        let f = Mutex::new(f);
        self.create_raw_function(name, move |vm: &mut Vm, args: Args| {
            let a = A::from_lua_args(vm, args)?;
            let mut f = match f.try_lock() {
                Ok(f) => f,
                // A panic in an earlier call was caught and reported; the
                // state it left is the closure's own business.
                Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => {
                    return Err(vm.error(&format!(
                        "Rust function '{name}' called while it is running"
                    )))
                }
            };
            f(vm, a).push_multi(vm).map(Step::Return)
        })
    }

    /// As [`Vm::create_function`], for a closure that does not need the VM:
    /// `vm.create_plain_function("add", |(a, b): (i64, i64)| a + b)`.
    pub fn create_plain_function<A, R, F>(&mut self, name: &'static str, f: F) -> Function
    where
        A: FromLuaArgs,
        R: IntoLuaMulti,
        F: Fn(A) -> R + Send + Sync + 'static,
    {
        self.create_function(name, move |_: &mut Vm, a: A| f(a))
    }

    /// [`Vm::create_function`], stored in global `name`.
    ///
    /// # Errors
    /// "not enough memory" if the globals table cannot grow.
    pub fn set_global_function<A, R, F>(&mut self, name: &'static str, f: F) -> LuaResult<()>
    where
        A: FromLuaArgs,
        R: IntoLuaMulti,
        F: Fn(&mut Vm, A) -> R + Send + Sync + 'static,
    {
        let f = self.create_function(name, f);
        self.set_global(name, f)
    }
}
