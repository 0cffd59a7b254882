"""Backups that leave the machine: one archive of everything a network would cry to lose.

``python -m reseaux sauvegarde DEST`` writes ``DEST/reseaux-<moment>.tar.gz``: the directory,
its journal and dated backups, the accounts file, the territory file, the layer registry and
every layer file it names, the scenes, the referential, the import profiles and the audit
trail, each under a *role* (where it goes back), listed in ``MANIFEST.json`` with its size and
SHA-256. The files are read under the locks of those who write them — the registry's, the
accounts', the directory store's, taken in that order — so the archive is one moment: its
directory is the version its journal's last line names, never a file half-written nor a
journal a save ahead. The archive is written beside its place and renamed (all or nothing).

``python -m reseaux restauration SOURCE`` checks every file against the manifest before
writing anything, then, under the same locks, writes the current files aside (an archive in
``.avant-restauration/`` beside the directory: the restoration can itself be undone) and puts
each file of the archive at the place the configuration gives its role — but the audit trail,
which is only ever appended to: the archive's is put back only where there is none. The
directory goes through :meth:`reseaux.annuaire.store.DirectoryStore.replace`, so its journal says who
restored. With ``RESEAUX_DATABASE_URL`` set, the accounts, the scenes and the import profiles are
read from and put back into the database's documents (:mod:`reseaux.stockage.documents`), under the
accounts' lock there, and so are the perimeter layers added through its servers
(:mod:`reseaux.territoire.layer_store`: their registry, role « couches_base », and their files,
« couche_base »), under their registry's lock there.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tomllib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from reseaux import config, stockage
from reseaux.acces import audit
from reseaux.annuaire.directory import DirectoryError
from reseaux.annuaire.exports import file_lock, private_folder, sync_folder, write_atomic
from reseaux.annuaire.store import DirectoryStore
from reseaux.stockage import documents

MANIFEST = "MANIFEST.json"
FORMAT = 1
#: Roles of one file each: setting that gives its place.
SINGLE = {
    "annuaire": "actors",
    "comptes": "accounts",
    "territoire": "territory",
    "scenes": "scenes",
    "referentiel": "referential",
}
#: Roles of several files, each named by its path below the role's folder.
MANY = ("sauvegardes", "couche", "profil", "couche_base")
#: The registry of the layers added through the servers of a database (kept in it alone).
ADDED_REGISTRY = "registre_couches.toml"
#: Roles kept through the documents' store (:mod:`reseaux.stockage.documents`): its collection.
DOCUMENTS = {"comptes": "comptes", "scenes": "scenes"}
LABELS = {
    "annuaire": "annuaire",
    "journal": "journal de l'annuaire",
    "sauvegardes": "sauvegarde de l'annuaire",
    "comptes": "comptes",
    "territoire": "territoire",
    "registre": "registre des couches",
    "couche": "couche",
    "couches_base": "registre des couches ajoutées (base)",
    "couche_base": "couche ajoutée (base)",
    "scenes": "scènes",
    "referentiel": "référentiel",
    "profil": "profil d'import",
    "audit": "journal d'audit",
}


class BackupError(Exception):
    """A backup or a restoration refused or failed; the message is for the user, in French."""


@dataclass(frozen=True)
class Entry:
    role: str
    name: str  # below the role's folder: the file's name, or its path relative to the registry
    data: bytes

    @property
    def member(self) -> str:
        return f"{self.role}/{self.name}"

    def listed(self) -> dict:
        return {
            "role": self.role,
            "nom": self.name,
            "taille": len(self.data),
            "sha256": hashlib.sha256(self.data).hexdigest(),
        }


@dataclass(frozen=True)
class Places:
    """Where each role lives in the configuration of this process."""

    store: DirectoryStore
    single: dict[str, Path]
    registry: Path | None
    profiles: Path

    @classmethod
    def configured(cls, territory_text: str | None = None) -> Places:
        """The places the settings give; the registry is ``RESEAUX_LAYERS`` when set, else the one
        the territory file names (``territory_text``: that file's text, when it is not on disk yet)."""
        from reseaux.stockage import directory_store

        store = directory_store()
        single = {role: config.path(setting) for role, setting in SINGLE.items()} | {"audit": audit.path()}
        if store.kind != "fichiers":  # the directory and its journal are read from the database (_gather)
            del single["annuaire"]
        return cls(
            store, single, _registry(single["territoire"], territory_text), config.path("actors").parent / "imports"
        )

    @property
    def data_folder(self) -> Path:
        return config.path("actors").parent if self.store.kind != "fichiers" else self.store.path.parent

    def of(self, role: str, name: str) -> Path:
        if role in ("couches_base", "couche_base"):
            if not stockage.database_url():
                raise BackupError(
                    "l'archive a des couches ajoutées dans une base PostgreSQL, et RESEAUX_DATABASE_URL n'est pas "
                    "réglé : restaurez-la avec la base, puis « python -m reseaux migrer --vers fichiers »"
                )
            return Path(name)  # a document of the database (written by restore)
        if role in self.single:
            return self.single[role]
        if role == "journal":
            return self.store.journal
        if role == "registre":
            if self.registry is None:
                raise BackupError(
                    "le fichier du territoire ne nomme pas de registre de couches (registre = …) "
                    "et RESEAUX_LAYERS n'est pas réglé : le registre de l'archive n'a pas de place"
                )
            return self.registry
        folder = {
            "sauvegardes": getattr(self.store, "backups", None),  # the files' dated copies (a database has versions)
            "profil": self.profiles,
            "couche": self.registry.parent if self.registry else None,
        }[role]
        if folder is None and role == "couche":
            raise BackupError("aucun registre de couches configuré : les couches de l'archive n'ont pas de place")
        if folder is None:
            raise BackupError(f"les fichiers « {LABELS[role]} » de l'archive n'ont pas de place ici")
        return folder / name


def _registry(territory: Path, text: str | None) -> Path | None:
    if os.environ.get(config.SETTINGS["layers"].env):
        return config.path("layers")
    try:
        raw = tomllib.loads(text if text is not None else territory.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None
    name = raw.get("registre")
    return territory.parent / str(name) if name else None


@contextmanager
def _all_locked(places: Places) -> Iterator[None]:
    """The locks of every writer, always in this order (registry, accounts, directory): a backup
    and a restoration never wait for each other in a circle."""
    with ExitStack() as held:
        if places.registry is not None:
            held.enter_context(file_lock(places.registry.with_name(places.registry.name + ".lock")))
        if stockage.database_url():
            held.enter_context(_added_layers()[0].locked())
        held.enter_context(documents.document("comptes", places.single["comptes"], private=True).locked())
        held.enter_context(places.store.locked())
        yield


def _added_layers() -> tuple[documents.PostgresDocument, documents.PostgresFolder]:
    """The registry and the files of the layers added through the servers of the database."""
    from reseaux.territoire.layer_store import added_in_database

    return added_in_database(stockage.database_url())


def _layer_files(registry_text: str) -> list[str]:
    """The files the registry's entries name (every entry, a broken one too: its file is kept)."""
    try:
        raw = tomllib.loads(registry_text)
    except tomllib.TOMLDecodeError:
        return []
    return sorted({str(e["file"]) for e in raw.get("layer", []) if isinstance(e, dict) and e.get("file")})


def _gather(places: Places) -> list[Entry]:
    """Every file there is to keep, read now (call it under :func:`_all_locked`)."""
    entries = []

    def add(role: str, path: Path, name: str) -> None:
        if path.is_file():
            entries.append(Entry(role, name, path.read_bytes()))

    in_database = bool(stockage.database_url())
    for role, path in places.single.items():
        if in_database and role in DOCUMENTS:
            data = documents.document(DOCUMENTS[role], path).read()
            if data is not None:
                entries.append(Entry(role, path.name, data))
        else:
            add(role, path, path.name)
    if places.store.kind == "fichiers":
        add("journal", places.store.journal, places.store.journal.name)
        for backup in places.store.list_backups():
            add("sauvegardes", backup, backup.name)
    else:  # the database's current directory as a file, and its journal; its versions stay in it (pg_dump)
        from reseaux.annuaire.store import encode_table

        try:
            table = places.store.load().table
        except DirectoryError:  # an empty database: nothing to archive, said by backup()
            table = None
        if table is not None:
            entries.append(Entry("annuaire", config.path("actors").name, encode_table(table)))
            lines = [json.dumps(e, ensure_ascii=False) for e in places.store.read_journal()]
            if lines:
                entries.append(Entry("journal", "journal.jsonl", ("\n".join(lines) + "\n").encode("utf-8")))
    if places.registry is not None and places.registry.is_file():
        add("registre", places.registry, places.registry.name)
        for name in _layer_files(places.registry.read_text(encoding="utf-8", errors="replace")):
            if _safe(name):
                add("couche", places.registry.parent / name, name)
    if in_database:
        registry, files = _added_layers()
        data = registry.read()
        if data is not None:
            entries.append(Entry("couches_base", ADDED_REGISTRY, data))
        for name in files.names():
            data = files.document(name).read()
            if data is not None and _safe(name):
                entries.append(Entry("couche_base", name, data))
        profiles = documents.folder("profils", places.profiles, ".toml")
        for name in profiles.names():
            data = profiles.document(name).read()
            if data is not None:
                entries.append(Entry("profil", f"{name}.toml", data))
    elif places.profiles.is_dir():
        for profile in sorted(places.profiles.glob("*.toml")):
            add("profil", profile, profile.name)
    return entries


def _safe(name: str) -> bool:
    """A name below its folder: relative, without « .. »."""
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts and "\\" not in name


def _archive(entries: list[Entry], created: str) -> bytes:
    manifest = {"format": FORMAT, "cree": created, "fichiers": [e.listed() for e in entries]}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in [
            (MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")),
            *((e.member, e.data) for e in entries),
        ]:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o600, int(datetime.now().timestamp())
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def backup(dest: Path, *, places: Places | None = None, now: datetime | None = None) -> tuple[Path, list[Entry]]:
    """Write an archive of every file there is to keep into folder ``dest`` (created if needed);
    return its path and what it holds. Raises :class:`BackupError` (French) when it cannot be
    written, :class:`~reseaux.annuaire.exports.LockTimeout` when a writer holds its lock too long."""
    places = places or Places.configured()
    now = now or datetime.now()
    with _all_locked(places):
        entries = _gather(places)
    if not any(e.role == "annuaire" for e in entries):
        where = places.single["annuaire"] if "annuaire" in places.single else places.store.describe()
        raise BackupError(
            f"aucun annuaire à sauvegarder ({where} : introuvable ou vide) : vérifiez le réglage "
            + ("RESEAUX_ACTORS" if "annuaire" in places.single else "RESEAUX_DATABASE_URL")
        )
    target = Path(dest) / f"reseaux-{now.strftime('%Y%m%dT%H%M%S%f')}.tar.gz"
    try:
        private_folder(Path(dest))
        write_atomic(target, _archive(entries, now.isoformat(timespec="seconds")))
    except OSError as exc:
        from reseaux.annuaire.exports import why_not_written

        raise BackupError(f"archive non écrite dans {dest} : {why_not_written(exc)}") from exc
    audit.record("sauvegarde", archive=str(target), fichiers=len(entries))
    return target, entries


def read_archive(source: Path) -> list[Entry]:
    """The files of archive ``source``, each checked against its manifest. Raises
    :class:`BackupError` naming what does not check (nothing is written)."""
    try:
        with tarfile.open(source, mode="r:gz") as tar:
            members = {m.name: m for m in tar.getmembers()}
            if MANIFEST not in members:
                raise BackupError(
                    f"{Path(source).name} n'a pas de {MANIFEST} : ce n'est pas une archive de "
                    "« python -m reseaux sauvegarde »"
                )
            manifest = json.loads(tar.extractfile(members[MANIFEST]).read().decode("utf-8"))
            listed = manifest.get("fichiers", []) if isinstance(manifest, dict) else []
            entries = []
            for item in listed:
                role, name = str(item.get("role", "")), str(item.get("nom", ""))
                if role not in (*SINGLE, "audit", "journal", "registre", "couches_base", *MANY) or not _safe(name):
                    raise BackupError(f"le manifeste nomme un fichier inattendu « {role}/{name} »")
                member = members.get(f"{role}/{name}")
                if member is None or not member.isfile():
                    raise BackupError(f"le fichier {role}/{name} du manifeste manque à l'archive")
                data = tar.extractfile(member).read()
                if len(data) != item.get("taille") or hashlib.sha256(data).hexdigest() != item.get("sha256"):
                    raise BackupError(
                        f"le fichier {role}/{name} ne correspond pas à son empreinte SHA-256 "
                        "dans le manifeste : archive abîmée ou modifiée"
                    )
                entries.append(Entry(role, name, data))
            extra = sorted(set(members) - {MANIFEST} - {e.member for e in entries})
            if extra:
                raise BackupError(f"l'archive contient des fichiers absents du manifeste : {', '.join(extra[:5])}")
    except BackupError as exc:
        raise BackupError(f"Archive refusée, rien n'a été restauré : {exc}.") from None
    except (OSError, EOFError, tarfile.TarError, ValueError, AttributeError) as exc:
        raise BackupError(
            f"Archive {Path(source).name} illisible ({type(exc).__name__}) : rien n'a été restauré. "
            "Vérifiez le chemin, ou prenez une autre sauvegarde."
        ) from exc
    if not any(e.role == "annuaire" for e in entries):
        raise BackupError("Archive refusée, rien n'a été restauré : elle ne contient pas d'annuaire.")
    return entries


@dataclass(frozen=True)
class Restored:
    entries: list[Entry]
    aside: Path | None  # the archive of what was replaced (None: nothing was there)

    def sentence(self) -> str:
        counts: dict[str, int] = {}
        for e in self.entries:
            counts[LABELS[e.role]] = counts.get(LABELS[e.role], 0) + 1
        held = ", ".join(f"{n} {label}" for label, n in counts.items())
        aside = f" Les fichiers remplacés sont gardés dans {self.aside}." if self.aside else ""
        return f"Restauré : {len(self.entries)} fichier(s) ({held}).{aside}"


def restore(source: Path, who: str) -> Restored:
    """Put every file of archive ``source`` back at its configured place, after checking them all
    and keeping what they replace aside. Raises :class:`BackupError` (French; nothing written when
    the archive does not check)."""
    entries = read_archive(source)
    territory = next((e for e in entries if e.role == "territoire"), None)
    places = Places.configured(territory.data.decode("utf-8", errors="replace") if territory else None)
    targets = [  # every place known before writing
        (
            e,
            None
            if e.role == "annuaire" or (places.store.kind != "fichiers" and e.role in ("journal", "sauvegardes"))
            else places.of(e.role, e.name),
        )
        for e in entries
    ]
    aside = None
    with _all_locked(places):
        current = _gather(places)
        if current:
            aside_dir = places.data_folder / ".avant-restauration"
            aside = aside_dir / f"reseaux-{datetime.now().strftime('%Y%m%dT%H%M%S%f')}.tar.gz"
            private_folder(aside_dir)
            write_atomic(aside, _archive(current, datetime.now().isoformat(timespec="seconds")))
        # The journal first: the directory's restoration then writes its own lines after it.
        for entry, path in sorted(targets, key=lambda t: t[0].role == "annuaire"):
            if entry.role == "annuaire":
                places.store.replace(entry.data, who, f"restauration de {Path(source).name}")
                continue
            if places.store.kind != "fichiers" and entry.role in ("journal", "sauvegardes"):
                continue  # the database keeps its own journal and versions (the archive's are in the aside copy)
            if entry.role == "audit" and path.is_file() and path.stat().st_size:
                continue  # append-only: the trail here keeps its lines (the archive's are in the aside copy)
            if entry.role in ("couches_base", "couche_base"):
                registry, files = _added_layers()
                (registry if entry.role == "couches_base" else files.document(entry.name)).write(entry.data)
                continue
            if stockage.database_url() and entry.role in (*DOCUMENTS, "profil"):
                if entry.role == "profil":
                    folder = documents.folder("profils", places.profiles, ".toml")
                    folder.document(entry.name.removesuffix(".toml")).write(entry.data)
                else:
                    documents.document(DOCUMENTS[entry.role], path).write(entry.data)
                continue
            private_folder(path.parent)
            write_atomic(path, entry.data)
            if entry.role == "comptes":
                path.chmod(0o600)
        sync_folder(places.data_folder)
        # After the audit file of the archive took its place (onto a machine without one): the
        # restoration is its last line.
        audit.record("restauration", who=who, archive=Path(source).name, fichiers=len(entries))
    return Restored(entries, aside)
