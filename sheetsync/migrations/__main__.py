"""Developer entry: Alembic's command line on the packaged revisions.

python -m sheetsync.migrations --db sqlite:///dev.db current
python -m sheetsync.migrations --db sqlite:///dev.db revision --autogenerate -m "add x"
"""

from __future__ import annotations

import sys

from alembic.config import CommandLine

from . import alembic_config


def main(argv: list[str]) -> None:
    url = None
    if len(argv) >= 2 and argv[0] == "--db":
        url, argv = argv[1], argv[2:]
    cli = CommandLine(prog="python -m sheetsync.migrations")
    options = cli.parser.parse_args(argv)
    if not hasattr(options, "cmd"):
        cli.parser.error("too few arguments")
    cli.run_cmd(alembic_config(url=url), options)


if __name__ == "__main__":
    main(sys.argv[1:])
