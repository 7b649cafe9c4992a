//! The loop every layer shares: [`Input`] goes in, [`Output`] comes out.
//!
//! Every protocol machine in this crate (and the composed ones above them) speaks these
//! types, so a runtime, the simulator or a user's own event loop can drive any of them.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

/// Transport protocol a datagram or candidate uses.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// UDP.
    Udp,
    /// TCP with RFC 4571 framing (each "datagram" is one framed packet).
    Tcp,
}

impl Protocol {
    /// Lower-case name as used in SDP candidate lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Udp => "udp",
            Protocol::Tcp => "tcp",
        }
    }
}

/// One datagram that arrived on a local socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receive {
    /// When it arrived.
    pub now: Instant,
    /// Transport it arrived on.
    pub protocol: Protocol,
    /// Remote address it came from.
    pub source: SocketAddr,
    /// Local address it arrived at.
    pub destination: SocketAddr,
    /// The payload. Owned so layers can keep or decrypt it in place without copying.
    pub contents: Bytes,
}

/// Something that happened outside the state machine.
///
/// Exhaustive on purpose: a loop that matches every variant needs no catch-all arm, so
/// adding one is a breaking change the compiler points out rather than a silent gap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A datagram arrived.
    Receive(Receive),
    /// Time has advanced to this instant (a deadline handed out earlier may have passed).
    Timeout(Instant),
}

impl Input {
    /// The time this input carries.
    pub fn now(&self) -> Instant {
        match self {
            Input::Receive(r) => r.now,
            Input::Timeout(t) => *t,
        }
    }
}

/// Datagrams to send from one local address to one remote address.
///
/// `contents` holds one datagram, or, when `segment_size` is set, several datagrams of
/// exactly `segment_size` bytes each (the last may be shorter), so that runtimes can hand
/// them to the OS in one GSO / `sendmmsg` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Transport to send on.
    pub protocol: Protocol,
    /// Local address to send from (selects the socket).
    pub source: SocketAddr,
    /// Remote address to send to.
    pub destination: SocketAddr,
    /// Payload of one or more datagrams.
    pub contents: Bytes,
    /// Size of each datagram when `contents` carries several.
    pub segment_size: Option<usize>,
}

impl Transmit {
    /// A transmit of a single datagram.
    pub fn single(
        protocol: Protocol,
        source: SocketAddr,
        destination: SocketAddr,
        contents: Bytes,
    ) -> Self {
        Transmit {
            protocol,
            source,
            destination,
            contents,
            segment_size: None,
        }
    }

    /// The individual datagrams this transmit carries.
    ///
    /// ```
    /// # use sansrtc::io::{Protocol, Transmit};
    /// let a = "127.0.0.1:1".parse().unwrap();
    /// let mut t = Transmit::single(Protocol::Udp, a, a, vec![0u8; 10].into());
    /// t.segment_size = Some(4);
    /// let sizes: Vec<usize> = t.datagrams().map(|d| d.len()).collect();
    /// assert_eq!(sizes, [4, 4, 2]);
    /// ```
    pub fn datagrams(&self) -> impl Iterator<Item = Bytes> + '_ {
        let step = match self.segment_size {
            Some(s) if s > 0 => s,
            _ => self.contents.len().max(1),
        };
        let len = self.contents.len();
        (0..len)
            .step_by(step)
            .map(move |at| self.contents.slice(at..(at + step).min(len)))
    }
}

/// Where the datagrams of a transmit written into a caller's buffer go (quinn's
/// `Transmit`): what [`Endpoint::poll_output_into`] hands out, the bytes being in the
/// caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransmitInfo {
    /// Transport to send on.
    pub protocol: Protocol,
    /// Local address to send from (selects the socket).
    pub source: SocketAddr,
    /// Remote address to send to.
    pub destination: SocketAddr,
    /// Bytes written into the buffer.
    pub size: usize,
    /// Size of each datagram when the buffer carries several (GSO), as in [`Transmit`].
    pub segment_size: Option<usize>,
}

impl TransmitInfo {
    /// The transmit these bytes make.
    pub fn into_transmit(self, contents: Bytes) -> Transmit {
        Transmit {
            protocol: self.protocol,
            source: self.source,
            destination: self.destination,
            contents,
            segment_size: self.segment_size,
        }
    }

    /// Copies `t`'s bytes into `buf` (cleared first).
    pub fn copy_from(t: &Transmit, buf: &mut Vec<u8>) -> Self {
        buf.clear();
        buf.extend_from_slice(&t.contents);
        TransmitInfo {
            protocol: t.protocol,
            source: t.source,
            destination: t.destination,
            size: t.contents.len(),
            segment_size: t.segment_size,
        }
    }
}

/// How far ahead a machine with no timer armed asks to be woken: it has nothing to do
/// until input arrives, so the wake-up only has to be rare, not absent.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// What a state machine hands out when polled.
///
/// `T` is what it sends: a [`Transmit`] with addresses for machines that own a socket
/// (ICE and everything above it), or a bare packet (`Bytes`) for a layer that hands its
/// packets to the layer below (DTLS, SCTP, data channels).
///
/// Exhaustive on purpose, like [`Input`]: a drain loop matches all three and needs no
/// catch-all arm that would stop draining unnoticed if a variant were added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output<E, T = Transmit> {
    /// Send this.
    Transmit(T),
    /// Something the application should know about.
    Event(E),
    /// Nothing more until this instant or new input, whichever comes first: feed
    /// `Input::Timeout(at)` once it passes. A machine with nothing armed answers
    /// [`IDLE_TIMEOUT`] after the latest time it was given.
    Timeout(Instant),
}

/// A sans-IO state machine that owns its addresses, with the shared verbs: built with a
/// start `Instant`, fed [`Input`], drained of [`Output`] until it answers
/// [`Output::Timeout`].
///
/// The simulator and the runtimes drive anything that implements this trait.
pub trait Endpoint {
    /// Events this machine reports.
    type Event;

    /// Feed one input. Malformed or unexpected datagrams are dropped and counted, never
    /// an error, so the caller has nothing to handle. An [`Input::Timeout`] before the
    /// deadline fires nothing early: it only moves the machine's clock, as a driver does
    /// after the application commanded the machine, so what the command queued is
    /// stamped with the present time.
    fn handle_input(&mut self, input: Input);

    /// Take the next output. Call repeatedly until it returns `Timeout`.
    fn poll_output(&mut self) -> Output<Self::Event>;

    /// [`poll_output`](Endpoint::poll_output) with a transmit written into `buf`, a
    /// buffer the caller provides and may reuse for every call (quinn's
    /// `poll_transmit(now, max_datagrams, &mut buf)`): `buf` is cleared, and holds the
    /// transmit's bytes when this returns [`Output::Transmit`]. Machines that build
    /// their datagrams in buffers of their own copy them in (the default); the
    /// [`Engine`](crate::engine::Engine) writes its data path, whole GSO batches, there
    /// directly, so a loop that reuses one buffer sends bulk data without an allocation
    /// per batch.
    ///
    /// ```
    /// # use std::time::Instant;
    /// use sansrtc::io::{Endpoint, Output};
    /// # use sansrtc::engine::{Engine, EngineConfig};
    /// # let mut endpoint = Engine::new(EngineConfig::default(), Instant::now());
    /// let mut buf = Vec::with_capacity(64 * 1024);
    /// loop {
    ///     match endpoint.poll_output_into(&mut buf) {
    ///         // socket.send_to(&buf[..t.size], t.destination), GSO by t.segment_size
    ///         Output::Transmit(t) => assert_eq!(t.size, buf.len()),
    ///         Output::Event(_) => {}
    ///         Output::Timeout(_) => break,
    ///     }
    /// }
    /// ```
    fn poll_output_into(&mut self, buf: &mut Vec<u8>) -> Output<Self::Event, TransmitInfo> {
        match self.poll_output() {
            Output::Transmit(t) => Output::Transmit(TransmitInfo::copy_from(&t, buf)),
            Output::Event(e) => Output::Event(e),
            Output::Timeout(t) => Output::Timeout(t),
        }
    }
}

impl<T: Endpoint + ?Sized> Endpoint for Box<T> {
    type Event = T::Event;
    fn handle_input(&mut self, input: Input) {
        (**self).handle_input(input)
    }
    fn poll_output(&mut self) -> Output<Self::Event> {
        (**self).poll_output()
    }
    fn poll_output_into(&mut self, buf: &mut Vec<u8>) -> Output<Self::Event, TransmitInfo> {
        (**self).poll_output_into(buf)
    }
}

/// A protocol layer that rides on another (DTLS on ICE, SCTP on DTLS): the same verbs
/// as [`Endpoint`], but its packets carry no addresses; the layer below picks the path.
///
/// [`Pinned`] puts a layer on fixed addresses so the simulator or a runtime can drive it
/// alone, which is how each layer is tested without the ones around it.
pub trait Layer {
    /// Events this layer reports.
    type Event;

    /// Feed one packet from the layer below. Malformed packets are dropped and counted.
    fn handle_packet(&mut self, now: Instant, packet: Bytes);

    /// Time has advanced to `now`.
    fn handle_timeout(&mut self, now: Instant);

    /// Take the next output. Call repeatedly until it returns `Timeout`.
    fn poll_output(&mut self) -> Output<Self::Event, Bytes>;
}

/// A [`Layer`] bound to one local and one remote address, carried over plain datagrams:
/// an [`Endpoint`] the simulator can host directly. Datagrams from any other address are
/// ignored.
#[derive(Debug)]
pub struct Pinned<L> {
    /// The layer.
    pub layer: L,
    /// Our address.
    pub local: SocketAddr,
    /// The peer's address.
    pub remote: SocketAddr,
}

impl<L: Layer> Pinned<L> {
    /// `layer` sending from `local` to `remote`.
    pub fn new(layer: L, local: SocketAddr, remote: SocketAddr) -> Self {
        Pinned {
            layer,
            local,
            remote,
        }
    }
}

impl<L: Layer> Endpoint for Pinned<L> {
    type Event = L::Event;

    fn handle_input(&mut self, input: Input) {
        match input {
            Input::Receive(r) if r.source == self.remote => {
                self.layer.handle_packet(r.now, r.contents)
            }
            Input::Receive(_) => {}
            Input::Timeout(now) => self.layer.handle_timeout(now),
        }
    }

    fn poll_output(&mut self) -> Output<Self::Event> {
        match self.layer.poll_output() {
            Output::Transmit(p) => {
                Output::Transmit(Transmit::single(Protocol::Udp, self.local, self.remote, p))
            }
            Output::Event(e) => Output::Event(e),
            Output::Timeout(at) => Output::Timeout(at),
        }
    }
}
