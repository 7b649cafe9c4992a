//! Two endpoints exchanging datagrams over real loopback sockets through `sansrtc-async-std`'s `UdpDriver`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use async_std::channel;
use async_std::task;
use sansrtc_async_std::{DriveStats, UdpDriver};
use sansrtc_tests::endpoints::{
    Alarm, BURST, BURST_SEQ, Echo, Echoed, PingEvent, Pinger, unavailable,
};

const PINGS: u32 = 10;
const TOTAL: usize = PINGS as usize + BURST.len();

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// An echo driver running on its own task until told to stop; then it hands back what
/// it saw and its counters.
struct EchoTask {
    addr: SocketAddr,
    stop: channel::Sender<()>,
    done: task::JoinHandle<(Vec<Echoed>, DriveStats)>,
}

impl EchoTask {
    fn spawn(mut driver: UdpDriver<Echo>, addr: SocketAddr) -> Self {
        let (stop, stopped) = channel::bounded(1);
        let done = task::spawn(async move {
            let mut seen = Vec::new();
            loop {
                // Dropping `next_event` when told to stop is what makes stopping safe
                // here: it is cancel safe.
                let next = async { Some(driver.next_event().await) };
                let stop = async {
                    let _ = stopped.recv().await;
                    None
                };
                match futures_lite::future::or(next, stop).await {
                    Some(event) => seen.push(event.expect("echo socket failed")),
                    None => break,
                }
            }
            (seen, driver.stats())
        });
        EchoTask { addr, stop, done }
    }

    async fn finish(self) -> (Vec<Echoed>, DriveStats) {
        let _ = self.stop.send(()).await;
        self.done.await
    }
}

/// Pings an echo bound at `echo_bind` from a pinger bound at `ping_bind`, with at most
/// `max_gso` datagrams per send call; `None` if the address family is missing here.
async fn ping_pong(
    ping_bind: &str,
    echo_bind: &str,
    echo_at: impl Fn(SocketAddr) -> SocketAddr,
    max_gso: Option<usize>,
) -> Option<(UdpDriver<Pinger>, Vec<Echoed>, DriveStats)> {
    let echo = match UdpDriver::bind(Echo::new(Instant::now()), &[addr(echo_bind)]) {
        Err(e) if unavailable(&e) => return None,
        other => other.unwrap(),
    };
    let echo_addr = echo_at(echo.local_addrs()[0]);
    let echo = EchoTask::spawn(echo, echo_addr);

    let mut pinger = UdpDriver::bind(
        Pinger::new(PINGS, Duration::from_millis(5), Instant::now()),
        &[addr(ping_bind)],
    )
    .unwrap();
    if let Some(max) = max_gso {
        pinger.set_max_gso_segments(max);
    }
    let me = pinger.local_addrs()[0];
    assert_ne!(me.port(), 0, "local_addrs reports the port the OS chose");
    pinger.endpoint_mut().local = me;
    pinger.endpoint_mut().peer = echo.addr;

    let done = pinger
        .run_until(
            |e| matches!(e, PingEvent::Done { .. }),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    let (seen, echo_stats) = echo.finish().await;
    assert_eq!(
        done,
        Some(PingEvent::Done { echoes: TOTAL }),
        "echo saw {seen:?}"
    );
    assert_eq!(pinger.endpoint().bad, 0);

    // The burst left as one transmit and reached the echo as three datagrams, whatever
    // GSO and GRO did on the way.
    let burst: Vec<usize> = seen
        .iter()
        .filter(|e| e.seq >= BURST_SEQ)
        .map(|e| e.len)
        .collect();
    assert_eq!(burst, BURST);
    assert!(
        seen.iter().all(|e| e.from == me && e.at == echo_addr),
        "{seen:?}"
    );
    assert_eq!(echo_stats.datagrams_received, TOTAL as u64);
    assert_eq!(echo_stats.datagrams_sent, TOTAL as u64);
    let stats = pinger.stats();
    assert_eq!(stats.datagrams_sent, TOTAL as u64);
    assert_eq!(stats.datagrams_received, TOTAL as u64);
    assert_eq!(
        stats.send_errors + stats.unroutable + stats.receive_errors,
        0
    );
    Some((pinger, seen, echo_stats))
}

#[test]
fn ping_pong_over_ipv4_loopback() {
    task::block_on(async {
        let (pinger, _, echo) = ping_pong("127.0.0.1:0", "127.0.0.1:0", |a| a, None)
            .await
            .expect("IPv4 loopback");
        let stats = pinger.stats();
        if pinger.max_gso_segments() >= BURST.len() {
            // The burst took one call, each ping one.
            assert_eq!(stats.send_calls, PINGS as u64 + 1);
            // Linux hands a GSO burst to a socket with UDP_GRO on (quinn-udp turns it on)
            // whole, so the driver had to split one buffer into the three datagrams.
            if cfg!(target_os = "linux") {
                assert!(echo.receive_calls < echo.datagrams_received, "{echo:?}");
            }
        } else {
            assert_eq!(stats.send_calls, TOTAL as u64);
        }
        eprintln!(
            "GSO segments: {}; echo received {} datagrams in {} calls",
            pinger.max_gso_segments(),
            echo.datagrams_received,
            echo.receive_calls
        );
    })
}

#[test]
fn ping_pong_over_ipv6_loopback() {
    task::block_on(async {
        match ping_pong("[::1]:0", "[::1]:0", |a| a, None).await {
            Some((pinger, _, _)) => assert!(pinger.local_addrs()[0].is_ipv6()),
            None => eprintln!("skipped: no IPv6 loopback here"),
        }
    })
}

#[test]
fn segmented_transmit_without_gso_goes_out_one_datagram_per_call() {
    task::block_on(async {
        let (pinger, _, _) = ping_pong("127.0.0.1:0", "127.0.0.1:0", |a| a, Some(1))
            .await
            .expect("IPv4 loopback");
        assert_eq!(pinger.stats().send_calls, TOTAL as u64);
    })
}

#[test]
fn echo_on_the_unspecified_address_answers_from_where_it_was_reached() {
    task::block_on(async {
        // The echo sees each datagram at 127.0.0.1, not 0.0.0.0, and answers from there, so
        // the pinger's source check passes.
        let reached = |a: SocketAddr| SocketAddr::new([127, 0, 0, 1].into(), a.port());
        ping_pong("127.0.0.1:0", "0.0.0.0:0", reached, None)
            .await
            .expect("IPv4 loopback");
    })
}

#[test]
fn all_interfaces_are_bound_and_loopback_answers() {
    task::block_on(async {
        let echo = UdpDriver::bind_all_interfaces(Echo::new(Instant::now()), 0).unwrap();
        let locals = echo.local_addrs().to_vec();
        assert!(locals.iter().all(|a| a.port() != 0), "{locals:?}");
        assert!(
            !locals
                .iter()
                .any(|a| matches!(a, SocketAddr::V6(v6) if v6.ip().is_unicast_link_local())),
            "{locals:?}"
        );
        let lo = *locals
            .iter()
            .find(|a| a.ip() == std::net::Ipv4Addr::LOCALHOST)
            .expect("127.0.0.1 among the interface addresses");
        let echo = EchoTask::spawn(echo, lo);

        let mut pinger = UdpDriver::bind(
            Pinger::new(3, Duration::from_millis(1), Instant::now()),
            &[addr("127.0.0.1:0")],
        )
        .unwrap();
        pinger.endpoint_mut().local = pinger.local_addrs()[0];
        pinger.endpoint_mut().peer = lo;
        let done = pinger
            .run_until(|_| true, Duration::from_secs(10))
            .await
            .unwrap();
        let (seen, _) = echo.finish().await;
        assert_eq!(
            done,
            Some(PingEvent::Done {
                echoes: 3 + BURST.len()
            }),
            "{seen:?}"
        );
    })
}

#[test]
fn timer_only_wait_fires_at_the_deadline() {
    task::block_on(async {
        let after = Duration::from_millis(60);
        // The alarm's deadline counts from its creation, before the socket is bound.
        let start = Instant::now();
        let mut alarm = UdpDriver::bind(Alarm::new(after, start), &[addr("127.0.0.1:0")]).unwrap();
        let told = alarm.next_event().await.unwrap();
        let waited = start.elapsed();
        assert!(told >= after, "endpoint was told {told:?}");
        assert!(waited >= after, "woke after {waited:?}");
        assert!(waited < Duration::from_secs(5), "woke after {waited:?}");
        assert_eq!(alarm.endpoint().received, 0);
        assert_eq!(alarm.stats().datagrams_received, 0);
    })
}

#[test]
fn run_until_gives_up_at_its_timeout_when_no_event_comes() {
    task::block_on(async {
        let mut idle = UdpDriver::bind(Echo::new(Instant::now()), &[addr("127.0.0.1:0")]).unwrap();
        let start = Instant::now();
        let got = idle
            .run_until(|_| true, Duration::from_millis(50))
            .await
            .unwrap();
        assert_eq!(got, None);
        assert!(start.elapsed() >= Duration::from_millis(50));
    })
}

#[test]
fn binding_nothing_is_an_error() {
    task::block_on(async {
        let err = UdpDriver::bind(Echo::new(Instant::now()), &[]).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    })
}
