"""User preferences (annotator name, keymap, recent projects): one JSON file per user.

The folder is $FEASSTM_CONFIG_DIR, else the platform's config folder (platformdirs).
QSettings holds window geometry only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from feasstm_gui.core.files import atomic_write

APP_NAME = "feasstm-studio"


def config_dir() -> Path:
    env = os.environ.get("FEASSTM_CONFIG_DIR")
    if env:
        return Path(env)
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME, appauthor=False))


class Settings:
    """A small JSON document; every `set` is written at once (atomically)."""

    FILE = "settings.json"

    def __init__(self, path: Path, values: dict[str, Any]):
        self.path = path
        self._values = values

    @classmethod
    def load(cls) -> Settings:
        path = config_dir() / cls.FILE
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(values, dict):
                values = {}
        except (OSError, ValueError):
            values = {}
        return cls(path, values)

    def get(self, key: str, default: Any = None) -> Any:
        return self._values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self._values[key] = value
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, json.dumps(self._values, ensure_ascii=False, indent=2))

    def add_recent_project(self, folder: str | Path, limit: int = 10) -> None:
        folder = str(Path(folder).resolve())
        recent = [p for p in self.get("recent_projects", []) if p != folder]
        self.set("recent_projects", [folder, *recent][:limit])


def login_name() -> str:
    """The user's login name ('' where the system does not say)."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name is not an error
        return ""


def resolve_annotator(settings: Settings | None = None,
                      ask: Callable[[], str | None] | None = None) -> str:
    """The annotator's name, decided the same way by the CLI, the window and the store:
    $FEASSTM_ANNOTATOR wins; else the remembered name; else `ask` (the window's dialog) once,
    its answer remembered; else the login name."""
    env = os.environ.get("FEASSTM_ANNOTATOR")
    if env:
        return env
    if settings is None:
        try:
            settings = Settings.load()
        except Exception:  # noqa: BLE001 - a broken settings file must not stop the store
            settings = None
    name = settings.get("annotator") if settings is not None else None
    if name:
        return str(name)
    if ask is not None and settings is not None:
        name = ask()
        if name:
            settings.set("annotator", name)
            return name
    return login_name() or "annotator"
