"""« python -m reseaux sauvegarde » and « restauration »: a round trip onto an empty folder,
taken while another process saves the directory in a loop.

The truth is read apart from the code: the archive opened with tarfile and its manifest's hashes
computed with hashlib, the journal's lines compared as bytes, the layer's perimeters counted in
the GeoJSON with json."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
from pathlib import Path

from reseaux.acces.accounts import AccountStore
from tests.conftest import PASSWORD, ROOT

SAVER = """
import sys, time
from pathlib import Path
from reseaux.annuaire.store import ConflictError, DirectoryStore
store = DirectoryStore(Path(sys.argv[1]))
stop, saved = Path(sys.argv[2]), Path(sys.argv[3])
turn = 0
while not stop.exists():
    base = store.load()
    table = base.table.copy()
    row = turn % len(table)
    table.loc[row, "description"] = f"passage {turn} de la boucle (fictif)"
    try:
        after = store.save(table, base, "boucle")
    except ConflictError:
        continue
    with open(saved, "a") as out:
        out.write(after.version + "\\n")
    turn += 1
"""


def make_site(root: Path) -> dict[str, str]:
    """A network's files as the settings place them (demo data, one real layer); its settings."""
    (root / "data" / "imports").mkdir(parents=True)
    (root / "geo").mkdir()
    for name in ("actors.csv", "referentiel.csv", "scenes.json"):
        shutil.copy(ROOT / "data" / name, root / "data" / name)
    (root / "data" / "imports" / "finess.toml").write_text('[colonnes]\nnom = "rs"\n', encoding="utf-8")
    shutil.copy(ROOT / "geo" / "qpv2024_metropole_rouen.geojson", root / "geo")
    (root / "geo" / "territoire.toml").write_text(
        'titre = "Réseau de test"\nregistre = "layers.toml"\n\n[territoire]\nnom = "Métropole"\nepci = ["200023414"]\n',
        encoding="utf-8",
    )
    (root / "geo" / "layers.toml").write_text(
        '[[layer]]\nid = "qpv"\nlabel = "QPV 2024"\nkind = "file"\nfile = "qpv2024_metropole_rouen.geojson"\n'
        'id_field = "code_qp"\nname_field = "lib_qp"\n',
        encoding="utf-8",
    )
    return settings(root)


def settings(root: Path) -> dict[str, str]:
    return {
        "RESEAUX_ACTORS": str(root / "data" / "actors.csv"),
        "RESEAUX_REFERENTIAL": str(root / "data" / "referentiel.csv"),
        "RESEAUX_SCENES": str(root / "data" / "scenes.json"),
        "RESEAUX_TERRITORY": str(root / "geo" / "territoire.toml"),
        "RESEAUX_GEO_DIR": str(root / "geo"),
        "RESEAUX_ACCOUNTS": str(root / "comptes" / "comptes.json"),
        "RESEAUX_AUDIT": str(root / "data" / "audit.jsonl"),
    }


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    full = {**os.environ, **env}
    full.pop("RESEAUX_LAYERS", None)
    return subprocess.run(
        [sys.executable, "-m", "reseaux", *args], capture_output=True, text=True, cwd=ROOT, env=full, timeout=300
    )


def members(archive: Path) -> tuple[dict, dict[str, bytes]]:
    with tarfile.open(archive, "r:gz") as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    return json.loads(files.pop("MANIFEST.json")), files


def lines_of(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def wait_for(condition, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "attente trop longue"
        time.sleep(0.05)


def waits_at(pid: int, lock: Path) -> bool:
    """Process ``pid`` has ``lock`` open: reseaux.exports.file_lock keeps it open while it waits."""
    try:
        return any(os.path.realpath(fd) == os.path.realpath(lock) for fd in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:  # the process ended, or one of its files closed while being read
        return False


def test_round_trip_onto_an_empty_folder_while_another_process_saves(tmp_path):
    site, empty, dest = tmp_path / "site", tmp_path / "vide", tmp_path / "ailleurs"
    env = make_site(site)
    AccountStore(Path(env["RESEAUX_ACCOUNTS"])).add("coord", PASSWORD, "coordinateur", "coord@example.org")
    stop, saved = tmp_path / "stop", tmp_path / "versions.txt"
    saver = subprocess.Popen(
        [sys.executable, "-c", SAVER, env["RESEAUX_ACTORS"], str(stop), str(saved)], cwd=ROOT, env={**os.environ}
    )
    journal = site / "data" / "journal.jsonl"
    try:
        wait_for(lambda: saved.exists() and len(saved.read_text().split()) >= 3)
        made = run(env, "sauvegarde", str(dest))
        assert made.returncode == 0, made.stderr
        n_at_backup = len(saved.read_text().split())
        wait_for(lambda: len(saved.read_text().split()) >= n_at_backup + 3)  # it kept saving after
    finally:
        stop.touch()
        saver.wait(timeout=120)
    assert saver.returncode == 0
    archive = Path(made.stdout.strip())
    assert archive.parent == dest and archive.name.endswith(".tar.gz")
    manifest, files = members(archive)

    # Every file listed with its true hash, nothing else in the archive.
    assert sorted(f"{f['role']}/{f['nom']}" for f in manifest["fichiers"]) == sorted(files)
    for f in manifest["fichiers"]:
        assert hashlib.sha256(files[f"{f['role']}/{f['nom']}"]).hexdigest() == f["sha256"]
    roles = {f["role"] for f in manifest["fichiers"]}
    assert roles >= {
        "annuaire",
        "journal",
        "sauvegardes",
        "comptes",
        "territoire",
        "registre",
        "couche",
        "scenes",
        "referentiel",
        "profil",
    }

    # Nothing half-written: the archived directory is one of the versions saved, and the one its
    # archived journal ends with; nothing lost: that journal is the live journal's beginning, every
    # save after the backup is after it.
    directory = files["annuaire/actors.csv"]
    versions = saved.read_text().split()
    archived_version = hashlib.sha256(directory).hexdigest()
    assert archived_version in versions
    archived_journal = files["journal/journal.jsonl"]
    assert json.loads(lines_of(archived_journal)[-1])["version"] == archived_version
    live = journal.read_bytes()
    assert live.startswith(archived_journal)
    after = [json.loads(line)["version"] for line in lines_of(live[len(archived_journal) :])]
    assert after == versions[versions.index(archived_version) + 1 :]

    # The round trip onto an empty folder.
    target = settings(empty)
    back = run(target, "restauration", str(archive), "--par", "admin")
    assert back.returncode == 0, back.stderr
    assert "Traceback" not in back.stderr and "Restauré" in back.stderr
    placed = {
        "annuaire/actors.csv": empty / "data" / "actors.csv",
        "referentiel/referentiel.csv": empty / "data" / "referentiel.csv",
        "scenes/scenes.json": empty / "data" / "scenes.json",
        "profil/finess.toml": empty / "data" / "imports" / "finess.toml",
        "territoire/territoire.toml": empty / "geo" / "territoire.toml",
        "registre/layers.toml": empty / "geo" / "layers.toml",
        "couche/qpv2024_metropole_rouen.geojson": empty / "geo" / "qpv2024_metropole_rouen.geojson",
        "comptes/comptes.json": empty / "comptes" / "comptes.json",
    }
    for member, path in placed.items():
        assert path.read_bytes() == files[member], member
    for member in (m for m in files if m.startswith("sauvegardes/")):
        assert (empty / "data" / ".backups" / member.split("/", 1)[1]).read_bytes() == files[member]
    restored_journal = (empty / "data" / "journal.jsonl").read_bytes()
    assert restored_journal.startswith(archived_journal)
    added = [json.loads(line) for line in lines_of(restored_journal[len(archived_journal) :])]
    assert added and {(a["qui"], a["action"]) for a in added} == {("admin", f"restauration de {archive.name}")}

    # The app reads the restored folder: a fiche, a sign-in, a layer.
    from reseaux.annuaire.directory import load_directory
    from reseaux.annuaire.referential import load_referential
    from reseaux.annuaire.store import snapshot
    from reseaux.territoire.layers import load_layers, load_registry

    row = snapshot(directory).table.set_index("id")
    fiche = next(i for i in row.index if row.loc[i, "description"].startswith("passage "))
    actors = load_directory(
        empty / "data" / "actors.csv", load_referential(empty / "data" / "referentiel.csv")
    ).actors.set_index("id")
    assert actors.loc[fiche, "description"] == row.loc[fiche, "description"]
    assert (
        AccountStore(empty / "comptes" / "comptes.json").authenticate("coord", PASSWORD, delay=False).role
        == "coordinateur"
    )
    features = json.loads((site / "geo" / "qpv2024_metropole_rouen.geojson").read_text(encoding="utf-8"))["features"]
    layers = load_layers(load_registry(empty / "geo" / "layers.toml"), empty / "geo")
    assert sorted(layers["qpv"]["code"]) == sorted(f["properties"]["code_qp"] for f in features)


def test_a_damaged_archive_is_refused_and_a_restoration_keeps_what_it_replaces(tmp_path):
    site, other = tmp_path / "site", tmp_path / "autre"
    env = make_site(site)
    assert run(env, "sauvegarde", str(tmp_path / "premiere")).returncode == 0  # the archive holds an audit trail
    made = run(env, "sauvegarde", str(tmp_path / "ailleurs"))
    assert made.returncode == 0, made.stderr
    archive = Path(made.stdout.strip())
    target = make_site(other)
    assert run(target, "sauvegarde", str(tmp_path / "ailleurs2")).returncode == 0  # an audit line of its own
    mine = other / "data" / "actors.csv"
    mine.write_bytes(mine.read_bytes().replace(b"antenne des Charmes", b"antenne des Lilas"))
    before = {p: p.read_bytes() for p in other.rglob("*") if p.is_file()}

    # One byte of the directory changed inside the archive, its manifest left as it was.
    manifest, files = members(archive)
    files["annuaire/actors.csv"] = files["annuaire/actors.csv"].replace(b"Charmes", b"Charmez", 1)
    damaged = tmp_path / "abimee.tar.gz"
    with tarfile.open(damaged, "w:gz") as tar:
        for name, data in [("MANIFEST.json", json.dumps(manifest).encode()), *files.items()]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    refused = run(target, "restauration", str(damaged))
    assert refused.returncode == 1
    assert "annuaire/actors.csv" in refused.stderr and "SHA-256" in refused.stderr
    assert "Traceback" not in refused.stderr and "rien n'a été restauré" in refused.stderr
    assert {p: p.read_bytes() for p in other.rglob("*") if p.is_file()} == before

    not_an_archive = tmp_path / "notes.tar.gz"
    not_an_archive.write_text("pas une archive", encoding="utf-8")
    refused = run(target, "restauration", str(not_an_archive))
    assert refused.returncode == 1 and "illisible" in refused.stderr and "Traceback" not in refused.stderr

    trail = Path(target["RESEAUX_AUDIT"])
    trail_before = trail.read_bytes()
    back = run(target, "restauration", str(archive), "--par", "admin")
    assert back.returncode == 0, back.stderr
    assert mine.read_bytes() == files["annuaire/actors.csv"].replace(b"Charmez", b"Charmes", 1)
    # The audit trail here is only appended to: it keeps its lines, the restoration after them.
    assert trail.read_bytes().startswith(trail_before)
    added = [json.loads(line) for line in lines_of(trail.read_bytes()[len(trail_before) :])]
    assert [(e["evenement"], e["qui"]) for e in added] == [("enregistrement", "admin"), ("restauration", "admin")]
    assert added[-1]["archive"] == archive.name
    aside = list((other / "data" / ".avant-restauration").glob("*.tar.gz"))
    assert len(aside) == 1 and str(aside[0]) in back.stderr
    _, kept = members(aside[0])
    assert kept["annuaire/actors.csv"] == before[mine]
    journal = [json.loads(line) for line in (other / "data" / "journal.jsonl").read_text().splitlines()]
    assert journal[-1]["qui"] == "admin" and journal[-1]["id"] == "demo-001"


HOLDER = """
import sys, time
from pathlib import Path
from reseaux.annuaire.exports import file_lock
lock, ready, go, path = (Path(a) for a in sys.argv[1:5])
first, second = sys.argv[5].encode(), sys.argv[6].encode()
with file_lock(lock):
    if first:  # a save halfway: its file written, its journal line not yet
        path.write_bytes(first)
    ready.touch()
    deadline = time.monotonic() + 60
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    second_path = path.with_name(sys.argv[7]) if len(sys.argv) > 7 else path
    with open(second_path, "ab" if len(sys.argv) > 7 else "wb") as out:
        out.write(second)
"""


def test_the_backup_waits_for_each_writer_s_lock(tmp_path):
    """Each writer holds its lock through a change made of several writes: the backup, started in
    the middle, waits and archives the change whole. Without the locks it archived a directory
    ahead of its journal, and the accounts and registry as they were before the change."""
    site = tmp_path / "site"
    env = make_site(site)
    accounts = Path(env["RESEAUX_ACCOUNTS"])
    AccountStore(accounts).add("coord", PASSWORD, "coordinateur")
    actors = site / "data" / "actors.csv"
    new_directory = actors.read_text(encoding="utf-8").replace("antenne des Charmes", "antenne des Lilas")
    journal_line = json.dumps({"qui": "coord", "version": hashlib.sha256(new_directory.encode()).hexdigest()}) + "\n"
    registry = site / "geo" / "layers.toml"
    cases = {
        "annuaire": (actors.with_name("actors.csv.lock"), actors, new_directory, journal_line, "journal.jsonl"),
        "comptes": (
            accounts.with_name("comptes.json.lock"),
            accounts,
            "",
            accounts.read_text(encoding="utf-8").replace('"coordinateur"', '"administrateur"'),
        ),
        "registre": (
            registry.with_name("layers.toml.lock"),
            registry,
            "",
            registry.read_text(encoding="utf-8").replace("QPV 2024", "QPV 2024 (Rouen)"),
        ),
    }
    for n, (case, (lock, path, first, second, *aside)) in enumerate(cases.items()):
        ready, go = tmp_path / f"pret{n}", tmp_path / f"va{n}"
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(lock), str(ready), str(go), str(path), first, second, *aside],
            cwd=ROOT,
            env={**os.environ},
        )
        wait_for(ready.exists)
        full = {**os.environ, **env}
        backup = subprocess.Popen(
            [sys.executable, "-m", "reseaux", "sauvegarde", str(tmp_path / case)],
            cwd=ROOT,
            env=full,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # The backup reaches the writer's lock and waits there (it holds the lock file open while
        # it waits): only then does the writer finish its change.
        wait_for(lambda backup=backup, lock=lock: waits_at(backup.pid, lock) or backup.poll() is not None)
        assert backup.poll() is None, "la sauvegarde n'a pas attendu le verrou de l'écrivain"
        go.touch()
        out, err = backup.communicate(timeout=120)
        holder.wait(timeout=60)
        assert backup.returncode == 0, err
        _, files = members(Path(out.strip()))
        if case == "annuaire":
            assert files["annuaire/actors.csv"] == new_directory.encode()
            assert files["journal/journal.jsonl"].endswith(journal_line.encode())
        else:
            assert files[f"{case}/{path.name}"] == second.encode(), case


def test_on_postgresql_the_archive_holds_the_database_s_directory_and_puts_it_back(tmp_path, database_url):
    """With RESEAUX_DATABASE_URL, « sauvegarde » archives the database's current directory (as a
    CSV file) and its journal; « restauration » puts that directory back into the database, the
    journal then saying who restored. The truth: the demo file read with csv, the database read with SQL."""
    import csv

    import psycopg

    from reseaux.stockage.postgres import PostgresDirectoryStore

    env = {**make_site(tmp_path / "site"), "RESEAUX_DATABASE_URL": database_url}
    demo = (tmp_path / "site" / "data" / "actors.csv").read_bytes()
    store = PostgresDirectoryStore(database_url)
    store.replace(demo, "essai", "migration")
    (tmp_path / "site" / "data" / "actors.csv").unlink()  # the database alone holds the directory
    made = run(env, "sauvegarde", str(tmp_path / "archives"))
    assert made.returncode == 0, made.stderr
    (archive,) = (tmp_path / "archives").glob("reseaux-*.tar.gz")
    _manifest, files = members(archive)
    expected = {row["id"]: row for row in csv.DictReader(io.StringIO(demo.decode("utf-8")))}
    archived = {row["id"]: row for row in csv.DictReader(io.StringIO(files["annuaire/actors.csv"].decode("utf-8")))}
    assert archived == expected
    assert "journal/journal.jsonl" in files and not any(name.startswith("sauvegardes/") for name in files)

    base = store.load()
    store.save(base.table[base.table["id"] != "demo-001"], base, "quelqu'un")  # a fiche lost after the backup
    back = run(env, "restauration", str(archive))
    assert back.returncode == 0, back.stderr
    with psycopg.connect(database_url) as connection:
        ids = {i for (i,) in connection.execute("SELECT actor_id FROM reseaux.directory_rows WHERE valid_to IS NULL")}
    assert ids == set(expected)
    assert store.read_journal()[-1]["action"] == f"restauration de {archive.name}"
    assert not (tmp_path / "site" / "data" / "actors.csv").exists()  # nothing restored beside the database


def test_on_postgresql_the_accounts_scenes_and_profiles_are_archived_and_put_back_from_the_database(
    tmp_path, database_url, monkeypatch
):
    """The site's scenes and profile moved into the database by « migrer », an account made there,
    a layer added there: the archive holds them as the database does, and « restauration » puts
    them back there — no file written beside it; « migrer --vers fichiers » then declares the
    layer in the site's registry. The truth: the demo's own scenes file, the profile and the layer
    written here."""
    from reseaux.acces.accounts import AccountStore
    from reseaux.stockage.documents import PostgresDocument, PostgresFolder
    from tests.conftest import PASSWORD
    from tests.test_layer_writes import two_squares

    site = tmp_path / "site"
    env = make_site(site)
    scenes, profile = (site / "data" / "scenes.json").read_bytes(), b'[colonnes]\nnom = "rs"\n'
    moved = run(env, "migrer", "--vers", database_url)
    assert moved.returncode == 0, moved.stderr
    (site / "data" / "scenes.json").unlink()
    (site / "data" / "imports" / "finess.toml").unlink()  # the database alone holds them now
    env["RESEAUX_DATABASE_URL"] = database_url
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    AccountStore(Path(env["RESEAUX_ACCOUNTS"])).add("alice", PASSWORD, "administrateur")
    env["RESEAUX_GEOCACHE"] = str(site / "data" / ".cache" / "geocodage.sqlite")
    squares = two_squares(tmp_path / "secteurs.geojson")
    added = run(env, "layers", "add", str(squares), "--id", "secteurs", "--code-field", "CODE", "--name-field", "NOM")
    assert added.returncode == 0, added.stderr
    layer = PostgresFolder(database_url, "couches").document("secteurs.geojson")
    layer_file, registry = layer.read(), PostgresDocument(database_url, "registre_couches")
    assert b'"01"' in layer_file and not (site / "geo" / "secteurs.geojson").exists()

    made = run(env, "sauvegarde", str(tmp_path / "archives"))
    assert made.returncode == 0, made.stderr
    (archive,) = (tmp_path / "archives").glob("reseaux-*.tar.gz")
    _manifest, files = members(archive)
    assert files["scenes/scenes.json"] == scenes and files["profil/finess.toml"] == profile
    assert list(json.loads(files["comptes/comptes.json"])["comptes"]) == ["alice"]
    assert files["couche_base/secteurs.geojson"] == layer_file
    assert files["couches_base/registre_couches.toml"] == registry.read()

    AccountStore(Path(env["RESEAUX_ACCOUNTS"])).remove("alice")
    PostgresDocument(database_url, "scenes").write(b'{"scenes": []}')
    PostgresDocument(database_url, "profils", "finess").delete()
    added_registry = registry.read()
    registry.delete()
    layer.delete()
    back = run(env, "restauration", str(archive))
    assert back.returncode == 0, back.stderr
    assert PostgresDocument(database_url, "scenes").read() == scenes
    assert PostgresDocument(database_url, "profils", "finess").read() == profile
    assert AccountStore(Path(env["RESEAUX_ACCOUNTS"])).authenticate("alice", PASSWORD, delay=False).name == "alice"
    assert not (site / "data" / "scenes.json").exists() and not (site / "data" / "imports" / "finess.toml").exists()
    assert not Path(env["RESEAUX_ACCOUNTS"]).exists()
    assert registry.read() == added_registry and layer.read() == layer_file
    assert not (site / "geo" / "secteurs.geojson").exists()

    home = run(env, "migrer", "--vers", "fichiers", "--remplacer")
    assert home.returncode == 0, home.stderr
    assert "couches ajoutées, déclarées dans le registre : 1 couche" in home.stdout
    declared = tomllib.loads((site / "geo" / "layers.toml").read_text(encoding="utf-8"))
    assert [e["id"] for e in declared["layer"]] == ["qpv", "secteurs"]
    assert (site / "geo" / "secteurs.geojson").read_bytes() == layer_file
