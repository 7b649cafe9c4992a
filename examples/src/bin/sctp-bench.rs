//! SCTP + data-channel figures: in-memory throughput through DTLS record protection,
//! throughput in the simulator at 50 ms RTT, and heap per idle association with one
//! channel (from a counting global allocator).
//!
//! Run with `cargo run --release -p sansrtc-examples --bin sctp-bench`.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use sansrtc::crypto::{HashAlgorithm, default_provider};
use sansrtc::datachannel::{DataChannelEvent, DataChannelInit, DataChannels};
use sansrtc::dtls::{Dtls, DtlsCertificate, DtlsConfig, DtlsEvent, DtlsRole};
use sansrtc::io::{Output, Pinned};
use sansrtc::sctp::congestion::{BbrFactory, ControllerFactory, NewRenoFactory};
use sansrtc::sctp::{Association, SctpConfig};
use sansrtc::sim::{HostConfig, LinkConfig, Sim};
use sansrtc_examples::counting::{self, Counting};
use std::sync::Arc;

#[global_allocator]
static ALLOC: Counting = Counting;

const MSG: usize = 64 * 1024;
/// Datagrams an endpoint takes or sends per turn of its loop.
const BATCH: usize = 64;

fn channels(seed: u64, role: DtlsRole, now: Instant) -> DataChannels {
    channels_with(seed, role, now, Arc::new(NewRenoFactory))
}

fn channels_with(
    seed: u64,
    role: DtlsRole,
    now: Instant,
    congestion: Arc<dyn ControllerFactory>,
) -> DataChannels {
    let mut assoc = Association::new(
        SctpConfig {
            seed,
            congestion,
            ..Default::default()
        },
        now,
    );
    assoc.set_peer_max_message_size(Some(256 * 1024));
    DataChannels::new(assoc, role)
}

/// Move everything `from` wants to send into `to`; returns messages delivered to `to`.
fn pump_plain(from: &mut DataChannels, to: &mut DataChannels, now: Instant) -> usize {
    let mut delivered = 0;
    loop {
        match from.poll_output() {
            Output::Transmit(p) => to.handle_packet(now, p),
            Output::Event(_) => {}
            Output::Timeout(_) => break,
        }
    }
    loop {
        match to.poll_output() {
            Output::Event(DataChannelEvent::Message { .. }) => delivered += 1,
            Output::Transmit(p) => from.handle_packet(now, p),
            Output::Event(_) => {}
            Output::Timeout(_) => break,
        }
    }
    delivered
}

/// One endpoint of the in-memory run: DTLS with data channels above it, and the
/// datagrams on their way to it.
struct Side {
    dtls: Dtls,
    dc: DataChannels,
    inbox: VecDeque<BytesMut>,
    delivered: usize,
}

impl Side {
    /// What an event loop does: take one datagram at a time through DTLS and SCTP, and
    /// send what that produced, a socket batch's worth per turn (as with GSO/GRO and
    /// recvmmsg) so the two ends alternate; what does not fit the batch waits for the
    /// next turn. Returns whether anything happened.
    fn service(&mut self, outbox: &mut VecDeque<BytesMut>, now: Instant) -> bool {
        let mut busy = false;
        let mut budget = BATCH;
        loop {
            let d = if budget > 0 {
                self.inbox.pop_front()
            } else {
                None
            };
            if d.is_some() {
                budget -= 1;
            }
            let got = d.is_some();
            if let Some(d) = d {
                self.dtls.handle_datagram_owned(now, d);
            }
            loop {
                match self.dtls.poll_output() {
                    Output::Transmit(d) => outbox.push_back(owned(d)),
                    Output::Event(DtlsEvent::ApplicationData(p)) => self.dc.handle_packet(now, p),
                    Output::Event(_) => {}
                    _ => break,
                }
            }
            let mut sent = false;
            if self.dtls.is_connected() {
                // SCTP writes each packet into the record DTLS then seals in place.
                while budget > 0
                    && self.dtls.send_with(|buf| self.dc.poll_transmit(buf)) == Ok(true)
                {
                    sent = true;
                    budget -= 1;
                }
            }
            // Events only: packets past this turn's batch wait in the association for
            // the next turn's `poll_transmit` (`poll_output` would build them all now,
            // into owned buffers DTLS then copies into records).
            while let Some(e) = self.dc.poll_event() {
                if let DataChannelEvent::Message { .. } = e {
                    self.delivered += 1;
                }
            }
            while let Output::Transmit(d) = self.dtls.poll_output() {
                outbox.push_back(owned(d));
            }
            busy |= got || sent;
            if (!got && !sent) || budget == 0 {
                return busy;
            }
        }
    }
}

fn side(dtls: Dtls, seed: u64, role: DtlsRole, now: Instant) -> Side {
    Side {
        dtls,
        dc: channels(seed, role, now),
        inbox: VecDeque::new(),
        delivered: 0,
    }
}

/// Service both sides until neither has anything left to do.
fn settle(a: &mut Side, b: &mut Side, now: Instant) {
    loop {
        let x = a.service(&mut b.inbox, now);
        let y = b.service(&mut a.inbox, now);
        if !x && !y && a.inbox.is_empty() && b.inbox.is_empty() {
            return;
        }
    }
}

/// In-memory throughput, SCTP packets sealed and opened by DTLS on the way.
fn in_memory_with_dtls(total: usize) -> f64 {
    let p = default_provider();
    let (cc, sc) = (
        DtlsCertificate::generate(&*p).unwrap(),
        DtlsCertificate::generate(&*p).unwrap(),
    );
    let now = Instant::now();
    let dc = Dtls::new(
        DtlsRole::Client,
        DtlsConfig::new(cc.clone(), vec![sc.fingerprint(&*p, HashAlgorithm::Sha256)]),
        now,
    );
    let ds = Dtls::new(
        DtlsRole::Server,
        DtlsConfig::new(sc, vec![cc.fingerprint(&*p, HashAlgorithm::Sha256)]),
        now,
    );
    let mut a = side(dc, 1, DtlsRole::Client, now);
    let mut b = side(ds, 2, DtlsRole::Server, now);
    settle(&mut a, &mut b, now);
    assert!(a.dtls.is_connected() && b.dtls.is_connected());
    a.dc.association_mut().connect(now);
    b.dc.association_mut().connect(now);
    settle(&mut a, &mut b, now);
    let id = a.dc.create("bulk", DataChannelInit::default()).unwrap();
    settle(&mut a, &mut b, now);
    assert_eq!(
        a.dc.channel(id).map(|c| c.state),
        Some(sansrtc::datachannel::DataChannelState::Open)
    );
    let payload = Bytes::from(vec![0x5au8; MSG]);
    let messages = total / MSG;
    let mut sent = 0;
    b.delivered = 0;
    let start = Instant::now();
    while b.delivered < messages {
        let now = Instant::now();
        while sent < messages && a.dc.buffered_amount(id) < 4 << 20 {
            a.dc.send_binary(id, payload.clone()).unwrap();
            sent += 1;
        }
        settle(&mut a, &mut b, now);
        a.dc.handle_timeout(now);
        b.dc.handle_timeout(now);
    }
    let secs = start.elapsed().as_secs_f64();
    (messages * MSG) as f64 / secs
}

/// A datagram as a receive buffer: what a socket read hands over (no copy when unshared).
fn owned(d: Bytes) -> BytesMut {
    d.try_into_mut().unwrap_or_else(|d| BytesMut::from(&d[..]))
}

/// Throughput in virtual time over a 50 ms RTT path without loss; returns bits/s.
fn simulated_50ms(total: usize) -> f64 {
    simulated(
        total,
        LinkConfig::new().latency(Duration::from_millis(25)),
        Arc::new(NewRenoFactory),
    )
    .0
}

/// Throughput in virtual time over `link` (each way); returns bits/s and the sender's
/// counters.
fn simulated(
    total: usize,
    link: LinkConfig,
    congestion: Arc<dyn ControllerFactory>,
) -> (f64, sansrtc::sctp::SctpStats) {
    let (aa, ba): (SocketAddr, SocketAddr) = (
        "198.51.100.1:5000".parse().unwrap(),
        "198.51.100.2:5000".parse().unwrap(),
    );
    let mut sim = Sim::new(7, Instant::now());
    sim.set_logging(false);
    let ha = sim.add_host(HostConfig::new(aa.ip()).link(link.clone()));
    let hb = sim.add_host(HostConfig::new(ba.ip()).link(link));
    // Both ends open the association at once, as WebRTC's do.
    let node = |seed, role, local, remote, now| {
        let mut dc = channels_with(seed, role, now, congestion.clone());
        dc.association_mut().connect(now);
        Pinned::new(dc, local, remote)
    };
    let now = sim.now();
    let a = sim.add_endpoint(ha, node(3, DtlsRole::Client, aa, ba, now));
    let b = sim.add_endpoint(hb, node(4, DtlsRole::Server, ba, aa, now));
    sim.bind(a, aa);
    sim.bind(b, ba);
    sim.run_until(Duration::from_secs(5), |s| {
        s.endpoint(a).layer.association().is_established()
    });
    let id = sim
        .endpoint_mut(a)
        .layer
        .create("bulk", DataChannelInit::default())
        .unwrap();
    sim.run_for(Duration::from_millis(200));
    let payload = Bytes::from(vec![1u8; MSG]);
    let messages = total / MSG;
    let mut sent = 0;
    let start = sim.elapsed();
    let mut received = 0usize;
    while received < messages {
        while sent < messages && sim.endpoint(a).layer.buffered_amount(id) < 8 << 20 {
            sim.endpoint_mut(a)
                .layer
                .send_binary(id, payload.clone())
                .unwrap();
            sent += 1;
        }
        sim.run_for(Duration::from_millis(10));
        received += sim
            .take_events(b)
            .iter()
            .filter(|(_, e)| matches!(e, DataChannelEvent::Message { .. }))
            .count();
        sim.take_events(a);
    }
    let secs = (sim.elapsed() - start).as_secs_f64();
    let assoc = sim.endpoint(a).layer.association();
    if std::env::var("VERBOSE").is_ok() {
        println!(
            "  sender: {:?}, cwnd {} B, srtt {:?}, rto {:?}",
            assoc.stats(),
            assoc.cwnd(),
            assoc.srtt(),
            assoc.rto()
        );
    }
    ((messages * MSG * 8) as f64 / secs, assoc.stats())
}

/// The paths of issue 14 in virtual time: 50 ms RTT at 0, 1 and 5 % loss each way
/// (64 MiB in 64 KiB messages, as the anchors' `rtc_sim`/`str0m_sim` throughput mode),
/// and a 10 Mbit/s bottleneck with a 100 ms queue.
fn path_figures() {
    let mib: usize = std::env::var("PATH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let base = || LinkConfig::new().latency(Duration::from_millis(25));
    let cases: [(&str, LinkConfig); 4] = [
        ("50 ms RTT, 0 % loss", base()),
        ("50 ms RTT, 1 % loss", base().loss(0.01)),
        ("50 ms RTT, 5 % loss", base().loss(0.05)),
        (
            "10 Mbit/s bottleneck, 100 ms queue, 50 ms RTT",
            // 100 ms at 10 Mbit/s is 125,000 bytes of queue.
            base().bandwidth(10_000_000, 125_000),
        ),
    ];
    let controllers: [(&str, Arc<dyn ControllerFactory>); 2] = [
        ("NewReno", Arc::new(NewRenoFactory)),
        ("BBR", Arc::new(BbrFactory)),
    ];
    for (name, link) in cases {
        for (cc, factory) in &controllers {
            let (bps, st) = simulated(mib << 20, link.clone(), factory.clone());
            println!(
                "path, {name}, {cc}, {mib} MiB: {:.1} Mbit/s (virtual time; T3 expiries {}, fast retransmits {}, retransmissions {})",
                bps / 1e6,
                st.t3_expiries,
                st.fast_retransmits,
                st.retransmissions
            );
        }
    }
}

/// Heap held per endpoint by `n` connected association pairs, each with one open channel.
fn memory_per_endpoint(n: usize) -> usize {
    let now = Instant::now();
    let before = counting::live();
    let mut pairs = Vec::with_capacity(n);
    let baseline_vec = counting::live().wrapping_sub(before);
    for i in 0..n as u64 {
        let mut a = channels(10 + 2 * i, DtlsRole::Client, now);
        let mut b = channels(11 + 2 * i, DtlsRole::Server, now);
        a.association_mut().connect(now);
        b.association_mut().connect(now);
        for _ in 0..6 {
            pump_plain(&mut a, &mut b, now);
            pump_plain(&mut b, &mut a, now);
        }
        let id = a.create("idle", DataChannelInit::default()).unwrap();
        for _ in 0..4 {
            pump_plain(&mut a, &mut b, now);
            pump_plain(&mut b, &mut a, now);
        }
        // Let delayed SACKs go out so nothing is pending.
        let later = now + Duration::from_secs(1);
        a.handle_timeout(later);
        b.handle_timeout(later);
        pump_plain(&mut a, &mut b, later);
        pump_plain(&mut b, &mut a, later);
        assert!(a.channel(id).is_some());
        pairs.push((a, b));
    }
    let used = counting::live()
        .wrapping_sub(before)
        .wrapping_sub(baseline_vec);
    drop(pairs);
    used / (2 * n)
}

fn main() {
    // An optional first argument picks one figure (`in-memory`, `sim`, `memory`), for profiling;
    // `in-memory-sctp` is the in-memory run alone, without the bare-record reference, so an
    // instruction count (callgrind) measures only the SCTP path. `SCTP_BENCH_MIB` shrinks the
    // in-memory byte count, since a profiler makes 256 MiB slow.
    let only = std::env::args().nth(1);
    let run = |name: &str| only.as_deref().is_none_or(|o| o == name);
    if run("in-memory") {
        in_memory_figure();
    }
    if only.as_deref() == Some("in-memory-sctp") {
        let total = in_memory_total();
        let bytes_per_sec = in_memory_with_dtls(total);
        println!(
            "in-memory, DTLS AES-128-GCM records, 64 KiB messages, {} MiB: {:.2} GB/s",
            total >> 20,
            bytes_per_sec / 1e9
        );
    }
    if run("sim") {
        sim_figure();
    }
    if run("path") {
        path_figures();
    }
    if run("memory") {
        memory_figure();
    }
}

/// Bytes the in-memory figures move: 256 MiB, or `SCTP_BENCH_MIB` MiB.
fn in_memory_total() -> usize {
    let mib = std::env::var("SCTP_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(256);
    mib << 20
}

fn in_memory_figure() {
    let total = in_memory_total();
    let bytes_per_sec = in_memory_with_dtls(total);
    println!(
        "in-memory, DTLS AES-128-GCM records, 64 KiB messages, {} MiB: {:.2} GB/s ({:.1} Gbit/s)",
        total >> 20,
        bytes_per_sec / 1e9,
        bytes_per_sec * 8.0 / 1e9
    );
    let records = dtls_records_only(total);
    println!(
        "  beside: the same bytes as bare DTLS records (seal + open, no SCTP): {:.2} GB/s; \
         SCTP and data channels keep {:.0} % of it",
        records / 1e9,
        100.0 * bytes_per_sec / records
    );
}

/// The ceiling the SCTP figure sits under: DTLS sealing and opening records of a full
/// SCTP packet's payload size, nothing above them.
fn dtls_records_only(total: usize) -> f64 {
    let p = default_provider();
    let (cc, sc) = (
        DtlsCertificate::generate(&*p).unwrap(),
        DtlsCertificate::generate(&*p).unwrap(),
    );
    let now = Instant::now();
    let dc = Dtls::new(
        DtlsRole::Client,
        DtlsConfig::new(cc.clone(), vec![sc.fingerprint(&*p, HashAlgorithm::Sha256)]),
        now,
    );
    let ds = Dtls::new(
        DtlsRole::Server,
        DtlsConfig::new(sc, vec![cc.fingerprint(&*p, HashAlgorithm::Sha256)]),
        now,
    );
    let mut a = side(dc, 1, DtlsRole::Client, now);
    let mut b = side(ds, 2, DtlsRole::Server, now);
    settle(&mut a, &mut b, now);
    // What one SCTP packet carries of user data at the default 1200-byte MTU.
    let chunk = vec![0x5au8; 1200 - 12 - 16];
    let n = total / chunk.len();
    let start = Instant::now();
    let mut got = 0usize;
    for _ in 0..n {
        a.dtls
            .send_with(|buf| {
                buf.extend_from_slice(&chunk);
                true
            })
            .unwrap();
        let Output::Transmit(d) = a.dtls.poll_output() else {
            panic!("no record")
        };
        b.dtls.handle_datagram_owned(now, owned(d));
        if let Output::Event(DtlsEvent::ApplicationData(p)) = b.dtls.poll_output() {
            got += p.len();
        }
    }
    assert_eq!(got, n * chunk.len());
    got as f64 / start.elapsed().as_secs_f64()
}

fn sim_figure() {
    // 200 MiB is mostly slow start at this RTT; 1 GiB shows the rate it settles at.
    for mib in [200, 1024] {
        let bps = simulated_50ms(mib << 20);
        println!(
            "simulator, 50 ms RTT, no loss, 64 KiB messages, {mib} MiB: {:.0} Mbit/s (virtual time)",
            bps / 1e6
        );
    }
}

fn memory_figure() {
    counting::set(true);
    let per = memory_per_endpoint(1000);
    counting::set(false);
    println!(
        "heap per idle association with one open channel (1,000 pairs): {:.1} KiB",
        per as f64 / 1024.0
    );
}
