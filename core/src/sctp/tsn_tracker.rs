//! Which of the peer's TSNs arrived: the cumulative TSN, the runs above it that gap ack
//! blocks report, and the duplicates a SACK lists (RFC 9260 §3.3.4, §6.2). DATA and
//! I-DATA share it: both number their chunks with TSNs (RFC 8260 §2.1), and FORWARD-TSN
//! and I-FORWARD-TSN move its cumulative TSN alike.

use std::collections::BTreeMap;

use super::{GapAckBlock, Tsn};

/// Cap on gap blocks and duplicate TSNs per SACK (keeps a SACK within one packet).
pub(super) const MAX_SACK_ITEMS: usize = 64;

/// The receive side's TSN bookkeeping. TSNs are absolute: they count from 2^32 at the
/// peer's initial TSN, so they never wrap and "one before the first" never underflows;
/// the wire TSN is the initial TSN plus the low 32 bits.
#[derive(Debug, Default)]
pub(super) struct TsnTracker {
    /// The peer's initial TSN (from its INIT or INIT-ACK).
    initial: Tsn,
    /// Absolute cumulative TSN: everything up to it arrived or was skipped.
    cum: u64,
    /// Runs of TSNs received above the cumulative TSN, first → last: the gap ack blocks.
    /// Kept as they change, so a SACK reads the first few instead of walking every TSN
    /// held (RFC 9260 §3.3.4 only needs the blocks, not the chunks).
    gaps: BTreeMap<u64, u64>,
    /// Duplicates to report in the next SACK.
    dups: Vec<Tsn>,
}

impl TsnTracker {
    /// Starts counting at the peer's initial TSN, before any DATA is taken.
    pub(super) fn start(&mut self, initial: Tsn) {
        self.initial = initial;
        self.cum = (1 << 32) - 1;
    }

    /// The absolute cumulative TSN.
    pub(super) fn cum(&self) -> u64 {
        self.cum
    }

    /// The cumulative TSN as the wire carries it (SACK, SHUTDOWN).
    pub(super) fn cum_tsn(&self) -> Tsn {
        self.wire(self.cum)
    }

    /// The wire TSN of absolute TSN `abs`.
    pub(super) fn wire(&self, abs: u64) -> Tsn {
        self.initial.add(abs as u32)
    }

    /// The absolute TSN of a wire TSN, taken as the one nearest the cumulative TSN
    /// (RFC 1982 serial arithmetic).
    pub(super) fn abs(&self, tsn: Tsn) -> u64 {
        let base = self.wire(self.cum);
        (self.cum as i64 + i64::from(tsn.offset_from(base))) as u64
    }

    /// Whether some TSN above the cumulative TSN arrived: something is missing.
    pub(super) fn has_gaps(&self) -> bool {
        !self.gaps.is_empty()
    }

    /// Whether duplicates wait to be reported.
    pub(super) fn has_dups(&self) -> bool {
        !self.dups.is_empty()
    }

    /// Whether the TSN `abs` was received (or skipped by FORWARD-TSN) already.
    pub(super) fn is_received(&self, abs: u64) -> bool {
        abs <= self.cum
            || self
                .gaps
                .range(..=abs)
                .next_back()
                .is_some_and(|(_, &end)| end >= abs)
    }

    /// Records the TSN `abs` (above the cumulative TSN, not yet received) as received:
    /// it extends the cumulative TSN or joins the runs that gap ack blocks report.
    pub(super) fn mark_received(&mut self, abs: u64) {
        let after = self.gaps.remove(&(abs + 1));
        if abs == self.cum + 1 {
            self.cum = after.unwrap_or(abs);
            return;
        }
        let end = after.unwrap_or(abs);
        let start = match self.gaps.range(..abs).next_back() {
            Some((&s, &e)) if e + 1 == abs => s,
            _ => abs,
        };
        self.gaps.insert(start, end);
    }

    /// The in-order fast path: the TSN after the cumulative TSN arrived while nothing
    /// above it had, so no run needs merging.
    pub(super) fn advance_in_order(&mut self) {
        debug_assert!(self.gaps.is_empty(), "in-order arrival with gaps");
        self.cum += 1;
    }

    /// Moves the cumulative TSN to `new_cum` (FORWARD-TSN, RFC 3758 §3.6), and over any
    /// run of received TSNs it now reaches.
    pub(super) fn advance_cum_to(&mut self, new_cum: u64) {
        self.cum = self.cum.max(new_cum);
        while let Some((&s, &e)) = self.gaps.first_key_value()
            && s <= self.cum + 1
        {
            self.gaps.pop_first();
            self.cum = self.cum.max(e);
        }
    }

    /// Notes a duplicate for the next SACK (RFC 9260 §3.3.4: as many as a SACK has
    /// room for).
    pub(super) fn record_duplicate(&mut self, tsn: Tsn) {
        if self.dups.len() < MAX_SACK_ITEMS {
            self.dups.push(tsn);
        }
    }

    /// The gap ack blocks of a SACK: the lowest runs first (the sender repairs from the
    /// front), as many as a SACK carries and only as far as a 16-bit offset reaches
    /// (RFC 9260 §3.3.4).
    pub(super) fn gap_ack_blocks(&self) -> Vec<GapAckBlock> {
        let cum = self.cum;
        self.gaps
            .iter()
            .take_while(|&(&s, _)| s - cum <= u64::from(u16::MAX))
            .take(MAX_SACK_ITEMS)
            .map(|(&s, &e)| GapAckBlock {
                start: (s - cum) as u16,
                end: (e - cum).min(u64::from(u16::MAX)) as u16,
            })
            .collect()
    }

    /// The duplicates to report, leaving none.
    pub(super) fn take_dups(&mut self) -> Vec<Tsn> {
        std::mem::take(&mut self.dups)
    }

    /// Forgets the runs above the cumulative TSN (the association closed).
    pub(super) fn clear_gaps(&mut self) {
        self.gaps.clear();
    }
}
