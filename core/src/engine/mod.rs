//! One connection engine per remote peer: the ICE agent, the DTLS session, the SCTP
//! association and its data channels (and, with the media layer, SRTP and RTP) owned by
//! one value with one flat poll loop.
//!
//! The engine is what a socket loop drives: every datagram and every timeout goes in
//! through [`Endpoint::handle_input`], and [`Endpoint::poll_output`] hands out transmits
//! on the ICE-selected pair, events of every layer and the soonest deadline of all of
//! them. It demultiplexes per RFC 7983: STUN to ICE, DTLS to DTLS (once ICE has verified
//! the sender), anything else up as [`Event::Datagram`].
//!
//! Applications do not talk to the parts directly: the ORTC objects are borrowed views
//! onto the engine with aiortc's names ([`Engine::ice_gatherer`],
//! [`Engine::ice_transport`], [`Engine::dtls_transport`], [`Engine::sctp_transport`]),
//! and the JSEP [`PeerConnection`](crate::jsep::PeerConnection)
//! ([`Engine::peer_connection`]) is a second view onto the same engine, not a second
//! composition.
//!
//! Timers start from what ICE measured: the DTLS flight timer and the SCTP initial RTO
//! are derived from the selected pair's round-trip time instead of the RFCs' fixed 1 s
//! and 3 s, and there is no HelloVerifyRequest by default (ICE already proved the path).
//!
//! ```
//! use std::net::SocketAddr;
//! use std::time::Instant;
//! use sansrtc::crypto::default_provider;
//! use sansrtc::dtls::DtlsCertificate;
//! use sansrtc::engine::{Engine, EngineConfig};
//!
//! let cert = DtlsCertificate::generate(&*default_provider()).unwrap();
//! // The engine's clock starts here; every layer in it shares it.
//! let mut engine = Engine::new(EngineConfig::with_certificate(cert), Instant::now());
//! engine.ice_gatherer_mut().gather(&["127.0.0.1:40000".parse::<SocketAddr>().unwrap()]).unwrap();
//! // Exchange these with the peer (they serialize to aiortc's JSON shapes) ...
//! let _ice = engine.ice_gatherer().local_parameters();
//! let _candidates = engine.ice_gatherer().local_candidates();
//! let _dtls = engine.dtls_transport().local_parameters();
//! let _caps = engine.sctp_transport().capabilities();
//! // ... then start each transport with the peer's, and drive `engine` with its socket.
//! ```

mod dtls;
mod ice;
mod sctp;

pub(crate) use dtls::DtlsPart;
pub use dtls::DtlsTransportState;
pub use ice::IceGathererConfig;
pub(crate) use ice::IcePart;
pub(crate) use sctp::SctpPart;
pub use sctp::SctpTransportState;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;

use crate::demux::{PacketKind, classify};
use crate::dtls::DtlsCertificate;
use crate::ice::{IceEvent, release_if_empty};

use crate::datachannel::DataChannelEvent;
use crate::io::{Endpoint, Input, Output, Receive, Transmit, TransmitInfo};

/// Something the application should know about, from any layer of the engine (the ORTC
/// views name it `Event`).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// From the ICE agent: candidates to signal, gathering and connection states (the
    /// `RTCIceTransport` state is the connection state), the selected pair, a role change.
    Ice(IceEvent),
    /// `RTCDtlsTransport.state` changed.
    DtlsStateChange(DtlsTransportState),
    /// Application data from DTLS, when no SCTP transport sits above it.
    DtlsData(Bytes),
    /// `RTCSctpTransport.state` changed.
    SctpStateChange(SctpTransportState),
    /// A data channel event (open, message, closing, closed, buffered amount low).
    DataChannel(DataChannelEvent),
    /// A datagram no layer of this chain takes (with ICE alone: everything not STUN;
    /// with DTLS: RTP and RTCP, until the media layer is there).
    Datagram(Receive),
    /// `RTCPeerConnection.signalingState` changed (JSEP view).
    SignalingStateChange(crate::jsep::SignalingState),
    /// `negotiationneeded`: a change (the first data channel) needs an offer/answer
    /// exchange (JSEP view).
    NegotiationNeeded,
}

/// How an engine is built.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The ICE side: seed (from which the DTLS and SCTP seeds derive), the crypto
    /// provider of every layer, STUN servers, ICE-lite, check pacing.
    pub ice: IceGathererConfig,
    /// DTLS certificates: the first is presented, all are in the local fingerprints.
    /// With none the engine has no DTLS layer and hands DTLS datagrams up as
    /// [`Event::Datagram`].
    pub certificates: Vec<DtlsCertificate>,
    /// The SCTP port (`new RTCSctpTransport(transport, port)`). With `None` the engine
    /// has no SCTP layer and hands DTLS application data up as [`Event::DtlsData`].
    pub sctp_port: Option<u16>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            ice: IceGathererConfig::default(),
            certificates: Vec::new(),
            sctp_port: Some(5000),
        }
    }
}

impl EngineConfig {
    /// The usual engine: ICE, DTLS presenting `certificate`, SCTP on port 5000.
    pub fn with_certificate(certificate: DtlsCertificate) -> Self {
        EngineConfig {
            certificates: vec![certificate],
            ..EngineConfig::default()
        }
    }

    /// This config with `seed` steering every random choice of every layer (ICE draws
    /// from it, DTLS and SCTP from seeds derived from it): for reproducible simulations.
    pub fn seeded(mut self, seed: u64) -> Self {
        self.ice.seed = Some(seed);
        self
    }
}

/// Everything one remote peer needs, driven as one [`Endpoint`]. See the
/// [module documentation](self).
#[derive(Debug)]
pub struct Engine {
    /// The latest time of any input (the start time before any).
    pub(crate) now: Instant,
    pub(crate) ice: IcePart,
    pub(crate) dtls: DtlsPart,
    pub(crate) sctp: SctpPart,
    /// The JSEP view's state: signaling state and descriptions.
    pub(crate) jsep: crate::jsep::JsepPart,
    /// Events for the application, raised by calls or by one part for another.
    pub(crate) events: VecDeque<Event>,
    /// Transmits ready to go (DTLS datagrams held until ICE had a pair).
    pending: VecDeque<Transmit>,
    /// Bytes in the last SCTP batch: the next one's buffer size.
    batch_hint: usize,
}

impl Engine {
    /// An engine whose clock starts at `now`, with fresh ICE credentials.
    pub fn new(cfg: EngineConfig, now: Instant) -> Self {
        let ice = IcePart::new(cfg.ice, now);
        let dtls = DtlsPart::new(cfg.certificates, &ice);
        let sctp = SctpPart::new(cfg.sctp_port, &ice);
        let jsep = crate::jsep::JsepPart::new(ice.derived_seed(3));
        Engine {
            now,
            ice,
            dtls,
            sctp,
            jsep,
            events: VecDeque::new(),
            pending: VecDeque::new(),
            batch_hint: 0,
        }
    }

    /// The latest time the engine was given (its start time before any input).
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Our ICE ufrag (what a muxing server routes a first check by).
    pub fn local_ufrag(&self) -> &str {
        &self.ice.agent.local_credentials().ufrag
    }

    /// Whether ICE has verified `remote` (an authenticated check came from it).
    pub fn verified_remote(&mut self, remote: SocketAddr) -> bool {
        self.ice.agent.accepts_data_from(remote)
    }

    /// Stop every layer at once: SCTP ABORT, DTLS close_notify, ICE stops.
    pub fn stop(&mut self) {
        self.sctp.abort("transport stopped", &mut self.events);
        self.dtls.stop(&mut self.events);
        self.ice.agent.close();
    }

    fn route(&mut self, r: Receive) {
        let Some(r) = self.ice.route(r) else {
            return;
        };
        if classify(&r.contents) != PacketKind::Dtls || !self.dtls.enabled() {
            self.events.push_back(Event::Datagram(r));
            return;
        }
        let rtt = self.ice.agent.selected_rtt();
        self.dtls.handle_datagram(r.now, r.contents, rtt);
    }

    /// The SCTP packets ready now, each written once into its place in `batch` (cleared
    /// first; the caller's buffer, or a fresh one) and sealed there as a DTLS record:
    /// one GSO batch of equal-size datagrams (the last may be shorter), with no
    /// per-datagram buffer and no copy into the batch. Only once the session's own
    /// datagrams (handshake, alerts) have gone, so order holds.
    fn sctp_batch(&mut self, batch: &mut Vec<u8>) -> Option<TransmitInfo> {
        let (Some(c), Some(d)) = (&mut self.sctp.channels, &mut self.dtls.session) else {
            return None;
        };
        if !self.sctp.started || !d.can_send() || d.has_queued_datagrams() {
            return None;
        }
        let (local, remote) = self.ice.agent.selected_pair()?;
        let (protocol, source, destination) = (local.protocol(), local.base(), remote.address());
        batch.clear();
        let (mut seg, mut count) = (0, 0);
        while count < dtls::MAX_BATCH {
            let at = batch.len();
            let len = match d.seal_append(batch, |buf| c.poll_transmit(buf)) {
                Ok(Some(len)) => len,
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(error = %e, "SCTP packet not sealed");
                    break;
                }
            };
            if count == 0 {
                seg = len;
                // Room for a batch as large as the last, once there is something to send
                // (most polls find nothing, and must not allocate for it), so a bulk
                // sender's batches never grow and copy what they hold; a reused buffer
                // has the room already.
                batch.reserve(self.batch_hint.saturating_sub(batch.len()));
            } else if len > seg {
                // Longer than the batch's segments (a full packet after a short SACK):
                // it leads the next transmit instead.
                let next = Bytes::from(batch.split_off(at));
                self.pending
                    .extend(self.ice.agent.transmit_on_selected(next));
                break;
            }
            count += 1;
            if len < seg {
                break;
            }
        }
        if count == 0 {
            return None;
        }
        self.batch_hint = batch.len();
        Some(TransmitInfo {
            protocol,
            source,
            destination,
            size: batch.len(),
            segment_size: (count > 1).then_some(seg),
        })
    }

    /// ICE chose (or changed) the pair: DTLS can start, and what it wrote before has
    /// somewhere to go.
    fn on_selected_pair(&mut self) {
        let rtt = self.ice.agent.selected_rtt();
        self.dtls.begin(self.now, rtt);
        while let Some(d) = self.dtls.held.pop_front() {
            if let Some(t) = self.ice.agent.transmit_on_selected(d) {
                self.pending.push_back(t);
            }
        }
    }
}

impl Endpoint for Engine {
    type Event = Event;

    fn handle_input(&mut self, input: Input) {
        self.now = self.now.max(input.now());
        match input {
            Input::Timeout(now) => {
                self.ice.agent.handle_input(Input::Timeout(now));
                self.dtls.handle_timeout(now);
                self.sctp.handle_timeout(now);
            }
            Input::Receive(r) => self.route(r),
        }
    }

    fn poll_output(&mut self) -> Output<Event> {
        // A batch is written into a buffer of its own, which becomes the transmit's.
        let mut batch = Vec::new();
        match self.next(&mut batch) {
            Output::Transmit(Sent::Owned(t)) => Output::Transmit(t),
            Output::Transmit(Sent::Written(info)) => {
                Output::Transmit(info.into_transmit(Bytes::from(batch)))
            }
            Output::Event(e) => Output::Event(e),
            Output::Timeout(t) => Output::Timeout(t),
        }
    }

    fn poll_output_into(&mut self, buf: &mut Vec<u8>) -> Output<Event, TransmitInfo> {
        match self.next(buf) {
            // Control packets (checks, handshake flights) are small: copied in.
            Output::Transmit(Sent::Owned(t)) => Output::Transmit(TransmitInfo::copy_from(&t, buf)),
            Output::Transmit(Sent::Written(info)) => Output::Transmit(info),
            Output::Event(e) => Output::Event(e),
            Output::Timeout(t) => Output::Timeout(t),
        }
    }
}

/// A transmit the engine made: one a part built in its own buffer (checks, handshake
/// flights, control packets), or a batch of data written into the buffer it was given.
enum Sent {
    Owned(Transmit),
    Written(TransmitInfo),
}

impl Engine {
    /// The flat poll: pending transmits, events, then each part in turn; a data batch
    /// goes into `batch`.
    fn next(&mut self, batch: &mut Vec<u8>) -> Output<Event, Sent> {
        loop {
            if let Some(t) = self.pending.pop_front() {
                return Output::Transmit(Sent::Owned(t));
            }
            if let Some(e) = self.events.pop_front() {
                return Output::Event(e);
            }
            let ice_deadline = match self.ice.agent.poll_output() {
                Output::Transmit(t) => return Output::Transmit(Sent::Owned(t)),
                Output::Event(e) => {
                    if matches!(e, IceEvent::SelectedPairChange { .. }) {
                        self.on_selected_pair();
                    }
                    return Output::Event(Event::Ice(e));
                }
                Output::Timeout(t) => t,
            };
            let dtls_deadline = match self.dtls.poll(self.now, &self.ice.agent) {
                dtls::Polled::Transmit(t) => return Output::Transmit(Sent::Owned(t)),
                dtls::Polled::Data(p) => {
                    self.sctp.handle_data(self.now, p, &mut self.events);
                    continue;
                }
                dtls::Polled::State(s) => {
                    self.sctp
                        .on_dtls_state(s, self.now, &self.ice.agent, &mut self.events);
                    return Output::Event(Event::DtlsStateChange(s));
                }
                dtls::Polled::Writable => {
                    self.sctp.on_dtls_writable(self.now, &self.ice.agent);
                    continue;
                }
                dtls::Polled::Deadline(t) => t,
            };
            if let Some(info) = self.sctp_batch(batch) {
                return Output::Transmit(Sent::Written(info));
            }
            let sctp_deadline = match self.sctp.poll(self.now, &mut self.dtls, &mut self.events) {
                sctp::Polled::Event(e) => return Output::Event(e),
                sctp::Polled::Again => continue,
                sctp::Polled::Deadline(t) => t,
            };
            // Drained. Idle engines keep no room for the next burst: a server holds
            // thousands of them.
            release_if_empty(&mut self.events);
            release_if_empty(&mut self.pending);
            release_if_empty(&mut self.dtls.held);
            return Output::Timeout(ice_deadline.min(dtls_deadline).min(sctp_deadline));
        }
    }
}

#[cfg(test)]
mod tests;
