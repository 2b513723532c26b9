"""Error analysis on plain arrays: confusion, slices, highest loss, label errors, errors.csv."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from fullcycle.analysis.errors import error_analysis, write_errors_csv
from fullcycle.analysis.label_errors import out_of_fold_proba
from fullcycle.errors import FullcycleError


def _separable(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two classes on either side of a line, with a margin: every clean label is learnable."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    X += np.where(y[:, None] == 1, 1.0, -1.0)
    return X, y


def test_suspected_label_errors_find_flipped_labels_in_separable_data() -> None:
    X, y = _separable()
    rng = np.random.default_rng(1)
    flipped = rng.choice(len(y), size=len(y) // 20, replace=False)  # 5% of the labels
    noisy = y.copy()
    noisy[flipped] = 1 - noisy[flipped]
    rows = np.arange(len(y)) + 1000  # row numbers in the input file, not positions
    oof = out_of_fold_proba(X, noisy, seed=0)
    result = error_analysis(noisy, oof, classes=["neg", "pos"], rows=rows, label_features=X)
    flagged = {issue.row for issue in result.label_issues}
    truly = set((flipped + 1000).tolist())
    precision = len(flagged & truly) / len(flagged)
    recall = len(flagged & truly) / len(truly)
    assert precision >= 0.70, f"precision {precision:.2f} of {len(flagged)} flagged"
    assert recall >= 0.50, f"recall {recall:.2f}"
    first = result.label_issues[0]
    assert first.row in truly and first.given_label != first.suggested_label
    qualities = [i.label_quality for i in result.label_issues]
    assert qualities == sorted(qualities), "most suspicious (lowest quality) first"


def test_confusion_matrix_and_per_class_scores_match_hand_counts() -> None:
    y = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    pred = np.array([0, 0, 1, 1, 1, 2, 0, 2])
    proba = np.full((8, 3), 0.1)
    proba[np.arange(8), pred] = 0.8
    result = error_analysis(y, proba, classes=["cat", "dog", "fox"], label_issues=False)
    assert result.confusion_matrix == [[2, 1, 0], [0, 2, 0], [1, 0, 2]]
    cat = result.per_class[0]
    assert cat["class"] == "cat" and cat["support"] == 3
    assert cat["precision"] == pytest.approx(2 / 3) and cat["recall"] == pytest.approx(2 / 3)
    assert result.per_class[1]["precision"] == pytest.approx(2 / 3)
    assert result.per_class[1]["recall"] == pytest.approx(1.0)
    assert result.per_class[1]["f1"] == pytest.approx(0.8)
    assert result.error == pytest.approx(2 / 8)


def test_string_labels_map_to_classes_in_given_order() -> None:
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])
    result = error_analysis(["no", "yes", "yes"], proba, classes=["no", "yes"], label_issues=False)
    assert result.confusion_matrix == [[1, 0], [1, 1]]
    assert result.highest_loss[0]["y_true"] == "yes" and result.highest_loss[0]["y_pred"] == "no"


def test_slice_holding_the_errors_ranks_first_with_counts() -> None:
    n = 200
    rng = np.random.default_rng(0)
    device = np.where(np.arange(n) < 40, "old_camera", "phone")
    age = rng.uniform(0, 100, n)
    y = np.zeros(n, dtype=int)
    wrong = (device == "old_camera") & (np.arange(n) % 2 == 0)  # 20 errors, all old_camera
    proba = np.where(wrong[:, None], [[0.3, 0.7]], [[0.9, 0.1]])
    result = error_analysis(
        y,
        proba,
        classes=["a", "b"],
        features=pd.DataFrame({"device": device, "age": age}),
        label_issues=False,
    )
    top = result.slices[0]
    assert (top.column, top.value, top.count, top.errors) == ("device", "old_camera", 40, 20)
    assert top.error_rate == pytest.approx(0.5) and top.share_of_errors == pytest.approx(1.0)
    # 20 errors in 40 rows when the dev set errs on 10%: not chance.
    assert top.p_value == pytest.approx(binom.sf(19, 40, 0.1)) and top.p_value < 1e-6
    age_slices = [s for s in result.slices if s.column == "age"]
    assert len(age_slices) == 4 and sum(s.count for s in age_slices) == n  # quartile bins


def test_highest_loss_examples_are_the_most_confidently_wrong() -> None:
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.99, 0.01], [0.4, 0.6], [0.02, 0.98], [0.95, 0.05]])
    result = error_analysis(y, proba, rows=[10, 11, 12, 13], label_issues=False)
    assert [r["row"] for r in result.highest_loss[:2]] == [13, 11]
    assert result.highest_loss[0]["loss"] == pytest.approx(-np.log(0.05))


def test_regression_is_analysed_by_absolute_error() -> None:
    rng = np.random.default_rng(0)
    n = 100
    region = np.where(np.arange(n) < 20, "north", "south")
    y = rng.normal(size=n)
    pred = y + np.where(region == "north", 3.0, 0.1) * rng.choice([-1, 1], n)
    result = error_analysis(y, pred, features=pd.DataFrame({"region": region}))
    assert result.task == "regression" and result.confusion_matrix is None
    assert result.absolute_error["mae"] == pytest.approx(np.mean(np.abs(pred - y)))
    assert result.error == pytest.approx(np.sqrt(np.mean((pred - y) ** 2)))
    assert result.slices[0].value == "north"
    assert result.slices[0].error_rate == pytest.approx(3.0)
    assert int(result.examples["is_error"].sum()) == 10  # the worst tenth goes to errors.csv
    assert result.label_issues is None


def test_errors_csv_lists_every_misclassified_row_worst_first_with_empty_tags(tmp_path) -> None:
    y = np.array([0, 1, 1, 0, 1])
    proba = np.array([[0.9, 0.1], [0.6, 0.4], [0.1, 0.9], [0.2, 0.8], [0.3, 0.7]])
    features = pd.DataFrame({"path": [f"img{i}.png" for i in range(5)]})
    result = error_analysis(y, proba, rows=[5, 6, 7, 8, 9], features=features, label_issues=False)
    path = write_errors_csv(result, tmp_path / "errors.csv")
    table = pd.read_csv(path, keep_default_na=False)
    assert table["row"].tolist() == [8, 6]  # loss -log(0.2) > -log(0.4)
    assert table["input.path"].tolist() == ["img3.png", "img1.png"]
    assert list(table.columns)[-1] == "tags" and (table["tags"] == "").all()


def test_to_dict_is_plain_json() -> None:
    import json

    X, y = _separable(100)
    result = error_analysis(
        y, out_of_fold_proba(X, y), features=pd.DataFrame(X, columns=["a", "b"])
    )
    document = json.loads(json.dumps(result.to_dict()))
    assert document["n_examples"] == 100 and isinstance(document["label_issues"], list)


@pytest.mark.parametrize(
    ("predictions", "fix"),
    [
        (np.array([[2.0, -1.0], [0.5, 0.3]]), "softmax"),
        (np.array([[0.5, 0.5, 0.0]] * 2), "one probability column per class"),
    ],
)
def test_bad_predictions_name_the_fix(predictions: np.ndarray, fix: str) -> None:
    with pytest.raises(FullcycleError, match=fix):
        error_analysis([0, 1], predictions, classes=["a", "b"])


def test_mismatched_lengths_name_the_fix() -> None:
    with pytest.raises(FullcycleError, match="one prediction per dev example"):
        error_analysis([0, 1, 1], np.array([[0.5, 0.5]] * 2))


def test_binary_accepts_the_positive_class_probability_alone() -> None:
    result = error_analysis(
        [0, 1, 1, 0], np.array([0.2, 0.9, 0.4, 0.1]), task="binary", label_issues=False
    )
    assert result.confusion_matrix == [[2, 0], [1, 1]] and result.classes == ["0", "1"]


def test_missing_values_form_their_own_slice() -> None:
    n = 40
    color = np.array(["red", "blue", None, "red"] * 10, dtype=object)
    y = np.zeros(n, dtype=int)
    wrong = np.array([v is None for v in color])  # every row without a color is wrong
    proba = np.where(wrong[:, None], [[0.2, 0.8]], [[0.9, 0.1]])
    result = error_analysis(
        y, proba, classes=["a", "b"], features=pd.DataFrame({"color": color}), label_issues=False
    )
    assert (result.slices[0].value, result.slices[0].count) == ("missing", 10)
    assert result.slices[0].error_rate == 1.0


def test_label_errors_are_not_searched_when_a_class_is_absent_from_dev() -> None:
    proba = np.tile([[0.7, 0.2, 0.1], [0.2, 0.7, 0.1]], (10, 1))
    y = np.tile([0, 1], 10)
    result = error_analysis(y, proba, classes=["a", "b", "c"])
    assert result.label_issues == []
    assert any("absent" in note for note in result.notes)


def test_rewriting_errors_csv_keeps_the_tags_a_person_wrote(tmp_path) -> None:
    y = np.array([0, 1, 1, 0])
    proba = np.array([[0.4, 0.6], [0.7, 0.3], [0.2, 0.8], [0.9, 0.1]])
    first = error_analysis(y, proba, rows=[10, 11, 12, 13], label_issues=False)
    path = write_errors_csv(first, tmp_path / "errors.csv")
    tagged = pd.read_csv(path, keep_default_na=False)
    tagged["tags"] = ["blurry" if row == 11 else "dark" for row in tagged["row"]]
    tagged.to_csv(path, index=False)
    # A later model gets row 10 right and row 12 wrong.
    proba2 = np.array([[0.9, 0.1], [0.7, 0.3], [0.6, 0.4], [0.9, 0.1]])
    second = error_analysis(y, proba2, rows=[10, 11, 12, 13], label_issues=False)
    write_errors_csv(second, path)
    table = pd.read_csv(path, keep_default_na=False).set_index("row")
    assert table.loc[11, "tags"] == "blurry" and table.loc[12, "tags"] == ""
    backup = pd.read_csv(tmp_path / "errors.tagged.csv", keep_default_na=False)
    assert sorted(backup["tags"]) == ["blurry", "dark"]


def test_codes_without_names_keep_a_class_no_dev_row_has() -> None:
    proba = np.array([[0.8, 0.1, 0.1], [0.3, 0.6, 0.1], [0.6, 0.3, 0.1]])
    result = error_analysis([0, 1, 1], proba, label_issues=False)
    assert result.classes == ["0", "1", "2"] and len(result.confusion_matrix) == 3
