//! Per-packet cost of SRTP protect/unprotect for every profile at 160 and 1200 bytes,
//! beside a raw ring AES-128-GCM seal of the same packet (the floor SRTP AEAD can reach)
//! and, for the record, RustCrypto vs ring HMAC-SHA1 (the AES-CM profiles' choice).
//!
//! `cargo bench -p sansrtc --bench srtp -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use ring::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use sansrtc::srtp::{SrtpConfig, SrtpContext, SrtpProfile};
use sha1::Sha1;

const SIZES: [usize; 2] = [160, 1200];
const HEADER: usize = 12;
const SSRC: u32 = 0x1234_5678;

fn packet(size: usize, seq: u16, overhead: usize) -> BytesMut {
    let mut p = BytesMut::with_capacity(size + overhead);
    p.extend_from_slice(&[0x80, 96]);
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0x10, 0]);
    p.extend_from_slice(&SSRC.to_be_bytes());
    p.resize(size, 0xa5);
    p
}

fn context(profile: SrtpProfile) -> SrtpContext {
    let key: Vec<u8> = (0..profile.key_len() as u8).collect();
    let salt: Vec<u8> = (0..profile.salt_len() as u8).map(|b| b ^ 0x5a).collect();
    SrtpContext::new(profile, &key, &salt, SrtpConfig::default()).unwrap()
}

fn short_name(profile: SrtpProfile) -> &'static str {
    match profile {
        SrtpProfile::Aes128CmHmacSha1_80 => "aes128_cm_sha1_80",
        SrtpProfile::Aes128CmHmacSha1_32 => "aes128_cm_sha1_32",
        SrtpProfile::AeadAes128Gcm => "aead_aes128_gcm",
        SrtpProfile::AeadAes256Gcm => "aead_aes256_gcm",
        _ => "other",
    }
}

fn bench(c: &mut Criterion) {
    for size in SIZES {
        let mut group = c.benchmark_group(format!("srtp_{size}"));
        group.throughput(Throughput::Bytes(size as u64));

        // The reference: ring sealing the same header (as AAD) and payload in place.
        let key = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &[7u8; 16]).unwrap());
        let mut raw = vec![0xa5u8; size];
        group.bench_function("raw_ring_aes128_gcm_seal", |b| {
            b.iter(|| {
                let (aad, payload) = raw.split_at_mut(HEADER);
                let tag = key
                    .seal_in_place_separate_tag(
                        Nonce::assume_unique_for_key([1; 12]),
                        Aad::from(&*aad),
                        payload,
                    )
                    .unwrap();
                black_box(tag)
            })
        });

        // The same, producing what SRTP must: the tag appended to a reused buffer
        // (ring's `seal_in_place_append_tag`; the header, the AAD, kept aside).
        let raw_header = [0x80u8; HEADER];
        let mut raw_payload = vec![0xa5u8; size - HEADER];
        raw_payload.reserve(16);
        group.bench_function("raw_ring_aes128_gcm_seal_append", |b| {
            b.iter(|| {
                raw_payload.truncate(size - HEADER);
                key.seal_in_place_append_tag(
                    Nonce::assume_unique_for_key([1; 12]),
                    Aad::from(&raw_header),
                    &mut raw_payload,
                )
                .unwrap();
            })
        });

        for profile in SrtpProfile::ALL {
            let name = short_name(profile);
            let mut tx = context(profile);
            let mut p = packet(size, 1, profile.rtp_overhead());
            group.bench_function(format!("protect_rtp/{name}"), |b| {
                b.iter(|| {
                    p.truncate(size);
                    tx.protect_rtp(black_box(&mut p)).unwrap();
                })
            });

            let mut tx = context(profile);
            let mut rx = context(profile);
            let mut seq = 0u16;
            group.bench_function(format!("unprotect_rtp/{name}"), |b| {
                b.iter_batched_ref(
                    || {
                        seq = seq.wrapping_add(1);
                        let mut p = packet(size, seq, profile.rtp_overhead());
                        tx.protect_rtp(&mut p).unwrap();
                        p
                    },
                    |p| rx.unprotect_rtp(p).unwrap(),
                    BatchSize::SmallInput,
                )
            });
        }
        group.finish();
    }

    // For the record: why the AES-CM profiles use RustCrypto HMAC-SHA1 and not ring's.
    let mut group = c.benchmark_group("hmac_sha1_1200");
    group.throughput(Throughput::Bytes(1200));
    let data = vec![0xa5u8; 1200];
    let rust_crypto = <Hmac<Sha1> as Mac>::new_from_slice(&[3; 20]).unwrap();
    group.bench_function("rustcrypto", |b| {
        b.iter(|| {
            let mut mac = rust_crypto.clone();
            mac.update(black_box(&data));
            black_box(mac.finalize().into_bytes())
        })
    });
    let ring_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &[3; 20]);
    group.bench_function("ring", |b| {
        b.iter(|| black_box(ring::hmac::sign(&ring_key, black_box(&data))))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
