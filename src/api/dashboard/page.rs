//! Rendering pages: the templates (embedded in the binary, HTML-escaped by tera), the
//! security headers every dashboard answer has, and errors as pages in plain words.

use crate::api::error::ApiError;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use std::fmt;
use std::sync::OnceLock;

/// Scripts and styles only from disco itself; nothing inline, no frames, forms post home.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The security headers of every dashboard answer.
pub const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
];

const TEMPLATES: [(&str, &str); 9] = [
    (
        "base.html",
        include_str!("../../../templates/dashboard/base.html"),
    ),
    (
        "sign_in.html",
        include_str!("../../../templates/dashboard/sign_in.html"),
    ),
    (
        "list.html",
        include_str!("../../../templates/dashboard/list.html"),
    ),
    (
        "new.html",
        include_str!("../../../templates/dashboard/new.html"),
    ),
    (
        "cluster.html",
        include_str!("../../../templates/dashboard/cluster.html"),
    ),
    (
        "delete.html",
        include_str!("../../../templates/dashboard/delete.html"),
    ),
    (
        "secrets.html",
        include_str!("../../../templates/dashboard/secrets.html"),
    ),
    (
        "error.html",
        include_str!("../../../templates/dashboard/error.html"),
    ),
    (
        "macros.html",
        include_str!("../../../templates/dashboard/macros.html"),
    ),
];

fn templates() -> &'static Result<tera::Tera, String> {
    static TERA: OnceLock<Result<tera::Tera, String>> = OnceLock::new();
    TERA.get_or_init(|| {
        let mut tera = tera::Tera::default();
        // `.html` names are autoescaped: every value a user chose renders as text.
        tera.add_raw_templates(TEMPLATES)
            .map_err(|e| format!("{e:?}"))?;
        Ok(tera)
    })
}

/// Checks at start-up that the embedded templates parse.
pub fn check_templates() -> Result<(), String> {
    templates().as_ref().map(|_| ()).map_err(Clone::clone)
}

/// Renders a template into a `text/html` answer.
pub fn render(
    status: StatusCode,
    name: &str,
    context: &tera::Context,
) -> Result<HttpResponse, PageError> {
    let tera = templates().as_ref().map_err(PageError::internal)?;
    let body = tera
        .render(name, context)
        .map_err(|e| PageError::internal(format!("{name}: {e:?}")))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(body))
}

/// `303 See Other` to a dashboard location (after a form, as browsers expect).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", location))
        .finish()
}

/// What went wrong, as a page.
#[derive(Debug)]
pub enum PageError {
    /// No live session: go and sign in (`expired` when the browser had one).
    SignIn {
        expired: bool,
    },
    Message {
        status: StatusCode,
        message: String,
    },
}

impl PageError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> PageError {
        PageError::Message {
            status,
            message: message.into(),
        }
    }

    pub fn internal(error: impl fmt::Display) -> PageError {
        tracing::error!(%error, "dashboard internal error");
        PageError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong inside disco; nothing was changed. The server log says more.",
        )
    }

    pub fn not_found() -> PageError {
        PageError::new(
            StatusCode::NOT_FOUND,
            "There is no such cluster among yours. It may have been deleted.",
        )
    }
}

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> PageError {
        PageError::new(error.status, error.message)
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(error: crate::store::StoreError) -> PageError {
        PageError::internal(error)
    }
}

impl From<actix_web::error::BlockingError> for PageError {
    fn from(error: actix_web::error::BlockingError) -> PageError {
        PageError::internal(error)
    }
}

impl fmt::Display for PageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PageError::SignIn { .. } => f.write_str("sign in first"),
            PageError::Message { status, message } => write!(f, "{status} {message}"),
        }
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::SignIn { .. } => StatusCode::SEE_OTHER,
            PageError::Message { status, .. } => *status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            PageError::SignIn { expired } => see_other(if *expired {
                "/dashboard/sign-in?expired=1"
            } else {
                "/dashboard/sign-in"
            }),
            PageError::Message { status, message } => {
                let mut context = tera::Context::new();
                context.insert("status", &status.as_u16());
                context.insert("reason", status.canonical_reason().unwrap_or("Error"));
                context.insert("message", message);
                render(*status, "error.html", &context).unwrap_or_else(|_| {
                    HttpResponse::build(*status)
                        .content_type("text/plain; charset=utf-8")
                        .body(message.clone())
                })
            }
        }
    }
}
