//! DTLS 1.2 record layer (RFC 6347 §4.1): headers, AEAD protection, replay window.

use crate::crypto::{AEAD_TAG_LEN, Aead};

use super::{DecodeError, DtlsError};

/// change_cipher_spec content type.
pub const CHANGE_CIPHER_SPEC: u8 = 20;
/// alert content type.
pub const ALERT: u8 = 21;
/// handshake content type.
pub const HANDSHAKE: u8 = 22;
/// application_data content type.
pub const APPLICATION_DATA: u8 = 23;

/// DTLS 1.2 on the wire.
pub const DTLS_1_2: u16 = 0xFEFD;
/// DTLS 1.0 on the wire (allowed in the record of a first ClientHello, RFC 6347 §4.1).
pub const DTLS_1_0: u16 = 0xFEFF;

/// Size of a DTLS 1.2 record header.
pub const HEADER_LEN: usize = 13;
/// Largest record payload we accept (2^14 plaintext + expansion, RFC 6347 §4.1 / RFC 5246 §6.2.3).
pub const MAX_RECORD_PAYLOAD: usize = 16384 + 2048;

/// One parsed record, borrowing its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Content type.
    pub content_type: u8,
    /// Record version.
    pub version: u16,
    /// Epoch.
    pub epoch: u16,
    /// 48-bit sequence number.
    pub seq: u64,
    /// Payload (still protected for epochs > 0).
    pub payload: &'a [u8],
}

/// Iterate the records of one datagram. Stops with an error at the first malformed
/// record; earlier records are still yielded.
pub fn records(datagram: &[u8]) -> impl Iterator<Item = Result<Record<'_>, DtlsError>> {
    let mut rest = datagram;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        if rest.len() < HEADER_LEN {
            rest = &[];
            return Some(Err(DtlsError::Decode(DecodeError::RecordHeaderTruncated)));
        }
        let content_type = rest[0];
        let version = u16::from_be_bytes([rest[1], rest[2]]);
        let epoch = u16::from_be_bytes([rest[3], rest[4]]);
        let seq = u64::from_be_bytes([0, 0, rest[5], rest[6], rest[7], rest[8], rest[9], rest[10]]);
        let len = usize::from(u16::from_be_bytes([rest[11], rest[12]]));
        if len > MAX_RECORD_PAYLOAD || rest.len() < HEADER_LEN + len {
            rest = &[];
            return Some(Err(DtlsError::Decode(
                DecodeError::RecordLengthExceedsDatagram,
            )));
        }
        let payload = &rest[HEADER_LEN..HEADER_LEN + len];
        rest = &rest[HEADER_LEN + len..];
        Some(Ok(Record {
            content_type,
            version,
            epoch,
            seq,
            payload,
        }))
    })
}

/// Length of the first record of `datagram`, header included, if it is well formed.
pub fn first_record_len(datagram: &[u8]) -> Result<usize, DtlsError> {
    if datagram.len() < HEADER_LEN {
        return Err(DtlsError::Decode(DecodeError::RecordHeaderTruncated));
    }
    let len = usize::from(u16::from_be_bytes([datagram[11], datagram[12]]));
    if len > MAX_RECORD_PAYLOAD || datagram.len() < HEADER_LEN + len {
        return Err(DtlsError::Decode(DecodeError::RecordLengthExceedsDatagram));
    }
    Ok(HEADER_LEN + len)
}

/// Append a record header and payload to `out`.
pub fn write_record(
    out: &mut Vec<u8>,
    content_type: u8,
    version: u16,
    epoch: u16,
    seq: u64,
    payload: &[u8],
) {
    write_header(out, content_type, version, epoch, seq, payload.len());
    out.extend_from_slice(payload);
}

fn write_header(
    out: &mut Vec<u8>,
    content_type: u8,
    version: u16,
    epoch: u16,
    seq: u64,
    len: usize,
) {
    out.push(content_type);
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&epoch.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes()[2..]);
    out.extend_from_slice(&(len as u16).to_be_bytes());
}

/// How the nonce is formed for a suite's AEAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceKind {
    /// AES-GCM (RFC 5288 §3): 4-byte implicit salt, 8-byte explicit nonce in the record.
    Gcm,
    /// ChaCha20-Poly1305 (RFC 7905 §2): 12-byte IV XORed with the sequence, nothing explicit.
    ChaCha,
}

/// Protection of one direction of one epoch.
#[derive(Debug)]
pub struct RecordCipher {
    aead: Box<dyn Aead>,
    iv: [u8; 12],
    kind: NonceKind,
}

/// Per-record expansion of the protected payload.
pub fn overhead(kind: NonceKind) -> usize {
    match kind {
        NonceKind::Gcm => 8 + AEAD_TAG_LEN,
        NonceKind::ChaCha => AEAD_TAG_LEN,
    }
}

fn aad(epoch: u16, seq: u64, content_type: u8, version: u16, len: usize) -> [u8; 13] {
    let mut a = [0u8; 13];
    a[..2].copy_from_slice(&epoch.to_be_bytes());
    a[2..8].copy_from_slice(&seq.to_be_bytes()[2..]);
    a[8] = content_type;
    a[9..11].copy_from_slice(&version.to_be_bytes());
    a[11..13].copy_from_slice(&(len as u16).to_be_bytes());
    a
}

impl RecordCipher {
    /// A cipher from an AEAD and its IV (4 bytes for GCM, 12 for ChaCha20).
    pub fn new(aead: Box<dyn Aead>, iv: &[u8], kind: NonceKind) -> Self {
        let mut full = [0u8; 12];
        full[..iv.len().min(12)].copy_from_slice(&iv[..iv.len().min(12)]);
        RecordCipher {
            aead,
            iv: full,
            kind,
        }
    }

    fn nonce(&self, epoch: u16, seq: u64) -> [u8; 12] {
        let mut explicit = [0u8; 8];
        explicit[..2].copy_from_slice(&epoch.to_be_bytes());
        explicit[2..].copy_from_slice(&seq.to_be_bytes()[2..]);
        match self.kind {
            NonceKind::Gcm => {
                let mut n = self.iv;
                n[4..].copy_from_slice(&explicit);
                n
            }
            NonceKind::ChaCha => {
                let mut n = self.iv;
                for (x, e) in n[4..].iter_mut().zip(explicit) {
                    *x ^= e;
                }
                n
            }
        }
    }

    /// Append a protected record carrying `plaintext` to `out`.
    pub fn seal(
        &self,
        out: &mut Vec<u8>,
        content_type: u8,
        epoch: u16,
        seq: u64,
        plaintext: &[u8],
    ) {
        let at = out.len();
        out.resize(at + self.prefix_len(), 0);
        out.extend_from_slice(plaintext);
        self.seal_in_place(out, at, content_type, epoch, seq);
    }

    /// Bytes a record needs before its plaintext: header and explicit nonce.
    pub fn prefix_len(&self) -> usize {
        HEADER_LEN + if self.kind == NonceKind::Gcm { 8 } else { 0 }
    }

    /// Bytes of a whole protected record with `plain` bytes of plaintext.
    pub fn record_len(&self, plain: usize) -> usize {
        HEADER_LEN + plain + overhead(self.kind)
    }

    /// Protect the record that starts at `at` in `out`: `out[at..at + prefix_len()]` is
    /// room for the header and explicit nonce, and the plaintext runs from there to the
    /// end. Writes the header, encrypts where the plaintext lies and appends the tag.
    pub fn seal_in_place(
        &self,
        out: &mut Vec<u8>,
        at: usize,
        content_type: u8,
        epoch: u16,
        seq: u64,
    ) {
        let start = at + self.prefix_len();
        let plain_len = out.len() - start;
        let len = plain_len + overhead(self.kind);
        let h = &mut out[at..at + HEADER_LEN];
        h[0] = content_type;
        h[1..3].copy_from_slice(&DTLS_1_2.to_be_bytes());
        h[3..5].copy_from_slice(&epoch.to_be_bytes());
        h[5..11].copy_from_slice(&seq.to_be_bytes()[2..]);
        h[11..13].copy_from_slice(&(len as u16).to_be_bytes());
        let nonce = self.nonce(epoch, seq);
        if self.kind == NonceKind::Gcm {
            out[at + HEADER_LEN..start].copy_from_slice(&nonce[4..]);
        }
        let ad = aad(epoch, seq, content_type, DTLS_1_2, plain_len);
        let tag = self.aead.seal(&nonce, &ad, &mut out[start..]);
        out.extend_from_slice(&tag);
    }

    /// Decrypt a record's payload into `buf` (reused); returns the plaintext.
    pub fn open<'b>(&self, rec: &Record<'_>, buf: &'b mut Vec<u8>) -> Result<&'b [u8], DtlsError> {
        let (nonce, body, ad) = self.open_params(rec)?;
        buf.clear();
        buf.extend_from_slice(body);
        let n = self
            .aead
            .open(&nonce, &ad, buf)
            .map_err(|_| DtlsError::BadRecordMac)?;
        Ok(&buf[..n])
    }

    /// Decrypt a whole record (header included) where it lies; returns the offset and
    /// length of the plaintext within `record`.
    pub fn open_in_place(&self, record: &mut [u8]) -> Result<(usize, usize), DtlsError> {
        let rec = records(record)
            .next()
            .ok_or(DtlsError::Decode(DecodeError::RecordHeaderTruncated))??;
        let (nonce, body, ad) = self.open_params(&rec)?;
        let at = record.len() - body.len();
        let n = self
            .aead
            .open(&nonce, &ad, &mut record[at..])
            .map_err(|_| DtlsError::BadRecordMac)?;
        Ok((at, n))
    }

    /// Nonce, ciphertext-with-tag and AAD of a protected record.
    fn open_params<'r>(&self, rec: &Record<'r>) -> Result<OpenParams<'r>, DtlsError> {
        let (nonce, body) = match self.kind {
            NonceKind::Gcm => {
                if rec.payload.len() < 8 + AEAD_TAG_LEN {
                    return Err(DtlsError::Decode(DecodeError::ProtectedRecordTooShort));
                }
                let mut n = self.iv;
                n[4..].copy_from_slice(&rec.payload[..8]);
                (n, &rec.payload[8..])
            }
            NonceKind::ChaCha => {
                if rec.payload.len() < AEAD_TAG_LEN {
                    return Err(DtlsError::Decode(DecodeError::ProtectedRecordTooShort));
                }
                (self.nonce(rec.epoch, rec.seq), rec.payload)
            }
        };
        let plain_len = body.len() - AEAD_TAG_LEN;
        let ad = aad(rec.epoch, rec.seq, rec.content_type, rec.version, plain_len);
        Ok((nonce, body, ad))
    }
}

/// What opening one record needs: nonce, ciphertext with tag, additional data.
type OpenParams<'r> = ([u8; 12], &'r [u8], [u8; 13]);

/// Sliding anti-replay window over 48-bit sequence numbers (RFC 6347 §4.1.2.6).
#[derive(Debug, Clone, Default)]
pub struct ReplayWindow {
    /// Highest sequence number accepted so far.
    max: Option<u64>,
    /// Bit i set ⇔ `max - i` was seen.
    bits: u64,
}

impl ReplayWindow {
    /// Whether `seq` is new and inside the window. Does not record it.
    pub fn check(&self, seq: u64) -> bool {
        match self.max {
            None => true,
            Some(max) if seq > max => true,
            Some(max) => {
                let back = max - seq;
                back < 64 && self.bits & (1 << back) == 0
            }
        }
    }

    /// Record `seq` as seen (after it authenticated).
    pub fn accept(&mut self, seq: u64) {
        match self.max {
            Some(max) if seq <= max => {
                let back = max - seq;
                if back < 64 {
                    self.bits |= 1 << back;
                }
            }
            _ => {
                let shift = self.max.map_or(64, |max| seq - max);
                self.bits = if shift >= 64 { 0 } else { self.bits << shift };
                self.bits |= 1;
                self.max = Some(seq);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_window_accepts_new_rejects_repeats_and_old() {
        let mut w = ReplayWindow::default();
        for s in [0, 1, 2, 5, 4] {
            assert!(w.check(s), "{s}");
            w.accept(s);
            assert!(!w.check(s), "{s} repeat");
        }
        assert!(w.check(3));
        w.accept(200);
        assert!(!w.check(5), "far behind the window");
        assert!(w.check(199) && w.check(137));
        assert!(!w.check(136));
        w.accept(199);
        assert!(!w.check(199) && !w.check(200));
    }

    #[test]
    fn records_reject_truncation() {
        let mut d = Vec::new();
        write_record(&mut d, HANDSHAKE, DTLS_1_2, 0, 7, b"hello");
        write_record(&mut d, ALERT, DTLS_1_2, 0, 8, b"xy");
        let v: Vec<_> = records(&d).collect::<Result<_, _>>().unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!((v[0].seq, v[0].payload), (7, &b"hello"[..]));
        for n in 1..d.len() {
            let r: Result<Vec<_>, _> = records(&d[..n]).collect();
            if n != HEADER_LEN + 5 {
                assert!(r.is_err(), "prefix {n}");
            }
        }
    }
}
