//! vm-core: Lua 5.4 values, heap and collector, compiler and the stackless
//! interpreter.
//!
//! This crate starts no threads and touches no file system or clock: the
//! standard library (`vm-stdlib`) and the drivers (`vm-sched`, `vm-thread`,
//! `vm-cli`) add those on top of its public API.
//!
//! The public API, by concern:
//! - [`Vm`]: one Lua state. [`Vm::load`] compiles a chunk, [`Vm::call`]
//!   runs a function, [`Vm::exec`] does both; globals, tables, strings and
//!   rooting ([`Vm::root`]) are in [`api`].
//! - [`Value`]: a 16-byte `Copy` value; heap objects are handles into the
//!   arenas of [`heap::Heap`].
//! - Natives: a [`NativeFunction`] receives [`Args`] and answers with a
//!   [`Step`]; calls it requests run on the interpreter's own loop and come
//!   back to a named [`Continuation`]. Rust closures with typed arguments
//!   and results ([`Vm::create_function`]) are in [`convert`].
//! - Errors: [`LuaError`] carries any Lua value; [`Vm::error_to_string`]
//!   renders it as the `lua` command does.
//! - Tools: [`compiler`] (source to [`func::Proto`]), [`listing`]
//!   (`luac -l`), [`debug`] (chunk names, tracebacks).
//!
//! ```
//! use vm_core::{Vm, Value};
//!
//! let mut vm = Vm::new();
//! let results = vm.exec(b"local x = 6 return x * 7", "=example").unwrap();
//! assert!(matches!(results[0], Value::Int(42)));
//! ```

pub mod api;
mod call;
pub mod compiler;
pub mod convert;
pub mod debug;
pub mod error;
pub mod func;
mod gc;
pub mod heap;
pub mod listing;
pub mod meta;
pub mod native;
pub mod number;
pub mod opcodes;
mod raw;
mod resume;
pub mod state;
pub mod table;
pub mod value;
mod vm;

pub use api::RootId;
pub use convert::{ConvertError, FromLua, FromLuaArgs, Function, IntoLua, IntoLuaMulti, Variadic};
pub use error::{LuaError, LuaResult};
pub use native::{Args, Continuation, Job, JobResult, JobValue, NativeFunction, Status, Step};
pub use resume::Outcome;
pub use state::ThreadStatus;
pub use state::Vm;
pub use value::Value;
