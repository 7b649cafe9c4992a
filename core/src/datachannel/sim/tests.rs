//! Data channels (RFC 8831/8832) between two of our stacks in the simulator.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::datachannel::{
    ChannelId, DataChannelConfig, DataChannelEvent, DataChannelInit, DataChannelState, DataChannels,
};
use crate::dtls::DtlsRole;
use crate::io::Pinned;
use crate::sctp::{Association, SctpConfig};
use crate::sim::{EndpointId, HostConfig, LinkConfig, Sim};
use bytes::Bytes;

struct Pair {
    sim: Sim<Pinned<DataChannels>>,
    a: EndpointId,
    b: EndpointId,
}

fn pair(seed: u64, link: LinkConfig) -> Pair {
    pair_limited(seed, link, DataChannelConfig::default())
}

/// A pair whose `b` (the DTLS server, odd ids) holds the peer to `b_limits`.
fn pair_limited(seed: u64, link: LinkConfig, b_limits: DataChannelConfig) -> Pair {
    pair_full(seed, link, b_limits, |_| {})
}

/// As [`pair_limited`], with `b`'s SCTP configuration adjusted by `b_sctp`.
fn pair_full(
    seed: u64,
    link: LinkConfig,
    b_limits: DataChannelConfig,
    b_sctp: impl Fn(&mut SctpConfig),
) -> Pair {
    let (aa, ba): (SocketAddr, SocketAddr) = (
        "198.51.100.1:5000".parse().unwrap(),
        "198.51.100.2:5000".parse().unwrap(),
    );
    let mut sim = Sim::new(seed, Instant::now());
    let ha = sim.add_host(HostConfig::new(aa.ip()).link(link.clone()));
    let hb = sim.add_host(HostConfig::new(ba.ip()).link(link));
    let start = sim.now();
    let node = |seed: u64, role, local, remote| {
        let mut cfg = SctpConfig {
            seed,
            rto_initial: Duration::from_millis(300),
            max_receive_message_size: 2 << 20,
            ..Default::default()
        };
        if role == DtlsRole::Server {
            b_sctp(&mut cfg);
        }
        let mut assoc = Association::new(cfg, start);
        assoc.connect(start);
        let channels = DataChannels::with_config(
            assoc,
            Some(role),
            if role == DtlsRole::Server {
                b_limits.clone()
            } else {
                DataChannelConfig::default()
            },
        );
        Pinned::new(channels, local, remote)
    };
    let a = sim.add_endpoint(ha, node(seed * 2 + 1, DtlsRole::Client, aa, ba));
    let b = sim.add_endpoint(hb, node(seed * 2 + 2, DtlsRole::Server, ba, aa));
    sim.bind(a, aa);
    sim.bind(b, ba);
    let mut p = Pair { sim, a, b };
    let (a, b) = (p.a, p.b);
    for id in [a, b] {
        // What each side's SDP would say: a=max-message-size:2097152.
        p.sim
            .endpoint_mut(id)
            .layer
            .association_mut()
            .set_peer_max_message_size(Some(2 << 20));
    }
    assert!(p.sim.run_until(Duration::from_secs(30), |s| {
        s.endpoint(a).layer.association().is_established()
            && s.endpoint(b).layer.association().is_established()
    }));
    p
}

/// `n` default channels labelled `c0`, `c1`, … created on `who`.
fn create_channels(p: &mut Pair, who: EndpointId, n: usize) -> Vec<ChannelId> {
    (0..n)
        .map(|i| {
            p.sim
                .endpoint_mut(who)
                .layer
                .create(&format!("c{i}"), DataChannelInit::default())
                .unwrap()
        })
        .collect()
}

fn events(p: &mut Pair, id: EndpointId) -> Vec<DataChannelEvent> {
    p.sim.take_events(id).into_iter().map(|(_, e)| e).collect()
}

/// The stream id (W3C `id`) of `who`'s channel `ch`.
fn stream(p: &Pair, who: EndpointId, ch: ChannelId) -> u16 {
    p.sim.endpoint(who).layer.channel(ch).unwrap().id.unwrap()
}

/// `to`'s handle for the channel that is `ch` on `from`: the same stream.
fn across(p: &Pair, from: EndpointId, ch: ChannelId, to: EndpointId) -> ChannelId {
    let id = stream(p, from, ch);
    p.sim.endpoint(to).layer.channel_on_stream(id).unwrap()
}

#[test]
fn channels_open_from_each_side_and_carry_every_message_kind() {
    let mut p = pair(1, LinkConfig::new().latency(Duration::from_millis(10)));
    let (a, b) = (p.a, p.b);
    let ca = p
        .sim
        .endpoint_mut(a)
        .layer
        .create("chat", DataChannelInit::default())
        .unwrap();
    let cb = p
        .sim
        .endpoint_mut(b)
        .layer
        .create(
            "unrel",
            DataChannelInit {
                ordered: false,
                max_retransmits: Some(0),
                ..Default::default()
            },
        )
        .unwrap();
    // Stream id parity by DTLS role (RFC 8832 §6).
    assert_eq!((stream(&p, a, ca) % 2, stream(&p, b, cb) % 2), (0, 1));
    p.sim.run_for(Duration::from_millis(200));
    let eb = events(&mut p, b);
    let incoming = eb
        .iter()
        .find_map(|e| match e {
            DataChannelEvent::Incoming(info) => Some(info.clone()),
            _ => None,
        })
        .expect("b sees a's channel");
    assert_eq!(
        (incoming.id, incoming.label.as_str(), incoming.ordered),
        (Some(stream(&p, a, ca)), "chat", true)
    );
    let ea = events(&mut p, a);
    assert!(ea.contains(&DataChannelEvent::Open(ca)));
    let unrel = ea
        .iter()
        .find_map(|e| match e {
            DataChannelEvent::Incoming(info) => Some(info.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!((unrel.ordered, unrel.max_retransmits), (false, Some(0)));

    let ca_on_b = across(&p, a, ca, b);
    let dc = &mut p.sim.endpoint_mut(a).layer;
    dc.send_text(ca, "ping 1").unwrap();
    dc.send_text(ca, "").unwrap();
    dc.send_binary(ca, Bytes::new()).unwrap();
    dc.send_binary(ca, Bytes::from(vec![7u8; 3000])).unwrap();
    let big: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 241) as u8).collect();
    dc.send_binary(ca, Bytes::from(big.clone())).unwrap();
    p.sim.run_for(Duration::from_secs(5));
    let msgs: Vec<(Bytes, bool)> = events(&mut p, b)
        .into_iter()
        .filter_map(|e| match e {
            DataChannelEvent::Message {
                channel,
                data,
                text,
                ..
            } if channel == ca_on_b => Some((data, text)),
            _ => None,
        })
        .collect();
    assert_eq!(msgs.len(), 5);
    assert_eq!(msgs[0], (Bytes::from_static(b"ping 1"), true));
    assert_eq!(msgs[1], (Bytes::new(), true));
    assert_eq!(msgs[2], (Bytes::new(), false));
    assert_eq!(msgs[3].0.len(), 3000);
    assert!(msgs[4].0 == big);
}

#[test]
fn negotiated_channel_with_a_pre_agreed_id() {
    let mut p = pair(2, LinkConfig::new().latency(Duration::from_millis(10)));
    let (a, b) = (p.a, p.b);
    let init = DataChannelInit {
        negotiated: true,
        id: Some(42),
        ..Default::default()
    };
    let na = p
        .sim
        .endpoint_mut(a)
        .layer
        .create("n", init.clone())
        .unwrap();
    let nb = p.sim.endpoint_mut(b).layer.create("n", init).unwrap();
    assert_eq!((stream(&p, a, na), stream(&p, b, nb)), (42, 42));
    p.sim.run_for(Duration::from_millis(10));
    assert!(events(&mut p, a).contains(&DataChannelEvent::Open(na)));
    p.sim.endpoint_mut(b).layer.send_text(nb, "hi").unwrap();
    p.sim.run_for(Duration::from_millis(100));
    assert!(
        events(&mut p, a)
            .iter()
            .any(|e| matches!(e, DataChannelEvent::Message { channel, .. } if *channel == na))
    );
}

#[test]
fn closing_from_either_side_closes_both() {
    let mut p = pair(
        3,
        LinkConfig::new()
            .latency(Duration::from_millis(10))
            .loss(0.05),
    );
    let (a, b) = (p.a, p.b);
    let c1 = p
        .sim
        .endpoint_mut(a)
        .layer
        .create("one", DataChannelInit::default())
        .unwrap();
    let c2 = p
        .sim
        .endpoint_mut(a)
        .layer
        .create("two", DataChannelInit::default())
        .unwrap();
    p.sim.run_for(Duration::from_secs(2));
    events(&mut p, a);
    events(&mut p, b);
    let (c1_on_b, c2_on_b) = (across(&p, a, c1, b), across(&p, a, c2, b));
    let c1_stream = stream(&p, a, c1);
    p.sim.endpoint_mut(a).layer.close(c1).unwrap();
    p.sim.endpoint_mut(b).layer.close(c2_on_b).unwrap();
    p.sim.run_for(Duration::from_secs(10));
    let (ea, eb) = (events(&mut p, a), events(&mut p, b));
    for (e, c1, c2) in [(&ea, c1, c2), (&eb, c1_on_b, c2_on_b)] {
        assert!(e.contains(&DataChannelEvent::Closed(c1)), "{e:?}");
        assert!(e.contains(&DataChannelEvent::Closed(c2)), "{e:?}");
    }
    assert!(p.sim.endpoint_mut(a).layer.send_text(c1, "x").is_err());
    // The stream ids are free again; handles are never reused.
    let again = p
        .sim
        .endpoint_mut(a)
        .layer
        .create("again", DataChannelInit::default())
        .unwrap();
    assert_ne!(again, c1);
    assert_eq!(stream(&p, a, again), c1_stream);
}

#[test]
fn a_thousand_channels_open_and_close_on_one_association() {
    let mut p = pair(4, LinkConfig::new().latency(Duration::from_millis(5)));
    let (a, b) = (p.a, p.b);
    let ids = create_channels(&mut p, a, 1000);
    p.sim.run_for(Duration::from_secs(5));
    let opened = events(&mut p, a)
        .iter()
        .filter(|e| matches!(e, DataChannelEvent::Open(_)))
        .count();
    assert_eq!(opened, 1000);
    assert_eq!(
        events(&mut p, b)
            .iter()
            .filter(|e| matches!(e, DataChannelEvent::Incoming(_)))
            .count(),
        1000
    );
    for &id in &ids {
        p.sim.endpoint_mut(a).layer.send_text(id, "bye").unwrap();
        p.sim.endpoint_mut(a).layer.close(id).unwrap();
    }
    p.sim.run_for(Duration::from_secs(60));
    let eb = events(&mut p, b);
    assert_eq!(
        eb.iter()
            .filter(|e| matches!(e, DataChannelEvent::Message { .. }))
            .count(),
        1000
    );
    assert_eq!(
        eb.iter()
            .filter(|e| matches!(e, DataChannelEvent::Closed(_)))
            .count(),
        1000
    );
    assert_eq!(
        events(&mut p, a)
            .iter()
            .filter(|e| matches!(e, DataChannelEvent::Closed(_)))
            .count(),
        1000
    );
    assert_eq!(p.sim.endpoint(a).layer.channel_ids().count(), 0);
}

#[test]
fn buffered_amount_and_its_low_event() {
    let mut p = pair(
        5,
        LinkConfig::new()
            .latency(Duration::from_millis(25))
            .bandwidth(8_000_000, 200_000),
    );
    let (a, _) = (p.a, p.b);
    let id = p
        .sim
        .endpoint_mut(a)
        .layer
        .create("bulk", DataChannelInit::default())
        .unwrap();
    p.sim.run_for(Duration::from_millis(200));
    events(&mut p, a);
    p.sim
        .endpoint_mut(a)
        .layer
        .set_buffered_amount_low_threshold(id, 64 * 1024);
    for _ in 0..16 {
        p.sim
            .endpoint_mut(a)
            .layer
            .send_binary(id, Bytes::from(vec![1u8; 64 * 1024]))
            .unwrap();
    }
    assert_eq!(p.sim.endpoint(a).layer.buffered_amount(id), 16 * 64 * 1024);
    let mut low_at = None;
    let found = p.sim.run_until(Duration::from_secs(30), |s| {
        let buffered = s.endpoint(a).layer.buffered_amount(id);
        if s.events()
            .iter()
            .any(|(_, who, e)| *who == a && *e == DataChannelEvent::BufferedAmountLow(id))
        {
            low_at.get_or_insert(buffered);
            true
        } else {
            false
        }
    });
    assert!(found, "no bufferedamountlow");
    assert!(low_at.unwrap() <= 64 * 1024);
    p.sim.run_for(Duration::from_secs(10));
    assert_eq!(p.sim.endpoint(a).layer.buffered_amount(id), 0);
}

/// A message over the peer's max-message-size is an error to the caller, not a drop.
#[test]
fn oversized_message_is_refused() {
    let mut p = pair(6, LinkConfig::new().latency(Duration::from_millis(5)));
    let a = p.a;
    let id = p
        .sim
        .endpoint_mut(a)
        .layer
        .create("x", DataChannelInit::default())
        .unwrap();
    p.sim.run_for(Duration::from_millis(100));
    let err = p
        .sim
        .endpoint_mut(a)
        .layer
        .send_binary(id, Bytes::from(vec![0u8; (2 << 20) + 1]))
        .unwrap_err();
    assert!(err.to_string().contains("exceeds"), "{err}");
    assert_eq!(p.sim.endpoint(a).layer.buffered_amount(id), 0);
}

fn count(events: &[DataChannelEvent], f: impl Fn(&DataChannelEvent) -> bool) -> usize {
    events.iter().filter(|e| f(e)).count()
}

/// Sends "ping" from `a` on channel `id` and "pong" back from `b`; both must arrive.
fn ping_pong(p: &mut Pair, id: ChannelId) {
    let (a, b) = (p.a, p.b);
    let on_b = across(p, a, id, b);
    p.sim.endpoint_mut(a).layer.send_text(id, "ping").unwrap();
    p.sim.run_for(Duration::from_millis(200));
    assert!(
        events(p, b).contains(&DataChannelEvent::Message {
            channel: on_b,
            data: Bytes::from_static(b"ping"),
            text: true,
            ppid: crate::datachannel::Ppid::STRING,
            unordered: false,
        }),
        "ping on {id}"
    );
    p.sim.endpoint_mut(b).layer.send_text(on_b, "pong").unwrap();
    p.sim.run_for(Duration::from_millis(200));
    assert!(
        events(p, a).contains(&DataChannelEvent::Message {
            channel: id,
            data: Bytes::from_static(b"pong"),
            text: true,
            ppid: crate::datachannel::Ppid::STRING,
            unordered: false,
        }),
        "pong on {id}"
    );
}

/// A peer that opens more channels than `max_incoming_channels` gets the rest refused:
/// each refused one is reset (so it closes on the peer's side too) and counted, the
/// accepted ones work, and closing one makes room for another.
#[test]
fn opens_beyond_the_channel_cap_are_refused_with_a_reset() {
    let limits = DataChannelConfig {
        max_incoming_channels: 16,
        ..Default::default()
    };
    let mut p = pair_limited(
        5,
        LinkConfig::new().latency(Duration::from_millis(5)),
        limits,
    );
    let (a, b) = (p.a, p.b);
    let ids = create_channels(&mut p, a, 40);
    p.sim.run_for(Duration::from_secs(5));
    let eb = events(&mut p, b);
    assert_eq!(
        count(&eb, |e| matches!(e, DataChannelEvent::Incoming(_))),
        16
    );
    let stats = p.sim.endpoint(b).layer.stats();
    assert_eq!((stats.opened_by_peer, stats.refused_too_many), (16, 24));
    assert_eq!(p.sim.endpoint(b).layer.channel_ids().count(), 16);
    // The refused ones closed on the opener's side: b reset its side of their streams.
    let ea = events(&mut p, a);
    // Each opened at once (its OPEN queued first); the refused ones then closed.
    assert_eq!(count(&ea, |e| matches!(e, DataChannelEvent::Open(_))), 40);
    assert_eq!(count(&ea, |e| matches!(e, DataChannelEvent::Closed(_))), 24);
    for &id in &ids[16..] {
        assert!(
            p.sim.endpoint(a).layer.channel(id).is_none(),
            "{id} still there"
        );
    }
    ping_pong(&mut p, ids[0]);
    ping_pong(&mut p, ids[15]);
    // Closing one makes room for one more.
    p.sim.endpoint_mut(a).layer.close(ids[0]).unwrap();
    p.sim.run_for(Duration::from_secs(1));
    let more = p
        .sim
        .endpoint_mut(a)
        .layer
        .create("more", DataChannelInit::default())
        .unwrap();
    p.sim.run_for(Duration::from_secs(1));
    assert_eq!(
        p.sim.endpoint(a).layer.channel(more).map(|c| c.state),
        Some(DataChannelState::Open)
    );
    ping_pong(&mut p, more);
    assert_eq!(p.sim.endpoint(b).layer.stats().opened_by_peer, 17);
    assert!(p.sim.endpoint(b).layer.association().is_established());
}

/// Labels and protocols longer than the config allows are refused with a reset and
/// counted; a channel beside them opens and works.
#[test]
fn opens_with_an_overlong_label_or_protocol_are_refused() {
    let mut p = pair(6, LinkConfig::new().latency(Duration::from_millis(5)));
    let (a, b) = (p.a, p.b);
    let long = "l".repeat(2000);
    let dc = &mut p.sim.endpoint_mut(a).layer;
    let by_label = dc.create(&long, DataChannelInit::default()).unwrap();
    let by_protocol = dc
        .create(
            "p",
            DataChannelInit {
                protocol: long.clone(),
                ..Default::default()
            },
        )
        .unwrap();
    let fine = dc
        .create(&"f".repeat(1024), DataChannelInit::default())
        .unwrap();
    p.sim.run_for(Duration::from_secs(2));
    let stats = p.sim.endpoint(b).layer.stats();
    assert_eq!((stats.refused_too_long, stats.opened_by_peer), (2, 1));
    let eb = events(&mut p, b);
    assert_eq!(
        count(&eb, |e| matches!(e, DataChannelEvent::Incoming(_))),
        1
    );
    let ea = events(&mut p, a);
    assert!(ea.contains(&DataChannelEvent::Closed(by_label)));
    assert!(ea.contains(&DataChannelEvent::Closed(by_protocol)));
    ping_pong(&mut p, fine);
}

/// RFC 8832 §6: the DTLS client opens even stream ids, the server odd ones. An OPEN
/// from the client on an odd id is refused with a reset and counted.
#[test]
fn opens_with_the_wrong_id_parity_are_refused() {
    let mut p = pair(7, LinkConfig::new().latency(Duration::from_millis(5)));
    let (a, b) = (p.a, p.b);
    let dc = &mut p.sim.endpoint_mut(a).layer;
    let odd = dc
        .create(
            "odd",
            DataChannelInit {
                id: Some(7),
                ..Default::default()
            },
        )
        .unwrap();
    let even = dc.create("even", DataChannelInit::default()).unwrap();
    assert_eq!((stream(&p, a, odd), stream(&p, a, even) % 2), (7, 0));
    p.sim.run_for(Duration::from_secs(2));
    let stats = p.sim.endpoint(b).layer.stats();
    assert_eq!((stats.refused_wrong_parity, stats.opened_by_peer), (1, 1));
    assert!(p.sim.endpoint(b).layer.channel_on_stream(7).is_none());
    assert!(events(&mut p, a).contains(&DataChannelEvent::Closed(odd)));
    ping_pong(&mut p, even);
    // b's own channels (odd ids) are unaffected.
    let mine = p
        .sim
        .endpoint_mut(b)
        .layer
        .create("mine", DataChannelInit::default())
        .unwrap();
    p.sim.run_for(Duration::from_secs(1));
    assert_eq!(stream(&p, b, mine) % 2, 1);
    assert!(events(&mut p, b).contains(&DataChannelEvent::Open(mine)));
}

/// A channel made on an established association is open at once (its OPEN is queued
/// first; browsers do not wait for the ACK either). What is sent before the peer's
/// DATA_CHANNEL_ACK goes ordered even on an unordered channel, so the peer takes the
/// OPEN first (RFC 8832 §6): over a link that reorders packets, it arrives in order.
/// A closed channel still refuses.
#[test]
fn messages_sent_before_the_peers_ack_go_ordered_over_a_reordering_link() {
    let link = LinkConfig::new()
        .latency(Duration::from_millis(10))
        .reorder(0.5, Duration::from_millis(5));
    let mut p = pair(9, link);
    let (a, b) = (p.a, p.b);
    let dc = &mut p.sim.endpoint_mut(a).layer;
    let id = dc
        .create(
            "eager",
            DataChannelInit {
                ordered: false,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(dc.channel(id).unwrap().state, DataChannelState::Open);
    // About a packet each, so a reordered packet would reorder the messages.
    let message = |i: usize| format!("early {i:02} {}", "x".repeat(1000));
    for i in 0..20 {
        dc.send_text(id, &message(i)).unwrap();
    }
    assert!(dc.buffered_amount(id) > 0);
    let sid = stream(&p, a, id);
    p.sim.run_for(Duration::from_millis(500));
    let on_b = p.sim.endpoint(b).layer.channel_on_stream(sid).unwrap();
    let got: Vec<String> = events(&mut p, b)
        .into_iter()
        .filter_map(|e| match e {
            DataChannelEvent::Message { channel, data, .. } if channel == on_b => {
                Some(String::from_utf8(data.to_vec()).unwrap())
            }
            _ => None,
        })
        .collect();
    let want: Vec<String> = (0..20).map(message).collect();
    assert!(
        got == want,
        "out of order: {:?}",
        got.iter().map(|m| &m[..8]).collect::<Vec<_>>()
    );
    let dc = &mut p.sim.endpoint_mut(a).layer;
    dc.close(id).unwrap();
    assert!(dc.send_text(id, "late").is_err());
}

/// The peer announces 16 inbound streams (RFC 9260 §5.1.1). A channel whose id is past
/// them gets its stream by an Add Outgoing Streams request (RFC 6525 §5.1.5) and opens
/// on the peer; when the peer refuses (its cap is 16), the channel fails with an
/// `Error` event and closes, instead of waiting in `connecting` for ever.
#[test]
fn a_channel_past_the_peers_streams_adds_them_or_fails_rfc6525_5_1_5() {
    for cap in [1024u16, 16] {
        let mut p = pair_full(
            31,
            LinkConfig::new().latency(Duration::from_millis(10)),
            DataChannelConfig::default(),
            |cfg| {
                cfg.streams = cap;
                cfg.inbound_streams = Some(16);
            },
        );
        let (a, b) = (p.a, p.b);
        p.sim.drain_events();
        // a is the DTLS client: ids 0, 2, …, 16; the last is past the peer's 16.
        let chs = create_channels(&mut p, a, 9);
        let last = *chs.last().unwrap();
        assert_eq!(stream(&p, a, last), 16);
        // Not open before the peer has the stream.
        assert_eq!(
            p.sim.endpoint(a).layer.channel(last).unwrap().state,
            DataChannelState::Connecting
        );
        p.sim
            .endpoint_mut(a)
            .layer
            .send_text(last, "hello")
            .unwrap();
        p.sim.run_for(Duration::from_secs(3));
        let ev_a = events(&mut p, a);
        let ev_b = events(&mut p, b);
        let incoming = count(&ev_b, |e| matches!(e, DataChannelEvent::Incoming(_)));
        if cap > 16 {
            assert_eq!(incoming, 9, "every channel reached the peer");
            assert!(ev_b.iter().any(|e| matches!(
                e,
                DataChannelEvent::Message { data, .. } if data.as_ref() == b"hello"
            )));
            assert!(
                !ev_a
                    .iter()
                    .any(|e| matches!(e, DataChannelEvent::Error { .. })),
                "{ev_a:?}"
            );
            assert!(ev_a.contains(&DataChannelEvent::Open(last)), "{ev_a:?}");
        } else {
            assert_eq!(incoming, 8, "the channel past the peer's streams did not");
            let error_at = ev_a
                .iter()
                .position(|e| {
                    *e == DataChannelEvent::Error {
                        channel: last,
                        error: crate::datachannel::DataChannelError::StreamUnavailable(16),
                    }
                })
                .expect("an error event");
            let closed_at = ev_a
                .iter()
                .position(|e| *e == DataChannelEvent::Closed(last))
                .expect("then closed");
            assert!(error_at < closed_at);
            assert!(!ev_a.contains(&DataChannelEvent::Open(last)), "{ev_a:?}");
            assert!(p.sim.endpoint(a).layer.channel(last).is_none());
        }
    }
}

/// The data-channel layer reports the association established once, before the
/// channels created ahead of it open (RFC 8831 §6.1: channels ride on the
/// established association).
#[test]
fn association_established_is_reported_before_channels_open() {
    let (aa, ba): (std::net::SocketAddr, std::net::SocketAddr) = (
        "198.51.100.1:5000".parse().unwrap(),
        "198.51.100.2:5000".parse().unwrap(),
    );
    let mut sim = Sim::new(32, Instant::now());
    let link = LinkConfig::new().latency(Duration::from_millis(10));
    let ha = sim.add_host(HostConfig::new(aa.ip()).link(link.clone()));
    let hb = sim.add_host(HostConfig::new(ba.ip()).link(link));
    let start = sim.now();
    let node = |seed, role, local, remote| {
        let mut assoc = Association::new(
            SctpConfig {
                seed,
                ..Default::default()
            },
            start,
        );
        assoc.connect(start);
        Pinned::new(DataChannels::new(assoc, role), local, remote)
    };
    let a = sim.add_endpoint(ha, node(1, DtlsRole::Client, aa, ba));
    let b = sim.add_endpoint(hb, node(2, DtlsRole::Server, ba, aa));
    sim.bind(a, aa);
    sim.bind(b, ba);
    let ch = sim
        .endpoint_mut(a)
        .layer
        .create("early", DataChannelInit::default())
        .unwrap();
    sim.run_for(Duration::from_secs(2));
    let ev: Vec<DataChannelEvent> = sim.take_events(a).into_iter().map(|(_, e)| e).collect();
    let established = ev
        .iter()
        .position(|e| *e == DataChannelEvent::AssociationEstablished)
        .expect("established reported");
    assert_eq!(
        count(&ev, |e| *e == DataChannelEvent::AssociationEstablished),
        1
    );
    let open = ev
        .iter()
        .position(|e| *e == DataChannelEvent::Open(ch))
        .expect("the channel opened");
    assert!(established < open, "{ev:?}");
    assert!(
        sim.take_events(b)
            .iter()
            .any(|(_, e)| *e == DataChannelEvent::AssociationEstablished)
    );
}

/// Message events carry the PPID (RFC 8831 §8) and whether the message came unordered:
/// on an unordered channel, once the DATA_CHANNEL_ACK is in (RFC 8832 §6 sends the
/// first ones ordered), messages arrive unordered; on an ordered one, never.
#[test]
fn message_events_carry_the_ppid_and_the_unordered_flag_rfc8831_8() {
    use crate::datachannel::Ppid;
    let mut p = pair(33, LinkConfig::new().latency(Duration::from_millis(10)));
    let (a, b) = (p.a, p.b);
    let ordered = create_channels(&mut p, a, 1)[0];
    let unordered = p
        .sim
        .endpoint_mut(a)
        .layer
        .create(
            "u",
            DataChannelInit {
                ordered: false,
                ..Default::default()
            },
        )
        .unwrap();
    // Both ACKs in before sending.
    p.sim.run_for(Duration::from_millis(200));
    p.sim.drain_events();
    let dc = &mut p.sim.endpoint_mut(a).layer;
    dc.send_text(ordered, "t").unwrap();
    dc.send_binary(ordered, Bytes::from_static(b"b")).unwrap();
    dc.send_binary(unordered, Bytes::from_static(b"u")).unwrap();
    dc.send_binary(unordered, Bytes::new()).unwrap();
    p.sim.run_for(Duration::from_millis(200));
    let on_b = |ch| across(&p, a, ch, b);
    let (ob, ub) = (on_b(ordered), on_b(unordered));
    let got: Vec<(ChannelId, Ppid, bool)> = events(&mut p, b)
        .into_iter()
        .filter_map(|e| match e {
            DataChannelEvent::Message {
                channel,
                ppid,
                unordered,
                ..
            } => Some((channel, ppid, unordered)),
            _ => None,
        })
        .collect();
    assert_eq!(got.len(), 4, "{got:?}");
    for want in [
        (ob, Ppid::STRING, false),
        (ob, Ppid::BINARY, false),
        (ub, Ppid::BINARY, true),
        (ub, Ppid::BINARY_EMPTY, true),
    ] {
        assert!(got.contains(&want), "{want:?} in {got:?}");
    }
}
