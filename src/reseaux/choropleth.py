"""The « Couverture » map: a choropleth of one measure per perimeter, gaps drawn apart.

Colours are viridis in 5 classes (ordered, readable by colour-blind people and in greyscale);
a gap — no matching actor within the distance — is white with a thick dashed edge, so it
stands out by its shape as well as its colour.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence

import folium
import geopandas as gpd
import pandas as pd

from reseaux.assets import use_local_assets
from reseaux.mapview import Legend, bounds_center, simple_map, zoom_for_bounds

#: Viridis, 5 classes: ordered, readable by colour-blind people and in greyscale.
SEQUENTIAL = ["#fde725", "#5ec962", "#21918c", "#3b528b", "#440154"]
GAP_STYLE = {"fillColor": "#ffffff", "fillOpacity": 0.85, "color": "#000000", "weight": 3, "dashArray": "6 4"}


def build_coverage_map(layer: gpd.GeoDataFrame, table: pd.DataFrame, measure: str, measure_label: str,
                       breaks: Sequence[float], bounds: tuple[float, float, float, float],
                       *, gap_label: str, basemap: str = "positron") -> folium.Map:
    """A choropleth of ``measure`` over ``layer`` (WGS84), gaps drawn white with a thick dashed edge.

    ``table`` is aligned with ``layer`` (one row per perimeter, see coverage.coverage_table);
    ``breaks`` are the class limits (n + 1 values for n classes).
    """
    total = layer.total_bounds if len(layer) else bounds
    fmap = simple_map(bounds_center(total), zoom_for_bounds(total), basemap=basemap, zoom_snap=0.25)
    data = layer[["code", "nom", "geometry"]].copy()
    data["nom"] = data["nom"].map(html.escape)
    data["code"] = data["code"].map(html.escape)
    values = table[measure].to_numpy(dtype=float)
    data["rx_value"] = [("—" if v != v else f"{v:g}") for v in values]
    data["rx_within"] = table["n_within"].to_numpy()
    data["rx_style"] = [
        json.dumps(GAP_STYLE if gap else {"fillColor": _class_color(v, breaks), "fillOpacity": 0.75,
                                          "color": "#333333", "weight": 1})
        for v, gap in zip(values, table["gap"], strict=True)
    ]
    folium.GeoJson(
        data,
        name=measure_label,
        style_function=lambda feature: json.loads(feature["properties"]["rx_style"]),
        highlight_function=lambda _feature: {"weight": 4},
        tooltip=folium.GeoJsonTooltip(fields=["nom", "code", "rx_value", "rx_within"],
                                      aliases=["Nom", "Code", measure_label, "Acteurs à distance"]),
    ).add_to(fmap)
    Legend(coverage_legend_html(measure_label, breaks, gap_label, missing=bool(pd.isna(values).any()))).add_to(fmap)
    use_local_assets(fmap)
    return fmap


def _class_color(value: float, breaks: Sequence[float]) -> str:
    if value != value:  # NaN: no value (population unknown…)
        return "#bdbdbd"
    for index in range(1, len(breaks)):
        if value <= breaks[index]:
            return SEQUENTIAL[min(index - 1, len(SEQUENTIAL) - 1)]
    return SEQUENTIAL[min(len(breaks) - 2, len(SEQUENTIAL) - 1)]


def coverage_legend_html(title: str, breaks: Sequence[float], gap_label: str, *, missing: bool = False) -> str:
    parts = ['<div class="rx-legend">', f"<h4>{html.escape(title)}</h4>"]
    for index in range(1, len(breaks)):
        low, high = breaks[index - 1], breaks[index]
        color = SEQUENTIAL[min(index - 1, len(SEQUENTIAL) - 1)]
        text = f"≤ {high:g}" if index == 1 else f"> {low:g} à {high:g}"
        parts.append(f'<div class="rx-item"><span class="rx-swatch" style="background:{color};border-color:#333"></span>'
                     f"{text}</div>")
    parts.append('<div class="rx-item"><span class="rx-swatch" style="background:#fff;border:2px dashed #000"></span>'
                 f"<b>{html.escape(gap_label)}</b></div>")
    if missing:
        parts.append('<div class="rx-item"><span class="rx-swatch" style="background:#bdbdbd;border-color:#333">'
                     "</span>sans valeur (population inconnue)</div>")
    parts.append("</div>")
    return "".join(parts)
