//! The per-packet cryptographic transforms: AES-CM + HMAC-SHA1 (RFC 3711 §4) and
//! AES-GCM (RFC 7714). Each holds its expanded keys so no packet pays a key schedule.

use bytes::BytesMut;

use crate::crypto::{Aead, AeadAlgorithm, AesCtr, CryptoProvider, HashAlgorithm, HmacKey, HmacTag};

use super::kdf::SessionKeys;
use super::{SrtpError, SrtpProfile};

/// Length of the fixed RTCP header (first word plus sender SSRC) that SRTCP leaves in
/// the clear (RFC 3711 §3.4).
pub(crate) const RTCP_HEADER_LEN: usize = 8;
/// The E flag of the SRTCP index word (RFC 3711 §3.4).
pub(crate) const E_FLAG: u32 = 0x8000_0000;
const GCM_TAG_LEN: usize = 16;

/// One direction's cipher state for SRTP or SRTCP: keyed objects from the crypto
/// provider, made once at key setup so no packet pays a key schedule or an allocation.
pub(crate) enum Transform {
    /// AES-128 counter mode with HMAC-SHA1 (RFC 3711 §4.1.1, §4.2.1).
    Cm(CmTransform),
    /// AES-GCM (RFC 7714).
    Gcm(GcmTransform),
}

pub(crate) struct CmTransform {
    /// AES-128 with its key schedule expanded once.
    aes: Box<dyn AesCtr>,
    salt: [u8; 14],
    /// HMAC-SHA1 keyed once with the session authentication key.
    mac: Box<dyn HmacKey>,
}

pub(crate) struct GcmTransform {
    key: Box<dyn Aead>,
    salt: [u8; 12],
}

impl Transform {
    pub(crate) fn new(
        provider: &dyn CryptoProvider,
        profile: SrtpProfile,
        keys: &SessionKeys,
    ) -> Result<Self, SrtpError> {
        let key = &keys.encryption[..profile.key_len()];
        let bad_key = |_| SrtpError::InvalidKeyLength {
            expected: profile.key_len(),
            actual: key.len(),
        };
        if profile.is_aead() {
            let algorithm = match profile {
                SrtpProfile::AeadAes256Gcm => AeadAlgorithm::Aes256Gcm,
                _ => AeadAlgorithm::Aes128Gcm,
            };
            let mut salt = [0u8; 12];
            salt.copy_from_slice(&keys.salt[..12]);
            Ok(Transform::Gcm(GcmTransform {
                key: provider.aead(algorithm, key).map_err(bad_key)?,
                salt,
            }))
        } else {
            Ok(Transform::Cm(CmTransform {
                aes: provider.aes_ctr(key).map_err(bad_key)?,
                salt: keys.salt,
                mac: provider.hmac_key(HashAlgorithm::Sha1, &keys.authentication),
            }))
        }
    }

    /// Encrypt the payload after `header_len` and append the tag.
    pub(crate) fn protect_rtp(
        &self,
        packet: &mut BytesMut,
        header_len: usize,
        ssrc: u32,
        index: u64,
        tag_len: usize,
    ) -> Result<(), SrtpError> {
        match self {
            Transform::Cm(cm) => {
                let iv = cm.iv(ssrc, index);
                cm.keystream(&iv, &mut packet[header_len..]);
                // RFC 3711 §4.2: M = authenticated portion || ROC.
                let tag = cm.tag(packet, &roc(index).to_be_bytes());
                packet.extend_from_slice(&tag[..tag_len]);
            }
            Transform::Gcm(gcm) => {
                let nonce = gcm.rtp_nonce(ssrc, index);
                // RFC 7714 §8.2: the AAD is the whole RTP header, CSRCs and extension included.
                let (header, payload) = packet.split_at_mut(header_len);
                let tag = gcm.key.seal(&nonce, header, payload);
                packet.extend_from_slice(&tag);
            }
        }
        Ok(())
    }

    /// Check the tag and decrypt in place; on success the tag is gone from `packet`.
    pub(crate) fn unprotect_rtp(
        &self,
        packet: &mut BytesMut,
        header_len: usize,
        ssrc: u32,
        index: u64,
        tag_len: usize,
    ) -> Result<(), SrtpError> {
        let auth_end = packet.len() - tag_len;
        match self {
            Transform::Cm(cm) => {
                // Authenticate before decrypting (RFC 3711 §3.3 step 5 before step 6),
                // so a forged packet leaves the buffer untouched.
                cm.verify(
                    &packet[..auth_end],
                    &roc(index).to_be_bytes(),
                    &packet[auth_end..],
                )?;
                let iv = cm.iv(ssrc, index);
                cm.keystream(&iv, &mut packet[header_len..auth_end]);
            }
            Transform::Gcm(gcm) => {
                let nonce = gcm.rtp_nonce(ssrc, index);
                let (header, rest) = packet.split_at_mut(header_len);
                gcm.key
                    .open(&nonce, header, rest)
                    .map_err(|_| SrtpError::AuthenticationFailed)?;
            }
        }
        packet.truncate(auth_end);
        Ok(())
    }

    /// Encrypt everything after the first 8 bytes, append the E flag and SRTCP index
    /// and the tag, in the order of the profile (RFC 3711 §3.4, RFC 7714 §9).
    pub(crate) fn protect_rtcp(
        &self,
        packet: &mut BytesMut,
        ssrc: u32,
        index: u32,
    ) -> Result<(), SrtpError> {
        let word = (E_FLAG | index).to_be_bytes();
        match self {
            Transform::Cm(cm) => {
                let iv = cm.iv(ssrc, u64::from(index));
                cm.keystream(&iv, &mut packet[RTCP_HEADER_LEN..]);
                packet.extend_from_slice(&word);
                // RFC 3711 §3.4: the index word is authenticated, the tag follows it.
                let tag = cm.tag(packet, &[]);
                packet.extend_from_slice(&tag[..10]);
            }
            Transform::Gcm(gcm) => {
                let nonce = gcm.rtcp_nonce(ssrc, index);
                // RFC 7714 §9.1: AAD = the 8-byte header || E flag and index.
                let mut aad = [0u8; RTCP_HEADER_LEN + 4];
                aad[..RTCP_HEADER_LEN].copy_from_slice(&packet[..RTCP_HEADER_LEN]);
                aad[RTCP_HEADER_LEN..].copy_from_slice(&word);
                let tag = gcm.key.seal(&nonce, &aad, &mut packet[RTCP_HEADER_LEN..]);
                // RFC 7714 §9: the tag sits before the index word.
                packet.extend_from_slice(&tag);
                packet.extend_from_slice(&word);
            }
        }
        Ok(())
    }

    /// Verify and, when the E flag says so, decrypt; leaves the bare RTCP compound.
    /// `packet` is at least header, index word and tag long (checked by the caller).
    pub(crate) fn unprotect_rtcp(
        &self,
        packet: &mut BytesMut,
        ssrc: u32,
        word: u32,
        tag_len: usize,
    ) -> Result<(), SrtpError> {
        let index = word & !E_FLAG;
        let encrypted = word & E_FLAG != 0;
        let len = packet.len();
        let end = len - tag_len - 4;
        match self {
            Transform::Cm(cm) => {
                cm.verify(&packet[..len - tag_len], &[], &packet[len - tag_len..])?;
                if encrypted {
                    let iv = cm.iv(ssrc, u64::from(index));
                    cm.keystream(&iv, &mut packet[RTCP_HEADER_LEN..end]);
                }
            }
            Transform::Gcm(gcm) => {
                let nonce = gcm.rtcp_nonce(ssrc, index);
                let word_bytes = word.to_be_bytes();
                if encrypted {
                    let mut aad = [0u8; RTCP_HEADER_LEN + 4];
                    aad[..RTCP_HEADER_LEN].copy_from_slice(&packet[..RTCP_HEADER_LEN]);
                    aad[RTCP_HEADER_LEN..].copy_from_slice(&word_bytes);
                    gcm.key
                        .open(&nonce, &aad, &mut packet[RTCP_HEADER_LEN..len - 4])
                        .map_err(|_| SrtpError::AuthenticationFailed)?;
                } else {
                    // RFC 7714 §9.2: unencrypted SRTCP authenticates the whole packet
                    // followed by the index word, which on the wire is separated from it
                    // by the tag. Move the word next to the packet for one contiguous AAD,
                    // and put the tag's first bytes back if the check fails. The tag,
                    // opened on its own, is an empty ciphertext.
                    let mut tag = [0u8; GCM_TAG_LEN];
                    tag.copy_from_slice(&packet[end..end + GCM_TAG_LEN]);
                    packet[end..end + 4].copy_from_slice(&word_bytes);
                    let mut empty = tag;
                    let opened = gcm.key.open(&nonce, &packet[..end + 4], &mut empty);
                    if opened.is_err() {
                        packet[end..end + 4].copy_from_slice(&tag[..4]);
                        return Err(SrtpError::AuthenticationFailed);
                    }
                }
            }
        }
        packet.truncate(end);
        Ok(())
    }
}

/// The rollover counter part of a 48-bit packet index (RFC 3711 §3.3.1).
fn roc(index: u64) -> u32 {
    (index >> 16) as u32
}

impl CmTransform {
    /// IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16) (RFC 3711 §4.1.1), where `i` is
    /// the 48-bit SRTP index or the 31-bit SRTCP index.
    fn iv(&self, ssrc: u32, index: u64) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv[..14].copy_from_slice(&self.salt);
        for (b, s) in iv[4..8].iter_mut().zip(ssrc.to_be_bytes()) {
            *b ^= s;
        }
        for (b, i) in iv[8..14].iter_mut().zip(&index.to_be_bytes()[2..]) {
            *b ^= i;
        }
        iv
    }

    fn keystream(&self, iv: &[u8; 16], data: &mut [u8]) {
        self.aes.apply_keystream(iv, data);
    }

    fn tag(&self, data: &[u8], suffix: &[u8]) -> HmacTag {
        self.mac.sign(&[data, suffix])
    }

    fn verify(&self, data: &[u8], suffix: &[u8], tag: &[u8]) -> Result<(), SrtpError> {
        // Constant-time comparison of the truncated tag (RFC 3711 §4.2: the leftmost bits).
        if self.tag(data, suffix).verify_truncated(tag) {
            Ok(())
        } else {
            Err(SrtpError::AuthenticationFailed)
        }
    }
}

impl GcmTransform {
    /// RFC 7714 §8.1: IV = (00 00 || SSRC || ROC || SEQ) XOR salt.
    fn rtp_nonce(&self, ssrc: u32, index: u64) -> [u8; 12] {
        let mut iv = [0u8; 12];
        iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
        iv[6..12].copy_from_slice(&index.to_be_bytes()[2..]);
        self.salted(iv)
    }

    /// RFC 7714 §9.1: IV = (00 00 || SSRC || 00 00 || 0 + SRTCP index) XOR salt.
    fn rtcp_nonce(&self, ssrc: u32, index: u32) -> [u8; 12] {
        let mut iv = [0u8; 12];
        iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
        iv[8..12].copy_from_slice(&(index & !E_FLAG).to_be_bytes());
        self.salted(iv)
    }

    fn salted(&self, mut iv: [u8; 12]) -> [u8; 12] {
        for (b, s) in iv.iter_mut().zip(self.salt) {
            *b ^= s;
        }
        iv
    }
}

#[cfg(test)]
impl Transform {
    /// The raw AES-CM keystream for an IV built from `ssrc` and `index`, for the RFC
    /// 3711 Appendix B.2 vector.
    pub(crate) fn cm_keystream(&self, ssrc: u32, index: u64, out: &mut [u8]) -> [u8; 16] {
        match self {
            Transform::Cm(cm) => {
                let iv = cm.iv(ssrc, index);
                cm.keystream(&iv, out);
                iv
            }
            Transform::Gcm(_) => unreachable!("AES-CM only"),
        }
    }

    /// The GCM nonce, for the RFC 7714 §16/§17 IV vectors.
    pub(crate) fn gcm_nonces(&self, ssrc: u32, index: u64) -> ([u8; 12], [u8; 12]) {
        match self {
            Transform::Gcm(gcm) => {
                let rtp = gcm.rtp_nonce(ssrc, index);
                let rtcp = gcm.rtcp_nonce(ssrc, index as u32);
                (rtp, rtcp)
            }
            Transform::Cm(_) => unreachable!("AES-GCM only"),
        }
    }
}
