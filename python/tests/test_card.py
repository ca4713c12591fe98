"""The dataset card and pictures of an output, read by other implementations: Hugging Face ``datasets``
(``load_dataset`` verifies each split's ``num_examples``), PyYAML, pyarrow and an XML parser. The pictures'
bars are measured from their geometry, never taken from mlprep's own numbers."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

import mlprep

SVG = "{http://www.w3.org/2000/svg}"


def header(card: Path) -> dict:
    text = card.read_text(encoding="utf-8")
    match = re.match(r"^---\n(.*?)\n---\n", text, re.DOTALL)
    assert match, "the card has no YAML header"
    return yaml.safe_load(match.group(1))


def hf_name(split: str) -> str:
    return "validation" if split == "val" else split


@pytest.fixture(scope="module")
def course(tmp_path_factory, dataset_csv, vocab) -> Path:
    out = tmp_path_factory.mktemp("card") / "prepared"
    mlprep.prepare(dataset_csv, vocab, out)
    return out


@pytest.fixture(scope="module")
def folds_and_groups(tmp_path_factory, dataset_csv, vocab) -> Path:
    out = tmp_path_factory.mktemp("card") / "folds"
    mlprep.prepare(dataset_csv, vocab, out, splits="train=0.8,val=0.1,test=0.1", folds=3, group="created_on",
                   max_length=24)
    return out


def test_load_dataset_opens_the_directory_with_the_golden_ids(course, golden_rows):
    import datasets

    summary = json.loads((course / "summary.json").read_text())
    dataset = datasets.load_dataset(str(course), cache_dir=str(course.parent / "hf-cache"))
    assert set(dataset) == {"train", "validation"}
    card = header(course / "README.md")
    for split_info in card["dataset_info"]["splits"]:
        assert len(dataset[split_info["name"]]) == split_info["num_examples"]
    names = dataset["train"].features["targets"].names
    assert names == sorted(summary["class_to_index"], key=summary["class_to_index"].get)
    golden = {row["id"]: row for row in golden_rows}
    seen = 0
    for split in dataset.values():
        for row in split:
            length = sum(row["masks"])
            assert row["ids"][:length] == golden[row["id"]]["ids"]
            assert names[row["targets"]] == golden[row["id"]]["tag"]
            seen += 1
    assert seen == len(golden) == 764


@pytest.mark.parametrize("output", ["course", "folds_and_groups"])
def test_the_header_parses_and_matches_the_summary_and_the_files(output, request):
    out: Path = request.getfixturevalue(output)
    summary = json.loads((out / "summary.json").read_text())
    card = header(out / "README.md")
    assert card["task_categories"] == ["text-classification"]
    data_files = card["configs"][0]["data_files"]
    plan = summary["split_plan"]
    order = [plan["train"]] + [split["split"] for split in plan["held_out"]]
    assert [entry["split"] for entry in data_files] == [hf_name(split) for split in order]
    for entry in data_files:
        assert list(out.glob(entry["path"])), entry
    info = card["dataset_info"]
    splits = {split["name"]: split for split in info["splits"]}
    assert set(splits) == {hf_name(split) for split in summary["splits"]}
    for name, counts in summary["splits"].items():
        split = splits[hf_name(name)]
        assert split["num_examples"] == counts["rows"]
        # num_bytes is the split's size in Arrow memory as pyarrow counts it, without validity buffers (the
        # Parquet reader adds one to some columns without nulls).
        table = pq.read_table(out / name).combine_chunks()
        validity = sum(column.chunks[0].buffers()[0].size for column in table.columns
                       if column.chunks[0].buffers()[0] is not None)
        assert split["num_bytes"] == table.nbytes - validity, name
    assert info["dataset_size"] == sum(split["num_bytes"] for split in splits.values())
    features = {feature["name"]: feature for feature in info["features"]}
    labels = features["targets"]["dtype"]["class_label"]["names"]
    assert [labels[index] for index in sorted(labels, key=int)] == \
        sorted(summary["class_to_index"], key=summary["class_to_index"].get)
    assert features["ids"]["sequence"] == "int64" and features["text"]["dtype"] == "string"
    assert ("fold" in features) == (summary["split_plan"]["folds"] is not None)


def bars(svg: Path) -> tuple[dict[str, list[tuple[float, float]]], float]:
    """The bars of a picture per legend entry (or per colour without a legend): (x, value) in x order, the
    value measured from the bar's height and the y axis' tick labels; and one pixel in value units."""
    root = ElementTree.parse(svg).getroot()
    texts = [(element, "".join(element.itertext()).strip()) for element in root.iter(f"{SVG}text")]
    ticks = [(float(element.get("y")), float(text)) for element, text in texts
             if element.get("text-anchor") == "end" and re.fullmatch(r"\d+", text)]
    assert len(ticks) >= 2, f"{svg}: no y axis"
    (y0, v0), (y1, v1) = ticks[0], ticks[-1]
    pixels_per_unit = (y0 - y1) / (v1 - v0)
    legend = {}
    circles = list(root.iter(f"{SVG}circle"))
    for circle in circles:
        cy = float(circle.get("cy"))
        name = next(text for element, text in texts
                    if element.get("text-anchor") == "start" and abs(float(element.get("y")) - cy) < 1)
        legend[circle.get("fill")] = name
    result: dict[str, list[tuple[float, float]]] = {}
    for rect in root.iter(f"{SVG}rect"):
        fill = rect.get("fill")
        if fill == "#FFFFFF":
            continue
        name = legend.get(fill, fill)
        result.setdefault(name, []).append((float(rect.get("x")), float(rect.get("height")) / pixels_per_unit))
    return {name: sorted(values) for name, values in result.items()}, 1 / pixels_per_unit


def labels_above(svg: Path) -> list[str]:
    root = ElementTree.parse(svg).getroot()
    return ["".join(element.itertext()).strip() for element in root.iter(f"{SVG}text")
            if element.get("text-anchor") == "middle" and element.get("dy") == "-0.5ex"]


@pytest.mark.parametrize("output", ["course", "folds_and_groups"])
def test_class_bars_are_the_summarys_counts(output, request):
    out: Path = request.getfixturevalue(output)
    summary = json.loads((out / "summary.json").read_text())
    classes = sorted(summary["class_to_index"], key=summary["class_to_index"].get)
    measured, pixel = bars(out / "report" / "classes.svg")
    assert set(measured) == {hf_name(split) for split in summary["splits"]}
    for split, counts in summary["splits"].items():
        expected = [counts["rows_per_class"].get(name, 0) for name in classes]
        values = [value for _, value in measured[hf_name(split)]]
        assert len(values) == len([count for count in expected if count]), split
        for value, count in zip(values, [count for count in expected if count]):
            assert abs(value - count) <= pixel + 1e-9, (split, values, expected)
    expected_labels = [str(count) for counts in summary["splits"].values()
                       for count in counts["rows_per_class"].values() if count]
    assert Counter(labels_above(out / "report" / "classes.svg")) == Counter(expected_labels)


@pytest.mark.parametrize("output", ["course", "folds_and_groups"])
def test_length_histograms_count_the_written_rows(output, request):
    out: Path = request.getfixturevalue(output)
    summary = json.loads((out / "summary.json").read_text())
    for split, counts in summary["splits"].items():
        svg = out / "report" / f"token_lengths_{split}.svg"
        measured, pixel = bars(svg)
        [values] = measured.values()
        table = pq.read_table(out / split)
        column = "masks" if "masks" in table.column_names else "ids"
        lengths = Counter(sum(mask) if column == "masks" else len(mask) for mask in table[column].to_pylist())
        # Lengths up to 80 are drawn one bar per length.
        assert max(lengths) < 80
        assert len(values) == len(lengths)
        for (_, value), (length, rows) in zip(values, sorted(lengths.items())):
            assert abs(value - rows) <= pixel + 1e-9, (split, length)
        assert abs(sum(value for _, value in values) - counts["rows"]) <= len(values) * pixel
        texts = [" ".join("".join(text.itertext()).split()) for text in ElementTree.parse(svg).getroot().iter(f"{SVG}text")]
        assert f"Token lengths: {hf_name(split)} ({counts['rows']} rows)" in texts


def test_fold_and_share_pictures_are_the_summarys(folds_and_groups):
    out = folds_and_groups
    summary = json.loads((out / "summary.json").read_text())
    classes = sorted(summary["class_to_index"], key=summary["class_to_index"].get)
    measured, pixel = bars(out / "report" / "folds_train.svg")
    folds = summary["splits"]["train"]["rows_per_fold_and_class"]
    for name in classes:
        expected = [folds[fold].get(name, 0) for fold in sorted(folds, key=int)]
        values = [value for _, value in measured[name]]
        assert all(abs(value - count) <= pixel + 1e-9 for value, count in zip(values, expected)), name
    measured, pixel = bars(out / "report" / "shares.svg")
    for split, shares in summary["share_per_class"].items():
        values = [value for _, value in measured[hf_name(split)]]
        expected = [100 * shares[name] for name in classes if shares[name] > 0]
        assert all(abs(value - share) <= pixel + 1e-9 for value, share in zip(values, expected)), split
    card = (out / "README.md").read_text()
    # --max-length 24: the rows cut to it are counted, the cuts at and past it cannot be measured.
    for split, counts in summary["splits"].items():
        assert counts["rows_over_max_length"] is not None
        assert f"{counts['rows_over_max_length']} in `{hf_name(split)}`" in card
    # 64..512 are all past 24: four n/a in the row of each split.
    assert card.count("| n/a | n/a | n/a | n/a |") == 3


def test_report_html_embeds_every_picture(course):
    page = (course / "report.html").read_text()
    pictures = sorted(path.name for path in (course / "report").glob("*.svg"))
    assert page.count("<svg ") == len(pictures) == 3
    assert "<?xml" not in page
