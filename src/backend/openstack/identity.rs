//! disco's own OpenStack identity, the trustee of every cluster's trust. It comes from
//! `clouds.yaml` (a named cloud) or the `OS_*` environment, like every OpenStack tool, loaded
//! and kept fresh (renewed before expiry) by `osauth`.

use super::keystone::{Keystone, KeystoneError};
use std::sync::Arc;
use tokio::sync::OnceCell;

/// Where the identity comes from.
#[derive(Debug, Clone)]
pub enum IdentitySource {
    /// A cloud of `clouds.yaml` (found where the OpenStack client finds it).
    Cloud(String),
    /// `OS_AUTH_URL`, `OS_USERNAME`, … in disco's environment.
    Environment,
}

/// disco's session and user id, established on first use.
#[derive(Clone)]
pub struct ServiceIdentity {
    source: IdentitySource,
    session: Arc<OnceCell<(osauth::Session, String)>>,
}

fn unavailable(source: &IdentitySource, e: impl std::fmt::Display) -> KeystoneError {
    let from = match source {
        IdentitySource::Cloud(name) => format!("cloud {name} of clouds.yaml"),
        IdentitySource::Environment => "the OS_* environment".to_string(),
    };
    KeystoneError::Unavailable(format!(
        "disco's own OpenStack identity ({from}) does not work: {e}"
    ))
}

impl ServiceIdentity {
    pub fn new(source: IdentitySource) -> ServiceIdentity {
        ServiceIdentity {
            source,
            session: Arc::new(OnceCell::new()),
        }
    }

    /// Checks that the configuration names a usable identity, without contacting Keystone.
    pub fn check_configured(&self) -> Result<(), String> {
        let config = match &self.source {
            IdentitySource::Cloud(name) => osauth::CloudConfig::from_config(name),
            IdentitySource::Environment => osauth::CloudConfig::from_env(),
        }
        .map_err(|e| unavailable(&self.source, e).to_string())?;
        match missing_credentials(&config) {
            Some(what) => Err(unavailable(&self.source, format!("it has no {what}")).to_string()),
            None => Ok(()),
        }
    }

    async fn session(
        &self,
        keystone: &Keystone,
    ) -> Result<&(osauth::Session, String), KeystoneError> {
        self.session
            .get_or_try_init(|| async {
                let config = match &self.source {
                    IdentitySource::Cloud(name) => osauth::CloudConfig::from_config(name),
                    IdentitySource::Environment => osauth::CloudConfig::from_env(),
                }
                .map_err(|e| unavailable(&self.source, e))?;
                let session = config
                    .create_session()
                    .await
                    .map_err(|e| unavailable(&self.source, e))?;
                let token = current_token(&session)
                    .await
                    .map_err(|e| unavailable(&self.source, e))?;
                let user_id = keystone.inspect(&token).await?.user_id;
                Ok((session, user_id))
            })
            .await
    }

    /// disco's user id (the trustee of trusts).
    pub async fn user_id(&self, keystone: &Keystone) -> Result<String, KeystoneError> {
        Ok(self.session(keystone).await?.1.clone())
    }

    /// A valid token of disco's own (renewed by `osauth` when it nears expiry).
    pub async fn token(&self, keystone: &Keystone) -> Result<String, KeystoneError> {
        let (session, _) = self.session(keystone).await?;
        current_token(session)
            .await
            .map_err(|e| unavailable(&self.source, e))
    }
}

/// What a loaded configuration lacks to authenticate, if anything. `osauth` finds out only
/// when it first authenticates; start-up should say so at once.
fn missing_credentials(config: &osauth::CloudConfig) -> Option<&'static str> {
    // The public view of a configuration is its serialized form (clouds.yaml's keys).
    let value = serde_json::to_value(config).ok()?;
    let auth = &value["auth"];
    let has = |key: &str| auth[key].as_str().is_some_and(|v| !v.is_empty());
    if !has("auth_url") {
        return Some("auth_url (OS_AUTH_URL)");
    }
    match value["auth_type"].as_str() {
        Some("v3applicationcredential") if !has("application_credential_secret") => {
            Some("application_credential_secret (OS_APPLICATION_CREDENTIAL_SECRET)")
        }
        Some("v3applicationcredential") => None,
        _ if has("token") => None,
        _ if !has("username") && !has("user_id") => Some("username (OS_USERNAME)"),
        _ if !has("password") => Some("password (OS_PASSWORD)"),
        _ => None,
    }
}

/// The token `osauth` would send, read from a request it authenticates.
async fn current_token(session: &osauth::Session) -> Result<String, String> {
    let client = session.client().inner();
    let request = session
        .auth_type()
        .authenticate(client, client.get("http://token.invalid/"))
        .await
        .map_err(|e| e.to_string())?
        .build()
        .map_err(|e| e.to_string())?;
    request
        .headers()
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| "osauth gave no token".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: serde_json::Value) -> osauth::CloudConfig {
        serde_json::from_value(yaml).unwrap()
    }

    #[test]
    fn a_configuration_without_what_keystone_needs_is_named_before_any_call() {
        let url = "http://keystone.example.org:5000/v3";
        assert_eq!(
            missing_credentials(&config(serde_json::json!({"auth": {}}))),
            Some("auth_url (OS_AUTH_URL)")
        );
        assert_eq!(
            missing_credentials(&config(
                serde_json::json!({"auth": {"auth_url": url, "password": "x"}})
            )),
            Some("username (OS_USERNAME)")
        );
        assert_eq!(
            missing_credentials(&config(
                serde_json::json!({"auth": {"auth_url": url, "username": "disco"}})
            )),
            Some("password (OS_PASSWORD)")
        );
        assert_eq!(
            missing_credentials(&config(serde_json::json!({
                "auth_type": "v3applicationcredential",
                "auth": {"auth_url": url, "application_credential_id": "a"}}))),
            Some("application_credential_secret (OS_APPLICATION_CREDENTIAL_SECRET)")
        );
        for complete in [
            serde_json::json!({"auth": {"auth_url": url, "username": "disco", "password": "x",
                "project_name": "service"}}),
            serde_json::json!({"auth": {"auth_url": url, "token": "gAAAA"}}),
            serde_json::json!({"auth_type": "v3applicationcredential",
                "auth": {"auth_url": url, "application_credential_id": "a",
                "application_credential_secret": "s"}}),
        ] {
            assert_eq!(
                missing_credentials(&config(complete.clone())),
                None,
                "{complete}"
            );
        }
    }
}
