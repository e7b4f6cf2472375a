"""``python -m cowlog``: the ``cowlog`` command (see `cowlog.cli`)."""

from .cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
