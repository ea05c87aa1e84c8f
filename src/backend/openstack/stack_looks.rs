//! Looks at many building stacks with few calls. The looks asked for within a short window in
//! one project and region become one stack list naming up to [`MAX_NAMES`] stacks (Heat takes
//! the `name` filter more than once). The first look of a window waits the window out and
//! makes the calls; each look then gets the stack the list showed, or nothing, in which case
//! its own cluster looks again alone, with its own trust. So no answer depends on another
//! cluster's trust being good, and a Heat that ignored repeated filters would only be slower.

use super::heat::Stack;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::oneshot;

/// How long the first look of a window waits for others.
pub const WINDOW: Duration = Duration::from_millis(20);
/// Stacks named by one list call (its URL stays a few KiB long).
pub const MAX_NAMES: usize = 50;

/// A look waiting in a window: the stack's name and where its answer goes.
pub type Waiting = (String, oneshot::Sender<Option<Stack>>);

/// The open windows, by project and region.
#[derive(Default)]
pub struct StackLooks {
    open: Mutex<HashMap<String, Vec<Waiting>>>,
}

/// A look that joined a window.
pub struct Joined {
    /// Whether this look opened the window, and so makes its calls.
    pub leads: bool,
    pub answer: oneshot::Receiver<Option<Stack>>,
}

impl StackLooks {
    /// Joins the window of `scope` (project and region) with a look at the stack `name`.
    pub fn join(&self, scope: &str, name: &str) -> Joined {
        let (sender, answer) = oneshot::channel();
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let window = open.entry(scope.to_string()).or_default();
        let leads = window.is_empty();
        window.push((name.to_string(), sender));
        Joined { leads, answer }
    }

    /// Closes the window of `scope`: its looks, in batches of at most [`MAX_NAMES`].
    pub fn close(&self, scope: &str) -> Vec<Vec<Waiting>> {
        let looks = self
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(scope)
            .unwrap_or_default();
        let mut batches = Vec::new();
        let mut looks = looks.into_iter().peekable();
        while looks.peek().is_some() {
            batches.push(looks.by_ref().take(MAX_NAMES).collect());
        }
        batches
    }
}

/// Gives each look of a batch the stack of its name among `listed`, or nothing.
pub fn answer(batch: Vec<Waiting>, listed: &[Stack]) {
    for (name, sender) in batch {
        let _ = sender.send(listed.iter().find(|s| s.stack_name == name).cloned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(name: &str) -> Stack {
        serde_json::from_value(serde_json::json!({
            "id": format!("id-{name}"), "stack_name": name, "stack_status": "CREATE_IN_PROGRESS"}))
        .expect("a stack")
    }

    #[test]
    fn the_first_look_leads_and_windows_are_per_scope() {
        let looks = StackLooks::default();
        assert!(looks.join("p1/", "a").leads);
        assert!(!looks.join("p1/", "b").leads);
        assert!(looks.join("p2/", "c").leads);
        let batches = looks.close("p1/");
        assert_eq!(batches.len(), 1);
        let names: Vec<&str> = batches[0].iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert!(looks.close("p1/").is_empty());
        assert!(
            looks.join("p1/", "d").leads,
            "a closed window makes room for a new one"
        );
    }

    #[test]
    fn a_big_window_goes_out_in_batches_of_fifty() {
        let looks = StackLooks::default();
        let _answers: Vec<Joined> = (0..120)
            .map(|i| looks.join("p/", &format!("s{i}")))
            .collect();
        let sizes: Vec<usize> = looks.close("p/").iter().map(Vec::len).collect();
        assert_eq!(sizes, [50, 50, 20]);
    }

    #[test]
    fn each_look_gets_its_own_stack_or_nothing() {
        let looks = StackLooks::default();
        let mut a = looks.join("p/", "a").answer;
        let mut b = looks.join("p/", "b").answer;
        for batch in looks.close("p/") {
            answer(batch, &[stack("b"), stack("x")]);
        }
        assert!(a.try_recv().expect("answered").is_none());
        assert_eq!(
            b.try_recv().expect("answered").map(|s| s.id),
            Some("id-b".to_string())
        );
    }
}
