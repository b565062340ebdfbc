"""Presets reproduce the satellite counts of their public filings."""
from __future__ import annotations

import pytest

import orbitlat as ol
from orbitlat.errors import OrbitlatError

# Counts per shell from the filings (docs/references.md "Constellation designs").
EXPECTED = {
    "starlink_gen1": {"540/53.2": 72 * 22, "550/53.0": 72 * 22, "560/97.6a": 6 * 58, "560/97.6b": 4 * 43,
                      "570/70.0": 36 * 20},
    "kuiper": {"630/51.9": 34 * 34, "610/42.0": 36 * 36, "590/33.0": 28 * 28},
    "oneweb": {"1200/87.9": 12 * 49},
    "iridium": {"780/86.4": 66},
    "telesat": {"1015/98.98": 27 * 13, "1325/50.88": 40 * 33},
    "gps": {"gps": 24},
    "galileo": {"galileo": 24},
    "suncatcher": {"suncatcher-650": 81},
}
TOTALS = {"starlink_gen1": 4408, "kuiper": 3236, "oneweb": 588, "iridium": 66, "telesat": 1671, "gps": 24,
          "galileo": 24, "suncatcher": 81}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_counts_per_shell(name):
    c = ol.presets.get(name)
    assert c.size == TOTALS[name]
    assert c.table.groupby("shell").size().to_dict() == EXPECTED[name]
    assert c.attrs["source"]  # every preset cites its source
    assert c.table.norad_id.is_unique


def test_shell_geometry_matches_filings():
    k = ol.presets.get("kuiper").shells
    assert k.loc["630/51.9", "altitude_km"] == pytest.approx(630)
    assert k.loc["610/42.0", "inc_deg"] == pytest.approx(42.0)
    assert k.loc["590/33.0", "planes"] == 28
    gps = ol.presets.get("gps").table
    # GPS semi-major axis 26,559.7 km, 55°, six planes A-F (SPS Performance Standard, Table 3-1)
    assert gps.a_km.unique().tolist() == [26559.7]
    assert gps.plane.nunique() == 6
    assert gps.loc[gps.name == "GPS-A1", "raan_deg"].item() == pytest.approx(272.847)


def test_unknown_preset_lists_valid_names():
    with pytest.raises(OrbitlatError, match="unknown preset 'starlonk'; available presets: starlink_gen1"):
        ol.presets.get("starlonk")


def test_aliases_and_table():
    assert ol.presets.get("Starlink").size == 4408
    t = ol.presets.table()
    assert t.set_index("preset").loc["kuiper", "satellites"] == 3236
