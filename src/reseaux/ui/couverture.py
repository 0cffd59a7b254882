"""Streamlit widgets of « Couverture »: layer, themes, distance; the choropleth, the table, the matrix."""

from __future__ import annotations

import altair as alt
import streamlit as st
from streamlit_folium import st_folium

from reseaux.app_data import Actors, Territory
from reseaux.coverage import (LABELS, MEASURES, PreparedLayer, actor_points, classes, coverage_table,
                              outreach_zones, summary_sentence, theme_matrix)
from reseaux.exports import table_csv_bytes, table_xlsx_bytes
from reseaux.filters import FACETS, ActorFilter, apply_filter
from reseaux.choropleth import build_coverage_map
from reseaux.referential import Referential
from reseaux.ui import FACET_LABELS, remember_query, seeding_query


@st.cache_resource(show_spinner="Préparation de la couche…")
def prepared(layer_id: str, _terr: Territory) -> PreparedLayer:
    return PreparedLayer.build(_terr.layers[layer_id])


def polygon_layers(terr: Territory) -> list[str]:
    return [s.id for s in terr.specs if not (terr.layers[s.id].geom_type == "Point").all()]


def sidebar(ref: Referential, terr: Territory) -> tuple[str, ActorFilter, float, str]:
    query = seeding_query("couverture", "cv_layer")
    if query is not None:
        flt = ActorFilter.from_query(query, ref)
        for facet in ("themes", "professions", "types"):
            st.session_state[f"cv_{facet}"] = list(getattr(flt, facet))
        layer = query.get("couche", "qpv")
        st.session_state["cv_layer"] = layer if layer in polygon_layers(terr) else polygon_layers(terr)[0]
        distance = query.get("distance", "1000")
        st.session_state["cv_distance"] = int(distance) if str(distance).isdigit() else 1000
        measure = query.get("mesure", "n_within")
        st.session_state["cv_measure"] = measure if measure in MEASURES else "n_within"
    with st.sidebar:
        st.header("Couverture")
        layer = st.selectbox("Périmètres", polygon_layers(terr), key="cv_layer",
                             format_func=lambda i: f"{terr.spec(i).group} — {terr.spec(i).label}")
        chosen = {}
        for facet in ("themes", "professions", "types"):
            labels = ref.labels(FACETS[facet][1])
            chosen[facet] = st.multiselect(FACET_LABELS[facet], list(labels), key=f"cv_{facet}",
                                           format_func=labels.get, placeholder="Toutes")
        distance = st.slider("Distance au bord du périmètre (m)", 0, 5000, step=100, key="cv_distance",
                             help="Un QPV est petit : il est servi par ce qui est à côté de lui.")
        measure = st.radio("Mesure cartographiée", list(MEASURES), key="cv_measure", format_func=MEASURES.get)
    flt = ActorFilter(**{facet: tuple(values) for facet, values in chosen.items()})
    query = {**flt.to_query(), "couche": layer, "distance": str(distance), "mesure": measure}
    remember_query("couverture", query)
    st.query_params.from_dict(query)
    return layer, flt, float(distance), measure


def what(ref: Referential, flt: ActorFilter) -> str:
    parts = [f"« {ref.label('thematique', t)} »" for t in flt.themes]
    parts += [f"« {ref.label('profession', p)} »" for p in flt.professions]
    parts += [f"« {ref.label('type', t)} »" for t in flt.types]
    return " ou ".join(parts)


def report(ref: Referential, terr: Territory, acts: Actors, layer_id: str, flt: ActorFilter,
           distance: float, measure: str) -> None:
    spec = terr.spec(layer_id)
    layer = prepared(layer_id, terr)
    actors = apply_filter(acts.directory.actors, flt, ref).actors
    zones = outreach_zones(acts.directory.actors, terr.layers["communes_normandie"], terr.layers["qpv"])
    table = coverage_table(layer, actor_points(actors), distance_m=distance, outreach_zones=zones)
    label = spec.label.split(" (")[0]
    sentence = summary_sentence(table, label, what(ref, flt), distance)
    (st.error if table["gap"].any() else st.success)(sentence)
    if spec.example:
        st.caption("Périmètres d'exemple, non officiels : remplacez-les par les listes officielles (voir le README).")
    gap_label = f"manque : aucun acteur à moins de {distance:g} m"
    fmap = build_coverage_map(terr.layers[layer_id], table, measure, MEASURES[measure], classes(table[measure]),
                              terr.home_bounds, gap_label=gap_label)
    st_folium(fmap, key="cv_map", height=560, use_container_width=True, returned_objects=[])
    st.subheader("Tableau par périmètre")
    readable = table.assign(outreach=table["outreach"].map({True: "oui", False: "non"}),
                            gap=table["gap"].map({True: "oui", False: "non"})).rename(columns=LABELS)
    st.dataframe(readable, hide_index=True, width="stretch", height=360)
    cols = st.columns(2)
    cols[0].download_button("Télécharger (CSV pour Excel)",
                            table_csv_bytes(readable),
                            f"couverture_{layer_id}.csv", "text/csv", key="cv_csv")
    cols[1].download_button("Télécharger (Excel)", table_xlsx_bytes(readable, "Couverture"),
                            f"couverture_{layer_id}.xlsx",
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="cv_xlsx")
    matrix_chart(ref, layer, acts, distance, len(table))


def matrix_chart(ref: Referential, layer: PreparedLayer, acts: Actors, distance: float, n: int) -> None:
    st.subheader("Thématiques × périmètres")
    if n > 80:
        st.caption(f"{n} périmètres : la matrice n'est tracée que pour 80 périmètres au plus ; choisissez une "
                   "couche plus petite (QPV, CPTS, CLS…).")
        return
    labels = ref.labels("thematique")
    matrix = theme_matrix(layer, acts.directory.actors, list(labels), labels, distance_m=distance)
    long = matrix.reset_index(names="Périmètre").melt(id_vars="Périmètre", var_name="Thématique",
                                                      value_name="Acteurs")
    chart = alt.Chart(long).mark_rect(stroke="white").encode(
        x=alt.X("Thématique:N", sort=list(labels.values()), axis=alt.Axis(labelAngle=-40)),
        y=alt.Y("Périmètre:N"),
        color=alt.Color("Acteurs:Q", scale=alt.Scale(scheme="viridis", reverse=True)),
        tooltip=["Périmètre", "Thématique", "Acteurs"],
    ).properties(height=max(200, 22 * n))
    text = alt.Chart(long).mark_text(fontSize=11).encode(
        x=alt.X("Thématique:N", sort=list(labels.values())), y="Périmètre:N",
        text="Acteurs:Q", color=alt.condition(alt.datum.Acteurs > matrix.values.max() / 2,
                                              alt.value("white"), alt.value("black")))
    st.altair_chart(chart + text, width="stretch")
    st.caption(f"Nombre d'acteurs de chaque thématique à moins de {distance:g} m de chaque périmètre ; "
               "0 = aucun acteur.")
