//! Session key derivation: the AES-CM PRF of RFC 3711 §4.3, with a key derivation rate
//! of zero (RFC 5764 §4.1.2 and RFC 8827 fix it at 0 for DTLS-SRTP: derive once).

use crate::crypto::{AesCtr, CryptoProvider};

use super::{SrtpError, SrtpProfile};

/// The key derivation labels of RFC 3711 §4.3.1 and §4.3.2.
#[derive(Debug, Clone, Copy)]
#[repr(u8)]
pub(crate) enum Label {
    RtpEncryption = 0x00,
    RtpAuthentication = 0x01,
    RtpSalt = 0x02,
    RtcpEncryption = 0x03,
    RtcpAuthentication = 0x04,
    RtcpSalt = 0x05,
}

/// [`prf`] keyed for one call, for the RFC 3711 Appendix B.3 vectors.
#[cfg(test)]
pub(crate) fn derive(
    provider: &dyn CryptoProvider,
    master_key: &[u8],
    master_salt: &[u8],
    label: Label,
    out: &mut [u8],
) -> Result<(), SrtpError> {
    prf(&*keyed_prf(provider, master_key)?, master_salt, label, out)
}

/// The PRF's AES keyed with the master key: AES-128 or, for AEAD_AES_256_GCM, AES-256.
fn keyed_prf(
    provider: &dyn CryptoProvider,
    master_key: &[u8],
) -> Result<Box<dyn AesCtr>, SrtpError> {
    match master_key.len() {
        16 | 32 => provider
            .aes_ctr(master_key)
            .map_err(|_| SrtpError::InvalidKeyLength {
                expected: 16,
                actual: master_key.len(),
            }),
        actual => Err(SrtpError::InvalidKeyLength {
            expected: 16,
            actual,
        }),
    }
}

/// Fill `out` with the PRF output for `label` (RFC 3711 §4.3.1, §4.3.3).
///
/// `master_salt` may be 14 bytes (AES-CM, RFC 3711) or 12 bytes (AES-GCM): RFC 7714 §11
/// keeps the RFC 3711 KDF and its 112-bit `x`, so the 96-bit salt is padded with zero
/// bytes on the right, as libsrtp does. For AEAD_AES_256_GCM the PRF is AES-256 in
/// counter mode (RFC 7714 §11 refers to the AES_256_CM_PRF of RFC 6188 §3).
///
/// `aes` is the PRF keyed with the master key once, so a context's labels share one key
/// schedule.
fn prf(
    aes: &dyn AesCtr,
    master_salt: &[u8],
    label: Label,
    out: &mut [u8],
) -> Result<(), SrtpError> {
    if master_salt.len() > 14 {
        return Err(SrtpError::InvalidSaltLength {
            expected: 14,
            actual: master_salt.len(),
        });
    }
    // x = key_id XOR master_salt with key_id = label || r, r = index DIV kdr = 0 for
    // kdr 0; key_id is 56 bits aligned to the right of the 112-bit salt, so the label
    // lands in byte 7. The PRF input is x * 2^16 (§4.3.3).
    let mut iv = [0u8; 16];
    iv[..master_salt.len()].copy_from_slice(master_salt);
    iv[7] ^= label as u8;
    out.fill(0);
    aes.apply_keystream(&iv, out);
    Ok(())
}

/// Session keys for one of SRTP or SRTCP, fixed-size so a context holds no heap keys.
#[derive(Clone)]
pub(crate) struct SessionKeys {
    pub(crate) encryption: [u8; 32],
    pub(crate) salt: [u8; 14],
    pub(crate) authentication: [u8; 20],
}

impl SessionKeys {
    /// Derive the SRTP (`rtcp == false`) or SRTCP session keys of `profile`.
    pub(crate) fn derive(
        provider: &dyn CryptoProvider,
        profile: SrtpProfile,
        master_key: &[u8],
        master_salt: &[u8],
        rtcp: bool,
    ) -> Result<Self, SrtpError> {
        let (enc, auth, salt) = if rtcp {
            (
                Label::RtcpEncryption,
                Label::RtcpAuthentication,
                Label::RtcpSalt,
            )
        } else {
            (
                Label::RtpEncryption,
                Label::RtpAuthentication,
                Label::RtpSalt,
            )
        };
        let aes = keyed_prf(provider, master_key)?;
        let mut keys = SessionKeys {
            encryption: [0; 32],
            salt: [0; 14],
            authentication: [0; 20],
        };
        prf(
            &*aes,
            master_salt,
            enc,
            &mut keys.encryption[..profile.key_len()],
        )?;
        prf(
            &*aes,
            master_salt,
            salt,
            &mut keys.salt[..profile.salt_len()],
        )?;
        if profile.auth_key_len() > 0 {
            prf(&*aes, master_salt, auth, &mut keys.authentication)?;
        }
        Ok(keys)
    }
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Key material never goes to logs.
        f.write_str("SessionKeys(..)")
    }
}
