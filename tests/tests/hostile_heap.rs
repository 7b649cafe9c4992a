//! Heap a hostile peer can make one association and its data channels hold, measured
//! by a counting global allocator (this file is its own test binary, so the allocator
//! counts nothing else). Each attack is driven far past the limits; what stays held must
//! not grow with the attack but stay within the budget `DataChannelConfig` documents.
//! One test function: tests running in parallel would share the counter.
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sansrtc::datachannel::{DataChannelInit, DataChannels};
use sansrtc::dtls::DtlsRole;
use sansrtc::io::Output;
use sansrtc::sctp::*;

/// The system allocator, counting the bytes live.
struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);
// SAFETY: forwards to the system allocator and only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: `p` came from `alloc` with this layout.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LIVE.fetch_add(n as isize - l.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(p, l, n) }
    }
}
#[global_allocator]
static A: Counting = Counting;
fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

struct Peer {
    us: Association,
    now: Instant,
    tag: u32,
    tsn: Tsn,
}
impl Peer {
    /// Opens an association with a default configuration; with `idata`, both ends
    /// offer I-DATA (RFC 8260).
    fn open(idata: bool) -> Peer {
        let now = Instant::now();
        let mut p = Peer {
            us: Association::new(
                SctpConfig {
                    seed: 7,
                    interleaving: idata,
                    ..Default::default()
                },
                now,
            ),
            now,
            tag: 0,
            tsn: Tsn(100),
        };
        p.us.handle_timeout(now);
        p.send_tagged(
            0,
            vec![Chunk::Init(Init {
                initiate_tag: 0xabc,
                a_rwnd: 1 << 20,
                num_outbound_streams: u16::MAX,
                num_inbound_streams: u16::MAX,
                initial_tsn: Tsn(100),
                params: vec![
                    InitParam::ForwardTsnSupported,
                    InitParam::SupportedExtensions(if idata {
                        vec![ChunkType::I_DATA, ChunkType::I_FORWARD_TSN]
                    } else {
                        vec![]
                    }),
                ],
            })],
        );
        let mut cookie = None;
        while let Output::Transmit(pk) = p.us.poll_output() {
            for c in Packet::parse(pk, ChecksumPolicy::AcceptZero)
                .unwrap()
                .chunks
            {
                if let Chunk::InitAck(a) = c {
                    p.tag = a.initiate_tag;
                    cookie = a.state_cookie().cloned();
                }
            }
        }
        p.send(vec![Chunk::CookieEcho(CookieEcho {
            cookie: cookie.unwrap(),
        })]);
        p.drain();
        assert!(p.us.is_established());
        p
    }
    fn send_tagged(&mut self, vtag: u32, chunks: Vec<Chunk>) {
        let w = Packet {
            source_port: 5000,
            destination_port: 5000,
            verification_tag: vtag,
            chunks,
        }
        .to_bytes(Checksum::Crc32c)
        .unwrap();
        self.us.handle_packet(self.now, w);
    }
    fn send(&mut self, c: Vec<Chunk>) {
        let t = self.tag;
        self.send_tagged(t, c)
    }
    fn drain(&mut self) {
        while let Output::Transmit(_) | Output::Event(_) = self.us.poll_output() {}
    }
    fn next(&mut self) -> Tsn {
        let t = self.tsn;
        self.tsn = t.add(1);
        t
    }
}
fn data(tsn: Tsn, sid: u16, ssn: u16, b: bool, e: bool) -> Chunk {
    Chunk::Data(Data {
        unordered: false,
        beginning: b,
        ending: e,
        immediate: false,
        tsn,
        stream_id: Sid(sid),
        ssn: Ssn(ssn),
        ppid: Ppid(53),
        user_data: Bytes::from_static(b"x"),
    })
}

const MIB: isize = 1 << 20;

/// What the association's config promises one peer can make it hold.
fn sctp_budget() -> isize {
    isize::try_from(sansrtc::sctp::SctpConfig::default().memory_budget()).unwrap()
}

/// One-byte ordered messages on fresh streams behind a missing SSN, one-byte fragments
/// behind a TSN gap, and I-DATA fragments each of its own unfinished message, 200 000 of
/// each against the default 4 MiB window; then 3000 channel opens, and 300 opens with
/// 60 KB labels, against the default limits.
#[test]
fn what_a_hostile_peer_makes_us_hold_is_bounded() {
    let n = 200_000usize;
    // 1. one-byte ordered messages on fresh streams behind a missing SSN.
    let mut p = Peer::open(false);
    let base = live();
    let mut ssn = vec![0u16; 65536];
    let mut sent = 0;
    while sent < n {
        let mut chunks = Vec::new();
        for _ in 0..64 {
            let sid = 1 + sent % 65533;
            ssn[sid] += 1;
            let t = p.next();
            chunks.push(data(t, sid as u16, ssn[sid], true, true));
            sent += 1;
        }
        p.send(chunks);
        p.drain();
    }
    let held = live() - base;
    println!(
        "{n} one-byte messages behind a missing SSN: +{} KiB, {} dropped",
        held / 1024,
        p.us.stats().window_drops
    );
    // Before the bound: 44 MiB for 200k, growing with the attack.
    assert!(
        held < sctp_budget(),
        "{held} bytes held, budget {}",
        sctp_budget()
    );
    drop(p);
    // 2. fragments behind a TSN gap.
    let mut p = Peer::open(false);
    let base = live();
    p.next();
    let mut sent = 0;
    let mut slow = Duration::ZERO;
    while sent < n {
        let chunks = (0..64)
            .map(|_| {
                let t = p.next();
                data(t, 2, 0, false, false)
            })
            .collect();
        sent += 64;
        let s = Instant::now();
        p.send(chunks);
        p.drain();
        slow = slow.max(s.elapsed());
    }
    let held = live() - base;
    println!(
        "{n} fragments behind a TSN gap: +{} KiB, {} dropped, slowest packet {slow:?}",
        held / 1024,
        p.us.stats().window_drops
    );
    // Before the bound: 24 MiB for 200k, growing with the attack.
    assert!(
        held < sctp_budget(),
        "{held} bytes held, budget {}",
        sctp_budget()
    );
    drop(p);
    // 3. I-DATA fragments, each of a message of its own that never completes.
    let mut p = Peer::open(true);
    assert!(p.us.uses_interleaving());
    let base = live();
    let mut sent = 0u32;
    while (sent as usize) < n {
        let chunks = (0..64)
            .map(|_| {
                let t = p.next();
                sent += 1;
                Chunk::IData(IData {
                    unordered: true,
                    ending: false,
                    immediate: false,
                    tsn: t,
                    stream_id: Sid(3),
                    mid: Mid(sent),
                    ppid_or_fsn: PpidOrFsn::Fsn(Fsn(1)),
                    user_data: Bytes::from_static(b"z"),
                })
            })
            .collect();
        p.send(chunks);
        p.drain();
    }
    let held = live() - base;
    println!(
        "{n} I-DATA fragments of distinct messages: +{} KiB, {} dropped",
        held / 1024,
        p.us.stats().window_drops
    );
    // Before the per-message charge: 34 MiB (a B-tree node per message, charged 64).
    assert!(
        held < sctp_budget(),
        "{held} bytes held, budget {}",
        sctp_budget()
    );
    drop(p);
    // 4. data channel opens.
    for (opens, label, bound) in [(3_000usize, 8usize, 2 * MIB), (300, 60_000, 2 * MIB)] {
        let now = Instant::now();
        let mk = |seed, role| {
            DataChannels::new(
                Association::new(
                    SctpConfig {
                        seed,
                        max_receive_message_size: 1 << 20,
                        ..Default::default()
                    },
                    now,
                ),
                role,
            )
        };
        let mut a = mk(1, DtlsRole::Client);
        let mut b = mk(2, DtlsRole::Server);
        a.association_mut().connect(now);
        b.association_mut().connect(now);
        fn side(x: &mut DataChannels, y: &mut DataChannels, now: Instant) -> bool {
            let mut moved = false;
            loop {
                match x.poll_output() {
                    Output::Transmit(pk) => {
                        y.handle_packet(now, pk);
                        moved = true;
                    }
                    Output::Event(_) => {}
                    Output::Timeout(_) => break,
                }
            }
            moved
        }
        let pump = |a: &mut DataChannels, b: &mut DataChannels| {
            for _ in 0..100000 {
                let m1 = side(a, b, now);
                let m2 = side(b, a, now);
                if !m1 && !m2 {
                    break;
                }
            }
        };
        pump(&mut a, &mut b);
        let base = live();
        let l = "l".repeat(label);
        let mut made = 0;
        for i in 0..opens {
            if a.create(
                &l,
                DataChannelInit {
                    id: Some((2 * i) as u16),
                    ..Default::default()
                },
            )
            .is_ok()
            {
                made += 1;
            }
            if i % 64 == 0 {
                pump(&mut a, &mut b);
            }
        }
        pump(&mut a, &mut b);
        drop(a);
        // What b holds: a, and everything it allocated, is gone.
        println!(
            "{opens} opens, {label}-byte labels: +{} KiB, {} channels",
            (live() - base) / 1024,
            b.channel_ids().count()
        );
        let held = live() - base;
        // Before the limits: 3000 opens held 3.6 MiB, 300 with 60 KB labels 18 MiB.
        assert!(held < bound, "{held} bytes held");
        assert!(made == opens && b.channel_ids().count() <= 1024);
    }
}
