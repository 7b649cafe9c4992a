use std::net::SocketAddr;

use proptest::prelude::*;

use super::*;
use crate::crypto::RingProvider;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const TID_5769: [u8; 12] = [
    0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
];
const PWD_5769: &[u8] = b"VOkJxbRl1RmTxUk/WvJxBt";

fn rfc5769_request() -> Vec<u8> {
    hex("0001 0058 2112a442 b7e7a701 bc34d686 fa87dfae
         8022 0010 5354554e 20746573 7420636c 69656e74
         0024 0004 6e0001ff
         8029 0008 932ff9b1 51263b36
         0006 0009 6576746a 3a683676 59202020
         0008 0014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2
         8028 0004 e57a3bcf")
}

fn rfc5769_response_v4() -> Vec<u8> {
    hex("0101 003c 2112a442 b7e7a701 bc34d686 fa87dfae
         8022 000b 74657374 20766563 746f7220
         0020 0008 0001a147 e112a643
         0008 0014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7
         8028 0004 c07d4c96")
}

fn rfc5769_response_v6() -> Vec<u8> {
    hex("0101 0048 2112a442 b7e7a701 bc34d686 fa87dfae
         8022 000b 74657374 20766563 746f7220
         0020 0014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9
         0008 0014 a382954e 4be67bf1 1784c97c 8292c275 bfe3ed41
         8028 0004 c8fb0b4c")
}

/// RFC 5769 §2.1: sample request, parsed and checked.
#[test]
fn rfc5769_2_1_sample_request_parses_and_verifies() {
    let buf = rfc5769_request();
    let m = Message::parse(&buf).unwrap();
    assert_eq!(m.class(), Class::Request);
    assert_eq!(m.method(), Method::Binding);
    assert_eq!(m.transaction_id(), TransactionId(TID_5769));
    assert_eq!(m.username(), Some("evtj:h6vY"));
    assert_eq!(m.priority(), Some(0x6e0001ff));
    assert_eq!(m.ice_controlled(), Some(0x932ff9b151263b36));
    m.check_integrity(&RingProvider::new(), PWD_5769).unwrap();
    assert_eq!(
        m.check_integrity(&RingProvider::new(), b"wrong"),
        Err(StunError::Integrity)
    );
    let sw: Vec<_> = m
        .attributes()
        .filter_map(|a| match a {
            Attribute::Software(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(sw, ["STUN test client"]);
}

/// RFC 5769 §2.1: our encoder produces the sample request byte for byte.
#[test]
fn rfc5769_2_1_sample_request_encodes_byte_for_byte() {
    let mut b = MessageBuilder::new(Class::Request, Method::Binding, TransactionId(TID_5769));
    b.padding_byte(b' ')
        .software("STUN test client")
        .priority(0x6e0001ff)
        .ice_role(false, 0x932ff9b151263b36)
        .username("evtj:h6vY");
    assert_eq!(
        b.finish_with_integrity(&RingProvider::new(), PWD_5769),
        rfc5769_request()
    );
}

/// RFC 5769 §2.2: sample IPv4 response, both directions.
#[test]
fn rfc5769_2_2_sample_ipv4_response() {
    let buf = rfc5769_response_v4();
    let m = Message::parse(&buf).unwrap();
    assert_eq!(m.class(), Class::Success);
    let addr: SocketAddr = "192.0.2.1:32853".parse().unwrap();
    assert_eq!(m.mapped_address(), Some(addr));
    m.check_integrity(&RingProvider::new(), PWD_5769).unwrap();
    let mut b = MessageBuilder::new(Class::Success, Method::Binding, TransactionId(TID_5769));
    b.padding_byte(b' ')
        .software("test vector")
        .xor_mapped_address(addr);
    assert_eq!(b.finish_with_integrity(&RingProvider::new(), PWD_5769), buf);
}

/// RFC 5769 §2.3: sample IPv6 response, both directions.
#[test]
fn rfc5769_2_3_sample_ipv6_response() {
    let buf = rfc5769_response_v6();
    let m = Message::parse(&buf).unwrap();
    let addr: SocketAddr = "[2001:db8:1234:5678:11:2233:4455:6677]:32853"
        .parse()
        .unwrap();
    assert_eq!(m.mapped_address(), Some(addr));
    m.check_integrity(&RingProvider::new(), PWD_5769).unwrap();
    let mut b = MessageBuilder::new(Class::Success, Method::Binding, TransactionId(TID_5769));
    b.padding_byte(b' ')
        .software("test vector")
        .xor_mapped_address(addr);
    assert_eq!(b.finish_with_integrity(&RingProvider::new(), PWD_5769), buf);
}

/// RFC 5769 §2.4: request with long-term authentication. The password
/// "The\u{ad}M\u{aa}tr\u{2168}x" is "TheMatrIX" after SASLprep.
#[test]
fn rfc5769_2_4_long_term_authentication() {
    let buf = hex("0001 0060 2112a442 78ad3433 c6ad72c0 29da412e
         0006 0012 e3839ee3 8388e383 aae38383 e382afe3 82b90000
         0015 001c 662f2f34 39396b39 35346436 4f4c3334 6f4c3946 53547679 36347341
         0014 000b 6578616d 706c652e 6f726700
         0008 0014 f6702465 6dd64a3e 02b8e071 2e85c9a2 8ca89666");
    let m = Message::parse(&buf).unwrap();
    let user = "\u{30DE}\u{30C8}\u{30EA}\u{30C3}\u{30AF}\u{30B9}";
    assert_eq!(m.username(), Some(user));
    assert_eq!(m.nonce(), Some("f//499k954d6OL34oL9FSTvy64sA"));
    assert_eq!(m.realm(), Some("example.org"));
    let key = long_term_key(user, "example.org", "TheMatrIX");
    m.check_integrity(&RingProvider::new(), &key).unwrap();
    let mut b = MessageBuilder::new(
        Class::Request,
        Method::Binding,
        TransactionId(buf[8..20].try_into().unwrap()),
    );
    b.username(user)
        .attribute(&Attribute::Nonce("f//499k954d6OL34oL9FSTvy64sA"))
        .attribute(&Attribute::Realm("example.org"))
        .integrity(&RingProvider::new(), &key);
    assert_eq!(b.finish(), buf);
}

#[test]
fn message_type_bits_roundtrip() {
    for class in [
        Class::Request,
        Class::Indication,
        Class::Success,
        Class::Error,
    ] {
        for m in [0u16, 1, 3, 9, 0x0F, 0x70, 0xF80, 0xFFF] {
            let (c, mm) = decode_type(encode_type(class, Method::from_code(m)));
            assert_eq!((c, mm.code()), (class, m));
        }
    }
    // RFC 8489 §5: a Binding success response is 0x0101, an error 0x0111.
    assert_eq!(encode_type(Class::Success, Method::Binding), 0x0101);
    assert_eq!(encode_type(Class::Error, Method::Binding), 0x0111);
}

#[test]
fn corrupted_fingerprint_is_rejected() {
    let mut buf = rfc5769_request();
    let n = buf.len();
    buf[n - 1] ^= 1;
    assert_eq!(Message::parse(&buf).unwrap_err(), StunError::Fingerprint);
    // A flipped bit in the body breaks the fingerprint too.
    let mut buf = rfc5769_request();
    buf[30] ^= 0x40;
    assert_eq!(Message::parse(&buf).unwrap_err(), StunError::Fingerprint);
}

#[test]
fn truncated_and_malformed_inputs_are_errors() {
    let good = rfc5769_request();
    for n in 0..good.len() {
        assert!(Message::parse(&good[..n]).is_err(), "prefix {n} accepted");
    }
    let mut bad_cookie = good.clone();
    bad_cookie[4] = 0;
    assert_eq!(Message::parse(&bad_cookie).unwrap_err(), StunError::NotStun);
    let mut long_attr = good.clone();
    long_attr[22..24].copy_from_slice(&0xFFFFu16.to_be_bytes());
    assert!(Message::parse(&long_attr).is_err());
}

#[test]
fn attribute_after_fingerprint_is_misplaced() {
    let mut b = MessageBuilder::new(Class::Request, Method::Binding, TransactionId([1; 12]));
    b.fingerprint().priority(1);
    assert_eq!(
        Message::parse(&b.finish()).unwrap_err(),
        StunError::Misplaced(attr::PRIORITY)
    );
}

#[test]
fn attributes_after_integrity_are_ignored_except_fingerprint() {
    let mut b = MessageBuilder::new(Class::Request, Method::Binding, TransactionId([1; 12]));
    b.username("a:b")
        .integrity(&RingProvider::new(), b"k")
        .raw(0x7777, &[1, 2, 3])
        .fingerprint();
    // RFC 8489 §14.5 ignores attributes after MESSAGE-INTEGRITY other than the
    // SHA256 variant and FINGERPRINT; we accept such messages but never report them.
    let buf = b.finish();
    let m = Message::parse(&buf).unwrap();
    assert!(m.attributes().all(|a| a.typ() != 0x7777));
    assert_eq!(m.unknown_comprehension_required().count(), 0);
    m.check_integrity(&RingProvider::new(), b"k").unwrap();
}

#[test]
fn unknown_comprehension_required_attributes_are_listed() {
    let mut b = MessageBuilder::new(Class::Request, Method::Binding, TransactionId([2; 12]));
    b.raw(0x7001, b"x").raw(0xC057, b"goog").fingerprint();
    let buf = b.finish();
    let m = Message::parse(&buf).unwrap();
    assert_eq!(
        m.unknown_comprehension_required().collect::<Vec<_>>(),
        [0x7001]
    );
}

#[test]
fn integrity_sha256_roundtrip_and_truncation() {
    let mut b = MessageBuilder::new(Class::Request, Method::Binding, TransactionId([3; 12]));
    b.username("u")
        .integrity_sha256(&RingProvider::new(), b"key")
        .fingerprint();
    let buf = b.finish();
    let m = Message::parse(&buf).unwrap();
    m.check_integrity_sha256(&RingProvider::new(), b"key")
        .unwrap();
    assert_eq!(
        m.check_integrity_sha256(&RingProvider::new(), b"nope"),
        Err(StunError::Integrity)
    );
    assert_eq!(
        m.check_integrity(&RingProvider::new(), b"key"),
        Err(StunError::NoIntegrity)
    );
}

#[test]
fn every_typed_attribute_roundtrips() {
    let tid = TransactionId([9; 12]);
    let v6: SocketAddr = "[2001:db8::1]:4000".parse().unwrap();
    let v4: SocketAddr = "198.51.100.7:3478".parse().unwrap();
    let attrs = [
        Attribute::MappedAddress(v4),
        Attribute::XorMappedAddress(v6),
        Attribute::Username("user:name"),
        Attribute::ErrorCode {
            code: 487,
            reason: "Role Conflict",
        },
        Attribute::Realm("realm"),
        Attribute::Nonce("nonce"),
        Attribute::Software("sansrtc"),
        Attribute::Priority(0x7e_00_00_ff),
        Attribute::UseCandidate,
        Attribute::IceControlled(1),
        Attribute::IceControlling(u64::MAX),
        Attribute::Lifetime(600),
        Attribute::RequestedTransport(17),
        Attribute::XorPeerAddress(v4),
        Attribute::XorRelayedAddress(v6),
        Attribute::ChannelNumber(0x4000),
        Attribute::Data(&[1, 2, 3, 4, 5]),
        Attribute::DontFragment,
        Attribute::Other {
            typ: 0xC057,
            value: &[0, 1, 0, 2],
        },
    ];
    let mut b = MessageBuilder::new(Class::Indication, Method::Send, tid);
    for a in &attrs {
        b.attribute(a);
    }
    b.unknown_attributes(&[0x7001, 0x7002]);
    let buf = b.finish_with_fingerprint();
    let m = Message::parse(&buf).unwrap();
    let got: Vec<Attribute<'_>> = m.attributes().collect();
    assert_eq!(&got[..attrs.len()], &attrs);
    match &got[attrs.len()] {
        Attribute::UnknownAttributes(l) => {
            assert_eq!(l.iter().collect::<Vec<_>>(), [0x7001, 0x7002])
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(m.error_code(), Some((487, "Role Conflict")));
    assert_eq!(m.lifetime(), Some(600));
    assert_eq!(m.peer_address(), Some(v4));
    assert_eq!(m.relayed_address(), Some(v6));
    assert_eq!(m.data(), Some(&[1u8, 2, 3, 4, 5][..]));
}

/// Real Chromium 156 STUN traffic (and aiortc's answers to it): every message parses,
/// carries the attributes the capture lists, and verifies with the ICE password the
/// capture names (RFC 8445 §7.2.2: the receiver of a request owns the key).
#[test]
fn chromium_156_stun_fixtures_parse_and_verify() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/chromium-156/stun"
    );
    let index = std::fs::read_to_string(format!("{dir}/index.tsv")).unwrap();
    let mut checked = 0;
    for line in index.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        let buf = std::fs::read(format!("{dir}/{}", cols[0])).unwrap();
        let m = Message::parse(&buf).unwrap_or_else(|e| panic!("{}: {e}", cols[0]));
        assert!(is_stun(&buf));
        m.check_integrity(&RingProvider::new(), cols[1].as_bytes())
            .unwrap_or_else(|e| panic!("{}: {e}", cols[0]));
        if cols[2] != "-" {
            assert_eq!(m.username(), Some(cols[2]));
        }
        let names: Vec<&str> = m
            .attributes()
            .map(|a| match a.typ() {
                attr::USERNAME => "USERNAME",
                attr::PRIORITY => "PRIORITY",
                attr::ICE_CONTROLLED => "ICE-CONTROLLED",
                attr::ICE_CONTROLLING => "ICE-CONTROLLING",
                attr::USE_CANDIDATE => "USE-CANDIDATE",
                attr::XOR_MAPPED_ADDRESS => "XOR-MAPPED-ADDRESS",
                0xC057 => "GOOG-NETWORK-INFO",
                _ => "?",
            })
            .chain(["MESSAGE-INTEGRITY", "FINGERPRINT"])
            .collect();
        assert_eq!(names.join(","), cols[3], "{}", cols[0]);
        checked += 1;
    }
    assert_eq!(checked, 100);
}

fn arb_addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>()).prop_map(|(ip, p)| SocketAddr::from((ip, p))),
        (any::<[u8; 16]>(), any::<u16>()).prop_map(|(ip, p)| SocketAddr::from((ip, p))),
    ]
}

proptest! {
    /// Whatever we encode decodes to the same values and verifies.
    #[test]
    fn encode_decode_roundtrip(
        tid in any::<[u8; 12]>(),
        user in "[a-zA-Z0-9+/:]{1,64}",
        prio in any::<u32>(),
        tie in any::<u64>(),
        controlling in any::<bool>(),
        use_cand in any::<bool>(),
        addr in arb_addr(),
        data in proptest::collection::vec(any::<u8>(), 0..300),
        key in proptest::collection::vec(any::<u8>(), 1..40),
    ) {
        let mut b = MessageBuilder::new(Class::Request, Method::Binding, TransactionId(tid));
        b.username(&user).priority(prio).ice_role(controlling, tie).xor_mapped_address(addr)
            .attribute(&Attribute::Data(&data));
        if use_cand { b.use_candidate(); }
        let buf = b.finish_with_integrity(&RingProvider::new(), &key);
        let m = Message::parse(&buf).unwrap();
        prop_assert_eq!(m.transaction_id(), TransactionId(tid));
        prop_assert_eq!(m.username(), Some(user.as_str()));
        prop_assert_eq!(m.priority(), Some(prio));
        prop_assert_eq!(m.use_candidate(), use_cand);
        prop_assert_eq!(if controlling { m.ice_controlling() } else { m.ice_controlled() }, Some(tie));
        prop_assert_eq!(m.mapped_address(), Some(addr));
        prop_assert_eq!(m.data(), Some(&data[..]));
        prop_assert!(m.check_integrity(&RingProvider::new(), &key).is_ok());
    }

    /// Arbitrary bytes never panic the parser, and anything it accepts re-verifies its
    /// own length bookkeeping.
    #[test]
    fn parse_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(m) = Message::parse(&buf) {
            prop_assert_eq!(m.as_bytes().len(), buf.len());
            let _ = m.attributes().count();
        }
    }

    /// Valid-looking headers with random attribute soup never panic either.
    #[test]
    fn parse_attribute_soup_never_panics(body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut buf = vec![0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42];
        buf.extend_from_slice(&[0; 12]);
        let len = (body.len() & !3) as u16;
        buf[2..4].copy_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(&body[..usize::from(len)]);
        if let Ok(m) = Message::parse(&buf) {
            let _ = m.attributes().count();
            let _ = m.check_integrity(&RingProvider::new(), b"k");
            let _ = m.check_integrity_sha256(&RingProvider::new(), b"k");
        }
    }
}
