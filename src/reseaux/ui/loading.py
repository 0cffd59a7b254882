"""The data every page needs, loaded once per server (per file version, per role) and shown in
French when it cannot be loaded."""

from __future__ import annotations

import secrets
from pathlib import Path

import streamlit as st

from reseaux import config
from reseaux.access import can
from reseaux.actor_layer import FicheStore
from reseaux.app_data import Actors, Territory, load_actors, load_referential_file, load_territory, visible_view
from reseaux.directory import DirectoryError
from reseaux.fiche_service import SERVICE
from reseaux.france import FranceDataMissing
from reseaux.layers import RegistryError
from reseaux.referential import Referential
from reseaux.territory import TerritoryError
from reseaux.text import plural
from reseaux.ui import auth
from reseaux.web import FICHES_PATH


@st.cache_resource(show_spinner="Chargement des périmètres…")
def territory() -> Territory:
    return load_territory()


@st.cache_resource
def referential() -> Referential:
    return load_referential_file()


@st.cache_resource(show_spinner="Chargement de l'annuaire…")
def _actors(path: str, mtime: float) -> Actors:  # mtime is part of the key: a saved file reloads
    return load_actors(Path(path), referential())


@st.cache_resource(show_spinner=False)
def _visible(path: str, mtime: float, role: str, visitors: str) -> Actors:  # one cached view per role
    return visible_view(_actors(path, mtime), role, visitors)


#: The last version of each directory file that could be read: served, with a banner, while the
#: file on disk cannot be (a broken save by hand, a truncated copy), so the map stays up.
_LAST_GOOD: dict[str, float] = {}


def actors() -> Actors:
    """The directory named by RESEAUX_ACTORS as the session's role may see it (one rule:
    access.visible_actors), reloaded when the file changes on disk; the last version that could
    be read while the file cannot be (with a banner saying so)."""
    path = config.path("actors")
    mtime = path.stat().st_mtime if path.exists() else 0.0
    try:
        _actors(str(path), mtime)
    except (DirectoryError, OSError) as exc:
        good = _LAST_GOOD.get(str(path))
        if good is None:
            raise
        st.warning(f"**L'annuaire sur le disque est illisible** ({exc}) : la carte montre la dernière version "
                   "lisible. La coordination peut restaurer une sauvegarde (page « Annuaire »).",
                   icon=":material/warning:")
        mtime = good
    _LAST_GOOD[str(path)] = mtime
    role, _ = auth.current()
    if can(role, "voir_toutes_les_fiches"):
        return _actors(str(path), mtime)
    return _visible(str(path), mtime, role, config.get("visitors"))


def load_or_stop() -> tuple[Referential, Territory, Actors]:
    """Load everything; on a problem, show it in French and stop the page (no stack trace).

    A map page opened by link when visitors see nothing (``RESEAUX_VISITORS=rien``) says so.
    """
    from reseaux.access import can_see_map

    if not can_see_map(auth.current()[0], config.get("visitors")):
        st.warning("Cette carte est réservée aux membres du réseau : connectez-vous (barre latérale).")
        st.stop()
    try:
        loaded = referential(), territory(), actors()
    except (DirectoryError, RegistryError, TerritoryError, FranceDataMissing, ValueError, OSError) as exc:
        st.error(f"**Impossible de charger les données.** {exc}")
        st.stop()
        raise
    if loaded[1].broken:
        names = ", ".join(f"« {name} »" for name, _ in loaded[1].broken)
        st.warning(f"{plural(len(loaded[1].broken), 'couche écartée', 'couches écartées')} car inutilisable(s) : "
                   f"{names} — la raison est dans « Sources et crédits ».", icon=":material/layers_clear:")
    return loaded


def fiche_store(acts: Actors, ref: Referential) -> FicheStore:
    """Where this page's map asks for its fiches: the server, with a token for the directory as
    this session may see it (``acts``; see :mod:`reseaux.fiche_service`). The same token from
    one run to the next (the map is kept), a new one when the session's view changes."""
    owner = st.session_state.setdefault("_fiche_owner", secrets.token_urlsafe(12))
    token = SERVICE.register(owner, acts.directory.actors, ref, ttl_s=60 * float(config.get("session_minutes")))
    base = st.get_option("server.baseUrlPath").strip("/")
    return FicheStore(url=f"{'/' + base if base else ''}{FICHES_PATH}/{token}")
