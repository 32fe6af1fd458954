"""Streamlit-side glue for Epoxy Studio: session keys, cached wrappers around ``epoxy_core``, widgets.

Only this package and the pages import streamlit; ``epoxy_core`` stays usable from a notebook.
"""
