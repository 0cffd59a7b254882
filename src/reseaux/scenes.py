"""Scenes for webinars: a named sequence of saved views, stored in one JSON file in ``data/``.

A scene is everything needed to redraw a view: title and comment, the filters (as their
query string), the layers, base map and colouring, the centre and zoom. The file is written
atomically; its order is the order of the presentation.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from reseaux.exports import write_atomic


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

    def query(self) -> dict[str, str]:
        """The map page's query string for this scene (filters, layers, base map, colour)."""
        return {**self.filters, "couches": ",".join(self.layers) or "-", "fond": self.basemap,
                "couleur": self.color_by}


class SceneError(ValueError):
    """The scenes file is unreadable; the message says how to fix it, in French."""


class SceneStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def load(self) -> list[Scene]:
        if not self.path.exists():
            return []
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return [Scene(**item) for item in raw.get("scenes", [])]
        except (json.JSONDecodeError, TypeError, AttributeError) as exc:
            raise SceneError(f"Fichier de scènes {self.path} illisible ({exc}) : corrigez-le ou supprimez-le.") from exc

    def save(self, scenes: list[Scene]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps({"scenes": [asdict(s) for s in scenes]}, ensure_ascii=False, indent=2)
        write_atomic(self.path, data.encode("utf-8"))

    def add(self, scene: Scene) -> list[Scene]:
        scenes = self.load() + [scene]
        self.save(scenes)
        return scenes

    def delete(self, scene_id: str) -> list[Scene]:
        scenes = [s for s in self.load() if s.id != scene_id]
        self.save(scenes)
        return scenes

    def move(self, scene_id: str, offset: int) -> list[Scene]:
        """Move a scene ``offset`` places (-1: earlier, +1: later), within bounds."""
        scenes = self.load()
        index = next(i for i, s in enumerate(scenes) if s.id == scene_id)
        target = max(0, min(len(scenes) - 1, index + offset))
        scenes.insert(target, scenes.pop(index))
        self.save(scenes)
        return scenes
