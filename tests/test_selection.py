"""Selecting satellites of a Constellation by name and catalog number.

Reference: CelesTrak's stations group of 2026-05-30 (../shared/data/tle/stations_2026-05-30.tle):
the ISS is "ISS (ZARYA)", catalog number 25544 (NORAD; international designator 1998-067A). Without
that file the tests run on synthetic 3LE text (tests/conftest.py).
"""
from __future__ import annotations

import numpy as np
import pytest

from orbitlat.errors import OrbitlatError
from orbitlat.orbits.constellation import Constellation

from conftest import SHARED_DATA, synthetic_tle_text


@pytest.fixture(scope="module")
def stations():
    p = SHARED_DATA / "tle" / "stations_2026-05-30.tle"
    if not p.exists():
        pytest.skip(f"reference catalog {p} is absent (../shared/data beside the checkout)")
    return Constellation.from_tle(p)


@pytest.fixture(scope="module")
def synthetic():
    return Constellation.from_tle(synthetic_tle_text(6, first_id=40000), name="synthetic")


def test_iss_by_name_and_by_catalog_number(stations):
    iss = stations["ISS (ZARYA)"]
    assert iss.size == 1 and iss.table["norad_id"].iloc[0] == 25544
    assert stations.by_norad(25544).table["name"].iloc[0] == "ISS (ZARYA)"
    assert stations.select(names="iss (zarya)  ").table["norad_id"].tolist() == [25544]  # case, spaces
    assert stations.select(norad=[25544]).table["line1"].iloc[0] == iss.table["line1"].iloc[0]


def test_names_in_the_order_given_and_combined_criteria(synthetic):
    sub = synthetic[["SAT-3", "SAT-0"]]
    assert sub.table["name"].tolist() == ["SAT-3", "SAT-0"]
    assert synthetic.by_norad([40005, 40001]).table["norad_id"].tolist() == [40005, 40001]
    assert synthetic.select(contains="sat-", norad=[40002, 40004]).table["name"].tolist() == ["SAT-2", "SAT-4"]
    assert synthetic[np.array([True, False] * 3)].size == 3 and synthetic[1:3].size == 2


def test_unknown_names_and_numbers_say_what_exists(synthetic):
    with pytest.raises(OrbitlatError, match=r"no satellite named 'SAT-9'.*Close names: SAT-"):
        synthetic["SAT-9"]
    with pytest.raises(OrbitlatError, match=r"catalog number\(s\) \[25544\] not in .*40000\.\.40005"):
        synthetic.by_norad(25544)
    with pytest.raises(OrbitlatError, match="select no satellite"):
        synthetic.select(contains="STARLINK")
    with pytest.raises(OrbitlatError, match="integers"):
        synthetic.by_norad("ISS")
