"""The built-in accounts under attack and concurrency: every read-modify-write of the accounts file
holds one lock, across processes.

Attempts are made by separate processes (as several server processes, or sessions, would), in
bursts started together from a barrier; the right answers are known: five wrong passwords in a
row lock the account, whatever the concurrency, and no administration change is lost.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from contextlib import contextmanager

import pytest

from reseaux.acces import accounts, shared, signin_limits
from reseaux.acces.accounts import MAX_FAILURES, REFUSED, AccountError, AccountStore
from reseaux.annuaire.exports import LockTimeout
from reseaux.stockage import documents
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
def store(tmp_path, monkeypatch):
    monkeypatch.setattr(signin_limits, "_next_sweep", 0.0)
    store = AccountStore(tmp_path / "comptes.json")
    store.add("alice", PASSWORD, "membre")
    return store


def failures(store) -> int:
    """The longest run of failures of one client on alice not yet locked out."""
    return int(max((entry[0] for entry in store.load()["alice"].clients.values()), default=0))


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


ATTACKER, PERSON = "203.0.113.66", "198.51.100.7"


def test_an_attacker_from_one_address_cannot_lock_the_real_person_out_from_another(store):
    for _ in range(MAX_FAILURES * 2):
        with pytest.raises(AccountError, match="incorrect") as refused:
            store.authenticate("alice", "devinette", client=ATTACKER, delay=False)
    assert str(refused.value) == REFUSED
    with pytest.raises(AccountError) as locked:
        store.authenticate("alice", PASSWORD, client=ATTACKER, delay=False)  # locked for the attacker's address
    assert str(locked.value) == REFUSED and store.is_locked("alice")  # the administration sees the lock
    assert store.authenticate("alice", PASSWORD, client=PERSON, delay=False).name == "alice"
    with pytest.raises(AccountError):  # her success did not lift the attacker's lock
        store.authenticate("alice", PASSWORD, client=ATTACKER, delay=False)
    assert ATTACKER not in store.path.read_text(encoding="utf-8")  # a digest, not the address
    store.unlock("alice")
    assert store.authenticate("alice", PASSWORD, client=ATTACKER, delay=False).name == "alice"


def test_an_address_over_its_limit_is_refused_for_every_name_without_a_password_check(store, monkeypatch):
    monkeypatch.setenv("RESEAUX_SIGNIN_FAILURES", "6")
    now = 5_000_000.0
    for number in range(6):  # one wrong password on six names: no account is locked
        with pytest.raises(AccountError):
            store.authenticate(f"nom{number}", "devinette", client="192.0.2.9", now=now, delay=False)
    start = time.perf_counter()
    with pytest.raises(AccountError) as refused:
        store.authenticate("alice", PASSWORD, client="192.0.2.9", now=now + 60, delay=False)
    assert str(refused.value) == REFUSED and time.perf_counter() - start < 0.02  # no Argon2, no file lock
    assert not store.is_locked("alice")
    assert store.authenticate("alice", PASSWORD, client=PERSON, now=now + 60, delay=False).name == "alice"
    # LOCK_MINUTES later the address may try again.
    assert store.authenticate("alice", PASSWORD, client="192.0.2.9", now=now + 16 * 60, delay=False).name == "alice"


def test_an_attackers_failures_do_not_slow_the_real_persons_answers(store, monkeypatch):
    for _ in range(8):
        with pytest.raises(AccountError):
            store.authenticate("alice", "devinette", client=ATTACKER, delay=False)
    slept = []
    monkeypatch.setattr(signin_limits.time, "sleep", slept.append)  # the delays asked, without waiting them
    with pytest.raises(AccountError):
        store.authenticate("alice", "une faute de frappe", client=PERSON)
    with pytest.raises(AccountError):
        store.authenticate("alice", "devinette", client=ATTACKER)
    # Her first mistake waits 0.25 s (the name's 8 failures from elsewhere made it 2 s); the attacker waits 2 s.
    assert slept == [0.25, signin_limits.MAX_DELAY]


class CountingHasher:
    """Argon2's stand-in: each check takes 0.1 s; how many ran at once is recorded."""

    def __init__(self, real) -> None:
        self.real, self.now, self.most, self.lock = real, 0, 0, threading.Lock()

    def _timed(self, work):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(0.1)
        try:
            return work()
        finally:
            with self.lock:
                self.now -= 1

    def hash(self, password):
        return self._timed(lambda: self.real.hash(password))

    def verify(self, hashed, password):
        return self._timed(lambda: self.real.verify(hashed, password))


def test_ten_threads_from_one_address_cost_one_password_check_at_a_time(store, monkeypatch):
    hasher = CountingHasher(accounts._hasher)
    monkeypatch.setattr(accounts, "_hasher", hasher)

    def attempts(clients):
        """One sign-in per client, all at once, each on a name of its own (no file lock taken)."""

        def attempt(number, client):
            with pytest.raises(AccountError):
                store.authenticate(f"nom{number}", "devinette", client=client, delay=False)

        threads = [threading.Thread(target=attempt, args=pair) for pair in enumerate(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)

    attempts([ATTACKER] * 10)
    assert hasher.most == 1  # the others waited their turn without using the processors
    attempts([f"192.0.2.{n}" for n in range(4)])
    assert hasher.most > 1  # different addresses are not made to wait for each other


def test_failures_from_a_thousand_addresses_do_not_grow_the_file_without_end(store, monkeypatch):
    monkeypatch.setattr(accounts, "MAX_CLIENTS", 3)
    monkeypatch.setattr(
        accounts,
        "_hasher",
        type(
            "Fast",
            (),
            {  # no Argon2 cost for this count
                "hash": staticmethod(lambda p: "x"),
                "verify": staticmethod(lambda h, p: (_ for _ in ()).throw(accounts.VerifyMismatchError())),
            },
        )(),
    )
    for number in range(6):
        with pytest.raises(AccountError):
            store.authenticate("alice", "devinette", client=f"192.0.2.{number}", now=1000.0 + number, delay=False)
    assert len(store.load()["alice"].clients) == 3  # the three most recent
    with pytest.raises(AccountError):
        store.authenticate("alice", "devinette", client="192.0.2.9", now=1000.0 + 25 * 3600, delay=False)
    assert len(store.load()["alice"].clients) == 1  # a day later, the old counts are forgotten


def test_attempts_at_once_from_one_address_stop_at_its_limit(store, monkeypatch):
    """Each refusal is counted before the client's turn passes to its next attempt."""
    monkeypatch.setenv("RESEAUX_SIGNIN_FAILURES", "3")
    checked = []
    monkeypatch.setattr(accounts, "_hasher", type("Fast", (), {"hash": staticmethod(checked.append)})())
    counted = signin_limits.count_failure

    def paused_then_counted(*args):  # as a scheduler may pause a thread right after its refusal
        time.sleep(0.05)
        return counted(*args)

    monkeypatch.setattr(signin_limits, "count_failure", paused_then_counted)

    def attempt(number):
        with pytest.raises(AccountError):
            store.authenticate(f"nom{number}", "devinette", client=ATTACKER, delay=False)

    threads = [threading.Thread(target=attempt, args=(number,)) for number in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(checked) == 3  # three passwords tried; the seven others refused before any check


def test_a_busy_accounts_file_gets_the_one_answer_at_sign_in(store, monkeypatch, caplog):
    """Only an existing name reaches the file's lock: its own message would say the name exists."""

    @contextmanager
    def stuck(lock_path, timeout):
        raise LockTimeout(lock_path, timeout)
        yield

    monkeypatch.setattr(documents, "file_lock", stuck)
    for name in ("alice", "personne"):
        with pytest.raises(AccountError) as refused, caplog.at_level(logging.WARNING, logger="reseaux"):
            store.authenticate(name, PASSWORD, delay=False)
        assert str(refused.value) == REFUSED
    assert [record.getMessage() for record in caplog.records] == [
        f"Connexion refusée : {LockTimeout(store.lock_path, store.lock_timeout)}"
    ]  # the cause, on the server
    with pytest.raises(AccountError, match="n autre enregistrement est en cours"):  # an administrator is told
        store.set_role("alice", "coordinateur")


def refuses(store, password, client, now, name="alice") -> bool:
    try:
        store.authenticate(name, password, client=client, now=now, delay=False)
    except AccountError as exc:
        assert str(exc) == REFUSED
        return True
    return False


def test_the_addresses_of_one_ipv6_network_are_one_client(store):
    """An IPv6 subscriber holds a whole /64: one address each try would never be locked out."""
    now = 6_000_000.0
    for number in range(MAX_FAILURES):
        assert refuses(store, "devinette", f"2001:db8:0:1::{number + 1}", now)
    assert refuses(store, PASSWORD, "2001:db8:0:1:ffff::99", now)  # locked for the whole network
    assert not refuses(store, PASSWORD, "2001:db8:0:2::1", now)  # the next network is someone else
    assert not refuses(store, PASSWORD, "::ffff:192.0.2.1", now) and refuses(store, PASSWORD, "2001:db8:0:1::7", now)


def test_an_account_tried_from_many_addresses_accepts_only_those_it_knows(store, monkeypatch):
    monkeypatch.setenv("RESEAUX_ACCOUNT_FAILURES", "6")
    now = 7_000_000.0
    assert not refuses(store, PASSWORD, PERSON, now - 7200)  # she signed in from her address before
    for number in range(6):  # one wrong password from each of six addresses: no address is locked
        assert refuses(store, "devinette", f"192.0.2.{number}", now + number)
    assert refuses(store, PASSWORD, "198.51.100.200", now + 60)  # a new address, even right: the one answer
    assert refuses(store, "devinette", "192.0.2.0", now + 60) and refuses(store, PASSWORD, "192.0.2.0", now + 60)
    assert not refuses(store, PASSWORD, PERSON, now + 60)  # her own address still opens it
    assert not refuses(store, PASSWORD, "198.51.100.200", now + 3601 + 6)  # an hour later, open again
    for number in range(6):
        assert refuses(store, "devinette", f"192.0.2.{number}", now + 7200 + number)
    assert refuses(store, PASSWORD, "203.0.113.1", now + 7260)
    store.unlock("alice")  # the administration lets everyone try again
    assert not refuses(store, PASSWORD, "203.0.113.1", now + 7260)


def test_a_running_lock_is_kept_whatever_the_failures_from_other_addresses(store, monkeypatch):
    monkeypatch.setattr(accounts, "MAX_CLIENTS", 3)
    now = 8_000_000.0
    for _ in range(MAX_FAILURES):
        assert refuses(store, "devinette", ATTACKER, now)
    for number in range(6):  # newer failures than the attacker's, from more addresses than are kept
        assert refuses(store, "devinette", f"192.0.2.{number}", now + 1 + number)
    assert refuses(store, PASSWORD, ATTACKER, now + 60)  # still locked out
    assert len(store.load()["alice"].clients) == 1 + 3  # the lock, and the three most recent counts


def test_ten_thousand_addresses_do_not_wipe_an_attackers_count(store, monkeypatch):
    monkeypatch.setenv("RESEAUX_SIGNIN_FAILURES", "3")
    checked = []
    monkeypatch.setattr(accounts, "_hasher", type("Fast", (), {"hash": staticmethod(checked.append)})())
    now = 9_000_000.0
    for number in range(3):
        assert refuses(store, "devinette", ATTACKER, now, name=f"nom{number}")
    for number in range(10_001):  # memory must stay bounded, not be cleared for everyone at once
        assert refuses(
            store, "devinette", f"10.{number // 65536}.{number // 256 % 256}.{number % 256}", now, name="personne"
        )
    before = len(checked)
    assert refuses(store, "devinette", ATTACKER, now + 60, name="nom9") and len(checked) == before  # still over
    assert refuses(store, "devinette", PERSON, now + 16 * 60, name="personne")
    kept = shared.read("SELECT kind, count(*) FROM failures WHERE kind != 'account' GROUP BY kind")
    assert dict(kept) == {"client": 1, "recent": 1}  # the old ones forgotten
