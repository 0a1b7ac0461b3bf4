"""Acting at an exact moment of a simulated modem in another process, through its control
interface (``smsgw simulate --control``), without polling.

A moment is where a kill -9 of the gateway can land, reached with the simulator's own controls:

- ``accepted``: after the k-th SUBMIT the network accepted;
- ``cmgs``: after the k-th ``AT+CMGS`` the modem received, wherever that exchange then is;
- ``prompt``: with the ``> `` held back, the modem waiting for a PDU (``POST /hold-prompt``);
- ``submitting``: with a PDU taken and its answer a second away (``POST /latency``);
- ``cmgl``: after the k-th ``AT+CMGL``: inbound parts or reports being read (a listing of
  the storage a ``+CMTI``/``+CDSI`` named, or a sweep).

Shared by the crash tests (tests/e2e/test_crash.py) and the chaos run (:mod:`bench.chaos`).
"""

from __future__ import annotations

from typing import Final

import aiohttp

MOMENTS: Final = ("accepted", "cmgs", "prompt", "submitting", "cmgl")
_COUNTED: Final = {"cmgs": "AT+CMGS", "cmgl": "AT+CMGL"}
_FLAGS: Final = {"prompt": "prompt_held", "submitting": "submitting"}
SUBMITTING_LATENCY: Final = 1.0  # seconds the answer to a PDU waits, for "submitting"


async def counts(sim: aiohttp.ClientSession) -> dict[str, int]:
    """What the modem has done so far: SUBMITs accepted, AT+CMGS and AT+CMGL received."""
    async with sim.get("/commands") as reply:
        commands: list[str] = await reply.json()
    async with sim.get("/submissions") as reply:
        accepted = len(await reply.json())
    found = {
        moment: sum(1 for command in commands if command.startswith(prefix))
        for moment, prefix in _COUNTED.items()
    }
    return {"accepted": accepted, **found}


async def prepare_moment(sim: aiohttp.ClientSession, moment: str) -> None:
    """Set the modem up, before the gateway starts, so that the moment comes."""
    if moment == "prompt":
        await (await sim.post("/hold-prompt")).read()
    elif moment == "submitting":
        await (await sim.post("/latency", json={"seconds": SUBMITTING_LATENCY})).read()


async def await_moment(sim: aiohttp.ClientSession, moment: str, target: int) -> None:
    """Return once the modem is at ``moment`` (the ``target``-th of its kind, for those that
    are counted); raise :class:`AssertionError` if it did not come within the control
    interface's wait (10 s)."""
    if moment == "accepted":
        async with sim.get("/submissions", params={"wait": str(target)}) as reply:
            accepted = await reply.json()
        assert len(accepted) >= target, f"only {len(accepted)} SUBMITs, not {target}"
    elif moment in _COUNTED:
        prefix = _COUNTED[moment]
        params = {"wait": prefix, "count": str(target)}
        async with sim.get("/commands", params=params) as reply:
            commands = await reply.json()
        seen = sum(1 for command in commands if command.startswith(prefix))
        assert seen >= target, f"only {seen} {prefix}, not {target}"
    else:
        flag = _FLAGS[moment]
        async with sim.get("/state", params={"until": flag}) as reply:
            state = await reply.json()
        assert state[flag], f"the modem never reached {flag}"
