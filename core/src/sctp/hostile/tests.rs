//! A hostile peer against a real [`Association`]: the peer side is written by hand with
//! the codec, so it can send what no honest stack would (empty DATA, floods of tiny
//! messages behind a missing SSN, fragments behind a TSN gap, unknown streams).

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::*;
use crate::io::Output;

/// The peer's verification tag and initial TSN.
const PEER_TAG: u32 = 0x0bad_cafe;
const PEER_INITIAL_TSN: u32 = 0xffff_fff0;

/// A window small enough for floods to cross it quickly in a debug build:
/// `receive_window` 0 leaves the floor of one maximal message + 64 KiB = 128 KiB.
fn small_window_config() -> SctpConfig {
    SctpConfig {
        seed: 7,
        receive_window: 0,
        max_receive_message_size: 64 * 1024,
        ..Default::default()
    }
}

const SMALL_WINDOW: usize = 128 * 1024;

struct Peer {
    us: Association,
    now: Instant,
    our_tag: u32,
    /// Next TSN the peer sends.
    tsn: Tsn,
    /// Chunks we sent back, parsed.
    received: Vec<Chunk>,
    events: Vec<SctpEvent>,
}

impl Peer {
    /// Opens an association with `us` from a hand-written INIT and COOKIE-ECHO. The
    /// peer announces `os` outbound streams and, with `idata`, I-DATA support.
    fn open(cfg: SctpConfig, os: u16, idata: bool) -> Peer {
        let mut ext = vec![ChunkType::RE_CONFIG, ChunkType::FORWARD_TSN];
        if idata {
            ext.extend([ChunkType::I_DATA, ChunkType::I_FORWARD_TSN]);
        }
        Peer::open_with(cfg, os, u16::MAX, ext)
    }

    /// As [`Peer::open`], announcing `mis` inbound streams and the extensions `ext`.
    fn open_with(cfg: SctpConfig, os: u16, mis: u16, ext: Vec<ChunkType>) -> Peer {
        let now = Instant::now();
        let mut p = Peer {
            us: Association::new(cfg, now),
            now,
            our_tag: 0,
            tsn: Tsn(PEER_INITIAL_TSN),
            received: Vec::new(),
            events: Vec::new(),
        };
        p.send_tagged(
            0,
            vec![Chunk::Init(Init {
                initiate_tag: PEER_TAG,
                a_rwnd: 1 << 20,
                num_outbound_streams: os,
                num_inbound_streams: mis,
                initial_tsn: Tsn(PEER_INITIAL_TSN),
                params: vec![
                    InitParam::ForwardTsnSupported,
                    InitParam::SupportedExtensions(ext),
                ],
            })],
        );
        let ack = p
            .drain()
            .into_iter()
            .find_map(|c| match c {
                Chunk::InitAck(a) => Some(a),
                _ => None,
            })
            .expect("INIT-ACK");
        p.our_tag = ack.initiate_tag;
        let cookie = ack.state_cookie().expect("cookie").clone();
        p.send(vec![Chunk::CookieEcho(CookieEcho { cookie })]);
        assert!(
            p.drain().iter().any(|c| matches!(c, Chunk::CookieAck)),
            "no COOKIE-ACK"
        );
        assert!(p.us.is_established());
        p
    }

    fn send_tagged(&mut self, vtag: u32, chunks: Vec<Chunk>) {
        let packet = Packet {
            source_port: 5000,
            destination_port: 5000,
            verification_tag: vtag,
            chunks,
        };
        let wire = packet.to_bytes(Checksum::Crc32c).expect("encodes");
        self.us.handle_packet(self.now, wire);
    }

    fn send(&mut self, chunks: Vec<Chunk>) {
        self.send_tagged(self.our_tag, chunks);
    }

    /// Everything the association has to say now: chunks it sent (parsed) are
    /// returned, events kept.
    fn drain(&mut self) -> Vec<Chunk> {
        let mut chunks = Vec::new();
        loop {
            match self.us.poll_output() {
                Output::Transmit(p) => {
                    let p = Packet::parse(p, ChecksumPolicy::AcceptZero).expect("parses");
                    chunks.extend(p.chunks);
                }
                Output::Event(e) => self.events.push(e),
                Output::Timeout(_) => break,
            }
        }
        self.received.extend(chunks.iter().cloned());
        chunks
    }

    /// Lets the delayed SACK timer run out and returns what went out.
    fn tick(&mut self) -> Vec<Chunk> {
        self.now += Duration::from_millis(250);
        self.us.handle_timeout(self.now);
        self.drain()
    }

    fn next_tsn(&mut self) -> Tsn {
        let t = self.tsn;
        self.tsn = t.add(1);
        t
    }

    fn messages(&mut self) -> Vec<(u16, Bytes)> {
        self.events
            .drain(..)
            .filter_map(|e| match e {
                SctpEvent::Message {
                    stream_id, data, ..
                } => Some((stream_id, data)),
                _ => None,
            })
            .collect()
    }

    fn last_sack(&self) -> Option<&Sack> {
        self.received.iter().rev().find_map(|c| match c {
            Chunk::Sack(s) => Some(s),
            _ => None,
        })
    }
}

fn data(tsn: Tsn, sid: u16, ssn: u16, beginning: bool, ending: bool, payload: &[u8]) -> Chunk {
    Chunk::Data(Data {
        unordered: false,
        beginning,
        ending,
        immediate: false,
        tsn,
        stream_id: Sid(sid),
        ssn: Ssn(ssn),
        ppid: Ppid(53),
        user_data: Bytes::copy_from_slice(payload),
    })
}

fn closed_reason(events: &[SctpEvent]) -> Option<&CloseReason> {
    events.iter().find_map(|e| match e {
        SctpEvent::Closed { reason } => Some(reason),
        _ => None,
    })
}

/// RFC 9260 §6.2: a DATA chunk without user data is answered with an ABORT whose cause
/// is No User Data (9) naming the chunk's TSN.
#[test]
fn empty_data_aborts_with_no_user_data() {
    let mut p = Peer::open(small_window_config(), 16, false);
    let good = p.next_tsn();
    p.send(vec![data(good, 1, 0, true, true, b"ok")]);
    let empty = p.next_tsn();
    p.send(vec![data(empty, 1, 1, true, true, b"")]);
    let out = p.drain();
    let abort = out
        .iter()
        .find_map(|c| match c {
            Chunk::Abort(a) => Some(a),
            _ => None,
        })
        .expect("an ABORT");
    assert_eq!(abort.causes, vec![ErrorCause::NoUserData(empty)]);
    assert_eq!(
        closed_reason(&p.events),
        Some(&CloseReason::PeerMisbehaved(Violation::NoUserData)),
        "{:?}",
        p.events
    );
    assert!(!p.us.is_established());
}

/// The same for I-DATA (RFC 8260 §2.1 keeps RFC 9260's rules for the user data).
#[test]
fn empty_idata_aborts_with_no_user_data() {
    let cfg = SctpConfig {
        interleaving: true,
        ..small_window_config()
    };
    let mut p = Peer::open(cfg, 16, true);
    assert!(p.us.uses_interleaving());
    let tsn = p.next_tsn();
    p.send(vec![Chunk::IData(IData {
        unordered: false,
        ending: true,
        immediate: false,
        tsn,
        stream_id: Sid(1),
        mid: Mid(0),
        ppid_or_fsn: PpidOrFsn::Ppid(Ppid(53)),
        user_data: Bytes::new(),
    })]);
    let out = p.drain();
    assert!(
        out.iter().any(|c| matches!(c, Chunk::Abort(a)
            if a.causes == vec![ErrorCause::NoUserData(tsn)])),
        "{out:?}"
    );
    assert!(!p.us.is_established());
}

/// 100 000 one-byte ordered messages, each on a stream whose SSN 0 never comes: every
/// one is whole yet undeliverable. What they hold stays within the window (each charged
/// at least the per-chunk overhead), the rest is dropped unacknowledged, and the
/// association still delivers once the missing message arrives.
#[test]
fn ordered_messages_behind_a_missing_ssn_are_bounded_by_the_window() {
    let mut p = Peer::open(small_window_config(), u16::MAX, false);
    let mut ssn = vec![0u16; usize::from(u16::MAX)];
    let mut sent = 0usize;
    let mut first_dropped = None;
    while sent < 100_000 {
        let mut chunks = Vec::new();
        for _ in 0..64 {
            // Streams 1.. so that stream 0 stays free for the check below.
            let sid = 1 + (sent % (usize::from(u16::MAX) - 1));
            ssn[sid] += 1;
            let tsn = p.next_tsn();
            chunks.push(data(tsn, sid as u16, ssn[sid], true, true, b"x"));
            sent += 1;
        }
        p.send(chunks);
        p.drain();
        if first_dropped.is_none() && p.us.stats().window_drops > 0 {
            first_dropped = Some(sent);
        }
    }
    let held = p.us.receive_held_chunks();
    let buffered = p.us.receive_buffered();
    println!(
        "100k one-byte messages behind a missing SSN: {held} held, {buffered} bytes charged, \
         {} dropped",
        p.us.stats().window_drops
    );
    assert!(buffered <= SMALL_WINDOW, "{buffered} bytes charged");
    assert!(
        held <= SMALL_WINDOW / 64,
        "{held} messages held for a {SMALL_WINDOW}-byte window"
    );
    assert!(p.us.stats().window_drops > 0);
    // Dropped TSNs are not acknowledged: the SACK stops before the first of them.
    let cum = p.last_sack().expect("a SACK").cumulative_tsn_ack;
    assert_eq!(p.us.stats().window_drops as usize, sent - held);
    assert!(cum.is_newer_than(Tsn(PEER_INITIAL_TSN)));
    // The peer sends the missing message of stream 1 at the next TSN it may use.
    p.messages();
    p.tsn = cum.add(1);
    let tsn = p.next_tsn();
    p.send(vec![data(tsn, 1, 0, true, true, b"first")]);
    p.drain();
    let got = p.messages();
    assert!(
        got.first()
            .is_some_and(|(s, d)| *s == 1 && &d[..] == b"first"),
        "{got:?}"
    );
    assert!(p.us.is_established());
}

/// 100 000 one-byte middle fragments behind a missing TSN, every other TSN, so each is
/// its own gap block: what they hold stays within the window, TSNs beyond it are
/// dropped, each SACK reports at most 64 gap blocks (the lowest ones), and once the hole
/// fills the association delivers again.
#[test]
fn fragments_behind_a_tsn_gap_are_bounded_by_the_window() {
    let mut p = Peer::open(small_window_config(), 16, false);
    let hole = p.next_tsn();
    let mut sent = 0;
    let mut slowest = Duration::ZERO;
    while sent < 100_000 {
        let mut chunks = Vec::new();
        for _ in 0..64 {
            p.next_tsn(); // skipped: every fragment is a gap block of its own
            let tsn = p.next_tsn();
            chunks.push(data(tsn, 2, 0, false, false, b"y"));
            sent += 1;
        }
        let start = std::time::Instant::now();
        p.send(chunks);
        p.drain();
        slowest = slowest.max(start.elapsed());
    }
    let held = p.us.receive_held_chunks();
    let buffered = p.us.receive_buffered();
    println!(
        "100k fragments behind a TSN gap: {held} held, {buffered} bytes charged, \
         slowest packet {slowest:?}"
    );
    assert!(buffered <= SMALL_WINDOW, "{buffered} bytes charged");
    assert!(held <= SMALL_WINDOW / 64, "{held} fragments held");
    let sack = p.last_sack().expect("a SACK").clone();
    assert_eq!(sack.cumulative_tsn_ack, hole.add(u32::MAX));
    assert_eq!(sack.gap_ack_blocks.len(), 64);
    for (i, b) in sack.gap_ack_blocks.iter().enumerate() {
        // The cumulative TSN is one below the hole; fragments sit at hole + 2k.
        let at = 2 * i as u16 + 3;
        assert_eq!((b.start, b.end), (at, at), "block {i}");
    }
    assert!(sack.duplicate_tsns.len() <= 64);
    // The hole fills with a whole message, and the next one fills the TSN after it.
    p.messages();
    p.send(vec![data(hole, 3, 0, true, true, b"hole")]);
    p.send(vec![data(hole.add(1), 3, 1, true, true, b"after")]);
    p.drain();
    let got: Vec<Bytes> = p.messages().into_iter().map(|(_, d)| d).collect();
    assert_eq!(
        got,
        [Bytes::from_static(b"hole"), Bytes::from_static(b"after")]
    );
    p.tick();
    assert_eq!(
        p.last_sack().expect("a SACK").cumulative_tsn_ack,
        hole.add(2)
    );
    assert!(p.us.is_established());
}

/// Duplicates are reported, but no more of them than a SACK has room for.
#[test]
fn duplicate_reports_are_bounded() {
    let mut p = Peer::open(small_window_config(), 16, false);
    let tsn = p.next_tsn();
    p.send(vec![data(tsn, 1, 0, true, true, b"once")]);
    p.drain();
    for _ in 0..100 {
        let chunks = (0..64)
            .map(|_| data(tsn, 1, 0, true, true, b"once"))
            .collect();
        p.send(chunks);
    }
    p.drain();
    assert_eq!(p.us.stats().duplicates_received, 6400);
    let sack = p.last_sack().expect("a SACK");
    assert!(
        (1..=64).contains(&sack.duplicate_tsns.len()),
        "{}",
        sack.duplicate_tsns.len()
    );
    assert_eq!(p.messages().len(), 1);
}

/// RFC 9260 §6.5: DATA on a stream at or above the inbound stream count is
/// acknowledged, discarded, and reported with an ERROR carrying Invalid Stream
/// Identifier (cause 1); the association lives on.
#[test]
fn invalid_stream_identifier_is_reported_and_acknowledged() {
    // We allow 16 inbound streams; the peer says it opens 8: 8 is the limit.
    let cfg = SctpConfig {
        streams: 16,
        ..small_window_config()
    };
    let mut p = Peer::open(cfg, 8, false);
    let bad = p.next_tsn();
    p.send(vec![data(bad, 8, 0, true, true, b"nope")]);
    let out = p.drain();
    let errors: Vec<&ErrorChunk> = out
        .iter()
        .filter_map(|c| match c {
            Chunk::Error(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 1, "{out:?}");
    assert_eq!(
        errors[0].causes,
        vec![ErrorCause::InvalidStreamIdentifier(Sid(8))]
    );
    // Acknowledged all the same, and nothing delivered or held.
    p.tick();
    assert_eq!(p.last_sack().expect("a SACK").cumulative_tsn_ack, bad);
    assert!(p.messages().is_empty());
    assert_eq!(p.us.receive_held_chunks(), 0);
    let ok = p.next_tsn();
    p.send(vec![data(ok, 7, 0, true, true, b"fine")]);
    p.drain();
    assert_eq!(p.messages(), [(7, Bytes::from_static(b"fine"))]);
    assert!(p.us.is_established());
}

/// Fragments that can never complete — a run of middle fragments behind a hole that
/// fills with something else — are freed once the cumulative TSN passes them, so the
/// window they took opens again and a fragmented message gets through afterwards.
#[test]
fn fragments_that_can_never_complete_are_freed() {
    let mut p = Peer::open(small_window_config(), 16, false);
    let hole = p.next_tsn();
    for _ in 0..64 {
        let chunks = (0..64)
            .map(|_| {
                let tsn = p.next_tsn();
                data(tsn, 2, 0, false, false, b"y")
            })
            .collect();
        p.send(chunks);
    }
    p.drain();
    let held = p.us.receive_held_chunks();
    assert!(held > 1000, "{held} held");
    // The hole fills with a whole message: the middle fragments after it have no start.
    p.send(vec![data(hole, 3, 0, true, true, b"hole")]);
    p.drain();
    assert_eq!(p.us.receive_held_chunks(), 0);
    assert_eq!(p.us.receive_buffered(), 0);
    p.tick();
    let sack = p.last_sack().expect("a SACK").clone();
    assert_eq!(sack.a_rwnd as usize, SMALL_WINDOW);
    // A message of four fragments now fits and arrives.
    p.tsn = sack.cumulative_tsn_ack.add(1);
    let chunks = (0..4)
        .map(|i| {
            let tsn = p.next_tsn();
            data(tsn, 4, 0, i == 0, i == 3, &[i as u8; 1000])
        })
        .collect();
    p.send(chunks);
    p.drain();
    let got = p.messages();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!((got[1].0, got[1].1.len()), (4, 4000));
}

/// Filling the holes of a long run of fragments one by one, each next to the run's
/// start: a walk from each fill back to the first fragment would cost the run's length
/// per chunk (quadratic over the attack). The walk goes both ways a step at a time and
/// stops at the first hole, so each fill costs about as much as its nearer end.
#[test]
fn filling_holes_in_a_long_run_does_not_walk_the_run() {
    let cfg = SctpConfig {
        seed: 7,
        ..Default::default()
    };
    let mut p = Peer::open(cfg, 16, false);
    let first = p.next_tsn();
    let n: u32 = 10_000;
    let mut chunks = vec![data(first, 5, 0, true, false, b"b")];
    for k in 1..=n {
        chunks.push(data(first.add(2 * k), 5, 0, false, false, b"m"));
        if chunks.len() == 64 {
            p.send(std::mem::take(&mut chunks));
        }
    }
    p.send(chunks);
    p.drain();
    let start = std::time::Instant::now();
    let mut chunks = Vec::new();
    for k in 0..n {
        chunks.push(data(first.add(2 * k + 1), 5, 0, false, false, b"f"));
        if chunks.len() == 64 {
            p.send(std::mem::take(&mut chunks));
            p.drain();
        }
    }
    p.send(chunks);
    p.drain();
    let took = start.elapsed();
    println!("{n} fills next to a run's start: {took:?}");
    // Before: about 5 s in a debug build (each fill walked back to the start).
    assert!(took < Duration::from_millis(1500), "{took:?}");
    assert_eq!(p.us.receive_held_chunks(), 2 * n as usize + 1);
    // The end arrives: one message of every fragment.
    let end = first.add(2 * n + 1);
    p.send(vec![data(end, 5, 0, false, true, b"e")]);
    p.drain();
    let got = p.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1.len(), 2 * n as usize + 2);
}

/// RFC 9260 §6.2: a DATA chunk dropped for want of room is answered at once with a
/// SACK that shows only what was accepted, not after the delayed-ack timer.
#[test]
fn a_dropped_chunk_is_answered_with_a_sack_at_once() {
    let mut p = Peer::open(small_window_config(), u16::MAX, false);
    let mut sid = 0u16;
    while p.us.stats().window_drops == 0 {
        let chunks = (0..64)
            .map(|_| {
                sid += 1;
                let tsn = p.next_tsn();
                data(tsn, sid, 1, true, true, b"w")
            })
            .collect();
        p.send(chunks);
        p.drain();
    }
    p.tick();
    let cum = p.last_sack().expect("a SACK").cumulative_tsn_ack;
    p.received.clear();
    let tsn = cum.add(1);
    p.send(vec![data(tsn, 1, 2, true, true, b"no room")]);
    let out = p.drain();
    let sack = out
        .iter()
        .find_map(|c| match c {
            Chunk::Sack(s) => Some(s),
            _ => None,
        })
        .expect("a SACK at once");
    assert_eq!((sack.cumulative_tsn_ack, sack.a_rwnd), (cum, 0));
}

/// Every packet the association has to send now, parsed whole (with its tag).
fn drain_packets(us: &mut Association) -> Vec<Packet> {
    let mut packets = Vec::new();
    while let Output::Transmit(p) = us.poll_output() {
        packets.push(Packet::parse(p, ChecksumPolicy::AcceptZero).expect("parses"));
    }
    packets
}

/// RFC 9260 §8.4 rule 5, §9.2: our SHUTDOWN-COMPLETE was lost and the peer sends its
/// SHUTDOWN-ACK again after we closed. It is answered with a SHUTDOWN-COMPLETE that
/// reflects the packet's verification tag (the T bit set), so the peer closes too
/// instead of retransmitting until T2-shutdown gives up; so is one that reaches an
/// association that never existed.
#[test]
fn late_shutdown_ack_is_answered_with_a_reflected_shutdown_complete_rfc9260_8_4() {
    let mut p = Peer::open(SctpConfig::default(), 16, false);
    p.us.shutdown();
    assert!(p.drain().iter().any(|c| matches!(c, Chunk::Shutdown(_))));
    p.send(vec![Chunk::ShutdownAck]);
    assert!(p.drain().iter().any(|c| matches!(
        c,
        Chunk::ShutdownComplete(ShutdownComplete {
            tag_reflected: false
        })
    )));
    assert_eq!(
        closed_reason(&p.events),
        Some(&CloseReason::ShutdownComplete)
    );
    // The SHUTDOWN-COMPLETE was lost: the peer's T2-shutdown sends SHUTDOWN-ACK again.
    p.now += Duration::from_secs(1);
    p.send(vec![Chunk::ShutdownAck]);
    let answer = drain_packets(&mut p.us);
    assert_eq!(answer.len(), 1, "one answer: {answer:?}");
    assert_eq!(
        answer[0].verification_tag, p.our_tag,
        "the tag it came with"
    );
    assert_eq!(
        answer[0].chunks,
        vec![Chunk::ShutdownComplete(ShutdownComplete {
            tag_reflected: true
        })]
    );

    // Out of the blue: no association at all.
    let mut fresh = Association::new(SctpConfig::default(), p.now);
    let wire = Packet {
        source_port: 5000,
        destination_port: 5000,
        verification_tag: 0x1234_5678,
        chunks: vec![Chunk::ShutdownAck],
    }
    .to_bytes(Checksum::Crc32c)
    .expect("encodes");
    for _ in 0..100 {
        fresh.handle_packet(p.now, wire.clone());
    }
    let answers = drain_packets(&mut fresh);
    assert!(!answers.is_empty() && answers.len() <= 16, "{answers:?}");
    assert!(answers.iter().all(|a| a.verification_tag == 0x1234_5678
        && a.chunks
            == vec![Chunk::ShutdownComplete(ShutdownComplete {
                tag_reflected: true
            })]));
}

/// RFC 9260 §8.5.1 (C): the other side of the case above. We sent SHUTDOWN-ACK; the
/// peer, already closed, answers with a SHUTDOWN-COMPLETE carrying our SHUTDOWN-ACK's
/// tag (its own) and the T bit. We accept it and close at once.
#[test]
fn reflected_shutdown_complete_closes_us_rfc9260_8_5_1() {
    let mut p = Peer::open(SctpConfig::default(), 16, false);
    let cum = Tsn(PEER_INITIAL_TSN.wrapping_sub(1));
    p.send(vec![Chunk::Shutdown(Shutdown {
        cumulative_tsn_ack: cum,
    })]);
    assert!(p.drain().iter().any(|c| matches!(c, Chunk::ShutdownAck)));
    p.send_tagged(
        PEER_TAG,
        vec![Chunk::ShutdownComplete(ShutdownComplete {
            tag_reflected: true,
        })],
    );
    p.drain();
    assert_eq!(
        closed_reason(&p.events),
        Some(&CloseReason::ShutdownComplete)
    );
}

/// A peer with 16 inbound streams and no RE-CONFIG (RFC 6525 §4.1 not negotiated):
/// streams cannot be added, so a message beyond them is refused at once (reported,
/// dropped unsent), not held for ever.
#[test]
fn without_reconfig_messages_beyond_the_peers_streams_are_refused_rfc6525_4_1() {
    let mut p = Peer::open_with(SctpConfig::default(), 16, 16, vec![ChunkType::FORWARD_TSN]);
    assert!(!p.us.supports_stream_reconfig());
    assert_eq!(p.us.outbound_streams(), 16);
    p.us.send(20, 51, Bytes::from_static(b"x"), false).unwrap();
    let sent = p.drain();
    assert!(
        !sent
            .iter()
            .any(|c| matches!(c, Chunk::Data(_) | Chunk::ReConfig(_))),
        "{sent:?}"
    );
    assert!(
        p.events
            .contains(&SctpEvent::StreamsRefused { streams: vec![20] })
    );
    assert_eq!(p.us.buffered_amount(), 0);
}

/// RFC 6525 §5.2.5: the peer's Add Outgoing Streams is granted up to our
/// `SctpConfig::streams`, and denied beyond it.
#[test]
fn the_peers_add_outgoing_streams_is_granted_up_to_our_cap_rfc6525_5_2_5() {
    let cfg = SctpConfig {
        streams: 64,
        inbound_streams: Some(16),
        ..Default::default()
    };
    let mut p = Peer::open(cfg, 16, false);
    assert_eq!(p.us.inbound_streams(), 16);
    let seq = PEER_INITIAL_TSN;
    let add = |seq: u32, n: u16| {
        vec![Chunk::ReConfig(ReConfig {
            params: vec![ReconfigParam::AddOutgoingStreams {
                request_seq: ReconfigSeq(seq),
                new_streams: n,
            }],
        })]
    };
    let result = |chunks: &[Chunk]| {
        chunks.iter().find_map(|c| match c {
            Chunk::ReConfig(r) => r.params.iter().find_map(|p| match p {
                ReconfigParam::Response { result, .. } => Some(*result),
                _ => None,
            }),
            _ => None,
        })
    };
    p.send(add(seq, 48));
    assert_eq!(result(&p.drain()), Some(ReconfigResult::SuccessPerformed));
    assert_eq!(p.us.inbound_streams(), 64);
    // DATA on a stream added is taken, not refused.
    let t = p.next_tsn();
    p.send(vec![data(t, 60, 0, true, true, b"hi")]);
    p.tick();
    assert_eq!(p.messages(), vec![(60, Bytes::from_static(b"hi"))]);
    p.send(add(seq.wrapping_add(1), 1));
    assert_eq!(result(&p.drain()), Some(ReconfigResult::Denied));
    assert_eq!(p.us.inbound_streams(), 64);
}

/// A packet whose CRC32c does not match (RFC 9260 §6.8) is dropped and counted in
/// `checksum_drops`, apart from the other drops (here: a wrong verification tag).
#[test]
fn bad_checksums_are_counted_apart_rfc9260_6_8() {
    let mut p = Peer::open(SctpConfig::default(), 16, false);
    let before = p.us.stats();
    let t = p.next_tsn();
    let mut wire = Packet {
        source_port: 5000,
        destination_port: 5000,
        verification_tag: p.our_tag,
        chunks: vec![data(t, 1, 0, true, true, b"x")],
    }
    .to_bytes(Checksum::Crc32c)
    .expect("encodes")
    .to_vec();
    wire[8] ^= 0xff;
    p.us.handle_packet(p.now, Bytes::from(wire));
    p.send_tagged(PEER_TAG ^ 1, vec![Chunk::CookieAck]);
    let after = p.us.stats();
    assert_eq!(after.checksum_drops - before.checksum_drops, 1);
    assert_eq!(after.packets_dropped - before.packets_dropped, 1);
    assert!(p.messages().is_empty());
}

/// A stream closed while its messages waited for an Add Outgoing Streams request the
/// peer then denies (RFC 6525 §5.2.5): the peer never had it, so no reset is asked for
/// it and it is not left closing (which would keep its id from a new channel).
#[test]
fn a_refused_stream_closed_while_waiting_is_not_reset_rfc6525_5_2_5() {
    let mut p = Peer::open_with(
        SctpConfig::default(),
        16,
        16,
        vec![ChunkType::RE_CONFIG, ChunkType::FORWARD_TSN],
    );
    p.us.send(20, 51, Bytes::from_static(b"x"), false).unwrap();
    p.us.reset_streams(&[20]).unwrap();
    let seq = p
        .drain()
        .iter()
        .find_map(|c| match c {
            Chunk::ReConfig(r) => r.params.iter().find_map(|p| match p {
                ReconfigParam::AddOutgoingStreams {
                    request_seq,
                    new_streams: 5,
                } => Some(*request_seq),
                _ => None,
            }),
            _ => None,
        })
        .expect("an Add Outgoing Streams request for 5 streams");
    p.send(vec![Chunk::ReConfig(ReConfig {
        params: vec![ReconfigParam::Response {
            response_seq: seq,
            result: ReconfigResult::Denied,
            next_tsns: None,
        }],
    })]);
    let after = p.drain();
    assert!(
        p.events
            .contains(&SctpEvent::StreamsRefused { streams: vec![20] })
    );
    assert!(
        !after.iter().any(|c| matches!(c, Chunk::ReConfig(_))),
        "{after:?}"
    );
    assert!(!p.us.is_stream_closing(20));
}
