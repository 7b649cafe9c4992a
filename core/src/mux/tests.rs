use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::*;
use crate::io::{Output, Protocol, Transmit};

/// Answers nothing; each datagram moves its deadline one second later, as a timer reset
/// by every packet would.
struct Echo {
    ufrag: String,
    deadline: Instant,
}

impl Endpoint for Echo {
    type Event = ();
    fn handle_input(&mut self, input: Input) {
        if let Input::Receive(_) = input {
            self.deadline += Duration::from_secs(1);
        }
    }
    fn poll_output(&mut self) -> Output<()> {
        Output::Timeout(self.deadline)
    }
}

impl Demuxed for Echo {
    fn local_ufrag(&self) -> &str {
        &self.ufrag
    }
    fn verified_remote(&mut self, _: SocketAddr) -> bool {
        true
    }
}

/// A peer that moves its connection's deadline with every datagram cannot grow the
/// deadline heap beyond a fixed multiple of the connections.
#[test]
fn stale_deadlines_stay_bounded() {
    let now = Instant::now();
    let mut mux = Mux::new(now);
    mux.insert(Echo {
        ufrag: "ours".into(),
        deadline: now + Duration::from_secs(1),
    });
    let (local, peer): (SocketAddr, SocketAddr) = (
        "10.0.0.1:3478".parse().unwrap(),
        "10.0.0.2:5000".parse().unwrap(),
    );
    let check = crate::stun::MessageBuilder::new(
        Class::Request,
        Method::Binding,
        crate::stun::TransactionId([1; 12]),
    )
    .username("ours:theirs")
    .finish_with_fingerprint();
    for i in 0..10_000 {
        let contents = if i == 0 {
            check.clone()
        } else {
            vec![0x17, 0xfe, 0xfd]
        };
        mux.handle_input(Input::Receive(Receive {
            now,
            protocol: Protocol::Udp,
            source: peer,
            destination: local,
            contents: Bytes::from(contents),
        }));
        while let Output::Transmit(Transmit { .. }) | Output::Event(_) = mux.poll_output() {}
    }
    assert_eq!(mux.stats().routed_by_path, 9_999);
    assert!(mux.filed_deadlines() <= 2 + 64, "{}", mux.filed_deadlines());
    // The current deadline is still the one filed.
    assert_eq!(
        mux.poll_output(),
        Output::Timeout(now + Duration::from_secs(10_001))
    );
}

/// A muxed agent gathers its server-reflexive candidate through the shared socket: the
/// STUN server's answer comes from no learned path and carries no USERNAME, so the mux
/// routes it by the transaction id of the request it saw the agent send, and only when
/// it comes back from where that request went.
#[test]
fn stun_server_answers_reach_the_gathering_connection() {
    use crate::ice::{Candidate, CandidateKind, IceAgent, IceConfig, IceEvent};
    use crate::stun::StunServer;

    let now = Instant::now();
    let local: SocketAddr = "10.0.0.1:3478".parse().unwrap();
    let server_addr: SocketAddr = "192.0.2.10:3478".parse().unwrap();
    let mapped: SocketAddr = "203.0.113.7:40000".parse().unwrap();
    let mut mux: Mux<IceAgent> = Mux::new(now);
    let mut agent = IceAgent::new(
        IceConfig {
            seed: 3,
            stun_servers: vec![server_addr],
            ..Default::default()
        },
        now,
    );
    agent
        .add_local_candidate(Candidate::host(local, Protocol::Udp))
        .unwrap();
    let id = mux.insert(agent);
    let mut stun = StunServer::new(now);
    let mut requests = 0;
    loop {
        match mux.poll_output() {
            Output::Transmit(t) => {
                assert_eq!(t.destination, server_addr);
                requests += 1;
                // The server sees the request arrive from the NAT's mapping.
                stun.handle_input(Input::Receive(Receive {
                    now,
                    protocol: Protocol::Udp,
                    source: mapped,
                    destination: server_addr,
                    contents: t.contents,
                }));
            }
            Output::Event(_) => {}
            Output::Timeout(_) => break,
        }
    }
    assert_eq!(requests, 1);
    let Output::Transmit(answer) = stun.poll_output() else {
        panic!("the STUN server did not answer");
    };
    let deliver = |mux: &mut Mux<IceAgent>, source: SocketAddr| {
        mux.handle_input(Input::Receive(Receive {
            now,
            protocol: Protocol::Udp,
            source,
            destination: local,
            contents: answer.contents.clone(),
        }));
        let mut srflx = Vec::new();
        while let o @ (Output::Transmit(_) | Output::Event(_)) = mux.poll_output() {
            if let Output::Event((from, IceEvent::LocalCandidate(c))) = o
                && c.kind() == CandidateKind::ServerReflexive
            {
                srflx.push((from, c.address()));
            }
        }
        srflx
    };
    // The same answer from anyone but the server is a stranger's.
    assert!(deliver(&mut mux, "198.51.100.66:3478".parse().unwrap()).is_empty());
    assert_eq!(mux.stats().unknown_source, 1);
    assert_eq!(deliver(&mut mux, server_addr), vec![(id, mapped)]);
    assert_eq!(mux.stats().routed_by_transaction, 1);
    // Answered once: a replay of it routes nowhere.
    assert!(deliver(&mut mux, server_addr).is_empty());
    assert_eq!(mux.stats().unknown_source, 2);
}
