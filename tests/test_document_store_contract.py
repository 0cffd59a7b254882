"""The small documents' contract — accounts, scenes, import profiles — kept by both backends.

Each test runs twice: on the files (``RESEAUX_DATABASE_URL`` empty, the embedded default) and on
PostgreSQL (a server the tests start, see tests/postgres_server.py, a database per test). The
right answers are counted by the test itself (so many increments, so many accounts, the scenes in
the order they were added), never read from the store under test. « Another server » is another
Python process, started with the same settings, that knows nothing of this one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest

from reseaux.acces.accounts import REFUSED, AccountError, AccountStore
from reseaux.annuaire.exports import LockTimeout
from reseaux.carte.scenes import Scene, SceneStore
from reseaux.importation.importing import ImportSpec
from reseaux.importation.profiles import ProfileError, ProfileStore
from reseaux.stockage import documents
from tests.conftest import PASSWORD, clone_path


@pytest.fixture(params=["fichiers", "postgresql"])
def backend(request, monkeypatch):
    """The backend's name; the settings point the app at it as ``RESEAUX_DATABASE_URL`` would."""
    if request.param == "postgresql":
        monkeypatch.setenv("RESEAUX_DATABASE_URL", request.getfixturevalue("database_url"))
    else:
        monkeypatch.delenv("RESEAUX_DATABASE_URL", raising=False)
    return request.param


def run_elsewhere(script: str) -> str:
    """Run ``script`` in a new Python process with this test's settings (another server); its output."""
    env = {**os.environ, "PYTHONPATH": clone_path()}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def together(count: int, work) -> list[BaseException]:
    """Run ``work(number)`` in ``count`` threads started at once; the exceptions they raised."""
    barrier, failures = threading.Barrier(count), []

    def run(number: int) -> None:
        barrier.wait()
        try:
            work(number)
        except BaseException as exc:  # noqa: BLE001 — reported to the test
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return failures


# -- one document --


def test_a_document_reads_what_was_written(backend, tmp_path):
    document = documents.document("essai", tmp_path / "essai.json")
    assert document.kind == backend
    assert document.read() is None and document.stamp() is None
    document.write("première version, « accentuée »".encode())
    first = document.stamp()
    assert document.read() == "première version, « accentuée »".encode()
    document.write(b"seconde")
    assert document.read() == b"seconde"
    assert document.stamp() not in (None, first)
    document.delete()
    assert document.read() is None


def test_concurrent_read_modify_writes_lose_nothing(backend, tmp_path):
    """Eight threads, each with its own store object, add one to a count twenty times under the lock."""
    path = tmp_path / "compte.json"

    def add_twenty(number: int) -> None:
        mine = documents.document("essai", path)
        for _ in range(20):
            with mine.locked():
                count = int(mine.read() or b"0")
                mine.write(str(count + 1).encode())

    assert together(8, add_twenty) == []
    assert documents.document("essai", path).read() == b"160"


def test_a_write_under_the_lock_stays_when_the_block_fails(backend, tmp_path):
    """As a file's: a sign-in refused after its failure was written keeps the failure counted."""
    document = documents.document("essai", tmp_path / "essai.json")
    with pytest.raises(ValueError), document.locked():
        document.write(b"compte")
        raise ValueError("refusé")
    assert document.read() == b"compte"
    with document.locked():  # and the lock was given back
        assert document.read() == b"compte"


def test_a_lock_held_too_long_is_a_timeout_and_writes_nothing(backend, tmp_path):
    path = tmp_path / "essai.json"
    holder = documents.document("essai", path)
    holder.write(b"avant")
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with holder.locked():
            taken.set()
            release.wait(60)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert taken.wait(60)
        impatient = documents.document("essai", path, lock_timeout=0.3)
        with pytest.raises(LockTimeout), impatient.locked():
            impatient.write(b"pendant")
    finally:
        release.set()
        thread.join(60)
    assert holder.read() == b"avant"


# -- accounts --


def test_an_account_created_by_one_server_is_seen_by_another(backend, tmp_path):
    path = tmp_path / "comptes.json"
    mine = AccountStore(path)
    mine.add("alice", PASSWORD, "membre", "alice@example.org")
    stamp = mine.stamp("alice")
    assert stamp is not None
    out = run_elsewhere(
        "from reseaux.acces.accounts import AccountStore\n"
        f"store = AccountStore({str(path)!r})\n"
        f"print(store.authenticate('alice', {PASSWORD!r}, delay=False).role)\n"
        "store.add('bob', 'un autre mot de passe', 'coordinateur')\n"
        "store.set_role('alice', 'administrateur')\n"
    )
    assert out.strip() == "membre"
    seen = mine.load()
    assert {name: account.role for name, account in seen.items()} == {"alice": "administrateur", "bob": "coordinateur"}
    assert mine.stamp("alice") not in (None, stamp)  # her sessions end at their next click
    assert mine.authenticate("bob", "un autre mot de passe", delay=False).role == "coordinateur"
    assert mine.role_for_email("alice@example.org") == "administrateur"


def test_accounts_added_at_once_are_all_kept(backend, tmp_path):
    path = tmp_path / "comptes.json"
    names = [f"personne{n}" for n in range(6)]
    failures = together(6, lambda n: AccountStore(path).add(names[n], PASSWORD, "membre"))
    assert failures == []
    assert sorted(AccountStore(path).load()) == names


def test_wrong_passwords_at_once_are_all_counted(backend, tmp_path):
    """Five wrong passwords sent at once from one address lock the account for it: none lost."""
    path = tmp_path / "comptes.json"
    AccountStore(path).add("alice", PASSWORD, "membre")

    def wrong(number: int) -> None:
        with pytest.raises(AccountError, match="incorrect"):
            AccountStore(path).authenticate("alice", f"mauvais {number}", client="192.0.2.7", delay=False)

    assert together(5, wrong) == []
    with pytest.raises(AccountError) as refused:
        AccountStore(path).authenticate("alice", PASSWORD, client="192.0.2.7", delay=False)
    assert str(refused.value) == REFUSED
    assert AccountStore(path).authenticate("alice", PASSWORD, client="198.51.100.4", delay=False).name == "alice"


# -- scenes --


def test_scenes_are_read_back_in_order(backend, tmp_path):
    store = SceneStore(tmp_path / "scenes.json")
    assert store.load() == []
    first = Scene("Les CPTS du département", comment="{n} au total", filters={"type": "cpts"}, center=[48.1, -1.7])
    second = Scene("Santé des femmes", layers=["qpv", "cls"], zoom=9)
    third = Scene("Les structures")
    for scene in (first, second, third):
        store.add(scene)
    other = SceneStore(tmp_path / "scenes.json")  # another page, another process: the same scenes
    assert [s.id for s in other.load()] == [first.id, second.id, third.id]
    assert other.load()[0] == first
    assert [s.id for s in other.move(third.id, -1)] == [first.id, third.id, second.id]
    assert [s.id for s in store.delete(first.id)] == [third.id, second.id]
    assert [s.id for s in other.load()] == [third.id, second.id]


def test_scenes_added_at_once_are_all_kept(backend, tmp_path):
    titles = [f"Scène {n}" for n in range(8)]
    assert together(8, lambda n: SceneStore(tmp_path / "scenes.json").add(Scene(titles[n]))) == []
    assert sorted(s.title for s in SceneStore(tmp_path / "scenes.json").load()) == titles


# -- import profiles --


def test_a_saved_profile_is_listed_and_read_back(backend, tmp_path):
    spec = ImportSpec(
        mapping={"hospital_name": "nom", "Téléphone": "telephone"},
        constants={"type": "structure"},
        recodings={"type": {"Centre Hospitalier (C.H.)": "structure"}},
        keep=["catr"],
    )
    store = ProfileStore(tmp_path / "imports")
    assert store.names() == []
    store.save("finess", spec)
    store.save("équipe-mobile", ImportSpec(mapping={"Nom": "nom"}))
    other = ProfileStore(tmp_path / "imports")
    assert other.names() == ["finess", "équipe-mobile"]
    assert other.load("finess") == spec
    with pytest.raises(ProfileError, match="introuvable"):
        other.load("absent")
    with pytest.raises(ProfileError, match="refusé"):
        store.save("../ailleurs", spec)
    if backend == "fichiers":  # the file of today, read by the command line's --profile
        assert json.dumps("nom") in (tmp_path / "imports" / "finess.toml").read_text(encoding="utf-8")


# -- sessions and limits shared by the servers --


def _spend(client: str, threads: int, each: int) -> int:
    """In this process (a server): ``threads`` threads at once each ask ``each`` requests of
    ``client``, the clock stopped (no token comes back meanwhile); how many were served."""
    from reseaux.serveur.ratelimit import RateLimiter

    limiter, served = RateLimiter(clock=lambda: 1_000_000.0), []
    barrier = threading.Barrier(threads)

    def ask() -> None:
        barrier.wait()
        served.extend(limiter.wait_for("fiches", client) == 0.0 for _ in range(each))

    workers = [threading.Thread(target=ask) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    return sum(served)


def test_two_servers_asking_at_once_spend_one_bucket_exactly(backend, monkeypatch):
    """40 requests a minute: a bucket of 10. Two servers, four threads each, 80 requests at once,
    the clock stopped: 10 served in all, whatever the interleaving (a lost update serves more)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from reseaux.acces import shared

    monkeypatch.setenv("RESEAUX_RATE_FICHES", "40")
    spawn = multiprocessing.get_context("spawn")  # fresh interpreters: nothing shared but the settings
    with (
        ProcessPoolExecutor(max_workers=1, mp_context=spawn) as a,
        ProcessPoolExecutor(max_workers=1, mp_context=spawn) as b,
    ):
        both = [a.submit(_spend, "192.0.2.7", 4, 10), b.submit(_spend, "192.0.2.7", 4, 10)]
        assert sum(f.result(timeout=300) for f in both) == 10
    assert shared.path().exists() == (backend == "fichiers")  # on PostgreSQL, no SQLite file at all


def test_a_map_token_revoked_through_one_server_answers_no_more_in_the_other(backend, referential):
    """A sign-out through server B ends the map's fiche token server A gave (as two FicheServices,
    each with its own memory, sharing only the settings)."""
    from reseaux.annuaire.fiche_service import FicheService
    from reseaux.app_data import load_actors
    from tests.conftest import DATA

    actors = load_actors(DATA / "actors_small.csv", referential).directory.actors
    a, b = FicheService(), FicheService()
    token = a.register("la session de Camille", actors, referential, ttl_s=600)
    assert a.fiches(token, [0])["fiches"][0][0] == actors["nom"].iloc[0]
    b.revoke_owner("la session de Camille")
    assert a.fiches(token, [0]) is None


def test_the_first_start_on_an_empty_database_creates_its_tables_once(postgres_server, monkeypatch):
    """The directory, the documents and the shared state each create their tables in the schema
    « reseaux » on first use; started at once on an empty database (two servers' first start),
    none fails on another's CREATE SCHEMA. Five empty databases, three starters each."""
    from reseaux.acces import shared
    from reseaux.stockage.postgres import PostgresDirectoryStore

    for _ in range(5):
        url = postgres_server.new_database()
        with psycopg_connection(url) as connection:
            connection.execute("DROP SCHEMA IF EXISTS reseaux CASCADE")
        monkeypatch.setenv("RESEAUX_DATABASE_URL", url)
        starters = [  # called at once, in this round (the values bound now)
            lambda url=url: PostgresDirectoryStore(url).current_version(),
            lambda url=url: documents.PostgresDocument(url, "essai").read(),
            lambda: shared.read("SELECT count(*) FROM sessions"),
        ]
        assert together(3, lambda n, starters=starters: starters[n]()) == []


def psycopg_connection(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True)
