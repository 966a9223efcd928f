"""A run owns its folder (issue 15, High 2 and 3): one run at a time, and only what a run wrote
is ever removed - a folder of someone else's files is refused with nothing deleted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from twin.results import columns as col
from twin.results.run_folder import RunFolder, RunFolderError, note_written

# What the old cleanup deleted from any --out folder (names a run writes).
USER_FILES = {
    "grid_vm_pu.parquet": b"mine",
    "summary.json": b"{}",
    "scenario.yaml": b"name: mine",
    "error.log": b"my log",
    "notes.parts/a.txt": b"mine",
    "timeseries.parts/keep/b.txt": b"a sub-folder in a parts folder",
}


def _write(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _a_run_writes(folder: RunFolder) -> None:
    """What a run writes, noted the way the recorder and files.write_json note it."""
    for rel in ("summary.json", "timeseries.parts/part-00000.parquet", "timeseries.parquet"):
        note_written(folder.path, rel)
        (folder.path / rel).parent.mkdir(exist_ok=True)
        (folder.path / rel).write_bytes(b"run")


def test_a_folder_of_user_files_is_refused_and_left_untouched(tmp_path):
    _write(tmp_path, USER_FILES)
    before = _tree(tmp_path)
    with pytest.raises(RunFolderError, match="not a twin results folder.*nothing was deleted"):
        RunFolder.claim(tmp_path)
    assert _tree(tmp_path) == before  # no lock file left behind either


def test_a_rerun_removes_exactly_what_the_previous_run_wrote(tmp_path):
    first = RunFolder.claim(tmp_path / "run")
    _a_run_writes(first)
    first.release()
    mine = {"notes.txt": b"mine", "timeseries.parts/keep/b.txt": b"mine too"}
    _write(tmp_path / "run", mine)
    second = RunFolder.claim(tmp_path / "run")
    left = _tree(tmp_path / "run")
    assert {k: v for k, v in left.items() if not k.startswith(".twin")} == mine
    assert (tmp_path / "run" / col.RUN_MANIFEST_FILE).read_text() == ""
    second.release()


def test_a_user_file_named_like_a_result_in_a_run_folder_is_refused(tmp_path):
    first = RunFolder.claim(tmp_path)
    _a_run_writes(first)
    first.release()
    (tmp_path / "grid_vm_pu.parquet").write_bytes(b"mine")
    before = _tree(tmp_path)
    with pytest.raises(RunFolderError, match="grid_vm_pu.parquet not written by a twin run"):
        RunFolder.claim(tmp_path)
    assert _tree(tmp_path) == before


def test_manifest_lines_never_reach_outside_the_folder(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_bytes(b"x")
    run = tmp_path / "run"
    folder = RunFolder.claim(run)
    (run / "link.parts").symlink_to(outside, target_is_directory=True)
    note_written(
        run, "../outside/precious.txt", str(outside / "precious.txt").lstrip("/"), "a\x00b"
    )
    (run / col.RUN_MANIFEST_FILE).open("a").write(
        f"{outside / 'precious.txt'}\nlink.parts/precious.txt\n"
    )
    folder.release()
    RunFolder.claim(run).release()
    assert (outside / "precious.txt").read_bytes() == b"x"


def test_a_second_run_into_a_held_folder_stops_naming_the_first(tmp_path):
    folder = RunFolder.claim(tmp_path)
    _a_run_writes(folder)
    before = _tree(tmp_path)
    with pytest.raises(RunFolderError, match=f"another run \\(pid {os.getpid()}\\)"):
        RunFolder.claim(tmp_path)
    assert _tree(tmp_path) == before
    folder.release()
    RunFolder.claim(tmp_path).release()


def test_a_killed_run_leaves_no_stale_lock(tmp_path):
    code = (
        "import sys, time; from twin.results.run_folder import RunFolder; "
        f"RunFolder.claim({str(tmp_path)!r}); print('held', flush=True); time.sleep(600)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        with pytest.raises(RunFolderError, match=f"pid {proc.pid}"):
            RunFolder.claim(tmp_path)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    RunFolder.claim(tmp_path).release()  # the kernel dropped the lock with the process


def test_a_file_where_the_folder_should_be_is_a_message(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(RunFolderError, match="not a folder"):
        RunFolder.claim(tmp_path / "f")
