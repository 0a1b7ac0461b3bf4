"""The modem side of smsgw: PDU codec, AT channel, modem driver and simulated modem.

Nothing in this package imports :mod:`gateway`. The codec modules (``gsm7``,
``smart_encoding``, ``segmentation`` and ``pdu``) are pure: no I/O, no asyncio.
"""
