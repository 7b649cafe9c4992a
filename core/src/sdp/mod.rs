//! SDP, the Session Description Protocol (RFC 8866), as JSEP (RFC 9429) uses it: a
//! lossless parser and writer, and typed parsers for the attributes WebRTC signals.
//!
//! A [`SessionDescription`] keeps every line it was given, in order, as a [`Line`]
//! (its type letter and value): attributes and line types this module does not know
//! survive a parse and write untouched, and a CRLF description is written back byte for
//! byte. Typed views ([`Origin`], [`Media`], [`Rtpmap`], [`Candidate`], …) are computed
//! from the lines when asked for, and every typed value formats back to the text of its
//! line, so JSEP builds descriptions from the same types it reads them with.
//!
//! The text may come from anyone, so parsing is bounded ([`MAX_BYTES`], [`MAX_LINES`],
//! [`MAX_MEDIA_SECTIONS`]) and every failure is an [`SdpError`] naming the line and
//! what is wrong with it, never a panic.
//!
//! ```
//! use sansrtc::sdp::{Direction, Media, Origin, Rtpmap, SessionDescription, Setup};
//!
//! let offer = SessionDescription::parse(
//!     "v=0\r\n\
//!      o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n\
//!      s=-\r\n\
//!      t=0 0\r\n\
//!      a=group:BUNDLE 0\r\n\
//!      m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
//!      c=IN IP4 0.0.0.0\r\n\
//!      a=mid:0\r\n\
//!      a=sendrecv\r\n\
//!      a=setup:actpass\r\n\
//!      a=rtpmap:111 opus/48000/2\r\n\
//!      a=x-unknown-to-us:kept\r\n",
//! )?;
//! let audio = &offer.media_sections()[0];
//! assert_eq!(audio.mid(), Some("0"));
//! assert_eq!(audio.direction(), Some(Direction::SendRecv));
//! let opus: Rtpmap = audio.first::<Rtpmap>().expect("an rtpmap")?;
//! assert_eq!((opus.encoding_name.as_str(), opus.clock_rate, opus.channels), ("opus", 48000, Some(2)));
//! // Lossless: the unknown attribute is still there when written back.
//! assert!(offer.to_string().contains("a=x-unknown-to-us:kept\r\n"));
//!
//! // An answer built from scratch, with the same types.
//! let mut answer = SessionDescription::new(&Origin {
//!     username: "-".into(), session_id: 1, session_version: 1,
//!     nettype: "IN".into(), addrtype: "IP4".into(), address: "127.0.0.1".into(),
//! })?;
//! answer.push_attribute("group", Some("BUNDLE 0"))?;
//! let m = answer.push_media(Media {
//!     media: "audio".into(), port: 9, port_count: None,
//!     proto: "UDP/TLS/RTP/SAVPF".into(), formats: vec!["111".into()],
//! })?;
//! m.push_attribute("mid", Some("0"))?;
//! m.set_direction(Direction::RecvOnly)?;
//! m.push(&Setup::Active)?;
//! m.push(&opus)?;
//! let text = answer.to_string();
//! assert!(text.ends_with("a=mid:0\r\na=recvonly\r\na=setup:active\r\na=rtpmap:111 opus/48000/2\r\n"));
//! assert_eq!(SessionDescription::parse(&text)?, answer);
//! # Ok::<(), sansrtc::sdp::SdpError>(())
//! ```

mod error;
mod fields;
mod rtp;
mod transport;

#[cfg(test)]
mod tests;

use std::fmt;

pub use error::{Context, Problem, SdpError, SdpErrorKind};
pub use fields::{Bandwidth, Connection, Media, Origin, Timing};
pub use rtp::{
    Direction, Extmap, Fmtp, Msid, Parameter, Rid, RidDirection, RtcpFb, Rtpmap, Simulcast,
    SimulcastRid, Ssrc, SsrcGroup,
};
pub use transport::{
    Candidate, CandidateTransport, CandidateType, Fingerprint, Group, HashFunction, IceOptions,
    IcePwd, IceUfrag, MaxMessageSize, Mid, SctpPort, Sctpmap, Setup, TcpType,
};

/// The longest description [`SessionDescription::parse`] accepts, in bytes (1 MiB: a
/// browser's offer with a hundred media sections is under 200 KiB).
pub const MAX_BYTES: usize = 1 << 20;
/// The most lines [`SessionDescription::parse`] accepts.
pub const MAX_LINES: usize = 10_000;
/// The most media sections (`m=` lines) [`SessionDescription::parse`] accepts.
pub const MAX_MEDIA_SECTIONS: usize = 1_000;

/// One line of a description: its type letter and its value, as written.
///
/// Two lines are equal when their type and value are; where a line came from
/// ([`Line::number`]) does not count.
#[derive(Debug, Clone, Eq)]
pub struct Line {
    kind: u8,
    value: String,
    number: Option<usize>,
}

impl PartialEq for Line {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.value == other.value
    }
}

impl Line {
    /// A line `<kind>=<value>`. The type must be an ASCII letter and the value must not
    /// hold CR, LF or NUL (RFC 8866 §9), so that the line writes and parses back the same.
    pub fn new(kind: char, value: impl Into<String>) -> Result<Self, SdpError> {
        if !kind.is_ascii_alphabetic() {
            return Err(SdpErrorKind::InvalidLineType(kind).into());
        }
        let value = value.into();
        check_value(&value)?;
        Ok(Line {
            kind: kind as u8,
            value,
            number: None,
        })
    }

    /// The type letter (`'a'` for an attribute).
    pub fn kind(&self) -> char {
        char::from(self.kind)
    }

    /// The value after `=`, as written.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The 1-based line number in the text this line was parsed from; `None` for a line a
    /// builder added.
    pub fn number(&self) -> Option<usize> {
        self.number
    }

    /// The line as an attribute, if it is an `a=` line.
    pub fn attribute(&self) -> Option<Attribute<'_>> {
        if self.kind != b'a' {
            return None;
        }
        let (name, value) = match self.value.split_once(':') {
            Some((name, value)) => (name, Some(value)),
            None => (self.value.as_str(), None),
        };
        Some(Attribute {
            name,
            value,
            line: self.number,
        })
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.kind(), self.value)
    }
}

fn check_value(value: &str) -> Result<(), SdpError> {
    // Bytes, not chars: all three are ASCII, and no UTF-8 sequence holds an ASCII byte.
    match value.bytes().find(|b| matches!(b, b'\r' | b'\n' | 0)) {
        Some(b) => Err(SdpErrorKind::ForbiddenCharacter(char::from(b)).into()),
        None => Ok(()),
    }
}

/// An `a=<name>[:<value>]` line (RFC 8866 §5.13), borrowed from its [`Line`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute<'a> {
    /// The name, before the first ':'.
    pub name: &'a str,
    /// The value after the first ':'; `None` for a property attribute (`a=rtcp-mux`).
    pub value: Option<&'a str>,
    /// The line it was parsed from, for errors.
    pub line: Option<usize>,
}

impl Attribute<'_> {
    /// The value as the typed attribute `T`, whatever this attribute's name; errors name
    /// `T`'s attribute and this line.
    pub fn parse<T: AttributeValue>(&self) -> Result<T, SdpError> {
        let Some(value) = self.value else {
            return Err(error::missing(Context::Attribute(T::NAME), "value").at(self.line));
        };
        T::parse_value(value).map_err(|e| e.at(self.line))
    }
}

/// A typed attribute value: parsed from the text after `a=<NAME>:`, and written back to
/// that text by its `Display`.
pub trait AttributeValue: Sized + fmt::Display {
    /// The attribute's name, e.g. `"rtpmap"`.
    const NAME: &'static str;
    /// Parses an attribute value (the text after `a=<NAME>:`).
    fn parse_value(value: &str) -> Result<Self, SdpError>;
}

/// A whole session description: its session-level lines (from `v=0` to the first `m=`),
/// then its media sections.
///
/// Equality compares lines (type and value), not where they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    session: Vec<Line>,
    media: Vec<MediaSection>,
}

/// One media section: its `m=` line and the lines up to the next `m=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSection {
    media: Media,
    m_line: Line,
    lines: Vec<Line>,
}

/// Validates a line a builder adds: `v=` and `m=` belong to the structure, and a `c=`
/// must parse, as it must in [`SessionDescription::parse`].
fn check_added(line: &Line) -> Result<(), SdpError> {
    match line.kind {
        b'v' | b'm' => Err(SdpErrorKind::MisplacedLine(line.kind()).into()),
        b'c' => Connection::parse(&line.value).map(drop),
        _ => Ok(()),
    }
}

fn attribute_line(name: &str, value: Option<&str>) -> Result<Line, SdpError> {
    if name.is_empty() || name.contains(':') || name.chars().any(|c| c.is_whitespace()) {
        return Err(SdpErrorKind::InvalidAttributeName(name.to_owned()).into());
    }
    match value {
        Some(v) => Line::new('a', format!("{name}:{v}")),
        None => Line::new('a', name),
    }
}

/// The attribute accessors and mutators session level and media sections share; `$lines`
/// names the field holding the level's lines.
macro_rules! attribute_methods {
    ($level:literal, $lines:ident) => {
        #[doc = concat!("The attributes ", $level, ", in order, as `(name, value)` views.")]
        pub fn attributes(&self) -> impl Iterator<Item = Attribute<'_>> {
            self.$lines.iter().filter_map(Line::attribute)
        }

        #[doc = concat!("The first attribute named `name` ", $level, ".")]
        pub fn attribute(&self, name: &str) -> Option<Attribute<'_>> {
            self.attributes().find(|a| a.name == name)
        }

        #[doc = concat!("Whether an attribute named `name` is ", $level, " (a property such as `rtcp-mux`, or any other).")]
        pub fn has_attribute(&self, name: &str) -> bool {
            self.attribute(name).is_some()
        }

        #[doc = concat!("The value of the first attribute named `name` ", $level, " that has one.")]
        pub fn attribute_value(&self, name: &str) -> Option<&str> {
            self.attributes()
                .filter(|a| a.name == name)
                .find_map(|a| a.value)
        }

        #[doc = concat!("The values of every attribute named `name` ", $level, ", in order.")]
        pub fn attribute_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
            self.attributes()
                .filter(move |a| a.name == name)
                .filter_map(|a| a.value)
        }

        #[doc = concat!("Every `a=` line named `T::NAME` ", $level, ", parsed as `T`.")]
        pub fn typed<T: AttributeValue>(&self) -> impl Iterator<Item = Result<T, SdpError>> + '_ {
            self.attributes()
                .filter(|a| a.name == T::NAME)
                .map(|a| a.parse::<T>())
        }

        #[doc = concat!("The first `a=` line named `T::NAME` ", $level, ", parsed as `T`.")]
        pub fn first<T: AttributeValue>(&self) -> Option<Result<T, SdpError>> {
            self.typed::<T>().next()
        }

        #[doc = concat!("Appends `a=<name>[:<value>]` ", $level, ". The name must be a token (no ':' or white \
                         space) and the value free of CR, LF and NUL.")]
        pub fn push_attribute(&mut self, name: &str, value: Option<&str>) -> Result<(), SdpError> {
            self.$lines.push(attribute_line(name, value)?);
            Ok(())
        }

        #[doc = concat!("Appends a typed attribute ", $level, ", written by its `Display`.")]
        pub fn push<T: AttributeValue>(&mut self, value: &T) -> Result<(), SdpError> {
            self.push_attribute(T::NAME, Some(&value.to_string()))
        }

        #[doc = concat!("Appends any line but `v=` or `m=` ", $level, "; a `c=` line must parse.")]
        pub fn push_line(&mut self, line: Line) -> Result<(), SdpError> {
            check_added(&line)?;
            self.$lines.push(line);
            Ok(())
        }

        #[doc = concat!("Removes every attribute named `name` ", $level, " (e.g. `candidate`); \
                         answers how many went.")]
        pub fn remove_attributes(&mut self, name: &str) -> usize {
            let before = self.$lines.len();
            self.$lines
                .retain(|l| l.attribute().is_none_or(|a| a.name != name));
            before - self.$lines.len()
        }

        #[doc = concat!("The `c=` line ", $level, ", if any.")]
        pub fn connection(&self) -> Option<Connection> {
            // Checked when parsed or added, so this fails only for a line that is not there.
            self.$lines
                .iter()
                .find(|l| l.kind == b'c')
                .and_then(|l| Connection::parse(&l.value).ok())
        }

        #[doc = concat!("The `b=` lines ", $level, ", parsed.")]
        pub fn bandwidths(&self) -> impl Iterator<Item = Result<Bandwidth, SdpError>> + '_ {
            self.$lines
                .iter()
                .filter(|l| l.kind == b'b')
                .map(|l| Bandwidth::parse(&l.value).map_err(|e| e.at(l.number)))
        }

        #[doc = concat!("Whether `a=extmap-allow-mixed` (RFC 8285 §6) is ", $level, ".")]
        pub fn extmap_allow_mixed(&self) -> bool {
            self.has_attribute("extmap-allow-mixed")
        }
    };
}

impl SessionDescription {
    /// A description with only the lines every one needs: `v=0`, the given `o=`, and
    /// `s=-` and `t=0 0` as JSEP writes them (RFC 9429 §5.2.1).
    pub fn new(origin: &Origin) -> Result<Self, SdpError> {
        origin.check()?;
        Ok(SessionDescription {
            session: vec![
                Line::new('v', "0")?,
                Line::new('o', origin.to_string())?,
                Line::new('s', "-")?,
                Line::new('t', "0 0")?,
            ],
            media: Vec::new(),
        })
    }

    /// Parses a description. Lines may end in CRLF or LF, the last one in neither; blank
    /// lines at the very end are ignored. Every other line is kept, in order.
    pub fn parse(text: &str) -> Result<Self, SdpError> {
        if text.len() > MAX_BYTES {
            return Err(SdpErrorKind::TooLarge(text.len()).into());
        }
        let body = text.trim_end_matches(['\r', '\n']);
        let mut sdp = SessionDescription {
            session: Vec::new(),
            media: Vec::new(),
        };
        for (i, raw) in body.split('\n').enumerate() {
            let n = i + 1;
            if n > MAX_LINES {
                return Err(SdpError::new(SdpErrorKind::TooManyLines).at(Some(n)));
            }
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            sdp.parse_line(raw, n).map_err(|e| e.at(Some(n)))?;
        }
        for kind in ['o', 's', 't'] {
            if !sdp.session.iter().any(|l| l.kind() == kind) {
                return Err(SdpErrorKind::MissingLine(kind).into());
            }
        }
        Ok(sdp)
    }

    fn parse_line(&mut self, raw: &str, n: usize) -> Result<(), SdpError> {
        if n == 1 && raw != "v=0" {
            return Err(SdpErrorKind::NotVersionZero.into());
        }
        let (kind, value) = match raw.as_bytes() {
            [k, b'=', ..] if k.is_ascii_alphabetic() => {
                // Both bytes are ASCII, so byte 2 is a character boundary.
                (*k, raw.get(2..).unwrap_or_default())
            }
            _ => return Err(SdpErrorKind::Malformed.into()),
        };
        check_value(value)?;
        let line = Line {
            kind,
            value: value.to_owned(),
            number: Some(n),
        };
        if n == 1 {
            self.session.push(line);
            return Ok(());
        }
        match kind {
            b'm' => {
                if self.media.len() >= MAX_MEDIA_SECTIONS {
                    return Err(SdpErrorKind::TooManyMediaSections.into());
                }
                let media = Media::parse(value)?;
                self.media.push(MediaSection {
                    media,
                    m_line: line,
                    lines: Vec::new(),
                });
                return Ok(());
            }
            b'c' => {
                Connection::parse(value)?;
            }
            _ => {}
        }
        match self.media.last_mut() {
            Some(m) => m.lines.push(line),
            None => self.session.push(line),
        }
        Ok(())
    }

    /// Appends the description's text, every line ending in CRLF.
    pub fn write_to(&self, out: &mut String) {
        let len: usize = self.lines().map(|l| l.value.len() + 4).sum();
        out.reserve(len);
        for l in self.lines() {
            out.push(l.kind());
            out.push('=');
            out.push_str(&l.value);
            out.push_str("\r\n");
        }
    }

    /// Every line, session level first, then each media section's.
    pub fn lines(&self) -> impl Iterator<Item = &Line> {
        self.session
            .iter()
            .chain(self.media.iter().flat_map(MediaSection::lines))
    }

    /// The session-level lines, from `v=0` to the first `m=`.
    pub fn session_lines(&self) -> &[Line] {
        &self.session
    }

    /// The media sections, in order.
    pub fn media_sections(&self) -> &[MediaSection] {
        &self.media
    }

    /// The media sections, to change (their lines, not how many there are).
    pub fn media_sections_mut(&mut self) -> &mut [MediaSection] {
        &mut self.media
    }

    /// The media section whose `a=mid` is `mid`.
    pub fn media_section_by_mid(&self, mid: &str) -> Option<&MediaSection> {
        self.media.iter().find(|m| m.mid() == Some(mid))
    }

    /// Appends a media section starting at `m=<media>`; answers it, to fill.
    pub fn push_media(&mut self, media: Media) -> Result<&mut MediaSection, SdpError> {
        media.check()?;
        if self.media.len() >= MAX_MEDIA_SECTIONS {
            return Err(SdpErrorKind::TooManyMediaSections.into());
        }
        let m_line = Line::new('m', media.to_string())?;
        self.media.push(MediaSection {
            media,
            m_line,
            lines: Vec::new(),
        });
        let last = self.media.len() - 1;
        Ok(&mut self.media[last])
    }

    /// The `o=` line.
    pub fn origin(&self) -> Result<Origin, SdpError> {
        let line = self.session_line(b'o');
        Origin::parse(line.map_or("", |l| l.value())).map_err(|e| e.at(line.and_then(Line::number)))
    }

    /// Replaces the `o=` line (JSEP raises sess-version on each new offer or answer).
    pub fn set_origin(&mut self, origin: &Origin) -> Result<(), SdpError> {
        origin.check()?;
        let line = Line::new('o', origin.to_string())?;
        match self.session.iter_mut().find(|l| l.kind == b'o') {
            Some(l) => *l = line,
            None => self.session.push(line),
        }
        Ok(())
    }

    /// The `s=` line's value.
    pub fn session_name(&self) -> Option<&str> {
        self.session_line(b's').map(Line::value)
    }

    /// The first `t=` line.
    pub fn timing(&self) -> Result<Timing, SdpError> {
        let line = self.session_line(b't');
        Timing::parse(line.map_or("", |l| l.value())).map_err(|e| e.at(line.and_then(Line::number)))
    }

    /// Whether the session is `a=ice-lite` (RFC 8839 §5.3).
    pub fn ice_lite(&self) -> bool {
        self.has_attribute("ice-lite")
    }

    fn session_line(&self, kind: u8) -> Option<&Line> {
        self.session.iter().find(|l| l.kind == kind)
    }

    attribute_methods!("at session level", session);
}

impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for l in self.lines() {
            write!(f, "{l}\r\n")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for SessionDescription {
    type Err = SdpError;

    fn from_str(s: &str) -> Result<Self, SdpError> {
        SessionDescription::parse(s)
    }
}

impl MediaSection {
    /// The `m=` line, typed.
    pub fn media(&self) -> &Media {
        &self.media
    }

    /// Every line, the `m=` line first.
    pub fn lines(&self) -> impl Iterator<Item = &Line> {
        std::iter::once(&self.m_line).chain(&self.lines)
    }

    /// Sets the `m=` line's port; 0 rejects the section (RFC 9429 §5.3.1).
    pub fn set_port(&mut self, port: u16) -> Result<(), SdpError> {
        let mut media = self.media.clone();
        media.port = port;
        self.m_line = Line::new('m', media.to_string())?;
        self.media = media;
        Ok(())
    }

    /// `a=mid` (RFC 8843 §14), the section's identification tag.
    pub fn mid(&self) -> Option<&str> {
        self.attribute_value("mid")
    }

    /// The first direction attribute (`sendrecv`, `sendonly`, `recvonly`, `inactive`;
    /// RFC 8866 §6.7); absent means `sendrecv`.
    pub fn direction(&self) -> Option<Direction> {
        self.attributes()
            .filter(|a| a.value.is_none())
            .find_map(|a| Direction::from_name(a.name))
    }

    /// Replaces the direction attributes with `direction`, where the first one was (or at
    /// the end).
    pub fn set_direction(&mut self, direction: Direction) -> Result<(), SdpError> {
        let new = Line::new('a', direction.as_str())?;
        let is_direction = |l: &Line| {
            l.attribute()
                .is_some_and(|a| a.value.is_none() && Direction::from_name(a.name).is_some())
        };
        match self.lines.iter().position(is_direction) {
            Some(i) => {
                self.lines.insert(i, new);
                let mut seen = false;
                self.lines.retain(|l| {
                    // Keep the new one (the first match), drop the old ones after it.
                    if is_direction(l) {
                        let keep = !seen;
                        seen = true;
                        keep
                    } else {
                        true
                    }
                });
            }
            None => self.lines.push(new),
        }
        Ok(())
    }

    /// Whether `a=rtcp-mux` (RFC 5761) is present.
    pub fn rtcp_mux(&self) -> bool {
        self.has_attribute("rtcp-mux")
    }

    /// Whether `a=rtcp-rsize` (RFC 5506) is present.
    pub fn rtcp_rsize(&self) -> bool {
        self.has_attribute("rtcp-rsize")
    }

    /// Whether `a=end-of-candidates` (RFC 8840 §8.2) is present.
    pub fn end_of_candidates(&self) -> bool {
        self.has_attribute("end-of-candidates")
    }

    attribute_methods!("in this media section", lines);
}
