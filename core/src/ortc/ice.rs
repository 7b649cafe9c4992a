//! `IceGatherer` and `IceTransport` over one [`IceAgent`].

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use std::sync::Arc;

use bytes::Bytes;

use super::{IceCandidate, IceParameters, OrtcError, OrtcEvent};
use crate::crypto::{CryptoProvider, default_provider};
use crate::ice::{Candidate, IceAgent, IceConfig, IceConnectionState, IceGatheringState};
use crate::io::{Endpoint, Input, Output, Protocol, Receive, Transmit};

/// How a gatherer is set up.
#[derive(Debug, Clone)]
pub struct IceGathererConfig {
    /// Seed for credentials, tie-breaker and transaction ids, and (derived from those) for
    /// the DTLS and SCTP layers above. `None` draws one from the crypto provider, as every
    /// chain on a network needs its own; set it for reproducible simulations.
    pub seed: Option<u64>,
    /// The one crypto provider of the chain built on this gatherer: ICE's STUN integrity
    /// and DTLS (with its cookies) use it, and SRTP is to be keyed through the DTLS
    /// transport's, which is this one. The default is ring; a simulation that
    /// must replay byte for byte plugs in a seeded one (feature `insecure-seeded-crypto`).
    pub provider: Arc<dyn CryptoProvider>,
    /// STUN servers for server-reflexive candidates.
    pub stun_servers: Vec<SocketAddr>,
    /// Run as ICE-lite (answer checks, never send them).
    pub lite: bool,
    /// Pacing of connectivity checks (RFC 8445 §14.2, Ta); `None` keeps the agent's
    /// default.
    pub ta: Option<Duration>,
}

impl Default for IceGathererConfig {
    fn default() -> Self {
        IceGathererConfig {
            seed: None,
            provider: default_provider(),
            stun_servers: Vec::new(),
            lite: false,
            ta: None,
        }
    }
}

/// `RTCIceGatherer`: local ICE parameters and candidates. Core owns no sockets, so the
/// caller (a runtime, or its own loop) names the addresses its sockets are bound to;
/// server-reflexive candidates are learned by driving the gatherer (or the transport it
/// becomes) with that socket's traffic.
#[derive(Debug)]
pub struct IceGatherer {
    agent: IceAgent,
}

impl IceGatherer {
    /// A gatherer with fresh credentials, its clock (and that of every transport built
    /// on it) starting at `now`.
    pub fn new(cfg: IceGathererConfig, now: Instant) -> Self {
        let defaults = IceConfig::default();
        let seed = cfg.seed.unwrap_or_else(|| {
            let mut b = [0u8; 8];
            // Without a working random source the seed stays fixed: still correct, only
            // as predictable as a simulation's.
            let _ = cfg.provider.fill_random(&mut b);
            u64::from_le_bytes(b)
        });
        Self::with_ice_config(
            IceConfig {
                seed,
                provider: cfg.provider,
                stun_servers: cfg.stun_servers,
                lite: cfg.lite,
                ta: cfg.ta.unwrap_or(defaults.ta),
                // Setup time under loss is decided here: a lost check must not cost the
                // RFC's 500 ms. Retransmit fast while nothing is known, as browsers do (they
                // re-ping unconfirmed pairs every ~50 ms), backing off to the usual pace.
                check_timing: crate::stun::StunTiming {
                    initial_rto: Duration::from_millis(50),
                    max_requests: 10,
                    ..defaults.check_timing
                },
                ..defaults
            },
            now,
        )
    }

    /// A gatherer over an agent configured in full (timings, limits).
    pub fn with_ice_config(cfg: IceConfig, now: Instant) -> Self {
        IceGatherer {
            agent: IceAgent::new(cfg, now),
        }
    }

    /// `getLocalParameters()`.
    pub fn local_parameters(&self) -> IceParameters {
        IceParameters::from(self.agent.local_credentials())
    }

    /// `gather()`: host candidates for these bound UDP addresses (and, with STUN
    /// servers, server-reflexive ones as their answers arrive).
    pub fn gather(&mut self, addresses: &[SocketAddr]) -> Result<(), OrtcError> {
        for &a in addresses {
            self.agent
                .add_local_candidate(Candidate::host(a, Protocol::Udp))?;
        }
        self.agent.end_of_local_candidates();
        Ok(())
    }

    /// `getLocalCandidates()`.
    pub fn local_candidates(&self) -> Vec<IceCandidate> {
        self.agent
            .local_candidates()
            .map(IceCandidate::from)
            .collect()
    }

    /// `state`.
    pub fn state(&self) -> IceGatheringState {
        self.agent.gathering_state()
    }
}

impl Endpoint for IceGatherer {
    type Event = OrtcEvent;

    fn handle_input(&mut self, input: Input) {
        self.agent.handle_input(input);
    }

    fn poll_output(&mut self) -> Output<OrtcEvent> {
        match self.agent.poll_output() {
            Output::Transmit(t) => Output::Transmit(t),
            Output::Event(e) => Output::Event(OrtcEvent::Ice(e)),
            Output::Timeout(t) => Output::Timeout(t),
        }
    }
}

/// ICE role, as `RTCIceTransport.start` takes it.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IceRole {
    /// Nominates the pair (the offerer, in JSEP terms).
    Controlling,
    /// Follows the peer's nomination.
    Controlled,
}

/// `RTCIceTransport`: connectivity checks and the selected pair, over a gatherer's agent.
#[derive(Debug)]
pub struct IceTransport {
    agent: IceAgent,
    started: bool,
    datagrams: VecDeque<Receive>,
    /// Checks that arrived before `start`: answered once our role is known, so a peer
    /// that started first does not meet a wrong role (and a role-conflict repair).
    early: VecDeque<Receive>,
    /// The latest time of any input, data included (which the agent does not see).
    now: Instant,
}

/// Checks kept from before `start`.
const MAX_EARLY_CHECKS: usize = 16;

impl IceTransport {
    /// `new RTCIceTransport(gatherer)`.
    pub fn new(gatherer: IceGatherer) -> Self {
        IceTransport {
            now: gatherer.agent.now(),
            agent: gatherer.agent,
            started: false,
            datagrams: VecDeque::new(),
            early: VecDeque::new(),
        }
    }

    /// `start(remoteParameters, role)`. Remote candidates may come before or after.
    pub fn start(&mut self, remote: &IceParameters, role: IceRole) -> Result<(), OrtcError> {
        if self.started {
            return Err(OrtcError::AlreadyStarted("ICE transport"));
        }
        let creds = crate::ice::IceCredentials::from(remote);
        self.agent.check_remote_credentials(&creds)?;
        self.agent.set_controlling(role == IceRole::Controlling);
        self.agent.set_remote_credentials(creds);
        self.started = true;
        for r in std::mem::take(&mut self.early) {
            self.agent.handle_input(Input::Receive(r));
        }
        Ok(())
    }

    /// `addRemoteCandidate(candidate)`; `None` is end-of-candidates.
    pub fn add_remote_candidate(&mut self, c: Option<&IceCandidate>) -> Result<(), OrtcError> {
        match c {
            Some(c) => self.agent.add_remote_candidate(Candidate::try_from(c)?)?,
            None => self.agent.end_of_remote_candidates(),
        }
        Ok(())
    }

    /// Why ICE failed, once [`state`](Self::state) is `Failed`.
    pub fn failure(&self) -> Option<crate::ice::IceFailure> {
        self.agent.failure()
    }

    /// `state` (`RTCIceTransportState` has the connection state's values).
    pub fn state(&self) -> IceConnectionState {
        self.agent.connection_state()
    }

    /// `role`.
    pub fn role(&self) -> IceRole {
        if self.agent.controlling() {
            IceRole::Controlling
        } else {
            IceRole::Controlled
        }
    }

    /// The gatherer's `getLocalParameters()`.
    pub fn local_parameters(&self) -> IceParameters {
        IceParameters::from(self.agent.local_credentials())
    }

    /// The gatherer's `getLocalCandidates()`.
    pub fn gatherer_candidates(&self) -> Vec<IceCandidate> {
        self.agent
            .local_candidates()
            .map(IceCandidate::from)
            .collect()
    }

    /// `getSelectedCandidatePair()`: (local, remote).
    pub fn selected_pair(&self) -> Option<(IceCandidate, IceCandidate)> {
        self.agent
            .selected_pair()
            .map(|(l, r)| (IceCandidate::from(l), IceCandidate::from(r)))
    }

    /// Round-trip time measured on the selected pair.
    pub fn selected_rtt(&self) -> Option<Duration> {
        self.agent.selected_rtt()
    }

    /// The agent underneath (statistics, candidates in core form).
    pub fn agent(&self) -> &IceAgent {
        &self.agent
    }

    /// `stop()`: no more checks or consent; nothing is sent any more.
    pub fn stop(&mut self) {
        self.agent.close();
    }

    /// Feed input; returns a datagram that is not STUN, for the layer above.
    pub(crate) fn route(&mut self, input: Input) -> Option<Receive> {
        self.now = self.now.max(input.now());
        match input {
            // A Binding request (type 0x0001) before `start`: hold it. Responses still
            // pass, for server-reflexive gathering.
            Input::Receive(r)
                if !self.started
                    && r.contents.starts_with(&[0x00, 0x01])
                    && crate::stun::is_stun(&r.contents) =>
            {
                self.agent.handle_input(Input::Timeout(r.now));
                if self.early.len() < MAX_EARLY_CHECKS {
                    self.early.push_back(r);
                }
                None
            }
            // Not for ICE; its timers come as timeouts, so data costs it nothing. Only
            // the peer's verified address may reach the layers above.
            Input::Receive(r) if !crate::stun::is_stun(&r.contents) => {
                self.agent.accepts_data_from(r.source).then_some(r)
            }
            other => {
                self.agent.handle_input(other);
                None
            }
        }
    }

    /// A datagram to the peer on the selected pair, if there is one.
    pub(crate) fn transmit(&self, contents: Bytes) -> Option<Transmit> {
        self.agent.transmit_on_selected(contents)
    }

    pub(crate) fn poll_agent(&mut self) -> Output<crate::ice::IceEvent> {
        self.agent.poll_output()
    }

    /// The chain's crypto provider (from [`IceGathererConfig::provider`]), for the
    /// layers above.
    pub(crate) fn provider(&self) -> &Arc<dyn CryptoProvider> {
        self.agent.provider()
    }

    /// A seed for a layer above, derived from this agent's (random) credentials, so one
    /// seed steers the whole chain and chains differ from each other.
    pub(crate) fn derived_seed(&self, layer: u8) -> u64 {
        let c = self.agent.local_credentials();
        let digest = self.provider().hash(
            crate::crypto::HashAlgorithm::Sha256,
            &[c.ufrag.as_bytes(), c.pwd.as_bytes(), &[layer]],
        );
        u64::from_le_bytes(digest[..8].try_into().expect("32-byte digest"))
    }

    /// Whether ICE has verified `remote` (see [`IceAgent::accepts_data_from`]).
    pub(crate) fn verified_remote(&mut self, remote: SocketAddr) -> bool {
        self.agent.accepts_data_from(remote)
    }

    /// The latest time the transport was given (its start time before any input).
    pub(crate) fn now(&self) -> Instant {
        self.now
    }

    pub(crate) fn has_selected_pair(&self) -> bool {
        self.agent.selected_pair().is_some()
    }
}

impl Endpoint for IceTransport {
    type Event = OrtcEvent;

    fn handle_input(&mut self, input: Input) {
        if let Some(r) = self.route(input) {
            self.datagrams.push_back(r);
        }
    }

    fn poll_output(&mut self) -> Output<OrtcEvent> {
        match self.agent.poll_output() {
            Output::Transmit(t) => Output::Transmit(t),
            Output::Event(e) => Output::Event(OrtcEvent::Ice(e)),
            Output::Timeout(t) => match self.datagrams.pop_front() {
                Some(r) => Output::Event(OrtcEvent::Datagram(r)),
                None => Output::Timeout(t),
            },
        }
    }
}
