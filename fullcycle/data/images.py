"""From a folder of pictures (or a table of picture paths) to a `Prepared`: `prepare_images()`.

Two layouts, as in Keras' ``image_dataset_from_directory`` and fastai's ``from_folder`` /
``from_df``:

* a folder with one sub-folder per class (``DIR/cat/*.jpg``, ``DIR/dog/*.jpg``; pictures in
  nested folders below a class folder belong to that class);
* a CSV / Parquet table with a column of picture paths (``--image-column``, relative paths
  are read from the table's folder) and the label column(s) — several 0/1 columns make a
  multilabel task, blank labels allowed as for tables.

Every file is read once up front: its content hash (for the fingerprint and for duplicates
across splits, seed 003's leakage check), its size and whether it holds colour. Files
Pillow cannot decode (not a picture, truncated) are listed and skipped with a note, or
refused (`skip_unreadable=False`). One size is chosen from the data (`image_size`
overrides), grayscale or RGB from the pictures, and the per-channel mean / std from the
training split only. Pixels are decoded again only when a batch needs them (`ImageArray`).
Splits, `dev_data` and the locked test split are those of tables (`fullcycle.data.splits`,
`fullcycle.data.dataset.Prepared`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fullcycle.data.dataset import (
    Prepared,
    _check_columns,
    _handle_missing_target,
    _strata,
    check_known_classes,
    fingerprint_frame,
)
from fullcycle.data.image_dataset import ImageArray
from fullcycle.data.image_preprocess import ImagePreprocessor
from fullcycle.data.image_scan import Scan, as_chw, scan_pictures
from fullcycle.data.inputs import target_names
from fullcycle.data.load import load_table
from fullcycle.data.splits import (
    SPLIT_NAMES,
    Split,
    SplitOptions,
    duplicates_across_splits,
    make_split,
)
from fullcycle.data.target_encoding import TargetEncoding, fit_target
from fullcycle.data.task import infer_task
from fullcycle.errors import FullcycleError

PICTURE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp",
                      ".ppm", ".pgm", ".pbm"}
PATH_COLUMN, LABEL_COLUMN, HASH_COLUMN = "path", "label", "sha256"
# The longest side a size chosen from the data may have: a small ResNet trains on 64×64
# pictures at a few hundred per second on a CPU; larger photos are shrunk (--image-size
# keeps more detail at a higher cost).
MAX_AUTO_SIDE = 64
# Pictures whose shapes (width / height) differ by more than this factor cannot be squashed
# to one size without distorting them beyond recognition.
MAX_ASPECT_SPREAD = 2.0
SPLIT_FOLDER_NAMES = {"train", "training", "test", "testing", "valid", "validation", "val",
                      "dev"}


@dataclass(frozen=True)
class ImageOptions:
    """How to read pictures: where the paths are, the size, what to do with broken files."""

    image_column: str | None = None  # table layout: the column of picture paths
    image_size: tuple[int, int] | None = None  # (height, width); None: chosen from the data
    channels: int | None = None  # 1 or 3; None: from the pictures
    skip_unreadable: bool = True  # False: refuse the data when a file cannot be decoded
    # (mean, std) per channel to normalize with instead of the training split's: those of a
    # pretrained network, whose first layers were trained on inputs scaled that way
    statistics: tuple[tuple[float, ...], tuple[float, ...]] | None = None


def parse_image_size(text: str | int | tuple[int, int] | None) -> tuple[int, int] | None:
    """``"64"`` → (64, 64); ``"48x64"`` (height × width) → (48, 64)."""
    if text is None or isinstance(text, tuple):
        return text
    raw = str(text).lower().replace("×", "x").strip()
    try:
        parts = [int(p) for p in raw.split("x")]
    except ValueError:
        raise FullcycleError(f"--image-size {text!r} must be a side (64) or height x width "
                             "(48x64) in pixels") from None
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or min(parts) < 4 or max(parts) > 1024:
        raise FullcycleError(f"--image-size {text!r} must be between 4 and 1024 pixels per "
                             "side, e.g. 64 or 48x64")
    return parts[0], parts[1]


def is_picture_source(source: object, image_column: str | None = None) -> bool:
    """True when `source` is a folder (of class folders) or a table read by `image_column`."""
    if image_column:
        return True
    return isinstance(source, str | Path) and Path(source).is_dir()


# ---- the two layouts --------------------------------------------------------------------------
def folder_table(root: Path, name: str = "data") -> tuple[pd.DataFrame, list[str]]:
    """(path, label) rows of a folder of class folders, and notes about what was left out."""
    if not root.exists():
        raise FullcycleError(f"folder not found: {root}; check the path")
    if not root.is_dir():
        raise FullcycleError(f"{root} is not a folder; give a folder with one sub-folder of "
                             "pictures per class, or a table with --image-column")
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    loose = [p for p in root.iterdir() if p.is_file() and _is_picture(p)]
    names = {p.name.lower() for p in classes}
    if classes and names <= SPLIT_FOLDER_NAMES and all(
            any(c.is_dir() for c in p.iterdir()) for p in classes):
        raise FullcycleError(
            f"{root} holds split folders ({', '.join(sorted(p.name for p in classes))}) rather "
            f"than class folders; pass {root / classes[0].name} as the data (and a folder from "
            "the distribution you care about as --dev-data)")
    rows = []
    for folder in classes:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and _is_picture(path) and not _hidden(path, folder):
                rows.append((str(path.resolve()), folder.name))
    if not rows:
        found = f"; {len(loose)} pictures lie directly in it" if loose else ""
        raise FullcycleError(
            f"the {name} folder {root} has no pictures in class sub-folders{found}; put "
            f"each class's pictures ({', '.join(sorted(PICTURE_EXTENSIONS))}) in a folder "
            "named after the class")
    notes = []
    if loose:
        notes.append(f"{len(loose)} pictures directly in {root} (outside any class folder) "
                     "were left out")
    empty = [p.name for p in classes if not any(r[1] == p.name for r in rows)]
    if empty:
        notes.append(f"class folder(s) without pictures left out: {', '.join(empty[:10])}")
    return pd.DataFrame(rows, columns=[PATH_COLUMN, LABEL_COLUMN]), notes


def _is_picture(path: Path) -> bool:
    return path.suffix.lower() in PICTURE_EXTENSIONS and not path.name.startswith(".")


def _hidden(path: Path, base: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(base).parts)


def path_table(source: str | Path | pd.DataFrame, column: str,
               name: str = "data") -> pd.DataFrame:
    """A table whose `column` holds picture paths, those paths made absolute."""
    frame = load_table(source, name=name)
    if column not in frame.columns:
        shown = ", ".join(list(frame.columns)[:20])
        raise FullcycleError(f"--image-column '{column}' not found; columns are: {shown}")
    base = Path(source).resolve().parent if isinstance(source, str | Path) else Path.cwd()
    paths = frame[column]
    if paths.isna().any():
        raise FullcycleError(f"--image-column '{column}' has {int(paths.isna().sum())} empty "
                             "cells; give every row a picture path or drop those rows")
    frame[column] = [str(p if Path(p).is_absolute() else (base / p).resolve())
                     for p in paths.astype(str)]
    return frame


def choose_size(heights: np.ndarray, widths: np.ndarray,
                given: tuple[int, int] | None) -> tuple[tuple[int, int], list[str]]:
    """One (height, width) for every picture, and a note on how it was chosen.

    Given: that. All alike: that size, shrunk to at most MAX_AUTO_SIDE. Mixed: the median
    height and width (shrunk likewise), unless the shapes differ so much (aspect ratios more
    than MAX_ASPECT_SPREAD apart) that squashing them to one size would distort them.
    """
    if given is not None:
        return given, [f"pictures resized to {given[0]}×{given[1]} (--image-size)"]
    sizes = set(zip(heights.tolist(), widths.tolist(), strict=True))
    notes = []
    if len(sizes) == 1:
        height, width = next(iter(sizes))
    else:
        aspect = widths / heights
        spread = float(aspect.max() / aspect.min())
        if spread > MAX_ASPECT_SPREAD:
            tall, wide = int(np.argmin(aspect)), int(np.argmax(aspect))
            raise FullcycleError(
                f"pictures range from {widths[tall]}×{heights[tall]} to "
                f"{widths[wide]}×{heights[wide]} (width×height): shapes {spread:.1f}x apart "
                "cannot share one size without distortion; crop them to similar shapes, or "
                "pass --image-size to squash them all to one size anyway")
        height, width = int(np.median(heights)), int(np.median(widths))
        notes.append(f"pictures have {len(sizes)} sizes (from {heights.min()}×{widths.min()} "
                     f"to {heights.max()}×{widths.max()}); all resized to the median")
    longest = max(height, width)
    if longest > MAX_AUTO_SIDE:
        scale = MAX_AUTO_SIDE / longest
        height, width = max(4, round(height * scale)), max(4, round(width * scale))
        notes.append(f"pictures shrunk to {height}×{width} (longest side {MAX_AUTO_SIDE} for "
                     "training speed); pass --image-size for more detail")
    return (int(height), int(width)), notes


# ---- prepare ------------------------------------------------------------------------------------
def _load_layout(source: str | Path | pd.DataFrame, options: ImageOptions,
                 target: str | list[str] | None, name: str, split: SplitOptions
                 ) -> tuple[pd.DataFrame, str, list[str], list[str]]:
    """(table, path column, target columns, notes) for either layout."""
    if options.image_column is None:
        if isinstance(source, pd.DataFrame):
            raise FullcycleError("a DataFrame of pictures needs image_column= (the column of "
                                 "picture paths)")
        frame, notes = folder_table(Path(source), name)
        return frame, PATH_COLUMN, [LABEL_COLUMN], notes
    if target is None:
        raise FullcycleError("a table of pictures needs --target (the label column)")
    frame = path_table(source, options.image_column, name)
    targets = target_names(target)
    _check_columns(frame, targets, [], split)
    return frame, options.image_column, targets, []


def prepare_images(source: str | Path | pd.DataFrame, target: str | list[str] | None = None,
                   *, options: ImageOptions | None = None, task: str | None = None,
                   dev_data: str | Path | pd.DataFrame | None = None,
                   split: SplitOptions | None = None, drop_missing_target: bool = False,
                   saved_split: dict | None = None,
                   target_encoding: TargetEncoding | None = None) -> Prepared:
    """Read, check, split and normalize pictures for training (see module docstring).

    `target_encoding` encodes the labels as a bundle did (retraining), instead of fitting
    one on these training rows."""
    options = options or ImageOptions()
    split = split or SplitOptions()
    frame, column, targets, notes = _load_layout(source, options, target, "data", split)
    n_source = len(frame)
    if dev_data is not None:
        extra, _, dev_targets, dev_notes = _load_layout(dev_data, options, target, "dev data",
                                                        split)
        if dev_targets != targets or column not in extra.columns:
            raise FullcycleError("--dev-data must have the same layout as the data (class "
                                 "folders, or the same path and label columns)")
        frame = pd.concat([frame, extra[frame.columns.intersection(extra.columns)]],
                          ignore_index=True)
        notes += [f"dev data: {n}" for n in dev_notes]
    scan = scan_pictures(frame[column].tolist(), options.skip_unreadable)
    if scan.unreadable:
        shown = "; ".join(f"{Path(p).name} {why}" for p, why in scan.unreadable[:3])
        notes.append(f"{len(scan.unreadable)} unreadable file(s) skipped: {shown}"
                     + (" …" if len(scan.unreadable) > 3 else ""))
        n_source = int(scan.keep[:n_source].sum())
        frame = frame[scan.keep].reset_index(drop=True)
    if len(frame) == 0:
        raise FullcycleError("none of the files is a readable picture; check the folder")
    frame[HASH_COLUMN] = scan.sha256
    frame["_scan"] = np.arange(len(frame))  # each row's entry in the scan, through the drops
    frame, n_source, dropped = _handle_missing_target(frame, targets, n_source,
                                                      drop_missing_target)
    if dropped:
        notes.append(f"{dropped} pictures with a missing label dropped (--drop-missing-target)")
    if target_encoding is not None:  # retraining: only the classes the bundle knows
        check_known_classes(frame, targets, target_encoding)
    info = infer_task(frame, targets, task)
    at = frame.pop("_scan").to_numpy()
    size, size_notes = choose_size(scan.heights[at], scan.widths[at], options.image_size)
    channels = options.channels or (1 if bool(scan.gray[at].all()) else 3)
    fingerprint = fingerprint_frame(frame[[HASH_COLUMN, *targets]])
    if saved_split is not None:
        if saved_split.get("fingerprint") != fingerprint:
            raise FullcycleError("the pictures changed since the split was saved (fingerprint "
                                 "differs); split again or use the original folder")
        the_split = Split.from_dict(saved_split)
    else:
        the_split = make_split(
            n_source, split, strata=_strata(frame, info),
            groups=frame[split.group_column].to_numpy() if split.group_column else None,
            times=frame[split.time_column] if split.time_column else None,
            n_target_rows=len(frame) - n_source)
    preprocessor = ImagePreprocessor(column, size[0], size[1], channels, notes=size_notes)
    train_at = at[the_split.indices["train"]]
    if options.statistics is not None:
        mean, std = (list(map(float, v)) for v in options.statistics)
        if len(mean) != channels or len(std) != channels or min(std) <= 0:
            raise FullcycleError(f"normalization statistics for {len(mean)} channel(s) do not "
                                 f"fit {channels}-channel pictures; give one mean and one "
                                 "positive std per channel")
        preprocessor.mean, preprocessor.std = mean, std
        notes.append("pictures normalized with the pretrained network's mean / std (its "
                     "first layers were trained on inputs scaled that way), not the new "
                     "training split's")
    elif bool(((scan.heights[train_at] == size[0]) & (scan.widths[train_at] == size[1])).all()):
        # no training picture is resized: the scan's sums give the exact statistics
        preprocessor.mean, preprocessor.std = scan.statistics(train_at, channels)
    else:
        train_paths = frame[column].to_numpy(dtype=object)[the_split.indices["train"]]
        preprocessor.fit_statistics(list(train_paths), seed=split.seed)
    encoding = (target_encoding if target_encoding is not None
                else fit_target(info, frame.iloc[the_split.indices["train"]]))
    X, y, rows = {}, {}, {}
    paths = frame[column].to_numpy(dtype=object)
    for name in SPLIT_NAMES:
        idx = the_split.indices[name]
        rows[name] = idx
        X[name] = ImageArray(paths[idx], preprocessor)
        _fill_from_scan(X[name], scan, at[idx], size, channels)
        y[name] = encoding.encode(frame.iloc[idx])
    test = (X.pop("test"), y.pop("test"))
    duplicates = duplicates_across_splits(frame[[HASH_COLUMN]], the_split)
    if duplicates["count"]:
        notes.append(f"{duplicates['count']} pictures (same file content) appear in more than "
                     "one split (leakage): see duplicates_across_splits")
    known = encoding if target_encoding is not None else info  # the bundle's, retraining
    return Prepared(task=known.task, targets=list(known.targets), classes=list(known.classes),
                    frame=frame, features=[column], split=the_split, preprocessor=preprocessor,
                    target_encoding=encoding, X=X, y=y, rows=rows, fingerprint=fingerprint,
                    duplicates=duplicates, notes=notes, n_source_rows=n_source, _test=test,
                    images={"layout": "table" if options.image_column else "folders",
                            "height": size[0], "width": size[1], "channels": channels,
                            "unreadable": [p for p, _ in scan.unreadable],
                            "mean": preprocessor.mean, "std": preprocessor.std})


def _fill_from_scan(images: ImageArray, scan: Scan, at: np.ndarray, size: tuple[int, int],
                    channels: int) -> None:
    """Put the pixels the scan kept (pictures already at the training size) into the split's
    decoded-pixel cache, so they are not decoded again."""
    for i, j in enumerate(at):
        pixels = scan.pixels[j]
        if pixels is not None and pixels.shape[:2] == size:
            images.prefill(i, as_chw(pixels, channels))


def picture_inputs(source: str | Path, column: str) -> pd.DataFrame:
    """The pictures to predict: every picture under a folder (any depth, sorted), or a
    table whose `column` holds their paths (relative to the table's folder)."""
    path = Path(source)
    if path.is_dir():
        files = sorted(str(p.resolve()) for p in path.rglob("*")
                       if p.is_file() and _is_picture(p) and not _hidden(p, path))
        if not files:
            raise FullcycleError(f"the folder {path} holds no pictures "
                                 f"({', '.join(sorted(PICTURE_EXTENSIONS))}); check the path")
        return pd.DataFrame({column: files})
    return path_table(path, column, "data")
