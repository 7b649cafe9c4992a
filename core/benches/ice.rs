//! ICE agent throughput.
//!
//! - `ice/sim-50-pairs-connect`: 50 agent pairs on distinct hosts connect through
//!   `sansrtc::sim` (10 ms links), from signaled to every agent having a selected pair
//!   (building the network is excluded). Throughput counts the STUN messages the
//!   simulator delivered (checks and their responses), so criterion prints STUN messages
//!   processed per second of wall time, simulator overhead included.
//! - `ice/answer-signed-binding-request`: one agent answers a valid, signed Binding request
//!   (`handle_input` and draining `poll_output`) per iteration.
//!
//! `cargo bench -p sansrtc --bench ice`

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use sansrtc::crypto::RingProvider;
use sansrtc::ice::{Candidate, IceAgent, IceConfig, IceCredentials};
use sansrtc::io::{Endpoint, Input, Output, Protocol, Receive};
use sansrtc::sim::{EndpointId, HostConfig, LinkConfig, Sim};
use sansrtc::stun::{Class, MessageBuilder, Method, TransactionId};

const PAIRS: u8 = 50;

fn agent(seed: u64, controlling: bool, addr: SocketAddr, start: Instant) -> IceAgent {
    let mut a = IceAgent::new(
        IceConfig {
            seed,
            controlling,
            ..IceConfig::default()
        },
        start,
    );
    a.add_local_candidate(Candidate::host(addr, Protocol::Udp))
        .expect("host candidate");
    a.end_of_local_candidates();
    a
}

/// Exchange credentials and candidates, as signaling would.
fn signal(a: &mut IceAgent, b: &mut IceAgent) {
    a.set_remote_credentials(b.local_credentials().clone());
    b.set_remote_credentials(a.local_credentials().clone());
    for c in a.local_candidates().cloned().collect::<Vec<_>>() {
        b.add_remote_candidate(c).expect("remote candidate");
    }
    for c in b.local_candidates().cloned().collect::<Vec<_>>() {
        a.add_remote_candidate(c).expect("remote candidate");
    }
    a.end_of_remote_candidates();
    b.end_of_remote_candidates();
}

/// The network: every pair signaled, on its own two hosts, nothing sent yet.
fn build_pairs(start: Instant) -> (Sim<IceAgent>, Vec<EndpointId>) {
    let mut sim: Sim<IceAgent> = Sim::new(7, start);
    sim.set_logging(false);
    let link = LinkConfig::new().latency(Duration::from_millis(10));
    let mut ids: Vec<EndpointId> = Vec::new();
    for i in 0..PAIRS {
        let ip_a = IpAddr::V4(Ipv4Addr::new(10, 0, i, 1));
        let ip_b = IpAddr::V4(Ipv4Addr::new(10, 0, i, 2));
        let (addr_a, addr_b) = (SocketAddr::new(ip_a, 5000), SocketAddr::new(ip_b, 5000));
        let seed = u64::from(i) * 2;
        let (mut a, mut b) = (
            agent(seed, true, addr_a, start),
            agent(seed + 1, false, addr_b, start),
        );
        signal(&mut a, &mut b);
        let (ha, hb) = (
            sim.add_host(HostConfig::new(ip_a).link(link.clone())),
            sim.add_host(HostConfig::new(ip_b).link(link.clone())),
        );
        let (ea, eb) = (sim.add_endpoint(ha, a), sim.add_endpoint(hb, b));
        sim.bind(ea, addr_a);
        sim.bind(eb, addr_b);
        ids.extend([ea, eb]);
    }
    (sim, ids)
}

/// Run until every agent has a selected pair; return the STUN messages delivered.
fn connect_pairs((mut sim, ids): (Sim<IceAgent>, Vec<EndpointId>)) -> u64 {
    let connected = sim.run_until(Duration::from_secs(30), |sim| {
        ids.iter()
            .all(|&id| sim.endpoint(id).selected_pair().is_some())
    });
    assert!(connected, "every pair connects");
    sim.stats().delivered
}

fn bench_sim(c: &mut Criterion) {
    let start = Instant::now();
    let delivered = connect_pairs(build_pairs(start));
    assert_eq!(
        delivered,
        connect_pairs(build_pairs(start)),
        "the run is deterministic"
    );
    println!("ice/sim-{PAIRS}-pairs-connect: {delivered} STUN messages delivered per run");

    let mut g = c.benchmark_group("ice");
    g.throughput(Throughput::Elements(delivered));
    g.sample_size(20);
    g.bench_function(format!("sim-{PAIRS}-pairs-connect"), |b| {
        b.iter_batched(
            || build_pairs(start),
            |net| connect_pairs(black_box(net)),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn drain(agent: &mut IceAgent) -> usize {
    let mut sent = 0;
    loop {
        match agent.poll_output() {
            Output::Transmit(_) => sent += 1,
            Output::Event(_) => {}
            Output::Timeout(_) => return sent,
        }
    }
}

fn bench_answer(c: &mut Criterion) {
    let start = Instant::now();
    let (local, remote): (SocketAddr, SocketAddr) = (
        "192.0.2.1:5000".parse().unwrap(),
        "192.0.2.2:6000".parse().unwrap(),
    );
    let mut a = agent(1, false, local, start);
    let peer = IceCredentials {
        ufrag: "ESwN".into(),
        pwd: "q8Zg8C+d//82ky8w/U19HZ5R".into(),
        lite: false,
    };
    a.set_remote_credentials(peer.clone());
    a.add_remote_candidate(Candidate::host(remote, Protocol::Udp))
        .expect("remote candidate");
    a.handle_input(Input::Timeout(start));
    drain(&mut a);

    let ours = a.local_credentials().clone();
    let mut m = MessageBuilder::new(Class::Request, Method::Binding, TransactionId([9; 12]));
    m.username(&format!("{}:{}", ours.ufrag, peer.ufrag))
        .priority(0x6e7f_1eff)
        .ice_role(true, u64::MAX);
    let request: bytes::Bytes = m
        .finish_with_integrity(&RingProvider::new(), ours.pwd.as_bytes())
        .into();
    let receive = Receive {
        now: start,
        protocol: Protocol::Udp,
        source: remote,
        destination: local,
        contents: request,
    };
    let answered = a.stats().requests_received;
    a.handle_input(Input::Receive(receive.clone()));
    assert!(drain(&mut a) >= 1, "the request is answered");
    assert_eq!(a.stats().requests_received, answered + 1);

    let mut g = c.benchmark_group("ice");
    g.throughput(Throughput::Elements(1));
    g.bench_function("answer-signed-binding-request", |b| {
        b.iter(|| {
            a.handle_input(Input::Receive(black_box(receive.clone())));
            drain(&mut a)
        })
    });
    g.finish();
}

criterion_group!(benches, bench_sim, bench_answer);
criterion_main!(benches);
