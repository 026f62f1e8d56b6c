"""The preview of the current frame: the full source frame with the detected box and the five
landmarks drawn, the aligned crop beside it, and its scores.

In fix mode the box corners and the landmarks can be dragged; "Re-align with this" hands the
drawn box and landmarks to the re-align job.
"""

from __future__ import annotations

import html
import json

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from feasstm_gui.core.store import Face, FrameRow
from feasstm_gui.core.vocab import CODES
from feasstm_gui.ui.style import CODE_COLORS, DELETED_COLOR, DISPUTE_COLOR, SUGGESTED_COLOR
from feasstm_gui.ui.thumbs import Failed, ImageLoader, Loaded

#: Landmark colours: left eye, right eye, nose, left mouth corner, right mouth corner.
LANDMARK_COLORS = [QColor("#00e5ff"), QColor("#00e5ff"), QColor("#ffeb3b"), QColor("#ff4081"),
                   QColor("#ff4081")]
LANDMARK_NAMES = ["left eye", "right eye", "nose", "left mouth corner", "right mouth corner"]


class FrameCanvas(QWidget):
    """Draws the source frame, the box and the landmarks; edits them in fix mode."""

    edited = Signal()

    def __init__(self, loader: ImageLoader, parent=None):
        super().__init__(parent)
        self.loader = loader
        self.path: str = ""
        self.box: list[float] | None = None
        self.landmarks: list[list[float]] | None = None
        self.fix_mode = False
        self.message = ""
        self._drag: tuple[str, int] | None = None
        self._scaled = None
        self._scaled_key: tuple | None = None
        self.setMinimumSize(240, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        loader.ready.connect(self._on_ready)

    def sizeHint(self) -> QSize:
        return QSize(480, 320)

    def show_frame(self, path: str, face: Face | None, message: str = "") -> None:
        self.path = path
        self.box = list(face.box) if face and face.box else None
        self.landmarks = [list(p) for p in face.landmarks] if face and face.landmarks else None
        self.message = message
        if path:
            self.loader.get(path)
        self.update()

    def _on_ready(self, path: str) -> None:
        if path == self.path:
            self.update()

    def _layout(self) -> tuple[Loaded | None, QRectF, float]:
        item = self.loader.peek(self.path) if self.path else None
        if not isinstance(item, Loaded):
            return None, QRectF(), 1.0
        src = item.source_size
        sw, sh = max(1, src.width()), max(1, src.height())
        scale = min(self.width() / sw, self.height() / sh)
        w, h = sw * scale, sh * scale
        target = QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)
        return item, target, scale

    def to_widget(self, x: float, y: float) -> QPointF:
        _, target, scale = self._layout()
        return QPointF(target.left() + x * scale, target.top() + y * scale)

    def to_frame(self, pt: QPointF) -> tuple[float, float]:
        _, target, scale = self._layout()
        return (pt.x() - target.left()) / scale, (pt.y() - target.top()) / scale

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#1e1e1e"))
        item, target, scale = self._layout()
        if item is None:
            p.setPen(QColor("#aaaaaa"))
            cached = self.loader.peek(self.path) if self.path else None
            text = self.message or ("no source frame (imported crop)" if not self.path else
                                    f"cannot show the frame: {cached.reason}"
                                    if isinstance(cached, Failed) else "loading…")
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)
            return
        size = target.size().toSize()
        key = (item.pixmap.cacheKey(), size.width(), size.height())
        if self._scaled_key != key:  # scale once per frame and size, not on every paint
            self._scaled = item.pixmap.scaled(size, Qt.AspectRatioMode.IgnoreAspectRatio,
                                              Qt.TransformationMode.SmoothTransformation)
            self._scaled_key = key
        p.drawPixmap(target.topLeft(), self._scaled)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.box:
            x1, y1, x2, y2 = self.box[:4]
            a, b = self.to_widget(x1, y1), self.to_widget(x2, y2)
            p.setPen(QPen(QColor("#00ff66"), 2))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(QRectF(a, b))
            if self.fix_mode:
                p.setBrush(QColor("#00ff66"))
                for c in (a, b, QPointF(a.x(), b.y()), QPointF(b.x(), a.y())):
                    p.drawRect(QRectF(c.x() - 4, c.y() - 4, 8, 8))
        if self.landmarks:
            for i, (x, y) in enumerate(self.landmarks[:5]):
                c = self.to_widget(x, y)
                p.setPen(QPen(QColor("black"), 1))
                p.setBrush(LANDMARK_COLORS[i % 5])
                r = 6 if self.fix_mode else 3.5
                p.drawEllipse(c, r, r)
        if self.fix_mode:
            p.setPen(QColor("#ffeb3b"))
            p.drawText(self.rect().adjusted(6, 4, -6, -4), Qt.AlignmentFlag.AlignTop,
                       "Fix mode: drag the box corners and the landmarks")

    # -- fix mode ---------------------------------------------------------------------------

    def _hit(self, pos: QPointF) -> tuple[str, int] | None:
        if self.landmarks:
            for i, (x, y) in enumerate(self.landmarks[:5]):
                c = self.to_widget(x, y)
                if (c - pos).manhattanLength() < 12:
                    return ("landmark", i)
        if self.box:
            x1, y1, x2, y2 = self.box[:4]
            corners = [(x1, y1), (x2, y2), (x1, y2), (x2, y1)]
            for i, (x, y) in enumerate(corners):
                if (self.to_widget(x, y) - pos).manhattanLength() < 14:
                    return ("corner", i)
        return None

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if not self.fix_mode:
            return super().mousePressEvent(event)
        pos = event.position()
        self._drag = self._hit(pos)
        if self._drag is None and self._layout()[0] is not None:
            x, y = self.to_frame(pos)  # no box yet, or a click outside: start a new box
            self.box = [x, y, x, y]
            self._drag = ("corner", 1)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if not self.fix_mode or self._drag is None:
            return super().mouseMoveEvent(event)
        x, y = self.to_frame(event.position())
        kind, i = self._drag
        if kind == "landmark" and self.landmarks:
            self.landmarks[i] = [x, y]
        elif kind == "corner" and self.box:
            if i == 0:
                self.box[0], self.box[1] = x, y
            elif i == 1:
                self.box[2], self.box[3] = x, y
            elif i == 2:
                self.box[0], self.box[3] = x, y
            else:
                self.box[2], self.box[1] = x, y
        self.update()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self.fix_mode and self._drag is not None:
            self._drag = None
            if self.box:
                x1, y1, x2, y2 = self.box[:4]
                self.box = [min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)]
            self.edited.emit()
            self.update()
            return
        super().mouseReleaseEvent(event)


class PreviewWidget(QWidget):
    """The canvas, the crop beside it and the scores below."""

    fix_applied = Signal(int, object, object)  # frame id, box, landmarks
    fix_cancelled = Signal()

    def __init__(self, frame_loader: ImageLoader, thumb_loader: ImageLoader, parent=None):
        super().__init__(parent)
        self.thumb_loader = thumb_loader
        self.canvas = FrameCanvas(frame_loader)
        self.crop = QLabel()
        self.crop.setFixedSize(160, 160)
        self.crop.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.crop.setStyleSheet("background:#1e1e1e; color:#aaa;")
        self.scores = QLabel()
        self.scores.setTextFormat(Qt.TextFormat.RichText)
        self.scores.setWordWrap(True)
        self.scores.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.scores.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.apply_button = QPushButton("Re-align with this box and landmarks")
        self.cancel_button = QPushButton("Cancel fix")
        self.apply_button.clicked.connect(self._apply)
        self.cancel_button.clicked.connect(self.end_fix)
        fix_row = QHBoxLayout()
        fix_row.addWidget(self.apply_button)
        fix_row.addWidget(self.cancel_button)
        self._fix_bar = QWidget()
        self._fix_bar.setLayout(fix_row)
        self._fix_bar.hide()
        #: frame id -> Dispute or None (set by the window: ui/label_state.py)
        self.dispute_of = None
        self.details_box = QCheckBox("Details (every stored score)")
        self.details_box.setToolTip("Show the raw fields the aligner stored for this face")
        self.details_box.toggled.connect(lambda _on: self._show_scores())
        text = QVBoxLayout()
        text.addWidget(self.scores, 1)
        text.addWidget(self.details_box)
        below = QHBoxLayout()
        below.addWidget(self.crop, 0, Qt.AlignmentFlag.AlignTop)
        below.addLayout(text, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self._fix_bar)
        layout.addLayout(below)
        self.row: FrameRow | None = None
        self.face: Face | None = None
        self._crop_path = ""
        thumb_loader.ready.connect(self._on_thumb)

    def show_frame(self, row: FrameRow | None, face: Face | None, folder: str) -> None:
        """Show a frame (None: nothing selected). Never waits on the disk."""
        if self.canvas.fix_mode and (row is None or self.row is None or row.id != self.row.id):
            self.end_fix()
        self.row, self.face = row, face
        if row is None:
            self.canvas.show_frame("", None, "no frame selected")
            self.crop.clear()
            self.crop.setText("")
            self.scores.setText("")
            return
        self.canvas.show_frame(f"{folder}/{row.image}" if row.image else "", face)
        self._crop_path = f"{folder}/{row.crop}" if row.crop else ""
        self._show_crop()
        self._show_scores()

    def _show_scores(self) -> None:
        if self.row is None:
            return
        source = self.dispute_of
        dispute = source(self.row.id) if source is not None else None
        self.scores.setText(scores_html(self.row, self.face, dispute,
                                        self.details_box.isChecked()))

    def _show_crop(self) -> None:
        if not self._crop_path:
            self.crop.setPixmap(_empty())
            self.crop.setText("no aligned face")
            return
        item = self.thumb_loader.get(self._crop_path)
        if isinstance(item, Loaded):
            self.crop.setPixmap(item.pixmap.scaled(
                160, 160, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation))
        elif isinstance(item, Failed):
            self.crop.setPixmap(_empty())
            self.crop.setText(f"crop unreadable:\n{item.reason}")
        else:
            self.crop.setText("loading…")

    def _on_thumb(self, path: str) -> None:
        if path == self._crop_path:
            self._show_crop()

    # -- fix mode ---------------------------------------------------------------------------

    def begin_fix(self) -> bool:
        if self.row is None or not self.row.image:
            return False
        self.canvas.fix_mode = True
        if self.canvas.landmarks is None and self.canvas.box:
            x1, y1, x2, y2 = self.canvas.box[:4]  # start from a typical layout inside the box
            w, h = x2 - x1, y2 - y1
            self.canvas.landmarks = [[x1 + w * fx, y1 + h * fy] for fx, fy in
                                     ((0.3, 0.4), (0.7, 0.4), (0.5, 0.6), (0.35, 0.78),
                                      (0.65, 0.78))]
        self._fix_bar.show()
        self.canvas.update()
        return True

    def end_fix(self) -> None:
        was = self.canvas.fix_mode
        self.canvas.fix_mode = False
        self._fix_bar.hide()
        if self.row is not None:
            self.canvas.box = list(self.face.box) if self.face and self.face.box else None
            self.canvas.landmarks = ([list(p) for p in self.face.landmarks]
                                     if self.face and self.face.landmarks else None)
        self.canvas.update()
        if was:
            self.fix_cancelled.emit()

    @property
    def fix_mode(self) -> bool:
        return self.canvas.fix_mode

    def drawn(self) -> tuple[list[float] | None, list[list[float]] | None]:
        return self.canvas.box, self.canvas.landmarks

    def _apply(self) -> None:
        if self.row is None:
            return
        box, landmarks = self.drawn()
        self.canvas.fix_mode = False
        self._fix_bar.hide()
        self.fix_applied.emit(self.row.id, box, landmarks)


def _empty():
    from PySide6.QtGui import QPixmap

    pix = QPixmap(1, 1)
    pix.fill(Qt.GlobalColor.transparent)
    return pix


def _readable(face: Face | None, row: FrameRow) -> list[str]:
    """What an annotator reads about a face: sharpness against the clip, the detector's
    confidence, the head pose, how many faces the frame shows."""
    sc = (face.scores or {}) if face is not None else {}
    out = []
    rel = sc.get("sharpness_rel")
    if isinstance(rel, (int, float)):
        word = "blurrier than most" if rel < 0.5 else ("sharper than most" if rel > 1.5
                                                      else "typical")
        out.append(f"sharpness: {rel:.0%} of the clip's median ({word})")
    elif row.sharpness is not None:
        out.append(f"sharpness: {row.sharpness:.0f}")
    if row.prob is not None:
        out.append(f"detection confidence: {row.prob:.1%}")
    yaw, roll = sc.get("yaw"), sc.get("roll")
    if isinstance(yaw, (int, float)) and isinstance(roll, (int, float)):
        out.append(f"head turned {abs(yaw):.0f}° {'left' if yaw < 0 else 'right'}, "
                   f"tilted {abs(roll):.0f}°")
    n = sc.get("n_faces")
    if isinstance(n, int) and n > 1:
        out.append(f"{n} faces in the frame")
    return out


def scores_html(row: FrameRow, face: Face | None, dispute=None, details: bool = False) -> str:
    """The preview's text: label, flags and readable scores; every stored field with
    `details`. `dispute`: core/store/label_state.Dispute when annotators differ."""
    esc = html.escape
    lines = [f"<b>{esc(row.clip)}</b> · frame {row.frame_index}"]
    if row.time_ms is not None:
        lines.append(f"time {row.time_ms / 1000:.2f} s")
    if dispute is not None:
        own = (f"your label: {dispute.own} {CODES[dispute.own]}" if dispute.own
               else "you have not labelled it")
        lines.append(f"<span style='color:{DISPUTE_COLOR.name()}'><b>in disagreement</b>: codes "
                     f"{', '.join(f'{c} {CODES[c]}' for c in dispute.codes)} given; {own}. "
                     "Not exported until adjudicated.</span>")
    elif row.code:
        color = CODE_COLORS[row.code].name()
        lines.append(f"<span style='background:{color}; color:black'>&nbsp;{row.code} "
                     f"{CODES[row.code]}&nbsp;</span>")
    else:
        lines.append("unlabelled")
    if row.reasons:
        lines.append(f"<span style='color:{DELETED_COLOR.name()}'>deleted: "
                     f"{esc(', '.join(sorted(row.reasons)))}</span>")
    if row.suggested:
        lines.append(f"<span style='color:{SUGGESTED_COLOR.name()}'>suggested: "
                     f"{esc(', '.join(sorted(row.suggested)))}</span>")
    if row.irrelevant:
        lines.append("irrelevant: no face of the actor")
    lines += [html.escape(x, quote=False) for x in _readable(face, row)]
    if details:
        lines.append("<i>details</i>")
        lines.append("detection p = " + (f"{row.prob:.3f}" if row.prob is not None else "–"))
        lines.append("sharpness = " + (f"{row.sharpness:.1f}" if row.sharpness is not None
                                       else "–"))
        if face is not None:
            for k, v in (face.scores or {}).items():
                if k in ("sharpness", "prob"):
                    continue
                val = f"{v:.3f}" if isinstance(v, float) else esc(json.dumps(v))
                lines.append(f"{esc(str(k))} = {val}")
            lines.append(f"face version {face.version}")
        if row.source_name:
            lines.append(f"source: {esc(row.source_name)}")
    return "<br>".join(lines)
