"""PNG exports one at a time, server-wide, each in a Chromium stopped when it takes too long.

Every « Préparer l'image (.png) » starts a headless Chromium (:func:`reseaux.carte.export_map.render_png`):
a few hundred megabytes and both processors for a few seconds. Eight visitors asking at once
made 81 processes and 32 to 43 s each. Here a request takes its turn: while another image is
being drawn it waits (the page says « en attente »), at most ``RESEAUX_PNG_WAIT`` seconds, then
is refused politely. The drawing runs in a child process of its own (``python -m
reseaux.carte.png_turn``) killed with everything it started — Playwright's driver and Chromium —
after ``RESEAUX_PNG_TIMEOUT`` seconds.

The turn is a lock of this server process (Streamlit serves every session from one process).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from reseaux import config
from reseaux.carte.export_map import ExportError, chromium_path, render_png
from reseaux.text import fr_number

WAITING = "En attente : une autre image est en cours ; la vôtre suit (une seule à la fois)."
BUSY = (
    "Une autre image est en cours depuis plus de {wait} s : réessayez dans un moment, ou exportez la carte "
    "en HTML et faites une capture d'écran."
)
STUCK = (
    "Chromium n'a pas fini l'image en {timeout} s : il a été arrêté. Réessayez ; si cela recommence, "
    "exportez la carte en HTML et faites une capture d'écran."
)
_TURN = threading.Lock()


class ExportBusy(ExportError):
    """Another image was still being drawn after the longest wait; the message says so in French."""


def render_png_in_turn(
    page: str, *, width: int = 1600, height: int = 1000, on_wait: Callable[[str], None] | None = None
) -> bytes:
    """Render ``page`` (a standalone map) to PNG when no other image is being drawn.

    ``on_wait`` is called with :data:`WAITING` if the turn is taken, before waiting for it.
    Raises :class:`ExportBusy` after ``RESEAUX_PNG_WAIT`` seconds of waiting, and :class:`ExportError`
    when Chromium is missing (said at once, without waiting), fails or outlives ``RESEAUX_PNG_TIMEOUT``
    (the message says which).
    """
    if chromium_path() is None:
        # render_png's first check raises ChromiumMissing with its message, drawing nothing (were
        # Chromium installed at this very moment, one image would be drawn outside the turn).
        return render_png(page, width=width, height=height)
    wait = _seconds("png_wait")
    if not _TURN.acquire(blocking=False):
        if on_wait is not None:
            on_wait(WAITING)
        if not _TURN.acquire(timeout=wait):
            raise ExportBusy(BUSY.format(wait=fr_number(wait, 1)))
    try:
        return _draw(page, width, height, _seconds("png_timeout"))
    finally:
        _TURN.release()


def _draw(page: str, width: int, height: int, timeout: float) -> bytes:
    """Draw in a child process; kill it and its descendants when it outlives ``timeout``.

    Its stderr goes to a file, not a pipe: a process it leaves behind (a Chromium forked late)
    would keep a pipe open, and reading it to the end would hold the turn as long as that lives."""
    with tempfile.TemporaryDirectory(prefix="reseaux-png-") as folder:
        source, target = Path(folder) / "carte.html", Path(folder) / "carte.png"
        source.write_text(page, encoding="utf-8")
        with open(Path(folder) / "erreurs.txt", "w+b") as errors:
            child = subprocess.Popen(
                _command(source, target, width, height),
                stdout=subprocess.DEVNULL,
                stderr=errors,
                start_new_session=True,
            )
            try:
                child.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_tree(child.pid)
                child.wait(timeout=10)  # killed: it is gone at once
                raise ExportError(STUCK.format(timeout=fr_number(timeout, 1))) from None
            errors.seek(0)
            said = errors.read()
        if child.returncode != 0 or not target.exists():
            message = said.decode("utf-8", "replace").strip().splitlines()
            raise ExportError(
                message[-1]
                if message and child.returncode == 3
                else "Chromium n'a pas pu dessiner l'image : réessayez ; si cela recommence, exportez "
                "la carte en HTML et faites une capture d'écran."
            )
        return target.read_bytes()


def _command(source: Path, target: Path, width: int, height: int) -> list[str]:
    return [sys.executable, "-m", "reseaux.carte.png_turn", str(source), str(target), str(width), str(height)]


def _kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and every process it started, whatever their process group (Playwright
    starts Chromium in a group of its own), and its group (one already orphaned by a descendant
    that ended). ``pid`` is not reaped yet: its number, and its group's, are still its own."""
    family = [pid, *_descendants(pid)]  # before any kill: a killed parent's children are re-parented
    try:
        os.killpg(pid, signal.SIGKILL)  # started with start_new_session: the group is pid's
    except (ProcessLookupError, PermissionError):
        pass
    for member in family:
        try:
            os.kill(member, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])  # the name may hold spaces and parentheses
        children.setdefault(parent, []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def _seconds(name: str) -> float:
    try:
        value = float(config.get(name).replace(",", "."))
    except ValueError:
        value = float(config.SETTINGS[name].default)
    return value if value > 0 and value == value else float(config.SETTINGS[name].default)


def _main(argv: list[str]) -> int:
    """The child: draw ``argv = [source.html, target.png, width, height]``; exit 3 with the
    French message on stderr when the export itself says why it failed."""
    source, target, width, height = Path(argv[0]), Path(argv[1]), int(argv[2]), int(argv[3])
    try:
        data = render_png(source.read_text(encoding="utf-8"), width=width, height=height)
    except ExportError as exc:
        print(str(exc), file=sys.stderr)
        return 3
    target.write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
