//! Who is calling: the tenant from `X-Tenant-Name`, checked against configured users in
//! `static` mode or against Keystone in `keystone` mode. Passwords are checked and dropped,
//! never stored or logged.

use super::error::ApiError;
use super::request::header_text;
use crate::backend::openstack::keystone::{Credentials, Keystone, KeystoneError};
use crate::backend::openstack::UserSession;
use actix_web::http::StatusCode;
use actix_web::HttpRequest;
use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::Argon2;
use std::path::Path;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Whose clusters these are: the tenant name, or the Keystone project id.
    pub tenant: String,
    /// The caller's Keystone session, in `keystone` mode.
    pub openstack: Option<UserSession>,
}

/// Credentials a create request may carry as attributes instead of headers (DISCO's
/// `icclab.disco.deployer.*`).
#[derive(Debug, Clone, Copy, Default)]
pub struct DeployerAttributes<'a> {
    pub username: Option<&'a str>,
    pub password: Option<&'a str>,
    pub region: Option<&'a str>,
}

/// A user from the users file.
#[derive(Debug, Clone)]
pub struct StaticUser {
    pub name: String,
    pub tenant: String,
    pub password_hash: String,
}

/// How callers are authenticated.
#[derive(Debug, Clone)]
pub enum Authenticator {
    /// The tenant is whatever `X-Tenant-Name` says (`default` when absent). Loopback only.
    Open,
    Static(Vec<StaticUser>),
    /// Users and tokens are checked by Keystone v3.
    Keystone(Keystone),
}

const MAX_NAME: usize = 128;

fn check_name(header: &str, value: &str) -> Result<(), ApiError> {
    if value.is_empty() || value.len() > MAX_NAME || value.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "{header} must be 1 to {MAX_NAME} characters without control characters"
        )));
    }
    Ok(())
}

impl Authenticator {
    /// Reads a users file: one `user tenant argon2-hash` per line, `#` comments.
    pub fn load_users(path: &Path) -> Result<Authenticator, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("auth.users_file {}: {e}", path.display()))?;
        let mut users = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [name, tenant, hash] = fields[..] else {
                return Err(format!(
                    "auth.users_file {} line {}: expected `user tenant hash`",
                    path.display(),
                    number + 1
                ));
            };
            PasswordHash::new(hash).map_err(|e| {
                format!(
                    "auth.users_file {} line {}: the hash is not a PHC string ({e}); make one with \
                     `disco hash-password`",
                    path.display(),
                    number + 1
                )
            })?;
            users.push(StaticUser {
                name: name.into(),
                tenant: tenant.into(),
                password_hash: hash.into(),
            });
        }
        if users.is_empty() {
            return Err(format!("auth.users_file {} lists no users", path.display()));
        }
        Ok(Authenticator::Static(users))
    }

    /// Authenticates a request.
    pub async fn caller(&self, request: &HttpRequest) -> Result<Caller, ApiError> {
        self.caller_with(request, DeployerAttributes::default())
            .await
    }

    /// Authenticates a request whose body may carry the deployer attributes.
    pub async fn caller_with(
        &self,
        request: &HttpRequest,
        deployer: DeployerAttributes<'_>,
    ) -> Result<Caller, ApiError> {
        let tenant = header_text(request, "X-Tenant-Name")?.map(|t| t.trim().to_string());
        match self {
            Authenticator::Keystone(keystone) => {
                keystone_caller(keystone, request, tenant, deployer).await
            }
            Authenticator::Open => {
                let tenant = tenant
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| "default".into());
                check_name("X-Tenant-Name", &tenant)?;
                Ok(Caller {
                    tenant,
                    openstack: None,
                })
            }
            Authenticator::Static(users) => {
                let unauthorized = |message: &str| ApiError::new(StatusCode::UNAUTHORIZED, message);
                let (Some(name), Some(password)) = (
                    header_text(request, "X-User-Name")?,
                    header_text(request, "X-Password")?,
                ) else {
                    return Err(unauthorized(
                        "authentication required: send X-User-Name and X-Password",
                    ));
                };
                let user = users.iter().find(|u| u.name == name).cloned();
                // Verify even for unknown users so that timing does not reveal who exists.
                let hash = user.as_ref().map(|u| u.password_hash.clone()).unwrap_or_else(|| {
                    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$ZmFrZWhhc2hmYWtlaGFzaGZha2VoYXNoZmFrZWg".into()
                });
                let valid = actix_web::web::block(move || {
                    PasswordHash::new(&hash)
                        .map(|parsed| {
                            Argon2::default()
                                .verify_password(password.as_bytes(), &parsed)
                                .is_ok()
                        })
                        .unwrap_or(false)
                })
                .await?;
                let Some(user) = user.filter(|_| valid) else {
                    return Err(unauthorized("wrong user name or password"));
                };
                if let Some(tenant) = tenant.filter(|t| !t.is_empty()) {
                    if tenant != user.tenant {
                        return Err(ApiError::new(
                            StatusCode::FORBIDDEN,
                            format!("user {} is not a member of tenant {tenant}", user.name),
                        ));
                    }
                }
                Ok(Caller {
                    tenant: user.tenant,
                    openstack: None,
                })
            }
        }
    }
}

async fn keystone_caller(
    keystone: &Keystone,
    request: &HttpRequest,
    tenant: Option<String>,
    deployer: DeployerAttributes<'_>,
) -> Result<Caller, ApiError> {
    let unauthorized = |message: String| ApiError::new(StatusCode::UNAUTHORIZED, message);
    let Some(project) = tenant.filter(|t| !t.is_empty()) else {
        return Err(unauthorized(
            "authentication required: send X-Tenant-Name (the OpenStack project) with \
             X-User-Name and X-Password, or with X-Auth-Token"
                .into(),
        ));
    };
    check_name("X-Tenant-Name", &project)?;
    let region = header_text(request, "X-Region-Name")?
        .filter(|r| !r.trim().is_empty())
        .or_else(|| deployer.region.map(str::to_string));
    if let Some(region) = &region {
        check_name("X-Region-Name", region)?;
    }
    let token = header_text(request, "X-Auth-Token")?.filter(|t| !t.trim().is_empty());
    let user =
        header_text(request, "X-User-Name")?.or_else(|| deployer.username.map(str::to_string));
    let password =
        header_text(request, "X-Password")?.or_else(|| deployer.password.map(str::to_string));
    let credentials = match (&token, &user, &password) {
        (Some(token), _, _) => Credentials::Token {
            token: token.trim(),
            project: &project,
        },
        (None, Some(user), Some(password)) => {
            check_name("X-User-Name", user)?;
            Credentials::Password {
                user,
                password,
                project: &project,
            }
        }
        _ => {
            return Err(unauthorized(
                "authentication required: send X-User-Name and X-Password (or X-Auth-Token) \
                 with X-Tenant-Name"
                    .into(),
            ))
        }
    };
    let token = keystone
        .authenticate(&credentials)
        .await
        .map_err(|e| match e {
            KeystoneError::Rejected(m) => unauthorized(m),
            KeystoneError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, m),
            KeystoneError::Unavailable(m) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, m),
        })?;
    let tenant = token.project_id.clone().ok_or_else(|| {
        unauthorized("Keystone issued a token without a project; check X-Tenant-Name".into())
    })?;
    Ok(Caller {
        tenant,
        openstack: Some(UserSession { token, region }),
    })
}

/// A request to one cluster, as handlers start from it: the rendering the client asked for
/// and the authenticated caller. An extractor, so that errors of either come back in that
/// rendering and handlers need not repeat the steps.
pub struct Authenticated {
    pub media: crate::occi::MediaType,
    pub caller: Caller,
}

impl actix_web::FromRequest for Authenticated {
    type Error = ApiError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let media = super::request::response_media(&request, false)?;
            let state = request
                .app_data::<actix_web::web::Data<super::AppState>>()
                .ok_or_else(|| ApiError::internal("the application state is missing"))?;
            let caller = state
                .authenticator
                .caller(&request)
                .await
                .map_err(|e| e.in_media(media))?;
            Ok(Authenticated { media, caller })
        })
    }
}
