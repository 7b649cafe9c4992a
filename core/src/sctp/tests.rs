use std::cmp::Ordering;
use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::*;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/chromium-156/sctp"
);

fn fixture_bytes(name: &str) -> Bytes {
    Bytes::from(
        std::fs::read(format!("{FIXTURES}/{name}")).unwrap_or_else(|e| panic!("{name}: {e}")),
    )
}

fn fixture(name: &str) -> Packet {
    Packet::parse(fixture_bytes(name), ChecksumPolicy::Verify)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn only_chunk(name: &str) -> Chunk {
    let p = fixture(name);
    assert_eq!(p.chunks.len(), 1, "{name}");
    p.chunks.into_iter().next().unwrap()
}

/// Rows of index.tsv: (file, chunk names joined with '+').
fn index() -> Vec<(String, String)> {
    std::fs::read_to_string(format!("{FIXTURES}/index.tsv"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (cols[0].to_owned(), cols[1].to_owned())
        })
        .collect()
}

/// The (start, unpadded end, padded end) of every chunk in a chunk area, read from the
/// length fields of bytes we know to be well formed.
fn chunk_bounds(area: &[u8]) -> Vec<(usize, usize, usize)> {
    let mut bounds = Vec::new();
    let mut at = 0;
    while at < area.len() {
        let len = usize::from(be16(area, at + 2));
        let padded = (at + len + pad4(len)).min(area.len());
        bounds.push((at, at + len, padded));
        at = padded;
    }
    bounds
}

/// Every cut of a well-formed chunk area either falls on a chunk boundary or inside the
/// last chunk's padding (and parses), or it does not (and is rejected).
fn assert_truncations_rejected(area: &Bytes) {
    let bounds = chunk_bounds(area);
    for cut in 0..area.len() {
        let ok_cut = bounds
            .iter()
            .any(|&(start, end, padded)| cut == start || (end..=padded).contains(&cut));
        let result = Chunk::parse_all(area.slice(..cut));
        assert_eq!(
            result.is_ok(),
            ok_cut,
            "cut at {cut} of {area:02x?}: {result:?}"
        );
    }
}

// ---- CRC32c ---------------------------------------------------------------------------

/// RFC 3720 §B.4 CRC32c examples, as the bytes that end up in the checksum field: the
/// RFC lists the CRC in transmission order, the order RFC 9260 Appendix B stores it in
/// the SCTP common header (least significant byte first).
#[test]
fn rfc3720_b4_crc32c_examples() {
    let incrementing: Vec<u8> = (0..32).collect();
    let decrementing: Vec<u8> = (0..32).rev().collect();
    let cases: [(&[u8], [u8; 4]); 4] = [
        (&[0; 32], [0xaa, 0x36, 0x91, 0x8a]),
        (&[0xff; 32], [0x43, 0xab, 0xa8, 0x62]),
        (&incrementing, [0x4e, 0x79, 0xdd, 0x46]),
        (&decrementing, [0x5c, 0xdb, 0x3f, 0x11]),
    ];
    for (buf, expected) in cases {
        assert_eq!(crc32c::crc32c(buf).to_le_bytes(), expected, "{buf:02x?}");
    }
    // The zero buffer has a zero "checksum field" at 8..12 already, so the packet
    // checksum (computed with that field zeroed) must give the RFC value unchanged.
    assert_eq!(checksum(&[0; 32]).to_le_bytes(), [0xaa, 0x36, 0x91, 0x8a]);
    // With the field non-zero, the packet checksum ignores it.
    let mut ones = [0xff; 32];
    let with_field = checksum(&ones);
    ones[8..12].fill(0);
    assert_eq!(with_field, crc32c::crc32c(&ones));
}

#[test]
fn checksum_policies() {
    let bytes = fixture_bytes("data/011-to-browser-SACK.bin");
    let packet = Packet::parse(bytes.clone(), ChecksumPolicy::Verify).unwrap();

    let mut zeroed = bytes.to_vec();
    zeroed[8..12].fill(0);
    let zeroed = Bytes::from(zeroed);
    assert_eq!(
        Packet::parse(zeroed.clone(), ChecksumPolicy::Verify),
        Err(SctpError::Checksum)
    );
    assert_eq!(
        Packet::parse(zeroed.clone(), ChecksumPolicy::AcceptZero),
        Ok(packet.clone())
    );
    // RFC 9653 §5.3: a correct CRC is still accepted under AcceptZero.
    assert_eq!(
        Packet::parse(bytes.clone(), ChecksumPolicy::AcceptZero),
        Ok(packet.clone())
    );
    // Encoding with a zero checksum writes exactly that.
    assert_eq!(packet.to_bytes(Checksum::Zero).unwrap(), zeroed);

    // Any flipped bit is caught, wherever it is, including in the checksum itself.
    for i in 0..bytes.len() {
        let mut bad = bytes.to_vec();
        bad[i] ^= 0x10;
        for policy in [ChecksumPolicy::Verify, ChecksumPolicy::AcceptZero] {
            assert_eq!(
                Packet::parse(Bytes::from(bad.clone()), policy),
                Err(SctpError::Checksum)
            );
        }
    }
    // Reading the field big-endian would be the classic mistake; the fixture shows the
    // byte order.
    assert_eq!(checksum(&bytes).to_le_bytes(), bytes[8..12]);
    assert_ne!(checksum(&bytes).to_be_bytes(), bytes[8..12]);
}

// ---- real packets ---------------------------------------------------------------------

/// Every packet Chromium 156 and aiortc exchanged parses with its CRC32c verified, has
/// the chunks the capture lists, slices DATA user data out of the input, and re-encodes
/// to the very same bytes.
#[test]
fn chromium_156_sctp_fixtures_parse_and_reencode() {
    let rows = index();
    assert_eq!(rows.len(), 199);
    for (file, chunks) in rows {
        let bytes = fixture_bytes(&file);
        let packet = Packet::parse(bytes.clone(), ChecksumPolicy::Verify)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let names: Vec<&str> = packet
            .chunks
            .iter()
            .map(|c| c.chunk_type().name().unwrap_or("?"))
            .collect();
        assert_eq!(names.join("+"), chunks, "{file}");
        assert_eq!(packet.source_port, 5000, "{file}");
        assert_eq!(packet.destination_port, 5000, "{file}");

        for chunk in &packet.chunks {
            if let Chunk::Data(d) = chunk {
                let range = bytes.as_ptr_range();
                assert!(
                    range.contains(&d.user_data.as_ptr()),
                    "{file}: user data was copied"
                );
            }
        }

        assert_eq!(packet.encoded_len().unwrap(), bytes.len(), "{file}");
        assert_eq!(packet.to_bytes(Checksum::Crc32c).unwrap(), bytes, "{file}");
        let mut into_bytes_mut = BytesMut::from(&b"prefix"[..]);
        packet
            .encode_into(&mut into_bytes_mut, Checksum::Crc32c)
            .unwrap();
        assert_eq!(&into_bytes_mut[6..], &bytes[..], "{file}");

        assert_truncations_rejected(&bytes.slice(COMMON_HEADER_LEN..));
    }
}

#[test]
fn chromium_init_and_init_ack() {
    let Chunk::Init(init) = only_chunk("data/002-from-browser-INIT.bin") else {
        panic!()
    };
    assert_eq!(init.initiate_tag, 0x533f_abf2);
    assert_eq!(init.a_rwnd, 5_242_880);
    assert_eq!(
        (init.num_outbound_streams, init.num_inbound_streams),
        (65535, 65535)
    );
    assert_eq!(init.initial_tsn, Tsn(2_455_639_261));
    assert_eq!(
        init.params,
        [
            InitParam::ForwardTsnSupported,
            InitParam::SupportedExtensions(vec![ChunkType::RE_CONFIG, ChunkType::FORWARD_TSN]),
        ]
    );
    assert!(init.forward_tsn_supported());
    assert!(init.supports(ChunkType::RE_CONFIG) && !init.supports(ChunkType::I_DATA));
    assert_eq!(init.zero_checksum_acceptable(), None);
    assert_eq!(init.state_cookie(), None);
    assert_eq!(
        fixture("data/002-from-browser-INIT.bin").verification_tag,
        0
    );

    // aiortc lists the same extensions the other way round and a smaller window.
    let Chunk::Init(aiortc) = only_chunk("data/001-to-browser-INIT.bin") else {
        panic!()
    };
    assert_eq!(aiortc.a_rwnd, 1_048_576);
    assert_eq!(
        aiortc.supported_extensions(),
        [ChunkType::FORWARD_TSN, ChunkType::RE_CONFIG]
    );

    let Chunk::InitAck(ack) = only_chunk("data/004-from-browser-INIT-ACK.bin") else {
        panic!()
    };
    assert_eq!(ack.state_cookie().map(Bytes::len), Some(48));
    assert!(matches!(ack.params[0], InitParam::StateCookie(_)));
    let Chunk::CookieEcho(echo) = only_chunk("data/005-to-browser-COOKIE-ECHO.bin") else {
        panic!()
    };
    assert_eq!(Some(&echo.cookie), ack.state_cookie());
    assert_eq!(
        only_chunk("data/007-to-browser-COOKIE-ACK.bin"),
        Chunk::CookieAck
    );
}

#[test]
fn chromium_data_chunks() {
    let data = |name: &str, index: usize| match &fixture(name).chunks[index] {
        Chunk::Data(d) => d.clone(),
        other => panic!("{name}: {other:?}"),
    };
    let open = data("data/009-from-browser-DATA-DCEP_OPEN.bin", 0);
    assert_eq!(
        (open.ppid, open.stream_id, open.ssn),
        (Ppid(50), Sid(1), Ssn(0))
    );
    assert_eq!(open.tsn, Tsn(2_455_639_261));
    assert!(open.beginning && open.ending && !open.unordered && !open.immediate);

    assert_eq!(
        data("data/017-from-browser-DATA-String.bin", 0).ppid,
        Ppid(51)
    );
    assert_eq!(
        &data("data/017-from-browser-DATA-String.bin", 0).user_data[..],
        b"ping 1"
    );
    let empty = data("data/026-from-browser-SACK+DATA-StringEmpty.bin", 1);
    assert_eq!((empty.ppid, empty.user_data.len()), (Ppid(56), 1));
    assert_eq!(
        data("data/029-from-browser-SACK+DATA-BinaryEmpty.bin", 1).ppid,
        Ppid(57)
    );
    let binary = data("data/032-from-browser-SACK+DATA-Binary.bin", 1);
    assert_eq!((binary.ppid, binary.user_data.len()), (Ppid(53), 100));

    let first = data("data/035-from-browser-SACK+DATA-Binary-fragFirst.bin", 1);
    let middle = data("data/037-from-browser-DATA-Binary-fragMiddle.bin", 0);
    let last = data("data/039-from-browser-DATA-Binary-fragLast.bin", 0);
    assert_eq!((first.beginning, first.ending), (true, false));
    assert_eq!((middle.beginning, middle.ending), (false, false));
    assert_eq!((last.beginning, last.ending), (false, true));
    assert_eq!(middle.tsn, first.tsn.next());
    assert_eq!(first.ssn, last.ssn);
    assert_eq!(
        first.user_data.len() + middle.user_data.len() + last.user_data.len(),
        3000
    );

    let unordered = data("data/053-from-browser-DATA-String-U.bin", 0);
    assert!(unordered.unordered && !unordered.immediate);
    // dcsctp sets the I bit (RFC 7053) after the simulated loss.
    let immediate = data("data/065-from-browser-DATA-String-U.bin", 0);
    assert!(immediate.unordered && immediate.immediate);
}

#[test]
fn chromium_control_chunks() {
    let Chunk::Sack(sack) = only_chunk("data/054-to-browser-SACK-gap.bin") else {
        panic!()
    };
    assert_eq!(sack.cumulative_tsn_ack, Tsn(2_455_639_273));
    assert_eq!(sack.gap_ack_blocks, [GapAckBlock { start: 2, end: 2 }]);
    assert!(sack.duplicate_tsns.is_empty());

    assert_eq!(
        only_chunk("data/062-from-browser-FORWARD-TSN.bin"),
        Chunk::ForwardTsn(ForwardTsn {
            new_cumulative_tsn: Tsn(2_455_639_274),
            streams: vec![]
        })
    );
    assert_eq!(
        only_chunk("data/088-from-browser-RE-CONFIG-OutgoingReset.bin"),
        Chunk::ReConfig(ReConfig {
            params: vec![ReconfigParam::OutgoingSsnResetRequest {
                request_seq: ReconfigSeq(2_455_639_261),
                response_seq: ReconfigSeq(2_455_639_261),
                last_tsn: Tsn(2_455_639_283),
                streams: vec![Sid(3)],
            }]
        })
    );
    assert_eq!(
        only_chunk("data/089-to-browser-RE-CONFIG-Response.bin"),
        Chunk::ReConfig(ReConfig {
            params: vec![ReconfigParam::Response {
                response_seq: ReconfigSeq(2_455_639_261),
                result: ReconfigResult::SuccessPerformed,
                next_tsns: None,
            }]
        })
    );

    let Chunk::Heartbeat(hb) = only_chunk("data/096-from-browser-HEARTBEAT.bin") else {
        panic!()
    };
    assert_eq!(hb.sender_info().map(|i| i.len()), Some(8));
    assert_eq!(
        Heartbeat::with_sender_info(&hb.sender_info().unwrap()).unwrap(),
        hb
    );
    assert_eq!(
        only_chunk("data/097-to-browser-HEARTBEAT-ACK.bin"),
        Chunk::HeartbeatAck(hb)
    );

    assert_eq!(
        only_chunk("data/101-from-browser-ABORT.bin"),
        Chunk::Abort(Abort {
            tag_reflected: false,
            causes: vec![ErrorCause::UserInitiatedAbort(Bytes::from_static(
                b"Close called"
            ))],
        })
    );
    assert_eq!(
        only_chunk("data-dtls-client/096-to-browser-SHUTDOWN.bin"),
        Chunk::Shutdown(Shutdown {
            cumulative_tsn_ack: Tsn(4_004_624_937)
        })
    );
    assert_eq!(
        only_chunk("data-dtls-client/097-from-browser-SHUTDOWN-ACK.bin"),
        Chunk::ShutdownAck
    );
    assert_eq!(
        only_chunk("data-dtls-client/098-to-browser-SHUTDOWN-COMPLETE.bin"),
        Chunk::ShutdownComplete(ShutdownComplete {
            tag_reflected: false
        })
    );
}

// ---- malformed input ------------------------------------------------------------------

#[test]
fn short_and_empty_packets() {
    for len in 0..COMMON_HEADER_LEN {
        assert_eq!(
            Packet::parse(Bytes::from(vec![0; len]), ChecksumPolicy::AcceptZero),
            Err(SctpError::TooShort)
        );
    }
    let header_only = Bytes::from(vec![0x13, 0x88, 0x13, 0x88, 0, 0, 0, 1, 0, 0, 0, 0]);
    assert_eq!(
        Packet::parse(header_only, ChecksumPolicy::AcceptZero),
        Err(SctpError::NoChunks)
    );
    let empty = Packet {
        source_port: 1,
        destination_port: 2,
        verification_tag: 3,
        chunks: vec![],
    };
    assert_eq!(empty.to_bytes(Checksum::Crc32c), Err(SctpError::NoChunks));
}

#[test]
fn last_chunk_padding_may_be_missing() {
    // COOKIE-ECHO with a 5-byte cookie: length 9, padded to 12 on the wire.
    let full = Bytes::from_static(&[10, 0, 0, 9, 1, 2, 3, 4, 5, 0, 0, 0]);
    let expected = vec![Chunk::CookieEcho(CookieEcho {
        cookie: Bytes::from_static(&[1, 2, 3, 4, 5]),
    })];
    for cut in 9..=12 {
        assert_eq!(
            Chunk::parse_all(full.slice(..cut)).unwrap(),
            expected,
            "cut {cut}"
        );
    }
    // ... but not in the middle: a second chunk must start aligned.
    let mut two = full.to_vec();
    two.extend_from_slice(&[11, 0, 0, 4]);
    assert_eq!(Chunk::parse_all(Bytes::from(two)).unwrap().len(), 2);
}

#[test]
fn length_lies_rejected() {
    let check = |bytes: &[u8], want: SctpError| {
        assert_eq!(
            Chunk::parse_all(Bytes::copy_from_slice(bytes)),
            Err(want),
            "{bytes:02x?}"
        );
    };
    // Chunk length under the header, or past the end.
    check(&[11, 0, 0, 3], SctpError::ChunkLength);
    check(&[11, 0, 0, 0], SctpError::ChunkLength);
    check(&[11, 0, 0, 8, 0, 0, 0], SctpError::ChunkLength);
    check(&[11, 0], SctpError::ChunkLength);
    // Fixed-size chunks with a different size.
    check(
        &[11, 0, 0, 8, 0, 0, 0, 0],
        SctpError::InvalidChunk(ChunkType::COOKIE_ACK, "wrong length"),
    );
    check(
        &[7, 0, 0, 4],
        SctpError::InvalidChunk(ChunkType::SHUTDOWN, "wrong length"),
    );
    // DATA shorter than its header.
    check(
        &[0, 3, 0, 15, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0],
        SctpError::InvalidChunk(ChunkType::DATA, "too short"),
    );
    // SACK counts that promise more (or fewer) entries than the chunk holds.
    let mut sack = vec![3, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1];
    assert!(Chunk::parse_all(Bytes::from(sack.clone())).is_ok());
    sack[13] = 2;
    check(
        &sack,
        SctpError::InvalidChunk(ChunkType::SACK, "counts disagree with length"),
    );
    sack[13] = 0;
    check(
        &sack,
        SctpError::InvalidChunk(ChunkType::SACK, "counts disagree with length"),
    );
    sack[15] = 0xff; // 65535 duplicate TSNs in a 20-byte chunk
    check(
        &sack,
        SctpError::InvalidChunk(ChunkType::SACK, "counts disagree with length"),
    );
    // A parameter whose length runs past its chunk, or is under 4.
    let mut init = vec![1, 0, 0, 24, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 1];
    init.extend_from_slice(&[0x00, 0x07, 0x00, 0x09]);
    check(
        &init,
        SctpError::InvalidParameter(7, "length field invalid"),
    );
    init[23] = 3;
    check(
        &init,
        SctpError::InvalidParameter(7, "length field invalid"),
    );
    // A known parameter with the wrong size.
    init[21] = 0x05; // IPv4 Address, 0 bytes of value
    init[23] = 4;
    check(&init, SctpError::InvalidParameter(5, "wrong length"));
    // Error cause counts and lengths.
    let abort = [6, 0, 0, 12, 0, 2, 0, 8, 0, 0, 0, 9];
    check(
        &abort,
        SctpError::InvalidCause(2, "count disagrees with length"),
    );
    let abort = [6, 0, 0, 8, 0, 12, 0, 9];
    check(&abort, SctpError::InvalidCause(12, "length field invalid"));
    // RE-CONFIG parameters.
    let reconfig = [130, 0, 0, 17, 0, 13, 0, 13, 0, 0, 0, 1, 0, 0, 0, 1, 0];
    check(&reconfig, SctpError::InvalidParameter(13, "too short"));
    let reconfig = [
        130, 0, 0, 20, 0, 16, 0, 16, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0,
    ];
    check(&reconfig, SctpError::InvalidParameter(16, "wrong length"));
    // FORWARD-TSN with half a stream entry.
    check(
        &[192, 0, 0, 10, 0, 0, 0, 1, 0, 1],
        SctpError::InvalidChunk(ChunkType::FORWARD_TSN, "partial stream entry"),
    );
}

#[test]
fn encode_rejects_values_too_large_for_their_fields() {
    let huge = Bytes::from(vec![0; 70_000]);
    let chunk = Chunk::CookieEcho(CookieEcho {
        cookie: huge.clone(),
    });
    assert_eq!(chunk.encoded_len(), Err(SctpError::TooLarge("chunk")));
    let mut out = Vec::new();
    assert_eq!(
        chunk.encode_into(&mut out),
        Err(SctpError::TooLarge("chunk"))
    );
    let packet = Packet {
        source_port: 1,
        destination_port: 2,
        verification_tag: 3,
        chunks: vec![Chunk::CookieAck, chunk],
    };
    assert!(packet.encode_into(&mut out, Checksum::Crc32c).is_err());
    assert!(out.is_empty(), "nothing written on error");

    let init = Chunk::Init(Init {
        initiate_tag: 1,
        a_rwnd: 1,
        num_outbound_streams: 1,
        num_inbound_streams: 1,
        initial_tsn: Tsn(1),
        params: vec![InitParam::StateCookie(huge)],
    });
    assert_eq!(
        init.encoded_len(),
        Err(SctpError::TooLarge("INIT parameter"))
    );
    let sack = Chunk::Sack(Sack {
        cumulative_tsn_ack: Tsn(0),
        a_rwnd: 0,
        gap_ack_blocks: vec![],
        duplicate_tsns: vec![Tsn(0); 70_000],
    });
    assert_eq!(
        sack.encoded_len(),
        Err(SctpError::TooLarge("SACK duplicate TSN count"))
    );
}

// ---- types, actions, serial numbers ----------------------------------------------------

#[test]
fn unknown_actions_follow_the_upper_two_bits() {
    // RFC 9260 §3.2: 00 stop, 01 stop and report, 10 skip, 11 skip and report.
    assert_eq!(ChunkType::AUTH.unknown_action(), UnknownAction::Stop);
    assert_eq!(
        ChunkType::I_DATA.unknown_action(),
        UnknownAction::StopAndReport
    );
    assert_eq!(ChunkType::RE_CONFIG.unknown_action(), UnknownAction::Skip);
    assert_eq!(
        ChunkType::FORWARD_TSN.unknown_action(),
        UnknownAction::SkipAndReport
    );
    assert!(UnknownAction::SkipAndReport.skips() && UnknownAction::SkipAndReport.reports());
    assert!(!UnknownAction::Stop.skips() && !UnknownAction::Stop.reports());
    // RFC 9260 §3.2.1 for parameters.
    assert_eq!(
        InitParam::ForwardTsnSupported.unknown_action(),
        UnknownAction::SkipAndReport
    );
    assert_eq!(
        InitParam::SupportedExtensions(vec![]).unknown_action(),
        UnknownAction::Skip
    );
    assert_eq!(
        InitParam::StateCookie(Bytes::new()).unknown_action(),
        UnknownAction::Stop
    );
    let padding = InitParam::Unknown {
        typ: 0x8005,
        value: Bytes::new(),
    };
    assert_eq!(padding.unknown_action(), UnknownAction::Skip);
    let unknown = Chunk::parse_all(Bytes::from_static(&[0x7f, 0xaa, 0, 5, 9])).unwrap();
    assert_eq!(
        unknown,
        [Chunk::Unknown(UnknownChunk {
            typ: ChunkType(0x7f),
            flags: 0xaa,
            value: Bytes::from_static(&[9])
        })]
    );
    assert_eq!(
        ChunkType(0x7f).unknown_action(),
        UnknownAction::StopAndReport
    );
    assert_eq!(ChunkType(0x7f).to_string(), "chunk type 127");
    assert_eq!(ChunkType::I_FORWARD_TSN.to_string(), "I-FORWARD-TSN");
}

#[test]
fn serial_number_arithmetic_rfc1982() {
    assert!(Tsn(1).is_newer_than(Tsn(u32::MAX)));
    assert!(Tsn(u32::MAX) < Tsn(0));
    assert!(Tsn(5) < Tsn(10) && Tsn(10) > Tsn(5));
    assert_eq!(Tsn(u32::MAX).next(), Tsn(0));
    assert_eq!(Tsn(0).prev(), Tsn(u32::MAX));
    assert_eq!(Tsn(2).distance(Tsn(u32::MAX - 1)), 4);
    assert_eq!(Tsn(u32::MAX - 1).offset_from(Tsn(2)), -4);
    // Exactly half the space apart: undefined (RFC 1982 §3.2), neither order holds.
    assert_eq!(Tsn(0).partial_cmp(&Tsn(1 << 31)), None);
    assert!(!Tsn(0).is_newer_than(Tsn(1 << 31)) && !Tsn(0).is_older_than(Tsn(1 << 31)));
    assert!(Ssn(0).is_newer_than(Ssn(u16::MAX)));
    assert!(Ssn(0x7fff).is_newer_than(Ssn(0)));
    assert_eq!(Ssn(0).partial_cmp(&Ssn(0x8000)), None);
    assert!(Ssn(0x8001).is_older_than(Ssn(0)));
    assert_eq!(Ssn(u16::MAX).add(2), Ssn(1));
    assert_eq!(Mid(7).partial_cmp(&Mid(7)), Some(Ordering::Equal));
}

// ---- property tests --------------------------------------------------------------------

fn arb_bytes(max: usize) -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn arb_vec<T: std::fmt::Debug>(s: impl Strategy<Value = T>) -> impl Strategy<Value = Vec<T>> {
    proptest::collection::vec(s, 0..6)
}

const KNOWN_INIT_PARAMS: [u16; 11] = [5, 6, 7, 8, 9, 11, 12, 0x8000, 0x8001, 0x8008, 0xC000];

fn arb_init_param() -> impl Strategy<Value = InitParam> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|a| InitParam::Ipv4Address(Ipv4Addr::from(a))),
        any::<[u8; 16]>().prop_map(|a| InitParam::Ipv6Address(Ipv6Addr::from(a))),
        arb_bytes(40).prop_map(InitParam::StateCookie),
        arb_bytes(20).prop_map(InitParam::UnrecognizedParameter),
        any::<u32>().prop_map(InitParam::CookiePreservative),
        arb_bytes(20).prop_map(InitParam::HostNameAddress),
        arb_vec(any::<u16>()).prop_map(InitParam::SupportedAddressTypes),
        Just(InitParam::EcnCapable),
        any::<u32>().prop_map(|e| InitParam::ZeroChecksumAcceptable(Edmid(e))),
        arb_vec(any::<u8>().prop_map(ChunkType)).prop_map(InitParam::SupportedExtensions),
        Just(InitParam::ForwardTsnSupported),
        (
            any::<u16>().prop_filter("unknown", |t| !KNOWN_INIT_PARAMS.contains(t)),
            arb_bytes(20)
        )
            .prop_map(|(typ, value)| InitParam::Unknown { typ, value }),
    ]
}

fn arb_cause() -> impl Strategy<Value = ErrorCause> {
    prop_oneof![
        any::<u16>().prop_map(|s| ErrorCause::InvalidStreamIdentifier(Sid(s))),
        arb_vec(any::<u16>()).prop_map(ErrorCause::MissingMandatoryParameter),
        any::<u32>().prop_map(ErrorCause::StaleCookie),
        Just(ErrorCause::OutOfResource),
        arb_bytes(20).prop_map(ErrorCause::UnresolvableAddress),
        arb_bytes(20).prop_map(ErrorCause::UnrecognizedChunkType),
        Just(ErrorCause::InvalidMandatoryParameter),
        arb_bytes(20).prop_map(ErrorCause::UnrecognizedParameters),
        any::<u32>().prop_map(|t| ErrorCause::NoUserData(Tsn(t))),
        Just(ErrorCause::CookieReceivedWhileShuttingDown),
        arb_bytes(20).prop_map(ErrorCause::RestartWithNewAddresses),
        arb_bytes(20).prop_map(ErrorCause::UserInitiatedAbort),
        arb_bytes(20).prop_map(ErrorCause::ProtocolViolation),
        (14u16.., arb_bytes(20)).prop_map(|(code, info)| ErrorCause::Unknown { code, info }),
    ]
}

fn arb_reconfig_param() -> impl Strategy<Value = ReconfigParam> {
    let seq = || any::<u32>().prop_map(ReconfigSeq);
    let tsn = || any::<u32>().prop_map(Tsn);
    let sids = || arb_vec(any::<u16>().prop_map(Sid));
    prop_oneof![
        (seq(), seq(), tsn(), sids()).prop_map(|(request_seq, response_seq, last_tsn, streams)| {
            ReconfigParam::OutgoingSsnResetRequest {
                request_seq,
                response_seq,
                last_tsn,
                streams,
            }
        }),
        (seq(), sids()).prop_map(|(request_seq, streams)| {
            ReconfigParam::IncomingSsnResetRequest {
                request_seq,
                streams,
            }
        }),
        seq().prop_map(|request_seq| ReconfigParam::SsnTsnResetRequest { request_seq }),
        (seq(), any::<u32>(), proptest::option::of((tsn(), tsn()))).prop_map(
            |(response_seq, r, t)| {
                ReconfigParam::Response {
                    response_seq,
                    result: ReconfigResult::from_u32(r),
                    next_tsns: t.map(|(s, r)| ResponseTsns {
                        sender_next_tsn: s,
                        receiver_next_tsn: r,
                    }),
                }
            }
        ),
        (seq(), any::<u16>()).prop_map(|(request_seq, new_streams)| {
            ReconfigParam::AddOutgoingStreams {
                request_seq,
                new_streams,
            }
        }),
        (seq(), any::<u16>()).prop_map(|(request_seq, new_streams)| {
            ReconfigParam::AddIncomingStreams {
                request_seq,
                new_streams,
            }
        }),
        (prop_oneof![0u16..13, 19u16..], arb_bytes(20))
            .prop_map(|(typ, value)| ReconfigParam::Unknown { typ, value }),
    ]
}

fn arb_init() -> impl Strategy<Value = Init> {
    (
        any::<u32>(),
        any::<u32>(),
        any::<u16>(),
        any::<u16>(),
        any::<u32>(),
        arb_vec(arb_init_param()),
    )
        .prop_map(|(initiate_tag, a_rwnd, os, mis, tsn, params)| Init {
            initiate_tag,
            a_rwnd,
            num_outbound_streams: os,
            num_inbound_streams: mis,
            initial_tsn: Tsn(tsn),
            params,
        })
}

/// Types `Chunk::parse_value` models; anything else decodes as `Chunk::Unknown`.
const MODELLED_CHUNKS: [u8; 19] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 64, 130, 132, 192, 194, 255,
];

fn arb_chunk() -> impl Strategy<Value = Chunk> {
    let flags4 = || any::<[bool; 4]>();
    prop_oneof![
        (flags4(), any::<(u32, u16, u16, u32)>(), arb_bytes(64)).prop_map(
            |(f, (tsn, sid, ssn, ppid), user_data)| {
                Chunk::Data(Data {
                    unordered: f[0],
                    beginning: f[1],
                    ending: f[2],
                    immediate: f[3],
                    tsn: Tsn(tsn),
                    stream_id: Sid(sid),
                    ssn: Ssn(ssn),
                    ppid: Ppid(ppid),
                    user_data,
                })
            }
        ),
        (flags4(), any::<(u32, u16, u32, u32)>(), arb_bytes(64)).prop_map(
            |(f, (tsn, sid, mid, word), user_data)| {
                Chunk::IData(IData {
                    unordered: f[0],
                    ending: f[2],
                    immediate: f[3],
                    tsn: Tsn(tsn),
                    stream_id: Sid(sid),
                    mid: Mid(mid),
                    ppid_or_fsn: if f[1] {
                        PpidOrFsn::Ppid(Ppid(word))
                    } else {
                        PpidOrFsn::Fsn(Fsn(word))
                    },
                    user_data,
                })
            }
        ),
        arb_init().prop_map(Chunk::Init),
        arb_init().prop_map(Chunk::InitAck),
        (
            any::<u32>(),
            any::<u32>(),
            arb_vec(any::<(u16, u16)>()),
            arb_vec(any::<u32>())
        )
            .prop_map(|(cum, a_rwnd, gaps, dups)| {
                Chunk::Sack(Sack {
                    cumulative_tsn_ack: Tsn(cum),
                    a_rwnd,
                    gap_ack_blocks: gaps
                        .into_iter()
                        .map(|(start, end)| GapAckBlock { start, end })
                        .collect(),
                    duplicate_tsns: dups.into_iter().map(Tsn).collect(),
                })
            }),
        arb_bytes(30).prop_map(|i| Chunk::Heartbeat(Heartbeat::with_sender_info(&i).unwrap())),
        (4usize..40)
            .prop_flat_map(|n| proptest::collection::vec(any::<u8>(), n))
            .prop_map(|info| Chunk::HeartbeatAck(Heartbeat {
                info: Bytes::from(info)
            })),
        (any::<bool>(), arb_vec(arb_cause())).prop_map(|(tag_reflected, causes)| Chunk::Abort(
            Abort {
                tag_reflected,
                causes
            }
        )),
        any::<u32>().prop_map(|t| Chunk::Shutdown(Shutdown {
            cumulative_tsn_ack: Tsn(t)
        })),
        Just(Chunk::ShutdownAck),
        arb_vec(arb_cause()).prop_map(|causes| Chunk::Error(ErrorChunk { causes })),
        arb_bytes(64).prop_map(|cookie| Chunk::CookieEcho(CookieEcho { cookie })),
        Just(Chunk::CookieAck),
        any::<bool>()
            .prop_map(|tag_reflected| Chunk::ShutdownComplete(ShutdownComplete { tag_reflected })),
        (any::<u32>(), arb_vec(any::<(u16, u16)>())).prop_map(|(t, s)| {
            Chunk::ForwardTsn(ForwardTsn {
                new_cumulative_tsn: Tsn(t),
                streams: s
                    .into_iter()
                    .map(|(sid, ssn)| ForwardTsnStream {
                        stream_id: Sid(sid),
                        ssn: Ssn(ssn),
                    })
                    .collect(),
            })
        }),
        (any::<u32>(), arb_vec(any::<(u16, bool, u32)>())).prop_map(|(t, s)| {
            Chunk::IForwardTsn(IForwardTsn {
                new_cumulative_tsn: Tsn(t),
                streams: s
                    .into_iter()
                    .map(|(sid, unordered, mid)| IForwardTsnStream {
                        stream_id: Sid(sid),
                        unordered,
                        mid: Mid(mid),
                    })
                    .collect(),
            })
        }),
        arb_vec(arb_reconfig_param()).prop_map(|params| Chunk::ReConfig(ReConfig { params })),
        arb_bytes(40).prop_map(|padding| Chunk::Pad(Pad { padding })),
        (
            any::<u8>().prop_filter("unmodelled", |t| !MODELLED_CHUNKS[..18].contains(t)),
            any::<u8>(),
            arb_bytes(40)
        )
            .prop_map(|(t, flags, value)| Chunk::Unknown(UnknownChunk {
                typ: ChunkType(t),
                flags,
                value
            })),
    ]
}

fn arb_packet() -> impl Strategy<Value = Packet> {
    (
        any::<u16>(),
        any::<u16>(),
        any::<u32>(),
        proptest::collection::vec(arb_chunk(), 1..5),
    )
        .prop_map(
            |(source_port, destination_port, verification_tag, chunks)| Packet {
                source_port,
                destination_port,
                verification_tag,
                chunks,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// decode(encode(x)) == x for every chunk type, alone and bundled, with both
    /// checksum kinds; encoded_len is what gets written; every truncation is rejected.
    #[test]
    fn packet_roundtrip(packet in arb_packet()) {
        for chunk in &packet.chunks {
            let mut one = Vec::new();
            chunk.encode_into(&mut one).unwrap();
            prop_assert_eq!(one.len(), chunk.encoded_len().unwrap());
            prop_assert_eq!(one.len() % 4, 0);
            prop_assert_eq!(Chunk::parse_all(Bytes::from(one)).unwrap(), vec![chunk.clone()]);
        }
        let bytes = packet.to_bytes(Checksum::Crc32c).unwrap();
        prop_assert_eq!(bytes.len(), packet.encoded_len().unwrap());
        prop_assert_eq!(&Packet::parse(bytes.clone(), ChecksumPolicy::Verify).unwrap(), &packet);
        let zero = packet.to_bytes(Checksum::Zero).unwrap();
        prop_assert_eq!(&Packet::parse(zero.clone(), ChecksumPolicy::AcceptZero).unwrap(), &packet);
        prop_assert_eq!(Packet::parse(zero, ChecksumPolicy::Verify).is_err(), checksum(&bytes) != 0);
        assert_truncations_rejected(&bytes.slice(COMMON_HEADER_LEN..));
    }

    /// A packet written chunk by chunk (DATA by reference) is the packet `to_bytes`
    /// writes, except that INIT, INIT-ACK and COOKIE-ECHO keep their CRC32c.
    #[test]
    fn packet_writer_matches_to_bytes(packet in arb_packet()) {
        for kind in [Checksum::Crc32c, Checksum::Zero] {
            let mut buf = b"before".to_vec();
            let mut w = PacketWriter::new(
                &mut buf,
                packet.source_port,
                packet.destination_port,
                packet.verification_tag,
            );
            for c in &packet.chunks {
                match c {
                    Chunk::Data(d) => w.push_data(d).unwrap(),
                    c => w.push(c).unwrap(),
                }
            }
            let forbids_zero = packet.chunks.iter().any(|c| {
                matches!(c, Chunk::Init(_) | Chunk::InitAck(_) | Chunk::CookieEcho(_))
            });
            let expected_kind = if forbids_zero { Checksum::Crc32c } else { kind };
            let len = w.finish(kind).unwrap();
            let expected = packet.to_bytes(expected_kind).unwrap();
            prop_assert_eq!(len, expected.len());
            prop_assert_eq!(&buf[..6], b"before");
            prop_assert_eq!(&buf[6..], &expected[..]);
        }
    }

    /// A fragment written as I-DATA parses back with its MID, and the PPID or FSN as
    /// its B bit says (RFC 8260 §2.1).
    #[test]
    fn fragments_written_as_idata_parse_back(
        packet in arb_packet(),
        mid in any::<u32>(),
        fsn in any::<u32>(),
    ) {
        for c in &packet.chunks {
            let Chunk::Data(d) = c else { continue };
            let mut buf = Vec::new();
            let mut w = PacketWriter::new(&mut buf, 5000, 5000, 1);
            w.push_idata(d, Mid(mid), Fsn(fsn)).unwrap();
            w.finish(Checksum::Crc32c).unwrap();
            let p = Packet::parse(Bytes::from(buf), ChecksumPolicy::Verify).unwrap();
            let [Chunk::IData(i)] = &p.chunks[..] else {
                panic!("not one I-DATA chunk: {:?}", p.chunks)
            };
            prop_assert_eq!(i.tsn, d.tsn);
            prop_assert_eq!(i.stream_id, d.stream_id);
            prop_assert_eq!(i.mid, Mid(mid));
            prop_assert_eq!((i.unordered, i.ending, i.immediate), (d.unordered, d.ending, d.immediate));
            prop_assert_eq!(i.beginning(), d.beginning);
            if d.beginning {
                prop_assert_eq!(i.ppid(), Some(d.ppid));
            } else {
                prop_assert_eq!(i.fsn(), Fsn(fsn));
            }
            prop_assert_eq!(&i.user_data, &d.user_data);
        }
    }

    /// Chunk and parameter length fields that point past the data are rejected.
    #[test]
    fn overlong_length_fields_rejected(packet in arb_packet(), which in any::<prop::sample::Index>(), extra in 1u16..64) {
        let bytes = packet.to_bytes(Checksum::Zero).unwrap();
        let area = &bytes[COMMON_HEADER_LEN..];
        let bounds = chunk_bounds(area);
        let (start, end, _) = bounds[which.index(bounds.len())];
        let mut lie = area[..end].to_vec();
        let len = be16(&lie, start + 2).saturating_add(extra);
        lie[start + 2..start + 4].copy_from_slice(&len.to_be_bytes());
        prop_assert_eq!(Chunk::parse_all(Bytes::from(lie)), Err(SctpError::ChunkLength));
    }

    /// Arbitrary bytes never panic, whatever the checksum policy; nor do valid packets
    /// with bytes flipped after the checksum is out of the way.
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        for policy in [ChecksumPolicy::Verify, ChecksumPolicy::AcceptZero] {
            let _ = Packet::parse(Bytes::from(data.clone()), policy);
        }
        let _ = Chunk::parse_all(Bytes::from(data));
    }

    #[test]
    fn mutated_packets_never_panic(
        packet in arb_packet(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = packet.to_bytes(Checksum::Zero).unwrap().to_vec();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if let Ok(p) = Packet::parse(Bytes::from(bytes), ChecksumPolicy::AcceptZero) {
            // Whatever parses re-encodes and parses to the same thing.
            let again = p.to_bytes(Checksum::Zero).unwrap();
            prop_assert_eq!(Packet::parse(again, ChecksumPolicy::AcceptZero).unwrap(), p);
        }
    }

    /// RFC 1982: anything less than half the space ahead is newer, and distance undoes add.
    #[test]
    fn serial_order(a in any::<u32>(), d in 1u32..(1 << 31), s in any::<u16>(), e in 1u16..(1 << 15)) {
        let (t, u) = (Tsn(a), Tsn(a).add(d));
        prop_assert!(u.is_newer_than(t) && t.is_older_than(u));
        prop_assert_eq!(t.partial_cmp(&u), Some(Ordering::Less));
        prop_assert_eq!(u.distance(t), d);
        prop_assert_eq!(i64::from(u.offset_from(t)), i64::from(d));
        let (x, y) = (Ssn(s), Ssn(s).add(e));
        prop_assert_eq!(y.partial_cmp(&x), Some(Ordering::Greater));
        prop_assert_eq!(y.distance(x), e);
    }
}
