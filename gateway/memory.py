"""Giving back to the kernel the heap the process used and freed.

glibc keeps freed memory in its arenas for reuse, so after start-up (imports, compiling,
migrations) the resident set stays at the peak: about 1.5 MB that an idle gateway on a
Raspberry Pi never uses again. The gateway calls :func:`give_back_freed_memory` once started.
"""

from __future__ import annotations

import contextlib
import sys


def give_back_freed_memory() -> None:
    """``malloc_trim(0)`` where the C library is glibc; elsewhere (musl, macOS) nothing."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes  # noqa: PLC0415 - only where it is used

    with contextlib.suppress(OSError, AttributeError):  # not glibc: no malloc_trim
        ctypes.CDLL(None).malloc_trim(0)
