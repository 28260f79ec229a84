//! Fixed-window request counters for the public endpoints. Time comes from the application's
//! clock (tests drive it), which is why this is not a GCRA crate with its own clock. The counts
//! live in memory, per server instance: a limit guards one instance's capacity and slows abuse,
//! while the moderation queue and per-phone quotas catch what spreads over addresses.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::{AppError, AppResult};

/// Windows kept before expired ones are swept.
const SWEEP_AT: usize = 100_000;

#[derive(Default)]
pub struct Limiter {
    windows: Mutex<HashMap<String, (DateTime<Utc>, u32)>>,
}

impl Limiter {
    /// Counts one request under `key`; refuses it when `limit` were already counted in the
    /// current window, saying how long until the window ends.
    pub fn check(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if w.len() >= SWEEP_AT {
            w.retain(|_, (start, _)| now - *start < window);
        }
        let entry = w.entry(key.to_owned()).or_insert((now, 0));
        if now - entry.0 >= window || now < entry.0 {
            *entry = (now, 0);
        }
        if entry.1 >= limit {
            let left = (entry.0 + window - now).num_seconds().max(1);
            return Err(AppError::RateLimited {
                retry_after_secs: u64::try_from(left).unwrap_or(1),
            });
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_window_refuses_beyond_its_limit_and_reopens() {
        let l = Limiter::default();
        let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
        let hour = Duration::hours(1);
        for _ in 0..3 {
            assert!(l.check("ip:1", 3, hour, t0).is_ok());
        }
        match l.check("ip:1", 3, hour, t0 + Duration::minutes(20)) {
            Err(AppError::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 2400),
            other => panic!("{other:?}"),
        }
        assert!(l.check("ip:2", 3, hour, t0).is_ok(), "keys are separate");
        assert!(l.check("ip:1", 3, hour, t0 + hour).is_ok());
    }
}
