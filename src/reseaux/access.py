"""Who sees what, decided in one place.

Roles, from least to most trusted: visiteur (not signed in), membre, coordinateur,
administrateur. Members see every fiche; a visitor sees nothing or the public view
(structures, outreach actions, distribution points, and only the people whose fiche says
``visibilite = public``), as the ``RESEAUX_VISITORS`` setting says. Every page, export and
command that shows actors goes through :func:`visible_actors`.
"""

from __future__ import annotations

import pandas as pd

ROLES = ("visiteur", "membre", "coordinateur", "administrateur")
ROLE_LABELS = {"visiteur": "Visiteur·se (non connecté·e)", "membre": "Membre du réseau",
               "coordinateur": "Coordination", "administrateur": "Administration"}
#: Actor types a visitor may see whatever their fiche says: places and actions, not people.
PUBLIC_TYPES = ("structure", "aller_vers", "distribution")
VISIBILITY_VALUES = ("public", "membres")
DEFAULT_VISIBILITY = "membres"
#: action -> the least role allowed to do it
ACTIONS = {
    "voir_carte": "visiteur",        # subject to the visitors setting, see can_see_map
    "voir_toutes_les_fiches": "membre",
    "exporter_fiches_reservees": "coordinateur",  # a file leaves the app: members-only fiches by the coordination
    "modifier": "coordinateur",
    "modifier_scenes": "coordinateur",  # the shared scenes every presenter uses
    "importer": "coordinateur",
    "ajouter_couches": "coordinateur",
    "restaurer": "coordinateur",
    "supprimer_definitivement": "coordinateur",
    "gerer_comptes": "administrateur",
}


def rank(role: str) -> int:
    return ROLES.index(role) if role in ROLES else 0


def can(role: str, action: str) -> bool:
    """Whether ``role`` may do ``action`` (an entry of :data:`ACTIONS`)."""
    return rank(role) >= rank(ACTIONS[action])


def can_see_map(role: str, visitors: str) -> bool:
    """Visitors see the map only when the setting is « public »."""
    return role != "visiteur" or visitors == "public"


def visible_actors(actors: pd.DataFrame, role: str, visitors: str = "public") -> pd.DataFrame:
    """The actors ``role`` may see (rows kept whole: a visible fiche is shown entirely).

    ``visitors`` is the setting for people not signed in: « public » or « rien ».
    """
    if can(role, "voir_toutes_les_fiches"):
        return actors
    if visitors != "public":
        return actors.iloc[0:0]
    visibility = actors["visibilite"] if "visibilite" in actors else pd.Series(DEFAULT_VISIBILITY, index=actors.index)
    public = actors["type"].isin(PUBLIC_TYPES) | (visibility == "public")
    return actors[public]


#: Said under an export to those who export public fiches only.
EXPORT_NOTICE = ("Les exports ne contiennent que les fiches publiques (structures, aller-vers, distribution, "
                 "fiches « public ») : les fiches réservées aux membres s'exportent par la coordination.")


def exportable_actors(actors: pd.DataFrame, role: str) -> pd.DataFrame:
    """The actors ``role`` may put in a file that leaves the app (export, standalone map, image):
    every fiche for the coordination, else the public ones only — a member sees members-only
    phones and e-mails on screen but does not take them away."""
    if can(role, "exporter_fiches_reservees"):
        return actors
    return visible_actors(actors, "visiteur", "public")
