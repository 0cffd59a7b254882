"""The storage contract: every promise the app relies on, kept by both backends.

Each test runs twice: on the files (the embedded default) and on PostgreSQL with PostGIS (a
server the tests start, see tests/postgres_server.py), from the same three fictional fiches.
The right answers are written from the fixture file, not computed by the store under test.
"""

import threading
from datetime import date

import pandas as pd
import pytest

from reseaux.annuaire.changes import diff
from reseaux.annuaire.concurrent_edits import rebase
from reseaux.annuaire.privacy import ERASED, purge_actor
from reseaux.annuaire.store import ConflictError, DirectoryStore, UnaddressableRows, save_changes
from reseaux.stockage.postgres import PostgresDirectoryStore
from tests.conftest import DATA
from tests.test_rebase import cell, edit

SMALL = (DATA / "actors_small.csv").read_bytes()


@pytest.fixture(params=["fichiers", "postgresql"])
def store(request, tmp_path):
    if request.param == "fichiers":
        path = tmp_path / "actors.csv"
        path.write_bytes(SMALL)
        return DirectoryStore(path, keep=50)
    url = request.getfixturevalue("database_url")
    store = PostgresDirectoryStore(url)
    store.replace(SMALL, "essai", "migration")
    return store


def test_a_save_is_read_back_with_its_date_and_journal(store):
    base = store.load()
    assert list(base.table["id"]) == ["t1", "t2", "t3"]
    before = date.today().isoformat()
    saved = store.save(edit(base.table, "t1", telephone="02 61 91 00 09"), base, who="Alice")
    today = {before, date.today().isoformat()}
    again = store.load()
    assert again.version == saved.version == store.current_version() != base.version
    assert cell(again.table, "t1", "telephone") == "02 61 91 00 09"
    assert cell(again.table, "t1", "date_maj") in today
    assert cell(again.table, "t2", "date_maj") == "2024-06-01"
    entry = store.read_journal()[-1]
    assert (entry["qui"], entry["type"], entry["id"]) == ("Alice", "modification", "t1")
    assert entry["champs"]["telephone"] == ["02 61 91 00 01", "02 61 91 00 09"]


def test_a_save_on_an_old_version_is_refused_and_merged_field_by_field(store):
    alice, bob = store.load(), store.load()
    store.save(edit(alice.table, "t1", telephone="02 61 91 00 09"), alice, who="Alice")
    bob_table = edit(bob.table, "t2", commune="Rouen")
    with pytest.raises(ConflictError) as refused:
        store.save(bob_table, bob, who="Bob")
    assert [c.id for c in refused.value.theirs] == ["t1"]
    assert cell(store.load().table, "t2", "commune") == "Le Grand-Quevilly"  # nothing of Bob written
    merged, conflicts = rebase(bob.table, bob_table, refused.value.current.table)
    assert conflicts == []
    store.save(merged, refused.value.current, who="Bob")
    now = store.load().table
    assert cell(now, "t1", "telephone") == "02 61 91 00 09"
    assert cell(now, "t2", "commune") == "Rouen"


def test_a_save_that_changes_nothing_writes_nothing(store):
    base = store.load()
    journal = store.read_journal()
    assert store.save(base.table.copy(), base, who="Alice") is base
    assert store.current_version() == base.version
    assert store.read_journal() == journal


def test_former_versions_read_back_and_restore(store):
    first = store.load()
    second = store.save(edit(first.table, "t1", nom="Camille Deux"), first, who="Alice")
    store.save(edit(second.table, "t1", nom="Camille Trois"), second, who="Alice")
    versions = store.versions()
    assert len(versions) >= 2
    assert cell(store.load_version(versions[0].key).table, "t1", "nom") == "Camille Deux"
    assert cell(store.load_version(versions[1].key).table, "t1", "nom") == "Camille Exemple"
    assert all(v.when is not None for v in versions[:2])
    store.restore_version(versions[1].key, store.load(), who="Bob")
    restored = store.load().table
    pd.testing.assert_frame_equal(restored.astype(str), first.table.astype(str))  # date_maj too: not stamped
    assert store.read_journal()[-1]["action"].startswith("restauration")


def test_every_row_is_kept_in_order_duplicates_and_rows_without_id_included(store):
    base = store.load()
    extra = pd.DataFrame(
        [
            {**base.table.iloc[0].to_dict(), "nom": "Doublon A"},
            {**base.table.iloc[0].to_dict(), "nom": "Doublon A"},
            {**base.table.iloc[1].to_dict(), "id": "", "nom": "Sans identifiant"},
        ]
    )
    table = pd.concat([base.table.iloc[:1], extra, base.table.iloc[1:]], ignore_index=True)
    saved = store.save(table, base, who="Alice")
    # then an edit elsewhere, and a fiche added in the middle
    middle = {**base.table.iloc[2].to_dict(), "id": "t9", "nom": "Nouvelle au milieu"}
    table2 = edit(saved.table, "t3", telephone="02 00 00 00 00")
    table2 = pd.concat([table2.iloc[:2], pd.DataFrame([middle]), table2.iloc[2:]], ignore_index=True)
    store.save(table2, saved, who="Alice")
    now = store.load().table
    assert list(now["nom"]) == [
        "Camille Exemple",
        "Doublon A",
        "Nouvelle au milieu",
        "Doublon A",
        "Sans identifiant",
        "Centre Santé Élan",
        "Maraude Exemple",
    ]
    assert cell(now.iloc[[0, 5, 6]], "t3", "telephone") == "02 00 00 00 00"


def test_a_column_added_by_a_save_is_kept(store):
    base = store.load()
    table = base.table.assign(stationnement="")
    table.loc[table["id"] == "t2", "stationnement"] = "Parking gratuit"
    store.save(table, base, who="Alice")
    now = store.load().table
    assert list(now.columns)[-1] == "stationnement"
    assert cell(now, "t2", "stationnement") == "Parking gratuit"


def test_replace_makes_a_file_current_whatever_the_version(store):
    base = store.load()
    store.save(edit(base.table, "t1", nom="Autre"), base, who="Alice")
    store.replace(SMALL, "Admin", "restauration de archive.tar.gz")
    now = store.load().table
    assert cell(now, "t1", "nom") == "Camille Exemple"
    assert store.read_journal()[-1]["qui"] == "Admin"


def test_an_erasure_reaches_every_version_and_the_journal(store):
    base = store.load()
    second = store.save(edit(base.table, "t1", adresse="9 rue Secrète"), base, who="Alice")
    store.save(edit(second.table, "t2", telephone="02 00 00 00 01"), second, who="Alice")
    report = purge_actor(store, "t1", "Admin")
    assert "t1" not in set(store.load().table["id"])
    for version in store.versions():
        assert "t1" not in set(store.load_version(version.key).table["id"]), version
    for entry in store.read_journal():
        if entry["id"] == "t1":
            assert entry["nom"] == ERASED and entry["champs"] == {}
    assert "9 rue Secrète" not in str(store.read_journal())
    assert report.journal_entries >= 1
    assert cell(store.load().table, "t2", "telephone") == "02 00 00 00 01"
    with pytest.raises(KeyError):
        purge_actor(store, "t1", "Admin")


def test_the_lock_is_reentrant_and_a_save_goes_through_it(store):
    with store.locked(), store.locked():
        base = store.load()
        store.save(edit(base.table, "t3", nom="Maraude verrouillée"), base, who="Alice")
    assert cell(store.load().table, "t3", "nom") == "Maraude verrouillée"


def test_concurrent_savers_never_lose_an_acknowledged_change(store):
    """Four people save at once, each retrying on a refusal with the app's merge: every save the
    store acknowledged is in the final directory."""
    acknowledged: list[tuple[str, str]] = []
    errors: list[BaseException] = []

    def person(n: int) -> None:
        try:
            for k in range(5):
                value = f"0{n} {k:02d} 00 00 00"
                while True:
                    base = store.load()
                    mine = edit(base.table, f"t{1 + n % 3}", **{"telephone": value} if n < 3 else {"email": value})
                    try:
                        store.save(mine, base, who=f"p{n}")
                    except ConflictError:
                        continue
                    acknowledged.append((f"t{1 + n % 3}", value))
                    break
        except BaseException as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=person, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(acknowledged) == 20
    final = store.load().table
    journal = store.read_journal()
    for actor, value in acknowledged:
        assert any(value in str(e["champs"]) for e in journal if e["id"] == actor), (actor, value)
    # The last value each person wrote is there (each writes its own field of its own fiche).
    assert cell(final, "t2", "telephone") == "01 04 00 00 00"
    assert cell(final, "t1", "email") == "03 04 00 00 00"


def test_any_text_a_person_types_is_read_back_as_typed(store):
    """Commas, quotes, line breaks, spaces around, accents, words a reader could take for « no
    value » or a number: each cell read back exactly, by a fresh read of the store."""
    typed = {
        "nom": 'Dr "Camille", sage-femme',
        "description": "Première ligne\nseconde ligne, « guillemets »\r\nfin",
        "adresse": "  2 rue des Espaces  ",
        "telephone": "NA",
        "email": "null",
        "code_postal": "07600",
        "zone_intervention": "=1+1",
    }
    base = store.load()
    store.save(edit(base.table, "t1", **typed), base, who="Alice")
    again = store.load().table
    for column, value in typed.items():
        assert cell(again, "t1", column) == value, column
    assert cell(again, "t2", "profession") == ""


# -- a save of the changed fiches alone (save_rows) --


@pytest.fixture()
def twin(store, tmp_path, request):
    """A second store of the same kind from the same three fiches: ``save`` there, ``save_rows``
    on ``store``, and both must hold the same directory and journal."""
    if isinstance(store, DirectoryStore):
        path = tmp_path / "twin" / "actors.csv"
        path.parent.mkdir()
        path.write_bytes(SMALL)
        yield DirectoryStore(path, keep=50)
        return
    from reseaux.stockage import postgres

    url = request.getfixturevalue("postgres_server").new_database()
    other = PostgresDirectoryStore(url)
    other.replace(SMALL, "essai", "migration")
    yield other
    with postgres._POOLS_LOCK:
        found = postgres._POOLS.pop(url, None)
    if found is not None:
        found.close()


def fiches(table, *ids):
    return table[table["id"].isin(ids)]


def same(table, other):
    """The same cells in the same rows and columns (a table read back holds strings, whatever
    pandas dtype carries them)."""
    pd.testing.assert_frame_equal(table.astype(str), other.astype(str))


def journal_fields(store):
    return [{k: v for k, v in e.items() if k not in ("quand", "version")} for e in store.read_journal()]


def test_a_save_of_rows_gives_what_a_save_of_the_whole_table_gives(store, twin):
    base, other = store.load(), twin.load()
    new = {**base.table.iloc[2].to_dict(), "id": "t9", "nom": "Nouvelle fiche", "date_maj": ""}
    table = edit(base.table, "t1", telephone="02 61 91 00 09")
    table = pd.concat([table[table["id"] != "t2"], pd.DataFrame([new])], ignore_index=True)
    before = date.today().isoformat()
    saved = store.save_rows(base, fiches(table, "t1", "t9"), "Alice", removed=["t2"])
    expected = twin.save(table, other, "Alice")
    today = {before, date.today().isoformat()}
    assert list(saved.table["id"]) == ["t1", "t3", "t9"]
    assert cell(saved.table, "t1", "telephone") == "02 61 91 00 09"
    assert cell(saved.table, "t1", "date_maj") in today and cell(saved.table, "t9", "date_maj") in today
    assert cell(saved.table, "t3", "date_maj") == cell(base.table, "t3", "date_maj")  # not changed, not stamped
    assert saved.version == store.current_version() != base.version
    same(store.load().table, saved.table)
    same(store.load().table, twin.load().table)
    assert [(e["type"], e["id"]) for e in store.read_journal()[-3:]] == [
        ("modification", "t1"),
        ("ajout", "t9"),
        ("suppression", "t2"),
    ]
    assert journal_fields(store) == journal_fields(twin)
    # The snapshot returned is the next base: a second save of rows on it, and the same on the twin.
    again = store.save_rows(saved, fiches(edit(saved.table, "t9", commune="Dieppe"), "t9"), "Bob")
    twin.save(edit(expected.table, "t9", commune="Dieppe"), expected, "Bob")
    same(store.load().table, again.table)
    same(store.load().table, twin.load().table)
    assert journal_fields(store) == journal_fields(twin)


def test_a_save_of_rows_on_an_old_version_is_refused_and_the_replay_saved(store):
    alice, bob = store.load(), store.load()
    store.save_rows(alice, fiches(edit(alice.table, "t1", telephone="02 61 91 00 09"), "t1"), "Alice")
    bob_table = edit(bob.table, "t2", commune="Rouen")
    with pytest.raises(ConflictError) as refused:
        store.save_rows(bob, fiches(bob_table, "t2"), "Bob")
    assert [c.id for c in refused.value.theirs] == ["t1"]
    assert cell(store.load().table, "t2", "commune") == "Le Grand-Quevilly"  # nothing of Bob written
    current = refused.value.current
    merged, conflicts = rebase(bob.table, bob_table, current.table)
    assert conflicts == []
    save_changes(store, current, merged, diff(current.table, merged), "Bob")
    now = store.load().table
    assert cell(now, "t1", "telephone") == "02 61 91 00 09"
    assert cell(now, "t2", "commune") == "Rouen"
    assert [(e["qui"], e["id"]) for e in store.read_journal()[-2:]] == [("Alice", "t1"), ("Bob", "t2")]


def test_a_save_of_unchanged_rows_writes_nothing(store):
    base = store.load()
    journal = store.read_journal()
    assert store.save_rows(base, fiches(base.table.copy(), "t1", "t3"), "Alice", removed=["t8"]) is base
    assert store.current_version() == base.version
    assert store.read_journal() == journal


def test_rows_an_id_cannot_address_are_refused_and_the_whole_table_saved_instead(store):
    base = store.load()
    t1 = fiches(edit(base.table, "t1", nom="Autre"), "t1")
    for rows, removed in (
        (t1.assign(id=""), ()),  # no id
        (pd.concat([t1, t1]), ()),  # twice the same fiche
        (t1, ["t1"]),  # changed and removed
    ):
        with pytest.raises(UnaddressableRows):
            store.save_rows(base, rows, "Alice", removed=removed)
    assert store.current_version() == base.version
    # A directory where t1 is twice: t1 names no one fiche, so save_changes saves the whole table.
    doubled = store.save(pd.concat([base.table, base.table.iloc[:1]], ignore_index=True), base, "Alice")
    with pytest.raises(UnaddressableRows):
        store.save_rows(doubled, fiches(edit(doubled.table, "t1", nom="Autre"), "t1"), "Alice")
    table = edit(doubled.table, "t3", nom="Maraude renommée")
    save_changes(store, doubled, table, diff(doubled.table, table), "Alice")
    assert list(store.load().table["nom"])[2:] == ["Maraude renommée", "Camille Exemple"]


def test_the_versions_saved_by_rows_read_back(store):
    first = store.load()
    second = store.save_rows(first, fiches(edit(first.table, "t1", nom="Camille Deux"), "t1"), "Alice")
    new = {**first.table.iloc[0].to_dict(), "id": "t9", "nom": "Neuve"}
    third = store.save_rows(
        second, pd.DataFrame([{**fiches(second.table, "t1").iloc[0], "nom": "Camille Trois"}, new]), "Alice"
    )
    versions = store.versions()
    assert cell(store.load_version(versions[0].key).table, "t1", "nom") == "Camille Deux"
    assert list(store.load_version(versions[1].key).table["nom"]) == list(first.table["nom"])
    assert list(store.load().table["nom"]) == ["Camille Trois", "Centre Santé Élan", "Maraude Exemple", "Neuve"]
    same(store.load().table, third.table)


def test_a_version_read_is_named_by_its_content_key(store, twin):
    """The key the Annuaire page shares a version by: the same for every reading of a version,
    another once anyone saves (through another store object, as another server would). Files
    are named by their content (the same bytes, the same table); a database's version 1 is not
    another database's version 1."""
    first = store.load()
    assert first.content_key and store.current_content_key() == first.content_key == store.load().content_key
    if isinstance(store, DirectoryStore):
        other = DirectoryStore(store.path)
        assert twin.current_content_key() == first.content_key  # the same three fiches, byte for byte
    else:
        other = PostgresDirectoryStore(store.url)
        assert twin.load().version == first.version and twin.current_content_key() != first.content_key
    base = other.load()
    other.save(edit(base.table, "t1", telephone="02 61 91 00 09"), base, who="Bob")
    assert store.current_content_key() not in ("", first.content_key)
    assert store.load().content_key == store.current_content_key() == other.current_content_key()


def test_the_journal_tail_is_its_last_lines_and_its_count(store, monkeypatch):
    import reseaux.annuaire.store as files

    assert store.journal_tail(5) == (
        len(store.read_journal()),
        store.read_journal()[-5:],
    )  # 0 on files, 3 on PostgreSQL
    before = len(store.read_journal())
    base = store.load()
    for who, phone in (("Alice", "02 61 91 00 07"), ("Bob", "02 61 91 00 08"), ("Chloé", "02 61 91 00 09")):
        base = store.save(edit(base.table, "t1", telephone=phone), base, who=who)
        assert store.journal_tail(1)[1][0]["qui"] == who  # counted after each save: a count kept must follow
    monkeypatch.setattr(files, "JOURNAL_BLOCK", 37)  # a line cut across blocks, read backwards
    count, last = store.journal_tail(2)
    assert count == before + 3
    assert [(e["qui"], e["id"], e["champs"]["telephone"][1]) for e in last] == [
        ("Bob", "t1", "02 61 91 00 08"),
        ("Chloé", "t1", "02 61 91 00 09"),
    ]
    whole = store.read_journal()
    assert store.journal_tail(0) == (count, [])
    assert store.journal_tail(count + 10) == (count, whole) and len(whole) == count


def test_the_columns_empty_in_every_fiche_share_one_array_and_each_is_written_alone(store):
    """A version read holds its columns empty in every fiche as one array of empty strings (0.11 GB
    of the 0.39 of the synthetic million in the Annuaire page): the cells read are the file's, and a
    cell written in one of them, in place or in a copy, leaves the others empty — saved and read
    back as well."""
    import io

    import pandas as pd
    import pyarrow as pa

    from reseaux.text import held_text

    base = store.load()
    read = base.table
    expected = pd.read_csv(io.BytesIO(SMALL), dtype=str, keep_default_na=False)
    assert read[list(expected.columns)].astype(object).equals(expected.astype(object))
    assert all((read[c] == "").all() for c in read.columns if c not in expected)  # the registry's added

    def buffer(name):
        return held_text(read[name].array).chunks[0].buffers()[1].address

    empty = [c for c in read.columns if (read[c] == "").all()]
    filled = [c for c in read.columns if c not in empty]
    assert len(empty) >= 3, empty
    assert len({buffer(c) for c in empty}) == 1 and len({buffer(c) for c in filled}) == len(filled)
    held = pa.total_allocated_bytes()
    copy = read.copy()
    copy.loc[0, empty[0]] = "lundi"
    read.loc[1, empty[1]] = "mardi"  # in place
    assert pa.total_allocated_bytes() - held < 10_000  # only the columns written
    assert list(copy[empty[0]]) == ["lundi", "", ""] and list(read[empty[0]]) == ["", "", ""]
    assert list(read[empty[1]]) == ["", "mardi", ""] and list(copy[empty[1]]) == ["", "", ""]
    assert all((read[c] == "").all() and (copy[c] == "").all() for c in empty[2:])
    store.save(copy, base, who="Alice")
    again = store.load().table
    assert list(again[empty[0]]) == ["lundi", "", ""] and all((again[c] == "").all() for c in empty[1:])
