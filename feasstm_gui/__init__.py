"""FEASSTM Studio: build the FEASSTM facial-expression and acting-skill dataset."""

__version__ = "0.1.0"
