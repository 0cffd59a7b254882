"""Sources et crédits: where each layer comes from, its licence and vintage; coordinators add
perimeter layers here."""

import streamlit as st

from reseaux import ui
from reseaux.acces.access import can
from reseaux.ui import auth
from reseaux.ui.layers_form import add_layer_form

terr = ui.territory_or_stop()[1]  # not the directory: the sources are the layers
st.title("Sources et crédits")
examples = [s.label for s in terr.specs if s.example]
st.markdown(
    "Les périmètres viennent de données ouvertes ; chaque couche dit sa source, sa licence et son millésime. "
    + (
        f"Les couches marquées **« exemple »** ({', '.join(examples)}) ne sont pas officielles : aucun fichier "
        "ouvert ne donne leur composition ; remplacez-les par les listes officielles (guide d'utilisation, "
        "`docs/guide-utilisateur.md` : « Remplacer les périmètres d'exemple »). "
        if examples
        else ""
    )
    + "Fonds de carte : © les contributeurs d'OpenStreetMap, OpenStreetMap France, CARTO, IGN Géoplateforme."
)
ui.sources(terr)

if can(auth.current()[0], "ajouter_couches"):
    add_layer_form(terr)
