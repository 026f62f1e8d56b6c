"""The actor's reference photo(s) in the Import videos dialog (issue 15): chosen in a file dialog
that opens where the last photos were, shown by name, checked before the import starts.

A photo must be a readable image, and it needs the actor's name (the references are kept per
actor, for all their clips). Whether it shows exactly one face, the same person as the actor's
references already held, is checked by the import job itself before it adds anything
(`core.ingest.importer.import_videos`, as `feasstm import --actor-photo`): the detector is not
loaded on the window's thread.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QWidget

from feasstm_gui.core.ingest.images import check_image

#: where the last reference photos were chosen (the user's preferences)
PHOTO_FOLDER_KEY = "import.photo_folder"
PHOTO_FILTER = ("Photos (*.jpg *.jpeg *.png *.bmp *.webp *.JPG *.JPEG *.PNG *.BMP *.WEBP);;"
                "All files (*)")

#: choose_files(title, folder_key, filters, many=True) -> paths (the window's file chooser,
#: which remembers the folder under folder_key)
Chooser = Callable[..., list[str]]


class ActorPhotoField(QWidget):
    """The photos chosen (`photos`), a Choose… and a Clear button."""

    def __init__(self, parent: QWidget | None, choose_files: Chooser) -> None:
        super().__init__(parent)
        self._choose_files = choose_files
        self.photos: list[str] = []
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.shown = QLineEdit()
        self.shown.setObjectName("import_actor_photo")
        self.shown.setReadOnly(True)
        self.shown.setPlaceholderText("none: the largest face of the first frame is the actor")
        self.choose = QPushButton("Choose…")
        self.choose.setObjectName("import_choose_photo")
        self.choose.setAutoDefault(False)
        self.choose.clicked.connect(self.choose_photos)
        self.clear = QPushButton("Clear")
        self.clear.setAutoDefault(False)
        self.clear.clicked.connect(lambda: self.set_photos([]))
        row.addWidget(self.shown, 1)
        row.addWidget(self.choose)
        row.addWidget(self.clear)

    def choose_photos(self) -> None:
        paths = self._choose_files("Choose the actor's reference photo(s)", PHOTO_FOLDER_KEY,
                                   PHOTO_FILTER, many=True)
        if paths:
            self.set_photos(paths)

    def set_photos(self, paths: list[str]) -> None:
        self.photos = [str(p) for p in paths]
        self.shown.setText("; ".join(Path(p).name for p in self.photos))
        self.shown.setCursorPosition(0)  # the first name shown, not the end of the last
        self.shown.setToolTip("\n".join(self.photos))

    def problem(self, actor: str) -> str:
        """What stops the import (empty when nothing does): a photo without the actor's name,
        a photo that is not a readable image (named)."""
        if not self.photos:
            return ""
        if not actor.strip():
            return ("Give the actor's name: a reference photo picks that actor in all their "
                    "clips.")
        for p in self.photos:
            image, reason = check_image(p)
            if image is None:
                return f"{p}: the actor's reference photo {reason}."
        return ""
