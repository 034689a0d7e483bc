//! Micro-batching of request streams: what has arrived is answered together (one sorted pass,
//! one audit entry), answers in request order, with memory bounded whatever the client does.

use super::proto;
use futures_util::stream::FuturesOrdered;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tonic::{Status, Streaming};

/// Requests a stream's reader gathers while the answering side is busy; as many again wait in
/// the hand-off to it, and as many in its backlog.
const REQUEST_QUEUE: usize = 16 * 1024;
/// Micro-batches of one stream being answered at once.
const ANSWERS_IN_FLIGHT: usize = 3;
/// Bytes of requests (encoded, plus [`DECODED_OVERHEAD`] each) a stream's reader holds before it
/// stops reading. The reader, the hand-off (one chunk), the backlog (at most a full batch and a
/// chunk) and the batches in flight together make a stream whose client sends large messages
/// and reads no answers hold about 3 × this plus 4 × [`MAX_BATCH_BYTES`] (40 MiB), and one
/// message being decoded.
const MAX_PENDING_BYTES: usize = 8 << 20;
/// Encoded bytes of requests in one micro-batch (a single larger message is a batch of its own).
const MAX_BATCH_BYTES: usize = 4 << 20;
/// What a request is counted as holding beyond its encoded bytes: a decoded message's strings
/// and vectors cost their headers even when empty (24 bytes each on 64-bit targets).
const DECODED_OVERHEAD: usize = 128;

/// A message of a request stream, as micro-batching counts it.
pub(super) trait Batched: prost::Message + Send + 'static {
    /// The requests it carries: 1 for a single request, the length of a batch message.
    fn requests(&self) -> usize {
        1
    }

    /// What it counts for against a micro-batch's size: its requests, and at least 1 (an empty
    /// batch message costs a response of its own).
    fn weight(&self) -> usize {
        self.requests().max(1)
    }

    /// Whether it is within the limits the protos state: a message that is not ends the
    /// stream, as an unreadable one does, after the answers to the messages before it.
    fn check(&self) -> Result<(), Status> {
        Ok(())
    }

    /// What it is counted as holding in memory, in bytes.
    fn held_bytes(&self) -> usize {
        self.encoded_len() + DECODED_OVERHEAD * self.requests().max(1)
    }
}

/// Answers a request stream in micro-batches of up to `batch_size` requests (counted by
/// [`Batched::requests`], so a batch message of 1,000 identifiers counts as 1,000), each
/// answered by `answer` on the blocking pool; responses in request order.
///
/// A reader task drains the request stream continuously into a bounded queue: h2 counts small
/// DATA frames left unread against a flood budget and drops the connection when a client
/// streaming tiny messages (grpcio sends one frame per message) outruns a server that paused
/// reading while it answered. The queue only fills, and reading only stops, when the client stops
/// reading answers: then flow control holds it back. A cancelled stream stops the work.
///
/// Requests cross to the answering side a batch at a time rather than one by one (a
/// million-request stream would otherwise pay a channel hand-off, and often a wake-up, per
/// request). Answering is driven by the response stream itself ([`Answering`]), and no timer
/// decides anything: what has arrived is answered at once when nothing of the stream is being
/// answered, so a lone request is never kept waiting. While a batch is being answered, another
/// is started only when a full one is waiting (up to [`ANSWERS_IN_FLIGHT`] at once); else the
/// requests gather until the one in flight is answered. A fast client thus gets full batches
/// answered in parallel, and a client sending one small message at a time gets its answers in
/// groups (one audit entry, one write to the socket, one wake-up of the client for many
/// answers) rather than a few at a time, which is what bounds such a client's speed.
pub(super) fn micro_batched<Req, Resp>(
    mut inbound: Streaming<Req>,
    batch_size: usize,
    answer: impl Fn(Vec<Req>) -> Result<Vec<Resp>, Status> + Send + Sync + 'static,
) -> impl tokio_stream::Stream<Item = Result<Resp, Status>> + Send + 'static
where
    Req: Batched,
    Resp: Send + 'static,
{
    // One chunk waits in the channel while the reader fills the next (at most REQUEST_QUEUE
    // requests and MAX_PENDING_BYTES).
    let (chunk_sender, chunks) = mpsc::channel::<Result<Vec<Req>, Status>>(1);
    tokio::spawn(async move {
        let mut pending: Vec<Req> = Vec::new();
        let mut pending_requests = 0usize;
        let mut pending_bytes = 0usize;
        let mut ended = false;
        loop {
            let room = pending_requests < REQUEST_QUEUE.max(batch_size) && pending_bytes < MAX_PENDING_BYTES;
            tokio::select! {
                biased;
                item = inbound.next(), if !ended && room => match item.map(|read| read.and_then(|request| request.check().map(|()| request))) {
                    Some(Ok(request)) => {
                        pending_requests += request.weight();
                        pending_bytes += request.held_bytes();
                        pending.push(request);
                    }
                    Some(Err(status)) => {
                        // Answer what came before the broken (or refused) message, then
                        // report it; nothing after it is read.
                        if !pending.is_empty() && chunk_sender.send(Ok(pending)).await.is_err() {
                            return;
                        }
                        let _ = chunk_sender.send(Err(status)).await;
                        return;
                    }
                    None => ended = true,
                },
                permit = chunk_sender.reserve(), if !pending.is_empty() => match permit {
                    Ok(permit) => {
                        (pending_requests, pending_bytes) = (0, 0);
                        permit.send(Ok(std::mem::take(&mut pending)));
                    }
                    // The response stream was dropped: the client went away or cancelled.
                    Err(_) => return,
                },
                else => return,
            }
        }
    });
    Answering {
        chunks,
        backlog: VecDeque::new(),
        backlog_requests: 0,
        backlog_bytes: 0,
        in_flight: FuturesOrdered::new(),
        current: Vec::new().into_iter(),
        broken: None,
        drained: false,
        finished: false,
        answer: Arc::new(answer),
        batch_size,
    }
}

/// The response stream of [`micro_batched`]: answers batches as it is polled for responses.
struct Answering<Req, Resp, F> {
    chunks: mpsc::Receiver<Result<Vec<Req>, Status>>,
    /// Requests received and not yet being answered.
    backlog: VecDeque<Req>,
    /// [`Batched::weight`] of the backlog.
    backlog_requests: usize,
    /// [`Batched::held_bytes`] of the backlog.
    backlog_bytes: usize,
    /// Batches being answered, in request order.
    in_flight: FuturesOrdered<tokio::task::JoinHandle<Result<Vec<Resp>, Status>>>,
    /// Answers being sent.
    current: std::vec::IntoIter<Resp>,
    /// A request that could not be read: reported after the answers to those before it.
    broken: Option<Status>,
    /// No more requests will arrive.
    drained: bool,
    finished: bool,
    answer: Arc<F>,
    batch_size: usize,
}

// Nothing in it is pinned in place (the futures in flight are boxed by tokio), so it may move.
impl<Req, Resp, F> Unpin for Answering<Req, Resp, F> {}

impl<Req, Resp, F> Answering<Req, Resp, F>
where
    Req: Batched,
    Resp: Send + 'static,
    F: Fn(Vec<Req>) -> Result<Vec<Resp>, Status> + Send + Sync + 'static,
{
    /// Whether the backlog holds a full batch, in requests or in bytes.
    fn full(&self) -> bool {
        self.backlog_requests >= self.batch_size || self.backlog_bytes >= MAX_BATCH_BYTES
    }

    /// Moves what has arrived into the backlog, until it holds a full batch (so the backlog
    /// holds at most a batch and one chunk of the reader's).
    fn receive(&mut self, context: &mut Context<'_>) {
        while !self.drained && !self.full() {
            match self.chunks.poll_recv(context) {
                Poll::Ready(Some(Ok(requests))) => {
                    for request in &requests {
                        self.backlog_requests += request.weight();
                        self.backlog_bytes += request.held_bytes();
                    }
                    self.backlog.extend(requests);
                }
                Poll::Ready(Some(Err(status))) => {
                    self.broken = Some(status);
                    self.drained = true;
                }
                Poll::Ready(None) => self.drained = true,
                Poll::Pending => return,
            }
        }
    }

    /// Whether to start answering a batch now (see [`micro_batched`]).
    fn may_start(&self) -> bool {
        !self.backlog.is_empty()
            && self.in_flight.len() < ANSWERS_IN_FLIGHT
            && (self.in_flight.is_empty() || self.drained || self.full())
    }

    /// Starts answering the next batch from the backlog: at least one message, then up to the
    /// batch's size in requests and bytes.
    fn start(&mut self) {
        let mut batch: Vec<Req> = Vec::new();
        let (mut requests, mut bytes) = (0, 0);
        while let Some(next) = self.backlog.front() {
            let weight = next.weight();
            if !batch.is_empty() && (requests + weight > self.batch_size || bytes >= MAX_BATCH_BYTES) {
                break;
            }
            requests += weight;
            bytes += next.held_bytes();
            batch.extend(self.backlog.pop_front());
        }
        self.backlog_requests -= requests;
        self.backlog_bytes -= bytes;
        let worker = self.answer.clone();
        self.in_flight
            .push_back(tokio::task::spawn_blocking(move || worker(batch)));
    }
}

impl<Req, Resp, F> tokio_stream::Stream for Answering<Req, Resp, F>
where
    Req: Batched,
    Resp: Send + 'static,
    F: Fn(Vec<Req>) -> Result<Vec<Resp>, Status> + Send + Sync + 'static,
{
    type Item = Result<Resp, Status>;

    fn poll_next(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(response) = this.current.next() {
                return Poll::Ready(Some(Ok(response)));
            }
            if this.finished {
                return Poll::Ready(None);
            }
            this.receive(context);
            while this.may_start() {
                this.start();
                this.receive(context);
            }
            match futures_util::StreamExt::poll_next_unpin(&mut this.in_flight, context) {
                Poll::Ready(Some(joined)) => match joined {
                    Ok(Ok(answers)) => this.current = answers.into_iter(),
                    Ok(Err(status)) => {
                        this.finished = true;
                        return Poll::Ready(Some(Err(status)));
                    }
                    Err(join) => {
                        this.finished = true;
                        return Poll::Ready(Some(Err(Status::internal(format!("answering failed: {join}")))));
                    }
                },
                // Nothing in flight: either everything is answered, or the next requests have
                // not arrived yet (the channel will wake this stream).
                Poll::Ready(None) if this.drained && this.backlog.is_empty() => {
                    this.finished = true;
                    return Poll::Ready(this.broken.take().map(Err));
                }
                Poll::Ready(None) | Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl Batched for proto::LookupRequest {}

impl Batched for proto::MatchRequest {}

/// INVALID_ARGUMENT if a batch message holds more than `limit` requests.
pub(super) fn at_most(requests: usize, limit: usize) -> Result<(), Status> {
    if requests > limit {
        return Err(Status::invalid_argument(format!(
            "a batch message holds {requests} requests; at most {limit} are accepted"
        )));
    }
    Ok(())
}

/// Answers a micro-batch of batch messages: their requests (taken out of each by `split`) are
/// answered together by `answer`, in order, and its answers cut back into one group per message.
pub(super) fn per_message<Message, Req, Resp>(
    messages: Vec<Message>,
    split: impl Fn(Message) -> Vec<Req>,
    answer: impl FnOnce(Vec<Req>) -> Result<Vec<Resp>, Status>,
) -> Result<Vec<Vec<Resp>>, Status>
where
    Message: Batched,
{
    let sizes: Vec<usize> = messages.iter().map(Batched::requests).collect();
    let answers = answer(messages.into_iter().flat_map(split).collect())?;
    debug_assert_eq!(answers.len(), sizes.iter().sum::<usize>());
    let mut answers = answers.into_iter();
    Ok(sizes
        .iter()
        .map(|size| answers.by_ref().take(*size).collect())
        .collect())
}
