"""The HTTP API: the aiohttp application, its handlers, authentication, Twilio's JSON, the
OpenAPI document, the connection guard, TLS, and /healthz and /metrics."""
