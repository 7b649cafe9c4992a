//! A deterministic network simulator in virtual time.
//!
//! [`Sim`] drives any number of [`Endpoint`]s on simulated hosts, joined by links with
//! latency, jitter, loss, burst loss, duplication, reordering and limited bandwidth
//! ([`LinkConfig`]), optionally behind NATs of the four classic kinds ([`NatKind`]). Time
//! is virtual: the clock jumps straight to the next packet or timer, so a minute of
//! call takes milliseconds. Every random choice comes from the seed given to
//! [`Sim::new`], so the same seed and the same endpoint behaviour replay the same run,
//! down to the bytes in the [transmit log](Sim::transmit_log).
//!
//! # Example
//!
//! A tiny ping endpoint, a server on the public network and a client behind a NAT:
//!
//! ```
//! use std::collections::VecDeque;
//! use std::net::SocketAddr;
//! use std::time::{Duration, Instant};
//!
//! use sansrtc::io::{Endpoint, IDLE_TIMEOUT, Input, Output, Protocol, Transmit};
//! use sansrtc::sim::{HostConfig, LinkConfig, NatConfig, NatKind, Sim};
//!
//! /// Sends "ping" to `peer` as soon as it starts; answers "ping" with "pong".
//! /// Reports every datagram it receives as an event.
//! struct Pinger {
//!     local: SocketAddr,
//!     now: Instant,
//!     out: VecDeque<Output<String>>,
//! }
//!
//! impl Pinger {
//!     fn new(local: SocketAddr, peer: Option<SocketAddr>, now: Instant) -> Self {
//!         let mut p = Pinger { local, now, out: VecDeque::new() };
//!         if let Some(peer) = peer {
//!             p.send(peer, "ping");
//!         }
//!         p
//!     }
//!
//!     fn send(&mut self, to: SocketAddr, text: &'static str) {
//!         let t = Transmit::single(Protocol::Udp, self.local, to, text.into());
//!         self.out.push_back(Output::Transmit(t));
//!     }
//! }
//!
//! impl Endpoint for Pinger {
//!     type Event = String;
//!
//!     fn handle_input(&mut self, input: Input) {
//!         self.now = self.now.max(input.now());
//!         match input {
//!             Input::Receive(r) => {
//!                 if &r.contents[..] == b"ping" {
//!                     self.send(r.source, "pong");
//!                 }
//!                 let text = String::from_utf8_lossy(&r.contents);
//!                 self.out.push_back(Output::Event(format!("{text} from {}", r.source)));
//!             }
//!             Input::Timeout(_) => {} // no timers of its own
//!         }
//!     }
//!
//!     fn poll_output(&mut self) -> Output<String> {
//!         self.out.pop_front().unwrap_or(Output::Timeout(self.now + IDLE_TIMEOUT))
//!     }
//! }
//!
//! let start = Instant::now(); // any instant will do: the simulator never reads the clock
//! let mut sim = Sim::new(42, start);
//!
//! let nat_ip = "203.0.113.1".parse().unwrap();
//! let nat = sim.add_nat(NatConfig::new(NatKind::PortRestricted, nat_ip));
//! let server_host = sim.add_host(
//!     HostConfig::new("198.51.100.7".parse().unwrap())
//!         .link(LinkConfig::new().latency(Duration::from_millis(20))),
//! );
//! let client_host = sim.add_host(
//!     HostConfig::new("192.168.1.10".parse().unwrap())
//!         .behind(nat)
//!         .link(LinkConfig::new().latency(Duration::from_millis(30))),
//! );
//!
//! let server_addr: SocketAddr = "198.51.100.7:3478".parse().unwrap();
//! let server = sim.add_endpoint(server_host, Pinger::new(server_addr, None, start));
//! // The server must receive before it ever sends, so it claims its address up front.
//! sim.bind(server, server_addr);
//! let client_addr = "192.168.1.10:5000".parse().unwrap();
//! let client = sim.add_endpoint(client_host, Pinger::new(client_addr, Some(server_addr), start));
//!
//! let ponged = sim.run_until(Duration::from_secs(1), |sim| {
//!     sim.events().iter().any(|(_, id, e)| *id == client && e.starts_with("pong"))
//! });
//! assert!(ponged);
//! // 30 ms out on the client's link, 20 ms back on the server's.
//! assert_eq!(sim.elapsed(), Duration::from_millis(50));
//!
//! // The server saw the NAT's public address, not the client's private one.
//! let (at, seen) = sim.take_events(server).remove(0);
//! assert_eq!(at, Duration::from_millis(30));
//! assert!(seen.starts_with("ping from 203.0.113.1:"), "{seen}");
//! assert_eq!(sim.stats().delivered, 2);
//! ```
//!
//! # Model
//!
//! - **Hosts** have one or more IP addresses (IPv4 and/or IPv6) and sit on the public
//!   network or behind a NAT. Each has an egress [link](HostConfig::link) applied to
//!   everything it sends and an [ingress](HostConfig::ingress) link applied to everything
//!   it receives; both default to perfect.
//! - **Endpoints** run on hosts. An endpoint owns a socket address once it sends from it
//!   or [binds](Sim::bind) it; datagrams go to the owner of their destination address.
//! - **Routing** of one datagram: sender's egress link → NAT translation on the way out
//!   (skipped between hosts behind the same NAT, which talk on their private addresses)
//!   → NAT translation and filtering on the way in → receiver's ingress link → endpoint.
//!   NATs act when the packet reaches them, i.e. after the egress link.
//! - **Stepping**: each [`step`](Sim::step) polls every endpoint (in id order), jumps the
//!   clock to the earliest packet or timer, delivers every packet due and fires every
//!   timer due, then polls again. Equal times keep the order they were scheduled in.
//! - Whatever cannot be delivered is dropped and counted in [`SimStats`].

mod link;
mod nat;
#[cfg(test)]
mod tests;

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::io::{Endpoint, Input, Output, Protocol, Receive, Transmit};
use crate::rng::Rng;

pub use link::{GilbertElliott, LinkConfig};
pub use nat::{NatConfig, NatKind};

use link::{Link, Passage};
use nat::Nat;

/// Rounds at one instant before the clock is forced on: endpoints that keep asking to be
/// woken "now", or ping-pong over zero-latency links, would otherwise never let time pass.
const MAX_ROUNDS_PER_INSTANT: u32 = 1000;

/// How far the clock is forced on after [`MAX_ROUNDS_PER_INSTANT`].
const STALL_ADVANCE: Duration = Duration::from_millis(1);

/// More NAT traversals than any sane topology needs; only a routing loop gets here.
const MAX_HOPS: usize = 32;

/// Identifies a host in a [`Sim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostId(usize);

/// Identifies an endpoint in a [`Sim`]. Endpoints are polled in id order, which is the
/// order they were added in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EndpointId(usize);

/// Identifies a NAT in a [`Sim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NatId(usize);

macro_rules! id_index {
    ($($t:ty),*) => {$(
        impl $t {
            /// Position in the order of creation, starting at 0.
            pub fn index(self) -> usize {
                self.0
            }
        }
    )*};
}
id_index!(HostId, EndpointId, NatId);

/// A simulated machine.
///
/// ```
/// use std::time::Duration;
/// use sansrtc::sim::{HostConfig, LinkConfig};
/// let laptop = HostConfig::new("192.168.1.20".parse().unwrap())
///     .ip("2001:db8::20".parse().unwrap())
///     .link(LinkConfig::new().latency(Duration::from_millis(15)));
/// assert_eq!(laptop.ips.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct HostConfig {
    /// The host's addresses; endpoints on it may send only from these.
    pub ips: Vec<IpAddr>,
    /// The NAT the host sits behind, or `None` for the public network. Addresses of the
    /// other family than the NAT's public address are reachable directly (see
    /// [`NatConfig::public_ip`]).
    pub behind: Option<NatId>,
    /// The host's egress link: applied to every datagram it sends.
    pub link: LinkConfig,
    /// The host's ingress link: applied to every datagram it receives. Perfect by
    /// default, so that a path's behaviour is usually set by the sender's
    /// [`link`](Self::link) alone; set it to model a downlink (say, limited bandwidth).
    pub ingress: LinkConfig,
}

impl HostConfig {
    /// A host with one address on the public network and perfect links.
    pub fn new(ip: IpAddr) -> Self {
        HostConfig {
            ips: vec![ip],
            behind: None,
            link: LinkConfig::default(),
            ingress: LinkConfig::default(),
        }
    }

    /// Add another address.
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.ips.push(ip);
        self
    }

    /// Put the host behind `nat`.
    pub fn behind(mut self, nat: NatId) -> Self {
        self.behind = Some(nat);
        self
    }

    /// Set the egress link.
    pub fn link(mut self, link: LinkConfig) -> Self {
        self.link = link;
        self
    }

    /// Set the ingress link.
    pub fn ingress(mut self, link: LinkConfig) -> Self {
        self.ingress = link;
        self
    }
}

/// One datagram as an endpoint sent it (before links and NATs), for the transmit log.
///
/// A transmit with a `segment_size` is logged as one record per datagram.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TransmitRecord {
    /// When it was sent, since the simulation's start.
    pub at: Duration,
    /// Who sent it.
    pub from: EndpointId,
    /// Transport.
    pub protocol: Protocol,
    /// Address it was sent from.
    pub source: SocketAddr,
    /// Address it was sent to.
    pub destination: SocketAddr,
    /// Payload.
    pub contents: Bytes,
}

/// Datagram counters for a whole simulation.
///
/// Once nothing is in flight, `sent + duplicated` equals the sum of every other counter.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SimStats {
    /// Datagrams endpoints sent (after splitting segmented transmits).
    pub sent: u64,
    /// Datagrams handed to endpoints, duplicates included.
    pub delivered: u64,
    /// Lost on a link to random or burst loss.
    pub lost: u64,
    /// Extra copies made by link duplication.
    pub duplicated: u64,
    /// Dropped by a NAT: no live mapping for the port, or the filter refused the sender.
    pub nat_filtered: u64,
    /// No host, NAT or endpoint owned the destination, the address families differ, a
    /// NAT refused to hairpin or ran out of ports.
    pub unroutable: u64,
    /// Tail-dropped by a full link queue.
    pub queue_drops: u64,
    /// Sent from an address that is not one of the sending host's.
    pub invalid_source: u64,
}

#[derive(Debug)]
struct Host {
    ips: Vec<IpAddr>,
    behind: Option<NatId>,
    egress: Link,
    ingress: Link,
}

struct Slot<T> {
    host: HostId,
    endpoint: T,
    timer: Option<Instant>,
}

/// Who answers for an IP address inside one network.
#[derive(Debug, Clone, Copy)]
enum Owner {
    Host(HostId),
    Nat(NatId),
}

#[derive(Debug, Clone)]
struct Packet {
    protocol: Protocol,
    source: SocketAddr,
    destination: SocketAddr,
    contents: Bytes,
}

#[derive(Debug)]
enum Stage {
    /// Left the sender's egress link; NATs and routing come next.
    Network { from: HostId, packet: Packet },
    /// Left the receiver's ingress link.
    Deliver { host: HostId, packet: Packet },
}

#[derive(Debug)]
struct Scheduled {
    at: Instant,
    seq: u64,
    stage: Stage,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Scheduled {}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// The simulator: hosts, NATs, endpoints of type `T`, and the packets between them.
///
/// See the [module documentation](self) for an example.
pub struct Sim<T: Endpoint> {
    start: Instant,
    now: Instant,
    rng: Rng,
    hosts: Vec<Host>,
    nats: Vec<Nat>,
    endpoints: Vec<Slot<T>>,
    /// Keyed by network (`None` is the public one, `Some(nat)` the inside of `nat`).
    owners: BTreeMap<(Option<NatId>, IpAddr), Owner>,
    bindings: BTreeMap<(HostId, SocketAddr), EndpointId>,
    queue: BinaryHeap<Reverse<Scheduled>>,
    seq: u64,
    events: Vec<(Duration, EndpointId, T::Event)>,
    log: Vec<TransmitRecord>,
    logging: bool,
    stats: SimStats,
    rounds_at_now: u32,
}

impl<T: Endpoint> std::fmt::Debug for Sim<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("elapsed", &self.elapsed())
            .field("hosts", &self.hosts.len())
            .field("nats", &self.nats.len())
            .field("endpoints", &self.endpoints.len())
            .field("in_flight", &self.in_flight())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl<T: Endpoint> Sim<T> {
    /// An empty simulation whose clock starts at `start`, with every random choice drawn
    /// from `seed`. The transmit log is on.
    pub fn new(seed: u64, start: Instant) -> Self {
        Sim {
            start,
            now: start,
            rng: Rng::from_seed(seed),
            hosts: Vec::new(),
            nats: Vec::new(),
            endpoints: Vec::new(),
            owners: BTreeMap::new(),
            bindings: BTreeMap::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            events: Vec::new(),
            log: Vec::new(),
            logging: true,
            stats: SimStats::default(),
            rounds_at_now: 0,
        }
    }

    /// The virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The instant the simulation started at.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Virtual time elapsed since the start.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Add a NAT.
    ///
    /// # Panics
    ///
    /// If `config.behind` is not a NAT of this simulation, or its public address is
    /// already used in the network it sits in.
    pub fn add_nat(&mut self, config: NatConfig) -> NatId {
        let id = NatId(self.nats.len());
        self.check_nat(config.behind);
        let realm = self.realm_for(config.behind, config.public_ip);
        self.claim(realm, config.public_ip, Owner::Nat(id));
        let rng = self.rng.fork();
        self.nats.push(Nat::new(config, rng));
        id
    }

    /// Add a host.
    ///
    /// # Panics
    ///
    /// If `config.behind` is not a NAT of this simulation, or one of its addresses is
    /// already used in the network it sits in.
    pub fn add_host(&mut self, config: HostConfig) -> HostId {
        let id = HostId(self.hosts.len());
        self.check_nat(config.behind);
        for &ip in &config.ips {
            let realm = self.realm_for(config.behind, ip);
            self.claim(realm, ip, Owner::Host(id));
        }
        let egress = Link::new(config.link, self.rng.fork());
        let ingress = Link::new(config.ingress, self.rng.fork());
        self.hosts.push(Host {
            ips: config.ips,
            behind: config.behind,
            egress,
            ingress,
        });
        id
    }

    /// Run `endpoint` on `host`, built with [`Sim::now`] as its start time. It is first
    /// polled at the next step.
    ///
    /// # Panics
    ///
    /// If `host` is not a host of this simulation.
    pub fn add_endpoint(&mut self, host: HostId, endpoint: T) -> EndpointId {
        assert!(host.0 < self.hosts.len(), "no such host: {host:?}");
        let id = EndpointId(self.endpoints.len());
        self.endpoints.push(Slot {
            host,
            endpoint,
            timer: None,
        });
        id
    }

    /// Make `endpoint` the receiver of datagrams to `addr`, so it can receive before it
    /// has sent from that address. This takes the address over from any endpoint that
    /// had it; sending from an address someone else owns does not.
    ///
    /// # Panics
    ///
    /// If `addr`'s IP is not one of the endpoint's host's addresses.
    pub fn bind(&mut self, endpoint: EndpointId, addr: SocketAddr) {
        let host = self.endpoints[endpoint.0].host;
        assert!(
            self.hosts[host.0].ips.contains(&addr.ip()),
            "{addr} is not an address of {host:?}"
        );
        self.bindings.insert((host, addr), endpoint);
    }

    /// The endpoint.
    pub fn endpoint(&self, id: EndpointId) -> &T {
        &self.endpoints[id.0].endpoint
    }

    /// The endpoint, to change or feed it. The next step polls it again, so whatever it
    /// queued meanwhile is picked up.
    pub fn endpoint_mut(&mut self, id: EndpointId) -> &mut T {
        &mut self.endpoints[id.0].endpoint
    }

    /// The host an endpoint runs on.
    pub fn host_of(&self, id: EndpointId) -> HostId {
        self.endpoints[id.0].host
    }

    /// Events reported so far and not yet taken: (time since start, reporter, event).
    pub fn events(&self) -> &[(Duration, EndpointId, T::Event)] {
        &self.events
    }

    /// Take the events one endpoint reported, oldest first.
    pub fn take_events(&mut self, id: EndpointId) -> Vec<(Duration, T::Event)> {
        let (mine, others) = std::mem::take(&mut self.events)
            .into_iter()
            .partition::<Vec<_>, _>(|(_, from, _)| *from == id);
        self.events = others;
        mine.into_iter().map(|(at, _, e)| (at, e)).collect()
    }

    /// Take every endpoint's events, in the order they were reported.
    pub fn drain_events(&mut self) -> Vec<(Duration, EndpointId, T::Event)> {
        std::mem::take(&mut self.events)
    }

    /// Turn the transmit log on or off (it is on from the start).
    pub fn set_logging(&mut self, on: bool) {
        self.logging = on;
    }

    /// Every datagram sent while logging was on, in order.
    pub fn transmit_log(&self) -> &[TransmitRecord] {
        &self.log
    }

    /// Take the transmit log, leaving it empty.
    pub fn take_transmit_log(&mut self) -> Vec<TransmitRecord> {
        std::mem::take(&mut self.log)
    }

    /// Datagram counters.
    pub fn stats(&self) -> SimStats {
        self.stats
    }

    /// Datagrams (duplicates counted apiece) on links or between them, not yet delivered
    /// or dropped.
    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }

    /// Advance to the next instant something happens, and make it happen.
    ///
    /// Polls every endpoint, jumps the clock to the earliest packet arrival or endpoint
    /// timer, delivers every packet and fires every timer due by then, and polls every
    /// endpoint again. Returns `false`, without moving the clock, when no packet is in
    /// flight and no endpoint has a timer: nothing will happen until an endpoint is fed.
    ///
    /// Should endpoints keep the simulation busy at one instant for a thousand rounds
    /// (a timer always due "now", or an endless exchange over zero-latency links), the
    /// clock is forced 1 ms on so that time still passes.
    pub fn step(&mut self) -> bool {
        self.advance(None)
    }

    /// Step until `pred` holds or `timeout` of virtual time has passed; returns whether
    /// `pred` held. `pred` is checked before every step and once more at the deadline, and
    /// may change the simulation (feed an endpoint, say). On `false` the clock is at the
    /// deadline.
    pub fn run_until(
        &mut self,
        timeout: Duration,
        mut pred: impl FnMut(&mut Sim<T>) -> bool,
    ) -> bool {
        let deadline = self.now + timeout;
        loop {
            self.poll_all();
            if pred(self) {
                return true;
            }
            if !self.advance(Some(deadline)) {
                self.now = self.now.max(deadline);
                return pred(self);
            }
        }
    }

    /// Step through `duration` of virtual time; the clock ends exactly that much later.
    pub fn run_for(&mut self, duration: Duration) {
        self.run_until(duration, |_| false);
    }

    /// One step, unless its instant would lie beyond `limit`.
    fn advance(&mut self, limit: Option<Instant>) -> bool {
        self.poll_all();
        let Some(next) = self.next_due() else {
            return false;
        };
        let mut at = next.max(self.now);
        if at == self.now {
            self.rounds_at_now += 1;
            if self.rounds_at_now >= MAX_ROUNDS_PER_INSTANT {
                tracing::warn!(
                    elapsed = ?self.elapsed(),
                    "sim: busy at one instant for {MAX_ROUNDS_PER_INSTANT} rounds, \
                     forcing the clock on"
                );
                at = self.now + STALL_ADVANCE;
            }
        }
        if limit.is_some_and(|limit| at > limit) {
            return false;
        }
        if at > self.now {
            self.now = at;
            self.rounds_at_now = 0;
        }
        self.process_due();
        self.poll_all();
        true
    }

    fn next_due(&self) -> Option<Instant> {
        let packet = self.queue.peek().map(|Reverse(s)| s.at);
        let timer = self.endpoints.iter().filter_map(|s| s.timer).min();
        match (packet, timer) {
            (Some(p), Some(t)) => Some(p.min(t)),
            (p, t) => p.or(t),
        }
    }

    fn process_due(&mut self) {
        while self.queue.peek().is_some_and(|Reverse(s)| s.at <= self.now) {
            let Some(Reverse(scheduled)) = self.queue.pop() else {
                break;
            };
            match scheduled.stage {
                Stage::Network { from, packet } => self.route(from, packet),
                Stage::Deliver { host, packet } => self.deliver(host, packet),
            }
        }
        let now = self.now;
        for slot in &mut self.endpoints {
            if slot.timer.is_some_and(|t| t <= now) {
                slot.timer = None;
                slot.endpoint.handle_input(Input::Timeout(now));
            }
        }
    }

    fn poll_all(&mut self) {
        for i in 0..self.endpoints.len() {
            self.poll(EndpointId(i));
        }
    }

    fn poll(&mut self, id: EndpointId) {
        let now = self.now;
        loop {
            match self.endpoints[id.0].endpoint.poll_output() {
                Output::Transmit(t) => self.send(id, t),
                Output::Event(e) => self.events.push((now - self.start, id, e)),
                Output::Timeout(at) => {
                    self.endpoints[id.0].timer = Some(at);
                    break;
                }
            }
        }
    }

    fn send(&mut self, from: EndpointId, t: Transmit) {
        let host = self.endpoints[from.0].host;
        let datagrams: Vec<Bytes> = if t.contents.is_empty() {
            // `datagrams()` yields nothing for an empty payload, but an empty UDP
            // datagram is still a datagram.
            vec![Bytes::new()]
        } else {
            t.datagrams().collect()
        };
        for contents in datagrams {
            self.stats.sent += 1;
            if self.logging {
                self.log.push(TransmitRecord {
                    at: self.now - self.start,
                    from,
                    protocol: t.protocol,
                    source: t.source,
                    destination: t.destination,
                    contents: contents.clone(),
                });
            }
            if !self.hosts[host.0].ips.contains(&t.source.ip()) {
                self.stats.invalid_source += 1;
                continue;
            }
            self.bindings.entry((host, t.source)).or_insert(from);
            let passage = self.hosts[host.0].egress.pass(self.now, contents.len());
            let packet = Packet {
                protocol: t.protocol,
                source: t.source,
                destination: t.destination,
                contents,
            };
            self.schedule(
                passage,
                |packet| Stage::Network { from: host, packet },
                packet,
            );
        }
    }

    fn schedule(&mut self, passage: Passage, stage: impl Fn(Packet) -> Stage, packet: Packet) {
        self.stats.queue_drops += u64::from(passage.queue_drop);
        self.stats.lost += u64::from(passage.lost);
        self.stats.duplicated += passage.arrivals.len().saturating_sub(1) as u64;
        for at in passage.arrivals {
            self.seq += 1;
            self.queue.push(Reverse(Scheduled {
                at,
                seq: self.seq,
                stage: stage(packet.clone()),
            }));
        }
    }

    /// Carry a packet that left its sender's egress link through NATs to its receiving
    /// host's ingress link.
    fn route(&mut self, sender: HostId, mut packet: Packet) {
        let now = self.now;
        if packet.source.is_ipv4() != packet.destination.is_ipv4() {
            self.stats.unroutable += 1;
            return;
        }
        let mut realm = self.realm_for(self.hosts[sender.0].behind, packet.source.ip());
        for _ in 0..MAX_HOPS {
            match self.owners.get(&(realm, packet.destination.ip())).copied() {
                Some(Owner::Host(host)) => {
                    let passage = self.hosts[host.0].ingress.pass(now, packet.contents.len());
                    self.schedule(passage, |packet| Stage::Deliver { host, packet }, packet);
                    return;
                }
                Some(Owner::Nat(nat)) => {
                    let inside = self.nats[nat.0].inbound(
                        now,
                        packet.protocol,
                        packet.source,
                        packet.destination.port(),
                    );
                    let Some(inside) = inside else {
                        self.stats.nat_filtered += 1;
                        return;
                    };
                    packet.destination = inside;
                    realm = Some(nat);
                }
                None => {
                    let Some(nat) = realm else {
                        break;
                    };
                    let n = &mut self.nats[nat.0];
                    if packet.destination.ip() == n.config.public_ip && !n.config.hairpinning {
                        break;
                    }
                    let Some(outside) =
                        n.outbound(now, packet.protocol, packet.source, packet.destination)
                    else {
                        break;
                    };
                    let behind = n.config.behind;
                    packet.source = outside;
                    realm = self.realm_for(behind, outside.ip());
                }
            }
        }
        self.stats.unroutable += 1;
    }

    /// The network an address of `ip`'s family lives in for a machine behind `behind`:
    /// NATs of the other family are passed by.
    fn realm_for(&self, mut behind: Option<NatId>, ip: IpAddr) -> Option<NatId> {
        while let Some(nat) = behind {
            let config = &self.nats[nat.0].config;
            if config.public_ip.is_ipv4() == ip.is_ipv4() {
                return Some(nat);
            }
            behind = config.behind;
        }
        None
    }

    fn check_nat(&self, nat: Option<NatId>) {
        if let Some(nat) = nat {
            assert!(nat.0 < self.nats.len(), "no such NAT: {nat:?}");
        }
    }

    fn claim(&mut self, realm: Option<NatId>, ip: IpAddr, owner: Owner) {
        let previous = self.owners.insert((realm, ip), owner);
        assert!(
            previous.is_none(),
            "{ip} is already in use in network {realm:?} (by {previous:?})"
        );
    }

    fn deliver(&mut self, host: HostId, packet: Packet) {
        let Some(&id) = self.bindings.get(&(host, packet.destination)) else {
            self.stats.unroutable += 1;
            return;
        };
        self.stats.delivered += 1;
        self.endpoints[id.0]
            .endpoint
            .handle_input(Input::Receive(Receive {
                now: self.now,
                protocol: packet.protocol,
                source: packet.source,
                destination: packet.destination,
                contents: packet.contents,
            }));
    }
}
