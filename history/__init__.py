"""The shared interaction history: customers, interactions, events, live call rows."""
