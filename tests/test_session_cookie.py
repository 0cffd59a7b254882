"""A built-in sign-in survives a reload and a new tab, until sign-out or the inactivity timeout.

Played in Chromium against the served app: the cookie is HttpOnly, the page never holds the
session token, a ticket opens one cookie once, and a signed-out or idle session opens nothing.
"""

from __future__ import annotations

import time

from playwright.sync_api import expect

from reseaux.acces.sessions import COOKIE, SessionStore
from tests.browser import settle, sign_in_for_cookie
from tests.conftest import ServedApp


def test_a_ticket_opens_one_cookie_once_and_idle_sessions_end():
    store = SessionStore()
    token, ticket = store.open("coord", now=1000.0)
    assert store.redeem(ticket, now=1010.0) == token
    assert store.redeem(ticket, now=1011.0) is None  # used
    _, late = store.open("coord", now=1000.0)
    assert store.redeem(late, now=1000.0 + 61) is None  # expired
    assert store.resume(token, 60, now=1050.0) == "coord"
    assert store.resume(token, 60, now=1105.0) == "coord"  # seen at 1050: still alive
    assert store.resume(token, 60, now=1200.0) is None  # idle 95 s > 60 s
    assert store.resume(token, 60, now=1201.0) is None  # and gone for good
    other, _ = store.open("admin")
    store.close_account("admin")
    assert store.resume(other, 60) is None


def test_sign_in_survives_a_reload_and_a_new_tab_until_sign_out(browser, accounts_file):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="fr-FR")
    page = context.new_page()
    with ServedApp({"RESEAUX_ACCOUNTS": str(accounts_file)}) as app:
        page.goto(app.url + "/")
        cookie = sign_in_for_cookie(page, "coord")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert page.evaluate("document.cookie").find(COOKIE) == -1  # no script of the page can read it

        page.reload()
        page.get_by_text("Connecté·e : coord").wait_for(timeout=60_000)
        # The sidebar's « Connecté·e » is written before the page list (app.py): wait for the list too.
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Annuaire", exact=True).wait_for(timeout=30_000)

        second = context.new_page()  # a new tab of the same browser
        second.goto(app.url + "/annuaire")
        second.get_by_role("tab", name="Importer").wait_for(timeout=60_000)
        second.close()

        page.get_by_role("button", name="Se déconnecter").click()
        page.get_by_text("Se connecter (membres du réseau)").wait_for(timeout=30_000)
        page.reload()
        page.get_by_text("Se connecter (membres du réseau)").wait_for(timeout=60_000)
        expect(page.get_by_text("Connecté·e")).to_have_count(0)

        # A stolen copy of the old cookie opens nothing once signed out.
        context.add_cookies([{"name": COOKIE, "value": cookie["value"], "url": app.url}])
        page.goto(app.url + "/annuaire")
        page.get_by_text("Se connecter (membres du réseau)").wait_for(timeout=60_000)
        expect(page.get_by_text("Connecté·e")).to_have_count(0)
    context.close()


def test_an_idle_session_does_not_come_back_on_reload(browser, accounts_file):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="fr-FR")
    page = context.new_page()
    # 0.1 minute = 6 s of inactivity
    with ServedApp({"RESEAUX_ACCOUNTS": str(accounts_file), "RESEAUX_SESSION_MINUTES": "0.1"}) as app:
        page.goto(app.url + "/")
        sign_in_for_cookie(page, "membre")
        page.reload()
        page.get_by_text("Connecté·e : membre").wait_for(timeout=60_000)
        settle(page)
        # The condition is the clock itself: 6 s without a request from this person.
        idle_from = time.time()
        page.wait_for_function("(t) => Date.now() >= t", arg=(idle_from + 6.5) * 1000, timeout=60_000)
        page.reload()
        page.get_by_text("Se connecter (membres du réseau)").wait_for(timeout=60_000)
        expect(page.get_by_text("Connecté·e")).to_have_count(0)
    context.close()
