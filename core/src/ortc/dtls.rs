//! `DtlsTransport`: one DTLS session over an [`IceTransport`].

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use super::{DtlsParameters, DtlsRoleParam, IceRole, IceTransport, OrtcError, OrtcEvent};
use crate::demux::{PacketKind, classify};
use crate::dtls::{
    CipherSuite, Dtls, DtlsCertificate, DtlsConfig, DtlsError, DtlsEvent, DtlsRole, Fingerprint,
};
use crate::ice::IceEvent;
use crate::io::{Endpoint, Input, Output};
use crate::srtp::{SrtpConfig, SrtpProfile};

/// DTLS datagrams kept from before `start` (a peer's first flight is a few).
const MAX_EARLY: usize = 8;

/// Most datagrams one transmit carries (a GSO batch); the driver caps it further to what
/// the socket takes.
const MAX_BATCH: usize = 64;

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

/// `RTCDtlsTransport` over an ICE transport. The handshake starts once ICE has selected a
/// pair; its retransmission timer starts from the pair's measured round-trip time.
#[derive(Debug)]
pub struct DtlsTransport {
    ice: IceTransport,
    certificates: Vec<DtlsCertificate>,
    /// Hook for test or tuning: the configuration the session is built from.
    base: DtlsConfig,
    role: Option<DtlsRole>,
    /// The role we announce (`auto` unless the application chose one).
    local_role: DtlsRoleParam,
    remote_fingerprints: Vec<Fingerprint>,
    dtls: Option<Dtls>,
    state: DtlsTransportState,
    /// Datagrams DTLS produced before ICE had a pair to send them on.
    held: VecDeque<Bytes>,
    /// Held datagrams addressed once the pair came.
    pending: VecDeque<crate::io::Transmit>,
    /// An output taken from DTLS while filling a batch, to be handled next.
    peeked: Option<Output<DtlsEvent, Bytes>>,
    /// DTLS datagrams that arrived before `start`.
    early: VecDeque<Bytes>,
    events: VecDeque<OrtcEvent>,
    /// Why the session failed, once the state is `Failed`.
    error: Option<DtlsError>,
}

impl DtlsTransport {
    /// `new RTCDtlsTransport(iceTransport, certificates)`. The first certificate is
    /// presented; all of them are in the local fingerprints.
    pub fn new(ice: IceTransport, certificates: Vec<DtlsCertificate>) -> Result<Self, OrtcError> {
        let Some(first) = certificates.first().cloned() else {
            return Err(OrtcError::InvalidParameters(
                "a DTLS transport needs at least one certificate".into(),
            ));
        };
        let mut base = DtlsConfig::new(first, Vec::new());
        base.seed = ice.derived_seed(1);
        // One provider for the whole chain: DTLS takes the one ICE was configured with.
        base.provider = ice.provider().clone();
        Ok(DtlsTransport {
            ice,
            certificates,
            base,
            role: None,
            local_role: DtlsRoleParam::Auto,
            remote_fingerprints: Vec::new(),
            dtls: None,
            state: DtlsTransportState::New,
            held: VecDeque::new(),
            pending: VecDeque::new(),
            peeked: None,
            early: VecDeque::new(),
            events: VecDeque::new(),
            error: None,
        })
    }

    /// Adjust the session's configuration (suites, SRTP profiles, HelloVerifyRequest,
    /// seed) before `start`; the certificate and fingerprints are set by this transport.
    pub fn config_mut(&mut self) -> &mut DtlsConfig {
        &mut self.base
    }

    /// `getLocalParameters()`: SHA-256 fingerprints of our certificates, role `auto`.
    pub fn local_parameters(&self) -> DtlsParameters {
        DtlsParameters {
            role: self.local_role,
            ..DtlsParameters::for_certificates(&self.certificates, &*self.base.provider)
        }
    }

    /// Choose our role instead of `auto` (before `start`; it is in `local_parameters`).
    pub fn set_local_role(&mut self, role: DtlsRoleParam) -> Result<(), OrtcError> {
        if self.state != DtlsTransportState::New {
            return Err(OrtcError::AlreadyStarted("DTLS transport"));
        }
        self.local_role = role;
        Ok(())
    }

    /// `start(remoteParameters)`. The role is the opposite of an explicit remote role;
    /// with `auto` on both ends it follows the ICE role: controlling → server,
    /// controlled → client.
    pub fn start(&mut self, remote: &DtlsParameters) -> Result<(), OrtcError> {
        if self.state != DtlsTransportState::New {
            return Err(OrtcError::AlreadyStarted("DTLS transport"));
        }
        if remote.fingerprints.is_empty() {
            return Err(OrtcError::InvalidParameters(
                "remote DTLS parameters have no fingerprint".into(),
            ));
        }
        self.remote_fingerprints = remote
            .fingerprints
            .iter()
            .map(Fingerprint::try_from)
            .collect::<Result<_, _>>()?;
        self.role = Some(match (self.local_role, remote.role) {
            (DtlsRoleParam::Client, DtlsRoleParam::Client)
            | (DtlsRoleParam::Server, DtlsRoleParam::Server) => {
                return Err(OrtcError::InvalidParameters(format!(
                    "both ends asked for the DTLS {:?} role",
                    self.local_role
                )));
            }
            (DtlsRoleParam::Client, _) => DtlsRole::Client,
            (DtlsRoleParam::Server, _) => DtlsRole::Server,
            (_, DtlsRoleParam::Client) => DtlsRole::Server,
            (_, DtlsRoleParam::Server) => DtlsRole::Client,
            _ => match self.ice.role() {
                IceRole::Controlling => DtlsRole::Server,
                IceRole::Controlled => DtlsRole::Client,
            },
        });
        self.set_state(DtlsTransportState::Connecting);
        if self.ice.has_selected_pair() || !self.early.is_empty() {
            self.begin();
        }
        let now = self.ice.now();
        if let Some(d) = &mut self.dtls {
            for c in self.early.drain(..) {
                d.handle_datagram_owned(
                    now,
                    c.try_into_mut().unwrap_or_else(|c| BytesMut::from(&c[..])),
                );
            }
        }
        Ok(())
    }

    /// Why the handshake or session failed, once [`state`](Self::state) is `Failed`.
    pub fn error(&self) -> Option<&DtlsError> {
        self.error.as_ref()
    }

    /// `state`.
    pub fn state(&self) -> DtlsTransportState {
        self.state
    }

    /// The role taken at `start` (`None` before).
    pub fn role(&self) -> Option<DtlsRole> {
        self.role
    }

    /// `transport`: the ICE transport underneath.
    pub fn transport(&self) -> &IceTransport {
        &self.ice
    }

    /// The ICE transport underneath, to start it and add candidates.
    pub fn transport_mut(&mut self) -> &mut IceTransport {
        &mut self.ice
    }

    /// The negotiated suite, once connected.
    pub fn cipher_suite(&self) -> Option<CipherSuite> {
        self.dtls.as_ref()?.cipher_suite()
    }

    /// The negotiated SRTP profile and keying material, for media (RFC 5764).
    pub fn srtp_keying_material(&self) -> Option<(SrtpProfile, Vec<u8>)> {
        self.dtls.as_ref()?.srtp_keying_material()
    }

    /// An SRTP configuration keyed through this chain's crypto provider (the one in
    /// `IceGathererConfig::provider`), for contexts made from
    /// [`srtp_keying_material`](Self::srtp_keying_material), so media uses the same
    /// provider as ICE and DTLS.
    pub fn srtp_config(&self) -> SrtpConfig {
        SrtpConfig {
            provider: self.base.provider.clone(),
            ..SrtpConfig::default()
        }
    }

    /// The session underneath, once the handshake began.
    pub fn session(&self) -> Option<&Dtls> {
        self.dtls.as_ref()
    }

    /// Send application data in one record.
    pub fn send(&mut self, data: &[u8]) -> Result<(), OrtcError> {
        match &mut self.dtls {
            Some(d) => Ok(d.send(data)?),
            None => Err(OrtcError::NotStarted("DTLS transport is not connected")),
        }
    }

    /// Send one record written in place (see [`Dtls::send_with`]).
    pub fn send_with(&mut self, write: impl FnOnce(&mut Vec<u8>) -> bool) -> bool {
        match &mut self.dtls {
            Some(d) if d.is_connected() => d.send_with(write).unwrap_or(false),
            _ => false,
        }
    }

    /// `stop()`: close_notify to the peer, then ICE stops.
    pub fn stop(&mut self) {
        if let Some(d) = &mut self.dtls {
            d.close();
        }
        self.set_state(DtlsTransportState::Closed);
    }

    /// Build the session and start its clock: ICE has a pair, so the flight timer can
    /// start from the measured round trip.
    fn begin(&mut self) {
        let (Some(role), None) = (self.role, &self.dtls) else {
            return;
        };
        let mut cfg = self.base.clone();
        cfg.remote_fingerprints = self.remote_fingerprints.clone();
        if let Some(rtt) = self.ice.selected_rtt() {
            // Room for the peer's processing on top of the path; a lost flight still
            // costs only a few round trips, not the RFC's fixed second.
            cfg.initial_retransmit =
                (rtt * 2 + Duration::from_millis(10)).min(cfg.initial_retransmit);
        }
        self.dtls = Some(Dtls::new(role, cfg, self.ice.now()));
    }

    fn set_state(&mut self, s: DtlsTransportState) {
        if self.state != s {
            self.state = s;
            self.events.push_back(OrtcEvent::DtlsStateChange(s));
        }
    }

    /// Feed input; returns a datagram that is neither STUN nor DTLS.
    pub(crate) fn route(&mut self, input: Input) -> Option<crate::io::Receive> {
        let r = self.ice.route(input)?;
        let now = r.now;
        if classify(&r.contents) != PacketKind::Dtls {
            return Some(r);
        }
        if self.dtls.is_none() && self.role.is_some() {
            // The peer's handshake arrived before our ICE chose a pair: answer it; the
            // replies wait for the pair.
            self.begin();
        }
        match &mut self.dtls {
            Some(d) => {
                let contents = r.contents;
                let buf = contents
                    .try_into_mut()
                    .unwrap_or_else(|c| BytesMut::from(&c[..]));
                d.handle_datagram_owned(now, buf);
            }
            None if self.early.len() < MAX_EARLY => {
                // The peer started first: keep its opening flight for `start` rather
                // than make it wait a retransmission.
                self.early.push_back(r.contents);
            }
            None => tracing::trace!("DTLS before start: dropped (the peer retransmits)"),
        }
        None
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        self.ice.route(Input::Timeout(now));
        if let Some(d) = &mut self.dtls {
            d.handle_timeout(now);
        }
    }

    /// One output of ICE or DTLS; `Event(OrtcEvent::DtlsData)` carries application data.
    pub(crate) fn poll(&mut self) -> Output<OrtcEvent> {
        if let Some(t) = self.pending.pop_front() {
            return Output::Transmit(t);
        }
        let ice_deadline = match self.ice.poll_agent() {
            Output::Transmit(t) => return Output::Transmit(t),
            Output::Event(e) => {
                if matches!(e, IceEvent::SelectedPairChange { .. }) {
                    self.begin();
                    while let Some(d) = self.held.pop_front() {
                        if let Some(t) = self.ice.transmit(d) {
                            self.pending.push_back(t);
                        }
                    }
                }
                return Output::Event(OrtcEvent::Ice(e));
            }
            Output::Timeout(t) => t,
        };
        if let Some(e) = self.events.pop_front() {
            return Output::Event(e);
        }
        let mut dtls_deadline = ice_deadline;
        if let Some(d) = &mut self.dtls {
            loop {
                let next = self.peeked.take().unwrap_or_else(|| d.poll_output());
                match next {
                    Output::Transmit(p) => {
                        if !self.ice.has_selected_pair() {
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
                        if let Some(mut t) = self.ice.transmit(contents) {
                            if count > 1 {
                                t.segment_size = Some(seg);
                            }
                            return Output::Transmit(t);
                        }
                    }
                    Output::Event(DtlsEvent::ApplicationData(p)) => {
                        return Output::Event(OrtcEvent::DtlsData(p));
                    }
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
                            return Output::Event(OrtcEvent::DtlsStateChange(s));
                        }
                    }
                    Output::Timeout(t) => {
                        dtls_deadline = t;
                        break;
                    }
                }
            }
        }
        Output::Timeout(dtls_deadline.min(ice_deadline))
    }
}

impl Endpoint for DtlsTransport {
    type Event = OrtcEvent;

    fn handle_input(&mut self, input: Input) {
        match input {
            Input::Timeout(now) => self.handle_timeout(now),
            input => {
                if let Some(r) = self.route(input) {
                    self.events.push_back(OrtcEvent::Datagram(r));
                }
            }
        }
    }

    fn poll_output(&mut self) -> Output<OrtcEvent> {
        self.poll()
    }
}
