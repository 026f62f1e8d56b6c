"""The code band under each thumbnail (ui/strip.FrameDelegate): the frame number keeps its end
and the code's name gives way, whatever is measured once and reused (a key press repaints a
few items and must not measure text again)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPainter

from feasstm_gui.core.vocab import CODES
from feasstm_gui.ui.strip import FrameDelegate


def _texts(delegate: FrameDelegate, code, number: str, width: int) -> tuple[str, str]:
    image = QImage(200, 40, QImage.Format.Format_ARGB32_Premultiplied)
    p = QPainter(image)
    try:
        got = delegate._band_texts(p, code, number, width)
        assert got == _measured(delegate, p, code, number, width)
        return got
    finally:
        p.end()


def _measured(delegate: FrameDelegate, p: QPainter, code, number: str, width: int):
    """The band's texts measured on every paint, as the strip did before it kept them."""
    label = f"{code} {CODES[code]}" if code else "–"
    p.setFont(delegate._bold)
    room_label = p.fontMetrics().horizontalAdvance(f"{code}" if code else "–") + 6
    p.setFont(delegate._font)
    number = p.fontMetrics().elidedText(number, Qt.TextElideMode.ElideMiddle,
                                        width - 6 - room_label)
    room = width - p.fontMetrics().horizontalAdvance(number) - 10
    p.setFont(delegate._bold)
    return number, p.fontMetrics().elidedText(label, Qt.TextElideMode.ElideRight,
                                              max(room, room_label))


def test_the_band_keeps_the_frame_number_and_elides_what_does_not_fit(qapp):
    delegate = FrameDelegate(thumb=96)
    # a wide band: the number and the code's whole name
    number, label = _texts(delegate, 4, "123", 400)
    assert number == "123" and label == f"4 {CODES[4]}"
    # unlabelled: a dash
    assert _texts(delegate, None, "7", 400) == ("7", "–")
    # the review grid's "clip #frame" with a long clip name: elided in the middle, so its
    # end (the frame number) stays
    long = "一个非常非常长的片段名称 with a long tail #98765"
    number, label = _texts(delegate, 6, long, 160)
    assert number != long and number.endswith("#98765") and "…" in number
    number, label = _texts(delegate, 6, long, 96)
    assert number.endswith("765") and "…" in number
    # asked again (a repaint): the same answer, from what was kept
    assert _texts(delegate, 6, long, 96) == (number, label)
    assert 6 in delegate._room_label and any(k[0] == 6 for k in delegate._labels)
    # a narrow band gives the code's name way before the number
    number, label = _texts(delegate, 3, "12", 60)
    assert number == "12" and label != f"3 {CODES[3]}"
