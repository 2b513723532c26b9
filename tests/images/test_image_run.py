"""`fullcycle run DIR` on a folder of pictures, end to end, and `fullcycle predict` after it."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pictures import write_shapes
from PIL import Image

from fullcycle.cli import main
from fullcycle.journal import Journal

pytestmark = pytest.mark.slow  # each run trains a CNN for its budget (~20 s)


def run_cli(*args: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def picture_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    """Three shapes, four discs filed as bars (label errors to find), eight blank pictures
    per class (no shape: errors whatever the model), one broken file."""
    root = write_shapes(tmp_path_factory.mktemp("data") / "shapes", 30)
    for i, disc in enumerate(sorted((root / "disc").glob("*.png"))[:4]):
        shutil.move(disc, root / "bar" / f"mislabelled_{i}.png")
    rng = np.random.default_rng(5)
    for shape in ("bar", "cross", "disc"):
        for i in range(8):
            noise = rng.integers(0, 60, (16, 16), dtype=np.uint8)
            Image.fromarray(noise, "L").save(root / shape / f"blank_{i}.png")
    (root / "cross" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    out = tmp_path_factory.mktemp("runs") / "shapes"
    code, stdout, stderr = run_cli("run", root, "--out", out, "--budget", "40s", "--json",
                                   "--seed", "1")
    assert code == 0, stderr
    return root, out, json.loads(stdout)


def test_run_on_a_folder_goes_through_the_whole_recipe(picture_run) -> None:
    _, out, summary = picture_run
    assert summary["task"] == "multiclass" and summary["classes"] == ["bar", "cross", "disc"]
    assert summary["images"]["channels"] == 1 and summary["images"]["n_unreadable"] == 1
    assert sum(summary["splits"].values()) == 3 * 30 + 3 * 8
    assert any("1 unreadable file(s) skipped: broken.png" in n for n in summary["notes"])
    kinds = [d["kind"] for d in summary["decisions"]]
    for kind in ("split", "baselines", "architecture", "checks", "lr_finder", "diagnosis"):
        assert kind in kinds
    assert summary["experiments"][0]["config"].startswith("ResNet 16,32 x1")
    assert summary["baselines"][1]["description"].startswith("scikit-learn LogisticRegression")
    assert summary["test_accesses"] == 1 and summary["errors"]["test"] is not None
    assert summary["errors"]["dev"] < summary["baselines"][0]["dev_error"]  # beats majority
    for name in ("summary.json", "report.html", "errors.csv", "dev_predictions.csv",
                 "model/bundle.json", "model/weights.safetensors", "journal.sqlite"):
        assert (out / name).exists(), name


def test_errors_csv_names_each_wrong_picture_by_its_path(picture_run) -> None:
    _, out, summary = picture_run
    errors = pd.read_csv(out / "errors.csv")
    assert "input.path" in errors.columns and "tags" in errors.columns
    assert len(errors) == summary["error_analysis"]["n_errors"] > 0
    assert all(Path(p).is_file() for p in errors["input.path"])
    assert {"input.brightness", "input.contrast"} <= set(errors.columns)


def test_gallery_holds_thumbnails_of_the_worst_pictures_and_label_suspects(picture_run) -> None:
    _, out, summary = picture_run
    gallery = summary["pictures"]
    assert len(gallery["highest_loss"]) >= 1
    first = gallery["highest_loss"][0]
    assert Path(first["path"]).is_file() and first["given"] in summary["classes"]
    with Image.open(out / first["file"]) as thumb:
        assert max(thumb.size) == 72
    assert gallery["augmentations"]["columns"][0] == "original"
    assert "color" not in gallery["augmentations"]["columns"]  # grayscale pictures
    assert (out / gallery["augmentations"]["file"]).stat().st_size > 500
    html = (out / "report.html").read_text()
    assert 'alt="highest-loss dev picture 1"' in html and 'alt="augmentation grid"' in html
    assert "src=\"data:image/png;base64," in html


def test_predict_reproduces_the_dev_predictions(picture_run, tmp_path: Path) -> None:
    _, out, summary = picture_run
    dev = pd.read_csv(out / "dev_predictions.csv")
    pd.DataFrame({"path": dev["input.path"]}).to_csv(tmp_path / "dev.csv", index=False)
    code, _, stderr = run_cli("predict", out / "model", tmp_path / "dev.csv", "--out",
                              tmp_path / "p.csv")
    assert code == 0, stderr
    again = pd.read_csv(tmp_path / "p.csv")
    assert list(again["path"]) == list(dev["input.path"])
    assert list(again["prediction"]) == list(dev["y_pred"])
    for label in summary["classes"]:
        np.testing.assert_allclose(again[f"proba_{label}"], dev[f"proba_{label}"], atol=1e-5)


def test_predict_on_a_folder_gives_one_row_per_picture(picture_run, tmp_path: Path) -> None:
    root, out, _ = picture_run
    folder = tmp_path / "new"
    folder.mkdir()
    for path in sorted(root.rglob("*.png"))[:5]:
        if path.name != "broken.png":
            shutil.copy(path, folder / path.name)
    code, stdout, stderr = run_cli("predict", out / "model", folder, "--out",
                                   tmp_path / "p.csv", "--json")
    assert code == 0, stderr
    assert json.loads(stdout)["rows"] == len(list(folder.iterdir()))
    shutil.copy(root / "cross" / "broken.png", folder / "broken.png")
    code, stdout, stderr = run_cli("predict", out / "model", folder, "--out", tmp_path / "q.csv")
    assert code == 2 and stdout == "" and len(stderr.strip().splitlines()) == 1
    assert "broken.png cannot be decoded" in stderr and not (tmp_path / "q.csv").exists()


def test_export_of_a_picture_bundle_is_refused_with_one_line(picture_run,
                                                             tmp_path: Path) -> None:
    _, out, _ = picture_run
    code, stdout, stderr = run_cli("export", out / "model", "--onnx", tmp_path / "m.onnx")
    assert code == 2 and len(stderr.strip().splitlines()) == 1
    assert "reads pictures" in stderr and "PyTorch runtime" in stderr
    assert not (tmp_path / "m.onnx").exists() and not (out / "model" / "model.onnx").exists()


def test_monitor_compares_live_pictures_with_the_bundles_reference(picture_run,
                                                                  tmp_path: Path) -> None:
    """Folder or table of live pictures: the picture statistics, thumbnails and predictions
    against what the bundle stored; the same pictures do not drift, darker larger ones do."""
    root, out, _ = picture_run
    code, stdout, stderr = run_cli("monitor", out / "model", root, "--json", "--out",
                                   tmp_path / "same")
    assert code == 0, stderr
    same = json.loads(stdout)
    columns = {c["column"]: c for c in same["columns"]}
    assert set(columns) == {"brightness", "contrast", "file_width", "file_height",
                            "thumbnail"}
    assert columns["thumbnail"]["method"] == "domain_classifier"
    assert not same["drifted"] and not same["predictions"]["drift"]
    assert any("could not be read" in note for note in same["notes"])  # broken.png
    dark = tmp_path / "dark"
    for picture in sorted(root.rglob("*.png"))[::2]:
        try:
            pixels = np.asarray(Image.open(picture).convert("L"), dtype=float)
        except OSError:
            continue
        target = dark / picture.parent.name / picture.name
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray((pixels * 0.5 + 60).astype(np.uint8)).resize((24, 24)).save(target)
    table = tmp_path / "live.csv"
    pd.DataFrame({"path": [str(p.relative_to(tmp_path)) for p in sorted(dark.rglob("*.png"))]}
                 ).to_csv(table, index=False)
    code, stdout, stderr = run_cli("monitor", out / "model", table, "--json", "--out",
                                   tmp_path / "dark_out")
    assert code == 1, stderr  # exit status 1: the data set drifted
    drifted = json.loads(stdout)
    columns = {c["column"]: c for c in drifted["columns"]}
    assert drifted["drifted"] and drifted["source"] == "table"
    assert columns["brightness"]["drift"] and columns["file_width"]["drift"]
    assert columns["thumbnail"]["drift"] and columns["thumbnail"]["statistic"] > 0.8
    page = (tmp_path / "dark_out" / "monitor.html").read_text()
    assert "Pictures: a classifier tries to tell live pictures" in page
    for args, words in (([tmp_path / "nothing_here"], "holds no pictures"),
                        ([tmp_path / "no_column.csv"], "no 'path' column")):
        (tmp_path / "nothing_here").mkdir(exist_ok=True)
        pd.DataFrame({"file": ["a.png"]}).to_csv(tmp_path / "no_column.csv", index=False)
        code, stdout, stderr = run_cli("monitor", out / "model", *args)
        assert code == 2 and len(stderr.strip().splitlines()) == 1 and words in stderr, stderr


def test_retrain_warm_starts_a_picture_bundle_on_new_pictures(picture_run,
                                                             tmp_path: Path) -> None:
    """New class folders at other sizes: read at the bundle's size and normalization, labels
    encoded as the bundle encodes them, trained from its weights; a class it does not know
    is refused with one line and changes nothing."""
    import shutil

    from fullcycle.models.bundle import load_bundle
    from fullcycle.monitor.retrain import retrain_bundle

    _, out, _ = picture_run
    bundle = tmp_path / "model"
    shutil.copytree(out / "model", bundle)
    new = write_shapes(tmp_path / "new", 10, classes=("cross", "disc"), side=24, seed=11)
    result = retrain_bundle(bundle, new, budget="15s", replace=False, out=tmp_path / "re")
    doc = result.doc
    assert doc["test_accesses"] == 1 and doc["old"]["dev_error"] is not None
    from fullcycle.serve.predictor import Predictor

    candidate, old = load_bundle(doc["candidate"]), load_bundle(bundle)
    codes = Predictor.load(doc["candidate"]).target.classes
    assert codes == Predictor.load(bundle).target.classes == ["bar", "cross", "disc"]
    assert candidate.preprocessing["features"]["height"] == 16  # the bundle's size
    assert candidate.preprocessing["features"]["mean"] == old.preprocessing["features"]["mean"]
    assert (tmp_path / "re" / "journal.sqlite").exists()
    before = (bundle / "bundle.json").read_bytes()
    unknown = write_shapes(tmp_path / "unknown", 6, classes=("disc", "star"), seed=3)
    code, stdout, stderr = run_cli("retrain", bundle, unknown)
    assert code == 2 and stdout == "" and len(stderr.strip().splitlines()) == 1, stderr
    assert "star" in stderr
    assert (bundle / "bundle.json").read_bytes() == before


def test_transfer_from_the_run_freezes_the_trunk_for_few_pictures(picture_run,
                                                                  tmp_path: Path) -> None:
    _, out, _ = picture_run
    small = write_shapes(tmp_path / "two", 12, classes=("disc", "cross"), seed=7)
    code, stdout, stderr = run_cli("run", small, "--out", tmp_path / "run", "--budget", "30s",
                                   "--pretrained", out / "model", "--json")
    assert code == 0, stderr
    summary = json.loads(stdout)
    plan = summary["architecture"]["transfer"]
    assert plan["regime"] == "small"
    assert [g["trainable"] for g in plan["groups"]] == [False, False, True]
    assert summary["experiments"][0]["config"].startswith("ResNet 16,32 x1, transfer (small)")
    journal = Journal(tmp_path / "run" / "journal.sqlite")
    transfer = [d for d in journal.decisions() if d["kind"] == "transfer"]
    assert transfer and transfer[0]["action"] == ("stem + stage 1 frozen; stage 2 frozen; "
                                                  "head at lr")
    experiment = journal.experiments()[0]
    assert experiment["config"]["images"]["transfer"] == "small"
    # the new pictures are scaled as the trunk's first layers were trained (task A's mean/std)
    source = json.loads((out / "model" / "bundle.json").read_text())["preprocessing"]
    assert summary["images"]["mean"] == source["features"]["mean"]
    assert summary["images"]["std"] == source["features"]["std"]
    assert any("pretrained network's mean / std" in note for note in summary["notes"])
    assert experiment["config"]["images"]["pretrained"] == f"bundle {out / 'model'}"
    # the new head reads both stages' pooled features and started as a linear probe
    assert "linear probe" in plan["head"]
    from fullcycle.models.bundle import load_bundle

    trained = load_bundle(tmp_path / "run" / "model").model
    trained = getattr(trained, "members", [trained])[0]  # a seed average: its first member
    assert trained.config["pool_stages"] and trained.output.in_features == 16 + 32


def test_serve_predicts_uploaded_pictures_as_predict_does(picture_run, tmp_path: Path) -> None:
    """`POST /predict` with the pictures as multipart file parts, on `fullcycle serve`'s app."""
    from fastapi.testclient import TestClient

    from fullcycle.serve.app import ServeConfig, create_app

    _, out, summary = picture_run
    dev = pd.read_csv(out / "dev_predictions.csv").head(5)
    files = [("file", (Path(p).name, Path(p).read_bytes(), "image/png"))
             for p in dev["input.path"]]
    config = ServeConfig(bundle=str(out / "model"), log_dir=str(tmp_path / "served"))
    with TestClient(create_app(config)) as client:
        answer = client.post("/predict", files=files)
        assert answer.status_code == 200, answer.text
        predictions = answer.json()["predictions"]
        assert [p["prediction"] for p in predictions] == list(dev["y_pred"])
        for label in summary["classes"]:
            np.testing.assert_allclose([p[f"proba_{label}"] for p in predictions],
                                       dev[f"proba_{label}"], atol=1e-5)
        logged = [json.loads(line) for f in (tmp_path / "served").glob("*.jsonl")
                  for line in f.read_text().splitlines()]
        assert [r["row"]["path"] for r in logged] == [Path(p).name for p in dev["input.path"]]
        broken = client.post("/predict", files=[files[0], ("file", ("notes.png", b"not a "
                                                                     b"picture", "image/png"))])
        assert broken.status_code == 422 and "file 2 (notes.png) is not a picture" in \
            broken.json()["error"] and "\n" not in broken.json()["error"]
        form = client.post("/predict", content=b"--xyz\r\nContent-Disposition: form-data; "
                           b'name="comment"\r\n\r\nhello\r\n--xyz--\r\n',
                           headers={"content-type": "multipart/form-data; boundary=xyz"})
        assert form.status_code == 422 and "no file part" in form.json()["error"]
        metrics = client.get("/metrics")
        assert metrics.status_code == 200
        drift = metrics.json()["drift"]  # uploads keep no pixels: monitor a folder instead
        assert drift["status"] == "unavailable" and "fullcycle monitor" in drift["reason"]
    assert len(logged) == 5  # the refused requests logged nothing


def test_uploaded_files_to_a_table_model_are_a_415(tmp_path: Path) -> None:
    import tiny_bundles
    from fastapi.testclient import TestClient

    from fullcycle.serve.app import ServeConfig, create_app

    bundle = tiny_bundles.make_bundle(tmp_path / "table", tiny_bundles.task_frame("binary", 80),
                                      tiny_bundles.target_of("binary"))
    with TestClient(create_app(ServeConfig(bundle=str(bundle)))) as client:
        answer = client.post("/predict", files=[("file", ("a.png", b"\x89PNG", "image/png"))])
    assert answer.status_code == 415 and "takes table rows as JSON" in answer.json()["error"]


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync"]  # as tests/report/test_browser.py: hermetic, no traffic


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_report_shows_the_thumbnails_in_a_browser(picture_run, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    _, out, summary = picture_run
    console_errors: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
            page.on("pageerror", lambda e: console_errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto((out / "report.html").as_uri(), wait_until="load")
            images = page.evaluate(
                "Array.from(document.querySelectorAll('#pictures img')).map(i => ({alt: i.alt,"
                " complete: i.complete, width: i.naturalWidth,"
                " shown: i.getBoundingClientRect().width, title: i.title}))")
            captions = page.evaluate(
                "Array.from(document.querySelectorAll('#pictures figure.thumb figcaption'))"
                ".map(c => c.innerText)")
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()
    assert console_errors == []
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    gallery = summary["pictures"]
    expected = ([f"highest-loss dev picture {i + 1}" for i in range(len(gallery["highest_loss"]))]
                + [f"suspected label error {i + 1}" for i in range(len(gallery["label_issues"]))]
                + ["augmentation grid"])
    assert [i["alt"] for i in images] == expected
    for image in images:
        assert image["complete"] and image["width"] > 0, image["alt"]
        assert image["shown"] >= 90, image["alt"]
    first = gallery["highest_loss"][0]
    assert images[0]["title"] == first["path"]
    assert f"given {first['given']}, predicted {first['predicted']}" in captions[0]


def test_digits_saved_as_files_through_the_recipe_with_augmentation(tmp_path: Path) -> None:
    """scikit-learn's 8×8 digits as PNG files, augmentation chosen by the user."""
    from pictures import write_digits

    root = write_digits(tmp_path / "digits", limit=400)
    code, stdout, stderr = run_cli("run", root, "--out", tmp_path / "run", "--budget", "30s",
                                   "--augment", "crop,rotate", "--json")
    assert code == 0, stderr
    summary = json.loads(stdout)
    assert summary["classes"] == [str(d) for d in range(10)]
    assert (summary["images"]["height"], summary["images"]["width"]) == (8, 8)
    assert summary["experiments"][0]["config"].startswith("ResNet 16,32 x1, augment crop,rotate")
    assert summary["pictures"]["augmentations"]["used"] == ["crop", "rotate"]
    assert summary["errors"]["dev"] < summary["baselines"][0]["dev_error"]
    assert not any(e["change"].startswith("data augmentation") for e in summary["experiments"])
