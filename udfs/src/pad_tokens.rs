//! `pad_tokens(ids, length, pad_id)`: token ids truncated or padded to a length, with their attention mask.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, ListArray};
use datafusion::arrow::datatypes::{DataType, Field, Int32Type, Int64Type};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::{coerce_integer_argument, invoke_on_arrays};
use crate::token_lists::{Fit, MaxLengths, TokenLists, tokenize_return_type};

#[user_doc(
    doc_section(label = "mlprep Functions"),
    description = "Fits token ids to `length`: longer lists are truncated keeping their last `closing` ids (default 1: \
         `[SEP]`; 0 for a tokenizer whose template closes nothing, such as GPT-2's) last, shorter \
         ones padded with `pad_id` and mask 0. Returns the same `{ids, masks}` struct as `tokenize`, so \
         `pad_tokens(tokenize(text, tok)['ids'], n, 0)` equals `tokenize(text, tok, n)`: tokenize once, unpadded, \
         and choose the length later (e.g. the longest row of a split). NULL ids give NULL.",
    syntax_example = "pad_tokens(ids, length, pad_id[, closing])",
    sql_example = "```sql\n> SELECT pad_tokens([102, 1845, 103], 5, 0) AS padded;\n+-------------------------------------------------------+\n| padded                                                |\n+-------------------------------------------------------+\n| {ids: [102, 1845, 103, 0, 0], masks: [1, 1, 1, 0, 0]} |\n+-------------------------------------------------------+\n```",
    argument(name = "ids", description = "List of integer token ids, e.g. `tokenize(...)['ids']`."),
    argument(
        name = "length",
        description = "Integer >= 2 (a constant or a column): the number of ids every row gets."
    ),
    argument(
        name = "pad_id",
        description = "Integer, the same on every row (a constant): the id of `[PAD]` (0 in BERT vocabularies)."
    ),
    argument(
        name = "closing",
        description = "Optional integer, the same on every row: how many ids at the end of each list (the special \
             tokens the tokenizer's template closes a text with) truncation keeps; default 1."
    ),
    related_udf(name = "tokenize")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PadTokens {
    signature: Signature,
}

impl Default for PadTokens {
    fn default() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

/// The value of a constant integer argument. A constant arrives as an array when the function is called
/// through datafusion-ffi (from datafusion-python): one value repeated.
fn constant_argument(argument: &ColumnarValue, name: &str) -> Result<i64> {
    match argument {
        ColumnarValue::Scalar(ScalarValue::Int64(Some(value))) => Ok(*value),
        ColumnarValue::Array(array) => match one_value(array.as_primitive::<Int64Type>()) {
            Some(value) => Ok(value),
            None => exec_err!("pad_tokens: {name} must be the same non-NULL integer on every row"),
        },
        _ => exec_err!("pad_tokens: {name} must be the same non-NULL integer on every row"),
    }
}

/// The value every element of `array` has, when it has one and no NULL.
fn one_value(array: &datafusion::arrow::array::Int64Array) -> Option<i64> {
    let first = array.iter().next().flatten()?;
    (array.null_count() == 0 && array.values().iter().all(|value| *value == first)).then_some(first)
}

impl ScalarUDFImpl for PadTokens {
    fn name(&self) -> &str {
        "pad_tokens"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(tokenize_return_type())
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let (ids, length, pad_id, closing) = match arg_types {
            [ids, length, pad_id] => (ids, length, pad_id, None),
            [ids, length, pad_id, closing] => (ids, length, pad_id, Some(closing)),
            _ => {
                return plan_err!(
                    "pad_tokens: expected (ids, length, pad_id[, closing]), got {} argument(s)",
                    arg_types.len()
                );
            }
        };
        let item_type = match ids {
            DataType::List(item) | DataType::LargeList(item) | DataType::FixedSizeList(item, _) => {
                Some(item.data_type().clone())
            }
            DataType::Null => Some(DataType::Null),
            _ => None,
        };
        // Int32 ids (half the bytes, e.g. as staged by the pipeline) are read as they are; other integer
        // types become Int64.
        let item_type = match item_type {
            Some(DataType::Int32) => DataType::Int32,
            Some(item) if item.is_integer() || item == DataType::Null => DataType::Int64,
            _ => return plan_err!("pad_tokens: argument `ids` must be a list of integers, got {ids}"),
        };
        let mut types = vec![
            DataType::List(Arc::new(Field::new_list_field(item_type, true))),
            coerce_integer_argument("pad_tokens", "length", length)?,
            coerce_integer_argument("pad_tokens", "pad_id", pad_id)?,
        ];
        if let Some(closing) = closing {
            types.push(coerce_integer_argument("pad_tokens", "closing", closing)?);
        }
        Ok(types)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let pad_id = constant_argument(&args.args[2], "pad_id")?;
        let closing = match args.args.get(3) {
            None => 1,
            Some(closing) => match usize::try_from(constant_argument(closing, "closing")?) {
                Ok(closing) => closing,
                Err(_) => return exec_err!("pad_tokens: closing must not be negative"),
            },
        };
        let fit = Fit { pad_id, closing };
        let constant_length = match &args.args[1] {
            ColumnarValue::Scalar(ScalarValue::Int64(Some(length))) if *length >= 2 => Some(*length as usize),
            _ => None,
        };
        invoke_on_arrays(&args.args[..2], args.number_rows, |arrays| {
            let ids = arrays[0].as_list::<i32>();
            let lengths = MaxLengths::try_new(
                "pad_tokens",
                "length",
                Some(&ColumnarValue::Array(Arc::clone(&arrays[1]))),
                ids.len(),
            )?;
            if ids.values().null_count() > 0 {
                return exec_err!("pad_tokens: ids must not hold NULL items");
            }
            let expected_ids = constant_length.map_or(ids.values().len(), |length| length * ids.len());
            let mut lists = TokenLists::with_capacity(ids.len(), expected_ids);
            match ids.values().data_type() {
                DataType::Int32 => {
                    pad_rows(ids, ids.values().as_primitive::<Int32Type>().values(), &lengths, fit, &mut lists)?
                }
                _ => pad_rows(ids, ids.values().as_primitive::<Int64Type>().values(), &lengths, fit, &mut lists)?,
            }
            lists.finish(ids.nulls().cloned())
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// Appends every row of `ids` (whose items are `values`) to `lists`, fitted to its length.
fn pad_rows<T: Copy + Into<i64>>(
    ids: &ListArray,
    values: &[T],
    lengths: &MaxLengths,
    fit: Fit,
    lists: &mut TokenLists,
) -> Result<()> {
    let offsets = ids.value_offsets();
    for row in 0..ids.len() {
        if ids.is_null(row) {
            lists.push_null_row()?;
        } else {
            let row_ids = &values[offsets[row] as usize..offsets[row + 1] as usize];
            lists.push_row(row_ids, lengths.at(row)?, fit)?;
        }
    }
    Ok(())
}
