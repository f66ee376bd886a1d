//! A writer thread fed by a bounded queue. The pipeline offers items without ever blocking (a full
//! queue drops the item and counts it); the thread delivers them; shutdown hands the thread a
//! deadline by which it stops, and whatever it could not deliver by then is counted as dropped.

use super::report::Counters;
use crossbeam_channel::{bounded, select, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::io;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long past the deadline shutdown waits for a writer thread before leaving it behind.
const JOIN_GRACE: Duration = Duration::from_millis(500);

/// The pipeline's side of a writer thread.
pub(crate) struct Worker<T> {
    queue: Option<Sender<T>>,
    stop: Option<Sender<Instant>>,
    /// Disconnected once the thread has ended (its sender is dropped however it ends).
    done: Receiver<()>,
    thread: Option<JoinHandle<()>>,
    pub(crate) counters: Arc<Counters>,
}

impl<T: Send + 'static> Worker<T> {
    /// Starts thread `name` running `body` over a queue of `capacity` items. `body` returns how
    /// many items it took from the queue but neither delivered nor counted (they are counted as
    /// dropped at shutdown, with whatever is left in the queue).
    pub(crate) fn spawn(
        name: &str,
        capacity: usize,
        counters: Arc<Counters>,
        body: impl FnOnce(&Receiver<T>, &mut Stop) -> u64 + Send + 'static,
    ) -> io::Result<Self> {
        let (queue_tx, queue_rx) = bounded(capacity.max(1));
        let (stop_tx, stop_rx) = bounded(1);
        let (done_tx, done_rx) = bounded::<()>(0);
        let thread_counters = Arc::clone(&counters);
        let thread = thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                let _done = done_tx;
                let mut stop = Stop::new(stop_rx);
                let held = body(&queue_rx, &mut stop);
                let left = queue_rx.try_iter().count() as u64;
                Counters::add(&thread_counters.dropped_at_finish, held + left);
            })?;
        Ok(Worker {
            queue: Some(queue_tx),
            stop: Some(stop_tx),
            done: done_rx,
            thread: Some(thread),
            counters,
        })
    }

    /// Queues `item`, or counts it as dropped when the queue is full or the thread is gone.
    pub(crate) fn offer(&self, item: T) {
        Counters::add(&self.counters.offered, 1);
        let Some(queue) = &self.queue else {
            Counters::add(&self.counters.dropped_failed, 1);
            return;
        };
        match queue.try_send(item) {
            Ok(()) => {}
            Err(crossbeam_channel::TrySendError::Full(_)) => {
                Counters::add(&self.counters.dropped_queue_full, 1)
            }
            Err(crossbeam_channel::TrySendError::Disconnected(_)) => {
                Counters::add(&self.counters.dropped_failed, 1)
            }
        }
    }

    /// Tells the thread to deliver what is queued by `deadline`, then stop; no more items come.
    pub(crate) fn begin_finish(&mut self, deadline: Instant) {
        if let Some(stop) = self.stop.take() {
            // The channel holds one deadline and only this call sends: it cannot be full, and
            // a thread already gone needs no deadline.
            let _ = stop.try_send(deadline);
        }
        self.queue = None;
    }

    /// Waits for the thread until `deadline` (plus a short grace). Returns an error when the
    /// thread panicked or did not stop in time (it is then left behind).
    pub(crate) fn join(&mut self, deadline: Instant) -> Result<(), String> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        let until = deadline.checked_add(JOIN_GRACE).unwrap_or(deadline);
        match self.done.recv_deadline(until) {
            Err(RecvTimeoutError::Timeout) => {
                Err("the writer thread did not stop by the deadline; it was left behind".into())
            }
            // Nothing is ever sent on `done`: the thread has ended.
            Ok(()) | Err(RecvTimeoutError::Disconnected) => match thread.join() {
                Ok(()) => Ok(()),
                Err(_) => Err("the writer thread panicked".into()),
            },
        }
    }
}

/// The thread's side of shutdown: the deadline, once the pipeline has set it.
pub(crate) struct Stop {
    signal: Receiver<Instant>,
    deadline: Option<Instant>,
}

impl Stop {
    fn new(signal: Receiver<Instant>) -> Self {
        Stop {
            signal,
            deadline: None,
        }
    }

    /// The shutdown deadline, if shutdown has begun. A pipeline side dropped without a
    /// shutdown means: stop now.
    pub(crate) fn deadline(&mut self) -> Option<Instant> {
        if self.deadline.is_none() {
            match self.signal.try_recv() {
                Ok(deadline) => self.deadline = Some(deadline),
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => self.deadline = Some(Instant::now()),
            }
        }
        self.deadline
    }

    /// Whether the shutdown deadline has passed.
    pub(crate) fn passed(&mut self) -> bool {
        self.deadline().is_some_and(|d| Instant::now() >= d)
    }

    /// Time left before the deadline, if shutdown has begun.
    pub(crate) fn remaining(&mut self) -> Option<Duration> {
        self.deadline()
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// The next queued item; `None` once the queue is closed and empty, or the deadline passed.
    pub(crate) fn next<T>(&mut self, queue: &Receiver<T>) -> Option<T> {
        loop {
            if let Some(deadline) = self.deadline() {
                return queue.recv_deadline(deadline).ok();
            }
            select! {
                recv(queue) -> item => return item.ok(),
                recv(self.signal) -> deadline => {
                    self.deadline = Some(deadline.unwrap_or_else(|_| Instant::now()));
                }
            }
        }
    }

    /// Sleeps for `delay`, or until the deadline if that comes first. Returns false when the
    /// deadline has passed.
    pub(crate) fn sleep(&mut self, delay: Duration) -> bool {
        let wake = later(delay);
        loop {
            if let Some(deadline) = self.deadline() {
                let now = Instant::now();
                thread::sleep(wake.min(deadline).saturating_duration_since(now));
                return Instant::now() < deadline;
            }
            match self.signal.recv_deadline(wake) {
                Ok(deadline) => self.deadline = Some(deadline),
                Err(RecvTimeoutError::Timeout) => return true,
                Err(RecvTimeoutError::Disconnected) => self.deadline = Some(Instant::now()),
            }
        }
    }
}

/// `delay` from now; a delay too long for the clock is a year.
fn later(delay: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(delay)
        .or_else(|| now.checked_add(Duration::from_secs(365 * 86_400)))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering::Relaxed;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn full_queue_drops_and_shutdown_counts_the_rest() {
        let counters = Arc::new(Counters::default());
        let (gate_tx, gate_rx) = bounded::<()>(0);
        // A thread that takes one item, then waits for the gate, and never delivers anything.
        let mut w = Worker::spawn("test-writer", 2, Arc::clone(&counters), move |q, stop| {
            let first = stop.next(q);
            let _ = gate_rx.recv_timeout(Duration::from_secs(5));
            u64::from(first.is_some())
        })
        .unwrap();
        w.offer(1u32);
        // Wait (bounded) until the thread has taken the first item.
        let until = Instant::now() + Duration::from_secs(5);
        while !w.queue.as_ref().unwrap().is_empty() && Instant::now() < until {
            thread::sleep(ms(1));
        }
        for i in 2..=6u32 {
            w.offer(i);
        }
        drop(gate_tx);
        w.begin_finish(Instant::now() + Duration::from_secs(2));
        w.join(Instant::now() + Duration::from_secs(2)).unwrap();
        let r = counters.snapshot(super::super::TargetKind::Webhook, "w");
        assert_eq!(r.offered, 6);
        assert_eq!(r.dropped_queue_full, 3);
        assert_eq!(r.dropped_at_finish, 3);
        assert_eq!(r.queued, 0);
        // After shutdown nothing more is queued: an offer is a counted drop.
        w.offer(7);
        assert_eq!(counters.dropped_failed.load(Relaxed), 1);
    }

    #[test]
    fn sleep_is_cut_short_by_the_deadline_and_drops_mean_stop_now() {
        let (tx, rx) = bounded(1);
        let mut stop = Stop::new(rx);
        assert!(stop.sleep(ms(5)));
        assert_eq!(stop.remaining(), None);
        tx.send(Instant::now() + ms(30)).unwrap();
        let t = Instant::now();
        assert!(!stop.sleep(Duration::from_secs(10)));
        assert!(t.elapsed() < Duration::from_secs(2));
        assert!(stop.passed());

        let (tx, rx) = bounded::<Instant>(1);
        let mut stop = Stop::new(rx);
        drop(tx);
        assert!(!stop.sleep(Duration::MAX));
        assert!(stop.passed());
        let (_q_tx, q_rx) = bounded::<u8>(1);
        assert_eq!(stop.next(&q_rx), None);
    }

    #[test]
    fn a_panicking_writer_is_reported() {
        let counters = Arc::new(Counters::default());
        let mut w = Worker::<u8>::spawn("test-panic", 1, Arc::clone(&counters), |_, _| {
            panic!("writer bug")
        })
        .unwrap();
        w.begin_finish(Instant::now() + Duration::from_secs(2));
        assert_eq!(
            w.join(Instant::now() + Duration::from_secs(2)),
            Err("the writer thread panicked".to_string())
        );
    }
}
