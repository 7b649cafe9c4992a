//! The engine's SCTP part: the association and its data channels, over DTLS.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{DtlsPart, IcePart};
use super::{DtlsTransportState, Event};
use crate::datachannel::{DataChannelConfig, DataChannelEvent, DataChannels};
use crate::dtls::DtlsRole;
use crate::ice::IceAgent;
use crate::io::{IDLE_TIMEOUT, Output};
use crate::sctp::{Association, SctpConfig};

/// `RTCSctpTransportState`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SctpTransportState {
    /// Not started.
    New,
    /// Started; waiting for DTLS or the association.
    Connecting,
    /// The association is up.
    Connected,
    /// Shut down, aborted or failed.
    Closed,
}

/// SCTP packets kept from before `start` (the peer's INIT and what follows it); the
/// newest are kept, as a retransmission supersedes what it repeats.
const MAX_EARLY: usize = 4;

/// What one round of the SCTP part produced.
// Returned and matched at once, never stored: boxing the event would cost an allocation
// per message to save stack.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Polled {
    /// A channel event for the application.
    Event(Event),
    /// Something happened (a packet sent, a state change queued): poll again.
    Again,
    /// Nothing more now; call again by then.
    Deadline(Instant),
}

#[derive(Debug)]
pub(crate) struct SctpPart {
    /// Whether the engine has an SCTP layer at all.
    pub(crate) enabled: bool,
    pub(crate) cfg: SctpConfig,
    pub(crate) channel_cfg: DataChannelConfig,
    /// The association and its channels: built when the first channel is created or at
    /// `start`, whichever comes first; told the DTLS role when it is known.
    pub(crate) channels: Option<DataChannels>,
    /// `start` was called: the association runs.
    pub(crate) started: bool,
    pub(crate) state: SctpTransportState,
    connect_sent: bool,
    /// SCTP packets that arrived before `start`.
    early: VecDeque<Bytes>,
}

impl SctpPart {
    pub(crate) fn new(port: Option<u16>, ice: &IcePart) -> Self {
        SctpPart {
            enabled: port.is_some(),
            cfg: SctpConfig {
                local_port: port.unwrap_or(5000),
                seed: ice.derived_seed(2),
                ..SctpConfig::default()
            },
            channel_cfg: DataChannelConfig::default(),
            channels: None,
            started: false,
            state: SctpTransportState::New,
            connect_sent: false,
            early: VecDeque::new(),
        }
    }

    pub(crate) fn set_state(&mut self, s: SctpTransportState, events: &mut VecDeque<Event>) {
        if self.state != s {
            self.state = s;
            events.push_back(Event::SctpStateChange(s));
        }
    }

    /// The channels, built on first use with the configuration as it is then; `role`,
    /// once the DTLS role is known, picks the channel id parity (RFC 8832 §6).
    pub(crate) fn channels(&mut self, role: Option<DtlsRole>, now: Instant) -> &mut DataChannels {
        let (cfg, channel_cfg) = (&self.cfg, &self.channel_cfg);
        let channels = self.channels.get_or_insert_with(|| {
            DataChannels::with_config(
                Association::new(cfg.clone(), now),
                role,
                channel_cfg.clone(),
            )
        });
        if let Some(role) = role {
            channels.set_role(role);
        }
        channels
    }

    /// The DTLS role is known: channels created before get their stream ids.
    pub(crate) fn on_role(&mut self, role: DtlsRole) {
        if let Some(c) = &mut self.channels {
            c.set_role(role);
        }
    }

    /// Start the association with the peer's port and message size, and open it if DTLS
    /// is already up. Channels created before open with it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn start(
        &mut self,
        role: Option<DtlsRole>,
        remote_port: u16,
        peer_max_message_size: Option<usize>,
        now: Instant,
        dtls_writable: bool,
        ice: &IceAgent,
        events: &mut VecDeque<Event>,
    ) {
        let early = std::mem::take(&mut self.early);
        let channels = self.channels(role, now);
        let assoc = channels.association_mut();
        assoc.set_remote_port(remote_port);
        assoc.set_peer_max_message_size(peer_max_message_size);
        for p in early {
            channels.handle_packet(now, p);
        }
        self.started = true;
        self.set_state(SctpTransportState::Connecting, events);
        if dtls_writable {
            self.connect(now, ice);
        }
    }

    /// DTLS can carry data before its handshake completes (the client's False Start):
    /// the INIT goes out with the client's last flight, a round trip sooner.
    pub(crate) fn on_dtls_writable(&mut self, now: Instant, ice: &IceAgent) {
        self.connect(now, ice);
    }

    /// Open the association once DTLS can carry it; its first timer starts from the ICE RTT.
    fn connect(&mut self, now: Instant, ice: &IceAgent) {
        let Some(c) = &mut self.channels else {
            return;
        };
        if self.connect_sent || !self.started {
            return;
        }
        if let Some(rtt) = ice.selected_rtt() {
            c.association_mut()
                .set_initial_rto(rtt * 2 + Duration::from_millis(10));
        }
        c.association_mut().connect(now);
        self.connect_sent = true;
    }

    /// End the association (SCTP ABORT), so channels report `closed` and sends fail
    /// instead of vanishing.
    pub(crate) fn abort(&mut self, reason: &str, events: &mut VecDeque<Event>) {
        if let Some(c) = &mut self.channels {
            c.association_mut().abort(reason);
        }
        if self.state != SctpTransportState::New {
            self.set_state(SctpTransportState::Closed, events);
        }
    }

    pub(crate) fn on_dtls_state(
        &mut self,
        s: DtlsTransportState,
        now: Instant,
        ice: &IceAgent,
        events: &mut VecDeque<Event>,
    ) {
        match s {
            DtlsTransportState::Connected => self.connect(now, ice),
            // Nothing can reach the peer any more.
            DtlsTransportState::Closed | DtlsTransportState::Failed => {
                self.abort("DTLS transport closed", events);
            }
            _ => {}
        }
    }

    /// Application data from DTLS.
    pub(crate) fn handle_data(&mut self, now: Instant, p: Bytes, events: &mut VecDeque<Event>) {
        match &mut self.channels {
            Some(c) if self.started => c.handle_packet(now, p),
            _ if !self.enabled => events.push_back(Event::DtlsData(p)),
            _ => {
                if self.early.len() == MAX_EARLY {
                    self.early.pop_front();
                }
                self.early.push_back(p);
            }
        }
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if let Some(c) = &mut self.channels
            && self.started
        {
            c.handle_timeout(now);
        }
    }

    /// One round of the channels' output. State changes it causes are queued in
    /// `events`; a channel event comes back directly, as it is the common case (one per
    /// message).
    pub(crate) fn poll(
        &mut self,
        now: Instant,
        dtls: &mut DtlsPart,
        events: &mut VecDeque<Event>,
    ) -> Polled {
        let Some(c) = self.channels.as_mut() else {
            return Polled::Deadline(now + IDLE_TIMEOUT);
        };
        let out = c.poll_output();
        let established = c.association().is_established();
        match out {
            Output::Transmit(p) => {
                // Control packets built before DTLS was up, or by the owned-packet path.
                match &mut dtls.session {
                    Some(d) => {
                        if let Err(e) = d.send(&p) {
                            tracing::debug!(error = %e, "SCTP packet not sent");
                        }
                    }
                    None => tracing::debug!("SCTP packet before DTLS: dropped"),
                }
                Polled::Again
            }
            Output::Event(e) => {
                if established && self.state == SctpTransportState::Connecting {
                    self.set_state(SctpTransportState::Connected, events);
                }
                if let DataChannelEvent::AssociationClosed { .. } = &e {
                    self.set_state(SctpTransportState::Closed, events);
                }
                if events.is_empty() {
                    Polled::Event(Event::DataChannel(e))
                } else {
                    // A state change comes first.
                    events.push_back(Event::DataChannel(e));
                    Polled::Again
                }
            }
            Output::Timeout(t) => {
                if established && self.state == SctpTransportState::Connecting {
                    self.set_state(SctpTransportState::Connected, events);
                    return Polled::Again;
                }
                Polled::Deadline(t)
            }
        }
    }
}
