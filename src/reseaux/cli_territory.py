"""Command line, the territory's commands: ``nearest`` (the actors nearest a point), ``coverage``
(a layer's perimeters and their gaps, as CSV) and ``layers`` (list the layers, add one).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reseaux import config
from reseaux.cli_directory import SETTINGS_DIRECTORY, load_or_say, name_value_pairs, say_reading


def _nearest(args: argparse.Namespace) -> int:
    import csv

    referential = _referential(args.referential)
    if referential is None:
        return 1
    unknown = [t for t in args.theme if t not in referential.codes("thematique")]
    unknown += [p for p in args.profession if p not in referential.codes("profession")]
    if unknown:
        print("code(s) inconnu(s) : " + ", ".join(unknown) + " (voir data/referentiel.csv)", file=sys.stderr)
        return 2
    radius_m = args.radius_km * 1000 if args.radius_km is not None else None
    try:
        if args.actors is None and _in_database():
            found = _nearest_in_database(args, referential, radius_m)
        else:
            found = _nearest_in_memory(args, referential, radius_m)
    except ValueError as exc:  # a position that is not one, k not positive
        print(str(exc), file=sys.stderr)
        return 2
    if found is None:
        return 1
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["id", "nom", "distance_m"])
    writer.writerows(found[["id", "nom", "distance_m"]].itertuples(index=False))
    return 0


def _referential(path: str):
    """The referential, or None after saying why in French on stderr."""
    from reseaux.annuaire.directory import DirectoryError
    from reseaux.annuaire.referential import load_referential

    try:
        return load_referential(Path(path))
    except (DirectoryError, ValueError, OSError) as exc:
        print(f"{path} : {exc}", file=sys.stderr)
        return None


def _in_database() -> bool:
    from reseaux.stockage import database_url

    return bool(database_url())


def _nearest_in_memory(args: argparse.Namespace, referential, radius_m: float | None):
    """The nearest from the directory file read and validated here (``--actors``, or the file of
    the settings)."""
    from reseaux.analyse.filters import ActorFilter, apply_filter
    from reseaux.analyse.proximity import ProximityIndex, nearest

    path = args.actors or str(config.path("actors"))
    loaded = load_or_say(path, args.referential)
    if loaded is None:
        return None
    _, directory = loaded
    index = ProximityIndex.build(directory.actors)
    flt = ActorFilter(themes=tuple(args.theme), professions=tuple(args.profession))
    mask = apply_filter(index.frame, flt, referential).mask
    return nearest(index, args.lat, args.lon, mask=mask.to_numpy(), k=args.k, radius_m=radius_m)


def _nearest_in_database(args: argparse.Namespace, referential, radius_m: float | None):
    """The nearest answered by PostgreSQL from its readings (:mod:`reseaux.stockage.readings`)."""
    from reseaux.analyse.filters import ActorFilter
    from reseaux.stockage import readings

    asked = readings.Asked(ActorFilter(themes=tuple(args.theme), professions=tuple(args.profession)))
    return _asking_the_database(
        lambda store, key, progress: readings.nearest(
            store, referential, key, args.lat, args.lon, asked=asked, k=args.k, radius_m=radius_m, progress=progress
        ),
        referential,
    )


def _asking_the_database(question, referential):
    """``question(store, key, progress)`` asked of the directory's database: the directory is
    never read whole here; the rows saved since the last question are read first (every row,
    the first time: said on stderr). None after saying why, when the database does not answer."""
    from reseaux.app_data import reading_key
    from reseaux.stockage import directory_store, readings
    from reseaux.text import plural

    store = directory_store()
    read = [0]

    def progress(done: int) -> None:
        read[0] = done
        say_reading(done)

    try:
        found = question(store, reading_key(referential), progress)
    except OSError as exc:  # StorageUnavailable names the database already
        print(str(exc), file=sys.stderr)
        return None
    except readings.NotAnswered as exc:
        print(f"{store.describe()} : {exc}", file=sys.stderr)
        return None
    if read[0]:  # saved since the last question (every fiche, the first time)
        print(
            f"{plural(read[0], 'fiche lue', 'fiches lues')} pour la base depuis la dernière question.", file=sys.stderr
        )
    return found


def _coverage(args: argparse.Namespace) -> int:
    from reseaux.analyse.coverage import PreparedLayer
    from reseaux.analyse.coverage_report import filter_phrase, summary_sentence
    from reseaux.analyse.filters import ActorFilter

    referential = _referential(args.referential)
    if referential is None:
        return 1
    territory = _territory()
    if territory is None:
        return 1
    broken = dict(territory.broken)
    if args.layer not in territory.layers:
        why = next(
            (f" (couche écartée : {r})" for name, r in broken.items() if name == args.layer or args.layer in r), ""
        )
        print(
            f"couche inconnue ou inutilisable « {args.layer} »{why} : choisissez parmi {', '.join(territory.layers)}",
            file=sys.stderr,
        )
        return 2
    flt = ActorFilter(themes=tuple(args.theme), professions=tuple(args.profession), types=tuple(args.type))
    layer = PreparedLayer.build(territory.layers[args.layer])
    if args.actors is None and _in_database():
        table = _coverage_in_database(layer, flt, referential, args.distance_m)
    else:
        table = _coverage_in_memory(args, layer, flt, referential)
    if table is None:
        return 1
    columns = ["code", "nom", "n_inside", "n_within", "distance_nearest_m", "gap"]
    from reseaux.annuaire.exports import write_atomic

    write_atomic(Path(args.out), table[columns].to_csv(index=False).encode("utf-8"))
    print(
        summary_sentence(table, territory.spec(args.layer).label, filter_phrase(referential, flt), args.distance_m),
        file=sys.stderr,
    )
    return 0


def _coverage_in_memory(args: argparse.Namespace, layer, flt, referential):
    """The coverage from the directory file read and validated here (``--actors``, or the file of
    the settings)."""
    from reseaux.analyse.coverage import actor_points, coverage_table
    from reseaux.analyse.filters import apply_filter

    loaded = load_or_say(args.actors or str(config.path("actors")), args.referential)
    if loaded is None:
        return None
    result = apply_filter(loaded[1].actors, flt, referential)
    return coverage_table(layer, actor_points(result.actors), distance_m=args.distance_m)


def _coverage_in_database(layer, flt, referential, distance_m: float):
    """The coverage measured by PostgreSQL from its readings (:mod:`reseaux.stockage.readings`)."""
    from reseaux.stockage import readings

    return _asking_the_database(
        lambda store, key, progress: readings.coverage(
            store, referential, key, layer, asked=readings.Asked(flt), distance_m=distance_m, progress=progress
        ),
        referential,
    )


def _territory():
    """The territory and its layers, or None after saying why in French."""
    from reseaux.app_data import load_territory
    from reseaux.territoire.france import FranceDataMissing
    from reseaux.territoire.layers import RegistryError
    from reseaux.territoire.territory import TerritoryError

    try:
        return load_territory()
    except (RegistryError, TerritoryError, FranceDataMissing) as exc:
        print(str(exc), file=sys.stderr)
        return None


def _layers(args: argparse.Namespace) -> int:
    from reseaux.app_data import registry_path
    from reseaux.territoire.add_layer import (
        TABLE_SUFFIXES,
        RepeatedCodesError,
        add_layer,
        fields_of,
        suggested_fields,
        suggested_id,
    )
    from reseaux.territoire.layers import LayerError
    from reseaux.territoire.territory import TerritoryError, load

    if args.action == "list":
        territory = _territory()
        if territory is None:
            return 1
        for spec in territory.specs:
            print(f"{spec.id}\t{spec.label}\t{len(territory.layers[spec.id])} périmètre(s)\tok")
        for name, reason in territory.broken:
            print(f"—\t{name}\t—\técartée : {reason}")
        return 1 if territory.broken else 0
    if not args.file:
        print(
            "layers add FICHIER [--id ID] [--code-field CHAMP] [--name-field CHAMP] : le fichier est obligatoire",
            file=sys.stderr,
        )
        return 2
    if not (args.code_field and args.name_field):  # the fields the form would offer, said
        path = Path(args.file)
        if path.suffix.lower() in TABLE_SUFFIXES:
            print("un CSV de communes : --code-field et --name-field sont obligatoires", file=sys.stderr)
            return 2
        try:
            code, name = suggested_fields(path, fields_of(path, args.couche_fichier), args.couche_fichier)
        except LayerError as exc:
            print(f"Couche non ajoutée : {exc}.", file=sys.stderr)
            return 1
        args.code_field, args.name_field = args.code_field or code, args.name_field or name
        print(
            f"Champs pris : code « {args.code_field} », nom « {args.name_field} » (--code-field, --name-field pour d'autres)."
        )
    args.id = args.id or suggested_id(args.file)
    try:
        registry = Path(args.registry) if args.registry else registry_path(load())
    except TerritoryError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    if registry is None:
        print(
            "Le fichier du territoire ne nomme pas de registre de couches : ajoutez-y "
            'registre = "layers.toml", ou passez --registry.',
            file=sys.stderr,
        )
        return 1
    where = name_value_pairs(args.where, "--where", "CHAMP=VALEUR")
    if where is None:
        return 2
    # 9 also matches « 09 »; « 09 » is kept as written (see layers.apply_where).
    where = {k: int(v) if v.isdigit() and not v.startswith("0") else v for k, v in where.items()}
    try:
        added = add_layer(
            Path(args.file),
            layer_id=args.id,
            code_field=args.code_field,
            name_field=args.name_field,
            registry=registry,
            geo_dir=config.path("geo_dir"),
            label=args.label,
            group=args.group,
            where=where,
            color=args.color,
            source=args.source,
            licence=args.licence,
            vintage=args.vintage,
            commune_field=args.commune_field,
            file_layer=args.couche_fichier,
            key=args.cle,
        )
    except RepeatedCodesError as exc:
        print(f"Couche non ajoutée : {exc} (--cle departement ou --cle code).", file=sys.stderr)
        return 1
    except LayerError as exc:
        print(f"Couche non ajoutée : {exc}.", file=sys.stderr)
        return 1
    print(added.sentence())
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """The parsers of ``nearest``, ``coverage`` and ``layers``."""
    near = sub.add_parser("nearest", help="les acteurs les plus proches d'un point (CSV : id, nom, distance_m)")
    near.add_argument("--lat", type=float, required=True, help="latitude WGS84")
    near.add_argument("--lon", type=float, required=True, help="longitude WGS84")
    near.add_argument("--theme", nargs="*", default=[], help="codes de thématiques (une au moins)")
    near.add_argument("--profession", nargs="*", default=[], help="codes de professions (une au moins)")
    near.add_argument("-k", type=int, default=10, help="nombre d'acteurs (défaut : %(default)s)")
    near.add_argument("--radius-km", type=float, default=10.0, help="rayon en km (défaut : %(default)s)")
    near.add_argument(
        "--actors",
        default=None,
        help=f"fichier d'annuaire (défaut : {SETTINGS_DIRECTORY})",
    )
    near.add_argument("--referential", default=str(config.path("referential")), help=argparse.SUPPRESS)
    near.set_defaults(func=_nearest)
    cover = sub.add_parser("coverage", help="couverture d'une couche de périmètres (un périmètre par ligne)")
    cover.add_argument("--layer", required=True, help="identifiant de couche (geo/layers.toml), ex. qpv")
    cover.add_argument("--theme", nargs="*", default=[], help="codes de thématiques")
    cover.add_argument("--profession", nargs="*", default=[], help="codes de professions")
    cover.add_argument("--type", nargs="*", default=[], help="codes de types d'acteurs")
    cover.add_argument("--distance-m", type=float, default=1000.0, help="distance au bord (défaut : %(default)s)")
    cover.add_argument("--out", required=True, help="fichier CSV écrit")
    cover.add_argument(
        "--actors",
        default=None,
        help=f"fichier d'annuaire (défaut : {SETTINGS_DIRECTORY})",
    )
    cover.add_argument("--referential", default=str(config.path("referential")), help=argparse.SUPPRESS)
    cover.set_defaults(func=_coverage)
    layers = sub.add_parser(
        "layers", help="couches de périmètres : list (état de chaque couche), add (ajouter un fichier)"
    )
    layers.add_argument("action", choices=["list", "add"])
    layers.add_argument(
        "file", nargs="?", default="", help="GeoJSON, GeoPackage, shapefile zippé, KML, KMZ ou CSV de communes"
    )
    layers.add_argument(
        "--id",
        default="",
        help="identifiant de la couche (lettres minuscules, chiffres, _ ; défaut : d'après le nom du fichier)",
    )
    layers.add_argument(
        "--code-field", default="", help="champ du code de chaque périmètre (défaut : le premier qui les distingue)"
    )
    layers.add_argument(
        "--name-field", default="", help="champ du nom de chaque périmètre (défaut : le premier nommé comme un nom)"
    )
    layers.add_argument("--commune-field", default="", help="CSV : colonne du code INSEE des communes")
    layers.add_argument("--label", default="", help="libellé affiché (défaut : l'identifiant)")
    layers.add_argument("--group", default="", help="groupe dans la légende (défaut : Périmètres ajoutés)")
    layers.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="CHAMP=VALEUR",
        help="ne garder que ces périmètres (répétable) ; 9 vaut aussi pour « 09 »",
    )
    layers.add_argument("--color", default="", help="couleur #RRGGBB (défaut : une couleur libre)")
    layers.add_argument("--source", default="", help="producteur et adresse de la donnée")
    layers.add_argument("--licence", default="", help="licence de la donnée")
    layers.add_argument("--vintage", default="", help="millésime")
    layers.add_argument(
        "--couche-fichier",
        default="",
        metavar="NOM",
        help="la couche à lire dans un fichier qui en a plusieurs (GeoPackage, TopoJSON)",
    )
    layers.add_argument(
        "--cle",
        default="",
        choices=["code", "departement"],
        help="CSV de communes dont les codes se répètent d'un département à l'autre : un périmètre "
        "par département et code (departement) ou par code seul (code)",
    )
    layers.add_argument("--registry", default="", help="registre (défaut : celui du territoire ou RESEAUX_LAYERS)")
    layers.set_defaults(func=_layers)
