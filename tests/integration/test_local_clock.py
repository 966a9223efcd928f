"""The EMS follows the local wall clock through a daylight-saving change, as the KPIs do."""

import pandas as pd

from tests.conftest import ROOT
from twin.catalog import load_scenario
from twin.results.readers import read_table
from twin.run.world import prepare_run


def test_flexibility_window_starts_at_local_10_on_the_dst_day(tmp_path):
    # Europe/Berlin jumps from 02:00 to 03:00 on 2025-03-30: a clock counted from the start
    # would open the push-up window at 11:00 local (10:00 + 1 h), the KPIs at 10:00.
    sc = load_scenario(
        ROOT / "scenarios" / "default.yaml",
        {"timezone": "Europe/Berlin", "start": "2025-03-30T00:00:00", "duration": "15h"},
    )
    out = prepare_run(sc, tmp_path / "dst").run(progress=False)
    table = read_table(out.out_dir)
    local = (
        pd.to_datetime(table["time"], utc=True).dt.tz_convert("Europe/Berlin").dt.strftime("%H:%M")
    )
    active = table["ems.contribution.flexibility_windows_kw"].abs() > 1.0
    assert local[active].iloc[0] == "10:00"
    assert not active[local < "10:00"].any()
    assert out.summary["kpis"]["push_up_kwh_per_ev_day"] > 0
