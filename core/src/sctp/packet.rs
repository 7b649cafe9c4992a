//! The SCTP packet: common header (RFC 9260 §3.1) and its chunks.

use bytes::{Buf, BufMut, Bytes};

use super::chunk::{Chunk, Data};
use super::{Fsn, Mid};
use super::{SctpError, be16, be32};

/// Size of the common header: ports, verification tag, checksum.
pub const COMMON_HEADER_LEN: usize = 12;

/// Offset of the checksum field in the common header.
const CHECKSUM_AT: usize = 8;

/// Which checksums [`Packet::parse`] accepts.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChecksumPolicy {
    /// Only a correct CRC32c (RFC 9260 §6.8).
    Verify,
    /// A correct CRC32c, or a checksum field of zero (RFC 9653 §5.3). Use it once we
    /// announced Zero Checksum Acceptable with an EDMID whose lower layer (DTLS) already
    /// protects integrity.
    AcceptZero,
}

/// What [`Packet::encode_into`] writes into the checksum field.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Checksum {
    /// The CRC32c (RFC 9260 §6.8, Appendix B).
    Crc32c,
    /// Zero, allowed only once the peer announced Zero Checksum Acceptable and never for
    /// packets RFC 9653 §5.2 excludes (those with INIT or COOKIE-ECHO chunks, and the
    /// replies to out-of-the-blue packets).
    Zero,
}

/// The CRC32c of an SCTP packet as RFC 9260 Appendix B computes it: over the whole
/// packet with the checksum field taken as zero. The field holds this value least
/// significant byte first (`to_le_bytes`), the byte order of RFC 3720 §B.4's examples;
/// reading it as a big-endian integer would give the byte-swapped value. Packets
/// shorter than the common header are summed as they are.
pub fn checksum(packet: &[u8]) -> u32 {
    if packet.len() < COMMON_HEADER_LEN {
        return crc32c::crc32c(packet);
    }
    let crc = crc32c::crc32c(&packet[..CHECKSUM_AT]);
    let crc = crc32c::crc32c_append(crc, &[0; 4]);
    crc32c::crc32c_append(crc, &packet[CHECKSUM_AT + 4..])
}

/// An SCTP packet: the common header and at least one chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Source Port Number (5000 by default in WebRTC, RFC 8841).
    pub source_port: u16,
    /// Destination Port Number.
    pub destination_port: u16,
    /// Verification Tag: the receiver's Initiate Tag, or 0 on a packet with INIT
    /// (RFC 9260 §8.5).
    pub verification_tag: u32,
    /// The chunks, in wire order.
    pub chunks: Vec<Chunk>,
}

impl Packet {
    /// Parses a whole packet as DTLS hands it up (RFC 8261), checking the checksum
    /// first as `policy` says. Chunk values are slices of `packet`: DATA user data is
    /// never copied.
    pub fn parse(packet: Bytes, policy: ChecksumPolicy) -> Result<Self, SctpError> {
        Self::parse_reusing(packet, policy, Vec::with_capacity(2))
    }

    /// [`Packet::parse`] into a vector the caller recycles (cleared first), so a
    /// receiver allocates nothing per packet for the chunk list.
    pub fn parse_reusing(
        packet: Bytes,
        policy: ChecksumPolicy,
        mut chunks: Vec<Chunk>,
    ) -> Result<Self, SctpError> {
        chunks.clear();
        if packet.len() < COMMON_HEADER_LEN {
            return Err(SctpError::TooShort);
        }
        let field = [
            packet[CHECKSUM_AT],
            packet[CHECKSUM_AT + 1],
            packet[CHECKSUM_AT + 2],
            packet[CHECKSUM_AT + 3],
        ];
        let zero_ok = policy == ChecksumPolicy::AcceptZero && field == [0; 4];
        if !zero_ok && checksum(&packet).to_le_bytes() != field {
            return Err(SctpError::Checksum);
        }
        let (source_port, destination_port, verification_tag) =
            (be16(&packet, 0), be16(&packet, 2), be32(&packet, 4));
        let mut body = packet;
        body.advance(COMMON_HEADER_LEN);
        Chunk::parse_all_into(body, &mut chunks)?;
        if chunks.is_empty() {
            return Err(SctpError::NoChunks);
        }
        Ok(Self {
            source_port,
            destination_port,
            verification_tag,
            chunks,
        })
    }

    /// Bytes the packet takes on the wire.
    pub fn encoded_len(&self) -> Result<usize, SctpError> {
        let mut len = COMMON_HEADER_LEN;
        for chunk in &self.chunks {
            len += chunk.encoded_len()?;
        }
        Ok(len)
    }

    /// Appends the packet to `out` (a `Vec<u8>` or `BytesMut`) and fills in the checksum.
    /// Every chunk is padded to four bytes. Nothing is written on error (a value too
    /// large for its length field, or no chunk at all).
    pub fn encode_into<B>(&self, out: &mut B, checksum_kind: Checksum) -> Result<(), SctpError>
    where
        B: BufMut + AsMut<[u8]>,
    {
        if self.chunks.is_empty() {
            return Err(SctpError::NoChunks);
        }
        // Check every length before writing, so a failure leaves `out` untouched; the
        // lengths are recomputed while writing rather than kept, so encoding a packet
        // allocates nothing beyond `out`.
        for chunk in &self.chunks {
            chunk.value_len_checked()?;
        }
        let start = out.as_mut().len();
        out.put_u16(self.source_port);
        out.put_u16(self.destination_port);
        out.put_u32(self.verification_tag);
        out.put_u32(0);
        for chunk in &self.chunks {
            // Cannot fail: checked above.
            let len = chunk.value_len_checked()?;
            chunk.put(out, len);
        }
        if checksum_kind == Checksum::Crc32c {
            let packet = &mut out.as_mut()[start..];
            let crc = checksum(packet).to_le_bytes();
            packet[CHECKSUM_AT..CHECKSUM_AT + 4].copy_from_slice(&crc);
        }
        Ok(())
    }

    /// The packet encoded into a fresh buffer.
    pub fn to_bytes(&self, checksum_kind: Checksum) -> Result<Bytes, SctpError> {
        let mut out = Vec::with_capacity(self.encoded_len()?);
        self.encode_into(&mut out, checksum_kind)?;
        Ok(Bytes::from(out))
    }
}

/// Builds a packet chunk by chunk, straight into the caller's buffer: a sender puts
/// the DATA chunks it keeps for retransmission on the wire by reference, without
/// gathering owned chunks into a [`Packet`], and a lower layer can hand it the buffer
/// its own record will be sealed in.
///
/// ```
/// use sansrtc::sctp::{Checksum, Chunk, Packet, PacketWriter, ChecksumPolicy};
/// let mut buf = Vec::new();
/// let mut w = PacketWriter::new(&mut buf, 5000, 5000, 0x1234_5678);
/// w.push(&Chunk::CookieAck).unwrap();
/// let len = w.finish(Checksum::Crc32c).unwrap();
/// let p = Packet::parse(bytes::Bytes::from(buf), ChecksumPolicy::Verify).unwrap();
/// assert_eq!((len, p.chunks), (16, vec![Chunk::CookieAck]));
/// ```
#[derive(Debug)]
pub struct PacketWriter<'a> {
    buf: &'a mut Vec<u8>,
    start: usize,
    chunks: usize,
    /// Whether any chunk forbids a zero checksum (RFC 9653 §5.2).
    needs_crc: bool,
}

impl<'a> PacketWriter<'a> {
    /// Starts a packet with this common header at the end of `buf`.
    pub fn new(
        buf: &'a mut Vec<u8>,
        source_port: u16,
        destination_port: u16,
        verification_tag: u32,
    ) -> Self {
        let start = buf.len();
        buf.put_u16(source_port);
        buf.put_u16(destination_port);
        buf.put_u32(verification_tag);
        buf.put_u32(0);
        Self {
            buf,
            start,
            chunks: 0,
            needs_crc: false,
        }
    }

    /// Bytes of the packet written so far.
    pub fn len(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Whether no chunk was added yet.
    pub fn is_empty(&self) -> bool {
        self.chunks == 0
    }

    /// Appends a chunk, padded to four bytes; nothing is written on error.
    pub fn push(&mut self, chunk: &Chunk) -> Result<(), SctpError> {
        chunk.encode_into(self.buf)?;
        self.needs_crc |= matches!(
            chunk,
            Chunk::Init(_) | Chunk::InitAck(_) | Chunk::CookieEcho(_)
        );
        self.chunks += 1;
        Ok(())
    }

    /// Appends a DATA chunk by reference.
    pub fn push_data(&mut self, d: &Data) -> Result<(), SctpError> {
        d.encode_into(self.buf)?;
        self.chunks += 1;
        Ok(())
    }

    /// Appends a fragment as I-DATA (RFC 8260) by reference.
    pub fn push_idata(&mut self, d: &Data, mid: Mid, fsn: Fsn) -> Result<(), SctpError> {
        d.encode_as_idata_into(mid, fsn, self.buf)?;
        self.chunks += 1;
        Ok(())
    }

    /// Takes the packet back out of the buffer, as if it had never been started.
    pub fn discard(self) {
        self.buf.truncate(self.start);
    }

    /// Completes the packet and returns its length. `Checksum::Zero` is honoured only
    /// when no chunk forbids it. A packet without chunks is taken back out of the
    /// buffer and is an error.
    pub fn finish(self, checksum_kind: Checksum) -> Result<usize, SctpError> {
        if self.chunks == 0 {
            self.buf.truncate(self.start);
            return Err(SctpError::NoChunks);
        }
        let packet = &mut self.buf[self.start..];
        if checksum_kind == Checksum::Crc32c || self.needs_crc {
            let crc = checksum(packet).to_le_bytes();
            packet[CHECKSUM_AT..CHECKSUM_AT + 4].copy_from_slice(&crc);
        }
        Ok(packet.len())
    }
}
