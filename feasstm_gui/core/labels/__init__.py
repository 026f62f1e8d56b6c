"""Labelling: the annotator's session (edit commands, the blind rule) and the labelling rules."""
