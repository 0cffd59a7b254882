"""``python -m reseaux migrer``: the directory from its files to PostgreSQL and back, nothing lost.

The directory moved is tests/data/actors_small.csv after two saves through the files' store (so
two dated backups and two journal lines); every comparison reads the files with pandas itself,
not with the code under test. The database is a real PostgreSQL with PostGIS the tests start
(tests/postgres_server.py).
"""

import json
import os
import socket
import subprocess
import sys

import pandas as pd
import pytest

from reseaux.annuaire.referential import load_referential
from reseaux.annuaire.store import DirectoryStore
from reseaux.app_data import reading_key
from reseaux.cli import main
from reseaux.stockage import readings
from reseaux.stockage.postgres import PostgresDirectoryStore, redacted
from tests.conftest import DATA, ROOT, clone_path

SMALL = (DATA / "actors_small.csv").read_bytes()


def csv_table(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def frame(table: pd.DataFrame) -> pd.DataFrame:
    return table.fillna("").astype(str).reset_index(drop=True)


def assert_same_directory(table: pd.DataFrame, path) -> None:
    """``table`` holds the file at ``path`` cell for cell; a column the file lacks (the app reads
    every column of the registry, an older file has fewer) is empty."""
    file = csv_table(path)
    table = frame(table)
    assert set(file.columns) <= set(table.columns)
    pd.testing.assert_frame_equal(table[list(file.columns)], file)
    assert (table.drop(columns=list(file.columns)) == "").all().all()


def edit(table, actor_id, **values):
    out = table.copy()
    for column, value in values.items():
        out.loc[out["id"] == actor_id, column] = value
    return out


@pytest.fixture()
def directory(tmp_path):
    """actors_small.csv, then Alice's save (t1's phone), then Bruno's (t2's e-mail): two backups."""
    path = tmp_path / "avant" / "actors.csv"
    path.parent.mkdir()
    path.write_bytes(SMALL)
    store = DirectoryStore(path, keep=50)
    base = store.load()
    base = store.save(edit(base.table, "t1", telephone="02 61 91 00 09"), base, who="Alice")
    store.save(edit(base.table, "t2", email="elan@example.org"), base, who="Bruno")
    assert len(store.list_backups()) == 2
    return store


def run(*argv, capsys):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def journal_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_files_to_postgresql_and_back_loses_nothing(directory, database_url, tmp_path, capsys):
    backups = sorted(directory.list_backups())  # oldest first
    # Files → PostgreSQL, as a person types it.
    done = subprocess.run(
        [sys.executable, "-m", "reseaux", "migrer", "--vers", database_url, "--depuis", str(directory.path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": clone_path()},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "3 versions" in done.stdout and "3 fiches" in done.stdout and "2 lignes de journal" in done.stdout
    # Each fiche read for the database by the migration, not at the first question (106 s at a million).
    assert "3 fiches lues pour la base" in done.stderr

    database = PostgresDirectoryStore(database_url)
    referential = load_referential(ROOT / "data" / "referentiel.csv")
    assert readings.unread(database, reading_key(referential)) == 0
    pd.testing.assert_frame_equal(frame(database.load().table), csv_table(directory.path))
    former = database.versions()  # newest first
    assert [v.when for v in former] == [directory.backup_time(b) for b in reversed(backups)]
    for version, backup in zip(former, reversed(backups), strict=True):
        assert_same_directory(database.load_version(version.key).table, backup)
    # The version Alice's save wrote keeps her name (its backup was made by Bruno's save).
    assert "Alice" in former[0].label
    assert [(e["qui"], e["id"]) for e in database.read_journal()] == [("Alice", "t1"), ("Bruno", "t2")]

    # PostgreSQL → files, elsewhere.
    back = tmp_path / "apres" / "actors.csv"
    code, out, err = run(
        "migrer", "--vers", "fichiers", "--depuis", database_url, "--fichier", str(back), capsys=capsys
    )
    assert code == 0, err
    assert "3 versions" in out and "3 fiches" in out and "2 lignes de journal" in out
    pd.testing.assert_frame_equal(csv_table(back), csv_table(directory.path))
    assert journal_lines(back.parent / "journal.jsonl") == journal_lines(directory.journal)
    returned = DirectoryStore(back)
    assert [b.name for b in sorted(returned.list_backups())] == [b.name for b in backups]
    for mine, theirs in zip(sorted(returned.list_backups()), backups, strict=True):
        assert_same_directory(csv_table(mine), theirs)


def test_the_migrated_database_takes_the_next_save(directory, database_url, capsys):
    assert run("migrer", "--vers", database_url, "--depuis", str(directory.path), capsys=capsys)[0] == 0
    database = PostgresDirectoryStore(database_url)
    base = database.load()
    saved = database.save(edit(base.table, "t3", telephone="02 61 91 00 33"), base, who="Chloé")
    table = database.load().table
    assert saved.version == "4"
    assert table.set_index("id").loc["t3", "telephone"] == "02 61 91 00 33"
    assert table.set_index("id").loc["t1", "telephone"] == "02 61 91 00 09"
    assert [e["qui"] for e in database.read_journal()] == ["Alice", "Bruno", "Chloé"]


def test_a_database_holding_a_directory_is_replaced_only_when_asked(directory, database_url, capsys):
    database = PostgresDirectoryStore(database_url)
    database.replace(SMALL, "essai", "import")
    before = database.counts()
    code, out, err = run("migrer", "--vers", database_url, "--depuis", str(directory.path), capsys=capsys)
    assert code == 1 and out == ""
    assert "contient déjà un annuaire" in err and "--remplacer" in err and "Traceback" not in err
    assert database.counts() == before == (1, 3, 3)

    code, out, err = run(
        "migrer", "--vers", database_url, "--depuis", str(directory.path), "--remplacer", capsys=capsys
    )
    assert code == 0, err
    assert database.counts() == (3, 3, 2)
    pd.testing.assert_frame_equal(frame(database.load().table), csv_table(directory.path))


def test_files_holding_a_directory_are_replaced_only_when_asked(directory, database_url, tmp_path, capsys):
    assert run("migrer", "--vers", database_url, "--depuis", str(directory.path), capsys=capsys)[0] == 0
    target = tmp_path / "ailleurs" / "actors.csv"
    target.parent.mkdir()
    target.write_bytes(b"id,nom\nx1,Quelqu'un d'autre\n")
    code, out, err = run(
        "migrer", "--vers", "fichiers", "--depuis", database_url, "--fichier", str(target), capsys=capsys
    )
    assert code == 1 and out == "" and "déjà un annuaire" in err and "--remplacer" in err
    assert target.read_bytes() == b"id,nom\nx1,Quelqu'un d'autre\n"

    code, _, err = run(
        "migrer", "--vers", "fichiers", "--depuis", database_url, "--fichier", str(target), "--remplacer", capsys=capsys
    )
    assert code == 0, err
    pd.testing.assert_frame_equal(csv_table(target), csv_table(directory.path))


def test_the_settings_name_the_database_and_the_file(directory, database_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RESEAUX_ACTORS", str(directory.path))
    assert run("migrer", "--vers", database_url, capsys=capsys)[0] == 0
    target = tmp_path / "retour" / "actors.csv"
    monkeypatch.setenv("RESEAUX_DATABASE_URL", database_url)
    monkeypatch.setenv("RESEAUX_ACTORS", str(target))
    monkeypatch.setenv("RESEAUX_BACKUPS", "1")
    code, out, err = run("migrer", "--vers", "fichiers", capsys=capsys)
    assert code == 0, err
    pd.testing.assert_frame_equal(csv_table(target), csv_table(directory.path))
    # One former version written (the newest), the older one said to stay in the database.
    newest = sorted(directory.list_backups())[-1]
    assert [b.name for b in DirectoryStore(target).list_backups()] == [newest.name]
    assert "2 versions" in out and "1 version plus ancienne" in out


def test_a_server_down_is_named_without_its_password(directory, capsys):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://reseaux:motdepasse-secret@127.0.0.1:{port}/annuaire"
    code, out, err = run("migrer", "--vers", url, "--depuis", str(directory.path), capsys=capsys)
    assert code == 1 and out == ""
    assert "ne répond pas" in err and redacted(url) in err and "« annuaire » sur 127.0.0.1" in err
    assert "motdepasse-secret" not in err and "Traceback" not in err
    code, out, err = run("migrer", "--vers", "fichiers", "--depuis", url, capsys=capsys)
    assert code == 1 and "ne répond pas" in err and "motdepasse-secret" not in err


def test_a_database_without_postgis_says_how_to_add_it(directory, postgres_server, capsys):
    # A role that may not create extensions, owning a database made without PostGIS.
    postgres_server.sql("postgres", "CREATE ROLE sans_postgis LOGIN")
    postgres_server.sql("postgres", "CREATE DATABASE nue OWNER sans_postgis TEMPLATE template0")
    url = postgres_server.url("nue").replace(f"{postgres_server.user}@", "sans_postgis@")
    code, out, err = run("migrer", "--vers", url, "--depuis", str(directory.path), capsys=capsys)
    assert code == 1 and out == ""
    assert "n'a pas PostGIS" in err and "CREATE EXTENSION postgis" in err and "apt install" in err
    assert "Traceback" not in err
    import psycopg

    with psycopg.connect(url) as connection:  # nothing was written there
        assert connection.execute("SELECT to_regclass('reseaux.directory_head')").fetchone()[0] is None


def test_a_database_without_a_directory_is_not_a_source(database_url, tmp_path, capsys):
    code, _, err = run(
        "migrer", "--vers", "fichiers", "--depuis", database_url, "--fichier", str(tmp_path / "a.csv"), capsys=capsys
    )
    assert code == 1 and "ne contient pas d'annuaire" in err
    assert not (tmp_path / "a.csv").exists()


def test_a_missing_file_and_a_wrong_target_are_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("RESEAUX_DATABASE_URL", raising=False)
    code, _, err = run(
        "migrer", "--vers", "postgresql://x@127.0.0.1/y", "--depuis", str(tmp_path / "non.csv"), capsys=capsys
    )
    assert code == 1 and "n'existe pas" in err
    code, _, err = run("migrer", "--vers", "mysql://x:secret@h/y", capsys=capsys)
    assert code == 1 and "« --vers » attend" in err and "secret" not in err
    code, _, err = run("migrer", "--vers", "fichiers", capsys=capsys)
    assert code == 1 and "RESEAUX_DATABASE_URL" in err


def test_accounts_scenes_and_profiles_move_with_the_directory(directory, database_url, tmp_path, monkeypatch, capsys):
    """Alice's account, two scenes and a profile, made on the files, are the database's after the
    move; an account added there comes back to the files, which are replaced only when asked."""
    from reseaux.acces.accounts import AccountStore
    from reseaux.carte.scenes import Scene, SceneStore
    from reseaux.importation.importing import ImportSpec
    from reseaux.importation.profiles import ProfileStore
    from tests.conftest import PASSWORD

    accounts, scenes = tmp_path / "comptes.json", tmp_path / "scenes.json"
    monkeypatch.setenv("RESEAUX_ACCOUNTS", str(accounts))
    monkeypatch.setenv("RESEAUX_SCENES", str(scenes))
    AccountStore(accounts).add("alice", PASSWORD, "administrateur")
    first, second = SceneStore(scenes).add(Scene("Les CPTS")), SceneStore(scenes).add(Scene("Les QPV"))
    ProfileStore(directory.path.parent / "imports").save("finess", ImportSpec(mapping={"Raison sociale": "nom"}))

    code, out, err = run("migrer", "--vers", database_url, "--depuis", str(directory.path), capsys=capsys)
    assert code == 0, err
    assert "3 documents" in out
    monkeypatch.setenv("RESEAUX_DATABASE_URL", database_url)
    elsewhere = tmp_path / "nulle-part.json"  # the database, not a file, answers now
    assert AccountStore(elsewhere).authenticate("alice", PASSWORD, delay=False).role == "administrateur"
    assert [s.title for s in SceneStore(elsewhere).load()] == ["Les CPTS", "Les QPV"]
    assert ProfileStore(tmp_path / "aucun").load("finess") == ImportSpec(mapping={"Raison sociale": "nom"})
    AccountStore(elsewhere).add("bruno", PASSWORD, "membre")

    before, back = accounts.read_bytes(), tmp_path / "retour" / "actors.csv"
    code, out, err = run("migrer", "--vers", "fichiers", "--fichier", str(back), capsys=capsys)
    assert code == 1 and "comptes.json" in err and "--remplacer" in err
    assert accounts.read_bytes() == before and not back.exists()  # nothing written
    code, out, err = run("migrer", "--vers", "fichiers", "--fichier", str(back), "--remplacer", capsys=capsys)
    assert code == 0, err
    assert "3 documents" in out
    monkeypatch.delenv("RESEAUX_DATABASE_URL")
    assert sorted(json.loads(accounts.read_text(encoding="utf-8"))["comptes"]) == ["alice", "bruno"]
    assert accounts.stat().st_mode & 0o777 == 0o600
    assert [s["title"] for s in json.loads(scenes.read_text(encoding="utf-8"))["scenes"]] == ["Les CPTS", "Les QPV"]
    assert (back.parent / "imports" / "finess.toml").read_bytes() == (
        directory.path.parent / "imports" / "finess.toml"
    ).read_bytes()
    assert len(first) == 1 and len(second) == 2
