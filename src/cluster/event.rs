//! A cluster's history: every request, state change, step and failure, in order.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// What an event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// The owner asked for something (create, update, an action, delete).
    Action,
    /// The state changed.
    State,
    /// A step of an operation (a node added, a hook run, …).
    Step,
    /// Something failed; the message says what and why.
    Failure,
    /// A health look found a problem, or that it is gone.
    Health,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Action => "action",
            EventKind::State => "state",
            EventKind::Step => "step",
            EventKind::Failure => "failure",
            EventKind::Health => "health",
        }
    }

    pub fn parse(text: &str) -> Option<EventKind> {
        [
            EventKind::Action,
            EventKind::State,
            EventKind::Step,
            EventKind::Failure,
            EventKind::Health,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// One entry of a cluster's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// Grows with every event of every cluster: `?since=<id>` reads only newer ones.
    pub id: i64,
    pub at: DateTime<Utc>,
    pub kind: EventKind,
    /// The node it happened on, where there is one.
    pub node: Option<String>,
    pub message: String,
}

/// An event about to be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub kind: EventKind,
    pub node: Option<String>,
    pub message: String,
}

impl NewEvent {
    pub fn new(kind: EventKind, message: impl Into<String>) -> NewEvent {
        NewEvent {
            kind,
            node: None,
            message: message.into(),
        }
    }

    pub fn on(mut self, node: impl Into<String>) -> NewEvent {
        self.node = Some(node.into());
        self
    }
}

impl Event {
    /// One line of the text rendering: `<time> <kind> [<node>] <message>`.
    pub fn line(&self) -> String {
        let at = self.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        match &self.node {
            Some(node) => format!("{at} {} [{node}] {}", self.kind.as_str(), self.message),
            None => format!("{at} {} {}", self.kind.as_str(), self.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_lines_read_well() {
        for kind in ["action", "state", "step", "failure", "health"] {
            assert_eq!(EventKind::parse(kind).map(EventKind::as_str), Some(kind));
        }
        let event = Event {
            id: 7,
            at: DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            kind: EventKind::Step,
            node: Some("slave-2".into()),
            message: "joined".into(),
        };
        assert_eq!(
            event.line(),
            "2026-12-02T10:00:00.000Z step [slave-2] joined"
        );
    }
}
