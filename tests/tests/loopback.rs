//! Two ICE agents connect over real loopback UDP, once through each runtime crate.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sansrtc::ice::{Candidate, IceAgent, IceConfig, IceConnectionState, IceEvent};
use sansrtc::io::Protocol;
use sansrtc_tests::{exchange_all, path};

fn agent(seed: u64, controlling: bool) -> IceAgent {
    IceAgent::new(
        IceConfig {
            seed,
            controlling,
            ..Default::default()
        },
        Instant::now(),
    )
}

fn add_hosts(agent: &mut IceAgent, addrs: &[SocketAddr]) {
    for a in addrs {
        agent
            .add_local_candidate(Candidate::host(*a, Protocol::Udp))
            .unwrap();
    }
    agent.end_of_local_candidates();
}

fn is_up(s: IceConnectionState) -> bool {
    matches!(
        s,
        IceConnectionState::Connected | IceConnectionState::Completed
    )
}

enum Side {
    A(std::io::Result<IceEvent>),
    B(std::io::Result<IceEvent>),
}

#[tokio::test]
async fn ice_connects_over_loopback_with_tokio() {
    use sansrtc_tokio::UdpDriver;
    let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut a = UdpDriver::bind(agent(1, true), &[local]).unwrap();
    let mut b = UdpDriver::bind(agent(2, false), &[local]).unwrap();
    let (la, lb) = (a.local_addrs().to_vec(), b.local_addrs().to_vec());
    add_hosts(a.endpoint_mut(), &la);
    add_hosts(b.endpoint_mut(), &lb);
    exchange_all(a.endpoint_mut(), b.endpoint_mut());

    let started = Instant::now();
    let limit = tokio::time::sleep(Duration::from_secs(10));
    tokio::pin!(limit);
    while !(is_up(a.endpoint().connection_state()) && is_up(b.endpoint().connection_state())) {
        let side = tokio::select! {
            e = a.next_event() => Side::A(e),
            e = b.next_event() => Side::B(e),
            _ = &mut limit => panic!("no connection within 10 s"),
        };
        match side {
            Side::A(e) | Side::B(e) => {
                e.unwrap();
            }
        }
    }
    let took = started.elapsed();
    assert_eq!(path(a.endpoint()), Some((la[0], lb[0])));
    assert_eq!(path(b.endpoint()), Some((lb[0], la[0])));
    assert!(a.stats().datagrams_sent > 0 && b.stats().datagrams_received > 0);
    println!("tokio loopback: connected in {took:?}");
}

#[async_std::test]
async fn ice_connects_over_loopback_with_async_std() {
    use futures_lite::FutureExt;
    use sansrtc_async_std::UdpDriver;
    let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut a = UdpDriver::bind(agent(3, true), &[local]).unwrap();
    let mut b = UdpDriver::bind(agent(4, false), &[local]).unwrap();
    let (la, lb) = (a.local_addrs().to_vec(), b.local_addrs().to_vec());
    add_hosts(a.endpoint_mut(), &la);
    add_hosts(b.endpoint_mut(), &lb);
    exchange_all(a.endpoint_mut(), b.endpoint_mut());

    let started = Instant::now();
    while !(is_up(a.endpoint().connection_state()) && is_up(b.endpoint().connection_state())) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no connection within 10 s"
        );
        let side = async { Side::A(a.next_event().await) }
            .or(async { Side::B(b.next_event().await) })
            .or(async {
                async_std::task::sleep(Duration::from_secs(1)).await;
                Side::A(Ok(IceEvent::EndOfLocalCandidates))
            })
            .await;
        match side {
            Side::A(e) | Side::B(e) => {
                e.unwrap();
            }
        }
    }
    assert_eq!(path(a.endpoint()), Some((la[0], lb[0])));
    assert_eq!(path(b.endpoint()), Some((lb[0], la[0])));
    println!("async-std loopback: connected in {:?}", started.elapsed());
}
