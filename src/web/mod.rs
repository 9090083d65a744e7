//! The web server: `GET /health`, the audience page (`/join`), the operator's console
//! (`/console`) and OSCQuery's namespace and LISTEN socket (`/`, `oscquery/`), announced with
//! mDNS when the server listens beyond loopback (`mdns.rs`).
//! It runs on a thread of its own (`somnia-web`) with a one-thread tokio runtime, and reads
//! the show only through the bridge (the transport's counters, the health figures), so a slow
//! or hostile client can never hold up the sound or the picture.
//!
//! Safe by default: it binds 127.0.0.1 unless another address is given explicitly, and it
//! serves nothing from the file system.

pub mod audience;
pub mod console;
pub mod health;
pub mod join;
pub mod mdns;
pub mod oscquery;

use std::net::SocketAddr;
use std::sync::Arc;

use crate::bridge::{Health, Transport};

/// What a page's WebSocket heard, sorted the same way for every page.
pub(crate) enum Heard {
    Text(axum::extract::ws::Utf8Bytes),
    /// A ping or pong, or a binary frame (no page speaks binary: counted in `malformed`).
    Skip,
    /// Closed, or broken (an oversized frame among them).
    End,
}

/// Sorts what `recv` gave a page's socket; binary frames are counted in `malformed`.
pub(crate) fn heard(
    msg: Option<Result<axum::extract::ws::Message, axum::Error>>,
    malformed: &std::sync::atomic::AtomicU64,
) -> Heard {
    use axum::extract::ws::Message;
    match msg {
        Some(Ok(Message::Text(t))) => Heard::Text(t),
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Heard::Skip,
        Some(Ok(Message::Binary(_))) => {
            malformed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Heard::Skip
        }
        _ => Heard::End,
    }
}

/// Where the web server listens unless told otherwise.
pub const DEFAULT_BIND: &str = "127.0.0.1:9080";

/// How long requests in flight may take to finish once the show ends.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// What the handlers read.
#[derive(Clone)]
pub struct WebState {
    pub transport: Arc<Transport>,
    pub health: Arc<Health>,
    /// The audience page's state, for its counters (none without the page).
    pub audience: Option<audience::socket::AudienceState>,
    /// The console's state, for its counters (none without the console).
    pub console: Option<console::ConsoleState>,
    /// The cue board (the show's presets and length), for OSCQuery's namespace.
    pub cues: Option<Arc<crate::bridge::CueBoard>>,
    /// Where the OSC server listens, for OSCQuery's HOST_INFO (none without it).
    pub osc_addr: Option<SocketAddr>,
    /// Where this server listens (set by `WebServer::start`), for HOST_INFO's WS_IP/WS_PORT.
    pub web_addr: Option<SocketAddr>,
    /// OSCQuery's WebSocket clients.
    pub oscquery: Arc<oscquery::OscQueryCounters>,
}

/// Why the web server could not start. The show plays on without it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebError {
    /// The address is taken (another show, another program) or not this machine's: choose
    /// another with --web-bind, or --no-web.
    #[error("cannot serve http on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// The runtime or its thread could not start: the machine is short of something.
    #[error("cannot run the web server: {0}")]
    Setup(std::io::Error),
}

/// The running server; dropping it stops it.
pub struct WebServer {
    pub local_addr: SocketAddr,
    /// The mDNS announcement, when the server listens beyond loopback.
    _advert: Option<mdns::Advert>,
    stop: Option<tokio::sync::watch::Sender<bool>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WebServer {
    /// Binds `addr` (at once, so a taken port is known here) and serves on its own thread;
    /// with an audience in `state`, the audience page (`/join`) and its WebSocket too; with a
    /// console, the operator's console (`/console`).
    pub fn start(addr: SocketAddr, mut state: WebState) -> Result<Self, WebError> {
        let audience = state.audience.clone();
        let console = state.console.clone();
        let listener =
            std::net::TcpListener::bind(addr).map_err(|source| WebError::Bind { addr, source })?;
        listener.set_nonblocking(true).map_err(WebError::Setup)?;
        let local_addr = listener.local_addr().map_err(WebError::Setup)?;
        state.web_addr = Some(local_addr);
        let advert = mdns::beyond_loopback(local_addr)
            .then(|| {
                let instance = format!("Somnia on {}", mdns::host_label());
                mdns::Advert::start(&instance, local_addr, state.osc_addr)
                    .inspect_err(|e| {
                        tracing::warn!("somnia: {e}; the show is reachable at its address")
                    })
                    .ok()
            })
            .flatten();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(WebError::Setup)?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut app = axum::Router::new()
            .route("/health", axum::routing::get(health::get))
            // OSCQuery: `/`, `/?HOST_INFO` and every OSC address's path.
            .fallback(axum::routing::get(oscquery::get))
            .with_state(state);
        if let Some(a) = &audience {
            let page = audience::page(None);
            app = app.merge(
                axum::Router::new()
                    .route(
                        "/join",
                        axum::routing::get(move || std::future::ready(page.clone())),
                    )
                    .route("/join/ws", axum::routing::get(audience::socket::upgrade))
                    .with_state(a.clone()),
            );
        }
        if let Some(c) = console {
            app = app.merge(console::routes(c));
        }
        let thread = std::thread::Builder::new()
            .name("somnia-web".into())
            .spawn(move || {
                runtime.block_on(async move {
                    // Phones whose connection dropped are let go once their grace is over.
                    if let Some(a) = audience {
                        tokio::spawn(async move {
                            let mut every = tokio::time::interval(audience::TICK);
                            loop {
                                every.tick().await;
                                a.tick();
                            }
                        });
                    }
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        tracing::warn!("somnia: the web server could not take its socket");
                        return;
                    };
                    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
                        let _ = rx.wait_for(|stop| *stop).await;
                    };
                    let graceful =
                        axum::serve(listener, app).with_graceful_shutdown(stopped(stop_rx.clone()));
                    // Requests in flight get a moment to finish; a client that holds a half
                    // sent request does not hold up the end of the show.
                    let deadline = async {
                        stopped(stop_rx).await;
                        tokio::time::sleep(STOP_GRACE).await;
                    };
                    tokio::select! {
                        served = graceful => {
                            if let Err(e) = served {
                                tracing::warn!("somnia: the web server stopped: {e}");
                            }
                        }
                        () = deadline => {}
                    }
                });
            })
            .map_err(WebError::Setup)?;
        Ok(Self {
            local_addr,
            _advert: advert,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
