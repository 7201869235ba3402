//! Float helpers for the interpreter's arithmetic fast paths.

/// `a ^ b` as Lua computes it (C's `pow`; squaring is exact).
#[inline]
pub(crate) fn pow(a: f64, b: f64) -> f64 {
    if b == 2.0 {
        a * a
    } else {
        a.powf(b)
    }
}
