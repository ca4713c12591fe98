//! `seeded_hash(seed, value, ...)`: a release- and platform-stable 64-bit hash, the shuffle key of mlprep.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type, UInt64Type};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::{StringColumn, coerce_integer_argument, invoke_on_arrays, is_string_type};
use crate::xxhash64::xxh64;

/// Folded into the running hash for a NULL value, so that NULL differs from every value, including the empty string.
const NULL_MARKER: u64 = 0x6e75_6c6c_6e75_6c6c;

#[user_doc(
    doc_section(label = "mlprep Functions"),
    description = "Hashes one or more values with a seed into a UInt64 that never changes across releases, \
         platforms or partitionings: the shuffle key of mlprep's seeded, stratified split.\n\n\
         Algorithm: h0 = seed reinterpreted as UInt64; for each value v_i, h_i = XXH64(bytes(v_i), h_(i-1)); \
         the result is h_n. bytes(v): integers are widened to 64 bits and written little-endian (so 6 hashes \
         the same as an Int32, Int64 or UInt8); floats as the little-endian IEEE-754 bits of the Float64 \
         (-0.0 as 0.0, every NaN as the canonical NaN); booleans as one byte 0 or 1; strings as their UTF-8 \
         bytes (Utf8, LargeUtf8 and Utf8View alike); binary as its bytes; any other type (dates, timestamps, \
         decimals) as the UTF-8 bytes of its cast to a string. A NULL value gives \
         h_i = XXH64(empty, h_(i-1) XOR 0x6e756c6c6e756c6c). NULL seed gives NULL.",
    syntax_example = "seeded_hash(seed, value[, value ...])",
    sql_example = "```sql\n> SELECT seeded_hash(1234, 6);\n+-----------------------------------+\n| seeded_hash(Int64(1234),Int64(6)) |\n+-----------------------------------+\n| 439669070531309779                |\n+-----------------------------------+\n```",
    argument(name = "seed", description = "Integer seed (any integer type)."),
    argument(name = "value", description = "One or more values of any type; their order matters.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SeededHash {
    signature: Signature,
}

impl Default for SeededHash {
    fn default() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for SeededHash {
    fn name(&self) -> &str {
        "seeded_hash"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::UInt64)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() < 2 {
            return plan_err!(
                "seeded_hash: expected a seed and at least one value, got {} argument(s)",
                arg_types.len()
            );
        }
        let mut coerced = vec![coerce_integer_argument("seeded_hash", "seed", &arg_types[0])?];
        coerced.extend(arg_types[1..].iter().map(hashed_type));
        Ok(coerced)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        invoke_on_arrays(&args.args, args.number_rows, |arrays| {
            let seeds = arrays[0].as_primitive::<Int64Type>();
            let mut hashes: Vec<u64> = seeds.values().iter().map(|&seed| seed as u64).collect();
            for values in &arrays[1..] {
                fold_values(&mut hashes, values)?;
            }
            Ok(Arc::new(UInt64Array::new(hashes.into(), seeds.nulls().cloned())) as ArrayRef)
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// The type a value is hashed as: see the function's documentation.
fn hashed_type(data_type: &DataType) -> DataType {
    match data_type {
        t if t.is_signed_integer() => DataType::Int64,
        t if t.is_unsigned_integer() => DataType::UInt64,
        t if t.is_floating() => DataType::Float64,
        t if is_string_type(t) => t.clone(),
        DataType::Boolean | DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::Null => {
            data_type.clone()
        }
        DataType::FixedSizeBinary(_) => DataType::Binary,
        DataType::Dictionary(_, value_type) => hashed_type(value_type),
        _ => DataType::Utf8,
    }
}

#[inline]
fn fold(hash: &mut u64, bytes: Option<&[u8]>) {
    *hash = match bytes {
        Some(bytes) => xxh64(bytes, *hash),
        None => xxh64(&[], *hash ^ NULL_MARKER),
    };
}

fn fold_values(hashes: &mut [u64], values: &ArrayRef) -> Result<()> {
    let valid = |row: usize| values.is_valid(row);
    match values.data_type() {
        DataType::Int64 => {
            let values = values.as_primitive::<Int64Type>();
            for (row, hash) in hashes.iter_mut().enumerate() {
                fold(hash, valid(row).then(|| values.value(row).to_le_bytes()).as_ref().map(|b| &b[..]));
            }
        }
        DataType::UInt64 => {
            let values = values.as_primitive::<UInt64Type>();
            for (row, hash) in hashes.iter_mut().enumerate() {
                fold(hash, valid(row).then(|| values.value(row).to_le_bytes()).as_ref().map(|b| &b[..]));
            }
        }
        DataType::Float64 => {
            let values = values.as_primitive::<Float64Type>();
            for (row, hash) in hashes.iter_mut().enumerate() {
                let bits = valid(row).then(|| canonical_float_bits(values.value(row)).to_le_bytes());
                fold(hash, bits.as_ref().map(|b| &b[..]));
            }
        }
        DataType::Boolean => {
            let values = values.as_boolean();
            for (row, hash) in hashes.iter_mut().enumerate() {
                fold(hash, valid(row).then(|| [u8::from(values.value(row))]).as_ref().map(|b| &b[..]));
            }
        }
        t if is_string_type(t) => {
            let strings = StringColumn::try_new(values, "seeded_hash")?;
            for (row, hash) in hashes.iter_mut().enumerate() {
                fold(hash, strings.get(row).map(str::as_bytes));
            }
        }
        DataType::Binary => {
            let values = values.as_binary::<i32>();
            for (row, hash) in hashes.iter_mut().enumerate() {
                fold(hash, valid(row).then(|| values.value(row)));
            }
        }
        DataType::LargeBinary => {
            let values = values.as_binary::<i64>();
            for (row, hash) in hashes.iter_mut().enumerate() {
                fold(hash, valid(row).then(|| values.value(row)));
            }
        }
        DataType::BinaryView => {
            let values = values.as_binary_view();
            for (row, hash) in hashes.iter_mut().enumerate() {
                fold(hash, valid(row).then(|| values.value(row)));
            }
        }
        DataType::Null => hashes.iter_mut().for_each(|hash| fold(hash, None)),
        other => return exec_err!("seeded_hash: cannot hash values of type {other}"),
    }
    Ok(())
}

fn canonical_float_bits(value: f64) -> u64 {
    if value.is_nan() {
        f64::NAN.to_bits()
    } else if value == 0.0 {
        0
    } else {
        value.to_bits()
    }
}
