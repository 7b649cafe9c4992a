//! Our ORTC chain against aiortc's ORTC objects over real loopback UDP. The Python peer
//! runs in the venv `scripts/install-aiortc` builds (the README's test command does).

use std::time::{Duration, Instant};

use bytes::Bytes;
use sansrtc::datachannel::{DataChannelEvent, DataChannelState};
use sansrtc::dtls::DtlsRole;
use sansrtc::ortc::{DataChannelParameters, IceRole, OrtcEvent};
use sansrtc_tests::aiortc::{Ours, Peer, b64, expect_line, run_until, unb64};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(20);

/// Launch, exchange parameters, wait for both ends' DTLS and SCTP; prints what was
/// negotiated and how long it took.
fn connect(our_role: IceRole, peer_args: &[&str], max_message: usize) -> (Ours, Peer) {
    let peer_role = if our_role == IceRole::Controlling {
        IceRole::Controlled
    } else {
        IceRole::Controlling
    };
    let mut peer = Peer::launch(peer_role, peer_args);
    let mut ours = Ours::new(42, max_message);
    let started = Instant::now();
    ours.start(&peer.hello.clone(), our_role);
    peer.send(&ours.start_command(peer_role == IceRole::Controlling));
    let connected = expect_line(&mut ours, &mut peer, T, "aiortc's DTLS connected", |v| {
        v["type"] == "connected"
    });
    run_until(&mut ours, &mut peer, T, "our SCTP connected", |o, _| {
        o.chain.state() == sansrtc::ortc::SctpTransportState::Connected
    });
    println!(
        "aiortc {}: {} {} {}, ICE {} / DTLS {} on their side; ours {:?}; our SCTP up after {:?}",
        peer.hello["versions"]["aiortc"],
        connected["dtlsVersion"],
        connected["cipherSuiteIana"],
        connected["srtpProfile"],
        connected["iceRole"],
        connected["dtlsRole"],
        ours.chain.transport().cipher_suite(),
        started.elapsed()
    );
    let our_dtls = ours.chain.transport().role().unwrap();
    let expected = if our_role == IceRole::Controlling {
        DtlsRole::Server
    } else {
        DtlsRole::Client
    };
    assert_eq!(our_dtls, expected, "DTLS role auto follows the ICE role");
    assert_eq!(
        connected["dtlsRole"],
        if expected == DtlsRole::Server {
            "client"
        } else {
            "server"
        }
    );
    assert_eq!(connected["dtlsVersion"], "DTLSv1.2");
    (ours, peer)
}

fn our_messages(ours: &Ours, id: u16) -> Vec<(Bytes, bool)> {
    ours.events
        .iter()
        .filter_map(|(_, e)| match e {
            OrtcEvent::DataChannel(DataChannelEvent::Message { id: i, data, text }) if *i == id => {
                Some((data.clone(), *text))
            }
            _ => None,
        })
        .collect()
}

fn open_ours(ours: &mut Ours, peer: &mut Peer, p: &DataChannelParameters) -> u16 {
    let id = ours.chain.create_data_channel(p).unwrap();
    run_until(ours, peer, T, "our channel open", |o, _| {
        o.chain
            .channel(id)
            .is_some_and(|c| c.state == DataChannelState::Open)
    });
    id
}

fn stop(mut ours: Ours, mut peer: Peer) {
    peer.send(&json!({"type": "stop"}));
    expect_line(&mut ours, &mut peer, T, "stopped", |v| {
        v["type"] == "stopped"
    });
    // aiortc's SCTP stop is an ABORT: our association closes with it.
    run_until(&mut ours, &mut peer, T, "our SCTP closed", |o, _| {
        o.chain.state() == sansrtc::ortc::SctpTransportState::Closed
    });
}

#[test]
fn controlling_server_channels_both_ways_text_binary_empty() {
    let (mut ours, mut peer) = connect(IceRole::Controlling, &[], 256 * 1024);
    // A channel from our side; the peer echoes it.
    let id = open_ours(&mut ours, &mut peer, &DataChannelParameters::new("from-us"));
    run_until(&mut ours, &mut peer, T, "their channel", |_, p| {
        p.find(|v| v["type"] == "channel" && v["origin"] == "remote" && v["label"] == "from-us")
            .is_some()
    });
    peer.send(&json!({"type": "echo", "id": id, "on": true}));
    ours.chain.send_text(id, "hello aiortc").unwrap();
    ours.chain
        .send_binary(id, Bytes::from_static(&[0, 1, 2, 255]))
        .unwrap();
    ours.chain.send_text(id, "").unwrap();
    ours.chain.send_binary(id, Bytes::new()).unwrap();
    run_until(&mut ours, &mut peer, T, "echoes", |o, _| {
        our_messages(o, id).len() == 4
    });
    assert_eq!(
        our_messages(&ours, id),
        [
            (Bytes::from_static(b"hello aiortc"), true),
            (Bytes::from_static(&[0, 1, 2, 255]), false),
            (Bytes::new(), true),
            (Bytes::new(), false),
        ]
    );
    // A channel from theirs.
    peer.send(&json!({"type": "open", "label": "from-aiortc", "protocol": "p"}));
    let ch = expect_line(&mut ours, &mut peer, T, "their channel id", |v| {
        v["type"] == "channel" && v["origin"] == "local"
    });
    let their = ch["id"].as_u64().unwrap() as u16;
    assert_eq!(their % 2, 0, "aiortc is the DTLS client: even ids");
    run_until(&mut ours, &mut peer, T, "incoming channel", |o, _| {
        o.chain
            .channel(their)
            .is_some_and(|c| c.state == DataChannelState::Open)
    });
    let info = ours.chain.channel(their).unwrap();
    assert_eq!(
        (info.label.as_str(), info.protocol.as_str()),
        ("from-aiortc", "p")
    );
    peer.send(&json!({"type": "send", "id": their, "text": "from python"}));
    peer.send(&json!({"type": "send", "id": their, "binary": b64(&[9, 8, 7])}));
    peer.send(&json!({"type": "send", "id": their, "binary": ""}));
    run_until(&mut ours, &mut peer, T, "their messages", |o, _| {
        our_messages(o, their).len() == 3
    });
    assert_eq!(
        our_messages(&ours, their),
        [
            (Bytes::from_static(b"from python"), true),
            (Bytes::from_static(&[9, 8, 7]), false),
            (Bytes::new(), false),
        ]
    );
    ours.chain.send_text(their, "back at you").unwrap();
    let m = expect_line(&mut ours, &mut peer, T, "our message", |v| {
        v["type"] == "message" && v["id"] == their
    });
    assert_eq!(m["text"], "back at you");
    let _ = unb64;
    stop(ours, peer);
}

#[test]
fn controlled_client_connects_and_talks() {
    let (mut ours, mut peer) = connect(IceRole::Controlled, &[], 256 * 1024);
    let id = open_ours(&mut ours, &mut peer, &DataChannelParameters::new("c"));
    assert_eq!(id % 2, 0, "we are the DTLS client: even ids");
    peer.send(&json!({"type": "echo", "id": id, "on": true}));
    ours.chain.send_text(id, "ping").unwrap();
    run_until(&mut ours, &mut peer, T, "echo", |o, _| {
        our_messages(o, id).len() == 1
    });
    let _: Vec<Value> = Vec::new();
    stop(ours, peer);
}
