"""Escalation to chat: sessions carrying the call's context, customer links, agents, texts."""
