"""Synthetic base-load and clear-sky PV shapes for nets that carry no profiles of their own.

Pure numpy functions of time; every output is a per-unit factor (1.0 = the element's nominal
``p_mw``).
"""

from __future__ import annotations

import numpy as np

KASHIWA_LATITUDE_DEG = 35.9
KASHIWA_LONGITUDE_DEG = 139.97

# Normalised hourly demand of a Japanese household (peak 1.0 at 20:00): a low night, a morning
# peak around 7-8 h, a flat midday and the evening peak 18-22 h. Shape after typical published
# residential load curves; a stand-in, not measured data.
_RESIDENTIAL_HOURLY = np.array(
    [
        0.45,
        0.38,
        0.35,
        0.33,
        0.33,
        0.38,
        0.55,
        0.72,
        0.68,
        0.55,
        0.50,
        0.50,
        0.52,
        0.50,
        0.48,
        0.50,
        0.58,
        0.72,
        0.88,
        0.98,
        1.00,
        0.95,
        0.82,
        0.62,
    ]
)


def residential_load_pu(hour_of_day: np.ndarray, day_of_year: np.ndarray) -> np.ndarray:
    """Residential demand as a share of the yearly peak.

    The daily curve is interpolated linearly between the hourly points above (periodic over the
    day) and scaled by a seasonal factor with two maxima of 1.0 (mid-January heating, late-July
    cooling) and minima of 0.7 in April and October, so the yearly maximum is exactly 1.0.

    Args:
        hour_of_day: Local clock time in hours, 0 <= h < 24 (fractions allowed).
        day_of_year: Day of the year, 1..366.

    Returns:
        Demand factor in pu of the peak, same shape as the inputs broadcast together.
    """
    h = np.mod(np.asarray(hour_of_day, dtype=float), 24.0)
    knots_h = np.arange(25.0)
    knots = np.append(_RESIDENTIAL_HOURLY, _RESIDENTIAL_HOURLY[0])
    daily = np.interp(h, knots_h, knots)
    return daily * seasonal_load_factor(day_of_year)


def seasonal_load_factor(day_of_year: np.ndarray) -> np.ndarray:
    """Seasonal scaling of demand: 1.0 around day 20 and day 203, 0.7 in spring and autumn."""
    d = np.asarray(day_of_year, dtype=float)
    return 0.85 + 0.15 * np.cos(4.0 * np.pi * (d - 20.0) / 365.25)


def solar_elevation_sin(
    utc_hour: np.ndarray,
    day_of_year: np.ndarray,
    latitude_deg: float = KASHIWA_LATITUDE_DEG,
    longitude_deg: float = KASHIWA_LONGITUDE_DEG,
) -> np.ndarray:
    """Sine of the sun's elevation (= cosine of the zenith angle).

    Cooper's declination, the usual equation-of-time approximation and the hour angle from
    apparent solar time (accuracy of a few minutes in sunrise / sunset, enough for load shapes).

    Args:
        utc_hour: Time of day in UTC hours (fractions allowed).
        day_of_year: Day of the year, 1..366 (of the UTC date).
        latitude_deg: Site latitude in degrees north.
        longitude_deg: Site longitude in degrees east.

    Returns:
        sin(elevation); negative when the sun is below the horizon.
    """
    d = np.asarray(day_of_year, dtype=float)
    declination = np.deg2rad(23.45) * np.sin(2.0 * np.pi * (284.0 + d) / 365.0)
    b = 2.0 * np.pi * (d - 81.0) / 364.0
    equation_of_time_min = 9.87 * np.sin(2 * b) - 7.53 * np.cos(b) - 1.5 * np.sin(b)
    solar_hour = (
        np.asarray(utc_hour, dtype=float) + longitude_deg / 15.0 + equation_of_time_min / 60.0
    )
    hour_angle = np.deg2rad(15.0 * (solar_hour - 12.0))
    lat = np.deg2rad(latitude_deg)
    return np.sin(lat) * np.sin(declination) + np.cos(lat) * np.cos(declination) * np.cos(
        hour_angle
    )


def clear_sky_pv_pu(
    utc_hour: np.ndarray,
    day_of_year: np.ndarray,
    latitude_deg: float = KASHIWA_LATITUDE_DEG,
    longitude_deg: float = KASHIWA_LONGITUDE_DEG,
) -> np.ndarray:
    """Clear-sky PV output as a share of the rated power.

    Haurwitz clear-sky global horizontal irradiance, GHI = 1098 cos(z) exp(-0.057 / cos(z))
    W/m2, divided by the 1000 W/m2 rating condition and capped at 1.0 (horizontal modules,
    no temperature or inverter losses). Exactly zero while the sun is below the horizon.

    Returns:
        PV factor in pu of the rated power, in [0, 1].
    """
    cos_z = solar_elevation_sin(utc_hour, day_of_year, latitude_deg, longitude_deg)
    up = cos_z > 0.0
    safe = np.where(up, cos_z, 1.0)
    ghi = np.where(up, 1098.0 * safe * np.exp(-0.057 / safe), 0.0)
    return np.clip(ghi / 1000.0, 0.0, 1.0)


# Normalised hourly demand of a non-residential building (offices, shops, public buildings):
# a low night base, opening hours 8-18 h near the peak. A stand-in, not measured data.
_COMMERCIAL_HOURLY = np.array(
    [0.35, 0.33, 0.32, 0.32, 0.32, 0.35, 0.42, 0.60, 0.85, 0.97, 1.00, 1.00]
    + [0.95, 0.98, 1.00, 0.98, 0.92, 0.80, 0.62, 0.52, 0.46, 0.42, 0.39, 0.37]
)


def commercial_load_pu(
    hour_of_day: np.ndarray, day_of_year: np.ndarray, weekday: np.ndarray
) -> np.ndarray:
    """Non-residential demand as a share of its yearly peak: the daily curve above (linear
    between the hours), 0.6 of it on Saturdays and Sundays (weekday 5, 6), times the seasonal
    factor of residential_load_pu."""
    h = np.mod(np.asarray(hour_of_day, dtype=float), 24.0)
    knots = np.append(_COMMERCIAL_HOURLY, _COMMERCIAL_HOURLY[0])
    daily = np.interp(h, np.arange(25.0), knots)
    weekend = np.asarray(weekday) >= 5
    return daily * np.where(weekend, 0.6, 1.0) * seasonal_load_factor(day_of_year)
