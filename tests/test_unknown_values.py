"""Nothing rejects an actor for a value the referential does not know (yet).

Tiny hand-made files; each answer can be checked by reading the file.
"""

import base64
import gzip
import json

import pytest

from reseaux.analyse.filters import ActorFilter, apply_filter
from reseaux.annuaire.columns import names
from reseaux.annuaire.directory import load_directory
from reseaux.annuaire.referential import load_referential
from reseaux.carte.actor_layer import fiche_blob

COLUMNS = names()
HEADER = ",".join(COLUMNS)

#: The referential as it was before the field vocabulary (PrEP, DIU, interprète… unknown),
#: trimmed to the entries misleading suggestions once landed on.
OLD_REFERENTIAL = """categorie,code,libelle,couleur,icone,alias
type,structure,Structure,#0072B2,,structures|établissement|association|centre
type,a_classer,À classer,#999999,,
thematique,ivg,IVG,#CC3311,,interruption volontaire de grossesse|avortement
thematique,contraception,Contraception,#EE7733,,contraception d'urgence
thematique,ist_vih,IST/VIH/hépatites et dépistage,#0077BB,,ist|vih|ist/vih|dépistage|hépatites
thematique,precarite_menstruelle,Précarité menstruelle,#DDAA33,,protections périodiques|précarité menstruelle
profession,masseur_kinesitherapeute,Masseur-kinésithérapeute,#56B4E9,,kinésithérapeute|kiné
profession,sage_femme,Sage-femme,#CC79A7,,sages-femmes|sf
public,tds,Travailleur·euses du sexe,#777777,,travailleurs du sexe|travailleuses du sexe|tds
public,jeunes,Jeunes (moins de 26 ans),#777777,,jeunes|adolescents
accessibilite,pmr,Accessible PMR,#777777,,pmr|fauteuil roulant|accessible
"""


@pytest.fixture
def old_referential(tmp_path):
    path = tmp_path / "referentiel.csv"
    path.write_text(OLD_REFERENTIAL, encoding="utf-8")
    return load_referential(path)


def directory_file(tmp_path, *rows: dict, header: str = HEADER):
    names = header.split(",")
    lines = [header]
    for values in rows:
        cells = {c: "" for c in names}
        cells.update(commune="Rouen", latitude="49.44", longitude="1.09")
        cells.update(values)
        lines.append(",".join(f'"{v}"' if "," in v else v for v in (cells[c] for c in names)))
    path = tmp_path / "actors.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def fiches(directory, referential) -> list[dict[str, str]]:
    data = json.loads(gzip.decompress(base64.b64decode(fiche_blob(directory.actors, referential))))
    labels = [label or kind for kind, label in data["fields"]]
    return [dict(zip(labels, fiche, strict=True)) for fiche in data["fiches"]]


def test_an_unknown_theme_is_kept_as_written_warned_and_on_the_map(tmp_path, old_referential):
    path = directory_file(tmp_path, {"id": "a", "nom": "CeGIDD", "type": "structure", "thematiques": "IVG|PrEP"})
    directory = load_directory(path, old_referential)
    assert len(directory.actors) == 1 and len(directory.placed) == 1 and directory.errors == []
    assert [str(w) for w in directory.warnings] == [
        "ligne 2, colonne « thematiques » : « PrEP » : thématique inconnue, valeur gardée telle quelle ; "
        "ajoutez-la au référentiel ou recodez-la (page « Qualité de l'annuaire »)"
    ]
    assert directory.actors.iloc[0]["thematiques"] == ("ivg", "PrEP")
    assert fiches(directory, old_referential)[0]["Thématiques"] == "IVG, PrEP"
    # No filter code matches the written text: filtering on IVG still finds the actor.
    found = apply_filter(directory.actors, ActorFilter(themes=("ivg",)), old_referential)
    assert len(found.actors) == 1
    assert ActorFilter.from_query({"theme": "PrEP"}, old_referential).themes == ()


def test_an_unknown_accessibility_is_kept_with_a_suggestion_close_in_meaning(tmp_path, referential):
    path = directory_file(
        tmp_path,
        {
            "id": "m",
            "nom": "Mme Sage",
            "type": "professionnel",
            "profession": "midwife",
            "accessibilite": "Cabinet accessible fauteuil",
        },
    )
    directory = load_directory(path, referential)
    assert len(directory.actors) == 1 and directory.errors == []
    assert [str(w) for w in directory.warnings] == [
        "ligne 2, colonne « accessibilite » : « Cabinet accessible fauteuil » : accessibilité inconnue, valeur "
        "gardée telle quelle ; vouliez-vous dire « Accessible PMR » ?"
    ]
    fiche = fiches(directory, referential)[0]
    assert fiche["Accessibilité"] == "Cabinet accessible fauteuil" and fiche["Profession"] == "Sage-femme"


def test_an_unknown_profession_shows_as_written_on_the_fiche(tmp_path, old_referential):
    path = directory_file(tmp_path, {"id": "p", "nom": "M. Dupont", "type": "structure", "profession": "Interprète"})
    directory = load_directory(path, old_referential)
    assert len(directory.actors) == 1
    assert str(directory.warnings[0]).startswith(
        "ligne 2, colonne « profession » : « Interprète » : profession inconnue, valeur gardée telle quelle ;"
    )
    assert "kinésithérapeute" not in str(directory.warnings[0])
    assert fiches(directory, old_referential)[0]["Profession"] == "Interprète"


def test_an_unknown_or_missing_type_is_a_classer(tmp_path, referential):
    path = directory_file(
        tmp_path,
        {"id": "a", "nom": "A", "type": "Association de quartier solidaire"},
        {"id": "b", "nom": "B", "type": ""},
    )
    directory = load_directory(path, referential)
    assert list(directory.actors["type"]) == ["a_classer", "a_classer"] and directory.errors == []
    found = [str(w) for w in directory.warnings]
    assert found[0].startswith(
        "ligne 2, colonne « type » : « Association de quartier solidaire » : type d'acteur inconnu, fiche « À classer »"
    )
    assert found[1] == "ligne 3, colonne « type » : type d'acteur absent : la fiche est « À classer »"
    assert [f["Type"] for f in fiches(directory, referential)] == ["À classer", "À classer"]
    assert referential.color("type", "a_classer") == "#999999"


def test_a_file_without_a_type_column_loads(tmp_path, referential):
    path = directory_file(tmp_path, {"id": "a", "nom": "A"}, header="id,nom,commune,latitude,longitude")
    directory = load_directory(path, referential)
    assert list(directory.actors["type"]) == ["a_classer"] and directory.errors == []


def test_only_no_name_or_nothing_to_place_rejects(tmp_path, referential):
    path = directory_file(
        tmp_path,
        {"id": "a", "nom": "", "type": "structure"},
        {"id": "b", "nom": "B", "type": "structure", "commune": "", "latitude": "", "longitude": ""},
        {
            "id": "c",
            "nom": "C",
            "type": "?",
            "thematiques": "foot",
            "publics": "?",
            "modalites": "?",
            "profession": "?",
            "accessibilite": "?",
            "commune": "",
            "latitude": "",
            "longitude": "",
            "code_postal": "76000",
        },
    )
    directory = load_directory(path, referential)
    assert list(directory.actors["id"]) == ["c"]
    assert [str(e) for e in directory.errors] == [
        "ligne 2, colonne « nom » : la colonne « nom » est obligatoire ; remplissez-la",
        "ligne 3, colonne « adresse » : rien pour placer l'acteur : remplissez l'adresse, le code postal, la commune ou la latitude "
        "et la longitude",
    ]
    assert len([w for w in directory.warnings if w.line == 4]) == 6


@pytest.mark.parametrize(
    "written, fixed",
    [
        ("231613131", "02 31 61 31 31"),
        ("2 31 61 31 31", "02 31 61 31 31"),
        ("231613131.0", "02 31 61 31 31"),
    ],
)
def test_a_phone_number_that_lost_its_leading_zero_is_fixed(tmp_path, referential, written, fixed):
    path = directory_file(tmp_path, {"id": "a", "nom": "A", "type": "structure", "telephone": written})
    directory = load_directory(path, referential)
    assert directory.actors.iloc[0]["telephone"] == fixed
    assert [str(w) for w in directory.warnings] == [
        f"ligne 2, colonne « telephone » : « {written} » : le zéro initial manquait, numéro lu « {fixed} » ; "
        "corrigez le fichier"
    ]


@pytest.mark.parametrize("written", ["+33 2 31 61 31 31", "02 31 61 31 31", "+33231613131"])
def test_good_phone_numbers_are_kept(tmp_path, referential, written):
    path = directory_file(tmp_path, {"id": "a", "nom": "A", "type": "structure", "telephone": written})
    directory = load_directory(path, referential)
    assert directory.actors.iloc[0]["telephone"] == written and directory.warnings == []


def test_a_slash_splits_only_known_values(tmp_path, referential):
    path = directory_file(
        tmp_path,
        {
            "id": "a",
            "nom": "A",
            "type": "laboratoire",
            "publics": "Tout public/Enfants 0-3 ans",
            "thematiques": "IST/VIH",
        },
        {"id": "b", "nom": "B", "type": "laboratoire", "publics": "Tout public/Militaires"},
    )
    directory = load_directory(path, referential)
    publics = dict(zip(directory.actors["id"], directory.actors["publics"], strict=True))
    assert publics == {"a": ("tout_public", "enfants"), "b": ("Tout public/Militaires",)}
    assert directory.actors.iloc[0]["thematiques"] == ("ist_vih",)


@pytest.mark.parametrize(
    "written",
    [
        "Centre Hospitalier (C.H.)",
        "Centre Hospitalier Régional (C.H.R.)",
        "Centre hospitalier, ex Hôpital local",
        "Centre Hospitalier Spécialisé lutte Maladies Mentales",
        "Etablissement de santé privé autorisé en SSR",
        "Centre de Lutte Contre Cancer",
    ],
)
def test_finess_categories_are_hospitals(referential, written):
    assert referential.resolve("type", written) == "hopital"
