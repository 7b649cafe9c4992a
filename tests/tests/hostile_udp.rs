//! The hostile-input attacks on DTLS over real loopback UDP: two of our ORTC chains
//! connect while a third socket, a stranger to both, sends forged DTLS records to their
//! ports — one numbered 2^48−1 before the handshake (it used to block the handshake for
//! good) and 15-byte plaintext alerts after it (one used to close the session while the
//! channels still said `open`). The connection must form, stay up and deliver.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sansrtc::crypto::default_provider;
use sansrtc::datachannel::{DataChannelEvent, DataChannelState};
use sansrtc::dtls::DtlsCertificate;
use sansrtc::engine::{Engine, EngineConfig};
use sansrtc::io::{Endpoint, Input, Output, Protocol, Receive};
use sansrtc::ortc::{
    DataChannelParameters, DtlsTransportState, IceRole, OrtcEvent, SctpTransportState,
};
use sansrtc_tests::dtls_plaintext;

/// One chain on its own loopback socket, driven by a non-blocking loop.
struct Node {
    chain: Engine,
    socket: UdpSocket,
    addr: SocketAddr,
    deadline: Option<Instant>,
    events: Vec<OrtcEvent>,
}

impl Node {
    fn new() -> Node {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        let addr = socket.local_addr().unwrap();
        let cert = DtlsCertificate::generate(&*default_provider()).unwrap();
        let mut chain = Engine::new(EngineConfig::with_certificate(cert), Instant::now());
        chain.ice_gatherer_mut().gather(&[addr]).unwrap();
        Node {
            chain,
            socket,
            addr,
            deadline: None,
            events: Vec::new(),
        }
    }

    fn start(&mut self, peer: &Node, role: IceRole) {
        sansrtc_tests::ortc::start(&mut self.chain, &peer.chain, role);
        self.chain.handle_input(Input::Timeout(Instant::now()));
    }

    /// Send what the chain wants sent, keep its events, note its next deadline.
    fn drain(&mut self) {
        loop {
            match self.chain.poll_output() {
                Output::Transmit(t) => {
                    let seg = t.segment_size.unwrap_or(t.contents.len()).max(1);
                    for d in t.contents.chunks(seg) {
                        self.socket.send_to(d, t.destination).unwrap();
                    }
                }
                Output::Event(e) => self.events.push(e),
                Output::Timeout(at) => {
                    self.deadline = Some(at);
                    return;
                }
            }
        }
    }

    /// Feed every datagram waiting on the socket and a due timeout; whether anything came.
    fn feed(&mut self, buf: &mut [u8]) -> bool {
        let mut got = false;
        while let Ok((len, source)) = self.socket.recv_from(buf) {
            self.chain.handle_input(Input::Receive(Receive {
                now: Instant::now(),
                protocol: Protocol::Udp,
                source,
                destination: self.addr,
                contents: Bytes::copy_from_slice(&buf[..len]),
            }));
            got = true;
        }
        let now = Instant::now();
        if self.deadline.is_some_and(|at| at <= now) {
            self.chain.handle_input(Input::Timeout(now));
            got = true;
        }
        got
    }
}

/// Run both until `done` holds (true) or `limit` passes (false).
fn drive(nodes: &mut [Node; 2], limit: Duration, done: impl Fn(&[Node; 2]) -> bool) -> bool {
    let end = Instant::now() + limit;
    let mut buf = vec![0u8; 65536];
    loop {
        for n in nodes.iter_mut() {
            n.drain();
        }
        if done(nodes) {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        let mut got = false;
        for n in nodes.iter_mut() {
            got |= n.feed(&mut buf);
        }
        if !got {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

#[test]
fn a_strangers_dtls_records_neither_block_nor_close_the_connection() {
    let mut nodes = [Node::new(), Node::new()];
    let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (a_addr, b_addr) = (nodes[0].addr, nodes[1].addr);
    // Both ports get the record that used to end every handshake, before anything else.
    let blocker = dtls_plaintext(22, (1 << 48) - 1, &[0xab]);
    for to in [a_addr, b_addr] {
        stranger.send_to(&blocker, to).unwrap();
    }
    let [a, b] = &mut nodes;
    a.start(b, IceRole::Controlling);
    b.start(a, IceRole::Controlled);
    let id = nodes[0]
        .chain
        .sctp_transport_mut()
        .create_data_channel(&DataChannelParameters::new("chat"))
        .unwrap();
    let open = |n: &[Node; 2]| {
        n.iter().all(|n| {
            n.chain
                .sctp_transport()
                .channel(id)
                .is_some_and(|c| c.state == DataChannelState::Open)
        })
    };
    assert!(
        drive(&mut nodes, Duration::from_secs(10), open),
        "never opened"
    );

    // Close_notify and two fatal alerts, 15 bytes each, at both, numbered past anything
    // the peer sent (a number the peer already used was dropped as a replay even before).
    for (seq, alert) in [(1000, [1u8, 0u8]), (1001, [2, 40]), (1002, [2, 20])] {
        let d = dtls_plaintext(21, seq, &alert);
        assert_eq!(d.len(), 15);
        for to in [a_addr, b_addr] {
            stranger.send_to(&d, to).unwrap();
        }
    }
    // Long enough for the alerts to land and for any effect to show.
    let t = Instant::now();
    drive(&mut nodes, Duration::from_millis(300), |_| false);
    assert!(t.elapsed() >= Duration::from_millis(300));
    for n in &nodes {
        assert_eq!(
            n.chain.dtls_transport().state(),
            DtlsTransportState::Connected
        );
        assert_eq!(
            n.chain.sctp_transport().state(),
            SctpTransportState::Connected
        );
        let ice = n.chain.ice_transport().agent().stats();
        // The blocker and three alerts (a genuine datagram that overtook its address's
        // first check may add to it, harmlessly).
        assert!(ice.dropped_unverified_source >= 4, "{ice:?}");
        assert!(
            !n.events.iter().any(|e| matches!(
                e,
                OrtcEvent::DtlsStateChange(DtlsTransportState::Closed | DtlsTransportState::Failed)
            )),
            "{:?}",
            n.events
        );
    }
    assert!(open(&nodes));
    nodes[0]
        .chain
        .sctp_transport_mut()
        .send_text(id, "still here")
        .unwrap();
    nodes[1]
        .chain
        .sctp_transport_mut()
        .send_text(id, "me too")
        .unwrap();
    let got = |n: &Node, text: &str| {
        n.events.iter().any(|e| {
            matches!(e, OrtcEvent::DataChannel(DataChannelEvent::Message { data, .. }) if data == text)
        })
    };
    assert!(drive(&mut nodes, Duration::from_secs(5), |n| got(
        &n[1],
        "still here"
    ) && got(
        &n[0], "me too"
    )));
}
