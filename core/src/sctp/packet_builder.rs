//! Building packets: bundling control chunks, the SACK, retransmissions and new DATA
//! into one packet up to the MTU (RFC 9260 §6.10), written straight into the buffer the
//! caller gives (`Association::poll_transmit`), so a DTLS record can be sealed around it
//! in place.
//!
//! A child module of `association.rs` (declared there), since bundling reads and moves
//! most of the send side's state.

use std::time::{Duration, Instant};

use super::{Association, COMMON_HEADER, DATA_HEADER, IDATA_HEADER, InFlight, Timer};
use crate::sctp::{Checksum, Chunk, Data, Fsn, Mid, PacketWriter, Ppid, Sid, Ssn};

impl Association {
    /// Encode and queue one packet with these chunks.
    pub(super) fn emit_packet(&mut self, vtag: u32, chunks: &[Chunk]) {
        let mut buf = self.take_packet_buf();
        let mut w = self.packet_writer(&mut buf, vtag);
        for c in chunks {
            if let Err(e) = w.push(c) {
                tracing::warn!(error = %e, "SCTP chunk did not encode");
            }
        }
        if self.finish_packet(w) {
            self.out.push_back(buf);
        } else {
            self.recycle_packet_buf(buf);
        }
    }

    /// An empty buffer for the next packet: the spare one if there is one.
    pub(super) fn take_packet_buf(&mut self) -> Vec<u8> {
        let mut buf = std::mem::take(&mut self.packet_spare);
        buf.clear();
        if buf.capacity() == 0 {
            buf.reserve(self.cfg.mtu);
        }
        buf
    }

    /// Keep a packet's buffer as the spare once its bytes are gone, unless a spare is
    /// already kept (one is enough: packets are built one at a time).
    pub(super) fn recycle_packet_buf(&mut self, buf: Vec<u8>) {
        if self.packet_spare.capacity() == 0 {
            self.packet_spare = buf;
        }
    }

    pub(super) fn packet_writer<'b>(&self, buf: &'b mut Vec<u8>, vtag: u32) -> PacketWriter<'b> {
        PacketWriter::new(buf, self.cfg.local_port, self.cfg.remote_port, vtag)
    }

    pub(super) fn finish_packet(&mut self, w: PacketWriter<'_>) -> bool {
        // The writer keeps INIT, INIT-ACK and COOKIE-ECHO checksummed (RFC 9653 §5.2).
        let kind = if self.zero_checksum {
            Checksum::Zero
        } else {
            Checksum::Crc32c
        };
        match w.finish(kind) {
            Ok(_) => {
                self.stats.packets_sent += 1;
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "SCTP packet did not encode");
                false
            }
        }
    }

    /// Build every packet there is to send into `out`.
    pub(super) fn fill_packets(&mut self) {
        loop {
            // Most polls find nothing to send: the buffer waits for the next one.
            let mut buf = self.take_packet_buf();
            if !self.write_packet(&mut buf) {
                self.packet_spare = buf;
                break;
            }
            self.out.push_back(buf);
        }
    }

    /// Append the next packet to `buf`: control chunks, SACK, retransmissions, new
    /// data. Returns false, leaving `buf` as it was, when there is nothing to send.
    pub(super) fn write_packet(&mut self, buf: &mut Vec<u8>) -> bool {
        let now = self.now;
        if !self.state.carries_data() {
            if self.control.is_empty() {
                return false;
            }
            let mut w = self.packet_writer(buf, self.peer_tag);
            for c in self.control.drain(..) {
                if let Err(e) = w.push(&c) {
                    tracing::warn!(error = %e, "SCTP chunk did not encode");
                }
            }
            return self.finish_packet(w);
        }
        let mtu = self.cfg.mtu;
        if std::mem::take(&mut self.pr_scan_due) {
            self.abandon_expired(now);
        }
        if self.forward_tsn_due {
            self.forward_tsn_due = false;
            let f = self.forward_tsn_chunk();
            self.control.push_back(f);
        }
        self.start_reset_request(now);
        // A caller asks until told there is nothing, so most calls find nothing: say
        // so without starting a packet when no control chunk, SACK or retransmission
        // waits and no new data may go (none queued, or cwnd or the peer's window full;
        // the same test the loop below starts with).
        if self.control.is_empty()
            && !self.ack_now
            && self.marked_count == 0
            && !(self.ack_due && self.pending_data_to_send())
        {
            let cwnd = self.cc.window();
            let may_send = COMMON_HEADER + self.data_header() + 4 <= mtu
                && (self.flight_bytes < cwnd || self.probe_due)
                && self.paced(now)
                && (self.peer_rwnd > 0 || self.flight_bytes == 0);
            if self.queue.is_empty() || !may_send {
                self.cwnd_limited = !self.queue.is_empty() && self.flight_bytes >= cwnd;
                return false;
            }
        }
        {
            let mut w = self.packet_writer(buf, self.peer_tag);
            let mut carries_data = false;
            let mut carries_control = false;
            while let Some(c) = self.control.front() {
                let l = c.encoded_len().unwrap_or(mtu);
                if w.len() + l > mtu && !w.is_empty() {
                    break;
                }
                let c = self.control.pop_front().expect("front exists");
                carries_data |= matches!(c, Chunk::ForwardTsn(_) | Chunk::IForwardTsn(_));
                carries_control = true;
                if let Err(e) = w.push(&c) {
                    tracing::warn!(error = %e, "SCTP chunk did not encode");
                }
            }
            // A SACK that is due rides with anything we send (RFC 9260 §6.10 allows it
            // with any control chunk but INIT, INIT-ACK and SHUTDOWN-COMPLETE, none of
            // which is sent from here): a peer that waits for its data to be
            // acknowledged before it answers (usrsctp resets a stream only then) would
            // otherwise wait out our delayed-ACK timer behind a RE-CONFIG.
            if self.ack_now || (self.ack_due && (carries_control || self.pending_data_to_send())) {
                let sack = self.build_sack();
                let error = self.take_error_chunk();
                if w.len() + sack.encoded_len().unwrap_or(mtu) > mtu && !w.is_empty() {
                    // Control chunks filled the packet: the SACK (and the ERROR that
                    // must follow it, RFC 9260 §6.5) open the next one.
                    if let Some(error) = error {
                        self.control.push_front(error);
                    }
                    self.control.push_front(sack);
                } else {
                    for c in std::iter::once(sack).chain(error) {
                        if let Err(e) = w.push(&c) {
                            tracing::warn!(error = %e, "SACK or ERROR did not encode");
                        }
                    }
                }
            }
            let header = self.data_header();
            // The window does not change while a packet is built.
            let cwnd = self.cc.window();
            let flight_before = self.flight_bytes;
            // Retransmissions first. The packet of a fast retransmit goes at once,
            // whatever cwnd says (RFC 9260 §7.2.4 rule 3): cwnd was just halved below
            // the flight, and waiting for the flight to drain under it would hold the
            // hole open for most of a round trip, and with it all new data.
            let fast = self.fast_rtx_due;
            if self.marked_count > 0 {
                let marked: Vec<u64> = self
                    .inflight
                    .range(0..=u64::MAX)
                    .filter(|(_, f)| f.marked)
                    .map(|(t, _)| t)
                    .collect();
                for t in marked {
                    let f = self.inflight.get_mut(t).expect("marked entries exist");
                    let l = header + f.chunk.user_data.len().next_multiple_of(4);
                    // Beyond cwnd only a fast retransmit's packet, or the first
                    // retransmission when nothing is in flight.
                    if w.len() + l > mtu
                        || (!fast && self.flight_bytes >= cwnd && self.flight_bytes > 0)
                    {
                        break;
                    }
                    self.fast_rtx_due = false;
                    f.marked = false;
                    f.retransmitted = true;
                    f.transmissions = f.transmissions.saturating_add(1);
                    f.sent_at = now;
                    f.sent_seq = self.xmit_seq;
                    self.xmit_seq += 1;
                    let written = if self.idata {
                        w.push_idata(&f.chunk, Mid(f.mid), Fsn(f.fsn))
                    } else {
                        w.push_data(&f.chunk)
                    };
                    if let Err(e) = written {
                        tracing::warn!(error = %e, "DATA did not encode");
                    }
                    self.marked_count -= 1;
                    self.flight_bytes += f.chunk.user_data.len();
                    self.stats.retransmissions += 1;
                    carries_data = true;
                }
            }
            // New data within cwnd and the peer's window; a tail loss probe's one
            // packet beyond cwnd (RFC 8985 §7.3).
            let probe = std::mem::take(&mut self.probe_due);
            let paced = self.paced(now);
            let new_before = w.len();
            let mut new_data = false;
            while paced
                && w.len() + header + 4 <= mtu
                && (self.flight_bytes < cwnd || probe)
                && (self.peer_rwnd > 0 || self.flight_bytes == 0)
                && self.marked_count == 0
            {
                let room = (mtu - w.len() - header) & !3;
                let full = (mtu - COMMON_HEADER - header) & !3;
                let Some(f) = self.queue.next_fragment(room, full, self.idata) else {
                    break;
                };
                let len = f.user_data.len();
                self.queued_bytes -= len;
                if f.ending && f.expires.is_some() {
                    // The message left the queue.
                    self.pr_outstanding -= 1;
                }
                let tsn = self.my_initial_tsn.add(self.next_tsn as u32);
                let abs = self.next_tsn;
                self.next_tsn += 1;
                let chunk = Data {
                    unordered: f.unordered,
                    beginning: f.beginning,
                    ending: f.ending,
                    immediate: false,
                    tsn,
                    stream_id: Sid(f.stream),
                    ssn: Ssn(f.seq as u16),
                    ppid: Ppid(f.ppid),
                    user_data: f.user_data,
                };
                let written = if self.idata {
                    w.push_idata(&chunk, Mid(f.seq), Fsn(f.fsn))
                } else {
                    w.push_data(&chunk)
                };
                if let Err(e) = written {
                    tracing::warn!(error = %e, "DATA did not encode");
                }
                carries_data = true;
                new_data = true;
                self.flight_bytes += len;
                self.peer_rwnd = self.peer_rwnd.saturating_sub(len);
                let (msg, max_retransmits, expires) = (f.msg, f.max_retransmits, f.expires);
                if max_retransmits.is_some() || expires.is_some() {
                    self.pr_outstanding += 1;
                }
                self.xmit_seq += 1;
                self.inflight.push(
                    abs,
                    InFlight {
                        chunk,
                        mid: f.seq,
                        fsn: f.fsn,
                        msg,
                        sent_at: now,
                        sent_seq: self.xmit_seq,
                        retransmitted: false,
                        acked: false,
                        marked: false,
                        misses: 0,
                        fast_retransmitted: false,
                        transmissions: 1,
                        max_retransmits,
                        expires,
                        abandoned: false,
                    },
                );
            }
            if new_data {
                self.pace(now, w.len() - new_before);
            }
            if w.is_empty() {
                w.discard();
                self.cwnd_limited = !self.queue.is_empty() && self.flight_bytes >= cwnd;
                return false;
            }
            if self.flight_bytes > flight_before {
                self.cc
                    .on_packet_sent(now, self.flight_bytes - flight_before);
            }
            if carries_data && !self.timers.is_set(Timer::T3Rtx) {
                self.timers.set(Timer::T3Rtx, now + self.rto);
            }
            if carries_data {
                self.arm_tail_loss_probe(now);
            }
            self.finish_packet(w)
        }
    }

    /// Whether pacing lets new data go now; if not, the pacing timer is set for when it
    /// will.
    fn paced(&mut self, now: Instant) -> bool {
        match self.next_send {
            Some(at) if at > now && self.cc.pacing_rate().is_some() => {
                self.timers.set(Timer::Pacing, at);
                false
            }
            _ => true,
        }
    }

    /// `bytes` of new data left: the next may go that much later at the pacing rate.
    fn pace(&mut self, now: Instant, bytes: usize) {
        let Some(rate) = self.cc.pacing_rate().filter(|r| *r > 0) else {
            self.next_send = None;
            return;
        };
        let base = self.next_send.filter(|t| *t > now).unwrap_or(now);
        self.next_send = Some(base + Duration::from_secs_f64(bytes as f64 / rate as f64));
    }

    pub(super) fn pending_data_to_send(&self) -> bool {
        !self.queue.is_empty() && self.flight_bytes < self.cc.window()
    }

    /// Bytes of a DATA or I-DATA chunk header.
    pub(super) fn data_header(&self) -> usize {
        if self.idata {
            IDATA_HEADER
        } else {
            DATA_HEADER
        }
    }
}
