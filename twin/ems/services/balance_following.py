"""Supply-demand-balance following: the island study's Table 4 rules, commanded by the area's
power balance instead of the grid CO2 intensity (the Oki islands study's own conclusion: with a
future low-carbon mix, control should follow the supply-demand balance, not the CO2 factor).

The command is the signed level signal `balance_command_level` (twin.signals.scenario_signals):
the area balance without EVs, area load - area PV, with levels from the quartiles of the run's
own series (twin.products.co2_levels.quartile_thresholds): charge level k when the balance is
low (PV surplus hours), discharge level k when it is high (evening peak). The per-place rules,
stops and forced charge are those of co2_control.Co2LevelControl; records `balance_level`
and `balance_v2h_evs`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from twin.ems.services.base import Service, ServiceConfig
from twin.ems.services.co2_control import Co2LevelControl, Place

BALANCE_SIGNAL = "balance_command_level"


class BalanceFollowing(Co2LevelControl):
    name = "balance_following"
    record_prefix = "balance"

    def __init__(
        self,
        station_kw: float = 6.0,
        places: dict[str, Place] | None = None,
        default_place: Place = "home",
        charge_to_soc: float = 1.0,
        order: int = 20,
    ):
        super().__init__(
            station_kw,
            places,
            default_place,
            charge_to_soc,
            levels="signal",
            command_signal=BALANCE_SIGNAL,
            order=order,
        )


class BalanceFollowingSpec(ServiceConfig):
    """Table 4's rules by place, commanded by the area's supply-demand balance."""

    type: Literal["balance_following"]
    order: int = 20
    station_kw: Annotated[float, Field(gt=0.0)] = 6.0
    places: dict[str, Place] = Field(default_factory=dict)
    """Fleet name -> where its EVs are plugged when the fleet reports no place per session."""
    default_place: Place = "home"
    charge_to_soc: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0

    def build(self) -> Service:
        return BalanceFollowing(
            self.station_kw, self.places, self.default_place, self.charge_to_soc, order=self.order
        )
