"""A map server on PostgreSQL reads a new version as its changes: the rows a save wrote (and the
rows it could not take back), by their keys, not the whole directory again (at a million fiches,
the database wrote and the server parsed 0.2 GB of CSV after every save). The truth it is held to
is the whole reading of the same version, as the database writes it, with no previous reading:
every actor, dtype, row kept aside, issue, line and search text must be the same."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from reseaux import app_data
from reseaux.analyse.filters import search_text
from reseaux.annuaire import validation
from reseaux.annuaire.directory import load_directory
from reseaux.stockage import DatabaseDirectory, postgres, stored_directory
from reseaux.stockage.postgres import PostgresDirectoryStore
from reseaux.territoire import france
from tests.test_import_real import FILES as REAL_FILES
from tests.test_import_real import imported
from tests.test_reread import _bytes, _edit, _rows, _same, _text_bytes


@pytest.fixture()
def database(database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("RESEAUX_DATABASE_URL", database_url)
    monkeypatch.setenv("RESEAUX_GEOCACHE", str(tmp_path / "cache" / "geocodage.sqlite"))
    app_data.forget_last_read()
    yield PostgresDirectoryStore(database_url)
    app_data.forget_last_read()


def _shown(referential):
    """What a map server on the database reads (its loader, as ``ui.loading`` calls it)."""
    return app_data.load_actors(None, referential, database=DatabaseDirectory())


def _whole(referential):
    """The current version read whole, with nothing before it (the truth)."""
    file, _ = stored_directory()
    with file:
        whole = load_directory(file, referential)
    france.fill_communes(whole.actors)
    return whole


def _count_validated(monkeypatch) -> list[int]:
    validated: list[int] = []
    real = validation._RowValidator.validate
    monkeypatch.setattr(
        validation._RowValidator, "validate", lambda self, raw, line: validated.append(line) or real(self, raw, line)
    )
    return validated


def _count_changes(monkeypatch) -> list[object]:
    """What each reading as changes got from the database (None: read whole)."""
    answers: list[object] = []
    real = PostgresDirectoryStore.changes_since

    def counted(self, mark, again, most):
        found = real(self, mark, again, most)
        answers.append(found)
        return found

    monkeypatch.setattr(PostgresDirectoryStore, "changes_since", counted)
    return answers


@pytest.mark.parametrize("seed", range(6))
def test_a_version_read_as_its_changes_is_its_whole_reading(database, referential, monkeypatch, seed):
    """Versions made by random edits (cells, rows dropped, copied, moved, blank, ids taken, dates),
    each saved through the store and read by the server from the one before: the same answer as
    the whole reading, and the database was asked only for the changes."""
    rng = random.Random(seed)
    rows = _rows()
    database.replace(_bytes(rows), "coord", "import")
    _shown(referential)
    answers = _count_changes(monkeypatch)
    for _ in range(6):
        done = [_edit(rows, rng) for _ in range(rng.randint(1, 4))]
        database.replace(_bytes(rows), "coord", "modification")
        shown = _shown(referential)
        whole = _whole(referential)
        _same(shown.directory, whole)
        pd.testing.assert_series_equal(shown.search, search_text(whole.actors))
        assert len(whole.actors) and len(whole.rejected), done
    read_as_changes = [a for a in answers if a is not None]
    assert read_as_changes  # the edits that leave no identifier taken before a row taken back
    for found in read_as_changes:  # a few rows, never the directory
        assert len(found.keys) < len(found.mark.keys) / 2


def test_only_the_saved_fiche_is_read_and_validated(database, referential, monkeypatch):
    """A save of one fiche through the Annuaire's path (``save_rows``): the server asks the database
    for that row and the rows it kept aside or must read again, validates them alone, and shows
    the new telephone."""
    from reseaux.annuaire.changes import diff_among
    from reseaux.annuaire.store import save_changes

    rows = _rows()
    database.replace(_bytes(rows), "coord", "import")
    before = _shown(referential)
    base = database.load()
    table = base.table.copy()
    row = int(np.flatnonzero(table["id"] == "demo-004")[0])
    table.loc[row, "telephone"] = "02 35 99 88 77"
    save_changes(database, base, table, diff_among(base.table, table, {"demo-004"}), "coord")
    validated = _count_validated(monkeypatch)
    answers = _count_changes(monkeypatch)
    shown = _shown(referential)
    # Validated again: the saved fiche, the rows kept aside, the rows with a warning on a date
    # (tomorrow it may not be one) and the row whose cell holds the joining character.
    was = before.directory
    dated = {i.line for i in was.issues if i.column == "date_maj"} - set(was.rejected["ligne"])
    joined = set(was.actors.loc[was.actors["nom"].str.contains("\x1f"), "ligne"])
    assert sorted(validated) == sorted({row + 2, *was.rejected["ligne"], *dated, *joined})
    assert len(dated) == 2 and len(joined) == 1
    assert answers[0] is not None and len(answers[0].keys) == len(validated)  # (the database keeps no blank row)
    assert shown.directory.actors.set_index("id").at["demo-004", "telephone"] == "02 35 99 88 77"
    _same(shown.directory, _whole(referential))


def test_an_identifier_a_changed_row_takes_first_reads_the_version_whole(database, referential, monkeypatch):
    """A changed row now holds, before it, the identifier of a row taken back: that row is kept
    aside, which needs its cells: the server reads the whole version, and shows what it holds."""
    rows = _rows()
    database.replace(_bytes(rows), "coord", "import")
    _shown(referential)
    header = rows[0]
    rows[3][header.index("id")] = rows[40][header.index("id")]  # an earlier row takes a later one's id
    database.replace(_bytes(rows), "coord", "modification")
    shown = _shown(referential)
    whole = _whole(referential)
    _same(shown.directory, whole)
    taken = rows[40][header.index("id")]
    assert (whole.rejected["id"] == taken).sum() == 1  # the later row, kept aside


@pytest.mark.parametrize("change", ["columns", "replaced", "many"])
def test_what_cannot_be_read_as_changes_is_read_whole(database, referential, monkeypatch, change, postgres_server):
    """Other columns, a database whose history was replaced (a migration numbers its versions
    again), more changed rows than a tenth of the directory: the version is read whole."""
    rows = _rows()
    database.replace(_bytes(rows), "coord", "import")
    _shown(referential)
    if change == "columns":
        rows = [[*row, "x" if i else "colonne_en_plus"] if row else row for i, row in enumerate(rows)]
    elif change == "replaced":  # the history numbered again, other rows under the same keys
        with database.importing(replace=True):
            pass
        rows[5][rows[0].index("telephone")] = "02 35 12 12 12"
        database.replace(_bytes(rows), "coord", "import")  # version 1 again, row 5 other than it was
        rows[6][rows[0].index("telephone")] = "02 35 12 12 13"
        database.replace(_bytes(rows), "coord", "modification")  # version 2: row 6 alone since 1
    else:
        monkeypatch.setattr(app_data, "CHANGES_AT_MOST", 0)
        for row in rows[1:60]:
            if row:
                row[rows[0].index("telephone")] = "02 35 13 13 13"
    if change != "replaced":
        database.replace(_bytes(rows), "coord", "modification")
    answers = _count_changes(monkeypatch)
    shown = _shown(referential)
    assert answers == [None]
    _same(shown.directory, _whole(referential))


def test_the_reading_of_a_version_read_as_its_changes_is_kept_for_the_next_start(database, referential, monkeypatch):
    """The parse cache keeps each version the server read, by the database's version: a server
    starting after the save reads it back without validating a row, nor having the database
    write the directory out."""
    rows = _rows()
    database.replace(_bytes(rows), "coord", "import")
    _shown(referential)
    rows[9][rows[0].index("nom")] = "Centre Zéphyrin (fictif)"
    database.replace(_bytes(rows), "coord", "modification")
    shown = _shown(referential)
    app_data.forget_last_read()  # a new process
    validated = _count_validated(monkeypatch)
    whole = []
    real = PostgresDirectoryStore.marked_csv_file
    monkeypatch.setattr(PostgresDirectoryStore, "marked_csv_file", lambda self: whole.append(1) or real(self))
    again = _shown(referential)
    assert validated == [] and whole == []
    _same(again.directory, shown.directory)
    assert again.search.str.startswith("centre zephyrin fictif").sum() == 1


def _count_keys(monkeypatch) -> list[str]:
    """The readings of row keys the database is asked for (by their condition)."""
    asked: list[str] = []
    real = postgres._row_keys
    monkeypatch.setattr(postgres, "_row_keys", lambda c, where, a: asked.append(where) or real(c, where, a))
    return asked


def test_a_server_starting_on_a_version_read_nowhere_reads_its_keys_once(database, referential, monkeypatch):
    """No reading of the version is kept: the server asks for the version alone, then has the
    database write it out with its row keys: the keys are read once (8 MB and 0.3 s at a million
    fiches), and the next version is still read as its changes."""
    rows = _rows()
    database.replace(_bytes(rows), "coord", "import")
    asked = _count_keys(monkeypatch)
    _shown(referential)
    assert asked == ["valid_to IS NULL"]
    rows[9][rows[0].index("nom")] = "Centre Zéphyrin (fictif)"
    database.replace(_bytes(rows), "coord", "modification")
    answers = _count_changes(monkeypatch)
    _same(_shown(referential).directory, _whole(referential))
    assert answers[0] is not None


def test_a_save_between_finding_the_reading_kept_and_its_keys_reads_the_new_version(database, referential, monkeypatch):
    """A server starting finds the reading of version 1 kept; before it has the keys, a save makes
    version 2: it reads version 2, taking back the rows of the kept reading, not version 1 with the
    keys of version 2."""
    rows = _rows()
    database.replace(_bytes(rows), "coord", "import")
    _shown(referential)  # kept for the next start
    app_data.forget_last_read()  # a new process
    rows[9][rows[0].index("nom")] = "Centre Zéphyrin (fictif)"
    real = PostgresDirectoryStore.mark

    def saved_meanwhile(self, *, with_keys=True):
        if with_keys:
            database.replace(_bytes(rows), "coord", "modification")
        return real(self, with_keys=with_keys)

    monkeypatch.setattr(PostgresDirectoryStore, "mark", saved_meanwhile)
    validated = _count_validated(monkeypatch)
    shown = _shown(referential)
    assert 9 in validated and len(validated) < len(rows) // 2  # the kept rows taken back
    _same(shown.directory, _whole(referential))
    assert shown.search.str.startswith("centre zephyrin fictif").sum() == 1


def test_an_erasure_through_one_server_leaves_no_reading_with_her_on_another(
    database, referential, monkeypatch, tmp_path
):
    """Two servers on one database, each with its own disk: an erasure through the first empties
    its parse cache; the second, at its next reading (the erasure's version), lets go of the
    readings of the versions before it, her fiche in them, and shows the directory without her."""
    from reseaux.annuaire.privacy import erase

    rows = _rows()
    database.replace(_bytes(rows), "coord", "import")
    name = rows[4][rows[0].index("nom")]
    her = rows[4][rows[0].index("id")]
    other = tmp_path / "serveur_b"
    monkeypatch.setenv("RESEAUX_GEOCACHE", str(other / "geocodage.sqlite"))
    assert her in set(_shown(referential).directory.actors["id"])  # server B read the version with her
    rows[8][rows[0].index("telephone")] = "02 35 44 44 44"
    database.replace(_bytes(rows), "coord", "modification")
    _shown(referential)  # and the next one, read as its changes
    kept_b = other / "annuaire"
    assert len(list(kept_b.glob("*.pickle"))) == 1 and name.encode() in next(kept_b.glob("*.pickle")).read_bytes()

    monkeypatch.setenv("RESEAUX_GEOCACHE", str(tmp_path / "serveur_a" / "geocodage.sqlite"))
    erase(her, "admin")  # through server A

    monkeypatch.setenv("RESEAUX_GEOCACHE", str(other / "geocodage.sqlite"))
    shown = _shown(referential)  # server B's next click
    assert her not in set(shown.directory.actors["id"])
    left = list(kept_b.glob("*.pickle"))
    assert len(left) == 1 and all(name.encode() not in found.read_bytes() for found in left)
    assert name.encode() not in _text_bytes(shown.directory.actors) + _text_bytes(shown.search.to_frame())
    _same(shown.directory, _whole(referential))


def _buffers(column: pd.Series) -> set[int]:
    return {b.address for c in column.array._pa_array.chunks for b in c.buffers() if b is not None}


def test_a_saved_fiche_leaves_the_text_of_the_others_where_it_was(database, referential, tmp_path):
    """After a save of one fiche, the text of the new reading is slices of the previous one's (at
    a million fiches a copy was 0.3 GB beside the reading held), and the reading kept on the disk
    writes the shared text once, not once per slice."""
    rows = _rows()
    database.replace(_bytes(rows), "coord", "import")
    before = _shown(referential)
    kept = tmp_path / "cache" / "annuaire"
    size_before = sum(p.stat().st_size for p in kept.glob("*.pickle"))
    rows[9][rows[0].index("telephone")] = "02 35 99 88 77"
    database.replace(_bytes(rows), "coord", "modification")
    after = _shown(referential)
    _same(after.directory, _whole(referential))
    for name in ("nom", "adresse", "telephone"):
        assert _buffers(before.directory.actors[name]) <= _buffers(after.directory.actors[name]), name
    size_after = sum(p.stat().st_size for p in kept.glob("*.pickle"))
    assert size_after < size_before * 1.2, (size_before, size_after)
    app_data.forget_last_read()  # a new process: the kept reading read back
    _same(_shown(referential).directory, after.directory)


@pytest.mark.parametrize("name", [name for name, _, _ in REAL_FILES])
def test_a_real_public_file_read_as_its_changes_is_its_whole_reading(database, referential, monkeypatch, name):
    """Files from publishers (tests/data/real), imported as a person imports them, then in the
    database: a telephone changed (the text of the other fiches shared with the reading before),
    then a fiche removed and another renamed (the text copied, without them); each version read
    as its changes is the whole reading of the same version."""
    table = imported(name, constants={"type": "structure"})
    rows = [list(table.columns), *table.astype(str).values.tolist()]
    database.replace(_bytes(rows), "coord", "import")
    before = _shown(referential)
    assert len(before.directory.actors) >= 100
    phone, nom = rows[0].index("telephone"), rows[0].index("nom")
    rows[5][phone] = "02 35 00 00 05"
    database.replace(_bytes(rows), "coord", "modification")
    after = _shown(referential)
    _same(after.directory, _whole(referential))
    assert _buffers(before.directory.actors["nom"]) <= _buffers(after.directory.actors["nom"])

    def alone(at: int) -> bool:  # a name no other cell holds
        return rows[at][nom] != "" and not any(rows[at][nom] in c for r in rows[1:] if r is not rows[at] for c in r)

    gone_at = next(at for at in range(9, len(rows)) if alone(at))
    renamed_at = next(at for at in range(gone_at + 1, len(rows)) if alone(at) and rows[at].count(rows[at][nom]) == 1)
    gone, renamed = rows[gone_at][nom], rows[renamed_at][nom]
    rows[renamed_at][nom] = "Structure renommée (fictif)"
    del rows[gone_at]
    database.replace(_bytes(rows), "coord", "modification")
    answers = _count_changes(monkeypatch)
    last = _shown(referential)
    assert answers[0] is not None  # read as its changes, not whole
    _same(last.directory, _whole(referential))
    held = _text_bytes(last.directory.actors)
    assert gone.encode() not in held and renamed.encode() not in held
