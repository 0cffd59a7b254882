"""« Trouver un partenaire » in Chromium, its server on the files or on PostgreSQL, at 100,000 and
1,000,000 actors: the time to the first card and the server's memory, beside the stack's floor.

For each size, a synthetic directory (``bench/synthetic.py``, fixed seed) is written as a file and
moved into a PostgreSQL the bench starts (``tests/postgres_server.py``) with
``python -m reseaux migrer --vers postgresql://…`` (which reads each fiche for the database). Then
servers (``serve.py``) are started, each alone, and a professional opens the page with her search
in its address (a point in Rouen, « IVG », 10 km), in a fresh browser context:

- **files**: a first server with its parse cache empty (the directory read and validated), then a
  second one, the directory read back from that cache; the page reads the directory and builds
  its proximity index before it answers;
- **PostgreSQL**: two servers, each new: the page asks the database (the directory is not read).

For each server: the first visit (« froid »), then a second one (« chaud »), from navigation to the
first card; the server's peak resident memory (``VmHWM``) and what it holds at the end
(``VmRSS``). The floor: Streamlit + streamlit-folium drawing one marker (``bench/floor_app.py``),
to its first marker, as in ``bench/bench_browser.py``.

Run by ``make bench``, or alone: ``python bench/bench_trouver_page.py [--tailles 100000]``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.bench_browser import local_page, measure_floor, status_gb
from bench.per_size import french, heading, size_text

SIZES = (100_000, 1_000_000)
TITLE = "## « Trouver un partenaire » dans le navigateur, sur les fichiers et sur PostgreSQL"
#: The professional's search, as a link gives it: Rouen, « IVG », 10 partners within 10 km.
SEARCH = "/trouver?lat=49.4431&lon=1.0993&theme=ivg&rayon=10"
FIRST_CARD = re.compile(r"partenaires? les? plus proches?")
TIMEOUT_MS = 1_200_000
SERVERS = 2


def visit(browser, url: str) -> float:
    """Seconds from navigation to the first card of the search."""
    page = local_page(browser)
    try:
        start = time.perf_counter()
        page.goto(url + SEARCH, timeout=TIMEOUT_MS)
        page.get_by_text(FIRST_CARD).first.wait_for(timeout=TIMEOUT_MS)
        return time.perf_counter() - start
    finally:
        page.close()


def serve(browser, env: dict) -> dict:
    """One server started alone: its cold and warm visits, its peak and final memory (GiB)."""
    from tests.conftest import ServedApp

    with ServedApp(env) as app:
        cold = visit(browser, app.url)
        warm = visit(browser, app.url)
        return {
            "cold": cold,
            "warm": warm,
            "peak": status_gb(app.process.pid, "VmHWM"),
            "held": status_gb(app.process.pid, "VmRSS"),
        }


def measure_size(browser, size: int, server, folder: Path) -> dict:
    from bench.synthetic import synthetic_table
    from reseaux.annuaire.store import encode_table

    path = folder / f"actors_{size}.csv"
    started = time.perf_counter()
    path.write_bytes(encode_table(synthetic_table(size)))
    made = time.perf_counter() - started
    url = server.new_database(f"banc_trouver_{size}")
    cache = folder / f"cache_{size}"
    env = {"RESEAUX_ACTORS": str(path), "RESEAUX_GEOCACHE": str(cache / "geocodage.sqlite")}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "reseaux", "migrer", "--vers", url, "--depuis", str(path)],
        env={**os.environ, **env, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"},
        check=True,
        capture_output=True,
        timeout=7200,
        cwd=ROOT,
    )
    moved = time.perf_counter() - started
    row = {"size": size, "written": made, "migrated": moved, "files": [], "pg": []}
    for _ in range(SERVERS):
        row["files"].append(serve(browser, env))
        print(f"{size} fichiers : {row['files'][-1]}", flush=True)
    for _ in range(SERVERS):
        row["pg"].append(serve(browser, {**env, "RESEAUX_DATABASE_URL": url}))
        print(f"{size} postgresql : {row['pg'][-1]}", flush=True)
    path.unlink(missing_ok=True)
    server.sql("postgres", f"DROP DATABASE banc_trouver_{size}")
    return row


def section(rows: list[dict], floor, when: str, minutes: float, load: float) -> list[str]:
    lines = heading(
        TITLE,
        when,
        minutes,
        load,
        "Annuaires synthétiques (`bench/synthetic.py`, graine fixe), écrits en fichier puis portés dans "
        "PostgreSQL 15 + PostGIS (`python -m reseaux migrer --vers postgresql://…`, qui lit chaque fiche pour "
        "la base). Une professionnelle ouvre la page avec sa recherche dans l'adresse (un point de Rouen, "
        "« IVG », 10 km), Chromium headless, contexte neuf. Chaque serveur démarré seul ; « froid » : sa "
        "première visite, « chaud » : la deuxième, de la navigation à la première carte de partenaire. "
        f"Fichiers : le premier serveur sans cache de lecture (l'annuaire lu et validé), le second le relit "
        f"de ce cache ; PostgreSQL : {SERVERS} serveurs neufs. Mémoire : le plus haut du serveur (`VmHWM`) et "
        "ce qu'il tient à la fin (`VmRSS`), en Gio. Plancher : Streamlit + streamlit-folium, un marqueur "
        "(`bench/floor_app.py`), à son premier marqueur.",
    )
    f_cold, f_warm = floor.median("cold"), floor.median("warm")
    lines += [
        f"Plancher : premier marqueur froid {french(f_cold)} s, chaud {french(f_warm)} s "
        f"(médianes de {len(floor.warm)} démarrages).",
        "",
        "| Acteurs | Serveur | Première carte, froid | Première carte, chaud | Mémoire max. | Mémoire tenue |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        for label, key in (("fichiers", "files"), ("PostgreSQL", "pg")):
            for i, run in enumerate(row[key]):
                what = (
                    ("sans cache de lecture" if i == 0 else "cache de lecture chaud")
                    if key == "files"
                    else f"neuf ({i + 1})"
                )
                lines.append(
                    f"| {size_text(row['size'])} | {label}, {what} | {french(run['cold'])} s "
                    f"(× {french(run['cold'] / f_cold)}) | {french(run['warm'])} s (× {french(run['warm'] / f_warm)}) "
                    f"| {french(run['peak'])} Gio | {french(run['held'])} Gio |"
                )
    lines.append("")
    for row in rows:
        files_warm = statistics.median(r["warm"] for r in row["files"])
        pg_warm = statistics.median(r["warm"] for r in row["pg"])
        lines.append(
            f"À {size_text(row['size'])} acteurs : fichier écrit en {french(row['written'], 0)} s, porté dans la "
            f"base et lu pour elle en {french(row['migrated'], 0)} s ; première carte chaude "
            f"{french(files_warm)} s sur les fichiers, {french(pg_warm)} s sur PostgreSQL."
        )
        lines.append("")
    return lines


def main() -> None:
    from playwright.sync_api import sync_playwright

    from bench.report import replace_section
    from tests.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.postgres_server import PostgresServer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tailles", type=int, nargs="+", default=list(SIZES))
    args = parser.parse_args()
    began, when, load = time.perf_counter(), datetime.now().strftime("%Y-%m-%d %H:%M"), os.getloadavg()[0]
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="reseaux-trouver-") as tmp,
        PostgresServer() as server,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        floor = measure_floor(browser, 3)
        for size in args.tailles:
            rows.append(measure_size(browser, size, server, Path(tmp)))
        browser.close()
    lines = section(rows, floor, when, (time.perf_counter() - began) / 60, load)
    print("\n".join(lines))
    replace_section(lines, TITLE)


if __name__ == "__main__":
    main()
