"""Carte du réseau: the partners on the perimeters of public action, filtered."""

import streamlit as st

from reseaux import ui

ref, terr, acts = ui.load_or_stop()
# The map first, the sidebar's widgets after: the map is what a person waits for.
flt, view = ui.map_state(ref, terr)
result = ui.filtered(ref, terr, acts, flt)
ui.header(acts, result)
ui.nobody(ref, terr, acts, flt, result)
ui.show_map(ref, terr, acts, view, result, flt)
if ui.sidebar(ref, terr, acts) != (flt, view):  # a widget corrected a value (a link's unknown perimeter)
    st.rerun()
ui.actor_table(ref, result)
