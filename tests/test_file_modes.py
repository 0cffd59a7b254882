"""Files of people's data are private when the app creates them (0600, folders 0700), and a file
it rewrites keeps its mode: a directory readable by a group stays so after a save."""

from __future__ import annotations

import os
import stat

import pytest

from reseaux.annuaire.exports import private_folder, write_atomic
from reseaux.annuaire.store import DirectoryStore
from tests.conftest import DATA


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def usual_umask():
    """The umask of most servers (022: new files readable by all), whatever the test runner's."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture()
def store(tmp_path):
    path = tmp_path / "data" / "actors.csv"
    path.parent.mkdir()
    path.write_bytes((DATA / "actors_small.csv").read_bytes())
    path.chmod(0o644)
    return DirectoryStore(path)


def save_once(store):
    base = store.load()
    table = base.table.copy()
    table.loc[table["id"] == "t1", "telephone"] = "02 61 91 00 09"
    store.save(table, base, who="Alice")


def test_a_save_creates_a_private_journal_and_backups_and_keeps_the_directory_mode(store):
    save_once(store)
    assert mode(store.path) == 0o644  # it was 0644; a save made it 0600
    assert mode(store.journal) == 0o600
    assert mode(store.backups) == 0o700
    (backup,) = store.list_backups()
    assert mode(backup) == 0o600


@pytest.mark.parametrize("kept", [0o640, 0o600, 0o664])
def test_a_rewritten_file_keeps_its_mode_and_a_new_one_is_private(tmp_path, kept):
    old = tmp_path / "layers.toml"
    old.write_text("a = 1\n")
    old.chmod(kept)
    write_atomic(old, b"a = 2\n")
    assert mode(old) == kept and old.read_bytes() == b"a = 2\n"
    write_atomic(tmp_path / "nouveau.geojson", b"{}")
    assert mode(tmp_path / "nouveau.geojson") == 0o600


def test_the_folder_is_synced_after_the_rename(tmp_path, monkeypatch):
    synced = []
    real = os.fsync

    def fsync(fd):
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    write_atomic(tmp_path / "f.csv", b"x")
    assert synced == [False, True]  # the data, then the folder holding its new name


def test_new_folders_are_private_and_existing_ones_keep_their_mode(tmp_path):
    (tmp_path / "data").mkdir(mode=0o755)
    private_folder(tmp_path / "data" / ".cache" / "annuaire")
    assert mode(tmp_path / "data") == 0o755
    assert mode(tmp_path / "data" / ".cache") == mode(tmp_path / "data" / ".cache" / "annuaire") == 0o700


def test_the_geocoding_cache_is_private(tmp_path):
    from reseaux.territoire.geocode_cache import GeoCache

    cache = GeoCache(tmp_path / "data" / ".cache" / "geocodage.sqlite")
    cache.put_many([("1 rue x|76000|rouen", None)])
    assert mode(cache.path) == 0o600 and mode(cache.path.parent) == 0o700


def test_an_existing_geocoding_cache_is_opened_as_it_is(tmp_path):
    from reseaux.territoire.geocode_cache import GeoCache

    GeoCache(tmp_path / "geocodage.sqlite").put_many([("1 rue x|76000|rouen", None)])
    (tmp_path / "geocodage.sqlite").chmod(0o444)  # a read-only copy: read, never reopened for writing
    assert GeoCache(tmp_path / "geocodage.sqlite").get("1 rue x|76000|rouen") is None
    assert mode(tmp_path / "geocodage.sqlite") == 0o444


def test_an_added_layer_is_private_and_the_registry_keeps_its_mode(tmp_path):
    from tests.test_layer_writes import REGISTRY, add, two_squares

    folder = tmp_path / "geo"
    folder.mkdir()
    two_squares(folder / "a.geojson")
    (folder / "layers.toml").write_text(REGISTRY, encoding="utf-8")
    (folder / "layers.toml").chmod(0o644)
    add(two_squares(tmp_path / "secteurs.geojson"), folder)
    assert mode(folder / "secteurs.geojson") == 0o600 and mode(folder / "layers.toml") == 0o644


def test_the_parsed_directory_cache_is_private(tmp_path, monkeypatch):
    from reseaux import app_data

    monkeypatch.setenv("RESEAUX_GEOCACHE", str(tmp_path / "data" / ".cache" / "geocodage.sqlite"))
    app_data._keep_directory("cle", ("annuaire", "recherche"), still_current=lambda: True)
    folder = tmp_path / "data" / ".cache" / "annuaire"
    assert mode(folder) == mode(folder.parent) == 0o700 and mode(folder / "cle.pickle") == 0o600


def test_a_new_accounts_folder_is_private(tmp_path):
    from reseaux.acces.accounts import AccountStore

    accounts = AccountStore(tmp_path / "config" / "reseaux" / "comptes.json")
    accounts.add("alice", "un mot de passe long", "coordinateur")
    assert mode(accounts.path) == 0o600
    assert mode(tmp_path / "config") == mode(tmp_path / "config" / "reseaux") == 0o700


def test_an_import_into_a_new_folder_makes_it_private_and_keeps_the_backups_setting(tmp_path, monkeypatch, referential):
    """The import made the data folder with mkdir (0755 through the umask) before the store could
    make it 0700, and kept 20 backups whatever the setting said."""
    from reseaux.importation.import_file import import_file

    monkeypatch.setenv("RESEAUX_BACKUPS", "1")
    into = tmp_path / "nouveau" / "actors.csv"
    for n in range(3):
        source = tmp_path / f"partenaire{n}.csv"
        source.write_text(
            f"id,nom,type,commune,latitude,longitude\np{n},Centre {n} (fictif),structure,Rouen,49.44,1.09\n",
            encoding="utf-8",
        )
        assert import_file(source, into, referential, offline=True).saved
    assert mode(into.parent) == 0o700
    assert len(DirectoryStore.configured(into).list_backups()) == 1


def test_the_configured_store_is_the_directory_of_the_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("RESEAUX_ACTORS", str(tmp_path / "annuaire.csv"))
    monkeypatch.setenv("RESEAUX_BACKUPS", "7")
    store = DirectoryStore.configured()
    assert (store.path, store.keep) == (tmp_path / "annuaire.csv", 7)
    assert DirectoryStore.configured(tmp_path / "autre.csv").path == tmp_path / "autre.csv"


def test_a_file_written_aside_has_the_mode_of_the_file_it_will_replace(tmp_path):
    from reseaux.annuaire.exports import write_aside

    old = tmp_path / "actors.csv"
    old.write_bytes(b"id\n")
    old.chmod(0o640)
    aside = write_aside(old, b"id\na\n")
    assert aside.parent == tmp_path and aside.name.startswith(".actors.csv.") and aside.suffix == ".tmp"
    assert (aside.read_bytes(), mode(aside), old.read_bytes()) == (b"id\na\n", 0o640, b"id\n")
    assert mode(write_aside(tmp_path / "nouveau.csv", b"")) == 0o600
