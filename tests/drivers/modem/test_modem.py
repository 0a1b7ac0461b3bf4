"""The GSM modem driver against simulated modems: initialisation, sending, receiving, faults."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from drivers.at.channel import AtChannel, Timeouts
from drivers.at.transport import Link, pipe, split_every
from drivers.codec import gsm7
from drivers.codec.pdu import Deliver, Delivery, StatusReport
from drivers.errors import AtTimeout, CmsError, ModemLost, ModemSetupError, SendError
from drivers.modem.driver import GsmModem
from drivers.modem.events import (
    LinkLost,
    MessageRouted,
    MessageStored,
    RegistrationChanged,
    ReportRouted,
    ReportStored,
)
from drivers.modem.info import ModemSettings
from drivers.simulated import PERSONALITIES, Fate, HandsetRule, SimulatedModem
from drivers.simulated.commands import HANDLERS
from drivers.simulated.state import CommandFailed, Slot
from tests.drivers.simulator_rig import (
    SETTINGS,
    WAIT,
    Events,
    Rig,
    decoded,
    parts,
    receive_all,
    rig,
)

ALICE = "+15550001111"
BOB = "+15550002222"


def parts_of(
    text: str, to: str = BOB, report: bool = False, ref16: bool = False
) -> list[tuple[str, int]]:
    return parts(text, to, report, ref16=ref16, reference=7)


@pytest.mark.parametrize("name", sorted(PERSONALITIES))
async def test_initialise_every_personality(name: str) -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ALICE, name)
        info = modem.info
        assert info is not None
        assert info.identity.manufacturer == sim.personality.manufacturer
        assert info.identity.imei == sim.imei
        assert info.identity.numbers == (ALICE,)
        assert info.smsc == sim.smsc
        assert info.registration is not None and info.registration.registered
        assert sim.cmgf == 0  # PDU mode
        assert not sim.echo or sim.personality.echo_locked
        assert sim.cnmi == info.cnmi
        expected_cnmi = {
            "quectel": (2, 1, 0, 2, 0),  # refuses ds=1: reports stored (+CDSI)
            "zte": (2, 1, 0, 2, 0),
            "stored": (2, 1, 0, 2, 0),  # ds=1 not offered
            "routed": (2, 2, 0, 1, 0),  # only routed notifications offered
        }.get(name, (2, 1, 0, 1, 0))  # reports routed (+CDS), messages stored (+CMTI)
        assert info.cnmi == expected_cnmi
        # Routed codes wait for AT+CNMA (AT+CSMS=1) wherever they are taken: nothing is
        # acknowledged before it is committed (TS 27.005 §3.4.4).
        routes_any = info.cnmi[1] == 2 or info.cnmi[3] == 1
        assert info.acknowledged == (sim.csms == 1) == routes_any


@pytest.mark.parametrize("name", sorted(PERSONALITIES))
async def test_send_receive_and_report_through_every_personality(name: str) -> None:
    async with rig() as setup:
        _, modem = await setup.add(ALICE, name)
        _, bob = await setup.add(BOB)
        routed = modem.info is not None and modem.info.cnmi[1] == 2
        stored_reports = modem.info is not None and modem.info.cnmi[3] == 2
        events = Events(modem, MessageStored, MessageRouted, ReportStored, ReportRouted)
        references = await modem.send_parts(parts_of("ping " * 40, report=True))
        for reference in references:
            if stored_reports:
                stored = await events.next(ReportStored)
                entry = await modem.read_message(stored.storage, stored.index)
                assert entry is not None
                report = decoded(entry.pdu, entry.length)
                await modem.delete_message(stored.storage, stored.index)
            else:
                route = await events.next(ReportRouted)
                report = decoded(route.pdu, route.length)
                assert route.needs_ack
                await modem.acknowledge()  # or the modem holds the next +CDS back
            assert isinstance(report, StatusReport)
            assert (report.message_reference, report.delivery) == (reference, Delivery.DELIVERED)
        await bob.send_parts(parts_of("pong", ALICE))
        if routed:
            message = await events.next(MessageRouted)
            deliver = decoded(message.pdu, message.length)
            await modem.acknowledge()
        else:
            (deliver,) = await receive_all(modem, events, 1)
        assert isinstance(deliver, Deliver) and deliver.text == "pong"


async def test_huawei_status_lines_are_switched_off() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ALICE, "huawei")
        assert modem.profile.name == "huawei"
        assert "AT^CURC=0" in sim.received_commands
        assert not sim.caret_reports


async def test_qualcomm_modems_are_never_asked_for_ds1() -> None:
    async with rig() as setup:
        sim, _ = await setup.add(ALICE, "zte")
        assert not any(
            command.endswith(",1,0") for command in sim.received_commands if "CNMI=" in command
        )


async def test_wavecom_cpin_without_ok() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ALICE, "wavecom")
        assert modem.profile.cpin_without_ok
        assert modem.info is not None
        # The modem keeps working after the command that never got its OK.
        assert (await modem.signal())[0] == sim.rssi


async def test_sim_busy_at_start_is_retried() -> None:
    async with rig() as setup:
        sim, _ = await setup.add(ALICE, initialize=False, settings=SETTINGS)
        sim.sim_busy_answers = 3
        await asyncio.wait_for(setup.modems[0].initialize(), WAIT)
        assert sim.received_commands.count("AT+CPIN?") == 4


async def test_pin_from_the_config_unlocks_the_sim() -> None:
    async with rig() as setup:
        settings = ModemSettings(pin="4321", sim_busy_delay=0)
        sim, _ = await setup.add(ALICE, settings=settings, pin="4321")
        assert sim.pin_entered
        assert 'AT+CPIN="4321"' in sim.received_commands


async def test_missing_or_wrong_pin_is_a_clear_setup_error() -> None:
    async with rig() as setup:
        _, modem = await setup.add(ALICE, initialize=False, pin="4321")
        with pytest.raises(ModemSetupError, match="needs a PIN"):
            await modem.initialize()
        sim2, wrong = await setup.add(
            BOB, initialize=False, pin="4321", settings=ModemSettings(pin="0000", sim_busy_delay=0)
        )
        with pytest.raises(ModemSetupError, match="did not accept the configured PIN"):
            await wrong.initialize()
        # Never a second attempt: three wrong PINs would lock the SIM.
        assert sum(command.startswith("AT+CPIN=") for command in sim2.received_commands) == 1


@pytest.mark.parametrize(
    ("text", "ref16"),
    [
        ("Hello Bob!", False),
        ("A longer message, " * 20, False),
        ("Привет, Боб! 😀" * 3, False),
        ("Long UCS-2 with emoji at the edges 😱" * 8, True),
        ("€uro [brackets] {braces} " * 9, False),
    ],
)
async def test_two_modems_text_each_other(text: str, ref16: bool) -> None:
    async with rig() as setup:
        _, alice = await setup.add(ALICE)
        _, bob = await setup.add(BOB, "huawei")
        inbox = {ALICE: Events(alice, MessageStored), BOB: Events(bob, MessageStored)}
        for sender, recipient, recipient_number in ((alice, bob, BOB), (bob, alice, ALICE)):
            parts = parts_of(text, recipient_number, ref16=ref16)
            references = await asyncio.wait_for(sender.send_parts(parts), WAIT)
            assert len(references) == len(parts)
            assert len(set(references)) == len(references)
            received = await receive_all(recipient, inbox[recipient_number], len(parts))
            assert all(m.originator.number == (ALICE if sender is alice else BOB) for m in received)
            if len(parts) > 1:
                concats = [m.concatenation for m in received]
                assert all(
                    c is not None and c.total == len(parts) and c.ref16 == ref16 for c in concats
                )
                received.sort(key=lambda m: m.concatenation.sequence if m.concatenation else 0)
            assert gsm7.join_texts(m.text or "" for m in received) == text


async def test_status_reports_stored_in_sr() -> None:
    async with rig() as setup:
        _, alice = await setup.add(ALICE, "stored")
        await setup.add(BOB)
        events = Events(alice, ReportStored)
        references = await alice.send_parts(parts_of("x" * 200, report=True))
        seen = []
        for _ in references:
            stored = await events.next(ReportStored)
            assert stored.storage == "SR"
            entry = await alice.read_message(stored.storage, stored.index)
            assert entry is not None
            report = decoded(entry.pdu, entry.length)
            assert isinstance(report, StatusReport)
            assert report.delivery is Delivery.DELIVERED
            assert report.recipient.number == BOB
            seen.append(report.message_reference)
        assert seen == references


async def test_quectel_stores_reports_among_messages() -> None:
    async with rig() as setup:
        _, alice = await setup.add(ALICE, "quectel")
        await setup.add(BOB)
        events = Events(alice, ReportStored)
        (reference,) = await alice.send_parts(parts_of("hi", report=True))
        stored = await events.next(ReportStored)
        assert stored.storage == "SM"  # +CDSI: "SM" (asterisk-chan-quectel#75)
        entry = await alice.read_message("SM", stored.index)
        assert entry is not None
        report = decoded(entry.pdu, entry.length)
        assert isinstance(report, StatusReport) and report.message_reference == reference


async def test_routed_reports_and_messages_are_acknowledged() -> None:
    async with rig() as setup:
        sim, alice = await setup.add(ALICE, "routed")
        _, bob = await setup.add(BOB)
        events = Events(alice, MessageRouted, ReportRouted)
        (reference,) = await alice.send_parts(parts_of("ping", report=True))
        routed = await events.next(ReportRouted)
        report = decoded(routed.pdu, routed.length)
        assert isinstance(report, StatusReport) and report.message_reference == reference
        # AT+CSMS=1 is in force on this modem: the subscriber acknowledges once it has
        # committed what came; the driver does not do it behind its back.
        assert routed.needs_ack and "AT+CNMA" not in sim.received_commands
        await alice.acknowledge()
        await bob.send_parts(parts_of("pong", ALICE))
        message = await events.next(MessageRouted)
        deliver = decoded(message.pdu, message.length)
        assert isinstance(deliver, Deliver) and deliver.text == "pong"
        assert message.needs_ack
        await alice.acknowledge()
        assert sim.received_commands.count("AT+CNMA") == 2


async def test_routed_codes_nobody_listens_for_are_acknowledged_at_once() -> None:
    async with rig() as setup:
        sim, alice = await setup.add(ALICE, "routed")
        _, bob = await setup.add(BOB)
        events = Events(alice, ReportRouted)  # nobody subscribes to MessageRouted
        await bob.send_parts(parts_of("unheard", ALICE))
        await alice.send_parts(parts_of("ping", report=True))
        # The +CMT came before the report: had it not been acknowledged, the modem would hold
        # the +CDS back until it was.
        routed = await events.next(ReportRouted)
        assert routed.needs_ack
        assert sim.received_commands.count("AT+CNMA") == 1


async def _until(condition: object) -> None:
    while not condition():  # type: ignore[operator]
        await asyncio.sleep(0)


async def test_cms_error_names_the_part_that_failed() -> None:
    async with rig() as setup:
        sim, alice = await setup.add(ALICE)
        await setup.add(BOB)
        sim.fail_sends(38)  # network out of order
        with pytest.raises(SendError) as caught:
            await alice.send_parts(parts_of("one"))
        assert (caught.value.part, caught.value.cms_code, caught.value.accepted) == (0, 38, ())
        assert isinstance(caught.value.cause, CmsError)

        accepted: list[tuple[int, int]] = []

        async def after(index: int, reference: int) -> None:
            accepted.append((index, reference))
            sim.fail_sends(21)  # the second part is refused

        with pytest.raises(SendError) as caught:
            await alice.send_parts(parts_of("y" * 400), after)
        assert caught.value.part == 1
        assert caught.value.cms_code == 21
        assert caught.value.accepted == (accepted[0][1],)


async def test_network_rejection_is_a_cms_error() -> None:
    async with rig() as setup:
        _, alice = await setup.add(ALICE)
        setup.network.set_rule("+19995550000", HandsetRule(Fate.REJECTED, cms_error=1))
        with pytest.raises(SendError) as caught:
            await alice.send_parts(parts_of("hi", "+19995550000"))
        assert caught.value.cms_code == 1


async def test_line_dropped_during_cmgs_is_modem_lost() -> None:
    async with rig() as setup:
        sim, alice = await setup.add(ALICE)
        events = Events(alice, LinkLost)
        unplugging: list[asyncio.Task[None]] = []

        def pull_the_plug(line: str) -> None:
            if line.startswith("AT+CMGS"):
                unplugging.append(asyncio.get_running_loop().create_task(sim.drop_line()))

        sim.command_observers.append(pull_the_plug)
        with pytest.raises(ModemLost):
            await asyncio.wait_for(alice.send_parts(parts_of("never")), WAIT)
        assert (await events.next(LinkLost)).reason
        with pytest.raises(ModemLost):
            await alice.signal()
        await asyncio.gather(*unplugging)


async def test_line_dropped_while_the_modem_sends_is_modem_lost() -> None:
    async with rig() as setup:
        sim, alice = await setup.add(ALICE)
        await setup.add(BOB)
        sim.faults.latency = 60  # the send takes long enough for the plug to be pulled
        task = asyncio.ensure_future(alice.send_parts(parts_of("slow")))
        await _until(lambda: any(c.startswith("AT+CMGS") for c in sim.received_commands))
        await sim.drop_line()
        with pytest.raises(ModemLost):
            await asyncio.wait_for(task, WAIT)


async def test_hung_modem_times_out_and_recovers() -> None:
    async with rig() as setup:
        fast = Timeouts(default=0.05, prompt=0.05, submit=0.05)
        sim, alice = await setup.add(ALICE, timeouts=fast)
        await setup.add(BOB)
        sim.hang()
        with pytest.raises(AtTimeout):
            await alice.signal()
        with pytest.raises(SendError) as caught:
            await alice.send_parts(parts_of("hello"))
        assert isinstance(caught.value.cause, AtTimeout)
        sim.resume()
        await alice.channel.command("AT")  # a wake-up; the parser lost nothing
        assert await alice.send_parts(parts_of("hello"))


async def test_garbage_on_the_line_does_not_break_the_next_command() -> None:
    async with rig() as setup:
        sim, alice = await setup.add(ALICE)
        await sim.emit_garbage()
        await sim.emit_garbage(b"\x00\xff\xfe")
        assert (await alice.signal())[0] == sim.rssi
        assert alice.channel.garbage_bytes >= 19


async def test_text_mode_syntax_and_wrong_length_get_real_errors() -> None:
    async with rig() as setup:
        _, alice = await setup.add(ALICE)
        with pytest.raises(CmsError) as caught:
            await alice.channel.command('AT+CMGS="+15550002222"')
        assert caught.value.code == 305
        pdu, length = parts_of("x")[0]
        with pytest.raises(CmsError) as caught:
            await alice.channel.submit(f"AT+CMGS={length + 1}", pdu)
        assert caught.value.code == 304  # <length> must count the TPDU without the SCA


async def test_storage_list_read_delete_and_full_storage() -> None:
    async with rig() as setup:
        sim, alice = await setup.add(ALICE)
        _, bob = await setup.add(BOB)
        events = Events(alice, MessageStored)
        storage = alice.info.storage if alice.info else "ME"
        sim.fill_storage(storage)
        used, total = await alice.storage_usage(storage)
        assert used == total
        await bob.send_parts(parts_of("queued while full", ALICE))
        assert events.pending(MessageStored) == 0  # the network holds it: memory exceeded
        listed = await alice.list_messages(storage)
        assert len(listed) == total
        await alice.delete_message(storage, listed[0].index)
        stored = await events.next(MessageStored)
        entry = await alice.read_message(stored.storage, stored.index)
        assert entry is not None
        message = decoded(entry.pdu, entry.length)
        assert isinstance(message, Deliver) and message.text == "queued while full"
        assert await alice.read_message(storage, total + 5) is None


async def test_registration_changes_are_events() -> None:
    async with rig() as setup:
        sim, alice = await setup.add(ALICE)
        events = Events(alice, RegistrationChanged)
        sim.set_registration(0)
        # Both +CREG and +CEREG reporting were switched on: one event from each.
        lost = [await events.next(RegistrationChanged) for _ in range(2)]
        assert {event.source for event in lost} == {"+CREG", "+CEREG"}
        assert not any(event.registration.registered for event in lost)
        assert not (await alice.registration()).registered
        sim.set_registration(5)
        back = [await events.next(RegistrationChanged) for _ in range(2)]
        assert all(event.registration.registered for event in back)
        assert (await alice.registration()).registered


async def unread_sms_and_a_report(
    setup: Rig, alice: GsmModem
) -> tuple[MessageStored, ReportStored]:
    """An SMS from bob that alice keeps unread (in ME), then a status report for alice (in SR)."""
    _, bob = await setup.add(BOB)
    events = Events(alice, MessageStored, ReportStored)
    setup.network.set_rule("*", HandsetRule(Fate.DELIVERED))
    await bob.send_parts(parts_of("unread, and must stay", ALICE))  # into alice's ME
    message = await events.next(MessageStored)
    await alice.send_parts(parts_of("a report for alice", "+447700900123", report=True))
    return message, await events.next(ReportStored)


async def test_storages_of_concurrent_commands_never_mix() -> None:
    """A health check reading ME's usage while a status report is read and deleted in SR: each
    command on the storage it asked for (once, AT+CMGD=0 went to ME and deleted an unread SMS)."""
    async with rig() as setup:
        sim, alice = await setup.add(ALICE, "stored")
        message, report = await unread_sms_and_a_report(setup, alice)
        assert (report.storage, message.storage) == ("SR", "ME")
        assert await alice.read_message(report.storage, report.index) is not None
        # SR is selected now; the usage check selects ME while the delete is on its way.
        await asyncio.gather(
            alice.storage_usage(message.storage),
            alice.delete_message(report.storage, report.index),
            alice.storage_usage(message.storage),
        )
        assert await alice.read_message(message.storage, message.index) is not None
        assert await alice.read_message(report.storage, report.index) is None
        assert report.index not in sim.storages["SR"].slots


async def test_initialising_again_never_moves_a_delete_to_another_storage() -> None:
    """The modem initialised again on the same link (the first rung of recovery) while a
    status report is deleted in SR: the set-up's own AT+CPMS (ME) must not come between the
    delete's AT+CPMS="SR" and its AT+CMGD, which would delete the unread SMS in ME instead."""
    async with rig() as setup:
        sim, alice = await setup.add(ALICE, "stored")
        message, report = await unread_sms_and_a_report(setup, alice)
        assert (report.storage, message.storage) == ("SR", "ME")
        assert report.index == message.index  # a delete in the wrong one hits the message
        deleting: list[asyncio.Task[None]] = []

        def delete_meanwhile(command: str) -> None:
            # The set-up asks AT+CPMS=? just before it selects its storage.
            if command == "AT+CPMS=?" and not deleting:
                delete = alice.delete_message(report.storage, report.index)
                deleting.append(asyncio.get_running_loop().create_task(delete))

        sim.command_observers.append(delete_meanwhile)
        await asyncio.wait_for(alice.initialize(), WAIT)
        await asyncio.wait_for(deleting[0], WAIT)
        assert message.index in sim.storages["ME"].slots
        assert report.index not in sim.storages["SR"].slots
        assert await alice.read_message(message.storage, message.index) is not None


# --- a modem left mid-command by the host before -----------------------------------------------


def reopened(setup: Rig, sim: SimulatedModem, settings: ModemSettings = SETTINGS) -> GsmModem:
    """The port of ``sim`` opened again, by a new host that knows nothing of the last one."""
    host, device = pipe()
    sim.start(device)
    modem = GsmModem(AtChannel(host), settings)
    setup.modems.append(modem)
    return modem


async def until_state(sim: SimulatedModem, reached: str) -> None:
    """Return once ``sim`` reports ``reached`` (data_mode, prompt_held, submitting) true."""
    changed = asyncio.Event()
    sim.state_observers.append(lambda: changed.set() if getattr(sim, reached) else None)
    await asyncio.wait_for(changed.wait(), WAIT)


async def died_in(sim: SimulatedModem, host: GsmModem, moment: str) -> None:
    """``host`` sends a message and dies at ``moment`` of it: with the prompt held
    (``prompt_held``) or with the PDU taken and its answer on the way (``submitting``)."""
    sending = asyncio.ensure_future(host.send_parts(parts_of("from the host before")))
    await until_state(sim, moment)
    await host.close()
    with pytest.raises(ModemLost):
        await sending


def assert_identified(modem: GsmModem, sim: SimulatedModem) -> None:
    """Every reply taken for the command it answers: one stale line would shift them all."""
    assert modem.info is not None
    identity = modem.info.identity
    personality = sim.personality
    assert (identity.manufacturer, identity.model) == (personality.manufacturer, personality.model)
    assert (identity.revision, identity.imei, identity.imsi) == (
        personality.revision,
        sim.imei,
        sim.imsi,
    )
    assert modem.info.smsc == sim.smsc


@pytest.mark.parametrize("name", ["generic", "echo"])
@pytest.mark.parametrize("abort_error", [None, 350])  # ESC acknowledged with OK or +CMS ERROR
@pytest.mark.parametrize("in_prompt", [True, False])
async def test_initialise_a_modem_the_host_before_left(
    name: str, abort_error: int | None, in_prompt: bool
) -> None:
    async with rig() as setup:
        sim, before = await setup.add(ALICE, name)
        sim.personality = replace(sim.personality, abort_error=abort_error)
        if in_prompt:
            sim.faults.hold_prompt = True  # the host dies before the "> " comes
            await died_in(sim, before, "prompt_held")
            assert sim.data_mode  # the modem still waits for the PDU
        else:
            await before.close()
        after = reopened(setup, sim)
        await asyncio.wait_for(after.initialize(), WAIT)
        assert not sim.data_mode
        assert_identified(after, sim)
        assert await after.send_parts(parts_of("after the restart")) == [0]
        assert [s.submit.text for s in setup.network.submissions] == ["after the restart"]
        sends = [c for c in sim.received_commands if c.startswith("AT+CMGS=")]
        assert len(sends) == int(in_prompt) + 1


async def test_a_late_answer_from_before_is_not_taken_for_a_reply() -> None:
    """The host died while the modem sent its PDU: the +CMGS: <mr> and OK come while the next
    host sets the modem up, and answer none of its commands."""
    async with rig() as setup:
        sim, before = await setup.add(ALICE)
        sim.faults.latency = 0.3  # the answer comes while the next host probes
        await died_in(sim, before, "submitting")
        settings = replace(SETTINGS, wake_timeout=WAIT, escape_pause=0.05)
        after = reopened(setup, sim, settings)
        await asyncio.wait_for(after.initialize(), WAIT)
        assert_identified(after, sim)
        assert [s.submit.text for s in setup.network.submissions] == ["from the host before"]
        sim.faults.latency = 0
        assert await after.send_parts(parts_of("next")) == [1]


class CountingLink:
    """A link that counts the probes written through it (the pipe end it wraps is real)."""

    def __init__(self, link: Link, probes: int) -> None:
        self.name = link.name
        self._link = link
        self.written = asyncio.Event()
        self._left = probes

    async def read(self) -> bytes:
        return await self._link.read()

    async def write(self, data: bytes) -> None:
        await self._link.write(data)
        self._left -= data.count(b"ATS3?")
        if self._left <= 0:
            self.written.set()

    async def close(self) -> None:
        await self._link.close()


async def test_answers_to_unanswered_probes_that_come_at_once_are_not_taken_for_the_next() -> None:
    """A modem busy with something else keeps what the host sends and answers it all at once:
    an answer after a probe that went unanswered may be that probe's, so the next confirms it."""
    async with rig() as setup:
        sim = SimulatedModem([ALICE])
        setup.network.attach(sim, ALICE)
        host, device = pipe()
        device.manipulator, device.delay_chunks = split_every(1), 1  # a slow line: byte by byte
        sim.start(device)
        link = CountingLink(host, probes=2)
        settings = replace(SETTINGS, wake_timeout=0.1, wake_attempts=6, escape_pause=0.05)
        modem = GsmModem(AtChannel(link), settings)
        setup.modems.append(modem)
        sim.stall()
        initialising = asyncio.ensure_future(modem.initialize())
        await asyncio.wait_for(link.written.wait(), WAIT)  # the first went unanswered
        sim.resume()  # both answered at once, while the second is in flight
        await asyncio.wait_for(initialising, WAIT)
        assert_identified(modem, sim)
        assert (await modem.signal())[0] == sim.rssi


async def test_a_soft_reset_is_asked_in_command_state() -> None:
    """The last rung of the gateway's ladder: AT+CFUN=1,1 reaches a modem left in the prompt
    as a command, not as PDU digits."""
    async with rig() as setup:
        sim, before = await setup.add(ALICE)
        sim.faults.hold_prompt = True
        await died_in(sim, before, "prompt_held")
        after = reopened(setup, sim)
        await asyncio.wait_for(after.soft_reset(WAIT), WAIT)
        assert sim.received_commands[-1] == "AT+CFUN=1,1"
        assert not sim.data_mode


async def test_a_modem_that_refuses_the_probe_is_taken_at_its_ok_to_at() -> None:
    """V.250 makes S3 mandatory; a modem that refuses ATS3? all the same, twice in a row and
    at once, is in command state: its OK to AT is taken."""
    host, device = pipe()
    modem = GsmModem(AtChannel(host), replace(SETTINGS, escape_pause=0.0))

    async def refusing() -> None:  # the modem's end: exact bytes expected, exact bytes answered
        for expected, answer in (
            (b"\x1bATS3?\r", b"\r\nERROR\r\n"),
            (b"\x1bATS3?\r", b"\r\nERROR\r\n"),
            (b"AT\r", b"\r\nOK\r\n"),
        ):
            received = b""
            while len(received) < len(expected):
                received += await device.read()
            assert received == expected
            await device.write(answer)

    script = asyncio.ensure_future(refusing())
    try:
        await asyncio.wait_for(modem.command_state(), WAIT)
        await asyncio.wait_for(script, WAIT)
    finally:
        script.cancel()
        await modem.close()


async def test_the_use_of_every_storage_is_read_with_as_few_selections_as_can_be() -> None:
    """``AT+CPMS?`` tells the memories selected (TS 27.005 §3.2.2): each other storage is
    selected as <mem1> and asked once, and the one new messages go to comes with the first
    answer, as <mem3>."""
    async with rig() as setup:
        sim, modem = await setup.add(ALICE)
        info = modem.info
        assert info is not None and len(info.storages) == 3
        sim.storages["SR"].store(Slot(0, "00", 0))
        before = len(sim.received_commands)
        usages = await modem.storage_usages()
        asked = sim.received_commands[before:]
        assert usages == {
            name: (1 if name == "SR" else 0, storage.capacity)
            for name, storage in sim.storages.items()
        }
        assert asked.count("AT+CPMS?") == len(info.storages) - 1, asked


async def test_a_storage_that_cannot_be_read_leaves_the_others_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ALICE)

        def refused(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
            if '"SR"' in argument:
                raise CommandFailed("CMS", 302)  # operation not allowed
            return cpms(modem, name, argument, original)

        cpms = HANDLERS["+CPMS"]
        monkeypatch.setitem(HANDLERS, "+CPMS", refused)
        usages = await modem.storage_usages()
        assert set(usages) == set(sim.storages) - {"SR"}
