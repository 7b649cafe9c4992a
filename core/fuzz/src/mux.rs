//! # `mux`
//!
//! [`mux`] drives a [`Mux`] holding three ICE agents behind one server address
//! ([`mux_server`]); the first also gathers through a STUN server ([`mux_stun_server`]).
//! The agents know the peer's credentials but no remote candidate, so a path exists only
//! where a correctly signed check taught it. The input is records:
//!
//! | first byte (`tag`) | follows | effect |
//! |---|---|---|
//! | `tag & 3 == 0` | `len: u16` BE, `len` bytes | the bytes arrive from source `tag >> 2` |
//! | `tag & 3 == 1` | — | a check signed with agent `(tag >> 2) % 3`'s password arrives from source `tag >> 4` |
//! | `tag & 3 == 2` | `n: u8` | a success response to the `n`-th request the mux sent (by transaction id) arrives from source `tag >> 2` |
//! | `tag & 3 == 3` | `b: u8` | time advances `b * 8` ms (bit 7 of `tag`: agent `(tag >> 2) % 3` is removed instead, once) |
//!
//! Sources are [`MUX_SOURCES`] (index modulo its length). After every record the
//! harness drains the mux ([`settle`](super::settle)) and checks: every datagram is
//! counted exactly once (routed by path, ufrag or transaction, or dropped as a
//! stranger's); a path is learned only from a source that sent a signed check; an
//! answer is routed by transaction only if it came from where some request went; and
//! the mux with its agents stays within its heap budget.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use sansrtc::crypto::RingProvider;
use sansrtc::ice::{Candidate, IceAgent, IceConfig, IceCredentials};
use sansrtc::io::{Endpoint, Input, Output, Protocol, Receive};
use sansrtc::mux::{ConnectionId, Mux, MuxStats};
use sansrtc::stun::{Class, Message, MessageBuilder, Method, TransactionId};

use super::{ICE_BUDGET, MAX_RECORDS, Reader, base_instant, heap, sa, settle};

/// The address every agent's host candidate and the mux's socket share.
pub fn mux_server() -> SocketAddr {
    sa("10.0.0.1:3478")
}

/// The STUN server the first agent gathers from.
pub fn mux_stun_server() -> SocketAddr {
    sa("192.0.2.10:3478")
}

/// Where datagrams come from: the STUN server, peers, and a stranger.
pub const MUX_SOURCES: [&str; 4] = [
    "192.0.2.10:3478",
    "198.51.100.1:5000",
    "198.51.100.2:5000",
    "203.0.113.9:4000",
];

/// The peer every agent expects checks from.
const PEER_UFRAG: &str = "PEER";
const PEER_PWD: &str = "peerpasswordpeerpassword";

/// Heap of the mux beyond its agents: the deadline heap, paths, and the filed requests
/// (a few per connection).
const MUX_OVERHEAD: usize = 64 * 1024;

/// See the [module documentation](self).
pub fn mux(data: &[u8]) {
    heap::within(
        "mux",
        3 * ICE_BUDGET + MUX_OVERHEAD + 64 * data.len(),
        || {
            run_mux(data);
        },
    );
}

/// Runs the harness; returns the mux's counters at the end (the corpus test checks that
/// the seeds reach each way of routing).
pub fn run_mux(data: &[u8]) -> MuxStats {
    let mut now = base_instant();
    let mut m: Mux<IceAgent> = Mux::new(now);
    let mut agents: Vec<(ConnectionId, IceCredentials)> = Vec::new();
    for k in 0..3u64 {
        let mut agent = IceAgent::new(
            IceConfig {
                seed: k + 1,
                stun_servers: if k == 0 {
                    vec![mux_stun_server()]
                } else {
                    Vec::new()
                },
                ..Default::default()
            },
            now,
        );
        agent
            .add_local_candidate(Candidate::host(mux_server(), Protocol::Udp))
            .expect("host candidate");
        agent.set_remote_credentials(IceCredentials {
            ufrag: PEER_UFRAG.into(),
            pwd: PEER_PWD.into(),
            lite: false,
        });
        let creds = agent.local_credentials().clone();
        agents.push((m.insert(agent), creds));
    }
    // What the mux sent: transaction ids of its requests, and where each went.
    let mut requests: Vec<(TransactionId, SocketAddr)> = Vec::new();
    let mut removed = false;
    let mut signed_from: HashSet<SocketAddr> = HashSet::new();
    let mut received = 0u64;
    let drain = |m: &mut Mux<IceAgent>, now, requests: &mut Vec<(TransactionId, SocketAddr)>| {
        let (out, _) = settle("mux", now, 10_000, || m.poll_output());
        for o in out {
            if let Output::Transmit(t) = o
                && let Ok(msg) = Message::parse(&t.contents)
                && msg.class() == Class::Request
                && requests.len() < 1024
            {
                requests.push((msg.transaction_id(), t.destination));
            }
        }
    };
    drain(&mut m, now, &mut requests);
    let mut r = Reader { data };
    for _ in 0..MAX_RECORDS {
        let Some(tag) = r.u8() else { break };
        let source = sa(MUX_SOURCES[usize::from(tag >> 2) % MUX_SOURCES.len()]);
        let before = m.stats();
        let arrived = |m: &mut Mux<IceAgent>, received: &mut u64, source, contents: Vec<u8>| {
            *received += 1;
            m.handle_input(Input::Receive(Receive {
                now,
                protocol: Protocol::Udp,
                source,
                destination: mux_server(),
                contents: Bytes::from(contents),
            }));
        };
        match tag & 3 {
            0 => {
                let Some(len) = r.u16() else { break };
                let bytes = r.take(usize::from(len)).to_vec();
                arrived(&mut m, &mut received, source, bytes);
            }
            1 => {
                let (_, creds) = &agents[usize::from(tag >> 2) % 3];
                let source = sa(MUX_SOURCES[usize::from(tag >> 4) % MUX_SOURCES.len()]);
                let mut tid = [0u8; 12];
                tid[..8].copy_from_slice(&received.to_be_bytes());
                let check =
                    MessageBuilder::new(Class::Request, Method::Binding, TransactionId(tid))
                        .username(&format!("{}:{PEER_UFRAG}", creds.ufrag))
                        .priority(0x6e00_1eff)
                        .ice_role(true, 7)
                        .finish_with_integrity(&RingProvider::new(), creds.pwd.as_bytes());
                signed_from.insert(source);
                arrived(&mut m, &mut received, source, check);
            }
            2 => {
                let Some(n) = r.u8() else { break };
                let Some(&(tid, _)) = requests.get(usize::from(n)) else {
                    continue;
                };
                let answer = MessageBuilder::new(Class::Success, Method::Binding, tid)
                    .xor_mapped_address(sa("203.0.113.7:40000"))
                    .finish_with_fingerprint();
                let from_target = requests.iter().any(|&(t, to)| t == tid && to == source);
                arrived(&mut m, &mut received, source, answer);
                let routed = m.stats().routed_by_transaction - before.routed_by_transaction;
                assert!(
                    routed == 0 || from_target,
                    "an answer from {source} was routed, but the request went elsewhere"
                );
            }
            _ => {
                let Some(b) = r.u8() else { break };
                if tag & 0x80 != 0 && !removed {
                    removed = true;
                    let (id, _) = agents[usize::from(tag >> 2) % 3];
                    assert!(m.remove(id).is_some());
                } else {
                    now += Duration::from_millis(u64::from(b) * 8);
                    m.handle_input(Input::Timeout(now));
                }
            }
        }
        drain(&mut m, now, &mut requests);
        let s = m.stats();
        let counted = |s: MuxStats| {
            s.routed_by_path + s.routed_by_ufrag + s.routed_by_transaction + s.unknown_source
        };
        assert_eq!(
            counted(s),
            received,
            "a datagram was not counted once: {s:?}"
        );
        assert!(
            s.paths_learned as usize <= 3 * signed_from.len(),
            "a path was learned without a signed check: {s:?}"
        );
    }
    m.stats()
}
