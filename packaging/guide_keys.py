"""Write the key table of docs/guide/annotator.md from the action registry
(feasstm_gui/ui/actions.py: ACTIONS and DEFAULT_KEYMAP), so the guide never drifts from the
application. The table sits between the markers `<!-- keys:begin -->` and `<!-- keys:end -->`.

    .venv/bin/python packaging/guide_keys.py            # rewrite the table
    .venv/bin/python packaging/guide_keys.py --check    # exit 1 when the guide is out of date
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "guide" / "annotator.md"
BEGIN, END = "<!-- keys:begin -->", "<!-- keys:end -->"


def key_table() -> str:
    from feasstm_gui.ui.actions import ACTIONS, DEFAULT_KEYMAP, MENUS, STRIP

    lines = ["| menu | action | default keys | works in |", "|---|---|---|---|"]
    for menu in MENUS:
        for spec in (a for a in ACTIONS if a.menu == menu):
            keys = DEFAULT_KEYMAP.get(spec.id, [])
            shown = " or ".join(f"`{k}`" for k in keys) if keys else "(menu only)"
            where = "frame strip, review grid, preview" if spec.scope == STRIP else "window"
            title = spec.title.replace("&", "").replace("|", "\\|")
            lines.append(f"| {menu} | {title} | {shown} | {where} |")
    return "\n".join(lines)


def updated(text: str) -> str:
    head, sep, rest = text.partition(BEGIN)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise SystemExit(f"{GUIDE}: the markers {BEGIN} and {END} are missing")
    return f"{head}{BEGIN}\n{key_table()}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only check; exit 1 when out of date")
    args = ap.parse_args(argv)
    text = GUIDE.read_text("utf-8")
    new = updated(text)
    if args.check:
        if new != text:
            print(f"{GUIDE}: the key table is out of date; run packaging/guide_keys.py",
                  file=sys.stderr)
            return 1
        return 0
    if new != text:
        GUIDE.write_text(new, "utf-8")
        print(f"{GUIDE}: key table written")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
