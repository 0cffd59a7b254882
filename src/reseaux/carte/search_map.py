"""The « Trouver un partenaire » map: the starting point, the radius and the numbered results.

Results are few (at most 50), each a marker with its number, as in the list. Close partners
would pile up, so overlapping markers merge into one pill that lists their numbers (« 2 · 5 »)
and fans out (spiderfy) on click, without changing the zoom; a marker's click opens its
popup (number, name, role, distance, links). Popups are HTML built here from escaped text and
handed to the script as JSON, never as markup in the page: a name with HTML shows as text.
"""

from __future__ import annotations

from collections.abc import Sequence

import folium
import geopandas as gpd
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template

from reseaux.analyse.proximity import Partner
from reseaux.carte.assets import CLUSTER_CSS, CLUSTER_JS, local, use_local_assets
from reseaux.carte.mapbits import bounds_center, script_json, simple_map, zoom_for_bounds
from reseaux.carte.perimeters import perimeter_layer
from reseaux.markup import Markup, render, text
from reseaux.territoire.layers import LayerSpec

ORIGIN_COLOR = "#D55E00"
RADIUS_COLOR = "#7B2D8E"
#: Markers closer than this many pixels merge into one numbered pill.
MERGE_PX = 28
_CSS = """
.rx-num-icon { background: none; border: 0; }
.rx-num-icon .rx-num { cursor: pointer; }
.rx-num.rx-num-group { width: auto; padding: 0 8px; border-radius: 13px; white-space: nowrap; }
.rx-popup { font: 13px/1.45 system-ui, sans-serif; max-width: 280px; }
.rx-popup-title { font-weight: 700; font-size: 15px; color: #3b1046; margin-bottom: 2px; }
.rx-popup-row { margin: 2px 0; }
.rx-popup-note { color: #664d03; background: #fff3cd; padding: 1px 6px; border-radius: 4px; font-size: 12px; }
.rx-popup a { color: #5a1f69; }
"""


class NumberedMarkers(JSCSSMixin, MacroElement):
    """The numbered results in a marker cluster that lists its numbers and spiderfies."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function (map, partners) {
          function icon(text, width) {
            return L.divIcon({html: '<div class="rx-num' + (width > 26 ? ' rx-num-group' : '') + '">' + text + '</div>',
                              className: "rx-num-icon", iconSize: [width, 26], iconAnchor: [width / 2, 13]});
          }
          var group = L.markerClusterGroup({
            maxClusterRadius: {{ this.merge_px }}, showCoverageOnHover: false, zoomToBoundsOnClick: false,
            spiderfyOnMaxZoom: true, spiderfyDistanceMultiplier: 1.8,
            iconCreateFunction: function (cluster) {
              var numbers = cluster.getAllChildMarkers().map(function (m) { return m.options.rxNumber; })
                .sort(function (a, b) { return a - b; });
              var text = numbers.length <= 3 ? numbers.join(" · ")
                : numbers.slice(0, 2).join(" · ") + " +" + (numbers.length - 2);
              return icon(text, Math.max(34, 12 + 8 * text.length));
            }
          });
          group.on("clusterclick", function (e) { e.layer.spiderfy(); });
          partners.forEach(function (p) {
            var marker = L.marker([p.lat, p.lon], {rxNumber: p.n, icon: icon(String(p.n), 26),
                                                   riseOnHover: true});
            marker.bindTooltip(p.tooltip, {direction: "top", offset: [0, -12]});
            marker.bindPopup(p.popup, {maxWidth: 300});
            group.addLayer(marker);
          });
          group.addTo(map);
          return group;
        })({{ this._parent.get_name() }}, {{ this.partners_json }});
        {% endmacro %}
        """
    )
    default_js = CLUSTER_JS
    default_css = CLUSTER_CSS

    def __init__(self, results: Sequence[Partner]) -> None:
        super().__init__()
        self._name = "NumberedMarkers"
        self.default_js = local(CLUSTER_JS)
        self.default_css = local(CLUSTER_CSS)
        self.merge_px = MERGE_PX
        self.partners_json = script_json(
            [
                {
                    "n": p.number,
                    "lat": p.latitude,
                    "lon": p.longitude,
                    "tooltip": text(f"{p.number}. {p.name}"),
                    "popup": popup_html(p),
                }
                for p in results
            ]
        )


def build_search_map(
    bounds: tuple[float, float, float, float],
    origin: tuple[float, float] | None,
    radius_km: float,
    results: Sequence[Partner] = (),
    context: Sequence[tuple[LayerSpec, gpd.GeoDataFrame, dict | None]] = (),
) -> folium.Map:
    """The starting point, the radius and the numbered ``results`` over the ``context`` layers.

    ``bounds`` (lon/lat) frame the map when there is no point yet; ``context`` are perimeter
    layers drawn beneath (spec, layer, its display GeoJSON), so the point reads against its
    communes and QPV even before the tiles arrive (or without them, offline).
    """
    points = [[p.latitude, p.longitude] for p in results] + ([list(origin)] if origin else [])
    if len(points) > 1:
        lats, lons = [p[0] for p in points], [p[1] for p in points]
        framed = (min(lons), min(lats), max(lons), max(lats))
        fmap = simple_map(bounds_center(framed), min(16.0, zoom_for_bounds(framed, 560, 440)))
    elif origin:
        fmap = simple_map(list(origin), 13)
    else:
        fmap = simple_map(bounds_center(bounds), zoom_for_bounds(bounds))
    fmap.get_root().header.add_child(Element(f"<style>{_CSS}</style>"), name="rx_search_css")
    for spec, frame, data in context:
        perimeter_layer(frame, spec, data).add_to(fmap)
    if origin:
        folium.Circle(
            origin,
            radius=radius_km * 1000,
            color=RADIUS_COLOR,
            weight=2,
            fill=True,
            fill_opacity=0.05,
            interactive=False,
        ).add_to(fmap)
        folium.CircleMarker(
            origin,
            radius=9,
            color="#fff",
            weight=3,
            fill=True,
            fill_color=ORIGIN_COLOR,
            fill_opacity=1,
            tooltip="Point de départ",
        ).add_to(fmap)
    if results:
        fmap.add_child(NumberedMarkers(results))
    if len(points) > 1:
        fmap.fit_bounds(points, padding=(30, 30))
    use_local_assets(fmap)
    return fmap


_POPUP = """\
<div class="rx-popup"><div class="rx-popup-title">{{ p.number }}. {{ p.name }}</div>\
<div class="rx-popup-row">{{ p.role }} · <b>{{ p.distance }}</b></div>
{%- for value in (p.structure, p.address) if value %}<div class="rx-popup-row">{{ value }}</div>{% endfor %}
{%- if p.approximate %}<div class="rx-popup-row"><span class="rx-popup-note">\
Position approximative : centre de la commune</span></div>{% endif %}
<div class="rx-popup-row">
{%- for url, label, new_tab in links %}{% if not loop.first %} · {% endif %}<a href="{{ url }}"
{%- if new_tab %} target="_blank" rel="noopener noreferrer"{% endif %}>{{ label }}</a>{% endfor %}</div></div>"""


def popup_html(partner: Partner) -> Markup:
    """The popup of one result: number, name, role, distance, where, and what to click.

    The map lives in an iframe: every link but the phone's opens in a new tab to leave it."""
    links = [(url, f"Itinéraire ({name})", True) for name, url in partner.directions.items()]
    if partner.phone_uri:
        links.insert(0, (partner.phone_uri, f"Appeler le {partner.phone}", False))
    if partner.website:
        links.append((partner.website, "Site web", True))
    return render(_POPUP, p=partner, links=links)
