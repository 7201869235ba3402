//! Parser (`lparser.c`). STUB: being written.
#![allow(unused_variables)]
use super::{ast, SyntaxError};

pub(crate) fn parse_chunk(source: &[u8], chunkname: &str) -> Result<ast::Chunk, SyntaxError> {
    Err(SyntaxError(format!("{chunkname}: parser not written yet")))
}
