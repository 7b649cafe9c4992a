//! ICE through the simulator: every NAT pairing, loss and jitter, role conflicts,
//! restarts and determinism, all in virtual time.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use sansrtc::ice::{Candidate, CandidateKind, IceAgent, IceConfig, IceConnectionState, IceEvent};
use sansrtc::io::Protocol;
use sansrtc::sim::{EndpointId, HostConfig, LinkConfig, NatConfig, NatKind, Sim, TransmitRecord};
use sansrtc::stun::StunServer;
use sansrtc_tests::{Node, exchange_credentials, path};

const STUN_SERVER: &str = "198.51.100.1:3478";

struct Scenario {
    sim: Sim<Node>,
    a: EndpointId,
    b: EndpointId,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Net {
    Public,
    Nat(NatKind),
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Two agents, each on the public network or behind its own NAT, a STUN server in the
/// middle, every host on `link`. Candidates trickle through [`Scenario::run_until`].
fn scenario(seed: u64, net_a: Net, net_b: Net, link: LinkConfig, controlling_b: bool) -> Scenario {
    let mut sim = Sim::new(seed, Instant::now());
    let server: SocketAddr = STUN_SERVER.parse().unwrap();
    let sh = sim.add_host(HostConfig::new(server.ip()).link(link.clone()));
    let se = sim.add_endpoint(sh, Node::Stun(StunServer::new(sim.now())));
    sim.bind(se, server);

    let place = |sim: &mut Sim<Node>, net: Net, public: &str, private: &str, nat_ip: &str| match net
    {
        Net::Public => sim.add_host(HostConfig::new(ip(public)).link(link.clone())),
        Net::Nat(kind) => {
            let nat = sim.add_nat(NatConfig::new(kind, ip(nat_ip)));
            sim.add_host(HostConfig::new(ip(private)).behind(nat).link(link.clone()))
        }
    };
    let ha = place(
        &mut sim,
        net_a,
        "198.51.100.10",
        "192.168.1.10",
        "203.0.113.1",
    );
    let hb = place(
        &mut sim,
        net_b,
        "198.51.100.20",
        "192.168.2.20",
        "203.0.113.2",
    );
    let host_ip = |net: Net, public: &str, private: &str| match net {
        Net::Public => ip(public),
        Net::Nat(_) => ip(private),
    };
    let addr_a = SocketAddr::new(host_ip(net_a, "198.51.100.10", "192.168.1.10"), 5000);
    let addr_b = SocketAddr::new(host_ip(net_b, "198.51.100.20", "192.168.2.20"), 6000);

    let start = sim.now();
    let agent = |seed: u64, controlling: bool, addr: SocketAddr| {
        let mut a = IceAgent::new(
            IceConfig {
                seed,
                controlling,
                stun_servers: vec![server],
                ..Default::default()
            },
            start,
        );
        a.add_local_candidate(Candidate::host(addr, Protocol::Udp))
            .unwrap();
        a.end_of_local_candidates();
        a
    };
    let mut agent_a = agent(seed.wrapping_mul(31).wrapping_add(1), true, addr_a);
    let mut agent_b = agent(seed.wrapping_mul(31).wrapping_add(2), controlling_b, addr_b);
    exchange_credentials(&mut agent_a, &mut agent_b);
    let a = sim.add_endpoint(ha, Node::Agent(Box::new(agent_a)));
    let b = sim.add_endpoint(hb, Node::Agent(Box::new(agent_b)));
    sim.bind(a, addr_a);
    sim.bind(b, addr_b);
    Scenario { sim, a, b }
}

impl Scenario {
    fn state(&self, id: EndpointId) -> IceConnectionState {
        self.sim.endpoint(id).agent().connection_state()
    }

    fn connected(&self, id: EndpointId) -> bool {
        matches!(
            self.state(id),
            IceConnectionState::Connected | IceConnectionState::Completed
        )
    }

    /// Trickle candidates between the agents (zero-delay signaling) until `done` holds.
    fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Scenario) -> bool) -> bool {
        let (a, b) = (self.a, self.b);
        let deadline = self.sim.elapsed() + limit;
        loop {
            for (from, to) in [(a, b), (b, a)] {
                for (_, e) in self.sim.take_events(from) {
                    let peer = self.sim.endpoint_mut(to).agent_mut();
                    match e {
                        IceEvent::LocalCandidate(c) => peer.add_remote_candidate(c).unwrap(),
                        IceEvent::EndOfLocalCandidates => peer.end_of_remote_candidates(),
                        _ => {}
                    }
                }
            }
            if done(self) {
                return true;
            }
            if self.sim.elapsed() >= deadline || !self.sim.step() {
                return done(self);
            }
        }
    }

    fn settle(&mut self, limit: Duration) -> bool {
        let (a, b) = (self.a, self.b);
        self.run_until(limit, |s| {
            let final_state = |st| {
                matches!(
                    st,
                    IceConnectionState::Connected
                        | IceConnectionState::Completed
                        | IceConnectionState::Failed
                )
            };
            final_state(s.state(a)) && final_state(s.state(b))
        })
    }
}

fn needs_relay(x: Net, y: Net) -> bool {
    use NatKind::*;
    matches!(
        (x, y),
        (Net::Nat(Symmetric), Net::Nat(Symmetric))
            | (Net::Nat(Symmetric), Net::Nat(PortRestricted))
            | (Net::Nat(PortRestricted), Net::Nat(Symmetric))
    )
}

const NETS: [Net; 5] = [
    Net::Public,
    Net::Nat(NatKind::FullCone),
    Net::Nat(NatKind::AddressRestricted),
    Net::Nat(NatKind::PortRestricted),
    Net::Nat(NatKind::Symmetric),
];

/// Every pairing of public host and the four NAT kinds, both ways round: those RFC 4787
/// behaviour allows connect; symmetric ↔ symmetric and symmetric ↔ port-restricted need a
/// relay and fail within bounded virtual time.
#[test]
fn every_nat_pairing_connects_or_fails_as_expected() {
    let link = LinkConfig::new().latency(Duration::from_millis(20));
    let mut report = Vec::new();
    for (i, &x) in NETS.iter().enumerate() {
        for (j, &y) in NETS.iter().enumerate() {
            let mut s = scenario(100 + (i * 5 + j) as u64, x, y, link.clone(), false);
            assert!(
                s.settle(Duration::from_secs(90)),
                "{x:?} ↔ {y:?} never settled"
            );
            let took = s.sim.elapsed();
            let (sa, sb) = (s.state(s.a), s.state(s.b));
            if needs_relay(x, y) {
                assert_eq!(
                    (sa, sb),
                    (IceConnectionState::Failed, IceConnectionState::Failed),
                    "{x:?} ↔ {y:?}"
                );
                assert!(
                    took < Duration::from_secs(60),
                    "{x:?} ↔ {y:?} took {took:?}"
                );
            } else {
                assert!(
                    s.connected(s.a) && s.connected(s.b),
                    "{x:?} ↔ {y:?}: {sa:?} {sb:?}"
                );
                let pa = path(s.sim.endpoint(s.a).agent()).unwrap();
                let pb = path(s.sim.endpoint(s.b).agent()).unwrap();
                // Each side sends from its own base; the far end is whatever the NATs made of it.
                assert_eq!(pa.0.port(), 5000);
                assert_eq!(pb.0.port(), 6000);
                assert!(took < Duration::from_secs(2), "{x:?} ↔ {y:?} took {took:?}");
            }
            report.push(format!("{x:?} ↔ {y:?}: {sa:?} in {took:?}"));
        }
    }
    println!("{}", report.join("\n"));
}

/// Behind NATs, agents learn server-reflexive candidates from the STUN server and
/// signal them; a public agent has none to learn.
#[test]
fn server_reflexive_candidates_are_gathered_behind_nats() {
    let mut s = scenario(
        7,
        Net::Nat(NatKind::PortRestricted),
        Net::Public,
        LinkConfig::new().latency(Duration::from_millis(5)),
        false,
    );
    assert!(s.settle(Duration::from_secs(10)));
    let kinds = |id| {
        s.sim
            .endpoint(id)
            .agent()
            .local_candidates()
            .map(|c| (c.kind(), c.address().ip()))
            .collect::<Vec<_>>()
    };
    assert!(
        kinds(s.a).contains(&(CandidateKind::ServerReflexive, ip("203.0.113.1"))),
        "{:?}",
        kinds(s.a)
    );
    assert!(
        kinds(s.b).iter().all(|(k, _)| *k == CandidateKind::Host),
        "{:?}",
        kinds(s.b)
    );
}

/// 10 % loss and 50 ms jitter on every link: agents still connect, seed after seed.
#[test]
fn connects_under_ten_percent_loss_and_fifty_ms_jitter() {
    let link = LinkConfig::new()
        .latency(Duration::from_millis(60))
        .jitter(Duration::from_millis(50))
        .loss(0.10);
    let mut times = Vec::new();
    for seed in 0..40 {
        let mut s = scenario(
            1000 + seed,
            Net::Nat(NatKind::PortRestricted),
            Net::Nat(NatKind::AddressRestricted),
            link.clone(),
            false,
        );
        let (a, b) = (s.a, s.b);
        assert!(
            s.run_until(Duration::from_secs(30), |s| s.connected(a)
                && s.connected(b)),
            "seed {seed}: {:?} {:?}",
            s.state(a),
            s.state(b)
        );
        times.push(s.sim.elapsed());
        assert!(s.sim.stats().lost > 0 || seed > 0);
    }
    times.sort();
    println!(
        "connect under 10% loss/50ms jitter: median {:?}, max {:?}",
        times[times.len() / 2],
        times[times.len() - 1]
    );
}

/// Both agents think they control: the tie-breakers settle it (RFC 8445 §7.3.1.1).
#[test]
fn role_conflict_in_the_simulator() {
    for seed in 0..10 {
        let mut s = scenario(
            2000 + seed,
            Net::Public,
            Net::Nat(NatKind::FullCone),
            LinkConfig::new().latency(Duration::from_millis(15)),
            true,
        );
        let (a, b) = (s.a, s.b);
        assert!(s.run_until(Duration::from_secs(10), |s| s.connected(a)
            && s.connected(b)));
        let (ca, cb) = (
            s.sim.endpoint(a).agent().controlling(),
            s.sim.endpoint(b).agent().controlling(),
        );
        assert_ne!(ca, cb, "seed {seed}");
    }
}

/// An ICE restart mid-call reconnects with fresh credentials behind NATs.
#[test]
fn ice_restart_in_the_simulator() {
    let mut s = scenario(
        3000,
        Net::Nat(NatKind::PortRestricted),
        Net::Nat(NatKind::FullCone),
        LinkConfig::new().latency(Duration::from_millis(25)),
        false,
    );
    let (a, b) = (s.a, s.b);
    assert!(s.run_until(Duration::from_secs(10), |s| s.connected(a)
        && s.connected(b)));
    let before = path(s.sim.endpoint(a).agent());
    s.sim.run_for(Duration::from_secs(3));
    // JSEP: the offerer restarts, the answerer sees a new ufrag and restarts too, and the
    // new credentials cross; candidates trickle again as events.
    s.sim.endpoint_mut(a).agent_mut().restart();
    s.sim.endpoint_mut(b).agent_mut().restart();
    let creds_a = s.sim.endpoint(a).agent().local_credentials().clone();
    let creds_b = s.sim.endpoint(b).agent().local_credentials().clone();
    s.sim
        .endpoint_mut(b)
        .agent_mut()
        .set_remote_credentials(creds_a);
    s.sim
        .endpoint_mut(a)
        .agent_mut()
        .set_remote_credentials(creds_b);
    let restarted_at = s.sim.elapsed();
    assert!(s.run_until(Duration::from_secs(10), |s| {
        s.connected(a) && s.connected(b) && s.sim.elapsed() > restarted_at
    }));
    assert_eq!(path(s.sim.endpoint(a).agent()), before);
    // Consent keeps it alive for a while afterwards.
    s.sim.run_for(Duration::from_secs(60));
    assert!(s.connected(a) && s.connected(b));
}

fn log_of(seed: u64) -> Vec<TransmitRecord> {
    let link = LinkConfig::new()
        .latency(Duration::from_millis(30))
        .jitter(Duration::from_millis(10))
        .loss(0.05);
    let mut s = scenario(
        seed,
        Net::Nat(NatKind::PortRestricted),
        Net::Nat(NatKind::FullCone),
        link,
        false,
    );
    let (a, b) = (s.a, s.b);
    s.run_until(Duration::from_secs(20), |s| {
        s.connected(a) && s.connected(b)
    });
    s.sim.run_for(Duration::from_secs(15));
    s.sim.take_transmit_log()
}

/// Same seed ⇒ byte-identical transmit log (times, addresses, contents); another seed
/// differs.
#[test]
fn same_seed_gives_identical_transmit_log() {
    let one = log_of(42);
    let two = log_of(42);
    assert!(one.len() > 20);
    assert_eq!(one, two);
    assert_ne!(one, log_of(43));
}

/// Dual-stack hosts: pairs form per address family and the IPv6 pair wins (RFC 8421).
#[test]
fn dual_stack_agents_prefer_ipv6() {
    let mut sim: Sim<Node> = Sim::new(9, Instant::now());
    let link = LinkConfig::new().latency(Duration::from_millis(10));
    let mut ids = Vec::new();
    for (i, (v4, v6)) in [
        ("198.51.100.10", "2001:db8::10"),
        ("198.51.100.20", "2001:db8::20"),
    ]
    .into_iter()
    .enumerate()
    {
        let host = sim.add_host(HostConfig::new(ip(v4)).ip(ip(v6)).link(link.clone()));
        let mut agent = IceAgent::new(
            IceConfig {
                seed: 90 + i as u64,
                controlling: i == 0,
                ..Default::default()
            },
            sim.now(),
        );
        let addrs = [SocketAddr::new(ip(v4), 7000), SocketAddr::new(ip(v6), 7000)];
        for addr in addrs {
            agent
                .add_local_candidate(Candidate::host(addr, Protocol::Udp))
                .unwrap();
        }
        agent.end_of_local_candidates();
        let id = sim.add_endpoint(host, Node::Agent(Box::new(agent)));
        for addr in addrs {
            sim.bind(id, addr);
        }
        ids.push(id);
    }
    let (a, b) = (ids[0], ids[1]);
    let now = sim.now();
    let mut agents: Vec<IceAgent> = Vec::new();
    for id in [a, b] {
        agents.push(std::mem::replace(
            sim.endpoint_mut(id).agent_mut(),
            IceAgent::new(IceConfig::default(), now),
        ));
    }
    let (mut x, mut y) = (agents.remove(0), agents.remove(0));
    sansrtc_tests::exchange_all(&mut x, &mut y);
    *sim.endpoint_mut(a).agent_mut() = x;
    *sim.endpoint_mut(b).agent_mut() = y;
    assert!(sim.run_until(Duration::from_secs(5), |s| {
        [a, b]
            .iter()
            .all(|id| s.endpoint(*id).agent().connection_state() == IceConnectionState::Completed)
    }));
    let (local, remote) = path(sim.endpoint(a).agent()).unwrap();
    assert!(local.is_ipv6() && remote.is_ipv6(), "{local} -> {remote}");
}
