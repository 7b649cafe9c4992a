//! The server's flights: answering a ClientHello (with a HelloVerifyRequest, or with
//! ServerHello, Certificate, ServerKeyExchange, CertificateRequest and ServerHelloDone),
//! and closing the handshake with ChangeCipherSpec and Finished once the client's second
//! flight checks out.

use super::handshake::{
    self, ClientHello, EXT_EC_POINT_FORMATS, EXT_EXTENDED_MASTER_SECRET, EXT_RENEGOTIATION_INFO,
    EXT_SIGNATURE_ALGORITHMS, EXT_SUPPORTED_GROUPS, EXT_USE_SRTP, ServerHello, ServerKeyExchange,
};
use super::record::{DTLS_1_2, HANDSHAKE};
use super::{Dtls, DtlsError, FlightItem, HandshakeFailure, State, supported_schemes};
use crate::crypto::{HashAlgorithm, NamedGroup};

impl Dtls {
    fn cookie_for(&self, ch: &ClientHello) -> Vec<u8> {
        let suites: Vec<u8> = ch
            .cipher_suites
            .iter()
            .flat_map(|s| s.to_be_bytes())
            .collect();
        let c = self.cfg.provider.hmac(
            HashAlgorithm::Sha256,
            &self.cookie_secret,
            &[&ch.random, &ch.session_id, &suites],
        );
        // HMAC-SHA256 is 32 bytes; `take` rather than slicing, so a provider returning
        // less cannot make a ClientHello panic us.
        c.iter().take(32).copied().collect()
    }

    pub(super) fn on_client_hello(&mut self, seq: u16, body: &[u8]) -> Result<(), DtlsError> {
        let ch = ClientHello::parse(body)?;
        // DTLS versions count down: 1.2 is 0xFEFD, 1.0 0xFEFF. A client offering 1.3 via
        // supported_versions still sets client_version to 1.2, which is what we answer.
        if ch.version > DTLS_1_2 {
            return Err(DtlsError::HandshakeFailure(
                HandshakeFailure::ClientOffersNoDtls12,
            ));
        }
        if self.cfg.hello_verify {
            let cookie = self.cookie_for(&ch);
            if ch.cookie != cookie {
                // Stateless (RFC 6347 §4.2.1): nothing about the client is kept but the
                // expected message_seq.
                let hvr = handshake::encode_message(
                    handshake::HELLO_VERIFY_REQUEST,
                    seq,
                    &handshake::encode_hello_verify_request(&cookie),
                );
                let mut d = Vec::new();
                self.plain_record(&mut d, HANDSHAKE, &hvr);
                self.push_datagram(d);
                self.reasm.reset(seq.wrapping_add(1));
                return Ok(());
            }
        }
        let suite = self
            .cfg
            .cipher_suites
            .iter()
            .copied()
            .filter(|s| s.is_ecdsa() == self.cfg.certificate.signing_key().scheme().is_ecdsa())
            .find(|s| ch.cipher_suites.contains(&s.code()))
            .ok_or(DtlsError::HandshakeFailure(
                HandshakeFailure::NoCommonCipherSuite,
            ))?;
        let client_groups = match handshake::find_extension(&ch.extensions, EXT_SUPPORTED_GROUPS) {
            Some(d) => handshake::parse_u16_list(d)?,
            // RFC 8422 §4: without the extension, assume the client supports P-256.
            None => vec![NamedGroup::Secp256r1.code()],
        };
        let group = self
            .cfg
            .groups
            .iter()
            .copied()
            .find(|g| client_groups.contains(&g.code()))
            .ok_or(DtlsError::HandshakeFailure(HandshakeFailure::NoCommonGroup))?;
        self.ems = handshake::find_extension(&ch.extensions, EXT_EXTENDED_MASTER_SECRET).is_some();
        if !self.ems && self.cfg.require_extended_master_secret {
            return Err(DtlsError::HandshakeFailure(
                HandshakeFailure::ExtendedMasterSecretRequired,
            ));
        }
        if let Some(d) = handshake::find_extension(&ch.extensions, EXT_SIGNATURE_ALGORITHMS) {
            let schemes = handshake::parse_u16_list(d)?;
            let ours = self.cfg.certificate.signing_key().scheme().code();
            if !schemes.contains(&ours) {
                return Err(DtlsError::HandshakeFailure(
                    HandshakeFailure::ClientAcceptsNoSchemeOfOurs,
                ));
            }
        }
        self.srtp = match handshake::find_extension(&ch.extensions, EXT_USE_SRTP) {
            Some(d) => {
                let (offered, _mki) = handshake::parse_use_srtp(d)?;
                self.cfg
                    .srtp_profiles
                    .iter()
                    .copied()
                    .find(|p| offered.contains(&p.id()))
            }
            None => None,
        };
        self.client_random = ch.random;
        self.server_random = self.random32();
        // A server may wait any time for its ClientHello; the handshake clock starts now.
        self.started = Some(self.now);
        self.suite = Some(suite);
        self.group = Some(group);
        self.send_seq = seq;
        self.reasm.reset(seq.wrapping_add(1));
        self.add_to_transcript(handshake::CLIENT_HELLO, seq, body);

        let mut extensions = Vec::new();
        if self.ems {
            extensions.push((EXT_EXTENDED_MASTER_SECRET, Vec::new()));
        }
        if handshake::find_extension(&ch.extensions, EXT_RENEGOTIATION_INFO).is_some()
            || ch.cipher_suites.contains(&0x00FF)
        {
            extensions.push((EXT_RENEGOTIATION_INFO, vec![0]));
        }
        if handshake::find_extension(&ch.extensions, EXT_EC_POINT_FORMATS).is_some() {
            extensions.push((EXT_EC_POINT_FORMATS, vec![1, 0]));
        }
        if let Some(p) = self.srtp {
            extensions.push((EXT_USE_SRTP, handshake::encode_use_srtp(&[p.id()])));
        }
        let sh = ServerHello {
            version: DTLS_1_2,
            random: self.server_random,
            session_id: Vec::new(),
            cipher_suite: suite.code(),
            compression: 0,
            extensions,
        };
        let kx = self.key_exchange_for(group)?;
        let params = ServerKeyExchange::params(group.code(), kx.public_key());
        let mut signed = Vec::with_capacity(64 + params.len());
        signed.extend_from_slice(&self.client_random);
        signed.extend_from_slice(&self.server_random);
        signed.extend_from_slice(&params);
        let key = self.cfg.certificate.signing_key().clone();
        let ske = ServerKeyExchange {
            group: group.code(),
            public: kx.public_key().to_vec(),
            scheme: key.scheme().code(),
            signature: key.sign(&signed)?,
        };
        self.kx = Some(kx);

        self.new_flight();
        self.queue_message(handshake::SERVER_HELLO, &sh.encode(), 0, true);
        let cert = handshake::encode_certificate(&[self.cfg.certificate.der()]);
        self.queue_message(handshake::CERTIFICATE, &cert, 0, true);
        self.queue_message(handshake::SERVER_KEY_EXCHANGE, &ske.encode(), 0, true);
        let creq = handshake::encode_certificate_request(&supported_schemes());
        self.queue_message(handshake::CERTIFICATE_REQUEST, &creq, 0, true);
        self.queue_message(handshake::SERVER_HELLO_DONE, &[], 0, true);
        self.state = State::WaitClientFinished;
        self.send_flight();
        Ok(())
    }

    pub(super) fn send_server_finished(&mut self) -> Result<(), DtlsError> {
        self.new_flight();
        self.flight.push(FlightItem::ChangeCipherSpec);
        self.write_epoch = 1;
        let vd = self.verify_data(b"server finished")?;
        self.queue_message(handshake::FINISHED, &vd, 1, true);
        self.connected();
        self.send_flight();
        Ok(())
    }
}
