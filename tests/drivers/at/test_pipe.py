"""The in-memory pipe the driver tests and the simulated modems run over."""

from __future__ import annotations

import traceback

import pytest

from drivers.at.transport import pipe
from drivers.errors import ModemLost


async def test_a_failed_end_raises_an_error_of_its_own_each_time() -> None:
    host, _ = pipe()
    host.fail("USB device unplugged")
    reads = []
    for _ in range(3):
        with pytest.raises(ModemLost) as caught:
            await host.read()
        reads.append(caught.value)
    with pytest.raises(ModemLost) as caught:
        await host.write(b"AT\r")
    errors = [*reads, caught.value]
    assert len({id(error) for error in errors}) == len(errors)  # none raised twice
    assert {str(error) for error in errors} == {"host: USB device unplugged"}
    # Each traceback is its own raise's: a shared instance gathers every raise's frames.
    depths = [len(traceback.extract_tb(error.__traceback__)) for error in reads]
    assert depths == [depths[0]] * len(reads)
