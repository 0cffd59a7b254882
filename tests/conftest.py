"""Shared fixtures: project paths, the real referential, and a served app for browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from reseaux.acces.accounts import AccountStore
from reseaux.annuaire.referential import load_referential

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "screenshots"
#: Fixtures that drive Chromium or serve the app: a test using one (directly or through another
#: fixture) is a browser test, marked so by :func:`pytest_collection_modifyitems` (``make
#: test-fast`` leaves it out). A test starting a server itself must carry the mark: ServedApp says so.
BROWSER_FIXTURES = {"browser", "served"}
#: The test being run (set before its fixtures), for :class:`ServedApp`'s check of its marker.
_running: pytest.Item | None = None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``browser`` every test whose fixtures reach Chromium: none can forget the mark."""
    for item in items:
        if BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    global _running
    _running = item


@pytest.fixture(scope="session")
def referential():
    return load_referential(ROOT / "data" / "referentiel.csv")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clone_path(*first: str) -> str:
    """The ``PYTHONPATH`` of a Python process this clone starts (a server, a saver, a migration):
    ``first`` (a test's own modules: faults, a boot script), then this clone's ``src`` and root.
    The virtual environment installs ``reseaux`` as a link to the clone that made it: a second
    clone borrowing it ran the first one's code (a measuring trap, met in the benches)."""
    return os.pathsep.join([*filter(None, first), str(ROOT / "src"), str(ROOT)])


class ServedApp:
    """A Streamlit server on loopback, started for a test and stopped after it.

    Its output is read as it comes (into :attr:`lines`): a pipe nobody reads fills up and
    blocks a server that logs a lot.
    """

    def __init__(
        self, env: dict[str, str] | None = None, args: list[str] | None = None, script: Path | None = None
    ) -> None:
        self.script = script or ROOT / "serve.py"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.env["PYTHONPATH"] = clone_path(self.env.get("PYTHONPATH", ""))  # this clone's code, not another's
        self.args = list(args or [])
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> ServedApp:
        if _running is not None and _running.get_closest_marker("browser") is None:
            pytest.fail(
                f"{_running.nodeid} starts a Streamlit server: mark it @pytest.mark.browser "
                "(make test-fast leaves those out)",
                pytrace=False,
            )
        # A free port can be taken by another test process (pytest-xdist) between free_port()
        # and Streamlit's bind: then Streamlit says « Port … is not available » and stops; another port is tried.
        for _attempt in range(3):
            if self._start():
                return self
            if not any("is not available" in line for line in self.lines):
                break
            self.__exit__(None, None, None)
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
        self.__exit__(None, None, None)
        raise RuntimeError("Streamlit did not start within 90 s:\n" + "\n".join(self.lines[-30:]))

    def _start(self) -> bool:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(self.script),
                "--server.port",
                str(self.port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
                *self.args,
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.lines: list[str] = []
        self.arrived = threading.Condition()
        threading.Thread(target=self._drain, daemon=True).start()
        # Streamlit says « You can now view your Streamlit app » once it listens: wait for that
        # line (or the process's end), then ask its health route.
        if self.wait_for_line(lambda line: "You can now view" in line, 90):
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=30) as resp:
                    return resp.status == 200
            except OSError:
                pass
        return False

    def _drain(self) -> None:
        for raw in self.process.stdout:
            with self.arrived:
                self.lines.append(raw.decode("utf-8", "replace").rstrip())
                self.arrived.notify_all()
        with self.arrived:
            self.arrived.notify_all()

    def wait_for_line(self, wanted, seconds: float, start: int = 0) -> str | None:
        """The first output line from ``start`` on for which ``wanted(line)`` is true, waited up to
        ``seconds`` as the server writes it; None when the time is out or the process has ended."""
        deadline = time.monotonic() + seconds
        with self.arrived:
            while True:
                found = next((line for line in self.lines[start:] if wanted(line)), None)
                remaining = deadline - time.monotonic()
                if found is not None or remaining <= 0 or self.process.poll() is not None:
                    return found
                self.arrived.wait(remaining)

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture(scope="module")
def served():
    """The demo app on a free port, shared by a module's tests (a module may define its own)."""
    with ServedApp() as app:
        yield app


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    from playwright.sync_api import expect, sync_playwright

    # expect() waits for its condition; 5 s (Playwright's default) is short for a page redrawn
    # while the machine's two cores are busy.
    expect.set_options(timeout=30_000)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture()
def page_browser(page):
    """The browser page, for modules where ``page`` names something else."""
    return page


def map_frame(page):
    """The streamlit-folium iframe holding the Leaflet map (the newest, while a rerun swaps it)."""
    selector = "iframe[title='streamlit_folium.st_folium']"
    page.locator(selector).last.wait_for(timeout=60_000)
    return page.frame_locator(selector).last


def _map_document(page, selector: str):
    page.locator(selector).last.wait_for(timeout=60_000)
    return page.locator(selector).last.element_handle().content_frame()


def wait_in_map(
    page,
    script: str,
    arg=None,
    *,
    timeout: float = 30_000,
    selector: str = "iframe[title='streamlit_folium.st_folium']",
):
    """Wait until ``script`` (a JavaScript function of ``arg``, run *inside* the newest map frame,
    where ``document`` is the map's) returns a truthy value; returns it.

    The map's frame runs in an opaque origin (reseaux.serveur.security_headers): the page around it
    cannot read ``contentDocument``, so a test asks the frame itself. A frame replaced by a
    rerun while waiting is found again."""
    from playwright.sync_api import Error

    deadline = time.monotonic() + timeout / 1000
    while True:
        try:
            frame = _map_document(page, selector)
            remaining = max(1.0, (deadline - time.monotonic()) * 1000)
            if frame is None:  # the element is there, its document not yet: wait for it to load
                page.locator(selector).last.element_handle().wait_for_element_state("visible", timeout=remaining)
                page.wait_for_load_state(timeout=remaining)
                if time.monotonic() > deadline:
                    raise AssertionError(f"pas de document dans le cadre {selector}")
                continue
            return frame.wait_for_function(script, arg=arg, timeout=remaining).json_value()
        except Error as exc:
            gone = "detached" in str(exc) or "destroyed" in str(exc) or "NoneType" in str(exc)
            if not gone or time.monotonic() > deadline:
                raise


#: The Leaflet map has stopped moving: no zoom, pan or cluster animation running, and its size is
#: its container's (after a resize, Leaflet has followed). In the app's frame the map is
#: ``window.map`` (streamlit-folium); in an exported page, folium's global ``map_…``.
MAP_STILL = """() => {
  const map = window.map || Object.values(window).find(v => window.L && v instanceof L.Map);
  if (!map || !map._loaded || map._animatingZoom || (map._panAnim && map._panAnim._inProgress)) return false;
  if (document.querySelector(".leaflet-zoom-anim, .leaflet-cluster-anim")) return false;
  const size = map.getSize(), box = map.getContainer();
  return size.x === box.clientWidth && size.y === box.clientHeight;
}"""


def map_still(page, *, timeout: float = 30_000) -> None:
    """Wait until the newest map frame's map has stopped moving (:data:`MAP_STILL`)."""
    wait_in_map(page, MAP_STILL, timeout=timeout)


def evaluate_in_map(page, script: str, arg=None, *, selector: str = "iframe[title='streamlit_folium.st_folium']"):
    """``script`` (a JavaScript function of ``arg``) evaluated inside the newest map frame."""
    return wait_in_map(page, f"(arg) => ({{value: ({script})(arg)}})", arg, selector=selector).get("value")


@pytest.fixture(autouse=True)
def audit_file(tmp_path_factory, monkeypatch):
    """Each test's audit trail in a folder of its own: never the user's (beside ~/.config's accounts)."""
    path = tmp_path_factory.mktemp("audit") / "audit.jsonl"
    monkeypatch.setenv("RESEAUX_AUDIT", str(path))
    return path


PASSWORD = "mot-de-passe-de-test"
ROLES_FOR_TESTS = {"membre": "membre", "coord": "coordinateur", "admin": "administrateur"}


@pytest.fixture(autouse=True)
def _own_shared_state(tmp_path, monkeypatch):
    """Each test its own accounts path, so its own shared state beside it (sessions, map tokens,
    sign-in failures: :mod:`reseaux.acces.shared`): no test sees another's, none writes in ~/.config."""
    monkeypatch.setenv("RESEAUX_ACCOUNTS", str(tmp_path / "comptes.json"))


@pytest.fixture()
def accounts_file(tmp_path, monkeypatch):
    """Built-in accounts for each role (fictional people), in a file the app is pointed at."""
    path = tmp_path / "comptes.json"
    store = AccountStore(path)
    for name, role in ROLES_FOR_TESTS.items():
        store.add(name, PASSWORD, role, f"{name}@example.org")
    monkeypatch.setenv("RESEAUX_ACCOUNTS", str(path))
    return path


def sign_in(at, name: str, password: str = PASSWORD):
    """Sign in through the sidebar form of an AppTest, as a person would."""
    at.text_input(key="auth_name").input(name)
    at.text_input(key="auth_password").input(password)
    at.button(key="FormSubmitter:auth_form-Se connecter").click().run()
    return at


def visible_demo(referential, role: str = "visiteur"):
    """The demo actors ``role`` may see (the app's own rule)."""
    from reseaux.acces.access import visible_actors
    from reseaux.app_data import load_actors

    actors = load_actors(ROOT / "data" / "actors.csv", referential).directory.actors
    return visible_actors(actors, role, "public")


def positioned(frame):
    """Actors drawn as points (any CRS; a missing point is an actor without a position) as the
    directory holds them: ``latitude`` and ``longitude`` in WGS84, no geometry."""
    import pandas as pd

    wgs84 = frame.geometry.to_crs(4326) if frame.crs is not None else frame.geometry
    out = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    placed = wgs84.notna()
    out["latitude"] = wgs84.y.where(placed).astype(float)
    out["longitude"] = wgs84.x.where(placed).astype(float)
    return out


def open_page(view: str, **query):
    """An AppTest of app.py opened on ``views/<view>.py`` with ``query`` in the URL."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.switch_page(f"views/{view}.py")
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


@pytest.fixture(scope="session")
def territory():
    from reseaux.app_data import load_territory

    return load_territory()


@pytest.fixture(scope="session")
def postgres_server():
    """One PostgreSQL server with PostGIS for the whole run (see tests/postgres_server.py)."""
    from tests.postgres_server import PostgresServer

    with PostgresServer() as server:
        yield server


@pytest.fixture()
def database_url(postgres_server):
    """A fresh database of its own for this test; the connection pools this process opened on it
    are closed after (one pool per database and process: a run of a hundred such tests would
    otherwise hold hundreds of connections, past the server's max_connections)."""
    url = postgres_server.new_database()
    yield url
    close_pools_of(url)


def close_pools_of(url: str) -> None:
    """Close the connection pools this process opened on the database ``url``."""
    from reseaux.acces import shared
    from reseaux.stockage import postgres

    for pools, lock in ((postgres._POOLS, postgres._POOLS_LOCK), (shared._POOLS, shared._POOLS_LOCK)):
        with lock:
            found = pools.pop(url, None)
        if found is not None:
            found.close()
