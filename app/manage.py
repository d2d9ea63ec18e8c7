#!/usr/bin/env python
"""Django's command-line utility; a configuration error is one line on stderr and exit 2."""

import os
import sys
from pathlib import Path


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    from django.core.management import execute_from_command_line

    from multidb.errors import ConfigError

    try:
        execute_from_command_line(sys.argv)
    except ConfigError as error:
        sys.stderr.write(f"config error: {error}\n")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
