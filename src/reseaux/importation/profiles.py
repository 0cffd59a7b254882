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
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from reseaux.annuaire.exports import write_atomic
from reseaux.importation.importing import ImportSpec, targets


class ProfileError(ValueError):
    """A profile that cannot be read; the message says why in French."""


def load_profile(path: Path) -> ImportSpec:
    """The :class:`ImportSpec` saved in ``path``. Raises :class:`ProfileError` (French)."""
    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"Profil d'import « {path} » illisible : {exc.strerror}.") from exc
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
