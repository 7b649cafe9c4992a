//! RFC 7983 demultiplexing: which protocol a datagram on the shared 5-tuple carries,
//! decided by its first byte (and, between RTP and RTCP, the payload type, RFC 5761 §4).

/// What a datagram is.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketKind {
    /// STUN (first byte 0–3).
    Stun,
    /// ZRTP (16–19); WebRTC never uses it, so it is dropped.
    Zrtp,
    /// DTLS (20–63).
    Dtls,
    /// TURN ChannelData (64–79).
    TurnChannel,
    /// SRTP (128–191, payload type outside 64–95).
    Rtp,
    /// SRTCP (128–191, packet type 192–223, i.e. payload type 64–95 with the marker bit).
    Rtcp,
    /// Anything else: drop it.
    Unknown,
}

/// Classify a datagram (RFC 7983 §7, RFC 5764 §5.1.2, RFC 5761 §4).
///
/// ```
/// use sansrtc::demux::{classify, PacketKind};
/// assert_eq!(classify(&[0x00, 0x01]), PacketKind::Stun);
/// assert_eq!(classify(&[22, 0xfe, 0xfd]), PacketKind::Dtls);
/// assert_eq!(classify(&[0x80, 111]), PacketKind::Rtp);
/// assert_eq!(classify(&[0x81, 200]), PacketKind::Rtcp);
/// assert_eq!(classify(&[]), PacketKind::Unknown);
/// ```
pub fn classify(datagram: &[u8]) -> PacketKind {
    let Some(&first) = datagram.first() else {
        return PacketKind::Unknown;
    };
    match first {
        0..=3 => PacketKind::Stun,
        16..=19 => PacketKind::Zrtp,
        20..=63 => PacketKind::Dtls,
        64..=79 => PacketKind::TurnChannel,
        128..=191 => match datagram.get(1) {
            // RTCP packet types 192–223 (RFC 5761 §4); SR 200, RR 201, SDES 202, BYE 203,
            // APP 204, RTPFB 205, PSFB 206, XR 207.
            Some(pt) if (192..=223).contains(pt) => PacketKind::Rtcp,
            Some(_) => PacketKind::Rtp,
            None => PacketKind::Unknown,
        },
        _ => PacketKind::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_first_byte_has_one_kind() {
        for b in 0..=255u8 {
            let k = classify(&[b, 96]);
            let expected = match b {
                0..=3 => PacketKind::Stun,
                16..=19 => PacketKind::Zrtp,
                20..=63 => PacketKind::Dtls,
                64..=79 => PacketKind::TurnChannel,
                128..=191 => PacketKind::Rtp,
                _ => PacketKind::Unknown,
            };
            assert_eq!(k, expected, "first byte {b}");
        }
        // RTP with the marker bit set and payload type 72..=76 would collide with RTCP;
        // RFC 5761 §4 forbids those payload types, so the RTCP reading wins.
        assert_eq!(classify(&[0x80, 0x80 | 72]), PacketKind::Rtcp);
        assert_eq!(classify(&[0x80, 0x80 | 96]), PacketKind::Rtp);
    }

    /// Real Chromium datagrams land where they belong.
    #[test]
    fn chromium_fixtures_are_classified() {
        let base = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/chromium-156");
        for (dir, kind) in [
            ("stun/data", PacketKind::Stun),
            ("dtls/client-role", PacketKind::Dtls),
            ("dtls/server-role", PacketKind::Dtls),
        ] {
            let mut n = 0;
            for e in std::fs::read_dir(format!("{base}/{dir}")).unwrap() {
                let p = e.unwrap().path();
                if p.extension().is_some_and(|x| x == "bin") {
                    assert_eq!(
                        classify(&std::fs::read(&p).unwrap()),
                        kind,
                        "{}",
                        p.display()
                    );
                    n += 1;
                }
            }
            assert!(n > 5);
        }
    }
}
