"""A merge compares what cells mean, not how they are written: merging an
identical duplicate wrote « contraception|ivg|vas|IVG », counted a modification and set
``date_maj`` to today — a stale fiche looked fresh."""

from __future__ import annotations

import pandas as pd

from reseaux.annuaire.changes import diff, stamp_changes
from reseaux.importation.duplicates import Duplicate
from reseaux.importation.import_merge import apply_import, merge_records

EXISTING = {
    "id": "a1",
    "nom": "Centre Exemple (fictif)",
    "type": "structure",
    "thematiques": "contraception|ivg|vas",
    "publics": "jeunes",
    "commune": "Rouen",
    "telephone": "02 35 00 00 00",
    "date_maj": "2024-01-15",
}


def test_an_identical_duplicate_changes_nothing(referential):
    same = {**EXISTING, "id": "x", "thematiques": "IVG|Contraception", "type": "Structure", "commune": "ROUEN"}
    assert merge_records(EXISTING, same, referential) == EXISTING


def test_a_new_value_is_added_once_by_its_meaning(referential):
    merged = merge_records(EXISTING, {"thematiques": "IVG|PrEP|prep"}, referential)
    assert merged["thematiques"] == "contraception|ivg|vas|PrEP"
    assert merge_records(EXISTING, {"commune": "Le Havre"}, referential)["commune"] == "Le Havre"


def test_a_merge_that_brings_nothing_keeps_the_date_of_update(referential):
    table = pd.DataFrame([EXISTING])
    new = pd.DataFrame([{**EXISTING, "id": "x", "thematiques": "IVG", "date_maj": ""}])
    duplicate = Duplicate(new_index=0, existing_id="a1", score=100.0, reason="même nom")
    after = apply_import(table, new, {}, [duplicate], referential)
    assert not diff(table, after)  # no modification counted
    assert stamp_changes(table, after)["date_maj"].tolist() == ["2024-01-15"]


def test_a_corrected_email_or_website_replaces_the_old_one(referential):
    """Punctuation is part of an address: « marie_dupont » is not « marie.dupont », and
    « cmp-rouen » is not « cmp.rouen » — folding them alike dropped the correction."""
    existing = {**EXISTING, "email": "marie_dupont@x.fr", "site_web": "www.cmp.rouen.fr"}
    merged = merge_records(existing, {"email": "marie.dupont@x.fr", "site_web": "www.cmp-rouen.fr"}, referential)
    assert merged["email"] == "marie.dupont@x.fr"
    assert merged["site_web"] == "www.cmp-rouen.fr"


def test_case_and_spacing_alone_change_nothing(referential):
    existing = {**EXISTING, "email": "Marie.Dupont@x.fr", "telephone": "02 35 00 00 00"}
    same = {"email": "  marie.dupont@X.FR ", "telephone": "02  35 00 00\u00a000", "commune": "rouen"}
    assert merge_records(existing, same, referential) == existing
