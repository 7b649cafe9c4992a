//! STUN codec throughput, in messages per second.
//!
//! Per message: parse (which verifies FINGERPRINT) plus MESSAGE-INTEGRITY, for a real
//! Chromium Binding request and for the RFC 5769 sample request; and encoding a Binding
//! request with MESSAGE-INTEGRITY and FINGERPRINT.
//!
//! `cargo bench -p sansrtc --bench stun`

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sansrtc::crypto::RingProvider;
use sansrtc::stun::{Class, Message, MessageBuilder, Method, TransactionId};

const CHROMIUM_REQUEST: &str = "data/003-from-browser-BindingRequest-UseCandidate.bin";

/// The Chromium fixture and its integrity key from `index.tsv`.
fn chromium_request() -> (Vec<u8>, Vec<u8>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chromium-156/stun");
    let index = std::fs::read_to_string(dir.join("index.tsv")).expect("fixture index");
    let key = index
        .lines()
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .find(|cols| cols[0] == CHROMIUM_REQUEST)
        .map(|cols| cols[1].as_bytes().to_vec())
        .expect("fixture listed in index.tsv");
    (
        std::fs::read(dir.join(CHROMIUM_REQUEST)).expect("fixture"),
        key,
    )
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// RFC 5769 §2.1 sample request and its password.
fn rfc5769_request() -> (Vec<u8>, Vec<u8>) {
    let msg = hex("0001 0058 2112a442 b7e7a701 bc34d686 fa87dfae
                   8022 0010 5354554e 20746573 7420636c 69656e74
                   0024 0004 6e0001ff
                   8029 0008 932ff9b1 51263b36
                   0006 0009 6576746a 3a683676 59202020
                   0008 0014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2
                   8028 0004 e57a3bcf");
    (msg, b"VOkJxbRl1RmTxUk/WvJxBt".to_vec())
}

fn parse_and_verify(buf: &[u8], key: &[u8]) -> bool {
    let msg = Message::parse(buf).expect("valid message");
    msg.check_integrity(&RingProvider::new(), key).is_ok() && msg.username().is_some()
}

fn bench_stun(c: &mut Criterion) {
    let mut g = c.benchmark_group("stun");
    g.throughput(Throughput::Elements(1));

    for (name, (buf, key)) in [
        (
            "parse+integrity+fingerprint/chromium-binding-request",
            chromium_request(),
        ),
        (
            "parse+integrity+fingerprint/rfc5769-request",
            rfc5769_request(),
        ),
    ] {
        assert!(parse_and_verify(&buf, &key), "{name}: fixture must verify");
        g.bench_function(name, |b| {
            b.iter(|| parse_and_verify(black_box(&buf), black_box(&key)))
        });
    }

    let key = b"RRmwVjkxJDkxSxFEqyodfY";
    let tid = TransactionId([7; 12]);
    g.bench_function("encode/binding-request-integrity+fingerprint", |b| {
        b.iter(|| {
            let mut m = MessageBuilder::new(Class::Request, Method::Binding, black_box(tid));
            m.username("UN6E:ESwN")
                .priority(0x6e7f_1eff)
                .ice_role(true, 0x1234_5678_9abc_def0)
                .use_candidate();
            m.finish_with_integrity(&RingProvider::new(), black_box(key))
        })
    });
    g.finish();
}

criterion_group!(benches, bench_stun);
criterion_main!(benches);
