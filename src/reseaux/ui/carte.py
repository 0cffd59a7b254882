"""The main map page: the count and notices, the map (a constant base and the actors' layer), and
the list of the actors shown."""

from __future__ import annotations

import hashlib

import folium
import streamlit as st
from streamlit_folium import st_folium

from reseaux.acces.access import EXPORT_NOTICE, can, exportable_actors, reserved_sentence
from reseaux.analyse.filters import FIELD_NAMES, ActorFilter
from reseaux.annuaire import columns
from reseaux.annuaire.exports import table_xlsx_bytes
from reseaux.annuaire.fiche_service import served_views
from reseaux.annuaire.listing import people_table
from reseaux.annuaire.referential import Referential
from reseaux.app_data import Territory
from reseaux.carte.actor_layer import build_actor_layer, fiche_lines
from reseaux.carte.assets import MissingAssetsError
from reseaux.carte.legend import legend_html
from reseaux.carte.mapview import MapView, build_base_map
from reseaux.text import fr_number, md_escape, plural
from reseaux.ui import auth
from reseaux.ui.loading import changed_since, fiche_store, of_this_version, territory
from reseaux.ui.map_answers import MapAnswers
from reseaux.ui.sidebar import reset_filters, take_off
from reseaux.ui.widgets import XLSX_MIME, download, skip_links, skip_target, whole_file_refused

#: Rows of the on-screen list (the downloads hold them all, with every column of the people's list).
TABLE_ROWS = 1000
#: Session key: the person asked for the list when it would be partial (see :func:`actor_table`).
LIST_OPENED = "_carte_liste_demandee"


#: The map fits the first screen under the title and the count (the iframe's height is set by
#: the component; CSS wins over it). On a phone the title shrinks and the notices (demonstration
#: data, public view, problems) move below the map, before the list: the main column is a flex
#: column, so ``order`` moves them (their keyed containers' wrappers) without sending them twice;
#: the count sentence stays above.
MAP_CSS = """<style>
iframe[title="streamlit_folium.st_folium"] { height: max(440px, calc(100vh - 370px)) !important; }
@media (max-width: 640px) {
  iframe[title="streamlit_folium.st_folium"] { height: 68vh !important; }
  h1 { font-size: 1.3rem !important; }
  :has(> .st-key-carte_avis) { order: 1; }
  :has(> .st-key-carte_liste) { order: 2; }
}
</style>"""


def header(shown: MapAnswers) -> None:
    """Title, short notices (demonstration data, public view, problems) and the count sentence.

    On a phone the map must start in the first screen: the notices move below it (:data:`MAP_CSS`).
    """
    skip_links(("carte", "Aller à la carte"), ("resultats", "Aller aux résultats"))
    st.markdown(MAP_CSS, unsafe_allow_html=True)
    st.title(territory().title)
    with st.container(key="carte_avis"):
        notices(shown)
    unplaced = f" ({plural(shown.count - shown.placed, 'sans position')})" if shown.placed < shown.count else ""
    reserved = f" · {reserved_sentence(shown.reserved)}" if shown.reserved else ""
    st.markdown(
        f"**{plural(shown.count, 'acteur')} sur {fr_number(shown.total)}** · {md_escape(shown.sentence)}{unplaced}{reserved}"
    )


def nobody(shown: MapAnswers, flt: ActorFilter) -> None:
    """No actor for these filters: say which filter empties the list, and take it off in one click."""
    if shown.count or flt.is_empty:
        return
    culprits = shown.culprits()
    names = [f"« {FIELD_NAMES[c]} »" for c in culprits]
    if len(names) == 1:
        why = f"C'est le filtre {names[0]} qui vide la liste : sans lui, des acteurs apparaissent."
    elif names:
        why = f"Chacun de ces filtres vide la liste : {', '.join(names)} ; retirez-en un."
    else:
        why = "Aucun filtre seul n'en est la cause : c'est leur réunion. Effacez-les pour repartir de tout l'annuaire."
    st.warning(f"**Aucun acteur ne correspond à ces filtres.** {why}", icon=":material/filter_alt_off:")
    row = st.container(horizontal=True)
    for culprit, name in zip(culprits, names, strict=True):
        row.button(f"Retirer le filtre {name}", key=f"carte_off_{culprit}", on_click=take_off, args=(culprit,))
    row.button("Effacer les filtres", key="carte_off_all", on_click=reset_filters)


def notices(shown: MapAnswers) -> None:
    """Demonstration data, problems of the directory, the public view: above the map, below it on a phone."""
    total, n_fictive = shown.total, shown.fictive
    if n_fictive:
        every = (
            "Toutes les fiches sont fictives"
            if n_fictive == total
            else f"{plural(n_fictive, 'fiche fictive', 'fiches fictives')} sur {fr_number(total)}"
        )
        st.warning(
            f"**Données de démonstration** — {every} (personnes, adresses, téléphones et courriels inventés).",
            icon=":material/science:",
        )
    problems = []
    if shown.rejected:
        problems.append(f"{plural(shown.rejected, 'ligne écartée', 'lignes écartées')} pour erreur")
    if shown.unplaced:
        n = shown.unplaced
        problems.append(
            f"{plural(n, 'acteur sans position', 'acteurs sans position')}, "
            f"{'absent' if n < 2 else 'absents'} de la carte"
        )
    approximate = shown.approximate
    if approximate:
        problems.append(
            f"{plural(approximate, 'acteur placé', 'acteurs placés')} au centre de la commune, faute "
            "de géocodage précis"
        )
    role = auth.current()[0]
    if problems:
        # Each role is pointed only where it may go: the quality page is the coordination's.
        where = (
            "détails dans la page « Qualité de l'annuaire »"
            if can(role, "modifier")
            else "à corriger par la coordination du réseau"
        )
        st.info(" ; ".join(problems) + f" — {where}.", icon=":material/warning:")
    if not can(role, "voir_toutes_les_fiches"):
        st.caption(
            "Vue publique : établissements, actions et fiches publiques. "
            "Les membres du réseau se connectent pour voir toutes les fiches."
        )


def show_map(ref: Referential, terr: Territory, view: MapView, shown: MapAnswers, flt: ActorFilter) -> None:
    """The map: a constant base (tiles, perimeters, legend) and the actors' layer on top.

    The base map's script does not depend on the filters, so streamlit-folium keeps the same
    map across a filter change and only swaps the actors' layer.
    """
    try:
        fiches = fiche_store(shown.rows, ref)
        base = build_base_map(
            terr.layers,
            terr.specs,
            view,
            ref,
            terr.opening_bounds(shown.positions),
            legend_codes=None,
            fiches=fiches,
            geojson=terr.geojson,
            controls=True,
            places=terr.places(shown.positions),
        )
        highlight = flt.themes if view.color_by == "thematique" else flt.professions
        layers = [terr.spec(i) for i in view.layers if any(s.id == i for s in terr.specs)]
        legend = legend_html(ref, view.color_by, shown.legend, layers)
        focus = terr.perimeter_geojson(flt.perimeter) if flt.perimeter else None
        actor_group = build_actor_layer(
            shown.drawn,
            ref,
            view.color_by,
            highlight=highlight,
            name="Acteurs",
            legend=legend,
            focus=(flt.perimeter, focus) if focus else None,
            served=served_views(fiches.url),
            directory_placed=shown.placed_total,
            colors=shown.colors,
        )
    except MissingAssetsError as exc:
        st.error(str(exc))
        return
    skip_target("carte")
    st_folium(
        base,
        feature_group_to_add=actor_group,
        layer_control=folium.LayerControl(collapsed=True),
        key="carte",
        height=640,
        use_container_width=True,
        returned_objects=[],
    )


def actor_table(ref: Referential, shown: MapAnswers) -> None:
    """The filtered list as people read it (labels, French dates), downloadable for Excel.

    On screen, the first :data:`TABLE_ROWS` only: a list of 100,000 rows was 1.2 s of work and
    20 MB sent to the browser at every filter change, for a table nobody scrolls; the downloads
    hold every row and are built only when clicked. A list that would be partial (more actors
    shown than it holds) opens on request (a switch; :data:`LIST_OPENED`, for the visit): drawing
    Streamlit's table beside the map cost its first marker 0.2 to 0.3 s at a million fiches,
    whatever its rows (docs/mesures.md), for the first thousand of a list read whole by download."""
    with st.container(key="carte_liste"):
        _actor_table(ref, shown)


def _fiche(ref: Referential, actor) -> None:
    """One actor's fiche, as the map's popup says it (the same fields, in the same order, the date in French)."""
    lines = fiche_lines(actor, ref)
    with st.container(border=True, key="carte_fiche"):
        name = next((text for column, _, text in lines if column == "nom"), "")
        st.subheader(f"Fiche « {md_escape(name)} »")
        said = []
        for column, label, text in lines:
            if column == "nom":
                continue
            said.append(f"**{label}** : {md_escape(text)}" if label else f"_{md_escape(text)}_")
        st.markdown("  \n".join(said))


def _actor_table(ref: Referential, shown: MapAnswers) -> None:
    skip_target("resultats")
    st.header(f"Liste des acteurs affichés ({fr_number(shown.count)})")
    if shown.count > TABLE_ROWS:
        st.caption(
            f"Au-delà de {fr_number(TABLE_ROWS)} acteurs, l'écran montre les {fr_number(TABLE_ROWS)} premiers, "
            "à la demande (la carte s'affiche ainsi plus vite) ; la liste complète se télécharge ci-dessous."
        )
        # A switch, not a button that gives way to the table: it stays where the keyboard left it.
        # Its state outlives it (LIST_OPENED): a filter down to 1,000 or fewer hides it, not resets it.
        st.toggle(
            f"Afficher les {fr_number(TABLE_ROWS)} premiers",
            value=bool(st.session_state.get(LIST_OPENED)),
            key="carte_liste_ouvrir",
            on_change=lambda: st.session_state.update({LIST_OPENED: st.session_state["carte_liste_ouvrir"]}),
        )
    if shown.count <= TABLE_ROWS or st.session_state.get(LIST_OPENED):
        _on_screen(ref, shown)
    _downloads(ref, shown)


def _on_screen(ref: Referential, shown: MapAnswers) -> None:
    """The list on screen (its first :data:`TABLE_ROWS`), a row ticked opening its fiche under it."""
    first = shown.listed(TABLE_ROWS)
    table = people_table(first, ref, columns.MAP_TABLE)
    st.caption("Cochez une ligne pour lire la fiche de l'acteur sous la liste.")
    # The selection is a row number of this list: another filter makes another list (another key),
    # so that row 1 of one list never opens row 1 of the one before.
    listed = hashlib.sha256(f"{shown.sentence}|{shown.count}".encode()).hexdigest()[:16]
    event = st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=320,
        column_config={"Site web": st.column_config.LinkColumn("Site web")},
        key=f"carte_table_{listed}",
        on_select="rerun",
        selection_mode="single-row",
    )
    rows = event.selection.rows if event and event.selection else []
    if rows and rows[0] < len(first):
        _fiche(ref, first.iloc[[rows[0]]])


def _downloads(ref: Referential, shown: MapAnswers) -> None:
    """The whole list, as CSV and Excel, of what the person may take away: read when asked (on
    PostgreSQL, every fiche the filters keep is then read from the database)."""
    role = auth.current()[0]
    exported = shown.exported(role)
    # Fiches for members among those shown, which this person sees but may not take away.
    if exported < shown.count:
        st.caption(EXPORT_NOTICE)

    left, right = st.columns(2)
    shown_version = st.session_state.get("_directory_source")
    download(
        left,
        "Télécharger la liste (CSV pour Excel)",
        of_this_version(lambda: shown.exported_csv(ref, role), changed_since("csv"), shown_version),
        "acteurs_filtres.csv",
        "text/csv",
        "carte_csv",
    )
    refused = whole_file_refused(exported)
    if refused:
        right.caption(refused)
        return
    download(
        right,
        "Télécharger la liste (Excel)",
        of_this_version(
            lambda: table_xlsx_bytes(people_table(exportable_actors(shown.listed(None), role), ref), "Acteurs"),
            changed_since("xlsx"),
            shown_version,
        ),
        "acteurs_filtres.xlsx",
        XLSX_MIME,
        "carte_xlsx",
    )
