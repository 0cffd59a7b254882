"""Comptes: the administrators manage built-in accounts (roles, passwords, lock-outs)."""

import pandas as pd
import streamlit as st

from reseaux.access import ROLE_LABELS, ROLES
from reseaux.accounts import AccountError
from reseaux.ui import auth

auth.require(auth.current()[0], "gerer_comptes")
st.title("Comptes")
store = auth.accounts()
st.caption(f"Fichier des comptes : {store.path} (hors du dépôt ; mots de passe conservés en empreintes Argon2).")
accounts = store.load()
if accounts:
    st.dataframe(pd.DataFrame([{"Identifiant": a.name, "Rôle": ROLE_LABELS[a.role], "Courriel": a.email,
                                "Verrouillé": "oui" if a.locked_until else "non"} for a in accounts.values()]),
                 hide_index=True, width="stretch")
with st.form("acc_new"):
    st.markdown("**Nouveau compte**")
    name = st.text_input("Identifiant")
    email = st.text_input("Courriel (pour une connexion par l'organisation)")
    role = st.selectbox("Rôle", ROLES[1:], format_func=ROLE_LABELS.get)
    password = st.text_input("Mot de passe provisoire (10 caractères au moins)", type="password")
    if st.form_submit_button("Créer le compte"):
        try:
            store.add(name, password, role, email)
            st.success(f"Compte « {name} » créé.")
        except AccountError as exc:
            st.error(str(exc))
if accounts:
    st.markdown("**Modifier un compte**")
    who = st.selectbox("Compte", list(accounts), key="acc_who")
    cols = st.columns(4)
    new_role = cols[0].selectbox("Rôle", ROLES[1:], index=ROLES[1:].index(accounts[who].role),
                                 format_func=ROLE_LABELS.get, key="acc_role")
    if cols[0].button("Changer le rôle", key="acc_set_role"):
        store.set_role(who, new_role)
        st.rerun()
    new_password = cols[1].text_input("Nouveau mot de passe", type="password", key="acc_pw")
    if cols[1].button("Changer le mot de passe", key="acc_set_pw"):
        try:
            store.set_password(who, new_password)
            st.success("Mot de passe changé.")
        except AccountError as exc:
            st.error(str(exc))
    if cols[2].button("Déverrouiller", key="acc_unlock"):
        store.unlock(who)
        st.rerun()
    if cols[3].button("Supprimer le compte", key="acc_delete"):
        store.remove(who)
        st.rerun()
