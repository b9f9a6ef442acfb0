"""The offline simulator: plays Twilio's part against a running voicedesk."""
