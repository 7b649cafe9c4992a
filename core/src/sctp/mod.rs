//! SCTP (RFC 9260) wire format as WebRTC uses it over DTLS (RFC 8261): the packet with
//! its CRC32c checksum (or RFC 9653's zero checksum), every chunk a data channel
//! association meets (including I-DATA and I-FORWARD-TSN of RFC 8260, FORWARD-TSN of
//! RFC 3758, RE-CONFIG of RFC 6525, the I bit of RFC 7053 and PAD of RFC 4820), INIT
//! parameters, error causes, and serial-number types for TSNs and SSNs.
//!
//! Parsing takes the datagram as [`Bytes`] and slices DATA user data, cookies and
//! other opaque values out of it without copying. Every length is checked against what
//! is actually there, and nothing is allocated from a length field alone. Unknown chunks
//! and parameters are kept raw together with the action their type's upper two bits ask
//! for (RFC 9260 §3.2, §3.2.1): whether to stop or skip and whether to report is the
//! association's decision, not the codec's.
//!
//! ```
//! use bytes::Bytes;
//! use sansrtc::sctp::{
//!     Checksum, ChecksumPolicy, Chunk, Data, Packet, Ppid, Sid, Ssn, Tsn,
//! };
//!
//! let packet = Packet {
//!     source_port: 5000,
//!     destination_port: 5000,
//!     verification_tag: 0x1234_5678,
//!     chunks: vec![Chunk::Data(Data {
//!         unordered: false,
//!         beginning: true,
//!         ending: true,
//!         immediate: false,
//!         tsn: Tsn(7),
//!         stream_id: Sid(1),
//!         ssn: Ssn(0),
//!         ppid: Ppid::STRING,
//!         user_data: Bytes::from_static(b"hello"),
//!     })],
//! };
//! let mut wire = Vec::new();
//! packet.encode_into(&mut wire, Checksum::Crc32c)?;
//! assert_eq!(wire.len(), 12 + 16 + 8); // header, DATA header, 5 bytes padded to 8
//!
//! let parsed = Packet::parse(Bytes::from(wire), ChecksumPolicy::Verify)?;
//! assert_eq!(parsed, packet);
//! assert!(Tsn(1).is_newer_than(Tsn(u32::MAX))); // RFC 1982 wrap-around
//! # Ok::<(), sansrtc::sctp::SctpError>(())
//! ```
//!
//! What the codec does not judge: bundling rules (RFC 9260 §6.10: INIT, INIT-ACK and
//! SHUTDOWN-COMPLETE travel alone), verification tag rules (§8.5), a zero Initiate Tag,
//! zero stream counts, DATA without user data (§6.2 answers it with an ABORT carrying
//! [`ErrorCause::NoUserData`]) — those need the association's state to answer properly.
//!
//! The files, one concern each:
//! - `association.rs`: the [`Association`] hub — its state, public API, the three verbs,
//!   the handshake, chunk dispatch and SACK processing.
//! - `packet_builder.rs`: bundling chunks into a packet up to the MTU, written into the
//!   caller's buffer (a child module of the association, as are the next three).
//! - `reassembly.rs`: the receive side: admitting DATA and I-DATA against the window,
//!   reassembly, and delivery in stream order.
//! - `reconfig.rs`: RFC 6525 stream reset requests and responses.
//! - `prsctp.rs`: RFC 3758 partial reliability: abandoning messages, FORWARD-TSN and
//!   I-FORWARD-TSN out and in.
//! - `timer.rs`: the table of the association's timers (T1, T2, T3-rtx, delayed SACK, …).
//! - `congestion.rs`, `congestion/new_reno.rs`: the [`congestion::Controller`] trait and
//!   RFC 9260 §7.2's algorithm behind it.
//! - `tsn_tracker.rs`: which peer TSNs arrived — cumulative TSN, gap runs, duplicates.
//! - `sendq.rs`, `inflight.rs`: messages waiting to be sent, chunks in flight by TSN.
//! - `bufpool.rs`: buffers of received messages, reused once the application drops them.
//! - `packet.rs`, `chunk.rs`, `param.rs`, `cause.rs`, `serial.rs`: the wire format.

mod association;
mod bufpool;
mod cause;
mod chunk;
pub mod congestion;
mod inflight;
mod packet;
mod param;
mod sendq;
mod serial;
mod timer;
mod tsn_tracker;

#[cfg(test)]
mod tests;
/// Whole SCTP associations in the simulator, each hosted directly through `io::Pinned`.
#[cfg(test)]
#[path = "sim/tests.rs"]
mod tests_sim;
// Named tests.rs like every unit-test file, which the sans-IO check exempts (a test
// starts virtual time from one real Instant).
#[cfg(test)]
#[path = "hostile/tests.rs"]
mod tests_hostile;

use bytes::{BufMut, Bytes};

pub use association::{
    Association, CloseReason, SctpConfig, SctpEvent, SctpStats, SendOptions, Violation,
};
pub use cause::ErrorCause;
pub use chunk::{
    Abort, Chunk, ChunkType, CookieEcho, Data, ErrorChunk, ForwardTsn, ForwardTsnStream,
    GapAckBlock, Heartbeat, IData, IForwardTsn, IForwardTsnStream, Init, Pad, PpidOrFsn, ReConfig,
    Sack, Shutdown, ShutdownComplete, UnknownChunk,
};
pub use packet::{COMMON_HEADER_LEN, Checksum, ChecksumPolicy, Packet, PacketWriter, checksum};
pub use param::{Edmid, InitParam, ReconfigParam, ReconfigResult, ResponseTsns};
pub use serial::{Fsn, Mid, Ppid, ReconfigSeq, Sid, Ssn, Tsn};

/// Errors of the SCTP layer: parsing or encoding packets, and using the association.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SctpError {
    /// Shorter than the 12-byte common header.
    #[error("SCTP packet shorter than its common header")]
    TooShort,
    /// The CRC32c in the common header does not match the packet (RFC 9260 §6.8), or is
    /// zero where zero is not accepted (RFC 9653 §5.3).
    #[error("SCTP checksum mismatch")]
    Checksum,
    /// A packet with a common header and no chunk.
    #[error("SCTP packet carries no chunk")]
    NoChunks,
    /// A chunk's length field is under 4 or runs past the end of the packet.
    #[error("SCTP chunk length field invalid")]
    ChunkLength,
    /// A known chunk whose value does not match its format.
    #[error("SCTP {0} chunk invalid: {1}")]
    InvalidChunk(ChunkType, &'static str),
    /// A parameter (INIT, INIT-ACK, RE-CONFIG) whose length or value is malformed.
    #[error("SCTP parameter {0:#06x} invalid: {1}")]
    InvalidParameter(u16, &'static str),
    /// An error cause (ABORT, ERROR) whose length or value is malformed.
    #[error("SCTP error cause {0} invalid: {1}")]
    InvalidCause(u16, &'static str),
    /// Encoding: a value does not fit the 16-bit length or count field that carries it.
    #[error("SCTP {0} too large for its 16-bit length or count field")]
    TooLarge(&'static str),
    /// The association is closed (aborted, failed or never opened).
    #[error("SCTP association is closed")]
    Closed,
    /// An empty user message; WebRTC sends a one-byte payload with an "empty" PPID.
    #[error("SCTP cannot carry an empty user message")]
    EmptyMessage,
    /// A message over the peer's maximum message size.
    #[error("message of {size} bytes exceeds the peer's maximum of {max}")]
    MessageTooLarge {
        /// Size of the message.
        size: usize,
        /// The limit.
        max: usize,
    },
}

/// What a receiver does with a chunk or parameter type it does not know, from the type's
/// two most significant bits (RFC 9260 §3.2 for chunks, §3.2.1 for parameters).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnknownAction {
    /// `00`: stop processing — discard the packet (chunk) or ignore the remaining
    /// parameters of the chunk (parameter) — and report nothing.
    Stop,
    /// `01`: as [`Stop`](Self::Stop), and report it: an ERROR with an Unrecognized Chunk
    /// Type cause, or an Unrecognized Parameter.
    StopAndReport,
    /// `10`: skip it and carry on with the next chunk or parameter.
    Skip,
    /// `11`: skip it, carry on, and report it.
    SkipAndReport,
}

impl UnknownAction {
    /// The action encoded in the two most significant bits of `top_bits` (0..=3).
    const fn from_bits(top_bits: u8) -> Self {
        match top_bits & 0b11 {
            0b00 => Self::Stop,
            0b01 => Self::StopAndReport,
            0b10 => Self::Skip,
            _ => Self::SkipAndReport,
        }
    }

    /// Whether processing carries on after the unknown item.
    pub const fn skips(self) -> bool {
        matches!(self, Self::Skip | Self::SkipAndReport)
    }

    /// Whether the unknown item is reported to the peer.
    pub const fn reports(self) -> bool {
        matches!(self, Self::StopAndReport | Self::SkipAndReport)
    }
}

// ---- shared wire helpers -------------------------------------------------------------

/// Bytes of padding that bring `len` to a multiple of four (RFC 9260 §3.2).
const fn pad4(len: usize) -> usize {
    (4 - len % 4) % 4
}

/// Big-endian u16 at `at`; callers have checked `b.len() >= at + 2`.
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Big-endian u32 at `at`; callers have checked `b.len() >= at + 4`.
fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// `len` as a 16-bit length or count field.
fn u16_len(len: usize, what: &'static str) -> Result<u16, SctpError> {
    u16::try_from(len).map_err(|_| SctpError::TooLarge(what))
}

/// A type-length-value item inside a chunk: parameters and error causes share the layout
/// of RFC 9260 §3.2.1 (16-bit type, 16-bit length including the 4-byte header, value,
/// padding to four bytes not counted in the length).
trait Tlv {
    /// The 16-bit type or cause code.
    fn tlv_type(&self) -> u16;
    /// Length of the value, without header and padding.
    fn value_len(&self) -> usize;
    /// Writes the value, exactly `value_len()` bytes.
    fn put_value<B: BufMut>(&self, out: &mut B);
}

/// Length of a list of TLVs as a chunk value carries it: every item padded except the
/// last, whose padding the chunk's own padding provides (RFC 9260 §3.2: the chunk length
/// includes the padding of every parameter but the last). Checks every item fits.
fn tlv_list_len<T: Tlv>(items: &[T], what: &'static str) -> Result<usize, SctpError> {
    let mut total = 0usize;
    for (i, item) in items.iter().enumerate() {
        let len = 4 + item.value_len();
        u16_len(len, what)?;
        total += len;
        if i + 1 < items.len() {
            total += pad4(len);
        }
    }
    Ok(total)
}

/// Writes a TLV list laid out as [`tlv_list_len`] counts it.
fn put_tlv_list<T: Tlv, B: BufMut>(items: &[T], out: &mut B) {
    for (i, item) in items.iter().enumerate() {
        let len = 4 + item.value_len();
        out.put_u16(item.tlv_type());
        // Checked by tlv_list_len before anything was written.
        out.put_u16(len as u16);
        item.put_value(out);
        if i + 1 < items.len() {
            out.put_bytes(0, pad4(len));
        }
    }
}

/// Splits a chunk value into TLVs and parses each with `parse(type, value)`. The last
/// item's padding may be missing (it belongs to the chunk's padding); an item whose
/// length is under 4 or runs past the value is an error made by `bad(type)`.
fn parse_tlv_list<T>(
    value: &Bytes,
    bad: impl Fn(u16) -> SctpError,
    mut parse: impl FnMut(u16, Bytes) -> Result<T, SctpError>,
) -> Result<Vec<T>, SctpError> {
    let mut items = Vec::new();
    let mut at = 0;
    while at < value.len() {
        let rest = &value[at..];
        if rest.len() < 4 {
            // Padding was consumed with its item, so 1..=3 stray bytes are a length lie.
            return Err(bad(if rest.len() >= 2 { be16(rest, 0) } else { 0 }));
        }
        let typ = be16(rest, 0);
        let len = usize::from(be16(rest, 2));
        if len < 4 || len > rest.len() {
            return Err(bad(typ));
        }
        items.push(parse(typ, value.slice(at + 4..at + len))?);
        at += (len + pad4(len)).min(rest.len());
    }
    Ok(items)
}
