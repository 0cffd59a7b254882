"""The main map: tiles, the perimeter layers chosen, legend, attribution and controls (the base),
with the actors' layer on top (:mod:`reseaux.carte.actor_layer`).

Builders return folium objects; tests inspect them and their HTML without a browser. The pieces
live in their own modules: :mod:`reseaux.carte.mapbits` (tiles, controls, view), :mod:`reseaux.carte.perimeters`,
:mod:`reseaux.carte.legend`, :mod:`reseaux.carte.actor_layer`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import folium
import geopandas as gpd
import pandas as pd
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template

from reseaux.annuaire.referential import Referential
from reseaux.carte.actor_layer import FicheStore, build_actor_layer, fiche_blob
from reseaux.carte.assets import FULLSCREEN_CSS, FULLSCREEN_JS, LOCATE_CSS, LOCATE_JS, local, use_local_assets
from reseaux.carte.legend import COLOR_BY, Legend, legend_codes, legend_html
from reseaux.carte.mapbits import (
    BASEMAPS,
    FrenchControls,
    ZoomableMap,
    add_map_module,
    asset_text,
    script_json,
    zoom_for_bounds,
)
from reseaux.carte.perimeters import _Attribution, perimeter_groups
from reseaux.territoire.layers import LayerSpec
from reseaux.territoire.metric import HeldZone

#: Longest query-string value read (a link longer than this is cut, not obeyed).
MAX_QUERY_TEXT = 4000


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
            asked = str(query["couches"])[:MAX_QUERY_TEXT].split(",")
            layers = tuple(dict.fromkeys(c for c in asked if c in known))  # each layer once, in order
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
    fiches: FicheStore | None = None,
    geojson: Mapping[str, dict] | None = None,
    controls: bool = False,
    places: Sequence[HeldZone] = (),
) -> folium.Map:
    """Build the static part of the map: tiles, chosen perimeter layers, legend, attribution.

    ``bounds`` is (min lon, min lat, max lon, max lat) of the home territory;
    ``legend_codes`` are the codes of the colour-by category present in the directory (None:
    no legend here — the actors' layer carries one that follows the filters, see
    :func:`build_actor_layer`); ``controls`` adds full screen, my position and the search box;
    ``fiches`` says where the popups and the search box find the fiches (:class:`FicheStore`:
    asked of the server on click in the app, carried by a standalone export); ``geojson`` maps layer ids to
    :func:`display_geojson` already computed; ``places``, the territories that hold actors
    (:meth:`reseaux.app_data.Territory.places`), offered in an « Aller à » list when the controls
    are drawn and there are two or more (mainland France and overseas).
    """
    minx, miny, maxx, maxy = bounds
    fmap = ZoomableMap(
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
            basemap.url,
            attr=basemap.attribution,
            name=basemap.label,
            show=(key == view.basemap),
            max_zoom=19,
        ).add_to(fmap)
    for group in perimeter_groups(layers, specs, view.layers, geojson):
        group.add_to(fmap)
    by_id = {s.id: s for s in specs}
    if not center:
        fmap.fit_bounds([[miny, minx], [maxy, maxx]], padding=(10, 10))
    shown = [by_id[i] for i in view.layers if i in by_id]
    fmap.get_root().header.add_child(Element(f"<style>{asset_text('map.css')}</style>"), name="rx_css")
    if legend_codes is not None:
        Legend(legend_html(referential, view.color_by, legend_codes, shown), fold_below=560).add_to(fmap)
    _Attribution(shown).add_to(fmap)
    FrenchControls().add_to(fmap)
    add_map_module(fmap)  # the controls, the fiches and the actors' layer (on it or added later)
    if controls:
        MapControls(
            search=fiches is not None, home=None if center else [[miny, minx], [maxy, maxx]], places=places
        ).add_to(fmap)
    if fiches is not None:
        fiches.add_to(fmap)
    use_local_assets(fmap)
    return fmap


def build_map(
    actors: pd.DataFrame,
    layers: Mapping[str, gpd.GeoDataFrame],
    specs: Sequence[LayerSpec],
    view: MapView,
    referential: Referential,
    bounds: tuple[float, float, float, float],
    *,
    highlight: Sequence[str] = (),
    center: Sequence[float] | None = None,
    zoom: float | None = None,
    places: Sequence[HeldZone] = (),
) -> folium.Map:
    """Return the whole map (base and actors) as one folium object, with its layer control, and
    the « Aller à » list of ``places`` when there are two or more (an export of a national
    selection opens on mainland France; its partners overseas are one choice away).

    Only the fiches of ``actors`` travel with it (an export holds what it shows, nothing more).
    """
    actors = actors.reset_index(drop=True)
    fmap = build_base_map(
        layers,
        specs,
        view,
        referential,
        bounds,
        legend_codes=legend_codes(actors, view.color_by),
        center=center,
        zoom=zoom,
        fiches=FicheStore(blob=fiche_blob(actors, referential)),
    )
    build_actor_layer(actors, referential, view.color_by, highlight=highlight).add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    if len(places) > 1:
        MapControls(search=False, places=places, only_places=True).add_to(fmap)
    return fmap


class MapControls(JSCSSMixin, MacroElement):
    """Zoom in French, full screen, « Me localiser », and a search box over the drawn actors."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (window.reseaux = window.reseaux || []).push(function (rx) {
          rx.mapControls({{ this._parent.get_name() }}, {{ this.options_json }});
        });
        {% endmacro %}
        """
    )

    def __init__(
        self,
        *,
        search: bool = True,
        home: list | None = None,
        places: Sequence[HeldZone] = (),
        only_places: bool = False,
    ) -> None:
        super().__init__()
        self._name = "MapControls"
        all_of_them = not only_places  # an export: its own zoom and layers, the « Aller à » list only
        self.default_js = local(FULLSCREEN_JS) + local(LOCATE_JS) if all_of_them else []
        self.default_css = local(FULLSCREEN_CSS) + local(LOCATE_CSS) if all_of_them else []
        # Names only, no count: the base map stays the same across a filter change, a count would not.
        goto = [{"name": p.name, "bounds": [[p.bounds[1], p.bounds[0]], [p.bounds[3], p.bounds[2]]]} for p in places]
        self.options_json = script_json(
            {
                "fullscreen": all_of_them,
                "locate": all_of_them,
                "search": search,
                "fillFrame": all_of_them,
                "homeBounds": home,
                "places": goto if len(goto) > 1 else [],
            }
        )
