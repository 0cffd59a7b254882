"""Streamlit widgets of « Présentation »'s editor: the shared scenes for webinars, opened from a
link or the list, saved from the current view, reordered and deleted; the full-screen stage is
:mod:`reseaux.ui.presentation_stage`, the exports :mod:`reseaux.ui.presentation_exports`.

Who may do what: everyone presents the shared scenes and exports any view; only coordination
and administration (``access.can(role, "modifier_scenes")``) add, reorder and delete scenes.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st
from streamlit_folium import st_folium

from reseaux import config
from reseaux.acces.access import can
from reseaux.analyse.filters import ActorFilter
from reseaux.annuaire.fiche_service import served_views
from reseaux.annuaire.referential import Referential
from reseaux.app_data import Actors, Territory
from reseaux.carte.actor_layer import build_actor_layer
from reseaux.carte.assets import MissingAssetsError
from reseaux.carte.legend import legend_html
from reseaux.carte.mapview import MapView, build_base_map
from reseaux.carte.scenes import Scene, SceneError, SceneStore
from reseaux.text import md_escape, plural
from reseaux.ui import apply_query, auth
from reseaux.ui.loading import fiche_store
from reseaux.ui.map_answers import MapAnswers, counted
from reseaux.ui.map_answers import answers as map_answers
from reseaux.ui.presentation_exports import exports


def store() -> SceneStore:
    return SceneStore(config.path("scenes"))


def load_scenes() -> list[Scene]:
    try:
        return store().load()
    except SceneError as exc:
        st.error(str(exc))
        return []


def may_edit_scenes() -> bool:
    """Whether the session may add, reorder and delete the shared scenes."""
    return can(auth.current()[0], "modifier_scenes")


def _find(scenes: list[Scene], scene_id: str | None) -> Scene | None:
    return next((s for s in scenes if s.id == scene_id), None)


def scene_answers(ref: Referential, terr: Territory, scene: Scene, held: Callable[[], Actors]) -> MapAnswers:
    """The scene's actors among those the session may see, as the map draws them."""
    return map_answers(ref, terr, ActorFilter.from_query(scene.filters, ref), scene_view(terr, scene), held)


def scene_count(ref: Referential, terr: Territory, scene: Scene, held: Callable[[], Actors]) -> int:
    """How many actors the scene shows the session (its title's « {n} »)."""
    return counted(ref, terr, ActorFilter.from_query(scene.filters, ref), scene_view(terr, scene), held)


def scene_view(terr: Territory, scene: Scene) -> MapView:
    return MapView.from_query(scene.query(), terr.specs)


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
    st.session_state.update(
        pr_applied=scene.id,
        pr_scene=scene.id,
        pr_export_title=scene.title,
        pr_view={"center": scene.center, "zoom": scene.zoom},
    )


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


def editor(
    ref: Referential, terr: Territory, shown: MapAnswers, flt: ActorFilter, view: MapView, held: Callable[[], Actors]
) -> None:
    """Pick a scene, see the current view (``shown``: what ``flt`` keeps, :func:`ui.map_answers`),
    present it, export it; coordination also saves, reorders and deletes scenes. ``held()``: the
    directory in memory, read only when the database cannot answer."""
    scenes = load_scenes()
    editable = may_edit_scenes()
    # « {n} » of a title or comment is written with each scene's count for the person looking.
    counts = {s.id: scene_count(ref, terr, s, held) for s in scenes}
    chosen = _scene_picker(scenes, counts, ref, terr)
    state = _editor_map(ref, terr, shown, flt, view)
    st.caption(f"{plural(shown.count, 'acteur')} · {md_escape(shown.sentence)}")
    if editable:
        scenes = _new_scene_form(scenes, flt, view, state, shown.count)
    else:
        st.info(
            "Les scènes sont partagées par tout le réseau : seule la coordination les ajoute, les réordonne "
            "ou les supprime. Vous pouvez les présenter et les exporter, ou composer votre propre vue avec la "
            "barre latérale et l'exporter ci-dessous.",
            icon=":material/info:",
        )
    _scene_list(scenes, counts, editable)
    exports(ref, terr, shown, flt, view, chosen or (scenes[0] if scenes else None), counts)


def _scene_picker(scenes: list[Scene], counts: dict[str, int], ref: Referential, terr: Territory) -> Scene | None:
    if not scenes:
        st.info("Aucune scène enregistrée pour l'instant.")
        return None
    labels = {s.id: f"{i + 1}. {s.title_for(counts.get(s.id, 0))}" for i, s in enumerate(scenes)}
    if st.session_state.get("pr_scene") not in labels:
        st.session_state["pr_scene"] = None
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    chosen_id = left.selectbox(
        "Scènes enregistrées",
        list(labels),
        format_func=labels.get,
        key="pr_scene",
        index=None,
        placeholder="Choisir une scène pour l'afficher",
        on_change=_on_choose,
        args=(ref, terr),
    )
    chosen = _find(scenes, chosen_id)
    start = chosen or scenes[0]
    right.page_link(
        "views/presentation.py",
        label="Présenter en plein écran",
        icon=":material/slideshow:",
        query_params={"scene": start.id, "plein_ecran": "1"},
        width="stretch",
    )
    return chosen


def _editor_map(ref: Referential, terr: Territory, shown: MapAnswers, flt: ActorFilter, view: MapView) -> dict:
    """The current view's map, drawn as the Carte draws it (its legend what is shown, its actors
    served by the server beyond what a page should carry)."""
    saved_view = st.session_state.get("pr_view", {})
    try:
        fiches = fiche_store(shown.rows, ref)
        fmap = build_base_map(
            terr.layers,
            terr.specs,
            view,
            ref,
            terr.opening_bounds(shown.positions),
            legend_codes=None,
            center=saved_view.get("center"),
            zoom=saved_view.get("zoom"),
            fiches=fiches,
            geojson=terr.geojson,
        )
        layers = [terr.spec(i) for i in view.layers if any(s.id == i for s in terr.specs)]
        group = build_actor_layer(
            shown.drawn,
            ref,
            view.color_by,
            highlight=flt.themes if view.color_by == "thematique" else flt.professions,
            name="Acteurs",
            legend=legend_html(ref, view.color_by, shown.legend, layers),
            served=served_views(fiches.url),
            directory_placed=shown.placed_total,
            colors=shown.colors,
        )
    except MissingAssetsError as exc:
        st.error(str(exc))
        return {}
    # The view (centre, zoom) is sent back only to those who save scenes: each move reruns the page.
    returned = ["center", "zoom"] if may_edit_scenes() else []
    return (
        st_folium(
            fmap,
            feature_group_to_add=group,
            key="pr_map",
            height=560,
            use_container_width=True,
            returned_objects=returned,
        )
        or {}
    )


def _new_scene_form(scenes: list[Scene], flt: ActorFilter, view: MapView, state: dict, count: int) -> list[Scene]:
    with st.form("pr_new", border=True):
        st.markdown("**Enregistrer la vue actuelle comme scène** (filtres, couches, fond, couleur, centre et zoom)")
        title = st.text_input("Titre (grand, lisible à l'écran)", key="pr_title")
        comment = st.text_input(
            "Sous-titre ou commentaire",
            key="pr_comment",
            help="« {n} » s'écrit « 118 partenaires » : le nombre d'acteurs de la scène, "
            "compté pour la personne qui regarde.",
        )
        if not st.form_submit_button("Ajouter la scène", type="primary"):
            return scenes
    if not title.strip():
        st.error("Donnez un titre à la scène, puis cliquez de nouveau sur « Ajouter la scène ».")
        return scenes
    center = state.get("center") or {}
    scene = Scene(
        title.strip(),
        comment.strip(),
        flt.to_query(),
        list(view.layers),
        view.basemap,
        view.color_by,
        [center["lat"], center["lng"]] if center else None,
        state.get("zoom"),
    )
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
            st.markdown(
                f"{index + 1}. **{md_escape(scene.title_for(count))}**"
                + (f" — {md_escape(comment)}" if comment else ""),
                width="stretch",
            )
            if editable:
                st.button(
                    "↑",
                    key=f"pr_up_{scene.id}",
                    disabled=index == 0,
                    help="Monter d'un rang",
                    on_click=_move,
                    args=(scene.id, -1),
                )
                st.button(
                    "↓",
                    key=f"pr_down_{scene.id}",
                    disabled=index == len(scenes) - 1,
                    help="Descendre d'un rang",
                    on_click=_move,
                    args=(scene.id, +1),
                )
                st.button(
                    "✕", key=f"pr_del_{scene.id}", help="Supprimer cette scène", on_click=_delete, args=(scene.id,)
                )
            st.page_link(
                "views/presentation.py",
                label="Présenter",
                icon=":material/slideshow:",
                query_params={"scene": scene.id, "plein_ecran": "1"},
            )


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
