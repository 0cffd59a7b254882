"""The audit trail: who signed in (or failed to), saved, restored, erased, exported or changed an
account — when, and from where.

One JSON line per event in an append-only file (``RESEAUX_AUDIT``; by default ``audit.jsonl``
beside the accounts file, out of the repository): opened ``O_APPEND``, each line one ``write``
then ``fsync``, so lines of several processes never interleave and none is ever rewritten. The
administration reads it on the Comptes page and downloads it whole; ``python -m reseaux
sauvegarde`` keeps it.

What a line holds is chosen by the callers of :func:`record`, and never a password nor what a
fiche says of a person: an erasure names the fiche's id, a save counts fiches, a refused
sign-in names the account only when it exists (a password typed in the name box stays out).

Who and from where come from :func:`acting`, set once per run of a page (the person signed in
and the address :func:`reseaux.serveur.clients.client_address` reads) or by the command line
(« ligne de commande », the system user).
"""

from __future__ import annotations

import getpass
import json
import logging
import os
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path

from reseaux import config
from reseaux.text import fr_moment

LOG = logging.getLogger("reseaux")
#: (who, from where) of the run in progress; the command line's when nothing set it.
_ACTOR: ContextVar[tuple[str, str] | None] = ContextVar("audit_actor", default=None)


def path() -> Path:
    """The audit file: ``RESEAUX_AUDIT`` when set, else ``audit.jsonl`` beside the accounts file."""
    if os.environ.get(config.SETTINGS["audit"].env):
        return config.path("audit")
    return config.path("accounts").parent / "audit.jsonl"


def acting(who: str, client: str) -> None:
    """Say who acts, from where, for the events of this run (a page run, a thread)."""
    _ACTOR.set((who, client))


def actor() -> tuple[str, str]:
    """(who, from where) of the events recorded now."""
    known = _ACTOR.get()
    if known is not None:
        return known
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "?"
    return f"ligne de commande ({user})", "local"


def record(event: str, *, who: str | None = None, client: str | None = None, **details) -> None:
    """Append one line: when (UTC), ``event``, who, from where, and ``details`` (plain values,
    chosen by the caller: never a password nor a fiche's content). A line that cannot be written
    is said in the server's log; the action it describes is not undone for it."""
    acting_who, acting_client = actor()
    line = {
        "quand": datetime.now(UTC).isoformat(timespec="seconds"),
        "evenement": event,
        "qui": who if who is not None else acting_who,
        "depuis": client if client is not None else acting_client,
        **details,
    }
    data = (json.dumps(line, ensure_ascii=False, default=str) + "\n").encode("utf-8")
    target = path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            written = os.write(fd, data)  # one write: O_APPEND puts it whole at the end
            if written != len(data):
                raise OSError(f"ligne coupée ({written} octets sur {len(data)})")
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        LOG.error("Journal d'audit %s non écrit (%s) : %s", target, exc, line)


def read(limit: int | None = None) -> list[dict]:
    """The audit lines, newest first (the ``limit`` newest when given); a line that does not read
    as JSON (a disk that failed) is given as ``{"illisible": its text}``."""
    target = path()
    if not target.exists():
        return []
    out = []
    for text in target.read_text(encoding="utf-8", errors="replace").splitlines():
        if not text.strip():
            continue
        try:
            out.append(json.loads(text))
        except ValueError:
            out.append({"illisible": text[:200]})
    out.reverse()
    return out[:limit] if limit is not None else out


def raw() -> bytes:
    """The whole file as it is, for download (empty when there is none yet)."""
    target = path()
    return target.read_bytes() if target.exists() else b""


EVENTS = {
    "connexion": "Connexion",
    "connexion refusée": "Connexion refusée",
    "enregistrement": "Enregistrement",
    "sauvegarde": "Sauvegarde",
    "restauration": "Restauration",
    "effacement": "Effacement (RGPD)",
    "export": "Export",
    "compte": "Compte",
}


def rows(lines: list[dict]) -> list[dict[str, str]]:
    """The lines as a table to read: when, event, who, from where, and the rest as « clé : valeur »."""
    out = []
    for line in lines:
        rest = {k: v for k, v in line.items() if k not in ("quand", "evenement", "qui", "depuis")}
        out.append(
            {
                "Quand (UTC)": fr_moment(str(line.get("quand", "")), seconds=True),
                "Événement": EVENTS.get(str(line.get("evenement", "")), str(line.get("evenement", ""))),
                "Qui": str(line.get("qui", "")),
                "Depuis": str(line.get("depuis", "")),
                "Détail": " ; ".join(f"{k} : {v}" for k, v in rest.items()),
            }
        )
    return out
