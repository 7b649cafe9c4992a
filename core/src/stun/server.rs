//! A minimal sans-IO STUN Binding server (RFC 8489 §6.3), for tests, the simulator and
//! anyone who wants server-reflexive discovery on their own infrastructure.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;

use super::{Class, Message, MessageBuilder, Method};
use crate::io::{Endpoint, IDLE_TIMEOUT, Input, Output, Protocol, Transmit};

/// Counters of a [`StunServer`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StunServerStats {
    /// Binding requests answered with a success response.
    pub answered: u64,
    /// Requests answered with 420 Unknown Attribute.
    pub rejected: u64,
    /// Datagrams dropped as malformed or not requests.
    pub dropped: u64,
}

/// Answers Binding requests on the addresses it is given with the source address it saw
/// (XOR-MAPPED-ADDRESS). It never emits events.
#[derive(Debug)]
pub struct StunServer {
    out: VecDeque<Transmit>,
    stats: StunServerStats,
    now: Instant,
}

impl StunServer {
    /// A server with nothing queued, its clock starting at `now`.
    pub fn new(now: Instant) -> Self {
        StunServer {
            out: VecDeque::new(),
            stats: StunServerStats::default(),
            now,
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> StunServerStats {
        self.stats
    }

    fn answer(&mut self, protocol: Protocol, local: SocketAddr, remote: SocketAddr, buf: &[u8]) {
        let Ok(msg) = Message::parse(buf) else {
            self.stats.dropped += 1;
            return;
        };
        if msg.class() != Class::Request || msg.method() != Method::Binding {
            self.stats.dropped += 1;
            return;
        }
        let unknown: Vec<u16> = msg.unknown_comprehension_required().collect();
        let reply = if unknown.is_empty() {
            self.stats.answered += 1;
            MessageBuilder::new(Class::Success, Method::Binding, msg.transaction_id())
                .xor_mapped_address(remote)
                .finish_with_fingerprint()
        } else {
            self.stats.rejected += 1;
            MessageBuilder::new(Class::Error, Method::Binding, msg.transaction_id())
                .error_code(420, "Unknown Attribute")
                .unknown_attributes(&unknown)
                .finish_with_fingerprint()
        };
        self.out.push_back(Transmit::single(
            protocol,
            local,
            remote,
            Bytes::from(reply),
        ));
    }
}

impl Endpoint for StunServer {
    type Event = ();

    fn handle_input(&mut self, input: Input) {
        self.now = self.now.max(input.now());
        if let Input::Receive(r) = input {
            self.answer(r.protocol, r.destination, r.source, &r.contents);
        }
    }

    fn poll_output(&mut self) -> Output<()> {
        match self.out.pop_front() {
            Some(t) => Output::Transmit(t),
            // Stateless: nothing ever comes due.
            None => Output::Timeout(self.now + IDLE_TIMEOUT),
        }
    }
}
