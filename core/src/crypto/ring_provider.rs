//! The default [`CryptoProvider`] on ring, with RustCrypto's AES-CTR and HMAC, which
//! SRTP and STUN use per packet.

use std::sync::Arc;

use aes::cipher::{InnerIvInit, KeyInit, StreamCipher};
use hmac::Mac;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::KeyPair;
use ring::{aead, agreement, digest, signature};

use super::{
    AEAD_TAG_LEN, Aead, AeadAlgorithm, AesCtr, CryptoError, CryptoProvider, HashAlgorithm, HmacKey,
    HmacTag, KeyExchange, NamedGroup, SignatureScheme, SigningKey,
};

/// ring-backed provider with the OS random source.
///
/// AES-CTR and HMAC come from RustCrypto (`aes`, `ctr`, `hmac`, `sha1`, `sha2`): ring
/// offers no raw counter mode (SRTP's AES-CM needs one), and with AES-NI and SHA-NI
/// RustCrypto's HMAC-SHA1 beats ring's several times on packet-sized input (STUN, SRTP).
#[derive(Debug)]
pub struct RingProvider {
    rng: SystemRandom,
}

impl Default for RingProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl RingProvider {
    /// A provider using the OS random source.
    pub fn new() -> Self {
        RingProvider {
            rng: SystemRandom::new(),
        }
    }
}

struct RingAead(aead::LessSafeKey);

impl std::fmt::Debug for RingAead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RingAead({:?})", self.0.algorithm())
    }
}

impl Aead for RingAead {
    fn seal(&self, nonce: &[u8; 12], aad: &[u8], in_out: &mut [u8]) -> [u8; AEAD_TAG_LEN] {
        let tag = self
            .0
            .seal_in_place_separate_tag(
                aead::Nonce::assume_unique_for_key(*nonce),
                aead::Aad::from(aad),
                in_out,
            )
            .expect("ring seals any length below 2^36 bytes");
        let mut out = [0u8; AEAD_TAG_LEN];
        out.copy_from_slice(tag.as_ref());
        out
    }

    fn open(&self, nonce: &[u8; 12], aad: &[u8], in_out: &mut [u8]) -> Result<usize, CryptoError> {
        self.0
            .open_in_place(
                aead::Nonce::assume_unique_for_key(*nonce),
                aead::Aad::from(aad),
                in_out,
            )
            .map(|p| p.len())
            .map_err(|_| CryptoError::Decrypt)
    }
}

#[derive(Debug)]
struct RingKeyExchange {
    alg: &'static agreement::Algorithm,
    private: agreement::EphemeralPrivateKey,
    public: Vec<u8>,
}

impl KeyExchange for RingKeyExchange {
    fn public_key(&self) -> &[u8] {
        &self.public
    }

    fn complete(self: Box<Self>, peer: &[u8]) -> Result<Vec<u8>, CryptoError> {
        agreement::agree_ephemeral(
            self.private,
            &agreement::UnparsedPublicKey::new(self.alg, peer),
            |secret| secret.to_vec(),
        )
        .map_err(|_| CryptoError::InvalidPeerKey)
    }
}

struct RingEcdsaKey {
    key: signature::EcdsaKeyPair,
    scheme: SignatureScheme,
    rng: SystemRandom,
}

impl std::fmt::Debug for RingEcdsaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RingEcdsaKey({:?})", self.scheme)
    }
}

impl SigningKey for RingEcdsaKey {
    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.key
            .sign(&self.rng, message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| CryptoError::Random)
    }

    fn public_key(&self) -> &[u8] {
        self.key.public_key().as_ref()
    }
}

/// AES-CTR with the key schedule expanded once; each call clones the round keys (a copy,
/// not a new schedule).
// Boxed once per session key, so the AES-128 variant's unused 256 bytes cost nothing
// per packet.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
enum RustAesCtr {
    Aes128(aes::Aes128),
    Aes256(aes::Aes256),
}

impl std::fmt::Debug for RustAesCtr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Key material never goes to logs.
        match self {
            RustAesCtr::Aes128(_) => f.write_str("AesCtr(128)"),
            RustAesCtr::Aes256(_) => f.write_str("AesCtr(256)"),
        }
    }
}

impl AesCtr for RustAesCtr {
    fn apply_keystream(&self, counter: &[u8; 16], data: &mut [u8]) {
        match self {
            RustAesCtr::Aes128(k) => {
                let core = ctr::CtrCore::<aes::Aes128, ctr::flavors::Ctr128BE>::inner_iv_init(
                    k.clone(),
                    counter.into(),
                );
                ctr::Ctr128BE::from_core(core).apply_keystream(data);
            }
            RustAesCtr::Aes256(k) => {
                let core = ctr::CtrCore::<aes::Aes256, ctr::flavors::Ctr128BE>::inner_iv_init(
                    k.clone(),
                    counter.into(),
                );
                ctr::Ctr128BE::from_core(core).apply_keystream(data);
            }
        }
    }
}

/// A keyed RustCrypto HMAC: a clone carries the absorbed inner and outer pads, so a
/// packet pays two compressions of its own data and nothing for the key.
#[derive(Clone)]
enum RustHmac {
    Sha1(hmac::Hmac<sha1::Sha1>),
    Sha256(hmac::Hmac<sha2::Sha256>),
    Sha384(hmac::Hmac<sha2::Sha384>),
    Sha512(hmac::Hmac<sha2::Sha512>),
}

impl std::fmt::Debug for RustHmac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacKey(..)")
    }
}

fn mac_parts<M: Mac>(mut mac: M, parts: &[&[u8]]) -> HmacTag {
    for p in parts {
        mac.update(p);
    }
    HmacTag::new(&mac.finalize().into_bytes())
}

impl RustHmac {
    fn new(hash: HashAlgorithm, key: &[u8]) -> Self {
        // HMAC takes a key of any length (RFC 2104 §2 hashes long ones), so keying
        // cannot fail.
        const ANY: &str = "HMAC takes any key length";
        match hash {
            HashAlgorithm::Sha1 => RustHmac::Sha1(Mac::new_from_slice(key).expect(ANY)),
            HashAlgorithm::Sha224 | HashAlgorithm::Sha256 => {
                RustHmac::Sha256(Mac::new_from_slice(key).expect(ANY))
            }
            HashAlgorithm::Sha384 => RustHmac::Sha384(Mac::new_from_slice(key).expect(ANY)),
            HashAlgorithm::Sha512 => RustHmac::Sha512(Mac::new_from_slice(key).expect(ANY)),
        }
    }
}

impl RustHmac {
    /// MAC `parts` and drop the key: a one-shot HMAC needs no clone of the keyed state.
    fn sign_once(self, parts: &[&[u8]]) -> HmacTag {
        match self {
            RustHmac::Sha1(m) => mac_parts(m, parts),
            RustHmac::Sha256(m) => mac_parts(m, parts),
            RustHmac::Sha384(m) => mac_parts(m, parts),
            RustHmac::Sha512(m) => mac_parts(m, parts),
        }
    }
}

impl HmacKey for RustHmac {
    fn sign(&self, parts: &[&[u8]]) -> HmacTag {
        self.clone().sign_once(parts)
    }
}

impl CryptoProvider for RingProvider {
    fn fill_random(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        self.rng.fill(buf).map_err(|_| CryptoError::Random)
    }

    fn key_exchange(&self, group: NamedGroup) -> Result<Box<dyn KeyExchange>, CryptoError> {
        let alg = match group {
            NamedGroup::X25519 => &agreement::X25519,
            NamedGroup::Secp256r1 => &agreement::ECDH_P256,
        };
        let private = agreement::EphemeralPrivateKey::generate(alg, &self.rng)
            .map_err(|_| CryptoError::Random)?;
        let public = private
            .compute_public_key()
            .map_err(|_| CryptoError::Random)?
            .as_ref()
            .to_vec();
        Ok(Box::new(RingKeyExchange {
            alg,
            private,
            public,
        }))
    }

    fn aead(&self, alg: AeadAlgorithm, key: &[u8]) -> Result<Box<dyn Aead>, CryptoError> {
        let ring_alg = match alg {
            AeadAlgorithm::Aes128Gcm => &aead::AES_128_GCM,
            AeadAlgorithm::Aes256Gcm => &aead::AES_256_GCM,
            AeadAlgorithm::ChaCha20Poly1305 => &aead::CHACHA20_POLY1305,
        };
        let key = aead::UnboundKey::new(ring_alg, key)
            .map_err(|_| CryptoError::InvalidKey("AEAD key length"))?;
        Ok(Box::new(RingAead(aead::LessSafeKey::new(key))))
    }

    fn hmac(&self, hash: HashAlgorithm, key: &[u8], parts: &[&[u8]]) -> HmacTag {
        RustHmac::new(hash, key).sign_once(parts)
    }

    fn hmac_key(&self, hash: HashAlgorithm, key: &[u8]) -> Box<dyn HmacKey> {
        Box::new(RustHmac::new(hash, key))
    }

    fn aes_ctr(&self, key: &[u8]) -> Result<Box<dyn AesCtr>, CryptoError> {
        let bad = |_| CryptoError::InvalidKey("AES key must be 16 or 32 bytes");
        Ok(Box::new(match key.len() {
            16 => RustAesCtr::Aes128(aes::Aes128::new_from_slice(key).map_err(bad)?),
            32 => RustAesCtr::Aes256(aes::Aes256::new_from_slice(key).map_err(bad)?),
            _ => return Err(CryptoError::InvalidKey("AES key must be 16 or 32 bytes")),
        }))
    }

    fn hash(&self, hash: HashAlgorithm, parts: &[&[u8]]) -> Vec<u8> {
        if hash == HashAlgorithm::Sha224 {
            use sha2::Digest;
            let mut h = sha2::Sha224::new();
            for p in parts {
                h.update(p);
            }
            return h.finalize().to_vec();
        }
        let alg = match hash {
            HashAlgorithm::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            HashAlgorithm::Sha384 => &digest::SHA384,
            HashAlgorithm::Sha512 => &digest::SHA512,
            _ => &digest::SHA256,
        };
        let mut ctx = digest::Context::new(alg);
        for p in parts {
            ctx.update(p);
        }
        ctx.finish().as_ref().to_vec()
    }

    fn verify(
        &self,
        scheme: SignatureScheme,
        public_key: &[u8],
        message: &[u8],
        sig: &[u8],
    ) -> Result<(), CryptoError> {
        let alg: &dyn signature::VerificationAlgorithm = match scheme {
            SignatureScheme::EcdsaP256Sha256 => &signature::ECDSA_P256_SHA256_ASN1,
            SignatureScheme::EcdsaP384Sha384 => &signature::ECDSA_P384_SHA384_ASN1,
            SignatureScheme::RsaPkcs1Sha256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            SignatureScheme::RsaPkcs1Sha384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            SignatureScheme::RsaPkcs1Sha512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            SignatureScheme::RsaPssSha256 => &signature::RSA_PSS_2048_8192_SHA256,
            SignatureScheme::RsaPssSha384 => &signature::RSA_PSS_2048_8192_SHA384,
            SignatureScheme::RsaPssSha512 => &signature::RSA_PSS_2048_8192_SHA512,
        };
        signature::UnparsedPublicKey::new(alg, public_key)
            .verify(message, sig)
            .map_err(|_| CryptoError::BadSignature)
    }

    fn signing_key(
        &self,
        scheme: SignatureScheme,
        pkcs8: &[u8],
    ) -> Result<Arc<dyn SigningKey>, CryptoError> {
        let alg = match scheme {
            SignatureScheme::EcdsaP256Sha256 => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            SignatureScheme::EcdsaP384Sha384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
            _ => return Err(CryptoError::Unsupported("signing with RSA keys")),
        };
        let key = signature::EcdsaKeyPair::from_pkcs8(alg, pkcs8, &self.rng)
            .map_err(|_| CryptoError::InvalidKey("not a PKCS#8 ECDSA key for this curve"))?;
        Ok(Arc::new(RingEcdsaKey {
            key,
            scheme,
            rng: self.rng.clone(),
        }))
    }

    fn generate_signing_key(&self, scheme: SignatureScheme) -> Result<Vec<u8>, CryptoError> {
        let alg = match scheme {
            SignatureScheme::EcdsaP256Sha256 => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            SignatureScheme::EcdsaP384Sha384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
            _ => return Err(CryptoError::Unsupported("generating RSA keys")),
        };
        signature::EcdsaKeyPair::generate_pkcs8(alg, &self.rng)
            .map(|d| d.as_ref().to_vec())
            .map_err(|_| CryptoError::Random)
    }
}
