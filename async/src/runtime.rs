//! What this crate needs from an async runtime, at the level of quinn's `Runtime`: a way
//! to spawn a task, a clock and a timer on it, and a UDP socket it can wait on. A runtime
//! crate implements these three traits once (`sansrtc-tokio`, `sansrtc-async-std` and
//! `sansrtc-smol` do, in about a hundred lines each); everything else — the UDP driver,
//! receive buffers, interface lists, the ORTC handles — lives here, written once.

use std::fmt::Debug;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use quinn_udp::UdpSockRef;

/// An async runtime: `sansrtc_tokio::TokioRuntime`, `sansrtc_async_std::AsyncStdRuntime`,
/// `sansrtc_smol::SmolRuntime`.
///
/// Implemented by a zero-sized type that only names the runtime; drivers and handles carry
/// it as a type parameter.
pub trait Runtime: Copy + Debug + Send + Sync + 'static {
    /// The runtime's timer.
    type Timer: AsyncTimer;
    /// A UDP socket registered with the runtime's reactor.
    type Socket: AsyncUdpSocket;

    /// Runs `future` on its own task, detached: the task reports its end through shared
    /// state.
    fn spawn(future: impl Future<Output = ()> + Send + 'static);

    /// The runtime's clock, the one its timers run on (tokio's may be paused): it starts
    /// the machines' clocks and stamps every datagram.
    fn now() -> Instant;

    /// A timer that fires once `at` passes.
    fn timer(at: Instant) -> Self::Timer;

    /// Registers a bound, non-blocking socket with the reactor.
    fn wrap_udp_socket(socket: std::net::UdpSocket) -> io::Result<Self::Socket>;

    /// Resolves after `duration`.
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send + 'static {
        let mut timer = Self::timer(Self::now() + duration);
        std::future::poll_fn(move |cx| timer.poll_expired(cx))
    }
}

/// A timer that can be moved to a new instant without being rebuilt.
pub trait AsyncTimer: Send + Unpin + Debug + 'static {
    /// Fire at `at` instead.
    fn reset(&mut self, at: Instant);

    /// Ready once the instant has passed; registers `cx`'s waker until then.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()>;
}

/// A UDP socket the runtime's reactor watches. The system calls themselves are
/// quinn-udp's, made in [`try_io`](AsyncUdpSocket::try_io) so that the runtime can note a
/// `WouldBlock` (tokio clears its readiness flag then; async-io needs nothing).
pub trait AsyncUdpSocket: Send + Sync + Debug + 'static {
    /// Ready when a receive call may find a datagram.
    fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Ready when a send call may be taken.
    fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Makes one non-blocking call on the socket, for reading (`write == false`) or
    /// writing.
    fn try_io<R>(
        &self,
        write: bool,
        call: impl FnOnce(UdpSockRef<'_>) -> io::Result<R>,
    ) -> io::Result<R>;

    /// The address the socket is bound to.
    fn local_addr(&self) -> io::Result<SocketAddr>;
}
