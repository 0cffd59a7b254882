"""Shapes made usable: what the layer loader, the national referential and a layer added by a
coordinator all do to a polygon before drawing it or measuring it."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely


def polygonal(shapes: gpd.GeoSeries) -> gpd.GeoSeries:
    """Repair ``shapes`` keeping only their polygonal parts: an invalid polygon made valid may
    become a collection holding lines or points, which no map or area can use. A shape left
    with nothing polygonal becomes empty."""
    fixed = shapely.make_valid(np.asarray(shapes.values))
    out = []
    for shape in fixed:
        if shape is None or shape.geom_type in ("Polygon", "MultiPolygon"):
            out.append(shape)
            continue
        parts = [p for p in shapely.get_parts(shape) if p.geom_type in ("Polygon", "MultiPolygon")]
        out.append(shapely.union_all(parts) if parts else shapely.Polygon())
    return gpd.GeoSeries(out, index=shapes.index, crs=shapes.crs)
