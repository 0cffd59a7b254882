"""The map's sidebar (filters and map settings) and how a page keeps its state: in the URL, so a
shared link reproduces the view, and in the session, so leaving a page and coming back keeps it."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from reseaux.analyse.filters import FACETS, SEARCH_NAMES, ActorFilter
from reseaux.annuaire.referential import Referential
from reseaux.app_data import Territory
from reseaux.carte.legend import COLOR_BY
from reseaux.carte.mapbits import BASEMAP_LABELS
from reseaux.carte.mapview import MapView
from reseaux.ui.widgets import choose_many, facet_select


def seeding_query(page: str, keys: Sequence[str]) -> dict | None:
    """The query to seed a page's widgets from, or None when they are already in the session.

    ``keys`` are the page's choice widgets, named once; the first tells whether the page's
    widgets are in the session. Widgets are seeded from the URL (a shared link reproduces the
    view), else from the page's last state: Streamlit forgets a widget's value once a run goes by
    without it, so leaving for another page and coming back would otherwise lose the filters and
    layers. When they are in the session, their values are sent to the browser again (:func:`resend`).
    """
    if keys[0] in st.session_state:
        resend(keys)
        return None
    return {k: st.query_params.get(k) for k in st.query_params} or st.session_state.get(f"_{page}_query", {})


def resend(keys: Sequence[str]) -> None:
    """Send these choice widgets' values to the browser again on this run.

    Streamlit sends a value set through ``st.session_state`` on the run that set it only. When that
    run is cut short (a person types an address while the page is still opening a link), the browser
    mounts the widget with its default and sends that back at the next click: a link's theme was
    dropped by « Élargir à 3 km » on a phone. Assigned again, the value goes with every run, so after
    any complete run the browser holds what the server holds. Choice widgets only (lists, sliders,
    radios, select boxes): a text field would be reset under a person's typing.
    """
    for key in keys:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def remember_query(page: str, query: dict) -> None:
    """Keep the page's state as a query (outside widget state, which Streamlit clears)."""
    st.session_state[f"_{page}_query"] = dict(query)


#: The Carte page's choice widgets (the first tells whether they are seeded).
MAP_KEYS = (
    "v_layers",
    "v_basemap",
    "v_color",
    *(f"f_{facet}" for facet in FACETS),
    "f_communes",
    "f_epci",
    "f_perimeter",
)


def _init_from_url(ref: Referential, terr: Territory) -> None:
    query = seeding_query("carte", MAP_KEYS)
    if query is not None:
        apply_query(query, ref, terr)


def apply_query(query: dict, ref: Referential, terr: Territory) -> None:
    """Set the map widgets (filters, layers, base map, colour) from a query-string dict."""
    flt = ActorFilter.from_query(query, ref)
    view = MapView.from_query(query, terr.specs)
    for facet in FACETS:
        st.session_state[f"f_{facet}"] = list(getattr(flt, facet))
    st.session_state["f_communes"] = list(flt.communes)
    st.session_state["f_epci"] = list(flt.epci)
    st.session_state["f_perimeter"] = flt.perimeter or None
    st.session_state["f_text"] = flt.text
    st.session_state["v_layers"] = list(view.layers)
    st.session_state["v_basemap"] = view.basemap
    st.session_state["v_color"] = view.color_by


def map_state(ref: Referential, terr: Territory) -> tuple[ActorFilter, MapView]:
    """The filters and map settings as the sidebar's widgets hold them, read before the widgets are
    drawn (seeded from the URL or the page's last state first): the Carte page draws its map, what
    a person waits for, before the fifteen widgets of the sidebar. :func:`sidebar` draws them after
    and returns the same values (the page reruns in the rare case they differ)."""
    _init_from_url(ref, terr)
    state = st.session_state
    flt = ActorFilter(
        communes=tuple(state.get("f_communes") or ()),
        epci=tuple(state.get("f_epci") or ()),
        perimeter=state.get("f_perimeter") or "",
        text=state.get("f_text") or "",
        **{facet: tuple(state.get(f"f_{facet}") or ()) for facet in FACETS},
    )
    default = MapView.from_query({}, terr.specs)
    view = MapView(
        layers=tuple(state.get("v_layers", default.layers)),
        basemap=state.get("v_basemap", default.basemap),
        color_by=state.get("v_color", default.color_by),
    )
    return flt, view


def _reset_filters() -> None:
    for facet in FACETS:
        st.session_state[f"f_{facet}"] = []
    st.session_state.update(f_communes=[], f_epci=[], f_perimeter=None, f_text="")


def take_off(field: str) -> None:
    """Clear the map's filter widget of one :class:`ActorFilter` field (a « Retirer le filtre » button)."""
    st.session_state[f"f_{field}"] = {"perimeter": None, "text": ""}.get(field, [])


reset_filters = _reset_filters


def sidebar(
    ref: Referential, terr: Territory, positions: pd.DataFrame, communes: Sequence[str], *, write_url: bool = True
) -> tuple[ActorFilter, MapView]:
    """Draw the filters and map settings; return them, and mirror them in the URL. ``positions``
    (``latitude``, ``longitude``) and ``communes`` (INSEE codes) are the directory's the person sees:
    the perimeters and communes offered are those of its actors."""
    _init_from_url(ref, terr)
    with st.sidebar:
        st.header("Filtres")
        text = st.text_input(
            f"Recherche ({SEARCH_NAMES})",
            key="f_text",
            placeholder="ex. planning, IVG médicamenteuse…",
        )
        chosen = {}
        for facet in ("themes", "professions", "types"):
            chosen[facet] = facet_select(ref, facet, f"f_{facet}")
        with st.expander("Publics, modalités, accessibilité"):
            for facet in ("publics", "modalites", "accessibilite"):
                chosen[facet] = facet_select(ref, facet, f"f_{facet}")
        with st.expander("Lieu"):
            present = sorted(set(communes) - {""}, key=lambda c: terr.place_names.get(f"commune:{c}", c))
            communes = choose_many(
                "Communes",
                present,
                key="f_communes",
                format_func=lambda c: terr.place_names.get(f"commune:{c}", c),
                placeholder="Toutes",
            )
            epcis = sorted({terr.commune_epci.get(c, "") for c in present} - {""})
            epci = choose_many(
                "EPCI",
                epcis,
                key="f_epci",
                format_func=lambda c: terr.place_names.get(f"epci:{c}", c),
                placeholder="Tous",
            )
            layer_ids = [s.id for s in terr.specs if s.kind == "table" or not s.file.startswith(("communes", "finess"))]
            options = terr.perimeter_options(layer_ids, positions)
            current = st.session_state.get("f_perimeter")
            if (
                current
                and current not in options
                and current.partition(":")[0] in layer_ids
                and terr.perimeter_geojson(current) is not None
            ):
                # a link naming a perimeter the list leaves out (no actor, away from the territory): kept
                options = {**options, current: terr.place_names.get(current, current)}
            if st.session_state.get("f_perimeter") not in options:
                st.session_state["f_perimeter"] = None
            perimeter = st.selectbox(
                "Dans le périmètre",
                list(options),
                key="f_perimeter",
                format_func=options.get,
                index=None,
                placeholder="Choisir un QPV, une CPTS, un CLS…",
            )
        st.button("Réinitialiser les filtres", on_click=_reset_filters, width="stretch")

        st.header("Carte")
        color_by = st.radio(
            "Couleur des acteurs", list(COLOR_BY), key="v_color", horizontal=True, format_func=lambda k: COLOR_BY[k][2]
        )
        layers = choose_many(
            "Périmètres affichés",
            [s.id for s in terr.specs],
            key="v_layers",
            format_func=lambda i: f"{terr.spec(i).group} — {terr.spec(i).label}",
            placeholder="Aucun",
        )
        basemap = st.selectbox("Fond de carte", list(BASEMAP_LABELS), key="v_basemap", format_func=BASEMAP_LABELS.get)
    flt = ActorFilter(
        communes=tuple(communes),
        epci=tuple(epci),
        perimeter=perimeter or "",
        text=text or "",
        **{facet: tuple(values) for facet, values in chosen.items()},
    )
    view = MapView(layers=tuple(layers), basemap=basemap, color_by=color_by)
    query = {**flt.to_query(), **view.to_query()}
    remember_query("carte", query)
    if write_url:
        st.query_params.from_dict(query)
    return flt, view
