"""Streamlit widgets of « Trouver un partenaire »: a starting point, filters, the nearest partners.

The starting point is an address (geocoded, with suggestions; placed at its commune when the
geocoder does not answer), a click on the map, or the browser's position; the whole search
(point, filters, free text, k, radius) lives in the URL.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from reseaux import config
from reseaux.acces.access import can
from reseaux.analyse.filters import FACETS, FIELD_NAMES, SEARCH_NAMES, ActorFilter
from reseaux.analyse.proximity import (
    Partner,
    SearchResult,
    containing_perimeters,
    outreach_covering,
    partners,
    perimeter_sentence,
    search,
    search_with,
)
from reseaux.annuaire.referential import Referential
from reseaux.app_data import Actors, Territory, reading_key
from reseaux.carte.search_map import build_search_map
from reseaux.stockage import DATABASE, StorageUnavailable, directory_store
from reseaux.territoire.commune_locator import CommuneLocator, clear_choice
from reseaux.territoire.france import commune_at
from reseaux.territoire.geocoder_client import Geocoder, GeocoderUnavailable, Match
from reseaux.text import fr_coordinates, fr_distance, md_escape, plural
from reseaux.ui import auth, choose_many, facet_select, remember_query, seeding_query, territory
from reseaux.ui.loading import database_answers, proximity_index

#: The geocoder's kinds of answer, as people say them.
MATCH_TYPES = {"housenumber": "adresse", "street": "rue", "locality": "lieu-dit", "municipality": "commune"}
RADII_KM = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 15.0, 20.0, 30.0, 50.0)
DEFAULT_RADIUS_KM = 10.0
DEFAULT_K = 10
MIN_SCORE = 0.5
#: The page's choice widgets (the first tells whether they are seeded).
_KEYS = ("tp_k", "tp_radius", *(f"tp_{facet}" for facet in (*FACETS, "langues")))
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
#: The component draws in a shadow root, out of reach of the page's styles: the focus ring of
#: widgets.PAGE_CSS is repeated here.
GEOLOCATION_CSS = """.rx-geo { font: inherit; padding: .4rem .8rem; border-radius: .5rem; border: 1px solid #ccc;
  background: white; cursor: pointer; } .rx-geo:hover { border-color: #7B2D8E; color: #7B2D8E; }
  .rx-geo:focus-visible { outline: 3px solid #1a4a9c; outline-offset: 2px; }
  .rx-geo-status { display: block; font-size: .85rem; color: #7a2e00; margin-top: .25rem; }"""


#: On a phone the title shrinks, so that the first result fits in the first screen.
TROUVER_CSS = """<style>
@media (max-width: 640px) { h1 { font-size: 1.6rem !important; } }
</style>"""


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
    query = seeding_query("trouver", _KEYS)
    if query is None:
        return
    flt = ActorFilter.from_query(query, ref)
    for facet in (*FACETS, "langues"):
        st.session_state[f"tp_{facet}"] = list(getattr(flt, facet))
    st.session_state["tp_text"] = flt.text
    st.session_state["tp_point"] = _point_from(query)
    st.session_state["tp_k"] = min(50, max(1, int(query["k"]))) if str(query.get("k", "")).isdigit() else DEFAULT_K
    st.session_state["tp_radius"] = _nearest_radius(query.get("rayon"))
    st.session_state["tp_address"] = str(query.get("adresse", "") or "")[:200]
    # The point in the link wins over geocoding its address again (it may come from a click); a
    # link with an address alone is geocoded, as if typed.
    if st.session_state["tp_point"] is not None:
        st.session_state["tp_geocoded"] = st.session_state["tp_address"]
    else:
        st.session_state.pop("tp_geocoded", None)


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


def sidebar(asking: Asking) -> tuple[ActorFilter, int, float]:
    """Filters, number of results and radius; mirrored in the URL with the point."""
    ref = asking.ref
    _init_from_url(ref)
    with st.sidebar:
        st.header("Ce que vous cherchez")
        text = st.text_input(
            f"Recherche libre ({SEARCH_NAMES})",
            key="tp_text",
            placeholder="ex. IVG médicamenteuse",
        )
        chosen = {}
        for facet in ("themes", "professions", "types", "modalites", "publics", "accessibilite"):
            chosen[facet] = facet_select(ref, facet, f"tp_{facet}")
        spoken = asking.languages()
        st.session_state["tp_langues"] = [v for v in st.session_state.get("tp_langues", []) if v in spoken]
        chosen["langues"] = choose_many("Langues parlées", spoken, key="tp_langues", placeholder="Toutes")
        # Seeded from the URL, with a default besides: a browser that lost the seeded value (a first
        # run cut short by the person's first click) falls back to 10, not to 1 partner and 500 m.
        k = st.slider("Nombre de partenaires", 1, 50, value=DEFAULT_K, key="tp_k")
        radius = st.select_slider("Rayon", RADII_KM, value=DEFAULT_RADIUS_KM, key="tp_radius", format_func=radius_label)
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


#: Session key: a map click moved the point; the address field is emptied at the next run.
FORGET_ADDRESS = "_tp_forget_address"


def starting_point() -> None:
    """Address (with suggestions), or the browser's position; a map click is read in show_map."""
    if st.session_state.pop(FORGET_ADDRESS, False):
        # The point was moved on the map: the address typed no longer says where the search starts
        # (it stayed in the field and the URL, above results from elsewhere); typed again, it is
        # looked up again.
        st.session_state["tp_address"] = ""
        for key in ("tp_geocoded", "tp_lookup", "tp_choice", "tp_suggest"):
            st.session_state.pop(key, None)
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    address = left.text_input(
        "Adresse du patient ou du lieu de départ",
        key="tp_address",
        placeholder="ex. 12 rue Saint-Julien, Le Petit-Quevilly — puis Entrée",
    )
    with right:
        located = st.components.v2.component(
            "reseaux.geolocation",
            html=GEOLOCATION_HTML,
            css=GEOLOCATION_CSS,
            js=GEOLOCATION_JS,
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
        # No point for an address not found (or not yet chosen among suggestions): the previous
        # point's results would be read as this address's.
        st.session_state["tp_point"] = _point_of(found.chosen, found.offline) if found.chosen else None
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
            st.warning(
                f"**Position approximative : centre de la commune** ({md_escape(found.chosen.label)}), "
                "le géocodeur national ne répond pas. Pour un point précis, cliquez sur la carte."
            )
        elif found.matches:
            st.warning(
                f"Le géocodeur national ne répond pas, et plusieurs communes correspondent à « {shown} ». "
                "Choisissez la vôtre (position approximative : centre de la commune)."
            )
            _choose(found, "tp_suggest", "Commune")
        else:
            st.warning(
                f"Le géocodeur national ne répond pas, et aucune commune de Normandie ne correspond à "
                f"« {shown} ». Tapez un code postal ou un nom de commune (ex. « 76140 » ou "
                "« Le Petit-Quevilly »), ou cliquez sur la carte."
            )
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

    st.selectbox(
        label,
        range(len(matches)),
        format_func=names.__getitem__,
        key=key,
        index=0 if first else None,
        placeholder="Choisir…",
        on_change=chosen,
    )


def results(
    asking: Asking, flt: ActorFilter, k: int, radius: float
) -> tuple[list[Partner], tuple[float, float] | None]:
    """Run the search for the current point; render the sentence, warnings and the list."""
    ref, terr = asking.ref, asking.terr
    point = st.session_state.get("tp_point")
    if not point:
        st.info("Choisissez un point de départ : une adresse, un clic sur la carte, ou votre position.")
        return [], None
    lat, lon, label = point
    outcome = asking.search(lat, lon, flt, k, radius * 1000)
    found = containing_perimeters(lat, lon, terr.layers, terr.specs)
    st.markdown(TROUVER_CSS, unsafe_allow_html=True)
    # Short and small: on a phone the first result must show without scrolling, so what the point is
    # in (perimeters, outreach) comes after the list.
    st.caption(f"**Départ : {md_escape(label or fr_coordinates(lat, lon))}.**")
    if not found:
        st.warning(
            "Ce point est en dehors de toutes les couches chargées (hors du territoire couvert) : "
            "les résultats peuvent manquer."
        )
    shown = outcome.actors
    within = f"à moins de {radius_label(radius)}"
    if shown.empty:
        shown = _way_on(outcome, flt, radius)
    else:
        nearest = "le plus proche" if len(shown) == 1 else "les plus proches"
        more = f" — seulement {len(shown)} dans ce rayon : élargissez-le pour en voir plus" if len(shown) < k else ""
        st.markdown(f"**{plural(len(shown), 'partenaire')} {nearest}** {within}{more} · {md_escape(outcome.sentence)}")
    found_partners = partners(shown, ref, (lat, lon))
    for partner in found_partners:
        _card(partner)
    _around(asking, lat, lon, found)
    return found_partners, (lat, lon)


@dataclass
class Asking:
    """What this run of the page asks its answers of: the database, at the version the page shows
    (``version``), or the directory in memory (``held()``: on PostgreSQL, read the first time it is
    needed, :func:`~reseaux.ui.loading.directory_on_demand`). Each answer — the nearest and the way
    on, the languages offered, the outreach actions passing by — is asked of the database when
    it may answer, else of the directory in memory: the same answers (tests/test_readings.py), and
    on PostgreSQL a process serving this page alone does not hold the directory."""

    ref: Referential
    terr: Territory
    held: Callable[[], Actors]
    version: str | None = None

    @classmethod
    def now(cls, ref: Referential, terr: Territory, held: Callable[[], Actors]) -> Asking:
        """This run's: the database's readings asked whether they may answer
        (:func:`~reseaux.ui.loading.database_answers`, once a run), on PostgreSQL only."""
        source, stamp = st.session_state.get("_directory_source", ("", 0.0))
        version = str(int(stamp)) if source == DATABASE and database_answers(ref) else None
        return cls(ref, terr, held, version)

    def _of_database(self, question: Callable):
        """``question(store, key, asked)`` asked of the database as the person signed in (or not)
        sees the directory (``asked(flt)``, a question's :class:`~reseaux.stockage.readings.Asked`);
        None when it cannot answer now (a save since this page's reading, the database gone: the
        directory this page shows answers)."""
        if self.version is None:
            return None
        import psycopg

        from reseaux.stockage import readings

        asked = partial(
            readings.Asked,
            role=auth.current()[0],
            visitors=config.get("visitors"),
            perimeters=self.terr.layers,
            commune_epci=self.terr.commune_epci,
        )
        try:
            store, key = directory_store(), reading_key(self.ref)
            for _ in range(2):
                try:
                    return question(store, key, asked)
                except readings.NotAnswered:
                    # A save since this run began: asked again at the version it made (the page
                    # shows nothing else of the directory), rather than the directory read whole
                    # for one answer (a minute at a million fiches, on a process that never read it).
                    now = store.current_version()
                    if now is None or str(now) == self.version:
                        return None  # the readings are another's, or not up to date: from memory
                    self.version = str(now)
                    st.session_state["_directory_source"] = (DATABASE, float(now))
            return None
        except (readings.NotAnswered, StorageUnavailable):
            return None
        except psycopg.Error:  # any other refusal of the database: said to the server's log, not to the person
            logging.getLogger(__name__).exception("question non répondue par la base")
            return None

    def search(self, lat: float, lon: float, flt: ActorFilter, k: int, radius_m: float) -> SearchResult:
        """The nearest partners and the way on. Asked of the database without the proximity index
        (1.5 s to build at a million fiches, again after every save): 58 ms against 120 ms from
        memory for ten partners on a theme, at a million."""
        from reseaux.stockage import readings

        radii = [r * 1000 for r in RADII_KM]

        def on_database(store, key, asked):
            def ask(flt: ActorFilter, k: int, radius_m: float | None) -> pd.DataFrame:
                return readings.nearest(
                    store,
                    self.ref,
                    key,
                    lat,
                    lon,
                    asked=asked(flt),
                    k=k,
                    radius_m=radius_m,
                    fiches=True,
                    version=self.version,
                )

            return search_with(
                ask, flt, self.ref, k=k, radius_m=radius_m, radii_m=radii, place_names=self.terr.place_names
            )

        answered = self._of_database(on_database)
        if answered is not None:
            return answered
        acts = self.held()
        return search(
            proximity_index(acts),
            lat,
            lon,
            flt,
            self.ref,
            k=k,
            radius_m=radius_m,
            radii_m=radii,
            actors=acts.directory.actors,
            search=acts.search,
            facets=acts.facets,
            commune_epci=self.terr.commune_epci,
            place_names=self.terr.place_names,
        )

    def languages(self) -> list[str]:
        """The languages spoken by the fiches this person may see, as written, sorted: asked of
        the database once per version and view (:func:`_spoken`)."""
        from reseaux.stockage import readings

        def on_database(store, key, asked):
            role = auth.current()[0]
            shown = (store.url, key, self.version, can(role, "voir_toutes_les_fiches"), config.get("visitors"))
            return _spoken(
                shown, lambda: readings.spoken(store, self.ref, key, asked=asked(ActorFilter()), version=self.version)
            )

        answered = self._of_database(on_database)
        if answered is not None:
            return answered
        return sorted({lang for langs in self.held().directory.actors["langues"] for lang in langs})

    def outreach(self, commune: str | None, zones: set[str]) -> pd.DataFrame:
        """The outreach actions whose zone names ``commune`` or one of ``zones`` (QPV codes)."""
        from reseaux.stockage import readings

        answered = self._of_database(
            lambda store, key, asked: readings.passing_through(
                store, self.ref, key, commune, zones, asked=asked(ActorFilter()), version=self.version
            )
        )
        if answered is not None:
            return answered
        return outreach_covering(self.held().directory.actors, commune, zones)


@st.cache_resource(show_spinner=False, max_entries=8)
def _spoken(shown: tuple, _ask: Callable[[], list[str]]) -> list[str]:
    """The languages of one version as one view sees them (``shown``: the database, readings,
    version, then the view), as ``_ask()`` gives them: asked once (at a million fiches the
    fiches' distinct cells are sorted, half a second), shared by the sessions."""
    return _ask()


def _around(asking: Asking, lat: float, lon: float, found: list) -> None:
    """What the starting point is in: the coordination perimeters, the outreach actions passing there."""
    if found:
        st.caption(md_escape(perimeter_sentence(found)))
    commune = commune_at(pd.Series([lon]), pd.Series([lat])).iloc[0] or None
    zones = {code for spec, code, _ in found if spec.zone_intervention}
    outreach = asking.outreach(commune, zones)
    if len(outreach):
        st.success(
            "Une action d'aller-vers passe dans ce quartier : " + " ; ".join(md_escape(n) for n in outreach["nom"]),
            icon=":material/directions_walk:",
        )


def _way_on(outcome: SearchResult, flt: ActorFilter, radius: float) -> pd.DataFrame:
    """Nothing within the radius: say why, offer the smallest wider radius that finds someone (one
    click) and the filter to take off, and return what to list instead (the nearest partners beyond
    the radius, with their true distance; else the nearest without the filter that empties the list)."""
    within = f"à moins de {radius_label(radius)}"
    beyond = outcome.beyond if outcome.beyond is not None else pd.DataFrame()
    names = [f"« {FIELD_NAMES.get(f, f)} »" for f in outcome.blocking]
    why = ""
    if len(beyond):
        why = f" Le plus proche est à {fr_distance(beyond['distance_m'].iloc[0])}."
        if names:
            why += (
                f" Sans le filtre {names[0]}, il y en a {within}."
                if len(names) == 1
                else f" Sans l'un de ces filtres, il y en a {within} : {', '.join(names)}."
            )
    st.warning(f"Aucun partenaire ne correspond {within}.{why} {md_escape(outcome.sentence)}")
    row = st.container(horizontal=True)
    if outcome.wider_m is not None:
        wider = outcome.wider_m / 1000
        row.button(
            f"Élargir à {radius_label(wider)} ({plural(outcome.wider_count, 'partenaire')})",
            key="tp_wider",
            type="primary",
            icon=":material/zoom_out_map:",
            on_click=st.session_state.__setitem__,
            args=("tp_radius", wider),
        )
    elif len(beyond):
        st.caption(f"Même à {radius_label(RADII_KM[-1])}, aucun : le plus proche est affiché ci-dessous.")
    if names:
        row.button(
            f"Retirer le filtre {names[0]}",
            key="tp_unblock",
            icon=":material/filter_alt_off:",
            on_click=_clear_facet,
            args=(outcome.blocking[0],),
        )
    if names and not len(beyond):
        st.markdown(
            f"C'est le filtre {names[0]} qui vide la liste. Sans lui, les plus proches sont :"
            if len(names) == 1
            else f"Chacun de ces filtres vide la liste : {', '.join(names)}. "
            f"Sans le filtre {names[0]}, les plus proches sont :"
        )
    if len(beyond):
        st.markdown(
            f"**{plural(len(beyond), 'partenaire')} {'le plus proche' if len(beyond) == 1 else 'les plus proches'}"
            f" au-delà de {radius_label(radius)}** :"
        )
        return beyond
    if outcome.without_blocking is not None:
        return outcome.without_blocking
    if not flt.is_empty:  # no single filter is to blame: they are, together
        st.markdown("Aucun partenaire de l'annuaire ne réunit tous ces critères, même loin.")
        st.button("Effacer les filtres", key="tp_clear", icon=":material/filter_alt_off:", on_click=_clear_filters)
    else:
        st.info(
            "L'annuaire n'a aucun partenaire placé sur la carte : la coordination du réseau peut en ajouter "
            "(page « Annuaire »)."
        )
    return beyond


def _clear_facet(facet: str) -> None:
    """« Retirer le filtre »: empty the sidebar widget of ``facet``."""
    st.session_state[f"tp_{facet}"] = "" if facet == "text" else []


def _clear_filters() -> None:
    for facet in (*FACETS, "langues", "text"):
        _clear_facet(facet)


def _card(partner: Partner) -> None:
    with st.container(border=True):
        st.markdown(
            f"**{partner.number}. {md_escape(partner.name)}** — {md_escape(partner.role)} · **{partner.distance}**"
        )
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
        st.session_state[FORGET_ADDRESS] = True  # emptied before the field is drawn again
        st.rerun()
    st.caption(
        "Cliquez sur la carte pour déplacer le point de départ ; sur un numéro pour sa fiche. "
        "Des numéros réunis (« 2 · 5 ») s'écartent d'un clic."
    )
