//! The record engine under both roles' flights: building, packing and retransmitting a
//! flight, sealing records on the send path, and opening records (epochs, the replay
//! window, alerts, application data) and handshake fragments on the receive path.

use bytes::{Buf, Bytes, BytesMut};

use super::handshake::{self, Added};
use super::record::{
    self, ALERT, APPLICATION_DATA, CHANGE_CIPHER_SPEC, DTLS_1_0, DTLS_1_2, HANDSHAKE,
};
use super::{DecodeError, Dtls, DtlsError, DtlsEvent, FlightItem, MIN_RETRANSMIT, State};

impl Dtls {
    pub(super) fn push_datagram(&mut self, d: Vec<u8>) {
        self.stats.datagrams_sent += 1;
        self.out.push_back(Bytes::from(d));
    }

    pub(super) fn next_write_seq(&mut self) -> u64 {
        let e = usize::from(self.write_epoch.min(1));
        let s = self.write_seq[e];
        self.write_seq[e] += 1;
        s
    }

    pub(super) fn plain_record(&mut self, out: &mut Vec<u8>, ct: u8, payload: &[u8]) {
        let seq = self.write_seq[0];
        self.write_seq[0] += 1;
        record::write_record(out, ct, DTLS_1_2, 0, seq, payload);
    }

    pub(super) fn seal_record(&mut self, out: &mut Vec<u8>, ct: u8, payload: &[u8]) {
        let seq = self.next_write_seq();
        if let Some(c) = &self.write_cipher {
            c.seal(out, ct, self.write_epoch, seq, payload);
        }
    }

    /// Send (or resend) the current flight, packing records into datagrams.
    pub(super) fn send_flight(&mut self) {
        let mtu = self.cfg.mtu.max(256);
        let mut datagrams: Vec<Vec<u8>> = Vec::new();
        let mut cur: Vec<u8> = Vec::with_capacity(mtu);
        let flight = self.flight.clone();
        for item in &flight {
            let (epoch, ct, pieces) = match item {
                FlightItem::ChangeCipherSpec => (0u16, CHANGE_CIPHER_SPEC, vec![vec![1u8]]),
                FlightItem::Handshake { epoch, message } => {
                    let overhead = record::HEADER_LEN
                        + handshake::HEADER_LEN
                        + if *epoch == 1 { 8 + 16 + 8 } else { 0 };
                    (
                        *epoch,
                        HANDSHAKE,
                        handshake::fragment_message(message, mtu - overhead),
                    )
                }
            };
            for piece in pieces {
                let size = record::HEADER_LEN + piece.len() + if epoch == 1 { 24 } else { 0 };
                if !cur.is_empty() && cur.len() + size > mtu {
                    datagrams.push(std::mem::take(&mut cur));
                }
                if epoch == 0 {
                    self.plain_record(&mut cur, ct, &piece);
                } else {
                    let seq = self.write_seq[1];
                    self.write_seq[1] += 1;
                    if let Some(c) = &self.write_cipher {
                        c.seal(&mut cur, ct, 1, seq, &piece);
                    }
                }
            }
        }
        if !cur.is_empty() {
            datagrams.push(cur);
        }
        for d in datagrams {
            self.push_datagram(d);
        }
        self.flight_deadline = if self.awaits_response() {
            Some(self.now + self.rto)
        } else {
            None
        };
    }

    /// Whether our last flight expects an answer (every flight but the server's last).
    fn awaits_response(&self) -> bool {
        !matches!(self.state, State::Connected | State::Closed | State::Failed)
    }

    pub(super) fn new_flight(&mut self) {
        self.flight.clear();
        // A zero timeout would retransmit forever at the same instant.
        self.rto = self.cfg.initial_retransmit.max(MIN_RETRANSMIT);
    }

    /// Queue a handshake message in the current flight and add it to the transcript.
    pub(super) fn queue_message(
        &mut self,
        msg_type: u8,
        body: &[u8],
        epoch: u16,
        in_transcript: bool,
    ) {
        let message = handshake::encode_message(msg_type, self.send_seq, body);
        self.send_seq = self.send_seq.wrapping_add(1);
        if in_transcript {
            self.transcript.extend_from_slice(&message);
        }
        self.flight.push(FlightItem::Handshake { epoch, message });
    }

    /// Returns whether the record shows the peer retransmitting an old flight.
    /// `buf` is one whole record, header included.
    ///
    /// Only authenticated records change what the session believes: epoch 0 is
    /// plaintext, so once the peer's protected records arrive, epoch 0 is ignored but for
    /// handshake fragments still on their way (reordering), and the read epoch moves only
    /// when a record of the next epoch authenticates, never on a (forgeable) CCS.
    pub(super) fn handle_record(&mut self, mut buf: BytesMut) -> Result<bool, DtlsError> {
        let rec = record::records(&buf)
            .next()
            .ok_or(DtlsError::Decode(DecodeError::RecordHeaderTruncated))??;
        let (content_type, epoch, seq) = (rec.content_type, rec.epoch, rec.seq);
        if rec.version != DTLS_1_2 && rec.version != DTLS_1_0 {
            return Err(DtlsError::Decode(DecodeError::RecordVersion));
        }
        // The payload becomes a view of `buf` (decrypted where it lies for epoch 1), so
        // application data goes on without a copy.
        let payload: Bytes = if epoch == 0 {
            let keyed = self.read_epoch == 1 || self.state == State::Connected;
            if self.state == State::Connected || (keyed && content_type != HANDSHAKE) {
                // A plaintext alert, CCS or handshake record once keys protect the
                // session (RFC 6347 §4.1.2.7: invalid records are silently discarded).
                // The peer's retransmitted final flight still reaches us, protected,
                // as its Finished.
                self.stats.plaintext_dropped += 1;
                return Err(DtlsError::Decode(DecodeError::PlaintextAfterKeys));
            }
            buf.advance(record::HEADER_LEN);
            buf.freeze()
        } else if epoch == 1 {
            if !self.replay.check(seq) {
                self.stats.replays += 1;
                return Err(DtlsError::Decode(DecodeError::ReplayedRecord));
            }
            let cipher = match (&self.read_cipher, &self.pending_read_cipher) {
                (Some(c), _) | (None, Some(c)) => c,
                // Keys not derived yet: it overtook the flight that makes them.
                (None, None) => return Err(DtlsError::Decode(DecodeError::UnknownEpoch)),
            };
            let (at, n) = cipher.open_in_place(&mut buf)?;
            if self.read_epoch == 0 {
                // The first authenticated record of epoch 1: the peer has switched.
                self.read_cipher = self.pending_read_cipher.take();
                self.read_epoch = 1;
            }
            self.replay.accept(seq);
            buf.advance(at);
            buf.truncate(n);
            buf.freeze()
        } else {
            return Err(DtlsError::Decode(DecodeError::UnknownEpoch));
        };

        let data: &[u8] = &payload;
        match content_type {
            HANDSHAKE => self.handle_handshake_record(data, epoch),
            CHANGE_CIPHER_SPEC => {
                // Informational: the epoch moves when a protected record authenticates.
                if data != [1] {
                    return Err(DtlsError::Decode(DecodeError::ChangeCipherSpecBody));
                }
                Ok(false)
            }
            ALERT => {
                if data.len() < 2 {
                    return Err(DtlsError::Decode(DecodeError::AlertBody));
                }
                let (level, desc) = (data[0], data[1]);
                if desc == 0 {
                    self.state = State::Closed;
                    self.flight_deadline = None;
                    self.events.push_back(DtlsEvent::Closed);
                } else if level == 2 {
                    self.state = State::Failed;
                    self.flight_deadline = None;
                    self.events
                        .push_back(DtlsEvent::Failed(DtlsError::PeerAlert(desc)));
                }
                Ok(false)
            }
            APPLICATION_DATA => {
                if epoch == 1 && self.state == State::Connected {
                    self.events.push_back(DtlsEvent::ApplicationData(payload));
                    Ok(false)
                } else {
                    Err(DtlsError::Decode(
                        DecodeError::ApplicationDataBeforeHandshake,
                    ))
                }
            }
            _ => Err(DtlsError::Decode(DecodeError::UnknownContentType)),
        }
    }

    fn handle_handshake_record(&mut self, data: &[u8], epoch: u16) -> Result<bool, DtlsError> {
        let mut old = false;
        for f in handshake::fragments(data)? {
            match self.reasm.add(&f, epoch)? {
                // A protected fragment is the peer's own; a plaintext one must repeat
                // what the peer sent, or anyone could make us resend our flight.
                Added::Old if epoch == 1 || self.is_peer_retransmission(&f) => old = true,
                Added::Old => {
                    self.stats.unmatched_retransmissions += 1;
                    self.stats.records_dropped += 1;
                }
                Added::Accepted | Added::Dropped => {}
            }
        }
        while let Some((msg_type, seq, body, epoch)) = self.reasm.pop() {
            self.handle_message(msg_type, seq, &body, epoch)?;
            if matches!(self.state, State::Failed | State::Closed) {
                break;
            }
        }
        Ok(old)
    }

    /// Whether `f` repeats bytes of a handshake message the peer already sent us.
    fn is_peer_retransmission(&self, f: &handshake::Fragment<'_>) -> bool {
        let Some(&(_, at)) = self.peer_messages.iter().find(|(s, _)| *s == f.message_seq) else {
            return false;
        };
        let Some(header) = self.transcript.get(at..at + handshake::HEADER_LEN) else {
            return false;
        };
        let length = u32::from_be_bytes([0, header[1], header[2], header[3]]);
        let start = at + handshake::HEADER_LEN + f.offset as usize;
        header[0] == f.msg_type
            && length == f.length
            && self.transcript.get(start..start + f.data.len()) == Some(f.data)
    }

    pub(super) fn add_to_transcript(&mut self, msg_type: u8, seq: u16, body: &[u8]) {
        self.peer_messages.push((seq, self.transcript.len()));
        self.transcript
            .extend_from_slice(&handshake::encode_message(msg_type, seq, body));
    }
}
