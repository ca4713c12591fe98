//! `clean_text(text)`: the course's text cleaning, byte for byte.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::{StringColumn, StringColumnBuilder, coerce_text_argument, invoke_on_arrays};
use crate::text_cleaner::TextCleaner;

#[user_doc(
    doc_section(label = "mlprep Functions"),
    description = "Cleans text exactly as the Made-With-ML course's `clean_text` (Python `re`) does: lowercase with full \
         Unicode case mapping; remove the 179 English stopwords as whole words (Python's Unicode word \
         boundaries, alternation order kept); every run of characters outside [a-z0-9] becomes one space; \
         strip; finally delete every `http` followed by non-space characters. The last step runs after the \
         others, as in the original, so a URL leaves a double space (`https://a.b/c` becomes ` a b c`). \
         Returns the same string type as its argument; NULL gives NULL.",
    syntax_example = "clean_text(text)",
    sql_example = "```sql\n> SELECT clean_text('The State-of-the-Art: https://arxiv.org/abs/1706') AS cleaned;\n+-------------------------------+\n| cleaned                       |\n+-------------------------------+\n| state art  arxiv org abs 1706 |\n+-------------------------------+\n```",
    argument(name = "text", description = "String expression (Utf8, LargeUtf8 or Utf8View).")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CleanText {
    signature: Signature,
}

impl Default for CleanText {
    fn default() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for CleanText {
    fn name(&self) -> &str {
        "clean_text"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(arg_types[0].clone())
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [text] => Ok(vec![coerce_text_argument("clean_text", "text", text)?]),
            _ => plan_err!("clean_text: expected 1 argument (text), got {}", arg_types.len()),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        invoke_on_arrays(&args.args, args.number_rows, |arrays| {
            let texts = StringColumn::try_new(&arrays[0], "clean_text")?;
            let mut output = StringColumnBuilder::for_type(arrays[0].data_type(), texts.len(), texts.value_bytes())?;
            let mut cleaner = TextCleaner::default();
            for row in 0..texts.len() {
                match texts.get(row) {
                    Some(text) => output.append_value(cleaner.clean(text)),
                    None => output.append_null(),
                }
            }
            Ok(output.finish())
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
