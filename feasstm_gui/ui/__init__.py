"""The Qt skin of FEASSTM Studio: main window, frame strip, preview, dialogs, workers.

Everything here is thin over `feasstm_gui.core`; the store is the single source of truth.
"""
