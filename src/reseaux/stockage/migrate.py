"""Moving the directory between its two stores, both ways, nothing lost (``python -m reseaux migrer``).

- **Files → PostgreSQL** (:func:`files_to_database`): the dated backups, oldest first, then the
  current file, each becomes a version of the database dated by its backup's moment (the current
  file by its modification time), with who and what from the journal line of the save that wrote
  it when there is one; then the journal's lines as they are. One transaction: all or nothing.
- **PostgreSQL → files** (:func:`database_to_files`): the current version becomes the CSV file, the
  journal ``journal.jsonl``, the last ``keep`` former versions dated backups; each written
  atomically, the current file last.

The accounts, the scenes and the import profiles (:mod:`reseaux.stockage.documents`) move with the
directory, after it: their files (``RESEAUX_ACCOUNTS``, ``RESEAUX_SCENES``, ``imports/`` beside
the directory) become the database's documents, or the other way. A target that already holds a
directory, or one of these documents otherwise, is refused unless ``replace`` is given (then what
it held is deleted or overwritten). The perimeter layers added through the servers of a database
(:mod:`reseaux.territoire.layer_store`) are declared, back to the files, at the end of the
territory's registry file, their files in the geo folder; the other way nothing moves: the registry
file and its geo folder are deployed with the territory on every server. After the move, what the target holds is counted again and compared with what was
written (:class:`Moved`). Every refusal is a :class:`MigrationError` with a French message that
never holds the database's password.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from reseaux.annuaire.directory import DirectoryError
from reseaux.annuaire.exports import LockTimeout, private_folder, why_not_written, write_atomic
from reseaux.annuaire.store import DirectoryStore, encode_table, snapshot, version_of
from reseaux.stockage import documents
from reseaux.stockage.errors import StorageUnavailable
from reseaux.stockage.postgres import SCHEMA, PostgresDirectoryStore, redacted
from reseaux.text import plural

FILES = "fichiers"
POSTGIS_HOW = (
    "sur le serveur, en administrateur : « apt install postgresql-postgis » (Debian), puis "
    "« sudo -u postgres psql -d {db} -c 'CREATE EXTENSION postgis' »"
)


class MigrationError(Exception):
    """The move was refused or failed; the message (French) says why and what to do. Nothing was
    changed in a database target; a files target is written current file last."""


@dataclass(frozen=True)
class Moved:
    """What a move wrote, as counted again in the target afterwards."""

    target: str
    versions: int
    fiches: int
    journal_lines: int
    left_behind: int = 0
    #: Accounts, scenes and import profiles moved with the directory (documents), read back.
    documents: int = 0
    #: Perimeter layers added in the database, declared in the registry file (to the files only).
    layers: int = 0

    def sentence(self) -> str:
        behind = (
            f" ; {plural(self.left_behind, 'version plus ancienne')} reste(nt) dans la source seulement"
            if self.left_behind
            else ""
        )
        return (
            f"Migration faite vers {self.target} : {plural(self.versions, 'version')} (la version courante "
            f"comprise), {plural(self.fiches, 'fiche')}, {plural(self.journal_lines, 'ligne')} de journal, "
            f"recomptées dans la cible{behind}"
            + (
                f" ; comptes, scènes et profils d'import : {plural(self.documents, 'document')}"
                if self.documents
                else ""
            )
            + (
                f" ; couches ajoutées, déclarées dans le registre : {plural(self.layers, 'couche')}"
                if self.layers
                else ""
            )
            + "."
        )


def migrate(to: str, *, source: str = "", file: str = "", replace: bool = False, keep: int | None = None) -> Moved:
    """``python -m reseaux migrer``: ``to`` is a PostgreSQL URL (the directory's files, ``source``
    or the ``actors`` setting, go there) or ``"fichiers"`` (the database, ``source`` or the
    ``database_url`` setting, goes to the file ``file`` or the ``actors`` setting). Raises
    MigrationError."""
    from reseaux import config, stockage

    if to == FILES:
        url = source or stockage.database_url()
        if not url.startswith(("postgresql://", "postgres://")):
            raise MigrationError(
                "Aucune base à lire : donnez « --depuis postgresql://… » ou réglez RESEAUX_DATABASE_URL."
            )
        kept = int(config.get("backups")) if keep is None else keep
        path = Path(file) if file else config.path("actors")
        carry = _documents(url, path, to_database=False)
        moved = database_to_files(url, DirectoryStore(path), keep=kept, replace=replace, carry=carry)
        return dataclasses.replace(moved, layers=_layers_home(url, moved))
    if not to.startswith(("postgresql://", "postgres://")):
        raise MigrationError(f"« --vers » attend « fichiers » ou une adresse postgresql://…, pas « {_plain(to)} ».")
    path = Path(source) if source else config.path("actors")
    carry = _documents(to, path, to_database=True)
    return files_to_database(DirectoryStore(path), to, replace=replace, carry=carry)


def _documents(url: str, directory: Path, *, to_database: bool) -> documents.Carry:
    """The accounts, the scenes and the profiles beside ``directory``, to move with it."""
    from reseaux import config
    from reseaux.importation.importing import PROFILES_DIR

    return documents.Carry(
        url,
        [("comptes", config.path("accounts"), True), ("scenes", config.path("scenes"), False)],
        [("profils", directory.parent / PROFILES_DIR, ".toml")],
        to_database=to_database,
    )


def _layers_home(url: str, moved: Moved) -> int:
    """The layers added through the servers of the database, declared in the territory's registry
    file (the registry deployed with the territory stays where it is, in both directions)."""
    from reseaux import config
    from reseaux.app_data import registry_path
    from reseaux.territoire.add_layer import bring_home
    from reseaux.territoire.layers import LayerError
    from reseaux.territoire.territory import TerritoryError, load

    try:
        registry = registry_path(load())
        if registry is None:
            return 0
        return bring_home(url, registry, config.path("geo_dir"))
    except (LayerError, TerritoryError, OSError) as exc:
        raise MigrationError(
            f"L'annuaire a été migré vers {moved.target}, mais pas les couches ajoutées dans la base ({exc}) : "
            "relancez la migration avec « --remplacer »."
        ) from None


def _refuse_held(carry: documents.Carry | None, replace: bool) -> None:
    """Before anything is written: refuse a target holding one of the documents otherwise."""
    if carry is None:
        return
    try:
        held = carry.refused(replace)
    except OSError as exc:
        raise MigrationError(
            f"Comptes, scènes ou profils illisibles ({why_not_written(exc)}) : rien n'a été migré."
        ) from None
    if held:
        raise MigrationError(
            f"La cible a déjà, autrement, {', '.join(held)} : rien n'a été migré. Ajoutez « --remplacer » pour "
            "les remplacer."
        )


def _carried(moved: Moved, carry: documents.Carry | None) -> Moved:
    """``moved`` with the documents moved after the directory."""
    if carry is None:
        return moved
    try:
        return dataclasses.replace(moved, documents=carry.write())
    except OSError as exc:
        raise MigrationError(
            f"L'annuaire a été migré vers {moved.target}, mais pas les comptes, les scènes ou les profils "
            f"({why_not_written(exc)}) : relancez la migration avec « --remplacer »."
        ) from None


# -- files → PostgreSQL --


def files_to_database(
    source: DirectoryStore, url: str, *, replace: bool = False, carry: documents.Carry | None = None
) -> Moved:
    """Every version of the files (backups oldest first, then the current file) and the journal
    into the database at ``url``, in one transaction; then the documents of ``carry``. Raises
    MigrationError."""
    if not source.path.exists():
        raise MigrationError(f"Le fichier {source.path} n'existe pas : rien à migrer.")
    _check_server(url, target=True)
    _refuse_held(carry, replace)
    target = PostgresDirectoryStore(url)
    with _speaking(url, source):
        with source.locked():  # no save on the files while they are read
            journal = _read_journal(source)
            by_version = {}
            for entry in journal:  # the save that wrote a version: its first journal line
                by_version.setdefault(str(entry.get("version", "")), entry)
            backups = list(reversed(source.list_backups()))
            try:
                with target.importing(replace=replace):
                    last = None  # the version just written, not read back for the next one
                    for backup in backups:
                        data = backup.read_bytes()
                        who, action = _author(by_version, data, f"copie datée {backup.name}")
                        table = _table(data, backup.name)
                        last = target.import_version(table, source.backup_time(backup), who, action, after=last)
                    data = source.path.read_bytes()
                    current = _table(data, source.path.name)
                    who, action = _author(by_version, data, f"fichier {source.path.name}")
                    moment = datetime.fromtimestamp(source.path.stat().st_mtime)
                    target.import_version(current, moment, who, action, after=last)
                    target.import_journal(journal)
            except ValueError as exc:  # importing(): the database holds a directory
                raise MigrationError(
                    f"La base {redacted(url)} contient déjà un annuaire : rien n'a été migré. Ajoutez "
                    "« --remplacer » pour l'effacer (versions et journal compris) et le remplacer."
                ) from exc
        moved = Moved(redacted(url), *target.counts())
        written = (len(backups) + 1, len(current), len(journal))
        if (moved.versions, moved.fiches, moved.journal_lines) != written or not _same(target.load().table, current):
            raise MigrationError(_recount(written, moved))
    return _carried(moved, carry)


def _author(by_version: dict[str, dict], data: bytes, otherwise: str) -> tuple[str, str]:
    entry = by_version.get(version_of(data))
    if entry is None:
        return "migration", otherwise
    return str(entry.get("qui", "migration")), str(entry.get("action", otherwise))


# -- PostgreSQL → files --


def database_to_files(
    url: str, target: DirectoryStore, *, keep: int = 20, replace: bool = False, carry: documents.Carry | None = None
) -> Moved:
    """The database's current version, journal and last ``keep`` former versions into the files of
    ``target``; then the documents of ``carry``. Raises MigrationError."""
    _check_server(url, target=False)
    source = PostgresDirectoryStore(url)
    there = [p for p in (target.path, target.journal) if p.exists()] + target.list_backups()
    if there and not replace:
        raise MigrationError(
            f"{target.path} a déjà un annuaire ({plural(len(there), 'fichier')} : le fichier, son journal ou "
            "ses copies datées) : rien n'a été écrit. Ajoutez « --remplacer » pour les remplacer."
        )
    _refuse_held(carry, replace)
    with _speaking(url, target):
        private_folder(target.path.parent)
        with target.locked():
            moved = _write_files(source, target, keep)
    return _carried(moved, carry)


def _write_files(source: PostgresDirectoryStore, target: DirectoryStore, keep: int) -> Moved:
    """Under the files' lock: the former versions, the journal, then the current file."""
    current = source.load()
    journal = source.read_journal()
    former = source.versions(limit=100_000)
    kept = former[: max(keep, 0)]
    for old in target.list_backups():
        old.unlink()
    if kept:
        private_folder(target.backups)
    for version in kept:
        stamp = (version.when or datetime.now()).strftime("%Y%m%dT%H%M%S%f")
        table = source.load_version(version.key).table
        write_atomic(target.backups / f"{target.path.stem}-{stamp}.csv", encode_table(table))
    if journal:
        lines = "".join(json.dumps(entry, ensure_ascii=False) + "\n" for entry in journal)
        write_atomic(target.journal, lines.encode("utf-8"))
    else:
        target.journal.unlink(missing_ok=True)
    write_atomic(target.path, encode_table(current.table))
    read = target.load().table
    moved = Moved(
        str(target.path),
        len(target.list_backups()) + 1,
        len(read),
        len(target.read_journal()),
        left_behind=len(former) - len(kept),
    )
    written = (len(kept) + 1, len(current.table), len(journal))
    if (moved.versions, moved.fiches, moved.journal_lines) != written or not _same(read, current.table):
        raise MigrationError(_recount(written, moved))
    return moved


# -- what both share --


def _check_server(url: str, *, target: bool) -> None:
    """Refuse, in French, a server that does not answer, a target without PostGIS (when it cannot
    be added here), a source without a directory."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        db = conninfo_to_dict(url).get("dbname", "…")
    except psycopg.ProgrammingError as exc:
        raise MigrationError("L'adresse de la base est illisible : postgresql://rôle@serveur/base attendu.") from exc
    try:
        with psycopg.connect(url, connect_timeout=10, autocommit=True) as connection:
            if not target:
                if connection.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.directory_head",)).fetchone()[0] is None:
                    raise MigrationError(f"La base {redacted(url)} ne contient pas d'annuaire Réseaux : rien à migrer.")
                return
            if connection.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone():
                return
            available = connection.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'").fetchone()
            if available:
                try:
                    connection.execute("CREATE EXTENSION postgis")
                    return
                except psycopg.errors.InsufficientPrivilege:
                    raise MigrationError(
                        f"La base {redacted(url)} n'a pas PostGIS et ce rôle ne peut pas l'y ajouter : rien n'a été "
                        f"migré. Pour l'ajouter, {POSTGIS_HOW.format(db=db)}."
                    ) from None
            raise MigrationError(
                f"PostGIS n'est pas installé sur le serveur de {redacted(url)} : rien n'a été migré. Pour l'ajouter, "
                f"{POSTGIS_HOW.format(db=db)}."
            )
    except psycopg.OperationalError as exc:
        raise MigrationError(_unreachable(url, exc)) from None


def _unreachable(url: str, exc: Exception) -> str:
    from psycopg.conninfo import conninfo_to_dict

    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    password = conninfo_to_dict(url).get("password")
    if password:
        detail = detail.replace(password, "…")
    return (
        f"Le serveur de {redacted(url)} ne répond pas ou refuse la connexion ({detail}) : rien n'a été migré. "
        "Vérifiez l'adresse, que PostgreSQL tourne et qu'il accepte ce rôle."
    )


@contextmanager
def _speaking(url: str, files: DirectoryStore) -> Iterator[None]:
    """What can go wrong midway, said in French: the server lost, the file lock held, a write refused."""
    import psycopg

    try:
        yield
    except psycopg.OperationalError as exc:
        raise MigrationError(_unreachable(url, exc)) from None
    except StorageUnavailable as exc:  # the server lost midway: a transaction cut short is not committed
        raise MigrationError(f"{exc.reason[:1].upper()}{exc.reason[1:]} : la migration n'a pas abouti.") from None
    except LockTimeout as exc:
        raise MigrationError(f"Migration non faite : {exc}") from None
    except DirectoryError as exc:
        raise MigrationError(f"L'annuaire est illisible : {exc}") from None
    except psycopg.Error as exc:
        raise MigrationError(
            f"La base {redacted(url)} a refusé la migration ({type(exc).__name__}) : rien n'y a été changé."
        ) from None
    except OSError as exc:
        raise MigrationError(
            f"Écriture ou lecture impossible dans {files.path.parent} : {why_not_written(exc)}."
        ) from None


def _read_journal(store: DirectoryStore) -> list[dict]:
    try:
        return store.read_journal()
    except ValueError as exc:
        raise MigrationError(
            f"Le journal {store.journal} a une ligne illisible : rien n'a été migré ({exc})."
        ) from None


def _table(data: bytes, name: str) -> pd.DataFrame:
    try:
        return snapshot(data).table
    except DirectoryError as exc:
        raise MigrationError(f"{name} est illisible ({exc}) : rien n'a été migré.") from None


def _same(read: pd.DataFrame, written: pd.DataFrame) -> bool:
    return list(read.columns) == list(written.columns) and read.fillna("").astype(str).equals(
        written.fillna("").astype(str).reset_index(drop=True)
    )


def _recount(written: tuple[int, int, int], moved: Moved) -> str:
    return (
        f"La cible ({moved.target}) ne contient pas ce qui a été écrit : {written[0]} version(s), {written[1]} "
        f"fiche(s), {written[2]} ligne(s) de journal écrites ; {moved.versions}, {moved.fiches}, "
        f"{moved.journal_lines} relues. Ne l'utilisez pas avant d'avoir compris pourquoi."
    )


def _plain(text: str) -> str:
    """A value typed by a person, said back without a password it might hold."""
    return text.split("@")[-1] if "://" in text else text[:80]
