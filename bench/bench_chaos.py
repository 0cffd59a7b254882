"""Chaos: ``kill -9`` during concurrent saves of the directory.

A directory of :data:`ACTORS` synthetic fiches in a temporary folder; :data:`WORKERS` processes
each loop: read the file, add one fiche with an id of their own (``chaos-<worker>-<n>``), save
through :class:`reseaux.annuaire.store.DirectoryStore` (a conflict — another worker saved in between — is
normal: read again, try again); once ``save`` has returned, the id is written to the worker's
acknowledgement file (flushed and synced): a save the worker was told succeeded. For
:data:`SECONDS`, the parent sends ``SIGKILL`` every 0.05–0.4 s to a random worker among those in
their saving loop (not one still importing its modules) and starts it again (it goes on from its acknowledgement file), and reads the directory file in between
(it must always parse). At the end, one last clean save, then: kills, acknowledged saves, those
missing from the file (lost), reads of the file that failed, journal lines that do not parse,
temporary files left beside the file, conflicts, median save time.

Run by ``make bench``, or alone: ``python bench/bench_chaos.py [--secondes 90]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
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

from bench.machine import describe
from bench.report import replace_section

ACTORS = 2_000
WORKERS = 3
SECONDS = 90
TITLE = "## Chaos : kill -9 pendant des enregistrements concurrents"


def worker(folder: Path, number: int) -> None:
    """Save new fiches forever, acknowledging each one once ``save`` has returned."""
    from reseaux.annuaire.store import ConflictError, DirectoryStore

    store = DirectoryStore(folder / "actors.csv")
    (folder / f"pret-{number}").touch()  # imports done: from now on a kill lands in the saving loop
    acks = folder / f"acquittes-{number}.txt"
    times = folder / f"durees-{number}.txt"
    done = len(acks.read_text().split()) if acks.exists() else 0
    n = done
    while True:
        n += 1
        new_id = f"chaos-{number}-{n}"
        while True:
            base = store.load()
            table = base.table
            row = table.iloc[[n % len(table)]].copy()
            row["id"], row["nom"] = new_id, f"Fiche du chaos {number}-{n} (fictive)"
            start = time.perf_counter()
            try:
                store.save(__import__("pandas").concat([table, row], ignore_index=True), base, f"chaos-{number}")
            except ConflictError:
                with open(folder / f"conflits-{number}.txt", "a") as handle:
                    handle.write("1\n")
                continue
            elapsed = time.perf_counter() - start
            break
        with open(acks, "a") as handle:
            handle.write(new_id + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with open(times, "a") as handle:
            handle.write(f"{elapsed:.4f}\n")


def start(folder: Path, number: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, __file__, "--travailleur", str(number), "--dossier", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def readable(path: Path) -> bool:
    from reseaux.annuaire.directory import DirectoryError
    from reseaux.annuaire.store import snapshot

    try:
        snapshot(path.read_bytes())
        return True
    except (DirectoryError, OSError):
        return False


def section(seconds: float) -> list[str]:
    from bench.synthetic import synthetic_table
    from reseaux.annuaire.store import DirectoryStore, encode_table

    began = time.monotonic()
    load = os.getloadavg()[0]
    rng = random.Random(16)
    with tempfile.TemporaryDirectory(prefix="reseaux-chaos-") as tmp:
        folder = Path(tmp)
        path = folder / "actors.csv"
        path.write_bytes(encode_table(synthetic_table(ACTORS)))
        workers = {i: start(folder, i) for i in range(WORKERS)}
        kills = reads = bad_reads = 0
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                pause = time.monotonic() + rng.uniform(0.05, 0.4)
                while time.monotonic() < pause:
                    reads += 1
                    bad_reads += not readable(path)
                ready_ones = [n for n in range(WORKERS) if (folder / f"pret-{n}").exists()]
                if not ready_ones:  # all three still loading their modules: wait for one
                    continue
                victim = rng.choice(ready_ones)
                ready = folder / f"pret-{victim}"
                workers[victim].send_signal(signal.SIGKILL)
                workers[victim].wait()
                ready.unlink(missing_ok=True)
                kills += 1
                workers[victim] = start(folder, victim)
        finally:
            for process in workers.values():
                process.send_signal(signal.SIGKILL)
                process.wait()
        store = DirectoryStore(path)
        last = store.load()
        store.save(last.table, last, "fin du chaos")  # a clean save clears what killed saves left
        on_file = set(store.load().table["id"].astype(str))
        acknowledged = [
            i
            for n in range(WORKERS)
            if (folder / f"acquittes-{n}.txt").exists()
            for i in (folder / f"acquittes-{n}.txt").read_text().split()
        ]
        lost = [i for i in acknowledged if i not in on_file]
        journal_lines = [line for line in store.journal.read_text(encoding="utf-8").splitlines() if line.strip()]
        bad_lines = phantom = 0
        for line in journal_lines:
            try:
                entry = json.loads(line)
            except ValueError:
                bad_lines += 1
                continue
            phantom += str(entry.get("id", "")).startswith("chaos-") and entry["id"] not in on_file
        temporaries = len(list(folder.glob(".actors.csv.*.tmp")))
        conflicts = sum(
            len((folder / f"conflits-{n}.txt").read_text().split())
            for n in range(WORKERS)
            if (folder / f"conflits-{n}.txt").exists()
        )
        durations = [
            float(x)
            for n in range(WORKERS)
            if (folder / f"durees-{n}.txt").exists()
            for x in (folder / f"durees-{n}.txt").read_text().split()
        ]
        extra = len([i for i in on_file if i.startswith("chaos-")]) - len(acknowledged)
    when = datetime.now().strftime("%Y-%m-%d %H:%M")
    median = f"{1000 * statistics.median(durations):.0f} ms" if durations else "—"
    return [
        TITLE,
        "",
        f"{when} — machine : {describe()} ; charge moyenne au départ : {load:.2f} ; durée : "
        f"{(time.monotonic() - began) / 60:.1f} min.",
        "",
        f"Un annuaire de {ACTORS:_} fiches synthétiques ; {WORKERS} processus enregistrent chacun une fiche "
        f"nouvelle après l'autre par `DirectoryStore.save` (un conflit : relire, recommencer) et notent "
        f"chaque enregistrement acquitté (le `save` a rendu la main) ; pendant {seconds:.0f} s, un `kill -9` "
        "toutes les 0,05 à 0,4 s sur l'un d'eux, aussitôt relancé, et le fichier relu entre deux. "
        "Seul un processus prêt (ses modules chargés, dans sa boucle d'enregistrement) est tué : chaque "
        "`kill -9` tombe pendant des enregistrements. À la fin, un enregistrement propre, puis le "
        "compte.".replace("_", "\u202f"),
        "",
        "| `kill -9` | Enregistrements acquittés | Perdus | Lectures du fichier | Illisibles | "
        "Lignes de journal | Illisibles | D'un enregistrement qui n'a pas eu lieu | Fichiers temporaires restés | Conflits rejoués | "
        "Enregistrés sans acquittement | Durée médiane d'un enregistrement |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {kills} | {len(acknowledged)} | **{len(lost)}** | {reads} | **{bad_reads}** | {len(journal_lines)} | "
        f"**{bad_lines}** | **{phantom}** | **{temporaries}** | {conflicts} | {extra} | {median} |",
        "",
        "« Enregistrés sans acquittement » : tués entre l'écriture et l'acquittement (le fichier les a, "
        "le processus n'a pas pu le noter) — attendu, ce n'est pas une perte.",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secondes", type=float, default=SECONDS)
    parser.add_argument("--travailleur", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dossier", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.travailleur is not None:
        worker(args.dossier, args.travailleur)
        return
    lines = section(args.secondes)
    print("\n".join(lines))
    replace_section(lines, TITLE)


if __name__ == "__main__":
    main()
