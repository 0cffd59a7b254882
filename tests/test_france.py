"""The national reference data (built by `make setup`), the territory file and offline placing
anywhere in France. Right answers are those of the Code officiel géographique 2026."""

from __future__ import annotations

import pandas as pd
import pytest

from reseaux import config
from reseaux.app_data import load_territory
from reseaux.territoire import france
from reseaux.territoire.commune_locator import CommuneLocator
from reseaux.territoire.territory import TerritoryError, default_layers, load


@pytest.fixture(scope="module")
def locator() -> CommuneLocator:
    return CommuneLocator.from_csv(config.path("communes_table"))


def test_the_national_table_covers_france():
    table = france.communes()
    assert len(table) > 34_800  # 34,871 communes with an outline in the COG 2026
    rouen = table.set_index("code_insee").loc["76540"]
    assert (rouen["nom"], rouen["epci_siren"], rouen["code_dep"]) == ("Rouen", "200023414", "76")
    assert set(rouen["codes_postaux"].split()) == {"76000", "76100"}
    assert table["code_insee"].str.len().eq(5).all() and table["code_insee"].is_unique


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"code_postal": "14033", "commune": "CAEN CEDEX"}, "14118"),  # a CEDEX code, not a postcode
        ({"code_postal": "76000", "commune": "Rouen Cedex 1"}, "76540"),
        ({"code_postal": "76800", "commune": "ST ETIENNE DU ROUVRAY"}, "76575"),
        ({"code_postal": "76310", "commune": "STE ADRESSE"}, "76552"),
        ({"code_postal": "1400", "commune": "L'Abergement-Clémenciat"}, "01001"),  # a spreadsheet ate the zero
        ({"code_postal": "50100", "commune": "CHERBOURG OCTEVILLE"}, "50129"),  # merged into Cherbourg-en-Cotentin
        ({"code_insee": "50173"}, "50129"),  # Équeurdreville-Hainneville's former code
        ({"code_postal": "", "commune": "Châtellerault"}, "86066"),  # a name alone, unique in France
        ({"adresse": "12 rue de la Gare 86000 Poitiers"}, "86194"),  # everything in one cell
        ({"code_postal": "86360", "commune": ""}, "86062"),  # a postcode alone: its most populous commune
    ],
)
def test_an_address_is_placed_at_its_commune_anywhere(locator, row, expected):
    code, match = locator.locate(row)
    assert code == expected and match.type == "municipality" and match.score < 0.5  # approximate


def test_an_unknown_commune_is_not_guessed(locator):
    assert locator.locate({"code_postal": "76000", "commune": "Atlantis"}) is None
    assert locator.locate({"commune": "Saint-Martin"}) is None  # dozens of them, no postcode to choose


def test_the_commune_of_a_position():
    lon = pd.Series([1.0993, 0.3404, -3.0])
    lat = pd.Series([49.4431, 46.5802, 47.0])  # Rouen, Poitiers, the Atlantic
    assert france.commune_at(lon, lat).tolist() == ["76540", "86194", ""]


def test_a_file_with_coordinates_gets_its_communes():
    frame = pd.DataFrame(
        {"latitude": ["46.5802", "", "49.4431"], "longitude": ["0.3404", "", "1.0993"], "code_insee": ["", "", "76540"]}
    )
    assert france.fill_communes(frame) == 1
    assert frame["code_insee"].tolist() == ["86194", "", "76540"]


def test_the_demo_territory_is_the_metropole(tmp_path):
    network = load()
    assert network.title == "Réseau santé sexuelle — Métropole Rouen Normandie"
    assert len(network.communes) == 71 and "76540" in network.communes
    minx, miny, maxx, maxy = network.bounds()
    assert minx < 1.0993 < maxx and miny < 49.4431 < maxy


def test_a_territory_by_department_code_written_as_a_number(tmp_path):
    path = tmp_path / "territoire.toml"
    path.write_text('titre = "Réseau Ariège"\n[territoire]\ndepartements = [9]\n', encoding="utf-8")
    network = load(path)
    assert network.communes and all(code.startswith("09") for code in network.communes)
    assert network.registry is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[territoire]\nepci = ["123"]\n', "epci inconnu(s) du référentiel national : 123"),
        ('[territoire]\ndepartement = ["86"]\n', "clé(s) inconnue(s) dans [territoire] : departement"),
        ('titre = "x\n', "illisible"),
    ],
)
def test_a_wrong_territory_file_says_what_to_fix(tmp_path, text, message):
    path = tmp_path / "territoire.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TerritoryError) as caught:
        load(path)
    assert message in str(caught.value)


def test_a_territory_without_registry_draws_its_communes_epci_and_qpv(tmp_path):
    path = tmp_path / "territoire.toml"
    path.write_text('titre = "Réseau Vienne"\n[territoire]\ndepartements = ["86"]\n', encoding="utf-8")
    network = load(path)
    specs, layers = default_layers(network)
    assert [s.id for s in specs] == ["qpv", "communes", "epci"]
    assert len(layers["communes"]) == len(network.communes) > 250
    assert layers["qpv"]["code"].str.startswith("QN086").all() and len(layers["qpv"]) >= 5
    assert "200069854" in set(layers["epci"]["code"])  # CU du Grand Poitiers
    territory = load_territory(network=network)
    minx, miny, maxx, maxy = territory.home_bounds
    assert minx < 0.3404 < maxx and miny < 46.5802 < maxy  # opens on the Vienne, not on Rouen
    assert territory.place_names["commune:86194"] == "Poitiers"


def test_the_map_opens_on_a_directory_that_lies_elsewhere(territory):
    here = pd.DataFrame({"longitude": [1.09, 1.10], "latitude": [49.44, 49.45]})
    assert territory.opening_bounds(here) == territory.home_bounds
    poitiers = pd.DataFrame({"longitude": [0.34, 0.35, 1.09], "latitude": [46.58, 46.59, 49.44]})
    minx, miny, maxx, _maxy = territory.opening_bounds(poitiers)
    assert minx < 0.34 and maxx > 1.09 and miny < 46.58  # two of three in the Vienne: all shown


def test_the_opening_bounds_are_kept_for_their_frame_without_keeping_it_alive(territory, monkeypatch):
    """The map page asks at every rerun (0.3 to 0.4 s at 1,000,000 actors): reckoned once per
    directory frame; a former frame let go is not held by the memo."""
    import gc
    import weakref

    reckoned = []
    reckon = territory._opening_of
    monkeypatch.setattr(territory, "_opening_of", lambda actors: reckoned.append(1) or reckon(actors))
    poitiers = pd.DataFrame({"longitude": [0.34, 0.35], "latitude": [46.58, 46.59]})
    here = pd.DataFrame({"longitude": [1.09, 1.10], "latitude": [49.44, 49.45]})
    first = territory.opening_bounds(poitiers)
    assert first[0] < 0.34 < first[2] and territory.opening_bounds(poitiers) == first and len(reckoned) == 1
    assert territory.opening_bounds(here) == territory.home_bounds and len(reckoned) == 2  # another frame
    gone = weakref.ref(poitiers)
    del poitiers
    gc.collect()
    assert gone() is None
