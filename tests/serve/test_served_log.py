"""The served-row log survives a killed server and never trips the monitor on a torn line."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import tiny_bundles

from fullcycle.errors import FullcycleError
from fullcycle.serve.served_log import ServedLog, read_served

ROWS = tiny_bundles.input_rows(tiny_bundles.task_frame("binary", seed=5), n=40)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _post(conn: http.client.HTTPConnection, rows: list[dict]) -> int:
    conn.request("POST", "/predict", body=json.dumps({"rows": rows}),
                 headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    return response.status


def _wait_until_serving(port: int, proc: subprocess.Popen, limit_s: float = 90.0) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "exited"
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail("the server did not start in time")


@pytest.mark.slow  # starts a real server process (torch import): ~10 s on a loaded machine
def test_every_answered_row_is_in_the_log_after_sigkill(bundles, tmp_path):
    port, log_dir = _free_port(), tmp_path / "served"
    proc = subprocess.Popen(
        [sys.executable, "-m", "fullcycle", "serve", str(bundles["binary"]), "--port",
         str(port), "--log-dir", str(log_dir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ})
    try:
        _wait_until_serving(port, proc)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        answered = [_post(conn, ROWS[i:i + 2]) for i in range(0, 40, 2)]
        assert answered == [200] * 20
    finally:
        proc.send_signal(signal.SIGKILL)  # no shutdown handler runs, nothing is flushed
        proc.wait(timeout=30)
    served = read_served(log_dir)
    assert served.rows == ROWS
    assert served.torn == served.skipped == 0
    assert all(p["prediction"] in ("yes", "no") for p in served.predictions)


def test_a_torn_last_line_and_garbage_lines_are_skipped_and_counted(tmp_path):
    log = ServedLog(tmp_path)
    log.append("r1", [{"x": 1.0}, {"x": 2.0}], [{"prediction": "a"}, {"prediction": "b"}])
    log.close()
    with open(log.path, "ab") as handle:
        handle.write(b"not json\n")
        handle.write(b'{"row": {"x": 3.0}, "predi')  # killed mid-write
    served = read_served(tmp_path)
    assert served.rows == [{"x": 1.0}, {"x": 2.0}]
    assert (served.torn, served.skipped) == (1, 1)


def test_logs_of_several_workers_are_read_together_and_last_keeps_the_newest(tmp_path):
    for worker in range(2):
        log = ServedLog(tmp_path)
        log.path.rename(tmp_path / f"served-2024-{worker}.jsonl")
        log.path = tmp_path / f"served-2024-{worker}.jsonl"
        log.append(f"w{worker}", [{"x": float(worker)}], [{}])
        log.close()
        os.utime(log.path, (worker + 1, worker + 1))
    assert [r["x"] for r in read_served(tmp_path).rows] == [0.0, 1.0]
    assert [r["x"] for r in read_served(tmp_path, last=1).rows] == [1.0]


def test_a_folder_without_logs_is_a_clear_error(tmp_path):
    with pytest.raises(FullcycleError, match="holds no served-row logs"):
        read_served(tmp_path)
