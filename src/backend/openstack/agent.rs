//! disco's side of the agent every VM runs (`frameworks/lib/agent.py`): hook runs on the
//! master, reached through its floating IP, and on a slave, relayed by the master. Every
//! request carries the cluster's secret.

use super::keystone::error_chain;
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

/// A hook run as an agent reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct RunStatus {
    pub state: String,
    #[serde(default)]
    pub current: String,
    #[serde(default)]
    pub reason: String,
}

/// One hook run to start (or follow) on one node.
pub struct HookCall<'a> {
    /// The slave's cluster-internal address, or `None` for the master itself.
    pub relay: Option<&'a str>,
    pub run: &'a str,
    pub event: &'a str,
    pub steps: &'a str,
    pub nodes: &'a str,
}

/// The master's agent.
pub struct Agent {
    pub http: reqwest::Client,
    /// `http://<floating ip>:<agent port>`.
    pub url: String,
    pub secret: String,
}

/// The agent cannot be asked now (unreachable, or an answer it should not give).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AgentError(pub String);

pub fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))
}

impl Agent {
    fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        relay: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .header("X-Disco-Secret", &self.secret);
        if let Some(relay) = relay {
            request = request.header("X-Disco-Relay", relay);
        }
        request
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<(u16, String), AgentError> {
        let response = request.send().await.map_err(|e| {
            AgentError(format!(
                "cannot reach the master's agent at {} ({}); openstack.gateway_cidr must let \
                 disco's address in",
                self.url,
                error_chain(&e)
            ))
        })?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        Ok((status, text))
    }

    /// Starts the run unless it is going on or finished; returns where it is.
    pub async fn run(&self, call: &HookCall<'_>) -> Result<RunStatus, AgentError> {
        let body = json!({"event": call.event, "steps": call.steps, "nodes": call.nodes});
        let path = format!("/hooks/{}", call.run);
        let (status, text) = self
            .send(
                self.request(reqwest::Method::POST, &path, call.relay)
                    .json(&body),
            )
            .await?;
        if status != 202 {
            return Err(AgentError(format!(
                "the agent refused the {} run {}: {status} {}",
                call.event,
                call.run,
                text.chars().take(200).collect::<String>()
            )));
        }
        serde_json::from_str(&text)
            .map_err(|e| AgentError(format!("the agent answered something unreadable: {e}")))
    }

    /// Forgets a finished run (a node of that name added later joins afresh).
    pub async fn forget(&self, relay: Option<&str>, run: &str) -> Result<(), AgentError> {
        let (status, text) = self
            .send(self.request(reqwest::Method::DELETE, &format!("/hooks/{run}"), relay))
            .await?;
        match status {
            204 | 404 => Ok(()),
            _ => Err(AgentError(format!(
                "the agent did not forget the run {run}: {status} {}",
                text.chars().take(200).collect::<String>()
            ))),
        }
    }
}
