//! Plain-HTTP endpoints: keep-alive HTTP/1.1 connections (hyper's client connection), each
//! driven on the task that sends on it. A pooled client (reqwest) runs every connection as a
//! task of its own, so each call crosses threads twice; here a call costs about half the CPU.
//! A parallel block takes one connection per call; idle connections wait in a small pool.
//!
//! Only moves bytes: the caller classifies nothing twice. Deadlines, the body cap and the
//! transport classes are the same as for HTTPS endpoints (`super::send_reqwest`).

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Mutex;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, Connection, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;
use url::Url;

use super::{error_chain, ClientSettings, Reply, Transport};

/// Idle connections kept for later calls (a parallel block sends at most 8 at once).
const MAX_IDLE: usize = 8;

type Conn = Connection<TokioIo<TcpStream>, Full<Bytes>>;

/// A request to send: method, URL, headers and body.
pub(super) type Outgoing<'a> = (http::Method, &'a Url, Vec<(String, String)>, Vec<u8>);

/// One open connection: the handle to send on and the connection itself, polled by the caller.
struct Open {
    sender: SendRequest<Full<Bytes>>,
    /// The connection; dropped once it has ended (closed by the peer, or broken), so that the
    /// sender sees it closed. Never reused then.
    conn: Option<Pin<Box<Conn>>>,
}

/// The connections to one endpoint (`host:port`).
pub(super) struct Pool {
    authority: String,
    host_header: String,
    idle: Mutex<Vec<Open>>,
}

impl Pool {
    /// A pool for `base`, an `http://` URL.
    pub(super) fn new(base: &Url) -> Pool {
        let host = base.host_str().unwrap_or_default();
        let port = base.port_or_known_default().unwrap_or(80);
        Pool {
            authority: format!("{host}:{port}"),
            // As a browser or reqwest writes it: the port only when the URL names one.
            host_header: match base.port() {
                Some(p) => format!("{host}:{p}"),
                None => host.to_string(),
            },
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Sends one request and reads its answer whole, within the settings' deadlines.
    pub(super) async fn send(
        &self,
        settings: &ClientSettings,
        method: http::Method,
        url: &Url,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Reply {
        let request = match self.request(method, url, headers, body) {
            Ok(r) => r,
            Err(e) => return Reply::ended(Transport::NoAnswer(format!("bad request: {e}"))),
        };
        let deadline = Instant::now() + settings.request_timeout;
        let sent = async {
            match self.acquire(settings).await {
                Ok((open, fresh)) => self.finish(settings, deadline, open, fresh, request).await,
                Err(end) => Reply::ended(end),
            }
        };
        within(settings, deadline, sent).await
    }

    /// Sends the requests at once: first a ready connection for each, then every request goes
    /// out in one pass, a few microseconds apart, so that the endpoint sees them together.
    pub(super) async fn send_at_once(
        &self,
        settings: &ClientSettings,
        requests: Vec<Outgoing<'_>>,
    ) -> Vec<(Reply, std::time::Instant)> {
        let deadline = Instant::now() + settings.request_timeout;
        let mut ready = Vec::with_capacity(requests.len());
        for (method, url, headers, body) in requests {
            let request = self
                .request(method, url, &headers, body)
                .map_err(|e| Transport::NoAnswer(format!("bad request: {e}")));
            let open = match request {
                Ok(_) => within_end(deadline, self.acquire(settings)).await,
                Err(ref end) => Err(end.clone()),
            };
            ready.push((request, open));
        }
        let sends = ready.into_iter().map(|(request, open)| async move {
            match (request, open) {
                (Ok(request), Ok((open, fresh))) => {
                    self.finish(settings, deadline, open, fresh, request).await
                }
                (Err(end), _) | (_, Err(end)) => Reply::ended(end),
            }
        });
        let sends = sends.map(|send| async move {
            let reply = within(settings, deadline, send).await;
            (reply, std::time::Instant::now())
        });
        futures::future::join_all(sends).await
    }

    fn request(
        &self,
        method: http::Method,
        url: &Url,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<http::Request<Full<Bytes>>, http::Error> {
        let path = &url[url::Position::BeforePath..];
        let mut b = http::Request::builder()
            .method(method)
            .uri(if path.is_empty() { "/" } else { path })
            .header(http::header::HOST, &self.host_header);
        for (k, v) in headers {
            b = b.header(k.as_str(), v.as_str());
        }
        b.body(Full::new(Bytes::from(body)))
    }

    /// An idle connection when one is alive (`false`), else a new one (`true`).
    async fn acquire(&self, settings: &ClientSettings) -> Result<(Open, bool), Transport> {
        match self.take_idle().await {
            Some(open) => Ok((open, false)),
            None => Ok((self.connect(settings.connect_timeout).await?, true)),
        }
    }

    /// Sends `request` on `open` and reads the answer. A request an idle connection could not
    /// take (the peer had closed it) goes once more on a new connection: it was never sent,
    /// so it cannot have been applied twice.
    async fn finish(
        &self,
        settings: &ClientSettings,
        deadline: Instant,
        open: Open,
        fresh: bool,
        request: http::Request<Full<Bytes>>,
    ) -> Reply {
        let (mut open, mut fresh, mut request) = (open, fresh, request);
        loop {
            match open.round_trip(request, settings, deadline).await {
                Trip::Done(reply, reusable) => {
                    if reusable {
                        self.put_back(open);
                    }
                    return reply;
                }
                Trip::NotSent(again, _) if !fresh => {
                    request = again;
                    open = match self.connect(settings.connect_timeout).await {
                        Ok(open) => open,
                        Err(end) => return Reply::ended(end),
                    };
                    fresh = true;
                }
                Trip::NotSent(_, why) => return Reply::ended(Transport::NoAnswer(why)),
            }
        }
    }

    async fn take_idle(&self) -> Option<Open> {
        loop {
            let mut open = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()?;
            if open.alive().await {
                return Some(open);
            }
        }
    }

    fn put_back(&self, open: Open) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(open);
        }
    }

    async fn connect(&self, timeout: Duration) -> Result<Open, Transport> {
        let stream = match tokio::time::timeout(timeout, TcpStream::connect(&self.authority)).await
        {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(Transport::Unreachable(error_chain(&e))),
            Err(_) => {
                return Err(Transport::Unreachable(format!(
                    "no connection to {} within {timeout:?}",
                    self.authority
                )))
            }
        };
        let _ = stream.set_nodelay(true);
        match http1::handshake(TokioIo::new(stream)).await {
            Ok((sender, conn)) => Ok(Open {
                sender,
                conn: Some(Box::pin(conn)),
            }),
            Err(e) => Err(Transport::Unreachable(error_chain(&e))),
        }
    }
}

/// `sent`, or "no answer in time" at the deadline.
async fn within(
    settings: &ClientSettings,
    deadline: Instant,
    sent: impl Future<Output = Reply>,
) -> Reply {
    match tokio::time::timeout_at(deadline, sent).await {
        Ok(reply) => reply,
        Err(_) => Reply::ended(Transport::NoAnswer(format!(
            "no answer in time: nothing complete within {:?} (hint: raise --timeout if the endpoint is slow)",
            settings.request_timeout
        ))),
    }
}

/// A connection by the deadline, or how getting one failed.
async fn within_end(
    deadline: Instant,
    acquire: impl Future<Output = Result<(Open, bool), Transport>>,
) -> Result<(Open, bool), Transport> {
    tokio::time::timeout_at(deadline, acquire)
        .await
        .unwrap_or_else(|_| Err(Transport::NoAnswer("no connection in time".into())))
}

/// How one round trip on a connection ended.
enum Trip {
    /// An answer, or a failure after the request may have been sent; whether the connection
    /// can take another request.
    Done(Reply, bool),
    /// The connection could not take the request, which is given back unsent.
    NotSent(http::Request<Full<Bytes>>, String),
}

impl Open {
    /// Polls the connection once: false when it has ended (the peer closed it while idle).
    async fn alive(&mut self) -> bool {
        if let Some(conn) = self.conn.as_mut() {
            if poll_fn(|cx| Poll::Ready(conn.as_mut().poll(cx).is_ready())).await {
                self.conn = None;
            }
        }
        self.conn.is_some() && !self.sender.is_closed()
    }

    async fn round_trip(
        &mut self,
        request: http::Request<Full<Bytes>>,
        settings: &ClientSettings,
        deadline: Instant,
    ) -> Trip {
        let sender = &mut self.sender;
        let sent = async {
            if let Err(e) = sender.ready().await {
                return Err((Some(request), error_chain(&e)));
            }
            sender
                .try_send_request(request)
                .await
                .map_err(|mut e| (e.take_message(), error_chain(e.error())))
        };
        let response = match drive(&mut self.conn, sent).await {
            Ok(r) => r,
            Err((Some(unsent), why)) => return Trip::NotSent(unsent, why),
            Err((None, why)) => return Trip::Done(Reply::ended(Transport::NoAnswer(why)), false),
        };
        let (head, body) = response.into_parts();
        let status = head.status.as_u16();
        let headers: Vec<(String, String)> = head
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let read = tokio::time::timeout_at(deadline, drive(&mut self.conn, read_body(body, settings.max_body)))
            .await
            .unwrap_or_else(|_| {
                Err(Transport::NoAnswer(format!(
                    "no answer in time: the body did not end within {:?} (hint: raise --timeout if the endpoint is slow)",
                    settings.request_timeout
                )))
            });
        let reusable = read.is_ok() && self.conn.is_some();
        let end = match read {
            Ok(body) => Transport::Answered {
                status,
                headers: headers.clone(),
                body,
            },
            Err(end) => end,
        };
        Trip::Done(
            Reply {
                head: Some((status, headers)),
                end,
            },
            reusable,
        )
    }
}

/// Runs `work` while polling the connection `conn` that carries it. Once the connection has
/// ended it is dropped, and `work` still runs to its end: what the connection read is handed
/// over, and a request it could not send fails.
async fn drive<T>(conn: &mut Option<Pin<Box<Conn>>>, work: impl Future<Output = T>) -> T {
    let mut work = std::pin::pin!(work);
    poll_fn(|cx| {
        if let Poll::Ready(out) = work.as_mut().poll(cx) {
            return Poll::Ready(out);
        }
        if conn
            .as_mut()
            .is_some_and(|c| c.as_mut().poll(cx).is_ready())
        {
            *conn = None;
            return work.as_mut().poll(cx);
        }
        Poll::Pending
    })
    .await
}

/// The whole body, or how reading it ended: over `max` bytes, or broken off.
async fn read_body(mut body: hyper::body::Incoming, max: usize) -> Result<Vec<u8>, Transport> {
    use hyper::body::Body;
    if body.size_hint().lower() > max as u64 {
        return Err(Transport::TooLarge(max));
    }
    let mut bytes = Vec::with_capacity(body.size_hint().exact().unwrap_or(0) as usize);
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Some(chunk) = frame.data_ref() {
                    if bytes.len() + chunk.len() > max {
                        return Err(Transport::TooLarge(max));
                    }
                    bytes.extend_from_slice(chunk);
                }
            }
            Err(e) => {
                return Err(Transport::NoAnswer(format!(
                    "the answer broke off after {} bytes: {}",
                    bytes.len(),
                    error_chain(&e)
                )))
            }
        }
    }
    Ok(bytes)
}
