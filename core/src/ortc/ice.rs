//! `IceGatherer` and `IceTransport`: views onto the engine's ICE agent.

use std::net::SocketAddr;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use super::{IceCandidate, IceParameters, OrtcError};
use crate::engine::Engine;
use crate::ice::{Candidate, IceAgent, IceConnectionState, IceGatheringState};
use crate::io::{Endpoint, Input, Protocol};

/// `RTCIceGatherer`: local ICE parameters and candidates, a view onto an [`Engine`]
/// ([`Engine::ice_gatherer`]). Core owns no sockets, so the caller (a runtime, or its
/// own loop) names the addresses its sockets are bound to; server-reflexive candidates
/// are learned by driving the engine with that socket's traffic.
///
/// `R` is `&Engine` ([`Engine::ice_gatherer`]) or `&mut Engine`
/// ([`Engine::ice_gatherer_mut`]); only the latter can change anything.
#[derive(Debug, Clone, Copy)]
pub struct IceGatherer<R> {
    pub(crate) e: R,
}

impl<R: Deref<Target = Engine>> IceGatherer<R> {
    /// `getLocalParameters()`.
    pub fn local_parameters(&self) -> IceParameters {
        IceParameters::from(self.e.ice.agent.local_credentials())
    }

    /// `getLocalCandidates()`.
    pub fn local_candidates(&self) -> Vec<IceCandidate> {
        self.e
            .ice
            .agent
            .local_candidates()
            .map(IceCandidate::from)
            .collect()
    }

    /// `state`.
    pub fn state(&self) -> IceGatheringState {
        self.e.ice.agent.gathering_state()
    }
}

impl<R: DerefMut<Target = Engine>> IceGatherer<R> {
    /// `gather()`: host candidates for these bound UDP addresses (and, with STUN
    /// servers, server-reflexive ones as their answers arrive).
    pub fn gather(&mut self, addresses: &[SocketAddr]) -> Result<(), OrtcError> {
        let agent = &mut self.e.ice.agent;
        for &a in addresses {
            agent.add_local_candidate(Candidate::host(a, Protocol::Udp))?;
        }
        agent.end_of_local_candidates();
        Ok(())
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

/// `RTCIceTransport`: connectivity checks and the selected pair, a view onto an
/// [`Engine`]: `IceTransport<&Engine>` from [`Engine::ice_transport`] reads,
/// `IceTransport<&mut Engine>` from [`Engine::ice_transport_mut`] also acts.
#[derive(Debug, Clone, Copy)]
pub struct IceTransport<R> {
    pub(crate) e: R,
}

impl<R: DerefMut<Target = Engine>> IceTransport<R> {
    /// `start(remoteParameters, role)`. Remote candidates may come before or after.
    pub fn start(&mut self, remote: &IceParameters, role: IceRole) -> Result<(), OrtcError> {
        let ice = &mut self.e.ice;
        if ice.started {
            return Err(OrtcError::AlreadyStarted("ICE transport"));
        }
        let creds = crate::ice::IceCredentials::from(remote);
        ice.agent.check_remote_credentials(&creds)?;
        ice.agent.set_controlling(role == IceRole::Controlling);
        ice.agent.set_remote_credentials(creds);
        ice.started = true;
        for r in std::mem::take(&mut ice.early) {
            ice.agent.handle_input(Input::Receive(r));
        }
        Ok(())
    }

    /// `addRemoteCandidate(candidate)`; `None` is end-of-candidates.
    pub fn add_remote_candidate(&mut self, c: Option<&IceCandidate>) -> Result<(), OrtcError> {
        let agent = &mut self.e.ice.agent;
        match c {
            Some(c) => agent.add_remote_candidate(Candidate::try_from(c)?)?,
            None => agent.end_of_remote_candidates(),
        }
        Ok(())
    }

    /// `stop()`: no more checks or consent; nothing is sent any more.
    pub fn stop(&mut self) {
        self.e.ice.agent.close();
    }
}

impl<R: Deref<Target = Engine>> IceTransport<R> {
    /// Why ICE failed, once [`state`](Self::state) is `Failed`.
    pub fn failure(&self) -> Option<crate::ice::IceFailure> {
        self.e.ice.agent.failure()
    }

    /// `state` (`RTCIceTransportState` has the connection state's values).
    pub fn state(&self) -> IceConnectionState {
        self.e.ice.agent.connection_state()
    }

    /// `role`.
    pub fn role(&self) -> IceRole {
        if self.e.ice.agent.controlling() {
            IceRole::Controlling
        } else {
            IceRole::Controlled
        }
    }

    /// The gatherer's `getLocalParameters()`.
    pub fn local_parameters(&self) -> IceParameters {
        IceParameters::from(self.e.ice.agent.local_credentials())
    }

    /// `getSelectedCandidatePair()`: (local, remote).
    pub fn selected_pair(&self) -> Option<(IceCandidate, IceCandidate)> {
        self.e
            .ice
            .agent
            .selected_pair()
            .map(|(l, r)| (IceCandidate::from(l), IceCandidate::from(r)))
    }

    /// Round-trip time measured on the selected pair.
    pub fn selected_rtt(&self) -> Option<Duration> {
        self.e.ice.agent.selected_rtt()
    }
}

lend!(IceTransport,
    /// The agent underneath (statistics, candidates in core form).
    fn agent() -> &IceAgent = |e| &e.ice.agent
);
