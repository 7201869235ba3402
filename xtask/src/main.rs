//! Developer automation: `cargo xtask ci | bench`.

fn main() {}
