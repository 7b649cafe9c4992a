//! STUN (RFC 8489, RFC 5389): message codec, integrity, fingerprint and client
//! transaction timing, plus a tiny sans-IO Binding server.
//!
//! Parsing borrows from the datagram and allocates nothing; a parsed [`Message`] has
//! already had its structure, every known attribute value and its FINGERPRINT (when
//! present) checked, so the typed getters cannot fail.
//!
//! ```
//! use sansrtc::crypto::default_provider;
//! use sansrtc::stun::{Class, Message, MessageBuilder, Method, TransactionId};
//! let provider = default_provider();
//! let tid = TransactionId([7; 12]);
//! let mut b = MessageBuilder::new(Class::Request, Method::Binding, tid);
//! b.username("bob:alice").priority(0x6e7f00ff).use_candidate();
//! let bytes = b.finish_with_integrity(&*provider, b"secret");
//! let msg = Message::parse(&bytes).unwrap();
//! assert_eq!(msg.username(), Some("bob:alice"));
//! msg.check_integrity(&*provider, b"secret").unwrap();
//! assert!(msg.check_integrity(&*provider, b"wrong").is_err());
//! ```

pub mod attr;
mod server;
mod transaction;

use std::net::SocketAddr;

pub use attr::Attribute;
pub use server::{StunServer, StunServerStats};
pub use transaction::{StunTiming, Transaction, TransactionAction};

use crate::crypto::{CryptoProvider, HashAlgorithm, HmacTag};
use crate::rng::Rng;

/// The fixed magic cookie of RFC 5389/8489 messages.
pub const MAGIC_COOKIE: u32 = 0x2112_A442;
/// XOR constant for FINGERPRINT (RFC 8489 §14.7).
const FINGERPRINT_XOR: u32 = 0x5354_554E;
/// Size of the STUN header.
pub const HEADER_LEN: usize = 20;

/// Errors from parsing or checking STUN messages.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StunError {
    /// Shorter than a header, or the length field disagrees with the datagram.
    #[error("STUN message truncated or length mismatch")]
    Length,
    /// Not a STUN message (top bits or magic cookie wrong).
    #[error("not a STUN message")]
    NotStun,
    /// An attribute header or value runs past the end of the message.
    #[error("STUN attribute truncated")]
    TruncatedAttribute,
    /// An attribute value is malformed.
    #[error("STUN attribute {0:#06x} invalid: {1}")]
    InvalidAttribute(u16, &'static str),
    /// An attribute follows FINGERPRINT, or one other than MESSAGE-INTEGRITY-SHA256 and
    /// FINGERPRINT follows MESSAGE-INTEGRITY.
    #[error("STUN attribute {0:#06x} in a position RFC 8489 forbids")]
    Misplaced(u16),
    /// FINGERPRINT does not match the message.
    #[error("STUN FINGERPRINT mismatch")]
    Fingerprint,
    /// The message carries no MESSAGE-INTEGRITY to check.
    #[error("STUN message has no MESSAGE-INTEGRITY")]
    NoIntegrity,
    /// MESSAGE-INTEGRITY does not match the key.
    #[error("STUN MESSAGE-INTEGRITY mismatch")]
    Integrity,
}

/// The 96-bit transaction id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId(pub [u8; 12]);

impl TransactionId {
    /// A fresh id from a seedable generator.
    pub fn random(rng: &mut Rng) -> Self {
        let mut id = [0u8; 12];
        rng.fill(&mut id);
        TransactionId(id)
    }
}

/// Message class (RFC 8489 §5).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Request.
    Request,
    /// Indication.
    Indication,
    /// Success response.
    Success,
    /// Error response.
    Error,
}

/// Message method (RFC 8489 §18.2, RFC 8656 §17).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// Binding (0x001).
    Binding,
    /// TURN Allocate (0x003).
    Allocate,
    /// TURN Refresh (0x004).
    Refresh,
    /// TURN Send (0x006).
    Send,
    /// TURN Data (0x007).
    Data,
    /// TURN CreatePermission (0x008).
    CreatePermission,
    /// TURN ChannelBind (0x009).
    ChannelBind,
    /// Any other 12-bit method.
    Other(u16),
}

impl Method {
    /// The 12-bit method number.
    pub fn code(self) -> u16 {
        match self {
            Method::Binding => 0x001,
            Method::Allocate => 0x003,
            Method::Refresh => 0x004,
            Method::Send => 0x006,
            Method::Data => 0x007,
            Method::CreatePermission => 0x008,
            Method::ChannelBind => 0x009,
            Method::Other(m) => m & 0x0FFF,
        }
    }

    /// The method for a 12-bit number.
    pub fn from_code(code: u16) -> Self {
        match code {
            0x001 => Method::Binding,
            0x003 => Method::Allocate,
            0x004 => Method::Refresh,
            0x006 => Method::Send,
            0x007 => Method::Data,
            0x008 => Method::CreatePermission,
            0x009 => Method::ChannelBind,
            m => Method::Other(m),
        }
    }
}

fn encode_type(class: Class, method: Method) -> u16 {
    let m = method.code();
    let c: u16 = match class {
        Class::Request => 0b00,
        Class::Indication => 0b01,
        Class::Success => 0b10,
        Class::Error => 0b11,
    };
    (m & 0x000F) | ((c & 1) << 4) | ((m & 0x0070) << 1) | ((c & 2) << 7) | ((m & 0x0F80) << 2)
}

fn decode_type(t: u16) -> (Class, Method) {
    let m = (t & 0x000F) | ((t >> 1) & 0x0070) | ((t >> 2) & 0x0F80);
    let c = ((t >> 4) & 1) | ((t >> 7) & 2);
    let class = match c {
        0 => Class::Request,
        1 => Class::Indication,
        2 => Class::Success,
        _ => Class::Error,
    };
    (class, Method::from_code(m))
}

/// Quick check whether a datagram looks like STUN (RFC 7983 first byte 0–3 and the magic
/// cookie), without parsing it.
pub fn is_stun(buf: &[u8]) -> bool {
    buf.len() >= HEADER_LEN
        && buf[0] < 4
        && u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]) == MAGIC_COOKIE
}

/// A parsed STUN message borrowing the datagram it came from.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    buf: &'a [u8],
    class: Class,
    method: Method,
    tid: TransactionId,
    /// Offset of the MESSAGE-INTEGRITY attribute header.
    integrity: Option<usize>,
    /// Offset of the MESSAGE-INTEGRITY-SHA256 attribute header.
    integrity_sha256: Option<usize>,
    /// End of the attributes that count: later ones are ignored (RFC 8489 §14.5).
    counted_end: usize,
}

struct RawAttrs<'a> {
    buf: &'a [u8],
    at: usize,
    end: usize,
}

impl<'a> Iterator for RawAttrs<'a> {
    /// (offset of the header, type, value)
    type Item = (usize, u16, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        if self.at + 4 > self.end {
            return None;
        }
        let b = self.buf;
        let at = self.at;
        let typ = u16::from_be_bytes([b[at], b[at + 1]]);
        let len = usize::from(u16::from_be_bytes([b[at + 2], b[at + 3]]));
        let value = b.get(at + 4..at + 4 + len)?;
        self.at = at + 4 + ((len + 3) & !3);
        Some((at, typ, value))
    }
}

impl<'a> Message<'a> {
    /// Parse and validate a whole STUN message (one UDP datagram).
    ///
    /// Checks the header, that every attribute lies within the message, that every known
    /// attribute value is well formed, attribute ordering around MESSAGE-INTEGRITY and
    /// FINGERPRINT, and the FINGERPRINT value when present. Never panics.
    pub fn parse(buf: &'a [u8]) -> Result<Self, StunError> {
        if buf.len() < HEADER_LEN {
            return Err(StunError::Length);
        }
        if buf[0] & 0xC0 != 0
            || u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]) != MAGIC_COOKIE
        {
            return Err(StunError::NotStun);
        }
        let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
        if !len.is_multiple_of(4) || HEADER_LEN + len != buf.len() {
            return Err(StunError::Length);
        }
        let (class, method) = decode_type(u16::from_be_bytes([buf[0], buf[1]]));
        let tid = TransactionId(buf[8..20].try_into().expect("length checked"));

        let mut msg = Message {
            buf,
            class,
            method,
            tid,
            integrity: None,
            integrity_sha256: None,
            counted_end: buf.len(),
        };
        let mut at = HEADER_LEN;
        let mut fingerprint_seen = false;
        while at < buf.len() {
            if at + 4 > buf.len() {
                return Err(StunError::TruncatedAttribute);
            }
            let typ = u16::from_be_bytes([buf[at], buf[at + 1]]);
            let vlen = usize::from(u16::from_be_bytes([buf[at + 2], buf[at + 3]]));
            let padded = (vlen + 3) & !3;
            if at + 4 + padded > buf.len() {
                return Err(StunError::TruncatedAttribute);
            }
            let value = &buf[at + 4..at + 4 + vlen];
            if fingerprint_seen {
                return Err(StunError::Misplaced(typ));
            }
            let after_integrity = msg.integrity.is_some() || msg.integrity_sha256.is_some();
            match typ {
                attr::FINGERPRINT => {
                    let v: [u8; 4] = value
                        .try_into()
                        .map_err(|_| StunError::InvalidAttribute(typ, "wrong length"))?;
                    if u32::from_be_bytes(v) != fingerprint_over(buf, at) {
                        return Err(StunError::Fingerprint);
                    }
                    fingerprint_seen = true;
                    if !after_integrity {
                        msg.counted_end = at;
                    }
                }
                attr::MESSAGE_INTEGRITY_SHA256 => {
                    if msg.integrity_sha256.is_some() {
                        return Err(StunError::Misplaced(typ));
                    }
                    attr::decode(typ, value, &tid)?;
                    msg.integrity_sha256 = Some(at);
                    if !after_integrity {
                        msg.counted_end = at;
                    }
                }
                attr::MESSAGE_INTEGRITY => {
                    if after_integrity {
                        return Err(StunError::Misplaced(typ));
                    }
                    attr::decode(typ, value, &tid)?;
                    msg.integrity = Some(at);
                    msg.counted_end = at;
                }
                // Attributes after MESSAGE-INTEGRITY are ignored (RFC 8489 §14.5), so a
                // malformed one there must not reject the message.
                _ if after_integrity => {}
                _ => {
                    attr::decode(typ, value, &tid)?;
                }
            }
            at += 4 + padded;
        }
        Ok(msg)
    }

    /// Message class.
    pub fn class(&self) -> Class {
        self.class
    }

    /// Message method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// Transaction id.
    pub fn transaction_id(&self) -> TransactionId {
        self.tid
    }

    /// The raw bytes of the message.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }

    fn raw(&self) -> RawAttrs<'a> {
        RawAttrs {
            buf: self.buf,
            at: HEADER_LEN,
            end: self.counted_end,
        }
    }

    /// The attributes before MESSAGE-INTEGRITY / FINGERPRINT, in order. (Those two are
    /// checked with [`Message::check_integrity`] and at parse time.)
    pub fn attributes(&self) -> impl Iterator<Item = Attribute<'a>> + '_ {
        let tid = self.tid;
        self.raw().map(move |(_, typ, value)| {
            attr::decode(typ, value, &tid).unwrap_or(Attribute::Other { typ, value })
        })
    }

    /// The first attribute of this type, raw.
    pub fn get_raw(&self, typ: u16) -> Option<&'a [u8]> {
        self.raw().find(|(_, t, _)| *t == typ).map(|(_, _, v)| v)
    }

    fn get(&self, typ: u16) -> Option<Attribute<'a>> {
        let v = self.get_raw(typ)?;
        attr::decode(typ, v, &self.tid).ok()
    }

    /// Comprehension-required attribute types this codec does not understand (RFC 8489
    /// §6.3.1: a request carrying any gets a 420 response listing them).
    pub fn unknown_comprehension_required(&self) -> impl Iterator<Item = u16> + '_ {
        self.raw()
            .map(|(_, t, _)| t)
            .filter(|t| attr::is_comprehension_required(*t) && !attr::KNOWN.contains(t))
    }

    /// USERNAME.
    pub fn username(&self) -> Option<&'a str> {
        match self.get(attr::USERNAME)? {
            Attribute::Username(u) => Some(u),
            _ => None,
        }
    }

    /// XOR-MAPPED-ADDRESS, falling back to MAPPED-ADDRESS for old servers.
    pub fn mapped_address(&self) -> Option<SocketAddr> {
        match self.get(attr::XOR_MAPPED_ADDRESS) {
            Some(Attribute::XorMappedAddress(a)) => Some(a),
            _ => match self.get(attr::MAPPED_ADDRESS)? {
                Attribute::MappedAddress(a) => Some(a),
                _ => None,
            },
        }
    }

    /// XOR-RELAYED-ADDRESS.
    pub fn relayed_address(&self) -> Option<SocketAddr> {
        match self.get(attr::XOR_RELAYED_ADDRESS)? {
            Attribute::XorRelayedAddress(a) => Some(a),
            _ => None,
        }
    }

    /// XOR-PEER-ADDRESS.
    pub fn peer_address(&self) -> Option<SocketAddr> {
        match self.get(attr::XOR_PEER_ADDRESS)? {
            Attribute::XorPeerAddress(a) => Some(a),
            _ => None,
        }
    }

    /// PRIORITY.
    pub fn priority(&self) -> Option<u32> {
        match self.get(attr::PRIORITY)? {
            Attribute::Priority(p) => Some(p),
            _ => None,
        }
    }

    /// Whether USE-CANDIDATE is present.
    pub fn use_candidate(&self) -> bool {
        self.get_raw(attr::USE_CANDIDATE).is_some()
    }

    /// ICE-CONTROLLING tie-breaker.
    pub fn ice_controlling(&self) -> Option<u64> {
        match self.get(attr::ICE_CONTROLLING)? {
            Attribute::IceControlling(t) => Some(t),
            _ => None,
        }
    }

    /// ICE-CONTROLLED tie-breaker.
    pub fn ice_controlled(&self) -> Option<u64> {
        match self.get(attr::ICE_CONTROLLED)? {
            Attribute::IceControlled(t) => Some(t),
            _ => None,
        }
    }

    /// ERROR-CODE as (code, reason).
    pub fn error_code(&self) -> Option<(u16, &'a str)> {
        match self.get(attr::ERROR_CODE)? {
            Attribute::ErrorCode { code, reason } => Some((code, reason)),
            _ => None,
        }
    }

    /// REALM.
    pub fn realm(&self) -> Option<&'a str> {
        match self.get(attr::REALM)? {
            Attribute::Realm(r) => Some(r),
            _ => None,
        }
    }

    /// NONCE.
    pub fn nonce(&self) -> Option<&'a str> {
        match self.get(attr::NONCE)? {
            Attribute::Nonce(r) => Some(r),
            _ => None,
        }
    }

    /// LIFETIME in seconds.
    pub fn lifetime(&self) -> Option<u32> {
        match self.get(attr::LIFETIME)? {
            Attribute::Lifetime(l) => Some(l),
            _ => None,
        }
    }

    /// DATA.
    pub fn data(&self) -> Option<&'a [u8]> {
        self.get_raw(attr::DATA)
    }

    /// Whether the message carries MESSAGE-INTEGRITY.
    pub fn has_integrity(&self) -> bool {
        self.integrity.is_some()
    }

    /// Whether the message carries MESSAGE-INTEGRITY-SHA256.
    pub fn has_integrity_sha256(&self) -> bool {
        self.integrity_sha256.is_some()
    }

    /// Verify MESSAGE-INTEGRITY (HMAC-SHA1, computed by `provider`) with `key`: the ICE
    /// password for short-term credentials, [`long_term_key`] for long-term ones.
    /// Constant-time comparison.
    pub fn check_integrity(
        &self,
        provider: &dyn CryptoProvider,
        key: &[u8],
    ) -> Result<(), StunError> {
        let at = self.integrity.ok_or(StunError::NoIntegrity)?;
        let tag = mac_prefix(provider, HashAlgorithm::Sha1, key, self.buf, at, 24);
        if tag.verify_truncated(&self.buf[at + 4..at + 24]) {
            Ok(())
        } else {
            Err(StunError::Integrity)
        }
    }

    /// Verify MESSAGE-INTEGRITY-SHA256 (possibly truncated to 16..32 bytes) with `key`.
    pub fn check_integrity_sha256(
        &self,
        provider: &dyn CryptoProvider,
        key: &[u8],
    ) -> Result<(), StunError> {
        let at = self.integrity_sha256.ok_or(StunError::NoIntegrity)?;
        let vlen = usize::from(u16::from_be_bytes([self.buf[at + 2], self.buf[at + 3]]));
        let tag = mac_prefix(provider, HashAlgorithm::Sha256, key, self.buf, at, 4 + vlen);
        if tag.verify_truncated(&self.buf[at + 4..at + 4 + vlen]) {
            Ok(())
        } else {
            Err(StunError::Integrity)
        }
    }
}

/// HMAC over the header (with its length rewritten to end after an attribute of
/// `attr_len` bytes at `at`) and the attributes before `at` (RFC 8489 §14.5, §14.6).
fn mac_prefix(
    provider: &dyn CryptoProvider,
    hash: HashAlgorithm,
    key: &[u8],
    buf: &[u8],
    at: usize,
    attr_len: usize,
) -> HmacTag {
    let len = ((at - HEADER_LEN + attr_len) as u16).to_be_bytes();
    provider.hmac(hash, key, &[&buf[..2], &len, &buf[4..at]])
}

fn fingerprint_over(buf: &[u8], at: usize) -> u32 {
    let len = (at - HEADER_LEN + 8) as u16;
    let mut h = crc32fast::Hasher::new();
    h.update(&buf[..2]);
    h.update(&len.to_be_bytes());
    h.update(&buf[4..at]);
    h.finalize() ^ FINGERPRINT_XOR
}

/// The long-term credential key for MESSAGE-INTEGRITY: MD5(username ":" realm ":" password)
/// (RFC 8489 §9.2.2). SASLprep of the password is the caller's business.
pub fn long_term_key(username: &str, realm: &str, password: &str) -> [u8; 16] {
    use md5::Digest;
    let mut h = md5::Md5::new();
    h.update(username.as_bytes());
    h.update(b":");
    h.update(realm.as_bytes());
    h.update(b":");
    h.update(password.as_bytes());
    h.finalize().into()
}

/// Builds one STUN message. Attributes are appended in call order.
#[derive(Debug, Clone)]
pub struct MessageBuilder {
    buf: Vec<u8>,
    tid: TransactionId,
    pad: u8,
}

impl MessageBuilder {
    /// Start a message with this class, method and transaction id.
    pub fn new(class: Class, method: Method, tid: TransactionId) -> Self {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&encode_type(class, method).to_be_bytes());
        buf.extend_from_slice(&[0, 0]);
        buf.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        buf.extend_from_slice(&tid.0);
        MessageBuilder { buf, tid, pad: 0 }
    }

    /// Use this byte for attribute padding instead of zero. RFC 8489 lets senders pad with
    /// anything; RFC 5769's vectors pad with spaces.
    pub fn padding_byte(&mut self, pad: u8) -> &mut Self {
        self.pad = pad;
        self
    }

    fn set_len(&mut self) {
        let len = (self.buf.len() - HEADER_LEN) as u16;
        self.buf[2..4].copy_from_slice(&len.to_be_bytes());
    }

    /// Append a raw attribute; the value is padded to 4 bytes.
    ///
    /// Panics if `value` is longer than 65535 bytes, which is a programming error.
    pub fn raw(&mut self, typ: u16, value: &[u8]) -> &mut Self {
        let len = u16::try_from(value.len()).expect("STUN attribute value over 65535 bytes");
        self.buf.extend_from_slice(&typ.to_be_bytes());
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(value);
        let pad = (4 - value.len() % 4) % 4;
        self.buf.extend_from_slice(&[self.pad; 3][..pad]);
        self.set_len();
        self
    }

    /// Append any typed attribute. MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT are computed
    /// by [`MessageBuilder::integrity`] and [`MessageBuilder::fingerprint`] instead.
    pub fn attribute(&mut self, a: &Attribute<'_>) -> &mut Self {
        match a {
            Attribute::MappedAddress(addr) => self.address(attr::MAPPED_ADDRESS, *addr, false),
            Attribute::XorMappedAddress(addr) => {
                self.address(attr::XOR_MAPPED_ADDRESS, *addr, true)
            }
            Attribute::XorPeerAddress(addr) => self.address(attr::XOR_PEER_ADDRESS, *addr, true),
            Attribute::XorRelayedAddress(addr) => {
                self.address(attr::XOR_RELAYED_ADDRESS, *addr, true)
            }
            Attribute::Username(s) => self.raw(attr::USERNAME, s.as_bytes()),
            Attribute::Realm(s) => self.raw(attr::REALM, s.as_bytes()),
            Attribute::Nonce(s) => self.raw(attr::NONCE, s.as_bytes()),
            Attribute::Software(s) => self.raw(attr::SOFTWARE, s.as_bytes()),
            Attribute::MessageIntegrity(v) => self.raw(attr::MESSAGE_INTEGRITY, v),
            Attribute::MessageIntegritySha256(v) => self.raw(attr::MESSAGE_INTEGRITY_SHA256, v),
            Attribute::Fingerprint(v) => self.raw(attr::FINGERPRINT, &v.to_be_bytes()),
            Attribute::ErrorCode { code, reason } => self.error_code(*code, reason),
            Attribute::UnknownAttributes(list) => {
                let v: Vec<u8> = list.iter().flat_map(u16::to_be_bytes).collect();
                self.raw(attr::UNKNOWN_ATTRIBUTES, &v)
            }
            Attribute::Priority(p) => self.raw(attr::PRIORITY, &p.to_be_bytes()),
            Attribute::UseCandidate => self.raw(attr::USE_CANDIDATE, &[]),
            Attribute::DontFragment => self.raw(attr::DONT_FRAGMENT, &[]),
            Attribute::IceControlled(t) => self.raw(attr::ICE_CONTROLLED, &t.to_be_bytes()),
            Attribute::IceControlling(t) => self.raw(attr::ICE_CONTROLLING, &t.to_be_bytes()),
            Attribute::Lifetime(l) => self.raw(attr::LIFETIME, &l.to_be_bytes()),
            Attribute::RequestedTransport(p) => self.raw(attr::REQUESTED_TRANSPORT, &[*p, 0, 0, 0]),
            Attribute::ChannelNumber(c) => {
                let b = c.to_be_bytes();
                self.raw(attr::CHANNEL_NUMBER, &[b[0], b[1], 0, 0])
            }
            Attribute::Data(d) => self.raw(attr::DATA, d),
            Attribute::Other { typ, value } => self.raw(*typ, value),
        }
    }

    fn address(&mut self, typ: u16, addr: SocketAddr, xor: bool) -> &mut Self {
        let mut v = Vec::with_capacity(20);
        attr::encode_address(&mut v, addr, xor.then_some(&self.tid));
        self.raw(typ, &v)
    }

    /// USERNAME.
    pub fn username(&mut self, u: &str) -> &mut Self {
        self.raw(attr::USERNAME, u.as_bytes())
    }

    /// XOR-MAPPED-ADDRESS.
    pub fn xor_mapped_address(&mut self, addr: SocketAddr) -> &mut Self {
        self.address(attr::XOR_MAPPED_ADDRESS, addr, true)
    }

    /// PRIORITY.
    pub fn priority(&mut self, p: u32) -> &mut Self {
        self.raw(attr::PRIORITY, &p.to_be_bytes())
    }

    /// USE-CANDIDATE.
    pub fn use_candidate(&mut self) -> &mut Self {
        self.raw(attr::USE_CANDIDATE, &[])
    }

    /// ICE-CONTROLLING or ICE-CONTROLLED with this tie-breaker.
    pub fn ice_role(&mut self, controlling: bool, tie_breaker: u64) -> &mut Self {
        let typ = if controlling {
            attr::ICE_CONTROLLING
        } else {
            attr::ICE_CONTROLLED
        };
        self.raw(typ, &tie_breaker.to_be_bytes())
    }

    /// ERROR-CODE (300–699) with a reason phrase.
    pub fn error_code(&mut self, code: u16, reason: &str) -> &mut Self {
        let mut v = Vec::with_capacity(4 + reason.len());
        v.extend_from_slice(&[0, 0, (code / 100) as u8 & 0x07, (code % 100) as u8]);
        v.extend_from_slice(reason.as_bytes());
        self.raw(attr::ERROR_CODE, &v)
    }

    /// UNKNOWN-ATTRIBUTES listing these types.
    pub fn unknown_attributes(&mut self, types: &[u16]) -> &mut Self {
        let v: Vec<u8> = types.iter().flat_map(|t| t.to_be_bytes()).collect();
        self.raw(attr::UNKNOWN_ATTRIBUTES, &v)
    }

    /// SOFTWARE.
    pub fn software(&mut self, s: &str) -> &mut Self {
        self.raw(attr::SOFTWARE, s.as_bytes())
    }

    /// Append MESSAGE-INTEGRITY (HMAC-SHA1, computed by `provider`) over everything so far.
    pub fn integrity(&mut self, provider: &dyn CryptoProvider, key: &[u8]) -> &mut Self {
        let at = self.buf.len();
        let tag = mac_prefix(provider, HashAlgorithm::Sha1, key, &self.buf, at, 24);
        self.raw(attr::MESSAGE_INTEGRITY, &tag)
    }

    /// Append MESSAGE-INTEGRITY-SHA256 (full 32 bytes) over everything so far.
    pub fn integrity_sha256(&mut self, provider: &dyn CryptoProvider, key: &[u8]) -> &mut Self {
        let at = self.buf.len();
        let tag = mac_prefix(provider, HashAlgorithm::Sha256, key, &self.buf, at, 36);
        self.raw(attr::MESSAGE_INTEGRITY_SHA256, &tag)
    }

    /// Append FINGERPRINT over everything so far.
    pub fn fingerprint(&mut self) -> &mut Self {
        let v = fingerprint_over(&self.buf, self.buf.len());
        self.raw(attr::FINGERPRINT, &v.to_be_bytes())
    }

    /// The finished message bytes.
    pub fn finish(&self) -> Vec<u8> {
        self.buf.clone()
    }

    /// Add MESSAGE-INTEGRITY with `key` and FINGERPRINT, the usual ICE tail, and finish.
    pub fn finish_with_integrity(&mut self, provider: &dyn CryptoProvider, key: &[u8]) -> Vec<u8> {
        self.integrity(provider, key).fingerprint();
        std::mem::take(&mut self.buf)
    }

    /// Add FINGERPRINT and finish.
    pub fn finish_with_fingerprint(&mut self) -> Vec<u8> {
        self.fingerprint();
        std::mem::take(&mut self.buf)
    }
}

#[cfg(test)]
mod tests;
