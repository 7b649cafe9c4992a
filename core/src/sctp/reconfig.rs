//! Stream reset (RFC 6525) as data channels use it (RFC 8831 §6.7): closing a channel
//! resets our outgoing stream with an Outgoing SSN Reset Request, and the peer's
//! request resets our incoming one once every TSN before it has arrived (§5.2.2).
//! Streams are added both ways (§5.1.5, §5.2.5): a message on a stream the peer does
//! not have waits for our Add Outgoing Streams request, and the peer's is granted up to
//! our configured stream count. Add Incoming Streams and SSN/TSN resets are declined.
//!
//! A child module of `association.rs` (declared there): a reset touches the send queue,
//! the receive side's per-stream state and the events.

use std::time::Instant;

use super::{Association, COMMON_HEADER, SctpEvent, Timer, charge};
use crate::sctp::sendq::OutMessage;
use crate::sctp::{Chunk, ReConfig, ReconfigParam, ReconfigResult, ReconfigSeq, Sid, Tsn};

/// The association's stream resets, ours and the peer's (RFC 6525 §5.1, §5.2).
#[derive(Debug, Default)]
pub(super) struct ReconfigState {
    /// Our outgoing streams being reset: asked for, not yet confirmed; closed to sends.
    pub(super) closing: Vec<u16>,
    /// Of those, the ones not yet in a request.
    pub(super) pending: Vec<u16>,
    /// Our next request sequence number (§5.1.1: starts at our initial TSN).
    pub(super) my_seq: u32,
    /// The request in flight: its sequence number, streams, and our last TSN before it.
    pub(super) outstanding: Option<(u32, Vec<u16>, Tsn)>,
    /// The peer's next request sequence number.
    pub(super) peer_seq: u32,
    /// Our answer to the peer's last request, repeated if it asks again.
    pub(super) last_response: Option<(u32, ReconfigResult)>,
    /// The peer's request waiting for TSNs before it: sequence number, last TSN
    /// (absolute), streams.
    pub(super) deferred_incoming: Option<(u32, u64, Vec<u16>)>,
    /// Messages on streams at or above the outbound stream count, in the order sent,
    /// waiting for the peer to add streams. The application's own data, bounded by what
    /// it sends, as the send queue is.
    pub(super) held: Vec<OutMessage>,
    /// Our Add Outgoing Streams request in flight: its sequence number and how many
    /// streams it asks for.
    pub(super) add_outstanding: Option<(u32, u16)>,
}

impl Association {
    /// Asks the peer to reset the streams waiting for it (RFC 6525 §5.1.2), one request
    /// at a time (§5.1.1: a sender has at most one outstanding).
    pub(super) fn start_reset_request(&mut self, now: Instant) {
        self.start_add_streams_request(now);
        let mtu = self.cfg.mtu;
        // One request of ours in flight at a time, an add or a reset (§5.1.1).
        if self.reconf.outstanding.is_none()
            && self.reconf.add_outstanding.is_none()
            && !self.reconf.pending.is_empty()
        {
            // Streams with queued messages wait until those are cut into chunks.
            // As many streams as one request carries within a packet (2 bytes each
            // after the chunk, parameter and packet headers); the rest wait their turn.
            let fit = mtu.saturating_sub(COMMON_HEADER + 4 + 16) / 2;
            let ready: Vec<u16> = self
                .reconf
                .pending
                .iter()
                .copied()
                .filter(|s| !self.queue.has_stream(*s))
                .take(fit.max(1))
                .collect();
            if !ready.is_empty() {
                self.reconf.pending.retain(|s| !ready.contains(s));
                let seq = self.reconf.my_seq;
                self.reconf.my_seq = seq.wrapping_add(1);
                let last_tsn = self.my_initial_tsn.add((self.next_tsn - 1) as u32);
                self.reconf.outstanding = Some((seq, ready, last_tsn));
                self.timers.set(Timer::Reconfig, now + self.rto);
                self.queue_reset_request();
            }
        }
    }

    /// Asks the peer for the streams held messages need (RFC 6525 §5.1.5), once no other
    /// request of ours is in flight; refuses at once what cannot be had: streams beyond
    /// our configured count, or any when the peer has no RE-CONFIG.
    fn start_add_streams_request(&mut self, now: Instant) {
        if self.reconf.held.is_empty()
            || self.reconf.add_outstanding.is_some()
            || self.reconf.outstanding.is_some()
        {
            return;
        }
        let cap = self.cfg.streams;
        if !self.peer_reconfig {
            self.refuse_held(|_| true);
        } else {
            self.refuse_held(|s| s >= cap);
        }
        let Some(highest) = self.reconf.held.iter().map(|m| m.stream).max() else {
            return;
        };
        let add = highest + 1 - self.outbound_streams;
        let seq = self.reconf.my_seq;
        self.reconf.my_seq = seq.wrapping_add(1);
        self.reconf.add_outstanding = Some((seq, add));
        self.timers.set(Timer::Reconfig, now + self.rto);
        self.queue_reset_request();
    }

    /// Drops the held messages on streams `refused` picks, and says so.
    pub(super) fn refuse_held(&mut self, refused: impl Fn(u16) -> bool) {
        let mut streams: Vec<u16> = Vec::new();
        let mut keep = Vec::new();
        for m in std::mem::take(&mut self.reconf.held) {
            if refused(m.stream) {
                Self::settle(&mut self.unacked_by_stream, m.stream, m.data.len());
                if !streams.contains(&m.stream) {
                    streams.push(m.stream);
                }
            } else {
                keep.push(m);
            }
        }
        self.reconf.held = keep;
        // The peer never had these streams: a reset asked for them (a channel closed
        // while it waited) has nothing to reset, and must not keep the ids closed.
        self.reconf.closing.retain(|s| !streams.contains(s));
        self.reconf.pending.retain(|s| !streams.contains(s));
        if !streams.is_empty() {
            self.events.push_back(SctpEvent::StreamsRefused { streams });
        }
    }

    /// Sends (again) the request in flight, a reset or an add.
    pub(super) fn queue_reset_request(&mut self) {
        if let Some((seq, new_streams)) = self.reconf.add_outstanding {
            self.control.push_back(Chunk::ReConfig(ReConfig {
                params: vec![ReconfigParam::AddOutgoingStreams {
                    request_seq: ReconfigSeq(seq),
                    new_streams,
                }],
            }));
        }
        let Some((seq, streams, last_tsn)) = self.reconf.outstanding.clone() else {
            return;
        };
        self.control.push_back(Chunk::ReConfig(ReConfig {
            params: vec![ReconfigParam::OutgoingSsnResetRequest {
                request_seq: ReconfigSeq(seq),
                response_seq: ReconfigSeq(self.reconf.peer_seq.wrapping_sub(1)),
                last_tsn,
                streams: streams.into_iter().map(Sid).collect(),
            }],
        }));
    }

    /// Whether the peer's request `seq` is the next one (taken: the expected sequence
    /// number moves on). Otherwise it is answered here: a retransmission of the last one
    /// as before, anything else with Bad Sequence Number (RFC 6525 §5.2.1).
    fn take_new_request(&mut self, seq: u32) -> bool {
        if seq == self.reconf.peer_seq {
            self.reconf.peer_seq = seq.wrapping_add(1);
            return true;
        }
        let result = if seq == self.reconf.peer_seq.wrapping_sub(1) {
            match self.reconf.last_response {
                Some((s, r)) if s == seq => r,
                _ => ReconfigResult::InProgress,
            }
        } else {
            ReconfigResult::ErrorBadSequenceNumber
        };
        self.respond_reconfig(seq, result);
        false
    }

    /// RE-CONFIG (RFC 6525 §5.2).
    pub(super) fn on_reconfig(&mut self, params: Vec<ReconfigParam>, now: Instant) {
        for p in params {
            match p {
                ReconfigParam::OutgoingSsnResetRequest {
                    request_seq,
                    last_tsn,
                    streams,
                    ..
                } => {
                    let seq = request_seq.0;
                    if self.take_new_request(seq) {
                        let last = self.rx_tsns.abs(last_tsn);
                        let streams: Vec<u16> = streams.iter().map(|s| s.0).collect();
                        if self.rx_tsns.cum() >= last {
                            self.reset_incoming(&streams);
                            self.respond_reconfig(seq, ReconfigResult::SuccessPerformed);
                        } else {
                            // Data before the reset is still missing (RFC 6525 §5.2.2).
                            self.reconf.deferred_incoming = Some((seq, last, streams));
                            self.respond_reconfig(seq, ReconfigResult::InProgress);
                        }
                    }
                }
                ReconfigParam::AddOutgoingStreams {
                    request_seq,
                    new_streams,
                } => {
                    // The peer adds streams it sends on (§5.2.5): granted while our
                    // inbound streams stay within what we configured (each costs
                    // receive state, counted in the memory budget).
                    let seq = request_seq.0;
                    if self.take_new_request(seq) {
                        let total = u32::from(self.streams_in_limit) + u32::from(new_streams);
                        let result = if total <= u32::from(self.cfg.streams) {
                            self.streams_in_limit = total as u16;
                            ReconfigResult::SuccessPerformed
                        } else {
                            ReconfigResult::Denied
                        };
                        self.respond_reconfig(seq, result);
                    }
                }
                ReconfigParam::IncomingSsnResetRequest { request_seq, .. }
                | ReconfigParam::SsnTsnResetRequest { request_seq }
                | ReconfigParam::AddIncomingStreams { request_seq, .. } => {
                    // WebRTC only resets outgoing streams and adds its own; the rest is
                    // declined.
                    let seq = request_seq.0;
                    if seq == self.reconf.peer_seq {
                        self.reconf.peer_seq = seq.wrapping_add(1);
                    }
                    self.respond_reconfig(seq, ReconfigResult::Denied);
                }
                ReconfigParam::Response {
                    response_seq,
                    result,
                    ..
                } => {
                    if let Some((seq, add)) = self.reconf.add_outstanding
                        && response_seq == ReconfigSeq(seq)
                    {
                        self.on_add_streams_response(add, result, now);
                        continue;
                    }
                    let Some((seq, streams, _)) = self.reconf.outstanding.clone() else {
                        continue;
                    };
                    if response_seq != ReconfigSeq(seq) {
                        continue;
                    }
                    match result {
                        ReconfigResult::InProgress => {
                            self.timers.set(Timer::Reconfig, now + self.rto);
                        }
                        ReconfigResult::SuccessPerformed | ReconfigResult::SuccessNothingToDo => {
                            self.reconf.outstanding = None;
                            self.timers.stop(Timer::Reconfig);
                            for s in &streams {
                                self.queue.reset_sequence(*s);
                            }
                            self.reconf.closing.retain(|s| !streams.contains(s));
                            self.events.push_back(SctpEvent::StreamsReset {
                                streams,
                                incoming: false,
                            });
                        }
                        _ => {
                            // Refused: the streams stay as they were, but closed to us.
                            self.reconf.outstanding = None;
                            self.timers.stop(Timer::Reconfig);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// The peer's answer to our Add Outgoing Streams request.
    fn on_add_streams_response(&mut self, add: u16, result: ReconfigResult, now: Instant) {
        match result {
            ReconfigResult::InProgress => {
                self.timers.set(Timer::Reconfig, now + self.rto);
                return;
            }
            ReconfigResult::SuccessPerformed | ReconfigResult::SuccessNothingToDo => {
                self.outbound_streams = self.outbound_streams.saturating_add(add);
                let limit = self.outbound_streams;
                let (ready, wait): (Vec<_>, Vec<_>) = std::mem::take(&mut self.reconf.held)
                    .into_iter()
                    .partition(|m| m.stream < limit);
                self.reconf.held = wait;
                for m in ready {
                    self.enqueue(m);
                }
                self.events
                    .push_back(SctpEvent::OutgoingStreamsAdded { outbound: limit });
            }
            _ => self.refuse_held(|_| true),
        }
        self.reconf.add_outstanding = None;
        self.timers.stop(Timer::Reconfig);
    }

    pub(super) fn respond_reconfig(&mut self, seq: u32, result: ReconfigResult) {
        self.reconf.last_response = Some((seq, result));
        self.control.push_back(Chunk::ReConfig(ReConfig {
            params: vec![ReconfigParam::Response {
                response_seq: ReconfigSeq(seq),
                result,
                next_tsns: None,
            }],
        }));
    }

    pub(super) fn reset_incoming(&mut self, streams: &[u16]) {
        let all: Vec<u16> = if streams.is_empty() {
            self.streams_in.keys().copied().collect()
        } else {
            streams.to_vec()
        };
        for s in &all {
            if self.streams_in.remove(s).is_some() {
                let keys: Vec<(u16, u64)> = self
                    .waiting
                    .range((*s, 0)..=(*s, u64::MAX))
                    .map(|(&k, _)| k)
                    .collect();
                for k in keys {
                    if let Some((_, d)) = self.waiting.remove(&k) {
                        self.received_bytes -= charge(d.len()).min(self.received_bytes);
                    }
                }
            }
        }
        self.events.push_back(SctpEvent::StreamsReset {
            streams: all,
            incoming: true,
        });
    }

    pub(super) fn perform_deferred_reset(&mut self) {
        if let Some((seq, last, _)) = &self.reconf.deferred_incoming
            && self.rx_tsns.cum() >= *last
        {
            let seq = *seq;
            let (_, _, streams) = self.reconf.deferred_incoming.take().expect("checked");
            // Deliver what the reset follows before the stream starts over.
            self.deliver();
            self.reset_incoming(&streams);
            self.respond_reconfig(seq, ReconfigResult::SuccessPerformed);
        }
    }
}
