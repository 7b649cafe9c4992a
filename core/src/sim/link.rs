//! One direction of a host's network attachment: latency, jitter, loss, duplication,
//! reordering and a bandwidth-limited queue.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::rng::Rng;

/// Gilbert-Elliott burst loss: a two-state Markov chain stepped once per packet.
///
/// In the *good* state packets are lost with `loss_in_good`, in the *bad* state with
/// `loss_in_bad`. Before each packet the chain moves good → bad with `p_good_to_bad` and
/// bad → good with `p_bad_to_good`, so the mean length of a bad period is
/// `1 / p_bad_to_good` packets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GilbertElliott {
    /// Probability of moving from the good to the bad state, per packet.
    pub p_good_to_bad: f64,
    /// Probability of moving from the bad to the good state, per packet.
    pub p_bad_to_good: f64,
    /// Loss probability while in the good state.
    pub loss_in_good: f64,
    /// Loss probability while in the bad state.
    pub loss_in_bad: f64,
}

impl GilbertElliott {
    /// The classic Gilbert model: nothing is lost in the good state, everything in the bad.
    pub fn new(p_good_to_bad: f64, p_bad_to_good: f64) -> Self {
        GilbertElliott {
            p_good_to_bad,
            p_bad_to_good,
            loss_in_good: 0.0,
            loss_in_bad: 1.0,
        }
    }
}

/// How a link treats the packets that cross it.
///
/// The default is a perfect link: no delay, no loss, unlimited bandwidth. The helpers
/// chain:
///
/// ```
/// use std::time::Duration;
/// use sansrtc::sim::LinkConfig;
/// let lossy_dsl = LinkConfig::default()
///     .latency(Duration::from_millis(30))
///     .jitter(Duration::from_millis(5))
///     .loss(0.01)
///     .bandwidth(2_000_000, 64 * 1024);
/// assert_eq!(lossy_dsl.bandwidth_bps, Some(2_000_000));
/// ```
///
/// Order inside the link: bandwidth queue (tail drop) → serialization → loss (random and
/// burst) → duplication → propagation delay (latency, jitter, reordering).
#[derive(Debug, Clone, PartialEq)]
pub struct LinkConfig {
    /// One-way propagation delay.
    pub latency: Duration,
    /// Uniform jitter: each packet's delay is `latency` ± up to `jitter` (never below
    /// zero). Packets still leave in order unless [`reorder`](Self::reorder) says
    /// otherwise: a packet whose draw would overtake an earlier one waits for it.
    pub jitter: Duration,
    /// Independent random loss probability per packet.
    pub loss: f64,
    /// Optional burst loss on top of [`loss`](Self::loss).
    pub gilbert_elliott: Option<GilbertElliott>,
    /// Probability that a packet is delivered twice (the copy arrives right after it).
    pub duplicate: f64,
    /// Probability that a packet escapes FIFO order by taking `reorder_delay` longer, so
    /// packets sent after it can overtake it.
    pub reorder: f64,
    /// Extra delay of a reordered packet.
    pub reorder_delay: Duration,
    /// Bandwidth in bits per second; `None` (or `Some(0)`) is unlimited, with no
    /// serialization delay.
    pub bandwidth_bps: Option<u64>,
    /// Capacity of the queue in front of a bandwidth-limited link, in bytes, counting the
    /// packet being serialized. A packet that does not fit is tail-dropped, except that an
    /// empty queue always takes one packet so a small queue cannot block everything.
    pub queue_bytes: usize,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            loss: 0.0,
            gilbert_elliott: None,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_delay: Duration::ZERO,
            bandwidth_bps: None,
            queue_bytes: usize::MAX,
        }
    }
}

impl LinkConfig {
    /// A perfect link (same as `default()`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Set the one-way latency.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Set the uniform ± jitter.
    pub fn jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    /// Set the independent random loss probability.
    pub fn loss(mut self, p: f64) -> Self {
        self.loss = p;
        self
    }

    /// Add Gilbert-Elliott burst loss.
    pub fn gilbert_elliott(mut self, model: GilbertElliott) -> Self {
        self.gilbert_elliott = Some(model);
        self
    }

    /// Set the duplication probability.
    pub fn duplicate(mut self, p: f64) -> Self {
        self.duplicate = p;
        self
    }

    /// Reorder packets with probability `p` by delaying them `extra` beyond the others.
    pub fn reorder(mut self, p: f64, extra: Duration) -> Self {
        self.reorder = p;
        self.reorder_delay = extra;
        self
    }

    /// Limit the bandwidth to `bits_per_second` behind a queue of `queue_bytes`.
    pub fn bandwidth(mut self, bits_per_second: u64, queue_bytes: usize) -> Self {
        self.bandwidth_bps = Some(bits_per_second);
        self.queue_bytes = queue_bytes;
        self
    }
}

/// What became of one packet offered to a link.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Passage {
    /// When each copy comes out of the far end (empty when dropped).
    pub arrivals: Vec<Instant>,
    /// Dropped because the queue was full.
    pub queue_drop: bool,
    /// Dropped by random or burst loss.
    pub lost: bool,
}

/// A link in use: its configuration plus the state the effects need.
#[derive(Debug)]
pub(crate) struct Link {
    config: LinkConfig,
    rng: Rng,
    in_bad_state: bool,
    /// Arrival of the last in-order packet; later in-order packets never arrive before it.
    last_in_order: Option<Instant>,
    /// Packets in the bandwidth queue: when each finishes serializing, and its size.
    queue: VecDeque<(Instant, usize)>,
    queued_bytes: usize,
}

impl Link {
    pub fn new(config: LinkConfig, rng: Rng) -> Self {
        Link {
            config,
            rng,
            in_bad_state: false,
            last_in_order: None,
            queue: VecDeque::new(),
            queued_bytes: 0,
        }
    }

    /// Offer a packet of `len` bytes at `now`. `now` must not go backwards between calls.
    pub fn pass(&mut self, now: Instant, len: usize) -> Passage {
        let mut out = Passage::default();
        let Some(departure) = self.serialize(now, len) else {
            out.queue_drop = true;
            return out;
        };
        if self.lose() {
            out.lost = true;
            return out;
        }
        let at = self.propagate(departure);
        out.arrivals.push(at);
        if self.rng.chance(self.config.duplicate) {
            // The copy trails the original so a duplicate never overtakes what it copies.
            out.arrivals.push(at);
        }
        out
    }

    /// When the packet has fully left the sender, or `None` when the queue is full.
    fn serialize(&mut self, now: Instant, len: usize) -> Option<Instant> {
        let Some(bps) = self.config.bandwidth_bps.filter(|b| *b > 0) else {
            return Some(now);
        };
        while let Some(&(done, size)) = self.queue.front() {
            if done > now {
                break;
            }
            self.queue.pop_front();
            self.queued_bytes -= size;
        }
        if self.queued_bytes > 0 && self.queued_bytes.saturating_add(len) > self.config.queue_bytes
        {
            return None;
        }
        let begin = self.queue.back().map_or(now, |&(done, _)| done.max(now));
        let nanos = (len as u128 * 8 * 1_000_000_000).div_ceil(bps as u128);
        let done = begin + Duration::from_nanos(nanos.min(u64::MAX as u128) as u64);
        self.queue.push_back((done, len));
        self.queued_bytes += len;
        Some(done)
    }

    fn lose(&mut self) -> bool {
        let mut lost = self.rng.chance(self.config.loss);
        if let Some(ge) = self.config.gilbert_elliott {
            let flip = if self.in_bad_state {
                ge.p_bad_to_good
            } else {
                ge.p_good_to_bad
            };
            if self.rng.chance(flip) {
                self.in_bad_state = !self.in_bad_state;
            }
            let p = if self.in_bad_state {
                ge.loss_in_bad
            } else {
                ge.loss_in_good
            };
            lost |= self.rng.chance(p);
        }
        lost
    }

    fn propagate(&mut self, departure: Instant) -> Instant {
        let mut delay = self.config.latency;
        let jitter = self.config.jitter.as_nanos().min(u64::MAX as u128 / 2) as u64;
        if jitter > 0 {
            let offset = self.rng.below(2 * jitter + 1);
            delay = if offset >= jitter {
                delay + Duration::from_nanos(offset - jitter)
            } else {
                delay.saturating_sub(Duration::from_nanos(jitter - offset))
            };
        }
        let at = departure + delay;
        if self.rng.chance(self.config.reorder) {
            // Left out of `last_in_order` so the packets behind it are free to pass it.
            return at + self.config.reorder_delay;
        }
        let at = self.last_in_order.map_or(at, |last| at.max(last));
        self.last_in_order = Some(at);
        at
    }
}
