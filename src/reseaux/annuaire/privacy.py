"""GDPR (RGPD): removing an actor for good — from the file, its backups, the journal, the
temporary files of a save killed midway, the parsed-directory cache, the geocoding cache and
the map tokens handed out before."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from reseaux.annuaire.store import DirectoryStore
from reseaux.territoire.geocode_cache import GeoCache, address_key

ERASED = "[effacé à la demande de la personne]"
#: The columns an address key is made of (see :func:`reseaux.territoire.geocode_cache.address_key`).
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

        shared = (
            (f" ({plural(self.shared_addresses, 'adresse gardée', 'adresses gardées')} : une autre fiche y est)")
            if self.shared_addresses
            else ""
        )
        return (
            f"Fiche « {actor_id} » supprimée définitivement : fichier, {plural(self.backups, 'sauvegarde')}, "
            f"{plural(self.journal_entries, 'ligne du journal anonymisée', 'lignes du journal anonymisées')}, "
            f"{plural(self.cache_entries, 'entrée', 'entrées')} du cache de géocodage{shared}, "
            "cache de l'annuaire et liens des cartes ouvertes."
        )


def erase(actor_id: str, who: str) -> PurgeReport:
    """Erase ``actor_id`` from the directory the configuration names, as the « Données
    personnelles » page and ``python -m reseaux effacer`` do: :func:`purge_actor` on its file,
    caches and geocoding cache. Every map token handed out before answers no more, in this process
    and in a server the command line erased beside: a token answers only while the file it was read
    from is unchanged (:mod:`reseaux.annuaire.fiche_service`). A page open before the erasure draws its map
    again, without her. Raises KeyError when there is no such fiche, DirectoryError or OSError
    when the file cannot be read or written."""
    from reseaux import config
    from reseaux.acces import audit
    from reseaux.app_data import parse_cache_folder
    from reseaux.stockage import directory_store

    store = directory_store()
    report = purge_actor(store, actor_id, who, geocache=config.path("geocache"), parse_cache=parse_cache_folder())
    audit.record("effacement", who=who, fiche=actor_id)  # the id only: her name is what was erased
    return report


def purge_actor(
    store: DirectoryStore, actor_id: str, who: str, *, geocache: Path | None = None, parse_cache: Path | None = None
) -> PurgeReport:
    """Remove ``actor_id`` everywhere it is kept. Raises KeyError when there is no such fiche.

    The journal keeps that a fiche was erased, when and by whom, but no longer its content.
    Under the store's lock (no save in between): the file, the backups, the journal, the
    temporary files a killed save left beside them (the save itself removes those of the file),
    and every parsed directory of ``parse_cache`` (rebuilt at the next load). Then the geocoding
    entries of every address her fiche had (file, backups, journal), unless another fiche has it.
    """
    with store.locked():  # no other save between reading the file and scrubbing the journal
        base = store.load()
        hers = base.table["id"].astype(str) == actor_id
        kept_table = base.table[~hers]
        versions = base.table[hers].to_dict("records") + store.former_copies(actor_id)
        if not versions and not any(_unscrubbed(e, actor_id) for e in store.read_journal()):
            raise KeyError(actor_id)
        if versions:
            versions += _journal_versions(store, actor_id, versions[0])
        # Her addresses first, while every copy still tells them: a failure here changes nothing.
        forgotten, shared = 0, 0
        if geocache is not None and Path(geocache).exists():
            try:
                forgotten, shared = _forget_addresses(Path(geocache), versions, kept_table)
            except sqlite3.Error as exc:
                raise OSError(f"le cache de géocodage ne peut pas être ouvert ({exc})") from exc
        if hers.any():
            store.save(kept_table, base, who, action="suppression définitive (RGPD)")
        # Not in the file but still in a backup or the journal: an erasure cut short, finished now.
        try:
            backups, entries = store.scrub(actor_id, ERASED)
            if parse_cache is not None:
                forget_parsed(Path(parse_cache))
        except OSError as exc:
            raise ErasureIncomplete(actor_id, "ses sauvegardes ou le journal", exc) from exc
    return PurgeReport(backups, entries, forgotten, shared)


class ErasureIncomplete(OSError):
    """The fiche left the directory file, but a copy of it could not be removed from ``where``:
    erasing the same fiche again finishes the work (French message for the person)."""

    def __init__(self, actor_id: str, where: str, cause: Exception) -> None:
        super().__init__(
            f"Effacement inachevé : la fiche « {actor_id} » est retirée de l'annuaire, mais {where} "
            f"n'ont pas pu être nettoyés ({cause}). Effacez de nouveau la même fiche pour terminer."
        )
        self.actor_id = actor_id


def _unscrubbed(entry: dict, actor_id: str) -> bool:
    """A journal line about ``actor_id`` that still tells something of her."""
    return entry.get("id") == actor_id and (entry.get("nom") != ERASED or bool(entry.get("champs")))


def _forget_addresses(geocache: Path, versions: list[dict], kept_table) -> tuple[int, int]:
    """Remove from the geocoding cache every address of her ``versions`` no other fiche has;
    return (removed, kept because shared)."""
    keys = {address_key({c: str(r.get(c, "")) for c in ADDRESS}) for r in versions} - {address_key({})}
    cache = GeoCache(geocache)
    try:
        known = [k for k in keys if cache.get(k) is not GeoCache.MISSING]
        others = (
            {
                address_key(r)
                for r in kept_table.reindex(columns=list(ADDRESS), fill_value="")
                .fillna("")
                .astype(str)
                .to_dict("records")
            }
            if known
            else set()
        )
        shared = sum(k in others for k in known)
        cache.forget([k for k in known if k not in others])
        return len(known) - shared, shared
    finally:
        cache.close()


def forget_parsed(folder: Path) -> None:
    """Remove the parsed directories kept in ``folder`` and their half-written files: each may
    hold a fiche since erased (the next load parses the file again)."""
    for path in [*folder.glob("*.pickle"), *folder.glob(".*.tmp")]:
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
