"""The report's design section: how many orbital data centres, and where, to beat the terrestrial campus
for 50 / 90 / 99 % of people.

A coarse sweep (:func:`orbitlat.latency.sweep.sweep`) of three families of compute placements on the
report's users, relays and span: Suncatcher-like clusters in dawn–dusk sun-synchronous orbit (one
plane, or planes spread over the local times), a dedicated compute constellation clear of the relay
shells, and compute on a share of the relay satellites. The answer sentences and the table are
computed from the sweep (:func:`orbitlat.latency.sweep.answer`); nothing is asserted. The full
resolution is ``orbitlat sweep`` (more designs, every 5 minutes, sunlight every day).
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from orbitlat.units import accepts_units

__all__ = ["report_designs", "DesignStudy", "answer_sentences"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: Targets of the question (shares of people).
TARGETS = (0.5, 0.9, 0.99)


@dataclass
class DesignStudy:
    """What the section shows: the sweep table, the answer table, the sentences and the figure file."""

    table: pd.DataFrame
    answer: pd.DataFrame
    sentences: list
    figure: str | None
    settings: dict


def _designs(quick: bool):
    from orbitlat.latency.sweep import designs

    if quick:
        return (designs("clusters", n_clusters=[1, 4], planes=[1], altitude_km=[650.0])
                + designs("dedicated", planes=[6], per_plane=[10], altitude_km=[1000.0], inc_deg=[53.0])
                + designs("on_relays", share=[0.05]))
    return (designs("clusters", n_clusters=[1, 4, 16, 64], planes=[1, 4], altitude_km=[650.0])
            + designs("dedicated", planes=[6, 12, 24], per_plane=[10, 20, 40], altitude_km=[1000.0],
                      inc_deg=[53.0])[::4]
            + designs("on_relays", share=[0.01, 0.05, 0.25, 1.0]))


def answer_sentences(ans: pd.DataFrame, table: pd.DataFrame, datacenter: str) -> list:
    """One sentence per design family, from the answer table (a pure function of the numbers)."""
    names = {"clusters": "Suncatcher-like clusters", "dedicated": "a dedicated compute constellation",
             "on_relays": "compute on relay satellites"}
    out = []
    for kind, g in ans.groupby("kind", sort=False):
        parts = []
        for _, r in g.iterrows():
            pct = f"{r['target']:.0%}"
            if isinstance(r["design"], str):
                parts.append(f"{pct} of people: {int(r['satellites']):,} satellites ({r['design']}; p95 "
                             + (f"{r['p95_ms']:.0f} ms" if np.isfinite(r["p95_ms"]) else
                                "unbounded: over 5 % of people-time has no path") + ")")
            else:
                parts.append(f"{pct} of people: not reached by any design swept (best {r['achieved']:.1%})")
        name = names.get(kind, kind)
        out.append(f"{name[0].upper()}{name[1:]} beat {datacenter}'s terrestrial route for " + "; ".join(parts) + ".")
    if "people_faster_nearest_dc" in table.columns and table["people_faster_nearest_dc"].notna().any():
        top = table.sort_values(["people_faster_nearest_dc", "satellites"], ascending=[False, True]).iloc[0]
        out.append(f"Against each city's nearest of the built-in data centres instead (Stargate and the cloud "
                   f"regions; terrestrial median {top['nearest_dc_p50_ms']:.1f} ms against "
                   f"{top['terrestrial_p50_ms']:.1f} ms to {datacenter} alone), the best design in the sweep, "
                   f"{top.name} ({int(top['satellites']):,} satellites, median {top['p50_ms']:.1f} ms), is faster "
                   f"for {top['people_faster_nearest_dc']:.1%} of people: beating one campus is not beating "
                   "compute near the user.")
    best = table.sort_values(["p95_ms", "satellites"]).iloc[0]
    out.append(f"Lowest tail latency in the sweep: {best.name} (p95 "
               + (f"{best['p95_ms']:.1f} ms" if np.isfinite(best["p95_ms"]) else "unbounded")
               + f", {int(best['satellites']):,} satellites, sunlit {best['sunlit_fraction']:.1%} of the year).")
    return out


@accepts_units(skip=("sunlight_sample_days",))
def report_designs(*, users, relays, start: str, duration: str, step: str, datacenter: str, terrestrial: Any,
                   min_elevation_deg: float, quick: bool, save_figure, overhead: Any = None,
                   sunlight_sample_days: int = 30) -> DesignStudy:
    """Run the coarse sweep and build the section's content (``save_figure(fig, name) -> file name``)."""
    from orbitlat.latency.sweep import answer, sweep
    from orbitlat.viz.pareto import pareto_plot

    items = _designs(quick)
    table = sweep(items, users, relays, start=start, duration=duration, step=step, overhead=overhead,
                  datacenter=datacenter, fiber=terrestrial, min_elevation_deg=min_elevation_deg,
                  sunlight_sample_days=sunlight_sample_days)
    ans = answer(table, TARGETS)
    fig = pareto_plot(table, reference_ms=float(table["terrestrial_p50_ms"].iloc[0]),
                      reference_label=f"{datacenter} over the ground",
                      title="Orbital data-centre designs: satellites vs p95 RTT")
    name = save_figure(fig, "designs_pareto.png")
    settings = {"designs": len(items), "start": start, "duration": duration, "step": step,
                "sunlight_sample_days": sunlight_sample_days, **table.attrs}
    return DesignStudy(table, ans, answer_sentences(ans, table, datacenter), name, settings)


def section_html(study: DesignStudy, table_html) -> str:
    """The section's HTML (``table_html`` renders a DataFrame as the report does)."""
    e = html.escape
    s = study.settings
    t = study.table
    cols = ["satellites", "compute_nodes", "p50_ms", "p95_ms", "p99_ms", "people_faster", "time_faster",
            "people_faster_nearest_dc", "served", "worst_region", "worst_region_p50_ms", "sunlit_fraction",
            "longest_eclipse_min"]
    shown = t[[c for c in cols if c in t.columns]].copy()
    parts = ["<h2 id='designs'>How many orbital data centres, and where, to beat Stargate for 50 / 90 / 99 % of "
             "people</h2>",
             f"<p>A coarse sweep of {s['designs']} compute placements (computed for this report, not asserted): "
             f"every design routes the same {s['users']:,} users to their nearest compute node through "
             f"{e(s['relays'])} relays (laser links as built: {e(s['links'])}) or directly, every {e(s['step'])} "
             f"over {e(s['duration'])} from {e(s['start'])}. Satellite RTTs include: {e(s['satellite_delays'])}; "
             f"the terrestrial route ({e(s['terrestrial_model'])} model) includes: {e(s['terrestrial_delays'])}. "
             "'people faster' counts a city's people when its median RTT over the span beats its terrestrial RTT; "
             "'time faster' pools every (step, city) sample; unreachable samples count as infinitely slow; "
             "'people faster nearest dc' compares each city with its nearest built-in data centre (Stargate and "
             "the cloud regions) instead. "
             f"Power: {e(s['sunlight'])}. The full-resolution sweep is <code>orbitlat sweep</code>.</p>",
             "<ul class='concl'>" + "".join(f"<li>{e(x)}</li>" for x in study.sentences) + "</ul>",
             table_html(study.answer.assign(target=study.answer["target"].map(lambda v: f"{v:.0%}")), index=False,
                        pct_cols=("achieved",)),
             table_html(shown, pct_cols=("people_faster", "time_faster", "people_faster_nearest_dc", "served",
                                         "sunlit_fraction"))]
    if study.figure:
        parts.append(f"<figure><img src='{e(study.figure)}' alt='design sweep Pareto plot'><figcaption>Every "
                     "design: compute satellites needed (log) against population-weighted p95 RTT, coloured by "
                     "the sunlit fraction of the year; red: the Pareto front; dashed: the terrestrial median."
                     "</figcaption></figure>")
    return "\n".join(parts)
