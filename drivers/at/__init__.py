"""The AT stack: byte links (``transport``), the sans-IO parser (``parse``), readers of the
replies the driver relies on (``replies``) and one command in flight at a time (``channel``)."""
