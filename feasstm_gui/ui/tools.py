"""The Tools menu: export, rating mode, adjudication, agreement statistics.

The tools are part of the application, imported like any other module. Each opens as a
non-modal dialog over the window, runs its long work on the window's one JobRunner, and takes
its keys from the window's keymap (their actions are in ui/actions.py, with the tool's scope).
"""

from __future__ import annotations

from feasstm_gui.ui.adjudication import open_adjudication
from feasstm_gui.ui.agreement_panel import open_agreement_panel
from feasstm_gui.ui.controller import Controller, guarded
from feasstm_gui.ui.export_dialog import open_export_dialog
from feasstm_gui.ui.rating_mode import open_rating_mode


class ToolsController(Controller):
    def __init__(self, window):
        super().__init__(window)
        #: the dialog each tool opened last, by tool name (export, rating, ...)
        self.opened: dict[str, object] = {}

    @guarded
    def open_export(self) -> None:
        if self.store is not None:
            self.opened["export"] = open_export_dialog(self.window, self.store,
                                                       runner=self.window.runner)

    @guarded
    def open_rating(self) -> None:
        if self.store is not None:
            self.opened["rating"] = open_rating_mode(self.window, self.store,
                                                     keymap=self.window.keymap)

    @guarded
    def open_adjudication(self) -> None:
        if self.store is not None:
            self.opened["adjudication"] = open_adjudication(self.window, self.store,
                                                            keymap=self.window.keymap)

    @guarded
    def open_agreement(self) -> None:
        if self.store is not None:
            self.opened["agreement"] = open_agreement_panel(self.window, self.store,
                                                            runner=self.window.runner)
