"""One worker pattern for every long job: a core generator run on the thread pool.

A core job (extract a clip, align it, re-align frames) is a generator that commits one unit and
yields a `Progress`. JobRunner runs any such generator with superqt's GeneratorWorker, feeds a
progress bar (rate-limited), cancels between two yields (the generator is closed in its own
thread, so its `finally` blocks run there), and reports the JobResult or the error. The GUI
thread only ever sees signals, so the window stays responsive.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget
from superqt.utils import GeneratorWorker

from feasstm_gui.core.jobs import JobResult, Progress, steps

JobFactory = Callable[[], Generator[Progress, None, Any]]


@dataclass
class JobOutcome:
    """How a job ended: result (finished), cancelled, or error (an exception)."""

    title: str
    result: JobResult | None = None
    cancelled: bool = False
    error: BaseException | None = None
    error_text: str = ""
    progress: list[Progress] = field(default_factory=list)


def _run(factory: JobFactory, seen: list):
    """Wraps the job: exceptions become values (superqt swallows RuntimeError), and the job's
    own generator is always closed in this thread."""
    try:
        return (yield from steps(factory(), seen))
    except GeneratorExit:
        raise
    except BaseException as exc:  # noqa: BLE001 - reported to the user by the runner
        return _Crashed(exc, traceback.format_exc())


class _Crashed:
    def __init__(self, exc: BaseException, text: str):
        self.exc = exc
        self.text = text


class _JobWorker(GeneratorWorker):
    """GeneratorWorker that closes the generator when cancelled (superqt leaves it open)."""

    def work(self):
        result = super().work()
        if self.abort_requested:
            try:
                self._gen.close()
            except Exception:  # noqa: BLE001 - closing a cancelled job must not crash
                traceback.print_exc()
        return result


class JobRunner(QObject):
    """Runs one job at a time and says what happens."""

    started = Signal(str)  # title
    progressed = Signal(object)  # Progress (rate-limited, the last one always delivered)
    finished = Signal(object)  # JobOutcome

    def __init__(self, parent: QObject | None = None, min_interval_s: float = 0.1):
        super().__init__(parent)
        self._worker: _JobWorker | None = None
        self._title = ""
        self._seen: list[Progress] = []
        self._last_emit = 0.0
        self._held: Progress | None = None
        self._min_interval = min_interval_s
        self._flush = QTimer(self)
        self._flush.setSingleShot(True)
        self._flush.timeout.connect(self._emit_held)
        self._result: Any = None
        self._cancelled = False

    @property
    def busy(self) -> bool:
        return self._worker is not None

    @property
    def title(self) -> str:
        return self._title

    def start(self, title: str, factory: JobFactory) -> bool:
        """Start a job; False (nothing started) while another one runs."""
        if self._worker is not None:
            return False
        self._title = title
        self._seen = []
        self._result = None
        self._cancelled = False
        worker = _JobWorker(_run, factory, self._seen)
        worker.yielded.connect(self._on_yielded, Qt.ConnectionType.QueuedConnection)
        worker.returned.connect(self._on_returned, Qt.ConnectionType.QueuedConnection)
        worker.errored.connect(self._on_errored, Qt.ConnectionType.QueuedConnection)
        worker.aborted.connect(self._on_aborted, Qt.ConnectionType.QueuedConnection)
        worker.finished.connect(self._on_finished, Qt.ConnectionType.QueuedConnection)
        self._worker = worker
        self.started.emit(title)
        worker.start()
        return True

    def cancel(self) -> None:
        """Stop at the next yield: the unit in flight is finished and committed."""
        if self._worker is not None:
            self._cancelled = True
            self._worker.quit()

    def _on_yielded(self, progress: Progress) -> None:
        now = time.monotonic()
        if now - self._last_emit >= self._min_interval:
            self._last_emit = now
            self._held = None
            self.progressed.emit(progress)
        else:
            self._held = progress
            if not self._flush.isActive():
                self._flush.start(int(self._min_interval * 1000))

    def _emit_held(self) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            self._last_emit = time.monotonic()
            self.progressed.emit(held)

    def _on_returned(self, value: Any) -> None:
        self._result = value

    def _on_errored(self, exc: BaseException) -> None:
        self._result = _Crashed(exc, "".join(traceback.format_exception(exc)))

    def _on_aborted(self) -> None:
        self._cancelled = True

    def _on_finished(self) -> None:
        self._flush.stop()
        self._emit_held()
        outcome = JobOutcome(self._title, progress=list(self._seen))
        if isinstance(self._result, _Crashed):
            outcome.error = self._result.exc
            outcome.error_text = self._result.text
        elif self._cancelled:
            outcome.cancelled = True
            outcome.result = JobResult(done=self._seen[-1].done if self._seen else 0,
                                       problems=[p for g in self._seen for p in g.problems],
                                       summary="cancelled")
        else:
            outcome.result = self._result if isinstance(self._result, JobResult) else JobResult()
        self._worker = None
        self.finished.emit(outcome)


class JobPanel(QWidget):
    """A progress bar, what is happening, and a cancel button (in the status bar)."""

    def __init__(self, runner: JobRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self.runner = runner
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setFixedWidth(180)
        self.bar.setTextVisible(True)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Stop after the frame in progress; what is done is kept")
        self.cancel_button.clicked.connect(runner.cancel)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        runner.started.connect(self._on_started)
        runner.progressed.connect(self._on_progress)
        runner.finished.connect(self._on_finished)
        self.hide()

    def _on_started(self, title: str) -> None:
        self.label.setText(title)
        self.bar.setRange(0, 0)
        self.cancel_button.setEnabled(True)
        self.show()

    def _on_progress(self, progress: Progress) -> None:
        if progress.total:
            self.bar.setRange(0, progress.total)
            self.bar.setValue(min(progress.done, progress.total))
        else:
            self.bar.setRange(0, 0)
        text = self.runner.title
        if progress.message:
            text += f": {progress.message}"
        self.label.setText(text)

    def _on_finished(self, _outcome: JobOutcome) -> None:
        self.hide()
