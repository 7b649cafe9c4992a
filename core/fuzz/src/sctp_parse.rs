//! # `sctp_parse`
//!
//! [`sctp_parse`] runs `Packet::parse` under both checksum policies on the input as it
//! is, and again with the checksum field fixed up ([`fix_sctp_checksum`]) so mutations
//! reach the chunk parsers; a zeroed checksum under `AcceptZero` must be judged exactly
//! like a correct one. `Chunk::parse_all` runs on the input with and without its common
//! header. Whatever parses must re-encode (CRC32c and zero checksum) and parse back the
//! same.

use bytes::Bytes;
use sansrtc::sctp::{self, Checksum, ChecksumPolicy, Chunk, Packet, SctpError};

use super::{PARSED_PER_BYTE, PARSER_BUDGET, heap};

/// Writes the CRC32c of `packet` into its checksum field (bytes 8..12, least significant
/// byte first, as `sctp::checksum` documents). Shorter inputs stay as they are.
pub fn fix_sctp_checksum(packet: &mut [u8]) {
    if packet.len() >= sctp::COMMON_HEADER_LEN {
        let crc = sctp::checksum(packet).to_le_bytes();
        packet[8..12].copy_from_slice(&crc);
    }
}

/// A parsed packet must re-encode (with either checksum kind) to bytes that parse back
/// to the same packet, and encoding must be stable.
fn sctp_round_trip(p: &Packet) {
    let wire = p
        .to_bytes(Checksum::Crc32c)
        .unwrap_or_else(|e| panic!("parsed packet does not re-encode: {e}: {p:?}"));
    assert_eq!(Ok(wire.len()), p.encoded_len());
    assert!(wire.len().is_multiple_of(4), "encoded packet not padded");
    let back = Packet::parse(wire.clone(), ChecksumPolicy::Verify)
        .unwrap_or_else(|e| panic!("re-encoded packet does not parse: {e}: {wire:02x?}"));
    assert_eq!(&back, p, "packet changed on re-encoding");
    assert_eq!(back.to_bytes(Checksum::Crc32c).as_ref(), Ok(&wire));
    let zero = p.to_bytes(Checksum::Zero).expect("encodes once");
    assert_eq!(zero[8..12], [0; 4]);
    assert_eq!(zero[12..], wire[12..]);
    let back = Packet::parse(zero, ChecksumPolicy::AcceptZero)
        .unwrap_or_else(|e| panic!("zero-checksum packet does not parse: {e}"));
    assert_eq!(&back, p);
    for c in &p.chunks {
        touch_chunk(c);
    }
}

/// Calls the accessors of a parsed chunk.
fn touch_chunk(c: &Chunk) {
    let ty = c.chunk_type();
    let _ = (ty.name(), ty.unknown_action(), ty.to_string());
    match c {
        Chunk::Init(i) | Chunk::InitAck(i) => {
            let _ = (
                i.state_cookie().map(Bytes::len),
                i.forward_tsn_supported(),
                i.supported_extensions().len(),
                i.supports(sctp::ChunkType::RE_CONFIG),
                i.zero_checksum_acceptable(),
            );
            for p in &i.params {
                let _ = (p.param_type(), p.unknown_action());
            }
        }
        Chunk::IData(d) => {
            let _ = (d.beginning(), d.fsn(), d.ppid());
        }
        Chunk::Heartbeat(h) | Chunk::HeartbeatAck(h) => {
            let _ = h.sender_info();
        }
        Chunk::Abort(sctp::Abort { causes, .. }) | Chunk::Error(sctp::ErrorChunk { causes }) => {
            for cause in causes {
                let _ = cause.code();
            }
        }
        Chunk::ReConfig(r) => {
            for p in &r.params {
                let _ = (p.param_type(), p.unknown_action());
            }
        }
        _ => {}
    }
}

/// `Chunk::parse_all` on `b`; what parses must re-encode chunk by chunk and parse back
/// the same.
fn sctp_chunks_round_trip(b: Bytes) {
    let Ok(chunks) = Chunk::parse_all(b) else {
        return;
    };
    let mut out = Vec::new();
    for c in &chunks {
        let before = out.len();
        c.encode_into(&mut out)
            .unwrap_or_else(|e| panic!("parsed chunk does not re-encode: {e}: {c:?}"));
        assert_eq!(Ok(out.len() - before), c.encoded_len());
        touch_chunk(c);
    }
    let back = Chunk::parse_all(Bytes::from(out))
        .unwrap_or_else(|e| panic!("re-encoded chunks do not parse: {e}"));
    assert_eq!(back, chunks, "chunks changed on re-encoding");
}

/// The `sctp_parse` fuzz target: `Packet::parse` under both checksum policies, on the
/// input as it is and with its checksum field fixed up (so mutations get past the CRC to
/// the chunk parsers), and `Chunk::parse_all` on the input with and without its common
/// header. Whatever parses must round-trip. Panics only if the codec breaks a promise.
pub fn sctp_parse(data: &[u8]) {
    heap::within(
        "sctp_parse",
        PARSER_BUDGET + PARSED_PER_BYTE * data.len(),
        || sctp_parse_unbounded(data),
    )
}

fn sctp_parse_unbounded(data: &[u8]) {
    let raw = Bytes::copy_from_slice(data);
    let verify = Packet::parse(raw.clone(), ChecksumPolicy::Verify);
    let zero = Packet::parse(raw.clone(), ChecksumPolicy::AcceptZero);
    if let Ok(p) = &verify {
        // A correct CRC32c is accepted under both policies.
        assert_eq!(zero.as_ref(), Ok(p));
        sctp_round_trip(p);
    }
    if let Ok(p) = &zero {
        sctp_round_trip(p);
    }

    let mut fixed = data.to_vec();
    fix_sctp_checksum(&mut fixed);
    let fixed_res = Packet::parse(Bytes::from(fixed), ChecksumPolicy::Verify);
    assert_ne!(
        fixed_res.as_ref().err(),
        Some(&SctpError::Checksum),
        "a fixed-up checksum was rejected"
    );
    if data.len() >= sctp::COMMON_HEADER_LEN {
        // A zero checksum under AcceptZero must judge the rest exactly as a correct one.
        let mut zeroed = data.to_vec();
        zeroed[8..12].fill(0);
        let zero_res = Packet::parse(Bytes::from(zeroed), ChecksumPolicy::AcceptZero);
        assert_eq!(zero_res, fixed_res, "zero and correct checksum disagree");
    }
    if let Ok(p) = &fixed_res {
        assert_eq!(p.source_port, u16::from_be_bytes([data[0], data[1]]));
        assert_eq!(p.destination_port, u16::from_be_bytes([data[2], data[3]]));
        assert_eq!(
            p.verification_tag,
            u32::from_be_bytes([data[4], data[5], data[6], data[7]])
        );
        sctp_round_trip(p);
    }

    let header = raw.len().min(sctp::COMMON_HEADER_LEN);
    sctp_chunks_round_trip(raw.slice(header..));
    sctp_chunks_round_trip(raw);
}
