"""validate, dashboard, sweep and the app itself, through `python -m twin.cli`: exit codes and
messages of bad input (nothing slow is started), the command list, and what start-up imports."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.cli.conftest import DEFAULT, twin
from tests.conftest import ROOT

# Never loaded by `import twin.cli.main` (what every command pays before it starts).
HEAVY = (
    "pandapower",
    "simbench",
    "mosaik",
    "numba",
    "pandas",
    "pyarrow",
    "streamlit",
    "dask",
    "distributed",
    "zmq",
    "ocpp",
    "websockets",
    "pymodbus",
    "scipy",
    "highspy",
    "twin.run.world",
    "twin.run.build",
    "twin.run.sweep",
    "twin.telemetry.publisher",
    "twin.results.readers",
    "adapters.ocpp.cli",
    "adapters.modbus.cli",
)


def _loaded_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint('\\n'.join(sorted(sys.modules)))"
    res = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert res.returncode == 0, res.stderr
    return {m for m in res.stdout.splitlines() for h in HEAVY if m == h or m.startswith(h + ".")}


def test_the_cli_starts_without_the_world():
    assert _loaded_after("import twin.cli.main") == set()


def test_validate_loads_none_of_the_world():
    # The grid checks use the grid's cached facts (twin.run.grid_check, grids/facts.py): once a
    # grid's facts are cached, a valid file is checked without pandapower, numba, pandas, or
    # anything a run, the dashboard or a sweep needs. The first call fills the cache.
    assert twin("validate", DEFAULT).returncode == 0
    code = (
        "import sys\n"
        "from twin.cli.main import main\n"
        f"sys.argv = ['twin', 'validate', {str(DEFAULT)!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
    )
    assert _loaded_after(code) == set()


def test_validate_ok_and_invalid(tmp_path, scenario_file):
    ok = twin("validate", DEFAULT)
    assert ok.returncode == 0 and f"{DEFAULT}: ok" in ok.stdout, ok.stderr
    bad = scenario_file(step="fast")
    res = twin("validate", DEFAULT, bad)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert f"{DEFAULT}: ok" in res.stdout
    assert res.stderr.splitlines()[0].startswith(f"{bad}: step: ")


def test_help_lists_every_command_and_hardware_commands_still_mount():
    res = twin("--help")
    assert res.returncode == 0, res.stderr
    for command in ("run", "validate", "report", "dashboard", "sweep", "csms", "emulate"):
        assert f" {command} " in res.stdout, res.stdout
    emulate = twin("emulate", "--help")
    assert emulate.returncode == 0 and " ocpp " in emulate.stdout and " modbus " in emulate.stdout
    bad_map = twin("emulate", "modbus", "--map", "no_such_map")
    assert bad_map.returncode == 2 and bad_map.stderr.startswith("error: ")
    assert "no such map" in bad_map.stderr and "Traceback" not in bad_map.stderr


@pytest.mark.parametrize("command", ["run", "dashboard", "sweep"])
def test_seed_case_and_set_are_the_same_options_everywhere_a_run_starts(command):
    from twin.cli.options import CASE_HELP, SEED_HELP

    res = twin(command, "--help")
    assert res.returncode == 0, res.stderr
    for flag, help_text in (("--seed", SEED_HELP), ("--case", CASE_HELP)):
        # the option's row in rich's Options panel: `│ --seed  <int>  help │`
        rows = [ln for ln in res.stdout.splitlines() if re.match(rf"│\s+{flag}\s", ln)]
        line = rows[0] if len(rows) == 1 else ""
        assert help_text in line, (flag, res.stdout)
    assert " --set " in res.stdout


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--set", "fleets.households.count"], "--set fleets.households.count: use FIELD.PATH"),
        (["--case", "nope"], ": case: unknown case 'nope'"),
        (["--set", "step=fast"], f"{DEFAULT}: step: "),
        (["--live", "tcp://127.0.0.1:*"], "the dashboard needs a fixed port"),
        (["--live", "nonsense"], "nonsense"),
    ],
)
def test_dashboard_bad_input_exits_2_before_streamlit_starts(args, line):
    res = twin("dashboard", DEFAULT, "--port", "0", *args, timeout=120)
    assert res.returncode == 2, res.stderr
    assert line in res.stderr and "Traceback" not in res.stderr
    assert "dashboard: http" not in res.stdout  # streamlit was never started


def test_dashboard_replay_of_a_folder_that_is_not_a_run(tmp_path):
    res = twin("dashboard", "--replay", tmp_path, "--port", "0")
    assert res.returncode == 2 and "no summary.json" in res.stderr


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--set", "fleets.households.count"], "use FIELD.PATH=VALUE[,VALUE...]"),
        (["--set", "a=1,[2"], "a value is not valid YAML"),
        (["--case", "nope"], ": case: unknown case 'nope'"),
        (["--seed", "3", "--set", "seed=1,2"], "--seed and --set seed=...: give the seeds one way"),
    ],
)
def test_sweep_bad_input_exits_2_before_dask_starts(tmp_path, args, line):
    out = tmp_path / "never"
    res = twin("sweep", DEFAULT, "--out", out, "--no-progress", *args, timeout=120)
    assert res.returncode == 2, res.stderr
    assert line in res.stderr and "Traceback" not in res.stderr
    assert not out.exists()
