//! Many peers on one socket: a server multiplexes a thousand ORTC chains (ICE, DTLS, SCTP,
//! a data channel each) behind one UDP address in the simulator.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use sansrtc::crypto::default_provider;
use sansrtc::datachannel::DataChannelEvent;
use sansrtc::dtls::DtlsCertificate;
use sansrtc::engine::Engine;
use sansrtc::io::{Endpoint, Input, Output, Protocol, Receive};
use sansrtc::mux::{ConnectionId, Mux};
use sansrtc::ortc::{DataChannelParameters, IceRole, OrtcEvent};
use sansrtc::sim::{HostConfig, LinkConfig, Sim};
use sansrtc::stun::{Class, MessageBuilder, Method, TransactionId};
use sansrtc_tests::ortc::{chain, start};

/// A host of the simulation: one client chain, or the server's mux of chains.
#[allow(clippy::large_enum_variant)]
enum Node {
    Client(Engine),
    Server(Mux<Engine>),
}

impl Endpoint for Node {
    type Event = (Option<ConnectionId>, OrtcEvent);

    fn handle_input(&mut self, input: Input) {
        match self {
            Node::Client(c) => c.handle_input(input),
            Node::Server(m) => m.handle_input(input),
        }
    }

    fn poll_output(&mut self) -> Output<Self::Event> {
        match self {
            Node::Client(c) => match c.poll_output() {
                Output::Transmit(t) => Output::Transmit(t),
                Output::Event(e) => Output::Event((None, e)),
                Output::Timeout(at) => Output::Timeout(at),
            },
            Node::Server(m) => match m.poll_output() {
                Output::Transmit(t) => Output::Transmit(t),
                Output::Event((id, e)) => Output::Event((Some(id), e)),
                Output::Timeout(at) => Output::Timeout(at),
            },
        }
    }
}

/// A thousand clients, each with its own address, connect to one server address; each
/// opens a channel and sends a message that reaches its own server-side chain. A
/// datagram from an address no peer uses is dropped and counted.
#[test]
fn a_thousand_connections_share_one_server_socket() {
    const N: usize = 1000;
    let p = default_provider();
    let (client_cert, server_cert) = (
        DtlsCertificate::generate(&*p).unwrap(),
        DtlsCertificate::generate(&*p).unwrap(),
    );
    let mut sim: Sim<Node> = Sim::new(5, Instant::now());
    sim.set_logging(false);
    let now = sim.now();
    let link = LinkConfig::new().latency(Duration::from_millis(10));
    let server_addr: SocketAddr = "198.51.100.1:3478".parse().unwrap();
    let server_host = sim.add_host(HostConfig::new(server_addr.ip()).link(link.clone()));

    let mut mux = Mux::new(now);
    let mut clients = Vec::with_capacity(N);
    let mut conn_of = Vec::with_capacity(N);
    for i in 0..N {
        let ip = IpAddr::V4(Ipv4Addr::new(10, (i >> 8) as u8, i as u8, 1));
        let addr = SocketAddr::new(ip, 5000);
        let mut client = chain(2 * i as u64 + 1, addr, &client_cert, now);
        let mut server = chain(2 * i as u64 + 2, server_addr, &server_cert, now);
        start(&mut client, &server, IceRole::Controlling);
        start(&mut server, &client, IceRole::Controlled);
        client
            .sctp_transport_mut()
            .create_data_channel(&DataChannelParameters::new(&format!("peer-{i}")))
            .unwrap();
        conn_of.push(mux.insert(server));
        let host = sim.add_host(HostConfig::new(ip).link(link.clone()));
        let id = sim.add_endpoint(host, Node::Client(client));
        sim.bind(id, addr);
        clients.push(id);
    }
    let server = sim.add_endpoint(server_host, Node::Server(mux));
    sim.bind(server, server_addr);

    // Every client sends its greeting once its channel is open; the server counts what
    // arrives on which connection.
    let mut greeted = vec![false; N];
    let mut heard = vec![None::<String>; N];
    let mut delivered = 0;
    let done = sim.run_until(Duration::from_secs(60), |s| {
        for (_, who, (conn, e)) in s.drain_events() {
            match (conn, e) {
                (None, OrtcEvent::DataChannel(DataChannelEvent::Open(ch))) => {
                    let i = clients.iter().position(|&c| c == who).unwrap();
                    greeted[i] = true;
                    let Node::Client(c) = s.endpoint_mut(who) else {
                        unreachable!()
                    };
                    c.sctp_transport_mut()
                        .send_text(ch, &format!("hello from {i}"))
                        .unwrap();
                }
                (Some(conn), OrtcEvent::DataChannel(DataChannelEvent::Message { data, .. })) => {
                    let i = conn_of.iter().position(|&c| c == conn).unwrap();
                    heard[i] = Some(String::from_utf8(data.to_vec()).unwrap());
                    delivered += 1;
                }
                _ => {}
            }
        }
        delivered == N
    });
    assert!(
        done,
        "{delivered} of {N} messages arrived; {} channels opened; {:?}",
        greeted.iter().filter(|g| **g).count(),
        server_stats(&sim, server)
    );
    for (i, h) in heard.iter().enumerate() {
        assert_eq!(h.as_deref(), Some(format!("hello from {i}").as_str()));
    }
    let stats = server_stats(&sim, server);
    assert!(stats.paths_learned >= N as u64, "{stats:?}");

    // A stranger: dropped, counted, no connection hears of it and nothing is sent.
    let before = stats.unknown_source;
    let now = sim.now();
    let Node::Server(m) = sim.endpoint_mut(server) else {
        unreachable!()
    };
    m.handle_input(Input::Receive(Receive {
        now,
        protocol: Protocol::Udp,
        source: "203.0.113.9:4000".parse().unwrap(),
        destination: server_addr,
        contents: vec![0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 9, 0, 1, 1].into(),
    }));
    assert!(matches!(m.poll_output(), Output::Timeout(_)));
    assert_eq!(m.stats().unknown_source, before + 1);

    // A check that names a connection's ufrag but cannot carry its password reaches that
    // connection (which refuses it) and teaches the mux no path: the stranger's next
    // datagram is still unknown.
    let ufrag = m
        .get(conn_of[0])
        .unwrap()
        .ice_transport()
        .local_parameters()
        .username_fragment;
    let forged = MessageBuilder::new(Class::Request, Method::Binding, TransactionId([7; 12]))
        .username(&format!("{ufrag}:x"))
        .finish_with_fingerprint();
    let (learned, by_ufrag) = (m.stats().paths_learned, m.stats().routed_by_ufrag);
    for contents in [forged, vec![0x17, 0xfe, 0xfd, 0, 1]] {
        m.handle_input(Input::Receive(Receive {
            now,
            protocol: Protocol::Udp,
            source: "203.0.113.9:4000".parse().unwrap(),
            destination: server_addr,
            contents: contents.into(),
        }));
        while let Output::Transmit(_) | Output::Event(_) = m.poll_output() {}
    }
    let after = m.stats();
    assert_eq!(after.routed_by_ufrag, by_ufrag + 1);
    assert_eq!(after.paths_learned, learned);
    assert_eq!(after.unknown_source, before + 2);
}

fn server_stats(sim: &Sim<Node>, server: sansrtc::sim::EndpointId) -> sansrtc::mux::MuxStats {
    match sim.endpoint(server) {
        Node::Server(m) => m.stats(),
        Node::Client(_) => unreachable!(),
    }
}
