"""The actors on a map: a spatial index drawn by one script (``actors_layer.js``) from a compact
payload — never one ``folium.Marker`` per actor — and the fiches, built on click.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable, Sequence
from typing import ClassVar

import folium
import numpy as np
import pandas as pd
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template

from reseaux import config
from reseaux.annuaire import columns
from reseaux.annuaire.listing import cell_text
from reseaux.annuaire.model import placed_mask
from reseaux.annuaire.referential import Referential
from reseaux.carte.assets import SUPERCLUSTER_JS, local, use_local_assets
from reseaux.carte.legend import COLOR_BY, OTHER_COLOR, LegendLayer
from reseaux.carte.mapbits import script_json
from reseaux.text import fr_number

#: How the browser links a fiche's value, by the column's kind (``text`` otherwise; ``badge``
#: for a column with a badge: a sentence without a label).
_FICHE_KINDS = {columns.PHONE: "tel", columns.EMAIL: "mail", columns.URL: "url"}
#: The columns the map's search box looks in: name, structure, address.
_SEARCHED = ("nom", "structure", "adresse")


#: Colours are sent as one byte an actor.
MAX_COLORS = 256


def build_actor_layer(
    actors: pd.DataFrame,
    referential: Referential,
    color_by: str = "type",
    *,
    highlight: Sequence[str] = (),
    name: str | None = None,
    legend: str | None = None,
    focus: tuple[str, dict] | None = None,
    served: ServedView | None = None,
    directory_placed: int | None = None,
    colors: np.ndarray | None = None,
) -> folium.FeatureGroup:
    """Return a feature group drawing ``actors`` (those with a position) in one cluster.

    The index labels of ``actors`` are their rows in the frame the base map's
    :func:`fiche_blob` was built from (a filtered directory keeps its index).
    ``highlight`` are codes of the colour-by category to prefer when an actor has several
    (the themes the user filtered on, say). ``legend`` is :func:`legend_html` for what is
    shown (it replaces the map's legend when the layer changes); ``focus`` is (key, GeoJSON) of
    a perimeter to outline, zoomed to when the key changes.

    ``served`` (the app's pages; None for an export) registers the actors with the server and
    gives the address the map asks its clusters of: beyond :func:`server_above` placed actors
    the page carries no position (:func:`served_payload`), below it the browser's own index draws
    them from the positions the page carries (:func:`actor_payload`). ``directory_placed`` is the
    count that threshold is held against: the placed actors of the directory the session sees,
    before its filters (default: those of ``actors``) — a directory that is served stays served
    whatever the filters keep, rather than sending in the page the positions of a filter that keeps
    fewer (86,921 positions, 2.84 s, for one filter of a served million). ``colors``: each actor's
    colour index when already known (a database's answer, ``stockage.readings.drawn``), else read
    from ``actors``' own column.
    """
    mask = placed_mask(actors)
    placed = actors[mask]
    painted = None if colors is None else np.asarray(colors, dtype="u1")[mask]
    group = folium.FeatureGroup(name=name or f"Acteurs ({fr_number(len(placed))})", show=True)
    payload = None
    seen = len(placed) if directory_placed is None else directory_placed
    if served is not None and seen > server_above():
        payload = served_payload(placed, referential, color_by, served, highlight=highlight, colors=painted)
    if payload is None:
        payload = actor_payload(
            placed, referential, color_by, highlight=highlight, rows=placed.index.tolist(), colors=painted
        )
    ActorCluster(payload).add_to(group)
    if legend is not None:
        LegendLayer(legend, fold_below=560).add_to(group)
    if legend is not None or focus is not None:
        PerimeterFocus(focus).add_to(group)  # also run without a focus: it clears the last one
    use_local_assets(group)
    return group


#: Registers a map view's placed actors with the server — (fiche rows, colour indexes): the server
#: knows where they stand — and answers the address of its clusters (None: the server cannot, the
#: page then carries the positions). See :meth:`reseaux.annuaire.fiche_service.FicheService.register_view`.
ServedView = Callable[[np.ndarray, np.ndarray], "str | None"]


def server_above() -> int:
    """Placed actors beyond which the map asks the server what is in view (``RESEAUX_MAP_SERVER_ABOVE``)."""
    try:
        return max(0, int(config.get("map_server_above")))
    except ValueError:
        return int(config.SETTINGS["map_server_above"].default)


def actor_payload(
    actors: pd.DataFrame,
    referential: Referential,
    color_by: str,
    *,
    highlight: Sequence[str] = (),
    rows: Sequence[int] | None = None,
    colors: np.ndarray | None = None,
) -> dict:
    """Return what the browser needs to draw ``actors``: ``{"n", "colors", "data"}``.

    ``data`` is gzip in base64 of four little-endian arrays of n values: latitude and longitude
    × 100,000 (Int32, about a metre), the fiche rows as differences from the previous one (Int32:
    small numbers that compress well), the index of the colour in ``colors`` (Uint8). About
    8 bytes an actor once compressed, where JSON took 30; :func:`decode_payload` reads it back.
    """
    palette, color_codes = _painted(actors, referential, color_by, highlight, colors)
    n = len(actors)
    row_numbers = np.arange(n, dtype="<i8") if rows is None else np.asarray(rows, dtype="<i8")
    if len(row_numbers) and (row_numbers.min() < 0 or row_numbers.max() > np.iinfo("<i4").max):
        raise ValueError("actor_payload: des lignes de fiche hors de l'intervalle d'un Int32")
    parts = [
        np.round(actors["latitude"].to_numpy(dtype=float) * 1e5).astype("<i4").tobytes(),
        np.round(actors["longitude"].to_numpy(dtype=float) * 1e5).astype("<i4").tobytes(),
        np.diff(row_numbers, prepend=np.int64(0)).astype("<i4").tobytes(),
        color_codes.tobytes(),
    ]
    data = base64.b64encode(gzip.compress(b"".join(parts), compresslevel=1, mtime=0)).decode("ascii")
    return {"n": n, "colors": palette, "data": data}


def served_payload(
    actors: pd.DataFrame,
    referential: Referential,
    color_by: str,
    served: ServedView,
    *,
    highlight: Sequence[str] = (),
    colors: np.ndarray | None = None,
) -> dict | None:
    """What the browser needs to draw ``actors`` (placed, labelled by fiche row) from the server:
    ``{"n", "colors", "url", "bounds"}`` — no position but the box around them all
    (``[[south, west], [north, east]]``); ``url`` asks the clusters of a viewport
    (:mod:`reseaux.carte.viewport_index`). None when ``served`` cannot register them."""
    palette, color_codes = _painted(actors, referential, color_by, highlight, colors)
    url = served(actors.index.to_numpy(dtype="i8"), color_codes)
    if url is None:
        return None
    bounds = None
    if len(actors):
        lat, lon = actors["latitude"].to_numpy(dtype=float), actors["longitude"].to_numpy(dtype=float)
        bounds = [[float(lat.min()), float(lon.min())], [float(lat.max()), float(lon.max())]]
    return {"n": len(actors), "colors": palette, "url": url, "bounds": bounds}


def _painted(
    actors: pd.DataFrame, referential: Referential, color_by: str, highlight: Sequence[str], colors: np.ndarray | None
) -> tuple[list[str], np.ndarray]:
    """:func:`_colors`, or the palette and ``colors`` when they are known."""
    if colors is None:
        return _colors(actors, referential, color_by, highlight)
    if len(colors) != len(actors):
        raise ValueError("des couleurs pour d'autres acteurs")
    return _palette(referential, color_by), np.asarray(colors, dtype="u1")


def _colors(
    actors: pd.DataFrame, referential: Referential, color_by: str, highlight: Sequence[str]
) -> tuple[list[str], np.ndarray]:
    """The palette of the colour-by category and each actor's place in it (Uint8; the last: other)."""
    column = COLOR_BY[color_by][0]
    codes_in_order = palette_of(referential, color_by)
    palette = _palette(referential, color_by)
    position = {c: i for i, c in enumerate(codes_in_order)}
    other = len(palette) - 1
    preferred = [c for c in highlight if c in position]
    known: dict = {}

    def color_index(value) -> int:
        value = tuple(value) if isinstance(value, list) else value
        if value not in known:  # the same values come back again and again
            if isinstance(value, tuple):
                chosen = next((c for c in preferred if c in value), value[0] if value else None)
                known[value] = position.get(chosen, other)
            else:
                known[value] = position.get(value, other)
        return known[value]

    values = actors[column]
    try:  # each distinct value once (0.1 s at 1,000,000 actors, where one by one took 1.5 s)
        found, distinct = pd.factorize(values, use_na_sentinel=False)
    except TypeError:  # lists in the column (a frame not read by the loader): one by one
        return palette, np.fromiter((color_index(v) for v in values.tolist()), dtype="u1", count=len(actors))
    table = np.fromiter((color_index(v) for v in distinct), dtype="u1", count=len(distinct))
    return palette, table[found] if len(found) else np.zeros(0, dtype="u1")


def palette_of(referential: Referential, color_by: str) -> list[str]:
    """The codes of the colour-by category that have a colour of their own, in the palette's order
    (an actor's colour index is its code's place here; :data:`MAX_COLORS` - 1, any other)."""
    return list(referential.codes(COLOR_BY[color_by][1])[: MAX_COLORS - 1])


def _palette(referential: Referential, color_by: str) -> list[str]:
    category = COLOR_BY[color_by][1]
    return [referential.color(category, c) for c in palette_of(referential, color_by)] + [OTHER_COLOR]


def decode_payload(payload: dict) -> list[tuple[float, float, int, int]]:
    """The points of :func:`actor_payload`, as ``(lat, lon, colour index, fiche row)``."""
    n = payload["n"]
    raw = gzip.decompress(base64.b64decode(payload["data"])) if n else b""
    ints = np.frombuffer(raw, dtype="<i4", count=3 * n)
    colors = np.frombuffer(raw, dtype="u1", count=n, offset=12 * n)
    rows = np.cumsum(ints[2 * n :])
    return [(float(ints[i]) / 1e5, float(ints[n + i]) / 1e5, int(colors[i]), int(rows[i])) for i in range(n)]


class ActorCluster(JSCSSMixin, MacroElement):
    """All actors, drawn by ``actorCluster`` (actors_layer.js, in the map's module: see
    :class:`reseaux.carte.mapbits.MapModule`) from a JSON payload through a spatial index (supercluster):
    only the clusters and pins in view become markers."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (window.reseaux = window.reseaux || []).push(function (rx) {
          rx.actorCluster({{ this.payload_json }}).addTo({{ this._parent.get_name() }});
        });
        {% endmacro %}
        """
    )
    default_js = SUPERCLUSTER_JS
    default_css: ClassVar[list] = []

    def __init__(self, payload: dict) -> None:
        super().__init__()
        self._name = "ActorCluster"
        self.default_js = local(SUPERCLUSTER_JS)
        self.default_css = []
        self.payload_json = script_json(payload)
        self.count = payload["n"]


def fiche_fields() -> list[list[str]]:
    """How the browser shows a fiche's values: ``[kind, French label]`` for each column of the
    fiche (:func:`reseaux.annuaire.columns.shown_in`), in order."""
    return [
        ["badge", ""] if c.badge else [_FICHE_KINDS.get(c.kind, "text"), c.label]
        for c in columns.shown_in(columns.FICHE)
    ]


def search_fields() -> list[int]:
    """The places, in a fiche's values, of those the map's search box looks in."""
    return [i for i, c in enumerate(columns.shown_in(columns.FICHE)) if c.name in _SEARCHED]


def fiche_blob(actors: pd.DataFrame, referential: Referential) -> str:
    """Every fiche of ``actors`` (in row order), as gzip-compressed JSON in base64: what a
    standalone export carries, since no server answers it.

    Fiches are text-heavy and repetitive: compressed, 100,000 of them weigh a few megabytes.
    The browser inflates them (DecompressionStream) the first time a fiche is opened.
    """
    data = json.dumps(
        {"fields": fiche_fields(), "fiches": fiche_rows(actors, referential)}, ensure_ascii=False, separators=(",", ":")
    )
    return base64.b64encode(gzip.compress(data.encode("utf-8"), compresslevel=3, mtime=0)).decode("ascii")


class FicheStore(MacroElement):
    """Where the map's popups and search box find the fiches (``useFiches``, see ``fiches.js``): either carried by the page (``blob``: :func:`fiche_blob`, for a standalone
    export) or asked of the server when clicked (``url``: the page's address for them, see
    :mod:`reseaux.annuaire.fiche_service`)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (window.reseaux = window.reseaux || []).push(function (rx) {
          rx.useFiches({{ this.source }});
        });
        {% endmacro %}
        """
    )

    def __init__(self, *, blob: str | None = None, url: str | None = None) -> None:
        super().__init__()
        if (blob is None) == (url is None):
            raise ValueError("FicheStore: blob or url, one of them")
        self._name = "FicheStore"
        # base64 has no quote nor markup; the url goes through script_json
        self.source = (
            f'rx.blobFiches("{blob}", {script_json(search_fields())})'
            if blob is not None
            else f"rx.httpFiches({script_json(url)})"
        )
        self.kind = "blob" if blob is not None else "url"
        self.url = url


class PerimeterFocus(MacroElement):
    """The perimeter chosen in the filters, outlined; the map zooms to it when the choice changes
    (and only then: the person's own panning is not undone by every filter change)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (window.reseaux = window.reseaux || []).push(function (rx) {
          rx.focusPerimeter({{ this._parent._parent.get_name() }}, {{ this.focus_key }}, {{ this.focus_json }},
                            {color: "#111", weight: 3.5, dashArray: "8 5", fill: false});
        });
        {% endmacro %}
        """
    )

    def __init__(self, focus: tuple[str, dict] | None) -> None:
        super().__init__()
        self._name = "PerimeterFocus"
        self.focus_key = script_json(focus[0] if focus else None)
        self.focus_json = script_json(focus[1] if focus else None)


def fiche_rows(actors: pd.DataFrame, referential: Referential) -> list[list[str]]:
    """The fiche of each actor, as the browser shows it: one text per column of the fiche
    (:func:`fiche_fields`): the address with its postcode and commune, a badge's sentence when it
    applies, the rest as the lists write it (:func:`reseaux.annuaire.listing.cell_text`)."""
    texts: list[list[str]] = []
    for column in columns.shown_in(columns.FICHE):
        if column.name == "adresse":
            texts.append(
                [
                    ", ".join(p for p in (a, " ".join(x for x in (cp, c) if x)) if p)
                    for a, cp, c in zip(
                        _col(actors, "adresse"), _col(actors, "code_postal"), _col(actors, "commune"), strict=True
                    )
                ]
            )
        elif column.kind == columns.GEOCODING_SOURCE:
            texts.append([column.badge if v == "commune" else "" for v in _col(actors, column.name)])
        elif column.badge:
            texts.append([column.badge if v is True else "" for v in _col(actors, column.name, default=False)])
        else:
            known: dict = {}  # the same combinations come back again and again

            def text(value, column=column, known=known) -> str:
                key = value if isinstance(value, str | tuple) else repr(value)
                if key not in known:
                    known[key] = cell_text(column, value, referential)
                return known[key]

            texts.append([text(v) for v in _col(actors, column.name)])
    return [list(row) for row in zip(*texts, strict=True)] if len(actors) else []


def fiche_lines(actor: pd.DataFrame, referential: Referential) -> list[tuple[str, str, str]]:
    """The filled fields of one actor's fiche (a one-row frame), as the map shows them:
    ``(column, French label, text)`` in the fiche's order (the badges' label is empty)."""
    if len(actor) != 1:
        raise ValueError(f"fiche_lines: une seule fiche attendue, {len(actor)} reçues")
    row = fiche_rows(actor, referential)[0]
    return [
        (column.name, "" if column.badge else column.label, value)
        for column, value in zip(columns.shown_in(columns.FICHE), row, strict=True)
        if value
    ]


def _col(frame: pd.DataFrame, column: str, default="") -> list:
    return frame[column].tolist() if column in frame else [default] * len(frame)
