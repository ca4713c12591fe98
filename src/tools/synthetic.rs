//! Synthetic projects of the course dataset's shape (`id, created_on, title, description, tag`), and a
//! WordPiece vocabulary built from the same lexicon: the built-in default that needs no file outside the
//! repository. Deterministic for a seed (ChaCha8), streamed row by row.

use std::io::Write;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The course's four tags with their share of its 764 rows.
pub const TAGS: [(&str, f64); 4] = [
    ("natural-language-processing", 310.0 / 764.0),
    ("computer-vision", 285.0 / 764.0),
    ("other", 106.0 / 764.0),
    ("mlops", 63.0 / 764.0),
];

const NLP_WORDS: &[&str] = &[
    "language",
    "transformer",
    "bert",
    "text",
    "sentiment",
    "translation",
    "token",
    "embedding",
    "corpus",
    "summarization",
    "question",
    "answering",
    "entity",
    "recognition",
    "parsing",
    "gpt",
    "attention",
    "seq2seq",
    "chatbot",
    "lexical",
    "semantic",
    "dialogue",
    "nlp",
    "spacy",
    "huggingface",
    "word2vec",
    "lstm",
    "speech",
];
const VISION_WORDS: &[&str] = &[
    "image",
    "vision",
    "detection",
    "segmentation",
    "convolutional",
    "cnn",
    "yolo",
    "resnet",
    "pixel",
    "camera",
    "video",
    "object",
    "pose",
    "estimation",
    "gan",
    "style",
    "transfer",
    "opencv",
    "face",
    "tracking",
    "depth",
    "mask",
    "rcnn",
    "augmentation",
    "classification",
    "satellite",
    "medical",
    "3d",
];
const OTHER_WORDS: &[&str] = &[
    "graph",
    "reinforcement",
    "recommendation",
    "time",
    "series",
    "forecasting",
    "anomaly",
    "tabular",
    "bayesian",
    "optimization",
    "clustering",
    "survey",
    "tutorial",
    "awesome",
    "list",
    "papers",
    "benchmark",
    "node",
    "network",
    "agent",
    "policy",
    "game",
    "kaggle",
    "regression",
];
const MLOPS_WORDS: &[&str] = &[
    "deployment",
    "monitoring",
    "pipeline",
    "serving",
    "docker",
    "kubernetes",
    "mlflow",
    "tracking",
    "feature",
    "store",
    "ci",
    "cd",
    "production",
    "versioning",
    "experiment",
    "orchestration",
    "airflow",
    "api",
    "latency",
    "scalable",
    "infrastructure",
    "testing",
    "drift",
    "registry",
];
const COMMON_WORDS: &[&str] = &[
    "model",
    "models",
    "learning",
    "deep",
    "neural",
    "data",
    "dataset",
    "training",
    "implementation",
    "pytorch",
    "tensorflow",
    "library",
    "framework",
    "state",
    "art",
    "results",
    "paper",
    "code",
    "using",
    "simple",
    "fast",
    "efficient",
    "new",
    "approach",
    "method",
    "open",
    "source",
    "python",
    "based",
    "performance",
    "accuracy",
    "large",
    "scale",
    "pretrained",
    "evaluation",
    "inference",
    "research",
    "project",
    "tool",
    "guide",
];
/// Stopwords, punctuation-bearing and non-ASCII words that the cleaning must handle.
const NOISE_WORDS: &[&str] = &[
    "the",
    "a",
    "of",
    "and",
    "for",
    "with",
    "in",
    "to",
    "is",
    "we",
    "our",
    "this",
    "that",
    "it's",
    "don't",
    "state-of-the-art",
    "(2020)",
    "e.g.",
    "i.e.,",
    "C++",
    "naïve",
    "café",
    "résumé",
    "—",
    "🚀",
    "v2.0",
    "50%",
];
const URL_HOSTS: &[&str] = &["github.com", "arxiv.org/abs", "huggingface.co", "paperswithcode.com", "medium.com"];
const WORD_PIECE_SUFFIXES: &[&str] = &["s", "ing", "ed", "er", "ers", "ation", "al", "ly", "ion", "ize", "ized", "net"];

fn topic_words(tag: &str) -> &'static [&'static str] {
    match tag {
        "natural-language-processing" => NLP_WORDS,
        "computer-vision" => VISION_WORDS,
        "mlops" => MLOPS_WORDS,
        _ => OTHER_WORDS,
    }
}

/// Writes `rows` synthetic projects as CSV (with header) to `out`.
pub fn write_projects_csv(out: &mut (impl Write + ?Sized), rows: u64, seed: u64) -> std::io::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    writeln!(out, "id,created_on,title,description,tag")?;
    let mut text = String::new();
    for row in 0..rows {
        let tag = pick_tag(&mut rng);
        let id = row + 1;
        let seconds = 1_582_000_000 + row * 1_800 + rng.random_range(0..1_800);
        write!(out, "{id},{},", format_timestamp(seconds))?;
        text.clear();
        let words = rng.random_range(2..8);
        write_words(&mut rng, tag, words, &mut text);
        write_quoted(out, &text)?;
        out.write_all(b",")?;
        text.clear();
        // Lengths chosen so that cleaned texts match the course data's: about 15 words and 20 SciBERT ids
        // per row on average (measured by `mlprep bench`).
        let sentences = rng.random_range(1..3);
        for sentence in 0..sentences {
            if sentence > 0 {
                text.push_str(if rng.random_bool(0.05) { ".\n" } else { ". " });
            }
            let words = rng.random_range(4..14);
            write_words(&mut rng, tag, words, &mut text);
        }
        if rng.random_bool(0.15) {
            let host = URL_HOSTS[rng.random_range(0..URL_HOSTS.len())];
            text.push_str(&format!(" https://{host}/{}", rng.random_range(1000..99_999)));
        }
        text.push('.');
        write_quoted(out, &text)?;
        writeln!(out, ",{tag}")?;
    }
    Ok(())
}

fn pick_tag(rng: &mut ChaCha8Rng) -> &'static str {
    let mut draw: f64 = rng.random();
    for (tag, share) in TAGS {
        if draw < share {
            return tag;
        }
        draw -= share;
    }
    TAGS[0].0
}

fn write_words(rng: &mut ChaCha8Rng, tag: &str, count: usize, text: &mut String) {
    for index in 0..count {
        if index > 0 {
            text.push(' ');
        }
        let pool = match rng.random_range(0..10) {
            0..=3 => topic_words(tag),
            4..=6 => COMMON_WORDS,
            _ => NOISE_WORDS,
        };
        let word = pool[rng.random_range(0..pool.len())];
        if index == 0 || rng.random_bool(0.1) {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                text.extend(first.to_uppercase());
                text.push_str(chars.as_str());
            }
        } else {
            text.push_str(word);
        }
        if rng.random_bool(0.08) {
            text.push(',');
        }
    }
}

fn write_quoted(out: &mut (impl Write + ?Sized), text: &str) -> std::io::Result<()> {
    out.write_all(b"\"")?;
    out.write_all(text.replace('"', "\"\"").as_bytes())?;
    out.write_all(b"\"")
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) for seconds since the Unix epoch.
fn format_timestamp(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let time = seconds % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}", time / 3_600, time / 60 % 60, time % 60)
}

/// A BERT `vocab.txt` covering the generator's lexicon: the special tokens, every letter and digit alone
/// and as a `##` continuation (so no cleaned word is ever `[UNK]` unless over 100 characters), common
/// suffixes, and the lexicon's words after cleaning.
pub fn demo_vocabulary() -> String {
    let mut tokens: Vec<String> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].map(String::from).to_vec();
    let characters = ('a'..='z').chain('0'..='9');
    tokens.extend(characters.clone().map(String::from));
    tokens.extend(characters.map(|c| format!("##{c}")));
    tokens.extend(WORD_PIECE_SUFFIXES.iter().map(|suffix| format!("##{suffix}")));
    let mut cleaner = mlprep_udfs::TextCleaner::default();
    let mut words: Vec<String> = [NLP_WORDS, VISION_WORDS, OTHER_WORDS, MLOPS_WORDS, COMMON_WORDS, NOISE_WORDS]
        .concat()
        .iter()
        .flat_map(|word| cleaner.clean(word).split(' ').map(str::to_owned).collect::<Vec<_>>())
        .filter(|word| word.len() > 1)
        .collect();
    words.sort();
    words.dedup();
    tokens.extend(words);
    let mut seen = std::collections::HashSet::new();
    tokens.retain(|token| seen.insert(token.clone()));
    tokens.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_civil_dates() {
        assert_eq!(format_timestamp(0), "1970-01-01 00:00:00");
        assert_eq!(format_timestamp(1_582_181_798), "2020-02-20 06:56:38");
        assert_eq!(format_timestamp(951_782_400), "2000-02-29 00:00:00");
    }

    #[test]
    fn same_seed_same_bytes_and_other_seed_other_bytes() {
        let generate = |seed| {
            let mut out = Vec::new();
            write_projects_csv(&mut out, 200, seed).unwrap();
            out
        };
        assert_eq!(generate(7), generate(7));
        assert_ne!(generate(7), generate(8));
    }

    #[test]
    fn generated_csv_parses_with_every_field() {
        let mut out = Vec::new();
        write_projects_csv(&mut out, 500, 1).unwrap();
        let mut reader = csv::Reader::from_reader(out.as_slice());
        let mut tags = std::collections::BTreeMap::new();
        let mut multiline = 0;
        for record in reader.records() {
            let record = record.unwrap();
            assert_eq!(record.len(), 5);
            multiline += usize::from(record[3].contains('\n'));
            *tags.entry(record[4].to_owned()).or_insert(0) += 1;
        }
        assert_eq!(tags.values().sum::<i32>(), 500);
        assert_eq!(tags.len(), 4, "{tags:?}");
        assert!(multiline > 0, "some descriptions hold quoted newlines");
    }
}
