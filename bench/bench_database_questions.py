"""The nearest partners and a layer's coverage, asked of PostgreSQL or of the directory in memory,
at 100,000 and 1,000,000 actors.

For each size, a synthetic directory (``bench/synthetic.py``, fixed seed) is written as a file and
moved into a PostgreSQL the bench starts (``tests/postgres_server.py``: PostgreSQL 15 + PostGIS,
default settings, on loopback). Then, each in a fresh process (so that its memory is its own), what
``python -m reseaux nearest`` and ``coverage`` do:

- **in memory** (the file, or a database read whole by the map: the same work): the directory read
  and validated, the proximity index built, then the questions;
- **PostgreSQL** (``reseaux.stockage.readings``): the first question, which reads every row once
  for the database (its readings), then the same questions, answered by the database; then one
  fiche saved and the question after it (the saved row alone read again).

The questions: :data:`QUESTIONS` nearest, from points drawn in Normandie (k = 10 within 10 km,
then the same with the theme « IVG », then k = 10 without a radius), medians; the coverage of the
16 QPV of the Métropole and of the 2,644 communes of Normandie (1 km, every actor). Peak resident
memory (``VmHWM``) of the process once the questions are asked (before the save, which reads the
whole table as a page would).

Run by ``make bench``, or alone: ``python bench/bench_database_questions.py [--tailles 100000]``.
The figures as measured are also kept in ``bench/out-database-questions.json``.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.per_size import bench_main, by_backend, french, heading, peak_mb, size_text

SIZES = (100_000, 1_000_000)
QUESTIONS = 20
TITLE = "## Les plus proches et la couverture demandés à PostgreSQL, à 100 000 et 1 000 000 acteurs"
LAYERS = ("qpv", "communes_normandie")


def _origins() -> list[tuple[float, float]]:
    rng = np.random.default_rng(7)
    return [(rng.uniform(48.9, 49.7), rng.uniform(-0.5, 1.6)) for _ in range(QUESTIONS)]


def _median(ask) -> float:
    times = []
    for lat, lon in _origins():
        start = time.perf_counter()
        ask(lat, lon)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


#: « Trouver un partenaire »: its searches from the first :data:`TROUVER_ORIGINS` points, as the page
#: makes them (10 partners within 10 km and, when none, the way on): the theme « IVG »; then one that
#: finds none near, so that the page also asks the nearest beyond, a wider radius and which filter
#: empties the list.
TROUVER_ORIGINS = 5
TROUVER_RADII = (1_000.0, 2_000.0, 5_000.0, 10_000.0, 20_000.0, 50_000.0)


def _trouver_filters():
    from reseaux.analyse.filters import ActorFilter

    return {
        "trouver_ivg": ActorFilter(themes=("ivg",)),
        "trouver_way_on": ActorFilter(themes=("ivg",), modalites=("sans_rdv", "gratuit"), text="planning zzz"),
    }


def _trouver(out: dict, search) -> None:
    """The medians of ``search(lat, lon, flt)`` for each of :func:`_trouver_filters`."""
    for name, flt in _trouver_filters().items():
        times = []
        for lat, lon in _origins()[:TROUVER_ORIGINS]:
            start = time.perf_counter()
            search(lat, lon, flt)
            times.append(time.perf_counter() - start)
        out[name] = statistics.median(times)


def _timed(work) -> tuple[object, float]:
    start = time.perf_counter()
    done = work()
    return done, time.perf_counter() - start


def measure(kind: str, where: str) -> dict:
    from reseaux.analyse.coverage import PreparedLayer
    from reseaux.annuaire.referential import load_referential
    from reseaux.app_data import load_territory, reading_key

    referential = load_referential(ROOT / "data" / "referentiel.csv")
    territory = load_territory()
    layers = {name: PreparedLayer.build(territory.layers[name]) for name in LAYERS}
    out: dict = {}
    if kind == "fichiers":
        from reseaux.analyse.coverage import actor_points, coverage_table
        from reseaux.analyse.filters import FacetIndex, search_text
        from reseaux.analyse.proximity import ProximityIndex, nearest, search
        from reseaux.annuaire.directory import load_directory

        directory, out["read"] = _timed(lambda: load_directory(Path(where), referential))
        index, out["index"] = _timed(lambda: ProximityIndex.build(directory.actors))
        ivg = index.frame["thematiques"].map(lambda t: "ivg" in t).to_numpy()
        out["nearest"] = _median(lambda lat, lon: nearest(index, lat, lon, k=10, radius_m=10_000))
        out["nearest_ivg"] = _median(lambda lat, lon: nearest(index, lat, lon, mask=ivg, k=10, radius_m=10_000))
        out["nearest_anywhere"] = _median(lambda lat, lon: nearest(index, lat, lon, k=10, radius_m=None))
        points = actor_points(directory.actors)
        for name, layer in layers.items():
            _, out[f"coverage_{name}"] = _timed(lambda layer=layer: coverage_table(layer, points, distance_m=1000))
        # As the page: the directory's facet index and search text, kept with it (built once a version).
        every = len(index.frame) == len(directory.actors)  # every actor placed: the index's text is the directory's
        text = index.text if every else search_text(directory.actors)
        whole = {"actors": directory.actors, "facets": FacetIndex.build(directory.actors), "search": text}
        _trouver(
            out,
            lambda lat, lon, flt: search(
                index, lat, lon, flt, referential, radii_m=TROUVER_RADII, commune_epci=territory.commune_epci, **whole
            ),
        )
        out["memory"] = peak_mb()
        return out
    from reseaux.analyse.filters import ActorFilter
    from reseaux.analyse.proximity import search_with
    from reseaux.stockage import readings
    from reseaux.stockage.postgres import PostgresDirectoryStore

    store = PostgresDirectoryStore(where)
    key = reading_key(referential)
    store.current_version()  # connected, tables checked

    def near(lat, lon, **asked):
        return readings.nearest(store, referential, key, lat, lon, **asked)

    ivg_asked = readings.Asked(ActorFilter(themes=("ivg",)))
    (lat0, lon0) = _origins()[0]
    _, out["first"] = _timed(lambda: near(lat0, lon0, k=10))
    out["memory_first"] = peak_mb()
    out["nearest"] = _median(lambda lat, lon: near(lat, lon, k=10, radius_m=10_000))
    out["nearest_ivg"] = _median(lambda lat, lon: near(lat, lon, asked=ivg_asked, k=10, radius_m=10_000))
    out["nearest_anywhere"] = _median(lambda lat, lon: near(lat, lon, k=10, radius_m=None))
    for name, layer in layers.items():
        _, out[f"coverage_{name}"] = _timed(
            lambda layer=layer: readings.coverage(store, referential, key, layer, distance_m=1000)
        )

    def trouver(lat, lon, flt):
        def ask(asked_flt, k, radius_m):
            asked = readings.Asked(asked_flt, commune_epci=territory.commune_epci)
            return readings.nearest(store, referential, key, lat, lon, asked=asked, k=k, radius_m=radius_m, fiches=True)

        return search_with(ask, flt, referential, radii_m=TROUVER_RADII)

    _trouver(out, trouver)
    out["memory"] = peak_mb()  # what asking costs; the save below reads the whole table, as a page would
    # One fiche saved (its row alone, as the Annuaire page saves), then the next question.
    base = store.load()
    row = base.table.iloc[[len(base.table) // 2]].copy()
    row["telephone"] = "02 35 00 00 00"
    store.save_rows(base, row, "banc")
    del base
    _, out["after_save"] = _timed(lambda: near(lat0, lon0, k=10))
    return out


def section(rows: list[dict], when: str, minutes: float, load: float) -> list[str]:
    lines = heading(
        TITLE,
        when,
        minutes,
        load,
        "Annuaires synthétiques (`bench/synthetic.py`, graine fixe, communes de Normandie), chacun écrit en "
        "fichier puis porté dans PostgreSQL 15 + PostGIS de Debian (réglages par défaut, même machine, "
        "`python -m reseaux migrer`). Chaque mesure dans un processus neuf, ce que font `python -m reseaux "
        "nearest` et `coverage`. **En mémoire** : l'annuaire lu et validé (comme une carte le lit, du fichier "
        "ou de la base), l'index des positions bâti, puis les questions. **PostgreSQL** "
        "(`reseaux.stockage.readings`) : la première question, qui fait lire chaque fiche une fois pour la "
        "base, puis les mêmes questions, répondues par la base ; enfin une fiche enregistrée et la question "
        f"suivante (sa seule ligne relue). Les plus proches : {QUESTIONS} points tirés en Normandie, k = 10 "
        "à 10 km, la même avec la thématique « IVG », puis k = 10 sans rayon, médianes ; la couverture des "
        "16 QPV de la Métropole et des 2 644 communes de Normandie à 1 km, tous acteurs ; « Trouver un "
        f"partenaire » comme la page cherche, depuis {TROUVER_ORIGINS} de ces points, médianes : la thématique "
        "« IVG », puis une recherche qui ne trouve personne près (IVG, sans rendez-vous et gratuit, un texte "
        "que nul ne porte), où la page cherche aussi le plus proche au-delà, un rayon plus large et le filtre "
        "qui vide la liste. Mémoire : le plus "
        "haut du processus (`VmHWM`), en Gio, questions faites (avant l'enregistrement de la fiche, qui "
        "lit la table entière comme une page le ferait).",
    )
    lines += [
        "| Acteurs | Où | Avant la première question | Plus proches, 10 km | Avec « IVG » | Sans rayon "
        "| Couverture, 16 QPV | Couverture, 2 644 communes | Trouver, « IVG » | Trouver, personne près "
        "| Question après un enregistrement | Mémoire max. |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    gib = 1024
    for row, label, m in by_backend(rows):
        if label == "fichiers":
            where, before = "en mémoire", f"lecture {french(m['read'], 1)} s, index {french(m['index'], 1)} s"
            after = "relecture de l'annuaire"
        else:
            where, before = "PostgreSQL", f"première question {french(m['first'], 1)} s (chaque fiche lue une fois)"
            after = f"{french(m['after_save'] * 1000, 0)} ms"
        lines.append(
            f"| {size_text(row['size'])} | {where} | {before} | {french(m['nearest'] * 1000, 1)} ms "
            f"| {french(m['nearest_ivg'] * 1000, 1)} ms | {french(m['nearest_anywhere'] * 1000, 1)} ms "
            f"| {french(m['coverage_qpv'], 2)} s | {french(m['coverage_communes_normandie'], 2)} s "
            f"| {_ms(m, 'trouver_ivg')} | {_ms(m, 'trouver_way_on')} | {after} "
            f"| {french(m['memory'] / gib)} Gio |"
        )
    lines.append("")
    for row in rows:
        files, pg = row["files"], row["pg"]
        lines.append(
            f"À {size_text(row['size'])} acteurs : le processus qui demande à la base tient "
            f"{french(pg['memory'] / gib)} Gio au plus haut (dont {french(pg['memory_first'] / gib)} Gio pendant "
            f"la première question), celui qui lit l'annuaire {french(files['memory'] / gib)} Gio ; "
            f"avant sa première réponse, {french(files['read'] + files['index'], 1)} s de lecture contre "
            f"{french(pg['first'], 1)} s la toute première fois pour la base, puis "
            f"{french(pg['nearest'] * 1000, 1)} ms par question."
        )
        lines.append("")
    return lines


def _ms(measured: dict, name: str) -> str:
    """A median in milliseconds; « — » for a run made before it was measured."""
    return f"{french(measured[name] * 1000, 0)} ms" if name in measured else "—"


def main() -> None:
    bench_main(__file__, __doc__, SIZES, measure, section, TITLE, "questions_base", "out-database-questions.json")


if __name__ == "__main__":
    main()
