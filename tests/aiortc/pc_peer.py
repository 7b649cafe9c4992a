"""aiortc's RTCPeerConnection for the interop tests (tests/tests/aiortc_pc.rs).

Descriptions travel as aiortc.contrib.signaling's wire format (object_to_string /
object_from_string: one JSON object per line), on stdout to the test and on stdin from it.
The peer answers every text message "m" on a channel with "echo: m", and reports what
happens as {"event": ...} lines.

    python pc_peer.py offer|answer
"""

import asyncio
import json
import sys

from aiortc import RTCPeerConnection
from aiortc.contrib.signaling import object_from_string, object_to_string


def say(obj):
    sys.stdout.write((obj if isinstance(obj, str) else json.dumps(obj)) + "\n")
    sys.stdout.flush()


async def read_line():
    loop = asyncio.get_running_loop()
    line = await loop.run_in_executor(None, sys.stdin.readline)
    if not line:
        raise SystemExit(0)
    return line


def watch(channel):
    @channel.on("open")
    def on_open():
        say({"event": "open", "label": channel.label})

    @channel.on("message")
    def on_message(message):
        if isinstance(message, str):
            say({"event": "message", "label": channel.label, "data": message})
            channel.send("echo: " + message)
        else:
            say({"event": "binary", "label": channel.label, "bytes": len(message)})
            channel.send(message)


async def main(role):
    pc = RTCPeerConnection()
    done = asyncio.Event()

    @pc.on("datachannel")
    def on_datachannel(channel):
        say({"event": "datachannel", "label": channel.label})
        watch(channel)

    @pc.on("connectionstatechange")
    async def on_state():
        say({"event": "connectionstate", "state": pc.connectionState})
        if pc.connectionState in ("closed", "failed"):
            done.set()

    if role == "offer":
        watch(pc.createDataChannel("chat"))
        await pc.setLocalDescription(await pc.createOffer())
        say(object_to_string(pc.localDescription))
        answer = object_from_string(await read_line())
        await pc.setRemoteDescription(answer)
    else:
        offer = object_from_string(await read_line())
        await pc.setRemoteDescription(offer)
        await pc.setLocalDescription(await pc.createAnswer())
        say(object_to_string(pc.localDescription))
    # Until the test closes our stdin (or the connection ends).
    reader = asyncio.ensure_future(read_line())
    await asyncio.wait([reader, asyncio.ensure_future(done.wait())], return_when=asyncio.FIRST_COMPLETED)
    await pc.close()


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1]))
    except SystemExit:
        pass
