//! tokio runtime for sansrtc: UDP sockets and a timer around any sans-IO
//! [`Endpoint`](sansrtc::io::Endpoint).
//!
//! [`UdpDriver`] owns an endpoint and one UDP socket per local address, and runs the loop
//! every sansrtc machine needs: send what it transmits, wait for datagrams or its next
//! deadline, feed them in, and hand its events to you. Sends and receives are batched
//! where the OS allows (GSO, GRO, `recvmmsg` through `quinn-udp`), and every datagram
//! reaches the endpoint as its own `Bytes` cut from the receive buffer.
//!
//! ```
//! use std::collections::VecDeque;
//! use std::net::SocketAddr;
//! use std::time::{Duration, Instant};
//! use bytes::Bytes;
//! use sansrtc::io::{Endpoint, IDLE_TIMEOUT, Input, Output, Protocol, Transmit};
//! use sansrtc_tokio::UdpDriver;
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
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let hello = Hello { from: None, to: None, now: Instant::now(), out: VecDeque::new() };
//! let mut driver = UdpDriver::bind(hello, &["127.0.0.1:0".parse().unwrap()])?;
//! // The port is known once bound; between awaits the endpoint is yours to configure.
//! let me = driver.local_addrs()[0];
//! driver.endpoint_mut().from = Some(me);
//! driver.endpoint_mut().to = Some(me);
//! let got = driver.run_until(|_| true, Duration::from_secs(5)).await?;
//! assert_eq!(got.as_deref(), Some(&b"hello"[..]));
//! # Ok(())
//! # }
//! ```
//!
//! The driver, like everything else that is not tokio's, lives once in
//! [`sansrtc_async`] ([`sansrtc_async::UdpDriver`]); this crate is only
//! [`TokioRuntime`]: tokio's spawn, clock, timer and socket readiness.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

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
/// use sansrtc_tokio::ortc::*;
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
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Error> {
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
/// # Ok(())
/// # }
/// ```
///
/// ## Many peers on one socket
///
/// A server puts every peer's chain on one port with a
/// [`SharedSocket`](ortc::SharedSocket), which one task drives: each server-side gatherer
/// is made with [`IceGatherer::on`](sansrtc_async::IceGatherer::on), and the rest of the
/// chain is as above. Two peers, one after the other, on one server port:
///
/// ```
/// use sansrtc::crypto::default_provider;
/// use sansrtc_tokio::ortc::*;
///
/// struct Chain { gatherer: IceGatherer, ice: IceTransport, dtls: DtlsTransport, sctp: SctpTransport }
///
/// async fn chain(gatherer: IceGatherer, cert: &DtlsCertificate) -> Result<Chain, Error> {
///     gatherer.gather().await?;
///     let ice = IceTransport::new(&gatherer);
///     let dtls = DtlsTransport::new(&ice, vec![cert.clone()])?;
///     let sctp = SctpTransport::new(&dtls, 5000)?;
///     Ok(Chain { gatherer, ice, dtls, sctp })
/// }
///
/// /// Starts `a` with what `b` would signal.
/// async fn start(a: &Chain, b: &Chain, role: IceRole) -> Result<(), Error> {
///     for c in b.gatherer.local_candidates() {
///         a.ice.add_remote_candidate(Some(&c)).await?;
///     }
///     a.ice.add_remote_candidate(None).await?;
///     a.ice.start(&b.gatherer.local_parameters(), role).await?;
///     a.dtls.start(&b.dtls.local_parameters()).await?;
///     a.sctp.start(&b.sctp.capabilities(), 5000).await
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Error> {
/// let server = SharedSocket::bind(&["127.0.0.1:0".parse().unwrap()])?;
/// // One certificate can serve every chain.
/// let cert = DtlsCertificate::generate(&*default_provider()).unwrap();
/// for name in ["alice", "bob"] {
///     let own_socket = IceGathererOptions::bind(["127.0.0.1:0".parse().unwrap()]);
///     let peer = chain(IceGatherer::new(own_socket), &cert).await?;
///     let ours = chain(IceGatherer::on(&server, IceGathererOptions::default()), &cert).await?;
///     assert_eq!(ours.gatherer.local_addresses(), server.local_addrs());
///     let mut incoming = ours.sctp.incoming_channels();
///     let hello = peer.sctp.create_data_channel(DataChannelParameters::new(name))?;
///     let (a, b) = futures_lite::future::zip(
///         start(&peer, &ours, IceRole::Controlling),
///         start(&ours, &peer, IceRole::Controlled),
///     )
///     .await;
///     (a?, b?);
///     hello.send_text(name).await?;
///     let theirs = incoming.next().await.unwrap();
///     assert_eq!(theirs.recv().await, Some(Message::Text(name.into())));
///     // Leaves the socket, which stays open for the next peer.
///     ours.ice.stop().await;
///     peer.ice.stop().await;
/// }
/// assert_eq!(server.chains(), 0);
/// assert!(server.stats().paths_learned >= 2);
/// # Ok(())
/// # }
/// ```
pub mod ortc;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use sansrtc_async::{AsyncTimer, AsyncUdpSocket, Runtime};
pub use sansrtc_async::{DriveStats, InterfaceFilter};
use tokio::io::Interest;

/// An [`Endpoint`](sansrtc::io::Endpoint) driven over UDP sockets on tokio; see
/// [`sansrtc_async::UdpDriver`].
pub type UdpDriver<T> = sansrtc_async::UdpDriver<TokioRuntime, T>;

/// tokio as a [`Runtime`]: its tasks, its clock (so a runtime with paused time drives
/// endpoints in virtual time), its timer and its sockets' readiness.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TokioRuntime;

impl Runtime for TokioRuntime {
    type Timer = Timer;
    type Socket = Socket;

    /// # Panics
    ///
    /// Outside a tokio runtime.
    fn spawn(future: impl Future<Output = ()> + Send + 'static) {
        drop(tokio::spawn(future));
    }

    fn now() -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn timer(at: Instant) -> Timer {
        Timer(Box::pin(tokio::time::sleep_until(at.into())))
    }

    fn wrap_udp_socket(socket: std::net::UdpSocket) -> io::Result<Socket> {
        tokio::net::UdpSocket::from_std(socket).map(Socket)
    }
}

/// tokio's timer, resettable in place.
#[derive(Debug)]
pub struct Timer(Pin<Box<tokio::time::Sleep>>);

impl AsyncTimer for Timer {
    fn reset(&mut self, at: Instant) {
        self.0.as_mut().reset(at.into());
    }

    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

/// A UDP socket registered with tokio's reactor.
#[derive(Debug)]
pub struct Socket(tokio::net::UdpSocket);

impl AsyncUdpSocket for Socket {
    fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_recv_ready(cx)
    }

    fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_send_ready(cx)
    }

    fn try_io<R>(
        &self,
        write: bool,
        call: impl FnOnce(quinn_udp::UdpSockRef<'_>) -> io::Result<R>,
    ) -> io::Result<R> {
        // tokio clears its readiness flag when the call says `WouldBlock`, so the next
        // poll waits for the next edge.
        let interest = if write {
            Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        self.0.try_io(interest, || call((&self.0).into()))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}
