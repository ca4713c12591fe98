//! Leakage counts in bounded memory: the cleaned texts that several rows share are found range by range of
//! the text hash, for `${shared_texts}` of `sql/05_examples.sql`.
//!
//! Counting rows per text hash over every row at once holds one entry per distinct text (~40 bytes a row):
//! the only memory of a run that grew with the input. All rows
//! of a text share its hash, so the texts are counted apart in ranges of the hash ("text buckets"): one pass
//! stages each row's text hash and split by range, then one aggregate per range, several at once, writes the
//! hashes that rows share. The result is exactly the one aggregate's, whatever the number of ranges.

use crate::engine::location::Location;

use crate::error::{Error, Result};
use crate::sql::ScriptRunner;
use crate::sql::params::Param;
use crate::sql::results::{copied_count, run_at_once};
use crate::sql::scripts::{EXAMPLES, QUERIES, named_sql};

/// Shuffle buckets (`--file-size` of CSV each) per range of the text hash: up to 8 buckets, small enough for
/// one aggregate, the texts are counted in one.
pub(crate) const BUCKETS_PER_TEXT_BUCKET: u64 = 8;

/// How many ranges of the text hash the texts of an input staged in `buckets` buckets are counted in.
pub(crate) fn text_bucket_count(buckets: u64) -> u64 {
    buckets.div_ceil(BUCKETS_PER_TEXT_BUCKET).max(1)
}

/// The table of shared texts that [`find_shared_texts`] writes (`register_shared_texts` of `sql/queries.sql`).
const SHARED_TEXTS_TABLE: &str = "shared_texts_by_range";

/// Counts, per text hash that several of the `rows` rows of the view `examples` share, its rows in each split,
/// in `text_buckets` ranges of the hash (`concurrency` at a time; one range: one aggregate, nothing staged),
/// into Parquet under `work`. Returns the table holding them (columns `text_hash`, `train_rows`, `val_rows`,
/// as the script's own aggregate).
pub(crate) async fn find_shared_texts(
    runner: &ScriptRunner,
    work: &Location,
    text_buckets: u64,
    rows: u64,
    concurrency: usize,
) -> Result<String> {
    let context = runner.context();
    let hashes = work.join("text_hashes");
    let shared = work.join("shared_texts");
    shared.create_dir_all()?;
    let locations = [("text_hashes", Param::Text(hashes.to_sql())), ("shared_texts", Param::Text(shared.to_sql()))];
    let named =
        |name: &str, extra: &[(&str, Param)]| named_sql(runner, QUERIES, name, &[&locations[..], extra].concat());

    if text_buckets <= 1 {
        let view = named_sql(runner, EXAMPLES, "shared_texts_of_examples", &[])?;
        context.sql(&view).await?.collect().await?;
        context.sql(&named("shared_texts_at_once", &[])?).await?.collect().await?;
    } else {
        let staged = context
            .sql(&named("stage_text_hashes", &[("text_buckets", Param::Integer(text_buckets.into()))])?)
            .await?
            .collect()
            .await?;
        let staged = copied_count(&staged);
        if staged != rows {
            return Err(Error::Accounting(format!(
                "{rows} rows were split but {staged} text hashes were staged to count the shared texts"
            )));
        }
        context.sql(&named("register_text_hashes", &[])?).await?.collect().await?;
        let per_range = (0..text_buckets)
            .map(|range| {
                named(
                    "shared_texts_in_range",
                    &[("text_bucket", Param::Text(range.to_string())), ("part", Param::Text(format!("{range:05}")))],
                )
            })
            .collect::<Result<Vec<_>>>()?;
        run_at_once(context, per_range, concurrency, None).await?;
    }
    context.sql(&named("register_shared_texts", &[])?).await?.collect().await?;
    Ok(SHARED_TEXTS_TABLE.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_to_eight_buckets_count_texts_in_one_range() {
        assert_eq!(text_bucket_count(1), 1);
        assert_eq!(text_bucket_count(8), 1);
        assert_eq!(text_bucket_count(9), 2);
        assert_eq!(text_bucket_count(54), 7);
    }
}
