"""On-premise speech: prompt synthesis (and, later, recognition)."""
