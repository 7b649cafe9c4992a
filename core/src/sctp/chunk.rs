//! Chunks (RFC 9260 §3.2, §3.3 and the extensions WebRTC negotiates).

use std::fmt;

use bytes::{Buf, BufMut, Bytes};

use super::cause::ErrorCause;
use super::param::{InitParam, ReconfigParam};
use super::{
    Fsn, Mid, Ppid, SctpError, Sid, Ssn, Tsn, UnknownAction, be16, be32, pad4, parse_tlv_list,
    put_tlv_list, tlv_list_len, u16_len,
};

/// A chunk type (RFC 9260 §3.2 and the IANA "Chunk Types" registry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChunkType(pub u8);

impl ChunkType {
    /// Payload Data (RFC 9260 §3.3.1).
    pub const DATA: Self = Self(0);
    /// Initiation (RFC 9260 §3.3.2).
    pub const INIT: Self = Self(1);
    /// Initiation Acknowledgement (RFC 9260 §3.3.3).
    pub const INIT_ACK: Self = Self(2);
    /// Selective Acknowledgement (RFC 9260 §3.3.4).
    pub const SACK: Self = Self(3);
    /// Heartbeat Request (RFC 9260 §3.3.5).
    pub const HEARTBEAT: Self = Self(4);
    /// Heartbeat Acknowledgement (RFC 9260 §3.3.6).
    pub const HEARTBEAT_ACK: Self = Self(5);
    /// Abort (RFC 9260 §3.3.7).
    pub const ABORT: Self = Self(6);
    /// Shutdown (RFC 9260 §3.3.8).
    pub const SHUTDOWN: Self = Self(7);
    /// Shutdown Acknowledgement (RFC 9260 §3.3.9).
    pub const SHUTDOWN_ACK: Self = Self(8);
    /// Operation Error (RFC 9260 §3.3.10).
    pub const ERROR: Self = Self(9);
    /// State Cookie echo (RFC 9260 §3.3.11).
    pub const COOKIE_ECHO: Self = Self(10);
    /// Cookie Acknowledgement (RFC 9260 §3.3.12).
    pub const COOKIE_ACK: Self = Self(11);
    /// Explicit Congestion Notification Echo (reserved, RFC 9260 §3.3.13).
    pub const ECNE: Self = Self(12);
    /// Congestion Window Reduced (reserved, RFC 9260 §3.3.13).
    pub const CWR: Self = Self(13);
    /// Shutdown Complete (RFC 9260 §3.3.13).
    pub const SHUTDOWN_COMPLETE: Self = Self(14);
    /// Authentication (RFC 4895); not supported, parsed as unknown.
    pub const AUTH: Self = Self(15);
    /// Interleaved Payload Data (RFC 8260 §2.1).
    pub const I_DATA: Self = Self(64);
    /// Address Configuration Acknowledgement (RFC 5061); parsed as unknown.
    pub const ASCONF_ACK: Self = Self(128);
    /// Re-configuration (RFC 6525 §3.1).
    pub const RE_CONFIG: Self = Self(130);
    /// Padding (RFC 4820 §3).
    pub const PAD: Self = Self(132);
    /// Forward Cumulative TSN (RFC 3758 §3.2).
    pub const FORWARD_TSN: Self = Self(192);
    /// Address Configuration Change (RFC 5061); parsed as unknown.
    pub const ASCONF: Self = Self(193);
    /// Interleaved Forward Cumulative TSN (RFC 8260 §2.3.1).
    pub const I_FORWARD_TSN: Self = Self(194);

    /// The registry name (`"DATA"`, `"RE-CONFIG"`, …), if the type is a known one.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "DATA",
            1 => "INIT",
            2 => "INIT-ACK",
            3 => "SACK",
            4 => "HEARTBEAT",
            5 => "HEARTBEAT-ACK",
            6 => "ABORT",
            7 => "SHUTDOWN",
            8 => "SHUTDOWN-ACK",
            9 => "ERROR",
            10 => "COOKIE-ECHO",
            11 => "COOKIE-ACK",
            12 => "ECNE",
            13 => "CWR",
            14 => "SHUTDOWN-COMPLETE",
            15 => "AUTH",
            64 => "I-DATA",
            128 => "ASCONF-ACK",
            130 => "RE-CONFIG",
            132 => "PAD",
            192 => "FORWARD-TSN",
            193 => "ASCONF",
            194 => "I-FORWARD-TSN",
            _ => return None,
        })
    }

    /// What a receiver that does not know this type does with it (RFC 9260 §3.2).
    pub const fn unknown_action(self) -> UnknownAction {
        UnknownAction::from_bits(self.0 >> 6)
    }
}

impl fmt::Display for ChunkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "chunk type {}", self.0),
        }
    }
}

// DATA / I-DATA flag bits (RFC 9260 §3.3.1, RFC 7053 §3 for I, RFC 8260 §2.1).
const FLAG_E: u8 = 0x01;
const FLAG_B: u8 = 0x02;
const FLAG_U: u8 = 0x04;
const FLAG_I: u8 = 0x08;
/// The T bit of ABORT and SHUTDOWN-COMPLETE (RFC 9260 §3.3.7, §3.3.13).
const FLAG_T: u8 = 0x01;

/// DATA chunk (type 0, RFC 9260 §3.3.1): one fragment of a user message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Data {
    /// U bit: deliver without regard to the stream's order.
    pub unordered: bool,
    /// B bit: first fragment of the message.
    pub beginning: bool,
    /// E bit: last fragment of the message.
    pub ending: bool,
    /// I bit (RFC 7053): the sender asks for a SACK without delay.
    pub immediate: bool,
    /// Transmission Sequence Number.
    pub tsn: Tsn,
    /// Stream Identifier.
    pub stream_id: Sid,
    /// Stream Sequence Number (same for every fragment of a message; unused when
    /// unordered).
    pub ssn: Ssn,
    /// Payload Protocol Identifier.
    pub ppid: Ppid,
    /// User data, sliced from the received packet without copying. Empty is a protocol
    /// error (RFC 9260 §6.2) the association answers; the codec keeps it.
    pub user_data: Bytes,
}

impl Data {
    /// Appends this DATA chunk, padded to four bytes, without cloning it into a
    /// [`Chunk`]. Fails (writing nothing) when the user data does not fit one chunk.
    pub fn encode_into<B: BufMut>(&self, out: &mut B) -> Result<(), SctpError> {
        let len = u16_len(16 + self.user_data.len(), "chunk")?;
        let bit = |set: bool, flag: u8| if set { flag } else { 0 };
        out.put_u8(0);
        out.put_u8(
            bit(self.immediate, FLAG_I)
                | bit(self.unordered, FLAG_U)
                | bit(self.beginning, FLAG_B)
                | bit(self.ending, FLAG_E),
        );
        out.put_u16(len);
        out.put_u32(self.tsn.0);
        out.put_u16(self.stream_id.0);
        out.put_u16(self.ssn.0);
        out.put_u32(self.ppid.0);
        out.put_slice(&self.user_data);
        out.put_bytes(0, pad4(usize::from(len)));
        Ok(())
    }
}

impl Data {
    /// Appends this fragment as an I-DATA chunk (RFC 8260 §2.1) with message
    /// identifier `mid` and fragment number `fsn`: the PPID goes in the first fragment,
    /// the FSN in the others; the SSN is not sent.
    pub fn encode_as_idata_into<B: BufMut>(
        &self,
        mid: Mid,
        fsn: Fsn,
        out: &mut B,
    ) -> Result<(), SctpError> {
        let len = u16_len(20 + self.user_data.len(), "chunk")?;
        let bit = |set: bool, flag: u8| if set { flag } else { 0 };
        out.put_u8(ChunkType::I_DATA.0);
        out.put_u8(
            bit(self.immediate, FLAG_I)
                | bit(self.unordered, FLAG_U)
                | bit(self.beginning, FLAG_B)
                | bit(self.ending, FLAG_E),
        );
        out.put_u16(len);
        out.put_u32(self.tsn.0);
        out.put_u16(self.stream_id.0);
        out.put_u16(0);
        out.put_u32(mid.0);
        out.put_u32(if self.beginning { self.ppid.0 } else { fsn.0 });
        out.put_slice(&self.user_data);
        out.put_bytes(0, pad4(usize::from(len)));
        Ok(())
    }
}

/// Payload Protocol Identifier or Fragment Sequence Number: I-DATA carries the PPID in
/// the first fragment (B bit set, FSN implicitly 0) and the FSN in the others
/// (RFC 8260 §2.1). The B bit is derived from which one is present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PpidOrFsn {
    /// First fragment: the message's PPID.
    Ppid(Ppid),
    /// Later fragment: its FSN (never 0 from a correct sender).
    Fsn(Fsn),
}

/// I-DATA chunk (type 64, RFC 8260 §2.1): DATA with a 32-bit Message Identifier so
/// messages of different streams can interleave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IData {
    /// U bit: unordered message.
    pub unordered: bool,
    /// E bit: last fragment of the message.
    pub ending: bool,
    /// I bit (RFC 7053): the sender asks for a SACK without delay.
    pub immediate: bool,
    /// Transmission Sequence Number.
    pub tsn: Tsn,
    /// Stream Identifier.
    pub stream_id: Sid,
    /// Message Identifier.
    pub mid: Mid,
    /// PPID (first fragment, B bit) or FSN (later fragments).
    pub ppid_or_fsn: PpidOrFsn,
    /// User data, sliced from the received packet without copying.
    pub user_data: Bytes,
}

impl IData {
    /// B bit: first fragment of the message.
    pub fn beginning(&self) -> bool {
        matches!(self.ppid_or_fsn, PpidOrFsn::Ppid(_))
    }

    /// The fragment's FSN: 0 for the first fragment (RFC 8260 §2.1).
    pub fn fsn(&self) -> Fsn {
        match self.ppid_or_fsn {
            PpidOrFsn::Ppid(_) => Fsn(0),
            PpidOrFsn::Fsn(fsn) => fsn,
        }
    }

    /// The message's PPID, carried by the first fragment only.
    pub fn ppid(&self) -> Option<Ppid> {
        match self.ppid_or_fsn {
            PpidOrFsn::Ppid(ppid) => Some(ppid),
            PpidOrFsn::Fsn(_) => None,
        }
    }
}

/// INIT (type 1, RFC 9260 §3.3.2) and INIT-ACK (type 2, §3.3.3) share this layout;
/// [`Chunk::Init`] and [`Chunk::InitAck`] tell them apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Init {
    /// Initiate Tag: the verification tag the peer puts on every packet it sends us.
    pub initiate_tag: u32,
    /// Advertised Receiver Window Credit (a_rwnd), in bytes.
    pub a_rwnd: u32,
    /// Number of Outbound Streams (OS) the sender wants to open.
    pub num_outbound_streams: u16,
    /// Number of Inbound Streams (MIS) the sender allows.
    pub num_inbound_streams: u16,
    /// Initial TSN of the sender's DATA.
    pub initial_tsn: Tsn,
    /// Optional and variable-length parameters, in wire order.
    pub params: Vec<InitParam>,
}

impl Init {
    /// The State Cookie an INIT-ACK carries (RFC 9260 §3.3.3.1).
    pub fn state_cookie(&self) -> Option<&Bytes> {
        self.params.iter().find_map(|p| match p {
            InitParam::StateCookie(c) => Some(c),
            _ => None,
        })
    }

    /// Whether the sender supports FORWARD-TSN (RFC 3758 §3.1).
    pub fn forward_tsn_supported(&self) -> bool {
        self.params
            .iter()
            .any(|p| matches!(p, InitParam::ForwardTsnSupported))
    }

    /// The chunk types of the Supported Extensions parameter (RFC 5061 §4.2.7); empty
    /// when absent.
    pub fn supported_extensions(&self) -> &[ChunkType] {
        self.params
            .iter()
            .find_map(|p| match p {
                InitParam::SupportedExtensions(t) => Some(t.as_slice()),
                _ => None,
            })
            .unwrap_or(&[])
    }

    /// Whether the sender announced support for the given extension chunk type.
    pub fn supports(&self, chunk: ChunkType) -> bool {
        self.supported_extensions().contains(&chunk)
    }

    /// The EDMID of a Zero Checksum Acceptable parameter (RFC 9653 §4), if present.
    pub fn zero_checksum_acceptable(&self) -> Option<super::Edmid> {
        self.params.iter().find_map(|p| match p {
            InitParam::ZeroChecksumAcceptable(e) => Some(*e),
            _ => None,
        })
    }
}

/// A Gap Ack Block of a SACK (RFC 9260 §3.3.4): TSNs `cumulative_tsn_ack + start` to
/// `cumulative_tsn_ack + end` arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GapAckBlock {
    /// Gap Ack Block Start, an offset from the Cumulative TSN Ack.
    pub start: u16,
    /// Gap Ack Block End, an offset from the Cumulative TSN Ack.
    pub end: u16,
}

/// SACK chunk (type 3, RFC 9260 §3.3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sack {
    /// Cumulative TSN Ack: every TSN up to here arrived.
    pub cumulative_tsn_ack: Tsn,
    /// Advertised Receiver Window Credit (a_rwnd), in bytes.
    pub a_rwnd: u32,
    /// Gap Ack Blocks, at most 65535 (their count is a 16-bit field).
    pub gap_ack_blocks: Vec<GapAckBlock>,
    /// Duplicate TSNs received since the last SACK, at most 65535.
    pub duplicate_tsns: Vec<Tsn>,
}

/// HEARTBEAT (type 4, RFC 9260 §3.3.5) and HEARTBEAT-ACK (type 5, §3.3.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    /// The chunk value as sent: the Heartbeat Info parameter (type 1) with its TLV
    /// header. A HEARTBEAT-ACK echoes it verbatim, so it is kept raw rather than
    /// re-serialized.
    pub info: Bytes,
}

impl Heartbeat {
    /// A chunk value holding one Heartbeat Info parameter with `sender_info`.
    pub fn with_sender_info(sender_info: &[u8]) -> Result<Self, SctpError> {
        let len = u16_len(4 + sender_info.len(), "Heartbeat Info")?;
        let mut info = Vec::with_capacity(usize::from(len) + 3);
        info.put_u16(1);
        info.put_u16(len);
        info.put_slice(sender_info);
        Ok(Self {
            info: Bytes::from(info),
        })
    }

    /// The sender-specific information inside the Heartbeat Info parameter, if the value
    /// is one well-formed parameter of type 1.
    pub fn sender_info(&self) -> Option<Bytes> {
        let b = &self.info;
        if b.len() < 4 || be16(b, 0) != 1 {
            return None;
        }
        let len = usize::from(be16(b, 2));
        (4..=b.len()).contains(&len).then(|| b.slice(4..len))
    }
}

/// ABORT chunk (type 6, RFC 9260 §3.3.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Abort {
    /// T bit: the sender used our own verification tag reflected, having no TCB.
    pub tag_reflected: bool,
    /// Error causes, possibly none.
    pub causes: Vec<ErrorCause>,
}

/// SHUTDOWN chunk (type 7, RFC 9260 §3.3.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shutdown {
    /// Cumulative TSN Ack.
    pub cumulative_tsn_ack: Tsn,
}

/// ERROR chunk (type 9, RFC 9260 §3.3.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorChunk {
    /// Error causes.
    pub causes: Vec<ErrorCause>,
}

/// COOKIE-ECHO chunk (type 10, RFC 9260 §3.3.11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieEcho {
    /// The State Cookie from the INIT-ACK, verbatim.
    pub cookie: Bytes,
}

/// SHUTDOWN-COMPLETE chunk (type 14, RFC 9260 §3.3.13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownComplete {
    /// T bit: the sender used our own verification tag reflected, having no TCB.
    pub tag_reflected: bool,
}

/// A stream entry of FORWARD-TSN (RFC 3758 §3.2): the largest skipped SSN per stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ForwardTsnStream {
    /// Stream Identifier.
    pub stream_id: Sid,
    /// Largest Stream Sequence Number skipped.
    pub ssn: Ssn,
}

/// FORWARD-TSN chunk (type 192, RFC 3758 §3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardTsn {
    /// New Cumulative TSN: the receiver treats every TSN up to here as received.
    pub new_cumulative_tsn: Tsn,
    /// Ordered streams whose skipped messages must be released.
    pub streams: Vec<ForwardTsnStream>,
}

/// A stream entry of I-FORWARD-TSN (RFC 8260 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IForwardTsnStream {
    /// Stream Identifier.
    pub stream_id: Sid,
    /// U bit: the MID belongs to the unordered message sequence.
    pub unordered: bool,
    /// Largest Message Identifier skipped.
    pub mid: Mid,
}

/// I-FORWARD-TSN chunk (type 194, RFC 8260 §2.3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IForwardTsn {
    /// New Cumulative TSN.
    pub new_cumulative_tsn: Tsn,
    /// Per-stream skipped messages.
    pub streams: Vec<IForwardTsnStream>,
}

/// RE-CONFIG chunk (type 130, RFC 6525 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReConfig {
    /// One or two re-configuration parameters (§3.1 lists the legal pairs).
    pub params: Vec<ReconfigParam>,
}

/// PAD chunk (type 132, RFC 4820 §3), used for path MTU probing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pad {
    /// Padding Data, ignored by receivers; kept so the chunk re-encodes as received.
    pub padding: Bytes,
}

/// A chunk of a type this codec does not model, kept raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownChunk {
    /// Chunk type; [`ChunkType::unknown_action`] tells what RFC 9260 §3.2 requires.
    pub typ: ChunkType,
    /// Chunk flags.
    pub flags: u8,
    /// Chunk value, without header and padding.
    pub value: Bytes,
}

/// One SCTP chunk.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    /// DATA.
    Data(Data),
    /// I-DATA (RFC 8260).
    IData(IData),
    /// INIT.
    Init(Init),
    /// INIT-ACK.
    InitAck(Init),
    /// SACK.
    Sack(Sack),
    /// HEARTBEAT.
    Heartbeat(Heartbeat),
    /// HEARTBEAT-ACK.
    HeartbeatAck(Heartbeat),
    /// ABORT.
    Abort(Abort),
    /// SHUTDOWN.
    Shutdown(Shutdown),
    /// SHUTDOWN-ACK (no value).
    ShutdownAck,
    /// ERROR.
    Error(ErrorChunk),
    /// COOKIE-ECHO.
    CookieEcho(CookieEcho),
    /// COOKIE-ACK (no value).
    CookieAck,
    /// SHUTDOWN-COMPLETE.
    ShutdownComplete(ShutdownComplete),
    /// FORWARD-TSN (RFC 3758).
    ForwardTsn(ForwardTsn),
    /// I-FORWARD-TSN (RFC 8260).
    IForwardTsn(IForwardTsn),
    /// RE-CONFIG (RFC 6525).
    ReConfig(ReConfig),
    /// PAD (RFC 4820).
    Pad(Pad),
    /// Any other type, kept raw.
    Unknown(UnknownChunk),
}

impl Chunk {
    /// The chunk type on the wire.
    pub fn chunk_type(&self) -> ChunkType {
        match self {
            Self::Data(_) => ChunkType::DATA,
            Self::IData(_) => ChunkType::I_DATA,
            Self::Init(_) => ChunkType::INIT,
            Self::InitAck(_) => ChunkType::INIT_ACK,
            Self::Sack(_) => ChunkType::SACK,
            Self::Heartbeat(_) => ChunkType::HEARTBEAT,
            Self::HeartbeatAck(_) => ChunkType::HEARTBEAT_ACK,
            Self::Abort(_) => ChunkType::ABORT,
            Self::Shutdown(_) => ChunkType::SHUTDOWN,
            Self::ShutdownAck => ChunkType::SHUTDOWN_ACK,
            Self::Error(_) => ChunkType::ERROR,
            Self::CookieEcho(_) => ChunkType::COOKIE_ECHO,
            Self::CookieAck => ChunkType::COOKIE_ACK,
            Self::ShutdownComplete(_) => ChunkType::SHUTDOWN_COMPLETE,
            Self::ForwardTsn(_) => ChunkType::FORWARD_TSN,
            Self::IForwardTsn(_) => ChunkType::I_FORWARD_TSN,
            Self::ReConfig(_) => ChunkType::RE_CONFIG,
            Self::Pad(_) => ChunkType::PAD,
            Self::Unknown(u) => u.typ,
        }
    }

    /// Parses the chunks of a packet (everything after the 12-byte common header).
    /// Every chunk's value is a slice of `chunks`, so DATA user data is not copied. The
    /// last chunk's padding may be missing, as some stacks send it.
    ///
    /// No checksum is involved, so this is also the entry point for fuzzing the chunk
    /// parsers.
    pub fn parse_all(chunks: Bytes) -> Result<Vec<Chunk>, SctpError> {
        let mut out = Vec::with_capacity(2);
        Self::parse_all_into(chunks, &mut out)?;
        Ok(out)
    }

    /// [`Chunk::parse_all`] appending to `out`, so a receiver can reuse one vector for
    /// every packet. On error `out` may hold the chunks before the bad one.
    pub fn parse_all_into(chunks: Bytes, out: &mut Vec<Chunk>) -> Result<(), SctpError> {
        let mut rest = chunks;
        while !rest.is_empty() {
            if rest.len() < 4 {
                // Padding is consumed with its chunk, so stray bytes are a length lie.
                return Err(SctpError::ChunkLength);
            }
            let (typ, flags, len) = (ChunkType(rest[0]), rest[1], usize::from(be16(&rest, 2)));
            if len < 4 || len > rest.len() {
                return Err(SctpError::ChunkLength);
            }
            // Splitting off the last chunk hands over the view itself: a packet of one
            // chunk (most are) costs no reference count.
            let mut value = rest.split_to((len + pad4(len)).min(rest.len()));
            value.truncate(len);
            value.advance(4);
            out.push(Self::parse_value(typ, flags, value)?);
        }
        Ok(())
    }

    /// Parses one chunk from its type, flags and value (header and padding removed).
    pub fn parse_value(typ: ChunkType, flags: u8, v: Bytes) -> Result<Chunk, SctpError> {
        let bad = |why| SctpError::InvalidChunk(typ, why);
        let at_least = |n: usize| {
            if v.len() >= n {
                Ok(())
            } else {
                Err(bad("too short"))
            }
        };
        let exact = |n: usize| {
            if v.len() == n {
                Ok(())
            } else {
                Err(bad("wrong length"))
            }
        };
        let bad_param = |t| SctpError::InvalidParameter(t, "length field invalid");
        let bad_cause = |c| SctpError::InvalidCause(c, "length field invalid");
        Ok(match typ {
            ChunkType::DATA => {
                at_least(12)?;
                Self::Data(Data {
                    unordered: flags & FLAG_U != 0,
                    beginning: flags & FLAG_B != 0,
                    ending: flags & FLAG_E != 0,
                    immediate: flags & FLAG_I != 0,
                    tsn: Tsn(be32(&v, 0)),
                    stream_id: Sid(be16(&v, 4)),
                    ssn: Ssn(be16(&v, 6)),
                    ppid: Ppid(be32(&v, 8)),
                    // Advancing the view, unlike slicing, costs no reference count.
                    user_data: {
                        let mut v = v;
                        v.advance(12);
                        v
                    },
                })
            }
            ChunkType::I_DATA => {
                at_least(16)?;
                // Bytes 6..8 are reserved (RFC 8260 §2.1).
                let word = be32(&v, 12);
                Self::IData(IData {
                    unordered: flags & FLAG_U != 0,
                    ending: flags & FLAG_E != 0,
                    immediate: flags & FLAG_I != 0,
                    tsn: Tsn(be32(&v, 0)),
                    stream_id: Sid(be16(&v, 4)),
                    mid: Mid(be32(&v, 8)),
                    ppid_or_fsn: if flags & FLAG_B != 0 {
                        PpidOrFsn::Ppid(Ppid(word))
                    } else {
                        PpidOrFsn::Fsn(Fsn(word))
                    },
                    user_data: {
                        let mut v = v;
                        v.advance(16);
                        v
                    },
                })
            }
            ChunkType::INIT | ChunkType::INIT_ACK => {
                at_least(16)?;
                let init = Init {
                    initiate_tag: be32(&v, 0),
                    a_rwnd: be32(&v, 4),
                    num_outbound_streams: be16(&v, 8),
                    num_inbound_streams: be16(&v, 10),
                    initial_tsn: Tsn(be32(&v, 12)),
                    params: parse_tlv_list(&v.slice(16..), bad_param, InitParam::parse)?,
                };
                if typ == ChunkType::INIT {
                    Self::Init(init)
                } else {
                    Self::InitAck(init)
                }
            }
            ChunkType::SACK => {
                at_least(12)?;
                let gaps = usize::from(be16(&v, 8));
                let dups = usize::from(be16(&v, 10));
                // The counts must describe exactly the bytes present (never allocate from
                // a count alone).
                if v.len() != 12 + 4 * (gaps + dups) {
                    return Err(bad("counts disagree with length"));
                }
                let blocks = &v[12..12 + 4 * gaps];
                Self::Sack(Sack {
                    cumulative_tsn_ack: Tsn(be32(&v, 0)),
                    a_rwnd: be32(&v, 4),
                    gap_ack_blocks: blocks
                        .chunks_exact(4)
                        .map(|b| GapAckBlock {
                            start: be16(b, 0),
                            end: be16(b, 2),
                        })
                        .collect(),
                    duplicate_tsns: v[12 + 4 * gaps..]
                        .chunks_exact(4)
                        .map(|t| Tsn(be32(t, 0)))
                        .collect(),
                })
            }
            ChunkType::HEARTBEAT | ChunkType::HEARTBEAT_ACK => {
                // A Heartbeat Info parameter header at least (RFC 9260 §3.3.5).
                at_least(4)?;
                let hb = Heartbeat { info: v };
                if typ == ChunkType::HEARTBEAT {
                    Self::Heartbeat(hb)
                } else {
                    Self::HeartbeatAck(hb)
                }
            }
            ChunkType::ABORT => Self::Abort(Abort {
                tag_reflected: flags & FLAG_T != 0,
                causes: parse_tlv_list(&v, bad_cause, ErrorCause::parse)?,
            }),
            ChunkType::SHUTDOWN => {
                exact(4)?;
                Self::Shutdown(Shutdown {
                    cumulative_tsn_ack: Tsn(be32(&v, 0)),
                })
            }
            ChunkType::SHUTDOWN_ACK => {
                exact(0)?;
                Self::ShutdownAck
            }
            ChunkType::ERROR => Self::Error(ErrorChunk {
                causes: parse_tlv_list(&v, bad_cause, ErrorCause::parse)?,
            }),
            ChunkType::COOKIE_ECHO => Self::CookieEcho(CookieEcho { cookie: v }),
            ChunkType::COOKIE_ACK => {
                exact(0)?;
                Self::CookieAck
            }
            ChunkType::SHUTDOWN_COMPLETE => {
                exact(0)?;
                Self::ShutdownComplete(ShutdownComplete {
                    tag_reflected: flags & FLAG_T != 0,
                })
            }
            ChunkType::FORWARD_TSN => {
                at_least(4)?;
                if !(v.len() - 4).is_multiple_of(4) {
                    return Err(bad("partial stream entry"));
                }
                Self::ForwardTsn(ForwardTsn {
                    new_cumulative_tsn: Tsn(be32(&v, 0)),
                    streams: v[4..]
                        .chunks_exact(4)
                        .map(|s| ForwardTsnStream {
                            stream_id: Sid(be16(s, 0)),
                            ssn: Ssn(be16(s, 2)),
                        })
                        .collect(),
                })
            }
            ChunkType::I_FORWARD_TSN => {
                at_least(4)?;
                if !(v.len() - 4).is_multiple_of(8) {
                    return Err(bad("partial stream entry"));
                }
                Self::IForwardTsn(IForwardTsn {
                    new_cumulative_tsn: Tsn(be32(&v, 0)),
                    streams: v[4..]
                        .chunks_exact(8)
                        .map(|s| IForwardTsnStream {
                            stream_id: Sid(be16(s, 0)),
                            // 15 reserved bits, then U (RFC 8260 §2.3.1).
                            unordered: be16(s, 2) & 1 != 0,
                            mid: Mid(be32(s, 4)),
                        })
                        .collect(),
                })
            }
            ChunkType::RE_CONFIG => Self::ReConfig(ReConfig {
                params: parse_tlv_list(&v, bad_param, ReconfigParam::parse)?,
            }),
            ChunkType::PAD => Self::Pad(Pad { padding: v }),
            _ => Self::Unknown(UnknownChunk {
                typ,
                flags,
                value: v,
            }),
        })
    }

    /// Flags byte on the wire; reserved bits are written as zero (RFC 9260 §3.2).
    fn flags(&self) -> u8 {
        let bit = |set: bool, flag: u8| if set { flag } else { 0 };
        match self {
            Self::Data(d) => {
                bit(d.immediate, FLAG_I)
                    | bit(d.unordered, FLAG_U)
                    | bit(d.beginning, FLAG_B)
                    | bit(d.ending, FLAG_E)
            }
            Self::IData(d) => {
                bit(d.immediate, FLAG_I)
                    | bit(d.unordered, FLAG_U)
                    | bit(d.beginning(), FLAG_B)
                    | bit(d.ending, FLAG_E)
            }
            Self::Abort(a) => bit(a.tag_reflected, FLAG_T),
            Self::ShutdownComplete(s) => bit(s.tag_reflected, FLAG_T),
            Self::Unknown(u) => u.flags,
            _ => 0,
        }
    }

    /// Length of the value (what the chunk length field counts beyond the 4-byte
    /// header), checking that every length and count fits its field.
    pub(super) fn value_len_checked(&self) -> Result<usize, SctpError> {
        let len = match self {
            Self::Data(d) => 12 + d.user_data.len(),
            Self::IData(d) => 16 + d.user_data.len(),
            Self::Init(i) | Self::InitAck(i) => 16 + tlv_list_len(&i.params, "INIT parameter")?,
            Self::Sack(s) => {
                u16_len(s.gap_ack_blocks.len(), "SACK gap ack block count")?;
                u16_len(s.duplicate_tsns.len(), "SACK duplicate TSN count")?;
                12 + 4 * (s.gap_ack_blocks.len() + s.duplicate_tsns.len())
            }
            Self::Heartbeat(h) | Self::HeartbeatAck(h) => h.info.len(),
            Self::Abort(Abort { causes, .. }) | Self::Error(ErrorChunk { causes }) => {
                tlv_list_len(causes, "error cause")?
            }
            Self::Shutdown(_) => 4,
            Self::ShutdownAck | Self::CookieAck | Self::ShutdownComplete(_) => 0,
            Self::CookieEcho(c) => c.cookie.len(),
            Self::ForwardTsn(f) => 4 + 4 * f.streams.len(),
            Self::IForwardTsn(f) => 4 + 8 * f.streams.len(),
            Self::ReConfig(r) => tlv_list_len(&r.params, "RE-CONFIG parameter")?,
            Self::Pad(p) => p.padding.len(),
            Self::Unknown(u) => u.value.len(),
        };
        u16_len(4 + len, "chunk")?;
        Ok(len)
    }

    /// Bytes this chunk takes in a packet, header and padding included. Fails when a
    /// value does not fit its 16-bit length or count field.
    pub fn encoded_len(&self) -> Result<usize, SctpError> {
        let len = 4 + self.value_len_checked()?;
        Ok(len + pad4(len))
    }

    /// Appends the chunk, padded to four bytes. Nothing is written on error.
    pub fn encode_into<B: BufMut>(&self, out: &mut B) -> Result<(), SctpError> {
        let value_len = self.value_len_checked()?;
        self.put(out, value_len);
        Ok(())
    }

    /// Writes header, value and padding; `value_len` comes from a successful
    /// [`value_len_checked`](Self::value_len_checked).
    pub(super) fn put<B: BufMut>(&self, out: &mut B, value_len: usize) {
        let len = 4 + value_len;
        out.put_u8(self.chunk_type().0);
        out.put_u8(self.flags());
        out.put_u16(len as u16);
        match self {
            Self::Data(d) => {
                out.put_u32(d.tsn.0);
                out.put_u16(d.stream_id.0);
                out.put_u16(d.ssn.0);
                out.put_u32(d.ppid.0);
                out.put_slice(&d.user_data);
            }
            Self::IData(d) => {
                out.put_u32(d.tsn.0);
                out.put_u16(d.stream_id.0);
                out.put_u16(0);
                out.put_u32(d.mid.0);
                out.put_u32(match d.ppid_or_fsn {
                    PpidOrFsn::Ppid(p) => p.0,
                    PpidOrFsn::Fsn(f) => f.0,
                });
                out.put_slice(&d.user_data);
            }
            Self::Init(i) | Self::InitAck(i) => {
                out.put_u32(i.initiate_tag);
                out.put_u32(i.a_rwnd);
                out.put_u16(i.num_outbound_streams);
                out.put_u16(i.num_inbound_streams);
                out.put_u32(i.initial_tsn.0);
                put_tlv_list(&i.params, out);
            }
            Self::Sack(s) => {
                out.put_u32(s.cumulative_tsn_ack.0);
                out.put_u32(s.a_rwnd);
                out.put_u16(s.gap_ack_blocks.len() as u16);
                out.put_u16(s.duplicate_tsns.len() as u16);
                for b in &s.gap_ack_blocks {
                    out.put_u16(b.start);
                    out.put_u16(b.end);
                }
                s.duplicate_tsns.iter().for_each(|t| out.put_u32(t.0));
            }
            Self::Heartbeat(h) | Self::HeartbeatAck(h) => out.put_slice(&h.info),
            Self::Abort(Abort { causes, .. }) | Self::Error(ErrorChunk { causes }) => {
                put_tlv_list(causes, out)
            }
            Self::Shutdown(s) => out.put_u32(s.cumulative_tsn_ack.0),
            Self::ShutdownAck | Self::CookieAck | Self::ShutdownComplete(_) => {}
            Self::CookieEcho(c) => out.put_slice(&c.cookie),
            Self::ForwardTsn(f) => {
                out.put_u32(f.new_cumulative_tsn.0);
                for s in &f.streams {
                    out.put_u16(s.stream_id.0);
                    out.put_u16(s.ssn.0);
                }
            }
            Self::IForwardTsn(f) => {
                out.put_u32(f.new_cumulative_tsn.0);
                for s in &f.streams {
                    out.put_u16(s.stream_id.0);
                    out.put_u16(u16::from(s.unordered));
                    out.put_u32(s.mid.0);
                }
            }
            Self::ReConfig(r) => put_tlv_list(&r.params, out),
            Self::Pad(p) => out.put_slice(&p.padding),
            Self::Unknown(u) => out.put_slice(&u.value),
        }
        out.put_bytes(0, pad4(len));
    }
}
