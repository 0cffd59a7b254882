"""Réseaux — entry point: page set-up, sign-in, and the pages this role may open. `make run`."""

import streamlit as st

from reseaux import config
from reseaux.access import can, can_see_map
from reseaux.ui import auth, page_style

st.set_page_config(page_title="Réseaux — carte du réseau", page_icon="🗺️", layout="wide")
page_style()

role, name = auth.current()
pages = []
if can_see_map(role, config.get("visitors")):
    pages += [
        st.Page("views/carte.py", title="Carte du réseau", icon=":material/map:", default=True),
        st.Page("views/trouver.py", title="Trouver un partenaire", icon=":material/person_search:"),
        st.Page("views/couverture.py", title="Couverture", icon=":material/grid_view:"),
        st.Page("views/presentation.py", title="Présentation", icon=":material/slideshow:"),
    ]
else:
    pages.append(st.Page("views/connexion.py", title="Connexion", icon=":material/login:", default=True))
if can(role, "modifier"):
    pages += [
        st.Page("views/annuaire.py", title="Annuaire", icon=":material/contacts:"),
        st.Page("views/qualite.py", title="Qualité de l'annuaire", icon=":material/fact_check:"),
    ]
if can(role, "gerer_comptes"):
    pages.append(st.Page("views/comptes.py", title="Comptes", icon=":material/manage_accounts:"))
pages += [
    st.Page("views/rgpd.py", title="Données personnelles", icon=":material/shield_person:"),
    st.Page("views/sources.py", title="Sources et crédits", icon=":material/menu_book:"),
]
auth.sidebar_box(role, name)
st.navigation(pages).run()
