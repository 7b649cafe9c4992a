//! The crypto seam: everything DTLS needs from cryptography, behind one small trait.
//!
//! The protocol machines never name a crypto library; they ask a [`CryptoProvider`].
//! [`RingProvider`] (ring) is the default. A test can plug in another provider, e.g. one
//! whose randomness is seeded so a whole handshake replays byte for byte (ring's
//! `SecureRandom` is sealed, so the seam sits above ring, not inside it).

mod ring_provider;

use std::fmt::Debug;
use std::sync::Arc;

pub use ring_provider::RingProvider;

/// Errors from the crypto provider.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The OS random source failed.
    #[error("random source failed")]
    Random,
    /// A key had the wrong length or format.
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// The peer's key-exchange public value was unusable.
    #[error("invalid peer public key")]
    InvalidPeerKey,
    /// Authenticated decryption failed.
    #[error("decryption failed")]
    Decrypt,
    /// A signature did not verify.
    #[error("bad signature")]
    BadSignature,
    /// The provider does not implement this algorithm.
    #[error("unsupported algorithm: {0}")]
    Unsupported(&'static str),
}

/// Hash functions (TLS `HashAlgorithm`).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// SHA-1 (fingerprints only).
    Sha1,
    /// SHA-224 (fingerprints only).
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            HashAlgorithm::Sha1 => 20,
            HashAlgorithm::Sha224 => 28,
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha384 => 48,
            HashAlgorithm::Sha512 => 64,
        }
    }

    /// Name as used in SDP `a=fingerprint` (RFC 8122 §5).
    pub fn sdp_name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha1 => "sha-1",
            HashAlgorithm::Sha224 => "sha-224",
            HashAlgorithm::Sha256 => "sha-256",
            HashAlgorithm::Sha384 => "sha-384",
            HashAlgorithm::Sha512 => "sha-512",
        }
    }

    /// Parse an SDP fingerprint hash name (case-insensitive).
    pub fn from_sdp_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "sha-1" => HashAlgorithm::Sha1,
            "sha-224" => HashAlgorithm::Sha224,
            "sha-256" => HashAlgorithm::Sha256,
            "sha-384" => HashAlgorithm::Sha384,
            "sha-512" => HashAlgorithm::Sha512,
            _ => return None,
        })
    }
}

/// ECDHE groups (TLS `NamedGroup`).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NamedGroup {
    /// X25519 (0x001d).
    X25519,
    /// secp256r1 / P-256 (0x0017).
    Secp256r1,
}

impl NamedGroup {
    /// IANA code point.
    pub fn code(self) -> u16 {
        match self {
            NamedGroup::X25519 => 0x001d,
            NamedGroup::Secp256r1 => 0x0017,
        }
    }

    /// The group for an IANA code point, if supported.
    pub fn from_code(code: u16) -> Option<Self> {
        match code {
            0x001d => Some(NamedGroup::X25519),
            0x0017 => Some(NamedGroup::Secp256r1),
            _ => None,
        }
    }
}

/// Signature schemes (TLS 1.2 `SignatureAndHashAlgorithm`, as TLS 1.3 code points).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureScheme {
    /// ecdsa_secp256r1_sha256 (0x0403).
    EcdsaP256Sha256,
    /// ecdsa_secp384r1_sha384 (0x0503).
    EcdsaP384Sha384,
    /// rsa_pkcs1_sha256 (0x0401).
    RsaPkcs1Sha256,
    /// rsa_pkcs1_sha384 (0x0501).
    RsaPkcs1Sha384,
    /// rsa_pkcs1_sha512 (0x0601).
    RsaPkcs1Sha512,
    /// rsa_pss_rsae_sha256 (0x0804).
    RsaPssSha256,
    /// rsa_pss_rsae_sha384 (0x0805).
    RsaPssSha384,
    /// rsa_pss_rsae_sha512 (0x0806).
    RsaPssSha512,
}

impl SignatureScheme {
    /// IANA code point.
    pub fn code(self) -> u16 {
        match self {
            SignatureScheme::EcdsaP256Sha256 => 0x0403,
            SignatureScheme::EcdsaP384Sha384 => 0x0503,
            SignatureScheme::RsaPkcs1Sha256 => 0x0401,
            SignatureScheme::RsaPkcs1Sha384 => 0x0501,
            SignatureScheme::RsaPkcs1Sha512 => 0x0601,
            SignatureScheme::RsaPssSha256 => 0x0804,
            SignatureScheme::RsaPssSha384 => 0x0805,
            SignatureScheme::RsaPssSha512 => 0x0806,
        }
    }

    /// The scheme for a code point, if supported.
    pub fn from_code(code: u16) -> Option<Self> {
        Some(match code {
            0x0403 => SignatureScheme::EcdsaP256Sha256,
            0x0503 => SignatureScheme::EcdsaP384Sha384,
            0x0401 => SignatureScheme::RsaPkcs1Sha256,
            0x0501 => SignatureScheme::RsaPkcs1Sha384,
            0x0601 => SignatureScheme::RsaPkcs1Sha512,
            0x0804 => SignatureScheme::RsaPssSha256,
            0x0805 => SignatureScheme::RsaPssSha384,
            0x0806 => SignatureScheme::RsaPssSha512,
            _ => return None,
        })
    }

    /// Whether this is an ECDSA scheme.
    pub fn is_ecdsa(self) -> bool {
        matches!(
            self,
            SignatureScheme::EcdsaP256Sha256 | SignatureScheme::EcdsaP384Sha384
        )
    }
}

/// AEAD ciphers used by the DTLS cipher suites and SRTP-GCM.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AeadAlgorithm {
    /// AES-128-GCM.
    Aes128Gcm,
    /// AES-256-GCM.
    Aes256Gcm,
    /// ChaCha20-Poly1305.
    ChaCha20Poly1305,
}

impl AeadAlgorithm {
    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            AeadAlgorithm::Aes128Gcm => 16,
            AeadAlgorithm::Aes256Gcm | AeadAlgorithm::ChaCha20Poly1305 => 32,
        }
    }
}

/// Tag length of every supported AEAD.
pub const AEAD_TAG_LEN: usize = 16;

/// A keyed AEAD.
pub trait Aead: Send + Sync + Debug {
    /// Encrypt `in_out` in place and return the tag.
    fn seal(&self, nonce: &[u8; 12], aad: &[u8], in_out: &mut [u8]) -> [u8; AEAD_TAG_LEN];
    /// Decrypt `in_out` (ciphertext followed by the tag) in place; returns the plaintext
    /// length.
    fn open(&self, nonce: &[u8; 12], aad: &[u8], in_out: &mut [u8]) -> Result<usize, CryptoError>;
}

/// One side of an ephemeral key exchange.
pub trait KeyExchange: Send + Debug {
    /// Our public value to send (X25519: 32 bytes; P-256: 65-byte uncompressed point).
    fn public_key(&self) -> &[u8];
    /// Combine with the peer's public value into the shared secret.
    fn complete(self: Box<Self>, peer: &[u8]) -> Result<Vec<u8>, CryptoError>;
}

/// A private key that signs handshake messages.
pub trait SigningKey: Send + Sync + Debug {
    /// The scheme its signatures use.
    fn scheme(&self) -> SignatureScheme;
    /// Sign `message`.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError>;
}

/// Everything the protocol layers need from cryptography.
pub trait CryptoProvider: Send + Sync + Debug {
    /// Fill `buf` with random bytes for key material (OS randomness in a real provider).
    fn fill_random(&self, buf: &mut [u8]) -> Result<(), CryptoError>;
    /// Start an ephemeral key exchange on `group`.
    fn key_exchange(&self, group: NamedGroup) -> Result<Box<dyn KeyExchange>, CryptoError>;
    /// Key an AEAD.
    fn aead(&self, alg: AeadAlgorithm, key: &[u8]) -> Result<Box<dyn Aead>, CryptoError>;
    /// HMAC over the concatenation of `parts`.
    fn hmac(&self, hash: HashAlgorithm, key: &[u8], parts: &[&[u8]]) -> Vec<u8>;
    /// Hash of the concatenation of `parts`.
    fn hash(&self, hash: HashAlgorithm, parts: &[&[u8]]) -> Vec<u8>;
    /// Verify `signature` over `message` with a SubjectPublicKeyInfo's key bits
    /// (the BIT STRING content: an EC point, or an RSAPublicKey).
    fn verify(
        &self,
        scheme: SignatureScheme,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError>;
    /// Load a PKCS#8 private key for signing with `scheme`.
    fn signing_key(
        &self,
        scheme: SignatureScheme,
        pkcs8: &[u8],
    ) -> Result<Arc<dyn SigningKey>, CryptoError>;
}

/// The default provider.
pub fn default_provider() -> Arc<dyn CryptoProvider> {
    Arc::new(RingProvider::new())
}
