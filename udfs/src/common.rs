//! Helpers shared by the functions: reading string columns of any Arrow string type, building string
//! columns of the same type, reading constant arguments, and the hasher of maps keyed by short byte strings.

use std::hash::Hasher;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, GenericStringBuilder, LargeStringArray, StringArray, StringViewArray, StringViewBuilder,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::ColumnarValue;

/// A borrowed string column of any of Arrow's three string layouts.
pub enum StringColumn<'a> {
    Utf8(&'a StringArray),
    LargeUtf8(&'a LargeStringArray),
    Utf8View(&'a StringViewArray),
}

impl<'a> StringColumn<'a> {
    /// Views `array` as strings; `function` names the caller in the error.
    pub fn try_new(array: &'a ArrayRef, function: &str) -> Result<Self> {
        Ok(match array.data_type() {
            DataType::Utf8 => Self::Utf8(array.as_string::<i32>()),
            DataType::LargeUtf8 => Self::LargeUtf8(array.as_string::<i64>()),
            DataType::Utf8View => Self::Utf8View(array.as_string_view()),
            other => return exec_err!("{function}: expected a string column, got {other}"),
        })
    }

    pub fn len(&self) -> usize {
        match self {
            Self::Utf8(array) => array.len(),
            Self::LargeUtf8(array) => array.len(),
            Self::Utf8View(array) => array.len(),
        }
    }

    /// The string at `row`, `None` when it is null.
    #[inline]
    pub fn get(&self, row: usize) -> Option<&'a str> {
        match self {
            Self::Utf8(array) => array.is_valid(row).then(|| array.value(row)),
            Self::LargeUtf8(array) => array.is_valid(row).then(|| array.value(row)),
            Self::Utf8View(array) => array.is_valid(row).then(|| array.value(row)),
        }
    }

    /// Total bytes of string data, for sizing output buffers.
    pub fn value_bytes(&self) -> usize {
        match self {
            Self::Utf8(array) => array.value_data().len(),
            Self::LargeUtf8(array) => array.value_data().len(),
            Self::Utf8View(array) => array.total_buffer_bytes_used() + array.len() * 12,
        }
    }
}

/// Builds a string column of the same layout as the input, so a function maps Utf8 to Utf8, LargeUtf8 to
/// LargeUtf8 and Utf8View to Utf8View.
pub enum StringColumnBuilder {
    Utf8(GenericStringBuilder<i32>),
    LargeUtf8(GenericStringBuilder<i64>),
    Utf8View(StringViewBuilder),
}

impl StringColumnBuilder {
    pub fn for_type(data_type: &DataType, rows: usize, bytes: usize) -> Result<Self> {
        Ok(match data_type {
            DataType::Utf8 => Self::Utf8(GenericStringBuilder::with_capacity(rows, bytes)),
            DataType::LargeUtf8 => Self::LargeUtf8(GenericStringBuilder::with_capacity(rows, bytes)),
            DataType::Utf8View => Self::Utf8View(StringViewBuilder::with_capacity(rows)),
            other => return exec_err!("cannot build a string column of type {other}"),
        })
    }

    #[inline]
    pub fn append_value(&mut self, value: &str) {
        match self {
            Self::Utf8(builder) => builder.append_value(value),
            Self::LargeUtf8(builder) => builder.append_value(value),
            Self::Utf8View(builder) => builder.append_value(value),
        }
    }

    #[inline]
    pub fn append_null(&mut self) {
        match self {
            Self::Utf8(builder) => builder.append_null(),
            Self::LargeUtf8(builder) => builder.append_null(),
            Self::Utf8View(builder) => builder.append_null(),
        }
    }

    pub fn finish(self) -> ArrayRef {
        match self {
            Self::Utf8(mut builder) => Arc::new(builder.finish()),
            Self::LargeUtf8(mut builder) => Arc::new(builder.finish()),
            Self::Utf8View(mut builder) => Arc::new(builder.finish()),
        }
    }
}

pub fn is_string_type(data_type: &DataType) -> bool {
    matches!(data_type, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// Plan-time coercion of an argument that must be text: strings keep their layout, NULL becomes Utf8.
pub fn coerce_text_argument(function: &str, argument: &str, data_type: &DataType) -> Result<DataType> {
    match data_type {
        t if is_string_type(t) => Ok(t.clone()),
        DataType::Null => Ok(DataType::Utf8),
        DataType::Dictionary(_, value_type) if is_string_type(value_type) => Ok(value_type.as_ref().clone()),
        other => plan_err!("{function}: argument `{argument}` must be a string, got {other}"),
    }
}

/// Plan-time coercion of an argument that must be an integer: every integer type becomes Int64.
pub fn coerce_integer_argument(function: &str, argument: &str, data_type: &DataType) -> Result<DataType> {
    if data_type.is_integer() || *data_type == DataType::Null {
        Ok(DataType::Int64)
    } else {
        plan_err!("{function}: argument `{argument}` must be an integer, got {data_type}")
    }
}

/// Runs `compute` over the arguments as arrays. When every argument is a scalar (a constant expression)
/// the function is computed once, on one row, and the result is a scalar again.
pub fn invoke_on_arrays(
    args: &[ColumnarValue],
    number_rows: usize,
    compute: impl FnOnce(&[ArrayRef]) -> Result<ArrayRef>,
) -> Result<ColumnarValue> {
    let all_scalar = args.iter().all(|arg| matches!(arg, ColumnarValue::Scalar(_)));
    let rows = if all_scalar { 1 } else { number_rows };
    let arrays = args.iter().map(|arg| arg.to_array(rows)).collect::<Result<Vec<_>>>()?;
    let output = compute(&arrays)?;
    if all_scalar {
        Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&output, 0)?))
    } else {
        Ok(ColumnarValue::Array(output))
    }
}

/// FNV-1a, for maps keyed by short byte strings (word pieces, stopwords), where it beats SipHash; the keys
/// are the vocabulary's and the stopword list's, not untrusted input.
#[derive(Default)]
pub struct FnvHasher(u64);

impl Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for &byte in bytes {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }
}
