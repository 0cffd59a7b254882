"""Command line: ``python -m reseaux check FILE`` (more commands join as issues land)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reseaux import config
from reseaux.directory import DirectoryError, load_directory
from reseaux.referential import load_referential


def _check(args: argparse.Namespace) -> int:
    try:
        referential = load_referential(Path(args.referential))
        directory = load_directory(Path(args.file), referential)
    except (DirectoryError, ValueError) as exc:
        print(f"{args.file} : {exc}", file=sys.stderr)
        return 1
    for issue in directory.issues:
        print(f"{args.file}:{issue.severity}: {issue}")
    n_rows = len(directory.actors) + len(directory.rejected)
    print(
        f"{n_rows} ligne(s) lue(s) : {len(directory.actors)} acteur(s) utilisable(s), "
        f"{len(directory.rejected)} écartée(s) pour erreur, {len(directory.warnings)} avertissement(s), "
        f"{directory.n_unplaced} sans position.",
        file=sys.stderr,
    )
    return 1 if directory.errors else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m reseaux", description="Outils de l'annuaire Réseaux.")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="valider un annuaire : un problème par ligne, code 1 si erreur")
    check.add_argument("file", help="fichier CSV de l'annuaire")
    check.add_argument("--referential", default=str(config.path("referential")),
                       help="référentiel des thématiques, professions… (défaut : %(default)s)")
    check.set_defaults(func=_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
