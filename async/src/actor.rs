//! The task that owns the sockets and the chain: it serves the handles' commands and
//! turns the chain's events into the state the handles read.

use std::collections::{HashMap, VecDeque};
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use async_channel::{Receiver, Sender};
use bytes::Bytes;
use futures_lite::future;
use sansrtc::datachannel::{DataChannelEvent, DataChannelState};
use sansrtc::dtls::DtlsCertificate;
use sansrtc::ice::{IceConnectionState, IceEvent};
use sansrtc::ortc::{
    DataChannelParameters, DtlsParameters, DtlsRoleParam, DtlsTransportState, IceCandidate,
    IceParameters, IceRole, OrtcError, OrtcEvent, SctpCapabilities, SctpTransportState,
};

use super::chain::{Chain, ChainEvent};
use super::state::{ChannelEntry, Delivery, Shared};
use super::{ChannelEvent, Error, Message};
use crate::{Runtime, UdpDriver};

/// How long shutting down keeps sending, so ABORT and close_notify reach the peer.
const FLUSH: Duration = Duration::from_millis(20);

/// Messages up to this size are copied out of the datagram they arrived in; larger ones
/// were put together from fragments into their own buffer already. Above an MTU.
const COPY_UP_TO: usize = 2048;

type Reply<T> = Sender<Result<T, Error>>;

/// What a handle asks of the task.
pub(crate) enum Command {
    CreateIce,
    CreateDtls {
        certificates: Vec<DtlsCertificate>,
    },
    CreateSctp {
        port: u16,
        receive_window: u32,
    },
    DtlsSetRole {
        role: DtlsRoleParam,
        reply: Reply<()>,
    },
    IceStart {
        remote: IceParameters,
        role: IceRole,
        reply: Reply<()>,
    },
    AddRemoteCandidate {
        candidate: Option<IceCandidate>,
        reply: Reply<()>,
    },
    DtlsStart {
        remote: DtlsParameters,
        reply: Reply<()>,
    },
    /// Stop DTLS (and SCTP above it).
    DtlsStop,
    SctpStart {
        remote: SctpCapabilities,
        port: u16,
        reply: Reply<()>,
    },
    /// Graceful SCTP shutdown.
    SctpStop,
    /// Create the channel registered under this key (now, or when SCTP starts).
    CreateChannel {
        key: u64,
    },
    Send {
        key: u64,
        message: Message,
        reply: Reply<()>,
    },
    /// The channel's thresholds changed: update core, retry parked sends.
    Thresholds {
        key: u64,
    },
    CloseChannel {
        key: u64,
    },
    /// Messages were read or dropped: hand their bytes back to SCTP's window (the
    /// snapshot holds how many).
    Release,
    /// Stop everything, close the sockets, end the task.
    Shutdown,
}

/// A send waiting for the channel to open or its buffered amount to drop.
struct Parked {
    message: Message,
    reply: Reply<()>,
}

struct Actor {
    shared: Arc<Shared>,
    /// Stream id → channel key, for channels core knows.
    ids: HashMap<u16, u64>,
    /// Channels created before SCTP started, in creation order.
    unstarted: Vec<u64>,
    parked: HashMap<u64, VecDeque<Parked>>,
    sctp_started: bool,
}

enum Wake {
    Command(Option<Command>),
    Network(std::io::Result<ChainEvent>),
}

/// Runs the chain until told to stop, until every handle is gone, or until a socket
/// breaks; then stops every layer, closes the sockets and marks the state done.
pub(crate) async fn run<R: Runtime>(
    driver: UdpDriver<R, Chain>,
    commands: Receiver<Command>,
    shared: Arc<Shared>,
) {
    // Declared first, dropped last: after the sockets and the command queue (moved into
    // locals below, as parameters would outlive it), even if a layer panics.
    let _done = Done(shared.clone());
    let commands = commands;
    let mut driver = driver;
    let mut actor = Actor {
        shared,
        ids: HashMap::new(),
        unstarted: Vec::new(),
        parked: HashMap::new(),
        sctp_started: false,
    };
    loop {
        // Commands first, so a busy network cannot starve them; `next_event` is cancel
        // safe, so losing the race costs nothing.
        let wake = future::or(async { Wake::Command(commands.recv().await.ok()) }, async {
            Wake::Network(driver.next_event().await)
        })
        .await;
        match wake {
            Wake::Command(Some(Command::Shutdown) | None) => break,
            Wake::Command(Some(c)) => actor.command(driver.endpoint_mut(), c),
            Wake::Network(Ok(e)) => actor.event(driver.endpoint_mut(), e),
            Wake::Network(Err(e)) => {
                tracing::warn!(error = %e, "ORTC socket failed; the chain stops");
                actor.shared.update(|s| s.failure = Some(e.to_string()));
                return;
            }
        }
    }
    driver.endpoint_mut().stop_above_ice();
    actor.flush::<R>(&mut driver).await;
    if let Some(mut ice) = driver.endpoint_mut().ice_mut() {
        ice.stop();
    }
    actor.flush::<R>(&mut driver).await;
}

/// Marks the chain done when the task ends, however it ends.
struct Done(Arc<Shared>);

impl Drop for Done {
    fn drop(&mut self) {
        mark_done(&self.0);
    }
}

/// Every layer closed, every stream ended: the state once the task has ended (or when
/// a chain that never launched is stopped).
pub(crate) fn mark_done(shared: &Shared) {
    shared.update(|s| {
        s.done = true;
        s.launched = true;
        if s.ice_state != IceConnectionState::Closed {
            s.ice_state = IceConnectionState::Closed;
            s.ice_events.publish(IceConnectionState::Closed);
        }
        if !matches!(
            s.dtls_state,
            DtlsTransportState::New | DtlsTransportState::Failed | DtlsTransportState::Closed
        ) {
            s.dtls_state = DtlsTransportState::Closed;
            s.dtls_events.publish(DtlsTransportState::Closed);
        }
        if !matches!(
            s.sctp_state,
            SctpTransportState::New | SctpTransportState::Closed
        ) {
            s.sctp_state = SctpTransportState::Closed;
            s.sctp_events.publish(SctpTransportState::Closed);
        }
        let keys: Vec<u64> = s.channels.keys().copied().collect();
        for key in keys {
            s.close_channel(key);
        }
        s.gathering_events.close();
        s.ice_events.close();
        s.dtls_events.close();
        s.sctp_events.close();
        s.end_incoming();
    });
}

fn fail<T>(reply: &Reply<T>, e: impl Into<Error>) {
    let _ = reply.try_send(Err(e.into()));
}

impl Actor {
    /// Keeps the chain running for a moment, so what stopping queued goes out.
    async fn flush<R: Runtime>(&mut self, driver: &mut UdpDriver<R, Chain>) {
        let mut timer = pin!(R::sleep(FLUSH));
        loop {
            let next = future::or(async { Some(driver.next_event().await) }, async {
                timer.as_mut().await;
                None
            })
            .await;
            match next {
                Some(Ok(e)) => self.event(driver.endpoint_mut(), e),
                _ => return,
            }
        }
    }

    fn command(&mut self, chain: &mut Chain, command: Command) {
        match command {
            Command::CreateIce => chain.create_ice(),
            Command::CreateDtls { certificates } => {
                if let Err(e) = chain.create_dtls(certificates) {
                    tracing::warn!(error = %e, "DTLS transport not created");
                }
            }
            Command::CreateSctp {
                port,
                receive_window,
            } => chain.create_sctp(port, receive_window),
            Command::DtlsSetRole { role, reply } => {
                let result = match chain.dtls_mut() {
                    Some(mut dtls) => dtls.set_local_role(role).map_err(Error::from),
                    None => Err(OrtcError::NotStarted("create the DTLS transport first").into()),
                };
                let _ = reply.try_send(result);
            }
            Command::Release => {
                let n = self.shared.quietly(|s| s.take_release());
                chain.release_received(n);
            }
            Command::IceStart {
                remote,
                role,
                reply,
            } => {
                let result = match chain.ice_mut() {
                    Some(mut ice) => ice.start(&remote, role).map_err(Error::from),
                    None => Err(Error::from(OrtcError::NotStarted(
                        "create the ICE transport first",
                    ))),
                };
                if result.is_ok() {
                    self.shared.update(|s| s.ice_role = Some(role));
                }
                let _ = reply.try_send(result);
            }
            Command::AddRemoteCandidate { candidate, reply } => {
                let result = match chain.ice_mut() {
                    Some(mut ice) => ice
                        .add_remote_candidate(candidate.as_ref())
                        .map_err(Error::from),
                    None => Err(Error::from(OrtcError::NotStarted(
                        "create the ICE transport first",
                    ))),
                };
                let _ = reply.try_send(result);
            }
            Command::DtlsStart { remote, reply } => {
                let Some(mut dtls) = chain.dtls_mut() else {
                    return fail(
                        &reply,
                        OrtcError::NotStarted("create the DTLS transport first"),
                    );
                };
                let result = dtls.start(&remote).map_err(Error::from);
                let role = dtls.role();
                self.shared.update(|s| s.dtls_role = role);
                let _ = reply.try_send(result);
            }
            Command::DtlsStop => chain.stop_above_ice(),
            Command::SctpStart {
                remote,
                port,
                reply,
            } => {
                let Some(mut sctp) = chain.sctp_mut() else {
                    return fail(
                        &reply,
                        OrtcError::NotStarted("create the SCTP transport first"),
                    );
                };
                if let Err(e) = sctp.start(&remote, port) {
                    return fail(&reply, e);
                }
                self.sctp_started = true;
                for key in std::mem::take(&mut self.unstarted) {
                    self.create_channel(chain, key);
                }
                let _ = reply.try_send(Ok(()));
            }
            Command::SctpStop => {
                if let Some(mut sctp) = chain.sctp_mut() {
                    sctp.stop();
                }
            }
            Command::CreateChannel { key } => {
                if self.sctp_started {
                    self.create_channel(chain, key);
                } else {
                    self.unstarted.push(key);
                }
            }
            Command::Send {
                key,
                message,
                reply,
            } => {
                let state = self.shared.read(|s| s.channels.get(&key).map(|c| c.state));
                match state {
                    Some(DataChannelState::Connecting | DataChannelState::Open) => {
                        self.parked
                            .entry(key)
                            .or_default()
                            .push_back(Parked { message, reply });
                        self.flush_parked(chain, key);
                    }
                    _ => fail(&reply, Error::ChannelClosed),
                }
            }
            Command::Thresholds { key } => {
                let found = self.shared.read(|s| {
                    let c = s.channels.get(&key)?;
                    Some((c.id?, c.low_threshold))
                });
                if let (Some((id, low)), Some(mut sctp)) = (found, chain.sctp_mut()) {
                    sctp.set_buffered_amount_low_threshold(id, low);
                }
                self.flush_parked(chain, key);
            }
            Command::CloseChannel { key } => {
                if let Some(at) = self.unstarted.iter().position(|&k| k == key) {
                    self.unstarted.remove(at);
                    self.channel_closed(key);
                    return;
                }
                let id = self
                    .shared
                    .read(|s| s.channels.get(&key).and_then(|c| c.id));
                let (Some(id), Some(mut sctp)) = (id, chain.sctp_mut()) else {
                    return;
                };
                if sctp.close_channel(id).is_err() {
                    // Core no longer knows it: it is closed already.
                    self.channel_closed(key);
                }
            }
            Command::Shutdown => {}
        }
    }

    fn create_channel(&mut self, chain: &mut Chain, key: u64) {
        let Some(params) = self.shared.read(|s| {
            let c = s.channels.get(&key)?;
            // Closed before SCTP started: never created.
            (c.state != DataChannelState::Closed).then(|| c.params.clone())
        }) else {
            return;
        };
        let Some(mut sctp) = chain.sctp_mut() else {
            return;
        };
        match sctp.create_data_channel(&params) {
            Ok(id) => {
                self.ids.insert(id, key);
                let info = sctp.channel(id).cloned();
                let low = self.shared.update(|s| {
                    let c = s.channels.get_mut(&key)?;
                    c.id = Some(id);
                    if let Some(info) = info {
                        c.set_state(info.state);
                    }
                    Some(c.low_threshold)
                });
                if let Some(low) = low {
                    sctp.set_buffered_amount_low_threshold(id, low);
                }
            }
            Err(e) => {
                self.shared.update(|s| {
                    if let Some(c) = s.channels.get_mut(&key) {
                        c.error = Some(e.to_string());
                    }
                });
                self.channel_closed(key);
            }
        }
    }

    /// Sends what waits on `key` while the channel is open and below its high-water
    /// mark; fails it if the channel is closing.
    fn flush_parked(&mut self, chain: &mut Chain, key: u64) {
        let Some(queue) = self.parked.get_mut(&key) else {
            return;
        };
        // A channel that is gone was closed and forgotten: its sends fail like a
        // closed one's rather than wait for ever.
        let (id, state, high_water) = self
            .shared
            .read(|s| {
                let c = s.channels.get(&key)?;
                Some((c.id, c.state, c.high_water))
            })
            .unwrap_or((None, DataChannelState::Closed, 0));
        match (id, state) {
            (Some(id), DataChannelState::Open) => {
                while let Some(p) = queue.front() {
                    if p.reply.is_closed() {
                        // The sender gave up (its future was dropped): nothing is sent.
                        queue.pop_front();
                        continue;
                    }
                    if chain.buffered_amount(id) > high_water {
                        break;
                    }
                    let Some(p) = queue.pop_front() else { break };
                    let result = chain.send(id, p.message).map_err(Error::from);
                    if let Ok(amount) = result {
                        self.shared.update(|s| {
                            if let Some(c) = s.channels.get_mut(&key) {
                                c.buffered = amount;
                            }
                        });
                    }
                    let _ = p.reply.try_send(result.map(drop));
                }
            }
            (_, DataChannelState::Closing | DataChannelState::Closed) => {
                for p in queue.drain(..) {
                    fail(&p.reply, Error::ChannelClosed);
                }
            }
            _ => {}
        }
        if queue.is_empty() {
            self.parked.remove(&key);
        }
    }

    fn channel_closed(&mut self, key: u64) {
        if let Some(id) = self.shared.update(|s| s.close_channel(key)) {
            self.ids.remove(&id);
        }
        for p in self.parked.remove(&key).into_iter().flatten() {
            fail(&p.reply, Error::ChannelClosed);
        }
    }

    fn event(&mut self, chain: &mut Chain, event: ChainEvent) {
        let event = match event {
            ChainEvent::Buffered { id, amount } => {
                let Some(&key) = self.ids.get(&id) else {
                    return;
                };
                self.shared.update(|s| {
                    if let Some(c) = s.channels.get_mut(&key) {
                        c.buffered = amount;
                    }
                });
                return self.flush_parked(chain, key);
            }
            ChainEvent::Ortc(e) => e,
        };
        match event {
            OrtcEvent::Ice(e) => self.ice_event(chain, e),
            OrtcEvent::DtlsStateChange(state) => {
                let dtls = chain.dtls();
                let dtls = dtls.as_ref();
                let suite = dtls.and_then(|d| d.cipher_suite());
                let (version, srtp) = (
                    dtls.and_then(|d| d.version()),
                    dtls.and_then(|d| d.srtp_profile()),
                );
                let error = dtls.and_then(|d| d.error().cloned());
                self.shared.update(|s| {
                    s.dtls_state = state;
                    if state == DtlsTransportState::Connected {
                        s.cipher_suite = suite;
                        s.dtls_version = version;
                        s.srtp_profile = srtp;
                    }
                    if state == DtlsTransportState::Failed {
                        s.dtls_error = error;
                    }
                    s.dtls_events.publish(state);
                });
            }
            OrtcEvent::SctpStateChange(state) => self.shared.update(|s| {
                s.sctp_state = state;
                s.sctp_events.publish(state);
            }),
            OrtcEvent::DataChannel(e) => self.channel_event(chain, e),
            other => tracing::trace!(event = ?other, "ORTC event not handled"),
        }
    }

    fn ice_event(&mut self, chain: &mut Chain, event: IceEvent) {
        match event {
            IceEvent::ConnectionStateChange(state) => {
                let failure = chain.ice().and_then(|i| i.failure());
                self.shared.update(|s| {
                    s.ice_state = state;
                    s.ice_failure = failure;
                    s.ice_events.publish(state);
                })
            }
            IceEvent::GatheringStateChange(state) => self.shared.update(|s| {
                s.gathering = state;
                s.gathering_events.publish(state);
            }),
            IceEvent::LocalCandidate(c) => {
                let c = IceCandidate::from(&c);
                self.shared.update(|s| {
                    if !s.local_candidates.contains(&c) {
                        s.local_candidates.push(c);
                    }
                });
            }
            IceEvent::SelectedPairChange { .. } => {
                let pair = chain.ice().and_then(|i| i.selected_pair());
                self.shared.update(|s| s.selected_pair = pair);
            }
            IceEvent::RoleChange { controlling } => self.shared.update(|s| {
                s.ice_role = Some(if controlling {
                    IceRole::Controlling
                } else {
                    IceRole::Controlled
                });
            }),
            _ => {}
        }
    }

    fn channel_event(&mut self, chain: &mut Chain, event: DataChannelEvent) {
        let key = |this: &Self, id: u16| this.ids.get(&id).copied();
        match event {
            DataChannelEvent::Incoming(info) => {
                let params = DataChannelParameters {
                    label: info.label.clone(),
                    max_packet_life_time: info.max_packet_life_time,
                    max_retransmits: info.max_retransmits,
                    ordered: info.ordered,
                    protocol: info.protocol.clone(),
                    negotiated: info.negotiated,
                    id: Some(info.id),
                };
                let key = self
                    .shared
                    .update(|s| s.add_incoming(ChannelEntry::new(params, info.state)));
                self.ids.insert(info.id, key);
            }
            DataChannelEvent::Open(id) => {
                let Some(key) = key(self, id) else { return };
                self.shared.update(|s| {
                    if let Some(c) = s.channels.get_mut(&key) {
                        c.set_state(DataChannelState::Open);
                    }
                });
                self.flush_parked(chain, key);
            }
            DataChannelEvent::Message { id, data, text } => {
                // The bytes SCTP counted for it, which stay out of its receive window
                // until the application takes the message or it is dropped.
                let wire = data.len();
                let Some(key) = key(self, id) else {
                    return chain.release_received(wire);
                };
                let message = if text {
                    Message::Text(match String::from_utf8(data.to_vec()) {
                        Ok(s) => s,
                        // W3C decodes with replacement characters rather than dropping.
                        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
                    })
                } else if wire <= COPY_UP_TO {
                    // A small message is a view into the datagram (or a whole GRO batch)
                    // it came in: a copy lets that go, so what a queued message holds is
                    // its own size. (Text is copied into its string anyway.)
                    Message::Binary(Bytes::copy_from_slice(&data))
                } else {
                    Message::Binary(data)
                };
                match self.shared.quietly(|s| s.deliver(key, message, wire)) {
                    Delivery::Queued => {}
                    Delivery::Dropped => chain.release_received(wire),
                    Delivery::Overflow => {
                        tracing::debug!(id, "unread messages over their bound; channel closed");
                        chain.release_received(wire);
                        if let Some(mut sctp) = chain.sctp_mut() {
                            let _ = sctp.close_channel(id);
                        }
                    }
                }
            }
            DataChannelEvent::BufferedAmountLow(id) => {
                let Some(key) = key(self, id) else { return };
                let amount = chain.buffered_amount(id);
                self.shared.update(|s| {
                    if let Some(c) = s.channels.get_mut(&key) {
                        c.buffered = amount;
                        c.events.publish(ChannelEvent::BufferedAmountLow);
                    }
                });
                self.flush_parked(chain, key);
            }
            DataChannelEvent::Closing(id) => {
                let Some(key) = key(self, id) else { return };
                self.shared.update(|s| {
                    if let Some(c) = s.channels.get_mut(&key) {
                        c.set_state(DataChannelState::Closing);
                    }
                });
                self.flush_parked(chain, key);
            }
            DataChannelEvent::Closed(id) => {
                // By id, so the map cannot keep a stream id whose entry is gone.
                if let Some(key) = self.ids.remove(&id) {
                    self.channel_closed(key);
                }
            }
            DataChannelEvent::AssociationClosed { reason } => {
                tracing::debug!(%reason, "SCTP association closed");
                let keys: Vec<u64> = self
                    .ids
                    .values()
                    .copied()
                    .chain(std::mem::take(&mut self.unstarted))
                    .collect();
                for key in keys {
                    self.channel_closed(key);
                }
            }
            _ => {}
        }
    }
}
