"""An app process as far as the storage sees it, for tests/test_storage_servers.py: a separate OS
process with its own :class:`~reseaux.stockage.postgres.PostgresDirectoryStore` (its own pool of
connections) on the database both processes share.

Two ways to run it (``python tests/storage_driver.py …``, the checkout's ``src`` on ``PYTHONPATH``):

- ``serve URL``: a server that answers one JSON request per line on stdin, one JSON answer per line
  on stdout — ``{"op": "load", "id": …, "column": …}`` reads the directory as a page would at a
  click (``version``, ``value``, ``seconds``) and keeps it as the session's base;
  ``{"op": "save", "id": …, "column": …, "value": …}`` saves that one change on the base it
  read last (``version``, or ``conflict``: the other server saved in between).
- ``save URL FOLDER NUMBER``: a person saving fiche after fiche for ever, taking up to 0.5 s to
  edit what she read (others save meanwhile). Each save changes one or two fields (``telephone``, ``email``, ``adresse``) of random fiches to values no one else
  writes; a refusal is replayed with the app's merge (:func:`~reseaux.annuaire.concurrent_edits.rebase`
  on ``ConflictError.current``, the person keeping their own value where both changed the same
  field); a lost connection is retried on the same base. Only once ``save()`` has returned is
  the change written, with the version the save returned, to ``acquittes-NUMBER.jsonl`` (flushed
  and synced): an acknowledged change.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path

FIELDS = ("telephone", "email", "adresse")


def edit(table, changes: list[tuple[str, str, str]]):
    out = table.copy()
    for actor_id, column, value in changes:
        out.loc[out["id"] == actor_id, column] = value
    return out


def cell(table, actor_id: str, column: str) -> str:
    return str(table.loc[table["id"] == actor_id, column].iloc[0])


def serve(url: str) -> None:
    from reseaux.annuaire.store import ConflictError
    from reseaux.stockage.postgres import PostgresDirectoryStore

    store = PostgresDirectoryStore(url)
    base = None
    print(json.dumps({"ready": os.getpid()}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        start = time.perf_counter()
        if request["op"] == "load":
            base = store.load()
            answer = {"version": base.version, "value": cell(base.table, request["id"], request["column"])}
        else:
            try:
                saved = store.save(
                    edit(base.table, [(request["id"], request["column"], request["value"])]),
                    base,
                    f"serveur-{os.getpid()}",
                )
                answer = {"version": saved.version}
                base = saved
            except ConflictError as refused:
                answer = {"conflict": [c.id for c in refused.theirs], "version": refused.current.version}
        answer["seconds"] = time.perf_counter() - start
        print(json.dumps(answer), flush=True)


def save_forever(url: str, folder: Path, number: int) -> None:
    import psycopg

    from reseaux.annuaire.concurrent_edits import rebase, resolve
    from reseaux.annuaire.store import ConflictError
    from reseaux.stockage import StorageUnavailable
    from reseaux.stockage.postgres import PostgresDirectoryStore

    store = PostgresDirectoryStore(url)
    rng = random.Random()
    with (
        open(folder / f"acquittes-{number}.jsonl", "a", encoding="utf-8") as acks,
        open(folder / f"comptes-{number}.txt", "a", encoding="utf-8") as counts,
    ):
        ids = list(_load(store, counts).table["id"])
        n = 0
        while True:
            n += 1
            picked = rng.sample(ids, rng.choice((1, 1, 2)))
            changes = [(i, rng.choice(FIELDS), f"{number}-{os.getpid()}-{n}-{k}") for k, i in enumerate(picked)]
            base = _load(store, counts)
            mine = edit(base.table, changes)
            time.sleep(rng.uniform(0, 0.5))  # the person edits the fiche: others save meanwhile
            while True:
                try:
                    saved = store.save(mine, base, f"chaos-{number}")
                    break
                except ConflictError as refused:
                    merged, conflicts = rebase(base.table, mine, refused.current.table)
                    if conflicts:  # both changed the same field: the person keeps their value
                        merged = resolve(merged, [(c, True) for c in conflicts])
                    counts.write(f"fusion {len(conflicts)}\n")
                    base, mine = refused.current, merged
                except (StorageUnavailable, psycopg.Error):  # connection ended under the save: again, same base
                    counts.write("coupure\n")
            already = saved.version == base.version  # the change was there already (a save whose answer was cut)
            for actor_id, column, value in changes:
                acks.write(json.dumps([saved.version, actor_id, column, value, already]) + "\n")
            acks.flush()
            os.fsync(acks.fileno())
            counts.flush()


def _load(store, counts):
    import psycopg

    from reseaux.stockage import StorageUnavailable

    while True:
        try:
            return store.load()
        except (StorageUnavailable, psycopg.Error):
            counts.write("coupure\n")


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2])
    else:
        save_forever(sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]))
