//! Everything in this crate that names async-std rather than async-io.
//!
//! Sockets and timers are async-io's, which is async-std's reactor and smol's as well, so
//! the driver runs on either executor. This module is the seam for a smol adapter: give it
//! a `timeout` built on `smol::Timer` (and `smol::spawn` if the driver ever spawns), and the
//! rest of the crate carries over unchanged.

use std::future::Future;
use std::time::{Duration, Instant};

/// The clock the driver reads; async-io's timers run on the same one.
pub(crate) fn now() -> Instant {
    Instant::now()
}

/// `future`'s output, or `None` if `after` passes first (and `future` is dropped).
pub(crate) async fn timeout<F: Future>(after: Duration, future: F) -> Option<F::Output> {
    async_std::future::timeout(after, future).await.ok()
}

/// Runs `future` on its own task, detached: it reports its end through shared state.
pub(crate) fn spawn(future: impl Future<Output = ()> + Send + 'static) {
    drop(async_std::task::spawn(future));
}

/// Resolves after `duration`.
pub(crate) async fn sleep(duration: Duration) {
    async_io::Timer::after(duration).await;
}
