//! The size of property and fuzz tests (`support::scale`): `cargo test`
//! runs them small, `cargo xtask fuzz` large.

/// `VM_TEST_SCALE` (default 1).
pub(crate) fn scale() -> u32 {
    std::env::var("VM_TEST_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

/// Number of cases: `base` times [`scale`].
pub(crate) fn cases(base: u32) -> u32 {
    base.saturating_mul(scale())
}
