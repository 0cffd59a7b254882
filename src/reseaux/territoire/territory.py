"""The network and its territory, as configuration (``geo/territoire.toml``, setting ``territory``).

One small file names the network (the title shown on every page), its territory — communes,
EPCI, départements or régions, by their official codes — and the registry of its perimeter
layers. The home view, the communes the map draws and the coverage defaults follow from it;
the demo's file describes the Métropole Rouen Normandie::

    titre = "Réseau santé sexuelle — Métropole Rouen Normandie"
    registre = "layers.toml"          # relative to this file; optional
    [territoire]
    nom = "Métropole Rouen Normandie"
    epci = ["200023414"]              # and/or communes, departements, regions

Codes are text: « 09 » and « 2A » keep their form; a number typed without quotes (``9``) is
read with its leading zero (« 09 »), as a département or région code is written.
"""

from __future__ import annotations

import logging
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from reseaux import config
from reseaux.territoire import france

LOG = logging.getLogger("reseaux")

#: Keys of [territoire] and the column of the national commune table each one selects on.
LEVELS = {
    "communes": ("code_insee", 5),
    "epci": ("epci_siren", 9),
    "departements": ("code_dep", 2),
    "regions": ("code_reg", 2),
}


class TerritoryError(Exception):
    """The territory file is wrong; the message says what to write instead, in French."""


@dataclass(frozen=True)
class NetworkTerritory:
    title: str
    name: str
    #: INSEE codes of the territory's communes (empty: the whole of France).
    communes: frozenset[str]
    #: The registry of perimeter layers (None: none declared).
    registry: Path | None
    source: Path

    def bounds(self) -> tuple[float, float, float, float] | None:
        """(min lon, min lat, max lon, max lat) of the territory's communes, from their outlines."""
        if not self.communes:
            return None
        shapes = france.outlines_of(self.communes)
        return tuple(float(v) for v in shapes.total_bounds) if len(shapes) else None


def load(path: Path | None = None) -> NetworkTerritory:
    """Read and resolve the territory file; raise :class:`TerritoryError` with a French message."""
    path = path or config.path("territory")
    # The messages are shown on every page, to visitors too: the file by its name, its path in the log.
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        LOG.error("Fichier du territoire introuvable ou illisible : %s : %s", path, exc)
        why = "introuvable" if isinstance(exc, FileNotFoundError) else "illisible (droits d'accès ?)"
        raise TerritoryError(
            f"Fichier du territoire {path.name} {why} : vérifiez le réglage RESEAUX_TERRITORY."
        ) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        LOG.error("Fichier du territoire illisible : %s : %s", path, exc)
        raise TerritoryError(f"Fichier du territoire {path.name} illisible : {exc}.") from exc
    area = raw.get("territoire", {})
    unknown = set(area) - set(LEVELS) - {"nom"}
    if unknown:
        raise TerritoryError(
            f"{path.name} : clé(s) inconnue(s) dans [territoire] : {', '.join(sorted(unknown))} "
            f"(attendu : nom, {', '.join(LEVELS)})."
        )
    communes = _resolve(area, path)
    registry = raw.get("registre")
    title = os.environ.get(config.SETTINGS["title"].env) or str(raw.get("titre") or "Réseau")
    return NetworkTerritory(
        title=title,
        name=str(area.get("nom") or ""),
        communes=communes,
        registry=(path.parent / registry) if registry else None,
        source=path,
    )


def default_layers(network: NetworkTerritory) -> tuple[list, dict]:
    """The layers drawn for a territory whose file names no registry: its communes, its EPCI
    and its QPV 2024, from the national reference data (specs, ``{id: GeoDataFrame}``)."""
    import geopandas as gpd

    from reseaux.territoire.layers import STANDARD_COLUMNS, LayerSpec

    if not network.communes:
        return [], {}
    table = france.communes()
    members = table[table["code_insee"].isin(network.communes)]
    shapes = france.outlines_of(network.communes).merge(
        members[["code_insee", "epci_nom"]], on="code_insee", how="left"
    )
    communes = gpd.GeoDataFrame(
        {
            "code": shapes["code_insee"],
            "nom": shapes["nom"],
            "population": pd.to_numeric(shapes["population"], errors="coerce"),
        },
        geometry=shapes.geometry,
        crs="EPSG:4326",
    )
    epci = (
        shapes.assign(population=pd.to_numeric(shapes["population"], errors="coerce"))
        .dissolve(by=["epci_siren", "epci_nom"], aggfunc={"population": "sum"})
        .reset_index()
    )
    epci = gpd.GeoDataFrame(
        {"code": epci["epci_siren"], "nom": epci["epci_nom"], "population": epci["population"]},
        geometry=epci.geometry,
        crs="EPSG:4326",
    )
    epci = epci[epci["code"] != ""]
    quartiers = france.qpv()
    touches = quartiers["insee_com"].fillna("").str.split(";").map(lambda codes: bool(set(codes) & network.communes))
    qpv = quartiers[touches].assign(population=float("nan"))[STANDARD_COLUMNS]
    common = {"kind": "reference", "file": "", "licence": "Licence Ouverte / Etalab 2.0"}
    specs = [
        LayerSpec(
            id="qpv",
            label="QPV 2024",
            group="Politique de la ville",
            color="#D55E00",
            visible=True,
            source="ANCT, contours des QPV 2024",
            vintage="2024",
            **common,
        ),
        LayerSpec(
            id="communes",
            label="Communes",
            group="Territoire",
            color="#555555",
            visible=True,
            source="IGN ADMIN EXPRESS, INSEE COG (référentiel national)",
            vintage="COG 2026",
            **common,
        ),
        LayerSpec(
            id="epci",
            label="Intercommunalités (EPCI)",
            group="Territoire",
            color="#0072B2",
            dash=True,
            source="INSEE COG, DGCL (référentiel national)",
            vintage="COG 2026",
            **common,
        ),
    ]
    frames = {
        "qpv": qpv.reset_index(drop=True),
        "communes": communes.reset_index(drop=True),
        "epci": epci.reset_index(drop=True),
    }
    return specs, frames


def _resolve(area: dict, path: Path) -> frozenset[str]:
    wanted = {level: [_code(v, width) for v in _as_list(area.get(level, []))] for level, (_, width) in LEVELS.items()}
    if not any(wanted.values()):
        return frozenset()
    table = france.communes()
    mask = pd.Series(False, index=table.index)
    for level, codes in wanted.items():
        if not codes:
            continue
        column = LEVELS[level][0]
        hits = table[column].isin(codes)
        missing = sorted(set(codes) - set(table.loc[hits, column]))
        if missing:
            raise TerritoryError(
                f"{path.name} : {level} inconnu(s) du référentiel national : {', '.join(missing)} "
                "(codes officiels : INSEE pour une commune, SIREN pour un EPCI)."
            )
        mask |= hits
    return frozenset(table.loc[mask, "code_insee"])


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _code(value, width: int) -> str:
    """A code as text; a number loses no leading zero (9 → « 09 » for a département)."""
    return str(value).zfill(width) if isinstance(value, int) else str(value).strip()
