"""A real PostgreSQL server for the many-machines tests, started on loopback by the tests.

Debian's `postgresql` package puts its binaries under /usr/lib/postgresql/<version>/bin;
`.ci/run` installs it. The fixture initdb's a cluster in a fresh temporary directory,
starts it on a free 127.0.0.1 port (trust authentication, so no password is involved),
creates one database and stops the server afterwards. PostgreSQL refuses to run as root,
so under root the cluster belongs to the `postgres` system user (or `nobody`) and every
server command runs through `runuser`. Tests skip with the reason when the package is
missing or the server cannot start.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Worker processes (spawn) import the toy objectives from this directory by module name.
sys.path.insert(0, str(Path(__file__).parent))


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as(user: str | None, args: list[str]) -> subprocess.CompletedProcess:
    if user is not None:
        args = ["runuser", "-u", user, "--", *args]
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def _server_user() -> str | None:
    """None when we are not root; else a system user PostgreSQL agrees to run as."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    pytest.skip("running as root and neither a 'postgres' nor a 'nobody' user exists; "
                "PostgreSQL refuses to run as root")
    return None  # pragma: no cover


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """`postgresql://fc@127.0.0.1:PORT/fullcycle_search` on a throwaway server."""
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; .ci/run does)")
    if shutil.which("runuser") is None and os.geteuid() == 0:
        pytest.skip("running as root without runuser; cannot start PostgreSQL as another user")
    pytest.importorskip("psycopg2", reason="psycopg2-binary is needed to talk to PostgreSQL")
    user = _server_user()
    base = Path(tempfile.mkdtemp(prefix="fullcycle-pg-"))
    data, sock, log = base / "data", base / "sock", base / "server.log"
    sock.mkdir()
    if user is not None:
        entry = pwd.getpwnam(user)
        for path in (base, sock):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    port = _free_port()
    init = _run_as(user, [str(bindir / "initdb"), "-D", str(data), "-U", "fc",
                          "--auth=trust", "--no-sync", "-E", "UTF8"])
    if init.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"initdb failed: {init.stderr.strip()[-300:]}")
    options = (f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off "
               "-c max_connections=60")
    start = _run_as(user, [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o",
                           options, "-w", "-t", "60", "start"])
    if start.returncode != 0:
        detail = log.read_text()[-300:] if log.exists() else start.stderr[-300:]
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"PostgreSQL did not start: {detail.strip()}")
    try:
        made = _run_as(user, [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port),
                              "-U", "fc", "fullcycle_search"])
        if made.returncode != 0:
            pytest.skip(f"createdb failed: {made.stderr.strip()[-300:]}")
        yield f"postgresql://fc@127.0.0.1:{port}/fullcycle_search"
    finally:
        _run_as(user, [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                       "stop"])
        shutil.rmtree(base, ignore_errors=True)
