//! DTLS client ↔ server in the simulator: loss, reordering, duplication, wrong
//! fingerprints.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::crypto::{HashAlgorithm, default_provider};
use crate::dtls::{Dtls, DtlsCertificate, DtlsConfig, DtlsError, DtlsEvent, DtlsRole};
use crate::io::Pinned;
use crate::sim::{EndpointId, HostConfig, LinkConfig, Sim};

struct Pair {
    sim: Sim<Pinned<Dtls>>,
    client: EndpointId,
    server: EndpointId,
}

fn pair(seed: u64, link: LinkConfig, wrong_fingerprint: bool) -> Pair {
    let p = default_provider();
    let cc = DtlsCertificate::generate(&*p).unwrap();
    let sc = DtlsCertificate::generate(&*p).unwrap();
    let other = DtlsCertificate::generate(&*p).unwrap();
    let (ca, sa): (SocketAddr, SocketAddr) = (
        "198.51.100.1:5000".parse().unwrap(),
        "198.51.100.2:6000".parse().unwrap(),
    );
    let mut sim = Sim::new(seed, Instant::now());
    let hc = sim.add_host(HostConfig::new(ca.ip()).link(link.clone()));
    let hs = sim.add_host(HostConfig::new(sa.ip()).link(link));
    let expected_server = if wrong_fingerprint { &other } else { &sc };
    let mut ccfg = DtlsConfig::new(
        cc.clone(),
        vec![expected_server.fingerprint(&*p, HashAlgorithm::Sha256)],
    );
    ccfg.seed = seed;
    // The RTT ICE would have measured, so the first retransmission is not a fixed 1 s.
    ccfg.initial_retransmit = Duration::from_millis(150);
    let mut scfg = DtlsConfig::new(sc, vec![cc.fingerprint(&*p, HashAlgorithm::Sha256)]);
    scfg.seed = seed + 1;
    scfg.initial_retransmit = Duration::from_millis(150);
    let now = sim.now();
    let client = sim.add_endpoint(
        hc,
        Pinned::new(Dtls::new(DtlsRole::Client, ccfg, now), ca, sa),
    );
    let server = sim.add_endpoint(
        hs,
        Pinned::new(Dtls::new(DtlsRole::Server, scfg, now), sa, ca),
    );
    sim.bind(client, ca);
    sim.bind(server, sa);
    Pair {
        sim,
        client,
        server,
    }
}

impl Pair {
    fn both_connected(&self) -> bool {
        self.sim.endpoint(self.client).layer.is_connected()
            && self.sim.endpoint(self.server).layer.is_connected()
    }
}

/// 20 % loss in both directions plus reordering: every seed completes and both ends
/// export the same SRTP keys.
#[test]
fn handshake_completes_under_twenty_percent_loss_and_reordering() {
    let link = LinkConfig::new()
        .latency(Duration::from_millis(25))
        .jitter(Duration::from_millis(10))
        .loss(0.20)
        .reorder(0.2, Duration::from_millis(30));
    let mut times = Vec::new();
    for seed in 0..100 {
        let mut p = pair(seed, link.clone(), false);
        assert!(
            p.sim.run_until(Duration::from_secs(30), |s| {
                s.endpoint(p.client).layer.is_connected()
                    && s.endpoint(p.server).layer.is_connected()
            }),
            "seed {seed}"
        );
        assert!(p.both_connected());
        let kc = p
            .sim
            .endpoint(p.client)
            .layer
            .srtp_keying_material()
            .unwrap();
        let ks = p
            .sim
            .endpoint(p.server)
            .layer
            .srtp_keying_material()
            .unwrap();
        assert_eq!(kc, ks);
        times.push(p.sim.elapsed());
    }
    times.sort();
    println!(
        "DTLS handshake at 20% loss, 50 ms RTT: p50 {:?}, p95 {:?}, max {:?}",
        times[50], times[95], times[99]
    );
}

/// Duplicated datagrams are replays: dropped and counted, the session unharmed.
#[test]
fn duplicated_records_are_dropped_as_replays() {
    let link = LinkConfig::new()
        .latency(Duration::from_millis(10))
        .duplicate(0.5);
    let mut p = pair(7, link, false);
    let (c, s) = (p.client, p.server);
    assert!(p.sim.run_until(Duration::from_secs(5), |sim| {
        sim.endpoint(c).layer.is_connected() && sim.endpoint(s).layer.is_connected()
    }));
    for i in 0..50u8 {
        p.sim.endpoint_mut(c).layer.send(&[i; 100]).unwrap();
    }
    p.sim.run_for(Duration::from_secs(1));
    let got: Vec<_> = p
        .sim
        .take_events(s)
        .into_iter()
        .filter_map(|(_, e)| match e {
            DtlsEvent::ApplicationData(d) => Some(d[0]),
            _ => None,
        })
        .collect();
    assert_eq!(
        got,
        (0..50).collect::<Vec<u8>>(),
        "each record exactly once"
    );
    assert!(p.sim.endpoint(s).layer.stats().replays > 0);
    assert!(p.sim.endpoint(s).layer.is_connected());
}

/// A certificate that does not match the signaled fingerprint fails the handshake.
#[test]
fn wrong_fingerprint_fails_the_handshake() {
    let mut p = pair(
        9,
        LinkConfig::new().latency(Duration::from_millis(10)),
        true,
    );
    p.sim.run_for(Duration::from_secs(5));
    assert!(!p.both_connected());
    let events = p.sim.take_events(p.client);
    assert!(
        events
            .iter()
            .any(|(_, e)| *e == DtlsEvent::Failed(DtlsError::FingerprintMismatch)),
        "{events:?}"
    );
}
