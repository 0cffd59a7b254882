"""Map rendering: the base map (tiles, perimeter layers, legend) and the actors' layer.

Builders return folium objects; tests inspect them and their HTML without a browser. The
actors are drawn in bulk by one script (``actors_layer.js``) from a compact JSON payload —
never one ``folium.Marker`` per actor — and each fiche is built on click, as text.
"""

from __future__ import annotations

import base64
import gzip
import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template

from reseaux.assets import (FULLSCREEN_CSS, FULLSCREEN_JS, LOCATE_CSS, LOCATE_JS, SUPERCLUSTER_JS, local,
                            use_local_assets)
from reseaux.layers import LayerSpec
from reseaux.referential import Referential


@dataclass(frozen=True)
class Basemap:
    label: str
    url: str
    attribution: str


BASEMAPS: dict[str, Basemap | None] = {
    "osmfr": Basemap(
        "OpenStreetMap France",
        "https://{s}.tile.openstreetmap.fr/osmfr/{z}/{x}/{y}.png",
        '&copy; OpenStreetMap France | &copy; <a href="https://www.openstreetmap.org/copyright">'
        "les contributeurs d'OpenStreetMap</a>",
    ),
    "osm": Basemap(
        "OpenStreetMap",
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        '&copy; <a href="https://www.openstreetmap.org/copyright">les contributeurs d\'OpenStreetMap</a>',
    ),
    "positron": Basemap(
        "CartoDB Positron (clair, pour projeter)",
        "https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}{r}.png",
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> &copy; CARTO',
    ),
    "ign": Basemap(
        "IGN Plan",
        "https://data.geopf.fr/wmts?SERVICE=WMTS&VERSION=1.0.0&REQUEST=GetTile&STYLE=normal"
        "&TILEMATRIXSET=PM&FORMAT=image/png&LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2"
        "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}",
        '&copy; <a href="https://www.ign.fr/">IGN</a> Géoplateforme',
    ),
    "aucun": None,
}
BASEMAP_LABELS = {key: (b.label if b else "Aucun fond") for key, b in BASEMAPS.items()}

#: colour-by choice -> (directory column, referential category, French label)
COLOR_BY: dict[str, tuple[str, str, str]] = {
    "type": ("type", "type", "Type d'acteur"),
    "thematique": ("thematiques", "thematique", "Thématique"),
    "profession": ("profession", "profession", "Profession"),
}
OTHER_COLOR = "#9E9E9E"

#: What a fiche shows, in order: (column, kind, French label). Kind drives the link.
FICHE_FIELDS: list[tuple[str, str, str]] = [
    ("nom", "text", "Nom"),
    ("type", "text", "Type"),
    ("profession", "text", "Profession"),
    ("structure", "text", "Structure"),
    ("specialites", "text", "Spécialités et formations"),
    ("thematiques", "text", "Thématiques"),
    ("publics", "text", "Publics"),
    ("modalites", "text", "Modalités"),
    ("accessibilite", "text", "Accessibilité"),
    ("langues", "text", "Langues"),
    ("description", "text", "Description"),
    ("adresse_complete", "text", "Adresse"),
    ("telephone", "tel", "Téléphone"),
    ("email", "mail", "Courriel"),
    ("site_web", "url", "Site web"),
    ("horaires", "text", "Horaires"),
    ("zone_intervention", "text", "Zone d'intervention"),
    ("date_maj", "text", "Mise à jour"),
    ("position", "badge", ""),
    ("fictif", "badge", ""),
]
_REFERENTIAL_FIELDS = {"type": "type", "profession": "profession", "thematiques": "thematique",
                       "publics": "public", "modalites": "modalite", "accessibilite": "accessibilite"}


@dataclass(frozen=True)
class MapView:
    """What the map shows besides the actors: layers, base map, colouring. Lives in the URL."""

    layers: tuple[str, ...]
    basemap: str = "osmfr"
    color_by: str = "type"

    def to_query(self) -> dict[str, str]:
        return {"couches": ",".join(self.layers) or "-", "fond": self.basemap, "couleur": self.color_by}

    @classmethod
    def from_query(cls, query: Mapping[str, str], specs: Sequence[LayerSpec]) -> MapView:
        known = [s.id for s in specs]
        if "couches" in query:
            layers = tuple(c for c in str(query["couches"]).split(",") if c in known)
        else:
            layers = tuple(s.id for s in specs if s.visible)
        basemap = query.get("fond", "osmfr")
        color_by = query.get("couleur", "type")
        return cls(
            layers=layers,
            basemap=basemap if basemap in BASEMAPS else "osmfr",
            color_by=color_by if color_by in COLOR_BY else "type",
        )


def build_base_map(
    layers: Mapping[str, gpd.GeoDataFrame],
    specs: Sequence[LayerSpec],
    view: MapView,
    referential: Referential,
    bounds: tuple[float, float, float, float],
    *,
    legend_codes: Sequence[str] | None = (),
    height: str | int = "100%",
    center: Sequence[float] | None = None,
    zoom: float | None = None,
    fiches: str | None = None,
    geojson: Mapping[str, dict] | None = None,
    controls: bool = False,
) -> folium.Map:
    """Build the static part of the map: tiles, chosen perimeter layers, legend, attribution.

    ``bounds`` is (min lon, min lat, max lon, max lat) of the home territory;
    ``legend_codes`` are the codes of the colour-by category present in the directory (None:
    no legend here — the actors' layer carries one that follows the filters, see
    :func:`build_actor_layer`); ``controls`` adds full screen, my position and the search box;
    ``fiches`` is :func:`fiche_blob` of the directory: the fiches travel once, with the base,
    and a filter change only sends positions; ``geojson`` maps layer ids to
    :func:`display_geojson` already computed.
    """
    minx, miny, maxx, maxy = bounds
    fmap = folium.Map(
        location=list(center) if center else [(miny + maxy) / 2, (minx + maxx) / 2],
        zoom_start=zoom if zoom else zoom_for_bounds(bounds),
        tiles=None,
        control_scale=False,  # FrenchControls: metric only
        height=height,
        zoom_snap=0.25,
        zoom_delta=0.5,
    )
    for key, basemap in BASEMAPS.items():
        if basemap is None:
            continue
        folium.TileLayer(
            basemap.url, attr=basemap.attribution, name=basemap.label,
            show=(key == view.basemap), max_zoom=19,
        ).add_to(fmap)
    by_id = {s.id: s for s in specs}
    for spec in _drawing_order([by_id[i] for i in view.layers if i in by_id and i in layers], layers):
        perimeter_layer(layers[spec.id], spec, (geojson or {}).get(spec.id)).add_to(fmap)
    if not center:
        fmap.fit_bounds([[miny, minx], [maxy, maxx]], padding=(10, 10))
    shown = [by_id[i] for i in view.layers if i in by_id]
    fmap.get_root().header.add_child(Element(f"<style>{asset_text('map.css')}</style>"), name="rx_css")
    if legend_codes is not None:
        Legend(legend_html(referential, view.color_by, legend_codes, shown)).add_to(fmap)
    _Attribution(shown).add_to(fmap)
    FrenchControls().add_to(fmap)
    if controls:
        MapControls(search=fiches is not None,
                    home=None if center else [[miny, minx], [maxy, maxx]]).add_to(fmap)
    if fiches is not None:
        FicheStore(fiches).add_to(fmap)
    use_local_assets(fmap)
    return fmap


def fiche_blob(actors: gpd.GeoDataFrame, referential: Referential) -> str:
    """Every fiche of ``actors`` (in row order), as gzip-compressed JSON in base64.

    Fiches are text-heavy and repetitive: compressed, 100,000 of them weigh a few megabytes.
    The browser inflates them (DecompressionStream) the first time a fiche is opened.
    """
    data = json.dumps({"fields": [[kind, label] for _, kind, label in FICHE_FIELDS],
                       "fiches": _fiches(actors, referential)}, ensure_ascii=False, separators=(",", ":"))
    return base64.b64encode(gzip.compress(data.encode("utf-8"), compresslevel=3, mtime=0)).decode("ascii")


def build_actor_layer(
    actors: gpd.GeoDataFrame,
    referential: Referential,
    color_by: str = "type",
    *,
    highlight: Sequence[str] = (),
    name: str | None = None,
    legend: str | None = None,
    focus: tuple[str, dict] | None = None,
) -> folium.FeatureGroup:
    """Return a feature group drawing ``actors`` (those with a position) in one cluster.

    The index labels of ``actors`` are their rows in the frame the base map's
    :func:`fiche_blob` was built from (a filtered directory keeps its index).
    ``highlight`` are codes of the colour-by category to prefer when an actor has several
    (the themes the user filtered on, say). ``legend`` is :func:`legend_html` for what is
    shown (it replaces the map's legend when the layer changes); ``focus`` is (key, GeoJSON) of
    a perimeter to outline, zoomed to when the key changes.
    """
    placed = actors[actors.geometry.notna()]
    group = folium.FeatureGroup(name=name or f"Acteurs ({len(placed)})", show=True)
    ActorCluster(actor_payload(placed, referential, color_by, highlight=highlight,
                               rows=placed.index.tolist())).add_to(group)
    if legend is not None:
        LegendLayer(legend, fold_below=560).add_to(group)
    if legend is not None or focus is not None:
        PerimeterFocus(focus).add_to(group)  # also run without a focus: it clears the last one
    use_local_assets(group)
    return group


def build_map(
    actors: gpd.GeoDataFrame,
    layers: Mapping[str, gpd.GeoDataFrame],
    specs: Sequence[LayerSpec],
    view: MapView,
    referential: Referential,
    bounds: tuple[float, float, float, float],
    *,
    highlight: Sequence[str] = (),
    center: Sequence[float] | None = None,
    zoom: float | None = None,
) -> folium.Map:
    """Return the whole map (base and actors) as one folium object, with its layer control.

    Only the fiches of ``actors`` travel with it (an export holds what it shows, nothing more).
    """
    actors = actors.reset_index(drop=True)
    fmap = build_base_map(layers, specs, view, referential, bounds, legend_codes=legend_codes(actors, view.color_by),
                          center=center, zoom=zoom, fiches=fiche_blob(actors, referential))
    build_actor_layer(actors, referential, view.color_by, highlight=highlight).add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    return fmap


def legend_codes(actors: pd.DataFrame, color_by: str) -> list[str]:
    """Codes of the colour-by category that appear in ``actors`` (for the legend); ``""`` when
    some actor has none (the legend then explains the grey dot)."""
    column = COLOR_BY[color_by][0]
    seen: set[str] = set()
    for value in actors[column]:
        if isinstance(value, tuple | list):
            seen.update(value or [""])
        else:
            seen.add(value or "")
    return sorted(seen)


def actor_payload(
    actors: gpd.GeoDataFrame, referential: Referential, color_by: str, *, highlight: Sequence[str] = (),
    rows: Sequence[int] | None = None,
) -> dict:
    """Return the compact data the browser needs: ``[lat, lon, colour, fiche row]`` and the colours."""
    column, category, _ = COLOR_BY[color_by]
    codes_in_order = referential.codes(category)
    palette = [referential.color(category, c) for c in codes_in_order] + [OTHER_COLOR]
    position = {c: i for i, c in enumerate(codes_in_order)}
    other = len(palette) - 1
    preferred = [c for c in highlight if c in position]

    def color_index(value) -> int:
        if isinstance(value, tuple | list):
            chosen = next((c for c in preferred if c in value), value[0] if value else None)
            return position.get(chosen, other)
        return position.get(value, other)

    rows = list(range(len(actors))) if rows is None else list(rows)
    lats = np.round(actors.geometry.y.to_numpy(), 5).tolist()
    lons = np.round(actors.geometry.x.to_numpy(), 5).tolist()
    colors = [color_index(v) for v in actors[column].tolist()]
    points = [list(p) for p in zip(lats, lons, colors, rows, strict=True)]
    return {"points": points, "colors": palette}


def legend_html(
    referential: Referential, color_by: str, codes: Sequence[str], layers: Sequence[LayerSpec]
) -> str:
    """Return the legend as escaped HTML: actor colours, then each shown perimeter layer."""
    _, category, title = COLOR_BY[color_by]
    parts = ['<details class="rx-legend" open><summary>Légende</summary>',
             f'<div class="rx-sec">Acteurs — {html.escape(title)}</div>']
    for code in referential.codes(category):
        if code in codes:
            color = html.escape(referential.color(category, code))
            label = html.escape(referential.label(category, code))
            parts.append(f'<div class="rx-item"><span class="rx-dot" style="background:{color}"></span>{label}</div>')
    if color_by != "type" and "" in codes:
        parts.append(f'<div class="rx-item"><span class="rx-dot" style="background:{OTHER_COLOR}"></span>'
                     f"{'sans profession (structure, action…)' if color_by == 'profession' else 'sans thématique'}</div>")
    if layers:
        parts.append('<div class="rx-sec">Périmètres</div>')
    for spec in layers:
        style = "dashed" if spec.dash else "solid"
        color = html.escape(spec.color)
        parts.append(
            f'<div class="rx-item"><span class="rx-swatch" style="border-color:{color};'
            f'border-style:{style};background:{color}22"></span>{html.escape(spec.label)}</div>'
        )
    parts.append("</details>")
    return "".join(parts)


class Legend(MacroElement):
    """A Leaflet control (bottom right) holding the legend's HTML."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: "bottomright"});
        {{ this.get_name() }}.onAdd = function () {
            var div = L.DomUtil.create("div");
            div.innerHTML = {{ this.html_json }};
            L.DomEvent.disableScrollPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, legend: str) -> None:
        super().__init__()
        self._name = "Legend"
        self.html_json = script_json(legend)


class ActorCluster(JSCSSMixin, MacroElement):
    """All actors, drawn by ``rxActorCluster`` from a JSON payload through a spatial index
    (supercluster): only the clusters and pins in view become markers."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this.js_source }}
        var {{ this.get_name() }} = rxActorCluster({{ this.payload_json }});
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )
    default_js = SUPERCLUSTER_JS
    default_css: list = []

    def __init__(self, payload: dict) -> None:
        super().__init__()
        self._name = "ActorCluster"
        self.default_js = local(SUPERCLUSTER_JS)
        self.default_css = []
        self.js_source = asset_text("actors_layer.js")
        self.payload_json = script_json(payload)
        self.count = len(payload["points"])


class FicheStore(MacroElement):
    """The directory's fiches (see :func:`fiche_blob`), kept by the page for the popups."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        window.rxFicheBlob = "{{ this.blob }}"; window.rxFicheCache = null;
        {% endmacro %}
        """
    )

    def __init__(self, blob: str) -> None:
        super().__init__()
        self._name = "FicheStore"
        self.blob = blob  # base64: no quote, no markup


class FrenchControls(MacroElement):
    """Every map: zoom buttons titled in French, a metric-only scale (Leaflet's are English, in miles)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
          if (map.zoomControl) {
            [[map.zoomControl._zoomInButton, "Zoom avant"], [map.zoomControl._zoomOutButton, "Zoom arrière"]]
              .forEach(function (b) { b[0].title = b[1]; b[0].setAttribute("aria-label", b[1]); });
          }
          L.control.scale({imperial: false}).addTo(map);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "FrenchControls"


class MapControls(JSCSSMixin, MacroElement):
    """Zoom in French, full screen, « Me localiser », and a search box over the drawn actors."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this.js_source }}
        rxMapControls({{ this._parent.get_name() }}, {{ this.options_json }});
        {% endmacro %}
        """
    )

    def __init__(self, *, search: bool = True, home: list | None = None) -> None:
        super().__init__()
        self._name = "MapControls"
        self.default_js = local(FULLSCREEN_JS) + local(LOCATE_JS)
        self.default_css = local(FULLSCREEN_CSS) + local(LOCATE_CSS)
        self.js_source = asset_text("map_controls.js")
        columns = [c for c, _, _ in FICHE_FIELDS]
        fields = [columns.index(c) for c in ("nom", "structure", "adresse_complete")] if search else None
        self.options_json = script_json({"fullscreen": True, "locate": True, "searchFields": fields,
                                          "fillFrame": True, "homeBounds": home})


class LegendLayer(MacroElement):
    """A legend that comes and goes with the layer it belongs to (a Leaflet layer whose onAdd shows
    the legend control and onRemove takes it away): when the actors' layer or a scene is swapped,
    its legend goes with it. Folded (« ▸ Légende ») on a map narrower than ``fold_below`` px."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function (html, foldBelow) {
          var legend = L.control({position: "bottomright"});
          legend.onAdd = function (map) {
            var div = L.DomUtil.create("div");
            div.innerHTML = html;  /* built server-side from escaped text */
            var details = div.querySelector("details");
            if (details && foldBelow && map.getSize().x < foldBelow) details.open = false;
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
          };
          var Layer = L.Layer.extend({
            onAdd: function (map) { legend.addTo(map); },
            onRemove: function () { legend.remove(); },
            getBounds: function () { return L.latLngBounds([]); }  /* no extent of its own */
          });
          return new Layer();
        })({{ this.legend_json }}, {{ this.fold_below }});
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, legend: str, *, fold_below: int = 0) -> None:
        super().__init__()
        self._name = "LegendLayer"
        self.legend_json = script_json(legend)
        self.fold_below = int(fold_below)


class PerimeterFocus(MacroElement):
    """The perimeter chosen in the filters, outlined; the map zooms to it when the choice changes
    (and only then: the person's own panning is not undone by every filter change)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        rxFocus({{ this._parent._parent.get_name() }}, {{ this.focus_key }}, {{ this.focus_json }},
                {color: "#111", weight: 3.5, dashArray: "8 5", fill: false});
        {% endmacro %}
        """
    )

    def __init__(self, focus: tuple[str, dict] | None) -> None:
        super().__init__()
        self._name = "PerimeterFocus"
        self.focus_key = script_json(focus[0] if focus else None)
        self.focus_json = script_json(focus[1] if focus else None)


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
        self.text_json = script_json(html.escape(attribution_text(specs)))


def _drawing_order(specs: list[LayerSpec], layers: Mapping[str, gpd.GeoDataFrame]) -> list[LayerSpec]:
    """Large territories first, the most specific perimeters (QPV) on top, points last."""
    def is_points(spec: LayerSpec) -> bool:
        return bool(len(layers[spec.id])) and (layers[spec.id].geom_type == "Point").all()

    rank = {s.id: i for i, s in enumerate(specs)}
    return sorted(specs, key=lambda s: (is_points(s), -rank[s.id]))


def display_geojson(frame: gpd.GeoDataFrame) -> dict:
    """A layer as the map draws it: GeoJSON with only ``code`` and ``nom``, escaped.

    Converting a layer is the slow part of drawing it (0.4 s for the 2,644 communes): the app
    computes this once per layer (``Territory.geojson``), not on every rerun.
    """
    data = frame[["code", "nom", "geometry"]].copy()
    data["nom"] = data["nom"].map(html.escape)
    data["code"] = data["code"].map(html.escape)
    return data.__geo_interface__


def perimeter_layer(frame: gpd.GeoDataFrame, spec: LayerSpec, data: dict | None = None) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name=spec.label, show=True)
    data = data if data is not None else display_geojson(frame)
    if len(frame) and (frame.geometry.geom_type == "Point").all():
        folium.GeoJson(
            data,
            marker=folium.CircleMarker(radius=4, color=spec.color, fill=True, fill_opacity=0.8, weight=1),
            tooltip=folium.GeoJsonTooltip(fields=["nom", "code"], aliases=["Nom", "Code"]),
            name=spec.label,
        ).add_to(group)
        return group
    style = {
        "color": spec.color,
        "weight": 2 if not spec.dash else 2.5,
        "dashArray": "6 4" if spec.dash else None,
        "fillColor": spec.color,
        "fillOpacity": 0.12 if spec.id.startswith("qpv") else 0.04,
    }
    folium.GeoJson(
        data,
        style_function=lambda _feature, style=style: style,
        highlight_function=lambda _feature: {"weight": 4, "fillOpacity": 0.25},
        tooltip=folium.GeoJsonTooltip(fields=["nom", "code"], aliases=[spec.label, "Code"]),
        name=spec.label,
        smooth_factor=1.0,
    ).add_to(group)
    return group


def _fiches(actors: gpd.GeoDataFrame, referential: Referential) -> list[list[str]]:
    columns: dict[str, list[str]] = {}
    for column, _, _ in FICHE_FIELDS:
        if column == "adresse_complete":
            columns[column] = [
                ", ".join(p for p in (a, " ".join(x for x in (cp, c) if x)) if p)
                for a, cp, c in zip(_col(actors, "adresse"), _col(actors, "code_postal"), _col(actors, "commune"), strict=True)
            ]
        elif column == "position":
            columns[column] = ["Position approximative : centre de la commune" if v == "commune" else ""
                               for v in _col(actors, "geocodage_source")]
        elif column == "fictif":
            columns[column] = ["Fiche fictive (données de démonstration)" if v is True else ""
                               for v in _col(actors, "fictif", default=False)]
        elif column in _REFERENTIAL_FIELDS:
            labels = referential.labels(_REFERENTIAL_FIELDS[column])
            joined: dict = {}  # the same combinations come back again and again

            def label_of(value, labels=labels, joined=joined) -> str:
                if value not in joined:
                    codes = value if isinstance(value, tuple | list) else [value]
                    joined[value] = ", ".join(labels.get(c, c) for c in codes if c)
                return joined[value]

            columns[column] = [label_of(v) for v in _col(actors, column)]
        else:
            columns[column] = [
                ", ".join(v) if isinstance(v, tuple | list) else ("" if v is None or v != v else str(v))
                for v in _col(actors, column)
            ]
    return [list(row) for row in zip(*columns.values(), strict=True)] if len(actors) else []


def _col(frame: pd.DataFrame, column: str, default="") -> list:
    return frame[column].tolist() if column in frame else [default] * len(frame)


def script_json(value) -> str:
    """JSON safe inside a <script> element: no « </script> », no HTML comment openers."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def asset_text(name: str) -> str:
    return resources.files("reseaux").joinpath(name).read_text(encoding="utf-8")


def simple_map(center: Sequence[float], zoom: float, *, basemap: str = "osmfr", **options) -> folium.Map:
    """A map with one base map and the project's styles, for the single-purpose maps
    (position picker, search, coverage). Callers finish with :func:`use_local_assets`."""
    fmap = folium.Map(location=list(center), zoom_start=zoom, tiles=None, control_scale=False, **options)
    FrenchControls().add_to(fmap)
    tiles = BASEMAPS.get(basemap)
    if tiles is not None:
        folium.TileLayer(tiles.url, attr=tiles.attribution, name=tiles.label, max_zoom=19).add_to(fmap)
    fmap.get_root().header.add_child(Element(f"<style>{asset_text('map.css')}</style>"), name="rx_css")
    return fmap


def bounds_center(bounds: Sequence[float]) -> list[float]:
    """[lat, lon] of the middle of (min lon, min lat, max lon, max lat)."""
    minx, miny, maxx, maxy = bounds
    return [(miny + maxy) / 2, (minx + maxx) / 2]


def position_picker(lat: float, lon: float, bounds: tuple[float, float, float, float]) -> folium.Map:
    """A small map to move one fiche: centred on its position (a marker) or on the home territory."""
    placed = lat == lat and lon == lon and lat is not None and lon is not None
    fmap = simple_map([lat, lon] if placed else bounds_center(bounds),
                      16 if placed else zoom_for_bounds(bounds, 600, 320))
    if placed:
        folium.CircleMarker([lat, lon], radius=8, color="#7B2D8E", fill=True, fill_opacity=0.8,
                            tooltip="Position actuelle").add_to(fmap)
    use_local_assets(fmap)
    return fmap


def zoom_for_bounds(bounds: Sequence[float], width_px: int = 820, height_px: int = 520) -> float:
    """The Web-Mercator zoom (by quarters) at which ``bounds`` (lon/lat) fit in the map's box.

    Computed here rather than left to ``fitBounds``, which the embedded map does not always
    apply before its first paint.
    """
    import math

    minx, miny, maxx, maxy = bounds

    def mercator_y(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    span_x = max(maxx - minx, 1e-6) / 360
    span_y = max(mercator_y(maxy) - mercator_y(miny), 1e-6) / (2 * math.pi)
    zoom = min(math.log2(width_px / 256 / span_x), math.log2(height_px / 256 / span_y))
    return max(1.0, min(18.0, math.floor(zoom * 4) / 4))


# --- for a map that swaps its perimeters without being rebuilt (the presentation stage) -------


def perimeter_groups(layers: Mapping[str, gpd.GeoDataFrame], specs: Sequence[LayerSpec], view: MapView,
                     geojson: Mapping[str, dict] | None = None) -> list[folium.FeatureGroup]:
    """The perimeter layers ``view`` shows, in drawing order, one feature group each."""
    by_id = {s.id: s for s in specs}
    chosen = [by_id[i] for i in view.layers if i in by_id and i in layers]
    return [perimeter_layer(layers[s.id], s, (geojson or {}).get(s.id)) for s in _drawing_order(chosen, layers)]


def attribution_text(specs: Sequence[LayerSpec]) -> str:
    """The sources of the perimeter layers ``specs``, as the map's attribution says them."""
    sources = sorted({s.source.split(" (via")[0].split(",")[0] for s in specs if not s.example})
    text = "Périmètres : " + " ; ".join(sources) if sources else ""
    if any(s.example for s in specs):
        text += " ; périmètres « exemple » non officiels"
    return text
