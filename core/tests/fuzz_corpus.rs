//! Replays the committed fuzz corpora (`core/fuzz/corpus/`) through the same harnesses the
//! cargo-fuzz targets run, so stable `cargo test` catches regressions on every input the
//! fuzzers ever kept, without nightly or libFuzzer.
//!
//! The crafted seeds are written by `write_seed_corpus` (ignored; run it with
//! `cargo test -p sansrtc --test fuzz_corpus -- --ignored write_seed_corpus` after changing
//! the harness input format).

use std::fs;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use sansrtc::crypto::RingProvider;
use sansrtc::dtls::{Dtls, DtlsError, DtlsRole};
use sansrtc::ice::IceConnectionState;
use sansrtc::io::Output;
use sansrtc::sctp::{ChecksumPolicy, Chunk, Packet};
use sansrtc::sdp::SessionDescription;
use sansrtc::stun::{Attribute, Class, MessageBuilder, Method, TransactionId, attr};

// The harness is shared with the fuzz targets; not every item is used by both.
#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod harness;

use harness::{
    DtlsRun, DtlsScript, Script, SctpRun, SctpScript, config, dtls_mode, dtls_op, flags, op,
};

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir(target);
    let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("directory entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read(&path).expect("corpus file"))
        })
        .collect();
    files.sort();
    files
}

/// Run `f` on every corpus file, then fail listing every file that panicked.
fn replay(target: &str, f: fn(&[u8])) -> usize {
    let files = corpus(target);
    assert!(!files.is_empty(), "corpus {target} is empty");
    let failed: Vec<&str> = files
        .iter()
        .filter(|(_, data)| catch_unwind(AssertUnwindSafe(|| f(data))).is_err())
        .map(|(name, _)| name.as_str())
        .collect();
    assert!(failed.is_empty(), "{target}: panicked on {failed:?}");
    files.len()
}

#[test]
fn mux_corpus_replays_without_panic() {
    let n = replay("mux", harness::mux);
    assert!(n >= 8, "mux corpus lost its seeds: {n} files");
    // The seeds reach every way of routing, and the stranger's way out.
    let stats = |name: &str| {
        let (_, data) = corpus("mux")
            .into_iter()
            .find(|(n, _)| n == name)
            .expect("seed");
        harness::run_mux(&data)
    };
    let s = stats("signed-check-then-data");
    assert_eq!(
        (s.routed_by_ufrag, s.paths_learned, s.routed_by_path),
        (1, 1, 1),
        "{s:?}"
    );
    // From a stranger, from the STUN server, then the same answer replayed.
    let s = stats("stun-answer-right-and-wrong-source");
    assert_eq!((s.routed_by_transaction, s.unknown_source), (1, 2), "{s:?}");
    let s = stats("forged-check-stranger");
    assert_eq!((s.unknown_source, s.paths_learned), (1, 0), "{s:?}");
}

#[test]
fn stun_corpus_replays_without_panic() {
    let n = replay("stun", harness::stun);
    assert!(n >= 20, "stun corpus lost its seeds: {n} files");
}

#[test]
fn ice_agent_corpus_replays_without_panic() {
    let n = replay("ice_agent", harness::ice_agent);
    assert!(n >= 20, "ice_agent corpus lost its seeds: {n} files");
}

#[test]
fn dtls_parse_corpus_replays_without_panic() {
    let n = replay("dtls_parse", harness::dtls_parse);
    assert!(n >= 40, "dtls_parse corpus lost its seeds: {n} files");
}

#[test]
fn dtls_server_corpus_replays_without_panic() {
    let n = replay("dtls_server", harness::dtls_server);
    assert!(n >= 10, "dtls_server corpus lost its seeds: {n} files");
}

#[test]
fn dtls_client_corpus_replays_without_panic() {
    let n = replay("dtls_client", harness::dtls_client);
    assert!(n >= 5, "dtls_client corpus lost its seeds: {n} files");
}

/// The recorded transcripts replay byte for byte on the insecure fuzz provider: they must
/// still reach the connected state, carry data both ways and close.
#[test]
fn dtls_transcript_seeds_reach_their_targets() {
    for (target, name) in [
        ("dtls_server", "transcript-server.bin"),
        ("dtls_server", "transcript-server-hvr-p256.bin"),
        (
            "dtls_server",
            "transcript-server-small-mtu-chacha-no-srtp.bin",
        ),
        ("dtls_server", "transcript-server-retransmit.bin"),
        ("dtls_client", "transcript-client.bin"),
        ("dtls_client", "transcript-client-p256-chacha.bin"),
        (
            "dtls_client",
            "transcript-client-small-mtu-no-ems-no-srtp.bin",
        ),
        ("dtls_client", "transcript-client-retransmit.bin"),
    ] {
        let (_, data) = corpus(target)
            .into_iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("seed {target}/{name} missing"));
        let o = harness::run_dtls(&data).expect("non-empty seed");
        assert!(o.connected, "{name}: {o:?}");
        assert!(o.app_data >= 1, "{name}: {o:?}");
        assert!(o.closed, "{name}: {o:?}");
        assert_eq!(o.failed, None, "{name}: {o:?}");
    }
    // With real crypto the peer's CertificateVerify covers a transcript our fresh ECDHE
    // key is not in: the replay fails there, after the certificate matched.
    let (_, data) = corpus("dtls_server")
        .into_iter()
        .find(|(n, _)| n == "transcript-server-real-crypto.bin")
        .expect("real-crypto seed");
    let o = harness::run_dtls(&data).expect("non-empty seed");
    assert_eq!(o.failed, Some(DtlsError::BadSignature), "{o:?}");
}

/// The signed-message mode is what lets the fuzzer past MESSAGE-INTEGRITY: the seeds
/// built on it must actually get answered, connect and so on.
#[test]
fn crafted_ice_seeds_reach_their_targets() {
    let outcome = |name: &str| {
        let (_, data) = corpus("ice_agent")
            .into_iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("seed {name} missing"));
        harness::run_ice_agent(&data).expect("non-empty seed")
    };

    let o = outcome("crafted-controlled-answers-chromium-request-and-connects.bin");
    assert!(o.stats.requests_received >= 1, "{o:?}");
    assert!(o.stats.responses_received >= 1, "{o:?}");
    assert!(o.selected, "{o:?}");
    assert_eq!(o.state, IceConnectionState::Connected);

    let o = outcome("crafted-controlling-nominates-consent-then-expires.bin");
    assert!(o.stats.responses_received >= 3, "{o:?}");
    assert!(o.stats.consent_checks_sent >= 1, "{o:?}");
    assert_eq!(o.state, IceConnectionState::Failed, "{o:?}");

    let o = outcome("crafted-completed-after-end-of-candidates.bin");
    assert_eq!(o.state, IceConnectionState::Completed, "{o:?}");

    let o = outcome("crafted-role-conflict-both-controlling.bin");
    assert!(o.stats.role_conflicts >= 2, "{o:?}");

    let o = outcome("crafted-gather-srflx-from-stun-server.bin");
    assert_eq!(o.local_candidates, 2, "{o:?}");

    let o = outcome("crafted-lite-agent-selects-on-use-candidate.bin");
    assert!(o.selected, "{o:?}");

    let o = outcome("crafted-prflx-remote-over-ipv6.bin");
    assert!(o.remote_candidates >= 2, "{o:?}");
    assert!(o.stats.responses_received >= 1, "{o:?}");

    let o = outcome("crafted-checks-time-out-to-failed.bin");
    assert_eq!(o.state, IceConnectionState::Failed, "{o:?}");

    let o = outcome("crafted-rejects-wrong-key-username-and-strays.bin");
    assert!(o.stats.dropped_bad_integrity >= 2, "{o:?}");
    assert!(o.stats.dropped_unknown_username >= 1, "{o:?}");
    assert!(o.stats.dropped_unknown_transaction >= 1, "{o:?}");
    assert_eq!(o.stats.requests_received, 0, "{o:?}");
}

// ---- seed generation --------------------------------------------------------------

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// RFC 5769 test vectors (§2.1 to §2.4).
fn rfc5769() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "rfc5769-2.1-request.bin",
            hex("0001 0058 2112a442 b7e7a701 bc34d686 fa87dfae
                 8022 0010 5354554e 20746573 7420636c 69656e74
                 0024 0004 6e0001ff
                 8029 0008 932ff9b1 51263b36
                 0006 0009 6576746a 3a683676 59202020
                 0008 0014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2
                 8028 0004 e57a3bcf"),
        ),
        (
            "rfc5769-2.2-response-ipv4.bin",
            hex("0101 003c 2112a442 b7e7a701 bc34d686 fa87dfae
                 8022 000b 74657374 20766563 746f7220
                 0020 0008 0001a147 e112a643
                 0008 0014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7
                 8028 0004 c07d4c96"),
        ),
        (
            "rfc5769-2.3-response-ipv6.bin",
            hex("0101 0048 2112a442 b7e7a701 bc34d686 fa87dfae
                 8022 000b 74657374 20766563 746f7220
                 0020 0014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9
                 0008 0014 a382954e 4be67bf1 1784c97c 8292c275 bfe3ed41
                 8028 0004 c8fb0b4c"),
        ),
        (
            "rfc5769-2.4-request-long-term.bin",
            hex("0001 0060 2112a442 78ad3433 c6ad72c0 29da412e
                 0006 0012 e3839ee3 8388e383 aae38383 e382afe3 82b90000
                 0015 001c 662f2f34 39396b39 35346436 4f4c3334 6f4c3946 53547679 36347341
                 0014 000b 6578616d 706c652e 6f726700
                 0008 0014 f6702465 6dd64a3e 02b8e071 2e85c9a2 8ca89666"),
        ),
    ]
}

/// One capture of each kind of Chromium packet in the fixtures.
const CHROMIUM: &[&str] = &[
    "data/001-to-browser-BindingRequest.bin",
    "data/002-from-browser-BindingSuccess.bin",
    "data/003-from-browser-BindingRequest-UseCandidate.bin",
    "data/004-to-browser-BindingSuccess.bin",
    "data/045-from-browser-BindingRequest.bin",
    "data-dtls-client/001-to-browser-BindingRequest.bin",
    "data-dtls-client/002-from-browser-BindingSuccess.bin",
    "data-dtls-client/003-from-browser-BindingRequest-UseCandidate.bin",
    "data-dtls-client/004-to-browser-BindingSuccess.bin",
    "media/001-to-browser-BindingRequest.bin",
    "media/002-from-browser-BindingSuccess.bin",
    "media/003-from-browser-BindingRequest-UseCandidate.bin",
    "media/004-to-browser-BindingSuccess.bin",
];

fn chromium() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chromium-156/stun");
    CHROMIUM
        .iter()
        .map(|f| {
            let name = format!("chromium-{}", f.replace('/', "-"));
            (name, fs::read(dir.join(f)).expect("fixture"))
        })
        .collect()
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn tid(b: u8) -> TransactionId {
    TransactionId([b; 12])
}

/// Hand-made STUN messages covering what the captures do not.
fn crafted_stun() -> Vec<(&'static str, Vec<u8>)> {
    let key = harness::STUN_KEY;
    let lt_key = sansrtc::stun::long_term_key("user", "example.org", "TheMatrIX");
    let req = || MessageBuilder::new(Class::Request, Method::Binding, tid(1));
    let mut out: Vec<(&'static str, Vec<u8>)> = Vec::new();

    out.push(("crafted-header-only-binding-request.bin", req().finish()));
    out.push((
        "crafted-binding-indication-fingerprint-only.bin",
        MessageBuilder::new(Class::Indication, Method::Binding, tid(2)).finish_with_fingerprint(),
    ));
    let mut b = MessageBuilder::new(Class::Error, Method::Binding, tid(3));
    b.error_code(420, "Unknown Attribute")
        .unknown_attributes(&[0x7F00, 0x0033, 0x0001])
        .software("sansrtc fuzz seed");
    out.push((
        "crafted-error-420-unknown-attributes.bin",
        b.finish_with_integrity(&RingProvider::new(), key),
    ));
    let mut b = MessageBuilder::new(Class::Error, Method::Binding, tid(4));
    b.error_code(487, "Role Conflict");
    out.push((
        "crafted-error-487-role-conflict.bin",
        b.finish_with_integrity(&RingProvider::new(), key),
    ));
    let mut b = MessageBuilder::new(Class::Success, Method::Binding, tid(5));
    b.xor_mapped_address(sa("[2001:db8::7]:40000"))
        .attribute(&Attribute::MappedAddress(sa("[2001:db8::7]:40000")))
        .integrity(&RingProvider::new(), key)
        .integrity_sha256(&RingProvider::new(), key)
        .fingerprint();
    out.push(("crafted-success-ipv6-integrity-and-sha256.bin", b.finish()));
    let mut b = MessageBuilder::new(Class::Success, Method::Binding, tid(6));
    b.xor_mapped_address(sa("203.0.113.9:1234"))
        .integrity_sha256(&RingProvider::new(), key)
        .fingerprint();
    out.push(("crafted-success-integrity-sha256-only.bin", b.finish()));
    let mut b = MessageBuilder::new(Class::Success, Method::Allocate, tid(7));
    b.attribute(&Attribute::XorRelayedAddress(sa("198.51.100.2:49152")))
        .xor_mapped_address(sa("203.0.113.9:1234"))
        .attribute(&Attribute::Lifetime(600))
        .software("turn")
        .integrity(&RingProvider::new(), &lt_key)
        .fingerprint();
    out.push(("crafted-turn-allocate-success.bin", b.finish()));
    let mut b = MessageBuilder::new(Class::Request, Method::Allocate, tid(8));
    b.attribute(&Attribute::RequestedTransport(17))
        .attribute(&Attribute::DontFragment)
        .attribute(&Attribute::Lifetime(3600))
        .raw(attr::REQUESTED_ADDRESS_FAMILY, &[2, 0, 0, 0])
        .raw(attr::EVEN_PORT, &[0x80])
        .username("user")
        .attribute(&Attribute::Realm("example.org"))
        .attribute(&Attribute::Nonce("f//499k954d6OL34oL9FSTvy64sA"))
        .integrity(&RingProvider::new(), &lt_key);
    out.push(("crafted-turn-allocate-request-long-term.bin", b.finish()));
    let mut b = MessageBuilder::new(Class::Indication, Method::Send, tid(9));
    b.attribute(&Attribute::XorPeerAddress(sa("[2001:db8::9]:5004")))
        .attribute(&Attribute::Data(b"\x80\x60hello rtp"))
        .attribute(&Attribute::DontFragment);
    out.push(("crafted-turn-send-indication-ipv6-peer.bin", b.finish()));
    let mut b = MessageBuilder::new(Class::Request, Method::ChannelBind, tid(10));
    b.attribute(&Attribute::ChannelNumber(0x4000))
        .attribute(&Attribute::XorPeerAddress(sa("192.0.2.44:5004")))
        .username("user")
        .attribute(&Attribute::Realm("example.org"))
        .attribute(&Attribute::Nonce("nonce"))
        .integrity(&RingProvider::new(), &lt_key)
        .fingerprint();
    out.push(("crafted-turn-channel-bind-request.bin", b.finish()));
    let mut b = req();
    b.username("a:b").integrity(&RingProvider::new(), key);
    b.raw(attr::MAPPED_ADDRESS, &[1, 2, 3]).fingerprint();
    out.push((
        "crafted-malformed-attribute-after-integrity-ignored.bin",
        b.finish(),
    ));
    let mut b = req();
    b.raw(0xC001, b"optional")
        .raw(0x7F00, b"required")
        .raw(attr::PASSWORD_ALGORITHMS, &[0, 1, 0, 0, 0, 2, 0, 0])
        .raw(attr::USERHASH, &[0xAB; 32])
        .priority(1)
        .ice_role(true, u64::MAX)
        .use_candidate();
    out.push((
        "crafted-unknown-and-ice-attributes.bin",
        b.finish_with_fingerprint(),
    ));
    let mut b = req();
    b.username(&"u".repeat(513));
    out.push(("crafted-username-513-bytes-max.bin", b.finish()));
    let mut b = req();
    b.username(&"u".repeat(514));
    out.push(("crafted-username-514-bytes-rejected.bin", b.finish()));
    let mut b = req();
    b.raw(attr::USERNAME, &[0xFF, 0xFE]);
    out.push(("crafted-username-not-utf8.bin", b.finish()));
    let mut b = req();
    b.raw(attr::XOR_MAPPED_ADDRESS, &[0, 3, 0, 1, 1, 2, 3, 4]);
    out.push(("crafted-address-bad-family.bin", b.finish()));
    let mut b = req();
    b.raw(attr::ERROR_CODE, &[0, 0, 7, 0]);
    out.push(("crafted-error-code-class-out-of-range.bin", b.finish()));
    let mut b = req();
    b.padding_byte(0xFF).username("odd").software("x");
    out.push((
        "crafted-nonzero-padding.bin",
        b.finish_with_integrity(&RingProvider::new(), key),
    ));
    let mut v = req().finish();
    v.extend_from_slice(&[0x00, 0x06, 0x00, 0x10, b'a', b'b', b'c', b'd']);
    v[3] = 8;
    out.push(("crafted-truncated-attribute.bin", v));
    let mut v = req().finish_with_fingerprint();
    let n = v.len();
    v[n - 1] ^= 1;
    out.push(("crafted-bad-fingerprint.bin", v));
    let mut b = req();
    b.fingerprint().software("after fingerprint");
    out.push(("crafted-attribute-after-fingerprint.bin", b.finish()));
    let mut b = req();
    b.integrity(&RingProvider::new(), key)
        .integrity(&RingProvider::new(), key);
    out.push(("crafted-two-message-integrity.bin", b.finish()));
    let mut v = rfc5769()[0].1.clone();
    v.push(0);
    out.push(("crafted-length-mismatch.bin", v));
    out.push((
        "crafted-method-other-0xfff.bin",
        MessageBuilder::new(Class::Request, Method::Other(0xFFF), tid(11))
            .finish_with_fingerprint(),
    ));
    out.push((
        "crafted-not-stun-rtp.bin",
        hex("80 60 0001 00000000 12345678 deadbeef deadbeef deadbeef"),
    ));
    out.push((
        "crafted-not-stun-dtls-record.bin",
        hex("16 fefd 0000 0000 0000 0000 0010 0100000c 0000 000000000000 0000"),
    ));
    out.push(("crafted-empty.bin", Vec::new()));
    out
}

/// Hand-made `ice_agent` scripts, each aimed at one part of the agent.
fn crafted_ice(chromium: &[(String, Vec<u8>)]) -> Vec<(&'static str, Vec<u8>)> {
    let chromium_request = &chromium
        .iter()
        .find(|(n, _)| n.contains("data-003"))
        .expect("data/003 fixture")
        .1;
    let local_v4 = [0u8, 1, 0x13, 0x88, 192, 0, 2, 1]; // MAPPED-ADDRESS 192.0.2.1:5000
    let srflx = [0u8, 1, 0x9c, 0x40, 203, 0, 113, 5]; // MAPPED-ADDRESS 203.0.113.5:40000
    let prio: &[u8] = &0x6e00_01ffu32.to_be_bytes();
    let tie_max: &[u8] = &u64::MAX.to_be_bytes();
    let tie_zero: &[u8] = &0u64.to_be_bytes();
    let (req, ind, ok, err) = (0, 1, 2, 3);
    let u = flags::USERNAME;
    let reuse = flags::REUSE_TID;
    let mapped = (attr::MAPPED_ADDRESS, &local_v4[..]);
    vec![
        (
            "crafted-controlled-answers-chromium-request-and-connects.bin",
            Script::new(0)
                .datagram(0, 0, chromium_request)
                .advance(8)
                .signed(ok, 0, 0, reuse, &[mapped])
                .advance(20)
                .into_bytes(),
        ),
        (
            "crafted-controlling-nominates-consent-then-expires.bin",
            Script::new(config::CONTROLLING)
                .signed(ok, 0, 0, reuse, &[mapped])
                .advance(5)
                .signed(ok, 0, 0, reuse, &[mapped])
                .advance(80)
                .signed(ok, 0, 0, reuse, &[mapped])
                .advance(255)
                .into_bytes(),
        ),
        (
            "crafted-completed-after-end-of-candidates.bin",
            Script::new(config::CONTROLLING)
                .control(op::END_OF_LOCAL_CANDIDATES)
                .control(op::END_OF_REMOTE_CANDIDATES)
                .signed(ok, 0, 0, reuse, &[mapped])
                .advance(5)
                .signed(ok, 0, 0, reuse, &[mapped])
                .advance(10)
                .into_bytes(),
        ),
        (
            "crafted-role-conflict-both-controlling.bin",
            Script::new(config::CONTROLLING)
                .signed(
                    req,
                    0,
                    0,
                    u,
                    &[(attr::PRIORITY, prio), (attr::ICE_CONTROLLING, tie_zero)],
                )
                .signed(
                    err,
                    0,
                    0,
                    reuse,
                    &[(attr::ERROR_CODE, b"\0\0\x04\x57Role Conflict")],
                )
                .advance(10)
                .signed(
                    req,
                    0,
                    0,
                    u,
                    &[(attr::PRIORITY, prio), (attr::ICE_CONTROLLED, tie_max)],
                )
                .advance(10)
                .into_bytes(),
        ),
        (
            "crafted-unknown-comprehension-required-420.bin",
            Script::new(0)
                .signed(
                    req,
                    0,
                    0,
                    u,
                    &[(attr::PRIORITY, prio), (0x7FFF, b"??"), (0x0033, b"")],
                )
                .signed(req, 0, 2, u, &[(0x7FFF, b"")])
                .into_bytes(),
        ),
        (
            "crafted-gather-srflx-from-stun-server.bin",
            Script::new(config::STUN_SERVER)
                .signed(
                    ok,
                    3,
                    0,
                    reuse | 1 << flags::TID_INDEX_SHIFT,
                    &[(attr::MAPPED_ADDRESS, &srflx[..])],
                )
                .control(op::END_OF_LOCAL_CANDIDATES)
                .advance(10)
                .into_bytes(),
        ),
        (
            "crafted-lite-agent-selects-on-use-candidate.bin",
            Script::new(config::LITE)
                .signed(
                    req,
                    0,
                    0,
                    u,
                    &[
                        (attr::PRIORITY, prio),
                        (attr::ICE_CONTROLLING, tie_max),
                        (attr::USE_CANDIDATE, b""),
                    ],
                )
                .advance(100)
                .signed(ind, 0, 0, 0, &[])
                .into_bytes(),
        ),
        (
            "crafted-prflx-remote-over-ipv6.bin",
            Script::new(config::LOCAL_V6)
                .signed(
                    req,
                    2,
                    1,
                    u,
                    &[(attr::PRIORITY, prio), (attr::USE_CANDIDATE, b"")],
                )
                .advance(8)
                .signed(
                    ok,
                    2,
                    1,
                    reuse,
                    &[(
                        attr::XOR_MAPPED_ADDRESS,
                        &[
                            0, 2, 0x32, 0x9a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                        ],
                    )],
                )
                .advance(8)
                .into_bytes(),
        ),
        (
            "crafted-checks-time-out-to-failed.bin",
            Script::new(0)
                .control(op::END_OF_LOCAL_CANDIDATES)
                .control(op::END_OF_REMOTE_CANDIDATES)
                .advance(255)
                .advance(255)
                .into_bytes(),
        ),
        (
            "crafted-rejects-wrong-key-username-and-strays.bin",
            Script::new(0)
                .signed(req, 0, 0, u | flags::SWAP_KEY, &[(attr::PRIORITY, prio)])
                .signed(req, 0, 0, 0, &[(attr::PRIORITY, prio)])
                .signed(ok, 0, 0, 0, &[mapped])
                .signed(ok, 0, 0, reuse | flags::SWAP_KEY, &[mapped])
                .datagram(1, 3, chromium_request)
                .datagram(0, 0, b"\x80\x60not stun at all")
                .into_bytes(),
        ),
        (
            "crafted-api-restart-new-credentials-close.bin",
            Script::new(config::CONTROLLING | config::LOCAL_V6)
                .signed(ok, 0, 0, reuse, &[mapped])
                .advance(5)
                .signed(ok, 0, 0, reuse, &[mapped])
                .control(op::ADD_REMOTE_HOST | 2 << 3)
                .control(op::ADD_REMOTE_HOST | 1 << 3 | 0x20)
                .control(op::ADD_REMOTE_SRFLX | 1 << 3)
                .control(op::RESTART)
                .advance(10)
                .control(op::SET_REMOTE_CREDENTIALS | 0x10)
                .control(op::ADD_LOCAL_V6)
                .advance(10)
                .control(op::CLOSE)
                .datagram(0, 0, chromium_request)
                .advance(10)
                .into_bytes(),
        ),
        (
            "crafted-remote-lite-credentials-late.bin",
            Script::new(config::NO_REMOTE_CREDENTIALS)
                .signed(req, 0, 0, u, &[(attr::PRIORITY, prio)])
                .control(op::SET_REMOTE_CREDENTIALS | 0x08)
                .advance(8)
                .signed(ok, 0, 0, reuse, &[mapped])
                .advance(8)
                .into_bytes(),
        ),
        (
            "crafted-allocate-sha256-no-fingerprint.bin",
            Script::new(0)
                .signed(
                    req,
                    0,
                    0,
                    u | flags::ALLOCATE,
                    &[(attr::REQUESTED_TRANSPORT, &[17, 0, 0, 0])],
                )
                .signed(
                    req,
                    0,
                    0,
                    u | flags::SHA256 | flags::NO_FINGERPRINT,
                    &[(attr::PRIORITY, prio)],
                )
                .into_bytes(),
        ),
    ]
}

/// Writes the crafted seeds (and the Chromium and RFC 5769 packets) into the corpora.
#[test]
#[ignore = "writes core/fuzz/corpus; run by hand after changing the harness format"]
fn write_seed_corpus() {
    let chromium = chromium();
    let write = |target: &str, name: &str, data: &[u8]| {
        fs::create_dir_all(corpus_dir(target)).unwrap();
        fs::write(corpus_dir(target).join(name), data).unwrap();
    };
    for (name, data) in &chromium {
        write("stun", name, data);
        write(
            "ice_agent",
            &format!("raw-{name}"),
            &Script::new(0).datagram(0, 0, data).advance(8).into_bytes(),
        );
    }
    for (name, data) in rfc5769() {
        write("stun", name, &data);
        write(
            "ice_agent",
            &format!("raw-{name}"),
            &Script::new(0).datagram(0, 0, &data).into_bytes(),
        );
    }
    for (name, data) in crafted_stun() {
        write("stun", name, &data);
    }
    for (name, data) in crafted_ice(&chromium) {
        write("ice_agent", name, &data);
    }
}

// ---- DTLS seeds ---------------------------------------------------------------------

const DTLS_FIXTURES: &str = "tests/fixtures/chromium-156/dtls";

/// Every Chromium DTLS datagram of one capture directory, in order: (file name, bytes).
fn chromium_dtls(dir: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(DTLS_FIXTURES)
        .join(dir);
    let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read(&p).expect("fixture"))
        })
        .collect();
    files.sort();
    files
}

/// The datagrams the browser sent in one capture, as a `dtls` script.
fn chromium_script(mode: u8, dir: &str, upto: usize) -> Vec<u8> {
    let mut s = DtlsScript::new(mode);
    for (name, data) in chromium_dtls(dir)
        .iter()
        .filter(|(n, _)| n.contains("from-browser"))
    {
        if name[..3].parse::<usize>().unwrap() <= upto {
            s.push_datagram(data);
        }
    }
    s.into_bytes()
}

/// Knobs of a recorded handshake.
#[derive(Clone, Copy, Default)]
struct Transcript {
    /// Drop the first datagram the harness side sends after the handshake started, so a
    /// retransmission timer fires (recorded as a time advance).
    lose_one: bool,
}

/// Our client and our server handshake in memory; the datagrams the harness side (the
/// role in `mode`) receives become a `dtls` script, then both sides exchange application
/// data and the peer closes. Returns the script and every datagram of the exchange.
fn record_transcript(mode: u8, t: Transcript) -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut script = DtlsScript::new(mode);
    let mut run = DtlsRun::new(mode);
    run.keep_all_sent();
    let peer_role = if mode & dtls_mode::CLIENT != 0 {
        DtlsRole::Server
    } else {
        DtlsRole::Client
    };
    let mut peer = Dtls::new(peer_role, harness::dtls_config(mode, peer_role), run.now());
    let mut all = Vec::new();
    let mut forwarded = 0;
    // Which non-empty batch of the harness side to lose the first datagram of: the
    // server's first flight, or the client's second (its first is the ClientHello).
    let mut lose_batch = if !t.lose_one {
        None
    } else if mode & dtls_mode::CLIENT != 0 {
        Some(1)
    } else {
        Some(0)
    };
    let mut batches = 0;
    let mut connected = false;
    for _ in 0..32 {
        let from_peer = drain_peer(&mut peer, &mut connected);
        for p in &from_peer {
            all.push(p.clone());
            script.push_datagram(p);
            run.datagram(p);
        }
        let batch: Vec<Vec<u8>> = run.sent[forwarded..].to_vec();
        forwarded = run.sent.len();
        if batch.is_empty() && from_peer.is_empty() && connected && run.outcome.connected {
            break;
        }
        if batch.is_empty() {
            continue;
        }
        let lose = lose_batch == Some(batches);
        batches += 1;
        for (i, p) in batch.iter().enumerate() {
            all.push(p.clone());
            if !(lose && i == 0) {
                peer.handle_datagram(run.now(), p);
            }
        }
        if lose {
            // Lost: the retransmission timers fire instead (picked up next round).
            lose_batch = None;
            script = script.advance(40);
            run.advance(Duration::from_millis(1600));
            peer.handle_timeout(run.now());
        }
    }
    assert!(
        connected && run.outcome.connected,
        "handshake did not complete"
    );
    // Data both ways, then the peer closes.
    peer.send(b"hello from the peer").unwrap();
    script = script.send(b"hello from the harness side");
    run.send(b"hello from the harness side");
    for p in &run.sent[forwarded..] {
        all.push(p.clone());
        peer.handle_datagram(run.now(), p);
    }
    peer.close();
    for p in drain_peer(&mut peer, &mut connected) {
        all.push(p.clone());
        script.push_datagram(&p);
        run.datagram(&p);
    }
    assert_eq!(run.outcome.app_data, 1);
    assert!(run.outcome.closed);
    (script.into_bytes(), all)
}

/// Every datagram `peer` has to send; notes a Connected event.
fn drain_peer(peer: &mut Dtls, connected: &mut bool) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        match peer.poll_output() {
            Output::Transmit(p) => out.push(p.to_vec()),
            Output::Event(e) => {
                *connected |= matches!(e, sansrtc::dtls::DtlsEvent::Connected { .. });
            }
            Output::Timeout(_) => return out,
        }
    }
}

/// Writes the DTLS seeds: Chromium captures and recorded transcripts.
#[test]
#[ignore = "writes core/fuzz/corpus; run by hand after changing the harness format"]
fn write_dtls_seed_corpus() {
    let write = |target: &str, name: &str, data: &[u8]| {
        fs::create_dir_all(corpus_dir(target)).unwrap();
        fs::write(corpus_dir(target).join(name), data).unwrap();
    };
    let capture_dirs = [
        "client-role",
        "client-role-hvr",
        "server-role",
        "server-role-media",
    ];
    for dir in capture_dirs {
        for (name, data) in chromium_dtls(dir) {
            write("dtls_parse", &format!("chromium-{dir}-{name}"), &data);
        }
    }
    // The browser as client: its ClientHello (two fragments) and then its whole side.
    let (m0, real) = (0, dtls_mode::REAL_CRYPTO);
    let hv = dtls_mode::HELLO_VERIFY;
    for (name, mode, dir, upto) in [
        ("chromium-client-hello-frags", m0, "client-role", 2),
        ("chromium-client-hello-frags-real", real, "client-role", 2),
        ("chromium-client-role-all", m0, "client-role", 99),
        ("chromium-client-role-all-real", real, "client-role", 99),
        (
            "chromium-client-role-hvr-hello-frags",
            hv,
            "client-role-hvr",
            5,
        ),
        (
            "chromium-client-role-hvr-all-real",
            hv | real,
            "client-role-hvr",
            99,
        ),
        (
            "chromium-client-hello-p256-no-srtp",
            dtls_mode::P256_ONLY | dtls_mode::NO_SRTP,
            "client-role",
            2,
        ),
    ] {
        write(
            "dtls_server",
            &format!("{name}.bin"),
            &chromium_script(mode, dir, upto),
        );
    }
    // The browser as server: its flights to our client.
    let c = dtls_mode::CLIENT;
    for (name, mode, dir) in [
        ("chromium-server-role-all", c, "server-role"),
        ("chromium-server-role-all-real", c | real, "server-role"),
        (
            "chromium-server-role-media-all",
            c | dtls_mode::CHACHA_FIRST,
            "server-role-media",
        ),
    ] {
        write(
            "dtls_client",
            &format!("{name}.bin"),
            &chromium_script(mode, dir, 99),
        );
    }
    // Chromium's ClientHello, then a time advance past the handshake timeout.
    write(
        "dtls_server",
        "chromium-client-hello-then-timeout.bin",
        &DtlsScript::new(0)
            .datagram(&chromium_dtls("client-role")[0].1)
            .datagram(&chromium_dtls("client-role")[1].1)
            .advance(120)
            .advance(200)
            .into_bytes(),
    );

    let lossy = Transcript { lose_one: true };
    let p256 = dtls_mode::P256_ONLY;
    let chacha = dtls_mode::CHACHA_FIRST;
    let small = dtls_mode::SMALL_MTU;
    for (target, name, mode, t) in [
        ("dtls_server", "transcript-server", 0, Transcript::default()),
        (
            "dtls_server",
            "transcript-server-hvr-p256",
            hv | p256,
            Transcript::default(),
        ),
        (
            "dtls_server",
            "transcript-server-small-mtu-chacha-no-srtp",
            small | chacha | dtls_mode::NO_SRTP,
            Transcript::default(),
        ),
        ("dtls_server", "transcript-server-retransmit", 0, lossy),
        (
            "dtls_server",
            "transcript-server-real-crypto",
            real,
            Transcript::default(),
        ),
        ("dtls_client", "transcript-client", c, Transcript::default()),
        (
            "dtls_client",
            "transcript-client-p256-chacha",
            c | p256 | chacha,
            Transcript::default(),
        ),
        (
            "dtls_client",
            "transcript-client-small-mtu-no-ems-no-srtp",
            c | small | dtls_mode::NO_EMS_REQUIRED | dtls_mode::NO_SRTP,
            Transcript::default(),
        ),
        ("dtls_client", "transcript-client-retransmit", c, lossy),
    ] {
        let (script, datagrams) = record_transcript(mode, t);
        write(target, &format!("{name}.bin"), &script);
        if matches!(name, "transcript-server" | "transcript-client") {
            for (i, d) in datagrams.iter().enumerate() {
                write("dtls_parse", &format!("{name}-{i:03}.bin"), d);
            }
        }
    }
    // API calls around a recorded handshake: reflection, fingerprints, export, close.
    let (base, _) = record_transcript(0, Transcript::default());
    write(
        "dtls_server",
        "crafted-api-around-transcript.bin",
        &DtlsScript::new(0)
            .op(dtls_op::SET_RETRANSMIT, 0, &[10])
            .op(dtls_op::SET_FINGERPRINTS, 3, &[])
            .raw(&base[1..])
            .reflect(0)
            .reflect(2)
            .op(dtls_op::EXPORT, 0, &[60])
            .op(dtls_op::POKE, 0, &[])
            .op(dtls_op::CLOSE, 0, &[])
            .reflect(0)
            .into_bytes(),
    );
    write(
        "dtls_server",
        "crafted-wrong-fingerprint.bin",
        &DtlsScript::new(0)
            .op(dtls_op::SET_FINGERPRINTS, 1, &[])
            .raw(&base[1..])
            .into_bytes(),
    );
}

#[test]
fn srtp_unprotect_corpus_replays_without_panic() {
    let n = replay("srtp_unprotect", harness::srtp_unprotect);
    assert!(n >= 8, "srtp_unprotect corpus lost its seeds: {n} files");
}

/// The Chromium seeds really authenticate under the harness's Chromium keys, so the
/// fuzzer starts from packets that reach past the tag check.
#[test]
fn srtp_seeds_authenticate() {
    use sansrtc::srtp::{DtlsRole, DtlsSrtpContexts, SrtpConfig, SrtpProfile};
    let km: Vec<u8> = (0..harness::CHROMIUM_SRTP_KEYING_MATERIAL.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&harness::CHROMIUM_SRTP_KEYING_MATERIAL[i..i + 2], 16).unwrap())
        .collect();
    let mut ok = 0;
    for (name, data) in corpus("srtp_unprotect") {
        if !name.starts_with("chromium-") {
            continue;
        }
        let mut rx = DtlsSrtpContexts::new(
            SrtpProfile::Aes128CmHmacSha1_80,
            &km,
            DtlsRole::Client,
            SrtpConfig::default(),
        )
        .unwrap()
        .remote;
        let mut buf = bytes::BytesMut::from(&data[3..]);
        let res = if data[0] & 4 != 0 {
            rx.unprotect_rtcp(&mut buf)
        } else {
            rx.unprotect_rtp(&mut buf)
        };
        res.unwrap_or_else(|e| panic!("{name}: {e}"));
        ok += 1;
    }
    assert!(ok >= 5);
}

/// Writes the SRTP seed corpus: Chromium's from-browser packets (mode 8 / 12) and crafted
/// RTP/RTCP packets for each profile.
#[test]
#[ignore]
fn write_srtp_seed_corpus() {
    let dir = corpus_dir("srtp_unprotect");
    fs::create_dir_all(&dir).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chromium-156/srtp");
    let frame = |mode: u8, packets: &[&[u8]]| {
        let mut v = vec![mode];
        for p in packets {
            v.extend_from_slice(&(p.len() as u16).to_be_bytes());
            v.extend_from_slice(p);
        }
        v
    };
    for e in fs::read_dir(&fixtures).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".bin") || !name.contains("from-browser") {
            continue;
        }
        let mode = if name.contains("SRTCP") { 8 | 4 } else { 8 };
        fs::write(
            dir.join(format!("chromium-{name}")),
            frame(mode, &[&fs::read(&path).unwrap()]),
        )
        .unwrap();
    }
    let rtp = |seq: u16, cc: u8, ext: bool| {
        let mut p = vec![0x80 | cc | if ext { 0x10 } else { 0 }, 96];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0, 160, 0xde, 0xad, 0xbe, 0xef]);
        for i in 0..cc {
            p.extend_from_slice(&[0, 0, 0, i]);
        }
        if ext {
            p.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x10, 0xff, 0, 0]);
        }
        p.extend_from_slice(b"payload!");
        p
    };
    let rtcp_rr = [
        0x81u8, 201, 0, 7, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0,
    ];
    for profile in 0..4u8 {
        fs::write(
            dir.join(format!("rtp-profile{profile}")),
            frame(
                profile,
                &[&rtp(1, 0, false), &rtp(2, 2, true), &rtp(2, 0, false)],
            ),
        )
        .unwrap();
        fs::write(
            dir.join(format!("rtp-wrap-profile{profile}")),
            frame(
                profile,
                &[
                    &rtp(65534, 0, false),
                    &rtp(1, 0, false),
                    &rtp(65535, 1, false),
                ],
            ),
        )
        .unwrap();
        fs::write(
            dir.join(format!("rtcp-profile{profile}")),
            frame(profile | 4, &[&rtcp_rr, &rtcp_rr]),
        )
        .unwrap();
    }
}

// ---- SCTP and DCEP ------------------------------------------------------------------

#[test]
fn sctp_parse_corpus_replays_without_panic() {
    let n = replay("sctp_parse", harness::sctp_parse);
    assert!(n >= 100, "sctp_parse corpus lost its seeds: {n} files");
}

#[test]
fn dcep_corpus_replays_without_panic() {
    let n = replay("dcep", harness::dcep);
    assert!(n >= 8, "dcep corpus lost its seeds: {n} files");
}

/// Remote offers and answers, real browsers' and broken ones, through the JSEP view.
#[test]
fn jsep_corpus_replays_without_panic() {
    let n = replay("jsep", harness::jsep);
    assert!(n >= 6, "jsep corpus lost its seeds: {n} files");
}

#[test]
fn sdp_corpus_replays_without_panic() {
    let n = replay("sdp", harness::sdp);
    assert!(n >= 20, "sdp corpus lost its seeds: {n} files");
}

/// The seeds reach the typed parsers only if they parse: the browser's and the crafted
/// valid ones must (the `bad-` ones must not).
#[test]
fn sdp_seeds_parse_or_fail_as_meant() {
    for (name, data) in corpus("sdp") {
        let text = String::from_utf8(data).expect("seeds are UTF-8");
        let parsed = SessionDescription::parse(&text);
        if name.starts_with("crafted-bad-") {
            assert!(parsed.is_err(), "{name} parses");
        } else {
            parsed.unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}

/// Crafted SDP seeds: what the Chromium fixtures lack (LF lines, unknown line types,
/// simulcast, every candidate form, every hash function, legacy SCTP) and broken ones.
fn crafted_sdp() -> Vec<(&'static str, String)> {
    const SESSION: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
    let crlf = |body: &str| format!("{SESSION}{}", body.replace('\n', "\r\n"));
    vec![
        (
            "crafted-lf-no-final-newline.sdp",
            "v=0\no=- 1 2 IN IP4 127.0.0.1\ns=-\nt=0 0\nm=audio 9 RTP/AVP 0\na=rtcp-mux".into(),
        ),
        (
            "crafted-unknown-lines.sdp",
            crlf(
                "i=info\nu=http://example.com/\ne=a@example.com\nz=0 -1h\nk=prompt\nb=CT:128\n\
                  a=x-flag\na=x-value:1 2  3\na=:\nm=audio 9 RTP/AVP 0\ni=media\nb=AS:64\nb=TIAS:64000\nY=upper\n",
            ),
        ),
        (
            "crafted-simulcast-rid.sdp",
            crlf(
                "a=extmap-allow-mixed\nm=video 9 UDP/TLS/RTP/SAVPF 96 97\nc=IN IP4 0.0.0.0\na=mid:v\n\
                  a=sendonly\na=extmap:3/recvonly urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\n\
                  a=extmap:200 urn:x-two-byte attr\na=rtpmap:96 VP8/90000\na=rtpmap:97 rtx/90000\n\
                  a=fmtp:97 apt=96\na=fmtp:96 x;y=;=z\na=rtcp-fb:* nack pli\na=rtcp-fb:96 trr-int 100\n\
                  a=rid:h send pt=96;max-width=1280\na=rid:l send\na=simulcast:send h;~l recv r1,r2\n\
                  a=ssrc-group:SIM 1 2 3\na=ssrc:1 cname:c\na=ssrc:2 msid:s t\na=msid:- t\n",
            ),
        ),
        (
            "crafted-candidates.sdp",
            crlf(
                "a=ice-lite\na=ice-options:trickle ice2\nm=audio 9 UDP/TLS/RTP/SAVPF 111\n\
                  a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuv\n\
                  a=candidate:1 1 UDP 1694498815 203.0.113.7 50000 typ srflx raddr 10.0.0.2 rport 50000 generation 0\n\
                  a=candidate:2 1 udp 16777215 198.51.100.9 3478 typ relay raddr 203.0.113.7 rport 50000\n\
                  a=candidate:3 1 udp 2122260223 6f1d8c5e-9c1c-4b7a-9f2b-3b1c5d0e7a11.local 54321 typ host\n\
                  a=candidate:4 1 TCP 1518280447 192.0.2.1 9443 typ host tcptype passive\n\
                  a=candidate:5 2 tcp 1518280446 fd00::1 9444 typ prflx tcptype so ufrag abcd\n\
                  a=end-of-candidates\n",
            ),
        ),
        (
            "crafted-legacy-sctpmap.sdp",
            crlf(
                "m=application 9 DTLS/SCTP 5000\nc=IN IP6 ::\na=mid:data\na=setup:passive\n\
                  a=fingerprint:sha-1 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33\n\
                  a=sctpmap:5000 webrtc-datachannel 1024\na=max-message-size:0\n",
            ),
        ),
        ("crafted-fingerprints.sdp", {
            let mut body = String::from("m=application 9 UDP/DTLS/SCTP webrtc-datachannel\n");
            for (name, len) in [
                ("md2", 16),
                ("md5", 16),
                ("SHA-224", 28),
                ("sha-384", 48),
                ("sha-512", 64),
            ] {
                let hex: Vec<String> = (0..len).map(|i| format!("{:02x}", i * 7 % 256)).collect();
                body += &format!("a=fingerprint:{name} {}\n", hex.join(":"));
            }
            crlf(&body)
        }),
        (
            "crafted-rejected-and-port-count.sdp",
            crlf(
                "a=group:BUNDLE 1\na=group:LS 0 1\nm=audio 0 UDP/TLS/RTP/SAVPF 0\na=mid:0\na=inactive\n\
                  m=video 49170/2 RTP/AVP 31\na=mid:1\na=bundle-only\na=setup:holdconn\na=sctp-port:5000\n",
            ),
        ),
        (
            "crafted-typed-errors.sdp",
            crlf(
                "m=audio 9 RTP/AVP 0\na=rtpmap:200 x/1\na=extmap:0 urn:x\na=fingerprint:sha-256 AB:CD\n\
                  a=setup:maybe\na=candidate:1 1 sctp 1 1.2.3.4 5 typ host\na=simulcast:send a send b\n\
                  a=ice-ufrag:ab\na=sctp-port:70000\na=rid:a.b send\n",
            ),
        ),
        ("crafted-bad-port.sdp", crlf("m=audio x9 RTP/AVP 0\n")),
        (
            "crafted-bad-first-line.sdp",
            "v=1\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n".into(),
        ),
        (
            "crafted-bad-missing-origin.sdp",
            "v=0\r\ns=-\r\nt=0 0\r\n".into(),
        ),
        ("crafted-bad-connection.sdp", crlf("c=IN IP5 1.2.3.4\n")),
        ("crafted-bad-nul.sdp", crlf("a=x\0y\n")),
        ("crafted-bad-empty.sdp", String::new()),
    ]
}

/// Writes the SDP seeds: the Chromium / aiortc fixtures and [`crafted_sdp`].
#[test]
#[ignore = "writes core/fuzz/corpus; run by hand after changing the seeds"]
fn write_sdp_seed_corpus() {
    let dir = corpus_dir("sdp");
    fs::create_dir_all(&dir).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sdp/chromium-156");
    for entry in fs::read_dir(fixtures).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        fs::copy(&path, dir.join(format!("chromium-{name}"))).unwrap();
    }
    for (name, text) in crafted_sdp() {
        fs::write(dir.join(name), text).unwrap();
    }
}

#[test]
fn sctp_association_corpus_replays_without_panic() {
    let n = replay("sctp_association", harness::sctp_association);
    assert!(n >= 15, "sctp_association corpus lost its seeds: {n} files");
}

/// The seeds must get A established (so mutations start from there), and the ones that
/// exchange data must deliver it.
#[test]
fn sctp_association_seeds_reach_established() {
    let mut checked = 0;
    for (name, data) in corpus("sctp_association") {
        let aims_connected = [
            "pair-",
            "transcript-",
            "self-",
            "chromium-passive",
            "chromium-active",
        ]
        .iter()
        .any(|p| name.starts_with(p));
        if !aims_connected {
            continue;
        }
        let o = harness::run_sctp(&data).expect("non-empty seed");
        assert!(o.a_connected, "{name}: {o:?}");
        if name.contains("data") {
            assert!(o.a_messages >= 1, "{name}: {o:?}");
        }
        if name.starts_with("pair-") && name.contains("data") {
            assert!(o.b_connected && o.b_messages >= 1, "{name}: {o:?}");
        }
        if name.contains("abort") {
            assert!(o.a_closed.is_some(), "{name}: {o:?}");
        } else {
            assert_eq!(o.a_closed, None, "{name}: {o:?}");
        }
        checked += 1;
    }
    assert!(
        checked >= 10,
        "only {checked} seeds aim at the established state"
    );
}

const SCTP_FIXTURES: &str = "tests/fixtures/chromium-156/sctp";

/// Every Chromium SCTP packet of one capture directory, in order: (file name, bytes).
fn chromium_sctp(dir: &str) -> Vec<(String, Vec<u8>)> {
    chromium_files(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(SCTP_FIXTURES)
            .join(dir),
    )
}

fn chromium_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read(&p).expect("fixture"))
        })
        .collect();
    files.sort();
    files
}

/// Hand-made packets for chunk kinds the captures lack, checksums fixed up.
fn crafted_sctp() -> Vec<(&'static str, Vec<u8>)> {
    let header = "1388 1388 01020304 00000000";
    let packets = [
        (
            "crafted-idata-iforward-tsn-pad.bin",
            "40030018 00000001 0001 0000 00000000 00000033 61626364
             c2000010 00000001 0001 0001 00000002
             84000008 00000000",
        ),
        (
            "crafted-error-causes.bin",
            "09000028 00010008 00050000 00030008 0000ffff 0006000a 3f000006 0102 0000
             00090008 00000005",
        ),
        (
            "crafted-unknown-chunks.bin",
            "3f000005 01000000 7f010004 bf020006 0102 0000 ff030008 01020304",
        ),
        (
            "crafted-init-all-params.bin",
            "01000044 11223344 00010000 0004 0004 00000001
             00050008 c0000201 000b0008 7777772e 00090008 00002710 000c0006 00050000
             80000004 80010008 00000001 c0000004 abcd0005 01000000",
        ),
        (
            "crafted-abort-t-bit-causes.bin",
            "0601001c 000c0008 6f6f7073 000d000c 00000001 00000002 00080004",
        ),
        (
            "crafted-shutdown-sack-gaps-dups.bin",
            "07000008 00000010 03000020 00000010 00010000 0002 0002 0002 0004 0006 0008
             00000011 00000012",
        ),
        (
            "crafted-reconfig-all-params.bin",
            "82000058 000d0014 00000001 00000002 00000003 0001 0002
             000e000a 00000004 0005 0000 000f0008 00000005
             00100014 00000006 00000001 00000007 00000008
             0011000c 00000009 0004 0000 0012000c 0000000a 0002 0000",
        ),
    ];
    packets
        .into_iter()
        .map(|(name, chunks)| {
            let mut v = hex(&format!("{header} {chunks}"));
            harness::fix_sctp_checksum(&mut v);
            (name, v)
        })
        .collect()
}

/// DCEP messages: what Chromium sent (the user data of its DCEP packets) and crafted ones.
fn crafted_dcep() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for dir in ["data", "data-dtls-client"] {
        for (name, data) in chromium_sctp(dir) {
            if !name.contains("DCEP") {
                continue;
            }
            let p =
                Packet::parse(Bytes::from(data), ChecksumPolicy::Verify).expect("capture parses");
            for c in p.chunks {
                if let Chunk::Data(d) = c {
                    out.push((format!("chromium-{dir}-{name}"), d.user_data.to_vec()));
                }
            }
        }
    }
    for (name, h) in [
        (
            "open-reliable-empty-label.bin",
            "03 00 0100 00000000 0000 0000",
        ),
        (
            "open-rexmit-unordered.bin",
            "03 81 0000 00000003 0003 0004 616263 70726f74",
        ),
        ("open-timed.bin", "03 02 0200 000003e8 0001 0000 78"),
        (
            "open-timed-unordered-utf8.bin",
            "03 82 0000 000001f4 0004 0000 f09f9880",
        ),
        ("open-bad-utf8.bin", "03 00 0000 00000000 0002 0000 c328"),
        ("open-unknown-type.bin", "03 05 0000 00000000 0000 0000"),
        ("ack-trailing.bin", "02 00"),
        ("open-truncated.bin", "03 00 0000 00000000 0005 0000 6162"),
    ] {
        out.push((format!("crafted-{name}"), hex(h)));
    }
    out
}

/// Runs `script` (whose config byte is `config`) with recording on: returns what A
/// experienced as a script A alone replays (B's packets as datagrams), under `replay`.
fn record_sctp(script: &SctpScript, replay: u8) -> Vec<u8> {
    let config = script.clone().into_bytes()[0];
    let mut run = SctpRun::new(config);
    run.record = Some(vec![replay]);
    run.records(script.records());
    let o = run.outcome();
    assert!(
        o.a_connected && o.b_connected,
        "recording did not connect: {o:?}"
    );
    let rec = run.record.take().unwrap();
    let again = harness::run_sctp(&rec).unwrap();
    assert!(
        again.a_connected,
        "recorded script does not connect: {again:?}"
    );
    assert_eq!(
        again.a_messages, o.a_messages,
        "replay delivered other messages"
    );
    rec
}

/// Writes the SCTP and DCEP seeds: Chromium captures, crafted packets, scripts for the
/// association (pair exchanges, recorded transcripts, Chromium's side of a call).
#[test]
#[ignore = "writes core/fuzz/corpus; run by hand after changing the harness format"]
fn write_sctp_seed_corpus() {
    let write = |target: &str, name: &str, data: &[u8]| {
        fs::create_dir_all(corpus_dir(target)).unwrap();
        fs::write(corpus_dir(target).join(name), data).unwrap();
    };
    let data = chromium_sctp("data");
    let dtls_client = chromium_sctp("data-dtls-client");
    for (name, bytes) in &data {
        write("sctp_parse", &format!("chromium-{name}"), bytes);
    }
    for (name, bytes) in &dtls_client {
        if name.contains("SHUTDOWN") {
            write("sctp_parse", &format!("chromium-dtls-client-{name}"), bytes);
        }
    }
    for (name, bytes) in crafted_sctp() {
        if let Err(e) = Packet::parse(Bytes::from(bytes.clone()), ChecksumPolicy::Verify) {
            panic!("{name} does not parse: {e}");
        }
        write("sctp_parse", name, &bytes);
    }
    for (name, bytes) in crafted_dcep() {
        write("dcep", &name, &bytes);
    }

    use harness::{sctp_call as call, sctp_config as cfg};
    let (a, b) = (0, 1);
    let both = cfg::A_CONNECTS | cfg::B_CONNECTS;
    // Handshake, then messages both ways; `live` lets the delayed SACKs flow while time
    // passes (a recorded script cannot say that, so it pumps after the advance).
    let exchange_with = |s: SctpScript, live: bool| {
        s.pump(8)
            .send(a, 1, 100, false, 0)
            .send(a, 2, 2000, true, 1)
            .send(a, 1, 0, false, 3)
            .send(b, 1, 300, false, 0)
            .send(b, 3, 5000, false, 1)
            .send(b, 4, 3, true, 0)
            .pump(16)
            .advance(15, live)
            .pump(8)
    };
    let exchange = |s| exchange_with(s, true);
    let seeds: Vec<(&str, SctpScript)> = vec![
        ("pair-handshake-data.bin", exchange(SctpScript::new(both))),
        (
            "pair-small-mtu-fragmented-data.bin",
            exchange(SctpScript::new(both | cfg::SMALL_MTU | cfg::B_SMALL_MTU))
                .send(b, 7, 20000, false, 1)
                .send(a, 7, 20000, true, 1)
                .advance(15, true)
                .advance(15, true),
        ),
        (
            "pair-a-initiates-b-passive-data.bin",
            exchange(SctpScript::new(cfg::A_CONNECTS)),
        ),
        (
            "pair-b-initiates-a-passive-data.bin",
            exchange(SctpScript::new(cfg::B_CONNECTS)),
        ),
        (
            "pair-loss-fast-retransmit-data.bin",
            exchange(SctpScript::new(both))
                .send(a, 1, 1000, false, 1)
                .send(a, 1, 1000, false, 1)
                .send(a, 1, 1000, false, 1)
                .send(a, 1, 1000, false, 1)
                .send(a, 1, 1000, false, 1)
                .send(a, 1, 1000, false, 1)
                .a_packet(1)
                .a_packet(0)
                .a_packet(0)
                .a_packet(0)
                .pump(4)
                .advance(15, true)
                .pump(8)
                .advance(40, true),
        ),
        (
            "pair-t3-retransmit-data.bin",
            exchange(SctpScript::new(both))
                .send(a, 5, 1500, false, 1)
                .a_packet(1)
                .a_packet(1)
                .advance(35, false)
                .pump(4)
                .advance(15, true),
        ),
        (
            "pair-b-data-mutated-replayed.bin",
            exchange(SctpScript::new(both))
                .send(b, 1, 40, false, 0)
                .b_mutated(12, 0x40, true)
                .send(b, 1, 40, false, 0)
                .b_mutated(20, 0x01, true)
                .send(b, 2, 40, true, 0)
                .b_mutated(30, 0xff, false)
                .b_replay(0)
                .b_replay(2)
                .pump(8)
                .advance(15, true),
        ),
        (
            "pair-b-aborts-data.bin",
            exchange(SctpScript::new(both)).call(b, call::ABORT).pump(2),
        ),
        (
            "pair-a-aborts-data.bin",
            exchange(SctpScript::new(both))
                .call(a, call::ABORT)
                .send(a, 1, 10, false, 0)
                .pump(2),
        ),
        (
            "pair-small-messages-abort.bin",
            exchange(SctpScript::new(both | cfg::SMALL_MESSAGES))
                .send(b, 1, 8000, false, 1)
                .pump(8),
        ),
        (
            "self-connect-by-reflection-data.bin",
            SctpScript::new(cfg::A_CONNECTS)
                .a_packet(2)
                .a_packet(2)
                .a_packet(2)
                .a_packet(2)
                .send(a, 1, 50, false, 0)
                .a_packet(2)
                .advance(15, false)
                .a_packet(2)
                .a_packet(2),
        ),
        (
            "init-retransmit-until-failure.bin",
            SctpScript::new(cfg::A_CONNECTS)
                .advance(255, false)
                .advance(255, false)
                .advance(255, false)
                .advance(255, false)
                .advance(255, false),
        ),
        (
            "cookie-echo-with-bundled-data.bin",
            SctpScript::new(cfg::B_CONNECTS)
                .b_packet(0)
                .cookie_echo(Some(&hex("00030014 00000000 0001 0000 00000033 61626364")))
                .a_packet(0)
                .pump(4),
        ),
    ];
    for (name, s) in seeds {
        write("sctp_association", name, &s.into_bytes());
    }

    // Recorded: what A hears from B, replayed without B.
    for (name, script, replay) in [
        (
            "transcript-simultaneous-open-data.bin",
            exchange_with(SctpScript::new(both), false)
                .advance(15, false)
                .pump(4),
            cfg::A_CONNECTS,
        ),
        (
            "transcript-a-initiates-data.bin",
            exchange_with(SctpScript::new(cfg::A_CONNECTS), false)
                .advance(15, false)
                .pump(4),
            cfg::A_CONNECTS,
        ),
        (
            "transcript-a-passive-small-mtu-data.bin",
            exchange_with(
                SctpScript::new(cfg::B_CONNECTS | cfg::SMALL_MTU | cfg::B_SMALL_MTU),
                false,
            )
            .send(b, 9, 9000, false, 1)
            .pump(16)
            .advance(15, false)
            .pump(4),
            cfg::SMALL_MTU,
        ),
    ] {
        write("sctp_association", name, &record_sctp(&script, replay));
    }

    // Chromium's side of the capture. Passive: its INIT, then A's own cookie echoed, then
    // its packets retagged for A (fix-up bits: A's tag and checksum).
    let retag = 0x10 | 0x08;
    for (dir, rows) in [("data", &data), ("data-dtls-client", &dtls_client)] {
        let from: Vec<&(String, Vec<u8>)> = rows
            .iter()
            .filter(|(n, _)| n.contains("from-browser"))
            .collect();
        let init = &from[0].1;
        let mut s = SctpScript::new(0).datagram(0, init).cookie_echo(None);
        for (i, (name, bytes)) in from.iter().enumerate().skip(3) {
            s = s.datagram(retag, bytes);
            if i % 4 == 0 {
                s = s.send(a, 1, 6, false, 0);
            }
            if name.contains("HEARTBEAT") {
                s = s.advance(15, false);
            }
        }
        let end = if from.iter().any(|(n, _)| n.contains("ABORT")) {
            "-abort"
        } else {
            ""
        };
        write(
            "sctp_association",
            &format!("chromium-passive-{dir}{end}.bin"),
            &s.into_bytes(),
        );

        // Active: A's INIT crosses Chromium's; its INIT-ACK and COOKIE-ACK retagged.
        let mut s = SctpScript::new(cfg::A_CONNECTS)
            .datagram(0, init)
            .datagram(retag, &from[1].1)
            .datagram(retag, &from[3].1);
        for (_, bytes) in from.iter().skip(4).take(12) {
            s = s.datagram(retag, bytes);
        }
        write(
            "sctp_association",
            &format!("chromium-active-{dir}.bin"),
            &s.into_bytes(),
        );

        // Raw: every packet as captured (all but the INIT fail the tag check).
        let mut s = SctpScript::new(cfg::A_CONNECTS);
        for (_, bytes) in &from {
            s = s.datagram(0, bytes);
        }
        write(
            "sctp_association",
            &format!("raw-chromium-{dir}.bin"),
            &s.into_bytes(),
        );
    }
}

#[test]
fn ortc_chain_corpus_replays_without_panic() {
    let n = replay("ortc_chain", harness::ortc_chain);
    assert!(n >= 3, "ortc_chain corpus lost its seeds: {n} files");
}

#[test]
fn ortc_chain_clean_seeds_connect() {
    for (name, data) in corpus("ortc_chain") {
        if name.starts_with("clean-") {
            assert!(harness::run_ortc_chain(&data), "{name} did not connect");
        }
    }
}

/// A fuzz harness entry point.
type Target = fn(&[u8]);

/// The budgets the harnesses check mean something only if the accounting sees the heap.
#[test]
fn heap_accounting_sees_what_a_harness_holds() {
    let (v, peak) = harness::heap::peak_during(|| vec![1u8; 1 << 20]);
    assert!(peak >= 1 << 20, "{peak}");
    drop(v);
    let ((), peak) = harness::heap::peak_during(|| drop(vec![1u8; 1 << 16]));
    assert!((1 << 16..1 << 17).contains(&peak), "{peak}");
    let held = std::panic::catch_unwind(|| {
        harness::heap::within("a 1 MiB vector", 1 << 19, || vec![0u8; 1 << 20].len())
    });
    assert!(held.is_err(), "a budget that cannot fail");
}

/// The most heap each harness held over its corpus, beside the budget it checks.
#[test]
#[ignore = "measurement: run with --nocapture"]
fn print_corpus_heap_peaks() {
    let targets: [(&str, Target); 10] = [
        ("stun", harness::stun),
        ("ice_agent", harness::ice_agent),
        ("dtls_parse", harness::dtls_parse),
        ("dtls_server", harness::dtls_server),
        ("dtls_client", harness::dtls_client),
        ("srtp_unprotect", harness::srtp_unprotect),
        ("sctp_parse", harness::sctp_parse),
        ("dcep", harness::dcep),
        ("sctp_association", harness::sctp_association),
        ("sdp", harness::sdp),
    ];
    for (t, f) in targets {
        let mut worst = (0, 0, String::new());
        for (name, data) in corpus(t) {
            let ((), peak) = harness::heap::peak_during(|| f(&data));
            if peak > worst.0 {
                worst = (peak, data.len(), name);
            }
        }
        println!("{t}: peak {} B (input {} B, {})", worst.0, worst.1, worst.2);
    }
    let mut worst = (0, 0);
    for (_, data) in corpus("ortc_chain") {
        let (_, peak) = harness::heap::peak_during(|| harness::run_ortc_chain(&data));
        worst = worst.max((peak, data.len()));
    }
    println!("ortc_chain: peak {} B (input {} B)", worst.0, worst.1);
}
