//! Single flight: concurrent requests for the same key share one piece of work (one argon2
//! verification, one Keystone call) and its result.

use super::digest::Digest;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::OnceCell;

type Flights<V> = Mutex<HashMap<Digest, Arc<OnceCell<V>>>>;

/// Work in progress by key.
pub struct SingleFlight<V> {
    flights: Flights<V>,
}

impl<V> Default for SingleFlight<V> {
    fn default() -> Self {
        SingleFlight {
            flights: Mutex::new(HashMap::new()),
        }
    }
}

fn lock<V>(flights: &Flights<V>) -> MutexGuard<'_, HashMap<Digest, Arc<OnceCell<V>>>> {
    flights.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Removes a flight from the table when the last one waiting for it is gone, or once it has
/// landed, so the table holds only work in progress.
struct Leave<'a, V> {
    flights: &'a Flights<V>,
    key: Digest,
    cell: Arc<OnceCell<V>>,
}

impl<V> Drop for Leave<'_, V> {
    fn drop(&mut self) {
        let mut flights = lock(self.flights);
        let ours = flights
            .get(&self.key)
            .is_some_and(|cell| Arc::ptr_eq(cell, &self.cell));
        // Two references: the table's and ours.
        if ours && (self.cell.initialized() || Arc::strong_count(&self.cell) == 2) {
            flights.remove(&self.key);
        }
    }
}

impl<V: Clone> SingleFlight<V> {
    /// The result of `work` for `key`: run here, or by a concurrent caller with the same key
    /// whose result this call then shares. If the caller running it goes away (its request was
    /// dropped), a waiting one runs it instead.
    pub async fn run<F, Fut>(&self, key: Digest, work: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        let cell = Arc::clone(lock(&self.flights).entry(key).or_default());
        let flight = Leave {
            flights: &self.flights,
            key,
            cell,
        };
        flight.cell.get_or_init(work).await.clone()
    }

    /// Flights in progress.
    pub fn in_flight(&self) -> usize {
        lock(&self.flights).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn concurrent_callers_with_one_key_share_one_run() {
        let flights = Arc::new(SingleFlight::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (flights, runs) = (Arc::clone(&flights), Arc::clone(&runs));
            tasks.push(tokio::spawn(async move {
                flights
                    .run([7; 32], || async {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        42
                    })
                    .await
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap(), 42);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(flights.in_flight(), 0);
    }

    #[tokio::test]
    async fn different_keys_run_separately_and_a_later_call_runs_again() {
        let flights = SingleFlight::default();
        assert_eq!(flights.run([1; 32], || async { 1 }).await, 1);
        assert_eq!(flights.run([2; 32], || async { 2 }).await, 2);
        assert_eq!(flights.run([1; 32], || async { 3 }).await, 3);
        assert_eq!(flights.in_flight(), 0);
    }

    #[tokio::test]
    async fn a_cancelled_caller_leaves_nothing_behind() {
        let flights = SingleFlight::<u32>::default();
        let slow = flights.run([3; 32], || async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            1
        });
        assert!(tokio::time::timeout(Duration::from_millis(20), slow)
            .await
            .is_err());
        assert_eq!(flights.in_flight(), 0);
    }
}
