//! One direction's SRTP/SRTCP state: session transforms plus per-SSRC indices and
//! replay windows.

use std::collections::BTreeMap;

use bytes::BytesMut;

use super::kdf::SessionKeys;
use super::replay::{ReplayCheck, ReplayWindow};
use super::transform::{E_FLAG, RTCP_HEADER_LEN, Transform};
use super::{SrtpConfig, SrtpError, SrtpProfile};

/// The largest SRTCP index; it is 31 bits (RFC 3711 §3.4).
const MAX_SRTCP_INDEX: u32 = 0x7fff_ffff;

/// SRTP/SRTCP state for one direction of one DTLS-SRTP (or SDES) association.
///
/// Build one with the sender's master key for protecting what you send, and one with
/// the peer's master key for unprotecting what you receive (see
/// [`DtlsSrtpContexts::new`](super::DtlsSrtpContexts::new)). All four operations work in
/// place on a [`BytesMut`]; protecting grows the buffer by
/// [`SrtpProfile::rtp_overhead`] / [`SrtpProfile::rtcp_overhead`] bytes, so reserve that
/// capacity up front and no packet allocates. Per-SSRC state (the highest index and
/// replay window of RFC 3711 §3.3) is created the first time an SSRC is seen, up to
/// [`SrtpConfig::max_ssrcs`] per kind; on the receive side only after that first packet
/// has authenticated, so forged packets cannot fill the table.
pub struct SrtpContext {
    profile: SrtpProfile,
    config: SrtpConfig,
    rtp: Transform,
    rtcp: Transform,
    /// Highest 48-bit index protected per SSRC: the sender's ROC and SEQ.
    rtp_out: BTreeMap<u32, u64>,
    /// Replay window per SSRC; its highest index holds the receiver's ROC and s_l.
    rtp_in: BTreeMap<u32, ReplayWindow>,
    /// Next SRTCP index to send per SSRC.
    rtcp_out: BTreeMap<u32, u32>,
    rtcp_in: BTreeMap<u32, ReplayWindow>,
}

impl std::fmt::Debug for SrtpContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtpContext")
            .field("profile", &self.profile)
            .field("config", &self.config)
            .field("rtp_ssrcs_out", &self.rtp_out.len())
            .field("rtp_ssrcs_in", &self.rtp_in.len())
            .field("rtcp_ssrcs_out", &self.rtcp_out.len())
            .field("rtcp_ssrcs_in", &self.rtcp_in.len())
            .finish_non_exhaustive()
    }
}

/// The fields of an RTP header that SRTP needs (RFC 3550 §5.1).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RtpHeader {
    /// Fixed header, CSRC list and header extension: all of what SRTP leaves in the
    /// clear and authenticates.
    pub(crate) len: usize,
    pub(crate) sequence_number: u16,
    pub(crate) ssrc: u32,
}

impl RtpHeader {
    /// Parse the header, trusting no length field: the CSRC count and the extension
    /// length must both fit inside `packet`.
    pub(crate) fn parse(packet: &[u8]) -> Result<Self, SrtpError> {
        if packet.len() < 12 {
            return Err(SrtpError::Truncated("RTP fixed header"));
        }
        check_version(packet[0])?;
        let csrc_count = usize::from(packet[0] & 0x0f);
        let mut len = 12 + 4 * csrc_count;
        if packet.len() < len {
            return Err(SrtpError::Truncated("RTP CSRC list"));
        }
        if packet[0] & 0x10 != 0 {
            // RFC 3550 §5.3.1: 16-bit profile, 16-bit length in 32-bit words, then data.
            let Some(ext) = packet.get(len..len + 4) else {
                return Err(SrtpError::Truncated("RTP header extension header"));
            };
            len += 4 + 4 * usize::from(u16::from_be_bytes([ext[2], ext[3]]));
            if packet.len() < len {
                return Err(SrtpError::Truncated("RTP header extension"));
            }
        }
        Ok(RtpHeader {
            len,
            sequence_number: u16::from_be_bytes([packet[2], packet[3]]),
            ssrc: u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]),
        })
    }
}

fn check_version(first: u8) -> Result<(), SrtpError> {
    match first >> 6 {
        2 => Ok(()),
        v => Err(SrtpError::UnsupportedVersion(v)),
    }
}

fn rtcp_ssrc(packet: &[u8]) -> Result<u32, SrtpError> {
    if packet.len() < RTCP_HEADER_LEN {
        return Err(SrtpError::Truncated("RTCP header"));
    }
    check_version(packet[0])?;
    Ok(u32::from_be_bytes([
        packet[4], packet[5], packet[6], packet[7],
    ]))
}

/// Guess the 48-bit index of `seq` from the highest index seen (RFC 3711 §3.3.1 and
/// the pseudo-code of Appendix A). `None` means ROC - 1 with a ROC of zero: a packet
/// from before the stream began.
pub(crate) fn estimate_index(highest: u64, seq: u16) -> Option<u64> {
    let roc = highest >> 16;
    let s_l = (highest & 0xffff) as u16;
    let v = if s_l < 0x8000 {
        if u32::from(seq) > u32::from(s_l) + 0x8000 {
            roc.checked_sub(1)?
        } else {
            roc
        }
    } else if u32::from(s_l) - 0x8000 > u32::from(seq) {
        // The ROC is 32 bits and wraps modulo 2^32 (RFC 3711 §3.3.1).
        (roc + 1) & 0xffff_ffff
    } else {
        roc
    };
    Some((v << 16) | u64::from(seq))
}

impl SrtpContext {
    /// A context keyed with one side's master key and salt (RFC 3711 §8.2), deriving its
    /// session keys with the RFC 3711 §4.3 KDF at key derivation rate 0.
    pub fn new(
        profile: SrtpProfile,
        master_key: &[u8],
        master_salt: &[u8],
        config: SrtpConfig,
    ) -> Result<Self, SrtpError> {
        if master_key.len() != profile.key_len() {
            return Err(SrtpError::InvalidKeyLength {
                expected: profile.key_len(),
                actual: master_key.len(),
            });
        }
        if master_salt.len() != profile.salt_len() {
            return Err(SrtpError::InvalidSaltLength {
                expected: profile.salt_len(),
                actual: master_salt.len(),
            });
        }
        let p = &*config.provider;
        let rtp = SessionKeys::derive(p, profile, master_key, master_salt, false)?;
        let rtcp = SessionKeys::derive(p, profile, master_key, master_salt, true)?;
        Self::from_session_keys(profile, &rtp, &rtcp, config)
    }

    /// A context from already-derived session keys (the RFC 7714 vectors start here).
    pub(crate) fn from_session_keys(
        profile: SrtpProfile,
        rtp: &SessionKeys,
        rtcp: &SessionKeys,
        config: SrtpConfig,
    ) -> Result<Self, SrtpError> {
        config.validate()?;
        Ok(SrtpContext {
            profile,
            rtp: Transform::new(&*config.provider, profile, rtp)?,
            rtcp: Transform::new(&*config.provider, profile, rtcp)?,
            config,
            rtp_out: BTreeMap::new(),
            rtp_in: BTreeMap::new(),
            rtcp_out: BTreeMap::new(),
            rtcp_in: BTreeMap::new(),
        })
    }

    /// The profile this context was keyed for.
    pub fn profile(&self) -> SrtpProfile {
        self.profile
    }

    /// The configuration this context was built with.
    pub fn config(&self) -> &SrtpConfig {
        &self.config
    }

    /// Turn the RTP packet in `packet` into SRTP in place (RFC 3711 §3.3, RFC 7714 §8):
    /// encrypt the payload and append [`SrtpProfile::rtp_overhead`] bytes of tag.
    ///
    /// The rollover counter follows the sequence numbers given, so a retransmission of
    /// an older sequence number is protected with the ROC it was first sent with.
    pub fn protect_rtp(&mut self, packet: &mut BytesMut) -> Result<(), SrtpError> {
        let header = RtpHeader::parse(packet)?;
        let (ssrc, seq) = (header.ssrc, header.sequence_number);
        let tag_len = self.profile.rtp_tag_len();
        // One map lookup per packet: the entry is updated through the same reference.
        match self.rtp_out.get_mut(&ssrc) {
            Some(highest) => {
                let index = estimate_index(*highest, seq).ok_or(SrtpError::IndexTooOld { ssrc })?;
                self.rtp
                    .protect_rtp(packet, header.len, ssrc, index, tag_len)?;
                *highest = (*highest).max(index);
            }
            None => {
                if self.rtp_out.len() >= self.config.max_ssrcs {
                    return Err(SrtpError::TooManySsrcs {
                        max: self.config.max_ssrcs,
                    });
                }
                let index = u64::from(seq);
                self.rtp
                    .protect_rtp(packet, header.len, ssrc, index, tag_len)?;
                self.rtp_out.insert(ssrc, index);
            }
        }
        Ok(())
    }

    /// Verify and decrypt the SRTP packet in `packet` in place, leaving the RTP packet.
    ///
    /// Fails without touching the replay state when the packet is malformed, replayed,
    /// older than the replay window or not authentic (RFC 3711 §3.3.2: the window moves
    /// only for authenticated packets). On an error the buffer's contents are
    /// unspecified (AES-GCM may have decrypted in place before the tag check failed).
    pub fn unprotect_rtp(&mut self, packet: &mut BytesMut) -> Result<(), SrtpError> {
        let header = RtpHeader::parse(packet)?;
        let tag_len = self.profile.rtp_tag_len();
        if packet.len() < header.len + tag_len {
            return Err(SrtpError::Truncated("SRTP authentication tag"));
        }
        let (ssrc, seq) = (header.ssrc, header.sequence_number);
        match self.rtp_in.get_mut(&ssrc) {
            Some(window) => {
                let highest = window.highest().unwrap_or(0);
                let index = estimate_index(highest, seq).ok_or(SrtpError::IndexTooOld { ssrc })?;
                check_replay(window, ssrc, index)?;
                self.rtp
                    .unprotect_rtp(packet, header.len, ssrc, index, tag_len)?;
                window.accept(index);
            }
            None => {
                if self.rtp_in.len() >= self.config.max_ssrcs {
                    return Err(SrtpError::TooManySsrcs {
                        max: self.config.max_ssrcs,
                    });
                }
                // RFC 3711 §3.3.1: a new stream starts at ROC 0 with s_l = SEQ.
                let index = u64::from(seq);
                self.rtp
                    .unprotect_rtp(packet, header.len, ssrc, index, tag_len)?;
                let mut window = ReplayWindow::new(self.config.replay_window);
                window.accept(index);
                self.rtp_in.insert(ssrc, window);
            }
        }
        Ok(())
    }

    /// Turn the RTCP compound packet in `packet` into SRTCP in place (RFC 3711 §3.4,
    /// RFC 7714 §9): encrypt all but the first 8 bytes, append the E flag with the next
    /// 31-bit SRTCP index of this sender SSRC, and the tag.
    ///
    /// The SRTCP index starts at 0 and wraps to 0 after 2^31 - 1; RFC 3711 §9.2 wants
    /// the session re-keyed before that.
    pub fn protect_rtcp(&mut self, packet: &mut BytesMut) -> Result<(), SrtpError> {
        let ssrc = rtcp_ssrc(packet)?;
        let index = match self.rtcp_out.get(&ssrc) {
            Some(&next) => next,
            None if self.rtcp_out.len() >= self.config.max_ssrcs => {
                return Err(SrtpError::TooManySsrcs {
                    max: self.config.max_ssrcs,
                });
            }
            None => 0,
        };
        self.rtcp.protect_rtcp(packet, ssrc, index)?;
        let next = if index >= MAX_SRTCP_INDEX {
            0
        } else {
            index + 1
        };
        self.rtcp_out.insert(ssrc, next);
        Ok(())
    }

    /// Verify and (if its E flag is set) decrypt the SRTCP packet in `packet` in place,
    /// leaving the RTCP compound packet. Replay handling and errors as for
    /// [`Self::unprotect_rtp`], on the explicit SRTCP index.
    pub fn unprotect_rtcp(&mut self, packet: &mut BytesMut) -> Result<(), SrtpError> {
        let ssrc = rtcp_ssrc(packet)?;
        let tag_len = self.profile.rtcp_tag_len();
        let len = packet.len();
        if len < RTCP_HEADER_LEN + 4 + tag_len {
            return Err(SrtpError::Truncated("SRTCP index and authentication tag"));
        }
        // AES-CM puts the tag last (RFC 3711 §3.4); AES-GCM puts the index word last
        // (RFC 7714 §9).
        let at = if self.profile.is_aead() {
            len - 4
        } else {
            len - tag_len - 4
        };
        let word = u32::from_be_bytes([packet[at], packet[at + 1], packet[at + 2], packet[at + 3]]);
        let index = u64::from(word & !E_FLAG);
        match self.rtcp_in.get_mut(&ssrc) {
            Some(window) => {
                check_replay(window, ssrc, index)?;
                self.rtcp.unprotect_rtcp(packet, ssrc, word, tag_len)?;
                window.accept(index);
            }
            None => {
                if self.rtcp_in.len() >= self.config.max_ssrcs {
                    return Err(SrtpError::TooManySsrcs {
                        max: self.config.max_ssrcs,
                    });
                }
                self.rtcp.unprotect_rtcp(packet, ssrc, word, tag_len)?;
                let mut window = ReplayWindow::new(self.config.replay_window);
                window.accept(index);
                self.rtcp_in.insert(ssrc, window);
            }
        }
        Ok(())
    }

    /// Forget all state kept for `ssrc` (indices and replay windows, both kinds, both
    /// ways), freeing its place under [`SrtpConfig::max_ssrcs`], e.g. after an RTCP BYE.
    pub fn remove_ssrc(&mut self, ssrc: u32) {
        self.rtp_out.remove(&ssrc);
        self.rtp_in.remove(&ssrc);
        self.rtcp_out.remove(&ssrc);
        self.rtcp_in.remove(&ssrc);
    }

    /// The receiver's rollover counter for `ssrc`, once a packet has authenticated.
    pub fn rtp_roc_in(&self, ssrc: u32) -> Option<u32> {
        self.rtp_in
            .get(&ssrc)
            .and_then(ReplayWindow::highest)
            .map(|h| (h >> 16) as u32)
    }

    /// The sender's rollover counter for `ssrc`, once a packet has been protected.
    pub fn rtp_roc_out(&self, ssrc: u32) -> Option<u32> {
        self.rtp_out.get(&ssrc).map(|h| (h >> 16) as u32)
    }

    /// Set the next SRTCP index to send for `ssrc` (tests reproducing captured packets).
    #[cfg(test)]
    pub(crate) fn set_next_srtcp_index(&mut self, ssrc: u32, index: u32) {
        self.rtcp_out.insert(ssrc, index & MAX_SRTCP_INDEX);
    }

    #[cfg(test)]
    pub(crate) fn transforms(&self) -> (&Transform, &Transform) {
        (&self.rtp, &self.rtcp)
    }
}

fn check_replay(window: &ReplayWindow, ssrc: u32, index: u64) -> Result<(), SrtpError> {
    match window.check(index) {
        ReplayCheck::Fresh => Ok(()),
        ReplayCheck::Replayed => Err(SrtpError::Replayed { ssrc, index }),
        ReplayCheck::TooOld => Err(SrtpError::TooOld { ssrc, index }),
    }
}
