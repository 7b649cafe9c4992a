//! A seeded, INSECURE provider for simulations that must replay byte for byte.

use std::sync::{Arc, Mutex, PoisonError};

use p256::ecdsa::signature::Signer;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use super::{
    Aead, AeadAlgorithm, AesCtr, CryptoError, CryptoProvider, HashAlgorithm, HmacKey, HmacTag,
    KeyExchange, NamedGroup, RingProvider, SignatureScheme, SigningKey,
};

/// **INSECURE — for simulation and tests only.** A [`CryptoProvider`] whose every random
/// choice (ECDHE private keys, certificate keys, anything drawn through
/// [`fill_random`](CryptoProvider::fill_random)) comes from a ChaCha20 stream seeded with
/// a `u64`, and whose ECDSA signatures use RFC 6979 deterministic nonces.
///
/// Anyone who knows or guesses the seed — 64 bits at most, often a small test number —
/// knows every private key, so every session keyed through it can be decrypted and
/// impersonated. Never use it where the traffic matters. It exists so that a simulated
/// call (ICE, DTLS, SCTP, SRTP through `sansrtc::sim`) with the same seed sends the same
/// datagrams down to the last byte, which makes a failure replayable.
///
/// Only ECDSA P-256 keys are generated and signed with (the WebRTC default); X25519 and
/// P-256 ECDHE are both deterministic. Hashes, HMAC, AES-CTR, AEADs and signature checks
/// are deterministic anyway and come from [`RingProvider`]. Calls draw from one stream
/// in the order they happen, so two runs match as long as the calls come in the same
/// order, as they do in the simulator.
///
/// Behind the cargo feature `insecure-seeded-crypto`, which the default build leaves off.
#[derive(Debug)]
pub struct InsecureSeededProvider {
    rng: Mutex<ChaCha20Rng>,
    inner: RingProvider,
}

impl InsecureSeededProvider {
    /// **INSECURE:** a provider whose randomness is all derived from `seed`.
    pub fn new(seed: u64) -> Self {
        InsecureSeededProvider {
            rng: Mutex::new(ChaCha20Rng::seed_from_u64(seed)),
            inner: RingProvider::new(),
        }
    }

    fn fill(&self, buf: &mut [u8]) {
        // A panic elsewhere while holding the lock leaves the stream intact (a fill is
        // one call), so a poisoned lock is still usable.
        self.rng
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .fill_bytes(buf);
    }

    /// A P-256 private key from the stream: 32 bytes, redrawn in the negligible case
    /// that they are zero or not below the group order.
    fn p256_secret(&self) -> p256::SecretKey {
        loop {
            let mut b = [0u8; 32];
            self.fill(&mut b);
            if let Ok(k) = p256::SecretKey::from_slice(&b) {
                return k;
            }
        }
    }
}

enum SeededSecret {
    X25519(x25519_dalek::StaticSecret),
    P256(p256::SecretKey),
}

struct SeededKeyExchange {
    secret: SeededSecret,
    public: Vec<u8>,
}

impl std::fmt::Debug for SeededKeyExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let group = match self.secret {
            SeededSecret::X25519(_) => "X25519",
            SeededSecret::P256(_) => "P-256",
        };
        write!(f, "SeededKeyExchange({group})")
    }
}

impl KeyExchange for SeededKeyExchange {
    fn public_key(&self) -> &[u8] {
        &self.public
    }

    fn complete(self: Box<Self>, peer: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match self.secret {
            SeededSecret::X25519(secret) => {
                let peer: [u8; 32] = peer.try_into().map_err(|_| CryptoError::InvalidPeerKey)?;
                let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(peer));
                // A low-order peer point forces an all-zero secret (RFC 7748 §6.1); ring
                // refuses it too.
                if !shared.was_contributory() {
                    return Err(CryptoError::InvalidPeerKey);
                }
                Ok(shared.as_bytes().to_vec())
            }
            SeededSecret::P256(secret) => {
                let peer = p256::PublicKey::from_sec1_bytes(peer)
                    .map_err(|_| CryptoError::InvalidPeerKey)?;
                let shared =
                    p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), peer.as_affine());
                Ok(shared.raw_secret_bytes().to_vec())
            }
        }
    }
}

/// ECDSA P-256 with RFC 6979 nonces: the same key and message give the same signature.
struct SeededEcdsaKey {
    key: p256::ecdsa::SigningKey,
    public: Vec<u8>,
}

impl std::fmt::Debug for SeededEcdsaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SeededEcdsaKey(P-256)")
    }
}

impl SigningKey for SeededEcdsaKey {
    fn scheme(&self) -> SignatureScheme {
        SignatureScheme::EcdsaP256Sha256
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let sig: p256::ecdsa::Signature = self.key.sign(message);
        // TLS and X.509 carry ECDSA signatures as DER (RFC 5246 §4.7, RFC 5480 §2.2).
        Ok(sig.to_der().as_bytes().to_vec())
    }

    fn public_key(&self) -> &[u8] {
        &self.public
    }
}

impl CryptoProvider for InsecureSeededProvider {
    fn fill_random(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        self.fill(buf);
        Ok(())
    }

    fn key_exchange(&self, group: NamedGroup) -> Result<Box<dyn KeyExchange>, CryptoError> {
        let (secret, public) = match group {
            NamedGroup::X25519 => {
                let mut b = [0u8; 32];
                self.fill(&mut b);
                let secret = x25519_dalek::StaticSecret::from(b);
                let public = x25519_dalek::PublicKey::from(&secret).as_bytes().to_vec();
                (SeededSecret::X25519(secret), public)
            }
            NamedGroup::Secp256r1 => {
                let secret = self.p256_secret();
                let public = secret
                    .public_key()
                    .to_encoded_point(false)
                    .as_bytes()
                    .to_vec();
                (SeededSecret::P256(secret), public)
            }
        };
        Ok(Box::new(SeededKeyExchange { secret, public }))
    }

    fn aead(&self, alg: AeadAlgorithm, key: &[u8]) -> Result<Box<dyn Aead>, CryptoError> {
        self.inner.aead(alg, key)
    }

    fn hmac(&self, hash: HashAlgorithm, key: &[u8], parts: &[&[u8]]) -> HmacTag {
        self.inner.hmac(hash, key, parts)
    }

    fn hmac_key(&self, hash: HashAlgorithm, key: &[u8]) -> Box<dyn HmacKey> {
        self.inner.hmac_key(hash, key)
    }

    fn aes_ctr(&self, key: &[u8]) -> Result<Box<dyn AesCtr>, CryptoError> {
        self.inner.aes_ctr(key)
    }

    fn hash(&self, hash: HashAlgorithm, parts: &[&[u8]]) -> Vec<u8> {
        self.inner.hash(hash, parts)
    }

    fn verify(
        &self,
        scheme: SignatureScheme,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        self.inner.verify(scheme, public_key, message, signature)
    }

    fn signing_key(
        &self,
        scheme: SignatureScheme,
        pkcs8: &[u8],
    ) -> Result<Arc<dyn SigningKey>, CryptoError> {
        if scheme != SignatureScheme::EcdsaP256Sha256 {
            // Other schemes would sign with ring's random nonces and break the replay.
            return Err(CryptoError::Unsupported(
                "the seeded provider signs with ECDSA P-256 only",
            ));
        }
        let key = p256::ecdsa::SigningKey::from_pkcs8_der(pkcs8)
            .map_err(|_| CryptoError::InvalidKey("not a PKCS#8 P-256 key"))?;
        let public = key
            .verifying_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec();
        Ok(Arc::new(SeededEcdsaKey { key, public }))
    }

    fn generate_signing_key(&self, scheme: SignatureScheme) -> Result<Vec<u8>, CryptoError> {
        if scheme != SignatureScheme::EcdsaP256Sha256 {
            return Err(CryptoError::Unsupported(
                "the seeded provider generates ECDSA P-256 keys only",
            ));
        }
        self.p256_secret()
            .to_pkcs8_der()
            .map(|d| d.as_bytes().to_vec())
            .map_err(|_| CryptoError::InvalidKey("P-256 key does not encode"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_keys_and_signatures_other_seed_other_keys() {
        let run = |seed| {
            let p = InsecureSeededProvider::new(seed);
            let pkcs8 = p
                .generate_signing_key(SignatureScheme::EcdsaP256Sha256)
                .unwrap();
            let key = p
                .signing_key(SignatureScheme::EcdsaP256Sha256, &pkcs8)
                .unwrap();
            let sig = key.sign(b"transcript").unwrap();
            p.verify(
                SignatureScheme::EcdsaP256Sha256,
                key.public_key(),
                b"transcript",
                &sig,
            )
            .unwrap();
            let x = p.key_exchange(NamedGroup::X25519).unwrap();
            let e = p.key_exchange(NamedGroup::Secp256r1).unwrap();
            (pkcs8, sig, x.public_key().to_vec(), e.public_key().to_vec())
        };
        assert_eq!(run(1), run(1));
        let (a, b) = (run(1), run(2));
        assert_ne!(a.0, b.0);
        assert_ne!(a.2, b.2);
        assert_ne!(a.3, b.3);
    }

    #[test]
    fn seeded_key_exchange_agrees_with_ring() {
        let seeded = InsecureSeededProvider::new(7);
        let ring = RingProvider::new();
        for group in [NamedGroup::X25519, NamedGroup::Secp256r1] {
            let ours = seeded.key_exchange(group).unwrap();
            let theirs = ring.key_exchange(group).unwrap();
            let ours_pub = ours.public_key().to_vec();
            let a = ours.complete(theirs.public_key()).unwrap();
            let b = theirs.complete(&ours_pub).unwrap();
            assert_eq!(a, b, "{group:?}");
        }
        // A peer value of the wrong shape is refused, not a panic.
        let x = seeded.key_exchange(NamedGroup::X25519).unwrap();
        assert_eq!(x.complete(&[0; 31]), Err(CryptoError::InvalidPeerKey));
        let x = seeded.key_exchange(NamedGroup::X25519).unwrap();
        assert_eq!(x.complete(&[0; 32]), Err(CryptoError::InvalidPeerKey));
        let e = seeded.key_exchange(NamedGroup::Secp256r1).unwrap();
        assert_eq!(e.complete(&[4; 65]), Err(CryptoError::InvalidPeerKey));
    }
}
