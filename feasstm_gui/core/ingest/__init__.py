"""Getting clips in: importing clip tables, videos and FAF folders, decoding and extracting frames,
the jobs that turn a clip into aligned faces, and image file I/O."""
