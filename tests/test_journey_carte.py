"""The map's journey in Chromium, as a visitor and on a phone: what they see, what they click.

Choose a perimeter in the filters (the map zooms to it and outlines it), find an actor with
the map's search box and open its fiche, read the legend (only what is shown), download the
list (labels, not codes); on a phone, the map starts in the first screen and the legend
does not hide it. Controls speak French.
"""

from __future__ import annotations

import csv
import io
from collections import Counter

import pandas as pd
import pytest
from playwright.sync_api import expect

from reseaux.analyse.filters import ActorFilter, apply_filter
from tests.browser import choose, no_error, settle
from tests.conftest import SCREENSHOTS, evaluate_in_map, map_frame, map_still, visible_demo, wait_in_map
from tests.test_map_places import MAINLAND, _territory_of

pytestmark = pytest.mark.browser


#: Brest, Paris, Ajaccio, Saint-Denis de La Réunion, Pointe-à-Pitre ([lat, lon]).
_PLACES = [[48.39, -4.49], [48.86, 2.35], [41.93, 8.74], [-20.88, 55.45], [16.24, -61.53]]


def _open(page, url):
    """Open the map and wait, as a person does, until the page has finished drawing: a late rerun
    redraws the actors' layer and closes a fiche opened meanwhile (CI under load, once)."""
    page.goto(url)
    frame = map_frame(page)
    frame.locator(".rx-pin, .rx-cluster").first.wait_for(timeout=60_000)
    settle(page)
    return frame


def _zoom(page) -> float:
    return evaluate_in_map(page, "() => window.map.getZoom()")


def test_controls_speak_french(page, served):
    frame = _open(page, served.url)
    assert frame.locator("a.leaflet-control-zoom-in").get_attribute("title") == "Zoom avant"
    assert frame.locator("a.leaflet-control-zoom-out").get_attribute("title") == "Zoom arrière"
    assert frame.locator(".leaflet-control-layers-toggle").get_attribute("title") == "Couches affichées"
    expect(frame.get_by_title("Plein écran")).to_have_count(1)
    expect(frame.get_by_title("Me localiser")).to_have_count(1)
    expect(frame.get_by_placeholder("Chercher un acteur…")).to_have_count(1)
    no_error(page)


def test_choosing_a_perimeter_zooms_to_it_and_outlines_it(page, served, referential, territory):
    frame = _open(page, served.url)
    home = _zoom(page)
    page.get_by_text("Lieu", exact=True).click()
    choose(page, "Dans le périmètre", "Arts et Fleurs", exact=False)
    key = next(k for k, v in territory.place_names.items() if k.startswith("qpv:") and "Arts et Fleurs" in v)
    expected = apply_filter(
        visible_demo(referential), ActorFilter(perimeter=key), referential, perimeters=territory.layers
    ).actors
    page.get_by_text(f"{len(expected)} acteur").first.wait_for(timeout=30_000)
    outline = frame.locator('path[stroke="#111"][stroke-dasharray]')
    outline.first.wait_for(timeout=30_000)
    wait_in_map(page, "(home) => window.map.getZoom() > home + 1", home, timeout=60_000)
    assert "perimetre=" in page.url
    map_still(page)
    page.screenshot(path=str(SCREENSHOTS / "carte-perimetre.png"))
    no_error(page)


def test_the_search_box_finds_an_actor_and_opens_its_fiche(page, served, referential):
    frame = _open(page, served.url)
    name = sorted(visible_demo(referential)["nom"])[0]
    frame.get_by_placeholder("Chercher un acteur…").fill(name.split(" (")[0][:18])
    item = frame.locator(".rx-search li").filter(has_text=name).first
    item.wait_for(timeout=60_000)
    item.click()
    title = frame.locator(".rx-fiche-title")
    title.first.wait_for(timeout=60_000)
    assert title.first.inner_text() == name
    frame.get_by_placeholder("Chercher un acteur…").fill("zzzz introuvable")
    frame.get_by_text("Aucun acteur affiché ne correspond.").wait_for(timeout=60_000)


def test_the_legend_lists_only_what_is_shown(page, served):
    frame = _open(page, served.url + "/?type=distribution&couleur=type")
    legend = frame.locator(".rx-legend")
    wait_in_map(
        page,
        "() => { const l = document.querySelector('.rx-legend'); return l && l.innerText.includes('Point'); }",
        timeout=30_000,
    )
    text = legend.inner_text()
    assert "Point de distribution" in text
    assert "Structure" not in text and "Professionnel" not in text


def test_the_legend_explains_the_purple_bubbles_while_they_are_drawn(page, served):
    """The whole directory opens in bubbles: the legend says what they are, in their colour."""
    frame = _open(page, served.url + "/")
    key = frame.locator(".rx-legend .rx-cluster-key")
    expect(key).to_have_text("NGroupe de N acteurs — zoomez ou cliquez pour les séparer")
    colours = evaluate_in_map(
        page,
        """() => [document.querySelector('.rx-legend .rx-bubble div'),
        document.querySelector('.leaflet-marker-pane .rx-cluster div')].map(e => getComputedStyle(e).backgroundColor)""",
    )
    assert colours[0] == colours[1]
    page.screenshot(path=str(SCREENSHOTS / "carte_legende_groupes.png"))


def test_the_downloaded_list_has_labels_not_codes(page, served):
    _open(page, served.url + "/?type=professionnel&profession=sage_femme")
    with page.expect_download() as info:
        page.get_by_role("button", name="Télécharger la liste (CSV pour Excel)").click()
    rows = list(csv.DictReader(io.StringIO(info.value.path().read_bytes().decode("utf-8-sig")), delimiter=";"))
    assert rows, "the list is empty"
    assert {r["Profession"] for r in rows} == {"Sage-femme"}
    assert not any("sur_rdv" in r["Modalités"] or "_" in r["Type"] for r in rows)


#: What the map stands for: its pins and the counts of its clusters (those in view).
_DRAWN = """(n) => document.querySelectorAll('.rx-pin').length
    + [...document.querySelectorAll('.rx-cluster span')].reduce((s, e) => s + (+e.textContent), 0) === n"""


def test_each_filter_change_redraws_exactly_the_filtered_actors(page, served, referential):
    """The map is drawn before the sidebar's widgets, from the state they hold: after each change
    it shows the actors of that change, not of the one before. Counted here with pandas on the
    CSV (the public view's ids from the app's rule; placed = a latitude)."""
    import pandas as pd

    from tests.conftest import ROOT

    table = pd.read_csv(ROOT / "data" / "actors.csv", dtype=str, keep_default_na=False)
    table = table[table["id"].isin(set(visible_demo(referential)["id"])) & (table["latitude"] != "")]
    themes = table["thematiques"].str.split("|")
    ivg = table[themes.map(lambda codes: "ivg" in codes)]
    ivg_structures = ivg[ivg["type"] == "structure"]
    assert 0 < len(ivg_structures) < len(ivg) < len(table)
    _open(page, served.url)
    wait_in_map(page, _DRAWN, len(table), timeout=30_000)
    choose(page, "Thématiques", "IVG")
    wait_in_map(page, _DRAWN, len(ivg), timeout=30_000)
    expect(page.get_by_text(f"{len(ivg)} acteurs sur")).to_be_visible(timeout=30_000)
    choose(page, "Types d'acteurs", "Structure")
    wait_in_map(page, _DRAWN, len(ivg_structures), timeout=30_000)
    expect(page.get_by_text(f"{len(ivg_structures)} acteurs sur")).to_be_visible(timeout=30_000)
    settle(page)
    assert "theme=ivg" in page.url and "type=structure" in page.url
    no_error(page)


def test_on_a_phone_the_map_fills_the_first_screen(browser, served):
    """At 390×844 the map starts in the upper third and most of the first screen is map; its legend
    is in that screen too (folded, one tap away); the notices are still there, below the map."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="fr-FR", is_mobile=True)
    page = context.new_page()
    _open(page, served.url)
    frame_box = page.locator("iframe[title='streamlit_folium.st_folium']").bounding_box()
    top, bottom = frame_box["y"], frame_box["y"] + frame_box["height"]
    assert top < 844 / 3, f"the map starts at {top:.0f} px of 844"
    assert min(bottom, 844) - top >= 0.6 * 844, f"only {min(bottom, 844) - top:.0f} px of map in the first screen"
    legend = map_frame(page).locator(".rx-legend").bounding_box()  # in the page's coordinates
    assert legend["y"] + legend["height"] <= 844, "the legend is below the fold"
    assert legend["height"] * legend["width"] < frame_box["height"] * frame_box["width"] / 6
    # The sources wrap across the narrow map: the scale stands above them, not under their lines.
    frame = map_frame(page)
    scale, sources = frame.locator(".leaflet-control-scale"), frame.locator(".leaflet-control-attribution")
    expect(scale).to_be_visible()
    expect(sources).to_contain_text("OpenStreetMap")
    assert wait_in_map(
        page,
        """() => {
          const a = document.querySelector('.leaflet-control-scale').getBoundingClientRect();
          const b = document.querySelector('.leaflet-control-attribution').getBoundingClientRect();
          return a.bottom <= b.top || b.right <= a.left || a.right <= b.left;
        }""",
    )
    notice = page.get_by_text("Données de démonstration")
    expect(notice).to_be_visible()
    assert notice.bounding_box()["y"] > bottom, "the demonstration notice should come after the map on a phone"
    page.screenshot(path=str(SCREENSHOTS / "carte-telephone.png"))
    context.close()


def test_a_list_downloaded_after_a_save_elsewhere_says_the_page_is_out_of_date(page, tmp_path):
    """A visitor's page drawn, then the directory saved by someone else (another server): the
    list the page offers is of the version it showed, maybe with a fiche erased since. Clicked
    then, the download is a file saying so in French, not the old list; reloaded, the page
    gives the new one."""
    import os
    import shutil

    from reseaux.ui.loading import CHANGED_SINCE
    from tests.conftest import ROOT, ServedApp

    path = tmp_path / "actors.csv"
    shutil.copy(ROOT / "data" / "actors.csv", path)
    env = {"RESEAUX_ACTORS": str(path), "RESEAUX_GEOCACHE": str(tmp_path / "cache" / "geocodage.sqlite")}
    button = "Télécharger la liste (CSV pour Excel)"

    def downloaded() -> list[dict]:
        with page.expect_download() as info:
            page.get_by_role("button", name=button).click()
        text = info.value.path().read_bytes().decode("utf-8-sig")
        return list(csv.DictReader(io.StringIO(text), delimiter=";"))

    with ServedApp(env) as app:
        _open(page, app.url + "/?type=professionnel&profession=sage_femme")
        before = downloaded()
        assert before and {r["Profession"] for r in before} == {"Sage-femme"}
        first = before[0]["Nom"]
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace(first, "Cabinet renommé ailleurs", 1), encoding="utf-8")
        os.utime(path, (2_000_000_000, 2_000_000_000))  # saved: another version
        assert downloaded() == [{"Message": CHANGED_SINCE}]
        _open(page, app.url + "/?type=professionnel&profession=sage_femme")
        after = downloaded()
        assert "Cabinet renommé ailleurs" in {r["Nom"] for r in after} and first not in {r["Nom"] for r in after}


def test_a_list_longer_than_the_screen_holds_opens_on_request_and_opens_a_fiche(page, tmp_path):
    """1,500 public synthetic actors: under the map, the list says it opens on request and offers
    the whole list to download; asked for with the keyboard (the switch keeps the focus), it shows
    the first 1,000, and a ticked row opens its fiche (the first row of the file: its name read
    from the file, not from the app)."""
    from bench.synthetic import synthetic_table
    from reseaux.annuaire.store import encode_table
    from tests.conftest import ServedApp
    from tests.test_browser_a11y import AXE, check, report

    table = synthetic_table(1500)
    table["type"] = "structure"  # public: a visitor sees them all
    path = tmp_path / "actors.csv"
    path.write_bytes(encode_table(table))
    first = table["nom"].iloc[0]
    with ServedApp({"RESEAUX_ACTORS": str(path), "RESEAUX_GEOCACHE": str(tmp_path / "c" / "g.sqlite")}) as app:
        _open(page, app.url)
        expect(page.get_by_role("heading", name="Liste des acteurs affichés (1 500)")).to_be_visible()
        expect(page.get_by_test_id("stDataFrame")).to_have_count(0)
        expect(page.get_by_role("button", name="Télécharger la liste (CSV pour Excel)")).to_be_visible()
        switch = page.get_by_role("switch", name="Afficher les 1 000 premiers")
        switch.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / "carte-liste-fermee.png"))
        found: list[str] = []
        axe = AXE.read_text(encoding="utf-8")
        check(page, axe, "carte, liste fermée", found)
        assert not found, report(found)
        switch.focus()  # by the keyboard: the switch opens the list and keeps the focus
        page.keyboard.press("Space")
        settle(page, page.get_by_test_id("stDataFrame"))
        expect(switch).to_be_checked()
        expect(switch).to_be_focused()
        page.wait_for_function(
            "(name) => [...document.querySelectorAll(\"[data-testid^='glide-cell-']\")]"
            ".some(c => c.innerText.trim() === name)",
            arg=first,
        )
        box = page.locator("[data-testid='stDataFrame'] canvas").first.bounding_box()
        page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the tick box of the first row
        expect(page.get_by_role("heading", name=f"Fiche « {first} »")).to_be_visible(timeout=60_000)
        page.screenshot(path=str(SCREENSHOTS / "carte-liste-a-la-demande.png"), full_page=True)
        check(page, axe, "carte, liste ouverte", found)
        assert not found, report(found)
        no_error(page)


def test_a_real_listing_of_1674_hospitals_imported_then_listed_under_the_map(page, tmp_path):
    """A real published file longer than the list under the map holds: 1,674 hospitals of the
    national FINESS (2020: CEDEX codes, homonymous towns, overseas). A coordinator imports it in
    the page, placed offline at their communes, and saves; a visitor, in another browser, counts
    them on the map with the directory's three (read from the files, not from the app), downloads
    the whole list (every name of the file, in its order), opens the list on request, and the
    file's first hospital, fourth of the list, opens its fiche."""
    from reseaux.acces.accounts import AccountStore
    from reseaux.text import fr_number
    from tests.browser import open_import
    from tests.conftest import DATA, PASSWORD, ROOT, ServedApp
    from tests.test_browser_a11y import AXE, check, report

    source = ROOT / "tests" / "data" / "real" / "finess_hopitaux_cedex_homonymes_2020.csv"
    hospitals = [name.strip() for name in pd.read_csv(source, dtype=str, keep_default_na=False)["hospital_name"]]
    small = pd.read_csv(DATA / "actors_small.csv", dtype=str, keep_default_na=False)
    assert (small["latitude"] != "").all()  # the directory's three: placed (and public: fictional)
    actors = tmp_path / "actors.csv"
    actors.write_bytes((DATA / "actors_small.csv").read_bytes())
    AccountStore(tmp_path / "comptes.json").add("coord", PASSWORD, "coordinateur")
    env = {
        "RESEAUX_ACTORS": str(actors),
        "RESEAUX_ACCOUNTS": str(tmp_path / "comptes.json"),
        "RESEAUX_GEOCACHE": str(tmp_path / "cache" / "geocodage.sqlite"),
    }
    rows, total = fr_number(len(hospitals)), fr_number(len(small) + len(hospitals))
    with ServedApp(env) as app:
        open_import(page, app)
        page.locator("input[type=file]").set_input_files(str(source))
        page.get_by_text(f"{rows} lignes lues").wait_for(timeout=120_000)
        settle(page)
        page.get_by_text("Hors ligne : placer à la commune").click()
        settle(page)
        page.get_by_role("button", name=f"Géocoder {rows} adresses sans position").click()
        page.get_by_text(f"{rows} placées à leur commune").wait_for(timeout=120_000)
        settle(page)
        page.get_by_role("button", name="Ajouter à l'annuaire (à enregistrer ensuite)").click()
        page.get_by_text(f"{rows} modifications en attente").wait_for(timeout=120_000)
        page.get_by_role("button", name="Enregistrer", exact=True).click()
        page.get_by_text("Aucune modification en attente").wait_for(timeout=120_000)
        no_error(page)

        visitor = page.context.browser.new_page(viewport={"width": 1440, "height": 900})  # not signed in
        frame = _open(visitor, app.url)
        expect(visitor.get_by_text(f"{total} acteurs sur {total}")).to_be_visible()

        # The map opens on mainland France (Brest, Paris, Ajaccio in view; La Réunion, 55° E, and
        # Guadeloupe, 61° W, not), and « Aller à » lists the territories the hospitals are in, as
        # their FINESS numbers say (the directory's three are in Rouen), the most held first.
        in_view = "(points) => points.map(p => window.map.getBounds().contains(p))"
        wait_in_map(visitor, f"() => window.map && ({in_view})({_PLACES}).join() === 'true,true,true,false,false'")
        held = Counter(map(_territory_of, pd.read_csv(source, dtype=str, keep_default_na=False)["id"]))
        held[MAINLAND] += len(small)
        goto = frame.get_by_role("combobox", name="Aller à un territoire")
        expect(goto.locator("option")).to_have_text(["Aller à…", *(name for name, _ in held.most_common())])
        goto.select_option(label="La Réunion")
        wait_in_map(visitor, f"() => ({in_view})({_PLACES}).join() === 'false,false,false,true,false'")
        visitor.screenshot(path=str(SCREENSHOTS / "carte-finess-la-reunion.png"))
        found: list[str] = []
        check(visitor, AXE.read_text(encoding="utf-8"), "carte nationale, « Aller à » La Réunion", found)
        assert not found, report(found)
        phone = page.context.browser.new_page(viewport={"width": 390, "height": 844})
        on_phone = _open(phone, app.url)
        on_phone.get_by_role("combobox", name="Aller à un territoire").select_option(label="La Réunion")
        wait_in_map(phone, f"() => ({in_view})({_PLACES}).join() === 'false,false,false,true,false'")
        map_frame(phone).locator(".rx-pin, .rx-cluster").first.scroll_into_view_if_needed()
        phone.screenshot(path=str(SCREENSHOTS / "carte-finess-aller-a-telephone.png"))
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
        phone.close()
        expect(visitor.get_by_role("heading", name=f"Liste des acteurs affichés ({total})")).to_be_visible()
        with visitor.expect_download() as info:
            visitor.get_by_role("button", name="Télécharger la liste (CSV pour Excel)").click()
        text = info.value.path().read_bytes().decode("utf-8-sig")
        listed = [row["Nom"] for row in csv.DictReader(io.StringIO(text), delimiter=";")]
        assert listed == small["nom"].tolist() + hospitals
        visitor.get_by_text(
            "Afficher les 1 000 premiers", exact=True
        ).click()  # its label: the switch's box is drawn over
        expect(visitor.get_by_role("switch", name="Afficher les 1 000 premiers")).to_be_checked()
        settle(visitor, visitor.get_by_test_id("stDataFrame"))
        visitor.wait_for_function(
            "(name) => [...document.querySelectorAll(\"[data-testid^='glide-cell-']\")]"
            ".some(c => c.innerText.trim() === name)",
            arg=hospitals[0],
        )
        box = visitor.locator("[data-testid='stDataFrame'] canvas").first.bounding_box()
        visitor.mouse.click(box["x"] + 18, box["y"] + 35 + 3 * 35 + 17)  # the tick box of the fourth row
        expect(visitor.get_by_role("heading", name=f"Fiche « {hospitals[0]} »")).to_be_visible(timeout=60_000)
        visitor.screenshot(path=str(SCREENSHOTS / "carte-liste-finess.png"), full_page=True)
        no_error(visitor)
        visitor.close()
