//! Errors raised by Lua code or the runtime, as they travel through Rust.
//!
//! A Lua error is any value (`error({code = 1})` is legal). While it travels
//! from where it was raised to the protected call that catches it, it lives
//! in a `LuaError`. The collector only runs at interpreter safe points, and
//! every error is either put back on a Lua stack before Lua code runs again
//! or handed to the embedder, so the value never dangles inside the VM.

use std::fmt;

use crate::value::Value;

/// An error raised by Lua code, a native function or the runtime.
///
/// Boxed, so that a `LuaResult` is hardly bigger than its success value:
/// results of the interpreter's hot paths (`LuaResult<()>`,
/// `LuaResult<bool>`) travel in registers, and errors are rare.
#[derive(Clone, Debug)]
pub struct LuaError(pub(crate) Box<ErrorData>);

#[derive(Clone, Debug)]
pub(crate) struct ErrorData {
    /// The error object (usually a string with a `chunk:line:` prefix).
    pub(crate) value: Value,
    /// Set once the message handler of the innermost `xpcall` has been
    /// applied, so outer levels do not apply it again.
    pub(crate) handled: bool,
    /// A rendering of the error made when it escaped to the embedder.
    pub(crate) message: Option<String>,
}

impl LuaError {
    /// Wraps an error value.
    pub fn new(value: Value) -> Self {
        LuaError(Box::new(ErrorData {
            value,
            handled: false,
            message: None,
        }))
    }

    /// An error value that a message handler already processed.
    pub(crate) fn handled(value: Value) -> Self {
        let mut e = LuaError::new(value);
        e.0.handled = true;
        e
    }

    /// The error object (usually a string with a `chunk:line:` prefix), a
    /// raw value: valid until the next collection ([`LuaError::message`]
    /// keeps the text of an error that reached the embedder).
    pub fn value(&self) -> Value {
        self.0.value
    }

    /// The error rendered as text, when it was made by `Vm` for the embedder.
    pub fn message(&self) -> Option<&str> {
        self.0.message.as_deref()
    }
}

impl fmt::Display for LuaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.message {
            Some(m) => f.write_str(m),
            None => write!(f, "(error object is a {} value)", self.0.value.type_name()),
        }
    }
}

impl std::error::Error for LuaError {}

/// Result of operations that can raise a Lua error.
pub type LuaResult<T> = Result<T, LuaError>;
