"""sandcell: shared protocol code and the typed Python client."""
