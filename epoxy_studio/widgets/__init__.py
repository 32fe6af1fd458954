"""Widgets that read user input and return plain values (an LF, a spec, a source); saving is left to callers."""
