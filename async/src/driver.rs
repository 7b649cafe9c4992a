//! The decisions of a UDP socket driver, apart from its sockets and timer.
//!
//! [`UdpDriver`](crate::UdpDriver) owns the sockets and the timer (through a
//! [`Runtime`](crate::Runtime)); everything it has to *decide* lives here, so that it is
//! tested without sockets:
//!
//! - [`Drive`] wraps an [`Endpoint`] and turns its outputs into [`Step`]s: which socket to
//!   send on, which event to hand up, how long to wait. It keeps a transmit that is being
//!   sent until the driver confirms it, so a future that is dropped halfway through a
//!   send loses nothing.
//! - [`Batch`] cuts a [`Transmit`] with `segment_size` into as few send calls as the
//!   socket's segmentation offload (GSO) allows, and falls back to one datagram per call
//!   when the OS turns GSO off.
//! - [`RecvBuf`] and [`segments`] turn a receive call's filled slots, including coalesced
//!   (GRO) buffers, into one [`Bytes`] per datagram without copying the first one.
//! - [`route`] picks the socket a transmit leaves from, [`receive_destination`] the local
//!   address a datagram arrived at, [`survivable_receive_error`] which receive errors a
//!   driver counts and carries on from, and [`interface_bind_addrs`] which interface
//!   addresses to bind.
//!
//! A runtime's loop is then the one below, with its own socket and timer calls where this
//! example, a whole "runtime" in memory, hands datagrams straight to the other drive. It
//! sends one transmit of three datagrams with `segment_size`, which the receiving side
//! gets as one coalesced (GRO) buffer, as Linux loopback delivers it, and the echoes come
//! back one by one.
//!
//! ```
//! use std::collections::VecDeque;
//! use std::net::SocketAddr;
//! use std::time::{Duration, Instant};
//! use bytes::Bytes;
//! use sansrtc_async::driver::{Drive, Step};
//! use sansrtc::io::{Endpoint, IDLE_TIMEOUT, Input, Output, Protocol, Transmit};
//!
//! /// With a peer: sends 10 bytes as datagrams of 4 as soon as it starts, reports each
//! /// echo, and reports `b"late"` if 1 s passes. Without: echoes what it receives.
//! struct Peer { peer: bool, out: VecDeque<Output<Bytes>>, deadline: Instant }
//!
//! impl Peer {
//!     fn new(local: SocketAddr, peer: Option<SocketAddr>, now: Instant) -> Self {
//!         let mut out = VecDeque::new();
//!         if let Some(peer) = peer {
//!             let mut t = Transmit::single(Protocol::Udp, local, peer, Bytes::from_static(b"0123456789"));
//!             t.segment_size = Some(4);
//!             out.push_back(Output::Transmit(t));
//!         }
//!         Peer { peer: peer.is_some(), out, deadline: now + Duration::from_secs(1) }
//!     }
//! }
//!
//! impl Endpoint for Peer {
//!     type Event = Bytes;
//!     fn handle_input(&mut self, input: Input) {
//!         match input {
//!             Input::Timeout(now) if self.peer && self.deadline <= now => {
//!                 self.out.push_back(Output::Event(Bytes::from_static(b"late")));
//!                 self.deadline = now + IDLE_TIMEOUT;
//!             }
//!             Input::Timeout(_) => {}
//!             Input::Receive(r) if self.peer => self.out.push_back(Output::Event(r.contents)),
//!             Input::Receive(r) => self.out.push_back(Output::Transmit(Transmit::single(
//!                 Protocol::Udp, r.destination, r.source, r.contents))),
//!         }
//!     }
//!     fn poll_output(&mut self) -> Output<Bytes> {
//!         self.out.pop_front().unwrap_or(Output::Timeout(self.deadline))
//!     }
//! }
//!
//! let (a, b): (SocketAddr, SocketAddr) = ("127.0.0.1:1000".parse().unwrap(), "127.0.0.1:2000".parse().unwrap());
//! let start = Instant::now();
//! let mut drives = [Drive::new(Peer::new(a, Some(b), start), vec![a]), Drive::new(Peer::new(b, None, start), vec![b])];
//! let mut now = start;
//! let mut wire: VecDeque<(SocketAddr, SocketAddr, Bytes, usize)> = VecDeque::new();
//! let mut events = Vec::new();
//! let mut deadlines = Vec::new();
//! while events.len() < 4 {
//!     for (i, drive) in drives.iter_mut().enumerate() {
//!         loop {
//!             match drive.poll_step() {
//!                 Step::Send { socket } => {
//!                     let from = drive.local_addrs()[socket];
//!                     // A socket that offers GSO for up to 64 datagrams per call.
//!                     while let Some(batch) = drive.next_batch(64) {
//!                         let contents = Bytes::copy_from_slice(drive.batch_contents(&batch));
//!                         wire.push_back((from, batch.destination, contents, batch.segment_size.unwrap_or(0)));
//!                         drive.batch_sent(&batch);
//!                     }
//!                 }
//!                 Step::Event(e) => events.push((i, e)),
//!                 Step::Wait { deadline } => { deadlines.push(deadline); break }
//!             }
//!         }
//!     }
//!     match wire.pop_front() {
//!         Some((from, to, contents, stride)) => {
//!             let drive = drives.iter_mut().find(|d| d.local_addrs()[0] == to).unwrap();
//!             drive.handle_datagrams(now, 0, from, None, contents, stride);
//!             drive.handle_wake(now); // the deadline has not passed: no timeout is fed
//!         }
//!         None => {
//!             // Nothing in flight: jump to the earliest deadline, as a timer would.
//!             now = deadlines.drain(..).min().unwrap();
//!             for drive in &mut drives { drive.handle_wake(now) }
//!         }
//!     }
//! }
//! let got: Vec<&[u8]> = events.iter().map(|(_, e)| &e[..]).collect();
//! assert_eq!(got, [&b"0123"[..], b"4567", b"89", b"late"]);
//! assert!(events.iter().all(|(i, _)| *i == 0));
//! assert_eq!(now, start + Duration::from_secs(1));
//! let (pinger, echo) = (drives[0].stats(), drives[1].stats());
//! assert_eq!((pinger.send_calls, pinger.datagrams_sent), (1, 3));
//! assert_eq!((echo.datagrams_received, echo.send_calls), (3, 3));
//! ```

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use sansrtc::io::{Endpoint, Input, Output, Protocol, Receive, Transmit};

/// Largest UDP payload one send call can carry, segmented or not: an IPv4 packet's total
/// length field is 16 bits, minus 20 bytes of IPv4 header and 8 of UDP header. Linux
/// applies the same bound to a GSO super-datagram, which travels as one skb until the
/// device splits it.
pub const MAX_UDP_PAYLOAD: usize = 65_507;

/// What a runtime should do next; see the [module docs](self) for the loop.
///
/// Exhaustive, like the [`Output`] it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<E> {
    /// Send the pending transmit on this socket, batch by batch, with
    /// [`Drive::next_batch`].
    Send {
        /// Index of the socket in [`Drive::local_addrs`].
        socket: usize,
    },
    /// Hand this event to the application.
    Event(E),
    /// Wait until a socket is readable or the deadline passes; then feed what arrived
    /// with [`Drive::handle_datagrams`] and call [`Drive::handle_wake`].
    Wait {
        /// When the endpoint wants [`Input::Timeout`].
        deadline: Instant,
    },
}

/// One send call's worth of a pending transmit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch {
    /// Index of the socket to send on.
    pub socket: usize,
    /// Remote address.
    pub destination: SocketAddr,
    /// Local ip to send from when the socket is bound to the unspecified address and the
    /// endpoint chose a specific one; `None` lets the OS pick.
    pub src_ip: Option<IpAddr>,
    /// Size of each datagram when this batch carries several (hand it to GSO); `None` when
    /// it is a single datagram.
    pub segment_size: Option<usize>,
    start: usize,
    len: usize,
}

impl Batch {
    /// Number of datagrams in this batch.
    pub fn datagrams(&self) -> usize {
        match self.segment_size {
            Some(s) => self.len.div_ceil(s),
            None => 1,
        }
    }

    /// Payload bytes in this batch.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the batch carries no bytes (never true for a batch from
    /// [`Drive::next_batch`]).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Counters a [`Drive`] keeps about its traffic.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DriveStats {
    /// Datagrams handed to the OS.
    pub datagrams_sent: u64,
    /// Send calls that succeeded; fewer than `datagrams_sent` when GSO batched them.
    pub send_calls: u64,
    /// Datagrams fed to the endpoint.
    pub datagrams_received: u64,
    /// Receive calls that returned data; fewer than `datagrams_received` when GRO or
    /// `recvmmsg` batched them.
    pub receive_calls: u64,
    /// Transmits dropped because no socket is bound at their source address, or because
    /// they are not UDP.
    pub unroutable: u64,
    /// Datagrams dropped because the OS refused to send them.
    pub send_errors: u64,
    /// Times the OS turned segmentation offload off mid-transmit and the batch was resent
    /// one datagram per call.
    pub gso_fallbacks: u64,
    /// Receive calls that failed with an error the driver survives.
    pub receive_errors: u64,
}

/// A transmit being sent, batch by batch.
#[derive(Debug)]
struct Outgoing {
    socket: usize,
    src_ip: Option<IpAddr>,
    transmit: Transmit,
    offset: usize,
}

impl Outgoing {
    fn next_batch(&self, max_segments: usize) -> Option<Batch> {
        let remaining = self.transmit.contents.len().checked_sub(self.offset)?;
        if remaining == 0 {
            return None;
        }
        let single = Batch {
            socket: self.socket,
            destination: self.transmit.destination,
            src_ip: self.src_ip,
            segment_size: None,
            start: self.offset,
            len: remaining,
        };
        let size = match self.transmit.segment_size {
            Some(s) if s > 0 && s < remaining => s,
            _ => return Some(single),
        };
        let count = max_segments.min(MAX_UDP_PAYLOAD / size).max(1);
        // Every batch but the last is a whole number of segments, so the next one starts
        // on a segment boundary and the receiver sees the datagrams the endpoint meant.
        let len = (count * size).min(remaining);
        Some(Batch {
            segment_size: (len > size).then_some(size),
            len,
            ..single
        })
    }

    fn contents(&self, batch: &Batch) -> &[u8] {
        self.transmit
            .contents
            .get(batch.start..batch.start + batch.len)
            .unwrap_or_default()
    }

    /// Moves past `batch`; true once everything is sent.
    fn advance(&mut self, batch: &Batch) -> bool {
        self.offset = self.offset.max(batch.start + batch.len);
        self.offset >= self.transmit.contents.len()
    }
}

/// Whether a send that failed should be retried one datagram per call: the OS refused a
/// segmented batch and has meanwhile lowered the socket's GSO limit below its size, which
/// is how segmentation offload reports that the device cannot do it.
fn gso_turned_off(batch: &Batch, max_segments_now: usize) -> bool {
    batch.datagrams() > 1 && max_segments_now.max(1) < batch.datagrams()
}

/// The socket a transmit goes out on, as an index into `locals`: the socket bound at its
/// source, or else one bound at the unspecified address on the source's port and family.
/// `None` for a source no socket serves, and for anything but UDP.
///
/// ```
/// # use sansrtc_async::driver::route;
/// # use sansrtc::io::{Protocol, Transmit};
/// let locals = ["127.0.0.1:5000".parse().unwrap(), "[::]:6000".parse().unwrap()];
/// let from = |src: &str| Transmit::single(Protocol::Udp, src.parse().unwrap(), "192.0.2.1:9".parse().unwrap(), vec![1].into());
/// assert_eq!(route(&locals, &from("127.0.0.1:5000")), Some(0));
/// assert_eq!(route(&locals, &from("[2001:db8::1]:6000")), Some(1));
/// assert_eq!(route(&locals, &from("127.0.0.1:5001")), None);
/// ```
pub fn route(locals: &[SocketAddr], transmit: &Transmit) -> Option<usize> {
    if transmit.protocol != Protocol::Udp {
        return None;
    }
    let src = transmit.source;
    // Endpoints may write a local IPv6 address without the scope id or flow label the
    // socket reports, so after an exact match, ip and port are enough.
    locals
        .iter()
        .position(|l| *l == src)
        .or_else(|| {
            locals
                .iter()
                .position(|l| l.ip() == src.ip() && l.port() == src.port())
        })
        .or_else(|| {
            locals.iter().position(|l| {
                l.ip().is_unspecified() && l.is_ipv4() == src.is_ipv4() && l.port() == src.port()
            })
        })
}

/// An [`Endpoint`] plus the bookkeeping a socket driver needs around it; see the
/// [module docs](self) for the loop that drives it.
///
/// Socket indices everywhere are positions in [`local_addrs`](Drive::local_addrs), which the
/// runtime fills with the addresses its sockets actually bound.
#[derive(Debug)]
pub struct Drive<T> {
    endpoint: T,
    locals: Vec<SocketAddr>,
    deadline: Option<Instant>,
    outgoing: Option<Outgoing>,
    max_segments: usize,
    stats: DriveStats,
}

impl<T: Endpoint> Drive<T> {
    /// Wraps `endpoint`, which will send and receive on sockets bound at `locals`.
    pub fn new(endpoint: T, locals: Vec<SocketAddr>) -> Self {
        Drive {
            endpoint,
            locals,
            deadline: None,
            outgoing: None,
            max_segments: usize::MAX,
            stats: DriveStats::default(),
        }
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &T {
        &self.endpoint
    }

    /// The endpoint, to configure or command it between steps. Anything it wants to send
    /// as a result goes out on the next [`poll_step`](Drive::poll_step).
    pub fn endpoint_mut(&mut self) -> &mut T {
        &mut self.endpoint
    }

    /// Gives the endpoint back.
    pub fn into_endpoint(self) -> T {
        self.endpoint
    }

    /// Local addresses of the sockets, by socket index.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.locals
    }

    /// Traffic counters.
    pub fn stats(&self) -> DriveStats {
        self.stats
    }

    /// Caps the datagrams per send call below what the socket offers; 1 turns GSO off.
    pub fn set_max_segments(&mut self, max: usize) {
        self.max_segments = max.max(1);
    }

    /// What to do next. Drains the endpoint's outputs until one needs the runtime;
    /// transmits that no socket can send are dropped and counted in
    /// [`DriveStats::unroutable`].
    pub fn poll_step(&mut self) -> Step<T::Event> {
        if let Some(o) = &self.outgoing {
            return Step::Send { socket: o.socket };
        }
        loop {
            match self.endpoint.poll_output() {
                Output::Transmit(t) => {
                    if t.contents.is_empty() {
                        continue;
                    }
                    match route(&self.locals, &t) {
                        Some(socket) => {
                            let bound = self.locals[socket].ip();
                            let src = t.source.ip();
                            self.outgoing = Some(Outgoing {
                                socket,
                                src_ip: (bound.is_unspecified() && !src.is_unspecified())
                                    .then_some(src),
                                transmit: t,
                                offset: 0,
                            });
                            return Step::Send { socket };
                        }
                        None => {
                            tracing::debug!(source = %t.source, "no socket for transmit, dropped");
                            self.stats.unroutable += 1;
                        }
                    }
                }
                Output::Event(e) => return Step::Event(e),
                Output::Timeout(at) => {
                    self.deadline = Some(at);
                    return Step::Wait { deadline: at };
                }
            }
        }
    }

    /// The next send call for the transmit announced by [`Step::Send`], carrying at most
    /// `max_segments` datagrams (the socket's GSO limit; 1 without GSO). `None` once it is
    /// all sent. The transmit stays here until the runtime reports every batch, so a
    /// runtime future dropped mid-send resumes where it stopped.
    pub fn next_batch(&self, max_segments: usize) -> Option<Batch> {
        self.outgoing
            .as_ref()?
            .next_batch(max_segments.min(self.max_segments))
    }

    /// The bytes of a batch from [`next_batch`](Drive::next_batch).
    pub fn batch_contents(&self, batch: &Batch) -> &[u8] {
        match &self.outgoing {
            Some(o) => o.contents(batch),
            None => &[],
        }
    }

    /// The OS took the batch.
    pub fn batch_sent(&mut self, batch: &Batch) {
        self.stats.send_calls += 1;
        self.stats.datagrams_sent += batch.datagrams() as u64;
        self.advance(batch);
    }

    /// The OS refused the batch. `max_segments_now` is the socket's GSO limit after the
    /// failure: if it dropped below the batch's datagram count the OS has just turned GSO
    /// off, and the batch is kept to be resent one datagram per call. Otherwise its
    /// datagrams are dropped, as the network may drop any datagram.
    pub fn batch_failed(&mut self, batch: &Batch, max_segments_now: usize) {
        if gso_turned_off(batch, max_segments_now) {
            self.stats.gso_fallbacks += 1;
            return;
        }
        self.stats.send_errors += batch.datagrams() as u64;
        self.advance(batch);
    }

    fn advance(&mut self, batch: &Batch) {
        if self.outgoing.as_mut().is_some_and(|o| o.advance(batch)) {
            self.outgoing = None;
        }
    }

    /// Feeds what one receive slot held: `contents` arrived on socket `socket` from
    /// `source`, as datagrams of `stride` bytes each when the OS coalesced several (GRO;
    /// 0 for a single datagram). `dst_ip` is the destination address the OS reported,
    /// used when the socket is bound to the unspecified address.
    pub fn handle_datagrams(
        &mut self,
        now: Instant,
        socket: usize,
        source: SocketAddr,
        dst_ip: Option<IpAddr>,
        contents: Bytes,
        stride: usize,
    ) {
        let Some(local) = self.locals.get(socket).copied() else {
            return;
        };
        let destination = receive_destination(local, dst_ip);
        for datagram in segments(contents, stride) {
            self.stats.datagrams_received += 1;
            self.endpoint.handle_input(Input::Receive(Receive {
                now,
                protocol: Protocol::Udp,
                source,
                destination,
                contents: datagram,
            }));
        }
    }

    /// Counts one receive call that returned data.
    pub fn receive_done(&mut self) {
        self.stats.receive_calls += 1;
    }

    /// Counts one receive call that failed with an error the driver survives.
    pub fn receive_failed(&mut self) {
        self.stats.receive_errors += 1;
    }

    /// Brings the endpoint's clock to `now` (an early [`Input::Timeout`] fires only what
    /// is due): for after the application commanded it, since it last had input.
    pub fn catch_up(&mut self, now: Instant) {
        self.endpoint.handle_input(Input::Timeout(now));
    }

    /// The runtime woke up at `now`: feeds the endpoint a timeout if its deadline has
    /// passed. Call it after feeding what arrived, so a busy socket cannot starve the
    /// timer.
    pub fn handle_wake(&mut self, now: Instant) {
        if self.deadline.is_some_and(|at| at <= now) {
            self.deadline = None;
            self.endpoint.handle_input(Input::Timeout(now));
        }
    }
}

/// Whether a driver should count a failed receive call and carry on rather than stop:
/// ICMP errors some systems report on the next receive (Windows reports a port
/// unreachable as a reset), and interrupted calls. Anything else means the socket itself
/// is broken.
pub fn survivable_receive_error(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        error.kind(),
        ConnectionRefused
            | ConnectionReset
            | HostUnreachable
            | NetworkUnreachable
            | Interrupted
            | TimedOut
    )
}

/// The local address a datagram arrived at: the socket's, with the OS-reported destination
/// ip when the socket is bound to the unspecified address.
pub fn receive_destination(local: SocketAddr, dst_ip: Option<IpAddr>) -> SocketAddr {
    match dst_ip {
        Some(ip) if local.ip().is_unspecified() && ip.is_ipv4() == local.is_ipv4() => {
            SocketAddr::new(ip, local.port())
        }
        _ => local,
    }
}

/// Splits a received buffer into datagrams of `stride` bytes (the last may be shorter), as
/// the OS reports a GRO-coalesced read. A stride of 0 or at least the length yields the
/// buffer whole. No bytes are copied.
pub fn segments(contents: Bytes, stride: usize) -> impl Iterator<Item = Bytes> {
    let len = contents.len();
    let step = if stride == 0 || stride >= len {
        len.max(1)
    } else {
        stride
    };
    (0..len)
        .step_by(step)
        .map(move |at| contents.slice(at..(at + step).min(len)))
}

/// Reusable receive memory for one socket: `slots` equal slots for one batched receive
/// call, handed out as [`Bytes`] without copying the first datagram of each call.
///
/// Datagrams share the allocation they were received into, so holding one keeps its chunk
/// (a few hundred KiB) alive; copy it out if it is kept for long.
#[derive(Debug)]
pub struct RecvBuf {
    buf: BytesMut,
    slot_len: usize,
    slots: usize,
    taken: usize,
    next_slot: usize,
}

impl RecvBuf {
    /// Memory for `slots` datagrams (or GRO buffers) of up to `slot_len` bytes per call.
    pub fn new(slot_len: usize, slots: usize) -> Self {
        RecvBuf {
            buf: BytesMut::new(),
            slot_len: slot_len.max(1),
            slots: slots.max(1),
            taken: 0,
            next_slot: 0,
        }
    }

    /// Bytes per slot.
    pub fn slot_len(&self) -> usize {
        self.slot_len
    }

    /// Slots per receive call.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// The slots to receive into, in order. Call before every receive call, then
    /// [`take`](RecvBuf::take) what each filled slot holds.
    pub fn slots_mut(&mut self) -> std::slice::ChunksExactMut<'_, u8> {
        let need = self.slot_len * self.slots;
        if self.buf.len() < need {
            // Reclaims the old allocation when every datagram cut from it is gone;
            // otherwise allocates afresh. Either way each byte is zeroed once per use, which
            // safe code needs before the OS may write into it.
            self.buf.clear();
            self.buf.resize(need * 2, 0);
        }
        self.taken = 0;
        self.next_slot = 0;
        self.buf[..need].chunks_exact_mut(self.slot_len)
    }

    /// The first `len` bytes of slot `slot`, which a receive call filled. Take filled slots
    /// in increasing order, each at most once, after [`slots_mut`](RecvBuf::slots_mut);
    /// anything else yields an empty buffer.
    pub fn take(&mut self, slot: usize, len: usize) -> Bytes {
        if slot < self.next_slot || slot >= self.slots {
            return Bytes::new();
        }
        let len = len.min(self.slot_len);
        self.next_slot = slot + 1;
        // Cutting the first slot off the front costs nothing; later slots are moved down
        // to the front so the gap before them is not cut off and wasted with them.
        let at = slot * self.slot_len - self.taken;
        if at > 0 {
            self.buf.copy_within(at..at + len, 0);
        }
        self.taken += len;
        self.buf.split_to(len).freeze()
    }
}

/// Which interface addresses to bind when binding every interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterfaceFilter {
    /// Include loopback addresses (127.0.0.0/8, ::1).
    pub loopback: bool,
    /// Include IPv6 link-local addresses (fe80::/10), bound with their interface's scope.
    pub link_local_v6: bool,
    /// Include IPv6 addresses at all.
    pub ipv6: bool,
}

impl Default for InterfaceFilter {
    /// Every address except IPv6 link-local ones, which need a scope id on every use and
    /// are rarely reachable by a peer.
    fn default() -> Self {
        InterfaceFilter {
            loopback: true,
            link_local_v6: false,
            ipv6: true,
        }
    }
}

/// The addresses to bind for each interface address `(ip, interface index)` on `port`,
/// filtered and without duplicates, IPv6 link-local ones scoped to their interface.
pub fn interface_bind_addrs(
    interfaces: impl IntoIterator<Item = (IpAddr, Option<u32>)>,
    port: u16,
    filter: InterfaceFilter,
) -> Vec<SocketAddr> {
    let mut out: Vec<SocketAddr> = Vec::new();
    for (ip, index) in interfaces {
        if ip.is_unspecified() || ip.is_multicast() || (ip.is_loopback() && !filter.loopback) {
            continue;
        }
        let addr = match ip {
            IpAddr::V4(_) => SocketAddr::new(ip, port),
            IpAddr::V6(_) if !filter.ipv6 => continue,
            IpAddr::V6(v6) if v6.is_unicast_link_local() => {
                if !filter.link_local_v6 {
                    continue;
                }
                SocketAddr::V6(std::net::SocketAddrV6::new(v6, port, 0, index.unwrap_or(0)))
            }
            IpAddr::V6(_) => SocketAddr::new(ip, port),
        };
        if !out.contains(&addr) {
            out.push(addr);
        }
    }
    out
}

// No test here reads a clock (core must not, see .ci/sans-io-check); what needs an
// `Instant` is tested by the runnable examples in the docs above.
#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn transmit(len: usize, segment_size: Option<usize>) -> Transmit {
        let contents: Bytes = (0..len).map(|i| i as u8).collect::<Vec<u8>>().into();
        let mut t = Transmit::single(
            Protocol::Udp,
            addr("10.0.0.1:5000"),
            addr("10.0.0.2:6000"),
            contents,
        );
        t.segment_size = segment_size;
        t
    }

    fn outgoing(len: usize, segment_size: Option<usize>) -> Outgoing {
        Outgoing {
            socket: 0,
            src_ip: None,
            transmit: transmit(len, segment_size),
            offset: 0,
        }
    }

    /// Sends everything with a fixed GSO limit; returns each call's datagram sizes, as a
    /// receiver splitting by the batch's segment size would see them.
    fn send_all(o: &mut Outgoing, max_segments: usize) -> Vec<Vec<usize>> {
        let mut calls = Vec::new();
        while let Some(b) = o.next_batch(max_segments) {
            let bytes = Bytes::copy_from_slice(o.contents(&b));
            let sizes: Vec<usize> = segments(bytes, b.segment_size.unwrap_or(0))
                .map(|s| s.len())
                .collect();
            assert_eq!(sizes.len(), b.datagrams());
            calls.push(sizes);
            if o.advance(&b) {
                break;
            }
        }
        calls
    }

    #[test]
    fn segmented_transmit_goes_out_in_one_gso_call() {
        let mut o = outgoing(10, Some(3));
        let b = o.next_batch(64).unwrap();
        assert_eq!((b.segment_size, b.len(), b.datagrams()), (Some(3), 10, 4));
        assert_eq!(send_all(&mut o, 64), [vec![3, 3, 3, 1]]);
    }

    #[test]
    fn gso_limit_splits_batches_on_segment_boundaries() {
        assert_eq!(
            send_all(&mut outgoing(10, Some(3)), 2),
            [vec![3, 3], vec![3, 1]]
        );
    }

    #[test]
    fn without_gso_every_segment_is_its_own_datagram() {
        let mut o = outgoing(10, Some(3));
        assert_eq!(o.next_batch(1).unwrap().segment_size, None);
        assert_eq!(send_all(&mut o, 1), [vec![3], vec![3], vec![3], vec![1]]);
    }

    #[test]
    fn batches_never_exceed_the_udp_payload_limit() {
        // A GSO limit above what fits, so the byte bound is the one that binds.
        let calls = send_all(&mut outgoing(200_000, Some(1_000)), 100);
        assert!(
            calls
                .iter()
                .all(|c| c.iter().sum::<usize>() <= MAX_UDP_PAYLOAD)
        );
        assert_eq!(calls.iter().map(Vec::len).sum::<usize>(), 200);
        assert_eq!(calls[0].len(), 65);
    }

    #[test]
    fn segment_size_of_zero_or_at_least_the_length_means_one_datagram() {
        assert_eq!(send_all(&mut outgoing(10, Some(10)), 64), [vec![10]]);
        assert_eq!(send_all(&mut outgoing(10, Some(99)), 64), [vec![10]]);
        assert_eq!(send_all(&mut outgoing(4, Some(0)), 64), [vec![4]]);
        assert_eq!(send_all(&mut outgoing(70_000, None), 64), [vec![70_000]]);
    }

    #[test]
    fn refused_gso_batch_is_retried_one_by_one_only_if_gso_was_turned_off() {
        let b = outgoing(9, Some(3)).next_batch(64).unwrap();
        assert!(gso_turned_off(&b, 1));
        assert!(!gso_turned_off(&b, 64));
        let single = outgoing(9, Some(3)).next_batch(1).unwrap();
        assert!(!gso_turned_off(&single, 1));
    }

    #[test]
    fn route_prefers_exact_then_ip_and_port_then_wildcard() {
        let locals = [
            addr("0.0.0.0:7"),
            addr("[fe80::1%3]:7"),
            addr("127.0.0.1:7"),
            addr("[::]:8"),
        ];
        let t =
            |src: &str| Transmit::single(Protocol::Udp, addr(src), addr("1.1.1.1:1"), Bytes::new());
        assert_eq!(route(&locals, &t("127.0.0.1:7")), Some(2));
        assert_eq!(route(&locals, &t("[fe80::1]:7")), Some(1));
        assert_eq!(route(&locals, &t("192.0.2.1:7")), Some(0));
        assert_eq!(route(&locals, &t("[2001:db8::1]:8")), Some(3));
        assert_eq!(route(&locals, &t("192.0.2.1:8")), None);
        assert_eq!(route(&locals, &t("[2001:db8::1]:7")), None);
        let mut tcp = t("127.0.0.1:7");
        tcp.protocol = Protocol::Tcp;
        assert_eq!(route(&locals, &tcp), None);
    }

    #[test]
    fn wildcard_socket_reports_the_ip_a_datagram_arrived_at() {
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(
            receive_destination(addr("0.0.0.0:9"), Some(ip)),
            addr("192.0.2.7:9")
        );
        assert_eq!(
            receive_destination(addr("127.0.0.1:9"), Some(ip)),
            addr("127.0.0.1:9")
        );
        assert_eq!(
            receive_destination(addr("[::]:9"), Some(ip)),
            addr("[::]:9")
        );
        assert_eq!(
            receive_destination(addr("0.0.0.0:9"), None),
            addr("0.0.0.0:9")
        );
    }

    #[test]
    fn segments_splits_by_stride_without_copying() {
        let buf = Bytes::from_static(b"abcdefghij");
        let parts: Vec<Bytes> = segments(buf.clone(), 4).collect();
        assert_eq!(parts, [&b"abcd"[..], b"efgh", b"ij"]);
        assert_eq!(parts[1].as_ptr(), buf[4..].as_ptr());
        assert_eq!(segments(buf.clone(), 0).collect::<Vec<_>>(), [&buf[..]]);
        assert_eq!(segments(buf.clone(), 99).collect::<Vec<_>>(), [buf]);
        assert_eq!(segments(Bytes::new(), 4).count(), 0);
    }

    #[test]
    fn recv_buf_hands_out_each_slot_and_reuses_memory() {
        let mut rb = RecvBuf::new(8, 3);
        let mut slots = rb.slots_mut();
        slots.next().unwrap()[..3].copy_from_slice(b"one");
        slots.next().unwrap()[..5].copy_from_slice(b"two22");
        slots.next().unwrap()[..8].copy_from_slice(b"three333");
        assert_eq!(slots.next(), None);
        let first = rb.take(0, 3);
        let second = rb.take(1, 5);
        let third = rb.take(2, 8);
        assert_eq!(
            (&first[..], &second[..], &third[..]),
            (&b"one"[..], &b"two22"[..], &b"three333"[..])
        );
        // Compacted: the three sit back to back in one allocation.
        assert_eq!(second.as_ptr(), first[3..].as_ptr());
        assert_eq!(rb.take(1, 5), Bytes::new());

        // Once every datagram cut from the chunk is dropped, the refill that follows
        // reuses it instead of allocating.
        let base = first.as_ptr();
        drop((first, second, third));
        let mut starts = Vec::new();
        for _ in 0..4 {
            rb.slots_mut().next().unwrap()[..8].copy_from_slice(b"12345678");
            let d = rb.take(0, 8);
            assert_eq!(&d[..], b"12345678");
            starts.push(d.as_ptr());
        }
        assert!(starts.contains(&base), "{base:?} not reused in {starts:?}");
    }

    #[test]
    fn recv_buf_clamps_lengths_to_the_slot() {
        let mut rb = RecvBuf::new(4, 1);
        assert_eq!(rb.slots_mut().count(), 1);
        assert_eq!(rb.take(0, 100).len(), 4);
        assert_eq!(rb.take(1, 1), Bytes::new());
    }

    #[test]
    fn interface_filter_skips_link_local_v6_unless_asked() {
        let ifaces = [
            ("127.0.0.1".parse().unwrap(), Some(1)),
            ("::1".parse().unwrap(), Some(1)),
            ("192.0.2.2".parse().unwrap(), Some(2)),
            ("fe80::1".parse().unwrap(), Some(2)),
            ("fd00::2".parse().unwrap(), Some(2)),
            ("192.0.2.2".parse().unwrap(), Some(2)),
        ];
        let all = interface_bind_addrs(ifaces, 0, InterfaceFilter::default());
        assert_eq!(
            all,
            [
                addr("127.0.0.1:0"),
                addr("[::1]:0"),
                addr("192.0.2.2:0"),
                addr("[fd00::2]:0")
            ]
        );
        let filter = InterfaceFilter {
            loopback: false,
            link_local_v6: true,
            ipv6: true,
        };
        let scoped = interface_bind_addrs(ifaces, 9, filter);
        assert_eq!(
            scoped,
            [
                addr("192.0.2.2:9"),
                addr("[fe80::1%2]:9"),
                addr("[fd00::2]:9")
            ]
        );
        let v4 = InterfaceFilter {
            ipv6: false,
            ..InterfaceFilter::default()
        };
        assert_eq!(interface_bind_addrs(ifaces, 0, v4).len(), 2);
    }
}
