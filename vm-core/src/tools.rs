//! Tools over compiled code, for testing and inspecting the compiler
//! rather than for embedding: the parser and code generator on their own
//! ([`parse`], [`generate`], [`compile`]), the prototypes they make
//! ([`Proto`], with its instructions [`Op`]), and `luac -l` listings
//! ([`Vm::listing`](crate::Vm::listing) gives one for a loaded function).
//!
//! These types follow the compiler: they may change between versions in
//! ways the embedding API does not.

pub use crate::compiler::ast;
pub use crate::compiler::{compile, generate, parse, Interner, SyntaxError, MAX_SYNTAX_DEPTH};
pub use crate::func::{FieldCache, LocVar, Proto, UpvalDesc};
pub use crate::opcodes::Op;
