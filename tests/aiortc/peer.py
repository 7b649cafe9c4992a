#!/usr/bin/env python3
"""An aiortc ORTC peer (ICE + DTLS + SCTP + data channels) driven by a controller over
TCP with newline-delimited JSON. The protocol is specified in PROTOCOL.md next to this
file; the Rust interop tests are written against that file, so keep the two in step.

Usage: peer.py --connect HOST:PORT --ice-role controlling|controlled [--name NAME] ...
Runs under the venv made by scripts/install-aiortc.
"""

import argparse
import asyncio
import base64
import hashlib
import json
import logging
import sys
import time
import traceback
from dataclasses import asdict
from importlib.metadata import version
from typing import Optional, Union

import aioice.ice
from aiortc import (
    RTCCertificate,
    RTCDataChannel,
    RTCDataChannelParameters,
    RTCDtlsFingerprint,
    RTCDtlsParameters,
    RTCDtlsTransport,
    RTCIceCandidate,
    RTCIceGatherer,
    RTCIceParameters,
    RTCIceTransport,
    RTCSctpCapabilities,
    RTCSctpTransport,
)
from OpenSSL import SSL

from bulkdata import Stream

log = logging.getLogger("peer")

# Bulk sends stop queueing above HIGH bytes and resume once aiortc has drained the
# channel to LOW, so a 256 MiB transfer never holds more than about HIGH in memory.
BULK_HIGH_WATER = 1 << 20
BULK_LOW_WATER = 256 << 10

# Control lines carry base64 messages of a MiB and more; asyncio's default is 64 KiB.
CONTROL_LINE_LIMIT = 64 << 20

# get_cipher_name() gives OpenSSL's names; the Rust side speaks IANA names. Only the
# suites aiortc's cipher list allows (plus the DTLS 1.3 ones, already IANA-named).
IANA_CIPHER_NAMES = {
    "ECDHE-ECDSA-AES128-GCM-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "ECDHE-ECDSA-CHACHA20-POLY1305": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "ECDHE-ECDSA-AES128-SHA": "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "ECDHE-ECDSA-AES256-SHA": "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
}


class CommandError(Exception):
    """A command the peer cannot carry out; reported, never fatal."""


def bind_ice_to(addresses: list[str]) -> None:
    # aioice gathers host candidates on every interface except 127.0.0.1 and has no
    # option to choose them, so its address lookup is replaced: the peer then binds
    # one UDP socket per given address and offers exactly those host candidates.
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: list(addresses)


def pick(obj: dict, key: str, default=..., kind=None):
    if key not in obj or (obj[key] is None and default is not ...):
        if default is ...:
            raise CommandError(f"missing field {key!r}")
        return default
    value = obj[key]
    # JSON true/false must not pass for numbers (bool is an int in Python).
    if kind is not None and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
        raise CommandError(f"field {key!r} has the wrong type: {value!r}")
    return value


class Expect:
    """Counts and hashes binary messages of a bulk transfer instead of reporting them."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.got = 0
        self.digest = hashlib.sha256()
        self.first: Optional[float] = None
        self.last: Optional[float] = None


class Channel:
    def __init__(self, channel: RTCDataChannel, origin: str) -> None:
        self.channel = channel
        self.origin = origin
        self.announced = False
        self.echo = False
        self.expect: Optional[Expect] = None
        # Set on bufferedamountlow and on close, so a waiting bulk send always wakes.
        self.drained = asyncio.Event()


class Peer:
    def __init__(self, args: argparse.Namespace, writer: asyncio.StreamWriter) -> None:
        self.name = args.name
        self.writer = writer
        self.finished = False
        self.t0: Optional[float] = None
        self.sctp_state = "new"  # last reported; "new" itself is never reported
        self.channels: dict[int, Channel] = {}
        self.max_message_size = args.max_message_size
        self.ice_role = args.ice_role

        # No STUN server: the default one would add a srflx candidate and a network
        # round trip to a host outside the test.
        self.gatherer = RTCIceGatherer(iceServers=[])
        self.ice = RTCIceTransport(self.gatherer)
        self.dtls = RTCDtlsTransport(self.ice, [RTCCertificate.generateCertificate()])
        self.sctp = RTCSctpTransport(self.dtls, port=args.sctp_port)
        # The agent answers checks as soon as it has gathered, i.e. from hello on.
        # aiortc's default role until start is "controlled"; a remote check that arrives
        # before start then meets the wrong role, and aioice's conflict repair can lose
        # the remote's nomination and hang in "checking" (PROTOCOL.md, ICE role).
        if self.ice_role is not None:
            self.ice._connection.ice_controlling = self.ice_role == "controlling"

        self.ice.on("statechange", lambda: self.report_state("ice", self.ice.state))
        self.dtls.on("statechange", self.on_dtls_state)
        self.sctp.on("datachannel", lambda ch: self.track(ch, "remote"))
        # pyee turns an exception in a listener into an "error" event, which would
        # otherwise be raised inside aiortc's own receive path.
        for emitter in (self.ice, self.dtls, self.sctp):
            emitter.on("error", self.on_listener_error)

    # -- output ---------------------------------------------------------------

    def emit(self, msg: dict) -> None:
        if self.finished:
            return
        self.writer.write(json.dumps(msg, separators=(",", ":")).encode() + b"\n")

    def elapsed_ms(self) -> Optional[float]:
        if self.t0 is None:
            return None
        return round((time.monotonic() - self.t0) * 1000, 3)

    def report_state(self, transport: str, state: str) -> None:
        self.emit({"type": "state", "transport": transport, "state": state, "ms": self.elapsed_ms()})

    def on_listener_error(self, exc: Exception) -> None:
        log.error("event listener failed\n%s", "".join(traceback.format_exception(exc)))
        self.report_error(f"{type(exc).__name__}: {exc}")

    def report_error(self, message: str, command: Optional[str] = None) -> None:
        log.error("%s: %s", command or "event", message)
        self.emit({"type": "error", "command": command, "message": message})

    # -- transports -------------------------------------------------------------

    async def hello(self) -> None:
        await self.gatherer.gather()
        dtls = self.dtls.getLocalParameters()
        max_size = self.max_message_size
        if max_size is None:
            max_size = RTCSctpTransport.getCapabilities().maxMessageSize
        self.emit({
            "type": "hello",
            "name": self.name,
            "versions": {
                "aiortc": version("aiortc"),
                "aioice": version("aioice"),
                "openssl": SSL.OpenSSL_version(SSL.OPENSSL_VERSION).decode(),
            },
            "ice": asdict(self.gatherer.getLocalParameters()),
            "candidates": [asdict(c) for c in self.gatherer.getLocalCandidates()],
            "dtls": asdict(dtls),
            "sctp": {"maxMessageSize": max_size},
            "port": self.sctp.port,
        })

    def on_dtls_state(self) -> None:
        state = self.dtls.state
        self.report_state("dtls", state)
        if state == "connected":
            # aiortc exposes none of this; its pyOpenSSL connection does.
            ssl = self.dtls._ssl
            cipher = ssl.get_cipher_name()
            self.emit({
                "type": "connected",
                "dtlsVersion": ssl.get_protocol_version_name(),
                "cipherSuite": cipher,
                "cipherSuiteIana": IANA_CIPHER_NAMES.get(cipher, cipher if cipher.startswith("TLS_") else None),
                "srtpProfile": (ssl.get_selected_srtp_profile() or b"").decode() or None,
                "iceRole": self.ice.role,
                "dtlsRole": self.dtls._role,
                "ms": self.elapsed_ms(),
            })

    async def start(self, msg: dict) -> None:
        if self.t0 is not None:
            raise CommandError("already started")
        ice = pick(msg, "ice", kind=dict)
        dtls = pick(msg, "dtls", kind=dict)
        sctp = pick(msg, "sctp", kind=dict)
        pick(ice, "usernameFragment", kind=str)
        pick(ice, "password", kind=str)
        try:
            ice_params = RTCIceParameters(**ice)
            candidates = [RTCIceCandidate(**c) for c in pick(msg, "candidates", kind=list)]
            fingerprints = [RTCDtlsFingerprint(algorithm=f["algorithm"], value=f["value"])
                            for f in pick(dtls, "fingerprints", kind=list)]
        except (TypeError, KeyError) as exc:
            raise CommandError(f"bad parameters: {exc}") from exc
        if not fingerprints:
            raise CommandError("dtls.fingerprints is empty")
        remote_role = pick(dtls, "role", "auto", kind=str)
        if remote_role not in ("auto", "client", "server"):
            raise CommandError(f"bad DTLS role {remote_role!r}")
        dtls_params = RTCDtlsParameters(fingerprints=fingerprints, role=remote_role)
        caps = RTCSctpCapabilities(maxMessageSize=pick(sctp, "maxMessageSize", kind=int))
        port = pick(msg, "port", kind=int)
        controlling = pick(msg, "iceControlling", kind=bool)
        if self.ice_role is not None and controlling != (self.ice_role == "controlling"):
            raise CommandError(f"iceControlling={controlling} contradicts --ice-role {self.ice_role}")

        # RTCIceTransport.start has no role argument (aiortc's RTCPeerConnection sets
        # the same attribute). With --ice-role it was set at launch, and aioice may
        # since have switched it to settle a role conflict: that choice stands.
        if self.ice_role is None:
            self.ice._connection.ice_controlling = controlling
        # aiortc ignores the remote's DTLS role and derives its own from the ICE role
        # (controlling = server), as ORTC's "auto" says. An explicit remote role is
        # honoured by taking the other one, through the hook RTCPeerConnection uses.
        if remote_role != "auto":
            self.dtls._set_role("server" if remote_role == "client" else "client")

        self.t0 = time.monotonic()
        for candidate in candidates:
            await self.ice.addRemoteCandidate(candidate)
        await self.ice.addRemoteCandidate(None)
        await self.ice.start(ice_params)
        if self.ice.state != "completed":
            raise CommandError(f"ICE ended in state {self.ice.state}")
        await self.dtls.start(dtls_params)
        if self.dtls.state != "connected":
            raise CommandError(f"DTLS ended in state {self.dtls.state}")
        await self.sctp.start(caps, port)
        asyncio.ensure_future(self.watch_sctp())

    async def watch_sctp(self) -> None:
        # RTCSctpTransport emits no state events, so its state is sampled: finely
        # until the association is up, so that report is timely, then coarsely,
        # only to notice an abort.
        while not self.finished and self.poll_sctp_state() != "closed":
            await asyncio.sleep(0.05 if self.sctp_state == "connected" else 0.001)

    def poll_sctp_state(self) -> str:
        state = self.sctp.state
        if state != self.sctp_state:
            self.sctp_state = state
            self.report_state("sctp", state)
        return state

    async def stop(self) -> None:
        await self.sctp.stop()
        self.poll_sctp_state()
        await self.dtls.stop()
        # Lets the cancelled DTLS reader run its cleanup, so its "closed" state is
        # reported before "stopped".
        await asyncio.sleep(0)
        await self.ice.stop()
        self.emit({"type": "stopped"})
        self.finished = True
        await self.writer.drain()

    # -- data channels ----------------------------------------------------------

    def track(self, channel: RTCDataChannel, origin: str) -> Channel:
        entry = Channel(channel, origin)
        channel.on("message", lambda data: self.on_message(entry, data))
        channel.on("open", lambda: self.on_channel_state(entry, "open"))
        channel.on("close", lambda: self.on_channel_state(entry, "closed"))
        channel.on("bufferedamountlow", entry.drained.set)
        channel.on("error", self.on_listener_error)
        if channel.id is not None:
            self.announce(entry)
        elif origin == "local":
            asyncio.ensure_future(self.announce_when_numbered(entry))
        # A negotiated channel on an established association, and every remote
        # channel, is open before a listener could see it happen.
        if channel.readyState == "open":
            self.on_channel_state(entry, "open")
        return entry

    def announce(self, entry: Channel) -> None:
        if entry.announced:
            return
        entry.announced = True
        ch = entry.channel
        self.channels[ch.id] = entry
        self.emit({
            "type": "channel",
            "id": ch.id,
            "origin": entry.origin,
            "label": ch.label,
            "protocol": ch.protocol,
            "ordered": ch.ordered,
            "maxRetransmits": ch.maxRetransmits,
            "maxPacketLifeTime": ch.maxPacketLifeTime,
            "negotiated": ch.negotiated,
        })

    async def announce_when_numbered(self, entry: Channel) -> None:
        # aiortc picks the stream id only once the association is up, and says
        # nothing when it does.
        while entry.channel.id is None and entry.channel.readyState == "connecting":
            await asyncio.sleep(0.001)
        if entry.channel.id is not None:
            self.announce(entry)

    def on_channel_state(self, entry: Channel, state: str) -> None:
        # The association is up before any channel opens; sampling here keeps the
        # reports in that order even when the sampler has not woken up yet.
        self.poll_sctp_state()
        ch = entry.channel
        if ch.id is not None:
            self.announce(entry)
        self.emit({"type": "channelState", "id": ch.id, "label": ch.label, "state": state, "ms": self.elapsed_ms()})
        if state == "closed":
            entry.drained.set()
            if self.channels.get(ch.id) is entry:
                del self.channels[ch.id]

    def on_message(self, entry: Channel, data: Union[str, bytes]) -> None:
        ch = entry.channel
        if entry.echo:
            try:
                ch.send(data)
            except Exception as exc:
                self.report_error(f"echo on channel {ch.id} failed: {exc!r}")
        elif entry.expect is not None:
            self.on_expected(entry, data)
        elif isinstance(data, str):
            self.emit({"type": "message", "id": ch.id, "text": data})
        else:
            self.emit({"type": "message", "id": ch.id, "binary": base64.b64encode(data).decode()})

    def on_expected(self, entry: Channel, data: Union[str, bytes]) -> None:
        expect, ch = entry.expect, entry.channel
        if isinstance(data, str):
            entry.expect = None
            self.report_error(f"text message on channel {ch.id} during expect", "expect")
            return
        now = time.monotonic()
        if expect.first is None:
            expect.first = now
        expect.last = now
        expect.got += len(data)
        expect.digest.update(data)
        if expect.got < expect.total:
            return
        entry.expect = None
        if expect.got > expect.total:
            self.report_error(f"channel {ch.id} received {expect.got} bytes, expected {expect.total}", "expect")
            return
        ms = (expect.last - expect.first) * 1000
        self.emit({
            "type": "received",
            "id": ch.id,
            "bytes": expect.got,
            "sha256": expect.digest.hexdigest(),
            "ms": round(ms, 3),
            "mbps": round(expect.got * 8 / (ms * 1000), 3) if ms > 0 else None,
        })

    def channel(self, msg: dict) -> Channel:
        cid = pick(msg, "id", kind=int)
        entry = self.channels.get(cid)
        if entry is None:
            raise CommandError(f"no channel {cid}")
        return entry

    def open(self, msg: dict) -> None:
        params = RTCDataChannelParameters(
            label=pick(msg, "label", "", kind=str),
            protocol=pick(msg, "protocol", "", kind=str),
            ordered=pick(msg, "ordered", True, kind=bool),
            maxRetransmits=pick(msg, "maxRetransmits", None, kind=int),
            maxPacketLifeTime=pick(msg, "maxPacketLifeTime", None, kind=int),
            negotiated=pick(msg, "negotiated", False, kind=bool),
            id=pick(msg, "id", None, kind=int),
        )
        try:
            channel = RTCDataChannel(self.sctp, params)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.track(channel, "local")

    def send(self, msg: dict) -> None:
        ch = self.channel(msg).channel
        if "text" in msg:
            data: Union[str, bytes] = pick(msg, "text", kind=str)
        elif "binary" in msg:
            data = base64.b64decode(pick(msg, "binary", kind=str), validate=True)
        else:
            raise CommandError("send needs 'text' or 'binary'")
        ch.send(data)

    def echo(self, msg: dict) -> None:
        self.channel(msg).echo = pick(msg, "on", kind=bool)

    def expect(self, msg: dict) -> None:
        entry = self.channel(msg)
        total = pick(msg, "bytes", kind=int)
        if total <= 0:
            raise CommandError("expect needs bytes > 0")
        entry.expect = Expect(total)

    async def bulk(self, msg: dict) -> None:
        entry = self.channel(msg)
        ch = entry.channel
        total = pick(msg, "bytes", kind=int)
        size = pick(msg, "messageSize", 65536, kind=int)
        stream = Stream(pick(msg, "seed", kind=int))
        if size <= 0 or total < 0:
            raise CommandError("bulk needs messageSize > 0 and bytes >= 0")
        if ch.readyState != "open":
            raise CommandError(f"channel {ch.id} is {ch.readyState}")

        started = time.monotonic()
        digest = hashlib.sha256()
        offset = 0
        while offset < total:
            if ch.bufferedAmount > BULK_HIGH_WATER:
                await self.drain(entry, BULK_LOW_WATER)
            data = stream.read(offset, min(size, total - offset))
            digest.update(data)
            ch.send(data)
            offset += len(data)
        await self.drain(entry, 0)
        self.emit({
            "type": "bulkSent",
            "id": ch.id,
            "bytes": total,
            "sha256": digest.hexdigest(),
            "ms": round((time.monotonic() - started) * 1000, 3),
        })

    async def drain(self, entry: Channel, level: int) -> None:
        ch = entry.channel
        # aiortc fires bufferedamountlow only when the amount crosses the threshold
        # downwards, so the threshold is set before looking at the amount.
        ch.bufferedAmountLowThreshold = level
        while ch.bufferedAmount > level:
            entry.drained.clear()
            await entry.drained.wait()
            if ch.readyState != "open":
                raise CommandError(f"channel {ch.id} became {ch.readyState} while sending")

    def close(self, msg: dict) -> None:
        entry = self.channel(msg)
        entry.channel.close()
        # aiortc fires no event for "closing"; the state is visible right after close().
        if entry.channel.readyState == "closing":
            self.on_channel_state(entry, "closing")


async def guarded(peer: Peer, command: str, coro) -> None:
    try:
        await coro
    except CommandError as exc:
        peer.report_error(str(exc), command)
    except Exception as exc:
        log.error("%s failed\n%s", command, traceback.format_exc())
        peer.report_error(f"{type(exc).__name__}: {exc}", command)


async def serve(args: argparse.Namespace) -> int:
    host, _, port = args.connect.rpartition(":")
    reader, writer = await asyncio.open_connection(host, int(port), limit=CONTROL_LINE_LIMIT)
    peer = Peer(args, writer)
    await peer.hello()

    sync_commands = {"open": peer.open, "send": peer.send, "echo": peer.echo,
                     "expect": peer.expect, "close": peer.close}
    # Commands that wait on the network run as tasks so later commands are still read.
    async_commands = {"start": peer.start, "bulk": peer.bulk}
    tasks = set()
    while True:
        line = await reader.readline()
        if not line:
            log.error("controller closed the connection before 'stop'")
            try:
                await peer.stop()
            except ConnectionError:
                pass
            return 2
        try:
            msg = json.loads(line)
            command = msg["type"]
        except (ValueError, KeyError, TypeError):
            peer.report_error(f"unreadable command line: {line[:200]!r}")
            continue
        log.debug("< %s", command)
        if command == "stop":
            await peer.stop()
            writer.close()
            return 0
        if command in async_commands:
            task = asyncio.ensure_future(guarded(peer, command, async_commands[command](msg)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        elif command in sync_commands:
            try:
                sync_commands[command](msg)
            except CommandError as exc:
                peer.report_error(str(exc), command)
            except Exception as exc:
                log.error("%s failed\n%s", command, traceback.format_exc())
                peer.report_error(f"{type(exc).__name__}: {exc}", command)
        else:
            peer.report_error(f"unknown command {command!r}", command)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connect", required=True, metavar="HOST:PORT", help="controller's TCP address")
    parser.add_argument("--name", default="aiortc", help="label for hello and logs")
    parser.add_argument("--ice-address", action="append", metavar="IP",
                        help="address to gather host candidates on (repeatable; default 127.0.0.1)")
    parser.add_argument("--ice-role", choices=("controlling", "controlled"),
                        help="ICE role from the start, before any check can arrive (recommended)")
    parser.add_argument("--sctp-port", type=int, default=5000)
    parser.add_argument("--max-message-size", type=int, default=None,
                        help="maxMessageSize to advertise in hello (default: aiortc's own, 262144)")
    parser.add_argument("--verbose", action="store_true", help="aiortc/aioice debug logs on stderr")
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG if args.verbose else logging.WARNING,
                        format=f"[{args.name}] %(asctime)s %(name)s %(levelname)s %(message)s")
    bind_ice_to(args.ice_address or ["127.0.0.1"])
    try:
        return asyncio.run(serve(args))
    except Exception:
        log.error("peer crashed\n%s", traceback.format_exc())
        return 1


if __name__ == "__main__":
    sys.exit(main())
