//! STUN attributes: type codes and typed values (RFC 8489 §14, RFC 8445 §16.1, RFC 8656 §18).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{MAGIC_COOKIE, StunError, TransactionId};

/// MAPPED-ADDRESS (RFC 8489 §14.1).
pub const MAPPED_ADDRESS: u16 = 0x0001;
/// USERNAME (RFC 8489 §14.3).
pub const USERNAME: u16 = 0x0006;
/// MESSAGE-INTEGRITY (RFC 8489 §14.5).
pub const MESSAGE_INTEGRITY: u16 = 0x0008;
/// ERROR-CODE (RFC 8489 §14.8).
pub const ERROR_CODE: u16 = 0x0009;
/// UNKNOWN-ATTRIBUTES (RFC 8489 §14.9).
pub const UNKNOWN_ATTRIBUTES: u16 = 0x000A;
/// CHANNEL-NUMBER (RFC 8656 §18.1).
pub const CHANNEL_NUMBER: u16 = 0x000C;
/// LIFETIME (RFC 8656 §18.2).
pub const LIFETIME: u16 = 0x000D;
/// XOR-PEER-ADDRESS (RFC 8656 §18.3).
pub const XOR_PEER_ADDRESS: u16 = 0x0012;
/// DATA (RFC 8656 §18.4).
pub const DATA: u16 = 0x0013;
/// REALM (RFC 8489 §14.9).
pub const REALM: u16 = 0x0014;
/// NONCE (RFC 8489 §14.10).
pub const NONCE: u16 = 0x0015;
/// XOR-RELAYED-ADDRESS (RFC 8656 §18.5).
pub const XOR_RELAYED_ADDRESS: u16 = 0x0016;
/// REQUESTED-ADDRESS-FAMILY (RFC 8656 §18.6).
pub const REQUESTED_ADDRESS_FAMILY: u16 = 0x0017;
/// EVEN-PORT (RFC 8656 §18.7).
pub const EVEN_PORT: u16 = 0x0018;
/// REQUESTED-TRANSPORT (RFC 8656 §18.8).
pub const REQUESTED_TRANSPORT: u16 = 0x0019;
/// DONT-FRAGMENT (RFC 8656 §18.9).
pub const DONT_FRAGMENT: u16 = 0x001A;
/// MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6).
pub const MESSAGE_INTEGRITY_SHA256: u16 = 0x001C;
/// PASSWORD-ALGORITHM (RFC 8489 §14.12).
pub const PASSWORD_ALGORITHM: u16 = 0x001D;
/// USERHASH (RFC 8489 §14.4).
pub const USERHASH: u16 = 0x001E;
/// XOR-MAPPED-ADDRESS (RFC 8489 §14.2).
pub const XOR_MAPPED_ADDRESS: u16 = 0x0020;
/// RESERVATION-TOKEN (RFC 8656 §18.10).
pub const RESERVATION_TOKEN: u16 = 0x0022;
/// PRIORITY (RFC 8445 §16.1).
pub const PRIORITY: u16 = 0x0024;
/// USE-CANDIDATE (RFC 8445 §16.1).
pub const USE_CANDIDATE: u16 = 0x0025;
/// PASSWORD-ALGORITHMS (RFC 8489 §14.11).
pub const PASSWORD_ALGORITHMS: u16 = 0x8002;
/// ALTERNATE-DOMAIN (RFC 8489 §14.16).
pub const ALTERNATE_DOMAIN: u16 = 0x8003;
/// SOFTWARE (RFC 8489 §14.14).
pub const SOFTWARE: u16 = 0x8022;
/// ALTERNATE-SERVER (RFC 8489 §14.15).
pub const ALTERNATE_SERVER: u16 = 0x8023;
/// FINGERPRINT (RFC 8489 §14.7).
pub const FINGERPRINT: u16 = 0x8028;
/// ICE-CONTROLLED (RFC 8445 §16.1).
pub const ICE_CONTROLLED: u16 = 0x8029;
/// ICE-CONTROLLING (RFC 8445 §16.1).
pub const ICE_CONTROLLING: u16 = 0x802A;

/// Attribute types this codec understands; a comprehension-required type outside this
/// list makes a request fail with 420 (RFC 8489 §6.3.1).
pub const KNOWN: &[u16] = &[
    MAPPED_ADDRESS,
    USERNAME,
    MESSAGE_INTEGRITY,
    ERROR_CODE,
    UNKNOWN_ATTRIBUTES,
    CHANNEL_NUMBER,
    LIFETIME,
    XOR_PEER_ADDRESS,
    DATA,
    REALM,
    NONCE,
    XOR_RELAYED_ADDRESS,
    REQUESTED_ADDRESS_FAMILY,
    EVEN_PORT,
    REQUESTED_TRANSPORT,
    DONT_FRAGMENT,
    MESSAGE_INTEGRITY_SHA256,
    PASSWORD_ALGORITHM,
    USERHASH,
    XOR_MAPPED_ADDRESS,
    RESERVATION_TOKEN,
    PRIORITY,
    USE_CANDIDATE,
];

/// Whether an attribute type must be understood by the receiver (RFC 8489 §14: 0x0000–0x7FFF).
pub fn is_comprehension_required(typ: u16) -> bool {
    typ < 0x8000
}

// Longest values RFC 8489 allows, so a hostile peer cannot hand us megabyte strings.
const MAX_USERNAME: usize = 513;
const MAX_REALM_NONCE: usize = 763;
const MAX_REASON: usize = 763;

/// A list of 16-bit attribute types as carried by UNKNOWN-ATTRIBUTES.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeList<'a>(&'a [u8]);

impl<'a> TypeList<'a> {
    /// The attribute types in order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + 'a {
        self.0
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
    }
}

/// One decoded attribute, borrowing from the message it came from.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribute<'a> {
    /// MAPPED-ADDRESS.
    MappedAddress(SocketAddr),
    /// XOR-MAPPED-ADDRESS, already un-XORed.
    XorMappedAddress(SocketAddr),
    /// USERNAME (UTF-8, at most 513 bytes).
    Username(&'a str),
    /// MESSAGE-INTEGRITY: the 20-byte HMAC-SHA1.
    MessageIntegrity(&'a [u8]),
    /// MESSAGE-INTEGRITY-SHA256: 16 to 32 bytes of HMAC-SHA256.
    MessageIntegritySha256(&'a [u8]),
    /// FINGERPRINT value as carried (already XORed with 0x5354554E).
    Fingerprint(u32),
    /// ERROR-CODE: code 300–699 and reason phrase.
    ErrorCode {
        /// Class * 100 + number.
        code: u16,
        /// Reason phrase.
        reason: &'a str,
    },
    /// UNKNOWN-ATTRIBUTES.
    UnknownAttributes(TypeList<'a>),
    /// REALM.
    Realm(&'a str),
    /// NONCE.
    Nonce(&'a str),
    /// SOFTWARE.
    Software(&'a str),
    /// PRIORITY.
    Priority(u32),
    /// USE-CANDIDATE (no value).
    UseCandidate,
    /// ICE-CONTROLLED with the sender's tie-breaker.
    IceControlled(u64),
    /// ICE-CONTROLLING with the sender's tie-breaker.
    IceControlling(u64),
    /// LIFETIME in seconds.
    Lifetime(u32),
    /// REQUESTED-TRANSPORT protocol number (17 = UDP).
    RequestedTransport(u8),
    /// XOR-PEER-ADDRESS, already un-XORed.
    XorPeerAddress(SocketAddr),
    /// XOR-RELAYED-ADDRESS, already un-XORed.
    XorRelayedAddress(SocketAddr),
    /// CHANNEL-NUMBER.
    ChannelNumber(u16),
    /// DATA.
    Data(&'a [u8]),
    /// DONT-FRAGMENT (no value).
    DontFragment,
    /// Any other attribute, kept raw.
    Other {
        /// Attribute type.
        typ: u16,
        /// Raw value without padding.
        value: &'a [u8],
    },
}

impl Attribute<'_> {
    /// The attribute's type code.
    pub fn typ(&self) -> u16 {
        match self {
            Attribute::MappedAddress(_) => MAPPED_ADDRESS,
            Attribute::XorMappedAddress(_) => XOR_MAPPED_ADDRESS,
            Attribute::Username(_) => USERNAME,
            Attribute::MessageIntegrity(_) => MESSAGE_INTEGRITY,
            Attribute::MessageIntegritySha256(_) => MESSAGE_INTEGRITY_SHA256,
            Attribute::Fingerprint(_) => FINGERPRINT,
            Attribute::ErrorCode { .. } => ERROR_CODE,
            Attribute::UnknownAttributes(_) => UNKNOWN_ATTRIBUTES,
            Attribute::Realm(_) => REALM,
            Attribute::Nonce(_) => NONCE,
            Attribute::Software(_) => SOFTWARE,
            Attribute::Priority(_) => PRIORITY,
            Attribute::UseCandidate => USE_CANDIDATE,
            Attribute::IceControlled(_) => ICE_CONTROLLED,
            Attribute::IceControlling(_) => ICE_CONTROLLING,
            Attribute::Lifetime(_) => LIFETIME,
            Attribute::RequestedTransport(_) => REQUESTED_TRANSPORT,
            Attribute::XorPeerAddress(_) => XOR_PEER_ADDRESS,
            Attribute::XorRelayedAddress(_) => XOR_RELAYED_ADDRESS,
            Attribute::ChannelNumber(_) => CHANNEL_NUMBER,
            Attribute::Data(_) => DATA,
            Attribute::DontFragment => DONT_FRAGMENT,
            Attribute::Other { typ, .. } => *typ,
        }
    }
}

fn utf8(value: &[u8], max: usize, typ: u16) -> Result<&str, StunError> {
    if value.len() > max {
        return Err(StunError::InvalidAttribute(typ, "value too long"));
    }
    std::str::from_utf8(value).map_err(|_| StunError::InvalidAttribute(typ, "not UTF-8"))
}

fn fixed<const N: usize>(value: &[u8], typ: u16) -> Result<[u8; N], StunError> {
    value
        .try_into()
        .map_err(|_| StunError::InvalidAttribute(typ, "wrong length"))
}

/// Decode an attribute value. `tid` is needed to un-XOR IPv6 addresses.
pub(crate) fn decode<'a>(
    typ: u16,
    value: &'a [u8],
    tid: &TransactionId,
) -> Result<Attribute<'a>, StunError> {
    Ok(match typ {
        MAPPED_ADDRESS => Attribute::MappedAddress(decode_address(value, None, typ)?),
        XOR_MAPPED_ADDRESS => Attribute::XorMappedAddress(decode_address(value, Some(tid), typ)?),
        XOR_PEER_ADDRESS => Attribute::XorPeerAddress(decode_address(value, Some(tid), typ)?),
        XOR_RELAYED_ADDRESS => Attribute::XorRelayedAddress(decode_address(value, Some(tid), typ)?),
        USERNAME => Attribute::Username(utf8(value, MAX_USERNAME, typ)?),
        REALM => Attribute::Realm(utf8(value, MAX_REALM_NONCE, typ)?),
        NONCE => Attribute::Nonce(utf8(value, MAX_REALM_NONCE, typ)?),
        SOFTWARE => Attribute::Software(utf8(value, MAX_REASON, typ)?),
        MESSAGE_INTEGRITY => {
            if value.len() != 20 {
                return Err(StunError::InvalidAttribute(typ, "wrong length"));
            }
            Attribute::MessageIntegrity(value)
        }
        MESSAGE_INTEGRITY_SHA256 => {
            if !(16..=32).contains(&value.len()) || !value.len().is_multiple_of(4) {
                return Err(StunError::InvalidAttribute(typ, "wrong length"));
            }
            Attribute::MessageIntegritySha256(value)
        }
        FINGERPRINT => Attribute::Fingerprint(u32::from_be_bytes(fixed(value, typ)?)),
        ERROR_CODE => {
            if value.len() < 4 {
                return Err(StunError::InvalidAttribute(typ, "too short"));
            }
            let class = u16::from(value[2] & 0x07);
            let number = u16::from(value[3]);
            if !(3..=6).contains(&class) || number > 99 {
                return Err(StunError::InvalidAttribute(typ, "code out of range"));
            }
            Attribute::ErrorCode {
                code: class * 100 + number,
                reason: utf8(&value[4..], MAX_REASON, typ)?,
            }
        }
        UNKNOWN_ATTRIBUTES => {
            if !value.len().is_multiple_of(2) {
                return Err(StunError::InvalidAttribute(typ, "odd length"));
            }
            Attribute::UnknownAttributes(TypeList(value))
        }
        PRIORITY => Attribute::Priority(u32::from_be_bytes(fixed(value, typ)?)),
        USE_CANDIDATE => {
            if !value.is_empty() {
                return Err(StunError::InvalidAttribute(typ, "must be empty"));
            }
            Attribute::UseCandidate
        }
        DONT_FRAGMENT => {
            if !value.is_empty() {
                return Err(StunError::InvalidAttribute(typ, "must be empty"));
            }
            Attribute::DontFragment
        }
        ICE_CONTROLLED => Attribute::IceControlled(u64::from_be_bytes(fixed(value, typ)?)),
        ICE_CONTROLLING => Attribute::IceControlling(u64::from_be_bytes(fixed(value, typ)?)),
        LIFETIME => Attribute::Lifetime(u32::from_be_bytes(fixed(value, typ)?)),
        REQUESTED_TRANSPORT => {
            let v: [u8; 4] = fixed(value, typ)?;
            Attribute::RequestedTransport(v[0])
        }
        CHANNEL_NUMBER => {
            let v: [u8; 4] = fixed(value, typ)?;
            Attribute::ChannelNumber(u16::from_be_bytes([v[0], v[1]]))
        }
        DATA => Attribute::Data(value),
        _ => Attribute::Other { typ, value },
    })
}

fn decode_address(
    value: &[u8],
    xor: Option<&TransactionId>,
    typ: u16,
) -> Result<SocketAddr, StunError> {
    if value.len() < 4 {
        return Err(StunError::InvalidAttribute(typ, "too short"));
    }
    let mut port = u16::from_be_bytes([value[2], value[3]]);
    if xor.is_some() {
        port ^= (MAGIC_COOKIE >> 16) as u16;
    }
    let ip = match (value[1], value.len()) {
        (0x01, 8) => {
            let mut b: [u8; 4] = value[4..8].try_into().expect("length checked");
            if xor.is_some() {
                for (x, k) in b.iter_mut().zip(MAGIC_COOKIE.to_be_bytes()) {
                    *x ^= k;
                }
            }
            IpAddr::V4(Ipv4Addr::from(b))
        }
        (0x02, 20) => {
            let mut b: [u8; 16] = value[4..20].try_into().expect("length checked");
            if let Some(tid) = xor {
                for (x, k) in b.iter_mut().zip(xor_key(tid)) {
                    *x ^= k;
                }
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => {
            return Err(StunError::InvalidAttribute(
                typ,
                "bad address family or length",
            ));
        }
    };
    Ok(SocketAddr::new(ip, port))
}

fn xor_key(tid: &TransactionId) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..4].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
    k[4..].copy_from_slice(&tid.0);
    k
}

/// Encode an address value (plain or XORed) into `out`.
pub(crate) fn encode_address(out: &mut Vec<u8>, addr: SocketAddr, xor: Option<&TransactionId>) {
    let mut port = addr.port();
    if xor.is_some() {
        port ^= (MAGIC_COOKIE >> 16) as u16;
    }
    match addr.ip() {
        IpAddr::V4(ip) => {
            out.extend_from_slice(&[0, 0x01]);
            out.extend_from_slice(&port.to_be_bytes());
            let mut b = ip.octets();
            if xor.is_some() {
                for (x, k) in b.iter_mut().zip(MAGIC_COOKIE.to_be_bytes()) {
                    *x ^= k;
                }
            }
            out.extend_from_slice(&b);
        }
        IpAddr::V6(ip) => {
            out.extend_from_slice(&[0, 0x02]);
            out.extend_from_slice(&port.to_be_bytes());
            let mut b = ip.octets();
            if let Some(tid) = xor {
                for (x, k) in b.iter_mut().zip(xor_key(tid)) {
                    *x ^= k;
                }
            }
            out.extend_from_slice(&b);
        }
    }
}
