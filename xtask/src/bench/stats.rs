//! Summary statistics for benchmark samples.

/// The median of `values`: the middle value, or the mean of the two middle ones.
/// `None` when `values` is empty or holds a NaN.
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    if values.iter().any(|v| v.is_nan()) {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[mid]),
        _ => Some((sorted[mid - 1] + sorted[mid]) / 2.0),
    }
}

/// The geometric mean of `values`, computed through logarithms so that long products
/// cannot overflow. `None` when `values` is empty or holds a value that is not a positive
/// finite number (a ratio of zero or infinity has no meaningful mean).
pub(crate) fn geometric_mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() || values.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
        return None;
    }
    let mean_log = values.iter().map(|v| v.ln()).sum::<f64>() / values.len() as f64;
    Some(mean_log.exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[7.5]), Some(7.5));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[1.0, f64::NAN]), None);
    }

    #[test]
    fn median_ignores_outliers() {
        assert_eq!(median(&[1.0, 1.1, 0.9, 50.0, 1.05]), Some(1.05));
    }

    #[test]
    fn geometric_mean_of_ratios() {
        assert!(close(geometric_mean(&[2.0, 8.0]).unwrap(), 4.0));
        assert!(close(geometric_mean(&[0.5, 2.0]).unwrap(), 1.0));
        assert!(close(geometric_mean(&[1.5]).unwrap(), 1.5));
        assert!(close(geometric_mean(&[1e300; 10]).unwrap(), 1e300));
    }

    #[test]
    fn geometric_mean_rejects_meaningless_input() {
        assert_eq!(geometric_mean(&[]), None);
        assert_eq!(geometric_mean(&[1.0, 0.0]), None);
        assert_eq!(geometric_mean(&[1.0, -2.0]), None);
        assert_eq!(geometric_mean(&[f64::INFINITY]), None);
        assert_eq!(geometric_mean(&[f64::NAN]), None);
    }
}
