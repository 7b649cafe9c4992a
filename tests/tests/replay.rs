//! Same inputs and the same seed give the same bytes (docs/DESIGN.md, the sans-IO
//! contract): a lossy simulated ORTC call (ICE, DTLS, SCTP data channel) run twice with
//! the seeded crypto provider sends every datagram identically, down to the DTLS
//! ciphertext and the SRTP keyed from the session; with another crypto seed the DTLS
//! bytes differ.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use sansrtc::crypto::{CryptoProvider, InsecureSeededProvider};
use sansrtc::datachannel::DataChannelState;
use sansrtc::demux::{PacketKind, classify};
use sansrtc::dtls::DtlsCertificate;
use sansrtc::engine::{Engine, EngineConfig};
use sansrtc::ortc::{DataChannelParameters, IceGathererConfig, IceRole};
use sansrtc::sim::{HostConfig, LinkConfig, Sim, TransmitRecord};
use sansrtc::srtp::DtlsSrtpContexts;
use sansrtc_tests::ortc::start;

/// DTLS content types (RFC 6347 §4.1, RFC 5246 §6.2.1).
const CHANGE_CIPHER_SPEC: u8 = 20;
const HANDSHAKE: u8 = 22;
const APPLICATION_DATA: u8 = 23;

/// One side's engine; every random choice comes from `seed` (ICE, and derived from it
/// DTLS and SCTP) or from the seeded provider (keys, certificate, signatures).
fn chain(provider: Arc<dyn CryptoProvider>, seed: u64, addr: SocketAddr, now: Instant) -> Engine {
    let cert = DtlsCertificate::generate(&*provider).unwrap();
    let mut e = Engine::new(
        EngineConfig {
            ice: IceGathererConfig {
                seed: Some(seed),
                provider,
                ..Default::default()
            },
            ..EngineConfig::with_certificate(cert)
        },
        now,
    );
    e.ice_gatherer_mut().gather(&[addr]).unwrap();
    e
}

/// ~10 s of a call over a link losing 5 % each way: a channel opened, then a message
/// each way every 100 ms. Returns every datagram sent, and an RTP packet protected with
/// SRTP keyed from `a`'s DTLS session through the chain's provider.
fn call(crypto_seed: u64) -> (Vec<TransmitRecord>, BytesMut) {
    let (aa, ba): (SocketAddr, SocketAddr) = (
        "198.51.100.1:5000".parse().unwrap(),
        "198.51.100.2:5000".parse().unwrap(),
    );
    let link = LinkConfig::new()
        .latency(Duration::from_millis(20))
        .jitter(Duration::from_millis(5))
        .loss(0.05);
    let mut sim = Sim::new(11, Instant::now());
    sim.set_logging(true);
    let ha = sim.add_host(HostConfig::new(aa.ip()).link(link.clone()));
    let hb = sim.add_host(HostConfig::new(ba.ip()).link(link));
    let provider = |side: u64| -> Arc<dyn CryptoProvider> {
        Arc::new(InsecureSeededProvider::new(crypto_seed * 2 + side))
    };
    let mut ta = chain(provider(0), 21, aa, sim.now());
    let mut tb = chain(provider(1), 22, ba, sim.now());
    start(&mut ta, &tb, IceRole::Controlling);
    start(&mut tb, &ta, IceRole::Controlled);
    let a = sim.add_endpoint(ha, ta);
    let b = sim.add_endpoint(hb, tb);
    sim.bind(a, aa);
    sim.bind(b, ba);

    let id = sim
        .endpoint_mut(a)
        .sctp_transport_mut()
        .create_data_channel(&DataChannelParameters::new("replay"))
        .unwrap();
    let open = |s: &Sim<Engine>, who| {
        s.endpoint(who)
            .sctp_transport()
            .channel(id)
            .is_some_and(|c| c.state == DataChannelState::Open)
    };
    assert!(sim.run_until(Duration::from_secs(10), |s| open(s, a) && open(s, b)));
    while sim.elapsed() < Duration::from_secs(10) {
        let n = sim.elapsed().as_millis();
        sim.endpoint_mut(a)
            .sctp_transport_mut()
            .send_text(id, &format!("from a at {n} ms"))
            .unwrap();
        sim.endpoint_mut(b)
            .sctp_transport_mut()
            .send_binary(id, Bytes::from(vec![n as u8; 300]))
            .unwrap();
        sim.run_for(Duration::from_millis(100));
    }
    let dtls = sim.endpoint(a).dtls_transport();
    let (profile, material) = dtls.srtp_keying_material().unwrap();
    let mut srtp =
        DtlsSrtpContexts::new(profile, &material, dtls.role().unwrap(), dtls.srtp_config())
            .unwrap();
    // V=2, PT 111, SEQ 1, timestamp 160, SSRC 0x11223344, payload.
    let mut rtp = BytesMut::from(&[0x80, 111, 0, 1, 0, 0, 0, 160, 0x11, 0x22, 0x33, 0x44, 7][..]);
    srtp.local.protect_rtp(&mut rtp).unwrap();
    (sim.take_transmit_log(), rtp)
}

fn dtls_content_type(r: &TransmitRecord) -> Option<u8> {
    (classify(&r.contents) == PacketKind::Dtls).then(|| r.contents[0])
}

#[test]
fn same_seed_replays_every_datagram_byte_for_byte() {
    let (first, first_rtp) = call(1);
    let (second, second_rtp) = call(1);
    assert_eq!(
        first_rtp, second_rtp,
        "SRTP keyed from the same DTLS session"
    );
    for (i, (x, y)) in first.iter().zip(&second).enumerate() {
        assert_eq!(x, y, "datagram {i} of {} differs", first.len());
    }
    assert_eq!(first.len(), second.len());

    // Non-trivial: a full DTLS handshake and application data both ways, over a call
    // long enough for SCTP's retransmissions under loss.
    let count = |ct| {
        first
            .iter()
            .filter(|r| dtls_content_type(r) == Some(ct))
            .count()
    };
    // Flights are packed into datagrams: ClientHello, the server's first flight, the
    // client's key exchange (CCS and Finished ride along), and the server's CCS flight.
    let (handshake, ccs, data) = (
        count(HANDSHAKE),
        count(CHANGE_CIPHER_SPEC),
        count(APPLICATION_DATA),
    );
    println!(
        "{} datagrams: {handshake} DTLS handshake, {ccs} CCS-first, {data} application data",
        first.len()
    );
    assert!(
        handshake >= 3 && ccs >= 1,
        "{handshake} + {ccs} handshake datagrams"
    );
    let senders: std::collections::BTreeSet<_> = first
        .iter()
        .filter(|r| dtls_content_type(r) == Some(APPLICATION_DATA))
        .map(|r| r.from)
        .collect();
    assert_eq!(senders.len(), 2, "application data both ways");
    assert!(data >= 150, "{data} DTLS application-data datagrams");
    assert!(first.last().unwrap().at >= Duration::from_secs(9));
}

#[test]
fn another_crypto_seed_changes_the_dtls_bytes() {
    let ((x, x_rtp), (y, y_rtp)) = (call(1), call(2));
    assert_ne!(x_rtp, y_rtp, "SRTP keys from another DTLS session");
    let dtls = |log: &[TransmitRecord]| -> Vec<Bytes> {
        log.iter()
            .filter(|r| dtls_content_type(r).is_some())
            .map(|r| r.contents.clone())
            .collect()
    };
    let (dx, dy) = (dtls(&x), dtls(&y));
    let same = dx.iter().zip(&dy).filter(|(p, q)| p == q).count();
    println!(
        "{same} of {} DTLS datagrams equal with another seed",
        dx.len()
    );
    // Keys, certificates and signatures all differ, so next to every DTLS datagram does
    // (the ICE seeds are the same, so STUN may not).
    assert!(
        same * 10 < dx.len(),
        "{same} of {} DTLS datagrams equal with another seed",
        dx.len()
    );
}
