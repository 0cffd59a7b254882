"""The nearest partners answered by PostgreSQL from its readings, without the directory in memory.

The truth is the answer the app gives from a directory read in memory (``analyse.proximity``:
every row validated by Python, distances by pyproj), compared with the database's (the rows read
one by one into columns, distances by SQL and PostGIS), on a national directory: the demo's
Rouen network and the real FINESS listing of 1,674 hospitals (2020, 168 overseas), placed
offline at their communes. Added to it, what a database's raw cells would get wrong: a repeated
identifier, a row with an error, a theme written as its label, a position given with a comma,
latitude and longitude swapped.
The distances are checked a third way, on the ellipsoid (pyproj's ``Geod``, not the app's code).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

from reseaux.analyse.filters import ActorFilter, apply_filter
from reseaux.analyse.proximity import ProximityIndex
from reseaux.analyse.proximity import nearest as nearest_in_memory
from reseaux.annuaire.directory import load_directory
from reseaux.annuaire.referential import load_referential
from reseaux.annuaire.store import encode_table
from reseaux.stockage import readings
from reseaux.stockage.postgres import SCHEMA, PostgresDirectoryStore
from tests.conftest import ROOT
from tests.test_offline_places import FINESS

KEY = "tests"
#: Where people search from: Rouen, Paris, Ajaccio, and the overseas départements' prefectures.
ORIGINS = {
    "Rouen": (49.4431, 1.0993),
    "Paris": (48.8566, 2.3522),
    "Ajaccio": (41.9192, 8.7386),
    "Saint-Denis (La Réunion)": (-20.8823, 55.4504),
    "Cayenne": (4.9224, -52.3135),
    "Pointe-à-Pitre": (16.2411, -61.5331),
    "Mamoudzou": (-12.7806, 45.2278),
}
#: (k, radius in metres) asked from each origin: a street, a town, none (the k closest anywhere).
ASKED = [(10, 2_000.0), (25, 30_000.0), (5, None)]
FILTERS = [
    {},
    {"themes": ["ivg"]},
    {"types": ["structure"], "modalites": ["sans_rdv", "gratuit"]},
    {"professions": ["sage_femme", "medecin_generaliste"]},
]


@pytest.fixture(scope="module")
def referential():
    return load_referential(ROOT / "data" / "referentiel.csv")


@pytest.fixture(scope="module")
def national(tmp_path_factory, referential) -> bytes:
    """The demo directory, the FINESS hospitals imported into it (placed offline), and rows a reading of
    the raw cells would get wrong."""
    from reseaux.importation.import_file import import_file

    folder = tmp_path_factory.mktemp("national")
    path = folder / "annuaire.csv"
    shutil.copyfile(ROOT / "data" / "actors.csv", path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RESEAUX_GEOCACHE", str(folder / "cache.sqlite"))
        report = import_file(FINESS, path, referential, offline=True)
    assert report.saved
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    first = table.iloc[0].to_dict()
    rouen = {"latitude": "49.4431", "longitude": "1.0993"}
    odd = [
        # the same identifier as the first fiche, a few metres from Rouen's centre: not an actor
        {**first, **rouen, "nom": "Doublon de la première fiche (fictif)"},
        # an error of its own (no name): not an actor
        {**first, **rouen, "id": "ligne-en-erreur", "nom": ""},
        # latitude and longitude swapped: an actor, its position a warning (as the app reads it)
        {
            **first,
            "id": "position-inversee",
            "nom": "Position inversée (fictive)",
            "thematiques": "contraception",
            "latitude": "1.0993",
            "longitude": "49.4431",
        },
        # the theme as people write it, the position with commas: an actor, read as « ivg » and placed
        {
            **first,
            **rouen,
            "id": "theme-en-clair",
            "nom": "Thème écrit en clair (fictif)",
            "thematiques": "IVG",
            "latitude": "49,4432",
        },
        # an outreach action for members only, its zones and languages written with « ; » and spaces
        {
            **first,
            "latitude": "49.4600",
            "longitude": "1.1200",
            "id": "aller-vers-membres",
            "nom": "Maraude réservée aux membres (fictive)",
            "type": "aller_vers",
            "visibilite": "membres",
            "zone_intervention": "QN07620M ; 76540",
            "langues": "Français ; Tigrigna",
        },
        # a structure naming a zone of intervention: not an outreach action, its zone not one of theirs
        {**first, "latitude": "49.5000", "longitude": "1.0000", "id": "zone-hors-aller-vers", "type": "structure",
         "nom": "Structure avec une zone (fictive)", "zone_intervention": "76451"},
    ]  # fmt: skip
    # first in the directory, an actor for members without a position (an address to geocode):
    # counted, never drawn nor measured, the actors after it in the same order
    unplaced = {**first, "id": "sans-position", "nom": "Fiche sans position (fictive)", "thematiques": "ivg|contraception",
                "visibilite": "membres",
                "latitude": "", "longitude": "", "adresse": "1 rue de la Paix", "commune": "Rouen", "code_postal": "76000"}  # fmt: skip
    table = pd.concat([pd.DataFrame([unplaced]), table, pd.DataFrame(odd)], ignore_index=True)
    return encode_table(table, ",", "utf-8")


@pytest.fixture(scope="module")
def in_memory(national, referential):
    directory = load_directory(national, referential)
    rejected = set(directory.rejected["nom"])
    assert "Doublon de la première fiche (fictif)" in rejected and "ligne-en-erreur" in set(directory.rejected["id"])
    clear = directory.actors[directory.actors["id"] == "theme-en-clair"].iloc[0]
    assert "ivg" in clear["thematiques"] and abs(clear["latitude"] - 49.4432) < 1e-9
    assert len(directory.actors) > 1800 and (directory.actors["latitude"] < 0).sum() > 50  # overseas
    return ProximityIndex.build(directory.actors), directory


@pytest.fixture()
def store(database_url, national):
    store = PostgresDirectoryStore(database_url)
    store.replace(national, "test", "migration")
    return store


def _filter(facets: dict) -> ActorFilter:
    return ActorFilter(**{facet: tuple(codes) for facet, codes in facets.items()})


def test_the_database_answers_the_nearest_as_the_directory_in_memory_does(store, in_memory, referential):
    index, _ = in_memory
    compared, near = 0, set()
    for facets in FILTERS:
        mask = apply_filter(index.frame, _filter(facets), referential).mask.to_numpy()
        for name, (lat, lon) in ORIGINS.items():
            for k, radius in ASKED:
                expected = nearest_in_memory(index, lat, lon, mask=mask, k=k, radius_m=radius)
                found = readings.nearest(
                    store, referential, KEY, lat, lon, asked=readings.Asked(_filter(facets)), k=k, radius_m=radius
                )
                where = f"{name}, {facets}, k={k}, rayon {radius}"
                assert found["id"].tolist() == expected["id"].tolist(), where
                assert found["nom"].tolist() == expected["nom"].tolist(), where
                assert np.abs(found["distance_m"].to_numpy() - expected["distance_m"].to_numpy()).max(initial=0) <= 1, (
                    where
                )
                compared += len(found)
                if radius is not None and len(found):
                    near.add(name)
    assert compared > 300 and near == set(ORIGINS)  # answers, not empty lists agreeing, in every territory


def test_each_distance_is_the_ellipsoids_within_what_a_territorys_system_stretches(store, referential):
    geod = Geod(ellps="GRS80")
    for lat, lon in ORIGINS.values():
        found = readings.nearest(store, referential, KEY, lat, lon, k=20, radius_m=None)
        assert len(found) == 20
        with store._connection() as connection:
            places = dict(
                connection.execute(
                    f"SELECT rid, ARRAY[ST_X(place), ST_Y(place)] FROM {SCHEMA}.directory_rows "
                    "WHERE valid_to IS NULL AND usable AND rid = ANY(%s)",
                    (found["id"].tolist(),),
                ).fetchall()
            )
            connection.commit()
        for actor_id, metres in zip(found["id"], found["distance_m"], strict=True):
            to_lon, to_lat = places[actor_id]
            _, _, true = geod.inv(lon, lat, to_lon, to_lat)
            assert abs(metres - true) <= max(2.0, true * 0.003), (actor_id, metres, true)


def test_the_repeated_identifier_and_the_row_in_error_are_never_answered(store, referential):
    found = readings.nearest(store, referential, KEY, 49.4431, 1.0993, k=5, radius_m=None)
    assert "Doublon de la première fiche (fictif)" not in found["nom"].tolist()
    # swapped back by the reading, as by the app: on the origin; then the comma read as a decimal point
    assert found["id"].tolist()[:2] == ["position-inversee", "theme-en-clair"]
    assert found["distance_m"].tolist()[:2] == [0, 11]  # 0.0001° of latitude
    ivg = readings.nearest(
        store, referential, KEY, 49.4431, 1.0993, asked=readings.Asked(_filter({"themes": ["ivg"]})), k=1
    )
    assert ivg["id"].tolist() == ["theme-en-clair"]  # read as its code, not as the cell « IVG »


def test_a_save_is_answered_at_the_next_question_and_reads_only_its_rows(store, referential):
    readings.nearest(store, referential, KEY, 48.8566, 2.3522, k=1)
    assert readings.unread(store, KEY) == 0
    base = store.load()
    moved = base.table[base.table["nom"].str.contains("CENTRE HOSPITALIER")].head(1).copy()
    moved["latitude"], moved["longitude"] = "48.8567", "2.3523"  # next to Paris's origin
    store.save_rows(base, moved, "test")
    assert readings.unread(store, KEY) == 1  # the saved fiche alone, not the directory
    found = readings.nearest(store, referential, KEY, 48.8566, 2.3522, k=1)
    _, _, metres = Geod(ellps="GRS80").inv(2.3522, 48.8566, 2.3523, 48.8567)
    assert found["id"].tolist() == moved["id"].tolist() and found["distance_m"].iloc[0] == round(metres) == 13


def test_another_referential_reads_every_row_again(store, referential):
    readings.nearest(store, referential, KEY, 49.4431, 1.0993, k=1)
    assert readings.unread(store, "another") is None
    counted = []
    readings.nearest(store, referential, "another", 49.4431, 1.0993, k=1, progress=counted.append)
    assert counted[-1] == len(store.load().table)
    assert readings.unread(store, KEY) is None and readings.unread(store, "another") == 0


def test_the_command_asks_the_database_and_not_a_file_left_behind(
    store, in_memory, referential, database_url, tmp_path
):
    # After a migration the file of RESEAUX_ACTORS may still be there, older: the command used to
    # answer from it. Here it holds the demo alone, without the FINESS hospitals.
    stale = tmp_path / "actors.csv"
    shutil.copyfile(ROOT / "data" / "actors.csv", stale)
    env = {
        **os.environ,
        "RESEAUX_DATABASE_URL": database_url,
        "RESEAUX_ACTORS": str(stale),
        "PYTHONPATH": str(ROOT / "src"),
    }
    asked = ["--lat", "-20.8823", "--lon", "55.4504", "-k", "3", "--radius-km", "20"]  # Saint-Denis, La Réunion
    result = subprocess.run(
        [sys.executable, "-m", "reseaux", "nearest", *asked], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert result.returncode == 0, result.stderr
    answered = pd.read_csv(io.StringIO(result.stdout), dtype={"id": str})
    index, _ = in_memory
    expected = nearest_in_memory(index, -20.8823, 55.4504, k=3, radius_m=20_000)
    assert len(expected) == 3 and answered["id"].tolist() == expected["id"].tolist()
    assert answered["distance_m"].tolist() == expected["distance_m"].tolist()
    assert "fiches lues pour la base" in result.stderr  # every row read once, said
    again = subprocess.run(
        [sys.executable, "-m", "reseaux", "nearest", *asked], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert again.stdout == result.stdout and "lue" not in again.stderr  # nothing saved since: nothing read
    from_file = subprocess.run(
        [sys.executable, "-m", "reseaux", "nearest", *asked, "--actors", str(stale)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert from_file.returncode == 0 and from_file.stdout.strip() == "id,nom,distance_m"  # the file asked for


@pytest.fixture(scope="module")
def qpv_layer():
    """The 1,584 QPV 2024 of France (ANCT), overseas included, as a coverage layer."""
    from reseaux.analyse.coverage import PreparedLayer
    from reseaux.territoire.france import qpv

    frame = qpv()[["code", "nom", "geometry"]].copy()
    frame["population"] = np.nan
    assert len(frame) > 1500 and (frame.geometry.representative_point().y < 0).sum() > 40  # La Réunion, Mayotte
    return PreparedLayer.build(frame)


@pytest.mark.parametrize(
    ("facets", "distance_m"), [({}, 1000.0), ({"themes": ["ivg"]}, 300.0), ({"types": ["structure"]}, 5000.0)]
)
def test_the_database_measures_coverage_as_the_directory_in_memory_does(
    store, in_memory, referential, qpv_layer, facets, distance_m
):
    from reseaux.analyse.coverage import actor_points, coverage_table

    _, directory = in_memory
    chosen = apply_filter(directory.actors, _filter(facets), referential).actors
    expected = coverage_table(qpv_layer, actor_points(chosen), distance_m=distance_m)
    found = readings.coverage(
        store, referential, KEY, qpv_layer, asked=readings.Asked(_filter(facets)), distance_m=distance_m
    )
    columns = ["code", "nom", "n_inside", "n_within", "distance_nearest_m", "gap"]
    pd.testing.assert_frame_equal(found[columns], expected[columns], check_dtype=False)
    assert expected["n_within"].sum() > 0 and (~expected["gap"]).sum() > 3  # perimeters covered, not only gaps


def test_the_coverage_command_asks_the_database_as_it_reads_a_file(store, national, database_url, tmp_path):
    # The truth: the same command on the same directory given as a file, read and validated in memory.
    directory = tmp_path / "national.csv"
    directory.write_bytes(national)
    env = {**os.environ, "RESEAUX_DATABASE_URL": database_url, "PYTHONPATH": str(ROOT / "src")}
    asked = ["coverage", "--layer", "qpv", "--distance-m", "800"]

    def run(*more: str):
        return subprocess.run(
            [sys.executable, "-m", "reseaux", *asked, *more], capture_output=True, text=True, cwd=ROOT, env=env
        )

    from_database, from_file = (
        run("--out", str(tmp_path / "base.csv")),
        run("--actors", str(directory), "--out", str(tmp_path / "fichier.csv")),
    )
    assert from_database.returncode == 0 and from_file.returncode == 0, from_database.stderr + from_file.stderr
    assert (tmp_path / "base.csv").read_text() == (tmp_path / "fichier.csv").read_text()
    table = pd.read_csv(tmp_path / "base.csv")
    assert len(table) == 16 and table["n_within"].sum() > 0  # the Métropole's QPV, some covered
    assert from_database.stderr.splitlines()[-1] == from_file.stderr.splitlines()[-1]  # the same sentence


def test_a_save_between_the_reading_and_the_question_is_read_before_answering(store, referential, monkeypatch):
    # Another server saves a fiche after this question brought the readings up to date and before
    # it asks: the question sees an unread row in its own snapshot and reads again.
    readings.nearest(store, referential, KEY, 48.8566, 2.3522, k=1)
    base = store.load()
    moved = base.table[base.table["nom"].str.contains("CENTRE HOSPITALIER")].head(1).copy()
    moved["latitude"], moved["longitude"] = "48.8567", "2.3523"
    brought = readings.bring_up_to_date
    calls = []

    def then_another_saves(*args, **kwargs):
        done = brought(*args, **kwargs)
        calls.append(done)
        if len(calls) == 1:
            store.save_rows(base, moved, "un autre serveur")
        return done

    monkeypatch.setattr(readings, "bring_up_to_date", then_another_saves)
    found = readings.nearest(store, referential, KEY, 48.8566, 2.3522, k=1)
    assert calls == [0, 1]  # nothing to read, then the row the other server saved
    assert found["id"].tolist() == moved["id"].tolist()


def test_a_database_that_does_not_answer_is_said_once_in_french(tmp_path):
    env = {
        **os.environ,
        "RESEAUX_DATABASE_URL": "postgresql://reseaux@127.0.0.1:1/reseaux?connect_timeout=1",
        "PYTHONPATH": str(ROOT / "src"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "reseaux", "nearest", "--lat", "49.44", "--lon", "1.1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("la base PostgreSQL « reseaux » sur 127.0.0.1 ne répond pas")
    assert "Traceback" not in result.stderr and "Error connecting" not in result.stderr


# The filters of the pages, and who asks: each person's answer, from the database as from memory.

#: Who asks: a visitor where visitors see the public fiches, a visitor where they see nothing, a member.
WHO = [("visiteur", "public"), ("visiteur", "rien"), ("membre", "public")]


@pytest.fixture(scope="module")
def territory():
    from reseaux.app_data import load_territory

    return load_territory()


def _page_filters(territory) -> list[ActorFilter]:
    """Filters as people choose them on the pages, each field of ``ActorFilter`` at least once."""
    qpv = territory.layers["qpv"]
    inside = qpv[qpv["nom"].str.contains("Hauts de Rouen|Grammont", regex=True)]["code"].iloc[0]
    return [
        ActorFilter(),
        ActorFilter(themes=("ivg", "contraception")),
        ActorFilter(types=("structure",), modalites=("sans_rdv", "gratuit")),
        ActorFilter(professions=("sage_femme",), publics=("jeunes",)),
        ActorFilter(accessibilite=("pmr",)),
        ActorFilter(communes=("76540",)),  # Rouen
        ActorFilter(epci=("200023414",)),  # Métropole Rouen Normandie
        ActorFilter(perimeter=f"qpv:{inside}"),
        ActorFilter(perimeter="qpv:QN00000000"),  # no such perimeter: nobody
        ActorFilter(langues=("Anglais", "wolof")),  # written as people write them: folded
        ActorFilter(text="centre hospitalier"),
        ActorFilter(text="Sage-Femme ÉRABLES"),  # folded: case, accents, the hyphen
        ActorFilter(text="c_ntre h%pital"),  # folded as in memory: « c ntre h pital », words of « centre hospitalier »
        ActorFilter(text="planning familial", themes=("ivg",), communes=("76540", "76681")),
    ]


def test_the_database_keeps_what_each_filter_keeps_for_each_person(store, in_memory, referential, territory):
    from reseaux.acces.access import visible_actors

    _, directory = in_memory
    kept = set()
    for role, visitors in WHO:
        seen = visible_actors(directory.actors, role, visitors).reset_index(drop=True)
        for flt in _page_filters(territory):
            expected = apply_filter(
                seen, flt, referential, perimeters=territory.layers, commune_epci=territory.commune_epci
            ).actors
            asked = readings.Asked(
                flt, role=role, visitors=visitors, perimeters=territory.layers, commune_epci=territory.commune_epci
            )
            total, found = readings.matching(store, referential, KEY, asked=asked)
            where = f"{role}/{visitors}, {flt}"
            assert total == len(expected) == len(found), where
            assert found["id"].tolist() == expected["id"].tolist(), where
            np.testing.assert_allclose(found["latitude"], expected["latitude"], equal_nan=True, err_msg=where)
            if len(expected):
                kept.add((role, visitors, flt))
            _, page = readings.matching(store, referential, KEY, asked=asked, limit=3, offset=2)
            assert page["id"].tolist() == expected["id"].tolist()[2:5], where
    filters = _page_filters(territory)
    # answers, not empty lists agreeing: every filter but the perimeter that is none keeps someone
    assert {f for r, v, f in kept if r == "membre"} == set(filters) - {filters[8]}
    assert not any(v == "rien" for _, v, _ in kept)  # visitors who see nothing see nothing
    public, everyone = (
        readings.matching(store, referential, KEY, asked=readings.Asked(role=r))[0] for r in ("visiteur", "membre")
    )
    assert 0 < public < everyone  # fiches for members only are in this directory, and kept from visitors


def test_the_nearest_and_coverage_keep_to_what_a_visitor_sees(store, in_memory, referential, qpv_layer):
    from reseaux.acces.access import visible_actors
    from reseaux.analyse.coverage import actor_points, coverage_table

    _, directory = in_memory
    public = visible_actors(directory.actors, "visiteur", "public").reset_index(drop=True)
    index = ProximityIndex.build(public)
    asked = readings.Asked(ActorFilter(themes=("contraception",)), role="visiteur")
    mask = apply_filter(public, asked.flt, referential).mask.to_numpy()
    expected = nearest_in_memory(index, 49.4431, 1.0993, mask=mask, k=15, radius_m=5_000)
    found = readings.nearest(store, referential, KEY, 49.4431, 1.0993, asked=asked, k=15, radius_m=5_000)
    assert len(expected) == 15 and found["id"].tolist() == expected["id"].tolist()
    everyone = readings.nearest(
        store, referential, KEY, 49.4431, 1.0993, asked=readings.Asked(asked.flt), k=15, radius_m=5_000
    )
    assert everyone["id"].tolist() != found["id"].tolist()  # a member's answer holds fiches a visitor's does not
    chosen = apply_filter(public, asked.flt, referential).actors
    table = coverage_table(qpv_layer, actor_points(chosen), distance_m=1000)
    measured = readings.coverage(store, referential, KEY, qpv_layer, asked=asked, distance_m=1000)
    columns = ["code", "n_inside", "n_within", "distance_nearest_m", "gap"]
    pd.testing.assert_frame_equal(measured[columns], table[columns], check_dtype=False)
    nothing = readings.Asked(role="visiteur", visitors="rien")
    assert readings.nearest(store, referential, KEY, 49.4431, 1.0993, asked=nothing, k=3, radius_m=None).empty


# « Trouver un partenaire » asked of the database: what a professional reads, as from memory.

#: Searches as people make them, some that find nobody near (then the page offers the way on:
#: the nearest beyond, a wider radius, the filter that empties the list).
TROUVER = [
    ("Rouen", ActorFilter(themes=("ivg",)), 10, 10_000.0),
    ("Rouen", ActorFilter(themes=("ivg",), modalites=("sans_rdv", "gratuit"), text="planning"), 10, 2_000.0),
    ("Rouen", ActorFilter(langues=("wolof",), professions=("sage_femme",)), 5, 5_000.0),
    ("Paris", ActorFilter(types=("structure",)), 10, 2_000.0),
    ("Saint-Denis (La Réunion)", ActorFilter(), 10, 10_000.0),
    ("Cayenne", ActorFilter(text="centre hospitalier zzz"), 10, 10_000.0),
]


@pytest.mark.parametrize("role", ["visiteur", "membre"])
def test_trouver_asked_of_the_database_reads_as_from_memory(store, in_memory, referential, territory, role):
    from reseaux.acces.access import visible_actors
    from reseaux.analyse.proximity import partners, search, search_with

    _, directory = in_memory
    seen = visible_actors(directory.actors, role, "public").reset_index(drop=True)
    index = ProximityIndex.build(seen)
    context = {"commune_epci": territory.commune_epci, "place_names": territory.place_names}
    radii = [1_000.0, 2_000.0, 5_000.0, 10_000.0, 20_000.0, 50_000.0]
    ways_on = 0
    for name, flt, k, radius in TROUVER:
        lat, lon = ORIGINS[name]
        expected = search(index, lat, lon, flt, referential, k=k, radius_m=radius, radii_m=radii, **context)

        def ask(asked_flt, asked_k, asked_radius, lat=lat, lon=lon):
            asked = readings.Asked(
                asked_flt, role=role, perimeters=territory.layers, commune_epci=territory.commune_epci
            )
            return readings.nearest(
                store, referential, KEY, lat, lon, asked=asked, k=asked_k, radius_m=asked_radius, fiches=True
            )

        found = search_with(
            ask, flt, referential, k=k, radius_m=radius, radii_m=radii, place_names=territory.place_names
        )
        where = f"{role}, {name}, {flt}"
        assert found.sentence == expected.sentence, where
        for part in ("actors", "beyond", "without_blocking"):
            mine, truth = getattr(found, part), getattr(expected, part)
            assert (mine is None) == (truth is None), (where, part)
            if truth is not None:
                # what the professional reads: each card, its facts, distance, links and directions
                assert partners(mine, referential, (lat, lon)) == partners(truth, referential, (lat, lon)), (
                    where,
                    part,
                )
        assert (found.blocking, found.wider_m, found.wider_count) == (
            expected.blocking,
            expected.wider_m,
            expected.wider_count,
        ), where
        ways_on += bool(expected.blocking or expected.beyond is not None)
    assert ways_on >= 2  # the way on was compared, not only lists found at once


def test_an_answer_for_a_version_is_not_given_once_a_save_made_another(store, referential):
    version = store.current_version()
    found = readings.nearest(store, referential, KEY, 48.8566, 2.3522, k=1, version=version)
    assert len(found) == 1
    base = store.load()
    renamed = base.table[base.table["nom"].str.contains("CENTRE HOSPITALIER")].head(1).assign(nom="Renommé (fictif)")
    store.save_rows(base, renamed, "test")
    with pytest.raises(readings.NotAnswered):
        readings.nearest(store, referential, KEY, 48.8566, 2.3522, k=1, version=version)


def test_a_page_leaves_the_readings_to_another_version_still_asking(store, referential):
    # Two versions of the app on one database (a rolling update): the pages of each would have
    # every row read again, in turn, for as long as both run.
    readings.nearest(store, referential, KEY, 49.4431, 1.0993, k=1)  # the readings are KEY's, asked now
    assert not readings.held_by_another(store, KEY) and readings.held_by_another(store, "une autre version")
    with pytest.raises(readings.NotAnswered):  # a page of the other version: not read again
        readings.nearest(store, referential, "une autre version", 49.4431, 1.0993, k=1, version=store.current_version())
    assert readings.unread(store, KEY) == 0  # KEY's readings left as they were
    with store._connection() as connection:  # KEY not asked for 20 minutes: its servers are gone
        connection.execute(f"UPDATE {SCHEMA}.directory_readings SET asked_at = now() - interval '20 minutes'")
        connection.commit()
    assert not readings.held_by_another(store, "une autre version")
    readings.unread(store, KEY)  # asked again: noted
    assert readings.held_by_another(store, "une autre version")
    # The command line, an administrator's act, takes them over at once.
    readings.nearest(store, referential, "une autre version", 49.4431, 1.0993, k=1)
    assert readings.unread(store, "une autre version") == 0 and readings.unread(store, KEY) is None


def test_a_new_process_asks_without_locking_the_directory(store, referential, monkeypatch):
    # A page process's first question used to run ALTER TABLE (its columns there or not): it
    # waited for every transaction on the directory — here a map reading a new version — and
    # held up each one after it.
    import threading

    import psycopg

    readings.nearest(store, referential, KEY, 49.4431, 1.0993, k=1)  # the columns and indexes are there
    monkeypatch.setattr(readings, "_READY", set())  # a process that has not asked yet
    with psycopg.connect(store.url) as reader:
        reader.execute(f"SELECT count(*) FROM {SCHEMA}.directory_rows")  # its transaction stays open
        asked = threading.Thread(target=readings.unread, args=(store, KEY), daemon=True)
        asked.start()
        asked.join(timeout=30)
        blocked = asked.is_alive()
        reader.rollback()  # the reading ends: a blocked question goes on
    asked.join()
    assert not blocked


def test_an_index_added_by_an_update_is_built_while_saves_go_on(store, referential, monkeypatch):
    # Built in the schema's transaction, the new text indexes held every save for the whole build
    # (13.5 s at a million fiches): here a write is under way on another fiche, the build waits
    # for it, a save meanwhile goes through; the index is there and usable once the write ends.
    import threading

    import psycopg

    readings.nearest(store, referential, KEY, 49.4431, 1.0993, k=1)
    with store._connection() as connection:
        connection.execute(f"DROP INDEX {SCHEMA}.directory_rows_search")  # as before an update that adds it
        connection.commit()
    monkeypatch.setattr(readings, "_READY", set())
    saved = []
    with psycopg.connect(store.url, autocommit=False) as writer:
        writer.execute(
            f"UPDATE {SCHEMA}.directory_rows SET position = position WHERE row_key = "
            f"(SELECT max(row_key) FROM {SCHEMA}.directory_rows WHERE valid_to IS NULL)"
        )  # its transaction stays open
        built = threading.Thread(target=readings.ensure_schema, args=(store,), daemon=True)
        built.start()
        waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        with psycopg.connect(store.url, autocommit=True) as watcher:
            while not watcher.execute(waiting).fetchone()[0]:  # the build waits for the write
                assert built.is_alive()
        base = store.load()
        renamed = base.table.head(1).assign(nom="Renommé pendant la construction (fictif)")
        save = threading.Thread(target=lambda: saved.append(store.save_rows(base, renamed, "test")), daemon=True)
        save.start()
        save.join(timeout=30)
        held = save.is_alive()
        writer.rollback()  # the write ends: the build, and a held save, go on
    save.join()
    built.join()
    assert not held and saved
    with store._connection() as connection:
        assert readings._indexes(connection) == dict.fromkeys(readings.INDEXES, True)
        connection.commit()


def test_an_index_left_unusable_by_a_build_cut_midway_is_built_again(store, referential, monkeypatch):
    readings.nearest(store, referential, KEY, 49.4431, 1.0993, k=1)
    with store._connection() as connection:  # what a process killed during CREATE INDEX CONCURRENTLY leaves
        connection.execute(
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid = %s::regclass",
            (f"{SCHEMA}.directory_rows_lookup",),
        )
        connection.commit()
        assert readings._indexes(connection)["directory_rows_lookup"] is False
        connection.commit()
    monkeypatch.setattr(readings, "_READY", set())
    readings.ensure_schema(store)
    with store._connection() as connection:
        assert readings._indexes(connection) == dict.fromkeys(readings.INDEXES, True)
        connection.commit()
    found = readings.nearest(store, referential, KEY, 49.4431, 1.0993, k=1)
    assert len(found) == 1


def test_the_planner_is_given_the_figures_of_a_directory_just_read(store, referential):
    # A directory of a few thousand fiches just moved in, never analysed: its questions were
    # planned for a few dozen rows (the coverage of 2,644 communes at 5,000 actors: 9.4 s, each
    # perimeter's nearest sorting every row; 0.4 s once the planner knows them).
    rows = len(store.load().table)
    assert rows < readings.BLOCK  # below the block, where the rows read used to leave the figures as they were
    readings.nearest(store, referential, KEY, 49.4431, 1.0993, k=1)
    with store._connection() as connection:
        # the index of the usable rows, made while none was read, and the statistics of « usable »
        (indexed,) = connection.execute(
            "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", (f"{SCHEMA}.directory_rows_rid",)
        ).fetchone()
        (usable,) = connection.execute(
            "SELECT count(*) FROM pg_stats WHERE schemaname = %s AND tablename = 'directory_rows' "
            "AND attname = 'usable'",
            (SCHEMA,),
        ).fetchone()
        connection.commit()
    assert indexed >= rows - 10 and usable == 1


def test_the_languages_offered_are_those_each_person_may_see_as_written(store, in_memory, referential):
    from reseaux.acces.access import visible_actors

    _, directory = in_memory
    offered = {}
    for role, visitors in WHO:
        seen = visible_actors(directory.actors, role, visitors)
        expected = sorted({spoken for languages in seen["langues"] for spoken in languages})
        asked = readings.Asked(role=role, visitors=visitors)
        offered[role, visitors] = readings.spoken(store, referential, KEY, asked=asked)
        assert offered[role, visitors] == expected, (role, visitors)
    member, visitor = offered["membre", "public"], offered["visiteur", "public"]
    assert {"Tigrigna", "Français", "français", "wolof"} <= set(member)  # as written, each way once
    assert "Tigrigna" not in visitor and {"français", "wolof"} <= set(visitor)
    assert offered["visiteur", "rien"] == []


def test_the_outreach_actions_passing_by_are_those_in_memory_for_each_person(store, in_memory, referential):
    from reseaux.acces.access import visible_actors
    from reseaux.analyse.proximity import outreach_covering

    _, directory = in_memory
    places = [
        ("76540", {"QN07620M"}),  # Rouen and a QPV of it
        ("76540", set()),
        (None, {"QN07621M", "QN07627N"}),
        ("76410", set()),  # Saint-Étienne-du-Rouvray, named by one action
        ("75056", {"QN07500M"}),  # named by none
        (None, set()),
    ]
    found_any = set()
    for role, visitors in WHO:
        seen = visible_actors(directory.actors, role, visitors)
        for commune, zones in places:
            expected = outreach_covering(seen, commune, zones)["id"].tolist()
            asked = readings.Asked(role=role, visitors=visitors)
            found = readings.passing_through(store, referential, KEY, commune, zones, asked=asked)
            assert found["id"].tolist() == expected, (role, visitors, commune, zones)
            found_any |= {(role, i) for i in expected}
    assert ("membre", "aller-vers-membres") in found_any  # « ; » and spaces split as the app splits them
    assert ("visiteur", "aller-vers-membres") not in found_any
    assert len({i for r, i in found_any if r == "visiteur"}) >= 5


def test_trouver_asks_again_at_the_version_a_save_made_rather_than_reading_the_directory(
    store, referential, territory, monkeypatch
):
    """A save lands between the start of a run of « Trouver » and its question: the page asks the
    database again at the new version; it does not read the whole directory for one answer."""
    from reseaux.app_data import reading_key
    from reseaux.ui import trouver

    monkeypatch.setenv("RESEAUX_DATABASE_URL", store.url)
    readings.bring_up_to_date(store, referential, reading_key(referential), take_over=True)
    shown = store.current_version()
    base = store.load()
    renamed = base.table[base.table["nom"].str.contains("CENTRE HOSPITALIER")].head(1)
    store.save_rows(base, renamed.assign(nom="CENTRE HOSPITALIER RENOMMÉ (fictif)"), "test")
    assert store.current_version() != shown

    def read_whole():
        raise AssertionError("l'annuaire entier lu pour une réponse")

    asking = trouver.Asking(referential, territory, read_whole, str(shown))
    lat, lon = ORIGINS["Paris"]
    found = asking.search(lat, lon, ActorFilter(text="renommé"), 5, 50_000_000.0)
    assert found.actors["nom"].tolist() == ["CENTRE HOSPITALIER RENOMMÉ (fictif)"]  # the new version's
    assert asking.version == str(store.current_version())


def test_a_word_is_looked_for_as_written_not_as_a_pattern(store):
    """The free search asks ``LIKE`` (what a trigram index answers): a word's ``%``, ``_`` and ``\\``
    are letters there, not wildcards (the folding lets none through today; the next may)."""
    cases = [
        ("100% gratuit", "100%", True),
        ("1000 gratuit", "100%", False),
        ("rdv_libre", "v_l", True),
        ("rdv libre", "v_l", False),
        ("c:\\temp", "\\t", True),
        ("c:temp", "\\t", False),
    ]
    with store._connection() as connection:
        for text, word, found in cases:
            assert connection.execute("SELECT %s LIKE %s", (text, readings.holding(word))).fetchone()[0] is found, word


@pytest.fixture(scope="module")
def with_problems(national) -> bytes:
    """The national directory with a column the app does not know, and rows whose problems a
    coordinator reads on Qualité: a date in the future when read, past today; one in the future
    still; a theme and an e-mail as people mistype them; a cell far too long; an identifier an
    earlier fiche holds on a row with an error of its own; a fiche for members by its type."""
    table = pd.read_csv(io.BytesIO(national), dtype=str, keep_default_na=False)
    first = table.iloc[0].to_dict()
    rouen = {"latitude": "49.4431", "longitude": "1.0993"}
    odd = [
        {**first, **rouen, "id": "date-passee", "nom": "Date future à la lecture (fictive)", "date_maj": "2025-01-01"},
        {**first, **rouen, "id": "date-future", "nom": "Date future (fictive)", "date_maj": "2099-01-01"},
        {**first, **rouen, "id": "theme-inconnu", "nom": "Thème inconnu (fictif)", "thematiques": "ivg|Sexo-pop"},
        {**first, **rouen, "id": "courriel", "nom": "Courriel mal écrit (fictif)", "email": "contact@@exemple"},
        {**first, **rouen, "id": "trop-long", "nom": "Trop long (fictif)", "description": "x" * 10_001},
        {**first, **rouen, "nom": "", "telephone": "12"},  # the first fiche's id, and no name
        {column: "" for column in first},  # a row of empty cells: a blank line, no problem of its own
        # an identifier first held by a row kept aside: the usable row after it keeps it
        {**first, **rouen, "id": "apres-une-erreur", "nom": ""},
        {**first, **rouen, "id": "apres-une-erreur", "nom": "Après une ligne écartée (fictive)"},
        {**first, **rouen, "id": "pro-membres", "nom": "Professionnelle (fictive)", "type": "professionnel",
         "visibilite": ""},
    ]  # fmt: skip
    table = pd.concat([table, pd.DataFrame(odd)], ignore_index=True).assign(colonne_maison="à garder")
    return encode_table(table, ",", "utf-8")


def test_qualite_from_the_database_is_what_the_directory_read_in_memory_shows(
    database_url, with_problems, referential, monkeypatch
):
    import datetime

    from reseaux.annuaire import fields
    from reseaux.annuaire.quality import of_directory

    store = PostgresDirectoryStore(database_url)
    store.replace(with_problems, "test", "migration")
    with monkeypatch.context() as then:  # read on 2024-12-31: 2025-01-01 is in the future
        then.setattr(fields, "today", lambda: datetime.date(2024, 12, 31))
        assert readings.bring_up_to_date(store, referential, KEY) > 1800
    asked = readings.quality(store, referential, KEY)
    expected = of_directory(load_directory(with_problems, referential))
    assert asked.issues == expected.issues
    pd.testing.assert_frame_equal(asked.rejected, expected.rejected, check_dtype=False)
    assert (asked.loaded, asked.unplaced, asked.approximate, asked.hidden, asked.warnings) == (
        expected.loaded, expected.unplaced, expected.approximate, expected.hidden, expected.warnings,
    )  # fmt: skip
    # What the test asks of is there: each kind of problem, found the same way.
    said = {(i.line, i.column, i.severity) for i in asked.issues}
    assert any(i.line is None or i.line == 1 for i in asked.issues)  # the unknown column
    dated = [i for i in asked.issues if i.column == "date_maj"]
    assert [i.value for i in dated] == ["2099-01-01"]  # 2025-01-01, future when read, is past today
    assert len(asked.rejected) >= 3 and "trop-long" in set(asked.rejected["id"])
    taken = asked.rejected[asked.rejected["telephone"] == "12"]
    assert "déjà utilisé ligne" in taken["erreurs"].item() and len(said) > 5
    assert "Sexo-pop" in {i.value for i in asked.issues} and asked.hidden


def test_the_fiche_an_erasure_asks_for_is_found_as_in_memory(store, in_memory, referential):
    from reseaux.annuaire.fiche_service import FrameRows
    from reseaux.stockage import directory_index
    from reseaux.text import fold

    _, directory = in_memory
    actors = directory.actors
    version = store.current_version()

    def named(text: str, limit: int = 50) -> list[tuple[str, str]]:
        return directory_index.named(store, referential, KEY, version, text, fold(text).split(), limit)

    assert named("theme-en-clair") == [("theme-en-clair", "Thème écrit en clair (fictif)")]  # by identifier
    assert named("thème ÉCRIT en clair") == [("theme-en-clair", "Thème écrit en clair (fictif)")]  # by name
    assert named("Maraude réservée") == [("aller-vers-membres", "Maraude réservée aux membres (fictive)")]
    assert named("Doublon de la première fiche") == []  # its identifier held above: not an actor
    assert named("ligne-en-erreur") == [] and named("100% planning") == []
    for text in ("centre hospitalier", "rouen", "fictive"):  # many: the first 50, in the directory's order
        rows = FrameRows(actors, referential).find(fold(text).split(), 50)
        expected = list(zip(actors["id"].iloc[rows], actors["nom"].iloc[rows], strict=True))
        assert named(text) == expected and len(expected) == 50, text


def _same_index(up, whole) -> None:
    """Two indexes of one version hold the same rows, in the same order, with the same fields."""
    from dataclasses import fields

    for name in [f.name for f in fields(whole) if f.name not in ("bits", "first", "communes", "commune")]:
        got, expected = getattr(up, name), getattr(whole, name)
        if isinstance(expected, np.ndarray):
            np.testing.assert_array_equal(got, expected, err_msg=name)
        else:
            assert got == expected, name
    assert [up.communes[i] for i in up.commune] == [whole.communes[i] for i in whole.commune]
    assert up.communes == whole.communes
    for facet in whole.bits:
        np.testing.assert_array_equal(up.bits[facet], whole.bits[facet], err_msg=facet)
        np.testing.assert_array_equal(up.first[facet], whole.first[facet], err_msg=facet)


def test_an_index_brought_up_after_saves_is_the_index_read_whole(store, referential, monkeypatch):
    """After a save, a process brings the index it holds up to the new version by the rows saved
    since, instead of reading every row again (seconds at a million fiches): the same index as
    read whole, field by field, through edits that move, hide, repeat, spoil and add fiches. A
    fiche removed makes it read whole again: its position must not stay in memory."""
    from reseaux.stockage import directory_index

    brought = []
    real = directory_index._brought_up
    monkeypatch.setattr(directory_index, "_brought_up", lambda *a: brought.append(real(*a)) or brought[-1])
    base = store.load()
    before = directory_index.build(store, referential, KEY, base.version)
    table = base.table.copy()
    first, second = table.iloc[0], table.iloc[40]
    table.loc[10, "telephone"] = "02 35 00 00 01"  # a phone: nothing the index holds
    # The only actor of its commune, moved overseas and hidden: its commune leaves the index's names.
    alone = np.flatnonzero(np.isin(before.commune, np.flatnonzero(np.bincount(before.commune) == 1)))[0]
    moved = int(np.flatnonzero(base.row_keys == before.rows[alone])[0])
    table.loc[moved, ["latitude", "longitude", "code_insee", "commune", "visibilite"]] = [
        "16.2411",
        "-61.5331",
        "97120",
        "Pointe-à-Pitre",
        "membres",
    ]
    table.loc[35, "nom"] = ""  # an error of its own: not usable
    added = [
        {**second.to_dict(), "id": "ajoutee", "nom": "Fiche ajoutée (fictive)", "thematiques": "ivg"},
        {**second.to_dict(), "id": "", "nom": "Fiche sans identifiant (fictive)"},  # an id is required
        {**second.to_dict(), "id": str(first["id"]), "nom": "Doublon ajouté (fictif)"},  # not an actor
        {
            **second.to_dict(),
            **{"id": "bruxelles", "nom": "Hors de France (fictive)", "latitude": "50.8467", "longitude": "4.3525"},
            **{"code_insee": "", "commune": "", "code_postal": "", "adresse": ""},  # in no commune
        },
    ]
    table = pd.concat([table, pd.DataFrame(added)], ignore_index=True)
    saved = store.save(table, base, "test")  # as the page saves what save_rows cannot address
    up = directory_index.build(store, referential, KEY, saved.version, previous=before)
    assert brought[-1] is up, "brought up by the rows saved"
    whole = directory_index.build(store, referential, KEY, saved.version)
    _same_index(up, whole)
    assert (len(up.rows), up.unusable, int(up.kept.sum())) == _counted(store)

    fixed = saved.table.iloc[[5, 35]].assign(nom=["Renommée (fictive)", "Réparée (fictive)"])  # one spoiled, mended
    abroad = saved.table[saved.table["id"] == "bruxelles"].assign(id="anvers", latitude="51.2194", longitude="4.4025")
    fixed = pd.concat([fixed, abroad])  # a second fiche in no commune: its code as the one held
    again = store.save_rows(saved, fixed, "test")
    mended = directory_index.build(store, referential, KEY, again.version, previous=up)
    assert brought[-1] is mended
    _same_index(mended, whole_of(store, referential))
    assert (len(mended.rows), mended.unusable, int(mended.kept.sum())) == _counted(store)
    removed = store.save_rows(again, saved.table.iloc[:0], "test", removed=[str(table.iloc[50]["id"])])
    read = directory_index.build(store, referential, KEY, removed.version, previous=up)
    assert brought[-1] is None, "a fiche removed: read whole"
    _same_index(read, whole_of(store, referential))


def _counted(store) -> tuple[int, int, int]:
    """The current usable rows, the unusable ones and the actors kept, counted by the database."""
    with store._connection() as connection:
        return connection.execute(
            f"SELECT count(*) FILTER (WHERE r.usable), count(*) FILTER (WHERE NOT r.usable), "
            f"count(*) FILTER (WHERE {readings.KEPT}) FROM {SCHEMA}.directory_rows r WHERE r.valid_to IS NULL"
        ).fetchone()


def whole_of(store, referential):
    from reseaux.stockage import directory_index

    return directory_index.build(store, referential, KEY, str(store.current_version()))


def test_a_process_brings_the_index_it_holds_up_after_a_save_but_not_after_an_erasure(store, referential, monkeypatch):
    from reseaux.stockage import directory_index
    from reseaux.ui import database_rows, loading

    monkeypatch.setenv("RESEAUX_DATABASE_URL", store.url)
    brought = []
    real = directory_index._brought_up
    monkeypatch.setattr(directory_index, "_brought_up", lambda *a: brought.append(real(*a)) or brought[-1])
    database_rows.forget(erased=True)
    base = store.load()
    database_rows._index(store.url, KEY, base.version, referential)
    assert brought == [], "nothing held yet: read whole"
    saved = store.save_rows(base, base.table.iloc[[3]].assign(nom="Renommée (fictive)"), "test")
    database_rows.forget()  # another version shown, as the pages say it (loading._shown_now)
    up = database_rows._index(store.url, KEY, saved.version, referential)
    assert brought == [up] and _counted(store)[0] == len(up.rows)
    again = store.save_rows(saved, saved.table.iloc[[4]].assign(nom="Renommée aussi (fictive)"), "test")
    loading.forget_directories()  # as an erasure does: nothing of the version before is kept
    database_rows._index(store.url, KEY, again.version, referential)
    assert brought == [up], "read whole"
    database_rows.forget(erased=True)


def test_rows_come_into_an_index_in_the_directorys_order():
    """By position, then row key, whatever order the database gives the new rows in; at a place
    some rows already hold, after the smaller row keys: as the index read whole sorts them."""
    from reseaux.stockage.directory_index import _insertion

    position, rows = np.array([10, 20, 20, 30]), np.array([5, 2, 9, 1])
    new_position, new_rows = np.array([30, 25, 20, 5, 25, 20, 40]), np.array([0, 4, 7, 3, 3, 1, 8])
    order, at = _insertion(position, rows, new_position, new_rows)
    merged = list(zip(np.insert(position, at, new_position[order]), np.insert(rows, at, new_rows[order]), strict=True))
    both = list(zip(np.r_[position, new_position], np.r_[rows, new_rows], strict=True))
    assert merged == sorted(both)


def test_a_row_removed_without_its_identifier_leaving_is_not_left_in_the_index(store, referential):
    """The national fixture repeats the first fiche's identifier on a later row; removing that row
    leaves the identifier in the directory (no « suppression » of it): the index brought up must
    not keep the row removed."""
    from reseaux.stockage import directory_index

    base = store.load()
    before = directory_index.build(store, referential, KEY, base.version)
    double = base.table.index[base.table["nom"] == "Doublon de la première fiche (fictif)"]
    assert len(double) == 1
    saved = store.save(base.table.drop(index=double), base, "test")
    assert [e["type"] for e in store.journal_tail(1)[1]] == ["modification"]  # not « suppression »
    up = directory_index.build(store, referential, KEY, saved.version, previous=before)
    _same_index(up, whole_of(store, referential))


def test_the_index_keeps_the_directorys_order_when_rows_are_put_between_others(store, referential):
    """Fiches added between two others take places between theirs, fractions when many come at
    once: the index (the map's list, its order) must keep the directory's order, as the database
    reads it back, not round the places."""
    from reseaux.stockage import directory_index

    base = store.load()
    between = pd.concat([base.table.iloc[[5]]] * 3000, ignore_index=True)
    between["id"] = [f"entre-{i}" for i in range(len(between))]
    between["nom"] = [f"Entre deux (fictive) {i}" for i in range(len(between))]
    table = pd.concat([base.table.iloc[:1], between, base.table.iloc[1:]], ignore_index=True)
    saved = store.save(table, base, "test")
    assert (np.diff(saved.row_positions) > 0).all() and (saved.row_positions % 1 != 0).any()  # fractions
    index = directory_index.build(store, referential, KEY, saved.version)
    usable = set(index.rows.tolist())
    assert index.rows.tolist() == [k for k in saved.row_keys.tolist() if k in usable]
