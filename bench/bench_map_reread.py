"""The map after a save: reading the new version of the directory, on files and on PostgreSQL.

A save changes one fiche of a million; every server's map then reads the new version at its next
page (its version changed, so did the parse cache's key). For each size (100,000 and 1,000,000
synthetic fiches, ``bench/synthetic.py``, fixed seed) and each backend, a fresh process reads the
directory as the map does (``app_data.load_actors``, an empty parse cache: the whole validation),
then :data:`SAVES` times: one fiche's telephone changed and saved through the store
(``save_changes``, as the Annuaire page saves), the page's tables let go, then the map's reading
of the new version timed, the previous one held (as the server's cache holds it). Its memory is
the process's peak during that reading alone (``VmHWM`` set back before it, ``/proc/self/clear_refs``).

The truth of what it reads is tested elsewhere (``tests/test_reread.py``: the same directory as a
whole reading); here, each reading is also checked to hold the saved telephone.

Run by ``make bench``, or alone: ``python bench/bench_map_reread.py [--tailles 100000 1000000]``.
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.machine import describe
from bench.per_size import bench_main, peak_mb

SIZES = (100_000, 1_000_000)
SAVES = 3
TITLE = "## La carte après un enregistrement : relire la nouvelle version de l'annuaire"


def _peak_from_now() -> None:
    """Set this process's memory high-water mark back to what it holds now (Linux)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")
    except OSError:
        pass


def measure(kind: str, where: str) -> dict:
    """In a fresh process: the map's whole reading, then :data:`SAVES` saves each followed by its reading."""
    os.environ["RESEAUX_GEOCACHE"] = str(Path(tempfile.mkdtemp(prefix="reseaux-banc-")) / "geocodage.sqlite")
    from reseaux.annuaire.changes import diff_among
    from reseaux.annuaire.store import save_changes
    from reseaux.app_data import load_actors, load_referential_file

    if kind == "fichiers":
        from reseaux.annuaire.store import DirectoryStore

        store = DirectoryStore(Path(where))

        def read():
            return load_actors(Path(where), referential)
    else:
        os.environ["RESEAUX_DATABASE_URL"] = where
        from reseaux.stockage import DatabaseDirectory
        from reseaux.stockage.postgres import PostgresDirectoryStore

        store = PostgresDirectoryStore(where)

        def read():
            return load_actors(None, referential, database=DatabaseDirectory())

    referential = load_referential_file()
    start = time.perf_counter()
    shown = read()
    first = time.perf_counter() - start
    first_memory = peak_mb()
    after, memory = [], []
    for n in range(SAVES):
        base = store.load()
        table = base.table.copy()
        row = (n * 104_729 + 4_321) % len(table)
        actor = str(table.at[row, "id"])
        phone = f"02 61 97 {n:02d} 00"
        table.loc[row, "telephone"] = phone
        save_changes(store, base, table, diff_among(base.table, table, {actor}), "banc")
        del base, table
        gc.collect()
        _peak_from_now()
        start = time.perf_counter()
        shown = read()
        after.append(time.perf_counter() - start)
        memory.append(peak_mb())
        actors = shown.directory.actors
        assert actors.loc[actors["id"] == actor, "telephone"].tolist() == [phone], actor
    return {
        "first": first,
        "first_memory": first_memory,
        "after": after,
        "median": statistics.median(after),
        "memory": max(memory),
        "count": len(shown.directory.actors),
    }


def french(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}".replace(".", ",")


def size_text(count: float) -> str:
    return f"{count:_.0f}".replace("_", "\u202f")


def section(rows: list[dict], when: str, minutes: float, load: float) -> list[str]:
    lines = [
        TITLE,
        "",
        f"{when} — machine : {describe()} ; charge moyenne au départ : {load:.2f} ; durée : {minutes:.1f} min.",
        "",
        "Annuaires synthétiques (`bench/synthetic.py`, graine fixe). Dans un processus neuf : la lecture "
        "de l'annuaire par la carte (`load_actors`, cache de lecture vide : toutes les fiches validées), "
        f"puis {SAVES} fois : le téléphone d'une fiche changé et enregistré par le magasin "
        "(`save_changes`, comme la page Annuaire), puis la lecture de la nouvelle version par la carte, "
        "l'ancienne tenue en mémoire comme le cache du serveur la tient : les lignes inchangées sont "
        "reprises, seules les autres validées (`validation.validate_rows`, vérifié contre une lecture "
        "entière par `tests/test_reread.py`). Secondes, médiane ; mémoire : le plus haut du processus "
        "pendant cette lecture (l'ancienne version comprise).",
        "",
        "| Acteurs | Stockage | Lecture entière | Lecture après un enregistrement | Rapport | Mémoire max. "
        "pendant la relecture |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        for label, got in (("fichiers", row["files"]), ("PostgreSQL", row["pg"])):
            lines.append(
                f"| {size_text(row['size'])} | {label} | {french(got['first'])} s | "
                f"**{french(got['median'])} s** ({', '.join(french(t) for t in got['after'])}) | "
                f"÷ {french(got['first'] / got['median'])} | {french(got['memory'] / 1024, 2)} Gio |"
            )
    return lines


def main() -> None:
    bench_main(__file__, __doc__, SIZES, measure, section, TITLE, "relecture")


if __name__ == "__main__":
    main()
