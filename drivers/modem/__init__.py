"""The modem driver over the AT stack: :class:`~drivers.modem.driver.GsmModem`, its events,
the vendor profiles it reads (``quirks``) and port detection (``detect``)."""
