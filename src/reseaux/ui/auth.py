"""Sign-in (built-in accounts or OpenID Connect through ``st.login``), roles and session timeout."""

from __future__ import annotations

import json
import time

import streamlit as st

from reseaux import config, stockage
from reseaux.acces import audit
from reseaux.acces.access import ROLE_LABELS, can
from reseaux.acces.accounts import AccountError, AccountStore
from reseaux.acces.sessions import COOKIE, SESSION_PATH, SESSIONS


def accounts() -> AccountStore:
    return AccountStore(config.path("accounts"))


def oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 — no secrets file at all (Streamlit raises its own kinds)
        return False


def _oidc_user() -> dict | None:
    try:
        user = st.user
        return dict(user) if user.is_logged_in else None
    except Exception:  # noqa: BLE001 — st.user needs auth configured
        return None


def current() -> tuple[str, str]:
    """(role, name) of the session: built-in account, OpenID Connect, or visitor; also who acts
    in this run, for the audit trail (:func:`reseaux.acces.audit.acting`).

    A built-in sign-in lives in the tab's state and, across reloads and tabs, in the server's
    session store found again through the HttpOnly cookie (see :mod:`reseaux.acces.sessions`).
    """
    role, name = _session()
    audit.acting(name or "visiteur", _client())
    return role, name


def _session() -> tuple[str, str]:
    now = time.time()
    timeout = float(config.get("session_minutes")) * 60
    if st.session_state.get("auth_user"):
        # Every click asks again: the account as it is now (another tab, an administrator or the
        # command line may have changed its password or role, or removed it) and the session.
        changed = _stamp_of(st.session_state["auth_user"]) != st.session_state.get("auth_stamp")
        alive = not changed and SESSIONS.resume(
            st.session_state.get("auth_token"), timeout, stamp_of=_stamp_of, now=now
        )
        if changed or not alive or now - st.session_state.get("auth_seen", now) > timeout:
            _forget()
            st.session_state["auth_notice"] = (
                "Votre compte a changé (mot de passe, rôle ou suppression) : reconnectez-vous."
                if changed
                else "Session expirée ou fermée : reconnectez-vous."
            )
        else:
            st.session_state["auth_seen"] = now
            return st.session_state["auth_role"], st.session_state["auth_user"]
    elif _resume_from_cookie(timeout, now):
        return st.session_state["auth_role"], st.session_state["auth_user"]
    user = _oidc_user()
    if user:
        seen = st.session_state.get("auth_oidc_seen", now)
        if now - seen > timeout:  # inactive too long: signed out, like a built-in session
            st.session_state.pop("auth_oidc_seen", None)
            st.session_state["auth_notice"] = "Session expirée après inactivité : reconnectez-vous."
            try:
                st.logout()
            except Exception:  # noqa: BLE001 — no identity provider behind this session (tests)
                pass
            return "visiteur", ""
        email = str(user.get("email", "") or "")
        if "auth_oidc_seen" not in st.session_state:  # this tab's first page since the sign-in
            audit.record(
                "connexion", who=email or str(user.get("sub", "compte externe")), client=_client(), par="OpenID Connect"
            )
        st.session_state["auth_oidc_seen"] = now
        try:  # read at every click: a role taken away is gone at the next one
            role = oidc_role(user, accounts().role_for_email)
        except AccountError:
            role = config.get("oidc_role")
        return role, str(user.get("name") or email or user.get("sub", "compte externe"))
    return "visiteur", ""


def oidc_role(user: dict, role_for_email) -> str:
    """The role of someone signed in through OpenID Connect: the role an account gives their
    e-mail, only when the provider says the e-mail is verified (else anyone could claim a
    coordinator's address); otherwise the default role (``RESEAUX_OIDC_ROLE``)."""
    verified = user.get("email_verified")
    if verified is True or str(verified).lower() == "true":
        granted = role_for_email(str(user.get("email", "") or ""))
        if granted:
            return granted
    return config.get("oidc_role")


def _cookie() -> str | None:
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 — no browser behind this session (AppTest, bare mode)
        return None
    return value if isinstance(value, str) else None


def _resume_from_cookie(timeout: float, now: float) -> bool:
    """A reload or a new tab: the cookie's session, if alive and its account still exists."""
    if st.session_state.get("auth_signed_out"):  # the cookie of a tab that signed out stays unused
        return False
    token = _cookie()
    name = SESSIONS.resume(token, timeout, stamp_of=_stamp_of, now=now)  # removed or changed since: over
    if not name:
        return False
    try:
        account = accounts().load().get(name)
    except AccountError:
        account = None
    if account is None:
        SESSIONS.close(token)
        return False
    st.session_state.update(
        auth_user=account.name,
        auth_role=account.role,
        auth_seen=now,
        auth_token=token,
        auth_stamp=_stamp_of(account.name),
    )
    return True


def _stamp_of(name: str) -> str | None:
    """The account's stamp now (None: removed, or the accounts file unreadable — signed out). A
    database that does not answer is raised, not None: the click is refused with a French
    sentence (:func:`reseaux.serveur.web.on_script_error`), the session is not closed for it."""
    try:
        return accounts().stamp(name)
    except AccountError as exc:
        if stockage.unavailable(exc):
            raise
        return None


def token_check():
    """For a map token registered by this page (:mod:`reseaux.annuaire.fiche_service`): a function that
    says, at each of its requests, whether this page's sign-in still holds — the session open,
    its account unchanged. None for a visitor (the public view needs no sign-in)."""
    key = session_key()
    return session_check(key) if key else None


def session_key() -> str:
    """The key of this page's built-in sign-in in the shared sessions ("" when none)."""
    return SESSIONS.key(st.session_state.get("auth_token"))


def session_check(key: str):
    """A function that says whether the sign-in kept under ``key`` still holds (open, not idle
    too long, its account unchanged) — in whichever process asks it."""
    timeout = float(config.get("session_minutes")) * 60
    return lambda: SESSIONS.alive(key, timeout, stamp_of=_stamp_of)


def _forget() -> None:
    from reseaux.annuaire.fiche_service import SERVICE

    SESSIONS.close(st.session_state.get("auth_token"))
    SERVICE.revoke_owner(st.session_state.get("_fiche_owner"))  # this tab's map tokens answer no more
    for key in ("auth_user", "auth_role", "auth_seen", "auth_token", "auth_ticket", "auth_stamp"):
        st.session_state.pop(key, None)


def sign_in(name: str, password: str) -> str | None:
    """Try a built-in sign-in; return an error message, or None when signed in."""
    client = _client()
    try:
        account = accounts().authenticate(name, password, client=client)
    except AccountError as exc:
        _audit_refusal(name, client)
        return str(exc)
    audit.record("connexion", who=account.name, client=client)
    stamp = _stamp_of(account.name)
    token, ticket = SESSIONS.open(account.name, stamp=stamp or "")
    st.session_state.update(
        auth_user=account.name,
        auth_role=account.role,
        auth_seen=time.time(),
        auth_token=token,
        auth_ticket=ticket,
        auth_stamp=stamp,
    )
    st.session_state.pop("auth_signed_out", None)
    return None


def _audit_refusal(name: str, client: str) -> None:
    """A refused sign-in in the audit trail, naming the account only when it exists: what was typed
    in the name box may be a password typed in the wrong place."""
    typed = name.strip().lower()
    try:
        known = typed in accounts().load()
    except AccountError:
        known = False
    audit.record("connexion refusée", who=typed if known else "(identifiant inconnu)", client=client)


def renew_session(name: str) -> None:
    """After ``name``'s password changed (which ends all its sessions): if that is the person
    here, this tab stays signed in with a new session (and a new cookie)."""
    if st.session_state.get("auth_user") == name:
        stamp = _stamp_of(name)
        token, ticket = SESSIONS.open(name, stamp=stamp or "")
        st.session_state.update(auth_token=token, auth_ticket=ticket, auth_seen=time.time(), auth_stamp=stamp)


def _client() -> str:
    """Who is signing in, as far as the lock-out is concerned (see reseaux.serveur.clients). Behind a
    proxy on the same host Streamlit says no address (None: a loopback peer); the headers go
    whole to :func:`~reseaux.serveur.clients.client_address`, which reads a repeated one to its last value."""
    from reseaux.serveur.clients import UNKNOWN, client_address

    try:
        peer, headers = st.context.ip_address, st.context.headers
    except Exception:  # noqa: BLE001 — no browser behind this session (AppTest)
        return UNKNOWN
    return client_address(peer if isinstance(peer, str) else None, headers)


def sign_out() -> None:
    _forget()
    st.session_state["auth_signed_out"] = True
    st.session_state["auth_clear_cookie"] = True
    if _oidc_user():
        st.logout()


def _cookie_script() -> None:
    """Hand the browser its session cookie after a sign-in (or remove it after a sign-out).

    The page only ever sees a one-time ticket; the route answers with the HttpOnly cookie.
    """
    ticket = st.session_state.pop("auth_ticket", None)
    clear = st.session_state.pop("auth_clear_cookie", None)
    if not (ticket or clear):
        return
    request = (
        '{method: "POST", body: %s, credentials: "same-origin"}' % json.dumps(ticket)
        if ticket
        else '{method: "DELETE", credentials: "same-origin"}'
    )
    st.html(
        f"<script>fetch({json.dumps(SESSION_PATH)}, {request});</script>", unsafe_allow_javascript=True, width="content"
    )


def sidebar_box(role: str, name: str, *, form: bool = True) -> None:
    """Who is signed in, and the way in or out (``form``: the sign-in form, unless the page
    itself shows it — the connexion page, when visitors see nothing: one form, not two)."""
    with st.sidebar:
        _cookie_script()
        notice = st.session_state.pop("auth_notice", None)
        if notice:
            st.warning(notice)
        if role != "visiteur":
            st.caption(f"Connecté·e : **{name}** — {ROLE_LABELS[role]}")
            st.button("Se déconnecter", on_click=sign_out, key="auth_logout")
            return
        if form:
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
    if oidc_configured() and st.button("Se connecter avec le compte de mon organisation", key="auth_oidc"):
        st.login()


def require(role: str, action: str) -> None:
    """Stop the page, in French, when ``role`` may not do ``action``."""
    if not can(role, action):
        who = "l'administration" if action == "gerer_comptes" else "la coordination"
        st.warning(
            f"Cette page est réservée à {who} du réseau : connectez-vous avec un compte habilité "
            "(barre latérale, « Se connecter »)."
        )
        st.stop()
