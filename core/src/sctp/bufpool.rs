//! Buffers that messages are copied together in on receipt, given back when the
//! application drops the message.
//!
//! A message that arrives in fragments is copied once into a buffer of its own, which
//! the application then owns as [`Bytes`]. A bulk receiver drops each message soon
//! after it arrives, so without reuse every message costs a fresh allocation of its
//! whole size: with a 64 KiB message the allocator hands back the freed memory to the
//! system and faults it in again, zeroed, for the next one, which cost more than the
//! copy itself. Here a message's buffer comes back to its association when the last
//! view of it is dropped, and the next message is copied into memory still mapped and
//! warm in cache.
//!
//! What is kept is bounded by [`KEPT_BYTES`] whatever the peer sends, and only while
//! the association lives: the pool holds a weak link back, so a buffer dropped after
//! its association is freed at once.

use std::sync::{Arc, Mutex, OnceLock, Weak};

use bytes::Bytes;

/// Most bytes of capacity an association keeps for reuse: as much as one message being
/// copied together may already take (`STREAMING_GUESS_MAX`), so reuse at most doubles
/// what a receiving association holds between messages.
pub(super) const KEPT_BYTES: usize = 256 * 1024;

type Kept = Mutex<Vec<Vec<u8>>>;

/// Buffers given back by dropped messages, for the next ones.
#[derive(Debug, Default)]
pub(super) struct BufPool {
    /// Made with the first message handed over, so an association that never gets one
    /// (most sit idle with one open channel) allocates nothing for it.
    kept: OnceLock<Arc<Kept>>,
}

impl BufPool {
    fn kept(&self) -> &Arc<Kept> {
        self.kept.get_or_init(Arc::default)
    }

    /// An empty buffer with room for at least `cap` bytes: the last one kept if it has
    /// that room and at most twice as much (a message must not pin a buffer far larger
    /// than itself). One that does not fit is freed rather than kept: message sizes
    /// change, and a kept buffer that never fits would stay forever.
    pub(super) fn take(&self, cap: usize) -> Vec<u8> {
        let kept = self
            .kept
            .get()
            .and_then(|k| k.lock().ok().and_then(|mut k| k.pop()));
        match kept {
            Some(b) if b.capacity() >= cap && b.capacity() <= cap.saturating_mul(2) => b,
            _ => Vec::with_capacity(cap),
        }
    }

    /// `buf`'s bytes as a message; the buffer comes back here once the last view of it
    /// is dropped.
    pub(super) fn freeze(&self, buf: Vec<u8>) -> Bytes {
        Bytes::from_owner(Pooled {
            buf,
            pool: Arc::downgrade(self.kept()),
        })
    }

    /// Keep `buf` for a later message, if it fits the budget.
    pub(super) fn give_back(&self, buf: Vec<u8>) {
        keep(self.kept(), buf);
    }

    /// Bytes of capacity kept now.
    #[cfg(test)]
    pub(super) fn kept_bytes(&self) -> usize {
        self.kept.get().map_or(0, |k| {
            k.lock().map_or(0, |k| k.iter().map(Vec::capacity).sum())
        })
    }
}

fn keep(kept: &Kept, mut buf: Vec<u8>) {
    let Ok(mut k) = kept.lock() else {
        return;
    };
    let held: usize = k.iter().map(Vec::capacity).sum();
    if held + buf.capacity() <= KEPT_BYTES {
        buf.clear();
        k.push(buf);
    }
}

/// The owner behind a pooled message's [`Bytes`].
struct Pooled {
    buf: Vec<u8>,
    pool: Weak<Kept>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(kept) = self.pool.upgrade() {
            keep(&kept, std::mem::take(&mut self.buf));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_message_gives_its_buffer_to_the_next() {
        let pool = BufPool::default();
        let mut b = pool.take(1000);
        b.extend_from_slice(&[7; 600]);
        let ptr = b.as_ptr();
        let msg = pool.freeze(b);
        let view = msg.slice(10..20);
        drop(msg);
        // A view still holds the buffer.
        assert_eq!(pool.kept_bytes(), 0);
        assert_eq!(&view[..], &[7; 10]);
        drop(view);
        assert!(pool.kept_bytes() >= 1000);
        let again = pool.take(1000);
        assert_eq!(again.as_ptr(), ptr);
        assert!(again.is_empty());
        // Too small for what is asked: a new buffer, and the small one is let go.
        pool.give_back(again);
        assert!(pool.take(2000).capacity() >= 2000);
        assert_eq!(pool.kept_bytes(), 0);
        // Far too large for a small message: not lent to it either.
        let big = Vec::with_capacity(64 * 1024);
        let big_at = big.as_ptr();
        pool.give_back(big);
        let small = pool.take(1000);
        assert_ne!(small.as_ptr(), big_at);
        assert!(small.capacity() < 64 * 1024);
        assert_eq!(pool.kept_bytes(), 0);
    }

    #[test]
    fn what_is_kept_stays_within_the_budget() {
        let pool = BufPool::default();
        for _ in 0..16 {
            pool.give_back(Vec::with_capacity(100 * 1024));
        }
        assert!(pool.kept_bytes() <= KEPT_BYTES);
        assert!(pool.kept_bytes() >= 200 * 1024);
        // One larger than the whole budget is never kept.
        let pool = BufPool::default();
        pool.give_back(Vec::with_capacity(KEPT_BYTES + 1));
        assert_eq!(pool.kept_bytes(), 0);
    }

    #[test]
    fn a_message_outliving_its_association_frees_its_buffer() {
        let pool = BufPool::default();
        let mut b = pool.take(64);
        b.push(1);
        let msg = pool.freeze(b);
        drop(pool);
        // Nothing to go back to: dropped without a pool.
        assert_eq!(&msg[..], &[1]);
        drop(msg);
    }
}
