"""The project store (SQLite, WAL). All SQL of the application lives in this package."""

from feasstm_gui.core.store.store import (
    CROPS_DIR,
    DB_NAME,
    FRAMES_DIR,
    Clip,
    EditBatch,
    Face,
    FrameRow,
    Store,
    default_annotator,
    register_op,
    restore_backup,
)

__all__ = [
    "CROPS_DIR",
    "DB_NAME",
    "FRAMES_DIR",
    "Clip",
    "EditBatch",
    "Face",
    "FrameRow",
    "Store",
    "default_annotator",
    "register_op",
    "restore_backup",
]

# The ratings part of the store registers its undoable edit operations on import: import it with
# the store, so undo of a rating edit works wherever the store is used.
from feasstm_gui.core.store import ratings as _ratings  # noqa: E402,F401, I001

# Likewise the proposals part (accepting a proposal is an undoable edit).
from feasstm_gui.core.store import proposals as _proposals  # noqa: E402,F401, I001
