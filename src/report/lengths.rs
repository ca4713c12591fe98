//! Token lengths of a split: rows per length, and the statistics the card prints of them.

use std::collections::BTreeMap;

/// The lengths at which the card and the histograms report the share of rows a model would truncate.
pub const CUTS: [u64; 4] = [64, 128, 256, 512];

/// Rows per token length ([CLS] and [SEP] included, padding not).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenLengths {
    rows_per_length: BTreeMap<u64, u64>,
}

impl TokenLengths {
    pub fn new(rows_per_length: BTreeMap<u64, u64>) -> Self {
        let rows_per_length = rows_per_length.into_iter().filter(|(_, rows)| *rows > 0).collect();
        Self { rows_per_length }
    }

    pub fn rows_per_length(&self) -> &BTreeMap<u64, u64> {
        &self.rows_per_length
    }

    pub fn rows(&self) -> u64 {
        self.rows_per_length.values().sum()
    }

    pub fn min(&self) -> Option<u64> {
        self.rows_per_length.keys().next().copied()
    }

    pub fn max(&self) -> Option<u64> {
        self.rows_per_length.keys().next_back().copied()
    }

    pub fn mean(&self) -> Option<f64> {
        let rows = self.rows();
        let total: u64 = self.rows_per_length.iter().map(|(length, rows)| length * rows).sum();
        (rows > 0).then(|| total as f64 / rows as f64)
    }

    /// The `percent`th percentile by nearest rank: the least length that at least `percent`% of the rows do
    /// not exceed.
    pub fn percentile(&self, percent: u64) -> Option<u64> {
        let rows = self.rows();
        if rows == 0 {
            return None;
        }
        // ceil(percent / 100 * rows), at least the first row.
        let rank = (percent * rows).div_ceil(100).max(1);
        let mut seen = 0;
        self.rows_per_length.iter().find_map(|(length, count)| {
            seen += count;
            (seen >= rank).then_some(*length)
        })
    }

    /// Rows longer than `length` tokens: those a model reading `length` tokens would truncate.
    pub fn rows_longer_than(&self, length: u64) -> u64 {
        self.rows_per_length.range(length + 1..).map(|(_, rows)| rows).sum()
    }

    /// Rows per bin of `width` lengths: bin `i` holds the lengths `i*width .. (i+1)*width`.
    pub fn bins(&self, width: u64) -> BTreeMap<u64, u64> {
        let mut bins = BTreeMap::new();
        for (length, rows) in &self.rows_per_length {
            *bins.entry(length / width).or_default() += rows;
        }
        bins
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lengths(pairs: &[(u64, u64)]) -> TokenLengths {
        TokenLengths::new(pairs.iter().copied().collect())
    }

    #[test]
    fn statistics_by_hand() {
        // Ten rows: 5, 5, 7, 7, 7, 9, 20, 20, 64, 65.
        let lengths = lengths(&[(5, 2), (7, 3), (9, 1), (20, 2), (64, 1), (65, 1)]);
        assert_eq!(lengths.rows(), 10);
        assert_eq!((lengths.min(), lengths.max()), (Some(5), Some(65)));
        assert_eq!(lengths.mean(), Some(209.0 / 10.0));
        assert_eq!(lengths.percentile(50), Some(7));
        assert_eq!(lengths.percentile(60), Some(9));
        assert_eq!(lengths.percentile(90), Some(64));
        assert_eq!(lengths.percentile(95), Some(65));
        assert_eq!(lengths.percentile(0), Some(5));
        assert_eq!(lengths.percentile(100), Some(65));
        assert_eq!(lengths.rows_longer_than(64), 1);
        assert_eq!(lengths.rows_longer_than(63), 2);
        assert_eq!(lengths.rows_longer_than(65), 0);
        assert_eq!(lengths.bins(10), [(0, 6), (2, 2), (6, 2)].into_iter().collect());
    }

    #[test]
    fn no_rows_no_statistics() {
        let lengths = lengths(&[(3, 0)]);
        assert_eq!((lengths.rows(), lengths.min(), lengths.mean(), lengths.percentile(50)), (0, None, None, None));
        assert_eq!(lengths.rows_longer_than(0), 0);
    }
}
