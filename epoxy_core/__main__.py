"""``python -m epoxy_core``: the ``epoxy`` command line (see :mod:`epoxy_core.cli`)."""

from epoxy_core.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
