//! The async half of sansrtc, written once for any async runtime: the [`UdpDriver`] that
//! runs any sans-IO endpoint over UDP sockets (GSO/GRO batching through quinn-udp), and
//! the async ORTC objects aiortc users know — [`IceGatherer`] → [`IceTransport`] →
//! [`DtlsTransport`] → [`SctpTransport`] → [`DataChannel`] — over the sans-IO
//! [`sansrtc::ortc`] chain.
//!
//! This crate names no runtime: everything is generic over a [`Runtime`] (spawn, a
//! clock, a timer, a UDP socket's readiness), at the level of quinn's. Use it through a
//! runtime crate, which implements it and fixes the parameter: `sansrtc_tokio`,
//! `sansrtc_async_std` and `sansrtc_smol` name `UdpDriver<T>` for their runtime, and
//! their `ortc` modules re-export everything here with `IceGatherer =
//! IceGatherer<TheirRuntime>` and so on, and show a complete chain in their module docs.
//!
//! # How it works
//!
//! As in quinn, the handles ([`IceGatherer`], [`IceTransport`], [`DtlsTransport`],
//! [`SctpTransport`], [`DataChannel`]) and the chain's task share one state behind a
//! mutex, and that state holds the sans-IO [`sansrtc::engine::Engine`] itself. A handle
//! locks it and calls the engine's ORTC views directly — `start`, `add_remote_candidate`,
//! `create_data_channel`, `send_binary` — and reads from them what it reports
//! (`state()`, `role()`, `selected_candidate_pair()`, `buffered_amount()`, …): nothing
//! the engine knows is copied. A call that changes the engine then wakes the task, the
//! way quinn's handles wake their connection driver. Each handle is a cheap clone of
//! the same counted reference.
//!
//! The task owns the sockets: a [`UdpDriver`] (GSO/GRO batching included) over a thin
//! endpoint that stands for the engine in the shared state. On each turn it locks the
//! state, feeds the engine what arrived and the timeouts due, drains the engine's
//! output, dispatches the events — messages into their channel's queue, state changes
//! and incoming channels into their streams ([`Events`]) — and wakes the handles
//! waiting on them (`start().await`, `open().await`, a send at the high-water mark);
//! then it unlocks, sends the transmits, and waits for a socket, the engine's deadline
//! or its waker. Beside the engine the state keeps only what the async layer adds:
//! which objects the application created, each channel's unread messages and waiting
//! sends, the event subscribers, and the socket error that ended the task.
//!
//! The engine has every layer from the start; `IceTransport::new(&gatherer)` and the
//! other constructors make the next layer visible (and hand it its certificates or
//! port); a second transport over the same lower one is refused (or, for ICE, is the
//! same transport).
//!
//! Nothing is bound until [`IceGatherer::gather`] (or the first call that needs the
//! network, which gathers with the gatherer's options). A chain can also share one
//! socket and one task with many others; see [below](#many-chains-on-one-socket).
//!
//! ## Many chains on one socket
//!
//! A server that takes many peers puts them all on one UDP port with a
//! [`SharedSocket`]: it binds the socket (or one per address of an interface set) and
//! runs one task for every chain on it, a [`UdpDriver`] over core's
//! [`Mux`](sansrtc::mux::Mux). Each chain's gatherer is made with [`IceGatherer::on`]
//! instead of [`IceGatherer::new`]; the handles above it are the same, and back-pressure,
//! receive flow control and stop work as below. The mux routes a first check by the
//! local ICE ufrag in its USERNAME, then by the path ICE verified, and STUN answers by
//! their transaction; anything else is dropped and counted ([`SharedSocket::stats`]).
//!
//! The chains keep their own state and lock, and the socket's task keeps the chains'
//! order of work: a handle that changes a chain queues the chain's key for the task
//! (once, until the task turns it), so each turn of the task polls the chains woken,
//! not all of them; a chain that gathers queues itself to join, and one that stops
//! stops its layers (what that sends still goes out) and leaves, with its ufrag and
//! paths. The socket closes when nothing uses it any more: no [`SharedSocket`] handle,
//! and no gatherer made on it whose chain has not stopped.
//!
//! ## Back-pressure
//!
//! [`DataChannel::send_binary`] and [`DataChannel::send_text`] resolve once the message
//! has been handed to SCTP. A send hands its message over only while the channel's
//! `bufferedAmount` is at or below its [high-water
//! mark](crate::DataChannel::set_high_water_mark) ([`DEFAULT_HIGH_WATER_MARK`] unless
//! set), so `bufferedAmount` never exceeds the mark by more than one message and a sender
//! that awaits each send holds at most one message in memory besides what SCTP buffers.
//! Sends that wait are served in order, and are woken by acknowledgements: after every
//! batch of datagrams the task wakes the first waiting send of each channel whose
//! buffered amount is back at or below the mark, whatever the application's
//! `bufferedAmountLowThreshold` is. A send fails with
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
//! way on its own. A chain on a [`SharedSocket`] stops the same way, except that it
//! leaves the socket instead of closing it (stop resolves once it has left), and the
//! other chains and the socket go on.
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

#[cfg(feature = "async-io")]
mod async_io;
mod chain;
mod channel;
pub mod driver;
mod dtls;
mod gatherer;
mod ice;
mod mux;
mod pc;
mod runtime;
mod sctp;
mod state;
mod udp;

use std::future::Future;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_channel::Receiver;
use bytes::Bytes;
use futures_lite::Stream;
use sansrtc::datachannel::DataChannelError;
pub use sansrtc::datachannel::DataChannelState;
pub use sansrtc::dtls::{CipherSuite, DtlsCertificate, DtlsError, DtlsRole, DtlsVersion};
use sansrtc::engine::Engine;
pub use sansrtc::ice::IceFailure;
pub use sansrtc::ice::{IceConnectionState, IceGatheringState};
pub use sansrtc::jsep::{
    IceCandidateInit, PeerConnectionState, RtcSessionDescription, SdpType, SignalingState,
};
pub use sansrtc::mux::MuxStats;
pub use sansrtc::ortc::{
    DataChannelParameters, DtlsFingerprint, DtlsParameters, DtlsRoleParam, DtlsTransportState,
    IceCandidate, IceParameters, IceRole, OrtcError, SctpCapabilities, SctpTransportState,
    SctpTransportStats,
};
pub use sansrtc::srtp::SrtpProfile;

#[cfg(feature = "async-io")]
pub use self::async_io::{AsyncIoSocket, AsyncIoTimer};
pub use self::channel::{ChannelEvent, DataChannel, Message, Messages};
pub use self::driver::{DriveStats, InterfaceFilter};
pub use self::dtls::DtlsTransport;
pub use self::gatherer::{IceGatherer, IceGathererOptions};
pub use self::ice::IceTransport;
pub use self::mux::SharedSocket;
pub use self::pc::{RtcConfiguration, RtcIceServer, RtcPeerConnection};
pub use self::runtime::{AsyncTimer, AsyncUdpSocket, Runtime};
pub use self::sctp::{IncomingChannels, SctpTransport};
pub use self::udp::UdpDriver;

use self::chain::Chain;
use self::state::{ChannelEntry, Incoming, Link, Reader, Shared, State, Taken};

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
    /// A JSEP call refused: out of turn (`InvalidStateError`), bad SDP (naming the line),
    /// a description that cannot be used.
    #[error(transparent)]
    Jsep(#[from] sansrtc::jsep::JsepError),
    /// The transport was stopped (or every handle dropped) before the call finished.
    #[error("the transport is closed")]
    Closed,
    /// The data channel closed before the call finished.
    #[error("the data channel is closed")]
    ChannelClosed,
    /// A second DTLS or SCTP transport over the same transport.
    #[error("a {0} transport was already created over this transport")]
    AlreadyCreated(&'static str),
}

impl From<DataChannelError> for Error {
    fn from(e: DataChannelError) -> Self {
        Error::Ortc(OrtcError::DataChannel(e))
    }
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
