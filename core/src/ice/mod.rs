//! ICE agent (RFC 8445) with trickle (RFC 8838), consent freshness (RFC 7675) and ICE-lite.
//!
//! The agent is one sans-IO machine: the caller gives it host candidates (it never
//! enumerates interfaces), remote credentials and candidates from signaling, and
//! datagrams and time; it hands out STUN checks to send, events and deadlines. It
//! gathers server-reflexive candidates itself by sending Binding requests to the
//! configured STUN servers from each host candidate's socket.
//!
//! Only STUN passes through the agent. Application data goes out on
//! [`IceAgent::selected_pair`]'s addresses; an upper layer demultiplexes received
//! datagrams (RFC 7983) and feeds the agent only STUN.
//!
//! See the crate documentation for a two-agent example, and `sim` for agents behind NATs.

mod candidate;
mod pair;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

pub(crate) use candidate::protocol_from_token;
pub use candidate::{
    Candidate, CandidateKind, DEFAULT_LOCAL_PREFERENCE, TcpType, compute_priority,
};
use pair::{Pair, PairState, pair_priority};

use crate::crypto::{CryptoProvider, default_provider};
use crate::io::{Endpoint, IDLE_TIMEOUT, Input, Output, Protocol, Receive, Transmit};
use crate::rng::Rng;
use crate::stun::{
    Class, Message, MessageBuilder, Method, StunTiming, Transaction, TransactionAction,
    TransactionId,
};

/// Errors from ICE API misuse or bad signaling input.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IceError {
    /// A candidate string or value could not be used.
    #[error("invalid ICE candidate: {0}")]
    InvalidCandidate(String),
    /// Local candidates must be host (or relayed) candidates; the agent finds the others.
    #[error("local candidates must be host or relayed, got {0:?}")]
    NotALocalKind(CandidateKind),
    /// Too many candidates: the limit protects memory against a hostile peer.
    #[error("too many {0} candidates (limit {1})")]
    TooManyCandidates(&'static str, usize),
    /// Both agents are ICE-lite; RFC 8445 §2.5 needs at least one full agent.
    #[error("both ICE agents are lite; one must be a full agent")]
    BothLite,
    /// The agent was closed.
    #[error("ICE agent is closed")]
    Closed,
}

/// ICE username fragment and password, plus whether the agent is lite.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IceCredentials {
    /// `ice-ufrag` (4–256 ICE characters).
    pub ufrag: String,
    /// `ice-pwd` (22–256 ICE characters).
    pub pwd: String,
    /// `ice-lite`.
    pub lite: bool,
}

impl IceCredentials {
    /// Fresh random credentials: 8-character ufrag and 24-character pwd (≥ 128 bits).
    pub fn random(rng: &mut Rng) -> Self {
        IceCredentials {
            ufrag: rng.ice_string(8),
            pwd: rng.ice_string(24),
            lite: false,
        }
    }
}

/// W3C `RTCIceConnectionState`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IceConnectionState {
    /// Waiting for remote credentials or candidates.
    New,
    /// Checks under way, no usable pair yet.
    Checking,
    /// A pair is selected and consent is fresh.
    Connected,
    /// Connected, all candidates known on both sides and checking is over.
    Completed,
    /// No pair works (or consent expired, RFC 7675).
    Failed,
    /// Consent checks are going unanswered; may recover.
    Disconnected,
    /// [`IceAgent::close`] was called.
    Closed,
}

/// W3C `RTCIceGatheringState`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IceGatheringState {
    /// Nothing gathered yet.
    New,
    /// Candidates are being gathered.
    Gathering,
    /// All local candidates are known.
    Complete,
}

/// Something the application should act on.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IceEvent {
    /// The connection state changed.
    ConnectionStateChange(IceConnectionState),
    /// The gathering state changed.
    GatheringStateChange(IceGatheringState),
    /// A local candidate to signal to the peer (trickle, RFC 8838).
    LocalCandidate(Candidate),
    /// All local candidates have been reported: signal end-of-candidates.
    EndOfLocalCandidates,
    /// Application data should now flow between these two candidates: send from
    /// `local.base()` to `remote.address()`.
    SelectedPairChange {
        /// Local candidate of the pair.
        local: Candidate,
        /// Remote candidate of the pair.
        remote: Candidate,
    },
    /// The agent switched role after a role conflict (RFC 8445 §7.3.1.1).
    RoleChange {
        /// Whether the agent is now controlling.
        controlling: bool,
    },
}

/// Agent configuration. `Default` is a full, controlled agent with RFC timings.
#[derive(Debug, Clone)]
pub struct IceConfig {
    /// Seed for every random choice (credentials, tie-breaker, transaction ids, jitter).
    pub seed: u64,
    /// Start as the controlling agent (the offerer, in JSEP).
    pub controlling: bool,
    /// Run as an ICE-lite agent: answer checks, never send them (RFC 8445 §2.5).
    pub lite: bool,
    /// Use these local credentials instead of random ones.
    pub credentials: Option<IceCredentials>,
    /// STUN servers for server-reflexive candidates.
    pub stun_servers: Vec<SocketAddr>,
    /// Pacing of new checks (Ta, RFC 8445 §14.2; default 50 ms).
    pub ta: Duration,
    /// Retransmission of connectivity checks. RTO is never below 500 ms for checks
    /// beyond the first few (RFC 8445 §14.3) unless configured lower.
    pub check_timing: StunTiming,
    /// Retransmission of Binding requests to STUN servers.
    pub gather_timing: StunTiming,
    /// Mean interval between consent checks (RFC 7675 §5.1: 5 s, randomized ±20 %).
    pub consent_interval: Duration,
    /// Without a consent response for this long, the state becomes `Disconnected`.
    pub disconnected_timeout: Duration,
    /// Without a consent response for this long, consent is lost: `Failed` (RFC 7675: 30 s).
    pub consent_timeout: Duration,
    /// As controlling agent, wait at most this long after the first valid pair for a
    /// better pair before nominating (RFC 8445 §8.1.1 leaves the choice to the agent).
    pub nomination_delay: Duration,
    /// Upper bound on remote candidates kept (protects memory against a hostile peer).
    pub max_remote_candidates: usize,
    /// Upper bound on candidate pairs (RFC 8445 §6.1.2.5 suggests 100).
    pub max_pairs: usize,
    /// Computes and checks STUN MESSAGE-INTEGRITY; in an ORTC chain, the provider DTLS
    /// and SRTP use too.
    pub provider: Arc<dyn CryptoProvider>,
}

impl Default for IceConfig {
    fn default() -> Self {
        IceConfig {
            seed: 0,
            controlling: false,
            lite: false,
            credentials: None,
            stun_servers: Vec::new(),
            ta: Duration::from_millis(50),
            check_timing: StunTiming {
                initial_rto: Duration::from_millis(500),
                max_rto: Duration::from_secs(8),
                max_requests: 7,
                last_wait_factor: 16,
            },
            gather_timing: StunTiming {
                initial_rto: Duration::from_millis(500),
                max_rto: Duration::from_secs(8),
                max_requests: 7,
                last_wait_factor: 4,
            },
            consent_interval: Duration::from_secs(5),
            disconnected_timeout: Duration::from_secs(8),
            consent_timeout: Duration::from_secs(30),
            nomination_delay: Duration::from_millis(500),
            max_remote_candidates: 100,
            max_pairs: 100,
            provider: default_provider(),
        }
    }
}

/// Counters of what the agent did and dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IceStats {
    /// Connectivity checks sent (retransmissions included).
    pub checks_sent: u64,
    /// Consent checks sent on the selected pair.
    pub consent_checks_sent: u64,
    /// Binding requests received and answered.
    pub requests_received: u64,
    /// Binding responses accepted.
    pub responses_received: u64,
    /// Role conflicts resolved (487 sent or received, or role switched).
    pub role_conflicts: u64,
    /// Datagrams that were not STUN.
    pub dropped_not_stun: u64,
    /// STUN messages that failed to parse.
    pub dropped_malformed: u64,
    /// Messages with a missing or wrong MESSAGE-INTEGRITY.
    pub dropped_bad_integrity: u64,
    /// Requests whose USERNAME does not name our ufrag.
    pub dropped_unknown_username: u64,
    /// Responses matching no transaction of ours.
    pub dropped_unknown_transaction: u64,
    /// Datagrams that arrived on an address we have no candidate for, or were otherwise
    /// unusable (missing PRIORITY, wrong method, candidate limits).
    pub dropped_other: u64,
    /// Application datagrams (DTLS, SRTP) refused by [`IceAgent::accepts_data_from`]:
    /// from an address other than the selected pair's remote, or before any check from
    /// it succeeded.
    pub dropped_unverified_source: u64,
}

/// A Binding request to a STUN server for server-reflexive discovery.
#[derive(Debug)]
struct Gather {
    base: SocketAddr,
    server: SocketAddr,
    tid: TransactionId,
    txn: Transaction,
    done: bool,
}

/// A consent check in flight on the selected pair.
#[derive(Debug, Clone, Copy)]
struct ConsentCheck {
    tid: TransactionId,
    pair: usize,
    sent_at: Instant,
}

/// Why ICE failed.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum IceFailure {
    /// Every candidate pair failed its checks, with gathering and the peer's candidates
    /// complete (RFC 8445 §7.2.5.3).
    #[error("no candidate pair works")]
    NoWorkingPair,
    /// The selected pair went unanswered for the consent timeout (RFC 7675 §5.1).
    #[error("consent lost: the peer stopped answering on the selected pair")]
    ConsentLost,
}

/// The ICE agent. See the module docs.
#[derive(Debug)]
pub struct IceAgent {
    cfg: IceConfig,
    rng: Rng,
    local_creds: IceCredentials,
    remote_creds: Option<IceCredentials>,
    controlling: bool,
    tie_breaker: u64,
    local: Vec<Candidate>,
    remote: Vec<Candidate>,
    pairs: Vec<Pair>,
    triggered: VecDeque<usize>,
    gathers: Vec<Gather>,
    consent: VecDeque<ConsentCheck>,
    local_eoc: bool,
    remote_eoc: bool,
    conn_state: IceConnectionState,
    gather_state: IceGatheringState,
    /// Index of the pair application data uses.
    selected: Option<usize>,
    /// The pair data used before an ICE restart, until a new one is selected.
    /// Boxed: two candidates are 272 bytes that every agent would carry inline, and only
    /// an agent mid-restart has them.
    restart_path: Option<Box<(Candidate, Candidate)>>,
    /// Controlling: the pair whose USE-CANDIDATE check is in flight.
    nominating: Option<usize>,
    first_valid_at: Option<Instant>,
    next_check_at: Option<Instant>,
    /// The latest time we were given (the start time until the first input).
    now: Instant,
    closed: bool,
    failure: Option<IceFailure>,
    events: VecDeque<IceEvent>,
    out: VecDeque<Transmit>,
    stats: IceStats,
}

impl IceAgent {
    /// A new agent whose clock starts at `now`.
    pub fn new(cfg: IceConfig, now: Instant) -> Self {
        let mut rng = Rng::from_seed(cfg.seed);
        let mut local_creds = cfg
            .credentials
            .clone()
            .unwrap_or_else(|| IceCredentials::random(&mut rng));
        local_creds.lite = cfg.lite;
        let tie_breaker = rng.u64();
        IceAgent {
            controlling: cfg.controlling && !cfg.lite,
            cfg,
            rng,
            local_creds,
            remote_creds: None,
            tie_breaker,
            local: Vec::new(),
            remote: Vec::new(),
            pairs: Vec::new(),
            triggered: VecDeque::new(),
            gathers: Vec::new(),
            consent: VecDeque::new(),
            local_eoc: false,
            remote_eoc: false,
            conn_state: IceConnectionState::New,
            gather_state: IceGatheringState::New,
            selected: None,
            restart_path: None,
            nominating: None,
            first_valid_at: None,
            next_check_at: None,
            now,
            closed: false,
            failure: None,
            events: VecDeque::new(),
            out: VecDeque::new(),
            stats: IceStats::default(),
        }
    }

    /// Why the agent failed, once its connection state is `Failed`.
    pub fn failure(&self) -> Option<IceFailure> {
        self.failure
    }

    /// The latest time the agent was given: its start time until the first input.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The crypto provider from the configuration (STUN integrity), which the layers
    /// above an ORTC ICE transport take as theirs.
    pub fn provider(&self) -> &Arc<dyn CryptoProvider> {
        &self.cfg.provider
    }

    /// Our ufrag and pwd, to signal to the peer.
    pub fn local_credentials(&self) -> &IceCredentials {
        &self.local_creds
    }

    /// The peer's credentials, if signaled.
    pub fn remote_credentials(&self) -> Option<&IceCredentials> {
        self.remote_creds.as_ref()
    }

    /// Whether the agent currently holds the controlling role.
    pub fn controlling(&self) -> bool {
        self.controlling
    }

    /// Current connection state.
    pub fn connection_state(&self) -> IceConnectionState {
        self.conn_state
    }

    /// Current gathering state.
    pub fn gathering_state(&self) -> IceGatheringState {
        self.gather_state
    }

    /// Counters.
    pub fn stats(&self) -> IceStats {
        self.stats
    }

    /// Local candidates to signal: host, server-reflexive and relayed (peer-reflexive
    /// ones are never signaled, RFC 8445 §7.2.5.3.1).
    pub fn local_candidates(&self) -> impl Iterator<Item = &Candidate> {
        self.local
            .iter()
            .filter(|c| c.kind() != CandidateKind::PeerReflexive)
    }

    /// Remote candidates known so far, including peer-reflexive ones.
    pub fn remote_candidates(&self) -> &[Candidate] {
        &self.remote
    }

    /// The pair application data uses: send from `local.base()` to `remote.address()`.
    pub fn selected_pair(&self) -> Option<(&Candidate, &Candidate)> {
        match self.selected {
            Some(pi) => {
                let p = &self.pairs[pi];
                Some((&self.local[p.local], &self.remote[p.remote]))
            }
            None => self.restart_path.as_deref().map(|(l, r)| (l, r)),
        }
    }

    /// Whether an application datagram (DTLS, SRTP: anything not STUN) from `source`
    /// may go on to the layers above. Once a pair is selected, only from its remote
    /// address (consent and ICE restarts move it); before, only from a remote address
    /// that proved it holds the credentials: an authenticated check from it, or a
    /// success response to ours. Anyone can send us a datagram, so an off-path one must
    /// never reach a layer that acts on it (a plaintext DTLS alert would close the
    /// session). Refusals are counted in [`IceStats::dropped_unverified_source`].
    pub fn accepts_data_from(&mut self, source: SocketAddr) -> bool {
        let ok = match self.selected_pair() {
            Some((_, remote)) => remote.address() == source,
            None => self.pairs.iter().any(|p| {
                (p.state == PairState::Succeeded || p.last_request.is_some())
                    && self.remote[p.remote].address() == source
            }),
        };
        if !ok {
            self.stats.dropped_unverified_source += 1;
        }
        ok
    }

    /// Round-trip time measured on the selected pair by its latest check.
    pub fn selected_rtt(&self) -> Option<Duration> {
        self.pairs[self.selected?].rtt
    }

    /// A transmit carrying `contents` over the selected pair, if there is one.
    pub fn transmit_on_selected(&self, contents: Bytes) -> Option<Transmit> {
        let (l, r) = self.selected_pair()?;
        Some(Transmit::single(
            l.protocol(),
            l.base(),
            r.address(),
            contents,
        ))
    }

    /// Add a local host (or relayed) candidate. With STUN servers configured, the agent
    /// then gathers a server-reflexive candidate from the same socket.
    pub fn add_local_candidate(&mut self, c: Candidate) -> Result<(), IceError> {
        if self.closed {
            return Err(IceError::Closed);
        }
        if !matches!(c.kind(), CandidateKind::Host | CandidateKind::Relayed) {
            return Err(IceError::NotALocalKind(c.kind()));
        }
        if self.local.iter().any(|l| l.address() == c.address()) {
            return Ok(());
        }
        if self.local.len() >= 64 {
            return Err(IceError::TooManyCandidates("local", 64));
        }
        self.set_gathering(IceGatheringState::Gathering);
        if c.kind() == CandidateKind::Host && c.protocol() == Protocol::Udp {
            for server in self.cfg.stun_servers.clone() {
                if server.is_ipv4() == c.base().is_ipv4() {
                    let tid = TransactionId::random(&mut self.rng);
                    self.gathers.push(Gather {
                        base: c.base(),
                        server,
                        tid,
                        txn: Transaction::new(self.now, self.cfg.gather_timing),
                        done: false,
                    });
                    self.send_gather(self.gathers.len() - 1);
                }
            }
        }
        self.local.push(c.clone());
        self.events.push_back(IceEvent::LocalCandidate(c));
        let li = self.local.len() - 1;
        for ri in 0..self.remote.len() {
            self.add_pair(li, ri);
        }
        self.check_gathering_complete();
        Ok(())
    }

    /// All host candidates have been added: gathering completes once server-reflexive
    /// discovery finishes.
    pub fn end_of_local_candidates(&mut self) {
        self.local_eoc = true;
        self.set_gathering(IceGatheringState::Gathering);
        self.check_gathering_complete();
    }

    /// Take the controlling or controlled role, as ORTC's `IceTransport.start` does; a
    /// lite agent stays controlled. Later conflicts are still resolved by RFC 8445 §7.3.1.1.
    pub fn set_controlling(&mut self, controlling: bool) {
        let controlling = controlling && !self.cfg.lite;
        if controlling != self.controlling {
            self.controlling = controlling;
            self.nominating = None;
            self.reprioritize();
        }
    }

    /// Set the peer's credentials. New credentials after earlier ones mean the peer
    /// restarted ICE: its old candidates are forgotten.
    pub fn set_remote_credentials(&mut self, creds: IceCredentials) {
        if self.cfg.lite && creds.lite {
            // Two lite agents cannot connect; stay put and let the caller see no progress.
            self.stats.dropped_other += 1;
        }
        if let Some(old) = &self.remote_creds
            && (old.ufrag != creds.ufrag || old.pwd != creds.pwd)
        {
            self.forget_remote();
        }
        if creds.lite && !self.cfg.lite {
            // A full agent facing a lite one must control (RFC 8445 §6.1.1).
            self.controlling = true;
            self.reprioritize();
        }
        self.remote_creds = Some(creds);
        self.arm_checks();
        self.update_state();
    }

    /// Validate the credentials pair before use (both lite is a configuration error).
    pub fn check_remote_credentials(&self, creds: &IceCredentials) -> Result<(), IceError> {
        if self.cfg.lite && creds.lite {
            return Err(IceError::BothLite);
        }
        Ok(())
    }

    /// Add a remote candidate, at any time (trickle).
    pub fn add_remote_candidate(&mut self, c: Candidate) -> Result<(), IceError> {
        if self.closed {
            return Err(IceError::Closed);
        }
        if c.component() != 1 {
            // WebRTC multiplexes RTP and RTCP on component 1; others are ignored.
            return Ok(());
        }
        if let Some(existing) = self
            .remote
            .iter_mut()
            .find(|r| r.address() == c.address() && r.protocol() == c.protocol())
        {
            // A signaled candidate replaces a peer-reflexive one learnt earlier (RFC 8445 §7.3.1.3).
            if existing.kind() == CandidateKind::PeerReflexive {
                *existing = c;
            }
            return Ok(());
        }
        if self.remote.len() >= self.cfg.max_remote_candidates {
            return Err(IceError::TooManyCandidates(
                "remote",
                self.cfg.max_remote_candidates,
            ));
        }
        self.remote.push(c);
        let ri = self.remote.len() - 1;
        for li in 0..self.local.len() {
            self.add_pair(li, ri);
        }
        self.arm_checks();
        self.update_state();
        Ok(())
    }

    /// The peer signaled end-of-candidates (RFC 8838 §8.2).
    pub fn end_of_remote_candidates(&mut self) {
        self.remote_eoc = true;
        self.update_state();
    }

    /// Restart ICE (RFC 8445 §9): new local credentials; remote credentials and
    /// candidates must be signaled again. Data keeps flowing on the old selected pair
    /// until a new one is chosen.
    pub fn restart(&mut self) {
        self.failure = None;
        if self.closed {
            return;
        }
        self.local_creds = IceCredentials::random(&mut self.rng);
        self.local_creds.lite = self.cfg.lite;
        self.remote_creds = None;
        self.forget_remote();
        self.local
            .retain(|c| c.kind() != CandidateKind::PeerReflexive);
        self.gather_state = IceGatheringState::New;
        self.set_gathering(IceGatheringState::Gathering);
        for c in self.local.clone() {
            self.events.push_back(IceEvent::LocalCandidate(c));
        }
        self.check_gathering_complete();
        self.set_conn_state(IceConnectionState::Checking);
    }

    /// Stop: no more datagrams, timers or state changes except `Closed`.
    pub fn close(&mut self) {
        if !self.closed {
            self.closed = true;
            self.out.clear();
            self.restart_path = None;
            self.set_conn_state(IceConnectionState::Closed);
        }
    }

    fn forget_remote(&mut self) {
        if let Some((l, r)) = self.selected_pair() {
            self.restart_path = Some(Box::new((l.clone(), r.clone())));
        }
        self.remote.clear();
        self.pairs.clear();
        self.triggered.clear();
        self.consent.clear();
        self.selected = None;
        self.nominating = None;
        self.first_valid_at = None;
        self.remote_eoc = false;
    }

    fn set_gathering(&mut self, s: IceGatheringState) {
        if self.gather_state != s {
            self.gather_state = s;
            self.events.push_back(IceEvent::GatheringStateChange(s));
        }
    }

    fn check_gathering_complete(&mut self) {
        if self.local_eoc
            && self.gather_state == IceGatheringState::Gathering
            && self.gathers.iter().all(|g| g.done)
        {
            self.events.push_back(IceEvent::EndOfLocalCandidates);
            self.set_gathering(IceGatheringState::Complete);
        }
    }

    fn set_conn_state(&mut self, s: IceConnectionState) {
        if self.conn_state != s {
            tracing::debug!(from = ?self.conn_state, to = ?s, "ICE connection state");
            self.conn_state = s;
            self.events.push_back(IceEvent::ConnectionStateChange(s));
        }
    }

    fn add_pair(&mut self, li: usize, ri: usize) {
        let (l, r) = (&self.local[li], &self.remote[ri]);
        // Reflexive local candidates are pruned to their base (RFC 8445 §6.1.2.4).
        if !matches!(l.kind(), CandidateKind::Host | CandidateKind::Relayed)
            || l.protocol() != r.protocol()
            || l.address().is_ipv4() != r.address().is_ipv4()
            || self.pairs.len() >= self.cfg.max_pairs
            || self.pairs.iter().any(|p| p.local == li && p.remote == ri)
        {
            return;
        }
        // One Waiting pair per foundation pair; the rest wait frozen (RFC 8445 §6.1.2.6).
        let foundation_active = self.pairs.iter().any(|p| {
            self.local[p.local].foundation() == l.foundation()
                && self.remote[p.remote].foundation() == r.foundation()
                && p.state != PairState::Failed
        });
        let prio = pair_priority(self.controlling, l.priority(), r.priority());
        let state = if foundation_active {
            PairState::Frozen
        } else {
            PairState::Waiting
        };
        self.pairs.push(Pair::new(li, ri, prio, state));
    }

    fn reprioritize(&mut self) {
        for p in &mut self.pairs {
            p.priority = pair_priority(
                self.controlling,
                self.local[p.local].priority(),
                self.remote[p.remote].priority(),
            );
        }
    }

    fn can_check(&self) -> bool {
        !self.closed && !self.cfg.lite && self.remote_creds.is_some()
    }

    fn arm_checks(&mut self) {
        if self.can_check() && self.next_check_at.is_none() {
            self.next_check_at = Some(self.now);
        }
    }

    fn send_gather(&mut self, gi: usize) {
        let g = &self.gathers[gi];
        let msg =
            MessageBuilder::new(Class::Request, Method::Binding, g.tid).finish_with_fingerprint();
        self.out.push_back(Transmit::single(
            Protocol::Udp,
            g.base,
            g.server,
            Bytes::from(msg),
        ));
    }

    /// A connectivity (or consent) check on pair `pi`.
    fn build_check(&self, pi: usize, tid: TransactionId, use_candidate: bool) -> Option<Transmit> {
        let remote_creds = self.remote_creds.as_ref()?;
        let p = &self.pairs[pi];
        let (l, r) = (&self.local[p.local], &self.remote[p.remote]);
        let prflx_priority =
            compute_priority(CandidateKind::PeerReflexive, l.priority() >> 8 & 0xFFFF, 1);
        let mut b = MessageBuilder::new(Class::Request, Method::Binding, tid);
        b.username(&format!(
            "{}:{}",
            remote_creds.ufrag, self.local_creds.ufrag
        ))
        .priority(prflx_priority)
        .ice_role(self.controlling, self.tie_breaker);
        if use_candidate {
            b.use_candidate();
        }
        let msg = b.finish_with_integrity(&*self.cfg.provider, remote_creds.pwd.as_bytes());
        Some(Transmit::single(
            l.protocol(),
            l.base(),
            r.address(),
            Bytes::from(msg),
        ))
    }

    fn start_check(&mut self, pi: usize, now: Instant) {
        let use_candidate = self.controlling && self.nominating == Some(pi);
        let tid = TransactionId::random(&mut self.rng);
        let Some(t) = self.build_check(pi, tid, use_candidate) else {
            return;
        };
        let p = &mut self.pairs[pi];
        p.state = PairState::InProgress;
        p.txn = Some((
            tid,
            Transaction::new(now, self.cfg.check_timing),
            use_candidate,
        ));
        p.sent_at = Some(now);
        self.stats.checks_sent += 1;
        self.out.push_back(t);
    }

    /// Pick the next pair to check on a Ta tick (RFC 8445 §6.1.4.2).
    fn next_pair_to_check(&mut self) -> Option<usize> {
        while let Some(pi) = self.triggered.pop_front() {
            if pi < self.pairs.len() && self.pairs[pi].state != PairState::InProgress {
                return Some(pi);
            }
        }
        let best = |state: PairState, pairs: &[Pair]| {
            pairs
                .iter()
                .enumerate()
                .filter(|(_, p)| p.state == state)
                .max_by_key(|(_, p)| p.priority)
                .map(|(i, _)| i)
        };
        best(PairState::Waiting, &self.pairs).or_else(|| best(PairState::Frozen, &self.pairs))
    }

    fn on_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        for gi in 0..self.gathers.len() {
            let g = &mut self.gathers[gi];
            if g.done {
                continue;
            }
            match g.txn.on_timeout(now) {
                TransactionAction::Retransmit => self.send_gather(gi),
                TransactionAction::TimedOut => {
                    self.gathers[gi].done = true;
                }
                _ => {}
            }
        }
        self.check_gathering_complete();

        for pi in 0..self.pairs.len() {
            let Some((tid, txn, uc)) = self.pairs[pi].txn.as_mut() else {
                continue;
            };
            let (tid, uc) = (*tid, *uc);
            match txn.on_timeout(now) {
                TransactionAction::Retransmit => {
                    if let Some(t) = self.build_check(pi, tid, uc) {
                        self.stats.checks_sent += 1;
                        self.out.push_back(t);
                    }
                }
                TransactionAction::TimedOut => {
                    let p = &mut self.pairs[pi];
                    p.txn = None;
                    if p.state == PairState::InProgress {
                        p.state = PairState::Failed;
                    }
                    if self.nominating == Some(pi) {
                        self.nominating = None;
                    }
                }
                _ => {}
            }
        }

        // Consent checks expire silently; only answers count (RFC 7675 §5.1).
        while let Some(c) = self.consent.front() {
            if now.saturating_duration_since(c.sent_at) > self.cfg.consent_timeout {
                self.consent.pop_front();
            } else {
                break;
            }
        }

        if let Some(at) = self.next_check_at
            && at <= now
        {
            self.next_check_at = None;
            if self.can_check()
                && let Some(pi) = self.next_pair_to_check()
            {
                self.start_check(pi, now);
                self.next_check_at = Some(now + self.cfg.ta);
            }
        }

        self.send_consent(now);
        self.maybe_nominate(now);
        self.update_state();
    }

    fn send_consent(&mut self, now: Instant) {
        let Some(pi) = self.selected else { return };
        // Consent lost means we must stop sending (RFC 7675 §5.1); only a restart revives.
        if self.cfg.lite
            || self.remote_creds.is_none()
            || self.conn_state == IceConnectionState::Failed
        {
            return;
        }
        if self.pairs[pi].next_consent.is_some_and(|at| at > now) {
            return;
        }
        let tid = TransactionId::random(&mut self.rng);
        if let Some(t) = self.build_check(pi, tid, false) {
            self.stats.consent_checks_sent += 1;
            self.out.push_back(t);
            self.consent.push_back(ConsentCheck {
                tid,
                pair: pi,
                sent_at: now,
            });
            if self.consent.len() > 64 {
                self.consent.pop_front();
            }
        }
        // Randomized to 0.8–1.2 × the interval (RFC 7675 §5.1). Once answers stop coming,
        // probe faster so recovery is noticed quickly.
        let overdue = self.pairs[pi]
            .last_response
            .is_none_or(|t| now.saturating_duration_since(t) > self.cfg.consent_interval);
        let base = if overdue {
            self.cfg.consent_interval / 5
        } else {
            self.cfg.consent_interval
        };
        let factor = 0.8 + 0.4 * self.rng.f64();
        self.pairs[pi].next_consent = Some(now + base.mul_f64(factor));
    }

    fn maybe_nominate(&mut self, now: Instant) {
        if !self.controlling || !self.can_check() || self.nominating.is_some() {
            return;
        }
        if self.selected.is_some_and(|s| self.pairs[s].nominated) {
            return;
        }
        let Some(best_valid) = self
            .pairs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.state == PairState::Succeeded)
            .max_by_key(|(_, p)| p.priority)
            .map(|(i, _)| i)
        else {
            return;
        };
        let first = *self.first_valid_at.get_or_insert(now);
        let best_prio = self.pairs[best_valid].priority;
        let better_pending = self.pairs.iter().any(|p| {
            p.priority > best_prio
                && matches!(
                    p.state,
                    PairState::Waiting | PairState::InProgress | PairState::Frozen
                )
        });
        if better_pending && now < first + self.cfg.nomination_delay {
            return;
        }
        self.nominating = Some(best_valid);
        self.start_check(best_valid, now);
    }

    fn select(&mut self, pi: usize) {
        if self.selected != Some(pi) {
            self.selected = Some(pi);
            self.restart_path = None;
            let now = self.now;
            let p = &mut self.pairs[pi];
            p.last_response = p.last_response.or(Some(now));
            p.next_consent = Some(now + self.cfg.consent_interval);
            let (l, r) = (self.local[p.local].clone(), self.remote[p.remote].clone());
            tracing::debug!(local = %l.base(), remote = %r.address(), "ICE selected pair");
            self.events.push_back(IceEvent::SelectedPairChange {
                local: l,
                remote: r,
            });
        }
        // Checking lower-priority pairs is pointless once one is nominated (RFC 8445 §8.1.2);
        // a pair used before nomination settles nothing.
        if !self.pairs[pi].nominated {
            return;
        }
        let prio = self.pairs[pi].priority;
        for p in &mut self.pairs {
            if p.priority < prio && matches!(p.state, PairState::Waiting | PairState::Frozen) {
                p.state = PairState::Failed;
            }
        }
    }

    fn update_state(&mut self) {
        if self.closed || self.conn_state == IceConnectionState::Failed {
            return;
        }
        let now = self.now;
        if let Some(pi) = self.selected {
            let last = self.pairs[pi].last_response.unwrap_or(now);
            let silent = now.saturating_duration_since(last);
            if !self.cfg.lite && silent >= self.cfg.consent_timeout {
                // Consent lost: RFC 7675 §5.1 says stop sending.
                self.failure = Some(IceFailure::ConsentLost);
                self.set_conn_state(IceConnectionState::Failed);
                return;
            }
            if !self.cfg.lite && silent >= self.cfg.disconnected_timeout {
                self.set_conn_state(IceConnectionState::Disconnected);
                return;
            }
            let done = self.remote_eoc
                && self.gather_state == IceGatheringState::Complete
                && !self.pairs.iter().any(|p| {
                    matches!(
                        p.state,
                        PairState::Waiting | PairState::InProgress | PairState::Frozen
                    )
                })
                && self.pairs[pi].nominated;
            self.set_conn_state(if done {
                IceConnectionState::Completed
            } else {
                IceConnectionState::Connected
            });
            return;
        }
        if self.remote_creds.is_none() {
            return;
        }
        let all_failed = !self.pairs.is_empty()
            && self
                .pairs
                .iter()
                .all(|p| p.state == PairState::Failed && p.txn.is_none());
        if all_failed
            && self.remote_eoc
            && self.gather_state == IceGatheringState::Complete
            && self.triggered.is_empty()
        {
            self.failure = Some(IceFailure::NoWorkingPair);
            self.set_conn_state(IceConnectionState::Failed);
        } else if !self.pairs.is_empty() || self.cfg.lite {
            self.set_conn_state(IceConnectionState::Checking);
        }
    }

    fn handle_receive(&mut self, r: &Receive) {
        if self.closed {
            return;
        }
        if !crate::stun::is_stun(&r.contents) {
            self.stats.dropped_not_stun += 1;
            return;
        }
        let msg = match Message::parse(&r.contents) {
            Ok(m) => m,
            Err(e) => {
                tracing::trace!(error = %e, source = %r.source, "dropping malformed STUN");
                self.stats.dropped_malformed += 1;
                return;
            }
        };
        match (msg.class(), msg.method()) {
            (Class::Request, Method::Binding) => self.on_request(r, &msg),
            (Class::Success | Class::Error, Method::Binding) => self.on_response(r, &msg),
            // Binding indications are keepalives (RFC 8445 §11): nothing to do.
            (Class::Indication, Method::Binding) => {}
            _ => self.stats.dropped_other += 1,
        }
    }

    fn respond(&mut self, r: &Receive, b: &mut MessageBuilder) {
        let msg = b.finish_with_integrity(&*self.cfg.provider, self.local_creds.pwd.as_bytes());
        self.out.push_back(Transmit::single(
            r.protocol,
            r.destination,
            r.source,
            Bytes::from(msg),
        ));
    }

    fn on_request(&mut self, r: &Receive, msg: &Message<'_>) {
        let ours = msg
            .username()
            .and_then(|u| u.split_once(':'))
            .is_some_and(|(mine, _)| mine == self.local_creds.ufrag);
        if !ours {
            self.stats.dropped_unknown_username += 1;
            return;
        }
        if msg
            .check_integrity(&*self.cfg.provider, self.local_creds.pwd.as_bytes())
            .is_err()
        {
            self.stats.dropped_bad_integrity += 1;
            return;
        }
        let tid = msg.transaction_id();
        // Only answer on addresses we own: a 420 from someone else's address would let a
        // runtime that feeds foreign datagrams make us spoof.
        let Some(li) = self
            .local
            .iter()
            .position(|c| c.base() == r.destination && c.protocol() == r.protocol)
        else {
            self.stats.dropped_other += 1;
            return;
        };
        let unknown: Vec<u16> = msg.unknown_comprehension_required().collect();
        if !unknown.is_empty() {
            let mut b = MessageBuilder::new(Class::Error, Method::Binding, tid);
            b.error_code(420, "Unknown Attribute")
                .unknown_attributes(&unknown);
            self.respond(r, &mut b);
            return;
        }
        let Some(priority) = msg.priority() else {
            self.stats.dropped_other += 1;
            return;
        };
        // Role conflict (RFC 8445 §7.3.1.1). A lite agent is always controlled and never
        // switches.
        if !self.cfg.lite {
            if let Some(theirs) = msg.ice_controlling()
                && self.controlling
            {
                self.stats.role_conflicts += 1;
                if self.tie_breaker >= theirs {
                    let mut b = MessageBuilder::new(Class::Error, Method::Binding, tid);
                    b.error_code(487, "Role Conflict");
                    self.respond(r, &mut b);
                    return;
                }
                self.switch_role(false);
            } else if let Some(theirs) = msg.ice_controlled()
                && !self.controlling
            {
                self.stats.role_conflicts += 1;
                if self.tie_breaker >= theirs {
                    self.switch_role(true);
                } else {
                    let mut b = MessageBuilder::new(Class::Error, Method::Binding, tid);
                    b.error_code(487, "Role Conflict");
                    self.respond(r, &mut b);
                    return;
                }
            }
        }

        self.stats.requests_received += 1;
        let mut b = MessageBuilder::new(Class::Success, Method::Binding, tid);
        b.xor_mapped_address(r.source);
        self.respond(r, &mut b);

        // Learn a peer-reflexive remote candidate (RFC 8445 §7.3.1.3).
        let ri = match self
            .remote
            .iter()
            .position(|c| c.address() == r.source && c.protocol() == r.protocol)
        {
            Some(ri) => ri,
            None => {
                if self.remote.len() >= self.cfg.max_remote_candidates {
                    self.stats.dropped_other += 1;
                    return;
                }
                let c = Candidate::peer_reflexive(r.source, r.source, priority, r.protocol);
                self.remote.push(c);
                self.remote.len() - 1
            }
        };
        let pi = match self
            .pairs
            .iter()
            .position(|p| p.local == li && p.remote == ri)
        {
            Some(pi) => pi,
            None => {
                self.add_pair(li, ri);
                match self
                    .pairs
                    .iter()
                    .position(|p| p.local == li && p.remote == ri)
                {
                    Some(pi) => pi,
                    None => return,
                }
            }
        };
        let use_candidate = msg.use_candidate() && !self.controlling;
        let p = &mut self.pairs[pi];
        p.last_request = Some(r.now);

        if self.cfg.lite {
            // A lite agent's pairs are valid once the full peer checks them (RFC 8445 §2.5).
            p.state = PairState::Succeeded;
            if use_candidate {
                p.nominated = true;
                self.select_best_nominated();
            }
            return;
        }

        match p.state {
            PairState::Succeeded => {
                if use_candidate {
                    p.nominated = true;
                    self.select_best_nominated();
                }
            }
            PairState::InProgress => {
                if use_candidate {
                    p.nominate_on_success = true;
                }
            }
            PairState::Waiting | PairState::Frozen | PairState::Failed => {
                if use_candidate {
                    p.nominate_on_success = true;
                }
                p.state = PairState::Waiting;
                if !self.triggered.contains(&pi) {
                    self.triggered.push_back(pi);
                }
                self.arm_checks();
            }
        }
    }

    fn select_best_nominated(&mut self) {
        let best = self
            .pairs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.nominated && p.state == PairState::Succeeded)
            .max_by_key(|(_, p)| p.priority)
            .map(|(i, _)| i);
        if let Some(pi) = best {
            self.select(pi);
        }
    }

    fn switch_role(&mut self, controlling: bool) {
        tracing::debug!(controlling, "ICE role switch after conflict");
        self.controlling = controlling;
        self.nominating = None;
        self.reprioritize();
        self.events.push_back(IceEvent::RoleChange { controlling });
    }

    fn on_response(&mut self, r: &Receive, msg: &Message<'_>) {
        let tid = msg.transaction_id();
        if let Some(gi) = self.gathers.iter().position(|g| g.tid == tid && !g.done) {
            self.on_gather_response(gi, r, msg);
            return;
        }
        let Some(remote_pwd) = self.remote_creds.as_ref().map(|c| c.pwd.clone()) else {
            self.stats.dropped_unknown_transaction += 1;
            return;
        };
        let pair_txn = self
            .pairs
            .iter()
            .position(|p| p.txn.as_ref().is_some_and(|(t, _, _)| *t == tid));
        let consent = self.consent.iter().position(|c| c.tid == tid);
        if pair_txn.is_none() && consent.is_none() {
            self.stats.dropped_unknown_transaction += 1;
            return;
        }
        if msg
            .check_integrity(&*self.cfg.provider, remote_pwd.as_bytes())
            .is_err()
        {
            self.stats.dropped_bad_integrity += 1;
            return;
        }
        self.stats.responses_received += 1;

        if let Some(ci) = consent {
            let c = self.consent.remove(ci).expect("index in range");
            let p = &mut self.pairs[c.pair];
            if msg.class() == Class::Success
                && r.source == self.remote[p.remote].address()
                && r.destination == self.local[p.local].base()
            {
                p.last_response = Some(r.now);
                p.rtt = Some(r.now.saturating_duration_since(c.sent_at));
                if self.conn_state == IceConnectionState::Disconnected {
                    self.set_conn_state(IceConnectionState::Connected);
                }
            }
            return;
        }

        let pi = pair_txn.expect("checked above");
        let (_, _, use_candidate) = self.pairs[pi].txn.take().expect("matched txn");
        if msg.class() == Class::Error {
            match msg.error_code() {
                Some((487, _)) => {
                    // We sent with the wrong role: switch and check again (RFC 8445 §7.2.5.1).
                    self.stats.role_conflicts += 1;
                    self.switch_role(!self.controlling);
                    self.pairs[pi].state = PairState::Waiting;
                    self.triggered.push_back(pi);
                    self.arm_checks();
                }
                _ => {
                    self.pairs[pi].state = PairState::Failed;
                    if self.nominating == Some(pi) {
                        self.nominating = None;
                    }
                }
            }
            return;
        }

        let (lb, ra) = {
            let p = &self.pairs[pi];
            (self.local[p.local].base(), self.remote[p.remote].address())
        };
        // Non-symmetric source/destination fails the check (RFC 8445 §7.2.5.2.1).
        if r.source != ra || r.destination != lb {
            self.pairs[pi].state = PairState::Failed;
            return;
        }
        if let Some(mapped) = msg.mapped_address()
            && !self.local.iter().any(|c| c.address() == mapped)
            && self.local.len() < 64
        {
            // A peer-reflexive local candidate (RFC 8445 §7.2.5.3.1); kept for the record,
            // data still leaves from the same base.
            let prio = compute_priority(CandidateKind::PeerReflexive, DEFAULT_LOCAL_PREFERENCE, 1);
            self.local
                .push(Candidate::peer_reflexive(mapped, lb, prio, r.protocol));
        }
        let now = r.now;
        let p = &mut self.pairs[pi];
        p.state = PairState::Succeeded;
        p.last_response = Some(now);
        p.rtt = p.sent_at.map(|s| now.saturating_duration_since(s));
        self.first_valid_at.get_or_insert(now);
        // Successful pair unfreezes its foundation siblings (RFC 8445 §7.2.5.3.3).
        let (lf, rf) = (
            self.local[self.pairs[pi].local].foundation().to_string(),
            self.remote[self.pairs[pi].remote].foundation().to_string(),
        );
        for q in 0..self.pairs.len() {
            if self.pairs[q].state == PairState::Frozen
                && self.local[self.pairs[q].local].foundation() == lf
                && self.remote[self.pairs[q].remote].foundation() == rf
            {
                self.pairs[q].state = PairState::Waiting;
            }
        }
        self.arm_checks();
        let p = &mut self.pairs[pi];
        if self.controlling && use_candidate {
            p.nominated = true;
            self.nominating = None;
            self.select(pi);
        } else if !self.controlling && p.nominate_on_success {
            p.nominated = true;
            self.select_best_nominated();
        } else if self.selected.is_none() {
            // Data goes on the first valid pair until one is nominated (RFC 8445 §12
            // lets data flow on a valid pair; browsers do the same), so DTLS starts a
            // round trip sooner; the nominated pair takes over when it comes.
            self.select(pi);
        }
    }

    fn on_gather_response(&mut self, gi: usize, r: &Receive, msg: &Message<'_>) {
        let g = &mut self.gathers[gi];
        if r.source != g.server || r.destination != g.base {
            self.stats.dropped_other += 1;
            return;
        }
        g.done = true;
        let (base, server) = (g.base, g.server);
        if msg.class() == Class::Success
            && let Some(mapped) = msg.mapped_address()
            && mapped != base
            && !self.local.iter().any(|c| c.address() == mapped)
        {
            let c = Candidate::server_reflexive(mapped, base, server, Protocol::Udp);
            self.local.push(c.clone());
            self.events.push_back(IceEvent::LocalCandidate(c));
        }
        self.check_gathering_complete();
    }

    fn next_deadline(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let now = self.now;
        let mut at: Option<Instant> = None;
        let mut consider = |t: Instant| at = Some(at.map_or(t, |a| a.min(t)));
        if self.can_check()
            && let Some(t) = self.next_check_at
        {
            consider(t);
        }
        for g in self.gathers.iter().filter(|g| !g.done) {
            consider(g.txn.deadline());
        }
        for p in &self.pairs {
            if let Some((_, txn, _)) = &p.txn {
                consider(txn.deadline());
            }
        }
        if let Some(pi) = self.selected {
            let p = &self.pairs[pi];
            if !self.cfg.lite && self.conn_state != IceConnectionState::Failed {
                if let Some(t) = p.next_consent {
                    consider(t);
                }
                if let Some(last) = p.last_response {
                    for d in [self.cfg.disconnected_timeout, self.cfg.consent_timeout] {
                        if last + d > now {
                            consider(last + d);
                        }
                    }
                }
            }
        }
        if self.controlling
            && self.can_check()
            && self.nominating.is_none()
            && self.selected.is_none()
            && let Some(first) = self.first_valid_at
            && first + self.cfg.nomination_delay > now
        {
            consider(first + self.cfg.nomination_delay);
        }
        at.map(|t| t.max(now))
    }
}

impl Endpoint for IceAgent {
    type Event = IceEvent;

    fn handle_input(&mut self, input: Input) {
        let now = input.now().max(self.now);
        self.now = now;
        if let Input::Receive(r) = &input {
            self.handle_receive(r);
        }
        self.on_timeout(now);
    }

    fn poll_output(&mut self) -> Output<IceEvent> {
        if let Some(t) = self.out.pop_front() {
            return Output::Transmit(t);
        }
        if let Some(e) = self.events.pop_front() {
            return Output::Event(e);
        }
        // Drained: an idle agent keeps no room for the next burst (events are 272
        // bytes each), as thousands of idle connections would hold kilobytes each.
        release_if_empty(&mut self.out);
        release_if_empty(&mut self.events);
        Output::Timeout(self.next_deadline().unwrap_or(self.now + IDLE_TIMEOUT))
    }
}

/// Frees an empty queue's buffer. Called once a machine is drained: outputs come in
/// bursts, so this costs one allocation per burst, not per item.
pub(crate) fn release_if_empty<T>(q: &mut VecDeque<T>) {
    if q.is_empty() && q.capacity() > 0 {
        *q = VecDeque::new();
    }
}

#[cfg(test)]
mod tests;
