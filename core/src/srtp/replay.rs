//! The sliding replay window of RFC 3711 §3.3.2.

/// Which packet indices have been received within `size` of the highest one.
///
/// The bitmap is a ring indexed by `index mod capacity` (capacity a power of two at
/// least `size`), so moving the window forward by one packet clears one bit instead of
/// shifting the whole map: the per-packet cost stays constant however large the window.
#[derive(Debug, Clone)]
pub(crate) struct ReplayWindow {
    /// Packets older than `highest - size + 1` are rejected.
    size: u64,
    /// `capacity - 1`, for the modulo.
    mask: u64,
    /// Highest authenticated index; meaningless until `started`.
    highest: u64,
    started: bool,
    bits: Box<[u64]>,
}

/// Why the window rejects an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReplayCheck {
    /// Never seen and within the window (or newer than anything seen).
    Fresh,
    /// Seen before.
    Replayed,
    /// Older than the window reaches, so whether it was seen is unknown (RFC 3711
    /// §3.3.2: "the packet is discarded").
    TooOld,
}

impl ReplayWindow {
    /// A window accepting indices up to `size - 1` behind the highest one.
    pub(crate) fn new(size: usize) -> Self {
        let capacity = size.max(64).next_power_of_two();
        ReplayWindow {
            size: size as u64,
            mask: capacity as u64 - 1,
            highest: 0,
            started: false,
            bits: vec![0u64; capacity / 64].into_boxed_slice(),
        }
    }

    /// The highest index accepted so far, if any.
    pub(crate) fn highest(&self) -> Option<u64> {
        self.started.then_some(self.highest)
    }

    fn bit(&self, index: u64) -> (usize, u64) {
        let slot = index & self.mask;
        ((slot / 64) as usize, 1u64 << (slot % 64))
    }

    /// Whether `index` may be accepted. Does not change the window: RFC 3711 §3.3.2
    /// updates it only once the packet has been authenticated.
    pub(crate) fn check(&self, index: u64) -> ReplayCheck {
        if !self.started || index > self.highest {
            return ReplayCheck::Fresh;
        }
        if self.highest - index >= self.size {
            return ReplayCheck::TooOld;
        }
        let (word, bit) = self.bit(index);
        if self.bits[word] & bit != 0 {
            ReplayCheck::Replayed
        } else {
            ReplayCheck::Fresh
        }
    }

    /// Record an authenticated `index` (which [`Self::check`] said was fresh).
    pub(crate) fn accept(&mut self, index: u64) {
        if !self.started {
            self.started = true;
            self.highest = index;
        } else if index > self.highest {
            let advance = index - self.highest;
            if advance > self.mask {
                self.bits.fill(0);
            } else {
                // Slots between the old and new highest now stand for packets not yet
                // seen; they still hold bits from one lap of the ring ago.
                for skipped in self.highest + 1..index {
                    let (word, bit) = self.bit(skipped);
                    self.bits[word] &= !bit;
                }
            }
            self.highest = index;
        }
        let (word, bit) = self.bit(index);
        self.bits[word] |= bit;
    }
}
