"""Any Hugging Face tokenizer: the ids and masks ``prepare`` writes, truncated and padded, equal what
``transformers``' ``PreTrainedTokenizerFast(tokenizer_file=...)`` returns for the same cleaned texts, with
``truncation=True, max_length=N, padding="max_length"`` and with ``padding="longest"``.

The tokenizers are trained here, on the course's cleaned texts, with the ``tokenizers`` package (no downloads):
WordPiece uncased (BERT's post-processor: mlprep's fast path) and cased, byte-level BPE as RoBERTa's
(``<s> … </s>``) and as GPT-2's (no special tokens, no pad token: ``--pad-token``), and Unigram as T5's
(``… </s>``, NFKC, Metaspace).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

import mlprep

MAX_LENGTH = 16


def wordpiece(texts: list[str], lowercase: bool) -> Tokenizer:
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=1500, special_tokens=specials))
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    if lowercase:
        # Exactly BERT (no padding settings either): mlprep's fast path, and [PAD] found by its name.
        tokenizer.post_processor = processors.BertProcessing(("[SEP]", sep), ("[CLS]", cls))
    else:
        tokenizer.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
        )
        tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]"), pad_token="[PAD]")
    return tokenizer


def byte_level_bpe(texts: list[str], roberta: bool) -> Tokenizer:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    specials = ["<s>", "<pad>", "</s>", "<unk>"] if roberta else ["<|endoftext|>"]
    trainer = trainers.BpeTrainer(
        vocab_size=800, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(texts, trainer)
    if roberta:
        tokenizer.post_processor = processors.RobertaProcessing(
            ("</s>", tokenizer.token_to_id("</s>")), ("<s>", tokenizer.token_to_id("<s>"))
        )
        tokenizer.enable_padding(pad_id=tokenizer.token_to_id("<pad>"), pad_token="<pad>")
    return tokenizer


def unigram(texts: list[str]) -> Tokenizer:
    tokenizer = Tokenizer(models.Unigram())
    tokenizer.normalizer = normalizers.NFKC()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=600, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>")
    tokenizer.train_from_iterator(texts, trainer)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="$A </s>", special_tokens=[("</s>", tokenizer.token_to_id("</s>"))]
    )
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("<pad>"), pad_token="<pad>")
    return tokenizer


# The tokenizer, the pad token mlprep is given (--pad-token) and the one transformers is given: none where the
# tokenizer.json's padding settings name it; [PAD] for BERT's, which has no padding settings (mlprep finds it
# by its name); GPT-2's has none at all.
KINDS = {
    "wordpiece-uncased": (lambda texts: wordpiece(texts, lowercase=True), None, "[PAD]"),
    "wordpiece-cased": (lambda texts: wordpiece(texts, lowercase=False), None, None),
    "roberta-bpe": (lambda texts: byte_level_bpe(texts, roberta=True), None, None),
    "gpt2-bpe": (lambda texts: byte_level_bpe(texts, roberta=False), "<|endoftext|>", "<|endoftext|>"),
    "t5-unigram": (unigram, None, None),
}


def split_columns(out: Path, split: str) -> dict[str, list]:
    table = pq.read_table(sorted((out / split).glob("*.parquet")))
    return table.to_pydict()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_ids_and_masks_equal_transformers(kind, tmp_path, dataset_csv, golden_rows):
    build, pad_token, hf_pad_token = KINDS[kind]
    tokenizer = build([row["text_clean"] for row in golden_rows])
    path = tmp_path / "tokenizer.json"
    tokenizer.save(str(path))
    hf = PreTrainedTokenizerFast(tokenizer_file=str(path), **({"pad_token": hf_pad_token} if hf_pad_token else {}))

    # Truncated and padded to MAX_LENGTH.
    fixed = tmp_path / "fixed"
    mlprep.prepare(dataset_csv, path, fixed, max_length=MAX_LENGTH, pad_token=pad_token, column_names="hf")
    truncated = 0
    for split in ("train", "val"):
        rows = split_columns(fixed, split)
        expected = hf(rows["text"], truncation=True, max_length=MAX_LENGTH, padding="max_length")
        assert rows["input_ids"] == expected["input_ids"], f"{kind} {split}"
        assert rows["attention_mask"] == expected["attention_mask"], f"{kind} {split}"
        truncated += sum(1 for mask in rows["attention_mask"] if mask[-1] == 1)
    assert truncated > 0, f"{kind}: no row was long enough to be truncated"

    # Each split padded to its longest row, as padding="longest" pads a batch of the whole split.
    longest = tmp_path / "longest"
    summary = mlprep.prepare(dataset_csv, path, longest, pad_token=pad_token, column_names="hf")
    for split in ("train", "val"):
        rows = split_columns(longest, split)
        expected = hf(rows["text"], padding="longest")
        assert rows["input_ids"] == expected["input_ids"], f"{kind} {split}"
        assert rows["attention_mask"] == expected["attention_mask"], f"{kind} {split}"
        assert summary["splits"][split]["padded_length"] == len(expected["input_ids"][0])


def test_a_tokenizer_without_a_pad_token_needs_one(tmp_path, dataset_csv, golden_rows):
    tokenizer = byte_level_bpe([row["text_clean"] for row in golden_rows], roberta=False)
    path = tmp_path / "tokenizer.json"
    tokenizer.save(str(path))
    with pytest.raises(mlprep.MlprepError, match="has no pad token .* give --pad-token, or --padding none"):
        mlprep.prepare(dataset_csv, path, tmp_path / "refused")
    with pytest.raises(mlprep.MlprepError, match="--pad-token <pad>: the tokenizer .* has no such token"):
        mlprep.prepare(dataset_csv, path, tmp_path / "refused", pad_token="<pad>")
    assert not (tmp_path / "refused").exists()
    # Unpadded rows need no pad token.
    mlprep.prepare(dataset_csv, path, tmp_path / "unpadded", padding="none")
