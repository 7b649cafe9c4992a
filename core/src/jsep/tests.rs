//! JSEP between two of our engines in the simulator, and against real browser offers.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::{JsepError, PeerConnectionState, RtcSessionDescription, SdpType, SignalingState};
use crate::crypto::default_provider;
use crate::datachannel::{DataChannelEvent, DataChannelInit};
use crate::dtls::{DtlsCertificate, DtlsRole};
use crate::engine::{Engine, EngineConfig, Event};
use crate::ortc::IceGathererConfig;
use crate::sdp::SessionDescription;
use crate::sim::{EndpointId, HostConfig, LinkConfig, Sim};

const A: &str = "198.51.100.1:5000";
const B: &str = "198.51.100.2:5000";

const CHROMIUM_MEDIA_OFFER: &str =
    include_str!("../../tests/fixtures/sdp/chromium-156.0.8078.129/media-offer.sdp");
const CHROMIUM_DATA_OFFER: &str =
    include_str!("../../tests/fixtures/sdp/chromium-156.0.8078.129/data-offer.sdp");
const FIREFOX_MEDIA_OFFER: &str =
    include_str!("../../tests/fixtures/sdp/firefox-153.8.0esr/media-offer.sdp");
const FIREFOX_DATA_ANSWER: &str =
    include_str!("../../tests/fixtures/sdp/firefox-153.8.0esr/data-answer.sdp");

fn engine(seed: u64, addr: &str, now: Instant) -> Engine {
    let mut e = Engine::new(
        EngineConfig {
            ice: IceGathererConfig {
                seed: Some(seed),
                ..Default::default()
            },
            certificates: vec![DtlsCertificate::generate(&*default_provider()).unwrap()],
            sctp_port: Some(5000),
        },
        now,
    );
    e.ice_gatherer_mut()
        .gather(&[addr.parse::<SocketAddr>().unwrap()])
        .unwrap();
    e
}

/// Offer from `a` (with a channel), answer from `b`, both applied.
fn negotiate(a: &mut Engine, b: &mut Engine) {
    let offer = a.peer_connection_mut().create_offer().unwrap();
    a.peer_connection_mut()
        .set_local_description(&offer)
        .unwrap();
    b.peer_connection_mut()
        .set_remote_description(&offer)
        .unwrap();
    let answer = b.peer_connection_mut().create_answer().unwrap();
    b.peer_connection_mut()
        .set_local_description(&answer)
        .unwrap();
    a.peer_connection_mut()
        .set_remote_description(&answer)
        .unwrap();
}

/// Two engines on a 10 ms link, `signal` run on them (the signaling) before they join.
fn sim_pair(
    signal: impl FnOnce(&mut Engine, &mut Engine),
) -> (Sim<Engine>, EndpointId, EndpointId) {
    let mut sim = Sim::new(3, Instant::now());
    let link = LinkConfig::new().latency(Duration::from_millis(10));
    let (aa, ba): (SocketAddr, SocketAddr) = (A.parse().unwrap(), B.parse().unwrap());
    let ha = sim.add_host(HostConfig::new(aa.ip()).link(link.clone()));
    let hb = sim.add_host(HostConfig::new(ba.ip()).link(link));
    let mut ea = engine(1, A, sim.now());
    let mut eb = engine(2, B, sim.now());
    signal(&mut ea, &mut eb);
    let a = sim.add_endpoint(ha, ea);
    let b = sim.add_endpoint(hb, eb);
    sim.bind(a, aa);
    sim.bind(b, ba);
    (sim, a, b)
}

/// Offer, answer, connect, and a message each way, all through the JSEP view: the
/// offerer controls ICE and, answered `a=setup:active`, is the DTLS server.
#[test]
fn offer_answer_connects_two_engines_and_carries_messages() {
    let mut ch = None;
    let (mut sim, a, b) = sim_pair(|ea, eb| {
        ch = Some(
            ea.peer_connection_mut()
                .create_data_channel("chat", DataChannelInit::default())
                .unwrap(),
        );
        assert!(ea.peer_connection().negotiation_needed());
        negotiate(ea, eb);
    });
    let ch = ch.unwrap();
    for id in [a, b] {
        let pc = sim.endpoint(id).peer_connection();
        assert_eq!(pc.signaling_state(), SignalingState::Stable);
        assert!(pc.current_local_description().is_some());
        assert!(pc.current_remote_description().is_some());
        assert_eq!(pc.can_trickle_ice_candidates(), Some(true));
    }
    assert!(!sim.endpoint(a).peer_connection().negotiation_needed());
    let opened = sim.run_until(Duration::from_secs(5), |s| {
        s.endpoint(a).peer_connection().connection_state() == PeerConnectionState::Connected
            && s.endpoint(b).peer_connection().connection_state() == PeerConnectionState::Connected
    });
    assert!(opened, "not connected");
    assert_eq!(
        sim.endpoint(a).dtls_transport().role(),
        Some(DtlsRole::Server)
    );
    assert_eq!(
        sim.endpoint(b).dtls_transport().role(),
        Some(DtlsRole::Client)
    );
    sim.endpoint_mut(a)
        .sctp_transport_mut()
        .send_text(ch, "hello over JSEP")
        .unwrap();
    let got = sim.run_until(Duration::from_secs(5), |s| {
        s.events().iter().any(|(_, id, e)| {
            *id == b
                && matches!(e, Event::DataChannel(DataChannelEvent::Message { data, .. }) if &data[..] == b"hello over JSEP")
        })
    });
    assert!(got, "no message at b");
    let at = |id: EndpointId| -> Vec<Event> {
        sim.events()
            .iter()
            .filter(|(_, i, _)| *i == id)
            .map(|(_, _, e)| e.clone())
            .collect()
    };
    assert!(at(b).iter().any(|e| {
        matches!(e, Event::DataChannel(DataChannelEvent::Incoming(info)) if info.label == "chat")
    }));
}

/// The signaling state changes and `negotiationneeded` come out as events.
#[test]
fn signaling_changes_and_negotiation_needed_are_events() {
    let mut a = engine(1, A, Instant::now());
    let mut b = engine(2, B, Instant::now());
    a.peer_connection_mut()
        .create_data_channel("chat", DataChannelInit::default())
        .unwrap();
    negotiate(&mut a, &mut b);
    let events: Vec<Event> = a.events.drain(..).collect();
    let states: Vec<SignalingState> = events
        .iter()
        .filter_map(|e| match e {
            Event::SignalingStateChange(s) => Some(*s),
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        [SignalingState::HaveLocalOffer, SignalingState::Stable]
    );
    assert!(events.contains(&Event::NegotiationNeeded));
}

/// Trickle: descriptions made before the candidates are known, candidates through
/// `addIceCandidate` as `icecandidate` would deliver them.
#[test]
fn trickled_candidates_connect() {
    let strip = |d: &RtcSessionDescription| {
        let sdp: String = d
            .sdp
            .split_inclusive("\r\n")
            .filter(|l| !l.starts_with("a=candidate") && !l.starts_with("a=end-of-candidates"))
            .collect();
        RtcSessionDescription::new(d.sdp_type, sdp)
    };
    let (mut sim, a, _) = sim_pair(|ea, eb| {
        ea.peer_connection_mut()
            .create_data_channel("t", DataChannelInit::default())
            .unwrap();
        let offer = ea.peer_connection_mut().create_offer().unwrap();
        ea.peer_connection_mut()
            .set_local_description(&offer)
            .unwrap();
        eb.peer_connection_mut()
            .set_remote_description(&strip(&offer))
            .unwrap();
        let answer = eb.peer_connection_mut().create_answer().unwrap();
        eb.peer_connection_mut()
            .set_local_description(&answer)
            .unwrap();
        ea.peer_connection_mut()
            .set_remote_description(&strip(&answer))
            .unwrap();
        trickle(ea, eb);
        trickle(eb, ea);
    });
    let ok = sim.run_until(Duration::from_secs(5), |s| {
        s.endpoint(a).peer_connection().connection_state() == PeerConnectionState::Connected
    });
    assert!(ok);
}

/// Hands `from`'s candidates to `to` as `icecandidate` events and `addIceCandidate` would.
fn trickle(from: &Engine, to: &mut Engine) {
    let inits: Vec<_> = from
        .ice_gatherer()
        .local_candidates()
        .iter()
        .map(|c| from.peer_connection().candidate_init(c))
        .collect();
    for c in &inits {
        assert_eq!(c.sdp_mid.as_deref(), Some("0"));
        to.peer_connection_mut().add_ice_candidate(Some(c)).unwrap();
    }
    to.peer_connection_mut().add_ice_candidate(None).unwrap();
}

/// A Chromium offer with audio, video and data: the answer rejects audio and video
/// (port 0, mid kept, same proto), accepts data, bundles only it, and says active.
#[test]
fn answers_a_chromium_media_offer_with_data_only() {
    for offer in [CHROMIUM_MEDIA_OFFER, FIREFOX_MEDIA_OFFER] {
        let mut b = engine(2, B, Instant::now());
        let pc = &mut b.peer_connection_mut();
        pc.set_remote_description(&RtcSessionDescription::new(SdpType::Offer, offer))
            .unwrap();
        let answer = pc.create_answer().unwrap();
        pc.set_local_description(&answer).unwrap();
        let theirs = SessionDescription::parse(offer).unwrap();
        let ours = SessionDescription::parse(&answer.sdp).unwrap();
        assert_eq!(ours.media_sections().len(), theirs.media_sections().len());
        for (o, t) in ours.media_sections().iter().zip(theirs.media_sections()) {
            assert_eq!(o.media().media, t.media().media);
            assert_eq!(o.media().proto, t.media().proto);
            assert_eq!(o.mid(), t.mid());
            let port = o.media().port;
            if t.media().media == "application" {
                assert_eq!(port, 9);
                assert_eq!(o.attribute_value("setup"), Some("active"));
                assert_eq!(o.attribute_value("sctp-port"), Some("5000"));
                assert!(o.attribute_value("fingerprint").is_some());
            } else {
                assert_eq!(port, 0);
            }
        }
        let data_mid = theirs
            .media_sections()
            .iter()
            .find(|m| m.media().media == "application")
            .and_then(|m| m.mid())
            .unwrap()
            .to_owned();
        assert_eq!(
            ours.attribute_value("group"),
            Some(format!("BUNDLE {data_mid}").as_str())
        );
        // Started: ICE controlled (the offerer controls), DTLS client.
        assert_eq!(
            b.dtls_transport().state(),
            crate::engine::DtlsTransportState::Connecting
        );
        assert_eq!(b.dtls_transport().role(), Some(DtlsRole::Client));
    }
}

/// A browser's data offer answered: its candidates went to ICE, and what ICE cannot use
/// (TCP, mDNS names) was skipped, not an error.
#[test]
fn a_data_offer_from_chromium_is_answered() {
    let mut b = engine(2, B, Instant::now());
    b.peer_connection_mut()
        .set_remote_description(&RtcSessionDescription::new(
            SdpType::Offer,
            CHROMIUM_DATA_OFFER,
        ))
        .unwrap();
    assert_eq!(
        b.peer_connection().signaling_state(),
        SignalingState::HaveRemoteOffer
    );
    let answer = b.peer_connection_mut().create_answer().unwrap();
    b.peer_connection_mut()
        .set_local_description(&answer)
        .unwrap();
    assert_eq!(
        b.peer_connection().signaling_state(),
        SignalingState::Stable
    );
}

/// An mDNS candidate (Chromium's default) is skipped; a malformed one is an error.
#[test]
fn mdns_candidates_are_skipped_and_malformed_ones_refused() {
    let mut b = engine(2, B, Instant::now());
    b.peer_connection_mut()
        .set_remote_description(&RtcSessionDescription::new(
            SdpType::Offer,
            CHROMIUM_DATA_OFFER,
        ))
        .unwrap();
    let mid = SessionDescription::parse(CHROMIUM_DATA_OFFER)
        .unwrap()
        .media_sections()[0]
        .mid()
        .unwrap()
        .to_owned();
    let c = |s: &str| super::IceCandidateInit {
        candidate: s.into(),
        sdp_mid: Some(mid.clone()),
        ..Default::default()
    };
    let pc = &mut b.peer_connection_mut();
    pc.add_ice_candidate(Some(&c(
        "candidate:1 1 udp 2122260223 0f6a2c3e-1b2c-4d5e-8f90-123456789abc.local 54321 typ host",
    )))
    .unwrap();
    assert!(
        pc.add_ice_candidate(Some(&c("candidate:1 1 udp x")))
            .is_err()
    );
    let wrong_mid = super::IceCandidateInit {
        candidate: "candidate:1 1 udp 1 127.0.0.1 1 typ host".into(),
        sdp_mid: Some("nope".into()),
        ..Default::default()
    };
    assert!(matches!(
        pc.add_ice_candidate(Some(&wrong_mid)),
        Err(JsepError::InvalidDescription(_))
    ));
    assert_eq!(b.jsep.skipped_candidates, 1);
}

/// Calls out of turn are `InvalidStateError`s naming the state; a description that is
/// not the one created is refused; SDP errors name the line.
#[test]
fn misuse_gets_clear_errors() {
    let mut a = engine(1, A, Instant::now());
    let pc = &mut a.peer_connection_mut();
    let e = pc.create_answer().unwrap_err();
    assert_eq!(
        e.to_string(),
        "InvalidStateError: createAnswer(answer) in signaling state stable"
    );
    let e = pc
        .set_remote_description(&RtcSessionDescription::new(
            SdpType::Answer,
            FIREFOX_DATA_ANSWER,
        ))
        .unwrap_err();
    assert!(matches!(e, JsepError::InvalidState { .. }), "{e}");
    pc.create_data_channel("x", DataChannelInit::default())
        .unwrap();
    let offer = pc.create_offer().unwrap();
    let munged = RtcSessionDescription::new(
        SdpType::Offer,
        offer.sdp.replace("a=setup:actpass", "a=setup:passive"),
    );
    assert!(matches!(
        pc.set_local_description(&munged),
        Err(JsepError::InvalidModification(_))
    ));
    let e = pc
        .set_remote_description(&RtcSessionDescription::new(
            SdpType::Offer,
            "v=0\r\nbogus\r\n",
        ))
        .unwrap_err();
    assert!(e.to_string().contains("line 2"), "{e}");
    // Glare: a remote offer while ours is pending.
    pc.set_local_description(&offer).unwrap();
    let e = pc
        .set_remote_description(&RtcSessionDescription::new(
            SdpType::Offer,
            CHROMIUM_DATA_OFFER,
        ))
        .unwrap_err();
    assert!(matches!(e, JsepError::InvalidState { .. }));
    // Rolled back, it may be taken.
    pc.set_local_description(&RtcSessionDescription::rollback())
        .unwrap();
    assert_eq!(pc.signaling_state(), SignalingState::Stable);
    pc.set_remote_description(&RtcSessionDescription::new(
        SdpType::Offer,
        CHROMIUM_DATA_OFFER,
    ))
    .unwrap();
    pc.close();
    assert_eq!(pc.signaling_state(), SignalingState::Closed);
    assert!(matches!(pc.create_offer(), Err(JsepError::Closed)));
    assert_eq!(pc.connection_state(), PeerConnectionState::Closed);
}

/// The candidates gathered so far ride in the offer, and end-of-candidates once
/// gathering is complete.
#[test]
fn the_offer_carries_our_candidates() {
    let mut a = engine(1, A, Instant::now());
    a.peer_connection_mut()
        .create_data_channel("x", DataChannelInit::default())
        .unwrap();
    let offer = a.peer_connection_mut().create_offer().unwrap();
    let sdp = SessionDescription::parse(&offer.sdp).unwrap();
    let m = &sdp.media_sections()[0];
    assert_eq!(m.media().proto, "UDP/DTLS/SCTP");
    assert_eq!(m.attribute_value("setup"), Some("actpass"));
    assert!(
        m.attribute_values("candidate")
            .any(|c| c.contains("198.51.100.1 5000"))
    );
}
