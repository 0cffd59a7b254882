"""Every click re-checks who is asking.

Measured when filed: a coordinator demoted by the command line kept « Coordination » in an open
tab and saved a fiche; after `comptes supprimer` the open tab stayed signed in; after
`comptes motdepasse` the open tab and a new tab (through the cookie) stayed signed in; a member's
map token kept answering members-only fiches for 30 minutes after a sign-out made on a page
without a map. Here the account is changed by another process (the command line), as then.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from streamlit.testing.v1 import AppTest

from reseaux.acces.sessions import SessionStore
from reseaux.annuaire.fiche_service import SERVICE, FicheService
from tests.conftest import ROOT, sign_in


def cli(accounts_file, *args, password: str | None = None) -> None:
    """``python -m reseaux comptes …`` in another process, as an administrator does."""
    env = {**os.environ, "RESEAUX_ACCOUNTS": str(accounts_file)}
    done = subprocess.run(
        [sys.executable, "-m", "reseaux", "comptes", *args],
        input=password,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def open_annuaire(at):
    at.switch_page("views/annuaire.py").run()
    assert not at.exception
    return at


def can_edit(at) -> bool:
    return "Annuaire du réseau" in [t.value for t in at.title]


def signed_in_as(at) -> str:
    return " ".join(c.value for c in at.sidebar.caption if "Connecté·e" in c.value)


@pytest.fixture()
def coordinator(monkeypatch, accounts_file):
    at = sign_in(AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run(), "coord")
    assert can_edit(open_annuaire(at)) and "Coordination" in signed_in_as(at)
    return at


def test_a_coordinator_demoted_by_the_command_line_loses_the_annuaire_at_the_next_click(coordinator, accounts_file):
    cli(accounts_file, "role", "coord", "--role", "membre")
    at = open_annuaire(coordinator)
    assert not can_edit(at) and "Coordination" not in signed_in_as(at)
    assert any("Votre compte a changé" in w.value for w in at.sidebar.warning)
    assert any("réservée à la coordination" in w.value for w in at.warning)


def test_a_password_changed_elsewhere_ends_the_open_tab(coordinator, accounts_file):
    cli(accounts_file, "motdepasse", "coord", "--password-stdin", password="un-tout-autre-mot-de-passe\n")
    at = open_annuaire(coordinator)
    assert not can_edit(at) and signed_in_as(at) == ""


def test_a_removed_account_is_signed_out_at_the_next_click(coordinator, accounts_file):
    cli(accounts_file, "supprimer", "coord")
    at = open_annuaire(coordinator)
    assert not can_edit(at) and signed_in_as(at) == ""


def test_the_cookie_of_a_session_whose_password_changed_opens_nothing(accounts_file, monkeypatch):
    """A new tab finds the session through its cookie: not once the password changed elsewhere."""
    from reseaux.acces.accounts import AccountStore

    store, accounts = SessionStore(), AccountStore(accounts_file)
    token, _ = store.open("coord", stamp=accounts.stamp("coord"))
    assert store.resume(token, 600, stamp_of=accounts.stamp) == "coord"
    cli(accounts_file, "motdepasse", "coord", "--password-stdin", password="un-tout-autre-mot-de-passe\n")
    assert store.resume(token, 600, stamp_of=accounts.stamp) is None
    assert store.resume(token, 600) is None  # and the session is gone, not just refused once


def test_a_session_closed_while_its_account_is_read_is_not_resumed():
    """``stamp_of`` reads the accounts file between the store's two looks at a session: a sign-out
    (or a removal, a password change) made meanwhile in another tab must hold."""
    store = SessionStore()
    for end in ("close", "close_account"):
        token, _ = store.open("coord", stamp="s", now=1000.0)

        def stamp_of(name, token=token, end=end):
            store.close(token) if end == "close" else store.close_account(name)
            return "s"  # the account itself is unchanged

        assert store.resume(token, 600, stamp_of=stamp_of, now=1010.0) is None
        assert not store.alive(store.key(token), 600, now=1010.0)
        reopened, _ = store.open("coord", stamp="s", now=1000.0)
        assert not store.alive(
            store.key(reopened), 600, stamp_of=lambda name, reopened=reopened: store.close(reopened) or "s", now=1010.0
        )


def test_a_map_token_answers_only_while_its_sign_in_holds(referential, accounts_file):
    from reseaux.acces.accounts import AccountStore
    from reseaux.app_data import load_actors

    actors = load_actors(ROOT / "data" / "actors.csv", referential).directory.actors
    store, accounts, service = SessionStore(), AccountStore(accounts_file), FicheService()
    session, _ = store.open("membre", stamp=accounts.stamp("membre"))
    key = store.key(session)
    token = service.register(
        "tab", actors, referential, 600, check=lambda: store.alive(key, 600, stamp_of=accounts.stamp)
    )
    assert service.fiches(token, [0]) is not None and service.search(token, "rouen")["rows"]
    store.close(session)  # signed out in another tab
    assert service.fiches(token, [0]) is None and service.search(token, "rouen") is None


def test_a_sign_out_on_a_page_without_a_map_ends_the_map_token(monkeypatch, accounts_file):
    at = sign_in(AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run(), "membre")
    owner = at.session_state["_fiche_owner"]
    token = SERVICE._by_owner[owner][1]  # the token the map page registered for this tab
    assert SERVICE.fiches(token, [0]) is not None
    at.switch_page("views/sources.py").run()  # a page without a map
    at.sidebar.button(key="auth_logout").click().run()
    assert SERVICE.fiches(token, [0]) is None


def test_a_search_uses_a_few_words_of_two_letters_or_more(referential):
    from reseaux.annuaire.fiche_service import MAX_WORDS
    from reseaux.app_data import load_actors

    actors = load_actors(ROOT / "data" / "actors.csv", referential).directory.actors
    service = FicheService()
    token = service.register("tab", actors, referential, 600)
    assert service.search(token, " ".join("abcdefghijklmnopqrstuvwxyz") * 4) == {"rows": [], "more": False}
    found = service.search(token, "rouen " * 50)["rows"]
    assert found == service.search(token, "rouen")["rows"] and found
    assert MAX_WORDS <= 8


def test_a_map_token_answers_no_more_once_its_file_changed(referential, tmp_path):
    """A fiche made members-only (or erased) by a save — in this process or another — must not be
    served by a token of before: the token holds the file's version it was read from."""
    from reseaux.annuaire.store import DirectoryStore
    from reseaux.app_data import load_actors

    path = tmp_path / "actors.csv"
    path.write_bytes((ROOT / "data" / "actors.csv").read_bytes())
    service = FicheService()
    token = service.register(
        "tab",
        load_actors(path, referential).directory.actors,
        referential,
        600,
        source=(str(path), path.stat().st_mtime),
    )
    assert service.fiches(token, [0]) is not None
    store = DirectoryStore(path)
    base = store.load()
    store.save(base.table.assign(visibilite="membres"), base, "coord")  # everything made members-only
    assert service.fiches(token, [0]) is None and service.search(token, "rouen") is None
