"""`python -m agent run ...` is the same as the `agent` console script."""
import sys

from agent.cli import main

sys.exit(main())
