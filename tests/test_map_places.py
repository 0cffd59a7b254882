"""Where a national map opens, and « Aller à » the territories that hold its actors.

A directory of the whole country (mainland France and overseas) opened on a frame fitting every
actor: from the Antilles to La Réunion, a 2,000 km scale where mainland France was small. It now
opens on the territory that holds the most actors, and lists the others. Checked on a real
national listing (FINESS 2020, 1,674 hospitals, 168 overseas), placed offline at their communes,
against each hospital's département read from its FINESS number, not from its position.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from reseaux.app_data import Territory
from reseaux.carte.mapview import MapControls
from reseaux.territoire.metric import zone_of, zones_held, zones_of
from tests.test_offline_places import FINESS, _departments_of

ROUEN = (0.9, 49.3, 1.3, 49.5)
MAINLAND = "France métropolitaine et Corse"
#: The territory of each overseas département or collectivity, by its code (written here).
OVERSEAS = {
    "971": "Guadeloupe, Martinique, Saint-Martin, Saint-Barthélemy",
    "972": "Guadeloupe, Martinique, Saint-Martin, Saint-Barthélemy",
    "973": "Guyane",
    "974": "La Réunion",
    "975": "Saint-Pierre-et-Miquelon",
    "976": "Mayotte",
}


def _territory() -> Territory:
    return Territory(specs=[], layers={}, commune_epci={}, place_names={}, home_bounds=ROUEN)


@pytest.fixture(scope="module")
def hospitals(tmp_path_factory, referential_module):
    from reseaux.importation.import_file import import_file

    folder = tmp_path_factory.mktemp("finess")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RESEAUX_GEOCACHE", str(folder / "cache.sqlite"))
        report = import_file(FINESS, folder / "annuaire.csv", referential_module, offline=True)
    assert report.saved
    saved = pd.read_csv(folder / "annuaire.csv", dtype=str, keep_default_na=False)
    source = pd.read_csv(FINESS, dtype=str, keep_default_na=False)
    assert saved["nom"].tolist() == source["hospital_name"].str.strip().tolist()  # row for row
    saved["finess"] = source["id"]
    return saved


@pytest.fixture(scope="module")
def referential_module():
    from reseaux.annuaire.referential import load_referential
    from tests.conftest import ROOT

    return load_referential(ROOT / "data" / "referentiel.csv")


def _territory_of(finess: str) -> str:
    departments = _departments_of(finess)
    overseas = {OVERSEAS[d] for d in departments if d in OVERSEAS}
    assert len(overseas) <= 1
    return overseas.pop() if overseas else MAINLAND


def test_a_national_listing_opens_on_mainland_france_and_lists_each_territory_it_holds(hospitals):
    placed = hospitals[hospitals["latitude"] != ""]
    assert len(placed) > 1600  # the offline placing's own test says which rows it leaves aside
    truth = Counter(placed["finess"].map(_territory_of))
    assert truth[MAINLAND] > 1400 and truth["La Réunion"] > 0 and truth["Guyane"] > 0  # the file's spread

    terr = _territory()
    places = terr.places(hospitals)
    assert [(p.name, p.count) for p in places] == sorted(truth.items(), key=lambda t: -t[1])
    for place in places:  # each territory's bounds hold its hospitals, and those only
        rows = placed[placed["finess"].map(_territory_of) == place.name]
        lon, lat = rows["longitude"].astype(float), rows["latitude"].astype(float)
        west, south, east, north = place.bounds
        assert (west, south, east, north) == (lon.min(), lat.min(), lon.max(), lat.max())

    # Opens on mainland France's hospitals (Rouen's territory holds few of them): every one of
    # them in the frame, no overseas one (La Réunion is at 55° E, the Antilles at 61° W).
    west, south, east, north = terr.opening_bounds(hospitals)
    mainland = placed[placed["finess"].map(_territory_of) == MAINLAND]
    lon, lat = mainland["longitude"].astype(float), mainland["latitude"].astype(float)
    assert (lon >= west).all() and (lon <= east).all() and (lat >= south).all() and (lat <= north).all()
    assert west > -11 and east < 12 and south > 40 and north < 53  # mainland, with a margin

    # The map's list: names in that order, the bounds as Leaflet takes them ([south, west], [north, east]).
    options = MapControls(places=places).options_json
    for place in places:
        assert place.name in options
    assert options.index(MAINLAND) < options.index("La Réunion")


def test_a_network_of_one_territory_gets_no_list_and_opens_on_its_territory():
    """Rouen's directory: most actors in its territory, one zone: the home frame, no list."""
    terr = _territory()
    actors = pd.DataFrame({"latitude": ["49.44", "49.40", "48.85"], "longitude": ["1.09", "1.06", "2.35"]})
    assert terr.opening_bounds(actors) == ROUEN
    assert [p.name for p in terr.places(actors)] == [MAINLAND]
    assert '"places":[]' in MapControls(places=terr.places(actors)).options_json


def test_zones_of_all_at_once_says_what_zone_of_says_point_by_point():
    rng = np.random.default_rng(7)
    lon = np.concatenate([rng.uniform(-180, 180, 3000), [-61.5, 55.5, 2.35, 166.4, -149.6, 180.0, -180.0]])
    lat = np.concatenate([rng.uniform(-90, 90, 3000), [16.2, -21.1, 48.85, -22.3, -17.5, 0.0, -0.0]])
    assert zones_of(lon, lat).tolist() == [zone_of(x, y).epsg for x, y in zip(lon, lat, strict=True)]
    with pytest.raises(ValueError, match="position invalide"):
        zones_of(np.array([2.0, np.nan]), np.array([48.0, 10.0]))
    held = zones_held(np.array([166.4, 166.5, 2.3]), np.array([-22.3, -22.2, 48.8]))
    assert [(h.name, h.count) for h in held] == [("Ailleurs (fuseau UTM 58S)", 2), (MAINLAND, 1)]
