//! Loss detection by time, as TCP and QUIC do it (RACK-TLP, RFC 8985), beside RFC 9260's
//! three miss indications:
//!
//! - **RACK**: once a chunk sent later has been acknowledged, a chunk still unacknowledged
//!   is lost when it has been out for the round trip that later one took plus a
//!   reordering window. Unlike miss counting this also finds a lost *retransmission*
//!   (RFC 9260 fast-retransmits a chunk once per recovery, after which only T3-rtx
//!   could recover it), and it needs no third SACK.
//! - **TLP**: when no SACK has come for about two round trips while data is out (the
//!   tail of a burst was lost, so nothing after it draws SACKs), one packet goes — new
//!   data if the window allows, else the newest chunk again — so the SACK it draws lets
//!   RACK find the losses, instead of waiting for T3-rtx, which also collapses cwnd.
//!
//! Either way the window is cut once per recovery, as for a fast retransmit.

use std::time::{Duration, Instant};

use super::super::timer::Timer;
use super::Association;

/// What RACK remembers of the newest delivery (RFC 8985 §6.1).
#[derive(Debug, Default)]
pub(super) struct Rack {
    /// Send time and transmission order of the most recently sent chunk known
    /// delivered.
    newest: Option<(Instant, u64)>,
    /// The round trip of that delivery.
    rtt: Duration,
    /// The smallest round trip measured (a retransmission's ack faster than this was
    /// for the original, RFC 8985 §6.2 step 2).
    min_rtt: Option<Duration>,
    /// A probe is out and no SACK has come since: one per quiet tail.
    probing: bool,
}

/// Floor of the probe timeout: under it, timer granularity and the peer's processing
/// would make probes spurious on very short paths.
const MIN_PTO: Duration = Duration::from_millis(10);

impl Rack {
    /// A chunk last sent at `sent_at`, as transmission `seq`, was acknowledged for the
    /// first time `now`.
    pub(super) fn on_delivered(
        &mut self,
        now: Instant,
        sent_at: Instant,
        seq: u64,
        retransmitted: bool,
    ) {
        let rtt = now.saturating_duration_since(sent_at);
        if retransmitted && self.min_rtt.is_some_and(|m| rtt < m) {
            // Too quick for the retransmission: the original got there.
            return;
        }
        if self.newest.is_none_or(|(_, n)| seq > n) {
            self.newest = Some((sent_at, seq));
            self.rtt = rtt;
        }
    }

    /// A round-trip sample from a chunk sent once (Karn).
    pub(super) fn on_rtt_sample(&mut self, rtt: Duration) {
        self.min_rtt = Some(self.min_rtt.map_or(rtt, |m| m.min(rtt)));
    }

    /// RFC 8985 §6.2: a quarter of the minimum round trip.
    fn reorder_window(&self) -> Duration {
        self.min_rtt.unwrap_or_default() / 4
    }
}

impl Association {
    /// RFC 8985 §6.2 step 5: mark what RACK deems lost; arm the reordering timer for
    /// the first chunk that is not yet. Returns whether anything was marked.
    pub(super) fn rack_detect_losses(&mut self, now: Instant) -> bool {
        let Some(newest) = self.rack.newest else {
            self.timers.stop(Timer::RackReorder);
            return false;
        };
        let wait = self.rack.rtt + self.rack.reorder_window();
        let mut marked = false;
        let mut next: Option<Instant> = None;
        for (_, f) in self.inflight.range_mut(0..=u64::MAX) {
            if f.sent_seq >= newest.1 && !f.retransmitted {
                // Sent once, after the newest delivery: so was every chunk behind it
                // (first sends go in TSN order, resends later still).
                break;
            }
            if f.acked || f.abandoned || f.marked || f.sent_seq >= newest.1 {
                continue;
            }
            let due = f.sent_at + wait;
            if now >= due {
                f.mark_lost(&mut self.flight_bytes, &mut self.marked_count);
                marked = true;
            } else {
                next = Some(next.map_or(due, |n| n.min(due)));
            }
        }
        self.timers.set_or_stop(Timer::RackReorder, next);
        marked
    }

    /// Losses were found (by miss indications or by time): their packet goes at once,
    /// and the window is cut once per recovery (RFC 9260 §7.2.4).
    pub(super) fn on_losses_found(&mut self, now: Instant) {
        self.fast_rtx_due = true;
        self.stats.fast_retransmits += 1;
        if self.recovery.is_none() {
            self.cc.on_fast_retransmit(now);
            self.recovery = self.inflight.last_tsn();
        }
    }

    /// RFC 8985 §7.2: arm the probe two round trips out (plus the peer's delayed-SACK
    /// allowance when a single packet is out), unless T3-rtx comes first.
    pub(super) fn arm_tail_loss_probe(&mut self, now: Instant) {
        // Unacknowledged data is in the flight or waits, marked, to be sent again.
        let outstanding = self.flight_bytes > 0 || self.marked_count > 0;
        let Some(srtt) = self.srtt.filter(|_| outstanding && !self.rack.probing) else {
            self.timers.stop(Timer::TailLossProbe);
            return;
        };
        let mut pto = (srtt * 2).max(MIN_PTO);
        if self.flight_bytes <= self.cfg.mtu {
            pto += self.cfg.delayed_ack;
        }
        let at = now + pto;
        let t3 = self.timers.deadline(Timer::T3Rtx);
        self.timers.set_or_stop(
            Timer::TailLossProbe,
            t3.is_none_or(|t3| at < t3).then_some(at),
        );
    }

    /// RFC 8985 §7.3: the probe. New data if the window lets it go, else the newest
    /// unacknowledged chunk again; either way one packet, whatever cwnd says, and
    /// T3-rtx restarts from it.
    pub(super) fn on_tail_loss_probe(&mut self, now: Instant) {
        self.rack.probing = true;
        if !(self.queue.is_empty() || self.peer_rwnd == 0) {
            self.probe_due = true;
        } else if let Some(last) = self.inflight.last_tsn() {
            let newest = self
                .inflight
                .range_mut(0..=last)
                .filter(|(_, f)| !f.acked && !f.abandoned && !f.marked)
                .last();
            if let Some((_, f)) = newest {
                self.flight_bytes -= f.chunk.user_data.len().min(self.flight_bytes);
                f.marked = true;
                f.retransmitted = true;
                self.marked_count += 1;
                self.fast_rtx_due = true;
            }
        }
        self.timers.set(Timer::T3Rtx, now + self.rto);
    }

    /// A SACK arrived: the tail is not silent; the next probe may go.
    pub(super) fn rack_on_sack(&mut self) {
        self.rack.probing = false;
    }
}
