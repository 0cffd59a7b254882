"""Command line, the administration's commands: ``comptes`` (built-in accounts), ``effacer`` (a
fiche erased everywhere), ``sauvegarde`` and ``restauration`` (an archive of the data), ``migrer``
(the directory between files and PostgreSQL, :mod:`reseaux.stockage.migrate`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reseaux import config
from reseaux.annuaire.directory import DirectoryError


def _accounts(args: argparse.Namespace) -> int:
    import getpass

    from reseaux.acces.accounts import AccountError, AccountStore

    store = AccountStore(config.path("accounts"))

    def password() -> str:
        if args.password_stdin:
            return sys.stdin.readline().rstrip("\n")
        first = getpass.getpass("Mot de passe : ")
        if getpass.getpass("Encore : ") != first:
            raise AccountError("Les deux saisies diffèrent.")
        return first

    try:
        if args.action == "liste":
            for account in store.load().values():
                locked = " (verrouillé)" if store.is_locked(account.name) else ""
                print(f"{account.name}\t{account.role}\t{account.email}{locked}")
        elif args.action == "ajouter":
            store.add(args.name, password(), args.role, args.email)
        elif args.action == "motdepasse":
            store.set_password(args.name, password())
        elif args.action == "role":
            store.set_role(args.name, args.role)
        elif args.action == "deverrouiller":
            store.unlock(args.name)
        elif args.action == "supprimer":
            store.remove(args.name)
    except AccountError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    if args.action != "liste":
        print(f"{args.action} : fait ({store.path}).", file=sys.stderr)
    return 0


def _erase(args: argparse.Namespace) -> int:
    from reseaux.annuaire.privacy import erase

    try:
        report = erase(args.id, args.by)
    except KeyError:
        print(f"Aucune fiche « {args.id} » dans {config.path('actors')} : rien n'a été fait.", file=sys.stderr)
        return 1
    except (DirectoryError, OSError) as exc:
        print(f"Effacement impossible ou inachevé : {exc}", file=sys.stderr)
        return 1
    print(report.sentence(args.id))
    return 0


def _backup(args: argparse.Namespace) -> int:
    from reseaux.annuaire.backup import BackupError, backup
    from reseaux.annuaire.exports import LockTimeout

    try:
        path, entries = backup(Path(args.dest))
    except (BackupError, LockTimeout) as exc:
        print(f"Sauvegarde non faite : {exc}", file=sys.stderr)
        return 1
    print(path)
    print(
        f"Sauvegarde : {len(entries)} fichier(s), {path.stat().st_size // 1024 + 1} Ko, dans {path}.", file=sys.stderr
    )
    return 0


def _restore(args: argparse.Namespace) -> int:
    from reseaux.annuaire.backup import BackupError, restore
    from reseaux.annuaire.exports import LockTimeout

    try:
        restored = restore(Path(args.source), args.by)
    except (BackupError, LockTimeout, OSError, DirectoryError) as exc:
        print(f"Restauration non faite : {exc}", file=sys.stderr)
        return 1
    print(restored.sentence(), file=sys.stderr)
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from reseaux.stockage.migrate import MigrationError, migrate

    try:
        moved = migrate(args.to, source=args.source, file=args.file, replace=args.replace, keep=args.keep)
    except MigrationError as exc:
        print(f"Migration non faite : {exc}", file=sys.stderr)
        return 1
    print(moved.sentence())
    if args.to.startswith(("postgresql://", "postgres://")):
        _read_for_the_database(args.to)
    return 0


def _read_for_the_database(url: str) -> None:
    """Each fiche of the directory just moved read once for the database (its readings,
    :mod:`reseaux.stockage.readings`), now rather than at the first question (115 s at a
    million fiches). Said on stderr; when it cannot be done, said too: the first question will."""
    from reseaux import config
    from reseaux.annuaire.directory import DirectoryError
    from reseaux.annuaire.referential import load_referential
    from reseaux.app_data import reading_key
    from reseaux.cli_directory import say_reading
    from reseaux.stockage import readings
    from reseaux.stockage.postgres import PostgresDirectoryStore
    from reseaux.text import plural

    try:
        referential = load_referential(config.path("referential"))
        read = readings.bring_up_to_date(
            PostgresDirectoryStore(url), referential, reading_key(referential), say_reading
        )
    except (DirectoryError, ValueError, OSError) as exc:
        print(
            f"Fiches non lues pour la base ({exc}) : la première question (plus proches, couverture) les lira.",
            file=sys.stderr,
        )
        return
    print(
        f"{plural(read, 'fiche lue', 'fiches lues')} pour la base : ses questions (plus proches, couverture) "
        "répondront sans relire l'annuaire.",
        file=sys.stderr,
    )


def add_commands(sub: argparse._SubParsersAction) -> None:
    """The parsers of ``comptes``, ``effacer``, ``sauvegarde``, ``restauration`` and ``migrer``."""
    comptes = sub.add_parser("comptes", help="gérer les comptes intégrés (fichier RESEAUX_ACCOUNTS)")
    comptes.add_argument("action", choices=["liste", "ajouter", "motdepasse", "role", "deverrouiller", "supprimer"])
    comptes.add_argument("name", nargs="?", default="", help="identifiant")
    comptes.add_argument("--role", default="membre", help="membre, coordinateur ou administrateur")
    comptes.add_argument("--email", default="", help="courriel (connexion par l'organisation)")
    comptes.add_argument("--password-stdin", action="store_true", help="lire le mot de passe sur l'entrée standard")
    comptes.set_defaults(func=_accounts)
    erase = sub.add_parser(
        "effacer",
        help="supprimer définitivement une fiche (RGPD) : fichier, sauvegardes, "
        "journal, caches, cartes ouvertes (annuaire RESEAUX_ACTORS)",
    )
    erase.add_argument("id", help="identifiant de la fiche (colonne « id »)")
    erase.add_argument(
        "--par", dest="by", default="ligne de commande", metavar="NOM", help="qui efface (inscrit au journal)"
    )
    erase.set_defaults(func=_erase)
    save = sub.add_parser(
        "sauvegarde",
        help="archiver annuaire, journal, comptes, couches, scènes, référentiel, "
        "profils et audit (sous les verrous) dans DEST/reseaux-<date>.tar.gz",
    )
    save.add_argument("dest", help="dossier où écrire l'archive (créé s'il n'existe pas)")
    save.set_defaults(func=_backup)
    back = sub.add_parser(
        "restauration",
        help="remettre en place une archive de « sauvegarde » (vérifiée d'abord ; "
        "les fichiers remplacés sont gardés dans .avant-restauration/)",
    )
    back.add_argument("source", help="archive reseaux-<date>.tar.gz")
    back.add_argument(
        "--par", dest="by", default="ligne de commande", metavar="NOM", help="qui restaure (inscrit au journal)"
    )
    back.set_defaults(func=_restore)
    move = sub.add_parser(
        "migrer",
        help="déplacer l'annuaire, ses versions et son journal des fichiers vers PostgreSQL "
        "(--vers postgresql://…) ou de PostgreSQL vers les fichiers (--vers fichiers)",
    )
    move.add_argument(
        "--vers", dest="to", required=True, metavar="CIBLE", help="postgresql://rôle@serveur/base, ou « fichiers »"
    )
    move.add_argument(
        "--depuis",
        dest="source",
        default="",
        metavar="SOURCE",
        help="vers PostgreSQL : le fichier d'annuaire (défaut : RESEAUX_ACTORS) ; vers les fichiers : "
        "la base postgresql://… (défaut : RESEAUX_DATABASE_URL)",
    )
    move.add_argument(
        "--fichier",
        dest="file",
        default="",
        metavar="CSV",
        help="vers les fichiers : où écrire (défaut : RESEAUX_ACTORS)",
    )
    move.add_argument(
        "--garder",
        dest="keep",
        type=int,
        default=None,
        metavar="N",
        help="vers les fichiers : combien de versions antérieures écrire en copies datées (défaut : RESEAUX_BACKUPS)",
    )
    move.add_argument(
        "--remplacer",
        dest="replace",
        action="store_true",
        help="effacer l'annuaire que la cible contient déjà (versions et journal compris) et le remplacer",
    )
    move.set_defaults(func=_migrate)
