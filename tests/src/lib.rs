//! Shared pieces of the cross-crate tests: a simulator node that is either an ICE agent or
//! a STUN server, and signaling helpers that play the part of an offer/answer exchange.

use std::net::SocketAddr;

pub mod aiortc;
pub mod browser;
pub mod endpoints;
pub mod usrsctp;

use sansrtc::ice::{IceAgent, IceEvent};
use sansrtc::io::{Endpoint, Input, Output};
use sansrtc::stun::StunServer;

/// One simulated machine: an ICE agent, or a STUN server for server-reflexive discovery.
#[derive(Debug)]
pub enum Node {
    /// An ICE agent.
    Agent(Box<IceAgent>),
    /// A STUN Binding server.
    Stun(StunServer),
}

impl Node {
    /// The agent inside; panics on a STUN server node (a test bug).
    pub fn agent(&self) -> &IceAgent {
        match self {
            Node::Agent(a) => a,
            Node::Stun(_) => panic!("node is a STUN server"),
        }
    }

    /// The agent inside, mutably.
    pub fn agent_mut(&mut self) -> &mut IceAgent {
        match self {
            Node::Agent(a) => a,
            Node::Stun(_) => panic!("node is a STUN server"),
        }
    }
}

impl Endpoint for Node {
    type Event = IceEvent;

    fn handle_input(&mut self, input: Input) {
        match self {
            Node::Agent(a) => a.handle_input(input),
            Node::Stun(s) => s.handle_input(input),
        }
    }

    fn poll_output(&mut self) -> Output<IceEvent> {
        match self {
            Node::Agent(a) => a.poll_output(),
            Node::Stun(s) => match s.poll_output() {
                Output::Transmit(t) => Output::Transmit(t),
                Output::Event(()) => unreachable!("a STUN server reports no events"),
                Output::Timeout(at) => Output::Timeout(at),
            },
        }
    }
}

/// Exchange credentials (and nothing else) between two agents, as an offer/answer would.
pub fn exchange_credentials(a: &mut IceAgent, b: &mut IceAgent) {
    a.set_remote_credentials(b.local_credentials().clone());
    b.set_remote_credentials(a.local_credentials().clone());
}

/// Exchange credentials and every local candidate known so far, with end-of-candidates.
pub fn exchange_all(a: &mut IceAgent, b: &mut IceAgent) {
    exchange_credentials(a, b);
    let ca: Vec<_> = a.local_candidates().cloned().collect();
    let cb: Vec<_> = b.local_candidates().cloned().collect();
    for c in ca {
        b.add_remote_candidate(c).expect("candidate accepted");
    }
    for c in cb {
        a.add_remote_candidate(c).expect("candidate accepted");
    }
    a.end_of_remote_candidates();
    b.end_of_remote_candidates();
}

/// The data path an agent selected, as (local base, remote address).
pub fn path(agent: &IceAgent) -> Option<(SocketAddr, SocketAddr)> {
    agent.selected_pair().map(|(l, r)| (l.base(), r.address()))
}

/// A plaintext (epoch 0) DTLS 1.2 record of `content_type` numbered `seq`: what anyone
/// can forge, for the hostile-input tests.
pub fn dtls_plaintext(content_type: u8, seq: u64, payload: &[u8]) -> Vec<u8> {
    use sansrtc::dtls::record;
    let mut d = Vec::new();
    record::write_record(&mut d, content_type, record::DTLS_1_2, 0, seq, payload);
    d
}

/// ORTC engines for the tests that need many of them.
pub mod ortc {
    use std::net::SocketAddr;
    use std::time::Instant;

    use sansrtc::dtls::DtlsCertificate;
    use sansrtc::engine::{Engine, EngineConfig};
    use sansrtc::ortc::IceRole;

    /// A whole engine (ICE, DTLS, SCTP on port 5000) gathered on `addr`, its clock from `now`.
    pub fn chain(seed: u64, addr: SocketAddr, cert: &DtlsCertificate, now: Instant) -> Engine {
        let mut e = Engine::new(
            EngineConfig::with_certificate(cert.clone()).seeded(seed),
            now,
        );
        e.ice_gatherer_mut()
            .gather(&[addr])
            .expect("host candidate");
        e
    }

    /// Starts every layer of `x` with what `y` signals, as an offer/answer would.
    pub fn start(x: &mut Engine, y: &Engine, role: IceRole) {
        x.start_with(&y.local_signal(), role).expect("start");
    }
}
