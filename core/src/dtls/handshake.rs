//! Handshake messages (RFC 5246 §7.4, RFC 6347 §4.2), fragmentation and reassembly.

use std::collections::BTreeMap;

use super::codec::{Reader, put_u16, put_u24, put_vec};
use super::{DecodeError, DtlsError, ListKind};

/// client_hello.
pub const CLIENT_HELLO: u8 = 1;
/// server_hello.
pub const SERVER_HELLO: u8 = 2;
/// hello_verify_request.
pub const HELLO_VERIFY_REQUEST: u8 = 3;
/// certificate.
pub const CERTIFICATE: u8 = 11;
/// server_key_exchange.
pub const SERVER_KEY_EXCHANGE: u8 = 12;
/// certificate_request.
pub const CERTIFICATE_REQUEST: u8 = 13;
/// server_hello_done.
pub const SERVER_HELLO_DONE: u8 = 14;
/// certificate_verify.
pub const CERTIFICATE_VERIFY: u8 = 15;
/// client_key_exchange.
pub const CLIENT_KEY_EXCHANGE: u8 = 16;
/// finished.
pub const FINISHED: u8 = 20;

/// Extension: supported_groups.
pub const EXT_SUPPORTED_GROUPS: u16 = 10;
/// Extension: ec_point_formats.
pub const EXT_EC_POINT_FORMATS: u16 = 11;
/// Extension: signature_algorithms.
pub const EXT_SIGNATURE_ALGORITHMS: u16 = 13;
/// Extension: use_srtp (RFC 5764).
pub const EXT_USE_SRTP: u16 = 14;
/// Extension: extended_master_secret (RFC 7627).
pub const EXT_EXTENDED_MASTER_SECRET: u16 = 23;
/// Extension: renegotiation_info (RFC 5746).
pub const EXT_RENEGOTIATION_INFO: u16 = 0xFF01;

/// Handshake header size in DTLS.
pub const HEADER_LEN: usize = 12;
/// Largest handshake message we reassemble: bounds memory a peer can make us hold.
pub const MAX_MESSAGE_LEN: usize = 32 * 1024;
/// How far ahead of the next expected message we buffer.
const MAX_AHEAD: u16 = 8;
/// The most handshake message bytes a peer can make the reassembler hold: partial
/// messages up to [`MAX_MESSAGE_LEN`] each, for the next few message_seq values.
pub const MAX_BUFFERED: usize = MAX_AHEAD as usize * MAX_MESSAGE_LEN;
/// The longest handshake transcript we keep: a full handshake is at most nine messages
/// (with client authentication), so anything longer is a peer padding it out.
pub const MAX_TRANSCRIPT: usize = 12 * (HEADER_LEN + MAX_MESSAGE_LEN);

/// One handshake fragment from a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment<'a> {
    /// Message type.
    pub msg_type: u8,
    /// Whole message length.
    pub length: u32,
    /// message_seq.
    pub message_seq: u16,
    /// Offset of this fragment.
    pub offset: u32,
    /// Fragment bytes.
    pub data: &'a [u8],
}

/// Parse the handshake fragments of one (decrypted) handshake record.
pub fn fragments(payload: &[u8]) -> Result<Vec<Fragment<'_>>, DtlsError> {
    let mut r = Reader::new(payload);
    let mut out = Vec::new();
    while !r.is_empty() {
        let msg_type = r.u8()?;
        let length = r.u24()?;
        let message_seq = r.u16()?;
        let offset = r.u24()?;
        let data = r.vec24()?;
        if u64::from(offset) + data.len() as u64 > u64::from(length) {
            return Err(DtlsError::Decode(DecodeError::FragmentBeyondMessage));
        }
        out.push(Fragment {
            msg_type,
            length,
            message_seq,
            offset,
            data,
        });
    }
    Ok(out)
}

/// A whole message as it enters the transcript (RFC 6347 §4.2.6: header with offset 0 and
/// fragment length = length).
pub fn encode_message(msg_type: u8, message_seq: u16, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.push(msg_type);
    put_u24(&mut out, body.len() as u32);
    put_u16(&mut out, message_seq);
    put_u24(&mut out, 0);
    put_u24(&mut out, body.len() as u32);
    out.extend_from_slice(body);
    out
}

/// Split a whole message (as from [`encode_message`]) into fragments of at most
/// `max_fragment` body bytes, each with its own header.
pub fn fragment_message(message: &[u8], max_fragment: usize) -> Vec<Vec<u8>> {
    let body = &message[HEADER_LEN..];
    if body.len() <= max_fragment {
        return vec![message.to_vec()];
    }
    body.chunks(max_fragment.max(1))
        .enumerate()
        .map(|(i, chunk)| {
            let mut f = Vec::with_capacity(HEADER_LEN + chunk.len());
            f.extend_from_slice(&message[..6]);
            put_u24(&mut f, (i * max_fragment) as u32);
            put_u24(&mut f, chunk.len() as u32);
            f.extend_from_slice(chunk);
            f
        })
        .collect()
}

#[derive(Debug)]
struct Partial {
    msg_type: u8,
    /// The epoch of the record that brought its first fragment: a message never spans
    /// epochs, and the Finished must arrive protected.
    epoch: u16,
    data: Vec<u8>,
    /// Sorted, merged byte ranges received.
    have: Vec<(u32, u32)>,
}

impl Partial {
    fn complete(&self) -> bool {
        self.have.first() == Some(&(0, self.data.len() as u32)) || self.data.is_empty()
    }

    fn add(&mut self, offset: u32, bytes: &[u8]) {
        let end = offset + bytes.len() as u32;
        self.data[offset as usize..end as usize].copy_from_slice(bytes);
        self.have.push((offset, end));
        self.have.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(self.have.len());
        for &(s, e) in &self.have {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.have = merged;
    }
}

/// Reassembles fragments into whole messages, delivered in message_seq order.
#[derive(Debug, Default)]
pub struct Reassembler {
    next_seq: u16,
    pending: BTreeMap<u16, Partial>,
}

/// What [`Reassembler::add`] made of a fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// Buffered (possibly completing a message).
    Accepted,
    /// From a message already delivered: the peer is retransmitting its previous flight.
    Old,
    /// Too far ahead or inconsistent; dropped.
    Dropped,
}

impl Reassembler {
    /// The next message_seq expected.
    pub fn next_seq(&self) -> u16 {
        self.next_seq
    }

    /// Expect the next message at `seq` (after a HelloVerifyRequest exchange, or to
    /// restart a handshake).
    pub fn reset(&mut self, seq: u16) {
        self.next_seq = seq;
        self.pending.clear();
    }

    /// Add one fragment, carried in a record of `epoch`.
    pub fn add(&mut self, f: &Fragment<'_>, epoch: u16) -> Result<Added, DtlsError> {
        if f.message_seq < self.next_seq {
            return Ok(Added::Old);
        }
        if f.message_seq - self.next_seq >= MAX_AHEAD {
            return Ok(Added::Dropped);
        }
        if f.length as usize > MAX_MESSAGE_LEN {
            return Err(DtlsError::Decode(DecodeError::HandshakeMessageTooLarge));
        }
        let p = self
            .pending
            .entry(f.message_seq)
            .or_insert_with(|| Partial {
                msg_type: f.msg_type,
                epoch,
                data: vec![0; f.length as usize],
                have: Vec::new(),
            });
        if p.msg_type != f.msg_type || p.data.len() != f.length as usize || p.epoch != epoch {
            if p.complete() {
                return Ok(Added::Dropped);
            }
            // An unfinished message that disagrees with this fragment: anyone can forge
            // a plaintext fragment, so the first to arrive must not lock the genuine one
            // out. The latest wins; the peer's retransmissions keep coming.
            *p = Partial {
                msg_type: f.msg_type,
                epoch,
                data: vec![0; f.length as usize],
                have: Vec::new(),
            };
        }
        if p.have.len() > 64 {
            // A peer slicing one message into confetti gets no more buffer.
            return Ok(Added::Dropped);
        }
        p.add(f.offset, f.data);
        Ok(Added::Accepted)
    }

    /// The next complete message, in order: (type, message_seq, body, epoch it came in).
    pub fn pop(&mut self) -> Option<(u8, u16, Vec<u8>, u16)> {
        let seq = self.next_seq;
        if !self.pending.get(&seq)?.complete() {
            return None;
        }
        let p = self.pending.remove(&seq)?;
        self.next_seq = seq.wrapping_add(1);
        Some((p.msg_type, seq, p.data, p.epoch))
    }
}

/// Extensions as (type, data) pairs.
pub type Extensions = Vec<(u16, Vec<u8>)>;

fn parse_extensions(r: &mut Reader<'_>) -> Result<Extensions, DtlsError> {
    let mut out = Vec::new();
    if r.is_empty() {
        return Ok(out);
    }
    let mut e = Reader::new(r.vec16()?);
    while !e.is_empty() {
        let typ = e.u16()?;
        let data = e.vec16()?;
        if out.iter().any(|(t, _)| *t == typ) {
            return Err(DtlsError::Decode(DecodeError::DuplicateExtension));
        }
        out.push((typ, data.to_vec()));
    }
    Ok(out)
}

fn put_extensions(out: &mut Vec<u8>, exts: &Extensions) {
    let mut e = Vec::new();
    for (t, d) in exts {
        put_u16(&mut e, *t);
        put_vec(&mut e, 2, d);
    }
    put_vec(out, 2, &e);
}

/// Find an extension's data.
pub fn find_extension(exts: &Extensions, typ: u16) -> Option<&[u8]> {
    exts.iter().find(|(t, _)| *t == typ).map(|(_, d)| &d[..])
}

/// Parse a list of u16 with a 2-byte length prefix (supported_groups,
/// signature_algorithms).
pub fn parse_u16_list(data: &[u8]) -> Result<Vec<u16>, DtlsError> {
    let mut r = Reader::new(data);
    let list = r.vec16()?;
    if list.len() % 2 != 0 {
        return Err(DtlsError::Decode(DecodeError::OddList(ListKind::U16)));
    }
    Ok(list
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect())
}

/// Encode a list of u16 with a 2-byte length prefix.
pub fn encode_u16_list(list: &[u16]) -> Vec<u8> {
    let mut body = Vec::new();
    for v in list {
        put_u16(&mut body, *v);
    }
    let mut out = Vec::new();
    put_vec(&mut out, 2, &body);
    out
}

/// use_srtp extension data: profiles and MKI (RFC 5764 §4.1.1).
pub fn parse_use_srtp(data: &[u8]) -> Result<(Vec<u16>, Vec<u8>), DtlsError> {
    let mut r = Reader::new(data);
    let profiles = r.vec16()?;
    if profiles.len() % 2 != 0 {
        return Err(DtlsError::Decode(DecodeError::OddList(
            ListKind::SrtpProfiles,
        )));
    }
    let mki = r.vec8()?;
    Ok((
        profiles
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect(),
        mki.to_vec(),
    ))
}

/// Encode use_srtp extension data with an empty MKI.
pub fn encode_use_srtp(profiles: &[u16]) -> Vec<u8> {
    let mut out = encode_u16_list(profiles);
    out.push(0);
    out
}

/// ClientHello (RFC 6347 §4.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// client_version.
    pub version: u16,
    /// random.
    pub random: [u8; 32],
    /// session_id.
    pub session_id: Vec<u8>,
    /// cookie.
    pub cookie: Vec<u8>,
    /// cipher_suites.
    pub cipher_suites: Vec<u16>,
    /// compression_methods.
    pub compression: Vec<u8>,
    /// extensions.
    pub extensions: Extensions,
}

impl ClientHello {
    /// Parse a ClientHello body.
    pub fn parse(body: &[u8]) -> Result<Self, DtlsError> {
        let mut r = Reader::new(body);
        let version = r.u16()?;
        let random: [u8; 32] = r.take(32)?.try_into().expect("32 bytes");
        let session_id = r.vec8()?.to_vec();
        let cookie = r.vec8()?;
        if cookie.len() > 255 || session_id.len() > 32 {
            return Err(DtlsError::Decode(DecodeError::SessionIdOrCookieTooLong));
        }
        let suites = r.vec16()?;
        if suites.len() % 2 != 0 {
            return Err(DtlsError::Decode(DecodeError::OddList(
                ListKind::CipherSuites,
            )));
        }
        let compression = r.vec8()?.to_vec();
        let extensions = parse_extensions(&mut r)?;
        Ok(ClientHello {
            version,
            random,
            session_id,
            cookie: cookie.to_vec(),
            cipher_suites: suites
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect(),
            compression,
            extensions,
        })
    }

    /// Encode the body.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        put_u16(&mut out, self.version);
        out.extend_from_slice(&self.random);
        put_vec(&mut out, 1, &self.session_id);
        put_vec(&mut out, 1, &self.cookie);
        let suites: Vec<u8> = self
            .cipher_suites
            .iter()
            .flat_map(|s| s.to_be_bytes())
            .collect();
        put_vec(&mut out, 2, &suites);
        put_vec(&mut out, 1, &self.compression);
        put_extensions(&mut out, &self.extensions);
        out
    }
}

/// ServerHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// server_version.
    pub version: u16,
    /// random.
    pub random: [u8; 32],
    /// session_id.
    pub session_id: Vec<u8>,
    /// cipher_suite.
    pub cipher_suite: u16,
    /// compression_method.
    pub compression: u8,
    /// extensions.
    pub extensions: Extensions,
}

impl ServerHello {
    /// Parse a ServerHello body.
    pub fn parse(body: &[u8]) -> Result<Self, DtlsError> {
        let mut r = Reader::new(body);
        let version = r.u16()?;
        let random: [u8; 32] = r.take(32)?.try_into().expect("32 bytes");
        let session_id = r.vec8()?.to_vec();
        let cipher_suite = r.u16()?;
        let compression = r.u8()?;
        let extensions = parse_extensions(&mut r)?;
        Ok(ServerHello {
            version,
            random,
            session_id,
            cipher_suite,
            compression,
            extensions,
        })
    }

    /// Encode the body.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96);
        put_u16(&mut out, self.version);
        out.extend_from_slice(&self.random);
        put_vec(&mut out, 1, &self.session_id);
        put_u16(&mut out, self.cipher_suite);
        out.push(self.compression);
        put_extensions(&mut out, &self.extensions);
        out
    }
}

/// HelloVerifyRequest body: (version, cookie).
pub fn parse_hello_verify_request(body: &[u8]) -> Result<(u16, Vec<u8>), DtlsError> {
    let mut r = Reader::new(body);
    let v = r.u16()?;
    Ok((v, r.vec8()?.to_vec()))
}

/// Encode a HelloVerifyRequest body.
pub fn encode_hello_verify_request(cookie: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_u16(&mut out, super::record::DTLS_1_0);
    put_vec(&mut out, 1, cookie);
    out
}

/// Certificate body: the chain, leaf first.
pub fn parse_certificate(body: &[u8]) -> Result<Vec<Vec<u8>>, DtlsError> {
    let mut r = Reader::new(body);
    let mut list = Reader::new(r.vec24()?);
    let mut out = Vec::new();
    while !list.is_empty() {
        out.push(list.vec24()?.to_vec());
    }
    Ok(out)
}

/// Encode a Certificate body.
pub fn encode_certificate(chain: &[&[u8]]) -> Vec<u8> {
    let mut list = Vec::new();
    for c in chain {
        put_vec(&mut list, 3, c);
    }
    let mut out = Vec::new();
    put_vec(&mut out, 3, &list);
    out
}

/// ServerKeyExchange for ECDHE (RFC 8422 §5.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerKeyExchange {
    /// named_curve.
    pub group: u16,
    /// ECDHE public value.
    pub public: Vec<u8>,
    /// Signature scheme.
    pub scheme: u16,
    /// Signature.
    pub signature: Vec<u8>,
}

impl ServerKeyExchange {
    /// ServerECDHParams bytes, the part the signature covers with the randoms.
    pub fn params(group: u16, public: &[u8]) -> Vec<u8> {
        let mut out = vec![3];
        put_u16(&mut out, group);
        put_vec(&mut out, 1, public);
        out
    }

    /// Parse a body.
    pub fn parse(body: &[u8]) -> Result<Self, DtlsError> {
        let mut r = Reader::new(body);
        if r.u8()? != 3 {
            return Err(DtlsError::Decode(DecodeError::CurveTypeNotNamed));
        }
        let group = r.u16()?;
        let public = r.vec8()?.to_vec();
        let scheme = r.u16()?;
        let signature = r.vec16()?.to_vec();
        Ok(ServerKeyExchange {
            group,
            public,
            scheme,
            signature,
        })
    }

    /// Encode the body.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Self::params(self.group, &self.public);
        put_u16(&mut out, self.scheme);
        put_vec(&mut out, 2, &self.signature);
        out
    }
}

/// CertificateRequest body: (certificate types, signature schemes).
pub fn parse_certificate_request(body: &[u8]) -> Result<(Vec<u8>, Vec<u16>), DtlsError> {
    let mut r = Reader::new(body);
    let types = r.vec8()?.to_vec();
    let schemes = r.vec16()?;
    if schemes.len() % 2 != 0 {
        return Err(DtlsError::Decode(DecodeError::OddList(
            ListKind::SignatureSchemes,
        )));
    }
    let _authorities = r.vec16()?;
    Ok((
        types,
        schemes
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect(),
    ))
}

/// Encode a CertificateRequest body (ecdsa_sign and rsa_sign, no authorities).
pub fn encode_certificate_request(schemes: &[u16]) -> Vec<u8> {
    let mut out = Vec::new();
    put_vec(&mut out, 1, &[64, 1]);
    out.extend_from_slice(&encode_u16_list(schemes));
    put_u16(&mut out, 0);
    out
}

/// ClientKeyExchange body for ECDHE: the public value.
pub fn parse_client_key_exchange(body: &[u8]) -> Result<Vec<u8>, DtlsError> {
    let mut r = Reader::new(body);
    Ok(r.vec8()?.to_vec())
}

/// Encode a ClientKeyExchange body.
pub fn encode_client_key_exchange(public: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_vec(&mut out, 1, public);
    out
}

/// CertificateVerify / digitally-signed body: (scheme, signature).
pub fn parse_signed(body: &[u8]) -> Result<(u16, Vec<u8>), DtlsError> {
    let mut r = Reader::new(body);
    let scheme = r.u16()?;
    Ok((scheme, r.vec16()?.to_vec()))
}

/// Encode a CertificateVerify body.
pub fn encode_signed(scheme: u16, signature: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_u16(&mut out, scheme);
    put_vec(&mut out, 2, signature);
    out
}
