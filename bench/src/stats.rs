//! Minimum and median of repeated measurements.

use serde::Serialize;

/// Repeated measurements of one quantity, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub runs: Vec<f64>,
    pub min: f64,
    pub median: f64,
}

impl Summary {
    /// Summarises at least one run; the median of an even count is the
    /// mean of the two middle runs.
    pub fn of(runs: &[f64]) -> Option<Self> {
        let mut sorted = runs.to_vec();
        sorted.sort_by(f64::total_cmp);
        let middle = sorted.len() / 2;
        let median = match sorted.len() {
            0 => return None,
            len if len % 2 == 1 => sorted[middle],
            _ => (sorted[middle - 1] + sorted[middle]) / 2.0,
        };
        Some(Self {
            runs: runs.to_vec(),
            min: sorted[0],
            median,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_and_median_of_odd_and_even_counts() {
        let odd = Summary::of(&[9.0, 3.0, 5.0]).unwrap();
        assert_eq!((odd.min, odd.median), (3.0, 5.0));
        assert_eq!(odd.runs, [9.0, 3.0, 5.0], "runs keep their order");
        let even = Summary::of(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!((even.min, even.median), (1.0, 2.5));
        assert_eq!(Summary::of(&[]), None);
    }
}
