"""Carte du réseau: the partners on the perimeters of public action, filtered."""

import streamlit as st

from reseaux import ui

ref, terr = ui.territory_or_stop()
held = ui.directory_on_demand()  # on PostgreSQL, read only when the database cannot answer
# The map first, the sidebar's widgets after: the map is what a person waits for.
flt, view = ui.map_state(ref, terr)
shown = ui.map_answers(ref, terr, flt, view, held)
ui.header(shown)
ui.nobody(shown, flt)
ui.show_map(ref, terr, view, shown, flt)
if ui.sidebar(ref, terr, shown.positions, shown.communes) != (flt, view):  # a widget corrected a value
    st.rerun()
ui.actor_table(ref, shown)
