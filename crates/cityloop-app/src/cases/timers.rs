//! The background timer: raises warning and overdue flags and sends automatic reminders
//! (自动催办). Each case carries the next instant worth looking at; the timer claims due cases
//! in a write transaction (on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so several server
//! instances never fire the same timer) and the reminder's dedup key makes a repeat harmless.

use serde::Serialize;

use crate::{App, AppResult};

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct TickReport {
    pub checked: usize,
    pub warnings: usize,
    pub overdue: usize,
    pub idempotency_keys_purged: u64,
}

impl App {
    /// One timer pass at the app's "now". Safe to call from several instances at once.
    pub async fn tick_timers(&self) -> AppResult<TickReport> {
        let now = self.now();
        let mut report = TickReport::default();
        loop {
            let mut tx = self.store.write().await?;
            let due = tx.claim_due_timers(now, 200).await?;
            if due.is_empty() {
                tx.commit().await?;
                break;
            }
            let n = due.len();
            for rec in due {
                let clock = self.clock_after(Some(&rec), &rec.case, now).await?;
                let version = i64::try_from(rec.case.version).unwrap_or(i64::MAX);
                if clock.urgency != rec.clock.urgency {
                    match clock.urgency.as_str() {
                        "warning" => report.warnings += 1,
                        "overdue" => report.overdue += 1,
                        _ => {}
                    }
                    let updated = cityloop_store::CaseRecord {
                        clock: clock.clone(),
                        ..rec.clone()
                    };
                    tx.insert_outbox(&super::notify::for_clock(&updated, &clock.urgency))
                        .await?;
                }
                if !matches!(rec.case.step, cityloop_domain::case::Step::Closed(_)) {
                    for (i, s) in rec.case.supervision.iter().enumerate() {
                        if s.due <= now {
                            tx.insert_outbox(&super::notify::for_supervision_due(&rec, i))
                                .await?;
                        }
                    }
                }
                // A timer that would fire again at the same instant would spin: clear it.
                let mut clock = clock;
                if clock.next_timer_at.is_some_and(|t| t <= now) {
                    clock.next_timer_at = None;
                }
                tx.set_case_clock(&rec.case.id, version, &clock).await?;
                report.checked += 1;
            }
            tx.commit().await?;
            if n < 200 {
                break;
            }
        }
        let keep = chrono::Duration::days(self.cases_cfg.idempotency_days);
        let mut tx = self.store.write().await?;
        report.idempotency_keys_purged = tx.purge_idempotency(now - keep).await?;
        tx.commit().await?;
        Ok(report)
    }
}
