"""A real addok geocoder on loopback for the integration tests: Redis + addok, started and stopped.

The index is built from the street addresses of the FINESS establishments shipped in
``geo/finess_hopitaux_normandie_2020.geojson`` (real addresses with real positions).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import geopandas as gpd

from tests.conftest import ROOT, free_port

ADDOK = str(Path(sys.executable).with_name("addok"))
REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"

CONFIG = """
REDIS = {{"host": "127.0.0.1", "port": {redis_port}, "indexes": {{"db": 0}}, "documents": {{"db": 1}}}}
FILTERS = ["type", "postcode", "citycode"]
CSV_EXTRA_FIELDS = ["citycode", "postcode", "city"]
BATCH_WORKERS = 1
LOG_DIR = {log_dir!r}
QUERY_PROCESSORS_PYPATHS = [
    "addok.helpers.text.check_query_length",
    "addok_france.extract_address",
    "addok_france.clean_query",
    "addok_france.remove_leading_zeros",
]
SEARCH_RESULT_PROCESSORS_PYPATHS = [
    "addok.helpers.results.match_housenumber",
    "addok_france.make_labels",
    "addok.helpers.results.score_by_importance",
    "addok.helpers.results.score_by_autocomplete_distance",
    "addok.helpers.results.score_by_ngram_distance",
    "addok.helpers.results.score_by_geo_distance",
]
PROCESSORS_PYPATHS = [
    "addok.helpers.text.tokenize",
    "addok.helpers.text.normalize",
    "addok_france.glue_ordinal",
    "addok_france.fold_ordinal",
    "addok_france.flag_housenumber",
    "addok.helpers.text.synonymize",
    "addok_fr.phonemicize",
]
"""


def finess_addresses() -> gpd.GeoDataFrame:
    """FINESS establishments with a house number and a street, and their known positions."""
    frame = gpd.read_file(ROOT / "geo" / "finess_hopitaux_normandie_2020.geojson")
    frame = frame[frame["in_normandie"].astype(str).str.lower().eq("true")]
    frame = frame[frame["house_number"].notna() & frame["street"].notna() & frame["geo_qual"].eq("1")]
    frame = frame.drop_duplicates(subset=["house_number", "street", "postcode", "city"])
    return frame.reset_index(drop=True)


def documents(frame: gpd.GeoDataFrame) -> list[dict]:
    """addok documents in the BAN format: one per street with its house numbers, one per city."""
    streets: dict[tuple, dict] = {}
    cities: dict[tuple, dict] = {}
    for row in frame.itertuples():
        key = (row.street, row.postcode, row.city)
        doc = streets.setdefault(
            key,
            {
                "id": f"s{len(streets)}",
                "type": "street",
                "name": row.street.title(),
                "postcode": row.postcode,
                "city": row.city.title(),
                "lat": row.geometry.y,
                "lon": row.geometry.x,
                "importance": 0.5,
                "housenumbers": {},
            },
        )
        doc["housenumbers"][str(row.house_number).lower()] = {"lat": row.geometry.y, "lon": row.geometry.x}
        cities.setdefault(
            (row.postcode, row.city),
            {
                "id": f"m{len(cities)}",
                "type": "municipality",
                "name": row.city.title(),
                "postcode": row.postcode,
                "lat": row.geometry.y,
                "lon": row.geometry.x,
                "importance": 0.8,
            },
        )
    return list(streets.values()) + list(cities.values())


class AddokServer:
    def __init__(self, workdir: Path, docs: list[dict]) -> None:
        self.workdir = workdir
        self.docs = docs
        self.redis_port = free_port()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes: list[subprocess.Popen] = []

    def __enter__(self) -> AddokServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.processes.append(
            subprocess.Popen(
                [
                    REDIS,
                    "--port",
                    str(self.redis_port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.workdir),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        config = self.workdir / "addok.conf"
        config.write_text(CONFIG.format(redis_port=self.redis_port, log_dir=str(self.workdir)), encoding="utf-8")
        env = {**os.environ, "ADDOK_CONFIG_MODULE": str(config)}
        self._wait_redis()
        data = self.workdir / "docs.ndjson"
        data.write_text("\n".join(json.dumps(d) for d in self.docs) + "\n", encoding="utf-8")
        for command in (["batch", str(data)], ["ngrams"]):
            subprocess.run([ADDOK, *command], env=env, check=True, capture_output=True, timeout=120)
        self.processes.append(
            subprocess.Popen(
                [ADDOK, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2):
                    return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("addok did not start")

    def _wait_redis(self) -> None:
        import socket

        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.redis_port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop_http(self) -> None:
        """Stop addok's HTTP server only (to test what happens when the geocoder goes away)."""
        server = self.processes.pop()
        server.terminate()
        server.wait(timeout=10)

    def __exit__(self, *exc) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
        self.processes.clear()
