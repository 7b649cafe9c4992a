//! The engine's own behaviour in the simulator: what it does with a layer missing, and
//! with a peer whose layers start before ours.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{Engine, EngineConfig};
use crate::crypto::default_provider;
use crate::dtls::DtlsCertificate;
use crate::io::{Endpoint, Input, Protocol, Receive};
use crate::ortc::{DtlsTransportState, IceGathererConfig, IceRole, OrtcEvent, SctpTransportState};
use crate::sim::{EndpointId, HostConfig, LinkConfig, Sim};

const A: &str = "198.51.100.1:5000";
const B: &str = "198.51.100.2:5000";

fn engine(
    seed: u64,
    addr: &str,
    certificate: bool,
    sctp_port: Option<u16>,
    now: Instant,
) -> Engine {
    let certificates = if certificate {
        vec![DtlsCertificate::generate(&*default_provider()).unwrap()]
    } else {
        Vec::new()
    };
    let mut e = Engine::new(
        EngineConfig {
            ice: IceGathererConfig {
                seed: Some(seed),
                ..Default::default()
            },
            certificates,
            sctp_port,
        },
        now,
    );
    e.ice_gatherer_mut()
        .gather(&[addr.parse().unwrap()])
        .unwrap();
    e
}

fn start_ice(x: &mut Engine, y: &Engine, role: IceRole) {
    let (params, candidates) = (
        y.ice_gatherer().local_parameters(),
        y.ice_gatherer().local_candidates(),
    );
    let mut ice = x.ice_transport_mut();
    ice.start(&params, role).unwrap();
    for c in &candidates {
        ice.add_remote_candidate(Some(c)).unwrap();
    }
    ice.add_remote_candidate(None).unwrap();
}

/// Two engines on a 10 ms link, ICE started on both (`a` controlling).
fn pair(certificate: bool, sctp_port: Option<u16>) -> (Sim<Engine>, EndpointId, EndpointId) {
    let mut sim = Sim::new(7, Instant::now());
    let link = LinkConfig::new().latency(Duration::from_millis(10));
    let (aa, ba): (SocketAddr, SocketAddr) = (A.parse().unwrap(), B.parse().unwrap());
    let ha = sim.add_host(HostConfig::new(aa.ip()).link(link.clone()));
    let hb = sim.add_host(HostConfig::new(ba.ip()).link(link));
    let mut ea = engine(1, A, certificate, sctp_port, sim.now());
    let mut eb = engine(2, B, certificate, sctp_port, sim.now());
    start_ice(&mut ea, &eb, IceRole::Controlling);
    start_ice(&mut eb, &ea, IceRole::Controlled);
    let a = sim.add_endpoint(ha, ea);
    let b = sim.add_endpoint(hb, eb);
    sim.bind(a, aa);
    sim.bind(b, ba);
    (sim, a, b)
}

fn start_dtls(sim: &mut Sim<Engine>, a: EndpointId, b: EndpointId) {
    let (pa, pb) = (
        sim.endpoint(a).dtls_transport().local_parameters(),
        sim.endpoint(b).dtls_transport().local_parameters(),
    );
    sim.endpoint_mut(a).dtls_transport_mut().start(&pb).unwrap();
    sim.endpoint_mut(b).dtls_transport_mut().start(&pa).unwrap();
}

fn dtls_connected(s: &Sim<Engine>, who: EndpointId) -> bool {
    s.endpoint(who).dtls_transport().state() == DtlsTransportState::Connected
}

#[test]
fn without_certificates_there_is_no_dtls_layer_and_the_peers_datagrams_go_up() {
    let (mut sim, a, b) = pair(false, None);
    assert!(sim.run_until(Duration::from_secs(2), |s| {
        s.endpoint(a).ice_transport().selected_pair().is_some()
            && s.endpoint(b).ice_transport().selected_pair().is_some()
    }));
    let own = sim.endpoint(a).dtls_transport().local_parameters();
    let e = sim.endpoint_mut(a).dtls_transport_mut().start(&own);
    assert!(e.unwrap_err().to_string().contains("no DTLS certificate"));
    // A DTLS-looking datagram (content type 22) from the verified peer is not swallowed
    // by a DTLS layer that is not there; the same from a stranger goes nowhere.
    sim.drain_events();
    let now = sim.now();
    let datagram = Bytes::from_static(&[22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let receive = |source: &str| {
        Input::Receive(Receive {
            now,
            protocol: Protocol::Udp,
            source: source.parse().unwrap(),
            destination: A.parse().unwrap(),
            contents: datagram.clone(),
        })
    };
    sim.endpoint_mut(a).handle_input(receive(B));
    sim.endpoint_mut(a)
        .handle_input(receive("203.0.113.9:4000"));
    sim.run_for(Duration::from_millis(1));
    let up: Vec<_> = sim
        .take_events(a)
        .into_iter()
        .filter_map(|(_, e)| match e {
            OrtcEvent::Datagram(r) => Some(r.source),
            _ => None,
        })
        .collect();
    assert_eq!(up, vec![B.parse::<SocketAddr>().unwrap()]);
}

#[test]
fn without_an_sctp_port_dtls_application_data_goes_up() {
    let (mut sim, a, b) = pair(true, None);
    start_dtls(&mut sim, a, b);
    assert!(
        sim.run_until(Duration::from_secs(2), |s| dtls_connected(s, a)
            && dtls_connected(s, b))
    );
    let caps = sim.endpoint(b).sctp_transport().capabilities();
    let e = sim.endpoint_mut(a).sctp_transport_mut().start(&caps, 5000);
    assert!(e.unwrap_err().to_string().contains("no SCTP layer"));
    sim.endpoint_mut(a)
        .dtls_transport_mut()
        .send(b"over DTLS alone")
        .unwrap();
    sim.drain_events();
    sim.run_for(Duration::from_millis(50));
    let data: Vec<Bytes> = sim
        .take_events(b)
        .into_iter()
        .filter_map(|(_, e)| match e {
            OrtcEvent::DtlsData(p) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(data, vec![Bytes::from_static(b"over DTLS alone")]);
}

/// The peer's INIT that arrives before our SCTP transport starts is kept, so the
/// association forms one round trip after our start instead of at the peer's next
/// retransmission.
#[test]
fn a_peers_init_before_our_sctp_start_is_answered_at_start() {
    let (mut sim, a, b) = pair(true, Some(5000));
    start_dtls(&mut sim, a, b);
    assert!(
        sim.run_until(Duration::from_secs(2), |s| dtls_connected(s, a)
            && dtls_connected(s, b))
    );
    let caps = sim.endpoint(b).sctp_transport().capabilities();
    sim.endpoint_mut(a)
        .sctp_transport_mut()
        .start(&caps, 5000)
        .unwrap();
    // Long enough for a's INIT and a few retransmissions to reach b, unanswered.
    sim.run_for(Duration::from_millis(700));
    assert_eq!(
        sim.endpoint(a).sctp_transport().state(),
        SctpTransportState::Connecting
    );
    let caps = sim.endpoint(a).sctp_transport().capabilities();
    sim.endpoint_mut(b)
        .sctp_transport_mut()
        .start(&caps, 5000)
        .unwrap();
    let t0 = sim.elapsed();
    assert!(sim.run_until(Duration::from_secs(5), |s| {
        s.endpoint(b).sctp_transport().state() == SctpTransportState::Connected
    }));
    let took = sim.elapsed() - t0;
    // INIT-ACK, COOKIE-ECHO: one round trip of 20 ms.
    // Without the kept INIT, b's own INIT starts a handshake of two round trips (40 ms).
    assert!(took <= Duration::from_millis(30), "took {took:?}");
}

/// A channel created before anything has started (no DTLS role, so no W3C `id` yet)
/// keeps its handle, is sent on at once, gets an id of the DTLS role's parity when DTLS
/// starts (RFC 8832 §6), opens with the association, and what was sent before arrives.
#[test]
fn a_channel_created_before_dtls_starts_keeps_its_handle_and_opens() {
    use crate::datachannel::{DataChannelEvent, DataChannelState};
    use crate::ortc::DataChannelParameters;
    let (mut sim, a, b) = pair(true, Some(5000));
    let params = DataChannelParameters::new("early");
    let ch = sim
        .endpoint_mut(a)
        .sctp_transport_mut()
        .create_data_channel(&params)
        .unwrap();
    let info = |s: &Sim<Engine>| s.endpoint(a).sctp_transport().channel(ch).cloned();
    assert_eq!(
        info(&sim).map(|c| (c.id, c.state)),
        Some((None, DataChannelState::Connecting))
    );
    sim.endpoint_mut(a)
        .sctp_transport_mut()
        .send_text(ch, "sent before any id")
        .unwrap();
    assert_eq!(sim.endpoint(a).sctp_transport().buffered_amount(ch), 18);
    start_dtls(&mut sim, a, b);
    // a is ICE-controlling, so the DTLS server (RFC 8842 §5): odd ids.
    let id = info(&sim)
        .and_then(|c| c.id)
        .expect("an id once the role is known");
    assert_eq!(id % 2, 1);
    sim.run_for(Duration::from_millis(300));
    assert_eq!(
        info(&sim).map(|c| c.state),
        Some(DataChannelState::Connecting)
    );
    let (ca, cb) = (
        sim.endpoint(a).sctp_transport().capabilities(),
        sim.endpoint(b).sctp_transport().capabilities(),
    );
    sim.endpoint_mut(a)
        .sctp_transport_mut()
        .start(&cb, 5000)
        .unwrap();
    sim.endpoint_mut(b)
        .sctp_transport_mut()
        .start(&ca, 5000)
        .unwrap();
    assert!(sim.run_until(Duration::from_secs(2), |s| {
        info(s).map(|c| c.state) == Some(DataChannelState::Open)
    }));
    sim.run_for(Duration::from_millis(100));
    let on_b = sim
        .endpoint(b)
        .sctp_transport()
        .data_channels()
        .and_then(|d| d.channel_on_stream(id))
        .unwrap();
    assert_eq!(
        sim.endpoint(b)
            .sctp_transport()
            .channel(on_b)
            .map(|c| (c.label.as_str(), c.state)),
        Some(("early", DataChannelState::Open))
    );
    let got: Vec<Bytes> = sim
        .take_events(b)
        .into_iter()
        .filter_map(|(_, e)| match e {
            OrtcEvent::DataChannel(DataChannelEvent::Message { channel, data, .. })
                if channel == on_b =>
            {
                Some(data)
            }
            _ => None,
        })
        .collect();
    assert_eq!(got, [Bytes::from_static(b"sent before any id")]);
}

/// A channel closed before it has an id never reaches the peer: it closes at once and
/// says so, and sending on it is refused.
#[test]
fn a_channel_closed_before_it_has_an_id_closes_at_once() {
    use crate::datachannel::DataChannelEvent;
    use crate::ortc::DataChannelParameters;
    let (mut sim, a, b) = pair(true, Some(5000));
    let mut sctp = sim.endpoint_mut(a).sctp_transport_mut();
    let ch = sctp
        .create_data_channel(&DataChannelParameters::new("gone"))
        .unwrap();
    sctp.send_text(ch, "never sent").unwrap();
    sctp.close_channel(ch).unwrap();
    assert!(sctp.send_text(ch, "late").is_err());
    assert!(sctp.channel(ch).is_none());
    let kept = sctp
        .create_data_channel(&DataChannelParameters::new("kept"))
        .unwrap();
    start_dtls(&mut sim, a, b);
    sim.run_for(Duration::from_millis(1));
    let events: Vec<_> = sim.take_events(a).into_iter().map(|(_, e)| e).collect();
    assert!(events.contains(&OrtcEvent::DataChannel(DataChannelEvent::Closed(ch))));
    // The next channel takes the first id of the parity: the closed one held none.
    let id = sim
        .endpoint(a)
        .sctp_transport()
        .channel(kept)
        .and_then(|c| c.id);
    assert_eq!(id, Some(1));
}

/// Both engines driven through `poll_output_into` with one buffer each, reused for every
/// transmit (quinn's `poll_transmit` loop): the whole chain connects, 4 MiB of data
/// arrive intact, and once the first batch has sized it, the data path writes into the
/// caller's buffer without reallocating it.
#[test]
fn a_loop_with_its_own_transmit_buffer_connects_and_moves_data_without_reallocating() {
    use crate::datachannel::{DataChannelEvent, DataChannelState};
    use crate::io::{Output, Transmit, TransmitInfo};
    use crate::ortc::DataChannelParameters;
    let mut now = Instant::now();
    let mut engines = [
        engine(1, A, true, Some(5000), now),
        engine(2, B, true, Some(5000), now),
    ];
    let [ea, eb] = &mut engines;
    start_ice(ea, eb, IceRole::Controlling);
    start_ice(eb, ea, IceRole::Controlled);
    let (pa, pb) = (
        ea.dtls_transport().local_parameters(),
        eb.dtls_transport().local_parameters(),
    );
    ea.dtls_transport_mut().start(&pb).unwrap();
    eb.dtls_transport_mut().start(&pa).unwrap();
    let (ca, cb) = (
        ea.sctp_transport().capabilities(),
        eb.sctp_transport().capabilities(),
    );
    ea.sctp_transport_mut().start(&cb, 5000).unwrap();
    eb.sctp_transport_mut().start(&ca, 5000).unwrap();
    let ch = ea
        .sctp_transport_mut()
        .create_data_channel(&DataChannelParameters::new("bulk"))
        .unwrap();
    let mut bufs = [Vec::new(), Vec::new()];
    let mut received = Vec::new();
    // (where the buffer's bytes live, its capacity) after each data batch of `a`.
    let mut batches: Vec<(*const u8, usize)> = Vec::new();
    let total = 4 << 20;
    let mut sent = 0;
    for _ in 0..20_000 {
        if sent < total
            && engines[0]
                .sctp_transport()
                .channel(ch)
                .is_some_and(|c| c.state == DataChannelState::Open)
            && engines[0].sctp_transport().buffered_amount(ch) < 1 << 20
        {
            let msg = Bytes::from(vec![(sent / 65536) as u8; 65536]);
            engines[0]
                .sctp_transport_mut()
                .send_binary(ch, msg)
                .unwrap();
            sent += 65536;
        }
        let mut moved = false;
        for i in 0..2 {
            let mut out: Vec<(TransmitInfo, Bytes)> = Vec::new();
            loop {
                match engines[i].poll_output_into(&mut bufs[i]) {
                    Output::Transmit(t) => {
                        assert_eq!(t.size, bufs[i].len());
                        if i == 0 && t.size > 4096 {
                            batches.push((bufs[i].as_ptr(), bufs[i].capacity()));
                        }
                        out.push((t, Bytes::copy_from_slice(&bufs[i])));
                    }
                    Output::Event(OrtcEvent::DataChannel(DataChannelEvent::Message {
                        data,
                        ..
                    })) if i == 1 => received.push(data),
                    Output::Event(_) => {}
                    Output::Timeout(_) => break,
                }
            }
            for (info, bytes) in out {
                let t: Transmit = info.into_transmit(bytes);
                for d in t.datagrams() {
                    moved = true;
                    engines[1 - i].handle_input(Input::Receive(Receive {
                        now,
                        protocol: Protocol::Udp,
                        source: t.source,
                        destination: t.destination,
                        contents: d,
                    }));
                }
            }
        }
        if received.iter().map(Bytes::len).sum::<usize>() == total {
            break;
        }
        if !moved {
            now += Duration::from_millis(1);
            for e in engines.iter_mut() {
                e.handle_input(Input::Timeout(now));
            }
        }
    }
    assert_eq!(received.iter().map(Bytes::len).sum::<usize>(), total);
    for (i, m) in received.iter().enumerate() {
        assert!(
            m.iter().all(|&b| b == i as u8),
            "message {i} intact and in order"
        );
    }
    // The buffer grows with the congestion window, doubling a few times up to the
    // largest batch, and is reused for every batch after that.
    let grew = batches.windows(2).filter(|w| w[0] != w[1]).count();
    let last = batches.last().unwrap();
    let reused = batches.iter().rev().take_while(|b| *b == last).count();
    assert!(
        grew <= 8 && reused * 2 > batches.len(),
        "{} batches, the buffer moved {grew} times, the last allocation served {reused}",
        batches.len()
    );
}
