//! The timer and socket of async-io, the reactor under both async-std and smol: their
//! runtimes differ only in how they spawn, so both use these.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use async_io::Async;

use crate::runtime::{AsyncTimer, AsyncUdpSocket};

/// async-io's timer.
#[derive(Debug)]
pub struct AsyncIoTimer(async_io::Timer);

impl AsyncIoTimer {
    /// A timer that fires once `at` passes.
    pub fn at(at: Instant) -> Self {
        AsyncIoTimer(async_io::Timer::at(at))
    }
}

impl AsyncTimer for AsyncIoTimer {
    fn reset(&mut self, at: Instant) {
        self.0.set_at(at);
    }

    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}

/// A UDP socket registered with async-io's reactor.
#[derive(Debug)]
pub struct AsyncIoSocket(Async<std::net::UdpSocket>);

impl AsyncIoSocket {
    /// Registers `socket` (bound, non-blocking) with the reactor.
    pub fn new(socket: std::net::UdpSocket) -> io::Result<Self> {
        Async::new(socket).map(AsyncIoSocket)
    }
}

impl AsyncUdpSocket for AsyncIoSocket {
    fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_readable(cx)
    }

    fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_writable(cx)
    }

    fn try_io<R>(
        &self,
        _write: bool,
        call: impl FnOnce(quinn_udp::UdpSockRef<'_>) -> io::Result<R>,
    ) -> io::Result<R> {
        // async-io keeps no readiness flag of its own to clear: a `WouldBlock` simply
        // sends the driver back to `poll_*_ready`.
        call(self.0.get_ref().into())
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().local_addr()
    }
}
