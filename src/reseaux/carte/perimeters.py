"""Perimeter layers on a map (QPV, CPTS, communes…): their GeoJSON, style, drawing order and the
attribution of their sources."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import MacroElement
from jinja2 import Template

from reseaux.annuaire.model import coordinates, held_by
from reseaux.carte.mapbits import script_json
from reseaux.markup import text
from reseaux.territoire.layers import LayerSpec

#: Outlines are drawn simplified to this many degrees (about 5 m: below what a screen shows at
#: street level) with coordinates to 1e-5° (about 1 m). A layer added as published (the QPV of
#: Marseille cut from the official file) weighs four times less; the shipped layers, already
#: simplified, barely change.
DISPLAY_TOLERANCE = 5e-5


def display_geojson(frame: gpd.GeoDataFrame) -> dict:
    """A layer as the map draws it: GeoJSON with only ``code`` and ``nom``, escaped, outlines
    simplified to :data:`DISPLAY_TOLERANCE` (shapes kept valid, none vanishes).

    Converting a layer is the slow part of drawing it (0.4 s for the 2,644 communes): the app
    computes this once per layer and per server (``Territory.geojson``), not on every rerun.
    """
    data = frame[["code", "nom", "geometry"]].copy()
    shapes = data.geometry.values
    if len(data) and not (data.geom_type == "Point").all():
        shapes = shapely.simplify(shapes, DISPLAY_TOLERANCE, preserve_topology=True)
    data["geometry"] = shapely.transform(shapes, lambda xy: np.round(xy, 5))
    # Leaflet's tooltips write these with innerHTML: text, never markup.
    data["nom"] = data["nom"].map(text)
    data["code"] = data["code"].map(text)
    return data.__geo_interface__


class PlacedPoints:
    """Positions (WGS84 numbers) sorted by longitude once, asked which perimeters they stand in:
    for each perimeter only the points in its box are tested, exactly (an edge counts), and no
    shapely point is made. At 1,000,000 actors, the perimeters a sidebar offers (eleven layers)
    took 18 s as shapely points asked of each layer's index, 34 s when those points were built a
    chunk at a time (docs/mesures.md, « Huitième passage »)."""

    def __init__(self, lon, lat) -> None:
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        placed = ~(np.isnan(lon) | np.isnan(lat))
        if placed.all():  # the usual directory: sorted as it is, no copy of the placed ones first
            order = np.argsort(lon, kind="stable")
        else:
            known = np.flatnonzero(placed)
            order = known[np.argsort(lon[known], kind="stable")]
        self.x, self.y = lon[order], lat[order]

    @classmethod
    def of(cls, actors, extra: gpd.GeoSeries | None = None) -> PlacedPoints:
        """The positions of ``actors`` (``latitude``, ``longitude``; those without one left out),
        and ``extra`` points (shapely points, any CRS) when given: sorted once, together (sorted
        apart then again together, the copies of a million positions were at the top of a first
        page's memory: docs/mesures.md, « Quatorzième passage »)."""
        if actors is None:
            lon, lat = np.zeros(0), np.zeros(0)
        else:
            lon, lat, _ = coordinates(actors)
        if extra is not None and len(extra):
            wgs84 = extra.to_crs("EPSG:4326") if extra.crs is not None else extra
            lon, lat = np.concatenate([lon, wgs84.x.to_numpy()]), np.concatenate([lat, wgs84.y.to_numpy()])
        return cls(lon, lat)

    def __len__(self) -> int:
        return len(self.x)

    def inside(self, frame: gpd.GeoDataFrame) -> Iterator[tuple[int, np.ndarray]]:
        """For each perimeter of ``frame`` that holds some of these points (in or on its edge): its
        row and those points (positions in the sorted arrays)."""
        shapes = frame.geometry if frame.crs is None or frame.crs == "EPSG:4326" else frame.geometry.to_crs("EPSG:4326")
        values = shapes.values
        for row, (west, _, east, _) in enumerate(shapely.bounds(np.asarray(values))):
            if np.isnan(west):  # no shape, or an empty one
                continue
            first, last = np.searchsorted(self.x, west, "left"), np.searchsorted(self.x, east, "right")
            held = held_by(values[row], self.x[first:last], self.y[first:last])
            if len(held):
                yield row, first + held


def perimeters_in_play(frame: gpd.GeoDataFrame, areas: gpd.GeoSeries | None, points: PlacedPoints) -> np.ndarray:
    """Which perimeters of ``frame`` matter to a network: those that contain or touch one of ``points``
    (its actors, and an inner point of each commune of its territory), or whose own inner point lies in
    one of ``areas`` (the territory's communes: a QPV inside a commune). A perimeter that only borders
    the territory is left out — and so is one that overlaps it by a sliver where two sources draw the
    same border apart. ``areas=None``: no territory (the whole of France), every perimeter. All in one
    CRS. Returns a boolean array, one per row of ``frame``."""
    keep = np.zeros(len(frame), dtype=bool)
    if not len(frame):
        return keep
    if areas is None:
        return ~keep
    for row, _held in points.inside(frame):
        keep[row] = True
    if len(areas):
        inner, _ = areas.sindex.query(np.asarray(frame.geometry.representative_point().values), predicate="intersects")
        keep[inner] = True
    return keep


def points_held(frame: gpd.GeoDataFrame, points: PlacedPoints) -> int:
    """How many of ``points`` stand in (or on the edge of) some perimeter of ``frame``."""
    held = np.zeros(len(points), dtype=bool)
    for _row, inside in points.inside(frame):
        held[inside] = True
    return int(held.sum())


def perimeter_layer(frame: gpd.GeoDataFrame, spec: LayerSpec, data: dict | None = None) -> folium.FeatureGroup:
    """One layer's outlines (or points), named by its label as text: Leaflet's layer control and
    tooltips write names with innerHTML, and a label is whatever a coordinator typed."""
    label = text(spec.label)
    group = folium.FeatureGroup(name=label, show=True)
    data = data if data is not None else display_geojson(frame)
    if len(frame) and (frame.geometry.geom_type == "Point").all():
        folium.GeoJson(
            data,
            marker=folium.CircleMarker(radius=4, color=spec.color, fill=True, fill_opacity=0.8, weight=1),
            tooltip=folium.GeoJsonTooltip(fields=["nom", "code"], aliases=["Nom", "Code"]),
            name=label,
        ).add_to(group)
        return group
    style = {
        "color": spec.color,
        "weight": 2 if not spec.dash else 2.5,
        "dashArray": "6 4" if spec.dash else None,
        "fillColor": spec.color,
        "fillOpacity": spec.fill_opacity,
    }
    folium.GeoJson(
        data,
        style_function=lambda _feature, style=style: style,
        highlight_function=lambda _feature: {"weight": 4, "fillOpacity": 0.25},
        tooltip=folium.GeoJsonTooltip(fields=["nom", "code"], aliases=[label, "Code"]),
        name=label,
        smooth_factor=1.0,
    ).add_to(group)
    return group


def perimeter_groups(
    layers: Mapping[str, gpd.GeoDataFrame],
    specs: Sequence[LayerSpec],
    shown: Sequence[str],
    geojson: Mapping[str, dict] | None = None,
) -> list[folium.FeatureGroup]:
    """The perimeter layers whose ids are ``shown``, in drawing order, one feature group each."""
    by_id = {s.id: s for s in specs}
    chosen = [by_id[i] for i in shown if i in by_id and i in layers]
    return [perimeter_layer(layers[s.id], s, (geojson or {}).get(s.id)) for s in _drawing_order(chosen, layers)]


def _drawing_order(specs: list[LayerSpec], layers: Mapping[str, gpd.GeoDataFrame]) -> list[LayerSpec]:
    """Large territories first, the most specific perimeters (QPV) on top, points last."""

    def is_points(spec: LayerSpec) -> bool:
        return bool(len(layers[spec.id])) and (layers[spec.id].geom_type == "Point").all()

    rank = {s.id: i for i, s in enumerate(specs)}
    return sorted(specs, key=lambda s: (is_points(s), -rank[s.id]))


def attribution_text(specs: Sequence[LayerSpec]) -> str:
    """The sources of the perimeter layers ``specs``, as the map's attribution says them."""
    sources = sorted({s.source.split(" (via")[0].split(",")[0] for s in specs if not s.example})
    text = "Périmètres : " + " ; ".join(sources) if sources else ""
    if any(s.example for s in specs):
        text += " ; périmètres « exemple » non officiels"
    return text


class _Attribution(MacroElement):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text_json }});
        {% endmacro %}
        """
    )

    def __init__(self, specs: Sequence[LayerSpec]) -> None:
        super().__init__()
        self.text_json = script_json(text(attribution_text(specs)))
