"""``python -m casepilot.cli``: the ``casepilot`` command."""

from casepilot.cli import main

if __name__ == "__main__":  # pragma: no cover
    main()
