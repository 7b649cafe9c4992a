//! SCTP associations in the simulator: simultaneous open, ordered and unordered
//! delivery, large messages, and a sweep of lossy, reordering, duplicating links.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sansrtc::rng::Rng;
use sansrtc::sctp::{Association, SctpConfig, SctpEvent};
use sansrtc::sim::{EndpointId, HostConfig, LinkConfig, Sim};
use sansrtc_tests::SctpNode;

struct Pair {
    sim: Sim<SctpNode>,
    a: EndpointId,
    b: EndpointId,
}

fn pair(seed: u64, link: LinkConfig) -> Pair {
    let (aa, ba): (SocketAddr, SocketAddr) = (
        "198.51.100.1:5000".parse().unwrap(),
        "198.51.100.2:5000".parse().unwrap(),
    );
    let mut sim = Sim::new(seed, Instant::now());
    let ha = sim.add_host(HostConfig::new(aa.ip()).link(link.clone()));
    let hb = sim.add_host(HostConfig::new(ba.ip()).link(link));
    let node = |seed: u64, local, remote| SctpNode {
        assoc: Association::new(SctpConfig {
            seed,
            rto_initial: Duration::from_millis(300),
            max_receive_message_size: 32 * 1024 * 1024,
            ..Default::default()
        }),
        local,
        remote,
        connect_on_start: true,
    };
    let a = sim.add_endpoint(ha, node(seed * 2 + 1, aa, ba));
    let b = sim.add_endpoint(hb, node(seed * 2 + 2, ba, aa));
    sim.bind(a, aa);
    sim.bind(b, ba);
    Pair { sim, a, b }
}

impl Pair {
    fn connect(&mut self) {
        let (a, b) = (self.a, self.b);
        assert!(
            self.sim.run_until(Duration::from_secs(60), |s| s
                .endpoint(a)
                .assoc
                .is_established()
                && s.endpoint(b).assoc.is_established()),
            "association did not establish"
        );
    }

    fn messages(&mut self, id: EndpointId) -> Vec<(u16, u32, Bytes, bool)> {
        self.sim
            .take_events(id)
            .into_iter()
            .filter_map(|(_, e)| match e {
                SctpEvent::Message {
                    stream_id,
                    ppid,
                    data,
                    unordered,
                } => Some((stream_id, ppid, data, unordered)),
                _ => None,
            })
            .collect()
    }
}

fn payload(i: u32, len: usize) -> Bytes {
    let mut v = i.to_be_bytes().to_vec();
    v.resize(len.max(4), (i % 251) as u8);
    Bytes::from(v)
}

#[test]
fn simultaneous_open_and_messages_both_ways() {
    let mut p = pair(1, LinkConfig::new().latency(Duration::from_millis(20)));
    p.connect();
    let (a, b) = (p.a, p.b);
    p.sim
        .endpoint_mut(a)
        .assoc
        .send(1, 51, Bytes::from_static(b"hello"), false)
        .unwrap();
    p.sim
        .endpoint_mut(b)
        .assoc
        .send(2, 53, Bytes::from_static(b"world"), true)
        .unwrap();
    p.sim.run_for(Duration::from_secs(1));
    assert_eq!(
        p.messages(b),
        [(1, 51, Bytes::from_static(b"hello"), false)]
    );
    assert_eq!(p.messages(a), [(2, 53, Bytes::from_static(b"world"), true)]);
    assert_eq!(p.sim.endpoint(a).assoc.buffered_amount(), 0);
}

#[test]
fn large_messages_are_fragmented_and_reassembled() {
    let mut p = pair(2, LinkConfig::new().latency(Duration::from_millis(10)));
    p.connect();
    let (a, b) = (p.a, p.b);
    let one_mib: Vec<u8> = (0..1 << 20).map(|i: u32| (i * 7 % 256) as u8).collect();
    let sixteen: Vec<u8> = (0..16 << 20).map(|i: u32| (i % 253) as u8).collect();
    p.sim
        .endpoint_mut(a)
        .assoc
        .send(0, 53, Bytes::from(one_mib.clone()), false)
        .unwrap();
    p.sim
        .endpoint_mut(a)
        .assoc
        .send(0, 53, Bytes::from(sixteen.clone()), false)
        .unwrap();
    let done = p.sim.run_until(Duration::from_secs(120), |s| {
        s.endpoint(a).assoc.buffered_amount() == 0
    });
    assert!(
        done,
        "a: {:?} buffered {} cwnd {}\nb: {:?}",
        p.sim.endpoint(a).assoc.stats(),
        p.sim.endpoint(a).assoc.buffered_amount(),
        p.sim.endpoint(a).assoc.cwnd(),
        p.sim.endpoint(b).assoc.stats()
    );
    p.sim.run_for(Duration::from_millis(500));
    let got = p.messages(b);
    assert_eq!(got.len(), 2);
    assert_eq!(&got[0].2[..], &one_mib[..]);
    assert_eq!(&got[1].2[..], &sixteen[..]);
    println!(
        "16 MiB + 1 MiB over a 20 ms RTT link took {:?} of virtual time",
        p.sim.elapsed()
    );
}

/// Loss 0–30 %, reordering, duplication and jitter, one seed each: ordered reliable
/// messages arrive exactly once and in order, unordered ones exactly once.
#[test]
fn lossy_links_deliver_exactly_once_in_order() {
    let seeds = 1000;
    let mut worst = Duration::ZERO;
    let only: Option<u64> = std::env::var("SCTP_SEED").ok().and_then(|s| s.parse().ok());
    for seed in 0..seeds {
        if only.is_some_and(|o| o != seed) {
            continue;
        }
        let mut r = Rng::from_seed(seed);
        let loss = (seed % 7) as f64 * 0.05; // 0 … 30 %
        let link = LinkConfig::new()
            .latency(Duration::from_millis(5 + r.below(40)))
            .jitter(Duration::from_millis(r.below(10)))
            .loss(loss)
            .duplicate(if r.chance(0.5) { 0.05 } else { 0.0 })
            .reorder(
                if r.chance(0.5) { 0.1 } else { 0.0 },
                Duration::from_millis(15),
            );
        let mut p = pair(1000 + seed, link);
        p.connect();
        let (a, b) = (p.a, p.b);
        let n = 40 + r.below(40) as u32;
        let mut sent_ordered = Vec::new();
        let mut sent_unordered = Vec::new();
        for i in 0..n {
            let len = match r.below(10) {
                0 => 3000 + r.below(5000) as usize, // fragmented
                _ => 1 + r.below(1100) as usize,
            };
            let unordered = r.chance(0.3);
            let data = payload(i, len);
            p.sim
                .endpoint_mut(a)
                .assoc
                .send(7, 53, data.clone(), unordered)
                .unwrap();
            if unordered {
                sent_unordered.push(data);
            } else {
                sent_ordered.push(data);
            }
        }
        assert!(
            p.sim.run_until(Duration::from_secs(300), |s| s
                .endpoint(a)
                .assoc
                .buffered_amount()
                == 0),
            "seed {seed} (loss {loss}): data still unacknowledged; a {:?} rto {:?} at {:?} buffered {} established {}, b {:?}, events {:?}",
            p.sim.endpoint(a).assoc.stats(),
            p.sim.endpoint(a).assoc.rto(),
            p.sim.elapsed(),
            p.sim.endpoint(a).assoc.buffered_amount(),
            p.sim.endpoint(a).assoc.is_established(),
            p.sim.endpoint(b).assoc.stats(),
            p.sim
                .events()
                .iter()
                .filter(|e| matches!(e.2, SctpEvent::Closed { .. }))
                .collect::<Vec<_>>()
        );
        p.sim.run_for(Duration::from_secs(2));
        worst = worst.max(p.sim.elapsed());
        let got = p.messages(b);
        // Compare message numbers first (readable on failure), then the bytes.
        let id = |b: &Bytes| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        let ordered: Vec<Bytes> = got.iter().filter(|m| !m.3).map(|m| m.2.clone()).collect();
        let mut unordered: Vec<Bytes> = got.iter().filter(|m| m.3).map(|m| m.2.clone()).collect();
        assert_eq!(
            ordered.iter().map(id).collect::<Vec<_>>(),
            sent_ordered.iter().map(id).collect::<Vec<_>>(),
            "seed {seed} (loss {loss}): ordered stream; a {:?}, b {:?}",
            p.sim.endpoint(a).assoc.stats(),
            p.sim.endpoint(b).assoc.stats()
        );
        assert!(
            ordered == sent_ordered,
            "seed {seed}: ordered payloads differ"
        );
        unordered.sort();
        sent_unordered.sort();
        assert_eq!(
            unordered.iter().map(id).collect::<Vec<_>>(),
            sent_unordered.iter().map(id).collect::<Vec<_>>(),
            "seed {seed}: unordered messages"
        );
        assert!(
            unordered == sent_unordered,
            "seed {seed}: unordered payloads differ"
        );
    }
    println!("{seeds} seeds, worst completion {worst:?} of virtual time");
}
