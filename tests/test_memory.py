"""The allocator a directory is read with (see reseaux/memory.py): memory given back while reading,
the faster allocator for everything else."""

from __future__ import annotations

import sys
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


def _resident_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_what_a_reading_freed_among_what_it_kept_goes_back_to_the_system():
    """A reading frees small blocks (its rows' cells) among those it keeps: without
    ``give_back`` they stayed with the process. 100 MB of small blocks, one in 64 kept."""
    with memory.reading():
        blocks = [bytearray(1000) for _ in range(100_000)]
        for block in blocks:
            block[::4096] = b"x"  # touched: resident
        kept = blocks[::64]
        del blocks
        full = _resident_mb()
    assert len(kept) == 1563
    assert full - _resident_mb() > 50  # most of the 98 MB freed, given back at the reading's end


def test_the_last_reader_gives_memory_back_once(monkeypatch):
    calls = []
    monkeypatch.setattr(memory, "give_back", lambda: calls.append(1))
    with memory.reading():
        with memory.reading():
            pass
        assert calls == []  # the first one still reads
    assert calls == [1]
