//! The live feed of case moves for the command centre, read from the durable record so that it
//! shows every change: made through this process's API or not (the worker, the CLI, another
//! instance on the same PostgreSQL database), and urgency changes that only the clock makes.
//!
//! Two sources, polled by one task per process:
//! * the event log, tailed by its write position. On PostgreSQL positions come from a sequence
//!   and transactions commit in any order, so position 11 may become visible after 12. The
//!   cursor therefore keeps a low-water mark below which everything has been seen, remembers
//!   what it saw above it, and re-reads from the mark; a hole that stays empty for
//!   [`GAP_PASSES`] passes is a rolled-back transaction (or one slower than that, which the
//!   screens' periodic reload then catches) and is given up. SQLite has one writer, so there
//!   are no holes.
//! * the clock: open cases whose warning or due instant lies between the previous pass and now
//!   (on the app's clock), found through indexes on those instants.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};

use super::CaseSummary;
use crate::{App, AppResult};

/// Events read per query; a busier pass reads again.
const PAGE: i64 = 500;
/// Passes a hole in the event positions is waited for before it is given up.
const GAP_PASSES: u32 = 10;
/// Cases announced per pass (moved, or crossing into warning or overdue); more than that asks
/// the screens to reload.
const CROSSING_LIMIT: i64 = 2000;
/// How often (on the app's clock) the clock-driven changes are looked for.
pub const URGENCY_EVERY: Duration = Duration::seconds(30);

/// Where a live feed stands: see the module documentation.
#[derive(Debug, Clone)]
pub struct LiveCursor {
    /// Every event at or below this position has been seen (or given up).
    low: i64,
    /// Positions above `low` already seen.
    seen: BTreeSet<i64>,
    /// Holes above `low` and the passes they have been waited for.
    holes: BTreeMap<i64, u32>,
    /// The instant up to which clock-driven urgency changes have been announced.
    urgency_at: DateTime<Utc>,
}

/// What one pass found.
#[derive(Debug, Default)]
pub struct LiveBatch {
    /// Current state of every case that moved, once each, oldest move first.
    pub moved: Vec<CaseSummary>,
    /// Too much changed to list: screens should reload.
    pub resync: bool,
}

impl LiveCursor {
    /// Positions of `rows` not seen before; advances the low-water mark over what is settled.
    fn take(&mut self, rows: &[(i64, String)]) -> Vec<String> {
        let mut fresh = Vec::new();
        for (seq, case_id) in rows {
            if *seq > self.low && self.seen.insert(*seq) {
                self.holes.remove(seq);
                fresh.push(case_id.clone());
            }
        }
        // Positions between the mark and the highest seen one that are still missing.
        if let Some(&top) = self.seen.last() {
            for p in self.low + 1..top {
                if !self.seen.contains(&p) {
                    *self.holes.entry(p).or_insert(0) += 1;
                }
            }
        }
        loop {
            let next = self.low + 1;
            if self.seen.remove(&next) {
                self.low = next;
            } else if self.holes.get(&next).is_some_and(|n| *n >= GAP_PASSES) {
                self.holes.remove(&next);
                self.low = next;
            } else {
                break;
            }
        }
        fresh
    }
}

impl App {
    /// A cursor at the newest event and the current instant: a feed announces what happens
    /// from now on (screens load the present state themselves).
    pub async fn live_cursor(&self) -> AppResult<LiveCursor> {
        let mut tx = self.store.read().await?;
        let low = tx.case_event_seq_max().await?;
        Ok(LiveCursor {
            low,
            seen: BTreeSet::new(),
            holes: BTreeMap::new(),
            urgency_at: self.now(),
        })
    }

    /// One pass of the feed: cases written since the cursor, and, once [`URGENCY_EVERY`] has
    /// passed on the app's clock, open cases that crossed into warning or overdue. Internal to the
    /// server (no actor): the caller decides who may see the result. Without `watched` the pass
    /// only moves the cursor (nobody would see the cases), which keeps an idle feed cheap.
    pub async fn live_poll(&self, cursor: &mut LiveCursor, watched: bool) -> AppResult<LiveBatch> {
        let mut ids: Vec<String> = Vec::new();
        let mut tx = self.store.read().await?;
        let mut from = cursor.low;
        loop {
            let rows = tx.case_event_feed(from, PAGE).await?;
            for id in cursor.take(&rows) {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            match rows.last() {
                Some((last, _)) if i64::try_from(rows.len()).unwrap_or(i64::MAX) >= PAGE => {
                    from = cursor.low.max(*last);
                }
                _ => break,
            }
            if ids.len() > CROSSING_LIMIT as usize {
                tx.commit().await?;
                return Ok(LiveBatch {
                    moved: Vec::new(),
                    resync: true,
                });
            }
        }
        let now = self.now();
        if !watched {
            cursor.urgency_at = now;
            tx.commit().await?;
            return Ok(LiveBatch::default());
        }
        let mut records = if ids.is_empty() {
            Vec::new()
        } else {
            tx.get_cases(&ids).await?
        };
        // The order of the moves, not of the lookup.
        records.sort_by_key(|r| ids.iter().position(|id| *id == r.case.id));
        let mut moved: Vec<CaseSummary> = records.iter().map(|r| self.summary_of(r)).collect();

        let mut resync = false;
        if now - cursor.urgency_at >= URGENCY_EVERY {
            let crossed = tx
                .open_cases_crossing(cursor.urgency_at, now, CROSSING_LIMIT + 1)
                .await?;
            if crossed.len() > CROSSING_LIMIT as usize {
                resync = true;
            } else {
                for r in &crossed {
                    let s = self.summary_of(r);
                    // A paused clock does not turn red; a case moved in this pass is already in.
                    if matches!(s.urgency.as_str(), "warning" | "overdue")
                        && !moved.iter().any(|m| m.id == s.id)
                    {
                        moved.push(s);
                    }
                }
            }
            cursor.urgency_at = now;
        }
        tx.commit().await?;
        Ok(LiveBatch { moved, resync })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(low: i64) -> LiveCursor {
        LiveCursor {
            low,
            seen: BTreeSet::new(),
            holes: BTreeMap::new(),
            urgency_at: DateTime::<Utc>::MIN_UTC,
        }
    }

    fn rows(seqs: &[i64]) -> Vec<(i64, String)> {
        seqs.iter().map(|s| (*s, format!("c{s}"))).collect()
    }

    #[test]
    fn in_order_rows_advance_the_mark() {
        let mut c = cursor(10);
        assert_eq!(c.take(&rows(&[11, 12])), ["c11", "c12"]);
        assert_eq!(c.low, 12);
        assert!(c.seen.is_empty());
        assert!(c.take(&rows(&[])).is_empty());
    }

    #[test]
    fn a_late_commit_is_announced_once_when_it_appears() {
        let mut c = cursor(10);
        // 11 is not visible yet: 12 is announced, the mark waits below 11.
        assert_eq!(c.take(&rows(&[12])), ["c12"]);
        assert_eq!(c.low, 10);
        // Re-reading from the mark returns 12 again: not announced twice.
        assert!(c.take(&rows(&[12])).is_empty());
        assert_eq!(c.take(&rows(&[11, 12, 13])), ["c11", "c13"]);
        assert_eq!(c.low, 13);
        assert!(c.seen.is_empty() && c.holes.is_empty());
    }

    #[test]
    fn a_hole_that_stays_empty_is_given_up() {
        let mut c = cursor(0);
        for _ in 0..GAP_PASSES {
            assert_eq!(c.low, 0);
            c.take(&rows(&[2]));
        }
        assert_eq!(c.low, 2);
        assert!(c.holes.is_empty());
    }
}
