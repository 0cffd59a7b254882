"""Qualité de l'annuaire: every problem of the directory file, by spreadsheet line."""

import streamlit as st

from reseaux import ui
from reseaux.ui import auth

role, who = auth.current()
auth.require(role, "modifier")
ref, _ = ui.territory_or_stop()
held = ui.directory_on_demand()  # on PostgreSQL, read only when the database cannot answer
st.title("Qualité de l'annuaire")
st.caption(
    "Seule une ligne sans nom ou sans rien pour la placer est écartée ; elle est comptée et montrée "
    "ici : rien n'est perdu. Corrigez le fichier puis rechargez la page."
)
quality = ui.quality_now(ref, held)
ui.quality_report(quality, ref)
ui.geocoding_panel(quality, who)
