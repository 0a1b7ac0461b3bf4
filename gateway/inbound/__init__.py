"""A message in, and a delivery report: every PDU a modem receives, read, deduplicated,
reassembled and committed."""
