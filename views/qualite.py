"""Qualité de l'annuaire: every problem of the directory file, by spreadsheet line."""

import streamlit as st

from reseaux import ui
from reseaux.ui import auth

role, who = auth.current()
auth.require(role, "modifier")
ref, terr, acts = ui.load_or_stop()
st.title("Qualité de l'annuaire")
st.caption(
    "Seule une ligne sans nom ou sans rien pour la placer est écartée ; elle est comptée et montrée "
    "ici : rien n'est perdu. Corrigez le fichier puis rechargez la page."
)
ui.quality_report(acts, ref)
ui.geocoding_panel(acts, who)
