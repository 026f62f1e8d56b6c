"""Faces: detection (MTCNN), alignment onto a landmark template, quality scores, actor tracking.

Nothing here imports torch at import time; only detection does, when it first runs.
"""
