"""Input normalisation shared by the latency modules: sites, constellations and time grids.
"""
from __future__ import annotations

import pandas as pd
from orbitlat.constants import C_KM_S
from orbitlat.errors import OrbitlatError
from orbitlat.latency.network import Network

__all__ = []


_MS_PER_KM = 1000.0 / C_KM_S

# ---------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------
def _sites(obj, what: str):
    """Normalise GroundSites / DataFrame / None into a GroundSites."""
    from orbitlat.ground.sites import GroundSites

    if isinstance(obj, GroundSites):
        return obj
    if isinstance(obj, pd.DataFrame):
        return GroundSites.from_dataframe(obj)
    raise OrbitlatError(f"{what} must be orbitlat.ground.sites.GroundSites (or a DataFrame with lat/lon); "
                        f"got {type(obj).__name__}.")

def _constellation(c):
    from orbitlat.orbits import presets
    from orbitlat.orbits.constellation import Constellation

    if isinstance(c, Constellation):
        return c
    if isinstance(c, str):
        return presets.get(c)
    raise OrbitlatError(f"constellation must be a Constellation or a preset name; got {type(c).__name__}.")

def _times(network: Network, times, start, duration, step):
    from orbitlat.time import TimeGrid, to_timegrid

    if times is not None:
        return times if isinstance(times, TimeGrid) else to_timegrid(times)
    if start is None:
        start = network.constellation.table["epoch"].max()
    return TimeGrid.span(start, "1 day" if duration is None else duration, "60 s" if step is None else step)

# ---------------------------------------------------------------------------
# the driver
# ---------------------------------------------------------------------------
def _site_index(sites, min_elevation_deg):
    from orbitlat.visibility.engine import SiteIndex

    return SiteIndex.from_sites(sites, min_elevation_deg=min_elevation_deg)
