"""Integration: the project's geocoding client against a real addok on loopback (Redis + addok),
indexed with real addresses of FINESS establishments whose positions are known."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point

from reseaux.annuaire.store import DirectoryStore
from reseaux.territoire.geocode_file import geocode_file
from reseaux.territoire.geocoder_client import Geocoder
from tests.addok_server import AddokServer, documents, finess_addresses
from tests.conftest import ROOT

COMMUNES = ROOT / "geo" / "communes_normandie_population.csv"


@pytest.fixture(scope="module")
def addresses():
    return finess_addresses()


@pytest.fixture(scope="module")
def addok(tmp_path_factory, addresses):
    with AddokServer(tmp_path_factory.mktemp("addok"), documents(addresses)) as server:
        yield server


def metres(lat1, lon1, lat2, lon2) -> float:
    points = gpd.GeoSeries([Point(lon1, lat1), Point(lon2, lat2)], crs=4326).to_crs(2154)
    return points.iloc[0].distance(points.iloc[1])


def query(row) -> str:
    return f"{row.house_number} {row.street} {row.postcode} {row.city}"


def test_exact_addresses_within_50_m(addok, addresses):
    geocoder = Geocoder(addok.url)
    sample = addresses.iloc[::4]
    for row in sample.itertuples():
        best = geocoder.search(query(row))[0]
        assert best.type == "housenumber", query(row)
        assert metres(best.latitude, best.longitude, row.geometry.y, row.geometry.x) < 50, query(row)


def test_typos_are_still_found(addok, addresses):
    geocoder = Geocoder(addok.url)
    germont = addresses[addresses["street"] == "RUE DE GERMONT"].iloc[0]
    best = geocoder.search("1 rue de germon rouen")[0]
    assert metres(best.latitude, best.longitude, germont.geometry.y, germont.geometry.x) < 50
    rows = addresses.iloc[1::10]
    for row in rows.itertuples():
        typo = query(row).lower().replace("rue", "ru", 1).replace("avenue", "avenu", 1)
        best = geocoder.search(typo)[0]
        assert metres(best.latitude, best.longitude, row.geometry.y, row.geometry.x) < 50, typo


def test_unknown_address_is_not_a_match(addok):
    answers = Geocoder(addok.url).search("12 rue des Licornes Imaginaires 76000 Rouen")
    assert not answers or answers[0].score < 0.5


def test_batch_through_search_csv(addok, addresses):
    sample = addresses.iloc[:40]
    rows = [
        {"adresse": f"{r.house_number} {r.street}", "code_postal": r.postcode, "commune": r.city}
        for r in sample.itertuples()
    ]
    rows.append({"adresse": "12 rue des Licornes Imaginaires", "code_postal": "76000", "commune": "Rouen"})
    geocoder = Geocoder(addok.url)
    matches = geocoder.search_csv(rows)
    assert geocoder.requests == 1
    for match, row in zip(matches[:-1], sample.itertuples(), strict=True):
        assert metres(match.latitude, match.longitude, row.geometry.y, row.geometry.x) < 50
    assert matches[-1] is None or matches[-1].score < 0.5


def directory(path, addresses, n=25):
    lines = ["id;nom;type;adresse;code_postal;commune;latitude;longitude;geocodage_source"]
    for i, row in enumerate(addresses.iloc[:n].itertuples()):
        lines.append(
            f"f{i};Établissement {i} (fictif);structure;{row.house_number} {row.street};{row.postcode};{row.city};;;"
        )
    lines.append("x;Inconnu (fictif);structure;12 rue des Licornes Imaginaires;76000;Rouen;;;")
    lines.append("m;Déplacé à la main (fictif);structure;1 RUE DE GERMONT;76038;ROUEN;49.5;1.2;manuel")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_geocoding_a_file_twice_makes_no_request_the_second_time(addok, addresses, tmp_path):
    cache = tmp_path / "cache.sqlite"
    first = tmp_path / "first.csv"
    directory(first, addresses)
    summary = geocode_file(first, geocoder_url=addok.url, cache_path=cache, communes_path=COMMUNES)
    assert summary.geocoded == 25 and summary.requests == 1
    assert summary.below_min_score + summary.not_found == 1
    assert summary.skipped_manual == 1
    # Saved through the store (columns in the directory's order): the manual position is untouched.
    moved = DirectoryStore(first).load().table.set_index("id").loc["m"]
    assert (moved["adresse"], moved["latitude"], moved["longitude"], moved["geocodage_source"]) == (
        "1 RUE DE GERMONT",
        "49.5",
        "1.2",
        "manuel",
    )

    second = tmp_path / "second.csv"
    directory(second, addresses)
    summary = geocode_file(second, geocoder_url=addok.url, cache_path=cache, communes_path=COMMUNES)
    assert summary.requests == 0 and summary.from_cache == 25
    # Once geocoded, the first file needs nothing: the unknown address is a cached « not found ».
    summary = geocode_file(first, geocoder_url=addok.url, cache_path=cache, communes_path=COMMUNES)
    assert summary.requests == 0
