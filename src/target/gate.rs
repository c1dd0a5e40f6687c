//! Last-byte synchronisation for the calls of a parallel block on plain HTTP.
//!
//! Each request of a block goes out whole but for its last byte; once every request is out that
//! far (or has ended another way), the last bytes go out together. The endpoint cannot start
//! any of the calls before it has read its whole body, so it starts them all within a few
//! microseconds, however long each took to send: a check-then-act race whose window is a
//! single task switch (no sleep between the check and the act) is then open for each of them.
//! Penetration testers call this the single-packet or last-byte-sync attack.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

/// The longest a request waits at the gate for the others: a request that never gets that far
/// (a connection that will not take its bytes) holds the others back no longer than this.
const MAX_WAIT: Duration = Duration::from_millis(200);

/// The body of one request: whole, or held back before its last byte until a gate opens.
pub(super) enum OutBody {
    Whole(Option<Bytes>),
    Gated {
        first: Option<Bytes>,
        last: Option<Bytes>,
        gate: Arc<Gate>,
        index: usize,
    },
}

impl OutBody {
    pub(super) fn whole(body: Vec<u8>) -> OutBody {
        OutBody::Whole(Some(Bytes::from(body)))
    }

    /// Request `index` of the block `gate` holds; a body too short to split passes at once.
    pub(super) fn gated(body: Vec<u8>, gate: &Arc<Gate>, index: usize) -> OutBody {
        if body.len() < 2 {
            gate.arrive(index);
            return OutBody::whole(body);
        }
        let mut first = Bytes::from(body);
        let last = first.split_off(first.len() - 1);
        OutBody::Gated {
            first: Some(first),
            last: Some(last),
            gate: Arc::clone(gate),
            index,
        }
    }

    fn remaining(&self) -> u64 {
        let len = |b: &Option<Bytes>| b.as_ref().map_or(0, |b| b.len() as u64);
        match self {
            OutBody::Whole(b) => len(b),
            OutBody::Gated { first, last, .. } => len(first) + len(last),
        }
    }
}

impl Body for OutBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let data = |b: Option<Bytes>| Poll::Ready(b.map(|b| Ok(Frame::data(b))));
        match self.get_mut() {
            OutBody::Whole(b) => data(b.take()),
            OutBody::Gated {
                first,
                last,
                gate,
                index,
            } => {
                if first.is_some() {
                    return data(first.take());
                }
                if last.is_some() {
                    // Asked for more: everything before the last byte is written.
                    gate.arrive(*index);
                    if gate.poll_open(cx).is_pending() {
                        return Poll::Pending;
                    }
                }
                data(last.take())
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining() == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining())
    }
}

/// Where the requests of one block wait for each other before their last byte.
pub(super) struct Gate {
    expected: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The requests that are at the gate or need it no more, by index.
    arrived: Vec<bool>,
    open: bool,
    waiting: Vec<Waker>,
}

impl Gate {
    /// A gate for `expected` requests, numbered from 0.
    pub(super) fn new(expected: usize) -> Arc<Gate> {
        Arc::new(Gate {
            expected,
            state: Mutex::new(State {
                arrived: vec![false; expected],
                ..State::default()
            }),
        })
    }

    /// Request `index` is at the gate, or has ended and will not come: the gate opens once
    /// every request has arrived.
    pub(super) fn arrive(&self, index: usize) {
        let mut s = self.lock();
        if let Some(seen) = s.arrived.get_mut(index) {
            *seen = true;
        }
        if s.arrived.iter().filter(|a| **a).count() >= self.expected {
            Self::open_locked(&mut s);
        }
    }

    /// Opens the gate at the latest [`MAX_WAIT`] from now, or sooner when every request
    /// arrives; ends when it is open.
    pub(super) async fn open_in_time(&self) {
        let opened = std::future::poll_fn(|cx| self.poll_open(cx));
        if tokio::time::timeout(MAX_WAIT, opened).await.is_err() {
            Self::open_locked(&mut self.lock());
        }
    }

    fn poll_open(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.lock();
        if s.open {
            return Poll::Ready(());
        }
        if !s.waiting.iter().any(|w| w.will_wake(cx.waker())) {
            s.waiting.push(cx.waker().clone());
        }
        Poll::Pending
    }

    fn open_locked(s: &mut State) {
        s.open = true;
        for w in s.waiting.drain(..) {
            w.wake();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Polls `body` once: its next chunk as text, `None` at its end, or `Err(())` when it waits.
    fn next(body: &mut OutBody) -> Result<Option<String>, ()> {
        let mut cx = Context::from_waker(Waker::noop());
        match Pin::new(body).poll_frame(&mut cx) {
            Poll::Ready(Some(Ok(frame))) => Ok(frame
                .into_data()
                .ok()
                .map(|b| String::from_utf8_lossy(&b).into_owned())),
            Poll::Ready(None) => Ok(None),
            Poll::Ready(Some(Err(never))) => match never {},
            Poll::Pending => Err(()),
        }
    }

    #[test]
    fn no_last_byte_leaves_before_every_request_is_out_but_for_its_own() {
        let gate = Gate::new(2);
        let mut a = OutBody::gated(b"{\"a\":1}".to_vec(), &gate, 0);
        let mut b = OutBody::gated(b"{}".to_vec(), &gate, 1);
        assert_eq!(
            a.size_hint().exact(),
            Some(7),
            "Content-Length is the whole body"
        );
        assert_eq!(next(&mut a), Ok(Some("{\"a\":1".into())));
        assert_eq!(next(&mut a), Err(()), "a waits for b");
        assert_eq!(next(&mut b), Ok(Some("{".into())));
        // b is out but for its last byte: the gate opens, b goes on, and a too.
        assert_eq!(next(&mut b), Ok(Some("}".into())));
        assert_eq!(next(&mut a), Ok(Some("}".into())));
        assert_eq!((next(&mut a), next(&mut b)), (Ok(None), Ok(None)));
        assert!(a.is_end_stream() && b.is_end_stream());
    }

    #[test]
    fn a_request_that_ended_another_way_holds_no_one_back() {
        let gate = Gate::new(3);
        let mut a = OutBody::gated(b"{}".to_vec(), &gate, 0);
        // Too short to split: it passes at once, and counts as arrived.
        let mut short = OutBody::gated(b"x".to_vec(), &gate, 1);
        assert_eq!(next(&mut short), Ok(Some("x".into())));
        assert_eq!(next(&mut a), Ok(Some("{".into())));
        assert_eq!(next(&mut a), Err(()));
        gate.arrive(2); // its connection failed
        assert_eq!(next(&mut a), Ok(Some("}".into())));
    }

    #[tokio::test]
    async fn a_request_that_never_arrives_holds_the_others_back_for_a_bounded_time() {
        let gate = Gate::new(2);
        let mut a = OutBody::gated(b"{}".to_vec(), &gate, 0);
        assert_eq!(next(&mut a), Ok(Some("{".into())));
        assert_eq!(next(&mut a), Err(()));
        let t0 = std::time::Instant::now();
        gate.open_in_time().await;
        let waited = t0.elapsed();
        assert!(waited >= MAX_WAIT && waited < MAX_WAIT * 50, "{waited:?}");
        assert_eq!(next(&mut a), Ok(Some("}".into())));
    }
}
