"""Accessibilité: the accessibility statement (RGAA), for every one, with or without an account."""

import streamlit as st

from reseaux import config
from reseaux.ui.accessibility import statement_markdown

st.title("Accessibilité")
st.markdown(statement_markdown(config.get("privacy_contact")))
