//! The ORTC chain driven by a plain blocking `std::net::UdpSocket` loop: no async
//! runtime. Two endpoints in two threads exchange their parameters as JSON (the shapes
//! aiortc uses), connect, and one echoes what the other sends on a data channel.
//!
//! Run with `cargo run -p sansrtc-examples --bin custom-loop`.

use std::net::UdpSocket;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Instant;

use bytes::Bytes;
use sansrtc::crypto::default_provider;
use sansrtc::datachannel::DataChannelEvent;
use sansrtc::dtls::DtlsCertificate;
use sansrtc::engine::{Engine, EngineConfig};
use sansrtc::io::{Endpoint, Input, Output, Protocol, Receive};
use sansrtc::ortc::*;
use serde_json::{Value, json};

/// Build the chain on a fresh loopback socket, swap parameters with the peer, start it.
fn setup(role: IceRole, tx: Sender<Value>, rx: Receiver<Value>) -> (Engine, UdpSocket) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let cert = DtlsCertificate::generate(&*default_provider()).unwrap();
    // One engine holds every layer; the ORTC objects are views onto it.
    let mut engine = Engine::new(EngineConfig::with_certificate(cert), Instant::now());
    engine
        .ice_gatherer_mut()
        .gather(&[socket.local_addr().unwrap()])
        .unwrap();
    let gatherer = engine.ice_gatherer();
    tx.send(json!({
        "ice": gatherer.local_parameters(), "candidates": gatherer.local_candidates(),
        "dtls": engine.dtls_transport().local_parameters(),
        "sctp": engine.sctp_transport().capabilities(),
    }))
    .unwrap();
    let remote = rx.recv().unwrap();
    let mut ice = engine.ice_transport_mut();
    ice.start(&param(&remote, "ice"), role).unwrap();
    let candidates: Vec<IceCandidate> = param(&remote, "candidates");
    for c in candidates.iter().map(Some).chain([None]) {
        ice.add_remote_candidate(c).unwrap(); // `None`: end of candidates
    }
    engine
        .dtls_transport_mut()
        .start(&param(&remote, "dtls"))
        .unwrap();
    engine
        .sctp_transport_mut()
        .start(&param(&remote, "sctp"), 5000)
        .unwrap();
    (engine, socket)
}

fn param<T: serde::de::DeserializeOwned>(remote: &Value, key: &str) -> T {
    serde_json::from_value(remote[key].clone()).unwrap()
}

/// The whole event loop: send what the chain wants sent, sleep in `recv_from` until the
/// next deadline, feed back the datagram or the timeout. `on_event` may act on the chain;
/// it returns false to end the loop.
fn run(
    sctp: &mut Engine,
    socket: &UdpSocket,
    mut on_event: impl FnMut(&mut Engine, OrtcEvent) -> bool,
) {
    let local = socket.local_addr().unwrap();
    let mut buf = vec![0u8; 65536];
    // One buffer for everything the chain sends: it writes each transmit (a GSO batch
    // of equal-size datagrams on the data path) into it.
    let mut out = Vec::with_capacity(65536);
    sctp.handle_input(Input::Timeout(Instant::now()));
    loop {
        let mut events = Vec::new();
        let deadline = loop {
            match sctp.poll_output_into(&mut out) {
                Output::Transmit(t) => {
                    for d in out.chunks(t.segment_size.unwrap_or(t.size).max(1)) {
                        socket.send_to(d, t.destination).unwrap();
                    }
                }
                Output::Event(e) => events.push(e),
                Output::Timeout(at) => break at,
            }
        };
        for e in events {
            if !on_event(sctp, e) {
                return;
            }
        }
        let wait = deadline.saturating_duration_since(Instant::now());
        if wait.is_zero() {
            // Due now. (A socket timeout would round up to the kernel's tick, ~4 ms.)
            sctp.handle_input(Input::Timeout(Instant::now()));
            continue;
        }
        socket.set_read_timeout(Some(wait)).unwrap();
        let input = match socket.recv_from(&mut buf) {
            Ok((n, source)) => Input::Receive(Receive {
                now: Instant::now(),
                protocol: Protocol::Udp,
                source,
                destination: local,
                contents: Bytes::copy_from_slice(&buf[..n]),
            }),
            Err(_) => Input::Timeout(Instant::now()),
        };
        sctp.handle_input(input);
    }
}

fn main() {
    let ((tx_a, rx_b), (tx_b, rx_a)) = (channel(), channel());
    // The echo side: every message comes back on the channel it arrived on.
    let echo = std::thread::spawn(move || {
        let (mut sctp, socket) = setup(IceRole::Controlled, tx_b, rx_b);
        run(&mut sctp, &socket, |sctp, e| match e {
            OrtcEvent::DataChannel(DataChannelEvent::Message {
                channel,
                data,
                text,
                ..
            }) => {
                match text {
                    true => sctp
                        .sctp_transport_mut()
                        .send_text(channel, std::str::from_utf8(&data).unwrap()),
                    false => sctp.sctp_transport_mut().send_binary(channel, data),
                }
                .unwrap();
                true
            }
            OrtcEvent::DataChannel(DataChannelEvent::Closed(_)) => false,
            _ => true,
        });
    });
    let started = Instant::now();
    let (mut sctp, socket) = setup(IceRole::Controlling, tx_a, rx_a);
    let id = sctp
        .sctp_transport_mut()
        .create_data_channel(&DataChannelParameters::new("echo"))
        .unwrap();
    let mut echoed = 0;
    run(&mut sctp, &socket, |sctp, e| {
        match e {
            OrtcEvent::DataChannel(DataChannelEvent::Open(i)) if i == id => {
                println!("channel open after {:?}", started.elapsed());
                for i in 0..5 {
                    sctp.sctp_transport_mut()
                        .send_text(id, &format!("message {i}"))
                        .unwrap();
                }
            }
            OrtcEvent::DataChannel(DataChannelEvent::Message { data, .. }) => {
                println!("echoed: {}", String::from_utf8_lossy(&data));
                echoed += 1;
                if echoed == 5 {
                    sctp.sctp_transport_mut().close_channel(id).unwrap();
                }
            }
            OrtcEvent::DataChannel(DataChannelEvent::Closed(_)) => return false,
            _ => {}
        }
        true
    });
    echo.join().unwrap();
    println!("closed after {:?}", started.elapsed());
}
