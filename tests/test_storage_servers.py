"""Two servers, one database: app processes sharing a PostgreSQL directory.

Each « server » is a separate OS process (tests/storage_driver.py) with its own store and its own
connections, as two machines behind one database would be. The first test has them take turns:
a save through one is read by the other at its next load. The second is the chaos test: savers
edit fiches concurrently while the test ``kill -9``'s them (and starts them again) and ends
their database connections with ``pg_terminate_backend``; every change a saver was told was
saved must be in the final directory — or replaced by a later saved change of the same field —
and in the journal at the version the save returned. Both print their figures (``pytest -s``).
"""

from __future__ import annotations

import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from reseaux.stockage.postgres import PostgresDirectoryStore
from tests.conftest import DATA, clone_path

DRIVER = Path(__file__).with_name("storage_driver.py")
SMALL = (DATA / "actors_small.csv").read_bytes()
#: The chaos test's length, its savers and its directory (few fiches: savers meet often).
CHAOS_SECONDS = 30
SAVERS = 3
FICHES = 12


def driver(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": clone_path()}
    return subprocess.Popen([sys.executable, str(DRIVER), *args], env=env, **kwargs)


class Server:
    """One app process answering load and save requests (``storage_driver.py serve``)."""

    def __init__(self, url: str) -> None:
        self.process = driver("serve", url, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.pid = json.loads(self.process.stdout.readline())["ready"]

    def ask(self, **request) -> dict:
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def test_a_save_through_one_server_is_read_through_the_other_at_its_next_load(database_url):
    PostgresDirectoryStore(database_url).replace(SMALL, "essai", "migration")
    one, two = Server(database_url), Server(database_url)
    assert one.pid != two.pid != os.getpid()
    saves, reads = [], []
    try:
        one.ask(op="load", id="t1", column="telephone")
        seen = two.ask(op="load", id="t1", column="telephone")
        assert seen["value"] == "02 61 91 00 01"  # the fixture file's
        for turn in range(10):
            writer, reader = (one, two) if turn % 2 == 0 else (two, one)
            value = f"02 61 91 10 {turn:02d}"
            writer.ask(op="load", id="t1", column="telephone")
            saved = writer.ask(op="save", id="t1", column="telephone", value=value)
            read = reader.ask(op="load", id="t1", column="telephone")
            assert (read["value"], read["version"]) == (value, saved["version"]), turn
            saves.append(saved["seconds"])
            reads.append(read["seconds"])
        # The other server saved since this one read: refused, nothing of it written.
        one.ask(op="load", id="t2", column="commune")
        two.ask(op="load", id="t2", column="commune")
        two.ask(op="save", id="t2", column="commune", value="Rouen")
        refused = one.ask(op="save", id="t2", column="commune", value="Elbeuf")
        assert refused["conflict"] == ["t2"]
        assert two.ask(op="load", id="t2", column="commune")["value"] == "Rouen"
    finally:
        one.stop()
        two.stop()
    print(
        f"\nDeux serveurs, une base : 10 enregistrements alternés, chacun lu par l'autre serveur à sa "
        f"lecture suivante ; enregistrement médian {1000 * statistics.median(saves):.0f} ms, lecture "
        f"médiane {1000 * statistics.median(reads):.0f} ms ; un enregistrement sur une version "
        "dépassée refusé."
    )


def chaos_directory() -> bytes:
    """The fixture's three fiches and nine more like them: ``c01`` … ``c12``."""
    header, *rows = SMALL.decode().splitlines()
    lines = [header]
    for n in range(FICHES):
        _, rest = rows[n % 3].split(",", 1)
        lines.append(f"c{n + 1:02d},{rest}")
    return ("\n".join(lines) + "\n").encode()


def enough(began: float, kills: int, acknowledged_bytes: int, merges: int) -> bool:
    """Chaos lasts :data:`CHAOS_SECONDS`, longer (up to twice) on a busy machine until it has
    killed five savers, they have acknowledged some 60 saves (about 50 bytes each) and replayed
    five refusals."""
    spent = time.monotonic() - began
    busy = kills < 5 or acknowledged_bytes < 3_000 or merges < 5
    return spent >= 2 * CHAOS_SECONDS or (spent >= CHAOS_SECONDS and not busy)


def saver_backends(admin) -> list[tuple[int, str]]:
    return admin.execute(
        "SELECT pid, state FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'chaos-%'"
    ).fetchall()


def test_chaos_kill_9_and_ended_connections_lose_no_acknowledged_change(database_url, tmp_path):
    store = PostgresDirectoryStore(database_url)
    store.replace(chaos_directory(), "essai", "migration")
    first = int(store.current_version())
    rng = random.Random(26)

    def start(number: int) -> subprocess.Popen:
        url = f"{database_url}?application_name=chaos-{number}"
        with open(tmp_path / f"erreurs-{number}.txt", "a") as errors:
            return driver("save", url, str(tmp_path), str(number), stderr=errors)

    def acknowledged(number: int) -> int:
        path = tmp_path / f"acquittes-{number}.jsonl"
        return path.stat().st_size if path.exists() else 0

    def merges() -> int:
        return sum(p.read_text().count("fusion") for p in tmp_path.glob("comptes-*.txt"))

    savers = {n: start(n) for n in range(SAVERS)}
    at_start = dict.fromkeys(savers, 0)  # a saver is killed once it has saved since it started
    kills = ended = ended_in_transaction = stopped = 0
    began = time.monotonic()
    next_kill = began + rng.uniform(1.0, 3.0)
    with psycopg.connect(database_url, autocommit=True) as admin:
        try:
            while not enough(began, kills, sum(acknowledged(n) for n in savers), merges()):
                time.sleep(rng.uniform(0.1, 0.5))  # chaos's own rhythm: nothing is waited for here
                backends = saver_backends(admin)
                if backends:
                    pid, state = rng.choice(backends)
                    if admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]:
                        ended += 1
                        ended_in_transaction += state != "idle"
                for number, process in savers.items():
                    if process.poll() is not None:  # a saver that stopped by itself: counted, said below
                        stopped += 1
                        savers[number] = start(number)
                saving = [n for n in savers if acknowledged(n) > at_start[n]]
                if time.monotonic() >= next_kill and saving:
                    victim = rng.choice(saving)
                    savers[victim].send_signal(signal.SIGKILL)
                    savers[victim].wait()
                    kills += 1
                    at_start[victim] = acknowledged(victim)
                    savers[victim] = start(victim)
                    next_kill = time.monotonic() + rng.uniform(1.5, 4.0)
        finally:
            for process in savers.values():
                process.send_signal(signal.SIGKILL)
                process.wait()

    final = PostgresDirectoryStore(database_url).load().table
    acks = [json.loads(line) for path in tmp_path.glob("acquittes-*.jsonl") for line in path.read_text().splitlines()]
    counts = [line for path in tmp_path.glob("comptes-*.txt") for line in path.read_text().splitlines()]
    journal = [e for e in store.read_journal() if e["qui"].startswith("chaos-")]
    written: dict[str, tuple[int, str, str]] = {}  # each value saved: its version, fiche and field
    latest: dict[tuple[str, str], tuple[int, str]] = {}  # each field: its last saved value
    for entry in journal:
        for column, (_, value) in entry["champs"].items():
            if column in ("telephone", "email", "adresse"):
                written[value] = (int(entry["version"]), entry["id"], column)
                latest[(entry["id"], column)] = max(
                    latest.get((entry["id"], column), (0, "")), (int(entry["version"]), value)
                )
    lost, superseded = [], 0
    for version, actor_id, column, value, already in acks:
        found = written.get(value)
        in_journal = found is not None and found[1:] == (actor_id, column)
        in_journal = in_journal and (found[0] <= int(version) if already else found[0] == int(version))
        now = final.loc[final["id"] == actor_id, column].iloc[0]
        kept = now == value or latest[(actor_id, column)][0] > found[0] if in_journal else False
        superseded += kept and now != value
        if not (in_journal and kept):
            lost.append((version, actor_id, column, value, now))
    # The directory and its journal agree: each field holds the last value the journal gives it.
    disagree = [
        (actor_id, column, value)
        for (actor_id, column), (_, value) in latest.items()
        if final.loc[final["id"] == actor_id, column].iloc[0] != value
    ]
    with psycopg.connect(database_url) as check:
        versions = [v for (v,) in check.execute("SELECT version FROM reseaux.directory_versions ORDER BY version")]
    assert versions == list(range(1, versions[-1] + 1))  # no hole, no version twice
    assert sorted(final["id"]) == [f"c{n + 1:02d}" for n in range(FICHES)]
    merged = [line for line in counts if line.startswith("fusion")]
    figures = (
        f"\nChaos sur PostgreSQL ({time.monotonic() - began:.0f} s, {SAVERS} processus, {FICHES} fiches) : "
        f"{len({a[3].rsplit('-', 1)[0] for a in acks})} enregistrements acquittés ({len(acks)} champs), "
        f"{versions[-1] - first} versions écrites, {len(merged)} refus rejoués par la fusion "
        f"({sum(int(line.split()[1]) for line in merged)} champs en conflit gardés par leur auteur·ice), "
        f"{superseded} valeurs remplacées depuis par une autre, {kills} kill -9, {ended} connexions "
        f"terminées ({ended_in_transaction} en pleine requête ou transaction), "
        f"{counts.count('coupure')} coupures vues par les processus (dont "
        f"{len({a[3].rsplit('-', 1)[0] for a in acks if a[4]})} enregistrements faits malgré la coupure, "
        f"retrouvés à l'essai suivant), changements perdus : {len(lost)}, "
        f"champs où l'annuaire et le journal diffèrent : {len(disagree)}"
    )
    print(figures)
    assert lost == [], lost[:5]
    errors = "".join(path.read_text() for path in tmp_path.glob("erreurs-*.txt"))
    assert stopped == 0 and "Traceback" not in errors, errors[-3000:]  # the pool's warnings may be there
    assert disagree == [], disagree[:5]
    assert kills >= 3 and ended >= 10 and len(acks) >= 20 and merged, figures  # the chaos did happen
