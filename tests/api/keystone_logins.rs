//! `auth.mode = keystone`: a user's password or token is checked by Keystone once and reused
//! while polling (counted on the fake Keystone), failed guesses are throttled, and a revoked
//! token is honoured at most `auth.cache_secs`.
