"""The floor of the stack: Streamlit + streamlit-folium drawing one marker (bench/bench_browser.py).

Leaflet from the same local copies as Réseaux, so both pay the same for their scripts."""

import folium
import streamlit as st
from streamlit_folium import st_folium

from reseaux.carte.assets import use_local_assets

st.title("Plancher : une carte, un marqueur")
fmap = folium.Map(location=[49.44, 1.09], zoom_start=12, tiles=None)
folium.Marker([49.44, 1.09]).add_to(fmap)
use_local_assets(fmap)
st_folium(fmap, height=600, use_container_width=True, returned_objects=[])
