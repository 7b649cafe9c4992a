//! # `sctp_association`
//!
//! [`sctp_association`] drives two associations with fixed seeds ([`SCTP_SEEDS`]): A,
//! under test, and B, an honest peer whose packets only reach A when a record says so
//! (possibly mutated). The input is a config byte ([`sctp_config`]), then records
//! ([`sctp_rec`]; `tag & 7` picks the kind):
//!
//! | `tag & 7` | follows | effect |
//! |---|---|---|
//! | 0 | `len: u16` BE, `len` bytes | a datagram arrives at A (checksum / header fix-ups in the tag bits) |
//! | 1 | `b: u8` | time advances `b²` ms for both, firing deadlines; optionally a live link |
//! | 2, 3 | depends on the call | an API call on A / on B ([`sctp_call`]) |
//! | 4 | nothing | A's oldest packet on the wire: to B, dropped, reflected to A, duplicated |
//! | 5 | nothing, or `pos: u16`, `xor: u8` | B's oldest packet: to A, dropped, mutated, or a replay |
//! | 6 | nothing | packets flow both ways until quiet |
//! | 7 | optionally `len: u8` and bytes | A gets a COOKIE-ECHO with its own latest cookie |
//!
//! After every step both sides are drained: they must settle, never return a deadline in
//! the past, send only packets that parse with a valid CRC (INIT alone and untagged,
//! DATA packets within the MTU), report Connected and Closed at most once and nothing
//! after Closed, and keep `buffered_amount` within what the application sent (zero after
//! Closed). B hears only A's packets, so every message B delivers must be one A was asked
//! to send, intact, once, in order per stream when ordered.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sansrtc::io::Output;
use sansrtc::sctp::{
    self, Association, Checksum, ChecksumPolicy, Chunk, Packet, SctpConfig, SctpError, SctpEvent,
};

use super::{MAX_RECORDS, MAX_SAME_INSTANT, Reader, base_instant, fix_sctp_checksum, heap, settle};

/// Bits of the config byte that starts an `sctp_association` input.
pub mod sctp_config {
    /// The fuzzed association (A) calls `connect` at the start.
    pub const A_CONNECTS: u8 = 0x01;
    /// The honest peer (B) calls `connect` at the start.
    pub const B_CONNECTS: u8 = 0x02;
    /// A runs with a 300-byte MTU (more fragments, fuller packets).
    pub const SMALL_MTU: u8 = 0x04;
    /// A accepts messages of at most 4 KiB (and so has the smallest receive window).
    pub const SMALL_MESSAGES: u8 = 0x08;
    /// B runs with a 300-byte MTU.
    pub const B_SMALL_MTU: u8 = 0x10;
    /// Both offer I-DATA (RFC 8260), so they interleave with I-DATA and I-FORWARD-TSN.
    pub const INTERLEAVING: u8 = 0x20;
}

/// Record kinds of an `sctp_association` input: `tag & 7`.
pub mod sctp_rec {
    /// `len: u16` BE, `len` bytes: a datagram arrives at A. Bit 3: its checksum is fixed
    /// up. Bits 4–5: its header is rewritten first: ports as A expects them and the
    /// verification tag set to A's tag (1), zero (2) or B's tag (3).
    pub const DATAGRAM: u8 = 0;
    /// `b: u8`: time advances `b²` ms, firing both associations' deadlines on the way.
    /// Bit 3: after each firing packets flow both ways until quiet (a live link).
    pub const ADVANCE: u8 = 1;
    /// An API call on A; bits 3–4 pick it ([`super::sctp_call`]).
    pub const A_CALL: u8 = 2;
    /// The same API calls on B.
    pub const B_CALL: u8 = 3;
    /// The oldest packet A sent that is still on the wire: bits 3–4 say whether it is
    /// delivered to B (0), dropped (1), reflected back to A (2) or delivered to B and
    /// left on the wire (3, a duplicate later).
    pub const A_PACKET: u8 = 4;
    /// The oldest packet B sent that is still on the wire: bits 3–4 say whether it is
    /// delivered to A (0), dropped (1), delivered to A with one byte changed (2: `pos:
    /// u16` BE, `xor: u8`; the checksum is fixed up unless bit 5 is set), or (3) the
    /// `tag >> 5`-th newest packet B ever sent is delivered to A again.
    pub const B_PACKET: u8 = 5;
    /// Packets flow both ways until quiet, for at most `1 + (tag >> 3)` rounds.
    pub const PUMP: u8 = 6;
    /// A receives a COOKIE-ECHO (tagged with A's tag) carrying the cookie of the latest
    /// INIT-ACK A sent; bit 3: followed by `len: u8` bytes appended after the chunk
    /// (more chunks), the checksum fixed up.
    pub const COOKIE_ECHO: u8 = 7;
}

/// API calls of [`sctp_rec::A_CALL`] and [`sctp_rec::B_CALL`]: `(tag >> 3) & 3`.
pub mod sctp_call {
    /// `send`: `stream: u8`, `len: u16` BE (a length of 0 sends 1 byte). Bit 5 of the
    /// tag: unordered; bits 6–7: the PPID (string, binary, DCEP, string-empty).
    pub const SEND: u8 = 0;
    /// `abort`.
    pub const ABORT: u8 = 1;
    /// `connect`.
    pub const CONNECT: u8 = 2;
    /// `handle_timeout` at the current instant.
    pub const POKE: u8 = 3;
}

/// The seeds of A and B.
pub const SCTP_SEEDS: [u64; 2] = [0x5c79_a001, 0x5c79_b002];
/// PPIDs a send record can pick.
const SCTP_PPIDS: [u32; 4] = [51, 53, 50, 56];
/// Outputs drained after one input before an association counts as never settling.
const SCTP_MAX_OUTPUTS: usize = 10_000;
/// Packets kept on the wire per direction (the oldest are lost beyond it).
const SCTP_WIRE_MAX: usize = 64;
/// Packets of B kept for replay records.
const SCTP_KEEP_SENT: usize = 8;
/// Bytes the application may send per side in one run; further sends are skipped.
const SCTP_MAX_SEND_TOTAL: usize = 256 << 10;

/// The configuration of A (`side` 0) or B (1) under `config`.
pub fn sctp_config_for(config: u8, side: usize) -> SctpConfig {
    let small_mtu = if side == 0 {
        sctp_config::SMALL_MTU
    } else {
        sctp_config::B_SMALL_MTU
    };
    let mut cfg = SctpConfig {
        seed: SCTP_SEEDS[side],
        ..SctpConfig::default()
    };
    if config & small_mtu != 0 {
        cfg.mtu = 300;
    }
    cfg.interleaving = config & sctp_config::INTERLEAVING != 0;
    if side == 0 && config & sctp_config::SMALL_MESSAGES != 0 {
        cfg.max_receive_message_size = 4096;
        cfg.receive_window = 0;
    }
    cfg
}

/// The payload of the `k`-th message a side sends: its index in the first bytes, then a
/// pattern, so the receiver can tell which message arrived and that it is intact.
pub fn sctp_payload(k: usize, len: usize) -> Bytes {
    let mut v: Vec<u8> = (0..len).map(|j| (k * 31 + j) as u8).collect();
    let idx = (k as u32).to_be_bytes();
    let n = len.min(4);
    v[..n].copy_from_slice(&idx[..n]);
    Bytes::from(v)
}

/// Where an `sctp_association` run ended, for tests that check a seed reaches its aim.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SctpOutcome {
    /// A reported Connected.
    pub a_connected: bool,
    /// B reported Connected.
    pub b_connected: bool,
    /// Messages A received.
    pub a_messages: usize,
    /// Messages B received (all checked against what A sent).
    pub b_messages: usize,
    /// Why A closed, if it did.
    pub a_closed: Option<String>,
    /// Why B closed, if it did.
    pub b_closed: Option<String>,
    /// Packets A sent.
    pub a_packets: usize,
}

/// A message one side sent: (stream, ppid, unordered, length).
type SentMessage = (u16, u32, bool, usize);

/// One association of the pair and what the harness knows about it.
struct SctpPeer {
    assoc: Association,
    mtu: usize,
    max_message: usize,
    local_port: u16,
    remote_port: u16,
    /// Its Initiate Tag, read from what a fresh twin sends first.
    tag: u32,
    deadline: Option<Instant>,
    /// Packets it sent that are still on the wire, oldest first.
    wire: VecDeque<Bytes>,
    /// The newest packets it sent.
    sent: VecDeque<Bytes>,
    /// The state cookie of the latest INIT-ACK it sent.
    cookie: Option<Bytes>,
    /// Every message the application gave it (accepted by `send`).
    messages: Vec<SentMessage>,
    sent_bytes: usize,
    connected: bool,
    closed: Option<String>,
    received: usize,
    packets: usize,
}

impl SctpPeer {
    fn new(cfg: SctpConfig, now: Instant) -> Self {
        // A twin with the same seed tells its tag: the one in its INIT.
        let mut twin = Association::new(cfg.clone(), now);
        twin.connect(now);
        let tag = loop {
            match twin.poll_output() {
                Output::Transmit(p) => {
                    let p = Packet::parse(p, ChecksumPolicy::Verify).expect("own INIT parses");
                    match p.chunks.first() {
                        Some(Chunk::Init(i)) => break i.initiate_tag,
                        other => panic!("first packet is not an INIT: {other:?}"),
                    }
                }
                Output::Event(_) => {}
                Output::Timeout(_) => panic!("connect sent no INIT"),
            }
        };
        SctpPeer {
            mtu: cfg.mtu.max(256),
            max_message: cfg.max_receive_message_size,
            local_port: cfg.local_port,
            remote_port: cfg.remote_port,
            assoc: Association::new(cfg, now),
            tag,
            deadline: None,
            wire: VecDeque::new(),
            sent: VecDeque::new(),
            cookie: None,
            messages: Vec::new(),
            sent_bytes: 0,
            connected: false,
            closed: None,
            received: 0,
            packets: 0,
        }
    }

    /// What it sends must parse with a valid CRC (or a zero one, RFC 9653, once both ends
    /// offered it), come from and go to the right ports,
    /// follow the INIT bundling and tag rules, and carry DATA only in packets within the
    /// MTU.
    fn check_packet(&mut self, bytes: &Bytes) {
        let p = Packet::parse(bytes.clone(), ChecksumPolicy::AcceptZero)
            .unwrap_or_else(|e| panic!("own packet does not parse: {e}: {bytes:02x?}"));
        if bytes.len() >= 12 && bytes[8..12] == [0, 0, 0, 0] {
            assert!(
                !p.chunks
                    .iter()
                    .any(|c| matches!(c, Chunk::Init(_) | Chunk::CookieEcho(_))),
                "zero checksum on INIT or COOKIE-ECHO (RFC 9653 §5.2)"
            );
        }
        assert_eq!(
            (p.source_port, p.destination_port),
            (self.local_port, self.remote_port)
        );
        let mut data = false;
        for c in &p.chunks {
            match c {
                Chunk::Init(i) => {
                    assert_eq!(p.chunks.len(), 1, "INIT bundled");
                    assert_eq!(p.verification_tag, 0, "INIT with a tag");
                    assert_eq!(i.initiate_tag, self.tag, "INIT with another tag");
                }
                Chunk::InitAck(i) => {
                    assert_eq!(p.chunks.len(), 1, "INIT-ACK bundled");
                    assert_ne!(i.initiate_tag, 0);
                    self.cookie = i.state_cookie().cloned();
                }
                Chunk::Data(d) => {
                    assert!(!d.user_data.is_empty(), "DATA without user data");
                    assert!(
                        !self.assoc.uses_interleaving(),
                        "DATA while I-DATA is in use"
                    );
                    data = true;
                }
                Chunk::IData(d) => {
                    assert!(!d.user_data.is_empty(), "I-DATA without user data");
                    assert!(self.assoc.uses_interleaving(), "I-DATA not negotiated");
                    data = true;
                }
                _ => {}
            }
        }
        if data {
            assert!(
                bytes.len() <= self.mtu,
                "packet with DATA of {} bytes over MTU {}",
                bytes.len(),
                self.mtu
            );
        }
        self.packets += 1;
    }

    fn check_buffered(&self) {
        let b = self.assoc.buffered_amount();
        assert!(
            b <= self.sent_bytes,
            "buffered_amount {b} exceeds the {} bytes ever sent",
            self.sent_bytes
        );
        if self.closed.is_some() {
            assert_eq!(b, 0, "buffered_amount {b} after close");
        }
    }

    /// Take every output, checking it.
    fn drain(&mut self, now: Instant, other_messages: &[SentMessage], seen: &mut SeenMessages) {
        let assoc = &mut self.assoc;
        let (taken, at) = settle("SCTP", now, SCTP_MAX_OUTPUTS, || assoc.poll_output());
        for o in taken {
            match o {
                Output::Transmit(p) => {
                    self.check_packet(&p);
                    if self.wire.len() == SCTP_WIRE_MAX {
                        self.wire.pop_front();
                    }
                    self.wire.push_back(p.clone());
                    if self.sent.len() == SCTP_KEEP_SENT {
                        self.sent.pop_front();
                    }
                    self.sent.push_back(p);
                }
                Output::Event(e) => {
                    assert!(self.closed.is_none(), "event after Closed: {e:?}");
                    match e {
                        SctpEvent::Connected => {
                            assert!(!self.connected, "connected twice");
                            self.connected = true;
                        }
                        SctpEvent::Message {
                            stream_id,
                            ppid,
                            data,
                            unordered,
                        } => {
                            assert!(self.connected, "message before Connected");
                            assert!(!data.is_empty(), "empty message");
                            assert!(
                                data.len() <= self.max_message,
                                "message of {} bytes over the {} limit",
                                data.len(),
                                self.max_message
                            );
                            self.received += 1;
                            if let Some(seen) = seen.as_mut() {
                                seen.check(other_messages, stream_id, ppid, &data, unordered);
                            }
                        }
                        SctpEvent::Closed { reason } => self.closed = Some(reason.to_string()),
                        _ => {}
                    }
                }
                Output::Timeout(_) => unreachable!("settle keeps the deadline"),
            }
        }
        self.deadline = Some(at);
        self.check_buffered();
    }
}

/// What B received of A's messages: B only ever hears A's own packets, so every message
/// it delivers must be one A was asked to send, intact, at most once, and in send order
/// per stream when ordered.
#[derive(Default)]
struct SeenTracker {
    delivered: Vec<bool>,
    last_ordered: std::collections::HashMap<u16, usize>,
}

type SeenMessages = Option<SeenTracker>;

impl SeenTracker {
    fn check(&mut self, sent: &[SentMessage], stream: u16, ppid: u32, data: &[u8], un: bool) {
        // Short messages carry only part of their index: find the candidates.
        let k = if data.len() >= 4 {
            u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as usize
        } else {
            match (0..sent.len()).find(|&k| {
                !self.delivered.get(k).copied().unwrap_or(false)
                    && sent[k] == (stream, ppid, un, data.len())
                    && sctp_payload(k, data.len()) == data
            }) {
                Some(k) => k,
                None => panic!("B received a short message A never sent: {data:02x?}"),
            }
        };
        assert!(
            k < sent.len(),
            "B received message #{k}, A sent {}",
            sent.len()
        );
        assert_eq!(
            sent[k],
            (stream, ppid, un, data.len()),
            "message #{k} arrived with other metadata"
        );
        assert!(
            sctp_payload(k, data.len()) == data,
            "message #{k} corrupted"
        );
        if self.delivered.len() < sent.len() {
            self.delivered.resize(sent.len(), false);
        }
        assert!(!self.delivered[k], "message #{k} delivered twice");
        self.delivered[k] = true;
        if !un {
            if let Some(&last) = self.last_ordered.get(&stream) {
                assert!(
                    k > last,
                    "ordered message #{k} after #{last} on stream {stream}"
                );
            }
            self.last_ordered.insert(stream, k);
        }
    }
}

/// One `sctp_association` run: A (the association under test) and B (an honest peer).
/// Public so the seed generator can drive it and record what it feeds.
pub struct SctpRun {
    peers: [SctpPeer; 2],
    now: Instant,
    seen: SeenMessages,
    /// When set, the records that replay what A experienced without B: B's packets as
    /// datagrams (checksum fix-up bit set), A's calls and time advances.
    pub record: Option<Vec<u8>>,
}

impl SctpRun {
    /// A pair under `config` (see [`sctp_config`]).
    pub fn new(config: u8) -> Self {
        let now = base_instant();
        let mut run = SctpRun {
            peers: [
                SctpPeer::new(sctp_config_for(config, 0), now),
                SctpPeer::new(sctp_config_for(config, 1), now),
            ],
            now,
            seen: Some(SeenTracker::default()),
            record: None,
        };
        for side in 0..2 {
            let flag = [sctp_config::A_CONNECTS, sctp_config::B_CONNECTS][side];
            if config & flag != 0 {
                run.peers[side].assoc.connect(now);
            }
            run.drain(side);
        }
        run
    }

    /// The current instant of the run.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Where the run stands.
    pub fn outcome(&self) -> SctpOutcome {
        let [a, b] = &self.peers;
        SctpOutcome {
            a_connected: a.connected,
            b_connected: b.connected,
            a_messages: a.received,
            b_messages: b.received,
            a_closed: a.closed.clone(),
            b_closed: b.closed.clone(),
            a_packets: a.packets,
        }
    }

    fn drain(&mut self, side: usize) {
        let now = self.now;
        let (a, b) = self.peers.split_at_mut(1);
        if side == 0 {
            a[0].drain(now, &b[0].messages, &mut None);
        } else {
            b[0].drain(now, &a[0].messages, &mut self.seen);
        }
    }

    fn feed(&mut self, side: usize, packet: Bytes) {
        if side == 0
            && let Some(rec) = self.record.as_mut()
        {
            let len = u16::try_from(packet.len()).expect("packet fits in 64 KiB");
            rec.push(sctp_rec::DATAGRAM | 8);
            rec.extend_from_slice(&len.to_be_bytes());
            rec.extend_from_slice(&packet);
        }
        self.peers[side].assoc.handle_packet(self.now, packet);
        self.drain(side);
    }

    /// A datagram arrives at A, optionally with header fix-ups (see [`sctp_rec::DATAGRAM`]).
    fn datagram(&mut self, tag: u8, bytes: &[u8]) {
        let mut v = bytes.to_vec();
        let header = (tag >> 4) & 3;
        if header != 0 && v.len() >= sctp::COMMON_HEADER_LEN {
            let a = &self.peers[0];
            let vtag = match header {
                1 => a.tag,
                2 => 0,
                _ => self.peers[1].tag,
            };
            v[0..2].copy_from_slice(&a.remote_port.to_be_bytes());
            v[2..4].copy_from_slice(&a.local_port.to_be_bytes());
            v[4..8].copy_from_slice(&vtag.to_be_bytes());
        }
        if tag & 8 != 0 {
            fix_sctp_checksum(&mut v);
        }
        self.feed(0, Bytes::from(v));
    }

    /// Move time on by `by`, firing both associations' deadlines on the way; with `live`,
    /// packets flow both ways after each firing.
    fn advance(&mut self, by: Duration, live: bool) {
        if let Some(rec) = self.record.as_mut() {
            assert!(!live, "a live advance cannot be recorded");
            let b = (by.as_millis() as f64).sqrt() as u8;
            assert_eq!(
                u128::from(b) * u128::from(b),
                by.as_millis(),
                "not a square"
            );
            rec.extend_from_slice(&[sctp_rec::ADVANCE, b]);
        }
        let target = self.now + by;
        let mut same = 0;
        loop {
            let next = self.peers.iter().filter_map(|p| p.deadline).min();
            let Some(at) = next.filter(|&at| at <= target) else {
                break;
            };
            if at <= self.now {
                same += 1;
                assert!(
                    same < MAX_SAME_INSTANT,
                    "timer livelock: deadline stays at {:?} after firing it {same} times",
                    at - base_instant()
                );
            } else {
                same = 0;
            }
            self.now = self.now.max(at);
            for side in 0..2 {
                if self.peers[side].deadline.is_some_and(|d| d <= self.now) {
                    self.peers[side].assoc.handle_timeout(self.now);
                    self.drain(side);
                }
            }
            if live {
                self.pump(8);
            }
        }
        self.now = target;
        for side in 0..2 {
            self.peers[side].assoc.handle_timeout(target);
            self.drain(side);
        }
        if live {
            self.pump(8);
        }
    }

    /// An API call on A (`side` 0) or B.
    fn call(&mut self, side: usize, tag: u8, r: &mut Reader<'_>) {
        let code = (tag >> 3) & 3;
        let mut args = Vec::new();
        match code {
            sctp_call::SEND => {
                let stream = r.u8().unwrap_or(0);
                let len = r.u16().unwrap_or(0);
                args = vec![stream, (len >> 8) as u8, len as u8];
                let p = &mut self.peers[side];
                let len = usize::from(len.max(1));
                if p.sent_bytes + len <= SCTP_MAX_SEND_TOTAL {
                    let unordered = tag & 0x20 != 0;
                    let ppid = SCTP_PPIDS[usize::from(tag >> 6)];
                    let k = p.messages.len();
                    let stream = u16::from(stream);
                    let res = p.assoc.send(stream, ppid, sctp_payload(k, len), unordered);
                    match &res {
                        Ok(()) => assert!(p.closed.is_none(), "send accepted after Closed"),
                        Err(SctpError::MessageTooLarge { .. }) => {}
                        Err(e) => assert!(p.closed.is_some(), "send failed while open: {e}"),
                    }
                    if res.is_ok() {
                        p.messages.push((stream, ppid, unordered, len));
                        p.sent_bytes += len;
                    }
                }
            }
            sctp_call::ABORT => self.peers[side].assoc.abort("fuzz"),
            sctp_call::CONNECT => self.peers[side].assoc.connect(self.now),
            _ => self.peers[side].assoc.handle_timeout(self.now),
        }
        if side == 0
            && let Some(rec) = self.record.as_mut()
        {
            rec.push(tag);
            rec.extend_from_slice(&args);
        }
        self.drain(side);
    }

    /// A's oldest packet on the wire; see [`sctp_rec::A_PACKET`].
    fn a_packet(&mut self, how: u8) {
        let Some(p) = self.peers[0].wire.pop_front() else {
            return;
        };
        match how & 3 {
            0 => self.feed(1, p),
            1 => {}
            2 => self.feed(0, p),
            _ => {
                self.peers[0].wire.push_front(p.clone());
                self.feed(1, p);
            }
        }
    }

    /// B's oldest packet on the wire, or a replay; see [`sctp_rec::B_PACKET`].
    fn b_packet(&mut self, tag: u8, r: &mut Reader<'_>) {
        match (tag >> 3) & 3 {
            0 => {
                if let Some(p) = self.peers[1].wire.pop_front() {
                    self.feed(0, p);
                }
            }
            1 => {
                self.peers[1].wire.pop_front();
            }
            2 => {
                let pos = usize::from(r.u16().unwrap_or(0));
                let xor = r.u8().unwrap_or(0);
                if let Some(p) = self.peers[1].wire.pop_front() {
                    let mut v = p.to_vec();
                    let at = pos % v.len();
                    v[at] ^= xor;
                    if tag & 0x20 == 0 {
                        fix_sctp_checksum(&mut v);
                    }
                    self.feed(0, Bytes::from(v));
                }
            }
            _ => {
                let back = usize::from(tag >> 5);
                let sent = &self.peers[1].sent;
                if let Some(p) = sent.iter().rev().nth(back).cloned() {
                    self.feed(0, p);
                }
            }
        }
    }

    /// Packets flow both ways until none is left, for at most `rounds` rounds.
    fn pump(&mut self, rounds: usize) {
        for _ in 0..rounds {
            if self.peers.iter().all(|p| p.wire.is_empty()) {
                return;
            }
            while let Some(p) = self.peers[0].wire.pop_front() {
                self.feed(1, p);
            }
            while let Some(p) = self.peers[1].wire.pop_front() {
                self.feed(0, p);
            }
        }
    }

    /// A COOKIE-ECHO with A's latest cookie arrives at A; see [`sctp_rec::COOKIE_ECHO`].
    fn cookie_echo(&mut self, tag: u8, r: &mut Reader<'_>) {
        let extra = if tag & 8 != 0 {
            let len = usize::from(r.u8().unwrap_or(0));
            r.take(len)
        } else {
            &[]
        };
        let a = &self.peers[0];
        let Some(cookie) = a.cookie.clone() else {
            return;
        };
        let packet = Packet {
            source_port: a.remote_port,
            destination_port: a.local_port,
            verification_tag: a.tag,
            chunks: vec![Chunk::CookieEcho(sctp::CookieEcho { cookie })],
        };
        let mut v = packet
            .to_bytes(Checksum::Crc32c)
            .expect("COOKIE-ECHO encodes")
            .to_vec();
        v.extend_from_slice(extra);
        fix_sctp_checksum(&mut v);
        self.feed(0, Bytes::from(v));
    }
}

/// The `sctp_association` fuzz target; see the module docs for the input format.
pub fn sctp_association(data: &[u8]) {
    let Some(&config) = data.first() else {
        return;
    };
    // Each side's promise to its peer, plus what the application queued (held in the
    // send queue, in flight, on the simulated wire and in the checks) and the records.
    let budget = sctp_config_for(config, 0).memory_budget()
        + sctp_config_for(config, 1).memory_budget()
        + 8 * SCTP_MAX_SEND_TOTAL
        + 64 * data.len();
    heap::within("sctp_association", budget, || run_sctp(data));
}

/// Runs an `sctp_association` input, reporting where the pair ended (`None` for an empty
/// input).
pub fn run_sctp(data: &[u8]) -> Option<SctpOutcome> {
    let (&config, records) = data.split_first()?;
    let mut run = SctpRun::new(config);
    run.records(records);
    Some(run.outcome())
}

impl SctpRun {
    /// Acts on `sctp_association` records (see the module docs), at most
    /// `MAX_RECORDS` (256) of them.
    pub fn records(&mut self, data: &[u8]) {
        let mut r = Reader { data };
        for _ in 0..MAX_RECORDS {
            let Some(tag) = r.u8() else { break };
            match tag & 7 {
                sctp_rec::DATAGRAM => {
                    let len = usize::from(r.u16().unwrap_or(0));
                    let bytes = r.take(len);
                    self.datagram(tag, bytes);
                }
                sctp_rec::ADVANCE => {
                    let b = u64::from(r.u8().unwrap_or(0));
                    self.advance(Duration::from_millis(b * b), tag & 8 != 0);
                }
                sctp_rec::A_CALL => self.call(0, tag, &mut r),
                sctp_rec::B_CALL => self.call(1, tag, &mut r),
                sctp_rec::A_PACKET => self.a_packet(tag >> 3),
                sctp_rec::B_PACKET => self.b_packet(tag, &mut r),
                sctp_rec::PUMP => self.pump(1 + usize::from(tag >> 3)),
                _ => self.cookie_echo(tag, &mut r),
            }
        }
    }
}

/// Writes `sctp_association` inputs: for crafting seeds.
#[derive(Debug, Clone)]
pub struct SctpScript(Vec<u8>);

impl SctpScript {
    /// A script starting with this [`sctp_config`] byte.
    pub fn new(config: u8) -> Self {
        SctpScript(vec![config])
    }

    /// `bytes` arrive at A; `fix` holds the fix-up bits 3–5 of [`sctp_rec::DATAGRAM`].
    pub fn datagram(mut self, fix: u8, bytes: &[u8]) -> Self {
        let len = u16::try_from(bytes.len()).expect("datagram fits in 64 KiB");
        self.0.push(sctp_rec::DATAGRAM | (fix & 0x38));
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(bytes);
        self
    }

    /// Time advances `b²` ms; `live`: packets flow after each firing.
    pub fn advance(mut self, b: u8, live: bool) -> Self {
        self.0
            .extend_from_slice(&[sctp_rec::ADVANCE | if live { 8 } else { 0 }, b]);
        self
    }

    /// `send` on A (`side` 0) or B of `len` bytes; `ppid` indexes the PPIDs of
    /// [`sctp_call::SEND`].
    pub fn send(mut self, side: u8, stream: u8, len: u16, unordered: bool, ppid: u8) -> Self {
        let kind = [sctp_rec::A_CALL, sctp_rec::B_CALL][usize::from(side)];
        self.0
            .push(kind | sctp_call::SEND << 3 | u8::from(unordered) << 5 | (ppid & 3) << 6);
        self.0.push(stream);
        self.0.extend_from_slice(&len.to_be_bytes());
        self
    }

    /// Another [`sctp_call`] on A (`side` 0) or B.
    pub fn call(mut self, side: u8, call: u8) -> Self {
        let kind = [sctp_rec::A_CALL, sctp_rec::B_CALL][usize::from(side)];
        self.0.push(kind | (call & 3) << 3);
        self
    }

    /// A's oldest packet on the wire: delivered (0), dropped (1), reflected (2) or
    /// duplicated (3).
    pub fn a_packet(mut self, how: u8) -> Self {
        self.0.push(sctp_rec::A_PACKET | (how & 3) << 3);
        self
    }

    /// B's oldest packet on the wire: delivered (0) or dropped (1).
    pub fn b_packet(mut self, how: u8) -> Self {
        self.0.push(sctp_rec::B_PACKET | (how & 1) << 3);
        self
    }

    /// B's oldest packet on the wire arrives with byte `pos` XORed with `xor`.
    pub fn b_mutated(mut self, pos: u16, xor: u8, fix_checksum: bool) -> Self {
        self.0
            .push(sctp_rec::B_PACKET | 2 << 3 | if fix_checksum { 0 } else { 0x20 });
        self.0.extend_from_slice(&pos.to_be_bytes());
        self.0.push(xor);
        self
    }

    /// The `back`-th newest packet B sent arrives at A again.
    pub fn b_replay(mut self, back: u8) -> Self {
        self.0.push(sctp_rec::B_PACKET | 3 << 3 | (back & 7) << 5);
        self
    }

    /// Packets flow both ways for up to `rounds` (1..=32) rounds.
    pub fn pump(mut self, rounds: u8) -> Self {
        self.0.push(sctp_rec::PUMP | (rounds.clamp(1, 32) - 1) << 3);
        self
    }

    /// A COOKIE-ECHO with A's own cookie arrives at A, followed by `extra` chunk bytes.
    pub fn cookie_echo(mut self, extra: Option<&[u8]>) -> Self {
        match extra {
            None => self.0.push(sctp_rec::COOKIE_ECHO),
            Some(b) => {
                let len = u8::try_from(b.len()).expect("at most 255 bytes");
                self.0.push(sctp_rec::COOKIE_ECHO | 8);
                self.0.push(len);
                self.0.extend_from_slice(b);
            }
        }
        self
    }

    /// Records already in `sctp_association` form, appended as they are.
    pub fn raw(mut self, records: &[u8]) -> Self {
        self.0.extend_from_slice(records);
        self
    }

    /// The records without the config byte.
    pub fn records(&self) -> &[u8] {
        &self.0[1..]
    }

    /// The input bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}
