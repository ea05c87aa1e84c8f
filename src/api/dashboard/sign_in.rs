//! `GET|POST /dashboard/sign-in` and `POST /dashboard/sign-out`. Sign-in matches
//! `auth.mode`: a tenant name (`none`), user and password (`static`), or user, password and
//! project checked by Keystone (`keystone`, which keeps only the token it gives). The
//! password is checked and dropped.

use super::page::{render, see_other, PageError};
use super::session::{random_token, same_token, Login, Sessions, COOKIE};
use super::signed_in::{cookie_value, SignedIn};
use super::{Config, SignInKind, State};
use crate::api::caller::Authenticator;
use crate::api::error::ApiError;
use crate::auth::keystone::Freshness;
use crate::backend::openstack::keystone::Credentials;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use std::time::{Duration, Instant};

/// The sign-in form's own CSRF cookie (double submit: there is no session yet).
const FORM_COOKIE: &str = "disco_signin";

const MAX_NAME: usize = 128;

fn cookie(name: &str, value: &str, max_age: u64, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Whether the browser reached disco over TLS (directly or through a proxy that says so).
fn over_tls(request: &HttpRequest) -> bool {
    request.connection_info().scheme() == "https"
}

fn kind_name(kind: SignInKind) -> &'static str {
    match kind {
        SignInKind::Tenant => "tenant",
        SignInKind::Static => "static",
        SignInKind::Keystone => "keystone",
    }
}

/// The form, with an error and what was typed (never the password).
fn form_page(
    request: &HttpRequest,
    config: &Config,
    status: StatusCode,
    error: Option<&str>,
    typed: &SignInForm,
) -> Result<HttpResponse, PageError> {
    let token = random_token();
    let mut context = tera::Context::new();
    context.insert("kind", kind_name(config.sign_in));
    context.insert("csrf", &token);
    context.insert("error", &error);
    context.insert("expired", &request.query_string().contains("expired=1"));
    context.insert("tenant", &typed.tenant);
    context.insert("user", &typed.user);
    context.insert("project", &typed.project);
    context.insert("region", &typed.region);
    let mut response = render(status, "sign_in.html", &context)?;
    if let Ok(value) = cookie(FORM_COOKIE, &token, 3600, over_tls(request)).parse() {
        response
            .headers_mut()
            .append(actix_web::http::header::SET_COOKIE, value);
    }
    Ok(response)
}

pub async fn form(request: HttpRequest, config: Config) -> Result<HttpResponse, PageError> {
    form_page(
        &request,
        &config,
        StatusCode::OK,
        None,
        &SignInForm::default(),
    )
}

/// What the sign-in form sends. No `Debug`: it holds a password, wiped when dropped.
#[derive(Default, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    project: String,
    /// Keystone only: the region (empty: `openstack.region`).
    #[serde(default)]
    region: String,
}

impl Drop for SignInForm {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.password);
    }
}

fn check_name(what: &str, value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > MAX_NAME || value.chars().any(char::is_control) {
        return Err(format!(
            "The {what} must be 1 to {MAX_NAME} characters, without control characters."
        ));
    }
    Ok(())
}

/// Who signs in, once checked: tenant, user shown, login, and how long it may last.
type Verified = (String, String, Login, Option<Instant>);

async fn verify(
    state: &State,
    request: &HttpRequest,
    form: &SignInForm,
) -> Result<Verified, String> {
    let peer = request.peer_addr().map(|a| a.ip());
    let user = form.user.trim();
    let plain = |e: ApiError| e.message;
    match &state.authenticator {
        Authenticator::Open => {
            let tenant = form.tenant.trim();
            check_name("tenant name", tenant)?;
            Ok((tenant.into(), tenant.into(), Login::Open, None))
        }
        Authenticator::Static(users) => {
            check_name("user name", user)?;
            let found = users
                .verify(user, &form.password, peer)
                .await
                .map_err(|e| plain(e.into()))?;
            Ok((found.tenant.clone(), user.into(), Login::Static, None))
        }
        Authenticator::Keystone(logins) => {
            check_name("user name", user)?;
            let project = form.project.trim();
            check_name("project", project)?;
            let credentials = Credentials::Password {
                user,
                password: &form.password,
                project,
            };
            let token = logins
                .login(&credentials, peer, Freshness::Fresh)
                .await
                .map_err(|e| plain(e.into()))?;
            let tenant = token.project_id.clone().ok_or(
                "Keystone gave a token without a project; check the project name".to_string(),
            )?;
            let left = (token.expires_at - chrono::Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO);
            let region = form.region.trim();
            if !region.is_empty() {
                check_name("region", region)?;
            }
            let login = Login::Keystone {
                token: crate::secret::Secret::new(token.value.clone()),
                project: project.into(),
                region: Some(region.to_string()).filter(|r| !r.is_empty()),
            };
            Ok((tenant, user.into(), login, Some(Instant::now() + left)))
        }
    }
}

pub async fn sign_in(
    request: HttpRequest,
    state: State,
    config: Config,
    sessions: web::Data<Sessions>,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let expected = request
        .headers()
        .get("cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|h| cookie_value(h, FORM_COOKIE))
        .unwrap_or("");
    if expected.is_empty() || !same_token(&form.csrf, expected) {
        return form_page(
            &request,
            &config,
            StatusCode::FORBIDDEN,
            Some("This sign-in form was too old or not sent from disco's own page. Please try again."),
            &form,
        );
    }
    let (tenant, user, login, until) = match verify(&state, &request, &form).await {
        Ok(verified) => verified,
        Err(message) => {
            tracing::info!(user = %form.user.trim(), "dashboard sign-in refused");
            return form_page(
                &request,
                &config,
                StatusCode::UNAUTHORIZED,
                Some(&sentence(&message)),
                &form,
            );
        }
    };
    let (id, session) = sessions.start(tenant, user, login, until, Instant::now());
    tracing::info!(tenant = %session.tenant, user = %session.user, "dashboard sign-in");
    let max_age = session
        .expires
        .saturating_duration_since(Instant::now())
        .as_secs();
    let tls = over_tls(&request);
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", "/dashboard/"))
        .append_header(("Set-Cookie", cookie(COOKIE, &id, max_age, tls)))
        .append_header(("Set-Cookie", cookie(FORM_COOKIE, "", 0, tls)))
        .finish())
}

/// A message as a sentence: capital first, full stop last.
fn sentence(message: &str) -> String {
    let mut text: String = message.trim().to_string();
    if let Some(first) = text.chars().next() {
        text.replace_range(..first.len_utf8(), &first.to_uppercase().to_string());
    }
    if !text.ends_with('.') {
        text.push('.');
    }
    text
}

/// A form that carries only its CSRF token (sign-out, delete).
#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

impl CsrfOnly {
    pub fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn sign_out(
    request: HttpRequest,
    signed_in: SignedIn,
    sessions: web::Data<Sessions>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    signed_in.check_csrf(Some(&form.csrf))?;
    sessions.end(&signed_in.id);
    let mut response = see_other("/dashboard/sign-in");
    if let Ok(value) = cookie(COOKIE, "", 0, over_tls(&request)).parse() {
        response
            .headers_mut()
            .append(actix_web::http::header::SET_COOKIE, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_http_only_strict_and_secure_over_tls() {
        let plain = cookie(COOKIE, "abc", 60, false);
        assert_eq!(
            plain,
            "disco_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=60"
        );
        assert!(cookie(COOKIE, "abc", 60, true).ends_with("; Secure"));
    }

    #[test]
    fn messages_read_as_sentences() {
        assert_eq!(
            sentence("wrong user name or password"),
            "Wrong user name or password."
        );
        assert_eq!(sentence("Done."), "Done.");
    }
}
