"""One-row latency of `fullcycle serve`: ONNX Runtime beside PyTorch beside a bare echo app.

Three servers on loopback, each its own process started the same way (uvicorn, one worker,
no access log): the bundle on ONNX Runtime, the same bundle on PyTorch, and a FastAPI app
whose only route echoes the body (the floor: HTTP parsing and the framework, no model).
One client (the standard library's keep-alive HTTP connection) sends the same one-row
request to each, a bounded number of times within a bounded time, and the round-trip
percentiles are printed side by side with their ratios; the servers' own /metrics
percentiles (time inside the app) come beside them. Targets (issue 13): p50 ≤ 1.5 ms and
p99 ≤ 5 ms for the ONNX server.

    python benchmarks/serve_latency.py [--bundle runs/demo/model] [--requests 2000]

Without --bundle, it uses runs/demo/model when `make demo` made one, else trains a small
network on the demo table (breast cancer) first.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TIME_LIMIT_S = 60.0  # per server
ECHO_APP = """
import sys, uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response
app = FastAPI()
@app.post("/predict")
async def echo(request: Request) -> Response:
    return Response(await request.body(), media_type="application/json")
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False, server_header=False)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with status {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not start in time")


def measure(port: int, body: bytes, requests: int) -> np.ndarray:
    """Round-trip seconds of `requests` POST /predict calls (after a warm-up)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json"}

    def once() -> None:
        conn.request("POST", "/predict", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"status {response.status}")

    for _ in range(min(200, requests)):
        once()
    times, deadline = [], time.monotonic() + TIME_LIMIT_S
    while len(times) < requests and time.monotonic() < deadline:
        start = time.perf_counter()
        once()
        times.append(time.perf_counter() - start)
    conn.close()
    return np.array(times)


def server_side(port: int) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/metrics")
    return json.loads(conn.getresponse().read()).get("predict_latency", {})


def demo_bundle(work: Path) -> Path:
    made = ROOT / "runs" / "demo" / "model"
    if made.is_dir():
        return made
    sys.path.insert(0, str(ROOT))
    from fullcycle.cli.demo import write_dataset

    data, target = write_dataset("breast_cancer", work)
    subprocess.run([sys.executable, "-m", "fullcycle", "train", str(data), "--target", target,
                    "--epochs", "20", "--out", str(work / "run"), "--quiet"], check=True)
    return work / "run" / "model"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bundle", type=Path)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fc-serve-bench-"))
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    try:
        source = args.bundle or demo_bundle(work)
        bundle = work / "model"
        shutil.copytree(source, bundle)  # the export is attached to a copy, never the original
        subprocess.run([sys.executable, "-m", "fullcycle", "export", str(bundle), "--onnx",
                        str(work / "model.onnx"), "--quiet"], check=True, env=env)
        meta = json.loads((bundle / "bundle.json").read_text())
        columns = list(meta["input_schema"])
        frame_row = _first_row(meta, columns)
        body = json.dumps({"row": frame_row}).encode()
        (work / "echo.py").write_text(ECHO_APP)
        servers = {
            "onnx": ["-m", "fullcycle", "serve", str(bundle), "--runtime", "onnx"],
            "torch": ["-m", "fullcycle", "serve", str(bundle), "--runtime", "torch"],
            "echo (floor)": [str(work / "echo.py")],
        }
        results = {}
        for name, command in servers.items():
            port = free_port()
            extra = ["--port", str(port), "--log-dir", str(work / "served")] \
                if "serve" in command else [str(port)]
            proc = subprocess.Popen([sys.executable, *command, *extra], env=env,
                                    stdout=subprocess.DEVNULL)
            try:
                wait_ready(port, proc)
                times = measure(port, body, args.requests)
                inside = server_side(port) if name != "echo (floor)" else {}
            finally:
                proc.terminate()
                proc.wait(timeout=30)
            results[name] = (times, inside)
        _print(results, source, len(columns))
        _runtimes_alone(bundle, frame_row)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _first_row(meta: dict, columns: list[str]) -> dict:
    """A realistic row: the medians of the training split for numbers, the first category."""
    numeric = {c["name"]: c["median"] for c in meta["preprocessing"]["features"]["numeric"]}
    row = {}
    for name in columns:
        spec = meta["input_schema"][name]
        row[name] = numeric.get(name, 0.0) if spec["type"] == "number" else \
            (spec.get("categories") or ["?"])[0]
    return row


def _print(results: dict, bundle: Path, n_columns: int) -> None:
    print(f"one-row POST /predict, {n_columns} input columns, bundle {bundle}, "
          f"on {os.cpu_count()} CPUs")
    print(f"{'server':<14}{'requests':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'mean ms':>9}"
          f"{'in-app p50':>12}{'in-app p99':>12}")
    for name, (times, inside) in results.items():
        p50, p90, p99 = np.percentile(times, [50, 90, 99]) * 1000
        app50 = f"{inside['p50_ms']:.3f}" if "p50_ms" in inside else "-"
        app99 = f"{inside['p99_ms']:.3f}" if "p99_ms" in inside else "-"
        print(f"{name:<14}{len(times):>9}{p50:>9.3f}{p90:>9.3f}{p99:>9.3f}"
              f"{times.mean() * 1000:>9.3f}{app50:>12}{app99:>12}")
    p50 = {name: float(np.percentile(t, 50)) for name, (t, _) in results.items()}
    p99 = {name: float(np.percentile(t, 99)) for name, (t, _) in results.items()}
    floor = "echo (floor)"
    print(f"ratio torch/onnx p50 {p50['torch'] / p50['onnx']:.2f}, p99 "
          f"{p99['torch'] / p99['onnx']:.2f}; onnx/echo p50 {p50['onnx'] / p50[floor]:.2f}, "
          f"p99 {p99['onnx'] / p99[floor]:.2f}")
    inside = {name: r[1] for name, r in results.items() if "p50_ms" in r[1]}
    if {"onnx", "torch"} <= set(inside):
        print(f"in-app ratio torch/onnx p50 "
              f"{inside['torch']['p50_ms'] / inside['onnx']['p50_ms']:.2f}")
    ok50, ok99 = p50["onnx"] * 1000 <= 1.5, p99["onnx"] * 1000 <= 5.0
    print(f"targets: onnx p50 <= 1.5 ms {'met' if ok50 else 'MISSED'}, p99 <= 5 ms "
          f"{'met' if ok99 else 'MISSED'}")


def _runtimes_alone(bundle: Path, row: dict) -> None:
    """The model step alone, in this process: one preprocessed row through each runtime."""
    import timeit

    sys.path.insert(0, str(ROOT))
    from fullcycle.serve.predictor import Predictor

    timings = {}
    for name in ("onnx", "torch"):
        predictor = Predictor.load(bundle, runtime=name)
        X = predictor.preprocessor.transform_records([row])
        predictor.runtime.outputs(X)
        timings[name] = min(timeit.repeat(lambda p=predictor, x=X: p.runtime.outputs(x),
                                          number=200, repeat=7)) / 200
    print(f"model step alone (one row, best of 7x200): onnx {timings['onnx'] * 1e6:.1f} us, "
          f"torch {timings['torch'] * 1e6:.1f} us, ratio torch/onnx "
          f"{timings['torch'] / timings['onnx']:.2f}")


if __name__ == "__main__":
    main()
