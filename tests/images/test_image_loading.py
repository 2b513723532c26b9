"""Reading pictures: layouts, sizes, channels, train-only statistics, broken files, leakage."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from pictures import write_shapes
from PIL import Image

from fullcycle.data.image_dataset import ImageArray
from fullcycle.data.image_preprocess import ImagePreprocessor, load_preprocessor
from fullcycle.data.images import (
    ImageOptions,
    choose_size,
    parse_image_size,
    picture_inputs,
    prepare_images,
)
from fullcycle.data.splits import SplitOptions
from fullcycle.errors import FullcycleError


def test_folder_of_class_folders_is_a_multiclass_task(shapes_dir: Path) -> None:
    p = prepare_images(shapes_dir)
    assert p.task == "multiclass" and p.classes == ["bar", "cross", "disc"]
    assert p.is_images and p.features == ["path"]
    assert sum(p.sizes.values()) == 120 and p.sizes["test"] == 24
    assert isinstance(p.X["train"], ImageArray) and p.X["train"].shape == (72, 1, 16, 16)
    assert p.images["channels"] == 1 and (p.images["height"], p.images["width"]) == (16, 16)
    batch = p.X["dev"].decode([0, 1, 2])
    assert batch.shape == (3, 1, 16, 16) and batch.dtype == np.float32
    X_test, y_test = p.test("checking the lock")
    assert len(X_test) == 24 and p.test_access_reasons == ["checking the lock"]


def test_colour_pictures_get_three_channels(tmp_path: Path) -> None:
    p = prepare_images(write_shapes(tmp_path / "rgb", 12, color=True))
    assert p.images["channels"] == 3 and p.X["train"].shape[1] == 3
    assert len(p.preprocessor.mean) == 3 and len(p.preprocessor.std) == 3


def test_rgb_files_of_grey_pictures_are_read_as_grayscale(tmp_path: Path) -> None:
    root = write_shapes(tmp_path / "grey", 12)
    for path in root.rglob("*.png"):
        Image.open(path).convert("RGB").save(path)
    assert prepare_images(root).images["channels"] == 1


def test_normalization_statistics_come_from_the_training_split_only(tmp_path: Path) -> None:
    root = write_shapes(tmp_path / "shapes", 30)
    first = prepare_images(root)
    held_out = [Path(p) for name in ("dev", "test") for p in
                first.frame["path"].to_numpy()[first.split.indices[name]]]
    pixels = np.concatenate([np.asarray(Image.open(p), dtype=np.float64).ravel() / 255
                             for p in first.frame["path"].to_numpy()[first.split.indices["train"]]])
    assert first.preprocessor.mean[0] == pytest.approx(pixels.mean(), abs=1e-9)
    assert first.preprocessor.std[0] == pytest.approx(pixels.std(), abs=1e-9)
    for path in held_out:  # dev and test pictures turn white: train statistics must not move
        Image.new("L", (16, 16), 255).save(path)
    second = prepare_images(root)
    assert second.split.to_dict()["indices"] == first.split.to_dict()["indices"]
    assert second.preprocessor.mean == first.preprocessor.mean
    assert second.preprocessor.std == first.preprocessor.std
    assert second.fingerprint != first.fingerprint  # contents changed, and the data says so


def test_unreadable_files_are_listed_and_skipped_with_a_note(shapes_dir: Path) -> None:
    (shapes_dir / "disc" / "notes.png").write_text("not a picture")
    good = next((shapes_dir / "bar").glob("*.png")).read_bytes()
    (shapes_dir / "bar" / "truncated.png").write_bytes(good[: len(good) // 2])
    p = prepare_images(shapes_dir)
    assert sum(p.sizes.values()) == 120
    assert sorted(Path(f).name for f in p.images["unreadable"]) == ["notes.png", "truncated.png"]
    assert any("2 unreadable file(s) skipped" in n for n in p.summary()["notes"])


def test_unreadable_files_refused_on_request(shapes_dir: Path) -> None:
    (shapes_dir / "disc" / "notes.png").write_text("not a picture")
    with pytest.raises(FullcycleError, match=r"notes.png is not a picture .*--refuse-unreadable"):
        prepare_images(shapes_dir, options=ImageOptions(skip_unreadable=False))


@pytest.mark.parametrize("layout", ["empty", "loose", "one class", "all unreadable"])
def test_folders_without_a_task_are_refused_with_the_fix(tmp_path: Path, layout: str) -> None:
    root = tmp_path / "data"
    root.mkdir()
    if layout == "loose":
        Image.new("L", (8, 8)).save(root / "a.png")
    elif layout == "one class":
        write_shapes(root, 10, classes=("disc",))
    elif layout == "all unreadable":
        for name in ("a", "b"):
            (root / name).mkdir()
            (root / name / "x.png").write_text("text")
    message = {"empty": "has no pictures in class sub-folders",
               "loose": "1 pictures lie directly in it",
               "one class": "only one class",
               "all unreadable": "none of the files is a readable picture"}[layout]
    with pytest.raises(FullcycleError, match=message):
        prepare_images(root)


def test_split_folders_are_recognised_and_the_fix_named(tmp_path: Path) -> None:
    write_shapes(tmp_path / "data" / "train", 4)
    write_shapes(tmp_path / "data" / "test", 4)
    with pytest.raises(FullcycleError, match=r"split folders \(test, train\).*pass .*test"):
        prepare_images(tmp_path / "data")


def test_mixed_sizes_are_resized_to_the_median_with_a_note(tmp_path: Path) -> None:
    root = write_shapes(tmp_path / "mixed", 10)
    for i, path in enumerate(sorted(root.rglob("*.png"))[:6]):
        Image.open(path).resize((20 + i, 20 + i)).save(path)
    p = prepare_images(root)
    assert (p.images["height"], p.images["width"]) == (16, 16)
    assert any("all resized to the median" in n for n in p.preprocessor.notes)
    assert p.X["train"].decode([0]).shape == (1, 1, 16, 16)


def test_shapes_too_far_apart_are_refused_unless_a_size_is_given(tmp_path: Path) -> None:
    heights, widths = np.array([10, 40, 12]), np.array([40, 10, 40])
    with pytest.raises(FullcycleError, match="cannot share one size.*--image-size"):
        choose_size(heights, widths, None)
    assert choose_size(heights, widths, (24, 24))[0] == (24, 24)


def test_large_pictures_are_shrunk_for_training_speed() -> None:
    size, notes = choose_size(np.array([480, 480]), np.array([640, 640]), None)
    assert size == (48, 64) and "pass --image-size" in notes[0]


@pytest.mark.parametrize("text, expected", [("64", (64, 64)), ("48x64", (48, 64)),
                                            (32, (32, 32))])
def test_image_size_flag(text: str, expected: tuple[int, int]) -> None:
    assert parse_image_size(text) == expected


@pytest.mark.parametrize("text", ["big", "2", "10x20x30", "5000"])
def test_bad_image_size_flag_names_the_format(text: str) -> None:
    with pytest.raises(FullcycleError, match="--image-size"):
        parse_image_size(text)


def test_identical_files_in_two_splits_are_reported_as_leakage(shapes_dir: Path) -> None:
    source = next((shapes_dir / "disc").glob("*.png"))
    for i in range(8):
        shutil.copy(source, shapes_dir / "disc" / f"copy{i}.png")
    p = prepare_images(shapes_dir)
    assert p.duplicates["count"] == 1 and p.duplicates["rows"] >= 2
    assert any("same file content" in n for n in p.notes)


def test_dev_data_folder_gives_dev_test_and_a_train_dev_set(tmp_path: Path) -> None:
    web = write_shapes(tmp_path / "web", 30, seed=1)
    app = write_shapes(tmp_path / "app", 12, seed=2, color=False)
    p = prepare_images(web, dev_data=app)
    sizes = p.sizes
    assert p.split.strategy == "dev-data" and sizes["train_dev"] > 0
    dev_paths = p.frame["path"].to_numpy()[p.split.indices["dev"]]
    assert all(str(tmp_path / "app") in path for path in dev_paths)


def test_table_of_paths_with_relative_paths_and_multilabel_blanks(tmp_path: Path) -> None:
    root = write_shapes(tmp_path / "pics", 12)
    files = sorted(root.rglob("*.png"))
    table = pd.DataFrame({
        "file": [str(f.relative_to(tmp_path)) for f in files],
        "round": [1.0 if "disc" in f.name else 0.0 for f in files],
        "straight": [np.nan if i % 7 == 0 else float("bar" in f.name)
                     for i, f in enumerate(files)],
    })
    table.to_csv(tmp_path / "labels.csv", index=False)
    p = prepare_images(tmp_path / "labels.csv", ["round", "straight"],
                       options=ImageOptions(image_column="file"))
    assert p.task == "multilabel" and p.features == ["file"]
    assert np.isnan(p.y["train"]).any() and p.X["train"].shape[1:] == (1, 16, 16)
    assert Path(p.frame["file"].iloc[0]).is_absolute()


def test_table_needs_a_known_image_column(tmp_path: Path) -> None:
    pd.DataFrame({"a": ["x.png"], "y": [1]}).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(FullcycleError, match="--image-column 'file' not found"):
        prepare_images(tmp_path / "t.csv", "y", options=ImageOptions(image_column="file"))


def test_saved_split_is_reused_and_a_changed_folder_refused(shapes_dir: Path) -> None:
    p = prepare_images(shapes_dir, split=SplitOptions(seed=3))
    saved = {"fingerprint": p.fingerprint, **p.split.to_dict()}
    again = prepare_images(shapes_dir, saved_split=saved)
    assert np.array_equal(again.rows["dev"], p.rows["dev"])
    Image.new("L", (16, 16), 255).save(next((shapes_dir / "bar").glob("*.png")))
    with pytest.raises(FullcycleError, match="pictures changed"):
        prepare_images(shapes_dir, saved_split=saved)


def test_loader_batches_are_normalized_and_cached(shapes_dir: Path) -> None:
    p = prepare_images(shapes_dir)
    images = p.X["train"]
    x, y = next(iter(images.loader(p.y["train"], batch_size=72, workers=0)))
    assert x.shape == (72, 1, 16, 16) and y.tolist() == p.y["train"].tolist()
    assert abs(float(x.mean())) < 0.05 and float(x.std()) == pytest.approx(1.0, abs=0.05)
    assert bool(images._cache[1].all())  # every picture decoded once, kept
    np.testing.assert_allclose(images.decode(range(72)), x.numpy(), atol=1e-6)


def test_loader_with_worker_processes_gives_the_same_batches(shapes_dir: Path) -> None:
    p = prepare_images(shapes_dir)
    alone = next(iter(p.X["dev"].loader(p.y["dev"], batch_size=24, workers=0)))
    helped = next(iter(p.X["dev"].loader(p.y["dev"], batch_size=24, workers=1)))
    assert np.array_equal(alone[0].numpy(), helped[0].numpy())


def test_preprocessor_json_round_trip_and_refusal_of_a_broken_one(shapes_dir: Path) -> None:
    pre = prepare_images(shapes_dir).preprocessor
    again = load_preprocessor(pre.to_dict())
    assert isinstance(again, ImagePreprocessor) and again == pre
    with pytest.raises(FullcycleError, match="inconsistent"):
        ImagePreprocessor.from_dict({**pre.to_dict(), "channels": 3})


def test_picture_inputs_of_a_folder_and_of_a_table(shapes_dir: Path, tmp_path: Path) -> None:
    frame = picture_inputs(shapes_dir, "path")
    assert len(frame) == 120 and all(Path(p).is_absolute() for p in frame["path"])
    with pytest.raises(FullcycleError, match="holds no pictures"):
        picture_inputs(_empty(tmp_path), "path")


def _empty(tmp_path: Path) -> Path:
    folder = tmp_path / "nothing"
    folder.mkdir()
    return folder


def test_small_pictures_are_decoded_once_by_the_scan(tmp_path: Path) -> None:
    root = write_shapes(tmp_path / "mixed", 10)
    resized = sorted(root.rglob("*.png"))[0]
    Image.open(resized).resize((18, 18)).save(resized)
    p = prepare_images(root)
    cached = {str(path): bool(p.X[name]._cache[1][i]) for name in ("train", "dev")
              for i, path in enumerate(p.X[name].paths)}
    assert cached.pop(str(resized.resolve()), False) is False  # needs resizing: decoded later
    assert all(cached.values())
    x = p.X["train"].decode([0])
    again = p.preprocessor.decode(p.X["train"].paths[0])  # straight from the file
    np.testing.assert_allclose(x[0], again, atol=1e-6)


def test_a_subset_reads_the_cache_of_its_split(shapes_dir: Path) -> None:
    p = prepare_images(shapes_dir)
    subset = p.X["train"][np.array([5, 2, 9])][np.array([2, 0])]
    assert list(subset.paths) == [p.X["train"].paths[9], p.X["train"].paths[5]]
    assert subset.chw(0) is not None and subset._cache is None  # nothing of its own
    np.testing.assert_array_equal(subset.decode(), p.X["train"].decode([9, 5]))
    with pytest.raises(TypeError, match="decodes pictures on demand"):
        np.asarray(p.X["dev"])


def test_a_cached_split_is_read_a_batch_at_a_time_without_worker_processes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fullcycle.data import image_dataset

    monkeypatch.setattr(image_dataset, "MIN_ROWS_FOR_WORKERS", 1)  # workers even for a few
    root = write_shapes(tmp_path / "mixed", 10)
    p = prepare_images(root)
    resized = Path(p.X["train"].paths[0])
    Image.open(resized).resize((18, 18)).save(resized)  # not kept by the scan: decoded later
    p = prepare_images(root)
    images = p.X["train"]
    assert not images.fully_cached() and images.loader(p.y["train"]).num_workers >= 1
    whole = images.dataset(p.y["train"]).__getitems__([3, 0, 7])
    one_by_one = [images.dataset(p.y["train"])[i] for i in (3, 0, 7)]
    assert torch.equal(whole.pictures, torch.stack([x for x, _ in one_by_one]))
    assert whole.labels.tolist() == [int(y) for _, y in one_by_one]
    assert images.fully_cached()  # the one missing picture was decoded and kept
    loader = images.loader(p.y["train"], batch_size=8)
    assert loader.num_workers == 0
    first = next(iter(loader))
    np.testing.assert_allclose(first[0].numpy(), images.decode(range(8)), atol=1e-6)
    subset = images[np.array([4, 1])]
    assert subset.fully_cached() and torch.equal(subset.chw_batch([1, 0]),
                                                 images.chw_batch([1, 4]))


def test_given_statistics_replace_the_training_splits_and_are_checked(shapes_dir: Path) -> None:
    p = prepare_images(shapes_dir, options=ImageOptions(statistics=((0.5,), (0.25,))))
    assert p.preprocessor.mean == [0.5] and p.preprocessor.std == [0.25]
    assert any("pretrained network's mean / std" in n for n in p.notes)
    with pytest.raises(FullcycleError, match="do not fit 1-channel pictures"):
        prepare_images(shapes_dir, options=ImageOptions(statistics=((0.5,) * 3, (0.2,) * 3)))


def test_dev_data_pictures_in_train_can_be_weighted_for_data_mismatch(tmp_path: Path) -> None:
    """The mismatch move repeats the target distribution's training pictures: the repeated
    rows point at the same files (and the same pixel cache), labels follow them."""
    from fullcycle.recipe.training_rows import target_rows, weight_target_rows

    web = write_shapes(tmp_path / "web", 30, seed=1)
    app = write_shapes(tmp_path / "app", 30, seed=2, color=False)
    p = prepare_images(web, dev_data=app)
    mask = target_rows(p)
    assert mask is not None and 0 < mask.sum() < len(mask)
    X, y = weight_target_rows(p, p.X["train"], p.y["train"], 4)
    assert len(X) == len(y) == len(p.X["train"]) + 3 * int(mask.sum())
    extra = X.paths[len(p.X["train"]):]
    assert all(str(tmp_path / "app") in path for path in extra)
    first_target = int(np.flatnonzero(mask)[0])
    np.testing.assert_array_equal(X.decode([len(p.X["train"])]),
                                  p.X["train"].decode([first_target]))
    assert y[len(p.X["train"])] == p.y["train"][first_target]
    assert target_rows(prepare_images(web)) is None
