"""Visibility follows the person, not a list of types.

A person (type professionnel, or a profession given) is members-only unless the fiche says
« public »; an establishment (any other known type) is public unless it says « membres »; an
« À classer » fiche is public only when the row says it is an establishment. A visitor reads how
many fiches are reserved to members; the import and Qualité say how many a visitor will not see.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from reseaux.acces.access import hidden_sentence, reserved_sentence, visible_actors
from reseaux.annuaire.directory import load_directory
from reseaux.app_data import load_actors, visible_view
from reseaux.importation.import_file import import_file
from tests.conftest import ROOT

REAL = Path(__file__).parent / "data" / "real"
HEADER = "id,nom,type,profession,adresse,code_postal,commune,latitude,longitude,visibilite,finess\n"
ROWS = {
    "hop": "hop,Hôpital Charles-Nicolle (fictif),hopital,,1 rue de Germont,76000,Rouen,49.44,1.11,,",
    "lab": "lab,Laboratoire Exemple (fictif),laboratoire,,2 rue X,76000,Rouen,49.44,1.10,,",
    "pha": "pha,Pharmacie Exemple (fictive),pharmacie,,3 rue X,76000,Rouen,49.44,1.09,,",
    "pro": "pro,Camille Exemple,professionnel,sage-femme,4 rue X,76000,Rouen,49.44,1.08,,",
    "pro_public": "pro_public,Alex Exemple,professionnel,sage-femme,5 rue X,76000,Rouen,49.44,1.07,public,",
    "hop_membres": "hop_membres,Clinique Réservée (fictive),hopital,,6 rue X,76000,Rouen,49.44,1.06,membres,",
    "dieppe": "dieppe,Centre Hospitalier de Dieppe,,,avenue Pasteur,76200,Dieppe,49.92,1.08,,760780239",
    "person": "person,Dominique Martin,,,7 rue X,76000,Rouen,49.44,1.05,,",
    "nurse": "nurse,Sacha Exemple,,infirmier,8 rue X,76000,Rouen,49.44,1.04,,",
}


@pytest.fixture(scope="module")
def directory(referential):
    return load_directory((HEADER + "\n".join(ROWS.values()) + "\n").encode("utf-8"), referential)


def seen(directory) -> set[str]:
    return set(visible_actors(directory.actors, "visiteur", "public")["id"])


def test_an_establishment_without_visibilite_is_public(directory):
    assert {"hop", "lab", "pha"} <= seen(directory)


def test_a_person_without_visibilite_is_members_only(directory):
    assert not {"pro", "nurse"} & seen(directory)
    assert "pro_public" in seen(directory)


def test_an_explicit_membres_wins_for_an_establishment(directory):
    assert "hop_membres" not in seen(directory)


def test_an_unclassified_row_is_public_with_an_establishment_sign_only(directory):
    actors = directory.actors.set_index("id")
    assert actors.loc["dieppe", "type"] == actors.loc["person", "type"] == "a_classer"
    assert "dieppe" in seen(directory) and "person" not in seen(directory)
    said = [i for i in directory.issues if i.column == "visibilite"]
    assert [i.line for i in said] == [9]  # the « À classer » person only (header = line 1, « person » = line 9)
    assert "donnez-lui un type ou écrivez public" in said[0].message


def test_everything_visible_to_members(directory):
    assert len(visible_actors(directory.actors, "membre", "rien")) == len(ROWS)


def test_the_hidden_sentence_counts_each_cause(directory):
    # hidden: pro, nurse (people), person (à classer), hop_membres (marked)
    assert hidden_sentence(directory.actors) == (
        "4 fiches ne seront pas visibles sans connexion (2 personnes, 1 fiche à classer, 1 fiche marquée "
        "« membres ») : une personne n'est visible que si sa « Visibilité » est « Publique » (public dans le "
        "fichier), avec son accord (son type n'y change rien) ; donnez son type à une fiche à classer (un "
        "établissement devient public) ou rendez sa « Visibilité » « Publique » (public dans le fichier) ; une fiche "
        "marquée « membres » le reste tant que sa « Visibilité » n'est pas « Publique »."
    )


def test_the_hidden_sentence_says_the_reason_the_validation_gave(referential):
    """Counted by hand: 2 people (one by her type, one by her profession), 1 « À classer » row with
    no sign, 2 rows marked « membres » (one « À classer », one hospital), 1 unreadable cell; the
    hospital without a cell is public. An « À classer » fiche written « membres » is marked, not
    « à classer », and gets no warning; no advice tells to give a person a type."""
    rows = [
        "pro,Camille Exemple,professionnel,,1 rue X,76000,Rouen,49.44,1.1,,",
        "nurse,Sacha Exemple,,infirmier,2 rue X,76000,Rouen,49.44,1.1,,",
        "nobody,Dominique Martin,,,3 rue X,76000,Rouen,49.44,1.1,,",
        "asked,Les Voisins (fictif),,,4 rue X,76000,Rouen,49.44,1.1,membres,",
        "closed,Clinique Fermée (fictive),hopital,,5 rue X,76000,Rouen,49.44,1.1,membres,",
        "odd,Clinique Douteuse (fictive),hopital,,6 rue X,76000,Rouen,49.44,1.1,peut-être,",
        "open,Clinique Ouverte (fictive),hopital,,7 rue X,76000,Rouen,49.44,1.1,,",
    ]
    directory = load_directory((HEADER + "\n".join(rows) + "\n").encode("utf-8"), referential)
    assert seen(directory) == {"open"}
    sentence = hidden_sentence(directory.actors)
    assert sentence.startswith(
        "6 fiches ne seront pas visibles sans connexion (2 personnes, 1 fiche à classer, 2 fiches marquées "
        "« membres », 1 fiche à la visibilité illisible) : une personne n'est visible que si sa « Visibilité » est "
        "« Publique » (public dans le fichier), avec son accord (son type n'y change rien) ; donnez son type à une "
        "fiche à classer"
    ), sentence
    assert "donnez-leur un type" not in sentence
    said = {i.line: i.value for i in directory.issues if i.column == "visibilite"}
    assert said == {4: "", 7: "peut-être"}  # « nobody » (no sign) and « odd » (unreadable), not « asked »
    assert hidden_sentence(directory.actors[directory.actors["id"] == "open"]) == ""
    assert hidden_sentence(directory.actors[directory.actors["id"] == "asked"]) == (
        "1 fiche ne sera pas visible sans connexion (1 fiche marquée « membres ») : une fiche marquée « membres » "
        "le reste tant que sa « Visibilité » n'est pas « Publique »."
    )


def test_a_visitor_reads_how_many_fiches_are_reserved(referential, tmp_path):
    path = tmp_path / "actors.csv"
    path.write_text(HEADER + "\n".join(ROWS.values()) + "\n", encoding="utf-8")
    view = visible_view(load_actors(path, referential), "visiteur", "public")
    assert len(view.directory.actors) == 5 and view.reserved == 4
    assert reserved_sentence(view.reserved) == (
        "4 fiches sont réservées aux membres du réseau (connectez-vous pour les voir)."
    )
    assert reserved_sentence(1).startswith("1 fiche est réservée") and reserved_sentence(0) == ""
    assert visible_view(load_actors(path, referential), "membre", "public").reserved == 0


def test_the_map_page_says_it_to_a_visitor(tmp_path, monkeypatch):
    from tests.conftest import open_page

    path = tmp_path / "actors.csv"
    path.write_text(HEADER + "\n".join(ROWS.values()) + "\n", encoding="utf-8")
    monkeypatch.setenv("RESEAUX_ACTORS", str(path))
    monkeypatch.setenv("RESEAUX_VISITORS", "public")
    at = open_page("carte")
    assert not at.exception
    counts = [m.value for m in at.markdown if " sur " in m.value and "acteur" in m.value]
    assert counts and "sur 5**" in counts[0], counts
    assert "4 fiches sont réservées aux membres du réseau (connectez-vous pour les voir)" in counts[0]


def test_the_demo_keeps_its_members_only_people(referential):
    actors = load_actors(ROOT / "data" / "actors.csv", referential).directory.actors
    visitor = visible_actors(actors, "visiteur", "public")
    written = {r["id"]: r["visibilite"] for r in csv.DictReader((ROOT / "data" / "actors.csv").open(encoding="utf-8"))}
    assert set(visitor["id"]) == {i for i, v in written.items() if v == "public"}
    assert len(actors) - len(visitor) == sum(v == "membres" for v in written.values()) > 0


def test_a_real_hospital_file_imported_as_published_is_seen_by_a_visitor(referential, tmp_path):
    """Eurostat GISCO healthcare services (FINESS-derived): imported with no option, every row
    whose name and facility type the file gives is an establishment a visitor sees."""
    source = REAL / "gisco_healthcare_services_FR_extrait.csv"
    with source.open(encoding="utf-8") as handle:
        expected = {
            r["id"] for r in csv.DictReader(handle) if r["hospital_name"].strip() and r["facility_type"].strip()
        }
    report = import_file(source, tmp_path / "actors.csv", referential, offline=True)
    assert report.saved and report.hidden() == ""
    view = visible_view(load_actors(tmp_path / "actors.csv", referential), "visiteur", "public")
    assert len(expected) == 150  # every row of the extract
    assert set(view.directory.actors["id"]) == expected and view.reserved == 0


def test_a_real_unclassified_file_says_what_a_visitor_will_not_see(referential, tmp_path):
    """data.gouv.fr vaccination sites, no type column: the names that begin with a type of the
    referential (« CH », « CHU », « CHI », « MSP », « Centre de vaccination », « Clinique »…) are
    public, the others counted and said. 101 of 143: counted apart from the application, with a
    regular expression of the establishment words on the folded names, then the 42 others read name
    by name — « Salle… », « Espace… », « Mairie… », « Ville de… », a « Cabinet médical » (a cabinet
    may be one person's), names that begin with a town (« LE FAOUET - Maison de santé »)."""
    source = REAL / "datagouv_centres_vaccination_extrait.csv"
    report = import_file(source, tmp_path / "actors.csv", referential, offline=True, dry_run=True)
    actors = report.report.actors
    assert set(actors["type"]) == {"a_classer"} and len(actors) == 143
    public = set(visible_actors(actors, "visiteur", "public")["nom"])
    assert len(public) == 101
    assert set(actors.loc[actors["nom"].str.startswith("Centre de vaccination"), "nom"]) <= public
    assert {
        "CH Antibes",
        "CHU Nîmes",
        "Clinique Saint Luc",
        "Hôpital de Martigues",
        "MSP des Halles",
        "CHI Digne les Bains",
        "CPTS des Collines de Valbonne - site MSP Valbonne Sophia antipolis",
        "Maison Medicale de garde de Carcassonne",
        "GH HAUT VAL DE SEVRE ET DU MELLOIS - SITE DE MELLE",
    } <= public
    assert (
        not {
            "Gymnase du Racinay",
            "Salle Léon Curral",
            "Auberge Municipale",
            "Cabinet médical de Saverdun",
            "Equipe mixte CH/médecine de ville",
            "LE FAOUET - Maison de santé",
        }
        & public
    )
    assert (
        "42 fiches ne seront pas visibles sans connexion (42 fiches à classer) : donnez son type à une fiche "
        "à classer (un établissement devient public) ou rendez sa « Visibilité » « Publique » (public dans le "
        "fichier)."
    ) in report.sentences()


def test_a_type_the_referential_does_not_know_still_tells_an_establishment(referential):
    text = HEADER + "a,Les Copains (fictif),Association de quartier,,1 rue X,76000,Rouen,49.44,1.1,,\n"
    directory = load_directory(text.encode("utf-8"), referential)
    assert directory.actors["type"].tolist() == ["a_classer"]
    assert seen(directory) == {"a"}


def test_the_quality_page_says_what_a_visitor_will_not_see(tmp_path, monkeypatch, accounts_file):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import sign_in

    path = tmp_path / "actors.csv"
    path.write_text(HEADER + "\n".join(ROWS.values()) + "\n", encoding="utf-8")
    monkeypatch.setenv("RESEAUX_ACTORS", str(path))
    at = sign_in(AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run(), "coord")
    at.switch_page("views/qualite.py").run()
    assert not at.exception
    assert any(i.value.startswith("4 fiches ne seront pas visibles sans connexion (2 personnes") for i in at.info)


def test_a_table_that_was_not_validated_is_refused(referential):
    """One rule decides an empty « visibilite »: the validation's. A table that was not validated
    (the column absent, a cell empty) is refused, not decided again by a weaker rule — which made
    « Association de quartier » members-only there and public once validated."""
    import io

    import pandas as pd

    text = HEADER + "a,Les Copains (fictif),Association de quartier,,1 rue X,76000,Rouen,49.44,1.1,,\n"
    validated = load_directory(text.encode("utf-8"), referential).actors
    assert set(visible_actors(validated, "visiteur", "public")["id"]) == {"a"}
    bare = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    with pytest.raises(ValueError, match="visibilite"):
        visible_actors(bare, "visiteur", "public")
    with pytest.raises(ValueError, match="visibilite"):
        visible_actors(bare.drop(columns="visibilite"), "visiteur", "public")
    assert len(visible_actors(bare, "membre", "public")) == 1  # members see every row: nothing to decide


SIGN_HEADER = "id,nom,type,profession,adresse,code_postal,commune,latitude,longitude,visibilite,siret\n"


def test_a_person_like_name_is_no_establishment_sign(referential):
    """A word of the referential's types inside a person's name (« salle », « centre », « Ch. »), a
    SIRET (self-employed health workers have one) or an id made from it say no establishment."""
    rows = [
        "jean,Jean Salle,,,1 rue X,76000,Rouen,49.44,1.1,,",
        "martin,Dr Ch. Martin,,,2 rue X,76000,Rouen,49.44,1.1,,",
        "charles,Ch. Martin,,,2 rue X,76000,Rouen,49.44,1.1,,",
        "anne,Anne Espace,,,3 rue X,76000,Rouen,49.44,1.1,,",
        "paul,Paul Centre,,,4 rue X,76000,Rouen,49.44,1.1,,",
        "nadia,Nadia Laboratoire,,,4 rue X,76000,Rouen,49.44,1.1,,",
        "liberal,Sacha Durand,,,5 rue X,76000,Rouen,49.44,1.1,,12345678901234",
        "siret-12345678901234,Alex Durand,,,6 rue X,76000,Rouen,49.44,1.1,,",
    ]
    directory = load_directory((SIGN_HEADER + "\n".join(rows) + "\n").encode("utf-8"), referential)
    assert set(directory.actors["type"]) == {"a_classer"} and len(directory.actors) == len(rows)
    assert seen(directory) == set()
    assert [i.line for i in directory.issues if i.column == "visibilite"] == list(range(2, 2 + len(rows)))


def test_a_name_that_begins_with_an_establishment_type_is_a_sign(referential):
    """The referential's types other than a person (their labels and aliases) at the start of the
    name, as whole words: « Centre Hospitalier », « CHU », « Pharmacie », « LBM »."""
    names = {
        "ch": "Centre Hospitalier de Dieppe",
        "chu": "CHU Rouen",
        "pha": "Pharmacie du Centre",
        "lbm": "LBM Biolab",
        "asso": "Association Aides",
        "chx": "CH Antibes",
        "cabinet": "Cabinet médical Durand",
        "chocolat": "Chocolaterie Centrale",
        "lab": "Labo Martin",
    }
    rows = [f"{i},{name},,,1 rue X,76000,Rouen,49.44,1.1,," for i, name in names.items()]
    directory = load_directory((SIGN_HEADER + "\n".join(rows) + "\n").encode("utf-8"), referential)
    # a cabinet is a person's type in the referential; « Chocolaterie » only begins with the letters « ch »
    assert seen(directory) == {"ch", "chu", "pha", "lbm", "asso", "chx", "lab"}
