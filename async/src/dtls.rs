//! `RTCDtlsTransport`.

use super::*;

/// `RTCDtlsTransport`: the DTLS session over an ICE transport.
#[derive(Debug, Clone)]
pub struct DtlsTransport<R> {
    pub(crate) link: Link,
    pub(crate) runtime: PhantomData<fn() -> R>,
}

impl<R: Runtime> DtlsTransport<R> {
    /// `new RTCDtlsTransport(iceTransport, certificates)`: the first certificate is
    /// presented. Fails without certificates, or if the ICE transport has one already.
    pub fn new(
        transport: &IceTransport<R>,
        certificates: Vec<DtlsCertificate>,
    ) -> Result<Self, Error> {
        if certificates.is_empty() {
            return Err(OrtcError::InvalidParameters(
                "a DTLS transport needs at least one certificate".into(),
            )
            .into());
        }
        let link = transport.link.clone();
        {
            let mut s = link.lock();
            if s.dtls_created {
                return Err(Error::AlreadyCreated("DTLS"));
            }
            // Its seed derives from the gatherer's (`IceGathererOptions::seed`), in core.
            s.engine
                .dtls_transport_mut()
                .set_certificates(certificates)?;
            s.dtls_created = true;
        }
        Ok(DtlsTransport {
            link,
            runtime: PhantomData,
        })
    }

    /// `getLocalParameters()`: SHA-256 fingerprints, role `auto`.
    pub fn local_parameters(&self) -> DtlsParameters {
        self.link.lock().engine.dtls_transport().local_parameters()
    }

    /// `start(remoteParameters)`: resolves once the handshake is done and the peer's
    /// certificate matches; fails with [`Error::DtlsFailed`] otherwise. Start ICE first:
    /// with `auto` roles the ICE role picks the DTLS role.
    pub async fn start(&self, remote: &DtlsParameters) -> Result<(), Error> {
        self.link
            .act::<R, _>(|s| Ok(s.engine.dtls_transport_mut().start(remote)?))?;
        self.link
            .shared
            .wait_for(|s| match s.engine.dtls_transport().state() {
                DtlsTransportState::Connected => Some(Ok(())),
                DtlsTransportState::Failed => Some(Err(Error::DtlsFailed(
                    s.engine
                        .dtls_transport()
                        .error()
                        .cloned()
                        .unwrap_or(DtlsError::Timeout),
                ))),
                DtlsTransportState::Closed => Some(Err(s.closed_error())),
                _ if s.done => Some(Err(s.closed_error())),
                _ => None,
            })
            .await
    }

    /// `state`.
    pub fn state(&self) -> DtlsTransportState {
        self.link.lock().engine.dtls_transport().state()
    }

    /// `onstatechange`: states from now on.
    pub fn state_changes(&self) -> Events<DtlsTransportState> {
        let rx = self.link.lock().dtls_events.subscribe();
        Events::new(rx, &self.link)
    }

    /// The role taken at `start` (`None` before).
    pub fn role(&self) -> Option<DtlsRole> {
        self.link.lock().engine.dtls_transport().role()
    }

    /// The negotiated cipher suite, once connected.
    pub fn cipher_suite(&self) -> Option<CipherSuite> {
        self.link.lock().engine.dtls_transport().cipher_suite()
    }

    /// The negotiated DTLS version, once connected.
    pub fn version(&self) -> Option<DtlsVersion> {
        self.link.lock().engine.dtls_transport().version()
    }

    /// The negotiated SRTP protection profile (RFC 5764), once connected, if the peer
    /// offered one we support.
    pub fn srtp_profile(&self) -> Option<SrtpProfile> {
        self.link.lock().engine.dtls_transport().srtp_profile()
    }

    /// Why the transport failed, once its state is `Failed`.
    pub fn error(&self) -> Option<DtlsError> {
        self.link.lock().engine.dtls_transport().error().cloned()
    }

    /// Chooses the DTLS role this side announces in
    /// [`local_parameters`](Self::local_parameters) and takes (`client` or `server`;
    /// `auto` lets the ICE role decide), before [`start`](Self::start).
    pub async fn set_local_role(&self, role: DtlsRoleParam) -> Result<(), Error> {
        self.link
            .act::<R, _>(|s| Ok(s.engine.dtls_transport_mut().set_local_role(role)?))
    }

    /// `transport`: the ICE transport underneath.
    pub fn transport(&self) -> IceTransport<R> {
        IceTransport {
            link: self.link.clone(),
            runtime: PhantomData,
        }
    }

    /// `stop()`: ABORTs SCTP above, sends close_notify; ICE keeps running until it is
    /// stopped. Resolves once the DTLS transport is closed.
    pub async fn stop(&self) {
        {
            let mut s = self.link.lock();
            if !s.launched || s.done {
                return;
            }
            s.engine.dtls_transport_mut().stop();
            s.wake();
        }
        self.link
            .shared
            .wait_for(|s| {
                (s.done
                    || matches!(
                        s.engine.dtls_transport().state(),
                        DtlsTransportState::Closed | DtlsTransportState::Failed
                    ))
                .then_some(())
            })
            .await;
    }
}
