//! Code generator (`lcode.c`). STUB: being written.
#![allow(unused_variables)]
use std::sync::Arc;

use super::{ast, Interner, SyntaxError};
use crate::func::Proto;

pub(crate) fn generate(
    chunk: &ast::Chunk,
    source: Arc<str>,
    chunkname: &str,
    interner: &mut dyn Interner,
) -> Result<Proto, SyntaxError> {
    Err(SyntaxError(format!(
        "{chunkname}: code generator not written yet"
    )))
}
