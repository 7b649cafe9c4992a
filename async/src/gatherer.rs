//! `RTCIceGatherer`: binding the sockets, gathering, and launching the chain's task.

use super::*;

/// How an [`IceGatherer`] binds and gathers.
#[derive(Debug, Clone, Default)]
pub struct IceGathererOptions {
    /// Addresses to bind one UDP socket each (port 0: a free port). Empty: every
    /// interface address that `interface_filter` selects, IPv4 and IPv6.
    pub addresses: Vec<SocketAddr>,
    /// Port for every interface address when `addresses` is empty (0: a free port each).
    pub port: u16,
    /// Which interface addresses to bind when `addresses` is empty.
    pub interface_filter: InterfaceFilter,
    /// STUN servers to learn server-reflexive candidates from.
    pub stun_servers: Vec<SocketAddr>,
    /// Seed for ICE credentials and tie-breaker, and for the DTLS and SCTP layers above;
    /// random when `None` (set it only for reproducible tests).
    pub seed: Option<u64>,
    /// Run as an ICE-lite agent.
    pub lite: bool,
    /// Pacing of connectivity checks (RFC 8445 §14.2, Ta); `None` keeps core's default.
    pub ta: Option<Duration>,
}

impl IceGathererOptions {
    /// Bind exactly these addresses (no interface enumeration).
    pub fn bind(addresses: impl IntoIterator<Item = SocketAddr>) -> Self {
        IceGathererOptions {
            addresses: addresses.into_iter().collect(),
            ..Default::default()
        }
    }
}

/// A seed for the layers' random choices (credentials, tags, DTLS randoms). Core's
/// default seed is fixed, for reproducible simulations; on a network every chain needs
/// its own.
fn random_seed() -> u64 {
    let mut b = [0u8; 8];
    if sansrtc::crypto::default_provider()
        .fill_random(&mut b)
        .is_err()
    {
        use std::hash::{BuildHasher, RandomState};
        return RandomState::new().hash_one(std::time::SystemTime::now());
    }
    u64::from_le_bytes(b)
}

/// Binds the sockets, gathers host candidates and starts the chain's task, once.
pub(crate) fn launch<R: Runtime>(link: &Link) -> Result<(), Error> {
    let shared = &link.shared;
    let mut s = shared.lock();
    let Some(options) = s.launch.take() else {
        return Ok(());
    };
    if let Some(hub) = s.socket.as_ref().map(crate::mux::SocketRef::hub) {
        // On a shared socket: nothing to bind, the socket's task drives it.
        if let Err(e) = crate::mux::join(&mut s, shared, &hub) {
            s.launch = Some(options);
            return Err(e);
        }
        s.launched = true;
        drop(s);
        shared.notify();
        return Ok(());
    }
    let chain = Chain::new(shared.clone());
    let bound = if options.addresses.is_empty() {
        UdpDriver::<R, Chain>::bind_interfaces(chain, options.port, options.interface_filter)
    } else {
        UdpDriver::<R, Chain>::bind(chain, &options.addresses)
    };
    let gathered = bound.map_err(Error::from).and_then(|driver| {
        s.engine.ice_gatherer_mut().gather(driver.local_addrs())?;
        Ok(driver)
    });
    let driver = match gathered {
        Ok(d) => d,
        Err(e) => {
            s.launch = Some(options);
            return Err(e);
        }
    };
    s.launched = true;
    s.local_addrs = driver.local_addrs().to_vec();
    drop(s);
    shared.notify();
    R::spawn(crate::chain::run::<R>(driver, shared.clone()));
    Ok(())
}

impl Link {
    /// Resolves once gathering is complete (or fails if the chain ended first).
    pub(crate) async fn gathered(&self) -> Result<(), Error> {
        self.shared
            .wait_for(|s| match s.engine.ice_gatherer().state() {
                IceGatheringState::Complete => Some(Ok(())),
                _ if s.done => Some(Err(s.closed_error())),
                _ => None,
            })
            .await
    }

    /// Stops everything and waits until the sockets are closed.
    pub(crate) async fn shutdown(&self) {
        {
            let mut s = self.lock();
            if s.launch.take().is_some() {
                // Nothing runs: the chain ends here, and can never launch.
                s.finish();
            } else {
                s.stop_requested = true;
                s.wake();
            }
        }
        self.shared.notify();
        self.shared.wait_for(|s| s.done.then_some(())).await;
    }

    /// Launches the task if it is not running yet, then calls `f` on the state unless
    /// the task has ended, and wakes the task to send what `f` produced.
    pub(crate) fn act<R: Runtime, T>(
        &self,
        f: impl FnOnce(&mut State) -> Result<T, Error>,
    ) -> Result<T, Error> {
        launch::<R>(self)?;
        let r = {
            let mut s = self.lock();
            s.running()?;
            let r = f(&mut s);
            s.wake();
            r
        };
        self.shared.notify();
        r
    }
}

/// `RTCIceGatherer`: binds the UDP sockets and gathers local candidates.
///
/// Clones are handles to the same gatherer.
#[derive(Debug, Clone)]
pub struct IceGatherer<R> {
    pub(crate) link: Link,
    pub(crate) runtime: PhantomData<fn() -> R>,
}

impl<R: Runtime> IceGatherer<R> {
    /// A gatherer with fresh credentials; nothing is bound until
    /// [`gather`](IceGatherer::gather).
    pub fn new(options: IceGathererOptions) -> Self {
        let seed = options.seed.unwrap_or_else(random_seed);
        // The engine starts without certificates: the DTLS handle brings them.
        let core = sansrtc::engine::Engine::new(
            sansrtc::engine::EngineConfig {
                ice: sansrtc::ortc::IceGathererConfig {
                    seed: Some(seed),
                    stun_servers: options.stun_servers.clone(),
                    lite: options.lite,
                    ta: options.ta,
                    ..Default::default()
                },
                ..Default::default()
            },
            R::now(),
        );
        IceGatherer {
            link: Link::new(Shared::new(core, options, R::now)),
            runtime: PhantomData,
        }
    }

    /// A gatherer whose chain runs on `socket` instead of binding sockets of its own:
    /// many chains, one port, one task; see [`SharedSocket`]. Its host candidates are
    /// the socket's addresses, so `options.addresses`, `port` and `interface_filter`
    /// are not used; the STUN servers, seed, ICE-lite and pacing are. The chain joins
    /// the socket when it gathers (or at the first call that needs the network), and
    /// leaves it when it stops or its last handle is dropped; until then it keeps the
    /// socket open.
    ///
    /// ```
    /// use sansrtc_async::{Error, IceGatherer, IceGathererOptions, Runtime, SharedSocket};
    ///
    /// async fn lite_chain<R: Runtime>(server: &SharedSocket<R>) -> Result<IceGatherer<R>, Error> {
    ///     let options = IceGathererOptions { lite: true, ..Default::default() };
    ///     let gatherer = IceGatherer::on(server, options);
    ///     gatherer.gather().await?;
    ///     assert_eq!(gatherer.local_addresses(), server.local_addrs());
    ///     Ok(gatherer)
    /// }
    /// ```
    pub fn on(socket: &SharedSocket<R>, options: IceGathererOptions) -> Self {
        let gatherer = Self::new(options);
        gatherer.link.lock().socket = Some(socket.socket().clone());
        gatherer
    }

    /// `gather()`: binds the sockets and resolves once gathering is complete (host
    /// candidates at once; server-reflexive ones when every STUN server has answered or
    /// timed out). Calling it again waits for the same gathering.
    pub async fn gather(&self) -> Result<(), Error> {
        launch::<R>(&self.link)?;
        self.link.gathered().await
    }

    /// `getLocalParameters()`: available before gathering.
    pub fn local_parameters(&self) -> IceParameters {
        self.link.lock().engine.ice_gatherer().local_parameters()
    }

    /// `getLocalCandidates()`: what has been gathered so far.
    pub fn local_candidates(&self) -> Vec<IceCandidate> {
        self.link.lock().engine.ice_gatherer().local_candidates()
    }

    /// The addresses the sockets are bound to (empty before gathering).
    pub fn local_addresses(&self) -> Vec<SocketAddr> {
        self.link.lock().local_addrs.clone()
    }

    /// `state`.
    pub fn state(&self) -> IceGatheringState {
        self.link.lock().engine.ice_gatherer().state()
    }

    /// `onstatechange`: gathering states from now on.
    pub fn state_changes(&self) -> Events<IceGatheringState> {
        let rx = self.link.lock().gathering_events.subscribe();
        Events::new(rx, &self.link)
    }

    /// Stops the whole chain and closes the sockets; see [`IceTransport::stop`].
    pub async fn stop(&self) {
        self.link.shutdown().await;
    }
}
