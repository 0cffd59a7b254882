"""What every map of the app is made of: base maps (tiles), French controls, the project's styles,
the map's JavaScript module, a map's opening view, and JSON safe inside a script.

The single-purpose maps (position picker, search, coverage) and the main map all start here.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import folium
from branca.element import Element, MacroElement
from jinja2 import Template

from reseaux.carte.assets import use_local_assets


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


class FrenchControls(MacroElement):
    """Every map: zoom buttons titled in French, a metric-only scale (Leaflet's are English, in
    miles), and its shapes out of the Tab order."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
          if (map.zoomControl) {
            [[map.zoomControl._zoomInButton, "Zoom avant"], [map.zoomControl._zoomOutButton, "Zoom arrière"]]
              .forEach(function (b) { b[0].title = b[1]; b[0].setAttribute("aria-label", b[1]); });
          }
          L.control.scale({imperial: false}).addTo(map);
          /* A shape with a tooltip (a perimeter) is no Tab stop. Leaflet listens to its focus to
           * show the tooltip, and Chromium makes any SVG shape with a focus listener a Tab stop:
           * 92 nameless stops before the controls. Its name is in the legend and the
           * « Dans le périmètre » filter; the mouse still shows it. Shapes drawn later too. */
          function quiet(layer) { if (layer._path) layer._path.setAttribute("tabindex", "-1"); }
          map.eachLayer(quiet);
          map.on("layeradd", function (event) { quiet(event.layer); });
          /* On a narrow map the sources (bottom right) wrap across its width and ran over the
           * scale (bottom left): the left corner is raised above them, again each time their box
           * changes (a layer adds its source, the phone turns). « rx:bottom » tells the export's
           * text alternative, which sits above that corner. */
          var corner = map.getContainer().querySelector(".leaflet-bottom.leaflet-left");
          var sources = map.attributionControl && map.attributionControl.getContainer();
          function clearBottom() {
            var box = map.getContainer().getBoundingClientRect(), over = sources.getBoundingClientRect();
            var shared = over.width > 0 && over.left < box.left + box.width / 2;
            corner.style.bottom = shared ? Math.ceil(box.bottom - over.top) + "px" : "";
            map.fire("rx:bottom");
          }
          if (corner && sources) {
            clearBottom();
            if (window.ResizeObserver) {
              var watch = new ResizeObserver(clearBottom);
              watch.observe(sources);
              watch.observe(map.getContainer());
            }
          }
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "FrenchControls"


#: folium's map page forbids zooming (« maximum-scale=1.0, user-scalable=no »): on a phone, a person
#: could not enlarge the map, its legend or a fiche (WCAG 1.4.4, axe-core's « meta-viewport »).
_ZOOM_LOCK = re.compile(r",\s*maximum-scale=1\.0,\s*user-scalable=no")


class ZoomableMap(folium.Map):
    """``folium.Map`` whose page lets a person zoom: every map of the app, live or exported, is one."""

    def render(self, **kwargs) -> None:
        super().render(**kwargs)
        header = self.get_root().header
        own = header._children.get(self.get_name())  # the head folium wrote for this map (its meta viewport)
        if own is not None and own._template_str:
            header.add_child(Element(_ZOOM_LOCK.sub("", own._template_str)), name=self.get_name())


def simple_map(center: Sequence[float], zoom: float, *, basemap: str = "osmfr", **options) -> folium.Map:
    """A map with one base map and the project's styles, for the single-purpose maps
    (position picker, search, coverage). Callers finish with :func:`use_local_assets`."""
    fmap = ZoomableMap(location=list(center), zoom_start=zoom, tiles=None, control_scale=False, **options)
    FrenchControls().add_to(fmap)
    tiles = BASEMAPS.get(basemap)
    if tiles is not None:
        folium.TileLayer(tiles.url, attr=tiles.attribution, name=tiles.label, max_zoom=19).add_to(fmap)
    fmap.get_root().header.add_child(Element(f"<style>{asset_text('map.css')}</style>"), name="rx_css")
    return fmap


def position_picker(lat: float, lon: float, bounds: tuple[float, float, float, float]) -> folium.Map:
    """A small map to move one fiche: centred on its position (a marker) or on the home territory."""
    placed = lat == lat and lon == lon and lat is not None and lon is not None
    fmap = simple_map(
        [lat, lon] if placed else bounds_center(bounds), 16 if placed else zoom_for_bounds(bounds, 600, 320)
    )
    if placed:
        folium.CircleMarker(
            [lat, lon], radius=8, color="#7B2D8E", fill=True, fill_opacity=0.8, tooltip="Position actuelle"
        ).add_to(fmap)
    use_local_assets(fmap)
    return fmap


def bounds_center(bounds: Sequence[float]) -> list[float]:
    """[lat, lon] of the middle of (min lon, min lat, max lon, max lat)."""
    minx, miny, maxx, maxy = bounds
    return [(miny + maxy) / 2, (minx + maxx) / 2]


def zoom_for_bounds(bounds: Sequence[float], width_px: int = 820, height_px: int = 520) -> float:
    """The Web-Mercator zoom (by quarters) at which ``bounds`` (lon/lat) fit in the map's box.

    Computed here rather than left to ``fitBounds``, which the embedded map does not always
    apply before its first paint.
    """
    minx, miny, maxx, maxy = bounds

    def mercator_y(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    span_x = max(maxx - minx, 1e-6) / 360
    span_y = max(mercator_y(maxy) - mercator_y(miny), 1e-6) / (2 * math.pi)
    zoom = min(math.log2(width_px / 256 / span_x), math.log2(height_px / 256 / span_y))
    return max(1.0, min(18.0, math.floor(zoom * 4) / 4))


def script_json(value) -> str:
    """JSON safe inside a <script> element: no « </script> », no HTML comment openers."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def asset_text(name: str) -> str:
    return resources.files("reseaux.carte").joinpath(name).read_text(encoding="utf-8")


#: How the map's modules import each other: ``import {a, b} from "./name.js";``, alone on its lines.
_IMPORT = re.compile(r'^import\s*\{[^}]*\}\s*from\s*"\./([a-z_]+\.js)";[ \t]*\n', re.MULTILINE)
#: The map's JavaScript: map.js and the modules it imports (see map.js).
MAP_MODULE = "map.js"
#: The id of the module's script element in a map's page.
MAP_MODULE_ID = "rx-map-module"


@lru_cache(maxsize=1)
def map_module() -> str:
    """The map's ES modules as one module's text: each file once, after those it imports, without
    its ``import`` lines (the names they bring are then those of the same module).

    A map's frame runs folium's code from one inline script, and a standalone export is read from
    a file, where a module cannot import another file: the page gets the modules joined. Their
    top-level names are distinct (a clash would be a syntax error, which the map's browser tests
    see). Raises ``ValueError`` for an import of another form (it would be left in the text).
    """
    joined: list[str] = []
    done: set[str] = set()

    def add(name: str) -> None:
        if name in done:
            return
        done.add(name)
        source = asset_text(name)
        for imported in _IMPORT.findall(source):
            add(imported)
        own = _IMPORT.sub("", source)
        if re.search(r"^\s*import\b", own, re.MULTILINE):
            raise ValueError(f'{name} : seul « import {{…}} from "./fichier.js"; » est joint au module de la carte')
        joined.append(f"/* {name} */\n{own}")

    add(MAP_MODULE)
    return "\n".join(joined)


class MapModule(MacroElement):
    """The map's module (:func:`map_module`) put in the page once, as ``<script type="module">``:
    folium's code reaches it through ``window.reseaux`` (see map.js). Added by the maps whose
    elements use it (:func:`add_map_module`)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (code) {
          if (document.getElementById("{{ this.element_id }}")) return;
          var module = document.createElement("script");
          module.type = "module";
          module.id = "{{ this.element_id }}";
          module.textContent = code;
          document.head.appendChild(module);
        })({{ this.code_json }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "MapModule"
        self.element_id = MAP_MODULE_ID
        self.code_json = script_json(map_module())


def add_map_module(fmap: folium.Map) -> None:
    """Give ``fmap`` the map's module (once, whatever the number of calls)."""
    fmap.add_child(MapModule(), name="rx_map_module")
