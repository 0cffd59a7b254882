"""GDPR (RGPD): removing an actor for good — from the file, its backups, the journal, the
temporary files of a save killed midway, the parsed-directory cache, the geocoding cache and
the map tokens handed out before."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from reseaux.exports import private_folder, write_atomic
from reseaux.geocoding import GeoCache, address_key
from reseaux.store import DirectoryStore, encode_table, snapshot

ERASED = "[effacé à la demande de la personne]"
#: The columns an address key is made of (see :func:`reseaux.geocoding.address_key`).
ADDRESS = ("adresse", "code_postal", "commune")


@dataclass
class PurgeReport:
    backups: int
    journal_entries: int
    cache_entries: int
    #: Geocoding entries of her address(es) kept because another fiche has the same address.
    shared_addresses: int = 0

    def sentence(self, actor_id: str) -> str:
        from reseaux.text import plural

        shared = (f" ({plural(self.shared_addresses, 'adresse gardée', 'adresses gardées')} : "
                  "une autre fiche y est)") if self.shared_addresses else ""
        return (f"Fiche « {actor_id} » supprimée définitivement : fichier, {plural(self.backups, 'sauvegarde')}, "
                f"{plural(self.journal_entries, 'ligne du journal anonymisée', 'lignes du journal anonymisées')}, "
                f"{plural(self.cache_entries, 'entrée', 'entrées')} du cache de géocodage{shared}, "
                "cache de l'annuaire et liens des cartes ouvertes.")


def erase(actor_id: str, who: str) -> PurgeReport:
    """Erase ``actor_id`` from the directory the configuration names, as the « Données
    personnelles » page and ``python -m reseaux effacer`` do: :func:`purge_actor` on its file,
    caches and geocoding cache, then every map token handed out before answers no more — in this
    process at once, in the others (a server, when the command line erased) at their next fiche
    request (:func:`revoke_after_erasure`). A page open before the erasure draws its map again,
    without her. Raises KeyError when there is no such fiche, DirectoryError or OSError when the
    file cannot be read or written."""
    from reseaux import config
    from reseaux.app_data import parse_cache_folder
    from reseaux.fiche_service import SERVICE

    store = DirectoryStore(config.path("actors"), keep=int(config.get("backups")))
    try:
        return purge_actor(store, actor_id, who, geocache=config.path("geocache"), parse_cache=parse_cache_folder())
    finally:  # even half done (a backup that could not be rewritten): her file may be saved already
        try:
            private_folder(erasure_mark().parent)
            write_atomic(erasure_mark(), f"{time.time()}\n".encode("ascii"))
        except OSError:  # noqa: S110 — a read-only cache folder: this process's tokens go all the same
            pass
        _SEEN[str(erasure_mark())] = _mark_time()
        SERVICE.revoke_all()


def erasure_mark() -> Path:
    """A file rewritten at each erasure (it holds the time, nothing of a fiche), beside the caches."""
    from reseaux import config

    return config.path("geocache").parent / "effacement"


def _mark_time() -> int:
    try:
        return erasure_mark().stat().st_mtime_ns
    except OSError:
        return 0


#: The erasure mark as this process last saw it, by the mark's path (at import: a server's
#: start). Keyed by path: a process whose settings point elsewhere (tests) has not seen an
#: erasure because it looks at another folder for the first time.
_SEEN = {str(erasure_mark()): _mark_time()}


def revoke_after_erasure() -> None:
    """Drop every map token of this process when another process erased a fiche since this one
    last looked (one ``stat``; the fiche routes ask it at every request)."""
    path, seen = str(erasure_mark()), _mark_time()
    known = _SEEN.setdefault(path, seen)
    if seen != known:
        from reseaux.fiche_service import SERVICE

        _SEEN[path] = seen
        SERVICE.revoke_all()


def purge_actor(store: DirectoryStore, actor_id: str, who: str, *, geocache: Path | None = None,
                parse_cache: Path | None = None) -> PurgeReport:
    """Remove ``actor_id`` everywhere it is kept. Raises KeyError when there is no such fiche.

    The journal keeps that a fiche was erased, when and by whom, but no longer its content.
    Under the store's lock (no save in between): the file, the backups, the journal, the
    temporary files a killed save left beside them (the save itself removes those of the file),
    and every parsed directory of ``parse_cache`` (rebuilt at the next load). Then the geocoding
    entries of every address her fiche had (file, backups, journal), unless another fiche has it.
    """
    with store.locked():  # no other save between reading the file and scrubbing the journal
        base = store.load()
        rows = base.table[base.table["id"].astype(str) == actor_id]
        if rows.empty:
            raise KeyError(actor_id)
        versions = [rows.iloc[0].to_dict()]
        kept_table = base.table[base.table["id"].astype(str) != actor_id]
        store.save(kept_table, base, who, action="suppression définitive (RGPD)")
        backups = 0
        for backup in store.list_backups():
            old = snapshot(backup.read_bytes())
            kept = old.table[old.table["id"].astype(str) != actor_id]
            if len(kept) != len(old.table):
                versions += old.table[old.table["id"].astype(str) == actor_id].to_dict("records")
                write_atomic(backup, encode_table(kept, old.delimiter, old.encoding))
                backups += 1
        versions += _journal_versions(store, actor_id, versions[0])
        entries = _scrub_journal(store.journal, actor_id)
        _remove_leftovers(store)
        if parse_cache is not None:
            forget_parsed(Path(parse_cache))
    forgotten, shared = 0, 0
    if geocache is not None and Path(geocache).exists():
        keys = {address_key({c: str(r.get(c, "")) for c in ADDRESS}) for r in versions} - {address_key({})}
        cache = GeoCache(geocache)
        try:
            known = [k for k in keys if cache.get(k) is not GeoCache.MISSING]
            others = {address_key(r) for r in kept_table.reindex(columns=list(ADDRESS), fill_value="")
                      .fillna("").astype(str).to_dict("records")} if known else set()
            shared = sum(k in others for k in known)
            cache.forget([k for k in known if k not in others])
            forgotten = len(known) - shared
        finally:
            cache.close()
    return PurgeReport(backups, entries, forgotten, shared)


def forget_parsed(folder: Path) -> None:
    """Remove the parsed directories kept in ``folder`` and their half-written files: each may
    hold a fiche since erased (the next load parses the file again)."""
    for path in [*folder.glob("*.pickle"), *folder.glob(".*.tmp")]:
        path.unlink(missing_ok=True)


def _remove_leftovers(store: DirectoryStore) -> None:
    """Temporary files of a backup or a journal rewrite killed midway (under the store's lock,
    no write of them is under way): copies of fiches."""
    for folder, name in ((store.backups, f"{store.path.stem}-"), (store.journal.parent, store.journal.name)):
        if folder.exists():
            for path in folder.glob(f".{name}*.tmp"):
                path.unlink(missing_ok=True)


def _journal_versions(store: DirectoryStore, actor_id: str, current: dict) -> list[dict]:
    """Her fiche's former addresses the journal tells of (older than any backup): from the
    current fiche back, each modification of an address column undone in turn."""
    record = {c: str(current.get(c, "")) for c in ADDRESS}
    out = []
    for entry in reversed(store.read_journal()):
        fields = entry.get("champs") or {}
        if entry.get("id") != actor_id or not any(c in fields for c in ADDRESS):
            continue
        for column in ADDRESS:
            if column in fields:
                record[column] = str(fields[column][0])
        out.append(dict(record))
    return out


def _scrub_journal(journal: Path, actor_id: str) -> int:
    if not journal.exists():
        return 0
    lines = journal.read_text(encoding="utf-8").splitlines()
    out, count = [], 0
    for line in lines:
        if not line.strip():
            continue
        entry = json.loads(line)
        if entry.get("id") == actor_id and (entry.get("nom") != ERASED or entry.get("champs")):
            entry["nom"], entry["champs"] = ERASED, {}
            count += 1
        out.append(json.dumps(entry, ensure_ascii=False))
    write_atomic(journal, ("\n".join(out) + "\n").encode("utf-8"))
    return count
