//! Typed attributes of the transport under the media: ICE (RFC 8839), DTLS (RFC 8842,
//! RFC 8122), BUNDLE (RFC 8843, RFC 5888) and SCTP (RFC 8841).

use std::fmt;
use std::net::IpAddr;

use super::AttributeValue;
use super::error::{Context, Fields, Problem, SdpError, invalid, missing, number};

/// ice-char = ALPHA / DIGIT / "+" / "/" (RFC 8839 §5.1).
fn is_ice_chars(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

fn ice_chars(
    ctx: Context,
    field: &'static str,
    s: &str,
    min: usize,
    max: usize,
) -> Result<(), SdpError> {
    if !is_ice_chars(s) {
        return Err(invalid(ctx, field, s, Problem::InvalidCharacter));
    }
    if s.len() < min || s.len() > max {
        return Err(invalid(ctx, field, s, Problem::Length { min, max }));
    }
    Ok(())
}

/// A candidate's transport (RFC 8839 §5.1, RFC 6544 for TCP); matched without regard to
/// case, written lower case as browsers write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CandidateTransport {
    /// `udp`.
    Udp,
    /// `tcp` (RFC 6544).
    Tcp,
}

/// A candidate's type (RFC 8839 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CandidateType {
    /// `host`: an address of a local interface.
    Host,
    /// `srflx`: server reflexive, the address a STUN server saw.
    Srflx,
    /// `prflx`: peer reflexive, learnt from a check.
    Prflx,
    /// `relay`: an address on a TURN server.
    Relay,
}

const CANDIDATE_TYPES: &[&str] = &["host", "srflx", "prflx", "relay"];

impl CandidateType {
    fn as_str(self) -> &'static str {
        match self {
            CandidateType::Host => "host",
            CandidateType::Srflx => "srflx",
            CandidateType::Prflx => "prflx",
            CandidateType::Relay => "relay",
        }
    }
}

/// A TCP candidate's role (RFC 6544 §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpType {
    /// `active`: opens connections (port 9, the discard port, as a placeholder).
    Active,
    /// `passive`: accepts them.
    Passive,
    /// `so`: simultaneous open.
    So,
}

const TCP_TYPES: &[&str] = &["active", "passive", "so"];

impl TcpType {
    fn as_str(self) -> &'static str {
        match self {
            TcpType::Active => "active",
            TcpType::Passive => "passive",
            TcpType::So => "so",
        }
    }
}

/// `a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ
/// <type> [raddr <address>] [rport <port>] [tcptype <type>] *(<name> <value>)`
/// (RFC 8839 §5.1, RFC 6544 §4.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// 1 to 32 ice-chars; candidates with the same foundation are alike.
    pub foundation: String,
    /// The component: 1 for RTP (and everything, with rtcp-mux), 2 for RTCP.
    pub component: u16,
    /// UDP or TCP.
    pub transport: CandidateTransport,
    /// The priority (RFC 8445 §5.1.2).
    pub priority: u32,
    /// An IP address, or a host name such as an mDNS `<uuid>.local` name (RFC 8839 §5.1).
    pub address: String,
    /// The port.
    pub port: u16,
    /// host, srflx, prflx or relay.
    pub typ: CandidateType,
    /// `raddr`: the related address (the base, or the server reflexive one).
    pub related_address: Option<String>,
    /// `rport`: the related port.
    pub related_port: Option<u16>,
    /// `tcptype`, for TCP candidates.
    pub tcp_type: Option<TcpType>,
    /// Every other `name value` pair, in order (`generation 0`, `network-id 3`, `ufrag …`).
    pub extensions: Vec<(String, String)>,
}

impl Candidate {
    /// The address as an IP address, unless it is a host name.
    pub fn ip(&self) -> Option<IpAddr> {
        self.address.parse().ok()
    }

    /// The value of the first extension named `name`.
    pub fn extension(&self, name: &str) -> Option<&str> {
        self.extensions
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl AttributeValue for Candidate {
    const NAME: &'static str = "candidate";

    fn parse_value(value: &str) -> Result<Self, SdpError> {
        let ctx = Context::Attribute(Self::NAME);
        let mut f = Fields::new(value, ctx);
        let foundation = f.next("foundation")?;
        ice_chars(ctx, "foundation", foundation, 1, 32)?;
        let component = number(ctx, "component-id", f.next("component-id")?, 1, 256)?;
        let transport = f.next("transport")?;
        let transport = if transport.eq_ignore_ascii_case("udp") {
            CandidateTransport::Udp
        } else if transport.eq_ignore_ascii_case("tcp") {
            CandidateTransport::Tcp
        } else {
            return Err(invalid(
                ctx,
                "transport",
                transport,
                Problem::NotOneOf(&["udp", "tcp"]),
            ));
        };
        let priority = number(ctx, "priority", f.next("priority")?, 1, u32::MAX.into())?;
        let address = f.next("connection-address")?.to_owned();
        let port = number(ctx, "port", f.next("port")?, 0, u16::MAX.into())?;
        let typ_kw = f.next("typ")?;
        if typ_kw != "typ" {
            return Err(invalid(ctx, "typ", typ_kw, Problem::NotOneOf(&["typ"])));
        }
        let typ = f.next("cand-type")?;
        let typ = match CANDIDATE_TYPES
            .iter()
            .position(|t| t.eq_ignore_ascii_case(typ))
        {
            Some(0) => CandidateType::Host,
            Some(1) => CandidateType::Srflx,
            Some(2) => CandidateType::Prflx,
            Some(3) => CandidateType::Relay,
            _ => {
                return Err(invalid(
                    ctx,
                    "cand-type",
                    typ,
                    Problem::NotOneOf(CANDIDATE_TYPES),
                ));
            }
        };
        let mut c = Candidate {
            foundation: foundation.to_owned(),
            component,
            transport,
            priority,
            address,
            port,
            typ,
            related_address: None,
            related_port: None,
            tcp_type: None,
            extensions: Vec::new(),
        };
        while let Some(name) = f.next_opt() {
            let v = f
                .next_opt()
                .ok_or_else(|| missing(ctx, "extension value"))?;
            let repeated = || invalid(ctx, "extension", name, Problem::Repeated);
            match name {
                "raddr" if c.related_address.is_none() => c.related_address = Some(v.to_owned()),
                "rport" if c.related_port.is_none() => {
                    c.related_port = Some(number(ctx, "rport", v, 0, u16::MAX.into())?);
                }
                "tcptype" if c.tcp_type.is_none() => {
                    c.tcp_type = Some(match v {
                        "active" => TcpType::Active,
                        "passive" => TcpType::Passive,
                        "so" => TcpType::So,
                        _ => return Err(invalid(ctx, "tcptype", v, Problem::NotOneOf(TCP_TYPES))),
                    });
                }
                "raddr" | "rport" | "tcptype" => return Err(repeated()),
                _ => c.extensions.push((name.to_owned(), v.to_owned())),
            }
        }
        Ok(c)
    }
}

impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let transport = match self.transport {
            CandidateTransport::Udp => "udp",
            CandidateTransport::Tcp => "tcp",
        };
        write!(
            f,
            "{} {} {} {} {} {} typ {}",
            self.foundation,
            self.component,
            transport,
            self.priority,
            self.address,
            self.port,
            self.typ.as_str()
        )?;
        if let Some(a) = &self.related_address {
            write!(f, " raddr {a}")?;
        }
        if let Some(p) = self.related_port {
            write!(f, " rport {p}")?;
        }
        if let Some(t) = self.tcp_type {
            write!(f, " tcptype {}", t.as_str())?;
        }
        for (n, v) in &self.extensions {
            write!(f, " {n} {v}")?;
        }
        Ok(())
    }
}

/// The hash functions of `a=fingerprint` (RFC 8122 §5, the IANA "Hash Function Textual
/// Names" registry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashFunction {
    /// `sha-1`.
    Sha1,
    /// `sha-224`.
    Sha224,
    /// `sha-256`: what browsers send.
    Sha256,
    /// `sha-384`.
    Sha384,
    /// `sha-512`.
    Sha512,
    /// `md5` (RFC 8122 forbids generating it; kept so old offers parse).
    Md5,
    /// `md2` (likewise).
    Md2,
}

const HASH_FUNCTIONS: &[&str] = &[
    "sha-1", "sha-224", "sha-256", "sha-384", "sha-512", "md5", "md2",
];

impl HashFunction {
    /// Every function, in the order of the enum.
    pub const ALL: [HashFunction; 7] = [
        HashFunction::Sha1,
        HashFunction::Sha224,
        HashFunction::Sha256,
        HashFunction::Sha384,
        HashFunction::Sha512,
        HashFunction::Md5,
        HashFunction::Md2,
    ];

    /// The textual name, lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            HashFunction::Sha1 => "sha-1",
            HashFunction::Sha224 => "sha-224",
            HashFunction::Sha256 => "sha-256",
            HashFunction::Sha384 => "sha-384",
            HashFunction::Sha512 => "sha-512",
            HashFunction::Md5 => "md5",
            HashFunction::Md2 => "md2",
        }
    }

    /// The digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            HashFunction::Sha1 => 20,
            HashFunction::Sha224 => 28,
            HashFunction::Sha256 => 32,
            HashFunction::Sha384 => 48,
            HashFunction::Sha512 => 64,
            HashFunction::Md5 | HashFunction::Md2 => 16,
        }
    }

    /// The function named `name`, without regard to case (RFC 8122 §5 names are
    /// case-insensitive tokens).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|h| h.as_str().eq_ignore_ascii_case(name))
    }
}

/// `a=fingerprint:<hash-func> <XX:XX:...>` (RFC 8122 §5): the certificate DTLS must
/// present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// The hash function.
    pub hash_function: HashFunction,
    /// The digest, as long as the function's.
    pub bytes: Vec<u8>,
}

impl AttributeValue for Fingerprint {
    const NAME: &'static str = "fingerprint";

    fn parse_value(value: &str) -> Result<Self, SdpError> {
        let ctx = Context::Attribute(Self::NAME);
        let mut f = Fields::new(value, ctx);
        let name = f.next("hash-func")?;
        let hash_function = HashFunction::from_name(name)
            .ok_or_else(|| invalid(ctx, "hash-func", name, Problem::NotOneOf(HASH_FUNCTIONS)))?;
        let hex = f.next("fingerprint")?;
        f.end()?;
        let bad = || invalid(ctx, "fingerprint", hex, Problem::NotHex);
        // At most 64 bytes of any function, so a hostile value allocates nothing big.
        let mut bytes = Vec::with_capacity(hash_function.digest_len());
        for pair in hex.split(':') {
            if pair.len() != 2 || !pair.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            let b = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
            if bytes.len() == hash_function.digest_len() {
                return Err(invalid(
                    ctx,
                    "fingerprint",
                    hex,
                    Problem::ByteCount {
                        found: hex.split(':').count(),
                        expected: hash_function.digest_len(),
                    },
                ));
            }
            bytes.push(b);
        }
        if bytes.len() != hash_function.digest_len() {
            return Err(invalid(
                ctx,
                "fingerprint",
                hex,
                Problem::ByteCount {
                    found: bytes.len(),
                    expected: hash_function.digest_len(),
                },
            ));
        }
        Ok(Fingerprint {
            hash_function,
            bytes,
        })
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.hash_function.as_str())?;
        for (i, b) in self.bytes.iter().enumerate() {
            write!(f, "{}{b:02X}", if i == 0 { ' ' } else { ':' })?;
        }
        Ok(())
    }
}

/// `a=setup` (RFC 4145 §4, RFC 8842 §5): which side is the DTLS client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Setup {
    /// `actpass`: either; an offer must say this (RFC 8842 §5.2).
    Actpass,
    /// `active`: this side is the DTLS client.
    Active,
    /// `passive`: this side is the DTLS server.
    Passive,
    /// `holdconn`: no connection for now.
    Holdconn,
}

const SETUPS: &[&str] = &["actpass", "active", "passive", "holdconn"];

impl AttributeValue for Setup {
    const NAME: &'static str = "setup";

    fn parse_value(value: &str) -> Result<Self, SdpError> {
        let ctx = Context::Attribute(Self::NAME);
        let mut f = Fields::new(value, ctx);
        let role = f.next("role")?;
        f.end()?;
        match role {
            "actpass" => Ok(Setup::Actpass),
            "active" => Ok(Setup::Active),
            "passive" => Ok(Setup::Passive),
            "holdconn" => Ok(Setup::Holdconn),
            _ => Err(invalid(ctx, "role", role, Problem::NotOneOf(SETUPS))),
        }
    }
}

impl fmt::Display for Setup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Setup::Actpass => "actpass",
            Setup::Active => "active",
            Setup::Passive => "passive",
            Setup::Holdconn => "holdconn",
        })
    }
}

/// `a=ice-ufrag` (RFC 8839 §5.4): 4 to 256 ice-chars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceUfrag(pub String);

impl AttributeValue for IceUfrag {
    const NAME: &'static str = "ice-ufrag";

    fn parse_value(value: &str) -> Result<Self, SdpError> {
        let ctx = Context::Attribute(Self::NAME);
        let mut f = Fields::new(value, ctx);
        let ufrag = f.next("ufrag")?;
        f.end()?;
        ice_chars(ctx, "ufrag", ufrag, 4, 256)?;
        Ok(IceUfrag(ufrag.to_owned()))
    }
}

impl fmt::Display for IceUfrag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `a=ice-pwd` (RFC 8839 §5.4): 22 to 256 ice-chars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcePwd(pub String);

impl AttributeValue for IcePwd {
    const NAME: &'static str = "ice-pwd";

    fn parse_value(value: &str) -> Result<Self, SdpError> {
        let ctx = Context::Attribute(Self::NAME);
        let mut f = Fields::new(value, ctx);
        let pwd = f.next("password")?;
        f.end()?;
        ice_chars(ctx, "password", pwd, 22, 256)?;
        Ok(IcePwd(pwd.to_owned()))
    }
}

impl fmt::Display for IcePwd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `a=ice-options:<option> ...` (RFC 8839 §5.6), e.g. `trickle` (RFC 8840).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceOptions(pub Vec<String>);

impl IceOptions {
    /// Whether `option` is listed.
    pub fn contains(&self, option: &str) -> bool {
        self.0.iter().any(|o| o == option)
    }
}

impl AttributeValue for IceOptions {
    const NAME: &'static str = "ice-options";

    fn parse_value(value: &str) -> Result<Self, SdpError> {
        let ctx = Context::Attribute(Self::NAME);
        let mut f = Fields::new(value, ctx);
        let mut options = vec![f.next("ice-option-tag")?.to_owned()];
        while let Some(o) = f.next_opt() {
            options.push(o.to_owned());
        }
        Ok(IceOptions(options))
    }
}

impl fmt::Display for IceOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

/// `a=group:<semantics> <mid> ...` (RFC 5888 §5), e.g. `BUNDLE 0 1` (RFC 8843).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// `BUNDLE`, `LS`, `FID`, …
    pub semantics: String,
    /// The identification tags (`a=mid` values) of the grouped sections, in order.
    pub mids: Vec<String>,
}

impl AttributeValue for Group {
    const NAME: &'static str = "group";

    fn parse_value(value: &str) -> Result<Self, SdpError> {
        let ctx = Context::Attribute(Self::NAME);
        let mut f = Fields::new(value, ctx);
        let semantics = f.next("semantics")?.to_owned();
        let mut mids = Vec::new();
        while let Some(m) = f.next_opt() {
            mids.push(m.to_owned());
        }
        Ok(Group { semantics, mids })
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.semantics)?;
        for m in &self.mids {
            write!(f, " {m}")?;
        }
        Ok(())
    }
}

/// `a=mid:<identification-tag>` (RFC 5888 §4, RFC 8843 §14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mid(pub String);

impl AttributeValue for Mid {
    const NAME: &'static str = "mid";

    fn parse_value(value: &str) -> Result<Self, SdpError> {
        let ctx = Context::Attribute(Self::NAME);
        let mut f = Fields::new(value, ctx);
        let mid = f.next("identification-tag")?;
        f.end()?;
        Ok(Mid(mid.to_owned()))
    }
}

impl fmt::Display for Mid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `a=sctp-port:<port>` (RFC 8841 §5): the SCTP port, 5000 in WebRTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SctpPort(pub u16);

impl AttributeValue for SctpPort {
    const NAME: &'static str = "sctp-port";

    fn parse_value(value: &str) -> Result<Self, SdpError> {
        let ctx = Context::Attribute(Self::NAME);
        let mut f = Fields::new(value, ctx);
        let port = number(ctx, "port", f.next("port")?, 0, u16::MAX.into())?;
        f.end()?;
        Ok(SctpPort(port))
    }
}

impl fmt::Display for SctpPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// `a=max-message-size:<bytes>` (RFC 8841 §6): the largest message the sender of the
/// description takes; 0 means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxMessageSize(pub u64);

impl AttributeValue for MaxMessageSize {
    const NAME: &'static str = "max-message-size";

    fn parse_value(value: &str) -> Result<Self, SdpError> {
        let ctx = Context::Attribute(Self::NAME);
        let mut f = Fields::new(value, ctx);
        let size = number(ctx, "size", f.next("size")?, 0, u64::MAX)?;
        f.end()?;
        Ok(MaxMessageSize(size))
    }
}

impl fmt::Display for MaxMessageSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The legacy `a=sctpmap:<port> <protocol> [<streams>]`
/// (draft-ietf-mmusic-sctp-sdp-05 §5), still sent by old endpoints with
/// `m=application … DTLS/SCTP 5000`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sctpmap {
    /// The SCTP port, also the m= line's format.
    pub port: u16,
    /// `webrtc-datachannel`.
    pub protocol: String,
    /// The number of streams.
    pub streams: Option<u32>,
}

impl AttributeValue for Sctpmap {
    const NAME: &'static str = "sctpmap";

    fn parse_value(value: &str) -> Result<Self, SdpError> {
        let ctx = Context::Attribute(Self::NAME);
        let mut f = Fields::new(value, ctx);
        let port = number(ctx, "port", f.next("port")?, 0, u16::MAX.into())?;
        let protocol = f.next("protocol")?.to_owned();
        let streams = match f.next_opt() {
            Some(s) => Some(number(ctx, "streams", s, 0, u32::MAX.into())?),
            None => None,
        };
        f.end()?;
        Ok(Sctpmap {
            port,
            protocol,
            streams,
        })
    }
}

impl fmt::Display for Sctpmap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.port, self.protocol)?;
        if let Some(s) = self.streams {
            write!(f, " {s}")?;
        }
        Ok(())
    }
}
