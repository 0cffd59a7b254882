"""Streamlit widgets of « Trouver un partenaire »: a starting point, filters, the nearest partners.

The starting point is an address (geocoded, with suggestions), a click on the map, or the
browser's position; the whole search (point, filters, k, radius) lives in the URL.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from reseaux import config
from reseaux.app_data import Actors, Territory
from reseaux.filters import FACETS, ActorFilter
from reseaux.geocoding import Geocoder, GeocoderUnavailable, Match
from reseaux.mapview import build_search_map
from reseaux.proximity import (ProximityIndex, containing_perimeters, directions_links, outreach_covering,
                               perimeter_sentence, search)
from reseaux.referential import Referential
from reseaux.text import md_escape
from reseaux.ui import FACET_LABELS, remember_query, seeding_query

FACET_NAMES = {"types": "type", "themes": "thématique", "professions": "profession", "publics": "public",
               "modalites": "modalité", "accessibilite": "accessibilité", "langues": "langue",
               "communes": "commune", "epci": "EPCI", "perimeter": "périmètre", "text": "recherche"}
GEOLOCATION_JS = """
export default function(component) {
  const { parentElement, setTriggerValue } = component;
  const button = parentElement.querySelector("button");
  const status = parentElement.querySelector("span");
  button.onclick = () => {
    if (!navigator.geolocation) { status.textContent = "Position indisponible dans ce navigateur."; return; }
    status.textContent = "Recherche de votre position…";
    navigator.geolocation.getCurrentPosition(
      (p) => { status.textContent = ""; setTriggerValue("position", {lat: p.coords.latitude, lon: p.coords.longitude}); },
      (e) => { status.textContent = "Position refusée ou indisponible : " + e.message; },
      {enableHighAccuracy: true, timeout: 10000});
  };
}
"""
GEOLOCATION_HTML = '<button type="button" class="rx-geo">Utiliser ma position</button> <span></span>'
GEOLOCATION_CSS = """.rx-geo { font: inherit; padding: .4rem .8rem; border-radius: .5rem; border: 1px solid #ccc;
  background: white; cursor: pointer; } .rx-geo:hover { border-color: #7B2D8E; color: #7B2D8E; }"""


@st.cache_resource(show_spinner=False)
def _index(path: str, mtime: float, role: str, _actors: Actors) -> ProximityIndex:
    # Keyed by file version AND role: each role has its own visible actors (see access.py).
    return ProximityIndex.build(_actors.directory.actors)


def proximity_index(acts: Actors) -> ProximityIndex:
    from reseaux.ui import auth

    path = config.path("actors")
    role, _ = auth.current()
    return _index(str(path), path.stat().st_mtime if path.exists() else 0.0, role, acts)


@st.cache_data(show_spinner=False, ttl=3600)
def _geocode(query: str) -> tuple[list[Match], str]:
    geocoder = Geocoder(config.get("geocoder_url"), timeout=5, attempts=2)
    try:
        return geocoder.search(query, limit=5), ""
    except GeocoderUnavailable as exc:
        return [], str(exc)
    finally:
        geocoder.close()


def _init_from_url(ref: Referential) -> None:
    query = seeding_query("trouver", "tp_k")
    if query is None:
        return
    flt = ActorFilter.from_query(query, ref)
    for facet in (*FACETS, "langues"):
        st.session_state[f"tp_{facet}"] = list(getattr(flt, facet))
    try:
        st.session_state["tp_point"] = (float(query["lat"]), float(query["lon"]), query.get("lieu", ""))
    except (KeyError, TypeError, ValueError):
        st.session_state["tp_point"] = None
    st.session_state["tp_k"] = int(query.get("k", 10)) if str(query.get("k", "10")).isdigit() else 10
    st.session_state["tp_radius"] = float(query.get("rayon", 10)) if _is_number(query.get("rayon", 10)) else 10.0
    st.session_state["tp_address"] = query.get("adresse", "")


def _is_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def sidebar(ref: Referential, acts: Actors) -> tuple[ActorFilter, int, float]:
    """Filters, number of results and radius; mirrored in the URL with the point."""
    _init_from_url(ref)
    with st.sidebar:
        st.header("Ce que vous cherchez")
        chosen = {}
        for facet in ("themes", "professions", "types", "modalites", "publics", "accessibilite"):
            category = FACETS[facet][1]
            labels = ref.labels(category)
            chosen[facet] = st.multiselect(FACET_LABELS[facet], list(labels), key=f"tp_{facet}",
                                           format_func=labels.get, placeholder="Toutes")
        spoken = sorted({lang for langs in acts.directory.actors["langues"] for lang in langs})
        st.session_state["tp_langues"] = [v for v in st.session_state.get("tp_langues", []) if v in spoken]
        chosen["langues"] = st.multiselect("Langues parlées", spoken, key="tp_langues", placeholder="Toutes")
        k = st.slider("Nombre de partenaires", 1, 50, key="tp_k")
        radius = st.slider("Rayon (km)", 1.0, 50.0, step=0.5, key="tp_radius")
    flt = ActorFilter(**{facet: tuple(values) for facet, values in chosen.items()})
    return flt, k, radius


def write_url(flt: ActorFilter, k: int, radius: float) -> None:
    query = {**flt.to_query(), "k": str(k), "rayon": f"{radius:g}"}
    point = st.session_state.get("tp_point")
    if point:
        query.update(lat=f"{point[0]:.6f}", lon=f"{point[1]:.6f}", lieu=point[2])
    if st.session_state.get("tp_address"):
        query["adresse"] = st.session_state["tp_address"]
    remember_query("trouver", query)
    st.query_params.from_dict(query)


def starting_point() -> None:
    """Address (with suggestions), or the browser's position; a map click is read in show_map."""
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    address = left.text_input("Adresse du patient ou du lieu de départ", key="tp_address",
                              placeholder="ex. 12 rue Saint-Julien, Le Petit-Quevilly — puis Entrée")
    with right:
        located = st.components.v2.component(
            "reseaux.geolocation", html=GEOLOCATION_HTML, css=GEOLOCATION_CSS, js=GEOLOCATION_JS,
        )(key="tp_geo", on_position_change=lambda: None)
    if located is not None and getattr(located, "position", None):
        position = located.position
        st.session_state["tp_point"] = (float(position["lat"]), float(position["lon"]), "ma position")
    if address.strip() and st.session_state.get("tp_geocoded") != address:
        matches, error = _geocode(address.strip())
        st.session_state["tp_geocoded"] = address
        st.session_state["tp_matches"] = (matches, error)
        good = [m for m in matches if m.score >= 0.5]
        if good:
            st.session_state["tp_point"] = (good[0].latitude, good[0].longitude, good[0].label)
    matches, error = st.session_state.get("tp_matches", ([], ""))
    if not address.strip():
        st.caption("Ou cliquez sur la carte pour choisir le point de départ.")
        return
    if error:
        st.warning(f"Le géocodeur ne répond pas ({error}). Cliquez sur la carte pour choisir le point de départ.")
    elif not matches:
        st.warning(f"Adresse « {address} » introuvable : vérifiez-la, ou cliquez sur la carte.")
    elif matches[0].score < 0.5:
        st.warning(f"Adresse « {address} » introuvable telle quelle. Adresses les plus proches :")
        _choose(matches, "tp_suggest")
    elif len(matches) > 1:
        _choose(matches, "tp_choice", label="Adresse retenue (autres propositions du géocodeur)")


def _choose(matches: list[Match], key: str, label: str = "Choisir une adresse") -> None:
    labels = [f"{m.label} ({m.type}, score {m.score:.2f})" for m in matches]
    choice = st.selectbox(label, range(len(matches)), format_func=labels.__getitem__, key=key, index=None
                          if key == "tp_suggest" else 0, placeholder="Choisir…")
    if choice is not None:
        best = matches[choice]
        st.session_state["tp_point"] = (best.latitude, best.longitude, best.label)


def results(ref: Referential, terr: Territory, acts: Actors, flt: ActorFilter, k: int, radius: float):
    """Run the search for the current point; render the sentence, warnings and lists."""
    point = st.session_state.get("tp_point")
    if not point:
        st.info("Choisissez un point de départ : une adresse, un clic sur la carte, ou votre position.")
        return None, None
    lat, lon, label = point
    index = proximity_index(acts)
    outcome = search(index, lat, lon, flt, ref, k=k, radius_m=radius * 1000,
                     commune_epci=terr.commune_epci, place_names=terr.place_names)
    found = containing_perimeters(lat, lon, terr.layers, terr.specs)
    st.markdown(f"**Départ : {md_escape(label or f'{lat:.5f}, {lon:.5f}')}**")
    sentence = perimeter_sentence(found)
    if sentence:
        st.info(md_escape(sentence), icon=":material/location_on:")
    if not found:
        st.warning("Ce point est en dehors de toutes les couches chargées (hors du territoire couvert) : "
                   "les résultats peuvent manquer.")
    commune = next((code for spec, code, _ in found if spec.id == "communes_normandie"), None)
    qpv = {code for spec, code, _ in found if spec.id.startswith("qpv")}
    outreach = outreach_covering(acts.directory.actors, commune, qpv)
    if len(outreach):
        st.success("Une action d'aller-vers passe dans ce quartier : "
                   + " ; ".join(md_escape(n) for n in outreach["nom"]), icon=":material/directions_walk:")
    shown = outcome.actors
    if shown.empty:
        st.warning(f"Aucun partenaire ne correspond dans un rayon de {radius:g} km. {outcome.sentence}")
        if outcome.blocking:
            names = ", ".join(f"« {FACET_NAMES.get(f, f)} »" for f in outcome.blocking)
            st.markdown(f"Le filtre qui vide la liste : {names}. Sans le premier, les plus proches sont :")
            shown = outcome.without_blocking
    else:
        st.markdown(f"**{len(shown)} partenaire(s) le(s) plus proche(s)** · {md_escape(outcome.sentence)}")
    _result_list(ref, shown, lat, lon)
    return shown, (lat, lon)


def _distance(metres: int) -> str:
    return f"{metres} m" if metres < 1000 else f"{metres / 1000:.1f} km".replace(".", ",")


def _result_list(ref: Referential, shown: pd.DataFrame, lat: float, lon: float) -> None:
    for number, row in enumerate(shown.itertuples(), start=1):
        with st.container(border=True):
            role = ref.label("profession", row.profession) if row.profession else ref.label("type", row.type)
            st.markdown(f"**{number}. {md_escape(row.nom)}** — {md_escape(role)} · **{_distance(row.distance_m)}**")
            details = [md_escape(row.structure)] if row.structure else []
            address = " ".join(x for x in (row.adresse, row.code_postal, row.commune) if x)
            if address:
                details.append(md_escape(address))
            if row.thematiques:
                details.append(", ".join(md_escape(ref.label("thematique", t)) for t in row.thematiques))
            if row.modalites:
                details.append(", ".join(md_escape(ref.label("modalite", m)) for m in row.modalites))
            st.markdown(" · ".join(details) or " ")
            links = [f"[Itinéraire {name}]({url})" for name, url in
                     directions_links(lat, lon, row.geometry.y, row.geometry.x).items()]
            digits = "".join(c for c in str(row.telephone) if c.isdigit() or c == "+")
            if digits:
                links.append(f"[Appeler le {md_escape(row.telephone)}](tel:{digits})")
            if row.email:
                links.append(f"[Écrire](mailto:{row.email})")
            if str(row.site_web).startswith(("http://", "https://")):
                links.append(f"[Site web]({row.site_web})")
            st.markdown(" · ".join(links))


def show_map(terr: Territory, shown: pd.DataFrame | None, origin: tuple[float, float] | None, radius: float) -> None:
    """The point, the radius and the numbered results; a click moves the starting point."""
    context = [(terr.spec(i), terr.layers[i], terr.geojson.get(i)) for i in ("communes", "qpv") if i in terr.layers]
    fmap = build_search_map(terr.home_bounds, origin, radius, shown, context)
    clicked = st_folium(fmap, key="tp_map", height=520, use_container_width=True, returned_objects=["last_clicked"])
    point = (clicked or {}).get("last_clicked")
    if point and st.session_state.get("tp_last_click") != point:
        st.session_state["tp_last_click"] = point
        st.session_state["tp_point"] = (point["lat"], point["lng"], "point choisi sur la carte")
        st.rerun()
