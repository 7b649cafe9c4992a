#!/usr/bin/env python3
"""aiortc <-> aiortc through PROTOCOL.md: a controller that runs two peer.py processes
against each other. It proves the protocol and the peer before any Rust code uses them,
and with --bench measures aiortc's own connect time and throughput as reference figures.

Usage (with the venv python from scripts/install-aiortc):
  selftest.py                 functional cases; exit status 0 only if all pass
  selftest.py --bench [--pairs 20] [--bulk-mib 256] [--message-size 65536]
"""

import argparse
import asyncio
import base64
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Optional

from bulkdata import PERIOD, Stream, pattern, sha256_of

HERE = Path(__file__).resolve().parent
WAIT = 30.0  # seconds for any single expected event on loopback


class Failure(Exception):
    pass


def check(condition: bool, what: str) -> None:
    if not condition:
        raise Failure(what)


def bulk_timeout(total: int) -> float:
    # Generous: a transfer slower than 8 Mbit/s is a failure on loopback anyway.
    return WAIT + total / 1e6


class Peer:
    """The controller's end of one peer's JSON-lines connection."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process) -> None:
        self.name = name
        self.proc = proc
        self.hello: dict = {}
        self.inbox: list[dict] = []
        self.arrived = asyncio.Event()
        self.writer: Optional[asyncio.StreamWriter] = None
        self.reader_task: Optional[asyncio.Task] = None
        self.closed = False
        self.tolerate_errors = False
        self.trace = False

    def attach(self, hello: dict, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.hello, self.writer = hello, writer

        async def read() -> None:
            while line := await reader.readline():
                if self.trace:
                    print(f"{self.name} -> {line.decode().rstrip()[:300]}", file=sys.stderr)
                self.inbox.append(json.loads(line))
                self.arrived.set()
            self.closed = True
            self.arrived.set()

        self.reader_task = asyncio.ensure_future(read())

    def send(self, **msg) -> None:
        line = json.dumps(msg)
        if self.trace:
            print(f"{self.name} <- {line[:300]}", file=sys.stderr)
        self.writer.write(line.encode() + b"\n")

    async def wait(self, what: str, match: Callable[[dict], bool], timeout: float = WAIT) -> dict:
        """Takes the first message that matches out of the inbox, waiting for it."""
        deadline = time.monotonic() + timeout
        while True:
            for i, msg in enumerate(self.inbox):
                if msg["type"] == "error" and not self.tolerate_errors:
                    raise Failure(f"{self.name} reported an error while waiting for {what}: {msg}")
                if match(msg):
                    return self.inbox.pop(i)
            if self.closed:
                raise Failure(f"{self.name} closed its connection while waiting for {what}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure(f"{self.name}: no {what} within {timeout:.0f} s; inbox: {self.inbox[-5:]}")
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def wait_type(self, type_: str, timeout: float = WAIT, **fields) -> dict:
        desc = f"{type_} {fields}" if fields else type_
        return await self.wait(desc, lambda m: m["type"] == type_ and all(m.get(k) == v for k, v in fields.items()), timeout)

    def no_errors(self) -> None:
        errors = [m for m in self.inbox if m["type"] == "error"]
        check(not errors, f"{self.name} reported errors: {errors}")


class Controller:
    def __init__(self, verbose: bool, trace: bool, peer_a=None, peer_b=None) -> None:
        self.verbose = verbose
        self.trace = trace
        # The program behind peers "A…" and "B…": peer.py (aiortc) unless another
        # implementation of PROTOCOL.md is named, e.g. sansrtc's ortc-peer.
        default = [sys.executable, str(HERE / "peer.py")]
        self.commands = {"A": peer_a.split() if peer_a else default,
                         "B": peer_b.split() if peer_b else default}
        self.pending: dict[str, asyncio.Future] = {}
        self.server: Optional[asyncio.base_events.Server] = None
        self.peers: list[Peer] = []

    async def listen(self) -> None:
        self.server = await asyncio.start_server(self.accept, "127.0.0.1", 0, limit=64 << 20)

    async def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hello = json.loads(await reader.readline())
        check(hello["type"] == "hello", f"first line is not a hello: {hello}")
        self.pending.pop(hello["name"]).set_result((hello, reader, writer))

    async def spawn(self, name: str, *extra: str) -> Peer:
        port = self.server.sockets[0].getsockname()[1]
        program = self.commands[name[0]]
        args = [*program[1:], "--connect", f"127.0.0.1:{port}", "--name", name, *extra]
        if self.verbose:
            args.append("--verbose")
        self.pending[name] = asyncio.get_running_loop().create_future()
        proc = await asyncio.create_subprocess_exec(program[0], *args)
        peer = Peer(name, proc)
        self.peers.append(peer)
        hello, reader, writer = await asyncio.wait_for(self.pending[name], WAIT)
        peer.trace = self.trace
        if self.trace:
            print(f"{name} -> {json.dumps(hello)}", file=sys.stderr)
        peer.attach(hello, reader, writer)
        return peer

    async def pair(self, *extra: str, tag: str = "") -> tuple["Peer", "Peer"]:
        """A will control ICE, B will be controlled; both know it from launch."""
        a, b = await asyncio.gather(self.spawn("A" + tag, "--ice-role", "controlling", *extra),
                                    self.spawn("B" + tag, "--ice-role", "controlled", *extra))
        return a, b

    @staticmethod
    def start(a: Peer, b: Peer) -> None:
        """A controls ICE, so by ORTC's 'auto' rule A is the DTLS server."""
        for peer, remote, controlling in ((a, b, True), (b, a, False)):
            h = remote.hello
            peer.send(type="start", ice=h["ice"], candidates=h["candidates"], dtls=h["dtls"],
                      sctp=h["sctp"], port=h["port"], iceControlling=controlling)

    async def stop(self, *peers: Peer) -> None:
        for p in peers:
            p.send(type="stop")
        for p in peers:
            await p.wait_type("stopped")
            code = await asyncio.wait_for(p.proc.wait(), WAIT)
            check(code == 0, f"{p.name} exited with {code}")
            self.peers.remove(p)

    def kill_all(self) -> None:
        for p in self.peers:
            if p.proc.returncode is None:
                p.proc.kill()


# -- functional cases ---------------------------------------------------------------


async def open_channel(opener: Peer, other: Peer, **params) -> int:
    label = params["label"]
    opener.send(type="open", **params)
    local = await opener.wait_type("channel", label=label, origin="local")
    remote = await other.wait_type("channel", label=label, origin="remote")
    check(local["id"] == remote["id"], f"ids differ: {local} / {remote}")
    for key in ("protocol", "ordered", "maxRetransmits", "maxPacketLifeTime"):
        want = params.get(key, {"protocol": "", "ordered": True}.get(key))
        check(local[key] == want, f"{opener.name} reports {key}={local[key]!r}, asked {want!r}")
        check(remote[key] == want, f"{other.name} sees {key}={remote[key]!r}, opener asked {want!r}")
    await opener.wait_type("channelState", id=local["id"], state="open")
    await other.wait_type("channelState", id=local["id"], state="open")
    return local["id"]


def message(**kw) -> dict:
    return kw


async def exchange(sender: Peer, receiver: Peer, cid: int, messages: list[dict]) -> None:
    """Sends each message ({"text": ..} or {"binary": ..}) and checks it arrives, in order."""
    for m in messages:
        sender.send(type="send", id=cid, **m)
    for m in messages:
        got = await receiver.wait_type("message", id=cid)
        check({k: got.get(k) for k in m} == m and len(got) == 3,
              f"{receiver.name} got {str(got)[:200]}, sent {str(m)[:200]}")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def bulk(sender: Peer, receiver: Peer, cid: int, total: int, size: int, seed: int) -> tuple[dict, dict]:
    receiver.send(type="expect", id=cid, bytes=total)
    sender.send(type="bulk", id=cid, bytes=total, messageSize=size, seed=seed)
    want = sha256_of(seed, total)
    sent = await sender.wait_type("bulkSent", bulk_timeout(total), id=cid)
    got = await receiver.wait_type("received", bulk_timeout(total), id=cid)
    check(sent["bytes"] == total and sent["sha256"] == want, f"{sender.name} sent {sent}, expected sha256 {want}")
    check(got["bytes"] == total and got["sha256"] == want, f"{receiver.name} received {got}, expected sha256 {want}")
    return sent, got


def check_bulk_vectors() -> None:
    # The vectors of PROTOCOL.md: the Rust side implements the stream from that text,
    # so the Python reference must keep agreeing with it.
    check(pattern(0)[:16].hex() == "15ec7bf0b50732b49f8228e07d243653", "pattern(0) start")
    check(pattern(0)[-4:].hex() == "ec59314d" and len(pattern(0)) == PERIOD, "pattern(0) end")
    check(Stream(5).read(1048570, 6).hex() == "2f52a754734b", "stream(5) wrap")
    check(sha256_of(42, 3_000_000) == "891c676b62d17c529d0368f6e6629d90195dfda90d43a84e2413473873d50fe3",
          "sha256 of stream(42)[0..3000000]")


async def functional(ctl: Controller) -> None:
    check_bulk_vectors()
    # Both advertise 2 MiB, so the 1 MiB case is within the limit; aiortc itself
    # accepts any size on receive, so the advertisement is honest.
    a, b = await ctl.pair("--max-message-size", str(2 << 20))
    step("peers up", a.hello["versions"])
    for h in (a.hello, b.hello):
        check(h["candidates"] and all(c["ip"] == "127.0.0.1" and c["type"] == "host" for c in h["candidates"]),
              f"candidates are not loopback host ones: {h['candidates']}")
        check(h["dtls"]["role"] == "auto" and any(f["algorithm"] == "sha-256" for f in h["dtls"]["fingerprints"]),
              f"unexpected DTLS parameters {h['dtls']}")

    ctl.start(a, b)
    ca = await a.wait_type("connected")
    cb = await b.wait_type("connected")
    check((ca["iceRole"], ca["dtlsRole"]) == ("controlling", "server"), f"A roles {ca}")
    check((cb["iceRole"], cb["dtlsRole"]) == ("controlled", "client"), f"B roles {cb}")
    for key in ("dtlsVersion", "cipherSuite", "srtpProfile"):
        check(ca[key] and ca[key] == cb[key], f"{key} differs or is empty: {ca[key]!r} / {cb[key]!r}")
    await a.wait_type("state", transport="sctp", state="connected")
    await b.wait_type("state", transport="sctp", state="connected")
    step("connected", {k: ca[k] for k in ("dtlsVersion", "cipherSuite", "cipherSuiteIana", "srtpProfile", "ms")})

    # RFC 8832: the DTLS server takes odd stream ids, the client even ones.
    ab = await open_channel(a, b, label="from-a", protocol="proto-a")
    ba = await open_channel(b, a, label="from-b")
    check(ab % 2 == 1 and ba % 2 == 0, f"stream id parity wrong: A(server)={ab}, B(client)={ba}")
    step("channels", {"from-a": ab, "from-b": ba})

    samples = [
        message(text="hello"), message(text=""), message(text="h\u00e9llo \u2713 \U0001f600"),
        message(binary=b64(os.urandom(1000))), message(binary=""), message(binary=b64(b"\x00")),
        message(text="x" * 5000), message(binary=b64(os.urandom(70000))),
    ]
    await exchange(a, b, ab, samples)
    await exchange(b, a, ba, samples)
    await exchange(a, b, ba, samples[:3])  # a remote-opened channel carries data both ways
    step("text, binary and empty messages both ways")

    b.send(type="echo", id=ab, on=True)
    for m in samples:
        a.send(type="send", id=ab, **m)
    for m in samples:
        got = await a.wait_type("message", id=ab)
        check({k: got.get(k) for k in m} == m and len(got) == 3, f"echo gave {str(got)[:200]} for {str(m)[:200]}")
    check(not [m for m in b.inbox if m["type"] == "message"], "echoing peer also reported messages")
    b.send(type="echo", id=ab, on=False)
    await exchange(a, b, ab, [message(text="after echo")])
    step("echo")

    big = os.urandom(1 << 20)
    await exchange(a, b, ab, [message(binary=b64(big))])
    await exchange(b, a, ba, [message(binary=b64(big[::-1]))])
    step("1 MiB message both ways")

    # Above the receiver's advertised maximum aiortc refuses to send.
    a.tolerate_errors = True
    a.send(type="send", id=ab, binary=b64(bytes((2 << 20) + 1)))
    err = await a.wait_type("error")
    a.tolerate_errors = False
    check(err["command"] == "send" and "2097152" in err["message"], f"unexpected error {err}")
    step("oversized message refused", err["message"][:80])

    total = 20 << 20
    sent, got = await bulk(a, b, ab, total, 65536, seed=1)
    step("bulk 20 MiB A->B", {"mbps": got["mbps"], "ms": got["ms"]})
    sent, got = await bulk(b, a, ba, total, 65536, seed=2)
    step("bulk 20 MiB B->A", {"mbps": got["mbps"], "ms": got["ms"]})

    un = await open_channel(a, b, label="unordered", ordered=False, maxRetransmits=0)
    count = 200
    for i in range(count):
        a.send(type="send", id=un, text=f"u{i}")
    seen = set()
    for _ in range(count):
        seen.add((await b.wait_type("message", id=un))["text"])
    check(seen == {f"u{i}" for i in range(count)}, f"unordered channel lost or duplicated: {len(seen)} of {count}")
    step("unordered maxRetransmits=0 channel", {"id": un})

    neg_id = 42
    for p in (a, b):
        p.send(type="open", id=neg_id, label="negotiated", negotiated=True, ordered=True)
    for p in (a, b):
        ch = await p.wait_type("channel", id=neg_id)
        check(ch["origin"] == "local" and ch["negotiated"] is True, f"{p.name}: {ch}")
        await p.wait_type("channelState", id=neg_id, state="open")
    await exchange(a, b, neg_id, [message(text="neg a->b"), message(binary=b64(b"\x01\x02"))])
    await exchange(b, a, neg_id, [message(text="neg b->a")])
    step("negotiated channel", {"id": neg_id})

    for closer, other, cid in ((a, b, ab), (b, a, ba), (a, b, neg_id)):
        closer.send(type="close", id=cid)
        await closer.wait_type("channelState", id=cid, state="closing")
        await closer.wait_type("channelState", id=cid, state="closed")
        # The stream reset closes the other side too, negotiated channel included.
        await other.wait_type("channelState", id=cid, state="closed")
    # The channels are gone on both sides: sending on one is refused.
    a.tolerate_errors = True
    a.send(type="send", id=ab, text="too late")
    err = await a.wait_type("error")
    a.tolerate_errors = False
    check(err["command"] == "send", f"unexpected error {err}")
    step("closes from each side")

    for p in (a, b):
        p.no_errors()
    await ctl.stop(a, b)
    step("stopped")

    # Explicit DTLS roles against the "auto" rule: A controls ICE yet is the DTLS client.
    a, b = await ctl.pair(tag="-roles")
    # A start that contradicts --ice-role is refused and starts nothing.
    b.tolerate_errors = True
    b.send(type="start", ice=a.hello["ice"], candidates=[], dtls=a.hello["dtls"], sctp=a.hello["sctp"],
           port=5000, iceControlling=True)
    err = await b.wait_type("error", command="start")
    b.tolerate_errors = False
    check("contradicts" in err["message"], f"unexpected error {err}")
    for peer, remote, controlling, remote_role in ((a, b, True, "server"), (b, a, False, "client")):
        h = remote.hello
        peer.send(type="start", ice=h["ice"], candidates=h["candidates"], dtls={**h["dtls"], "role": remote_role},
                  sctp=h["sctp"], port=h["port"], iceControlling=controlling)
    ca = await a.wait_type("connected")
    cb = await b.wait_type("connected")
    check((ca["iceRole"], ca["dtlsRole"]) == ("controlling", "client"), f"A roles {ca}")
    check((cb["iceRole"], cb["dtlsRole"]) == ("controlled", "server"), f"B roles {cb}")
    cid = await open_channel(a, b, label="roles")
    check(cid % 2 == 0, f"A is the DTLS client but opened stream {cid}")
    await exchange(a, b, cid, [message(text="client to server")])
    await ctl.stop(a, b)
    step("explicit DTLS roles", {"A": ca["dtlsRole"], "B": cb["dtlsRole"], "stream": cid})


def step(what: str, detail=None) -> None:
    print(f"ok  {what}" + (f"  {detail}" if detail is not None else ""), flush=True)


# -- benchmark --------------------------------------------------------------------


def p95(values: list[float]) -> float:
    # Nearest rank: the smallest sample with at least 95 % of the samples at or below it.
    ordered = sorted(values)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def figure(name: str, value) -> None:
    if isinstance(value, float):
        value = f"{value:.1f}"
    print(f"{name} {value}", flush=True)


async def bench(ctl: Controller, pairs: int, total: int, size: int) -> None:
    started = time.monotonic()
    open_ms, dtls_ms = [], []
    for i in range(pairs):
        a, b = await ctl.pair(tag=str(i))
        # The channel is asked for before ICE starts, so "open" marks the first
        # moment data could flow: ICE + DTLS + SCTP association + DCEP round trip.
        a.send(type="open", label="bench")
        ctl.start(a, b)
        opened = await a.wait_type("channelState", label="bench", state="open")
        await b.wait_type("channel", label="bench", origin="remote")
        connected = await a.wait_type("connected")
        open_ms.append(opened["ms"])
        dtls_ms.append(connected["ms"])
        await ctl.stop(a, b)
    figure("peer.versions", json.dumps(a.hello["versions"]) + " / " + json.dumps(b.hello["versions"]))
    figure("connect.pairs", pairs)
    figure("connect.dtls_ms.median", statistics.median(dtls_ms))
    figure("connect.open_ms.median", statistics.median(open_ms))
    figure("connect.open_ms.p95", p95(open_ms))
    figure("connect.open_ms.min", min(open_ms))
    figure("connect.open_ms.max", max(open_ms))
    figure("connect.run_s", time.monotonic() - started)

    started = time.monotonic()
    a, b = await ctl.pair(tag="T")
    ctl.start(a, b)
    cid = await open_channel(a, b, label="throughput")
    sent, got = await bulk(a, b, cid, total, size, seed=3)
    await ctl.stop(a, b)
    figure("throughput.bytes", total)
    figure("throughput.message_size", size)
    figure("throughput.mbps", got["mbps"])
    figure("throughput.receive_ms", got["ms"])
    figure("throughput.sender_ms", sent["ms"])
    figure("throughput.run_s", time.monotonic() - started)


async def run(args: argparse.Namespace) -> int:
    ctl = Controller(args.verbose, args.trace, args.peer_a, args.peer_b)
    await ctl.listen()
    try:
        if args.bench:
            await bench(ctl, args.pairs, args.bulk_mib << 20, args.message_size)
        else:
            await functional(ctl)
            print("selftest passed")
        return 0
    except (Failure, asyncio.TimeoutError) as exc:
        print(f"FAIL: {exc!r}", file=sys.stderr)
        for p in ctl.peers:
            print(f"{p.name} unread: {str(p.inbox)[-1500:]}", file=sys.stderr)
        return 1
    finally:
        ctl.kill_all()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", action="store_true", help="measure instead of testing")
    parser.add_argument("--pairs", type=int, default=20, help="fresh pairs for the connect figures")
    parser.add_argument("--bulk-mib", type=int, default=256, help="MiB sent for the throughput figure")
    parser.add_argument("--message-size", type=int, default=65536)
    parser.add_argument("--verbose", action="store_true", help="peers log aiortc debug output")
    parser.add_argument("--trace", action="store_true", help="print every protocol line (cut to 300 chars) on stderr")
    parser.add_argument("--peer-a", help="command for peer A (ICE controlling) instead of peer.py")
    parser.add_argument("--peer-b", help="command for peer B (ICE controlled) instead of peer.py")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
