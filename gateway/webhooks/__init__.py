"""Webhooks: status callbacks and inbound-message requests, signed like Twilio's, delivered from
the durable queue, and the TwiML replies they are answered with."""
