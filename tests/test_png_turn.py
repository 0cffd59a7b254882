"""PNG exports take turns, server-wide, and a stuck Chromium is killed.

Eight visitors asking at once used to start eight Chromiums (81 processes, 32–43 s each). The
drawing child is replaced by a stand-in that records how many run at once, or that hangs with a
grandchild of its own; one real drawing through the turn checks the whole path.
"""

from __future__ import annotations

import io
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from reseaux.carte import png_turn
from reseaux.carte.export_map import ExportError
from reseaux.carte.png_turn import BUSY, WAITING, ExportBusy, render_png_in_turn

STAND_IN = """
import sys, time
from pathlib import Path
Path(sys.argv[1]).with_name("running").touch()
time.sleep(float(sys.argv[3]))
Path(sys.argv[2]).write_bytes(b"PNG")
"""
LATE_FORK = """
import subprocess, sys
from pathlib import Path
# A Chromium forked late and left behind: it keeps the child's stderr open after the child is done.
lingering = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
Path(sys.argv[4]).write_text(str(lingering.pid))
Path(sys.argv[2]).write_bytes(b"PNG")
"""
HANG = """
import subprocess, sys, time
from pathlib import Path
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
Path(sys.argv[4]).write_text(str(grandchild.pid))
time.sleep(120)
"""


@pytest.fixture()
def stand_in(monkeypatch, tmp_path):
    """The drawing child replaced by a script that marks its run and sleeps ``seconds``."""
    running = {"now": 0, "most": 0, "drawing": threading.Event()}
    lock = threading.Lock()
    real_draw = png_turn._draw

    def counted(page, width, height, timeout):
        with lock:
            running["now"] += 1
            running["most"] = max(running["most"], running["now"])
            running["drawing"].set()
        try:
            return real_draw(page, width, height, timeout)
        finally:
            with lock:
                running["now"] -= 1

    def command(source, target, width, height):
        return [sys.executable, "-c", STAND_IN, str(source), str(target), "0.3"]

    monkeypatch.setattr(png_turn, "_draw", counted)
    monkeypatch.setattr(png_turn, "_command", command)
    return running


def test_eight_exports_at_once_draw_one_at_a_time_and_the_others_are_told_to_wait(stand_in):
    told, images = [], []

    def visitor():
        images.append(render_png_in_turn("<html></html>", on_wait=told.append))

    visitors = [threading.Thread(target=visitor) for _ in range(8)]
    for thread in visitors:
        thread.start()
    for thread in visitors:
        thread.join(60)
    assert images == [b"PNG"] * 8
    assert stand_in["most"] == 1  # never two drawings at once
    assert told == [WAITING] * 7 and WAITING.startswith("En attente : une autre image est en cours")


def test_a_request_that_waited_too_long_is_refused_politely(stand_in, monkeypatch):
    monkeypatch.setenv("RESEAUX_PNG_WAIT", "0.1")
    first = threading.Thread(target=render_png_in_turn, args=("<html></html>",))
    first.start()
    assert stand_in["drawing"].wait(30)  # the first request holds the turn: it is drawing
    with pytest.raises(ExportBusy) as refused:
        render_png_in_turn("<html></html>")
    first.join(30)
    assert str(refused.value) == BUSY.format(wait="0,1") and "réessayez dans un moment" in str(refused.value)
    assert render_png_in_turn("<html></html>") == b"PNG"  # the turn is free again


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_stuck_drawing_is_killed_with_what_it_started(monkeypatch, tmp_path):
    monkeypatch.setenv("RESEAUX_PNG_TIMEOUT", "2")
    record = tmp_path / "grandchild.pid"
    monkeypatch.setattr(
        png_turn,
        "_command",
        lambda source, target, width, height: [sys.executable, "-c", HANG, str(source), str(target), "x", str(record)],
    )
    start = time.monotonic()
    with pytest.raises(ExportError, match="n'a pas fini l'image en 2 s : il a été arrêté"):
        render_png_in_turn("<html></html>")
    assert time.monotonic() - start < 10
    grandchild = int(record.read_text())
    for _ in range(50):  # reaped by init: gone within moments
        if not _alive(grandchild):
            break
        time.sleep(0.1)
    assert not _alive(grandchild)


def test_a_process_left_behind_by_the_drawing_does_not_hold_the_turn(monkeypatch, tmp_path):
    monkeypatch.setenv("RESEAUX_PNG_TIMEOUT", "2")
    record = tmp_path / "lingering.pid"
    monkeypatch.setattr(
        png_turn,
        "_command",
        lambda source, target, width, height: [
            sys.executable,
            "-c",
            LATE_FORK,
            str(source),
            str(target),
            "x",
            str(record),
        ],
    )
    try:
        start = time.monotonic()
        assert render_png_in_turn("<html></html>") == b"PNG"  # the child is done: so is the image
        assert time.monotonic() - start < 2
        assert png_turn._TURN.acquire(blocking=False)  # and the turn is free for the next one
        png_turn._TURN.release()
    finally:
        if record.exists():
            try:
                os.kill(int(record.read_text()), signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_a_missing_chromium_is_said_at_once_not_after_the_turn(monkeypatch):
    from reseaux.carte import export_map
    from reseaux.carte.export_map import ChromiumMissing

    monkeypatch.setattr(export_map, "chromium_path", lambda: None)
    monkeypatch.setattr(png_turn, "chromium_path", lambda: None)
    monkeypatch.setenv("RESEAUX_PNG_WAIT", "5")
    told = []
    with png_turn._TURN:  # another session's image is being drawn
        start = time.monotonic()
        with pytest.raises(ChromiumMissing, match="besoin de Chromium"):
            render_png_in_turn("<html></html>", on_wait=told.append)
        assert time.monotonic() - start < 1 and told == []


@pytest.mark.browser
def test_a_real_drawing_goes_through_the_turn():
    from PIL import Image

    page = "<html><body style='margin:0;background:#7b2d8e'><div class='leaflet-container'>carte</div></body></html>"
    data = render_png_in_turn(page, width=320, height=200)
    assert Image.open(io.BytesIO(data)).size == (320, 200)


def test_the_presentation_page_says_when_another_image_holds_the_turn(monkeypatch, tmp_path):
    from reseaux.carte.scenes import Scene, SceneStore
    from tests.test_presentation_page import app

    store = SceneStore(tmp_path / "scenes.json")
    store.save([Scene("Deuxième", "IVG", {"theme": "ivg"}, ["qpv"], id="deux")])
    monkeypatch.setenv("RESEAUX_SCENES", str(store.path))
    monkeypatch.setenv("RESEAUX_PNG_WAIT", "0.3")
    at = app(scene="deux").run()
    with png_turn._TURN:  # another session's image is being drawn
        at.button(key="pr_png_make").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [BUSY.format(wait="0,3")]
    assert not at.info or all("En attente" not in i.value for i in at.info)  # the notice went with the wait
