"""« Couverture » at 100,000 and 1,000,000 actors: what a run of the page's script costs when a
person changes what the map shows, and when another person opens the same link.

For each size, a synthetic directory (``bench/synthetic.py``, fixed seed) is written as a file; in a
fresh process, the page is run as the server runs it (Streamlit's ``AppTest``: the script, its
caches and its session, without a browser), as a visitor:

1. the page opened on the 16 QPV (the directory read and its proximity index built: not counted);
2. the layer changed to the 2,644 communes of Normandie, every actor: the coverage measured
   (« première question »);
3. the measure shown changed (« Acteurs pour 10 000 habitants »): a rerun, the same question;
4. another session opening the same link (layer, theme): another person, the same question.

Each step's seconds, one run each (the first step takes the directory's reading). Steps 3 and 4
ask a question already answered: the page answers them from what it measured
(``ui.couverture.computed``); ``--code`` measures a checkout from before (each rerun measured the
coverage again: 5.9 s at a million actors). Run alone: ``python bench/bench_couverture_rerun.py [--tailles 100000]``
(``--code DOSSIER``: the app of another checkout, to measure a version before).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

SIZES = (100_000, 1_000_000)
TITLE = "## « Couverture » : changer la mesure montrée, ouvrir le même lien"
STEPS = ("opened", "communes", "measure", "other")


def run_steps(code: Path) -> dict:
    """In this (fresh) process: the four steps, timed."""
    from streamlit.testing.v1 import AppTest

    import reseaux
    from bench.per_size import peak_mb

    assert Path(reseaux.__file__).is_relative_to(code), f"{reseaux.__file__} n'est pas le code de {code}"

    def opened(**query):
        at = AppTest.from_file(str(code / "app.py"), default_timeout=1800)
        at.switch_page("views/couverture.py")
        for key, value in query.items():
            at.query_params[key] = value
        return at

    out = {}
    start = time.perf_counter()
    at = opened(couche="qpv").run()
    out["opened"] = time.perf_counter() - start
    assert not at.exception, at.exception
    start = time.perf_counter()
    at.selectbox(key="cv_layer").set_value("communes_normandie").run()
    out["communes"] = time.perf_counter() - start
    start = time.perf_counter()
    at.radio(key="cv_measure").set_value("per_10k").run()
    out["measure"] = time.perf_counter() - start
    assert not at.exception, at.exception
    start = time.perf_counter()
    other = opened(couche="communes_normandie").run()
    out["other"] = time.perf_counter() - start
    assert not other.exception, other.exception
    out["memory"] = peak_mb()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tailles", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--code", default=str(ROOT), help=argparse.SUPPRESS)
    parser.add_argument("--etapes", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    code = Path(args.code)
    if args.etapes:
        sys.path[:0] = [str(code / "src"), str(code)]  # that checkout's app, not this one's
        os.chdir(code)
        print(json.dumps(run_steps(code)))
        return
    from bench.per_size import french, heading, size_text
    from bench.report import replace_section
    from bench.synthetic import synthetic_table
    from reseaux.annuaire.store import encode_table

    began, when, load = time.perf_counter(), datetime.now().strftime("%Y-%m-%d %H:%M"), os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory(prefix="reseaux-couverture-") as tmp:
        for size in args.tailles:
            path = Path(tmp) / f"actors_{size}.csv"
            path.write_bytes(encode_table(synthetic_table(size)))
            env = {
                **os.environ,
                "RESEAUX_ACTORS": str(path),
                "RESEAUX_GEOCACHE": str(Path(tmp) / f"cache_{size}" / "geocodage.sqlite"),
                "PYTHONPATH": f"{code / 'src'}:{code}:{ROOT}",
            }
            done = subprocess.run(
                [sys.executable, __file__, "--etapes", "--code", str(code)],
                env=env,
                check=True,
                capture_output=True,
                text=True,
                timeout=7200,
            )
            row = {"size": size, **json.loads(done.stdout.strip().splitlines()[-1])}
            print(row, flush=True)
            rows.append(row)
            path.unlink()
    lines = heading(
        TITLE,
        when,
        (time.perf_counter() - began) / 60,
        load,
        "Annuaires synthétiques (`bench/synthetic.py`, graine fixe), lus d'un fichier ; la page lancée comme "
        "le serveur la lance (`AppTest` de Streamlit : le script, ses caches et sa session, sans navigateur), "
        "pour un·e visiteur·se, dans un processus neuf par taille : ouverte sur les 16 QPV (lecture de "
        "l'annuaire comprise), puis la couche changée pour les 2 644 communes de Normandie (tous les acteurs, 1 km : "
        "la couverture mesurée), puis la mesure montrée changée (une relance, la même question), puis une "
        "autre session ouvrant le même lien. Une mesure par étape.",
    )
    lines += [
        "| Acteurs | Ouverture (lecture comprise) | Communes : première question | Mesure montrée changée "
        "| Même lien, autre session | Mémoire max. |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {size_text(row['size'])} | {french(row['opened'], 1)} s | {french(row['communes'])} s "
            f"| {french(row['measure'])} s | {french(row['other'])} s | {french(row['memory'] / 1024)} Gio |"
        )
    lines.append("")
    print("\n".join(lines))
    if code == ROOT:
        replace_section(lines, TITLE)


if __name__ == "__main__":
    main()
