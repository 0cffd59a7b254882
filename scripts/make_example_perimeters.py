"""Write geo/perimetres_exemple.csv: EXAMPLE perimeters of UTAS, CPTS and CMS sectors.

No open file gives the commune composition of the département's UTAS, of the CPTS or of the
CMS sectors. The Rouen network's fiche says the Métropole crosses 2 UTAS and 5 CPTS; the lists
below only draw plausible groupings of the Métropole's 71 communes so the map can show how such
layers look. Every perimeter is named « (exemple) ». Replace this file with the official lists
(same columns: couche, perimetre, niveau, code, libelle_source, note) — see docs/guide-utilisateur.md, « Remplacer les périmètres d'exemple ».
"""

from __future__ import annotations

import csv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

ELBEUF = "76231 76165 76640 76561 76178 76282 76486 76391 76705 76682 76457 76131"
ROUEN_NORTH = "76540 76095 76108 76451 76367 76377 76617 76273"
LEFT_BANK = "76322 76498 76681 76575 76497 76319 76484 76005 76039 76717 76350 76550 76634"
EAST = "76212 76103 76429 76475 76116 76448 76464 76514 76558 76560 76591 76599 76536 76069 76313 76753"
CAILLY = (
    "76157 76216 76410 76474 76366 76402 76222 76709 76750 76378 76436 76237 76608 76631 "
    "76636 76614 76354 76513 76088 76020 76056 76759"
)

PERIMETERS = {
    "UTAS": {
        "UTAS Agglomération d'Elbeuf (exemple)": ELBEUF,
        "UTAS Agglomération de Rouen (exemple)": " ".join([ROUEN_NORTH, LEFT_BANK, EAST, CAILLY]),
    },
    "CPTS": {
        "CPTS Rouen Centre et Plateaux Nord (exemple)": ROUEN_NORTH,
        "CPTS Rive gauche (exemple)": LEFT_BANK,
        "CPTS Plateaux Est (exemple)": EAST,
        "CPTS Vallées du Cailly et de Seine (exemple)": CAILLY,
        "CPTS Elbeuf Seine Sud (exemple)": ELBEUF,
    },
    "CMS": {
        "CMS Rouen (exemple)": "76540",
        "CMS Rive gauche (exemple)": "76322 76498 76681 76497 76319 76717 76350 76550 76634",
        "CMS Saint-Étienne-du-Rouvray (exemple)": "76575 76484 76005 76039",
        "CMS Plateaux (exemple)": " ".join([EAST, "76095 76108 76377 76617 76273"]),
        "CMS Cailly (exemple)": " ".join([CAILLY, "76451 76367"]),
        "CMS Elbeuf (exemple)": ELBEUF,
    },
}


def main() -> None:
    names = {}
    with open(ROOT / "geo" / "communes_normandie_population.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            names[row["code_insee"]] = row["nom"]
    out = ROOT / "geo" / "perimetres_exemple.csv"
    with open(out, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["couche", "perimetre", "niveau", "code", "libelle_source", "note"])
        for layer, perimeters in PERIMETERS.items():
            for name, codes in perimeters.items():
                for code in codes.split():
                    writer.writerow(
                        [layer, name, "commune", code, names[code], "exemple : composition non officielle, à remplacer"]
                    )
    print(f"{out.relative_to(ROOT)} écrit.")


if __name__ == "__main__":
    main()
