//! DTLS CPU cost: a full handshake with both sides in memory, and sealing / opening one
//! application-data record.
//!
//! Handshake: TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 with ECDSA P-256 certificates,
//! ECDHE over X25519 and over P-256, use_srtp and the extended master secret, on the
//! default (ring) provider. Certificates are generated once, outside the timed part;
//! constructing both `Dtls` sessions and running every flight to Connected on both
//! sides is timed. Record: AES-128-GCM seal of a 1200-byte payload into a record, and
//! parse + open of that record.
//!
//! `cargo bench -p sansrtc --bench dtls`

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sansrtc::crypto::{AeadAlgorithm, HashAlgorithm, NamedGroup, default_provider};
use sansrtc::dtls::record::{self, NonceKind, RecordCipher};
use sansrtc::dtls::{CipherSuite, Dtls, DtlsCertificate, DtlsConfig, DtlsEvent, DtlsRole};
use sansrtc::io::Output;

/// Client and server configurations for one suite and group, certificates made here.
fn configs(group: NamedGroup) -> (DtlsConfig, DtlsConfig) {
    let p = default_provider();
    let cc = DtlsCertificate::generate(&*p).expect("client certificate");
    let sc = DtlsCertificate::generate(&*p).expect("server certificate");
    let mut client = DtlsConfig::new(cc.clone(), vec![sc.fingerprint(&*p, HashAlgorithm::Sha256)]);
    let mut server = DtlsConfig::new(sc, vec![cc.fingerprint(&*p, HashAlgorithm::Sha256)]);
    for (cfg, seed) in [(&mut client, 1), (&mut server, 2)] {
        cfg.cipher_suites = vec![CipherSuite::EcdheEcdsaAes128GcmSha256];
        cfg.groups = vec![group];
        cfg.seed = seed;
    }
    (client, server)
}

/// Deliver everything `from` sends to `to`; whether `from` reported Connected.
fn pump(from: &mut Dtls, to: &mut Dtls, now: Instant) -> bool {
    let mut connected = false;
    loop {
        match from.poll_output() {
            Output::Transmit(p) => to.handle_datagram(now, &p),
            Output::Event(DtlsEvent::Connected { .. }) => connected = true,
            // The client false-starts: it could send before the server's Finished.
            Output::Event(DtlsEvent::Writable) => {}
            Output::Event(e) => panic!("unexpected event {e:?}"),
            Output::Timeout(_) => return connected,
        }
    }
}

/// One full handshake; returns the client's SRTP keying material length.
fn handshake(client_cfg: &DtlsConfig, server_cfg: &DtlsConfig, now: Instant) -> usize {
    let mut client = Dtls::new(DtlsRole::Client, client_cfg.clone(), now);
    let mut server = Dtls::new(DtlsRole::Server, server_cfg.clone(), now);
    let (mut c_up, mut s_up) = (false, false);
    for _ in 0..4 {
        c_up |= pump(&mut client, &mut server, now);
        s_up |= pump(&mut server, &mut client, now);
    }
    c_up |= pump(&mut client, &mut server, now);
    assert!(c_up && s_up, "handshake did not complete");
    client.srtp_keying_material().expect("SRTP keys").1.len()
}

fn bench_handshake(c: &mut Criterion) {
    let now = Instant::now();
    let mut g = c.benchmark_group("dtls_handshake");
    g.throughput(Throughput::Elements(1));
    for (name, group) in [
        ("ecdhe_ecdsa_aes128gcm_x25519", NamedGroup::X25519),
        ("ecdhe_ecdsa_aes128gcm_p256", NamedGroup::Secp256r1),
    ] {
        let (client, server) = configs(group);
        g.bench_function(name, |b| {
            b.iter(|| handshake(black_box(&client), black_box(&server), now))
        });
    }
    g.finish();
}

fn bench_record(c: &mut Criterion) {
    let p = default_provider();
    let key = [0x42u8; 16];
    let iv = [7u8; 4];
    let sealer = RecordCipher::new(
        p.aead(AeadAlgorithm::Aes128Gcm, &key).unwrap(),
        &iv,
        NonceKind::Gcm,
    );
    let opener = RecordCipher::new(
        p.aead(AeadAlgorithm::Aes128Gcm, &key).unwrap(),
        &iv,
        NonceKind::Gcm,
    );
    let payload = vec![0xA5u8; 1200];
    let mut sealed = Vec::with_capacity(1300);
    sealer.seal(&mut sealed, record::APPLICATION_DATA, 1, 1, &payload);

    let mut g = c.benchmark_group("dtls_record_1200B_aes128gcm");
    g.throughput(Throughput::Bytes(payload.len() as u64));
    let mut out = Vec::with_capacity(1300);
    let mut seq = 0u64;
    g.bench_function("seal", |b| {
        b.iter(|| {
            out.clear();
            seq += 1;
            sealer.seal(
                &mut out,
                record::APPLICATION_DATA,
                1,
                seq,
                black_box(&payload),
            );
            out.len()
        })
    });
    let mut buf = Vec::with_capacity(1300);
    g.bench_function("open", |b| {
        b.iter(|| {
            let rec = record::records(black_box(&sealed)).next().unwrap().unwrap();
            opener.open(&rec, &mut buf).unwrap().len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench_handshake, bench_record);
criterion_main!(benches);
