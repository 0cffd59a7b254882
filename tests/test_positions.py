"""An actor's position is two numbers (annuaire/model.py): which actors are placed, the points the
spatial work builds from them, and the perimeters they stand in, checked against geopandas."""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd
from shapely.geometry import Polygon, box

from reseaux.annuaire.model import placed_mask, points
from reseaux.carte.perimeters import PlacedPoints, perimeters_in_play, points_held

#: Rouen, Saint-Denis de La Réunion, Cayenne, one without a position, half a position, Mamoudzou.
FRAME = pd.DataFrame(
    {
        "nom": ["rouen", "saint_denis", "cayenne", "sans", "moitie", "mamoudzou"],
        "latitude": [49.4431, -20.8789, 4.9372, math.nan, 48.0, -12.7806],
        "longitude": [1.0993, 55.4481, -52.3260, math.nan, math.nan, 45.2279],
    },
    index=[10, 11, 12, 13, 14, 15],
)


def test_placed_means_both_numbers():
    assert placed_mask(FRAME).tolist() == [True, True, True, False, False, True]
    assert placed_mask(FRAME.iloc[:0]).tolist() == []
    assert placed_mask(FRAME.drop(columns=["latitude", "longitude"])).tolist() == [False] * 6


def test_points_are_the_placed_rows_in_wgs84():
    where = points(FRAME)
    assert where.crs == "EPSG:4326" and where.index.tolist() == [10, 11, 12, 15]
    assert where.x.tolist() == [1.0993, 55.4481, -52.3260, 45.2279]
    assert where.y.tolist() == [49.4431, -20.8789, 4.9372, -12.7806]
    assert len(points(FRAME.iloc[:0])) == 0


def test_placed_points_find_the_perimeters_geopandas_finds():
    """Which perimeters hold an actor, and how many actors stand in one, against geopandas' spatial
    join of the same points (the truth, computed another way): squares side by side, an actor on a
    shared edge (in both), one on a corner, one outside every box, one inside a box but outside
    its triangle, one without a position."""
    shapes = gpd.GeoDataFrame(
        {"code": ["A", "B", "T", "vide"]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), Polygon([(3, 0), (4, 0), (3, 1)]), None],
        crs="EPSG:4326",
    )
    actors = pd.DataFrame(
        {
            "longitude": [0.5, 1.0, 2.0, 5.0, 3.9, math.nan, 0.25],
            "latitude": [0.5, 0.5, 1.0, 5.0, 0.9, 0.5, 0.75],
        }
    )
    points = PlacedPoints.of(actors)
    assert len(points) == 6
    truth = gpd.sjoin(
        gpd.GeoDataFrame(geometry=gpd.points_from_xy(actors["longitude"], actors["latitude"]), crs="EPSG:4326")[
            placed_mask(actors)
        ],
        shapes.dropna(),
        predicate="intersects",
    )
    touched = perimeters_in_play(shapes, gpd.GeoSeries([], crs="EPSG:4326"), points)  # the actors alone
    assert set(shapes["code"][touched]) == set(truth["code"]) == {"A", "B"}
    assert points_held(shapes, points) == truth.index.nunique() == 4
    assert points_held(shapes, PlacedPoints.of(actors.iloc[:0])) == 0


def test_the_perimeter_filter_keeps_the_actors_geopandas_finds_inside():
    """« Dans le périmètre » keeps the actors standing in the chosen perimeter, its edge included
    (as Couverture counts them): against geopandas' spatial join. A perimeter of two parts (a
    code drawn as two polygons), an actor on its edge, one in its box but outside, one without a
    position, one in another perimeter; the layer given in Lambert-93, as a file may be."""
    from reseaux.analyse.filters import perimeter_mask

    shapes = gpd.GeoDataFrame(
        {"code": ["A", "A", "B"]},
        geometry=[Polygon([(0, 0), (1, 0), (0, 1)]), box(2, 0, 3, 1), box(5, 5, 6, 6)],
        crs="EPSG:4326",
    )
    actors = pd.DataFrame(
        {
            "longitude": [0.2, 0.9, 0.5, 2.5, 3.0, math.nan, 5.5, 4.0],
            "latitude": [0.2, 0.9, 0.5, 0.5, 1.0, 0.5, 5.5, 0.5],
        },
        index=[20, 21, 22, 23, 24, 25, 26, 27],
    )
    truth = gpd.sjoin(
        gpd.GeoDataFrame(geometry=points(actors)), shapes[shapes["code"] == "A"], predicate="intersects"
    ).index.unique()
    for layer in (shapes, shapes.to_crs("EPSG:2154")):
        kept = perimeter_mask(actors, "secteurs:A", {"secteurs": layer})
        assert kept.index.tolist() == actors.index.tolist()
        assert sorted(kept[kept].index) == sorted(truth) == [20, 22, 23, 24]
    assert not perimeter_mask(actors, "secteurs:Z", {"secteurs": shapes}).any()
    assert not perimeter_mask(actors, "autre:A", {"secteurs": shapes}).any()
