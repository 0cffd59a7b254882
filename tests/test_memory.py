"""The allocator settings a process holding a directory runs with (see reseaux/memory.py)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

PROBE = """
import pyarrow as pa
from reseaux.app_data import load_actors, load_referential_file
load_actors(None, load_referential_file())
print(pa.default_memory_pool().backend_name)
"""


def pool_after_loading(env: dict) -> str:
    """The Arrow memory pool of a fresh process once it has loaded the demo directory."""
    import os

    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return done.stdout.split()[-1]


def test_loading_a_directory_takes_arrow_memory_from_the_system(tmp_path):
    assert pool_after_loading({"RESEAUX_GEOCACHE": str(tmp_path / "g.sqlite")}) == "system"


def test_an_administrator_s_own_arrow_pool_is_kept(tmp_path):
    env = {"RESEAUX_GEOCACHE": str(tmp_path / "g.sqlite"), "ARROW_DEFAULT_MEMORY_POOL": "mimalloc"}
    assert pool_after_loading(env) == "mimalloc"
