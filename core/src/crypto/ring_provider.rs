//! The default [`CryptoProvider`] on ring.

use std::sync::Arc;

use ring::rand::{SecureRandom, SystemRandom};
use ring::{aead, agreement, digest, hmac, signature};

use super::{
    AEAD_TAG_LEN, Aead, AeadAlgorithm, CryptoError, CryptoProvider, HashAlgorithm, KeyExchange,
    NamedGroup, SignatureScheme, SigningKey,
};

/// ring-backed provider with the OS random source.
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

    fn hmac(&self, hash: HashAlgorithm, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        let alg = match hash {
            HashAlgorithm::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            HashAlgorithm::Sha224 | HashAlgorithm::Sha256 => hmac::HMAC_SHA256,
            HashAlgorithm::Sha384 => hmac::HMAC_SHA384,
            HashAlgorithm::Sha512 => hmac::HMAC_SHA512,
        };
        let mut ctx = hmac::Context::with_key(&hmac::Key::new(alg, key));
        for p in parts {
            ctx.update(p);
        }
        ctx.sign().as_ref().to_vec()
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
}
