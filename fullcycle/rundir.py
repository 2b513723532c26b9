"""One directory per run, written crash-safely.

Every file is written to a temporary name in the same directory and renamed into place
(atomic on POSIX), so a run killed at any moment leaves either the old file or the new one,
never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from functools import cached_property
from pathlib import Path
from typing import Any

from fullcycle.errors import FullcycleError
from fullcycle.journal import Journal
from fullcycle.jsonutil import dumps

JOURNAL_NAME = "journal.sqlite"


def fsync_dir(path: Path) -> None:
    """Flush a directory entry (a rename) to disk; best effort where the OS refuses."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def current_umask() -> int:
    """The process's umask, read without changing it where the OS allows (Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:  # elsewhere the only way to read it is to set it and set it back
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


_UMASK_LOCK = threading.Lock()


def make_temp_dir(parent: Path, prefix: str) -> Path:
    """A fresh folder in ``parent`` to fill and then rename into place; its mode follows
    the umask like ``mkdir`` (``mkdtemp`` alone makes it 0700, private to the user)."""
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=prefix))
    os.chmod(tmp, 0o777 & ~current_umask())
    return tmp


def follow_umask(folder: Path) -> None:
    """Give the files in ``folder`` the mode ``open`` would (safetensors writes 0600)."""
    mode = 0o666 & ~current_umask()
    for path in folder.iterdir():
        if path.is_file():
            os.chmod(path, mode)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file and a rename (both flushed).

    The file gets the mode a plain ``open`` would give it (0644 under umask 022), not the
    0600 of ``mkstemp``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, dumps(obj) + "\n")


def read_json(path: Path) -> Any:
    """Read a JSON file a run wrote; a missing or corrupt one is a user-facing error."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FullcycleError(f"{path} not found; is this a fullcycle run directory?") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FullcycleError(f"{path} is corrupt ({exc}); re-create the run") from None


class RunDir:
    """The directory a command writes: summary.json, the journal, the bundle, the report."""

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise FullcycleError(f"--out {self.path} is a file; give a directory")
        if create:
            try:
                self.path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise FullcycleError(f"cannot create {self.path} ({exc.strerror})") from None
        elif not self.path.is_dir():
            raise FullcycleError(f"run directory {self.path} not found; check the path")

    def file(self, name: str) -> Path:
        return self.path / name

    def write_json(self, name: str, obj: Any) -> Path:
        target = self.file(name)
        atomic_write_json(target, obj)
        return target

    def read_json(self, name: str) -> Any:
        return read_json(self.file(name))

    def has(self, name: str) -> bool:
        return self.file(name).exists()

    def update_summary(self, **sections: Any) -> dict:
        """Merge sections into summary.json (read, update, atomic write)."""
        summary = self.read_json("summary.json") if self.has("summary.json") else {}
        summary.update(sections)
        self.write_json("summary.json", summary)
        return summary

    @cached_property
    def journal(self) -> Journal:
        return Journal(self.file(JOURNAL_NAME))
