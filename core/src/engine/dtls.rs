//! The engine's DTLS part: the session once ICE has a pair, and what waits for it.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use super::Event;
use super::IcePart;
use crate::crypto::{KeyExchange, NamedGroup};
use crate::dtls::{Dtls, DtlsCertificate, DtlsConfig, DtlsError, DtlsEvent, DtlsRole, Fingerprint};
use crate::ice::IceAgent;
use crate::io::{Output, Transmit};

/// `RTCDtlsTransportState`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DtlsTransportState {
    /// Not started.
    New,
    /// Started; waiting for ICE or in the handshake.
    Connecting,
    /// Handshake done, peer certificate matched.
    Connected,
    /// Closed by either end.
    Closed,
    /// Handshake or fingerprint failure.
    Failed,
}

/// DTLS datagrams kept from before `start` (a peer's first flight is a few).
const MAX_EARLY: usize = 8;

/// Most datagrams one transmit carries (a GSO batch); the driver caps it further to what
/// the socket takes.
pub(super) const MAX_BATCH: usize = 64;

#[derive(Debug)]
pub(crate) struct DtlsPart {
    pub(crate) certificates: Vec<DtlsCertificate>,
    /// What the session is built from (suites, SRTP profiles, seed, provider); `None`
    /// without a certificate, when the engine has no DTLS layer.
    pub(crate) base: Option<DtlsConfig>,
    /// The role taken at `start`.
    pub(crate) role: Option<DtlsRole>,
    /// The role we announce: `None` is `auto`, unless the application chose one.
    pub(crate) local_role: Option<DtlsRole>,
    pub(crate) remote_fingerprints: Vec<Fingerprint>,
    pub(crate) session: Option<Dtls>,
    pub(crate) state: DtlsTransportState,
    /// Datagrams DTLS produced before ICE had a pair to send them on.
    pub(crate) held: VecDeque<Bytes>,
    /// An output taken from the session while filling a batch, to be handled next.
    peeked: Option<Output<DtlsEvent, Bytes>>,
    /// DTLS datagrams that arrived before `start`.
    pub(crate) early: VecDeque<Bytes>,
    /// Why the session failed, once the state is `Failed`.
    pub(crate) error: Option<DtlsError>,
    /// The handshake's ephemeral key, made at `start` while ICE still checks (see
    /// [`Dtls::provide_key_exchange`]).
    prepared_kx: Option<(NamedGroup, Box<dyn KeyExchange>)>,
}

/// What one round of the DTLS part produced.
pub(super) enum Polled {
    Transmit(Transmit),
    /// Application data (SCTP packets).
    Data(Bytes),
    /// The transport's state changed.
    State(DtlsTransportState),
    /// Application data may be sent before the handshake completes (the client's False
    /// Start): SCTP can send its INIT with the client's last flight.
    Writable,
    /// Nothing more now; call again by then.
    Deadline(Instant),
}

impl DtlsPart {
    pub(crate) fn new(certificates: Vec<DtlsCertificate>, ice: &IcePart) -> Self {
        let base = certificates
            .first()
            .map(|first| Self::config(first.clone(), ice));
        DtlsPart {
            base,
            certificates,
            role: None,
            local_role: None,
            remote_fingerprints: Vec::new(),
            session: None,
            state: DtlsTransportState::New,
            held: VecDeque::new(),
            peeked: None,
            early: VecDeque::new(),
            error: None,
            prepared_kx: None,
        }
    }

    /// The session's configuration presenting `certificate`, seeded from ICE's seed.
    pub(crate) fn config(certificate: DtlsCertificate, ice: &IcePart) -> DtlsConfig {
        let mut base = DtlsConfig::new(certificate, Vec::new());
        base.seed = ice.derived_seed(1);
        // One provider for the whole engine: DTLS takes the one ICE was given.
        base.provider = ice.provider().clone();
        base
    }

    /// Whether the engine has a DTLS layer (it was given a certificate).
    pub(crate) fn enabled(&self) -> bool {
        self.base.is_some()
    }

    pub(crate) fn set_state(&mut self, s: DtlsTransportState, events: &mut VecDeque<Event>) {
        if self.state != s {
            self.state = s;
            events.push_back(Event::DtlsStateChange(s));
        }
    }

    /// Build the session and start its clock: ICE has a pair, so the flight timer can
    /// start from the measured round trip.
    pub(crate) fn begin(&mut self, now: Instant, rtt: Option<Duration>) {
        let (Some(role), None, Some(base)) = (self.role, &self.session, &self.base) else {
            return;
        };
        let mut cfg = base.clone();
        cfg.remote_fingerprints = self.remote_fingerprints.clone();
        if let Some(rtt) = rtt {
            // Room for the peer's processing on top of the path; a lost flight still
            // costs only a few round trips, not the RFC's fixed second.
            cfg.initial_retransmit =
                (rtt * 2 + Duration::from_millis(10)).min(cfg.initial_retransmit);
        }
        let mut session = Dtls::new(role, cfg, now);
        if let Some((group, kx)) = self.prepared_kx.take() {
            session.provide_key_exchange(group, kx);
        }
        self.session = Some(session);
    }

    /// Whether SCTP packets can be sealed now (connected, or false-starting).
    pub(crate) fn writable(&self) -> bool {
        self.session.as_ref().is_some_and(Dtls::can_send)
    }

    /// Make the handshake's ephemeral key now (at `start`), not on the round trip that
    /// needs it: X25519 key generation is tens of microseconds of a loopback connect's
    /// few hundred. A provider that cannot make one leaves it to the handshake, which
    /// then fails with the cause.
    pub(crate) fn prepare_key_exchange(&mut self) {
        let Some(base) = &self.base else { return };
        if self.prepared_kx.is_some() || self.session.is_some() {
            return;
        }
        if let Some(&group) = base.groups.first() {
            self.prepared_kx = base.provider.key_exchange(group).ok().map(|kx| (group, kx));
        }
    }

    /// Feed the datagrams that came before `start`.
    pub(crate) fn feed_early(&mut self, now: Instant) {
        if let Some(d) = &mut self.session {
            for c in std::mem::take(&mut self.early) {
                d.handle_datagram_owned(now, owned(c));
            }
        }
    }

    pub(crate) fn handle_datagram(&mut self, now: Instant, contents: Bytes, rtt: Option<Duration>) {
        if self.session.is_none() && self.role.is_some() {
            // The peer's handshake arrived before our ICE chose a pair: answer it; the
            // replies wait for the pair.
            self.begin(now, rtt);
        }
        match &mut self.session {
            Some(d) => d.handle_datagram_owned(now, owned(contents)),
            None if self.early.len() < MAX_EARLY => {
                // The peer started first: keep its opening flight for `start` rather
                // than make it wait a retransmission.
                self.early.push_back(contents);
            }
            None => tracing::trace!("DTLS before start: dropped (the peer retransmits)"),
        }
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if let Some(d) = &mut self.session {
            d.handle_timeout(now);
        }
    }

    /// close_notify to the peer.
    pub(crate) fn stop(&mut self, events: &mut VecDeque<Event>) {
        if let Some(d) = &mut self.session {
            d.close();
        }
        self.set_state(DtlsTransportState::Closed, events);
    }

    /// One round of the session's output: a transmit (same-size datagrams batched for
    /// GSO), application data, a state change, or its deadline.
    pub(super) fn poll(&mut self, now: Instant, ice: &IceAgent) -> Polled {
        let Some(d) = &mut self.session else {
            return Polled::Deadline(now + crate::io::IDLE_TIMEOUT);
        };
        loop {
            let next = self.peeked.take().unwrap_or_else(|| d.poll_output());
            match next {
                Output::Transmit(p) => {
                    if ice.selected_pair().is_none() {
                        self.held.push_back(p);
                        continue;
                    }
                    // Datagrams of one size go out as one GSO batch (the last may be
                    // shorter): one system call instead of one each.
                    let seg = p.len();
                    let mut batch: Option<BytesMut> = None;
                    let mut count = 1;
                    while count < MAX_BATCH {
                        match d.poll_output() {
                            Output::Transmit(q) if q.len() <= seg => {
                                let b = batch.get_or_insert_with(|| {
                                    let mut b = BytesMut::with_capacity(seg * 8);
                                    b.extend_from_slice(&p);
                                    b
                                });
                                b.extend_from_slice(&q);
                                count += 1;
                                if q.len() < seg {
                                    break;
                                }
                            }
                            other @ (Output::Transmit(_) | Output::Event(_)) => {
                                self.peeked = Some(other);
                                break;
                            }
                            Output::Timeout(_) => break,
                        }
                    }
                    let contents = batch.map_or(p, BytesMut::freeze);
                    if let Some(mut t) = ice.transmit_on_selected(contents) {
                        if count > 1 {
                            t.segment_size = Some(seg);
                        }
                        return Polled::Transmit(t);
                    }
                }
                Output::Event(DtlsEvent::ApplicationData(p)) => return Polled::Data(p),
                Output::Event(DtlsEvent::Writable) => return Polled::Writable,
                Output::Event(e) => {
                    let s = match e {
                        DtlsEvent::Connected { .. } => DtlsTransportState::Connected,
                        DtlsEvent::Closed => DtlsTransportState::Closed,
                        DtlsEvent::Failed(e) => {
                            tracing::debug!(error = %e, "DTLS transport failed");
                            self.error = Some(e);
                            DtlsTransportState::Failed
                        }
                        _ => continue,
                    };
                    if self.state != s {
                        self.state = s;
                        return Polled::State(s);
                    }
                }
                Output::Timeout(t) => return Polled::Deadline(t),
            }
        }
    }
}

/// A received buffer to decrypt in place: taken as it is when the datagram has a buffer of
/// its own; one cut from a receive buffer it shares (the async driver's batches) is copied
/// once, so a record SCTP holds on to keeps only its own datagram alive.
fn owned(c: Bytes) -> BytesMut {
    c.try_into_mut().unwrap_or_else(|c| BytesMut::from(&c[..]))
}
