//! Heat v1: the stack calls disco makes, with OpenStack's own messages kept in errors.

use super::keystone::{error_chain, openstack_message};
use super::template::StackDocument;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

#[derive(Debug, Clone, thiserror::Error)]
pub enum HeatError {
    /// The token was refused: get a new one and try again.
    #[error("Heat refused the token: {0}")]
    Unauthorized(String),
    /// A stack with this name exists already.
    #[error("a stack with this name exists already")]
    Conflict,
    /// The request itself is wrong (400, 403): retrying will not help.
    #[error("Heat rejected the request: {0}")]
    Rejected(String),
    /// Heat cannot be reached, timed out or failed (5xx): retry later.
    #[error("{0}")]
    Unavailable(String),
}

/// A stack as Heat shows it.
#[derive(Debug, Clone, Deserialize)]
pub struct Stack {
    pub id: String,
    pub stack_name: String,
    pub stack_status: String,
    #[serde(default)]
    pub stack_status_reason: Option<String>,
    #[serde(default)]
    pub outputs: Vec<StackOutput>,
    /// The stack's parameters as Heat keeps them (in `show`'s answer).
    #[serde(default)]
    pub parameters: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StackOutput {
    pub output_key: String,
    #[serde(default)]
    pub output_value: Value,
}

impl Stack {
    pub fn output(&self, key: &str) -> Option<&Value> {
        self.outputs
            .iter()
            .find(|o| o.output_key == key)
            .map(|o| &o.output_value)
    }
}

/// An orchestration endpoint (`…/v1/<project_id>`) and the token to use it with.
pub struct Heat {
    pub http: reqwest::Client,
    pub url: String,
    pub token: String,
}

/// Redirects a Heat call follows (Heat answers a stack lookup by name with one).
const MAX_REDIRECTS: usize = 5;

/// An HTTP client for Heat: bounded time per call, redirects followed (Heat answers a stack
/// lookup by name with 302 to the stack's full address), but only to the same origin: a
/// request carries the owner's token (`X-Auth-Token`, which reqwest does not strip), and a
/// redirect to another scheme, host or port must never receive it. Such a redirect is not
/// followed and the call fails (see [`Heat::send`]).
pub fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            let same_origin = attempt
                .previous()
                .first()
                .is_some_and(|first| same_origin(first, attempt.url()));
            if !same_origin {
                attempt.stop()
            } else if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else {
                attempt.follow()
            }
        }))
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))
}

/// Whether two URLs share scheme, host and port (the port defaulted by the scheme).
fn same_origin(a: &reqwest::Url, b: &reqwest::Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

impl Heat {
    /// Creates the stack. A name that exists gives `HeatError::Conflict`.
    pub async fn create(
        &self,
        name: &str,
        document: &StackDocument,
        timeout_mins: u64,
    ) -> Result<String, HeatError> {
        let mut body = json!({
            "stack_name": name,
            "template": document.template,
            "parameters": document.parameters,
            "files": document.files,
            "timeout_mins": timeout_mins,
            "disable_rollback": true,
            "tags": "disco",
        });
        if let Some(environment) = &document.environment {
            body["environment"] = json!(environment);
        }
        let (status, text) = self
            .send(self.http.post(format!("{}/stacks", self.url)).json(&body))
            .await?;
        match status {
            s if s.is_success() => serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["stack"]["id"].as_str().map(str::to_string))
                .ok_or_else(|| HeatError::Unavailable("Heat created a stack without an id".into())),
            StatusCode::CONFLICT => Err(HeatError::Conflict),
            _ => Err(error(status, &text)),
        }
    }

    /// The stack called `name` as the stack list shows it (no outputs), or `None` once
    /// there is none.
    ///
    /// The list is the one view that keeps a stack until its deletion has finished: Heat's
    /// `GET /stacks/<name>` and even `GET /stacks/<name>/<id>` answer 404 part-way through a
    /// delete (once Heat has removed the stack's trust).
    pub async fn find(&self, name: &str) -> Result<Option<Stack>, HeatError> {
        Ok(self
            .find_many(&[name])
            .await?
            .into_iter()
            .find(|s| s.stack_name == name))
    }

    /// The stacks called any of `names` (one list call: Heat takes a filter more than once
    /// for several values), as [`Heat::find`] sees them.
    pub async fn find_many(&self, names: &[&str]) -> Result<Vec<Stack>, HeatError> {
        let query: Vec<(&str, &str)> = names.iter().map(|name| ("name", *name)).collect();
        let (status, text) = self
            .send(self.http.get(format!("{}/stacks", self.url)).query(&query))
            .await?;
        if !status.is_success() {
            return Err(error(status, &text));
        }
        #[derive(Deserialize)]
        struct List {
            stacks: Vec<Stack>,
        }
        let listed: List = serde_json::from_str(&text).map_err(|e| {
            HeatError::Unavailable(format!(
                "Heat sent a stack list this client cannot read: {e}"
            ))
        })?;
        Ok(listed
            .stacks
            .into_iter()
            .filter(|s| {
                names.contains(&s.stack_name.as_str()) && s.stack_status != "DELETE_COMPLETE"
            })
            .collect())
    }

    /// The stack with its outputs (`GET /stacks/<name>/<id>`).
    pub async fn show(&self, stack: &Stack) -> Result<Stack, HeatError> {
        let url = format!("{}/stacks/{}/{}", self.url, stack.stack_name, stack.id);
        let (status, text) = self.send(self.http.get(url)).await?;
        if !status.is_success() {
            return Err(error(status, &text));
        }
        #[derive(Deserialize)]
        struct Body {
            stack: Stack,
        }
        serde_json::from_str::<Body>(&text)
            .map(|b| b.stack)
            .map_err(|e| {
                HeatError::Unavailable(format!("Heat sent a stack this client cannot read: {e}"))
            })
    }

    /// Why resources failed, from the stack's events (newest first, one line each).
    pub async fn failure_reasons(&self, stack: &Stack) -> Result<Vec<String>, HeatError> {
        let url = format!(
            "{}/stacks/{}/{}/events?resource_status=FAILED&nested_depth=3&sort_dir=desc&limit=20",
            self.url, stack.stack_name, stack.id
        );
        let (status, text) = self.send(self.http.get(url)).await?;
        if !status.is_success() {
            return Err(error(status, &text));
        }
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let mut reasons = Vec::new();
        for event in value["events"].as_array().into_iter().flatten() {
            let resource = event["resource_name"].as_str().unwrap_or("?");
            let reason = event["resource_status_reason"].as_str().unwrap_or("");
            let line = format!("{resource}: {reason}");
            if !reason.is_empty() && !reasons.contains(&line) {
                reasons.push(line);
            }
        }
        Ok(reasons)
    }

    /// How many of the stack's wait conditions (one per node, the slaves' in nested stacks)
    /// have been signalled: the nodes whose installers have finished.
    pub async fn signalled_nodes(&self, stack: &Stack) -> Result<usize, HeatError> {
        let url = format!(
            "{}/stacks/{}/{}/resources",
            self.url, stack.stack_name, stack.id
        );
        let query = [("nested_depth", "2"), ("type", "OS::Heat::WaitCondition")];
        let (status, text) = self.send(self.http.get(url).query(&query)).await?;
        if !status.is_success() {
            return Err(error(status, &text));
        }
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(value["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["resource_type"] == "OS::Heat::WaitCondition")
            .filter(|r| r["resource_status"] == "CREATE_COMPLETE")
            .count())
    }

    /// Updates the stack in place with new values of some parameters (`PATCH`: the template
    /// and the other parameters stay). Heat then converges asynchronously.
    pub async fn update(
        &self,
        stack: &Stack,
        parameters: &serde_json::Map<String, Value>,
        timeout_mins: u64,
    ) -> Result<(), HeatError> {
        let url = format!("{}/stacks/{}/{}", self.url, stack.stack_name, stack.id);
        let body = json!({
            "parameters": parameters,
            "timeout_mins": timeout_mins,
            "disable_rollback": true,
        });
        let (status, text) = self.send(self.http.patch(url).json(&body)).await?;
        if status.is_success() {
            return Ok(());
        }
        Err(error(status, &text))
    }

    /// Runs a stack action: `suspend`, `resume` or `check` (asynchronous).
    pub async fn act(&self, stack: &Stack, action: &str) -> Result<(), HeatError> {
        let url = format!(
            "{}/stacks/{}/{}/actions",
            self.url, stack.stack_name, stack.id
        );
        let mut body = serde_json::Map::new();
        body.insert(action.to_string(), Value::Null);
        let (status, text) = self.send(self.http.post(url).json(&body)).await?;
        if status.is_success() {
            return Ok(());
        }
        Err(error(status, &text))
    }

    /// Asks Heat to delete the stack (asynchronous). A stack already gone counts as deleted.
    pub async fn delete(&self, stack: &Stack) -> Result<(), HeatError> {
        let url = format!("{}/stacks/{}/{}", self.url, stack.stack_name, stack.id);
        let (status, text) = self.send(self.http.delete(url)).await?;
        if status.is_success() || status == StatusCode::NOT_FOUND {
            return Ok(());
        }
        Err(error(status, &text))
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(StatusCode, String), HeatError> {
        let response = request
            .header("X-Auth-Token", &self.token)
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| {
                HeatError::Unavailable(format!(
                    "Heat at {} {}",
                    self.url,
                    if e.is_timeout() {
                        "did not answer in time".to_string()
                    } else {
                        format!("cannot be reached ({})", error_chain(&e))
                    }
                ))
            })?;
        let status = response.status();
        tracing::debug!(url = %response.url(), status = status.as_u16(), "Heat answered");
        if status.is_redirection() {
            // Only a redirect to another origin is left unfollowed (see `client`).
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| response.url().join(l).ok());
            let elsewhere = location.map_or_else(
                || "an address it did not name".to_string(),
                |l| format!("{}://{}", l.scheme(), l.authority()),
            );
            return Err(HeatError::Rejected(format!(
                "Heat at {} redirected to another host ({elsewhere}); disco does not send \
                 the owner's token there. Check the orchestration endpoint in Keystone's \
                 catalog",
                self.url
            )));
        }
        let text = response
            .text()
            .await
            .map_err(|e| HeatError::Unavailable(format!("Heat's answer was cut short: {e}")))?;
        if status == StatusCode::UNAUTHORIZED {
            return Err(HeatError::Unauthorized(
                openstack_message(&text).unwrap_or_else(|| "401".into()),
            ));
        }
        Ok((status, text))
    }
}

fn error(status: StatusCode, text: &str) -> HeatError {
    let message = openstack_message(text).unwrap_or_else(|| {
        status
            .canonical_reason()
            .unwrap_or("unexpected answer")
            .to_string()
    });
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        HeatError::Unavailable(format!("Heat answered {}: {message}", status.as_u16()))
    } else {
        HeatError::Rejected(format!("{} {message}", status.as_u16()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_is_scheme_host_and_port() {
        let url = |u: &str| reqwest::Url::parse(u).unwrap();
        let heat = url("http://heat.example.org:8004/v1/p/stacks/a");
        assert!(same_origin(
            &heat,
            &url("http://heat.example.org:8004/v1/p/stacks/a/b")
        ));
        assert!(same_origin(&url("https://h/x"), &url("https://h:443/y")));
        for other in [
            "https://heat.example.org:8004/v1",
            "http://heat.example.org:8005/v1",
            "http://evil.example.org:8004/v1",
            "http://heat.example.org/v1",
        ] {
            assert!(!same_origin(&heat, &url(other)), "{other}");
        }
    }
}
