//! Typed forms of the non-attribute lines JSEP reads: `o=`, `m=`, `c=`, `b=`, `t=`
//! (RFC 8866 §5.2, §5.7, §5.8, §5.9, §5.14).

use std::fmt;
use std::net::IpAddr;

use super::error::{Context, Fields, Problem, SdpError, invalid, number};

/// Checks a field a builder writes: one non-empty token, so the line parses back the same.
fn token(context: Context, field: &'static str, s: &str) -> Result<(), SdpError> {
    if s.is_empty() {
        return Err(invalid(context, field, s, Problem::Empty));
    }
    if s.chars().any(|c| c.is_ascii_whitespace() || c.is_control()) {
        return Err(invalid(context, field, s, Problem::InvalidCharacter));
    }
    Ok(())
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>`
/// (RFC 8866 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The user's login, `-` when there is none (JSEP always writes `-`).
    pub username: String,
    /// sess-id: JSEP makes it a random 63-bit number (RFC 9429 §5.2.1).
    pub session_id: u64,
    /// sess-version: JSEP raises it on every change of the description.
    pub session_version: u64,
    /// nettype, `IN`.
    pub nettype: String,
    /// addrtype, `IP4` or `IP6`.
    pub addrtype: String,
    /// unicast-address (JSEP writes a placeholder such as `127.0.0.1` or `0.0.0.0`).
    pub address: String,
}

impl Origin {
    /// Parses the value of an `o=` line.
    pub fn parse(value: &str) -> Result<Self, SdpError> {
        let ctx = Context::Line('o');
        let mut f = Fields::new(value, ctx);
        let username = f.next("username")?.to_owned();
        let session_id = number(ctx, "sess-id", f.next("sess-id")?, 0, u64::MAX)?;
        let session_version = number(ctx, "sess-version", f.next("sess-version")?, 0, u64::MAX)?;
        let nettype = f.next("nettype")?.to_owned();
        let addrtype = f.next("addrtype")?.to_owned();
        let address = f.next("unicast-address")?.to_owned();
        f.end()?;
        Ok(Origin {
            username,
            session_id,
            session_version,
            nettype,
            addrtype,
            address,
        })
    }

    pub(crate) fn check(&self) -> Result<(), SdpError> {
        let ctx = Context::Line('o');
        token(ctx, "username", &self.username)?;
        token(ctx, "nettype", &self.nettype)?;
        token(ctx, "addrtype", &self.addrtype)?;
        token(ctx, "unicast-address", &self.address)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {}",
            self.username,
            self.session_id,
            self.session_version,
            self.nettype,
            self.addrtype,
            self.address
        )
    }
}

/// `m=<media> <port>[/<number of ports>] <proto> <fmt> ...` (RFC 8866 §5.14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// `audio`, `video`, `application`, …
    pub media: String,
    /// The transport port; 0 rejects the section (RFC 8866 §5.14, RFC 3264 §6).
    pub port: u16,
    /// The `/<number of ports>` suffix, if written.
    pub port_count: Option<u16>,
    /// The transport protocol, e.g. `UDP/TLS/RTP/SAVPF` or `UDP/DTLS/SCTP`.
    pub proto: String,
    /// Media formats: RTP payload types, or `webrtc-datachannel`.
    pub formats: Vec<String>,
}

impl Media {
    /// Parses the value of an `m=` line.
    pub fn parse(value: &str) -> Result<Self, SdpError> {
        let ctx = Context::Line('m');
        let mut f = Fields::new(value, ctx);
        let media = f.next("media")?.to_owned();
        let port_field = f.next("port")?;
        let (port, port_count) = match port_field.split_once('/') {
            Some((p, n)) => (
                p,
                Some(number(ctx, "number of ports", n, 1, u16::MAX.into())?),
            ),
            None => (port_field, None),
        };
        let port = number(ctx, "port", port, 0, u16::MAX.into())?;
        let proto = f.next("proto")?.to_owned();
        let mut formats = Vec::new();
        while let Some(fmt) = f.next_opt() {
            formats.push(fmt.to_owned());
        }
        if formats.is_empty() {
            return Err(super::error::missing(ctx, "fmt"));
        }
        Ok(Media {
            media,
            port,
            port_count,
            proto,
            formats,
        })
    }

    pub(crate) fn check(&self) -> Result<(), SdpError> {
        let ctx = Context::Line('m');
        token(ctx, "media", &self.media)?;
        token(ctx, "proto", &self.proto)?;
        if self.formats.is_empty() {
            return Err(super::error::missing(ctx, "fmt"));
        }
        if self.port_count == Some(0) {
            return Err(invalid(
                ctx,
                "number of ports",
                "0",
                Problem::OutOfRange {
                    min: 1,
                    max: u16::MAX.into(),
                },
            ));
        }
        self.formats.iter().try_for_each(|f| token(ctx, "fmt", f))
    }
}

impl fmt::Display for Media {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.media, self.port)?;
        if let Some(n) = self.port_count {
            write!(f, "/{n}")?;
        }
        write!(f, " {}", self.proto)?;
        for fmt in &self.formats {
            write!(f, " {fmt}")?;
        }
        Ok(())
    }
}

/// `c=<nettype> <addrtype> <connection-address>` (RFC 8866 §5.7). Only `IN` with `IP4`
/// or `IP6` is accepted: nothing else can carry WebRTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// `IP4` or `IP6`.
    pub addrtype: String,
    /// The address as written: an IP address, possibly with multicast `/ttl/count`
    /// suffixes, or a host name.
    pub address: String,
}

/// The address types `c=` accepts.
const ADDRTYPES: &[&str] = &["IP4", "IP6"];

impl Connection {
    /// A `c=IN IP4|IP6 <addr>` line for an IP address.
    pub fn new(ip: IpAddr) -> Self {
        Connection {
            addrtype: if ip.is_ipv4() { "IP4" } else { "IP6" }.to_owned(),
            address: ip.to_string(),
        }
    }

    /// Parses the value of a `c=` line.
    pub fn parse(value: &str) -> Result<Self, SdpError> {
        let ctx = Context::Line('c');
        let mut f = Fields::new(value, ctx);
        let nettype = f.next("nettype")?;
        if nettype != "IN" {
            return Err(invalid(ctx, "nettype", nettype, Problem::NotOneOf(&["IN"])));
        }
        let addrtype = f.next("addrtype")?;
        if !ADDRTYPES.contains(&addrtype) {
            return Err(invalid(
                ctx,
                "addrtype",
                addrtype,
                Problem::NotOneOf(ADDRTYPES),
            ));
        }
        let address = f.next("connection-address")?.to_owned();
        f.end()?;
        Ok(Connection {
            addrtype: addrtype.to_owned(),
            address,
        })
    }

    /// The address as an IP address, if it is one (not a host name or multicast group
    /// with suffixes).
    pub fn ip(&self) -> Option<IpAddr> {
        self.address.parse().ok()
    }
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IN {} {}", self.addrtype, self.address)
    }
}

/// `b=<bwtype>:<bandwidth>` (RFC 8866 §5.8), e.g. `AS:2000` or `TIAS:128000`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bandwidth {
    /// `AS`, `CT`, `TIAS` (RFC 3890), …
    pub bwtype: String,
    /// In kilobits per second for `AS` and `CT`, bits per second for `TIAS`.
    pub bandwidth: u64,
}

impl Bandwidth {
    /// Parses the value of a `b=` line.
    pub fn parse(value: &str) -> Result<Self, SdpError> {
        let ctx = Context::Line('b');
        let Some((bwtype, bw)) = value.split_once(':') else {
            return Err(super::error::missing(ctx, "bandwidth"));
        };
        if bwtype.is_empty() {
            return Err(super::error::missing(ctx, "bwtype"));
        }
        Ok(Bandwidth {
            bwtype: bwtype.to_owned(),
            bandwidth: number(ctx, "bandwidth", bw, 0, u64::MAX)?,
        })
    }
}

impl fmt::Display for Bandwidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.bwtype, self.bandwidth)
    }
}

/// `t=<start-time> <stop-time>` (RFC 8866 §5.9); JSEP always writes `t=0 0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timing {
    /// NTP seconds, 0 for unbounded.
    pub start: u64,
    /// NTP seconds, 0 for unbounded.
    pub stop: u64,
}

impl Timing {
    /// Parses the value of a `t=` line.
    pub fn parse(value: &str) -> Result<Self, SdpError> {
        let ctx = Context::Line('t');
        let mut f = Fields::new(value, ctx);
        let start = number(ctx, "start-time", f.next("start-time")?, 0, u64::MAX)?;
        let stop = number(ctx, "stop-time", f.next("stop-time")?, 0, u64::MAX)?;
        f.end()?;
        Ok(Timing { start, stop })
    }
}

impl fmt::Display for Timing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.start, self.stop)
    }
}
