//! Stopping a run on SIGINT or SIGTERM.

/// A termination signal.
pub struct Signal {
    pub name: &'static str,
    pub number: u8,
}

pub enum Interruptible<T> {
    Done(T),
    Interrupted(Signal),
}

/// Runs `work` until it ends or the process gets SIGINT or SIGTERM (then `work` is dropped: its queries stop).
pub async fn interruptible<T>(work: impl std::future::Future<Output = T>) -> Interruptible<T> {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
    else {
        return Interruptible::Done(work.await);
    };
    tokio::select! {
        result = work => Interruptible::Done(result),
        _ = interrupt.recv() => Interruptible::Interrupted(Signal { name: "SIGINT", number: 2 }),
        _ = terminate.recv() => Interruptible::Interrupted(Signal { name: "SIGTERM", number: 15 }),
    }
}
