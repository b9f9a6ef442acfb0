"""Everything Twilio: signatures, webhook forms, TwiML, and the offline simulator."""
