//! ICE candidates (RFC 8445 §5.1) and their SDP form (RFC 8839 §5.1).

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use super::IceError;
use crate::io::Protocol;

/// Where a candidate's address comes from.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CandidateKind {
    /// An address of a local interface.
    Host,
    /// The address a STUN server saw (the NAT's outside address).
    ServerReflexive,
    /// An address learnt from a connectivity check (RFC 8445 §7.2.5.3.1, §7.3.1.3).
    PeerReflexive,
    /// An address on a TURN relay.
    Relayed,
}

impl CandidateKind {
    /// RFC 8445 §5.1.2.2 recommended type preference.
    pub fn type_preference(self) -> u32 {
        match self {
            CandidateKind::Host => 126,
            CandidateKind::PeerReflexive => 110,
            CandidateKind::ServerReflexive => 100,
            CandidateKind::Relayed => 0,
        }
    }

    /// The `typ` token in SDP.
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateKind::Host => "host",
            CandidateKind::ServerReflexive => "srflx",
            CandidateKind::PeerReflexive => "prflx",
            CandidateKind::Relayed => "relay",
        }
    }

    /// The kind a `typ` token names (`host`, `srflx`, `prflx`, `relay`), if any.
    pub fn from_token(token: &str) -> Option<Self> {
        match token {
            "host" => Some(CandidateKind::Host),
            "srflx" => Some(CandidateKind::ServerReflexive),
            "prflx" => Some(CandidateKind::PeerReflexive),
            "relay" => Some(CandidateKind::Relayed),
            _ => None,
        }
    }
}

/// How a TCP candidate's connection is opened (RFC 6544 §4.5).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TcpType {
    /// Opens connections, never accepts them.
    Active,
    /// Accepts connections, never opens them.
    Passive,
    /// Both ends connect at once (TCP simultaneous open).
    SimultaneousOpen,
}

impl TcpType {
    /// The `tcptype` token in SDP and in ORTC's `tcpType`.
    pub fn as_str(self) -> &'static str {
        match self {
            TcpType::Active => "active",
            TcpType::Passive => "passive",
            TcpType::SimultaneousOpen => "so",
        }
    }

    /// The type a `tcptype` token names (`active`, `passive`, `so`), if any.
    pub fn from_token(token: &str) -> Option<Self> {
        match token {
            "active" => Some(TcpType::Active),
            "passive" => Some(TcpType::Passive),
            "so" => Some(TcpType::SimultaneousOpen),
            _ => None,
        }
    }
}

/// The transport a candidate's `transport` token names; SDP compares it case-insensitively
/// (RFC 8839 §5.1), so `UDP` from older peers is accepted too.
pub(crate) fn protocol_from_token(token: &str) -> Option<Protocol> {
    if token.eq_ignore_ascii_case("udp") {
        Some(Protocol::Udp)
    } else if token.eq_ignore_ascii_case("tcp") {
        Some(Protocol::Tcp)
    } else {
        None
    }
}

/// Highest local preference (RFC 8445 §5.1.2.1), used when an agent has one address.
pub const DEFAULT_LOCAL_PREFERENCE: u32 = 65535;

/// The priority formula of RFC 8445 §5.1.2.1.
pub fn compute_priority(kind: CandidateKind, local_preference: u32, component: u16) -> u32 {
    (kind.type_preference() << 24)
        + ((local_preference & 0xFFFF) << 8)
        + (256 - u32::from(component.clamp(1, 256)))
}

/// One ICE candidate, local or remote.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Candidate {
    foundation: String,
    component: u16,
    protocol: Protocol,
    priority: u32,
    address: SocketAddr,
    kind: CandidateKind,
    related_address: Option<SocketAddr>,
    tcp_type: Option<TcpType>,
    base: SocketAddr,
}

impl Candidate {
    fn new(
        kind: CandidateKind,
        protocol: Protocol,
        address: SocketAddr,
        base: SocketAddr,
        related_address: Option<SocketAddr>,
        server: Option<SocketAddr>,
    ) -> Self {
        Candidate {
            foundation: foundation_for(kind, base.ip(), server, protocol),
            component: 1,
            protocol,
            priority: compute_priority(kind, local_preference_for(base.ip()), 1),
            address,
            kind,
            related_address,
            // Our TCP candidates listen: the agent accepts connections, it does not open
            // them (RFC 6544 §4.5).
            tcp_type: (protocol == Protocol::Tcp).then_some(TcpType::Passive),
            base,
        }
    }

    /// A candidate the peer signalled, from its fields (RFC 8445 §5.1), without SDP text.
    /// Its base is its address, as for every remote candidate. Add `raddr`/`rport` with
    /// [`with_related_address`](Self::with_related_address) and a TCP candidate's type with
    /// [`with_tcp_type`](Self::with_tcp_type).
    ///
    /// Fails, naming the field, when the foundation is not 1 to 32 characters of ALPHA,
    /// DIGIT, `+` or `/` (RFC 8839 §5.1) or the component is outside 1..=256.
    ///
    /// ```
    /// use sansrtc::ice::{Candidate, CandidateKind};
    /// use sansrtc::io::Protocol;
    /// let c = Candidate::remote(
    ///     "a1b2", 1, Protocol::Udp, 2130706431, "192.0.2.7:5000".parse().unwrap(),
    ///     CandidateKind::Host,
    /// ).unwrap();
    /// assert_eq!(c.to_sdp_string(), "candidate:a1b2 1 udp 2130706431 192.0.2.7 5000 typ host");
    /// assert!(Candidate::remote(
    ///     "", 1, Protocol::Udp, 1, "192.0.2.7:5000".parse().unwrap(), CandidateKind::Host,
    /// ).is_err());
    /// ```
    pub fn remote(
        foundation: &str,
        component: u16,
        protocol: Protocol,
        priority: u32,
        address: SocketAddr,
        kind: CandidateKind,
    ) -> Result<Self, IceError> {
        if foundation.is_empty()
            || foundation.len() > 32
            || !foundation
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        {
            return Err(IceError::InvalidCandidate(format!(
                "foundation {foundation:?} is not 1 to 32 characters of ALPHA, DIGIT, '+' or '/'"
            )));
        }
        if component == 0 || component > 256 {
            return Err(IceError::InvalidCandidate(format!(
                "component {component} is outside 1..=256"
            )));
        }
        Ok(Candidate {
            foundation: foundation.to_string(),
            component,
            protocol,
            priority,
            address,
            kind,
            related_address: None,
            tcp_type: None,
            base: address,
        })
    }

    /// Set `raddr`/`rport` (informational only: RFC 8445 §5.1.3 keeps them out of checks).
    pub fn with_related_address(mut self, related_address: Option<SocketAddr>) -> Self {
        self.related_address = related_address;
        self
    }

    /// Set a TCP candidate's `tcptype`; a UDP candidate has none, so it is refused there.
    pub fn with_tcp_type(mut self, tcp_type: Option<TcpType>) -> Result<Self, IceError> {
        if tcp_type.is_some() && self.protocol != Protocol::Tcp {
            return Err(IceError::InvalidCandidate(format!(
                "tcptype on a {} candidate",
                self.protocol.as_str()
            )));
        }
        self.tcp_type = tcp_type;
        Ok(self)
    }

    /// A host candidate on a local address.
    ///
    /// ```
    /// use sansrtc::ice::{Candidate, CandidateKind};
    /// use sansrtc::io::Protocol;
    /// let c = Candidate::host("192.0.2.1:5000".parse().unwrap(), Protocol::Udp);
    /// assert_eq!(c.kind(), CandidateKind::Host);
    /// assert_eq!(c.priority() >> 24, 126);
    /// ```
    pub fn host(address: SocketAddr, protocol: Protocol) -> Self {
        Self::new(CandidateKind::Host, protocol, address, address, None, None)
    }

    /// A server-reflexive candidate seen by `server` for the local `base`.
    pub fn server_reflexive(
        address: SocketAddr,
        base: SocketAddr,
        server: SocketAddr,
        protocol: Protocol,
    ) -> Self {
        Self::new(
            CandidateKind::ServerReflexive,
            protocol,
            address,
            base,
            Some(base),
            Some(server),
        )
    }

    /// A relayed candidate allocated on `server` for the local `base`.
    pub fn relayed(
        address: SocketAddr,
        base: SocketAddr,
        server: SocketAddr,
        protocol: Protocol,
    ) -> Self {
        let mut c = Self::new(
            CandidateKind::Relayed,
            protocol,
            address,
            address,
            Some(base),
            Some(server),
        );
        // A relayed candidate is its own base (RFC 8445 §5.1.1.2); the socket it uses is
        // still the local one, kept as the related address.
        c.base = address;
        c
    }

    /// A peer-reflexive candidate with the priority its discovery carried.
    pub fn peer_reflexive(
        address: SocketAddr,
        base: SocketAddr,
        priority: u32,
        protocol: Protocol,
    ) -> Self {
        let mut c = Self::new(
            CandidateKind::PeerReflexive,
            protocol,
            address,
            base,
            None,
            None,
        );
        c.priority = priority;
        c
    }

    /// Override the priority (e.g. to rank interfaces).
    pub fn with_priority(mut self, priority: u32) -> Self {
        self.priority = priority;
        self
    }

    /// Foundation: candidates that share it are likely to succeed or fail together.
    pub fn foundation(&self) -> &str {
        &self.foundation
    }

    /// Component id (1 = RTP; WebRTC multiplexes everything on 1).
    pub fn component(&self) -> u16 {
        self.component
    }

    /// Transport protocol.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Priority (RFC 8445 §5.1.2).
    pub fn priority(&self) -> u32 {
        self.priority
    }

    /// Transport address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Candidate type.
    pub fn kind(&self) -> CandidateKind {
        self.kind
    }

    /// `raddr`/`rport`: the base of a reflexive candidate, the local socket of a relayed one.
    pub fn related_address(&self) -> Option<SocketAddr> {
        self.related_address
    }

    /// `tcptype` of a TCP candidate (RFC 6544 §4.5); `None` for UDP, and for a remote TCP
    /// candidate that did not say.
    pub fn tcp_type(&self) -> Option<TcpType> {
        self.tcp_type
    }

    /// The local address checks are sent from (RFC 8445 §5.1.1.3). For remote candidates
    /// it equals the address.
    pub fn base(&self) -> SocketAddr {
        self.base
    }

    /// The SDP form without the `a=` prefix, e.g.
    /// `candidate:1 1 udp 2130706431 192.0.2.1 5000 typ host`.
    pub fn to_sdp_string(&self) -> String {
        self.to_string()
    }

    /// Parse the SDP form (RFC 8839 §5.1), with or without `a=` and `candidate:`.
    ///
    /// ```
    /// use sansrtc::ice::{Candidate, CandidateKind};
    /// let c = Candidate::from_sdp_string(
    ///     "candidate:842163049 1 udp 1677729535 203.0.113.7 61665 typ srflx raddr 10.0.0.2 rport 61665 generation 0",
    /// ).unwrap();
    /// assert_eq!(c.kind(), CandidateKind::ServerReflexive);
    /// assert_eq!(c.address(), "203.0.113.7:61665".parse().unwrap());
    /// assert_eq!(c.related_address(), Some("10.0.0.2:61665".parse().unwrap()));
    /// ```
    pub fn from_sdp_string(s: &str) -> Result<Self, IceError> {
        let bad = |why: &str| IceError::InvalidCandidate(format!("{why} in {s:?}"));
        let s = s.trim();
        let s = s.strip_prefix("a=").unwrap_or(s);
        let s = s.strip_prefix("candidate:").unwrap_or(s);
        let mut it = s.split_ascii_whitespace();
        let mut next = |what: &str| it.next().ok_or_else(|| bad(&format!("missing {what}")));
        let foundation = next("foundation")?.to_string();
        let component: u16 = next("component")?
            .parse()
            .map_err(|_| bad("invalid component"))?;
        let protocol =
            protocol_from_token(next("transport")?).ok_or_else(|| bad("unknown transport"))?;
        let priority: u32 = next("priority")?
            .parse()
            .map_err(|_| bad("invalid priority"))?;
        let host = next("address")?;
        let ip: IpAddr = host.parse().map_err(|_| {
            if host.ends_with(".local") {
                IceError::InvalidCandidate(format!(
                    "mDNS hostname {host:?} must be resolved by the caller"
                ))
            } else {
                bad("invalid address")
            }
        })?;
        let port: u16 = next("port")?.parse().map_err(|_| bad("invalid port"))?;
        if next("typ")? != "typ" {
            return Err(bad("expected 'typ'"));
        }
        let kind = CandidateKind::from_token(next("candidate type")?)
            .ok_or_else(|| bad("unknown candidate type"))?;
        let mut raddr: Option<IpAddr> = None;
        let mut rport: Option<u16> = None;
        let mut tcp_type: Option<TcpType> = None;
        // Extensions come as name/value pairs; unknown ones are ignored (RFC 8839 §5.1).
        while let Some(name) = it.next() {
            let value = it.next().ok_or_else(|| bad("extension without value"))?;
            match name {
                "raddr" => raddr = value.parse().ok(),
                "rport" => rport = value.parse().ok(),
                // Only TCP candidates have one (RFC 6544 §4.5); on UDP it means nothing,
                // so it is ignored like any other unknown extension.
                "tcptype" if protocol == Protocol::Tcp => {
                    tcp_type =
                        Some(TcpType::from_token(value).ok_or_else(|| bad("unknown tcptype"))?)
                }
                _ => {}
            }
        }
        let in_line = |e: IceError| match e {
            IceError::InvalidCandidate(why) => bad(&why),
            e => e,
        };
        Candidate::remote(
            &foundation,
            component,
            protocol,
            priority,
            SocketAddr::new(ip, port),
            kind,
        )
        .map_err(in_line)?
        .with_related_address(raddr.map(|ip| SocketAddr::new(ip, rport.unwrap_or(0))))
        .with_tcp_type(tcp_type)
        .map_err(in_line)
    }
}

impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "candidate:{} {} {} {} {} {} typ {}",
            self.foundation,
            self.component,
            self.protocol.as_str(),
            self.priority,
            self.address.ip(),
            self.address.port(),
            self.kind.as_str()
        )?;
        if let Some(r) = self.related_address {
            write!(f, " raddr {} rport {}", r.ip(), r.port())?;
        }
        if let Some(t) = self.tcp_type {
            write!(f, " tcptype {}", t.as_str())?;
        }
        Ok(())
    }
}

/// IPv6 first (RFC 8421 §4 prefers it when both work), then IPv4; loopback and
/// link-local last since they rarely lead to a remote peer.
fn local_preference_for(ip: IpAddr) -> u32 {
    let special = ip.is_loopback()
        || match ip {
            IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
            IpAddr::V4(v4) => v4.is_link_local(),
        };
    match (ip.is_ipv6(), special) {
        (true, false) => DEFAULT_LOCAL_PREFERENCE,
        (false, false) => DEFAULT_LOCAL_PREFERENCE - 1000,
        (true, true) => DEFAULT_LOCAL_PREFERENCE - 2000,
        (false, true) => DEFAULT_LOCAL_PREFERENCE - 3000,
    }
}

/// Same type, base IP, server and transport ⇒ same foundation (RFC 8445 §5.1.1.3). A
/// stable hash keeps foundations identical across runs, unlike std's randomized hasher.
fn foundation_for(
    kind: CandidateKind,
    base: IpAddr,
    server: Option<SocketAddr>,
    protocol: Protocol,
) -> String {
    let mut h: u32 = 0x811c_9dc5;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h = (h ^ u32::from(*b)).wrapping_mul(0x0100_0193);
        }
    };
    eat(kind.as_str().as_bytes());
    eat(protocol.as_str().as_bytes());
    match base {
        IpAddr::V4(v) => eat(&v.octets()),
        IpAddr::V6(v) => eat(&v.octets()),
    }
    if let Some(s) = server {
        eat(s.to_string().as_bytes());
    }
    h.to_string()
}
