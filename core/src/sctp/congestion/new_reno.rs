//! RFC 9260 §7.2: slow start, congestion avoidance, and the window reductions on fast
//! retransmit and on T3-rtx expiry, in bytes of user data.

use std::time::Instant;

use super::{Ack, Controller, ControllerFactory};

/// Builds [`NewReno`] controllers; the default of
/// [`SctpConfig::congestion`](crate::sctp::SctpConfig::congestion).
#[derive(Debug, Clone, Copy, Default)]
pub struct NewRenoFactory;

impl ControllerFactory for NewRenoFactory {
    fn build(&self, mtu: usize) -> Box<dyn Controller> {
        Box::new(NewReno::new(mtu))
    }
}

/// RFC 9260 §7.2's congestion control for one association.
#[derive(Debug, Clone)]
pub struct NewReno {
    /// Largest packet: the unit of growth and the floor after a timeout.
    mtu: usize,
    cwnd: usize,
    ssthresh: usize,
    /// Bytes acknowledged since cwnd last grew in congestion avoidance (§7.2.2).
    partial_bytes_acked: usize,
}

impl NewReno {
    /// A controller for packets of at most `mtu` bytes, at its initial window with no
    /// slow-start threshold yet (§7.2.1: "arbitrarily high").
    pub fn new(mtu: usize) -> Self {
        NewReno {
            mtu,
            cwnd: Self::initial_window_for(mtu),
            ssthresh: usize::MAX,
            partial_bytes_acked: 0,
        }
    }

    /// RFC 9260 §7.2.1: min(4 × MTU, max(2 × MTU, 4380)). An MTU under 256 bytes counts
    /// as 256 here, so a tiny configured MTU still starts with a usable window.
    fn initial_window_for(mtu: usize) -> usize {
        let mtu = mtu.max(256);
        (4 * mtu).min((2 * mtu).max(4380))
    }

    /// The slow-start threshold (`usize::MAX` until the first loss).
    pub fn ssthresh(&self) -> usize {
        self.ssthresh
    }

    /// §7.2.3 and §7.2.4 cut ssthresh the same way: half the window, at least 4 MTUs.
    fn halve(&mut self) {
        self.ssthresh = (self.cwnd / 2).max(4 * self.mtu);
        self.partial_bytes_acked = 0;
    }
}

impl Controller for NewReno {
    fn on_packet_sent(&mut self, _now: Instant, _bytes: usize) {}

    fn on_ack(&mut self, _now: Instant, ack: &Ack) {
        // §7.2.1, §7.2.2: the window grows only when the cumulative TSN advances, and
        // not during fast recovery (§7.2.4).
        if !ack.cumulative_advanced || ack.in_fast_recovery {
            return;
        }
        if self.cwnd <= self.ssthresh {
            // Slow start: by at most one MTU per SACK, and only a window in use grows
            // (§7.2.1), or an application that sends little would leave a huge cwnd
            // behind for a later burst.
            if ack.window_limited {
                self.cwnd += ack.bytes_acked.min(self.mtu);
            }
        } else {
            // Congestion avoidance: one MTU per window's worth acknowledged, while the
            // window is full (§7.2.2) — full *before* this SACK arrived: after it, a
            // SACK of two packets always leaves the flight two packets short, and
            // judged by that the window would never grow.
            self.partial_bytes_acked += ack.bytes_acked;
            let flight_before = ack.flight_bytes + ack.bytes_acked;
            if self.partial_bytes_acked >= self.cwnd && flight_before + self.mtu >= self.cwnd {
                self.partial_bytes_acked -= self.cwnd;
                self.cwnd += self.mtu;
            }
        }
    }

    fn on_fast_retransmit(&mut self, _now: Instant) {
        // §7.2.4: cwnd = ssthresh = max(cwnd / 2, 4 × MTU).
        self.halve();
        self.cwnd = self.ssthresh;
    }

    fn on_rto(&mut self, _now: Instant) {
        // §7.2.3: ssthresh as on a loss, and cwnd back to one MTU.
        self.halve();
        self.cwnd = self.mtu;
    }

    fn on_mtu_update(&mut self, mtu: usize) {
        self.mtu = mtu;
    }

    fn window(&self) -> usize {
        self.cwnd
    }

    fn initial_window(&self) -> usize {
        Self::initial_window_for(self.mtu)
    }
}
