"""Readers and writers for the files the dataset is exchanged in (FAF TXT lists, clip tables)."""
