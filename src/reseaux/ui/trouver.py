"""Streamlit widgets of « Trouver un partenaire »: a starting point, filters, the nearest partners.

The starting point is an address (geocoded, with suggestions; placed at its commune when the
geocoder does not answer), a click on the map, or the browser's position; the whole search
(point, filters, free text, k, radius) lives in the URL.
"""

from __future__ import annotations

import math

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from reseaux import config
from reseaux.app_data import Actors, Territory
from reseaux.filters import FACETS, ActorFilter
from reseaux.france import commune_at
from reseaux.geocoding import CommuneLocator, Geocoder, GeocoderUnavailable, Match, clear_choice
from reseaux.proximity import (
    Partner,
    containing_perimeters,
    outreach_covering,
    partners,
    perimeter_sentence,
    search,
)
from reseaux.referential import Referential
from reseaux.search_map import build_search_map
from reseaux.text import fr_distance, md_escape, plural
from reseaux.ui import choose_many, facet_select, remember_query, seeding_query, territory
from reseaux.ui.loading import proximity_index

FACET_NAMES = {"types": "type", "themes": "thématique", "professions": "profession", "publics": "public",
               "modalites": "modalité", "accessibilite": "accessibilité", "langues": "langue",
               "communes": "commune", "epci": "EPCI", "perimeter": "périmètre", "text": "recherche libre"}
#: The geocoder's kinds of answer, as people say them.
MATCH_TYPES = {"housenumber": "adresse", "street": "rue", "locality": "lieu-dit", "municipality": "commune"}
RADII_KM = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 15.0, 20.0, 30.0, 50.0)
DEFAULT_RADIUS_KM = 10.0
DEFAULT_K = 10
MIN_SCORE = 0.5
GEOLOCATION_JS = """
export default function(component) {
  const { parentElement, setTriggerValue } = component;
  const button = parentElement.querySelector("button");
  const status = parentElement.querySelector("span");
  const reasons = {
    1: "Position refusée : autorisez la localisation pour ce site dans votre navigateur, ou tapez une adresse.",
    2: "Position introuvable (ni GPS ni réseau) : tapez une adresse ou cliquez sur la carte.",
    3: "La position met trop de temps à venir : réessayez, ou tapez une adresse."
  };
  button.onclick = () => {
    if (!navigator.geolocation) {
      status.textContent = "Ce navigateur ne donne pas de position : tapez une adresse ou cliquez sur la carte.";
      return;
    }
    status.textContent = "Recherche de votre position…";
    navigator.geolocation.getCurrentPosition(
      (p) => { status.textContent = ""; setTriggerValue("position", {lat: p.coords.latitude, lon: p.coords.longitude}); },
      (e) => { status.textContent = reasons[e.code] || "Position indisponible : tapez une adresse ou cliquez sur la carte."; },
      {enableHighAccuracy: true, timeout: 10000});
  };
}
"""
GEOLOCATION_HTML = '<button type="button" class="rx-geo">Utiliser ma position</button> <span class="rx-geo-status" role="status"></span>'
GEOLOCATION_CSS = """.rx-geo { font: inherit; padding: .4rem .8rem; border-radius: .5rem; border: 1px solid #ccc;
  background: white; cursor: pointer; } .rx-geo:hover { border-color: #7B2D8E; color: #7B2D8E; }
  .rx-geo-status { display: block; font-size: .85rem; color: #7a2e00; margin-top: .25rem; }"""


@dataclass(frozen=True)
class Lookup:
    """What an address gave: the matches, whether they are communes (geocoder unreachable),
    and the one taken without asking (None: the person chooses)."""

    matches: list[Match]
    offline: bool
    chosen: Match | None


@st.cache_resource(show_spinner=False)
def commune_locator(path: str) -> CommuneLocator:
    return CommuneLocator.from_csv(Path(path))


@st.cache_data(show_spinner=False, ttl=3600)
def _geocode(query: str) -> list[Match]:
    # Raises GeocoderUnavailable, which Streamlit does not cache: the next address tries again.
    geocoder = Geocoder(config.get("geocoder_url"), timeout=5, attempts=2)
    try:
        return geocoder.search(query, limit=5)
    finally:
        geocoder.close()


def lookup(address: str, prefer: frozenset[str] = frozenset()) -> Lookup:
    """Geocode ``address``; when the geocoder does not answer, find its commune instead (the
    communes of the network's territory, ``prefer``, first)."""
    try:
        matches = _geocode(address)
    except GeocoderUnavailable:
        communes = commune_locator(str(config.path("communes_table"))).search(address, prefer=prefer)
        return Lookup(communes, True, clear_choice(communes))
    return Lookup(matches, False, matches[0] if matches and matches[0].score >= MIN_SCORE else None)


def _point_of(match: Match, offline: bool) -> tuple[float, float, str]:
    label = f"{match.label}, centre de la commune (position approximative)" if offline else match.label
    return match.latitude, match.longitude, label


def _init_from_url(ref: Referential) -> None:
    query = seeding_query("trouver", "tp_k")
    if query is None:
        return
    flt = ActorFilter.from_query(query, ref)
    for facet in (*FACETS, "langues"):
        st.session_state[f"tp_{facet}"] = list(getattr(flt, facet))
    st.session_state["tp_text"] = flt.text
    st.session_state["tp_point"] = _point_from(query)
    st.session_state["tp_k"] = min(50, max(1, int(query["k"]))) if str(query.get("k", "")).isdigit() else DEFAULT_K
    st.session_state["tp_radius"] = _nearest_radius(query.get("rayon"))
    st.session_state["tp_address"] = query.get("adresse", "") or ""
    # The point in the link wins over geocoding its address again (it may come from a click).
    st.session_state["tp_geocoded"] = st.session_state["tp_address"]


def _point_from(query) -> tuple[float, float, str] | None:
    """The point of a link, when it is one on Earth (a ``nan``, ``inf`` or out-of-range value is
    dropped: the page then asks for a starting point)."""
    try:
        lat, lon = float(query["lat"]), float(query["lon"])
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon, str(query.get("lieu", "") or "")[:200]


def _nearest_radius(value) -> float:
    try:
        wanted = float(value)
    except (TypeError, ValueError):
        return DEFAULT_RADIUS_KM
    return min(RADII_KM, key=lambda r: abs(r - wanted))


def radius_label(km: float) -> str:
    return fr_distance(km * 1000)


def sidebar(ref: Referential, acts: Actors) -> tuple[ActorFilter, int, float]:
    """Filters, number of results and radius; mirrored in the URL with the point."""
    _init_from_url(ref)
    with st.sidebar:
        st.header("Ce que vous cherchez")
        text = st.text_input("Recherche libre (nom, structure, spécialités, description)", key="tp_text",
                             placeholder="ex. IVG médicamenteuse")
        chosen = {}
        for facet in ("themes", "professions", "types", "modalites", "publics", "accessibilite"):
            chosen[facet] = facet_select(ref, facet, f"tp_{facet}")
        spoken = sorted({lang for langs in acts.directory.actors["langues"] for lang in langs})
        st.session_state["tp_langues"] = [v for v in st.session_state.get("tp_langues", []) if v in spoken]
        chosen["langues"] = choose_many("Langues parlées", spoken, key="tp_langues", placeholder="Toutes")
        # Seeded from the URL, with a default besides: a browser that lost the seeded value (a first
        # run cut short by the person's first click) falls back to 10, not to 1 partner and 500 m.
        k = st.slider("Nombre de partenaires", 1, 50, value=DEFAULT_K, key="tp_k")
        radius = st.select_slider("Rayon", RADII_KM, value=DEFAULT_RADIUS_KM, key="tp_radius",
                                  format_func=radius_label)
    flt = ActorFilter(text=(text or "").strip(), **{facet: tuple(values) for facet, values in chosen.items()})
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
    typed = (address or "").strip()
    if typed and st.session_state.get("tp_geocoded") != address:
        st.session_state["tp_geocoded"] = address
        for key in ("tp_choice", "tp_suggest"):
            st.session_state.pop(key, None)
        with st.spinner("Recherche de l'adresse…"):
            found = st.session_state["tp_lookup"] = lookup(typed, territory().home_communes)
        if found.chosen:
            st.session_state["tp_point"] = _point_of(found.chosen, found.offline)
    found = st.session_state.get("tp_lookup")
    if not typed or found is None:
        st.caption("Ou cliquez sur la carte pour choisir le point de départ.")
        return
    point = st.session_state.get("tp_point")
    if found.chosen and point and point[2] not in {_point_of(m, found.offline)[2] for m in found.matches}:
        return  # the point has moved since (map click, my position): what the address gave no longer applies
    _say_what_was_found(typed, found)


def _say_what_was_found(typed: str, found: Lookup) -> None:
    shown = md_escape(typed)
    if found.offline:
        if found.chosen:
            st.warning(f"**Position approximative : centre de la commune** ({md_escape(found.chosen.label)}), "
                       "le géocodeur national ne répond pas. Pour un point précis, cliquez sur la carte.")
        elif found.matches:
            st.warning(f"Le géocodeur national ne répond pas, et plusieurs communes correspondent à « {shown} ». "
                       "Choisissez la vôtre (position approximative : centre de la commune).")
            _choose(found, "tp_suggest", "Commune")
        else:
            st.warning(f"Le géocodeur national ne répond pas, et aucune commune de Normandie ne correspond à "
                       f"« {shown} ». Tapez un code postal ou un nom de commune (ex. « 76140 » ou "
                       "« Le Petit-Quevilly »), ou cliquez sur la carte.")
    elif not found.matches:
        st.warning(f"Adresse « {shown} » introuvable : vérifiez-la, ou cliquez sur la carte.")
    elif not found.chosen:
        st.warning(f"Adresse « {shown} » introuvable telle quelle. Adresses les plus proches :")
        _choose(found, "tp_suggest", "Choisir une adresse")
    elif len(found.matches) > 1:
        _choose(found, "tp_choice", "Adresse retenue (autres propositions du géocodeur)", first=True)


def _choose(found: Lookup, key: str, label: str, *, first: bool = False) -> None:
    """A list of the matches; choosing one moves the point (only on a change, so a later map
    click is not undone by the next run)."""
    matches = found.matches
    names = [m.label if found.offline else f"{m.label} ({MATCH_TYPES.get(m.type, m.type)})" for m in matches]

    def chosen() -> None:
        index = st.session_state.get(key)
        if index is not None and index < len(matches):
            st.session_state["tp_point"] = _point_of(matches[index], found.offline)

    st.selectbox(label, range(len(matches)), format_func=names.__getitem__, key=key, index=0 if first else None,
                 placeholder="Choisir…", on_change=chosen)


def results(ref: Referential, terr: Territory, acts: Actors, flt: ActorFilter, k: int,
            radius: float) -> tuple[list[Partner], tuple[float, float] | None]:
    """Run the search for the current point; render the sentence, warnings and the list."""
    point = st.session_state.get("tp_point")
    if not point:
        st.info("Choisissez un point de départ : une adresse, un clic sur la carte, ou votre position.")
        return [], None
    lat, lon, label = point
    outcome = search(proximity_index(acts), lat, lon, flt, ref, k=k, radius_m=radius * 1000,
                     commune_epci=terr.commune_epci, place_names=terr.place_names)
    found = containing_perimeters(lat, lon, terr.layers, terr.specs)
    # Short and small: on a phone the first results must show without scrolling.
    st.caption(" ".join(p for p in (f"**Départ : {md_escape(label or f'{lat:.5f}, {lon:.5f}')}.**",
                                    md_escape(perimeter_sentence(found))) if p))
    if not found:
        st.warning("Ce point est en dehors de toutes les couches chargées (hors du territoire couvert) : "
                   "les résultats peuvent manquer.")
    commune = commune_at(pd.Series([lon]), pd.Series([lat])).iloc[0] or None
    qpv = {code for spec, code, _ in found if spec.id.startswith("qpv")}
    outreach = outreach_covering(acts.directory.actors, commune, qpv)
    if len(outreach):
        st.success("Une action d'aller-vers passe dans ce quartier : "
                   + " ; ".join(md_escape(n) for n in outreach["nom"]), icon=":material/directions_walk:")
    shown = outcome.actors
    within = f"à moins de {radius_label(radius)}"
    if shown.empty:
        st.warning(f"Aucun partenaire ne correspond {within}. {md_escape(outcome.sentence)}")
        if outcome.blocking:
            names = [f"« {FACET_NAMES.get(f, f)} »" for f in outcome.blocking]
            first = names[0]
            if len(names) == 1:
                st.markdown(f"C'est le filtre {first} qui vide la liste. Sans lui, les plus proches sont :")
            else:
                st.markdown(f"Chacun de ces filtres vide la liste : {', '.join(names)}. "
                            f"Sans le filtre {first}, les plus proches sont :")
            shown = outcome.without_blocking
    else:
        nearest = "le plus proche" if len(shown) == 1 else "les plus proches"
        more = (f" — seulement {len(shown)} dans ce rayon : élargissez-le pour en voir plus"
                if len(shown) < k else "")
        st.markdown(f"**{plural(len(shown), 'partenaire')} {nearest}** {within}{more} · "
                    f"{md_escape(outcome.sentence)}")
    found_partners = partners(shown, ref, (lat, lon))
    for partner in found_partners:
        _card(partner)
    return found_partners, (lat, lon)


def _card(partner: Partner) -> None:
    with st.container(border=True):
        st.markdown(f"**{partner.number}. {md_escape(partner.name)}** — {md_escape(partner.role)} · "
                    f"**{partner.distance}**")
        lines = [" · ".join(md_escape(v) for v in (partner.structure, partner.address) if v)]
        if partner.approximate:
            lines.append("_Position approximative : centre de la commune._")
        lines += [f"**{label}** : {md_escape(value)}" for label, value in partner.details()]
        st.markdown("  \n".join(line for line in lines if line) or " ")
        links = []
        if partner.phone_uri:
            links.append(f"[Appeler le {md_escape(partner.phone)}]({partner.phone_uri})")
        links += [f"[Itinéraire ({name})]({url})" for name, url in partner.directions.items()]
        if partner.website:
            links.append(f"[Site web]({_url(partner.website)})")
        if partner.email:
            links.append(f"[Écrire]({_url('mailto:' + partner.email)})")
        st.markdown(" · ".join(links))


def _url(url: str) -> str:
    """A URL safe inside a Markdown link: parentheses, spaces and brackets encoded."""
    return quote(url, safe=":/?&=#%+@.,;~-_")


def show_map(terr: Territory, found: list[Partner], origin: tuple[float, float] | None, radius: float) -> None:
    """The point, the radius and the numbered results; a click moves the starting point."""
    context = [(terr.spec(i), terr.layers[i], terr.geojson.get(i)) for i in ("communes", "qpv") if i in terr.layers]
    fmap = build_search_map(terr.home_bounds, origin, radius, found, context)
    clicked = st_folium(fmap, key="tp_map", height=520, use_container_width=True, returned_objects=["last_clicked"])
    point = (clicked or {}).get("last_clicked")
    if point and st.session_state.get("tp_last_click") != point:
        st.session_state["tp_last_click"] = point
        st.session_state["tp_point"] = (point["lat"], point["lng"], "point choisi sur la carte")
        st.rerun()
    st.caption("Cliquez sur la carte pour déplacer le point de départ ; sur un numéro pour sa fiche. "
               "Des numéros réunis (« 2 · 5 ») s'écartent d'un clic.")
