"""pytest: the page scripts in app_pages/ run under ``st.navigation`` only; importing them for doctests would
execute them outside Streamlit.  (``pyproject.toml``'s ``--ignore=epoxy_studio/pages`` names their old folder.)"""

collect_ignore_glob = ["app_pages/*.py"]
