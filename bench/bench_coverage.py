"""Coverage: every Normandie commune (2,644) × every theme, and the QPV, at 10,000 actors."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import describe
from bench.synthetic import synthetic_actors
from reseaux.analyse.coverage import PreparedLayer, actor_points, coverage_table, theme_matrix
from reseaux.annuaire.referential import load_referential
from reseaux.app_data import load_territory

RUNS = 5


def main() -> None:
    ref = load_referential(ROOT / "data" / "referentiel.csv")
    territory = load_territory()
    labels = ref.labels("thematique")
    print(f"### Couverture — {describe()}\n")
    print("| Acteurs | Couche | Périmètres | Calcul | Médiane |")
    print("|---|---|---|---|---|")
    for n in (10_000, 100_000):
        actors = synthetic_actors(n)
        for layer_id in ("communes_normandie", "qpv"):
            layer = PreparedLayer.build(territory.layers[layer_id])
            times = []
            for _ in range(RUNS):
                start = time.perf_counter()
                theme_matrix(layer, actors, list(labels), labels, distance_m=1000)
                times.append(time.perf_counter() - start)
            print(
                f"| {n:,} | {layer_id} | {len(layer.frame):,} | matrice × {len(labels)} thématiques | "
                f"{statistics.median(times):.2f} s |".replace(",", " ")
            )
            points = actor_points(actors)
            times = []
            for _ in range(RUNS):
                start = time.perf_counter()
                coverage_table(layer, points, distance_m=1000)
                times.append(time.perf_counter() - start)
            print(
                f"| {n:,} | {layer_id} | {len(layer.frame):,} | tableau complet (toutes mesures) | "
                f"{statistics.median(times):.2f} s |".replace(",", " ")
            )


if __name__ == "__main__":
    main()
