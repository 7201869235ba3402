//! vm-core: Lua 5.4 values, heap and collector, compiler and the stackless
//! interpreter.
//!
//! This crate starts no threads and touches no file system or clock: the
//! standard library (`vm-stdlib`) and the drivers (`vm-sched`, `vm-thread`,
//! `vm-cli`) add those on top of its public API.
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
pub mod state;
pub mod table;
pub mod value;
mod vm;

pub use api::RootId;
pub use error::{LuaError, LuaResult};
pub use native::{Args, Continuation, NativeFunction, Status, Step};
pub use state::Vm;
pub use value::Value;
