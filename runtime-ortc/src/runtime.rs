//! What the handles need from an async runtime: a task to run the chain on, a timer, and
//! a UDP driver for the chain. A runtime crate implements both traits once.

use std::fmt::Debug;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sansrtc::driver::InterfaceFilter;
use sansrtc::io::Endpoint;

/// An async runtime the ORTC handles run on: `sansrtc_tokio::ortc::TokioRuntime`,
/// `sansrtc_async_std::ortc::AsyncStdRuntime`.
///
/// Implemented by a zero-sized type that only names the runtime; the handles carry it as
/// a type parameter.
pub trait Runtime: Copy + Debug + Send + Sync + 'static {
    /// The runtime's UDP driver over an endpoint (its `UdpDriver<T>`).
    type Driver<T>: Driver<T>
    where
        T: Endpoint + Send + 'static,
        T::Event: Send;

    /// Runs `future` on its own task, detached: the chain's task reports its end through
    /// shared state.
    fn spawn(future: impl Future<Output = ()> + Send + 'static);

    /// Resolves after `duration`.
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send + 'static;

    /// The runtime's clock, the one its timers run on: it starts the machines' clocks.
    fn now() -> Instant;
}

/// A UDP driver: sockets and a timer around an [`Endpoint`], as the runtime crates'
/// `UdpDriver` offer them. Only what the chain's task uses.
pub trait Driver<T: Endpoint>: Sized + Send + 'static {
    /// Binds one socket per address (port 0 picks a free port) and drives `endpoint`
    /// over them.
    fn bind(endpoint: T, addrs: &[SocketAddr]) -> io::Result<Self>;

    /// Binds the interface addresses `filter` selects on `port` (0: a free port each).
    fn bind_interfaces(endpoint: T, port: u16, filter: InterfaceFilter) -> io::Result<Self>;

    /// The addresses the sockets are bound to, ports resolved, in the order given.
    fn local_addrs(&self) -> &[SocketAddr];

    /// The endpoint, to command between awaits.
    fn endpoint_mut(&mut self) -> &mut T;

    /// Drives the endpoint until it reports an event, and returns it; fails only if a
    /// socket breaks. Must be cancel safe: dropping the future loses nothing.
    fn next_event(&mut self) -> impl Future<Output = io::Result<T::Event>> + Send;
}
