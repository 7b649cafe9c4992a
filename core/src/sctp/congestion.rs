//! Congestion control behind a trait, so the association's loss recovery and the
//! algorithm that sizes its window can change apart (RFC 9260 §7 describes the one
//! every SCTP stack must offer; a delay-based one can sit beside it).
//!
//! The association reports what happened — data sent, a SACK, a fast retransmit, a
//! T3-rtx expiry — and asks [`Controller::window`] how many bytes may be in flight.
//! Fast recovery itself (which TSN ends it, RFC 9260 §7.2.4) stays with the
//! association, which tells the controller whether a SACK arrived during it.
//!
//! [`NewReno`] is RFC 9260 §7.2's slow start, congestion avoidance and window
//! reductions, counted in bytes: the default, as every SCTP stack must offer it and it
//! shares a path fairly with TCP and with other WebRTC stacks. [`Bbr`] is model-based
//! (paced at the measured delivery rate, about two bandwidth-delay products in flight,
//! no window cut on loss): far faster on paths with random loss and a short queue at a
//! bottleneck, at the cost of taking more than a loss-based flow's share beside one.

use std::fmt::Debug;
use std::time::{Duration, Instant};

mod bbr;
mod new_reno;
// Named tests.rs, the one file name the sans-IO check exempts: a test starts virtual
// time from one real Instant.
#[cfg(test)]
mod tests;

pub use bbr::{Bbr, BbrFactory, BbrMode};
pub use new_reno::{NewReno, NewRenoFactory};

/// What one SACK (or the cumulative TSN of a SHUTDOWN, RFC 9260 §9.2) told the sender.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack {
    /// User data bytes newly acknowledged, cumulatively or by gap blocks.
    pub bytes_acked: usize,
    /// Whether the cumulative TSN moved forward (RFC 9260 §7.2.1 and §7.2.2 grow the
    /// window only then).
    pub cumulative_advanced: bool,
    /// Whether the association is in fast recovery (RFC 9260 §7.2.4): the window is
    /// not to grow until the TSN that started it is acknowledged.
    pub in_fast_recovery: bool,
    /// Whether the last send stopped at the window with data still queued: only a
    /// window in use may grow (RFC 9260 §7.2.1).
    pub window_limited: bool,
    /// User data bytes still in flight after this SACK.
    pub flight_bytes: usize,
    /// A round-trip sample this SACK gave, if any (Karn's rule already applied).
    pub rtt: Option<Duration>,
}

/// A congestion controller: one per association, sizing how much user data may be
/// outstanding. All sizes are bytes of user data, as RFC 9260 §7.2 counts them.
pub trait Controller: Debug + Send + Sync {
    /// `bytes` of user data left in one packet (new data and retransmissions).
    fn on_packet_sent(&mut self, now: Instant, bytes: usize);

    /// A SACK was processed; see [`Ack`].
    fn on_ack(&mut self, now: Instant, ack: &Ack);

    /// Fast retransmit starts a recovery episode (RFC 9260 §7.2.4): once per episode.
    fn on_fast_retransmit(&mut self, now: Instant);

    /// T3-rtx expired (RFC 9260 §7.2.3): the path may have gone; start over.
    fn on_rto(&mut self, now: Instant);

    /// The path's MTU changed to `mtu` bytes (the largest SCTP packet).
    fn on_mtu_update(&mut self, mtu: usize);

    /// Bytes of user data that may be in flight now (cwnd).
    fn window(&self) -> usize;

    /// The window a new association starts with.
    fn initial_window(&self) -> usize;

    /// Bytes per second new data is to be paced at, if the controller paces: packets
    /// then leave spaced by their size over this rate instead of in a burst as the
    /// window opens. `None` (the default, NewReno's): no pacing.
    fn pacing_rate(&self) -> Option<u64> {
        None
    }
}

/// Makes the [`Controller`] of each new association; held by
/// [`SctpConfig::congestion`](super::SctpConfig::congestion).
pub trait ControllerFactory: Debug + Send + Sync {
    /// A controller for an association sending packets of at most `mtu` bytes.
    fn build(&self, mtu: usize) -> Box<dyn Controller>;
}
