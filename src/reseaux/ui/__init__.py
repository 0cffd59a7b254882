"""The Streamlit edge (the only package that imports Streamlit): cached loaders, sidebar, map, tables.

Pages call these functions and render what they return; the work itself lives in the plain
modules (filters, mapview, directory…).
"""

from __future__ import annotations

from pathlib import Path

import folium
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from reseaux import config
from reseaux.app_data import Actors, Territory, load_actors, load_referential_file, load_territory, visible_view
from reseaux.assets import MissingAssetsError
from reseaux.access import can
from reseaux.directory import LABELS, DirectoryError
from reseaux.exports import table_csv_bytes, table_xlsx_bytes
from reseaux.listing import people_table
from reseaux.filters import FACETS, ActorFilter, FilterResult, apply_filter
from reseaux.france import FranceDataMissing
from reseaux.layers import RegistryError
from reseaux.actor_layer import build_actor_layer
from reseaux.legend import COLOR_BY, legend_codes, legend_html
from reseaux.mapbits import BASEMAP_LABELS
from reseaux.mapview import MapView, build_base_map
from reseaux.referential import Referential
from reseaux.territory import TerritoryError
from reseaux.text import fr_number, plural
from reseaux.ui import auth

FACET_LABELS = {
    "themes": "Thématiques",
    "professions": "Professions",
    "types": "Types d'acteurs",
    "publics": "Publics",
    "modalites": "Modalités (toutes requises)",
    "accessibilite": "Accessibilité (toutes requises)",
}
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Columns of the on-screen list (the download has every column of :mod:`reseaux.listing`).
TABLE_COLUMNS = ("nom", "type", "profession", "structure", "thematiques", "commune", "telephone", "email",
                 "site_web", "date_maj")


#: The map fits the first screen under the title and the count (the iframe's height is set by
#: the component; CSS wins over it); on a phone the page title shrinks.
MAP_CSS = """<style>
iframe[title="streamlit_folium.st_folium"] { height: max(440px, calc(100vh - 370px)) !important; }
@media (max-width: 640px) {
  iframe[title="streamlit_folium.st_folium"] { height: 72vh !important; }
  h1 { font-size: 1.6rem !important; }
}
</style>"""


#: Every page: less empty space above the title, so the map and tables come up sooner; and no
#: « Press Enter to apply » under a text field (Streamlit's English; our placeholders say « Entrée »).
PAGE_CSS = """<style>
[data-testid="stMainBlockContainer"] { padding-top: 2.2rem; }
[data-testid="InputInstructions"] { display: none; }
@media (max-width: 640px) { [data-testid="stMainBlockContainer"] { padding-top: 1.2rem; } }
</style>"""


def page_style() -> None:
    st.markdown(PAGE_CSS, unsafe_allow_html=True)


# --- widgets every page uses the same way ----------------------------------------------------


def choose_many(label: str, options, **kwargs) -> list:
    """``st.multiselect`` without Streamlit's English « Select all » entry (no French for it)."""
    return st.multiselect(label, options, select_all=False, **kwargs)


def facet_select(ref: Referential, facet: str, key: str) -> list[str]:
    """The multiselect of one filter facet (themes, professions, types…), labels from the referential."""
    labels = ref.labels(FACETS[facet][1])
    return choose_many(FACET_LABELS[facet], list(labels), key=key, format_func=labels.get,
                       placeholder="Tous" if facet == "types" else "Toutes")


def download(where, label: str, data, file_name: str, mime: str, key: str, **options) -> None:
    """A download button that does not rerun the page: a rerun renews every file's address, and a
    second download clicked meanwhile would be cancelled by the browser. ``data`` may be a callable,
    then built only when clicked."""
    where.download_button(label, data, file_name, mime, key=key, on_click="ignore", **options)


# --- cached loaders --------------------------------------------------------------------------


@st.cache_resource(show_spinner="Chargement des périmètres…")
def territory() -> Territory:
    return load_territory()


@st.cache_resource
def referential() -> Referential:
    return load_referential_file()


@st.cache_resource(show_spinner="Chargement de l'annuaire…")
def _actors(path: str, mtime: float) -> Actors:  # mtime is part of the key: a saved file reloads
    return load_actors(Path(path), referential())


@st.cache_resource(show_spinner=False)
def _visible(path: str, mtime: float, role: str, visitors: str) -> Actors:  # one cached view per role
    return visible_view(_actors(path, mtime), role, visitors)


def actors() -> Actors:
    """The directory named by RESEAUX_ACTORS as the session's role may see it (one rule:
    access.visible_actors), reloaded when the file changes on disk."""
    path = config.path("actors")
    mtime = path.stat().st_mtime if path.exists() else 0.0
    role, _ = auth.current()
    if can(role, "voir_toutes_les_fiches"):
        return _actors(str(path), mtime)
    return _visible(str(path), mtime, role, config.get("visitors"))


def load_or_stop() -> tuple[Referential, Territory, Actors]:
    """Load everything; on a problem, show it in French and stop the page (no stack trace).

    A map page opened by link when visitors see nothing (``RESEAUX_VISITORS=rien``) says so.
    """
    from reseaux.access import can_see_map

    if not can_see_map(auth.current()[0], config.get("visitors")):
        st.warning("Cette carte est réservée aux membres du réseau : connectez-vous (barre latérale).")
        st.stop()
    try:
        loaded = referential(), territory(), actors()
    except (DirectoryError, RegistryError, TerritoryError, FranceDataMissing, ValueError, OSError) as exc:
        st.error(f"**Impossible de charger les données.** {exc}")
        st.stop()
        raise
    if loaded[1].broken:
        names = ", ".join(f"« {name} »" for name, _ in loaded[1].broken)
        st.warning(f"{plural(len(loaded[1].broken), 'couche écartée', 'couches écartées')} car inutilisable(s) : "
                   f"{names} — la raison est dans « Sources et crédits ».", icon=":material/layers_clear:")
    return loaded


# --- sidebar ---------------------------------------------------------------------------------


def seeding_query(page: str, sentinel: str) -> dict | None:
    """The query to seed a page's widgets from, or None when they are already in the session.

    Widgets are seeded from the URL (a shared link reproduces the view), else from the page's
    last state: Streamlit forgets a widget's value once a run goes by without it, so leaving
    for another page and coming back would otherwise lose the filters and layers.
    """
    if sentinel in st.session_state:
        return None
    return {k: st.query_params.get(k) for k in st.query_params} or st.session_state.get(f"_{page}_query", {})


def remember_query(page: str, query: dict) -> None:
    """Keep the page's state as a query (outside widget state, which Streamlit clears)."""
    st.session_state[f"_{page}_query"] = dict(query)


def _init_from_url(ref: Referential, terr: Territory) -> None:
    query = seeding_query("carte", "v_layers")
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


def _reset_filters() -> None:
    for facet in FACETS:
        st.session_state[f"f_{facet}"] = []
    st.session_state.update(f_communes=[], f_epci=[], f_perimeter=None, f_text="")


def sidebar(ref: Referential, terr: Territory, acts: Actors, *, write_url: bool = True) -> tuple[ActorFilter, MapView]:
    """Draw the filters and map settings; return them, and mirror them in the URL."""
    _init_from_url(ref, terr)
    frame = acts.directory.actors
    with st.sidebar:
        st.header("Filtres")
        text = st.text_input("Recherche (nom, structure, description)", key="f_text",
                             placeholder="ex. planning, IVG médicamenteuse…")
        chosen = {}
        for facet in ("themes", "professions", "types"):
            chosen[facet] = facet_select(ref, facet, f"f_{facet}")
        with st.expander("Publics, modalités, accessibilité"):
            for facet in ("publics", "modalites", "accessibilite"):
                chosen[facet] = facet_select(ref, facet, f"f_{facet}")
        with st.expander("Lieu"):
            present = sorted(set(frame["code_insee"]) - {""},
                             key=lambda c: terr.place_names.get(f"commune:{c}", c))
            communes = choose_many("Communes", present, key="f_communes",
                                   format_func=lambda c: terr.place_names.get(f"commune:{c}", c), placeholder="Toutes")
            epcis = sorted({terr.commune_epci.get(c, "") for c in present} - {""})
            epci = choose_many("EPCI", epcis, key="f_epci",
                               format_func=lambda c: terr.place_names.get(f"epci:{c}", c), placeholder="Tous")
            layer_ids = [s.id for s in terr.specs if s.kind == "table" or not s.file.startswith(("communes", "finess"))]
            options = terr.perimeter_options(layer_ids)
            if st.session_state.get("f_perimeter") not in options:
                st.session_state["f_perimeter"] = None
            perimeter = st.selectbox("Dans le périmètre", list(options), key="f_perimeter",
                                     format_func=options.get, index=None,
                                     placeholder="Choisir un QPV, une CPTS, un CLS…")
        st.button("Réinitialiser les filtres", on_click=_reset_filters, width="stretch")

        st.header("Carte")
        color_by = st.radio("Couleur des acteurs", list(COLOR_BY), key="v_color", horizontal=True,
                            format_func=lambda k: COLOR_BY[k][2])
        layers = choose_many(
            "Périmètres affichés", [s.id for s in terr.specs], key="v_layers",
            format_func=lambda i: f"{terr.spec(i).group} — {terr.spec(i).label}", placeholder="Aucun",
        )
        basemap = st.selectbox("Fond de carte", list(BASEMAP_LABELS), key="v_basemap",
                               format_func=BASEMAP_LABELS.get)
    flt = ActorFilter(
        communes=tuple(communes), epci=tuple(epci), perimeter=perimeter or "", text=text or "",
        **{facet: tuple(values) for facet, values in chosen.items()},
    )
    view = MapView(layers=tuple(layers), basemap=basemap, color_by=color_by)
    query = {**flt.to_query(), **view.to_query()}
    remember_query("carte", query)
    if write_url:
        st.query_params.from_dict(query)
    return flt, view


# --- main area -------------------------------------------------------------------------------


def filtered(ref: Referential, terr: Territory, acts: Actors, flt: ActorFilter) -> FilterResult:
    return apply_filter(
        acts.directory.actors, flt, ref, perimeters=terr.layers, commune_epci=terr.commune_epci,
        place_names=terr.place_names, search=acts.search, facets=acts.facets,
    )


def header(acts: Actors, result: FilterResult) -> None:
    """Title, the count sentence, and short notices (demonstration data, public view, problems).

    Kept short: on a phone the map must start in the first screen.
    """
    directory = acts.directory
    total = len(directory.actors)
    st.title(territory().title)
    n_fictive = int(directory.actors["fictif"].sum()) if total else 0
    if n_fictive:
        every = "Toutes les fiches sont fictives" if n_fictive == total else \
            f"{plural(n_fictive, 'fiche fictive', 'fiches fictives')} sur {fr_number(total)}"
        st.warning(f"**Données de démonstration** — {every} (personnes, adresses, téléphones et courriels "
                   "inventés).", icon=":material/science:")
    problems = []
    if len(directory.rejected):
        problems.append(f"{plural(len(directory.rejected), 'ligne écartée', 'lignes écartées')} pour erreur")
    if directory.n_unplaced:
        n = directory.n_unplaced
        problems.append(f"{plural(n, 'acteur sans position', 'acteurs sans position')}, "
                        f"{'absent' if n < 2 else 'absents'} de la carte")
    approximate = int((directory.actors["geocodage_source"] == "commune").sum()) if total else 0
    if approximate:
        problems.append(f"{plural(approximate, 'acteur placé', 'acteurs placés')} au centre de la commune, faute "
                        "de géocodage précis")
    if problems:
        st.info(" ; ".join(problems) + " — détails dans la page « Qualité de l'annuaire ».", icon=":material/warning:")
    if not can(auth.current()[0], "voir_toutes_les_fiches"):
        st.caption("Vue publique : structures, actions d'aller-vers, points de distribution et fiches publiques. "
                   "Les membres du réseau se connectent pour voir toutes les fiches.")
    shown = result.actors
    placed = int(shown.geometry.notna().sum())
    unplaced = f" ({plural(len(shown) - placed, 'sans position')})" if placed < len(shown) else ""
    st.markdown(f"**{plural(len(shown), 'acteur')} sur {fr_number(total)}** · {result.sentence}{unplaced}")


def show_map(ref: Referential, terr: Territory, acts: Actors, view: MapView,
             result: FilterResult, flt: ActorFilter) -> None:
    """The map: a constant base (tiles, perimeters, legend) and the actors' layer on top.

    The base map's script does not depend on the filters, so streamlit-folium keeps the same
    map across a filter change and only swaps the actors' layer.
    """
    try:
        base = build_base_map(
            terr.layers, terr.specs, view, ref, terr.opening_bounds(acts.directory.actors), legend_codes=None,
            fiches=acts.fiches(ref),
            geojson=terr.geojson, controls=True,
        )
        highlight = flt.themes if view.color_by == "thematique" else flt.professions
        shown = [terr.spec(i) for i in view.layers if any(s.id == i for s in terr.specs)]
        legend = legend_html(ref, view.color_by, legend_codes(result.actors, view.color_by), shown)
        focus = terr.perimeter_geojson(flt.perimeter) if flt.perimeter else None
        actor_group = build_actor_layer(result.actors, ref, view.color_by, highlight=highlight, name="Acteurs",
                                        legend=legend, focus=(flt.perimeter, focus) if focus else None)
    except MissingAssetsError as exc:
        st.error(str(exc))
        return
    st.markdown(MAP_CSS, unsafe_allow_html=True)
    st_folium(
        base,
        feature_group_to_add=actor_group,
        layer_control=folium.LayerControl(collapsed=True),
        key="carte",
        height=640,
        use_container_width=True,
        returned_objects=[],
    )


def actor_table(ref: Referential, result: FilterResult) -> None:
    """The filtered list as people read it (labels, French dates), downloadable for Excel."""
    table = people_table(result.actors, ref)
    st.subheader(f"Liste des acteurs affichés ({fr_number(len(table))})")
    st.dataframe(
        table[[LABELS[c] for c in TABLE_COLUMNS]],
        hide_index=True, width="stretch", height=320,
        column_config={"Site web": st.column_config.LinkColumn("Site web")},
    )
    left, right = st.columns(2)
    download(left, "Télécharger la liste (CSV pour Excel)", lambda: table_csv_bytes(table), "acteurs_filtres.csv",
             "text/csv", "carte_csv")
    download(right, "Télécharger la liste (Excel)", lambda: table_xlsx_bytes(table, "Acteurs"),
             "acteurs_filtres.xlsx", XLSX_MIME, "carte_xlsx")


def sources(terr: Territory) -> None:
    """Sources, licences and vintages of every layer: the attribution the data requires."""
    rows = [
        {"Couche": s.label, "Groupe": s.group, "Source": s.source, "Licence": s.licence, "Millésime": s.vintage}
        for s in terr.specs
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    if terr.broken:
        st.subheader("Couches écartées")
        st.caption("Déclarées dans le registre mais inutilisables : corrigez le registre (ou le fichier), "
                   "la couche revient au prochain démarrage.")
        st.dataframe(pd.DataFrame(terr.broken, columns=["Couche", "Raison"]), hide_index=True, width="stretch")
    st.subheader("Référentiel national")
    st.caption("Sert à placer une adresse à sa commune hors ligne, à retrouver la commune d'un acteur "
               "d'après sa position, et à dessiner le territoire du réseau, partout en France.")
    st.dataframe(pd.DataFrame(france_sources()), hide_index=True, width="stretch")


def france_sources() -> list[dict[str, str]]:
    """The national reference data and where it comes from (the packages actually built)."""
    import json

    from reseaux import france

    built = france.folder() / france.SOURCES
    info = json.loads(built.read_text(encoding="utf-8")) if built.exists() else {}
    absent = "non construit (lancez « make setup »)"
    return [
        {"Données": f"{fr_number(info.get('communes', 0))} communes : codes postaux, EPCI, anciennes communes",
         "Source": f"INSEE, COG, via {info.get('cog', absent)}",
         "Licence": "Licence Ouverte / Etalab 2.0", "Millésime": "COG 2026"},
        {"Données": "Contours des communes, mairies",
         "Source": f"IGN ADMIN EXPRESS, annuaire de l'administration, via {info.get('outlines', absent)}",
         "Licence": "Licence Ouverte / Etalab 2.0", "Millésime": "2024–2025"},
        {"Données": "QPV 2024 de toute la France",
         "Source": "ANCT (via bpineau/gazetteer), arrondis à 11 m",
         "Licence": "Licence Ouverte / Etalab 2.0", "Millésime": "2024"},
        {"Données": "Codes CEDEX (non exhaustif)",
         "Source": "INSEE SIRENE (via cquest/geocodage-spd)",
         "Licence": "Licence Ouverte", "Millésime": "2017"},
    ]


def progress_bar(bar):
    """A geocoding progress callback drawing on ``bar`` (an ``st.progress``)."""
    def update(done: int, total: int) -> None:
        bar.progress(done / total if total else 1.0, text=f"Géocodage : {done} / {total}")
    return update


def geocoding_panel(acts: Actors, who: str) -> None:
    """Geocode the actors without a precise position, with a progress bar and the summary.

    Saved like any change of the directory: under the lock, refused if the file changed,
    backed up and written to the journal in the name of ``who``.
    """
    from reseaux.geocode_file import geocode_records
    from reseaux.store import ConflictError, DirectoryStore

    directory = acts.directory
    todo = directory.n_unplaced + int((directory.actors["geocodage_source"] == "commune").sum())
    st.subheader("Géocodage")
    st.caption(f"Géocodeur : {config.get('geocoder_url')} — les positions « manuel » ne sont jamais modifiées.")
    offline = st.checkbox("Hors ligne : placer les adresses à leur commune", key="geo_offline")
    if not st.button(f"Géocoder {plural(todo, 'acteur sans position précise', 'acteurs sans position précise')}", disabled=todo == 0 and not len(directory.rejected)):
        return
    bar = st.progress(0.0, text="Géocodage…")
    store = DirectoryStore(config.path("actors"), keep=int(config.get("backups")))
    try:
        base = store.load()
        records = base.table.to_dict("records")
        summary = geocode_records(records, offline=offline, progress=progress_bar(bar))
        store.save(pd.DataFrame(records, columns=base.table.columns), base, who, action="géocodage")
    except ConflictError as exc:
        st.error(str(exc))
        return
    except (DirectoryError, OSError) as exc:
        st.error(f"Géocodage impossible : {exc}")
        return
    (st.warning if summary.offline else st.success)(summary.sentence())
    if summary.problems:
        st.dataframe(pd.DataFrame(summary.problems, columns=["Ligne", "Problème"]), hide_index=True, width="stretch")


def quality_report(acts: Actors, ref: Referential | None = None) -> None:
    """Counts, every problem by spreadsheet line, the rows kept aside, and the values to recode."""
    directory = acts.directory
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Acteurs chargés", len(directory.actors))
    c2.metric("Lignes écartées", len(directory.rejected))
    c3.metric("Sans position", directory.n_unplaced)
    c4.metric("Avertissements", len(directory.warnings))
    if done := st.session_state.pop("recode_done", None):
        st.success(done)
    if not directory.issues:
        st.success("Aucun problème : toutes les lignes sont utilisables.")
        return
    if ref is not None:
        _recode_panel(directory.issues, ref)
    issues = pd.DataFrame(
        [{"Ligne": i.line, "Colonne": i.column or "", "Valeur": i.value, "Gravité": i.severity, "Message": i.message}
         for i in directory.issues]
    )
    st.subheader("Problèmes, par ligne du tableur")
    st.dataframe(issues, hide_index=True, width="stretch")
    if len(directory.rejected):
        st.subheader("Lignes écartées (conservées ici, à corriger dans le fichier)")
        st.dataframe(directory.rejected, hide_index=True, width="stretch")


def _recode_panel(issues, ref: Referential) -> None:
    """Values the referential does not know, with their counts; recode one as a synonym of a code."""
    from reseaux.referential import add_synonym, unrecognised_values

    values = unrecognised_values(issues, ref)
    if not values:
        return
    st.subheader("Valeurs non reconnues")
    st.caption("Gardées telles qu'écrites et montrées sur les fiches, mais aucun filtre ne les retient. "
               "Recodez-en une : le choix est retenu comme synonyme dans le référentiel, pour ce fichier "
               "et tous les suivants.")
    st.dataframe(pd.DataFrame([{"Colonne": c, "Valeur": v, "Lignes": n} for c, _, v, n in values]),
                 hide_index=True, width="stretch")
    chosen = st.selectbox("Valeur à recoder", range(len(values)), key="recode_value", index=None,
                          format_func=lambda i: f"{values[i][0]} : « {values[i][2]} » ({values[i][3]})",
                          placeholder="Choisir une valeur")
    if chosen is None:
        return
    column, category, value, count = values[chosen]
    labels = ref.labels(category)
    suggestion = ref.suggest(category, value)
    codes = list(labels)
    default = next((i for i, c in enumerate(codes) if labels[c] == suggestion), None)
    code = st.selectbox("Code du référentiel", codes, index=default, key=f"recode_code_{chosen}",
                        format_func=labels.get, placeholder="Choisir un code")
    if st.button("Retenir comme synonyme", type="primary", disabled=code is None, key="recode_go"):
        try:
            add_synonym(config.path("referential"), category, code, value)
        except ValueError as exc:
            st.error(f"Non retenu : {exc}.")
            return
        st.cache_resource.clear()
        st.session_state["recode_done"] = (
            f"« {value} » est maintenant un synonyme de « {labels[code]} » "
            f"({plural(count, 'ligne reconnue', 'lignes reconnues')}).")
        st.rerun()


def privacy_panel(who: str) -> None:
    """Erase a fiche for good (file, backups, journal content, caches), after confirmation."""
    from reseaux.privacy import purge_actor
    from reseaux.store import DirectoryStore

    st.subheader("Supprimer définitivement une fiche")
    store = DirectoryStore(config.path("actors"), keep=int(config.get("backups")))
    table = store.load().table
    labels = dict(zip(table["id"].astype(str), table["nom"].astype(str), strict=True))
    chosen = st.selectbox("Fiche", list(labels), format_func=lambda i: f"{labels[i]} ({i})", index=None,
                          key="gdpr_id", placeholder="Choisir la fiche à effacer")
    confirm = st.checkbox("Je confirme : la fiche sera effacée partout, sans retour possible.", key="gdpr_ok")
    if st.button("Effacer définitivement", type="primary", disabled=not (chosen and confirm), key="gdpr_go"):
        report = purge_actor(store, chosen, who, geocache=config.path("geocache"))
        st.cache_resource.clear()
        st.session_state.pop("ann_base", None)
        st.success(report.sentence(chosen))
