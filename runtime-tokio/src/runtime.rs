//! Everything the ORTC handles need from the runtime besides [`UdpDriver`](crate::UdpDriver):
//! spawning the chain's task and sleeping, behind
//! [`TokioRuntime`](crate::ortc::TokioRuntime)'s implementation of
//! `sansrtc_ortc_async::Runtime`.

use std::future::Future;
use std::time::Duration;

/// Runs `future` on its own task, detached: it reports its end through shared state.
///
/// # Panics
///
/// Outside a tokio runtime.
pub(crate) fn spawn(future: impl Future<Output = ()> + Send + 'static) {
    drop(tokio::spawn(future));
}

/// Resolves after `duration`.
pub(crate) async fn sleep(duration: Duration) {
    tokio::time::sleep(duration).await;
}
