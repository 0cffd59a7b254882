"""The geocode command writes the directory through the store, and the store's
lock gives up after a timeout with a French message.

Geocoding here is offline (town-hall placement from the Normandy commune table): no network.
"""

from __future__ import annotations

import multiprocessing
import os
import stat
import time
from contextlib import contextmanager

import pytest

from reseaux import cli
from reseaux.annuaire.exports import LockTimeout, file_lock
from reseaux.annuaire.store import ConflictError, DirectoryStore
from reseaux.territoire import geocode_file as geocode_module
from reseaux.territoire.geocode_file import geocode_file
from tests.test_geocoding import COMMUNES, write_directory


def app_saves_a_phone(path):
    """What the app does when a coordinator saves a fiche: load, change, save through the store."""
    app = DirectoryStore(path)
    base = app.load()
    table = base.table.copy()
    table.loc[table["id"] == "b", "telephone"] = "02 35 00 00 00"
    app.save(table, base, "Camille (application)")


@pytest.fixture
def directory(tmp_path, monkeypatch):
    monkeypatch.setenv("RESEAUX_GEOCACHE", str(tmp_path / "c.sqlite"))
    monkeypatch.setenv("RESEAUX_COMMUNES", str(COMMUNES))
    path = tmp_path / "actors.csv"
    write_directory(path)
    return path


def test_a_save_made_in_the_app_while_geocoding_is_not_lost(directory):
    calls = []

    def progress(done, total):
        if not calls:  # the command has read the file; a coordinator saves meanwhile
            app_saves_a_phone(directory)
        calls.append(done)

    with pytest.raises(ConflictError):
        geocode_file(
            directory, offline=True, cache_path=directory.parent / "c.sqlite", communes_path=COMMUNES, progress=progress
        )
    after = DirectoryStore(directory).load().table
    assert after.loc[after["id"] == "b", "telephone"].item() == "02 35 00 00 00"
    assert after["latitude"].tolist() == ["", ""]  # the command wrote nothing
    assert [line["qui"] for line in DirectoryStore(directory).read_journal()] == ["Camille (application)"]


def test_the_command_refuses_in_french_and_keeps_the_app_s_save(directory, monkeypatch, capsys):
    real = geocode_module.geocode_records

    def geocode_while_the_app_saves(records, **options):
        app_saves_a_phone(directory)
        return real(records, **options)

    monkeypatch.setattr(geocode_module, "geocode_records", geocode_while_the_app_saves)
    code = cli.main(["geocode", str(directory), "--offline", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert "enregistré par quelqu'un d'autre pendant le géocodage" in err and "Relancez la commande" in err
    assert "02 35 00 00 00" in directory.read_text(encoding="cp1252")


def test_the_command_saves_through_the_store(directory):
    os.chmod(directory, 0o644)
    code = cli.main(["geocode", str(directory), "--offline", "--quiet"])
    assert code == 0
    store = DirectoryStore(directory)
    table = store.load().table
    assert table["geocodage_source"].tolist() == ["commune", "commune"]
    assert table["colonne_perso"].tolist() == ["garder", "moi aussi"]  # unknown column and row with an error kept
    journal = store.read_journal()
    assert {line["qui"] for line in journal} == {"ligne de commande (geocode)"}
    assert {line["action"] for line in journal} == {"géocodage"} and len(journal) == 2
    assert len(store.list_backups()) == 1
    assert stat.S_IMODE(directory.stat().st_mode) == 0o644  # an existing file keeps its mode


def test_geocoding_a_file_with_a_repeated_id_and_a_row_without_one_saves_every_row(directory):
    """The fiches placed are saved alone when their ids name them; here « a » is twice and a row
    has no id, so the whole table is saved, every row placed and kept in its place."""
    with open(directory, "a", encoding="cp1252") as handle:
        handle.write("a;A bis;structure;ivg;2 place du Général de Gaulle;76000;Rouen;;;bis\n")
        handle.write(";Sans id;structure;ivg;4 rue Inconnue;76120;Le Grand-Quevilly;;;sans\n")
    geocode_file(directory, offline=True, cache_path=directory.parent / "c.sqlite", communes_path=COMMUNES)
    table = DirectoryStore(directory).load().table
    assert table["colonne_perso"].tolist() == ["garder", "moi aussi", "bis", "sans"]
    assert table["geocodage_source"].tolist() == ["commune"] * 4


def hold(lock_path, held, release):
    with file_lock(lock_path):
        held.set()
        release.wait(30)


@contextmanager
def stuck_holder(lock_path):
    """Another process holds ``lock_path`` for the block's length; yields when it has it."""
    context = multiprocessing.get_context("spawn")
    held, release = context.Event(), context.Event()
    holder = context.Process(target=hold, args=(lock_path, held, release))
    holder.start()
    try:
        assert held.wait(30)
        yield
    finally:
        release.set()
        holder.join(30)


def test_a_stuck_holder_makes_a_save_fail_in_time_in_french(tmp_path):
    path = tmp_path / "actors.csv"
    write_directory(path)
    before = path.read_bytes()
    store = DirectoryStore(path, lock_timeout=0.5)
    base = store.load()
    table = base.table.copy()
    table.loc[0, "telephone"] = "02 35 00 00 00"

    with stuck_holder(store.lock_path):
        started = time.monotonic()
        with pytest.raises(LockTimeout) as caught:
            store.save(table, base, "Camille")
        assert time.monotonic() - started < 2
    assert "un autre enregistrement est en cours" in str(caught.value)
    assert "réessayez dans un instant" in str(caught.value)
    assert isinstance(caught.value, OSError)  # the app's "Enregistrement impossible" shows it
    assert path.read_bytes() == before and not store.journal.exists() and store.list_backups() == []
    store.save(table, base, "Camille")  # the holder gone, the same save goes through


def test_a_stuck_holder_of_the_accounts_lock_refuses_a_sign_in_in_french_in_time(tmp_path):
    from reseaux.acces.accounts import REFUSED, AccountError, AccountStore
    from tests.conftest import PASSWORD

    store = AccountStore(tmp_path / "accounts.json", lock_timeout=0.5)
    store.add("alice", PASSWORD, "coordinateur")
    before = store.path.read_bytes()
    with stuck_holder(store.lock_path):
        started = time.monotonic()
        with pytest.raises(AccountError) as refused:
            store.authenticate("alice", PASSWORD, delay=False)
        assert str(refused.value) == REFUSED  # the one answer: only an existing name waits for the lock
        assert time.monotonic() - started < 2
    assert store.path.read_bytes() == before  # no failure counted, no lock-out
    assert store.authenticate("alice", PASSWORD, delay=False).name == "alice"
