"""The presentation stage's map: one map for every scene, whose layers change with the scene.

A webinar moves from scene to scene with ← →. Rebuilding the map each time (a new frame,
Leaflet loaded and evaluated again) made each step take seconds and flash a grey box. So the
stage keeps one base map that does not depend on the scene — no tiles, no perimeters, no
legend, only the fiches and the controls — and each scene brings its layers: the background
tiles, its perimeters, a « decor » layer (legend, attribution, the scene's view) and its
actors. streamlit-folium swaps those layers in the same Leaflet map (``feature_group_to_add``).

Builders return folium objects; tests inspect them and their HTML without a browser.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import folium
import geopandas as gpd
import pandas as pd
from branca.element import Element, MacroElement
from jinja2 import Template

from reseaux.annuaire.referential import Referential
from reseaux.carte.actor_layer import FicheStore, build_actor_layer
from reseaux.carte.assets import use_local_assets
from reseaux.carte.legend import LegendLayer, legend_html
from reseaux.carte.mapbits import (
    BASEMAPS,
    FrenchControls,
    ZoomableMap,
    add_map_module,
    asset_text,
    bounds_center,
    script_json,
    zoom_for_bounds,
)
from reseaux.carte.mapview import MapView
from reseaux.carte.perimeters import attribution_text, perimeter_groups
from reseaux.markup import text
from reseaux.territoire.layers import LayerSpec

#: Inside the map's frame: the map fills the frame, whatever height the page gives it.
#: The legend reads from the back of a room and is shown whole on a laptop (smaller on a phone).
FRAME_CSS = """html, body { margin:0; padding:0; overflow:hidden; } #map_div { height:100vh !important; }
.rx-legend { font-size: clamp(12px, .95vw, 17px); max-height: calc(100vh - 48px); }
.rx-legend h4 { font-size: 1.1em; }
@media (max-width: 600px) { .rx-legend { font-size: 10px; max-height: 38vh; min-width: 0; }
  .leaflet-control-attribution { font-size: 9px; } }"""
#: Keys the stage answers to, forwarded from the map's frame to the page (a presenter who
#: clicked on the map still moves with ← →; Échap leaves full screen).
STAGE_KEYS = ("ArrowLeft", "ArrowRight", "PageUp", "PageDown", "Escape")


class _KeyRelay(MacroElement):
    """Forward ← → and Échap pressed inside the map's frame to the page and its buttons.

    The frame has its own (opaque) origin and cannot touch the page: it posts the key's name,
    and the page's :data:`KEY_LISTENER` — which accepts it only from a frame of its own and only
    for :data:`STAGE_KEYS` — presses it there."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        ["keydown", "keyup"].forEach(function (type) {  // both: the page tracks which keys are held
          document.addEventListener(type, function (event) {
            if ({{ this.keys_json }}.indexOf(event.key) < 0) return;
            window.parent.postMessage({rxStageKey: {type: type, key: event.key, code: event.code}}, "*");
          });
        });
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self.keys_json = script_json(list(STAGE_KEYS))


#: The page's half of :class:`_KeyRelay` (drawn once by the stage page).
KEY_LISTENER = """<script>
if (!window.rxStageKeys) {
  window.rxStageKeys = true;
  window.addEventListener("message", function (event) {
    var data = event.data && event.data.rxStageKey;
    if (!data || %s.indexOf(data.key) < 0 || ["keydown", "keyup"].indexOf(data.type) < 0) return;
    // A key pressed comes from a frame of this page; its release may come once that frame is
    // gone (Échap left the stage): the page must still hear it, or it thinks the key held.
    var ours = Array.prototype.some.call(document.querySelectorAll("iframe"), function (f) {
      return f.contentWindow === event.source; });
    if (!ours && data.type === "keydown") return;
    document.dispatchEvent(new KeyboardEvent(data.type, {key: data.key, code: data.code, bubbles: true, cancelable: true}));
  });
  // Page down and up (a presenter's remote sends them) are → and ←, the buttons' shortcuts.
  // Caught first (window, capture) and kept from Streamlit: its shortcuts count the keys held,
  // and « Page down + → » is no shortcut.
  ["keydown", "keyup"].forEach(function (type) {
    window.addEventListener(type, function (event) {
      var arrow = {PageDown: "ArrowRight", PageUp: "ArrowLeft"}[event.key];
      if (!arrow) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      document.dispatchEvent(new KeyboardEvent(type, {key: arrow, code: arrow, bubbles: true, cancelable: true}));
    }, true);
  });
}
</script>""" % script_json(list(STAGE_KEYS))


class SceneDecor(MacroElement):
    """The scene's attribution and view, as one layer of the map (its legend is a
    :class:`reseaux.carte.legend.LegendLayer` in the same group).

    Added with the scene, removed with it: the attribution text goes with the layer. ``center``/``zoom`` give the scene's saved view; without them the map
    fits ``bounds`` (min lon, min lat, max lon, max lat), again when the frame is resized
    (a presenter who switches the browser to full screen).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
          var attribution = {{ this.attribution_json }};
          var view = {{ this.view_json }};
          function show(map) {
            if (view.center) { map.setView(view.center, view.zoom, {animate: false}); }
            else { map.fitBounds(view.bounds, {padding: [12, 12], animate: false}); }
          }
          function refit() { if (!view.center && this._map) show(this._map); }
          var Decor = L.Layer.extend({
            onAdd: function (map) {
              if (attribution && map.attributionControl) map.attributionControl.addAttribution(attribution);
              map.on("resize", refit, this);
              show(map);
            },
            onRemove: function (map) {
              if (attribution && map.attributionControl) map.attributionControl.removeAttribution(attribution);
              map.off("resize", refit, this);
            }
          });
          return new Decor();
        })();
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        attribution: str,
        *,
        bounds: Sequence[float],
        center: Sequence[float] | None = None,
        zoom: float | None = None,
    ) -> None:
        super().__init__()
        self._name = "SceneDecor"
        minx, miny, maxx, maxy = bounds
        self.attribution_json = script_json(text(attribution))
        view = {"bounds": [[miny, minx], [maxy, maxx]]}
        if center and zoom:
            view.update(center=list(center), zoom=zoom)
        self.view_json = script_json(view)


def stage_base_map(bounds: tuple[float, float, float, float], fiches: FicheStore | None) -> folium.Map:
    """The part of the stage's map that no scene changes: controls, styles, the fiches.

    ``bounds`` (min lon, min lat, max lon, max lat) is where the map opens before the first
    scene's layers arrive; ``fiches`` is where the popups find the fiches of the actors the viewer may
    see (:class:`reseaux.carte.actor_layer.FicheStore`, the same for every scene).
    """
    fmap = ZoomableMap(
        location=bounds_center(bounds),
        zoom_start=zoom_for_bounds(bounds),
        tiles=None,
        zoom_control=False,
        control_scale=False,
        keyboard=False,
        zoom_snap=0.25,
        zoom_delta=0.5,
        height="100%",
    )
    fmap.get_root().header.add_child(Element(f"<style>{asset_text('map.css')}{FRAME_CSS}</style>"), name="rx_css")
    FrenchControls().add_to(fmap)  # no zoom buttons on a presenter's screen: only the metric scale
    _KeyRelay().add_to(fmap)
    add_map_module(fmap)  # the fiches and each scene's actors' layer
    if fiches is not None:
        fiches.add_to(fmap)
    use_local_assets(fmap)
    return fmap


def scene_groups(
    actors: pd.DataFrame,
    view: MapView,
    referential: Referential,
    layers: Mapping[str, gpd.GeoDataFrame],
    specs: Sequence[LayerSpec],
    bounds: tuple[float, float, float, float],
    *,
    legend_codes: Sequence[str] = (),
    center: Sequence[float] | None = None,
    zoom: float | None = None,
    geojson: Mapping[str, dict] | None = None,
    **drawn,
) -> list[folium.FeatureGroup]:
    """Everything one scene adds to :func:`stage_base_map`, as feature groups, bottom to top:
    background tiles, perimeters, decor (legend, attribution, view), actors.

    ``actors`` are the scene's actors, indexed by their rows in the frame the base map's
    fiches were built from; ``legend_codes`` the colour-by codes present in that frame; ``drawn``
    what :func:`~reseaux.carte.actor_layer.build_actor_layer` is told of them beside (``colors``,
    ``highlight``, ``served``, ``directory_placed``: the app's stage, served as the Carte is).
    """
    groups = []
    basemap = BASEMAPS.get(view.basemap)
    if basemap is not None:
        tiles = folium.FeatureGroup(name="Fond de carte")
        folium.TileLayer(basemap.url, attr=basemap.attribution, name=basemap.label, max_zoom=19).add_to(tiles)
        groups.append(tiles)
    groups += perimeter_groups(layers, specs, view.layers, geojson)
    shown = [s for s in specs if s.id in view.layers]
    decor = folium.FeatureGroup(name="Légende")
    LegendLayer(legend_html(referential, view.color_by, legend_codes, shown)).add_to(decor)
    SceneDecor(attribution_text(shown), bounds=bounds, center=center, zoom=zoom).add_to(decor)
    groups.append(decor)
    groups.append(build_actor_layer(actors, referential, view.color_by, name="Acteurs", **drawn))
    return groups
