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
        if link
            .shared
            .update(|s| std::mem::replace(&mut s.dtls_created, true))
        {
            return Err(Error::AlreadyCreated("DTLS"));
        }
        let local =
            DtlsParameters::for_certificates(&certificates, &*sansrtc::crypto::default_provider());
        link.shared.update(|s| s.dtls_local = Some(local));
        // Its seed derives from the gatherer's (`IceGathererOptions::seed`), in core.
        link.post_quietly(Command::CreateDtls { certificates });
        Ok(DtlsTransport {
            link,
            runtime: PhantomData,
        })
    }

    /// `getLocalParameters()`: SHA-256 fingerprints, role `auto`.
    pub fn local_parameters(&self) -> DtlsParameters {
        self.link
            .shared
            .read(|s| s.dtls_local.clone())
            .unwrap_or(DtlsParameters {
                fingerprints: Vec::new(),
                role: DtlsRoleParam::Auto,
            })
    }

    /// `start(remoteParameters)`: resolves once the handshake is done and the peer's
    /// certificate matches; fails with [`Error::DtlsFailed`] otherwise. Start ICE first:
    /// with `auto` roles the ICE role picks the DTLS role.
    pub async fn start(&self, remote: &DtlsParameters) -> Result<(), Error> {
        let remote = remote.clone();
        self.link
            .call::<R, _>(|reply| Command::DtlsStart { remote, reply })
            .await?;
        self.link
            .shared
            .wait_for(|s| match s.dtls_state {
                DtlsTransportState::Connected => Some(Ok(())),
                DtlsTransportState::Failed => Some(Err(Error::DtlsFailed(
                    s.dtls_error.clone().unwrap_or(DtlsError::Timeout),
                ))),
                DtlsTransportState::Closed => Some(Err(s.closed_error())),
                _ if s.done => Some(Err(s.closed_error())),
                _ => None,
            })
            .await
    }

    /// `state`.
    pub fn state(&self) -> DtlsTransportState {
        self.link.shared.read(|s| s.dtls_state)
    }

    /// `onstatechange`: states from now on.
    pub fn state_changes(&self) -> Events<DtlsTransportState> {
        let rx = self.link.shared.update(|s| s.dtls_events.subscribe());
        Events::new(rx, &self.link)
    }

    /// The role taken at `start` (`None` before).
    pub fn role(&self) -> Option<DtlsRole> {
        self.link.shared.read(|s| s.dtls_role)
    }

    /// The negotiated cipher suite, once connected.
    pub fn cipher_suite(&self) -> Option<CipherSuite> {
        self.link.shared.read(|s| s.cipher_suite)
    }

    /// The negotiated DTLS version, once connected.
    pub fn version(&self) -> Option<DtlsVersion> {
        self.link.shared.read(|s| s.dtls_version)
    }

    /// The negotiated SRTP protection profile (RFC 5764), once connected, if the peer
    /// offered one we support.
    pub fn srtp_profile(&self) -> Option<SrtpProfile> {
        self.link.shared.read(|s| s.srtp_profile)
    }

    /// Why the transport failed, once its state is `Failed`.
    pub fn error(&self) -> Option<DtlsError> {
        self.link.shared.read(|s| s.dtls_error.clone())
    }

    /// Chooses the DTLS role this side announces in
    /// [`local_parameters`](Self::local_parameters) and takes (`client` or `server`;
    /// `auto` lets the ICE role decide), before [`start`](Self::start).
    pub async fn set_local_role(&self, role: DtlsRoleParam) -> Result<(), Error> {
        self.link
            .call::<R, _>(|reply| Command::DtlsSetRole { role, reply })
            .await?;
        self.link.shared.update(|s| {
            if let Some(local) = &mut s.dtls_local {
                local.role = role;
            }
        });
        Ok(())
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
        if !self.link.shared.read(|s| s.launched) || self.link.post(Command::DtlsStop).is_err() {
            return;
        }
        self.link
            .shared
            .wait_for(|s| {
                (s.done
                    || matches!(
                        s.dtls_state,
                        DtlsTransportState::Closed | DtlsTransportState::Failed
                    ))
                .then_some(())
            })
            .await;
    }
}
