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
