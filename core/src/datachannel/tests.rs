use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::sctp::{ChecksumPolicy, Chunk, Data, Packet};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/chromium-156/sctp"
);

/// The DATA chunks of a fixture packet.
fn data_chunks(name: &str) -> Vec<Data> {
    let bytes = std::fs::read(format!("{FIXTURES}/{name}")).unwrap();
    Packet::parse(Bytes::from(bytes), ChecksumPolicy::Verify)
        .unwrap()
        .chunks
        .into_iter()
        .filter_map(|c| match c {
            Chunk::Data(d) => Some(d),
            _ => None,
        })
        .collect()
}

/// Chromium 156 opens `chat` (ordered, reliable) and `unrel` (unordered,
/// maxRetransmits 0) with priority 256; aiortc acknowledges each. The messages ride in
/// DATA chunks with PPID 50 and re-encode byte for byte.
#[test]
fn chromium_156_dcep_messages() {
    let cases = [
        (
            "data/009-from-browser-DATA-DCEP_OPEN.bin",
            "chat",
            ChannelType::Reliable,
        ),
        (
            "data/012-from-browser-DATA-DCEP_OPEN.bin",
            "unrel",
            ChannelType::PartialReliableRexmitUnordered,
        ),
        (
            "data-dtls-client/009-from-browser-DATA-DCEP_OPEN.bin",
            "chat",
            ChannelType::Reliable,
        ),
        (
            "data-dtls-client/012-from-browser-DATA-DCEP_OPEN.bin",
            "unrel",
            ChannelType::PartialReliableRexmitUnordered,
        ),
    ];
    for (file, label, channel_type) in cases {
        let [data] = &data_chunks(file)[..] else {
            panic!("{file}")
        };
        assert_eq!(data.ppid, Ppid::DCEP);
        let msg = DcepMessage::parse(&data.user_data).unwrap();
        let expected = DataChannelOpen {
            channel_type,
            priority: 256,
            reliability_parameter: 0,
            label: label.into(),
            protocol: String::new(),
        };
        assert_eq!(msg, DcepMessage::Open(expected.clone()), "{file}");
        let mut wire = Vec::new();
        msg.encode_into(&mut wire).unwrap();
        assert_eq!(wire, data.user_data, "{file}");
        assert_eq!(msg.encoded_len(), wire.len());

        // `unrel` is maxRetransmits: 0, not a reliable channel.
        let unordered = channel_type == ChannelType::PartialReliableRexmitUnordered;
        assert_eq!(channel_type.is_ordered(), !unordered);
        assert_eq!(expected.max_retransmits(), unordered.then_some(0));
        assert_eq!(expected.max_packet_life_time(), None);
    }
    for file in [
        "data/010-to-browser-DATA-DCEP_ACK.bin",
        "data/013-to-browser-DATA-DCEP_ACK.bin",
    ] {
        let [data] = &data_chunks(file)[..] else {
            panic!("{file}")
        };
        assert_eq!(data.ppid, Ppid::DCEP);
        assert_eq!(DcepMessage::parse(&data.user_data), Ok(DcepMessage::Ack));
    }
}

/// RFC 8831 §8 values, and the PPIDs Chromium actually used for each message kind.
#[test]
fn ppids() {
    assert_eq!(
        [
            Ppid::DCEP,
            Ppid::STRING,
            Ppid::BINARY_PARTIAL,
            Ppid::BINARY,
            Ppid::STRING_PARTIAL
        ],
        [Ppid(50), Ppid(51), Ppid(52), Ppid(53), Ppid(54)]
    );
    assert_eq!(
        [Ppid::STRING_EMPTY, Ppid::BINARY_EMPTY],
        [Ppid(56), Ppid(57)]
    );
    assert!(Ppid::STRING_EMPTY.is_empty_message() && Ppid::STRING_EMPTY.is_string());
    assert!(Ppid::BINARY_EMPTY.is_empty_message() && !Ppid::BINARY_EMPTY.is_string());
    assert!(!Ppid::STRING.is_empty_message() && !Ppid::BINARY.is_string());

    let ppid = |file, i: usize| data_chunks(file)[i].ppid;
    assert_eq!(
        ppid("data/017-from-browser-DATA-String.bin", 0),
        Ppid::STRING
    );
    assert_eq!(
        ppid("data/026-from-browser-SACK+DATA-StringEmpty.bin", 0),
        Ppid::STRING_EMPTY
    );
    assert_eq!(
        ppid("data/029-from-browser-SACK+DATA-BinaryEmpty.bin", 0),
        Ppid::BINARY_EMPTY
    );
    assert_eq!(
        ppid("data/032-from-browser-SACK+DATA-Binary.bin", 0),
        Ppid::BINARY
    );
}

#[test]
fn channel_types_rfc8832_5_1() {
    for (v, t) in [
        (0x00, ChannelType::Reliable),
        (0x80, ChannelType::ReliableUnordered),
        (0x01, ChannelType::PartialReliableRexmit),
        (0x81, ChannelType::PartialReliableRexmitUnordered),
        (0x02, ChannelType::PartialReliableTimed),
        (0x82, ChannelType::PartialReliableTimedUnordered),
    ] {
        assert_eq!(ChannelType::from_u8(v), Some(t));
        assert_eq!(t.to_u8(), v);
        assert_eq!(t.is_ordered(), v & 0x80 == 0);
    }
    assert_eq!(ChannelType::from_u8(0x03), None);
    let timed = DataChannelOpen {
        channel_type: ChannelType::PartialReliableTimed,
        priority: 512,
        reliability_parameter: 1500,
        label: "t".into(),
        protocol: "p".into(),
    };
    assert_eq!(
        (timed.max_packet_life_time(), timed.max_retransmits()),
        (Some(1500), None)
    );
}

#[test]
fn malformed_messages_rejected() {
    // OPEN, reliable, priority 256, label "ab", protocol "c".
    let good = [3, 0, 1, 0, 0, 0, 0, 0, 0, 2, 0, 1, b'a', b'b', b'c'];
    assert!(DcepMessage::parse(&good).is_ok());
    assert_eq!(DcepMessage::parse(&[]), Err(DcepError::Empty));
    assert_eq!(
        DcepMessage::parse(&[0x04]),
        Err(DcepError::UnknownMessageType(4))
    );
    assert_eq!(DcepMessage::parse(&[2, 0]), Err(DcepError::TrailingBytes));
    for cut in 1..good.len() {
        assert_eq!(
            DcepMessage::parse(&good[..cut]),
            Err(DcepError::Truncated),
            "cut {cut}"
        );
    }
    let mut long = good.to_vec();
    long.push(b'd');
    assert_eq!(DcepMessage::parse(&long), Err(DcepError::TrailingBytes));
    let mut lie = good;
    lie[8..10].copy_from_slice(&u16::MAX.to_be_bytes()); // label length 65535
    assert_eq!(DcepMessage::parse(&lie), Err(DcepError::Truncated));
    let mut bad_type = good;
    bad_type[1] = 0x7f;
    assert_eq!(
        DcepMessage::parse(&bad_type),
        Err(DcepError::UnknownChannelType(0x7f))
    );
    let mut bad_utf8 = good;
    bad_utf8[12] = 0xff;
    assert_eq!(DcepMessage::parse(&bad_utf8), Err(DcepError::InvalidUtf8));

    let huge = DcepMessage::Open(DataChannelOpen {
        channel_type: ChannelType::Reliable,
        priority: 0,
        reliability_parameter: 0,
        label: "x".repeat(70_000),
        protocol: String::new(),
    });
    let mut out = Vec::new();
    assert_eq!(huge.encode_into(&mut out), Err(DcepError::TooLong));
    assert!(out.is_empty(), "nothing written on error");
}

fn arb_channel_type() -> impl Strategy<Value = ChannelType> {
    prop::sample::select(vec![0x00u8, 0x80, 0x01, 0x81, 0x02, 0x82])
        .prop_map(|v| ChannelType::from_u8(v).unwrap())
}

proptest! {
    #[test]
    fn dcep_roundtrip(
        channel_type in arb_channel_type(),
        priority in any::<u16>(),
        reliability_parameter in any::<u32>(),
        label in ".{0,40}",
        protocol in ".{0,20}",
        ack in any::<bool>(),
    ) {
        let msg = if ack {
            DcepMessage::Ack
        } else {
            DcepMessage::Open(DataChannelOpen { channel_type, priority, reliability_parameter, label, protocol })
        };
        let mut wire = Vec::new();
        msg.encode_into(&mut wire).unwrap();
        prop_assert_eq!(wire.len(), msg.encoded_len());
        prop_assert_eq!(DcepMessage::parse(&wire).unwrap(), msg);
    }

    #[test]
    fn dcep_arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..100)) {
        let _ = DcepMessage::parse(&data);
        let mut open = vec![3, 0, 0, 0, 0, 0, 0, 0];
        open.extend_from_slice(&data);
        let _ = DcepMessage::parse(&open);
    }
}
