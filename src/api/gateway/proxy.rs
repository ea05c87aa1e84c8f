//! Plain HTTP through the gateway: the request goes to the node with its body streamed as it
//! arrives, and the answer comes back streamed as it is read, never held whole.

use super::headers::{self, Header};
use super::links::LinkRewriter;
use super::route::rewrite_location;
use super::Target;
use crate::api::error::ApiError;
use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use futures_util::StreamExt;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::mpsc;

/// The client to nodes: no redirects followed (the browser follows them, rewritten), no
/// proxies from the environment, and a bound on how long a node may take to accept.
fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default()
    })
}

/// The request body as reqwest reads it: chunks handed over from actix's (thread-bound)
/// payload through a small channel, so at most a few chunks wait in memory.
struct Chunks(mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl futures_util::Stream for Chunks {
    type Item = Result<Bytes, std::io::Error>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

fn streamed_body(mut payload: web::Payload) -> reqwest::Body {
    let (sender, receiver) = mpsc::channel(4);
    actix_web::rt::spawn(async move {
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| std::io::Error::other(e.to_string()));
            let failed = chunk.is_err();
            if sender.send(chunk).await.is_err() || failed {
                break;
            }
        }
    });
    reqwest::Body::wrap_stream(Chunks(receiver))
}

/// The request's headers, as name and raw value.
pub fn request_headers(request: &HttpRequest) -> Vec<Header> {
    request
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
        .collect()
}

fn has_body(request: &HttpRequest) -> bool {
    let headers = request.headers();
    headers.contains_key("transfer-encoding")
        || headers
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

/// Sends the request to the node and streams its answer back.
pub async fn forward(
    request: &HttpRequest,
    payload: web::Payload,
    target: &Target,
) -> Result<HttpResponse, ApiError> {
    let method = reqwest::Method::from_bytes(request.method().as_str().as_bytes())
        .map_err(|_| ApiError::bad_request("the request's method is not valid HTTP"))?;
    let mut outgoing = reqwest::header::HeaderMap::new();
    for (name, value) in headers::to_node(&request_headers(request))
        .into_iter()
        .chain(target.forwarding.iter().cloned())
    {
        if let (Ok(name), Ok(value)) = (
            reqwest::header::HeaderName::from_bytes(name.as_bytes()),
            reqwest::header::HeaderValue::from_bytes(&value),
        ) {
            outgoing.append(name, value);
        }
    }
    if target.ui.ui.rewrite_links {
        // Pages whose links the gateway rewrites must come uncompressed.
        outgoing.insert(
            reqwest::header::ACCEPT_ENCODING,
            reqwest::header::HeaderValue::from_static("identity"),
        );
    }
    let mut builder = client()
        .request(method, target.http_url())
        .headers(outgoing);
    if has_body(request) {
        builder = builder.body(streamed_body(payload));
    }
    let answer = builder
        .send()
        .await
        .map_err(|e| target.unreachable(&e.without_url()))?;
    let status = StatusCode::from_u16(answer.status().as_u16())
        .map_err(|_| target.unreachable(&"an invalid status"))?;
    let received: Vec<Header> = answer
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
        .collect();
    let rewrite = target.ui.ui.rewrite_links && is_plain_html(&received);
    let mut response = HttpResponse::build(status);
    for (name, value) in headers::to_client(&received) {
        if rewrite && name == "content-length" {
            continue;
        }
        let value = if name == "location" {
            rewrite_location(
                &String::from_utf8_lossy(&value),
                &target.upstream_origin(),
                &target.public_origin,
                &target.prefix,
                target.ui.ui.prefix,
            )
            .into_bytes()
        } else {
            value
        };
        if let Ok(value) = actix_web::http::header::HeaderValue::from_bytes(&value) {
            response.append_header((name, value));
        }
    }
    if rewrite {
        let links = LinkRewriter::new(&target.prefix);
        return Ok(response.streaming(Rewritten {
            inner: Box::pin(answer.bytes_stream()),
            links: Some(links),
        }));
    }
    Ok(response.streaming(answer.bytes_stream()))
}

/// Whether an answer is an HTML page as sent, without a content encoding to undo.
fn is_plain_html(headers: &[Header]) -> bool {
    let value = |wanted: &str| {
        headers
            .iter()
            .find(|(name, _)| name == wanted)
            .map(|(_, v)| String::from_utf8_lossy(v).to_ascii_lowercase())
    };
    value("content-type").is_some_and(|t| t.trim_start().starts_with("text/html"))
        && value("content-encoding").is_none_or(|e| e.trim() == "identity")
}

type ByteStream = Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, reqwest::Error>> + Send>>;

/// A page streamed through a [`LinkRewriter`], its held-back end sent when the page ends.
struct Rewritten {
    inner: ByteStream,
    links: Option<LinkRewriter>,
}

impl futures_util::Stream for Rewritten {
    type Item = Result<Bytes, reqwest::Error>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            let Some(links) = this.links.as_mut() else {
                return Poll::Ready(None);
            };
            match this.inner.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(chunk))) => {
                    let out = links.feed(&chunk);
                    if !out.is_empty() {
                        return Poll::Ready(Some(Ok(Bytes::from(out))));
                    }
                }
                Poll::Ready(None) => {
                    let rest = this
                        .links
                        .take()
                        .map(LinkRewriter::finish)
                        .unwrap_or_default();
                    return Poll::Ready((!rest.is_empty()).then(|| Ok(Bytes::from(rest))));
                }
            }
        }
    }
}
