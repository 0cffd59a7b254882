"""The columns of the directory: one entry each, read by everything that shows or checks one.

Each :class:`Column` says its name in the file, its French label and help, its kind (which rule
reads it, how a form asks it, how a fiche links it), whether it is required, where it is shown
and in which order, and the header spellings an import recognises. The validator
(:mod:`reseaux.annuaire.fields`, :mod:`reseaux.annuaire.directory`), the map's fiche (:mod:`reseaux.carte.actor_layer`),
the lists (:mod:`reseaux.annuaire.listing`), Trouver's results (:mod:`reseaux.analyse.proximity`), the Annuaire's
table and form (:mod:`reseaux.ui.annuaire.fiches`), the exports (:mod:`reseaux.annuaire.exports`) and the import
guesses (:mod:`reseaux.importation.importing`) are all made from :data:`REGISTRY`, read when they run: a new
column is one entry here (and its test).

The file and every export of it hold every column, in registry order.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- kinds: how a cell is read, asked and shown ------------------------------------------------
TEXT = "text"
LONG_TEXT = "long_text"  # a text area in the form
REFERENTIAL = "referential"  # codes of a referential category (``category``), shown by their labels
LIST = "list"  # free values separated by « | » (languages), chips in the form
URL = "url"
EMAIL = "email"
PHONE = "phone"
POSTCODE = "postcode"
INSEE = "insee"
ZONES = "zones"  # INSEE or QPV codes separated by « | »
COORDINATE = "coordinate"
DATE = "date"
YES_NO = "yes_no"
VISIBILITY = "visibility"
SCORE = "score"  # a number from 0 to 1
GEOCODING_SOURCE = "geocoding_source"

# --- places: where a column is shown -----------------------------------------------------------
FICHE = "fiche"  # the map's fiche (popup, standalone export, the fiche under Carte's list)
LIST_ = "liste"  # the people's list: Carte's downloads, the presentation's table
MAP_TABLE = "tableau"  # the short table under the map
ANNUAIRE = "annuaire"  # the Annuaire's table of fiches
TROUVER = "trouver"  # the details of a Trouver result
FORM = "formulaire"  # the Annuaire's fiche form
PLACES = (FICHE, LIST_, MAP_TABLE, ANNUAIRE, TROUVER, FORM)


@dataclass(frozen=True)
class Column:
    """One column of the directory file.

    ``rank`` orders the fiche, the lists and Trouver's details (the file keeps registry order);
    ``headers`` are other headers meaning this column, folded (« code postal », « cp »): a file's
    own header and an import's source column are named by them. ``badge``: for a yes/no or a
    geocoding source shown on the fiche, the sentence it shows instead of a labelled value.
    ``joined``: how an import joins the values of several source columns (« | », « ; »), and such a
    column may be guessed from several headers; empty: one header guessed, several mapped by hand
    joined by « ; ». ``first_wins``: an import keeps the first value given (a code, a position).
    ``spelled``: an import takes a header spelt close to the name for this column (not for a
    date, a yes/no or what the tools write: the FINESS « datemaj » dates its own record).
    ``expected``: a file without it gets a warning (not for columns written by tools or added
    since older files were made)."""

    name: str
    label: str
    help: str
    kind: str = TEXT
    category: str = ""
    multi: bool = False
    required: bool = False
    expected: bool = True
    shown: frozenset[str] = frozenset()
    rank: float = 100.0
    headers: tuple[str, ...] = ()
    badge: str = ""
    joined: str = ""
    first_wins: bool = False
    spelled: bool = True

    def __post_init__(self) -> None:
        if (self.kind == REFERENTIAL) != bool(self.category):
            raise ValueError(f"colonne « {self.name} » : une catégorie du référentiel va avec le genre referential")
        unknown = set(self.shown) - set(PLACES)
        if unknown:
            raise ValueError(f"colonne « {self.name} » : lieux inconnus {sorted(unknown)}")


def _at(*places: str) -> frozenset[str]:
    return frozenset(places)


_PEOPLE = (FICHE, LIST_, FORM)

REGISTRY: tuple[Column, ...] = (
    Column(
        "id",
        "Identifiant",
        "identifiant stable et unique",
        required=True,
        shown=_at(ANNUAIRE, FORM),
        rank=0,
        headers=("identifiant", "ref", "reference"),
        first_wins=True,
    ),
    Column(
        "nom",
        "Nom",
        "nom de la personne, de la structure ou de l'action",
        required=True,
        shown=_at(*_PEOPLE, MAP_TABLE, ANNUAIRE),
        rank=1,
        headers=(
            "nom prenom",
            "nom et prenom",
            "prenom nom",
            "raison sociale",
            "title",
            "name",
            "rs",
            "hospital name",
            "libelle",
            "denomination",
            "nom structure",
            "nom du lieu",
            "lieu",
            "hopital",
            "nom etablissement",
            "nom de l etablissement",
        ),
    ),
    Column(
        "type",
        "Type",
        (
            "structure | professionnel | action d'aller-vers | point de distribution | hôpital | "
            "pharmacie | laboratoire ; vide ou inconnu : à classer"
        ),
        kind=REFERENTIAL,
        category="type",
        shown=_at(*_PEOPLE, MAP_TABLE, ANNUAIRE),
        rank=2,
        headers=("categorie", "facility type", "libcategetab", "categorie d etablissement", "cat", "catr", "categetab"),
        first_wins=True,
    ),
    Column(
        "profession",
        "Profession",
        "profession (pour un·e professionnel·le)",
        kind=REFERENTIAL,
        category="profession",
        shown=_at(*_PEOPLE, MAP_TABLE, ANNUAIRE),
        rank=3,
        headers=("metier", "fonction"),
    ),
    Column(
        "structure",
        "Structure",
        "structure d'exercice",
        shown=_at(*_PEOPLE, MAP_TABLE, ANNUAIRE),
        rank=4,
        headers=("lieu d exercice", "etablissement", "structure rais"),
    ),
    Column(
        "thematiques",
        "Thématiques",
        "thématiques, séparées par |",
        kind=REFERENTIAL,
        category="thematique",
        multi=True,
        joined="|",
        shown=_at(*_PEOPLE, MAP_TABLE, TROUVER),
        rank=6,
        headers=("theme", "themes", "thematique"),
    ),
    Column(
        "publics",
        "Publics",
        "publics accueillis, séparés par |",
        kind=REFERENTIAL,
        category="public",
        multi=True,
        joined="|",
        shown=_at(*_PEOPLE, TROUVER),
        rank=7,
        # « public » alone is free text in open data (« Tout public »): the import never guesses it
        headers=("public", "public accueilli", "publics accueillis"),
    ),
    Column(
        "modalites",
        "Modalités",
        "modalités (sur rendez-vous, sans rendez-vous, gratuit, anonyme…)",
        kind=REFERENTIAL,
        category="modalite",
        multi=True,
        joined="|",
        shown=_at(*_PEOPLE, TROUVER),
        rank=8,
        headers=("modalite", "rendez vous", "check rdv"),
    ),
    Column(
        "accessibilite",
        "Accessibilité",
        "accessibilité (PMR, LSF…)",
        kind=REFERENTIAL,
        category="accessibilite",
        multi=True,
        joined="|",
        shown=_at(*_PEOPLE, TROUVER),
        rank=9,
        headers=("lieu accessibilite",),
    ),
    Column(
        "langues",
        "Langues",
        "langues parlées, séparées par |",
        kind=LIST,
        multi=True,
        joined="|",
        shown=_at(*_PEOPLE, TROUVER),
        rank=10,
        headers=("langue",),
    ),
    Column(
        "specialites",
        "Spécialités et formations",
        "spécialités et formations complémentaires, séparées par |",
        kind=LIST,
        multi=True,
        joined="|",
        shown=_at(*_PEOPLE, TROUVER),
        rank=5,
        headers=("specialite", "formations", "formation", "competences"),
    ),
    Column(
        "description",
        "Description",
        "description libre",
        kind=LONG_TEXT,
        joined=" ; ",
        shown=_at(FICHE, FORM),
        rank=11,
        headers=("commentaire", "presentation", "info", "infos", "informations", "rdv modalites"),
    ),
    Column(
        "adresse",
        "Adresse",
        "numéro et voie",
        shown=_at(*_PEOPLE),
        rank=12,
        headers=(
            "adresse postale",
            "rue",
            "voie",
            "street",
            "address",
            "adr voie",
            "nom voie",
            "libvoie",
            "lib voie",
            "libelle voie",
            "libelle de la voie",
        ),
    ),
    Column(
        "code_postal",
        "Code postal",
        "code postal (5 chiffres, ex. 76000 ou 97400)",
        kind=POSTCODE,
        shown=_at(LIST_, FORM),
        rank=12.1,
        headers=("cp", "codepostal", "postcode", "com cp", "zip", "postal code", "cpo"),
        first_wins=True,
    ),
    Column(
        "commune",
        "Commune",
        "commune",
        shown=_at(LIST_, FORM, MAP_TABLE, ANNUAIRE),
        rank=12.2,
        headers=(
            "ville",
            "localite",
            "city",
            "town",
            "libelle commune",
            "lib com",
            "com nom",
            "nom commune",
            "ligneacheminement",
            "ligne acheminement",
            "libelle routage",
        ),
    ),
    Column(
        "code_insee",
        "Code INSEE",
        "code INSEE de la commune (ex. 76540, 2A004)",
        kind=INSEE,
        shown=_at(FORM),
        headers=("cog", "insee", "code commune", "com insee", "insee com", "citycode"),
        first_wins=True,
    ),
    Column(
        "latitude",
        "Latitude",
        "latitude WGS84 (ex. 49.4431)",
        kind=COORDINATE,
        headers=("lat", "lat coor1"),
        first_wins=True,
    ),
    Column(
        "longitude",
        "Longitude",
        "longitude WGS84 (ex. 1.0993)",
        kind=COORDINATE,
        headers=("lon", "lng", "long", "long coor1"),
        first_wins=True,
    ),
    Column(
        "telephone",
        "Téléphone",
        (
            "10 chiffres (02 35 00 00 00, 0262 20 00 00), un numéro court (3919) ou + et "
            "l'indicatif du pays (+262 262 20 00 00)"
        ),
        kind=PHONE,
        shown=_at(*_PEOPLE, MAP_TABLE, ANNUAIRE),
        rank=13,
        headers=("tel", "tel fixe", "portable", "phone", "tel rdv", "lieu tel", "rdv tel"),
    ),
    Column(
        "email",
        "Courriel",
        "adresse électronique (ex. contact@structure.fr)",
        kind=EMAIL,
        shown=_at(*_PEOPLE, MAP_TABLE),
        rank=14,
        headers=("mail", "e mail", "courriel", "adresse mail", "contact mail"),
    ),
    Column(
        "site_web",
        "Site web",
        "site web : https://… ou le domaine seul (structure.fr)",
        kind=URL,
        shown=_at(*_PEOPLE, MAP_TABLE),
        rank=15,
        headers=("site", "site internet", "url", "web", "website", "web rdv", "rdv site web"),
    ),
    # added to the schema in 2026: older files lack it, without a warning
    Column(
        "horaires",
        "Horaires",
        "horaires d'ouverture, texte libre (« lundi : 9 h-12 h ; mardi : … »)",
        expected=False,
        joined=" ; ",
        shown=_at(*_PEOPLE, TROUVER),
        rank=16,
        headers=("horaire", "heures d ouverture", "opening hours", "horaires d ouverture", "hours"),
    ),
    Column(
        "zone_intervention",
        "Zone d'intervention",
        "pour une action d'aller-vers : codes INSEE ou QPV couverts, séparés par |",
        kind=ZONES,
        multi=True,
        joined="|",
        shown=_at(FICHE, FORM),
        rank=17,
        headers=("zone", "zone d intervention"),
    ),
    Column(
        "date_maj",
        "Mise à jour",
        "date de mise à jour (AAAA-MM-JJ)",
        kind=DATE,
        shown=_at(FICHE, LIST_, MAP_TABLE, ANNUAIRE),
        rank=18,
        headers=("mise a jour", "date de mise a jour", "maj", "date modif"),
        first_wins=True,
        spelled=False,
    ),
    Column(
        "fictif",
        "Fiche fictive (oui/non)",
        "oui si la fiche est fictive (données de démonstration)",
        kind=YES_NO,
        shown=_at(FICHE, FORM),
        rank=20,
        badge="Fiche fictive (données de démonstration)",
        first_wins=True,
        spelled=False,
    ),
    Column(
        "visibilite",
        "Visibilité",
        (
            "public (visible sans connexion) ou membres (réservée aux membres) ; vide : "
            "membres pour une personne ou une fiche à classer, public pour un "
            "établissement"
        ),
        kind=VISIBILITY,
        expected=False,
        shown=_at(FORM),
        first_wins=True,
        spelled=False,
    ),
    Column(
        "geocodage_score",
        "Score du géocodage",
        "score du géocodage (0 à 1), écrit par python -m reseaux geocode",
        kind=SCORE,
        expected=False,
        first_wins=True,
        spelled=False,
    ),
    Column(
        "geocodage_type",
        "Précision du géocodage",
        "précision : housenumber, street, locality, municipality",
        expected=False,
        first_wins=True,
        spelled=False,
    ),
    Column(
        "geocodage_label",
        "Adresse reconnue",
        "adresse reconnue par le géocodeur",
        expected=False,
        first_wins=True,
        spelled=False,
    ),
    Column(
        "geocodage_source",
        "Origine de la position",
        (
            "origine de la position : ban, cache, commune (approximative), manuel ou fichier (donnée par l'éditeur "
            "du fichier)"
        ),
        kind=GEOCODING_SOURCE,
        expected=False,
        shown=_at(FICHE),
        rank=19,
        badge="Position approximative : centre de la commune",
        first_wins=True,
        spelled=False,
    ),
)


def columns() -> tuple[Column, ...]:
    """Every column, in file order (read at each call: a test may add one)."""
    return REGISTRY


def names() -> tuple[str, ...]:
    """The column names, in file order."""
    return tuple(c.name for c in REGISTRY)


def column(name: str) -> Column | None:
    """The column called ``name``, or None."""
    return next((c for c in REGISTRY if c.name == name), None)


def labels() -> dict[str, str]:
    """``{name: French label}`` of every column."""
    return {c.name: c.label for c in REGISTRY}


def label(name: str | None) -> str:
    """The label of a column (« Thématiques »); a name that is no column (a file's own header) as it is."""
    found = column(name) if name else None
    return found.label if found else (name or "")


def shown_in(place: str) -> tuple[Column, ...]:
    """The columns shown in ``place`` (one of :data:`PLACES`): file order for the form, else by rank."""
    if place not in PLACES:
        raise ValueError(f"lieu inconnu : {place}")
    chosen = [c for c in REGISTRY if place in c.shown]
    return tuple(chosen) if place == FORM else tuple(sorted(chosen, key=lambda c: c.rank))


def of_kind(*kinds: str) -> tuple[Column, ...]:
    """The columns of one of ``kinds``, in file order."""
    return tuple(c for c in REGISTRY if c.kind in kinds)


def multi_names() -> tuple[str, ...]:
    """The columns holding several values (a tuple once read, joined by « | » in the file)."""
    return tuple(c.name for c in REGISTRY if c.multi)


def header_names() -> dict[str, str]:
    """``{folded header: column name}``: each column's name and its other headers, folded
    (« code postal », « cp »). The first column to claim a header keeps it."""
    from reseaux.text import fold

    known: dict[str, str] = {}
    for c in REGISTRY:
        for header in (c.name, *c.headers):
            known.setdefault(fold(header), c.name)
    return known
