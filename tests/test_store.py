"""Safe saves: conflicts between sessions, crash mid-write, backups, journal, date_maj."""

import json
import os
from datetime import date

import pandas as pd
import pytest

from reseaux.annuaire.changes import diff, stale, stamp_changes
from reseaux.annuaire.concurrent_edits import rebase
from reseaux.annuaire.store import ConflictError, DirectoryStore
from tests.conftest import DATA


def days_spanned(action):
    """Run action and return its result with the dates it may have stamped.

    A save stamps date_maj with the day it runs; a suite started before midnight
    runs this after it, so the test reads the clock on both sides of the save.
    """
    before = date.today().isoformat()
    result = action()
    return result, {before, date.today().isoformat()}


@pytest.fixture()
def store(tmp_path):
    path = tmp_path / "actors.csv"
    path.write_bytes((DATA / "actors_small.csv").read_bytes())
    return DirectoryStore(path, keep=3)


def edit(table, actor_id, **values):
    out = table.copy()
    for column, value in values.items():
        out.loc[out["id"] == actor_id, column] = value
    return out


def test_save_writes_backs_up_and_journals(store):
    base = store.load()
    saved, today = days_spanned(
        lambda: store.save(edit(base.table, "t1", telephone="02 61 91 00 09"), base, who="Alice")
    )
    again = store.load()
    assert again.version == saved.version
    assert again.table.set_index("id").loc["t1", "telephone"] == "02 61 91 00 09"
    assert again.table.set_index("id").loc["t1", "date_maj"] in today  # every change stamps date_maj
    assert again.table.set_index("id").loc["t2", "date_maj"] == "2024-06-01"  # untouched fiches keep theirs
    assert len(store.list_backups()) == 1
    assert store.list_backups()[0].read_bytes() == (DATA / "actors_small.csv").read_bytes()
    entry = store.read_journal()[-1]
    assert (entry["qui"], entry["type"], entry["id"]) == ("Alice", "modification", "t1")
    assert entry["champs"]["telephone"] == ["02 61 91 00 01", "02 61 91 00 09"]


def test_two_sessions_the_second_save_is_refused_and_nothing_is_lost(store):
    alice = store.load()
    bob = store.load()
    alice_table = edit(alice.table, "t1", telephone="02 61 91 00 11")
    store.save(alice_table, alice, who="Alice")
    bob_table = edit(bob.table, "t2", nom="Centre Santé Élan (renommé)")
    with pytest.raises(ConflictError) as info:
        store.save(bob_table, bob, who="Bob")
    # Bob is told what Alice changed; the file still holds Alice's change.
    assert [c.id for c in info.value.theirs] == ["t1"]
    assert store.load().table.set_index("id").loc["t1", "telephone"] == "02 61 91 00 11"
    # Bob's change replays on Alice's version without conflict, then saves: both changes kept.
    merged, conflicts = rebase(bob.table, bob_table, info.value.current.table)
    assert conflicts == []
    store.save(merged, info.value.current, who="Bob")
    final = store.load().table.set_index("id")
    assert final.loc["t1", "telephone"] == "02 61 91 00 11"
    assert final.loc["t2", "nom"] == "Centre Santé Élan (renommé)"
    assert [e["qui"] for e in store.read_journal()] == ["Alice", "Bob"]


def test_rebase_reports_a_field_changed_on_both_sides(store):
    base = store.load().table
    mine = edit(base, "t1", telephone="A")
    theirs = edit(base, "t1", telephone="B")
    merged, conflicts = rebase(base, mine, theirs)
    assert merged.set_index("id").loc["t1", "telephone"] == "B"
    assert [(c.id, c.column, c.mine, c.theirs) for c in conflicts] == [("t1", "telephone", "A", "B")]


def test_a_crash_mid_write_leaves_the_old_file_whole(store, monkeypatch):
    before = store.path.read_bytes()
    base = store.load()
    real_fsync = os.fsync
    calls = []

    def crash(fd):
        # The first fsync is the backup's; the second is the new file's, halfway written.
        real_fsync(fd)
        calls.append(fd)
        if len(calls) == 2:
            raise OSError("coupure de courant (simulée)")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError):
        store.save(edit(base.table, "t1", nom="X"), base, who="Alice")
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert len(calls) == 2
    assert store.path.read_bytes() == before
    assert not [p for p in store.path.parent.iterdir() if p.name.endswith(".tmp")]
    # The refused save can be made again: the base version is still current.
    store.save(edit(base.table, "t1", nom="X"), base, who="Alice")
    assert store.load().table.set_index("id").loc["t1", "nom"] == "X"


def test_backups_rotate_and_restore(store):
    snapshot = store.load()
    for n in range(5):
        snapshot = store.save(edit(snapshot.table, "t1", nom=f"Nom {n}"), snapshot, who="Alice")
    backups = store.list_backups()
    assert len(backups) == 3  # keep = 3
    oldest_kept = backups[-1]
    restored = store.restore(oldest_kept, snapshot, who="Alice")
    assert store.load().table.set_index("id").loc["t1", "nom"] == "Nom 1"
    assert restored.version == store.load().version
    assert store.read_journal()[-1]["action"].startswith("restauration de ")


def test_a_save_that_changes_nothing_writes_nothing(store):
    """Three geocodings that placed nobody made three identical backups, pushing real ones out of
    ``keep``, and wrote the file again each time."""
    snapshot = store.save(edit(store.load().table, "t1", nom="Vrai changement"), store.load(), who="Alice")
    written, backups, journal = store.path.read_bytes(), store.list_backups(), store.read_journal()
    for _ in range(3):
        again = store.save(snapshot.table.copy(), snapshot, who="géocodage", action="géocodage")
        assert again is snapshot
    assert store.path.read_bytes() == written
    assert store.list_backups() == backups and store.read_journal() == journal


def test_a_change_to_the_first_copy_of_a_repeated_id_is_still_written(tmp_path):
    """The diff sees one fiche per id (its last copy): a save it finds empty is skipped only when
    the file's bytes would not change either."""
    path = tmp_path / "actors.csv"
    path.write_text("id,nom,type\na,A,structure\na,A bis,structure\n", encoding="utf-8")
    store = DirectoryStore(path)
    base = store.load()
    table = base.table.copy()
    table.loc[0, "nom"] = "A corrigé"
    store.save(table, base, who="Alice")
    assert store.load().table["nom"].tolist() == ["A corrigé", "A bis"]


def test_a_restoration_is_written_even_when_it_changes_nothing(store):
    """A restoration is asked for by a person: the current file is backed up and replaced."""
    base = store.load()
    store.save(edit(base.table, "t1", nom="X"), base, who="Alice")
    original = store.list_backups()[0]
    store.restore(original, store.load(), who="Alice")
    backups = len(store.list_backups())
    store.restore(original, store.load(), who="Alice")  # the same content again
    assert len(store.list_backups()) == backups + 1


def test_rows_with_errors_survive_a_save(tmp_path):
    path = tmp_path / "actors.csv"
    path.write_text("id,nom,type,thematiques\na,A,structure,ivg\nb,B,structure,football\n", encoding="utf-8")
    store = DirectoryStore(path)
    base = store.load()
    store.save(edit(base.table, "a", nom="A2"), base, who="Alice")
    assert "football" in path.read_text(encoding="utf-8")


def test_diff_added_removed_modified():
    before = pd.DataFrame({"id": ["a", "b"], "nom": ["A", "B"]})
    after = pd.DataFrame({"id": ["a", "c"], "nom": ["A2", "C"]})
    changes = {(c.kind, c.id) for c in diff(before, after)}
    assert changes == {("modification", "a"), ("ajout", "c"), ("suppression", "b")}


def test_stamp_and_stale():
    before = pd.DataFrame({"id": ["a", "b"], "nom": ["A", "B"], "date_maj": ["2020-01-01", "2026-11-01"]})
    after = before.assign(nom=["A2", "B"])
    stamped = stamp_changes(before, after, today=date(2026, 11, 23))
    assert list(stamped["date_maj"]) == ["2026-11-23", "2026-11-01"]
    old = stale(before, today=date(2026, 11, 23))
    assert list(old["id"]) == ["a"]


def test_a_change_that_gives_its_own_day_keeps_it():
    """A fiche added with its date of update (an imported file's), or whose date the change sets,
    keeps that day; a fiche added without one, with a day that is no date or is after today, or
    edited without touching its date, is dated of the day."""
    before = pd.DataFrame({"id": ["a", "b"], "nom": ["A", "B"], "date_maj": ["2020-01-01", "2020-01-01"]})
    after = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e", "f"],
            "nom": ["A2", "B2", "C", "D", "E", "F"],
            "date_maj": ["2020-01-01", "03/03/2021", "2021-03-03 12:00:01.971072", "", "hier", "2030-01-01"],
        }
    )
    stamped = stamp_changes(before, after, today=date(2026, 11, 23))
    assert list(stamped["date_maj"]) == [
        "2026-11-23",  # edited, its date untouched
        "03/03/2021",  # its date set by the change: kept as written
        "2021-03-03 12:00:01.971072",  # added with a moment of 2021
        "2026-11-23",  # added without a date
        "2026-11-23",  # « hier » is no date
        "2026-11-23",  # after today
    ]
    assert list(stale(stamped, today=date(2026, 11, 23))["id"]) == ["b", "c"]


def test_stale_reads_iso_dates_year_first_and_lists_the_oldest_first():
    # « 2025-12-01 » is 1 December 2025 (not 12 January): eleven months old, not stale.
    table = pd.DataFrame(
        {
            "id": ["dec", "sep", "jan", "fr", "none"],
            "date_maj": ["2025-12-01", "2024-09-01", "2024-01-28", "15/02/2024", ""],
        }
    )
    old = stale(table, days=365, today=date(2026, 11, 1))
    assert list(old["id"]) == ["none", "jan", "fr", "sep"]


def test_stale_lists_every_fiche_of_a_directory_without_any_date():
    # A directory imported without « date_maj » (none is a date): the page's « À mettre à jour »
    # tab failed on it (comparing a column of no dates with a date).
    table = pd.DataFrame({"id": ["a", "b", "c"], "date_maj": ["", "", "pas une date"]})
    assert list(stale(table, today=date(2026, 11, 1))["id"]) == ["a", "b", "c"]
    assert stale(table.iloc[:0], today=date(2026, 11, 1)).empty


def test_journal_is_append_only_json_lines(store):
    base = store.load()
    base = store.save(edit(base.table, "t1", nom="X"), base, who="Alice")
    store.save(edit(base.table, "t2", nom="Y"), base, who="Bob")
    lines = store.journal.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["qui"] for line in lines] == ["Alice", "Bob"]


def test_erasure_holds_the_store_lock_while_another_process_saves(tmp_path):
    """GDPR erasure once read the file outside the lock: with one concurrent writer, 8 of 9 erasures
    failed midway and left the name in the journal. Five erasures while another process saves
    again and again: each succeeds, and the names are gone from the file, backups and journal."""
    import multiprocessing
    import time

    from reseaux.annuaire.privacy import purge_actor
    from reseaux.annuaire.store import ConflictError, DirectoryStore

    path = tmp_path / "actors.csv"
    rows = ["id,nom,type,description,commune"] + [f"p{i},Personne Effacable {i},structure,x,Rouen" for i in range(5)]
    rows += [f"k{i},Structure gardée {i},structure,0,Rouen" for i in range(3)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    stop = multiprocessing.get_context("fork").Event()

    def writer() -> None:
        store = DirectoryStore(path)
        n = 0
        while not stop.is_set():
            base = store.load()
            table = base.table.copy()
            n += 1
            table.loc[table["id"] == "k0", "description"] = str(n)
            try:
                store.save(table, base, who="Autre session")
            except ConflictError:
                continue

    process = multiprocessing.get_context("fork").Process(target=writer)
    process.start()
    try:
        store = DirectoryStore(path)

        def written() -> int:
            return int(store.load().table.set_index("id").loc["k0", "description"])

        for i in range(5):
            seen = written()
            deadline = time.monotonic() + 20
            while written() == seen and time.monotonic() < deadline:  # the writer is at work
                time.sleep(0.01)
            purge_actor(store, f"p{i}", "Coordination")
    finally:
        stop.set()
        process.join(30)
    everything = path.read_text(encoding="utf-8") + store.journal.read_text(encoding="utf-8")
    everything += "".join(b.read_text(encoding="utf-8") for b in store.list_backups())
    assert "Personne Effacable" not in everything
    assert written() >= 5  # the writer saved between the erasures


@pytest.mark.parametrize("fails", ["journal", "replace"])
def test_a_save_that_cannot_be_written_changes_nothing(tmp_path, monkeypatch, fails):
    """A full disk once left the file replaced while the save was reported failed, and a cut line
    in the journal: now the file and its journal line go together or not at all."""
    import errno
    import os

    from reseaux.annuaire import store as store_module
    from reseaux.annuaire.store import DirectoryStore

    path = tmp_path / "actors.csv"
    path.write_text("id,nom,type,commune\na,Centre A (fictif),structure,Rouen\n", encoding="utf-8")
    store = DirectoryStore(path)
    base = store.load()
    first = base.table.copy()
    first.loc[0, "nom"] = "Centre A renommé (fictif)"
    base = store.save(first, base, who="Coordination")  # a journal to keep intact
    before = (path.read_bytes(), store.journal.read_bytes())
    changed = base.table.copy()
    changed.loc[0, "nom"] = "Centre A encore renommé (fictif)"

    def full_disk(*_args, **_kwargs):
        if fails == "journal":  # half a line written, then the disk is full
            with open(store.journal, "a", encoding="utf-8") as handle:
                handle.write('{"quand": "2026-12-03T11:00:00", "qui": "Coord')
        raise OSError(errno.ENOSPC, "No space left on device")

    if fails == "journal":
        monkeypatch.setattr(DirectoryStore, "_log", full_disk)
    else:
        monkeypatch.setattr(store_module.os, "replace", full_disk)
    with pytest.raises(OSError):
        store.save(changed, base, who="Coordination")
    assert (path.read_bytes(), store.journal.read_bytes()) == before
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]  # no temporary file left


def test_the_page_says_a_failed_save_in_french():
    import errno

    from reseaux.ui.annuaire.session import write_failure

    assert "le disque est plein" in write_failure(OSError(errno.ENOSPC, "No space left on device"))
    assert "lecture seule" in write_failure(OSError(errno.EROFS, "Read-only file system"))
    assert "Rien n'a changé" in write_failure(OSError(errno.EIO, "I/O error"))
    assert "le serveur n'a pas le droit d'écrire" in write_failure(PermissionError(errno.EACCES, "Permission denied"))


def test_a_layer_and_a_save_say_a_failed_write_the_same_way():
    import errno

    from reseaux.annuaire.exports import why_not_written
    from reseaux.ui.annuaire.session import write_failure

    for number in (errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EIO):
        assert why_not_written(OSError(number, "x")) in write_failure(OSError(number, "x"))
    assert why_not_written(OSError(errno.EIO, "I/O error")) == "erreur du disque (I/O error)"


def test_a_save_clears_the_temporary_files_a_killed_save_left(tmp_path):
    """kill -9 during a save once left temporary files, one still holding an erased fiche."""
    from reseaux.annuaire.store import DirectoryStore

    path = tmp_path / "actors.csv"
    path.write_text("id,nom,type,commune\na,Centre A (fictif),structure,Rouen\n", encoding="utf-8")
    leftover = tmp_path / ".actors.csv.abc123.tmp"
    leftover.write_text("id,nom\nz,Personne Effacée (fictive)\n", encoding="utf-8")
    other = tmp_path / ".scenes.json.abc.tmp"  # another file's: not this store's business
    other.write_text("{}", encoding="utf-8")
    store = DirectoryStore(path)
    base = store.load()
    changed = base.table.copy()
    changed.loc[0, "nom"] = "Centre A renommé (fictif)"
    store.save(changed, base, who="Coordination")
    assert not leftover.exists() and other.exists()
    assert not list(tmp_path.glob(".actors.csv.*.tmp"))


KILLED_SAVE = """
import os, sys
import pandas as pd
from reseaux.annuaire import store as module

real = os.replace
# The process dies between its journal line and the directory's swap (backups are swapped too).
module.os.replace = lambda src, dst, *rest: os._exit(9) if str(dst) == sys.argv[1] else real(src, dst, *rest)
directory = module.DirectoryStore(module.Path(sys.argv[1]))
base = directory.load()
row = base.table.iloc[[0]].assign(id="tue", nom="Centre jamais enregistré (fictif)")
directory.save(pd.concat([base.table, row], ignore_index=True), base, "processus tué")
"""


def test_the_journal_lines_of_a_save_killed_before_the_swap_are_cut_by_the_next_save(store):
    """kill -9 between the journal line and the file's swap left the journal naming a change the
    file never had; the chaos bench counted one such line in 364."""
    import subprocess
    import sys

    base = store.load()
    store.save(edit(base.table, "t1", nom="Premier (fictif)"), base, "coord")
    killed = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(store.path)], capture_output=True)
    assert killed.returncode == 9
    assert any(e["id"] == "tue" for e in store.read_journal())  # the line of a change that never happened
    assert "tue" not in store.load().table["id"].tolist() and list(store.path.parent.glob(".actors.csv.*.tmp"))

    base = store.load()
    store.save(edit(base.table, "t2", nom="Deuxième (fictif)"), base, "coord")
    journal = store.read_journal()
    assert [e["id"] for e in journal] == ["t1", "t2"] and not any(e["id"] == "tue" for e in journal)
    assert not list(store.path.parent.glob(".actors.csv.*.tmp"))

    # A file changed by hand is no killed save: the journal's last lines stay.
    store.path.write_bytes(store.path.read_bytes() + b"main,Ajout a la main (fictif),structure\n")
    base = store.load()
    store.save(edit(base.table, "t3", nom="Troisième (fictif)"), base, "coord")
    assert [e["id"] for e in store.read_journal()] == ["t1", "t2", "t3"]  # t2 kept


def test_a_diff_among_the_changed_fiches_is_the_whole_diff():
    """A save compares again only the fiches it stamped: the same changes, in the same order, as
    comparing the whole tables — and the whole tables when ids are missing or repeated."""
    import random

    from reseaux.annuaire.changes import diff_among

    rng = random.Random(16)
    base = pd.DataFrame(
        {
            "id": [f"a{i}" for i in range(60)],
            "nom": [f"Centre {i} (fictif)" for i in range(60)],
            "telephone": ["" if i % 3 else f"02 35 00 00 {i:02d}" for i in range(60)],
        }
    )
    for trial in range(30):
        after = base.copy()
        for row in rng.sample(range(60), 5):
            after.loc[row, rng.choice(["nom", "telephone"])] = f"changé {trial}"
        after = after.drop(index=rng.sample(range(60), 3))
        after = pd.concat([after, pd.DataFrame({"id": [f"n{trial}"], "nom": ["Nouveau (fictif)"], "telephone": [""]})])
        if trial % 5 == 0:
            after = after.assign(date_maj="")  # a column the base does not have
        if trial % 7 == 0:
            after.iloc[0, 0] = after.iloc[1, 0]  # a repeated id: the whole tables are compared
        if trial % 11 == 0:
            after.iloc[2, 0] = ""  # a missing id too
        ids = {c.id for c in diff(base, after)}
        assert diff_among(base, after, ids) == diff(base, after), trial
