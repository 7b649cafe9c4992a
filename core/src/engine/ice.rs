//! The engine's ICE part: the agent and the checks that came before `start`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::net::SocketAddr;

use crate::crypto::{CryptoProvider, HashAlgorithm, default_provider};
use crate::ice::{IceAgent, IceConfig};
use crate::io::{Endpoint, Input, Receive};

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

/// Checks kept from before `start`.
const MAX_EARLY_CHECKS: usize = 16;

#[derive(Debug)]
pub(crate) struct IcePart {
    pub(crate) agent: IceAgent,
    pub(crate) started: bool,
    /// Checks that arrived before `start`: answered once our role is known, so a peer
    /// that started first does not meet a wrong role (and a role-conflict repair).
    pub(crate) early: VecDeque<Receive>,
}

impl IcePart {
    pub(crate) fn new(cfg: IceGathererConfig, now: Instant) -> Self {
        let defaults = IceConfig::default();
        let seed = cfg.seed.unwrap_or_else(|| {
            let mut b = [0u8; 8];
            // Without a working random source the seed stays fixed: still correct, only
            // as predictable as a simulation's.
            let _ = cfg.provider.fill_random(&mut b);
            u64::from_le_bytes(b)
        });
        let ice = IceConfig {
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
        };
        IcePart {
            agent: IceAgent::new(ice, now),
            started: false,
            early: VecDeque::new(),
        }
    }

    /// Take a datagram; returns it if it is not STUN and comes from the peer's verified
    /// address, for the layers above.
    pub(crate) fn route(&mut self, r: Receive) -> Option<Receive> {
        if !crate::stun::is_stun(&r.contents) {
            // Not for ICE; its timers come as timeouts, so data costs it nothing. Only
            // the peer's verified address may reach the layers above.
            return self.agent.accepts_data_from(r.source).then_some(r);
        }
        // A Binding request (type 0x0001) before `start`: hold it. Responses still
        // pass, for server-reflexive gathering.
        if !self.started && r.contents.starts_with(&[0x00, 0x01]) {
            self.agent.handle_input(Input::Timeout(r.now));
            if self.early.len() < MAX_EARLY_CHECKS {
                self.early.push_back(r);
            }
            return None;
        }
        self.agent.handle_input(Input::Receive(r));
        None
    }

    /// The crypto provider of every layer (from [`IceGathererConfig::provider`]).
    pub(crate) fn provider(&self) -> &Arc<dyn CryptoProvider> {
        self.agent.provider()
    }

    /// A seed for a layer above, derived from this agent's (random) credentials, so one
    /// seed steers the whole engine and engines differ from each other.
    pub(crate) fn derived_seed(&self, layer: u8) -> u64 {
        let c = self.agent.local_credentials();
        let digest = self.provider().hash(
            HashAlgorithm::Sha256,
            &[c.ufrag.as_bytes(), c.pwd.as_bytes(), &[layer]],
        );
        u64::from_le_bytes(digest[..8].try_into().expect("32-byte digest"))
    }
}
