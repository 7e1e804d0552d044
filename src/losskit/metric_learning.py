"""metric_learning losses (being written)."""

__all__: list[str] = []
