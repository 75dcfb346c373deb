"""`python -m foveanet ...` is the `foveanet` command."""
import sys

from foveanet.cli.main import main

sys.exit(main())
