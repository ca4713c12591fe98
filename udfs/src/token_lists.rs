//! Token id lists as `tokenize` and `pad_tokens` return them: `Struct<ids: List<Int64>, masks: List<Int64>>`,
//! built row by row with truncation (the closing special tokens, e.g. `[SEP]`, kept last) and padding.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, ListArray, StructArray};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::datatypes::{DataType, Field, Fields, Int64Type};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::ColumnarValue;

/// `List<Int64>` with non-null items: the type of `ids` and `masks`.
pub fn token_list_type() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Int64, false)))
}

/// `Struct<ids: List<Int64>, masks: List<Int64>>`: what `tokenize` and `pad_tokens` return.
pub fn tokenize_return_type() -> DataType {
    DataType::Struct(Fields::from(vec![
        Field::new("ids", token_list_type(), true),
        Field::new("masks", token_list_type(), true),
    ]))
}

/// How a row is fitted to a length: the id it is padded with, and how many ids at its end (the special
/// tokens the tokenizer's template closes a sequence with: 1 for BERT's `[SEP]`, 0 for GPT-2) truncation keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fit {
    pub pad_id: i64,
    pub closing: usize,
}

impl Fit {
    /// BERT's: `[PAD]` = `pad_id`, `[SEP]` closing.
    pub fn bert(pad_id: i64) -> Self {
        Self { pad_id, closing: 1 }
    }
}

/// The `ids` and `masks` columns under construction; values go straight into the buffers Arrow keeps.
/// Encoders append a row's ids to `ids` and then end the row with [`RowEnds::end_row`].
pub struct TokenLists {
    pub ids: Vec<i64>,
    pub rows: RowEnds,
}

/// Everything of [`TokenLists`] but the ids, so an encoder can borrow the ids and the rest apart.
pub struct RowEnds {
    masks: Vec<i64>,
    offsets: Vec<i32>,
}

impl Default for TokenLists {
    fn default() -> Self {
        Self { ids: Vec::new(), rows: RowEnds { masks: Vec::new(), offsets: vec![0] } }
    }
}

impl TokenLists {
    /// Room for `rows` rows and `ids` ids before any reallocation.
    pub fn with_capacity(rows: usize, ids: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        Self { ids: Vec::with_capacity(ids), rows: RowEnds { masks: Vec::with_capacity(ids), offsets } }
    }

    /// Appends one row of `row_ids`, truncated or padded as [`RowEnds::end_row`] says.
    pub fn push_row<T: Copy + Into<i64>>(&mut self, row_ids: &[T], max_length: Option<usize>, fit: Fit) -> Result<()> {
        let first = self.ids.len();
        self.ids.extend(row_ids.iter().map(|&id| id.into()));
        self.rows.end_row(&mut self.ids, first, max_length, fit)
    }

    /// Appends a row that will be NULL (no ids).
    pub fn push_null_row(&mut self) -> Result<()> {
        let first = self.ids.len();
        self.rows.end_row(&mut self.ids, first, None, Fit::bert(0))
    }

    /// The `Struct<ids, masks>` column, NULL where `nulls` says.
    pub fn finish(self, nulls: Option<NullBuffer>) -> Result<ArrayRef> {
        let offsets = OffsetBuffer::new(self.rows.offsets.into());
        let list = |values: Vec<i64>| -> ArrayRef {
            Arc::new(ListArray::new(
                Arc::new(Field::new_list_field(DataType::Int64, false)),
                offsets.clone(),
                Arc::new(Int64Array::from(values)),
                nulls.clone(),
            ))
        };
        let DataType::Struct(fields) = tokenize_return_type() else { unreachable!("a struct type") };
        Ok(Arc::new(StructArray::try_new(fields, vec![list(self.ids), list(self.rows.masks)], nulls)?))
    }
}

impl RowEnds {
    /// Ends the row whose ids are `ids[first..]`: truncated to `max_length` keeping its last `fit.closing` ids
    /// last (as `transformers` truncates the text and then closes it), or padded to it with `fit.pad_id` and
    /// mask 0; unchanged without `max_length`.
    pub fn end_row(&mut self, ids: &mut Vec<i64>, first: usize, max_length: Option<usize>, fit: Fit) -> Result<()> {
        let real = ids.len() - first;
        match max_length {
            Some(max_length) if real > max_length => {
                let closing = fit.closing.min(max_length);
                let tail = ids.len() - closing;
                ids.copy_within(tail.., first + max_length - closing);
                ids.truncate(first + max_length);
                self.masks.resize(self.masks.len() + max_length, 1);
            }
            Some(max_length) => {
                self.masks.resize(self.masks.len() + real, 1);
                ids.resize(first + max_length, fit.pad_id);
                self.masks.resize(self.masks.len() + max_length - real, 0);
            }
            None => self.masks.resize(self.masks.len() + real, 1),
        }
        let Ok(end) = i32::try_from(ids.len()) else {
            return exec_err!("more than 2^31 token ids in one batch; use a smaller batch size");
        };
        self.offsets.push(end);
        Ok(())
    }
}

/// A length argument (`max_length` of `tokenize`, `length` of `pad_tokens`): absent, one value for the
/// batch, or one per row; each at least 2, room for `[CLS]` and `[SEP]`.
pub struct MaxLengths {
    function: &'static str,
    name: &'static str,
    values: LengthValues,
}

enum LengthValues {
    Absent,
    Constant(Option<i64>),
    PerRow(Int64Array),
}

impl MaxLengths {
    /// `function` and `name` (the argument's name) are for errors.
    pub fn try_new(
        function: &'static str,
        name: &'static str,
        argument: Option<&ColumnarValue>,
        rows: usize,
    ) -> Result<Self> {
        let values = match argument {
            None => LengthValues::Absent,
            Some(ColumnarValue::Scalar(ScalarValue::Int64(value))) => LengthValues::Constant(*value),
            Some(ColumnarValue::Scalar(other)) => {
                return exec_err!("{function}: {name} must be an integer, got {other}");
            }
            Some(ColumnarValue::Array(array)) if array.len() == rows => {
                LengthValues::PerRow(array.as_primitive::<Int64Type>().clone())
            }
            Some(ColumnarValue::Array(array)) => {
                return exec_err!("{function}: {name} has {} values for {rows} rows", array.len());
            }
        };
        Ok(Self { function, name, values })
    }

    pub fn at(&self, row: usize) -> Result<Option<usize>> {
        let (function, name) = (self.function, self.name);
        let value = match &self.values {
            LengthValues::Absent => return Ok(None),
            LengthValues::Constant(value) => *value,
            LengthValues::PerRow(values) => values.is_valid(row).then(|| values.value(row)),
        };
        match value {
            None => exec_err!("{function}: {name} must not be NULL"),
            Some(length) if length < 2 => {
                exec_err!("{function}: {name} must be at least 2 (room for [CLS] and [SEP]), got {length}")
            }
            Some(length) => Ok(Some(length as usize)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(lists: TokenLists) -> (Vec<Vec<i64>>, Vec<Vec<i64>>) {
        let tokens = lists.finish(None).unwrap();
        let tokens = tokens.as_struct();
        let values = |column: usize| {
            let list = tokens.column(column).as_list::<i32>();
            (0..list.len()).map(|row| list.value(row).as_primitive::<Int64Type>().values().to_vec()).collect()
        };
        (values(0), values(1))
    }

    #[test]
    fn truncation_keeps_the_last_id_and_padding_masks_zero() {
        let mut lists = TokenLists::default();
        lists.push_row(&[102, 1, 2, 3, 103], Some(4), Fit::bert(0)).unwrap();
        lists.push_row(&[102, 1, 103], Some(5), Fit::bert(0)).unwrap();
        lists.push_row(&[102, 1, 103], Some(3), Fit::bert(0)).unwrap();
        lists.push_row(&[102, 1, 103], None, Fit::bert(0)).unwrap();
        let (ids, masks) = rows(lists);
        assert_eq!(ids, vec![vec![102, 1, 2, 103], vec![102, 1, 103, 0, 0], vec![102, 1, 103], vec![102, 1, 103]]);
        assert_eq!(masks, vec![vec![1, 1, 1, 1], vec![1, 1, 1, 0, 0], vec![1, 1, 1], vec![1, 1, 1]]);
    }

    #[test]
    fn truncation_keeps_as_many_closing_ids_as_the_template_adds() {
        let mut lists = TokenLists::default();
        // GPT-2: no closing token, the first ids are kept.
        lists.push_row(&[5, 6, 7, 8], Some(2), Fit { pad_id: 9, closing: 0 }).unwrap();
        // Two closing tokens (e.g. `$A </s> <eos>`).
        lists.push_row(&[0, 5, 6, 7, 2, 3], Some(4), Fit { pad_id: 1, closing: 2 }).unwrap();
        // Padding with the tokenizer's own pad id.
        lists.push_row(&[0, 5, 2], Some(5), Fit { pad_id: 1, closing: 1 }).unwrap();
        let (ids, masks) = rows(lists);
        assert_eq!(ids, vec![vec![5, 6], vec![0, 5, 2, 3], vec![0, 5, 2, 1, 1]]);
        assert_eq!(masks, vec![vec![1, 1], vec![1, 1, 1, 1], vec![1, 1, 1, 0, 0]]);
    }
}
