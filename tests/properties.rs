//! Properties of `clean_text` and `tokenize` on arbitrary Unicode, and `clean_text` against a reference
//! written here from the original's regular expressions, step by step, as plainly as possible (no shared
//! code with the one-pass cleaner but Python's `\w` character table, which has its own tests).

mod common;

use std::sync::Arc;

use common::{scibert_vocab, shared_data};
use datafusion::arrow::array::{Array, AsArray, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema};
use datafusion::datasource::MemTable;
use mlprep::{SessionOptions, session_context};
use mlprep_udfs::TextCleaner;
use mlprep_udfs::python_text::is_word_char;
use rand::{Rng, SeedableRng};

/// The original's `clean_text`, one regular expression at a time, from the stopword list of the course.
struct ReferenceCleaner {
    stopwords: Vec<Vec<char>>,
}

impl ReferenceCleaner {
    fn new() -> Self {
        let list = std::fs::read_to_string(shared_data().join("stopwords_en.txt")).unwrap();
        Self { stopwords: list.lines().filter(|line| !line.is_empty()).map(|word| word.chars().collect()).collect() }
    }

    fn clean(&self, text: &str) -> String {
        // 1. text.lower()
        let text: Vec<char> = text.to_lowercase().chars().collect();
        // 2. re.sub(r"\b(" + "|".join(STOPWORDS) + r")\b\s*", " ", text): leftmost match, alternatives in order.
        let boundary = |text: &[char], at: usize| {
            let before = at > 0 && is_word_char(text[at - 1]);
            let after = at < text.len() && is_word_char(text[at]);
            before != after
        };
        let mut without_stopwords = Vec::new();
        let mut at = 0;
        'scan: while at < text.len() {
            if boundary(&text, at) {
                for word in &self.stopwords {
                    let end = at + word.len();
                    if end <= text.len() && text[at..end] == word[..] && boundary(&text, end) {
                        let mut next = end;
                        while next < text.len() && text[next].is_whitespace() {
                            next += 1;
                        }
                        without_stopwords.push(' ');
                        at = next;
                        continue 'scan;
                    }
                }
            }
            without_stopwords.push(text[at]);
            at += 1;
        }
        // 3. re.sub(r"([!\"'#$%&()*\+,-./:;<=>?@\\\[\]^_`{|}~])", r" \1 ", text)
        let mut spaced = Vec::new();
        for c in without_stopwords {
            if "!\"'#$%&()*+,-./:;<=>?@\\[]^_`{|}~".contains(c) {
                spaced.extend([' ', c, ' ']);
            } else {
                spaced.push(c);
            }
        }
        // 4. re.sub("[^A-Za-z0-9]+", " ", text)
        let mut kept = String::new();
        for c in spaced {
            if c.is_ascii_alphanumeric() {
                kept.push(c);
            } else if !kept.ends_with(' ') {
                kept.push(' ');
            }
        }
        // 5. re.sub(" +", " ", text) then text.strip() (only spaces are left to strip)
        let mut collapsed = String::new();
        for c in kept.chars() {
            if !(c == ' ' && collapsed.ends_with(' ')) {
                collapsed.push(c);
            }
        }
        let stripped = collapsed.trim_matches(' ');
        // 6. re.sub(r"http\S+", "", text)
        let chars: Vec<char> = stripped.chars().collect();
        let mut out = String::new();
        let mut at = 0;
        while at < chars.len() {
            let http = chars[at..].starts_with(&['h', 't', 't', 'p']);
            if http && at + 4 < chars.len() && !chars[at + 4].is_whitespace() {
                at += 4;
                while at < chars.len() && !chars[at].is_whitespace() {
                    at += 1;
                }
                continue;
            }
            out.push(chars[at]);
            at += 1;
        }
        out
    }
}

/// Random text from pieces that exercise every rule: stopwords (some with apostrophes, some glued to other
/// words), punctuation, URLs, digits, whitespace of all kinds, letters from many scripts, combining marks,
/// case mappings that change length, emoji, underscores.
fn random_text(rng: &mut impl Rng, stopwords: &[String]) -> String {
    const ODD: &[&str] = &[
        "é",
        "É",
        "ß",
        "İ",
        "Σ",
        "ΑΣ",
        "ǅ",
        "ﬁ",
        "中文",
        "العربية",
        "क्षि",
        "e\u{301}",
        "\u{301}",
        "🚀",
        "👩\u{200d}💻",
        "½",
        "Ⅻ",
        "٣",
        "\u{a0}",
        "\u{2003}",
        "\u{200b}",
        "\t",
        "\n",
        "\r\n",
        "_",
        "__init__",
        "’",
        "don’t",
        "http",
        "https://example.com/a?b=c",
        "xhttpy",
        "HTTP://X.Y",
        "www.x.org",
        "a.b",
        "3.14",
        "1,000",
    ];
    let mut text = String::new();
    for _ in 0..rng.random_range(0..14) {
        match rng.random_range(0..8) {
            0 | 1 => text.push_str(&stopwords[rng.random_range(0..stopwords.len())]),
            2 => text.push_str(&stopwords[rng.random_range(0..stopwords.len())].to_uppercase()),
            3 => text.push(char::from(rng.random_range(b'!'..=b'~'))),
            4 => text.push_str(ODD[rng.random_range(0..ODD.len())]),
            5 => text.push(char::from_u32(rng.random_range(0x80..0x3_0000)).unwrap_or('?')),
            _ => {
                for _ in 0..rng.random_range(1..8) {
                    text.push(char::from(rng.random_range(b'a'..=b'z')));
                }
            }
        }
        if rng.random_bool(0.6) {
            text.push(' ');
        }
    }
    text
}

fn stopwords() -> Vec<String> {
    std::fs::read_to_string(shared_data().join("stopwords_en.txt")).unwrap().lines().map(str::to_owned).collect()
}

#[test]
fn clean_text_agrees_with_the_literal_reference_on_arbitrary_unicode() {
    let reference = ReferenceCleaner::new();
    let stopwords = stopwords();
    let mut cleaner = TextCleaner::default();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(6);
    for case in 0..30_000 {
        let text = random_text(&mut rng, &stopwords);
        let cleaned = cleaner.clean(&text).to_owned();
        assert!(
            cleaned.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b' '),
            "case {case}: {cleaned:?}"
        );
        assert_eq!(cleaned, reference.clean(&text), "case {case}: {text:?}");
    }
}

#[test]
fn the_reference_itself_gives_the_originals_answers() {
    // Hand-checked against the original's regular expressions.
    let reference = ReferenceCleaner::new();
    for (text, expected) in [
        ("The  Model, and THE data!", "model data"),
        ("Don't stop: https://x.io/a b", "stop  x io b"),
        ("see https://a.b now", "see  b"), // "now" is a stopword
        ("naïve café", "na ve caf"),
    ] {
        assert_eq!(reference.clean(text), expected, "{text:?}");
    }
}

/// `tokenize` through SQL on arbitrary raw text: no error, ids within the vocabulary, `[CLS]` first and
/// `[SEP]` last, masks as long as the ids, ones on the tokens and zeros on the padding.
#[tokio::test]
async fn tokenize_on_arbitrary_unicode_keeps_its_invariants() {
    let vocab_size = std::fs::read_to_string(scibert_vocab()).unwrap().lines().count() as i64;
    let stopwords = stopwords();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let texts: Vec<Option<String>> =
        (0..5_000).map(|case| if case % 97 == 0 { None } else { Some(random_text(&mut rng, &stopwords)) }).collect();
    let schema = Arc::new(Schema::new(vec![Field::new("text", DataType::Utf8, true)]));
    let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(StringArray::from(texts.clone()))]).unwrap();
    let context = session_context(&SessionOptions { partitions: 3, batch_size: 333, ..Default::default() }).unwrap();
    context.register_table("texts", Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap())).unwrap();
    let vocab = scibert_vocab().display().to_string();
    for max_length in ["", ", 16"] {
        let sql = format!(
            "SELECT text, tokenize(text, '{vocab}'{max_length}) AS t, tokenize(clean_text(text), '{vocab}'{max_length}) AS c FROM texts"
        );
        let batches = context.sql(&sql).await.unwrap().collect().await.unwrap();
        let mut rows = 0;
        for batch in &batches {
            for column in [1, 2] {
                let tokens = batch.column(column).as_struct();
                let (ids, masks) = (
                    tokens.column_by_name("ids").unwrap().as_list::<i32>(),
                    tokens.column_by_name("masks").unwrap().as_list::<i32>(),
                );
                for row in 0..batch.num_rows() {
                    let text = batch.column(0).as_string::<i32>();
                    if text.is_null(row) {
                        continue;
                    }
                    let ids = ids.value(row);
                    let ids = ids.as_primitive::<Int64Type>().values();
                    let masks = masks.value(row);
                    let masks = masks.as_primitive::<Int64Type>().values();
                    let what = format!("{:?} (max_length '{max_length}')", text.value(row));
                    assert_eq!(ids.len(), masks.len(), "{what}");
                    assert!(ids.iter().all(|&id| (0..vocab_size).contains(&id)), "{what}: {ids:?}");
                    let real = masks.iter().filter(|&&mask| mask == 1).count();
                    assert!(
                        masks[..real].iter().all(|&mask| mask == 1) && masks[real..].iter().all(|&mask| mask == 0),
                        "{what}"
                    );
                    assert!(real >= 2 && ids[0] == 102 && ids[real - 1] == 103, "{what}: {ids:?}");
                    if !max_length.is_empty() {
                        assert!(ids.len() == 16, "{what}");
                    }
                }
            }
            rows += batch.num_rows();
        }
        assert_eq!(rows, texts.len());
    }
}
