"""The window's side of a team project (issue 16): others' edits shown as they happen, and the
server's absence said at once.

`install(window)` gives the window a `LiveUpdates` (`window.live`). On a server project it
keeps a `core.store.live.ChangeListener` (its own connection, LISTENing) and watches its socket
with a QSocketNotifier: a notification (another annotator's label, an adjudication, a rating)
wakes the GUI thread, a burst is folded for 150 ms and the window repaints the frames it names
(`refresh_frames`: the strip, the clip list's counts, the status bar), rereads the clip list
when clips changed, refreshes the open adjudication view, and emits `changed` for the other
views (the progress dialog). The same socket says when the server goes away (it is closed on a
shutdown or restart): the red banner in the status bar appears at once, a key pressed meanwhile
is refused (`refused`: the store's ServerUnavailable becomes the banner and a status message
instead of a dialog), and a reconnection is tried every second on a thread; once back, the
window rereads what it shows, since notifications sent meanwhile were not heard.

Nothing happens on a SQLite project (one writer at a time; there are no others).
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QSocketNotifier, QTimer, Signal
from PySide6.QtWidgets import QLabel

from feasstm_gui.core.errors import ServerUnavailable
from feasstm_gui.core.store import live

#: A burst of notifications is folded for this long before the window repaints.
FOLD_MS = 150
#: While the server is away, a reconnection is tried this often.
RETRY_MS = 1000

BANNER_STYLE = ("QLabel { background: #b00020; color: white; font-weight: bold; "
                "padding: 2px 8px; }")


class LiveUpdates(QObject):
    changed = Signal(object)          # core.store.live.Changes, once per burst
    connection_changed = Signal(bool, str)  # connected, why not
    _reconnected = Signal(object, bool)  # (listener, ok) from the reconnecting thread

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.listener: live.ChangeListener | None = None
        self.notifier: QSocketNotifier | None = None
        self.online = True
        self._pending: list[live.Note] = []
        self._connecting = False
        self._fold = QTimer(self)
        self._fold.setSingleShot(True)
        self._fold.setInterval(FOLD_MS)
        self._fold.timeout.connect(self._flush)
        self._retry = QTimer(self)
        self._retry.setInterval(RETRY_MS)
        self._retry.timeout.connect(self._try_reconnect)
        self._reconnected.connect(self._on_reconnected)
        self.banner = QLabel()
        self.banner.setObjectName("server-banner")
        self.banner.setStyleSheet(BANNER_STYLE)
        self.banner.hide()
        window.statusBar().insertPermanentWidget(0, self.banner)  # first: seen at once
        window.project_changed.connect(self.attach)

    # -- following a project -----------------------------------------------------------------

    def attach(self) -> None:
        """Follow the window's project (called when it changes)."""
        self.detach()
        store = self.window.store
        self.listener = live.listener_for(store) if store is not None else None
        if self.listener is None:
            return
        if self.listener.connect():
            self._watch()
            self._set_online(True)
        else:
            self._set_online(False, self.listener.error)

    def detach(self) -> None:
        self._unwatch()
        self._retry.stop()
        self._fold.stop()
        self._pending.clear()
        if self.listener is not None and not self._connecting:
            self.listener.close()
        self.listener = None
        self._set_online(True)

    def _watch(self) -> None:
        self._unwatch()
        fd = self.listener.fileno() if self.listener is not None else None
        if fd is None:
            return
        self.notifier = QSocketNotifier(fd, QSocketNotifier.Type.Read, self)
        self.notifier.activated.connect(self._readable)

    def _unwatch(self) -> None:
        if self.notifier is not None:
            self.notifier.setEnabled(False)
            self.notifier.deleteLater()
            self.notifier = None

    def _readable(self, *_args) -> None:
        if self.listener is None:
            return
        notes = self.listener.poll()
        if notes:
            self._pending.extend(notes)
            if not self._fold.isActive():
                self._fold.start()
        if not self.listener.connected:
            self._unwatch()
            self._set_online(False, self.listener.error or "the server closed the connection")

    # -- repainting what others changed -----------------------------------------------------

    def _flush(self) -> None:
        notes, self._pending = self._pending, []
        changes = live.summarise(notes, live.own_pid(self.window.store))
        if not changes:
            return
        if changes.others:
            try:
                self._show(changes)
            except ServerUnavailable as exc:
                self.refused(exc)
        self.changed.emit(changes)

    def _show(self, changes: live.Changes) -> None:
        w = self.window
        if w.store is None:
            return
        if changes.clip_list or changes.everything:
            w.load_clips_keep()
        elif changes.frames:
            w.refresh_frames(sorted(changes.frames))
        if changes.labels:
            self._refresh_tool("adjudication")

    def _refresh_tool(self, name: str) -> None:
        dialog = getattr(self.window, "tools", None) and self.window.tools.opened.get(name)
        if dialog is None:
            return
        try:
            if dialog.isVisible():
                dialog.refresh()
        except RuntimeError:  # the dialog was closed and deleted
            self.window.tools.opened.pop(name, None)

    # -- the server away and back -----------------------------------------------------------

    def _set_online(self, online: bool, why: str = "") -> None:
        was = self.online
        self.online = online
        if online:
            self.banner.hide()
            self._retry.stop()
        else:
            self.banner.setText("Server unreachable: changes refused until it is back")
            self.banner.setToolTip("Everything shown as saved is saved on the server; a key "
                                   f"pressed now has no effect.\n{why}")
            self.banner.show()
            if not self._retry.isActive():
                self._retry.start()
        if was != online:
            self.connection_changed.emit(online, why)

    def _try_reconnect(self) -> None:
        if self._connecting or self.listener is None:
            return
        self._connecting = True
        listener = self.listener

        def attempt() -> None:
            self._reconnected.emit(listener, listener.connect())

        threading.Thread(target=attempt, name="feasstm-reconnect", daemon=True).start()

    def _on_reconnected(self, listener, ok: bool) -> None:
        self._connecting = False
        if listener is not self.listener:  # the project changed meanwhile
            listener.close()
            return
        if not ok:
            return
        self._watch()
        self._set_online(True)
        self.window.statusBar().showMessage("The server is back", 4000)
        # what others did while we were away was announced to nobody: reread what is shown
        try:
            self.window.load_clips_keep()
        except ServerUnavailable as exc:
            self.refused(exc)
            return
        self.window.history.schedule_refresh()
        self._refresh_tool("adjudication")
        self.changed.emit(live.Changes(everything=True, count=1, others=1))

    def refused(self, exc: BaseException) -> bool:
        """For the window's error report: a change refused because the server is away is the
        banner and a status message, not a dialog per key. True when it was that."""
        if not isinstance(exc, ServerUnavailable):
            return False
        self._unwatch()
        if self.listener is not None and not self._connecting:
            self.listener.close()
        self._set_online(False, str(exc))
        if "may not have been saved" in str(exc):  # sent, answer lost: on the server or not
            self.window.statusBar().showMessage(
                "Perhaps not saved: the database server was lost while the key was being "
                "saved; once the red banner is gone the window shows what the server has",
                8000)
        else:
            self.window.statusBar().showMessage(
                "Not saved: the database server cannot be reached. The key was refused; press "
                "it again once the red banner is gone", 8000)
        return True


def install(window) -> LiveUpdates:
    return LiveUpdates(window)
