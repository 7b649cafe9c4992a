//! The key schedule both roles share: the master secret from ECDHE (extended when both
//! sides offer it), the record keys it yields, and the Finished verify_data.

use super::record::RecordCipher;
use super::suite::prf;
use super::{Dtls, DtlsError, DtlsRole, UnexpectedMessage};

impl Dtls {
    /// Pre-master from ECDHE, then the master secret (RFC 7627 §4 with EMS).
    pub(super) fn derive_master_secret(&mut self) -> Result<(), DtlsError> {
        let suite = self
            .suite
            .ok_or(DtlsError::UnexpectedMessage(UnexpectedMessage::NoSuite))?;
        let kx = self.kx.take().ok_or(DtlsError::UnexpectedMessage(
            UnexpectedMessage::NoKeyExchange,
        ))?;
        let pre_master = kx.complete(&self.peer_public)?;
        let hash = suite.prf_hash();
        let p = &*self.cfg.provider;
        self.master = if self.ems {
            let session_hash = p.hash(hash, &[&self.transcript]);
            prf(
                p,
                hash,
                &pre_master,
                b"extended master secret",
                &session_hash,
                48,
            )
        } else {
            let mut seed = self.client_random.to_vec();
            seed.extend_from_slice(&self.server_random);
            prf(p, hash, &pre_master, b"master secret", &seed, 48)
        };
        self.install_keys()
    }

    fn install_keys(&mut self) -> Result<(), DtlsError> {
        let suite = self
            .suite
            .ok_or(DtlsError::UnexpectedMessage(UnexpectedMessage::NoSuite))?;
        let (kl, il) = (suite.aead().key_len(), suite.iv_len());
        let mut seed = self.server_random.to_vec();
        seed.extend_from_slice(&self.client_random);
        let block = prf(
            &*self.cfg.provider,
            suite.prf_hash(),
            &self.master,
            b"key expansion",
            &seed,
            2 * (kl + il),
        );
        let (ck, rest) = block.split_at(kl);
        let (sk, rest) = rest.split_at(kl);
        let (civ, siv) = rest.split_at(il);
        let p = &*self.cfg.provider;
        let client = RecordCipher::new(p.aead(suite.aead(), ck)?, civ, suite.nonce_kind());
        let server = RecordCipher::new(p.aead(suite.aead(), sk)?, siv, suite.nonce_kind());
        let (write, read) = match self.role {
            DtlsRole::Client => (client, server),
            DtlsRole::Server => (server, client),
        };
        self.write_cipher = Some(write);
        self.pending_read_cipher = Some(read);
        Ok(())
    }

    pub(super) fn verify_data(&self, label: &[u8]) -> Result<Vec<u8>, DtlsError> {
        let suite = self
            .suite
            .ok_or(DtlsError::UnexpectedMessage(UnexpectedMessage::NoSuite))?;
        let p = &*self.cfg.provider;
        let h = p.hash(suite.prf_hash(), &[&self.transcript]);
        Ok(prf(p, suite.prf_hash(), &self.master, label, &h, 12))
    }

    pub(super) fn check_finished(&self, label: &[u8], body: &[u8]) -> Result<(), DtlsError> {
        let expected = self.verify_data(label)?;
        // Constant time: the verify_data is secret-derived.
        if body.len() != expected.len()
            || !bool::from(subtle::ConstantTimeEq::ct_eq(body, &expected[..]))
        {
            return Err(DtlsError::BadFinished);
        }
        Ok(())
    }
}
