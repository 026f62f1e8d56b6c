"""Every action of the workstation and of its tools, declared once: id, title, menu, scope,
default keys, handler.

Menus, the toolbar, the F1 key overlay and the keymap editor are all built from ACTIONS, and
the default keymap is DEFAULT_KEYMAP below. A user's changes are stored in the preferences
(Settings key "keymap": {action id: [key, ...]}) and win over the defaults.

A handler is a callable taking the context the action runs in (as napari's app-model actions
do): the main window for the WINDOW and STRIP scopes (it reaches the window's controllers:
`w.edits`, `w.jobs`, `w.project`, `w.nav`, `w.tools`), the tool's dialog for a tool's scope
(RATING, ADJUDICATION: `ScopedKeys` dispatches that dialog's key presses). To add an action:
one ActionSpec below, its default keys in DEFAULT_KEYMAP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QKeyCombination, QObject, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QToolBar, QWidget

from feasstm_gui.core.settings import Settings
from feasstm_gui.core.vocab import CODES, SCORES

#: Where an action's keys work: anywhere in the main window, or only while the frame strip,
#: the review grid or the preview has the focus (so the clip list keeps its own arrow keys).
WINDOW = "window"
STRIP = "strip"
#: A tool's own keys: they work in that tool's dialog only (the dialog owns a ScopedKeys).
RATING = "rating"
ADJUDICATION = "adjudication"
IDENTITIES = "identities"
#: The section of the key overlay and the keymap editor that lists a tool scope's keys.
TOOL_SCOPES = {RATING: "Rating mode", ADJUDICATION: "Adjudication",
               IDENTITIES: "Identities"}


@dataclass(frozen=True)
class ActionSpec:
    """One action: `handler(context, *args)` runs it (context: see the module's docstring)."""

    id: str
    title: str
    menu: str
    handler: Callable[..., object]
    args: tuple = ()
    scope: str = WINDOW
    toolbar: bool = False
    edits: bool = False  # changes the project: disabled when it is open read-only
    needs_project: bool = True
    tip: str = ""
    checkable: bool = False

    @property
    def in_window(self) -> bool:
        """A main-window action (a QAction in the menus), not a tool dialog's key."""
        return self.scope in (WINDOW, STRIP)


@dataclass
class _Menu:
    title: str
    specs: list[ActionSpec] = field(default_factory=list)


#: Menu order in the menu bar.
MENUS = ("File", "Edit", "Label", "Flags", "Go", "Faces", "View", "Tools", "Help")
#: Sections of the key overlay and the keymap editor: the menus, then each tool's keys.
SECTIONS = (*MENUS, *TOOL_SCOPES.values())

_REASON_TITLES = {
    "alignment_failure": "Alignment failure",
    "incomplete": "Incomplete face",
    "blur": "Blur",
}


#: The player beside the strip (ui/player_panel.py): (command, title, tip).
_PLAY = [("toggle", "&Play / pause the clip", "While it plays, hold a code key (or tap it, "
          "and tap again to stop) to label the frames that pass"),
         ("back", "Player: frame back", ""), ("forward", "Player: frame forward", ""),
         ("slower", "Player: slower", ""), ("faster", "Player: faster", ""),
         ("loop", "Player: loop the selected frames", "")]


def _specs() -> list[ActionSpec]:
    s: list[ActionSpec] = [
        ActionSpec("file.open", "&Open project…", "File", lambda w: w.project.open_dialog(),
                   needs_project=False, toolbar=True, tip="Open a project folder"),
        ActionSpec("file.new", "&New project…", "File", lambda w: w.project.new_dialog(),
                   needs_project=False, tip="Create an empty project folder"),
        ActionSpec("file.import_faf", "&Import FAF folder…", "File",
                   lambda w: w.project.import_faf_dialog(), needs_project=False,
                   tip="Continue curating a FEASSTM-FAF folder"),
        ActionSpec("file.import_videos", "Import &videos…", "File",
                   lambda w: w.project.import_videos_dialog(), edits=True,
                   tip="Add video files to the project, one clip each, with their "
                   "work, actor, role and rater group"),
        ActionSpec("file.import_clips", "Import clip &table…", "File",
                   lambda w: w.project.import_clips_dialog(), edits=True,
                   tip="Add the clips of a clip table (CSV: clip, video, work, "
                   "actor, role, group, start_s, end_s)"),
        ActionSpec("file.settings", "Project &settings…", "File",
                   lambda w: w.project.settings_dialog(),
                   tip="Extraction rate, alignment template and crop size, detection, "
                   "suggestion thresholds, backups"),
        ActionSpec("file.welcome", "&Welcome…", "File", lambda w: w.project.show_welcome(),
                   needs_project=False),
        ActionSpec("file.close", "&Close project", "File", lambda w: w.project.close()),
        ActionSpec("file.restore", "&Restore backup…", "File",
                   lambda w: w.project.restore_backup_dialog(), edits=True,
                   tip="Replace the project database by one of its backups (the "
                   "current one is kept as a backup first)"),
        ActionSpec("file.annotator", "Change &annotator…", "File",
                   lambda w: w.project.change_annotator(), needs_project=False,
                   tip="The name stamped on every edit"),
        ActionSpec("file.keymap", "&Keyboard shortcuts…", "File", lambda w: w.edit_keymap(),
                   needs_project=False),
        ActionSpec("file.quit", "&Quit", "File", lambda w: w.close(), needs_project=False),
        ActionSpec("edit.undo", "&Undo", "Edit", lambda w: w.edits.undo(), edits=True,
                   toolbar=True),
        ActionSpec("edit.redo", "&Redo", "Edit", lambda w: w.edits.redo(), edits=True,
                   toolbar=True),
        ActionSpec("edit.select_all", "Select &all frames", "Edit",
                   lambda w: w.edits.select_all(), scope=STRIP),
    ]
    for code, name in CODES.items():
        s.append(ActionSpec(f"label.{code}", f"{code} {name}", "Label",
                            lambda w, c: w.edits.label_selected(c), args=(code,), edits=True,
                            toolbar=True,
                            tip=f"Label the selected frames {name} and go to the next frame"))
    s += [
        ActionSpec("label.clear", "Clear label", "Label", lambda w, c: w.edits.label_selected(c),
                   args=(None,), edits=True, tip="Remove your label from the selected frames"),
        ActionSpec("label.fill", "&Fill forward", "Label", lambda w: w.edits.fill_forward(),
                   edits=True, toolbar=True, tip="Give the current frame's code to the following "
                   "unlabelled frames, up to the next labelled frame or scene cut"),
    ]
    for reason, title in _REASON_TITLES.items():
        s.append(ActionSpec(f"flag.{reason}", f"Toggle {title.lower()}", "Flags",
                            lambda w, r: w.edits.toggle_flag(r), args=(reason,), edits=True,
                            toolbar=True,
                            tip=f"Delete the selected frames for {title.lower()} (again: undelete)"))
    s += [
        ActionSpec("flag.other", "Delete (other reason)", "Flags",
                   lambda w, r: w.edits.add_flag(r), args=("other",), edits=True, toolbar=True,
                   tip="Delete the selected frames (reason: other)"),
        ActionSpec("flag.restore", "Restore (remove every reason)", "Flags",
                   lambda w: w.edits.restore_frames(), edits=True),
        ActionSpec("flag.accept", "Accept suggested flags", "Flags",
                   lambda w: w.edits.accept_suggestions(), edits=True, toolbar=True,
                   tip="Turn the suggested reasons of the selected frames into deletion reasons"),
        ActionSpec("flag.dismiss", "Dismiss suggested flags", "Flags",
                   lambda w: w.edits.dismiss_suggestions(), edits=True),
        ActionSpec("flag.irrelevant", "Toggle irrelevant (not the actor)", "Flags",
                   lambda w: w.edits.toggle_irrelevant(), edits=True),
    ]
    moves = (("prev", "Previous frame", "Extend selection left"),
             ("next", "Next frame", "Extend selection right"),
             ("up", "Row up", "Extend selection up"),
             ("down", "Row down", "Extend selection down"),
             ("first", "First frame", "Extend selection to first"),
             ("last", "Last frame", "Extend selection to last"),
             ("page_up", "Page up", "Extend selection a page up"),
             ("page_down", "Page down", "Extend selection a page down"))
    for extend, prefix in ((False, "go"), (True, "select")):
        for where, go_title, select_title in moves:
            s.append(ActionSpec(f"{prefix}.{where}", select_title if extend else go_title, "Go",
                                lambda w, where, extend: w.nav.navigate(where, extend),
                                args=(where, extend), scope=STRIP))
    s += [
        ActionSpec("go.next_unlabelled", "Next &unlabelled frame", "Go",
                   lambda w: w.nav.next_unlabelled(), toolbar=True,
                   tip="The next frame without a label (then the next clip)"),
        ActionSpec("go.next_clip", "Next &clip", "Go", lambda w: w.nav.step_clip(1)),
        ActionSpec("go.prev_clip", "Previous clip", "Go", lambda w: w.nav.step_clip(-1)),
        *[ActionSpec(f"play.{what}", title, "Go", lambda w, c: w.player_panel.command(c),
                     args=(what,), tip=tip) for what, title, tip in _PLAY],
        ActionSpec("faces.actor", "This face is the &actor", "Faces",
                   lambda w: w.jobs.mark_actor(), edits=True,
                   tip="Tell the tracker that the face in the preview is the actor, and follow "
                   "it through the clip"),
        ActionSpec("faces.realign", "&Re-align selected…", "Faces",
                   lambda w: w.jobs.realign_selected(), edits=True, toolbar=True,
                   tip="Detect and align the selected frames again, with options"),
        ActionSpec("faces.fix", "Draw box and landmarks…", "Faces",
                   lambda w: w.jobs.toggle_fix_mode(), edits=True,
                   tip="Fix the box and the five landmarks by hand on the preview, "
                   "then re-align with them"),
        ActionSpec("faces.process", "Extract and align &this clip", "Faces",
                   lambda w: w.jobs.process_clip(), edits=True,
                   tip="Extract the frames and align the faces in one pass over the "
                   "video (faster than the two steps)"),
        ActionSpec("faces.process_all", "Extract and align all &unfinished clips", "Faces",
                   lambda w: w.jobs.process_all(), edits=True,
                   tip="Every clip whose frames are not all extracted and aligned yet, one "
                   "after the other; cancel at any time and run again to go on"),
        ActionSpec("faces.extract", "&Extract frames of this clip", "Faces",
                   lambda w: w.jobs.extract_clip(), edits=True),
        ActionSpec("faces.align", "A&lign faces of this clip", "Faces",
                   lambda w: w.jobs.align_clip(), edits=True),
        ActionSpec("faces.cancel", "Cancel the running job", "Faces", lambda w: w.jobs.cancel()),
        # expression proposals (issue 17): the window's ProposalController (ui/proposals.py)
        ActionSpec("proposals.run", "&Propose expressions for this clip", "Faces",
                   lambda w: w.proposals.propose(all_clips=False), edits=True,
                   tip="A model proposes a code for each aligned face (the bundled FER2013 "
                   "model); proposals are never labels until you accept them"),
        ActionSpec("proposals.run_all", "Propose expressions for all clips", "Faces",
                   lambda w: w.proposals.propose(all_clips=True), edits=True),
        ActionSpec("proposals.run_own", "Propose with your own model (ONNX)…", "Faces",
                   lambda w: w.proposals.propose_own_model(), edits=True),
        ActionSpec("proposals.accept", "Accept proposals (selection)", "Label",
                   lambda w, scope: w.proposals.accept(scope), args=("selection",), edits=True,
                   tip="The selected frames get their proposed code as your label"),
        ActionSpec("proposals.accept_rest", "Accept proposals for the rest of the shot",
                   "Label", lambda w, scope: w.proposals.accept(scope), args=("shot",),
                   edits=True, tip="From the current frame to the next scene cut, every frame "
                   "you have not labelled gets its proposed code"),
        ActionSpec("proposals.accept_clip", "Accept proposals for the whole clip", "Label",
                   lambda w, scope: w.proposals.accept(scope), args=("clip",), edits=True,
                   tip="Every frame of the clip you have not labelled gets its proposed code"),
        ActionSpec("proposals.next", "Next &disagreement", "Go",
                   lambda w: w.proposals.next_disagreement(),
                   tip="The review's disagreement queue: a confident proposal that differs from "
                   "the final label, or annotators who differ; most confident first"),
        ActionSpec("view.review", "&Review grid", "View", lambda w: w.nav.show_review(),
                   toolbar=True, tip="Every frame with a given code or reason, across clips"),
        ActionSpec("view.strip", "Frame &strip", "View", lambda w: w.nav.show_strip()),
        ActionSpec("view.filter", "&Filter frames (Review tab: what it lists)…", "View",
                   lambda w: w.nav.focus_filter()),
        ActionSpec("view.find_clip", "Find &clip…", "View", lambda w: w.clip_list.focus_search(),
                   tip="The clip list's search box: filters the clips as you type"),
        ActionSpec("view.refresh", "Re&fresh", "View", lambda w: w.nav.refresh_all()),
        ActionSpec("view.zoom_in", "Bigger thumbnails", "View", lambda w, n: w.nav.zoom(n),
                   args=(1,)),
        ActionSpec("view.zoom_out", "Smaller thumbnails", "View", lambda w, n: w.nav.zoom(n),
                   args=(-1,)),
        ActionSpec("tools.export", "&Export dataset…", "Tools",
                   lambda w: w.tools.open_export()),
        ActionSpec("tools.rating", "&Rating mode (acting skill)…", "Tools",
                   lambda w: w.tools.open_rating()),
        ActionSpec("tools.adjudication", "A&djudicate disagreements…", "Tools",
                   lambda w: w.tools.open_adjudication()),
        ActionSpec("tools.agreement", "A&greement statistics…", "Tools",
                   lambda w: w.tools.open_agreement()),
        ActionSpec("tools.progress", "Team &progress…", "Tools",  # issue 16
                   lambda w: w.tools.open_progress()),
        ActionSpec("tools.identities", "&Identities of this clip…", "Tools",
                   lambda w: w.tools.open_identities(),
                   tip="The people found in the clip: say which one is the actor"),
        ActionSpec("help.keys", "&Keys", "Help", lambda w: w.overlay.toggle(),
                   needs_project=False, toolbar=True, tip="Show every key"),
        ActionSpec("help.about", "&About", "Help", lambda w: w.project.about(),
                   needs_project=False),
    ]
    return s + _tool_specs()


def _tool_specs() -> list[ActionSpec]:
    """The keys of the tools' dialogs (context: ui/rating_mode.RatingDialog,
    ui/adjudication.AdjudicationDialog)."""
    rating = TOOL_SCOPES[RATING]
    s = [ActionSpec(f"rating.score_{score}", f"Score {score} ({words})", rating,
                    lambda d, n: d.set_score(n), args=(score,), scope=RATING)
         for score, words in SCORES.items()]
    s += [
        ActionSpec("rating.play", "Play / pause", rating, lambda d: d.player.toggle(),
                   scope=RATING),
        ActionSpec("rating.step_back", "Step one frame back", rating,
                   lambda d: d.player.step(-1), scope=RATING),
        ActionSpec("rating.step_forward", "Step one frame forward", rating,
                   lambda d: d.player.step(1), scope=RATING),
        ActionSpec("rating.pick", "Pick / unpick the frame", rating,
                   lambda d: d.toggle_pick(), scope=RATING),
        ActionSpec("rating.description", "Write the description (Tab or Esc leaves it)",
                   rating, lambda d: d.focus_description(), scope=RATING),
        ActionSpec("rating.complete", "Complete the rating", rating, lambda d: d.complete(),
                   scope=RATING),
        ActionSpec("rating.undo", "Undo the rater's last step", rating, lambda d: d.undo(),
                   scope=RATING),
        ActionSpec("rating.redo", "Redo the rater's step", rating,
                   lambda d: d.undo(redo=True), scope=RATING),
        ActionSpec("rating.slower", "Play slower", rating, lambda d: d.player.change_rate(-1),
                   scope=RATING),
        ActionSpec("rating.faster", "Play faster", rating, lambda d: d.player.change_rate(1),
                   scope=RATING),
        ActionSpec("rating.loop", "Loop the clip (again: no loop)", rating,
                   lambda d: d.toggle_loop(), scope=RATING),
        ActionSpec("rating.next_clip", "Next clip", rating, lambda d: d.move_clip(1),
                   scope=RATING),
        ActionSpec("rating.prev_clip", "Previous clip", rating, lambda d: d.move_clip(-1),
                   scope=RATING),
    ]
    adjudication = TOOL_SCOPES[ADJUDICATION]
    s += [ActionSpec(f"adjudication.{code}", f"Final label {code} {name}", adjudication,
                     lambda d, c: d.adjudicate(c), args=(code,), scope=ADJUDICATION)
          for code, name in CODES.items()]
    s += [
        ActionSpec("adjudication.clear", "Clear the adjudication", adjudication,
                   lambda d: d.adjudicate(None), scope=ADJUDICATION),
        ActionSpec("adjudication.next", "Next disagreement", adjudication,
                   lambda d: d.move(1), scope=ADJUDICATION),
        ActionSpec("adjudication.prev", "Previous disagreement", adjudication,
                   lambda d: d.move(-1), scope=ADJUDICATION),
        ActionSpec("adjudication.undo", "Undo", adjudication, lambda d: d.undo(),
                   scope=ADJUDICATION),
        ActionSpec("adjudication.redo", "Redo", adjudication, lambda d: d.undo(redo=True),
                   scope=ADJUDICATION),
    ]
    identities = TOOL_SCOPES[IDENTITIES]
    s += [
        ActionSpec("identities.actor", "This identity is the actor", identities,
                   lambda d: d.set_actor(True), scope=IDENTITIES),
        ActionSpec("identities.not_actor", "This identity is not the actor", identities,
                   lambda d: d.set_actor(False), scope=IDENTITIES),
        ActionSpec("identities.next", "Next identity", identities, lambda d: d.move(1),
                   scope=IDENTITIES),
        ActionSpec("identities.prev", "Previous identity", identities, lambda d: d.move(-1),
                   scope=IDENTITIES),
        ActionSpec("identities.find", "Find the clip's identities", identities,
                   lambda d: d.find(), scope=IDENTITIES),
        ActionSpec("identities.reload", "Reload", identities, lambda d: d.refresh(),
                   scope=IDENTITIES),
        ActionSpec("identities.undo", "Undo", identities, lambda d: d.undo(), scope=IDENTITIES),
    ]
    return s


ACTIONS: list[ActionSpec] = _specs()
SPECS: dict[str, ActionSpec] = {a.id: a for a in ACTIONS}
#: The main window's actions (QActions in its menus); the rest are the tools' keys.
WINDOW_ACTIONS: list[ActionSpec] = [a for a in ACTIONS if a.in_window]

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
    "play.toggle": ["Space"], "play.back": ["Alt+Left"], "play.forward": ["Alt+Right"],
    "play.slower": ["J"], "play.faster": ["L"], "play.loop": ["K"],
    "faces.actor": ["T"],
    "faces.realign": ["R"],
    "faces.fix": ["M"],
    "file.import_videos": ["Ctrl+Shift+I"],
    "faces.process": ["Ctrl+P"],
    "faces.process_all": ["Ctrl+Shift+P"],
    "faces.extract": ["Ctrl+E"],
    "faces.align": ["Ctrl+L"],
    "faces.cancel": ["Ctrl+."],
    "proposals.accept": ["P"],
    "proposals.accept_rest": ["Shift+P"],
    "proposals.next": ["D"],
    "view.review": ["Ctrl+G"],
    "view.strip": ["Ctrl+1"],
    "view.filter": ["Ctrl+F"],
    "view.find_clip": ["Ctrl+Shift+F"],
    "view.refresh": ["F5"],
    "view.zoom_in": ["Ctrl+="],
    "view.zoom_out": ["Ctrl+-"],
    "tools.export": ["Ctrl+Shift+E"],
    "help.keys": ["F1"],
    **{f"rating.score_{s}": [str(s)] for s in SCORES},
    "rating.play": ["Space"],
    "rating.step_back": [","],
    "rating.step_forward": ["."],
    "rating.pick": ["P"],
    "rating.description": ["D"],
    "rating.complete": ["Ctrl+Return", "Ctrl+Enter"],
    "rating.undo": ["Ctrl+Z"],
    "rating.redo": ["Ctrl+Shift+Z"],
    "rating.slower": ["J"], "rating.faster": ["L"], "rating.loop": ["K"],
    "rating.next_clip": ["PgDown"],
    "rating.prev_clip": ["PgUp"],
    **{f"adjudication.{c}": [str(c)] for c in CODES},
    "adjudication.clear": ["0", "Del", "Backspace"],
    "adjudication.next": ["Down", "Right", "J"],
    "adjudication.prev": ["Up", "Left", "K"],
    "adjudication.undo": ["Ctrl+Z"],
    "adjudication.redo": ["Ctrl+Shift+Z"],
    "identities.actor": ["A", "Return", "Enter"],
    "identities.not_actor": ["N", "Del"],
    "identities.next": ["Down", "J"],
    "identities.prev": ["Up", "K"],
    "identities.find": ["F"],
    "identities.reload": ["R"],
    "identities.undo": ["Ctrl+Z"],
}


def normalise(key: str) -> str:
    """One spelling per key (Qt portable text), so "del" and "Delete" compare equal."""
    return QKeySequence.fromString(key.strip()).toString(
        QKeySequence.SequenceFormat.PortableText)


class Keymap:
    """The keys of every action: the defaults, with the user's changes from the preferences."""

    SETTING = "keymap"

    def __init__(self, settings: Settings | None):
        self.settings = settings  # None: the defaults only (a tool opened without a window)

    def overrides(self) -> dict[str, list[str]]:
        if self.settings is None:
            return {}
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
    """Keys bound to more than one action that can both receive them: key -> action ids.
    Window keys reach the strip too, so window and strip actions share one key space; each
    tool's dialog has its own."""
    seen: dict[tuple[str, str], list[str]] = {}
    for action_id, keys in mapping.items():
        spec = SPECS.get(action_id)
        space = WINDOW if spec is None or spec.in_window else spec.scope
        for key in keys:
            k = normalise(key)
            if k:
                seen.setdefault((space, k), []).append(action_id)
    out: dict[str, list[str]] = {}
    for (_space, k), ids in seen.items():
        if len(ids) > 1:
            out.setdefault(k, []).extend(ids)
    return out


def build_actions(window: QObject, keymap: Keymap,
                  icons: Callable[[ActionSpec], object] | None = None) -> dict[str, QAction]:
    """One QAction per window action, running its handler on `window`, keys from the keymap."""
    out: dict[str, QAction] = {}
    for spec in WINDOW_ACTIONS:
        action = QAction(spec.title, window)
        action.setObjectName(spec.id)
        if spec.tip:
            action.setStatusTip(spec.tip)
            action.setToolTip(spec.tip)
        if icons is not None:
            icon = icons(spec)
            if icon is not None:
                action.setIcon(icon)
        action.triggered.connect(_caller(spec, window))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut if spec.scope == WINDOW
                                  else Qt.ShortcutContext.WidgetWithChildrenShortcut)
        out[spec.id] = action
    apply_keymap(out, keymap)
    return out


def _caller(spec: ActionSpec, context: object) -> Callable:
    def call(_checked: bool = False) -> None:
        spec.handler(context, *spec.args)
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
    for spec in WINDOW_ACTIONS:
        menu = menus[spec.menu]
        group = spec.id.split(".")[0]
        if spec.menu in previous and previous[spec.menu] != group:
            menu.addSeparator()
        previous[spec.menu] = group
        menu.addAction(actions[spec.id])
    return menus


def build_toolbar(toolbar: QToolBar, actions: dict[str, QAction]) -> None:
    group = None
    for spec in WINDOW_ACTIONS:
        if not spec.toolbar:
            continue
        if group is not None and spec.menu != group:
            toolbar.addSeparator()
        group = spec.menu
        toolbar.addAction(actions[spec.id])


def attach(actions: dict[str, QAction], window: QWidget, scoped: list[QWidget]) -> None:
    """Window keys work anywhere in `window`; strip keys only while the focus is inside one of
    `scoped` (the strip, the review grid, the preview)."""
    for spec in WINDOW_ACTIONS:
        targets = scoped if spec.scope == STRIP else [window]
        for w in targets:
            w.addAction(actions[spec.id])


class ScopedKeys:
    """A tool dialog's keys: a key press runs the action of `scope` the keymap binds it to,
    with the dialog as its context. The keymap is read at each press, so a change made in the
    keymap editor reaches a dialog that is already open."""

    def __init__(self, keymap: Keymap, scope: str):
        self.keymap = keymap
        self.specs = [a for a in ACTIONS if a.scope == scope]

    def action_for(self, event: QKeyEvent) -> ActionSpec | None:
        key = event.key()
        if key in _MODIFIER_KEYS:
            return None
        mods = event.modifiers()
        wanted = [_key_text(mods, key)]
        if mods & Qt.KeyboardModifier.KeypadModifier:  # keypad digits and arrows count too
            wanted.append(_key_text(mods & ~Qt.KeyboardModifier.KeypadModifier, key))
        for text in wanted:
            for spec in self.specs:
                if any(normalise(k) == text for k in self.keymap.keys(spec.id)):
                    return spec
        return None

    def handle(self, context: object, event: QKeyEvent) -> bool:
        """Run the action bound to `event`'s key; False when none is (the key goes on)."""
        spec = self.action_for(event)
        if spec is None:
            return False
        spec.handler(context, *spec.args)
        return True


class ScopedKeysMixin:
    """For a tool dialog (listed before QDialog in its bases) whose `keys` is a ScopedKeys: a
    key press runs the bound action, else goes on to the dialog as usual."""

    keys: ScopedKeys

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        if not self.handle_key(event):
            super().keyPressEvent(event)  # type: ignore[misc]

    def handle_key(self, event: QKeyEvent) -> bool:
        """The key's action in the dialog's scope of the keymap, if it has one."""
        return self.keys.handle(self, event)


_MODIFIER_KEYS = {Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Alt, Qt.Key.Key_Meta,
                  Qt.Key.Key_AltGr}


def _key_text(mods, key) -> str:
    return QKeySequence(QKeyCombination(mods, Qt.Key(key))).toString(
        QKeySequence.SequenceFormat.PortableText)
