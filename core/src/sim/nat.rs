//! NATs with the mapping and filtering behaviours of RFC 4787.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use super::NatId;
use crate::io::Protocol;
use crate::rng::Rng;

/// The classic NAT types, as RFC 4787 mapping and filtering behaviours.
///
/// | kind                | mapping (RFC 4787 §4.1)      | filtering (§5)               |
/// |---------------------|------------------------------|------------------------------|
/// | `FullCone`          | endpoint-independent         | endpoint-independent (none)  |
/// | `AddressRestricted` | endpoint-independent         | address-dependent            |
/// | `PortRestricted`    | endpoint-independent         | address-and-port-dependent   |
/// | `Symmetric`         | address-and-port-dependent   | address-and-port-dependent   |
///
/// An endpoint-independent mapping reuses one public port for every destination an
/// internal address talks to; a symmetric NAT allocates a new one per destination
/// address and port, which is what defeats ICE without TURN.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NatKind {
    /// Any outside address may send to a mapped port.
    FullCone,
    /// Only IP addresses the inside host has sent to (any port) may send back.
    AddressRestricted,
    /// Only the exact addresses and ports the inside host has sent to may send back.
    PortRestricted,
    /// A mapping per destination; only that destination may send back on it.
    Symmetric,
}

/// A NAT: one public address shared by the hosts behind it.
///
/// ```
/// use std::time::Duration;
/// use sansrtc::sim::{NatConfig, NatKind};
/// let cgnat = NatConfig {
///     mapping_timeout: Some(Duration::from_secs(30)),
///     ..NatConfig::new(NatKind::Symmetric, "100.64.0.1".parse().unwrap())
/// };
/// assert!(!cgnat.hairpinning);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatConfig {
    /// Mapping and filtering behaviour.
    pub kind: NatKind,
    /// The address the NAT translates to. It only translates packets of this address
    /// family; the hosts behind it reach the outside over the other family directly, as
    /// behind a NAT44 router that routes IPv6 natively.
    pub public_ip: IpAddr,
    /// The NAT this one sits behind (carrier-grade NAT), or `None` for the public network.
    pub behind: Option<NatId>,
    /// Whether an inside host may reach another inside host through the public address
    /// (RFC 4787 §6). The hairpinned packet is translated out and then in again, so it is
    /// filtered like any outside packet and shows the sender's public address. Off by
    /// default, since many home routers do not support it; without it such packets are
    /// dropped and counted as unroutable.
    pub hairpinning: bool,
    /// Idle time after which a mapping (and its filter state) is forgotten. Only outbound
    /// packets refresh it (RFC 4787 REQ-6). `None` keeps mappings forever.
    pub mapping_timeout: Option<Duration>,
    /// Public ports the NAT allocates from, picked at random from the simulation seed.
    pub ports: RangeInclusive<u16>,
}

impl NatConfig {
    /// A NAT of `kind` on `public_ip` on the public network, without hairpinning or
    /// mapping timeout, allocating ports 1024–65535.
    pub fn new(kind: NatKind, public_ip: IpAddr) -> Self {
        NatConfig {
            kind,
            public_ip,
            behind: None,
            hairpinning: false,
            mapping_timeout: None,
            ports: 1024..=65535,
        }
    }
}

/// What identifies a mapping: the inside address, plus the remote for a symmetric NAT.
type MapKey = (Protocol, SocketAddr, Option<SocketAddr>);

#[derive(Debug)]
struct Mapping {
    key: MapKey,
    /// Remote addresses the inside host has sent to through this mapping.
    contacted: BTreeSet<SocketAddr>,
    last_outbound: Instant,
}

/// A NAT in use: its configuration and its mapping table.
#[derive(Debug)]
pub(crate) struct Nat {
    pub config: NatConfig,
    rng: Rng,
    by_port: BTreeMap<(Protocol, u16), Mapping>,
    by_key: BTreeMap<MapKey, u16>,
}

impl Nat {
    pub fn new(config: NatConfig, rng: Rng) -> Self {
        Nat {
            config,
            rng,
            by_port: BTreeMap::new(),
            by_key: BTreeMap::new(),
        }
    }

    /// Translate an outbound packet's source, creating or refreshing its mapping. `None`
    /// when every port is taken.
    pub fn outbound(
        &mut self,
        now: Instant,
        protocol: Protocol,
        internal: SocketAddr,
        remote: SocketAddr,
    ) -> Option<SocketAddr> {
        let key = (
            protocol,
            internal,
            (self.config.kind == NatKind::Symmetric).then_some(remote),
        );
        let port = match self.by_key.get(&key).copied() {
            Some(port) if !self.expired(protocol, port, now) => port,
            stale => {
                if let Some(port) = stale {
                    self.remove(protocol, port);
                }
                let port = self.allocate(protocol)?;
                let mapping = Mapping {
                    key,
                    contacted: BTreeSet::new(),
                    last_outbound: now,
                };
                self.by_port.insert((protocol, port), mapping);
                self.by_key.insert(key, port);
                port
            }
        };
        let mapping = self.by_port.get_mut(&(protocol, port))?;
        mapping.last_outbound = now;
        mapping.contacted.insert(remote);
        Some(SocketAddr::new(self.config.public_ip, port))
    }

    /// The inside address an inbound packet from `remote` to public `port` goes to, or
    /// `None` when there is no live mapping or the filter refuses it.
    pub fn inbound(
        &mut self,
        now: Instant,
        protocol: Protocol,
        remote: SocketAddr,
        port: u16,
    ) -> Option<SocketAddr> {
        if self.expired(protocol, port, now) {
            self.remove(protocol, port);
            return None;
        }
        let mapping = self.by_port.get(&(protocol, port))?;
        let allowed = match self.config.kind {
            NatKind::FullCone => true,
            NatKind::AddressRestricted => mapping.contacted.iter().any(|a| a.ip() == remote.ip()),
            NatKind::PortRestricted | NatKind::Symmetric => mapping.contacted.contains(&remote),
        };
        allowed.then_some(mapping.key.1)
    }

    fn expired(&self, protocol: Protocol, port: u16, now: Instant) -> bool {
        match (
            self.config.mapping_timeout,
            self.by_port.get(&(protocol, port)),
        ) {
            (Some(timeout), Some(m)) => now.saturating_duration_since(m.last_outbound) >= timeout,
            _ => false,
        }
    }

    fn remove(&mut self, protocol: Protocol, port: u16) {
        if let Some(m) = self.by_port.remove(&(protocol, port)) {
            self.by_key.remove(&m.key);
        }
    }

    fn allocate(&mut self, protocol: Protocol) -> Option<u16> {
        let (lo, hi) = (*self.config.ports.start(), *self.config.ports.end());
        if lo > hi {
            return None;
        }
        let span = u64::from(hi - lo) + 1;
        let first = self.rng.below(span);
        // A linear probe from a random start stays deterministic and terminates even
        // when the range is nearly full.
        (0..span)
            .map(|i| lo + ((first + i) % span) as u16)
            .find(|p| !self.by_port.contains_key(&(protocol, *p)))
    }
}
