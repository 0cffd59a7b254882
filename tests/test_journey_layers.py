"""Browser journey: a coordinator adds a perimeter file with invalid polygons from « Sources et
crédits », choosing its fields from the file's own; the layer is then on the map and in
« Couverture ». A visitor is not offered the form."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import (
    ACCOUNT_OF_ROLE,
    LoggedApp,
    choose,
    data_folder,
    fingerprint,
    no_error,
    open_nav_page,
    settle,
    sign_in,
)
from tests.conftest import ROOT, SCREENSHOTS, map_frame
from tests.test_add_layer import perimeters

pytestmark = pytest.mark.browser


def test_a_coordinator_adds_a_layer_and_finds_it_on_the_map(page, tmp_path):
    folder, env = data_folder(tmp_path)
    geo = folder / "geo"
    source = perimeters(tmp_path / "secteurs-test.geojson")
    shipped = fingerprint(ROOT / "geo")
    with LoggedApp(env) as app:
        page.goto(app.url + "/sources")
        settle(page)
        expect(page.get_by_text("Ajouter une couche de périmètres")).to_have_count(0)  # not for visitors
        sign_in(page, ACCOUNT_OF_ROLE["coordinateur"])
        open_nav_page(page, "Sources et crédits")
        # A first file, the wrong one, its form touched; then the right one: the form is the new
        # file's (the fiche form of the Annuaire once kept the values of the fiche opened before).
        first = tmp_path / "mauvais-fichier.geojson"
        first.write_bytes(source.read_bytes())
        uploader = page.get_by_test_id("stFileUploader").locator("input[type=file]")
        uploader.set_input_files(str(first))
        page.get_by_role("button", name="Ajouter la couche").wait_for(timeout=30_000)
        assert page.get_by_label("Libellé affiché").input_value() == "mauvais-fichier"
        page.get_by_label("Source (producteur, adresse)").fill("source du mauvais fichier")
        uploader.set_input_files(str(source))
        page.get_by_label("Libellé affiché").and_(page.locator("[value='secteurs-test']")).wait_for(timeout=30_000)
        settle(page)
        assert page.get_by_label("Identifiant (lettres minuscules, chiffres, _)").input_value() == "secteurs_test"
        assert page.get_by_label("Source (producteur, adresse)").input_value() == ""
        choose(page, "Champ du code de chaque périmètre", "CODE_P")
        choose(page, "Champ du nom", "NOM_P")
        page.get_by_label("Libellé affiché").fill("Secteurs test")
        page.get_by_label("Licence").fill("Licence Ouverte 2.0")
        page.get_by_role("button", name="Ajouter la couche").click()
        page.get_by_text("Couche « Secteurs test » ajoutée : 2 périmètres, 2 polygones réparés, 1 écarté").wait_for(
            timeout=30_000
        )
        no_error(page)
        page.screenshot(path=str(SCREENSHOTS / "couche-ajoutee.png"), full_page=True)
        assert 'id = "secteurs_test"' in (geo / "layers.toml").read_text(encoding="utf-8")
        assert (geo / "secteurs_test.geojson").exists()
        open_nav_page(page, "Carte du réseau")
        choose(page, "Périmètres affichés", "Périmètres ajoutés — Secteurs test")
        frame = map_frame(page)
        frame.locator(".rx-legend").get_by_text("Secteurs test").wait_for(timeout=30_000)
        open_nav_page(page, "Couverture")
        settle(page)  # the list opened by a click before the page's last run would be closed by it
        page.get_by_test_id("stSelectbox").filter(has_text="Périmètres").locator("input").click()
        page.get_by_role("option", name="Périmètres ajoutés — Secteurs test").wait_for(timeout=60_000)
        no_error(page)
    assert fingerprint(ROOT / "geo") == shipped  # the repository's files were not touched


def test_a_map_drawn_in_google_my_maps_is_added_from_its_kmz_with_the_fields_offered(page, tmp_path):
    """The sectors a network draws in Google My Maps, exported as KMZ and dropped in the form: its
    first folder offered, its outlines coded and named by « Name » without a choice (the file's
    first field, « id », is empty), the marker among them set aside; the layer is on the map."""
    import zipfile

    from tests.test_add_layer import MY_MAPS_KML

    folder, env = data_folder(tmp_path)
    source = tmp_path / "Secteurs du réseau.kmz"
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("doc.kml", MY_MAPS_KML)
    with LoggedApp(env) as app:
        page.goto(app.url + "/sources")
        settle(page)
        sign_in(page, ACCOUNT_OF_ROLE["coordinateur"])
        open_nav_page(page, "Sources et crédits")
        page.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files(str(source))
        page.get_by_role("button", name="Ajouter la couche").wait_for(timeout=30_000)
        settle(page)
        expect(page.get_by_role("combobox", name="Couche du fichier")).to_have_value("Secteurs (3 périmètres)")
        expect(page.get_by_role("combobox", name="Champ du code de chaque périmètre")).to_have_value("Name")
        expect(page.get_by_role("combobox", name="Champ du nom")).to_have_value("Name")
        # the name's accent left out of the identifier (it was offered, then refused as invalid)
        expect(page.get_by_label("Identifiant (lettres minuscules, chiffres, _)")).to_have_value("secteurs_du_reseau")
        page.get_by_role("button", name="Ajouter la couche").click()
        # the marker beside the sectors, said as a point and not as a failed repair
        page.get_by_text(
            "Couche « Secteurs du réseau » ajoutée : 2 périmètres, 1 écarté (point ou ligne, pas une surface)."
        ).wait_for(timeout=30_000)
        no_error(page)
        assert 'file = "secteurs_du_reseau.geojson"' in (folder / "geo" / "layers.toml").read_text(encoding="utf-8")
        open_nav_page(page, "Carte du réseau")
        choose(page, "Périmètres affichés", "Périmètres ajoutés — Secteurs du réseau")
        map_frame(page).locator(".rx-legend").get_by_text("Secteurs du réseau").wait_for(timeout=30_000)
        no_error(page)
