//! Keystone v3: authenticating users (password or token), trusts, trust-scoped tokens and
//! service-catalog lookup.
//!
//! Written by hand because no maintained Rust library covers trusts: `osauth` (the auth layer
//! of the `openstack` crate) has no trust scope and hides the token body (user, roles) that
//! creating a trust needs. disco's own identity does use `osauth` (see `identity.rs`).

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Why Keystone did not give what was asked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum KeystoneError {
    /// The credentials were refused (401): the caller must fix them.
    #[error("{0}")]
    Rejected(String),
    /// Keystone understood but does not allow it (403, 404 of a trust).
    #[error("{0}")]
    Forbidden(String),
    /// Keystone cannot be reached or failed (connection error, timeout, 5xx).
    #[error("{0}")]
    Unavailable(String),
}

/// A token, its owner and what it may reach. `Debug` never shows the token itself.
#[derive(Clone)]
pub struct Token {
    pub value: String,
    pub expires_at: DateTime<Utc>,
    pub user_id: String,
    pub project_id: Option<String>,
    pub roles: Vec<String>,
    /// Shared, so that a cached login is cheap to hand out.
    catalog: Arc<Vec<CatalogEntry>>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("user_id", &self.user_id)
            .field("project_id", &self.project_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Deserialize)]
struct CatalogEntry {
    #[serde(rename = "type")]
    service_type: String,
    #[serde(default)]
    endpoints: Vec<CatalogEndpoint>,
}

#[derive(Debug, Clone, Deserialize)]
struct CatalogEndpoint {
    interface: String,
    #[serde(default)]
    region_id: Option<String>,
    #[serde(default)]
    region: Option<String>,
    url: String,
}

impl Token {
    /// Seconds until the token expires (negative once expired).
    pub fn remaining(&self) -> chrono::Duration {
        self.expires_at - Utc::now()
    }

    /// The URL of `service_type` for `interface` in `region` (any region when `None`).
    pub fn endpoint(
        &self,
        service_type: &str,
        region: Option<&str>,
        interface: &str,
    ) -> Result<String, KeystoneError> {
        let entry = self
            .catalog
            .iter()
            .find(|e| e.service_type == service_type)
            .ok_or_else(|| {
                KeystoneError::Unavailable(format!(
                    "the service catalog has no {service_type} service"
                ))
            })?;
        entry
            .endpoints
            .iter()
            .find(|e| {
                e.interface == interface
                    && region.is_none_or(|r| {
                        e.region_id.as_deref() == Some(r) || e.region.as_deref() == Some(r)
                    })
            })
            .map(|e| e.url.trim_end_matches('/').to_string())
            .ok_or_else(|| {
                KeystoneError::Forbidden(format!(
                    "the service catalog has no {interface} {service_type} endpoint{}",
                    region
                        .map(|r| format!(" in region {r}"))
                        .unwrap_or_default()
                ))
            })
    }
}

/// How a user proves who they are.
pub enum Credentials<'a> {
    Password {
        user: &'a str,
        password: &'a str,
        project: &'a str,
    },
    Token {
        token: &'a str,
        project: &'a str,
    },
}

/// A Keystone v3 endpoint.
#[derive(Debug, Clone)]
pub struct Keystone {
    http: reqwest::Client,
    /// Ends in `/v3`.
    url: String,
    user_domain: String,
    project_domain: String,
}

#[derive(Deserialize)]
struct TokenBody {
    token: TokenInfo,
}

#[derive(Deserialize)]
struct TokenInfo {
    expires_at: DateTime<Utc>,
    user: IdOnly,
    #[serde(default)]
    project: Option<IdOnly>,
    #[serde(default)]
    roles: Vec<NameOnly>,
    #[serde(default)]
    catalog: Vec<CatalogEntry>,
}

#[derive(Deserialize)]
struct IdOnly {
    id: String,
}

#[derive(Deserialize)]
struct NameOnly {
    name: String,
}

/// An error and its causes in one line (reqwest's own message hides the cause).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// OpenStack's own message from an error body (`{"error": {"message": …}}`), if any.
pub fn openstack_message(body: &str) -> Option<String> {
    let value: Value = serde_json::from_str(body).ok()?;
    let message = value
        .get("error")
        .and_then(|e| e.get("message").or_else(|| e.get("explanation")))
        .or_else(|| value.get("explanation"))
        .or_else(|| value.get("message"))?
        .as_str()?;
    Some(message.chars().take(500).collect())
}

impl Keystone {
    pub fn new(
        url: &str,
        user_domain: &str,
        project_domain: &str,
        timeout: Duration,
    ) -> Result<Keystone, String> {
        let mut url = url.trim_end_matches('/').to_string();
        if !url.ends_with("/v3") {
            url.push_str("/v3");
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        Ok(Keystone {
            http,
            url,
            user_domain: user_domain.to_string(),
            project_domain: project_domain.to_string(),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Issues a project-scoped token for a user.
    pub async fn authenticate(
        &self,
        credentials: &Credentials<'_>,
    ) -> Result<Token, KeystoneError> {
        let (identity, project, who) = match credentials {
            Credentials::Password {
                user,
                password,
                project,
            } => (
                json!({"methods": ["password"], "password": {"user": {
                    "name": user, "password": password, "domain": {"name": self.user_domain}}}}),
                *project,
                format!("user {user}"),
            ),
            Credentials::Token { token, project } => (
                json!({"methods": ["token"], "token": {"id": token}}),
                *project,
                "the token".to_string(),
            ),
        };
        let body = json!({"auth": {"identity": identity, "scope": {"project": {
            "name": project, "domain": {"name": self.project_domain}}}}});
        self.issue(&body, None).await.map_err(|e| match e {
            KeystoneError::Rejected(m) => KeystoneError::Rejected(format!(
                "Keystone refused {who} for project {project}: {m}"
            )),
            other => other,
        })
    }

    /// A token scoped to `trust_id`, for the trustee holding `trustee_token`.
    pub async fn trust_token(
        &self,
        trustee_token: &str,
        trust_id: &str,
    ) -> Result<Token, KeystoneError> {
        let body = json!({"auth": {
            "identity": {"methods": ["token"], "token": {"id": trustee_token}},
            "scope": {"OS-TRUST:trust": {"id": trust_id}}}});
        self.issue(&body, None).await.map_err(|e| match e {
            KeystoneError::Rejected(m) | KeystoneError::Forbidden(m) => KeystoneError::Forbidden(
                format!("the cluster's Keystone trust {trust_id} no longer works: {m}"),
            ),
            other => other,
        })
    }

    /// Who a token belongs to (and its roles and catalog).
    pub async fn inspect(&self, token: &str) -> Result<Token, KeystoneError> {
        self.issue(&Value::Null, Some(token)).await
    }

    /// POST /auth/tokens (or GET with `subject` to validate an existing token).
    async fn issue(&self, body: &Value, subject: Option<&str>) -> Result<Token, KeystoneError> {
        let url = format!("{}/auth/tokens", self.url);
        let request = match subject {
            None => self.http.post(&url).json(body),
            Some(token) => self
                .http
                .get(&url)
                .header("X-Auth-Token", token)
                .header("X-Subject-Token", token),
        };
        let response = request.send().await.map_err(|e| self.unreachable(&e))?;
        let status = response.status();
        let value = response
            .headers()
            .get("X-Subject-Token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .or_else(|| subject.map(str::to_string));
        let text = response.text().await.map_err(|e| self.unreachable(&e))?;
        if status == StatusCode::NOT_FOUND {
            // Keystone's answer to a revoked or expired token used to authenticate.
            let message = openstack_message(&text).unwrap_or_else(|| "token not found".into());
            return Err(KeystoneError::Rejected(message));
        }
        if !status.is_success() {
            return Err(self.status_error(status, &text));
        }
        let parsed: TokenBody = serde_json::from_str(&text).map_err(|e| {
            KeystoneError::Unavailable(format!(
                "Keystone sent a token this client cannot read: {e}"
            ))
        })?;
        let value = value.ok_or_else(|| {
            KeystoneError::Unavailable("Keystone issued no X-Subject-Token".into())
        })?;
        Ok(Token {
            value,
            expires_at: parsed.token.expires_at,
            user_id: parsed.token.user.id,
            project_id: parsed.token.project.map(|p| p.id),
            roles: parsed.token.roles.into_iter().map(|r| r.name).collect(),
            catalog: Arc::new(parsed.token.catalog),
        })
    }

    /// Lets `trustee_user_id` act as the token's user in its project, with its roles, until
    /// the trust is deleted. Returns the trust's id.
    pub async fn create_trust(
        &self,
        trustor: &Token,
        trustee_user_id: &str,
    ) -> Result<String, KeystoneError> {
        let project = trustor.project_id.as_deref().ok_or_else(|| {
            KeystoneError::Forbidden("the user's token is not scoped to a project".into())
        })?;
        let roles: Vec<Value> = trustor.roles.iter().map(|r| json!({"name": r})).collect();
        let body = json!({"trust": {
            "trustor_user_id": trustor.user_id,
            "trustee_user_id": trustee_user_id,
            "project_id": project,
            "roles": roles,
            "impersonation": true,
            "allow_redelegation": true,
        }});
        let response = self
            .http
            .post(format!("{}/OS-TRUST/trusts", self.url))
            .header("X-Auth-Token", &trustor.value)
            .json(&body)
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| self.unreachable(&e))?;
        if !status.is_success() {
            return Err(match self.status_error(status, &text) {
                KeystoneError::Rejected(m) | KeystoneError::Forbidden(m) => {
                    KeystoneError::Forbidden(format!(
                        "Keystone would not let disco act for the user (creating a trust): {m}"
                    ))
                }
                other => other,
            });
        }
        serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["trust"]["id"].as_str().map(str::to_string))
            .ok_or_else(|| {
                KeystoneError::Unavailable("Keystone created a trust without an id".into())
            })
    }

    /// Removes a trust; one that is already gone counts as removed.
    pub async fn delete_trust(&self, token: &str, trust_id: &str) -> Result<(), KeystoneError> {
        let response = self
            .http
            .delete(format!("{}/OS-TRUST/trusts/{trust_id}", self.url))
            .header("X-Auth-Token", token)
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        let status = response.status();
        if status.is_success() || status == StatusCode::NOT_FOUND {
            return Ok(());
        }
        let text = response.text().await.unwrap_or_default();
        Err(self.status_error(status, &text))
    }

    fn unreachable(&self, error: &reqwest::Error) -> KeystoneError {
        let what = if error.is_timeout() {
            "did not answer in time".to_string()
        } else {
            format!("cannot be reached ({})", error_chain(error))
        };
        KeystoneError::Unavailable(format!("Keystone at {} {what}", self.url))
    }

    fn status_error(&self, status: StatusCode, body: &str) -> KeystoneError {
        let message = openstack_message(body).unwrap_or_else(|| {
            status
                .canonical_reason()
                .unwrap_or("unexpected answer")
                .to_string()
        });
        match status {
            StatusCode::UNAUTHORIZED => KeystoneError::Rejected(message),
            StatusCode::FORBIDDEN | StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST => {
                KeystoneError::Forbidden(message)
            }
            _ => KeystoneError::Unavailable(format!(
                "Keystone at {} answered {}: {message}",
                self.url,
                status.as_u16()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(catalog: Value) -> Token {
        Token {
            value: "t".into(),
            expires_at: Utc::now(),
            user_id: "u".into(),
            project_id: Some("p".into()),
            roles: vec![],
            catalog: Arc::new(serde_json::from_value(catalog).unwrap()),
        }
    }

    #[test]
    fn the_catalog_is_searched_by_type_interface_and_region() {
        let token = token(json!([{"type": "orchestration", "endpoints": [
            {"interface": "public", "region_id": "RegionTwo", "url": "http://two/v1/p"},
            {"interface": "internal", "region_id": "RegionOne", "url": "http://one-internal/v1/p"},
            {"interface": "public", "region_id": "RegionOne", "url": "http://one/v1/p/"}]}]));
        assert_eq!(
            token
                .endpoint("orchestration", Some("RegionOne"), "public")
                .unwrap(),
            "http://one/v1/p"
        );
        assert_eq!(
            token
                .endpoint("orchestration", Some("RegionOne"), "internal")
                .unwrap(),
            "http://one-internal/v1/p"
        );
        let missing = token.endpoint("orchestration", Some("RegionNine"), "public");
        assert!(missing.unwrap_err().to_string().contains("RegionNine"));
        assert!(token.endpoint("compute", None, "public").is_err());
    }

    #[test]
    fn openstack_error_bodies_give_their_message() {
        assert_eq!(
            openstack_message(r#"{"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}"#).as_deref(),
            Some("The request you have made requires authentication.")
        );
        assert_eq!(
            openstack_message(
                r#"{"explanation": "The resource could not be found.", "code": 404}"#
            )
            .as_deref(),
            Some("The resource could not be found.")
        );
        assert_eq!(openstack_message("<html>"), None);
    }

    #[test]
    fn a_token_never_shows_its_value_in_debug_output() {
        let mut t = token(json!([]));
        t.value = "gAAAAsecret".into();
        assert!(!format!("{t:?}").contains("gAAAAsecret"));
    }
}
