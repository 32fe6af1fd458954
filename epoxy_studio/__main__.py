"""``python -m epoxy_studio``: the same as the ``epoxy-studio`` command."""

from epoxy_studio.launcher import main

raise SystemExit(main())
