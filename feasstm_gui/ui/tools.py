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

    @guarded
    def open_export(self) -> None:
        from feasstm_gui.ui.export_dialog import open_export_dialog

        if self.store is not None:
            self.opened["export"] = open_export_dialog(self.window, self.store,
                                                       runner=self.window.runner)

    @guarded
    def open_rating(self) -> None:
        from feasstm_gui.ui.rating_mode import open_rating_mode

        if self.store is not None:
            self.opened["rating"] = open_rating_mode(self.window, self.store,
                                                     keymap=self.window.keymap)

    @guarded
    def open_adjudication(self) -> None:
        from feasstm_gui.ui.adjudication import open_adjudication

        if self.store is not None:
            self.opened["adjudication"] = open_adjudication(self.window, self.store,
                                                            keymap=self.window.keymap)

    @guarded
    def open_agreement(self) -> None:
        from feasstm_gui.ui.agreement_panel import open_agreement_panel

        if self.store is not None:
            self.opened["agreement"] = open_agreement_panel(self.window, self.store,
                                                            runner=self.window.runner)
