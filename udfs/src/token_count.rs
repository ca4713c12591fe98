//! `token_count(text, tokenizer)`: how many ids `tokenize` gives, special tokens included.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::tokenizer::encode::{coerce_tokenizer_arguments, encode_rows_into};

#[user_doc(
    doc_section(label = "mlprep Functions"),
    description = "The number of token ids `tokenize(text, tokenizer)` gives, `[CLS]` and `[SEP]` included, before any \
         truncation: use it to choose a padding length or report length statistics. NULL text gives NULL.",
    syntax_example = "token_count(text, tokenizer)",
    sql_example = "```sql\n> SELECT max(token_count(clean_text(title), 'vocab.txt')) AS longest_title FROM projects;\n+---------------+\n| longest_title |\n+---------------+\n| 17            |\n+---------------+\n```",
    argument(name = "text", description = "String expression (Utf8, LargeUtf8 or Utf8View)."),
    argument(name = "tokenizer", description = "Path of a BERT vocab.txt or a HuggingFace tokenizer.json."),
    related_udf(name = "tokenize")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TokenCount {
    signature: Signature,
}

impl Default for TokenCount {
    fn default() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for TokenCount {
    fn name(&self) -> &str {
        "token_count"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_tokenizer_arguments("token_count", arg_types, false)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let mut counts: Vec<i64> = Vec::with_capacity(args.number_rows);
        let mut ids = Vec::new();
        let (nulls, is_scalar) = encode_rows_into(&args, "token_count", &mut ids, |ids, encoding| {
            counts.push(encoding.map_or(0, |(first, _)| (ids.len() - first) as i64));
            ids.clear();
            Ok(())
        })?;
        let counts: ArrayRef = Arc::new(Int64Array::new(counts.into(), nulls));
        Ok(if is_scalar {
            ColumnarValue::Scalar(ScalarValue::try_from_array(&counts, 0)?)
        } else {
            ColumnarValue::Array(counts)
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
