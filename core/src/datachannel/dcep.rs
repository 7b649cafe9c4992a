//! DCEP messages (RFC 8832 §5).

use bytes::BufMut;

/// Message Type of DATA_CHANNEL_ACK (RFC 8832 §8.2.1).
const DATA_CHANNEL_ACK: u8 = 0x02;
/// Message Type of DATA_CHANNEL_OPEN (RFC 8832 §8.2.1).
const DATA_CHANNEL_OPEN: u8 = 0x03;
/// Fixed part of DATA_CHANNEL_OPEN before label and protocol (RFC 8832 §5.1).
const OPEN_HEADER_LEN: usize = 12;

/// Errors from parsing or encoding DCEP messages.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DcepError {
    /// No bytes at all.
    #[error("DCEP message empty")]
    Empty,
    /// A Message Type other than OPEN (0x03) or ACK (0x02).
    #[error("DCEP message type {0:#04x} unknown")]
    UnknownMessageType(u8),
    /// Shorter than the fixed header, or the label and protocol lengths run past the end.
    #[error("DCEP message truncated")]
    Truncated,
    /// Bytes after the end the lengths describe.
    #[error("DCEP message has trailing bytes")]
    TrailingBytes,
    /// A Channel Type RFC 8832 §8.2.2 does not define.
    #[error("DCEP channel type {0:#04x} unknown")]
    UnknownChannelType(u8),
    /// Label or protocol is not UTF-8.
    #[error("DCEP label or protocol is not UTF-8")]
    InvalidUtf8,
    /// Encoding: label or protocol longer than its 16-bit length field allows.
    #[error("DCEP label or protocol longer than 65535 bytes")]
    TooLong,
}

/// Channel Type of DATA_CHANNEL_OPEN (RFC 8832 §5.1): reliability and ordering.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelType {
    /// 0x00 DATA_CHANNEL_RELIABLE: ordered, fully reliable.
    Reliable,
    /// 0x80 DATA_CHANNEL_RELIABLE_UNORDERED.
    ReliableUnordered,
    /// 0x01 DATA_CHANNEL_PARTIAL_RELIABLE_REXMIT: ordered, at most `reliability_parameter`
    /// retransmissions.
    PartialReliableRexmit,
    /// 0x81 DATA_CHANNEL_PARTIAL_RELIABLE_REXMIT_UNORDERED.
    PartialReliableRexmitUnordered,
    /// 0x02 DATA_CHANNEL_PARTIAL_RELIABLE_TIMED: ordered, retransmitted for at most
    /// `reliability_parameter` milliseconds.
    PartialReliableTimed,
    /// 0x82 DATA_CHANNEL_PARTIAL_RELIABLE_TIMED_UNORDERED.
    PartialReliableTimedUnordered,
}

impl ChannelType {
    /// The channel type from its wire value.
    pub const fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0x00 => Self::Reliable,
            0x80 => Self::ReliableUnordered,
            0x01 => Self::PartialReliableRexmit,
            0x81 => Self::PartialReliableRexmitUnordered,
            0x02 => Self::PartialReliableTimed,
            0x82 => Self::PartialReliableTimedUnordered,
            _ => return None,
        })
    }

    /// The wire value.
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::Reliable => 0x00,
            Self::ReliableUnordered => 0x80,
            Self::PartialReliableRexmit => 0x01,
            Self::PartialReliableRexmitUnordered => 0x81,
            Self::PartialReliableTimed => 0x02,
            Self::PartialReliableTimedUnordered => 0x82,
        }
    }

    /// Whether messages are delivered in order (the high bit clear).
    pub const fn is_ordered(self) -> bool {
        self.to_u8() & 0x80 == 0
    }
}

/// DATA_CHANNEL_OPEN (RFC 8832 §5.1), sent on the new channel's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataChannelOpen {
    /// Reliability and ordering.
    pub channel_type: ChannelType,
    /// Priority (RFC 8832 §5.1; browsers send 256 for the default priority).
    pub priority: u16,
    /// Maximum retransmissions (REXMIT types) or lifetime in milliseconds (TIMED types);
    /// zero on the wire and ignored for reliable channels.
    pub reliability_parameter: u32,
    /// The channel's label (W3C `RTCDataChannel.label`).
    pub label: String,
    /// The subprotocol (W3C `RTCDataChannel.protocol`), often empty.
    pub protocol: String,
}

impl DataChannelOpen {
    /// W3C `maxRetransmits`: the limit of a REXMIT channel.
    pub fn max_retransmits(&self) -> Option<u32> {
        matches!(
            self.channel_type,
            ChannelType::PartialReliableRexmit | ChannelType::PartialReliableRexmitUnordered
        )
        .then_some(self.reliability_parameter)
    }

    /// W3C `maxPacketLifeTime` in milliseconds: the limit of a TIMED channel.
    pub fn max_packet_life_time(&self) -> Option<u32> {
        matches!(
            self.channel_type,
            ChannelType::PartialReliableTimed | ChannelType::PartialReliableTimedUnordered
        )
        .then_some(self.reliability_parameter)
    }
}

/// A DCEP message: the payload of a DATA chunk whose PPID is 50
/// ([`Ppid::DCEP`](crate::sctp::Ppid::DCEP)).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DcepMessage {
    /// DATA_CHANNEL_OPEN.
    Open(DataChannelOpen),
    /// DATA_CHANNEL_ACK (RFC 8832 §5.2), the answer to an OPEN.
    Ack,
}

impl DcepMessage {
    /// Parses a DCEP message from a DATA chunk's user data. Label and protocol are only
    /// allocated after their lengths are checked against the bytes present, so a message
    /// costs at most its own size.
    pub fn parse(b: &[u8]) -> Result<Self, DcepError> {
        match b.first() {
            None => Err(DcepError::Empty),
            Some(&DATA_CHANNEL_ACK) => {
                if b.len() != 1 {
                    return Err(DcepError::TrailingBytes);
                }
                Ok(Self::Ack)
            }
            Some(&DATA_CHANNEL_OPEN) => Self::parse_open(b).map(Self::Open),
            Some(&t) => Err(DcepError::UnknownMessageType(t)),
        }
    }

    fn parse_open(b: &[u8]) -> Result<DataChannelOpen, DcepError> {
        if b.len() < OPEN_HEADER_LEN {
            return Err(DcepError::Truncated);
        }
        let channel_type = ChannelType::from_u8(b[1]).ok_or(DcepError::UnknownChannelType(b[1]))?;
        let priority = u16::from_be_bytes([b[2], b[3]]);
        let reliability_parameter = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
        let label_len = usize::from(u16::from_be_bytes([b[8], b[9]]));
        let protocol_len = usize::from(u16::from_be_bytes([b[10], b[11]]));
        let rest = &b[OPEN_HEADER_LEN..];
        let total = label_len + protocol_len;
        if rest.len() < total {
            return Err(DcepError::Truncated);
        }
        if rest.len() > total {
            return Err(DcepError::TrailingBytes);
        }
        let text = |s: &[u8]| {
            std::str::from_utf8(s)
                .map(str::to_owned)
                .map_err(|_| DcepError::InvalidUtf8)
        };
        Ok(DataChannelOpen {
            channel_type,
            priority,
            reliability_parameter,
            label: text(&rest[..label_len])?,
            protocol: text(&rest[label_len..])?,
        })
    }

    /// Bytes the message takes.
    pub fn encoded_len(&self) -> usize {
        match self {
            Self::Open(o) => OPEN_HEADER_LEN + o.label.len() + o.protocol.len(),
            Self::Ack => 1,
        }
    }

    /// Appends the message to `out`. Nothing is written on error.
    pub fn encode_into<B: BufMut>(&self, out: &mut B) -> Result<(), DcepError> {
        match self {
            Self::Ack => out.put_u8(DATA_CHANNEL_ACK),
            Self::Open(o) => {
                let label_len = u16::try_from(o.label.len()).map_err(|_| DcepError::TooLong)?;
                let protocol_len =
                    u16::try_from(o.protocol.len()).map_err(|_| DcepError::TooLong)?;
                out.put_u8(DATA_CHANNEL_OPEN);
                out.put_u8(o.channel_type.to_u8());
                out.put_u16(o.priority);
                out.put_u32(o.reliability_parameter);
                out.put_u16(label_len);
                out.put_u16(protocol_len);
                out.put_slice(o.label.as_bytes());
                out.put_slice(o.protocol.as_bytes());
            }
        }
        Ok(())
    }
}
