//! Client transaction timing (RFC 8489 §6.2.1): RTO, Rc, Rm.

use std::time::{Duration, Instant};

/// Retransmission parameters of a STUN client transaction over UDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StunTiming {
    /// Initial retransmission timeout (RTO). RFC 8489 recommends 500 ms or more.
    pub initial_rto: Duration,
    /// Upper bound for the doubled RTO; RFC 8489 sets none, but long waits between
    /// retransmits only delay failure detection.
    pub max_rto: Duration,
    /// Total number of requests sent (Rc, default 7).
    pub max_requests: u32,
    /// After the last request, wait `last_wait_factor × initial_rto` for a response (Rm, default 16).
    pub last_wait_factor: u32,
}

impl Default for StunTiming {
    fn default() -> Self {
        StunTiming {
            initial_rto: Duration::from_millis(500),
            max_rto: Duration::from_secs(60),
            max_requests: 7,
            last_wait_factor: 16,
        }
    }
}

/// What a transaction wants after its deadline passed.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionAction {
    /// Nothing yet.
    Wait,
    /// Send the request again.
    Retransmit,
    /// No response in time: the transaction failed.
    TimedOut,
}

/// Timer state of one outstanding request. It does not hold the request bytes: the owner
/// rebuilds or keeps them, so retransmissions can carry fresh attributes if needed.
///
/// ```
/// use std::time::{Duration, Instant};
/// use sansrtc::stun::{StunTiming, Transaction, TransactionAction};
/// let t0 = Instant::now();
/// let mut t = Transaction::new(t0, StunTiming::default());
/// // RFC 8489 §6.2.1 example: requests at 0, 500, 1500, 3500, 7500, 15500, 31500 ms,
/// // failure at 39500 ms.
/// let mut sends = vec![0];
/// let mut now = t0;
/// loop {
///     now = t.deadline();
///     match t.on_timeout(now) {
///         TransactionAction::Retransmit => sends.push((now - t0).as_millis()),
///         TransactionAction::TimedOut => break,
///         _ => {}
///     }
/// }
/// assert_eq!(sends, [0, 500, 1500, 3500, 7500, 15500, 31500]);
/// assert_eq!((now - t0).as_millis(), 39500);
/// ```
#[derive(Debug, Clone)]
pub struct Transaction {
    timing: StunTiming,
    sent: u32,
    rto: Duration,
    deadline: Instant,
}

impl Transaction {
    /// A transaction whose first request goes out at `now`.
    pub fn new(now: Instant, timing: StunTiming) -> Self {
        let timing = StunTiming {
            max_requests: timing.max_requests.max(1),
            ..timing
        };
        let rto = timing.initial_rto.min(timing.max_rto);
        let mut t = Transaction {
            timing,
            sent: 1,
            rto,
            deadline: now,
        };
        t.deadline = now + t.wait_after_send();
        t
    }

    fn wait_after_send(&self) -> Duration {
        if self.sent >= self.timing.max_requests {
            self.timing.initial_rto * self.timing.last_wait_factor
        } else {
            self.rto
        }
    }

    /// Requests sent so far.
    pub fn requests_sent(&self) -> u32 {
        self.sent
    }

    /// When [`Transaction::on_timeout`] must next be called.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Advance the timer to `now`.
    pub fn on_timeout(&mut self, now: Instant) -> TransactionAction {
        if now < self.deadline {
            return TransactionAction::Wait;
        }
        if self.sent >= self.timing.max_requests {
            return TransactionAction::TimedOut;
        }
        self.sent += 1;
        self.rto = (self.rto * 2).min(self.timing.max_rto);
        self.deadline = now + self.wait_after_send();
        TransactionAction::Retransmit
    }
}
