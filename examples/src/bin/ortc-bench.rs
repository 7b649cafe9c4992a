//! Figures for the ORTC chain (ICE → DTLS → SCTP → data channel), each beside its
//! reference where one exists:
//!
//! - `connect`: start of ICE → channel open, ours ↔ ours over loopback UDP through tokio,
//!   median and p95 of 20 fresh pairs;
//! - `throughput`: one connection over loopback UDP, 256 MiB in 64 KiB messages;
//! - `memory`: heap per endpoint of 1,000 connected chains with one open channel each,
//!   from a counting global allocator;
//! - `setup`: connect time in the simulator at 20 ms RTT and 0 %, 1 %, 5 % loss, 200
//!   seeds each;
//! - `aiortc`: aiortc ↔ aiortc measured by its own harness (`tests/aiortc/selftest.py
//!   --bench`, needs `scripts/install-aiortc`).
//!
//! Run with `cargo run --release -p sansrtc-examples --bin ortc-bench [figure ...]`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sansrtc::crypto::default_provider;
use sansrtc::datachannel::{ChannelId, DataChannelEvent, DataChannelState};
use sansrtc::dtls::DtlsCertificate;
use sansrtc::engine::{Engine, EngineConfig};
use sansrtc::io::{Endpoint, Input, Output, Receive};
use sansrtc::ortc::*;
use sansrtc::sim::{HostConfig, LinkConfig, Sim};
use sansrtc_examples::counting::{self, Counting};
use sansrtc_tokio::UdpDriver;

#[global_allocator]
static ALLOC: Counting = Counting;

/// An engine gathered on `addr` (certificates are costly to make: pass one in).
fn chain(seed: u64, addr: SocketAddr, cert: &DtlsCertificate, now: Instant) -> Engine {
    let mut e = Engine::new(
        EngineConfig::with_certificate(cert.clone()).seeded(seed),
        now,
    );
    e.ice_gatherer_mut()
        .gather(&[addr])
        .expect("host candidate");
    e
}

/// Start `a` (controlling) and `b` with each other's parameters.
fn start_pair(a: &mut Engine, b: &mut Engine) {
    let (sa, sb) = (a.local_signal(), b.local_signal());
    a.start_with(&sb, IceRole::Controlling).expect("start");
    b.start_with(&sa, IceRole::Controlled).expect("start");
}

fn is_open(t: &Engine, ch: ChannelId) -> bool {
    t.sctp_transport()
        .channel(ch)
        .is_some_and(|c| c.state == DataChannelState::Open)
}

/// Whether channel `ch`, created on `a`, is open there and on its peer `b` (the same
/// stream; each side has its own handle).
fn open_both(a: &Engine, b: &Engine, ch: ChannelId) -> bool {
    let on_b = a
        .sctp_transport()
        .channel(ch)
        .and_then(|c| c.id)
        .and_then(|id| b.sctp_transport().data_channels()?.channel_on_stream(id));
    is_open(a, ch) && on_b.is_some_and(|cb| is_open(b, cb))
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Two drivers over loopback, connected, with a channel from `a` open on both.
async fn connected_pair(
    seed: u64,
    cert: &DtlsCertificate,
) -> (UdpDriver<Engine>, UdpDriver<Engine>, ChannelId, Duration) {
    let lo: SocketAddr = "127.0.0.1:0".parse().expect("literal");
    // Bind first (the chain learns its address from the socket), then gather.
    let probe_a = std::net::UdpSocket::bind(lo).expect("bind");
    let probe_b = std::net::UdpSocket::bind(lo).expect("bind");
    let (aa, ba) = (probe_a.local_addr().unwrap(), probe_b.local_addr().unwrap());
    drop((probe_a, probe_b));
    let mut ta = chain(seed, aa, cert, Instant::now());
    let mut tb = chain(seed + 1, ba, cert, Instant::now());
    // Nothing runs before the first input: ICE starts with the drivers' first turn.
    start_pair(&mut ta, &mut tb);
    let id = ta
        .sctp_transport_mut()
        .create_data_channel(&DataChannelParameters::new("bench"))
        .expect("channel");
    let mut a = UdpDriver::bind(ta, &[aa]).expect("bind a");
    let mut b = UdpDriver::bind(tb, &[ba]).expect("bind b");
    let start = Instant::now();
    while !open_both(a.endpoint(), b.endpoint(), id) {
        tokio::select! {
            e = a.next_event() => { e.expect("socket"); }
            e = b.next_event() => { e.expect("socket"); }
        }
    }
    let t = start.elapsed();
    (a, b, id, t)
}

fn connect_figure() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cert = DtlsCertificate::generate(&*default_provider()).expect("cert");
    let mut times = Vec::new();
    rt.block_on(async {
        // One warm-up pair: first-use costs (page faults, lazy statics) are not setup.
        connected_pair(1000, &cert).await;
        for i in 0..20 {
            let (_, _, _, t) = connected_pair(2 * i, &cert).await;
            times.push(t);
        }
    });
    let median = percentile(&mut times, 0.5);
    let p95 = percentile(&mut times, 0.95);
    println!(
        "connect, ICE start → channel open, ours ↔ ours over loopback (tokio), 20 pairs: median {:.3} ms, p95 {:.3} ms",
        ms(median),
        ms(p95)
    );
}

fn throughput_figure() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let cert = DtlsCertificate::generate(&*default_provider()).expect("cert");
    let total: usize = 256 << 20;
    let msg = 64 << 10;
    let bps = rt.block_on(async {
        let (mut a, mut b, id, _) = connected_pair(77, &cert).await;
        let receiver = tokio::spawn(async move {
            let mut got = 0usize;
            let mut first = None;
            while got < total {
                if let OrtcEvent::DataChannel(DataChannelEvent::Message { data, .. }) =
                    b.next_event().await.expect("socket")
                {
                    first.get_or_insert_with(Instant::now);
                    got += data.len();
                }
            }
            (got, first.expect("data arrived").elapsed())
        });
        // Refill when half the queue drained, as an application on `bufferedamountlow`.
        a.endpoint_mut()
            .sctp_transport_mut()
            .set_buffered_amount_low_threshold(id, 2 << 20);
        let payload = Bytes::from(vec![0x5a; msg]);
        let mut sent = 0;
        let start = Instant::now();
        while sent < total {
            while sent < total && a.endpoint().sctp_transport().buffered_amount(id) < 4 << 20 {
                a.endpoint_mut()
                    .sctp_transport_mut()
                    .send_binary(id, payload.clone())
                    .expect("send");
                sent += msg;
            }
            a.next_event().await.expect("socket");
        }
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let sender = tokio::spawn(async move {
            // Keep the sender's loop turning until the receiver has it all.
            loop {
                tokio::select! {
                    e = a.next_event() => if e.is_err() { break },
                    _ = &mut stopped => break,
                }
            }
            a
        });
        let (got, _) = receiver.await.expect("receiver");
        let bps = got as f64 * 8.0 / start.elapsed().as_secs_f64();
        let _ = stop.send(());
        if std::env::var_os("VERBOSE").is_some() {
            // What the sender's association did: retransmissions and timer expiries
            // tell a transfer slowed by losses (a receive buffer overflowing) apart
            // from one slowed by the machine.
            let a = sender.await.expect("sender");
            let sctp = a.endpoint().sctp_transport();
            if let Some(dc) = sctp.data_channels() {
                println!("  sender SCTP: {:?}", dc.association().stats());
            }
            println!("  sender driver: {:?}", a.stats());
        }
        bps
    });
    println!(
        "throughput, ours ↔ ours over loopback UDP, one connection, 64 KiB messages, 256 MiB: {:.2} Gbit/s",
        bps / 1e9
    );
}

/// The same transfer through the async handles (`sansrtc_tokio::ortc`): every message a
/// `send_binary().await` and a `recv().await`, through each chain's task.
fn throughput_async_figure() {
    use sansrtc_tokio::ortc as o;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let total: usize = 256 << 20;
    let msg = 64 << 10;
    let bps = rt.block_on(async {
        let side = || async {
            let g = o::IceGatherer::new(o::IceGathererOptions::bind(["127.0.0.1:0"
                .parse()
                .expect("literal")]));
            g.gather().await.expect("gather");
            let ice = o::IceTransport::new(&g);
            let cert = DtlsCertificate::generate(&*default_provider()).expect("cert");
            let dtls = o::DtlsTransport::new(&ice, vec![cert]).expect("dtls");
            let sctp = o::SctpTransport::new(&dtls, 5000).expect("sctp");
            (g, ice, dtls, sctp)
        };
        let (a, b) = (side().await, side().await);
        let start = |me: &(
            o::IceGatherer,
            o::IceTransport,
            o::DtlsTransport,
            o::SctpTransport,
        ),
                     peer: &(
            o::IceGatherer,
            o::IceTransport,
            o::DtlsTransport,
            o::SctpTransport,
        ),
                     role| {
            let (params, cands) = (peer.0.local_parameters(), peer.0.local_candidates());
            let (dtls, caps) = (peer.2.local_parameters(), peer.3.capabilities());
            let (ice, d, s) = (me.1.clone(), me.2.clone(), me.3.clone());
            async move {
                for c in &cands {
                    ice.add_remote_candidate(Some(c)).await.expect("candidate");
                }
                ice.add_remote_candidate(None).await.expect("end");
                ice.start(&params, role).await.expect("ICE");
                d.start(&dtls).await.expect("DTLS");
                s.start(&caps, 5000).await.expect("SCTP");
            }
        };
        tokio::join!(
            start(&a, &b, IceRole::Controlling),
            start(&b, &a, IceRole::Controlled)
        );
        let mut incoming = b.3.incoming_channels();
        let tx =
            a.3.create_data_channel(DataChannelParameters::new("bulk"))
                .expect("channel");
        tx.open().await.expect("open");
        let rx = incoming.next().await.expect("incoming");
        let receiver = tokio::spawn(async move {
            let mut got = 0;
            while got < total {
                match rx.recv().await {
                    Some(o::Message::Binary(d)) => got += d.len(),
                    Some(_) => {}
                    None => break,
                }
            }
            got
        });
        let payload = Bytes::from(vec![0x5a; msg]);
        let t0 = Instant::now();
        for _ in 0..total / msg {
            tx.send_binary(payload.clone()).await.expect("send");
        }
        let got = receiver.await.expect("receiver");
        let bps = got as f64 * 8.0 / t0.elapsed().as_secs_f64();
        drop((a, b));
        bps
    });
    println!(
        "throughput through the async handles (send_binary().await / recv().await), same transfer: {:.2} Gbit/s",
        bps / 1e9
    );
}

/// Move what `from` sends into `to`; returns whether anything moved.
fn forward(from: &mut Engine, to: &mut Engine, now: Instant) -> bool {
    let mut moved = false;
    loop {
        match from.poll_output() {
            Output::Transmit(t) => {
                for d in t.datagrams() {
                    to.handle_input(Input::Receive(Receive {
                        now,
                        protocol: t.protocol,
                        source: t.source,
                        destination: t.destination,
                        contents: d,
                    }));
                }
                moved = true;
            }
            Output::Event(_) => {}
            _ => return moved,
        }
    }
}

/// Move everything between two in-memory chains until both are quiet.
fn pump(a: &mut Engine, b: &mut Engine, now: Instant) {
    while forward(a, b, now) | forward(b, a, now) {}
}

/// The processing cost of one connection's setup, both ends in one thread, in memory (no
/// sockets, no waiting): ICE, DTLS (ECDHE, both certificates signed and checked), SCTP,
/// DCEP. What remains of the connect figure is socket and scheduling time.
fn connect_cpu_figure() {
    let n = 50;
    let certs: Vec<DtlsCertificate> = (0..2)
        .map(|_| DtlsCertificate::generate(&*default_provider()).expect("cert"))
        .collect();
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let ip = |host: usize| -> SocketAddr {
            format!("10.0.0.{}:5000", host + 1)
                .parse()
                .expect("address")
        };
        let started = Instant::now();
        let mut now = started;
        let mut a = chain(2 * i as u64 + 1, ip(0), &certs[0], now);
        let mut b = chain(2 * i as u64 + 2, ip(1), &certs[1], now);
        start_pair(&mut a, &mut b);
        let id = a
            .sctp_transport_mut()
            .create_data_channel(&DataChannelParameters::new("cpu"))
            .expect("channel");
        a.handle_input(Input::Timeout(now));
        b.handle_input(Input::Timeout(now));
        while !open_both(&a, &b, id) {
            pump(&mut a, &mut b, now);
            // Virtual time moves only when both are waiting (ICE paces its checks).
            now += Duration::from_millis(1);
            a.handle_input(Input::Timeout(now));
            b.handle_input(Input::Timeout(now));
        }
        times.push(started.elapsed());
    }
    let median = percentile(&mut times, 0.5);
    println!(
        "connect CPU, both ends in one thread, in memory, {n} pairs: median {:.3} ms",
        ms(median)
    );
}

fn memory_figure() {
    let n = 1000usize;
    let certs: Vec<DtlsCertificate> = (0..2)
        .map(|_| DtlsCertificate::generate(&*default_provider()).expect("cert"))
        .collect();
    counting::set(true);
    let before = counting::live();
    let mut pairs = Vec::with_capacity(n);
    let vec_bytes = counting::live().wrapping_sub(before);
    let mut now = Instant::now();
    for i in 0..n {
        let ip = |host: usize| -> SocketAddr {
            format!(
                "10.{}.{}.{}:5000",
                host / 62500,
                (host / 250) % 250,
                host % 250 + 1
            )
            .parse()
            .expect("address")
        };
        let mut a = chain(2 * i as u64 + 1, ip(2 * i), &certs[0], Instant::now());
        let mut b = chain(2 * i as u64 + 2, ip(2 * i + 1), &certs[1], Instant::now());
        start_pair(&mut a, &mut b);
        let id = a
            .sctp_transport_mut()
            .create_data_channel(&DataChannelParameters::new("idle"))
            .expect("channel");
        a.handle_input(Input::Timeout(now));
        b.handle_input(Input::Timeout(now));
        for _ in 0..200 {
            pump(&mut a, &mut b, now);
            if open_both(&a, &b, id) {
                break;
            }
            now += Duration::from_millis(5);
            a.handle_input(Input::Timeout(now));
            b.handle_input(Input::Timeout(now));
        }
        assert!(is_open(&a, id), "pair {i} did not open");
        // Let delayed acknowledgements go out so nothing is pending.
        let later = now + Duration::from_secs(1);
        a.handle_input(Input::Timeout(later));
        b.handle_input(Input::Timeout(later));
        pump(&mut a, &mut b, later);
        pairs.push((a, b));
    }
    let used = counting::live()
        .wrapping_sub(before)
        .wrapping_sub(vec_bytes);
    counting::set(false);
    drop(pairs);
    println!(
        "memory: heap per endpoint of {n} connected chains with one open channel each: {:.1} KiB",
        used as f64 / (2 * n) as f64 / 1024.0
    );
}

/// `n` peers connect to one server socket (a `Mux` of `n` chains), in memory with no
/// latency: the wall time until every peer's channel is open on both ends, and the heap
/// the server holds per connection once they are.
fn mux_figure(n: usize) {
    use std::collections::HashMap;

    use sansrtc::mux::Mux;

    let certs: Vec<DtlsCertificate> = (0..2)
        .map(|_| DtlsCertificate::generate(&*default_provider()).expect("cert"))
        .collect();
    let server_addr: SocketAddr = "198.51.100.1:3478".parse().expect("literal");
    let client_addr = |i: usize| -> SocketAddr {
        format!("10.{}.{}.{}:5000", i / 62500, (i / 250) % 250, i % 250 + 1)
            .parse()
            .expect("address")
    };
    let mut now = Instant::now();
    let mut clients = Vec::with_capacity(n);
    let mut servers = Vec::with_capacity(n);
    let mut by_addr = HashMap::with_capacity(n);
    for i in 0..n {
        let mut c = chain(2 * i as u64 + 1, client_addr(i), &certs[0], now);
        let mut s = chain(2 * i as u64 + 2, server_addr, &certs[1], now);
        start_pair(&mut c, &mut s);
        let id = c
            .sctp_transport_mut()
            .create_data_channel(&DataChannelParameters::new("peer"))
            .expect("channel");
        by_addr.insert(client_addr(i), i);
        clients.push((c, id));
        servers.push(s);
    }
    counting::set(true);
    let before = counting::live();
    let mut mux = Mux::new(now);
    for s in servers {
        mux.insert(s);
    }
    let started = std::time::Instant::now();
    let receive = |source, destination, contents, now| {
        Input::Receive(Receive {
            now,
            protocol: sansrtc::io::Protocol::Udp,
            source,
            destination,
            contents,
        })
    };
    let mut open = 0;
    let mut ticks = 0;
    while open < n {
        // Everything the clients send reaches the server socket, and back, until quiet.
        loop {
            let mut moved = false;
            for (c, _) in clients.iter_mut() {
                while let Some(t) = next_transmit(c) {
                    for d in t.datagrams() {
                        mux.handle_input(receive(t.source, t.destination, d, now));
                    }
                    moved = true;
                }
            }
            loop {
                match mux.poll_output() {
                    Output::Transmit(t) => {
                        let i = by_addr[&t.destination];
                        for d in t.datagrams() {
                            clients[i]
                                .0
                                .handle_input(receive(t.source, t.destination, d, now));
                        }
                        moved = true;
                    }
                    Output::Event(_) => {}
                    Output::Timeout(_) => break,
                }
            }
            if !moved {
                break;
            }
        }
        open = clients.iter().filter(|(c, id)| is_open(c, *id)).count();
        // Time passes for the retransmission and pacing timers.
        now += Duration::from_millis(5);
        ticks += 1;
        assert!(ticks < 2000, "{open} of {n} open after {ticks} ticks");
        for (c, _) in clients.iter_mut() {
            c.handle_input(Input::Timeout(now));
        }
        mux.handle_input(Input::Timeout(now));
    }
    let took = started.elapsed();
    let held = counting::live().wrapping_sub(before);
    counting::set(false);
    assert!(
        mux.ids().all(|id| mux.get(id).is_some_and(|s| {
            s.sctp_transport()
                .data_channels()
                .is_some_and(|d| d.channel_ids().next().is_some())
        })),
        "every server chain has its peer's channel"
    );
    println!(
        "mux: {n} connections through one server socket (in memory, no latency): all channels open after {:.2} s wall ({:.0} µs per connection, {ticks} ticks of 5 ms virtual); server heap {:.1} KiB per connection",
        took.as_secs_f64(),
        took.as_secs_f64() * 1e6 / n as f64,
        held as f64 / n as f64 / 1024.0
    );
}

/// The next transmit of `c`, skipping its events; `None` once it is waiting.
fn next_transmit(c: &mut Engine) -> Option<sansrtc::io::Transmit> {
    loop {
        match c.poll_output() {
            Output::Transmit(t) => return Some(t),
            Output::Event(_) => {}
            Output::Timeout(_) => return None,
        }
    }
}

fn setup_figure() {
    let cert = DtlsCertificate::generate(&*default_provider()).expect("cert");
    let rtt = Duration::from_millis(20);
    let mut clean_median = Duration::ZERO;
    for loss in [0.0, 0.01, 0.05] {
        let mut times = Vec::new();
        for seed in 0..200u64 {
            let (aa, ba): (SocketAddr, SocketAddr) = (
                "198.51.100.1:5000".parse().expect("literal"),
                "198.51.100.2:5000".parse().expect("literal"),
            );
            let link = LinkConfig::new().latency(rtt / 2).loss(loss);
            let mut sim = Sim::new(seed, Instant::now());
            let ha = sim.add_host(HostConfig::new(aa.ip()).link(link.clone()));
            let hb = sim.add_host(HostConfig::new(ba.ip()).link(link));
            let mut ta = chain(seed * 2 + 1, aa, &cert, sim.now());
            let mut tb = chain(seed * 2 + 2, ba, &cert, sim.now());
            start_pair(&mut ta, &mut tb);
            let id = ta
                .sctp_transport_mut()
                .create_data_channel(&DataChannelParameters::new("x"))
                .expect("channel");
            let a = sim.add_endpoint(ha, ta);
            let b = sim.add_endpoint(hb, tb);
            sim.bind(a, aa);
            sim.bind(b, ba);
            assert!(
                sim.run_until(Duration::from_secs(120), |s| is_open(s.endpoint(a), id)),
                "seed {seed} at {loss} loss did not connect"
            );
            times.push(sim.elapsed());
        }
        let p50 = percentile(&mut times, 0.5);
        let p95 = percentile(&mut times, 0.95);
        if loss == 0.0 {
            clean_median = p50;
        }
        println!(
            "setup in the simulator, 20 ms RTT, {:.0} % loss, 200 seeds: p50 {:.0} ms ({:.1} RTT), p95 {:.0} ms ({:.1}× the loss-free median)",
            loss * 100.0,
            ms(p50),
            p50.as_secs_f64() / rtt.as_secs_f64(),
            ms(p95),
            p95.as_secs_f64() / clean_median.as_secs_f64()
        );
    }
}

/// aiortc ↔ aiortc and ours ↔ ours through one harness: `selftest.py --bench` drives
/// `peer.py` or our `ortc-peer` (built beside this binary) with the same commands.
fn aiortc_figure() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let py = std::process::Command::new(format!("{root}/scripts/install-aiortc"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().last().map(|l| l.trim().to_string()));
    let Some(py) = py else {
        println!("harness: venv not available (scripts/install-aiortc failed); skipped");
        return;
    };
    let ours = std::env::current_exe()
        .expect("own path")
        .with_file_name("ortc-peer");
    let ours = ours.to_string_lossy().to_string();
    for (who, extra) in [
        ("aiortc ↔ aiortc", vec![]),
        (
            "ours ↔ ours    ",
            vec!["--peer-a", &ours, "--peer-b", &ours],
        ),
    ] {
        let out = std::process::Command::new(&py)
            .arg(format!("{root}/tests/aiortc/selftest.py"))
            .arg("--bench")
            .args(&extra)
            .output()
            .expect("run selftest.py --bench");
        let text = String::from_utf8_lossy(&out.stdout);
        let get = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(k).map(|v| v.trim().to_string()))
                .unwrap_or_else(|| "?".into())
        };
        println!(
            "same harness (selftest.py --bench), {who}: connect median {} ms, p95 {} ms; 256 MiB at {} Mbit/s",
            get("connect.open_ms.median"),
            get("connect.open_ms.p95"),
            get("throughput.mbps")
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let run = |name: &str| args.is_empty() || args.iter().any(|a| a == name);
    if run("connect") {
        connect_figure();
    }
    if args.iter().any(|a| a == "connect-cpu") {
        connect_cpu_figure();
    }
    if run("throughput") {
        throughput_figure();
    }
    if run("throughput-async") {
        throughput_async_figure();
    }
    if run("memory") {
        memory_figure();
    }
    if run("setup") {
        setup_figure();
    }
    if run("mux") {
        let n = std::env::var("MUX_CONNECTIONS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10_000);
        mux_figure(n);
    }
    if args.iter().any(|a| a == "aiortc") {
        aiortc_figure();
    }
}
