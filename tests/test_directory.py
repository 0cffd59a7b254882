"""Loading and validation of the directory, on tiny files with known answers."""

import subprocess
import sys

import pandas as pd
import pytest

from reseaux.annuaire.columns import names
from reseaux.annuaire.directory import DirectoryError, load_directory
from tests.conftest import DATA, ROOT

COLUMNS = names()
HEADER = ",".join(COLUMNS)


def row(**values) -> str:
    base = {c: "" for c in COLUMNS}
    base.update(id="x", nom="Nom", type="structure", commune="Rouen")
    base.update(values)
    return ",".join(f'"{v}"' if "," in v else v for v in base.values())


def write(tmp_path, *rows, header=HEADER, encoding="utf-8", sep=","):
    text = "\n".join([header, *rows]) + "\n"
    if sep != ",":
        text = text.replace(",", sep)
    path = tmp_path / "actors.csv"
    path.write_bytes(text.encode(encoding))
    return path


def messages(directory):
    return [str(i) for i in directory.issues]


def test_small_file_loads_without_problem(referential):
    directory = load_directory(DATA / "actors_small.csv", referential)
    assert directory.issues == []
    assert list(directory.actors["id"]) == ["t1", "t2", "t3"]
    t1 = directory.actors.iloc[0]
    assert t1["thematiques"] == ("ivg", "contraception")
    assert t1["profession"] == "sage_femme"
    assert t1["modalites"] == ("sur_rdv", "gratuit")
    assert t1["langues"] == ("français", "anglais")
    assert (t1["longitude"], t1["latitude"]) == (1.099, 49.443)
    assert directory.actors.iloc[2]["zone_intervention"] == ("QN07620M", "76540")
    assert bool(t1["fictif"]) is True


@pytest.mark.parametrize("encoding, sep", [("utf-8", ","), ("utf-8-sig", ";"), ("cp1252", ";"), ("cp1252", ",")])
def test_encodings_and_separators_of_french_excel(tmp_path, referential, encoding, sep):
    path = write(
        tmp_path,
        row(
            id="a",
            nom="Clinique Sainte-Élodie",
            thematiques="Précarité menstruelle",
            commune="Saint-Étienne-du-Rouvray",
            latitude="49.38",
            longitude="1.09",
        ),
        encoding=encoding,
        sep=sep,
    )
    directory = load_directory(path, referential)
    assert directory.errors == []
    actor = directory.actors.iloc[0]
    assert actor["nom"] == "Clinique Sainte-Élodie"
    assert actor["commune"] == "Saint-Étienne-du-Rouvray"
    assert actor["thematiques"] == ("precarite_menstruelle",)


def test_french_decimal_comma_in_positions(tmp_path, referential):
    path = tmp_path / "actors.csv"
    path.write_text("id;nom;type;latitude;longitude\na;A;structure;49,44;1,09\n", encoding="utf-8")
    actor = load_directory(path, referential).actors.iloc[0]
    assert (actor["latitude"], actor["longitude"]) == (49.44, 1.09)


def test_only_a_row_that_cannot_be_an_actor_is_kept_aside(tmp_path, referential):
    path = write(
        tmp_path,
        row(id="ok", latitude="49.44", longitude="1.09"),  # line 2
        row(id="theme", thematiques="IVG|contracepton"),  # line 3
        row(id="swap", latitude="1.09", longitude="49.44"),  # line 4
        row(id="far", latitude="40.71", longitude="-74.0"),  # line 5
        row(id="cp", code_postal="7600"),  # line 6
        row(id="ok", nom="Doublon"),  # line 7
        row(id="", nom=""),  # line 8
        row(id="type", type="structre"),  # line 9
        row(id="half", latitude="49.44"),  # line 10
        row(id="nowhere", commune=""),  # line 11
    )
    directory = load_directory(path, referential)
    found = messages(directory)
    assert (
        "ligne 3, colonne « thematiques » : « contracepton » : thématique inconnue, valeur gardée telle quelle ; "
        "vouliez-vous dire « Contraception » ?"
    ) in found
    assert any(m.startswith("ligne 4, colonne « latitude »") and "inversées : échangées" in m for m in found)
    assert any(
        m.startswith("ligne 5, colonne « latitude »") and "hors de France : position ignorée" in m for m in found
    )
    assert any(
        m.startswith("ligne 6, colonne « code_postal » : « 7600 » n'est pas un code postal (5 chiffres)") for m in found
    )
    assert any(m.startswith("ligne 7, colonne « id »") and "déjà utilisé ligne 2" in m for m in found)
    assert any(m.startswith("ligne 8, colonne « id »") and "obligatoire" in m for m in found)
    assert any(m.startswith("ligne 8, colonne « nom »") for m in found)
    assert any(
        m.startswith("ligne 9, colonne « type »") and "« À classer »" in m and "« Structure »" in m for m in found
    )
    assert any(m.startswith("ligne 10, colonne « longitude »") for m in found)
    assert "ligne 11, colonne « adresse » : rien pour placer l'acteur" in " ".join(found)
    assert list(directory.actors["id"]) == ["ok", "theme", "swap", "far", "cp", "type", "half"]
    assert sorted(directory.rejected["ligne"]) == [7, 8, 11]
    assert {i.line for i in directory.errors} == {7, 8, 11}
    kept = directory.rejected.set_index("ligne")
    assert kept.loc[7, "nom"] == "Doublon"  # the raw row is kept, not lost
    actors = directory.actors.set_index("id")
    assert actors.loc["theme", "thematiques"] == ("ivg", "contracepton")
    assert actors.loc["type", "type"] == "a_classer"
    assert (actors.loc["swap", "latitude"], actors.loc["swap", "longitude"]) == (49.44, 1.09)
    assert pd.isna(actors.loc["far", "latitude"]) and pd.isna(actors.loc["half", "latitude"])


def test_warnings_keep_the_row(tmp_path, referential):
    path = write(
        tmp_path,
        row(email="pas-une-adresse", site_web="www.example.org", telephone="12", date_maj="hier", fictif="peut-être"),
    )
    directory = load_directory(path, referential)
    assert directory.errors == []
    assert len(directory.actors) == 1
    assert {i.column for i in directory.warnings} >= {"email", "telephone", "date_maj", "fictif"}
    assert directory.actors.iloc[0]["site_web"] == "https://www.example.org"


def test_multi_values_accept_semicolons_and_unambiguous_commas(tmp_path, referential):
    path = write(
        tmp_path,
        row(id="a", thematiques="IVG; Contraception"),
        row(id="b", thematiques="IVG, Addictions"),
        row(id="c", thematiques="IVG, football"),
    )
    directory = load_directory(path, referential)
    themes = dict(zip(directory.actors["id"], directory.actors["thematiques"], strict=True))
    assert themes == {"a": ("ivg", "contraception"), "b": ("ivg", "addictions"), "c": ("IVG, football",)}
    # A comma that does not split into known themes is one unknown value, reported whole.
    assert any("« IVG, football »" in m for m in messages(directory))


def test_ragged_row_is_reported(tmp_path, referential):
    path = write(tmp_path, row(id="a") + ",en trop")
    directory = load_directory(path, referential)
    assert any(m.startswith("ligne 2 :") and "cellules" in m for m in messages(directory))
    assert directory.actors.empty


def test_position_missing_is_not_an_error_but_counted(tmp_path, referential):
    directory = load_directory(write(tmp_path, row(id="a", adresse="1 rue X")), referential)
    assert directory.errors == [] and directory.n_unplaced == 1 and directory.placed.empty


def test_headers_in_any_case_and_common_aliases(tmp_path, referential):
    path = write(
        tmp_path,
        ["ID;Nom;Type;Thématiques;CP;Ville;Lat;Lon", "1;A;Structure;IVG;76000;Rouen;49.44;1.09"][1],
        header="ID;Nom;Type;Thématiques;CP;Ville;Lat;Lon",
        sep=";",
    )
    directory = load_directory(path, referential)
    assert directory.errors == []
    actor = directory.actors.iloc[0]
    assert (actor["code_postal"], actor["commune"], actor["thematiques"]) == ("76000", "Rouen", ("ivg",))


def test_missing_required_column_is_a_clear_error(tmp_path, referential):
    path = write(tmp_path, "Rouen", header="commune")
    with pytest.raises(DirectoryError, match="colonne\\(s\\) obligatoire\\(s\\) absente\\(s\\) : « id », « nom »"):
        load_directory(path, referential)


def test_empty_and_missing_files(tmp_path, referential):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(DirectoryError, match="vide"):
        load_directory(empty, referential)
    with pytest.raises(DirectoryError, match="Impossible de lire"):
        load_directory(tmp_path / "absent.csv", referential)


def test_html_in_a_name_is_kept_verbatim(tmp_path, referential):
    path = write(tmp_path, row(nom="<img src=x onerror=alert(1)>"))
    assert load_directory(path, referential).actors.iloc[0]["nom"] == "<img src=x onerror=alert(1)>"


def run_check(path):
    return subprocess.run(
        [sys.executable, "-m", "reseaux", "check", str(path)], capture_output=True, text=True, cwd=ROOT
    )


def test_cli_check_exits_0_on_the_demo_and_1_on_errors(tmp_path):
    ok = run_check(ROOT / "data" / "actors.csv")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "185 acteur(s) utilisable(s), 0 écartée(s)" in ok.stderr
    bad = write(tmp_path, row(id="a"), row(id="b", commune=""), row(id="c", thematiques="foot"))
    result = run_check(bad)
    assert result.returncode == 1
    assert "erreur: ligne 3, colonne « adresse » : rien pour placer l'acteur" in result.stdout
    assert "ligne 4, colonne « thematiques »" in result.stdout
    assert "Traceback" not in result.stderr


def test_cli_check_on_an_unreadable_file_says_so_without_traceback(tmp_path):
    result = run_check(tmp_path / "absent.csv")
    assert result.returncode == 1
    assert "Impossible de lire" in result.stderr and "Traceback" not in result.stderr


def test_rejected_rows_frame_has_line_and_errors(tmp_path, referential):
    directory = load_directory(write(tmp_path, row(id="a", nom="")), referential)
    assert isinstance(directory.rejected, pd.DataFrame)
    assert list(directory.rejected.columns[:2]) == ["ligne", "id"]
    assert directory.rejected.iloc[0]["erreurs"].startswith("ligne 2, colonne « nom »")


@pytest.mark.parametrize("ending", ["\r\n", "\r"])
def test_lines_ended_the_windows_or_the_old_mac_way_read_alike(referential, ending):
    """A file is read line by line without a copy of its text (a StringIO held four bytes a
    character): every line ending a spreadsheet writes still ends a line, a line break inside
    quotes stays in its cell."""
    text = "\n".join([HEADER, row(id="a1", nom="Élan"), row(id="a2", description='"mardi\nsoir"'), ""])
    unix = load_directory(text.encode("utf-8"), referential)
    other = load_directory(text.replace("\n", ending).encode("utf-8"), referential)
    assert list(other.actors["id"]) == ["a1", "a2"] and other.issues == unix.issues == []
    assert other.actors.loc[1, "description"] == f"mardi{ending}soir"  # as written, as before
    assert other.actors.loc[0, "nom"] == "Élan"


def test_loading_holds_neither_all_the_rows_nor_a_copy_of_the_text(referential):
    """Memory of a load, traced by Python: the rows as lists of strings, the file's text copied at
    four bytes a character and the records as dicts all held at once peaked at 14 times the file's
    bytes (6,000 synthetic fiches, 1.2 MB; 3.86 GB for a million); read as they come, under 10."""
    import tracemalloc

    from bench.synthetic import synthetic_table
    from reseaux.annuaire.store import encode_table

    data = encode_table(synthetic_table(6000))
    load_directory(data[:3000], referential)  # the referential's caches, built before tracing
    tracemalloc.start()
    try:
        directory = load_directory(data, referential)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(directory.actors) == 6000
    assert peak < 10 * len(data), f"{peak / len(data):.1f} times the file's bytes"
