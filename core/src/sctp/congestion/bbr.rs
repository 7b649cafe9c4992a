//! A model-based controller in the style of BBR (Cardwell et al., "BBR: Congestion-Based
//! Congestion Control", ACM Queue 2016; draft-cardwell-iccrg-bbr-congestion-control):
//! it paces at the delivery rate it measures and keeps about two bandwidth-delay
//! products in flight, instead of halving its window on every loss. On a path with
//! random loss (wireless, a congested Wi-Fi hop) a loss-based controller keeps cutting
//! its rate for losses that say nothing about congestion; this one does not, and at a
//! bottleneck it keeps the queue short, since it sends at the rate the bottleneck drains.
//!
//! The model, all in bytes of user data:
//! - **bottleneck bandwidth**: the most delivered per second over the last ten rounds,
//!   measured from acknowledgements: bytes acknowledged over about one round trip;
//! - **minimum RTT**: the least round trip seen; when ten seconds pass without a new
//!   one, the flight shrinks to four packets for 200 ms (ProbeRTT) so the queue drains,
//!   and what it sees then becomes the minimum (flows sharing a bottleneck drain it
//!   together this way, and a path whose RTT rose is measured anew);
//! - **Startup** doubles the rate each round until the bandwidth stops growing by a
//!   quarter for three rounds, **Drain** empties the queue Startup built, and
//!   **ProbeBW** cycles its pacing gain (1.25, 0.75, then six rounds of 1) to find more
//!   bandwidth and give back the queue probing made.
//!
//! Losses do not cut the window; a T3-rtx expiry (the path may have gone) starts over
//! from four packets with the model kept, so the rate comes back within rounds.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{Ack, Controller, ControllerFactory};

/// Builds [`Bbr`] controllers for [`SctpConfig::congestion`](crate::sctp::SctpConfig::congestion).
#[derive(Debug, Clone, Copy, Default)]
pub struct BbrFactory;

impl ControllerFactory for BbrFactory {
    fn build(&self, mtu: usize) -> Box<dyn Controller> {
        Box::new(Bbr::new(mtu))
    }
}

/// The controller's phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BbrMode {
    /// Doubling the rate each round until the pipe is full.
    Startup,
    /// Sending below the bandwidth until the queue Startup built is gone.
    Drain,
    /// Cruising at the bandwidth, probing above it one round in eight.
    ProbeBw,
    /// A few packets in flight for a moment, to see the path's empty-queue RTT.
    ProbeRtt,
}

/// 2/ln 2: the smallest gain that doubles the delivery rate each round in Startup.
const HIGH_GAIN: f64 = 2.885;
/// ProbeBW's pacing gains, one round each.
const CYCLE: [f64; 8] = [1.25, 0.75, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
/// Rounds of bandwidth samples the max filter keeps.
const BW_ROUNDS: usize = 10;
/// How long a minimum RTT stands before ProbeRTT looks again.
const MIN_RTT_WINDOW: Duration = Duration::from_secs(10);
/// How long ProbeRTT holds the flight down.
const PROBE_RTT_TIME: Duration = Duration::from_millis(200);
/// Acknowledgement samples kept for measuring the delivery rate: about 32 at one per
/// sixteenth of a round trip; a bound whatever the SACK rate.
const MAX_SAMPLES: usize = 64;

/// BBR-style congestion control for one association. See the module docs.
#[derive(Debug, Clone)]
pub struct Bbr {
    mtu: usize,
    mode: BbrMode,
    cwnd: usize,
    /// Bytes acknowledged so far.
    delivered: u64,
    /// (when, `delivered` then) at recent acknowledgements, oldest first.
    samples: VecDeque<(Instant, u64)>,
    /// Best delivery rate (bytes/s) of each of the last rounds, newest last.
    bw_rounds: VecDeque<f64>,
    min_rtt: Option<Duration>,
    min_rtt_at: Option<Instant>,
    round_start: Option<Instant>,
    /// Startup's exit test: the bandwidth it last grew to, and rounds since.
    full_bw: f64,
    full_bw_rounds: u8,
    cycle: usize,
    probe_rtt_until: Option<Instant>,
    /// When this ProbeRTT began, and the least RTT it has seen above the minimum.
    probe_rtt_started: Option<Instant>,
    probe_rtt_min: Option<Duration>,
    /// The window before ProbeRTT or a T3-rtx took it down.
    saved_cwnd: usize,
}

impl Bbr {
    /// A controller for packets of at most `mtu` bytes, in Startup.
    pub fn new(mtu: usize) -> Self {
        let mtu = mtu.max(256);
        Bbr {
            mtu,
            mode: BbrMode::Startup,
            cwnd: Self::initial(mtu),
            delivered: 0,
            samples: VecDeque::new(),
            bw_rounds: VecDeque::new(),
            min_rtt: None,
            min_rtt_at: None,
            round_start: None,
            full_bw: 0.0,
            full_bw_rounds: 0,
            cycle: 0,
            probe_rtt_until: None,
            probe_rtt_started: None,
            probe_rtt_min: None,
            saved_cwnd: 0,
        }
    }

    fn initial(mtu: usize) -> usize {
        (4 * mtu).min((2 * mtu).max(4380))
    }

    /// The phase it is in.
    pub fn mode(&self) -> BbrMode {
        self.mode
    }

    /// The bottleneck bandwidth estimate, bytes per second (0 before any sample).
    pub fn bandwidth(&self) -> f64 {
        self.bw_rounds.iter().copied().fold(0.0, f64::max)
    }

    /// The minimum RTT seen, if any.
    pub fn min_rtt(&self) -> Option<Duration> {
        self.min_rtt
    }

    fn pacing_gain(&self) -> f64 {
        match self.mode {
            BbrMode::Startup => HIGH_GAIN,
            BbrMode::Drain => 1.0 / HIGH_GAIN,
            BbrMode::ProbeBw => CYCLE[self.cycle],
            BbrMode::ProbeRtt => 1.0,
        }
    }

    /// Bandwidth × minimum RTT, in bytes.
    fn bdp(&self) -> Option<usize> {
        let (bw, rtt) = (self.bandwidth(), self.min_rtt?);
        (bw > 0.0).then_some((bw * rtt.as_secs_f64()) as usize)
    }

    fn target_cwnd(&self) -> Option<usize> {
        let gain = if self.mode == BbrMode::Startup {
            HIGH_GAIN
        } else {
            2.0
        };
        self.bdp()
            .map(|bdp| ((bdp as f64 * gain) as usize).max(4 * self.mtu))
    }

    /// The delivery rate over about the last round trip, from acknowledgement samples.
    fn rate_sample(&mut self, now: Instant) -> Option<f64> {
        let rtt = self.min_rtt?;
        // A sample every sixteenth of a round trip is enough to measure over one: at a
        // fast rate SACKs come by the thousand per round trip, and keeping each would
        // either cost memory or (bounded) shorten the span below a round trip.
        if self
            .samples
            .back()
            .is_none_or(|&(t, _)| now.saturating_duration_since(t) >= rtt / 16)
        {
            self.samples.push_back((now, self.delivered));
            if self.samples.len() > MAX_SAMPLES {
                self.samples.pop_front();
            }
        }
        // Drop samples older than two round trips, keeping one beyond a round trip.
        while self.samples.len() > 2
            && self
                .samples
                .get(1)
                .is_some_and(|&(t, _)| now.saturating_duration_since(t) >= rtt)
        {
            self.samples.pop_front();
        }
        let &(t0, d0) = self.samples.front()?;
        let span = now.saturating_duration_since(t0);
        // Under half a round trip the sample is one burst of SACKs, not a rate.
        (span >= rtt / 2 && span > Duration::ZERO)
            .then(|| (self.delivered - d0) as f64 / span.as_secs_f64())
    }

    fn new_round(&mut self, now: Instant) -> bool {
        let Some(rtt) = self.min_rtt else {
            return false;
        };
        match self.round_start {
            Some(s) if now.saturating_duration_since(s) < rtt => false,
            _ => {
                self.round_start = Some(now);
                self.bw_rounds.push_back(0.0);
                if self.bw_rounds.len() > BW_ROUNDS {
                    self.bw_rounds.pop_front();
                }
                true
            }
        }
    }
}

impl Controller for Bbr {
    fn on_packet_sent(&mut self, _now: Instant, _bytes: usize) {}

    fn on_ack(&mut self, now: Instant, ack: &Ack) {
        self.delivered += ack.bytes_acked as u64;
        if let Some(r) = ack.rtt {
            if self.min_rtt.is_none_or(|m| r <= m) {
                self.min_rtt = Some(r);
                self.min_rtt_at = Some(now);
            } else if self.mode == BbrMode::ProbeRtt {
                // With the flight held down the queue drains: what ProbeRTT sees
                // replaces the old minimum when it ends, even if higher (the path
                // changed), but never a sample taken through a full queue.
                self.probe_rtt_min = Some(self.probe_rtt_min.map_or(r, |m| m.min(r)));
            }
        }
        let round = self.new_round(now);
        if let Some(bw) = self.rate_sample(now)
            && let Some(last) = self.bw_rounds.back_mut()
        {
            *last = last.max(bw);
        }
        if round {
            match self.mode {
                BbrMode::Startup => {
                    let bw = self.bandwidth();
                    if bw >= self.full_bw * 1.25 {
                        self.full_bw = bw;
                        self.full_bw_rounds = 0;
                    } else {
                        self.full_bw_rounds += 1;
                        if self.full_bw_rounds >= 3 {
                            self.mode = BbrMode::Drain;
                        }
                    }
                }
                BbrMode::ProbeBw => self.cycle = (self.cycle + 1) % CYCLE.len(),
                _ => {}
            }
        }
        if self.mode == BbrMode::Drain && self.bdp().is_some_and(|bdp| ack.flight_bytes <= bdp) {
            self.mode = BbrMode::ProbeBw;
            // Start cruising, not probing: the queue just drained.
            self.cycle = 2;
        }
        // ProbeRTT: the minimum RTT is old; hold the flight at four packets a while.
        let stale = self
            .min_rtt_at
            .is_some_and(|at| now.saturating_duration_since(at) > MIN_RTT_WINDOW);
        if self.mode != BbrMode::ProbeRtt && stale {
            self.mode = BbrMode::ProbeRtt;
            self.saved_cwnd = self.cwnd;
            self.probe_rtt_until = None;
            self.probe_rtt_min = None;
            self.probe_rtt_started = Some(now);
        }
        if self.mode == BbrMode::ProbeRtt {
            self.cwnd = 4 * self.mtu;
            // The 200 ms count once the flight is down to the four packets.
            if self.probe_rtt_until.is_none() && ack.flight_bytes <= 4 * self.mtu {
                self.probe_rtt_until = Some(now + PROBE_RTT_TIME);
            }
            if self.probe_rtt_until.is_some_and(|u| now >= u) {
                // Nothing at or under the old minimum came while the queue was down:
                // the path's RTT rose (a longer route, another flow's standing queue),
                // and a window sized by the old one would starve this flow.
                if let Some(m) = self.probe_rtt_min.take()
                    && self
                        .min_rtt_at
                        .zip(self.probe_rtt_started)
                        .is_some_and(|(at, started)| at < started)
                {
                    self.min_rtt = Some(m);
                }
                self.min_rtt_at = Some(now);
                self.mode = if self.full_bw_rounds >= 3 {
                    BbrMode::ProbeBw
                } else {
                    BbrMode::Startup
                };
                self.cwnd = self.saved_cwnd.max(self.cwnd);
                self.probe_rtt_until = None;
            }
            return;
        }
        // The window follows the model: it grows by what was acknowledged up to the
        // target (in Startup, without one, as slow start would).
        let grown = self.cwnd + ack.bytes_acked;
        self.cwnd = match self.target_cwnd() {
            Some(target) if self.mode != BbrMode::Startup => grown.min(target),
            Some(target) => grown.min(target.max(self.cwnd)),
            None => grown,
        }
        .max(4 * self.mtu);
    }

    fn on_fast_retransmit(&mut self, _now: Instant) {
        // A loss is not a congestion signal here: the rate model already keeps the
        // queue short, and random losses must not cut the rate.
    }

    fn on_rto(&mut self, _now: Instant) {
        // The path may have gone: start from four packets; the model stays, so the
        // window grows back to it within rounds once acknowledgements return.
        self.saved_cwnd = self.cwnd;
        self.cwnd = 4 * self.mtu;
    }

    fn on_mtu_update(&mut self, mtu: usize) {
        self.mtu = mtu.max(256);
    }

    fn window(&self) -> usize {
        self.cwnd
    }

    fn initial_window(&self) -> usize {
        Self::initial(self.mtu)
    }

    fn pacing_rate(&self) -> Option<u64> {
        let bw = self.bandwidth();
        if bw > 0.0 {
            return Some((bw * self.pacing_gain()) as u64);
        }
        // No rate measured yet: the initial window over the first RTT, at Startup's gain.
        let rtt = self.min_rtt?;
        Some((self.cwnd as f64 * HIGH_GAIN / rtt.as_secs_f64().max(1e-6)) as u64)
    }
}
