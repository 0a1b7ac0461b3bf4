"""A message out: accepted (Twilio's checks, the PDUs, the commit), routed for Messaging
Services, scheduled, and sent by one dispatcher worker per modem."""
