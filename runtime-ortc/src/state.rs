//! What the chain's task shares with its handles: a snapshot of every layer's state
//! behind one lock, an event to wait on for changes, and the command queue.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_channel::{Receiver, Sender};
use event_listener::Event;
use sansrtc::datachannel::DataChannelState;
use sansrtc::dtls::{CipherSuite, DtlsRole};
use sansrtc::ice::{IceConnectionState, IceGatheringState};
use sansrtc::ortc::{
    DataChannelParameters, DtlsParameters, DtlsTransportState, IceCandidate, IceParameters,
    IceRole, SctpTransportState,
};

use super::Runtime;
use super::actor::Command;
use super::{ChannelEvent, Error, IceGathererOptions, Message};

/// Subscribers to one kind of event; each gets every event published after it joined.
pub(crate) struct Subscribers<T>(Vec<Sender<T>>);

impl<T: Clone> Subscribers<T> {
    pub(crate) fn subscribe(&mut self) -> Receiver<T> {
        let (tx, rx) = async_channel::unbounded();
        self.0.push(tx);
        rx
    }

    pub(crate) fn publish(&mut self, value: T) {
        self.0.retain(|s| s.try_send(value.clone()).is_ok());
    }

    /// Ends every subscriber's stream once it has read what is queued.
    pub(crate) fn close(&mut self) {
        self.0.clear();
    }
}

impl<T> Default for Subscribers<T> {
    fn default() -> Self {
        Subscribers(Vec::new())
    }
}

/// One data channel as its handles see it.
pub(crate) struct ChannelEntry {
    pub(crate) params: DataChannelParameters,
    pub(crate) id: Option<u16>,
    pub(crate) state: DataChannelState,
    pub(crate) buffered: usize,
    pub(crate) low_threshold: usize,
    pub(crate) high_water: usize,
    /// Why the channel closed without opening (its id was taken, say).
    pub(crate) error: Option<String>,
    /// The task's end of the message queue; dropped when the channel closes.
    pub(crate) inbox_tx: Option<Sender<Message>>,
    pub(crate) inbox: Receiver<Message>,
    pub(crate) events: Subscribers<ChannelEvent>,
}

impl ChannelEntry {
    pub(crate) fn new(params: DataChannelParameters, state: DataChannelState) -> Self {
        let (tx, rx) = async_channel::unbounded();
        ChannelEntry {
            id: params.id,
            params,
            state,
            buffered: 0,
            low_threshold: 0,
            high_water: super::DEFAULT_HIGH_WATER_MARK,
            error: None,
            inbox_tx: Some(tx),
            inbox: rx,
            events: Subscribers::default(),
        }
    }

    pub(crate) fn set_state(&mut self, state: DataChannelState) {
        if self.state == state {
            return;
        }
        self.state = state;
        let event = match state {
            DataChannelState::Open => ChannelEvent::Open,
            DataChannelState::Closing => ChannelEvent::Closing,
            DataChannelState::Closed => {
                self.inbox_tx = None;
                ChannelEvent::Closed
            }
            _ => return,
        };
        self.events.publish(event);
        if state == DataChannelState::Closed {
            self.events.close();
        }
    }
}

/// Every layer's state, as last reported by the task.
pub(crate) struct Snapshot {
    /// Sockets are bound and the task runs (or ran).
    pub(crate) launched: bool,
    /// The task has ended and its sockets are closed.
    pub(crate) done: bool,
    /// The socket error that ended the task.
    pub(crate) failure: Option<String>,
    pub(crate) ice_parameters: IceParameters,
    pub(crate) local_addrs: Vec<SocketAddr>,
    pub(crate) local_candidates: Vec<IceCandidate>,
    pub(crate) gathering: IceGatheringState,
    pub(crate) gathering_events: Subscribers<IceGatheringState>,
    pub(crate) ice_created: bool,
    pub(crate) ice_state: IceConnectionState,
    pub(crate) ice_events: Subscribers<IceConnectionState>,
    pub(crate) ice_role: Option<IceRole>,
    pub(crate) selected_pair: Option<(IceCandidate, IceCandidate)>,
    pub(crate) dtls_created: bool,
    pub(crate) dtls_local: Option<DtlsParameters>,
    pub(crate) dtls_state: DtlsTransportState,
    pub(crate) dtls_events: Subscribers<DtlsTransportState>,
    pub(crate) dtls_role: Option<DtlsRole>,
    pub(crate) cipher_suite: Option<CipherSuite>,
    pub(crate) sctp_port: Option<u16>,
    pub(crate) sctp_state: SctpTransportState,
    pub(crate) sctp_events: Subscribers<SctpTransportState>,
    pub(crate) channels: HashMap<u64, ChannelEntry>,
    pub(crate) next_key: u64,
    pub(crate) incoming_tx: Sender<u64>,
}

impl Snapshot {
    pub(crate) fn add_channel(&mut self, entry: ChannelEntry) -> u64 {
        let key = self.next_key;
        self.next_key += 1;
        self.channels.insert(key, entry);
        key
    }

    /// The error a call gets once the task has ended.
    pub(crate) fn closed_error(&self) -> Error {
        match &self.failure {
            Some(f) => Error::Io(std::io::Error::other(f.clone())),
            None => Error::Closed,
        }
    }
}

/// What `gather` needs to bind the sockets and start the task.
pub(crate) struct Launch {
    pub(crate) gatherer: sansrtc::ortc::IceGatherer,
    pub(crate) options: IceGathererOptions,
    pub(crate) commands: Receiver<Command>,
}

pub(crate) struct Shared {
    state: Mutex<Snapshot>,
    changed: Event,
    pub(crate) launch: Mutex<Option<Launch>>,
    pub(crate) incoming: Receiver<u64>,
}

impl Shared {
    /// State before anything is bound, and the queue commands wait in until `launch`.
    pub(crate) fn new(
        gatherer: sansrtc::ortc::IceGatherer,
        options: IceGathererOptions,
    ) -> (Arc<Self>, Sender<Command>) {
        let (commands_tx, commands) = async_channel::unbounded();
        let (incoming_tx, incoming) = async_channel::unbounded();
        let snapshot = Snapshot {
            launched: false,
            done: false,
            failure: None,
            ice_parameters: gatherer.local_parameters(),
            local_addrs: Vec::new(),
            local_candidates: Vec::new(),
            gathering: gatherer.state(),
            gathering_events: Subscribers::default(),
            ice_created: false,
            ice_state: IceConnectionState::New,
            ice_events: Subscribers::default(),
            ice_role: None,
            selected_pair: None,
            dtls_created: false,
            dtls_local: None,
            dtls_state: DtlsTransportState::New,
            dtls_events: Subscribers::default(),
            dtls_role: None,
            cipher_suite: None,
            sctp_port: None,
            sctp_state: SctpTransportState::New,
            sctp_events: Subscribers::default(),
            channels: HashMap::new(),
            next_key: 0,
            incoming_tx,
        };
        let shared = Shared {
            state: Mutex::new(snapshot),
            changed: Event::new(),
            launch: Mutex::new(Some(Launch {
                gatherer,
                options,
                commands,
            })),
            incoming,
        };
        (Arc::new(shared), commands_tx)
    }

    fn lock(&self) -> MutexGuard<'_, Snapshot> {
        // A panic elsewhere cannot leave the snapshot half-written in a way that matters
        // more than losing every handle would.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads the snapshot.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&Snapshot) -> R) -> R {
        f(&self.lock())
    }

    /// Changes the snapshot and wakes everyone waiting on it.
    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut Snapshot) -> R) -> R {
        let r = f(&mut self.lock());
        self.changed.notify(usize::MAX);
        r
    }

    /// Waits until `f` returns something, calling it after every change.
    pub(crate) async fn wait_for<R>(&self, mut f: impl FnMut(&mut Snapshot) -> Option<R>) -> R {
        loop {
            // Listen before looking, so a change in between is not missed.
            let listener = self.changed.listen();
            if let Some(r) = f(&mut self.lock()) {
                return r;
            }
            listener.await;
        }
    }
}

/// What every handle holds: the shared state and a sender of commands. The task ends
/// when the last one is dropped.
#[derive(Clone)]
pub(crate) struct Link {
    pub(crate) shared: Arc<Shared>,
    pub(crate) commands: Sender<Command>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("launched", &self.shared.read(|s| s.launched))
            .finish_non_exhaustive()
    }
}

impl Link {
    /// Queues a command that needs no answer.
    pub(crate) fn post(&self, command: Command) -> Result<(), Error> {
        self.commands
            .try_send(command)
            .map_err(|_| self.shared.read(Snapshot::closed_error))
    }

    /// Binds the sockets and starts the task (gathering), then sends `command` and waits
    /// for its answer.
    pub(crate) async fn call<R: Runtime, T>(
        &self,
        command: impl FnOnce(Sender<Result<T, Error>>) -> Command,
    ) -> Result<T, Error> {
        super::launch::<R>(self)?;
        let (tx, rx) = async_channel::bounded(1);
        self.post(command(tx))?;
        match rx.recv().await {
            Ok(result) => result,
            Err(_) => Err(self.shared.read(Snapshot::closed_error)),
        }
    }
}
