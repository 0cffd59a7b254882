"""Where the perimeter layers are declared and kept, on the files or in PostgreSQL.

On the files (the embedded default) the store is the registry the territory names
(``geo/layers.toml``) and the geo folder beside it: a layer added from a file is declared at the
end of that registry and its file written into the folder, as a coordinator would by hand.

On PostgreSQL (``RESEAUX_DATABASE_URL``) every server has its own copy of the geo folder, deployed
with the territory; what a coordinator adds through one server must be drawn by all of them. The
registry deployed with the territory is still read, and the layers added since are kept in the
database, in ``reseaux.documents`` (:mod:`reseaux.stockage.documents`): their registry — the same
TOML, ``[[layer]]`` blocks — as the document « registre_couches », and each layer's file as a
document of the collection « couches ». The files are copied into a local folder
(``data/.cache/couches-…``) when the registry's version changes, for GDAL reads files. A later
deployment that brings a layer of the same id wins, and the added one is said set aside.

:func:`layer_store` chooses by the settings; :meth:`LayerStore.load` reads every layer (the
territory's loading), :func:`reseaux.territoire.add_layer.add_layer` writes through
:attr:`LayerStore.registry` and :attr:`LayerStore.files` alone. ``python -m reseaux migrer``
brings the layers added in the database back into the registry file (:func:`bring_home`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd

from reseaux import config
from reseaux.annuaire.exports import write_atomic
from reseaux.stockage import StorageUnavailable, database_url
from reseaux.stockage.documents import FileDocument, FileFolder, PostgresDocument, PostgresFolder
from reseaux.territoire.layers import LayerSpec, load_layers_safely, parse_registry, read_registry

#: The database's registry of added layers, and the collection of their files.
REGISTRY_COLLECTION, FILES_COLLECTION = "registre_couches", "couches"
#: How the database's registry is named in messages (the file's is its name).
DATABASE_REGISTRY = "« couches ajoutées » de la base"


@dataclass(frozen=True)
class LayerStore:
    #: The registry file the territory names, and the folder of its files (deployed with it).
    deployed: Path
    geo_dir: Path
    #: Where an added layer is declared, and where its file is written.
    registry: FileDocument | PostgresDocument
    files: FileFolder | PostgresFolder
    #: Where the files of the added layers are read from: the geo folder, or the local copy of the database's.
    folder: Path

    @property
    def shared(self) -> bool:
        """Whether the added layers are kept apart from the deployed registry (in the database)."""
        return isinstance(self.registry, PostgresDocument)

    @property
    def name(self) -> str:
        """The registry the additions go to, as a message names it (never a server path)."""
        return DATABASE_REGISTRY if self.shared else self.deployed.name

    def stamp(self):
        """A value that changes with every addition in the database (None on the files, whose
        stamps are the files' own)."""
        return self.registry.stamp() if self.shared else None

    def added_text(self) -> str:
        """The text of the registry the additions go to (``""`` when there is none yet)."""
        data = self.registry.read()
        return "" if data is None else data.decode("utf-8")

    def taken_ids(self) -> set[str]:
        """The ids the deployed registry declares (on PostgreSQL, an added layer cannot take one)."""
        if not self.shared or not self.deployed.exists():
            return set()
        specs, _ = read_registry(self.deployed)
        return {s.id for s in specs}

    def write_file(self, name: str, data: bytes) -> Path:
        """Write a layer's file through the store; the path it is read from here."""
        self.files.document(name).write(data)
        if self.shared:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomic(self.folder / name, data)
        return self.folder / name

    def remove_file(self, name: str) -> None:
        self.files.document(name).delete()
        if self.shared:
            (self.folder / name).unlink(missing_ok=True)

    def read(self) -> tuple[list[LayerSpec], list[LayerSpec], list[tuple[str, str]]]:
        """The deployed layers, the added ones (on PostgreSQL; their files copied here), and
        ``(layer, reason)`` for each entry set aside. Raises
        :class:`~reseaux.territoire.layers.RegistryError` for a registry that cannot be read."""
        deployed, broken = read_registry(self.deployed)
        if not self.shared:
            return deployed, [], broken
        try:
            text = self.added_text()
            if text:
                self._copy_files()
        except StorageUnavailable as exc:  # the deployed layers are drawn; the page says the rest
            return deployed, [], [*broken, ("Couches ajoutées", f"{exc} : elles reviendront avec elle")]
        if not text:
            return deployed, [], broken
        added, unusable = parse_registry(text, self.folder, DATABASE_REGISTRY)
        taken = {s.id for s in deployed}
        for spec in [s for s in added if s.id in taken]:
            unusable.append((spec.label, f"identifiant « {spec.id} » déjà déclaré par {self.deployed.name}"))
        return deployed, [s for s in added if s.id not in taken], broken + unusable

    def load(self) -> tuple[list[LayerSpec], dict[str, gpd.GeoDataFrame], list[tuple[str, str]]]:
        """Every usable layer, in the registry's order (the added ones after the deployed ones),
        loaded; and ``(layer, reason)`` for each one left out."""
        deployed, added, broken = self.read()
        layers, unusable = load_layers_safely(deployed, self.geo_dir)
        if added:
            more, unusable_added = load_layers_safely(added, self.folder, communes_dir=self.geo_dir)
            layers.update(more)
            unusable += unusable_added
        specs = [s for s in deployed + added if s.id in layers]
        return specs, layers, broken + unusable

    def _copy_files(self) -> None:
        """The database's layer files into the local folder, those that differ only."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for name in self.files.names():
            data = self.files.document(name).read()
            target = self.folder / Path(name).name
            if data is not None and (not target.exists() or target.read_bytes() != data):
                write_atomic(target, data)


def added_in_database(url: str) -> tuple[PostgresDocument, PostgresFolder]:
    """The registry and the files of the layers added through the servers of the database at
    ``url``: the one place that names them (the store, the migration home, the backup)."""
    return PostgresDocument(url, REGISTRY_COLLECTION), PostgresFolder(url, FILES_COLLECTION)


def files_store(registry: Path, geo_dir: Path) -> LayerStore:
    """The layers' store on the files: the registry file and the geo folder."""
    return LayerStore(registry, geo_dir, FileDocument(registry), FileFolder(geo_dir, ""), geo_dir)


def layer_store(registry: Path, geo_dir: Path) -> LayerStore:
    """The layers' store as the settings make it (see the module's doc)."""
    url = database_url()
    if url:
        key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
        folder = config.path("geocache").parent / f"couches-{key}"
        return LayerStore(registry, geo_dir, *added_in_database(url), folder)
    return files_store(registry, geo_dir)


def added_stamp():
    """The version of the database's registry of added layers (None on the files): one query, so
    that a layer added through another server is drawn at the next click."""
    url = database_url()
    return added_in_database(url)[0].stamp() if url else None
