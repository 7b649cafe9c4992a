//! Partial reliability (RFC 3758, and RFC 8260 §2.3 with I-DATA): the sender abandons
//! messages whose retransmission limit or lifetime ran out and moves the peer's
//! cumulative TSN past them with FORWARD-TSN (or I-FORWARD-TSN); the receiver skips what
//! will never come and frees what can never complete.
//!
//! A child module of `association.rs` (declared there): abandoning touches the send
//! queue, the flight and the buffered amounts; skipping touches reassembly.

use std::time::Instant;

use bytes::Bytes;

use super::{Association, COMMON_HEADER, InFlight, charge};
use crate::sctp::sendq::OutMessage;
use crate::sctp::{
    Chunk, Data, ForwardTsn, ForwardTsnStream, IForwardTsn, IForwardTsnStream, Mid, Ppid, Sid, Ssn,
};

impl Association {
    /// FORWARD-TSN (RFC 3758 §3.6): the peer gave up on everything up to `new_cum`.
    pub(super) fn on_forward_tsn(&mut self, f: &ForwardTsn) {
        // The message being streamed may be one the peer gave up on.
        self.flush_streaming();
        let new_cum = self.rx_tsns.abs(f.new_cumulative_tsn);
        if new_cum <= self.rx_tsns.cum() {
            // Old: acknowledge again so the peer stops sending it.
            self.ack_now = true;
            return;
        }
        if new_cum - self.rx_tsns.cum() > 1 << 20 {
            return;
        }
        // Fragments of abandoned messages can never complete: free them. The sender
        // abandons whole messages, so the one exception is a run of fragments reaching
        // exactly to `new_cum` without its end: a reliable message that continues after it.
        let partial: Vec<(u64, bool, u16)> = self
            .received
            .range(..=new_cum)
            .filter(|(_, d)| !d.user_data.is_empty())
            .map(|(&t, d)| (t, d.ending, d.stream_id.0))
            .collect();
        let mut keep_from = u64::MAX;
        if let Some(&(last, ending, sid)) = partial.last()
            && last == new_cum
            && !ending
        {
            keep_from = last;
            for w in partial.windows(2).rev() {
                let ((t0, e0, s0), (t1, _, _)) = (w[0], w[1]);
                if t1 == keep_from && t0 + 1 == t1 && !e0 && s0 == sid {
                    keep_from = t0;
                } else if t1 == keep_from {
                    break;
                }
            }
        }
        for (t, _, _) in partial {
            if t < keep_from
                && let Some(d) = self.received.remove(&t)
            {
                self.received_bytes -= charge(d.user_data.len()).min(self.received_bytes);
            }
        }
        self.rx_tsns.advance_cum_to(new_cum);
        for s in &f.streams {
            if s.stream_id.0 >= self.streams_in_limit {
                // No such stream: nothing waits on it, and no state is made for it.
                continue;
            }
            let st = self.streams_in.entry(s.stream_id.0).or_default();
            // Messages up to this SSN will never come: deliver what is waiting before it
            // and move on.
            let skip_to = s.ssn.next();
            let advance = skip_to.distance(st.next_ssn);
            if advance == 0 || advance >= 1 << 15 {
                continue;
            }
            let sid = s.stream_id.0;
            let skipped = (sid, st.next_key)..(sid, st.next_key + u64::from(advance));
            st.next_ssn = skip_to;
            st.next_key += u64::from(advance);
            // The message now due may already be waiting.
            self.ready_streams.push(sid);
            self.hand_over_range(sid, skipped);
        }
        self.ack_now = true;
    }

    /// I-FORWARD-TSN (RFC 8260 §2.3.1): the peer gave up on these messages.
    pub(super) fn on_iforward_tsn(&mut self, f: &IForwardTsn) {
        let new_cum = self.rx_tsns.abs(f.new_cumulative_tsn);
        if new_cum <= self.rx_tsns.cum() {
            self.ack_now = true;
            return;
        }
        if new_cum - self.rx_tsns.cum() > 1 << 20 {
            return;
        }
        self.rx_tsns.advance_cum_to(new_cum);
        for e in &f.streams {
            let sid = e.stream_id.0;
            let mid = e.mid.0;
            // Unordered entries name one abandoned message each; an ordered entry skips
            // every message of the stream up to its MID.
            let doomed: Vec<(u16, bool, u32)> = if e.unordered {
                vec![(sid, true, mid)]
            } else {
                self.ireasm
                    .range((sid, false, 0)..=(sid, false, u32::MAX))
                    .map(|(&k, _)| k)
                    .filter(|&(_, _, m)| mid.wrapping_sub(m) < 1 << 31)
                    .collect()
            };
            for k in doomed {
                if let Some(p) = self.ireasm.remove(&k) {
                    self.received_bytes -= p.charged.min(self.received_bytes);
                }
            }
            if e.unordered || sid >= self.streams_in_limit {
                continue;
            }
            let st = self.streams_in.entry(sid).or_default();
            let skip_to = mid.wrapping_add(1);
            let advance = skip_to.wrapping_sub(st.next_mid);
            if advance == 0 || advance >= 1 << 31 {
                continue;
            }
            let skipped = (sid, st.next_key)..(sid, st.next_key + u64::from(advance));
            st.next_mid = skip_to;
            st.next_key += u64::from(advance);
            self.ready_streams.push(sid);
            self.hand_over_range(sid, skipped);
        }
        self.ack_now = true;
    }

    /// PR-SCTP (RFC 3758 §3.5): give up on chunks whose policy ran out, and on queued
    /// messages whose lifetime did; then move the advanced ack point.
    pub(super) fn abandon_expired(&mut self, now: Instant) {
        if !self.peer_forward_tsn || self.pr_outstanding == 0 {
            return;
        }
        let mut doomed: Vec<u64> = Vec::new();
        for f in self.inflight.values() {
            if f.acked || f.abandoned {
                continue;
            }
            let retx_spent = f.marked && f.max_retransmits.is_some_and(|m| f.transmissions > m);
            let expired = f.expires.is_some_and(|e| now >= e);
            if (retx_spent || expired) && !doomed.contains(&f.msg) {
                doomed.push(f.msg);
            }
        }
        // A message partly sent is abandoned whole, its unsent rest included.
        let gone = self.queue.remove_where(|m| {
            let expired = m.expires.is_some_and(|e| now >= e);
            expired || (m.offset > 0 && doomed.contains(&m.id))
        });
        for m in gone {
            if m.expires.is_some() {
                self.pr_outstanding -= 1;
            }
            let rest = m.data.len() - m.offset;
            self.queued_bytes -= rest.min(self.queued_bytes);
            Self::settle(&mut self.unacked_by_stream, m.stream, rest);
            if m.offset > 0 {
                // Fragments of it already sent go with it.
                if !doomed.contains(&m.id) {
                    doomed.push(m.id);
                }
                self.abandon_unsent_end(&m, now);
            }
        }
        if doomed.is_empty() {
            return;
        }
        for f in self.inflight.values_mut() {
            if doomed.contains(&f.msg) && !f.abandoned && !f.acked {
                if f.marked {
                    self.marked_count -= 1;
                } else {
                    self.flight_bytes -= f.chunk.user_data.len().min(self.flight_bytes);
                }
                f.abandoned = true;
                Self::settle(
                    &mut self.unacked_by_stream,
                    f.chunk.stream_id.0,
                    f.chunk.user_data.len(),
                );
                f.marked = false;
            }
        }
        self.walk_advanced_ack();
        if self.advanced_ack > self.cum_ack {
            self.forward_tsn_due = true;
        }
    }

    /// A message abandoned half sent: its sent fragments may all be acknowledged already,
    /// leaving no abandoned TSN for FORWARD-TSN to cover and name its SSN (or MID) by, and
    /// the peer's stream would wait for it for ever. So its missing end takes one TSN of
    /// its own, abandoned at once and never sent (as dcsctp does).
    pub(super) fn abandon_unsent_end(&mut self, m: &OutMessage, now: Instant) {
        let seq = m.seq.unwrap_or(0);
        let abs = self.next_tsn;
        self.next_tsn += 1;
        let f = InFlight {
            chunk: Data {
                unordered: m.unordered,
                beginning: false,
                ending: true,
                immediate: false,
                tsn: self.my_initial_tsn.add(abs as u32),
                stream_id: Sid(m.stream),
                ssn: Ssn(seq as u16),
                ppid: Ppid(m.ppid),
                user_data: Bytes::new(),
            },
            mid: seq,
            fsn: m.fsn,
            msg: m.id,
            sent_at: now,
            // Never sent: abandoned at once, it is never a loss to detect.
            sent_seq: 0,
            retransmitted: true,
            acked: false,
            marked: false,
            misses: 0,
            fast_retransmitted: false,
            transmissions: 0,
            max_retransmits: m.max_retransmits,
            expires: m.expires,
            abandoned: true,
        };
        if f.has_policy() {
            self.pr_outstanding += 1;
        }
        self.inflight.push(abs, f);
    }

    /// Move the advanced ack point over every chunk after it that needs no more sending.
    pub(super) fn walk_advanced_ack(&mut self) {
        let mut adv = self.advanced_ack.max(self.cum_ack);
        while let Some(f) = self.inflight.get(adv + 1) {
            if f.abandoned || f.acked {
                adv += 1;
            } else {
                break;
            }
        }
        self.advanced_ack = adv;
    }

    /// Entries of `entry` bytes a FORWARD-TSN or I-FORWARD-TSN may carry and still
    /// travel alone in one packet (common header, chunk header, new cumulative TSN).
    fn forward_tsn_room(&self, entry: usize) -> usize {
        (self.cfg.mtu.saturating_sub(COMMON_HEADER + 8) / entry).max(1)
    }

    /// The FORWARD-TSN (or I-FORWARD-TSN) to send now. One naming every abandoned
    /// message may not fit the MTU (hundreds of streams given up at once): it then names
    /// as many as fit and moves the cumulative TSN only to just before the first message
    /// it could not name (RFC 3758 §3.5 C4 lets it advance less); the next follows when
    /// the peer has taken this one (`forward_tsn_reach`), never before, since a later
    /// one alone would move the peer's TSN past streams it was never told to skip.
    pub(super) fn forward_tsn_chunk(&mut self) -> Chunk {
        let (chunk, reach) = if self.idata {
            self.iforward_tsn_chunk()
        } else {
            self.plain_forward_tsn_chunk()
        };
        self.forward_tsn_reach = reach;
        chunk
    }

    /// FORWARD-TSN: the largest abandoned SSN per ordered stream; with the absolute TSN
    /// it reaches.
    fn plain_forward_tsn_chunk(&self) -> (Chunk, u64) {
        let room = self.forward_tsn_room(4);
        let mut streams: Vec<ForwardTsnStream> = Vec::new();
        let mut reach = self.advanced_ack;
        for (t, f) in self.inflight.range(self.cum_ack + 1..=self.advanced_ack) {
            if f.abandoned && !f.chunk.unordered {
                let full = streams.len() == room;
                match streams
                    .iter_mut()
                    .find(|s| s.stream_id == f.chunk.stream_id)
                {
                    Some(s) => {
                        if f.chunk.ssn.is_newer_than(s.ssn) {
                            s.ssn = f.chunk.ssn;
                        }
                    }
                    // Without I-DATA a message's fragments have consecutive TSNs and its
                    // first one made its entry, so this stops between messages.
                    None if full => {
                        reach = t - 1;
                        break;
                    }
                    None => streams.push(ForwardTsnStream {
                        stream_id: f.chunk.stream_id,
                        ssn: f.chunk.ssn,
                    }),
                }
            }
        }
        let chunk = Chunk::ForwardTsn(ForwardTsn {
            new_cumulative_tsn: self.my_initial_tsn.add(reach as u32),
            streams,
        });
        (chunk, reach)
    }

    /// I-FORWARD-TSN: the largest abandoned MID per ordered stream, and every abandoned
    /// unordered message by name (a receiver cannot tell which lower unordered MIDs are
    /// still on their way); with the absolute TSN it reaches.
    fn iforward_tsn_chunk(&self) -> (Chunk, u64) {
        let room = self.forward_tsn_room(8);
        let mut streams: Vec<IForwardTsnStream> = Vec::new();
        let mut reach = self.advanced_ack;
        for (t, f) in self.inflight.range(self.cum_ack + 1..=self.advanced_ack) {
            if !f.abandoned {
                continue;
            }
            let (sid, unordered) = (f.chunk.stream_id, f.chunk.unordered);
            let same = |s: &&mut IForwardTsnStream| {
                s.stream_id == sid && s.unordered == unordered && (!unordered || s.mid.0 == f.mid)
            };
            let full = streams.len() == room;
            match streams.iter_mut().find(same) {
                Some(s) => {
                    if f.mid.wrapping_sub(s.mid.0) < 1 << 31 {
                        s.mid = Mid(f.mid);
                    }
                }
                // No earlier fragment of this message lies below `t` (it would have
                // made the entry), so the message is wholly above the new cumulative
                // TSN and the next I-FORWARD-TSN names it.
                None if full => {
                    reach = t - 1;
                    break;
                }
                None => streams.push(IForwardTsnStream {
                    stream_id: sid,
                    unordered,
                    mid: Mid(f.mid),
                }),
            }
        }
        let chunk = Chunk::IForwardTsn(IForwardTsn {
            new_cumulative_tsn: self.my_initial_tsn.add(reach as u32),
            streams,
        });
        (chunk, reach)
    }
}
