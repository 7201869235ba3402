//! Function prototypes and closures (`lfunc.c`, `lobject.h`'s `Proto`).
//!
//! A `Proto` is immutable once compiled and shared through `Arc` by every
//! closure made from it (and by its parent prototype).

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

/// A compiled function.
///
/// Invariant: `lines.len() == code.len()`; every register operand is below
/// `max_stack`; `consts` holds only nil, booleans, numbers and strings.
#[derive(Clone, Debug, Default)]
pub struct Proto {
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
    /// Constants referenced by `K[...]` operands.
    pub consts: Vec<Value>,
    /// Nested function prototypes referenced by `CLOSURE`.
    pub protos: Vec<Arc<Proto>>,
    /// Upvalue descriptions.
    pub upvalues: Vec<UpvalDesc>,
    /// Local variable debug information, in order of declaration.
    pub locvars: Vec<LocVar>,
}

/// A Lua closure: a prototype plus its upvalue cells.
#[derive(Debug)]
pub struct LuaClosure {
    /// The function's code.
    pub proto: Arc<Proto>,
    /// One cell per entry of `proto.upvalues`. Frames record the address
    /// of this slice (`raw::upvals_addr`): rebind a cell in place, never
    /// replace the slice.
    pub upvals: Box<[UpvalRef]>,
}
