"""What bench_storage.py, bench_annuaire_edit.py and bench_map_reread.py share: for each size, a
synthetic directory written as a file and moved into a PostgreSQL the bench starts
(``tests/postgres_server.py``), then each backend measured in a fresh process of the calling
script, so that its memory is its own."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def peak_mb() -> float:
    """This process's peak resident memory so far, in MB: ``VmHWM``, the high-water mark of its
    own memory since it started. Not ``ru_maxrss``: a child started by ``subprocess`` begins with
    its parent's resident memory at the fork as its maximum (a parent holding 1 GB gave every
    child 1 GB at least: the figures of the benches before 2026-12-05 18 h were floored by the
    orchestrating process, 1.3 GB at a million fiches)."""
    try:
        with open("/proc/self/status", encoding="utf-8") as handle:
            return next(int(line.split()[1]) for line in handle if line.startswith("VmHWM")) / 1024
    except (OSError, StopIteration, ValueError):  # not Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def migrate(url: str, path: str) -> dict:
    """In a fresh process: the directory file moved into the database (``python -m reseaux migrer``,
    its check that the database reads back what was written included)."""
    from reseaux.stockage.migrate import migrate as move

    start = time.perf_counter()
    move(url, source=path)
    return {"seconds": time.perf_counter() - start, "memory": peak_mb()}


def child(script: str, *args: str) -> dict:
    """``script`` run with ``args`` in a fresh process: the JSON of its last line."""
    from tests.conftest import clone_path  # here: a measured child imports this module, not pytest

    env = {**os.environ, "PYTHONPATH": clone_path()}
    done = subprocess.run(
        [sys.executable, script, *args], env=env, check=True, capture_output=True, text=True, timeout=7200
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def per_size(script: str, sizes: list[int], name: str) -> list[dict]:
    """For each size: ``script --migrer url path`` (before the files' saves add their copies), then
    ``script --mesure fichiers path`` and ``script --mesure postgresql url``, each in a fresh process.
    Rows of ``size``, ``file_bytes``, ``migration``, ``files`` and ``pg``."""
    from bench.synthetic import synthetic_table
    from reseaux.annuaire.store import encode_table
    from tests.postgres_server import PostgresServer

    rows = []
    with PostgresServer() as server, tempfile.TemporaryDirectory(prefix=f"reseaux-{name}-") as tmp:
        for size in sizes:
            folder = Path(tmp) / str(size)
            folder.mkdir()
            path = folder / "actors.csv"
            path.write_bytes(encode_table(synthetic_table(size)))
            file_bytes = path.stat().st_size
            database = f"banc_{name}_{size}"
            url = server.new_database(database)
            row = {"size": size, "file_bytes": file_bytes, "migration": child(script, "--migrer", url, str(path))}
            print(f"{size} migration : {row['migration']}", flush=True)
            row["files"] = child(script, "--mesure", "fichiers", str(path))
            print(f"{size} fichiers : {row['files']}", flush=True)
            row["pg"] = child(script, "--mesure", "postgresql", url)
            print(f"{size} postgresql : {row['pg']}", flush=True)
            rows.append(row)
            for p in folder.rglob("*"):
                if p.is_file():
                    p.unlink()
            server.sql("postgres", f"DROP DATABASE {database}")
    return rows


def french(value: float, digits: int = 2) -> str:
    """A figure as French writes it: « 0,95 »."""
    return f"{value:.{digits}f}".replace(".", ",")


def size_text(count: float) -> str:
    """A count with its thousands apart: « 1 000 000 »."""
    return f"{count:_.0f}".replace("_", "\u202f")


def by_backend(rows: list[dict]):
    """Each measured row and backend, files first: (row, its label, its figures)."""
    for row in rows:
        for label, key in (("fichiers", "files"), ("PostgreSQL", "pg")):
            yield row, label, row[key]


def heading(title: str, when: str, minutes: float, load: float, method: str) -> list[str]:
    """The first lines of a bench's section: its title, when, on what machine, and how it measures."""
    from bench.machine import describe

    return [
        title,
        "",
        f"{when} — machine : {describe()} ; charge moyenne au départ : {load:.2f} ; durée : {minutes:.1f} min.",
        "",
        method,
        "",
    ]


def bench_main(script: str, doc: str, sizes, measure, section, title: str, name: str, out: str | None = None) -> None:
    """The command line of a bench measured by :func:`per_size`: ``--mesure kind where`` and
    ``--migrer url path`` are its fresh processes; without them, every size measured, its section
    (``section(rows, when, minutes, load)``) printed and put in bench/results.md under ``title``,
    and the rows kept in bench/``out`` when named (``--rapport when minutes load`` then writes the
    section again from them, without measuring)."""
    import argparse
    from datetime import datetime

    from bench.report import replace_section

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--tailles", type=int, nargs="+", default=list(sizes))
    parser.add_argument("--mesure", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--migrer", nargs=2, help=argparse.SUPPRESS)
    if out:
        parser.add_argument("--rapport", nargs=3, help=argparse.SUPPRESS)  # when, minutes, load
    args = parser.parse_args()
    if out and args.rapport:
        rows = json.loads((ROOT / "bench" / out).read_text(encoding="utf-8"))
        lines = section(rows, args.rapport[0], float(args.rapport[1]), float(args.rapport[2]))
        print("\n".join(lines))
        replace_section(lines, title)
        return
    if args.mesure:
        print(json.dumps(measure(*args.mesure)))
        return
    if args.migrer:
        print(json.dumps(migrate(*args.migrer)))
        return
    began, load = time.monotonic(), os.getloadavg()[0]
    rows = per_size(script, args.tailles, name)
    if out:
        (ROOT / "bench" / out).write_text(json.dumps(rows, indent=1), encoding="utf-8")
    when = datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = section(rows, when, (time.monotonic() - began) / 60, load)
    print("\n".join(lines))
    replace_section(lines, title)
