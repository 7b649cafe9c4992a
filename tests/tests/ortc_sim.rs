//! The ORTC chain (ICE → DTLS → SCTP → data channels) between two of ours in the
//! simulator, parameters exchanged as aiortc-shaped JSON.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sansrtc::crypto::default_provider;
use sansrtc::datachannel::{ChannelId, DataChannelEvent};
use sansrtc::dtls::{DtlsCertificate, DtlsRole};
use sansrtc::engine::{Engine, EngineConfig};
use sansrtc::ortc::{
    DataChannelParameters, DtlsParameters, DtlsTransportState, IceCandidate, IceGathererConfig,
    IceParameters, IceRole, OrtcEvent, SctpCapabilities, SctpTransportState,
};
use sansrtc::sim::{EndpointId, HostConfig, LinkConfig, Sim};
use sansrtc_tests::dtls_plaintext;

struct Pair {
    sim: Sim<Engine>,
    a: EndpointId,
    b: EndpointId,
}

fn chain(seed: u64, addr: SocketAddr, now: Instant) -> Engine {
    let cert = DtlsCertificate::generate(&*default_provider()).unwrap();
    let mut e = Engine::new(EngineConfig::with_certificate(cert).seeded(seed), now);
    e.ice_gatherer_mut().gather(&[addr]).unwrap();
    e.dtls_transport_mut().config_mut().unwrap().seed = seed;
    e.sctp_transport_mut().config_mut().seed = seed;
    e
}

/// What one side signals, through JSON as aiortc would read and write it.
struct Signal {
    ice: IceParameters,
    candidates: Vec<IceCandidate>,
    dtls: DtlsParameters,
    sctp: SctpCapabilities,
}

fn signal(t: &Engine) -> Signal {
    let json = |v: String| v;
    let ice = json(serde_json::to_string(&t.ice_transport().local_parameters()).unwrap());
    let cands = json(serde_json::to_string(&t.ice_gatherer().local_candidates()).unwrap());
    let dtls = json(serde_json::to_string(&t.dtls_transport().local_parameters()).unwrap());
    let sctp = json(serde_json::to_string(&t.sctp_transport().capabilities()).unwrap());
    Signal {
        ice: serde_json::from_str(&ice).unwrap(),
        candidates: serde_json::from_str(&cands).unwrap(),
        dtls: serde_json::from_str(&dtls).unwrap(),
        sctp: serde_json::from_str(&sctp).unwrap(),
    }
}

fn start(t: &mut Engine, remote: &Signal, role: IceRole) {
    let mut ice = t.ice_transport_mut();
    ice.start(&remote.ice, role).unwrap();
    for c in &remote.candidates {
        ice.add_remote_candidate(Some(c)).unwrap();
    }
    ice.add_remote_candidate(None).unwrap();
    t.dtls_transport_mut().start(&remote.dtls).unwrap();
    t.sctp_transport_mut().start(&remote.sctp, 5000).unwrap();
}

fn pair(seed: u64, link: LinkConfig) -> Pair {
    let (aa, ba): (SocketAddr, SocketAddr) = (
        "198.51.100.1:5000".parse().unwrap(),
        "198.51.100.2:5000".parse().unwrap(),
    );
    let mut sim = Sim::new(seed, Instant::now());
    let ha = sim.add_host(HostConfig::new(aa.ip()).link(link.clone()));
    let hb = sim.add_host(HostConfig::new(ba.ip()).link(link));
    let mut ta = chain(seed * 2 + 1, aa, sim.now());
    let mut tb = chain(seed * 2 + 2, ba, sim.now());
    let (sa, sb) = (signal(&ta), signal(&tb));
    start(&mut ta, &sb, IceRole::Controlling);
    start(&mut tb, &sa, IceRole::Controlled);
    let a = sim.add_endpoint(ha, ta);
    let b = sim.add_endpoint(hb, tb);
    sim.bind(a, aa);
    sim.bind(b, ba);
    Pair { sim, a, b }
}

/// A channel `label` created on `a`, once it is open on both sides (within 10 s): its
/// handle on `a`, its handle on `b`, and its stream id.
fn open_channel(p: &mut Pair, label: &str) -> (ChannelId, ChannelId, u16) {
    let (a, b) = (p.a, p.b);
    let ch = p
        .sim
        .endpoint_mut(a)
        .sctp_transport_mut()
        .create_data_channel(&DataChannelParameters::new(label))
        .unwrap();
    let on_b = |s: &Sim<Engine>| {
        let id = s.endpoint(a).sctp_transport().channel(ch)?.id?;
        s.endpoint(b)
            .sctp_transport()
            .data_channels()?
            .channel_on_stream(id)
    };
    let open = |s: &Sim<Engine>, who, ch| {
        s.endpoint(who)
            .sctp_transport()
            .channel(ch)
            .is_some_and(|c| c.state == sansrtc::datachannel::DataChannelState::Open)
    };
    assert!(p.sim.run_until(Duration::from_secs(10), |s| open(s, a, ch)
        && on_b(s).is_some_and(|cb| open(s, b, cb))));
    let id = p
        .sim
        .endpoint(a)
        .sctp_transport()
        .channel(ch)
        .unwrap()
        .id
        .unwrap();
    (ch, on_b(&p.sim).unwrap(), id)
}

fn channel_open(events: &[(Duration, EndpointId, OrtcEvent)], who: EndpointId) -> Option<Duration> {
    events.iter().find_map(|(t, id, e)| {
        (*id == who && matches!(e, OrtcEvent::DataChannel(DataChannelEvent::Open(_)))).then_some(*t)
    })
}

#[test]
fn json_shapes_match_aiortc_field_names() {
    let t = chain(1, "198.51.100.1:5000".parse().unwrap(), Instant::now());
    let ice = serde_json::to_value(t.ice_transport().local_parameters()).unwrap();
    assert!(ice["usernameFragment"].is_string() && ice["password"].is_string());
    assert_eq!(ice["iceLite"], false);
    let c = serde_json::to_value(&t.ice_gatherer().local_candidates()[0]).unwrap();
    for k in [
        "component",
        "foundation",
        "ip",
        "port",
        "priority",
        "protocol",
        "type",
    ] {
        assert!(!c[k].is_null(), "candidate field {k}: {c}");
    }
    assert_eq!(
        (c["ip"].as_str(), c["port"].as_u64()),
        (Some("198.51.100.1"), Some(5000))
    );
    assert_eq!(
        (c["protocol"].as_str(), c["type"].as_str()),
        (Some("udp"), Some("host"))
    );
    let dtls = serde_json::to_value(t.dtls_transport().local_parameters()).unwrap();
    assert_eq!(dtls["role"], "auto");
    assert_eq!(dtls["fingerprints"][0]["algorithm"], "sha-256");
    assert_eq!(
        dtls["fingerprints"][0]["value"].as_str().unwrap().len(),
        32 * 3 - 1
    );
    assert_eq!(
        serde_json::to_value(t.sctp_transport().capabilities()).unwrap(),
        serde_json::json!({"maxMessageSize": 262144})
    );
    // aiortc's own JSON reads back: a candidate with nulls where it has no value.
    let theirs: IceCandidate = serde_json::from_str(
        r#"{"component": 1, "foundation": "a1b2", "ip": "127.0.0.1", "port": 50000,
            "priority": 2130706431, "protocol": "udp", "type": "host",
            "relatedAddress": null, "relatedPort": null, "sdpMid": null,
            "sdpMLineIndex": null, "tcpType": null}"#,
    )
    .unwrap();
    assert_eq!(theirs.port, 50000);
    let p: DataChannelParameters =
        serde_json::from_str(r#"{"label": "x", "maxRetransmits": 0, "ordered": false}"#).unwrap();
    assert!(!p.ordered && p.max_retransmits == Some(0) && !p.negotiated);
}

#[test]
fn chain_connects_and_carries_messages_both_ways() {
    let link = LinkConfig::new().latency(Duration::from_millis(10));
    let mut p = pair(7, link);
    let (a, b) = (p.a, p.b);
    let (ca, cb, id) = open_channel(&mut p, "chat");
    let events = p.sim.events().to_vec();
    let open = channel_open(&events, a).unwrap();
    let open_b = channel_open(&events, b).unwrap();
    // At 20 ms RTT, round trip by round trip: ICE's first check and its answer (DTLS
    // starts on that valid pair, without waiting for the nomination), DTLS's two
    // flights each way with the client's SCTP INIT riding on its second flight (False
    // Start, RFC 7918), so the server answers Finished and INIT-ACK together; then the
    // COOKIE exchange, and the channel opens on our side at once (the OPEN goes first,
    // no waiting for the ACK) and on the peer's half a round trip later: 70 and 80 ms
    // (120 and 110 before the valid-pair start, the INIT giving way and the early open;
    // 90 and 100 before False Start), with no timer anywhere in the way.
    assert_eq!(
        (open, open_b),
        (Duration::from_millis(70), Duration::from_millis(80)),
        "channel open after {open:?} / {open_b:?}"
    );
    // Roles: a is ICE-controlling, so the DTLS server (odd stream ids).
    assert_eq!(
        p.sim.endpoint(a).dtls_transport().role(),
        Some(DtlsRole::Server)
    );
    assert_eq!(
        p.sim.endpoint(b).dtls_transport().role(),
        Some(DtlsRole::Client)
    );
    assert_eq!(id % 2, 1);
    for who in [a, b] {
        let t = p.sim.endpoint(who);
        assert_eq!(t.dtls_transport().state(), DtlsTransportState::Connected);
        assert_eq!(t.sctp_transport().state(), SctpTransportState::Connected);
    }
    let incoming = events.iter().find_map(|(_, who, e)| match e {
        OrtcEvent::DataChannel(DataChannelEvent::Incoming(info)) if *who == b => Some(info.clone()),
        _ => None,
    });
    assert_eq!(
        incoming.map(|i| (i.channel, i.id, i.label)),
        Some((cb, Some(id), "chat".to_string()))
    );
    p.sim
        .endpoint_mut(a)
        .sctp_transport_mut()
        .send_text(ca, "hello")
        .unwrap();
    p.sim
        .endpoint_mut(b)
        .sctp_transport_mut()
        .send_binary(cb, Bytes::from_static(b"\x00\x01"))
        .unwrap();
    p.sim
        .endpoint_mut(b)
        .sctp_transport_mut()
        .send_binary(cb, Bytes::new())
        .unwrap();
    p.sim.run_for(Duration::from_secs(1));
    let msgs = |who| {
        p.sim
            .events()
            .iter()
            .filter_map(|(_, w, e)| match e {
                OrtcEvent::DataChannel(DataChannelEvent::Message { data, text, .. })
                    if *w == who =>
                {
                    Some((data.clone(), *text))
                }
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(msgs(b), [(Bytes::from_static(b"hello"), true)]);
    assert_eq!(
        msgs(a),
        [
            (Bytes::from_static(b"\x00\x01"), false),
            (Bytes::new(), false)
        ]
    );
}

#[test]
fn setup_under_loss_stays_within_a_few_times_the_clean_time() {
    let mut times = Vec::new();
    for seed in 0..40u64 {
        let loss = if seed % 2 == 0 { 0.05 } else { 0.0 };
        let link = LinkConfig::new()
            .latency(Duration::from_millis(10))
            .loss(loss);
        let mut p = pair(100 + seed, link);
        let a = p.a;
        let id = p
            .sim
            .endpoint_mut(a)
            .sctp_transport_mut()
            .create_data_channel(&DataChannelParameters::new("x"))
            .unwrap();
        assert!(
            p.sim.run_until(Duration::from_secs(60), |s| {
                s.endpoint(a)
                    .sctp_transport()
                    .channel(id)
                    .is_some_and(|c| c.state == sansrtc::datachannel::DataChannelState::Open)
            }),
            "seed {seed} (loss {loss}) did not open"
        );
        times.push((loss, p.sim.elapsed()));
    }
    let clean: Vec<Duration> = times.iter().filter(|t| t.0 == 0.0).map(|t| t.1).collect();
    let worst = times.iter().map(|t| t.1).max().unwrap();
    println!("clean {clean:?}, worst at 5 % loss {worst:?}");
    assert!(clean.iter().all(|&t| t < Duration::from_millis(300)));
}

#[test]
fn misuse_gets_errors_that_name_the_problem() {
    use sansrtc::ortc::{DtlsFingerprint, DtlsRoleParam, OrtcError};
    // An engine without a certificate has no DTLS layer; an empty list is refused.
    let mut bare = Engine::new(EngineConfig::default(), Instant::now());
    let own = signal(&bare);
    let e = bare.dtls_transport_mut().start(&own.dtls).unwrap_err();
    assert!(e.to_string().contains("no DTLS certificate"), "{e}");
    assert!(matches!(
        bare.dtls_transport_mut().set_certificates(vec![]),
        Err(OrtcError::InvalidParameters(_))
    ));
    let mut a = chain(1, "198.51.100.1:5000".parse().unwrap(), Instant::now());
    let b = chain(2, "198.51.100.2:5000".parse().unwrap(), Instant::now());
    let sb = signal(&b);
    // SCTP may start before DTLS (the association opens once DTLS is up), once.
    a.sctp_transport_mut().start(&sb.sctp, 5000).unwrap();
    let e = a.sctp_transport_mut().start(&sb.sctp, 5000).unwrap_err();
    assert!(matches!(e, OrtcError::AlreadyStarted(_)), "{e}");
    // Channels may be created before the DTLS role is known, but a negotiated one
    // needs its id, and an id can be taken once.
    let negotiated = |id| DataChannelParameters {
        negotiated: true,
        id,
        ..DataChannelParameters::new("n")
    };
    let e = a
        .sctp_transport_mut()
        .create_data_channel(&negotiated(None))
        .unwrap_err();
    assert!(e.to_string().contains("needs an id"), "{e}");
    a.sctp_transport_mut()
        .create_data_channel(&negotiated(Some(3)))
        .unwrap();
    let e = a
        .sctp_transport_mut()
        .create_data_channel(&negotiated(Some(3)))
        .unwrap_err();
    assert!(e.to_string().contains("id 3 is already in use"), "{e}");
    // No SCTP layer, no channels.
    let mut no_sctp = Engine::new(
        EngineConfig {
            sctp_port: None,
            ..EngineConfig::default()
        },
        Instant::now(),
    );
    let e = no_sctp
        .sctp_transport_mut()
        .create_data_channel(&DataChannelParameters::new("x"))
        .unwrap_err();
    assert!(e.to_string().contains("no SCTP layer"), "{e}");
    // DTLS parameters without a usable fingerprint.
    let none = DtlsParameters {
        fingerprints: vec![],
        role: DtlsRoleParam::Auto,
    };
    assert!(matches!(
        a.dtls_transport_mut().start(&none),
        Err(OrtcError::InvalidParameters(_))
    ));
    let bad = DtlsParameters {
        fingerprints: vec![DtlsFingerprint {
            algorithm: "sha-256".into(),
            value: "not hex".into(),
        }],
        role: DtlsRoleParam::Auto,
    };
    assert!(matches!(
        a.dtls_transport_mut().start(&bad),
        Err(OrtcError::Dtls(_))
    ));
    // Twice is refused.
    let mut ice = a.ice_transport_mut();
    ice.start(&sb.ice, IceRole::Controlled).unwrap();
    assert!(matches!(
        ice.start(&sb.ice, IceRole::Controlled),
        Err(OrtcError::AlreadyStarted(_))
    ));
    a.dtls_transport_mut().start(&sb.dtls).unwrap();
    assert!(matches!(
        a.dtls_transport_mut().start(&sb.dtls),
        Err(OrtcError::AlreadyStarted(_))
    ));
}

#[test]
fn explicit_dtls_roles_win_over_the_ice_role() {
    use sansrtc::ortc::DtlsRoleParam;
    let mut a = chain(1, "198.51.100.1:5000".parse().unwrap(), Instant::now());
    let b = chain(2, "198.51.100.2:5000".parse().unwrap(), Instant::now());
    let mut sb = signal(&b);
    a.ice_transport_mut()
        .start(&sb.ice, IceRole::Controlling)
        .unwrap();
    // Controlling would make us the server; the peer says it is the server.
    sb.dtls.role = DtlsRoleParam::Server;
    a.dtls_transport_mut().start(&sb.dtls).unwrap();
    assert_eq!(a.dtls_transport().role(), Some(DtlsRole::Client));
}

#[test]
fn a_wrong_fingerprint_fails_dtls_and_closes_sctp() {
    let (aa, ba): (SocketAddr, SocketAddr) = (
        "198.51.100.1:5000".parse().unwrap(),
        "198.51.100.2:5000".parse().unwrap(),
    );
    let mut sim = Sim::new(9, Instant::now());
    let link = LinkConfig::new().latency(Duration::from_millis(5));
    let ha = sim.add_host(HostConfig::new(aa.ip()).link(link.clone()));
    let hb = sim.add_host(HostConfig::new(ba.ip()).link(link));
    let mut ta = chain(1, aa, sim.now());
    let mut tb = chain(2, ba, sim.now());
    let (sa, mut sb) = (signal(&ta), signal(&tb));
    // A signalling path that swapped in someone else's certificate.
    let other = chain(3, "198.51.100.3:5000".parse().unwrap(), sim.now());
    sb.dtls = other.dtls_transport().local_parameters();
    start(&mut ta, &sb, IceRole::Controlling);
    start(&mut tb, &sa, IceRole::Controlled);
    let a = sim.add_endpoint(ha, ta);
    let b = sim.add_endpoint(hb, tb);
    sim.bind(a, aa);
    sim.bind(b, ba);
    assert!(sim.run_until(Duration::from_secs(10), |s| {
        s.endpoint(a).dtls_transport().state() == DtlsTransportState::Failed
    }));
    sim.run_for(Duration::from_secs(1));
    assert_eq!(
        sim.endpoint(a).sctp_transport().state(),
        SctpTransportState::Closed
    );
    // The peer learns of it from the alert.
    assert_ne!(
        sim.endpoint(b).dtls_transport().state(),
        DtlsTransportState::Connected
    );
}

/// The peer starts first and its checks (and then its DTLS ClientHello) reach us before
/// our `start`: they are held, not answered in the wrong role nor dropped, so setup
/// finishes one round trip after we start, with no role conflict.
#[test]
fn a_peer_that_starts_first_is_answered_once_we_start() {
    let (aa, ba): (SocketAddr, SocketAddr) = (
        "198.51.100.1:5000".parse().unwrap(),
        "198.51.100.2:5000".parse().unwrap(),
    );
    let mut sim = Sim::new(3, Instant::now());
    let link = LinkConfig::new().latency(Duration::from_millis(10));
    let ha = sim.add_host(HostConfig::new(aa.ip()).link(link.clone()));
    let hb = sim.add_host(HostConfig::new(ba.ip()).link(link));
    let mut ta = chain(1, aa, sim.now());
    let tb = chain(2, ba, sim.now());
    let (sa, sb) = (signal(&ta), signal(&tb));
    // b will be controlling, but only once started: until then its agent is controlled
    // by default, like a's.
    start(&mut ta, &sb, IceRole::Controlled);
    let a = sim.add_endpoint(ha, ta);
    let b = sim.add_endpoint(hb, tb);
    sim.bind(a, aa);
    sim.bind(b, ba);
    sim.run_for(Duration::from_millis(300));
    start(sim.endpoint_mut(b), &sa, IceRole::Controlling);
    let id = sim
        .endpoint_mut(b)
        .sctp_transport_mut()
        .create_data_channel(&DataChannelParameters::new("late"))
        .unwrap();
    let t0 = sim.elapsed();
    assert!(sim.run_until(Duration::from_secs(5), |s| {
        s.endpoint(b)
            .sctp_transport()
            .channel(id)
            .is_some_and(|c| c.state == sansrtc::datachannel::DataChannelState::Open)
    }));
    let took = sim.elapsed() - t0;
    for who in [a, b] {
        let stats = sim.endpoint(who).ice_transport().agent().stats();
        assert_eq!(stats.role_conflicts, 0, "{stats:?}");
    }
    // ICE, DTLS, SCTP, DCEP from b's start: about six round trips of 20 ms.
    assert!(took <= Duration::from_millis(140), "took {took:?}");
}

/// Unseeded chains differ (each draws its own seed); a seed reproduces every layer.
#[test]
fn seeds_are_drawn_unless_given() {
    let params = |seed: Option<u64>| {
        let cert = DtlsCertificate::generate(&*default_provider()).unwrap();
        let mut e = Engine::new(
            EngineConfig {
                ice: IceGathererConfig {
                    seed,
                    ..Default::default()
                },
                ..EngineConfig::with_certificate(cert)
            },
            Instant::now(),
        );
        let p = e.ice_transport().local_parameters();
        let dtls_seed = e.dtls_transport_mut().config_mut().unwrap().seed;
        (p, (dtls_seed, e.sctp_transport_mut().config_mut().seed))
    };
    let (a, b) = (params(None), params(None));
    assert_ne!(a.0, b.0, "unseeded chains got the same ICE credentials");
    assert_ne!(a.1, b.1);
    assert_eq!(params(Some(5)), params(Some(5)));
}

#[test]
fn a_chosen_local_dtls_role_is_announced_and_kept() {
    use sansrtc::ortc::{DtlsRoleParam, OrtcError};
    let mut a = chain(1, "198.51.100.1:5000".parse().unwrap(), Instant::now());
    let b = chain(2, "198.51.100.2:5000".parse().unwrap(), Instant::now());
    let mut sb = signal(&b);
    a.dtls_transport_mut()
        .set_local_role(DtlsRoleParam::Client)
        .unwrap();
    assert_eq!(
        a.dtls_transport().local_parameters().role,
        DtlsRoleParam::Client
    );
    let json = serde_json::to_value(a.dtls_transport().local_parameters()).unwrap();
    assert_eq!(json["role"], "client");
    a.ice_transport_mut()
        .start(&sb.ice, IceRole::Controlling)
        .unwrap();
    // Both claiming the client role is refused, naming it; the transport stays new.
    sb.dtls.role = DtlsRoleParam::Client;
    let e = a.dtls_transport_mut().start(&sb.dtls).unwrap_err();
    assert!(matches!(e, OrtcError::InvalidParameters(_)), "{e}");
    assert_eq!(a.dtls_transport().state(), DtlsTransportState::New);
    // With the peer on auto, ours wins over the ICE role (controlling would be server).
    sb.dtls.role = DtlsRoleParam::Auto;
    a.dtls_transport_mut().start(&sb.dtls).unwrap();
    assert_eq!(a.dtls_transport().role(), Some(DtlsRole::Client));
}

/// The address of `t`'s (one) host candidate.
fn host_address(t: &Engine) -> SocketAddr {
    let c = &t.ice_gatherer().local_candidates()[0];
    SocketAddr::new(c.ip.parse().unwrap(), c.port)
}

/// Hand `who` a datagram from `source`, as if it came off its socket now, and check that
/// it makes `who` send nothing (no reflection, no amplification).
fn inject(sim: &mut Sim<Engine>, who: EndpointId, source: SocketAddr, contents: Vec<u8>) {
    use sansrtc::io::{Endpoint, Input, Output, Protocol, Receive};
    let now = sim.now();
    let destination = host_address(sim.endpoint(who));
    let t = sim.endpoint_mut(who);
    t.handle_input(Input::Receive(Receive {
        now,
        protocol: Protocol::Udp,
        source,
        destination,
        contents: contents.into(),
    }));
    let out = t.poll_output();
    assert!(
        !matches!(out, Output::Transmit(_)),
        "a forged datagram from {source} made us send: {out:?}"
    );
}

/// The hostile-input attacks on DTLS, sent by a stranger (an address that never passed
/// an ICE check) and by someone spoofing the peer's own address: one record numbered
/// 2^48−1 before the handshake (it used to block it for good), then plaintext alerts
/// (one used to close the session while the channels still said `open`) and garbage
/// handshake records (each used to make us resend our last flight). The connection
/// forms, stays up and delivers; what was dropped is counted.
#[test]
fn forged_dtls_records_neither_block_nor_close_the_connection() {
    use sansrtc::datachannel::DataChannelState;
    let link = LinkConfig::new().latency(Duration::from_millis(10));
    let mut p = pair(11, link);
    let (a, b) = (p.a, p.b);
    let stranger: SocketAddr = "203.0.113.9:4444".parse().unwrap();
    let addr = |p: &Pair, who| host_address(p.sim.endpoint(who));
    let (addr_a, addr_b) = (addr(&p, a), addr(&p, b));
    for (who, peer) in [(a, addr_b), (b, addr_a)] {
        for source in [stranger, peer] {
            inject(
                &mut p.sim,
                who,
                source,
                dtls_plaintext(22, (1 << 48) - 1, &[0xab]),
            );
        }
    }
    let (ca, cb, _) = open_channel(&mut p, "chat");
    let open = |s: &Sim<Engine>, who| {
        s.endpoint(who)
            .sctp_transport()
            .channel(if who == a { ca } else { cb })
            .is_some_and(|c| c.state == DataChannelState::Open)
    };
    assert!(
        p.sim.elapsed() < Duration::from_millis(500),
        "{:?}",
        p.sim.elapsed()
    );
    for (who, peer) in [(a, addr_b), (b, addr_a)] {
        for source in [stranger, peer] {
            inject(&mut p.sim, who, source, dtls_plaintext(21, 1000, &[1, 0]));
            inject(&mut p.sim, who, source, dtls_plaintext(21, 1001, &[2, 40]));
            for seq in 0..4u8 {
                let forged = [1, 0, 0, 2, 0, seq, 0, 0, 0, 0, 0, 2, 0xde, 0xad];
                inject(
                    &mut p.sim,
                    who,
                    source,
                    dtls_plaintext(22, 2000 + u64::from(seq), &forged),
                );
            }
        }
    }
    p.sim.run_for(Duration::from_secs(2));
    for who in [a, b] {
        let t = p.sim.endpoint(who);
        assert_eq!(t.dtls_transport().state(), DtlsTransportState::Connected);
        assert_eq!(t.sctp_transport().state(), SctpTransportState::Connected);
        assert!(open(&p.sim, who));
        let dtls = t.dtls_transport().session().unwrap().stats();
        // Records spoofing the peer's (verified) address reached DTLS and were dropped
        // there; the stranger's never got past ICE, nor did anything sent before the
        // peer's address passed a check.
        assert_eq!(dtls.plaintext_dropped, 6, "{dtls:?}");
        let ice = t.ice_transport().agent().stats();
        assert_eq!(ice.dropped_unverified_source, 8, "{ice:?}");
    }
    p.sim
        .endpoint_mut(a)
        .sctp_transport_mut()
        .send_text(ca, "still here")
        .unwrap();
    p.sim.run_for(Duration::from_secs(1));
    assert!(p.sim.events().iter().any(|(_, w, e)| *w == b
        && matches!(e, OrtcEvent::DataChannel(DataChannelEvent::Message { data, .. }) if data == "still here")));
}

/// When DTLS does close (the peer's own, authenticated close_notify), the channels above
/// say so and refuse to send: nothing queued vanishes while `send` returns `Ok`.
#[test]
fn channels_close_and_refuse_sends_when_dtls_closes() {
    use sansrtc::datachannel::DataChannelState;
    let link = LinkConfig::new().latency(Duration::from_millis(10));
    let mut p = pair(12, link);
    let (a, b) = (p.a, p.b);
    let (_, id, _) = open_channel(&mut p, "chat");
    // Only DTLS closes on a: close_notify goes out, SCTP on b learns it from DTLS.
    p.sim.endpoint_mut(a).dtls_transport_mut().stop();
    p.sim.run_for(Duration::from_secs(1));
    let t = p.sim.endpoint(b);
    assert_eq!(t.dtls_transport().state(), DtlsTransportState::Closed);
    assert_eq!(t.sctp_transport().state(), SctpTransportState::Closed);
    assert_eq!(
        t.sctp_transport().channel(id).map(|c| c.state),
        Some(DataChannelState::Closed)
    );
    assert!(p.sim.events().iter().any(|(_, w, e)| *w == b
        && matches!(e, OrtcEvent::DataChannel(DataChannelEvent::Closed(c)) if *c == id)));
    assert!(
        p.sim
            .endpoint_mut(b)
            .sctp_transport_mut()
            .send_text(id, "lost?")
            .is_err()
    );
}
