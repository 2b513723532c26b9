"""Every bad picture input ends with one line on stderr and exit status 2, before training."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pictures import write_shapes
from PIL import Image

from fullcycle.models.bundle import save_bundle
from fullcycle.models.mlp import TabularMLP


def _empty(root: Path) -> list[str]:
    root.mkdir()
    return [str(root)]


def _one_class(root: Path) -> list[str]:
    write_shapes(root, 6, classes=("disc",))
    return [str(root)]


def _unreconcilable(root: Path) -> list[str]:
    for name, size in (("tall", (10, 40)), ("wide", (40, 10))):
        (root / name).mkdir(parents=True)
        for i in range(3):
            Image.new("L", size, 80).save(root / name / f"{i}.png")
    return [str(root)]


def _refused_unreadable(root: Path) -> list[str]:
    write_shapes(root, 6)
    (root / "bar" / "broken.png").write_text("nope")
    return [str(root), "--refuse-unreadable"]


def _truncated_refused(root: Path) -> list[str]:
    write_shapes(root, 6)
    good = next((root / "disc").glob("*.png")).read_bytes()
    (root / "disc" / "cut.png").write_bytes(good[: len(good) // 2])
    return [str(root), "--refuse-unreadable"]


def _all_unreadable(root: Path) -> list[str]:
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
        (root / name / "x.png").write_text("text, not a picture")
    return [str(root)]


def _loose_pictures(root: Path) -> list[str]:
    root.mkdir()
    for i in range(3):
        Image.new("L", (8, 8), 40 * i).save(root / f"{i}.png")
    return [str(root)]


def _split_folders(root: Path) -> list[str]:
    write_shapes(root / "train", 4)
    write_shapes(root / "test", 4)
    return [str(root)]


def _bad_augment(root: Path) -> list[str]:
    write_shapes(root, 6)
    return [str(root), "--augment", "flip,mirror"]


def _colour_shift_on_grey(root: Path) -> list[str]:
    write_shapes(root, 6)
    return [str(root), "--augment", "color"]


def _bad_size(root: Path) -> list[str]:
    write_shapes(root, 6)
    return [str(root), "--image-size", "huge"]


def _missing_image_column(root: Path) -> list[str]:
    root.mkdir()
    pd.DataFrame({"file": ["a.png"], "y": ["cat"]}).to_csv(root / "t.csv", index=False)
    return [str(root / "t.csv"), "--image-column", "picture", "--target", "y"]


def _table_bundle_as_pretrained(root: Path) -> list[str]:
    write_shapes(root / "pics", 6)
    save_bundle(root / "model", TabularMLP(2, 1), {"features": {"numeric": []}}, "binary", {},
                {})
    return [str(root / "pics"), "--pretrained", str(root / "model")]


def _missing_pretrained(root: Path) -> list[str]:
    write_shapes(root, 6)
    return [str(root), "--pretrained", str(root / "nowhere")]


CASES = {
    "no pictures": (_empty, "has no pictures in class sub-folders"),
    "one class": (_one_class, "only one class"),
    "sizes that cannot be reconciled": (_unreconcilable, "cannot share one size"),
    "unreadable file refused": (_refused_unreadable, "broken.png is not a picture"),
    "truncated file refused": (_truncated_refused, "cut.png is not a picture"),
    "no readable picture": (_all_unreadable, "none of the files is a readable picture"),
    "pictures outside class folders": (_loose_pictures, "3 pictures lie directly in it"),
    "split folders instead of class folders": (_split_folders, "holds split folders"),
    "unknown augmentation": (_bad_augment, "unknown augmentation(s) mirror"),
    "colour shift on grayscale": (_colour_shift_on_grey, "grayscale"),
    "bad image size": (_bad_size, "--image-size 'huge'"),
    "unknown image column": (_missing_image_column, "--image-column 'picture' not found"),
    "pretrained from a table": (_table_bundle_as_pretrained, "trained on a table"),
    "pretrained not found": (_missing_pretrained, "not found"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_picture_input_is_one_line_and_exit_2(case: str, tmp_path: Path, cli) -> None:
    make, message = CASES[case]
    args = make(tmp_path / "data")
    code, stdout, stderr = cli("run", *args, "--out", tmp_path / "run", "--budget", "20s")
    assert code == 2, stderr
    assert stdout == ""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert message in lines[0]
    assert "Traceback" not in stderr
