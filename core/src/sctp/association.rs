//! The SCTP association (RFC 9260) as WebRTC runs it over DTLS (RFC 8261): both ends
//! send INIT at once, a stateless HMAC cookie, DATA/SACK with gap blocks and duplicate
//! reports, delayed SACK, fragmentation and reassembly, ordered and unordered delivery,
//! RTO per RFC 6298, T3-rtx, fast retransmit and recovery, congestion control in bytes,
//! a bounded receive window, HEARTBEAT answers and ABORT.
//!
//! One [`Association`] takes decrypted SCTP packets (what DTLS hands up) and time, and
//! hands out packets to encrypt, events and deadlines.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::bufpool::BufPool;
use super::congestion::{Ack, Controller, ControllerFactory, NewRenoFactory};
use super::inflight::Ring;
use super::sendq::{OutMessage, SendQueue};
use super::timer::{Timer, TimerTable};
use super::tsn_tracker::TsnTracker;
use super::{
    Abort, ChecksumPolicy, Chunk, CookieEcho, Data, ErrorCause, Heartbeat, Init, InitParam, Packet,
    Sack, SctpError, Ssn, Tsn, UnknownAction,
};
use crate::crypto::{CryptoProvider, HashAlgorithm, default_provider};
use crate::io::{IDLE_TIMEOUT, Layer, Output};
use crate::rng::Rng;

// The association's concerns, each in a file of its own beside this one. They are
// children of this module (hence the paths) because each works on the association's
// private state; the timer table, the congestion controller and the TSN tracker are
// self-contained and live beside it as modules of their own.
#[path = "packet_builder.rs"]
mod packet_builder;
#[path = "prsctp.rs"]
mod prsctp;
#[path = "rack.rs"]
mod rack;
#[path = "reassembly.rs"]
mod reassembly;
#[path = "reconfig.rs"]
mod reconfig;

use reconfig::ReconfigState;

/// Association settings.
#[derive(Debug, Clone)]
pub struct SctpConfig {
    /// Our SCTP port (WebRTC: 5000 unless SDP says otherwise).
    pub local_port: u16,
    /// The peer's SCTP port.
    pub remote_port: u16,
    /// Largest SCTP packet we send (what fits one DTLS record in one datagram).
    pub mtu: usize,
    /// Receive buffer we advertise (a_rwnd) and enforce. It never counts as smaller
    /// than one maximal message plus 64 KiB: messages are only delivered whole, so a
    /// window below the largest message could never open again. It bounds what a peer
    /// can make us hold: every fragment and every message waiting for its turn is
    /// charged at least 64 bytes of it (an unfinished I-DATA message 512 more), data
    /// that does not fit is dropped unacknowledged, and so are TSNs more than
    /// window / 64 past the cumulative TSN (RFC 9260 §6.2).
    pub receive_window: u32,
    /// Ceiling of the receive window's growth. The window starts at `receive_window`
    /// and doubles, as TCP's receive-buffer autotuning does, whenever more than half of
    /// it arrived within one round trip, so a long fast path is not held to the starting
    /// window (4 MiB caps 50 ms at ~670 Mbit/s) while an idle or slow association keeps
    /// the small one. The bounds of `receive_window` apply at every size; the
    /// [memory budget](Self::memory_budget) is counted at this ceiling. At or below
    /// `receive_window` the window is fixed.
    pub max_receive_window: u32,
    /// Largest message we accept from the peer; larger ones abort the association.
    pub max_receive_message_size: usize,
    /// The most streams each way: what we announce unless `outbound_streams` or
    /// `inbound_streams` say less, and the cap on adding streams (RFC 6525 §5.2.5: the
    /// peer's Add Outgoing Streams is denied beyond it; our messages on streams at or
    /// above it are refused). DATA on a stream at or above the inbound count is
    /// acknowledged, dropped and reported with an ERROR (RFC 9260 §6.5).
    pub streams: u16,
    /// Outbound streams (OS) announced in INIT, at most `streams`; `None`: `streams`.
    /// We send on min(this, the peer's MIS) and ask for more when a message needs them.
    pub outbound_streams: Option<u16>,
    /// Inbound streams (MIS) announced in INIT, at most `streams`; `None`: `streams`.
    /// The peer may add streams up to `streams`.
    pub inbound_streams: Option<u16>,
    /// Initial RTO (RFC 9260 §16: 1 s; set it from a measured RTT when one is known).
    pub rto_initial: Duration,
    /// RTO floor.
    pub rto_min: Duration,
    /// RTO ceiling.
    pub rto_max: Duration,
    /// INIT / COOKIE-ECHO attempts before giving up (Max.Init.Retransmits).
    pub max_init_retransmits: u32,
    /// Consecutive T3-rtx expiries before the association fails (Association.Max.Retrans).
    pub max_retransmits: u32,
    /// Delay before a SACK for a lone packet (RFC 9260 §6.2: at most 500 ms).
    pub delayed_ack: Duration,
    /// How long the association may stay idle (nothing received, nothing in flight)
    /// before a HEARTBEAT probes the peer (RFC 9260 §8.3, HB.interval: 30 s). A shorter
    /// one notices a vanished peer sooner, at a packet each way per interval.
    pub heartbeat_interval: Duration,
    /// Seed for tags, initial TSNs and the cookie secret.
    pub seed: u64,
    /// Crypto provider for the cookie HMAC.
    pub provider: std::sync::Arc<dyn CryptoProvider>,
    /// Offer zero checksums over DTLS (RFC 9653, EDMID 1): DTLS already protects the
    /// packet, so the CRC32c is redundant work. Used only when the peer offers it too.
    pub zero_checksum: bool,
    /// Offer I-DATA (RFC 8260) in our own INIT: fragments of messages on different
    /// streams interleave, so a large message does not hold up small ones behind it,
    /// and a message abandoned half sent is skipped by MID rather than wedging its
    /// stream. Off by default: between two of ours with one stream busy it only costs
    /// (four header bytes a chunk, and fragments held apart until their message is
    /// whole instead of copied in as they come: ~12 % of in-memory throughput).
    pub interleaving: bool,
    /// Answer a peer's I-DATA offer with ours (RFC 8260 §2.1), so a peer that offers it
    /// (Firefox does) gets it, whatever [`interleaving`](Self::interleaving) says about
    /// our own INIT. On by default.
    pub accept_interleaving: bool,
    /// Delivered messages keep their room in the receive window until the application
    /// hands it back with [`Association::release_received`]: a reader that falls behind
    /// holds the peer back (receive flow control) instead of messages piling up. Off:
    /// room is freed on delivery.
    pub deferred_release: bool,
    /// Congestion control (RFC 9260 §7): makes each association's [`Controller`].
    /// [`NewRenoFactory`] by default, RFC 9260 §7.2's algorithm: what every SCTP peer
    /// expects, fair to TCP on a shared path, and without pacing's cost on fast local
    /// links. [`BbrFactory`](super::congestion::BbrFactory) paces at the delivery rate it
    /// measures and does not halve for a random loss: for long lossy paths (50 ms RTT, 1 %
    /// loss: ~240 Mbit/s where NewReno keeps ~2.3).
    pub congestion: std::sync::Arc<dyn ControllerFactory>,
}

impl SctpConfig {
    /// Outbound streams (OS) we announce.
    fn announced_outbound(&self) -> u16 {
        self.outbound_streams
            .unwrap_or(self.streams)
            .min(self.streams)
    }

    /// Inbound streams (MIS) we announce.
    fn announced_inbound(&self) -> u16 {
        self.inbound_streams
            .unwrap_or(self.streams)
            .min(self.streams)
    }

    /// The receive window an association with this config advertises: never less than
    /// one maximal message + 64 KiB, since messages are delivered whole.
    pub fn effective_receive_window(&self) -> usize {
        (self.receive_window as usize)
            .max(self.max_receive_message_size + 65536)
            .min(u32::MAX as usize)
    }

    /// The largest the receive window may grow to: [`max_receive_window`](SctpConfig::max_receive_window)
    /// (Self::max_receive_window), never below the starting window.
    pub fn effective_max_receive_window(&self) -> usize {
        (self.max_receive_window as usize)
            .min(u32::MAX as usize)
            .max(self.effective_receive_window())
    }

    /// The most heap, in bytes, one peer can make an association with this config hold
    /// on its receive side: about 2.5 × the window (everything held is charged at
    /// least 64 bytes of it, and the bookkeeping of tiny items costs up to about 2.5
    /// times that), plus a fixed allowance for per-stream ordering state, the runs of
    /// received TSNs that gap reports are read from, and pending stream resets. What
    /// the application queues to send is its own and not counted. Buffers of delivered
    /// messages the application dropped, kept for the next ones, add at most 256 KiB.
    /// `tests/tests/hostile_heap.rs` measures the floods against it.
    pub fn memory_budget(&self) -> usize {
        let w = self.effective_max_receive_window();
        let streams = usize::from(self.streams);
        w * 5 / 2 + 44 * streams + 40 * (w / 128) + super::bufpool::KEPT_BYTES
    }
}

impl Default for SctpConfig {
    fn default() -> Self {
        SctpConfig {
            local_port: 5000,
            remote_port: 5000,
            mtu: 1200,
            // 400 Mbit/s × 50 ms ≈ 2.5 MB in flight; leave room above it.
            receive_window: 4 * 1024 * 1024,
            // 1 Gbit/s × 100 ms is 12.5 MB: room for a gigabit across a continent.
            max_receive_window: 16 * 1024 * 1024,
            max_receive_message_size: 256 * 1024,
            streams: 65535,
            outbound_streams: None,
            inbound_streams: None,
            rto_initial: Duration::from_secs(1),
            // Above the peer's 200 ms delayed SACK, or a lone last packet's T3 fires just as
            // its SACK is due. RFC 9260's default is 1 s; WebRTC stacks run lower.
            rto_min: Duration::from_millis(400),
            rto_max: Duration::from_secs(60),
            max_init_retransmits: 8,
            max_retransmits: 10,
            delayed_ack: Duration::from_millis(200),
            heartbeat_interval: Duration::from_secs(30),
            seed: 0,
            provider: default_provider(),
            zero_checksum: true,
            interleaving: false,
            accept_interleaving: true,
            deferred_release: false,
            congestion: std::sync::Arc::new(NewRenoFactory),
        }
    }
}

/// How one message is sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendOptions {
    /// Deliver as soon as it arrives rather than in stream order.
    pub unordered: bool,
    /// PR-SCTP (RFC 3758) limited retransmissions: give up after this many
    /// retransmissions (0: sent once). Needs a peer that supports FORWARD-TSN.
    pub max_retransmits: Option<u16>,
    /// PR-SCTP timed reliability: give up once this much time passed since `send`.
    pub max_lifetime: Option<Duration>,
}

/// What happened.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SctpEvent {
    /// The association is established.
    Connected,
    /// A whole message from the peer.
    Message {
        /// Stream it arrived on.
        stream_id: u16,
        /// Payload protocol identifier.
        ppid: u32,
        /// The message.
        data: Bytes,
        /// Whether it was sent unordered.
        unordered: bool,
    },
    /// Streams were reset (RFC 6525): `incoming` ones by the peer (its side of a data
    /// channel closed), or our outgoing ones, as we asked, once the peer confirmed.
    StreamsReset {
        /// The streams.
        streams: Vec<u16>,
        /// Whether these are the peer's outgoing (our incoming) streams.
        incoming: bool,
    },
    /// The peer added outgoing streams at our request (RFC 6525 §5.1.5): we may now
    /// send on streams below `outbound`, and messages held for them are on their way.
    OutgoingStreamsAdded {
        /// The new outbound stream count.
        outbound: u16,
    },
    /// Messages on these outgoing streams were dropped unsent: the streams are beyond
    /// what the peer takes, and it refused to add them (RFC 6525 §5.2.5), does not
    /// support adding streams (no RE-CONFIG), or they lie beyond our
    /// [`SctpConfig::streams`].
    StreamsRefused {
        /// The streams, each once.
        streams: Vec<u16>,
    },
    /// The association ended: graceful shutdown, the peer aborted, or it failed
    /// (retransmissions, timeouts, a protocol violation). Queued messages were not
    /// delivered unless the reason is a completed shutdown.
    Closed {
        /// Why.
        reason: CloseReason,
    },
}

/// Why an association ended.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloseReason {
    /// The graceful shutdown completed (RFC 9260 §9.2): everything queued was delivered.
    #[error("shutdown complete")]
    ShutdownComplete,
    /// The application aborted, with this reason (sent to the peer as a User-Initiated
    /// Abort cause).
    #[error("aborted locally: {0}")]
    LocalAbort(String),
    /// The peer broke the protocol; we aborted.
    #[error("aborted: {0}")]
    PeerMisbehaved(Violation),
    /// The peer sent an ABORT, with the first cause it gave, if any.
    #[error("peer aborted: {}", .0.as_ref().map_or("no cause".to_string(), |c| format!("{c:?}")))]
    PeerAbort(Option<ErrorCause>),
    /// INIT or COOKIE-ECHO went unanswered `max_init_retransmits` times.
    #[error("association setup timed out")]
    SetupTimeout,
    /// SHUTDOWN or SHUTDOWN-ACK went unanswered.
    #[error("shutdown timed out")]
    ShutdownTimeout,
    /// The peer stopped answering heartbeats (RFC 9260 §8.3).
    #[error("peer stopped answering heartbeats")]
    HeartbeatTimeout,
    /// Data went unacknowledged `max_retransmits` times in a row (RFC 9260 §8.1).
    #[error("peer stopped acknowledging data")]
    RetransmitTimeout,
}

/// A protocol violation of the peer that made us abort.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// A DATA chunk after both ends agreed on I-DATA (RFC 8260 §2.2.1).
    #[error("DATA chunk received while I-DATA is in use")]
    DataWhileInterleaving,
    /// A DATA or I-DATA chunk without user data (RFC 9260 §6.2).
    #[error("DATA chunk without user data")]
    NoUserData,
    /// A message longer than our max-message-size.
    #[error("message exceeds max-message-size")]
    MessageTooLarge,
}

/// Counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SctpStats {
    /// Packets sent.
    pub packets_sent: u64,
    /// Packets received and accepted.
    pub packets_received: u64,
    /// Packets dropped: malformed, wrong ports or verification tag, bad cookie, out of
    /// the blue. Bad checksums are counted apart, in `checksum_drops`.
    pub packets_dropped: u64,
    /// Packets dropped for a CRC32c that does not match (or a zero checksum where none
    /// is accepted, RFC 9653 §5.3): over DTLS, which authenticates every record, these
    /// point at a broken peer or a bug rather than the path.
    pub checksum_drops: u64,
    /// DATA chunks retransmitted (T3 or fast).
    pub retransmissions: u64,
    /// Fast retransmit episodes.
    pub fast_retransmits: u64,
    /// T3-rtx expiries.
    pub t3_expiries: u64,
    /// Duplicate DATA chunks received.
    pub duplicates_received: u64,
    /// DATA chunks dropped because the receive window was full, or their TSN lay
    /// beyond it (not acknowledged; the peer sends them again).
    pub window_drops: u64,
    /// DATA chunks on a stream at or above the inbound stream count: acknowledged,
    /// discarded and reported with an ERROR (RFC 9260 §6.5).
    pub invalid_stream_drops: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed,
    CookieWait,
    CookieEchoed,
    Established,
    ShutdownPending,
    ShutdownSent,
    ShutdownReceived,
    ShutdownAckSent,
    /// Terminal: aborted, failed or shut down.
    Failed,
}

impl State {
    /// States in which DATA and SACK flow.
    fn carries_data(self) -> bool {
        matches!(
            self,
            State::Established
                | State::ShutdownPending
                | State::ShutdownSent
                | State::ShutdownReceived
        )
    }
}

/// A DATA chunk sent and not yet cumulatively acknowledged.
#[derive(Debug)]
struct InFlight {
    chunk: Data,
    /// MID and FSN when sent as I-DATA.
    mid: u32,
    fsn: u32,
    /// The message this chunk belongs to (abandoned together).
    msg: u64,
    sent_at: Instant,
    /// Order of its latest transmission among all chunks sent (RACK compares sends by
    /// it: in virtual time many share one instant).
    sent_seq: u64,
    /// Transmitted more than once: no RTT sample (Karn's rule).
    retransmitted: bool,
    /// Covered by a gap ack block.
    acked: bool,
    /// Waiting to be retransmitted.
    marked: bool,
    /// Miss indications (RFC 9260 §7.2.4).
    misses: u8,
    /// Already fast-retransmitted in this recovery.
    fast_retransmitted: bool,
    /// Times sent.
    transmissions: u16,
    max_retransmits: Option<u16>,
    expires: Option<Instant>,
    /// Given up (PR-SCTP): never sent again, skipped by FORWARD-TSN.
    abandoned: bool,
}

impl InFlight {
    fn has_policy(&self) -> bool {
        self.max_retransmits.is_some() || self.expires.is_some()
    }

    /// Found lost (three miss indications, or RACK's time rule): out of the flight and
    /// marked for a fast retransmission until it is sent again.
    fn mark_lost(&mut self, flight_bytes: &mut usize, marked_count: &mut usize) {
        *flight_bytes -= self.chunk.user_data.len().min(*flight_bytes);
        self.marked = true;
        *marked_count += 1;
        self.retransmitted = true;
        self.fast_retransmitted = true;
        self.misses = 0;
    }
}

/// A message arriving in order, copied together fragment by fragment.
#[derive(Debug)]
struct Streaming {
    sid: u16,
    unordered: bool,
    ssn: Ssn,
    ppid: u32,
    /// Absolute TSN of the fragment that would continue it.
    next: u64,
    /// From `Association::rx_pool`, and handed over as a pooled message.
    buf: Vec<u8>,
    /// What its fragments were charged against the receive window.
    charged: usize,
}

/// A message arriving as I-DATA fragments, keyed by stream, kind and MID.
#[derive(Debug, Default)]
struct IReassembly {
    ppid: Option<u32>,
    /// FSN of the fragment with the E bit, once seen.
    last: Option<u32>,
    fragments: BTreeMap<u32, Bytes>,
    /// Payload bytes held.
    bytes: usize,
    /// What the fragments cost the receive window.
    charged: usize,
}

/// Least window charge of anything held for the peer: a fragment (DATA or I-DATA) or a
/// whole message waiting for its turn. It stands for the bookkeeping each one costs
/// beside its bytes, so tiny or empty-looking items cannot be held beyond the window.
const CHUNK_CHARGE: usize = 64;

/// What an item of `len` bytes held for the peer costs the receive window.
const fn charge(len: usize) -> usize {
    if len > CHUNK_CHARGE {
        len
    } else {
        CHUNK_CHARGE
    }
}

/// Window charge of an I-DATA message being put together, beside its fragments': its
/// entry and fragment map cost about a B-tree node (some 500 bytes) however small the
/// fragments, and a peer can start one per MID.
const REASSEMBLY_CHARGE: usize = 512;

/// Most packets waiting to be sent for which an out-of-the-blue SHUTDOWN-ACK is still
/// answered (RFC 9260 §8.4 rule 5); beyond it a flood goes unanswered until a poll.
const MAX_OOTB_ANSWERS: usize = 16;

/// Cap on the Invalid Stream Identifier causes one ERROR chunk carries.
const MAX_ERROR_CAUSES: usize = 16;

/// Largest buffer set aside for a streamed message before its size is known.
const STREAMING_GUESS_MAX: usize = 256 * 1024;

/// Per-stream receive state for ordered delivery.
#[derive(Debug, Default)]
struct StreamIn {
    next_ssn: Ssn,
    /// Next MID to deliver when I-DATA is in use.
    next_mid: u32,
    /// Position of `next_ssn` on a counter that never wraps, so waiting messages keep
    /// their keys as delivery moves on.
    next_key: u64,
}

const COMMON_HEADER: usize = 12;
const DATA_HEADER: usize = 16;
const IDATA_HEADER: usize = 20;
/// Cookie lifetime (RFC 9260 §5.1.3 Valid.Cookie.Life).
const COOKIE_LIFE: Duration = Duration::from_secs(60);
/// Bytes of the cookie body before its MAC.
const COOKIE_BODY: usize = 4 * 5 + 2 * 2 + 1 + 8;

/// One SCTP association. See the module docs.
#[derive(Debug)]
pub struct Association {
    cfg: SctpConfig,
    rng: Rng,
    state: State,
    /// The latest time we were given.
    now: Instant,
    /// The start time: cookie timestamps count from it.
    epoch: Instant,
    cookie_secret: [u8; 32],

    my_tag: u32,
    peer_tag: u32,
    my_initial_tsn: Tsn,
    peer_forward_tsn: bool,
    /// Both ends support I-DATA (RFC 8260) and we use it for every message.
    idata: bool,
    /// Both ends accept zero checksums: we send them.
    zero_checksum: bool,
    /// Streams we may send on: min(our OS, the peer's MIS) (RFC 9260 §5.1.1), plus what
    /// the peer granted since (RFC 6525 §5.2.5).
    outbound_streams: u16,
    /// The peer listed RE-CONFIG among its extensions (RFC 6525 §4.1): stream reset
    /// and adding streams are possible.
    peer_reconfig: bool,
    init_attempts: u32,
    /// When our INIT, then our COOKIE-ECHO, went out the first time: its answer times
    /// the path (none after a retransmission: Karn). A receiver that sends no data
    /// has no other RTT sample, and its window autotuning counts in round trips.
    handshake_sent: Option<Instant>,
    cookie: Option<Bytes>,
    /// What the peer's INIT-ACK told us, applied when its COOKIE-ACK arrives.
    pending_peer: Option<CookieContents>,

    // Send side.
    queue: SendQueue,
    next_tsn: u64,
    cum_ack: u64,
    inflight: Ring<InFlight>,
    flight_bytes: usize,
    /// Sizes the congestion window (RFC 9260 §7); fast recovery stays here.
    cc: Box<dyn Controller>,
    peer_rwnd: usize,
    recovery: Option<u64>,
    srtt: Option<Duration>,
    rttvar: Duration,
    rto: Duration,
    t3_strikes: u32,
    /// The last send stopped at cwnd with data still queued.
    cwnd_limited: bool,
    /// Chunks waiting for retransmission.
    marked_count: usize,
    /// A fast retransmit (or a loss found by time) waits: its one packet goes at once,
    /// whatever cwnd says (RFC 9260 §7.2.4 rule 3).
    fast_rtx_due: bool,
    /// The receive window advertised (before what is held is taken off); see
    /// [`SctpConfig::max_receive_window`].
    rwnd: usize,
    /// When the current autotuning round began, and the user data bytes taken in it.
    rx_round: Option<Instant>,
    rx_round_bytes: usize,
    /// When a pacing controller lets the next packet of new data go.
    next_send: Option<Instant>,
    /// Chunk transmissions so far: the next one's `sent_seq`.
    xmit_seq: u64,
    /// A tail loss probe of new data waits: one packet beyond cwnd (RFC 8985 §7.3).
    probe_due: bool,
    /// Loss detection by time (RFC 8985).
    rack: rack::Rack,
    queued_bytes: usize,
    /// Queued messages with a lifetime plus in-flight chunks with any PR-SCTP policy:
    /// while zero, nothing can expire and the abandonment scan is skipped.
    pr_outstanding: usize,
    /// Input arrived since the last abandonment scan.
    pr_scan_due: bool,
    /// Per stream: bytes sent by the application, not yet acknowledged or abandoned.
    /// Looked up on every SACK and every buffered-amount check, usually for one or a
    /// few streams: an ordered map answers those without hashing the key.
    unacked_by_stream: BTreeMap<u16, usize>,

    // Receive side.
    /// Which of the peer's TSNs arrived (RFC 9260 §3.3.4), for DATA and I-DATA alike.
    rx_tsns: TsnTracker,
    /// DATA fragments held for reassembly, by absolute TSN (payloads only: which TSNs
    /// arrived is `gaps`' business).
    received: BTreeMap<u64, Data>,
    /// Inbound streams of the association: min(our MIS, the peer's OS) (RFC 9260 §5.1.1).
    streams_in_limit: u16,
    /// Invalid Stream Identifier causes for the ERROR that follows the next SACK.
    pending_errors: Vec<ErrorCause>,
    /// Whole ordered messages waiting for their turn, keyed by stream and the stream's
    /// `next_key` counter. One map for all streams: a map per stream would cost a whole
    /// B-tree node (over 500 bytes) for the first message of each, which a peer could
    /// make wait on every stream at once.
    waiting: BTreeMap<(u16, u64), (u32, Bytes)>,
    /// The message being copied together from in-order fragments, if any.
    streaming: Option<Streaming>,
    /// I-DATA messages being put together.
    ireasm: BTreeMap<(u16, bool, u32), IReassembly>,
    /// Size of the last message streamed: the buffer size to start the next one with.
    last_streamed_size: usize,
    /// Buffers of received messages the application dropped, for the next ones.
    rx_pool: BufPool,
    received_bytes: usize,
    /// Delivered bytes still counted in the window (`deferred_release`).
    unreleased: usize,
    streams_in: HashMap<u16, StreamIn>,
    /// Streams whose next ordered message may be complete.
    ready_streams: Vec<u16>,
    ack_due: bool,
    ack_now: bool,
    packets_since_ack: u32,

    next_msg_id: u64,
    /// Message id and PR-SCTP policy of the fragment `next_fragment` just cut.
    peer_max_message_size: Option<usize>,
    /// Highest TSN up to which everything is acknowledged or abandoned (RFC 3758).
    advanced_ack: u64,
    forward_tsn_due: bool,
    /// The absolute TSN the last FORWARD-TSN we built moved the peer to: below
    /// `advanced_ack` when the whole did not fit one packet, and more must follow.
    forward_tsn_reach: u64,

    /// Stream reset (RFC 6525).
    reconf: ReconfigState,

    // Shutdown and heartbeats.
    heartbeat_interval: Duration,
    heartbeat_sent: Option<(Instant, u64)>,

    /// Every deadline the association waits for (RFC 9260 §14's timers and ours).
    timers: TimerTable,

    control: VecDeque<Chunk>,
    /// The chunk list of the last packet received, kept for the next one.
    chunk_scratch: Vec<Chunk>,
    /// A packet buffer a poll did not need.
    packet_spare: Vec<u8>,
    /// Packets built ahead of a poll (handshake, immediate SACKs, ABORT), as plain
    /// buffers: `poll_transmit` copies one out and keeps its buffer as `packet_spare`,
    /// so an acknowledgement per second packet costs no allocation.
    out: VecDeque<Vec<u8>>,
    events: VecDeque<SctpEvent>,
    stats: SctpStats,
}

impl Association {
    /// A closed association whose clock starts at `now`; [`Association::connect`] or a
    /// peer's INIT opens it.
    pub fn new(cfg: SctpConfig, now: Instant) -> Self {
        let rwnd = cfg.effective_receive_window();
        let mut rng = Rng::from_seed(cfg.seed);
        let mut cookie_secret = [0u8; 32];
        rng.fill(&mut cookie_secret);
        let my_tag = loop {
            let t = rng.u32();
            if t != 0 {
                break t;
            }
        };
        let my_initial_tsn = Tsn(rng.u32());
        let heartbeat_interval = cfg.heartbeat_interval;
        Association {
            rto: cfg.rto_initial,
            cc: cfg.congestion.build(cfg.mtu),
            peer_rwnd: 0,
            cfg,
            rng,
            state: State::Closed,
            now,
            epoch: now,
            cookie_secret,
            my_tag,
            peer_tag: 0,
            my_initial_tsn,
            peer_forward_tsn: false,
            idata: false,
            zero_checksum: false,
            outbound_streams: 0,
            peer_reconfig: false,
            init_attempts: 0,
            handshake_sent: None,
            cookie: None,
            pending_peer: None,
            queue: SendQueue::default(),
            next_tsn: 0,
            cum_ack: 0,
            inflight: Ring::default(),
            flight_bytes: 0,
            recovery: None,
            srtt: None,
            rttvar: Duration::ZERO,
            t3_strikes: 0,
            cwnd_limited: false,
            marked_count: 0,
            fast_rtx_due: false,
            probe_due: false,
            xmit_seq: 0,
            next_send: None,
            rwnd,
            rx_round: None,
            rx_round_bytes: 0,
            rack: rack::Rack::default(),
            queued_bytes: 0,
            pr_outstanding: 0,
            pr_scan_due: false,
            unacked_by_stream: BTreeMap::new(),
            rx_tsns: TsnTracker::default(),
            received: BTreeMap::new(),
            streams_in_limit: 0,
            pending_errors: Vec::new(),
            waiting: BTreeMap::new(),
            streaming: None,
            ireasm: BTreeMap::new(),
            last_streamed_size: 0,
            rx_pool: BufPool::default(),
            received_bytes: 0,
            unreleased: 0,
            streams_in: HashMap::new(),
            ready_streams: Vec::new(),
            ack_due: false,
            ack_now: false,
            packets_since_ack: 0,
            next_msg_id: 0,
            peer_max_message_size: None,
            advanced_ack: 0,
            forward_tsn_due: false,
            forward_tsn_reach: 0,
            reconf: ReconfigState::default(),
            heartbeat_interval,
            heartbeat_sent: None,
            timers: TimerTable::default(),
            control: VecDeque::new(),
            chunk_scratch: Vec::new(),
            packet_spare: Vec::new(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            stats: SctpStats::default(),
        }
    }

    /// Whether the association is established.
    pub fn is_established(&self) -> bool {
        self.state == State::Established
    }

    /// Counters.
    pub fn stats(&self) -> SctpStats {
        self.stats
    }

    /// Bytes queued or in flight, not yet acknowledged.
    pub fn buffered_amount(&self) -> usize {
        self.unacked_by_stream.values().sum()
    }

    /// Bytes of a stream leave the buffered amount (acknowledged or abandoned).
    fn settle(map: &mut BTreeMap<u16, usize>, stream: u16, bytes: usize) {
        if let Some(v) = map.get_mut(&stream) {
            *v -= bytes.min(*v);
            if *v == 0 {
                map.remove(&stream);
            }
        }
    }

    /// Adds `len` acknowledged bytes of `stream` to the run in `run`, settling the run
    /// so far when the stream changes.
    fn settle_run(
        map: &mut BTreeMap<u16, usize>,
        run: &mut Option<(u16, usize)>,
        stream: u16,
        len: usize,
    ) {
        match run {
            Some((sid, n)) if *sid == stream => *n += len,
            _ => {
                if let Some((sid, n)) = run.replace((stream, len)) {
                    Self::settle(map, sid, n);
                }
            }
        }
    }

    /// Bytes queued or unacknowledged on one stream (a data channel's `bufferedAmount`).
    pub fn buffered_amount_on(&self, stream_id: u16) -> usize {
        self.unacked_by_stream.get(&stream_id).copied().unwrap_or(0)
    }

    /// Current congestion window in bytes.
    pub fn cwnd(&self) -> usize {
        self.cc.window()
    }

    /// Current retransmission timeout.
    pub fn rto(&self) -> Duration {
        self.rto
    }

    /// Smoothed RTT, once measured.
    pub fn srtt(&self) -> Option<Duration> {
        self.srtt
    }

    /// The peer's receive window as its last SACK (or INIT) advertised it, in bytes.
    pub fn peer_receive_window(&self) -> usize {
        self.peer_rwnd
    }

    /// DATA chunks sent and not yet cumulatively acknowledged.
    pub fn unacknowledged_chunks(&self) -> usize {
        self.inflight.len()
    }

    /// Whether packets go out with a zero checksum (RFC 9653, both ends offered it).
    pub fn sends_zero_checksum(&self) -> bool {
        self.zero_checksum
    }

    /// Whether the peer supports PR-SCTP (FORWARD-TSN).
    pub fn peer_supports_forward_tsn(&self) -> bool {
        self.peer_forward_tsn
    }

    /// Start the association: send INIT. WebRTC has both ends do this; the collision is
    /// resolved by RFC 9260 §5.2.
    pub fn connect(&mut self, now: Instant) {
        self.tick(now);
        if self.state != State::Closed {
            return;
        }
        self.state = State::CookieWait;
        self.init_attempts = 1;
        self.send_init();
        self.handshake_sent = Some(now);
        self.timers.set(Timer::T1, now + self.rto);
    }

    /// Queue a message. Empty messages are the caller's to encode (WebRTC uses a
    /// one-byte payload with an "empty" PPID).
    pub fn send(
        &mut self,
        stream_id: u16,
        ppid: u32,
        data: Bytes,
        unordered: bool,
    ) -> Result<(), SctpError> {
        self.send_with(
            stream_id,
            ppid,
            data,
            SendOptions {
                unordered,
                ..Default::default()
            },
        )
    }

    /// Queue a message with partial reliability or ordering options.
    pub fn send_with(
        &mut self,
        stream_id: u16,
        ppid: u32,
        data: Bytes,
        opts: SendOptions,
    ) -> Result<(), SctpError> {
        if !matches!(
            self.state,
            State::Closed | State::CookieWait | State::CookieEchoed | State::Established
        ) || self.reconf.closing.contains(&stream_id)
        {
            return Err(SctpError::Closed);
        }
        if data.is_empty() {
            return Err(SctpError::EmptyMessage);
        }
        if let Some(max) = self.peer_max_message_size
            && data.len() > max
        {
            return Err(SctpError::MessageTooLarge {
                size: data.len(),
                max,
            });
        }
        let expires = opts.max_lifetime.map(|l| self.now + l);
        *self.unacked_by_stream.entry(stream_id).or_default() += data.len();
        self.next_msg_id += 1;
        self.enqueue(OutMessage {
            id: self.next_msg_id,
            stream: stream_id,
            ppid,
            data,
            unordered: opts.unordered,
            seq: None,
            offset: 0,
            fsn: 0,
            max_retransmits: opts.max_retransmits,
            expires,
        });
        Ok(())
    }

    /// Queue a message for sending, or, on a stream the peer does not have yet (once
    /// the stream counts are known), hold it for an Add Outgoing Streams request.
    fn enqueue(&mut self, m: OutMessage) {
        if self.state.carries_data() && m.stream >= self.outbound_streams {
            self.reconf.held.push(m);
            return;
        }
        self.queued_bytes += m.data.len() - m.offset;
        if m.expires.is_some() {
            self.pr_outstanding += 1;
        }
        self.queue.push(m);
    }

    /// Streams we may send on (RFC 9260 §5.1.1: min(our outbound streams, the peer's
    /// inbound streams), plus any the peer added since, RFC 6525 §5.2.5); 0 before the
    /// association is established. Messages on streams at or above it wait for an Add
    /// Outgoing Streams request, or are refused ([`SctpEvent::StreamsRefused`]).
    pub fn outbound_streams(&self) -> u16 {
        self.outbound_streams
    }

    /// Streams the peer may send on (min(our inbound streams, the peer's outbound
    /// streams), plus any it added since); 0 before the association is established.
    pub fn inbound_streams(&self) -> u16 {
        self.streams_in_limit
    }

    /// Whether the peer supports RE-CONFIG (RFC 6525): stream reset, which closing a
    /// data channel needs, and adding streams. Known once established.
    pub fn supports_stream_reconfig(&self) -> bool {
        self.peer_reconfig
    }

    /// Start the retransmission timer (INIT, COOKIE-ECHO, first DATA) from a round-trip
    /// time measured below (ICE), instead of `rto_initial`. No effect once SCTP has a
    /// measurement of its own.
    pub fn set_initial_rto(&mut self, rto: Duration) {
        if self.srtt.is_none() {
            self.rto = rto.clamp(Duration::from_millis(10), self.cfg.rto_max);
        }
    }

    /// The peer's SCTP port, when it is learned after the association was built (the
    /// ORTC `start` brings it after data channels were created). Before the first packet
    /// only: it is in every packet's common header.
    pub fn set_remote_port(&mut self, port: u16) {
        self.cfg.remote_port = port;
    }

    /// The peer's maximum message size (from SDP `a=max-message-size`); larger messages
    /// are refused by [`Association::send`].
    pub fn set_peer_max_message_size(&mut self, max: Option<usize>) {
        self.peer_max_message_size = max;
    }

    /// Reset our outgoing streams (RFC 6525), as closing a data channel does (RFC 8831
    /// §6.7). Messages already queued on them are sent first; sending on them fails
    /// until [`SctpEvent::StreamsReset`] reports the reset done.
    pub fn reset_streams(&mut self, streams: &[u16]) -> Result<(), SctpError> {
        if !matches!(self.state, State::Established) {
            return Err(SctpError::Closed);
        }
        for &s in streams {
            if !self.reconf.closing.contains(&s) {
                self.reconf.closing.push(s);
                self.reconf.pending.push(s);
            }
        }
        Ok(())
    }

    /// Whether our outgoing stream is being reset (asked for, not yet confirmed): it
    /// cannot carry messages until [`SctpEvent::StreamsReset`] reports it done.
    pub fn is_stream_closing(&self, stream_id: u16) -> bool {
        self.reconf.closing.contains(&stream_id)
    }

    /// Graceful shutdown (RFC 9260 §9.2): queued data is delivered first, then the
    /// association closes with [`SctpEvent::Closed`].
    pub fn shutdown(&mut self) {
        if self.state == State::Established {
            self.state = State::ShutdownPending;
            self.maybe_shutdown();
        }
    }

    /// Abort: tell the peer (cause User-Initiated Abort) and close.
    pub fn abort(&mut self, reason: &str) {
        if matches!(self.state, State::Closed | State::Failed) {
            return;
        }
        let abort = Chunk::Abort(Abort {
            tag_reflected: false,
            causes: vec![ErrorCause::UserInitiatedAbort(Bytes::copy_from_slice(
                reason.as_bytes(),
            ))],
        });
        self.emit_packet(self.peer_tag, &[abort]);
        self.fail(CloseReason::LocalAbort(reason.to_owned()));
    }

    /// Abort for a protocol error of the peer: an ABORT carrying `cause` (by default a
    /// User-Initiated Abort naming the violation), then close.
    pub(super) fn abort_for(&mut self, violation: Violation, cause: Option<ErrorCause>) {
        if matches!(self.state, State::Closed | State::Failed) {
            return;
        }
        let cause = cause
            .unwrap_or_else(|| ErrorCause::UserInitiatedAbort(Bytes::from(violation.to_string())));
        let abort = Chunk::Abort(Abort {
            tag_reflected: false,
            causes: vec![cause],
        });
        self.emit_packet(self.peer_tag, &[abort]);
        self.fail(CloseReason::PeerMisbehaved(violation));
    }

    fn rng_next(&mut self) -> u64 {
        self.rng.u64()
    }

    fn window(&self) -> usize {
        self.rwnd
    }

    /// The receive window advertised now (a_rwnd before what is held is taken off): it
    /// grows from [`SctpConfig::receive_window`] toward
    /// [`SctpConfig::max_receive_window`] as the rate needs.
    pub fn receive_window(&self) -> usize {
        self.rwnd
    }

    /// Receive-window autotuning, once a round trip: when more than half the window
    /// arrived within one while the reader kept up, the peer may be held back by it, so
    /// it doubles (up to the ceiling). Never shrinks: the peer may already rely on what was advertised (RFC
    /// 9260 §6.2 lets a receiver shrink it, but nothing is won by it here).
    fn autotune_receive_window(&mut self, now: Instant) {
        let cap = self.cfg.effective_max_receive_window();
        if self.rwnd >= cap {
            return;
        }
        // A receiver that sends no data of its own may have no RTT yet: RTO is the
        // cautious stand-in (longer rounds only make it grow later).
        let round = self.srtt.unwrap_or(self.rto).max(Duration::from_millis(1));
        match self.rx_round {
            Some(started) if now.saturating_duration_since(started) >= round => {
                // Only while the reader keeps up: what arrives counts, but the window
                // must not grow past a reader that holds on to it (with
                // `deferred_release` the window is its flow control), so little may
                // be held when the round ends.
                if self.rx_round_bytes * 2 > self.rwnd && self.received_bytes <= self.rwnd / 4 {
                    self.rwnd = (self.rwnd * 2).min(cap);
                }
                self.rx_round = Some(now);
                self.rx_round_bytes = 0;
            }
            Some(_) => {}
            None => {
                self.rx_round = Some(now);
                self.rx_round_bytes = 0;
            }
        }
    }

    fn tick(&mut self, now: Instant) {
        self.now = self.now.max(now);
        // Time moved or a packet may mark chunks: PR-SCTP policies need a look.
        self.pr_scan_due = true;
    }

    fn fail(&mut self, reason: CloseReason) {
        if self.state == State::Failed {
            return;
        }
        tracing::debug!(%reason, "SCTP association closed");
        self.state = State::Failed;
        self.queue.clear();
        self.inflight.clear();
        // Nothing held for the peer outlives the association; what the application
        // holds (`deferred_release`) stays its own.
        self.streaming = None;
        self.ireasm.clear();
        self.received.clear();
        self.rx_tsns.clear_gaps();
        self.streams_in.clear();
        self.waiting.clear();
        self.received_bytes = self.unreleased;
        self.pr_outstanding = 0;
        self.marked_count = 0;
        self.queued_bytes = 0;
        self.unacked_by_stream.clear();
        self.reconf.held.clear();
        self.flight_bytes = 0;
        self.timers.stop_all();
        self.events.push_back(SctpEvent::Closed { reason });
    }

    /// Whether our INIT-ACK lists I-DATA, answering an INIT that did (`peer_offers`) or
    /// not: only if it did, and we offer or accept it.
    fn answers_idata(&self, peer_offers: bool) -> bool {
        peer_offers && (self.cfg.interleaving || self.cfg.accept_interleaving)
    }

    /// Our INIT, or the base of our INIT-ACK; it lists I-DATA when `idata`.
    fn init_chunk(&self, idata: bool) -> Init {
        Init {
            initiate_tag: self.my_tag,
            a_rwnd: self.window() as u32,
            num_outbound_streams: self.cfg.announced_outbound(),
            num_inbound_streams: self.cfg.announced_inbound(),
            initial_tsn: self.my_initial_tsn,
            params: vec![
                InitParam::ForwardTsnSupported,
                InitParam::SupportedExtensions(if idata {
                    vec![
                        super::ChunkType::RE_CONFIG,
                        super::ChunkType::FORWARD_TSN,
                        super::ChunkType::I_DATA,
                        super::ChunkType::I_FORWARD_TSN,
                    ]
                } else {
                    vec![super::ChunkType::RE_CONFIG, super::ChunkType::FORWARD_TSN]
                }),
            ]
            .into_iter()
            .chain(
                self.cfg
                    .zero_checksum
                    .then_some(InitParam::ZeroChecksumAcceptable(super::Edmid::DTLS)),
            )
            .collect(),
        }
    }

    /// Takes our INIT out of the outgoing queue if it has not been sent yet (the only
    /// packet with verification tag 0 we build); whether it was there.
    fn withdraw_unsent_init(&mut self) -> bool {
        let is_init =
            |p: &Vec<u8>| p.len() > 12 && p[4..8] == [0; 4] && p[12] == super::ChunkType::INIT.0;
        match self.out.iter().position(is_init) {
            Some(at) => {
                self.out.remove(at);
                true
            }
            None => false,
        }
    }

    fn send_init(&mut self) {
        let init = Chunk::Init(self.init_chunk(self.cfg.interleaving));
        self.emit_packet(0, &[init]);
    }

    /// Cookie timestamps: microseconds since the start, fine enough to time the
    /// INIT-ACK's round trip on loopback.
    fn cookie_time_us(&self) -> u64 {
        self.now.saturating_duration_since(self.epoch).as_micros() as u64
    }

    /// State cookie (RFC 9260 §5.1.3): what we need to establish later, MACed so we keep no
    /// state until the COOKIE-ECHO comes back.
    fn make_cookie(&self, peer: &Init, my_tag: u32) -> Bytes {
        let mut body = Vec::with_capacity(COOKIE_BODY + 32);
        body.extend_from_slice(&peer.initiate_tag.to_be_bytes());
        body.extend_from_slice(&my_tag.to_be_bytes());
        body.extend_from_slice(&peer.initial_tsn.0.to_be_bytes());
        body.extend_from_slice(&self.my_initial_tsn.0.to_be_bytes());
        body.extend_from_slice(&peer.a_rwnd.to_be_bytes());
        body.extend_from_slice(&peer.num_outbound_streams.to_be_bytes());
        body.extend_from_slice(&peer.num_inbound_streams.to_be_bytes());
        let zero = peer
            .zero_checksum_acceptable()
            .is_some_and(|e| e == super::Edmid::DTLS);
        body.push(
            u8::from(peer.forward_tsn_supported())
                | (u8::from(zero) << 1)
                | (u8::from(peer.supports(super::ChunkType::I_DATA)) << 2)
                | (u8::from(peer.supports(super::ChunkType::I_FORWARD_TSN)) << 3)
                | (u8::from(peer.supports(super::ChunkType::RE_CONFIG)) << 4),
        );
        body.extend_from_slice(&self.cookie_time_us().to_be_bytes());
        let mac = self
            .cfg
            .provider
            .hmac(HashAlgorithm::Sha256, &self.cookie_secret, &[&body]);
        body.extend_from_slice(&mac);
        Bytes::from(body)
    }

    /// Open a cookie: (peer tag, my tag, peer initial TSN, my initial TSN, peer a_rwnd,
    /// peer outbound streams, peer inbound streams, forward-TSN).
    fn open_cookie(&self, c: &[u8]) -> Option<CookieContents> {
        if c.len() != COOKIE_BODY + 32 {
            return None;
        }
        let (body, mac) = c.split_at(COOKIE_BODY);
        let expected = self
            .cfg
            .provider
            .hmac(HashAlgorithm::Sha256, &self.cookie_secret, &[body]);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(mac, &expected[..])) {
            return None;
        }
        let u32_at = |i: usize| u32::from_be_bytes(body[i..i + 4].try_into().expect("4 bytes"));
        let u16_at = |i: usize| u16::from_be_bytes(body[i..i + 2].try_into().expect("2 bytes"));
        let time = u64::from_be_bytes(body[25..33].try_into().expect("8 bytes"));
        let age = Duration::from_micros(self.cookie_time_us().saturating_sub(time));
        Some(CookieContents {
            age,
            stale: age > COOKIE_LIFE,
            peer_tag: u32_at(0),
            my_tag: u32_at(4),
            peer_initial_tsn: Tsn(u32_at(8)),
            my_initial_tsn: Tsn(u32_at(12)),
            peer_rwnd: u32_at(16),
            peer_os: u16_at(20),
            peer_mis: u16_at(22),
            forward_tsn: body[24] & 1 != 0,
            zero_checksum: body[24] & 2 != 0,
            idata: body[24] & 4 != 0,
            iforward_tsn: body[24] & 8 != 0,
            reconfig: body[24] & 16 != 0,
        })
    }

    /// `initiator`: the association came from our INIT (the peer's INIT-ACK in `c`),
    /// not from answering the peer's INIT (its cookie in `c`).
    fn establish(&mut self, c: &CookieContents, initiator: bool) {
        self.peer_tag = c.peer_tag;
        self.my_tag = c.my_tag;
        self.my_initial_tsn = c.my_initial_tsn;
        self.rx_tsns.start(c.peer_initial_tsn);
        self.peer_rwnd = c.peer_rwnd as usize;
        // Both ends listed it: the peer (c.idata), and we in our INIT (`interleaving`) or
        // in the INIT-ACK that answered the peer's offer.
        self.idata = c.idata
            && if initiator {
                self.cfg.interleaving
            } else {
                self.answers_idata(true)
            };
        // With I-DATA, abandoning needs I-FORWARD-TSN (RFC 8260 §2.3).
        self.peer_forward_tsn = c.forward_tsn && (!self.idata || c.iforward_tsn);
        self.zero_checksum = self.cfg.zero_checksum && c.zero_checksum;
        // RFC 9260 §5.1.1: we send on at most as many streams as the peer takes (its MIS).
        self.outbound_streams = self.cfg.announced_outbound().min(c.peer_mis);
        self.peer_reconfig = c.reconfig;
        // Messages queued before we knew on streams the peer does not have wait for an
        // Add Outgoing Streams request (RFC 6525 §5.1.5).
        let beyond = self.outbound_streams;
        for m in self.queue.remove_where(|m| m.stream >= beyond) {
            self.queued_bytes -= (m.data.len() - m.offset).min(self.queued_bytes);
            if m.expires.is_some() {
                self.pr_outstanding -= 1;
            }
            self.reconf.held.push(m);
        }
        // RFC 9260 §5.1.1: the peer opens at most as many streams as we allow (our MIS).
        self.streams_in_limit = self.cfg.announced_inbound().min(c.peer_os);
        // Absolute TSNs start at 2^32 so that "one before the first" never underflows.
        self.next_tsn = 1 << 32;
        self.cum_ack = (1 << 32) - 1;
        self.advanced_ack = self.cum_ack;
        // RFC 6525 §5.1.1: request sequence numbers start at the initial TSN.
        self.reconf.my_seq = c.my_initial_tsn.0;
        self.reconf.peer_seq = c.peer_initial_tsn.0;
        self.timers
            .set_or_stop(Timer::Heartbeat, Some(self.now + self.heartbeat_interval));
        self.timers.stop(Timer::T1);
        self.cookie = None;
        self.pending_peer = None;
        if self.state != State::Established {
            self.state = State::Established;
            self.events.push_back(SctpEvent::Connected);
        }
    }

    /// Feed one SCTP packet (as DTLS decrypted it).
    pub fn handle_packet(&mut self, now: Instant, packet: Bytes) {
        self.tick(now);
        let policy = if self.cfg.zero_checksum {
            ChecksumPolicy::AcceptZero
        } else {
            ChecksumPolicy::Verify
        };
        let scratch = std::mem::take(&mut self.chunk_scratch);
        let mut p = match Packet::parse_reusing(packet, policy, scratch) {
            Ok(p) => p,
            Err(SctpError::Checksum) => {
                tracing::trace!("dropping SCTP packet: bad checksum");
                self.stats.checksum_drops += 1;
                return;
            }
            Err(e) => {
                tracing::trace!(error = %e, "dropping SCTP packet");
                self.stats.packets_dropped += 1;
                return;
            }
        };
        if p.destination_port != self.cfg.local_port || p.source_port != self.cfg.remote_port {
            self.stats.packets_dropped += 1;
            return;
        }
        if matches!(
            self.state,
            State::Closed | State::CookieWait | State::CookieEchoed | State::Failed
        ) && p.chunks.iter().any(|c| matches!(c, Chunk::ShutdownAck))
        {
            self.answer_ootb_shutdown_ack(p.verification_tag);
            self.chunk_scratch = std::mem::take(&mut p.chunks);
            return;
        }
        if self.state == State::Failed {
            self.stats.packets_dropped += 1;
            self.chunk_scratch = std::mem::take(&mut p.chunks);
            return;
        }
        // Verification tag rules (RFC 9260 §8.5, §8.5.1).
        let has_init = p.chunks.iter().any(|c| matches!(c, Chunk::Init(_)));
        let tag_ok = if has_init {
            p.verification_tag == 0 && p.chunks.len() == 1
        } else {
            match p.chunks.first() {
                Some(Chunk::Abort(a)) if a.tag_reflected => p.verification_tag == self.peer_tag,
                // RFC 9260 §8.5.1 (C): an end that had already closed answers our
                // SHUTDOWN-ACK with the tag it carried, the peer's own, and the T bit.
                Some(Chunk::ShutdownComplete(sc)) if sc.tag_reflected => {
                    p.verification_tag == self.peer_tag
                }
                Some(Chunk::CookieEcho(_)) => true,
                _ => p.verification_tag == self.my_tag,
            }
        };
        if !tag_ok {
            self.stats.packets_dropped += 1;
            return;
        }
        self.stats.packets_received += 1;
        let cum_before = self.rx_tsns.cum();
        let mut had_data = false;
        let mut chunks = std::mem::take(&mut p.chunks);
        for chunk in chunks.drain(..) {
            match chunk {
                Chunk::Init(init) => self.on_init(&init),
                Chunk::InitAck(init) => self.on_init_ack(&init),
                Chunk::CookieEcho(c) => self.on_cookie_echo(&c),
                Chunk::CookieAck => {
                    if self.state == State::CookieEchoed
                        && let Some(c) = self.pending_peer.take()
                    {
                        self.handshake_rtt_sample();
                        self.establish(&c, true);
                    }
                }
                Chunk::Data(d) if self.state.carries_data() => {
                    if self.idata {
                        // RFC 8260 §2.2.1: one or the other, never both.
                        self.abort_for(Violation::DataWhileInterleaving, None);
                        return;
                    }
                    had_data = true;
                    self.on_data(d);
                }
                Chunk::IData(d) if self.state.carries_data() => {
                    if !self.idata {
                        // As an endpoint without I-DATA would: type 0x40 says stop
                        // processing the packet (RFC 9260 §3.2); the association lives.
                        self.stats.packets_dropped += 1;
                        break;
                    }
                    had_data = true;
                    self.on_idata(d);
                }
                Chunk::IForwardTsn(f) if self.state.carries_data() && self.idata => {
                    had_data = true;
                    self.on_iforward_tsn(&f);
                }
                Chunk::Sack(s) if self.state.carries_data() => self.on_sack(&s, now),
                Chunk::ForwardTsn(f) if self.state.carries_data() => {
                    had_data = true;
                    self.on_forward_tsn(&f);
                }
                Chunk::ReConfig(r) if self.state.carries_data() => self.on_reconfig(r.params, now),
                Chunk::HeartbeatAck(h) => self.on_heartbeat_ack(&h, now),
                Chunk::Shutdown(sd) => self.on_shutdown(sd.cumulative_tsn_ack, now),
                Chunk::ShutdownAck
                    if matches!(self.state, State::ShutdownSent | State::ShutdownAckSent) =>
                {
                    self.emit_packet(
                        self.peer_tag,
                        &[Chunk::ShutdownComplete(super::ShutdownComplete {
                            tag_reflected: false,
                        })],
                    );
                    self.fail(CloseReason::ShutdownComplete);
                    return;
                }
                Chunk::ShutdownComplete(_) if self.state == State::ShutdownAckSent => {
                    self.fail(CloseReason::ShutdownComplete);
                    return;
                }
                Chunk::Heartbeat(h) => {
                    self.control
                        .push_back(Chunk::HeartbeatAck(Heartbeat { info: h.info }));
                }
                Chunk::Abort(a) => {
                    self.fail(CloseReason::PeerAbort(a.causes.first().cloned()));
                    return;
                }
                Chunk::Unknown(u) => match u.typ.unknown_action() {
                    UnknownAction::Stop | UnknownAction::StopAndReport => break,
                    _ => {}
                },
                _ => {}
            }
            if self.state == State::Failed {
                return;
            }
        }
        self.chunk_scratch = chunks;
        if self.rx_tsns.cum() > cum_before && !self.idata {
            self.collect_dead_fragments(cum_before);
        }
        if had_data {
            self.autotune_receive_window(now);
            self.packets_since_ack += 1;
            // Every second packet, and at once when something is out of order (RFC 9260 §6.2).
            if self.packets_since_ack >= 2 || self.rx_tsns.has_dups() || self.rx_tsns.has_gaps() {
                self.ack_now = true;
            }
            if !self.ack_due {
                self.ack_due = true;
                self.timers
                    .set(Timer::DelayedAck, now + self.cfg.delayed_ack);
            }
        }
        // A SACK that is due goes now rather than at the next poll: packets that arrive
        // together must still be acknowledged every second one, or the sender's window
        // (which grows per SACK, RFC 9260 §7.2.1) stalls. With data of our own to send,
        // the SACK rides along with it instead. Control chunks this packet called for
        // (a HEARTBEAT-ACK, a RE-CONFIG answer) share the packet: the packet builder
        // takes them and the SACK together, and nothing else, as no data waits.
        if self.ack_now && self.queue.is_empty() && self.marked_count == 0 {
            let mut buf = self.take_packet_buf();
            if self.write_packet(&mut buf) {
                self.out.push_back(buf);
            } else {
                self.recycle_packet_buf(buf);
            }
        }
        self.deliver();
        self.perform_deferred_reset();
        if self.state.carries_data() {
            self.timers
                .set(Timer::Heartbeat, now + self.heartbeat_interval);
        }
        self.maybe_shutdown();
    }

    /// A SHUTDOWN-ACK with no association to end: ours already closed (our
    /// SHUTDOWN-COMPLETE was lost, and the peer sends its SHUTDOWN-ACK again) or none
    /// was ever made. RFC 9260 §8.4 rule 5 (and §9.2 for COOKIE-WAIT and
    /// COOKIE-ECHOED): answer with SHUTDOWN-COMPLETE carrying the packet's own
    /// verification tag and the T bit, so the peer closes instead of retransmitting
    /// until its T2-shutdown gives up.
    fn answer_ootb_shutdown_ack(&mut self, vtag: u32) {
        self.stats.packets_dropped += 1;
        // One answer per packet, and only a few waiting at once: a flood of them makes
        // no more than that for the next poll to send.
        if self.out.len() >= MAX_OOTB_ANSWERS {
            return;
        }
        self.emit_packet(
            vtag,
            &[Chunk::ShutdownComplete(super::ShutdownComplete {
                tag_reflected: true,
            })],
        );
    }

    fn on_init(&mut self, init: &Init) {
        if init.initiate_tag == 0 {
            self.stats.packets_dropped += 1;
            return;
        }
        // In COOKIE-WAIT/ECHOED the INIT-ACK repeats our original INIT's tag (RFC 9260
        // §5.2.1); when established, a restart is not supported and the INIT is ignored.
        if self.state == State::Established {
            return;
        }
        if self.state == State::CookieWait && self.withdraw_unsent_init() {
            // Both ends started at once (WebRTC has both send INIT), and the peer's INIT
            // came before ours left: answering it alone makes one handshake instead of
            // two crossing ones (three packets fewer), as if we had been the listener.
            // The INIT-ACK below still carries the tag our INIT had.
            self.state = State::Closed;
            self.init_attempts = 0;
            self.timers.stop(Timer::T1);
        }
        let my_tag = self.my_tag;
        let idata = self.answers_idata(init.supports(super::ChunkType::I_DATA));
        let mut ack = self.init_chunk(idata);
        ack.initiate_tag = my_tag;
        ack.params
            .push(InitParam::StateCookie(self.make_cookie(init, my_tag)));
        self.emit_packet(init.initiate_tag, &[Chunk::InitAck(ack)]);
    }

    fn on_init_ack(&mut self, ack: &Init) {
        if self.state != State::CookieWait || ack.initiate_tag == 0 {
            return;
        }
        let Some(cookie) = ack.state_cookie().cloned() else {
            self.stats.packets_dropped += 1;
            return;
        };
        self.handshake_rtt_sample();
        self.handshake_sent = Some(self.now);
        self.peer_tag = ack.initiate_tag;
        self.pending_peer = Some(CookieContents {
            age: Duration::ZERO,
            stale: false,
            peer_tag: ack.initiate_tag,
            my_tag: self.my_tag,
            peer_initial_tsn: ack.initial_tsn,
            my_initial_tsn: self.my_initial_tsn,
            peer_rwnd: ack.a_rwnd,
            peer_os: ack.num_outbound_streams,
            peer_mis: ack.num_inbound_streams,
            forward_tsn: ack.forward_tsn_supported(),
            zero_checksum: ack
                .zero_checksum_acceptable()
                .is_some_and(|e| e == super::Edmid::DTLS),
            idata: ack.supports(super::ChunkType::I_DATA),
            iforward_tsn: ack.supports(super::ChunkType::I_FORWARD_TSN),
            reconfig: ack.supports(super::ChunkType::RE_CONFIG),
        });
        self.cookie = Some(cookie.clone());
        self.state = State::CookieEchoed;
        self.init_attempts = 1;
        self.timers
            .set_or_stop(Timer::T1, Some(self.now + self.rto));
        self.emit_packet(self.peer_tag, &[Chunk::CookieEcho(CookieEcho { cookie })]);
    }

    fn on_cookie_echo(&mut self, c: &CookieEcho) {
        let Some(contents) = self.open_cookie(&c.cookie) else {
            self.stats.packets_dropped += 1;
            return;
        };
        match self.state {
            State::Closed | State::CookieWait | State::CookieEchoed => {
                if contents.stale || (self.state != State::Closed && contents.my_tag != self.my_tag)
                {
                    self.stats.packets_dropped += 1;
                    return;
                }
                // Our INIT-ACK went out when the cookie was made: its round trip is the
                // first RTT sample of an end that did not send the INIT.
                if self.srtt.is_none() {
                    self.update_rto(contents.age);
                }
                self.establish(&contents, false);
            }
            State::Established => {
                // Our COOKIE-ACK was lost (RFC 9260 §5.2.4 case D): acknowledge again.
                if contents.my_tag != self.my_tag || contents.peer_tag != self.peer_tag {
                    self.stats.packets_dropped += 1;
                    return;
                }
            }
            // Shutting down or over: a COOKIE-ECHO changes nothing (RFC 9260 §9.2 lets
            // the shutdown run its course).
            _ => return,
        }
        self.emit_packet(self.peer_tag, &[Chunk::CookieAck]);
    }

    /// Hand back `n` bytes of delivered messages (with `deferred_release`): their room
    /// in the receive window opens again, and the peer hears of it at once when it was
    /// held back.
    pub fn release_received(&mut self, n: usize) {
        let n = n.min(self.unreleased);
        if n == 0 {
            return;
        }
        let window = self.window();
        let before = window.saturating_sub(self.received_bytes);
        self.unreleased -= n;
        self.received_bytes -= n.min(self.received_bytes);
        let after = window.saturating_sub(self.received_bytes);
        // A window update (RFC 9260 §6.2): the peer may have stopped at a full window.
        if before < window / 2 && after >= window / 2 && self.state.carries_data() {
            self.ack_now = true;
        }
    }

    /// Bytes the receive side charges against the window it advertises (a_rwnd):
    /// fragments held for reassembly, whole ordered messages waiting for their turn
    /// (each charged at least 64 bytes, see [`SctpConfig::receive_window`]), and (with
    /// `deferred_release`) delivered bytes not yet released. Between packets it is
    /// never above the window: a message taken past a full window is one handed over
    /// at once.
    pub fn receive_buffered(&self) -> usize {
        self.received_bytes
    }

    /// Items the receive side holds for the peer: DATA fragments and I-DATA fragments
    /// kept for reassembly, plus whole messages waiting for their turn. Each costs the
    /// window at least 64 bytes, so there are at most window / 64 of them.
    pub fn receive_held_chunks(&self) -> usize {
        self.received.len()
            + self
                .ireasm
                .values()
                .map(|m| m.fragments.len())
                .sum::<usize>()
            + self.waiting.len()
    }

    /// Bytes delivered but not yet released (`deferred_release`).
    pub fn unreleased(&self) -> usize {
        self.unreleased
    }

    fn build_sack(&mut self) -> Chunk {
        let gap_ack_blocks = self.rx_tsns.gap_ack_blocks();
        let a_rwnd = self.window().saturating_sub(self.received_bytes) as u32;
        self.ack_due = false;
        self.ack_now = false;
        self.timers.stop(Timer::DelayedAck);
        self.packets_since_ack = 0;
        Chunk::Sack(Sack {
            cumulative_tsn_ack: self.rx_tsns.cum_tsn(),
            a_rwnd,
            gap_ack_blocks,
            duplicate_tsns: self.rx_tsns.take_dups(),
        })
    }

    /// The ERROR chunk owed for chunks on streams that do not exist (RFC 9260 §6.5),
    /// to follow the SACK that acknowledges them.
    fn take_error_chunk(&mut self) -> Option<Chunk> {
        (!self.pending_errors.is_empty()).then(|| {
            Chunk::Error(super::ErrorChunk {
                causes: std::mem::take(&mut self.pending_errors),
            })
        })
    }

    /// The answer to our INIT or COOKIE-ECHO arrived: an RTT sample if it went once.
    fn handshake_rtt_sample(&mut self) {
        if let Some(sent) = self.handshake_sent.take() {
            self.update_rto(self.now.saturating_duration_since(sent));
        }
    }

    fn update_rto(&mut self, r: Duration) {
        // RFC 6298 §2 with alpha 1/8, beta 1/4.
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(srtt) => {
                let diff = srtt.abs_diff(r);
                self.rttvar = self.rttvar * 3 / 4 + diff / 4;
                self.srtt = Some(srtt * 7 / 8 + r / 8);
            }
        }
        let rto = self.srtt.unwrap_or(r) + (self.rttvar * 4).max(Duration::from_millis(1));
        self.rto = rto.clamp(self.cfg.rto_min, self.cfg.rto_max);
    }

    fn on_sack(&mut self, s: &Sack, now: Instant) {
        let base = self.my_initial_tsn.add(self.cum_ack as u32);
        let cum = (self.cum_ack as i64 + i64::from(s.cumulative_tsn_ack.offset_from(base))) as u64;
        if cum < self.cum_ack || cum >= self.next_tsn {
            // Old or bogus (acknowledges what we never sent): ignore (RFC 9260 §6.2.1).
            return;
        }
        let mut bytes_acked = 0usize;
        // When the last chunk that measures the path left; the sample is taken once.
        let mut rtt_sent_at = None;
        // Acknowledged bytes of a run of chunks on one stream: consecutive chunks are
        // mostly one stream's, so the per-stream count is looked up once per run.
        let mut run: Option<(u16, usize)> = None;
        let advanced = cum > self.cum_ack;
        self.rack_on_sack();
        // Cumulatively acknowledged.
        while let Some((_, f)) = self.inflight.pop_through(cum) {
            if f.has_policy() {
                self.pr_outstanding -= 1;
            }
            if f.marked {
                self.marked_count -= 1;
            }
            if !f.acked && !f.abandoned {
                let len = f.chunk.user_data.len();
                bytes_acked += len;
                Self::settle_run(
                    &mut self.unacked_by_stream,
                    &mut run,
                    f.chunk.stream_id.0,
                    len,
                );
                if !f.marked {
                    self.flight_bytes -= len.min(self.flight_bytes);
                }
                self.rack
                    .on_delivered(now, f.sent_at, f.sent_seq, f.retransmitted);
                // Only a chunk acknowledged for the first time, and sent once, measures
                // the path (Karn); one gap-acked earlier waited here for a hole to fill.
                if !f.retransmitted {
                    rtt_sent_at = Some(f.sent_at);
                }
            }
        }
        self.cum_ack = cum;
        // Gap blocks.
        let mut highest_gap_acked = cum;
        for b in &s.gap_ack_blocks {
            let (lo, hi) = (cum + u64::from(b.start), cum + u64::from(b.end));
            if b.start == 0 || hi < lo {
                continue;
            }
            for (t, f) in self.inflight.range_mut(lo..=hi) {
                if !f.acked && !f.abandoned {
                    f.acked = true;
                    let len = f.chunk.user_data.len();
                    bytes_acked += len;
                    Self::settle_run(
                        &mut self.unacked_by_stream,
                        &mut run,
                        f.chunk.stream_id.0,
                        len,
                    );
                    if f.marked {
                        self.marked_count -= 1;
                    } else {
                        self.flight_bytes -= len.min(self.flight_bytes);
                    }
                    f.marked = false;
                    if !f.retransmitted {
                        rtt_sent_at = Some(f.sent_at);
                    }
                    self.rack
                        .on_delivered(now, f.sent_at, f.sent_seq, f.retransmitted);
                }
                highest_gap_acked = highest_gap_acked.max(t);
            }
        }
        if let Some((sid, n)) = run {
            Self::settle(&mut self.unacked_by_stream, sid, n);
        }
        let rtt_sample = rtt_sent_at.map(|at| now.saturating_duration_since(at));
        if let Some(r) = rtt_sample {
            self.update_rto(r);
            self.rack.on_rtt_sample(r);
        }
        // Miss indications and fast retransmit (RFC 9260 §7.2.4).
        let mut fast = false;
        if highest_gap_acked > cum {
            for (_, f) in self.inflight.range_mut(0..=highest_gap_acked - 1) {
                // Chunks already waiting for a retransmission are not counted again.
                if !f.acked && !f.abandoned && !f.marked && !f.fast_retransmitted {
                    f.misses = f.misses.saturating_add(1);
                    if f.misses >= 3 {
                        f.mark_lost(&mut self.flight_bytes, &mut self.marked_count);
                        fast = true;
                    }
                }
            }
        }
        if let Some(r) = self.recovery
            && cum >= r
        {
            self.recovery = None;
        }
        // And by time (RFC 8985): lost retransmissions too, without a third SACK.
        fast |= self.rack_detect_losses(now);
        if fast {
            self.on_losses_found(now);
        }
        // Congestion window growth (RFC 9260 §7.2.1, §7.2.2). "Window in use" is
        // remembered from the last send, since a burst of SACKs drains the flight
        // before we send again.
        self.cc.on_ack(
            now,
            &Ack {
                bytes_acked,
                cumulative_advanced: advanced,
                in_fast_recovery: self.recovery.is_some(),
                window_limited: self.cwnd_limited,
                flight_bytes: self.flight_bytes,
                rtt: rtt_sample,
            },
        );
        self.peer_rwnd = (s.a_rwnd as usize).saturating_sub(self.flight_bytes);
        if advanced {
            self.t3_strikes = 0;
            // New data got through: drop the T3 backoff, as TCP does (Linux resets its
            // backoff on an ACK of new data); otherwise a lossy path keeps RTO at its
            // ceiling until a chunk that was never retransmitted is acknowledged.
            if let Some(srtt) = self.srtt {
                self.rto = (srtt + (self.rttvar * 4).max(Duration::from_millis(1)))
                    .clamp(self.cfg.rto_min, self.cfg.rto_max);
            }
        }
        // RFC 3758 §3.5 C1–C3: chunks abandoned while a hole lay before them become
        // skippable once the cumulative ack reaches them.
        let old_adv = self.advanced_ack;
        self.walk_advanced_ack();
        if self.advanced_ack > self.cum_ack {
            // Resent when the peer did not take our FORWARD-TSN, or when it now
            // reaches further than the one sent.
            // Or when the peer took one that named only part of what was abandoned.
            self.forward_tsn_due |= !advanced
                || self.advanced_ack > old_adv.max(cum)
                || (cum >= self.forward_tsn_reach && self.advanced_ack > self.forward_tsn_reach);
        }
        if self.inflight.values().all(|f| f.acked || f.abandoned)
            && self.advanced_ack == self.cum_ack
        {
            self.timers.stop(Timer::T3Rtx);
        } else if advanced {
            self.timers.set(Timer::T3Rtx, now + self.rto);
        }
        self.arm_tail_loss_probe(now);
    }

    /// Advance time.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.tick(now);
        if self.state == State::Failed {
            return;
        }
        if self.timers.expired(Timer::T1, now) {
            if self.init_attempts >= self.cfg.max_init_retransmits {
                self.fail(CloseReason::SetupTimeout);
                return;
            }
            self.init_attempts += 1;
            // Its answer may be to either copy: no RTT sample from it (Karn).
            self.handshake_sent = None;
            self.rto = (self.rto * 2).min(self.cfg.rto_max);
            match self.state {
                State::CookieWait => self.send_init(),
                State::CookieEchoed => {
                    if let Some(c) = self.cookie.clone() {
                        self.emit_packet(
                            self.peer_tag,
                            &[Chunk::CookieEcho(CookieEcho { cookie: c })],
                        );
                    }
                }
                _ => {}
            }
            self.timers.set(Timer::T1, now + self.rto);
        }
        if self.timers.expired(Timer::DelayedAck, now) {
            self.ack_now = true;
        }
        if self.timers.expired(Timer::T2Shutdown, now) {
            self.t3_strikes += 1;
            if self.t3_strikes > self.cfg.max_retransmits {
                self.fail(CloseReason::ShutdownTimeout);
                return;
            }
            self.rto = (self.rto * 2).min(self.cfg.rto_max);
            self.timers.set(Timer::T2Shutdown, now + self.rto);
            match self.state {
                State::ShutdownSent => self.send_shutdown(),
                State::ShutdownAckSent => self.emit_packet(self.peer_tag, &[Chunk::ShutdownAck]),
                _ => self.timers.stop(Timer::T2Shutdown),
            }
        }
        if self.timers.expired(Timer::Reconfig, now) {
            self.timers.set(Timer::Reconfig, now + self.rto);
            self.queue_reset_request();
        }
        if self.timers.expired(Timer::Heartbeat, now) && self.state == State::Established {
            if self.heartbeat_sent.is_some() {
                // The last one went unanswered.
                self.t3_strikes += 1;
                if self.t3_strikes > self.cfg.max_retransmits {
                    self.fail(CloseReason::HeartbeatTimeout);
                    return;
                }
            }
            if self.inflight.is_empty() {
                let nonce = self.rng_next();
                let hb = Heartbeat::with_sender_info(&nonce.to_be_bytes())
                    .unwrap_or(Heartbeat { info: Bytes::new() });
                self.heartbeat_sent = Some((now, nonce));
                self.control.push_back(Chunk::Heartbeat(hb));
                self.timers
                    .set(Timer::Heartbeat, now + self.rto.max(Duration::from_secs(1)));
            } else {
                self.timers
                    .set(Timer::Heartbeat, now + self.heartbeat_interval);
            }
        }
        self.abandon_expired(now);
        if self.timers.expired(Timer::RackReorder, now) {
            self.timers.stop(Timer::RackReorder);
            if self.rack_detect_losses(now) {
                self.on_losses_found(now);
            }
        }
        if self.timers.expired(Timer::Pacing, now) {
            // Nothing to do but let the next poll send.
            self.timers.stop(Timer::Pacing);
        }
        if self.timers.expired(Timer::TailLossProbe, now) {
            self.timers.stop(Timer::TailLossProbe);
            self.on_tail_loss_probe(now);
        }
        if self.timers.expired(Timer::T3Rtx, now) {
            self.stats.t3_expiries += 1;
            self.t3_strikes += 1;
            if self.t3_strikes > self.cfg.max_retransmits {
                self.fail(CloseReason::RetransmitTimeout);
                return;
            }
            self.cc.on_rto(now);
            self.recovery = None;
            self.rto = (self.rto * 2).min(self.cfg.rto_max);
            // Everything unacknowledged leaves the flight until it is sent again.
            if self.advanced_ack > self.cum_ack {
                self.forward_tsn_due = true;
            }
            for f in self.inflight.values_mut() {
                if !f.acked && !f.abandoned {
                    if !f.marked {
                        self.marked_count += 1;
                    }
                    f.marked = true;
                    // Whatever acknowledges it now may answer either copy (Karn).
                    f.retransmitted = true;
                    f.fast_retransmitted = false;
                    f.misses = 0;
                }
            }
            self.flight_bytes = 0;
            self.timers.set(Timer::T3Rtx, now + self.rto);
        }
    }

    /// Bookkeeping that must always hold; checked in debug builds.
    fn debug_check(&self) {
        if cfg!(debug_assertions) {
            let flight: usize = self
                .inflight
                .values()
                .filter(|f| !f.acked && !f.marked && !f.abandoned)
                .map(|f| f.chunk.user_data.len())
                .sum();
            debug_assert_eq!(flight, self.flight_bytes, "flight bytes out of step");
            let mut by_stream: BTreeMap<u16, usize> = BTreeMap::new();
            for m in self.queue.iter().chain(&self.reconf.held) {
                *by_stream.entry(m.stream).or_default() += m.data.len() - m.offset;
            }
            for f in self.inflight.values().filter(|f| !f.acked && !f.abandoned) {
                *by_stream.entry(f.chunk.stream_id.0).or_default() += f.chunk.user_data.len();
            }
            by_stream.retain(|_, v| *v > 0);
            debug_assert_eq!(
                by_stream, self.unacked_by_stream,
                "buffered amounts out of step"
            );
            let pr = self.inflight.values().filter(|f| f.has_policy()).count()
                + self.queue.iter().filter(|m| m.expires.is_some()).count();
            debug_assert_eq!(pr, self.pr_outstanding, "PR-SCTP count out of step");
            let marked = self.inflight.values().filter(|f| f.marked).count();
            debug_assert_eq!(marked, self.marked_count, "marked count out of step");
            // The receive window's charge is the sum of what is held; checked while what
            // is held is small enough to walk on every poll.
            if self.received.len() + self.ireasm.len() + self.waiting.len() <= 512 {
                let held = self
                    .received
                    .values()
                    .map(|d| charge(d.user_data.len()))
                    .chain(self.ireasm.values().map(|m| m.charged))
                    .chain(self.streaming.iter().map(|m| m.charged))
                    .chain(self.waiting.values().map(|(_, d)| charge(d.len())))
                    .sum::<usize>()
                    + self.unreleased;
                debug_assert_eq!(held, self.received_bytes, "receive charge out of step");
            }
            let unacked = self.inflight.values().any(|f| !f.acked && !f.abandoned);
            debug_assert!(
                !unacked || self.timers.is_set(Timer::T3Rtx) || !self.state.carries_data(),
                "unacknowledged data without a retransmission timer"
            );
        }
    }

    fn on_heartbeat_ack(&mut self, h: &Heartbeat, now: Instant) {
        let Some((sent, nonce)) = self.heartbeat_sent else {
            return;
        };
        if h.info.len() >= 8 && h.info[h.info.len() - 8..] == nonce.to_be_bytes() {
            self.heartbeat_sent = None;
            self.t3_strikes = 0;
            self.update_rto(now.saturating_duration_since(sent));
        }
    }

    fn on_shutdown(&mut self, cum: Tsn, now: Instant) {
        if !self.state.carries_data() {
            return;
        }
        // The cumulative TSN in SHUTDOWN acknowledges like a SACK (RFC 9260 §9.2).
        let sack = Sack {
            cumulative_tsn_ack: cum,
            a_rwnd: (self.peer_rwnd + self.flight_bytes) as u32,
            gap_ack_blocks: Vec::new(),
            duplicate_tsns: Vec::new(),
        };
        self.on_sack(&sack, now);
        match self.state {
            State::ShutdownSent => {
                self.state = State::ShutdownAckSent;
                self.timers.set(Timer::T2Shutdown, now + self.rto);
                self.emit_packet(self.peer_tag, &[Chunk::ShutdownAck]);
            }
            State::Established | State::ShutdownPending => {
                self.state = State::ShutdownReceived;
                // The peer takes no new streams now: what waits for one cannot go.
                self.refuse_held(|_| true);
            }
            _ => {}
        }
    }

    /// Send SHUTDOWN / SHUTDOWN-ACK once nothing of ours is queued or unacknowledged.
    fn maybe_shutdown(&mut self) {
        // Messages waiting for the peer to add their streams are queued too: they go (or
        // are refused) before SHUTDOWN.
        let idle = self.queue.is_empty() && self.inflight.is_empty() && self.reconf.held.is_empty();
        let now = self.now;
        match self.state {
            State::ShutdownPending if idle => {
                self.state = State::ShutdownSent;
                self.timers.set(Timer::T2Shutdown, now + self.rto);
                self.send_shutdown();
            }
            State::ShutdownReceived if idle => {
                self.state = State::ShutdownAckSent;
                self.timers.set(Timer::T2Shutdown, now + self.rto);
                self.emit_packet(self.peer_tag, &[Chunk::ShutdownAck]);
            }
            _ => {}
        }
    }

    fn send_shutdown(&mut self) {
        let cum = self.rx_tsns.cum_tsn();
        self.emit_packet(
            self.peer_tag,
            &[Chunk::Shutdown(super::Shutdown {
                cumulative_tsn_ack: cum,
            })],
        );
    }

    /// Append the next packet to send to `buf` and return true, or return false when
    /// there is none now. The zero-copy alternative to [`Output::Transmit`]: give it
    /// the buffer the lower layer seals in place (see `Dtls::send_with`). Events and
    /// deadlines still come from [`Association::poll_output`].
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> bool {
        if let Some(p) = self.out.pop_front() {
            buf.extend_from_slice(&p);
            self.recycle_packet_buf(p);
            return true;
        }
        if self.state == State::Failed {
            return false;
        }
        let sent = self.write_packet(buf);
        self.debug_check();
        sent
    }

    /// Whether I-DATA (RFC 8260) is in use: both ends offered it.
    pub fn uses_interleaving(&self) -> bool {
        self.idata
    }

    /// Next output: a packet for the layer below, an event, or the next deadline.
    pub fn poll_output(&mut self) -> Output<SctpEvent, Bytes> {
        if self.out.is_empty() && self.state != State::Failed {
            self.fill_packets();
        }
        self.debug_check();
        if let Some(p) = self.out.pop_front() {
            return Output::Transmit(Bytes::from(p));
        }
        if let Some(e) = self.events.pop_front() {
            return Output::Event(e);
        }
        let now = self.now;
        Output::Timeout(
            self.poll_timeout()
                .map_or(now + IDLE_TIMEOUT, |at| at.max(now)),
        )
    }

    /// The next event, without building packets: for a caller that takes packets
    /// through [`Association::poll_transmit`] a batch at a time, as quinn's `poll` sits
    /// beside its `poll_transmit`. [`Association::poll_output`] would first build every
    /// packet there is to send into owned buffers, the copy `poll_transmit` exists to
    /// avoid. Deadlines come from [`Association::poll_timeout`].
    pub fn poll_event(&mut self) -> Option<SctpEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called, if a timer is
    /// armed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_expiry()
    }
}

#[derive(Debug, Clone, Copy)]
struct CookieContents {
    /// Time since the cookie was made (our INIT-ACK went out).
    age: Duration,
    /// Older than Valid.Cookie.Life: good to confirm an existing association, not to
    /// create one.
    stale: bool,
    peer_tag: u32,
    my_tag: u32,
    peer_initial_tsn: Tsn,
    my_initial_tsn: Tsn,
    peer_rwnd: u32,
    peer_os: u16,
    peer_mis: u16,
    forward_tsn: bool,
    zero_checksum: bool,
    idata: bool,
    iforward_tsn: bool,
    reconfig: bool,
}

impl Layer for Association {
    type Event = SctpEvent;

    fn handle_packet(&mut self, now: Instant, packet: Bytes) {
        Association::handle_packet(self, now, packet);
    }

    fn handle_timeout(&mut self, now: Instant) {
        Association::handle_timeout(self, now);
    }

    fn poll_output(&mut self) -> Output<SctpEvent, Bytes> {
        Association::poll_output(self)
    }
}
