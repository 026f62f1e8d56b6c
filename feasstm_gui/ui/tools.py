"""The Tools menu: export, rating mode, adjudication, agreement statistics.

The tools are part of the application: plain imports, always there. Each opens as a
non-modal dialog over the window, runs its long work on the window's one JobRunner, and takes
its keys from the window's keymap (their actions are in ui/actions.py, with the tool's scope).
The imports sit in the methods only because export, rating and agreement pull in numpy and
OpenCV (through core/formats), which would add about 0.4 s to the window's start.
"""

from __future__ import annotations

from feasstm_gui.ui.controller import Controller, guarded


class ToolsController(Controller):
    def __init__(self, window):
        super().__init__(window)
        #: the dialog each tool opened last, by tool name (export, rating, ...)
        self.opened: dict[str, object] = {}

    def _open(self, name: str, opener, **options) -> None:
        """Open a tool's dialog on the project (remembered as the tool's last dialog)."""
        if self.store is not None:
            self.opened[name] = opener(self.window, self.store, **options)

    @guarded
    def open_export(self) -> None:
        from feasstm_gui.ui.export_dialog import open_export_dialog

        self._open("export", open_export_dialog, runner=self.window.runner)

    @guarded
    def open_rating(self) -> None:
        from feasstm_gui.ui.rating_mode import open_rating_mode

        self._open("rating", open_rating_mode, keymap=self.window.keymap)

    @guarded
    def open_adjudication(self) -> None:
        from feasstm_gui.ui.adjudication import open_adjudication

        self._open("adjudication", open_adjudication, keymap=self.window.keymap)

    @guarded
    def open_agreement(self) -> None:
        from feasstm_gui.ui.agreement_panel import open_agreement_panel

        self._open("agreement", open_agreement_panel, runner=self.window.runner)

    @guarded
    def open_progress(self) -> None:
        from feasstm_gui.ui.progress_view import open_progress

        self._open("progress", open_progress, live=getattr(self.window, "live", None))

    @guarded
    def open_identities(self) -> None:
        from feasstm_gui.ui.identities import open_identities

        self._open("identities", open_identities, keymap=self.window.keymap)
