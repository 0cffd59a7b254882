"""Présentation: scenes for webinars (full screen with ← →), exports that work anywhere."""

import streamlit as st

from reseaux import ui
from reseaux.ui import presentation

ref, terr, acts = ui.load_or_stop()
if st.query_params.get("plein_ecran") == "1":
    presentation.stage(ref, terr, acts)
else:
    st.title("Présentation et exports")
    flt, view = ui.sidebar(ref, terr, acts, write_url=False)
    presentation.editor(ref, terr, acts, flt, view)
