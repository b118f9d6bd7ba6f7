"""``python -m pokeviz``: the same command line as ``pokeviz``."""

from .cli import main

if __name__ == "__main__":
    main(prog_name="pokeviz")
