"""Nearest-partner query time at 1,000 / 10,000 / 100,000 actors (medians over 200 queries).

Actors are spread over Normandie's communes (around each commune's inner point, drawn with
the commune's population as weight); run with `make bench`.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import describe
from reseaux.analyse.proximity import ProximityIndex, nearest

THEMES = ["ivg", "contraception", "ist_vih", "vif", "sante_mentale"]


def synthetic(n: int, seed: int = 28) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    communes = pd.read_csv(ROOT / "geo" / "communes_normandie_population.csv")
    weights = communes["population"] / communes["population"].sum()
    picks = rng.choice(len(communes), size=n, p=weights)
    lon = communes["point_lon"].to_numpy()[picks] + rng.normal(0, 0.01, n)
    lat = communes["point_lat"].to_numpy()[picks] + rng.normal(0, 0.007, n)
    themes = [tuple(rng.choice(THEMES, size=2, replace=False)) for _ in range(n)]
    return pd.DataFrame(
        {"id": [f"s{i}" for i in range(n)], "nom": "", "thematiques": themes, "latitude": lat, "longitude": lon}
    )


def main() -> None:
    rng = np.random.default_rng(1)
    print(f"### Requête « plus proches » — {describe()}\n")
    print("| Acteurs | Construction de l'index | Requête k=10, 10 km (médiane) | Avec filtre thématique |")
    print("|---|---|---|---|")
    for n in (1_000, 10_000, 100_000):
        actors = synthetic(n)
        start = time.perf_counter()
        index = ProximityIndex.build(actors)
        build = time.perf_counter() - start
        mask = index.frame["thematiques"].map(lambda t: "ivg" in t).to_numpy()
        plain, filtered = [], []
        for _ in range(200):
            lat, lon = rng.uniform(48.9, 49.7), rng.uniform(-0.5, 1.6)
            start = time.perf_counter()
            nearest(index, lat, lon, k=10, radius_m=10_000)
            plain.append(time.perf_counter() - start)
            start = time.perf_counter()
            nearest(index, lat, lon, mask=mask, k=10, radius_m=10_000)
            filtered.append(time.perf_counter() - start)
        print(
            f"| {n:,} | {build * 1000:.0f} ms | {statistics.median(plain) * 1000:.2f} ms | "
            f"{statistics.median(filtered) * 1000:.2f} ms |".replace(",", " ")
        )


if __name__ == "__main__":
    main()
