//! Agent tests on a tiny in-memory network; NAT, loss and jitter scenarios run through
//! `sim` in the workspace's `tests/` crate.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::*;
use crate::crypto::RingProvider;
use crate::stun::{Attribute, attr};

/// One start time for every agent of a test, so the network's clock never runs behind
/// an agent's.
fn start() -> Instant {
    static START: std::sync::LazyLock<Instant> = std::sync::LazyLock::new(Instant::now);
    *START
}

/// Two or more agents joined by a fixed-latency network that can black-hole traffic.
struct Net {
    agents: Vec<IceAgent>,
    now: Instant,
    start: Instant,
    latency: Duration,
    queue: Vec<(Instant, usize, Receive)>,
    /// While false, every datagram is lost.
    up: bool,
    events: Vec<(usize, IceEvent)>,
}

impl Net {
    fn new(agents: Vec<IceAgent>) -> Self {
        let now = start();
        let mut n = Net {
            agents,
            now,
            start: now,
            latency: Duration::from_millis(10),
            queue: Vec::new(),
            up: true,
            events: Vec::new(),
        };
        for a in &mut n.agents {
            a.handle_input(Input::Timeout(now));
        }
        n
    }

    fn owner(&self, addr: SocketAddr) -> Option<usize> {
        self.agents
            .iter()
            .position(|a| a.local.iter().any(|c| c.base() == addr))
    }

    /// Drain outputs, then advance to the next event; false when nothing is due before
    /// `limit` (the clock then stands at `limit`).
    fn step(&mut self, limit: Instant) -> bool {
        let mut next: Option<Instant> = None;
        for i in 0..self.agents.len() {
            loop {
                match self.agents[i].poll_output() {
                    Output::Transmit(t) => {
                        if let (true, Some(to)) = (self.up, self.owner(t.destination)) {
                            let r = Receive {
                                now: self.now + self.latency,
                                protocol: t.protocol,
                                source: t.source,
                                destination: t.destination,
                                contents: t.contents,
                            };
                            self.queue.push((r.now, to, r));
                        }
                    }
                    Output::Event(e) => self.events.push((i, e)),
                    Output::Timeout(at) => {
                        next = Some(next.map_or(at, |n| n.min(at)));
                        break;
                    }
                }
            }
        }
        for (at, _, _) in &self.queue {
            next = Some(next.map_or(*at, |n| n.min(*at)));
        }
        let Some(next) = next.filter(|&n| n <= limit) else {
            self.now = self.now.max(limit);
            return false;
        };
        self.now = next.max(self.now);
        let (due, later): (Vec<_>, Vec<_>) =
            self.queue.drain(..).partition(|(at, _, _)| *at <= self.now);
        self.queue = later;
        for (_, to, r) in due {
            self.agents[to].handle_input(Input::Receive(r));
        }
        for a in &mut self.agents {
            a.handle_input(Input::Timeout(self.now));
        }
        true
    }

    fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Net) -> bool) -> bool {
        while self.now < self.start + limit {
            if done(self) {
                return true;
            }
            if !self.step(self.start + limit) {
                return done(self);
            }
        }
        done(self)
    }

    fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        self.run_until(d + (self.now - self.start), |n| n.now >= end);
    }

    fn states(&self) -> Vec<IceConnectionState> {
        self.agents.iter().map(|a| a.connection_state()).collect()
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn agent(seed: u64, controlling: bool, host: &str) -> IceAgent {
    let mut a = IceAgent::new(
        IceConfig {
            seed,
            controlling,
            ..Default::default()
        },
        start(),
    );
    a.add_local_candidate(Candidate::host(addr(host), Protocol::Udp))
        .unwrap();
    a.end_of_local_candidates();
    a
}

fn signal(a: &mut IceAgent, b: &mut IceAgent) {
    a.set_remote_credentials(b.local_credentials().clone());
    b.set_remote_credentials(a.local_credentials().clone());
    for c in a.local_candidates().cloned().collect::<Vec<_>>() {
        b.add_remote_candidate(c).unwrap();
    }
    for c in b.local_candidates().cloned().collect::<Vec<_>>() {
        a.add_remote_candidate(c).unwrap();
    }
    a.end_of_remote_candidates();
    b.end_of_remote_candidates();
}

fn connected_pair(seed: u64) -> Net {
    let mut a = agent(seed, true, "10.0.0.1:1000");
    let mut b = agent(seed + 1, false, "10.0.0.2:2000");
    signal(&mut a, &mut b);
    let mut net = Net::new(vec![a, b]);
    assert!(net.run_until(Duration::from_secs(5), |n| {
        n.states()
            .iter()
            .all(|s| *s == IceConnectionState::Completed)
    }));
    net
}

fn is_connected(s: IceConnectionState) -> bool {
    matches!(
        s,
        IceConnectionState::Connected | IceConnectionState::Completed
    )
}

#[test]
fn two_agents_connect_and_agree_on_the_pair() {
    let net = connected_pair(1);
    let (al, ar) = net.agents[0].selected_pair().unwrap();
    let (bl, br) = net.agents[1].selected_pair().unwrap();
    assert_eq!(al.base(), br.address());
    assert_eq!(bl.base(), ar.address());
    // One RTT of checks plus a nomination round trip: well under 100 ms at 10 ms latency.
    assert!(net.now - net.start < Duration::from_millis(100));
    assert!(net.agents[0].selected_rtt().unwrap() >= Duration::from_millis(20));
    let a_events: Vec<_> = net.events.iter().filter(|(i, _)| *i == 0).collect();
    assert!(a_events.iter().any(|(_, e)| matches!(
        e,
        IceEvent::GatheringStateChange(IceGatheringState::Complete)
    )));
    assert!(
        a_events
            .iter()
            .any(|(_, e)| matches!(e, IceEvent::EndOfLocalCandidates))
    );
    assert!(net.events.iter().all(|(_, e)| !matches!(
        e,
        IceEvent::ConnectionStateChange(IceConnectionState::Failed)
    )));
}

#[test]
fn role_conflict_both_controlling_resolves() {
    for (ca, cb) in [(true, true), (false, false)] {
        let mut a = agent(10, ca, "10.0.0.1:1000");
        let mut b = agent(11, cb, "10.0.0.2:2000");
        signal(&mut a, &mut b);
        let mut net = Net::new(vec![a, b]);
        assert!(
            net.run_until(Duration::from_secs(10), |n| n
                .states()
                .into_iter()
                .all(is_connected)),
            "roles {ca}/{cb}: {:?}",
            net.states()
        );
        assert_ne!(net.agents[0].controlling(), net.agents[1].controlling());
        let conflicts = net.agents[0].stats().role_conflicts + net.agents[1].stats().role_conflicts;
        assert!(conflicts > 0);
        assert!(
            net.events
                .iter()
                .any(|(_, e)| matches!(e, IceEvent::RoleChange { .. }))
        );
    }
}

#[test]
fn trickled_candidates_connect_later() {
    let mut a = agent(20, true, "10.0.0.1:1000");
    let mut b = agent(21, false, "10.0.0.2:2000");
    a.set_remote_credentials(b.local_credentials().clone());
    b.set_remote_credentials(a.local_credentials().clone());
    let mut net = Net::new(vec![a, b]);
    net.run_for(Duration::from_secs(2));
    assert_eq!(net.states()[0], IceConnectionState::New);
    // Only B learns A's candidate: A discovers B as peer-reflexive from B's check.
    let c = net.agents[0].local_candidates().next().unwrap().clone();
    net.agents[1].add_remote_candidate(c).unwrap();
    assert!(net.run_until(Duration::from_secs(5), |n| {
        n.states().into_iter().all(is_connected)
    }));
    let (_, remote) = net.agents[0].selected_pair().unwrap();
    assert_eq!(remote.kind(), CandidateKind::PeerReflexive);
}

#[test]
fn consent_loss_disconnects_recovers_then_fails() {
    let mut net = connected_pair(30);
    net.up = false;
    net.run_for(Duration::from_secs(10));
    assert_eq!(
        net.states(),
        [
            IceConnectionState::Disconnected,
            IceConnectionState::Disconnected
        ]
    );
    net.up = true;
    net.run_for(Duration::from_secs(3));
    assert!(
        net.states().into_iter().all(is_connected),
        "{:?}",
        net.states()
    );
    net.up = false;
    net.run_for(Duration::from_secs(31));
    assert_eq!(
        net.states(),
        [IceConnectionState::Failed, IceConnectionState::Failed]
    );
    assert!(
        net.agents
            .iter()
            .all(|a| a.failure() == Some(IceFailure::ConsentLost))
    );
    // Consent lost: a failed agent stops sending.
    let sent = net.agents[0].stats().consent_checks_sent;
    net.run_for(Duration::from_secs(20));
    assert_eq!(net.agents[0].stats().consent_checks_sent, sent);
}

#[test]
fn ice_restart_reconnects_with_new_credentials() {
    let mut net = connected_pair(40);
    let old = net.agents[0].local_credentials().clone();
    let old_selected = net.agents[0]
        .selected_pair()
        .map(|(l, r)| (l.base(), r.address()));
    net.agents[0].restart();
    assert_ne!(net.agents[0].local_credentials(), &old);
    // Data keeps its path until the new nomination (RFC 8445 §9).
    assert_eq!(
        net.agents[0]
            .selected_pair()
            .map(|(l, r)| (l.base(), r.address())),
        old_selected
    );
    let (mut a, mut b) = {
        let mut it = net.agents.drain(..);
        (it.next().unwrap(), it.next().unwrap())
    };
    signal(&mut a, &mut b);
    net.agents = vec![a, b];
    net.events.clear();
    assert!(net.run_until(Duration::from_secs(5), |n| {
        n.states().into_iter().all(is_connected)
    }));
    // Until the new nomination settles (the first valid pair carries data before it).
    net.run_for(Duration::from_millis(200));
    let new_selected = net.agents[0]
        .selected_pair()
        .map(|(l, r)| (l.base(), r.address()));
    assert_eq!(new_selected, old_selected);
    assert!(
        net.events
            .iter()
            .any(|(i, e)| *i == 0 && matches!(e, IceEvent::SelectedPairChange { .. }))
    );
}

#[test]
fn lite_agent_connects_with_full_agent_and_sends_no_checks() {
    let mut a = agent(50, false, "10.0.0.1:1000");
    let mut b = IceAgent::new(
        IceConfig {
            seed: 51,
            lite: true,
            controlling: true,
            ..Default::default()
        },
        start(),
    );
    b.add_local_candidate(Candidate::host(addr("10.0.0.2:2000"), Protocol::Udp))
        .unwrap();
    b.end_of_local_candidates();
    assert!(b.local_credentials().lite);
    assert!(!b.controlling(), "a lite agent is always controlled");
    signal(&mut a, &mut b);
    assert!(a.controlling(), "a full agent facing a lite one controls");
    assert_eq!(a.check_remote_credentials(b.local_credentials()), Ok(()));
    let mut net = Net::new(vec![a, b]);
    assert!(net.run_until(Duration::from_secs(5), |n| {
        n.states().into_iter().all(is_connected)
    }));
    assert_eq!(net.agents[1].stats().checks_sent, 0);
    assert_eq!(net.agents[1].stats().consent_checks_sent, 0);
    let mut lite2 = IceCredentials::random(&mut Rng::from_seed(1));
    lite2.lite = true;
    assert_eq!(
        net.agents[1].check_remote_credentials(&lite2),
        Err(IceError::BothLite)
    );
}

fn drain_transmits(agent: &mut IceAgent) -> Vec<Transmit> {
    let mut out = Vec::new();
    loop {
        match agent.poll_output() {
            Output::Transmit(t) => out.push(t),
            Output::Event(_) => {}
            _ => return out,
        }
    }
}

fn request(ufrags: &str, pwd: &str, extra: impl FnOnce(&mut MessageBuilder)) -> Vec<u8> {
    let mut b = MessageBuilder::new(Class::Request, Method::Binding, TransactionId([5; 12]));
    b.username(ufrags)
        .priority(1_845_501_695)
        .ice_role(true, 42);
    extra(&mut b);
    b.finish_with_integrity(&RingProvider::new(), pwd.as_bytes())
}

#[test]
fn hostile_input_is_dropped_and_counted_without_state_change() {
    let mut b = agent(60, false, "10.0.0.2:2000");
    let now = Instant::now();
    b.handle_input(Input::Timeout(now));
    drain_transmits(&mut b);
    let creds = b.local_credentials().clone();
    let deliver = |b: &mut IceAgent, bytes: Vec<u8>| {
        b.handle_input(Input::Receive(Receive {
            now,
            protocol: Protocol::Udp,
            source: addr("10.0.0.1:1000"),
            destination: addr("10.0.0.2:2000"),
            contents: bytes.into(),
        }));
        drain_transmits(b)
    };
    let before = b.connection_state();
    // Wrong MESSAGE-INTEGRITY key.
    assert!(
        deliver(
            &mut b,
            request(
                &format!("{}:x", creds.ufrag),
                "wrong-password-123456",
                |_| {}
            )
        )
        .is_empty()
    );
    // Unknown username.
    assert!(deliver(&mut b, request("nobody:x", &creds.pwd, |_| {})).is_empty());
    // Malformed: a valid header with a truncated attribute.
    let mut bad = request(&format!("{}:x", creds.ufrag), &creds.pwd, |_| {});
    bad[22] = 0xFF;
    assert!(deliver(&mut b, bad).is_empty());
    // Not STUN at all.
    assert!(deliver(&mut b, vec![0x80, 0, 0, 0]).is_empty());
    // A response nobody asked for.
    let resp = MessageBuilder::new(Class::Success, Method::Binding, TransactionId([9; 12]))
        .finish_with_integrity(&RingProvider::new(), b"whatever");
    assert!(deliver(&mut b, resp).is_empty());
    let s = b.stats();
    assert_eq!(s.dropped_bad_integrity, 1);
    assert_eq!(s.dropped_unknown_username, 1);
    assert_eq!(s.dropped_malformed, 1);
    assert_eq!(s.dropped_not_stun, 1);
    assert_eq!(s.dropped_unknown_transaction, 1);
    assert_eq!(s.requests_received, 0);
    assert_eq!(b.connection_state(), before);
    assert!(b.remote_candidates().is_empty());
    // And a good request is answered.
    let out = deliver(
        &mut b,
        request(&format!("{}:x", creds.ufrag), &creds.pwd, |_| {}),
    );
    assert_eq!(out.len(), 1);
    let m = Message::parse(&out[0].contents).unwrap();
    assert_eq!(m.class(), Class::Success);
    assert_eq!(m.mapped_address(), Some(addr("10.0.0.1:1000")));
    m.check_integrity(&RingProvider::new(), creds.pwd.as_bytes())
        .unwrap();
}

#[test]
fn unknown_comprehension_required_attribute_gets_420() {
    let mut b = agent(61, false, "10.0.0.2:2000");
    let now = Instant::now();
    b.handle_input(Input::Timeout(now));
    drain_transmits(&mut b);
    let creds = b.local_credentials().clone();
    b.handle_input(Input::Receive(Receive {
        now,
        protocol: Protocol::Udp,
        source: addr("10.0.0.1:1000"),
        destination: addr("10.0.0.2:2000"),
        contents: request(&format!("{}:x", creds.ufrag), &creds.pwd, |m| {
            m.raw(0x7ABC, b"??");
        })
        .into(),
    }));
    let out = drain_transmits(&mut b);
    let m = Message::parse(&out[0].contents).unwrap();
    assert_eq!(m.error_code().map(|e| e.0), Some(420));
    let unknown: Vec<u16> = m
        .attributes()
        .filter_map(|a| match a {
            Attribute::UnknownAttributes(l) => Some(l.iter().collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(unknown, [0x7ABC]);
    let _ = attr::UNKNOWN_ATTRIBUTES;
}

/// A peer using aggressive nomination puts USE-CANDIDATE on its very first check; the
/// controlled agent selects the pair once its own triggered check succeeds.
#[test]
fn aggressive_nomination_is_accepted() {
    let mut b = agent(70, false, "10.0.0.2:2000");
    let peer_pwd = "peerpasswordpeerpassword";
    b.set_remote_credentials(IceCredentials {
        ufrag: "peer".into(),
        pwd: peer_pwd.into(),
        lite: false,
    });
    let now = Instant::now();
    b.handle_input(Input::Timeout(now));
    drain_transmits(&mut b);
    let creds = b.local_credentials().clone();
    b.handle_input(Input::Receive(Receive {
        now,
        protocol: Protocol::Udp,
        source: addr("10.0.0.1:1000"),
        destination: addr("10.0.0.2:2000"),
        contents: request(&format!("{}:peer", creds.ufrag), &creds.pwd, |m| {
            m.use_candidate();
        })
        .into(),
    }));
    let out = drain_transmits(&mut b);
    assert_eq!(out.len(), 2, "a response and a triggered check");
    assert!(b.selected_pair().is_none());
    let check = Message::parse(&out[1].contents).unwrap();
    assert_eq!(check.class(), Class::Request);
    assert_eq!(check.username(), Some(&*format!("peer:{}", creds.ufrag)));
    check
        .check_integrity(&RingProvider::new(), peer_pwd.as_bytes())
        .unwrap();
    let mut resp = MessageBuilder::new(Class::Success, Method::Binding, check.transaction_id());
    resp.xor_mapped_address(addr("10.0.0.2:2000"));
    b.handle_input(Input::Receive(Receive {
        now: now + Duration::from_millis(5),
        protocol: Protocol::Udp,
        source: addr("10.0.0.1:1000"),
        destination: addr("10.0.0.2:2000"),
        contents: resp
            .finish_with_integrity(&RingProvider::new(), peer_pwd.as_bytes())
            .into(),
    }));
    let (l, r) = b
        .selected_pair()
        .expect("selected after aggressive nomination");
    assert_eq!(
        (l.base(), r.address()),
        (addr("10.0.0.2:2000"), addr("10.0.0.1:1000"))
    );
    assert!(is_connected(b.connection_state()));
}

#[test]
fn unreachable_peer_fails_in_bounded_time() {
    let mut a = agent(80, true, "10.0.0.1:1000");
    let mut b = agent(81, false, "10.0.0.2:2000");
    signal(&mut a, &mut b);
    let mut net = Net::new(vec![a, b]);
    net.up = false;
    assert!(net.run_until(Duration::from_secs(60), |n| {
        n.states().iter().all(|s| *s == IceConnectionState::Failed)
    }));
    assert!(
        net.agents
            .iter()
            .all(|a| a.failure() == Some(IceFailure::NoWorkingPair))
    );
    // RFC 8489 timing with RTO 500 ms, Rc 7, Rm 16 capped at 8 s per retransmit.
    assert!(net.now - net.start > Duration::from_secs(20));
}

#[test]
fn candidate_sdp_roundtrip_and_errors() {
    let c = Candidate::server_reflexive(
        addr("203.0.113.5:40000"),
        addr("10.0.0.1:1000"),
        addr("198.51.100.1:3478"),
        Protocol::Udp,
    );
    let s = c.to_sdp_string();
    let back = Candidate::from_sdp_string(&format!("a={s}")).unwrap();
    assert_eq!(back.address(), c.address());
    assert_eq!(back.priority(), c.priority());
    assert_eq!(back.foundation(), c.foundation());
    assert_eq!(back.related_address(), c.related_address());
    assert_eq!(back.kind(), CandidateKind::ServerReflexive);
    let v6 = Candidate::host(addr("[2001:db8::1]:9"), Protocol::Udp);
    assert_eq!(
        Candidate::from_sdp_string(&v6.to_sdp_string())
            .unwrap()
            .address(),
        v6.address()
    );
    for bad in [
        "",
        "candidate:1 1 udp",
        "candidate:1 1 sctp 1 1.2.3.4 5 typ host",
        "candidate:1 0 udp 1 1.2.3.4 5 typ host",
        "candidate:1 1 udp x 1.2.3.4 5 typ host",
        "candidate:1 1 udp 1 1.2.3.4 99999 typ host",
        "candidate:1 1 udp 1 1.2.3.4 5 type host",
        "candidate:1 1 udp 1 1.2.3.4 5 typ bogus",
        "candidate:1 1 udp 1 abcd.local 5 typ host",
        "candidate:1 1 udp 1 1.2.3.4 5 typ host raddr",
    ] {
        assert!(Candidate::from_sdp_string(bad).is_err(), "{bad:?} accepted");
    }
    // Chromium's host candidate line from the captured offer.
    let chromium = "candidate:3671762466 1 udp 2113937151 127.0.0.1 32829 typ host generation 0 network-cost 999";
    let c = Candidate::from_sdp_string(chromium).unwrap();
    assert_eq!(c.address(), addr("127.0.0.1:32829"));
}

#[test]
fn remote_candidate_limit_is_enforced() {
    let mut a = IceAgent::new(
        IceConfig {
            max_remote_candidates: 3,
            ..Default::default()
        },
        start(),
    );
    for port in 1..=3 {
        a.add_remote_candidate(Candidate::host(
            SocketAddr::from(([10, 0, 0, 9], port)),
            Protocol::Udp,
        ))
        .unwrap();
    }
    assert!(matches!(
        a.add_remote_candidate(Candidate::host(addr("10.0.0.9:4"), Protocol::Udp)),
        Err(IceError::TooManyCandidates(..))
    ));
    assert!(matches!(
        a.add_local_candidate(Candidate::peer_reflexive(
            addr("1.1.1.1:1"),
            addr("1.1.1.1:1"),
            1,
            Protocol::Udp
        )),
        Err(IceError::NotALocalKind(_))
    ));
}

/// Application data (DTLS, SRTP) may come only from the peer: before selection from an
/// address that passed a check, after it from the selected pair's remote alone.
#[test]
fn data_is_accepted_only_from_a_verified_address() {
    let mut a = agent(50, true, "10.0.0.1:1000");
    let mut b = agent(51, false, "10.0.0.2:2000");
    signal(&mut a, &mut b);
    let (a_addr, b_addr) = (addr("10.0.0.1:1000"), addr("10.0.0.2:2000"));
    let strangers = [addr("10.0.0.9:2000"), addr("10.0.0.2:2001")];
    // A signaled candidate is not a verified one.
    assert!(!a.accepts_data_from(b_addr));
    assert!(!b.accepts_data_from(a_addr));
    let mut net = Net::new(vec![a, b]);
    let mut before_selection = false;
    let limit = net.now + Duration::from_secs(10);
    while net.step(limit) && net.agents[1].selected_pair().is_none() {
        let b = &mut net.agents[1];
        if b.stats().requests_received > 0 {
            // a's authenticated check arrived: its address is verified.
            assert!(b.accepts_data_from(a_addr));
            assert!(strangers.iter().all(|&s| !b.accepts_data_from(s)));
            before_selection = true;
        }
    }
    assert!(before_selection);
    assert!(net.run_until(Duration::from_secs(5), |n| {
        n.states()
            .iter()
            .all(|s| *s == IceConnectionState::Completed)
    }));
    for (i, peer) in [(0, b_addr), (1, a_addr)] {
        let x = &mut net.agents[i];
        let dropped = x.stats().dropped_unverified_source;
        assert!(x.accepts_data_from(peer));
        assert!(strangers.iter().all(|&s| !x.accepts_data_from(s)));
        assert_eq!(x.stats().dropped_unverified_source, dropped + 2);
    }
}
