use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::*;
use crate::io::{Endpoint, IDLE_TIMEOUT, Input, Output, Protocol, Transmit};

/// The one clock read in these tests: `Instant` has no other constructor, and the value
/// only anchors virtual time, so nothing depends on what it is.
/// The one start time of every simulation and endpoint in these tests.
fn t0() -> Instant {
    static START: std::sync::LazyLock<Instant> = std::sync::LazyLock::new(Instant::now);
    *START
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// A datagram a [`Peer`] received.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Got {
    at: Instant,
    source: SocketAddr,
    destination: SocketAddr,
    contents: Bytes,
}

/// Test endpoint: sends a planned series of datagrams at set offsets from the time it
/// first learns, optionally echoes what it receives, and reports every datagram it
/// receives as an event.
struct Peer {
    local: SocketAddr,
    echo: bool,
    start: Instant,
    now: Instant,
    plan: VecDeque<(Duration, SocketAddr, Bytes)>,
    out: VecDeque<Output<Got>>,
}

impl Peer {
    fn new(local: SocketAddr) -> Self {
        Peer {
            local,
            echo: false,
            start: t0(),
            now: t0(),
            plan: VecDeque::new(),
            out: VecDeque::new(),
        }
    }

    fn echo(mut self) -> Self {
        self.echo = true;
        self
    }

    /// Plan `count` datagrams to `to`, `gap` apart, each carrying its index.
    fn burst(mut self, to: SocketAddr, count: u32, gap: Duration, size: usize) -> Self {
        for i in 0..count {
            let mut payload = vec![0u8; size.max(4)];
            payload[..4].copy_from_slice(&i.to_be_bytes());
            self.plan.push_back((gap * i, to, payload.into()));
        }
        self
    }

    fn send(&mut self, to: SocketAddr, contents: &'static [u8]) {
        let t = Transmit::single(Protocol::Udp, self.local, to, Bytes::from_static(contents));
        self.out.push_back(Output::Transmit(t));
    }
}

impl Endpoint for Peer {
    type Event = Got;

    fn handle_input(&mut self, input: Input) {
        self.now = self.now.max(input.now());
        match input {
            Input::Receive(r) => {
                if self.echo {
                    let t =
                        Transmit::single(r.protocol, r.destination, r.source, r.contents.clone());
                    self.out.push_back(Output::Transmit(t));
                }
                self.out.push_back(Output::Event(Got {
                    at: r.now,
                    source: r.source,
                    destination: r.destination,
                    contents: r.contents,
                }));
            }
            Input::Timeout(now) => {
                let start = self.start;
                while let Some((offset, to, payload)) = self.plan.front().cloned() {
                    if start + offset > now {
                        break;
                    }
                    self.plan.pop_front();
                    let t = Transmit::single(Protocol::Udp, self.local, to, payload);
                    self.out.push_back(Output::Transmit(t));
                }
            }
        }
    }

    fn poll_output(&mut self) -> Output<Got> {
        if let Some(o) = self.out.pop_front() {
            return o;
        }
        match self.plan.front() {
            Some((offset, _, _)) => Output::Timeout(self.start + *offset),
            None => Output::Timeout(self.now + IDLE_TIMEOUT),
        }
    }
}

fn index_of(got: &Got) -> u32 {
    u32::from_be_bytes(got.contents[..4].try_into().unwrap())
}

/// Two public hosts: A at 10.0.0.1 with `link` as its egress, B at 10.0.0.2 listening on
/// port 9. A's endpoint sends `count` packets to B, `gap` apart.
struct Pair {
    sim: Sim<Peer>,
    start: Instant,
    b: EndpointId,
}

fn pair(seed: u64, link: LinkConfig, count: u32, gap: Duration, size: usize) -> Pair {
    let start = t0();
    let mut sim = Sim::new(seed, start);
    let ha = sim.add_host(HostConfig::new(ip("10.0.0.1")).link(link));
    let hb = sim.add_host(HostConfig::new(ip("10.0.0.2")));
    let b_addr = sa("10.0.0.2:9");
    sim.add_endpoint(
        ha,
        Peer::new(sa("10.0.0.1:1")).burst(b_addr, count, gap, size),
    );
    let b = sim.add_endpoint(hb, Peer::new(b_addr));
    sim.bind(b, b_addr);
    Pair { sim, start, b }
}

impl Pair {
    /// Run until quiet; return what B received.
    fn run(&mut self) -> Vec<Got> {
        self.sim.run_for(Duration::from_secs(600));
        assert_eq!(self.sim.in_flight(), 0);
        self.sim
            .take_events(self.b)
            .into_iter()
            .map(|(_, g)| g)
            .collect()
    }

    fn offsets(&self, got: &[Got]) -> Vec<Duration> {
        got.iter().map(|g| g.at - self.start).collect()
    }
}

#[test]
fn latency_delays_every_packet_exactly() {
    let mut p = pair(1, LinkConfig::new().latency(ms(50)), 3, ms(10), 10);
    let got = p.run();
    assert_eq!(p.offsets(&got), [ms(50), ms(60), ms(70)]);
    let sent: Vec<Duration> = p.sim.transmit_log().iter().map(|r| r.at).collect();
    assert_eq!(sent, [ms(0), ms(10), ms(20)]);
}

#[test]
fn jitter_stays_within_bounds_and_keeps_order() {
    let n = 500;
    let mut p = pair(
        2,
        LinkConfig::new().latency(ms(50)).jitter(ms(10)),
        n,
        ms(1),
        10,
    );
    let got = p.run();
    assert_eq!(got.len(), n as usize);
    let mut delays = Vec::new();
    for (i, g) in got.iter().enumerate() {
        assert_eq!(index_of(g), i as u32, "jitter alone must not reorder");
        let delay = g.at - p.start - ms(i as u64);
        assert!(delay >= ms(40) && delay <= ms(60), "delay {delay:?}");
        delays.push(delay);
    }
    delays.sort();
    delays.dedup();
    assert!(
        delays.len() > 100,
        "jitter should vary delays: {}",
        delays.len()
    );
}

#[test]
fn random_loss_rate_is_about_right() {
    let n = 5000;
    let mut p = pair(3, LinkConfig::new().loss(0.2), n, ms(1), 10);
    let got = p.run();
    let lost = n as f64 - got.len() as f64;
    let rate = lost / n as f64;
    assert!((0.17..0.23).contains(&rate), "loss rate {rate}");
    let stats = p.sim.stats();
    assert_eq!(stats.lost, lost as u64);
    assert_eq!(stats.delivered, got.len() as u64);
    assert_eq!(stats.sent, u64::from(n));
}

/// Mean length of runs of consecutive missing indices.
fn mean_burst(got: &[Got], n: u32) -> f64 {
    let mut received = vec![false; n as usize];
    for g in got {
        received[index_of(g) as usize] = true;
    }
    let (mut bursts, mut lost, mut in_burst) = (0u32, 0u32, false);
    for r in received {
        if !r {
            lost += 1;
            bursts += u32::from(!in_burst);
        }
        in_burst = !r;
    }
    f64::from(lost) / f64::from(bursts.max(1))
}

#[test]
fn gilbert_elliott_loses_in_bursts() {
    let n = 5000;
    let ge = GilbertElliott::new(0.02, 0.25);
    let mut p = pair(4, LinkConfig::new().gilbert_elliott(ge), n, ms(1), 10);
    let got = p.run();
    let burst = mean_burst(&got, n);
    // Bad periods last 1 / 0.25 = 4 packets on average.
    assert!(burst > 2.5, "mean burst {burst}");
    // Stationary loss is 0.02 / (0.02 + 0.25) ≈ 7 %.
    let rate = 1.0 - got.len() as f64 / f64::from(n);
    assert!((0.04..0.11).contains(&rate), "loss rate {rate}");

    // Independent loss at a similar rate hardly ever loses two in a row.
    let mut q = pair(4, LinkConfig::new().loss(0.07), n, ms(1), 10);
    let independent = mean_burst(&q.run(), n);
    assert!(independent < 1.3, "independent mean burst {independent}");
}

#[test]
fn duplication_delivers_copies_right_after_the_original() {
    let n = 2000;
    let mut p = pair(5, LinkConfig::new().duplicate(0.25), n, ms(1), 10);
    let got = p.run();
    let extra = got.len() as u64 - u64::from(n);
    assert_eq!(p.sim.stats().duplicated, extra);
    let rate = extra as f64 / f64::from(n);
    assert!((0.21..0.29).contains(&rate), "duplication rate {rate}");
    let order: Vec<u32> = got.iter().map(index_of).collect();
    assert!(
        order.windows(2).all(|w| w[0] <= w[1]),
        "copies stay in order"
    );
}

fn out_of_order(got: &[Got]) -> usize {
    got.windows(2)
        .filter(|w| index_of(&w[1]) < index_of(&w[0]))
        .count()
}

#[test]
fn reordering_happens_only_when_asked() {
    let n = 1000;
    let base = LinkConfig::new().latency(ms(20)).jitter(ms(5));
    let mut plain = pair(6, base.clone(), n, ms(1), 10);
    assert_eq!(out_of_order(&plain.run()), 0);

    let mut shuffled = pair(6, base.reorder(0.05, ms(10)), n, ms(1), 10);
    let got = shuffled.run();
    assert_eq!(got.len(), n as usize, "reordering loses nothing");
    let swaps = out_of_order(&got);
    assert!((20..100).contains(&swaps), "out-of-order arrivals: {swaps}");
}

#[test]
fn bandwidth_serializes_and_tail_drops() {
    // 1 Mbit/s: a 1000-byte packet takes 8 ms to send.
    let link = LinkConfig::new().latency(ms(5)).bandwidth(1_000_000, 3000);
    let mut p = pair(7, link, 10, Duration::ZERO, 1000);
    let got = p.run();
    // The queue holds three packets (the one on the wire included); the rest are dropped.
    assert_eq!(p.offsets(&got), [ms(13), ms(21), ms(29)]);
    assert_eq!(p.sim.stats().queue_drops, 7);

    // Spaced out at the link's rate, nothing queues up and nothing is dropped.
    let link = LinkConfig::new().bandwidth(1_000_000, 1000);
    let mut p = pair(7, link, 10, ms(8), 1000);
    let got = p.run();
    assert_eq!(got.len(), 10);
    assert_eq!(p.offsets(&got)[9], ms(80));
}

#[test]
fn ingress_link_applies_to_received_packets() {
    let start = t0();
    let mut sim = Sim::new(8, start);
    let ha = sim.add_host(HostConfig::new(ip("10.0.0.1")).link(LinkConfig::new().latency(ms(10))));
    let hb = sim.add_host(
        HostConfig::new(ip("10.0.0.2"))
            .ingress(LinkConfig::new().latency(ms(7)).bandwidth(800_000, 10_000)),
    );
    let b_addr = sa("10.0.0.2:9");
    sim.add_endpoint(
        ha,
        Peer::new(sa("10.0.0.1:1")).burst(b_addr, 2, Duration::ZERO, 1000),
    );
    let b = sim.add_endpoint(hb, Peer::new(b_addr));
    sim.bind(b, b_addr);
    sim.run_for(Duration::from_secs(1));
    let at: Vec<Duration> = sim.take_events(b).iter().map(|(at, _)| *at).collect();
    // 10 ms egress, then 10 ms per packet at 800 kbit/s and 7 ms on the downlink.
    assert_eq!(at, [ms(27), ms(37)]);
}

#[test]
fn segmented_transmit_is_split_into_datagrams() {
    let start = t0();
    let mut sim = Sim::new(9, start);
    let ha = sim.add_host(HostConfig::new(ip("10.0.0.1")));
    let hb = sim.add_host(HostConfig::new(ip("10.0.0.2")));
    let (a_addr, b_addr) = (sa("10.0.0.1:1"), sa("10.0.0.2:9"));
    let a = sim.add_endpoint(ha, Peer::new(a_addr));
    let b = sim.add_endpoint(hb, Peer::new(b_addr));
    sim.bind(b, b_addr);
    let mut t = Transmit::single(Protocol::Udp, a_addr, b_addr, vec![7u8; 10].into());
    t.segment_size = Some(4);
    sim.endpoint_mut(a).out.push_back(Output::Transmit(t));
    sim.run_for(ms(1));
    let sizes: Vec<usize> = sim
        .take_events(b)
        .iter()
        .map(|(_, g)| g.contents.len())
        .collect();
    assert_eq!(sizes, [4, 4, 2]);
    assert_eq!(sim.stats().sent, 3);
    assert_eq!(sim.transmit_log().len(), 3);
}

/// A client behind a NAT of `kind` and three public servers: S1 and S1' share an IP
/// (ports 1 and 2), S2 has another.
struct NatLab {
    sim: Sim<Peer>,
    client: EndpointId,
    s1: EndpointId,
    s1_other_port: EndpointId,
    s2: EndpointId,
}

const S1: &str = "198.51.100.1:1";
const S1_OTHER_PORT: &str = "198.51.100.1:2";
const S2: &str = "198.51.100.2:1";

fn nat_lab(kind: NatKind) -> NatLab {
    let mut sim = Sim::new(10, t0());
    let nat = sim.add_nat(NatConfig::new(kind, ip("203.0.113.1")));
    let hc = sim.add_host(HostConfig::new(ip("192.168.0.2")).behind(nat));
    let h1 = sim.add_host(HostConfig::new(ip("198.51.100.1")));
    let h2 = sim.add_host(HostConfig::new(ip("198.51.100.2")));
    let client = sim.add_endpoint(hc, Peer::new(sa("192.168.0.2:5000")));
    let mut server = |host, addr: &str| {
        let id = sim.add_endpoint(host, Peer::new(sa(addr)));
        sim.bind(id, sa(addr));
        id
    };
    let s1 = server(h1, S1);
    let s1_other_port = server(h1, S1_OTHER_PORT);
    let s2 = server(h2, S2);
    NatLab {
        sim,
        client,
        s1,
        s1_other_port,
        s2,
    }
}

impl NatLab {
    /// Send from the client to `to`; return the source the server saw.
    fn client_to(&mut self, server: EndpointId, to: &str) -> SocketAddr {
        self.sim.endpoint_mut(self.client).send(sa(to), b"out");
        self.sim.run_for(ms(1));
        let got = self.sim.take_events(server);
        assert_eq!(got.len(), 1, "server {to} should hear the client");
        got[0].1.source
    }

    /// Send from `server` to `mapped`; return whether the client heard it.
    fn reaches_client(&mut self, server: EndpointId, from: &str, mapped: SocketAddr) -> bool {
        self.sim.endpoint_mut(server).send(mapped, b"in");
        self.sim.run_for(ms(1));
        let got = self.sim.take_events(self.client);
        assert!(got.iter().all(|(_, g)| g.source == sa(from)));
        !got.is_empty()
    }
}

#[test]
fn cone_nats_keep_one_mapping_symmetric_makes_one_per_destination() {
    for kind in [
        NatKind::FullCone,
        NatKind::AddressRestricted,
        NatKind::PortRestricted,
        NatKind::Symmetric,
    ] {
        let mut lab = nat_lab(kind);
        let (s1, s1p, s2) = (lab.s1, lab.s1_other_port, lab.s2);
        let m1 = lab.client_to(s1, S1);
        let m1p = lab.client_to(s1p, S1_OTHER_PORT);
        let m2 = lab.client_to(s2, S2);
        assert_eq!(m1.ip(), ip("203.0.113.1"), "{kind:?} translates the source");
        // Sending again reuses the mapping.
        assert_eq!(lab.client_to(s1, S1), m1, "{kind:?}");
        if kind == NatKind::Symmetric {
            assert_ne!(m1, m1p, "{kind:?}");
            assert_ne!(m1, m2, "{kind:?}");
            assert_ne!(m1p, m2, "{kind:?}");
        } else {
            assert_eq!(m1, m1p, "{kind:?}");
            assert_eq!(m1, m2, "{kind:?}");
        }
    }
}

#[test]
fn nat_filtering_decides_who_reaches_the_mapped_port() {
    // Whether (S1, S1 other port, S2) get through after the client talked to S1 only.
    let cases = [
        (NatKind::FullCone, [true, true, true]),
        (NatKind::AddressRestricted, [true, true, false]),
        (NatKind::PortRestricted, [true, false, false]),
        (NatKind::Symmetric, [true, false, false]),
    ];
    for (kind, expected) in cases {
        let mut lab = nat_lab(kind);
        let (s1, s1p, s2) = (lab.s1, lab.s1_other_port, lab.s2);
        let mapped = lab.client_to(s1, S1);
        let reached = [
            lab.reaches_client(s1, S1, mapped),
            lab.reaches_client(s1p, S1_OTHER_PORT, mapped),
            lab.reaches_client(s2, S2, mapped),
        ];
        assert_eq!(reached, expected, "{kind:?}");
        let refused = expected.iter().filter(|ok| !**ok).count() as u64;
        assert_eq!(lab.sim.stats().nat_filtered, refused, "{kind:?}");
    }
}

#[test]
fn unmapped_nat_port_is_dropped() {
    let mut lab = nat_lab(NatKind::FullCone);
    let s1 = lab.s1;
    assert!(!lab.reaches_client(s1, S1, sa("203.0.113.1:4000")));
    assert_eq!(lab.sim.stats().nat_filtered, 1);
}

#[test]
fn mapping_times_out_without_outbound_traffic() {
    let mut sim = Sim::new(11, t0());
    let nat = sim.add_nat(NatConfig {
        mapping_timeout: Some(ms(100)),
        ..NatConfig::new(NatKind::FullCone, ip("203.0.113.1"))
    });
    let hc = sim.add_host(HostConfig::new(ip("192.168.0.2")).behind(nat));
    let hs = sim.add_host(HostConfig::new(ip("198.51.100.1")));
    let client = sim.add_endpoint(hc, Peer::new(sa("192.168.0.2:5000")));
    let server = sim.add_endpoint(hs, Peer::new(sa(S1)));
    sim.bind(server, sa(S1));

    sim.endpoint_mut(client).send(sa(S1), b"out");
    sim.run_for(ms(60));
    let mapped = sim.take_events(server)[0].1.source;
    // Refreshed at 60 ms, so still alive at 150 ms.
    sim.endpoint_mut(client).send(sa(S1), b"out");
    sim.run_for(ms(90));
    assert_eq!(sim.take_events(server)[0].1.source, mapped);
    sim.endpoint_mut(server).send(mapped, b"in");
    sim.run_for(ms(1));
    assert_eq!(sim.take_events(client).len(), 1);
    // Idle since 60 ms: gone by 161 ms.
    sim.run_for(ms(10));
    sim.endpoint_mut(server).send(mapped, b"in");
    sim.run_for(ms(1));
    assert!(sim.take_events(client).is_empty());
    assert_eq!(sim.stats().nat_filtered, 1);
}

#[test]
fn hosts_behind_one_nat_talk_directly_on_private_addresses() {
    let mut sim = Sim::new(12, t0());
    let nat = sim.add_nat(NatConfig::new(NatKind::Symmetric, ip("203.0.113.1")));
    let ha = sim.add_host(HostConfig::new(ip("192.168.0.2")).behind(nat));
    let hb = sim.add_host(HostConfig::new(ip("192.168.0.3")).behind(nat));
    // The same private address behind another NAT must not catch the packet.
    let other = sim.add_nat(NatConfig::new(NatKind::FullCone, ip("203.0.113.2")));
    let hx = sim.add_host(HostConfig::new(ip("192.168.0.3")).behind(other));
    let a = sim.add_endpoint(ha, Peer::new(sa("192.168.0.2:1")));
    let b = sim.add_endpoint(hb, Peer::new(sa("192.168.0.3:1")));
    let x = sim.add_endpoint(hx, Peer::new(sa("192.168.0.3:1")));
    sim.bind(b, sa("192.168.0.3:1"));
    sim.bind(x, sa("192.168.0.3:1"));
    sim.endpoint_mut(a).send(sa("192.168.0.3:1"), b"hi");
    sim.run_for(ms(1));
    let got = sim.take_events(b);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1.source, sa("192.168.0.2:1"));
    assert!(sim.take_events(x).is_empty());
}

#[test]
fn hairpinning_is_off_by_default_and_translates_when_on() {
    for hairpinning in [false, true] {
        let mut sim = Sim::new(13, t0());
        let nat = sim.add_nat(NatConfig {
            hairpinning,
            ..NatConfig::new(NatKind::FullCone, ip("203.0.113.1"))
        });
        let ha = sim.add_host(HostConfig::new(ip("192.168.0.2")).behind(nat));
        let hb = sim.add_host(HostConfig::new(ip("192.168.0.3")).behind(nat));
        let hs = sim.add_host(HostConfig::new(ip("198.51.100.1")));
        let a = sim.add_endpoint(ha, Peer::new(sa("192.168.0.2:1")));
        let b = sim.add_endpoint(hb, Peer::new(sa("192.168.0.3:1")));
        let s = sim.add_endpoint(hs, Peer::new(sa(S1)));
        sim.bind(s, sa(S1));
        // Both learn their public address from the server.
        sim.endpoint_mut(a).send(sa(S1), b"a");
        sim.endpoint_mut(b).send(sa(S1), b"b");
        sim.run_for(ms(1));
        let seen: Vec<SocketAddr> = sim.take_events(s).iter().map(|(_, g)| g.source).collect();
        sim.endpoint_mut(a).send(seen[1], b"hairpin");
        sim.run_for(ms(1));
        let got = sim.take_events(b);
        if hairpinning {
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].1.source, seen[0], "shows a's public address");
        } else {
            assert!(got.is_empty());
            assert_eq!(sim.stats().unroutable, 1);
        }
    }
}

#[test]
fn nats_nest_behind_a_carrier_grade_nat() {
    let mut sim = Sim::new(23, t0());
    let cgnat = sim.add_nat(NatConfig::new(NatKind::PortRestricted, ip("203.0.113.1")));
    let home = sim.add_nat(NatConfig {
        behind: Some(cgnat),
        ..NatConfig::new(NatKind::FullCone, ip("100.64.0.7"))
    });
    let hc = sim.add_host(HostConfig::new(ip("192.168.0.2")).behind(home));
    let hs = sim.add_host(HostConfig::new(ip("198.51.100.1")));
    let c = sim.add_endpoint(hc, Peer::new(sa("192.168.0.2:5000")));
    let s = sim.add_endpoint(hs, Peer::new(sa(S1)).echo());
    sim.bind(s, sa(S1));
    sim.endpoint_mut(c).send(sa(S1), b"up");
    sim.run_for(ms(1));
    let seen = sim.take_events(s)[0].1.source;
    assert_eq!(
        seen.ip(),
        ip("203.0.113.1"),
        "only the outermost address shows"
    );
    let back = sim.take_events(c);
    assert_eq!(back.len(), 1, "the echo finds its way through both NATs");
    assert_eq!(back[0].1.source, sa(S1));
}

#[test]
fn ipv6_bypasses_an_ipv4_nat() {
    let mut sim = Sim::new(14, t0());
    let nat = sim.add_nat(NatConfig::new(NatKind::Symmetric, ip("203.0.113.1")));
    let hc = sim.add_host(
        HostConfig::new(ip("192.168.0.2"))
            .ip(ip("2001:db8::2"))
            .behind(nat),
    );
    let hs = sim.add_host(HostConfig::new(ip("198.51.100.1")).ip(ip("2001:db8::1")));
    let c6 = sa("[2001:db8::2]:5000");
    let c = sim.add_endpoint(hc, Peer::new(c6));
    let s = sim.add_endpoint(hs, Peer::new(sa("[2001:db8::1]:1")).burst(c6, 1, ms(0), 4));
    sim.bind(c, c6);
    sim.run_for(ms(1));
    assert_eq!(sim.take_events(c)[0].1.source, sa("[2001:db8::1]:1"));
    // Mixed families go nowhere.
    sim.endpoint_mut(s).send(sa("192.168.0.2:5000"), b"x");
    sim.run_for(ms(1));
    assert_eq!(sim.stats().unroutable, 1);
}

#[test]
fn bad_sources_and_unknown_destinations_are_counted() {
    let mut sim = Sim::new(15, t0());
    let ha = sim.add_host(HostConfig::new(ip("10.0.0.1")));
    sim.add_host(HostConfig::new(ip("10.0.0.2")));
    let a = sim.add_endpoint(ha, Peer::new(sa("10.0.0.9:1")));
    sim.endpoint_mut(a).send(sa("10.0.0.2:1"), b"spoofed");
    sim.endpoint_mut(a).local = sa("10.0.0.1:1");
    sim.run_for(ms(1));
    sim.endpoint_mut(a).send(sa("10.0.0.2:1"), b"nobody bound");
    sim.endpoint_mut(a).send(sa("10.0.0.3:1"), b"no such host");
    sim.run_for(ms(1));
    let stats = sim.stats();
    assert_eq!(stats.sent, 3);
    assert_eq!(stats.invalid_source, 1);
    assert_eq!(stats.unroutable, 2);
    assert_eq!(stats.delivered, 0);
}

#[test]
fn sending_binds_the_source_so_replies_come_back() {
    let mut sim = Sim::new(16, t0());
    let ha = sim.add_host(HostConfig::new(ip("10.0.0.1")));
    let hb = sim.add_host(HostConfig::new(ip("10.0.0.2")));
    let b_addr = sa("10.0.0.2:9");
    let a = sim.add_endpoint(ha, Peer::new(sa("10.0.0.1:1")).burst(b_addr, 1, ms(0), 4));
    let b = sim.add_endpoint(hb, Peer::new(b_addr).echo());
    sim.bind(b, b_addr);
    sim.run_for(ms(1));
    let got = sim.take_events(a);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1.source, b_addr);
}

#[test]
fn an_idle_endpoint_is_woken_only_after_the_idle_timeout() {
    let start = t0();
    let mut sim = Sim::new(17, start);
    let h = sim.add_host(HostConfig::new(ip("10.0.0.1")));
    let a = sim.add_endpoint(h, Peer::new(sa("10.0.0.1:1")));
    sim.run_for(ms(500));
    assert_eq!(sim.endpoint(a).now, start, "nothing to wake it for");
    assert!(sim.step());
    assert_eq!(sim.now(), start + IDLE_TIMEOUT);
    assert_eq!(sim.endpoint(a).now, start + IDLE_TIMEOUT);
}

#[test]
fn run_until_stops_at_the_predicate_or_the_deadline() {
    let mut p = pair(18, LinkConfig::new().latency(ms(30)), 1, ms(0), 4);
    let b = p.b;
    assert!(
        p.sim
            .run_until(Duration::from_secs(1), |s| !s.events().is_empty())
    );
    assert_eq!(p.sim.elapsed(), ms(30));
    assert_eq!(p.sim.take_events(b).len(), 1);
    assert!(!p.sim.run_until(ms(500), |s| !s.events().is_empty()));
    assert_eq!(p.sim.elapsed(), ms(530));
}

/// Always wants to be woken "now".
struct Spinner {
    now: Instant,
}

impl Endpoint for Spinner {
    type Event = ();

    fn handle_input(&mut self, input: Input) {
        self.now = input.now();
    }

    fn poll_output(&mut self) -> Output<()> {
        Output::Timeout(self.now)
    }
}

#[test]
fn an_endpoint_stuck_at_one_instant_cannot_stop_time() {
    let start = t0();
    let mut sim = Sim::new(19, start);
    let h = sim.add_host(HostConfig::new(ip("10.0.0.1")));
    let e = sim.add_endpoint(h, Spinner { now: start });
    sim.run_for(ms(5));
    assert_eq!(sim.elapsed(), ms(5));
    assert!(sim.endpoint(e).now >= start + ms(4));
}

/// Two echoing peers playing ping-pong across a messy path, A behind a NAT.
fn messy_run(seed: u64) -> (Vec<TransmitRecord>, SimStats) {
    let start = t0();
    let mut sim = Sim::new(seed, start);
    let nat = sim.add_nat(NatConfig::new(NatKind::PortRestricted, ip("203.0.113.1")));
    let messy = LinkConfig::new()
        .latency(ms(20))
        .jitter(ms(8))
        .loss(0.05)
        .gilbert_elliott(GilbertElliott::new(0.01, 0.3))
        .duplicate(0.02)
        .reorder(0.02, ms(15))
        .bandwidth(2_000_000, 20_000);
    let ha = sim.add_host(
        HostConfig::new(ip("192.168.0.2"))
            .behind(nat)
            .link(messy.clone()),
    );
    let hb = sim.add_host(HostConfig::new(ip("198.51.100.1")).link(messy));
    let b_addr = sa(S1);
    sim.add_endpoint(
        ha,
        Peer::new(sa("192.168.0.2:1")).burst(b_addr, 300, ms(5), 200),
    );
    let b = sim.add_endpoint(hb, Peer::new(b_addr).echo());
    sim.bind(b, b_addr);
    sim.run_for(Duration::from_secs(5));
    assert_eq!(sim.in_flight(), 0);
    (sim.take_transmit_log(), sim.stats())
}

#[test]
fn same_seed_same_log_different_seed_different_log() {
    let (log_a, stats_a) = messy_run(20);
    let (log_b, stats_b) = messy_run(20);
    let (log_c, _) = messy_run(21);
    assert!(log_a.len() > 400, "echoes are logged too: {}", log_a.len());
    assert_eq!(log_a, log_b);
    assert_eq!(stats_a, stats_b);
    assert_ne!(log_a, log_c);
}

#[test]
fn every_datagram_is_accounted_for() {
    let (_, s) = messy_run(22);
    assert!(s.lost > 0 && s.duplicated > 0);
    let gone =
        s.delivered + s.lost + s.nat_filtered + s.unroutable + s.queue_drops + s.invalid_source;
    assert_eq!(s.sent + s.duplicated, gone);
}
