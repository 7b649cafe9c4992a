//! Data channels (RFC 8831) over one SCTP association: DCEP open/ack (RFC 8832),
//! negotiated channels, stream-id parity by DTLS role, string/binary/empty messages,
//! partial reliability, closing by stream reset, buffered amount and its low event.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use super::{ChannelType, DataChannelOpen, DcepError, DcepMessage, Ppid};
use crate::dtls::DtlsRole;
use crate::io::{Layer, Output};
use crate::sctp::{Association, CloseReason, SctpError, SctpEvent, SendOptions};

/// Errors from using data channels.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataChannelError {
    /// No channel has this id.
    #[error("no data channel with id {0}")]
    UnknownChannel(u16),
    /// The channel is closing or closed (W3C InvalidStateError).
    #[error("data channel {0} is closing or closed")]
    NotOpen(u16),
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
    /// Opened locally, waiting for DATA_CHANNEL_ACK (or the association).
    Connecting,
    /// Messages flow.
    Open,
    /// Stream reset under way.
    Closing,
    /// Both directions reset.
    Closed,
}

/// A channel's parameters and state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataChannelInfo {
    /// Stream id.
    pub id: u16,
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
    Open(u16),
    /// A message.
    Message {
        /// Channel id.
        id: u16,
        /// Payload (empty for the "empty" PPIDs).
        data: Bytes,
        /// Whether it was sent as a string (W3C: `data` is a string).
        text: bool,
    },
    /// `bufferedAmount` fell to or below the threshold.
    BufferedAmountLow(u16),
    /// Closing started (by either side).
    Closing(u16),
    /// The channel is closed.
    Closed(u16),
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
}

/// Data channels over one association. It owns the [`Association`] and offers the same
/// verbs, translating SCTP events into channel events.
#[derive(Debug)]
pub struct DataChannels {
    assoc: Association,
    role: DtlsRole,
    cfg: DataChannelConfig,
    stats: DataChannelStats,
    /// Channels in `channels` the peer opened.
    incoming_open: usize,
    channels: BTreeMap<u16, Channel>,
    events: VecDeque<DataChannelEvent>,
    established: bool,
    /// Packets arrived since buffered amounts were last checked.
    acks_pending: bool,
}

impl DataChannels {
    /// Channels over `assoc`; `role` is our DTLS role, which picks the stream-id parity
    /// (RFC 8832 §6: the DTLS client uses even ids, the server odd).
    pub fn new(assoc: Association, role: DtlsRole) -> Self {
        Self::with_config(assoc, role, DataChannelConfig::default())
    }

    /// As [`DataChannels::new`], with limits on what the peer may open.
    pub fn with_config(assoc: Association, role: DtlsRole, cfg: DataChannelConfig) -> Self {
        DataChannels {
            assoc,
            role,
            cfg,
            stats: DataChannelStats::default(),
            incoming_open: 0,
            channels: BTreeMap::new(),
            events: VecDeque::new(),
            established: false,
            acks_pending: false,
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
    pub fn channel(&self, id: u16) -> Option<&DataChannelInfo> {
        self.channels.get(&id).map(|c| &c.info)
    }

    /// Ids of channels that are not closed.
    pub fn channel_ids(&self) -> impl Iterator<Item = u16> + '_ {
        self.channels
            .iter()
            .filter(|(_, c)| c.info.state != DataChannelState::Closed)
            .map(|(&id, _)| id)
    }

    /// W3C `createDataChannel`.
    pub fn create(&mut self, label: &str, init: DataChannelInit) -> Result<u16, DataChannelError> {
        if init.max_retransmits.is_some() && init.max_packet_life_time.is_some() {
            return Err(DataChannelError::BothReliabilityLimits);
        }
        let id = match init.id {
            Some(id) => {
                if self.channels.contains_key(&id) {
                    return Err(DataChannelError::IdInUse(id));
                }
                id
            }
            None if init.negotiated => return Err(DataChannelError::NegotiatedWithoutId),
            None => self.free_id()?,
        };
        let info = DataChannelInfo {
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
            let mut buf = Vec::with_capacity(open.encoded_len());
            open.encode_into(&mut buf)?;
            // DCEP messages are sent reliably and in order (RFC 8832 §6).
            self.assoc.send(id, Ppid::DCEP.0, Bytes::from(buf), false)?;
        }
        self.channels.insert(
            id,
            Channel {
                info,
                out_reset: false,
                in_reset: false,
                above_threshold: false,
                incoming: false,
            },
        );
        if init.negotiated && self.established {
            self.open(id);
        }
        Ok(id)
    }

    /// Parity of the stream ids we open (RFC 8832 §6: the DTLS client's are even, the
    /// server's odd); the peer's are the other.
    fn our_parity(&self) -> u16 {
        match self.role {
            DtlsRole::Client => 0,
            _ => 1,
        }
    }

    fn free_id(&self) -> Result<u16, DataChannelError> {
        let first = self.our_parity();
        // A stream still being reset (a channel just closed, or a peer's open refused
        // on it) cannot carry a new channel until the reset is done.
        (first..u16::MAX)
            .step_by(2)
            .find(|id| !self.channels.contains_key(id) && !self.assoc.is_stream_closing(*id))
            .ok_or(DataChannelError::NoFreeId)
    }

    fn open(&mut self, id: u16) {
        if let Some(c) = self.channels.get_mut(&id)
            && c.info.state == DataChannelState::Connecting
        {
            c.info.state = DataChannelState::Open;
            self.events.push_back(DataChannelEvent::Open(id));
        }
    }

    /// Send a string message. On a channel still connecting it waits for the channel
    /// to open and goes first (ordered, whatever the channel's setting).
    pub fn send_text(&mut self, id: u16, text: &str) -> Result<(), DataChannelError> {
        let ppid = if text.is_empty() {
            Ppid::STRING_EMPTY
        } else {
            Ppid::STRING
        };
        self.send_raw(id, ppid, Bytes::copy_from_slice(text.as_bytes()))
    }

    /// Send a binary message.
    pub fn send_binary(&mut self, id: u16, data: Bytes) -> Result<(), DataChannelError> {
        let ppid = if data.is_empty() {
            Ppid::BINARY_EMPTY
        } else {
            Ppid::BINARY
        };
        self.send_raw(id, ppid, data)
    }

    fn send_raw(&mut self, id: u16, ppid: Ppid, data: Bytes) -> Result<(), DataChannelError> {
        let c = self
            .channels
            .get(&id)
            .ok_or(DataChannelError::UnknownChannel(id))?;
        // Before it opens (the peer's DATA_CHANNEL_ACK, or the association, still to
        // come) a message queues behind the DATA_CHANNEL_OPEN. RFC 8832 §6 lets the opener
        // send before the ACK if it sends ordered, so the peer takes the OPEN first.
        let unordered = match c.info.state {
            DataChannelState::Open => !c.info.ordered,
            DataChannelState::Connecting => false,
            DataChannelState::Closing | DataChannelState::Closed => {
                return Err(DataChannelError::NotOpen(id));
            }
        };
        let opts = SendOptions {
            unordered,
            max_retransmits: c.info.max_retransmits,
            max_lifetime: c
                .info
                .max_packet_life_time
                .map(|ms| Duration::from_millis(u64::from(ms))),
        };
        // An empty message travels as one zero byte (RFC 8831 §6.6).
        let data = if data.is_empty() {
            Bytes::from_static(&[0])
        } else {
            data
        };
        self.assoc.send_with(id, ppid.0, data, opts)?;
        let c = self.channels.get_mut(&id).expect("checked above");
        c.above_threshold = true;
        Ok(())
    }

    /// W3C `bufferedAmount`.
    pub fn buffered_amount(&self, id: u16) -> usize {
        self.assoc.buffered_amount_on(id)
    }

    /// W3C `bufferedAmountLowThreshold`.
    pub fn set_buffered_amount_low_threshold(&mut self, id: u16, threshold: usize) {
        if let Some(c) = self.channels.get_mut(&id) {
            c.info.buffered_amount_low_threshold = threshold;
        }
    }

    /// W3C `close`: reset our outgoing stream; closed once the peer resets its side.
    pub fn close(&mut self, id: u16) -> Result<(), DataChannelError> {
        let c = self
            .channels
            .get_mut(&id)
            .ok_or(DataChannelError::UnknownChannel(id))?;
        if matches!(
            c.info.state,
            DataChannelState::Closing | DataChannelState::Closed
        ) {
            return Ok(());
        }
        c.info.state = DataChannelState::Closing;
        self.events.push_back(DataChannelEvent::Closing(id));
        self.assoc.reset_streams(&[id])?;
        Ok(())
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
        // gather ids into a fresh vector each time.
        for (&id, c) in self.channels.iter_mut().filter(|(_, c)| c.above_threshold) {
            if self.assoc.buffered_amount_on(id) <= c.info.buffered_amount_low_threshold {
                c.above_threshold = false;
                self.events
                    .push_back(DataChannelEvent::BufferedAmountLow(id));
            }
        }
    }

    fn on_sctp_event(&mut self, e: SctpEvent) {
        match e {
            SctpEvent::Connected => {
                self.established = true;
                let negotiated: Vec<u16> = self
                    .channels
                    .iter()
                    .filter(|(_, c)| c.info.negotiated)
                    .map(|(&id, _)| id)
                    .collect();
                for id in negotiated {
                    self.open(id);
                }
            }
            SctpEvent::Message {
                stream_id,
                ppid,
                data,
                ..
            } => self.on_message(stream_id, Ppid(ppid), data),
            SctpEvent::StreamsReset { streams, incoming } => {
                for id in streams {
                    self.on_reset(id, incoming);
                }
            }
            SctpEvent::Closed { reason } => {
                for (&id, c) in self.channels.iter_mut() {
                    if c.info.state != DataChannelState::Closed {
                        c.info.state = DataChannelState::Closed;
                        self.events.push_back(DataChannelEvent::Closed(id));
                    }
                }
                self.events
                    .push_back(DataChannelEvent::AssociationClosed { reason });
            }
        }
    }

    fn on_message(&mut self, id: u16, ppid: Ppid, data: Bytes) {
        // With deferred release the application hands back what it was given; the rest
        // of what SCTP carried (DCEP, the byte of an "empty" message, messages for no
        // channel) goes back here.
        let handed_to_app = if ppid == Ppid::DCEP || ppid.is_empty_message() {
            0
        } else if self.channels.contains_key(&id) {
            data.len()
        } else {
            0
        };
        self.assoc.release_received(data.len() - handed_to_app);
        if ppid == Ppid::DCEP {
            match DcepMessage::parse(&data) {
                Ok(DcepMessage::Open(open)) => self.on_open(id, open),
                Ok(DcepMessage::Ack) => self.open(id),
                Err(e) => tracing::debug!(error = %e, id, "dropping malformed DCEP message"),
            }
            return;
        }
        let Some(c) = self.channels.get_mut(&id) else {
            tracing::debug!(id, "message on a stream with no channel");
            return;
        };
        // Data may overtake nothing (DCEP is ordered on the same stream), but a peer may
        // send right after OPEN: that implies the channel is open (RFC 8832 §6).
        if c.info.state == DataChannelState::Connecting {
            self.open(id);
        }
        let text = ppid.is_string();
        let data = if ppid.is_empty_message() {
            Bytes::new()
        } else {
            data
        };
        self.events
            .push_back(DataChannelEvent::Message { id, data, text });
    }

    fn on_open(&mut self, id: u16, open: DataChannelOpen) {
        if self.channels.contains_key(&id) {
            tracing::debug!(id, "DATA_CHANNEL_OPEN for a stream in use");
            return;
        }
        let refusal = if id % 2 == self.our_parity() {
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
        let ordered = open.channel_type.is_ordered();
        let info = DataChannelInfo {
            id,
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
        self.channels.insert(
            id,
            Channel {
                info: info.clone(),
                out_reset: false,
                in_reset: false,
                above_threshold: false,
                incoming: true,
            },
        );
        self.incoming_open += 1;
        self.stats.opened_by_peer += 1;
        self.events.push_back(DataChannelEvent::Incoming(info));
        self.events.push_back(DataChannelEvent::Open(id));
    }

    fn on_reset(&mut self, id: u16, incoming: bool) {
        let Some(c) = self.channels.get_mut(&id) else {
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
                self.events.push_back(DataChannelEvent::Closing(id));
                if self.assoc.reset_streams(&[id]).is_err() {
                    c.out_reset = true;
                }
            }
        } else {
            c.out_reset = true;
        }
        if c.in_reset && c.out_reset && c.info.state != DataChannelState::Closed {
            c.info.state = DataChannelState::Closed;
            self.events.push_back(DataChannelEvent::Closed(id));
            // The id is free again once both sides are reset.
            if self.channels.remove(&id).is_some_and(|c| c.incoming) {
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
