//! The async ORTC objects aiortc users know — [`IceGatherer`] → [`IceTransport`] →
//! [`DtlsTransport`] → [`SctpTransport`] → [`DataChannel`] — over the sans-IO
//! [`sansrtc::ortc`] chain, written once for any async runtime.
//!
//! This crate names no runtime: the handles are generic over a [`Runtime`], which spawns
//! the chain's task, sleeps, and supplies the UDP [`Driver`]. Use it through a runtime
//! crate, which fixes the parameter: `sansrtc_tokio::ortc` and `sansrtc_async_std::ortc`
//! re-export everything here with `IceGatherer = IceGatherer<TheirRuntime>` and so on,
//! and show a complete chain in their module docs.
//!
//! # How it works
//!
//! One task per chain owns the runtime's UDP [`Driver`] over the sans-IO
//! [`sansrtc::ortc`] chain (GSO/GRO batching included) and serves commands that the handles
//! ([`IceGatherer`], [`IceTransport`], [`DtlsTransport`], [`SctpTransport`],
//! [`DataChannel`]) send it over a queue; each handle is a cheap clone of the same link.
//! The task publishes what the chain reports into a snapshot the handles read
//! synchronously (`state()`, `buffered_amount()`, …) and wait on (`start().await`,
//! `open().await`), and into streams ([`Events`]) for state changes, channel events,
//! incoming channels and messages.
//!
//! The core objects own the one below them, so `IceTransport::new(&gatherer)` and the other
//! constructors wrap the task's outermost object in the next one; a second transport over
//! the same lower one is refused (or, for ICE, is the same transport).
//!
//! Nothing is bound until [`IceGatherer::gather`] (or the first call that needs the
//! network, which gathers with the gatherer's options).
//!
//! ## Back-pressure
//!
//! [`DataChannel::send_binary`] and [`DataChannel::send_text`] resolve once the message
//! has been handed to SCTP. The task hands a message over only while the channel's
//! `bufferedAmount` is at or below its [high-water
//! mark](crate::DataChannel::set_high_water_mark) ([`DEFAULT_HIGH_WATER_MARK`] unless
//! set), so `bufferedAmount` never exceeds the mark by more than one message and a sender
//! that awaits each send holds at most one message in memory besides what SCTP buffers.
//! Sends that wait are served in order, and are woken by acknowledgements: after every
//! batch of datagrams the chain reports each changed buffered amount, whatever the
//! application's `bufferedAmountLowThreshold` is. A send fails with
//! [`Error::ChannelClosed`] (it is never dropped silently) if the channel closes first;
//! dropping a waiting send future withdraws the message. Sends before the channel is open
//! wait for it to open.
//!
//! ## Shutdown
//!
//! [`IceTransport::stop`] (or [`IceGatherer::stop`]) stops every layer (SCTP ABORT, DTLS
//! close_notify, ICE), lets those go out, closes the sockets and ends the task; it
//! resolves once the sockets are closed. [`DtlsTransport::stop`] and
//! [`SctpTransport::stop`] stop their layer and those above it, as in ORTC, and leave ICE
//! running. When the last handle (including streams) is dropped the task stops the same
//! way on its own.
//!
//! ## Receive flow control
//!
//! Messages that arrive wait in their channel's queue until the application takes them
//! with [`DataChannel::recv`] or a [`Messages`] stream, and until then they keep their
//! room in the SCTP receive window (core's `SctpConfig::deferred_release`): taking a
//! message hands its bytes back, and the peer hears that the window reopened. So a
//! reader that stops holds the peer back instead of queueing what it sends: the unread
//! bytes of every channel together, plus messages still being reassembled, never
//! exceed the [receive window](ReceiveLimits::receive_window)
//! ([`DEFAULT_RECEIVE_WINDOW`], 4 MiB, unless set with
//! [`SctpTransport::with_limits`]), and the peer's sends wait at its high-water mark.
//! The window is shared: one channel left unread stalls every channel of the
//! association once it fills, as in any SCTP stack.
//!
//! - **Nobody can read it**: once every handle and [`Messages`] stream of a channel is
//!   dropped, its unread messages and any that arrive later are dropped and their room
//!   handed back at once (W3C drops messages that have no listener), so it cannot stall
//!   the others. A channel the peer opened counts as read until it has been taken from
//!   [`SctpTransport::incoming_channels`]: its messages wait for that.
//! - **Closed channels**: what was queued stays readable after the channel closes;
//!   `recv` returns `None` once it is read, and each message's room is handed back as
//!   it is read (or when the last reader goes).
//! - **Tiny messages**: the window counts bytes, and an empty message holds none of it,
//!   so the queue is also bounded per channel ([`DEFAULT_MAX_CHANNEL_UNREAD`]) and per
//!   connection ([`DEFAULT_MAX_UNREAD`]), counting each message as its size plus 64
//!   bytes. Data the window admits cannot reach them unless messages average under 64
//!   bytes; a message that would break one is dropped, the channel is closed and
//!   [`ChannelEvent::ReceiveOverflow`] says so (it is never dropped unannounced).
//!   Messages that fit in a datagram are copied out of it, so a queued message holds
//!   its own size, not its datagram's.
//! - **Channels themselves**: the chain keeps a channel's state while it is not yet
//!   closed, while it has unread messages, and while a handle or [`Messages`] stream of
//!   it lives; then it forgets it. A channel the peer opened and closed with nothing
//!   unread before it was taken from [`SctpTransport::incoming_channels`] is forgotten
//!   too, and never comes out of that stream, so a peer that opens and closes channels
//!   without end grows nothing.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod actor;
#[cfg(feature = "async-io")]
mod async_io;
mod chain;
pub mod driver;
mod runtime;
mod state;
mod udp;

use std::future::Future;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use async_channel::Receiver;
use bytes::Bytes;
use futures_lite::Stream;
use sansrtc::datachannel::DataChannelError;
pub use sansrtc::datachannel::DataChannelState;
pub use sansrtc::dtls::{CipherSuite, DtlsCertificate, DtlsError, DtlsRole, DtlsVersion};
pub use sansrtc::ice::IceFailure;
pub use sansrtc::ice::{IceConnectionState, IceGatheringState};
pub use sansrtc::ortc::{
    DataChannelParameters, DtlsFingerprint, DtlsParameters, DtlsRoleParam, DtlsTransportState,
    IceCandidate, IceParameters, IceRole, OrtcError, SctpCapabilities, SctpTransportState,
};
pub use sansrtc::srtp::SrtpProfile;

#[cfg(feature = "async-io")]
pub use self::async_io::{AsyncIoSocket, AsyncIoTimer};
pub use self::driver::{DriveStats, InterfaceFilter};
pub use self::runtime::{AsyncTimer, AsyncUdpSocket, Runtime};
pub use self::udp::UdpDriver;

use self::actor::Command;
use self::chain::{Chain, Stage};
use self::state::{ChannelEntry, Incoming, Launch, Link, Reader, Shared, Snapshot, Taken};

/// The `bufferedAmount` above which sends wait, unless
/// [`DataChannel::set_high_water_mark`] says otherwise: 1 MiB, several round trips of
/// data at the rates a data channel usually carries.
pub const DEFAULT_HIGH_WATER_MARK: usize = 1 << 20;

/// [`ReceiveLimits::receive_window`] unless set: 4 MiB, core's default window (several
/// round trips at a few hundred Mbit/s).
pub const DEFAULT_RECEIVE_WINDOW: u32 = 4 << 20;

/// [`ReceiveLimits::max_channel_unread`] unless set: 8 MiB, twice the default window, so
/// a channel of messages averaging 64 bytes or more never reaches it.
pub const DEFAULT_MAX_CHANNEL_UNREAD: usize = 8 << 20;

/// [`ReceiveLimits::max_unread`] unless set: 16 MiB.
pub const DEFAULT_MAX_UNREAD: usize = 16 << 20;

/// How much a chain holds of messages the application has not read; see the [crate
/// docs](crate#receive-flow-control).
///
/// The window is the bound that holds the peer back without loss. The other two count
/// each unread message as its size plus a fixed 64 bytes (its queue slot and
/// allocation, roughly): data alone cannot reach them with the defaults, only floods of
/// tiny or empty messages (an empty message holds nothing of the window), and a message
/// that would break one is dropped and its channel closed, with
/// [`ChannelEvent::ReceiveOverflow`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiveLimits {
    /// The SCTP receive window, in bytes: it bounds the unread message bytes of every
    /// channel together, plus messages still being reassembled, because a message's
    /// room in it opens only when the application takes the message. Core never makes
    /// it smaller than the largest message it takes plus 64 KiB (320 KiB).
    pub receive_window: u32,
    /// Per channel: unread bytes plus 64 per message.
    pub max_channel_unread: usize,
    /// Per connection: unread bytes plus 64 per message, every channel together.
    pub max_unread: usize,
}

impl Default for ReceiveLimits {
    fn default() -> Self {
        ReceiveLimits {
            receive_window: DEFAULT_RECEIVE_WINDOW,
            max_channel_unread: DEFAULT_MAX_CHANNEL_UNREAD,
            max_unread: DEFAULT_MAX_UNREAD,
        }
    }
}

/// How long [`SctpTransport::stop`] waits for the peer to confirm the shutdown.
const SCTP_STOP_TIMEOUT: Duration = Duration::from_secs(3);

/// What went wrong with an ORTC call.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The sans-IO chain refused the call (bad parameters, wrong order).
    #[error(transparent)]
    Ortc(#[from] OrtcError),
    /// Binding a socket failed, or a socket broke and ended the chain.
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    /// ICE found no working candidate pair, or lost consent.
    #[error("ICE failed: {0}")]
    IceFailed(IceFailure),
    /// The DTLS handshake or session failed (no common suite, fingerprint mismatch,
    /// timeout, an alert from the peer).
    #[error("DTLS failed: {0}")]
    DtlsFailed(DtlsError),
    /// The transport was stopped (or every handle dropped) before the call finished.
    #[error("the transport is closed")]
    Closed,
    /// The data channel closed before the call finished.
    #[error("the data channel is closed")]
    ChannelClosed,
    /// The data channel could not be created once SCTP started (its id was taken, say).
    #[error("data channel not created: {0}")]
    ChannelNotCreated(String),
    /// A second DTLS or SCTP transport over the same transport.
    #[error("a {0} transport was already created over this transport")]
    AlreadyCreated(&'static str),
}

impl From<DataChannelError> for Error {
    fn from(e: DataChannelError) -> Self {
        Error::Ortc(OrtcError::DataChannel(e))
    }
}

/// A data channel message: W3C tells strings from binary data, and so do we.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Sent as a string (PPID 51, or 56 when empty).
    Text(String),
    /// Sent as binary (PPID 53, or 57 when empty).
    Binary(Bytes),
}

impl Message {
    /// Whether it is a string.
    pub fn is_text(&self) -> bool {
        matches!(self, Message::Text(_))
    }

    /// The payload bytes (UTF-8 for text).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) => b,
        }
    }

    /// Payload length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the payload is empty (an empty message is still a message).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<&str> for Message {
    fn from(s: &str) -> Self {
        Message::Text(s.to_owned())
    }
}

impl From<String> for Message {
    fn from(s: String) -> Self {
        Message::Text(s)
    }
}

impl From<Bytes> for Message {
    fn from(b: Bytes) -> Self {
        Message::Binary(b)
    }
}

impl From<Vec<u8>> for Message {
    fn from(b: Vec<u8>) -> Self {
        Message::Binary(b.into())
    }
}

/// A data channel's events (W3C `open`, `bufferedamountlow`, `closing`, `close`);
/// messages come from [`DataChannel::recv`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelEvent {
    /// The channel opened.
    Open,
    /// `bufferedAmount` fell to or below `bufferedAmountLowThreshold`.
    BufferedAmountLow,
    /// Closing started, by either end.
    Closing,
    /// The channel is closed; the stream ends after this.
    Closed,
    /// The peer sent more than the [`ReceiveLimits`] allow while nothing was read (a
    /// flood of tiny messages): the message that did not fit and any after it are
    /// dropped, and the channel is closed. What was queued before stays readable.
    ReceiveOverflow,
}

/// A stream of events or messages from the chain. Each stream gets what happens after
/// it was made (incoming channels and messages: what nobody else has taken). It ends
/// when its source closes. Holding one keeps the chain running.
pub struct Events<T> {
    // Boxed: the receiver is not `Unpin`, and a stream should be.
    rx: Pin<Box<Receiver<T>>>,
    _link: Link,
}

impl<T> std::fmt::Debug for Events<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("queued", &self.rx.len())
            .finish_non_exhaustive()
    }
}

impl<T> Events<T> {
    fn new(rx: Receiver<T>, link: &Link) -> Self {
        Events {
            rx: Box::pin(rx),
            _link: link.clone(),
        }
    }

    /// The next item; `None` once the source has closed and everything queued is read.
    pub async fn next(&mut self) -> Option<T> {
        self.rx.recv().await.ok()
    }

    /// The next item if one is queued now.
    pub fn try_next(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

impl<T> Stream for Events<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().rx.as_mut().poll_next(cx)
    }
}

/// How an [`IceGatherer`] binds and gathers.
#[derive(Debug, Clone, Default)]
pub struct IceGathererOptions {
    /// Addresses to bind one UDP socket each (port 0: a free port). Empty: every
    /// interface address that `interface_filter` selects, IPv4 and IPv6.
    pub addresses: Vec<SocketAddr>,
    /// Port for every interface address when `addresses` is empty (0: a free port each).
    pub port: u16,
    /// Which interface addresses to bind when `addresses` is empty.
    pub interface_filter: InterfaceFilter,
    /// STUN servers to learn server-reflexive candidates from.
    pub stun_servers: Vec<SocketAddr>,
    /// Seed for ICE credentials and tie-breaker, and for the DTLS and SCTP layers above;
    /// random when `None` (set it only for reproducible tests).
    pub seed: Option<u64>,
    /// Run as an ICE-lite agent.
    pub lite: bool,
    /// Pacing of connectivity checks (RFC 8445 §14.2, Ta); `None` keeps core's default.
    pub ta: Option<Duration>,
}

impl IceGathererOptions {
    /// Bind exactly these addresses (no interface enumeration).
    pub fn bind(addresses: impl IntoIterator<Item = SocketAddr>) -> Self {
        IceGathererOptions {
            addresses: addresses.into_iter().collect(),
            ..Default::default()
        }
    }
}

/// A seed for the layers' random choices (credentials, tags, DTLS randoms). Core's
/// default seed is fixed, for reproducible simulations; on a network every chain needs
/// its own.
fn random_seed() -> u64 {
    let mut b = [0u8; 8];
    if sansrtc::crypto::default_provider()
        .fill_random(&mut b)
        .is_err()
    {
        use std::hash::{BuildHasher, RandomState};
        return RandomState::new().hash_one(std::time::SystemTime::now());
    }
    u64::from_le_bytes(b)
}

/// Binds the sockets, gathers host candidates and starts the chain's task, once.
fn launch<R: Runtime>(link: &Link) -> Result<(), Error> {
    let shared = &link.shared;
    let mut slot = shared.launch.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(Launch {
        mut gatherer,
        options,
        commands,
    }) = slot.take()
    else {
        return Ok(());
    };
    let bound = if options.addresses.is_empty() {
        UdpDriver::<R, Chain>::bind_interfaces(
            Chain::new(R::now()),
            options.port,
            options.interface_filter,
        )
    } else {
        UdpDriver::<R, Chain>::bind(Chain::new(R::now()), &options.addresses)
    };
    let gathered = bound.map_err(Error::from).and_then(|driver| {
        gatherer.gather(driver.local_addrs())?;
        Ok(driver)
    });
    let mut driver = match gathered {
        Ok(d) => d,
        Err(e) => {
            *slot = Some(Launch {
                gatherer,
                options,
                commands,
            });
            return Err(e);
        }
    };
    let (addrs, candidates, gathering) = (
        driver.local_addrs().to_vec(),
        gatherer.local_candidates(),
        gatherer.state(),
    );
    driver.endpoint_mut().stage = Stage::Gatherer(gatherer);
    shared.update(|s| {
        s.launched = true;
        s.local_addrs = addrs;
        s.local_candidates = candidates;
        s.gathering = gathering;
    });
    R::spawn(actor::run::<R>(driver, commands, shared.clone()));
    Ok(())
}

impl Link {
    /// Stops everything and waits until the sockets are closed.
    async fn shutdown(&self) {
        let never_launched = self
            .shared
            .launch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .is_some();
        if never_launched {
            actor::mark_done(&self.shared);
        }
        let _ = self.post(Command::Shutdown);
        self.shared.wait_for(|s| s.done.then_some(())).await;
    }

    /// Queues a command if the task runs or will run; a stopped chain ignores it.
    fn post_quietly(&self, command: Command) {
        let _ = self.post(command);
    }
}

/// `RTCIceGatherer`: binds the UDP sockets and gathers local candidates.
///
/// Clones are handles to the same gatherer.
#[derive(Debug, Clone)]
pub struct IceGatherer<R> {
    link: Link,
    runtime: PhantomData<fn() -> R>,
}

impl<R: Runtime> IceGatherer<R> {
    /// A gatherer with fresh credentials; nothing is bound until
    /// [`gather`](IceGatherer::gather).
    pub fn new(options: IceGathererOptions) -> Self {
        let seed = options.seed.unwrap_or_else(random_seed);
        let core = sansrtc::ortc::IceGatherer::new(
            sansrtc::ortc::IceGathererConfig {
                seed: Some(seed),
                stun_servers: options.stun_servers.clone(),
                lite: options.lite,
                ta: options.ta,
                ..Default::default()
            },
            R::now(),
        );
        let (shared, commands) = Shared::new(core, options);
        IceGatherer {
            link: Link { shared, commands },
            runtime: PhantomData,
        }
    }

    /// `gather()`: binds the sockets and resolves once gathering is complete (host
    /// candidates at once; server-reflexive ones when every STUN server has answered or
    /// timed out). Calling it again waits for the same gathering.
    pub async fn gather(&self) -> Result<(), Error> {
        launch::<R>(&self.link)?;
        self.link
            .shared
            .wait_for(|s| match s.gathering {
                IceGatheringState::Complete => Some(Ok(())),
                _ if s.done => Some(Err(s.closed_error())),
                _ => None,
            })
            .await
    }

    /// `getLocalParameters()`: available before gathering.
    pub fn local_parameters(&self) -> IceParameters {
        self.link.shared.read(|s| s.ice_parameters.clone())
    }

    /// `getLocalCandidates()`: what has been gathered so far.
    pub fn local_candidates(&self) -> Vec<IceCandidate> {
        self.link.shared.read(|s| s.local_candidates.clone())
    }

    /// The addresses the sockets are bound to (empty before gathering).
    pub fn local_addresses(&self) -> Vec<SocketAddr> {
        self.link.shared.read(|s| s.local_addrs.clone())
    }

    /// `state`.
    pub fn state(&self) -> IceGatheringState {
        self.link.shared.read(|s| s.gathering)
    }

    /// `onstatechange`: gathering states from now on.
    pub fn state_changes(&self) -> Events<IceGatheringState> {
        let rx = self.link.shared.update(|s| s.gathering_events.subscribe());
        Events::new(rx, &self.link)
    }

    /// Stops the whole chain and closes the sockets; see [`IceTransport::stop`].
    pub async fn stop(&self) {
        self.link.shutdown().await;
    }
}

/// `RTCIceTransport`: connectivity checks and the selected pair.
#[derive(Debug, Clone)]
pub struct IceTransport<R> {
    link: Link,
    runtime: PhantomData<fn() -> R>,
}

impl<R: Runtime> IceTransport<R> {
    /// `new RTCIceTransport(gatherer)`. A gatherer has one ICE transport: calling this
    /// again returns another handle to it.
    pub fn new(gatherer: &IceGatherer<R>) -> Self {
        let link = gatherer.link.clone();
        if link
            .shared
            .update(|s| !std::mem::replace(&mut s.ice_created, true))
        {
            link.post_quietly(Command::CreateIce);
        }
        IceTransport {
            link,
            runtime: PhantomData,
        }
    }

    /// `start(remoteParameters, role)`: resolves once ICE is connected; fails with
    /// [`Error::IceFailed`] if no pair works. Add the remote candidates before or while
    /// it waits. Gathers first if [`IceGatherer::gather`] was not called.
    pub async fn start(&self, remote: &IceParameters, role: IceRole) -> Result<(), Error> {
        let remote = remote.clone();
        self.link
            .call::<R, _>(|reply| Command::IceStart {
                remote,
                role,
                reply,
            })
            .await?;
        self.link
            .shared
            .wait_for(|s| match s.ice_state {
                IceConnectionState::Connected | IceConnectionState::Completed => Some(Ok(())),
                IceConnectionState::Failed => Some(Err(Error::IceFailed(
                    s.ice_failure.unwrap_or(IceFailure::NoWorkingPair),
                ))),
                IceConnectionState::Closed => Some(Err(s.closed_error())),
                _ if s.done => Some(Err(s.closed_error())),
                _ => None,
            })
            .await
    }

    /// `addRemoteCandidate(candidate)`; `None` means the peer has no more candidates.
    pub async fn add_remote_candidate(
        &self,
        candidate: Option<&IceCandidate>,
    ) -> Result<(), Error> {
        let candidate = candidate.cloned();
        self.link
            .call::<R, _>(|reply| Command::AddRemoteCandidate { candidate, reply })
            .await
    }

    /// `state` (`RTCIceTransportState`).
    pub fn state(&self) -> IceConnectionState {
        self.link.shared.read(|s| s.ice_state)
    }

    /// `onstatechange`: states from now on.
    pub fn state_changes(&self) -> Events<IceConnectionState> {
        let rx = self.link.shared.update(|s| s.ice_events.subscribe());
        Events::new(rx, &self.link)
    }

    /// `role`: `None` before `start`; follows role conflicts after.
    pub fn role(&self) -> Option<IceRole> {
        self.link.shared.read(|s| s.ice_role)
    }

    /// `getSelectedCandidatePair()`: (local, remote).
    pub fn selected_candidate_pair(&self) -> Option<(IceCandidate, IceCandidate)> {
        self.link.shared.read(|s| s.selected_pair.clone())
    }

    /// `iceGatherer`.
    pub fn gatherer(&self) -> IceGatherer<R> {
        IceGatherer {
            link: self.link.clone(),
            runtime: PhantomData,
        }
    }

    /// `stop()`: stops every layer (the peer hears SCTP ABORT and DTLS close_notify),
    /// closes the sockets and ends the chain's task; resolves once the sockets are
    /// closed.
    pub async fn stop(&self) {
        self.link.shutdown().await;
    }
}

/// `RTCDtlsTransport`: the DTLS session over an ICE transport.
#[derive(Debug, Clone)]
pub struct DtlsTransport<R> {
    link: Link,
    runtime: PhantomData<fn() -> R>,
}

impl<R: Runtime> DtlsTransport<R> {
    /// `new RTCDtlsTransport(iceTransport, certificates)`: the first certificate is
    /// presented. Fails without certificates, or if the ICE transport has one already.
    pub fn new(
        transport: &IceTransport<R>,
        certificates: Vec<DtlsCertificate>,
    ) -> Result<Self, Error> {
        if certificates.is_empty() {
            return Err(OrtcError::InvalidParameters(
                "a DTLS transport needs at least one certificate".into(),
            )
            .into());
        }
        let link = transport.link.clone();
        if link
            .shared
            .update(|s| std::mem::replace(&mut s.dtls_created, true))
        {
            return Err(Error::AlreadyCreated("DTLS"));
        }
        let local =
            DtlsParameters::for_certificates(&certificates, &*sansrtc::crypto::default_provider());
        link.shared.update(|s| s.dtls_local = Some(local));
        // Its seed derives from the gatherer's (`IceGathererOptions::seed`), in core.
        link.post_quietly(Command::CreateDtls { certificates });
        Ok(DtlsTransport {
            link,
            runtime: PhantomData,
        })
    }

    /// `getLocalParameters()`: SHA-256 fingerprints, role `auto`.
    pub fn local_parameters(&self) -> DtlsParameters {
        self.link
            .shared
            .read(|s| s.dtls_local.clone())
            .unwrap_or(DtlsParameters {
                fingerprints: Vec::new(),
                role: DtlsRoleParam::Auto,
            })
    }

    /// `start(remoteParameters)`: resolves once the handshake is done and the peer's
    /// certificate matches; fails with [`Error::DtlsFailed`] otherwise. Start ICE first:
    /// with `auto` roles the ICE role picks the DTLS role.
    pub async fn start(&self, remote: &DtlsParameters) -> Result<(), Error> {
        let remote = remote.clone();
        self.link
            .call::<R, _>(|reply| Command::DtlsStart { remote, reply })
            .await?;
        self.link
            .shared
            .wait_for(|s| match s.dtls_state {
                DtlsTransportState::Connected => Some(Ok(())),
                DtlsTransportState::Failed => Some(Err(Error::DtlsFailed(
                    s.dtls_error.clone().unwrap_or(DtlsError::Timeout),
                ))),
                DtlsTransportState::Closed => Some(Err(s.closed_error())),
                _ if s.done => Some(Err(s.closed_error())),
                _ => None,
            })
            .await
    }

    /// `state`.
    pub fn state(&self) -> DtlsTransportState {
        self.link.shared.read(|s| s.dtls_state)
    }

    /// `onstatechange`: states from now on.
    pub fn state_changes(&self) -> Events<DtlsTransportState> {
        let rx = self.link.shared.update(|s| s.dtls_events.subscribe());
        Events::new(rx, &self.link)
    }

    /// The role taken at `start` (`None` before).
    pub fn role(&self) -> Option<DtlsRole> {
        self.link.shared.read(|s| s.dtls_role)
    }

    /// The negotiated cipher suite, once connected.
    pub fn cipher_suite(&self) -> Option<CipherSuite> {
        self.link.shared.read(|s| s.cipher_suite)
    }

    /// The negotiated DTLS version, once connected.
    pub fn version(&self) -> Option<DtlsVersion> {
        self.link.shared.read(|s| s.dtls_version)
    }

    /// The negotiated SRTP protection profile (RFC 5764), once connected, if the peer
    /// offered one we support.
    pub fn srtp_profile(&self) -> Option<SrtpProfile> {
        self.link.shared.read(|s| s.srtp_profile)
    }

    /// Why the transport failed, once its state is `Failed`.
    pub fn error(&self) -> Option<DtlsError> {
        self.link.shared.read(|s| s.dtls_error.clone())
    }

    /// Chooses the DTLS role this side announces in
    /// [`local_parameters`](Self::local_parameters) and takes (`client` or `server`;
    /// `auto` lets the ICE role decide), before [`start`](Self::start).
    pub async fn set_local_role(&self, role: DtlsRoleParam) -> Result<(), Error> {
        self.link
            .call::<R, _>(|reply| Command::DtlsSetRole { role, reply })
            .await?;
        self.link.shared.update(|s| {
            if let Some(local) = &mut s.dtls_local {
                local.role = role;
            }
        });
        Ok(())
    }

    /// `transport`: the ICE transport underneath.
    pub fn transport(&self) -> IceTransport<R> {
        IceTransport {
            link: self.link.clone(),
            runtime: PhantomData,
        }
    }

    /// `stop()`: ABORTs SCTP above, sends close_notify; ICE keeps running until it is
    /// stopped. Resolves once the DTLS transport is closed.
    pub async fn stop(&self) {
        if !self.link.shared.read(|s| s.launched) || self.link.post(Command::DtlsStop).is_err() {
            return;
        }
        self.link
            .shared
            .wait_for(|s| {
                (s.done
                    || matches!(
                        s.dtls_state,
                        DtlsTransportState::Closed | DtlsTransportState::Failed
                    ))
                .then_some(())
            })
            .await;
    }
}

/// `RTCSctpTransport`: the SCTP association over a DTLS transport, and its data
/// channels.
#[derive(Debug, Clone)]
pub struct SctpTransport<R> {
    link: Link,
    port: u16,
    runtime: PhantomData<fn() -> R>,
}

impl<R: Runtime> SctpTransport<R> {
    /// `new RTCSctpTransport(dtlsTransport, port)` (WebRTC uses port 5000), with the
    /// default [`ReceiveLimits`]. Fails if the DTLS transport has one already.
    pub fn new(transport: &DtlsTransport<R>, port: u16) -> Result<Self, Error> {
        Self::with_limits(transport, port, ReceiveLimits::default())
    }

    /// [`new`](SctpTransport::new) with other bounds on what is held for the
    /// application to read.
    pub fn with_limits(
        transport: &DtlsTransport<R>,
        port: u16,
        limits: ReceiveLimits,
    ) -> Result<Self, Error> {
        let link = transport.link.clone();
        if link.shared.update(|s| {
            let taken = s.sctp_port.replace(port).is_some();
            if !taken {
                s.limits = limits;
            }
            taken
        }) {
            return Err(Error::AlreadyCreated("SCTP"));
        }
        // Its seed derives from the gatherer's (`IceGathererOptions::seed`), in core.
        link.post_quietly(Command::CreateSctp {
            port,
            receive_window: limits.receive_window,
        });
        Ok(SctpTransport {
            link,
            port,
            runtime: PhantomData,
        })
    }

    /// `getCapabilities()`.
    pub fn capabilities(&self) -> SctpCapabilities {
        SctpCapabilities::from(&sansrtc::sctp::SctpConfig::default())
    }

    /// `port`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `start(remoteCaps, remotePort)`: starts the association (it connects once DTLS
    /// is up; watch [`state_changes`](SctpTransport::state_changes) or a channel's
    /// [`open`](DataChannel::open)). Start DTLS first: its role picks the channel ids.
    pub async fn start(&self, remote: &SctpCapabilities, remote_port: u16) -> Result<(), Error> {
        let remote = *remote;
        self.link
            .call::<R, _>(|reply| Command::SctpStart {
                remote,
                port: remote_port,
                reply,
            })
            .await
    }

    /// `state`.
    pub fn state(&self) -> SctpTransportState {
        self.link.shared.read(|s| s.sctp_state)
    }

    /// `onstatechange`: states from now on.
    pub fn state_changes(&self) -> Events<SctpTransportState> {
        let rx = self.link.shared.update(|s| s.sctp_events.subscribe());
        Events::new(rx, &self.link)
    }

    /// `transport`: the DTLS transport underneath.
    pub fn transport(&self) -> DtlsTransport<R> {
        DtlsTransport {
            link: self.link.clone(),
            runtime: PhantomData,
        }
    }

    /// `new RTCDataChannel(transport, parameters)`. Usable at once: its id is known
    /// once the SCTP transport has started (at once for negotiated channels), it opens
    /// with the association, and sends made before wait for it.
    pub fn create_data_channel(
        &self,
        params: DataChannelParameters,
    ) -> Result<DataChannel<R>, Error> {
        if params.max_retransmits.is_some() && params.max_packet_life_time.is_some() {
            return Err(DataChannelError::BothReliabilityLimits.into());
        }
        if params.negotiated && params.id.is_none() {
            return Err(DataChannelError::NegotiatedWithoutId.into());
        }
        let key = self.link.shared.update(|s| {
            s.add_channel(ChannelEntry::new(
                params.clone(),
                DataChannelState::Connecting,
            ))
        });
        self.link.post(Command::CreateChannel { key })?;
        DataChannel::from_key(&self.link, key).ok_or(Error::Closed)
    }

    /// `ondatachannel`: channels the peer opens. Each goes to one of the streams taken
    /// from this transport; channels that arrive while nobody listens wait for the
    /// first listener, except one that closes with nothing unread before it is taken
    /// (it is forgotten; see the [crate docs](crate#receive-flow-control)).
    pub fn incoming_channels(&self) -> IncomingChannels<R> {
        IncomingChannels {
            link: self.link.clone(),
            listener: None,
            runtime: PhantomData,
        }
    }

    /// How many channels the chain holds state for, and how many of those wait in the
    /// incoming queue to be taken: for tests of what a peer can make it hold.
    #[doc(hidden)]
    pub fn held_channels(&self) -> (usize, usize) {
        self.link.shared.read(Snapshot::held_channels)
    }

    /// `stop()`: a graceful SCTP shutdown (queued data is delivered first), waiting at
    /// most a few seconds for the peer; DTLS and ICE keep running until stopped.
    pub async fn stop(&self) {
        if !self.link.shared.read(|s| s.launched) || self.link.post(Command::SctpStop).is_err() {
            return;
        }
        let closed = self.link.shared.wait_for(|s| {
            (s.done
                || matches!(
                    s.sctp_state,
                    SctpTransportState::Closed | SctpTransportState::New
                ))
            .then_some(())
        });
        futures_lite::future::or(closed, R::sleep(SCTP_STOP_TIMEOUT)).await;
    }
}

/// The stream of channels the peer opens ([`SctpTransport::incoming_channels`]).
#[derive(Debug)]
pub struct IncomingChannels<R> {
    link: Link,
    listener: Option<event_listener::EventListener>,
    runtime: PhantomData<fn() -> R>,
}

impl<R: Runtime> IncomingChannels<R> {
    /// The next channel the peer opened; `None` once the chain has stopped and every
    /// channel left has been taken.
    pub async fn next(&mut self) -> Option<DataChannel<R>> {
        futures_lite::StreamExt::next(self).await
    }
}

impl<R: Runtime> Stream for IncomingChannels<R> {
    type Item = DataChannel<R>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<DataChannel<R>>> {
        let this = self.get_mut();
        loop {
            if let Some(listener) = &mut this.listener {
                std::task::ready!(Pin::new(listener).poll(cx));
                this.listener = None;
            }
            match this.link.shared.quietly(Snapshot::take_incoming) {
                Incoming::Channel(key, params) => {
                    let reader = Reader::counted(&this.link, key);
                    return Poll::Ready(Some(DataChannel::with_reader(
                        &this.link, key, params, reader,
                    )));
                }
                Incoming::End => return Poll::Ready(None),
                Incoming::Wait(listener) => this.listener = Some(listener),
            }
        }
    }
}

/// A data channel's messages as a stream ([`DataChannel::messages`]). It ends once the
/// channel is closed and every message read. Holding one keeps the chain running.
#[derive(Debug)]
pub struct Messages {
    reader: Reader,
    listener: Option<event_listener::EventListener>,
}

impl Messages {
    /// The next message; `None` once the channel is closed and every message read.
    pub async fn next(&mut self) -> Option<Message> {
        futures_lite::StreamExt::next(self).await
    }

    /// The next message if one is queued now.
    pub fn try_next(&mut self) -> Option<Message> {
        match self.reader.take() {
            Taken::Message(m) => Some(m),
            Taken::End | Taken::Wait(_) => None,
        }
    }
}

impl Stream for Messages {
    type Item = Message;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        let this = self.get_mut();
        loop {
            if let Some(listener) = &mut this.listener {
                std::task::ready!(Pin::new(listener).poll(cx));
                this.listener = None;
            }
            match this.reader.take() {
                Taken::Message(m) => return Poll::Ready(Some(m)),
                Taken::End => return Poll::Ready(None),
                Taken::Wait(listener) => this.listener = Some(listener),
            }
        }
    }
}

/// `RTCDataChannel`. Clones are handles to the same channel and share its message
/// queue (each message goes to one reader).
///
/// The handles and [`Messages`] streams of a channel are its readers: once the last is
/// dropped, its unread messages and any that arrive later are dropped (see the [crate
/// docs](crate#receive-flow-control)).
#[derive(Debug, Clone)]
pub struct DataChannel<R> {
    link: Link,
    key: u64,
    params: Arc<DataChannelParameters>,
    reader: Reader,
    runtime: PhantomData<fn() -> R>,
}

impl<R: Runtime> DataChannel<R> {
    fn from_key(link: &Link, key: u64) -> Option<Self> {
        let (reader, params) = Reader::new(link, key)?;
        Some(Self::with_reader(link, key, params, reader))
    }

    fn with_reader(link: &Link, key: u64, params: DataChannelParameters, reader: Reader) -> Self {
        DataChannel {
            link: link.clone(),
            key,
            params: Arc::new(params),
            reader,
            runtime: PhantomData,
        }
    }

    fn read<T>(&self, f: impl FnOnce(&ChannelEntry) -> T) -> Option<T> {
        self.link.shared.read(|s| s.channels.get(&self.key).map(f))
    }

    fn update(&self, f: impl FnOnce(&mut ChannelEntry)) {
        self.link.shared.update(|s| {
            if let Some(c) = s.channels.get_mut(&self.key) {
                f(c)
            }
        });
    }

    /// `label`.
    pub fn label(&self) -> &str {
        &self.params.label
    }

    /// `protocol`.
    pub fn protocol(&self) -> &str {
        &self.params.protocol
    }

    /// `ordered`.
    pub fn ordered(&self) -> bool {
        self.params.ordered
    }

    /// `maxRetransmits`.
    pub fn max_retransmits(&self) -> Option<u16> {
        self.params.max_retransmits
    }

    /// `maxPacketLifeTime`, in milliseconds.
    pub fn max_packet_life_time(&self) -> Option<u16> {
        self.params.max_packet_life_time
    }

    /// `negotiated`.
    pub fn negotiated(&self) -> bool {
        self.params.negotiated
    }

    /// `id`: `None` until the SCTP transport has started and picked one.
    pub fn id(&self) -> Option<u16> {
        self.read(|c| c.id).flatten()
    }

    /// `readyState`.
    pub fn ready_state(&self) -> DataChannelState {
        self.read(|c| c.state).unwrap_or(DataChannelState::Closed)
    }

    /// `bufferedAmount`: bytes sent but not yet acknowledged, as of the last send or
    /// acknowledgement.
    pub fn buffered_amount(&self) -> usize {
        self.read(|c| c.buffered).unwrap_or(0)
    }

    /// `bufferedAmountLowThreshold`.
    pub fn buffered_amount_low_threshold(&self) -> usize {
        self.read(|c| c.low_threshold).unwrap_or(0)
    }

    /// `bufferedAmountLowThreshold = n`: [`ChannelEvent::BufferedAmountLow`] fires when
    /// `bufferedAmount` falls to or below it.
    pub fn set_buffered_amount_low_threshold(&self, n: usize) {
        self.update(|c| c.low_threshold = n);
        self.link
            .post_quietly(Command::Thresholds { key: self.key });
    }

    /// The `bufferedAmount` above which sends wait ([`DEFAULT_HIGH_WATER_MARK`] unless
    /// set).
    pub fn high_water_mark(&self) -> usize {
        self.read(|c| c.high_water)
            .unwrap_or(DEFAULT_HIGH_WATER_MARK)
    }

    /// Sets the high-water mark; see the [crate docs](crate#back-pressure) on back-pressure.
    pub fn set_high_water_mark(&self, n: usize) {
        self.update(|c| c.high_water = n);
        self.link
            .post_quietly(Command::Thresholds { key: self.key });
    }

    /// `send(string)`; see [`send`](DataChannel::send).
    pub async fn send_text(&self, text: &str) -> Result<(), Error> {
        self.send(Message::Text(text.to_owned())).await
    }

    /// `send(bytes)`; see [`send`](DataChannel::send).
    pub async fn send_binary(&self, data: Bytes) -> Result<(), Error> {
        self.send(Message::Binary(data)).await
    }

    /// Sends a message once the channel is open and its `bufferedAmount` is at or below
    /// the high-water mark; resolves when SCTP has taken it. Fails if the channel closes
    /// first or SCTP refuses it (too large for the peer). Dropping the future before it
    /// resolves may withdraw the message.
    pub async fn send(&self, message: Message) -> Result<(), Error> {
        let key = self.key;
        self.link
            .call::<R, _>(|reply| Command::Send {
                key,
                message,
                reply,
            })
            .await
    }

    /// The next message; `None` once the channel is closed and every message read.
    /// Taking a message opens its room in the SCTP receive window again.
    pub async fn recv(&self) -> Option<Message> {
        loop {
            match self.reader.take() {
                Taken::Message(m) => return Some(m),
                Taken::End => return None,
                Taken::Wait(listener) => listener.await,
            }
        }
    }

    /// The messages as a stream (sharing the queue with [`recv`](DataChannel::recv)).
    /// The stream is a reader of the channel: it keeps the channel's messages coming
    /// after the handles are dropped.
    pub fn messages(&self) -> Messages {
        Messages {
            reader: self.reader.clone(),
            listener: None,
        }
    }

    /// Bytes of messages received and not read yet (as SCTP carried them): at most the
    /// [receive window](ReceiveLimits::receive_window) over all channels together.
    pub fn unread_bytes(&self) -> usize {
        self.reader.unread_bytes()
    }

    /// `onopen`, `onbufferedamountlow`, `onclosing`, `onclose` from now on.
    pub fn events(&self) -> Events<ChannelEvent> {
        let rx = self
            .link
            .shared
            .update(|s| match s.channels.get_mut(&self.key) {
                Some(c) if c.state != DataChannelState::Closed => c.events.subscribe(),
                _ => async_channel::unbounded().1,
            });
        Events::new(rx, &self.link)
    }

    /// Waits until the channel is open; fails if it closes first.
    pub async fn open(&self) -> Result<(), Error> {
        launch::<R>(&self.link)?;
        let key = self.key;
        self.link
            .shared
            .wait_for(move |s| {
                let Some(c) = s.channels.get(&key) else {
                    return Some(Err(Error::ChannelClosed));
                };
                match c.state {
                    DataChannelState::Open => Some(Ok(())),
                    DataChannelState::Connecting => None,
                    _ => Some(Err(match &c.error {
                        Some(e) => Error::ChannelNotCreated(e.clone()),
                        None => Error::ChannelClosed,
                    })),
                }
            })
            .await
    }

    /// `close()`: resets the channel's streams; resolves once both ends are closed (or
    /// the chain stopped).
    pub async fn close(&self) {
        let launched = self.link.shared.update(|s| {
            if !s.launched
                && let Some(c) = s.channels.get_mut(&self.key)
            {
                // Nothing runs yet: the channel never reaches the network.
                c.set_state(DataChannelState::Closed);
            }
            s.launched
        });
        if !launched
            || self
                .link
                .post(Command::CloseChannel { key: self.key })
                .is_err()
        {
            return;
        }
        let key = self.key;
        self.link
            .shared
            .wait_for(move |s: &mut Snapshot| {
                let closed = s
                    .channels
                    .get(&key)
                    .is_none_or(|c| c.state == DataChannelState::Closed);
                (closed || s.done).then_some(())
            })
            .await;
    }
}
