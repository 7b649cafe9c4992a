//! The crypto seam: everything DTLS, SRTP, STUN and the DTLS cookies need from
//! cryptography, behind one small trait.
//!
//! The protocol machines never name a crypto library; they ask a [`CryptoProvider`].
//! [`RingProvider`] (ring, with RustCrypto's AES-CTR and HMAC-SHA1 where those are
//! faster) is the default. The ORTC chain takes its provider from one place,
//! `IceGathererConfig::provider`, and hands it to ICE, DTLS and everything above.
//!
//! Per-packet work never allocates: SRTP asks once, at key setup, for a keyed
//! [`AesCtr`], [`HmacKey`] or [`Aead`] and keeps it; one-shot HMACs come back as an
//! [`HmacTag`] on the stack.
//!
//! With the `insecure-seeded-crypto` feature, `InsecureSeededProvider` draws all its
//! randomness from a seed so a whole simulated call replays byte for byte (ring's
//! `SecureRandom` is sealed, so the seam sits above ring, not inside it). It is for
//! simulations only.

#[cfg(feature = "insecure-seeded-crypto")]
mod insecure_seeded;
mod ring_provider;

use std::fmt::Debug;
use std::sync::Arc;

use subtle::ConstantTimeEq;

#[cfg(feature = "insecure-seeded-crypto")]
pub use insecure_seeded::InsecureSeededProvider;
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

/// Longest HMAC output (SHA-512).
pub const MAX_HMAC_LEN: usize = 64;

/// An HMAC output, held on the stack so a per-message MAC (STUN, SRTP) never allocates.
#[derive(Clone, Copy)]
pub struct HmacTag {
    bytes: [u8; MAX_HMAC_LEN],
    len: u8,
}

impl HmacTag {
    /// A tag holding `bytes` (at most [`MAX_HMAC_LEN`]; longer input is cut there).
    pub fn new(bytes: &[u8]) -> Self {
        let len = bytes.len().min(MAX_HMAC_LEN);
        let mut tag = HmacTag {
            bytes: [0; MAX_HMAC_LEN],
            len: len as u8,
        };
        tag.bytes[..len].copy_from_slice(&bytes[..len]);
        tag
    }

    /// The tag bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Whether `received` equals this tag's leftmost bytes (a truncated tag, as SRTP's
    /// 80- and 32-bit tags and STUN's truncated SHA-256 are), compared in constant time
    /// so a forger learns nothing from timing. An empty or over-long `received` never
    /// matches.
    pub fn verify_truncated(&self, received: &[u8]) -> bool {
        !received.is_empty()
            && received.len() <= usize::from(self.len)
            && bool::from(self.bytes[..received.len()].ct_eq(received))
    }
}

impl std::ops::Deref for HmacTag {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for HmacTag {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Debug for HmacTag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HmacTag({} bytes)", self.len)
    }
}

/// An HMAC keyed once, for a session that MACs many packets (SRTP): keying hashes the
/// key pads, which must not be paid per packet.
pub trait HmacKey: Send + Sync + Debug {
    /// HMAC over the concatenation of `parts`.
    fn sign(&self, parts: &[&[u8]]) -> HmacTag;
}

/// AES in counter mode, keyed once (SRTP's AES-CM transform and its key derivation,
/// RFC 3711 §4.1.1 and §4.3.3).
pub trait AesCtr: Send + Sync + Debug {
    /// XOR `data` with the keystream whose first counter block is `counter`, the whole
    /// 128-bit block incremented big-endian per block (NIST SP 800-38A).
    fn apply_keystream(&self, counter: &[u8; 16], data: &mut [u8]);
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
    /// The public key: for ECDSA the uncompressed point, as a certificate's
    /// SubjectPublicKeyInfo carries it.
    fn public_key(&self) -> &[u8];
}

/// Everything the protocol layers need from cryptography.
pub trait CryptoProvider: Send + Sync + Debug {
    /// Fill `buf` with random bytes for key material (OS randomness in a real provider).
    fn fill_random(&self, buf: &mut [u8]) -> Result<(), CryptoError>;
    /// Start an ephemeral key exchange on `group`.
    fn key_exchange(&self, group: NamedGroup) -> Result<Box<dyn KeyExchange>, CryptoError>;
    /// Key an AEAD.
    fn aead(&self, alg: AeadAlgorithm, key: &[u8]) -> Result<Box<dyn Aead>, CryptoError>;
    /// HMAC over the concatenation of `parts`, keyed for this one call (STUN
    /// MESSAGE-INTEGRITY, DTLS PRF and cookies).
    fn hmac(&self, hash: HashAlgorithm, key: &[u8], parts: &[&[u8]]) -> HmacTag;
    /// An HMAC keyed once for many messages (SRTP's per-packet tag).
    fn hmac_key(&self, hash: HashAlgorithm, key: &[u8]) -> Box<dyn HmacKey>;
    /// AES-CTR keyed with a 16- or 32-byte key.
    fn aes_ctr(&self, key: &[u8]) -> Result<Box<dyn AesCtr>, CryptoError>;
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
    /// A new private key for `scheme` as PKCS#8 DER, for a self-signed certificate.
    fn generate_signing_key(&self, scheme: SignatureScheme) -> Result<Vec<u8>, CryptoError>;
}

/// The default provider.
pub fn default_provider() -> Arc<dyn CryptoProvider> {
    Arc::new(RingProvider::new())
}
