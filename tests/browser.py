"""Browser helpers shared by the journey tests and the crawler (headless Chromium, Playwright).

- :func:`data_folder` copies the demo data into a temporary folder and returns the
  ``RESEAUX_*`` settings that point the app at it (the repository's files are never touched);
- :class:`LoggedApp` is :class:`tests.conftest.ServedApp` whose server output is read as it
  comes (a full pipe would block the server) and kept, to report a page's exception;
- :func:`sign_in`, :func:`sign_out`, :func:`open_nav_page`, :func:`nav_titles` do what a
  person does in the sidebar;
- :func:`settle` waits until Streamlit has finished the run a click started;
- :func:`page_errors` lists what a person would see of a failure: Streamlit's exception box,
  a « Traceback », or the French message of ``reseaux.serveur.web.on_script_error``.
"""

from __future__ import annotations

import hashlib
import math
import re
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from reseaux.acces.accounts import AccountStore
from reseaux.acces.sessions import COOKIE
from reseaux.acces.shared import FILE_NAME
from reseaux.serveur.web import ERROR_MESSAGE, SESSION_PATH
from tests.conftest import PASSWORD, ROLES_FOR_TESTS, ROOT, ServedApp, visible_demo

#: Built-in account of each role (see ``conftest.ROLES_FOR_TESTS``); visitors have none.
ACCOUNT_OF_ROLE = {role: name for name, role in ROLES_FOR_TESTS.items()}
#: What a person reads when a page fails: the bold sentence of the French message.
ERROR_SENTENCE = ERROR_MESSAGE.split("**")[1]

#: The page is drawn: Streamlit's app has reached the server (or lost it for good, which
#: no_error() names) and its main block shows something a person can see — text, a frame (the
#: map), an image or a canvas (a table). A blank page is not drawn.
_DRAWN = """() => {
  const app = document.querySelector("[data-testid='stApp']");
  if (!app) return false;
  const connection = app.getAttribute("data-test-connection-state");
  if (connection !== "CONNECTED" && connection !== "DISCONNECTED_FOREVER") return false;
  return [...document.querySelectorAll("[data-testid='stMain'] [data-testid='stElementContainer']")].some(
    e => e.innerText.trim() !== "" || e.querySelector("iframe, img, canvas, svg"));
}"""

_SETTLED = (
    """(quietMs) => {
  const drawn = ("""
    + _DRAWN
    + """)();
  const app = document.querySelector("[data-testid='stApp']");
  if (!app) return false;
  const state = app.getAttribute("data-test-script-state");
  // Still reaching the server (a busy machine takes seconds after goto()), or nothing drawn yet:
  // not idle. A connection lost for good (DISCONNECTED_FOREVER) is idle, and no_error() names it.
  const busy = state === "running" || state === "rerunRequested" || !drawn
    || document.querySelector("[data-testid='stSpinner'], [data-testid='stStatusWidgetRunningIcon'], "
                              + "[data-testid='stStatusWidgetRunningManIcon'], [data-testid='stSkeleton']");
  const now = performance.now();
  if (busy || window.__rxQuietSince === undefined || window.__rxQuietSince === null) {
    window.__rxQuietSince = busy ? null : now;
    return false;
  }
  return now - window.__rxQuietSince >= quietMs;
}"""
)

_ERRORS = """(sentence) => {
  const found = [];
  document.querySelectorAll("[data-testid='stException']").forEach(
    e => found.push("boîte d'exception de Streamlit : " + e.innerText.trim().slice(0, 400)));
  const text = document.body.innerText;
  if (text.includes("Traceback")) found.push("« Traceback » dans la page");
  if (text.includes(sentence)) found.push("message d'erreur de l'application : « " + sentence + " »");
  const app = document.querySelector("[data-testid='stApp']");
  const connection = app && app.getAttribute("data-test-connection-state");
  if (connection && connection !== "CONNECTED") found.push("connexion au serveur : " + connection);
  return found;
}"""


def data_folder(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Copies of the demo directory, scenes and perimeter layers, the test accounts, a geocoding cache: all in
    ``tmp_path/donnees``. Returns the folder and the settings that point the app at it."""
    folder = tmp_path / "donnees"
    folder.mkdir()
    for name in ("actors.csv", "scenes.json"):
        shutil.copy2(ROOT / "data" / name, folder / name)
    accounts = AccountStore(folder / "comptes.json")
    for name, role in ROLES_FOR_TESTS.items():
        accounts.add(name, PASSWORD, role, f"{name}@example.org")
    # The perimeter layers too: a coordinator's click on « Ajouter la couche » writes there.
    shutil.copytree(ROOT / "geo", folder / "geo")
    env = {
        "RESEAUX_ACTORS": str(folder / "actors.csv"),
        "RESEAUX_SCENES": str(folder / "scenes.json"),
        "RESEAUX_GEO_DIR": str(folder / "geo"),
        "RESEAUX_LAYERS": str(folder / "geo" / "layers.toml"),
        "RESEAUX_ACCOUNTS": str(folder / "comptes.json"),
        "RESEAUX_GEOCACHE": str(folder / ".cache" / "geocodage.sqlite"),
    }
    return folder, env


def http_get(url: str) -> tuple[int, str]:
    """The status and text of a GET of ``url`` (an app's route asked as another client would)."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")


def fingerprint(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` (a new, changed or removed file changes it), but
    the caches of ``.cache/`` (derived from the data, rebuilt at will: not the people's data),
    the processes' shared state (sessions' last click, throttles: every request writes it) and
    the audit trail (a log of what people did, not their data; tests/test_audit.py reads it)."""

    def kept(path: Path) -> bool:
        relative = path.relative_to(folder)
        return (
            path.is_file()
            and ".cache" not in relative.parts
            and not path.name.startswith(FILE_NAME)
            and path.name != "audit.jsonl"
        )

    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if kept(p)
    }


class LoggedApp(ServedApp):
    """A served app whose output (:attr:`lines`, read by :class:`ServedApp`) is searched for errors."""

    def mark(self) -> int:
        return len(self.lines)

    def exception_since(self, mark: int, *, wait: float = 0) -> str:
        """The last exception line logged after ``mark`` (« KeyError: 'x' »), or "". With ``wait``,
        up to that many seconds for one to be logged (the server logs it just after the page shows it)."""
        if wait:
            self.wait_for_line(_is_exception_end, wait, start=mark)
        ends = [line for line in self.lines[mark:] if _is_exception_end(line)]
        return ends[-1].strip() if ends else ""


def _is_exception_end(line: str) -> bool:
    """« KeyError: 'x' »: the last line of a logged traceback."""
    head = line.split(":")[0]
    return (
        bool(line)
        and not line.startswith((" ", "Traceback"))
        and ":" in line
        and ("Error" in head or "Exception" in head)
    )


# --- what a person does --------------------------------------------------------------------


def settle(page, expected=None, *, quiet_ms: int = 300, timeout: float = 90_000) -> None:
    """Wait until the page is drawn and the app idle (no script run, spinner or skeleton) for
    ``quiet_ms``. ``expected`` (a locator) is what the action being waited for draws: it is waited
    visible first, so that an idle page from before the action's run does not pass."""
    from playwright.sync_api import expect

    if expected is not None:
        expect(expected.first).to_be_visible(timeout=timeout)
    page.evaluate("() => { window.__rxQuietSince = null; }")
    page.wait_for_function(_SETTLED, arg=quiet_ms, timeout=timeout, polling=50)


def page_errors(page) -> list[str]:
    """What shows that the page failed (empty when all is well)."""
    return page.evaluate(_ERRORS, ERROR_SENTENCE)


def no_error(page, *, timeout: float = 60_000) -> None:
    """Fail when the page shows that it failed (exception box, « Traceback », our French message,
    a connection lost), or when it shows nothing: its main content is waited drawn first."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(_DRAWN, timeout=timeout, polling=100)
    except PlaywrightTimeout:
        raise AssertionError(
            f"page blanche : rien de dessiné en {timeout / 1000:.0f} s, {page_errors(page) or 'sans erreur affichée'}"
        ) from None
    errors = page_errors(page)
    assert not errors, errors


# The index (plus one, so that a match is truthy) of the first pin wholly inside the viewport.
_PIN_IN_VIEW = """() => 1 + [...document.querySelectorAll('.rx-pin')].findIndex(e => {
  const r = e.getBoundingClientRect();
  return r.width > 0 && r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight; })"""


def click_pin_in_view(scope, *, timeout: float = 60_000) -> None:
    """Click, as a person would, a pin that is on screen (the cluster layer keeps pins a little
    outside the view in the page, and `.first` may be one of them), until its fiche opens.

    The cluster layer may redraw its pins between finding one and clicking it (an animation
    ending on a busy machine): the n-th pin is then another one, maybe off screen, or the click
    lands as the pin is replaced and opens nothing (CI, once: no fiche in 60 s). The pin is found
    again and clicked again until a fiche is open or the time is out."""
    from playwright.sync_api import Error, expect

    deadline = time.monotonic() + timeout / 1000
    while True:
        remaining = max(1_000.0, (deadline - time.monotonic()) * 1000)
        index = scope.wait_for_function(_PIN_IN_VIEW, timeout=remaining).json_value() - 1
        try:
            scope.locator(".rx-pin").nth(index).click(timeout=min(remaining, 5_000))
            expect(scope.locator(".rx-fiche").first).to_be_visible(timeout=min(remaining, 5_000))
            return
        except (Error, AssertionError):
            if time.monotonic() > deadline:
                raise


def type_in(page, label: str, text: str, *, timeout: float = 60_000):
    """Type ``text`` in the select box or multiselect labelled ``label``, as a person does, and
    return the box once its list is open on that text.

    The list is opened once the page is idle. A late rerun (the map's first answer, a widget
    redrawn) may close the list or empty the box while the keys go in: then the box is typed
    in again, until the text stands whole in it with the list open, or ``timeout`` passes."""
    from playwright.sync_api import expect

    box = page.locator("[data-testid='stSelectbox'], [data-testid='stMultiSelect']").filter(has_text=label).first
    field = box.locator("input")
    deadline = time.monotonic() + timeout / 1000
    while True:
        settle(page, timeout=timeout)
        chosen = field.input_value()
        # A select box shows its chosen value as its text. Typed again, that value is taken as the
        # choice and the keys after it start a new search (Streamlit's box: « id », then « id_reg »
        # typed, holds « _reg »); a person sees the same list either way.
        held = [text] + ([text[len(chosen) :]] if chosen and text.startswith(chosen) and text != chosen else [])
        field.click()
        try:
            expect(page.get_by_role("listbox")).to_be_visible(timeout=5_000)
            if field.input_value():
                field.fill("")
            field.press_sequentially(text, delay=20)
            expect(field).to_have_value(re.compile("^(?:" + "|".join(map(re.escape, held)) + ")$"), timeout=5_000)
            expect(page.get_by_role("listbox")).to_be_visible(timeout=5_000)
            return box
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def choose(page, label: str, option: str, *, exact: bool = True) -> None:
    """Pick ``option`` in the select box or multiselect labelled ``label``, as a person types it."""
    type_in(page, label, option)
    page.get_by_role("option", name=option, exact=exact).first.click()
    if page.get_by_role("listbox").is_visible():  # a multiselect stays open: close it
        page.keyboard.press("Escape")


def sign_in(page, name: str, password: str = PASSWORD) -> None:
    """Sign in through the sidebar form « Se connecter (membres du réseau) ».

    The form is filled once the app is idle, and its fields are waited holding what was typed
    before the click: a run of the page still under way (the page before, on a busy machine) draws
    the form again, empty, and the click then sent nothing (a flake of test_journey_postgres)."""
    from playwright.sync_api import expect

    settle(page)
    sidebar = page.get_by_test_id("stSidebar")
    if not sidebar.get_by_label("Identifiant").is_visible():
        sidebar.get_by_text("Se connecter (membres du réseau)").click()
    identifier, secret = sidebar.get_by_label("Identifiant"), sidebar.get_by_label("Mot de passe", exact=True)
    identifier.fill(name)
    secret.fill(password)
    expect(identifier).to_have_value(name)
    expect(secret).to_have_value(password)
    sidebar.get_by_role("button", name="Se connecter", exact=True).click()
    # Argon2 and a rerun on a machine under load: 30 s was not enough under stress-ng.
    sidebar.get_by_text(f"Connecté·e : {name}").wait_for(timeout=90_000)
    settle(page)


def sign_in_for_cookie(page, name: str, password: str = PASSWORD) -> dict:
    """:func:`sign_in`, then wait for the session route's answer that sets the cookie (the page
    posts its ticket right after the sign-in); returns the cookie."""
    with page.expect_response(lambda r: SESSION_PATH in r.url and r.request.method == "POST", timeout=60_000) as answer:
        sign_in(page, name, password)
    assert answer.value.status == 204, (answer.value.status, answer.value.text())
    answer.value.finished()
    cookie = next((c for c in page.context.cookies() if c["name"] == COOKIE), None)
    assert cookie is not None, "no session cookie after sign-in"
    return cookie


def sign_out(page) -> None:
    page.get_by_test_id("stSidebar").get_by_role("button", name="Se déconnecter").click()
    page.get_by_text("Se connecter (membres du réseau)").wait_for(timeout=30_000)
    settle(page)


def nav_titles(page) -> list[str]:
    """The titles of the pages offered in the sidebar navigation, in order."""
    links = page.get_by_test_id("stSidebarNav").locator(
        "[data-testid='stSidebarNavLink'] [data-testid='stMarkdownContainer']"
    )
    return [t.strip() for t in links.all_inner_texts()]


def open_nav_page(page, title: str) -> None:
    """Open a page by its link in the sidebar navigation (the session, and its sign-in, is kept)."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    page.wait_for_function(
        "(t) => { const a = document.querySelector(\"[data-testid='stSidebarNavLink'][aria-current='page'] \""
        " + \"[data-testid='stMarkdownContainer']\"); return a && a.innerText.trim() === t; }",
        arg=title,
        timeout=30_000,
    )
    settle(page)


def open_annuaire(page, app, who: str = "coord") -> None:
    """``who`` (an account of ``conftest.ROLES_FOR_TESTS``) opens the app, signs in and opens the
    Annuaire by the menu."""
    page.goto(app.url + "/")
    settle(page)
    sign_in(page, who)
    open_nav_page(page, "Annuaire")


def open_import(page, app) -> None:
    """A coordinator signs in and opens the Annuaire's « Importer » tab."""
    open_annuaire(page, app, "coord")
    page.get_by_role("tab", name="Importer").click()


# --- Trouver: where a person searched from, what they read, the answer known by hand -----------


def point_in_url(page) -> tuple[float, float]:
    """The starting point the page wrote in its URL (written at the end of each run: wait for it)."""
    page.wait_for_function("() => location.search.includes('lat=')", timeout=30_000)
    query = parse_qs(urlparse(page.url).query)
    return float(query["lat"][0]), float(query["lon"][0])


def result_line(page, number: int, name: str):
    """The line « 1. Name — role · 2,5 km » of a result card."""
    return (
        page.locator("[data-testid='stMarkdownContainer'] p")
        .filter(has_text=re.compile(rf"^{number}\. {re.escape(name)} — .+ · [\d,]+ k?m$"))
        .first
    )


def haversine_m(lat1, lon1, lat2, lon2):
    """Great-circle metres on the mean Earth sphere (within 0.5 % of the ellipsoid)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))


def by_distance(referential, lat, lon, theme):
    """(metres, name) of the demo's visible actors on ``theme`` (every one for ""), closest first."""
    actors = visible_demo(referential)
    actors = actors[actors["latitude"].notna() & actors["longitude"].notna()]
    return sorted(
        (haversine_m(lat, lon, row.latitude, row.longitude), row.nom)
        for row in actors.itertuples()
        if not theme or theme in row.thematiques
    )
