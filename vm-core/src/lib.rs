//! vm-core: Lua 5.4 values, heap and collector, compiler and the stackless
//! interpreter.
//!
//! This crate starts no threads and touches no file system or clock: the
//! standard library (`vm-stdlib`) and the drivers (`vm-sched`, `vm-thread`,
//! `vm-cli`) add those on top of its public API.

pub mod compiler;
pub mod func;
pub mod number;
pub mod opcodes;
pub mod table;
pub mod value;

pub use value::Value;
