"""Sign-in (built-in accounts or OpenID Connect through ``st.login``), roles and session timeout."""

from __future__ import annotations

import time

import streamlit as st

from reseaux import config
from reseaux.access import ROLE_LABELS, can
from reseaux.accounts import AccountError, AccountStore


def accounts() -> AccountStore:
    return AccountStore(config.path("accounts"))


def oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def _oidc_user() -> dict | None:
    try:
        user = st.user
        return dict(user) if user.is_logged_in else None
    except Exception:  # st.user needs auth configured
        return None


def current() -> tuple[str, str]:
    """(role, name) of the session: built-in account, OpenID Connect, or visitor."""
    now = time.time()
    timeout = float(config.get("session_minutes")) * 60
    if st.session_state.get("auth_user"):
        if now - st.session_state.get("auth_seen", now) > timeout:
            st.session_state.pop("auth_user")
            st.session_state["auth_notice"] = "Session expirée après inactivité : reconnectez-vous."
        else:
            st.session_state["auth_seen"] = now
            return st.session_state["auth_role"], st.session_state["auth_user"]
    user = _oidc_user()
    if user:
        email = str(user.get("email", "") or "")
        key = f"auth_oidc_role:{email}"
        if key not in st.session_state:  # read the accounts file once per session, not every rerun
            st.session_state[key] = accounts().role_for_email(email) or config.get("oidc_role")
        role = st.session_state[key]
        return role, str(user.get("name") or email or user.get("sub", "compte externe"))
    return "visiteur", ""


def sign_in(name: str, password: str) -> str | None:
    """Try a built-in sign-in; return an error message, or None when signed in."""
    try:
        account = accounts().authenticate(name, password)
    except AccountError as exc:
        return str(exc)
    st.session_state.update(auth_user=account.name, auth_role=account.role, auth_seen=time.time())
    return None


def sign_out() -> None:
    for key in ("auth_user", "auth_role", "auth_seen"):
        st.session_state.pop(key, None)
    if _oidc_user():
        st.logout()


def sidebar_box(role: str, name: str) -> None:
    """Who is signed in, and the way in or out."""
    with st.sidebar:
        notice = st.session_state.pop("auth_notice", None)
        if notice:
            st.warning(notice)
        if role != "visiteur":
            st.caption(f"Connecté·e : **{name}** — {ROLE_LABELS[role]}")
            st.button("Se déconnecter", on_click=sign_out, key="auth_logout")
            return
        with st.expander("Se connecter (membres du réseau)", expanded=False):
            sign_in_form()


def sign_in_form() -> None:
    with st.form("auth_form"):
        name = st.text_input("Identifiant", key="auth_name")
        password = st.text_input("Mot de passe", type="password", key="auth_password")
        if st.form_submit_button("Se connecter"):
            error = sign_in(name, password)
            if error:
                st.error(error)
            else:
                st.rerun()
    if oidc_configured():
        if st.button("Se connecter avec le compte de mon organisation", key="auth_oidc"):
            st.login()


def require(role: str, action: str) -> None:
    """Stop the page, in French, when ``role`` may not do ``action``."""
    if not can(role, action):
        st.warning("Cette page est réservée à la coordination du réseau : connectez-vous avec un compte habilité.")
        st.stop()
