"""Command line, the directory's commands: ``check`` (validate a file), ``import`` (a partner's
file into the directory), ``geocode`` (place the actors without a position); and what every
command that reads a directory shares: loading it, its problems grouped, ``NAME=VALUE`` options.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reseaux import config
from reseaux.annuaire.directory import DirectoryError, load_directory
from reseaux.annuaire.listing import issue_groups, lines_text
from reseaux.annuaire.referential import load_referential


def load_or_say(file: str, referential_path: str):
    """(referential, directory), or None after saying why in French on stderr."""
    try:
        referential = load_referential(Path(referential_path))
        return referential, load_directory(Path(file), referential)
    except (DirectoryError, ValueError) as exc:
        print(f"{file} : {exc}", file=sys.stderr)
        return None


#: What a command reads or writes when no file is named (the help of its argument).
SETTINGS_DIRECTORY = "l'annuaire des réglages (la base PostgreSQL si RESEAUX_DATABASE_URL la nomme)"


def settings_directory():
    """The store of the directory of the settings (its file, or the database when
    ``RESEAUX_DATABASE_URL`` names one) and how a message names it."""
    from reseaux.stockage import directory_store

    store = directory_store()
    return store, (str(store.path) if store.kind == "fichiers" else store.describe())


def say_reading(done: int) -> None:
    """The progress of the fiches read for the database (``readings.bring_up_to_date``), on
    stderr every 100,000: the first reading of a million takes two minutes."""
    from reseaux.text import fr_number

    if done % 100_000 == 0:
        print(f"Fiches lues pour la base : {fr_number(done)}…", file=sys.stderr)


def _check(args: argparse.Namespace) -> int:
    where = args.file
    if args.file:
        loaded = load_or_say(args.file, args.referential)
    else:
        store, where = settings_directory()
        if store.kind == "fichiers":
            loaded = load_or_say(where, args.referential)
        else:
            loaded = _stored_or_say(store, args.referential)
    if loaded is None:
        return 1
    _, directory = loaded
    n_rows = len(directory.actors) + len(directory.rejected)
    if args.json:
        import json

        print(
            json.dumps(
                {
                    "rows": n_rows,
                    "actors": len(directory.actors),
                    "placed": len(directory.placed),
                    "errors": len(directory.errors),
                    "warnings": len(directory.warnings),
                    "messages": [
                        {
                            "line": i.line,
                            "column": i.column,
                            "value": i.value,
                            "severity": i.severity,
                            "message": i.message,
                        }
                        for i in directory.issues
                    ],
                },
                ensure_ascii=False,
                indent=1,
            )
        )
        return 1 if directory.errors else 0
    for line in grouped_messages(directory.issues):
        print(f"{where}:{line}")
    print(
        f"{n_rows} ligne(s) lue(s) : {len(directory.actors)} acteur(s) utilisable(s), "
        f"{len(directory.rejected)} écartée(s) pour erreur, {len(directory.warnings)} avertissement(s), "
        f"{directory.n_unplaced} sans position.",
        file=sys.stderr,
    )
    return 1 if directory.errors else 0


def _stored_or_say(store, referential_path: str):
    """(referential, directory) of the database's current version, read as the map reads it (the
    CSV the database writes, validated as a file); None after saying why in French on stderr."""
    try:
        referential = load_referential(Path(referential_path))
        file, _ = store.csv_file()
        with file:
            return referential, load_directory(file, referential)
    except (DirectoryError, ValueError, OSError) as exc:
        print(str(exc), file=sys.stderr)
        return None


def grouped_messages(issues, shown: int = 5) -> list[str]:
    """One line per distinct (severity, column, message): alone as before, or
    « 148 lignes : colonne « type » : … (lignes 2, 3, 5…) »."""
    lines = []
    for severity, column, message, members in issue_groups(issues):
        if len(members) == 1:
            lines.append(f"{severity}: {members[0]}")
            continue
        col = f"colonne « {column} » : " if column else ""
        lines.append(f"{severity}: {len(members)} lignes : {col}{message} (lignes {lines_text(members, shown)})")
    return lines


def name_value_pairs(
    items: list[str], option: str, form: str, allowed: set[str] | None = None
) -> dict[str, str] | None:
    """``NAME=VALUE`` options as a dict; None after saying in French which one is wrong."""
    pairs = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or (allowed is not None and name.strip() not in allowed):
            print(f"{option} « {item} » : écrivez {form}", file=sys.stderr)
            return None
        pairs[name.strip()] = value.strip()
    return pairs


def _import(args: argparse.Namespace) -> int:
    from reseaux.annuaire.store import ConflictError
    from reseaux.importation.import_file import import_file
    from reseaux.importation.importing import targets
    from reseaux.importation.profiles import ProfileError, load_profile, save_profile

    constants = name_value_pairs(
        args.set, "--set", "COLONNE=VALEUR avec une colonne de l'annuaire (ex. type=structure)", allowed=set(targets())
    )
    if constants is None:
        return 2
    try:
        referential = load_referential(Path(args.referential))
        spec = load_profile(Path(args.profile)) if args.profile else None
        result = import_file(
            Path(args.source),
            Path(args.into) if args.into else None,
            referential,
            spec=spec,
            constants=constants,
            offline=args.offline,
            dry_run=args.dry_run,
            sheet=args.sheet,
            keep=args.keep,
        )
    except ConflictError as exc:
        print(
            f"{args.into + ' : ' if args.into else ''}L'annuaire a été enregistré par quelqu'un d'autre pendant l'import "
            f"({len(exc.theirs)} fiche(s) changée(s)) : rien n'a été importé, ses modifications sont gardées. "
            "Relancez la commande.",
            file=sys.stderr,
        )
        return 1
    except (DirectoryError, ProfileError, OSError, ValueError) as exc:
        print(f"{args.source} : {exc}", file=sys.stderr)
        return 1
    for line in grouped_messages(result.report.issues):
        print(f"{args.source}:{line}")
    for sentence in result.sentences():
        print(sentence, file=sys.stderr)
    if args.save_profile:
        save_profile(result.spec, Path(args.save_profile))
        print(f"Profil enregistré : {args.save_profile}", file=sys.stderr)
    return 0 if result.imported else 1


def _geocode(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from reseaux.annuaire.store import ConflictError
    from reseaux.territoire.geocode_file import geocode_file

    bar = tqdm(total=0, unit="adresse", desc="Géocodage", file=sys.stderr, disable=args.quiet)
    where = args.file or settings_directory()[1]

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        summary = geocode_file(
            Path(args.file) if args.file else None,
            offline=args.offline,
            min_score=args.min_score,
            force=args.force,
            progress=progress,
        )
    except ConflictError as exc:
        bar.close()
        print(
            f"{where} : l'annuaire a été enregistré par quelqu'un d'autre pendant le géocodage "
            f"({len(exc.theirs)} fiche(s) changée(s)) : rien n'a été écrit, ses modifications sont gardées. "
            "Relancez la commande : les adresses déjà trouvées sont en cache, ce sera rapide.",
            file=sys.stderr,
        )
        return 1
    except (DirectoryError, OSError) as exc:
        bar.close()
        print(f"{where} : {exc}", file=sys.stderr)
        return 1
    bar.close()
    for line, message in summary.problems:
        print(f"{where}:ligne {line} : {message}")
    print(f"{where} : {summary.sentence()}", file=sys.stderr)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """The parsers of ``check``, ``import`` and ``geocode``."""
    check = sub.add_parser("check", help="valider un annuaire : un problème par ligne, code 1 si erreur")
    check.add_argument(
        "file",
        nargs="?",
        default="",
        help=f"fichier CSV de l'annuaire ; sans lui, {SETTINGS_DIRECTORY}",
    )
    check.add_argument(
        "--referential",
        default=str(config.path("referential")),
        help="référentiel des thématiques, professions… (défaut : %(default)s)",
    )
    check.add_argument(
        "--json",
        action="store_true",
        help='résumé JSON : {"rows", "actors", "placed", "errors", "warnings", "messages"}',
    )
    check.set_defaults(func=_check)
    imp = sub.add_parser("import", help="importer un fichier (CSV, XLSX, ODS, GeoJSON) dans un annuaire")
    imp.add_argument("source", help="fichier à importer")
    imp.add_argument(
        "--into",
        default="",
        help=f"annuaire CSV (créé s'il n'existe pas, sinon fusionné) ; sans lui, {SETTINGS_DIRECTORY}",
    )
    imp.add_argument("--profile", default="", help="profil d'import (data/imports/NOM.toml)")
    imp.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="COLONNE=VALEUR",
        help="valeur donnée à chaque ligne du fichier (répétable), ex. type=structure",
    )
    imp.add_argument(
        "--feuille",
        "--sheet",
        dest="sheet",
        default=None,
        metavar="NOM|NUMÉRO",
        help="feuille du classeur à importer (par défaut : celle dont l'en-tête est le mieux reconnu)",
    )
    imp.add_argument(
        "--garder",
        "--keep",
        dest="keep",
        action="append",
        default=[],
        metavar="COLONNE",
        help="colonne du fichier non importée à garder dans la description de chaque fiche (répétable)",
    )
    imp.add_argument("--save-profile", default="", help="enregistrer la correspondance utilisée dans ce profil")
    imp.add_argument("--offline", action="store_true", help="sans réseau : cache, puis position de la commune")
    imp.add_argument("--dry-run", action="store_true", help="tout faire sauf écrire l'annuaire")
    imp.add_argument("--referential", default=str(config.path("referential")), help=argparse.SUPPRESS)
    imp.set_defaults(func=_import)
    geocode = sub.add_parser("geocode", help="géocoder les acteurs sans position et enregistrer l'annuaire")
    geocode.add_argument(
        "file",
        nargs="?",
        default="",
        help=f"fichier CSV de l'annuaire (réécrit de façon atomique) ; sans lui, {SETTINGS_DIRECTORY}",
    )
    geocode.add_argument("--offline", action="store_true", help="sans réseau : cache, puis position de la commune")
    geocode.add_argument(
        "--min-score", type=float, default=0.5, help="score minimal d'une réponse du géocodeur (défaut : %(default)s)"
    )
    geocode.add_argument(
        "--force", action="store_true", help="regéocoder toutes les lignes (les positions « manuel » restent)"
    )
    geocode.add_argument("--quiet", action="store_true", help="sans barre de progression")
    geocode.set_defaults(func=_geocode)
