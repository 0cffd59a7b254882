"""GDPR (RGPD): removing an actor for good — from the file, its backups, the journal and caches."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from reseaux.exports import write_atomic
from reseaux.geocoding import GeoCache, address_key
from reseaux.store import DirectoryStore, encode_table, snapshot

ERASED = "[effacé à la demande de la personne]"


@dataclass
class PurgeReport:
    backups: int
    journal_entries: int
    cache_entries: int

    def sentence(self, actor_id: str) -> str:
        from reseaux.text import plural

        return (f"Fiche « {actor_id} » supprimée définitivement : fichier, {plural(self.backups, 'sauvegarde')}, "
                f"{plural(self.journal_entries, 'ligne du journal anonymisée', 'lignes du journal anonymisées')}, "
                f"{plural(self.cache_entries, 'entrée', 'entrées')} du cache de géocodage.")


def purge_actor(store: DirectoryStore, actor_id: str, who: str, *, geocache: Path | None = None) -> PurgeReport:
    """Remove ``actor_id`` everywhere it is kept. Raises KeyError when there is no such fiche.

    The journal keeps that a fiche was erased, when and by whom, but no longer its content.
    """
    with store.locked():  # no other save between reading the file and scrubbing the journal
        base = store.load()
        rows = base.table[base.table["id"].astype(str) == actor_id]
        if rows.empty:
            raise KeyError(actor_id)
        record = rows.iloc[0].to_dict()
        store.save(base.table[base.table["id"].astype(str) != actor_id], base, who,
                   action="suppression définitive (RGPD)")
        backups = 0
        for backup in store.list_backups():
            old = snapshot(backup.read_bytes())
            kept = old.table[old.table["id"].astype(str) != actor_id]
            if len(kept) != len(old.table):
                write_atomic(backup, encode_table(kept, old.delimiter, old.encoding))
                backups += 1
        entries = _scrub_journal(store.journal, actor_id)
    cache_entries = 0
    if geocache is not None and Path(geocache).exists():
        cache = GeoCache(geocache)
        key = address_key(record)
        if cache.get(key) is not GeoCache.MISSING:
            cache.forget([key])
            cache_entries = 1
        cache.close()
    return PurgeReport(backups, entries, cache_entries)


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
