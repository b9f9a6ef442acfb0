"""The pure IVR domain: menu flow, call state, events and actions; no I/O."""
