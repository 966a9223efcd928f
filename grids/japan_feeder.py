"""Parametric Japanese 6.6 kV overhead distribution feeder, built with pandapower ``create_*``.

Topology (radial)::

    ext_grid ── 66 kV ──[substation bank 66/6.6 kV]── 6.6 kV bus ── s1 ── s2 ── ... ── sN
                                                                     │
                                              pole transformer 6.6/0.2 kV (per section, k of them)
                                                                     │
                                                    pole LV bus ── LV span ── LV bus ── ...
                                                      houses (loads) + rooftop PV (sgen)

Simplifications and sources (all values are typical, configurable defaults, not a utility's data):

* **LV as a balanced three-phase equivalent at 0.2 kV.** Japanese LV service is 100/200 V
  single-phase three-wire from single-phase pole transformers. A balanced power flow cannot
  represent phase imbalance or the neutral; each pole transformer and its LV spans are modelled
  as a three-phase equivalent with the same kVA rating, at 200 V line-to-line. Voltages in pu
  are what to read (1 pu = 200 V, i.e. 101 ± 6 V band on the 100 V side is 0.95..1.07 pu of 100 V).
* **MV conductors** (R at 20 °C from conductor resistivity, ρ_Cu = 0.01777 and
  ρ_Al = 0.0283 Ω·mm²/m, with a 2 % stranding allowance; ampacities are typical values for
  insulated overhead wire in Japanese distribution practice):
  ``OC`` = outdoor cross-linked polyethylene insulated wire, ``OE`` = outdoor polyethylene
  insulated wire, ``OW`` = outdoor weatherproof wire (LV).
* **Reactance and capacitance from geometry**, so 50 Hz (east) and 60 Hz (west) differ as they
  should: x = 2π·f·2e-4·ln(GMD / 0.7788·r) Ω/km and c = 55.63 / ln(GMD / r) nF/km, with a
  crossarm spacing of 0.6 m / 0.6 m / 1.2 m (GMD ≈ 0.76 m) for 6.6 kV and 0.2 m for LV.
  This gives x ≈ 0.31-0.38 Ω/km at 50 Hz, the usual range quoted for 6.6 kV overhead lines.
* **Substation bank** 66/6.6 kV, default 10 MVA, %Z 7.5 % (typical 7.5-10 % for distribution
  banks). The 66 kV source voltage ``sending_end_vm_pu`` stands in for the bank's load-ratio
  control (LRT) set-point; the 6.6 kV bus is usually held around 6.75-6.9 kV (1.02-1.05 pu).
* **Pole transformers** 10-100 kVA, %Z 2.5 %, copper losses 1.4 %, no-load losses 2 W/kVA
  (top-runner / amorphous cores), magnetising current 1.5 %.
* **Houses**: one load per house with a diversified peak ``house_peak_kw`` (1-2 kW is typical
  for the evening peak of a Japanese household) at ``house_power_factor``; rooftop PV of
  ``pv_kw_per_house`` on a share ``pv_share`` of houses, aggregated to one sgen per LV bus.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from grids.errors import GridParameterError

if TYPE_CHECKING:
    from pandapower import pandapowerNet

_RHO_CU_OHM_MM2_PER_M = 0.01777
_RHO_AL_OHM_MM2_PER_M = 0.0283
_STRANDING = 1.02
_MV_SPACINGS_M = (0.6, 0.6, 1.2)
_LV_GMD_M = 0.2


@dataclass(frozen=True)
class Conductor:
    """An overhead conductor type.

    Attributes:
        r_ohm_per_km: Resistance at 20 °C in ohm/km.
        diameter_mm: Conductor (metal) diameter in mm, for reactance and capacitance.
        max_i_ka: Thermal current rating in kA.
    """

    r_ohm_per_km: float
    diameter_mm: float
    max_i_ka: float


def _stranded(rho: float, area_mm2: float) -> float:
    return rho / area_mm2 * 1000.0 * _STRANDING


CONDUCTORS: dict[str, Conductor] = {
    # Trunk near the substation in dense areas.
    "ACSR-OC 240": Conductor(0.120, 22.4, 0.55),
    "Cu-OC 150": Conductor(_stranded(_RHO_CU_OHM_MM2_PER_M, 150.0), 16.0, 0.43),
    "Al-OC 120": Conductor(_stranded(_RHO_AL_OHM_MM2_PER_M, 120.0), 14.0, 0.33),
    "Cu-OC 60": Conductor(_stranded(_RHO_CU_OHM_MM2_PER_M, 60.0), 10.0, 0.26),
    "Al-OE 60": Conductor(_stranded(_RHO_AL_OHM_MM2_PER_M, 60.0), 10.0, 0.21),
    # Solid hard-drawn copper 5 mm (19.6 mm2): old branch lines.
    "Cu-OE 5mm": Conductor(_RHO_CU_OHM_MM2_PER_M / (math.pi * 2.5**2) * 1000.0, 5.0, 0.12),
}
"""MV conductor catalogue (typical values, see the module docstring)."""

LV_CONDUCTOR = Conductor(_stranded(_RHO_CU_OHM_MM2_PER_M, 38.0), 8.0, 0.17)
"""LV secondary span: copper OW 38 mm2."""


def line_reactance_ohm_per_km(diameter_mm: float, gmd_m: float, frequency_hz: float) -> float:
    """Positive-sequence reactance of a transposed three-phase overhead line.

    Args:
        diameter_mm: Conductor diameter in mm.
        gmd_m: Geometric mean distance between phases in m.
        frequency_hz: System frequency in Hz.

    Returns:
        Reactance in ohm/km.
    """
    gmr_m = 0.7788 * diameter_mm / 2000.0
    return 2.0 * math.pi * frequency_hz * 2e-4 * math.log(gmd_m / gmr_m)


def line_capacitance_nf_per_km(diameter_mm: float, gmd_m: float) -> float:
    """Positive-sequence capacitance to neutral of a three-phase overhead line, in nF/km."""
    return 55.63 / math.log(gmd_m / (diameter_mm / 2000.0))


def build_japan_6kv_feeder(
    *,
    n_sections: int = 10,
    section_km: float = 0.4,
    transformers_per_section: int = 4,
    pole_transformer_kva: float = 50.0,
    houses_per_transformer: int = 15,
    house_peak_kw: float = 1.5,
    house_power_factor: float = 0.98,
    pv_share: float = 0.3,
    pv_kw_per_house: float = 4.5,
    lv_buses_per_transformer: int = 2,
    lv_span_km: float = 0.03,
    conductor: str = "Al-OC 120",
    frequency_hz: float = 50.0,
    with_substation: bool = True,
    substation_mva: float = 10.0,
    sending_end_vm_pu: float = 1.03,
) -> pandapowerNet:
    """Build a radial Japanese 6.6 kV feeder with pole transformers and houses.

    Args:
        n_sections: Number of MV sections along the trunk (>= 1).
        section_km: Length of each MV section in km.
        transformers_per_section: Pole transformers hanging off each MV section node.
        pole_transformer_kva: Rating of each pole transformer in kVA (5-500).
        houses_per_transformer: Houses (one load each) behind each pole transformer.
        house_peak_kw: Diversified peak demand of one house in kW (this is ``load.p_mw``).
        house_power_factor: Power factor of the house loads (inductive), 0 < pf <= 1.
        pv_share: Share of houses with rooftop PV, 0..1 (rounded per LV bus).
        pv_kw_per_house: Rooftop PV rating per PV house in kW.
        lv_buses_per_transformer: LV buses in a chain behind each pole transformer (>= 1); the
            houses are spread over them.
        lv_span_km: Length of each LV span in km.
        conductor: MV trunk conductor, a key of ``CONDUCTORS``.
        frequency_hz: 50 (eastern Japan) or 60 (western Japan); stored in ``net.f_hz``.
        with_substation: True: 66 kV source + 66/6.6 kV bank. False: the source sits on the
            6.6 kV bus.
        substation_mva: Rating of the substation bank in MVA.
        sending_end_vm_pu: Source voltage in pu (stands in for the bank's LRT set-point).

    Returns:
        The pandapower net. ``net.load.type`` is ``"house"``, ``net.sgen.type`` is ``"PV"``.

    Raises:
        GridParameterError: A parameter is out of range or the conductor is unknown.
    """
    import pandapower as pp

    _check(
        n_sections >= 1 and int(n_sections) == n_sections,
        "n_sections",
        n_sections,
        "an integer >= 1",
    )
    _check(section_km > 0, "section_km", section_km, "> 0 km")
    _check(
        transformers_per_section >= 0, "transformers_per_section", transformers_per_section, ">= 0"
    )
    _check(
        5.0 <= pole_transformer_kva <= 500.0,
        "pole_transformer_kva",
        pole_transformer_kva,
        "5..500 kVA",
    )
    _check(houses_per_transformer >= 0, "houses_per_transformer", houses_per_transformer, ">= 0")
    _check(house_peak_kw >= 0, "house_peak_kw", house_peak_kw, ">= 0 kW")
    _check(0 < house_power_factor <= 1, "house_power_factor", house_power_factor, "in (0, 1]")
    _check(0 <= pv_share <= 1, "pv_share", pv_share, "in [0, 1]")
    _check(pv_kw_per_house >= 0, "pv_kw_per_house", pv_kw_per_house, ">= 0 kW")
    _check(
        lv_buses_per_transformer >= 1, "lv_buses_per_transformer", lv_buses_per_transformer, ">= 1"
    )
    _check(lv_span_km > 0, "lv_span_km", lv_span_km, "> 0 km")
    _check(frequency_hz in (50, 60), "frequency_hz", frequency_hz, "50 or 60")
    _check(substation_mva > 0, "substation_mva", substation_mva, "> 0 MVA")
    _check(0.8 <= sending_end_vm_pu <= 1.2, "sending_end_vm_pu", sending_end_vm_pu, "0.8..1.2 pu")
    if conductor not in CONDUCTORS:
        raise GridParameterError(
            f"japan_6kv_feeder: unknown conductor {conductor!r}; choose one of {sorted(CONDUCTORS)}"
        )

    net = pp.create_empty_network(name="japan_6kv_feeder", f_hz=float(frequency_hz))
    mv_gmd_m = math.prod(_MV_SPACINGS_M) ** (1.0 / 3.0)
    mv = CONDUCTORS[conductor]

    mv_bus = pp.create_bus(net, vn_kv=6.6, name="MV 6.6 kV substation bus", type="b")
    if with_substation:
        hv_bus = pp.create_bus(net, vn_kv=66.0, name="HV 66 kV", type="b")
        pp.create_ext_grid(net, hv_bus, vm_pu=sending_end_vm_pu, name="66 kV grid")
        pp.create_transformer_from_parameters(
            net,
            hv_bus,
            mv_bus,
            sn_mva=substation_mva,
            vn_hv_kv=66.0,
            vn_lv_kv=6.6,
            vkr_percent=0.5,
            vk_percent=7.5,
            pfe_kw=0.8 * substation_mva,
            i0_percent=0.3,
            shift_degree=0.0,
            name="substation bank 66/6.6 kV",
        )
    else:
        pp.create_ext_grid(net, mv_bus, vm_pu=sending_end_vm_pu, name="6.6 kV source")

    pole_sn_mva = pole_transformer_kva / 1000.0
    house_p_mw = house_peak_kw / 1000.0
    house_q_mvar = house_p_mw * math.tan(math.acos(house_power_factor))
    lv_x = line_reactance_ohm_per_km(LV_CONDUCTOR.diameter_mm, _LV_GMD_M, frequency_hz)
    lv_c = line_capacitance_nf_per_km(LV_CONDUCTOR.diameter_mm, _LV_GMD_M)

    previous = mv_bus
    for s in range(1, n_sections + 1):
        node = pp.create_bus(net, vn_kv=6.6, name=f"MV section {s}", type="n")
        pp.create_line_from_parameters(
            net,
            previous,
            node,
            length_km=section_km,
            r_ohm_per_km=mv.r_ohm_per_km,
            x_ohm_per_km=line_reactance_ohm_per_km(mv.diameter_mm, mv_gmd_m, frequency_hz),
            c_nf_per_km=line_capacitance_nf_per_km(mv.diameter_mm, mv_gmd_m),
            max_i_ka=mv.max_i_ka,
            name=f"MV {conductor} {s}",
            type="ol",
        )
        previous = node
        for k in range(1, transformers_per_section + 1):
            tag = f"{s}-{k}"
            lv_buses = [pp.create_bus(net, vn_kv=0.2, name=f"pole {tag} LV", type="n")]
            pp.create_transformer_from_parameters(
                net,
                node,
                lv_buses[0],
                sn_mva=pole_sn_mva,
                vn_hv_kv=6.6,
                vn_lv_kv=0.2,
                vkr_percent=1.4,
                vk_percent=2.5,
                pfe_kw=0.002 * pole_transformer_kva,
                i0_percent=1.5,
                shift_degree=0.0,
                name=f"pole transformer {tag}",
            )
            for j in range(2, lv_buses_per_transformer + 1):
                lv_buses.append(pp.create_bus(net, vn_kv=0.2, name=f"LV {tag}-{j}", type="n"))
                pp.create_line_from_parameters(
                    net,
                    lv_buses[-2],
                    lv_buses[-1],
                    length_km=lv_span_km,
                    r_ohm_per_km=LV_CONDUCTOR.r_ohm_per_km,
                    x_ohm_per_km=lv_x,
                    c_nf_per_km=lv_c,
                    max_i_ka=LV_CONDUCTOR.max_i_ka,
                    name=f"LV OW 38 {tag}-{j}",
                    type="ol",
                )
            _add_houses(
                net,
                lv_buses,
                houses_per_transformer,
                house_p_mw,
                house_q_mvar,
                pv_share,
                pv_kw_per_house / 1000.0,
                tag,
            )
    return net


def _add_houses(
    net: pandapowerNet,
    lv_buses: list[int],
    n_houses: int,
    house_p_mw: float,
    house_q_mvar: float,
    pv_share: float,
    pv_mw_per_house: float,
    tag: str,
) -> None:
    import pandapower as pp

    # Spread houses evenly along the LV chain; the first buses take the remainder.
    per_bus = [
        n_houses // len(lv_buses) + (i < n_houses % len(lv_buses)) for i in range(len(lv_buses))
    ]
    house = 0
    for bus, count in zip(lv_buses, per_bus, strict=True):
        for _ in range(count):
            house += 1
            pp.create_load(
                net,
                bus,
                p_mw=house_p_mw,
                q_mvar=house_q_mvar,
                name=f"house {tag}-{house}",
                type="house",
            )
        n_pv = round(pv_share * count)
        if n_pv > 0 and pv_mw_per_house > 0:
            pp.create_sgen(
                net,
                bus,
                p_mw=n_pv * pv_mw_per_house,
                q_mvar=0.0,
                name=f"rooftop PV {tag} x{n_pv}",
                type="PV",
            )


def _check(ok: bool, name: str, value: object, expected: str) -> None:
    if not ok:
        raise GridParameterError(
            f"japan_6kv_feeder: {name}={value!r} is invalid; expected {expected}"
        )
