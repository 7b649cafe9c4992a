//! SRTP and SRTCP (RFC 3711) with the AES-CM/HMAC-SHA1 and AES-GCM (RFC 7714)
//! profiles that DTLS-SRTP (RFC 5764) negotiates for WebRTC.
//!
//! An [`SrtpContext`] holds one direction's keys: protect what you send with the context
//! keyed by your DTLS write key, unprotect what you receive with the one keyed by the
//! peer's. [`DtlsSrtpContexts::new`] splits the DTLS exporter output into both. Every
//! operation transforms a [`bytes::BytesMut`] in place; protecting appends the tag (and
//! for SRTCP the index word), so a buffer with [`SrtpProfile::rtp_overhead`] /
//! [`SrtpProfile::rtcp_overhead`] spare capacity never reallocates.
//!
//! ```
//! use bytes::BytesMut;
//! use sansrtc::srtp::{DtlsRole, DtlsSrtpContexts, SrtpConfig, SrtpProfile};
//!
//! let profile = SrtpProfile::AeadAes128Gcm;
//! // In a real session these 56 bytes come from the DTLS exporter (RFC 5764 §4.2).
//! let material: Vec<u8> = (0..profile.keying_material_len() as u8).collect();
//! let mut client =
//!     DtlsSrtpContexts::new(profile, &material, DtlsRole::Client, SrtpConfig::default())?;
//! let mut server =
//!     DtlsSrtpContexts::new(profile, &material, DtlsRole::Server, SrtpConfig::default())?;
//!
//! // V=2, PT 111, SEQ 1, timestamp 160, SSRC 0x11223344, then the payload.
//! let rtp = [0x80, 111, 0, 1, 0, 0, 0, 160, 0x11, 0x22, 0x33, 0x44, b'h', b'i'];
//! let mut packet = BytesMut::with_capacity(rtp.len() + profile.rtp_overhead());
//! packet.extend_from_slice(&rtp);
//!
//! client.local.protect_rtp(&mut packet)?;
//! assert_eq!(packet.len(), rtp.len() + 16);
//! assert_ne!(&packet[12..14], b"hi");
//!
//! server.remote.unprotect_rtp(&mut packet)?;
//! assert_eq!(&packet[..], &rtp[..]);
//! // The same packet again is a replay (RFC 3711 §3.3.2).
//! let mut replay = packet.clone();
//! client.local.protect_rtp(&mut replay)?;
//! assert!(server.remote.unprotect_rtp(&mut replay).is_err());
//! # Ok::<(), sansrtc::srtp::SrtpError>(())
//! ```
//!
//! Crypto: AES-CM, HMAC-SHA1 and AES-GCM come from the [crypto provider](crate::crypto)
//! in [`SrtpConfig::provider`], keyed once per context (never per packet), so a packet
//! costs no key schedule and no allocation.

mod context;
mod kdf;
mod profile;
mod replay;
mod transform;

#[cfg(test)]
mod tests;

use std::sync::Arc;

pub use context::SrtpContext;

use crate::crypto::{CryptoProvider, default_provider};
pub use profile::SrtpProfile;

/// Errors from keying SRTP or from protecting and unprotecting packets.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SrtpError {
    /// A master or session key has the wrong length for the profile.
    #[error("SRTP key is {actual} bytes, the profile needs {expected}")]
    InvalidKeyLength {
        /// Length the profile needs.
        expected: usize,
        /// Length given.
        actual: usize,
    },
    /// A master salt has the wrong length for the profile.
    #[error("SRTP salt is {actual} bytes, the profile needs {expected}")]
    InvalidSaltLength {
        /// Length the profile needs.
        expected: usize,
        /// Length given.
        actual: usize,
    },
    /// DTLS exporter output of the wrong length for the profile (RFC 5764 §4.2).
    #[error("DTLS-SRTP keying material is {actual} bytes, the profile needs {expected}")]
    InvalidKeyingMaterialLength {
        /// Length the profile needs.
        expected: usize,
        /// Length given.
        actual: usize,
    },
    /// A configuration value out of range.
    #[error("invalid SRTP configuration: {0}")]
    InvalidConfig(&'static str),
    /// The packet ends before the named part.
    #[error("packet truncated: {0}")]
    Truncated(&'static str),
    /// The RTP/RTCP version field is not 2.
    #[error("RTP/RTCP version {0}, expected 2")]
    UnsupportedVersion(u8),
    /// The tag does not match: forged, corrupted, or keyed differently.
    #[error("SRTP/SRTCP authentication failed")]
    AuthenticationFailed,
    /// This index was already received (RFC 3711 §3.3.2).
    #[error("replayed packet: SSRC {ssrc:#010x}, index {index}")]
    Replayed {
        /// The stream.
        ssrc: u32,
        /// The packet index (48-bit SRTP or 31-bit SRTCP).
        index: u64,
    },
    /// The index is behind the replay window (RFC 3711 §3.3.2).
    #[error("packet older than the replay window: SSRC {ssrc:#010x}, index {index}")]
    TooOld {
        /// The stream.
        ssrc: u32,
        /// The packet index.
        index: u64,
    },
    /// The sequence number maps to a rollover counter below zero: a packet from before
    /// the stream began (RFC 3711 Appendix A, `v = ROC - 1` with ROC 0).
    #[error("sequence number precedes the start of SSRC {ssrc:#010x}")]
    IndexTooOld {
        /// The stream.
        ssrc: u32,
    },
    /// A new SSRC would exceed [`SrtpConfig::max_ssrcs`].
    #[error("more than {max} SSRCs")]
    TooManySsrcs {
        /// The configured bound.
        max: usize,
    },
    /// The packet is larger than the cipher can process in one call.
    #[error("packet too large to protect")]
    PacketTooLarge,
}

/// Receive-side limits of an [`SrtpContext`], and the crypto provider it keys its
/// ciphers with.
#[derive(Debug, Clone)]
pub struct SrtpConfig {
    /// Replay window size in packets (RFC 3711 §3.3.2; at least 64, at most 32768).
    /// Video bursts arrive reordered by hundreds of packets, hence the default of 1024,
    /// as in libwebrtc.
    pub replay_window: usize,
    /// The most SSRCs tracked per kind (RTP, RTCP) and direction; a packet from one
    /// more is refused with [`SrtpError::TooManySsrcs`].
    pub max_ssrcs: usize,
    /// Where AES-CM, HMAC-SHA1 and AES-GCM come from; in a session, the one its DTLS
    /// transport uses.
    pub provider: Arc<dyn CryptoProvider>,
}

impl Default for SrtpConfig {
    fn default() -> Self {
        SrtpConfig {
            replay_window: 1024,
            max_ssrcs: 256,
            provider: default_provider(),
        }
    }
}

impl SrtpConfig {
    fn validate(&self) -> Result<(), SrtpError> {
        if self.replay_window < 64 {
            // RFC 3711 §3.3.2: "a minimum window size of 64 MUST be supported".
            return Err(SrtpError::InvalidConfig("replay_window below 64"));
        }
        if self.replay_window > 0x8000 {
            // Beyond half the sequence space, ROC estimation (Appendix A) could not tell
            // an old packet from a new one.
            return Err(SrtpError::InvalidConfig("replay_window above 32768"));
        }
        if self.max_ssrcs == 0 {
            return Err(SrtpError::InvalidConfig("max_ssrcs is zero"));
        }
        Ok(())
    }
}

/// Which end of the DTLS handshake we are decides which half of the exported keying
/// material is ours (RFC 5764 §4.2): the same role type DTLS uses.
pub use crate::dtls::DtlsRole;

/// The two master keys and salts in DTLS-SRTP keying material, sorted by direction.
#[derive(Clone, Copy)]
pub struct DtlsSrtpKeys<'a> {
    /// The key we protect with.
    pub local_master_key: &'a [u8],
    /// The salt we protect with.
    pub local_master_salt: &'a [u8],
    /// The key the peer protects with, which we unprotect with.
    pub remote_master_key: &'a [u8],
    /// The salt the peer protects with.
    pub remote_master_salt: &'a [u8],
}

impl std::fmt::Debug for DtlsSrtpKeys<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DtlsSrtpKeys(..)")
    }
}

impl<'a> DtlsSrtpKeys<'a> {
    /// Split the exporter output (label `EXTRACTOR-dtls_srtp`, length
    /// [`SrtpProfile::keying_material_len`]) laid out as RFC 5764 §4.2 says:
    /// `client_write_key | server_write_key | client_write_salt | server_write_salt`.
    pub fn split(
        profile: SrtpProfile,
        material: &'a [u8],
        role: DtlsRole,
    ) -> Result<Self, SrtpError> {
        if material.len() != profile.keying_material_len() {
            return Err(SrtpError::InvalidKeyingMaterialLength {
                expected: profile.keying_material_len(),
                actual: material.len(),
            });
        }
        let (keys, salts) = material.split_at(2 * profile.key_len());
        let (client_key, server_key) = keys.split_at(profile.key_len());
        let (client_salt, server_salt) = salts.split_at(profile.salt_len());
        let (local, remote) = match role {
            DtlsRole::Client => ((client_key, client_salt), (server_key, server_salt)),
            DtlsRole::Server => ((server_key, server_salt), (client_key, client_salt)),
        };
        Ok(DtlsSrtpKeys {
            local_master_key: local.0,
            local_master_salt: local.1,
            remote_master_key: remote.0,
            remote_master_salt: remote.1,
        })
    }
}

/// Both contexts of a DTLS-SRTP association.
#[derive(Debug)]
pub struct DtlsSrtpContexts {
    /// Keyed with our write key: protect what we send.
    pub local: SrtpContext,
    /// Keyed with the peer's write key: unprotect what we receive.
    pub remote: SrtpContext,
}

impl DtlsSrtpContexts {
    /// Split `material` (see [`DtlsSrtpKeys::split`]) and key a context for each way.
    pub fn new(
        profile: SrtpProfile,
        material: &[u8],
        role: DtlsRole,
        config: SrtpConfig,
    ) -> Result<Self, SrtpError> {
        let keys = DtlsSrtpKeys::split(profile, material, role)?;
        Ok(DtlsSrtpContexts {
            local: SrtpContext::new(
                profile,
                keys.local_master_key,
                keys.local_master_salt,
                config.clone(),
            )?,
            remote: SrtpContext::new(
                profile,
                keys.remote_master_key,
                keys.remote_master_salt,
                config,
            )?,
        })
    }
}

/// Whether a datagram already classified as RTP/RTCP (first byte 128..=191, RFC 7983)
/// is RTCP: with RTP and RTCP multiplexed on one port, RTCP packet types 192..=223 fall
/// where RTP's marker bit and payload types 64..=95 would be, which RFC 5761 §4 keeps
/// free for this reason.
pub fn is_rtcp(packet: &[u8]) -> bool {
    matches!(packet.get(1), Some(192..=223))
}
