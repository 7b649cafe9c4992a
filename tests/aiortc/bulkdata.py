"""The deterministic byte stream of the bulk/expect commands (PROTOCOL.md, "Bulk data").

Both ends of a bulk transfer, and any checker, must produce exactly the same bytes from
a seed, so the definition is kept tiny: a pattern of PERIOD bytes made of SHA-256
blocks, repeated. PERIOD is prime, so with any message size below it no two messages
within PERIOD messages carry the same bytes, and a receiver that drops, duplicates or
reorders whole messages changes the stream's SHA-256.
"""

import hashlib

PERIOD = 1_048_573  # the largest prime below 2**20
_BLOCKS = 32_768  # 32 bytes each: 2**20 bytes, cut to PERIOD


def pattern(seed: int) -> bytes:
    if not 0 <= seed < 2**64:
        raise ValueError("seed must be an unsigned 64-bit integer")
    prefix = seed.to_bytes(8, "big")
    blocks = (hashlib.sha256(prefix + i.to_bytes(4, "big")).digest() for i in range(_BLOCKS))
    return b"".join(blocks)[:PERIOD]


class Stream:
    def __init__(self, seed: int) -> None:
        # Two copies back to back let any run of up to PERIOD bytes be one slice.
        self._twice = pattern(seed) * 2

    def read(self, offset: int, length: int) -> bytes:
        parts = []
        while length > 0:
            start = offset % PERIOD
            take = min(length, PERIOD)
            parts.append(self._twice[start : start + take])
            offset += take
            length -= take
        return b"".join(parts)


def sha256_of(seed: int, total: int, chunk: int = 1 << 20) -> str:
    stream, digest = Stream(seed), hashlib.sha256()
    for offset in range(0, total, chunk):
        digest.update(stream.read(offset, min(chunk, total - offset)))
    return digest.hexdigest()
