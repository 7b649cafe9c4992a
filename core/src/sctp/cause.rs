//! Error causes carried by ABORT and ERROR chunks (RFC 9260 §3.3.10).

use bytes::{BufMut, Bytes};

use super::{SctpError, Sid, Tlv, Tsn, be16, be32};

const INVALID_STREAM_IDENTIFIER: u16 = 1;
const MISSING_MANDATORY_PARAMETER: u16 = 2;
const STALE_COOKIE: u16 = 3;
const OUT_OF_RESOURCE: u16 = 4;
const UNRESOLVABLE_ADDRESS: u16 = 5;
const UNRECOGNIZED_CHUNK_TYPE: u16 = 6;
const INVALID_MANDATORY_PARAMETER: u16 = 7;
const UNRECOGNIZED_PARAMETERS: u16 = 8;
const NO_USER_DATA: u16 = 9;
const COOKIE_WHILE_SHUTTING_DOWN: u16 = 10;
const RESTART_WITH_NEW_ADDRESSES: u16 = 11;
const USER_INITIATED_ABORT: u16 = 12;
const PROTOCOL_VIOLATION: u16 = 13;

/// One error cause of an ABORT or ERROR chunk.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorCause {
    /// 1: Invalid Stream Identifier (§3.3.10.1): DATA sent to a stream that does not
    /// exist.
    InvalidStreamIdentifier(Sid),
    /// 2: Missing Mandatory Parameter (§3.3.10.2): the missing parameter types.
    MissingMandatoryParameter(Vec<u16>),
    /// 3: Stale Cookie (§3.3.10.3): how late the cookie was, in microseconds.
    StaleCookie(u32),
    /// 4: Out of Resource (§3.3.10.4).
    OutOfResource,
    /// 5: Unresolvable Address (§3.3.10.5): the address parameter, TLV included.
    UnresolvableAddress(Bytes),
    /// 6: Unrecognized Chunk Type (§3.3.10.6): the chunk, header included.
    UnrecognizedChunkType(Bytes),
    /// 7: Invalid Mandatory Parameter (§3.3.10.7).
    InvalidMandatoryParameter,
    /// 8: Unrecognized Parameters (§3.3.10.8): the parameters, TLVs included.
    UnrecognizedParameters(Bytes),
    /// 9: No User Data (§3.3.10.9): the TSN of the empty DATA chunk.
    NoUserData(Tsn),
    /// 10: Cookie Received While Shutting Down (§3.3.10.10).
    CookieReceivedWhileShuttingDown,
    /// 11: Restart of an Association with New Addresses (§3.3.10.11): the new address
    /// parameters, TLVs included.
    RestartWithNewAddresses(Bytes),
    /// 12: User-Initiated Abort (§3.3.10.12): the upper layer's reason, opaque bytes
    /// (Chromium sends ASCII such as `Close called`).
    UserInitiatedAbort(Bytes),
    /// 13: Protocol Violation (§3.3.10.13): free-form diagnostic bytes.
    ProtocolViolation(Bytes),
    /// Any other cause code, kept raw.
    Unknown {
        /// Cause code.
        code: u16,
        /// Cause-specific information, without header and padding.
        info: Bytes,
    },
}

impl ErrorCause {
    /// The cause code on the wire.
    pub fn code(&self) -> u16 {
        match self {
            Self::InvalidStreamIdentifier(_) => INVALID_STREAM_IDENTIFIER,
            Self::MissingMandatoryParameter(_) => MISSING_MANDATORY_PARAMETER,
            Self::StaleCookie(_) => STALE_COOKIE,
            Self::OutOfResource => OUT_OF_RESOURCE,
            Self::UnresolvableAddress(_) => UNRESOLVABLE_ADDRESS,
            Self::UnrecognizedChunkType(_) => UNRECOGNIZED_CHUNK_TYPE,
            Self::InvalidMandatoryParameter => INVALID_MANDATORY_PARAMETER,
            Self::UnrecognizedParameters(_) => UNRECOGNIZED_PARAMETERS,
            Self::NoUserData(_) => NO_USER_DATA,
            Self::CookieReceivedWhileShuttingDown => COOKIE_WHILE_SHUTTING_DOWN,
            Self::RestartWithNewAddresses(_) => RESTART_WITH_NEW_ADDRESSES,
            Self::UserInitiatedAbort(_) => USER_INITIATED_ABORT,
            Self::ProtocolViolation(_) => PROTOCOL_VIOLATION,
            Self::Unknown { code, .. } => *code,
        }
    }

    pub(super) fn parse(code: u16, v: Bytes) -> Result<Self, SctpError> {
        let bad = |why| SctpError::InvalidCause(code, why);
        let exact = |n: usize| {
            if v.len() == n {
                Ok(())
            } else {
                Err(bad("wrong length"))
            }
        };
        Ok(match code {
            INVALID_STREAM_IDENTIFIER => {
                // Stream id, then 16 reserved bits.
                exact(4)?;
                Self::InvalidStreamIdentifier(Sid(be16(&v, 0)))
            }
            MISSING_MANDATORY_PARAMETER => {
                if v.len() < 4 {
                    return Err(bad("too short"));
                }
                // The count must describe exactly the types present: a count is a length
                // in disguise and is never trusted on its own.
                let count = be32(&v, 0) as usize;
                if v.len() - 4 != count.saturating_mul(2) {
                    return Err(bad("count disagrees with length"));
                }
                Self::MissingMandatoryParameter(
                    v[4..].chunks_exact(2).map(|t| be16(t, 0)).collect(),
                )
            }
            STALE_COOKIE => {
                exact(4)?;
                Self::StaleCookie(be32(&v, 0))
            }
            OUT_OF_RESOURCE => {
                exact(0)?;
                Self::OutOfResource
            }
            UNRESOLVABLE_ADDRESS => Self::UnresolvableAddress(v),
            UNRECOGNIZED_CHUNK_TYPE => Self::UnrecognizedChunkType(v),
            INVALID_MANDATORY_PARAMETER => {
                exact(0)?;
                Self::InvalidMandatoryParameter
            }
            UNRECOGNIZED_PARAMETERS => Self::UnrecognizedParameters(v),
            NO_USER_DATA => {
                exact(4)?;
                Self::NoUserData(Tsn(be32(&v, 0)))
            }
            COOKIE_WHILE_SHUTTING_DOWN => {
                exact(0)?;
                Self::CookieReceivedWhileShuttingDown
            }
            RESTART_WITH_NEW_ADDRESSES => Self::RestartWithNewAddresses(v),
            USER_INITIATED_ABORT => Self::UserInitiatedAbort(v),
            PROTOCOL_VIOLATION => Self::ProtocolViolation(v),
            _ => Self::Unknown { code, info: v },
        })
    }
}

impl Tlv for ErrorCause {
    fn tlv_type(&self) -> u16 {
        self.code()
    }

    fn value_len(&self) -> usize {
        match self {
            Self::InvalidStreamIdentifier(_) | Self::StaleCookie(_) | Self::NoUserData(_) => 4,
            Self::MissingMandatoryParameter(t) => 4 + 2 * t.len(),
            Self::OutOfResource
            | Self::InvalidMandatoryParameter
            | Self::CookieReceivedWhileShuttingDown => 0,
            Self::UnresolvableAddress(b)
            | Self::UnrecognizedChunkType(b)
            | Self::UnrecognizedParameters(b)
            | Self::RestartWithNewAddresses(b)
            | Self::UserInitiatedAbort(b)
            | Self::ProtocolViolation(b)
            | Self::Unknown { info: b, .. } => b.len(),
        }
    }

    fn put_value<B: BufMut>(&self, out: &mut B) {
        match self {
            Self::InvalidStreamIdentifier(sid) => {
                out.put_u16(sid.0);
                out.put_u16(0);
            }
            Self::MissingMandatoryParameter(types) => {
                out.put_u32(types.len() as u32);
                types.iter().for_each(|t| out.put_u16(*t));
            }
            Self::StaleCookie(us) => out.put_u32(*us),
            Self::NoUserData(tsn) => out.put_u32(tsn.0),
            Self::OutOfResource
            | Self::InvalidMandatoryParameter
            | Self::CookieReceivedWhileShuttingDown => {}
            Self::UnresolvableAddress(b)
            | Self::UnrecognizedChunkType(b)
            | Self::UnrecognizedParameters(b)
            | Self::RestartWithNewAddresses(b)
            | Self::UserInitiatedAbort(b)
            | Self::ProtocolViolation(b)
            | Self::Unknown { info: b, .. } => out.put_slice(b),
        }
    }
}
