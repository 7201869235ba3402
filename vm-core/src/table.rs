//! Tables (`ltable.c`). TEMPORARY compile stub; the real one lands from the `table` branch.
#![allow(missing_docs, unused_variables, clippy::new_without_default)]
use crate::value::{StrRef, TableRef, Value};

#[derive(Default, Debug)]
pub struct Table {
    pub metatable: Option<TableRef>,
    pub flags: u8,
}
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableError {
    NilKey,
    NaNKey,
    InvalidNextKey,
}
impl TableError {
    pub fn message(self) -> &'static str {
        match self {
            TableError::NilKey => "index is nil",
            TableError::NaNKey => "index is NaN",
            TableError::InvalidNextKey => "invalid key to 'next'",
        }
    }
}
impl Table {
    pub fn new() -> Self {
        Table::default()
    }
    pub fn with_capacity(narray: usize, nhash: usize) -> Self {
        Table::default()
    }
    pub fn get(&self, key: Value) -> Value {
        unimplemented!()
    }
    pub fn get_int(&self, key: i64) -> Value {
        unimplemented!()
    }
    pub fn get_str(&self, key: StrRef) -> Value {
        unimplemented!()
    }
    pub fn set(&mut self, key: Value, value: Value) -> Result<(), TableError> {
        unimplemented!()
    }
    pub fn set_int(&mut self, key: i64, value: Value) {
        unimplemented!()
    }
    pub fn set_str(&mut self, key: StrRef, value: Value) {
        unimplemented!()
    }
    pub fn len(&self) -> i64 {
        unimplemented!()
    }
    pub fn is_empty(&self) -> bool {
        unimplemented!()
    }
    pub fn next(&self, key: Value) -> Result<Option<(Value, Value)>, TableError> {
        unimplemented!()
    }
    pub fn iter(&self) -> impl Iterator<Item = (Value, Value)> + '_ {
        std::iter::empty()
    }
    pub fn clear_where(&mut self, dead: impl FnMut(Value, Value) -> bool) -> usize {
        unimplemented!()
    }
    pub fn approx_bytes(&self) -> usize {
        64
    }
}
