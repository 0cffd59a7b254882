"""Adding a perimeter layer from a file anyone may have: one function for the command line
(``python -m reseaux layers add``) and the coordinators' form (« Sources et crédits »).

The file is checked (fields, selection), repaired (invalid polygons keep their polygonal parts),
written under the layer's id, and declared at the end of the registry — both writes atomic, the
registry last, so a failure leaves the registry as it was; all of it under the registry's lock, so
that two additions at once both end up declared. Both go through the layers' store
(:mod:`reseaux.territoire.layer_store`): the geo folder and its ``layers.toml`` (lock
``layers.toml.lock``) on the files, the database on PostgreSQL, for every server to draw them.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import pandas as pd

from reseaux.annuaire.exports import LockTimeout, why_not_written
from reseaux.stockage import StorageUnavailable
from reseaux.territoire.layer_files import check_archive, check_size, unreadable
from reseaux.territoire.layer_store import LayerStore, layer_store
from reseaux.territoire.layers import (
    DEFAULT_GROUP,
    NOT_GIVEN,
    LayerError,
    LayerSpec,
    RegistryError,
    apply_where,
    check_fields,
    load_layer,
    parse_registry,
    read_communes,
    readable,
)
from reseaux.territoire.shapes import polygonal

LOG = logging.getLogger("reseaux")

#: What the form and the command accept (TopoJSON, as ANCT publishes its maps, and KML or KMZ, as
#: Google My Maps and Google Earth export the perimeters a network draws, through GDAL's drivers).
GEO_SUFFIXES = (".geojson", ".json", ".topojson", ".gpkg", ".zip", ".shp", ".kml", ".kmz")
TABLE_SUFFIXES = (".csv",)
_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
#: How a commune-list layer keys its perimeters: the file's code alone, or the département of each
#: commune and the code (the cantons of two départements share numbers).
KEYS = {"code": "le code seul", "departement": "le département et le code"}
#: Columns written into a layer keyed by département and code.
DEP_CODE, DEP_NAME = "perimetre_departement_code", "perimetre_departement_nom"


@dataclass
class AddedLayer:
    spec: LayerSpec
    perimeters: int
    repaired: int
    dropped: int
    #: Of those dropped, the points and lines (a marker of My Maps beside the sectors): never surfaces.
    not_surfaces: int = 0

    def sentence(self) -> str:
        from reseaux.text import plural

        text = f"Couche « {self.spec.label} » ajoutée : {plural(self.perimeters, 'périmètre')}"
        if self.repaired:
            text += f", {plural(self.repaired, 'polygone réparé', 'polygones réparés')}"
        if self.dropped:
            text += f", {plural(self.dropped, 'écarté', 'écartés')} ({self._why_dropped()})"
        return text + "."

    def _why_dropped(self) -> str:
        from reseaux.text import plural

        emptied = self.dropped - self.not_surfaces
        if not emptied:
            return "point ou ligne, pas une surface" if self.not_surfaces == 1 else "points ou lignes, pas des surfaces"
        if not self.not_surfaces:
            return "aucune surface une fois réparé" if emptied == 1 else "aucune surface une fois réparés"
        return (
            f"{plural(self.not_surfaces, 'point ou ligne', 'points ou lignes')}, "
            f"pas {'une surface' if self.not_surfaces == 1 else 'des surfaces'} ; "
            f"{plural(emptied, 'polygone', 'polygones')} sans surface une fois réparé{'s' if emptied > 1 else ''}"
        )


@dataclass(frozen=True)
class RepeatedCodes:
    """Perimeter codes of a commune list whose communes lie in several départements."""

    codes: list[str]
    #: Perimeters the file gives keyed by its code alone, and by département and code.
    by_code: int
    by_departement: int

    def sentence(self) -> str:
        from reseaux.text import plural

        shown = ", ".join(f"« {c} »" for c in self.codes[:5]) + (", …" if len(self.codes) > 5 else "")
        return (
            f"{plural(len(self.codes), 'code de périmètre regroupe', 'codes de périmètre regroupent')} des "
            f"communes de plusieurs départements ({shown}) : par le code seul, "
            f"{plural(self.by_code, 'périmètre')} (les communes de même code fusionnées) ; par le département "
            f"et le code, {plural(self.by_departement, 'périmètre')}. Choisissez la clé des périmètres : "
            "le département et le code (des cantons, des secteurs numérotés dans chaque département), ou le "
            "code seul (un périmètre qui déborde vraiment d'un département)"
        )


class RepeatedCodesError(LayerError):
    """A commune list whose codes repeat across départements, added without choosing its key."""

    def __init__(self, repeated: RepeatedCodes) -> None:
        super().__init__(repeated.sentence())
        self.repeated = repeated


def departement_of(insee: str) -> str:
    """The département of an INSEE commune code: three characters overseas (971…976), else two
    (« 2A » for Corse-du-Sud)."""
    insee = str(insee).strip()
    return insee[:3] if insee.startswith("97") else insee[:2]


def repeated_codes(table: pd.DataFrame, code_field: str, name_field: str, commune_field: str) -> RepeatedCodes | None:
    """The codes of ``table`` (one row per perimeter and commune) whose communes lie in several
    départements, with the perimeters each key gives (grouped as the loader groups them: by code and
    name); None when no code repeats."""
    deps = table[commune_field].map(departement_of)
    per_code = deps.groupby([table[code_field], table[name_field]]).nunique()
    repeated = per_code[per_code > 1]
    if repeated.empty:
        return None
    codes = list(dict.fromkeys(str(code) for code, _ in repeated.index))
    by_departement = len(pd.DataFrame({"d": deps, "c": table[code_field], "n": table[name_field]}).drop_duplicates())
    return RepeatedCodes(codes, len(per_code), by_departement)


def file_layers(path: Path) -> list[tuple[str, int]]:
    """The layers of a vector file (a GeoPackage may hold several, a TopoJSON one per object), each
    with its number of features; ``[]`` for a table. Raises :class:`LayerError` (French) for a file
    GDAL cannot read."""
    if path.suffix.lower() in TABLE_SUFFIXES:
        return []
    import pyogrio

    check_archive(path)
    try:
        names = [str(row[0]) for row in pyogrio.list_layers(readable(path))]
        return [(name, int(pyogrio.read_info(readable(path), layer=name).get("features", -1))) for name in names]
    except Exception as exc:  # whatever the GDAL driver says, said in French
        raise unreadable(path.name, exc) from exc


def layers_text(layers: list[tuple[str, int]]) -> str:
    """« « qpv » (37 périmètres), « communes » (12 périmètres) »."""
    from reseaux.text import plural

    return ", ".join(f"« {name} » ({plural(count, 'périmètre')})" for name, count in layers)


def fields_of(path: Path, file_layer: str = "") -> list[str]:
    """The fields of a perimeter file (to offer them in the form), of its layer ``file_layer`` when it
    holds several. Raises :class:`LayerError` (French) for a file too big to read, that GDAL cannot
    read, or holding several layers when none (or an unknown one) is chosen."""
    if path.suffix.lower() in TABLE_SUFFIXES:
        return list(_read_table(path).columns)
    import pyogrio

    layer = _chosen_layer(path, file_layer)
    try:
        info = pyogrio.read_info(readable(path), layer=layer)
    except Exception as exc:  # whatever the GDAL driver says, said in French
        raise unreadable(path.name, exc) from exc
    check_size(path, int(info.get("features", -1)))
    return [str(f) for f in info["fields"]]


def suggested_id(file_name: str) -> str:
    """The identifier the form first offers for a file's layer: its name's letters and digits,
    accents off, words joined by « _ » (« Secteurs du réseau.kmz » → ``secteurs_du_reseau``; the
    form offered ``secteurs_du_réseau`` and then refused it), beginning with a letter."""
    from reseaux.text import fold

    words = re.sub(r"[^a-z0-9]+", "_", fold(Path(file_name).stem)).strip("_")
    words = words if words[:1].isalpha() else f"couche_{words}".rstrip("_")
    return words[:40].rstrip("_")


#: Words a field's name holds when it names each perimeter (folded, as a file's own headers are).
_NAME_WORDS = ("nom", "name", "lib", "intitule", "appellation")


def suggested_fields(path: Path, fields: list[str], file_layer: str = "") -> tuple[str, str]:
    """The fields the form first offers for the code and the name of each perimeter: the code, the
    first field that gives each perimeter a value of its own (a KML of Google My Maps has an empty
    « id » first: its « Name » is the code); the name, the first field named like a name (« nom »,
    « Name », « lib_… ») that gives values, else the code's. Guesses only: the person chooses."""
    from reseaux.text import fold

    if not fields:
        return "", ""
    if path.suffix.lower() in TABLE_SUFFIXES:
        return fields[0], fields[min(1, len(fields) - 1)]
    import pyogrio

    try:
        table = pyogrio.read_dataframe(readable(path), layer=_chosen_layer(path, file_layer), read_geometry=False)
    except Exception:  # noqa: BLE001 — a guess: the form then offers the file's order
        return fields[0], fields[min(1, len(fields) - 1)]
    values = {f: table[f].astype("string").fillna("").str.strip() for f in fields if f in table}
    filled = [f for f, v in values.items() if len(v) and (v != "").all()]
    code = next((f for f in filled if values[f].is_unique), filled[0] if filled else fields[0])
    named = [f for f in fields if any(w in fold(f) for w in _NAME_WORDS) and f in values and (values[f] != "").any()]
    return code, named[0] if named else code


def _chosen_layer(path: Path, file_layer: str) -> str | None:
    """The layer of ``path`` to read: ``file_layer``, or the only one. A file of several layers
    read without a choice gave its first layer, silently."""
    layers = file_layers(path)
    names = [name for name, _ in layers]
    if file_layer:
        if file_layer not in names:
            raise LayerError(f"{path.name} n'a pas de couche « {file_layer} » ; ses couches : {layers_text(layers)}")
        return file_layer
    if len(layers) > 1:
        raise LayerError(
            f"{path.name} contient {len(layers)} couches : {layers_text(layers)} ; choisissez celle "
            "à ajouter (formulaire : « Couche du fichier » ; commande : --couche-fichier NOM)"
        )
    return names[0] if names else None


@contextmanager
def upload_on_disk(name: str, data: bytes) -> Iterator[Path]:
    """``data`` as a file named ``name`` (its folder part dropped) in a private temporary folder,
    for the ``with`` block only: the readers want a path, and a copy kept for the session stayed
    on the server after it (one folder per upload, never removed)."""
    with tempfile.TemporaryDirectory(prefix="reseaux-couche-") as folder:
        path = Path(folder) / (Path(name).name or "couche")
        path.write_bytes(data)
        yield path


def add_layer(
    path: Path,
    *,
    layer_id: str,
    code_field: str,
    name_field: str,
    registry: Path,
    geo_dir: Path,
    label: str = "",
    group: str = "",
    where: dict | None = None,
    color: str = "",
    source: str = "",
    licence: str = "",
    vintage: str = "",
    commune_field: str = "",
    file_layer: str = "",
    key: str = "",
    zone_intervention: bool = False,
) -> AddedLayer:
    """Add the perimeters of ``path`` as layer ``layer_id``; raise :class:`LayerError` (French).

    ``file_layer`` names the layer to read in a file that holds several (GeoPackage, TopoJSON).
    ``key`` (a commune list only) is how its perimeters are keyed (:data:`KEYS`): left empty, a list
    whose codes repeat across départements raises :class:`RepeatedCodesError`, which says how many
    perimeters each key gives. ``zone_intervention``: its codes may be named in an outreach
    action's zone (see :class:`~reseaux.territoire.layers.LayerSpec`)."""
    where = where or {}
    suffix = path.suffix.lower()
    if suffix not in GEO_SUFFIXES + TABLE_SUFFIXES:
        raise LayerError(
            f"format {suffix or 'sans extension'} non pris en charge : GeoJSON, TopoJSON, GeoPackage, "
            "shapefile zippé (.zip), KML ou KMZ (Google My Maps, Google Earth) ou CSV de codes de communes"
        )
    if key and key not in KEYS:
        raise LayerError(f"clé « {key} » inconnue : {' ou '.join(KEYS)}")
    if not _ID.match(layer_id):
        raise LayerError(
            f"identifiant « {layer_id} » invalide : lettres minuscules, chiffres et _ "
            "(ex. qpv_occitanie), en commençant par une lettre"
        )
    common = {
        "id": layer_id,
        "label": label or layer_id,
        "group": group or DEFAULT_GROUP,
        "color": color,
        "source": source or NOT_GIVEN,
        "licence": licence or NOT_GIVEN,
        "vintage": vintage or NOT_GIVEN,
        "id_field": code_field,
        "name_field": name_field,
        "zone_intervention": bool(zone_intervention),
    }
    store = layer_store(registry, geo_dir)
    # Under the registry's lock from the id check to the declaration: two additions at once each
    # wrote back the registry they had read, and the second lost the first one's layer.
    with _registry_locked(store):
        old, entries = _read_registry(store)
        if layer_id in {str(e.get("id")) for e in entries}:
            raise LayerError(f"identifiant « {layer_id} » déjà utilisé dans {store.name} : choisissez-en un autre")
        if layer_id in _deployed_ids(store):
            raise LayerError(
                f"identifiant « {layer_id} » déjà utilisé dans {store.deployed.name} : choisissez-en un autre"
            )
        spec, name, data, repaired, dropped, not_surfaces = _layer_file(
            path, common, where, commune_field, file_layer, key
        )
        target = _write(store, name, data)
        try:
            loaded = load_layer(spec, target.parent, read_communes(store.geo_dir))
            if loaded.empty:
                raise LayerError(
                    "aucune commune de ce fichier n'est connue du référentiel national : vérifiez la "
                    "colonne des codes INSEE (5 caractères, zéro initial compris)"
                )
            _declare(store, old, entries, spec)
        except LayerError:
            _remove(store, name)
            raise
    return AddedLayer(spec, len(loaded), repaired, dropped, not_surfaces)


def bring_home(url: str, registry: Path, geo_dir: Path) -> int:
    """The layers added in the database at ``url`` declared at the end of the registry file
    ``registry``, their files written into ``geo_dir`` (``python -m reseaux migrer --vers
    fichiers``): those whose id the file does not declare yet, each checked as an addition is.
    Returns how many the registry file declares, read back. Raises :class:`LayerError`."""
    import tomllib

    from reseaux.territoire.layer_store import added_in_database, files_store

    added_registry, database = added_in_database(url)
    added = added_registry.read()
    if added is None:
        return 0
    entries = tomllib.loads(added.decode("utf-8")).get("layer", [])
    store = files_store(registry, geo_dir)
    with _registry_locked(store):
        old, before = _read_registry(store)
        for entry in entries:
            if entry.get("id") in {e.get("id") for e in before}:
                continue
            spec = LayerSpec(**entry)
            data = database.document(spec.file).read()
            if data is None:
                raise LayerError(f"le fichier {spec.file} de la couche « {spec.label} » manque dans la base")
            _write(store, spec.file, data)
            _declare(store, old, before, spec)
            old, before = _read_registry(store)
    declared = {e.get("id") for e in before}
    return sum(entry.get("id") in declared for entry in entries)


def _deployed_ids(store: LayerStore) -> set[str]:
    try:
        return store.taken_ids()
    except RegistryError as exc:
        raise LayerError(f"{exc} : corrigez-le avant d'ajouter une couche") from exc


def _layer_file(
    path: Path, common: dict, where: dict, commune_field: str, file_layer: str = "", key: str = ""
) -> tuple[LayerSpec, str, bytes, int, int]:
    """Check ``path`` and keep its selected perimeters; return the layer's spec, its file's name
    and content (under the layer's id), the polygons repaired, the shapes dropped and, of those, the
    points and lines."""
    code_field, name_field = common["id_field"], common["name_field"]
    if path.suffix.lower() in TABLE_SUFFIXES:
        if not commune_field:
            raise LayerError(
                "un CSV de périmètres donne une ligne par (périmètre, commune) : "
                "indiquez la colonne du code INSEE de la commune"
            )
        table = _read_table(path)
        check_fields(table.columns, {"code": code_field, "nom": name_field, "commune": commune_field}, path.name)
        table = apply_where(table, where, path.name)
        repeated = repeated_codes(table, code_field, name_field, commune_field)
        if repeated and not key:
            raise RepeatedCodesError(repeated)
        if repeated and key == "departement":
            deps = table[commune_field].map(departement_of)
            table = table.assign(
                **{DEP_CODE: deps + "-" + table[code_field], DEP_NAME: table[name_field] + " (" + deps + ")"}
            )
            common = {**common, "id_field": DEP_CODE, "name_field": DEP_NAME}
        name, data = f"{common['id']}.csv", table.to_csv(index=False).encode("utf-8")
        spec = LayerSpec(kind="table", file=name, level="commune", code_field=commune_field, **common)
        repaired = dropped = not_surfaces = 0
    else:
        layer = _chosen_layer(path, file_layer)
        fields_of(path, layer or "")  # bounded (archive, number of perimeters) before the whole file is read
        try:
            frame = gpd.read_file(readable(path), layer=layer)
        except Exception as exc:  # whatever the GDAL driver says, said in French
            raise unreadable(path.name, exc) from exc
        check_fields(frame.columns, {"code": code_field, "nom": name_field}, path.name)
        frame = apply_where(frame, where, path.name)
        frame = frame.to_crs("EPSG:4326") if frame.crs else frame.set_crs("EPSG:4326")
        invalid = ~frame.geometry.is_valid
        lines_or_points = frame.geometry.isna() | frame.geometry.geom_type.isin(
            ["Point", "MultiPoint", "LineString", "MultiLineString", "LinearRing"]
        )
        frame["geometry"] = polygonal(frame.geometry)
        empty = frame.geometry.is_empty | frame.geometry.isna()
        repaired, dropped = int((invalid & ~empty).sum()), int(empty.sum())
        not_surfaces = int((empty & lines_or_points).sum())
        frame = frame[~empty]
        if frame.empty:
            raise LayerError(f"{path.name} ne contient aucun polygone utilisable")
        keep = list(dict.fromkeys([code_field, name_field, *where]))
        out = gpd.GeoDataFrame(
            {c: frame[c].astype(str).str.removesuffix(".0") for c in keep}, geometry=frame.geometry, crs="EPSG:4326"
        )
        name, data = f"{common['id']}.geojson", out.to_json(drop_id=True, ensure_ascii=False).encode("utf-8")
        spec = LayerSpec(kind="file", file=name, **common)
    if where:
        spec = LayerSpec(**{**spec.__dict__, "where": where})
    return spec, name, data, repaired, dropped, not_surfaces


def toml_entry(spec: LayerSpec) -> dict:
    """The registry entry of ``spec``: what differs from the defaults, plus the attribution."""
    defaults = LayerSpec(id="", label="", kind="", file="")
    return {
        key: value
        for key, value in spec.__dict__.items()
        if key in ("id", "label", "kind", "file", "source", "licence", "vintage", "group")
        or value != getattr(defaults, key)
    }


def registry_text(old: str, spec: LayerSpec) -> str:
    """The registry text ``old`` with ``spec`` declared at the end of its ``[[layer]]`` array, written
    by tomlkit: any key or value is quoted and escaped as TOML wants (a field « région », a label
    holding quotes or a newline), and the comments and layout of ``old`` are kept."""
    import tomlkit
    from tomlkit.items import AoT

    document = tomlkit.parse(old)
    table = tomlkit.table()
    for key, value in toml_entry(spec).items():
        table.add(key, _inline(value) if isinstance(value, dict) else value)
    if old.strip():
        table.trivia.indent = "\n"  # a blank line between two layers
    if "layer" not in document:
        document.append("layer", tomlkit.aot())
    if not isinstance(document["layer"], AoT):
        raise LayerError("« layer » n'y est pas une suite de blocs [[layer]]")
    document["layer"].append(table)
    return tomlkit.dumps(document)


def _declare(store: LayerStore, old: str, before: list[dict], spec: LayerSpec) -> None:
    """Append ``spec`` to the store's registry (whose text is ``old``, its entries ``before``) if,
    read back, the new text gives every layer it gave before plus exactly ``spec``; otherwise raise
    :class:`LayerError` and leave the registry as it was: a registry that cannot be read takes
    every page down, for visitors too."""
    import tomllib

    name = store.name
    try:
        new = registry_text(old, spec)
        after = tomllib.loads(new).get("layer", [])
        specs, broken = parse_registry(new, store.folder, name)
    except (LayerError, RegistryError, tomllib.TOMLDecodeError, ValueError, TypeError) as exc:
        LOG.error(
            "Registre des couches, %s : la couche %s ne s'y écrit pas : %r", store.registry.describe(), spec.id, exc
        )
        raise LayerError(
            f"{name} n'a pas pu être complété sans risque ({exc}) : il est inchangé ; "
            "corrigez-le ou déclarez la couche à la main"
        ) from exc
    declared = next((s for s in specs if s.id == spec.id), None)
    if declared is None and broken and broken[-1][0] == spec.label:
        raise LayerError(f"{broken[-1][1]} : {name} est inchangé")
    if after != [*before, toml_entry(spec)] or declared is None or replace(declared, color=spec.color) != spec:
        LOG.error(
            "Registre des couches, %s : relu, la couche %s n'est pas celle écrite", store.registry.describe(), spec.id
        )
        raise LayerError(
            f"{name}, relu, ne redonne pas la couche « {spec.label} » : il est inchangé ; déclarez la couche à la main"
        )
    try:
        store.registry.write(new.encode("utf-8"))
    except OSError as exc:  # a full disk, a database gone (StorageUnavailable)
        raise _not_written(store, name, exc) from exc


def _write(store: LayerStore, name: str, data: bytes) -> Path:
    """Write a layer's file through ``store``; the path it is read from. A failure said in
    French by the file's name (the path goes to the log)."""
    try:
        return store.write_file(name, data)
    except OSError as exc:
        raise _not_written(store, name, exc) from exc


def _remove(store: LayerStore, name: str) -> None:
    """Take back the file of a layer that was not declared (a failure there is logged: the layer
    is not declared, its file is only unused)."""
    try:
        store.remove_file(name)
    except OSError as exc:
        LOG.error("Couche : fichier %s non déclaré laissé : %s", name, exc)


def _not_written(store: LayerStore, name: str, exc: OSError) -> LayerError:
    if isinstance(exc, StorageUnavailable):
        return LayerError(f"{name} n'a pas pu être écrit : {exc} ; rien n'a été ajouté")
    LOG.error("Couche : écriture de %s impossible : %s", name, exc)
    return LayerError(
        f"{name} ne peut pas être écrit dans le dossier des couches "
        f"({why_not_written(exc)}) : l'administration du serveur doit le permettre"
    )


def _inline(values: dict):
    import tomlkit

    table = tomlkit.inline_table()
    table.update(values)
    return table


@contextmanager
def _registry_locked(store: LayerStore) -> Iterator[None]:
    """Hold the registry's lock (``layers.toml.lock`` beside it, or the database's) for the block;
    a lock that cannot be taken is said in French (:class:`LayerError`), nothing written."""
    lock = store.registry.locked()
    try:
        lock.__enter__()
    except LockTimeout as exc:
        raise LayerError("une autre couche est en cours d'ajout : réessayez dans un instant") from exc
    except StorageUnavailable as exc:
        raise LayerError(f"{exc} : aucune couche ne peut être ajoutée pour l'instant") from exc
    except OSError as exc:
        LOG.error("Couche : verrou du registre %s impossible : %s", store.registry.describe(), exc)
        raise LayerError(
            f"{store.name} ne peut pas être verrouillé dans le dossier des couches "
            f"({why_not_written(exc)}) : l'administration du serveur doit le permettre"
        ) from exc
    try:
        yield
    finally:
        lock.__exit__(None, None, None)


def _read_registry(store: LayerStore) -> tuple[str, list[dict]]:
    """The text of the registry additions go to (``""`` when there is none yet) and its
    ``[[layer]]`` entries, read once. Raises :class:`LayerError` (French, the registry named by its
    name) when it cannot be read."""
    import tomllib

    try:
        old = store.added_text()
        parse_registry(old, store.folder, store.name)  # its entries each a [[layer]] block
    except StorageUnavailable as exc:
        raise LayerError(f"{exc} : aucune couche ne peut être ajoutée pour l'instant") from exc
    except (OSError, UnicodeDecodeError) as exc:
        LOG.error("Registre des couches illisible : %s : %s", store.registry.describe(), exc)
        raise LayerError(
            f"Registre des couches {store.name} illisible : corrigez-le avant d'ajouter une couche"
        ) from exc
    except RegistryError as exc:
        raise LayerError(f"{exc} : corrigez-le avant d'ajouter une couche") from exc
    return old, tomllib.loads(old).get("layer", [])


def _read_table(path: Path) -> pd.DataFrame:
    from reseaux.importation.reading import read_upload

    rows = read_upload(path.name, path.read_bytes())
    return pd.DataFrame(rows[1:], columns=rows[0]).astype(str)
