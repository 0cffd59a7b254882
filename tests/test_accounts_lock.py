"""The built-in accounts under attack and concurrency: every read-modify-write of the accounts file
holds one lock, across processes.

Attempts are made by separate processes (as several server processes, or sessions, would), in
bursts started together from a barrier; the right answers are known: five wrong passwords in a
row lock the account, whatever the concurrency, and no administration change is lost.
"""

from __future__ import annotations

import multiprocessing
import time

import pytest

from reseaux.accounts import MAX_FAILURES, REFUSED, AccountError, AccountStore
from tests.conftest import PASSWORD

CONTEXT = multiprocessing.get_context("fork")


def _wrong(path, barrier, results) -> None:
    barrier.wait()
    try:
        AccountStore(path).authenticate("alice", "pas le bon mot de passe", delay=False)
        results.put("accepted")
    except AccountError as exc:
        results.put(str(exc))


def _change(path, barrier, kind: str) -> None:
    barrier.wait()
    store = AccountStore(path)
    if kind == "remove":
        store.remove("bob")
    else:
        store.set_password("carol", "un tout nouveau mot de passe")


def burst(path, wrong: int, changes: tuple[str, ...] = ()) -> list[str]:
    """``wrong`` failed sign-ins on alice and ``changes`` by the administration, all at once."""
    barrier = CONTEXT.Barrier(wrong + len(changes))
    results = CONTEXT.Queue()
    workers = [CONTEXT.Process(target=_wrong, args=(path, barrier, results)) for _ in range(wrong)]
    workers += [CONTEXT.Process(target=_change, args=(path, barrier, kind)) for kind in changes]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    return [results.get(timeout=5) for _ in range(wrong)]


@pytest.fixture()
def store(tmp_path):
    store = AccountStore(tmp_path / "comptes.json")
    store.add("alice", PASSWORD, "membre")
    return store


def failures(store) -> int:
    return store.load()["alice"].failures


def test_ten_parallel_wrong_passwords_lock_the_account_at_the_fifth_failure(store):
    for _ in range(3):  # repeated: locked, unlocked by the administration, locked again
        assert set(burst(store.path, MAX_FAILURES - 1)) == {REFUSED}
        assert failures(store) == MAX_FAILURES - 1 and not store.is_locked("alice")  # each one counted
        assert set(burst(store.path, 10)) == {REFUSED}
        assert store.is_locked("alice")  # the fifth failure locked it; the nine after found it locked
        with pytest.raises(AccountError):
            store.authenticate("alice", PASSWORD, delay=False)  # even the right password
        store.unlock("alice")
        assert store.authenticate("alice", PASSWORD, delay=False).name == "alice"


def test_no_administration_change_is_lost_during_failed_sign_ins(store):
    for _ in range(5):
        store.add("bob", PASSWORD, "membre")
        store.add("carol", PASSWORD, "coordinateur")
        burst(store.path, 6, changes=("remove", "password"))
        accounts = store.load()
        assert "bob" not in accounts  # the removal held
        assert store.authenticate("carol", "un tout nouveau mot de passe", delay=False).role == "coordinateur"
        store.remove("carol")
        store.unlock("alice")


def test_each_failure_for_a_name_makes_the_next_answer_slower(store):
    spent = []
    for _ in range(3):
        start = time.perf_counter()
        with pytest.raises(AccountError):
            store.authenticate("quelqu'un", "faux")
        spent.append(time.perf_counter() - start)
    assert spent[0] >= 0.25 and spent[2] >= 0.75  # 0.25 s more per recent failure, 2 s at most
    store.authenticate("alice", PASSWORD)  # a success answers at once and clears the count for its name
