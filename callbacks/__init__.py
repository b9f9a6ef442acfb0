"""Callbacks: requests dialled exactly once across instances, with retries inside business hours.

The ``callbacks`` table is the truth (see DESIGN.md): `claim` takes due rows atomically, `dialer`
dials them through the Twilio REST wrapper and stores the CallSid at once, `policy` decides
retries, and `timer` (APScheduler 3, in-memory) only says when to look.
"""
