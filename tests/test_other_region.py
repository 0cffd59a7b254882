"""Another region, with real public files (tests/data/README.md, « PACA »): the QPV 2015 of the
Marseille area as one publisher cut them (Lambert-93, field names in capitals, one
self-intersecting polygon), and the France services sites of Provence-Alpes-Côte d'Azur
imported without their coordinates (« ST », postcodes that lost their zero, a misspelt commune).

Right answers: the commune holding each site's own published position; the QPV within 1 km of
each site, computed here by brute force in Lambert-93."""

from __future__ import annotations

import shutil

import geopandas as gpd
import pandas as pd
import pytest

from reseaux.app_data import load_actors, load_referential_file, load_territory
from reseaux.cli import main
from reseaux.territoire.france import commune_at
from tests.browser import LoggedApp, choose, data_folder, no_error, settle
from tests.conftest import DATA, ROOT, SCREENSHOTS, evaluate_in_map, map_frame, map_still

REAL = DATA / "real"
QPV = REAL / "qpv2015_arrondissement_marseille_13.gpkg"
SITES = REAL / "france_services_paca_2020.csv"


@pytest.fixture(scope="module")
def paca(tmp_path_factory):
    """The geo folder with the Marseille QPV added by the command line, and the PACA directory
    imported offline without its coordinates: (geo folder, directory, published table)."""
    folder = tmp_path_factory.mktemp("paca")
    geo = folder / "geo"
    shutil.copytree(ROOT / "geo", geo)
    published = pd.read_csv(SITES, dtype=str, keep_default_na=False)
    blind = folder / "france_services_sans_coordonnees.csv"
    published.drop(columns=["LATITUDE", "LONGITUDE", "insee_com"]).to_csv(blind, index=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RESEAUX_GEO_DIR", str(geo))
        patch.setenv("RESEAUX_LAYERS", str(geo / "layers.toml"))
        patch.setenv("RESEAUX_GEOCACHE", str(folder / "cache.sqlite"))
        assert (
            main(
                [
                    "layers",
                    "add",
                    str(QPV),
                    "--id",
                    "qpv_marseille",
                    "--code-field",
                    "CODE_QP",
                    "--name-field",
                    "NOM_QP",
                    "--label",
                    "QPV 2015 (Marseille)",
                    "--source",
                    "ANCT (SIG Ville)",
                    "--licence",
                    "Licence Ouverte",
                    "--vintage",
                    "2015",
                ]
            )
            == 0
        )
        assert (
            main(["import", str(blind), "--into", str(folder / "actors.csv"), "--offline", "--set", "type=structure"])
            == 0
        )
    return geo, folder / "actors.csv", published


def test_the_perimeter_file_is_repaired_and_drawn_in_marseille(paca, monkeypatch):
    geo, _, _ = paca
    monkeypatch.setenv("RESEAUX_GEO_DIR", str(geo))
    monkeypatch.setenv("RESEAUX_LAYERS", str(geo / "layers.toml"))
    layer = load_territory().layers["qpv_marseille"]
    assert len(layer) == 37 and layer.is_valid.all() and layer.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    assert layer.set_index("code").loc["QP013058", "nom"] == "La Cabucelle"  # the self-intersecting one
    minx, miny, maxx, maxy = layer.total_bounds
    assert 5.2 < minx < maxx < 5.7 and 43.1 < miny < maxy < 43.5  # Marseille, Aubagne, Septèmes


def test_the_directory_is_placed_offline_in_the_right_communes(paca):
    _, actors, published = paca
    table = pd.read_csv(actors, dtype=str, keep_default_na=False)
    assert len(table) == 62 and set(table["geocodage_source"]) == {"commune"}
    truth = commune_at(published["LONGITUDE"], published["LATITUDE"])
    placed = table.set_index("nom")["code_insee"]
    right = [placed[name] == code for name, code in zip(published["lib_france_services"], truth, strict=True)]
    assert sum(right) == 62


def test_coverage_of_the_added_layer_counts_what_is_near(paca, monkeypatch, tmp_path):
    geo, actors, _ = paca
    monkeypatch.setenv("RESEAUX_GEO_DIR", str(geo))
    monkeypatch.setenv("RESEAUX_LAYERS", str(geo / "layers.toml"))
    out = tmp_path / "couverture.csv"
    assert (
        main(
            ["coverage", "--layer", "qpv_marseille", "--actors", str(actors), "--distance-m", "3000", "--out", str(out)]
        )
        == 0
    )
    table = pd.read_csv(out).set_index("code")
    # Brute force: every (QPV, site) pair measured in Lambert-93.
    qpv = load_territory().layers["qpv_marseille"].set_index("code").to_crs(2154)
    placed = load_actors(actors, load_referential_file()).directory.actors.dropna(subset=["latitude", "longitude"])
    sites = gpd.GeoSeries(gpd.points_from_xy(placed["longitude"], placed["latitude"]), crs=4326).to_crs(2154)
    expected = {code: int((sites.distance(shape) <= 3000).sum()) for code, shape in qpv.geometry.items()}
    assert table["n_within"].to_dict() == expected and len(table) == 37
    assert 0 < sum(v > 0 for v in expected.values()) < 37  # some QPV served, some not: the test can fail


@pytest.mark.browser
def test_the_map_opens_on_the_directory_and_draws_the_layer(paca, page, tmp_path):
    geo, actors, _ = paca
    folder, env = data_folder(tmp_path)
    shutil.copy(actors, folder / "actors.csv")
    env |= {"RESEAUX_GEO_DIR": str(geo), "RESEAUX_LAYERS": str(geo / "layers.toml")}  # with the added layer
    with LoggedApp(env) as app:
        page.goto(app.url)
        settle(page)
        page.get_by_text("62 acteurs sur 62").wait_for(timeout=60_000)
        frame = map_frame(page)
        frame.locator(".rx-pin, .rx-cluster").first.wait_for(timeout=60_000)
        center = evaluate_in_map(page, "() => window.map.getCenter()")
        assert 42.9 < center["lat"] < 45.2 and 4.2 < center["lng"] < 7.8, center  # PACA, not Rouen
        choose(page, "Périmètres affichés", "Périmètres ajoutés — QPV 2015 (Marseille)")
        frame.locator(".rx-legend").get_by_text("QPV 2015 (Marseille)").wait_for(timeout=30_000)
        map_still(page)
        page.screenshot(path=str(SCREENSHOTS / "autre-region.png"))
        # Four Marseille sites placed offline at the town hall share one place: no zoom parts them,
        # the search box opens the list of the actors there, and each name opens its fiche.
        frame.get_by_placeholder("Chercher un acteur…").fill("Malpassé")
        frame.locator(".rx-search li").filter(has_text="Malpassé").first.click()
        shared = frame.locator(".rx-leaves li")
        shared.first.wait_for(timeout=60_000)
        assert sorted(shared.all_inner_texts()) == ["Bon Secours St Gabriel", "Huveaune", "Malpassé", "Panier"]
        shared.filter(has_text="Malpassé").locator("a").click()
        frame.locator(".rx-fiche-title").filter(has_text="Malpassé").wait_for(timeout=60_000)
        no_error(page)


def test_the_published_file_is_as_described():
    """What the provenance says of the extract (so the tests above rest on what they claim)."""
    shapes = gpd.read_file(QPV)
    assert len(shapes) == 37 and (~shapes.is_valid).sum() == 1 and shapes.crs.to_epsg() == 2154
    published = pd.read_csv(SITES, dtype=str, keep_default_na=False)
    assert len(published) == 62 and published["lib_com"].str.match(r"^STE?S? ").sum() == 6
    assert published["code_postal"].str.len().eq(4).sum() >= 6
