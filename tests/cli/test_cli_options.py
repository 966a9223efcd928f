"""twin/cli/options.py: the one `--set` parser, the one error exit, the shared constants."""

from __future__ import annotations

import pytest
import typer

from twin.cli.options import (
    DEFAULT_LIVE_ADDRESS,
    OptionError,
    fail,
    parse_set,
    parse_set_values,
    parse_sets,
    run_overrides,
)


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("fleets.households.count=1000", ("fleets.households.count", 1000)),
        ("step=1min", ("step", "1min")),
        ("outputs.grid_detail=false", ("outputs.grid_detail", False)),
        ("signals.prices.scale=1.5", ("signals.prices.scale", 1.5)),
        ("fleets.commuters.sites=[8, 13]", ("fleets.commuters.sites", [8, 13])),
        ("description=", ("description", None)),
        (" seed =7", ("seed", 7)),
        ("name='a b'", ("name", "a b")),
        # YAML 1.1 would make these base-60 numbers (660, 5430.5): they stay clock times.
        ("ems.services.1.push_up.start=11:00", ("ems.services.1.push_up.start", "11:00")),
        ("x=1:30:00", ("x", "1:30:00")),
        ("x=1:30.5", ("x", "1:30.5")),
        ("x=-11:00", ("x", "-11:00")),
        ("x=[11:00, 12:30]", ("x", ["11:00", "12:30"])),
        # everything else as YAML reads it
        ("x=0x10", ("x", 16)),
        ("x=-3", ("x", -3)),
        ("x=.5", ("x", 0.5)),
        ("x=1_000", ("x", 1000)),
        ("x=.inf", ("x", float("inf"))),
        ("x=2025-06-04", ("x", __import__("datetime").date(2025, 6, 4))),
    ],
)
def test_set_values_are_yaml_scalars_but_clock_times_stay_strings(item, expected):
    assert parse_set(item) == expected


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("fleets.households.count", "use FIELD.PATH=VALUE, e.g. fleets.households.count=1000"),
        ("=5", "use FIELD.PATH=VALUE"),
        ("name=[1", "the value is not valid YAML"),
    ],
)
def test_malformed_set_is_one_line_naming_the_option(item, message):
    with pytest.raises(OptionError) as err:
        parse_set(item)
    assert str(err.value).startswith(f"--set {item}: ") and message in str(err.value)


def test_later_set_wins_and_seed_and_case_are_overrides_too():
    assert parse_sets(["seed=1", "seed=2"]) == {"seed": 2}
    assert parse_sets(None) == {}
    assert run_overrides(["seed=1", "step=1min"], seed=5, case="high") == {
        "seed": 5,
        "step": "1min",
        "case": "high",
    }


def test_set_option_values_split_on_top_level_commas_only():
    # moved from tests/integration/test_sweep.py (twin sweep's parser is now twin.cli.options)
    assert parse_set_values("fleets.home.count=1000,5000") == ("fleets.home.count", [1000, 5000])
    assert parse_set_values("sites=[1,2],[3]") == ("sites", [[1, 2], [3]])
    assert parse_set_values("step=1min") == ("step", ["1min"])
    with pytest.raises(OptionError, match="FIELD.PATH=VALUE"):
        parse_set_values("fleets.home.count")


def test_sweep_values_use_the_same_scalar_parser():
    assert parse_set_values("ems.services.1.push_up.start=10:00,11:00") == (
        "ems.services.1.push_up.start",
        ["10:00", "11:00"],
    )
    assert parse_set_values("a=1, 2 ,") == ("a", [1, 2])
    for item in ("a=", "a= , "):
        with pytest.raises(OptionError, match=r"FIELD.PATH=VALUE\[,VALUE...\]"):
            parse_set_values(item)
    with pytest.raises(OptionError, match="a value is not valid YAML"):
        parse_set_values("a=1,[2")


def test_fail_prints_plain_lines_on_stderr_and_exits_2(capsys):
    with pytest.raises(typer.Exit) as exit_:
        fail(["f.yaml: step: bad", "f.yaml: seed: bad " + "x" * 300])
    assert exit_.value.exit_code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "f.yaml: step: bad\nf.yaml: seed: bad " + "x" * 300 + "\n"
    with pytest.raises(typer.Exit) as exit_:
        fail(["boom"], code=1)
    assert exit_.value.exit_code == 1


def test_live_address_default_is_the_publishers():
    from twin.telemetry import DEFAULT_ADDRESS

    assert DEFAULT_LIVE_ADDRESS == DEFAULT_ADDRESS
