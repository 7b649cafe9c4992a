//! Two endpoints in one process connect over real loopback UDP through the tokio runtime,
//! with the async ORTC objects aiortc users know (`sansrtc_tokio::ortc`): ICE → DTLS →
//! SCTP → data channel, parameters swapped as the JSON aiortc uses. They exchange a few
//! messages, then 256 MiB with a progress bar, and the demo prints the connect time
//! (start of ICE → channel open) and the throughput.
//!
//! Run with `cargo run --release -p sansrtc-examples --bin demo`.

use std::time::Instant;

use bytes::Bytes;
use indicatif::{ProgressBar, ProgressStyle};
use sansrtc::crypto::default_provider;
use sansrtc_tokio::ortc::*;
use serde_json::{Value, json};

const TOTAL: usize = 256 << 20;
const MESSAGE: usize = 64 << 10;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One endpoint's ORTC objects.
struct Endpoint {
    gatherer: IceGatherer,
    ice: IceTransport,
    dtls: DtlsTransport,
    sctp: SctpTransport,
}

impl Endpoint {
    /// Gather on a loopback socket and build the transports over it.
    async fn new() -> Result<Self, BoxError> {
        let gatherer = IceGatherer::new(IceGathererOptions::bind(["127.0.0.1:0".parse()?]));
        gatherer.gather().await?;
        let ice = IceTransport::new(&gatherer);
        let cert = DtlsCertificate::generate(&*default_provider())?;
        let dtls = DtlsTransport::new(&ice, vec![cert])?;
        let sctp = SctpTransport::new(&dtls, 5000)?;
        Ok(Endpoint {
            gatherer,
            ice,
            dtls,
            sctp,
        })
    }

    /// What it signals to the peer, as JSON.
    fn signal(&self) -> Value {
        json!({
            "ice": self.gatherer.local_parameters(),
            "candidates": self.gatherer.local_candidates(),
            "dtls": self.dtls.local_parameters(),
            "sctp": self.sctp.capabilities(),
        })
    }

    /// Start every layer with the peer's signal; resolves once SCTP is started.
    async fn start(&self, remote: Value, role: IceRole) -> Result<(), BoxError> {
        let candidates: Vec<IceCandidate> = serde_json::from_value(remote["candidates"].clone())?;
        for c in &candidates {
            self.ice.add_remote_candidate(Some(c)).await?;
        }
        self.ice.add_remote_candidate(None).await?;
        self.ice
            .start(&serde_json::from_value(remote["ice"].clone())?, role)
            .await?;
        self.dtls
            .start(&serde_json::from_value(remote["dtls"].clone())?)
            .await?;
        self.sctp
            .start(&serde_json::from_value(remote["sctp"].clone())?, 5000)
            .await?;
        Ok(())
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), BoxError> {
    println!(
        "sansrtc demo: ICE → DTLS → SCTP → data channel, two endpoints over loopback UDP (tokio)"
    );
    let (a, b) = (Endpoint::new().await?, Endpoint::new().await?);
    let (signal_a, signal_b) = (a.signal(), b.signal());

    // Connect: from the start of ICE until the channel is open on both ends.
    let started = Instant::now();
    let mut incoming = b.sctp.incoming_channels();
    let channel = a
        .sctp
        .create_data_channel(DataChannelParameters::new("demo"))?;
    let (ra, rb) = tokio::join!(
        a.start(signal_b, IceRole::Controlling),
        b.start(signal_a, IceRole::Controlled)
    );
    ra?;
    rb?;
    channel.open().await?;
    let peer = incoming.next().await.ok_or("no incoming channel")?;
    let connect = started.elapsed();
    let pair = a.ice.selected_candidate_pair().ok_or("no selected pair")?;
    println!(
        "connected: {:?}, {}:{} → {}:{}; channel {} open after {:.3} ms",
        a.dtls.cipher_suite().ok_or("no cipher suite")?,
        pair.0.ip,
        pair.0.port,
        pair.1.ip,
        pair.1.port,
        channel.id().ok_or("no channel id")?,
        connect.as_secs_f64() * 1e3
    );

    // A few messages each way.
    channel.send_text("hello from a").await?;
    peer.send_text("hello from b").await?;
    for m in [peer.recv().await, channel.recv().await] {
        if let Some(Message::Text(t)) = m {
            println!("received: {t}");
        }
    }

    // 256 MiB, a to b, in 64 KiB messages; each send waits while too much is queued.
    let bar = ProgressBar::new(TOTAL as u64);
    bar.set_style(ProgressStyle::with_template(
        "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec}",
    )?);
    let receiver = {
        let bar = bar.clone();
        tokio::spawn(async move {
            let mut got = 0;
            while got < TOTAL {
                match peer.recv().await {
                    Some(Message::Binary(d)) => {
                        got += d.len();
                        bar.inc(d.len() as u64);
                    }
                    Some(_) => {}
                    None => break,
                }
            }
            got
        })
    };
    let payload = Bytes::from(vec![0x5a; MESSAGE]);
    let transfer = Instant::now();
    for _ in 0..TOTAL / MESSAGE {
        channel.send_binary(payload.clone()).await?;
    }
    let got = receiver.await?;
    let secs = transfer.elapsed().as_secs_f64();
    bar.finish();
    if got != TOTAL {
        return Err(format!("received {got} of {TOTAL} bytes").into());
    }
    println!(
        "256 MiB in 64 KiB messages: {:.2} s, {:.2} Gbit/s",
        secs,
        TOTAL as f64 * 8.0 / secs / 1e9
    );
    println!(
        "connect time (ICE start → channel open): {:.3} ms",
        connect.as_secs_f64() * 1e3
    );
    a.ice.stop().await;
    b.ice.stop().await;
    Ok(())
}
