"""Couverture: where the network has gaps, perimeter by perimeter."""

import streamlit as st

from reseaux import ui
from reseaux.ui import couverture

ref, terr = ui.territory_or_stop()
counted = couverture.counted_now(ref, ui.directory_on_demand())  # on PostgreSQL, its index
st.title("Couverture du réseau")
layer, flt, distance, measure = couverture.sidebar(ref, terr, counted)
couverture.report(ref, terr, counted, layer, flt, distance, measure)
