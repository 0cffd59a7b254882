"""Streamlit widgets of « Présentation »: scenes for webinars, full-screen mode, exports, embedding."""

from __future__ import annotations

import html

import streamlit as st
from streamlit_folium import st_folium

from reseaux import config
from reseaux.app_data import Actors, Territory
from reseaux.export_map import ChromiumMissing, alt_text, render_png, standalone_html
from reseaux.exports import table_csv_bytes, table_xlsx_bytes, to_csv_bytes, to_geojson_bytes, to_xlsx_bytes
from reseaux.filters import ActorFilter, FilterResult
from reseaux.mapview import MapView, build_actor_layer, build_base_map, build_map, legend_codes
from reseaux.referential import Referential
from reseaux.scenes import Scene, SceneError, SceneStore
from reseaux.ui import apply_query, filtered

HIDE_CHROME = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header, [data-testid="stToolbar"],
[data-testid="stDecoration"], footer { display: none !important; }
.block-container, [data-testid="stMainBlockContainer"] { padding-top: .6rem !important; max-width: 100% !important; }
.rx-stage h1 { font-size: 2.6rem; margin: 0; color: #3b1046; line-height: 1.15; }
.rx-stage p { font-size: 1.35rem; margin: .2rem 0 .4rem; color: #222; }
</style>"""


def store() -> SceneStore:
    return SceneStore(config.path("scenes"))


def load_scenes() -> list[Scene]:
    try:
        return store().load()
    except SceneError as exc:
        st.error(str(exc))
        return []


def scene_index(scenes: list[Scene]) -> int:
    """The scene asked by the ← → buttons, else by the URL, else the first; the URL follows."""
    wanted = st.session_state.pop("stage_scene", None) or st.query_params.get("scene")
    index = next((i for i, s in enumerate(scenes) if s.id == wanted), 0)
    st.query_params["scene"] = scenes[index].id  # written during the run, so the address bar follows
    return index


# --- full-screen presentation ----------------------------------------------------------------


def stage(ref: Referential, terr: Territory, acts: Actors) -> None:
    """Full screen: the scene's title, its map with the legend, ← → to move between scenes."""
    st.markdown(HIDE_CHROME, unsafe_allow_html=True)
    scenes = load_scenes()
    if not scenes:
        st.warning("Aucune scène : enregistrez d'abord des vues dans la page « Présentation ».")
        return
    index = scene_index(scenes)
    scene = scenes[index]
    st.markdown(f'<div class="rx-stage"><h1>{html.escape(scene.title)}</h1>'
                f'<p>{html.escape(scene.comment)}</p></div>', unsafe_allow_html=True)
    flt = ActorFilter.from_query(scene.filters, ref)
    view = MapView.from_query(scene.query(), terr.specs)
    result = filtered(ref, terr, acts, flt)
    fmap = build_base_map(terr.layers, terr.specs, view, ref, terr.home_bounds,
                          legend_codes=legend_codes(acts.directory.actors, view.color_by),
                          center=scene.center, zoom=scene.zoom, fiches=acts.fiches(ref),
                          geojson=terr.geojson)
    fmap.options["zoomControl"] = False  # a presenter's screen: no controls, the legend stays
    group = build_actor_layer(result.actors, ref, view.color_by, name="Acteurs")
    st_folium(fmap, feature_group_to_add=group, key=f"stage_{scene.id}", height=760, use_container_width=True,
              returned_objects=[])
    left, middle, right = st.columns([1, 2, 1])
    left.button("← Précédente", shortcut="Left", disabled=index == 0, key="stage_prev", width="stretch",
                on_click=_go, args=(scenes[max(index - 1, 0)].id,))
    middle.markdown(f"<div style='text-align:center;font-size:1.1rem'>Scène {index + 1} / {len(scenes)} · "
                    f"{len(result.actors)} acteurs · touches ← →</div>", unsafe_allow_html=True)
    right.button("Suivante →", shortcut="Right", disabled=index == len(scenes) - 1, key="stage_next",
                 width="stretch", on_click=_go, args=(scenes[min(index + 1, len(scenes) - 1)].id,))


def _go(scene_id: str) -> None:
    st.session_state["stage_scene"] = scene_id


# --- editing scenes --------------------------------------------------------------------------


def editor(ref: Referential, terr: Territory, acts: Actors, flt: ActorFilter, view: MapView) -> None:
    """Pick a scene, see the current view, save it as a scene, reorder and delete scenes."""
    scenes = load_scenes()
    if scenes:
        labels = {s.id: f"{i + 1}. {s.title}" for i, s in enumerate(scenes)}
        chosen = st.selectbox("Scènes enregistrées", list(labels), format_func=labels.get, key="pr_scene",
                              index=None, placeholder="Choisir une scène pour l'afficher et la modifier")
        if chosen and st.session_state.get("pr_applied") != chosen:
            scene = next(s for s in scenes if s.id == chosen)
            apply_query(scene.query(), ref, terr)
            st.session_state["pr_applied"] = chosen
            st.session_state["pr_view"] = {"center": scene.center, "zoom": scene.zoom}
            st.rerun()
    result = filtered(ref, terr, acts, flt)
    saved_view = st.session_state.get("pr_view", {})
    fmap = build_base_map(terr.layers, terr.specs, view, ref, terr.home_bounds,
                          legend_codes=legend_codes(acts.directory.actors, view.color_by),
                          center=saved_view.get("center"), zoom=saved_view.get("zoom"), fiches=acts.fiches(ref),
                          geojson=terr.geojson)
    group = build_actor_layer(result.actors, ref, view.color_by, name="Acteurs")
    state = st_folium(fmap, feature_group_to_add=group, key="pr_map", height=560, use_container_width=True,
                      returned_objects=["center", "zoom"])
    st.caption(f"{len(result.actors)} acteurs · {result.sentence}")
    with st.form("pr_new", border=True):
        st.markdown("**Enregistrer la vue actuelle comme scène** (filtres, couches, fond, centre et zoom)")
        title = st.text_input("Titre (grand, lisible à l'écran)", key="pr_title")
        comment = st.text_input("Sous-titre ou commentaire", key="pr_comment")
        if st.form_submit_button("Ajouter la scène", type="primary"):
            if not title.strip():
                st.error("Donnez un titre à la scène.")
            else:
                center = (state or {}).get("center") or {}
                scene = Scene(title.strip(), comment.strip(), flt.to_query(), list(view.layers), view.basemap,
                              view.color_by, [center["lat"], center["lng"]] if center else None,
                              (state or {}).get("zoom"))
                scenes = store().add(scene)
                st.success(f"Scène « {scene.title} » ajoutée.")
    _scene_list(scenes)
    exports(ref, terr, result, view, scenes)


def _scene_list(scenes: list[Scene]) -> None:
    if not scenes:
        return
    st.subheader("Ordre des scènes")
    for index, scene in enumerate(scenes):
        cols = st.columns([6, 1, 1, 1, 2])
        cols[0].markdown(f"{index + 1}. **{html.escape(scene.title)}** — {html.escape(scene.comment)}")
        if cols[1].button("↑", key=f"pr_up_{scene.id}", disabled=index == 0, help="Monter"):
            store().move(scene.id, -1)
            st.rerun()
        if cols[2].button("↓", key=f"pr_down_{scene.id}", disabled=index == len(scenes) - 1, help="Descendre"):
            store().move(scene.id, +1)
            st.rerun()
        if cols[3].button("✕", key=f"pr_del_{scene.id}", help="Supprimer"):
            store().delete(scene.id)
            st.rerun()
        cols[4].page_link("views/presentation.py", label="Présenter", icon=":material/slideshow:",
                          query_params={"scene": scene.id, "plein_ecran": "1"})


# --- exports ---------------------------------------------------------------------------------


def exports(ref: Referential, terr: Territory, result: FilterResult, view: MapView, scenes: list[Scene]) -> None:
    """The current view as a standalone HTML file, a PNG, tables; and the embeddable URL."""
    st.subheader("Exporter cette vue")
    title = st.text_input("Titre de l'export", value=config.get("title"), key="pr_export_title")
    shown = [terr.spec(i) for i in view.layers]
    alt = alt_text(title, result.sentence, result.actors, shown, ref)
    cols = st.columns(3)
    # Built on request only: inlining Leaflet and the data is not work for every rerun.
    if cols[0].button("Préparer la carte autonome (.html)", key="pr_html_make",
                      help="Un seul fichier : s'ouvre sans serveur ni internet (sauf le fond de carte)."):
        fmap = build_map(result.actors, terr.layers, terr.specs, view, ref, terr.home_bounds)
        st.session_state["pr_html"] = standalone_html(fmap, title=title, subtitle=result.sentence, alt=alt)
        st.session_state.pop("pr_png", None)
    if st.session_state.get("pr_html"):
        cols[0].download_button("Télécharger la carte (.html)", st.session_state["pr_html"].encode("utf-8"),
                                "carte_reseau.html", "text/html", key="pr_html")
        if cols[1].button("Préparer l'image (.png)", key="pr_png_make"):
            try:
                st.session_state["pr_png"] = render_png(st.session_state["pr_html"])
            except ChromiumMissing as exc:
                st.error(str(exc))
    if st.session_state.get("pr_png"):
        cols[2].download_button("Télécharger l'image", st.session_state["pr_png"], "carte_reseau.png", "image/png",
                                key="pr_png")
        st.image(st.session_state["pr_png"], caption="Aperçu de l'image exportée")
        st.text_area("Texte alternatif de l'image (ce que montre la carte)", alt, height=160, key="pr_alt")
        st.download_button("Texte alternatif (.txt)", alt.encode("utf-8"), "carte_reseau.txt", "text/plain",
                           key="pr_alt_txt")
    cols = st.columns(3)
    cols[0].download_button("Acteurs (CSV)", to_csv_bytes(result.actors), "acteurs.csv", "text/csv", key="pr_csv")
    cols[1].download_button("Acteurs (Excel)", to_xlsx_bytes(result.actors), "acteurs.xlsx", key="pr_xlsx")
    cols[2].download_button("Acteurs (GeoJSON)", to_geojson_bytes(result.actors), "acteurs.geojson",
                            "application/geo+json", key="pr_geojson")
    if shown:
        import pandas as pd

        frames = [terr.layers[s.id].assign(couche=s.label) for s in shown]
        perimeters = pd.concat(frames, ignore_index=True)
        table = perimeters.drop(columns="geometry")
        cols = st.columns(3)
        cols[0].download_button("Périmètres (CSV)", table_csv_bytes(table),
                                "perimetres.csv", "text/csv", key="pr_p_csv")
        cols[1].download_button("Périmètres (Excel)", table_xlsx_bytes(table, "Périmètres"), "perimetres.xlsx",
                                key="pr_p_xlsx")
        cols[2].download_button("Périmètres (GeoJSON)", perimeters.to_json(drop_id=True).encode("utf-8"),
                                "perimetres.geojson", "application/geo+json", key="pr_p_geojson")
    if scenes:
        base = str(st.context.url).split("?")[0].rstrip("/")
        base = base.rsplit("/", 1)[0] if base.endswith("presentation") else base
        url = f"{base}/presentation?scene={scenes[0].id}&plein_ecran=1&embed=true"
        st.markdown("**Intégrer dans un site partenaire** (sans barre latérale ni menus) :")
        st.code(f'<iframe src="{url}" width="100%" height="900" style="border:0" '
                f'title="Carte du réseau"></iframe>', language="html")
