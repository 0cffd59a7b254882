"""Comptes: the administrators manage built-in accounts (roles, passwords, lock-outs) and read the audit trail."""

import time

import pandas as pd
import streamlit as st

from reseaux.acces import audit
from reseaux.acces.access import ROLE_LABELS, ROLES
from reseaux.acces.accounts import AccountError
from reseaux.text import fr_date
from reseaux.ui import auth

SHOWN = 500  # audit lines on the page; the download has them all

me_role, me = auth.current()
auth.require(me_role, "gerer_comptes")
st.title("Comptes")
store = auth.accounts()
st.caption(f"Fichier des comptes : {store.path} (hors du dépôt ; mots de passe conservés en empreintes Argon2).")
done = st.session_state.pop("acc_done", None)
if done:  # said after the rerun that shows the list as it now is
    st.success(done)


def act(action, *args, message: str) -> None:
    """Do ``action`` on the accounts file; say what was done, or why not, in French."""
    try:
        action(*args)
    except AccountError as exc:
        st.error(str(exc))
    else:
        st.session_state["acc_done"] = message
        st.rerun()


def locked(until: float) -> str:
    if until <= time.time():
        return "non"
    moment = time.localtime(until)
    return f"oui, jusqu'au {fr_date(time.strftime('%Y-%m-%d', moment))} à {moment.tm_hour} h {moment.tm_min:02d}"


accounts = store.load()
if accounts:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Identifiant": a.name,
                    "Rôle": ROLE_LABELS[a.role],
                    "Courriel": a.email,
                    "Verrouillé": locked(a.locked_until),
                }
                for a in accounts.values()
            ]
        ),
        hide_index=True,
        width="stretch",
    )
with st.form("acc_new"):
    st.markdown("**Nouveau compte**")
    name = st.text_input("Identifiant")
    email = st.text_input("Courriel (pour une connexion par l'organisation)")
    role = st.selectbox("Rôle", ROLES[1:], format_func=ROLE_LABELS.get)
    password = st.text_input("Mot de passe provisoire (10 caractères au moins)", type="password")
    if st.form_submit_button("Créer le compte"):
        act(store.add, name, password, role, email, message=f"Compte « {name.strip().lower()} » créé.")
if accounts:
    st.markdown("**Modifier un compte**")
    who = st.selectbox("Compte", list(accounts), key="acc_who")
    yourself = who == me
    if yourself:
        st.caption(
            "C'est votre compte : un·e autre administrateur·rice peut changer son rôle ou le supprimer "
            "(vous ne pouvez pas vous retirer vous-même l'accès à cette page)."
        )
    cols = st.columns(4)
    # Keyed by account: choosing another account shows its own role, not the previous one's.
    new_role = cols[0].selectbox(
        "Rôle",
        ROLES[1:],
        index=ROLES[1:].index(accounts[who].role),
        format_func=ROLE_LABELS.get,
        key=f"acc_role_{who}",
        disabled=yourself,
    )
    if cols[0].button("Changer le rôle", key="acc_set_role", disabled=yourself):
        act(store.set_role, who, new_role, message=f"« {who} » a désormais le rôle « {ROLE_LABELS[new_role]} ».")
    new_password = cols[1].text_input("Nouveau mot de passe", type="password", key="acc_pw")
    if cols[1].button("Changer le mot de passe", key="acc_set_pw"):
        act(
            lambda w, p: (store.set_password(w, p), auth.renew_session(w)),
            who,
            new_password,
            message=f"Mot de passe de « {who} » changé (ses autres connexions sont fermées).",
        )
    if cols[2].button("Déverrouiller", key="acc_unlock"):
        act(store.unlock, who, message=f"« {who} » peut de nouveau se connecter.")
    confirm = cols[3].checkbox(f"Je confirme la suppression de « {who} »", key=f"acc_confirm_{who}", disabled=yourself)
    if cols[3].button("Supprimer le compte", key="acc_delete", disabled=yourself or not confirm):
        act(store.remove, who, message=f"Compte « {who} » supprimé.")

st.subheader("Journal d'audit")
st.caption(
    f"Connexions (réussies et refusées), enregistrements de l'annuaire, sauvegardes, restaurations, "
    f"effacements, exports et changements de comptes : qui, quand, depuis quelle adresse. Fichier "
    f"{audit.path()}, où l'on ne fait qu'ajouter ; ni mot de passe, ni contenu de fiche. "
    f"Les {SHOWN} derniers événements, le plus récent en haut."
)
events = audit.read(limit=SHOWN)
if events:
    st.dataframe(pd.DataFrame(audit.rows(events)), hide_index=True, width="stretch")
else:
    st.info("Aucun événement enregistré pour l'instant.")
st.download_button(
    "Télécharger tout le journal d'audit (JSON, une ligne par événement)",
    audit.raw(),
    "audit.jsonl",
    "application/jsonl",
    key="acc_audit_dl",
    on_click="ignore",
)
