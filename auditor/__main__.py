import sys

from decnet_audit.cli import main

sys.exit(main())
