//! How each class's rows are divided, in shuffle order: the held-out splits first (each takes the ceiling of its
//! share of the class), then the training split, which takes the rest, whole or in folds of sizes that differ by
//! at most one. `sql/04_split.sql` computes the same sizes; [`SplitPlan::segment_sizes`] is the definition the
//! split is checked against.

use crate::error::{Error, Result};
use crate::sql::literals::quote_literal_body;

use super::options::defaults;

/// A held-out split: its name and its share of every class.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldOut {
    pub name: String,
    pub share: f64,
}

/// The splits of a run, and the folds of its training split.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitPlan {
    /// The training split: it takes the rows the held-out splits leave.
    pub train: String,
    /// The held-out splits, in the order they take rows from the start of each class's shuffle order.
    pub held_out: Vec<HeldOut>,
    /// Folds of the training split; 1 is no folds.
    pub folds: u32,
}

/// At most this many folds.
pub const MAX_FOLDS: u32 = 1000;

/// One part of a class's shuffle order: a held-out split, the training split, or a fold of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub split: String,
    pub fold: Option<u32>,
    /// `Some(share)` for a held-out split; `None` for training (the rest).
    pub share: Option<f64>,
}

impl Default for SplitPlan {
    fn default() -> Self {
        Self::two_way(defaults::TEST_SIZE)
    }
}

impl SplitPlan {
    /// The plan of the flags `--test-size`, `--splits` and `--folds` (one of the first two at most). Without
    /// either, the course's `--test-size 0.2`, or with `--folds` every row in training's folds.
    pub fn from_flags(test_size: Option<f64>, splits: Option<&str>, folds: Option<u32>) -> Result<Self> {
        let plan = match (test_size, splits) {
            (Some(_), Some(_)) => {
                return Err(Error::Configuration(
                    "give --test-size (train and val) or --splits (named splits), not both".into(),
                ));
            }
            (Some(test_size), None) => Self::two_way(test_size),
            (None, Some(splits)) => Self::parse(splits)?,
            (None, None) if folds.is_some() => Self::training_only(),
            (None, None) => Self::default(),
        };
        match folds {
            Some(folds) if !(2..=MAX_FOLDS).contains(&folds) => {
                Err(Error::Configuration(format!("--folds must be between 2 and {MAX_FOLDS}, got {folds}")))
            }
            Some(folds) => Ok(plan.with_folds(folds)),
            None => Ok(plan),
        }
    }

    /// `train` and `val`, `val` taking `test_size` of each class (`--test-size`).
    pub fn two_way(test_size: f64) -> Self {
        Self { train: "train".into(), held_out: vec![HeldOut { name: "val".into(), share: test_size }], folds: 1 }
    }

    /// Every row in training (folds only).
    pub fn training_only() -> Self {
        Self { train: "train".into(), held_out: Vec::new(), folds: 1 }
    }

    /// `--splits`: `NAME=SHARE,...`, the training split first (it takes the rest: its share must be one minus
    /// the others'), then the held-out splits in the order they take rows.
    pub fn parse(spec: &str) -> Result<Self> {
        let invalid = |why: String| Error::Configuration(format!("--splits {spec}: {why}"));
        let mut splits = Vec::new();
        for part in spec.split(',') {
            let (name, share) = part
                .split_once('=')
                .ok_or_else(|| invalid(format!("'{part}' is not NAME=SHARE (e.g. train=0.8,val=0.1,test=0.1)")))?;
            let share: f64 = share.trim().parse().map_err(|_| invalid(format!("'{share}' is not a number")))?;
            splits.push((name.trim().to_owned(), share));
        }
        let Some(((train, train_share), held_out)) = splits.split_first() else { unreachable!("split yields one") };
        if held_out.is_empty() {
            return Err(invalid("name the training split and at least one held-out split".into()));
        }
        let plan = Self {
            train: train.clone(),
            held_out: held_out.iter().map(|(name, share)| HeldOut { name: name.clone(), share: *share }).collect(),
            folds: 1,
        };
        plan.validate().map_err(|error| match error {
            Error::Configuration(why) => invalid(why),
            other => other,
        })?;
        let total = train_share + plan.held_out.iter().map(|split| split.share).sum::<f64>();
        if !(*train_share > 0.0) || (total - 1.0).abs() > 1e-9 {
            return Err(invalid(format!(
                "the shares must add up to 1 (they add up to {total}); the first split, '{train}', takes the rest of \
                 each class"
            )));
        }
        Ok(plan)
    }

    /// The same splits with the training split in `folds` folds.
    pub fn with_folds(self, folds: u32) -> Self {
        Self { folds, ..self }
    }

    /// Fails on a plan the pipeline cannot run.
    pub fn validate(&self) -> Result<()> {
        let mut names = vec![self.train.as_str()];
        for split in &self.held_out {
            if !(split.share > 0.0 && split.share < 1.0) {
                return Err(Error::Configuration(format!(
                    "the share of '{}' must be between 0 and 1 (exclusive), got {}",
                    split.name, split.share
                )));
            }
            names.push(&split.name);
        }
        for (position, name) in names.iter().enumerate() {
            let valid = !name.is_empty()
                && name.len() <= 64
                && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-');
            if !valid {
                return Err(Error::Configuration(format!(
                    "'{name}' is not a split name (letters, digits, '_' and '-'; it names the split's directory)"
                )));
            }
            if names[..position].contains(name) {
                return Err(Error::Configuration(format!("the split '{name}' is named twice")));
            }
        }
        let held_out: f64 = self.held_out.iter().map(|split| split.share).sum();
        if held_out >= 1.0 {
            return Err(Error::Configuration(format!(
                "the held-out splits take {held_out} of each class: nothing would be left for '{}'",
                self.train
            )));
        }
        if !(1..=MAX_FOLDS).contains(&self.folds) {
            return Err(Error::Configuration(format!("--folds must be between 2 and {MAX_FOLDS}, got {}", self.folds)));
        }
        Ok(())
    }

    /// The share of the one held-out split of a two-way plan (`--test-size`), if the plan is one.
    pub fn test_size(&self) -> Option<f64> {
        match self.held_out.as_slice() {
            [only] if self.folds == 1 => Some(only.share),
            _ => None,
        }
    }

    /// The flags that give this plan, for messages and the dataset card's command: `--test-size 0.2`,
    /// `--splits train=0.8,val=0.1,test=0.1` (training's share is the rest, rounded to 12 decimals so that
    /// 1 - 0.1 - 0.1 reads 0.8), `--folds 5`.
    pub fn describe(&self) -> String {
        let mut flags = Vec::new();
        match (self.test_size(), self.held_out.as_slice()) {
            (Some(share), [only]) if self.train == "train" && only.name == "val" => {
                flags.push(format!("--test-size {share}"));
            }
            (_, []) => {}
            (_, held_out) => {
                let rest = 1.0 - held_out.iter().map(|split| split.share).sum::<f64>();
                let rest = (rest * 1e12).round() / 1e12;
                let shares = held_out.iter().map(|split| format!(",{}={}", split.name, split.share));
                flags.push(format!("--splits {}={rest}{}", self.train, shares.collect::<String>()));
            }
        }
        if self.folds > 1 {
            flags.push(format!("--folds {}", self.folds));
        }
        flags.join(" ")
    }

    /// The split names, training first, then the held-out splits in order.
    pub fn split_names(&self) -> Vec<&str> {
        std::iter::once(self.train.as_str()).chain(self.held_out.iter().map(|split| split.name.as_str())).collect()
    }

    /// The parts of every class's shuffle order, in order.
    pub fn segments(&self) -> Vec<Segment> {
        let held_out = self.held_out.iter().map(|split| Segment {
            split: split.name.clone(),
            fold: None,
            share: Some(split.share),
        });
        let folds = (0..self.folds).map(|fold| Segment {
            split: self.train.clone(),
            fold: (self.folds > 1).then_some(fold),
            share: None,
        });
        held_out.chain(folds).collect()
    }

    /// `${segments}` of `sql/04_split.sql`: a query of (segment, split, fold, share, folds).
    pub fn segments_sql(&self) -> String {
        let rows: Vec<String> = self
            .segments()
            .iter()
            .enumerate()
            .map(|(number, segment)| {
                let fold = segment.fold.map_or_else(|| "CAST(NULL AS BIGINT)".to_owned(), |fold| format!("{fold}"));
                let share =
                    segment.share.map_or_else(|| "CAST(NULL AS DOUBLE)".to_owned(), |share| format!("{share:?}"));
                format!("({number}, '{}', {fold}, {share}, {})", quote_literal_body(&segment.split), self.folds)
            })
            .collect();
        format!("(VALUES {})", rows.join(", "))
    }

    /// The rows of each segment of a class of `class_rows` rows, in order (the definition `sql/04_split.sql`
    /// computes): a held-out split takes `ceil(share * rows)` (in float64, as scikit-learn's
    /// `train_test_split`); training takes the rest, and its fold `j` of `K` ends at `ceil((j + 1) * rest / K)`
    /// of it, so folds differ in size by at most one. `None` when the held-out splits leave no row for training.
    pub fn segment_sizes(&self, class_rows: u64) -> Option<Vec<u64>> {
        let held_out: Vec<u64> =
            self.held_out.iter().map(|split| (split.share * class_rows as f64).ceil() as u64).collect();
        let rest = class_rows.checked_sub(held_out.iter().sum()).filter(|rest| *rest > 0)?;
        let folds = u64::from(self.folds);
        let end = |fold: u64| (fold * rest).div_ceil(folds);
        Some(held_out.into_iter().chain((0..folds).map(|fold| end(fold + 1) - end(fold))).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_named_splits_training_first() {
        let plan = SplitPlan::parse("train=0.8,val=0.1,test=0.1").unwrap();
        assert_eq!(plan.train, "train");
        assert_eq!(
            plan.held_out,
            vec![HeldOut { name: "val".into(), share: 0.1 }, HeldOut { name: "test".into(), share: 0.1 }]
        );
        assert_eq!(plan.split_names(), ["train", "val", "test"]);
        assert_eq!(SplitPlan::parse("fit=0.75, holdout=0.25").unwrap().test_size(), Some(0.25));
    }

    #[test]
    fn flags_give_plans() {
        assert_eq!(SplitPlan::from_flags(None, None, None).unwrap(), SplitPlan::two_way(0.2));
        assert_eq!(SplitPlan::from_flags(Some(0.3), None, None).unwrap(), SplitPlan::two_way(0.3));
        assert_eq!(SplitPlan::from_flags(None, None, Some(5)).unwrap(), SplitPlan::training_only().with_folds(5));
        assert_eq!(SplitPlan::from_flags(Some(0.1), None, Some(5)).unwrap(), SplitPlan::two_way(0.1).with_folds(5));
        let error = SplitPlan::from_flags(Some(0.1), Some("train=0.9,test=0.1"), None).unwrap_err().to_string();
        assert!(error.contains("not both"), "{error}");
        let error = SplitPlan::from_flags(None, None, Some(1)).unwrap_err().to_string();
        assert!(error.contains("--folds must be between 2 and 1000, got 1"), "{error}");
        assert_eq!(SplitPlan::two_way(0.2).describe(), "--test-size 0.2");
        assert_eq!(
            SplitPlan::parse("a=0.5,b=0.25,c=0.25").unwrap().with_folds(2).describe(),
            "--splits a=0.5,b=0.25,c=0.25 --folds 2"
        );
        // The flags give the plan back (the dataset card prints them as the command that made the data).
        for plan in [
            SplitPlan::two_way(0.2),
            SplitPlan::two_way(0.1).with_folds(5),
            SplitPlan::training_only().with_folds(3),
            SplitPlan::parse("train=0.7,val=0.1,test=0.2").unwrap(),
            SplitPlan::parse("fit=0.65,dev=0.3,test=0.05").unwrap().with_folds(4),
        ] {
            let flags = plan.describe();
            let value = |flag: &str| {
                let mut words = flags.split(' ');
                words.position(|word| word == flag).map(|_| words.next().unwrap().to_owned())
            };
            let again = SplitPlan::from_flags(
                value("--test-size").map(|share| share.parse().unwrap()),
                value("--splits").as_deref(),
                value("--folds").map(|folds| folds.parse().unwrap()),
            )
            .unwrap();
            assert_eq!(again, plan, "{flags}");
        }
    }

    #[test]
    fn refuses_bad_specs() {
        for (spec, why) in [
            ("train=0.8,val=0.1", "add up to 1 (they add up to 0.9"),
            ("train=0.8", "at least one held-out split"),
            ("train=0.8,val", "'val' is not NAME=SHARE"),
            ("train=0.8,val=x", "'x' is not a number"),
            ("train=0.5,train=0.5", "named twice"),
            ("train=0.5,a/b=0.5", "'a/b' is not a split name"),
            ("train=0,val=1", "between 0 and 1"),
        ] {
            let error = SplitPlan::parse(spec).unwrap_err().to_string();
            assert!(error.contains(why), "{spec}: {error}");
        }
    }

    #[test]
    fn sizes_follow_the_definition() {
        // The course: ceil(0.2 * 285) = 57 to validation.
        assert_eq!(SplitPlan::two_way(0.2).segment_sizes(285), Some(vec![57, 228]));
        // Three-way on 10 rows: ceil(1.0) = 1, then 1, the rest 8; on 3 rows: 1, 1, 1.
        let three = SplitPlan::parse("train=0.8,val=0.1,test=0.1").unwrap();
        assert_eq!(three.segment_sizes(10), Some(vec![1, 1, 8]));
        assert_eq!(three.segment_sizes(3), Some(vec![1, 1, 1]));
        // Two rows leave training empty: refused.
        assert_eq!(three.segment_sizes(2), None);
        // Folds end at ceil(4 * 10 / 3) = 4, ceil(20 / 3) = 7, 10; of 2 rows at 1, 2, 2.
        let folds = SplitPlan::training_only().with_folds(3);
        assert_eq!(folds.segment_sizes(10), Some(vec![4, 3, 3]));
        assert_eq!(folds.segment_sizes(2), Some(vec![1, 1, 0]));
        // 6 rows in 4 folds end at 2, 3, 5, 6.
        assert_eq!(SplitPlan::training_only().with_folds(4).segment_sizes(6), Some(vec![2, 1, 2, 1]));
        // Held out first, then folds of the rest: 20 rows, ceil(4.0) = 4 held out, 16 in 3 folds: 6, 5, 5.
        assert_eq!(SplitPlan::two_way(0.2).with_folds(3).segment_sizes(20), Some(vec![4, 6, 5, 5]));
    }

    #[test]
    fn segments_number_held_out_first() {
        let plan = SplitPlan::two_way(0.25).with_folds(2);
        assert_eq!(
            plan.segments_sql(),
            "(VALUES (0, 'val', CAST(NULL AS BIGINT), 0.25, 2), (1, 'train', 0, CAST(NULL AS DOUBLE), 2), \
             (2, 'train', 1, CAST(NULL AS DOUBLE), 2))"
        );
    }
}
