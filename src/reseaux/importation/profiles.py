"""Import profiles: a source's mapping, constants, recodings and kept columns saved as ``data/imports/NAME.toml``.

Next month's file from the same publisher then imports in one step, from the page or with
``python -m reseaux import FILE --profile data/imports/NAME.toml``. The file is meant to be
read and edited by a coordinator::

    garder = ["catr"]          # not imported, kept in the fiche's description
    [colonnes]
    "hospital_name" = "nom"
    [constantes]
    type = "structure"
    [recodages.type]
    "Centre Hospitalier (C.H.)" = "structure"

The page keeps them through :class:`ProfileStore`: the files of ``imports/`` beside the directory,
or — with ``RESEAUX_DATABASE_URL`` set — the documents « profils » of the database
(:mod:`reseaux.stockage.documents`), the same TOML text, shared by every server of it. A file named
on the command line (``--profile``) is always that file.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from reseaux.annuaire.exports import write_atomic
from reseaux.importation.importing import ImportSpec, targets
from reseaux.stockage import documents

#: A profile's name: a file's name in its folder (no separator, no leading dot, no control character).
_NAME = re.compile(r"^[^/\\\x00-\x1f.][^/\\\x00-\x1f]{0,99}$")


class ProfileError(ValueError):
    """A profile that cannot be read; the message says why in French."""


def load_profile(path: Path) -> ImportSpec:
    """The :class:`ImportSpec` saved in ``path``. Raises :class:`ProfileError` (French)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"Profil d'import « {path} » illisible : {exc.strerror}.") from exc
    return parse_profile(text, path)


def parse_profile(text: str, where: object) -> ImportSpec:
    """The :class:`ImportSpec` of a profile's TOML ``text`` (``where``: its name in a message).
    Raises :class:`ProfileError` (French)."""
    path = where
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"Profil d'import « {path} » mal formé : {exc}.") from exc
    mapping = {str(k): str(v) for k, v in document.get("colonnes", {}).items()}
    unknown = sorted({v for v in mapping.values() if v not in targets()})
    if unknown:
        raise ProfileError(
            f"Profil « {path} » : colonne(s) inconnue(s) {', '.join(unknown)} ; "
            f"choisissez parmi {', '.join(t for t in targets() if t)}."
        )
    return ImportSpec(
        mapping=mapping,
        constants={str(k): str(v) for k, v in document.get("constantes", {}).items()},
        recodings={
            str(c): {str(k): str(v) for k, v in table.items()} for c, table in document.get("recodages", {}).items()
        },
        keep=[str(h) for h in document.get("garder", [])],
    )


def dump_profile(spec: ImportSpec) -> str:
    """The TOML text of ``spec`` (only the columns that are imported)."""
    lines = [
        "# Colonnes du fichier non importées mais gardées dans la description de la fiche",
        f"garder = [{', '.join(_q(h) for h in spec.keep)}]",
        "",
        "# Profil d'import Réseaux : colonne du fichier = colonne de l'annuaire",
        "[colonnes]",
    ]
    lines += [f"{_q(k)} = {_q(v)}" for k, v in spec.mapping.items() if v]
    lines += ["", "# Valeur donnée à chaque ligne du fichier", "[constantes]"]
    lines += [f"{_q(k)} = {_q(v)}" for k, v in spec.constants.items()]
    for column, table in spec.recodings.items():
        lines += ["", f"[recodages.{_q(column)}]"]
        lines += [f"{_q(k)} = {_q(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def save_profile(spec: ImportSpec, path: Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_atomic(Path(path), dump_profile(spec).encode("utf-8"))


def _q(text: str) -> str:
    return json.dumps(str(text), ensure_ascii=False)  # a JSON string is a TOML basic string


class ProfileStore:
    """The profiles saved from the page: the files ``NAME.toml`` of ``folder``, or the documents
    « profils » of the database when ``RESEAUX_DATABASE_URL`` is set."""

    def __init__(self, folder: Path) -> None:
        self.documents = documents.folder("profils", Path(folder), ".toml")

    def names(self) -> list[str]:
        """The saved profiles' names, in alphabetical order."""
        try:
            return self.documents.names()
        except documents.DocumentUnavailable as exc:
            raise ProfileError(f"Profils d'import illisibles : {exc}.") from exc

    def load(self, name: str) -> ImportSpec:
        """The profile ``name``. Raises :class:`ProfileError` (French) when it is missing or unreadable."""
        try:
            data = self.documents.document(name).read() if _NAME.match(name) else None
        except OSError as exc:
            raise ProfileError(f"Profil d'import « {name} » illisible : {exc}.") from exc
        if data is None:
            raise ProfileError(f"Profil d'import « {name} » introuvable : il a peut-être été supprimé entre-temps.")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProfileError(f"Profil d'import « {name} » illisible : ce n'est pas du texte UTF-8.") from exc
        return parse_profile(text, name)

    def save(self, name: str, spec: ImportSpec) -> None:
        """Save ``spec`` as the profile ``name`` (replacing one of that name). Raises
        :class:`ProfileError` for a name that cannot be a file's in the folder."""
        if not _NAME.match(name):
            raise ProfileError(
                f"Nom de profil « {name} » refusé : de 1 à 100 caractères, sans / ni \\ ni point au début."
            )
        self.documents.document(name).write(dump_profile(spec).encode("utf-8"))
