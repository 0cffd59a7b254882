"""`make online` played here: two app processes behind Caddy (``tls internal``) kept alive by
supervisord (scripts/online.py, the script the Makefile target runs), driven by Chromium over
https.

Which process serves a browser is chosen by Caddy's routing cookie, whose value is the
HMAC-SHA256 (empty key) of the process's address (Caddy 2.6, ``lb_policy cookie``): the test
computes it to send a browser to one process or the other, and reads it back to know where
Caddy sent it.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from reseaux.acces.sessions import COOKIE
from tests import browser as helpers
from tests.conftest import ROOT, map_frame
from tests.test_journey_coordinator import open_fiche

sys.path.insert(0, str(ROOT / "scripts"))
from online import ROUTING_COOKIE

pytestmark = pytest.mark.browser

ACTOR = "demo-002"
NEW_PHONE = "0262 20 00 00"
SUPERVISORCTL = str(Path(sys.executable).with_name("supervisorctl"))


def _free_ports(count: int) -> int:
    """The first of ``count`` consecutive free ports on the loopback."""
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            first = sock.getsockname()[1]
        if first + count < 65536 and all(_free(first + i) for i in range(count)):
            return first
    raise RuntimeError("no consecutive free ports")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _answers(url: str) -> bool:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # Caddy's own authority
    try:
        with urllib.request.urlopen(url, timeout=3, context=context) as answer:
            return answer.status == 200
    except OSError:
        return False


class Online:
    """scripts/online.py started on free ports, with the demo data copied in a temporary folder."""

    def __init__(self, tmp: Path) -> None:
        self.folder, env = helpers.data_folder(tmp)
        self.run_dir = tmp / "online"
        self.https_port = _free_ports(1)
        self.first_port = _free_ports(2)
        self.ports = [self.first_port, self.first_port + 1]
        self.url = f"https://localhost:{self.https_port}"
        self.log = (tmp / "online.log").open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "scripts" / "online.py"),
                "--processes",
                "2",
                "--https-port",
                str(self.https_port),
                "--first-port",
                str(self.first_port),
                "--run-dir",
                str(self.run_dir),
            ],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._until(
            lambda: (
                all(_answers(f"http://127.0.0.1:{p}/_stcore/health") for p in self.ports)
                and _answers(self.url + "/_stcore/health")
            ),
            120,
            "the processes and Caddy to answer",
        )

    def routing(self, index: int) -> str:
        """The routing cookie's value that sends a browser to process ``index``."""
        return hmac.new(b"", f"127.0.0.1:{self.ports[index]}".encode(), hashlib.sha256).hexdigest()

    def context(self, browser, index: int):
        """A browser context (its own cookies) that Caddy sends to process ``index``."""
        context = browser.new_context(
            ignore_https_errors=True, viewport={"width": 1400, "height": 1000}, locale="fr-FR"
        )
        context.add_cookies([{"name": ROUTING_COOKIE, "value": self.routing(index), "url": self.url}])
        return context

    def served_by(self, context) -> int:
        """The process Caddy's routing cookie names now (Caddy rewrites it when it sends elsewhere)."""
        value = {c["name"]: c["value"] for c in context.cookies(self.url)}[ROUTING_COOKIE]
        return [self.routing(i) for i in range(len(self.ports))].index(value)

    def pid(self, index: int) -> int:
        answer = subprocess.run(
            [SUPERVISORCTL, "-c", str(self.run_dir / "supervisord.conf"), "pid", f"reseaux-{index}"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        return int(answer.stdout.strip()) if answer.stdout.strip().isdigit() else 0

    def _until(self, condition, seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                log = (self.run_dir.parent / "online.log").read_text(errors="replace")[-3000:]
                raise AssertionError(f"waited {seconds} s for {what}:\n{log}")
            time.sleep(0.5)

    def stop(self) -> None:
        """SIGTERM to supervisord (the script became it): it stops the processes and Caddy."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


@pytest.fixture(scope="module")
def online(tmp_path_factory):
    served = Online(tmp_path_factory.mktemp("online"))
    yield served
    served.stop()
    # Nothing left behind: nothing listens on the app ports nor on the https one.
    assert not any(_listening(port) for port in [*served.ports, served.https_port])


def _phone(folder: Path) -> str:
    with open(folder / "actors.csv", encoding="utf-8") as handle:
        return {row["id"]: row for row in csv.DictReader(handle)}[ACTOR]["telephone"]


def test_over_https_the_map_draws_the_cookie_is_secure_and_a_save_is_seen_through_the_other_process(browser, online):
    old_phone = _phone(online.folder)
    assert old_phone != NEW_PHONE
    first, second = online.context(browser, 0), online.context(browser, 1)
    try:
        # Through process 1 first: a coordinator has the fiche open, as the file says it.
        other = second.new_page()
        other.goto(online.url + "/")
        expect(map_frame(other).locator(".leaflet-container")).to_be_visible(timeout=90_000)
        helpers.sign_in(other, "coord")
        helpers.open_nav_page(other, "Annuaire")
        open_fiche(other, ACTOR)
        expect(other.get_by_label("Téléphone", exact=True)).to_have_value(old_phone)

        # Through process 0: the map draws over https, the sign-in cookie is Secure, HttpOnly, SameSite.
        page = first.new_page()
        answer = page.goto(online.url + "/")
        assert answer.headers["strict-transport-security"].startswith("max-age=")
        expect(map_frame(page).locator(".leaflet-container")).to_be_visible(timeout=90_000)
        helpers.sign_in(page, "coord")
        cookies = {c["name"]: c for c in first.cookies(online.url)}
        session = cookies[COOKIE]
        assert session["secure"] and session["httpOnly"] and session["sameSite"] == "Strict", session
        assert online.served_by(first) == 0 and online.served_by(second) == 1
        # The routing cookie Caddy gives a browser that has none has the same flags (SameSite Lax).
        fresh = browser.new_context(ignore_https_errors=True)
        fresh.new_page().goto(online.url + "/_stcore/health")
        routing = next(c for c in fresh.cookies(online.url) if c["name"] == ROUTING_COOKIE)
        fresh.close()
        assert routing["secure"] and routing["httpOnly"] and routing["sameSite"] == "Lax", routing

        # A save through process 0 ...
        helpers.open_nav_page(page, "Annuaire")
        open_fiche(page, ACTOR)
        page.get_by_label("Téléphone", exact=True).fill(NEW_PHONE)
        page.get_by_role("button", name="Valider la fiche").click()
        expect(page.get_by_text("1 modification en attente")).to_be_visible()
        page.get_by_role("button", name="Enregistrer", exact=True).click()
        expect(page.get_by_text("notée au journal au nom de coord")).to_be_visible()
        assert _phone(online.folder) == NEW_PHONE

        # ... is seen through process 1, which had read the file before it (its store re-reads it).
        other.reload()
        helpers.settle(other)
        helpers.open_nav_page(other, "Annuaire")
        open_fiche(other, ACTOR)
        expect(other.get_by_label("Téléphone", exact=True)).to_have_value(NEW_PHONE)
        assert online.served_by(second) == 1
        helpers.no_error(page)
        helpers.no_error(other)
    finally:
        first.close()
        second.close()


def test_a_sign_out_through_one_process_signs_the_session_out_in_the_other(browser, online):
    first, second = online.context(browser, 0), online.context(browser, 1)
    try:
        page = first.new_page()
        page.goto(online.url + "/")
        helpers.settle(page)
        helpers.sign_in(page, "coord")
        session = next(c for c in first.cookies(online.url) if c["name"] == COOKIE)
        # The same browser session, sent to the other process (as Caddy does when one stops).
        second.add_cookies(
            [{k: session[k] for k in ("name", "value", "domain", "path", "secure", "httpOnly", "sameSite")}]
        )
        other = second.new_page()
        other.goto(online.url + "/")
        other.get_by_test_id("stSidebar").get_by_text("Connecté·e : coord").wait_for(timeout=60_000)
        assert online.served_by(second) == 1

        helpers.sign_out(page)
        other.reload()
        helpers.settle(other)
        expect(other.get_by_test_id("stSidebar").get_by_text("Se connecter (membres du réseau)")).to_be_visible()
        expect(other.get_by_text("Connecté·e : coord")).to_have_count(0)
    finally:
        first.close()
        second.close()


def test_a_process_killed_the_page_keeps_working_and_supervisord_brings_it_back(browser, online):
    context = online.context(browser, 0)
    try:
        page = context.new_page()
        page.goto(online.url + "/")
        expect(map_frame(page).locator(".leaflet-container")).to_be_visible(timeout=90_000)
        assert online.served_by(context) == 0
        killed = online.pid(0)
        assert killed > 0
        os.kill(killed, signal.SIGKILL)
        started = time.monotonic()
        answer = page.reload(timeout=5_000)  # Caddy tries the other process at once
        assert answer.ok
        expect(page.locator("[data-testid='stApp'][data-test-connection-state='CONNECTED']")).to_be_visible(
            timeout=max(1, 5_000 - 1000 * (time.monotonic() - started))
        )
        assert time.monotonic() - started < 5
        assert online.served_by(context) == 1
        expect(map_frame(page).locator(".leaflet-container")).to_be_visible(timeout=90_000)
        helpers.no_error(page)
        # supervisord starts process 0 again, and it answers.
        online._until(
            lambda: online.pid(0) not in (0, killed) and _answers(f"http://127.0.0.1:{online.ports[0]}/_stcore/health"),
            60,
            "process 0 to be back",
        )
    finally:
        context.close()
