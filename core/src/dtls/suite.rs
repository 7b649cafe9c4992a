//! Cipher suites and the TLS 1.2 PRF (RFC 5246 §5), master secret (RFC 7627), key
//! expansion and exporter (RFC 5705).

use crate::crypto::{AeadAlgorithm, CryptoProvider, HashAlgorithm};

use super::record::NonceKind;

/// A DTLS 1.2 cipher suite we implement.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CipherSuite {
    /// TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (0xC02B).
    EcdheEcdsaAes128GcmSha256,
    /// TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 (0xC02C).
    EcdheEcdsaAes256GcmSha384,
    /// TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 (0xCCA9).
    EcdheEcdsaChaCha20Poly1305Sha256,
    /// TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (0xC02F).
    EcdheRsaAes128GcmSha256,
    /// TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 (0xC030).
    EcdheRsaAes256GcmSha384,
    /// TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 (0xCCA8).
    EcdheRsaChaCha20Poly1305Sha256,
}

impl CipherSuite {
    /// Every suite, in our order of preference.
    pub const ALL: [CipherSuite; 6] = [
        CipherSuite::EcdheEcdsaAes128GcmSha256,
        CipherSuite::EcdheEcdsaAes256GcmSha384,
        CipherSuite::EcdheEcdsaChaCha20Poly1305Sha256,
        CipherSuite::EcdheRsaAes128GcmSha256,
        CipherSuite::EcdheRsaAes256GcmSha384,
        CipherSuite::EcdheRsaChaCha20Poly1305Sha256,
    ];

    /// IANA code point.
    pub fn code(self) -> u16 {
        match self {
            CipherSuite::EcdheEcdsaAes128GcmSha256 => 0xC02B,
            CipherSuite::EcdheEcdsaAes256GcmSha384 => 0xC02C,
            CipherSuite::EcdheEcdsaChaCha20Poly1305Sha256 => 0xCCA9,
            CipherSuite::EcdheRsaAes128GcmSha256 => 0xC02F,
            CipherSuite::EcdheRsaAes256GcmSha384 => 0xC030,
            CipherSuite::EcdheRsaChaCha20Poly1305Sha256 => 0xCCA8,
        }
    }

    /// The suite for a code point, if implemented.
    pub fn from_code(code: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// IANA name.
    pub fn name(self) -> &'static str {
        match self {
            CipherSuite::EcdheEcdsaAes128GcmSha256 => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            CipherSuite::EcdheEcdsaAes256GcmSha384 => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            CipherSuite::EcdheEcdsaChaCha20Poly1305Sha256 => {
                "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
            }
            CipherSuite::EcdheRsaAes128GcmSha256 => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            CipherSuite::EcdheRsaAes256GcmSha384 => "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            CipherSuite::EcdheRsaChaCha20Poly1305Sha256 => {
                "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
            }
        }
    }

    /// Whether the server authenticates with an ECDSA (rather than RSA) certificate.
    pub fn is_ecdsa(self) -> bool {
        matches!(
            self,
            CipherSuite::EcdheEcdsaAes128GcmSha256
                | CipherSuite::EcdheEcdsaAes256GcmSha384
                | CipherSuite::EcdheEcdsaChaCha20Poly1305Sha256
        )
    }

    /// The record AEAD.
    pub fn aead(self) -> AeadAlgorithm {
        match self {
            CipherSuite::EcdheEcdsaAes128GcmSha256 | CipherSuite::EcdheRsaAes128GcmSha256 => {
                AeadAlgorithm::Aes128Gcm
            }
            CipherSuite::EcdheEcdsaAes256GcmSha384 | CipherSuite::EcdheRsaAes256GcmSha384 => {
                AeadAlgorithm::Aes256Gcm
            }
            _ => AeadAlgorithm::ChaCha20Poly1305,
        }
    }

    /// The PRF hash.
    pub fn prf_hash(self) -> HashAlgorithm {
        match self {
            CipherSuite::EcdheEcdsaAes256GcmSha384 | CipherSuite::EcdheRsaAes256GcmSha384 => {
                HashAlgorithm::Sha384
            }
            _ => HashAlgorithm::Sha256,
        }
    }

    /// Nonce construction.
    pub fn nonce_kind(self) -> NonceKind {
        match self.aead() {
            AeadAlgorithm::ChaCha20Poly1305 => NonceKind::ChaCha,
            _ => NonceKind::Gcm,
        }
    }

    /// Length of the fixed IV per direction.
    pub fn iv_len(self) -> usize {
        match self.nonce_kind() {
            NonceKind::Gcm => 4,
            NonceKind::ChaCha => 12,
        }
    }
}

/// P_hash / PRF of TLS 1.2 (RFC 5246 §5).
pub fn prf(
    provider: &dyn CryptoProvider,
    hash: HashAlgorithm,
    secret: &[u8],
    label: &[u8],
    seed: &[u8],
    len: usize,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    let mut a = provider.hmac(hash, secret, &[label, seed]);
    while out.len() < len {
        out.extend_from_slice(&provider.hmac(hash, secret, &[&a, label, seed]));
        a = provider.hmac(hash, secret, &[&a]);
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::RingProvider;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The widely used TLS 1.2 PRF (SHA-256) test vector published on the IETF TLS list
    /// alongside RFC 5246.
    #[test]
    fn prf_sha256_known_answer() {
        let secret = hex("9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35");
        let seed = hex("a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c");
        let out = prf(
            &RingProvider::new(),
            HashAlgorithm::Sha256,
            &secret,
            b"test label",
            &seed,
            100,
        );
        assert_eq!(
            out,
            hex(
                "e3 f2 29 ba 72 7b e1 7b 8d 12 26 20 55 7c d4 53 c2 aa b2 1d 07 c3 d4 95 32 9b 52 d4 e6 1e db 5a 6b 30 17 91 e9 0d 35 c9 c9 a4 6b 4e 14 ba f9 af 0f a0 22 f7 07 7d ef 17 ab fd 37 97 c0 56 4b ab 4f bc 91 66 6e 9d ef 9b 97 fc e3 4f 79 67 89 ba a4 80 82 d1 22 ee 42 c5 a7 2e 5a 51 10 ff f7 01 87 34 7b 66"
            )
        );
    }
}
