"""Réseaux — entry point: page set-up, sign-in, and the pages this role may open. `make run`."""

import streamlit as st

from reseaux import config
from reseaux.acces.access import can, can_see_map
from reseaux.ui import auth, page_style
from reseaux.ui.accessibility import STATUS as ACCESSIBILITY_STATUS

st.set_page_config(page_title="Réseaux — carte du réseau", page_icon="🗺️", layout="wide")
page_style()

role, name = auth.current()
# Every page is declared for every role, so that a link to it never meets Streamlit's English
# « Page not found »; those a role may not use are hidden from its menu and say so in French.
map_ok = can_see_map(role, config.get("visitors"))
edit_ok = can(role, "modifier")


def shown(allowed: bool) -> str:
    return "visible" if allowed else "hidden"


accessibility = st.Page("views/accessibilite.py", title="Accessibilité", icon=":material/accessibility_new:")
pages = [] if map_ok else [st.Page("views/connexion.py", title="Connexion", icon=":material/login:", default=True)]
pages += [
    st.Page("views/carte.py", title="Carte du réseau", icon=":material/map:", default=map_ok, visibility=shown(map_ok)),
    st.Page(
        "views/trouver.py", title="Trouver un partenaire", icon=":material/person_search:", visibility=shown(map_ok)
    ),
    st.Page("views/couverture.py", title="Couverture", icon=":material/grid_view:", visibility=shown(map_ok)),
    st.Page("views/presentation.py", title="Présentation", icon=":material/slideshow:", visibility=shown(map_ok)),
    st.Page("views/annuaire.py", title="Annuaire", icon=":material/contacts:", visibility=shown(edit_ok)),
    st.Page("views/qualite.py", title="Qualité de l'annuaire", icon=":material/fact_check:", visibility=shown(edit_ok)),
    st.Page(
        "views/comptes.py",
        title="Comptes",
        icon=":material/manage_accounts:",
        visibility=shown(can(role, "gerer_comptes")),
    ),
    st.Page("views/rgpd.py", title="Données personnelles", icon=":material/shield_person:"),
    st.Page("views/sources.py", title="Sources et crédits", icon=":material/menu_book:"),
    accessibility,
]
auth.sidebar_box(role, name, form=map_ok)
navigation = st.navigation(pages)
# The RGAA asks every page to say the state of conformity, linked to the statement.
st.sidebar.page_link(accessibility, label=f"Accessibilité : {ACCESSIBILITY_STATUS}")
navigation.run()
