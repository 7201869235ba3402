//! The `vm` command: a `lua`-compatible front end.

fn main() {}
