"""Annuaire: keep the directory alive — fiches, import, save safely, backups, exports."""

import streamlit as st

from reseaux import ui
from reseaux.ui import auth
from reseaux.ui.annuaire import fiches, importer, saving, session

role, who = auth.current()
auth.require(role, "modifier")
st.title("Annuaire du réseau")
if not session.readable_or_rescue(who):
    st.stop()
ref = ui.referential_or_stop()
with st.container():  # one place whatever it shows: the open tab stays open (see save_panel)
    directory_store, base, work = session.state()
    saving.save_panel(directory_store, base, work, who)
fiches_tab, imports, backups, exports, old = st.tabs(session.TABS, key=session.TABS_KEY, on_change="rerun")
with fiches_tab:
    fiches.fiches_panel(ref, work)
with imports:
    importer.import_panel(ref, work)
with backups:
    saving.backups_panel(directory_store, base, who)
with exports:
    saving.exports_panel(base)
with old:
    fiches.stale_panel(ref, work)
