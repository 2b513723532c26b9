"""Free-text columns: detection, a tokenizer learned on the training split, token ids.

Seed 001's step 2 names the first architecture for text, an embedding and an LSTM; this
module turns a column of text into what that network eats. A Hugging Face `tokenizers`
tokenizer (WordPiece by default, BPE on request) is trained on the **training rows only**
(seed 002: every statistic the model uses comes from the training split), and saved as the
library's own JSON (never a pickle) inside `preprocessing.json` and the model bundle.

Conventions the model relies on:

* id 0 is padding (``[PAD]``), so a row's length is its count of non-zero ids;
* a missing text (NaN / None) is the one token ``[MISSING]`` and an empty or blank one the
  one token ``[EMPTY]``: their own cases with their own learned embedding, not errors;
* texts longer than ``max_length`` tokens are cut there; ``max_length`` is the 99th
  percentile of the training lengths (capped), so a handful of very long texts do not
  set the cost of every batch, and the number of texts cut is reported.

The ids are written into the feature matrix as floats (exact up to 2^24, far above any
vocabulary here), after the tabular columns, the same way categorical codes travel.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fullcycle.errors import FullcycleError

PAD, UNK, EMPTY, MISSING = "[PAD]", "[UNK]", "[EMPTY]", "[MISSING]"
SPECIAL_TOKENS = (PAD, UNK, EMPTY, MISSING)
TOKENIZERS = ("wordpiece", "bpe")
NORMALIZATIONS = ("NFKC", "NFC", "NFKD", "NFD", "none")

# Vocabulary from the data: every word seen at least MIN_WORD_COUNT times in the training
# text gets a token, plus room for sub-word pieces, within [MIN_VOCAB, MAX_VOCAB]. A word seen
# once cannot be learned from one example anyway; its pieces cover it.
MIN_WORD_COUNT = 2
SUBWORD_ROOM = 200
MIN_VOCAB, MAX_VOCAB = 256, 30_000
# Length cap: the training lengths' 99th percentile, between these bounds.
LENGTH_QUANTILE = 0.99
MIN_LENGTH, MAX_LENGTH = 8, 512
# Detection of free text among object columns: most values distinct, several words each.
TEXT_MIN_DISTINCT = 20
TEXT_DISTINCT_SHARE = 0.5
TEXT_MIN_WORDS = 3.0
FORMAT_VERSION = 1


@dataclass(frozen=True)
class TextOptions:
    """How text is normalized and split; the defaults suit English-like text."""

    tokenizer: str = "wordpiece"  # wordpiece | bpe
    lowercase: bool = True
    unicode: str = "NFKC"  # unicode normalization form, or "none"
    max_vocab: int = MAX_VOCAB

    def __post_init__(self) -> None:
        if self.tokenizer not in TOKENIZERS:
            raise FullcycleError(f"unknown tokenizer {self.tokenizer!r}; use one of: "
                                 f"{', '.join(TOKENIZERS)}")
        if self.unicode not in NORMALIZATIONS:
            raise FullcycleError(f"unknown unicode normalization {self.unicode!r}; use one "
                                 f"of: {', '.join(NORMALIZATIONS)}")
        if self.max_vocab < MIN_VOCAB:
            raise FullcycleError(f"max_vocab must be at least {MIN_VOCAB}, got "
                                 f"{self.max_vocab}")


def looks_like_text(column: pd.Series) -> bool:
    """True for a column of free text: mostly distinct values of several words each.

    A name ("Ada Lovelace") has two words, a category repeats; a review or a title has
    several words and is rarely repeated. Numbers are never text.
    """
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return False
    present = column.dropna()
    if len(present) == 0:
        return False
    text = present.astype(str)
    if pd.to_numeric(text, errors="coerce").notna().mean() > 0.5:
        return False
    distinct = text.nunique()
    if distinct < TEXT_MIN_DISTINCT or distinct < TEXT_DISTINCT_SHARE * len(text):
        return False
    words = text.str.split().str.len()
    return float(words.median()) >= TEXT_MIN_WORDS


def is_blank(value: object) -> bool:
    """Missing (None / NaN) or nothing but whitespace."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    return not str(value).strip()


def _normalizer(options: TextOptions):  # noqa: ANN202 - a tokenizers normalizer
    from tokenizers import normalizers

    steps = [] if options.unicode == "none" else [getattr(normalizers, options.unicode)()]
    if options.lowercase:
        steps.append(normalizers.Lowercase())
    return normalizers.Sequence(steps)


def _new_tokenizer(options: TextOptions):  # noqa: ANN202 - a tokenizers.Tokenizer
    from tokenizers import Tokenizer, models, pre_tokenizers

    model = (models.WordPiece(unk_token=UNK) if options.tokenizer == "wordpiece"
             else models.BPE(unk_token=UNK))
    tokenizer = Tokenizer(model)
    tokenizer.normalizer = _normalizer(options)
    # split on whitespace and punctuation, as BERT does; the pieces come from the trainer
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return tokenizer


def vocabulary_size(texts: Iterable[str], options: TextOptions) -> tuple[int, int]:
    """(vocabulary size, distinct words seen ≥ MIN_WORD_COUNT times) for these texts."""
    tokenizer = _new_tokenizer(options)
    counts: Counter[str] = Counter()
    for text in texts:
        normalized = tokenizer.normalizer.normalize_str(text)
        counts.update(w for w, _ in tokenizer.pre_tokenizer.pre_tokenize_str(normalized))
    frequent = sum(1 for c in counts.values() if c >= MIN_WORD_COUNT)
    size = frequent + SUBWORD_ROOM + len(SPECIAL_TOKENS)
    return int(min(options.max_vocab, max(MIN_VOCAB, size))), frequent


@dataclass
class TextColumn:
    """One fitted text column: its tokenizer (as JSON), length cap and training statistics."""

    name: str
    tokenizer_json: str
    max_length: int
    options: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)
    _tokenizer: object = field(default=None, repr=False, compare=False)

    @classmethod
    def fit(cls, name: str, column: pd.Series, options: TextOptions | None = None
            ) -> TextColumn:
        """Train the tokenizer on `column` (the training rows) and choose the length cap."""
        from tokenizers import trainers

        options = options or TextOptions()
        texts = [str(v) for v in column if not is_blank(v)]
        if not texts:
            raise FullcycleError(f"text column '{name}' is empty in the training rows; fill "
                                 f"it or pass --ignore {name}")
        size, frequent = vocabulary_size(texts, options)
        tokenizer = _new_tokenizer(options)
        kind = trainers.WordPieceTrainer if options.tokenizer == "wordpiece" \
            else trainers.BpeTrainer
        trainer = kind(vocab_size=size, min_frequency=MIN_WORD_COUNT,
                       special_tokens=list(SPECIAL_TOKENS), show_progress=False)
        tokenizer.train_from_iterator(texts, trainer=trainer)
        for i, token in enumerate(SPECIAL_TOKENS):
            assert tokenizer.token_to_id(token) == i, "special tokens take ids 0..3"
        lengths = np.array([max(1, len(e.ids)) for e in tokenizer.encode_batch(texts)])
        cap = int(np.ceil(np.quantile(lengths, LENGTH_QUANTILE)))
        max_length = int(min(MAX_LENGTH, max(MIN_LENGTH, cap)))
        stats = {
            "training_texts": int(len(column)),
            "missing": int(column.isna().sum()),
            "empty": int(sum(1 for v in column if not pd.isna(v) and is_blank(v))),
            "vocabulary_size": int(tokenizer.get_vocab_size()),
            "frequent_words": int(frequent),
            "length_median": float(np.median(lengths)),
            "length_p99": float(np.quantile(lengths, LENGTH_QUANTILE)),
            "length_max": int(lengths.max()),
            "truncated_training_texts": int((lengths > max_length).sum()),
        }
        fitted = cls(name=name, tokenizer_json=tokenizer.to_str(), max_length=max_length,
                     options={"tokenizer": options.tokenizer, "lowercase": options.lowercase,
                              "unicode": options.unicode}, stats=stats)
        fitted._tokenizer = tokenizer
        return fitted

    @property
    def vocabulary_size(self) -> int:
        return int(self.tokenizer.get_vocab_size())

    @property
    def tokenizer(self):  # noqa: ANN201 - a tokenizers.Tokenizer
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            try:
                self._tokenizer = Tokenizer.from_str(self.tokenizer_json)
            except Exception as exc:  # the Rust side raises a plain Exception
                raise FullcycleError(f"the tokenizer of text column '{self.name}' is not "
                                     f"valid tokenizers JSON ({exc}); train again") from None
        return self._tokenizer

    def encode(self, column: pd.Series) -> tuple[np.ndarray, int]:
        """(n, max_length) int64 ids, 0-padded, and how many texts were cut to fit."""
        values = column.tolist()
        ids = np.zeros((len(values), self.max_length), dtype=np.int64)
        missing_id, empty_id = SPECIAL_TOKENS.index(MISSING), SPECIAL_TOKENS.index(EMPTY)
        present = [i for i, v in enumerate(values) if not is_blank(v)]
        encoded = self.tokenizer.encode_batch([str(values[i]) for i in present])
        cut = 0
        for i, v in enumerate(values):
            if is_blank(v):
                is_missing = v is None or (isinstance(v, float) and math.isnan(v))
                ids[i, 0] = missing_id if is_missing else empty_id
        for i, enc in zip(present, encoded, strict=True):
            row = enc.ids
            if not row:  # nothing the tokenizer keeps (e.g. only control characters)
                ids[i, 0] = empty_id
                continue
            if len(row) > self.max_length:
                cut += 1
                row = row[: self.max_length]
            ids[i, : len(row)] = row
        return ids, cut

    def lengths(self, column: pd.Series) -> np.ndarray:
        """Token count of each text after the cap (1 for a missing or empty text)."""
        ids, _ = self.encode(column)
        return (ids != 0).sum(axis=1)

    def to_dict(self) -> dict:
        return {"name": self.name, "tokenizer": json.loads(self.tokenizer_json),
                "max_length": self.max_length, "options": self.options, "stats": self.stats,
                "format_version": FORMAT_VERSION}

    @classmethod
    def from_dict(cls, data: dict) -> TextColumn:
        try:
            return cls(name=str(data["name"]), tokenizer_json=json.dumps(data["tokenizer"]),
                       max_length=int(data["max_length"]), options=dict(data.get("options", {})),
                       stats=dict(data.get("stats", {})))
        except (KeyError, TypeError, ValueError) as exc:
            raise FullcycleError(f"a text column in the preprocessing JSON is malformed "
                                 f"({exc}); re-create it by training again") from None


def text_target_hint(frame: pd.DataFrame, targets: list[str]) -> None:
    """Refuse a free-text target in one line: it is an input, not a label to predict."""
    for name in targets:
        if name in frame.columns and looks_like_text(frame[name]):
            distinct = frame[name].nunique()
            raise FullcycleError(
                f"target '{name}' looks like free text ({distinct} distinct values of several "
                "words); predict a label column instead and pass this one as an input "
                f"(--text-column {name})"
            )
