"""The allocator a directory is read with (see reseaux/memory.py): memory given back while reading,
the faster allocator for everything else."""

from __future__ import annotations

import threading

import pyarrow as pa
import pytest

from reseaux import app_data, memory
from reseaux.app_data import load_actors, load_referential_file


def pools_while_reading(monkeypatch, tmp_path) -> tuple[str, str, str]:
    """Arrow's pool before, during and after a cold read of the demo directory."""
    monkeypatch.setenv("RESEAUX_GEOCACHE", str(tmp_path / "g.sqlite"))  # no parse kept: read
    seen = []
    parse = app_data.load_directory

    def watched(*args, **kwargs):
        seen.append(pa.default_memory_pool().backend_name)
        return parse(*args, **kwargs)

    monkeypatch.setattr(app_data, "load_directory", watched)
    before = pa.default_memory_pool().backend_name
    load_actors(None, load_referential_file())
    return before, seen[0], pa.default_memory_pool().backend_name


def test_a_directory_is_read_on_the_system_allocator_and_the_pool_is_given_back(monkeypatch, tmp_path):
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    before, during, after = pools_while_reading(monkeypatch, tmp_path)
    assert during == "system" and after == before != "system"


def test_an_administrator_s_own_arrow_pool_is_kept(monkeypatch, tmp_path):
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "mimalloc")
    before, during, after = pools_while_reading(monkeypatch, tmp_path)
    assert before == during == after


def test_the_pool_comes_back_when_the_last_of_two_readers_is_done():
    before = pa.default_memory_pool().backend_name
    first_in, release = threading.Event(), threading.Event()

    def first():
        with memory.reading():
            first_in.set()
            release.wait(30)

    thread = threading.Thread(target=first)
    thread.start()
    assert first_in.wait(30)
    with memory.reading():
        assert pa.default_memory_pool().backend_name == "system"
    assert pa.default_memory_pool().backend_name == "system"  # the first still reads
    release.set()
    thread.join(30)
    assert pa.default_memory_pool().backend_name == before


@pytest.fixture(autouse=True)
def _pool_restored():
    pool = pa.default_memory_pool()
    yield
    pa.set_memory_pool(pool)
