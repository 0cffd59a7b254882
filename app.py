"""Réseaux — entry point: page set-up and navigation. Run with `make run`."""

import streamlit as st

st.set_page_config(page_title="Réseaux — carte du réseau", page_icon="🗺️", layout="wide")

pages = [
    st.Page("views/carte.py", title="Carte du réseau", icon=":material/map:", default=True),
    st.Page("views/trouver.py", title="Trouver un partenaire", icon=":material/person_search:"),
    st.Page("views/couverture.py", title="Couverture", icon=":material/grid_view:"),
    st.Page("views/presentation.py", title="Présentation", icon=":material/slideshow:"),
    st.Page("views/annuaire.py", title="Annuaire", icon=":material/contacts:"),
    st.Page("views/qualite.py", title="Qualité de l'annuaire", icon=":material/fact_check:"),
    st.Page("views/sources.py", title="Sources et crédits", icon=":material/menu_book:"),
]
st.navigation(pages).run()
