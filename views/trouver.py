"""Trouver un partenaire: the nearest partners to an address, a click or my position."""

import streamlit as st

from reseaux import ui
from reseaux.ui import trouver

ref, terr, acts = ui.load_or_stop()
ui.skip_links(("resultats", "Aller aux résultats"))
st.title("Trouver un partenaire")
flt, k, radius = trouver.sidebar(ref, acts)
trouver.starting_point()
left, right = st.columns([2, 3])
with left:
    ui.skip_target("resultats")
    found, origin = trouver.results(ref, terr, acts, flt, k, radius)
with right:
    trouver.show_map(terr, found, origin, radius)
trouver.write_url(flt, k, radius)
