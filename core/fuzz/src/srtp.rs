//! # `srtp_unprotect`
//!
//! See [`srtp_unprotect`] for the input format and what it checks.

use super::{PARSED_PER_BYTE, PARSER_BUDGET, heap};

/// Keys for [`srtp_unprotect`]: the Chromium 156 "media" session's DTLS-SRTP keying
/// material (AES_CM_128_HMAC_SHA1_80; the browser was the DTLS server), so captured
/// browser packets authenticate when the mode selects it.
pub const CHROMIUM_SRTP_KEYING_MATERIAL: &str = "465772a308357f1665a8128a3cd006a6762392677638c32798b650ae5e71f48498015392eb25645fa076741234615832a680bff6efcf46dd659ef525";

fn srtp_contexts(mode: u8) -> (sansrtc::srtp::SrtpContext, sansrtc::srtp::SrtpContext) {
    use sansrtc::srtp::{DtlsRole, DtlsSrtpContexts, SrtpConfig, SrtpContext, SrtpProfile};
    let config = || SrtpConfig {
        replay_window: 64,
        max_ssrcs: 4,
        ..SrtpConfig::default()
    };
    if mode & 8 != 0 {
        let km: Vec<u8> = (0..CHROMIUM_SRTP_KEYING_MATERIAL.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&CHROMIUM_SRTP_KEYING_MATERIAL[i..i + 2], 16).unwrap())
            .collect();
        let p = SrtpProfile::Aes128CmHmacSha1_80;
        // From-browser packets are protected with the server half: our remote as client.
        let rx = DtlsSrtpContexts::new(p, &km, DtlsRole::Client, config())
            .unwrap()
            .remote;
        let tx = DtlsSrtpContexts::new(p, &km, DtlsRole::Server, config())
            .unwrap()
            .local;
        return (tx, rx);
    }
    let p = SrtpProfile::ALL[usize::from(mode & 3)];
    let key: Vec<u8> = (0..p.key_len() as u8).collect();
    let salt: Vec<u8> = (0..p.salt_len() as u8).map(|b| b ^ 0x5a).collect();
    (
        SrtpContext::new(p, &key, &salt, config()).unwrap(),
        SrtpContext::new(p, &key, &salt, config()).unwrap(),
    )
}

/// SRTP/SRTCP on hostile input. The first byte is the mode: bits 0–1 pick the profile
/// (`SrtpProfile::ALL`), bit 2 treats packets as RTCP, bit 3 uses Chromium's keys. Then
/// packets follow, each `len: u16` BE and `len` bytes, fed in order to one receiving
/// context (so ROC and replay state carry over). Unprotect must never panic; and each
/// packet is also protected by a sending context with the same keys and, when the receiver
/// accepts it, must come back unchanged.
pub fn srtp_unprotect(data: &[u8]) {
    heap::within(
        "srtp_unprotect",
        PARSER_BUDGET + PARSED_PER_BYTE * data.len(),
        || srtp_unprotect_unbounded(data),
    )
}

fn srtp_unprotect_unbounded(data: &[u8]) {
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    let rtcp = mode & 4 != 0;
    let (_, mut rx) = srtp_contexts(mode);
    let (mut tx2, mut rx2) = srtp_contexts(mode);
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let packet = &rest[2..2 + len];
        rest = &rest[2 + len..];
        let mut buf = bytes::BytesMut::from(packet);
        let _ = if rtcp {
            rx.unprotect_rtcp(&mut buf)
        } else {
            rx.unprotect_rtp(&mut buf)
        };
        let mut round = bytes::BytesMut::from(packet);
        let protected = if rtcp {
            tx2.protect_rtcp(&mut round)
        } else {
            tx2.protect_rtp(&mut round)
        };
        if protected.is_ok() {
            let back = if rtcp {
                rx2.unprotect_rtcp(&mut round)
            } else {
                rx2.unprotect_rtp(&mut round)
            };
            if back.is_ok() {
                assert_eq!(&round[..], packet, "protect → unprotect changed the packet");
            }
        }
    }
}
