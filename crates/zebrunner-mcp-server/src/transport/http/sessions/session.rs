//! One MCP session: the client's messages waiting for the session's service, and where the
//! service's messages go.
//!
//! rmcp runs each session's service as a task that reads [`SessionTransport::receive`] and
//! writes through [`SessionTransport::send`]. The two sides meet in [`Session`]'s state,
//! under one lock, with no task of their own: a request is queued by the HTTP handler that
//! received it, and its answer goes from the service's send straight into that request's SSE
//! stream. (rmcp's own session manager runs a worker task between the two: one more thread
//! hand-off each way per call, and four channels of 32 preallocated slots per session.)
//!
//! Where the service's messages go, as the Streamable HTTP transport requires:
//! - a response or an error goes to the stream of the request it answers, and ends it;
//! - a progress notification goes to the stream of the request that carried its token;
//! - a request to the client (an elicitation) goes to the stream of the request it was made
//!   for, which rmcp marks with [`OriginatingRequestId`]; a cancellation to the request it
//!   names;
//! - anything else goes to the standalone stream (`GET`), or waits for one in a short backlog.
//!
//! Streams carry no event ids, so no client asks to resume one; see
//! [`Sessions::resume`](super::Sessions) for the standalone stream's priming id.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use rmcp::{
    RoleServer,
    model::{
        ClientJsonRpcMessage, ClientNotification, GetExtensions, GetMeta, ProgressToken, RequestId,
        ServerJsonRpcMessage, ServerNotification,
    },
    service::OriginatingRequestId,
    transport::{Transport, streamable_http_server::session::ServerSseMessage},
};
use tokio::{
    sync::{Notify, mpsc, oneshot},
    time::Instant,
};

/// Client messages queued for the service and not yet read; past this a message is refused.
const MAX_QUEUED: usize = 64;
/// Messages an SSE stream holds before the service waits for the client to read.
const STREAM_BUFFER: usize = 16;
/// Messages for the standalone stream kept while none is open; past this the oldest goes.
const MAX_BACKLOG: usize = STREAM_BUFFER;

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("session not found")]
    NotFound,
    #[error("the session has ended")]
    Ended,
    #[error("the session has {MAX_QUEUED} messages waiting to be read; retry shortly")]
    Busy,
    #[error("a request with id {0} is already in flight in this session")]
    DuplicateRequest(RequestId),
    #[error("the session ended before it answered initialize")]
    NoInitializeAnswer,
}

/// The shared state of one session (see the module documentation).
pub struct Session {
    state: Mutex<State>,
    /// Wakes the service when a message is queued or the session ends. `notify_one` keeps a
    /// permit when the service is not waiting, so no wake-up is lost.
    arrived: Notify,
}

struct State {
    queued: VecDeque<ClientJsonRpcMessage>,
    ended: bool,
    /// When a message last came in or went out; the session expires idle from here.
    last_active: Instant,
    /// The stream of each request in flight, by the client's request id.
    requests: HashMap<RequestId, InFlight>,
    /// The progress tokens of requests in flight, with the request each belongs to.
    progress: HashMap<ProgressToken, RequestId>,
    standalone: Option<mpsc::Sender<ServerSseMessage>>,
    backlog: VecDeque<ServerSseMessage>,
    /// The `initialize` request waiting for its answer.
    initialize: Option<(RequestId, oneshot::Sender<ServerJsonRpcMessage>)>,
}

struct InFlight {
    stream: mpsc::Sender<ServerSseMessage>,
    progress: Option<ProgressToken>,
}

/// A message a full stream could not take at once: the send waits for room.
type Waiting = Option<(mpsc::Sender<ServerSseMessage>, ServerSseMessage)>;

impl Session {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                queued: VecDeque::new(),
                ended: false,
                last_active: Instant::now(),
                requests: HashMap::new(),
                progress: HashMap::new(),
                standalone: None,
                backlog: VecDeque::new(),
                initialize: None,
            }),
            arrived: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queue the `initialize` request; its answer arrives on the receiver.
    pub fn initialize(
        &self,
        message: ClientJsonRpcMessage,
    ) -> Result<oneshot::Receiver<ServerJsonRpcMessage>, SessionError> {
        let (answer, answered) = oneshot::channel();
        let mut state = self.lock();
        if let ClientJsonRpcMessage::Request(request) = &message {
            state.initialize = Some((request.id.clone(), answer));
        }
        self.enqueue(state, message)?;
        Ok(answered)
    }

    /// Queue a request; the stream of what the service sends for it, ending with its answer.
    pub fn request(
        &self,
        message: ClientJsonRpcMessage,
    ) -> Result<mpsc::Receiver<ServerSseMessage>, SessionError> {
        let (stream, receiver) = mpsc::channel(STREAM_BUFFER);
        let mut state = self.lock();
        if state.ended {
            return Err(SessionError::Ended);
        }
        if let ClientJsonRpcMessage::Request(request) = &message {
            if state.requests.contains_key(&request.id) {
                return Err(SessionError::DuplicateRequest(request.id.clone()));
            }
            let progress = request.request.get_meta().get_progress_token();
            if let Some(token) = &progress {
                state.progress.insert(token.clone(), request.id.clone());
            }
            let id = request.id.clone();
            state
                .requests
                .insert(id.clone(), InFlight { stream, progress });
            if let Err(refused) = self.enqueue(state, message) {
                self.lock().forget(&id);
                return Err(refused);
            }
        } else {
            self.enqueue(state, message)?;
        }
        Ok(receiver)
    }

    /// Queue a notification, or the client's answer to a request of the service's. A
    /// cancellation ends the cancelled request's stream at once.
    pub fn accept(&self, message: ClientJsonRpcMessage) -> Result<(), SessionError> {
        let mut state = self.lock();
        if let ClientJsonRpcMessage::Notification(notification) = &message
            && let ClientNotification::CancelledNotification(cancelled) = &notification.notification
            && let Some(id) = &cancelled.params.request_id
        {
            state.forget(id);
        }
        self.enqueue(state, message)
    }

    /// Open the standalone stream, with what waited for one. A stream opened before ends:
    /// a client that reconnects replaces its old stream.
    pub fn standalone(&self) -> Result<mpsc::Receiver<ServerSseMessage>, SessionError> {
        let (stream, receiver) = mpsc::channel(STREAM_BUFFER);
        let mut state = self.lock();
        if state.ended {
            return Err(SessionError::Ended);
        }
        // The backlog holds at most the stream's buffer, so every message fits.
        for message in state.backlog.drain(..) {
            let _ = stream.try_send(message);
        }
        state.standalone = Some(stream);
        Ok(receiver)
    }

    /// End the session: the service reads no more, and every open stream ends.
    pub fn end(&self) {
        let mut state = self.lock();
        state.ended = true;
        state.queued.clear();
        state.requests.clear();
        state.progress.clear();
        state.standalone = None;
        state.backlog.clear();
        state.initialize = None;
        drop(state);
        self.arrived.notify_one();
    }

    fn enqueue(
        &self,
        mut state: MutexGuard<'_, State>,
        message: ClientJsonRpcMessage,
    ) -> Result<(), SessionError> {
        if state.ended {
            return Err(SessionError::Ended);
        }
        if state.queued.len() >= MAX_QUEUED {
            return Err(SessionError::Busy);
        }
        state.queued.push_back(message);
        state.last_active = Instant::now();
        drop(state);
        self.arrived.notify_one();
        Ok(())
    }

    /// Route one of the service's messages (see the module documentation).
    fn deliver(&self, message: ServerJsonRpcMessage) -> Waiting {
        let mut state = self.lock();
        state.last_active = Instant::now();
        match &message {
            ServerJsonRpcMessage::Response(response) => {
                let id = response.id.clone();
                state.answer(&id, message)
            }
            ServerJsonRpcMessage::Error(error) => match error.id.clone() {
                Some(id) => state.answer(&id, message),
                None => state.send_to_standalone(message),
            },
            ServerJsonRpcMessage::Notification(notification) => {
                let to = match &notification.notification {
                    ServerNotification::ProgressNotification(progress) => {
                        state.progress.get(&progress.params.progress_token).cloned()
                    }
                    ServerNotification::CancelledNotification(cancelled) => {
                        cancelled.params.request_id.clone()
                    }
                    _ => None,
                };
                state.send_to_request(to, message)
            }
            ServerJsonRpcMessage::Request(request) => {
                let to = request
                    .request
                    .extensions()
                    .get::<OriginatingRequestId>()
                    .map(|originating| originating.0.clone());
                state.send_to_request(to, message)
            }
        }
    }

    /// End the session if it has been idle for `keep_alive` with no request in flight;
    /// otherwise when to look again.
    fn expire(&self, keep_alive: Duration) -> Result<(), Instant> {
        let state = self.lock();
        let at = state.idle_deadline(keep_alive);
        if at > Instant::now() {
            return Err(at);
        }
        drop(state);
        self.end();
        Ok(())
    }
}

impl State {
    /// When the session would expire idle; with a request in flight, a full period from now.
    fn idle_deadline(&self, keep_alive: Duration) -> Instant {
        if self.requests.is_empty() {
            self.last_active + keep_alive
        } else {
            Instant::now() + keep_alive
        }
    }

    /// Drop a request's stream (it ends once its last message is read) and its token.
    fn forget(&mut self, id: &RequestId) -> Option<mpsc::Sender<ServerSseMessage>> {
        let in_flight = self.requests.remove(id)?;
        if let Some(token) = in_flight.progress {
            self.progress.remove(&token);
        }
        Some(in_flight.stream)
    }

    fn answer(&mut self, id: &RequestId, message: ServerJsonRpcMessage) -> Waiting {
        if self.initialize.as_ref().is_some_and(|(init, _)| init == id)
            && let Some((_, answer)) = self.initialize.take()
        {
            let _ = answer.send(message);
            return None;
        }
        match self.forget(id) {
            Some(stream) => offer(stream, message),
            None => {
                // The client cancelled it, or the session ended: nobody waits for it.
                tracing::debug!(%id, "answer to a request whose stream is gone dropped");
                None
            }
        }
    }

    fn send_to_request(&mut self, id: Option<RequestId>, message: ServerJsonRpcMessage) -> Waiting {
        match id.and_then(|id| self.requests.get(&id)) {
            Some(in_flight) => offer(in_flight.stream.clone(), message),
            None => self.send_to_standalone(message),
        }
    }

    fn send_to_standalone(&mut self, message: ServerJsonRpcMessage) -> Waiting {
        if let Some(stream) = self.standalone.as_ref().filter(|s| !s.is_closed()) {
            return offer(stream.clone(), message);
        }
        self.standalone = None;
        if self.backlog.len() >= MAX_BACKLOG {
            self.backlog.pop_front();
            tracing::warn!(
                "a message for the standalone stream was dropped: no stream open and \
                 {MAX_BACKLOG} already waiting"
            );
        }
        self.backlog
            .push_back(ServerSseMessage::from_message(message));
        None
    }
}

/// Put a message on a stream now if it has room (so messages keep their order), else hand
/// it back to wait for room.
fn offer(stream: mpsc::Sender<ServerSseMessage>, message: ServerJsonRpcMessage) -> Waiting {
    match stream.try_send(ServerSseMessage::from_message(message)) {
        Ok(()) => None,
        Err(mpsc::error::TrySendError::Full(message)) => Some((stream, message)),
        // The client stopped reading (disconnected): nobody is left to tell.
        Err(mpsc::error::TrySendError::Closed(_)) => None,
    }
}

/// The transport rmcp's service reads and writes for one session.
pub struct SessionTransport {
    session: Arc<Session>,
    keep_alive: Duration,
}

impl SessionTransport {
    pub fn new(session: Arc<Session>, keep_alive: Duration) -> Self {
        Self {
            session,
            keep_alive,
        }
    }
}

impl Transport<RoleServer> for SessionTransport {
    type Error = SessionError;

    fn send(
        &mut self,
        message: ServerJsonRpcMessage,
    ) -> impl Future<Output = Result<(), SessionError>> + Send + 'static {
        let waiting = self.session.deliver(message);
        async move {
            if let Some((stream, message)) = waiting {
                // Err only when the client stopped reading; nobody is left to tell.
                let _ = stream.send(message).await;
            }
            Ok(())
        }
    }

    async fn receive(&mut self) -> Option<ClientJsonRpcMessage> {
        loop {
            let arrived = self.session.arrived.notified();
            let deadline = {
                let mut state = self.session.lock();
                if let Some(message) = state.queued.pop_front() {
                    return Some(message);
                }
                if state.ended {
                    return None;
                }
                state.idle_deadline(self.keep_alive)
            };
            tokio::select! {
                () = arrived => {}
                () = tokio::time::sleep_until(deadline) => {
                    if self.session.expire(self.keep_alive).is_ok() {
                        tracing::debug!("session ended after {:?} idle", self.keep_alive);
                        return None;
                    }
                }
            }
        }
    }

    async fn close(&mut self) -> Result<(), SessionError> {
        self.session.end();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
    use serde_json::{Value, json};

    use super::*;

    fn client(message: Value) -> ClientJsonRpcMessage {
        serde_json::from_value(message).unwrap()
    }

    fn server(message: Value) -> ServerJsonRpcMessage {
        serde_json::from_value(message).unwrap()
    }

    fn call(id: i64, progress_token: Option<&str>) -> ClientJsonRpcMessage {
        let mut params = json!({"name": "get_test_case", "arguments": {}});
        if let Some(token) = progress_token {
            params["_meta"] = json!({"progressToken": token});
        }
        client(json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}))
    }

    fn answer(id: i64) -> ServerJsonRpcMessage {
        server(json!({"jsonrpc": "2.0", "id": id, "result": {"content": []}}))
    }

    fn progress(token: &str) -> ServerJsonRpcMessage {
        server(json!({"jsonrpc": "2.0", "method": "notifications/progress",
            "params": {"progressToken": token, "progress": 1}}))
    }

    fn list_changed() -> ServerJsonRpcMessage {
        server(json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}))
    }

    /// The JSON of what a stream holds now; `None` once it has ended.
    fn next(stream: &mut mpsc::Receiver<ServerSseMessage>) -> Option<Value> {
        match stream.try_recv() {
            Ok(event) => Some(serde_json::to_value(event.message.unwrap().as_ref()).unwrap()),
            Err(mpsc::error::TryRecvError::Disconnected) => None,
            Err(mpsc::error::TryRecvError::Empty) => panic!("the stream is open but empty"),
        }
    }

    fn transport(session: &Arc<Session>) -> SessionTransport {
        SessionTransport::new(session.clone(), Duration::from_secs(300))
    }

    #[tokio::test]
    async fn a_request_stream_carries_its_progress_then_its_answer_and_ends() {
        let session = Session::new();
        let mut service = transport(&session);
        let mut one = session.request(call(1, Some("p1"))).unwrap();
        let mut two = session.request(call(2, None)).unwrap();
        assert!(service.receive().await.is_some());
        assert!(service.receive().await.is_some());

        service.send(progress("p1")).await.unwrap();
        service.send(answer(2)).await.unwrap();
        service.send(answer(1)).await.unwrap();
        assert_eq!(next(&mut one).unwrap()["method"], "notifications/progress");
        assert_eq!(next(&mut one).unwrap()["id"], 1);
        assert_eq!(next(&mut one), None);
        assert_eq!(next(&mut two).unwrap()["id"], 2);
        assert_eq!(next(&mut two), None);
    }

    #[tokio::test]
    async fn a_request_to_the_client_rides_the_stream_of_the_request_it_serves() {
        let session = Session::new();
        let mut service = transport(&session);
        let mut call_stream = session.request(call(7, None)).unwrap();
        let elicit = json!({"jsonrpc": "2.0", "id": 0, "method": "elicitation/create",
            "params": {"mode": "form", "message": "Sure?", "requestedSchema": {"type": "object", "properties": {}}}});
        let mut associated = server(elicit.clone());
        let ServerJsonRpcMessage::Request(request) = &mut associated else {
            panic!("a request")
        };
        request
            .request
            .extensions_mut()
            .insert(OriginatingRequestId(RequestId::Number(7)));
        service.send(associated).await.unwrap();
        assert_eq!(
            next(&mut call_stream).unwrap()["method"],
            "elicitation/create"
        );

        // Without the mark it waits for the standalone stream.
        service.send(server(elicit)).await.unwrap();
        let mut standalone = session.standalone().unwrap();
        assert_eq!(
            next(&mut standalone).unwrap()["method"],
            "elicitation/create"
        );
    }

    #[tokio::test]
    async fn notifications_wait_for_a_standalone_stream_and_a_new_one_replaces_the_old() {
        let session = Session::new();
        let mut service = transport(&session);
        for _ in 0..MAX_BACKLOG + 3 {
            service.send(list_changed()).await.unwrap();
        }
        let mut first = session.standalone().unwrap();
        for _ in 0..MAX_BACKLOG {
            assert!(next(&mut first).is_some());
        }
        let mut second = session.standalone().unwrap();
        assert_eq!(next(&mut first), None, "replaced, so ended");
        service.send(list_changed()).await.unwrap();
        assert!(next(&mut second).is_some());
    }

    #[tokio::test]
    async fn a_cancelled_request_stream_ends_and_its_late_answer_goes_nowhere() {
        let session = Session::new();
        let mut service = transport(&session);
        let mut stream = session.request(call(3, Some("p3"))).unwrap();
        service.receive().await.unwrap();
        session
            .accept(client(
                json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                "params": {"requestId": 3}}),
            ))
            .unwrap();
        assert_eq!(next(&mut stream), None);
        // The cancellation reaches the service too.
        assert!(service.receive().await.is_some());
        service.send(answer(3)).await.unwrap();
        service.send(progress("p3")).await.unwrap();
        let mut standalone = session.standalone().unwrap();
        assert_eq!(
            next(&mut standalone).unwrap()["method"],
            "notifications/progress",
            "a token no request holds any more goes to the standalone stream, the answer nowhere"
        );
        assert!(standalone.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_duplicate_request_id_and_a_full_queue_are_refused() {
        let session = Session::new();
        let _one = session.request(call(1, None)).unwrap();
        assert!(matches!(
            session.request(call(1, None)),
            Err(SessionError::DuplicateRequest(_))
        ));
        for id in 2..=MAX_QUEUED as i64 {
            session.request(call(id, None)).unwrap();
        }
        assert!(matches!(
            session.request(call(1000, None)),
            Err(SessionError::Busy)
        ));
        // The refused request left nothing behind: its id is free once the queue drains.
        let mut service = transport(&session);
        service.receive().await.unwrap();
        session.request(call(1000, None)).unwrap();
    }

    #[tokio::test]
    async fn initialize_is_answered_through_its_own_channel() {
        let session = Session::new();
        let mut service = transport(&session);
        let answered = session
            .initialize(client(
                json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                    "clientInfo": {"name": "t", "version": "1"}}}),
            ))
            .unwrap();
        assert!(service.receive().await.is_some());
        service.send(answer(0)).await.unwrap();
        assert!(matches!(
            answered.await.unwrap(),
            ServerJsonRpcMessage::Response(_)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_session_ends_but_not_while_a_request_is_in_flight() {
        let session = Session::new();
        let mut service = SessionTransport::new(session.clone(), Duration::from_secs(60));
        let _stream = session.request(call(1, None)).unwrap();
        service.receive().await.unwrap();
        // In flight for twice the keep-alive: the session stays.
        let waiting = tokio::time::timeout(Duration::from_secs(120), service.receive()).await;
        assert!(waiting.is_err(), "still open");
        service.send(answer(1)).await.unwrap();
        let started = Instant::now();
        assert!(service.receive().await.is_none(), "ends once idle");
        assert!(started.elapsed() >= Duration::from_secs(60));
        assert!(matches!(
            session.request(call(2, None)),
            Err(SessionError::Ended)
        ));
    }

    #[tokio::test]
    async fn an_ended_session_ends_its_streams_and_its_service() {
        let session = Session::new();
        let mut service = transport(&session);
        let mut stream = session.request(call(1, None)).unwrap();
        let mut standalone = session.standalone().unwrap();
        service.receive().await.unwrap();
        session.end();
        assert_eq!(next(&mut stream), None);
        assert_eq!(next(&mut standalone), None);
        assert!(service.receive().await.is_none());
        assert!(matches!(session.standalone(), Err(SessionError::Ended)));
    }
}
