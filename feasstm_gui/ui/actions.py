"""Every action of the workstation, declared once: id, title, menu, default keys, handler.

Menus, the toolbar, the F1 key overlay and the keymap editor are all built from ACTIONS, and
the default keymap is DEFAULT_KEYMAP below. A user's changes are stored in the preferences
(Settings key "keymap": {action id: [key, ...]}) and win over the defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QToolBar, QWidget

from feasstm_gui.core.settings import Settings
from feasstm_gui.core.vocab import CODES

#: Where an action's keys work: anywhere in the main window, or only while the frame strip,
#: the review grid or the preview has the focus (so the clip list keeps its own arrow keys).
WINDOW = "window"
STRIP = "strip"


@dataclass(frozen=True)
class ActionSpec:
    """One action. `handler` names a method of the main window, called with `args`."""

    id: str
    title: str
    menu: str
    handler: str
    args: tuple = ()
    scope: str = WINDOW
    toolbar: bool = False
    edits: bool = False  # changes the project: disabled when it is open read-only
    needs_project: bool = True
    tip: str = ""
    checkable: bool = False


@dataclass
class _Menu:
    title: str
    specs: list[ActionSpec] = field(default_factory=list)


#: Menu order in the menu bar (the "Tools" menu is filled by optional modules, see main_window).
MENUS = ("File", "Edit", "Label", "Flags", "Go", "Faces", "View", "Tools", "Help")

_REASON_TITLES = {
    "alignment_failure": "Alignment failure",
    "incomplete": "Incomplete face",
    "blur": "Blur",
}


#: Tools written elsewhere, wired into the Tools menu: (action id, title, module, function).
#: The module is imported only when its action runs, and is called as `function(window, store)`;
#: an action whose module is not installed is hidden.
TOOLS: list[tuple[str, str, str, str]] = [
    ("tools.export", "&Export dataset…", "feasstm_gui.ui.export_dialog", "open_export_dialog"),
    ("tools.rating", "&Rating mode (acting skill)…", "feasstm_gui.ui.rating_mode",
     "open_rating_mode"),
    ("tools.adjudication", "A&djudicate disagreements…", "feasstm_gui.ui.adjudication",
     "open_adjudication"),
    ("tools.agreement", "A&greement statistics…", "feasstm_gui.ui.agreement_panel",
     "open_agreement_panel"),
    # issue 15: the people found in the clip, "this is (not) the actor" per identity
    ("tools.identities", "&Identities of this clip…", "feasstm_gui.ui.identities",
     "open_identities"),
]


def _specs() -> list[ActionSpec]:
    s: list[ActionSpec] = [
        ActionSpec("file.open", "&Open project…", "File", "open_project_dialog",
                   needs_project=False, toolbar=True, tip="Open a project folder"),
        ActionSpec("file.new", "&New project…", "File", "new_project_dialog", needs_project=False,
                   tip="Create an empty project folder"),
        ActionSpec("file.import_faf", "&Import FAF folder…", "File", "import_faf_dialog",
                   needs_project=False, tip="Continue curating a FEASSTM-FAF folder"),
        ActionSpec("file.import_videos", "Import &videos…", "File", "import_videos_dialog",
                   edits=True, tip="Add video files to the project, one clip each, with their "
                   "work, actor, role and rater group"),
        ActionSpec("file.import_clips", "Import clip &table…", "File", "import_clips_dialog",
                   edits=True, tip="Add the clips of a clip table (CSV: clip, video, work, "
                   "actor, role, group, start_s, end_s)"),
        ActionSpec("file.settings", "Project &settings…", "File", "project_settings",
                   tip="Extraction rate, alignment template and crop size, detection, "
                   "suggestion thresholds, backups"),
        ActionSpec("file.welcome", "&Welcome…", "File", "show_welcome", needs_project=False),
        ActionSpec("file.close", "&Close project", "File", "close_project"),
        ActionSpec("file.restore", "&Restore backup…", "File", "restore_backup_dialog",
                   edits=True, tip="Replace the project database by one of its backups (the "
                   "current one is kept as a backup first)"),
        ActionSpec("file.annotator", "Change &annotator…", "File", "change_annotator",
                   needs_project=False, tip="The name stamped on every edit"),
        ActionSpec("file.keymap", "&Keyboard shortcuts…", "File", "edit_keymap",
                   needs_project=False),
        ActionSpec("file.quit", "&Quit", "File", "close", needs_project=False),
        ActionSpec("edit.undo", "&Undo", "Edit", "undo", edits=True, toolbar=True),
        ActionSpec("edit.redo", "&Redo", "Edit", "redo", edits=True, toolbar=True),
        ActionSpec("edit.select_all", "Select &all frames", "Edit", "select_all", scope=STRIP),
    ]
    for code, name in CODES.items():
        s.append(ActionSpec(f"label.{code}", f"{code} {name}", "Label", "label_selected",
                            args=(code,), edits=True, toolbar=True,
                            tip=f"Label the selected frames {name} and go to the next frame"))
    s += [
        ActionSpec("label.clear", "Clear label", "Label", "label_selected", args=(None,),
                   edits=True, tip="Remove your label from the selected frames"),
        ActionSpec("label.fill", "&Fill forward", "Label", "fill_forward", edits=True,
                   toolbar=True, tip="Give the current frame's code to the following unlabelled "
                   "frames, up to the next labelled frame or scene cut"),
    ]
    for reason, title in _REASON_TITLES.items():
        s.append(ActionSpec(f"flag.{reason}", f"Toggle {title.lower()}", "Flags", "toggle_flag",
                            args=(reason,), edits=True, toolbar=True,
                            tip=f"Delete the selected frames for {title.lower()} (again: undelete)"))
    s += [
        ActionSpec("flag.other", "Delete (other reason)", "Flags", "add_flag", args=("other",),
                   edits=True, toolbar=True, tip="Delete the selected frames (reason: other)"),
        ActionSpec("flag.restore", "Restore (remove every reason)", "Flags", "restore_frames",
                   edits=True),
        ActionSpec("flag.accept", "Accept suggested flags", "Flags", "accept_suggestions",
                   edits=True, toolbar=True, tip="Turn the suggested reasons of the selected "
                   "frames into deletion reasons"),
        ActionSpec("flag.dismiss", "Dismiss suggested flags", "Flags", "dismiss_suggestions",
                   edits=True),
        ActionSpec("flag.irrelevant", "Toggle irrelevant (not the actor)", "Flags",
                   "toggle_irrelevant", edits=True),
        ActionSpec("go.prev", "Previous frame", "Go", "navigate", args=("prev", False), scope=STRIP),
        ActionSpec("go.next", "Next frame", "Go", "navigate", args=("next", False), scope=STRIP),
        ActionSpec("go.up", "Row up", "Go", "navigate", args=("up", False), scope=STRIP),
        ActionSpec("go.down", "Row down", "Go", "navigate", args=("down", False), scope=STRIP),
        ActionSpec("go.first", "First frame", "Go", "navigate", args=("first", False),
                   scope=STRIP),
        ActionSpec("go.last", "Last frame", "Go", "navigate", args=("last", False), scope=STRIP),
        ActionSpec("go.page_up", "Page up", "Go", "navigate", args=("page_up", False),
                   scope=STRIP),
        ActionSpec("go.page_down", "Page down", "Go", "navigate", args=("page_down", False),
                   scope=STRIP),
        ActionSpec("select.prev", "Extend selection left", "Go", "navigate", args=("prev", True),
                   scope=STRIP),
        ActionSpec("select.next", "Extend selection right", "Go", "navigate",
                   args=("next", True), scope=STRIP),
        ActionSpec("select.up", "Extend selection up", "Go", "navigate", args=("up", True),
                   scope=STRIP),
        ActionSpec("select.down", "Extend selection down", "Go", "navigate", args=("down", True),
                   scope=STRIP),
        ActionSpec("select.first", "Extend selection to first", "Go", "navigate",
                   args=("first", True), scope=STRIP),
        ActionSpec("select.last", "Extend selection to last", "Go", "navigate",
                   args=("last", True), scope=STRIP),
        ActionSpec("select.page_up", "Extend selection a page up", "Go", "navigate",
                   args=("page_up", True), scope=STRIP),
        ActionSpec("select.page_down", "Extend selection a page down", "Go", "navigate",
                   args=("page_down", True), scope=STRIP),
        ActionSpec("go.next_unlabelled", "Next &unlabelled frame", "Go", "next_unlabelled",
                   toolbar=True, tip="The next frame without a label (then the next clip)"),
        ActionSpec("go.next_clip", "Next &clip", "Go", "next_clip"),
        ActionSpec("go.prev_clip", "Previous clip", "Go", "prev_clip"),
        ActionSpec("faces.actor", "This face is the &actor", "Faces", "mark_actor", edits=True,
                   tip="Tell the tracker that the face in the preview is the actor, and follow "
                   "it through the clip"),
        ActionSpec("faces.realign", "&Re-align selected…", "Faces", "realign_selected",
                   edits=True, toolbar=True, tip="Detect and align the selected frames again, "
                   "with options"),
        ActionSpec("faces.fix", "Draw box and landmarks…", "Faces", "toggle_fix_mode",
                   edits=True, tip="Fix the box and the five landmarks by hand on the preview, "
                   "then re-align with them"),
        ActionSpec("faces.process", "Extract and align &this clip", "Faces", "process_clip",
                   edits=True, tip="Extract the frames and align the faces in one pass over the "
                   "video (faster than the two steps)"),
        ActionSpec("faces.process_all", "Extract and align all &unfinished clips", "Faces",
                   "process_all", edits=True,
                   tip="Every clip whose frames are not all extracted and aligned yet, one "
                   "after the other; cancel at any time and run again to go on"),
        ActionSpec("faces.extract", "&Extract frames of this clip", "Faces", "extract_clip",
                   edits=True),
        ActionSpec("faces.align", "A&lign faces of this clip", "Faces", "align_clip",
                   edits=True),
        ActionSpec("faces.cancel", "Cancel the running job", "Faces", "cancel_job"),
        ActionSpec("view.review", "&Review grid", "View", "show_review", toolbar=True,
                   tip="Every frame with a given code or reason, across clips"),
        ActionSpec("view.strip", "Frame &strip", "View", "show_strip"),
        ActionSpec("view.filter", "&Filter frames…", "View", "focus_filter"),
        ActionSpec("view.refresh", "Re&fresh", "View", "refresh_all"),
        ActionSpec("view.zoom_in", "Bigger thumbnails", "View", "zoom", args=(1,)),
        ActionSpec("view.zoom_out", "Smaller thumbnails", "View", "zoom", args=(-1,)),
        *[ActionSpec(tool_id, title, "Tools", "open_tool", args=(module, func))
          for tool_id, title, module, func in TOOLS],
        ActionSpec("help.keys", "&Keys", "Help", "toggle_key_overlay", needs_project=False,
                   toolbar=True, tip="Show every key"),
        ActionSpec("help.about", "&About", "Help", "about", needs_project=False),
    ]
    return s


ACTIONS: list[ActionSpec] = _specs()
SPECS: dict[str, ActionSpec] = {a.id: a for a in ACTIONS}

#: The default keymap: action id -> keys (Qt portable text).
DEFAULT_KEYMAP: dict[str, list[str]] = {
    "file.open": ["Ctrl+O"],
    "file.new": ["Ctrl+N"],
    "file.import_faf": ["Ctrl+I"],
    "file.close": ["Ctrl+W"],
    "file.quit": ["Ctrl+Q"],
    "file.keymap": ["Ctrl+K"],
    "edit.undo": ["Ctrl+Z"],
    "edit.redo": ["Ctrl+Shift+Z", "Ctrl+Y"],
    "edit.select_all": ["Ctrl+A"],
    **{f"label.{c}": [str(c), f"Num+{c}"] for c in CODES},
    "label.clear": ["0", "Backspace"],
    "label.fill": ["F"],
    "flag.alignment_failure": ["A"],
    "flag.incomplete": ["I"],
    "flag.blur": ["B"],
    "flag.other": ["Del"],
    "flag.restore": ["Shift+Del"],
    "flag.accept": ["S"],
    "flag.dismiss": ["Shift+S"],
    "flag.irrelevant": ["X"],
    "go.prev": ["Left"],
    "go.next": ["Right"],
    "go.up": ["Up"],
    "go.down": ["Down"],
    "go.first": ["Home"],
    "go.last": ["End"],
    "go.page_up": ["PgUp"],
    "go.page_down": ["PgDown"],
    "select.prev": ["Shift+Left"],
    "select.next": ["Shift+Right"],
    "select.up": ["Shift+Up"],
    "select.down": ["Shift+Down"],
    "select.first": ["Shift+Home"],
    "select.last": ["Shift+End"],
    "select.page_up": ["Shift+PgUp"],
    "select.page_down": ["Shift+PgDown"],
    "go.next_unlabelled": ["N"],
    "go.next_clip": ["Ctrl+PgDown", "]"],
    "go.prev_clip": ["Ctrl+PgUp", "["],
    "faces.actor": ["T"],
    "faces.realign": ["R"],
    "faces.fix": ["M"],
    "file.import_videos": ["Ctrl+Shift+I"],
    "faces.process": ["Ctrl+P"],
    "faces.process_all": ["Ctrl+Shift+P"],
    "faces.extract": ["Ctrl+E"],
    "faces.align": ["Ctrl+L"],
    "faces.cancel": ["Ctrl+."],
    "view.review": ["Ctrl+G"],
    "view.strip": ["Ctrl+1"],
    "view.filter": ["Ctrl+F"],
    "view.refresh": ["F5"],
    "view.zoom_in": ["Ctrl+="],
    "view.zoom_out": ["Ctrl+-"],
    "tools.export": ["Ctrl+Shift+E"],
    "help.keys": ["F1"],
}


def normalise(key: str) -> str:
    """One spelling per key (Qt portable text), so "del" and "Delete" compare equal."""
    return QKeySequence.fromString(key.strip()).toString(
        QKeySequence.SequenceFormat.PortableText)


class Keymap:
    """The keys of every action: the defaults, with the user's changes from the preferences."""

    SETTING = "keymap"

    def __init__(self, settings: Settings):
        self.settings = settings

    def overrides(self) -> dict[str, list[str]]:
        raw = self.settings.get(self.SETTING, {}) or {}
        if not isinstance(raw, dict):
            return {}
        return {k: [str(x) for x in v] for k, v in raw.items()
                if k in SPECS and isinstance(v, list)}

    def keys(self, action_id: str) -> list[str]:
        over = self.overrides()
        if action_id in over:
            return over[action_id]
        return list(DEFAULT_KEYMAP.get(action_id, []))

    def mapping(self) -> dict[str, list[str]]:
        return {a.id: self.keys(a.id) for a in ACTIONS}

    def save(self, mapping: dict[str, list[str]]) -> None:
        """Keep the keys that differ from the defaults (so later default changes still reach
        actions the user never touched)."""
        over = {}
        for action_id, keys in mapping.items():
            keys = [normalise(k) for k in keys if normalise(k)]
            default = [normalise(k) for k in DEFAULT_KEYMAP.get(action_id, [])]
            if keys != default:
                over[action_id] = keys
        self.settings.set(self.SETTING, over)

    def reset(self) -> None:
        self.settings.set(self.SETTING, {})


def conflicts(mapping: dict[str, list[str]]) -> dict[str, list[str]]:
    """Keys bound to more than one action: key -> action ids. Window keys reach the strip too,
    so any two actions sharing a key conflict."""
    seen: dict[str, list[str]] = {}
    for action_id, keys in mapping.items():
        for key in keys:
            k = normalise(key)
            if k:
                seen.setdefault(k, []).append(action_id)
    return {k: v for k, v in seen.items() if len(v) > 1}


def build_actions(window: QObject, keymap: Keymap,
                  icons: Callable[[ActionSpec], object] | None = None) -> dict[str, QAction]:
    """One QAction per spec, connected to the window's handler, keys from the keymap."""
    out: dict[str, QAction] = {}
    for spec in ACTIONS:
        action = QAction(spec.title, window)
        action.setObjectName(spec.id)
        if spec.tip:
            action.setStatusTip(spec.tip)
            action.setToolTip(spec.tip)
        if icons is not None:
            icon = icons(spec)
            if icon is not None:
                action.setIcon(icon)
        handler = getattr(window, spec.handler)
        action.triggered.connect(_caller(handler, spec.args))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut if spec.scope == WINDOW
                                  else Qt.ShortcutContext.WidgetWithChildrenShortcut)
        out[spec.id] = action
    apply_keymap(out, keymap)
    return out


def _caller(handler: Callable, args: tuple) -> Callable:
    def call(_checked: bool = False) -> None:
        handler(*args)
    return call


def apply_keymap(actions: dict[str, QAction], keymap: Keymap) -> None:
    for action_id, action in actions.items():
        action.setShortcuts([QKeySequence.fromString(k) for k in keymap.keys(action_id)])
        if action.toolTip() and keymap.keys(action_id):
            base = SPECS[action_id].tip or SPECS[action_id].title.replace("&", "")
            action.setToolTip(f"{base} ({', '.join(display_keys(keymap.keys(action_id)))})")


def display_keys(keys: list[str]) -> list[str]:
    return [QKeySequence.fromString(k).toString(QKeySequence.SequenceFormat.NativeText)
            for k in keys]


def build_menus(menubar: QMenuBar, actions: dict[str, QAction]) -> dict[str, QMenu]:
    """The menu bar, in MENUS order, from the registry."""
    menus: dict[str, QMenu] = {}
    for title in MENUS:
        menus[title] = menubar.addMenu(f"&{title}")
    previous: dict[str, str] = {}
    for spec in ACTIONS:
        menu = menus[spec.menu]
        group = spec.id.split(".")[0]
        if spec.menu in previous and previous[spec.menu] != group:
            menu.addSeparator()
        previous[spec.menu] = group
        menu.addAction(actions[spec.id])
    return menus


def build_toolbar(toolbar: QToolBar, actions: dict[str, QAction]) -> None:
    group = None
    for spec in ACTIONS:
        if not spec.toolbar:
            continue
        if group is not None and spec.menu != group:
            toolbar.addSeparator()
        group = spec.menu
        toolbar.addAction(actions[spec.id])


def attach(actions: dict[str, QAction], window: QWidget, scoped: list[QWidget]) -> None:
    """Window keys work anywhere in `window`; strip keys only while the focus is inside one of
    `scoped` (the strip, the review grid, the preview)."""
    for spec in ACTIONS:
        targets = scoped if spec.scope == STRIP else [window]
        for w in targets:
            w.addAction(actions[spec.id])
