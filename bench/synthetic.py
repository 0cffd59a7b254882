"""Deterministic synthetic directories for the benchmarks: n actors over Normandie's 2,644 communes.

Communes are drawn with their population as weight; each actor stands near its commune's inner
point; themes, professions, types, publics and modalities are drawn from the referential.
Every row is a valid directory row (the loader accepts it). Nothing here is real: names are
« Acteur synthétique n ».

Up to :data:`EXACT_UP_TO` rows, the codes of each row are drawn row by row, as they always were:
the 1,000, 10,000 and 100,000 tables are byte for byte those of the published results. Beyond
(1,000,000 rows), the same draws are made for all rows at once (0.7 s instead of ~25 s): another
table, as deterministic (same seed, same table at every run).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from reseaux.annuaire.columns import names
from reseaux.annuaire.referential import load_referential

ROOT = Path(__file__).resolve().parents[1]
#: Largest size drawn row by row (see the module's docstring).
EXACT_UP_TO = 100_000


def synthetic_table(n: int, seed: int = 28) -> pd.DataFrame:
    """The directory as the file holds it (strings), ``n`` rows."""
    rng = np.random.default_rng(seed)
    ref = load_referential(ROOT / "data" / "referentiel.csv")
    communes = pd.read_csv(
        ROOT / "geo" / "communes_normandie_population.csv", dtype={"code_insee": str, "codes_postaux": str}
    )
    weights = communes["population"] / communes["population"].sum()
    picks = rng.choice(len(communes), size=n, p=weights)
    chosen = communes.iloc[picks]
    lon = chosen["point_lon"].to_numpy() + rng.normal(0, 0.01, n)
    lat = chosen["point_lat"].to_numpy() + rng.normal(0, 0.007, n)
    shares = {"structure": 0.25, "professionnel": 0.65, "aller_vers": 0.04, "distribution": 0.06}
    types = rng.choice(list(shares), size=n, p=list(shares.values()))  # the demo's four kinds of actors
    professions = np.where(types == "professionnel", rng.choice(ref.codes("profession"), size=n), "")

    def draw(category: str, low: int, high: int) -> list[str]:
        codes = ref.codes(category)
        if n <= EXACT_UP_TO:
            return ["|".join(rng.choice(codes, size=rng.integers(low, high + 1), replace=False)) for _ in range(n)]
        return draw_all(rng, codes, low, high, n)

    table = pd.DataFrame({c: "" for c in names()}, index=range(n))
    table["id"] = [f"syn-{i:06d}" for i in range(n)]
    table["nom"] = [f"Acteur synthétique {i}" for i in range(n)]
    table["type"] = types
    table["profession"] = professions
    table["thematiques"] = draw("thematique", 1, 3)
    table["publics"] = draw("public", 1, 2)
    table["modalites"] = draw("modalite", 1, 3)
    table["code_postal"] = chosen["codes_postaux"].str.split(r"[;, ]", regex=True).str[0].fillna("").to_numpy()
    table["commune"] = chosen["nom"].to_numpy()
    table["code_insee"] = chosen["code_insee"].to_numpy()
    table["latitude"] = [f"{v:.6f}" for v in lat]
    table["longitude"] = [f"{v:.6f}" for v in lon]
    table["telephone"] = [f"02 61 91 {i % 100:02d} {(i // 100) % 100:02d}" for i in range(n)]
    table["fictif"] = "oui"
    table["visibilite"] = "public"  # the browser benchmark runs as a visitor: show everything
    return table


def draw_all(rng: np.random.Generator, codes: list[str], low: int, high: int, n: int) -> list[str]:
    """For each of ``n`` rows, between ``low`` and ``high`` distinct codes joined by « | », in a random
    order: the first ``k`` of a random permutation of the codes (argsort of uniform keys), all rows at once."""
    count = rng.integers(low, high + 1, size=n)
    firsts = np.argsort(rng.random((n, len(codes))), axis=1)[:, :high]
    picked = np.asarray(codes, dtype=object)[firsts]
    joined = picked[:, 0].copy()
    for column in range(1, high):
        more = count > column
        joined[more] = joined[more] + "|" + picked[more, column]
    return joined.tolist()


def synthetic_actors(n: int, seed: int = 28) -> gpd.GeoDataFrame:
    """The same rows, loaded and validated like the real directory."""
    from reseaux.annuaire.directory import load_directory
    from reseaux.annuaire.store import encode_table

    directory = load_directory(
        encode_table(synthetic_table(n, seed)), load_referential(ROOT / "data" / "referentiel.csv")
    )
    assert not directory.errors, directory.errors[:3]
    return directory.actors
