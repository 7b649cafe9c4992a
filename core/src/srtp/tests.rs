//! SRTP tests: RFC 3711 and RFC 7714 vectors, round trips of every profile, ROC and
//! replay behaviour, hostile input, and real Chromium packets.

use std::collections::BTreeSet;

use bytes::BytesMut;
use proptest::prelude::*;

use super::context::estimate_index;
use super::kdf::{Label, SessionKeys, derive};
use super::replay::{ReplayCheck, ReplayWindow};
use super::*;
use crate::crypto::RingProvider;

fn hex(s: &str) -> Vec<u8> {
    let clean: Vec<u8> = s.bytes().filter(|c| c.is_ascii_hexdigit()).collect();
    assert!(clean.len().is_multiple_of(2), "odd number of hex digits");
    clean
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

fn buf(bytes: &[u8]) -> BytesMut {
    let mut b = BytesMut::with_capacity(bytes.len() + 32);
    b.extend_from_slice(bytes);
    b
}

/// Test master key and salt for `profile`, distinct per `seed`.
fn master(profile: SrtpProfile, seed: u8) -> (Vec<u8>, Vec<u8>) {
    let key = (0..profile.key_len() as u8)
        .map(|i| i.wrapping_mul(7) ^ seed)
        .collect();
    let salt = (0..profile.salt_len() as u8)
        .map(|i| i.wrapping_mul(13) ^ seed.rotate_left(3))
        .collect();
    (key, salt)
}

/// A sender and a receiver context keyed alike.
fn pair(profile: SrtpProfile, config: SrtpConfig) -> (SrtpContext, SrtpContext) {
    let (key, salt) = master(profile, 0x5a);
    (
        SrtpContext::new(profile, &key, &salt, config.clone()).unwrap(),
        SrtpContext::new(profile, &key, &salt, config).unwrap(),
    )
}

/// An RTP packet: PT 96, the given SEQ and SSRC, `payload_len` bytes of payload.
fn rtp(seq: u16, ssrc: u32, payload_len: usize) -> Vec<u8> {
    let mut p = vec![0x80, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 960).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend((0..payload_len).map(|i| (i as u8) ^ (seq as u8)));
    p
}

/// An RTCP receiver report with one report block from `ssrc`.
fn rtcp(ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x81, 201, 0, 7];
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend((0..24).map(|i| i as u8 ^ 0xa5));
    p
}

fn protected_rtp(tx: &mut SrtpContext, seq: u16, ssrc: u32) -> BytesMut {
    let mut p = buf(&rtp(seq, ssrc, 100));
    tx.protect_rtp(&mut p).unwrap();
    p
}

/// RFC 3711 §4.3.3 PRF outputs of Appendix B.3 for one label.
fn prf(key: &[u8], salt: &[u8], label: Label, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    derive(&RingProvider::new(), key, salt, label, &mut out).unwrap();
    out
}

// ---------------------------------------------------------------------------------
// RFC 3711 Appendix B

/// RFC 3711 Appendix B.2: the AES-CM keystream for session key 2B7E…, salt F0F1…FCFD,
/// SSRC 0 and index 0 (so the IV is the salt shifted by 16 bits).
#[test]
fn rfc3711_appendix_b2_aes_cm_keystream() {
    let mut keys = SessionKeys {
        encryption: [0; 32],
        salt: [0; 14],
        authentication: [0; 20],
    };
    keys.encryption[..16].copy_from_slice(&hex("2B7E151628AED2A6ABF7158809CF4F3C"));
    keys.salt
        .copy_from_slice(&hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD"));
    let transform = transform::Transform::new(
        &RingProvider::new(),
        SrtpProfile::Aes128CmHmacSha1_80,
        &keys,
    )
    .unwrap();
    let mut stream = vec![0u8; 0xFF02 * 16];
    let iv = transform.cm_keystream(0, 0, &mut stream);
    assert_eq!(iv.to_vec(), hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000"));
    let block = |n: usize| stream[n * 16..n * 16 + 16].to_vec();
    assert_eq!(block(0), hex("E03EAD0935C95E80E166B16DD92B4EB4"));
    assert_eq!(block(1), hex("D23513162B02D0F72A43A2FE4A5F97AB"));
    assert_eq!(block(2), hex("41E95B3BB0A2E8DD477901E4FCA894C0"));
    assert_eq!(block(0xFEFF), hex("EC8CDF7398607CB0F2D21675EA9EA1E4"));
    assert_eq!(block(0xFF00), hex("362B7C3C6773516318A077D7FC5073AE"));
    assert_eq!(block(0xFF01), hex("6A2CC3787889374FBEB4C81B17BA6C44"));
}

/// RFC 3711 Appendix B.3: key derivation with master key E1F9…, master salt 0EC6….
#[test]
fn rfc3711_appendix_b3_key_derivation() {
    let key = hex("E1F97A0D3E018BE0D64FA32C06DE4139");
    let salt = hex("0EC675AD498AFEEBB6960B3AABE6");
    assert_eq!(
        prf(&key, &salt, Label::RtpEncryption, 16),
        hex("C61E7A93744F39EE10734AFE3FF7A087")
    );
    assert_eq!(
        prf(&key, &salt, Label::RtpSalt, 14),
        hex("30CBBC08863D8C85D49DB34A9AE1")
    );
    // The appendix lists 94 bytes of authentication key output: six counter blocks.
    assert_eq!(
        prf(&key, &salt, Label::RtpAuthentication, 94),
        hex(
            "CEBE321F6FF7716B6FD4AB49AF256A15 6D38BAA48F0A0ACF3C34E2359E6CDBCE
             E049646C43D9327AD175578EF7227098 6371C10C9A369AC2F94A8C5FBCDDDC25
             6D6E919A48B610EF17C2041E47403576 6B68642C59BBFC2F34DB60DBDFB2"
        )
    );
    // What a context keeps: the 20-byte HMAC-SHA1 key is the start of that output.
    let derived = SessionKeys::derive(
        &RingProvider::new(),
        SrtpProfile::Aes128CmHmacSha1_80,
        &key,
        &salt,
        false,
    )
    .unwrap();
    assert_eq!(
        derived.encryption[..16],
        hex("C61E7A93744F39EE10734AFE3FF7A087")[..]
    );
    assert_eq!(derived.salt[..], hex("30CBBC08863D8C85D49DB34A9AE1")[..]);
    assert_eq!(
        derived.authentication[..],
        hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4")[..]
    );
    // SRTCP labels give different keys (RFC 3711 §4.3.2).
    let rtcp = SessionKeys::derive(
        &RingProvider::new(),
        SrtpProfile::Aes128CmHmacSha1_80,
        &key,
        &salt,
        true,
    )
    .unwrap();
    assert_ne!(rtcp.encryption, derived.encryption);
}

// ---------------------------------------------------------------------------------
// RFC 7714 §16 and §17: the vectors key the packet transform with session keys directly.

const RFC7714_KEY_128: &str = "000102030405060708090a0b0c0d0e0f";
const RFC7714_KEY_256: &str = "000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f";
/// "Quid pro quo"
const RFC7714_SALT: &str = "517569642070726f2071756f";
/// §16: the RTP packet, payload "Gallia est omnis divisa in partes tres".
const RFC7714_RTP: &str = "8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973
                           20646976 69736120 696e2070 61727465 73207472 6573";
/// §17: the RTCP packet (sender SSRC "Mars").
const RFC7714_RTCP: &str = "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930
                            4c756e61 deadbeef deadbeef deadbeef deadbeef deadbeef";
const RFC7714_SRTCP_INDEX: u32 = 0x5d4;

fn rfc7714_context(profile: SrtpProfile) -> SrtpContext {
    let key = if profile == SrtpProfile::AeadAes256Gcm {
        hex(RFC7714_KEY_256)
    } else {
        hex(RFC7714_KEY_128)
    };
    let mut keys = SessionKeys {
        encryption: [0; 32],
        salt: [0; 14],
        authentication: [0; 20],
    };
    keys.encryption[..key.len()].copy_from_slice(&key);
    keys.salt[..12].copy_from_slice(&hex(RFC7714_SALT));
    SrtpContext::from_session_keys(profile, &keys, &keys, SrtpConfig::default()).unwrap()
}

fn rfc7714_rtp_vector(profile: SrtpProfile, protected: &str) {
    let plain = hex(RFC7714_RTP);
    let protected = hex(protected);
    let mut tx = rfc7714_context(profile);
    let mut p = buf(&plain);
    tx.protect_rtp(&mut p).unwrap();
    assert_eq!(p[..], protected[..], "encryption");
    let mut rx = rfc7714_context(profile);
    let mut p = buf(&protected);
    rx.unprotect_rtp(&mut p).unwrap();
    assert_eq!(p[..], plain[..], "decryption");
}

fn rfc7714_rtcp_vector(profile: SrtpProfile, protected: &str, encrypted: bool) {
    let plain = hex(RFC7714_RTCP);
    let protected = hex(protected);
    if encrypted {
        // We only ever send with the E flag set, so only the encrypted vectors can be
        // reproduced on the sending side.
        let mut tx = rfc7714_context(profile);
        tx.set_next_srtcp_index(0x4d61_7273, RFC7714_SRTCP_INDEX);
        let mut p = buf(&plain);
        tx.protect_rtcp(&mut p).unwrap();
        assert_eq!(p[..], protected[..], "encryption");
    }
    let mut rx = rfc7714_context(profile);
    let mut p = buf(&protected);
    rx.unprotect_rtcp(&mut p).unwrap();
    assert_eq!(p[..], plain[..], "decryption");
}

/// RFC 7714 §16.1 (RTP IV) and §17.1 (RTCP IV) for SSRC, ROC 0, SEQ 0xf17b and SRTCP
/// index 0x5d4.
#[test]
fn rfc7714_16_1_and_17_1_iv() {
    let ctx = rfc7714_context(SrtpProfile::AeadAes128Gcm);
    let (rtp, _) = ctx.transforms().0.gcm_nonces(0x5501_a0b2, 0xf17b);
    assert_eq!(rtp.to_vec(), hex("51753c6580c2726f20718414"));
    let (_, rtcp) = ctx.transforms().1.gcm_nonces(0x4d61_7273, 0x5d4);
    assert_eq!(rtcp.to_vec(), hex("517524055203726f207170bb"));
}

/// RFC 7714 §16.1.1 / §16.1.2: AEAD_AES_128_GCM RTP encryption and decryption.
#[test]
fn rfc7714_16_1_aead_aes_128_gcm_rtp() {
    rfc7714_rtp_vector(
        SrtpProfile::AeadAes128Gcm,
        "8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5
         0d294e6f 42a5f47a 51c7d19b 36de3adf 8833899d 7f27beb1 6a9152cf 765ee439 0cce",
    );
}

/// RFC 7714 §16.2.1 / §16.2.2: AEAD_AES_256_GCM RTP encryption and decryption.
#[test]
fn rfc7714_16_2_aead_aes_256_gcm_rtp() {
    rfc7714_rtp_vector(
        SrtpProfile::AeadAes256Gcm,
        "8040f17b 8041f8d3 5501a0b2 32b1de78 a822fe12 ef9f78fa 332e33aa b1801238
         9a58e2f3 b50b2a02 76ffae0f 1ba63799 b87b7aa3 db36dfff d6b0f9bb 7878d7a7 6c13",
    );
}

/// RFC 7714 §17.1: SRTCP AEAD_AES_128_GCM encryption and decryption.
#[test]
fn rfc7714_17_1_aead_aes_128_gcm_srtcp() {
    rfc7714_rtcp_vector(
        SrtpProfile::AeadAes128Gcm,
        "81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d
         c676a5f1 730d6fda 4ce09b46 86303ded 0bb9275b c84aa458 96cf4d2f c5abf872
         45d9eade 800005d4",
        true,
    );
}

/// RFC 7714 §17.2: SRTCP AEAD_AES_256_GCM encryption and decryption.
#[test]
fn rfc7714_17_2_aead_aes_256_gcm_srtcp() {
    rfc7714_rtcp_vector(
        SrtpProfile::AeadAes256Gcm,
        "81c8000d 4d617273 d50ae4d1 f5ce5d30 4ba297e4 7d470c28 2c3ece5d bffe0a50
         a2eaa5c1 110555be 8415f658 c61de047 6f1b6fad 1d1eb30c 4446839f 57ff6f6c
         b26ac3be 800005d4",
        true,
    );
}

/// RFC 7714 §17.3: SRTCP AEAD_AES_128_GCM authentication only (E flag clear).
#[test]
fn rfc7714_17_3_aead_aes_128_gcm_srtcp_tag_only() {
    rfc7714_rtcp_vector(
        SrtpProfile::AeadAes128Gcm,
        "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61
         deadbeef deadbeef deadbeef deadbeef deadbeef 841dd968 3dd78ec9 2ae58790
         125f62b3 000005d4",
        false,
    );
}

/// RFC 7714 §17.4: SRTCP AEAD_AES_256_GCM authentication only (E flag clear).
#[test]
fn rfc7714_17_4_aead_aes_256_gcm_srtcp_tag_only() {
    rfc7714_rtcp_vector(
        SrtpProfile::AeadAes256Gcm,
        "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61
         deadbeef deadbeef deadbeef deadbeef deadbeef 91db4afb feee5a97 8fab4393
         ed2615fe 000005d4",
        false,
    );
}

/// A forged tag on an unencrypted SRTCP packet fails, and the bytes moved aside for
/// the check are put back.
#[test]
fn rfc7714_17_3_tampered_tag_only_restores_buffer() {
    let mut wire = hex(
        "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61
         deadbeef deadbeef deadbeef deadbeef deadbeef 841dd968 3dd78ec9 2ae58790
         125f62b3 000005d4",
    );
    wire[20] ^= 1;
    let mut rx = rfc7714_context(SrtpProfile::AeadAes128Gcm);
    let mut p = buf(&wire);
    assert_eq!(
        rx.unprotect_rtcp(&mut p),
        Err(SrtpError::AuthenticationFailed)
    );
    assert_eq!(p[..], wire[..]);
}

// ---------------------------------------------------------------------------------
// Profiles and keying

#[test]
fn profile_ids_and_lengths_follow_rfc_5764_and_7714() {
    use SrtpProfile::*;
    let table = [
        (Aes128CmHmacSha1_80, 0x0001, 16, 14, 10, 10),
        (Aes128CmHmacSha1_32, 0x0002, 16, 14, 4, 10),
        (AeadAes128Gcm, 0x0007, 16, 12, 16, 16),
        (AeadAes256Gcm, 0x0008, 32, 12, 16, 16),
    ];
    for (profile, id, key, salt, rtp_tag, rtcp_tag) in table {
        assert_eq!(profile.id(), id);
        assert_eq!(SrtpProfile::from_id(id), Some(profile));
        assert_eq!(
            (profile.key_len(), profile.salt_len()),
            (key, salt),
            "{profile}"
        );
        assert_eq!(
            (profile.rtp_tag_len(), profile.rtcp_tag_len()),
            (rtp_tag, rtcp_tag)
        );
        assert_eq!(profile.keying_material_len(), 2 * (key + salt));
        assert!(SrtpProfile::ALL.contains(&profile));
    }
    assert_eq!(SrtpProfile::from_id(0x0003), None);
    assert_eq!(SrtpProfile::from_id(0x0000), None);
}

#[test]
fn dtls_keying_material_splits_by_role() {
    for profile in SrtpProfile::ALL {
        let material: Vec<u8> = (0..profile.keying_material_len() as u8).collect();
        let (k, s) = (profile.key_len(), profile.salt_len());
        let client = DtlsSrtpKeys::split(profile, &material, DtlsRole::Client).unwrap();
        assert_eq!(client.local_master_key, &material[..k]);
        assert_eq!(client.remote_master_key, &material[k..2 * k]);
        assert_eq!(client.local_master_salt, &material[2 * k..2 * k + s]);
        assert_eq!(client.remote_master_salt, &material[2 * k + s..]);
        let server = DtlsSrtpKeys::split(profile, &material, DtlsRole::Server).unwrap();
        assert_eq!(server.local_master_key, client.remote_master_key);
        assert_eq!(server.local_master_salt, client.remote_master_salt);
        assert_eq!(server.remote_master_key, client.local_master_key);

        // Each side's local context talks to the other's remote one, not its own.
        let mut c =
            DtlsSrtpContexts::new(profile, &material, DtlsRole::Client, SrtpConfig::default())
                .unwrap();
        let mut sv =
            DtlsSrtpContexts::new(profile, &material, DtlsRole::Server, SrtpConfig::default())
                .unwrap();
        let mut p = protected_rtp(&mut c.local, 1, 7);
        let mut own = p.clone();
        assert_eq!(
            c.remote.unprotect_rtp(&mut own),
            Err(SrtpError::AuthenticationFailed)
        );
        sv.remote.unprotect_rtp(&mut p).unwrap();
        assert_eq!(p[..], rtp(1, 7, 100)[..]);
        let mut p = protected_rtp(&mut sv.local, 1, 8);
        c.remote.unprotect_rtp(&mut p).unwrap();

        let short = &material[..material.len() - 1];
        assert_eq!(
            DtlsSrtpKeys::split(profile, short, DtlsRole::Client).unwrap_err(),
            SrtpError::InvalidKeyingMaterialLength {
                expected: material.len(),
                actual: material.len() - 1
            }
        );
    }
}

#[test]
fn keys_and_config_are_checked() {
    let p = SrtpProfile::AeadAes256Gcm;
    let (key, salt) = master(p, 1);
    assert_eq!(
        SrtpContext::new(p, &key[..16], &salt, SrtpConfig::default()).unwrap_err(),
        SrtpError::InvalidKeyLength {
            expected: 32,
            actual: 16
        }
    );
    assert_eq!(
        SrtpContext::new(p, &key, &[0; 14], SrtpConfig::default()).unwrap_err(),
        SrtpError::InvalidSaltLength {
            expected: 12,
            actual: 14
        }
    );
    for (window, max_ssrcs) in [(63, 1), (0x8001, 1), (64, 0)] {
        let config = SrtpConfig {
            replay_window: window,
            max_ssrcs,
            ..SrtpConfig::default()
        };
        assert!(matches!(
            SrtpContext::new(p, &key, &salt, config),
            Err(SrtpError::InvalidConfig(_))
        ));
    }
}

// ---------------------------------------------------------------------------------
// Round trips

#[test]
fn every_profile_round_trips_rtp_and_rtcp() {
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
        for seq in [0u16, 1, 2, 1000] {
            let plain = rtp(seq, 0xdead_beef, seq as usize % 300);
            let mut p = buf(&plain);
            tx.protect_rtp(&mut p).unwrap();
            assert_eq!(p.len(), plain.len() + profile.rtp_overhead(), "{profile}");
            assert_eq!(p[..12], plain[..12], "header stays in the clear");
            if plain.len() > 12 {
                assert_ne!(p[12..plain.len()], plain[12..], "payload is encrypted");
            }
            rx.unprotect_rtp(&mut p).unwrap();
            assert_eq!(p[..], plain[..], "{profile}");
        }
        for _ in 0..3 {
            let plain = rtcp(0x1234_5678);
            let mut p = buf(&plain);
            tx.protect_rtcp(&mut p).unwrap();
            assert_eq!(p.len(), plain.len() + profile.rtcp_overhead(), "{profile}");
            assert_eq!(p[..8], plain[..8]);
            assert_ne!(p[8..plain.len()], plain[8..]);
            rx.unprotect_rtcp(&mut p).unwrap();
            assert_eq!(p[..], plain[..], "{profile}");
        }
    }
}

#[test]
fn srtcp_index_counts_per_ssrc_with_e_flag() {
    for profile in SrtpProfile::ALL {
        let (mut tx, _) = pair(profile, SrtpConfig::default());
        let word = |p: &BytesMut| {
            let at = if profile.is_aead() {
                p.len() - 4
            } else {
                p.len() - 4 - profile.rtcp_tag_len()
            };
            u32::from_be_bytes(p[at..at + 4].try_into().unwrap())
        };
        let mut words = Vec::new();
        for ssrc in [1, 1, 2, 1] {
            let mut p = buf(&rtcp(ssrc));
            tx.protect_rtcp(&mut p).unwrap();
            words.push(word(&p));
        }
        assert_eq!(words, [0x8000_0000, 0x8000_0001, 0x8000_0000, 0x8000_0002]);
    }
}

#[test]
fn srtcp_index_wraps_after_31_bits() {
    let profile = SrtpProfile::Aes128CmHmacSha1_80;
    let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
    tx.set_next_srtcp_index(9, 0x7fff_ffff);
    let mut last = buf(&rtcp(9));
    tx.protect_rtcp(&mut last).unwrap();
    let trailer = |p: &BytesMut| p[p.len() - 14..p.len() - 10].to_vec();
    assert_eq!(trailer(&last), [0xff, 0xff, 0xff, 0xff]);
    let mut wrapped = buf(&rtcp(9));
    tx.protect_rtcp(&mut wrapped).unwrap();
    assert_eq!(trailer(&wrapped), [0x80, 0, 0, 0]);
    rx.unprotect_rtcp(&mut last).unwrap();
    assert_eq!(last[..], rtcp(9)[..]);
}

// ---------------------------------------------------------------------------------
// ROC estimation (RFC 3711 §3.3.1, Appendix A)

#[test]
fn index_estimate_follows_appendix_a() {
    // (highest index, SEQ) -> estimated index
    let roc1 = 1u64 << 16;
    let cases = [
        (100, 101, Some(101)),
        (100, 50, Some(50)),
        (100, 65000, None), // ROC would be -1
        (roc1 + 100, 65000, Some(65000)),
        (65535, 0, Some(roc1)),
        (65000, 10, Some(roc1 + 10)),
        (65000, 40000, Some(40000)),
        (roc1 + 5, 65530, Some(65530)),
        (0x8000, 0, Some(0)),           // s_l - 32768 = 0, not > 0
        (0x8001, 0, Some(roc1)),        // s_l - 32768 = 1 > 0
        (0x7fff, 0xffff, Some(0xffff)), // SEQ - s_l = 32768, not > 32768
        (roc1 + 0x7fff, 0xffff, Some(roc1 + 0xffff)),
        (roc1, 0x8001, Some(0x8001)), // SEQ - s_l = 32769 > 32768
        ((0xffff_ffffu64 << 16) | 0xfff0, 5, Some(5)), // the ROC wraps modulo 2^32
    ];
    for (highest, seq, expected) in cases {
        assert_eq!(
            estimate_index(highest, seq),
            expected,
            "highest {highest:#x}, seq {seq:#x}"
        );
    }
}

#[test]
fn roc_advances_across_sequence_wrap_with_reordering() {
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
        let ssrc = 0xabcd;
        // Sent in order across the wrap...
        let sent: Vec<(u16, BytesMut)> = (65530u16..=65535)
            .chain(0..6)
            .map(|seq| (seq, protected_rtp(&mut tx, seq, ssrc)))
            .collect();
        assert_eq!(tx.rtp_roc_out(ssrc), Some(1));
        // ...received out of order around it: pre-wrap packets after post-wrap ones.
        let order = [
            65530u16, 65532, 0, 65535, 2, 65531, 1, 65534, 5, 3, 65533, 4,
        ];
        for seq in order {
            let mut p = sent.iter().find(|(s, _)| *s == seq).unwrap().1.clone();
            rx.unprotect_rtp(&mut p)
                .unwrap_or_else(|e| panic!("{profile} seq {seq}: {e}"));
            assert_eq!(p[..], rtp(seq, ssrc, 100)[..]);
        }
        assert_eq!(rx.rtp_roc_in(ssrc), Some(1));
        // Every one of them is now a replay, on either side of the wrap.
        for (seq, p) in &sent {
            let mut p = p.clone();
            assert!(
                matches!(rx.unprotect_rtp(&mut p), Err(SrtpError::Replayed { .. })),
                "{profile} seq {seq}"
            );
        }
        // A retransmission of a pre-wrap packet is protected with ROC 0 again.
        let mut p = buf(&rtp(65529, ssrc, 100));
        tx.protect_rtp(&mut p).unwrap();
        rx.unprotect_rtp(&mut p).unwrap();
        assert_eq!(tx.rtp_roc_out(ssrc), Some(1));
    }
}

#[test]
fn wrong_roc_guess_fails_authentication() {
    // A receiver that joins after the wrap assumes ROC 0 (RFC 3711 §3.3.1) and cannot
    // authenticate ROC-1 packets: the ROC is part of the authenticated data.
    for profile in SrtpProfile::ALL {
        let (mut tx, _) = pair(profile, SrtpConfig::default());
        for seq in (65000u16..=65535).step_by(100).chain([65535]) {
            protected_rtp(&mut tx, seq, 5);
        }
        let mut late = protected_rtp(&mut tx, 3, 5);
        let (_, mut rx) = pair(profile, SrtpConfig::default());
        assert_eq!(
            rx.unprotect_rtp(&mut late),
            Err(SrtpError::AuthenticationFailed)
        );
        assert_eq!(rx.rtp_roc_in(5), None, "no state from a failed packet");
    }
}

// ---------------------------------------------------------------------------------
// Replay protection (RFC 3711 §3.3.2)

#[test]
fn replayed_packet_is_rejected() {
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
        let p = protected_rtp(&mut tx, 10, 1);
        rx.unprotect_rtp(&mut p.clone()).unwrap();
        assert_eq!(
            rx.unprotect_rtp(&mut p.clone()),
            Err(SrtpError::Replayed { ssrc: 1, index: 10 })
        );
        let mut c = buf(&rtcp(1));
        tx.protect_rtcp(&mut c).unwrap();
        rx.unprotect_rtcp(&mut c.clone()).unwrap();
        assert_eq!(
            rx.unprotect_rtcp(&mut c.clone()),
            Err(SrtpError::Replayed { ssrc: 1, index: 0 })
        );
    }
}

#[test]
fn packet_behind_the_window_is_rejected() {
    let config = SrtpConfig {
        replay_window: 100,
        ..SrtpConfig::default()
    };
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile, config.clone());
        let packets: Vec<BytesMut> = (0..=1000).map(|s| protected_rtp(&mut tx, s, 2)).collect();
        rx.unprotect_rtp(&mut packets[1000].clone()).unwrap();
        // 1000 - 900 = 100: one past the window's reach.
        assert_eq!(
            rx.unprotect_rtp(&mut packets[900].clone()),
            Err(SrtpError::TooOld {
                ssrc: 2,
                index: 900
            })
        );
        // 1000 - 901 = 99: the oldest index the window still covers.
        rx.unprotect_rtp(&mut packets[901].clone()).unwrap();
        rx.unprotect_rtp(&mut packets[999].clone()).unwrap();
    }
}

#[test]
fn tampered_packet_is_rejected_and_does_not_move_the_window() {
    let config = SrtpConfig {
        replay_window: 64,
        ..SrtpConfig::default()
    };
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile, config.clone());
        let old = protected_rtp(&mut tx, 10, 3);
        rx.unprotect_rtp(&mut protected_rtp(&mut tx, 20, 3))
            .unwrap();
        let far = protected_rtp(&mut tx, 500, 3);
        // Flip one bit in each region: header, payload, tag.
        for at in [2, 12, 40, far.len() - 1] {
            let mut forged = far.clone();
            forged[at] ^= 0x10;
            let got = rx.unprotect_rtp(&mut forged);
            assert!(
                matches!(
                    got,
                    Err(SrtpError::AuthenticationFailed | SrtpError::TooOld { .. })
                ),
                "{profile} byte {at}: {got:?}"
            );
        }
        // Had the forgery at 500 moved the window, 10 would now be too old.
        rx.unprotect_rtp(&mut old.clone()).unwrap();
        // And the genuine 500 is still fresh.
        rx.unprotect_rtp(&mut far.clone()).unwrap();

        let mut c = buf(&rtcp(3));
        tx.protect_rtcp(&mut c).unwrap();
        let mut forged = c.clone();
        forged[10] ^= 1;
        assert_eq!(
            rx.unprotect_rtcp(&mut forged),
            Err(SrtpError::AuthenticationFailed)
        );
        rx.unprotect_rtcp(&mut c).unwrap();
    }
}

#[test]
fn wrong_key_is_rejected() {
    for profile in SrtpProfile::ALL {
        let (mut tx, _) = pair(profile, SrtpConfig::default());
        let (key, salt) = master(profile, 0x5b);
        let mut rx = SrtpContext::new(profile, &key, &salt, SrtpConfig::default()).unwrap();
        let mut p = protected_rtp(&mut tx, 1, 1);
        assert_eq!(
            rx.unprotect_rtp(&mut p),
            Err(SrtpError::AuthenticationFailed)
        );
        let mut c = buf(&rtcp(1));
        tx.protect_rtcp(&mut c).unwrap();
        assert_eq!(
            rx.unprotect_rtcp(&mut c),
            Err(SrtpError::AuthenticationFailed)
        );
        // A different salt alone is a different key too.
        let (key, mut salt) = master(profile, 0x5a);
        salt[0] ^= 1;
        let mut rx = SrtpContext::new(profile, &key, &salt, SrtpConfig::default()).unwrap();
        let mut p = protected_rtp(&mut tx, 2, 1);
        assert_eq!(
            rx.unprotect_rtp(&mut p),
            Err(SrtpError::AuthenticationFailed)
        );
    }
}

#[test]
fn ssrc_table_is_bounded_and_only_authentic_packets_enter_it() {
    let config = SrtpConfig {
        max_ssrcs: 2,
        ..SrtpConfig::default()
    };
    let profile = SrtpProfile::AeadAes128Gcm;
    let (mut tx, mut rx) = pair(profile, config);
    // Forged packets from many SSRCs take no place in the table.
    for ssrc in 100..110 {
        let mut forged = protected_rtp(&mut pair(profile, SrtpConfig::default()).0, 1, ssrc);
        forged[20] ^= 1;
        assert_eq!(
            rx.unprotect_rtp(&mut forged),
            Err(SrtpError::AuthenticationFailed)
        );
    }
    rx.unprotect_rtp(&mut protected_rtp(&mut tx, 1, 1)).unwrap();
    rx.unprotect_rtp(&mut protected_rtp(&mut tx, 1, 2)).unwrap();
    assert_eq!(
        tx.protect_rtp(&mut buf(&rtp(1, 3, 10))),
        Err(SrtpError::TooManySsrcs { max: 2 })
    );
    tx.remove_ssrc(1);
    let mut third = protected_rtp(&mut tx, 1, 3);
    assert_eq!(
        rx.unprotect_rtp(&mut third.clone()),
        Err(SrtpError::TooManySsrcs { max: 2 })
    );
    rx.remove_ssrc(2);
    rx.unprotect_rtp(&mut third).unwrap();
}

/// The window against a model that remembers every index it accepted.
fn replay_model_agrees(size: usize, steps: &[(bool, u16)]) {
    let mut window = ReplayWindow::new(size);
    let mut seen = BTreeSet::new();
    let mut highest: Option<u64> = None;
    let mut index = 5000u64;
    for &(forward, delta) in steps {
        index = if forward {
            index + u64::from(delta)
        } else {
            index.saturating_sub(u64::from(delta))
        };
        let expected = match highest {
            Some(h) if index <= h && h - index >= size as u64 => ReplayCheck::TooOld,
            _ if seen.contains(&index) => ReplayCheck::Replayed,
            _ => ReplayCheck::Fresh,
        };
        assert_eq!(window.check(index), expected, "index {index}");
        if expected == ReplayCheck::Fresh {
            window.accept(index);
            seen.insert(index);
            highest = Some(highest.map_or(index, |h| h.max(index)));
        }
    }
}

#[test]
fn replay_window_ring_clears_slots_it_skips() {
    // Fill 0..64, jump by 37: slots for 64..100 held bits of 0..36.
    let mut w = ReplayWindow::new(64);
    for i in 0..64 {
        w.accept(i);
    }
    w.accept(100);
    assert_eq!(w.check(70), ReplayCheck::Fresh);
    assert_eq!(w.check(99), ReplayCheck::Fresh);
    assert_eq!(w.check(63), ReplayCheck::Replayed);
    assert_eq!(w.check(37), ReplayCheck::Replayed);
    assert_eq!(w.check(36), ReplayCheck::TooOld);
    assert_eq!(w.check(100), ReplayCheck::Replayed);
    // A jump beyond the capacity forgets everything.
    w.accept(100 + 64);
    assert_eq!(w.check(101), ReplayCheck::Fresh);
    assert_eq!(w.check(100), ReplayCheck::TooOld);
}

proptest! {
    #[test]
    fn replay_window_matches_model(
        size in prop_oneof![Just(64usize), Just(100), Just(1024)],
        steps in proptest::collection::vec((any::<bool>(), 0u16..1500), 1..300),
    ) {
        replay_model_agrees(size, &steps);
    }

    /// protect → unprotect is the identity for any header shape and payload.
    #[test]
    fn protect_unprotect_is_identity(
        profile in proptest::sample::select(SrtpProfile::ALL.to_vec()),
        marker_pt in any::<u8>(),
        seq in any::<u16>(),
        timestamp in any::<u32>(),
        ssrc in any::<u32>(),
        csrcs in proptest::collection::vec(any::<u32>(), 0..=15),
        extension in proptest::option::of((any::<u16>(), proptest::collection::vec(any::<u32>(), 0..8))),
        payload in proptest::collection::vec(any::<u8>(), 0..1300),
        rtcp_body in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut plain = vec![0x80 | csrcs.len() as u8 | if extension.is_some() { 0x10 } else { 0 }, marker_pt];
        plain.extend_from_slice(&seq.to_be_bytes());
        plain.extend_from_slice(&timestamp.to_be_bytes());
        plain.extend_from_slice(&ssrc.to_be_bytes());
        for c in &csrcs {
            plain.extend_from_slice(&c.to_be_bytes());
        }
        if let Some((id, words)) = &extension {
            plain.extend_from_slice(&id.to_be_bytes());
            plain.extend_from_slice(&(words.len() as u16).to_be_bytes());
            for w in words {
                plain.extend_from_slice(&w.to_be_bytes());
            }
        }
        let header_len = plain.len();
        plain.extend_from_slice(&payload);

        let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
        let mut p = buf(&plain);
        tx.protect_rtp(&mut p).unwrap();
        prop_assert_eq!(&p[..header_len], &plain[..header_len]);
        prop_assert_eq!(p.len(), plain.len() + profile.rtp_overhead());
        rx.unprotect_rtp(&mut p).unwrap();
        prop_assert_eq!(&p[..], &plain[..]);

        let mut c = vec![0x80, 200, 0, 0];
        c.extend_from_slice(&ssrc.to_be_bytes());
        c.extend_from_slice(&rtcp_body);
        let mut p = buf(&c);
        tx.protect_rtcp(&mut p).unwrap();
        rx.unprotect_rtcp(&mut p).unwrap();
        prop_assert_eq!(&p[..], &c[..]);
    }

    /// Arbitrary bytes never panic either way and never authenticate.
    #[test]
    fn arbitrary_input_is_an_error_not_a_panic(
        profile in proptest::sample::select(SrtpProfile::ALL.to_vec()),
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
        prop_assert!(rx.unprotect_rtp(&mut buf(&bytes)).is_err());
        prop_assert!(rx.unprotect_rtcp(&mut buf(&bytes)).is_err());
        let _ = tx.protect_rtp(&mut buf(&bytes));
        let _ = tx.protect_rtcp(&mut buf(&bytes));
    }
}

// ---------------------------------------------------------------------------------
// Malformed input

#[test]
fn every_truncation_is_an_error() {
    for profile in SrtpProfile::ALL {
        let (mut tx, _) = pair(profile, SrtpConfig::default());
        // CSRCs and an extension, so the cuts land inside each part of the header.
        let mut plain = vec![0x92, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9];
        plain.extend_from_slice(&[1, 1, 1, 1, 2, 2, 2, 2]);
        plain.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x10, 0xff, 0, 0]);
        const HEADER: usize = 12 + 8 + 8;
        plain.extend_from_slice(b"payload");
        let mut srtp = buf(&plain);
        tx.protect_rtp(&mut srtp).unwrap();
        let mut srtcp = buf(&rtcp(9));
        tx.protect_rtcp(&mut srtcp).unwrap();
        for len in 0..srtp.len() {
            let (_, mut rx) = pair(profile, SrtpConfig::default());
            let got = rx.unprotect_rtp(&mut buf(&srtp[..len]));
            assert!(got.is_err(), "{profile} SRTP cut to {len}");
            if len < HEADER + profile.rtp_tag_len() {
                assert!(
                    matches!(got, Err(SrtpError::Truncated(_))),
                    "{profile} {len}: {got:?}"
                );
            }
        }
        for len in 0..srtcp.len() {
            let (_, mut rx) = pair(profile, SrtpConfig::default());
            assert!(
                rx.unprotect_rtcp(&mut buf(&srtcp[..len])).is_err(),
                "{profile} SRTCP cut to {len}"
            );
        }
        // Protecting a cut header fails too.
        for len in 0..HEADER {
            assert!(matches!(
                tx.protect_rtp(&mut buf(&plain[..len])),
                Err(SrtpError::Truncated(_))
            ));
        }
        assert!(matches!(
            tx.protect_rtcp(&mut buf(&[0x80, 200, 0])),
            Err(SrtpError::Truncated(_))
        ));
    }
}

#[test]
fn header_lengths_are_never_trusted() {
    let (mut tx, mut rx) = pair(SrtpProfile::Aes128CmHmacSha1_80, SrtpConfig::default());
    // CC = 15 claims 60 bytes of CSRCs in a 40-byte packet.
    let mut cc = vec![0x8f, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1];
    cc.resize(40, 0);
    assert_eq!(
        rx.unprotect_rtp(&mut buf(&cc)),
        Err(SrtpError::Truncated("RTP CSRC list"))
    );
    // An extension length of 0xffff words.
    let mut ext = vec![
        0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0xff, 0xff,
    ];
    ext.resize(100, 0);
    assert_eq!(
        rx.unprotect_rtp(&mut buf(&ext)),
        Err(SrtpError::Truncated("RTP header extension"))
    );
    assert_eq!(
        tx.protect_rtp(&mut buf(&ext)),
        Err(SrtpError::Truncated("RTP header extension"))
    );
    // The extension bit with no room for its header.
    let short_ext = [0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde];
    assert_eq!(
        rx.unprotect_rtp(&mut buf(&short_ext)),
        Err(SrtpError::Truncated("RTP header extension header"))
    );
    // Version 1 and version 3.
    let mut v1 = rtp(1, 1, 30);
    v1[0] = 0x40;
    assert_eq!(
        rx.unprotect_rtp(&mut buf(&v1)),
        Err(SrtpError::UnsupportedVersion(1))
    );
    assert_eq!(
        rx.unprotect_rtcp(&mut buf(&v1)),
        Err(SrtpError::UnsupportedVersion(1))
    );
    let mut v3 = rtp(1, 1, 30);
    v3[0] = 0xc0;
    assert_eq!(
        tx.protect_rtp(&mut buf(&v3)),
        Err(SrtpError::UnsupportedVersion(3))
    );
}

#[test]
fn rtcp_is_told_from_rtp_by_packet_type() {
    assert!(is_rtcp(&rtcp(1)));
    assert!(is_rtcp(&[0x80, 200]));
    assert!(is_rtcp(&[0x80, 223]));
    assert!(!is_rtcp(&[0x80, 224]));
    assert!(!is_rtcp(&[0x80, 191]));
    assert!(!is_rtcp(&rtp(1, 1, 0)));
    assert!(!is_rtcp(&[0x80]));
}

// ---------------------------------------------------------------------------------
// Real Chromium 156 <-> aiortc packets

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/chromium-156/srtp"
);

fn fixture_fields(file: &str) -> Vec<Vec<String>> {
    std::fs::read_to_string(format!("{FIXTURES}/{file}"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

/// Every captured SRTP/SRTCP datagram unprotects with its direction's key, carries the
/// header fields its name and the index give, and re-protects to the same bytes.
#[test]
fn chromium_156_packets_unprotect_and_reprotect_byte_for_byte() {
    let keys = fixture_fields("keys.tsv");
    let value = |name: &str| keys.iter().find(|f| f[0] == name).unwrap()[1].clone();
    let profile = SrtpProfile::ALL
        .into_iter()
        .find(|p| p.name() == value("profile"))
        .unwrap();
    let material = hex(&value("keying_material"));
    assert_eq!(value("browser_role"), "server");
    // aiortc's view (DTLS client) receives from-browser packets; the browser's view
    // (DTLS server) receives to-browser ones.
    let contexts =
        |role| DtlsSrtpContexts::new(profile, &material, role, SrtpConfig::default()).unwrap();
    let mut aiortc = contexts(DtlsRole::Client);
    let mut browser = contexts(DtlsRole::Server);

    let index = fixture_fields("index.tsv");
    assert_eq!(index.len(), 8);
    let mut kinds = BTreeSet::new();
    for row in &index {
        let [file, direction, kind, pt, ssrc, _sender] = &row[..] else {
            panic!("bad index row {row:?}")
        };
        let wire = std::fs::read(format!("{FIXTURES}/{file}")).unwrap();
        assert_eq!(
            pt,
            file.rsplit_once("-pt").unwrap().1.trim_end_matches(".bin"),
            "payload type in the name"
        );
        let pt: u8 = pt.parse().unwrap();
        let ssrc = u32::from_str_radix(ssrc.trim_start_matches("0x"), 16).unwrap();
        let (receiver, sender_role) = match direction.as_str() {
            "from-browser" => (&mut aiortc.remote, DtlsRole::Server),
            "to-browser" => (&mut browser.remote, DtlsRole::Client),
            other => panic!("direction {other}"),
        };
        let mut sender = contexts(sender_role).local;
        let mut packet = buf(&wire);
        kinds.insert(kind.clone());
        match kind.as_str() {
            "RTP" => {
                assert!(!is_rtcp(&wire), "{file}");
                receiver
                    .unprotect_rtp(&mut packet)
                    .unwrap_or_else(|e| panic!("{file}: {e}"));
                assert_eq!(packet.len(), wire.len() - 10);
                let header = context::RtpHeader::parse(&packet).unwrap();
                assert_eq!(packet[1] & 0x7f, pt, "{file}");
                assert_eq!(header.ssrc, ssrc, "{file}");
                assert!(header.len <= packet.len(), "{file}");
                sender.protect_rtp(&mut packet).unwrap();
            }
            "RTCP" => {
                assert!(is_rtcp(&wire), "{file}");
                let word_at = wire.len() - 14;
                let word = u32::from_be_bytes(wire[word_at..word_at + 4].try_into().unwrap());
                assert_ne!(word & 0x8000_0000, 0, "{file}: browsers encrypt SRTCP");
                receiver
                    .unprotect_rtcp(&mut packet)
                    .unwrap_or_else(|e| panic!("{file}: {e}"));
                assert_eq!(packet.len(), wire.len() - 14);
                assert_eq!(packet[1], pt, "{file}");
                assert_eq!(u32::from_be_bytes(packet[4..8].try_into().unwrap()), ssrc);
                // The decrypted compound packet is a whole number of RTCP packets,
                // each version 2 (RFC 3550 §6.1).
                let mut at = 0;
                while at < packet.len() {
                    assert_eq!(packet[at] >> 6, 2, "{file} at {at}");
                    let words = u16::from_be_bytes([packet[at + 2], packet[at + 3]]);
                    at += 4 * (usize::from(words) + 1);
                }
                assert_eq!(at, packet.len(), "{file}: compound length");
                sender.set_next_srtcp_index(ssrc, word & 0x7fff_ffff);
                sender.protect_rtcp(&mut packet).unwrap();
            }
            other => panic!("kind {other}"),
        }
        assert_eq!(packet[..], wire[..], "{file} re-protected");
        // And the receiver has moved on: the same datagram again is a replay.
        let mut again = buf(&wire);
        let replay = if kind == "RTP" {
            receiver.unprotect_rtp(&mut again)
        } else {
            receiver.unprotect_rtcp(&mut again)
        };
        assert!(
            matches!(replay, Err(SrtpError::Replayed { .. })),
            "{file}: {replay:?}"
        );
    }
    assert_eq!(kinds.len(), 2);
}
