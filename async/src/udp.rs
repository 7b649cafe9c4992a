//! [`UdpDriver`]: any sans-IO [`Endpoint`] over UDP sockets on any [`Runtime`].

use std::future::poll_fn;
use std::io::{self, IoSliceMut};
use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use quinn_udp::{RecvMeta, UdpSocketState};
use sansrtc::io::Endpoint;

use crate::driver::{self, Batch, Drive, DriveStats, InterfaceFilter, RecvBuf, Step};
use crate::runtime::{AsyncTimer, AsyncUdpSocket, Runtime};

/// Receive slots per system call. Linux's `recvmmsg` takes up to `quinn_udp::BATCH_SIZE`;
/// a few already amortise the wake-up, and each slot costs [`SLOT_LEN`] bytes of memory.
const RECV_SLOTS: usize = 4;

/// Bytes per receive slot: a whole GRO-coalesced buffer, which Linux caps at 64 KiB, or
/// the largest single datagram.
const SLOT_LEN: usize = 1 << 16;

/// Receive buffer asked of the OS per socket (`SO_RCVBUF`, which Linux caps at
/// `net.core.rmem_max`). The default (~208 KiB) holds under a millisecond of a gigabit
/// flow: a receiver the scheduler holds off for a few milliseconds on a busy machine
/// would lose datagrams there, and SCTP would have to recover them (sometimes only by
/// its retransmission timer). Kernel memory is taken only while datagrams wait.
const RECV_BUFFER: usize = 2 << 20;

/// One bound UDP socket: the runtime's half (readiness) and quinn-udp's (batched calls).
#[derive(Debug)]
struct Socket<S> {
    io: S,
    state: UdpSocketState,
    buf: RecvBuf,
    /// The last receive returned data, so more may be waiting. Some reactors (async-io)
    /// report readiness once per OS event, so without this a socket that still holds
    /// datagrams would cost a round trip through the reactor before the next read.
    hot: bool,
}

impl<S: AsyncUdpSocket> Socket<S> {
    /// Binds `addr`. IPv6 sockets are IPv6-only so that `0.0.0.0:p` and `[::]:p` can both
    /// be bound and each datagram has one socket to arrive at.
    fn bind<R: Runtime<Socket = S>>(addr: SocketAddr) -> io::Result<Self> {
        let sock = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::DGRAM,
            Some(socket2::Protocol::UDP),
        )?;
        if addr.is_ipv6() {
            sock.set_only_v6(true)?;
        }
        sock.bind(&addr.into())?;
        sock.set_nonblocking(true)?;
        // Best effort: a smaller buffer only costs datagrams under load, not the socket.
        if let Err(e) = sock.set_recv_buffer_size(RECV_BUFFER) {
            tracing::debug!(error = %e, "receive buffer not enlarged");
        }
        let sock = std::net::UdpSocket::from(sock);
        let state = UdpSocketState::new((&sock).into())?;
        let mut buf = RecvBuf::new(SLOT_LEN, RECV_SLOTS);
        // Allocated and zeroed now, with the socket, rather than when the first datagram
        // arrives: half a megabyte of page faults and zeroing that would otherwise sit
        // on a connection's first round trip.
        let _ = buf.slots_mut();
        Ok(Socket {
            io: R::wrap_udp_socket(sock)?,
            state,
            buf,
            hot: false,
        })
    }

    /// Datagrams one send call may carry: above 1 when the OS offers GSO. quinn-udp lowers
    /// it to 1 if a send shows the device cannot segment after all.
    fn max_gso_segments(&self) -> usize {
        self.state.max_gso_segments()
    }

    /// Sends one batch, waiting for the socket to take it.
    async fn send(&self, batch: &Batch, contents: &[u8]) -> io::Result<()> {
        let transmit = quinn_udp::Transmit {
            destination: batch.destination,
            ecn: None,
            contents,
            segment_size: batch.segment_size,
            src_ip: batch.src_ip,
        };
        loop {
            match self.io.try_io(true, |s| self.state.try_send(s, &transmit)) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    poll_fn(|cx| self.io.poll_send_ready(cx)).await?
                }
                other => return other,
            }
        }
    }

    fn poll_recv_ready(&self, cx: &mut std::task::Context<'_>) -> Poll<io::Result<()>> {
        if self.hot {
            return Poll::Ready(Ok(()));
        }
        self.io.poll_recv_ready(cx)
    }

    /// One receive call without waiting. Calls `each(source, dst_ip, contents, stride)` for
    /// every slot filled; `Ok(false)` when nothing was waiting.
    fn try_recv(
        &mut self,
        mut each: impl FnMut(SocketAddr, Option<IpAddr>, Bytes, usize),
    ) -> io::Result<bool> {
        let mut meta = [RecvMeta::default(); RECV_SLOTS];
        let received = {
            let mut slots = self.buf.slots_mut();
            let mut bufs: [IoSliceMut<'_>; RECV_SLOTS] =
                std::array::from_fn(|_| IoSliceMut::new(slots.next().unwrap_or_default()));
            let state = &self.state;
            self.io
                .try_io(false, |s| state.recv(s, &mut bufs, &mut meta))
        };
        self.hot = received.is_ok();
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

/// An [`Endpoint`] driven over UDP sockets on the runtime `R`: it sends what the endpoint
/// transmits (GSO batches where the OS allows), waits for datagrams or the endpoint's next
/// deadline, feeds them in (`recvmmsg` and GRO through quinn-udp, each datagram its own
/// [`Bytes`] cut from the receive buffer), and hands the endpoint's events to you.
///
/// The runtime crates name it for their runtime (`sansrtc_tokio::UdpDriver<T>`).
/// [`next_event`](UdpDriver::next_event) is cancel safe: dropping it (in a `select!`, or
/// through a timeout) loses no datagram and no transmit, and the next call picks up where
/// it stopped.
#[derive(Debug)]
pub struct UdpDriver<R: Runtime, T> {
    drive: Drive<T>,
    sockets: Vec<Socket<R::Socket>>,
    ready: Vec<usize>,
    timer: R::Timer,
    /// Waits in a row that found the deadline already due and did not wait.
    due_streak: u32,
    /// The endpoint was lent out since the last step: its clock is where the last
    /// datagram or timer left it, and it is set to now before the next drain (what a
    /// command queued is stamped when it is sent; a stale stamp makes an idle time look
    /// like a round trip, or a chunk overdue).
    touched: bool,
    runtime: PhantomData<R>,
}

/// Due deadlines handled in a row without waiting before the driver waits on its timer
/// anyway, which yields to the executor: a machine whose deadline stays due cannot keep
/// the task from ever yielding.
const MAX_DUE_STREAK: u32 = 64;

impl<R: Runtime, T: Endpoint> UdpDriver<R, T> {
    /// Binds one socket per address (port 0 picks a free port) and drives `endpoint` over
    /// them. IPv6 sockets are IPv6-only; bind `0.0.0.0` and `[::]` both for dual stack.
    ///
    /// # Panics
    ///
    /// Where the runtime's reactor is not available (outside a tokio runtime, for tokio).
    pub fn bind(endpoint: T, addrs: &[SocketAddr]) -> io::Result<Self> {
        Self::bind_each(endpoint, addrs, false)
    }

    fn bind_each(endpoint: T, addrs: &[SocketAddr], skip_unavailable: bool) -> io::Result<Self> {
        let mut sockets = Vec::with_capacity(addrs.len());
        for &addr in addrs {
            match Socket::bind::<R>(addr) {
                Ok(s) => sockets.push(s),
                Err(e) if skip_unavailable && e.kind() == io::ErrorKind::AddrNotAvailable => {
                    tracing::debug!(%addr, error = %e, "interface address not bindable, skipped");
                }
                Err(e) => return Err(e),
            }
        }
        if sockets.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no local address to bind",
            ));
        }
        let locals = sockets
            .iter()
            .map(|s| s.io.local_addr())
            .collect::<io::Result<Vec<_>>>()?;
        Ok(UdpDriver {
            drive: Drive::new(endpoint, locals),
            ready: Vec::with_capacity(sockets.len()),
            sockets,
            timer: R::timer(R::now()),
            due_streak: 0,
            touched: false,
            runtime: PhantomData,
        })
    }

    /// Binds every interface address on `port` (0: a free port per socket), skipping
    /// IPv6 link-local ones; see [`bind_interfaces`](UdpDriver::bind_interfaces).
    pub fn bind_all_interfaces(endpoint: T, port: u16) -> io::Result<Self> {
        Self::bind_interfaces(endpoint, port, InterfaceFilter::default())
    }

    /// Binds the interface addresses `filter` selects on `port`. Addresses the system
    /// lists but will not bind yet (an IPv6 address still in duplicate address detection)
    /// are skipped; fails if none is left, or if any other cannot be bound (the port is
    /// taken, say).
    pub fn bind_interfaces(endpoint: T, port: u16, filter: InterfaceFilter) -> io::Result<Self> {
        let interfaces = if_addrs::get_if_addrs()?
            .into_iter()
            .filter(|i| !matches!(i.oper_status, if_addrs::IfOperStatus::Down))
            .map(|i| (i.ip(), i.index));
        let addrs = driver::interface_bind_addrs(interfaces, port, filter);
        Self::bind_each(endpoint, &addrs, true)
    }

    /// The addresses the sockets are bound to, ports resolved, in the order given.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        self.drive.local_addrs()
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &T {
        self.drive.endpoint()
    }

    /// The endpoint, to configure or command between awaits; what it wants to send as a
    /// result goes out on the next [`next_event`](UdpDriver::next_event), which first
    /// feeds it [`Input::Timeout`](sansrtc::io::Input::Timeout) with the runtime's
    /// present time, so what the command queued goes out stamped with it.
    pub fn endpoint_mut(&mut self) -> &mut T {
        self.touched = true;
        self.drive.endpoint_mut()
    }

    /// Closes the sockets and gives the endpoint back.
    pub fn into_endpoint(self) -> T {
        self.drive.into_endpoint()
    }

    /// Traffic counters.
    pub fn stats(&self) -> DriveStats {
        self.drive.stats()
    }

    /// The smallest number of datagrams any socket can send per call: above 1 when every
    /// socket has GSO.
    pub fn max_gso_segments(&self) -> usize {
        self.sockets
            .iter()
            .map(Socket::max_gso_segments)
            .min()
            .unwrap_or(1)
    }

    /// Caps the datagrams per send call; 1 sends every datagram with a call of its own.
    pub fn set_max_gso_segments(&mut self, max: usize) {
        self.drive.set_max_segments(max);
    }

    /// Drives the endpoint until it reports an event, and returns it.
    ///
    /// Fails only if a socket breaks; datagrams the OS refuses to send, and ICMP errors
    /// surfacing on receive, are counted in [`stats`](UdpDriver::stats) instead.
    pub async fn next_event(&mut self) -> io::Result<T::Event> {
        if std::mem::take(&mut self.touched) {
            self.drive.catch_up(R::now());
        }
        loop {
            match self.drive.poll_step() {
                Step::Send { socket } => self.send(socket).await,
                Step::Event(e) => return Ok(e),
                Step::Wait { deadline } => self.wait(deadline).await?,
            }
        }
    }

    /// Drives the endpoint until an event satisfies `pred`, and returns that event;
    /// `None` if `timeout` passes first. Events before it are dropped.
    pub async fn run_until(
        &mut self,
        mut pred: impl FnMut(&T::Event) -> bool,
        timeout: Duration,
    ) -> io::Result<Option<T::Event>> {
        let found = async {
            loop {
                let event = self.next_event().await?;
                if pred(&event) {
                    return Ok(Some(event));
                }
            }
        };
        futures_lite::future::or(found, async {
            R::sleep(timeout).await;
            Ok(None)
        })
        .await
    }

    async fn send(&mut self, socket: usize) {
        let Some(sock) = self.sockets.get(socket) else {
            return;
        };
        while let Some(batch) = self.drive.next_batch(sock.max_gso_segments()) {
            let sent = sock.send(&batch, self.drive.batch_contents(&batch)).await;
            match sent {
                Ok(()) => self.drive.batch_sent(&batch),
                Err(e) => {
                    tracing::debug!(error = %e, destination = %batch.destination, "send failed");
                    self.drive.batch_failed(&batch, sock.max_gso_segments());
                }
            }
        }
    }

    async fn wait(&mut self, deadline: std::time::Instant) -> io::Result<()> {
        let UdpDriver {
            drive,
            sockets,
            ready,
            timer,
            due_streak,
            ..
        } = self;
        ready.clear();
        if deadline <= R::now() && *due_streak < MAX_DUE_STREAK {
            *due_streak += 1;
            // Already due: no waiting. A timer set in the past would still wait for its
            // next tick (tokio's are a millisecond apart), which cost every connection
            // a millisecond of setup. The sockets are still read, without waiting, so a
            // machine that keeps its deadline due cannot starve them.
            ready.extend(0..sockets.len());
        } else {
            *due_streak = 0;
            timer.reset(deadline);
            poll_fn(|cx| {
                ready.clear();
                // Every socket is polled, ready or not, so each keeps a waker registered and
                // a busy one cannot hide the others.
                for (i, s) in sockets.iter().enumerate() {
                    match s.poll_recv_ready(cx) {
                        Poll::Ready(Ok(())) => ready.push(i),
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Pending => {}
                    }
                }
                let expired = timer.poll_expired(cx).is_ready();
                if expired || !ready.is_empty() {
                    Poll::Ready(Ok(()))
                } else {
                    Poll::Pending
                }
            })
            .await?;
        }
        let now = R::now();
        for &i in ready.iter() {
            let Some(sock) = sockets.get_mut(i) else {
                continue;
            };
            let received = sock.try_recv(|source, dst_ip, contents, stride| {
                drive.handle_datagrams(now, i, source, dst_ip, contents, stride)
            });
            match received {
                Ok(true) => drive.receive_done(),
                Ok(false) => {}
                Err(e) if driver::survivable_receive_error(&e) => {
                    tracing::debug!(error = %e, "receive failed");
                    drive.receive_failed();
                }
                Err(e) => return Err(e),
            }
        }
        drive.handle_wake(now);
        Ok(())
    }
}
