//! async-std runtime for sansrtc: UDP sockets and a timer around any sans-IO
//! [`Endpoint`].
//!
//! [`UdpDriver`] owns an endpoint and one UDP socket per local address, and runs the loop
//! every sansrtc machine needs: send what it transmits, wait for datagrams or its next
//! deadline, feed them in, and hand its events to you. Sends and receives are batched
//! where the OS allows (GSO, GRO, `recvmmsg` through `quinn-udp`), and every datagram
//! reaches the endpoint as its own [`Bytes`](bytes::Bytes) cut from the receive buffer.
//!
//! ```
//! use std::collections::VecDeque;
//! use std::net::SocketAddr;
//! use std::time::{Duration, Instant};
//! use bytes::Bytes;
//! use sansrtc::io::{Endpoint, IDLE_TIMEOUT, Input, Output, Protocol, Transmit};
//! use sansrtc_async_std::UdpDriver;
//!
//! /// Sends "hello" from `from` to `to` once both are set; reports what it receives.
//! struct Hello { from: Option<SocketAddr>, to: Option<SocketAddr>, now: Instant, out: VecDeque<Bytes> }
//!
//! impl Endpoint for Hello {
//!     type Event = Bytes;
//!     fn handle_input(&mut self, input: Input) {
//!         self.now = self.now.max(input.now());
//!         match input {
//!             Input::Receive(r) => self.out.push_back(r.contents),
//!             Input::Timeout(_) => {} // no timers of its own
//!         }
//!     }
//!     fn poll_output(&mut self) -> Output<Bytes> {
//!         if let (Some(from), Some(to)) = (self.from, self.to.take()) {
//!             let hello = Bytes::from_static(b"hello");
//!             return Output::Transmit(Transmit::single(Protocol::Udp, from, to, hello));
//!         }
//!         match self.out.pop_front() {
//!             Some(got) => Output::Event(got),
//!             None => Output::Timeout(self.now + IDLE_TIMEOUT),
//!         }
//!     }
//! }
//!
//! # async_std::task::block_on(async {
//! let hello = Hello { from: None, to: None, now: Instant::now(), out: VecDeque::new() };
//! let mut driver = UdpDriver::bind(hello, &["127.0.0.1:0".parse().unwrap()])?;
//! // The port is known once bound; between awaits the endpoint is yours to configure.
//! let me = driver.local_addrs()[0];
//! driver.endpoint_mut().from = Some(me);
//! driver.endpoint_mut().to = Some(me);
//! let got = driver.run_until(|_| true, Duration::from_secs(5)).await?;
//! assert_eq!(got.as_deref(), Some(&b"hello"[..]));
//! # std::io::Result::Ok(())
//! # }).unwrap();
//! ```
//!
//! All decisions (which socket a transmit leaves from, how it is cut into GSO batches,
//! when the endpoint hears the time) are made by [`sansrtc::driver::Drive`], shared with
//! `sansrtc-tokio`; this crate is the socket and timer glue around it.
//!
//! Sockets and timers are async-io's (`Async<UdpSocket>`, `Timer`): async-std's own
//! reactor, and smol's. Only the small private `runtime` module names async-std; it is the
//! seam a smol adapter would replace.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod runtime;
mod socket;

/// The ORTC objects aiortc users know — [`IceGatherer`](ortc::IceGatherer) →
/// [`IceTransport`](ortc::IceTransport) → [`DtlsTransport`](ortc::DtlsTransport) →
/// [`SctpTransport`](ortc::SctpTransport) → [`DataChannel`](ortc::DataChannel) — with
/// async methods, over the sans-IO [`sansrtc::ortc`] chain and a [`UdpDriver`].
///
/// Two chains in one process connect over loopback and exchange a message; each side
/// hands its parameters to the other as JSON, in the shapes aiortc uses:
///
/// ```
/// use sansrtc::crypto::default_provider;
/// use serde_json::{Value, json};
/// use sansrtc_async_std::ortc::*;
///
/// /// One side's chain, built the way aiortc's ORTC examples build theirs.
/// struct Peer { gatherer: IceGatherer, ice: IceTransport, dtls: DtlsTransport, sctp: SctpTransport }
///
/// impl Peer {
///     async fn new() -> Result<Peer, Error> {
///         let gatherer = IceGatherer::new(IceGathererOptions::bind(["127.0.0.1:0".parse().unwrap()]));
///         gatherer.gather().await?;
///         let ice = IceTransport::new(&gatherer);
///         let certificate = DtlsCertificate::generate(&*default_provider()).unwrap();
///         let dtls = DtlsTransport::new(&ice, vec![certificate])?;
///         let sctp = SctpTransport::new(&dtls, 5000)?;
///         Ok(Peer { gatherer, ice, dtls, sctp })
///     }
///
///     fn signal(&self) -> String {
///         json!({
///             "ice": self.gatherer.local_parameters(),
///             "candidates": self.gatherer.local_candidates(),
///             "dtls": self.dtls.local_parameters(),
///             "sctp": self.sctp.capabilities(),
///         })
///         .to_string()
///     }
///
///     async fn start(&self, remote: &str, role: IceRole) -> Result<(), Error> {
///         let remote: Value = serde_json::from_str(remote).unwrap();
///         let candidates: Vec<IceCandidate> = serde_json::from_value(remote["candidates"].clone()).unwrap();
///         for c in &candidates {
///             self.ice.add_remote_candidate(Some(c)).await?;
///         }
///         self.ice.add_remote_candidate(None).await?;
///         self.ice.start(&serde_json::from_value(remote["ice"].clone()).unwrap(), role).await?;
///         self.dtls.start(&serde_json::from_value(remote["dtls"].clone()).unwrap()).await?;
///         self.sctp.start(&serde_json::from_value(remote["sctp"].clone()).unwrap(), 5000).await
///     }
/// }
///
/// # async_std::task::block_on(async {
/// let (a, b) = (Peer::new().await?, Peer::new().await?);
/// let (to_a, to_b) = (b.signal(), a.signal());
/// let mut incoming = b.sctp.incoming_channels();
/// // Usable at once: it opens with the association, and sends wait for that.
/// let chat = a.sctp.create_data_channel(DataChannelParameters::new("chat"))?;
/// // ICE needs both ends checking, so both start together.
/// let (started_a, started_b) = futures_lite::future::zip(
///     a.start(&to_a, IceRole::Controlling),
///     b.start(&to_b, IceRole::Controlled),
/// )
/// .await;
/// (started_a?, started_b?);
/// chat.send_text("hello").await?;
/// let theirs = incoming.next().await.unwrap();
/// assert_eq!(theirs.label(), "chat");
/// assert_eq!(theirs.recv().await, Some(Message::Text("hello".into())));
/// // Stopping ICE stops every layer, closes the sockets and ends the chain's task.
/// a.ice.stop().await;
/// b.ice.stop().await;
/// # Ok::<(), Error>(())
/// # }).unwrap();
/// ```
pub mod ortc;

use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use sansrtc::driver::{self, Drive, Step};
pub use sansrtc::driver::{DriveStats, InterfaceFilter};
use sansrtc::io::Endpoint;

use crate::socket::Socket;

/// An [`Endpoint`] driven over UDP sockets on async-std.
///
/// [`next_event`](UdpDriver::next_event) is cancel safe: dropping it (in a race, or
/// through a timeout) loses no datagram and no transmit, and the next call picks up where
/// it stopped.
#[derive(Debug)]
pub struct UdpDriver<T> {
    drive: Drive<T>,
    sockets: Vec<Socket>,
    ready: Vec<usize>,
    timer: async_io::Timer,
}

impl<T: Endpoint> UdpDriver<T> {
    /// Binds one socket per address (port 0 picks a free port) and drives `endpoint` over
    /// them. IPv6 sockets are IPv6-only; bind `0.0.0.0` and `[::]` both for dual stack.
    pub fn bind(endpoint: T, addrs: &[SocketAddr]) -> io::Result<Self> {
        Self::bind_each(endpoint, addrs, false)
    }

    fn bind_each(endpoint: T, addrs: &[SocketAddr], skip_unavailable: bool) -> io::Result<Self> {
        let mut sockets = Vec::with_capacity(addrs.len());
        for &addr in addrs {
            match Socket::bind(addr) {
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
            .map(Socket::local_addr)
            .collect::<io::Result<Vec<_>>>()?;
        Ok(UdpDriver {
            drive: Drive::new(endpoint, locals),
            ready: Vec::with_capacity(sockets.len()),
            sockets,
            timer: async_io::Timer::never(),
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
    /// result goes out on the next [`next_event`](UdpDriver::next_event).
    pub fn endpoint_mut(&mut self) -> &mut T {
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
        loop {
            match self.drive.poll_step() {
                Step::Send { socket } => self.send(socket).await,
                Step::Event(e) => return Ok(e),
                Step::Wait { deadline } => self.wait(Some(deadline)).await?,
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
                    return Ok(event);
                }
            }
        };
        match runtime::timeout(timeout, found).await {
            Some(result) => result.map(Some),
            None => Ok(None),
        }
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

    async fn wait(&mut self, deadline: Option<Instant>) -> io::Result<()> {
        let UdpDriver {
            drive,
            sockets,
            ready,
            timer,
        } = self;
        if let Some(at) = deadline {
            timer.set_at(at);
        }
        poll_fn(|cx| {
            ready.clear();
            // Every socket is polled, ready or not, so each keeps a waker registered and
            // a busy one cannot hide the others.
            for (i, s) in sockets.iter().enumerate() {
                match s.poll_readable(cx) {
                    Poll::Ready(Ok(())) => ready.push(i),
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => {}
                }
            }
            let expired = deadline.is_some() && Pin::new(&mut *timer).poll(cx).is_ready();
            if expired || !ready.is_empty() {
                Poll::Ready(Ok(()))
            } else {
                Poll::Pending
            }
        })
        .await?;
        let now = runtime::now();
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
