"""axe-core (from npm, see package.json) in every page, for every role, at 1440×900 and 390×844.

A person with no account (the public map, and the sign-in page of a closed directory), a member, a
coordinator and an administrator open each page they may open, and some states reached from there
(a fiche open on the map, Trouver's results, a file loaded in the Annuaire's import, a presentation
playing). In each, axe-core runs with the rules tagged wcag2a and wcag2aa, in the page and inside
each map frame (streamlit-folium's iframes, documents of their own): 0 violations. A failure lists
each violation's rule, and the target and HTML of each node, so that a reader knows what to fix.

One server per visitors' setting, one browser, one sign-in per role; a page is loaded once and
checked at both sizes (the window is resized, as a phone turned would be: the same CSS rules).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import LoggedApp, click_pin_in_view, data_folder, no_error, open_nav_page, settle, sign_in
from tests.conftest import DATA, ROLES_FOR_TESTS, ROOT

pytestmark = pytest.mark.browser

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SIZES = ((1440, 900), (390, 844))
MAP = "iframe[title='streamlit_folium.st_folium']"

#: The violations in the document the script runs in (no frame: each frame is checked on its own).
_RUN = """async () => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']},
                                          resultTypes: ['violations'], iframes: false});
  return result.violations.map(v => ({id: v.id, help: v.help, nodes: v.nodes.map(
    n => ({target: n.target.join(' '), html: n.html.slice(0, 300), summary: n.failureSummary || ''}))}));
}"""

#: Every page a role may open, by its title in the menu; those with a map wait for it.
PUBLIC_PAGES = (
    "Carte du réseau",
    "Trouver un partenaire",
    "Couverture",
    "Présentation",
    "Données personnelles",
    "Sources et crédits",
    "Accessibilité",
)
EDIT_PAGES = ("Annuaire", "Qualité de l'annuaire")
WITH_MAP = {"Carte du réseau", "Trouver un partenaire", "Couverture", "Présentation"}


#: What marks the focused element: its own ring (outline, or a box-shadow's spread), or its frame's for a
#: field (the input is clipped inside its frame, its own outline unseen) or its label's for a check box.
#: Returns a sentence for a stop without a ring of 2 px at 3:1 against what is behind it, "" when marked,
#: "cadre" when the focus went into a frame (the map's own focus is another part's), "document" when
#: no element has it (after the Annuaire's table, Streamlit's data grid hands it back to the document
#: for one press: nothing to ring; the order of the stops is the keyboard part's).
_RING = """() => {
  let e = document.activeElement;
  while (e && e.shadowRoot && e.shadowRoot.activeElement) e = e.shadowRoot.activeElement;  // a component's own
  if (!e || e === document.body) return 'document';
  if (e.tagName === 'IFRAME') return 'cadre';
  const rgba = c => { const v = (c.match(/[\\d.]+/g) || []).map(Number); return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1]; };
  const lum = ([r, g, b]) => [r, g, b].map(x => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; })
    .reduce((s, x, i) => s + x * [0.2126, 0.7152, 0.0722][i], 0);
  const behind = n => { for (; n; n = n.parentElement) { const c = rgba(getComputedStyle(n).backgroundColor);
    if (c[3] === 1) return c; } return [255, 255, 255, 1]; };
  const ratio = (ring, bg) => { const a = ring[3]; const mix = [0, 1, 2].map(i => a * ring[i] + (1 - a) * bg[i]);
    const [hi, lo] = [lum(mix), lum(bg)].sort((x, y) => y - x); return (hi + 0.05) / (lo + 0.05); };
  const field = ['INPUT', 'TEXTAREA'].includes(e.tagName);
  const marks = [];
  for (let n = field ? e.parentElement : e, depth = 0; n && depth < 4; n = n.parentElement, depth++) {
    if (n !== e && !n.matches(':focus-within')) break;
    const s = getComputedStyle(n); const bg = behind(n.parentElement);
    if (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) marks.push(ratio(rgba(s.outlineColor), bg));
    const shadow = s.boxShadow.match(/(rgba?\\([^)]*\\)) (-?[\\d.]+)px (-?[\\d.]+)px (-?[\\d.]+)px (-?[\\d.]+)px/);
    if (shadow && parseFloat(shadow[5]) >= 2) marks.push(ratio(rgba(shadow[1]), bg));
  }
  if (marks.some(r => r >= 3)) return '';
  const name = (e.getAttribute('aria-label') || e.innerText || e.value || '').trim().slice(0, 40).replace(/\\n/g, ' ');
  const what = e.getAttribute('data-testid') || e.getAttribute('role') || String(e.className).slice(0, 40);
  return `${e.tagName.toLowerCase()} [${what}] « ${name} » : ` + (marks.length ? `marque à ${Math.max(...marks).toFixed(1)}:1`
                                                          : 'aucune marque de 2 px');
}"""


@pytest.fixture(scope="module")
def axe_source() -> str:
    assert AXE.exists(), f"{AXE} manque : « make setup » l'installe (npm ci, package-lock.json)"
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    _folder, env = data_folder(tmp_path_factory.mktemp("a11y"))
    with LoggedApp({**env, "RESEAUX_GEOCODER_URL": "http://127.0.0.1:9"}) as app:
        yield app


def violations_in(scope, source: str) -> list[dict]:
    """axe-core's violations in ``scope`` (a page's main frame or a map's frame)."""
    if not scope.evaluate("() => typeof window.axe === 'object'"):
        scope.evaluate(source)
    return scope.evaluate(_RUN)


def maps_ready(page) -> None:
    """Each map frame has its Leaflet map drawn (axe then reads the map, not a loading frame)."""
    frames = page.locator(MAP)
    for i in range(frames.count()):
        frame = frames.nth(i).element_handle().content_frame()
        frame.wait_for_function(
            "() => document.readyState === 'complete' && document.querySelector('.leaflet-container')"
            " && document.querySelector('.leaflet-tile-container, path.leaflet-interactive, .rx-pin,"
            " .rx-cluster')",
            timeout=60_000,
        )


def check(page, source: str, where: str, found: list[str]) -> None:
    """Run axe in the page and its map frames at both sizes; add what it finds to ``found``."""
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        settle(page)
        maps_ready(page)
        no_error(page)
        scopes = [("page", page.main_frame)] + [
            (f"carte {i + 1}", page.locator(MAP).nth(i).element_handle().content_frame())
            for i in range(page.locator(MAP).count())
        ]
        for name, scope in scopes:
            for v in violations_in(scope, source):
                nodes = "\n".join(f"      - {n['target']} : {n['html']}\n        {n['summary']}" for n in v["nodes"])
                found.append(f"{where} ({width}×{height}, {name}) : {v['id']} — {v['help']}\n{nodes}")
    page.set_viewport_size({"width": 1440, "height": 900})


def report(found: list[str]) -> str:
    return f"{len(found)} violation(s) axe-core :\n" + "\n".join(found)


def visit(page, title: str, source: str, found: list[str]) -> None:
    """Open a page by its link in the menu (no reload, as a person goes from page to page), check it."""
    open_nav_page(page, title)
    if title in WITH_MAP:
        page.locator(MAP).first.wait_for(timeout=60_000)
    check(page, source, title, found)


def start(page, app, name: str | None = None) -> None:
    """The app's first page, signed in as ``name`` (None: a visitor)."""
    page.goto(app.url + "/")
    settle(page)
    if name:
        sign_in(page, name)


@pytest.fixture()
def wide(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="fr-FR")
    yield context.new_page()
    context.close()


def the_map(page):
    """The newest map frame's document (a Playwright Frame)."""
    return page.locator(MAP).last.element_handle().content_frame()


def open_a_fiche(page, source: str, found: list[str]) -> None:
    """Click a pin on screen, as a person does: the fiche opens in the map."""
    open_nav_page(page, "Carte du réseau")
    maps_ready(page)
    frame = the_map(page)
    click_pin_in_view(frame, timeout=60_000)
    expect(frame.locator(".rx-fiche")).to_be_visible(timeout=30_000)
    check(page, source, "Carte, une fiche ouverte", found)


def test_a_visitor_meets_no_violation(wide, served, axe_source):
    found: list[str] = []
    start(wide, served)
    # Every page says the state of conformity (RGAA), a link to the statement.
    wide.get_by_test_id("stSidebar").get_by_role("link", name="Accessibilité : non conforme").click()
    expect(wide.get_by_role("heading", name="Accessibilité", exact=True)).to_be_visible(timeout=60_000)
    for title in PUBLIC_PAGES:
        visit(wide, title, axe_source, found)
    open_a_fiche(wide, axe_source, found)
    # The map's search box, a name typed: its list of actors.
    search = the_map(wide).get_by_label("Chercher un acteur sur la carte")
    search.fill("Planning")
    expect(the_map(wide).get_by_role("option").first).to_be_visible(timeout=30_000)
    check(wide, axe_source, "Carte, recherche « Planning »", found)
    # A page the visitor may not open says so, in French.
    wide.goto(f"{served.url}/annuaire")
    expect(wide.get_by_role("alert")).to_be_visible(timeout=60_000)
    check(wide, axe_source, "Annuaire (refusé)", found)
    # Trouver's results around a point (Le Petit-Quevilly's town hall).
    wide.goto(f"{served.url}/trouver?lat=49.430302&lon=1.05256")
    expect(wide.get_by_text("partenaires les plus proches").first).to_be_visible(timeout=60_000)
    check(wide, axe_source, "Trouver, résultats", found)
    # A presentation playing, full screen.
    wide.goto(f"{served.url}/presentation?scene=ivg&plein_ecran=1")
    expect(wide.locator(".rx-stage h1")).to_be_visible(timeout=60_000)
    check(wide, axe_source, "Présentation en plein écran", found)
    assert not found, report(found)


@pytest.mark.parametrize("name", list(ROLES_FOR_TESTS))
def test_each_role_meets_no_violation(wide, served, axe_source, name):
    found: list[str] = []
    start(wide, served, name)
    pages = PUBLIC_PAGES + (EDIT_PAGES if name != "membre" else ()) + (("Comptes",) if name == "admin" else ())
    for title in pages:
        visit(wide, title, axe_source, found)
    open_a_fiche(wide, axe_source, found)
    if name == "coord":  # a file loaded in the Annuaire's import: the rows read, their errors
        open_nav_page(wide, "Annuaire")
        wide.get_by_role("tab", name="Importer").click()
        wide.locator("input[type=file]").set_input_files(str(DATA / "actors_small.csv"))
        expect(wide.get_by_text("lignes lues").first).to_be_visible(timeout=60_000)
        check(wide, axe_source, "Annuaire, un fichier à importer", found)
    assert not found, report(found)


def unmarked_stops(page, presses: int) -> list[str]:
    """Press Tab up to ``presses`` times (stopping at the map's frame); what had the focus without a ring."""
    missing = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        verdict = page.evaluate(_RING)
        if verdict == "cadre":
            break
        if verdict and verdict != "document":
            missing.append(verdict)
    return missing


def test_what_has_the_focus_wears_a_visible_ring(wide, served):
    """WCAG 2.4.7: every stop of the keyboard, from the menu to the map, in the sidebar's filters,
    Trouver's form and the Annuaire's tabs, fields and buttons, wears a ring (2 px, 3:1)."""
    start(wide, served)
    missing = unmarked_stops(wide, 60)  # from the page's top: skip link, menu, filters, page
    open_nav_page(wide, "Trouver un partenaire")
    wide.get_by_role("main").focus()
    missing += unmarked_stops(wide, 30)
    sign_in(wide, "coord")
    open_nav_page(wide, "Annuaire")
    wide.get_by_role("main").focus()
    missing += unmarked_stops(wide, 40)
    assert not missing, "sans marque de focus visible :\n" + "\n".join(missing)


def test_a_closed_directory_sign_in_page_meets_no_violation(browser, tmp_path, axe_source):
    """Visitors see nothing (RESEAUX_VISITORS=rien): the sign-in page, and the pages every one may read."""
    _folder, env = data_folder(tmp_path)
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="fr-FR")
    page = context.new_page()
    found: list[str] = []
    with LoggedApp({**env, "RESEAUX_VISITORS": "rien"}) as app:
        start(page, app)
        expect(page.get_by_role("main").get_by_label("Identifiant")).to_be_visible()
        for title in ("Connexion", "Données personnelles", "Sources et crédits", "Accessibilité"):
            visit(page, title, axe_source, found)
    context.close()
    assert not found, report(found)
