//! Two ICE agents in one process connect over real loopback UDP through the tokio
//! runtime; prints the selected pair and the time to connect.
//!
//! Run with `cargo run --release -p sansrtc-examples --bin demo`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sansrtc::ice::{Candidate, IceAgent, IceConfig, IceConnectionState, IceEvent};
use sansrtc::io::Protocol;
use sansrtc_tokio::UdpDriver;

fn agent(seed: u64, controlling: bool) -> IceAgent {
    IceAgent::new(IceConfig {
        seed,
        controlling,
        ..Default::default()
    })
}

fn is_up(s: IceConnectionState) -> bool {
    matches!(
        s,
        IceConnectionState::Connected | IceConnectionState::Completed
    )
}

/// Bind, signal, connect; returns the time from the start of checks to both agents
/// connected, and the pair each one selected.
async fn connect_once(seed: u64) -> std::io::Result<(Duration, String)> {
    let any: SocketAddr = "127.0.0.1:0".parse().expect("literal address");
    let mut a = UdpDriver::bind(agent(seed, true), &[any])?;
    let mut b = UdpDriver::bind(agent(seed + 1, false), &[any])?;
    for d in [&mut a, &mut b] {
        let addrs = d.local_addrs().to_vec();
        for addr in addrs {
            d.endpoint_mut()
                .add_local_candidate(Candidate::host(addr, Protocol::Udp))
                .map_err(std::io::Error::other)?;
        }
        d.endpoint_mut().end_of_local_candidates();
    }
    // Signaling, in-process: credentials and candidates cross over.
    let (creds_a, cands_a): (_, Vec<Candidate>) = (
        a.endpoint().local_credentials().clone(),
        a.endpoint().local_candidates().cloned().collect(),
    );
    let (creds_b, cands_b): (_, Vec<Candidate>) = (
        b.endpoint().local_credentials().clone(),
        b.endpoint().local_candidates().cloned().collect(),
    );
    a.endpoint_mut().set_remote_credentials(creds_b);
    b.endpoint_mut().set_remote_credentials(creds_a);
    for c in cands_b {
        a.endpoint_mut()
            .add_remote_candidate(c)
            .map_err(std::io::Error::other)?;
    }
    for c in cands_a {
        b.endpoint_mut()
            .add_remote_candidate(c)
            .map_err(std::io::Error::other)?;
    }

    let started = Instant::now();
    let deadline = tokio::time::sleep(Duration::from_secs(10));
    tokio::pin!(deadline);
    let mut pair = String::new();
    while !(is_up(a.endpoint().connection_state()) && is_up(b.endpoint().connection_state())) {
        let event = tokio::select! {
            e = a.next_event() => e?,
            e = b.next_event() => e?,
            _ = &mut deadline => return Err(std::io::Error::other("ICE did not connect in 10 s")),
        };
        if let IceEvent::SelectedPairChange { local, remote } = event
            && pair.is_empty()
        {
            pair = format!(
                "{} {} ({:?}) -> {} ({:?})",
                local.protocol().as_str(),
                local.base(),
                local.kind(),
                remote.address(),
                remote.kind()
            );
        }
    }
    Ok((started.elapsed(), pair))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    println!("sansrtc demo: two ICE agents over loopback UDP (tokio runtime)");
    let (took, pair) = connect_once(1).await?;
    println!("selected pair: {pair}");
    println!("time to connect: {:.3} ms", took.as_secs_f64() * 1e3);

    let mut times = Vec::new();
    for i in 0..20 {
        times.push(connect_once(100 + 2 * i).await?.0);
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "20 fresh pairs: median {:.3} ms, p95 {:.3} ms, best {:.3} ms",
        ms(times[times.len() / 2]),
        ms(times[(times.len() * 95).div_ceil(100) - 1]),
        ms(times[0])
    );
    Ok(())
}
