"""An actor's position is two numbers (annuaire/model.py): which actors are placed, and the points
the spatial work builds from them, checked against geopandas' own projection."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from reseaux.annuaire import model
from reseaux.annuaire.model import placed_mask, point_chunks, points

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


@pytest.mark.parametrize("crs", [2154, 2975, "EPSG:4326"])
def test_point_chunks_match_geopandas_projection_across_chunks(monkeypatch, crs):
    """Three points a chunk: the four placed actors come in two chunks, each projected as
    geopandas projects the same points (the truth, computed another way)."""
    monkeypatch.setattr(model, "POINT_CHUNK", 3)
    chunks = list(point_chunks(FRAME, crs))
    assert [len(c) for c in chunks] == [3, 1]
    truth = gpd.GeoSeries(gpd.points_from_xy(FRAME["longitude"], FRAME["latitude"]), crs=4326)[
        placed_mask(FRAME)
    ].to_crs(crs)
    got = np.concatenate(chunks)
    assert np.allclose([p.x for p in got], truth.x, atol=1e-6)
    assert np.allclose([p.y for p in got], truth.y, atol=1e-6)
