//! Per-city evaluation schemes, versioned like rule sets. A version is a TOML overlay on the
//! national defaults; it is validated as a whole before it is stored (every problem listed), a
//! published version never changes, and a period is scored under the latest version published
//! with an effective date on or before the period's first day. Before any is published the
//! built-in example (version 0) applies.

use chrono::NaiveDate;
use cityloop_domain::{Action, Target};
use cityloop_eval::{
    DEFAULT_SCHEME_TOML, EXAMPLE_CITY_OVERLAY_TOML, EvaluationScheme, SchemeProblem, ValidScheme,
};
use cityloop_store::SchemeRecord;
use serde::Serialize;

use crate::{Actor, App, AppError, AppResult, Ctx, Obj};

/// The version number of the built-in scheme (national defaults + the example city overlay).
pub const BUILTIN_VERSION: i64 = 0;
const BUILTIN_NAME: &str = "内置示例：国家默认值 + 示例城市覆盖 (built-in example)";

/// Which scheme scored a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemeInfo {
    pub version: i64,
    pub name: String,
    /// sha256 of the national defaults and the overlay, as published.
    pub content_hash: String,
}

impl SchemeInfo {
    /// The stamp stored with a publication.
    pub fn stamp(&self) -> String {
        format!(
            "v{} {} (sha256 {})",
            self.version,
            self.name,
            &self.content_hash[..12.min(self.content_hash.len())]
        )
    }
}

pub(crate) struct ActiveScheme {
    pub version: i64,
    pub name: String,
    pub content_hash: String,
    pub valid: ValidScheme,
}

impl ActiveScheme {
    pub fn info(&self) -> SchemeInfo {
        SchemeInfo {
            version: self.version,
            name: self.name.clone(),
            content_hash: self.content_hash.clone(),
        }
    }
}

/// A stored version, or the built-in one.
#[derive(Debug, Clone, Serialize)]
pub struct SchemeView {
    #[serde(flatten)]
    pub record: SchemeRecord,
    /// Applies to periods starting today.
    pub in_force: bool,
}

pub(crate) fn content_hash(overlay: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(DEFAULT_SCHEME_TOML.as_bytes());
    h.update([0u8]);
    h.update(overlay.as_bytes());
    format!("{:x}", h.finalize())
}

/// The national defaults with `overlay` on top, or every problem with it.
pub(crate) fn effective_scheme(overlay: &str) -> Result<ValidScheme, Vec<String>> {
    EvaluationScheme::from_toml_with_overlay(DEFAULT_SCHEME_TOML, overlay)
        .map_err(|e| vec![e.to_string()])?
        .validated()
        .map_err(|problems| problems.iter().map(SchemeProblem::to_string).collect())
}

fn builtin_record() -> SchemeRecord {
    SchemeRecord {
        version: BUILTIN_VERSION,
        name: BUILTIN_NAME.to_owned(),
        overlay: EXAMPLE_CITY_OVERLAY_TOML.to_owned(),
        content_hash: content_hash(EXAMPLE_CITY_OVERLAY_TOML),
        status: "published".to_owned(),
        effective_from: None,
        created_by: None,
        created_at: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
        published_by: None,
        published_at: None,
    }
}

/// The published version in force for a period starting on `day`: the latest effective date on
/// or before it, the highest version among equal dates.
fn in_force(records: &[SchemeRecord], day: NaiveDate) -> Option<&SchemeRecord> {
    let key = day.format("%Y-%m-%d").to_string();
    records
        .iter()
        .filter(|r| r.status == "published")
        .filter(|r| {
            r.effective_from
                .as_deref()
                .is_some_and(|d| d <= key.as_str())
        })
        .max_by(|a, b| {
            a.effective_from
                .cmp(&b.effective_from)
                .then(a.version.cmp(&b.version))
        })
}

impl App {
    /// The scheme that scores a period starting on `from`.
    pub(crate) async fn scheme_for(&self, from: NaiveDate) -> AppResult<ActiveScheme> {
        let records = {
            let mut tx = self.store.read().await?;
            tx.list_schemes().await?
        };
        let record = in_force(&records, from)
            .cloned()
            .unwrap_or_else(builtin_record);
        let valid = effective_scheme(&record.overlay).map_err(|p| {
            AppError::Internal(format!(
                "evaluation scheme v{} no longer validates: {}",
                record.version,
                p.join("; ")
            ))
        })?;
        Ok(ActiveScheme {
            version: record.version,
            name: record.name,
            content_hash: record.content_hash,
            valid,
        })
    }

    async fn authorize_schemes(&self, actor: &Actor, write: bool, ctx: &Ctx) -> AppResult<()> {
        let action = if write {
            Action::EvaluationConfigure
        } else {
            Action::EvaluationSchemeRead
        };
        self.authorize(
            actor,
            action,
            &Target::Collection,
            Obj::kind("evaluation_scheme"),
            ctx,
        )
        .await?;
        Ok(())
    }

    /// Every version, the built-in one first.
    pub async fn list_eval_schemes(&self, actor: &Actor, ctx: &Ctx) -> AppResult<Vec<SchemeView>> {
        self.authorize_schemes(actor, false, ctx).await?;
        let records = {
            let mut tx = self.store.read().await?;
            tx.list_schemes().await?
        };
        let today = self.today();
        let current = in_force(&records, today).map_or(BUILTIN_VERSION, |r| r.version);
        Ok(std::iter::once(builtin_record())
            .chain(records)
            .map(|record| SchemeView {
                in_force: record.version == current,
                record,
            })
            .collect())
    }

    pub async fn get_eval_scheme(
        &self,
        actor: &Actor,
        version: i64,
        ctx: &Ctx,
    ) -> AppResult<SchemeView> {
        self.list_eval_schemes(actor, ctx)
            .await?
            .into_iter()
            .find(|s| s.record.version == version)
            .ok_or(AppError::NotFound("evaluation scheme"))
    }

    /// The national defaults (the base every overlay applies to), for editing.
    pub async fn default_eval_scheme(&self, actor: &Actor, ctx: &Ctx) -> AppResult<&'static str> {
        self.authorize_schemes(actor, false, ctx).await?;
        Ok(DEFAULT_SCHEME_TOML)
    }

    /// Stores a new draft version after validating it whole: unknown indicators, missing weights,
    /// weights not adding up to 100 %, overlapping or gapped bands, bad grades and unknown areas
    /// are all listed at once and nothing is stored.
    pub async fn create_eval_scheme(
        &self,
        actor: &Actor,
        name: &str,
        overlay: &str,
        ctx: &Ctx,
    ) -> AppResult<SchemeView> {
        self.authorize_schemes(actor, true, ctx).await?;
        let name = name.trim();
        if name.is_empty() {
            return Err(AppError::rejected(
                "name_required",
                "name",
                "a scheme needs a name",
            ));
        }
        let mut problems = match effective_scheme(overlay) {
            Ok(_) => Vec::new(),
            Err(p) => p,
        };
        // Area classes must name areas of this city.
        if let Ok(scheme) = EvaluationScheme::from_toml_with_overlay(DEFAULT_SCHEME_TOML, overlay)
            && let Some(region) = &scheme.region
        {
            let spatial = self.spatial();
            for code in region.classes.keys() {
                let known = spatial.area_names.contains_key(code)
                    || spatial.grids.iter().any(|g| &g.code == code);
                if !known {
                    problems.push(format!("[region.classes] {code}: unknown area or grid"));
                }
            }
        }
        if !problems.is_empty() {
            return Err(AppError::Problems {
                code: "invalid_scheme",
                message: format!(
                    "the evaluation scheme has {} problem(s); nothing was stored",
                    problems.len()
                ),
                problems,
            });
        }
        let now = self.now();
        let mut tx = self.store.write().await?;
        let version = tx
            .list_schemes()
            .await?
            .iter()
            .map(|r| r.version)
            .max()
            .unwrap_or(BUILTIN_VERSION)
            + 1;
        let record = SchemeRecord {
            version,
            name: name.to_owned(),
            overlay: overlay.to_owned(),
            content_hash: content_hash(overlay),
            status: "draft".to_owned(),
            effective_from: None,
            created_by: actor.id(),
            created_at: now,
            published_by: None,
            published_at: None,
        };
        tx.insert_scheme(&record).await?;
        self.audit(
            tx.as_mut(),
            actor,
            "evaluation_scheme.create",
            Obj::new("evaluation_scheme", version),
            "ok",
            ctx,
            serde_json::json!({"name": record.name, "content_hash": record.content_hash}),
        )
        .await?;
        tx.commit().await?;
        Ok(SchemeView {
            record,
            in_force: false,
        })
    }

    /// Publishes a draft from `effective_from` on. Refused if it does not validate (any more) or
    /// would take effect before the latest published version.
    pub async fn publish_eval_scheme(
        &self,
        actor: &Actor,
        version: i64,
        effective_from: NaiveDate,
        ctx: &Ctx,
    ) -> AppResult<SchemeView> {
        self.authorize_schemes(actor, true, ctx).await?;
        let now = self.now();
        let mut tx = self.store.write().await?;
        let records = tx.list_schemes().await?;
        let Some(record) = records.iter().find(|r| r.version == version) else {
            return Err(AppError::NotFound("evaluation scheme"));
        };
        if record.status != "draft" {
            return Err(AppError::Conflict(format!(
                "version {version} is already published"
            )));
        }
        if let Err(problems) = effective_scheme(&record.overlay) {
            return Err(AppError::Problems {
                code: "invalid_scheme",
                message: format!("version {version} does not validate; it was not published"),
                problems,
            });
        }
        let day = effective_from.format("%Y-%m-%d").to_string();
        if let Some(latest) = records
            .iter()
            .filter(|r| r.status == "published")
            .filter_map(|r| r.effective_from.as_deref())
            .max()
            && day.as_str() < latest
        {
            return Err(AppError::rejected(
                "effective_before_latest",
                "effective_from",
                format!(
                    "a published version already applies from {latest}; publish from that day or later"
                ),
            ));
        }
        if !tx.publish_scheme(version, &day, actor.id(), now).await? {
            return Err(AppError::Conflict(format!(
                "version {version} is already published"
            )));
        }
        self.audit(
            tx.as_mut(),
            actor,
            "evaluation_scheme.publish",
            Obj::new("evaluation_scheme", version),
            "ok",
            ctx,
            serde_json::json!({"effective_from": day, "content_hash": record.content_hash}),
        )
        .await?;
        tx.commit().await?;
        let mut record = record.clone();
        record.status = "published".into();
        record.effective_from = Some(day);
        record.published_by = actor.id();
        record.published_at = Some(now);
        let in_force = effective_from <= self.today();
        Ok(SchemeView { record, in_force })
    }

    pub(crate) fn today(&self) -> NaiveDate {
        self.now()
            .with_timezone(&cityloop_domain::calendar::CHINA_OFFSET)
            .date_naive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(version: i64, status: &str, from: Option<&str>) -> SchemeRecord {
        SchemeRecord {
            status: status.into(),
            effective_from: from.map(str::to_owned),
            version,
            ..builtin_record()
        }
    }

    #[test]
    fn in_force_is_the_latest_effective_published_version() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let records = vec![
            rec(1, "published", Some("2026-01-01")),
            rec(2, "published", Some("2026-06-01")),
            rec(3, "draft", None),
            rec(4, "published", Some("2026-06-01")),
        ];
        assert!(in_force(&records, d("2025-12-31")).is_none());
        assert_eq!(in_force(&records, d("2026-01-01")).unwrap().version, 1);
        assert_eq!(in_force(&records, d("2026-05-31")).unwrap().version, 1);
        assert_eq!(in_force(&records, d("2026-06-01")).unwrap().version, 4);
    }

    #[test]
    fn the_defaults_alone_are_refused_with_every_problem() {
        let problems = effective_scheme("").unwrap_err();
        assert!(
            problems.iter().any(|p| p.contains("weights add up to 0.7")),
            "{problems:?}"
        );
        assert!(problems.len() >= 2, "{problems:?}");
        assert!(effective_scheme(EXAMPLE_CITY_OVERLAY_TOML).is_ok());
        let bad = effective_scheme("[department]\nweights = { nonsense = 1.0 }").unwrap_err();
        assert!(bad.iter().any(|p| p.contains("nonsense")), "{bad:?}");
    }
}
