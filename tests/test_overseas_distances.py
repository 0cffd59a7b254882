"""True distances in every territory: each measure is checked against distances
between real places computed by hand, never by the library calls the code makes — on the GRS80
ellipsoid's radii of curvature within a territory (a few kilometres: within a millimetre of the
geodesic), on the Earth's mean sphere between territories (within 0.5 %). Lambert-93 read a true
958 m in Saint-Denis de La Réunion as about 1.8 km."""

import math
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import CRS, Transformer
from shapely.geometry import Point, box

from reseaux.analyse.coverage import Positions, PreparedLayer, actor_points, coverage_table, theme_matrix
from reseaux.analyse.proximity import ProximityIndex, nearest
from reseaux.territoire.metric import ZONES, GeographicCRSError, check_metric_crs, zone_of
from tests.conftest import positioned

#: GRS80: semi-major axis (m), flattening, first eccentricity squared.
A, F = 6_378_137.0, 1 / 298.257222101
E2 = F * (2 - F)

#: Real places, (longitude, latitude) in WGS84.
PLACES = {
    "barachois": (55.4466, -20.8765),  # Saint-Denis (La Réunion), the Barachois
    "jardin_etat": (55.4528, -20.8829),  # Saint-Denis, Jardin de l'État: 958 m from the Barachois
    "sainte_clotilde": (55.4840, -20.8930),  # Sainte-Clotilde: 4.3 km from the Barachois
    "palmistes": (-52.3330, 4.9390),  # Cayenne, place des Palmistes
    "chu_cayenne": (-52.3230, 4.9260),  # Cayenne, hospital: 1.8 km
    "savane": (-61.0690, 14.6010),  # Fort-de-France, la Savane
    "chu_martinique": (-61.0440, 14.6230),  # Fort-de-France, CHU: 3.6 km
    "mairie_mamoudzou": (45.2275, -12.7806),  # Mamoudzou (Mayotte), town hall
    "kaweni": (45.2210, -12.7580),  # Kawéni: 2.6 km
    "cathedrale_rouen": (1.0950, 49.4403),  # Rouen, cathedral
    "chu_rouen": (1.1070, 49.4540),  # Rouen, CHU Charles-Nicolle: 1.75 km
}
PAIRS = [
    ("barachois", "jardin_etat"),
    ("barachois", "sainte_clotilde"),
    ("palmistes", "chu_cayenne"),
    ("savane", "chu_martinique"),
    ("mairie_mamoudzou", "kaweni"),
    ("cathedrale_rouen", "chu_rouen"),
]


def local_m(a, b) -> float:
    """Metres between two (lon, lat) a few kilometres apart, on the ellipsoid's meridian and prime
    vertical radii of curvature at their mean latitude (the error grows as the distance squared:
    below a millimetre at 5 km)."""
    (lon1, lat1), (lon2, lat2) = (map(math.radians, p) for p in (a, b))
    w = math.sqrt(1 - E2 * math.sin((lat1 + lat2) / 2) ** 2)
    return math.hypot(A * (1 - E2) / w**3 * (lat2 - lat1), A / w * math.cos((lat1 + lat2) / 2) * (lon2 - lon1))


def truth(a, b) -> float:
    """Metres between two places, by hand: :func:`local_m` within a territory, :func:`haversine_m`
    between two (the sphere is within 0.5 % of the ellipsoid, the tolerance of the tests)."""
    far = haversine_m(a, b)
    return local_m(a, b) if far < 50_000 else far


def lambert93(lon: float, lat: float) -> tuple[float, float]:
    """Lambert-93 coordinates of a WGS84 position by the Lambert conformal conic formulas (IGN, EPSG
    method 9802): standard parallels 44° and 49°, origin 46.5° N 3° E, false origin 700 km, 6,600 km."""
    e = math.sqrt(E2)

    def m(phi):
        return math.cos(phi) / math.sqrt(1 - E2 * math.sin(phi) ** 2)

    def t(phi):
        return math.tan(math.pi / 4 - phi / 2) / ((1 - e * math.sin(phi)) / (1 + e * math.sin(phi))) ** (e / 2)

    p1, p2, p0, l0 = map(math.radians, (44.0, 49.0, 46.5, 3.0))
    n = (math.log(m(p1)) - math.log(m(p2))) / (math.log(t(p1)) - math.log(t(p2)))
    f = m(p1) / (n * t(p1) ** n)
    r, r0 = A * f * t(math.radians(lat)) ** n, A * f * t(p0) ** n
    theta = n * (math.radians(lon) - l0)
    return 700_000 + r * math.sin(theta), 6_600_000 + r0 - r * math.cos(theta)


def haversine_m(a, b) -> float:
    """Great-circle metres between two (lon, lat) on a sphere of the Earth's mean radius, 6,371,008.8 m:
    within 0.5 % of the ellipsoid between territories (0.25 % at most between the places above)."""
    (lon1, lat1), (lon2, lat2) = (map(math.radians, p) for p in (a, b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def directory() -> pd.DataFrame:
    names = list(PLACES)
    return pd.DataFrame(
        {
            "id": names,
            "nom": names,
            "thematiques": [("ivg",)] * len(names),
            "latitude": [PLACES[n][1] for n in names],
            "longitude": [PLACES[n][0] for n in names],
        }
    )


# --- the systems ----------------------------------------------------------------------------


def test_each_system_is_the_official_one_with_its_area_of_use():
    expected = {
        2154: "RGF93 v1 / Lambert-93",
        5490: "RGAF09 / UTM zone 20N",
        2972: "RGFG95 / UTM zone 22N",
        2975: "RGR92 / UTM zone 40S",
        4471: "RGM04 / UTM zone 38S",
        4467: "RGSPM06 / UTM zone 21N",
    }
    assert {z.epsg for z in ZONES} == set(expected)
    for zone in ZONES:
        crs = CRS.from_epsg(zone.epsg)
        assert crs.name == expected[zone.epsg] and crs.is_projected
        area = crs.area_of_use.bounds
        if zone.epsg == 2972:  # the whole of Guiana, west of 54°W too (see reseaux.territoire.metric)
            assert zone.bounds[0] < area[0] and zone.bounds[1:] == pytest.approx(area[1:], abs=0.1)
        else:
            assert zone.bounds == pytest.approx(area)


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [
        (1.0950, 49.4403, 2154),  # Rouen
        (8.7369, 41.9192, 2154),  # Ajaccio
        (-61.5331, 16.2411, 5490),  # Pointe-à-Pitre
        (-61.0690, 14.6010, 5490),  # Fort-de-France
        (-63.0830, 18.0670, 5490),  # Marigot (Saint-Martin)
        (-62.8500, 17.8960, 5490),  # Gustavia (Saint-Barthélemy)
        (-52.3330, 4.9390, 2972),  # Cayenne
        (-54.0320, 5.4980, 2972),  # Saint-Laurent-du-Maroni, west of 54°W
        (55.4466, -20.8765, 2975),  # Saint-Denis (La Réunion)
        (45.2275, -12.7806, 4471),  # Mamoudzou
        (-56.1760, 46.7790, 4467),  # Saint-Pierre
        (166.4400, -22.2700, 32758),  # Nouméa: no French system listed, its UTM zone (58S), never Lambert-93
    ],
)
def test_the_system_follows_the_position(lon, lat, epsg):
    assert zone_of(lon, lat).epsg == epsg


def test_lambert93_is_refused_outside_its_area():
    check_metric_crs("EPSG:2154", (1.0, 49.0, 1.2, 49.5))
    with pytest.raises(GeographicCRSError):
        check_metric_crs("EPSG:2154", (55.4, -20.9, 55.5, -20.8))
    with pytest.raises(GeographicCRSError):
        check_metric_crs("EPSG:4326")


# --- nearest and radius ---------------------------------------------------------------------


@pytest.mark.parametrize(("origin", "partner"), PAIRS)
def test_nearest_agrees_with_the_geodesic_distance(origin, partner):
    index = ProximityIndex.build(directory())
    lon, lat = PLACES[origin]
    found = nearest(index, lat, lon, k=len(PLACES), radius_m=None).set_index("id")
    expected = truth(PLACES[origin], PLACES[partner])
    assert found.loc[partner, "distance_m"] == pytest.approx(expected, rel=0.005)
    # Every other place, in any territory, is measured true as well (on the ellipsoid).
    for other, row in found.iterrows():
        assert row["distance_m"] == pytest.approx(truth(PLACES[origin], PLACES[other]), rel=0.005, abs=1)
    assert found.index[0] == origin and found["distance_m"].is_monotonic_increasing  # the closest first


@pytest.mark.parametrize(("origin", "partner"), PAIRS)
def test_radius_keeps_what_is_truly_within(origin, partner):
    index = ProximityIndex.build(directory())
    lon, lat = PLACES[origin]
    expected = truth(PLACES[origin], PLACES[partner])
    within = nearest(index, lat, lon, k=5, radius_m=expected * 1.005)["id"].tolist()
    assert partner in within
    assert partner not in nearest(index, lat, lon, k=5, radius_m=expected * 0.995)["id"].tolist()


def test_coverage_reuses_the_positions_the_proximity_index_measured():
    index = ProximityIndex.build(directory())
    reused, measured = (
        Positions.of_index(index),
        Positions.of(gpd.GeoSeries([Point(*PLACES[n]) for n in PLACES], crs=4326)),
    )
    assert reused.labels.equals(measured.labels) and (reused.epsg == measured.epsg).all()
    assert np.allclose(reused.x, measured.x, atol=1e-6) and np.allclose(reused.y, measured.y, atol=1e-6)


def test_a_partner_4_km_away_in_reunion_is_found_within_5_km():
    index = ProximityIndex.build(directory())
    lon, lat = PLACES["barachois"]
    found = nearest(index, lat, lon, k=10, radius_m=5_000).set_index("id")
    assert "sainte_clotilde" in found.index
    assert found.loc["sainte_clotilde", "distance_m"] == pytest.approx(4299, abs=5)


def test_an_origin_in_reunion_sees_far_partners_only_without_radius():
    index = ProximityIndex.build(directory())
    lon, lat = PLACES["barachois"]
    assert set(nearest(index, lat, lon, k=20, radius_m=50_000)["id"]) == {"barachois", "jardin_etat", "sainte_clotilde"}
    rouen = nearest(index, lat, lon, k=20, radius_m=None).set_index("id").loc["chu_rouen", "distance_m"]
    assert rouen == pytest.approx(truth(PLACES["barachois"], PLACES["chu_rouen"]), rel=0.005)


def test_mainland_coordinates_are_still_lambert93():
    index = ProximityIndex.build(directory())
    ids = index.frame["id"].tolist()
    for place in ("cathedrale_rouen", "chu_rouen"):
        i = ids.index(place)
        assert index.epsg[i] == 2154
        assert (index.x[i], index.y[i]) == pytest.approx(lambert93(*PLACES[place]), abs=0.01)  # a centimetre


# --- coverage -------------------------------------------------------------------------------


def square_around(place: str, side: float = 1000.0) -> tuple[Point, object]:
    """A square of ``side`` metres centred on a real place, drawn in its territory's system."""
    lon, lat = PLACES[place]
    epsg = zone_of(lon, lat).epsg
    centre = gpd.GeoSeries([Point(lon, lat)], crs=4326).to_crs(epsg).iloc[0]
    half = side / 2
    square = gpd.GeoSeries([box(centre.x - half, centre.y - half, centre.x + half, centre.y + half)], crs=epsg)
    return square.to_crs(4326).iloc[0]


def east_of(place: str, metres: float) -> Point:
    """The point ``metres`` east of the middle of the east edge of the square around ``place``, along
    its parallel on the ellipsoid (prime vertical radius; the edge leans by the grid's convergence,
    half a degree: the distance to it is ``metres`` × cos 0.5°, 0.004 % less)."""
    lon, lat = PLACES[place]
    epsg = zone_of(lon, lat).epsg
    centre = gpd.GeoSeries([Point(lon, lat)], crs=4326).to_crs(epsg).iloc[0]
    middle = gpd.GeoSeries([Point(centre.x + 500, centre.y)], crs=epsg).to_crs(4326).iloc[0]
    radius = A / math.sqrt(1 - E2 * math.sin(math.radians(middle.y)) ** 2) * math.cos(math.radians(middle.y))
    return Point(middle.x + math.degrees(metres / radius), middle.y)


def two_territories_layer() -> PreparedLayer:
    frame = gpd.GeoDataFrame(
        {"code": ["RUN", "ROU"], "nom": ["Saint-Denis", "Rouen"], "population": [1000.0, 1000.0]},
        geometry=[square_around("barachois"), square_around("cathedrale_rouen")],
        crs=4326,
    )
    return PreparedLayer.build(frame)


def test_a_perimeter_astride_two_territories_is_refused_by_name():
    frame = gpd.GeoDataFrame(
        {"code": ["RUN", "MER"], "nom": ["Saint-Denis", "Large"], "population": [1.0, 1.0]},
        geometry=[square_around("barachois"), box(55.3, -21.0, 59.0, -20.5)],
        crs=4326,
    )
    with pytest.raises(GeographicCRSError, match=r"« Large » \(MER\) hors de La Réunion") as refused:
        PreparedLayer.build(frame)  # its inner point is in La Réunion, its east end 4° beyond RGR92's zone
    assert "Saint-Denis" not in str(refused.value)


def test_coverage_counts_true_metres_in_reunion():
    layer = two_territories_layer()
    assert {p.zone.epsg for p in layer.parts} == {2975, 2154}
    actors = gpd.GeoSeries([east_of("barachois", 950), east_of("barachois", 1050)], crs=4326)
    table = coverage_table(layer, actors, distance_m=1000).set_index("code")
    assert table.loc["RUN", "n_within"] == 1 and table.loc["RUN", "n_inside"] == 0
    assert table.loc["RUN", "distance_nearest_m"] == pytest.approx(950, rel=0.005)
    assert table.loc["ROU", "n_within"] == 0
    # Rouen's nearest actor is in La Réunion: measured on the ellipsoid, not in Lambert-93.
    far = truth(PLACES["cathedrale_rouen"], (actors.iloc[0].x, actors.iloc[0].y))
    assert table.loc["ROU", "distance_nearest_m"] == pytest.approx(far, rel=0.005)


def test_coverage_and_theme_matrix_take_actors_as_the_app_gives_them():
    layer = two_territories_layer()
    frame = positioned(
        gpd.GeoDataFrame(
            {"thematiques": [("ivg",), ("ivg",), ("vif",)]},
            geometry=[east_of("barachois", 950), east_of("barachois", 1050), east_of("cathedrale_rouen", 500)],
            crs=4326,
        )
    )
    table = coverage_table(layer, actor_points(frame), distance_m=1000).set_index("code")
    assert table["n_within"].tolist() == [1, 1]
    matrix = theme_matrix(layer, frame, ["ivg", "vif"], {}, distance_m=1000)
    assert matrix.loc["Saint-Denis"].tolist() == [1, 0] and matrix.loc["Rouen"].tolist() == [0, 1]


def test_outreach_zones_overseas_cover_their_perimeter():
    layer = two_territories_layer()
    zone = gpd.GeoSeries([square_around("barachois", 200)], crs=4326).to_crs(2975)
    table = coverage_table(layer, gpd.GeoSeries([], crs=4326), outreach_zones=zone)
    assert table["outreach"].tolist() == [True, False]
    assert np.isnan(table["distance_nearest_m"]).all()


def test_a_far_nearest_actor_costs_no_projection_per_perimeter(monkeypatch):
    """The page froze (89 s for the 2,644 Normandy communes) when the filter kept only overseas
    actors: two projections were built for each perimeter at every rerun."""
    corners = [(1.0 + 0.01 * i, 49.4 + 0.01 * j) for i in range(10) for j in range(10)]
    layer = PreparedLayer.build(
        gpd.GeoDataFrame(
            {"code": [f"C{k}" for k in range(100)], "nom": "carré", "population": 100.0},
            geometry=[box(lon, lat, lon + 0.01, lat + 0.01) for lon, lat in corners],
            crs=4326,
        )
    )
    actors = gpd.GeoSeries([Point(*PLACES["barachois"])], crs=4326)
    coverage_table(layer, actors)  # a first rerun may build a territory's transformer, once
    made = []
    build = Transformer.from_crs
    monkeypatch.setattr(Transformer, "from_crs", staticmethod(lambda *a, **k: made.append(a) or build(*a, **k)))
    start = time.perf_counter()
    table = coverage_table(layer, actors)
    assert time.perf_counter() - start < 0.5  # was 2.5 s for these 100 squares
    assert made == []
    # From each square's centre, a great circle computed by hand: within the sphere/ellipsoid gap
    # (0.5 %, 47 km here), far beyond the 1 km between a square's centre and its outline.
    for (lon, lat), got in zip(corners, table["distance_nearest_m"], strict=True):
        assert got == pytest.approx(haversine_m((lon + 0.005, lat + 0.005), PLACES["barachois"]), rel=0.005)
