//! The client's flights: the ClientHello (again with a cookie after a
//! HelloVerifyRequest), the server's ServerHello and ServerKeyExchange, and the second
//! flight: Certificate, ClientKeyExchange, CertificateVerify, ChangeCipherSpec, Finished.

use super::handshake::{
    self, ClientHello, EXT_EC_POINT_FORMATS, EXT_EXTENDED_MASTER_SECRET, EXT_RENEGOTIATION_INFO,
    EXT_SIGNATURE_ALGORITHMS, EXT_SUPPORTED_GROUPS, EXT_USE_SRTP, ServerHello, ServerKeyExchange,
};
use super::record::DTLS_1_2;
use super::{
    CipherSuite, Dtls, DtlsError, DtlsEvent, FlightItem, HandshakeFailure, State,
    UnexpectedMessage, supported_schemes,
};
use crate::crypto::{NamedGroup, SignatureScheme};
use crate::srtp::SrtpProfile;

impl Dtls {
    pub(super) fn send_client_hello(&mut self, cookie: Vec<u8>) -> Result<(), DtlsError> {
        if self.client_hello.is_none() {
            self.client_random = self.random32();
        }
        let mut extensions = vec![
            (EXT_EXTENDED_MASTER_SECRET, Vec::new()),
            (EXT_RENEGOTIATION_INFO, vec![0]),
            (
                EXT_SUPPORTED_GROUPS,
                handshake::encode_u16_list(
                    &self.cfg.groups.iter().map(|g| g.code()).collect::<Vec<_>>(),
                ),
            ),
            (EXT_EC_POINT_FORMATS, vec![1, 0]),
            (
                EXT_SIGNATURE_ALGORITHMS,
                handshake::encode_u16_list(&supported_schemes()),
            ),
        ];
        if !self.cfg.srtp_profiles.is_empty() {
            extensions.push((
                EXT_USE_SRTP,
                handshake::encode_use_srtp(
                    &self
                        .cfg
                        .srtp_profiles
                        .iter()
                        .map(|p| p.id())
                        .collect::<Vec<_>>(),
                ),
            ));
        }
        let ch = ClientHello {
            version: DTLS_1_2,
            random: self.client_random,
            session_id: Vec::new(),
            cookie,
            cipher_suites: self.cfg.cipher_suites.iter().map(|s| s.code()).collect(),
            compression: vec![0],
            extensions,
        };
        self.new_flight();
        self.queue_message(handshake::CLIENT_HELLO, &ch.encode(), 0, true);
        self.client_hello = Some(ch);
        self.state = State::WaitServerHello;
        self.send_flight();
        Ok(())
    }

    pub(super) fn on_server_hello(&mut self, body: &[u8]) -> Result<(), DtlsError> {
        let sh = ServerHello::parse(body)?;
        if sh.version != DTLS_1_2 {
            return Err(DtlsError::HandshakeFailure(
                HandshakeFailure::ServerChoseNoDtls12,
            ));
        }
        let suite = CipherSuite::from_code(sh.cipher_suite)
            .filter(|s| self.cfg.cipher_suites.contains(s))
            .ok_or(DtlsError::HandshakeFailure(
                HandshakeFailure::SuiteNotOffered,
            ))?;
        self.ems = handshake::find_extension(&sh.extensions, EXT_EXTENDED_MASTER_SECRET).is_some();
        if !self.ems && self.cfg.require_extended_master_secret {
            return Err(DtlsError::HandshakeFailure(
                HandshakeFailure::ExtendedMasterSecretRequired,
            ));
        }
        self.srtp = match handshake::find_extension(&sh.extensions, EXT_USE_SRTP) {
            Some(d) => {
                let (chosen, _) = handshake::parse_use_srtp(d)?;
                match chosen.as_slice() {
                    [id] if self.cfg.srtp_profiles.iter().any(|p| p.id() == *id) => {
                        SrtpProfile::from_id(*id)
                    }
                    _ => {
                        return Err(DtlsError::HandshakeFailure(
                            HandshakeFailure::SrtpProfileNotOffered,
                        ));
                    }
                }
            }
            None => None,
        };
        self.server_random = sh.random;
        self.suite = Some(suite);
        self.state = State::WaitServerHelloDone;
        // The server's flight arrived: stop retransmitting the ClientHello.
        self.flight_deadline = None;
        Ok(())
    }

    pub(super) fn on_server_key_exchange(&mut self, body: &[u8]) -> Result<(), DtlsError> {
        let ske = ServerKeyExchange::parse(body)?;
        let group = NamedGroup::from_code(ske.group)
            .filter(|g| self.cfg.groups.contains(g))
            .ok_or(DtlsError::HandshakeFailure(
                HandshakeFailure::GroupNotOffered,
            ))?;
        let suite = self
            .suite
            .ok_or(DtlsError::UnexpectedMessage(UnexpectedMessage::NoSuite))?;
        let scheme = SignatureScheme::from_code(ske.scheme).ok_or(DtlsError::HandshakeFailure(
            HandshakeFailure::UnsupportedSignatureScheme,
        ))?;
        if scheme.is_ecdsa() != suite.is_ecdsa() {
            return Err(DtlsError::HandshakeFailure(
                HandshakeFailure::SignatureDoesNotFitSuite,
            ));
        }
        let mut signed = Vec::with_capacity(64 + ske.public.len() + 4);
        signed.extend_from_slice(&self.client_random);
        signed.extend_from_slice(&self.server_random);
        signed.extend_from_slice(&ServerKeyExchange::params(ske.group, &ske.public));
        self.verify_peer_signature(ske.scheme, &signed, &ske.signature)?;
        self.group = Some(group);
        self.peer_public = ske.public;
        Ok(())
    }

    pub(super) fn send_client_flight(&mut self) -> Result<(), DtlsError> {
        let group = self.group.ok_or(DtlsError::UnexpectedMessage(
            UnexpectedMessage::ServerHelloDoneBeforeServerKeyExchange,
        ))?;
        if self.peer_cert.is_none() {
            return Err(DtlsError::UnexpectedMessage(
                UnexpectedMessage::ServerHelloDoneBeforeCertificate,
            ));
        }
        let kx = self.key_exchange_for(group)?;
        let public = kx.public_key().to_vec();
        self.kx = Some(kx);
        self.new_flight();
        let cert = handshake::encode_certificate(&[self.cfg.certificate.der()]);
        self.queue_message(handshake::CERTIFICATE, &cert, 0, true);
        self.queue_message(
            handshake::CLIENT_KEY_EXCHANGE,
            &handshake::encode_client_key_exchange(&public),
            0,
            true,
        );
        self.derive_master_secret()?;
        let key = self.cfg.certificate.signing_key().clone();
        let sig = key.sign(&self.transcript)?;
        self.queue_message(
            handshake::CERTIFICATE_VERIFY,
            &handshake::encode_signed(key.scheme().code(), &sig),
            0,
            true,
        );
        self.flight.push(FlightItem::ChangeCipherSpec);
        self.write_epoch = 1;
        let vd = self.verify_data(b"client finished")?;
        self.queue_message(handshake::FINISHED, &vd, 1, true);
        self.state = State::WaitServerFinished;
        self.send_flight();
        if self.can_send() {
            self.events.push_back(DtlsEvent::Writable);
        }
        Ok(())
    }
}
