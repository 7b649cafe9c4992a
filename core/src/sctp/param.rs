//! Parameters of INIT / INIT-ACK (RFC 9260 §3.3.2.1 and extensions) and of RE-CONFIG
//! (RFC 6525 §4).

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::{BufMut, Bytes};

use super::chunk::ChunkType;
use super::{ReconfigSeq, SctpError, Sid, Tlv, Tsn, UnknownAction, be16, be32};

const IPV4_ADDRESS: u16 = 5;
const IPV6_ADDRESS: u16 = 6;
const STATE_COOKIE: u16 = 7;
const UNRECOGNIZED_PARAMETER: u16 = 8;
const COOKIE_PRESERVATIVE: u16 = 9;
const HOST_NAME_ADDRESS: u16 = 11;
const SUPPORTED_ADDRESS_TYPES: u16 = 12;
const ECN_CAPABLE: u16 = 0x8000;
const ZERO_CHECKSUM_ACCEPTABLE: u16 = 0x8001;
const SUPPORTED_EXTENSIONS: u16 = 0x8008;
const FORWARD_TSN_SUPPORTED: u16 = 0xC000;

const OUTGOING_SSN_RESET_REQUEST: u16 = 13;
const INCOMING_SSN_RESET_REQUEST: u16 = 14;
const SSN_TSN_RESET_REQUEST: u16 = 15;
const RECONFIG_RESPONSE: u16 = 16;
const ADD_OUTGOING_STREAMS: u16 = 17;
const ADD_INCOMING_STREAMS: u16 = 18;

/// Error Detection Method Identifier of the Zero Checksum Acceptable parameter
/// (RFC 9653 §4): which lower layer vouches for integrity when the checksum is zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Edmid(pub u32);

impl Edmid {
    /// SCTP over DTLS (RFC 9653 §6, RFC 8261): DTLS authenticates every packet.
    pub const DTLS: Self = Self(1);
}

/// A parameter of an INIT or INIT-ACK chunk.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitParam {
    /// IPv4 Address (type 5, RFC 9260 §3.3.2.1.1). Meaningless over DTLS; kept.
    Ipv4Address(Ipv4Addr),
    /// IPv6 Address (type 6, RFC 9260 §3.3.2.1.2). Meaningless over DTLS; kept.
    Ipv6Address(Ipv6Addr),
    /// State Cookie (type 7, RFC 9260 §3.3.3.1), INIT-ACK only; echoed verbatim in
    /// COOKIE-ECHO.
    StateCookie(Bytes),
    /// Unrecognized Parameter (type 8, RFC 9260 §3.3.3.1), INIT-ACK only: the
    /// parameters of our INIT the peer did not know, TLV headers included.
    UnrecognizedParameter(Bytes),
    /// Cookie Preservative (type 9, RFC 9260 §3.3.2.1.3): suggested cookie life-span
    /// increment in milliseconds.
    CookiePreservative(u32),
    /// Host Name Address (type 11, RFC 9260 §3.3.2.1.4), deprecated; the raw name.
    HostNameAddress(Bytes),
    /// Supported Address Types (type 12, RFC 9260 §3.3.2.1.5): address parameter types.
    SupportedAddressTypes(Vec<u16>),
    /// ECN Capable (type 0x8000, RFC 9260 §3.3.2.1), no value.
    EcnCapable,
    /// Zero Checksum Acceptable (type 0x8001, RFC 9653 §4): the sender accepts packets
    /// with a zero checksum when the given method protects them.
    ZeroChecksumAcceptable(Edmid),
    /// Supported Extensions (type 0x8008, RFC 5061 §4.2.7): the optional chunk types the
    /// sender handles (WebRTC: RE-CONFIG, FORWARD-TSN, maybe I-DATA, I-FORWARD-TSN).
    SupportedExtensions(Vec<ChunkType>),
    /// Forward-TSN-Supported (type 0xC000, RFC 3758 §3.1), no value.
    ForwardTsnSupported,
    /// Any other parameter, kept raw; see [`InitParam::unknown_action`].
    Unknown {
        /// Parameter type.
        typ: u16,
        /// Value, without header and padding.
        value: Bytes,
    },
}

impl InitParam {
    /// The parameter type on the wire.
    pub fn param_type(&self) -> u16 {
        match self {
            Self::Ipv4Address(_) => IPV4_ADDRESS,
            Self::Ipv6Address(_) => IPV6_ADDRESS,
            Self::StateCookie(_) => STATE_COOKIE,
            Self::UnrecognizedParameter(_) => UNRECOGNIZED_PARAMETER,
            Self::CookiePreservative(_) => COOKIE_PRESERVATIVE,
            Self::HostNameAddress(_) => HOST_NAME_ADDRESS,
            Self::SupportedAddressTypes(_) => SUPPORTED_ADDRESS_TYPES,
            Self::EcnCapable => ECN_CAPABLE,
            Self::ZeroChecksumAcceptable(_) => ZERO_CHECKSUM_ACCEPTABLE,
            Self::SupportedExtensions(_) => SUPPORTED_EXTENSIONS,
            Self::ForwardTsnSupported => FORWARD_TSN_SUPPORTED,
            Self::Unknown { typ, .. } => *typ,
        }
    }

    /// What RFC 9260 §3.2.1 asks a receiver to do with this parameter type if it does
    /// not know it (meaningful for [`InitParam::Unknown`]).
    pub fn unknown_action(&self) -> UnknownAction {
        UnknownAction::from_bits((self.param_type() >> 14) as u8)
    }

    pub(super) fn parse(typ: u16, value: Bytes) -> Result<Self, SctpError> {
        let bad = |why| SctpError::InvalidParameter(typ, why);
        let exact = |n: usize| {
            if value.len() == n {
                Ok(())
            } else {
                Err(bad("wrong length"))
            }
        };
        Ok(match typ {
            IPV4_ADDRESS => {
                exact(4)?;
                Self::Ipv4Address(Ipv4Addr::from(be32(&value, 0)))
            }
            IPV6_ADDRESS => {
                let octets: [u8; 16] = value[..].try_into().map_err(|_| bad("wrong length"))?;
                Self::Ipv6Address(Ipv6Addr::from(octets))
            }
            STATE_COOKIE => Self::StateCookie(value),
            UNRECOGNIZED_PARAMETER => Self::UnrecognizedParameter(value),
            COOKIE_PRESERVATIVE => {
                exact(4)?;
                Self::CookiePreservative(be32(&value, 0))
            }
            HOST_NAME_ADDRESS => Self::HostNameAddress(value),
            SUPPORTED_ADDRESS_TYPES => {
                if !value.len().is_multiple_of(2) {
                    return Err(bad("odd length"));
                }
                Self::SupportedAddressTypes(value.chunks_exact(2).map(|t| be16(t, 0)).collect())
            }
            ECN_CAPABLE => {
                exact(0)?;
                Self::EcnCapable
            }
            ZERO_CHECKSUM_ACCEPTABLE => {
                exact(4)?;
                Self::ZeroChecksumAcceptable(Edmid(be32(&value, 0)))
            }
            SUPPORTED_EXTENSIONS => {
                Self::SupportedExtensions(value.iter().map(|&t| ChunkType(t)).collect())
            }
            FORWARD_TSN_SUPPORTED => {
                exact(0)?;
                Self::ForwardTsnSupported
            }
            _ => Self::Unknown { typ, value },
        })
    }
}

impl Tlv for InitParam {
    fn tlv_type(&self) -> u16 {
        self.param_type()
    }

    fn value_len(&self) -> usize {
        match self {
            Self::Ipv4Address(_)
            | Self::CookiePreservative(_)
            | Self::ZeroChecksumAcceptable(_) => 4,
            Self::Ipv6Address(_) => 16,
            Self::StateCookie(b)
            | Self::UnrecognizedParameter(b)
            | Self::HostNameAddress(b)
            | Self::Unknown { value: b, .. } => b.len(),
            Self::SupportedAddressTypes(t) => 2 * t.len(),
            Self::EcnCapable | Self::ForwardTsnSupported => 0,
            Self::SupportedExtensions(t) => t.len(),
        }
    }

    fn put_value<B: BufMut>(&self, out: &mut B) {
        match self {
            Self::Ipv4Address(a) => out.put_slice(&a.octets()),
            Self::Ipv6Address(a) => out.put_slice(&a.octets()),
            Self::StateCookie(b)
            | Self::UnrecognizedParameter(b)
            | Self::HostNameAddress(b)
            | Self::Unknown { value: b, .. } => out.put_slice(b),
            Self::CookiePreservative(ms) => out.put_u32(*ms),
            Self::SupportedAddressTypes(types) => types.iter().for_each(|t| out.put_u16(*t)),
            Self::EcnCapable | Self::ForwardTsnSupported => {}
            Self::ZeroChecksumAcceptable(e) => out.put_u32(e.0),
            Self::SupportedExtensions(types) => types.iter().for_each(|t| out.put_u8(t.0)),
        }
    }
}

/// Result of a re-configuration request (RFC 6525 §4.4).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReconfigResult {
    /// 0: Success - Nothing to do.
    SuccessNothingToDo,
    /// 1: Success - Performed.
    SuccessPerformed,
    /// 2: Denied.
    Denied,
    /// 3: Error - Wrong SSN.
    ErrorWrongSsn,
    /// 4: Error - Request already in progress.
    ErrorRequestAlreadyInProgress,
    /// 5: Error - Bad Sequence Number.
    ErrorBadSequenceNumber,
    /// 6: In progress.
    InProgress,
    /// A value RFC 6525 does not define (never 0..=6).
    Other(u32),
}

impl ReconfigResult {
    /// The result from its wire value.
    pub const fn from_u32(v: u32) -> Self {
        match v {
            0 => Self::SuccessNothingToDo,
            1 => Self::SuccessPerformed,
            2 => Self::Denied,
            3 => Self::ErrorWrongSsn,
            4 => Self::ErrorRequestAlreadyInProgress,
            5 => Self::ErrorBadSequenceNumber,
            6 => Self::InProgress,
            v => Self::Other(v),
        }
    }

    /// The wire value.
    pub const fn to_u32(self) -> u32 {
        match self {
            Self::SuccessNothingToDo => 0,
            Self::SuccessPerformed => 1,
            Self::Denied => 2,
            Self::ErrorWrongSsn => 3,
            Self::ErrorRequestAlreadyInProgress => 4,
            Self::ErrorBadSequenceNumber => 5,
            Self::InProgress => 6,
            Self::Other(v) => v,
        }
    }
}

/// The optional TSN pair of a Re-configuration Response, present only in answers to an
/// SSN/TSN Reset Request (RFC 6525 §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResponseTsns {
    /// Sender's Next TSN.
    pub sender_next_tsn: Tsn,
    /// Receiver's Next TSN.
    pub receiver_next_tsn: Tsn,
}

/// A parameter of a RE-CONFIG chunk (RFC 6525 §4). A chunk carries one or two; which
/// combinations are legal (§3.1) is for the association to check.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReconfigParam {
    /// Outgoing SSN Reset Request (type 13, §4.1): the sender resets its outgoing
    /// streams, which WebRTC does to close a data channel (RFC 8831 §6.7).
    OutgoingSsnResetRequest {
        /// Re-configuration Request Sequence Number.
        request_seq: ReconfigSeq,
        /// Re-configuration Response Sequence Number: the peer request this one answers,
        /// if any.
        response_seq: ReconfigSeq,
        /// Sender's Last Assigned TSN: the reset takes effect after this TSN.
        last_tsn: Tsn,
        /// Streams to reset; empty means all.
        streams: Vec<Sid>,
    },
    /// Incoming SSN Reset Request (type 14, §4.2): asks the peer to reset its outgoing
    /// streams.
    IncomingSsnResetRequest {
        /// Re-configuration Request Sequence Number.
        request_seq: ReconfigSeq,
        /// Streams to reset; empty means all.
        streams: Vec<Sid>,
    },
    /// SSN/TSN Reset Request (type 15, §4.3).
    SsnTsnResetRequest {
        /// Re-configuration Request Sequence Number.
        request_seq: ReconfigSeq,
    },
    /// Re-configuration Response (type 16, §4.4).
    Response {
        /// The request sequence number this answers.
        response_seq: ReconfigSeq,
        /// Outcome.
        result: ReconfigResult,
        /// Present when answering an SSN/TSN Reset Request.
        next_tsns: Option<ResponseTsns>,
    },
    /// Add Outgoing Streams Request (type 17, §4.5).
    AddOutgoingStreams {
        /// Re-configuration Request Sequence Number.
        request_seq: ReconfigSeq,
        /// Number of new streams.
        new_streams: u16,
    },
    /// Add Incoming Streams Request (type 18, §4.6).
    AddIncomingStreams {
        /// Re-configuration Request Sequence Number.
        request_seq: ReconfigSeq,
        /// Number of new streams.
        new_streams: u16,
    },
    /// Any other parameter, kept raw; see [`ReconfigParam::unknown_action`].
    Unknown {
        /// Parameter type.
        typ: u16,
        /// Value, without header and padding.
        value: Bytes,
    },
}

fn stream_list(b: &[u8]) -> Result<Vec<Sid>, &'static str> {
    if !b.len().is_multiple_of(2) {
        return Err("odd stream list");
    }
    Ok(b.chunks_exact(2).map(|s| Sid(be16(s, 0))).collect())
}

impl ReconfigParam {
    /// The parameter type on the wire.
    pub fn param_type(&self) -> u16 {
        match self {
            Self::OutgoingSsnResetRequest { .. } => OUTGOING_SSN_RESET_REQUEST,
            Self::IncomingSsnResetRequest { .. } => INCOMING_SSN_RESET_REQUEST,
            Self::SsnTsnResetRequest { .. } => SSN_TSN_RESET_REQUEST,
            Self::Response { .. } => RECONFIG_RESPONSE,
            Self::AddOutgoingStreams { .. } => ADD_OUTGOING_STREAMS,
            Self::AddIncomingStreams { .. } => ADD_INCOMING_STREAMS,
            Self::Unknown { typ, .. } => *typ,
        }
    }

    /// What RFC 9260 §3.2.1 asks a receiver to do with this parameter type if it does
    /// not know it (meaningful for [`ReconfigParam::Unknown`]).
    pub fn unknown_action(&self) -> UnknownAction {
        UnknownAction::from_bits((self.param_type() >> 14) as u8)
    }

    pub(super) fn parse(typ: u16, v: Bytes) -> Result<Self, SctpError> {
        let bad = |why| SctpError::InvalidParameter(typ, why);
        let seq = |at| ReconfigSeq(be32(&v, at));
        Ok(match typ {
            OUTGOING_SSN_RESET_REQUEST => {
                if v.len() < 12 {
                    return Err(bad("too short"));
                }
                Self::OutgoingSsnResetRequest {
                    request_seq: seq(0),
                    response_seq: seq(4),
                    last_tsn: Tsn(be32(&v, 8)),
                    streams: stream_list(&v[12..]).map_err(bad)?,
                }
            }
            INCOMING_SSN_RESET_REQUEST => {
                if v.len() < 4 {
                    return Err(bad("too short"));
                }
                Self::IncomingSsnResetRequest {
                    request_seq: seq(0),
                    streams: stream_list(&v[4..]).map_err(bad)?,
                }
            }
            SSN_TSN_RESET_REQUEST => {
                if v.len() != 4 {
                    return Err(bad("wrong length"));
                }
                Self::SsnTsnResetRequest {
                    request_seq: seq(0),
                }
            }
            RECONFIG_RESPONSE => {
                let next_tsns = match v.len() {
                    8 => None,
                    16 => Some(ResponseTsns {
                        sender_next_tsn: Tsn(be32(&v, 8)),
                        receiver_next_tsn: Tsn(be32(&v, 12)),
                    }),
                    _ => return Err(bad("wrong length")),
                };
                Self::Response {
                    response_seq: seq(0),
                    result: ReconfigResult::from_u32(be32(&v, 4)),
                    next_tsns,
                }
            }
            ADD_OUTGOING_STREAMS | ADD_INCOMING_STREAMS => {
                if v.len() != 8 {
                    return Err(bad("wrong length"));
                }
                // The 16 bits after the count are reserved (RFC 6525 §4.5, §4.6).
                let (request_seq, new_streams) = (seq(0), be16(&v, 4));
                if typ == ADD_OUTGOING_STREAMS {
                    Self::AddOutgoingStreams {
                        request_seq,
                        new_streams,
                    }
                } else {
                    Self::AddIncomingStreams {
                        request_seq,
                        new_streams,
                    }
                }
            }
            _ => Self::Unknown { typ, value: v },
        })
    }
}

impl Tlv for ReconfigParam {
    fn tlv_type(&self) -> u16 {
        self.param_type()
    }

    fn value_len(&self) -> usize {
        match self {
            Self::OutgoingSsnResetRequest { streams, .. } => 12 + 2 * streams.len(),
            Self::IncomingSsnResetRequest { streams, .. } => 4 + 2 * streams.len(),
            Self::SsnTsnResetRequest { .. } => 4,
            Self::Response { next_tsns, .. } => 8 + if next_tsns.is_some() { 8 } else { 0 },
            Self::AddOutgoingStreams { .. } | Self::AddIncomingStreams { .. } => 8,
            Self::Unknown { value, .. } => value.len(),
        }
    }

    fn put_value<B: BufMut>(&self, out: &mut B) {
        match self {
            Self::OutgoingSsnResetRequest {
                request_seq,
                response_seq,
                last_tsn,
                streams,
            } => {
                out.put_u32(request_seq.0);
                out.put_u32(response_seq.0);
                out.put_u32(last_tsn.0);
                streams.iter().for_each(|s| out.put_u16(s.0));
            }
            Self::IncomingSsnResetRequest {
                request_seq,
                streams,
            } => {
                out.put_u32(request_seq.0);
                streams.iter().for_each(|s| out.put_u16(s.0));
            }
            Self::SsnTsnResetRequest { request_seq } => out.put_u32(request_seq.0),
            Self::Response {
                response_seq,
                result,
                next_tsns,
            } => {
                out.put_u32(response_seq.0);
                out.put_u32(result.to_u32());
                if let Some(t) = next_tsns {
                    out.put_u32(t.sender_next_tsn.0);
                    out.put_u32(t.receiver_next_tsn.0);
                }
            }
            Self::AddOutgoingStreams {
                request_seq,
                new_streams,
            }
            | Self::AddIncomingStreams {
                request_seq,
                new_streams,
            } => {
                out.put_u32(request_seq.0);
                out.put_u16(*new_streams);
                out.put_u16(0);
            }
            Self::Unknown { value, .. } => out.put_slice(value),
        }
    }
}
