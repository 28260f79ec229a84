//! Rule sets as the closed loop needs them, cached: published sets never change, so a case's
//! pinned set is loaded once; the list of published sets is re-read after a publish here and by
//! the periodic refresh (another instance may have published).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use cityloop_domain::calendar::TimeLimit;
use cityloop_domain::rules::{ProcessLimits, RuleSetContent};
use cityloop_store::RuleSetRecord;

use crate::standards::{in_force, parse_content};
use crate::{App, AppError, AppResult};

#[derive(Default)]
pub(crate) struct RulesCache {
    list: Mutex<Option<Arc<Vec<RuleSetRecord>>>>,
    sets: Mutex<HashMap<i64, Arc<RuleSetContent>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl App {
    /// Forgets the list of published rule sets (after a publish, or periodically).
    pub fn invalidate_rules(&self) {
        *lock(&self.rules_cache.list) = None;
    }

    async fn published_sets(&self) -> AppResult<Arc<Vec<RuleSetRecord>>> {
        if let Some(list) = lock(&self.rules_cache.list).clone() {
            return Ok(list);
        }
        let mut tx = self.store.read().await?;
        let list: Vec<RuleSetRecord> = tx
            .list_rule_sets()
            .await?
            .into_iter()
            .filter(|r| r.status == "published")
            .collect();
        let list = Arc::new(list);
        *lock(&self.rules_cache.list) = Some(list.clone());
        Ok(list)
    }

    /// The published rule set in force at `at`, with its content.
    pub(crate) async fn rules_in_force(
        &self,
        at: DateTime<Utc>,
    ) -> AppResult<Option<(i64, Arc<RuleSetContent>)>> {
        let list = self.published_sets().await?;
        let Some(record) = in_force(&list, at) else {
            return Ok(None);
        };
        let id = record.id;
        if let Some(c) = lock(&self.rules_cache.sets).get(&id).cloned() {
            return Ok(Some((id, c)));
        }
        let content = Arc::new(parse_content(record)?);
        lock(&self.rules_cache.sets).insert(id, content.clone());
        Ok(Some((id, content)))
    }

    /// A published rule set by id (a case's pinned set).
    pub(crate) async fn rule_set_content(&self, id: i64) -> AppResult<Arc<RuleSetContent>> {
        if let Some(c) = lock(&self.rules_cache.sets).get(&id).cloned() {
            return Ok(c);
        }
        let record = {
            let mut tx = self.store.read().await?;
            tx.get_rule_set(id)
                .await?
                .ok_or_else(|| AppError::Internal(format!("rule set {id} is missing")))?
        };
        let content = Arc::new(parse_content(&record)?);
        if record.status == "published" {
            lock(&self.rules_cache.sets).insert(id, content.clone());
        }
        Ok(content)
    }

    /// Process limits for the centre-side steps: those of the rule set in force, or the defaults.
    pub(crate) async fn process_limits(&self, at: DateTime<Utc>) -> AppResult<ProcessLimits> {
        Ok(self
            .rules_in_force(at)
            .await?
            .map(|(_, c)| c.process.clone())
            .unwrap_or_default())
    }
}

/// The disposal limit of the condition a case was filed under.
pub(crate) fn disposal_limit(
    content: &RuleSetContent,
    class: &str,
    condition: &str,
) -> Option<TimeLimit> {
    content
        .conditions
        .iter()
        .find(|c| c.class.to_string() == class && c.condition == condition)
        .map(|c| c.limit)
}
