"""A run owns its folder: one run at a time (a lock), and only what a run wrote is ever removed.

- **Lock**: `RunFolder.claim` takes an exclusive `flock` on `<folder>/.twin-run.lock` (its pid
  inside) for the life of the run; a second run into the same folder stops with a message naming
  the first one's pid instead of overwriting its files. The kernel drops the lock when the process
  ends, however it ends, so a killed run never leaves a stale lock.
- **Manifest**: every file and folder a run creates is appended to `<folder>/.twin-files` before
  it is created (`note_written`). Re-running into the folder removes exactly those paths; a file
  the run did not write stays, whatever its name. A non-empty folder without a manifest is not a
  twin results folder: the run refuses it and deletes nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path, PurePosixPath

from twin.results import columns as col

_OWN = frozenset({col.RUN_LOCK_FILE, col.RUN_MANIFEST_FILE})


class RunFolderError(Exception):
    """The folder cannot be a run's folder; the message (one line) says why and what to do."""


def note_written(run_dir: Path, *paths: Path | str) -> None:
    """Record that the run in `run_dir` is about to create `paths` (absolute, or relative to
    `run_dir`); a no-op outside a claimed run folder (no manifest)."""
    manifest = Path(run_dir) / col.RUN_MANIFEST_FILE
    if not manifest.is_file():
        return
    # Each path once: `twin report` on the same folder again must not grow the list.
    known = set(manifest.read_text(encoding="utf-8").splitlines())
    lines = []
    for p in paths:
        rel = (Path(p).relative_to(run_dir) if Path(p).is_absolute() else Path(p)).as_posix()
        if rel not in known:
            known.add(rel)
            lines.append(rel + "\n")
    if lines:
        with manifest.open("a", encoding="utf-8") as f:
            f.write("".join(lines))


def _recorded(manifest: Path) -> list[PurePosixPath]:
    """The manifest's paths, minus any line that could point outside the folder."""
    out: list[PurePosixPath] = []
    try:
        text = manifest.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        p = PurePosixPath(line)
        if not line or "\x00" in line or p.is_absolute() or ".." in p.parts or not p.parts:
            continue
        if p.parts[0] in _OWN:
            continue
        out.append(p)
    return out


class RunFolder:
    """A claimed run folder (see the module doc); `release()` when the run is over."""

    def __init__(self, path: Path, lock_fd: int) -> None:
        self.path = path
        self._fd: int | None = lock_fd

    @classmethod
    def claim(cls, path: Path | str) -> RunFolder:
        """Lock `path` (created if missing) for one run and remove what the previous run wrote.

        Raises:
            RunFolderError: another run holds the folder; it is not a folder or cannot be
                created; it holds files no twin run wrote (nothing is deleted then).
        """
        path = Path(path)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise RunFolderError(f"{path}: exists and is not a folder") from None
        except OSError as err:
            raise RunFolderError(
                f"{path}: cannot create the results folder ({err.strerror})"
            ) from None
        lock = path / col.RUN_LOCK_FILE
        lock_existed = lock.exists()
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except OSError as err:
            raise RunFolderError(f"{path}: cannot lock the folder ({err.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise RunFolderError(
                f"{path}: another run (pid {pid}) is writing into this folder; wait for it to "
                "finish or choose another --out"
            ) from None
        folder = cls(path, fd)
        try:
            folder._clear_previous()
        except BaseException:
            folder.release(remove_lock=not lock_existed)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return folder

    def _clear_previous(self) -> None:
        manifest = self.path / col.RUN_MANIFEST_FILE
        present = {p.name for p in self.path.iterdir()} - _OWN
        if manifest.is_symlink():
            raise RunFolderError(f"{manifest}: a link, not a run's manifest; nothing was deleted")
        if not manifest.is_file():
            if present:
                listed = ", ".join(sorted(present)[:3]) + (", ..." if len(present) > 3 else "")
                raise RunFolderError(
                    f"{self.path}: not empty ({listed}) and not a twin results folder (no "
                    f"{col.RUN_MANIFEST_FILE}); nothing was deleted: choose a new or empty folder"
                )
            manifest.write_text("", encoding="utf-8")
            return
        recorded = _recorded(manifest)
        # A file no run recorded, under a name a run writes, would be overwritten: refuse.
        clash = sorted(
            name for name in present - {p.parts[0] for p in recorded} if _twin_name(name)
        )
        if clash:
            raise RunFolderError(
                f"{self.path}: {', '.join(clash[:3])} not written by a twin run but named like "
                "its results; nothing was deleted: move them or choose another --out"
            )
        for rel in recorded:
            if any((self.path / up).is_symlink() for up in rel.parents if up.parts):
                continue  # through a link: the file it reaches is not in this folder
            target = self.path / rel
            with contextlib.suppress(FileNotFoundError, IsADirectoryError, NotADirectoryError):
                if target.is_symlink() or not target.is_dir():
                    target.unlink()
        # Then the folders they were in, deepest first; one still holding a file the run did not
        # write stays as it is.
        folders = {parent for p in recorded for parent in p.parents if parent.parts}
        for rel in sorted(folders, key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                (self.path / rel).rmdir()
        manifest.write_text("", encoding="utf-8")

    def note(self, *paths: Path | str) -> None:
        note_written(self.path, *paths)

    def release(self, remove_lock: bool = False) -> None:
        """Give the folder up (idempotent); the lock file stays unless `remove_lock`."""
        if self._fd is None:
            return
        if remove_lock:
            with contextlib.suppress(OSError):
                (self.path / col.RUN_LOCK_FILE).unlink()
        with contextlib.suppress(OSError):
            os.close(self._fd)
        self._fd = None


def _twin_name(name: str) -> bool:
    return name in {
        col.SUMMARY_FILE,
        col.SCENARIO_FILE,
        col.ERROR_LOG,
        col.HIL_EVENTS_FILE,
    } or name.endswith((".parquet", col.PARTS_SUFFIX, ".tmp"))
