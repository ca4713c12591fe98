//! How mlprep's own table providers travel in a logical plan from a Ballista client to the scheduler (which
//! plans the stages, and so calls the provider's `scan`): Ballista's codec, plus [`RangedCsvTable`]. The
//! client, an in-process cluster and `mlprep scheduler` all use it; executors receive physical plans, which
//! DataFusion's own codec carries (a CSV scan with its byte ranges).

use std::sync::Arc;

use ballista_core::serde::BallistaLogicalExtensionCodec;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::{Result, TableReference};
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{AggregateUDF, Extension, LogicalPlan, ScalarUDF, WindowUDF};
use datafusion_proto::logical_plan::LogicalExtensionCodec;

use super::ranged_csv::RangedCsvTable;

/// Marks the bytes of a [`RangedCsvTable`]; anything else is Ballista's.
const RANGED_CSV: &[u8] = b"mlprep.ranged_csv:";

#[derive(Debug, Default)]
pub struct LogicalCodec {
    ballista: BallistaLogicalExtensionCodec,
}

impl LogicalCodec {
    pub fn shared() -> Arc<dyn LogicalExtensionCodec> {
        Arc::new(Self::default())
    }
}

impl LogicalExtensionCodec for LogicalCodec {
    fn try_decode(&self, buf: &[u8], inputs: &[LogicalPlan], ctx: &TaskContext) -> Result<Extension> {
        self.ballista.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.ballista.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        match buf.strip_prefix(RANGED_CSV) {
            Some(table) => Ok(Arc::new(RangedCsvTable::decode(table, schema)?)),
            None => self.ballista.try_decode_table_provider(buf, table_ref, schema, ctx),
        }
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        match node.downcast_ref::<RangedCsvTable>() {
            Some(table) => {
                buf.extend_from_slice(RANGED_CSV);
                buf.extend(table.encode()?);
                Ok(())
            }
            None => self.ballista.try_encode_table_provider(table_ref, node, buf),
        }
    }

    fn try_decode_file_format(&self, buf: &[u8], ctx: &TaskContext) -> Result<Arc<dyn FileFormatFactory>> {
        self.ballista.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(&self, buf: &mut Vec<u8>, node: Arc<dyn FileFormatFactory>) -> Result<()> {
        self.ballista.try_encode_file_format(buf, node)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        self.ballista.try_decode_udf(name, buf)
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.ballista.try_encode_udf(node, buf)
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> Result<Arc<AggregateUDF>> {
        self.ballista.try_decode_udaf(name, buf)
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.ballista.try_encode_udaf(node, buf)
    }

    fn try_decode_udwf(&self, name: &str, buf: &[u8]) -> Result<Arc<WindowUDF>> {
        self.ballista.try_decode_udwf(name, buf)
    }

    fn try_encode_udwf(&self, node: &WindowUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.ballista.try_encode_udwf(node, buf)
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::physical_plan::{collect, displayable};
    use datafusion::prelude::SessionContext;
    use datafusion_proto::bytes::{
        logical_plan_from_bytes_with_extension_codec, logical_plan_to_bytes_with_extension_codec,
        physical_plan_from_bytes, physical_plan_to_bytes,
    };

    use super::*;
    use crate::engine::ranged_csv::{CsvRange, group_ranges};

    /// What a Ballista client sends its scheduler (the logical plan) and the scheduler its executors (the
    /// physical plan): a ranged CSV table survives both, ranges included, and reads the same rows.
    #[tokio::test]
    async fn a_ranged_table_travels_to_the_scheduler_and_on_to_executors() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("input.csv");
        let text = "id,title\n1,\"a\nb\"\n2,c\n3,\"d,e\"\n4,f\n";
        std::fs::write(&path, text).unwrap();
        let client = SessionContext::new();
        client
            .sql(&format!(
                "CREATE EXTERNAL TABLE projects (id BIGINT, title VARCHAR) STORED AS CSV LOCATION '{}' \
                 OPTIONS ('format.has_header' 'true', 'format.newlines_in_values' 'true')",
                path.display()
            ))
            .await
            .unwrap();
        let expected = pretty_format_batches(
            &client.sql("SELECT * FROM projects ORDER BY id").await.unwrap().collect().await.unwrap(),
        )
        .unwrap()
        .to_string();
        // Ranges after the header plus first record, and after the second.
        let second = text.find("2,c").unwrap() as u64;
        let third = text.find("3,").unwrap() as u64;
        let size = text.len() as u64;
        let ranges = [(0, second), (second, third), (third, size)]
            .into_iter()
            .map(|(start, end)| CsvRange { url: path.display().to_string(), file_size: size, start, end })
            .collect();
        RangedCsvTable::replace(&client, "projects", group_ranges(ranges, 3)).await.unwrap();
        let plan = client.sql("SELECT * FROM projects ORDER BY id").await.unwrap().into_optimized_plan().unwrap();

        let codec = LogicalCodec::default();
        let bytes = logical_plan_to_bytes_with_extension_codec(&plan, &codec).unwrap();
        let scheduler = SessionContext::new();
        let decoded = logical_plan_from_bytes_with_extension_codec(&bytes, &scheduler.task_ctx(), &codec).unwrap();
        let physical = scheduler.state().create_physical_plan(&decoded).await.unwrap();
        let shown = displayable(physical.as_ref()).indent(true).to_string();
        assert!(shown.contains(&format!("input.csv:0..{second}")), "{shown}");
        assert!(shown.contains(&format!("input.csv:{second}..{third}")), "{shown}");
        assert!(shown.contains(&format!("input.csv:{third}..{size}")), "{shown}");
        let read = collect(Arc::clone(&physical), scheduler.task_ctx()).await.unwrap();
        assert_eq!(pretty_format_batches(&read).unwrap().to_string(), expected);

        let executor = SessionContext::new();
        let task = physical_plan_from_bytes(&physical_plan_to_bytes(physical).unwrap(), &executor.task_ctx()).unwrap();
        let read = collect(task, executor.task_ctx()).await.unwrap();
        assert_eq!(pretty_format_batches(&read).unwrap().to_string(), expected);
    }
}
