"""Streamlit widgets of « Présentation »: scenes for webinars, full-screen stage, exports, embedding.

Who may do what: everyone presents the shared scenes and exports any view; only coordination
and administration (``access.can(role, "modifier_scenes")``) add, reorder and delete scenes.
"""

from __future__ import annotations

import json
from dataclasses import replace
from urllib.parse import urlencode

import streamlit as st
from streamlit_folium import st_folium

from reseaux import config
from reseaux.access import EXPORT_NOTICE, can, exportable_actors
from reseaux.actor_layer import build_actor_layer
from reseaux.app_data import Actors, Territory
from reseaux.assets import MissingAssetsError
from reseaux.export_map import (
    ExportError,
    alt_text,
    perimeters_for_people,
    shown_perimeters,
    standalone_html,
)
from reseaux.exports import (
    table_csv_bytes,
    table_xlsx_bytes,
    to_geojson_bytes,
)
from reseaux.filters import ActorFilter, FilterResult
from reseaux.legend import legend_codes
from reseaux.listing import people_table
from reseaux.mapview import MapView, build_base_map, build_map
from reseaux.markup import render
from reseaux.png_turn import render_png_in_turn
from reseaux.referential import Referential
from reseaux.scenes import Scene, SceneError, SceneStore, fill_count
from reseaux.stage_map import KEY_LISTENER, scene_groups, stage_base_map
from reseaux.text import md_escape, plural
from reseaux.ui import XLSX_MIME as XLSX
from reseaux.ui import apply_query, auth, filtered
from reseaux.ui import download as _plain_download
from reseaux.ui.loading import fiche_store

def _download(where, label: str, data: bytes, *args, **options) -> None:
    """An export button filling its column; its bytes, made already, given as a callable so that
    the download is written in the audit trail."""
    _plain_download(where, label, lambda: data, *args, width="stretch", **options)

#: Full screen: no Streamlit chrome; title, map and scene bar share the window's height — the
#: page is a column as high as the window and the map's block takes what the others leave.
STAGE_CSS = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header, [data-testid="stToolbar"],
[data-testid="stDecoration"], footer { display: none !important; }
[data-testid="stMain"] { overflow: hidden !important; }
[data-testid="stMainBlockContainer"] { padding: .5rem 1.25rem .5rem !important; max-width: 100% !important;
  height: 100vh; height: 100dvh; box-sizing: border-box; }
[data-testid="stMainBlockContainer"] > div, [data-testid="stMainBlockContainer"] > div > [data-testid="stVerticalBlock"] {
  height: 100%; }
[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"] { gap: .45rem; }
[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"] > * { flex-shrink: 0; }
[data-testid="stElementContainer"]:has(iframe[title="streamlit_folium.st_folium"]) { flex: 1 1 0; min-height: 0; }
[data-testid="stElementContainer"]:has(iframe[title="streamlit_folium.st_folium"]) > div,
iframe[title="streamlit_folium.st_folium"] { height: 100% !important; display: block; }
.rx-stage { padding-bottom: .35rem; }
.rx-stage [data-testid="stHeaderActionElements"], .st-key-stage_quit kbd { display: none; }
.rx-stage h1 { font-size: clamp(1.5rem, 2.2vw + .6rem, 2.6rem); margin: 0; padding: 0; color: #3b1046;
  line-height: 1.15; }
.rx-stage p { font-size: clamp(1rem, .8vw + .6rem, 1.35rem); margin: .15rem 0 0; color: #222; }
.rx-bar { text-align: center; font-size: 1.05rem; color: #333; }
.st-key-stage_bar [data-testid="stMarkdownContainer"] { margin-bottom: 0 !important; }
</style>"""



def store() -> SceneStore:
    return SceneStore(config.path("scenes"))


def load_scenes() -> list[Scene]:
    try:
        return store().load()
    except SceneError as exc:
        st.error(str(exc))
        return []


def full_screen() -> bool:
    """Whether the page is asked as the full-screen stage (``plein_ecran=1``)."""
    return st.query_params.get("plein_ecran") == "1"


def may_edit_scenes() -> bool:
    """Whether the session may add, reorder and delete the shared scenes."""
    return can(auth.current()[0], "modifier_scenes")


def _find(scenes: list[Scene], scene_id: str | None) -> Scene | None:
    return next((s for s in scenes if s.id == scene_id), None)


def _scene_result(ref: Referential, terr: Territory, acts: Actors, scene: Scene) -> FilterResult:
    """The scene's actors among those the session may see."""
    return filtered(ref, terr, acts, ActorFilter.from_query(scene.filters, ref))


# --- full-screen presentation ----------------------------------------------------------------


def scene_index(scenes: list[Scene]) -> int:
    """The scene asked by the ← → buttons, else by the URL, else the first; the URL follows."""
    wanted = st.session_state.pop("stage_scene", None) or st.query_params.get("scene")
    index = next((i for i, s in enumerate(scenes) if s.id == wanted), None)
    if index is None:
        if wanted:
            st.toast(f"La scène « {md_escape(wanted)} » n'existe plus : voici la première.", icon=":material/info:")
        index = 0
    st.query_params["scene"] = scenes[index].id  # written during the run, so the address bar follows
    return index


def stage(ref: Referential, terr: Territory, acts: Actors) -> None:
    """Full screen: the scene's title, ← → to move between scenes, its map with the legend.

    One map for every scene (constant key and base): a scene change swaps its layers in the
    same Leaflet map instead of building a new one (see ``reseaux.stage_map``).
    """
    st.markdown(STAGE_CSS, unsafe_allow_html=True)
    scenes = load_scenes()
    if not scenes:
        st.warning("Aucune scène enregistrée : la coordination du réseau les prépare dans la page « Présentation ».")
        _scene_bar(scenes, 0, 0)
        return
    index = scene_index(scenes)
    scene = scenes[index]
    result = _scene_result(ref, terr, acts, scene)
    count = len(result.actors)
    comment = scene.comment_for(count)
    st.markdown(render('<div class="rx-stage"><h1>{{ title }}</h1>{% if comment %}<p>{{ comment }}</p>{% endif %}</div>',
                       title=scene.title_for(count), comment=comment), unsafe_allow_html=True)
    view = MapView.from_query(scene.query(), terr.specs)
    try:
        home = terr.opening_bounds(acts.directory.actors)
        base = stage_base_map(home, fiche_store(acts, ref))
        groups = scene_groups(result.actors, view, ref, terr.layers, terr.specs, home,
                              legend_codes=legend_codes(result.actors, view.color_by),  # what is on screen
                              center=scene.center, zoom=scene.zoom, geojson=terr.geojson)
    except MissingAssetsError as exc:
        st.error(str(exc))
        return
    # The bar above the map: Tab reaches « Suivante » in two presses, before the map's pins (it
    # came after them, 91 presses away).
    _scene_bar(scenes, index, count)
    st_folium(base, feature_group_to_add=groups, key="stage", height=600, use_container_width=True,
              returned_objects=[])


def _scene_bar(scenes: list[Scene], index: int, count: int) -> None:
    """← Précédente · « Scène n / N · 118 acteurs » · Suivante → · Quitter le plein écran."""
    current = scenes[index].id if scenes else None
    with st.container(horizontal=True, vertical_alignment="center", gap="small", key="stage_bar"):
        if scenes:
            st.button("Précédente", shortcut="Left", disabled=index == 0, key="stage_prev",
                      on_click=_go, args=(scenes[max(index - 1, 0)].id,))
            st.markdown(f"<div class='rx-bar'>Scène {index + 1} / {len(scenes)} · {plural(count, 'acteur')}</div>",
                        unsafe_allow_html=True, width="stretch")
            st.button("Suivante", shortcut="Right", disabled=index == len(scenes) - 1, key="stage_next",
                      on_click=_go, args=(scenes[min(index + 1, len(scenes) - 1)].id,))
        if not st.context.is_embedded:  # a partner's site shows the scenes, not the editor
            # Échap is its shortcut; the key's English label (« Esc ») is hidden, the French one is in the label.
            st.button("Quitter le plein écran (Échap)", shortcut="Escape", key="stage_quit", icon=":material/close_fullscreen:",
                      on_click=_quit, args=(current,), help="Revenir à la page Présentation sur cette scène (Échap)")
        # The map's frame posts ← → Échap pressed inside it; this presses them here (stage_map._KeyRelay).
        st.html(KEY_LISTENER, unsafe_allow_javascript=True, width="content")


def _go(scene_id: str) -> None:
    st.session_state["stage_scene"] = scene_id


def _quit(scene_id: str | None) -> None:
    """Back to the editor on ``scene_id`` (its filters fill the sidebar: open_scene_from_url)."""
    st.query_params.pop("plein_ecran", None)
    if scene_id:
        st.query_params["scene"] = scene_id
        st.session_state.pop("pr_applied", None)


# --- opening a scene in the editor -----------------------------------------------------------


def open_scene_from_url(ref: Referential, terr: Territory) -> None:
    """``/presentation?scene=…``: open that scene in the editor — its filters, layers, base map
    and colouring in the sidebar's widgets, its view on the map.

    Called before the sidebar is drawn (a widget's value can only be set before it is drawn);
    done again when Streamlit has forgotten the widgets (after the full-screen stage).
    """
    wanted = st.query_params.get("scene")
    if not wanted or (st.session_state.get("pr_applied") == wanted and "v_layers" in st.session_state):
        return
    scene = _find(load_scenes(), wanted)
    if scene is None:
        st.warning(f"La scène « {md_escape(wanted)} » n'existe pas (ou plus) : choisissez-en une dans la liste.")
        st.query_params.pop("scene", None)
        return
    _apply(scene, ref, terr)


def _apply(scene: Scene, ref: Referential, terr: Territory) -> None:
    apply_query(scene.query(), ref, terr)
    st.session_state.update(pr_applied=scene.id, pr_scene=scene.id, pr_export_title=scene.title,
                            pr_view={"center": scene.center, "zoom": scene.zoom})


def _on_choose(ref: Referential, terr: Territory) -> None:
    """The « Scènes enregistrées » choice, applied before the next run draws the sidebar."""
    scene = _find(load_scenes(), st.session_state.get("pr_scene"))
    if scene is None:
        st.query_params.pop("scene", None)
        st.session_state.pop("pr_applied", None)
        return
    st.query_params["scene"] = scene.id
    _apply(scene, ref, terr)


# --- the editor ------------------------------------------------------------------------------


def editor(ref: Referential, terr: Territory, acts: Actors, flt: ActorFilter, view: MapView) -> None:
    """Pick a scene, see the current view, present it, export it; coordination also saves,
    reorders and deletes scenes."""
    scenes = load_scenes()
    editable = may_edit_scenes()
    result = filtered(ref, terr, acts, flt)
    # « {n} » of a title or comment is written with each scene's count for the person looking.
    counts = {s.id: len(_scene_result(ref, terr, acts, s).actors) for s in scenes}
    chosen = _scene_picker(scenes, counts, ref, terr)
    state = _editor_map(ref, terr, acts, view, result)
    st.caption(f"{plural(len(result.actors), 'acteur')} · {md_escape(result.sentence)}")
    if editable:
        scenes = _new_scene_form(scenes, flt, view, state, len(result.actors))
    else:
        st.info("Les scènes sont partagées par tout le réseau : seule la coordination les ajoute, les réordonne "
                "ou les supprime. Vous pouvez les présenter et les exporter, ou composer votre propre vue avec la "
                "barre latérale et l'exporter ci-dessous.", icon=":material/info:")
    _scene_list(scenes, counts, editable)
    exports(ref, terr, result, flt, view, chosen or (scenes[0] if scenes else None), counts)


def _scene_picker(scenes: list[Scene], counts: dict[str, int], ref: Referential, terr: Territory) -> Scene | None:
    if not scenes:
        st.info("Aucune scène enregistrée pour l'instant.")
        return None
    labels = {s.id: f"{i + 1}. {s.title_for(counts.get(s.id, 0))}" for i, s in enumerate(scenes)}
    if st.session_state.get("pr_scene") not in labels:
        st.session_state["pr_scene"] = None
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    chosen_id = left.selectbox("Scènes enregistrées", list(labels), format_func=labels.get, key="pr_scene",
                               index=None, placeholder="Choisir une scène pour l'afficher",
                               on_change=_on_choose, args=(ref, terr))
    chosen = _find(scenes, chosen_id)
    start = chosen or scenes[0]
    right.page_link("views/presentation.py", label="Présenter en plein écran", icon=":material/slideshow:",
                    query_params={"scene": start.id, "plein_ecran": "1"}, width="stretch")
    return chosen


def _editor_map(ref: Referential, terr: Territory, acts: Actors, view: MapView, result: FilterResult) -> dict:
    saved_view = st.session_state.get("pr_view", {})
    try:
        fmap = build_base_map(terr.layers, terr.specs, view, ref, terr.opening_bounds(acts.directory.actors),
                              legend_codes=legend_codes(acts.directory.actors, view.color_by),
                              center=saved_view.get("center"), zoom=saved_view.get("zoom"), fiches=fiche_store(acts, ref),
                              geojson=terr.geojson)
        group = build_actor_layer(result.actors, ref, view.color_by, name="Acteurs")
    except MissingAssetsError as exc:
        st.error(str(exc))
        return {}
    # The view (centre, zoom) is sent back only to those who save scenes: each move reruns the page.
    returned = ["center", "zoom"] if may_edit_scenes() else []
    return st_folium(fmap, feature_group_to_add=group, key="pr_map", height=560, use_container_width=True,
                     returned_objects=returned) or {}


def _new_scene_form(scenes: list[Scene], flt: ActorFilter, view: MapView, state: dict, count: int) -> list[Scene]:
    with st.form("pr_new", border=True):
        st.markdown("**Enregistrer la vue actuelle comme scène** (filtres, couches, fond, couleur, centre et zoom)")
        title = st.text_input("Titre (grand, lisible à l'écran)", key="pr_title")
        comment = st.text_input("Sous-titre ou commentaire", key="pr_comment",
                                help="« {n} » s'écrit « 118 partenaires » : le nombre d'acteurs de la scène, "
                                     "compté pour la personne qui regarde.")
        if not st.form_submit_button("Ajouter la scène", type="primary"):
            return scenes
    if not title.strip():
        st.error("Donnez un titre à la scène, puis cliquez de nouveau sur « Ajouter la scène ».")
        return scenes
    center = state.get("center") or {}
    scene = Scene(title.strip(), comment.strip(), flt.to_query(), list(view.layers), view.basemap, view.color_by,
                  [center["lat"], center["lng"]] if center else None, state.get("zoom"))
    try:
        scenes = store().add(scene)
    except (SceneError, OSError) as exc:
        st.error(f"La scène n'a pas été enregistrée : {exc}")
        return scenes
    st.success(f"Scène « {md_escape(scene.title_for(count))} » ajoutée (scène {len(scenes)}).")
    return scenes


def _scene_list(scenes: list[Scene], counts: dict[str, int], editable: bool) -> None:
    if not scenes:
        return
    st.header("Les scènes, dans l'ordre de la présentation")
    for index, scene in enumerate(scenes):
        count = counts.get(scene.id, 0)
        with st.container(horizontal=True, vertical_alignment="center", wrap=False, key=f"pr_row_{scene.id}"):
            comment = scene.comment_for(count)
            st.markdown(f"{index + 1}. **{md_escape(scene.title_for(count))}**"
                        + (f" — {md_escape(comment)}" if comment else ""), width="stretch")
            if editable:
                st.button("↑", key=f"pr_up_{scene.id}", disabled=index == 0, help="Monter d'un rang",
                          on_click=_move, args=(scene.id, -1))
                st.button("↓", key=f"pr_down_{scene.id}", disabled=index == len(scenes) - 1,
                          help="Descendre d'un rang", on_click=_move, args=(scene.id, +1))
                st.button("✕", key=f"pr_del_{scene.id}", help="Supprimer cette scène", on_click=_delete,
                          args=(scene.id,))
            st.page_link("views/presentation.py", label="Présenter", icon=":material/slideshow:",
                         query_params={"scene": scene.id, "plein_ecran": "1"})


def _move(scene_id: str, offset: int) -> None:
    if may_edit_scenes():  # checked again at the click: a session may have expired since the page was drawn
        _write(lambda: store().move(scene_id, offset))


def _delete(scene_id: str) -> None:
    if may_edit_scenes():
        _write(lambda: store().delete(scene_id))
        if st.session_state.get("pr_scene") == scene_id:
            st.session_state["pr_scene"] = None
            st.session_state.pop("pr_applied", None)


def _write(change) -> None:
    try:
        change()
    except (SceneError, OSError) as exc:
        st.session_state["pr_notice"] = f"Les scènes n'ont pas été modifiées : {exc}"


# --- exports ---------------------------------------------------------------------------------


def exports(ref: Referential, terr: Territory, result: FilterResult, flt: ActorFilter, view: MapView,
            scene: Scene | None, counts: dict[str, int]) -> None:
    """The current view as a standalone HTML file, a PNG with its text alternative, tables; and
    the code to embed ``scene`` in a partner's site (its title's « {n} » written with ``counts``)."""
    notice = st.session_state.pop("pr_notice", None)
    if notice:
        st.error(notice)
    st.header("Exporter cette vue")
    role = auth.current()[0]
    kept = exportable_actors(result.actors, role)
    if len(kept) < len(result.actors):
        st.caption(EXPORT_NOTICE)
    result = replace(result, actors=kept)
    if "pr_export_title" not in st.session_state:
        st.session_state["pr_export_title"] = terr.title
    raw_title = st.text_input("Titre de l'export", key="pr_export_title",
                              help="« {n} » s'écrit « 118 partenaires » (le nombre d'acteurs exportés).")
    title = fill_count(raw_title, len(result.actors)) or terr.title
    shown = [terr.spec(i) for i in view.layers]
    alt = alt_text(title, result.sentence, result.actors, shown, ref)
    made = _prepared(json.dumps([title, flt.to_query(), view.to_query(), auth.current()[0],
                                 list(result.actors.index[:5]), len(result.actors)], default=str))

    def page() -> str:
        if "html" not in made:
            fmap = build_map(result.actors, terr.layers, terr.specs, view, ref, terr.opening_bounds(result.actors))
            made["html"] = standalone_html(fmap, title=title, subtitle=result.sentence, alt=alt)
        return made["html"]

    st.markdown("**La carte**")
    cols = st.columns(2)
    # Built on request only (inlining Leaflet and the data is not work for every rerun). The
    # request is remembered by the button's callback, not read from its value: a rerun that
    # interrupts the work (the map reporting its view) does it again instead of losing it.
    cols[0].button("Préparer la carte autonome (.html)", key="pr_html_make", width="stretch",
                   help="Un seul fichier : s'ouvre sans serveur ni internet (sauf le fond de carte).",
                   on_click=_want, args=("html",))
    cols[1].button("Préparer l'image (.png)", key="pr_png_make", width="stretch",
                   help="La même carte, avec son titre et sa légende, en image de 1 600 × 1 000 pixels.",
                   on_click=_want, args=("png",))
    if made.get("want_html") or made.get("want_png"):
        with st.spinner("Préparation de la carte autonome…"):
            page()
    if "html" in made:
        _download(cols[0], "Télécharger la carte (.html)", made["html"].encode("utf-8"), "carte_reseau.html",
                  "text/html", "pr_html_dl", icon=":material/download:")
    if made.get("want_png") and "png" not in made:
        with st.spinner("Chromium dessine l'image (quelques secondes)…"):
            waiting = st.empty()  # « en attente » while another session's image is drawn (one at a time)
            try:
                made["png"] = render_png_in_turn(page(), on_wait=waiting.info)
            except ExportError as exc:
                made.pop("want_png")
                st.error(str(exc))
            waiting.empty()
    if "png" in made:
        _download(cols[1], "Télécharger l'image (.png)", made["png"], "carte_reseau.png", "image/png", "pr_png_dl",
                  icon=":material/download:")
        _download(cols[1], "Texte alternatif de l'image (.txt)", alt.encode("utf-8"), "carte_reseau.txt",
                  "text/plain", "pr_alt_txt")
        st.image(made["png"], caption="Aperçu de l'image exportée", alt=alt)
        with st.expander("Texte alternatif de l'image (ce que montre la carte)"):
            st.text(alt)
    _tables(result, terr, shown, ref)
    if scene is not None:
        _embed_code(scene, scene.title_for(counts.get(scene.id, 0)))


def _want(what: str) -> None:
    st.session_state.setdefault("pr_made", {})[f"want_{what}"] = True


def _prepared(signature: str) -> dict:
    """What was prepared for this exact view (title, filters, layers, role); a new view starts afresh."""
    made = st.session_state.get("pr_made") or {}
    if made.get("signature") != signature:
        # Another view: start afresh, keeping only a request made before any view was recorded.
        asked = {k: v for k, v in made.items() if k.startswith("want_")} if "signature" not in made else {}
        made = st.session_state["pr_made"] = {"signature": signature, **asked}
    return made


def _tables(result: FilterResult, terr: Territory, shown: list, ref: Referential) -> None:
    st.markdown(f"**Les acteurs affichés** ({plural(len(result.actors), 'acteur')})")
    cols = st.columns(3)
    people = people_table(result.actors, ref)  # as the map's list: labels, French headers and dates
    _download(cols[0], "Acteurs (CSV)", table_csv_bytes(people), "acteurs.csv", "text/csv", "pr_csv")
    _download(cols[1], "Acteurs (Excel)", table_xlsx_bytes(people, "Acteurs"), "acteurs.xlsx", XLSX, "pr_xlsx")
    _download(cols[2], "Acteurs (GeoJSON)", to_geojson_bytes(result.actors), "acteurs.geojson",
              "application/geo+json", "pr_geojson")
    if not shown:
        return
    perimeters = shown_perimeters(terr.layers, shown)
    table = perimeters_for_people(perimeters)
    st.markdown(f"**Les périmètres affichés** ({plural(len(table), 'périmètre')})")
    cols = st.columns(3)
    _download(cols[0], "Périmètres (CSV)", table_csv_bytes(table), "perimetres.csv", "text/csv", "pr_p_csv")
    _download(cols[1], "Périmètres (Excel)", table_xlsx_bytes(table, "Périmètres"), "perimetres.xlsx", XLSX,
              "pr_p_xlsx")
    _download(cols[2], "Périmètres (GeoJSON)", perimeters.to_json(drop_id=True).encode("utf-8"),
              "perimetres.geojson", "application/geo+json", "pr_p_geojson")


def _embed_code(scene: Scene, title: str) -> None:
    page_url = str(st.context.url or "").rstrip("/")
    base = page_url.removesuffix("/presentation")
    url = f"{base}/presentation?" + urlencode({"scene": scene.id, "plein_ecran": "1", "embed": "true"})
    st.markdown(f"**Intégrer la scène « {md_escape(title)} » dans un site partenaire** (plein écran, sans "
                "barre latérale ni menus ; les flèches ← → passent d'une scène à l'autre). Copiez ce code "
                "(bouton à droite du cadre) :")
    st.code(render('<iframe src="{{ url }}" width="100%" height="800" style="border:0" title="{{ title }}" '
                   'allow="fullscreen"></iframe>', url=url, title=title), language="html", wrap_lines=True)
