"""The call service: one orchestration of a call turn, shared by every entry point."""
