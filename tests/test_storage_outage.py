"""A database that stops answering midway (the network to it cut by a relay, the server behind
it running): each reader says it in French, nothing that could not be checked is granted, and
nothing is forgotten for it — a session, an account — so that all goes on when it answers again.

The browser side (a coordinator's click refused, her sign-in and pending edit kept) is in
``tests/test_journey_postgres.py``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from reseaux.acces.accounts import AccountStore
from reseaux.acces.sessions import SESSIONS
from reseaux.stockage import StorageUnavailable, unavailable
from tests.conftest import PASSWORD, close_pools_of
from tests.tcp_relay import TcpRelay


@pytest.fixture()
def relayed(database_url, tmp_path, monkeypatch):
    """The app's settings pointed at ``database_url`` through a relay the test can cut."""
    server = urlsplit(database_url)
    relay = TcpRelay((server.hostname, server.port))
    url = relay.url(database_url)
    monkeypatch.setenv("RESEAUX_DATABASE_URL", url)
    monkeypatch.setenv("RESEAUX_ACCOUNTS", str(tmp_path / "comptes.json"))
    yield relay
    close_pools_of(url)
    relay.close()


def test_a_session_survives_a_cut_and_resumes_after_it(relayed, tmp_path):
    accounts = AccountStore(tmp_path / "comptes.json")
    accounts.add("coord", PASSWORD, "coordinateur")
    token, _ticket = SESSIONS.open("coord", stamp=accounts.stamp("coord") or "")
    assert SESSIONS.resume(token, 1800, stamp_of=accounts.stamp) == "coord"

    relayed.cut()
    with pytest.raises(StorageUnavailable) as raised:
        SESSIONS.resume(token, 1800, stamp_of=accounts.stamp)
    assert "ne répond pas" in raised.value.reason and "127.0.0.1" in raised.value.reason
    with pytest.raises(StorageUnavailable):  # the account cannot be checked: not « no account »
        accounts.stamp("coord")

    relayed.mend()
    assert SESSIONS.resume(token, 1800, stamp_of=accounts.stamp) == "coord"  # nothing was closed


def test_an_account_that_cannot_be_checked_does_not_close_the_session(relayed, tmp_path):
    """The sessions answer but the accounts cannot be read (a cut between the two reads): the
    session is refused for this click and kept, not ended as for an account removed."""
    accounts = AccountStore(tmp_path / "comptes.json")
    accounts.add("coord", PASSWORD, "coordinateur")
    token, _ticket = SESSIONS.open("coord", stamp=accounts.stamp("coord") or "")

    def cut_then_stamp(name: str):
        relayed.cut()
        try:
            return accounts.stamp(name)
        finally:
            relayed.mend()

    with pytest.raises(StorageUnavailable):
        SESSIONS.resume(token, 1800, stamp_of=cut_then_stamp)
    assert SESSIONS.resume(token, 1800, stamp_of=accounts.stamp) == "coord"


def test_the_map_routes_answer_503_in_french_while_the_database_is_cut(relayed):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from reseaux.serveur.web import FICHES_PATH, routes

    client = TestClient(Starlette(routes=routes()))
    assert client.get(f"{FICHES_PATH}/inconnu/fiches?lignes=1").status_code == 404  # answers: unknown token
    relayed.cut()
    answer = client.get(f"{FICHES_PATH}/inconnu/fiches?lignes=1")
    assert answer.status_code == 503
    assert "ne répond pas" in answer.text and "réessayez" in answer.text
    assert "Traceback" not in answer.text and "psycopg" not in answer.text
    relayed.mend()
    assert client.get(f"{FICHES_PATH}/inconnu/fiches?lignes=1").status_code == 404


def test_unavailable_names_outages_only():
    import psycopg

    assert unavailable(StorageUnavailable("La base", "connexion perdue")) == "La base ne répond pas (connexion perdue)"
    try:
        try:
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        except psycopg.OperationalError as exc:
            raise ValueError("lecture") from exc
    except ValueError as outer:
        assert unavailable(outer) == "La base PostgreSQL ne répond pas (OperationalError)"
    assert unavailable(psycopg.errors.LockNotAvailable("lock timeout")) is None  # busy, not down
    assert unavailable(OSError(28, "No space left on device")) is None
    assert unavailable(ValueError("autre")) is None
