//! [`SharedSocket`]: many ORTC chains on one UDP socket (one port), driven by one task.
//!
//! The task owns a [`UdpDriver`] over core's [`Mux`], whose connections are [`Member`]s:
//! each stands for one chain's shared [`State`] as a [`Chain`] does for a chain with
//! sockets of its own. Handles reach the task through the [`Hub`]: a chain that launches
//! queues itself to join, a handle that changes a chain queues the chain's key (once
//! until the task turns it), and a chain that stopped queues its key to leave. Each
//! turn of the task takes those queues and touches only the chains named there, so a
//! turn costs what was woken, not the number of chains.
//!
//! Lock order: a chain's state, then the hub's queue; the task never holds the queue
//! while it locks a chain, and nothing that can finish a chain (dropping a [`Member`]
//! or a [`SocketRef`]'s last user) runs under the queue's lock.

use std::collections::HashMap;
use std::future::poll_fn;
use std::io;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Waker};
use std::time::Instant;

use futures_lite::future;
use sansrtc::io::{Endpoint, IDLE_TIMEOUT, Input, Output};
use sansrtc::mux::{ConnectionId, Demuxed, Mux, MuxStats};

use crate::chain::{Chain, Never};
use crate::state::{Shared, State};
use crate::{Error, IceGatherer, IceGathererOptions, InterfaceFilter, Runtime, UdpDriver};

/// One UDP socket (or one per address of an interface set) that any number of ORTC
/// chains share, and the one task that drives them all: a server takes thousands of
/// peers on one port.
///
/// Make each chain's gatherer with [`IceGatherer::on`] (or
/// [`gatherer`](SharedSocket::gatherer)); everything above it —
/// [`IceTransport`](crate::IceTransport), [`DtlsTransport`](crate::DtlsTransport),
/// [`SctpTransport`](crate::SctpTransport), [`DataChannel`](crate::DataChannel) — is
/// made and used exactly as over sockets of the chain's own. The chain's local
/// candidates are this socket's addresses (host candidates, plus server-reflexive ones
/// if its options name STUN servers), and it joins the socket when it gathers.
///
/// Core's [`Mux`] routes each datagram to its chain: a first check by the local ICE
/// ufrag in its USERNAME, then by the path ICE verified, and STUN answers by their
/// transaction; datagrams from anyone else are dropped and counted in
/// [`stats`](SharedSocket::stats). A chain's ufrag is fixed for its life (the async
/// handles offer no ICE restart), so the mux routes by the ufrag it joined with.
///
/// - **Stopping a chain** ([`IceTransport::stop`](crate::IceTransport::stop), or dropping
///   every handle of it) stops its layers as on a socket of its own — the peer hears
///   SCTP ABORT and DTLS close_notify — and takes it off the socket with its ufrag and
///   paths; the socket and the other chains go on.
/// - **The socket** stays open while anything uses it: a clone of this handle, or a
///   gatherer made on it (launched or not) until its chain stops. When the last goes,
///   the task ends and the socket closes. There is no call that closes it under running
///   chains: stop them.
/// - **If the socket breaks**, every chain on it ends with the error
///   ([`Error::Io`]), as a chain whose own socket broke.
///
/// Clones are handles to the same socket.
///
/// Written for any runtime here; `sansrtc_tokio::ortc` names it `SharedSocket` for tokio
/// and shows two peers on one server socket end to end.
///
/// ```
/// use sansrtc_async::{Error, IceGatherer, IceGathererOptions, IceTransport, Runtime, SharedSocket};
///
/// /// A server chain for the next peer, on the server's one port.
/// async fn accept<R: Runtime>(server: &SharedSocket<R>) -> Result<IceTransport<R>, Error> {
///     let gatherer = IceGatherer::on(server, IceGathererOptions::default());
///     gatherer.gather().await?;
///     // Its host candidates are the shared socket's addresses.
///     assert_eq!(gatherer.local_addresses(), server.local_addrs());
///     // DtlsTransport, SctpTransport and channels above it as usual.
///     Ok(IceTransport::new(&gatherer))
/// }
/// ```
pub struct SharedSocket<R> {
    socket: SocketRef,
    runtime: PhantomData<fn() -> R>,
}

impl<R> Clone for SharedSocket<R> {
    fn clone(&self) -> Self {
        SharedSocket {
            socket: self.socket.clone(),
            runtime: PhantomData,
        }
    }
}

impl<R> std::fmt::Debug for SharedSocket<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedSocket")
            .field("local_addrs", &self.socket.0.local_addrs)
            .field(
                "chains",
                &self.socket.0.counters.chains.load(Ordering::Relaxed),
            )
            .finish_non_exhaustive()
    }
}

impl<R: Runtime> SharedSocket<R> {
    /// Binds one socket per address (port 0: a free port) and starts the task. IPv6
    /// sockets are IPv6-only, as [`UdpDriver::bind`]'s.
    ///
    /// # Panics
    ///
    /// Where the runtime's reactor is not available (outside a tokio runtime, for tokio).
    pub fn bind(addresses: &[SocketAddr]) -> Result<Self, Error> {
        Self::start(|hosted| UdpDriver::bind(hosted, addresses))
    }

    /// Binds the interface addresses `filter` selects on `port` (0: a free port each),
    /// as [`IceGathererOptions`] with no addresses does, and starts the task.
    ///
    /// # Panics
    ///
    /// Where the runtime's reactor is not available.
    pub fn bind_interfaces(port: u16, filter: InterfaceFilter) -> Result<Self, Error> {
        Self::start(|hosted| UdpDriver::bind_interfaces(hosted, port, filter))
    }

    fn start(bind: impl FnOnce(Hosted) -> io::Result<UdpDriver<R, Hosted>>) -> Result<Self, Error> {
        let counters = Arc::new(Counters::default());
        let driver = bind(Hosted {
            mux: Mux::new(R::now()),
            counters: counters.clone(),
        })?;
        let hub = Arc::new(Hub {
            queue: Mutex::new(Queue::default()),
            users: AtomicUsize::new(0),
            next_key: AtomicU64::new(0),
            local_addrs: driver.local_addrs().to_vec(),
            counters,
        });
        let socket = SocketRef::new(hub.clone());
        R::spawn(run::<R>(driver, hub));
        Ok(SharedSocket {
            socket,
            runtime: PhantomData,
        })
    }

    /// A gatherer whose chain runs on this socket: [`IceGatherer::on`].
    pub fn gatherer(&self, options: IceGathererOptions) -> IceGatherer<R> {
        IceGatherer::on(self, options)
    }

    /// The addresses the socket is bound to, ports resolved: every chain's host
    /// candidates.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.socket.0.local_addrs
    }

    /// The mux's counters: datagrams routed (by path, ufrag or transaction), paths
    /// learned, and datagrams from no known peer, which were dropped
    /// ([`MuxStats::unknown_source`]). Published after each batch of datagrams is
    /// routed, so a chain may act on a datagram a moment before it is counted here.
    pub fn stats(&self) -> MuxStats {
        self.socket.0.counters.read()
    }

    /// How many chains are on the socket: joined (gathered) and not yet stopped.
    pub fn chains(&self) -> usize {
        self.socket.0.counters.chains.load(Ordering::Acquire)
    }

    pub(crate) fn socket(&self) -> &SocketRef {
        &self.socket
    }
}

/// The mux's counters and the number of chains, as the task last published them, for
/// [`SharedSocket::stats`] without a round trip through the task.
#[derive(Debug, Default)]
struct Counters {
    routed_by_path: AtomicU64,
    routed_by_ufrag: AtomicU64,
    paths_learned: AtomicU64,
    routed_by_transaction: AtomicU64,
    unknown_source: AtomicU64,
    chains: AtomicUsize,
}

impl Counters {
    fn publish(&self, s: MuxStats) {
        let o = Ordering::Relaxed;
        self.routed_by_path.store(s.routed_by_path, o);
        self.routed_by_ufrag.store(s.routed_by_ufrag, o);
        self.paths_learned.store(s.paths_learned, o);
        self.routed_by_transaction.store(s.routed_by_transaction, o);
        // Last, with release: whoever sees it sees the others as new at least.
        self.unknown_source
            .store(s.unknown_source, Ordering::Release);
    }

    fn read(&self) -> MuxStats {
        let unknown_source = self.unknown_source.load(Ordering::Acquire);
        let o = Ordering::Relaxed;
        MuxStats {
            routed_by_path: self.routed_by_path.load(o),
            routed_by_ufrag: self.routed_by_ufrag.load(o),
            paths_learned: self.paths_learned.load(o),
            routed_by_transaction: self.routed_by_transaction.load(o),
            unknown_source,
        }
    }
}

/// What the handles share with the socket's task.
pub(crate) struct Hub {
    queue: Mutex<Queue>,
    /// Live [`SocketRef`]s: when the last goes, the task ends.
    users: AtomicUsize,
    next_key: AtomicU64,
    local_addrs: Vec<SocketAddr>,
    counters: Arc<Counters>,
}

/// Why the task ended.
enum Ended {
    /// A socket broke.
    Failed(String),
    /// Nothing used it any more (or the task panicked).
    Gone,
}

/// What the handles ask of the task, taken whole on each of its turns.
#[derive(Default)]
struct Queue {
    /// Chains that launched, to insert into the mux.
    joins: Vec<Member>,
    /// Keys of chains a handle changed since the task last turned them.
    woken: Vec<u64>,
    /// Keys of chains that stopped every layer, to take off the socket.
    left: Vec<u64>,
    task: Option<Waker>,
    /// Set once the task has ended: no chain joins after.
    ended: Option<Ended>,
}

impl Queue {
    fn pending(&self) -> bool {
        !(self.joins.is_empty() && self.woken.is_empty() && self.left.is_empty())
    }

    /// The error a chain gets when it tries to join after the task ended.
    fn ended_error(&self) -> Result<(), Error> {
        match &self.ended {
            None => Ok(()),
            Some(Ended::Failed(e)) => Err(Error::Io(io::Error::other(e.clone()))),
            Some(Ended::Gone) => Err(Error::Closed),
        }
    }
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // The queue holds no invariant a panic elsewhere could break halfway.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes the queue and wakes the task (outside the lock).
    fn notify(&self, f: impl FnOnce(&mut Queue)) {
        let waker = {
            let mut q = self.lock();
            f(&mut q);
            q.task.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Resolves when the queue holds something or nothing uses the socket any more.
    async fn wait(&self) {
        poll_fn(|cx| {
            let mut q = self.lock();
            if q.pending() || self.users.load(Ordering::Acquire) == 0 {
                return Poll::Ready(());
            }
            match &q.task {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => q.task = Some(cx.waker().clone()),
            }
            Poll::Pending
        })
        .await
    }
}

/// A counted use of a shared socket: by a [`SharedSocket`] handle, or by a chain made
/// on it until the chain finishes. The task ends when the last is dropped.
pub(crate) struct SocketRef(Arc<Hub>);

impl SocketRef {
    fn new(hub: Arc<Hub>) -> Self {
        hub.users.fetch_add(1, Ordering::AcqRel);
        SocketRef(hub)
    }

    /// Queues chain `key` for the task to turn.
    pub(crate) fn wake_chain(&self, key: u64) {
        self.0.notify(|q| q.woken.push(key));
    }

    pub(crate) fn hub(&self) -> Arc<Hub> {
        self.0.clone()
    }
}

impl Clone for SocketRef {
    fn clone(&self) -> Self {
        SocketRef::new(self.0.clone())
    }
}

impl Drop for SocketRef {
    fn drop(&mut self) {
        if self.0.users.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.notify(|_| {});
        }
    }
}

impl std::fmt::Debug for SocketRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SocketRef")
            .field(&self.0.local_addrs)
            .finish()
    }
}

/// Joins the launching chain (locked as `s`) to its socket: gathers on the socket's
/// addresses and queues the chain for the task to insert.
pub(crate) fn join(s: &mut State, shared: &Arc<Shared>, hub: &Arc<Hub>) -> Result<(), Error> {
    hub.lock().ended_error()?;
    s.engine.ice_gatherer_mut().gather(&hub.local_addrs)?;
    let key = hub.next_key.fetch_add(1, Ordering::Relaxed);
    let waker = {
        let mut q = hub.lock();
        // Checked again under the lock the task ends under, and before the member
        // exists: dropping a member finishes its chain, whose lock the caller holds.
        q.ended_error()?;
        q.joins.push(Member {
            chain: Chain::new(shared.clone()),
            key,
            // The async layer has no ICE restart, so a chain keeps its ufrag for life
            // (and the mux forgets a chain by the ufrag it was inserted with).
            ufrag: s.engine.local_ufrag().to_owned(),
            hub: hub.clone(),
            ready: None,
            left: false,
            now: s.engine.now(),
            failure: None,
        });
        q.task.take()
    };
    s.joined(key);
    s.local_addrs = hub.local_addrs.clone();
    if let Some(w) = waker {
        w.wake();
    }
    Ok(())
}

/// One chain as a connection of the mux: its [`Chain`] (the queued inputs and
/// transmits of its turns) plus what the mux asks of a connection.
pub(crate) struct Member {
    chain: Chain,
    key: u64,
    /// The chain's local ufrag, cached: the mux asks for a `&str` and the engine is
    /// behind the state's lock.
    ufrag: String,
    hub: Arc<Hub>,
    /// The deadline of a turn whose transmits are still being taken.
    ready: Option<Instant>,
    /// It stopped every layer and waits to be taken off the socket.
    left: bool,
    /// The latest time fed, for the deadline of a chain that has left.
    now: Instant,
    /// The socket error that ends it, if any.
    failure: Option<String>,
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Member")
            .field("key", &self.key)
            .field("ufrag", &self.ufrag)
            .field("left", &self.left)
            .finish_non_exhaustive()
    }
}

impl Member {
    /// A turn; returns whether the engine has verified `verify` after it. A chain that
    /// stops in it queues itself to leave.
    fn step(&mut self, verify: Option<SocketAddr>) -> bool {
        if self.left {
            return false;
        }
        let turn = self.chain.member_turn(verify);
        match turn.deadline {
            Some(at) => self.ready = Some(at),
            None => {
                self.left = true;
                self.chain.drop_inputs();
                let key = self.key;
                self.hub.notify(|q| q.left.push(key));
            }
        }
        turn.verified
    }
}

impl Endpoint for Member {
    type Event = Never;

    fn handle_input(&mut self, input: Input) {
        self.now = self.now.max(input.now());
        if !self.left {
            self.chain.push_input(input);
        }
    }

    fn poll_output(&mut self) -> Output<Never> {
        if let Some(t) = self.chain.pop_transmit() {
            return Output::Transmit(t);
        }
        if let Some(at) = self.ready.take() {
            return Output::Timeout(at);
        }
        if !self.left {
            self.step(None);
            if let Some(t) = self.chain.pop_transmit() {
                return Output::Transmit(t);
            }
            if let Some(at) = self.ready.take() {
                return Output::Timeout(at);
            }
        }
        // Left: the task takes it off the socket on its next turn.
        Output::Timeout(self.now + IDLE_TIMEOUT)
    }
}

impl Demuxed for Member {
    fn local_ufrag(&self) -> &str {
        &self.ufrag
    }

    fn verified_remote(&mut self, remote: SocketAddr) -> bool {
        // The check that may have verified it is still queued in the chain: a turn
        // feeds it (and keeps its transmits and deadline for the mux's drain after).
        self.step(Some(remote))
    }
}

impl Drop for Member {
    /// Off the socket (or the task ended): the chain is finished, as when the task of a
    /// chain with sockets of its own ends.
    fn drop(&mut self) {
        let failure = self.failure.take();
        self.chain.shared().update(|s| {
            if let Some(f) = failure {
                s.failure.get_or_insert(f);
            }
            s.finish();
        });
    }
}

/// The mux the task's driver drives, publishing its counters as datagrams arrive.
pub(crate) struct Hosted {
    mux: Mux<Member>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for Hosted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hosted")
            .field("chains", &self.mux.len())
            .finish_non_exhaustive()
    }
}

impl Endpoint for Hosted {
    type Event = Never;

    fn handle_input(&mut self, input: Input) {
        let received = matches!(input, Input::Receive(_));
        self.mux.handle_input(input);
        if received {
            self.counters.publish(self.mux.stats());
        }
    }

    fn poll_output(&mut self) -> Output<Never> {
        match self.mux.poll_output() {
            Output::Transmit(t) => Output::Transmit(t),
            Output::Timeout(at) => Output::Timeout(at),
            Output::Event((_, never)) => match never {},
        }
    }
}

/// The socket's task: takes the hub's queues each turn (chains joining, woken, leaving)
/// and drives the mux over the socket, until nothing uses the socket or it breaks.
async fn run<R: Runtime>(driver: UdpDriver<R, Hosted>, hub: Arc<Hub>) {
    // Declared first, dropped last: after the driver (and every chain in it), even if
    // a layer panics.
    let _ended = EndOnDrop(hub.clone());
    let mut driver = driver;
    let mut keys: HashMap<u64, ConnectionId> = HashMap::new();
    let failure = loop {
        let (joins, woken, left) = {
            let mut q = hub.lock();
            (
                std::mem::take(&mut q.joins),
                std::mem::take(&mut q.woken),
                std::mem::take(&mut q.left),
            )
        };
        let mux = &mut driver.endpoint_mut().mux;
        for member in joins {
            let key = member.key;
            keys.insert(key, mux.insert(member));
        }
        for key in woken {
            // Marks it to be turned on the mux's next poll; a key that already left is
            // not found.
            if let Some(&id) = keys.get(&key) {
                mux.get_mut(id);
            }
        }
        let mut gone = Vec::with_capacity(left.len());
        for key in left {
            if let Some(id) = keys.remove(&key)
                && let Some(member) = mux.remove(id)
            {
                gone.push(member);
            }
        }
        hub.counters.chains.store(mux.len(), Ordering::Release);
        // Finishes each chain that left (no lock held here).
        drop(gone);
        if hub.users.load(Ordering::Acquire) == 0 {
            break None;
        }
        let failed = future::or(
            async {
                // Events never come (chains dispatch theirs in their turns), only a
                // broken socket; `next_event` is cancel safe.
                match driver.next_event().await {
                    Ok(never) => match never {},
                    Err(e) => Some(e),
                }
            },
            async {
                hub.wait().await;
                None
            },
        )
        .await;
        if let Some(e) = failed {
            break Some(e);
        }
    };
    let Some(e) = failure else {
        return;
    };
    tracing::warn!(error = %e, "shared ORTC socket failed; every chain on it stops");
    let msg = e.to_string();
    let joins = {
        let mut q = hub.lock();
        q.ended = Some(Ended::Failed(msg.clone()));
        std::mem::take(&mut q.joins)
    };
    let mux = &mut driver.endpoint_mut().mux;
    let ids: Vec<ConnectionId> = mux.ids().collect();
    let members = ids.into_iter().filter_map(|id| mux.remove(id));
    for mut member in joins.into_iter().chain(members) {
        member.failure = Some(msg.clone());
        drop(member);
    }
}

/// Marks the socket's task ended however it ends, and finishes the chains still
/// waiting to join.
struct EndOnDrop(Arc<Hub>);

impl Drop for EndOnDrop {
    fn drop(&mut self) {
        let joins = {
            let mut q = self.0.lock();
            q.ended.get_or_insert(Ended::Gone);
            std::mem::take(&mut q.joins)
        };
        drop(joins);
        self.0.counters.chains.store(0, Ordering::Release);
    }
}
