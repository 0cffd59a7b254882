"""Command line: ``python -m reseaux check|import|geocode|nearest|coverage|layers|comptes|effacer|sauvegarde|
restauration``
(``--help`` on each)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reseaux import config
from reseaux.directory import DirectoryError, load_directory
from reseaux.referential import load_referential


def _load(file: str, referential_path: str):
    """(referential, directory), or None after saying why in French on stderr."""
    try:
        referential = load_referential(Path(referential_path))
        return referential, load_directory(Path(file), referential)
    except (DirectoryError, ValueError) as exc:
        print(f"{file} : {exc}", file=sys.stderr)
        return None


def _check(args: argparse.Namespace) -> int:
    loaded = _load(args.file, args.referential)
    if loaded is None:
        return 1
    _, directory = loaded
    n_rows = len(directory.actors) + len(directory.rejected)
    if args.json:
        import json

        print(json.dumps({"rows": n_rows, "actors": len(directory.actors), "placed": len(directory.placed),
                          "errors": len(directory.errors), "warnings": len(directory.warnings),
                          "messages": [{"line": i.line, "column": i.column, "value": i.value,
                                        "severity": i.severity, "message": i.message} for i in directory.issues]},
                         ensure_ascii=False, indent=1))
        return 1 if directory.errors else 0
    for line in grouped_messages(directory.issues):
        print(f"{args.file}:{line}")
    print(
        f"{n_rows} ligne(s) lue(s) : {len(directory.actors)} acteur(s) utilisable(s), "
        f"{len(directory.rejected)} écartée(s) pour erreur, {len(directory.warnings)} avertissement(s), "
        f"{directory.n_unplaced} sans position.",
        file=sys.stderr,
    )
    return 1 if directory.errors else 0


def grouped_messages(issues, shown: int = 5) -> list[str]:
    """One line per distinct (severity, column, message): alone as before, or
    « 148 lignes : colonne « type » : … (lignes 2, 3, 5…) »."""
    groups: dict[tuple, list] = {}
    for issue in issues:
        groups.setdefault((issue.severity, issue.column, issue.message), []).append(issue)
    lines = []
    for (severity, column, message), members in groups.items():
        if len(members) == 1:
            lines.append(f"{severity}: {members[0]}")
            continue
        numbers = [str(i.line) for i in members if i.line is not None]
        where = ", ".join(numbers[:shown]) + ("…" if len(numbers) > shown else "")
        col = f"colonne « {column} » : " if column else ""
        lines.append(f"{severity}: {len(members)} lignes : {col}{message} (lignes {where})")
    return lines


def _pairs(items: list[str], option: str, form: str, allowed: set[str] | None = None) -> dict[str, str] | None:
    """``NAME=VALUE`` options as a dict; None after saying in French which one is wrong."""
    pairs = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or (allowed is not None and name.strip() not in allowed):
            print(f"{option} « {item} » : écrivez {form}", file=sys.stderr)
            return None
        pairs[name.strip()] = value.strip()
    return pairs


def _import(args: argparse.Namespace) -> int:
    from reseaux.import_file import import_file
    from reseaux.importing import targets
    from reseaux.profiles import ProfileError, load_profile, save_profile
    from reseaux.store import ConflictError

    constants = _pairs(args.set, "--set", "COLONNE=VALEUR avec une colonne de l'annuaire (ex. type=structure)",
                       allowed=set(targets()))
    if constants is None:
        return 2
    try:
        referential = load_referential(Path(args.referential))
        spec = load_profile(Path(args.profile)) if args.profile else None
        result = import_file(Path(args.source), Path(args.into), referential, spec=spec, constants=constants,
                             offline=args.offline, dry_run=args.dry_run, sheet=args.sheet, keep=args.keep)
    except ConflictError as exc:
        print(f"{args.into} : l'annuaire a été enregistré par quelqu'un d'autre pendant l'import "
              f"({len(exc.theirs)} fiche(s) changée(s)) : rien n'a été importé, ses modifications sont gardées. "
              "Relancez la commande.", file=sys.stderr)
        return 1
    except (DirectoryError, ProfileError, OSError, ValueError) as exc:
        print(f"{args.source} : {exc}", file=sys.stderr)
        return 1
    for line in grouped_messages(result.report.issues):
        print(f"{args.source}:{line}")
    for sentence in result.sentences():
        print(sentence, file=sys.stderr)
    if args.save_profile:
        save_profile(result.spec, Path(args.save_profile))
        print(f"Profil enregistré : {args.save_profile}", file=sys.stderr)
    return 0 if result.imported else 1


def _geocode(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from reseaux.geocode_file import geocode_file
    from reseaux.store import ConflictError

    bar = tqdm(total=0, unit="adresse", desc="Géocodage", file=sys.stderr, disable=args.quiet)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        summary = geocode_file(Path(args.file), offline=args.offline, min_score=args.min_score,
                               force=args.force, progress=progress)
    except ConflictError as exc:
        bar.close()
        print(f"{args.file} : l'annuaire a été enregistré par quelqu'un d'autre pendant le géocodage "
              f"({len(exc.theirs)} fiche(s) changée(s)) : rien n'a été écrit, ses modifications sont gardées. "
              "Relancez la commande : les adresses déjà trouvées sont en cache, ce sera rapide.", file=sys.stderr)
        return 1
    except (DirectoryError, OSError) as exc:
        bar.close()
        print(f"{args.file} : {exc}", file=sys.stderr)
        return 1
    bar.close()
    for line, message in summary.problems:
        print(f"{args.file}:ligne {line} : {message}")
    print(f"{args.file} : {summary.sentence()}", file=sys.stderr)
    return 0


def _nearest(args: argparse.Namespace) -> int:
    import csv

    from reseaux.filters import ActorFilter
    from reseaux.proximity import ProximityIndex, nearest

    loaded = _load(args.actors, args.referential)
    if loaded is None:
        return 1
    referential, directory = loaded
    unknown = [t for t in args.theme if t not in referential.codes("thematique")]
    unknown += [p for p in args.profession if p not in referential.codes("profession")]
    if unknown:
        print("code(s) inconnu(s) : " + ", ".join(unknown) + " (voir data/referentiel.csv)", file=sys.stderr)
        return 2
    from reseaux.filters import apply_filter

    index = ProximityIndex.build(directory.actors)
    flt = ActorFilter(themes=tuple(args.theme), professions=tuple(args.profession))
    mask = apply_filter(index.frame, flt, referential).mask
    found = nearest(index, args.lat, args.lon, mask=mask.to_numpy(), k=args.k,
                    radius_m=args.radius_km * 1000 if args.radius_km is not None else None)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["id", "nom", "distance_m"])
    writer.writerows(found[["id", "nom", "distance_m"]].itertuples(index=False))
    return 0


def _coverage(args: argparse.Namespace) -> int:
    from reseaux.coverage import PreparedLayer, actor_points, coverage_table, filter_phrase, summary_sentence
    from reseaux.filters import ActorFilter, apply_filter

    loaded = _load(args.actors, args.referential)
    if loaded is None:
        return 1
    referential, directory = loaded
    territory = _territory()
    if territory is None:
        return 1
    broken = dict(territory.broken)
    if args.layer not in territory.layers:
        why = next((f" (couche écartée : {r})" for name, r in broken.items()
                    if name == args.layer or args.layer in r), "")
        print(f"couche inconnue ou inutilisable « {args.layer} »{why} : choisissez parmi "
              f"{', '.join(territory.layers)}", file=sys.stderr)
        return 2
    flt = ActorFilter(themes=tuple(args.theme), professions=tuple(args.profession), types=tuple(args.type))
    result = apply_filter(directory.actors, flt, referential)
    table = coverage_table(PreparedLayer.build(territory.layers[args.layer]), actor_points(result.actors),
                           distance_m=args.distance_m)
    columns = ["code", "nom", "n_inside", "n_within", "distance_nearest_m", "gap"]
    from reseaux.exports import write_atomic

    write_atomic(Path(args.out), table[columns].to_csv(index=False).encode("utf-8"))
    print(summary_sentence(table, territory.spec(args.layer).label, filter_phrase(referential, flt), args.distance_m),
          file=sys.stderr)
    return 0


def _territory():
    """The territory and its layers, or None after saying why in French."""
    from reseaux.app_data import load_territory
    from reseaux.france import FranceDataMissing
    from reseaux.layers import RegistryError
    from reseaux.territory import TerritoryError

    try:
        return load_territory()
    except (RegistryError, TerritoryError, FranceDataMissing) as exc:
        print(str(exc), file=sys.stderr)
        return None


def _layers(args: argparse.Namespace) -> int:
    from reseaux.add_layer import RepeatedCodesError, add_layer
    from reseaux.app_data import registry_path
    from reseaux.layers import LayerError
    from reseaux.territory import TerritoryError, load

    if args.action == "list":
        territory = _territory()
        if territory is None:
            return 1
        for spec in territory.specs:
            print(f"{spec.id}\t{spec.label}\t{len(territory.layers[spec.id])} périmètre(s)\tok")
        for name, reason in territory.broken:
            print(f"—\t{name}\t—\técartée : {reason}")
        return 1 if territory.broken else 0
    if not (args.file and args.id and args.code_field and args.name_field):
        print("layers add FICHIER --id ID --code-field CHAMP --name-field CHAMP : tous obligatoires", file=sys.stderr)
        return 2
    try:
        registry = Path(args.registry) if args.registry else registry_path(load())
    except TerritoryError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    if registry is None:
        print("Le fichier du territoire ne nomme pas de registre de couches : ajoutez-y "
              "registre = \"layers.toml\", ou passez --registry.", file=sys.stderr)
        return 1
    where = _pairs(args.where, "--where", "CHAMP=VALEUR")
    if where is None:
        return 2
    # 9 also matches « 09 »; « 09 » is kept as written (see layers.apply_where).
    where = {k: int(v) if v.isdigit() and not v.startswith("0") else v for k, v in where.items()}
    try:
        added = add_layer(Path(args.file), layer_id=args.id, code_field=args.code_field, name_field=args.name_field,
                          registry=registry, geo_dir=config.path("geo_dir"), label=args.label, group=args.group,
                          where=where, color=args.color, source=args.source, licence=args.licence,
                          vintage=args.vintage, commune_field=args.commune_field, file_layer=args.couche_fichier,
                          key=args.cle)
    except RepeatedCodesError as exc:
        print(f"Couche non ajoutée : {exc} (--cle departement ou --cle code).", file=sys.stderr)
        return 1
    except LayerError as exc:
        print(f"Couche non ajoutée : {exc}.", file=sys.stderr)
        return 1
    print(added.sentence())
    return 0


def _accounts(args: argparse.Namespace) -> int:
    import getpass

    from reseaux.accounts import AccountError, AccountStore

    store = AccountStore(config.path("accounts"))

    def password() -> str:
        if args.password_stdin:
            return sys.stdin.readline().rstrip("\n")
        first = getpass.getpass("Mot de passe : ")
        if getpass.getpass("Encore : ") != first:
            raise AccountError("Les deux saisies diffèrent.")
        return first

    try:
        if args.action == "liste":
            for account in store.load().values():
                locked = " (verrouillé)" if store.is_locked(account.name) else ""
                print(f"{account.name}\t{account.role}\t{account.email}{locked}")
        elif args.action == "ajouter":
            store.add(args.name, password(), args.role, args.email)
        elif args.action == "motdepasse":
            store.set_password(args.name, password())
        elif args.action == "role":
            store.set_role(args.name, args.role)
        elif args.action == "deverrouiller":
            store.unlock(args.name)
        elif args.action == "supprimer":
            store.remove(args.name)
    except AccountError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    if args.action != "liste":
        print(f"{args.action} : fait ({store.path}).", file=sys.stderr)
    return 0


def _erase(args: argparse.Namespace) -> int:
    from reseaux.privacy import erase

    try:
        report = erase(args.id, args.by)
    except KeyError:
        print(f"Aucune fiche « {args.id} » dans {config.path('actors')} : rien n'a été fait.", file=sys.stderr)
        return 1
    except (DirectoryError, OSError) as exc:
        print(f"Effacement impossible ou inachevé : {exc}", file=sys.stderr)
        return 1
    print(report.sentence(args.id))
    return 0


def _backup(args: argparse.Namespace) -> int:
    from reseaux.backup import BackupError, backup
    from reseaux.exports import LockTimeout

    try:
        path, entries = backup(Path(args.dest))
    except (BackupError, LockTimeout) as exc:
        print(f"Sauvegarde non faite : {exc}", file=sys.stderr)
        return 1
    print(path)
    print(f"Sauvegarde : {len(entries)} fichier(s), {path.stat().st_size // 1024 + 1} Ko, dans {path}.", file=sys.stderr)
    return 0


def _restore(args: argparse.Namespace) -> int:
    from reseaux.backup import BackupError, restore
    from reseaux.exports import LockTimeout

    try:
        restored = restore(Path(args.source), args.by)
    except (BackupError, LockTimeout, OSError, DirectoryError) as exc:
        print(f"Restauration non faite : {exc}", file=sys.stderr)
        return 1
    print(restored.sentence(), file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m reseaux", description="Outils de l'annuaire Réseaux.")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="valider un annuaire : un problème par ligne, code 1 si erreur")
    check.add_argument("file", help="fichier CSV de l'annuaire")
    check.add_argument("--referential", default=str(config.path("referential")),
                       help="référentiel des thématiques, professions… (défaut : %(default)s)")
    check.add_argument("--json", action="store_true",
                       help='résumé JSON : {"rows", "actors", "placed", "errors", "warnings", "messages"}')
    check.set_defaults(func=_check)
    imp = sub.add_parser("import", help="importer un fichier (CSV, XLSX, ODS, GeoJSON) dans un annuaire")
    imp.add_argument("source", help="fichier à importer")
    imp.add_argument("--into", required=True, help="annuaire CSV (créé s'il n'existe pas, sinon fusionné)")
    imp.add_argument("--profile", default="", help="profil d'import (data/imports/NOM.toml)")
    imp.add_argument("--set", action="append", default=[], metavar="COLONNE=VALEUR",
                     help="valeur donnée à chaque ligne du fichier (répétable), ex. type=structure")
    imp.add_argument("--feuille", "--sheet", dest="sheet", default=None, metavar="NOM|NUMÉRO",
                     help="feuille du classeur à importer (par défaut : celle dont l'en-tête est le mieux reconnu)")
    imp.add_argument("--garder", "--keep", dest="keep", action="append", default=[], metavar="COLONNE",
                     help="colonne du fichier non importée à garder dans la description de chaque fiche (répétable)")
    imp.add_argument("--save-profile", default="", help="enregistrer la correspondance utilisée dans ce profil")
    imp.add_argument("--offline", action="store_true", help="sans réseau : cache, puis position de la commune")
    imp.add_argument("--dry-run", action="store_true", help="tout faire sauf écrire l'annuaire")
    imp.add_argument("--referential", default=str(config.path("referential")), help=argparse.SUPPRESS)
    imp.set_defaults(func=_import)
    geocode = sub.add_parser("geocode", help="géocoder les acteurs sans position et réécrire le fichier")
    geocode.add_argument("file", help="fichier CSV de l'annuaire (réécrit de façon atomique)")
    geocode.add_argument("--offline", action="store_true",
                         help="sans réseau : cache, puis position de la commune")
    geocode.add_argument("--min-score", type=float, default=0.5,
                         help="score minimal d'une réponse du géocodeur (défaut : %(default)s)")
    geocode.add_argument("--force", action="store_true",
                         help="regéocoder toutes les lignes (les positions « manuel » restent)")
    geocode.add_argument("--quiet", action="store_true", help="sans barre de progression")
    geocode.set_defaults(func=_geocode)
    near = sub.add_parser("nearest", help="les acteurs les plus proches d'un point (CSV : id, nom, distance_m)")
    near.add_argument("--lat", type=float, required=True, help="latitude WGS84")
    near.add_argument("--lon", type=float, required=True, help="longitude WGS84")
    near.add_argument("--theme", nargs="*", default=[], help="codes de thématiques (une au moins)")
    near.add_argument("--profession", nargs="*", default=[], help="codes de professions (une au moins)")
    near.add_argument("-k", type=int, default=10, help="nombre d'acteurs (défaut : %(default)s)")
    near.add_argument("--radius-km", type=float, default=10.0, help="rayon en km (défaut : %(default)s)")
    near.add_argument("--actors", default=str(config.path("actors")), help="annuaire (défaut : %(default)s)")
    near.add_argument("--referential", default=str(config.path("referential")), help=argparse.SUPPRESS)
    near.set_defaults(func=_nearest)
    cover = sub.add_parser("coverage", help="couverture d'une couche de périmètres (un périmètre par ligne)")
    cover.add_argument("--layer", required=True, help="identifiant de couche (geo/layers.toml), ex. qpv")
    cover.add_argument("--theme", nargs="*", default=[], help="codes de thématiques")
    cover.add_argument("--profession", nargs="*", default=[], help="codes de professions")
    cover.add_argument("--type", nargs="*", default=[], help="codes de types d'acteurs")
    cover.add_argument("--distance-m", type=float, default=1000.0, help="distance au bord (défaut : %(default)s)")
    cover.add_argument("--out", required=True, help="fichier CSV écrit")
    cover.add_argument("--actors", default=str(config.path("actors")), help="annuaire (défaut : %(default)s)")
    cover.add_argument("--referential", default=str(config.path("referential")), help=argparse.SUPPRESS)
    cover.set_defaults(func=_coverage)
    layers = sub.add_parser("layers", help="couches de périmètres : list (état de chaque couche), add (ajouter un fichier)")
    layers.add_argument("action", choices=["list", "add"])
    layers.add_argument("file", nargs="?", default="", help="GeoJSON, GeoPackage, shapefile zippé ou CSV de communes")
    layers.add_argument("--id", default="", help="identifiant de la couche (lettres minuscules, chiffres, _)")
    layers.add_argument("--code-field", default="", help="champ du code de chaque périmètre")
    layers.add_argument("--name-field", default="", help="champ du nom de chaque périmètre")
    layers.add_argument("--commune-field", default="", help="CSV : colonne du code INSEE des communes")
    layers.add_argument("--label", default="", help="libellé affiché (défaut : l'identifiant)")
    layers.add_argument("--group", default="", help="groupe dans la légende (défaut : Périmètres ajoutés)")
    layers.add_argument("--where", action="append", default=[], metavar="CHAMP=VALEUR",
                        help="ne garder que ces périmètres (répétable) ; 9 vaut aussi pour « 09 »")
    layers.add_argument("--color", default="", help="couleur #RRGGBB (défaut : une couleur libre)")
    layers.add_argument("--source", default="", help="producteur et adresse de la donnée")
    layers.add_argument("--licence", default="", help="licence de la donnée")
    layers.add_argument("--vintage", default="", help="millésime")
    layers.add_argument("--couche-fichier", default="", metavar="NOM",
                        help="la couche à lire dans un fichier qui en a plusieurs (GeoPackage, TopoJSON)")
    layers.add_argument("--cle", default="", choices=["code", "departement"],
                        help="CSV de communes dont les codes se répètent d'un département à l'autre : un périmètre "
                             "par département et code (departement) ou par code seul (code)")
    layers.add_argument("--registry", default="", help="registre (défaut : celui du territoire ou RESEAUX_LAYERS)")
    layers.set_defaults(func=_layers)
    comptes = sub.add_parser("comptes", help="gérer les comptes intégrés (fichier RESEAUX_ACCOUNTS)")
    comptes.add_argument("action", choices=["liste", "ajouter", "motdepasse", "role", "deverrouiller", "supprimer"])
    comptes.add_argument("name", nargs="?", default="", help="identifiant")
    comptes.add_argument("--role", default="membre", help="membre, coordinateur ou administrateur")
    comptes.add_argument("--email", default="", help="courriel (connexion par l'organisation)")
    comptes.add_argument("--password-stdin", action="store_true", help="lire le mot de passe sur l'entrée standard")
    comptes.set_defaults(func=_accounts)
    erase = sub.add_parser("effacer", help="supprimer définitivement une fiche (RGPD) : fichier, sauvegardes, "
                           "journal, caches, cartes ouvertes (annuaire RESEAUX_ACTORS)")
    erase.add_argument("id", help="identifiant de la fiche (colonne « id »)")
    erase.add_argument("--par", dest="by", default="ligne de commande", metavar="NOM",
                       help="qui efface (inscrit au journal)")
    erase.set_defaults(func=_erase)
    save = sub.add_parser("sauvegarde", help="archiver annuaire, journal, comptes, couches, scènes, référentiel, "
                          "profils et audit (sous les verrous) dans DEST/reseaux-<date>.tar.gz")
    save.add_argument("dest", help="dossier où écrire l'archive (créé s'il n'existe pas)")
    save.set_defaults(func=_backup)
    back = sub.add_parser("restauration", help="remettre en place une archive de « sauvegarde » (vérifiée d'abord ; "
                          "les fichiers remplacés sont gardés dans .avant-restauration/)")
    back.add_argument("source", help="archive reseaux-<date>.tar.gz")
    back.add_argument("--par", dest="by", default="ligne de commande", metavar="NOM",
                      help="qui restaure (inscrit au journal)")
    back.set_defaults(func=_restore)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
