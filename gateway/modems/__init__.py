"""The gateway's modems: each opened as its configuration says, kept connected, and checked."""
