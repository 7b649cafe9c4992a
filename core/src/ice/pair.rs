//! Candidate pairs and their check state (RFC 8445 §6.1.2).

use std::time::{Duration, Instant};

use crate::stun::{Transaction, TransactionId};

/// Check state of a pair (RFC 8445 §6.1.2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PairState {
    Frozen,
    Waiting,
    InProgress,
    Succeeded,
    Failed,
}

/// One local/remote candidate pair, by index into the agent's candidate lists.
#[derive(Debug)]
pub(crate) struct Pair {
    pub local: usize,
    pub remote: usize,
    pub priority: u64,
    pub state: PairState,
    /// Nominated: usable for data once succeeded.
    pub nominated: bool,
    /// Controlled agent: the peer sent USE-CANDIDATE before our check succeeded.
    pub nominate_on_success: bool,
    /// The check in flight: id, timer, and whether it carries USE-CANDIDATE.
    pub txn: Option<(TransactionId, Transaction, bool)>,
    pub sent_at: Option<Instant>,
    pub last_response: Option<Instant>,
    pub last_request: Option<Instant>,
    pub next_consent: Option<Instant>,
    pub rtt: Option<Duration>,
}

impl Pair {
    pub fn new(local: usize, remote: usize, priority: u64, state: PairState) -> Self {
        Pair {
            local,
            remote,
            priority,
            state,
            nominated: false,
            nominate_on_success: false,
            txn: None,
            sent_at: None,
            last_response: None,
            last_request: None,
            next_consent: None,
            rtt: None,
        }
    }
}

/// Pair priority (RFC 8445 §6.1.2.3): G is the controlling side's candidate priority.
pub(crate) fn pair_priority(controlling: bool, local: u32, remote: u32) -> u64 {
    let (g, d) = if controlling {
        (u64::from(local), u64::from(remote))
    } else {
        (u64::from(remote), u64::from(local))
    };
    (1u64 << 32) * g.min(d) + 2 * g.max(d) + u64::from(g > d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8445 §6.1.2.3: both agents compute the same priority for the same pair.
    #[test]
    fn pair_priority_is_symmetric_between_agents() {
        let (a, b) = (2_130_706_431u32, 1_694_498_815u32);
        assert_eq!(pair_priority(true, a, b), pair_priority(false, b, a));
        assert_ne!(pair_priority(true, a, b), pair_priority(true, b, a));
        assert_eq!(
            pair_priority(true, a, b),
            (1u64 << 32) * u64::from(b) + 2 * u64::from(a) + 1
        );
    }
}
