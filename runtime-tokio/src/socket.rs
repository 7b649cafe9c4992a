//! The tokio half of a socket: readiness, and quinn-udp's batched system calls on top.

use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::task::{Context, Poll};

use bytes::Bytes;
use quinn_udp::{RecvMeta, UdpSocketState};
use sansrtc::driver::{Batch, RecvBuf};
use tokio::io::Interest;

/// Receive slots per system call. Linux's `recvmmsg` takes up to `quinn_udp::BATCH_SIZE`;
/// a few already amortise the wake-up, and each slot costs [`SLOT_LEN`] bytes of memory.
const RECV_SLOTS: usize = 4;

/// Bytes per receive slot: a whole GRO-coalesced buffer, which Linux caps at 64 KiB, or
/// the largest single datagram.
const SLOT_LEN: usize = 1 << 16;

/// One bound UDP socket.
#[derive(Debug)]
pub(crate) struct Socket {
    io: tokio::net::UdpSocket,
    state: UdpSocketState,
    buf: RecvBuf,
}

impl Socket {
    /// Binds `addr`. IPv6 sockets are IPv6-only so that `0.0.0.0:p` and `[::]:p` can both
    /// be bound and each datagram has one socket to arrive at.
    pub(crate) fn bind(addr: SocketAddr) -> io::Result<Self> {
        let sock = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::DGRAM,
            Some(socket2::Protocol::UDP),
        )?;
        if addr.is_ipv6() {
            sock.set_only_v6(true)?;
        }
        sock.bind(&addr.into())?;
        let sock = std::net::UdpSocket::from(sock);
        let state = UdpSocketState::new((&sock).into())?;
        Ok(Socket {
            io: tokio::net::UdpSocket::from_std(sock)?,
            state,
            buf: RecvBuf::new(SLOT_LEN, RECV_SLOTS),
        })
    }

    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }

    /// Datagrams one send call may carry: above 1 when the OS offers GSO. quinn-udp lowers
    /// it to 1 if a send shows the device cannot segment after all.
    pub(crate) fn max_gso_segments(&self) -> usize {
        self.state.max_gso_segments()
    }

    /// Sends one batch, waiting for the socket to take it.
    pub(crate) async fn send(&self, batch: &Batch, contents: &[u8]) -> io::Result<()> {
        let transmit = quinn_udp::Transmit {
            destination: batch.destination,
            ecn: None,
            contents,
            segment_size: batch.segment_size,
            src_ip: batch.src_ip,
        };
        loop {
            self.io.writable().await?;
            let sent = self.io.try_io(Interest::WRITABLE, || {
                self.state.try_send((&self.io).into(), &transmit)
            });
            match sent {
                // tokio cleared its readiness flag: wait for the next edge.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                other => return other,
            }
        }
    }

    pub(crate) fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_recv_ready(cx)
    }

    /// One receive call without waiting. Calls `each(source, dst_ip, contents, stride)` for
    /// every slot filled; `Ok(false)` when nothing was waiting.
    pub(crate) fn try_recv(
        &mut self,
        mut each: impl FnMut(SocketAddr, Option<std::net::IpAddr>, Bytes, usize),
    ) -> io::Result<bool> {
        let mut meta = [RecvMeta::default(); RECV_SLOTS];
        let received = {
            let mut slots = self.buf.slots_mut();
            let mut bufs: [IoSliceMut<'_>; RECV_SLOTS] =
                std::array::from_fn(|_| IoSliceMut::new(slots.next().unwrap_or_default()));
            let (io, state) = (&self.io, &self.state);
            io.try_io(Interest::READABLE, || {
                state.recv(io.into(), &mut bufs, &mut meta)
            })
        };
        let n = match received {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) => return Err(e),
        };
        for (slot, m) in meta.iter().enumerate().take(n) {
            let contents = self.buf.take(slot, m.len);
            each(m.addr, m.dst_ip, contents, m.stride);
        }
        Ok(true)
    }
}
