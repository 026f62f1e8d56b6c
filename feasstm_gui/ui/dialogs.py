"""Dialogs: errors that say what to do, the annotator's name, re-align options, importing
videos, the keymap editor and the F1 overlay of every key."""

from __future__ import annotations

import re
import traceback
from pathlib import Path

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor, QKeySequence, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QKeySequenceEdit,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.settings import login_name
from feasstm_gui.ui.actions import (
    ACTIONS,
    DEFAULT_KEYMAP,
    SECTIONS,
    SPECS,
    Keymap,
    conflicts,
    display_keys,
    normalise,
)

# -- messages ------------------------------------------------------------------------------


def error_text(exc: BaseException | str) -> tuple[str, str]:
    """(message, details) for the user: FeasstmError messages already name the file and say
    what to do; anything else is a bug, said plainly, with the traceback as details."""
    if isinstance(exc, str):
        return exc, ""
    if isinstance(exc, FeasstmError):
        return str(exc), ""
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return (f"{where}{exc.strerror or exc}. Check that the file or folder exists and that "
                "you may write there, then try again.", "")
    details = "".join(traceback.format_exception(exc))
    return (f"Something went wrong ({type(exc).__name__}: {exc}). Everything saved before this "
            "is kept. Please report it with the details below.", details)


def show_message(parent: QWidget | None, title: str, text: str, details: str = "",
                 icon: QMessageBox.Icon = QMessageBox.Icon.Warning) -> QMessageBox:
    """A window-modal message that does not block the event loop (tests can read it)."""
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    if details:
        box.setDetailedText(details)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if parent is not None:
        parent.setProperty("last_message", text)
    box.open()
    return box


def show_error(parent: QWidget | None, exc: BaseException | str,
               title: str = "FEASSTM Studio") -> QMessageBox:
    text, details = error_text(exc)
    return show_message(parent, title, text, details, QMessageBox.Icon.Warning)


def ask_annotator(parent: QWidget | None, current: str = "") -> str | None:
    """The annotator's name, asked once and remembered (it is stamped on every edit)."""
    name, ok = QInputDialog.getText(
        parent, "Who is labelling?",
        "Your name (stamped on every label and flag you make; you can change it later in "
        "File ▸ Change annotator):", text=current or login_name())
    name = name.strip()
    return name if ok and name else None




# -- re-align options ------------------------------------------------------------------------


class RealignDialog(QDialog):
    """Options for re-aligning the selected frames (core.pipeline.RealignOptions, as a dict)."""

    FACES = [("the one nearest the current box", None), ("the largest", 0),
             ("the second largest", 1), ("the third largest", 2)]

    def __init__(self, parent: QWidget | None, n_frames: int, has_drawn: bool):
        super().__init__(parent)
        self.setWindowTitle("Re-align selected frames")
        form = QFormLayout(self)
        intro = QLabel(f"Detect and align {n_frames} frame(s) again. The new crops replace the "
                       "current ones; Undo brings the old ones back.")
        intro.setWordWrap(True)
        form.addRow(intro)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setValue(0.7)
        self.threshold.setToolTip("Faces detected with a lower probability are ignored")
        form.addRow("Lowest detection probability", self.threshold)
        self.min_face = QDoubleSpinBox()
        self.min_face.setRange(0, 2000)
        self.min_face.setDecimals(0)
        self.min_face.setSpecialValueText("the project's setting")
        self.min_face.setToolTip("Smaller faces (side in pixels) are ignored")
        form.addRow("Smallest face", self.min_face)
        self.face = QComboBox()
        for title, value in self.FACES:
            self.face.addItem(title, value)
        form.addRow("Which face", self.face)
        self.use_drawn = QCheckBox("Use the box and landmarks drawn on the preview")
        self.use_drawn.setEnabled(has_drawn)
        self.use_drawn.setChecked(has_drawn)
        form.addRow(self.use_drawn)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def options(self) -> dict:
        out: dict = {"threshold": round(self.threshold.value(), 3)}
        if self.min_face.value() > 0:
            out["min_face_size"] = float(self.min_face.value())
        if self.face.currentData() is not None:
            out["face"] = int(self.face.currentData())
        return out


class ImportVideosDialog(QDialog):
    """What the chosen video files are: the metadata every new clip gets (one clip per file, its
    id the file name), and whether to extract and align them at once."""

    FIELDS = (("work", "Work (film or series)"), ("actor", "Actor"), ("role", "Role"),
              ("group", "Rater group"))

    def __init__(self, parent: QWidget | None, paths: list[str], defaults: dict | None = None,
                 choose_files=None):
        super().__init__(parent)
        self.setWindowTitle("Import videos")
        self.setMinimumWidth(460)
        form = QFormLayout(self)
        names = [Path(p).name for p in paths]
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        intro = QLabel(f"{len(paths)} video file(s): {shown}. Each becomes a clip named after "
                       "its file. A clip table (File ▸ Import clip table) sets these per clip "
                       "and can cut clips out of longer videos.")
        intro.setWordWrap(True)
        form.addRow(intro)
        defaults = defaults or {}
        self.edits: dict[str, QLineEdit] = {}
        for key, title in self.FIELDS:
            edit = QLineEdit(str(defaults.get(key, "") or ""))
            edit.setObjectName(f"import_{key}")
            self.edits[key] = edit
            form.addRow(title, edit)
            if key == "actor":  # issue 15: the actor's reference photo(s), under the name
                from feasstm_gui.ui.actor_photo import ActorPhotoField

                self.photo = ActorPhotoField(self, choose_files or _choose_files_here(self))
                form.addRow("Actor's reference photo", self.photo)
        self.edits["group"].setPlaceholderText("A, B, C... (the ASA rater group)")
        self.error = QLabel()
        self.error.setObjectName("import_error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020")
        self.error.hide()
        form.addRow(self.error)
        self.process = QCheckBox("Extract and align them now (one pass, in the background)")
        self.process.setChecked(bool(defaults.get("process", True)))
        form.addRow(self.process)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Import")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def metadata(self) -> dict:
        """The clips' metadata, and the actor's reference photos (`actor_photos`)."""
        return {**{key: edit.text().strip() for key, edit in self.edits.items()},
                "actor_photos": list(self.photo.photos)}

    def accept(self) -> None:
        problem = self.photo.problem(self.edits["actor"].text())
        if problem:  # said in the dialog, which stays open to fix it
            self.error.setText(problem)
            self.error.show()
            return
        super().accept()


def _choose_files_here(parent: QWidget):
    """A file chooser for a dialog without the window's (which remembers folders)."""
    def choose(title: str, _folder_key: str, filters: str, *, many: bool = False) -> list[str]:
        if many:
            return list(QFileDialog.getOpenFileNames(parent, title, str(Path.home()), filters)[0])
        chosen = QFileDialog.getOpenFileName(parent, title, str(Path.home()), filters)[0]
        return [chosen] if chosen else []
    return choose


# -- keymap editor ---------------------------------------------------------------------------


def split_keys(text: str) -> list[str]:
    """The keys of an editor cell: separated by commas ("4, Num+4"); the comma key itself
    ("," or "Ctrl+,") is a key, not a separator."""
    out: list[str] = []
    for part in re.split(r",\s+", text.strip()):
        part = part.strip()
        if part == "," or part.endswith("+,"):
            out.append(part)
        else:
            out += [k.strip() for k in part.split(",") if k.strip()]
    return out


class KeymapEditor(QDialog):
    """Change the keys of any action. Keys are saved in the preferences and win over the
    defaults; a key given to two actions is refused."""

    def __init__(self, keymap: Keymap, parent: QWidget | None = None):
        super().__init__(parent)
        self.keymap = keymap
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(640, 560)
        self.mapping = keymap.mapping()
        self.table = QTableWidget(len(ACTIONS), 3)
        self.table.setHorizontalHeaderLabels(["Action", "Keys", "Default"])
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for r, spec in enumerate(ACTIONS):
            item = QTableWidgetItem(f"{spec.menu} ▸ {spec.title.replace('&', '')}")
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            item.setData(Qt.ItemDataRole.UserRole, spec.id)
            self.table.setItem(r, 0, item)
            keys = QTableWidgetItem(", ".join(self.mapping[spec.id]))
            keys.setToolTip("Keys separated by commas, e.g. 4, Num+4")
            self.table.setItem(r, 1, keys)
            default = QTableWidgetItem(", ".join(DEFAULT_KEYMAP.get(spec.id, [])))
            default.setFlags(default.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(r, 2, default)
        self.recorder = QKeySequenceEdit()
        self.recorder.setMaximumSequenceLength(1)
        set_btn = QPushButton("Set for selected")
        add_btn = QPushButton("Add to selected")
        reset_btn = QPushButton("Default for selected")
        reset_all = QPushButton("All defaults")
        set_btn.clicked.connect(lambda: self._record(replace=True))
        add_btn.clicked.connect(lambda: self._record(replace=False))
        reset_btn.clicked.connect(self._reset_selected)
        reset_all.clicked.connect(self._reset_all)
        rec = QHBoxLayout()
        rec.addWidget(QLabel("Press a key:"))
        rec.addWidget(self.recorder, 1)
        rec.addWidget(set_btn)
        rec.addWidget(add_btn)
        rec.addWidget(reset_btn)
        rec.addWidget(reset_all)
        self.problem = QLabel()
        self.problem.setStyleSheet("color:#e74c3c")
        self.problem.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(rec)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)

    def _row_keys(self, r: int) -> list[str]:
        return split_keys(self.table.item(r, 1).text())

    def current_mapping(self) -> dict[str, list[str]]:
        return {self.table.item(r, 0).data(Qt.ItemDataRole.UserRole): self._row_keys(r)
                for r in range(self.table.rowCount())}

    def set_keys(self, action_id: str, keys: list[str]) -> None:
        for r in range(self.table.rowCount()):
            if self.table.item(r, 0).data(Qt.ItemDataRole.UserRole) == action_id:
                self.table.item(r, 1).setText(", ".join(keys))

    def _record(self, replace: bool) -> None:
        r = self.table.currentRow()
        seq = self.recorder.keySequence().toString(QKeySequence.SequenceFormat.PortableText)
        if r < 0 or not seq:
            return
        keys = [] if replace else self._row_keys(r)
        self.table.item(r, 1).setText(", ".join([*keys, seq]))
        self.recorder.clear()

    def _reset_selected(self) -> None:
        r = self.table.currentRow()
        if r >= 0:
            action_id = self.table.item(r, 0).data(Qt.ItemDataRole.UserRole)
            self.table.item(r, 1).setText(", ".join(DEFAULT_KEYMAP.get(action_id, [])))

    def _reset_all(self) -> None:
        for r in range(self.table.rowCount()):
            action_id = self.table.item(r, 0).data(Qt.ItemDataRole.UserRole)
            self.table.item(r, 1).setText(", ".join(DEFAULT_KEYMAP.get(action_id, [])))

    def validate(self) -> str:
        mapping = self.current_mapping()
        bad = [k for keys in mapping.values() for k in keys if not normalise(k)]
        if bad:
            return f"Not a key: {', '.join(bad)}"
        clash = conflicts(mapping)
        if clash:
            return "; ".join(f"{k} is given to " + " and ".join(
                SPECS[a].title.replace("&", "") for a in ids) for k, ids in clash.items())
        return ""

    def accept(self) -> None:
        problem = self.validate()
        if problem:
            self.problem.setText(problem + ". Give each key to one action.")
            return
        self.keymap.save(self.current_mapping())
        super().accept()


# -- F1 overlay ------------------------------------------------------------------------------


class KeyOverlay(QWidget):
    """Every key of every action, the tools' keys too, over the main window (F1, Esc or a click
    closes it)."""

    def __init__(self, keymap: Keymap, parent: QWidget):
        super().__init__(parent)
        self.keymap = keymap
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._outer = QVBoxLayout(self)
        self._outer.setContentsMargins(30, 24, 30, 24)
        title = QLabel("Keys (F1 or Esc to close; change them in File ▸ Keyboard shortcuts)")
        title.setStyleSheet("color:white; font-size:14px; font-weight:bold; "
                            "background:transparent")
        self._outer.addWidget(title)
        self._content: QWidget | None = None
        parent.installEventFilter(self)
        self.rebuild()
        self.hide()

    def rebuild(self) -> None:
        """Lay the keys out again (after the keymap changed)."""
        old = self._content
        self._content = QWidget(self)
        self._content.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground, True)
        grid = QGridLayout(self._content)
        grid.setHorizontalSpacing(28)
        self._outer.addWidget(self._content, 1)
        if old is not None:
            old.hide()
            self._outer.removeWidget(old)
            old.setParent(None)
            old.deleteLater()
        menus = [m for m in SECTIONS if any(a.menu == m and self.keymap.keys(a.id)
                                         for a in ACTIONS)]
        sizes = {m: 2 + sum(1 for a in ACTIONS if a.menu == m and self.keymap.keys(a.id))
                 for m in menus}
        columns = 4  # the window's menus and the tools' keys
        col_menus: list[list[str]] = [[] for _ in range(columns)]
        per_column = sum(sizes.values()) / columns
        col, filled = 0, 0
        for menu in menus:  # fill columns in menu order, about a quarter of the lines each
            if filled >= per_column and col < columns - 1:
                col, filled = col + 1, 0
            col_menus[col].append(menu)
            filled += sizes[menu]
        for c, names in enumerate(col_menus):
            lines = []
            for menu in names:
                lines.append(f"<p style='margin:8px 0 2px 0; color:#f1c40f'><b>{menu}</b></p>")
                rows = []
                for spec in ACTIONS:
                    keys = display_keys(self.keymap.keys(spec.id)) if spec.menu == menu else []
                    if keys:
                        rows.append(f"<tr><td style='padding-right:12px; color:#8fd3ff'><b>"
                                    f"{' / '.join(keys)}</b></td><td>"
                                    f"{spec.title.replace('&', '')}</td></tr>")
                lines.append("<table>" + "".join(rows) + "</table>")
            label = QLabel("".join(lines))
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            label.setStyleSheet("color:white; background:transparent; font-size:12px")
            grid.addWidget(label, 0, c)

    def text(self) -> str:
        return " ".join(w.text() for w in self._content.findChildren(QLabel))

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(10, 10, 15, 225))

    def toggle(self) -> None:
        if self.isVisible():
            self.hide()
        else:
            self.rebuild()
            self.setGeometry(self.parentWidget().rect())
            self.show()
            self.raise_()
            self.setFocus()

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Escape, Qt.Key.Key_F1):
            self.hide()
            event.accept()
            return
        super().keyPressEvent(event)

    def mousePressEvent(self, _event) -> None:  # noqa: N802
        self.hide()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        if obj is self.parentWidget() and event.type() == QEvent.Type.Resize and \
                self.isVisible():
            self.setGeometry(self.parentWidget().rect())
        return False


def confirm(parent: QWidget | None, title: str, text: str) -> bool:
    return QMessageBox.question(parent, title, text) == QMessageBox.StandardButton.Yes
