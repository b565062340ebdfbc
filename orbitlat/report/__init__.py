"""The HTML report: the study orbitlat exists for, on built-in presets, offline.

:func:`build_report` runs the default comparison and writes ``index.html`` with
its figures (PNG files next to it, referenced by relative paths), the tables as
CSV, and the key numbers as ``numbers.json``. The page is self-contained: inline
CSS, no JavaScript, no external stylesheet, font or CDN, so it opens offline.

What it computes
----------------
1. **Constellations**: Starlink Gen1 (4,408), Kuiper (3,236) and OneWeb (588)
   from their filings (:mod:`orbitlat.orbits.presets`), shell by shell.
2. **Coverage** on an equal-area grid (:meth:`orbitlat.ground.grids.Grid.equal_area`)
   with the GPW v4.11 gridded population attached (:meth:`~orbitlat.ground.grids.Grid.with_population`):
   area- and population-weighted figures of merit (:func:`orbitlat.coverage.coverage`)
   and one coverage map per constellation.
3. **Latency** for users worldwide (the most populous GeoNames cities, weighted by
   population; a second table counts every person on the GPW grid) to the Stargate campus in
   Abilene, Texas: terrestrial fiber (:class:`orbitlat.latency.terrestrial.FiberModel`), a bent
   pipe through Starlink's real gateways, the relay constellation's inter-satellite links,
   Starlink as deployed (dish → PoP → destination, :func:`orbitlat.latency.as_deployed`); and to
   a Suncatcher-like orbital data centre (``presets.get("suncatcher")``) reached through the same
   relays. Every satellite RTT includes the calibrated access overhead
   (:mod:`orbitlat.latency.overhead`); a sensitivity table shows the headline medians with the
   overhead off / calibrated / high and with 2 / 4 / unlimited orbital links, and the spread per
   routing step (p50/p95). :mod:`~orbitlat.report.latency_study` computes it and writes its
   sentences from the numbers. p50/p95/p99 tables, latency maps, a CDF and the per-step series.
4. **Power**: the orbital data centre's sunlit fraction over a year and its
   eclipse season (:func:`orbitlat.visibility.sunlight.sunlit_fraction_over_year`).
5. **Conclusions** written from the numbers computed in this run (nothing is
   hard-coded), and **provenance**: sources of every preset and data set, the
   parameters, versions and run times.

The default (full) run finishes in about 1 minute on a quiet two-core machine (the budget is 5 min;
measured about 200 s with the machine shared several ways, where the run before this latency study took 74 s);
``quick=True`` (tests, a first look) in well under a minute. The choices made
to fit that budget are listed in the report itself.

>>> from orbitlat.report.build import ReportConfig
>>> ReportConfig.default(quick=True).users
60

Modules: :mod:`~orbitlat.report.build` (the stages of a run and their numbers),
:mod:`~orbitlat.report.latency_study` (the latency sections) and :mod:`~orbitlat.report.html` (the page). A face: it may import every layer; nothing imports it but
the CLI.
"""
from __future__ import annotations

from orbitlat.report.build import STAGES, ReportConfig, build_report

__all__ = ["ReportConfig", "build_report", "STAGES"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)
