//! The tokio side of the async test cases: what `ortc_cases/` and
//! `shared_socket_cases/` need from a runtime. Each test binary uses part of it.
#![allow(dead_code, unused_imports)]

use std::time::Duration;

pub use sansrtc_tokio::{UdpDriver, ortc};

pub async fn timeout<T>(d: Duration, f: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout(d, f).await.ok()
}

pub async fn sleep(d: Duration) {
    tokio::time::sleep(d).await
}

/// Runs `f` as a task; the returned future yields its result.
pub fn spawn<T: Send + 'static>(
    f: impl Future<Output = T> + Send + 'static,
) -> impl Future<Output = T> {
    let task = tokio::spawn(f);
    async move { task.await.expect("task panicked") }
}

/// A task that runs until stopped.
pub struct Background(tokio::task::JoinHandle<()>);

pub fn background(f: impl Future<Output = ()> + Send + 'static) -> Background {
    Background(tokio::spawn(f))
}

impl Background {
    pub async fn stop(self) {
        self.0.abort();
    }
}
