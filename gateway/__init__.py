"""The smsgw daemon: configuration, store, dispatcher, webhooks, HTTP API and command line."""
