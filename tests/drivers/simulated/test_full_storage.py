"""A simulated modem's full storage: held by the network (the default, TS 23.040 §3.3) or lost
(``drop_when_full``, as on the emulator issue 17 measured), and a flood of status reports that
keeps coming while the host works (``flood_reports``, the ``/flood`` control)."""

from __future__ import annotations

from datetime import UTC, datetime

from drivers.at.transport import Link
from drivers.codec.pdu import fields
from drivers.simulated import SimulatedModem, SimulatedNetwork
from drivers.simulated.control import Controls, describe
from drivers.simulated.pdus import status_report_pdu
from tests.drivers.simulated.test_indexes_and_urcs import started as started_on
from tests.drivers.simulated.test_simulated import read_until
from tests.drivers.simulator_rig import HANDSET

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def report(reference: int) -> tuple[str, int]:
    recipient = fields.encode_address(HANDSET, "TP-RA")
    return status_report_pdu(
        "+15550000000", reference=reference, recipient=recipient, scts=T0, discharge=T0, status=0
    )


async def started() -> tuple[SimulatedModem, SimulatedNetwork, Link]:
    """A generic simulated modem storing status reports in SR (AT+CNMI ds=2)."""
    sim, network, host = await started_on()
    await host.write(b"AT+CNMI=2,1,0,2,0\r")
    await read_until(host, b"OK\r\n")
    return sim, network, host


async def test_a_full_report_storage_holds_reports_by_default_and_drops_them_when_told() -> None:
    sim, _, host = await started()
    sim.storages["SR"].capacity = 2
    for reference in range(3):
        sim.receive_report(*report(reference))
    assert (len(sim.storages["SR"].slots), sim.dropped) == (2, 0)  # the third is held
    await host.write(b'AT+CPMS="SR";+CMGD=1\r')
    await read_until(host, b'+CDSI: "SR",1\r\n')  # the held one, stored once there is room
    sim.drop_when_full = True
    sim.receive_report(*report(3))
    sim.receive_report(*report(4))
    assert (len(sim.storages["SR"].slots), sim.dropped) == (2, 2)
    assert describe(sim)["dropped"] == 2
    await host.close()


async def test_a_flood_arrives_at_once_then_with_each_command() -> None:
    sim, network, host = await started()
    controls = Controls(sim, network, None)
    answer = await controls.flood({"to": HANDSET, "count": 5, "at_once": 2, "per_command": 2})
    assert answer == {"arriving": 5}
    await read_until(host, b'+CDSI: "SR",2\r\n')
    assert len(sim.storages["SR"].slots) == 2
    await host.write(b"AT\r")
    await read_until(host, b'+CDSI: "SR",4\r\n')
    await host.write(b"AT\r")
    await read_until(host, b'+CDSI: "SR",5\r\n')
    await host.write(b"AT\r")
    await read_until(host, b"OK\r\n")
    assert len(sim.storages["SR"].slots) == 5  # no more to come
    await controls.when_full({"drop": True})
    assert sim.drop_when_full
    await host.close()
