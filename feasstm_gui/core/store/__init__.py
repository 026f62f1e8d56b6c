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
