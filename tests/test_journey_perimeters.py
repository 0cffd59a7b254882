"""Browser journeys of the perimeters (headless Chromium): « Dans le périmètre » offers the
perimeters of the territory and of the directory, each with its layer, and counts what stands in
the one chosen; « Couverture » opens on a layer that holds the directory.

Right answers computed apart: the demo actors standing in a QPV, point by point with shapely on
the files; the PACA site standing in a QPV of Marseille, likewise on the published positions."""

from __future__ import annotations

import shutil

import geopandas as gpd
import pandas as pd
import pytest
from playwright.sync_api import expect
from shapely.geometry import Point

from reseaux.cli import main
from tests.browser import ACCOUNT_OF_ROLE, LoggedApp, choose, data_folder, no_error, settle, sign_in, type_in
from tests.conftest import DATA, ROOT, SCREENSHOTS, map_frame

pytestmark = pytest.mark.browser

QPV_FILE = ROOT / "geo" / "qpv2024_metropole_rouen.geojson"


def _demo_count_in(qpv_name: str) -> tuple[int, int]:
    """(demo actors standing in the QPV ``qpv_name``, demo actors): read from the files, not the app."""
    shape = gpd.read_file(QPV_FILE).set_index("lib_qp").loc[qpv_name].geometry
    rows = pd.read_csv(ROOT / "data" / "actors.csv", dtype=str, keep_default_na=False)
    placed = rows[(rows["latitude"] != "") & (rows["longitude"] != "")]
    inside = sum(
        shape.contains(Point(float(x), float(y))) for x, y in zip(placed["longitude"], placed["latitude"], strict=True)
    )
    return inside, len(rows)


def test_a_member_picks_a_qpv_of_the_territory_and_sees_its_actors_and_outline(page, tmp_path):
    inside, total = _demo_count_in("Les Hauts de Rouen")
    assert inside > 5  # the pick shows a real count, not a near-empty one
    _folder, env = data_folder(tmp_path)
    with LoggedApp(env) as app:
        page.goto(app.url)
        settle(page)
        sign_in(page, ACCOUNT_OF_ROLE["membre"])
        page.get_by_text(f"{total} acteurs sur {total}").wait_for(timeout=60_000)
        frame = map_frame(page)
        page.get_by_text("Lieu", exact=True).click()
        # Each choice says its layer: the EPCI of the territory is offered as an EPCI of Normandy; one
        # far from the Métropole, with no actor, is not (before, every EPCI of France was, unnamed).
        box = type_in(page, "Dans le périmètre", "Normandie")
        expect(page.get_by_role("option", name="EPCI de Normandie — Métropole Rouen Normandie")).to_have_count(1)
        box.locator("input").fill("Cotentin")
        expect(page.get_by_role("listbox")).to_be_visible()
        expect(page.get_by_role("option").filter(has_text="Cotentin")).to_have_count(0)
        page.keyboard.press("Escape")
        choose(page, "Dans le périmètre", "QPV 2024 (Métropole) — Les Hauts de Rouen")
        page.get_by_text(f"{inside} acteurs sur {total}").wait_for(timeout=30_000)
        frame.locator('path[stroke="#111"][stroke-dasharray]').first.wait_for(timeout=30_000)
        page.screenshot(path=str(SCREENSHOTS / "dans-le-perimetre.png"))
        no_error(page)


def test_couverture_opens_on_the_layer_that_holds_a_paca_directory(page, tmp_path):
    """The demo's registry (Rouen) with the QPV 2015 of Marseille added and the 62 real PACA sites:
    the page opens on the QPV of Marseille, where a site stands, not on those of Rouen."""
    sites = pd.read_csv(DATA / "real" / "france_services_paca_2020.csv", dtype=str, keep_default_na=False)
    qpv = gpd.read_file(DATA / "real" / "qpv2015_arrondissement_marseille_13.gpkg").to_crs(4326).geometry
    standing = [
        name
        for name, x, y in zip(sites["lib_france_services"], sites["LONGITUDE"], sites["LATITUDE"], strict=True)
        if any(shape.buffer(0).contains(Point(float(x), float(y))) for shape in qpv)
    ]
    assert standing  # the layer holds some of the directory
    folder, env = data_folder(tmp_path)
    geo = folder / "geo"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RESEAUX_GEO_DIR", str(geo))
        patch.setenv("RESEAUX_LAYERS", str(geo / "layers.toml"))
        patch.setenv("RESEAUX_GEOCACHE", env["RESEAUX_GEOCACHE"])
        assert (
            main(
                [
                    "layers",
                    "add",
                    str(DATA / "real" / "qpv2015_arrondissement_marseille_13.gpkg"),
                    "--id",
                    "qpv_marseille",
                    "--code-field",
                    "CODE_QP",
                    "--name-field",
                    "NOM_QP",
                    "--label",
                    "QPV 2015 (Marseille)",
                ]
            )
            == 0
        )
        (folder / "actors.csv").unlink()
        assert (
            main(
                [
                    "import",
                    str(DATA / "real" / "france_services_paca_2020.csv"),
                    "--into",
                    str(folder / "actors.csv"),
                    "--offline",
                    "--set",
                    "type=structure",
                ]
            )
            == 0
        )
    shutil.rmtree(folder / ".cache", ignore_errors=True)
    with LoggedApp(env) as app:
        page.goto(app.url + "/couverture")
        settle(page)
        expect(page.get_by_role("combobox", name="Périmètres", exact=True)).to_have_value(
            "Périmètres ajoutés — QPV 2015 (Marseille)", timeout=60_000
        )
        page.get_by_text("QPV 2015 : ").first.wait_for(timeout=60_000)
        assert "couche=qpv_marseille" in page.url
        page.screenshot(path=str(SCREENSHOTS / "couverture-paca.png"))
        no_error(page)


def test_a_coordinator_chooses_the_layer_of_a_geopackage_and_the_key_of_a_canton_list(page, tmp_path):
    """The form: a GeoPackage of two real layers asks « Couche du fichier » (each with its count) and
    adds the one chosen; a canton list whose numbers repeat across départements stops with the count
    each key gives, then « un périmètre par le département et le code » adds 5 (counted by hand)."""
    from tests.browser import open_nav_page
    from tests.test_add_layer import CANTONS, REGIONS_TOPOJSON

    package = tmp_path / "deux_couches.gpkg"
    gpd.read_file(DATA / "real" / "qpv2015_arrondissement_marseille_13.gpkg").to_file(
        package, layer="qpv", driver="GPKG"
    )
    gpd.read_file(REGIONS_TOPOJSON).set_crs("EPSG:4326").to_file(package, layer="regions", driver="GPKG")
    cantons = tmp_path / "cantons.csv"
    cantons.write_text(CANTONS, encoding="utf-8")
    folder, env = data_folder(tmp_path)
    with LoggedApp(env) as app:
        page.goto(app.url)
        settle(page)
        sign_in(page, ACCOUNT_OF_ROLE["coordinateur"])
        open_nav_page(page, "Sources et crédits")
        uploader = page.get_by_test_id("stFileUploader").locator("input[type=file]")
        uploader.set_input_files(str(package))
        page.get_by_role("button", name="Ajouter la couche").wait_for(timeout=30_000)
        choose(page, "Couche du fichier", "regions (18 périmètres)")
        settle(page)
        choose(page, "Champ du code de chaque périmètre", "id_reg")
        choose(page, "Champ du nom", "nom_reg")
        page.get_by_label("Identifiant (lettres minuscules, chiffres, _)").fill("regions")
        page.get_by_role("button", name="Ajouter la couche").click()
        page.get_by_text("ajoutée : 18 périmètres").wait_for(timeout=30_000)
        uploader.set_input_files(str(cantons))
        # the new file's form, not the last one's (identifier « regions », label « deux_couches »)
        page.get_by_label("Libellé affiché").and_(page.locator("[value='cantons']")).wait_for(timeout=30_000)
        # The former form's fields leave the page a moment after the new ones are drawn: one left, then its value.
        identifier = page.get_by_label("Identifiant (lettres minuscules, chiffres, _)")
        expect(identifier).to_have_count(1)
        expect(identifier).to_have_value("cantons")
        settle(page)
        choose(page, "Champ du code de chaque périmètre", "canton")
        choose(page, "Champ du nom", "nom")
        choose(page, "Colonne du code INSEE de la commune", "insee")
        page.get_by_role("button", name="Ajouter la couche").click()
        page.get_by_text("par le code seul, 3 périmètres").wait_for(timeout=30_000)
        page.get_by_text("par le département et le code, 5 périmètres").first.wait_for(timeout=60_000)
        page.get_by_test_id("stRadioGroup").get_by_text("un périmètre par le département et le code").click()
        page.get_by_role("button", name="Ajouter la couche").click()
        page.get_by_text("Couche « cantons » ajoutée : 5 périmètres").wait_for(timeout=30_000)
        no_error(page)
    assert 'id = "cantons"' in (folder / "geo" / "layers.toml").read_text(encoding="utf-8")
