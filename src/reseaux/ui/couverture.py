"""Streamlit widgets of « Couverture »: layer, filters, distance; the sentence, the choropleth, the
table and its exports, the themes × perimeters matrix."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

import altair as alt
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from reseaux import config
from reseaux.acces.access import can
from reseaux.analyse.coverage import (
    OutreachAreas,
    Positions,
    PreparedLayer,
    coverage_table,
    outreach_codes,
    theme_matrix,
    zones_of_codes,
)
from reseaux.analyse.coverage_report import (
    MEASURES,
    classes,
    filter_phrase,
    readable_table,
    summary_sentence,
    table_labels,
)
from reseaux.analyse.filters import FIELD_NAMES, ActorFilter, apply_filter, emptying_fields
from reseaux.annuaire.exports import table_csv_bytes, table_xlsx_bytes
from reseaux.annuaire.referential import Referential
from reseaux.app_data import Actors, Territory, reading_key
from reseaux.carte.choropleth import DENSE, coverage_base_map, coverage_overlay, shapes_json
from reseaux.text import fr_distance, md_escape, plural
from reseaux.ui import XLSX_MIME, auth, download, facet_select, remember_query, seeding_query
from reseaux.ui.loading import proximity_index

DISTANCES = list(range(0, 5001, 100))
#: Also the widget's default: a browser that lost the value seeded from the URL falls back here, not to 0 m.
DEFAULT_DISTANCE = 1000
MATRIX_MAX = 80  # perimeters: beyond, the matrix is unreadable
T = TypeVar("T")

#: The page's choice widgets (the first tells whether they are seeded).
_KEYS = ("cv_layer", "cv_distance", "cv_measure", *(f"cv_{facet}" for facet in ("themes", "professions", "types")))


@st.cache_resource(show_spinner=False)
def prepared(layer_id: str, _terr: Territory) -> PreparedLayer:
    return PreparedLayer.build(_terr.layers[layer_id])


@st.cache_resource(show_spinner=False)
def base_shapes(layer_id: str, _terr: Territory) -> str:
    """The layer's shapes as the base map embeds them: serialised once per layer, not per rerun."""
    return shapes_json(_terr.geojson[layer_id])


@st.cache_resource(show_spinner=False, max_entries=16)
def outreach_areas(codes: frozenset[str], _terr: Territory) -> OutreachAreas:
    """The outreach actions' areas, computed once per set of zones (so once per directory version),
    and projected once per territory system."""
    return OutreachAreas(zones_of_codes(codes))


#: How many coverage tables and matrices a process keeps (a table of the 2,644 communes of
#: Normandie weighs a few hundred kilobytes), shared by its sessions (:func:`computed`).
COMPUTED_KEPT = 16


def computed(asked: tuple, ref: Referential, terr: Territory, measure: Callable[[], T]) -> T:
    """``measure()``, or what it gave for the same question (``asked``: the layer, the filter, the
    distance) on the same directory as this person sees it and the same territory: the version
    this page shows (``_directory_source``) read with the same referential and code
    (``app_data.reading_key``), the view of the role (what a visitor sees is not what a member
    sees), the territory's layers as loaded. A change of the measure shown, a download,
    the matrix after the table, or the next person of a webinar opening the same link: no coverage
    measured again (at a million fiches, 6 s for the 2,644 communes)."""
    role = auth.current()[0]
    view = (can(role, "voir_toutes_les_fiches"), config.get("visitors"))
    key = (st.session_state.get("_directory_source"), reading_key(ref), view, id(terr), repr(asked))
    return _computed(key, _terr=terr, _measure=measure)[1]


@st.cache_resource(show_spinner=False, max_entries=COMPUTED_KEPT)
def _computed(key: tuple, *, _terr: Territory, _measure: Callable[[], T]) -> tuple[Territory, T]:
    """The answer of ``key``'s question, with the territory it was measured on: held with it, so
    that its identity in the key stands for its layers while the answer is kept."""
    return _terr, _measure()


class Counted(Protocol):
    """The actors Couverture counts, as this person sees them (:func:`counted_now`): the directory
    read in memory (:class:`InMemory`) or, on PostgreSQL, the index of the database
    (:class:`InDatabase`): the same answers (``tests/test_map_answers.py``)."""

    #: The actors' ``latitude`` and ``longitude`` (the layer the page opens on).
    positions: pd.DataFrame

    def kept(self, flt: ActorFilter) -> pd.DataFrame:
        """The actors ``flt`` keeps (their positions at least, labelled as :meth:`measured`'s)."""

    def measured(self) -> Positions:
        """The actors' positions in their territories' systems, measured once per version and view."""

    def outreach(self) -> frozenset[str]:
        """The INSEE or QPV codes the outreach actions name."""

    def holds(self, flt: ActorFilter):
        """For the matrix: which placed actors ``flt`` keeps hold a theme (None: their frame says it)."""

    def culprits(self, flt: ActorFilter) -> list[str]:
        """The fields of ``flt`` each of which, taken off alone, gives actors back."""


def counted_now(ref: Referential, held: Callable[[], Actors]) -> Counted:
    """This run's: the database's index when it may answer, else the directory in memory
    (``held()``: on PostgreSQL, read only then)."""
    from reseaux.ui.map_answers import on_database

    found = on_database(ref, lambda seen, role, visitors: InDatabase(seen))
    return found if found is not None else InMemory(ref, held())


class InMemory:
    """The directory read in memory, as the person may see it (``acts``)."""

    def __init__(self, ref: Referential, acts: Actors) -> None:
        self.ref, self.acts = ref, acts
        self.positions = acts.directory.actors

    def kept(self, flt: ActorFilter) -> pd.DataFrame:
        return apply_filter(self.acts.directory.actors, flt, self.ref, facets=self.acts.facets).actors

    def measured(self) -> Positions:
        return Positions.of_index(proximity_index(self.acts))

    def outreach(self) -> frozenset[str]:
        return outreach_codes(self.acts.directory.actors)

    def holds(self, flt: ActorFilter):
        return None

    def culprits(self, flt: ActorFilter) -> list[str]:
        return emptying_fields(self.acts.directory.actors, flt, self.ref, facets=self.acts.facets)


class InDatabase:
    """The directory as the person sees it in the database (``seen``,
    :class:`~reseaux.ui.database_rows.DatabaseRows`: its index held by the process)."""

    def __init__(self, seen) -> None:
        self.seen = seen
        self.positions = seen.positions

    def kept(self, flt: ActorFilter) -> pd.DataFrame:
        return self.seen.frame(self.seen.keeps(flt))

    def measured(self) -> Positions:
        return self.seen.measured()

    def outreach(self) -> frozenset[str]:
        return self.seen.outreach_codes()

    def holds(self, flt: ActorFilter):
        return self.seen.holding(self.seen.keeps(flt), "themes")

    def culprits(self, flt: ActorFilter) -> list[str]:
        return [name for name in FIELD_NAMES if getattr(flt, name) and self.seen.keeps(flt.without(name)).any()]


def polygon_layers(terr: Territory) -> list[str]:
    return [s.id for s in terr.specs if not (terr.layers[s.id].geom_type == "Point").all()]


def sidebar(ref: Referential, terr: Territory, counted: Counted) -> tuple[str, ActorFilter, float, str]:
    if not polygon_layers(terr):
        st.warning(
            "Aucune couche de périmètres utilisable : la couverture se compte par périmètre (QPV, "
            "communes, CPTS…). Voyez « Sources et crédits » pour la raison, puis corrigez le registre.",
            icon=":material/layers_clear:",
        )
        st.stop()
    query = seeding_query("couverture", _KEYS)
    if query is not None:
        flt = ActorFilter.from_query(query, ref)
        for facet in ("themes", "professions", "types"):
            st.session_state[f"cv_{facet}"] = list(getattr(flt, facet))
        layer = query.get("couche", "")
        st.session_state["cv_layer"] = (
            layer if layer in polygon_layers(terr) else terr.covering_layer(polygon_layers(terr), counted.positions)
        )
        distance = str(query.get("distance", DEFAULT_DISTANCE))
        known = distance.isdigit() and int(distance) in DISTANCES
        st.session_state["cv_distance"] = int(distance) if known else DEFAULT_DISTANCE
        measure = query.get("mesure", "n_within")
        st.session_state["cv_measure"] = measure if measure in MEASURES else "n_within"
    with st.sidebar:
        st.header("Couverture")
        layer = st.selectbox(
            "Périmètres",
            polygon_layers(terr),
            key="cv_layer",
            format_func=lambda i: f"{terr.spec(i).group} — {terr.spec(i).label}",
        )
        chosen = {}
        for facet in ("themes", "professions", "types"):
            chosen[facet] = facet_select(ref, facet, f"cv_{facet}")
        distance = st.select_slider(
            "Distance au bord du périmètre",
            DISTANCES,
            value=DEFAULT_DISTANCE,
            key="cv_distance",
            format_func=fr_distance,
            help="Un QPV est petit : il est servi par ce qui est à côté de lui.",
        )
        measure = st.radio(
            "Mesure cartographiée", list(MEASURES), key="cv_measure", format_func=lambda m: MEASURES[m].label
        )
    flt = ActorFilter(**{facet: tuple(values) for facet, values in chosen.items()})
    query = {**flt.to_query(), "couche": layer, "distance": str(distance), "mesure": measure}
    remember_query("couverture", query)
    st.query_params.from_dict(query)
    return layer, flt, float(distance), measure


def report(
    ref: Referential, terr: Territory, counted: Counted, layer_id: str, flt: ActorFilter, distance: float, measure: str
) -> None:
    """The sentence, the map, the table and the matrix, under a busy sign while they are computed.

    Another layer than the one drawn: the old map and table go at once — their container is
    replaced by an empty placeholder before anything is computed (a new container at the same
    place would keep the old children until the run ends) — not left under the new sentence.
    The same layer: the same container, so the map's base stays in the browser and only its
    overlay changes.
    """
    fresh = st.session_state.get("_cv_drawn") != layer_id
    body = st.empty() if fresh else st
    n = len(terr.layers[layer_id])
    with st.spinner(f"Calcul de la couverture : {plural(n, 'périmètre')}…"):
        if fresh:
            body.info(f"Calcul et dessin de la couverture : {plural(n, 'périmètre')}…", icon=":material/hourglass_top:")
        layer = prepared(layer_id, terr)

        def measured() -> tuple[pd.DataFrame, bool]:
            return counted_table(counted, layer, flt, distance, outreach_areas(counted.outreach(), terr))

        table, nobody = computed(("table", layer_id, flt, distance), ref, terr, measured)
        base_shapes(layer_id, terr)  # serialised once per layer, under the busy sign
    with body.container():
        spec = terr.spec(layer_id)
        what = filter_phrase(ref, flt)
        sentence = summary_sentence(table, md_escape(spec.label.split(" (")[0]), what, distance)
        (st.error if table["gap"].any() else st.success)(sentence)
        if nobody and not flt.is_empty:
            _nobody(counted, flt)
        if spec.example:
            st.caption(
                "Périmètres d'exemple, non officiels : remplacez-les par les listes officielles (guide "
                "d'utilisation, `docs/guide-utilisateur.md` : « Remplacer les périmètres d'exemple »)."
            )
        coverage_map(terr, layer_id, table, measure, what, distance)
        coverage_table_panel(table, layer_id, distance)
        matrix_chart(ref, terr, layer, layer_id, counted, flt, distance, len(table))
    st.session_state["_cv_drawn"] = layer_id


def counted_table(
    counted: Counted, layer: PreparedLayer, flt: ActorFilter, distance: float, zones: OutreachAreas
) -> tuple[pd.DataFrame, bool]:
    """The coverage of ``layer`` by the actors ``flt`` keeps, and whether it keeps none. The actors'
    territories and projected positions are measured once per directory version (the proximity
    index Trouver keeps, or the database index's), not at every rerun, nor twice (table and matrix)."""
    actors = counted.kept(flt)
    table = coverage_table(layer, counted.measured().of_actors(actors), distance_m=distance, outreach_zones=zones)
    return table, actors.empty


def counted_matrix(
    counted: Counted, layer: PreparedLayer, flt: ActorFilter, labels: dict[str, str], distance: float
) -> pd.DataFrame:
    """Themes × perimeters of ``layer``: the actors ``flt`` keeps of each theme within ``distance``."""
    actors = counted.kept(flt)
    return theme_matrix(
        layer,
        actors,
        list(labels),
        labels,
        distance_m=distance,
        positions=counted.measured(),
        holds=counted.holds(flt),
    )


def _nobody(counted: Counted, flt: ActorFilter) -> None:
    """No actor of the directory matches: every perimeter is a gap for that reason alone. Say so, name
    the filter that empties the list, take it off in one click."""
    culprits = counted.culprits(flt)
    names = [f"« {FIELD_NAMES[c]} »" for c in culprits]
    why = (
        f"C'est le filtre {names[0]} qui la vide."
        if len(names) == 1
        else f"Chacun de ces filtres la vide : {', '.join(names)}."
        if names
        else "C'est la réunion des filtres."
    )
    st.warning(
        f"**Aucun acteur de l'annuaire ne correspond à ces filtres** : tous les périmètres sont en manque "
        f"pour cette seule raison. {why}",
        icon=":material/filter_alt_off:",
    )
    row = st.container(horizontal=True)
    for culprit, name in zip(culprits, names, strict=True):
        row.button(f"Retirer le filtre {name}", key=f"cv_off_{culprit}", on_click=_take_off, args=(culprit,))
    row.button("Effacer les filtres", key="cv_off_all", on_click=_take_off, args=("themes", "professions", "types"))


def _take_off(*fields: str) -> None:
    for name in fields:
        st.session_state[f"cv_{name}"] = []


def coverage_map(terr: Territory, layer_id: str, table: pd.DataFrame, measure: str, what: str, distance: float) -> None:
    """The choropleth: the base (shapes) stays in the browser, only the overlay changes."""
    spec = MEASURES[measure]
    within = f"Acteurs à moins de {fr_distance(distance)}"
    title = within if measure == "n_within" else spec.label
    mapped = table[measure].where(~table["gap"])  # gaps are drawn apart: they do not shape the classes
    overlay = coverage_overlay(
        table,
        measure,
        spec,
        classes(mapped),
        title=title,
        within_label=within,
        gap_label=f"manque : aucun {'de ces acteurs' if what else 'acteur'} à moins de {fr_distance(distance)}",
    )
    base = coverage_base_map(base_shapes(layer_id, terr), terr.layers[layer_id].total_bounds, dense=len(table) > DENSE)
    st_folium(
        base, feature_group_to_add=overlay, key="cv_map", height=520, use_container_width=True, returned_objects=[]
    )


def coverage_table_panel(table: pd.DataFrame, layer_id: str, distance: float) -> None:
    st.header("Tableau par périmètre")
    readable = readable_table(table, distance)
    labels = table_labels(distance)
    number = {
        labels[c]: st.column_config.NumberColumn(labels[c], format="localized")
        for c in ("n_inside", "n_within", "population", "per_10k", "distance_nearest_m")
    }
    st.dataframe(readable, hide_index=True, width="stretch", height=360, column_config=number, placeholder="—")
    st.caption(
        "« — » : sans objet — population inconnue (c'est le cas des QPV), ou aucun acteur correspondant "
        "dans l'annuaire. Les nombres suivent la langue de votre navigateur."
    )
    cols = st.columns(2)
    # Built when clicked, not on every rerun (the Excel file of 2,644 communes takes 0.5 s).
    download(
        cols[0],
        "Télécharger (CSV pour Excel)",
        lambda: table_csv_bytes(readable),
        f"couverture_{layer_id}.csv",
        "text/csv",
        "cv_csv",
    )
    download(
        cols[1],
        "Télécharger (Excel)",
        lambda: table_xlsx_bytes(readable, "Couverture"),
        f"couverture_{layer_id}.xlsx",
        XLSX_MIME,
        "cv_xlsx",
    )


def matrix_chart(
    ref: Referential,
    terr: Territory,
    layer: PreparedLayer,
    layer_id: str,
    counted: Counted,
    flt: ActorFilter,
    distance: float,
    n: int,
) -> None:
    """Themes × perimeters, counting the actors that pass the profession and type filters."""
    st.header("Thématiques × périmètres")
    if n > MATRIX_MAX:
        st.caption(
            f"{plural(n, 'périmètre')} : la matrice n'est tracée que pour {MATRIX_MAX} périmètres au plus ; "
            "choisissez une couche plus petite (QPV, CPTS, CLS…)."
        )
        return
    others = ActorFilter(professions=flt.professions, types=flt.types)
    labels = ref.labels("thematique")

    def measured() -> pd.DataFrame:
        return counted_matrix(counted, layer, others, labels, distance)

    matrix = computed(("matrix", layer_id, others, distance), ref, terr, measured)
    long = matrix.reset_index(names="Périmètre").melt(id_vars="Périmètre", var_name="Thématique", value_name="Acteurs")
    order = list(labels.values())
    x = alt.X(
        "Thématique:N",
        sort=order,
        title=None,
        axis=alt.Axis(
            labelAngle=-40, labelOverlap=False, labelLimit=220, orient="top", labelFontSize=12, labelColor="#222222"
        ),
    )
    y = alt.Y(
        "Périmètre:N",
        sort=list(dict.fromkeys(matrix.index)),
        title=None,
        axis=alt.Axis(labelOverlap=False, labelLimit=320, labelFontSize=12, labelColor="#222222"),
    )
    scale = alt.Scale(scheme="viridis", reverse=True, domainMin=1)
    cells = (
        alt.Chart(long)
        .mark_rect(stroke="white")
        .encode(
            x=x,
            y=y,
            tooltip=["Périmètre", "Thématique", "Acteurs"],
            # 0 is a gap: light grey, apart from the colour scale, as the map draws gaps apart
            color=alt.condition(
                alt.datum.Acteurs == 0,
                alt.value("#eeeeee"),
                alt.Color("Acteurs:Q", scale=scale, legend=alt.Legend(title="Acteurs", format="d", tickMinStep=1)),
            ),
        )
    )
    numbers = (
        alt.Chart(long)
        .mark_text(fontSize=11)
        .encode(
            x=x,
            y=y,
            text="Acteurs:Q",
            color=alt.condition(
                alt.datum.Acteurs > max(int(matrix.values.max()), 1) / 2, alt.value("white"), alt.value("#222222")
            ),
        )
    )
    chart = alt.layer(cells, numbers).properties(height=alt.Step(26), width=alt.Step(44))
    with st.container(key="cv_matrix"):
        # A phone is narrower than 12 readable columns: the matrix scrolls sideways, not the page.
        st.html("<style>.st-key-cv_matrix [data-testid='stFullScreenFrame']{overflow-x:auto}</style>")
        st.altair_chart(chart, width="content")
    scope = filter_phrase(ref, others)
    st.caption(
        f"Pour chaque thématique et chaque périmètre : nombre d'acteurs {scope + ' ' if scope else ''}"
        f"à moins de {fr_distance(distance)} (dedans compris) ; case grise = aucun. "
        + (
            "Les filtres de profession et de type s'appliquent ; celui des thématiques, non : chaque colonne "
            "est une thématique."
            if scope
            else "Toutes professions et tous types d'acteurs."
        )
    )
