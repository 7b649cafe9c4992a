//! NewReno against RFC 9260 §7.2, through the [`Controller`] trait the association uses.

use std::time::{Duration, Instant};

use super::*;

const MTU: usize = 1200;

fn ack(bytes_acked: usize, flight_bytes: usize) -> Ack {
    Ack {
        bytes_acked,
        cumulative_advanced: true,
        in_fast_recovery: false,
        window_limited: true,
        flight_bytes,
        rtt: None,
    }
}

/// Grows a fresh controller out of slow start: one fast retransmit sets ssthresh.
fn in_congestion_avoidance(now: Instant) -> NewReno {
    let mut cc = NewReno::new(MTU);
    for _ in 0..20 {
        cc.on_ack(now, &ack(MTU, 0));
    }
    cc.on_fast_retransmit(now);
    cc
}

#[test]
fn rfc9260_7_2_1_initial_window_is_min_4mtu_max_2mtu_4380() {
    assert_eq!(NewReno::new(1200).window(), 4380);
    assert_eq!(NewReno::new(1500).window(), 4380);
    assert_eq!(NewReno::new(9000).window(), 18000);
    assert_eq!(NewReno::new(1000).window(), 4000);
    assert_eq!(NewReno::new(1200).initial_window(), 4380);
    assert_eq!(NewRenoFactory.build(1200).window(), 4380);
}

#[test]
fn rfc9260_7_2_1_slow_start_grows_by_at_most_one_mtu_per_sack() {
    let now = Instant::now();
    let mut cc = NewReno::new(MTU);
    let w0 = cc.window();
    cc.on_ack(now, &ack(500, 0));
    assert_eq!(cc.window(), w0 + 500);
    cc.on_ack(now, &ack(10 * MTU, 0));
    assert_eq!(cc.window(), w0 + 500 + MTU, "capped at one MTU");
    // A window not in use, an ack that does not advance, or one during fast recovery
    // grows nothing.
    let w = cc.window();
    cc.on_ack(
        now,
        &Ack {
            window_limited: false,
            ..ack(MTU, 0)
        },
    );
    cc.on_ack(
        now,
        &Ack {
            cumulative_advanced: false,
            ..ack(MTU, 0)
        },
    );
    cc.on_ack(
        now,
        &Ack {
            in_fast_recovery: true,
            ..ack(MTU, 0)
        },
    );
    assert_eq!(cc.window(), w);
}

#[test]
fn rfc9260_7_2_2_congestion_avoidance_grows_one_mtu_per_window_acked() {
    let now = Instant::now();
    let mut cc = in_congestion_avoidance(now);
    let w = cc.window();
    assert_eq!(w, cc.ssthresh());
    // cwnd > ssthresh is congestion avoidance; one SACK at cwnd == ssthresh is still
    // slow start and moves it over.
    cc.on_ack(now, &ack(MTU, w));
    let w = cc.window();
    assert!(w > cc.ssthresh());
    // Under a window's worth of bytes acknowledged: no growth.
    cc.on_ack(now, &ack(w - 1, w));
    assert_eq!(cc.window(), w);
    // Reaching it, with the window full: one MTU.
    cc.on_ack(now, &ack(1, w));
    assert_eq!(cc.window(), w + MTU);
    // A window's worth acknowledged by SACKs that each found the flight well under
    // cwnd: no growth.
    let w = cc.window();
    cc.on_ack(now, &ack(w / 2, 0));
    cc.on_ack(now, &ack(w / 2 + 1, 0));
    assert_eq!(cc.window(), w);
    // The window is judged full by the flight before the SACK: one acknowledging two
    // packets of a full window leaves the flight two packets short, and still grows it.
    let mut cc = in_congestion_avoidance(now);
    cc.on_ack(now, &ack(MTU, cc.window()));
    let w = cc.window();
    for _ in 0..w / (2 * MTU) + 1 {
        cc.on_ack(now, &ack(2 * MTU, w - 2 * MTU));
    }
    assert_eq!(cc.window(), w + MTU);
}

#[test]
fn rfc9260_7_2_4_fast_retransmit_halves_with_a_floor_of_4_mtu() {
    let now = Instant::now();
    let mut cc = NewReno::new(MTU);
    for _ in 0..30 {
        cc.on_ack(now, &ack(MTU, 0));
    }
    let w = cc.window();
    cc.on_fast_retransmit(now);
    assert_eq!(cc.window(), w / 2);
    assert_eq!(cc.ssthresh(), w / 2);
    // A small window does not drop under 4 MTUs.
    let mut cc = NewReno::new(MTU);
    cc.on_fast_retransmit(now);
    assert_eq!(cc.window(), 4 * MTU);
}

#[test]
fn rfc9260_7_2_3_rto_collapses_cwnd_to_one_mtu() {
    let now = Instant::now();
    let mut cc = NewReno::new(MTU);
    for _ in 0..30 {
        cc.on_ack(now, &ack(MTU, 0));
    }
    let w = cc.window();
    cc.on_rto(now);
    assert_eq!(cc.window(), MTU);
    assert_eq!(cc.ssthresh(), (w / 2).max(4 * MTU));
    // Then slow start again, up to the new ssthresh.
    cc.on_ack(now, &ack(MTU, 0));
    assert_eq!(cc.window(), 2 * MTU);
}

/// The BBR-style controller's model on a steady path: acknowledgements of one MTU every
/// millisecond (1.2 MB/s) at a 20 ms RTT. Startup ends once the measured rate stops
/// growing, Drain gives the queue back, ProbeBW settles the window at about two
/// bandwidth-delay products and paces near the rate; losses leave it alone, a T3-rtx
/// takes it to four packets.
#[test]
fn bbr_measures_the_path_and_settles_at_two_bdp() {
    let start = Instant::now();
    let mut cc = Bbr::new(MTU);
    assert_eq!(cc.mode(), BbrMode::Startup);
    let rtt = Duration::from_millis(20);
    let bdp = MTU * 20;
    for ms in 1..=2000u64 {
        let now = start + Duration::from_millis(ms);
        cc.on_ack(
            now,
            &Ack {
                rtt: Some(rtt),
                ..ack(MTU, bdp)
            },
        );
    }
    assert_eq!(cc.mode(), BbrMode::ProbeBw);
    let bw = cc.bandwidth();
    assert!((bw - 1.2e6).abs() < 0.1e6, "bandwidth {bw}");
    assert_eq!(cc.min_rtt(), Some(rtt));
    let w = cc.window();
    assert!(
        w >= 2 * bdp * 9 / 10 && w <= 2 * bdp * 11 / 10,
        "window {w}, 2 BDP {}",
        2 * bdp
    );
    let rate = cc.pacing_rate().unwrap() as f64;
    assert!(rate >= 0.7 * bw && rate <= 1.3 * bw, "pacing {rate}");
    let now = start + Duration::from_secs(3);
    cc.on_fast_retransmit(now);
    assert_eq!(cc.window(), w, "a loss does not cut the window");
    cc.on_rto(now);
    assert_eq!(cc.window(), 4 * MTU);
    assert_eq!(
        NewRenoFactory.build(MTU).pacing_rate(),
        None,
        "NewReno does not pace"
    );
}
