"""One tiny bundle per task for the whole session, and a server around one of them."""

from __future__ import annotations

from pathlib import Path

import pytest
import tiny_bundles
from fastapi.testclient import TestClient

from fullcycle.serve.app import ServeConfig, create_app


@pytest.fixture(scope="session")
def bundles(tmp_path_factory) -> dict[str, Path]:
    """task -> bundle directory (trained once per test session; treat as read-only)."""
    root = tmp_path_factory.mktemp("bundles")
    return {task: tiny_bundles.make_bundle(root / task, tiny_bundles.task_frame(task),
                                           tiny_bundles.target_of(task))
            for task in tiny_bundles.TASKS}


@pytest.fixture
def serve(tmp_path):
    """Start an in-process app on a bundle: ``serve(bundle, **config)`` -> TestClient."""
    clients = []

    def start(bundle: Path, **options) -> TestClient:
        options.setdefault("log_dir", str(tmp_path / "served"))
        client = TestClient(create_app(ServeConfig(bundle=str(bundle), **options)))
        client.__enter__()
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)
