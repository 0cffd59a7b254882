"""Connexion: the map of this network is for its members."""

import streamlit as st

from reseaux.ui import auth

st.title("Carte du réseau — accès réservé")
st.markdown(
    "Cette carte est destinée aux membres du réseau (professionnel·les, salarié·es et bénévoles). "
    "Connectez-vous pour la consulter."
)
auth.sign_in_form()
