//! The one error type of the SDP layer, and the field scanner every parser shares.

use std::fmt;

use super::{MAX_BYTES, MAX_LINES, MAX_MEDIA_SECTIONS};

/// An SDP description or value that does not parse, or a line a builder refused.
///
/// Its `Display` names the line (1-based, in the text that was parsed) and what is wrong,
/// e.g. `line 7: m= line: port "x9" is not a number`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdpError {
    /// The 1-based line number in the parsed text; `None` when the error is about the
    /// description as a whole (its size, a missing line), a value parsed on its own, or a
    /// line a builder made.
    pub line: Option<usize>,
    /// What is wrong.
    pub kind: SdpErrorKind,
}

impl SdpError {
    pub(crate) fn new(kind: SdpErrorKind) -> Self {
        SdpError { line: None, kind }
    }

    pub(crate) fn at(mut self, line: Option<usize>) -> Self {
        self.line = line;
        self
    }
}

impl fmt::Display for SdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(n) => write!(f, "line {n}: {}", self.kind),
            None => write!(f, "{}", self.kind),
        }
    }
}

impl std::error::Error for SdpError {}

impl From<SdpErrorKind> for SdpError {
    fn from(kind: SdpErrorKind) -> Self {
        SdpError::new(kind)
    }
}

/// What is wrong with an SDP description, line or value.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpErrorKind {
    /// The text is longer than [`MAX_BYTES`].
    #[error("description is {0} bytes, more than the limit of {MAX_BYTES}")]
    TooLarge(usize),
    /// The text has more than [`MAX_LINES`] lines.
    #[error("more than {MAX_LINES} lines")]
    TooManyLines,
    /// The text has more than [`MAX_MEDIA_SECTIONS`] `m=` lines.
    #[error("more than {MAX_MEDIA_SECTIONS} media sections")]
    TooManyMediaSections,
    /// The first line is not `v=0` (RFC 8866 §5.1: the only version there is).
    #[error("the first line must be v=0")]
    NotVersionZero,
    /// A line is not `<letter>=<value>` (RFC 8866 §5).
    #[error("not a <type>=<value> line")]
    Malformed,
    /// A value holds a character RFC 8866 §9 forbids in one (CR, LF or NUL).
    #[error("value contains the forbidden character {0:?}")]
    ForbiddenCharacter(char),
    /// A line every session description must have (`o=`, `s=`, `t=`) is missing.
    #[error("the session description has no {0}= line")]
    MissingLine(char),
    /// A builder was asked to add a line that only the structure may hold (`v=`, `m=`).
    #[error("a {0}= line cannot be added here")]
    MisplacedLine(char),
    /// A builder was given a line type that is not a letter.
    #[error("line type {0:?} is not a letter")]
    InvalidLineType(char),
    /// A builder was given an attribute name that is empty or holds ':' or white space.
    #[error("attribute name {0:?} is not a token")]
    InvalidAttributeName(String),
    /// A field of a line or attribute value is missing.
    #[error("{context}: {field} is missing")]
    MissingField {
        /// The line or attribute.
        context: Context,
        /// The field's name, as its RFC calls it.
        field: &'static str,
    },
    /// A field of a line or attribute value is there but wrong.
    #[error("{context}: {field} {value:?} {problem}")]
    InvalidField {
        /// The line or attribute.
        context: Context,
        /// The field's name, as its RFC calls it.
        field: &'static str,
        /// The field as written (cut to 64 characters).
        value: String,
        /// What is wrong with it.
        problem: Problem,
    },
    /// Text after the last field the line or attribute has.
    #[error("{context}: unexpected {value:?} after the last field")]
    TrailingField {
        /// The line or attribute.
        context: Context,
        /// What follows (cut to 64 characters).
        value: String,
    },
}

/// The line or attribute a field belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// A line of a type (`'m'` for `m=`).
    Line(char),
    /// An attribute, by name (`"rtpmap"` for `a=rtpmap`).
    Attribute(&'static str),
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Context::Line(c) => write!(f, "{c}= line"),
            Context::Attribute(name) => write!(f, "a={name}"),
        }
    }
}

/// What is wrong with a field.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// Not a decimal number.
    #[error("is not a number")]
    NotANumber,
    /// A number outside what the field allows.
    #[error("is not in {min}..={max}")]
    OutOfRange {
        /// Smallest allowed.
        min: u64,
        /// Largest allowed.
        max: u64,
    },
    /// Not one of the values the field allows.
    #[error("is not one of {}", .0.join(", "))]
    NotOneOf(&'static [&'static str]),
    /// Not hexadecimal bytes separated by ':'.
    #[error("is not colon-separated hex bytes")]
    NotHex,
    /// A byte string of the wrong length.
    #[error("has {found} bytes, {expected} expected")]
    ByteCount {
        /// How many bytes it has.
        found: usize,
        /// How many the field needs.
        expected: usize,
    },
    /// A character the field's grammar does not allow.
    #[error("holds a character its grammar does not allow")]
    InvalidCharacter,
    /// Shorter or longer than the field's grammar allows (in characters).
    #[error("is not {min} to {max} characters long")]
    Length {
        /// Fewest characters.
        min: usize,
        /// Most characters.
        max: usize,
    },
    /// Given twice where only once is allowed.
    #[error("is given more than once")]
    Repeated,
    /// Empty where a value is needed.
    #[error("is empty")]
    Empty,
}

/// Longest field quoted in an error, so a hostile megabyte is not copied into messages.
const QUOTE_MAX: usize = 64;

pub(crate) fn quote(s: &str) -> String {
    match s.char_indices().nth(QUOTE_MAX) {
        Some((end, _)) => format!("{}…", s.get(..end).unwrap_or_default()),
        None => s.to_owned(),
    }
}

pub(crate) fn invalid(
    context: Context,
    field: &'static str,
    value: &str,
    problem: Problem,
) -> SdpError {
    SdpError::new(SdpErrorKind::InvalidField {
        context,
        field,
        value: quote(value),
        problem,
    })
}

pub(crate) fn missing(context: Context, field: &'static str) -> SdpError {
    SdpError::new(SdpErrorKind::MissingField { context, field })
}

/// A decimal field in `min..=max` (RFC 8866 numbers are plain digits: no sign, no space).
pub(crate) fn number<T: TryFrom<u64>>(
    context: Context,
    field: &'static str,
    s: &str,
    min: u64,
    max: u64,
) -> Result<T, SdpError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(context, field, s, Problem::NotANumber));
    }
    let out_of_range = || invalid(context, field, s, Problem::OutOfRange { min, max });
    let n: u64 = s.parse().map_err(|_| out_of_range())?;
    if n < min || n > max {
        return Err(out_of_range());
    }
    T::try_from(n).map_err(|_| out_of_range())
}

/// Splits a value into white-space separated fields, naming what is missing or left over.
pub(crate) struct Fields<'a> {
    rest: &'a str,
    context: Context,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(s: &'a str, context: Context) -> Self {
        Fields { rest: s, context }
    }

    /// The next field, if any.
    pub(crate) fn next_opt(&mut self) -> Option<&'a str> {
        let s = self
            .rest
            .trim_start_matches(|c: char| c.is_ascii_whitespace());
        if s.is_empty() {
            self.rest = s;
            return None;
        }
        let end = s.find(|c: char| c.is_ascii_whitespace()).unwrap_or(s.len());
        let (field, rest) = s.split_at(end);
        self.rest = rest;
        Some(field)
    }

    /// The next field, which must be there.
    pub(crate) fn next(&mut self, field: &'static str) -> Result<&'a str, SdpError> {
        self.next_opt().ok_or_else(|| missing(self.context, field))
    }

    /// Everything left, trimmed, or `None` if nothing is.
    pub(crate) fn rest(&mut self) -> Option<&'a str> {
        let s = self.rest.trim_matches(|c: char| c.is_ascii_whitespace());
        self.rest = "";
        (!s.is_empty()).then_some(s)
    }

    /// Fails if anything is left.
    pub(crate) fn end(mut self) -> Result<(), SdpError> {
        match self.rest() {
            None => Ok(()),
            Some(extra) => Err(SdpError::new(SdpErrorKind::TrailingField {
                context: self.context,
                value: quote(extra),
            })),
        }
    }
}
