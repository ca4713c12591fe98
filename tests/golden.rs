//! The SQL functions against the original Python pipeline's outputs (`../shared/data/golden`).

mod common;

use std::collections::BTreeMap;

use common::{dataset_csv, golden_rows, scibert_vocab, shared_data, tricky_texts};
use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::Int64Type;
use mlprep::sql::ScriptRunner;
use mlprep::{SessionOptions, session_context};
use mlprep_udfs::TextCleaner;
use mlprep_udfs::tokenizer::{EncodeScratch, load_tokenizer};

#[test]
fn stopwords_are_the_original_list_in_order() {
    let file = std::fs::read_to_string(shared_data().join("stopwords_en.txt")).unwrap();
    let expected: Vec<&str> = file.lines().filter(|line| !line.is_empty()).collect();
    assert_eq!(mlprep_udfs::STOPWORDS.to_vec(), expected);
}

#[test]
fn tricky_texts_clean_exactly() {
    let mut cleaner = TextCleaner::default();
    let tricky = tricky_texts();
    assert_eq!(tricky.len(), 52);
    for case in &tricky {
        assert_eq!(cleaner.clean(&case.input), case.text_clean, "case {} input {:?}", case.name, case.input);
    }
}

#[test]
fn tricky_texts_tokenize_exactly_on_both_paths() {
    let tokenizer = load_tokenizer(scibert_vocab().to_str().unwrap()).unwrap();
    assert!(tokenizer.has_fast_path());
    let mut scratch = EncodeScratch::default();
    for case in tricky_texts() {
        let mut fast = Vec::new();
        tokenizer.encode_into(&case.text_clean, &mut fast, &mut scratch).unwrap();
        assert_eq!(fast, case.ids, "case {} text {:?}", case.name, case.text_clean);
        let mut reference = Vec::new();
        tokenizer.encode_with_reference_into(&case.text_clean, &mut reference).unwrap();
        assert_eq!(reference, case.ids, "reference, case {}", case.name);
    }
}

/// The whole dataset through the registered CSV and the SQL functions: every row's cleaned text and ids.
#[tokio::test]
async fn every_dataset_row_cleans_and_tokenizes_exactly() {
    let golden: BTreeMap<i64, common::GoldenRow> = golden_rows().into_iter().map(|row| (row.id, row)).collect();
    assert_eq!(golden.len(), 764);
    let vocab = scibert_vocab();
    let mut runner = ScriptRunner::new(
        session_context(&SessionOptions { partitions: 3, ..Default::default() }).unwrap(),
        BTreeMap::from([("data".to_owned(), dataset_csv().display().to_string())]),
    );
    runner.run_script("01_register.sql", mlprep::sql::scripts::REGISTER.text, None).await.unwrap();
    let sql = format!(
        "SELECT id, clean_text(title || ' ' || description) AS text, \
                tokenize(clean_text(title || ' ' || description), '{}')['ids'] AS ids \
         FROM projects ORDER BY id",
        vocab.display()
    );
    let batches = runner.context().sql(&sql).await.unwrap().collect().await.unwrap();
    let mut seen = 0;
    for batch in &batches {
        let ids = batch.column(0).as_primitive::<Int64Type>();
        let texts =
            datafusion::arrow::compute::cast(batch.column(1), &datafusion::arrow::datatypes::DataType::Utf8).unwrap();
        let texts = texts.as_string::<i32>();
        let token_lists = batch.column(2).as_list::<i32>();
        for row in 0..batch.num_rows() {
            let id = ids.value(row);
            let expected = &golden[&id];
            assert_eq!(texts.value(row), expected.text_clean, "clean_text of id {id}");
            let tokens = token_lists.value(row);
            assert_eq!(tokens.as_primitive::<Int64Type>().values().to_vec(), expected.ids, "ids of id {id}");
            seen += 1;
        }
    }
    assert_eq!(seen, 764);
}

/// The fast WordPiece path and the `tokenizers` crate agree on every golden text.
#[test]
fn fast_path_matches_the_tokenizers_crate_on_the_dataset() {
    let tokenizer = load_tokenizer(scibert_vocab().to_str().unwrap()).unwrap();
    let mut scratch = EncodeScratch::default();
    for row in golden_rows() {
        let (mut fast, mut reference) = (Vec::new(), Vec::new());
        tokenizer.encode_into(&row.text_clean, &mut fast, &mut scratch).unwrap();
        tokenizer.encode_with_reference_into(&row.text_clean, &mut reference).unwrap();
        assert_eq!(fast, reference, "id {}", row.id);
        assert_eq!(fast, row.ids, "id {}", row.id);
    }
}

/// A BERT tokenizer.json (serialized by the `tokenizers` crate from the SciBERT vocabulary) takes the fast
/// path and gives the golden ids; a configuration that is not plain BERT falls back to the crate; a
/// corrupt file is a clear error.
#[test]
fn tokenizer_json_fast_path_is_detected_never_guessed() {
    use tokenizers::Tokenizer;
    use tokenizers::models::wordpiece::WordPiece;
    use tokenizers::normalizers::BertNormalizer;
    use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
    use tokenizers::pre_tokenizers::whitespace::Whitespace;
    use tokenizers::processors::bert::BertProcessing;

    let directory = tempfile::tempdir().unwrap();
    let model = WordPiece::from_file(scibert_vocab().to_str().unwrap()).unk_token("[UNK]".into()).build().unwrap();
    let mut bert = Tokenizer::new(model);
    bert.with_normalizer(Some(BertNormalizer::new(true, true, None, true))).unwrap();
    bert.with_pre_tokenizer(Some(BertPreTokenizer));
    bert.with_post_processor(Some(BertProcessing::new(("[SEP]".into(), 103), ("[CLS]".into(), 102))));
    let bert_path = directory.path().join("bert.json");
    std::fs::write(&bert_path, bert.to_string(false).unwrap()).unwrap();

    let mut other = bert.clone();
    other.with_pre_tokenizer(Some(Whitespace {}));
    let other_path = directory.path().join("whitespace.json");
    std::fs::write(&other_path, other.to_string(false).unwrap()).unwrap();

    let mut scratch = EncodeScratch::default();
    let loaded = load_tokenizer(bert_path.to_str().unwrap()).unwrap();
    assert!(loaded.has_fast_path(), "a plain BERT tokenizer.json uses the fast path");
    for row in golden_rows().iter().take(200) {
        let mut ids = Vec::new();
        loaded.encode_into(&row.text_clean, &mut ids, &mut scratch).unwrap();
        assert_eq!(ids, row.ids, "id {}", row.id);
    }

    let loaded = load_tokenizer(other_path.to_str().unwrap()).unwrap();
    assert!(!loaded.has_fast_path(), "a Whitespace pre-tokenizer is not BERT's: the crate must encode");
    let mut ids = Vec::new();
    loaded.encode_into("state-of-the-art", &mut ids, &mut scratch).unwrap();
    let expected: Vec<i64> =
        other.encode("state-of-the-art", true).unwrap().get_ids().iter().map(|&id| i64::from(id)).collect();
    assert_eq!(ids, expected);

    let corrupt = directory.path().join("corrupt.json");
    std::fs::write(&corrupt, "{\"model\": {\"type\": \"WordPiece\"").unwrap();
    let error = load_tokenizer(corrupt.to_str().unwrap()).err().unwrap().to_string();
    assert!(error.contains("corrupt.json") && error.contains("cannot be loaded"), "{error}");

    let no_specials = directory.path().join("vocab.txt");
    std::fs::write(&no_specials, "[PAD]\n[UNK]\nhello\n").unwrap();
    let error = load_tokenizer(no_specials.to_str().unwrap()).err().unwrap().to_string();
    assert!(error.contains("lacks the special token(s) [CLS], [SEP]"), "{error}");

    let empty = directory.path().join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    let error = load_tokenizer(empty.to_str().unwrap()).err().unwrap().to_string();
    assert!(error.contains("empty.txt") && error.contains("is empty"), "{error}");
}

/// Differential fuzzing of the fast path against the `tokenizers` crate: random texts built from what
/// stresses WordPiece (vocabulary pieces glued together, digits, every ASCII punctuation character, capitals,
/// runs of whitespace, words over 100 characters, non-ASCII letters, accents and emoji that must fall back),
/// raw and after `clean_text`; every one must give the crate's ids exactly.
#[test]
fn fast_path_matches_the_tokenizers_crate_on_fuzzed_texts() {
    use rand::{Rng, SeedableRng};
    let tokenizer = load_tokenizer(scibert_vocab().to_str().unwrap()).unwrap();
    assert!(tokenizer.has_fast_path());
    let vocab = std::fs::read_to_string(scibert_vocab()).unwrap();
    let pieces: Vec<&str> = vocab.lines().filter(|piece| !piece.starts_with('[')).collect();
    let odd = ["é", "ß", "İ", "中文", "🚀", "\u{301}", "½", "\t", "\n", "  ", "[MASK]", "Ⅻ", "ǅ"];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20_261_125);
    let mut cleaner = TextCleaner::default();
    let mut scratch = EncodeScratch::default();
    let (mut fast, mut fallback) = (0, 0);
    for case in 0..20_000 {
        let mut text = String::new();
        for _ in 0..rng.random_range(0..12) {
            match rng.random_range(0..10) {
                0..=4 => {
                    // One word of one to four pieces, the continuations without their `##`.
                    for _ in 0..rng.random_range(1..5) {
                        text.push_str(pieces[rng.random_range(0..pieces.len())].trim_start_matches("##"));
                    }
                }
                5 => text.push(char::from(rng.random_range(b'!'..=b'~'))),
                6 => text.push_str(&rng.random_range(0..100_000u32).to_string()),
                7 => text.push_str(&"x".repeat(rng.random_range(95..110))),
                8 => text.push_str(odd[rng.random_range(0..odd.len())]),
                _ => text.push_str(&pieces[rng.random_range(0..pieces.len())].to_uppercase()),
            }
            text.push(' ');
        }
        let cleaned = cleaner.clean(&text).to_owned();
        for input in [text.as_str(), cleaned.as_str()] {
            let (mut ours, mut reference) = (Vec::new(), Vec::new());
            tokenizer.encode_into(input, &mut ours, &mut scratch).unwrap();
            tokenizer.encode_with_reference_into(input, &mut reference).unwrap();
            assert_eq!(ours, reference, "case {case}: {input:?}");
            if input.is_ascii() && !input.contains('[') { fast += 1 } else { fallback += 1 }
        }
    }
    // Both paths were exercised, the fast one on most inputs.
    assert!(fast > 20_000 && fallback > 1_000, "fast {fast}, fallback {fallback}");
}
