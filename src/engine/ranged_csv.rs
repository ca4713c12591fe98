//! A CSV table read in byte ranges that start where records start, so that several tasks share the parsing
//! of one file, on a cluster as locally. DataFusion cannot cut a CSV whose quoted values may hold line ends
//! itself: it reads such a file in one task, and on a Ballista cluster every task of the stage that reads it
//! parses all of it and keeps a share.
//!
//! The cuts come from the record scan (`crate::input::record_scan::record_ranges`), which follows the CSV
//! quoting rules. DataFusion's CSV reader, given a range `[start, end)` whose `start` follows a line feed and
//! whose `end` is one past a line feed, reads exactly the records in it, the header only in a range that
//! starts the file. [`RangedCsvTable::replace`] swaps such a table in for a CSV table `CREATE EXTERNAL TABLE`
//! registered, with its schema and options; on a cluster the table travels to the scheduler through
//! [`super::codec::LogicalCodec`].

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::common::config::CsvOptions;
use datafusion::common::parsers::CompressionTypeVariant;
use datafusion::common::{DataFusionError, exec_err, plan_err};
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::listing::{ListingTable, ListingTableUrl, PartitionedFile};
use datafusion::datasource::physical_plan::{CsvSource, FileGroup, FileScanConfigBuilder};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use object_store::ObjectMeta;
use serde::{Deserialize, Serialize};

/// Bytes `[start, end)` of the CSV file at `url` (a local path or an object URL, as `LOCATION` takes it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvRange {
    pub url: String,
    /// The whole file's size: the reader needs it to know a range ends the file.
    pub file_size: u64,
    pub start: u64,
    pub end: u64,
}

/// A CSV table read as `groups` of ranges: one partition (one task on a cluster) per group, reading its
/// ranges in order.
#[derive(Debug)]
pub struct RangedCsvTable {
    schema: SchemaRef,
    options: CsvOptions,
    groups: Vec<Vec<CsvRange>>,
}

/// What a [`RangedCsvTable`] is on the wire, beside the schema the plan carries anyway.
#[derive(Serialize, Deserialize)]
struct Encoded {
    /// `CsvOptions` as datafusion-proto encodes them.
    options: Vec<u8>,
    groups: Vec<Vec<CsvRange>>,
}

impl RangedCsvTable {
    pub fn new(schema: SchemaRef, options: CsvOptions, groups: Vec<Vec<CsvRange>>) -> Self {
        Self { schema, options, groups }
    }

    pub fn groups(&self) -> &[Vec<CsvRange>] {
        &self.groups
    }

    /// A table of `groups` with the schema and CSV options of `table`, a CSV table as `CREATE EXTERNAL TABLE
    /// … STORED AS CSV` registers it (or a ranged one).
    pub fn from_csv_table(table: &dyn TableProvider, groups: Vec<Vec<CsvRange>>) -> Result<Self, DataFusionError> {
        if let Some(ranged) = table.downcast_ref::<RangedCsvTable>() {
            return Ok(ranged.with_groups(groups));
        }
        let Some(listing) = table.downcast_ref::<ListingTable>() else {
            return plan_err!("not a CSV table read from files");
        };
        let Some(format) = listing.options().format.downcast_ref::<CsvFormat>() else {
            return plan_err!("not a table stored as CSV");
        };
        if !listing.options().table_partition_cols.is_empty() {
            return plan_err!("a CSV table partitioned by directories: its ranges cannot name them");
        }
        // Byte ranges of a compressed file are not ranges of its records (DataFusion would panic on them).
        if format.options().compression != CompressionTypeVariant::UNCOMPRESSED {
            return plan_err!(
                "a compressed CSV table ({:?}) cannot be read in byte ranges",
                format.options().compression
            );
        }
        Ok(Self::new(listing.schema(), format.options().clone(), groups))
    }

    /// This table's schema and options, reading `groups`.
    pub fn with_groups(&self, groups: Vec<Vec<CsvRange>>) -> Self {
        Self::new(Arc::clone(&self.schema), self.options.clone(), groups)
    }

    /// Replaces the CSV table `name` of `context` by one reading `groups` (see [`Self::from_csv_table`]).
    pub async fn replace(
        context: &SessionContext,
        name: &str,
        groups: Vec<Vec<CsvRange>>,
    ) -> Result<(), DataFusionError> {
        let table = Self::from_csv_table(context.table_provider(name).await?.as_ref(), groups)
            .map_err(|error| error.context(format!("table '{name}'")))?;
        context.deregister_table(name)?;
        context.register_table(name, Arc::new(table))?;
        Ok(())
    }

    /// The bytes [`Self::decode`] reads back.
    pub fn encode(&self) -> Result<Vec<u8>, DataFusionError> {
        use prost::Message;
        let options = datafusion_proto_common::protobuf_common::CsvOptions::try_from(&self.options)?.encode_to_vec();
        serde_json::to_vec(&Encoded { options, groups: self.groups.clone() })
            .map_err(|error| DataFusionError::Internal(format!("encoding a ranged CSV table: {error}")))
    }

    pub fn decode(bytes: &[u8], schema: SchemaRef) -> Result<Self, DataFusionError> {
        use prost::Message;
        let encoded: Encoded = serde_json::from_slice(bytes)
            .map_err(|error| DataFusionError::Internal(format!("decoding a ranged CSV table: {error}")))?;
        let options = datafusion_proto_common::protobuf_common::CsvOptions::decode(encoded.options.as_slice())
            .map_err(|error| DataFusionError::Internal(format!("decoding a ranged CSV table's options: {error}")))?;
        Ok(Self::new(schema, CsvOptions::try_from(&options)?, encoded.groups))
    }
}

#[async_trait]
impl TableProvider for RangedCsvTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>, DataFusionError> {
        let mut store = None;
        let mut file_groups = Vec::with_capacity(self.groups.len());
        for group in &self.groups {
            let mut files = Vec::with_capacity(group.len());
            for range in group {
                let url = ListingTableUrl::parse(&range.url)?;
                match &store {
                    None => store = Some(url.object_store()),
                    Some(store) if *store != url.object_store() => {
                        return exec_err!("the ranges of one CSV table are in two stores: {store} and {}", range.url);
                    }
                    Some(_) => {}
                }
                let meta = ObjectMeta {
                    location: url.prefix().clone(),
                    last_modified: Default::default(),
                    size: range.file_size,
                    e_tag: None,
                    version: None,
                };
                files.push(PartitionedFile::from(meta).with_range(range.start as i64, range.end as i64));
            }
            file_groups.push(FileGroup::new(files));
        }
        let Some(store) = store else {
            return exec_err!("a ranged CSV table without ranges");
        };
        let source = CsvSource::new(Arc::clone(&self.schema)).with_csv_options(self.options.clone());
        let config = FileScanConfigBuilder::new(store, Arc::new(source))
            .with_file_groups(file_groups)
            .with_projection_indices(projection.cloned())?
            .with_limit(limit)
            .build();
        Ok(DataSourceExec::from_data_source(config))
    }
}

/// Groups the ranges of files (in order) into at most `partitions` groups of about equal bytes, each group's
/// ranges consecutive: ranges are given to groups in turn, a group taking ranges until it holds its share.
pub fn group_ranges(ranges: Vec<CsvRange>, partitions: usize) -> Vec<Vec<CsvRange>> {
    let total: u64 = ranges.iter().map(|range| range.end - range.start).sum();
    let partitions = partitions.max(1) as u64;
    let mut groups: Vec<Vec<CsvRange>> = Vec::new();
    let mut taken = 0u64;
    for range in ranges {
        // The group a range falls in is the one its first byte's share of all bytes says.
        let group = ((taken * partitions) / total.max(1)) as usize;
        taken += range.end - range.start;
        if groups.len() <= group {
            groups.push(Vec::new());
        }
        groups.last_mut().expect("a group was pushed").push(range);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(url: &str, start: u64, end: u64) -> CsvRange {
        CsvRange { url: url.to_owned(), file_size: 100, start, end }
    }

    #[test]
    fn groups_hold_consecutive_ranges_of_about_equal_bytes() {
        let ranges = vec![range("a", 0, 50), range("a", 50, 100), range("b", 0, 30), range("c", 0, 70)];
        let groups = group_ranges(ranges.clone(), 2);
        assert_eq!(groups, vec![ranges[..2].to_vec(), ranges[2..].to_vec()]);
        // More partitions than ranges: a group per range.
        assert_eq!(group_ranges(ranges.clone(), 8).len(), 4);
        // One partition: one group with every range in order.
        assert_eq!(group_ranges(ranges.clone(), 1), vec![ranges]);
    }

    #[test]
    fn a_table_survives_its_encoding() {
        use datafusion::arrow::datatypes::{DataType, Field, Schema};
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true)]));
        let options = CsvOptions { has_header: Some(true), newlines_in_values: Some(true), ..Default::default() };
        let table = RangedCsvTable::new(Arc::clone(&schema), options, vec![vec![range("/x.csv", 0, 10)]]);
        let decoded = RangedCsvTable::decode(&table.encode().unwrap(), schema).unwrap();
        assert_eq!(decoded.groups, table.groups);
        assert_eq!(decoded.options.has_header, Some(true));
        assert_eq!(decoded.options.newlines_in_values, Some(true));
    }

    #[tokio::test]
    async fn a_compressed_table_is_refused() {
        let context = SessionContext::new();
        context
            .sql(
                "CREATE EXTERNAL TABLE t (id BIGINT) STORED AS CSV LOCATION '/nowhere/t.csv.gz' \
                 OPTIONS ('format.has_header' 'true', 'format.compression' 'gzip')",
            )
            .await
            .unwrap();
        let error = RangedCsvTable::replace(&context, "t", vec![vec![range("/nowhere/t.csv.gz", 0, 10)]])
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("compressed CSV table"), "{error}");
    }

    /// A CSV DataFusion can read, with what makes cutting it hard: quoted commas, quotes and line ends
    /// (`\n` and `\r\n`) inside values, blank lines, records ending in `\n`, `\r\n` or `\r`.
    fn tricky_csv(rng: &mut impl rand::Rng) -> Vec<u8> {
        const VALUES: [&[u8]; 8] = [
            b"word",
            b"12",
            b"\"a,b\"",
            b"\"line\nbreak\"",
            b"\"crlf\r\ninside\"",
            b"\"say \"\"hi\"\"\"",
            b"\"\"",
            b"\"\n\"",
        ];
        const ENDS: [&[u8]; 5] = [b"\n", b"\r\n", b"\r", b"\n\n", b"\r\n\r\n"];
        let mut text = b"id,title,tag\n".to_vec();
        for row in 0..rng.random_range(0..80) {
            text.extend(row.to_string().as_bytes());
            for _ in 0..2 {
                text.push(b',');
                text.extend(VALUES[rng.random_range(0..VALUES.len())]);
            }
            text.extend(ENDS[rng.random_range(0..ENDS.len())]);
        }
        text
    }

    async fn rows(context: &SessionContext) -> Vec<String> {
        let batches = context.sql("SELECT * FROM t ORDER BY id").await.unwrap().collect().await.unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string();
        text.lines().map(str::to_owned).collect()
    }

    /// DataFusion's CSV reader given the record scan's ranges reads every record exactly once, as it reads the
    /// whole file: the two implementations of the quoting rules agree on where records start.
    #[tokio::test]
    async fn ranges_read_the_records_of_the_whole_file() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(19);
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("input.csv");
        let mut cut_files = 0;
        for _ in 0..60 {
            let text = tricky_csv(&mut rng);
            std::fs::write(&path, &text).unwrap();
            let context = SessionContext::new();
            context
                .sql(&format!(
                    "CREATE EXTERNAL TABLE t (id BIGINT, title VARCHAR, tag VARCHAR) STORED AS CSV LOCATION '{}' \
                     OPTIONS ('format.has_header' 'true', 'format.newlines_in_values' 'true')",
                    path.display()
                ))
                .await
                .unwrap();
            let whole = rows(&context).await;
            for pieces in [2, 3, 7, 50] {
                let ranges = crate::input::record_scan::record_ranges(&path, pieces, 1).unwrap();
                cut_files += usize::from(pieces == 50 && ranges.len() > 10);
                let ranges: Vec<CsvRange> = ranges
                    .into_iter()
                    .map(|(start, end)| CsvRange {
                        url: path.display().to_string(),
                        file_size: text.len() as u64,
                        start,
                        end,
                    })
                    .collect();
                for partitions in [1, 2, 5] {
                    RangedCsvTable::replace(&context, "t", group_ranges(ranges.clone(), partitions)).await.unwrap();
                    assert_eq!(
                        rows(&context).await,
                        whole,
                        "{pieces} pieces in {partitions} groups of {:?}",
                        String::from_utf8_lossy(&text)
                    );
                    // Back to the table as created, which `replace` takes its schema and options from.
                    context.deregister_table("t").unwrap();
                    context
                        .sql(&format!(
                            "CREATE EXTERNAL TABLE t (id BIGINT, title VARCHAR, tag VARCHAR) STORED AS CSV \
                             LOCATION '{}' OPTIONS ('format.has_header' 'true', 'format.newlines_in_values' 'true')",
                            path.display()
                        ))
                        .await
                        .unwrap();
                }
            }
        }
        assert!(cut_files > 20, "too few inputs were cut in many ranges: {cut_files}");
    }
}
