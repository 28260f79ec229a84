//! League tables shaped for reading and printing: per object kind, ranked rows with display
//! names, the figures formatted, and the grade distribution. Used by the print-friendly report
//! and by the public ranking page (which shows published results only, and only departments and
//! areas: no individual staff).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use cityloop_domain::{Action, Target};
use cityloop_eval::{Evaluation, Formula, ObjectKind};
use serde::Serialize;

use super::kind_zh;
use crate::{Actor, App, AppError, AppResult, Ctx, Obj};

const META_PUBLIC: &str = "evaluation.public_ranking";

/// Kinds the public may see: organisations and places, never named staff.
const PUBLIC_KINDS: [ObjectKind; 3] = [
    ObjectKind::Department,
    ObjectKind::Street,
    ObjectKind::Community,
];

#[derive(Debug, Clone, Serialize)]
pub struct ReportData {
    pub from: NaiveDate,
    /// Exclusive.
    pub to: NaiveDate,
    /// Inclusive last day, for display.
    pub last_day: NaiveDate,
    pub scheme: String,
    /// `live` (computed now) or `published #id at …`.
    pub status: String,
    pub sections: Vec<ReportSection>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportSection {
    pub kind: &'static str,
    pub kind_zh: &'static str,
    pub figure_names: Vec<&'static str>,
    pub rows: Vec<ReportRow>,
    /// (grade, objects) in grade order.
    pub grades: Vec<(String, usize)>,
    /// The largest grade count (chart scale).
    pub grade_max: usize,
    pub unranked: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportRow {
    pub rank: Option<u32>,
    pub id: String,
    pub name: String,
    /// At most 12 characters, for chart labels.
    pub short_name: String,
    pub composite: Option<f64>,
    pub composite_text: String,
    pub grade: Option<String>,
    /// Composite change against the previous period.
    pub delta: Option<f64>,
    pub delta_text: String,
    pub figures: Vec<String>,
}

fn format_figure(formula: Formula, f: Option<&cityloop_eval::Figure>) -> String {
    match (formula, f) {
        (_, None) => "—".into(),
        (Formula::Count(_), Some(f)) => f.numerator.to_string(),
        (_, Some(f)) => match f.value {
            Some(v) => format!("{:.1}% ({}/{})", v * 100.0, f.numerator, f.denominator),
            None => format!("— (0/{})", f.denominator),
        },
    }
}

impl App {
    fn report_sections(
        &self,
        evaluation: &Evaluation,
        kinds: &[ObjectKind],
        names: &std::collections::HashMap<(ObjectKind, String), String>,
    ) -> Vec<ReportSection> {
        let mut out = Vec::new();
        for &kind in kinds {
            let defs = cityloop_eval::figures(kind.scheme_kind());
            let objects: Vec<_> = evaluation
                .objects
                .iter()
                .filter(|o| o.object.kind == kind)
                .collect();
            if objects.is_empty() {
                continue;
            }
            let mut grades: BTreeMap<String, usize> = BTreeMap::new();
            let mut unranked = 0;
            for o in &objects {
                match &o.grade {
                    Some(g) => *grades.entry(g.clone()).or_default() += 1,
                    None => unranked += 1,
                }
            }
            let rows = objects
                .iter()
                .map(|o| {
                    let name = names
                        .get(&(kind, o.object.id.clone()))
                        .cloned()
                        .unwrap_or_else(|| o.object.id.clone());
                    let short_name = if name.chars().count() > 12 {
                        name.chars().take(11).chain(['…']).collect()
                    } else {
                        name.clone()
                    };
                    let delta = o.trend.as_ref().and_then(|t| t.score_delta);
                    ReportRow {
                        rank: o.rank,
                        id: o.object.id.clone(),
                        name,
                        short_name,
                        composite: o.composite,
                        composite_text: o
                            .composite
                            .map_or_else(|| "—".into(), |c| format!("{c:.2}")),
                        grade: o.grade.clone(),
                        delta,
                        delta_text: delta.map_or_else(|| "—".into(), |d| format!("{d:+.2}")),
                        figures: defs
                            .iter()
                            .map(|d| format_figure(d.formula, o.figures.get(d.id)))
                            .collect(),
                    }
                })
                .collect();
            out.push(ReportSection {
                kind: kind.code(),
                kind_zh: kind_zh(kind),
                figure_names: defs.iter().map(|d| d.name_zh).collect(),
                rows,
                grade_max: grades.values().copied().max().unwrap_or(0),
                grades: grades.into_iter().collect(),
                unranked,
            });
        }
        out
    }

    /// The league tables of `[from, to)` for the print-friendly report (everything the caller may
    /// read: the same authorisation as the evaluation itself).
    pub async fn evaluation_report(
        &self,
        actor: &Actor,
        kind: Option<&str>,
        from: NaiveDate,
        to: NaiveDate,
        ctx: &Ctx,
    ) -> AppResult<ReportData> {
        let view = self.evaluate(actor, kind, from, to, false, ctx).await?;
        let names = self.object_names().await?;
        let kinds: Vec<ObjectKind> = ObjectKind::ALL.into_iter().collect();
        Ok(ReportData {
            from,
            to,
            last_day: to.pred_opt().unwrap_or(to),
            scheme: view.scheme.stamp(),
            status: "live".into(),
            sections: self.report_sections(&view.evaluation, &kinds, &names),
        })
    }

    /// Switches the public ranking page (城市管理大家评) on or off.
    pub async fn set_public_ranking(
        &self,
        actor: &Actor,
        enabled: bool,
        ctx: &Ctx,
    ) -> AppResult<bool> {
        self.authorize(
            actor,
            Action::EvaluationConfigure,
            &Target::Collection,
            Obj::kind("evaluation_public_ranking"),
            ctx,
        )
        .await?;
        let now = self.now();
        let mut tx = self.store.write().await?;
        tx.set_meta(META_PUBLIC, if enabled { "on" } else { "off" }, now)
            .await?;
        self.audit(
            tx.as_mut(),
            actor,
            "evaluation.public_ranking",
            Obj::kind("evaluation_public_ranking"),
            "ok",
            ctx,
            serde_json::json!({ "enabled": enabled }),
        )
        .await?;
        tx.commit().await?;
        Ok(enabled)
    }

    pub async fn public_ranking_enabled(&self) -> AppResult<bool> {
        let mut tx = self.store.read().await?;
        Ok(tx.get_meta(META_PUBLIC).await?.as_deref() == Some("on"))
    }

    /// The latest published evaluation for the public: departments, streets and communities
    /// only. `NotFound` while the page is switched off or nothing is published.
    pub async fn public_ranking(&self) -> AppResult<ReportData> {
        if !self.public_ranking_enabled().await? {
            return Err(AppError::NotFound("public ranking"));
        }
        let latest = {
            let mut tx = self.store.read().await?;
            match tx.list_publications().await?.first() {
                Some(p) => tx.get_publication(p.id).await?,
                None => None,
            }
        };
        let Some(p) = latest else {
            return Err(AppError::NotFound("published evaluation"));
        };
        let results: serde_json::Value = p
            .results
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or_default();
        let evaluation: Evaluation = serde_json::from_value(results["evaluation"].clone())
            .map_err(|e| AppError::Internal(format!("publication {}: {e}", p.id)))?;
        let names = self.object_names().await?;
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        let (Some(from), Some(to)) = (day(&p.period_from), day(&p.period_to)) else {
            return Err(AppError::Internal(format!(
                "publication {}: bad period",
                p.id
            )));
        };
        Ok(ReportData {
            from,
            to,
            last_day: to.pred_opt().unwrap_or(to),
            scheme: p.scheme.clone(),
            status: format!("published #{} {}", p.id, p.published_at.format("%Y-%m-%d")),
            sections: self.report_sections(&evaluation, &PUBLIC_KINDS, &names),
        })
    }
}
