"""The tokenizer is learned from the training rows only, and missing texts are their own case."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fullcycle.data.dataset import prepare
from fullcycle.data.preprocess import Preprocessor
from fullcycle.data.text import EMPTY, MISSING, SPECIAL_TOKENS, TextColumn, TextOptions
from fullcycle.errors import FullcycleError
from tests.text.conftest import make_reviews


def test_tokenizer_never_sees_dev_or_test_text():
    frame = make_reviews(300, missing_every=0)
    # each row carries its own word twice: frequent enough to enter a vocabulary it is fit on
    frame["review"] = [f"{t} mark{i}q mark{i}q" for i, t in enumerate(frame["review"])]
    p = prepare(frame, "label")
    vocab = p.preprocessor.text_columns[0].tokenizer.get_vocab()
    held_out = [i for name in ("train_dev", "dev", "test")
                for i in p.split.indices[name]]
    assert held_out
    assert not [i for i in held_out if f"mark{i}q" in vocab]
    # the rule can fail: training rows' own words did enter
    assert any(f"mark{i}q" in vocab for i in p.split.indices["train"])


def test_missing_and_empty_texts_are_their_own_tokens(reviews):
    p = prepare(reviews, "label")
    column = p.preprocessor.text_columns[0]
    ids, cut = column.encode(pd.Series([None, "", "   ", "good movie"], dtype=object))
    assert ids[0, 0] == SPECIAL_TOKENS.index(MISSING) and ids[0, 1:].sum() == 0
    assert ids[1, 0] == ids[2, 0] == SPECIAL_TOKENS.index(EMPTY)
    assert (ids[3] != 0).sum() >= 2 and cut == 0
    assert column.stats["missing"] > 0 and column.stats["empty"] > 0


def test_long_texts_are_cut_at_the_training_length_and_counted():
    frame = make_reviews(300, missing_every=0)
    frame.loc[:2, "review"] = "good " * 400
    column = TextColumn.fit("review", frame["review"])
    assert column.max_length < 400
    ids, cut = column.encode(frame["review"].iloc[:5])
    assert cut == 3 and ids.shape == (5, column.max_length)
    assert column.stats["truncated_training_texts"] == 3


def test_lowercase_and_tokenizer_kind_are_configurable():
    frame = make_reviews(200, missing_every=0)
    frame["review"] = frame["review"].str.upper()
    lower = TextColumn.fit("review", frame["review"], TextOptions())
    cased = TextColumn.fit("review", frame["review"], TextOptions(tokenizer="bpe",
                                                                  lowercase=False))
    assert "good" in lower.tokenizer.get_vocab() and "GOOD" not in lower.tokenizer.get_vocab()
    assert "GOOD" in cased.tokenizer.get_vocab()
    assert json.loads(cased.tokenizer_json)["model"]["type"] == "BPE"
    with pytest.raises(FullcycleError, match="unknown tokenizer"):
        TextOptions(tokenizer="sentencepiece")


def test_text_is_detected_and_other_columns_stay_tabular(reviews):
    p = prepare(reviews, "label")
    pre = p.preprocessor
    assert p.text_columns == ["review"]
    assert [c.name for c in pre.numeric] == ["age"]
    assert [c.name for c in pre.categorical_columns] == ["color"]
    (start, length, vocabulary), = pre.text
    assert start == pre.n_tabular and start + length == pre.n_features
    assert vocabulary > len(SPECIAL_TOKENS)


def test_preprocessing_json_round_trip_gives_the_same_tokens(reviews):
    p = prepare(reviews, "label")
    doc = json.loads(json.dumps(p.preprocessor.to_dict()))
    again = Preprocessor.from_dict(doc)
    np.testing.assert_array_equal(again.transform(p.frame_of("dev")), p.X["dev"])
    assert again.input_schema()["review"]["type"] == "text"


def test_named_text_column_is_tokenized_even_when_short():
    frame = make_reviews(200, missing_every=0)
    frame["tag"] = np.where(frame["label"] == 1, "ok yes", "no")
    p = prepare(frame, "label", text_columns=["tag"])
    assert set(p.text_columns) == {"review", "tag"}


@pytest.mark.parametrize("kwargs, match", [
    ({"text_columns": ["nope"]}, "--text-column 'nope' not found"),
    ({"text_columns": ["label"]}, "is also the target"),
    ({"text_columns": ["review"], "ignore": ["review"]}, "also in --ignore"),
])
def test_bad_text_column_flags_are_one_line_errors(reviews, kwargs, match):
    with pytest.raises(FullcycleError, match=match) as info:
        prepare(reviews, "label", **kwargs)
    assert "\n" not in str(info.value)


def test_a_text_target_is_refused_with_a_hint(reviews):
    with pytest.raises(FullcycleError, match="looks like free text") as info:
        prepare(reviews.dropna(), "review")
    assert "--text-column review" in str(info.value) and "\n" not in str(info.value)


def test_corrupt_tokenizer_json_is_a_one_line_error(reviews):
    doc = prepare(reviews, "label").preprocessor.to_dict()
    doc["text"][0]["tokenizer"] = {"model": "not a tokenizer"}
    with pytest.raises(FullcycleError, match="not valid tokenizers JSON"):
        Preprocessor.from_dict(doc).transform(reviews)
