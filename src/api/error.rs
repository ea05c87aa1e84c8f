//! The one error type of the HTTP edge: a status and a message that says what to fix.

use crate::auth::AuthError;
use crate::occi::render::render_message;
use crate::occi::MediaType;
use crate::store::capacity::LimitReached;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use std::fmt;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// The rendering the client asked for, when known.
    pub media: MediaType,
    /// When the client may try again (`Retry-After`, whole seconds), for `429` and `503`.
    pub retry_after: Option<std::time::Duration>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            media: MediaType::TextPlain,
            retry_after: None,
        }
    }

    /// Tells the client when to try again.
    pub fn retry_after(mut self, after: std::time::Duration) -> ApiError {
        self.retry_after = Some(after);
        self
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    pub fn internal(error: impl fmt::Display) -> ApiError {
        tracing::error!(%error, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error; nothing was changed (see the server log)",
        )
    }

    pub fn in_media(mut self, media: MediaType) -> ApiError {
        self.media = media;
        self
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let rendered = render_message(self.status.as_u16(), &self.message, self.media);
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header(("WWW-Authenticate", "X-User-Name/X-Password"));
        }
        if let Some(after) = self.retry_after {
            let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
            response.insert_header(("Retry-After", secs.max(1).to_string()));
        }
        response
            .content_type(rendered.content_type)
            .body(rendered.body)
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> ApiError {
        ApiError::internal(error)
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(error: actix_web::error::BlockingError) -> ApiError {
        ApiError::internal(error)
    }
}

/// `401`, `403`, `429` (with `Retry-After`) or `503`.
impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> ApiError {
        match error {
            AuthError::Rejected(m) => ApiError::new(StatusCode::UNAUTHORIZED, m),
            AuthError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, m),
            AuthError::Throttled {
                message,
                retry_after,
            } => ApiError::new(StatusCode::TOO_MANY_REQUESTS, message).retry_after(retry_after),
            AuthError::Unavailable {
                message,
                retry_after,
            } => {
                let error = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message);
                match retry_after {
                    Some(after) => error.retry_after(after),
                    None => error,
                }
            }
        }
    }
}

/// The tenant's own limit is `403`; disco's limits for everyone are `503`: the service is
/// full, not the request wrong.
impl From<LimitReached> for ApiError {
    fn from(limit: LimitReached) -> ApiError {
        let status = match limit {
            LimitReached::Tenant { .. } => StatusCode::FORBIDDEN,
            LimitReached::Clusters { .. } | LimitReached::Nodes { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        };
        ApiError::new(status, limit.to_string())
    }
}
