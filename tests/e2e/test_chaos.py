"""The chaos run, short (:mod:`bench.chaos`; ``python -m bench.chaos --minutes N`` is the long
one): the gateway, its own process, against simulated modems in processes of their own on a pty
and over TCP, killed at five moments of a seeded plan (the AT+CMGS prompt included), its disk
filled and freed where a tmpfs can be mounted, and faults put on the lines; then every create
answered 201 is stored and sent, no part went twice but where a kill, a drop or a full disk
caught it on the air, every inbound message was made once, and every webhook is confirmed."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from bench.chaos import chaos, report
from bench.simulator_control import MOMENTS

# Five rounds that reach every moment, both modems, line drops and a full disk in each.
SEED: Final = 104


async def test_chaos(tmp_path: Path) -> None:
    run = await chaos(SEED, rounds=5, directory=tmp_path)
    print(report(run))  # shown when the test fails
    assert run.problems == [], report(run)
    assert run.missed == [], report(run)  # each kill landed at its moment
    assert {plan.moment for plan in run.rounds} == set(MOMENTS)
    assert {plan.modem for plan in run.rounds} == {"pty", "tcp"}
    assert len(run.created) >= 40 and len(run.injected) >= 20  # eight creates, four texts a round
    if run.disk_possible:  # root, as in CI: the full disk was really met
        assert sum(plan.refused_creates for plan in run.rounds) > 0
