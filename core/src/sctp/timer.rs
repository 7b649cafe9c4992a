//! The association's timers as one table: every deadline the association may wait for
//! has a slot, so [`TimerTable::next_expiry`] is the one place that answers "when must
//! we be called again" and a closing association stops them all at once.

use std::time::Instant;

/// One of the association's timers (RFC 9260 §14 names most of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Timer {
    /// T1-init and T1-cookie (RFC 9260 §5.1, §5.1.6): INIT or COOKIE-ECHO unanswered.
    /// One slot serves both, since COOKIE-ECHOED follows COOKIE-WAIT and the state says
    /// which chunk to send again.
    T1,
    /// Delayed SACK (RFC 9260 §6.2): a lone packet's acknowledgement is held this long.
    DelayedAck,
    /// T2-shutdown (RFC 9260 §9.2): SHUTDOWN or SHUTDOWN-ACK unanswered.
    T2Shutdown,
    /// Stream reset request unanswered (RFC 6525 §5.1.1 retransmits it on RTO).
    Reconfig,
    /// Heartbeat (RFC 9260 §8.3): the idle path is probed, or a probe went unanswered.
    Heartbeat,
    /// T3-rtx (RFC 9260 §6.3): outstanding DATA unacknowledged.
    T3Rtx,
    /// RACK's reordering window (RFC 8985 §6.2): a chunk sent before one already
    /// acknowledged counts as lost once it has been out a round trip and this much more.
    RackReorder,
    /// Tail loss probe (RFC 8985 §7): no SACK for two round trips while data is out;
    /// one packet goes to draw a SACK before T3-rtx would.
    TailLossProbe,
    /// A pacing controller lets the next packet of new data go.
    Pacing,
}

impl Timer {
    /// Slots in the table, one per variant.
    const COUNT: usize = 9;

    const fn slot(self) -> usize {
        self as usize
    }
}

/// When each [`Timer`] fires, if it runs.
#[derive(Debug, Clone, Default)]
pub(super) struct TimerTable {
    deadlines: [Option<Instant>; Timer::COUNT],
}

impl TimerTable {
    /// Starts (or restarts) `timer` to fire at `at`.
    pub(super) fn set(&mut self, timer: Timer, at: Instant) {
        self.deadlines[timer.slot()] = Some(at);
    }

    /// Starts `timer` at `at`, or stops it when there is no deadline.
    pub(super) fn set_or_stop(&mut self, timer: Timer, at: Option<Instant>) {
        self.deadlines[timer.slot()] = at;
    }

    /// Stops `timer`; a stopped timer never expires.
    pub(super) fn stop(&mut self, timer: Timer) {
        self.deadlines[timer.slot()] = None;
    }

    /// Stops every timer (the association closed).
    pub(super) fn stop_all(&mut self) {
        self.deadlines = [None; Timer::COUNT];
    }

    /// When `timer` fires, if it runs.
    pub(super) fn deadline(&self, timer: Timer) -> Option<Instant> {
        self.deadlines[timer.slot()]
    }

    /// Whether `timer` runs.
    pub(super) fn is_set(&self, timer: Timer) -> bool {
        self.deadlines[timer.slot()].is_some()
    }

    /// Whether `timer` runs and its deadline is at or before `now`.
    pub(super) fn expired(&self, timer: Timer, now: Instant) -> bool {
        self.deadlines[timer.slot()].is_some_and(|at| now >= at)
    }

    /// The soonest deadline of all running timers.
    pub(super) fn next_expiry(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }
}

// Named tests.rs, the one file name the sans-IO check exempts: a test starts virtual
// time from one real Instant.
#[cfg(test)]
mod tests;
