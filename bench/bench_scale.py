"""Réseaux at the scale of a region: 1,000 / 10,000 / 100,000 synthetic actors over Normandie.

For each size: load + validate the file; a filter change; the map built (and its HTML size);
a nearest query; the coverage of all communes and of the QPV; and the same map built the naive
way (one folium.Marker with its popup per actor in a MarkerCluster), with the ratio. Then, in
headless Chromium (bench/bench_browser.py), for the floor of the stack, the demo and 10,000,
100,000 and 1,000,000 synthetic actors: first marker warm and cold (with and without the parse
cache), payload, filter change, as ratios to the floor; scene change in full-screen
presentation and theme change in « Couverture »; the issue's targets, reached or missed by how much.
Medians over several runs; results in bench/results.md. Run with `make bench`: this file took
11 minutes on 2 cores (2 for the Python measures, 8 in the browser, 4 of them at 1,000,000),
the whole of `make bench` about 13.
"""

from __future__ import annotations

import html
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import folium
import numpy as np
from folium.plugins import MarkerCluster

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_browser import browser_section
from bench.machine import describe
from bench.synthetic import synthetic_table
from reseaux.analyse.coverage import PreparedLayer, actor_points, coverage_table
from reseaux.analyse.filters import ActorFilter, FacetIndex, apply_filter, search_text
from reseaux.analyse.proximity import ProximityIndex, nearest
from reseaux.annuaire.directory import load_directory
from reseaux.annuaire.referential import load_referential
from reseaux.annuaire.store import encode_table
from reseaux.app_data import load_territory
from reseaux.carte.actor_layer import FicheStore, build_actor_layer, fiche_blob
from reseaux.carte.legend import legend_codes, legend_html
from reseaux.carte.mapview import MapView, build_base_map

SIZES = (1_000, 10_000, 100_000)
RUNS = {1_000: 5, 10_000: 5, 100_000: 3}
NAIVE_RUNS = {1_000: 3, 10_000: 3, 100_000: 1}


def median_time(function, runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def naive_map(actors, bounds) -> str:
    """What people usually write: one Marker with an HTML popup per actor, in a MarkerCluster."""
    minx, miny, maxx, maxy = bounds
    fmap = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=9)
    cluster = MarkerCluster().add_to(fmap)
    for row in actors.itertuples():
        popup = f"<b>{html.escape(row.nom)}</b><br>{html.escape(row.commune)}<br>{html.escape(row.telephone)}"
        folium.Marker([row.latitude, row.longitude], popup=folium.Popup(popup, max_width=300)).add_to(cluster)
    return fmap.get_root().render()


def our_map(actors, ref, territory, view) -> str:
    """The map as the page builds it (reseaux.ui.carte.show_map): the base, whose fiches are asked of
    the server when clicked, and the actors' layer with its legend."""
    base = build_base_map(
        territory.layers,
        territory.specs,
        view,
        ref,
        territory.opening_bounds(actors),
        legend_codes=None,
        fiches=FicheStore(url="/_reseaux/carte/bench/fiches"),
        geojson=territory.geojson,
        controls=True,
    )
    shown = [territory.spec(i) for i in view.layers if any(s.id == i for s in territory.specs)]
    legend = legend_html(ref, view.color_by, legend_codes(actors, view.color_by), shown)
    build_actor_layer(actors, ref, view.color_by, name="Acteurs", legend=legend).add_to(base)
    return base.get_root().render()


def measure(n: int, ref, territory, folder: Path) -> dict:
    runs = RUNS[n]
    path = folder / f"actors_{n}.csv"
    path.write_bytes(encode_table(synthetic_table(n)))
    row = {"n": n, "file_mb": path.stat().st_size / 1e6}
    row["load"], directory = median_time(lambda: load_directory(path, ref), runs)
    actors = directory.actors
    search = search_text(actors)
    facets = FacetIndex.build(actors)  # once per directory version, like the search text
    # A typical change: one theme and one modality (about a tenth of the actors stay).
    flt = ActorFilter(themes=("ivg",), modalites=("gratuit",))
    row["filter"], result = median_time(lambda: apply_filter(actors, flt, ref, search=search, facets=facets), runs)
    view = MapView(layers=("qpv", "communes"), basemap="positron")
    row["map"], page = median_time(lambda: our_map(actors, ref, territory, view), runs)
    # The fiches compressed into the page: what a standalone export carries (the app's page asks the server).
    row["fiches"], _ = median_time(lambda: fiche_blob(actors, ref), runs)
    row["map_mb"] = len(page.encode("utf-8")) / 1e6
    # A filter change in the app rebuilds only the actors' layer (the base map is kept).
    row["layer"], group = median_time(lambda: build_actor_layer(result.actors, ref, "type"), runs)
    row["layer_mb"] = sum(len(getattr(child, "payload_json", "")) for child in group._children.values()) / 1e6
    index = ProximityIndex.build(actors)
    rng = np.random.default_rng(3)
    queries = [(rng.uniform(48.9, 49.7), rng.uniform(-0.5, 1.6)) for _ in range(200)]
    times = []
    for lat, lon in queries:
        start = time.perf_counter()
        nearest(index, lat, lon, k=10, radius_m=10_000)
        times.append(time.perf_counter() - start)
    row["nearest_ms"] = statistics.median(times) * 1000
    points = actor_points(actors)
    communes = PreparedLayer.build(territory.layers["communes_normandie"])
    qpv = PreparedLayer.build(territory.layers["qpv"])
    row["cov_communes"], _ = median_time(lambda: coverage_table(communes, points, distance_m=1000), runs)
    row["cov_qpv"], _ = median_time(lambda: coverage_table(qpv, points, distance_m=1000), runs)
    row["naive"], naive_page = median_time(lambda: naive_map(actors, territory.home_bounds), NAIVE_RUNS[n])
    row["naive_mb"] = len(naive_page.encode("utf-8")) / 1e6
    row["ratio"] = row["naive"] / row["map"]
    row["path"] = path
    return row


def main() -> None:
    if "--navigateur" in sys.argv:  # only the browser part, appended to bench/results.md
        lines = browser_section()
        with open(ROOT / "bench" / "results.md", "a", encoding="utf-8") as handle:
            handle.write("\n" + "\n".join(lines) + "\n")
        return
    began = time.perf_counter()
    ref = load_referential(ROOT / "data" / "referentiel.csv")
    territory = load_territory()
    lines = [
        f"# Mesures — Réseaux à l'échelle\n\n{datetime.now():%Y-%m-%d %H:%M} — machine : {describe()}.\n",
        "Annuaires synthétiques (`bench/synthetic.py`, graine fixe) répartis sur les 2 644 communes de "
        "Normandie selon leur population. Médianes de 5 passages (3 à 100 000 ; carte naïve : 3, et 1 "
        "à 100 000).\n",
        "| Acteurs | Fichier | Charger + valider | Filtre | Couche acteurs (changement de filtre, taille) | "
        "Carte de la page | Fiches compressées (export autonome) | Taille HTML | Plus proches | Couverture 2 644 communes | Couverture 16 QPV | "
        "Carte naïve | Taille naïve | Naïve / nous |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for n in SIZES:
            row = measure(n, ref, territory, Path(folder))
            rows.append(row)
            lines.append(
                f"| {n:_} | {row['file_mb']:.1f} Mo | {row['load']:.2f} s | {row['filter'] * 1000:.0f} ms | "
                f"{row['layer'] * 1000:.0f} ms, {row['layer_mb'] * 1000:.0f} ko | {row['map']:.2f} s | {row['fiches']:.2f} s | "
                f"{row['map_mb']:.1f} Mo | "
                f"{row['nearest_ms']:.1f} ms | {row['cov_communes']:.2f} s | {row['cov_qpv'] * 1000:.0f} ms | "
                f"{row['naive']:.1f} s | {row['naive_mb']:.1f} Mo | × {row['ratio']:.0f} |".replace("_", " ")
            )
            print(lines[-1], flush=True)
    lines += ["", *browser_section()]
    lines += ["", f"(`make bench`, `bench/bench_scale.py` : {(time.perf_counter() - began) / 60:.0f} min en tout.)"]
    (ROOT / "bench" / "results.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
