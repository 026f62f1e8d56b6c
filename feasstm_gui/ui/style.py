"""Colours and small painted icons shared by the strip, the legend and the toolbar."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap

from feasstm_gui.core.vocab import CODES

#: One colour per expression code (1 Surprise ... 7 Neutral), distinct on light and dark themes.
CODE_COLORS: dict[int, QColor] = {
    1: QColor("#f39c12"),  # Surprise: orange
    2: QColor("#8e44ad"),  # Fear: purple
    3: QColor("#27ae60"),  # Disgust: green
    4: QColor("#f1c40f"),  # Happy: yellow
    5: QColor("#2e86de"),  # Sadness: blue
    6: QColor("#c0392b"),  # Anger: red
    7: QColor("#7f8c8d"),  # Neutral: grey
}
UNLABELLED_COLOR = QColor("#3a3a3a")
DELETED_COLOR = QColor("#e74c3c")
SUGGESTED_COLOR = QColor("#f5b041")
IRRELEVANT_COLOR = QColor("#5d6d7e")

#: One letter per deletion reason, as the strip's badges show them.
REASON_LETTERS: dict[str, str] = {
    "alignment_failure": "A",
    "incomplete": "I",
    "blur": "B",
    "other": "O",
}


def text_color_on(color: QColor) -> QColor:
    """Black or white, whichever reads better on `color`."""
    return QColor("black") if color.lightnessF() > 0.6 else QColor("white")


def code_icon(code: int, size: int = 32) -> QIcon:
    """A round badge with the code's digit in its colour (toolbar and legend)."""
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    color = CODE_COLORS[code]
    p.setBrush(color)
    p.setPen(Qt.PenStyle.NoPen)
    p.drawEllipse(1, 1, size - 2, size - 2)
    font = QFont()
    font.setBold(True)
    font.setPixelSize(int(size * 0.6))
    p.setFont(font)
    p.setPen(text_color_on(color))
    p.drawText(QRect(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, str(code))
    p.end()
    return QIcon(pix)


def letter_icon(text: str, color: QColor, size: int = 32) -> QIcon:
    """A rounded square with a letter or two (flags and other toolbar actions)."""
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(color)
    p.setPen(Qt.PenStyle.NoPen)
    p.drawRoundedRect(1, 1, size - 2, size - 2, 6, 6)
    font = QFont()
    font.setBold(True)
    font.setPixelSize(int(size * (0.55 if len(text) == 1 else 0.4)))
    p.setFont(font)
    p.setPen(text_color_on(color))
    p.drawText(QRect(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, text)
    p.end()
    return QIcon(pix)


def code_label(code: int | None) -> str:
    return f"{code} {CODES[code]}" if code in CODES else "unlabelled"


#: Toolbar icons of actions that are not a code or a deletion reason: (text, colour).
_ACTION_LETTERS = {"file.open": ("Op", "#34495e"), "edit.undo": ("↶", "#34495e"),
                   "edit.redo": ("↷", "#34495e"), "label.fill": ("F→", "#16a085"),
                   "flag.accept": ("✓?", "#d68910"), "go.next_unlabelled": ("N", "#2471a3"),
                   "faces.realign": ("R", "#7d3c98"), "view.review": ("▦", "#2e4053"),
                   "help.keys": ("F1", "#566573")}


def action_icon(spec) -> QIcon | None:
    """The icon of an action of ui/actions.py (an ActionSpec), or None."""
    if spec.id.startswith("label.") and spec.args and spec.args[0] in CODES:
        return code_icon(spec.args[0])
    if spec.id.startswith("flag.") and spec.args and spec.args[0] in REASON_LETTERS:
        return letter_icon(REASON_LETTERS[spec.args[0]], DELETED_COLOR)
    if spec.id in _ACTION_LETTERS:
        text, color = _ACTION_LETTERS[spec.id]
        return letter_icon(text, QColor(color))
    return None
