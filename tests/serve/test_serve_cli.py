"""`fullcycle serve` on the command line: host and token rules, and bad input refused with
one line and exit status 2 before any socket is opened (uvicorn is replaced here)."""

from __future__ import annotations

import shutil
import socket

import pytest

import fullcycle.cli.serve as serve_cli
import fullcycle.serve.background as background


@pytest.fixture
def started(monkeypatch):
    """Record what uvicorn would have been started with, instead of starting it."""
    calls = []

    class Unbound:  # what listen_socket would return, without binding anything
        def __init__(self, host: str, port: int) -> None:
            self.address = (host, port)

        def close(self) -> None:
            pass

    monkeypatch.setattr(background, "listen_socket", Unbound)
    monkeypatch.setattr(serve_cli, "run_uvicorn", lambda target, sock, workers: calls.append(
        (target, *sock.address, workers)))
    return calls


def test_binds_to_localhost_by_default_without_a_warning(cli, bundles, started, tmp_path):
    code, out, err = cli("serve", bundles["binary"], "--log-dir", tmp_path / "log")
    assert code == 0, err
    (target, host, port, workers), = started
    assert (host, port, workers) == ("127.0.0.1", 8000, 1)
    assert "warning" not in err
    assert "http://127.0.0.1:8000" in out and "torch runtime" in out
    assert target.state.server.log.path.parent == tmp_path / "log"


def test_another_host_without_a_token_warns(cli, bundles, started, tmp_path):
    code, _, err = cli("serve", bundles["binary"], "--host", "0.0.0.0", "--log-dir", tmp_path)
    assert code == 0
    assert err.startswith("warning: serving on 0.0.0.0 without --token")
    assert started[0][1] == "0.0.0.0"


def test_another_host_with_a_token_does_not_warn(cli, bundles, started, tmp_path, monkeypatch):
    monkeypatch.setenv("FULLCYCLE_TOKEN", "from-the-environment")
    code, _, err = cli("serve", bundles["binary"], "--host", "0.0.0.0", "--log-dir", tmp_path)
    assert code == 0 and "warning" not in err
    assert started[0][0].state.server.config.token == "from-the-environment"


def test_served_rows_go_beside_the_bundle_by_default(cli, bundles, started, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(bundles["binary"], run / "model")
    assert cli("serve", run / "model")[0] == 0
    assert started[0][0].state.server.log.path.parent == run / "served"


@pytest.mark.parametrize(("args", "words"), [
    (["--port", "0"], "--port 0 is not a tcp port"),
    (["--workers", "0"], "--workers must be 1 or more"),
    (["--max-rows", "0"], "--max-rows must be 1 or more"),
    (["--max-body", "lots"], "--max-body 'lots' is not a size"),
    (["--token", " "], "--token is empty"),
    (["--runtime", "tensorrt"], "unknown runtime 'tensorrt'"),
    (["--runtime", "onnx"], "has no onnx export; run fullcycle export"),
])
def test_bad_flags_are_one_line_and_exit_2(cli, bundles, started, tmp_path, args, words):
    code, out, err = cli("serve", bundles["binary"], "--log-dir", tmp_path, *args)
    assert code == 2 and err.count("\n") == 1 and words in err.lower(), err
    assert started == [] and out == ""


def test_a_missing_or_corrupt_bundle_is_refused(cli, bundles, started, tmp_path):
    code, _, err = cli("serve", tmp_path / "absent", "--log-dir", tmp_path)
    assert code == 2 and "not found" in err and err.count("\n") == 1
    broken = tmp_path / "broken"
    shutil.copytree(bundles["binary"], broken)
    (broken / "weights.safetensors").write_bytes(b"not weights")
    code, _, err = cli("serve", broken, "--log-dir", tmp_path)
    assert code == 2 and "corrupt" in err and err.count("\n") == 1
    assert started == []


def test_an_unwritable_log_folder_is_refused(cli, bundles, started, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the log folder should be")
    code, _, err = cli("serve", bundles["binary"], "--log-dir", blocker / "served")
    assert code == 2 and "--log-dir" in err and err.count("\n") == 1


def test_a_port_in_use_is_refused(cli, bundles, monkeypatch, tmp_path):
    monkeypatch.setattr(serve_cli, "run_uvicorn", lambda *a: pytest.fail("must not start"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = cli("serve", bundles["binary"], "--port", port, "--log-dir", tmp_path)
    assert code == 2 and f"cannot listen on 127.0.0.1:{port}" in err
