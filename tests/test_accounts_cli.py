"""The command line's list of accounts says « (verrouillé) » only of a lock still running."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from reseaux.acces.accounts import MAX_FAILURES, AccountError, AccountStore
from tests.conftest import PASSWORD, ROOT


def lock(store: AccountStore, name: str, now: float) -> None:
    for _ in range(MAX_FAILURES):
        with pytest.raises(AccountError):
            store.authenticate(name, "devinette", client="192.0.2.1", now=now, delay=False)


def test_the_list_of_accounts_shows_only_the_locks_still_running(tmp_path):
    store = AccountStore(tmp_path / "comptes.json")
    store.add("alice", PASSWORD, "membre")
    store.add("bob", PASSWORD, "membre")
    lock(store, "alice", 1_000_000.0)  # long over
    lock(store, "bob", time.time())
    env = {"RESEAUX_ACCOUNTS": str(store.path), "PATH": "/usr/bin:/bin"}
    listed = subprocess.run(
        [sys.executable, "-m", "reseaux", "comptes", "liste"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == ["alice\tmembre\t", "bob\tmembre\t (verrouillé)"]
