//! `tokenize(text, tokenizer[, max_length])`: BERT WordPiece token ids and attention mask.

use datafusion::arrow::array::Array;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::token_lists::{Fit, MaxLengths, TokenLists, tokenize_return_type};
use crate::tokenizer::encode::{coerce_tokenizer_arguments, encode_rows_into};

#[user_doc(
    doc_section(label = "mlprep Functions"),
    description = "Tokenizes text with a BERT `vocab.txt` or any Hugging Face `tokenizer.json`. Returns a struct `{ids: List<Int64>, masks: List<Int64>}`: the token ids with \
         the tokenizer's special tokens (`[CLS]` first and `[SEP]` last for BERT) and the attention mask (1 per \
         token). `tokenizer` is the path of a BERT `vocab.txt` (encoded as BERT uncased: lowercase, strip \
         accents, split punctuation, greedy longest-match WordPiece, a word over 100 characters becomes \
         `[UNK]`) or of a HuggingFace `tokenizer.json` of any model the `tokenizers` crate loads (WordPiece, \
         byte-level BPE, Unigram), with its own normalizer, pre-tokenizer and post-processor (its own \
         truncation and padding settings are not applied); it is loaded once per process. With `max_length`, \
         longer encodings are truncated to `max_length` keeping the special tokens that close them (`[SEP]`, \
         `</s>`; none for GPT-2) last, and shorter ones padded with the tokenizer's pad id (its padding \
         settings', or `[PAD]` or `<pad>`) and mask 0, so every row has exactly `max_length` ids, as \
         `transformers` gives them with `truncation=True, padding=\"max_length\"`. NULL text gives NULL. Read \
         the parts with `tokenize(...)['ids']` and `tokenize(...)['masks']`.",
    syntax_example = "tokenize(text, tokenizer[, max_length])",
    sql_example = "```sql\n> SELECT tokenize('graph neural networks', 'vocab.txt', 8)['ids'] AS ids;\n+---------------------------------------+\n| ids                                   |\n+---------------------------------------+\n| [102, 1845, 3687, 2449, 103, 0, 0, 0] |\n+---------------------------------------+\n```",
    argument(name = "text", description = "String expression (Utf8, LargeUtf8 or Utf8View)."),
    argument(name = "tokenizer", description = "Path of a BERT vocab.txt or a HuggingFace tokenizer.json."),
    argument(
        name = "max_length",
        description = "Optional integer >= 2 (a constant or a column): truncate and pad the row to this many ids."
    ),
    related_udf(name = "token_count"),
    related_udf(name = "clean_text")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Tokenize {
    signature: Signature,
}

impl Default for Tokenize {
    fn default() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for Tokenize {
    fn name(&self) -> &str {
        "tokenize"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(tokenize_return_type())
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_tokenizer_arguments("tokenize", arg_types, true)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let max_lengths = MaxLengths::try_new("tokenize", "max_length", args.args.get(2), args.number_rows)?;
        let mut row = 0;
        // About one id per 5 bytes of cleaned text, plus [CLS] and [SEP]: few reallocations. Capped per row,
        // because a sliced string array (Utf8View especially) can hold buffers far larger than its rows.
        let rows = args.number_rows;
        let text_bytes = match &args.args[0] {
            ColumnarValue::Array(array) => array.get_buffer_memory_size(),
            ColumnarValue::Scalar(_) => 0,
        };
        let mut lists = TokenLists::with_capacity(rows, (text_bytes / 5 + 2 * rows).min(128 * rows));
        let TokenLists { ids, rows } = &mut lists;
        let (nulls, is_scalar) = encode_rows_into(&args, "tokenize", ids, |ids, encoding| {
            let max_length = max_lengths.at(row)?;
            row += 1;
            match encoding {
                // Unpadded rows need no pad token.
                Some((first, _)) if max_length.is_none() => rows.end_row(ids, first, None, Fit::bert(0)),
                Some((first, tokenizer)) => rows.end_row(ids, first, max_length, tokenizer.fit()?),
                None => rows.end_row(ids, ids.len(), None, Fit::bert(0)),
            }
        })?;
        let tokens = lists.finish(nulls)?;
        Ok(if is_scalar {
            ColumnarValue::Scalar(datafusion::common::ScalarValue::try_from_array(&tokens, 0)?)
        } else {
            ColumnarValue::Array(tokens)
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
