//! What the pages show of a cluster, worked out from its record: pure, so the list, the
//! cluster page and the live feed agree.

use crate::cluster::update::{check_power, check_transition};
use crate::cluster::{ClusterState, Power};
use crate::store::ClusterRecord;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One cluster as a row of the list (and the head of its page).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterRow {
    pub id: String,
    /// The id's first 8 hex digits, to name a cluster without a title.
    pub short: String,
    pub title: String,
    pub state: &'static str,
    /// The colour class: `ok`, `busy`, `warn`, `bad` or `idle`.
    pub tone: &'static str,
    pub progress: String,
    pub done: usize,
    pub total: usize,
    /// Nodes built (master included), and as asked for.
    pub nodes: usize,
    pub wanted_nodes: u32,
    pub slaves: u32,
    pub reason: Option<String>,
    /// RFC 3339, for the page's script to show in local time.
    pub created_at: String,
    /// The server's rendering for pages without script: UTC and how long ago.
    pub created_text: String,
    pub created_ago: String,
    pub lifetime: Option<String>,
    pub expires_at: Option<String>,
    pub expires_text: Option<String>,
    pub expires_in: Option<String>,
    pub frameworks: String,
}

/// A state's colour class.
pub fn tone(state: ClusterState) -> &'static str {
    use ClusterState as S;
    match state {
        S::Ready => "ok",
        S::Pending | S::Building | S::Scaling | S::Suspending | S::Resuming | S::Deleting => "busy",
        S::Degraded => "warn",
        S::Failed => "bad",
        S::Suspended | S::Deleted => "idle",
    }
}

/// `just now`, `42 s ago`, `5 min ago`, `3 h ago`, `2 d ago` (or `in …` for the future).
pub fn relative(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds();
    let (amount, future) = (secs.unsigned_abs(), secs < 0);
    let span = match amount {
        0..5 => return "just now".into(),
        5..60 => format!("{amount} s"),
        60..3600 => format!("{} min", amount / 60),
        3600..86_400 => format!("{} h", amount / 3600),
        _ => format!("{} d", amount / 86_400),
    };
    if future {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

fn utc_text(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl ClusterRow {
    pub fn of(record: &ClusterRecord, now: DateTime<Utc>) -> ClusterRow {
        let progress = &record.progress;
        ClusterRow {
            id: record.id.to_string(),
            short: record.id.simple().to_string()[..8].to_string(),
            title: record.spec.title.clone().unwrap_or_default(),
            state: record.state.as_str(),
            tone: tone(record.state),
            progress: progress.describe(),
            done: progress.done.len(),
            total: progress.frameworks.len(),
            nodes: record.nodes.len(),
            wanted_nodes: record.spec.slave_count + 1,
            slaves: record.spec.slave_count,
            reason: record.reason.clone(),
            created_at: rfc3339(record.created_at),
            created_text: utc_text(record.created_at),
            created_ago: relative(record.created_at, now),
            lifetime: record.spec.lifetime.map(|l| l.to_string()),
            expires_at: record.expires_at.map(rfc3339),
            expires_text: record.expires_at.map(utc_text),
            expires_in: record.expires_at.map(|at| relative(at, now)),
            frameworks: progress.frameworks.join(", "),
        }
    }
}

/// An action button: whether the state allows it, and if not, why (the API's own 409 text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionState {
    pub name: &'static str,
    pub allowed: bool,
    pub why: String,
}

/// Scale, suspend and resume as the cluster's state allows them now, with the same checks
/// the API applies (see `available_actions`).
pub fn action_states(record: &ClusterRecord) -> Vec<ActionState> {
    let mut scaled = record.spec.clone();
    scaled.slave_count = scaled.slave_count.wrapping_add(1);
    let checks = [
        (
            "scale",
            check_transition(record.state, record.operation, &record.spec, &scaled),
        ),
        (
            "suspend",
            check_power(record.state, record.operation, Power::Suspended),
        ),
        (
            "resume",
            check_power(record.state, record.operation, Power::Running),
        ),
    ];
    checks
        .into_iter()
        .map(|(name, check)| ActionState {
            name,
            allowed: check.is_ok(),
            why: check.err().map(capitalised).unwrap_or_default(),
        })
        .collect()
}

fn capitalised(text: String) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn ages_read_as_people_say_them() {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
        let ago = |secs: i64| relative(now - chrono::Duration::seconds(secs), now);
        assert_eq!(ago(2), "just now");
        assert_eq!(ago(42), "42 s ago");
        assert_eq!(ago(5 * 60 + 10), "5 min ago");
        assert_eq!(ago(3 * 3600), "3 h ago");
        assert_eq!(ago(2 * 86_400), "2 d ago");
        assert_eq!(ago(-7200), "in 2 h");
    }

    #[test]
    fn each_state_has_a_colour() {
        assert_eq!(tone(ClusterState::Ready), "ok");
        assert_eq!(tone(ClusterState::Failed), "bad");
        assert_eq!(tone(ClusterState::Building), "busy");
        assert_eq!(tone(ClusterState::Suspended), "idle");
        assert_eq!(tone(ClusterState::Degraded), "warn");
    }
}
