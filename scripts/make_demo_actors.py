"""Rewrite data/actors.csv from the deterministic demo generator (185 FICTIONAL actors).

Run from anywhere: ``python scripts/make_demo_actors.py`` (or ``make demo``). The same seed always
gives the same bytes; tests/test_demo.py checks that the committed file is exactly this output.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from reseaux.annuaire.demo import qpv_share, write_demo_actors

LABELS = {
    "professionnel": "professionnel·les",
    "structure": "structures",
    "aller_vers": "actions d'aller-vers",
    "distribution": "points de distribution",
}


def main() -> None:
    target = ROOT / "data" / "actors.csv"
    actors = write_demo_actors(target)
    counts = actors["type"].value_counts()
    detail = ", ".join(f"{counts.get(code, 0)} {label}" for code, label in LABELS.items())
    print(
        f"{len(actors)} fiches fictives écrites dans {target.relative_to(ROOT)} ({detail}) ; "
        f"{100 * qpv_share(actors):.0f} % dans un QPV ou à moins de 300 m."
    )


if __name__ == "__main__":
    main()
