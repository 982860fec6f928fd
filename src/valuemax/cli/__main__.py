"""``python -m valuemax.cli``: the ``valuemax`` command."""

from valuemax.cli._app import main

if __name__ == "__main__":  # pragma: no cover - run as a module
    main()
