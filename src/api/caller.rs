//! Who is calling: the tenant from `X-Tenant-Name`, checked against configured users in
//! `static` mode or against Keystone in `keystone` mode (the checking, its cache and its
//! limits live in `crate::auth`). Passwords are checked and dropped, never stored or logged.

use super::dashboard::session::{Login, Session};
use super::error::ApiError;
use super::request::header_text;
use crate::auth::keystone::{Freshness, KeystoneLogins};
use crate::auth::static_users::StaticUsers;
use crate::backend::openstack::keystone::Credentials;
use crate::backend::openstack::UserSession;
use actix_web::http::StatusCode;
use actix_web::HttpRequest;

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

/// How callers are authenticated.
pub enum Authenticator {
    /// The tenant is whatever `X-Tenant-Name` says (`default` when absent). Loopback only.
    Open,
    /// Users of the users file (`auth.users_file`).
    Static(StaticUsers),
    /// Users and tokens are checked by Keystone v3.
    Keystone(KeystoneLogins),
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
    /// Authenticates a request; a login verified within `auth.cache_secs` is reused.
    pub async fn caller(&self, request: &HttpRequest) -> Result<Caller, ApiError> {
        self.authenticate(request, DeployerAttributes::default(), Freshness::Cached)
            .await
    }

    /// Authenticates a create, whose body may carry the deployer attributes. In `keystone`
    /// mode Keystone is asked afresh: the token it gives makes the cluster's trust.
    pub async fn caller_with(
        &self,
        request: &HttpRequest,
        deployer: DeployerAttributes<'_>,
    ) -> Result<Caller, ApiError> {
        self.authenticate(request, deployer, Freshness::Fresh).await
    }

    async fn authenticate(
        &self,
        request: &HttpRequest,
        deployer: DeployerAttributes<'_>,
        freshness: Freshness,
    ) -> Result<Caller, ApiError> {
        if let Some(session) = super::dashboard::signed_in::cookie_session(request)? {
            return self.session_caller(&session, request, freshness).await;
        }
        let tenant = header_text(request, "X-Tenant-Name")?.map(|t| t.trim().to_string());
        match self {
            Authenticator::Keystone(logins) => {
                keystone_caller(logins, request, tenant, deployer, freshness).await
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
                let (Some(name), Some(password)) = (
                    header_text(request, "X-User-Name")?,
                    header_text(request, "X-Password")?,
                ) else {
                    return Err(ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "authentication required: send X-User-Name and X-Password",
                    ));
                };
                check_name("X-User-Name", &name)?;
                let password = zeroize::Zeroizing::new(password);
                let peer = request.peer_addr().map(|a| a.ip());
                let user = users.verify(&name, &password, peer).await?;
                if let Some(tenant) = tenant.filter(|t| !t.is_empty()) {
                    if tenant != user.tenant {
                        return Err(ApiError::new(
                            StatusCode::FORBIDDEN,
                            format!("user {} is not a member of tenant {tenant}", user.name),
                        ));
                    }
                }
                Ok(Caller {
                    tenant: user.tenant.clone(),
                    openstack: None,
                })
            }
        }
    }
}

impl Authenticator {
    /// The caller a dashboard session stands for. In `keystone` mode its token is checked
    /// again (from the cache within `auth.cache_secs`, afresh for a create).
    pub async fn session_caller(
        &self,
        session: &Session,
        request: &HttpRequest,
        freshness: Freshness,
    ) -> Result<Caller, ApiError> {
        match (&session.login, self) {
            (
                Login::Keystone {
                    token,
                    project,
                    region,
                },
                Authenticator::Keystone(logins),
            ) => {
                let credentials = Credentials::Token {
                    token: token.expose(),
                    project,
                };
                let peer = request.peer_addr().map(|a| a.ip());
                let token = logins.login(&credentials, peer, freshness).await?;
                Ok(Caller {
                    tenant: session.tenant.clone(),
                    openstack: Some(UserSession {
                        token,
                        region: region.clone(),
                    }),
                })
            }
            (Login::Keystone { .. }, _) | (_, Authenticator::Keystone(_)) => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "this session was started in another authentication mode; sign in again",
            )),
            _ => Ok(Caller {
                tenant: session.tenant.clone(),
                openstack: None,
            }),
        }
    }
}

async fn keystone_caller(
    logins: &KeystoneLogins,
    request: &HttpRequest,
    tenant: Option<String>,
    deployer: DeployerAttributes<'_>,
    freshness: Freshness,
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
    let peer = request.peer_addr().map(|a| a.ip());
    let token = logins.login(&credentials, peer, freshness).await?;
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
