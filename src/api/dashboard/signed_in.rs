//! Finding the session a request carries: for the dashboard's pages (which send a browser
//! without one to sign in) and for the API and UI gateway (where the cookie stands in for
//! credential headers, and a change must also prove it came from disco's own pages).

use super::page::PageError;
use super::session::{same_token, Session, Sessions, COOKIE};
use crate::api::error::ApiError;
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest};
use std::time::Instant;

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (n, v) = pair.trim().split_once('=')?;
        (n.trim() == name).then(|| v.trim().trim_matches('"'))
    })
}

/// The session id the request's cookie names.
pub fn session_id(request: &HttpRequest) -> Option<String> {
    request
        .headers()
        .get_all("cookie")
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| cookie_value(h, COOKIE).map(str::to_string))
        .filter(|id| !id.is_empty())
}

fn sessions(request: &HttpRequest) -> Option<&web::Data<Sessions>> {
    request.app_data::<web::Data<Sessions>>()
}

/// What a change authenticated by the cookie must show besides it.
#[derive(Debug, Clone, Copy)]
pub struct ChangeProof<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    /// `X-CSRF-Token`.
    pub csrf_header: Option<&'a str>,
    /// `Origin`, and the origin the request was addressed to.
    pub origin: Option<&'a str>,
    pub own_origin: &'a str,
    /// A WebSocket handshake (`Upgrade: websocket`): a `GET` that opens a channel both ways,
    /// which no CORS rule guards, so it counts as a change.
    pub websocket: bool,
}

/// Reads are free; a change needs the session's CSRF token in `X-CSRF-Token`. A framework UI
/// behind the gateway cannot send that header, so there a same-origin `Origin` will do (the
/// cookie is `SameSite=Strict` as well, but every port of a host is the same site). A
/// WebSocket needs a same-origin `Origin` everywhere.
pub fn change_allowed(proof: ChangeProof<'_>, csrf: &str) -> bool {
    if proof.websocket {
        return proof.origin == Some(proof.own_origin);
    }
    if matches!(*proof.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    if proof
        .csrf_header
        .is_some_and(|given| same_token(given, csrf))
    {
        return true;
    }
    let gateway = proof.path.starts_with("/disco/") && proof.path.contains("/ui/");
    gateway && proof.origin == Some(proof.own_origin)
}

/// The session behind an API or gateway request, when it carries the cookie and no
/// credential headers (headers win). A change without the CSRF token is `403`.
pub fn cookie_session(request: &HttpRequest) -> Result<Option<Session>, ApiError> {
    let headers = request.headers();
    if ["x-user-name", "x-password", "x-auth-token", "x-tenant-name"]
        .iter()
        .any(|h| headers.contains_key(*h))
    {
        return Ok(None);
    }
    let (Some(id), Some(sessions)) = (session_id(request), sessions(request)) else {
        return Ok(None);
    };
    let Some(session) = sessions.get(&id, Instant::now()) else {
        return Ok(None);
    };
    let own_origin = crate::api::clusters::origin(request);
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let proof = ChangeProof {
        method: request.method(),
        path: request.path(),
        csrf_header: text("x-csrf-token"),
        origin: text("origin"),
        own_origin: &own_origin,
        websocket: text("upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket")),
    };
    if !change_allowed(proof, &session.csrf) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "a change sent with the dashboard's session cookie must carry the session's CSRF \
             token in X-CSRF-Token",
        ));
    }
    Ok(Some(session))
}

/// A dashboard page's signed-in user. Without a live session the browser is sent to sign in.
pub struct SignedIn {
    pub id: String,
    pub session: Session,
}

impl SignedIn {
    /// `403` unless `given` is the session's CSRF token (every form carries it).
    pub fn check_csrf(&self, given: Option<&str>) -> Result<(), PageError> {
        match given {
            Some(given) if same_token(given, &self.session.csrf) => Ok(()),
            _ => Err(PageError::new(
                StatusCode::FORBIDDEN,
                "This form was not sent from a page of this session (its security token is \
                 missing or old). Go back, reload the page and try again.",
            )),
        }
    }
}

impl actix_web::FromRequest for SignedIn {
    type Error = PageError;
    type Future = std::future::Ready<Result<SignedIn, PageError>>;

    fn from_request(request: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let id = session_id(request);
        let found = id.as_ref().and_then(|id| {
            sessions(request)?
                .get(id, Instant::now())
                .map(|session| SignedIn {
                    id: id.clone(),
                    session,
                })
        });
        std::future::ready(found.ok_or(PageError::SignIn {
            expired: id.is_some(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        assert_eq!(
            cookie_value("a=1; disco_session=xyz; b=2", COOKIE),
            Some("xyz")
        );
        assert_eq!(cookie_value("disco_session_old=1", COOKIE), None);
        assert_eq!(cookie_value("", COOKIE), None);
    }

    fn proof<'a>(method: &'a Method, path: &'a str) -> ChangeProof<'a> {
        ChangeProof {
            method,
            path,
            csrf_header: None,
            origin: None,
            own_origin: "http://127.0.0.1:8888",
            websocket: false,
        }
    }

    #[test]
    fn reads_pass_and_changes_need_the_token() {
        assert!(change_allowed(proof(&Method::GET, "/disco/"), "t"));
        assert!(!change_allowed(proof(&Method::POST, "/disco/"), "t"));
        assert!(!change_allowed(proof(&Method::DELETE, "/disco/x"), "t"));
        let with = ChangeProof {
            csrf_header: Some("t"),
            ..proof(&Method::DELETE, "/disco/x")
        };
        assert!(change_allowed(with, "t"));
        let wrong = ChangeProof {
            csrf_header: Some("u"),
            ..with
        };
        assert!(!change_allowed(wrong, "t"));
    }

    #[test]
    fn a_gateway_change_may_show_a_same_origin_instead() {
        let same = ChangeProof {
            origin: Some("http://127.0.0.1:8888"),
            ..proof(&Method::POST, "/disco/x/ui/jupyter/api")
        };
        assert!(change_allowed(same, "t"));
        let foreign = ChangeProof {
            origin: Some("http://evil.example"),
            ..same
        };
        assert!(!change_allowed(foreign, "t"));
        let api = ChangeProof {
            origin: Some("http://127.0.0.1:8888"),
            ..proof(&Method::POST, "/disco/x")
        };
        assert!(!change_allowed(api, "t"));
    }

    #[test]
    fn a_websocket_with_the_cookie_must_come_from_disco_s_own_pages() {
        let ws = |origin| ChangeProof {
            origin,
            websocket: true,
            ..proof(&Method::GET, "/disco/x/ui/jupyter/api/kernels/k/channels")
        };
        assert!(change_allowed(ws(Some("http://127.0.0.1:8888")), "t"));
        assert!(!change_allowed(ws(Some("http://127.0.0.1:9999")), "t"));
        assert!(!change_allowed(ws(None), "t"));
    }
}
