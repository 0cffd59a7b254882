"""The parsed directory kept between starts: read back when the file is unchanged, never stale."""

from __future__ import annotations

import shutil

from reseaux.app_data import load_actors, load_referential_file
from tests.conftest import DATA, ROOT


def test_an_unchanged_file_is_read_back_and_a_changed_one_is_not(tmp_path, monkeypatch):
    monkeypatch.setenv("RESEAUX_GEOCACHE", str(tmp_path / "cache" / "geocodage.sqlite"))
    path = tmp_path / "actors.csv"
    shutil.copy(DATA / "actors_small.csv", path)
    referential = load_referential_file()
    first = load_actors(path, referential)
    kept = list((tmp_path / "cache" / "annuaire").glob("*.pickle"))
    assert len(kept) == 1
    again = load_actors(path, referential)
    assert again.directory.actors.equals(first.directory.actors) and again.search.equals(first.search)
    path.write_text(path.read_text(encoding="utf-8").replace("Camille Exemple", "Camille Autre"), encoding="utf-8")
    changed = load_actors(path, referential)
    assert "Camille Autre" in set(changed.directory.actors["nom"]) and "Camille Exemple" not in set(
        changed.directory.actors["nom"]
    )
    kept[0].write_bytes(b"not a pickle")  # a damaged cache file is ignored, the file is read again
    path.write_text(path.read_text(encoding="utf-8").replace("Camille Autre", "Camille Exemple"), encoding="utf-8")
    assert load_actors(path, referential).directory.actors.equals(first.directory.actors)


def test_the_kept_directory_is_the_parsed_one_column_for_column(tmp_path, monkeypatch):
    """Read back from the cache, every column has its dtype and values, and Arrow text keeps its
    chunks: pandas' own pickling joins them into a copy first, held to the end of the write (the
    peak of a cold start at a million fiches)."""
    import pandas as pd

    from reseaux.annuaire import validation

    monkeypatch.setenv("RESEAUX_GEOCACHE", str(tmp_path / "cache" / "geocodage.sqlite"))
    monkeypatch.setattr(validation._Records, "CHUNK", 7)  # the demo directory in many chunks
    path = tmp_path / "actors.csv"
    shutil.copy(ROOT / "data" / "actors.csv", path)
    referential = load_referential_file()
    parsed = load_actors(path, referential)
    kept = load_actors(path, referential)  # from the cache
    assert kept.directory.actors is not parsed.directory.actors
    pd.testing.assert_frame_equal(kept.directory.actors, parsed.directory.actors, check_exact=True)
    pd.testing.assert_series_equal(kept.search, parsed.search, check_exact=True)
    assert kept.directory.issues == parsed.directory.issues
    for name, dtype in parsed.directory.actors.dtypes.items():  # None stays None, NaN NaN, a tuple a tuple
        if dtype == "object":
            assert [type(v) for v in kept.directory.actors[name]] == [type(v) for v in parsed.directory.actors[name]]
    themes = [v for v in kept.directory.actors["thematiques"] if v == ("contraception", "ivg")]
    assert len(themes) > 1 and all(v is themes[0] for v in themes)  # equal tuples, one object
    text = [name for name, dtype in parsed.directory.actors.dtypes.items() if str(dtype) == "str"]
    assert "nom" in text
    for name in text:
        column, again = parsed.directory.actors[name].array, kept.directory.actors[name].array
        assert again._pa_array.num_chunks == column._pa_array.num_chunks > 1, name


def test_the_cache_format_gives_back_what_it_was_given():
    """Tuples beside None and NaN in pandas' one block of objects, positions with an unplaced one,
    polygons (written as geopandas writes them), Arrow text with a missing value."""
    import io
    import math
    import pickle

    import geopandas as gpd
    import numpy as np
    import pandas as pd
    from shapely.geometry import box

    from reseaux.annuaire import cache_format

    frame = pd.DataFrame(
        {
            "codes": [("a", "b"), (), ("a", "b"), ("c",)],
            "score": pd.Series([0.5, None, math.nan, 1.0], dtype=object),
            "words": pd.Series(["un", None, "trois", "é"], dtype="str"),
            "n": np.arange(4),
            "latitude": [49.4, math.nan, -20.88, 14.6],
        },
    )
    areas = gpd.GeoDataFrame({"id": ["x"]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:2154")
    buffer = io.BytesIO()
    cache_format.dump((frame, areas), buffer)
    again, areas_again = pickle.loads(buffer.getvalue())
    pd.testing.assert_frame_equal(again, frame, check_exact=True)
    pd.testing.assert_frame_equal(areas_again, areas, check_exact=True)
    assert again["score"][1] is None and math.isnan(again["score"][2])
    assert again["codes"][0] is again["codes"][2] and math.isnan(again["latitude"][1])
