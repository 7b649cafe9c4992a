//! Our SCTP association and data channels against usrsctp (Debian's libusrsctp, the
//! stack Firefox used for years), SCTP packets carried bare in loopback UDP datagrams.
//! Every case runs in both roles: usrsctp sends the INIT, or we do.

use std::time::{Duration, Instant};

use bytes::Bytes;

use sansrtc::datachannel::{ChannelId, DataChannelEvent, DataChannelInit};
use sansrtc_tests::usrsctp::{
    Session, Setup, chunk_types, content, fnv1a, random_loss, usrsctp_pair,
};

const SECS: Duration = Duration::from_secs(10);

/// Both roles: usrsctp connects (`true`) or we do.
const ROLES: [bool; 2] = [false, true];

/// Launches a session and waits until both ends call the association up.
fn up(setup: Setup) -> Session {
    let mut s = Session::launch(setup);
    s.expect_line("up ", SECS);
    s.expect_event("association established", SECS, |e| {
        matches!(e, DataChannelEvent::AssociationEstablished).then_some(())
    });
    s
}

fn setup(peer_connects: bool) -> Setup {
    Setup {
        peer_connects,
        ..Setup::default()
    }
}

/// A stream id of the peer's parity (the SCTP client plays DTLS client: even ids).
fn their_id(peer_connects: bool, n: u16) -> u16 {
    2 * n + u16::from(!peer_connects)
}

/// A `msg SID PPID o|u LEN HASH` line, parsed.
fn parse_msg(line: &str) -> (u16, u32, bool, usize, u64) {
    let f: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(f.len(), 6, "bad msg line {line:?}");
    (
        f[1].parse().unwrap(),
        f[2].parse().unwrap(),
        f[3] == "u",
        f[4].parse().unwrap(),
        u64::from_str_radix(f[5], 16).unwrap(),
    )
}

/// Opens a channel the peer asks for (`open SID LABEL`) and returns our id for it.
fn accept_theirs(s: &mut Session, sid: u16, label: &str) -> ChannelId {
    s.command(&format!("open {sid} {label}"));
    let info = s.expect_event("incoming channel", SECS, |e| match e {
        DataChannelEvent::Incoming(info) => Some(info.clone()),
        _ => None,
    });
    assert_eq!(info.label, label);
    assert_eq!(info.id, Some(sid));
    s.expect_line(&format!("dcep-ack {sid}"), SECS);
    s.ours
        .channel_on_stream(sid)
        .expect("a channel on the stream")
}

/// The messages we got on `ch`, removed from the event queue, in arrival order.
fn take_messages(s: &mut Session, ch: ChannelId) -> Vec<(Bytes, u32, bool)> {
    let mut out = Vec::new();
    s.events.retain(|e| match e {
        DataChannelEvent::Message {
            channel,
            data,
            ppid,
            unordered,
            ..
        } if *channel == ch => {
            out.push((data.clone(), ppid.0, *unordered));
            false
        }
        _ => true,
    });
    out
}

/// Channels both ways over DCEP (RFC 8832), with messages sent before the peer's ACK
/// (§6) and content checked each way.
#[test]
fn channels_open_both_ways_and_carry_messages() {
    for peer_connects in ROLES {
        let mut s = up(setup(peer_connects));
        // Ours: the first message goes right after DATA_CHANNEL_OPEN, before the ACK.
        let ch = s.ours.create("ours", DataChannelInit::default()).unwrap();
        s.ours.send_text(ch, "sent before the ACK").unwrap();
        let sid = s.ours.channel(ch).unwrap().id.unwrap();
        let open = s.expect_line("dcep-open ", SECS);
        assert_eq!(open, format!("dcep-open {sid} ours"));
        let (msid, ppid, unordered, len, hash) = parse_msg(&s.expect_line("msg ", SECS));
        assert_eq!((msid, ppid, unordered), (sid, 51, false));
        assert_eq!(len, "sent before the ACK".len());
        assert_eq!(hash, fnv1a(b"sent before the ACK"));
        s.expect_event("our channel open", SECS, |e| {
            matches!(e, DataChannelEvent::Open(c) if *c == ch).then_some(())
        });

        // Theirs: opened by usrsctp, acknowledged by us.
        let tsid = their_id(peer_connects, 0);
        let theirs = accept_theirs(&mut s, tsid, "theirs");
        s.command(&format!("send {tsid} 53 o 1000 5"));
        s.expect_line(&format!("sent {tsid} 5"), SECS);
        s.run_until(SECS, "5 messages", |s| {
            s.events
                .iter()
                .filter(|e| matches!(e, DataChannelEvent::Message { .. }))
                .count()
                >= 5
        });
        let got = take_messages(&mut s, theirs);
        assert_eq!(got.len(), 5);
        for (i, (data, ppid, unordered)) in got.into_iter().enumerate() {
            assert_eq!(&data[..], &content(tsid, i as u32, 1000)[..], "message {i}");
            assert_eq!((ppid, unordered), (53, false));
        }
        // And ours on their channel.
        let body = content(7, 7, 3000);
        s.ours
            .send_binary(theirs, Bytes::from(body.clone()))
            .unwrap();
        let (msid, ppid, _, len, hash) = parse_msg(&s.expect_line(&format!("msg {tsid} "), SECS));
        assert_eq!((msid, ppid, len, hash), (tsid, 53, 3000, fnv1a(&body)));
    }
}

/// 10 MiB each way in 64 KiB messages on a reliable ordered channel: every message
/// arrives once, in order, intact. Prints the rates beside usrsctp's own.
#[test]
fn bulk_both_ways() {
    const N: u32 = 160;
    const LEN: usize = 65536;
    for peer_connects in ROLES {
        let mut s = up(setup(peer_connects));
        let tsid = their_id(peer_connects, 0);
        let theirs = accept_theirs(&mut s, tsid, "bulk");

        // usrsctp → us.
        let t = Instant::now();
        s.command(&format!("send {tsid} 53 o {LEN} {N}"));
        let mut got = 0u32;
        s.run_until(Duration::from_secs(60), "bulk from usrsctp", |s| {
            for (data, ppid, _) in take_messages(s, theirs) {
                assert_eq!(ppid, 53);
                assert!(
                    data[..] == content(tsid, got, LEN)[..],
                    "message {got} from usrsctp differs"
                );
                got += 1;
            }
            got == N
        });
        let inbound = (N as usize * LEN) as f64 * 8.0 / t.elapsed().as_secs_f64() / 1e6;

        // us → usrsctp, keeping at most 4 MiB queued.
        let ch = s.ours.create("out", DataChannelInit::default()).unwrap();
        let sid = s.ours.channel(ch).unwrap().id.unwrap();
        let t = Instant::now();
        let mut sent = 0u32;
        let mut seen = 0u32;
        s.run_until(Duration::from_secs(60), "bulk to usrsctp", |s| {
            while sent < N && s.ours.buffered_amount(ch) < 4 << 20 {
                let body = Bytes::from(content(sid, sent, LEN));
                s.ours.send_binary(ch, body).unwrap();
                sent += 1;
            }
            let lines: Vec<String> = s
                .log
                .iter()
                .filter(|l| l.starts_with(&format!("msg {sid} ")))
                .cloned()
                .collect();
            for line in &lines[seen as usize..] {
                let (_, ppid, unordered, len, hash) = parse_msg(line);
                assert_eq!((ppid, unordered, len), (53, false, LEN));
                assert_eq!(
                    hash,
                    fnv1a(&content(sid, seen, LEN)),
                    "message {seen} to usrsctp"
                );
                seen += 1;
            }
            seen == N
        });
        let outbound = (N as usize * LEN) as f64 * 8.0 / t.elapsed().as_secs_f64() / 1e6;
        let st = s.ours.association().stats();
        println!(
            "to usrsctp: {} packets, {} retransmissions ({} fast, {} T3); cwnd {} peer window {} srtt {:?}",
            st.packets_sent,
            st.retransmissions,
            st.fast_retransmits,
            st.t3_expiries,
            s.ours.association().cwnd(),
            s.ours.association().peer_receive_window(),
            s.ours.association().srtt()
        );
        drop(s);

        // The reference: usrsctp to usrsctp, through the relay.
        let (mut a, mut b) = usrsctp_pair(&[]);
        a.wait_line("up ", SECS);
        b.wait_line("up ", SECS);
        let t = Instant::now();
        a.command(&format!("send 0 53 o {LEN} {N}"));
        for i in 0..N {
            let (_, _, _, len, hash) = parse_msg(&b.wait_line("msg 0 ", Duration::from_secs(60)));
            assert_eq!((len, hash), (LEN, fnv1a(&content(0, i, LEN))));
        }
        let reference = (N as usize * LEN) as f64 * 8.0 / t.elapsed().as_secs_f64() / 1e6;
        println!(
            "usrsctp {}: from usrsctp {inbound:.0} Mbit/s, to usrsctp {outbound:.0} Mbit/s; usrsctp to usrsctp {reference:.0} Mbit/s",
            if peer_connects { "connects" } else { "listens" }
        );
    }
}

/// Unordered messages each way carry the U bit and arrive, every one.
#[test]
fn unordered_messages_both_ways() {
    for peer_connects in ROLES {
        let mut s = up(setup(peer_connects));
        let tsid = their_id(peer_connects, 0);
        let theirs = accept_theirs(&mut s, tsid, "u");
        s.command(&format!("send {tsid} 53 u 2000 40"));
        s.run_until(SECS, "40 unordered messages", |s| {
            s.events
                .iter()
                .filter(|e| matches!(e, DataChannelEvent::Message { .. }))
                .count()
                >= 40
        });
        let mut got = take_messages(&mut s, theirs);
        assert!(got.iter().all(|(_, ppid, u)| *ppid == 53 && *u));
        got.sort_by_key(|(d, _, _)| fnv1a(d));
        let mut want: Vec<Vec<u8>> = (0..40).map(|i| content(tsid, i, 2000)).collect();
        want.sort_by_key(|d| fnv1a(d));
        assert!(
            got.iter()
                .map(|(d, _, _)| &d[..])
                .eq(want.iter().map(|d| &d[..]))
        );

        // Until the peer's ACK is in, messages go ordered so that they cannot overtake
        // the DATA_CHANNEL_OPEN (RFC 8832 §6); after it, unordered.
        let ch = s
            .ours
            .create(
                "ours-u",
                DataChannelInit {
                    ordered: false,
                    ..Default::default()
                },
            )
            .unwrap();
        let sid = s.ours.channel(ch).unwrap().id.unwrap();
        for i in 0..20 {
            s.ours
                .send_binary(ch, Bytes::from(content(sid, i, 2000)))
                .unwrap();
        }
        s.run_until(SECS, "20 at usrsctp", |s| {
            s.lines_with(&format!("msg {sid} ")).len() == 20
        });
        let settle = Instant::now() + Duration::from_millis(300);
        s.run_until(SECS, "the ACK to arrive", |_| Instant::now() > settle);
        for i in 20..40 {
            s.ours
                .send_binary(ch, Bytes::from(content(sid, i, 2000)))
                .unwrap();
        }
        s.run_until(SECS, "40 at usrsctp", |s| {
            s.lines_with(&format!("msg {sid} ")).len() == 40
        });
        let mut hashes: Vec<u64> = Vec::new();
        for (i, l) in s.lines_with(&format!("msg {sid} ")).into_iter().enumerate() {
            let (_, ppid, unordered, _, h) = parse_msg(l);
            assert_eq!((ppid, unordered), (53, i >= 20), "message {i}");
            hashes.push(h);
        }
        hashes.sort();
        let mut want: Vec<u64> = (0..40).map(|i| fnv1a(&content(sid, i, 2000))).collect();
        want.sort();
        assert_eq!(hashes, want);
    }
}

/// Closing a channel resets its stream both ways (RFC 8831 §6.7), started from either
/// end. A close we start completes in well under our delayed-ACK time: the SACK rides
/// with the RE-CONFIG.
#[test]
fn channels_close_from_either_end() {
    for peer_connects in ROLES {
        let mut s = up(setup(peer_connects));
        let ch = s.ours.create("ours", DataChannelInit::default()).unwrap();
        let sid = s.ours.channel(ch).unwrap().id.unwrap();
        s.expect_event("open", SECS, |e| {
            matches!(e, DataChannelEvent::Open(c) if *c == ch).then_some(())
        });
        s.ours.send_text(ch, "last words").unwrap();
        s.expect_line(&format!("msg {sid} "), SECS);
        let t = Instant::now();
        s.ours.close(ch).unwrap();
        s.expect_event("closed", SECS, |e| {
            matches!(e, DataChannelEvent::Closed(c) if *c == ch).then_some(())
        });
        let took = t.elapsed();
        s.expect_line(&format!("reset-in {sid} "), SECS);
        s.expect_line(&format!("reset-out {sid} "), SECS);
        println!("close started by us: {took:?}");
        assert!(took < Duration::from_millis(150), "our close took {took:?}");

        let tsid = their_id(peer_connects, 1);
        let theirs = accept_theirs(&mut s, tsid, "theirs");
        s.command(&format!("reset {tsid}"));
        s.expect_event("their channel closed", SECS, |e| {
            matches!(e, DataChannelEvent::Closed(c) if *c == theirs).then_some(())
        });
        s.expect_line(&format!("reset-out {tsid} "), SECS);
        s.expect_line(&format!("reset-in {tsid} "), SECS);
        // The stream can be used again.
        let again = s.ours.create("again", DataChannelInit::default()).unwrap();
        s.expect_event("reopened", SECS, |e| {
            matches!(e, DataChannelEvent::Open(c) if *c == again).then_some(())
        });
    }
}

/// Streams added with RFC 6525 §5.2.5 both ways: a channel of ours past the streams we
/// opened with asks the peer for more; the peer's requests to add its outgoing streams
/// are granted; and a channel the peer refuses a stream for fails with an error event
/// (it used to sit in `connecting`).
#[test]
fn streams_are_added_or_refused() {
    for peer_connects in ROLES {
        // We open with 16 outgoing streams; usrsctp takes up to 1024 and sends on 16.
        let mut sctp = Setup::default().sctp;
        sctp.outbound_streams = Some(16);
        let mut s = up(Setup {
            peer_args: vec!["--streams".into(), "1024".into(), "16".into()],
            sctp,
            ..setup(peer_connects)
        });
        assert_eq!(s.ours.association().outbound_streams(), 16);
        assert_eq!(s.ours.association().inbound_streams(), 16);
        assert!(s.ours.association().supports_stream_reconfig());
        let chans: Vec<ChannelId> = (0..10)
            .map(|i| {
                s.ours
                    .create(&format!("c{i}"), DataChannelInit::default())
                    .unwrap()
            })
            .collect();
        let last = *chans.last().unwrap();
        let sid = s.ours.channel(last).unwrap().id.unwrap();
        assert!(sid >= 16, "stream {sid}");
        s.expect_event("the channel past 16 open", SECS, |e| {
            matches!(e, DataChannelEvent::Open(c) if *c == last).then_some(())
        });
        s.expect_line(&format!("dcep-open {sid} "), SECS);
        let ours = s.ours.association().outbound_streams();
        assert!(ours > sid);
        // usrsctp sees our streams added, then adds its own to answer on the stream.
        assert_eq!(
            s.expect_line("streams ", SECS),
            format!("streams {ours} 16")
        );
        s.run_until(SECS, "usrsctp's streams added", |s| {
            s.ours.association().inbound_streams() > sid
        });
        let inbound = s.ours.association().inbound_streams();
        s.expect_line(&format!("streams {ours} {inbound}"), SECS);

        // The peer adds outgoing streams of its own (our incoming) and opens on one; we
        // add ours to answer it.
        let before = s.ours.association().inbound_streams();
        s.command("add 0 8");
        s.expect_line(&format!("streams {ours} {}", before + 8), SECS);
        s.run_until(SECS, "our inbound streams grown", |s| {
            s.ours.association().inbound_streams() == before + 8
        });
        let tsid = their_id(peer_connects, (before + 6) / 2);
        assert!(tsid >= ours, "{tsid} {ours}");
        accept_theirs(&mut s, tsid, "high");
        assert!(s.ours.association().outbound_streams() > tsid);
    }

    for peer_connects in ROLES {
        // usrsctp takes 16 streams in and refuses to add more.
        let mut s = up(Setup {
            peer_args: vec!["--streams".into(), "16".into(), "16".into()],
            ..setup(peer_connects)
        });
        assert_eq!(s.ours.association().outbound_streams(), 16);
        let chans: Vec<ChannelId> = (0..10)
            .map(|i| {
                s.ours
                    .create(&format!("c{i}"), DataChannelInit::default())
                    .unwrap()
            })
            .collect();
        let sids: Vec<u16> = chans
            .iter()
            .map(|&ch| s.ours.channel(ch).unwrap().id.unwrap())
            .collect();
        for (&ch, &sid) in chans.iter().zip(&sids) {
            if sid < 16 {
                s.expect_event("open", SECS, |e| {
                    matches!(e, DataChannelEvent::Open(c) if *c == ch).then_some(())
                });
            } else {
                let error = s.expect_event("an error", SECS, |e| match e {
                    DataChannelEvent::Error { channel, error } if *channel == ch => {
                        Some(error.clone())
                    }
                    _ => None,
                });
                assert_eq!(
                    error,
                    sansrtc::datachannel::DataChannelError::StreamUnavailable(sid)
                );
                s.expect_event("closed", SECS, |e| {
                    matches!(e, DataChannelEvent::Closed(c) if *c == ch).then_some(())
                });
            }
        }
        s.run_until(SECS, "8 opens at usrsctp", |s| {
            s.lines_with("dcep-open").len() >= 8
        });
        let settle = Instant::now() + Duration::from_millis(100);
        s.run_until(SECS, "a moment", |_| Instant::now() > settle);
        assert_eq!(s.lines_with("dcep-open").len(), 8, "{:?}", s.log);
    }
}

/// Shutdown under 10 % loss each way, started from either end: both ends see the
/// association close gracefully and every message sent before it is delivered.
#[test]
fn shutdown_under_loss() {
    for peer_connects in ROLES {
        for we_close in [true, false] {
            let mut s = up(setup(peer_connects));
            s.drop = Some(random_loss(
                0.1,
                7 + peer_connects as u64 * 2 + we_close as u64,
            ));
            let tsid = their_id(peer_connects, 0);
            let theirs = accept_theirs(&mut s, tsid, "x");
            let ch = s.ours.create("y", DataChannelInit::default()).unwrap();
            let sid = s.ours.channel(ch).unwrap().id.unwrap();
            for i in 0..50 {
                s.ours
                    .send_binary(ch, Bytes::from(content(sid, i, 1500)))
                    .unwrap();
            }
            s.command(&format!("send {tsid} 53 o 1500 50"));
            s.run_until(Duration::from_secs(30), "both sides' messages", |s| {
                s.lines_with(&format!("msg {sid} ")).len() == 50
                    && s.events
                        .iter()
                        .filter(|e| matches!(e, DataChannelEvent::Message { channel, .. } if *channel == theirs))
                        .count()
                        == 50
            });
            if we_close {
                s.ours.association_mut().shutdown();
            } else {
                s.command("shutdown");
            }
            s.expect_event("association closed", Duration::from_secs(30), |e| match e {
                DataChannelEvent::AssociationClosed { reason } => Some(format!("{reason:?}")),
                _ => None,
            });
            s.run_until(Duration::from_secs(30), "usrsctp to close", |s| {
                s.log
                    .iter()
                    .any(|l| l.starts_with("down shutdown") || l.starts_with("closed eof"))
            });
            assert!(s.lines_with("down lost").is_empty(), "{:?}", s.log);
            for (i, (data, _, _)) in take_messages(&mut s, theirs).into_iter().enumerate() {
                assert_eq!(&data[..], &content(tsid, i as u32, 1500)[..]);
            }
            println!(
                "shutdown ({}, {}): dropped {:?}",
                if peer_connects {
                    "usrsctp connects"
                } else {
                    "we connect"
                },
                if we_close {
                    "we close"
                } else {
                    "usrsctp closes"
                },
                s.dropped
            );
        }
    }
}

/// Our SHUTDOWN-COMPLETE is lost: usrsctp sends SHUTDOWN-ACK again, and we answer it
/// though our association is gone (RFC 9260 §8.4 rule 5), so usrsctp closes cleanly.
#[test]
fn lost_shutdown_complete_is_answered_again() {
    for peer_connects in ROLES {
        let mut s = up(setup(peer_connects));
        let mut dropped = false;
        s.drop = Some(Box::new(move |dir, p| {
            // SHUTDOWN COMPLETE is chunk type 14.
            if !dropped
                && dir == sansrtc_tests::usrsctp::Direction::ToPeer
                && chunk_types(p).contains(&14)
            {
                dropped = true;
                return true;
            }
            false
        }));
        s.ours.association_mut().shutdown();
        s.expect_event("association closed", SECS, |e| {
            matches!(e, DataChannelEvent::AssociationClosed { .. }).then_some(())
        });
        s.run_until(Duration::from_secs(20), "usrsctp to close", |s| {
            s.log
                .iter()
                .any(|l| l.starts_with("down ") || l.starts_with("closed "))
        });
        assert_eq!(s.dropped[0], 1, "the SHUTDOWN COMPLETE was not dropped");
        assert!(
            s.lines_with("down lost").is_empty(),
            "usrsctp gave up: {:?}",
            s.log
        );
    }
}

/// I-DATA (RFC 8260) with a peer that supports it, as Firefox does: when its INIT offers
/// it we answer it by default; when we send the INIT, `SctpConfig::interleaving` offers
/// it. Large messages on two channels at once interleave both ways, intact and in order.
#[test]
fn idata_interleaves_both_ways() {
    const N: u32 = 24;
    const LEN: usize = 100_000;
    for peer_connects in ROLES {
        let mut sctp = Setup::default().sctp;
        sctp.interleaving = !peer_connects;
        let mut s = up(Setup {
            peer_args: vec!["--idata".into()],
            sctp,
            ..setup(peer_connects)
        });
        assert!(s.ours.association().uses_interleaving());
        let t0 = their_id(peer_connects, 0);
        let t1 = their_id(peer_connects, 1);
        let theirs = [
            accept_theirs(&mut s, t0, "a"),
            accept_theirs(&mut s, t1, "b"),
        ];
        // One command at a time: the peer sends the first stream's, then the second's,
        // while ours go on two channels at once.
        s.command(&format!("send {t0} 53 o {LEN} {N}"));
        s.command(&format!("send {t1} 53 o {LEN} {N}"));
        let ours = [
            s.ours.create("c", DataChannelInit::default()).unwrap(),
            s.ours.create("d", DataChannelInit::default()).unwrap(),
        ];
        let sids = ours.map(|c| s.ours.channel(c).unwrap().id.unwrap());
        for i in 0..N {
            for (c, sid) in ours.iter().zip(sids) {
                s.ours
                    .send_binary(*c, Bytes::from(content(sid, i, LEN)))
                    .unwrap();
            }
        }
        let mut got = [0u32; 2];
        s.run_until(Duration::from_secs(60), "both ways", |s| {
            for (k, (ch, tsid)) in theirs.iter().zip([t0, t1]).enumerate() {
                for (data, _, _) in take_messages(s, *ch) {
                    assert!(
                        data[..] == content(tsid, got[k], LEN)[..],
                        "stream {tsid} message {}",
                        got[k]
                    );
                    got[k] += 1;
                }
            }
            got == [N, N]
                && sids
                    .iter()
                    .all(|sid| s.lines_with(&format!("msg {sid} ")).len() == N as usize)
        });
        for sid in sids {
            for (i, line) in s.lines_with(&format!("msg {sid} ")).into_iter().enumerate() {
                let (_, _, _, len, hash) = parse_msg(line);
                assert_eq!((len, hash), (LEN, fnv1a(&content(sid, i as u32, LEN))));
            }
        }
    }
}

/// usrsctp opens 100 channels at once; we answer every DATA_CHANNEL_OPEN. Timed on
/// usrsctp's clock from its first OPEN to its last ACK, beside usrsctp answering
/// usrsctp in the same run (through a relay hop each way). The best of five runs of each.
#[test]
fn hundred_channels_opened_by_usrsctp() {
    fn ms(line: &str) -> f64 {
        line.split_whitespace().nth(2).unwrap().parse().unwrap()
    }
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let (mut a, mut b) = usrsctp_pair(&[]);
        a.wait_line("up ", SECS);
        b.wait_line("up ", SECS);
        a.command("open-many 0 100");
        theirs.push(ms(&a.wait_line("all-acked 100 ", SECS)));
        drop((a, b));

        let mut s = up(setup(true));
        s.command("open-many 0 100");
        ours.push(ms(&s.expect_line("all-acked 100 ", SECS)));
        let opened = s
            .events
            .iter()
            .filter(|e| matches!(e, DataChannelEvent::Incoming(_)))
            .count();
        assert_eq!(opened, 100);
    }
    let best = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let (o, t) = (best(&ours), best(&theirs));
    println!(
        "100 channels opened by usrsctp: answered by us {o:.2} ms, by usrsctp {t:.2} ms ({:.2}x); runs {ours:?} / {theirs:?}",
        o / t
    );
    // Generous: a loaded machine stretches either; a quadratic answer path would not fit.
    assert!(o < 3.0 * t + 20.0, "ours {o} ms, usrsctp {t} ms");
}
