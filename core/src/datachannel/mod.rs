//! WebRTC data channels over SCTP (RFC 8831): the Data Channel Establishment Protocol
//! (DCEP, RFC 8832) message codec and the Payload Protocol Identifiers that tell a
//! channel's messages apart (RFC 8831 §8).
//!
//! ```
//! use sansrtc::datachannel::{ChannelType, DataChannelOpen, DcepMessage};
//! use sansrtc::sctp::Ppid;
//!
//! let open = DcepMessage::Open(DataChannelOpen {
//!     channel_type: ChannelType::PartialReliableRexmitUnordered,
//!     priority: 256,
//!     reliability_parameter: 0, // maxRetransmits
//!     label: "unrel".into(),
//!     protocol: String::new(),
//! });
//! let mut wire = Vec::new();
//! open.encode_into(&mut wire)?;
//! // Sent on the channel's stream in DATA with PPID 50.
//! assert_eq!(Ppid::DCEP, Ppid(50));
//! assert_eq!(DcepMessage::parse(&wire)?, open);
//! # Ok::<(), sansrtc::datachannel::DcepError>(())
//! ```

mod channels;
mod dcep;
mod vecmap;

#[cfg(test)]
mod tests;
/// Whole data channels in the simulator, each hosted directly through `io::Pinned`.
#[cfg(test)]
#[path = "sim/tests.rs"]
mod tests_sim;

pub use crate::sctp::Ppid;
pub use channels::{
    ChannelId, DataChannelConfig, DataChannelError, DataChannelEvent, DataChannelInfo,
    DataChannelInit, DataChannelState, DataChannelStats, DataChannels,
};
pub use dcep::{ChannelType, DataChannelOpen, DcepError, DcepMessage};

/// WebRTC's Payload Protocol Identifiers (RFC 8831 §8). An empty message cannot travel in
/// SCTP, so it goes as one byte (`0x00`) with an "Empty" PPID (RFC 8831 §6.6).
impl Ppid {
    /// 50: WebRTC DCEP, the DATA_CHANNEL_OPEN / DATA_CHANNEL_ACK messages.
    pub const DCEP: Self = Self(50);
    /// 51: WebRTC String, a UTF-8 message.
    pub const STRING: Self = Self(51);
    /// 52: WebRTC Binary Partial (deprecated): a fragment of a binary message.
    pub const BINARY_PARTIAL: Self = Self(52);
    /// 53: WebRTC Binary, a binary message.
    pub const BINARY: Self = Self(53);
    /// 54: WebRTC String Partial (deprecated): a fragment of a string message.
    pub const STRING_PARTIAL: Self = Self(54);
    /// 56: WebRTC String Empty: an empty string, sent as one ignored byte.
    pub const STRING_EMPTY: Self = Self(56);
    /// 57: WebRTC Binary Empty: an empty binary message, sent as one ignored byte.
    pub const BINARY_EMPTY: Self = Self(57);

    /// Whether the payload is a placeholder byte for an empty message (56, 57).
    pub const fn is_empty_message(self) -> bool {
        matches!(self.0, 56 | 57)
    }

    /// Whether the message is a string (51, 54, 56) rather than binary.
    pub const fn is_string(self) -> bool {
        matches!(self.0, 51 | 54 | 56)
    }
}
