"""Sweep variant names read as the values given (a folder per variant, a row label per KPI row)."""

from __future__ import annotations

from twin.run.sweep import expand_variants


def test_numbers_and_flags_keep_their_plain_text():
    names = [v.name for v in expand_variants({"x.latency_s": [0, 0.01, True]}, [7])]
    # a bare YAML scalar dumps with the end-of-document marker "..."; it must not reach the name
    assert names == ["x.latency_s=0_seed=7", "x.latency_s=0.01_seed=7", "x.latency_s=true_seed=7"]


def test_lists_and_mappings_become_folder_safe():
    (variant,) = expand_variants({"a": [{"b": [1, 2]}]}, [0])
    assert "/" not in variant.name and " " not in variant.name and "..." not in variant.name
