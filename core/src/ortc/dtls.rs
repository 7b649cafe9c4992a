//! `DtlsTransport`: a view onto the engine's DTLS session.

use std::ops::{Deref, DerefMut};

use super::{DtlsParameters, DtlsRoleParam, DtlsTransportState, OrtcError};
use crate::dtls::{
    CipherSuite, Dtls, DtlsCertificate, DtlsConfig, DtlsError, DtlsRole, DtlsVersion, Fingerprint,
};
use crate::engine::Engine;
use crate::srtp::{SrtpConfig, SrtpProfile};

/// `RTCDtlsTransport` over the ICE transport, a view onto an [`Engine`]
/// (`&Engine` from [`Engine::dtls_transport`] reads, `&mut Engine` from
/// [`Engine::dtls_transport_mut`] also acts). The handshake starts once ICE has selected
/// a pair; its retransmission timer starts from the pair's measured round-trip time.
#[derive(Debug, Clone, Copy)]
pub struct DtlsTransport<R> {
    pub(crate) e: R,
}

const NO_CERTIFICATE: &str = "the engine has no DTLS certificate (EngineConfig::certificates)";

impl<R: DerefMut<Target = Engine>> DtlsTransport<R> {
    /// Adjust the session's configuration (suites, SRTP profiles, HelloVerifyRequest,
    /// seed) before `start`; the certificate and fingerprints are set by the engine.
    /// Fails when the engine was built without a certificate.
    pub fn config_mut(&mut self) -> Result<&mut DtlsConfig, OrtcError> {
        self.e
            .dtls
            .base
            .as_mut()
            .ok_or(OrtcError::NotStarted(NO_CERTIFICATE))
    }

    /// `new RTCDtlsTransport(transport, certificates)` for an engine built without
    /// certificates (before `start`): the first is presented, all are in the local
    /// fingerprints.
    pub fn set_certificates(
        &mut self,
        certificates: Vec<DtlsCertificate>,
    ) -> Result<(), OrtcError> {
        let e = &mut *self.e;
        if e.dtls.state != DtlsTransportState::New {
            return Err(OrtcError::AlreadyStarted("DTLS transport"));
        }
        let Some(first) = certificates.first() else {
            return Err(OrtcError::InvalidParameters(
                "a DTLS transport needs at least one certificate".into(),
            ));
        };
        e.dtls.base = Some(match e.dtls.base.take() {
            Some(base) => DtlsConfig {
                certificate: first.clone(),
                ..base
            },
            None => crate::engine::DtlsPart::config(first.clone(), &e.ice),
        });
        e.dtls.certificates = certificates;
        Ok(())
    }

    /// Choose our role instead of `auto` (before `start`; it is in `local_parameters`).
    pub fn set_local_role(&mut self, role: DtlsRoleParam) -> Result<(), OrtcError> {
        if self.e.dtls.state != DtlsTransportState::New {
            return Err(OrtcError::AlreadyStarted("DTLS transport"));
        }
        self.e.dtls.local_role = match role {
            DtlsRoleParam::Client => Some(DtlsRole::Client),
            DtlsRoleParam::Server => Some(DtlsRole::Server),
            DtlsRoleParam::Auto => None,
        };
        Ok(())
    }

    /// `start(remoteParameters)`. The role is the opposite of an explicit remote role;
    /// with `auto` on both ends it follows the ICE role: controlling → server,
    /// controlled → client.
    pub fn start(&mut self, remote: &DtlsParameters) -> Result<(), OrtcError> {
        let e = &mut *self.e;
        if e.dtls.state != DtlsTransportState::New {
            return Err(OrtcError::AlreadyStarted("DTLS transport"));
        }
        if !e.dtls.enabled() {
            return Err(OrtcError::NotStarted(NO_CERTIFICATE));
        }
        if remote.fingerprints.is_empty() {
            return Err(OrtcError::InvalidParameters(
                "remote DTLS parameters have no fingerprint".into(),
            ));
        }
        let fingerprints = remote
            .fingerprints
            .iter()
            .map(Fingerprint::try_from)
            .collect::<Result<_, _>>()?;
        let local = announced(e.dtls.local_role);
        let role = match (local, remote.role) {
            (DtlsRoleParam::Client, DtlsRoleParam::Client)
            | (DtlsRoleParam::Server, DtlsRoleParam::Server) => {
                return Err(OrtcError::InvalidParameters(format!(
                    "both ends asked for the DTLS {local:?} role"
                )));
            }
            (DtlsRoleParam::Client, _) => DtlsRole::Client,
            (DtlsRoleParam::Server, _) => DtlsRole::Server,
            (_, DtlsRoleParam::Client) => DtlsRole::Server,
            (_, DtlsRoleParam::Server) => DtlsRole::Client,
            _ if e.ice.agent.controlling() => DtlsRole::Server,
            _ => DtlsRole::Client,
        };
        e.dtls.remote_fingerprints = fingerprints;
        e.dtls.role = Some(role);
        e.dtls.prepare_key_exchange();
        // Channels created before get their stream ids now (RFC 8832 §6 parity).
        e.sctp.on_role(role);
        e.dtls
            .set_state(DtlsTransportState::Connecting, &mut e.events);
        if e.ice.agent.selected_pair().is_some() || !e.dtls.early.is_empty() {
            e.dtls.begin(e.now, e.ice.agent.selected_rtt());
        }
        e.dtls.feed_early(e.now);
        Ok(())
    }

    /// Send application data in one record (with no SCTP layer in the engine, the peer
    /// gets it as DTLS application data).
    pub fn send(&mut self, data: &[u8]) -> Result<(), OrtcError> {
        match &mut self.e.dtls.session {
            Some(d) => Ok(d.send(data)?),
            None => Err(OrtcError::NotStarted("DTLS transport is not connected")),
        }
    }

    /// `stop()`: close_notify to the peer; SCTP above it ends.
    pub fn stop(&mut self) {
        let e = &mut *self.e;
        e.dtls.stop(&mut e.events);
        e.sctp.abort("DTLS transport closed", &mut e.events);
    }
}

impl<R: Deref<Target = Engine>> DtlsTransport<R> {
    /// `getLocalParameters()`: SHA-256 fingerprints of our certificates, role `auto`
    /// unless [`set_local_role`](Self::set_local_role) chose one.
    pub fn local_parameters(&self) -> DtlsParameters {
        let d = &self.e.dtls;
        DtlsParameters {
            role: announced(d.local_role),
            ..DtlsParameters::for_certificates(&d.certificates, &**self.e.ice.provider())
        }
    }

    /// `state`.
    pub fn state(&self) -> DtlsTransportState {
        self.e.dtls.state
    }

    /// The role taken at `start` (`None` before).
    pub fn role(&self) -> Option<DtlsRole> {
        self.e.dtls.role
    }

    /// The negotiated suite, once connected.
    pub fn cipher_suite(&self) -> Option<CipherSuite> {
        self.e.dtls.session.as_ref()?.cipher_suite()
    }

    /// The negotiated protocol version, once connected.
    pub fn version(&self) -> Option<DtlsVersion> {
        self.e.dtls.session.as_ref()?.version()
    }

    /// The negotiated SRTP profile, once connected.
    pub fn srtp_profile(&self) -> Option<SrtpProfile> {
        self.e.dtls.session.as_ref()?.srtp_profile()
    }

    /// The negotiated SRTP profile and keying material, for media (RFC 5764).
    pub fn srtp_keying_material(&self) -> Option<(SrtpProfile, Vec<u8>)> {
        self.e.dtls.session.as_ref()?.srtp_keying_material()
    }

    /// An SRTP configuration keyed through the engine's crypto provider (the one in
    /// `IceGathererConfig::provider`), for contexts made from
    /// [`srtp_keying_material`](Self::srtp_keying_material), so media uses the same
    /// provider as ICE and DTLS.
    pub fn srtp_config(&self) -> SrtpConfig {
        SrtpConfig {
            provider: self.e.ice.provider().clone(),
            ..SrtpConfig::default()
        }
    }
}

lend!(DtlsTransport,
    /// Why the handshake or session failed, once `state` is `Failed`.
    fn error() -> Option<&DtlsError> = |e| e.dtls.error.as_ref()
);

lend!(DtlsTransport,
    /// The session underneath, once the handshake began.
    fn session() -> Option<&Dtls> = |e| e.dtls.session.as_ref()
);

/// The role we announce for the one we keep (`None` is `auto`).
fn announced(role: Option<DtlsRole>) -> DtlsRoleParam {
    match role {
        Some(DtlsRole::Client) => DtlsRoleParam::Client,
        Some(DtlsRole::Server) => DtlsRoleParam::Server,
        None => DtlsRoleParam::Auto,
    }
}
