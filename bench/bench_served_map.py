"""The map beyond what a browser should index: one large synthetic directory drawn both ways, in the
same run as the floor of the stack (bench/bench_browser.py's measures: first marker cold and warm,
bytes received, filter change, server memory).

- **served**: the default, RESEAUX_MAP_SERVER_ABOVE (200,000) below the directory's size: the page
  carries no position, the map asks the server for what is in view;
- **browser index**: RESEAUX_MAP_SERVER_ABOVE above it: the page carries every position, indexed in
  the browser (supercluster), as every map did before;
- **served, on PostgreSQL** (``--postgresql``): served as the first, the directory read from a local
  PostgreSQL with PostGIS that the bench starts (``tests/postgres_server.py``), filled by
  ``python -m reseaux migrer``'s function, ``RESEAUX_DATABASE_URL`` in the app's environment.

Run by ``make bench`` (``--sans-navigateur --postgresql``: the 1,000,000-actor figures the storage
issue asks for, on files and on PostgreSQL; about 20 min on 2 cores), or alone:
``python bench/bench_served_map.py [--taille 1000000] [--passages 3] [--sans-navigateur] [--postgresql]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.bench_browser import ACTORS, RUNS, Target, measure, measure_floor, ratio, section
from bench.synthetic import synthetic_table
from reseaux.annuaire.store import encode_table


def served_section(n: int, runs: int = RUNS, *, compare: bool = True, postgresql: bool = False) -> list[str]:
    """The floor, then ``n`` synthetic actors served, then (``compare``) the same drawn from the
    browser's index, then (``postgresql``) the same served, read from PostgreSQL."""
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    began, when = time.perf_counter(), datetime.now().strftime("%Y-%m-%d %H:%M")
    load = os.getloadavg()[0]
    rows, notes = [], []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        folder = Path(tmp)
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        rows.append(measure_floor(browser, runs))
        started = time.perf_counter()
        path = folder / f"actors_{n}.csv"
        path.write_bytes(encode_table(synthetic_table(n)))
        notes.append(
            f"{n:_} acteurs synthétiques : fichier de {path.stat().st_size / 1e6:.0f} Mo écrit en "
            f"{time.perf_counter() - started:.0f} s".replace("_", " ")
        )
        count = f"{n:_}".replace("_", " ")
        ways = [
            (f"Réseaux, {count} acteurs, demandés au serveur (seuil 200 000)", "200000"),
            (f"Réseaux, {count} acteurs, index du navigateur (seuil {n + 1:_})".replace("_", " "), str(n + 1)),
        ]
        for label, above in ways if compare else ways[:1]:
            cache = folder / f"cache_{above}"
            env = {
                "RESEAUX_ACTORS": str(path),
                "RESEAUX_GEOCACHE": str(cache / "geocodage.sqlite"),
                "RESEAUX_MAP_SERVER_ABOVE": above,
            }
            row = measure(browser, label, env, None, ACTORS, runs=runs, with_filter=True, cache=cache)
            rows.append(row)
            notes.append(f"{label} : mesures en {row.seconds:.0f} s")
            shutil.rmtree(cache, ignore_errors=True)
        if postgresql:
            rows.append(_on_postgresql(browser, path, count, folder, runs, notes))
        browser.close()
    lines = section(
        rows, [], [], [], runs=runs, when=when, load=load, notes=[], minutes=(time.perf_counter() - began) / 60
    )
    lines = lines[: next(i for i, line in enumerate(lines) if line.startswith("Changement de scène"))]
    lines[0] = f"## La carte à {n:_} acteurs : demandée au serveur ou indexée par le navigateur".replace("_", " ")
    names = ["Serveur, fichiers" if postgresql else "Serveur", *(["Navigateur"] if compare else [])]
    drawn = list(zip([*names, "Serveur, PostgreSQL"], rows[1:], strict=False))
    targets = [
        Target(f"{label}, premier marqueur chaud", "≤ × 2", ratio(row.median("warm"), rows[0].median("warm")), 2, "×")
        for label, row in drawn
    ] + [Target(f"{label}, changement de filtre", "≤ 1 s", row.median("filters"), 1, "s") for label, row in drawn]
    targets += [
        Target(f"{label}, mémoire du serveur (pic)", "≤ 1 Go", row.memory, 1, "Go")
        for label, row in drawn
        if row.memory is not None
    ]
    lines += ["| Objectif | Visé | Mesuré | |", "|---|---|---|---|"]
    lines += [f"| {t.what} | {t.wanted} | {t.measured()} | {t.verdict()} |" for t in targets]
    failed = [row for row in rows if row.error]
    if failed:
        lines += ["", *[f"Incident — {row.label} : {row.error}." for row in failed]]
    return [*lines, "", "Notes : " + " ; ".join(notes) + "."]


def _on_postgresql(browser, path: Path, count: str, folder: Path, runs: int, notes: list[str]):
    """The directory at ``path`` moved into a PostgreSQL the bench starts, then drawn served (the
    default threshold) by an app that reads it there."""
    from reseaux.stockage.migrate import migrate
    from tests.postgres_server import PostgresServer

    label = f"Réseaux, {count} acteurs, demandés au serveur (seuil 200 000), annuaire dans PostgreSQL"
    with PostgresServer() as server:
        url = server.new_database("carte")
        started = time.perf_counter()
        migrate(url, source=str(path))
        notes.append(f"PostgreSQL 15 + PostGIS local rempli par la migration en {time.perf_counter() - started:.0f} s")
        cache = folder / "cache_postgresql"
        env = {
            "RESEAUX_DATABASE_URL": url,
            "RESEAUX_GEOCACHE": str(cache / "geocodage.sqlite"),
            "RESEAUX_MAP_SERVER_ABOVE": "200000",
        }
        row = measure(browser, label, env, None, ACTORS, runs=runs, with_filter=True, cache=cache)
        notes.append(f"{label} : mesures en {row.seconds:.0f} s")
        shutil.rmtree(cache, ignore_errors=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--taille", type=int, default=1_000_000, help="acteurs synthétiques")
    parser.add_argument("--passages", type=int, default=RUNS, help="démarrages du serveur par carte")
    parser.add_argument("--sans-navigateur", action="store_true", help="sans la carte indexée par le navigateur")
    parser.add_argument("--postgresql", action="store_true", help="la carte servie aussi, l'annuaire dans PostgreSQL")
    args = parser.parse_args()
    section = served_section(args.taille, args.passages, compare=not args.sans_navigateur, postgresql=args.postgresql)
    print("\n".join(section), flush=True)
    print(f"charge moyenne à la fin : {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
