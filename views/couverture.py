"""Couverture: where the network has gaps, perimeter by perimeter."""

import streamlit as st

from reseaux import ui
from reseaux.ui import couverture

ref, terr, acts = ui.load_or_stop()
st.title("Couverture du réseau")
layer, flt, distance, measure = couverture.sidebar(ref, terr, acts)
couverture.report(ref, terr, acts, layer, flt, distance, measure)
