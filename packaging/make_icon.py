"""Draw the application icon: resources/icons/feasstm-studio.svg, and the PNGs rendered from it
(256 px for the desktop entry and the window, 48 px for small panels).

A rounded square, a face outline with the five landmarks MTCNN finds (eyes, nose, mouth
corners) and the corner marks of the 100x100 crop: what the application does, at a glance.

    .venv/bin/python packaging/make_icon.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "resources" / "icons"


def svg() -> str:
    landmarks = [(100, 112), (156, 112), (128, 142), (106, 170), (150, 170)]
    dots = "\n".join(f'  <circle cx="{x}" cy="{y}" r="9" fill="#ffcf4a"/>' for x, y in landmarks)
    corners = []
    for x, y, dx, dy in ((44, 44, 1, 1), (212, 44, -1, 1), (44, 212, 1, -1), (212, 212, -1, -1)):
        corners.append(f'  <path d="M{x},{y + 34 * dy} L{x},{y} L{x + 34 * dx},{y}" '
                       'fill="none" stroke="#ffffff" stroke-width="10" stroke-linecap="round"/>')
    return f"""<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256">
  <defs>
    <linearGradient id="bg" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#3a7bd5"/>
      <stop offset="1" stop-color="#1f3f8f"/>
    </linearGradient>
  </defs>
  <rect x="8" y="8" width="240" height="240" rx="44" fill="url(#bg)"/>
  <ellipse cx="128" cy="132" rx="62" ry="78" fill="none" stroke="#dfe9ff" stroke-width="9"/>
{dots}
{chr(10).join(corners)}
</svg>
"""


def main() -> int:
    from PySide6.QtCore import QByteArray, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841
    OUT.mkdir(parents=True, exist_ok=True)
    text = svg()
    (OUT / "feasstm-studio.svg").write_text(text, "utf-8")
    renderer = QSvgRenderer(QByteArray(text.encode()))
    for size, name in ((256, "feasstm-studio.png"), (48, "feasstm-studio-48.png")):
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        if not image.save(str(OUT / name)):
            print(f"could not write {OUT / name}", file=sys.stderr)
            return 1
        print(OUT / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
