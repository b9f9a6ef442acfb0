"""Settings and menus: what an operator configures and what an admin writes."""
