//! smol runtime for sansrtc: UDP sockets and a timer around any sans-IO
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
//! use sansrtc_smol::UdpDriver;
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
//! # smol::block_on(async {
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
//! The driver, like everything else that is not smol's, lives once in
//! [`sansrtc_async`] ([`sansrtc_async::UdpDriver`]); sockets and timers are
//! async-io's (smol's reactor, and async-std's), so this crate is only
//! [`SmolRuntime`]: smol's spawn over them. smol is async-std's successor upstream.

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
/// use sansrtc_smol::ortc::*;
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
/// # smol::block_on(async {
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

use std::future::Future;
use std::io;
use std::time::Instant;

use sansrtc_async::{AsyncIoSocket, AsyncIoTimer, Runtime};
pub use sansrtc_async::{DriveStats, InterfaceFilter};

/// An [`Endpoint`](sansrtc::io::Endpoint) driven over UDP sockets on smol; see
/// [`sansrtc_async::UdpDriver`].
pub type UdpDriver<T> = sansrtc_async::UdpDriver<SmolRuntime, T>;

/// smol as a [`Runtime`]: tasks on its global executor, over async-io's timer and
/// sockets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SmolRuntime;

impl Runtime for SmolRuntime {
    type Timer = AsyncIoTimer;
    type Socket = AsyncIoSocket;

    fn spawn(future: impl Future<Output = ()> + Send + 'static) {
        smol::spawn(future).detach();
    }

    fn now() -> Instant {
        // async-io's timers run on the standard clock.
        Instant::now()
    }

    fn timer(at: Instant) -> AsyncIoTimer {
        AsyncIoTimer::at(at)
    }

    fn wrap_udp_socket(socket: std::net::UdpSocket) -> io::Result<AsyncIoSocket> {
        AsyncIoSocket::new(socket)
    }
}
