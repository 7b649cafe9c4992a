//! Two endpoints in one process connect over real loopback UDP through the tokio runtime:
//! the whole ORTC chain (ICE → DTLS → SCTP → data channel), parameters swapped as the
//! JSON aiortc uses. They exchange a few messages, then 256 MiB with a progress bar, and
//! the demo prints the connect time (start of ICE → channel open) and the throughput.
//!
//! Run with `cargo run --release -p sansrtc-examples --bin demo`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use indicatif::{ProgressBar, ProgressStyle};
use sansrtc::crypto::default_provider;
use sansrtc::datachannel::{DataChannelEvent, DataChannelState};
use sansrtc::dtls::DtlsCertificate;
use sansrtc::ortc::*;
use sansrtc_tokio::UdpDriver;
use serde_json::{Value, json};

const TOTAL: usize = 256 << 20;
const MESSAGE: usize = 64 << 10;

/// A chain on a fresh loopback socket, and what it signals, as JSON.
fn endpoint(seed: u64) -> std::io::Result<(UdpDriver<SctpTransport>, Value)> {
    let any: SocketAddr = "127.0.0.1:0".parse().expect("literal address");
    let socket = std::net::UdpSocket::bind(any)?;
    let addr = socket.local_addr()?;
    drop(socket);
    let mut gatherer = IceGatherer::new(IceGathererConfig {
        seed: Some(seed),
        ..Default::default()
    });
    gatherer.gather(&[addr]).map_err(std::io::Error::other)?;
    let cert = DtlsCertificate::generate(&*default_provider()).map_err(std::io::Error::other)?;
    let dtls = DtlsTransport::new(IceTransport::new(gatherer), vec![cert])
        .map_err(std::io::Error::other)?;
    let sctp = SctpTransport::new(dtls, 5000);
    let ice = sctp.transport().transport();
    let signal = json!({
        "ice": ice.local_parameters(), "candidates": ice.gatherer_candidates(),
        "dtls": sctp.transport().local_parameters(), "sctp": sctp.capabilities(),
    });
    Ok((UdpDriver::bind(sctp, &[addr])?, signal))
}

/// Start every layer with the peer's signal.
fn start(t: &mut SctpTransport, remote: &Value, role: IceRole) -> Result<(), OrtcError> {
    let get = |k: &str| remote[k].clone();
    let bad = |e: serde_json::Error| OrtcError::InvalidParameters(e.to_string());
    let ice = t.transport_mut().transport_mut();
    ice.start(&serde_json::from_value(get("ice")).map_err(bad)?, role)?;
    let candidates: Vec<IceCandidate> = serde_json::from_value(get("candidates")).map_err(bad)?;
    for c in &candidates {
        ice.add_remote_candidate(Some(c))?;
    }
    ice.add_remote_candidate(None)?;
    t.transport_mut()
        .start(&serde_json::from_value(get("dtls")).map_err(bad)?)?;
    t.start(&serde_json::from_value(get("sctp")).map_err(bad)?, 5000)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::io::Result<()> {
    println!(
        "sansrtc demo: ICE → DTLS → SCTP → data channel, two endpoints over loopback UDP (tokio)"
    );
    let (mut a, signal_a) = endpoint(1)?;
    let (mut b, signal_b) = endpoint(2)?;
    start(a.endpoint_mut(), &signal_b, IceRole::Controlling).map_err(std::io::Error::other)?;
    start(b.endpoint_mut(), &signal_a, IceRole::Controlled).map_err(std::io::Error::other)?;
    let id = a
        .endpoint_mut()
        .create_data_channel(&DataChannelParameters::new("demo"))
        .map_err(std::io::Error::other)?;
    let open = |d: &UdpDriver<SctpTransport>| {
        d.endpoint()
            .channel(id)
            .is_some_and(|c| c.state == DataChannelState::Open)
    };

    // Connect: ICE starts with the drivers' first turn, the channel opens at the end.
    let started = Instant::now();
    let deadline = tokio::time::sleep(Duration::from_secs(10));
    tokio::pin!(deadline);
    while !(open(&a) && open(&b)) {
        tokio::select! {
            e = a.next_event() => { e?; }
            e = b.next_event() => { e?; }
            _ = &mut deadline => return Err(std::io::Error::other("no channel in 10 s")),
        }
    }
    let connect = started.elapsed();
    let t = a.endpoint().transport();
    println!(
        "connected: {:?} over {:?}; channel {id} open after {:.3} ms",
        t.cipher_suite().expect("connected"),
        t.transport()
            .selected_pair()
            .map(|(l, r)| format!("{}:{} → {}:{}", l.ip, l.port, r.ip, r.port)),
        connect.as_secs_f64() * 1e3
    );

    // A few messages each way.
    a.endpoint_mut()
        .send_text(id, "hello from a")
        .map_err(std::io::Error::other)?;
    b.endpoint_mut()
        .send_text(id, "hello from b")
        .map_err(std::io::Error::other)?;
    let mut greeted = 0;
    while greeted < 2 {
        let e = tokio::select! { e = a.next_event() => e?, e = b.next_event() => e? };
        if let OrtcEvent::DataChannel(DataChannelEvent::Message { data, .. }) = e {
            println!("received: {}", String::from_utf8_lossy(&data));
            greeted += 1;
        }
    }

    // 256 MiB, a to b, with back-pressure: refill when half the 4 MiB queue drained.
    let bar = ProgressBar::new(TOTAL as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec}")
            .expect("template"),
    );
    let receiver = {
        let bar = bar.clone();
        tokio::spawn(async move {
            let mut got = 0;
            while got < TOTAL {
                if let OrtcEvent::DataChannel(DataChannelEvent::Message { data, .. }) =
                    b.next_event().await?
                {
                    got += data.len();
                    bar.inc(data.len() as u64);
                }
            }
            Ok::<_, std::io::Error>(b)
        })
    };
    a.endpoint_mut()
        .set_buffered_amount_low_threshold(id, 2 << 20);
    let payload = Bytes::from(vec![0x5a; MESSAGE]);
    let transfer = Instant::now();
    let sender = tokio::spawn(async move {
        let mut sent = 0;
        loop {
            while sent < TOTAL && a.endpoint().buffered_amount(id) < 4 << 20 {
                if let Err(e) = a.endpoint_mut().send_binary(id, payload.clone()) {
                    eprintln!("send failed: {e}");
                    return;
                }
                sent += MESSAGE;
            }
            if a.next_event().await.is_err() {
                return;
            }
        }
    });
    let _b = receiver.await.expect("receiver task")?;
    sender.abort();
    let secs = transfer.elapsed().as_secs_f64();
    bar.finish();
    println!(
        "256 MiB in 64 KiB messages: {:.2} s, {:.2} Gbit/s",
        secs,
        TOTAL as f64 * 8.0 / secs / 1e9
    );
    println!(
        "connect time (ICE start → channel open): {:.3} ms",
        connect.as_secs_f64() * 1e3
    );
    Ok(())
}
