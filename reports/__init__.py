"""Renderers: the console summary, and the file formats registered as plugins."""
