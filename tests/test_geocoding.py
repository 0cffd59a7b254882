"""Geocoding without a network: answers parsed, cache, commune fallback, the `manuel` rule,
retries, atomic rewrite. The real geocoder is exercised in test_addok.py."""

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from reseaux.annuaire.directory import DirectoryError
from reseaux.territoire.commune_locator import CommuneLocator
from reseaux.territoire.geocode_cache import GeoCache, address_key
from reseaux.territoire.geocode_file import geocode_file
from reseaux.territoire.geocoder_client import Geocoder, Match, parse_csv_answer, parse_feature
from reseaux.territoire.geocoding import geocode_rows
from tests.conftest import ROOT

COMMUNES = ROOT / "geo" / "communes_normandie_population.csv"
FEATURE = {
    "type": "Feature",
    "geometry": {"type": "Point", "coordinates": [1.099821, 49.443269]},
    "properties": {
        "label": "1 Place du Général de Gaulle 76000 Rouen",
        "score": 0.97,
        "type": "housenumber",
        "citycode": "76540",
    },
}


class FakeBan:
    """Answers /search/csv like the BAN: a known address is found, others are not. Counts calls."""

    def __init__(self, known: dict[str, tuple[float, float, float]], fail_first: int = 0, down: bool = False):
        self.known = known
        self.calls = 0
        self.fail_first = fail_first
        self.down = down

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if self.calls <= self.fail_first:
            return httpx.Response(503)
        body = request.read().decode("utf-8")
        boundary = request.headers["content-type"].split("boundary=")[1]
        part = next(p for p in body.split("--" + boundary) if 'name="data"' in p)
        rows = list(csv.DictReader(io.StringIO(part.split("\r\n\r\n", 1)[1].removesuffix("\r\n"))))
        out = io.StringIO()
        writer = csv.DictWriter(
            out,
            fieldnames=[
                *rows[0].keys(),
                "latitude",
                "longitude",
                "result_label",
                "result_score",
                "result_type",
                "result_citycode",
            ],
        )
        writer.writeheader()
        for row in rows:
            hit = self.known.get(row["adresse"])
            if hit:
                row.update(
                    latitude=hit[0],
                    longitude=hit[1],
                    result_label=row["adresse"].title(),
                    result_score=hit[2],
                    result_type="housenumber",
                    result_citycode="76540",
                )
            writer.writerow(row)
        return httpx.Response(200, text=out.getvalue())


def geocoder(fake):
    return Geocoder("http://ban.invalid", transport=httpx.MockTransport(fake), rate=1000)


@pytest.fixture()
def communes():
    return CommuneLocator.from_csv(COMMUNES)


@pytest.fixture()
def cache(tmp_path):
    store = GeoCache(tmp_path / "cache.sqlite")
    yield store
    store.close()


def rows():
    return [
        {
            "adresse": "1 place du Général de Gaulle",
            "code_postal": "76000",
            "commune": "Rouen",
            "latitude": "",
            "longitude": "",
            "code_insee": "",
            "geocodage_source": "",
        },
        {
            "adresse": "3 rue Inconnue",
            "code_postal": "76120",
            "commune": "Le Grand-Quevilly",
            "latitude": "",
            "longitude": "",
            "code_insee": "",
            "geocodage_source": "",
        },
        {
            "adresse": "2 rue Déplacée",
            "code_postal": "76000",
            "commune": "Rouen",
            "latitude": "49.4",
            "longitude": "1.1",
            "code_insee": "",
            "geocodage_source": "manuel",
        },
        {
            "adresse": "4 rue Douteuse",
            "code_postal": "76000",
            "commune": "Rouen",
            "latitude": "",
            "longitude": "",
            "code_insee": "",
            "geocodage_source": "",
        },
    ]


KNOWN = {"1 place du Général de Gaulle": (49.443269, 1.099821, 0.97), "4 rue Douteuse": (49.44, 1.09, 0.31)}


def test_parse_a_search_answer_and_a_csv_answer():
    assert parse_feature(FEATURE) == Match(
        49.443269, 1.099821, 0.97, "housenumber", "1 Place du Général de Gaulle 76000 Rouen", "76540"
    )
    text = (
        "rx_id,adresse,latitude,longitude,result_label,result_score,result_type,result_citycode\n"
        "1,b,49.1,1.2,B,0.8,street,76540\n0,a,,,,,,\n"
    )
    assert parse_csv_answer(text, 2) == [None, Match(49.1, 1.2, 0.8, "street", "B", "76540")]


def test_address_key_ignores_accents_case_and_spacing():
    a = {"adresse": "1 Place du Général-de-Gaulle", "code_postal": "76 000", "commune": "ROUEN"}
    b = {"adresse": "1  place du general de gaulle", "code_postal": "76000", "commune": "rouen"}
    assert address_key(a) == address_key(b)
    assert address_key(a) != address_key({**b, "code_postal": "76100"})


def test_cache_persists_answers_and_not_found(tmp_path):
    store = GeoCache(tmp_path / "c.sqlite")
    store.put_many([("a", Match(1.0, 2.0, 0.9, "street", "A")), ("b", None)])
    store.close()
    store = GeoCache(tmp_path / "c.sqlite")
    assert store.get("a") == Match(1.0, 2.0, 0.9, "street", "A")
    assert store.get("b") is None
    assert store.get("c") is GeoCache.MISSING
    store.close()


def test_commune_locator_by_code_or_by_postcode_and_name(communes):
    code, match = communes.locate({"code_insee": "76540"})
    assert code == "76540" and match.type == "municipality" and match.score == 0.1
    assert communes.locate({"code_postal": "76120", "commune": "le grand quevilly"})[0] == "76322"
    assert communes.locate({"code_postal": "99999", "commune": "Nulle Part"}) is None


def test_geocode_rows_then_a_second_run_makes_no_request(cache, communes):
    fake = FakeBan(KNOWN)
    first = rows()
    summary = geocode_rows(first, geocoder=geocoder(fake), cache=cache, communes=communes)
    assert fake.calls == 1  # one /search/csv for the three addresses
    assert (summary.geocoded, summary.not_found, summary.below_min_score, summary.skipped_manual) == (1, 1, 1, 1)
    assert first[0]["geocodage_source"] == "ban" and first[0]["latitude"] == "49.443269"
    assert first[0]["code_insee"] == "76540" and first[0]["geocodage_type"] == "housenumber"
    # Not found and below the minimum score: placed at the commune, reported with their line.
    assert first[1]["geocodage_source"] == "commune" and first[1]["code_insee"] == "76322"
    assert first[3]["geocodage_source"] == "commune"
    assert [line for line, _ in summary.problems] == [3, 5]
    assert "score 0,31 < 0,5" in summary.problems[1][1]  # French numbers
    # The hand-placed position is untouched.
    assert (first[2]["latitude"], first[2]["geocodage_source"]) == ("49.4", "manuel")

    again = rows()
    fake_again = FakeBan(KNOWN)
    summary = geocode_rows(again, geocoder=geocoder(fake_again), cache=cache, communes=communes)
    assert fake_again.calls == 0
    assert summary.from_cache == 1 and again[0]["geocodage_source"] == "cache"


def test_force_never_overwrites_a_manual_position(cache, communes):
    data = rows()
    data[2]["adresse"] = "1 place du Général de Gaulle"
    geocode_rows(data, geocoder=geocoder(FakeBan(KNOWN)), cache=cache, communes=communes, force=True)
    assert (data[2]["latitude"], data[2]["longitude"], data[2]["geocodage_source"]) == ("49.4", "1.1", "manuel")


def test_a_position_typed_without_source_is_kept(cache, communes):
    data = [
        {
            "adresse": "1 place du Général de Gaulle",
            "code_postal": "76000",
            "commune": "Rouen",
            "latitude": "49.5",
            "longitude": "1.2",
            "geocodage_source": "",
        }
    ]
    summary = geocode_rows(data, geocoder=geocoder(FakeBan(KNOWN)), cache=cache, communes=communes, force=True)
    assert data[0]["latitude"] == "49.5" and summary.skipped_manual == 1


def test_retries_then_succeeds(cache, communes):
    fake = FakeBan(KNOWN, fail_first=2)
    summary = geocode_rows(rows()[:1], geocoder=geocoder(fake), cache=cache, communes=communes)
    assert fake.calls == 3 and summary.geocoded == 1


def test_unreachable_geocoder_falls_back_to_the_commune_and_says_so(cache, communes):
    fake = FakeBan(KNOWN, down=True)
    data = rows()
    summary = geocode_rows(data, geocoder=geocoder(fake), cache=cache, communes=communes)
    assert summary.offline and summary.commune == 3 and summary.geocoded == 0
    assert fake.calls == 3  # retried, then gave up
    assert data[0]["geocodage_source"] == "commune" and data[0]["code_insee"] == "76540"
    assert "géocodeur injoignable" in summary.sentence()
    assert len(cache) == 0  # a fallback is never cached: the next run online will try again


def write_directory(path):
    path.write_text(
        "id;nom;type;thematiques;adresse;code_postal;commune;latitude;longitude;colonne_perso\n"
        "a;A;structure;ivg;1 place du Général de Gaulle;76000;Rouen;;;garder\n"
        "b;B;structure;football;3 rue Inconnue;76120;Le Grand-Quevilly;;;moi aussi\n",
        encoding="cp1252",
    )


def test_geocode_file_offline_keeps_every_row_and_column(tmp_path):
    path = tmp_path / "actors.csv"
    write_directory(path)
    summary = geocode_file(path, offline=True, cache_path=tmp_path / "c.sqlite", communes_path=COMMUNES)
    assert summary.commune == 2 and summary.offline
    # Offline was asked for: nobody is blamed.
    assert "hors ligne, comme demandé" in summary.sentence() and "injoignable" not in summary.sentence()
    text = path.read_text(encoding="cp1252")
    lines = text.splitlines()
    # Saved through the store, in the directory's column order: the unknown column is kept, the
    # geocoding columns are added.
    header = lines[0].split(";")
    assert {
        "colonne_perso",
        "code_insee",
        "geocodage_score",
        "geocodage_type",
        "geocodage_label",
        "geocodage_source",
    } <= set(header)
    assert "football" in lines[2] and "moi aussi" in lines[2]  # a row with an error is not lost
    assert ";commune" in lines[1] and "76540" in lines[1]


@pytest.mark.parametrize(
    "header, row, named",
    [
        ("id;nom;type;commune;", "a;A;structure;Rouen;mot de passe", "colonne E (5e), sans nom"),
        ("id;nom;type;commune;nom", "a;A;structure;Rouen;Autre nom", "seconde colonne « nom » (colonne E)"),
        ("id;nom;type;commune", "a;A;structure;Rouen;au-delà", "cellules au-delà de la dernière colonne (colonne E)"),
    ],
)
def test_geocode_file_refuses_a_column_it_could_not_keep_and_writes_nothing(tmp_path, header, row, named):
    """A column without a name, the second copy of a repeated name, cells beyond the header: the
    table the store saves has no place for them, and the command deleted them without a word."""
    path = tmp_path / "actors.csv"
    path.write_text(f"{header}\n{row}\nb;B;structure;Rouen\n", encoding="utf-8")
    before = path.read_bytes()
    with pytest.raises(DirectoryError) as refused:
        geocode_file(path, offline=True, cache_path=tmp_path / "c.sqlite", communes_path=COMMUNES)
    message = str(refused.value)
    assert named in message and "ligne 2" in message and "rien n'a été écrit" in message
    assert "donnez-lui un nom" in message or "renommez" in message
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["actors.csv"]  # no backup, no journal


def test_geocode_file_keeps_an_empty_column_without_a_name_out_of_its_way(tmp_path):
    """A column without a name and without values (a line ending with « ; ») is nothing to lose."""
    path = tmp_path / "actors.csv"
    path.write_text("id;nom;type;commune;\na;A;structure;Rouen;\n", encoding="utf-8")
    assert geocode_file(path, offline=True, cache_path=tmp_path / "c.sqlite", communes_path=COMMUNES).commune == 1


def test_the_command_names_the_column_it_would_lose(tmp_path):
    path = tmp_path / "actors.csv"
    path.write_text("id;nom;type;commune;\na;A;structure;Rouen;secret\n", encoding="utf-8")
    env = {**os.environ, "RESEAUX_GEOCACHE": str(tmp_path / "c.sqlite")}
    result = subprocess.run(
        [sys.executable, "-m", "reseaux", "geocode", str(path), "--offline", "--quiet"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "colonne E (5e), sans nom" in result.stderr and "secret" in path.read_text(encoding="utf-8")


def test_a_crash_while_writing_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "actors.csv"
    write_directory(path)
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError("disque plein (simulé)")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        geocode_file(path, offline=True, cache_path=tmp_path / "c.sqlite", communes_path=COMMUNES)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_cli_geocode_offline(tmp_path):
    path = tmp_path / "actors.csv"
    write_directory(path)
    env = {**os.environ, "RESEAUX_GEOCACHE": str(tmp_path / "c.sqlite")}
    result = subprocess.run(
        [sys.executable, "-m", "reseaux", "geocode", str(path), "--offline", "--quiet"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "2 placées à leur commune" in result.stderr and "Traceback" not in result.stderr


def test_the_command_without_a_file_geocodes_the_database_not_a_file_left_behind(tmp_path, database_url):
    # On PostgreSQL the directory is the database: « geocode data/actors.csv » geocoded the file
    # left from before the migration. Without a file, the command geocodes the directory of the settings.
    from reseaux.stockage.postgres import PostgresDirectoryStore

    source = tmp_path / "source.csv"
    write_directory(source)
    store = PostgresDirectoryStore(database_url)
    store.replace(source.read_bytes(), "test", "migration")
    stale = tmp_path / "actors.csv"
    write_directory(stale)
    before = stale.read_bytes()
    env = {
        **os.environ,
        "RESEAUX_GEOCACHE": str(tmp_path / "c.sqlite"),
        "RESEAUX_DATABASE_URL": database_url,
        "RESEAUX_ACTORS": str(stale),
    }
    result = subprocess.run(
        [sys.executable, "-m", "reseaux", "geocode", "--offline", "--quiet"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "2 placées à leur commune" in result.stderr and "PostgreSQL" in result.stderr
    saved = store.load().table.set_index("id")
    assert saved.loc["a", "latitude"] and saved.loc["a", "geocodage_source"] == "commune"  # placed, in the database
    assert stale.read_bytes() == before  # the file of RESEAUX_ACTORS untouched


def _old_cache(path, rows):
    """A cache file as written before the keys were folded by text.fold (its user_version 0)."""
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE answers (key TEXT PRIMARY KEY, answer TEXT, stored REAL)")
    db.executemany("INSERT INTO answers VALUES (?, ?, ?)", [(k, a, 0.0) for k, a in rows])
    db.commit()
    db.close()


def test_a_cache_written_with_the_former_keys_is_emptied_when_opened(tmp_path):
    """Unidecode wrote « N° 12 rue de la Paix » as « ndeg 12 … » (text.fold gives « n 12 … »): that
    row was never found again, and an erasure, which looks her address up by today's key, left
    her address and position in the file. The addresses are not stored, only their keys: the
    rows go, and are asked again."""
    old = "ndeg 12 rue de la paix|76000|rouen"
    _old_cache(
        tmp_path / "c.sqlite",
        [
            (
                old,
                json.dumps(
                    {
                        "latitude": 49.4,
                        "longitude": 1.1,
                        "score": 0.9,
                        "type": "housenumber",
                        "label": "12 Rue de la Paix",
                    }
                ),
            ),
            ("5 eur rue|76000|rouen", None),
        ],
    )
    store = GeoCache(tmp_path / "c.sqlite")
    assert len(store) == 0 and store.get(old) is GeoCache.MISSING
    store.put_many(
        [(address_key({"adresse": "N° 12 rue de la Paix", "code_postal": "76000", "commune": "Rouen"}), None)]
    )
    store.close()
    assert len(GeoCache(tmp_path / "c.sqlite")) == 1  # marked current: kept at the next opening
    db = sqlite3.connect(tmp_path / "c.sqlite")
    assert db.execute("SELECT key FROM answers").fetchall() == [("n 12 rue de la paix|76000|rouen",)]
    assert b"ndeg" not in (tmp_path / "c.sqlite").read_bytes()  # overwritten, not only unlinked


def test_a_read_only_cache_of_the_former_keys_is_opened_as_it_is(tmp_path, monkeypatch):
    """A copy the process may not write (opened read-only here: the tests may run as root, whom a
    file's mode does not stop) is read as it is, not refused."""
    _old_cache(tmp_path / "c.sqlite", [("1 rue x|76000|rouen", None)])
    connect = sqlite3.connect
    monkeypatch.setattr(
        sqlite3, "connect", lambda path, **kw: connect(f"{Path(path).as_uri()}?mode=ro", uri=True, **kw)
    )
    assert GeoCache(tmp_path / "c.sqlite").get("1 rue x|76000|rouen") is None
