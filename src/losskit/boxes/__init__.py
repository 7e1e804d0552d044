"""Box regression: the IoU loss family (being written)."""

__all__: list[str] = []
