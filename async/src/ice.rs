//! `RTCIceTransport`.

use super::*;

/// `RTCIceTransport`: connectivity checks and the selected pair.
#[derive(Debug, Clone)]
pub struct IceTransport<R> {
    pub(crate) link: Link,
    pub(crate) runtime: PhantomData<fn() -> R>,
}

impl<R: Runtime> IceTransport<R> {
    /// `new RTCIceTransport(gatherer)`. A gatherer has one ICE transport: calling this
    /// again returns another handle to it.
    pub fn new(gatherer: &IceGatherer<R>) -> Self {
        let link = gatherer.link.clone();
        link.lock().ice_created = true;
        IceTransport {
            link,
            runtime: PhantomData,
        }
    }

    /// `start(remoteParameters, role)`: resolves once ICE is connected; fails with
    /// [`Error::IceFailed`] if no pair works. Add the remote candidates before or while
    /// it waits. Gathers first if [`IceGatherer::gather`] was not called.
    pub async fn start(&self, remote: &IceParameters, role: IceRole) -> Result<(), Error> {
        self.link.act::<R, _>(|s| {
            s.engine.ice_transport_mut().start(remote, role)?;
            s.ice_started = true;
            Ok(())
        })?;
        self.link
            .shared
            .wait_for(|s| match s.engine.ice_transport().state() {
                IceConnectionState::Connected | IceConnectionState::Completed => Some(Ok(())),
                IceConnectionState::Failed => Some(Err(Error::IceFailed(
                    s.engine
                        .ice_transport()
                        .failure()
                        .unwrap_or(IceFailure::NoWorkingPair),
                ))),
                IceConnectionState::Closed => Some(Err(s.closed_error())),
                _ if s.done => Some(Err(s.closed_error())),
                _ => None,
            })
            .await
    }

    /// `addRemoteCandidate(candidate)`; `None` means the peer has no more candidates.
    pub async fn add_remote_candidate(
        &self,
        candidate: Option<&IceCandidate>,
    ) -> Result<(), Error> {
        self.link.act::<R, _>(|s| {
            Ok(s.engine
                .ice_transport_mut()
                .add_remote_candidate(candidate)?)
        })
    }

    /// `state` (`RTCIceTransportState`).
    pub fn state(&self) -> IceConnectionState {
        self.link.lock().engine.ice_transport().state()
    }

    /// `onstatechange`: states from now on.
    pub fn state_changes(&self) -> Events<IceConnectionState> {
        let rx = self.link.lock().ice_events.subscribe();
        Events::new(rx, &self.link)
    }

    /// `role`: `None` before `start`; follows role conflicts after.
    pub fn role(&self) -> Option<IceRole> {
        let s = self.link.lock();
        s.ice_started.then(|| s.engine.ice_transport().role())
    }

    /// `getSelectedCandidatePair()`: (local, remote).
    pub fn selected_candidate_pair(&self) -> Option<(IceCandidate, IceCandidate)> {
        self.link.lock().engine.ice_transport().selected_pair()
    }

    /// `iceGatherer`.
    pub fn gatherer(&self) -> IceGatherer<R> {
        IceGatherer {
            link: self.link.clone(),
            runtime: PhantomData,
        }
    }

    /// `stop()`: stops every layer (the peer hears SCTP ABORT and DTLS close_notify),
    /// closes the sockets and ends the chain's task; resolves once the sockets are
    /// closed.
    pub async fn stop(&self) {
        self.link.shutdown().await;
    }
}
