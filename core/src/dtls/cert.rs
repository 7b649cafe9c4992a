//! Certificates and fingerprints as WebRTC uses them: self-signed, verified against the
//! fingerprint from signaling (RFC 8122, RFC 8827 §6.5).

use std::fmt;
use std::sync::Arc;

use crate::crypto::{CryptoProvider, HashAlgorithm, SignatureScheme, SigningKey};

use super::DtlsError;

/// A certificate fingerprint: hash algorithm and digest of the DER certificate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    /// Hash function.
    pub algorithm: HashAlgorithm,
    /// Digest bytes.
    pub value: Vec<u8>,
}

impl Fingerprint {
    /// Fingerprint of a DER certificate.
    pub fn of(provider: &dyn CryptoProvider, algorithm: HashAlgorithm, der: &[u8]) -> Self {
        Fingerprint {
            algorithm,
            value: provider.hash(algorithm, &[der]),
        }
    }

    /// The colon-separated upper-case hex form, e.g. `AB:CD:…` (without the algorithm).
    pub fn hex_value(&self) -> String {
        let parts: Vec<String> = self.value.iter().map(|b| format!("{b:02X}")).collect();
        parts.join(":")
    }

    /// Parse the SDP form `sha-256 AB:CD:…` (RFC 8122 §5).
    ///
    /// ```
    /// use sansrtc::dtls::Fingerprint;
    /// let f = Fingerprint::parse("sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB").unwrap();
    /// assert_eq!(f.value.len(), 20);
    /// assert!(Fingerprint::parse("sha-256 AB:CD").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self, DtlsError> {
        let (alg, hex) = s
            .trim()
            .split_once(' ')
            .ok_or_else(|| DtlsError::InvalidFingerprint(s.to_string()))?;
        Self::from_parts(alg, hex)
    }

    /// Parse from an algorithm name and the hex value (as in aiortc's
    /// `RTCDtlsFingerprint`).
    pub fn from_parts(algorithm: &str, hex: &str) -> Result<Self, DtlsError> {
        let bad = || DtlsError::InvalidFingerprint(format!("{algorithm} {hex}"));
        let algorithm = HashAlgorithm::from_sdp_name(algorithm.trim()).ok_or_else(bad)?;
        let value = hex
            .trim()
            .split(':')
            .map(|h| {
                if h.len() == 2 {
                    u8::from_str_radix(h, 16).map_err(|_| bad())
                } else {
                    Err(bad())
                }
            })
            .collect::<Result<Vec<u8>, _>>()?;
        if value.len() != algorithm.output_len() {
            return Err(bad());
        }
        Ok(Fingerprint { algorithm, value })
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.algorithm.sdp_name(), self.hex_value())
    }
}

/// Our certificate and private key. Cheap to clone: one certificate can serve many
/// connections, as WebRTC's `RTCCertificate` does.
#[derive(Clone)]
pub struct DtlsCertificate {
    der: Arc<[u8]>,
    pkcs8: Arc<[u8]>,
    key: Arc<dyn SigningKey>,
}

impl fmt::Debug for DtlsCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DtlsCertificate")
            .field("der_len", &self.der.len())
            .field("scheme", &self.key.scheme())
            .finish()
    }
}

impl DtlsCertificate {
    /// Generate an ECDSA P-256 self-signed certificate (the WebRTC default). The key
    /// comes from `provider` and the certificate is signed through it, so a seeded
    /// provider yields the same certificate every time.
    pub fn generate(provider: &dyn CryptoProvider) -> Result<Self, DtlsError> {
        let cert_err = |e: &dyn fmt::Display| DtlsError::Certificate(e.to_string());
        let pkcs8 = provider
            .generate_signing_key(SignatureScheme::EcdsaP256Sha256)
            .map_err(|e| cert_err(&e))?;
        let signer = provider
            .signing_key(SignatureScheme::EcdsaP256Sha256, &pkcs8)
            .map_err(|e| cert_err(&e))?;
        // rcgen would sign with its own key and randomness; as a "remote" key it signs
        // through the provider instead.
        let key = rcgen::KeyPair::from_remote(Box::new(ProviderSigner(signer)))
            .map_err(|e| cert_err(&e))?;
        let mut params = rcgen::CertificateParams::new(vec!["sansrtc".to_string()])
            .map_err(|e| DtlsError::Certificate(e.to_string()))?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "sansrtc");
        let cert = params.self_signed(&key).map_err(|e| cert_err(&e))?;
        Self::from_der(provider, cert.der().to_vec(), pkcs8)
    }

    /// From a DER certificate and its PKCS#8 DER private key (ECDSA P-256 or P-384).
    pub fn from_der(
        provider: &dyn CryptoProvider,
        der: Vec<u8>,
        pkcs8: Vec<u8>,
    ) -> Result<Self, DtlsError> {
        let key = provider
            .signing_key(SignatureScheme::EcdsaP256Sha256, &pkcs8)
            .or_else(|_| provider.signing_key(SignatureScheme::EcdsaP384Sha384, &pkcs8))
            .map_err(|e| DtlsError::Certificate(e.to_string()))?;
        Ok(DtlsCertificate {
            der: der.into(),
            pkcs8: pkcs8.into(),
            key,
        })
    }

    /// Load from PEM: a `CERTIFICATE` block and a `PRIVATE KEY` (PKCS#8) block.
    pub fn from_pem(
        provider: &dyn CryptoProvider,
        cert_pem: &str,
        key_pem: &str,
    ) -> Result<Self, DtlsError> {
        let c = pem::parse(cert_pem).map_err(|e| DtlsError::Certificate(e.to_string()))?;
        let k = pem::parse(key_pem).map_err(|e| DtlsError::Certificate(e.to_string()))?;
        if c.tag() != "CERTIFICATE" || k.tag() != "PRIVATE KEY" {
            return Err(DtlsError::Certificate(format!(
                "expected CERTIFICATE and PRIVATE KEY blocks, got {} and {}",
                c.tag(),
                k.tag()
            )));
        }
        Self::from_der(provider, c.into_contents(), k.into_contents())
    }

    /// Save as PEM: (certificate, PKCS#8 private key).
    pub fn to_pem(&self) -> (String, String) {
        (
            pem::encode(&pem::Pem::new("CERTIFICATE", self.der.to_vec())),
            pem::encode(&pem::Pem::new("PRIVATE KEY", self.pkcs8.to_vec())),
        )
    }

    /// The DER certificate.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The signing key.
    pub fn signing_key(&self) -> &Arc<dyn SigningKey> {
        &self.key
    }

    /// Fingerprint with the given hash (WebRTC signals sha-256).
    pub fn fingerprint(
        &self,
        provider: &dyn CryptoProvider,
        algorithm: HashAlgorithm,
    ) -> Fingerprint {
        Fingerprint::of(provider, algorithm, &self.der)
    }
}

/// A provider's P-256 signing key as rcgen's remote key pair.
struct ProviderSigner(Arc<dyn SigningKey>);

impl rcgen::RemoteKeyPair for ProviderSigner {
    fn public_key(&self) -> &[u8] {
        self.0.public_key()
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.0.sign(msg).map_err(|_| rcgen::Error::RemoteKeyError)
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

/// The peer certificate's public key bits and whether it is RSA.
pub(crate) fn public_key_of(der: &[u8]) -> Result<(Vec<u8>, bool), DtlsError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|_| DtlsError::Certificate("peer certificate does not parse".into()))?;
    let spki = cert.public_key();
    let rsa = spki.algorithm.algorithm.to_id_string() == "1.2.840.113549.1.1.1";
    Ok((spki.subject_public_key.data.to_vec(), rsa))
}
