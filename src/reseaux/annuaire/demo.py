"""Deterministic demo directory: 185 FICTIONAL actors of a sexual-health network around Rouen.

Modelled on the Réseau santé sexuelle de la Métropole de Rouen Normandie (185 members). People,
structures, addresses, e-mails (example.org) and phones (02 61 91 XX XX, the range ARCEP reserves
for fiction) are invented; communes, postcodes, INSEE and QPV codes are real. Actors are spread
over the Métropole's communes in proportion to population: some inside a QPV (quartier
prioritaire), the others inside their commune within 400 m of its town hall.
"""

from __future__ import annotations

import math
import os
import random
import tempfile
from collections import Counter
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry import Point

from reseaux.annuaire.columns import names
from reseaux.config import PROJECT_ROOT
from reseaux.text import fold

GEO_DIR = PROJECT_ROOT / "geo"
METROPOLE_SIREN = "200023414"
TYPE_COUNTS = {"professionnel": 117, "structure": 52, "aller_vers": 7, "distribution": 9}
N_ACTORS = sum(TYPE_COUNTS.values())  # 185
QPV_SLOTS = 58  # drawn inside a QPV; town-hall points close to a QPV add to the share
INNER_MARGIN_M = 150.0
TOWN_HALL_RADIUS_M = 395.0  # stays under 400 m after rounding to 6 decimals
N_OLD = 19  # fiches last updated before 2025-11 (about 10 %)

FIRST_NAMES = (
    "Camille",
    "Claire",
    "Julie",
    "Sophie",
    "Nathalie",
    "Isabelle",
    "Céline",
    "Émilie",
    "Laura",
    "Manon",
    "Léa",
    "Chloé",
    "Inès",
    "Sarah",
    "Amélie",
    "Hélène",
    "Yasmine",
    "Fatou",
    "Thomas",
    "Nicolas",
    "Julien",
    "Antoine",
    "Maxime",
    "Hugo",
    "Karim",
    "Mehdi",
    "Olivier",
    "Pierre",
    "Jérôme",
    "Samuel",
)
LAST_NAMES = (
    "Martin",
    "Bernard",
    "Dubois",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefebvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "Fontaine",
    "Rousseau",
    "Blanc",
    "Guérin",
    "Muller",
    "Henry",
    "Perrin",
)
PLACES = (
    "des Tilleuls",
    "des Glycines",
    "des Érables",
    "des Lilas",
    "des Hortensias",
    "des Peupliers",
    "des Châtaigniers",
    "des Coquelicots",
    "des Mimosas",
    "des Bleuets",
    "des Acacias",
    "des Charmes",
    "du Vieux-Moulin",
    "de la Fontaine",
)
STREETS = (
    "rue des Tilleuls",
    "avenue des Acacias",
    "rue du Moulin",
    "place de la Fontaine",
    "rue des Écoles",
    "allée des Cerisiers",
    "rue du Stade",
    "boulevard des Marronniers",
    "impasse des Violettes",
    "rue des Jardins",
    "chemin des Prés",
    "rue des Coquelicots",
)
LANGUAGES = ("arabe", "espagnol", "portugais", "roumain", "russe", "dari", "wolof")
THEME_PHRASES = {
    "ivg": "l'IVG",
    "contraception": "la contraception",
    "ist_vih": "le dépistage des IST et du VIH",
    "violences_sexuelles": "les violences sexuelles",
    "vif": "les violences intrafamiliales",
    "vas": "la vie affective et sexuelle",
    "transidentite": "les transidentités",
    "perinatalite": "la grossesse",
    "precarite_menstruelle": "la précarité menstruelle",
    "sante_mentale": "la santé mentale",
    "addictions": "les addictions",
    "acces_droits": "l'accès aux droits",
}
_CARE = ("Cabinet {p} (fictif)", "Maison de santé {p} (fictive)", "Centre de santé sexuelle {p} (fictif)")
#: profession code: (weight, label, themes (likelier first), specialities, workplaces)
PROFESSIONS: dict[str, tuple[int, str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "medecin_generaliste": (
        30,
        "Médecin généraliste",
        ("contraception", "ivg", "ist_vih", "vas", "vif", "addictions"),
        ("DU de gynécologie médicale", "IVG médicamenteuse", "Pose de DIU et d'implant", "DIU sexologie"),
        _CARE,
    ),
    "sage_femme": (
        26,
        "Sage-femme",
        ("contraception", "ivg", "perinatalite", "ist_vih", "vas", "violences_sexuelles"),
        ("IVG médicamenteuse", "Rééducation périnéale", "DIU sexologie", "Suivi gynécologique"),
        _CARE,
    ),
    "gynecologue": (
        8,
        "Gynécologue",
        ("ivg", "contraception", "ist_vih", "perinatalite", "transidentite"),
        ("IVG instrumentale", "IVG médicamenteuse", "Colposcopie"),
        _CARE,
    ),
    "masseur_kinesitherapeute": (
        4,
        "Masseur-kinésithérapeute",
        ("perinatalite", "vas", "violences_sexuelles"),
        ("Rééducation pelvi-périnéale",),
        ("Cabinet de kinésithérapie {p} (fictif)",),
    ),
    "psychologue": (
        7,
        "Psychologue",
        ("sante_mentale", "violences_sexuelles", "vif", "transidentite"),
        ("Psychotraumatologie", "EMDR", "Thérapie de couple"),
        ("Cabinet {p} (fictif)",),
    ),
    "sexologue": (
        4,
        "Sexologue",
        ("vas", "transidentite", "violences_sexuelles"),
        ("DIU sexologie", "Accompagnement des transidentités"),
        ("Cabinet {p} (fictif)",),
    ),
    "infirmier": (
        7,
        "Infirmier·ère",
        ("ist_vih", "contraception", "addictions", "vas"),
        ("TROD VIH et hépatites", "Vaccination HPV"),
        _CARE,
    ),
    "pharmacien": (
        7,
        "Pharmacien·ne",
        ("contraception", "ist_vih", "addictions", "precarite_menstruelle"),
        ("TROD VIH et hépatites", "Contraception d'urgence"),
        ("Pharmacie {p} (fictive)",),
    ),
    "travailleur_social": (
        4,
        "Travailleur·euse social·e",
        ("acces_droits", "vif", "violences_sexuelles"),
        ("Accompagnement des victimes de violences",),
        ("Centre social {p} (fictif)",),
    ),
    "conseiller_conjugal": (
        4,
        "Conseiller·ère conjugal·e et familial·e",
        ("vas", "vif", "contraception", "ivg"),
        ("Entretien pré-IVG", "Éducation à la vie affective et sexuelle"),
        ("Espace santé {p} (fictif)",),
    ),
    "mediateur_sante": (
        3,
        "Médiateur·rice santé",
        ("acces_droits", "ist_vih", "addictions"),
        ("Interprétariat en santé",),
        ("Association de médiation {p} (fictive)",),
    ),
}
#: structure name ({p}: a fictional place), themes, publics, modalities
STRUCTURES = (
    (
        "Centre de santé sexuelle {p} (fictif)",
        "contraception|ivg|ist_vih|vas",
        "tout_public|jeunes|mineurs",
        "sans_rdv|sur_rdv|gratuit|anonyme",
    ),
    ("CeGIDD {p} (fictif)", "ist_vih|contraception", "tout_public|lgbtqia|hommes", "sans_rdv|gratuit|anonyme"),
    ("Centre d'orthogénie {p} (fictif)", "ivg|contraception", "femmes|mineurs", "sur_rdv|gratuit|anonyme|interprete"),
    ("Maison des adolescents {p} (fictive)", "vas|sante_mentale|contraception", "jeunes|mineurs", "sans_rdv|gratuit"),
    ("Maison des femmes {p} (fictive)", "violences_sexuelles|vif|ivg", "femmes|migrants", "sur_rdv|gratuit|interprete"),
    (
        "Association d'aide aux victimes {p} (fictive)",
        "violences_sexuelles|vif|acces_droits",
        "tout_public",
        "sur_rdv|gratuit",
    ),
    ("Centre LGBTQIA+ {p} (fictif)", "transidentite|vas|ist_vih", "lgbtqia|jeunes", "sans_rdv|gratuit"),
    ("CSAPA {p} (fictif)", "addictions|ist_vih|sante_mentale", "usagers_drogues", "sur_rdv|gratuit|anonyme"),
    ("CAARUD {p} (fictif)", "addictions|ist_vih", "usagers_drogues|precarite|tds", "sans_rdv|gratuit|anonyme"),
    ("Centre périnatal de proximité {p} (fictif)", "perinatalite|contraception", "femmes", "sur_rdv|gratuit|domicile"),
    (
        "Point d'accès aux droits {p} (fictif)",
        "acces_droits|precarite_menstruelle",
        "precarite|migrants",
        "sans_rdv|gratuit|interprete",
    ),
    (
        "Centre médico-psychologique {p} (fictif)",
        "sante_mentale|violences_sexuelles",
        "tout_public",
        "sur_rdv|gratuit|teleconsultation",
    ),
    ("Service de santé étudiante {p} (fictif)", "contraception|ist_vih|vas", "jeunes", "sur_rdv|gratuit"),
    (
        "Planning familial – antenne {p} (fictive)",
        "contraception|ivg|vas",
        "tout_public|jeunes|handicap",
        "sans_rdv|gratuit|anonyme",
    ),
)
OUTREACH = (  # name, themes, publics
    ("Maraude santé sexuelle (fictive)", "ist_vih|contraception|vas", "precarite|jeunes"),
    ("Bus de dépistage itinérant (fictif)", "ist_vih", "tout_public|hommes|lgbtqia"),
    ("Médiation santé en pied d'immeuble (fictive)", "acces_droits|contraception|ist_vih", "precarite|migrants"),
    ("Permanence mobile santé des femmes (fictive)", "contraception|ivg|vif", "femmes|migrants"),
    ("Maraude de nuit réduction des risques (fictive)", "addictions|ist_vih", "usagers_drogues|tds"),
    ("Camion prévention jeunesse (fictif)", "vas|contraception|ist_vih", "jeunes|mineurs"),
    ("Permanence santé itinérante (fictive)", "acces_droits|perinatalite|contraception", "precarite|femmes"),
)
BOX_VENUES = (
    "Médiathèque",
    "Centre social",
    "CCAS",
    "Maison de quartier",
    "Mission locale",
    "Épicerie solidaire",
    "Espace jeunesse",
    "Bibliothèque",
    "Mairie annexe",
)

_TO_LAMBERT = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
_TO_WGS84 = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)


@lru_cache(maxsize=1)
def load_geography() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Return the Métropole's communes (population, postcodes, town hall) and its QPV, in WGS84."""
    communes = gpd.read_file(GEO_DIR / "communes_normandie.geojson")
    communes = communes.loc[communes["epci_siren"] == METROPOLE_SIREN, ["code_insee", "geometry"]]
    table = pd.read_csv(GEO_DIR / "communes_normandie_population.csv", dtype={"code_insee": str, "codes_postaux": str})
    qpv = gpd.read_file(GEO_DIR / "qpv2024_metropole_rouen.geojson")
    return (
        communes.merge(table, on="code_insee").sort_values("code_insee").set_index("code_insee"),
        qpv.sort_values("code_qp").set_index("code_qp"),
    )


def qpv_share(actors: pd.DataFrame, distance_m: float = 300.0) -> float:
    """Share of ``actors`` inside or within ``distance_m`` metres (EPSG:2154) of a QPV."""
    qpv = load_geography()[1].to_crs(2154).union_all()
    points = shapely.points(*_TO_LAMBERT.transform(actors["longitude"].astype(float), actors["latitude"].astype(float)))
    return float((shapely.distance(points, qpv) <= distance_m).mean())


def _apportion(weights: dict[str, float], total: int, floors: dict[str, int] | None = None) -> dict[str, int]:
    """Split ``total`` in proportion to ``weights`` (largest remainders), never under ``floors``."""
    floors = floors or {}
    quota = {k: total * w / sum(weights.values()) for k, w in weights.items()}
    counts = {k: max(int(q), floors.get(k, 0)) for k, q in quota.items()}
    while sum(counts.values()) < total:
        counts[max(quota, key=lambda k: (quota[k] - counts[k], k))] += 1
    while sum(counts.values()) > total:
        counts[min((k for k in counts if counts[k] > floors.get(k, 0)), key=lambda k: (quota[k] - counts[k], k))] -= 1
    return counts


def _draw_point(inside: shapely.Geometry, propose) -> tuple[float, float]:
    """Rejection sampling: call ``propose()`` for (lon, lat), rounded to 6 decimals, until inside."""
    shapely.prepare(inside)
    for _ in range(20_000):
        lon, lat = (round(v, 6) for v in propose())
        if inside.contains(Point(lon, lat)):
            return lon, lat
    raise RuntimeError("aucun point tiré dans la zone demandée")


def _town_hall_point(rng: random.Random, commune: pd.Series) -> tuple[float, float]:
    """A point inside the commune within 400 m of its town hall, or of its reference point when the
    town hall is unknown or lies outside the commune polygon (two such cases in the source file)."""
    lon, lat = commune["mairie_lon"], commune["mairie_lat"]
    if pd.isna(lon) or not commune["geometry"].contains(Point(lon, lat)):
        lon, lat = commune["point_lon"], commune["point_lat"]
    x0, y0 = _TO_LAMBERT.transform(lon, lat)

    def propose() -> tuple[float, float]:
        radius, angle = TOWN_HALL_RADIUS_M * math.sqrt(rng.random()), rng.uniform(0.0, 2 * math.pi)
        return _TO_WGS84.transform(x0 + radius * math.cos(angle), y0 + radius * math.sin(angle))

    # Keep 150 m off the commune's edge: where the Seine separates two communes the edge runs
    # mid-river, so this keeps riverside points on land (no water layer ships with the project).
    lambert = shapely.transform(commune["geometry"], _TO_LAMBERT.transform, interleaved=False)
    disc = Point(x0, y0).buffer(TOWN_HALL_RADIUS_M)
    inner = lambert.buffer(-INNER_MARGIN_M).intersection(disc)
    if inner.area > 0.2 * disc.area:
        target = shapely.transform(inner, _TO_WGS84.transform, interleaved=False)
        return _draw_point(target.intersection(commune["geometry"]), propose)
    return _draw_point(commune["geometry"], propose)


def _places(rng: random.Random) -> list[tuple[str, str | None, float, float]]:
    """(code_insee, QPV code or None, lon, lat) for every actor, shuffled."""
    communes, qpv = load_geography()
    population = communes["population"].to_dict()
    counts = _apportion(population, N_ACTORS, {c: 1 for c, p in population.items() if p > 5000})
    areas: dict[str, list[tuple[str, shapely.Geometry, float]]] = {}  # QPV parts by commune
    for code, row in qpv.iterrows():
        for insee in row["insee_communes"].split(";"):
            part = row["geometry"].intersection(communes.at[insee, "geometry"])
            size = shapely.transform(part, _TO_LAMBERT.transform, interleaved=False).area
            if size > 5000:  # skip slivers along commune borders
                areas.setdefault(insee, []).append((code, part, size))
    in_qpv = _apportion({c: counts[c] for c in areas}, QPV_SLOTS)
    places = []
    for insee, count in counts.items():
        for i in range(count):
            if i < in_qpv.get(insee, 0):
                code, part, _ = rng.choices(areas[insee], weights=[a[2] for a in areas[insee]])[0]
                lon, lat = _draw_point(part, lambda b=part.bounds: (rng.uniform(b[0], b[2]), rng.uniform(b[1], b[3])))
            else:
                code, (lon, lat) = None, _town_hall_point(rng, communes.loc[insee])
            places.append((insee, code, lon, lat))
    rng.shuffle(places)
    return places


def _pick(rng: random.Random, options: tuple[str, ...], k: int) -> str:
    """``k`` distinct options joined by |, the earlier ones likelier, kept in option order."""
    chosen: set[str] = set()
    while len(chosen) < min(k, len(options)):
        chosen.update(rng.choices(options, weights=[(len(options) - i) ** 2 for i in range(len(options))]))
    return "|".join(o for o in options if o in chosen)


def _flags(rng: random.Random, probabilities: dict[str, float]) -> list[str]:
    return [code for code, p in probabilities.items() if rng.random() < p]


def _phrases(themes: str) -> str:
    """« la contraception, l'IVG et le dépistage des IST et du VIH » for ``contraception|ivg|ist_vih``."""
    words = [THEME_PHRASES[t] for t in themes.split("|")][:3]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " et " + words[-1]


def _slug(text: str) -> str:
    """« Hélène » → ``helene``, « Le Goff » → ``le-goff``, « N'Diaye » → ``ndiaye``: an e-mail's part."""
    return "-".join(fold(text.replace("'", "").replace("\u2019", "")).split())


def make_demo_actors(seed: int = 76) -> pd.DataFrame:
    """Return the demo directory: 185 rows of strings, columns in the order of the directory's columns."""
    rng = random.Random(seed)
    consent = random.Random(seed + 1)  # own stream: the other fields stay as they were
    communes, qpv = load_geography()
    qpv_l93 = qpv.to_crs(2154).geometry
    places = _places(rng)
    outreach = sorted(rng.sample([i for i, place in enumerate(places) if place[1]], TYPE_COUNTS["aller_vers"]))
    others = [t for t, n in TYPE_COUNTS.items() if t != "aller_vers" for _ in range(n)]
    kinds = dict.fromkeys(outreach, "aller_vers") | dict(
        zip([i for i in range(N_ACTORS) if i not in outreach], rng.sample(others, len(others)), strict=True)
    )
    professions = list(PROFESSIONS) + rng.choices(
        list(PROFESSIONS), [p[0] for p in PROFESSIONS.values()], k=TYPE_COUNTS["professionnel"] - len(PROFESSIONS)
    )
    rng.shuffle(professions)
    people = rng.sample([(f, n) for f in FIRST_NAMES for n in LAST_NAMES], TYPE_COUNTS["professionnel"])
    phones = rng.sample(range(10_000), N_ACTORS)
    old = set(rng.sample(range(N_ACTORS), N_OLD))
    structure_order = rng.sample(range(len(STRUCTURES)), len(STRUCTURES))
    seen: Counter[str] = Counter()
    rows = []
    for i, (insee, qpv_code, lon, lat) in enumerate(places):
        kind, n, actor_id, commune = kinds[i], seen[kinds[i]], f"demo-{i + 1:03d}", communes.loc[insee]
        seen[kind] += 1
        first_day, days = (date(2023, 1, 1), 1033) if i in old else (date(2025, 11, 1), 364)
        row = dict.fromkeys(names(), "") | {
            "id": actor_id,
            "type": kind,
            "adresse": f"{rng.randint(1, 120)} {rng.choice(STREETS)}",
            "code_postal": commune["codes_postaux"].split(";")[0],
            "commune": commune["nom"],
            "code_insee": insee,
            "latitude": f"{lat:.6f}",
            "longitude": f"{lon:.6f}",
            "fictif": "oui",
            "telephone": f"02 61 91 {phones[i] // 100:02d} {phones[i] % 100:02d}",
            "langues": "|".join(
                ["français", *_flags(rng, {"anglais": 0.35}), *([rng.choice(LANGUAGES)] if rng.random() < 0.15 else [])]
            ),
            "email": f"contact.{actor_id}@example.org",
            "site_web": f"https://example.org/{actor_id}",
            "date_maj": (first_day + timedelta(days=rng.randint(0, days))).isoformat(),
        }
        # Places and actions are public; 40 % of the people agreed to be shown to visitors.
        row["visibilite"] = "public" if kind != "professionnel" or consent.random() < 0.4 else "membres"
        if kind == "professionnel":
            (first, last), profession = people[n], professions[n]
            _, label, themes, specialities, workplaces = PROFESSIONS[profession]
            chosen = _pick(rng, themes, rng.randint(2, 3))
            home = profession in ("sage_femme", "infirmier", "masseur_kinesitherapeute")
            row |= {
                "nom": f"{first} {last}",
                "profession": profession,
                "thematiques": chosen,
                "structure": rng.choice(workplaces).format(p=rng.choice(PLACES)),
                "publics": "tout_public"
                if rng.random() < 0.5
                else _pick(
                    rng, ("femmes", "jeunes", "mineurs", "lgbtqia", "precarite", "migrants", "hommes", "handicap"), 2
                ),
                "modalites": "|".join(
                    [
                        "sur_rdv",
                        *_flags(
                            rng, {"sans_rdv": 0.1, "teleconsultation": 0.2, "domicile": 0.4 * home, "interprete": 0.1}
                        ),
                    ]
                ),
                "accessibilite": "|".join(
                    _flags(rng, {"pmr": 0.6, "lsf": 0.04, "falc": 0.03, "boucle_magnetique": 0.05})
                ),
                "specialites": "|".join(rng.sample(specialities, rng.randint(0, min(2, len(specialities))))),
                "email": f"{_slug(first)}.{_slug(last)}@example.org",
                "site_web": f"https://example.org/{_slug(first)}-{_slug(last)}" if rng.random() < 0.25 else "",
                "description": f"{label} accueillant pour {_phrases(chosen)} (fiche fictive)",
            }
        elif kind == "structure":
            k = structure_order[n % len(STRUCTURES)]  # every kind once before any twice
            name, themes, publics, modalities = STRUCTURES[k]
            row |= {
                "nom": name.format(p=PLACES[(3 * k + n // len(STRUCTURES)) % len(PLACES)]),
                "thematiques": themes,
                "publics": publics,
                "modalites": modalities,
                "accessibilite": "|".join(
                    _flags(rng, {"pmr": 0.9, "lsf": 0.2, "falc": 0.25, "boucle_magnetique": 0.2})
                ),
                "description": f"Lieu d'accueil et d'orientation pour {_phrases(themes)} (fiche fictive)",
            }
        elif kind == "aller_vers":
            name, themes, publics = OUTREACH[n]
            base = Point(_TO_LAMBERT.transform(lon, lat))
            nearby = [code for code, shape in qpv_l93.items() if shape.distance(base) < 3000 and code != qpv_code]
            zones = [qpv_code, *rng.sample(nearby, min(len(nearby), rng.randint(1, 3))), insee]
            row |= {
                "nom": name,
                "thematiques": themes,
                "publics": publics,
                "modalites": "sans_rdv|gratuit|anonyme",
                "structure": f"Association {rng.choice(PLACES)} (fictive)",
                "zone_intervention": "|".join(zones),
                "description": f"Action d'aller-vers dans les quartiers pour {_phrases(themes)} (fiche fictive)",
            }
        else:
            venue = f"{BOX_VENUES[n]} {rng.choice(PLACES)}"
            row |= {
                "nom": f"Box protections périodiques – {venue} (fictive)",
                "structure": f"{venue} (lieu fictif)",
                "thematiques": "precarite_menstruelle",
                "publics": "tout_public|precarite|jeunes",
                "modalites": "sans_rdv|gratuit|anonyme",
                "accessibilite": "pmr",
                "description": "Protections périodiques gratuites, en libre accès (fiche fictive)",
            }
        rows.append(row)
    return pd.DataFrame(rows, columns=list(names()), dtype=str)


def write_demo_actors(path: str | Path, seed: int = 76) -> pd.DataFrame:
    """Write the demo directory to ``path`` (UTF-8, ``,`` separator) atomically and return it."""
    path = Path(path)
    frame = make_demo_actors(seed)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            frame.to_csv(stream, index=False, lineterminator="\n")
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return frame
