"""French formatting: numbers, distances, dates and plurals as people write them."""

import datetime as dt

from reseaux.text import NBSP, fr_date, fr_distance, fr_number, plural


def test_numbers_use_a_comma_and_a_narrow_space():
    assert fr_number(24877) == f"24{NBSP}877"
    assert fr_number(0.05, 2) == "0,05"
    assert fr_number(10.0, 2) == "10"
    assert fr_number(2159.0) == f"2{NBSP}159"
    assert fr_number(-0.2) == "0"
    assert fr_number(float("nan"), empty="—") == "—"


def test_distances_switch_to_kilometres():
    assert fr_distance(350.4) == "350 m"
    assert fr_distance(1234) == "1,2 km"
    assert fr_distance(24877) == "25 km"
    assert fr_distance(None) == ""


def test_dates_are_spelt_out():
    assert fr_date("2026-06-11") == "11 juin 2026"
    assert fr_date(dt.date(2026, 1, 1)) == "1er janvier 2026"
    assert fr_date("bientôt") == "bientôt"


def test_zero_and_one_take_the_singular():
    assert plural(0, "partenaire") == "0 partenaire"
    assert plural(1, "partenaire") == "1 partenaire"
    assert plural(10, "partenaire") == "10 partenaires"
    assert plural(2, "acteur trouvé", "acteurs trouvés") == "2 acteurs trouvés"
