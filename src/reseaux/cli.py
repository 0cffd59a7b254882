"""Command line: ``python -m reseaux check|import|geocode|nearest|coverage|layers|comptes|effacer|sauvegarde|
restauration|migrer`` (``--help`` on each). The parser is made of the groups' own: the directory's
commands (:mod:`reseaux.cli_directory`), the territory's (:mod:`reseaux.cli_territory`) and the
administration's (:mod:`reseaux.cli_admin`)."""

from __future__ import annotations

import argparse
import logging

from reseaux import cli_admin, cli_directory, cli_territory


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command, each group's from its module (directory, territory,
    administration), in the order ``--help`` lists them."""
    parser = argparse.ArgumentParser(prog="python -m reseaux", description="Outils de l'annuaire Réseaux.")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (cli_directory, cli_territory, cli_admin):
        group.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # A database that does not answer is said once, in French, by the command (StorageUnavailable);
    # the connection pool's own attempts, in English, are not for the person at the terminal.
    logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
    return args.func(args)
