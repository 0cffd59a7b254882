"""The « Couverture » map: a choropleth of one measure per perimeter, gaps drawn apart.

Colours are viridis in 5 classes (ordered, readable by colour-blind people and in greyscale);
a gap — no matching actor within the distance — is white with a thick dashed edge, so it
stands out by its shape as well as its colour. A dense layer (more than :data:`DENSE` perimeters,
the 2,644 communes of Normandie) is drawn lighter: thin solid edges, gaps white with a thin grey
edge — 2,576 thick dashed outlines made a black mass where nothing could be read, and dashes
are the slowest strokes a browser paints — on a canvas rather than one SVG element per shape.

The map comes in two parts, as the network map does: a **base** that depends on the layer only
(tiles, the perimeters' shapes, an empty legend box) and an **overlay** that depends on the
filters (one style and one tooltip line per perimeter, the legend's text). streamlit-folium
keeps the base in the browser while only the overlay changes, so a theme change sends a few
kilobytes instead of the layer's shapes (2.6 MB for the 2,644 communes of Normandie).
"""

from __future__ import annotations

from collections.abc import Sequence

import folium
import numpy as np
import pandas as pd
from branca.element import MacroElement
from jinja2 import Template

from reseaux.analyse.coverage_report import Measure
from reseaux.carte.assets import use_local_assets
from reseaux.carte.legend import Legend
from reseaux.carte.mapbits import bounds_center, script_json, simple_map, zoom_for_bounds
from reseaux.markup import Markup, render, text
from reseaux.text import fr_number

#: Viridis, 5 classes: ordered, readable by colour-blind people and in greyscale.
SEQUENTIAL = ["#fde725", "#5ec962", "#21918c", "#3b528b", "#440154"]
GAP_STYLE = {"fillColor": "#ffffff", "fillOpacity": 0.85, "color": "#000000", "weight": 3, "dashArray": "6 4"}
NO_VALUE_STYLE = {"fillColor": "#bdbdbd", "fillOpacity": 0.75, "color": "#333333", "weight": 1}
NO_VALUE_TEXT = "sans valeur (population inconnue)"
#: Beyond this many perimeters, the light drawing (see the module's docstring).
DENSE = 300
#: The light drawing's strokes: thin, solid, grey (a gap stands out by its white fill).
DENSE_EDGE = {"color": "#666666", "weight": 0.5}
#: Legend box of the base map; the overlay writes into it. On a phone it stays small and folds.
_LEGEND_BOX = (
    '<details class="rx-legend rx-cov-legend" open><summary></summary><div class="rx-cov-body"></div>'
    "</details><style>.rx-cov-legend summary{font-weight:700;font-size:13px;cursor:pointer}"
    ".rx-cov-legend .rx-cov-body{margin-top:4px}"
    "@media (max-width:520px){.rx-cov-legend{font-size:11px;min-width:0;max-width:170px;"
    "max-height:30vh;padding:4px 6px}.rx-cov-legend summary{font-size:12px}}</style>"
)


def shapes_json(geojson: dict) -> str:
    """The layer's GeoJSON (``Territory.geojson``) as the base map embeds it: each feature numbered
    (``rx_i``) so the overlay can style it. Computed once per layer by the app."""
    features = [
        {**feature, "properties": {**feature.get("properties", {}), "rx_i": i}}
        for i, feature in enumerate(geojson.get("features", []))
    ]
    return script_json({"type": "FeatureCollection", "features": features})


class CoverageShapes(MacroElement):
    """The perimeters drawn once (neutral style) and an empty legend; :class:`CoverageStyle` fills both."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var shapes = L.geoJson({{ this.data }}, {{ this.options }});
            shapes.bindTooltip(function (layer) { return layer.rxTip || layer.feature.properties.nom; },
                               {sticky: true});
            shapes.on("mouseover", function (e) { e.layer.setStyle({weight: 4}); });
            shapes.on("mouseout", function (e) { if (e.layer.rxStyle) { e.layer.setStyle(e.layer.rxStyle); } });
            shapes.addTo({{ this._parent.get_name() }});
            window.rxCoverageShapes = shapes;
            if (window.rxCoveragePending) { window.rxCoveragePending(); }
        })();
        {% endmacro %}
        """
    )

    def __init__(self, data: str, *, dense: bool = False) -> None:
        super().__init__()
        self._name = "CoverageShapes"
        self.data = data
        edge = DENSE_EDGE if dense else {"color": "#333333", "weight": 1}
        options = {"style": {**edge, "fillOpacity": 0}, "smoothFactor": 1.5 if dense else 1}
        self.options = script_json(options)[:-1] + (", renderer: L.canvas({padding: 0.3})}" if dense else "}")


class CoverageStyle(MacroElement):
    """Styles, tooltips and legend text of one coverage result, applied to :class:`CoverageShapes`."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var payload = {{ this.payload }};
            function apply() {
                var shapes = window.rxCoverageShapes;
                if (!shapes) { return false; }
                shapes.eachLayer(function (layer) {
                    var row = payload.rows[layer.feature.properties.rx_i];
                    var p = layer.feature.properties;
                    layer.rxStyle = payload.styles[row[0]];
                    layer.setStyle(layer.rxStyle);
                    layer.rxTip = "<b>" + p.nom + "</b> (" + p.code + ")<br>" + payload.measure + " : " + row[1]
                        + "<br>" + payload.within + " : " + row[2];
                });
                var box = document.querySelector(".rx-cov-legend");
                if (box) {
                    box.querySelector("summary").innerHTML = payload.title;
                    box.querySelector(".rx-cov-body").innerHTML = payload.legend;
                }
                return true;
            }
            if (!apply()) { window.rxCoveragePending = apply; }
        })();
        {% endmacro %}
        """
    )

    def __init__(self, payload: dict) -> None:
        super().__init__()
        self._name = "CoverageStyle"
        self.payload = script_json(payload)


def coverage_base_map(
    shapes: str, total_bounds: Sequence[float], *, basemap: str = "positron", dense: bool = False
) -> folium.Map:
    """The part of the coverage map that depends on the layer only (see the module's docstring).

    ``shapes`` comes from :func:`shapes_json`; ``total_bounds`` is the layer's extent (WGS84);
    ``dense``: the light drawing, for a layer of more than :data:`DENSE` perimeters.
    """
    fmap = simple_map(bounds_center(total_bounds), zoom_for_bounds(total_bounds), basemap=basemap, zoom_snap=0.25)
    CoverageShapes(shapes, dense=dense).add_to(fmap)
    Legend(_LEGEND_BOX).add_to(fmap)
    use_local_assets(fmap)
    return fmap


def coverage_overlay(
    table: pd.DataFrame,
    measure: str,
    spec: Measure,
    breaks: Sequence[float],
    *,
    title: str,
    within_label: str,
    gap_label: str,
) -> folium.FeatureGroup:
    """The part that depends on the result: one style and tooltip per perimeter, the legend.

    ``table`` is aligned with the layer (coverage.coverage_table); ``breaks`` the class limits
    (see coverage_report.classes). A gap (``table["gap"]``) is drawn as a gap whatever its value.
    """
    values = table[measure].to_numpy(dtype=float)
    gaps = table["gap"].to_numpy(dtype=bool)
    decimals = 0 if spec.count or measure == "distance_nearest_m" else 2
    styles = [GAP_STYLE, NO_VALUE_STYLE] + [
        {"fillColor": color, "fillOpacity": 0.75, "color": "#333333", "weight": 1} for color in SEQUENTIAL
    ]
    dense = len(table) > DENSE
    if dense:
        styles = [{**style, **DENSE_EDGE, "dashArray": None} for style in styles]
    rows = []
    for value, gap, within in zip(values, gaps, table["n_within"].to_numpy(), strict=True):
        style = 0 if gap else (1 if value != value else 2 + class_index(value, breaks))
        rows.append([style, "—" if value != value else spec.with_unit(value, decimals), fr_number(int(within))])
    present = {class_index(v, breaks) for v, gap in zip(values, gaps, strict=True) if not gap and v == v}
    legend = coverage_legend_html(
        spec,
        breaks,
        gap_label,
        present=present,
        gaps=bool(gaps.any()),
        missing=bool((~gaps & np.isnan(values)).any()),
        dense=dense,
    )
    group = folium.FeatureGroup(name=title, control=False)
    CoverageStyle(
        {
            "rows": rows,
            "styles": styles,
            "legend": legend,
            "title": text(title),
            "measure": text(spec.label),
            "within": text(within_label),
        }
    ).add_to(group)
    return group


def class_index(value: float, breaks: Sequence[float]) -> int:
    """The class (0..4) of ``value``: class i holds breaks[i] < value ≤ breaks[i + 1], class 0 from breaks[0]."""
    last = max(min(len(breaks) - 2, len(SEQUENTIAL) - 1), 0)
    for index in range(1, len(breaks)):
        if value <= breaks[index]:
            return min(index - 1, last)
    return last


def class_labels(spec: Measure, breaks: Sequence[float]) -> list[str]:
    """One label per class, French numbers with the measure's unit.

    Counts: whole actors, « 0 à 2 acteurs », « 3 à 5 acteurs », « 6 acteurs »; other measures:
    « ≤ 350 m », « > 350 à 1 200 m », « > 0,05 à 0,12 acteur pour 10 000 hab. ».
    """
    if len(breaks) == 2 and breaks[0] == breaks[1]:
        return [spec.with_unit(breaks[0], 0 if spec.count else 2)]
    labels = []
    for index in range(1, len(breaks)):
        low, high = breaks[index - 1], breaks[index]
        if spec.count:
            first = int(low) if index == 1 else int(low) + 1
            last = int(high)
            labels.append(spec.with_unit(last) if first >= last else f"{fr_number(first)} à {spec.with_unit(last)}")
        else:
            decimals = 0 if float(high).is_integer() and float(low).is_integer() else 2
            labels.append(
                f"≤ {spec.with_unit(high, decimals)}"
                if index == 1
                else f"> {fr_number(low, decimals)} à {spec.with_unit(high, decimals)}"
            )
    return labels


_COVERAGE_LEGEND = """\
{%- for color, label in classes %}<div class="rx-item"><span class="rx-swatch" style="background:{{ color }};\
border-color:#333"></span>{{ label }}</div>{% endfor %}
{%- if gap_label %}<div class="rx-item"><span class="rx-swatch" style="background:#fff;border:{{ gap_border }}">\
</span><b>{{ gap_label }}</b></div>{% endif %}
{%- if no_value %}<div class="rx-item"><span class="rx-swatch" style="background:#bdbdbd;border-color:#333">\
</span>{{ no_value }}</div>{% endif %}"""


def coverage_legend_html(
    spec: Measure,
    breaks: Sequence[float],
    gap_label: str,
    *,
    present: set[int] | None = None,
    gaps: bool = True,
    missing: bool = False,
    dense: bool = False,
) -> Markup:
    """The legend's lines: the classes that are on the map (``present``, all when None), the gap
    line when there is a gap (its swatch as the map draws it: ``dense``, the light drawing), the
    « no value » line when a perimeter has none."""
    classes = [
        (SEQUENTIAL[min(index, len(SEQUENTIAL) - 1)], label)
        for index, label in enumerate(class_labels(spec, breaks))
        if present is None or index in present
    ]
    return render(
        _COVERAGE_LEGEND,
        classes=classes,
        gap_label=gap_label if gaps else "",
        gap_border="1px solid #666" if dense else "2px dashed #000",
        no_value=NO_VALUE_TEXT if missing else "",
    )
