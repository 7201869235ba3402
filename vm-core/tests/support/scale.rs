//! The size of property and fuzz tests (`#[path = "support/scale.rs"] mod
//! scale;`): `cargo test` runs them small, `cargo xtask fuzz` large.

/// Number of cases: `base` times `VM_TEST_SCALE` (default 1).
pub(crate) fn cases(base: u32) -> u32 {
    let scale: u32 = std::env::var("VM_TEST_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    base * scale
}
