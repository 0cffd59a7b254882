"""Trouver un partenaire: the nearest partners to an address, a click or my position."""

import streamlit as st

from reseaux import ui
from reseaux.ui import trouver

ref, terr = ui.territory_or_stop()
# On PostgreSQL the database answers: the directory is read only when it cannot (trouver.Asking).
asking = trouver.Asking.now(ref, terr, ui.directory_on_demand())
ui.skip_links(("resultats", "Aller aux résultats"))
st.title("Trouver un partenaire")
flt, k, radius = trouver.sidebar(asking)
trouver.starting_point()
left, right = st.columns([2, 3])
with left:
    ui.skip_target("resultats")
    found, origin = trouver.results(asking, flt, k, radius)
with right:
    trouver.show_map(terr, found, origin, radius)
trouver.write_url(flt, k, radius)
