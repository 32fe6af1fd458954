"""The app's pages, run by ``st.navigation`` in ``epoxy_studio/app.py`` (scripts, never imported)."""
