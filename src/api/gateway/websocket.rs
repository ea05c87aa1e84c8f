//! WebSockets through the gateway (Jupyter kernels, Zeppelin notebooks): the gateway opens
//! the node's WebSocket first, then accepts the client's, and relays messages both ways until
//! either end closes, which closes the other.

use super::headers;
use super::proxy::request_headers;
use super::Target;
use crate::api::error::ApiError;
use actix_web::http::header::{HeaderValue, SEC_WEBSOCKET_PROTOCOL};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message as NodeMessage;

/// The largest message relayed, either way (Jupyter sends outputs such as images whole).
const MAX_MESSAGE: usize = 64 << 20;

/// Whether the client asks to upgrade to a WebSocket.
pub fn is_upgrade(request: &HttpRequest) -> bool {
    request
        .headers()
        .get("upgrade")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Opens the node's WebSocket, accepts the client's, and relays between them.
pub async fn relay(
    request: &HttpRequest,
    payload: web::Payload,
    target: &Target,
) -> Result<HttpResponse, ApiError> {
    let mut outgoing = target
        .ws_url()
        .into_client_request()
        .map_err(|e| target.unreachable(&e))?;
    for (name, value) in headers::to_node(&request_headers(request))
        .into_iter()
        .chain(target.forwarding.iter().cloned())
    {
        // The WebSocket library writes the handshake's host; an Origin would be compared with it.
        if name == "host" || name == "origin" {
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes()),
            tokio_tungstenite::tungstenite::http::HeaderValue::from_bytes(&value),
        ) {
            outgoing.headers_mut().append(name, value);
        }
    }
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let (node, answer) =
        tokio_tungstenite::connect_async_with_config(outgoing, Some(config), false)
            .await
            .map_err(|e| refused(target, e))?;
    let protocol = answer.headers().get("sec-websocket-protocol").cloned();
    let (mut response, session, client) = actix_ws::handle(request, payload)
        .map_err(|e| ApiError::bad_request(format!("not a valid WebSocket request: {e}")))?;
    if let Some(protocol) = protocol.and_then(|p| HeaderValue::from_bytes(p.as_bytes()).ok()) {
        response
            .headers_mut()
            .insert(SEC_WEBSOCKET_PROTOCOL, protocol);
    }
    let client = client
        .max_frame_size(MAX_MESSAGE)
        .aggregate_continuations()
        .max_continuation_size(MAX_MESSAGE);
    let name = target.ui.name.to_string();
    actix_web::rt::spawn(async move {
        shuttle(session, client, node).await;
        tracing::debug!(ui = %name, "a WebSocket through the gateway closed");
    });
    Ok(response)
}

/// The node's own refusal (e.g. Jupyter's `403` without its token) keeps its status; a node
/// that cannot be reached is a `502`.
fn refused(target: &Target, error: tokio_tungstenite::tungstenite::Error) -> ApiError {
    match error {
        tokio_tungstenite::tungstenite::Error::Http(answer) => {
            let status = actix_web::http::StatusCode::from_u16(answer.status().as_u16())
                .unwrap_or(actix_web::http::StatusCode::BAD_GATEWAY);
            ApiError::new(
                status,
                format!(
                    "the UI `{}` refused the WebSocket with {status}",
                    target.ui.name
                ),
            )
        }
        other => target.unreachable(&other),
    }
}

async fn shuttle(
    mut session: actix_ws::Session,
    mut client: actix_ws::AggregatedMessageStream,
    node: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) {
    use actix_ws::AggregatedMessage as Client;
    let (mut to_node, mut from_node) = node.split();
    loop {
        tokio::select! {
            message = client.recv() => {
                let forwarded = match message {
                    Some(Ok(Client::Text(text))) => NodeMessage::text(text.to_string()),
                    Some(Ok(Client::Binary(bytes))) => NodeMessage::Binary(bytes),
                    Some(Ok(Client::Ping(bytes))) => NodeMessage::Ping(bytes),
                    Some(Ok(Client::Pong(bytes))) => NodeMessage::Pong(bytes),
                    Some(Ok(Client::Close(reason))) => {
                        let frame = reason.map(|r| CloseFrame {
                            code: u16::from(r.code).into(),
                            reason: r.description.unwrap_or_default().into(),
                        });
                        let _ = to_node.send(NodeMessage::Close(frame)).await;
                        let _ = session.close(None).await;
                        break;
                    }
                    Some(Err(_)) | None => {
                        let _ = to_node.send(NodeMessage::Close(None)).await;
                        let _ = session.close(None).await;
                        break;
                    }
                };
                if to_node.send(forwarded).await.is_err() {
                    let _ = session.close(None).await;
                    break;
                }
            }
            message = from_node.next() => {
                let sent = match message {
                    Some(Ok(NodeMessage::Text(text))) => session.text(text.as_str().to_owned()).await,
                    Some(Ok(NodeMessage::Binary(bytes))) => session.binary(bytes).await,
                    Some(Ok(NodeMessage::Ping(bytes))) => session.ping(&bytes).await,
                    Some(Ok(NodeMessage::Pong(bytes))) => session.pong(&bytes).await,
                    Some(Ok(NodeMessage::Frame(_))) => Ok(()),
                    Some(Ok(NodeMessage::Close(frame))) => {
                        let reason = frame.map(|f| actix_ws::CloseReason {
                            code: u16::from(f.code).into(),
                            description: Some(f.reason.as_str().to_owned()).filter(|d| !d.is_empty()),
                        });
                        let _ = session.close(reason).await;
                        let _ = to_node.close().await;
                        break;
                    }
                    Some(Err(_)) | None => {
                        let _ = session.close(None).await;
                        break;
                    }
                };
                if sent.is_err() {
                    let _ = to_node.send(NodeMessage::Close(None)).await;
                    break;
                }
            }
        }
    }
}
