"""The store's contract: what the flows rely on the store for, asserted through the store's
own methods only, on every engine (``conftest.py``)."""
