"""``python -m cowlog``: the ``cowlog`` command (see :mod:`cowlog.cli`)."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
