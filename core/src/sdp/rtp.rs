//! Typed attributes of RTP media sections: codecs (`rtpmap`, `fmtp`, `rtcp-fb`), header
//! extensions (`extmap`), sources (`ssrc`, `ssrc-group`, `msid`) and simulcast (`rid`,
//! `simulcast`), plus the direction attributes.

use std::fmt;

use super::AttributeValue;
use super::error::{Context, Fields, Problem, SdpError, invalid, missing, number};

/// RTP payload types are 7 bits (RFC 3550 §5.1).
const MAX_PAYLOAD_TYPE: u64 = 127;

fn payload_type(ctx: Context, s: &str) -> Result<u8, SdpError> {
    number(ctx, "payload type", s, 0, MAX_PAYLOAD_TYPE)
}

/// The media direction attributes (RFC 8866 §6.7), also the `/direction` of `extmap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `sendrecv`: the default.
    SendRecv,
    /// `sendonly`.
    SendOnly,
    /// `recvonly`.
    RecvOnly,
    /// `inactive`.
    Inactive,
}

/// The direction names, for errors.
const DIRECTIONS: &[&str] = &["sendrecv", "sendonly", "recvonly", "inactive"];

impl Direction {
    /// The direction an attribute name stands for.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction the other side sees: send and receive swap (RFC 3264 §6.1).
    pub fn reverse(self) -> Self {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]`
/// (RFC 8866 §6.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rtpmap {
    /// The RTP payload type, 0–127.
    pub payload_type: u8,
    /// The codec, e.g. `opus`, `VP8`, `rtx`.
    pub encoding_name: String,
    /// The RTP clock rate in Hz.
    pub clock_rate: u32,
    /// The encoding parameters: the channel count of audio codecs.
    pub channels: Option<u16>,
}

impl AttributeValue for Rtpmap {
    const NAME: &'static str = "rtpmap";

    fn parse_value(value: &str) -> Result<Self, SdpError> {
        let ctx = Context::Attribute(Self::NAME);
        let mut f = Fields::new(value, ctx);
        let payload_type = payload_type(ctx, f.next("payload type")?)?;
        let encoding = f.next("encoding name")?;
        f.end()?;
        let mut parts = encoding.split('/');
        let encoding_name = parts.next().unwrap_or_default();
        if encoding_name.is_empty() {
            return Err(missing(ctx, "encoding name"));
        }
        let clock_rate = parts.next().ok_or_else(|| missing(ctx, "clock rate"))?;
        let clock_rate = number(ctx, "clock rate", clock_rate, 0, u32::MAX.into())?;
        let channels = match parts.next() {
            Some(c) => Some(number(ctx, "encoding parameters", c, 0, u16::MAX.into())?),
            None => None,
        };
        if let Some(extra) = parts.next() {
            return Err(invalid(ctx, "encoding", extra, Problem::InvalidCharacter));
        }
        Ok(Rtpmap {
            payload_type,
            encoding_name: encoding_name.to_owned(),
            clock_rate,
            channels,
        })
    }
}

impl fmt::Display for Rtpmap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}/{}",
            self.payload_type, self.encoding_name, self.clock_rate
        )?;
        if let Some(c) = self.channels {
            write!(f, "/{c}")?;
        }
        Ok(())
    }
}

/// One `name[=value]` of a `;`-separated list (`fmtp` parameters, `rid` restrictions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    /// The name, or the whole item when it has no `=` (e.g. RED's `111/111`).
    pub name: String,
    /// The value after `=`.
    pub value: Option<String>,
}

impl Parameter {
    /// A `name=value` parameter.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Parameter {
            name: name.into(),
            value: Some(value.into()),
        }
    }

    fn parse_list(s: &str) -> Vec<Parameter> {
        s.split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((n, v)) => Parameter {
                    name: n.trim().to_owned(),
                    value: Some(v.trim().to_owned()),
                },
                None => Parameter {
                    name: p.to_owned(),
                    value: None,
                },
            })
            .collect()
    }

    fn write_list(list: &[Parameter], f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in list.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            f.write_str(&p.name)?;
            if let Some(v) = &p.value {
                write!(f, "={v}")?;
            }
        }
        Ok(())
    }
}

/// `a=fmtp:<payload type> <parameters>` (RFC 8866 §6.15): codec parameters, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fmtp {
    /// The RTP payload type, 0–127.
    pub payload_type: u8,
    /// The `;`-separated parameters, in the order written.
    pub parameters: Vec<Parameter>,
}

impl Fmtp {
    /// The value of the first parameter named `name` (ASCII case-insensitively, as
    /// media type parameter names are, RFC 6838 §4.3).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .and_then(|p| p.value.as_deref())
    }
}

impl AttributeValue for Fmtp {
    const NAME: &'static str = "fmtp";

    fn parse_value(value: &str) -> Result<Self, SdpError> {
        let ctx = Context::Attribute(Self::NAME);
        let mut f = Fields::new(value, ctx);
        let payload_type = payload_type(ctx, f.next("payload type")?)?;
        let parameters = f.rest().map(Parameter::parse_list).unwrap_or_default();
        Ok(Fmtp {
            payload_type,
            parameters,
        })
    }
}

impl fmt::Display for Fmtp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.payload_type)?;
        if !self.parameters.is_empty() {
            f.write_str(" ")?;
            Parameter::write_list(&self.parameters, f)?;
        }
        Ok(())
    }
}

/// `a=rtcp-fb:<payload type|*> <type> [<parameters>]` (RFC 4585 §4.2): which RTCP
/// feedback a format takes, e.g. `nack pli`, `ccm fir`, `transport-cc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtcpFb {
    /// The payload type; `None` for `*`, every format of the section.
    pub payload_type: Option<u8>,
    /// The feedback type: `ack`, `nack`, `trr-int`, `ccm`, `goog-remb`, `transport-cc`, …
    pub feedback_type: String,
    /// What follows the type, e.g. `pli` of `nack pli` (with any further parameters).
    pub parameter: Option<String>,
}

impl AttributeValue for RtcpFb {
    const NAME: &'static str = "rtcp-fb";

    fn parse_value(value: &str) -> Result<Self, SdpError> {
        let ctx = Context::Attribute(Self::NAME);
        let mut f = Fields::new(value, ctx);
        let pt = f.next("payload type")?;
        let payload_type = match pt {
            "*" => None,
            pt => Some(payload_type(ctx, pt)?),
        };
        let feedback_type = f.next("type")?.to_owned();
        let parameter = f.rest().map(str::to_owned);
        Ok(RtcpFb {
            payload_type,
            feedback_type,
            parameter,
        })
    }
}

impl fmt::Display for RtcpFb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.payload_type {
            Some(pt) => write!(f, "{pt}")?,
            None => f.write_str("*")?,
        }
        write!(f, " {}", self.feedback_type)?;
        if let Some(p) = &self.parameter {
            write!(f, " {p}")?;
        }
        Ok(())
    }
}

/// `a=extmap:<id>[/<direction>] <URI> [<extension attributes>]` (RFC 8285 §8): an RTP
/// header extension and the local id it has in this session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extmap {
    /// The id: 1–14 fit the one-byte header form, up to 255 need the two-byte form.
    pub id: u8,
    /// The direction, when it differs from the section's.
    pub direction: Option<Direction>,
    /// The extension's URI, e.g. `urn:ietf:params:rtp-hdrext:sdes:mid`.
    pub uri: String,
    /// Whatever follows the URI, as written.
    pub attributes: Option<String>,
}

impl Extmap {
    /// Whether the id fits the one-byte header form (RFC 8285 §4.2: 15 is reserved).
    pub fn is_one_byte(&self) -> bool {
        (1..=14).contains(&self.id)
    }
}

impl AttributeValue for Extmap {
    const NAME: &'static str = "extmap";

    fn parse_value(value: &str) -> Result<Self, SdpError> {
        let ctx = Context::Attribute(Self::NAME);
        let mut f = Fields::new(value, ctx);
        let id_dir = f.next("id")?;
        let (id, direction) =
            match id_dir.split_once('/') {
                Some((id, d)) => (
                    id,
                    Some(Direction::from_name(d).ok_or_else(|| {
                        invalid(ctx, "direction", d, Problem::NotOneOf(DIRECTIONS))
                    })?),
                ),
                None => (id_dir, None),
            };
        let id = number(ctx, "id", id, 1, 255)?;
        let uri = f.next("URI")?.to_owned();
        let attributes = f.rest().map(str::to_owned);
        Ok(Extmap {
            id,
            direction,
            uri,
            attributes,
        })
    }
}

impl fmt::Display for Extmap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.id)?;
        if let Some(d) = self.direction {
            write!(f, "/{d}")?;
        }
        write!(f, " {}", self.uri)?;
        if let Some(a) = &self.attributes {
            write!(f, " {a}")?;
        }
        Ok(())
    }
}

/// `a=ssrc:<ssrc-id> <attribute>[:<value>]` (RFC 5576 §4.1), e.g. `cname:…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ssrc {
    /// The RTP SSRC.
    pub ssrc: u32,
    /// The source attribute's name, e.g. `cname` or `msid`.
    pub attribute: String,
    /// Its value, after the first ':'.
    pub value: Option<String>,
}

impl AttributeValue for Ssrc {
    const NAME: &'static str = "ssrc";

    fn parse_value(value: &str) -> Result<Self, SdpError> {
        let ctx = Context::Attribute(Self::NAME);
        let mut f = Fields::new(value, ctx);
        let ssrc = number(ctx, "ssrc-id", f.next("ssrc-id")?, 0, u32::MAX.into())?;
        let rest = f.rest().ok_or_else(|| missing(ctx, "attribute"))?;
        let (attribute, value) = match rest.split_once(':') {
            Some((a, v)) => (a, Some(v.to_owned())),
            None => (rest, None),
        };
        if attribute.is_empty() {
            return Err(missing(ctx, "attribute"));
        }
        Ok(Ssrc {
            ssrc,
            attribute: attribute.to_owned(),
            value,
        })
    }
}

impl fmt::Display for Ssrc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.ssrc, self.attribute)?;
        if let Some(v) = &self.value {
            write!(f, ":{v}")?;
        }
        Ok(())
    }
}

/// `a=ssrc-group:<semantics> <ssrc-id> ...` (RFC 5576 §4.2), e.g. `FID` pairing a
/// stream with its retransmissions (RFC 4588).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsrcGroup {
    /// `FID`, `FEC-FR`, `SIM`, …
    pub semantics: String,
    /// The SSRCs, in order.
    pub ssrcs: Vec<u32>,
}

impl AttributeValue for SsrcGroup {
    const NAME: &'static str = "ssrc-group";

    fn parse_value(value: &str) -> Result<Self, SdpError> {
        let ctx = Context::Attribute(Self::NAME);
        let mut f = Fields::new(value, ctx);
        let semantics = f.next("semantics")?.to_owned();
        let mut ssrcs = Vec::new();
        while let Some(s) = f.next_opt() {
            ssrcs.push(number(ctx, "ssrc-id", s, 0, u32::MAX.into())?);
        }
        Ok(SsrcGroup { semantics, ssrcs })
    }
}

impl fmt::Display for SsrcGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.semantics)?;
        for s in &self.ssrcs {
            write!(f, " {s}")?;
        }
        Ok(())
    }
}

/// `a=msid:<stream id> [<track id>]` (RFC 8830 §2): the MediaStream a track belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msid {
    /// The MediaStream id, `-` for a track in no stream.
    pub stream_id: String,
    /// The appdata: the sender's track id.
    pub track_id: Option<String>,
}

impl AttributeValue for Msid {
    const NAME: &'static str = "msid";

    fn parse_value(value: &str) -> Result<Self, SdpError> {
        let ctx = Context::Attribute(Self::NAME);
        let mut f = Fields::new(value, ctx);
        let stream_id = f.next("msid-id")?.to_owned();
        let track_id = f.next_opt().map(str::to_owned);
        f.end()?;
        Ok(Msid {
            stream_id,
            track_id,
        })
    }
}

impl fmt::Display for Msid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.stream_id)?;
        if let Some(t) = &self.track_id {
            write!(f, " {t}")?;
        }
        Ok(())
    }
}

/// The direction of a `rid` (RFC 8851 §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RidDirection {
    /// `send`: the offerer sends this stream.
    Send,
    /// `recv`: the offerer receives it.
    Recv,
}

const RID_DIRECTIONS: &[&str] = &["send", "recv"];

impl RidDirection {
    fn parse(ctx: Context, s: &str) -> Result<Self, SdpError> {
        match s {
            "send" => Ok(RidDirection::Send),
            "recv" => Ok(RidDirection::Recv),
            _ => Err(invalid(
                ctx,
                "direction",
                s,
                Problem::NotOneOf(RID_DIRECTIONS),
            )),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            RidDirection::Send => "send",
            RidDirection::Recv => "recv",
        }
    }
}

/// rid-id = 1*(alpha-numeric / "-" / "_") (RFC 8851 §10).
fn rid_id(ctx: Context, s: &str) -> Result<(), SdpError> {
    if s.is_empty() {
        return Err(invalid(ctx, "rid-id", s, Problem::Empty));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(invalid(ctx, "rid-id", s, Problem::InvalidCharacter));
    }
    Ok(())
}

/// `a=rid:<rid-id> <send|recv> [<restrictions>]` (RFC 8851 §10): one RTP stream of a
/// simulcast (or restricted) section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rid {
    /// The RTP stream id.
    pub id: String,
    /// Whether the offerer sends or receives it.
    pub direction: RidDirection,
    /// The `;`-separated restrictions (`pt=96,97`, `max-width=1280`, …), in order.
    pub restrictions: Vec<Parameter>,
}

impl AttributeValue for Rid {
    const NAME: &'static str = "rid";

    fn parse_value(value: &str) -> Result<Self, SdpError> {
        let ctx = Context::Attribute(Self::NAME);
        let mut f = Fields::new(value, ctx);
        let id = f.next("rid-id")?;
        rid_id(ctx, id)?;
        let direction = RidDirection::parse(ctx, f.next("direction")?)?;
        let restrictions = f.rest().map(Parameter::parse_list).unwrap_or_default();
        Ok(Rid {
            id: id.to_owned(),
            direction,
            restrictions,
        })
    }
}

impl fmt::Display for Rid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.id, self.direction.as_str())?;
        if !self.restrictions.is_empty() {
            f.write_str(" ")?;
            Parameter::write_list(&self.restrictions, f)?;
        }
        Ok(())
    }
}

/// One rid in a `simulcast` list, `~` when paused (RFC 8853 §5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulcastRid {
    /// The rid-id.
    pub id: String,
    /// Written with a leading `~`: offered, but not sent for now.
    pub paused: bool,
}

/// `a=simulcast:<send|recv> <list> [<send|recv> <list>]` (RFC 8853 §5.1). Each list is
/// `;`-separated streams, each stream `,`-separated alternative rids.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Simulcast {
    /// The streams sent, each a list of alternatives; empty when there is no `send` list.
    pub send: Vec<Vec<SimulcastRid>>,
    /// The streams received; empty when there is no `recv` list.
    pub recv: Vec<Vec<SimulcastRid>>,
}

impl Simulcast {
    fn parse_list(ctx: Context, s: &str) -> Result<Vec<Vec<SimulcastRid>>, SdpError> {
        s.split(';')
            .map(|stream| {
                stream
                    .split(',')
                    .map(|rid| {
                        let (id, paused) = match rid.strip_prefix('~') {
                            Some(id) => (id, true),
                            None => (rid, false),
                        };
                        rid_id(ctx, id)?;
                        Ok(SimulcastRid {
                            id: id.to_owned(),
                            paused,
                        })
                    })
                    .collect()
            })
            .collect()
    }

    fn write_list(list: &[Vec<SimulcastRid>], f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, stream) in list.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            for (j, rid) in stream.iter().enumerate() {
                if j > 0 {
                    f.write_str(",")?;
                }
                if rid.paused {
                    f.write_str("~")?;
                }
                f.write_str(&rid.id)?;
            }
        }
        Ok(())
    }
}

impl AttributeValue for Simulcast {
    const NAME: &'static str = "simulcast";

    fn parse_value(value: &str) -> Result<Self, SdpError> {
        let ctx = Context::Attribute(Self::NAME);
        let mut f = Fields::new(value, ctx);
        let mut out = Simulcast::default();
        let mut seen = (false, false);
        // One list per direction, each direction at most once.
        let mut next = Some(f.next("direction")?);
        while let Some(dir) = next {
            let dir = RidDirection::parse(ctx, dir)?;
            let list = Simulcast::parse_list(ctx, f.next("list")?)?;
            let (seen_it, slot) = match dir {
                RidDirection::Send => (&mut seen.0, &mut out.send),
                RidDirection::Recv => (&mut seen.1, &mut out.recv),
            };
            if *seen_it {
                return Err(invalid(ctx, "direction", dir.as_str(), Problem::Repeated));
            }
            *seen_it = true;
            *slot = list;
            next = f.next_opt();
        }
        Ok(out)
    }
}

impl fmt::Display for Simulcast {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        for (dir, list) in [("send", &self.send), ("recv", &self.recv)] {
            if !list.is_empty() {
                write!(f, "{sep}{dir} ")?;
                Simulcast::write_list(list, f)?;
                sep = " ";
            }
        }
        Ok(())
    }
}
