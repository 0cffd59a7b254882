"""The directory's storage at scale: files and PostgreSQL side by side, 100,000 and 1,000,000 actors.

For each size, a synthetic directory (``bench/synthetic.py``, fixed seed) is written as a file;
then, for each backend, a fresh process (so that its memory is its own) opens the store the way
an app process does and measures: the time to load the directory; the median time of
:data:`SAVES` saves, each changing one field of one fiche (the store's ``save`` of the whole table
alone: the working copy is made before the clock starts), then as many of the changed fiche alone
(``save_rows``, what the Annuaire page does), and apart, writing nothing, its two parts that read the
directory in memory (``plan_rows``, ``apply_rows``); its peak resident memory (``VmHWM``); and the
space one more version costs — a dated full copy for the files (plus its journal line); for
PostgreSQL the rows, version and journal lines a save adds (``pg_column_size``, indexes not
counted; the database's own size, which grows by whole pages, is in the raw figures). PostgreSQL is the
Debian server the tests use (``tests/postgres_server.py``: PostgreSQL 15 + PostGIS, default
settings, on loopback), filled by ``python -m reseaux migrer``'s function (its time and memory
are given too).

Run by ``make bench``, or alone: ``python bench/bench_storage.py [--tailles 100000 1000000]``
(13 min for both sizes on 2 cores at load average 9). The figures as measured are also kept in
``bench/out-storage.json``.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.machine import describe
from bench.per_size import bench_main, peak_mb

SIZES = (100_000, 1_000_000)
SAVES = 5
TITLE = "## Stockage : fichiers et PostgreSQL à 100 000 et 1 000 000 acteurs"


def measure(kind: str, where: str) -> dict:
    """In a fresh process: load the directory, save :data:`SAVES` one-field changes, and say
    how long, how much memory, how much space."""
    if kind == "fichiers":
        from reseaux.annuaire.store import DirectoryStore

        store = DirectoryStore(Path(where))
    else:
        from reseaux.stockage.postgres import PostgresDirectoryStore

        store = PostgresDirectoryStore(where)
        store.current_version()  # connected, tables checked: not part of the load
    start = time.perf_counter()
    base = store.load()
    loaded = time.perf_counter() - start
    after_load = peak_mb()
    space_before = _space(kind, where, store)
    database_before = database_bytes(where) if kind != "fichiers" else None
    column = base.table.columns.get_loc("telephone")
    # First what the Annuaire page asks of the store, the changed fiche alone (save_rows; its rows
    # made before the clock): the peak memory of reading and saving fiches is measured here, before
    # the saves of the whole table (an import, a restoration) that follow.
    from reseaux.annuaire.store import apply_rows, plan_rows

    rows_times, plan_times, apply_times = [], [], []
    for n in range(SAVES):
        rows = base.table.iloc[[(n * 104_729 + 13) % len(base.table)]].copy()
        rows.iat[0, column] = f"02 61 98 {n:02d} 00"
        start = time.perf_counter()
        base = store.save_rows(base, rows, "banc")
        rows_times.append(time.perf_counter() - start)
    page_memory = peak_mb()
    times = []
    for n in range(SAVES):
        table = base.table.copy()
        table.iat[(n * 7919) % len(table), column] = f"02 61 99 {n:02d} 00"
        start = time.perf_counter()
        base = store.save(table, base, "banc")
        times.append(time.perf_counter() - start)
    space_after = _space(kind, where, store)
    grown = database_bytes(where) - database_before if kind != "fichiers" else None
    for n in range(SAVES):  # its parts that read the directory in memory, alone (nothing written)
        rows = base.table.iloc[[(n * 7_919 + 29) % len(base.table)]].copy()
        rows.iat[0, column] = f"02 61 97 {n:02d} 00"
        start = time.perf_counter()
        edit = plan_rows(base.table, rows)
        plan_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        apply_rows(base.table, edit)
        apply_times.append(time.perf_counter() - start)
    return {
        "database_growth": grown,
        "load": loaded,
        "save": statistics.median(times),
        "saves": times,
        "save_rows": statistics.median(rows_times),
        "saves_rows": rows_times,
        "plan_rows": statistics.median(plan_times),
        "apply_rows": statistics.median(apply_times),
        "memory_after_load": after_load,
        "memory_page": page_memory,
        "memory": peak_mb(),
        "version_bytes": (space_after - space_before) / (2 * SAVES),
    }


def _space(kind: str, where: str, store) -> int:
    """Bytes the store keeps: the folder of the file (file, backups, journal), or the rows,
    versions and journal lines of the database (``pg_column_size``; indexes and free space not
    counted: the database's own size grows by whole pages, see ``database_bytes``)."""
    if kind == "fichiers":
        folder = Path(where).parent
        return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    import psycopg

    with psycopg.connect(where) as connection:
        return sum(
            connection.execute(f"SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM reseaux.{table} t").fetchone()[0]
            for table in ("directory_rows", "directory_versions", "directory_journal")
        )


def database_bytes(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as connection:
        return connection.execute("SELECT pg_database_size(current_database())").fetchone()[0]


def french(value: float, digits: int = 1) -> str:
    return f"{value:_.{digits}f}".replace("_", "\u202f").replace(".", ",")


def size_text(count: float) -> str:
    return f"{french(count / 1e6)} Mo" if count >= 1e6 else f"{french(count / 1e3)} Ko"


def section(rows: list[dict], when: str, minutes: float, load: float) -> list[str]:
    lines = [
        TITLE,
        "",
        f"{when} — machine : {describe()} ; charge moyenne au départ : {load:.2f} ; durée : {minutes:.1f} min.",
        "",
        "Annuaires synthétiques (`bench/synthetic.py`, graine fixe, communes de Normandie). Chaque "
        "mesure dans un processus neuf : lecture de l'annuaire, puis "
        f"{SAVES} enregistrements changeant chacun un champ d'une fiche, de la seule fiche changée "
        "(`save_rows`, ce que fait la page Annuaire : médiane, plus court et plus long ; dont, mesurés "
        "à part sans rien écrire : retrouver la fiche parmi les identifiants, `plan_rows`, et bâtir la "
        "nouvelle table en mémoire, `apply_rows`), puis autant de toute la table (`save` seul, ce que "
        "font un import, une restauration, un effacement) ; mémoire résidente maximale du processus "
        "(`VmHWM`) après la lecture et les enregistrements de fiches (la part du magasin dans un "
        "processus qui sert la page Annuaire, non la page elle-même : elle valide aussi chaque fiche et "
        "tient la carte), puis à la fin (avec ceux de la table entière) ; place prise par une "
        "version de plus (fichiers : croissance du dossier de l'annuaire, copie datée et journal ; "
        "PostgreSQL : lignes, version et lignes de journal ajoutées, `pg_column_size`, index non "
        "comptés), divisée par le nombre d'enregistrements. PostgreSQL 15 + PostGIS de Debian, "
        "réglages par défaut, sur la même machine, rempli par la migration (`python -m reseaux "
        "migrer`). Objectifs : un enregistrement ≤ 1 s, ≤ 1 Gio par processus.",
        "",
        "| Acteurs | Stockage | Lecture | Enregistrement de la table : médiane (min.–max.) "
        "| Enregistrement de la fiche changée : médiane (min.–max.) | dont `plan_rows` ; `apply_rows` "
        "| Mémoire max. : lecture et fiches ; avec la table entière | Une version de plus | Mise en place |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        size = f"{row['size']:_}".replace("_", "\u202f")
        migration = row["migration"]
        for label, got, setup in (
            ("fichiers", row["files"], f"fichier de {size_text(row['file_bytes'])}"),
            (
                "PostgreSQL",
                row["pg"],
                f"migration {french(migration['seconds'])} s, {french(migration['memory'] / 1024, 2)} Gio",
            ),
        ):
            lines.append(
                f"| {size} | {label} | {french(got['load'])} s | {french(got['save'], 1)} s "
                f"({french(min(got['saves']), 1)}–{french(max(got['saves']), 1)}) | "
                f"{french(got['save_rows'], 2)} s ({french(min(got['saves_rows']), 2)}–"
                f"{french(max(got['saves_rows']), 2)}) | {french(got['plan_rows'], 3)} s ; "
                f"{french(got['apply_rows'], 3)} s | "
                f"{french(got.get('memory_page', got['memory']) / 1024, 2)} Gio ; "
                f"{french(got['memory'] / 1024, 2)} Gio | {size_text(got['version_bytes'])} | {setup} |"
            )
    for row in rows:
        for label, got in (("PostgreSQL", row["pg"]), ("fichiers", row["files"])):
            save = "tenu" if got["save_rows"] <= 1 else "**manqué**"
            page = got.get("memory_page", got["memory"])
            memory = "tenu" if page <= 1024 else "**manqué**"
            whole = "tenu" if got["memory"] <= 1024 else "**manqué**"
            lines.append(
                f"\nÀ {row['size']:_} acteurs, {label} : enregistrement d'une fiche ≤ 1 s {save} "
                f"({french(got['save_rows'], 2)} s ; toute la table : {french(got['save'], 1)} s), "
                f"≤ 1 Gio pour lire et enregistrer des fiches {memory} ({french(page / 1024, 2)} Gio ; avec "
                f"les enregistrements de la table entière, {whole} : {french(got['memory'] / 1024, 2)} Gio).".replace(
                    "_", "\u202f"
                )
            )
    return lines


def main() -> None:
    bench_main(__file__, __doc__, SIZES, measure, section, TITLE, "stockage", "out-storage.json")


if __name__ == "__main__":
    main()
