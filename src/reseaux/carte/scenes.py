"""Scenes for webinars: a named sequence of saved views, stored in one JSON file in ``data/``.

A scene is everything needed to redraw a view: title and comment, the filters (as their
query string), the layers, base map and colouring, the centre and zoom. The file is written
atomically; its order is the order of the presentation. An addition, a removal or a move reads and
writes the file under its lock (``scenes.json.lock``): two presenters editing at once lose neither
change. With ``RESEAUX_DATABASE_URL`` set, the same document is kept in the database
(:mod:`reseaux.stockage.documents`), shared by every server of it.

A title or comment may hold ``{n}``: the number of partners the scene shows, counted for the
person looking (a visitor sees fewer fiches than a member), written « 118 partenaires ».
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from reseaux.stockage import documents
from reseaux.text import plural

COUNT = "{n}"


@dataclass
class Scene:
    title: str
    comment: str = ""
    filters: dict[str, str] = field(default_factory=dict)
    layers: list[str] = field(default_factory=list)
    basemap: str = "positron"
    color_by: str = "type"
    center: list[float] | None = None  # [lat, lon]
    zoom: float | None = None
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            slug = re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")[:30] or "scene"
            self.id = f"{slug}-{uuid.uuid4().hex[:6]}"

    def title_for(self, count: int) -> str:
        """The title with ``{n}`` written for ``count`` actors shown."""
        return fill_count(self.title, count)

    def comment_for(self, count: int) -> str:
        """The comment with ``{n}`` written for ``count`` actors shown."""
        return fill_count(self.comment, count)

    def query(self) -> dict[str, str]:
        """The map page's query string for this scene (filters, layers, base map, colour)."""
        return {**self.filters, "couches": ",".join(self.layers) or "-", "fond": self.basemap, "couleur": self.color_by}


def fill_count(text: str, count: int) -> str:
    """``text`` with each ``{n}`` replaced by « 118 partenaires » (« 1 partenaire », « 0 partenaire »)."""
    return text.replace(COUNT, plural(count, "partenaire"))


def _problem(scene: Scene) -> str:
    """What is wrong with a scene read from the file, or ""."""
    if not isinstance(scene.title, str) or not isinstance(scene.comment, str):
        return "le titre et le commentaire sont du texte"
    if not isinstance(scene.filters, dict) or not all(isinstance(v, str) for v in scene.filters.values()):
        return "« filters » associe des noms de filtres à du texte (« theme »: « ivg »)"
    if not isinstance(scene.layers, list) or not all(isinstance(v, str) for v in scene.layers):
        return "« layers » est une liste d'identifiants de couches"
    if scene.center is not None and not (
        isinstance(scene.center, list)
        and len(scene.center) == 2
        and all(isinstance(v, int | float) for v in scene.center)
    ):
        return "« center » est [latitude, longitude] ou null"
    if scene.zoom is not None and not isinstance(scene.zoom, int | float):
        return "« zoom » est un nombre ou null"
    return ""


class SceneError(ValueError):
    """The scenes file is unreadable; the message says how to fix it, in French."""


class SceneStore:
    """The scenes: the file at ``path`` (``RESEAUX_SCENES``), or the document « scenes » of the
    database when ``RESEAUX_DATABASE_URL`` is set. :meth:`add`, :meth:`delete` and :meth:`move`
    raise :class:`~reseaux.annuaire.exports.LockTimeout` (an ``OSError``) when another change held
    the lock longer than ``lock_timeout`` seconds: nothing was written."""

    def __init__(self, path: Path, *, lock_timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.document = documents.document("scenes", self.path, lock_timeout=lock_timeout)

    def _where(self) -> str:
        if isinstance(self.document, documents.FileDocument):
            return f"Fichier de scènes {self.path}"
        return f"Scènes ({self.document.describe()})"

    def load(self) -> list[Scene]:
        try:
            data = self.document.read()
        except documents.DocumentUnavailable as exc:
            raise SceneError(f"{self._where()} : {exc}.") from exc
        if data is None:
            return []
        try:
            raw = json.loads(data.decode("utf-8"))
            scenes = [Scene(**item) for item in raw.get("scenes", [])]
        except (json.JSONDecodeError, UnicodeDecodeError, TypeError, AttributeError) as exc:
            raise SceneError(f"{self._where()} illisible ({exc}) : corrigez-le ou supprimez-le.") from exc
        for number, scene in enumerate(scenes, start=1):
            problem = _problem(scene)
            if problem:
                raise SceneError(
                    f"{self._where()}, scène {number} (« {scene.title} ») : {problem} ; corrigez le fichier."
                )
        return scenes

    def save(self, scenes: list[Scene]) -> None:
        data = json.dumps({"scenes": [asdict(s) for s in scenes]}, ensure_ascii=False, indent=2)
        self.document.write(data.encode("utf-8"))

    def add(self, scene: Scene) -> list[Scene]:
        with self.document.locked():
            scenes = [*self.load(), scene]
            self.save(scenes)
        return scenes

    def delete(self, scene_id: str) -> list[Scene]:
        with self.document.locked():
            scenes = [s for s in self.load() if s.id != scene_id]
            self.save(scenes)
        return scenes

    def move(self, scene_id: str, offset: int) -> list[Scene]:
        """Move a scene ``offset`` places (-1: earlier, +1: later), within bounds."""
        with self.document.locked():
            scenes = self.load()
            index = next((i for i, s in enumerate(scenes) if s.id == scene_id), None)
            if index is None:  # deleted meanwhile (another presenter): nothing to move
                return scenes
            target = max(0, min(len(scenes) - 1, index + offset))
            scenes.insert(target, scenes.pop(index))
            self.save(scenes)
        return scenes
