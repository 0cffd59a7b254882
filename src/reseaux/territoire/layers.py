"""The registry of perimeter layers (``geo/layers.toml``) and their loading.

Each layer is declared once; every loaded layer is a GeoDataFrame in WGS84 with the same
columns — ``code``, ``nom``, ``population`` (NaN when unknown) and ``geometry`` — so the map,
the filters and the coverage analysis handle any layer alike.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import pandas as pd

from reseaux.markup import is_color
from reseaux.territoire.layer_files import LayerError, unreadable
from reseaux.territoire.shapes import polygonal

STANDARD_COLUMNS = ["code", "nom", "population", "geometry"]
COMMUNES_FILE = "communes_normandie.geojson"
_KINDS = ("file", "table")
LOG = logging.getLogger("reseaux")


class RegistryError(Exception):
    """The layer registry is wrong; the message lists every problem at once, in French."""


#: Shown for what the person who declared a layer did not say.
NOT_GIVEN = "non renseigné"
DEFAULT_GROUP = "Périmètres ajoutés"
DEFAULT_FILL_OPACITY = 0.04
#: Colour-blind-safe colours (Okabe–Ito, then Tol's muted) given in turn to layers declared
#: without one.
PALETTE = (
    "#CC79A7",
    "#56B4E9",
    "#E69F00",
    "#009E73",
    "#0072B2",
    "#D55E00",
    "#882255",
    "#117733",
    "#332288",
    "#AA4499",
    "#44AA99",
    "#999933",
)


@dataclass(frozen=True)
class LayerSpec:
    """One entry of the registry; only ``id``, ``label``, ``kind`` and ``file`` are required."""

    id: str
    label: str
    kind: str
    file: str
    group: str = DEFAULT_GROUP
    color: str = ""
    source: str = NOT_GIVEN
    licence: str = NOT_GIVEN
    vintage: str = NOT_GIVEN
    id_field: str = "perimetre"
    name_field: str = "perimetre"
    visible: bool = False
    example: bool = False
    dash: bool = False
    population_field: str = ""
    where: dict = field(default_factory=dict)
    table_layer: str = ""
    #: For file layers: the layer to read in a file that holds several (GeoPackage, TopoJSON).
    file_layer: str = ""
    level: str = ""
    code_field: str = "code"
    #: For table layers: sum the population of member communes (false when the perimeter is
    #: only a proxy drawn with its commune, e.g. a QPV without an open polygon).
    population_from_communes: bool = True
    #: How Trouver's « Ce point est dans… » sentence names a perimeter of this layer: its kind with
    #: the French article (« le QPV », « l'UTAS », « le secteur »). Empty: the layer's label names
    #: it (« QPV 2015 (Marseille) : La Cabucelle »), and a layer of context (communes, EPCI) is left out.
    article: str = ""
    #: Opacity of the shapes' fill on the map, 0 to 1: faint by default, so the pins stay readable.
    fill_opacity: float = DEFAULT_FILL_OPACITY
    #: Its codes may be named in an outreach action's ``zone_intervention`` (a QPV's « QN07620M »):
    #: Trouver then says which actions pass where the point lies.
    zone_intervention: bool = False

    @property
    def attribution(self) -> str:
        return f"{self.label} : {self.source} — {self.licence} — {self.vintage}"


def read_registry(path: Path) -> tuple[list[LayerSpec], list[tuple[str, str]]]:
    """Read the registry at ``path``: the usable entries, and ``(layer, reason)`` for each
    entry that is not (unknown key, missing key, unknown kind, missing file, duplicate id).

    Raises :class:`RegistryError` only when the file itself cannot be read; its message names the
    file by its name alone (it is shown to visitors), the server log has the whole path."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        LOG.error("Registre des couches illisible : %s : %s", path, exc)
        why = (
            "fichier introuvable"
            if isinstance(exc, FileNotFoundError)
            else "encodage autre que UTF-8"
            if isinstance(exc, UnicodeDecodeError)
            else "droits de lecture manquants ou erreur du disque"
        )
        raise RegistryError(f"Registre des couches {path.name} illisible : {why}") from exc
    return parse_registry(text, path.parent, path.name)


def parse_registry(text: str, folder: Path, name: str = "layers.toml") -> tuple[list[LayerSpec], list[tuple[str, str]]]:
    """:func:`read_registry` of the registry text ``text``, whose layer files are in ``folder``."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        LOG.error("Registre des couches illisible : %s : %s", folder / name, exc)
        raise RegistryError(f"Registre des couches {name} illisible : {exc}") from exc
    entries = raw.get("layer", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise RegistryError(f"Registre des couches {name} mal formé : chaque couche est un bloc [[layer]]")
    known = set(LayerSpec.__dataclass_fields__)
    specs: list[LayerSpec] = []
    broken: list[tuple[str, str]] = []
    used_colors = {e.get("color") for e in entries}
    free_colors = iter([c for c in PALETTE if c not in used_colors] or PALETTE)
    for number, entry in enumerate(entries, start=1):
        name = str(entry.get("label") or entry.get("id") or f"n° {number}")
        unknown = set(entry) - known
        missing = [k for k in ("id", "label", "kind", "file") if not entry.get(k)]
        if unknown:
            broken.append(
                (name, f"clé(s) inconnue(s) {', '.join(sorted(unknown))} (clés possibles : {', '.join(sorted(known))})")
            )
            continue
        if missing:
            broken.append((name, f"clé(s) obligatoire(s) manquante(s) : {', '.join(missing)}"))
            continue
        spec = LayerSpec(**entry)
        if not spec.color:
            spec = replace(spec, color=next(free_colors, PALETTE[0]))
        reasons = []
        if spec.kind not in _KINDS:
            reasons.append(f"kind « {spec.kind} » inconnu (file ou table)")
        if not is_color(spec.color):  # written into style attributes: a colour, nothing else
            reasons.append(f"couleur « {spec.color} » invalide (écrivez-la #RRGGBB, par exemple #CC79A7)")
        if (
            isinstance(spec.fill_opacity, bool)
            or not isinstance(spec.fill_opacity, int | float)
            or not 0 <= spec.fill_opacity <= 1
        ):
            reasons.append(f"fill_opacity « {spec.fill_opacity} » invalide (un nombre de 0 à 1, par exemple 0.12)")
        if not isinstance(spec.article, str):
            reasons.append(f'article « {spec.article} » invalide (un texte, par exemple "la CPTS")')
        if not (folder / spec.file).exists():
            reasons.append(f"fichier {spec.file} introuvable dans le dossier des couches")
        if spec.id in {s.id for s in specs}:
            reasons.append(f"identifiant « {spec.id} » déjà utilisé")
        if reasons:
            broken.append((name, " ; ".join(reasons)))
        else:
            specs.append(spec)
    return specs, broken


def load_registry(path: Path) -> list[LayerSpec]:
    """Read the registry at ``path`` and check it, files included.

    Raises :class:`RegistryError` listing every problem (unknown key, missing file, duplicate
    id, unknown kind) so a coordinator fixes them in one go.
    """
    specs, broken = read_registry(path)
    if broken:
        raise RegistryError(
            "Registre des couches invalide :\n- " + "\n- ".join(f"couche « {name} » : {why}" for name, why in broken)
        )
    return specs


def load_layers(specs: list[LayerSpec], geo_dir: Path) -> dict[str, gpd.GeoDataFrame]:
    """Load every layer of ``specs`` from ``geo_dir``; returns ``{layer id: GeoDataFrame}``.
    Raises :class:`LayerError` at the first layer that cannot be used."""
    communes = read_communes(geo_dir)
    return {spec.id: load_layer(spec, geo_dir, communes) for spec in specs}


def load_layers_safely(
    specs: list[LayerSpec], geo_dir: Path, *, communes_dir: Path | None = None
) -> tuple[dict[str, gpd.GeoDataFrame], list[tuple[str, str]]]:
    """Load what can be loaded: ``({layer id: GeoDataFrame}, [(layer label, reason)])``. A broken
    layer never takes a page down: it is left out and said. The communes a table layer is drawn
    from are those of ``communes_dir`` (default: ``geo_dir``)."""
    communes = read_communes(communes_dir or geo_dir)
    layers, broken = {}, []
    for spec in specs:
        try:
            layers[spec.id] = load_layer(spec, geo_dir, communes)
        except LayerError as exc:
            broken.append((spec.label, str(exc)))
        except Exception as exc:  # noqa: BLE001 — an unreadable file, whatever the library says
            broken.append((spec.label, str(unreadable(spec.file, exc))))
    return layers, broken


def load_layer(spec: LayerSpec, geo_dir: Path, communes: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Load one layer as a GeoDataFrame with :data:`STANDARD_COLUMNS`, in EPSG:4326.
    Raises :class:`LayerError` (French) when a field is missing or a selection keeps nothing."""
    if spec.kind == "file":
        frame = _load_file_layer(spec, geo_dir)
    else:
        frame = _load_table_layer(spec, geo_dir, communes if communes is not None else read_communes(geo_dir))
    # A 1e-6° grid (about 10 cm) keeps every shape and halves the size of the map's payload.
    frame["geometry"] = (
        polygonal(frame.geometry.set_precision(1e-6))
        if len(frame) and not frame.geom_type.isin(["Point", "MultiPoint"]).all()
        else frame.geometry.set_precision(1e-6)
    )
    if spec.where and frame.empty:
        raise LayerError(f"la sélection {_where_text(spec.where)} ne garde aucun périmètre")
    return frame[~frame.geometry.is_empty].reset_index(drop=True)


def check_fields(columns, wanted: dict[str, str], file_name: str) -> None:
    """Raise :class:`LayerError` naming each missing field and listing the available ones."""
    missing = [
        f"champ « {field_name} » ({role}) absent"
        for role, field_name in wanted.items()
        if field_name and field_name not in columns
    ]
    if missing:
        available = ", ".join(str(c) for c in columns if c != "geometry")
        raise LayerError(f"{' ; '.join(missing)} de {file_name} ; champs disponibles : {available}")


# --- private helpers -------------------------------------------------------------------------


def readable(path: Path) -> str:
    """A zipped shapefile is read inside its archive."""
    return f"zip://{path}" if path.suffix.lower() == ".zip" else str(path)


def _with_national(communes: gpd.GeoDataFrame, insee: set[str], siren: set[str]) -> gpd.GeoDataFrame:
    """``communes`` plus, from the national reference data, the communes of ``insee`` and of the
    EPCI ``siren`` it lacks (a table of perimeters of another region)."""
    from reseaux.territoire import france

    lacking_insee = insee - set(communes.get("code_insee", []))
    lacking_siren = siren - set(communes.get("epci_siren", []))
    if not (lacking_insee or lacking_siren) or not france.available():
        return communes
    table = france.communes()
    codes = set(
        table.loc[table["code_insee"].isin(lacking_insee) | table["epci_siren"].isin(lacking_siren), "code_insee"]
    )
    if not codes:
        return communes
    extra = france.outlines_of(codes)
    extra["population"] = pd.to_numeric(extra["population"], errors="coerce").fillna(0)
    return pd.concat([communes, extra[["code_insee", "epci_siren", "population", "geometry"]]], ignore_index=True)


def read_communes(geo_dir: Path) -> gpd.GeoDataFrame:
    """The communes of the geo folder (table layers are drawn from them; the national data fills
    in the communes they lack)."""
    path = geo_dir / COMMUNES_FILE
    if not path.exists():
        return gpd.GeoDataFrame({"code_insee": [], "epci_siren": [], "population": []}, geometry=[], crs="EPSG:4326")
    return gpd.read_file(path).to_crs("EPSG:4326")


def apply_where(frame: pd.DataFrame, where: dict, file_name: str = "") -> pd.DataFrame:
    """Keep the rows whose fields equal ``where``'s values, compared as text: « 09 » stays « 09 »;
    a number (``9`` in TOML) also matches a code written with leading zeros (« 09 », « 009 »)."""
    check_fields(frame.columns, {f"sélection {c}": c for c in where}, file_name)
    for column, value in where.items():
        cells = frame[column].astype(str).str.strip().str.removesuffix(".0")
        if isinstance(value, bool):
            keep = cells.str.lower() == str(value).lower()
        elif isinstance(value, int):
            keep = (cells == str(value)) | (
                cells.str.fullmatch(r"\d+") & (cells.str.lstrip("0") == str(value).lstrip("0"))
            )
        else:
            keep = cells == str(value).strip()
        if not keep.any():
            seen = ", ".join(f"« {v} »" for v in cells.drop_duplicates().head(8))
            raise LayerError(
                f"la sélection {_where_text({column: value})} ne garde aucun périmètre ; valeurs présentes : {seen}"
            )
        frame = frame[keep]
    return frame


def _where_text(where: dict) -> str:
    return " et ".join(f"{k} = {v!r}" for k, v in where.items())


def _file_layer(spec: LayerSpec, path: Path) -> str | None:
    """The layer of ``path`` to read for ``spec``: its ``file_layer``, or the file's only layer. A file
    of several layers declared without one was read by its first layer, silently."""
    import pyogrio

    names = [str(row[0]) for row in pyogrio.list_layers(readable(path))]
    if spec.file_layer:
        if spec.file_layer not in names:
            raise LayerError(
                f"{spec.file} n'a pas de couche « {spec.file_layer} » (file_layer) ; ses couches : {', '.join(names)}"
            )
        return spec.file_layer
    if len(names) > 1:
        raise LayerError(
            f"{spec.file} contient {len(names)} couches ({', '.join(names)}) : écrivez laquelle lire, "
            f'par exemple file_layer = "{names[0]}"'
        )
    return names[0] if names else None


def _load_file_layer(spec: LayerSpec, geo_dir: Path) -> gpd.GeoDataFrame:
    path = geo_dir / spec.file
    frame = gpd.read_file(readable(path), layer=_file_layer(spec, path))
    check_fields(
        frame.columns, {"code": spec.id_field, "nom": spec.name_field, "population": spec.population_field}, spec.file
    )
    frame = apply_where(frame, spec.where, spec.file)
    frame = frame.to_crs("EPSG:4326") if frame.crs else frame.set_crs("EPSG:4326")
    population = (
        pd.to_numeric(frame[spec.population_field], errors="coerce")
        if spec.population_field
        else pd.Series(float("nan"), index=frame.index)
    )
    out = gpd.GeoDataFrame(
        {
            "code": frame[spec.id_field].astype(str).str.removesuffix(".0"),
            "nom": frame[spec.name_field].astype(str),
            "population": population.astype(float),
        },
        geometry=frame.geometry,
        crs="EPSG:4326",
    )
    return out.reset_index(drop=True)


def _load_table_layer(spec: LayerSpec, geo_dir: Path, communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    table = pd.read_csv(geo_dir / spec.file, dtype=str, keep_default_na=False, sep=None, engine="python")
    check_fields(
        table.columns,
        {
            "code": spec.id_field,
            "nom": spec.name_field,
            "commune": spec.code_field,
            "couche": "couche" if spec.table_layer else "",
            "niveau": "niveau" if not spec.level else "",
        },
        spec.file,
    )
    if spec.table_layer:
        table = table[table["couche"] == spec.table_layer]
    table = apply_where(table, spec.where, spec.file)
    level = table["niveau"] if not spec.level else pd.Series(spec.level, index=table.index)
    communes = _with_national(
        communes, set(table.loc[level == "commune", spec.code_field]), set(table.loc[level == "epci", spec.code_field])
    )
    rows = []
    for (code, name), group in table.groupby([spec.id_field, spec.name_field], sort=False):
        insee = set(group.loc[level[group.index] == "commune", spec.code_field])
        siren = set(group.loc[level[group.index] == "epci", spec.code_field])
        members = communes[communes["code_insee"].isin(insee) | communes["epci_siren"].isin(siren)]
        if members.empty:
            continue
        rows.append(
            {
                "code": code,
                "nom": name,
                "population": float(members["population"].sum()) if spec.population_from_communes else float("nan"),
                "geometry": members.geometry.union_all(),
            }
        )
    frame = gpd.GeoDataFrame(rows, columns=STANDARD_COLUMNS, geometry="geometry", crs="EPSG:4326")
    return frame.reset_index(drop=True)
