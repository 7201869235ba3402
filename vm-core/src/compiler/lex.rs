//! Lexer (`llex.c`). STUB: being written.
