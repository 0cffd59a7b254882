"""Présentation: scenes for webinars (full screen with ← →), exports that work anywhere."""

import streamlit as st

from reseaux import ui
from reseaux.ui import presentation, presentation_stage

ref, terr = ui.territory_or_stop()
held = ui.directory_on_demand()  # on PostgreSQL, read only when the database cannot answer
if presentation_stage.full_screen():
    presentation_stage.stage(ref, terr, held)
else:
    st.title("Présentation et exports")
    presentation.open_scene_from_url(ref, terr)  # before the sidebar: the scene's filters fill its widgets
    flt, view = ui.map_state(ref, terr)
    shown = ui.map_answers(ref, terr, flt, view, held)
    if ui.sidebar(ref, terr, shown.positions, shown.communes, write_url=False) != (flt, view):
        st.rerun()  # a widget corrected a value
    presentation.editor(ref, terr, shown, flt, view, held)
