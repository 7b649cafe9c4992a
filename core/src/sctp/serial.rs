//! Sequence-number newtypes: TSNs, SSNs, MIDs, FSNs and RE-CONFIG request numbers wrap
//! around, so they compare with serial number arithmetic (RFC 1982, as RFC 9260 §1.6
//! requires); stream ids and PPIDs are plain labels.

use std::cmp::Ordering;
use std::fmt;

macro_rules! serial_number {
    ($(#[$doc:meta])* $name:ident, $int:ty, $signed:ty) => {
        $(#[$doc])*
        ///
        /// Ordering follows RFC 1982: `a < b` when `b` is ahead of `a` by less than half the
        /// number space. Two numbers exactly half the space apart are unordered
        /// (`partial_cmp` gives `None`), and the order is not transitive over long runs,
        /// which is why the type is `PartialOrd` but not `Ord`. Keep such numbers out of
        /// ordered collections; key maps by a [`distance`](Self::distance) from a base.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(pub $int);

        impl $name {
            /// Wraps a raw value.
            pub const fn new(value: $int) -> Self {
                Self(value)
            }

            /// The raw value.
            pub const fn get(self) -> $int {
                self.0
            }

            /// The number after this one, wrapping at the top of the space.
            #[must_use]
            pub const fn next(self) -> Self {
                Self(self.0.wrapping_add(1))
            }

            /// The number before this one, wrapping at zero.
            #[must_use]
            pub const fn prev(self) -> Self {
                Self(self.0.wrapping_sub(1))
            }

            /// This number advanced by `n`, wrapping (RFC 1982 §3.1 addition).
            #[must_use]
            pub const fn add(self, n: $int) -> Self {
                Self(self.0.wrapping_add(n))
            }

            /// How far this number is ahead of `base`, modulo the number space:
            /// `base.add(self.distance(base)) == self`.
            pub const fn distance(self, base: Self) -> $int {
                self.0.wrapping_sub(base.0)
            }

            /// Signed distance from `base`: positive when this number is newer
            /// (RFC 1982 §3.2), negative when older; the half-way point is the most
            /// negative value.
            pub const fn offset_from(self, base: Self) -> $signed {
                self.0.wrapping_sub(base.0) as $signed
            }

            /// RFC 1982 "greater than": this number is newer than `other`.
            pub fn is_newer_than(self, other: Self) -> bool {
                self.partial_cmp(&other) == Some(Ordering::Greater)
            }

            /// RFC 1982 "less than": this number is older than `other`.
            pub fn is_older_than(self, other: Self) -> bool {
                self.partial_cmp(&other) == Some(Ordering::Less)
            }
        }

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                const HALF: $int = 1 << (<$int>::BITS - 1);
                match self.0.wrapping_sub(other.0) {
                    0 => Some(Ordering::Equal),
                    // RFC 1982 §3.2 leaves i1 - i2 == 2^(SERIAL_BITS - 1) undefined.
                    HALF => None,
                    d if d < HALF => Some(Ordering::Greater),
                    _ => Some(Ordering::Less),
                }
            }
        }

        impl From<$int> for $name {
            fn from(value: $int) -> Self {
                Self(value)
            }
        }

        impl From<$name> for $int {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

serial_number!(
    /// Transmission Sequence Number (RFC 9260 §3.3.1): 32 bits, one per DATA or I-DATA
    /// chunk, shared by all streams.
    Tsn,
    u32,
    i32
);
serial_number!(
    /// Stream Sequence Number (RFC 9260 §3.3.1): 16 bits per stream, one per ordered
    /// user message sent in DATA chunks.
    Ssn,
    u16,
    i16
);
serial_number!(
    /// Message Identifier (RFC 8260 §2.1): the 32-bit per-stream message number that
    /// I-DATA uses for ordered and unordered messages alike.
    Mid,
    u32,
    i32
);
serial_number!(
    /// Fragment Sequence Number (RFC 8260 §2.1): position of an I-DATA fragment within
    /// its message; the first fragment is 0 and carries the PPID instead.
    Fsn,
    u32,
    i32
);
serial_number!(
    /// Re-configuration Request Sequence Number (RFC 6525 §4.1): starts at the sender's
    /// initial TSN and grows by one per RE-CONFIG request.
    ReconfigSeq,
    u32,
    i32
);

/// Stream Identifier (RFC 9260 §3.3.1). WebRTC maps one data channel to one stream id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Sid(pub u16);

/// Payload Protocol Identifier (RFC 9260 §3.3.1), an opaque label SCTP carries for the
/// upper layer. WebRTC's values are associated constants in [`crate::datachannel`]
/// (RFC 8831 §8), e.g. [`Ppid::DCEP`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Ppid(pub u32);

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Display for Ppid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}
