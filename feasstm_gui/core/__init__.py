"""The domain of FEASSTM Studio. Nothing in this package imports Qt."""
