//! The sender's record of DATA chunks not yet cumulatively acknowledged.
//!
//! TSNs are handed out consecutively and leave only from the front (the cumulative
//! ack), so the record is a ring indexed by TSN: lookups are an offset, not a tree walk.

use std::collections::VecDeque;
use std::ops::RangeInclusive;

/// Entries keyed by absolute TSN, consecutive from `base`.
#[derive(Debug)]
pub(super) struct Ring<T> {
    base: u64,
    q: VecDeque<T>,
}

impl<T> Default for Ring<T> {
    fn default() -> Self {
        Self {
            base: 0,
            q: VecDeque::new(),
        }
    }
}

impl<T> Ring<T> {
    /// Appends the entry for `tsn`, which must follow the last one.
    pub(super) fn push(&mut self, tsn: u64, v: T) {
        if self.q.is_empty() {
            self.base = tsn;
        }
        debug_assert_eq!(
            tsn,
            self.base + self.q.len() as u64,
            "TSNs must be consecutive"
        );
        self.q.push_back(v);
    }

    /// Removes and returns the first entry if its TSN is at most `upto`.
    pub(super) fn pop_through(&mut self, upto: u64) -> Option<(u64, T)> {
        if self.base > upto {
            return None;
        }
        let v = self.q.pop_front()?;
        let t = self.base;
        self.base += 1;
        Some((t, v))
    }

    pub(super) fn get(&self, tsn: u64) -> Option<&T> {
        self.q
            .get(usize::try_from(tsn.checked_sub(self.base)?).ok()?)
    }

    pub(super) fn get_mut(&mut self, tsn: u64) -> Option<&mut T> {
        self.q
            .get_mut(usize::try_from(tsn.checked_sub(self.base)?).ok()?)
    }

    pub(super) fn last_tsn(&self) -> Option<u64> {
        (!self.q.is_empty()).then(|| self.base + self.q.len() as u64 - 1)
    }

    pub(super) fn len(&self) -> usize {
        self.q.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.q.is_empty()
    }

    pub(super) fn clear(&mut self) {
        self.q.clear();
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &T> {
        self.q.iter()
    }

    pub(super) fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.q.iter_mut()
    }

    /// Index bounds of the TSNs of `r` that are present.
    fn bounds(&self, r: RangeInclusive<u64>) -> (usize, usize) {
        let len = self.q.len() as u64;
        let lo = r.start().saturating_sub(self.base).min(len);
        let hi = (r.end().saturating_add(1))
            .saturating_sub(self.base)
            .min(len);
        (lo as usize, hi.max(lo) as usize)
    }

    /// Entries whose TSN lies in `r`, with their TSNs.
    pub(super) fn range(&self, r: RangeInclusive<u64>) -> impl Iterator<Item = (u64, &T)> {
        let (lo, hi) = self.bounds(r);
        let base = self.base;
        self.q
            .range(lo..hi)
            .enumerate()
            .map(move |(i, v)| (base + (lo + i) as u64, v))
    }

    /// Entries whose TSN lies in `r`, with their TSNs, mutably.
    pub(super) fn range_mut(
        &mut self,
        r: RangeInclusive<u64>,
    ) -> impl Iterator<Item = (u64, &mut T)> {
        let (lo, hi) = self.bounds(r);
        let base = self.base;
        self.q
            .range_mut(lo..hi)
            .enumerate()
            .map(move |(i, v)| (base + (lo + i) as u64, v))
    }
}

#[cfg(test)]
mod tests {
    use super::Ring;

    #[test]
    fn ring_indexes_by_tsn_and_pops_from_the_front() {
        let mut r = Ring::default();
        for t in 10..15u64 {
            r.push(t, t * 2);
        }
        assert_eq!(r.get(9), None);
        assert_eq!(r.get(12), Some(&24));
        assert_eq!(r.get(15), None);
        assert_eq!(r.last_tsn(), Some(14));
        let got: Vec<_> = r.range(0..=11).map(|(t, v)| (t, *v)).collect();
        assert_eq!(got, [(10, 20), (11, 22)]);
        assert_eq!(r.range(13..=u64::MAX).count(), 2);
        assert_eq!(r.range(20..=30).count(), 0);
        assert_eq!(r.pop_through(9), None);
        assert_eq!(r.pop_through(11), Some((10, 20)));
        assert_eq!(r.pop_through(11), Some((11, 22)));
        assert_eq!(r.pop_through(11), None);
        for (_, v) in r.range_mut(13..=13) {
            *v = 0;
        }
        assert_eq!(r.get(13), Some(&0));
        while r.pop_through(u64::MAX).is_some() {}
        assert!(r.is_empty());
        // An empty ring starts again wherever the next push says.
        r.push(100, 1);
        assert_eq!(r.get(100), Some(&1));
    }
}
