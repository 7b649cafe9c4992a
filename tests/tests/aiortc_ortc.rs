//! Our ORTC chain against aiortc's ORTC objects over real loopback UDP. The Python peer
//! runs in the venv `scripts/install-aiortc` builds (the README's test command does).

use std::time::{Duration, Instant};

use bytes::Bytes;
use sansrtc::datachannel::{ChannelId, DataChannelEvent, DataChannelState};
use sansrtc::dtls::DtlsRole;
use sansrtc::ortc::{DataChannelParameters, IceRole, OrtcEvent};
use sansrtc_tests::aiortc::{Ours, Peer, b64, expect_line, run_until, unb64};
use serde_json::json;

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
        o.chain.sctp_transport().state() == sansrtc::ortc::SctpTransportState::Connected
    });
    println!(
        "aiortc {}: {} {} {}, ICE {} / DTLS {} on their side; ours {:?}; our SCTP up after {:?}",
        peer.hello["versions"]["aiortc"],
        connected["dtlsVersion"],
        connected["cipherSuiteIana"],
        connected["srtpProfile"],
        connected["iceRole"],
        connected["dtlsRole"],
        ours.chain.dtls_transport().cipher_suite(),
        started.elapsed()
    );
    let our_dtls = ours.chain.dtls_transport().role().unwrap();
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

fn our_messages(ours: &Ours, ch: ChannelId) -> Vec<(Bytes, bool)> {
    ours.events
        .iter()
        .filter_map(|(_, e)| match e {
            OrtcEvent::DataChannel(DataChannelEvent::Message {
                channel,
                data,
                text,
                ..
            }) if *channel == ch => Some((data.clone(), *text)),
            _ => None,
        })
        .collect()
}

/// Our channel on stream `id` (the peer names channels by stream id).
fn on_stream(ours: &Ours, id: u16) -> Option<ChannelId> {
    ours.chain
        .sctp_transport()
        .data_channels()?
        .channel_on_stream(id)
}

/// A channel of ours, once open: its handle and its stream id.
fn open_ours(ours: &mut Ours, peer: &mut Peer, p: &DataChannelParameters) -> (ChannelId, u16) {
    let ch = ours
        .chain
        .sctp_transport_mut()
        .create_data_channel(p)
        .unwrap();
    run_until(ours, peer, T, "our channel open", |o, _| {
        o.chain
            .sctp_transport()
            .channel(ch)
            .is_some_and(|c| c.state == DataChannelState::Open)
    });
    let id = ours.chain.sctp_transport().channel(ch).unwrap().id.unwrap();
    if !p.negotiated {
        // Open here once the association is (the OPEN is queued first); the peer knows
        // the channel once the OPEN arrives, and the test then talks to it about it.
        run_until(ours, peer, T, "the peer's view of our channel", |_, p| {
            p.find(|v| v["type"] == "channel" && v["origin"] == "remote" && v["id"] == id)
                .is_some()
        });
    }
    (ch, id)
}

fn stop(mut ours: Ours, mut peer: Peer) {
    peer.send(&json!({"type": "stop"}));
    expect_line(&mut ours, &mut peer, T, "stopped", |v| {
        v["type"] == "stopped"
    });
    // aiortc's SCTP stop is an ABORT: our association closes with it.
    run_until(&mut ours, &mut peer, T, "our SCTP closed", |o, _| {
        o.chain.sctp_transport().state() == sansrtc::ortc::SctpTransportState::Closed
    });
}

#[test]
fn controlling_server_channels_both_ways_text_binary_empty() {
    let (mut ours, mut peer) = connect(IceRole::Controlling, &[], 256 * 1024);
    // A channel from our side; the peer echoes it.
    let (ch, id) = open_ours(&mut ours, &mut peer, &DataChannelParameters::new("from-us"));
    run_until(&mut ours, &mut peer, T, "their channel", |_, p| {
        p.find(|v| v["type"] == "channel" && v["origin"] == "remote" && v["label"] == "from-us")
            .is_some()
    });
    peer.send(&json!({"type": "echo", "id": id, "on": true}));
    ours.chain
        .sctp_transport_mut()
        .send_text(ch, "hello aiortc")
        .unwrap();
    ours.chain
        .sctp_transport_mut()
        .send_binary(ch, Bytes::from_static(&[0, 1, 2, 255]))
        .unwrap();
    ours.chain.sctp_transport_mut().send_text(ch, "").unwrap();
    ours.chain
        .sctp_transport_mut()
        .send_binary(ch, Bytes::new())
        .unwrap();
    run_until(&mut ours, &mut peer, T, "echoes", |o, _| {
        our_messages(o, ch).len() == 4
    });
    assert_eq!(
        our_messages(&ours, ch),
        [
            (Bytes::from_static(b"hello aiortc"), true),
            (Bytes::from_static(&[0, 1, 2, 255]), false),
            (Bytes::new(), true),
            (Bytes::new(), false),
        ]
    );
    // A channel from theirs.
    peer.send(&json!({"type": "open", "label": "from-aiortc", "protocol": "p"}));
    let line = expect_line(&mut ours, &mut peer, T, "their channel id", |v| {
        v["type"] == "channel" && v["origin"] == "local"
    });
    let their = line["id"].as_u64().unwrap() as u16;
    assert_eq!(their % 2, 0, "aiortc is the DTLS client: even ids");
    run_until(&mut ours, &mut peer, T, "incoming channel", |o, _| {
        on_stream(o, their).is_some_and(|ch| {
            o.chain
                .sctp_transport()
                .channel(ch)
                .is_some_and(|c| c.state == DataChannelState::Open)
        })
    });
    let their_ch = on_stream(&ours, their).unwrap();
    let info = ours.chain.sctp_transport().channel(their_ch).unwrap();
    assert_eq!(
        (info.label.as_str(), info.protocol.as_str()),
        ("from-aiortc", "p")
    );
    peer.send(&json!({"type": "send", "id": their, "text": "from python"}));
    peer.send(&json!({"type": "send", "id": their, "binary": b64(&[9, 8, 7])}));
    peer.send(&json!({"type": "send", "id": their, "binary": ""}));
    run_until(&mut ours, &mut peer, T, "their messages", |o, _| {
        our_messages(o, their_ch).len() == 3
    });
    assert_eq!(
        our_messages(&ours, their_ch),
        [
            (Bytes::from_static(b"from python"), true),
            (Bytes::from_static(&[9, 8, 7]), false),
            (Bytes::new(), false),
        ]
    );
    ours.chain
        .sctp_transport_mut()
        .send_text(their_ch, "back at you")
        .unwrap();
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
    let (ch, id) = open_ours(&mut ours, &mut peer, &DataChannelParameters::new("c"));
    assert_eq!(id % 2, 0, "we are the DTLS client: even ids");
    peer.send(&json!({"type": "echo", "id": id, "on": true}));
    ours.chain
        .sctp_transport_mut()
        .send_text(ch, "ping")
        .unwrap();
    run_until(&mut ours, &mut peer, T, "echo", |o, _| {
        our_messages(o, ch).len() == 1
    });
    // We stop first: a graceful SCTP SHUTDOWN, then DTLS close_notify; aiortc sees both.
    ours.chain.sctp_transport_mut().stop();
    run_until(&mut ours, &mut peer, T, "our SCTP shut down", |o, _| {
        o.chain.sctp_transport().state() == sansrtc::ortc::SctpTransportState::Closed
    });
    expect_line(
        &mut ours,
        &mut peer,
        T,
        "aiortc sees the channel close",
        |v| v["type"] == "channelState" && v["id"] == id && v["state"] == "closed",
    );
    ours.chain.dtls_transport_mut().stop();
    expect_line(&mut ours, &mut peer, T, "aiortc's DTLS closed", |v| {
        v["type"] == "state" && v["transport"] == "dtls" && v["state"] == "closed"
    });
    assert_eq!(
        ours.chain.dtls_transport().state(),
        sansrtc::ortc::DtlsTransportState::Closed
    );
    ours.chain.ice_transport_mut().stop();
    peer.send(&json!({"type": "stop"}));
    expect_line(&mut ours, &mut peer, T, "stopped", |v| {
        v["type"] == "stopped"
    });
}

/// Send `total` bytes of the bulk stream on `id` in `size`-byte messages, keeping at most
/// 4 MiB queued (back-pressure by `bufferedAmount`), while driving the loop.
fn bulk_send(
    ours: &mut Ours,
    peer: &mut Peer,
    id: ChannelId,
    seed: u64,
    total: usize,
    size: usize,
) {
    let stream = sansrtc_examples::bulk::BulkStream::new(seed);
    let mut at = 0;
    run_until(
        ours,
        peer,
        Duration::from_secs(120),
        "our bulk send",
        |o, _| {
            while at < total && o.chain.sctp_transport().buffered_amount(id) < 4 << 20 {
                let n = size.min(total - at);
                o.chain
                    .sctp_transport_mut()
                    .send_binary(id, Bytes::copy_from_slice(stream.read(at, n)))
                    .unwrap();
                at += n;
            }
            at == total && o.chain.sctp_transport().buffered_amount(id) == 0
        },
    );
}

#[test]
fn large_messages_and_bulk_both_ways_with_checksums() {
    // aiortc advertises 256 KiB; both ends accept 2 MiB here for the 1 MiB message.
    let (mut ours, mut peer) = connect(
        IceRole::Controlling,
        &["--max-message-size", "2097152"],
        2 << 20,
    );
    let (ch, id) = open_ours(&mut ours, &mut peer, &DataChannelParameters::new("bulk"));
    // One 1 MiB message each way.
    let stream = sansrtc_examples::bulk::BulkStream::new(3);
    let mib = Bytes::copy_from_slice(stream.read(0, 1 << 20));
    peer.send(&json!({"type": "expect", "id": id, "bytes": 1 << 20}));
    ours.chain
        .sctp_transport_mut()
        .send_binary(ch, mib.clone())
        .unwrap();
    let r = expect_line(&mut ours, &mut peer, T, "1 MiB received", |v| {
        v["type"] == "received" && v["bytes"] == 1 << 20
    });
    assert_eq!(r["sha256"], stream.sha256(1 << 20));
    peer.send(
        &json!({"type": "bulk", "id": id, "bytes": 1 << 20, "messageSize": 1 << 20, "seed": 3}),
    );
    run_until(&mut ours, &mut peer, T, "1 MiB from aiortc", |o, _| {
        our_messages(o, ch).len() == 1
    });
    assert_eq!(our_messages(&ours, ch)[0].0, mib);
    // 20 MiB in 64 KiB messages, us → aiortc.
    let total = 20 << 20;
    let bulk = sansrtc_examples::bulk::BulkStream::new(1);
    peer.send(&json!({"type": "expect", "id": id, "bytes": total}));
    let t0 = Instant::now();
    bulk_send(&mut ours, &mut peer, ch, 1, total, 64 << 10);
    let r = expect_line(
        &mut ours,
        &mut peer,
        Duration::from_secs(120),
        "20 MiB received",
        |v| v["type"] == "received" && v["bytes"] == total,
    );
    assert_eq!(
        r["sha256"],
        bulk.sha256(total),
        "us → aiortc bytes intact and in order"
    );
    println!(
        "us → aiortc, 20 MiB in 64 KiB messages: {:.1} Mbit/s (aiortc measured {} Mbit/s)",
        total as f64 * 8.0 / t0.elapsed().as_secs_f64() / 1e6,
        r["mbps"]
    );
    // 20 MiB aiortc → us.
    ours.events.clear();
    let t0 = Instant::now();
    peer.send(&json!({"type": "bulk", "id": id, "bytes": total, "messageSize": 65536, "seed": 2}));
    let mut got = 0usize;
    let mut hash = sha2_hasher();
    run_until(
        &mut ours,
        &mut peer,
        Duration::from_secs(120),
        "20 MiB from aiortc",
        |o, _| {
            for (_, e) in o.events.drain(..) {
                if let OrtcEvent::DataChannel(DataChannelEvent::Message { channel, data, .. }) = e
                    && channel == ch
                {
                    got += data.len();
                    sha2::Digest::update(&mut hash, &data);
                }
            }
            got >= total
        },
    );
    let secs = t0.elapsed().as_secs_f64();
    assert_eq!(got, total);
    let ours_hex = sansrtc_tests::aiortc::hex(&sha2::Digest::finalize(hash));
    let sent = expect_line(&mut ours, &mut peer, T, "bulkSent", |v| {
        v["type"] == "bulkSent" && v["bytes"] == total
    });
    assert_eq!(
        sent["sha256"], ours_hex,
        "aiortc → us bytes intact and in order"
    );
    assert_eq!(
        ours_hex,
        sansrtc_examples::bulk::BulkStream::new(2).sha256(total)
    );
    println!(
        "aiortc → us, 20 MiB in 64 KiB messages: {:.1} Mbit/s",
        total as f64 * 8.0 / secs / 1e6
    );
    stop(ours, peer);
}

fn sha2_hasher() -> sha2::Sha256 {
    <sha2::Sha256 as sha2::Digest>::new()
}

#[test]
fn unordered_unreliable_negotiated_and_closing_from_each_side() {
    let (mut ours, mut peer) = connect(IceRole::Controlled, &[], 256 * 1024);
    // Unordered, maxRetransmits 0, from our side: DCEP carries the type.
    let p = DataChannelParameters {
        label: "lossy".into(),
        ordered: false,
        max_retransmits: Some(0),
        ..Default::default()
    };
    let (lossy_ch, lossy) = open_ours(&mut ours, &mut peer, &p);
    run_until(
        &mut ours,
        &mut peer,
        T,
        "their view of the lossy channel",
        |_, p| {
            p.find(|v| v["type"] == "channel" && v["label"] == "lossy")
                .is_some()
        },
    );
    let ch = peer
        .find(|v| v["type"] == "channel" && v["label"] == "lossy")
        .unwrap()
        .clone();
    assert_eq!(
        (ch["ordered"].as_bool(), ch["maxRetransmits"].as_u64()),
        (Some(false), Some(0))
    );
    peer.send(&json!({"type": "echo", "id": lossy, "on": true}));
    for i in 0..20 {
        ours.chain
            .sctp_transport_mut()
            .send_text(lossy_ch, &format!("u{i}"))
            .unwrap();
    }
    // Loopback loses nothing: all twenty come back, in whatever order.
    run_until(&mut ours, &mut peer, T, "unordered echoes", |o, _| {
        our_messages(o, lossy_ch).len() == 20
    });
    let mut back: Vec<String> = our_messages(&ours, lossy_ch)
        .into_iter()
        .map(|(d, _)| String::from_utf8(d.to_vec()).unwrap())
        .collect();
    back.sort();
    let mut sent: Vec<String> = (0..20).map(|i| format!("u{i}")).collect();
    sent.sort();
    assert_eq!(back, sent);
    // A negotiated channel with a pre-agreed id on both sides: no DCEP.
    let neg = DataChannelParameters {
        label: "neg".into(),
        negotiated: true,
        id: Some(42),
        ..Default::default()
    };
    peer.send(&json!({"type": "open", "label": "neg", "negotiated": true, "id": 42}));
    let (neg_ch, id) = open_ours(&mut ours, &mut peer, &neg);
    assert_eq!(id, 42);
    expect_line(
        &mut ours,
        &mut peer,
        T,
        "their negotiated channel open",
        |v| v["type"] == "channelState" && v["id"] == 42 && v["state"] == "open",
    );
    peer.send(&json!({"type": "send", "id": 42, "text": "agreed"}));
    run_until(&mut ours, &mut peer, T, "negotiated message", |o, _| {
        our_messages(o, neg_ch).len() == 1
    });
    ours.chain
        .sctp_transport_mut()
        .send_binary(neg_ch, Bytes::from_static(b"yes"))
        .unwrap();
    let m = expect_line(&mut ours, &mut peer, T, "our negotiated message", |v| {
        v["type"] == "message" && v["id"] == 42
    });
    assert_eq!(unb64(m["binary"].as_str().unwrap()), b"yes");
    // Close from our side: aiortc sees it close.
    ours.chain
        .sctp_transport_mut()
        .close_channel(lossy_ch)
        .unwrap();
    expect_line(&mut ours, &mut peer, T, "aiortc sees our close", |v| {
        v["type"] == "channelState" && v["id"] == lossy && v["state"] == "closed"
    });
    run_until(&mut ours, &mut peer, T, "our side closed", |o, _| {
        o.chain
            .sctp_transport()
            .channel(lossy_ch)
            .is_none_or(|c| c.state == DataChannelState::Closed)
    });
    // Close from theirs: we see it close.
    peer.send(&json!({"type": "close", "id": 42}));
    run_until(&mut ours, &mut peer, T, "we see their close", |o, _| {
        o.events
            .iter()
            .any(|(_, e)| *e == OrtcEvent::DataChannel(DataChannelEvent::Closed(neg_ch)))
    });
    expect_line(&mut ours, &mut peer, T, "their side closed", |v| {
        v["type"] == "channelState" && v["id"] == 42 && v["state"] == "closed"
    });
    stop(ours, peer);
}
