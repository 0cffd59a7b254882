"""Annuaire: keep the directory alive — fiches, import, save safely, backups, exports."""

import streamlit as st

from reseaux import ui
from reseaux.ui import annuaire, auth

role, who = auth.current()
auth.require(role, "modifier")
st.title("Annuaire du réseau")
if not annuaire.readable_or_rescue(who):
    st.stop()
ref, terr, acts = ui.load_or_stop()
with st.container():  # one place whatever it shows: the open tab stays open (see save_panel)
    directory_store, base, work = annuaire.state()
    annuaire.save_panel(directory_store, base, work, who)
fiches, imports, backups, exports, old = st.tabs(annuaire.TABS, key=annuaire.TABS_KEY, on_change="rerun")
with fiches:
    annuaire.fiches_panel(ref, work)
with imports:
    annuaire.import_panel(ref, work)
with backups:
    annuaire.backups_panel(directory_store, base, who)
with exports:
    annuaire.exports_panel(acts.directory.actors)
with old:
    annuaire.stale_panel(ref, work)
