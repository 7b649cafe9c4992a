//! Data channels (RFC 8831) over one SCTP association: DCEP open/ack (RFC 8832),
//! negotiated channels, stream-id parity by DTLS role, string/binary/empty messages,
//! partial reliability, closing by stream reset, buffered amount and its low event.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use super::vecmap::VecMap;
use super::{ChannelType, DataChannelOpen, DcepError, DcepMessage, Ppid};
use crate::dtls::DtlsRole;
use crate::io::{Layer, Output};
use crate::sctp::{Association, CloseReason, SctpError, SctpEvent, SendOptions};

/// Errors from using data channels.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataChannelError {
    /// No such channel (never created here, or closed and forgotten).
    #[error("no such data channel: {0}")]
    UnknownChannel(ChannelId),
    /// The channel is closing or closed (W3C InvalidStateError).
    #[error("data channel {0} is closing or closed")]
    NotOpen(ChannelId),
    /// A negotiated channel's id, or the requested id, is taken.
    #[error("data channel id {0} is already in use")]
    IdInUse(u16),
    /// Every stream id of our parity is taken.
    #[error("no free data channel id")]
    NoFreeId,
    /// Both maxRetransmits and maxPacketLifeTime were given (W3C forbids it).
    #[error("maxRetransmits and maxPacketLifeTime are mutually exclusive")]
    BothReliabilityLimits,
    /// A negotiated channel needs an id.
    #[error("a negotiated data channel needs an id")]
    NegotiatedWithoutId,
    /// DCEP encoding failed (label or protocol too long).
    #[error("DCEP: {0}")]
    Dcep(#[from] DcepError),
    /// The channel's stream cannot be had: it lies beyond the streams the peer takes,
    /// and the peer refused to add streams (RFC 6525 §5.2.5), cannot (no RE-CONFIG), or
    /// it lies beyond our `SctpConfig::streams`. What was sent on it was not delivered.
    #[error("SCTP stream {0} is not available: the peer has too few streams")]
    StreamUnavailable(u16),
    /// The SCTP layer refused (closed, message too large …).
    #[error("SCTP: {0}")]
    Sctp(#[from] SctpError),
}

/// W3C `RTCDataChannelInit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataChannelInit {
    /// Deliver in order.
    pub ordered: bool,
    /// Partial reliability by retransmissions.
    pub max_retransmits: Option<u16>,
    /// Partial reliability by lifetime, in milliseconds.
    pub max_packet_life_time: Option<u16>,
    /// Subprotocol.
    pub protocol: String,
    /// Agreed out of band: no DCEP, both ends create it with the same `id`.
    pub negotiated: bool,
    /// Stream id; chosen by parity when `None` (not negotiated).
    pub id: Option<u16>,
    /// DCEP priority (RFC 8832 §5.1; 256 is "normal" in browsers).
    pub priority: u16,
}

impl Default for DataChannelInit {
    fn default() -> Self {
        DataChannelInit {
            ordered: true,
            max_retransmits: None,
            max_packet_life_time: None,
            protocol: String::new(),
            negotiated: false,
            id: None,
            priority: 256,
        }
    }
}

/// Limits on what a peer may make this layer hold, beyond the association's own.
///
/// Memory budget: one peer can make one association and its channels hold at most
///
/// ```text
///   2.5 × W + A + C × (700 + 2 × (L + P))   bytes of heap, roughly, where
///   W = the receive window (SctpConfig::receive_window, at least one maximal message
///       + 64 KiB): data held for reassembly or ordering, each held item charged at
///       least 64 bytes; the bookkeeping of tiny items brings the heap to about 2.5 W;
///   A = a fixed allowance: per inbound stream ordering state (about 40 bytes × the
///       inbound stream count), runs of received TSNs for gap reports (about 40
///       bytes × W / 128), pending stream resets (a few bytes per stream id);
///   C = max_incoming_channels, L = max_label_len, P = max_protocol_len: a channel's
///       state and its label and protocol, kept once with the channel and once in
///       the Incoming event until it is polled.
/// ```
///
/// With the defaults (4 MiB window, 65535 streams, 1024 channels, 1024-byte labels and
/// protocols) that is about 10 + 4 + 5 MiB. Measured (`tests/tests/hostile_heap.rs`):
/// 200 000 one-byte messages behind a missing SSN leave 10 MiB, as many fragments behind
/// a TSN gap 7 MiB, 1024 channels with short labels 0.7 MiB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataChannelConfig {
    /// Most channels the peer may have open at once through DATA_CHANNEL_OPEN
    /// (negotiated channels and ours do not count). Further opens are refused by
    /// resetting our side of the stream (RFC 8831 §6.7) and counted. Default 1024:
    /// Chromium negotiates 1024 streams each way (its `kMaxSctpStreams`), so no
    /// browser can open more; the bound keeps a peer from filling memory with
    /// channel state.
    pub max_incoming_channels: usize,
    /// Longest label, in bytes, a DATA_CHANNEL_OPEN may carry (RFC 8832 §5.1 allows
    /// 65535); longer ones are refused like an open beyond the cap. Default 1024:
    /// labels name channels, and a few hundred bytes cover every use seen.
    pub max_label_len: usize,
    /// Longest subprotocol, in bytes, likewise (default 1024).
    pub max_protocol_len: usize,
}

impl Default for DataChannelConfig {
    fn default() -> Self {
        DataChannelConfig {
            max_incoming_channels: 1024,
            max_label_len: 1024,
            max_protocol_len: 1024,
        }
    }
}

impl DataChannelConfig {
    /// The memory budget above, in bytes, for channels over an association configured
    /// by `sctp`: [`SctpConfig::memory_budget`](crate::sctp::SctpConfig::memory_budget) plus each channel the peer may open with
    /// its label and protocol.
    pub fn memory_budget(&self, sctp: &crate::sctp::SctpConfig) -> usize {
        sctp.memory_budget()
            + self.max_incoming_channels * (700 + 2 * (self.max_label_len + self.max_protocol_len))
    }
}

/// Counters of the data channel layer: what the peer opened and what was refused, per
/// reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DataChannelStats {
    /// Channels the peer opened with DATA_CHANNEL_OPEN.
    pub opened_by_peer: u64,
    /// Opens refused: the peer had [`DataChannelConfig::max_incoming_channels`] open.
    pub refused_too_many: u64,
    /// Opens refused: label or protocol longer than the config allows.
    pub refused_too_long: u64,
    /// Opens refused: a stream id of our parity, not the peer's (RFC 8832 §6).
    pub refused_wrong_parity: u64,
}

/// W3C `RTCDataChannelState`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataChannelState {
    /// Waiting for the association (and, before the DTLS role is known, a stream id).
    Connecting,
    /// Messages flow.
    Open,
    /// Stream reset under way.
    Closing,
    /// Both directions reset.
    Closed,
}

/// A data channel's handle, stable from [`DataChannels::create`] (or the peer's open) to
/// the end of the channel, before it has a stream id. Handles are never reused by the
/// same [`DataChannels`]; the W3C `id` (the SCTP stream id) is
/// [`DataChannelInfo::id`], which a channel created before the DTLS role is known only
/// gets then (RFC 8832 §6: the role picks its parity).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelId(u64);

impl std::fmt::Display for ChannelId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "channel #{}", self.0)
    }
}

/// A channel's parameters and state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataChannelInfo {
    /// The channel's handle.
    pub channel: ChannelId,
    /// W3C `id`: the SCTP stream id; `None` until the DTLS role is known.
    pub id: Option<u16>,
    /// Label.
    pub label: String,
    /// Subprotocol.
    pub protocol: String,
    /// Ordered delivery.
    pub ordered: bool,
    /// maxRetransmits.
    pub max_retransmits: Option<u16>,
    /// maxPacketLifeTime in milliseconds.
    pub max_packet_life_time: Option<u16>,
    /// Negotiated out of band.
    pub negotiated: bool,
    /// State.
    pub state: DataChannelState,
    /// bufferedAmountLowThreshold.
    pub buffered_amount_low_threshold: usize,
}

/// What happened on the channels.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataChannelEvent {
    /// The peer opened a channel (W3C `datachannel` event).
    Incoming(DataChannelInfo),
    /// A channel is open.
    Open(ChannelId),
    /// A message.
    Message {
        /// The channel.
        channel: ChannelId,
        /// Payload (empty for the "empty" PPIDs).
        data: Bytes,
        /// Whether it was sent as a string (W3C: `data` is a string).
        text: bool,
        /// Its Payload Protocol Identifier (RFC 8831 §8): string, binary, or their
        /// empty forms; `text` is read from it.
        ppid: Ppid,
        /// Whether it was delivered unordered (an unordered channel's messages, once
        /// the peer's DATA_CHANNEL_ACK came; RFC 8832 §6 sends the first ones ordered).
        unordered: bool,
    },
    /// `bufferedAmount` fell to or below the threshold.
    BufferedAmountLow(ChannelId),
    /// Closing started (by either side).
    Closing(ChannelId),
    /// The channel failed (W3C `error` event, followed by `Closed`).
    Error {
        /// The channel.
        channel: ChannelId,
        /// Why.
        error: DataChannelError,
    },
    /// The channel is closed. A channel closed before it had a stream id never reached
    /// the peer: what was sent on it was not delivered.
    Closed(ChannelId),
    /// The association is established (W3C `RTCSctpTransport` state `connected`):
    /// reported once, before the channels it opens report `Open`. Its negotiated
    /// parameters are on [`DataChannels::association`] (stream counts, stream reset,
    /// I-DATA).
    AssociationEstablished,
    /// The association ended; every channel is closed.
    AssociationClosed {
        /// Why.
        reason: CloseReason,
    },
}

#[derive(Debug)]
struct Channel {
    info: DataChannelInfo,
    /// Our outgoing side has been reset (or never will be used again).
    out_reset: bool,
    /// The peer's outgoing side has been reset.
    in_reset: bool,
    /// Above the low threshold the last time we looked.
    above_threshold: bool,
    /// Opened by the peer with DATA_CHANNEL_OPEN (counts against the cap).
    incoming: bool,
    /// Ours, opened in band, and the peer's DATA_CHANNEL_ACK has not come yet: what we
    /// send goes ordered, so the peer takes the OPEN first (RFC 8832 §6).
    awaiting_ack: bool,
    /// Until the channel has a stream id: its encoded DATA_CHANNEL_OPEN (none when
    /// negotiated, which always has an id) and the messages sent on it, in order.
    unassigned: Option<Box<Unassigned>>,
}

/// What a channel with no stream id yet holds for when it gets one.
#[derive(Debug, Default)]
struct Unassigned {
    open: Bytes,
    sends: VecDeque<(Ppid, Bytes)>,
    /// Bytes in `sends`: the channel's `bufferedAmount` until then.
    bytes: usize,
}

/// Data channels over one association. It owns the [`Association`] and offers the same
/// verbs, translating SCTP events into channel events.
#[derive(Debug)]
pub struct DataChannels {
    assoc: Association,
    /// Our DTLS role: picks the stream-id parity; `None` until known.
    role: Option<DtlsRole>,
    cfg: DataChannelConfig,
    stats: DataChannelStats,
    /// Channels in `channels` the peer opened.
    incoming_open: usize,
    channels: VecMap<ChannelId, Channel>,
    /// Stream id → channel, for channels that have one.
    streams: VecMap<u16, ChannelId>,
    next_channel: u64,
    events: VecDeque<DataChannelEvent>,
    established: bool,
    /// Packets arrived since buffered amounts were last checked.
    acks_pending: bool,
}

impl DataChannels {
    /// Channels over `assoc`; `role` is our DTLS role, which picks the stream-id parity
    /// (RFC 8832 §6: the DTLS client uses even ids, the server odd).
    pub fn new(assoc: Association, role: DtlsRole) -> Self {
        Self::with_config(assoc, Some(role), DataChannelConfig::default())
    }

    /// As [`DataChannels::new`], with limits on what the peer may open. With no role
    /// yet, channels can be created and sent on, and get their stream ids from
    /// [`DataChannels::set_role`].
    pub fn with_config(assoc: Association, role: Option<DtlsRole>, cfg: DataChannelConfig) -> Self {
        DataChannels {
            assoc,
            role,
            cfg,
            stats: DataChannelStats::default(),
            incoming_open: 0,
            channels: VecMap::default(),
            streams: VecMap::default(),
            next_channel: 0,
            events: VecDeque::new(),
            established: false,
            acks_pending: false,
        }
    }

    /// Our DTLS role is now known: channels created before get their stream ids, in the
    /// order they were created, and their DATA_CHANNEL_OPEN and the messages sent on
    /// them queue in that order. A channel for which no id is left closes
    /// ([`DataChannelEvent::Closed`]), as W3C closes one it cannot give an id. The
    /// role is fixed once known; a later call changes nothing.
    pub fn set_role(&mut self, role: DtlsRole) {
        if self.role.is_some() {
            return;
        }
        self.role = Some(role);
        let waiting: Vec<ChannelId> = self
            .channels
            .iter()
            .filter(|(_, c)| c.info.id.is_none())
            .map(|(&ch, _)| ch)
            .collect();
        for ch in waiting {
            self.assign(ch);
        }
    }

    /// Our DTLS role, once known.
    pub fn role(&self) -> Option<DtlsRole> {
        self.role
    }

    fn assign(&mut self, ch: ChannelId) {
        let id = self.free_id();
        let Some(c) = self.channels.get_mut(&ch) else {
            return;
        };
        let Ok(id) = id else {
            tracing::debug!(%ch, "no stream id left: closing the channel");
            c.info.state = DataChannelState::Closed;
            self.channels.remove(&ch);
            self.events.push_back(DataChannelEvent::Closed(ch));
            return;
        };
        c.info.id = Some(id);
        self.streams.insert(id, ch);
        let Some(u) = c.unassigned.take() else {
            return;
        };
        // The open first, then the messages, all ordered (RFC 8832 §6).
        let mut result =
            (self.assoc.send(id, Ppid::DCEP.0, u.open, false)).map_err(DataChannelError::from);
        for (ppid, data) in u.sends {
            if result.is_err() {
                break;
            }
            result = self.send_on(ch, id, ppid, data, false);
        }
        match result {
            Err(e) => {
                // The association refused (closed): the channel cannot open, and says so.
                tracing::debug!(%ch, error = %e, "channel could not be opened");
                self.close_now(ch);
            }
            Ok(()) if self.established => self.open(ch),
            Ok(()) => {}
        }
    }

    /// Counters: channels the peer opened, opens refused per reason.
    pub fn stats(&self) -> DataChannelStats {
        self.stats
    }

    /// The association underneath.
    pub fn association(&self) -> &Association {
        &self.assoc
    }

    /// The association, mutably (to connect, shut down …).
    pub fn association_mut(&mut self) -> &mut Association {
        &mut self.assoc
    }

    /// Channel parameters and state.
    pub fn channel(&self, ch: ChannelId) -> Option<&DataChannelInfo> {
        self.channels.get(&ch).map(|c| &c.info)
    }

    /// The channel on stream `id`, if any.
    pub fn channel_on_stream(&self, id: u16) -> Option<ChannelId> {
        self.streams.get(&id).copied()
    }

    /// Channels that are not closed, oldest first.
    pub fn channel_ids(&self) -> impl Iterator<Item = ChannelId> + '_ {
        self.channels
            .iter()
            .filter(|(_, c)| c.info.state != DataChannelState::Closed)
            .map(|(&ch, _)| ch)
    }

    /// W3C `createDataChannel`. The handle is the channel's from now on; its stream id
    /// is the negotiated or requested one, or, when not given, one of our parity, at
    /// once if the DTLS role is known, else when [`DataChannels::set_role`] tells it.
    pub fn create(
        &mut self,
        label: &str,
        init: DataChannelInit,
    ) -> Result<ChannelId, DataChannelError> {
        if init.max_retransmits.is_some() && init.max_packet_life_time.is_some() {
            return Err(DataChannelError::BothReliabilityLimits);
        }
        let id = match init.id {
            Some(id) => {
                if self.streams.contains_key(&id) {
                    return Err(DataChannelError::IdInUse(id));
                }
                Some(id)
            }
            None if init.negotiated => return Err(DataChannelError::NegotiatedWithoutId),
            None if self.role.is_some() => Some(self.free_id()?),
            None => None,
        };
        let ch = ChannelId(self.next_channel);
        let info = DataChannelInfo {
            channel: ch,
            id,
            label: label.to_string(),
            protocol: init.protocol.clone(),
            ordered: init.ordered,
            max_retransmits: init.max_retransmits,
            max_packet_life_time: init.max_packet_life_time,
            negotiated: init.negotiated,
            state: DataChannelState::Connecting,
            buffered_amount_low_threshold: 0,
        };
        let mut unassigned = None;
        if !init.negotiated {
            let open = DcepMessage::Open(DataChannelOpen {
                channel_type: channel_type(&info),
                priority: init.priority,
                reliability_parameter: u32::from(
                    init.max_retransmits
                        .or(init.max_packet_life_time)
                        .unwrap_or(0),
                ),
                label: info.label.clone(),
                protocol: info.protocol.clone(),
            });
            // Encoded now, so a label too long is refused now.
            let mut buf = Vec::with_capacity(open.encoded_len());
            open.encode_into(&mut buf)?;
            match id {
                // DCEP messages are sent reliably and in order (RFC 8832 §6).
                Some(id) => self.assoc.send(id, Ppid::DCEP.0, Bytes::from(buf), false)?,
                None => {
                    unassigned = Some(Box::new(Unassigned {
                        open: Bytes::from(buf),
                        ..Unassigned::default()
                    }))
                }
            }
        }
        self.next_channel += 1;
        if let Some(id) = id {
            self.streams.insert(id, ch);
        }
        self.channels.insert(
            ch,
            Channel {
                info,
                out_reset: false,
                in_reset: false,
                above_threshold: false,
                incoming: false,
                awaiting_ack: !init.negotiated,
                unassigned,
            },
        );
        // Open as soon as the association is: an in-band channel's OPEN is queued ahead
        // of anything sent on it, so it need not wait for the ACK (RFC 8832 §6; as
        // browsers do), which saves the opener a round trip.
        if id.is_some() && self.established {
            self.open(ch);
        }
        Ok(ch)
    }

    /// Parity of the stream ids we open (RFC 8832 §6: the DTLS client's are even, the
    /// server's odd); the peer's are the other. `None` while the role is unknown.
    fn our_parity(&self) -> Option<u16> {
        self.role.map(|r| match r {
            DtlsRole::Client => 0,
            _ => 1,
        })
    }

    fn free_id(&self) -> Result<u16, DataChannelError> {
        let first = self.our_parity().ok_or(DataChannelError::NoFreeId)?;
        // A stream still being reset (a channel just closed, or a peer's open refused
        // on it) cannot carry a new channel until the reset is done.
        (first..u16::MAX)
            .step_by(2)
            .find(|id| !self.streams.contains_key(id) && !self.assoc.is_stream_closing(*id))
            .ok_or(DataChannelError::NoFreeId)
    }

    fn open(&mut self, ch: ChannelId) {
        if let Some(c) = self.channels.get_mut(&ch)
            && c.info.state == DataChannelState::Connecting
        {
            // A stream past what the peer takes opens once the peer added it (RFC 6525
            // §5.1.5; `OutgoingStreamsAdded`), or the channel fails.
            if self.established
                && c.info
                    .id
                    .is_some_and(|id| id >= self.assoc.outbound_streams())
            {
                return;
            }
            c.info.state = DataChannelState::Open;
            self.events.push_back(DataChannelEvent::Open(ch));
        }
    }

    /// Send a string message. On a channel still connecting it waits for the channel
    /// to open and goes first (ordered, whatever the channel's setting).
    pub fn send_text(&mut self, ch: ChannelId, text: &str) -> Result<(), DataChannelError> {
        let ppid = if text.is_empty() {
            Ppid::STRING_EMPTY
        } else {
            Ppid::STRING
        };
        self.send_raw(ch, ppid, Bytes::copy_from_slice(text.as_bytes()))
    }

    /// Send a binary message.
    pub fn send_binary(&mut self, ch: ChannelId, data: Bytes) -> Result<(), DataChannelError> {
        let ppid = if data.is_empty() {
            Ppid::BINARY_EMPTY
        } else {
            Ppid::BINARY
        };
        self.send_raw(ch, ppid, data)
    }

    fn send_raw(&mut self, ch: ChannelId, ppid: Ppid, data: Bytes) -> Result<(), DataChannelError> {
        let c = self
            .channels
            .get_mut(&ch)
            .ok_or(DataChannelError::UnknownChannel(ch))?;
        // Before it opens (the association still to come) a message queues behind the
        // DATA_CHANNEL_OPEN. RFC 8832 §6 lets the opener send before the peer's ACK if it
        // sends ordered, so the peer takes the OPEN first.
        let unordered = match c.info.state {
            DataChannelState::Open => !c.info.ordered && !c.awaiting_ack,
            DataChannelState::Connecting => false,
            DataChannelState::Closing | DataChannelState::Closed => {
                return Err(DataChannelError::NotOpen(ch));
            }
        };
        // An empty message travels as one zero byte (RFC 8831 §6.6).
        let data = if data.is_empty() {
            Bytes::from_static(&[0])
        } else {
            data
        };
        let Some(id) = c.info.id else {
            // No stream yet: kept with the channel until the DTLS role gives it one.
            let u = c.unassigned.get_or_insert_with(Box::default);
            u.bytes += data.len();
            u.sends.push_back((ppid, data));
            c.above_threshold = true;
            return Ok(());
        };
        self.send_on(ch, id, ppid, data, unordered)
    }

    /// Hands one message of channel `ch` to the association on stream `id`.
    fn send_on(
        &mut self,
        ch: ChannelId,
        id: u16,
        ppid: Ppid,
        data: Bytes,
        unordered: bool,
    ) -> Result<(), DataChannelError> {
        let Some(c) = self.channels.get_mut(&ch) else {
            return Err(DataChannelError::UnknownChannel(ch));
        };
        let opts = SendOptions {
            unordered,
            max_retransmits: c.info.max_retransmits,
            max_lifetime: c
                .info
                .max_packet_life_time
                .map(|ms| Duration::from_millis(u64::from(ms))),
        };
        self.assoc.send_with(id, ppid.0, data, opts)?;
        c.above_threshold = true;
        Ok(())
    }

    /// W3C `bufferedAmount`.
    pub fn buffered_amount(&self, ch: ChannelId) -> usize {
        match self.channels.get(&ch) {
            Some(Channel {
                info: DataChannelInfo { id: Some(id), .. },
                ..
            }) => self.assoc.buffered_amount_on(*id),
            Some(c) => c.unassigned.as_ref().map_or(0, |u| u.bytes),
            None => 0,
        }
    }

    /// W3C `bufferedAmountLowThreshold`.
    pub fn set_buffered_amount_low_threshold(&mut self, ch: ChannelId, threshold: usize) {
        if let Some(c) = self.channels.get_mut(&ch) {
            c.info.buffered_amount_low_threshold = threshold;
        }
    }

    /// W3C `close`: reset our outgoing stream; closed once the peer resets its side. A
    /// channel with no stream id yet never reached the peer: it closes at once, and
    /// what was sent on it is not delivered ([`DataChannelEvent::Closed`] says so).
    pub fn close(&mut self, ch: ChannelId) -> Result<(), DataChannelError> {
        let c = self
            .channels
            .get_mut(&ch)
            .ok_or(DataChannelError::UnknownChannel(ch))?;
        if matches!(
            c.info.state,
            DataChannelState::Closing | DataChannelState::Closed
        ) {
            return Ok(());
        }
        c.info.state = DataChannelState::Closing;
        self.events.push_back(DataChannelEvent::Closing(ch));
        match c.info.id {
            Some(id) => self.assoc.reset_streams(&[id])?,
            None => self.close_now(ch),
        }
        Ok(())
    }

    /// Closes and forgets a channel that has no stream to reset (or whose stream the
    /// association can no longer carry).
    fn close_now(&mut self, ch: ChannelId) {
        let Some(c) = self.channels.remove(&ch) else {
            return;
        };
        if let Some(id) = c.info.id {
            self.streams.remove(&id);
        }
        if c.incoming {
            self.incoming_open -= 1;
        }
        if c.info.state != DataChannelState::Closed {
            self.events.push_back(DataChannelEvent::Closed(ch));
        }
    }

    /// Feed a decrypted SCTP packet.
    pub fn handle_packet(&mut self, now: Instant, packet: Bytes) {
        self.assoc.handle_packet(now, packet);
        // Only an acknowledgement can lower a buffered amount.
        self.acks_pending = true;
    }

    /// Advance time.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.assoc.handle_timeout(now);
    }

    /// Next output: SCTP packets to send, channel events, the next deadline.
    pub fn poll_output(&mut self) -> Output<DataChannelEvent, Bytes> {
        loop {
            if let Some(e) = self.events.pop_front() {
                return Output::Event(e);
            }
            match self.assoc.poll_output() {
                Output::Transmit(p) => {
                    self.check_buffered_low();
                    return Output::Transmit(p);
                }
                Output::Event(e) => self.on_sctp_event(e),
                Output::Timeout(at) => {
                    self.check_buffered_low();
                    if let Some(e) = self.events.pop_front() {
                        return Output::Event(e);
                    }
                    return Output::Timeout(at);
                }
            }
        }
    }

    /// The next channel event, without building packets: the companion of
    /// [`DataChannels::poll_transmit`] for a caller that sends a batch at a time and
    /// leaves the rest for its next turn ([`DataChannels::poll_output`] would build
    /// every packet there is into owned buffers first). Deadlines come from
    /// [`crate::sctp::Association::poll_timeout`].
    pub fn poll_event(&mut self) -> Option<DataChannelEvent> {
        loop {
            if let Some(e) = self.events.pop_front() {
                return Some(e);
            }
            match self.assoc.poll_event() {
                Some(e) => self.on_sctp_event(e),
                None => {
                    self.check_buffered_low();
                    return self.events.pop_front();
                }
            }
        }
    }

    /// Hand back the room of `n` bytes of delivered messages in the receive window, when
    /// the association runs with `SctpConfig::deferred_release` (see
    /// [`crate::sctp::Association::release_received`]). `n` is the length of the `data`
    /// of the messages the application has finished with.
    pub fn release_received(&mut self, n: usize) {
        self.assoc.release_received(n);
    }

    /// Append the next SCTP packet to `buf` (true), or return false when there is none
    /// now: [`crate::sctp::Association::poll_transmit`] through this layer, for sealing
    /// in place with `Dtls::send_with`. Events and deadlines still come from
    /// [`DataChannels::poll_output`].
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> bool {
        self.assoc.poll_transmit(buf)
    }

    fn check_buffered_low(&mut self) {
        if !std::mem::take(&mut self.acks_pending) {
            return;
        }
        // Runs after every acknowledgement: walk the channels in place rather than
        // gather ids into a fresh vector each time. Only an acknowledgement lowers an
        // amount, so channels with no stream yet are left as they are.
        for (&ch, c) in self.channels.iter_mut().filter(|(_, c)| c.above_threshold) {
            let Some(id) = c.info.id else { continue };
            if self.assoc.buffered_amount_on(id) <= c.info.buffered_amount_low_threshold {
                c.above_threshold = false;
                self.events
                    .push_back(DataChannelEvent::BufferedAmountLow(ch));
            }
        }
    }

    fn on_sctp_event(&mut self, e: SctpEvent) {
        match e {
            SctpEvent::Connected => {
                self.established = true;
                self.events
                    .push_back(DataChannelEvent::AssociationEstablished);
                // Every channel with a stream opens: negotiated ones have nothing to
                // wait for, and ours opened in band have their OPEN queued first.
                let ready: Vec<ChannelId> = self
                    .channels
                    .iter()
                    .filter(|(_, c)| c.info.id.is_some())
                    .map(|(&ch, _)| ch)
                    .collect();
                for ch in ready {
                    self.open(ch);
                }
            }
            SctpEvent::Message {
                stream_id,
                ppid,
                data,
                unordered,
            } => self.on_message(stream_id, Ppid(ppid), data, unordered),
            SctpEvent::StreamsReset { streams, incoming } => {
                for id in streams {
                    self.on_reset(id, incoming);
                }
            }
            SctpEvent::OutgoingStreamsAdded { outbound } => {
                let ready: Vec<ChannelId> = self
                    .channels
                    .iter()
                    .filter(|(_, c)| {
                        c.info.state == DataChannelState::Connecting
                            && c.info.id.is_some_and(|id| id < outbound)
                    })
                    .map(|(&ch, _)| ch)
                    .collect();
                for ch in ready {
                    self.open(ch);
                }
            }
            SctpEvent::StreamsRefused { streams } => {
                for id in streams {
                    let Some(&ch) = self.streams.get(&id) else {
                        continue;
                    };
                    self.events.push_back(DataChannelEvent::Error {
                        channel: ch,
                        error: DataChannelError::StreamUnavailable(id),
                    });
                    self.close_now(ch);
                }
            }
            SctpEvent::Closed { reason } => {
                for (&ch, c) in self.channels.iter_mut() {
                    if c.info.state != DataChannelState::Closed {
                        c.info.state = DataChannelState::Closed;
                        self.events.push_back(DataChannelEvent::Closed(ch));
                    }
                }
                self.events
                    .push_back(DataChannelEvent::AssociationClosed { reason });
            }
        }
    }

    fn on_message(&mut self, id: u16, ppid: Ppid, data: Bytes, unordered: bool) {
        let ch = self.streams.get(&id).copied();
        // With deferred release the application hands back what it was given; the rest
        // of what SCTP carried (DCEP, the byte of an "empty" message, messages for no
        // channel) goes back here.
        let handed_to_app = if ppid == Ppid::DCEP || ppid.is_empty_message() || ch.is_none() {
            0
        } else {
            data.len()
        };
        self.assoc.release_received(data.len() - handed_to_app);
        if ppid == Ppid::DCEP {
            match (DcepMessage::parse(&data), ch) {
                (Ok(DcepMessage::Open(open)), _) => self.on_open(id, open),
                (Ok(DcepMessage::Ack), Some(ch)) => {
                    if let Some(c) = self.channels.get_mut(&ch) {
                        c.awaiting_ack = false;
                    }
                    self.open(ch);
                }
                (Ok(DcepMessage::Ack), None) => {
                    tracing::debug!(id, "ACK on a stream with no channel")
                }
                (Err(e), _) => tracing::debug!(error = %e, id, "dropping malformed DCEP message"),
            }
            return;
        }
        let Some((ch, c)) = ch.and_then(|ch| Some((ch, self.channels.get_mut(&ch)?))) else {
            tracing::debug!(id, "message on a stream with no channel");
            return;
        };
        // Data may overtake nothing (DCEP is ordered on the same stream), but a peer may
        // send right after OPEN: that implies the channel is open (RFC 8832 §6).
        if c.info.state == DataChannelState::Connecting {
            self.open(ch);
        }
        let text = ppid.is_string();
        let data = if ppid.is_empty_message() {
            Bytes::new()
        } else {
            data
        };
        self.events.push_back(DataChannelEvent::Message {
            channel: ch,
            data,
            text,
            ppid,
            unordered,
        });
    }

    fn on_open(&mut self, id: u16, open: DataChannelOpen) {
        if self.streams.contains_key(&id) {
            tracing::debug!(id, "DATA_CHANNEL_OPEN for a stream in use");
            return;
        }
        // With the role unknown the parity cannot be checked; DTLS delivers nothing
        // before the role is set, so only a caller driving this layer alone gets here.
        let refusal = if self.our_parity().is_none_or(|p| id % 2 == p) {
            Some(&mut self.stats.refused_wrong_parity)
        } else if open.label.len() > self.cfg.max_label_len
            || open.protocol.len() > self.cfg.max_protocol_len
        {
            Some(&mut self.stats.refused_too_long)
        } else if self.incoming_open >= self.cfg.max_incoming_channels {
            Some(&mut self.stats.refused_too_many)
        } else {
            None
        };
        if let Some(counter) = refusal {
            *counter += 1;
            tracing::debug!(id, "DATA_CHANNEL_OPEN refused");
            // DCEP has no negative answer: resetting our side of the stream closes the
            // channel as a close would (RFC 8831 §6.7), and the peer resets its side.
            let _ = self.assoc.reset_streams(&[id]);
            return;
        }
        let ch = ChannelId(self.next_channel);
        self.next_channel += 1;
        let ordered = open.channel_type.is_ordered();
        let info = DataChannelInfo {
            channel: ch,
            id: Some(id),
            label: open.label.clone(),
            protocol: open.protocol.clone(),
            ordered,
            max_retransmits: open
                .max_retransmits()
                .map(|v| v.min(u32::from(u16::MAX)) as u16),
            max_packet_life_time: open
                .max_packet_life_time()
                .map(|v| v.min(u32::from(u16::MAX)) as u16),
            negotiated: false,
            state: DataChannelState::Open,
            buffered_amount_low_threshold: 0,
        };
        let mut buf = BytesMut::new();
        if DcepMessage::Ack.encode_into(&mut buf).is_ok() {
            let _ = self.assoc.send(id, Ppid::DCEP.0, buf.freeze(), false);
        }
        self.streams.insert(id, ch);
        self.channels.insert(
            ch,
            Channel {
                info: info.clone(),
                out_reset: false,
                in_reset: false,
                above_threshold: false,
                incoming: true,
                awaiting_ack: false,
                unassigned: None,
            },
        );
        self.incoming_open += 1;
        self.stats.opened_by_peer += 1;
        self.events.push_back(DataChannelEvent::Incoming(info));
        self.events.push_back(DataChannelEvent::Open(ch));
    }

    fn on_reset(&mut self, id: u16, incoming: bool) {
        let Some(&ch) = self.streams.get(&id) else {
            return;
        };
        let Some(c) = self.channels.get_mut(&ch) else {
            return;
        };
        if incoming {
            c.in_reset = true;
            if !matches!(
                c.info.state,
                DataChannelState::Closing | DataChannelState::Closed
            ) {
                // The peer closed: close our side too (RFC 8831 §6.7).
                c.info.state = DataChannelState::Closing;
                self.events.push_back(DataChannelEvent::Closing(ch));
                if self.assoc.reset_streams(&[id]).is_err() {
                    c.out_reset = true;
                }
            }
        } else {
            c.out_reset = true;
        }
        if c.in_reset && c.out_reset && c.info.state != DataChannelState::Closed {
            c.info.state = DataChannelState::Closed;
            self.events.push_back(DataChannelEvent::Closed(ch));
            // The id is free again once both sides are reset.
            self.streams.remove(&id);
            if self.channels.remove(&ch).is_some_and(|c| c.incoming) {
                self.incoming_open -= 1;
            }
        }
    }
}

fn channel_type(info: &DataChannelInfo) -> ChannelType {
    match (
        info.ordered,
        info.max_retransmits.is_some(),
        info.max_packet_life_time.is_some(),
    ) {
        (true, true, _) => ChannelType::PartialReliableRexmit,
        (false, true, _) => ChannelType::PartialReliableRexmitUnordered,
        (true, false, true) => ChannelType::PartialReliableTimed,
        (false, false, true) => ChannelType::PartialReliableTimedUnordered,
        (true, false, false) => ChannelType::Reliable,
        (false, false, false) => ChannelType::ReliableUnordered,
    }
}

impl Layer for DataChannels {
    type Event = DataChannelEvent;

    fn handle_packet(&mut self, now: Instant, packet: Bytes) {
        DataChannels::handle_packet(self, now, packet);
    }

    fn handle_timeout(&mut self, now: Instant) {
        DataChannels::handle_timeout(self, now);
    }

    fn poll_output(&mut self) -> Output<DataChannelEvent, Bytes> {
        DataChannels::poll_output(self)
    }
}
