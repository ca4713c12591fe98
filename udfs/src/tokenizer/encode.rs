//! What `tokenize` and `token_count` share: their arguments, and encoding a column of texts row by row.

use datafusion::arrow::array::Array;
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};

use super::cache::{EncodeScratch, LoadedTokenizer, TokenizerArgument};
use crate::common::{StringColumn, coerce_integer_argument, coerce_text_argument};

/// Coerces `(text, tokenizer[, max_length])`.
pub(crate) fn coerce_tokenizer_arguments(
    function: &str,
    arg_types: &[DataType],
    accepts_max_length: bool,
) -> Result<Vec<DataType>> {
    match (arg_types, accepts_max_length) {
        ([text, tokenizer], _) => Ok(vec![
            coerce_text_argument(function, "text", text)?,
            coerce_text_argument(function, "tokenizer", tokenizer)?,
        ]),
        ([text, tokenizer, max_length], true) => Ok(vec![
            coerce_text_argument(function, "text", text)?,
            coerce_text_argument(function, "tokenizer", tokenizer)?,
            coerce_integer_argument(function, "max_length", max_length)?,
        ]),
        _ if accepts_max_length => {
            plan_err!("{function}: expected (text, tokenizer[, max_length]), got {} argument(s)", arg_types.len())
        }
        _ => plan_err!("{function}: expected (text, tokenizer), got {} argument(s)", arg_types.len()),
    }
}

/// Encodes every row's text into `ids` order, calling `row_done` after each row with the offset where the
/// row's ids start and its tokenizer (or `None` for a NULL text). Returns the nulls of the text column and
/// whether every argument was a constant (the result is then one scalar).
pub(crate) fn encode_rows_into(
    args: &ScalarFunctionArgs,
    function: &str,
    ids: &mut Vec<i64>,
    mut row_done: impl FnMut(&mut Vec<i64>, Option<(usize, &LoadedTokenizer)>) -> Result<()>,
) -> Result<(Option<NullBuffer>, bool)> {
    let is_scalar = args.args.iter().all(|arg| matches!(arg, ColumnarValue::Scalar(_)));
    let rows = if is_scalar { 1 } else { args.number_rows };
    let text_array = args.args[0].to_array(rows)?;
    let texts = StringColumn::try_new(&text_array, function)?;
    let mut tokenizers = TokenizerArgument::try_new(&args.args[1], function)?;
    let mut scratch = EncodeScratch::default();
    for row in 0..rows {
        match texts.get(row) {
            Some(text) => {
                let tokenizer = tokenizers.get(row, function)?;
                let first = ids.len();
                tokenizer.encode_into(text, ids, &mut scratch)?;
                row_done(ids, Some((first, &tokenizer)))?;
            }
            None => row_done(ids, None)?,
        }
    }
    Ok((text_array.nulls().cloned(), is_scalar))
}
