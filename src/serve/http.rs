//! The HTTP front of `mtrec serve`: `N` threads, each running its own single-threaded
//! tokio runtime, and one acceptor that hands each new connection to the next thread in
//! turn (round robin).
//!
//! ```text
//! thread 0: accept ──► conn 0, 2, 4 … ─┐       thread 1: conn 1, 3, 5 …
//!           signals (TERM, HUP)        │ each connection lives on one thread:
//!           axum on its connections    │ its requests never wake another
//! ```
//!
//! Why not tokio's multi-thread scheduler: there, a request that arrives while the
//! worker polling the sockets is parked wakes a second worker (a futex or an eventfd
//! write, and a context switch) that looks for work to steal. `strace -c` of a 1-client
//! infer: 5.4 syscalls and 2.5 context switches per request on the multi-thread
//! scheduler, 3 syscalls (`epoll_wait`, `recvfrom`, `writev`) and 1 context switch
//! here. Concurrent clients still use every thread, since their connections are spread
//! over them; requests of one model from several threads still meet in the model's
//! batcher ([`super::batcher`]).
//!
//! Each thread also busy-polls for up to `--busy-poll-us` after each reply it writes
//! ([`super::busy_poll`]), so that a client's next request is picked up without waking
//! the thread.
//!
//! Graceful shutdown: on SIGTERM / Ctrl-C the acceptor stops and every thread's axum
//! server stops taking connections and finishes the requests it has; [`run`] returns
//! when all threads have.

use super::busy_poll::Polled;
use super::metrics::Metrics;
use super::AppState;
use crate::error::{Error, Result};
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::sync::watch;

fn io(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Config {
        what: what.to_string(),
        message: e.to_string(),
    }
}

/// How the HTTP side runs: `--http-threads` and `--busy-poll-us`.
#[derive(Clone, Copy, Debug)]
pub struct HttpConfig {
    /// Threads answering HTTP (0: one per core this process may run on).
    pub threads: usize,
    /// How long a thread keeps polling its sockets after writing a reply before it
    /// sleeps in epoll (zero: off) ([`super::busy_poll`]).
    pub busy_poll: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            threads: 0,
            busy_poll: Duration::from_micros(super::busy_poll::DEFAULT_US),
        }
    }
}

/// The connections one thread serves: those the acceptor sends it.
struct Conns {
    rx: UnboundedReceiver<std::net::TcpStream>,
    addr: SocketAddr,
}

impl axum::serve::Listener for Conns {
    type Io = Polled<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Some(s) = self.rx.recv().await else {
                // the acceptor has stopped (shutdown): no more connections; axum's
                // graceful shutdown ends this thread's server
                return std::future::pending().await;
            };
            let peer = s.peer_addr().unwrap_or(self.addr);
            // registers the socket with this thread's runtime
            match tokio::net::TcpStream::from_std(s) {
                Ok(t) => return (Polled(t), peer),
                Err(e) => eprintln!("serve: a connection from {peer} is dropped: {e}"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.addr)
    }
}

/// Accepts connections until `stop`, handing them to `workers` in turn (TCP_NODELAY
/// set: a reply goes out at once).
async fn accept_loop(
    listener: tokio::net::TcpListener,
    workers: Vec<UnboundedSender<std::net::TcpStream>>,
    mut stop: watch::Receiver<bool>,
    metrics: Arc<Metrics>,
) {
    let mut next = 0usize;
    loop {
        let conn = tokio::select! {
            c = listener.accept() => c,
            _ = stop.wait_for(|s| *s) => break,
        };
        match conn {
            Ok((s, _)) => {
                let _ = s.set_nodelay(true);
                match s.into_std() {
                    Ok(s) => {
                        let thread = next % workers.len();
                        metrics.connection(thread);
                        let _ = workers[thread].send(s);
                        next = next.wrapping_add(1);
                    }
                    Err(e) => eprintln!("serve: a connection is dropped: {e}"),
                }
            }
            Err(e) => {
                // as axum's own accept loop: a connection that failed on its own is
                // skipped; anything else (e.g. out of file descriptors) waits a little
                if !matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionRefused
                        | std::io::ErrorKind::ConnectionAborted
                        | std::io::ErrorKind::ConnectionReset
                ) {
                    eprintln!("serve: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// One thread's server: axum on the connections of `rx`, until `stop`; the thread
/// busy-polls for `busy_poll` after each reply.
async fn serve_conns(
    rx: UnboundedReceiver<std::net::TcpStream>,
    addr: SocketAddr,
    app: Router,
    mut stop: watch::Receiver<bool>,
    (busy_poll, metrics): (Duration, Arc<Metrics>),
) -> Result<()> {
    super::busy_poll::start(busy_poll, metrics);
    axum::serve(Conns { rx, addr }, app)
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await
        .map_err(|e| io("server", e))
}

/// How many HTTP threads `http_threads` asks for (0: one per core this process may
/// run on).
pub fn thread_count(http_threads: usize) -> usize {
    if http_threads > 0 {
        return http_threads;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Serves `app` (over `state`) on `addr` with [`thread_count`]`(http.threads)` threads
/// until SIGTERM or Ctrl-C; calls `on_listening` with the bound address once the
/// signal handlers are in place. Returns when every request in flight is answered.
pub fn run(
    state: AppState,
    app: Router,
    addr: SocketAddr,
    http: HttpConfig,
    on_listening: impl FnOnce(SocketAddr),
) -> Result<()> {
    let n = thread_count(http.threads);
    let build = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| io("tokio runtime", e))
    };
    let main = build()?;
    let others = (1..n).map(|_| build()).collect::<Result<Vec<_>>>()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let (senders, mut receivers): (Vec<_>, Vec<_>) = (0..n).map(|_| unbounded_channel()).unzip();
    let own = receivers.remove(0);
    main.block_on(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| io(&format!("--addr {addr}"), e))?;
        let bound = listener.local_addr().map_err(|e| io("--addr", e))?;
        let term = signal(SignalKind::terminate()).map_err(|e| io("SIGTERM handler", e))?;
        let hup = signal(SignalKind::hangup()).map_err(|e| io("SIGHUP handler", e))?;
        let metrics = state.metrics.clone();
        let hup = tokio::spawn(super::reload::on_sighup(state, hup));
        let threads: Vec<_> = others
            .into_iter()
            .zip(receivers)
            .enumerate()
            .map(|(i, (rt, rx))| {
                let (app, stop) = (app.clone(), stop_rx.clone());
                let spin = (http.busy_poll, metrics.clone());
                std::thread::Builder::new()
                    .name(format!("http-{}", i + 1))
                    .spawn(move || rt.block_on(serve_conns(rx, bound, app, stop, spin)))
                    .map_err(|e| io("HTTP thread", e))
            })
            .collect::<Result<_>>()?;
        let spin = (http.busy_poll, metrics.clone());
        tokio::spawn(accept_loop(listener, senders, stop_rx.clone(), metrics));
        tokio::spawn(async move {
            super::shutdown_signal(term).await;
            let _ = stop_tx.send(true);
        });
        on_listening(bound);
        let mut result = serve_conns(own, bound, app, stop_rx, spin).await;
        for t in threads {
            let r = t
                .join()
                .unwrap_or_else(|_| Err(io("HTTP thread", "panicked")));
            result = result.and(r);
        }
        hup.abort();
        result
    })?;
    eprintln!("serve: stopped; every request in flight was answered");
    Ok(())
}
