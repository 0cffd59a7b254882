"""Streamlit's own English in French, seen and heard (reseaux.serveur.streamlit_fr).

Streamlit writes English in its widgets (« Upload », « 10MB per file », « 6.0B »), in what a
screen reader says (« Show password », « Help for … », « Download as CSV », « Skip to main
content ») and says ``lang="en"``. In headless Chromium, against the app: the pages with an
uploader, a password field, a multiselect with choices, a help tooltip, a table and the « page
not found » box keep no English value of the table (streamlit_fr.json: whole texts and its
patterns) in their texts, ``aria-label``, ``title`` or ``placeholder``, and the page says it is
French. On a page made by the test, the script leaves alone what people wrote, even when it is
an English word of the table.
"""

from __future__ import annotations

import gzip
import re
import urllib.request

import pytest
from playwright.sync_api import expect

from reseaux.serveur.streamlit_fr import SCRIPT_PATH, script_text, table
from tests.browser import LoggedApp, data_folder, no_error, open_nav_page, settle, sign_in
from tests.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser

# Every text node and aria-label / title / placeholder value of the page (not the map's frame,
# whose English is Leaflet's, translated by the map's own code).
_VALUES = r"""() => {
  const out = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const p = walk.currentNode.parentElement;
    if (p && !p.closest("script, style")) out.push(["texte", walk.currentNode.nodeValue.trim()]);
  }
  document.querySelectorAll("[aria-label], [title], [placeholder]").forEach(e => {
    for (const a of ["aria-label", "title", "placeholder"]) if (e.hasAttribute(a)) out.push([a, e.getAttribute(a).trim()]);
  });
  return out;
}"""


def english_left(page) -> list[str]:
    """The values of the page that the table would translate: Streamlit's English left over."""
    known = table()
    patterns = [re.compile(source) for source, _ in known["patterns"]]
    return sorted(
        {
            f"{where} « {value} »"
            for where, value in page.evaluate(_VALUES)
            if value and (value in known["exact"] or any(p.search(value) for p in patterns))
        }
    )


def assert_french(page, where: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    assert english_left(page) == [], where


@pytest.fixture()
def app(tmp_path):
    _folder, env = data_folder(tmp_path)
    with LoggedApp(env) as served:
        yield served


def test_streamlit_speaks_french_on_every_kind_of_widget(page, app, tmp_path):
    # A visitor: the sign-in form's password field (« Show password »), the sidebar's buttons.
    page.goto(app.url + "/")
    settle(page)
    sidebar = page.get_by_test_id("stSidebar")
    if not sidebar.get_by_label("Identifiant").is_visible():
        sidebar.get_by_text("Se connecter (membres du réseau)").click()
    expect(sidebar.get_by_role("button", name="Afficher le mot de passe")).to_be_visible()
    expect(page.get_by_role("button", name="Replier le menu latéral")).to_be_attached()
    assert_french(page, "accueil, visiteur")

    sign_in(page, "coord")
    # Carte: multiselects holding choices (« Remove … », « Clear all »), help marks.
    open_nav_page(page, "Carte du réseau")
    expect(page.get_by_role("button", name=re.compile("^Retirer « ")).first).to_be_attached()
    assert_french(page, "Carte")

    # Trouver: headings written in Markdown (their anchors, « Link to heading »), sliders.
    page.goto(app.url + "/trouver?lat=49.42&lon=1.05&rayon=20&k=20")
    expect(page.get_by_text("partenaires les plus proches")).to_be_visible(timeout=60_000)
    expect(page.get_by_role("link", name="Lien vers ce titre").first).to_be_attached()
    settle(page)
    assert_french(page, "Trouver un partenaire")

    # Couverture: a help tooltip (« Help for Distance au bord du périmètre »), a chart (its axes
    # are read aloud: « Y-axis for a discrete scale with 16 values… »).
    open_nav_page(page, "Couverture")
    expect(page.get_by_label("Aide : Distance au bord du périmètre")).to_be_attached()
    expect(page.get_by_label(re.compile("^Axe vertical, ")).first).to_be_attached()
    assert_french(page, "Couverture")

    # Annuaire: the table and its toolbar, shown when the pointer is over it.
    open_nav_page(page, "Annuaire")
    page.get_by_test_id("stDataFrame").first.hover()
    expect(page.get_by_role("button", name="Télécharger en CSV").first).to_be_visible()
    assert_french(page, "Annuaire, table")

    # The uploaders: the layer form's refuses a text file in French, sizes in French.
    open_nav_page(page, "Sources et crédits")
    uploader = page.get_by_test_id("stFileUploader").filter(has_text="Fichier des périmètres")
    expect(uploader.get_by_text("10 Mo par fichier")).to_be_visible()
    notes = tmp_path / "notes.txt"
    notes.write_text("bonjour", encoding="utf-8")  # 7 bytes
    uploader.locator("input[type=file]").set_input_files(str(notes))
    expect(uploader.get_by_text("7 o", exact=True)).to_be_visible()
    expect(uploader.get_by_text(re.compile("Type de fichier refusé"))).to_be_visible()
    settle(page)
    SCREENSHOTS.mkdir(exist_ok=True)
    uploader.screenshot(path=str(SCREENSHOTS / "francais-televersement.png"))
    assert_french(page, "Sources et crédits, fichier refusé")

    # A page that does not exist: Streamlit's box.
    page.goto(app.url + "/pas-de-page")
    expect(page.get_by_role("dialog").get_by_text("Page introuvable")).to_be_visible()
    assert_french(page, "page introuvable")
    no_error(page)


# A page of the test: Streamlit's kinds of elements holding words of the table that are Streamlit's
# (translated) and words people wrote (kept), whatever they are.
_PAGE = """<!DOCTYPE html><html lang="en"><head></head><body>
<div data-testid="stFileUploader"><section data-testid="stFileUploaderDropzone">
  <button><div data-testid="stMarkdownContainer"><p>Upload</p></div></button>
  <div data-testid="stFileUploaderDropzoneInstructions"><span>10MB per file</span><span> • CSV</span></div>
  <div data-testid="stFileChip" aria-label="Search, 6.0B"><div>Search</div><div>1.5KB</div></div></section></div>
<button id="help" aria-label="Help for Upload"></button>
<div data-testid="stMarkdownContainer"><p id="written">Search</p><a id="link" title="Download as CSV" href="/x">x</a></div>
<div data-baseweb="tag"><span id="chip">Clear all</span><span id="remove" role="button" aria-label="Remove Clear all"></span></div>
<ul role="listbox"><li role="option" id="option" aria-label="Open">Open</li></ul>
<input id="typed" placeholder="Search" value="Skip to main content">
<div id="late"></div>
</body></html>"""


def test_the_script_translates_streamlit_words_and_leaves_peoples_words(page):
    page.set_content(_PAGE)
    page.add_script_tag(content=script_text(), type="module")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("button", name="Choisir un fichier")).to_be_visible()
    expect(page.get_by_text("10\u00a0Mo par fichier")).to_be_visible()
    expect(page.get_by_text("1,5\u00a0ko")).to_be_visible()
    expect(page.locator("[data-testid='stFileChip']")).to_have_attribute("aria-label", "Search, 6\u00a0o")
    expect(page.locator("#help")).to_have_attribute("aria-label", "Aide : Upload")
    expect(page.locator("#remove")).to_have_attribute("aria-label", "Retirer « Clear all »")
    expect(page.locator("#typed")).to_have_attribute("placeholder", "Rechercher")
    # People's words, though the table knows them: a fiche, a link's title, a choice, a chip, a field.
    expect(page.locator("#written")).to_have_text("Search")
    expect(page.locator("#link")).to_have_attribute("title", "Download as CSV")
    expect(page.locator("#option")).to_have_text("Open")
    expect(page.locator("#option")).to_have_attribute("aria-label", "Open")
    expect(page.locator("#chip")).to_have_text("Clear all")
    expect(page.locator("#typed")).to_have_value("Skip to main content")
    # What Streamlit adds later is translated as it comes.
    page.evaluate("""() => { const b = document.createElement('button'); b.id = 'added';
        b.setAttribute('aria-label', 'Show password'); b.textContent = 'Running...';
        document.getElementById('late').append(b); }""")
    expect(page.locator("#added")).to_have_attribute("aria-label", "Afficher le mot de passe")
    expect(page.locator("#added")).to_have_text("En cours…")
    page.evaluate("() => document.getElementById('added').setAttribute('title', 'Collapse sidebar')")
    expect(page.locator("#added")).to_have_attribute("title", "Replier le menu latéral")


def test_the_page_is_french_and_loads_the_script_of_this_site(app):
    request = urllib.request.Request(app.url + "/carte", headers={"Accept-Encoding": "gzip, br, zstd"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        body = answer.read()
        page = gzip.decompress(body) if answer.headers.get("Content-Encoding") == "gzip" else body
    assert b'<html lang="fr">' in page
    assert f'<script type="module" src=".{SCRIPT_PATH}"></script>'.encode() in page
    with urllib.request.urlopen(app.url + SCRIPT_PATH, timeout=30) as answer:
        assert answer.headers["Content-Type"].startswith("text/javascript")
        assert "Afficher le mot de passe" in answer.read().decode("utf-8")


def test_a_page_kept_by_the_browser_is_never_the_english_one(tmp_path):
    """Streamlit answers « 304, not modified » to a browser holding its page's ETag: a browser that
    kept the English page would keep it for ever. The rewritten page carries no ETag of Streamlit's,
    and a conditional request still gets the French page."""
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles
    from starlette.testclient import TestClient

    from reseaux.serveur.streamlit_fr import FrenchPage

    (tmp_path / "index.html").write_text(
        '<!DOCTYPE html><html lang="en"><head><title>x</title></head><body><div id="root"></div></body></html>'
    )

    def served() -> Starlette:  # Streamlit's page is served as a static file: ETag, « 304 » when unchanged
        return Starlette(routes=[Mount("/", StaticFiles(directory=tmp_path, html=True))])

    client, plain = TestClient(FrenchPage(served())), TestClient(served())
    english_tag = plain.get("/").headers["etag"]
    assert plain.get("/", headers={"If-None-Match": english_tag}).status_code == 304  # what Streamlit does
    answer = client.get("/", headers={"If-None-Match": english_tag})
    assert answer.status_code == 200 and '<html lang="fr">' in answer.text and SCRIPT_PATH in answer.text
    assert "etag" not in answer.headers and int(answer.headers["content-length"]) == len(answer.content)
