"""Sources et crédits: where each layer comes from, its licence and vintage."""

import streamlit as st

from reseaux import ui

ref, terr, acts = ui.load_or_stop()
st.title("Sources et crédits")
st.markdown(
    "Les périmètres viennent de données ouvertes (ANCT, IGN, INSEE, DGCL, DREES/FINESS). "
    "Les couches marquées **« exemple »** (CPTS, UTAS, secteurs des CMS) ne sont pas officielles : "
    "aucun fichier ouvert ne donne leur composition ; remplacez-les par les listes officielles "
    "(voir le README). Fonds de carte : © les contributeurs d'OpenStreetMap, OpenStreetMap France, "
    "CARTO, IGN Géoplateforme."
)
ui.sources(terr)
