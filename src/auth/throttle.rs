//! Throttling of repeated failed logins, per client address and per user name.
//!
//! Each key has a window of [`FailureThrottle::window`] that starts with its first strike. An
//! attempt that is going to be checked (hashed, or sent to Keystone) is a strike as it starts,
//! so that many attempts in parallel cannot all slip through before the first one fails; a
//! success takes its strike back. Once a key has `limit` strikes in its window, further
//! attempts are refused until the window ends. No I/O; time is passed in.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Who strikes are counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Client {
    /// The peer's address (an IPv6 address counts as its /64, which one host usually has).
    Address(IpAddr),
    /// The user name the attempt was for.
    User(String),
}

impl Client {
    /// The key of a peer address.
    pub fn address(address: IpAddr) -> Client {
        match address {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Client::Address(IpAddr::V4(v4)),
                None => {
                    let bits = u128::from(v6) & !((1u128 << 64) - 1);
                    Client::Address(IpAddr::V6(bits.into()))
                }
            },
            v4 => Client::Address(v4),
        }
    }
}

/// An attempt was refused; it may be retried after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blocked {
    pub retry_after: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Strikes {
    since: Instant,
    count: u32,
}

/// Strikes per client, at most `capacity` clients.
pub struct FailureThrottle {
    limit: u32,
    window: Duration,
    capacity: usize,
    table: Mutex<HashMap<Client, Strikes>>,
}

impl FailureThrottle {
    /// At most `limit` strikes per key per `window` (0: no throttling), remembering at most
    /// `capacity` keys.
    pub fn new(limit: u32, window: Duration, capacity: usize) -> FailureThrottle {
        FailureThrottle {
            limit,
            window,
            capacity: capacity.max(1),
            table: Mutex::new(HashMap::new()),
        }
    }

    fn table(&self) -> MutexGuard<'_, HashMap<Client, Strikes>> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How long a window lasts.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Starts an attempt: a strike against every one of `clients`, unless one of them already
    /// has its limit (then nothing is counted).
    pub fn begin(&self, clients: &[Client], now: Instant) -> Result<(), Blocked> {
        if self.limit == 0 {
            return Ok(());
        }
        let mut table = self.table();
        let mut wait = Duration::ZERO;
        for client in clients {
            if let Some(strikes) = table.get(client) {
                let ends = strikes.since + self.window;
                if ends > now && strikes.count >= self.limit {
                    wait = wait.max(ends - now);
                }
            }
        }
        if !wait.is_zero() {
            return Err(Blocked { retry_after: wait });
        }
        for client in clients {
            if !table.contains_key(client) && table.len() >= self.capacity {
                self.make_room(&mut table, now);
            }
            let strikes = table.entry(client.clone()).or_insert(Strikes {
                since: now,
                count: 0,
            });
            if strikes.since + self.window <= now {
                *strikes = Strikes {
                    since: now,
                    count: 0,
                };
            }
            strikes.count += 1;
        }
        Ok(())
    }

    /// The attempt succeeded: its strikes are taken back.
    pub fn succeeded(&self, clients: &[Client], now: Instant) {
        if self.limit == 0 {
            return;
        }
        let mut table = self.table();
        for client in clients {
            if let Some(strikes) = table.get_mut(client) {
                strikes.count = strikes.count.saturating_sub(1);
                if strikes.count == 0 || strikes.since + self.window <= now {
                    table.remove(client);
                }
            }
        }
    }

    /// Clients remembered.
    pub fn len(&self) -> usize {
        self.table().len()
    }

    /// Whether no client is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops windows that ended; if none did, the oldest window.
    fn make_room(&self, table: &mut HashMap<Client, Strikes>, now: Instant) {
        table.retain(|_, strikes| strikes.since + self.window > now);
        if table.len() >= self.capacity {
            let oldest = table
                .iter()
                .min_by_key(|(_, strikes)| strikes.since)
                .map(|(client, _)| client.clone());
            if let Some(oldest) = oldest {
                table.remove(&oldest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const MINUTE: Duration = Duration::from_secs(60);

    fn alice_from(last: u8) -> Vec<Client> {
        vec![
            Client::address(IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))),
            Client::User("alice".into()),
        ]
    }

    #[test]
    fn the_attempt_after_the_limit_waits_until_the_window_ends() {
        let throttle = FailureThrottle::new(3, MINUTE, 100);
        let start = Instant::now();
        for _ in 0..3 {
            throttle.begin(&alice_from(1), start).unwrap();
        }
        let blocked = throttle
            .begin(&alice_from(1), start + Duration::from_secs(20))
            .unwrap_err();
        assert_eq!(blocked.retry_after, Duration::from_secs(40));
        throttle.begin(&alice_from(1), start + MINUTE).unwrap();
    }

    #[test]
    fn a_user_name_is_throttled_from_every_address_and_an_address_for_every_name() {
        let throttle = FailureThrottle::new(2, MINUTE, 100);
        let now = Instant::now();
        throttle.begin(&alice_from(1), now).unwrap();
        throttle.begin(&alice_from(2), now).unwrap();
        assert!(throttle.begin(&alice_from(3), now).is_err());
        let bob_from_1 = [alice_from(1)[0].clone(), Client::User("bob".into())];
        throttle.begin(&bob_from_1, now).unwrap();
        assert!(throttle.begin(&bob_from_1, now).is_err());
        let bob_from_3 = [alice_from(3)[0].clone(), Client::User("bob".into())];
        throttle.begin(&bob_from_3, now).unwrap();
    }

    #[test]
    fn successes_take_their_strike_back() {
        let throttle = FailureThrottle::new(2, MINUTE, 100);
        let now = Instant::now();
        for _ in 0..10 {
            throttle.begin(&alice_from(1), now).unwrap();
            throttle.succeeded(&alice_from(1), now);
        }
        assert!(throttle.is_empty());
    }

    #[test]
    fn a_refused_attempt_counts_nothing() {
        let throttle = FailureThrottle::new(1, MINUTE, 100);
        let now = Instant::now();
        let alice = [Client::User("alice".into())];
        throttle.begin(&alice, now).unwrap();
        // Blocked by the user name: the address gets no strike.
        assert!(throttle.begin(&alice_from(9), now).is_err());
        throttle
            .begin(&[alice_from(9)[0].clone()], now)
            .expect("the address was not counted");
    }

    #[test]
    fn the_table_never_holds_more_clients_than_its_capacity() {
        let throttle = FailureThrottle::new(10, MINUTE, 50);
        let now = Instant::now();
        for n in 0..1000u32 {
            let address = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n));
            throttle.begin(&[Client::address(address)], now).unwrap();
        }
        assert_eq!(throttle.len(), 50);
    }

    #[test]
    fn ipv6_addresses_of_one_64_share_their_strikes() {
        let a: Ipv6Addr = "2001:db8:1:2::1".parse().unwrap();
        let b: Ipv6Addr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: Ipv6Addr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(Client::address(a.into()), Client::address(b.into()));
        assert_ne!(Client::address(a.into()), Client::address(c.into()));
        let mapped: Ipv6Addr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(Client::address(mapped.into()), alice_from(1)[0]);
    }

    #[test]
    fn a_limit_of_zero_throttles_nothing() {
        let throttle = FailureThrottle::new(0, MINUTE, 10);
        for _ in 0..100 {
            throttle.begin(&alice_from(1), Instant::now()).unwrap();
        }
        assert!(throttle.is_empty());
    }
}
