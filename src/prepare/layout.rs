//! How the token columns are written: their padding (`--padding`) and names (`--column-names`).

/// `--padding`: the length the ids of a split are padded to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Padding {
    /// Each split to its own longest row, or every row to `--max-length`.
    #[default]
    Split,
    /// Every split to the same length: `--max-length`, or the longest row of all splits.
    MaxLength,
    /// No padding: each row's own ids (truncated to `--max-length` if given), for padding at batch time; no
    /// mask column (it would be all ones).
    None,
}

impl Padding {
    pub fn name(self) -> &'static str {
        match self {
            Self::Split => "split",
            Self::MaxLength => "max-length",
            Self::None => "none",
        }
    }

    /// The padded length of each split, from each split's longest row: `None` for no padding.
    pub fn lengths(self, max_length: Option<usize>, longest: &[i64]) -> Vec<Option<i64>> {
        let max_length = max_length.map(|length| length as i64);
        let overall = longest.iter().copied().max().unwrap_or(0);
        longest
            .iter()
            .map(|&longest| match self {
                Self::Split => Some(max_length.unwrap_or(longest)),
                Self::MaxLength => Some(max_length.unwrap_or(overall)),
                Self::None => None,
            })
            .collect()
    }
}

/// `--column-names`: what the token and target columns are called.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColumnNames {
    /// `ids`, `masks`, `targets`: the course's.
    #[default]
    Course,
    /// `input_ids`, `attention_mask`, `labels`: what `transformers` models and `DataCollatorWithPadding` take.
    Hf,
}

impl ColumnNames {
    pub fn name(self) -> &'static str {
        match self {
            Self::Course => "course",
            Self::Hf => "hf",
        }
    }

    /// The names of the ids, mask and target columns.
    pub fn columns(self) -> [&'static str; 3] {
        match self {
            Self::Course => ["ids", "masks", "targets"],
            Self::Hf => ["input_ids", "attention_mask", "labels"],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_lengths_follow_the_mode() {
        let longest = [40, 36];
        assert_eq!(Padding::Split.lengths(None, &longest), [Some(40), Some(36)]);
        assert_eq!(Padding::Split.lengths(Some(16), &longest), [Some(16), Some(16)]);
        assert_eq!(Padding::MaxLength.lengths(None, &longest), [Some(40), Some(40)]);
        assert_eq!(Padding::MaxLength.lengths(Some(64), &longest), [Some(64), Some(64)]);
        assert_eq!(Padding::None.lengths(Some(64), &longest), [None, None]);
    }
}
