//! Server-rendered, print-friendly reports (charts are inline SVG: no script, prints as drawn).

use std::sync::OnceLock;

use axum::response::Html;
use cityloop_app::evaluation::ReportData;
use minijinja::{Environment, context};

use crate::error::{ApiError, ApiResult};

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // `.html` templates autoescape: object names come from user-maintained data.
        env.add_template(
            "evaluation_report.html",
            include_str!("../templates/evaluation_report.html"),
        )
        .expect("the report template is valid");
        env
    })
}

/// Labels of the report in Chinese (default) or English.
fn labels(en: bool) -> minijinja::Value {
    let pairs: [(&str, &str, &str); 14] = [
        ("title", "综合评价报告", "Evaluation report"),
        ("print", "打印", "Print"),
        ("period", "考核周期", "Period"),
        ("scheme", "评价方案", "Scheme"),
        ("status", "状态", "Status"),
        ("top", "综合指标值前 15 名", "Top 15 by composite score"),
        ("grades", "等级分布", "Grade distribution"),
        ("rank", "排名", "Rank"),
        ("name", "名称", "Name"),
        ("composite", "综合指标值", "Composite"),
        ("grade", "等级", "Grade"),
        ("delta", "较上期", "Change"),
        (
            "more",
            "另有 {n} 项未列出（见 XLSX 导出）",
            "{n} more not shown (see the XLSX export)",
        ),
        (
            "unranked",
            "{n} 个对象本期无可计算指标，不参与排名",
            "{n} objects had no measurable indicator and are not ranked",
        ),
    ];
    let mut map = std::collections::BTreeMap::new();
    for (k, zh, english) in pairs {
        map.insert(k, if en { english } else { zh });
    }
    map.insert(
        "empty",
        if en {
            "Nothing was evaluated in this period."
        } else {
            "本周期没有可评价的数据。"
        },
    );
    minijinja::Value::from(minijinja::value::Serde(map))
}

/// Renders the report; `limit` caps the rows per table (grids run into thousands).
pub fn evaluation_report(r: &ReportData, en: bool, limit: usize) -> ApiResult<Html<String>> {
    let tmpl = env()
        .get_template("evaluation_report.html")
        .map_err(|e| ApiError::from(cityloop_app::AppError::Internal(e.to_string())))?;
    let html = tmpl
        .render(
            context! { r => minijinja::value::Serde(r), t => labels(en), en => en, limit => limit },
        )
        .map_err(|e| ApiError::from(cityloop_app::AppError::Internal(format!("report: {e}"))))?;
    Ok(Html(html))
}
