"""Présentation: scenes for webinars (full screen with ← →), exports that work anywhere."""

import streamlit as st

from reseaux import ui
from reseaux.ui import presentation, presentation_stage

ref, terr, acts = ui.load_or_stop()
if presentation_stage.full_screen():
    presentation_stage.stage(ref, terr, acts)
else:
    st.title("Présentation et exports")
    presentation.open_scene_from_url(ref, terr)  # before the sidebar: the scene's filters fill its widgets
    frame = acts.directory.actors
    flt, view = ui.sidebar(ref, terr, frame, frame["code_insee"].unique().tolist(), write_url=False)
    presentation.editor(ref, terr, acts, flt, view)
