"""The report opened in a real browser: Debian's chromium driven by Playwright."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fullcycle.report.build import build_report
from fullcycle.report.formatting import format_error

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Headless and hermetic: no sandbox (CI runs as root), no GPU, and none of the background
# traffic a fresh profile would start, so any request the page makes is the page's own.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason="Debian's chromium is not installed (apt-get install chromium)",
    ),
]


def test_report_in_headless_chromium(run_dir: Path, tmp_path: Path, expected_plots) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    summary = json.loads((run_dir / "summary.json").read_text())
    report = build_report(run_dir)
    console_errors: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
            page.on("pageerror", lambda e: console_errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(report.as_uri(), wait_until="load")
            images = page.evaluate(
                "Array.from(document.images).map(i => ({alt: i.alt, complete: i.complete,"
                " width: i.naturalWidth, shown: i.getBoundingClientRect().width}))"
            )
            keyed = page.evaluate(
                "Array.from(document.querySelectorAll('[data-key]')).map(e =>"
                " [e.dataset.key, e.dataset.value ?? null, e.innerText.trim()])"
            )
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()

    assert console_errors == []
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    assert [image["alt"] for image in images] == expected_plots
    for image in images:
        assert image["complete"] and image["width"] > 0, f"plot {image['alt']!r} did not load"
        assert image["shown"] > 100, f"plot {image['alt']!r} is not visible"

    shown = {key: text for key, _, text in keyed}
    for split, error in summary["errors"].items():
        assert shown[f"errors.{split}"] == format_error(error, "multiclass")
    assert shown["human_level_error"] == "2.00%"
    assert shown["test_accesses"] == str(summary["test_accesses"])
    assert shown["diagnosis.primary_problem"] == "data mismatch"
    assert shown["diagnosis.data_mismatch"] == "7.40%"
    assert shown["splits.train"] == f"{summary['splits']['train']:,}"
    assert shown["error_analysis.n_errors"] == str(summary["error_analysis"]["n_errors"])
    assert shown["metric.dev"] == str(summary["metric"]["dev"])
    for key, value, _ in keyed:
        if value is not None and key.startswith("errors."):
            assert float(value) == summary["errors"][key.split(".", 1)[1]]
    screenshot = tmp_path / "report.png"
    assert screenshot.stat().st_size > 50_000
