"""Who sees what, decided in one place.

Roles, from least to most trusted: visiteur (not signed in), membre, coordinateur,
administrateur. Members see every fiche; a visitor sees nothing or the public fiches, as the
``RESEAUX_VISITORS`` setting says. Visibility follows the person, not a list of types: a fiche
that describes a person (type professionnel, or a profession given) is members-only unless it
says ``visibilite = public``; an establishment (any other known type) is public unless it says
``membres``; an « À classer » fiche is public only when it carries an establishment's sign (a
FINESS number, or a name that begins with a type of the referential other than a person's, such as
« Centre hospitalier », « CHU », « LBM », « Pharmacie »).
:func:`default_visibility` decides an empty cell; every page, export and command that shows
actors goes through :func:`visible_actors`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd

from reseaux.annuaire.referential import UNCLASSIFIED, Referential
from reseaux.text import fold, plural

ROLES = ("visiteur", "membre", "coordinateur", "administrateur")
ROLE_LABELS = {
    "visiteur": "Visiteur·se (non connecté·e)",
    "membre": "Membre du réseau",
    "coordinateur": "Coordination",
    "administrateur": "Administration",
}
VISIBILITY_VALUES = ("public", "membres")
#: What people read for a fiche's « visibilite » cell (the file keeps the code).
VISIBILITY_LABELS = {
    "": "Selon le type (personne : membres ; établissement : publique)",
    "public": "Publique (visible sans connexion)",
    "membres": "Réservée aux membres",
}
#: The visibility of a fiche that describes a person, or that nothing shows to be an establishment.
DEFAULT_VISIBILITY = "membres"
PERSON_TYPE = "professionnel"
#: Ids the importer makes from a FINESS number, the national number of a health or social
#: establishment (reseaux.importation.importing). A SIRET says no establishment: a self-employed nurse has one.
_FINESS_ID = "finess-"
#: What the header of an extra column (kept as the file names it) holds when it gives a FINESS number.
_FINESS_COLUMN = "finess"
#: A name begins with an abbreviation of fewer letters only when written in capitals (« CH Antibes »;
#: « Ch. Martin » is a person): two letters match by chance, as the referential says of its own search.
_SHORT = 3
#: Why a fiche has its visibility: what :func:`default_visibility` says with it, and the validator for
#: a written cell; the validated directory keeps it in :data:`REASON_COLUMN`, which the warnings and
#: :func:`hidden_sentence` read instead of deciding again.
WRITTEN = "ecrite"  # the cell says public or membres (or privé, réservé…)
UNREADABLE = "illisible"  # the cell says something else: members-only, with a warning
PERSON = "personne"  # empty cell: a person (type professionnel, or a profession given)
ESTABLISHMENT = "etablissement"  # empty cell: a type of the referential other than a person's
SIGN = "signe"  # empty cell: « À classer » with an establishment's sign
NO_SIGN = "sans_signe"  # empty cell: « À classer », nothing says an establishment
REASON_COLUMN = "visibilite_motif"
#: For each reason a fiche is members-only: what it is called, in the singular and the plural, and
#: what a coordinator does to show it (a type never makes a person public).
_HIDDEN = {
    PERSON: (
        "personne",
        "personnes",
        "une personne n'est visible que si sa « Visibilité » est « Publique » (public dans le fichier), avec "
        "son accord (son type n'y change rien)",
    ),
    NO_SIGN: (
        "fiche à classer",
        "fiches à classer",
        "donnez son type à une fiche à classer (un établissement devient public) ou rendez sa « Visibilité » "
        "« Publique » (public dans le fichier)",
    ),
    WRITTEN: (
        "fiche marquée « membres »",
        "fiches marquées « membres »",
        "une fiche marquée « membres » le reste tant que sa « Visibilité » n'est pas « Publique »",
    ),
    UNREADABLE: (
        "fiche à la visibilité illisible",
        "fiches à la visibilité illisible",
        "choisissez la « Visibilité » d'une fiche où elle est illisible (public ou membres dans le fichier)",
    ),
}
#: action -> the least role allowed to do it
ACTIONS = {
    "voir_carte": "visiteur",  # subject to the visitors setting, see can_see_map
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


def is_person(record: Mapping) -> bool:
    """Whether a fiche describes a person: type professionnel, or a profession given."""
    return record.get("type") == PERSON_TYPE or bool(str(record.get("profession") or "").strip())


#: The last referential read and its establishment types by folded name (see _type_names).
_TYPE_NAMES: tuple[Referential | None, dict[str, str], int] = (None, {}, 0)


def _type_names(referential: Referential) -> tuple[dict[str, str], int]:
    """``{folded code, label or alias: type}`` of the referential's types other than a person's
    (read through ``resolve``: a name that two entries give means the first one, as everywhere),
    and the most words one has. Kept for the last referential: a row is checked in microseconds."""
    global _TYPE_NAMES
    last, names, longest = _TYPE_NAMES
    if last is not referential:
        names = {}
        for entry in referential.entries.get("type", []):
            for name in (entry.code, entry.label, *entry.aliases):
                code = referential.resolve("type", name)
                if code not in (None, PERSON_TYPE, UNCLASSIFIED):
                    names[fold(name)] = code
        longest = max((len(name.split()) for name in names), default=0)
        _TYPE_NAMES = (referential, names, longest)
    return names, longest


def _name_begins_with_type(name: str, referential: Referential) -> bool:
    """Whether the first words of ``name`` are a code, label or alias of an establishment type
    of the referential (whole words: « Chocolaterie » does not begin with « CH »)."""
    names, longest = _type_names(referential)
    words = fold(name).split(maxsplit=longest)
    for n in range(1, min(len(words), longest) + 1):
        begins = " ".join(words[:n])
        if begins in names and (len(begins.replace(" ", "")) >= _SHORT or _in_capitals(name, n)):
            return True
    return False


def _in_capitals(name: str, n: int) -> bool:
    """Whether the first ``n`` words of ``name`` are written in capitals."""
    written = [w for w in re.split(r"[\W_]+", name) if w][:n]
    return len(written) == n and all(w.isupper() for w in written)


def has_establishment_sign(record: Mapping, referential: Referential, written_type: str = "") -> bool:
    """Whether an « À classer » row says it is an establishment: a FINESS number (an id the importer
    made from one, or a column of the file), a name that begins with an establishment type of the
    referential (« Centre hospitalier de Dieppe », « CHU Rouen », « Pharmacie du Centre », « LBM
    Biolab »), or a type cell the referential did not know but takes for an establishment type
    (« Association de quartier » → Structure, as its warning suggests)."""
    if str(record.get("id") or "").lower().startswith(_FINESS_ID):
        return True
    if any(_FINESS_COLUMN in str(column).lower() and str(value or "").strip() for column, value in record.items()):
        return True
    if _name_begins_with_type(str(record.get("nom") or ""), referential):
        return True
    suggested = referential.suggest("type", written_type) if str(written_type or "").strip() else None
    return suggested is not None and fold(suggested) in _type_names(referential)[0]


def default_visibility(record: Mapping, referential: Referential, written_type: str = "") -> tuple[str, str]:
    """The visibility of a fiche whose « visibilite » cell is empty, and why: ``(visibility, reason)``.

    ``record`` is a validated row (its type a referential code): members-only for a person
    (:data:`PERSON`), public for an establishment, any other known type (:data:`ESTABLISHMENT`);
    an « À classer » fiche is public with an establishment's sign (:data:`SIGN`), else members-only
    (:data:`NO_SIGN`). ``written_type``: the type cell as written, before the referential made it
    « À classer ».
    """
    if is_person(record):
        return DEFAULT_VISIBILITY, PERSON
    if record.get("type") and record.get("type") != UNCLASSIFIED:
        return "public", ESTABLISHMENT
    if has_establishment_sign(record, referential, written_type):
        return "public", SIGN
    return DEFAULT_VISIBILITY, NO_SIGN


def visibility(actors: pd.DataFrame) -> pd.Series:
    """Each fiche's visibility, « public » or « membres », as the validation of the directory
    decided it (:mod:`reseaux.annuaire.directory` fills every cell, an empty one by :func:`default_visibility`).

    Raises ``ValueError`` for a table that was not validated (no « visibilite » column, or a cell
    that says neither): deciding again here would be a second rule, which the first one contradicts.
    """
    if "visibilite" not in actors:
        raise ValueError("not a validated directory: no « visibilite » column")
    given = actors["visibilite"]
    undecided = ~given.isin(VISIBILITY_VALUES)
    if undecided.any():
        raise ValueError(
            f"not a validated directory: {int(undecided.sum())} « visibilite » cell(s) neither "
            f"public nor membres (first: {given[undecided].iloc[0]!r})"
        )
    return given


def visible_actors(actors: pd.DataFrame, role: str, visitors: str = "public") -> pd.DataFrame:
    """The actors ``role`` may see (rows kept whole: a visible fiche is shown entirely).

    ``visitors`` is the setting for people not signed in: « public » or « rien ».
    """
    if can(role, "voir_toutes_les_fiches"):
        return actors
    if visitors != "public":
        return actors.iloc[0:0]
    return actors[visibility(actors) == "public"]


def reserved_sentence(reserved: int) -> str:
    """What a visitor reads beside the count: how many fiches she does not see, and why ("" if none)."""
    if not reserved:
        return ""
    verb = "est réservée" if reserved == 1 else "sont réservées"
    return f"{plural(reserved, 'fiche')} {verb} aux membres du réseau (connectez-vous pour les voir)."


def hidden_sentence(actors: pd.DataFrame) -> str:
    """For a coordinator (import, Qualité): how many fiches a visitor will not see, why (the reasons
    the validation gave, :data:`REASON_COLUMN`), and what to do for each ("" when every fiche is
    public). ``actors``: a validated directory; raises ``ValueError`` for another table."""
    if actors.empty:
        return ""
    if REASON_COLUMN not in actors:
        raise ValueError(f"not a validated directory: no « {REASON_COLUMN} » column")
    counts = actors.loc[visibility(actors) == "membres", REASON_COLUMN].value_counts()
    return hidden_sentence_of({str(reason): int(n) for reason, n in counts.items()})


def hidden_sentence_of(counts: Mapping[str, int]) -> str:
    """:func:`hidden_sentence` of the members-only fiches counted by reason (``counts``)."""
    counts = {reason: n for reason, n in counts.items() if n}
    if not counts:
        return ""
    found = [(reason, int(counts[reason])) for reason in _HIDDEN if reason in counts]
    why = ", ".join(plural(n, *_HIDDEN[reason][:2]) for reason, n in found)
    advice = " ; ".join(_HIDDEN[reason][2] for reason, _ in found)
    total = sum(counts.values())
    verb = "ne sera pas visible" if total == 1 else "ne seront pas visibles"
    return f"{plural(total, 'fiche')} {verb} sans connexion ({why}) : {advice}."


#: Said under an export to those who export public fiches only.
EXPORT_NOTICE = (
    "Les exports ne contiennent que les fiches publiques (établissements, actions, fiches « public ») : "
    "les fiches réservées aux membres s'exportent par la coordination."
)


def exportable_actors(actors: pd.DataFrame, role: str) -> pd.DataFrame:
    """The actors ``role`` may put in a file that leaves the app (export, standalone map, image):
    every fiche for the coordination, else the public ones only — a member sees members-only
    phones and e-mails on screen but does not take them away."""
    if can(role, "exporter_fiches_reservees"):
        return actors
    return visible_actors(actors, "visiteur", "public")
