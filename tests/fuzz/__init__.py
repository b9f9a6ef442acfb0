"""Fuzz tests (Hypothesis): no input from outside answers a 5xx or logs a traceback."""
