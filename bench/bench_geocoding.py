"""Geocoding throughput: a 10,000-row batch through /search/csv against a local addok, then the
same rows again, every address in the cache. Prints a Markdown table; medians over runs.

Run with `make bench` (not part of `make test`).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import describe
from reseaux.territoire.commune_locator import CommuneLocator
from reseaux.territoire.geocode_cache import GeoCache
from reseaux.territoire.geocoder_client import Geocoder
from reseaux.territoire.geocoding import geocode_rows
from tests.addok_server import AddokServer, documents, finess_addresses

N_ROWS = 10_000
RUNS = 3


def rows(addresses) -> list[dict[str, str]]:
    """10,000 distinct addresses: the indexed streets with house numbers 1, 2, 3…"""
    out = []
    number = 0
    while len(out) < N_ROWS:
        number += 1
        for row in addresses.itertuples():
            out.append(
                {
                    "adresse": f"{number} {row.street}",
                    "code_postal": row.postcode,
                    "commune": row.city,
                    "latitude": "",
                    "longitude": "",
                    "geocodage_source": "",
                }
            )
            if len(out) == N_ROWS:
                break
    return out


def main() -> None:
    addresses = finess_addresses()
    communes = CommuneLocator.from_csv(ROOT / "geo" / "communes_normandie_population.csv")
    online, cached = [], []
    with tempfile.TemporaryDirectory() as tmp, AddokServer(Path(tmp) / "addok", documents(addresses)) as addok:
        for run in range(RUNS):
            cache = GeoCache(Path(tmp) / f"cache{run}.sqlite")
            batch = rows(addresses)
            geocoder = Geocoder(addok.url)
            start = time.perf_counter()
            summary = geocode_rows(batch, geocoder=geocoder, cache=cache, communes=communes)
            online.append(time.perf_counter() - start)
            print(summary.sentence(), f"{summary.requests} requêtes", file=sys.stderr)
            again = rows(addresses)
            geocoder = Geocoder(addok.url)
            start = time.perf_counter()
            summary = geocode_rows(again, geocoder=geocoder, cache=cache, communes=communes)
            cached.append(time.perf_counter() - start)
            assert geocoder.requests == 0
            cache.close()
    print(f"### Géocodage — {describe()}\n")
    print(f"{N_ROWS} adresses distinctes, addok {RUNS} fois (médiane) :\n")
    print("| Cas | Durée médiane | Adresses/s |")
    print("|---|---|---|")
    for label, times in (("/search/csv sur addok local (lots de 500)", online), ("tout depuis le cache", cached)):
        median = statistics.median(times)
        print(f"| {label} | {median:.2f} s | {N_ROWS / median:,.0f} |".replace(",", " "))


if __name__ == "__main__":
    main()
