//! The receive side: admitting DATA and I-DATA against the window (RFC 9260 §6.2,
//! §6.5), copying in-order fragments into their message as they come, reassembling the
//! rest (RFC 9260 §6.9, RFC 8260 §2.1), and delivering whole messages in stream order.
//!
//! A child module of `association.rs` (declared there), whose state it works on: the
//! TSN tracker says which TSNs arrived, this decides what is held and handed over.

use bytes::Bytes;

use super::{
    Association, CHUNK_CHARGE, MAX_ERROR_CAUSES, REASSEMBLY_CHARGE, STREAMING_GUESS_MAX, SctpEvent,
    Streaming, charge,
};
use crate::sctp::{Data, ErrorCause, IData, Ppid, Sid, Ssn, Tsn, Violation};

impl Association {
    /// How far past the cumulative TSN a TSN may lie and still be taken. Every chunk
    /// held costs at least [`CHUNK_CHARGE`] of the window, so a TSN further out could
    /// only be held by breaking the window we advertised: such TSNs are "above the
    /// window" and dropped unacknowledged (RFC 9260 §6.2). It also bounds the runs the
    /// gap reports keep, whatever arrives acknowledged but not held.
    pub(super) fn tsn_horizon(&self) -> u64 {
        (self.window() / CHUNK_CHARGE).min(1 << 20) as u64
    }

    /// A whole message at the cumulative TSN's next TSN that is handed over at once
    /// (unordered, or the one its stream waits for) is taken even when the window is
    /// full: holding it costs nothing, and it may be the message that lets waiting
    /// ones go, so a peer that filled the window with messages behind a missing one
    /// cannot wedge the association. Not with `deferred_release`, where delivered
    /// bytes stay counted until the application hands them back.
    pub(super) fn delivers_at_once(&self, abs: u64, sid: u16, unordered: bool, seq: u32) -> bool {
        if self.cfg.deferred_release || abs != self.rx_tsns.cum() + 1 || self.streaming.is_some() {
            return false;
        }
        unordered
            || self.streams_in.get(&sid).map_or(seq == 0, |s| {
                if self.idata {
                    s.next_mid == seq
                } else {
                    u32::from(s.next_ssn.0) == seq
                }
            })
    }

    /// The chunk that fills the hole at the cumulative TSN, with data held above it, is
    /// taken over a full window, up to one maximal message beyond it: a window full of
    /// data held behind a hole would otherwise refuse the very retransmission that fills
    /// the hole, and neither end could move again (what waits behind the hole is all
    /// that could free the window). In-order data gets no such room, and the extra is
    /// bounded, so a flood of undeliverable messages, or a reader that holds on to what
    /// it got (`deferred_release`), is still held to the window plus one message.
    pub(super) fn fills_the_next_tsn(&self, abs: u64, charge: usize) -> bool {
        abs == self.rx_tsns.cum() + 1
            && self.rx_tsns.has_gaps()
            && self.received_bytes + charge <= self.window() + self.cfg.max_receive_message_size
    }

    /// A DATA or I-DATA chunk was dropped for want of room: RFC 9260 §6.2 has the
    /// receiver send at once a SACK showing only what it accepted, so the peer learns
    /// the window is closed instead of waiting for the delayed SACK.
    pub(super) fn window_drop(&mut self) {
        self.stats.window_drops += 1;
        self.ack_now = true;
    }

    /// Common checks of a DATA or I-DATA chunk before it is taken: duplicates, empty
    /// user data, TSNs beyond the window, streams that do not exist. Returns the
    /// chunk's absolute TSN when it is to be taken.
    pub(super) fn admit(&mut self, tsn: Tsn, sid: u16, len: usize) -> Option<u64> {
        if len == 0 {
            // RFC 9260 §6.2: DATA without user data is answered with an ABORT whose cause
            // is No User Data naming the TSN (RFC 8260 §2.1: the same for I-DATA).
            self.abort_for(Violation::NoUserData, Some(ErrorCause::NoUserData(tsn)));
            return None;
        }
        let abs = self.rx_tsns.abs(tsn);
        if self.rx_tsns.is_received(abs) {
            self.stats.duplicates_received += 1;
            self.rx_tsns.record_duplicate(tsn);
            return None;
        }
        if abs - self.rx_tsns.cum() > self.tsn_horizon() {
            // Above the window: dropped and not acknowledged (RFC 9260 §6.2).
            self.window_drop();
            return None;
        }
        if sid >= self.streams_in_limit {
            // RFC 9260 §6.5: acknowledge it as usual, send an ERROR with Invalid Stream
            // Identifier at once, and discard the data. A streamed message cannot go on
            // past a TSN taken by something else.
            if abs == self.rx_tsns.cum() + 1 {
                self.flush_streaming();
            }
            self.rx_tsns.mark_received(abs);
            self.stats.invalid_stream_drops += 1;
            let cause = ErrorCause::InvalidStreamIdentifier(Sid(sid));
            // One ERROR per SACK, its causes bounded, however many such chunks arrive.
            if self.pending_errors.len() < MAX_ERROR_CAUSES && !self.pending_errors.contains(&cause)
            {
                self.pending_errors.push(cause);
            }
            self.ack_now = true;
            return None;
        }
        self.rx_round_bytes += len;
        Some(abs)
    }

    pub(super) fn on_data(&mut self, d: Data) {
        let len = d.user_data.len();
        let Some(abs) = self.admit(d.tsn, d.stream_id.0, len) else {
            return;
        };
        let charge = charge(len);
        if self.received_bytes + charge > self.window()
            && !self.fills_the_next_tsn(abs, charge)
            && !(d.beginning
                && d.ending
                && self.delivers_at_once(abs, d.stream_id.0, d.unordered, u32::from(d.ssn.0)))
        {
            // No room: drop without acknowledging; the peer retransmits (RFC 9260 §6.2).
            self.window_drop();
            return;
        }
        self.received_bytes += charge;
        if abs == self.rx_tsns.cum() + 1 && !self.rx_tsns.has_gaps() && self.stream_in(&d, charge) {
            return;
        }
        self.flush_streaming();
        self.received.insert(abs, d);
        self.rx_tsns.mark_received(abs);
        self.assemble_around(abs);
        if let Some(held) = self.received.get_mut(&abs) {
            // Held for later: keep its own bytes, not the whole datagram it is a view of.
            held.user_data = Bytes::copy_from_slice(&held.user_data);
        }
    }

    /// In-order arrival, the usual case: copy a fragment into its message while it is
    /// still hot in cache and let the packet go, instead of holding every packet of a
    /// long message and gathering them at the end. Returns false for chunks this does
    /// not take (whole messages, or fragments that do not continue the message).
    /// `charge` is what the fragment was charged against the window.
    pub(super) fn stream_in(&mut self, d: &Data, charge: usize) -> bool {
        let abs = self.rx_tsns.cum() + 1;
        let continues = self.streaming.as_ref().is_some_and(|m| {
            m.next == abs
                && !d.beginning
                && m.sid == d.stream_id.0
                && m.unordered == d.unordered
                && (m.unordered || m.ssn == d.ssn)
        });
        if continues {
            let m = self.streaming.as_mut().expect("checked above");
            if m.buf.len() + d.user_data.len() > self.cfg.max_receive_message_size {
                self.abort_for(Violation::MessageTooLarge, None);
                return true;
            }
            m.buf.extend_from_slice(&d.user_data);
            m.charged += charge;
            m.next += 1;
            self.rx_tsns.advance_in_order();
            if d.ending {
                let m = self.streaming.take().expect("checked above");
                self.last_streamed_size = m.buf.len();
                let data = self.freeze_streamed(m.buf);
                self.complete_message(
                    Sid(m.sid),
                    m.unordered,
                    u32::from(m.ssn.0),
                    Ppid(m.ppid),
                    data,
                    m.charged,
                    false,
                );
            }
            return true;
        }
        if !d.beginning || d.ending {
            return false;
        }
        self.flush_streaming();
        let guess = self
            .last_streamed_size
            .clamp(2 * d.user_data.len(), STREAMING_GUESS_MAX);
        let mut buf = self.rx_pool.take(guess);
        buf.extend_from_slice(&d.user_data);
        self.streaming = Some(Streaming {
            sid: d.stream_id.0,
            unordered: d.unordered,
            ssn: d.ssn,
            ppid: d.ppid.0,
            next: abs + 1,
            buf,
            charged: charge,
        });
        self.rx_tsns.advance_in_order();
        true
    }

    /// A message being streamed cannot continue in order: it becomes one fragment in
    /// the TSN records, at the TSN of its last piece, so the general reassembly (and
    /// FORWARD-TSN and stream resets) handle it from there.
    pub(super) fn flush_streaming(&mut self) {
        let Some(m) = self.streaming.take() else {
            return;
        };
        let last = m.next - 1;
        let tsn = self.rx_tsns.wire(last);
        let user_data = self.freeze_streamed(m.buf);
        // From here it is one record, charged as one.
        self.received_bytes -= m.charged.min(self.received_bytes);
        self.received_bytes += charge(user_data.len());
        self.received.insert(
            last,
            Data {
                unordered: m.unordered,
                beginning: true,
                ending: false,
                immediate: false,
                tsn,
                stream_id: Sid(m.sid),
                ssn: m.ssn,
                ppid: Ppid(m.ppid),
                user_data,
            },
        );
    }

    /// Bytes of buffers kept for the next streamed messages.
    #[cfg(test)]
    pub(crate) fn kept_for_reuse(&self) -> usize {
        self.rx_pool.kept_bytes()
    }

    /// The bytes copied together in a streaming buffer, as a message or held record.
    /// The buffer was sized for a whole message: one far larger than its bytes (a
    /// guess from a larger message, or a message broken off early) goes back to the
    /// pool at once and the bytes are copied out, or each such message would pin up to
    /// 256 KiB. Otherwise the bytes stay where they are, and the buffer comes back to
    /// the pool when the application drops the message.
    fn freeze_streamed(&self, buf: Vec<u8>) -> Bytes {
        if buf.capacity() > 2 * buf.len() {
            let data = Bytes::copy_from_slice(&buf);
            self.rx_pool.give_back(buf);
            data
        } else {
            self.rx_pool.freeze(buf)
        }
    }

    /// Frees DATA fragments that can never become a message now that the cumulative TSN
    /// moved on from `old_cum`. A message's fragments carry consecutive TSNs (RFC 9260
    /// §6.9), so once a fragment's next TSN arrived as something that does not continue
    /// it, or its previous TSN as something that does not lead into it, its run is dead:
    /// without this a peer could leave fragments behind a hole and keep the window they
    /// take for the life of the association. Only fragments the cumulative TSN just
    /// reached are looked at, so each is looked at about once.
    pub(super) fn collect_dead_fragments(&mut self, old_cum: u64) {
        // In-order arrival, the usual case, holds nothing: skip gathering candidates.
        if self.received.is_empty() {
            return;
        }
        let cum = self.rx_tsns.cum();
        let candidates: Vec<u64> = self
            .received
            .range(old_cum..=cum + 1)
            .map(|(&t, _)| t)
            .collect();
        for t in candidates {
            let Some(d) = self.received.get(&t) else {
                continue;
            };
            let sid = d.stream_id;
            let end_broken = !d.ending
                && t < cum
                && !self
                    .received
                    .get(&(t + 1))
                    .is_some_and(|n| n.stream_id == sid && !n.beginning);
            let start_broken = !d.beginning
                && t - 1 <= cum
                && !self
                    .received
                    .get(&(t - 1))
                    .is_some_and(|p| p.stream_id == sid && !p.ending);
            if end_broken || start_broken {
                self.drop_run(t);
            }
        }
    }

    /// Removes the run of fragments of one message around the record at `t`.
    pub(super) fn drop_run(&mut self, t: u64) {
        let Some(d) = self.received.get(&t) else {
            return;
        };
        let sid = d.stream_id;
        let mut start = t;
        while !self.received[&start].beginning {
            match self.received.get(&(start - 1)) {
                Some(p) if p.stream_id == sid && !p.ending => start -= 1,
                _ => break,
            }
        }
        let mut end = t;
        while !self.received[&end].ending {
            match self.received.get(&(end + 1)) {
                Some(n) if n.stream_id == sid && !n.beginning => end += 1,
                _ => break,
            }
        }
        for x in start..=end {
            if let Some(d) = self.received.remove(&x) {
                self.received_bytes -= charge(d.user_data.len()).min(self.received_bytes);
            }
        }
    }

    /// If the chunk at `abs` completes a message, take the message out.
    pub(super) fn assemble_around(&mut self, abs: u64) {
        let Some(d) = self.received.get(&abs) else {
            return;
        };
        // In-order arrival of a long message: nothing can complete until its end (or the
        // fragment after this one) is here, so skip the walk.
        if !d.ending && !self.received.contains_key(&(abs + 1)) {
            return;
        }
        let sid = d.stream_id;
        // Walk both ways a step at a time and give up at the first hole either way: a
        // chunk filling a hole in a long run then costs about the distance to the
        // run's nearer end, not its whole length (a peer filling holes one by one next
        // to a run's start would otherwise make each chunk walk the run).
        let (mut start, mut end) = (abs, abs);
        let mut at_start = d.beginning;
        let mut at_end = d.ending;
        while !(at_start && at_end) {
            if !at_start {
                match self.received.get(&(start - 1)) {
                    Some(p) if p.stream_id == sid && !p.ending => {
                        start -= 1;
                        at_start = p.beginning;
                    }
                    _ => return,
                }
            }
            if !at_end {
                match self.received.get(&(end + 1)) {
                    Some(n) if n.stream_id == sid && !n.beginning => {
                        end += 1;
                        at_end = n.ending;
                    }
                    _ => return,
                }
            }
        }
        let first = &self.received[&start];
        let (unordered, ssn, ppid) = (first.unordered, first.ssn, first.ppid);
        let total: usize = (start..=end)
            .map(|t| self.received[&t].user_data.len())
            .sum();
        if total > self.cfg.max_receive_message_size {
            self.abort_for(Violation::MessageTooLarge, None);
            return;
        }
        let mut charged = 0;
        let mut parts = Vec::with_capacity((end - start + 1) as usize);
        for t in start..=end {
            // The gap runs remember the TSNs: the records themselves can go.
            let d = self.received.remove(&t).expect("walked above");
            charged += charge(d.user_data.len());
            parts.push(d.user_data);
        }
        let (data, sliced) = if parts.len() == 1 {
            (parts.pop().expect("one part"), true)
        } else {
            // Into a buffer of an earlier message where one fits, as when streaming.
            let mut buf = self.rx_pool.take(total);
            for p in &parts {
                buf.extend_from_slice(p);
            }
            (self.rx_pool.freeze(buf), false)
        };
        self.complete_message(
            sid,
            unordered,
            u32::from(ssn.0),
            ppid,
            data,
            charged,
            sliced,
        );
    }

    /// An I-DATA fragment (RFC 8260): TSNs only drive acknowledgement; messages are put
    /// together per stream, kind and MID, in FSN order.
    pub(super) fn on_idata(&mut self, d: IData) {
        let len = d.user_data.len();
        let Some(abs) = self.admit(d.tsn, d.stream_id.0, len) else {
            return;
        };
        let key = (d.stream_id.0, d.unordered, d.mid.0);
        let fsn = d.fsn().0;
        let new = !self.ireasm.contains_key(&key);
        let whole = new && d.beginning() && d.ending;
        // Each held fragment is charged at least a small fixed cost, and each message
        // being put together its bookkeeping, so a peer cannot pin unbounded memory
        // with tiny fragments or with one fragment each of many messages.
        let charge = charge(len);
        let entry_charge = if new { REASSEMBLY_CHARGE } else { 0 };
        if self.received_bytes + charge + entry_charge > self.window()
            && !self.fills_the_next_tsn(abs, charge + entry_charge)
            && !(whole && self.delivers_at_once(abs, key.0, key.1, key.2))
        {
            self.window_drop();
            return;
        }
        let entry = self.ireasm.entry(key).or_default();
        entry.charged += entry_charge;
        self.received_bytes += entry_charge;
        if entry.fragments.contains_key(&fsn) {
            // The same fragment under another TSN: acknowledge the TSN, keep one copy.
            self.stats.duplicates_received += 1;
        } else {
            if let Some(p) = d.ppid() {
                entry.ppid = Some(p.0);
            }
            if d.ending {
                entry.last = Some(fsn);
            }
            entry.bytes += len;
            entry.charged += charge;
            self.received_bytes += charge;
            // A fragment that waits for others keeps its own bytes, not the datagram.
            let bytes = if whole {
                d.user_data
            } else {
                Bytes::copy_from_slice(&d.user_data)
            };
            entry.fragments.insert(fsn, bytes);
        }
        self.rx_tsns.mark_received(abs);
        let entry = &self.ireasm[&key];
        if entry.bytes > self.cfg.max_receive_message_size {
            self.abort_for(Violation::MessageTooLarge, None);
            return;
        }
        // Whole when FSNs 0 ..= last are all here: as many as that, the highest being last
        // (a peer's stray FSN beyond the end must not stand in for a missing one).
        let complete = entry.ppid.is_some()
            && entry.last.is_some_and(|l| {
                entry.fragments.len() as u64 == u64::from(l) + 1
                    && entry
                        .fragments
                        .last_key_value()
                        .is_some_and(|(&k, _)| k == l)
            });
        if !complete {
            return;
        }
        let m = self.ireasm.remove(&key).expect("looked up above");
        let single = m.fragments.len() == 1;
        let data = if single {
            m.fragments.into_values().next().expect("one fragment")
        } else {
            let mut buf = self.rx_pool.take(m.bytes);
            for f in m.fragments.values() {
                buf.extend_from_slice(f);
            }
            self.rx_pool.freeze(buf)
        };
        let (sid, unordered, mid) = key;
        let ppid = Ppid(m.ppid.expect("complete"));
        self.complete_message(Sid(sid), unordered, mid, ppid, data, m.charged, whole);
    }

    /// A message that waited for its turn goes to the application: its charge leaves
    /// the window (or, with `deferred_release`, its bytes stay until released).
    pub(super) fn hand_over_waiting(&mut self, stream_id: u16, ppid: u32, data: Bytes) {
        self.received_bytes -= charge(data.len()).min(self.received_bytes);
        self.on_delivered(data.len());
        self.events.push_back(SctpEvent::Message {
            stream_id,
            ppid,
            data,
            unordered: false,
        });
    }

    /// Messages of a stream the peer gave up waiting for (FORWARD-TSN): those waiting
    /// in `keys` go to the application in order.
    pub(super) fn hand_over_range(&mut self, stream_id: u16, keys: std::ops::Range<(u16, u64)>) {
        let skipped: Vec<(u16, u64)> = self.waiting.range(keys).map(|(&k, _)| k).collect();
        for k in skipped {
            if let Some((ppid, data)) = self.waiting.remove(&k) {
                self.hand_over_waiting(stream_id, ppid, data);
            }
        }
    }

    /// `n` bytes went to the application, their charge already taken off the window:
    /// with `deferred_release` they count again until the application releases them.
    pub(super) fn on_delivered(&mut self, n: usize) {
        if self.cfg.deferred_release {
            self.unreleased += n;
            self.received_bytes += n;
        }
    }

    /// A whole message: deliver it if unordered, else queue it for its turn. It was
    /// charged `charged` against the window as fragments; `sliced` says its bytes may
    /// be a view of a larger received datagram.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn complete_message(
        &mut self,
        sid: Sid,
        unordered: bool,
        seq: u32,
        ppid: Ppid,
        data: Bytes,
        charged: usize,
        sliced: bool,
    ) {
        let stream_id = sid.0;
        self.received_bytes -= charged.min(self.received_bytes);
        if unordered {
            self.on_delivered(data.len());
            self.events.push_back(SctpEvent::Message {
                stream_id,
                ppid: ppid.0,
                data,
                unordered: true,
            });
            return;
        }
        let idata = self.idata;
        let s = self.streams_in.entry(stream_id).or_default();
        // SSN (16-bit) or MID (32-bit) distance from the next one due; half the space
        // behind counts as already delivered.
        let ahead = if idata {
            u64::from(seq.wrapping_sub(s.next_mid)).min(u64::from(u32::MAX >> 1) + 1)
        } else {
            u64::from(Ssn(seq as u16).distance(s.next_ssn))
        };
        if ahead >= if idata { 1 << 31 } else { 1 << 15 } {
            // Already delivered: a retransmission we somehow reassembled twice.
            return;
        }
        // A message that waits keeps its own bytes, not the datagram it came in.
        let data = if ahead > 0 && sliced {
            Bytes::copy_from_slice(&data)
        } else {
            data
        };
        // What the application has not taken stays counted, each message at least the
        // per-chunk charge, so a flood of tiny messages behind a missing one is bounded
        // by the window like any other held data.
        let key = s.next_key + ahead;
        let cost = charge(data.len());
        if let Some((_, old)) = self.waiting.insert((stream_id, key), (ppid.0, data)) {
            // A peer that reuses an SSN: the later message stands in for the earlier.
            self.received_bytes -= charge(old.len()).min(self.received_bytes);
        }
        self.received_bytes += cost;
        if ahead == 0 {
            self.ready_streams.push(stream_id);
        }
    }

    /// Deliver ordered messages whose turn has come.
    pub(super) fn deliver(&mut self) {
        // Only streams whose next message just became complete can deliver.
        for stream_id in std::mem::take(&mut self.ready_streams) {
            while let Some(s) = self.streams_in.get_mut(&stream_id) {
                let Some((ppid, data)) = self.waiting.remove(&(stream_id, s.next_key)) else {
                    break;
                };
                s.next_ssn = s.next_ssn.next();
                s.next_mid = s.next_mid.wrapping_add(1);
                s.next_key += 1;
                self.hand_over_waiting(stream_id, ppid, data);
            }
        }
    }
}
