"""Streamlit widgets of the full-screen stage (``/presentation?plein_ecran=1``): the scene's
title and comment, its map, and the bar that moves between scenes (← →, Page down / Page up,
Échap to leave) — what a presenter shows in a webinar or a partner's site embeds.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st
from streamlit_folium import st_folium

from reseaux.analyse.filters import ActorFilter
from reseaux.annuaire.fiche_service import served_views
from reseaux.annuaire.referential import Referential
from reseaux.app_data import Actors, Territory
from reseaux.carte.assets import MissingAssetsError
from reseaux.carte.scenes import Scene
from reseaux.carte.stage_map import KEY_LISTENER, scene_groups, stage_base_map
from reseaux.markup import render
from reseaux.text import md_escape, plural
from reseaux.ui.loading import fiche_store
from reseaux.ui.presentation import load_scenes, scene_answers, scene_view

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


def full_screen() -> bool:
    """Whether the page is asked as the full-screen stage (``plein_ecran=1``)."""
    return st.query_params.get("plein_ecran") == "1"


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


def stage(ref: Referential, terr: Territory, held: Callable[[], Actors]) -> None:
    """Full screen: the scene's title, ← → to move between scenes, its map with the legend
    (``held()``: the directory in memory, read only when the database cannot answer).

    One map for every scene (constant key and base): a scene change swaps its layers in the
    same Leaflet map instead of building a new one (see ``reseaux.carte.stage_map``).
    """
    st.markdown(STAGE_CSS, unsafe_allow_html=True)
    scenes = load_scenes()
    if not scenes:
        st.warning("Aucune scène enregistrée : la coordination du réseau les prépare dans la page « Présentation ».")
        _scene_bar(scenes, 0, 0)
        return
    index = scene_index(scenes)
    scene = scenes[index]
    shown = scene_answers(ref, terr, scene, held)
    count = shown.count
    comment = scene.comment_for(count)
    st.markdown(
        render(
            '<div class="rx-stage"><h1>{{ title }}</h1>{% if comment %}<p>{{ comment }}</p>{% endif %}</div>',
            title=scene.title_for(count),
            comment=comment,
        ),
        unsafe_allow_html=True,
    )
    view = scene_view(terr, scene)
    flt = ActorFilter.from_query(scene.filters, ref)
    try:
        home = terr.opening_bounds(shown.positions)
        fiches = fiche_store(shown.rows, ref)
        base = stage_base_map(home, fiches)
        groups = scene_groups(
            shown.drawn,
            view,
            ref,
            terr.layers,
            terr.specs,
            home,
            legend_codes=shown.legend,  # what is on screen
            center=scene.center,
            zoom=scene.zoom,
            geojson=terr.geojson,
            colors=shown.colors,
            highlight=flt.themes if view.color_by == "thematique" else flt.professions,
            served=served_views(fiches.url),
            directory_placed=shown.placed_total,
        )
    except MissingAssetsError as exc:
        st.error(str(exc))
        return
    # The bar above the map: Tab reaches « Suivante » in two presses, before the map's pins (it
    # came after them, 91 presses away).
    _scene_bar(scenes, index, count)
    st_folium(base, feature_group_to_add=groups, key="stage", height=600, use_container_width=True, returned_objects=[])


def _scene_bar(scenes: list[Scene], index: int, count: int) -> None:
    """← Précédente · « Scène n / N · 118 acteurs » · Suivante → · Quitter le plein écran."""
    current = scenes[index].id if scenes else None
    with st.container(horizontal=True, vertical_alignment="center", gap="small", key="stage_bar"):
        if scenes:
            st.button(
                "Précédente",
                shortcut="Left",
                disabled=index == 0,
                key="stage_prev",
                on_click=_go,
                args=(scenes[max(index - 1, 0)].id,),
            )
            st.markdown(
                f"<div class='rx-bar'>Scène {index + 1} / {len(scenes)} · {plural(count, 'acteur')}</div>",
                unsafe_allow_html=True,
                width="stretch",
            )
            st.button(
                "Suivante",
                shortcut="Right",
                disabled=index == len(scenes) - 1,
                key="stage_next",
                on_click=_go,
                args=(scenes[min(index + 1, len(scenes) - 1)].id,),
            )
        if not st.context.is_embedded:  # a partner's site shows the scenes, not the editor
            # Échap is its shortcut; the key's English label (« Esc ») is hidden, the French one is in the label.
            st.button(
                "Quitter le plein écran (Échap)",
                shortcut="Escape",
                key="stage_quit",
                icon=":material/close_fullscreen:",
                on_click=_quit,
                args=(current,),
                help="Revenir à la page Présentation sur cette scène (Échap)",
            )
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
