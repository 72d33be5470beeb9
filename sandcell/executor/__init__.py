"""Generated protocol code for the `sandcell.executor` proto package."""
