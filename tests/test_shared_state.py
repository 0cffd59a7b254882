"""State shared by every process of the same data (reseaux.acces.shared): sessions, map tokens, sign-in counts.

Each test runs real processes on one data folder — two Python interpreters started apart (their
memories share nothing), or the app served twice on two ports behind no proxy — and checks that
what one did is what the other sees: before the shared file, each process kept its own. The
processes' tests run on the SQLite file and on PostgreSQL (``RESEAUX_DATABASE_URL``, a server the
tests start): there, the two processes are as two servers of one database.
"""

from __future__ import annotations

import json
import multiprocessing
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import expect

from reseaux.acces.accounts import AccountError, AccountStore
from reseaux.acces.sessions import COOKIE
from reseaux.app_data import load_actors
from tests.browser import LoggedApp, data_folder, http_get, settle, sign_in_for_cookie
from tests.conftest import PASSWORD, ROOT, evaluate_in_map

SPAWN = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing inherited but the environment


def _process():
    return ProcessPoolExecutor(max_workers=1, mp_context=SPAWN)


def _sign_ins(path: str, attempts: list[tuple[str, str, str]]) -> list[bool]:
    """In this process: each (name, password, client) sign-in, True when accepted."""
    store, answers = AccountStore(Path(path)), []
    for name, password, client in attempts:
        try:
            store.authenticate(name, password, client=client, delay=False)
            answers.append(True)
        except AccountError:
            answers.append(False)
    return answers


def _sessions(path: str, action: str, value: str = "") -> str | None:
    """In this process: open a session for ``value`` (→ "token ticket"), redeem a ticket, resume
    or close a token — the calls serve.py's routes and the pages make."""
    from reseaux.acces.sessions import SESSIONS

    stamp_of = AccountStore(Path(path)).stamp
    if action == "open":
        return " ".join(SESSIONS.open(value, stamp=stamp_of(value) or ""))
    if action == "redeem":
        return SESSIONS.redeem(value)
    if action == "resume":
        return SESSIONS.resume(value, 1800, stamp_of=stamp_of)
    if action == "close":
        return SESSIONS.close(value)
    if action == "password":
        return AccountStore(Path(path)).set_password("coord", "un-tout-autre-mot-de-passe")
    raise ValueError(action)


@pytest.fixture(params=["fichiers", "postgresql"])
def accounts(request, tmp_path, monkeypatch):
    if request.param == "postgresql":  # in the environment the processes inherit, as the accounts' path
        monkeypatch.setenv("RESEAUX_DATABASE_URL", request.getfixturevalue("database_url"))
    else:
        monkeypatch.delenv("RESEAUX_DATABASE_URL", raising=False)
    path = tmp_path / "comptes.json"
    monkeypatch.setenv("RESEAUX_ACCOUNTS", str(path))  # in the environment the processes inherit
    store = AccountStore(path)
    for name in ("coord", "alice", "bob"):
        store.add(name, PASSWORD, "coordinateur")
    return str(path)


def test_a_session_opened_in_one_process_is_open_and_closed_in_the_other(accounts):
    with _process() as a, _process() as b:
        token, ticket = a.submit(_sessions, accounts, "open", "coord").result().split()
        assert b.submit(_sessions, accounts, "redeem", ticket).result() == token  # the route of B sets the cookie
        assert a.submit(_sessions, accounts, "redeem", ticket).result() is None  # once, whichever process
        assert b.submit(_sessions, accounts, "resume", token).result() == "coord"
        a.submit(_sessions, accounts, "close", token).result()  # « Se déconnecter » through A
        assert b.submit(_sessions, accounts, "resume", token).result() is None

        token, _ = a.submit(_sessions, accounts, "open", "coord").result().split()
        assert b.submit(_sessions, accounts, "resume", token).result() == "coord"
        a.submit(_sessions, accounts, "password").result()  # its password changed through A
        assert b.submit(_sessions, accounts, "resume", token).result() is None


def test_the_shared_file_holds_no_token_nor_ticket_in_clear(accounts, request):
    from reseaux.acces import shared
    from reseaux.acces.sessions import SESSIONS

    token, ticket = SESSIONS.open("coord")
    if request.node.callspec.params["accounts"] == "postgresql":
        assert not shared.path().exists()  # the database alone holds them
        rows = shared.read("SELECT key, name, stamp FROM sessions") + shared.read("SELECT key, sealed FROM tickets")
        content = repr(rows).encode()
    else:
        content = shared.path().read_bytes() + Path(str(shared.path()) + "-wal").read_bytes()
    assert token.encode() not in content and ticket.encode() not in content
    assert SESSIONS.redeem(ticket) == token


def test_a_clients_failures_in_one_process_count_in_the_other(accounts, monkeypatch):
    monkeypatch.setenv("RESEAUX_SIGNIN_FAILURES", "3")
    with _process() as a, _process() as b:
        # Three wrong passwords from one address through A (on three names: the client's own limit)…
        assert (
            a.submit(_sign_ins, accounts, [(n, "devinette", "192.0.2.7") for n in ("coord", "alice", "bob")]).result()
            == [False] * 3
        )
        # …and through B, that address is refused even the right password; another address is not.
        assert b.submit(
            _sign_ins, accounts, [("coord", PASSWORD, "192.0.2.7"), ("coord", PASSWORD, "198.51.100.1")]
        ).result() == [False, True]


def test_an_accounts_budget_spent_through_one_process_is_spent_in_the_other(accounts, monkeypatch):
    monkeypatch.setenv("RESEAUX_ACCOUNT_FAILURES", "3")
    with _process() as a, _process() as b:
        assert a.submit(_sign_ins, accounts, [("alice", PASSWORD, "203.0.113.1")]).result() == [True]
        # Three addresses miss alice's password through A: her budget is spent…
        assert (
            a.submit(_sign_ins, accounts, [("alice", "devinette", f"192.0.2.{n}") for n in (1, 2, 3)]).result()
            == [False] * 3
        )
        # …so B lets in only the address she signed in from through A, not a new one.
        assert b.submit(
            _sign_ins, accounts, [("alice", PASSWORD, "192.0.2.99"), ("alice", PASSWORD, "203.0.113.1")]
        ).result() == [False, True]


def _requests(family: str, client: str, count: int) -> list[bool]:
    """In this process: ``count`` requests of ``client`` on the routes of ``family``, True when served."""
    from reseaux.serveur.ratelimit import LIMITS

    return [LIMITS.wait_for(family, client) == 0.0 for _ in range(count)]


def test_a_clients_requests_through_one_process_count_in_the_other(accounts, monkeypatch):
    monkeypatch.setenv("RESEAUX_RATE_SESSION", "4")  # 4 a minute: one at once, the next 15 s later
    with _process() as a, _process() as b:
        assert a.submit(_requests, "session", "192.0.2.7", 1).result() == [True]
        # Within the 15 s: B refuses that address its next one, not another address.
        assert b.submit(_requests, "session", "192.0.2.7", 1).result() == [False]
        assert b.submit(_requests, "session", "198.51.100.1", 1).result() == [True]


@pytest.mark.browser
def test_two_servers_share_the_sign_in_its_end_and_the_map_tokens(browser, tmp_path, referential):
    _, env = data_folder(tmp_path)
    demo = load_actors(ROOT / "data" / "actors.csv", referential).directory.actors  # a coordinator sees every fiche
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="fr-FR")
    with LoggedApp(env) as a, LoggedApp(env) as b:
        page = context.new_page()
        page.goto(a.url + "/")
        cookie = sign_in_for_cookie(page, "coord")

        # The coordinator's map drawn by A asks its fiches of B.
        source = evaluate_in_map(page, "() => document.documentElement.innerHTML")
        path = re.search(r'rx\.httpFiches\("([^"]+)"\)', source).group(1)
        status, body = http_get(f"{b.url}{path}/fiches?lignes=" + ",".join(str(i) for i in range(len(demo))))
        assert status == 200, body
        assert [fiche[0] for fiche in json.loads(body)["fiches"]] == list(demo["nom"])

        # The cookie A gave opens the session on B (a cookie is the host's, whatever the port).
        other = context.new_page()
        other.goto(b.url + "/annuaire")
        other.get_by_text("Connecté·e : coord").wait_for(timeout=60_000)
        other.get_by_role("tab", name="Importer").wait_for(timeout=60_000)
        settle(other)

        page.get_by_test_id("stSidebar").get_by_role("button", name="Se déconnecter").click()  # through A
        page.get_by_text("Se connecter (membres du réseau)").wait_for(timeout=30_000)

        # B's next click finds the session closed; the old cookie opens nothing there; the map token is dead.
        other.get_by_test_id("stSidebarNav").get_by_role("link", name="Carte du réseau", exact=True).click()
        other.get_by_text("Session expirée ou fermée : reconnectez-vous.").wait_for(timeout=60_000)
        expect(other.get_by_text("Connecté·e")).to_have_count(0)
        context.add_cookies([{"name": COOKIE, "value": cookie["value"], "url": b.url}])
        other.goto(b.url + "/annuaire")
        other.get_by_text("Se connecter (membres du réseau)").wait_for(timeout=60_000)
        expect(other.get_by_text("Connecté·e")).to_have_count(0)
        assert http_get(f"{b.url}{path}/fiches?lignes=0")[0] == 404
    context.close()
