"""sandcell: shared protocol code, the typed Python client, and (as `sandcell.agent` and
`sandcell.executor`) the agent and the executor service."""
from sandcell import _aliases

_aliases.install()
