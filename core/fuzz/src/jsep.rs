//! # `jsep`
//!
//! [`jsep`] plays a remote peer's side of an offer/answer exchange with arbitrary SDP.
//! The first byte picks the exchange: even, the input is a remote offer we answer
//! (`setRemoteDescription(offer)`, `createAnswer`, `setLocalDescription`); odd, we offer
//! first and the input is the remote answer. The text after the first line that starts
//! with `a=candidate` … is also fed, line by line, to `addIceCandidate`. Nothing may
//! panic; a refused description must leave the signaling state where it was, and an
//! accepted exchange must end in `stable`.

use std::net::SocketAddr;
use std::sync::OnceLock;

use sansrtc::datachannel::DataChannelInit;
use sansrtc::dtls::DtlsCertificate;
use sansrtc::engine::{Engine, EngineConfig};
use sansrtc::jsep::{IceCandidateInit, RtcSessionDescription, SdpType, SignalingState};

use super::{PARSED_PER_BYTE, PARSER_BUDGET, base_instant, heap};

/// The `jsep` fuzz target. Panics only if the JSEP view breaks one of its promises.
pub fn jsep(data: &[u8]) {
    heap::within(
        "jsep",
        // An engine and its certificate's fingerprint, plus the description kept.
        256 * 1024 + PARSER_BUDGET + 2 * PARSED_PER_BYTE * data.len(),
        || jsep_unbounded(data),
    )
}

fn jsep_unbounded(data: &[u8]) {
    static CERT: OnceLock<DtlsCertificate> = OnceLock::new();
    let cert = CERT.get_or_init(|| {
        DtlsCertificate::generate(&*sansrtc::crypto::default_provider()).expect("certificate")
    });
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let mut e = Engine::new(
        EngineConfig::with_certificate(cert.clone()).seeded(7),
        base_instant(),
    );
    let addr: SocketAddr = "192.0.2.1:5000".parse().expect("literal");
    e.ice_gatherer_mut().gather(&[addr]).expect("gather");
    let mut pc = e.peer_connection_mut();
    let remote_kind = if mode % 2 == 0 {
        SdpType::Offer
    } else {
        pc.create_data_channel("fuzz", DataChannelInit::default())
            .expect("a channel");
        let offer = pc.create_offer().expect("our offer");
        pc.set_local_description(&offer).expect("our own offer");
        SdpType::Answer
    };
    let before = pc.signaling_state();
    let remote = RtcSessionDescription::new(remote_kind, text.as_ref());
    if pc.set_remote_description(&remote).is_err() {
        assert_eq!(
            pc.signaling_state(),
            before,
            "a refused description moved the state"
        );
        return;
    }
    if remote_kind == SdpType::Offer {
        assert_eq!(pc.signaling_state(), SignalingState::HaveRemoteOffer);
        let answer = pc.create_answer().expect("an answer to an accepted offer");
        pc.set_local_description(&answer)
            .expect("our own answer is accepted");
    }
    assert_eq!(pc.signaling_state(), SignalingState::Stable);
    let _ = pc.connection_state();
    for line in text.lines().filter(|l| l.starts_with("a=candidate")) {
        let c = IceCandidateInit {
            candidate: line.trim_start_matches("a=").to_owned(),
            sdp_m_line_index: Some(0),
            ..Default::default()
        };
        let _ = pc.add_ice_candidate(Some(&c));
    }
    let _ = pc.add_ice_candidate(None);
    pc.close();
    assert_eq!(pc.signaling_state(), SignalingState::Closed);
}
