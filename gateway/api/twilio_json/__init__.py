"""Twilio's JSON, key for key: one module per resource (:mod:`.messages` with the Media list,
:mod:`.numbers`, :mod:`.applications`, :mod:`.feedback`), the one list envelope every list
shares (:mod:`.envelope`), and dates as Twilio writes them (:mod:`.dates`).

Pure: no I/O, nothing of aiohttp.
"""
