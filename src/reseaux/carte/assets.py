"""Leaflet and its plugins, served locally so the map renders without internet access.

The files come from the npm registry (``package.json``) and ``make setup`` copies them to
``static/vendor``, which Streamlit serves under ``/app/static/vendor``. Nothing here is
committed to the repository.
"""

from __future__ import annotations

from pathlib import Path

import branca.element
import folium

from reseaux.config import PROJECT_ROOT

VENDOR_DIR = PROJECT_ROOT / "static" / "vendor"
URL_PREFIX = "/app/static/vendor"

#: (name, path under static/vendor) of every script and stylesheet the map needs.
LEAFLET_JS = [("leaflet", "leaflet/leaflet.js")]
LEAFLET_CSS = [("leaflet_css", "leaflet/leaflet.css")]
#: The actors' layer: a spatial index drawing only what is in view (kdbush bundled).
SUPERCLUSTER_JS = [("supercluster", "supercluster/supercluster.min.js")]
#: The search map's few numbered results (spiderfied when they share a place).
CLUSTER_JS = [("markerclusterjs", "leaflet.markercluster/leaflet.markercluster.js")]
CLUSTER_CSS = [
    ("markerclustercss", "leaflet.markercluster/MarkerCluster.css"),
    ("markerclusterdefaultcss", "leaflet.markercluster/MarkerCluster.Default.css"),
]

FULLSCREEN_JS = [("fullscreen", "leaflet.fullscreen/Control.FullScreen.umd.js")]
FULLSCREEN_CSS = [("fullscreen_css", "leaflet.fullscreen/Control.FullScreen.css")]
LOCATE_JS = [("locatecontrol", "leaflet.locatecontrol/L.Control.Locate.umd.js")]
LOCATE_CSS = [("locatecontrol_css", "leaflet.locatecontrol/L.Control.Locate.min.css")]


#: Every script a map may need, in the order they need each other (Leaflet first), which
#: ``make vendor`` writes as one file (:data:`BUNDLE`, the Makefile's ``BUNDLED_JS``: the same
#: files in the same order). streamlit-folium loads a map's scripts one after another, each
#: waiting for the one before (five round trips for the map, one now); the plugins a map does not
#: use cost it a few milliseconds of parsing.
BUNDLED = LEAFLET_JS + CLUSTER_JS + SUPERCLUSTER_JS + FULLSCREEN_JS + LOCATE_JS
BUNDLE = ("reseaux_vendor", "reseaux.js")
_BUNDLED_PATHS = frozenset(path for _, path in BUNDLED)


class MissingAssetsError(RuntimeError):
    """Leaflet was not installed (run ``make setup``)."""


def local(entries: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Return ``entries`` as (name, local URL) pairs, checking the files are installed. A script
    of :data:`BUNDLED` is the bundle: every element that needs one names the same file, which
    folium writes once in the page."""
    entries = list(dict.fromkeys(BUNDLE if path in _BUNDLED_PATHS else (name, path) for name, path in entries))
    missing = [p for _, p in entries if not (VENDOR_DIR / p).exists()]
    if missing:
        raise MissingAssetsError(
            "Leaflet n'est pas installé localement (" + ", ".join(missing) + ") : lancez « make setup »."
        )
    return [(name, f"{URL_PREFIX}/{p}") for name, p in entries]


def use_local_assets(element: branca.element.Element) -> None:
    """Point every script and stylesheet of a folium map tree at the local copies.

    Folium defaults to CDNs and also loads jQuery, Bootstrap and Font Awesome, which this map
    does not use; they are dropped.
    """
    for child in _walk(element):
        if isinstance(child, folium.Map):
            child.default_js = local(LEAFLET_JS)  # the bundle
            child.default_css = local(LEAFLET_CSS)
        elif getattr(child, "default_js", None) and any("markercluster" in n for n, _ in child.default_js):
            child.default_js = local(CLUSTER_JS)
            child.default_css = local(CLUSTER_CSS)


def _walk(element: branca.element.Element):
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


def vendor_path(url: str) -> Path:
    """Return the file behind a local asset URL (for inlining in a standalone export)."""
    return VENDOR_DIR / url.removeprefix(URL_PREFIX + "/")
