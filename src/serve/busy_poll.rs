//! Bounded busy-polling of an HTTP thread's event loop after each reply
//! (`mtrec serve --busy-poll-us N`), the user-space form of Linux's `SO_BUSY_POLL`.
//!
//! A closed-loop client sends its next request a few tens of µs after it read the last
//! reply. If the HTTP thread has gone to sleep in `epoll_wait` by then, the request
//! has to wake it: an interrupt to the idle core, the core leaving its halt (on a
//! virtual machine, a trip through the hypervisor) and a context switch, which at one
//! client costs about as much as scoring the request. Here the thread stays awake for
//! up to N µs after it wrote a reply, polling its sockets, so a request that comes
//! within that window is picked up without a wake-up.
//!
//! ```text
//! connection task (hyper)                   spinner task (one per HTTP thread)
//! ───────────────────────────────────       ──────────────────────────────────────
//! write a reply ──► arm: deadline =  ─────► woken (same thread: no syscall)
//!                   now + N µs              while now < deadline: yield_now()
//! read: Pending (no request yet)              (the runtime, having only a yielded
//!                                              task, polls epoll with timeout 0;
//! request arrives ──► epoll reports it ◄──     a request found wakes its connection)
//! scored, reply written ──► arm again       deadline passed: sleep until armed
//! ```
//!
//! Bounds on the CPU it burns: it spins only while the thread has nothing else to run
//! (a yielded task goes behind every ready one), gives its core to any other runnable
//! thread at each turn (`sched_yield`), never more than N µs after the last
//! reply written on the thread (so at most N µs per reply), and not at all with N = 0 (no
//! spinner is started). Each window that ends with no new reply counts in
//! `mtrec_http_busy_poll_expired_total`.

use super::metrics::Metrics;
use std::cell::{Cell, RefCell};
use std::io::IoSlice;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// `--busy-poll-us` when not given: 50 µs, longer than the gap between a reply and a
/// one-client loop's next request on loopback. On the idle 2-core machine it took
/// 1-client infer from 14.8k to 23.1k req/s and cost 0.98× at 8 and 64 clients
/// (`docs/benchmarks.md`, "Serving", 15:09 – 15:15 UTC); on a loaded machine, where the
/// server's one context switch per request is a preemption rather than a sleep in
/// epoll, it gains nothing and costs 0.6–2.7 CPU µs per request: there, use 0.
pub const DEFAULT_US: u64 = 50;

/// The most `--busy-poll-us` accepts: beyond a millisecond a thread spinning for
/// requests costs more than the wake-up it saves.
pub const MAX_US: u64 = 1000;

/// This thread's spinner: its window and the deadline of the current one.
struct Spin {
    /// 0: busy-polling off on this thread.
    window: Cell<Duration>,
    deadline: Cell<Option<Instant>>,
    /// The spinner, while it sleeps (no window open).
    waker: RefCell<Option<Waker>>,
}

thread_local! {
    static SPIN: Spin = const {
        Spin {
            window: Cell::new(Duration::ZERO),
            deadline: Cell::new(None),
            waker: RefCell::new(None),
        }
    };
}

/// Opens (or extends) this thread's window: called after a reply's bytes are written.
/// Does nothing on a thread without a spinner.
fn arm() {
    SPIN.with(|s| {
        let window = s.window.get();
        if window.is_zero() {
            return;
        }
        s.deadline.set(Some(Instant::now() + window));
        if let Some(w) = s.waker.borrow_mut().take() {
            w.wake(); // a task of this thread's runtime: queued locally, no syscall
        }
    });
}

/// Starts this thread's spinner with a window of `window` (zero: none is started).
/// Call once per HTTP thread, inside its (current-thread) runtime.
pub fn start(window: Duration, metrics: Arc<Metrics>) {
    SPIN.with(|s| s.window.set(window));
    if !window.is_zero() {
        tokio::task::spawn(spinner(metrics));
    }
}

/// Waits for a window, spins (yielding to the runtime, which then polls its sockets
/// without blocking) until it closes, and again.
async fn spinner(metrics: Arc<Metrics>) {
    loop {
        std::future::poll_fn(|cx| {
            SPIN.with(|s| match s.deadline.get() {
                Some(d) if Instant::now() < d => Poll::Ready(()),
                _ => {
                    s.deadline.set(None);
                    *s.waker.borrow_mut() = Some(cx.waker().clone());
                    Poll::Pending
                }
            })
        })
        .await;
        // the window is open: each yield lets the runtime run what became ready and,
        // with nothing else to run, poll epoll with a zero timeout; then the core goes
        // to any other thread waiting for it (the model's batcher, a client on the same
        // core: on a machine of few cores spinning must not delay them), or, with none
        // waiting, comes straight back
        while SPIN.with(|s| s.deadline.get().is_some_and(|d| Instant::now() < d)) {
            tokio::task::yield_now().await;
            std::thread::yield_now();
        }
        metrics.busy_poll_expired();
    }
}

/// A connection's socket as handed to hyper: reads and writes pass through; a write
/// that wrote bytes opens this thread's busy-poll window ([`arm`]).
pub struct Polled<T>(pub T);

impl<T: AsyncRead + Unpin> AsyncRead for Polled<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

fn armed(r: Poll<std::io::Result<usize>>) -> Poll<std::io::Result<usize>> {
    if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
        arm();
    }
    r
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Polled<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        armed(Pin::new(&mut self.0).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        armed(Pin::new(&mut self.0).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes every byte written.
    struct Sink;

    impl AsyncWrite for Sink {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    async fn write(w: &mut Polled<Sink>, bytes: &[u8]) -> usize {
        std::future::poll_fn(|cx| Pin::new(&mut *w).poll_write(cx, bytes))
            .await
            .unwrap()
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn a_write_opens_a_window_that_closes_and_counts_once() {
        let metrics = Arc::new(Metrics::new());
        rt().block_on(async {
            start(Duration::from_micros(200), metrics.clone());
            tokio::task::yield_now().await; // the spinner runs and parks
            assert!(SPIN.with(|s| s.waker.borrow().is_some()), "spinner parked");
            let mut w = Polled(Sink);
            assert_eq!(write(&mut w, b"reply").await, 5);
            assert!(SPIN.with(|s| s.deadline.get().is_some()), "window opened");
            assert!(SPIN.with(|s| s.waker.borrow().is_none()), "spinner woken");
            tokio::time::sleep(Duration::from_millis(5)).await;
            assert!(SPIN.with(|s| s.deadline.get().is_none()), "window closed");
            assert!(
                SPIN.with(|s| s.waker.borrow().is_some()),
                "spinner parked again"
            );
        });
        assert_eq!(metrics.busy_poll_expired_count(), 1);
    }

    #[test]
    fn an_empty_write_opens_no_window() {
        let metrics = Arc::new(Metrics::new());
        rt().block_on(async {
            start(Duration::from_micros(200), metrics.clone());
            tokio::task::yield_now().await;
            assert_eq!(write(&mut Polled(Sink), b"").await, 0);
            assert!(SPIN.with(|s| s.deadline.get().is_none()));
        });
        assert_eq!(metrics.busy_poll_expired_count(), 0);
    }

    #[test]
    fn with_a_zero_window_nothing_spins() {
        let metrics = Arc::new(Metrics::new());
        rt().block_on(async {
            start(Duration::ZERO, metrics.clone());
            assert_eq!(write(&mut Polled(Sink), b"reply").await, 5);
            assert!(SPIN.with(|s| s.deadline.get().is_none()));
            tokio::time::sleep(Duration::from_millis(1)).await;
        });
        assert_eq!(metrics.busy_poll_expired_count(), 0);
    }
}
