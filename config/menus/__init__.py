"""Menus shipped with voicedesk."""
